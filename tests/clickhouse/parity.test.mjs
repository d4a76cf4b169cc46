// parity.test.mjs — SQLite and ClickHouse give the same answers to the same questions.
//
// Two servers: one on a SQLite data directory (--data), one on a ClickHouse database
// (--store; the runner's ClickHouse under LT_TEST_STORE, else one started here). Both get
// the same requests in the same order: every captured fixture body (traces, logs, metrics;
// protobuf, JSON, gRPC captures as OTLP/HTTP), then a few hundred generated traces (gen.mjs:
// GenAI attributes, errors, several services, conversations, users, costs, spans of one
// trace spread over requests, logs with trace ids). Then the same API requests on both, and
// the JSON answers must be deeply equal: the trace list with every filter, sorts and cursor
// paging to the end, every trace natively and as OTLP, services and their operations, the
// GenAI summary for every grouping, the dashboard's timeseries and the live tail.
//
// Allowed differences, and only these: latency quantiles (duration_p*_ns, ttft_p*_s) within
// 5% (SQLite reads them from histograms); non-integral numbers (costs) within 1e-9 relative,
// sums of the same floating-point values in another order; the opaque position tokens
// (next_cursor, live `next`) only need to agree on whether there is a next page.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  TEST_STORE, getJson, loadScenarios, makeTempDir, fixtureRequest, post, removeDir, startClickHouse,
  startServer,
} from '../integration/lib.mjs';
import fs from 'node:fs';
import { TraceGen, differences, logsRequest, tracesRequest } from './gen.mjs';

const SEED = Number(process.env.LT_PARITY_SEED || 20241121);
const TRACES = 300;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const HOUR = 3_600_000_000_000n;
const BASE = NOW_NS - 3n * HOUR; // generated traces start within [now - 3 h, now - 1 h)

let ch; // a ClickHouse of this file's own when not run by run.mjs
let sqliteDir;
let lite; // llmtrace on SQLite
let click; // llmtrace on ClickHouse
const generated = []; // [{ traceId, spans, logs }]
const sendLog = []; // [{ what, sqlite, clickhouse }] statuses

/** GETs path on both servers: both must answer the same status and equal JSON (only as
 * for differences). */
async function same(path, only = 'all') {
  const [x, y] = await Promise.all([getJson(lite.http, path), getJson(click.http, path)]);
  assert.equal(y.status, x.status, `GET ${path}: SQLite ${x.status} ${x.text.slice(0, 300)}, ClickHouse ${y.status} ${y.text.slice(0, 300)}`);
  assert.ok(x.json !== undefined && y.json !== undefined, `GET ${path}: not JSON: ${x.text.slice(0, 200)} / ${y.text.slice(0, 200)}`);
  const d = differences(x.json, y.json, only);
  assert.ok(d.length === 0, `GET ${path}: SQLite and ClickHouse differ:\n  ${d.join('\n  ')}`);
  return x.json;
}

/** Every page of /api/traces?query on both, compared page by page; the SQLite list. A page
 * may be the last one and still give a cursor (docs/api.md): where one engine does and the
 * other does not, the cursor must lead to an empty last page. */
async function samePages(query, limit) {
  const all = [];
  const url = (c) => `/api/traces?${new URLSearchParams({ ...query, limit: String(limit), ...(c ? { cursor: c } : {}) })}`;
  const what = `/api/traces?${new URLSearchParams(query)} (limit ${limit})`;
  const get = async (server, name, c) => {
    const r = await getJson(server.http, url(c));
    assert.equal(r.status, 200, `${name} ${url(c)}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  };
  let [ca, cb] = ['', ''];
  for (let page = 0; page < 1000; page++) {
    const [x, y] = await Promise.all([get(lite, 'SQLite', ca), get(click, 'ClickHouse', cb)]);
    const d = differences(x.traces, y.traces);
    assert.ok(d.length === 0, `page ${page} of ${what} differs:\n  ${d.join('\n  ')}`);
    all.push(...x.traces);
    if (!x.next_cursor !== !y.next_cursor) {
      const [name, server, c] = x.next_cursor ? ['SQLite', lite, x.next_cursor] : ['ClickHouse', click, y.next_cursor];
      const last = await get(server, name, c);
      assert.deepEqual(last, { traces: [], next_cursor: null }, `${what}: after page ${page}, ${name} gives a cursor to more traces that the other engine does not have`);
      return all;
    }
    if (!x.next_cursor) return all;
    [ca, cb] = [x.next_cursor, y.next_cursor];
  }
  throw new Error(`${what}: more than 1000 pages`);
}

/** Posts one request to both servers (SQLite first): both answers must have the same status. */
async function sendBoth(what, urlPath, body, headers, wantOk = true) {
  const x = await post(lite.otlp, urlPath, body, headers);
  const y = await post(click.otlp, urlPath, body, headers);
  sendLog.push({ what, sqlite: x.status, clickhouse: y.status });
  assert.equal(y.status, x.status, `${what}: SQLite answered ${x.status} ${x.text().slice(0, 200)}, ClickHouse ${y.status} ${y.text().slice(0, 200)}`);
  assert.equal(y.text(), x.text(), `${what}: the answers' bodies differ`);
  if (wantOk) assert.equal(x.status, 200, `${what}: ${x.status} ${x.text().slice(0, 300)}`);
}

before(async () => {
  let base = TEST_STORE;
  if (!base) {
    ch = await startClickHouse();
    base = `clickhouse://127.0.0.1:${ch.httpPort}`;
  }
  sqliteDir = makeTempDir('lt-parity-');
  lite = await startServer({ dataDir: sqliteDir, args: ['--data', sqliteDir] });
  click = await startServer({ args: ['--store', `${base}/lt_parity`] });

  for (const sc of loadScenarios()) {
    for (const f of sc.files) {
      const { urlPath, headers } = fixtureRequest(f);
      await sendBoth(`${sc.library}/${sc.scenario}/${f.name}`, urlPath, fs.readFileSync(f.path), headers, false);
    }
  }

  const gen = new TraceGen(SEED, { baseNs: BASE, spreadNs: 2n * HOUR });
  for (let i = 0; i < TRACES; i++) generated.push(gen.trace());
  // requests of 1..15 traces; a tenth of the traces send their children one to three
  // requests after their root, so those traces arrive in two pieces
  const later = new Map(); // request index -> spans held back for it
  let k = 0;
  for (let i = 0, req = 0; i < generated.length; req++) {
    const n = 1 + ((i * 7 + SEED) % 15);
    const spans = [];
    for (const t of generated.slice(i, i + n)) {
      if (t.spans.length > 1 && (k++ % 10) === 3) {
        spans.push(t.spans[0]);
        const at = req + 1 + (k % 3);
        later.set(at, [...(later.get(at) || []), ...t.spans.slice(1)]);
      } else {
        spans.push(...t.spans);
      }
    }
    spans.push(...(later.get(req) || []));
    later.delete(req);
    const r = tracesRequest(spans, { proto: req % 2 === 1 });
    await sendBoth(`generated request ${req}`, '/v1/traces', r.body, r.headers);
    const logs = generated.slice(i, i + n).flatMap((t) => t.logs);
    if (logs.length) {
      const l = logsRequest(logs);
      await sendBoth(`generated logs ${req}`, '/v1/logs', l.body, l.headers);
    }
    i += n;
  }
  const rest = [...later.values()].flat();
  if (rest.length) {
    const r = tracesRequest(rest);
    await sendBoth('generated spans held back', '/v1/traces', r.body, r.headers);
  }
});

after(async () => {
  const stops = [lite, click].filter(Boolean).map((s) => s.stop());
  await Promise.allSettled(stops);
  removeDir(sqliteDir);
  if (ch) await ch.destroy();
  for (const s of stops) await s; // a server that did not stop cleanly fails the file
});

const values = (key) => [...new Set(generated.flatMap((t) => t.spans).map((s) => s.attrs[key]).filter((v) => v !== undefined))].sort();
const services = () => [...new Set(generated.flatMap((t) => t.spans).map((s) => s.service))].sort();

describe('every request was answered alike', () => {
  test('the fixture bodies and the generated requests', () => {
    assert.ok(sendLog.length > TRACES / 15, `only ${sendLog.length} requests sent`);
    const refused = sendLog.filter((s) => s.sqlite !== 200);
    // captured bodies are valid OTLP: every one is taken
    assert.deepEqual(refused, [], 'requests not taken');
  });
});

describe('/api/traces', () => {
  test('everything, all time, in pages of 1, 7 and 1000', async () => {
    const all = await samePages({ start: '0' }, 1000);
    const ids = new Set(all.map((t) => t.trace_id));
    assert.equal(ids.size, all.length, 'a trace listed twice');
    for (const t of generated) assert.ok(ids.has(t.traceId), `generated trace ${t.traceId} not listed`);
    assert.ok(all.length > TRACES, 'the fixtures are listed too');
    assert.deepEqual((await samePages({ start: '0' }, 7)).map((t) => t.trace_id), all.map((t) => t.trace_id));
    const planner = await samePages({ start: '0', service: 'planner' }, 1);
    assert.deepEqual(planner.map((t) => t.trace_id), all.filter((t) => t.services.includes('planner')).map((t) => t.trace_id));
  });

  test('each filter alone, paged to the end', async () => {
    const mid = BASE + HOUR;
    const queries = [
      ...services().map((service) => ({ service })),
      ...['POST /ask', 'invoke_agent planner', 'GET /health', 'no such root'].map((name) => ({ name })),
      { start: String(BASE), end: String(mid) },
      { start: String(mid) },
      { end: String(mid) },
      { start: '2020-01-01T00:00:00Z', end: new Date(Number(BASE / 1_000_000n)).toISOString() }, // the fixtures
      { min_duration: '1s' }, { max_duration: '250ms' }, { min_duration: '2s', max_duration: '6s' },
      { status: 'error' },
      { attr: 'deployment.region=eu-west-1' }, { attr: 'service.name=rag-api' }, { attr: 'lt.hits=3' },
      { attr: 'lt.cached=true' }, { attr: 'gen_ai.tool.name=lookup_order' }, { attr: 'no.such.key=1' },
      ...values('gen_ai.request.model').map((model) => ({ model })), { model: 'gpt-4o-2024-08-06' },
      ...values('gen_ai.provider.name').map((provider) => ({ provider })),
      ...['chat', 'embeddings', 'execute_tool', 'retrieval', 'invoke_agent'].map((operation) => ({ operation })),
      ...values('gen_ai.conversation.id').slice(0, 6).map((conversation) => ({ conversation })),
      ...values('user.id').slice(0, 6).map((user) => ({ user })),
      { min_cost: '0.0001' }, { min_cost: '0.01' }, { min_tokens: '100' }, { min_tokens: '3000' },
      { q: 'order #4821' }, { q: 'rotate an API key' }, { q: 'cafe de la gare' }, { q: 'permission denied' },
      { q: 'expired certificate' }, { q: 'zzyzx unheard of' },
    ];
    let nonEmpty = 0;
    for (const q of queries) {
      const list = await samePages({ start: '0', ...q }, 25);
      if (list.length) nonEmpty++;
    }
    assert.ok(nonEmpty >= queries.length - 6, `only ${nonEmpty} of ${queries.length} filters matched anything: the data does not exercise them`);
  });

  test('filters combined', async () => {
    const [user] = values('user.id');
    const combos = [
      { service: 'support-bot', status: 'error' },
      { provider: 'openai', min_tokens: '500', start: String(BASE) },
      { model: 'claude-3-5-sonnet-20241022', min_cost: '0.001', max_duration: '20s' },
      { operation: 'chat', user, q: 'order' },
      { attr: 'deployment.region=us-east-1', service: 'planner', min_duration: '500ms' },
    ];
    for (const q of combos) await samePages({ start: '0', ...q }, 10);
  });

  test('sort=cost and sort=duration, with and without filters, with limits', async () => {
    for (const sort of ['cost', 'duration', 'start']) {
      for (const q of [{}, { service: 'rag-api' }, { status: 'error' }, { provider: 'anthropic' }, { q: 'order' }]) {
        for (const limit of ['1', '10', '1000']) await same(`/api/traces?${new URLSearchParams({ start: '0', sort, limit, ...q })}`);
      }
    }
  });

  test('bad and edge parameters answer alike', async () => {
    for (const q of ['limit=0', 'limit=1001', 'min_duration=soon', 'status=maybe', 'sort=cost&cursor=x', 'start=yesterday', 'cursor=garbage']) {
      const [x, y] = await Promise.all([getJson(lite.http, `/api/traces?${q}`), getJson(click.http, `/api/traces?${q}`)]);
      assert.equal(y.status, x.status, `/api/traces?${q}: ${x.text} vs ${y.text}`);
      assert.deepEqual(y.json, x.json, `/api/traces?${q}`);
    }
  });
});

describe('one trace', () => {
  test('every trace, natively and as OTLP', async () => {
    const all = await samePages({ start: '0' }, 1000);
    let i = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (i < all.length) {
        const id = all[i++].trace_id;
        await same(`/api/traces/${id}`);
        await same(`/api/traces/${id}?format=otlp`);
      }
    }));
  });

  test('a trace that does not exist', async () => {
    const [x, y] = await Promise.all([getJson(lite.http, '/api/traces/0123456789abcdef0123456789abcdef'), getJson(click.http, '/api/traces/0123456789abcdef0123456789abcdef')]);
    assert.equal(x.status, 404);
    assert.equal(y.status, 404);
    assert.deepEqual(y.json, x.json);
  });
});

describe('services', () => {
  test('/api/services and every service\'s operations', async () => {
    const list = await same('/api/services');
    const names = JSON.stringify(list);
    for (const s of services()) assert.ok(names.includes(`"${s}"`), `${s} not in /api/services: ${names.slice(0, 300)}`);
    const all = Array.isArray(list) ? list : (list.services || list.data || []);
    assert.ok(all.length >= services().length, names.slice(0, 300));
    for (const s of [...all.map((x) => (typeof x === 'string' ? x : x.name)), 'no-such-service']) {
      await same(`/api/services/${encodeURIComponent(s)}/operations`);
    }
  });
});

describe('GenAI aggregates', () => {
  const GROUPS = ['model', 'provider', 'operation', 'service', 'span_name', 'agent', 'user', 'conversation'];
  const end = String(NOW_NS);
  const summaries = () => GROUPS.flatMap((group_by) => [
    new URLSearchParams({ group_by, end }),
    new URLSearchParams({ group_by, start: '0', end }),
    new URLSearchParams({ group_by, start: String(BASE + HOUR / 2n), end: String(BASE + HOUR) }),
  ].map((q) => `/api/genai/summary?${q}`));
  const timeseries = () => GROUPS.flatMap((group_by) => [null, '10m'].map((step) => {
    const q = new URLSearchParams({ group_by, start: String(BASE - HOUR), end: String(NOW_NS) });
    if (step) q.set('step', step);
    return `/api/genai/timeseries?${q}`;
  }));

  test('/api/genai/summary for every group_by over three ranges: every field but the latency quantiles', async () => {
    for (const p of summaries()) {
      const j = await same(p, 'exact');
      if (!p.includes('start=0') && !p.includes(`start=${BASE + HOUR / 2n}`)) assert.ok(j.groups.length > 0, `${p}: no groups`);
    }
  });

  test('/api/genai/summary: latency quantiles within 5%', async () => {
    for (const p of summaries()) await same(p, 'quantiles');
  });

  test('/api/genai/timeseries for every group_by, the default step and 10m: every field but the latency quantiles', async () => {
    for (const p of timeseries()) {
      const ts = await same(p, 'exact');
      assert.ok(ts.points.length > 0, `${p}: no points`);
    }
  });

  test('/api/genai/timeseries: latency quantiles within 5%', async () => {
    for (const p of timeseries()) await same(p, 'quantiles');
  });
});

describe('live tail', () => {
  test('the newest spans, with filters, then what arrives after', async () => {
    const first = await same('/api/live?limit=1000');
    assert.equal(first.spans.length, 1000);
    for (const q of ['limit=1', 'limit=50', 'service=rag-api', 'model=gpt-4o-mini', 'model=gpt-4o-2024-08-06', 'status=error', 'status=error&service=planner&limit=5']) {
      await same(`/api/live?${q}`);
    }
    const [x, y] = await Promise.all([getJson(lite.http, '/api/live?limit=3'), getJson(click.http, '/api/live?limit=3')]);
    const more = new TraceGen(SEED + 1, { baseNs: NOW_NS - HOUR / 2n, spreadNs: HOUR / 4n });
    const fresh = [more.trace(), more.trace()];
    const r = tracesRequest(fresh.flatMap((t) => t.spans));
    await sendBoth('live: two more traces', '/v1/traces', r.body, r.headers);
    const [nx, ny] = await Promise.all([
      getJson(lite.http, `/api/live?after=${encodeURIComponent(x.json.next)}`),
      getJson(click.http, `/api/live?after=${encodeURIComponent(y.json.next)}`),
    ]);
    assert.equal(nx.status, 200);
    assert.equal(ny.status, 200, ny.text);
    const d = differences(nx.json, ny.json);
    assert.ok(d.length === 0, `the spans after the tail differ:\n  ${d.join('\n  ')}`);
    assert.equal(nx.json.spans.length, fresh.reduce((n, t) => n + t.spans.length, 0), 'the new spans, all of them');
  });
});
