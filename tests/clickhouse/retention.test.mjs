// retention.test.mjs — retention on ClickHouse: whole arrival days are dropped.
//
// Data that arrived today is stored through the API; a copy of its spans is then put into
// ClickHouse as if it had arrived three days ago (the same rows with seq moved back, which
// the materialized views turn into trace parts and index rows of that day too), so every
// trace has twice its spans. A server started with --retention-age 2d drops the old day from
// every table at its first retention pass: the traces read back exactly as sent, and the
// database holds nothing older than two days. --retention-size below the database's size
// never drops the current day.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  TEST_STORE, getOk, queryClickHouse, startClickHouse, startServer, waitFor, post,
} from '../integration/lib.mjs';
import { TraceGen, storedAsSent, tracesRequest } from './gen.mjs';

const DAY = 86_400_000_000_000n;
const NOW = BigInt(Date.now()) * 1_000_000n;
const DB = 'lt_retention';

let ch;
let base;
let http; // ClickHouse's HTTP URL
const traces = [];

const count = async (sql) => Number((await queryClickHouse(http, `${sql} FORMAT TabSeparated`)).trim());

before(async () => {
  base = TEST_STORE;
  if (!base) {
    ch = await startClickHouse();
    base = `clickhouse://127.0.0.1:${ch.httpPort}`;
  }
  http = base.replace('clickhouse://', 'http://');
  const s = await startServer({ args: ['--store', `${base}/${DB}`] });
  try {
    const gen = new TraceGen(5, { baseNs: NOW - 3_600_000_000_000n, spreadNs: 1_800_000_000_000n });
    for (let i = 0; i < 30; i++) traces.push(gen.trace());
    const r = tracesRequest(traces.flatMap((t) => t.spans), { proto: true });
    const res = await post(s.otlp, '/v1/traces', r.body, r.headers);
    assert.equal(res.status, 200);
  } finally {
    await s.stop();
  }
  // the same spans, arrived three days ago
  const cols = (await queryClickHouse(http,
    `SELECT name FROM system.columns WHERE database = '${DB}' AND table = 'spans' FORMAT TabSeparated`))
    .trim().split('\n');
  assert.ok(cols.includes('seq'));
  const select = cols.map((c) => (c === 'seq' ? `seq - ${3n * DAY} AS seq` : c)).join(', ');
  await queryClickHouse(http, `INSERT INTO ${DB}.spans (${cols.join(', ')}) SELECT ${select} FROM ${DB}.spans`);
});

after(async () => {
  if (ch) await ch.destroy();
});

test('the copy from three days ago doubles every trace before retention', async () => {
  const spans = traces.reduce((n, t) => n + t.spans.length, 0);
  assert.equal(await count(`SELECT count() FROM ${DB}.spans`), 2 * spans);
  assert.equal(await count(`SELECT sum(spans) FROM ${DB}.traces`), 2 * spans);
});

test('--retention-size below the size keeps the current day', async () => {
  const s = await startServer({ args: ['--store', `${base}/${DB}`, '--retention-size', '1KB'] });
  try {
    const old = `SELECT count() FROM ${DB}.spans WHERE seq < ${NOW - DAY}`;
    await waitFor(async () => (await count(old)) === 0, 20_000, 'the old day dropped for size');
    const spans = traces.reduce((n, t) => n + t.spans.length, 0);
    assert.equal(await count(`SELECT count() FROM ${DB}.spans`), spans, 'today kept whatever the size');
    // every table lost the old day, so the summaries are whole again
    for (const t of ['traces', 'trace_index', 'operations', 'content', 'resources', 'scopes']) {
      const col = t === 'traces' ? 'last_seq' : 'seq';
      assert.equal(await count(`SELECT count() FROM ${DB}.${t} WHERE ${col} < ${NOW - DAY}`), 0, t);
    }
    assert.equal(await count(`SELECT sum(spans) FROM ${DB}.traces`), spans);
    const list = await getOk(s.http, '/api/traces?limit=1000');
    assert.equal(list.traces.length, traces.length);
    for (const t of list.traces) {
      const sent = traces.find((x) => x.traceId === t.trace_id);
      assert.ok(sent, t.trace_id);
      assert.equal(t.span_count, sent.spans.length);
    }
    const diffs = await storedAsSent(s, traces);
    assert.deepEqual(diffs, []);
  } finally {
    await s.stop();
  }
});

test('--retention-age 2d drops a day that arrived three days ago', async () => {
  const spans = traces.reduce((n, t) => n + t.spans.length, 0);
  // the old day again
  const cols = (await queryClickHouse(http,
    `SELECT name FROM system.columns WHERE database = '${DB}' AND table = 'spans' FORMAT TabSeparated`))
    .trim().split('\n');
  const select = cols.map((c) => (c === 'seq' ? `seq - ${3n * DAY} AS seq` : c)).join(', ');
  await queryClickHouse(http, `INSERT INTO ${DB}.spans (${cols.join(', ')}) SELECT ${select} FROM ${DB}.spans`);
  assert.equal(await count(`SELECT count() FROM ${DB}.spans`), 2 * spans);
  const s = await startServer({ args: ['--store', `${base}/${DB}`, '--retention-age', '2d'] });
  try {
    await waitFor(async () => (await count(`SELECT count() FROM ${DB}.spans`)) === spans, 20_000,
      'the day older than two days dropped');
    assert.equal(await count(`SELECT sum(spans) FROM ${DB}.traces`), spans);
    assert.deepEqual(await storedAsSent(s, traces), []);
  } finally {
    await s.stop();
  }
});
