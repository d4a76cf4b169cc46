// two_instances.test.mjs — two `llmtrace serve` on one ClickHouse database, as two
// stateless collectors behind a load balancer.
//
// Traces sent to the first, traces sent to the second, and traces whose spans are split
// between the two (a root through one, its children through the other, in either order):
// both APIs list every trace with its whole span count, give every trace back whole and
// as sent, and answer the same GenAI summary, service list and filtered lists. Tenants:
// a tenant's data written through one instance is read through the other, kept in the
// tenant's own database (DATABASE_t_TENANT) and not seen by the default tenant.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  TEST_STORE, makeTempDir, post, queryClickHouse, removeDir, startClickHouse, startServer,
} from '../integration/lib.mjs';
import { TraceGen, differences, storedAsSent, tracesRequest } from './gen.mjs';

const HOUR = 3_600_000_000_000n;
const NOW = BigInt(Date.now()) * 1_000_000n;
const DB = 'lt_two';

let ch;
let base; // clickhouse://127.0.0.1:PORT
let a;
let b;
let dir;
const toA = [];
const toB = [];
const split = [];

async function send(server, spans, proto) {
  const r = tracesRequest(spans, { proto });
  const res = await post(server.otlp, '/v1/traces', r.body, r.headers);
  assert.equal(res.status, 200, `${res.status} ${res.text().slice(0, 300)}`);
}

before(async () => {
  base = TEST_STORE;
  if (!base) {
    ch = await startClickHouse();
    base = `clickhouse://127.0.0.1:${ch.httpPort}`;
  }
  a = await startServer({ args: ['--store', `${base}/${DB}`] });
  b = await startServer({ args: ['--store', `${base}/${DB}`] });

  const gen = new TraceGen(77, { baseNs: NOW - 3n * HOUR, spreadNs: 2n * HOUR });
  for (let i = 0; i < 60; i++) {
    const t = gen.trace();
    if (i % 3 === 0) toA.push(t);
    else if (i % 3 === 1) toB.push(t);
    else if (t.spans.length > 1) split.push(t);
    else toA.push(t);
  }
  // the two instances take requests at the same time, as behind a load balancer
  const batches = (list, n) => Array.from({ length: Math.ceil(list.length / n) }, (_, i) => list.slice(i * n, i * n + n));
  await Promise.all([
    (async () => { for (const [i, x] of batches(toA, 4).entries()) await send(a, x.flatMap((t) => t.spans), i % 2 === 0); })(),
    (async () => { for (const [i, x] of batches(toB, 4).entries()) await send(b, x.flatMap((t) => t.spans), i % 2 === 1); })(),
  ]);
  // split traces: the root and every other child through one, the rest through the other
  for (const [i, t] of split.entries()) {
    const [first, second] = i % 2 ? [a, b] : [b, a];
    await send(first, t.spans.filter((_, k) => k % 2 === 0), true);
    await send(second, t.spans.filter((_, k) => k % 2 === 1), false);
  }
});

after(async () => {
  const stops = [a, b].filter(Boolean).map((s) => s.stop());
  await Promise.allSettled(stops);
  removeDir(dir);
  if (ch) await ch.destroy();
  for (const s of stops) await s;
});

const api = (server, p, token) => fetch(`${server.http}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  .then(async (r) => ({ status: r.status, json: await r.json() }));

async function listAll(server, token) {
  const out = [];
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ start: '0', limit: '1000', ...(cursor ? { cursor } : {}) });
    const r = await api(server, `/api/traces?${q}`, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(...r.json.traces);
    if (!r.json.next_cursor) return out;
    cursor = r.json.next_cursor;
  }
  throw new Error('too many pages');
}

describe('two instances, one database', () => {
  test('both list every trace with its whole span count', async () => {
    const all = [...toA, ...toB, ...split];
    for (const [name, s] of [['first', a], ['second', b]]) {
      const list = await listAll(s);
      const got = new Map(list.map((t) => [t.trace_id, t.span_count]));
      assert.equal(got.size, list.length, `${name}: a trace listed twice`);
      assert.deepEqual([...got.keys()].sort(), all.map((t) => t.traceId).sort(), `${name}: the traces listed`);
      for (const t of all) assert.equal(got.get(t.traceId), t.spans.length, `${name}: trace ${t.traceId} span count`);
    }
    assert.deepEqual(await listAll(b), await listAll(a), 'the two lists differ');
  });

  test('both give every trace back whole and as sent, split ones included', async () => {
    for (const s of [a, b]) {
      const problems = await storedAsSent(s, [...toA, ...toB, ...split]);
      assert.ok(problems.length === 0, problems.slice(0, 10).join('\n'));
    }
  });

  test('the same GenAI summary, services and filtered lists on both', async () => {
    const end = String(NOW);
    const paths = [
      ...['model', 'provider', 'operation', 'service', 'user', 'conversation'].map((g) => `/api/genai/summary?group_by=${g}&end=${end}`),
      '/api/services',
      '/api/traces?start=0&status=error&limit=1000',
      '/api/traces?start=0&provider=openai&limit=1000',
      '/api/traces?start=0&sort=cost&limit=20',
    ];
    for (const p of paths) {
      const [x, y] = await Promise.all([api(a, p), api(b, p)]);
      assert.equal(x.status, 200, `${p}: ${JSON.stringify(x.json)}`);
      assert.equal(y.status, 200, `${p}: ${JSON.stringify(y.json)}`);
      // one database, one answer (a cost may be summed in another order)
      const d = differences(x.json, y.json);
      assert.ok(d.length === 0, `${p}: the instances differ:\n  ${d.join('\n  ')}`);
    }
    const summary = await api(a, `/api/genai/summary?group_by=model&end=${end}`);
    const calls = summary.json.groups.reduce((n, g) => n + g.calls, 0);
    const sent = [...toA, ...toB, ...split].flatMap((t) => t.spans).filter((s) => s.attrs['gen_ai.operation.name'] && s.attrs['gen_ai.operation.name'] !== 'invoke_agent').length;
    assert.ok(calls >= sent, `the summary counts ${calls} GenAI calls, ${sent} were sent`);
  });

  test('a tenant written through one is read through the other, in its own database', async () => {
    dir = makeTempDir('lt-two-');
    fs.writeFileSync(path.join(dir, 'ingest'), 'in-default\nin-acme acme\n');
    fs.writeFileSync(path.join(dir, 'api'), 'api-default\napi-acme acme\n');
    const args = ['--store', `${base}/${DB}`, '--ingest-tokens', path.join(dir, 'ingest'), '--api-tokens', path.join(dir, 'api')];
    const [ta, tb] = [await startServer({ args }), await startServer({ args })];
    try {
      await tenantAcrossInstances(ta, tb);
    } finally {
      await Promise.all([ta.stop(), tb.stop()]);
    }
  });
});

/** A trace of tenant acme sent through a, read through b; its database exists. */
async function tenantAcrossInstances(a, b) {
  const gen = new TraceGen(78, { baseNs: NOW - HOUR, spreadNs: HOUR / 2n });
  const t = gen.trace();
  const r = tracesRequest(t.spans);
  const res = await post(a.otlp, '/v1/traces', r.body, { ...r.headers, authorization: 'Bearer in-acme' });
  assert.equal(res.status, 200, res.text());
  const viaB = await api(b, `/api/traces/${t.traceId}`, 'api-acme');
  assert.equal(viaB.status, 200, JSON.stringify(viaB.json));
  assert.equal(viaB.json.spans.length, t.spans.length);
  assert.equal((await api(b, `/api/traces/${t.traceId}`, 'api-default')).status, 404, 'the default tenant sees the tenant\'s trace');
  const http = base.replace(/^clickhouse:/, 'http:');
  const dbs = (await queryClickHouse(http, 'SELECT name FROM system.databases FORMAT TSV')).split('\n');
  assert.ok(dbs.includes(`${DB}_t_acme`), `no database ${DB}_t_acme: ${dbs.join(" ")}`);
}
