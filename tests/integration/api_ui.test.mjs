// api_ui.test.mjs — the API calls the web UI makes, against a real `llmtrace serve` loaded
// with the captured fixtures that were sent as OTLP/JSON (so that this test reads what was
// sent with a plain JSON parser): every answer is checked against the requests themselves.
//
//  - /api/traces list entries: start, root name, services, duration, span and error counts as
//    the sent spans say, tokens and cost as their trace views add up;
//  - q= (free text): for phrases taken from the sent text, exactly the traces whose text
//    holds them under the documented rule (names, status messages, attribute strings of 64
//    bytes or more, event strings, log bodies; words in order, the last one a prefix, case
//    and accents folded), through pages;
//  - sort=cost|duration: the ranking of the full list;
//  - /api/genai/timeseries: its totals are /api/genai/summary's, its points add up to them,
//    its top traces are sort=cost's and sort=duration's, its cost distribution counts the
//    list's costs;
//  - /api/live: spans sent after a cursor come back in order, filtered, and the cursor moves.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  getJson, getOk, listAllTraces, loadScenarios, otlpJsonTraceRequest, post, postFixtureFile,
  randomHex, startServer, successProblem,
} from './lib.mjs';

// The fixtures sent as OTLP/JSON: the OTel JS instrumentation (content in log records),
// Langfuse (content in attributes) and OpenInference's JSON capture.
const scenarios = loadScenarios().filter((s) => s.files.some((f) => f.transport === 'http/json'));

// ---- what was sent ----------------------------------------------------------------------

function strings(value, out) {
  if (!value || typeof value !== 'object') return;
  if (typeof value.stringValue === 'string') out.push(value.stringValue);
  for (const v of value.arrayValue?.values || []) strings(v, out);
  for (const kv of value.kvlistValue?.values || []) strings(kv.value, out);
}

// The strings of a list of attributes that the index takes: all of them (min 0) or those of
// 64 bytes or more.
function attrStrings(attrs, min) {
  const all = [];
  for (const kv of attrs || []) strings(kv.value, all);
  return all.filter((s) => Buffer.byteLength(s) >= min && s.length > 0);
}

const sent = new Map(); // trace id -> { spans: [...], texts: [...], services: Set }

function traceOf(id) {
  if (!sent.has(id)) sent.set(id, { spans: [], texts: [], services: new Set() });
  return sent.get(id);
}

function serviceOf(resource) {
  const kv = (resource?.attributes || []).find((a) => a.key === 'service.name');
  return kv?.value?.stringValue ?? '';
}

function addSent(body, signal) {
  if (signal === 'traces') {
    for (const rs of body.resourceSpans || []) {
      const service = serviceOf(rs.resource);
      for (const ss of rs.scopeSpans || []) {
        for (const sp of ss.spans || []) {
          const t = traceOf(sp.traceId.toLowerCase());
          t.spans.push(sp);
          t.services.add(service);
          t.texts.push(sp.name);
          if (sp.status?.message) t.texts.push(sp.status.message);
          t.texts.push(...attrStrings(sp.attributes, 64));
          for (const ev of sp.events || []) t.texts.push(...attrStrings(ev.attributes, 0));
        }
      }
    }
  } else if (signal === 'logs') {
    for (const rl of body.resourceLogs || []) {
      for (const sl of rl.scopeLogs || []) {
        for (const lr of sl.logRecords || []) {
          if (!lr.traceId || /^0*$/.test(lr.traceId)) continue;
          const t = traceOf(lr.traceId.toLowerCase());
          const body0 = [];
          strings(lr.body, body0);
          t.texts.push(...body0, ...attrStrings(lr.attributes, 64));
        }
      }
    }
  }
}

// The index's view of text: JSON escapes decoded (\uXXXX as the character, the others as a
// blank), words of letters and digits, case and accents folded.
function words(text) {
  const decoded = text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\./g, ' ');
  return (decoded.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) || []);
}

function holds(text, query) {
  const w = words(text);
  const q = words(query);
  if (!q.length) return false;
  for (let i = 0; i + q.length <= w.length; i++) {
    let j = 0;
    while (j < q.length - 1 && w[i + j] === q[j]) j++;
    if (j === q.length - 1 && w[i + j].startsWith(q[j])) return true;
  }
  return false;
}

// ---- the server -------------------------------------------------------------------------

let server;
let all; // every listed trace

before(async () => {
  assert.ok(scenarios.length >= 5, 'the JSON fixtures are there');
  server = await startServer();
  for (const sc of scenarios) {
    for (const f of sc.files) {
      if (f.signal === 'metrics') continue;
      const { res } = await postFixtureFile(server, f);
      assert.equal(successProblem(res, f.meta.content_type), null, `${sc.library}/${sc.scenario} ${f.name}`);
      addSent(JSON.parse(fs.readFileSync(f.path, 'utf8')), f.signal);
    }
  }
  all = await listAllTraces(server, { start: '0' });
});

after(async () => {
  if (server) await server.stop();
});

describe('/api/traces list entries', () => {
  test('carry what the traces table shows, as sent', async () => {
    const withSpans = [...sent.entries()].filter(([, t]) => t.spans.length);
    assert.equal(all.length, withSpans.length);
    for (const [id, t] of withSpans) {
      const e = all.find((x) => x.trace_id === id);
      assert.ok(e, `trace ${id} is listed`);
      const starts = t.spans.map((s) => BigInt(s.startTimeUnixNano));
      const ends = t.spans.map((s) => BigInt(s.endTimeUnixNano));
      const start = starts.reduce((a, b) => (b < a ? b : a));
      const end = ends.reduce((a, b) => (b > a ? b : a));
      assert.equal(e.start_unix_nano, String(start));
      assert.equal(e.duration_ns, String(end - start));
      assert.equal(e.span_count, t.spans.length);
      assert.equal(e.error_count, t.spans.filter((s) => s.status?.code === 2 || s.status?.code === 'STATUS_CODE_ERROR').length);
      assert.deepEqual(e.services, [...t.services].sort());
      const root = t.spans.find((s) => !s.parentSpanId);
      assert.equal(e.root_name, root ? root.name : '');
      for (const k of ['input_tokens', 'output_tokens', 'llm_calls']) assert.ok(Number.isInteger(e[k]), k);
      assert.equal(typeof e.cost, 'number');
    }
    // tokens and cost: what the trace's GenAI views add up to
    for (const e of all.slice(0, 12)) {
      const tr = await getOk(server.http, `/api/traces/${e.trace_id}`);
      let inTok = 0;
      let outTok = 0;
      for (const sp of tr.spans) {
        inTok += sp.genai?.['gen_ai.usage.input_tokens'] ?? 0;
        outTok += sp.genai?.['gen_ai.usage.output_tokens'] ?? 0;
      }
      assert.equal(e.input_tokens, inTok, `${e.trace_id} input tokens`);
      assert.equal(e.output_tokens, outTok, `${e.trace_id} output tokens`);
    }
  });
});

describe('q= free text', () => {
  // phrases of three words from the middle of sent texts, deterministic
  function phrases() {
    const out = new Set();
    const texts = [...sent.values()].filter((t) => t.spans.length).flatMap((t) => t.texts)
      .filter((s) => Buffer.byteLength(s) >= 64).sort();
    let x = 12345;
    const rnd = (n) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    for (let k = 0; k < 400 && out.size < 25; k++) {
      const w = words(texts[rnd(texts.length)]);
      if (w.length < 6) continue;
      const at = 1 + rnd(w.length - 4);
      const p = w.slice(at, at + 3);
      if (p.every((v) => v.length >= 3)) out.add(p.join(' '));
    }
    return [...out];
  }

  test('finds exactly the traces whose sent text holds the phrase', async () => {
    const ps = phrases();
    assert.ok(ps.length >= 10, `enough phrases (${ps.length})`);
    let some = 0;
    let several = 0;
    for (const p of ps) {
      const want = [...sent.entries()].filter(([, t]) => t.spans.length && t.texts.some((s) => holds(s, p)))
        .map(([id]) => id).sort();
      const got = (await listAllTraces(server, { start: '0', q: p }, { pageSize: 2 })).map((e) => e.trace_id);
      assert.equal(new Set(got).size, got.length, 'no trace twice across pages');
      assert.deepEqual([...got].sort(), want, `q=${p}`);
      some += want.length > 0;
      several += want.length > 1;
    }
    assert.equal(some, ps.length); // every phrase came from some trace
    assert.ok(several > 0, 'some phrase is in several traces');
  });

  test('case, accents, prefixes, other filters, and words nobody sent', async () => {
    const p = phrases()[0];
    const base = (await listAllTraces(server, { start: '0', q: p })).map((e) => e.trace_id).sort();
    const upper = (await listAllTraces(server, { start: '0', q: p.toUpperCase() })).map((e) => e.trace_id).sort();
    assert.deepEqual(upper, base);
    const prefix = p.slice(0, p.length - 1);
    const pre = (await listAllTraces(server, { start: '0', q: prefix })).map((e) => e.trace_id);
    for (const id of base) assert.ok(pre.includes(id), 'a prefix of the last word finds the same traces');
    const one = all.find((e) => base.includes(e.trace_id));
    const svc = (await listAllTraces(server, { start: '0', q: p, service: one.services[0] })).map((e) => e.trace_id);
    assert.ok(svc.includes(one.trace_id));
    for (const id of svc) assert.ok(sent.get(id).services.has(one.services[0]));
    const none = await getOk(server.http, '/api/traces?start=0&q=zqxjkvbw%20nothing');
    assert.deepEqual(none.traces, []);
    const odd = await getJson(server.http, `/api/traces?start=0&q=${encodeURIComponent('"NEAR( x* OR')}`);
    assert.equal(odd.status, 200, 'query syntax is plain text');
  });
});

describe('sort=cost|duration', () => {
  const newer = (a, b) => (BigInt(b.start_unix_nano) > BigInt(a.start_unix_nano) ? 1
    : BigInt(b.start_unix_nano) < BigInt(a.start_unix_nano) ? -1 : (b.trace_id > a.trace_id ? 1 : -1));

  test('ranks the whole list', async () => {
    const byCost = all.filter((e) => e.cost > 0).sort((a, b) => (b.cost - a.cost) || newer(a, b)).slice(0, 7);
    const got = await getOk(server.http, '/api/traces?start=0&sort=cost&limit=7');
    assert.deepEqual(got.traces.map((e) => e.trace_id), byCost.map((e) => e.trace_id));
    assert.equal(got.next_cursor, null);
    assert.equal(got.partial, false);
    const byDur = [...all].sort((a, b) => {
      const d = BigInt(b.duration_ns) - BigInt(a.duration_ns);
      return d > 0n ? 1 : d < 0n ? -1 : newer(a, b);
    }).slice(0, 5);
    const gotD = await getOk(server.http, '/api/traces?start=0&sort=duration&limit=5');
    assert.deepEqual(gotD.traces.map((e) => e.trace_id), byDur.map((e) => e.trace_id));
    const bad = await getJson(server.http, '/api/traces?sort=price');
    assert.equal(bad.status, 400);
  });
});

describe('/api/genai/timeseries', () => {
  test('agrees with the summary, the ranked lists and the list', async () => {
    let lo = null;
    let hi = null;
    for (const e of all) {
      const s = BigInt(e.start_unix_nano);
      const end = s + BigInt(e.duration_ns);
      if (lo === null || s < lo) lo = s;
      if (hi === null || end > hi) hi = end;
    }
    const range = `start=${lo}&end=${hi}`;
    for (const by of ['model', 'provider', 'operation', 'service', 'agent']) {
      const ts = await getOk(server.http, `/api/genai/timeseries?${range}&group_by=${by}`);
      const sum = await getOk(server.http, `/api/genai/summary?${range}&group_by=${by}`);
      assert.deepEqual(ts.totals, sum.groups, `totals by ${by}`);
      assert.ok(ts.buckets.length >= 1 && ts.buckets.length <= 500);
      const step = BigInt(ts.step_ns);
      assert.equal(BigInt(ts.buckets[0]), (lo / step) * step);
      for (let i = 1; i < ts.buckets.length; i++) assert.equal(BigInt(ts.buckets[i]) - BigInt(ts.buckets[i - 1]), step);
      for (const g of sum.groups) {
        const pts = ts.points.filter((p) => p.key === g.key);
        for (const f of ['calls', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'reasoning_tokens']) {
          assert.equal(pts.reduce((a, p) => a + p[f], 0), g[f], `${by} ${g.key} ${f}`);
        }
        const cost = pts.reduce((a, p) => a + p.cost, 0);
        assert.ok(Math.abs(cost - g.cost) <= 1e-9 * (1 + Math.abs(g.cost)), `${by} ${g.key} cost`);
      }
      for (const p of ts.points) assert.ok(p.bucket >= 0 && p.bucket < ts.buckets.length);
      assert.equal(ts.points.reduce((a, p) => a + p.calls, 0), sum.groups.reduce((a, g) => a + g.calls, 0));
    }
    const ts = await getOk(server.http, `/api/genai/timeseries?${range}`);
    const topCost = await getOk(server.http, `/api/traces?${range}&sort=cost&limit=10`);
    const topDur = await getOk(server.http, `/api/traces?${range}&sort=duration&limit=10`);
    assert.deepEqual(ts.top_cost, topCost.traces);
    assert.deepEqual(ts.top_duration, topDur.traces);
    // the cost distribution: every listed trace in range, in the bucket of its cost
    const inRange = all.filter((e) => BigInt(e.start_unix_nano) >= lo && BigInt(e.start_unix_nano) <= hi);
    assert.equal(ts.cost_distribution.traces, inRange.length);
    assert.equal(ts.cost_distribution.partial, false);
    assert.equal(ts.cost_distribution.buckets.reduce((a, b) => a + b.traces, 0), inRange.length);
    for (const b of ts.cost_distribution.buckets) {
      const n = inRange.filter((e) => (b.max === 0 ? e.cost === 0
        : e.cost > 0 && (b.min <= 0.000001 ? true : e.cost >= b.min) && (b.max === null || e.cost < b.max))).length;
      assert.equal(b.traces, n, `bucket [${b.min}, ${b.max})`);
    }
    const bad = await getJson(server.http, `/api/genai/timeseries?${range}&step=10s`);
    assert.equal(bad.status, 400);
  });
});

describe('/api/live', () => {
  test('spans sent after the cursor, in order, filtered', async () => {
    const first = await getOk(server.http, '/api/live?limit=5');
    assert.ok(first.spans.length === 5);
    const cursor = first.next;
    const none = await getOk(server.http, `/api/live?after=${cursor}`);
    assert.deepEqual(none.spans, []);
    assert.equal(none.next, cursor);
    const traceId = randomHex(16);
    const spans = [0, 1, 2, 3].map((i) => ({
      traceId,
      spanId: randomHex(8),
      name: `live step ${i}`,
      start: String(1_800_000_000_000_000_000n + BigInt(i)),
      end: String(1_800_000_000_100_000_000n),
      ...(i === 2 ? { status: { code: 2, message: 'failed' } } : {}),
    }));
    for (const sp of spans) {
      const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(otlpJsonTraceRequest([sp], { service: 'live-test' }))), { 'content-type': 'application/json' });
      assert.equal(res.status, 200);
    }
    // acknowledged after the commit: already there
    const got = await getOk(server.http, `/api/live?after=${cursor}&service=live-test`);
    assert.deepEqual(got.spans.map((s) => s.name), spans.map((s) => s.name));
    for (const s of got.spans) {
      assert.equal(s.trace_id, traceId);
      assert.equal(s.service, 'live-test');
    }
    assert.ok(BigInt(got.next) > BigInt(cursor));
    const errs = await getOk(server.http, `/api/live?after=${cursor}&status=error`);
    assert.deepEqual(errs.spans.map((s) => s.name), ['live step 2']);
    const paged = await getOk(server.http, `/api/live?after=${cursor}&service=live-test&limit=3`);
    assert.equal(paged.spans.length, 3);
    const rest = await getOk(server.http, `/api/live?after=${paged.next}&service=live-test`);
    assert.deepEqual(rest.spans.map((s) => s.name), ['live step 3']);
    const bad = await getJson(server.http, '/api/live?after=abc');
    assert.equal(bad.status, 400);
  });
});
