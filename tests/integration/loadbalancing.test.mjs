// loadbalancing.test.mjs — the loadbalancing exporter across two tiers of llmtrace on
// loopback, as a collector deployment scales tail sampling out: tier 1 (one `serve
// --config`) routes by trace id over a ring of tier-2 instances, each of which runs a
// tail_sampling processor (every error trace, 50% of the others) and stores what it keeps.
//
// Sent to tier 1 over OTLP/HTTP: traces of four spans, each trace's spans spread over
// several requests that mix spans of many traces (so every request must be split), a fifth
// of the traces with an error on one child span only, and a log record per trace.
// Checked: every trace kept is whole on exactly one tier-2 instance, never split; every
// error trace is kept (an instance that had seen only the other spans would have decided on
// a part of it); the non-error traces are kept at about 50%, the two instances share the
// traces within binomial bounds; each trace's log is on the instance that holds the trace.
// Then the DNS resolver, with `localhost` (which resolves to 127.0.0.1 on the machines the
// tests run on): everything reaches the instance on the port given; an instance that is
// not up yet gets everything once it is (retried meanwhile); a name that does not resolve
// has tier 1 refuse data (429, retry later) and say so once in its log. No name here
// resolves to two addresses without changing the machine's hosts file, so two backends
// behind one name are left to the unit tests (lb_apply).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  freePort, getJson, listAllTraces, makeTempDir, otlpJsonTraceRequest, post, removeDir, rng32,
  startServer, waitFor,
} from './lib.mjs';

const SPANS_PER_TRACE = 4;

let dir;
before(() => { dir = makeTempDir('lt-lb-'); });
after(() => removeDir(dir));

function write(name, lines) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// A tier-2 instance: OTLP/gRPC on grpcEndpoint, tail sampling, storing traces and logs.
async function startTier2(name, grpcEndpoint = '127.0.0.1:0') {
  const file = write(`${name}.yaml`, [
    'receivers:',
    `  otlp: { protocols: { grpc: { endpoint: "${grpcEndpoint}" } } }`,
    'processors:',
    '  tail_sampling:',
    '    decision_wait: 2s',
    '    policies:',
    '      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }',
    '      - { name: half, type: probabilistic, probabilistic: { sampling_percentage: 50 } }',
    'service:',
    '  pipelines:',
    '    traces: { receivers: [otlp], processors: [tail_sampling], exporters: [llmtrace] }',
    '    logs: { receivers: [otlp], exporters: [llmtrace] }',
  ]);
  return startServer({ args: ['--config', file] });
}

// Tier 1: OTLP/HTTP in, the loadbalancing exporter out (resolver: YAML lines).
async function startTier1(name, resolver) {
  const file = write(`${name}.yaml`, [
    'receivers:',
    '  otlp: { protocols: { http: { endpoint: 127.0.0.1:0 } } }',
    'exporters:',
    '  loadbalancing:',
    '    routing_key: traceID',
    '    protocol:',
    '      otlp:',
    '        timeout: 5s',
    '        tls: { insecure: true }',
    '        retry_on_failure: { initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s }',
    '    resolver:',
    ...resolver.map((l) => `      ${l}`),
    'service:',
    '  pipelines:',
    '    traces: { receivers: [otlp], exporters: [loadbalancing] }',
    '    logs: { receivers: [otlp], exporters: [loadbalancing] }',
  ]);
  return startServer({ args: ['--config', file] });
}

// Traces of SPANS_PER_TRACE spans (a root and its children); errorEvery: every n-th trace
// has an error on its last child (0: none; 1: all).
function makeTraces(rand, n, errorEvery) {
  const hex = (bytes) => {
    let s = '';
    for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
    return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
  };
  const traces = [];
  for (let t = 0; t < n; t++) {
    const traceId = hex(16);
    const root = hex(8);
    const error = errorEvery > 0 && t % errorEvery === 0;
    const spans = [{ traceId, spanId: root, name: 'agent.run', kind: 2 }];
    for (let k = 1; k < SPANS_PER_TRACE; k++) {
      spans.push({
        traceId, spanId: hex(8), parentSpanId: root, name: `step ${k}`, kind: 3,
        ...(error && k === SPANS_PER_TRACE - 1 ? { status: { code: 2, message: 'tool failed' } } : {}),
      });
    }
    traces.push({ traceId, root, error, spans });
  }
  return traces;
}

async function postTraces(server, spans) {
  const r = await post(server.otlp, '/v1/traces', JSON.stringify(otlpJsonTraceRequest(spans, { service: 'lb-app' })),
    { 'content-type': 'application/json' });
  assert.equal(r.status, 200, r.text());
}

// Groups of 16 traces: a group's spans shuffled and sent as 4 requests, at once, so each
// trace is spread over several requests (all within tier 2's decision_wait) and each
// request holds spans of many traces.
async function sendSpread(server, rand, traces) {
  for (let g = 0; g < traces.length; g += 16) {
    const spans = traces.slice(g, g + 16).flatMap((t) => t.spans);
    for (let i = spans.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [spans[i], spans[j]] = [spans[j], spans[i]];
    }
    const per = Math.ceil(spans.length / 4);
    const parts = [];
    for (let i = 0; i < spans.length; i += per) parts.push(spans.slice(i, i + per));
    await Promise.all(parts.map((p) => postTraces(server, p)));
  }
}

async function sendLogs(server, traces) {
  const body = {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'lb-app' } }] },
      scopeLogs: [{
        scope: { name: 'lb-tests' },
        logRecords: traces.map((t) => ({
          timeUnixNano: '1700000000100000000', severityNumber: 9, severityText: 'INFO',
          body: { stringValue: `log of ${t.traceId}` }, traceId: t.traceId, spanId: t.root,
        })),
      }],
    }],
  };
  const r = await post(server.otlp, '/v1/logs', JSON.stringify(body), { 'content-type': 'application/json' });
  assert.equal(r.status, 200, r.text());
}

// trace id -> span count, of every trace an instance stores.
async function stored(server) {
  const m = new Map();
  for (const t of await listAllTraces(server, { start: '0' }, { pageSize: 1000 })) m.set(t.trace_id, t.span_count);
  return m;
}

// Waits until want(maps) holds, then until the instances' contents stop changing.
async function settle(servers, want, what) {
  let maps;
  await waitFor(async () => {
    maps = await Promise.all(servers.map(stored));
    return want(maps);
  }, 90_000, what);
  let stable = 0;
  let last = '';
  await waitFor(async () => {
    maps = await Promise.all(servers.map(stored));
    const sig = maps.map((m) => m.size).join(',');
    stable = sig === last ? stable + 1 : 0;
    last = sig;
    return stable >= 4;
  }, 60_000, `${what}: settled`);
  return maps;
}

// |x - n p| within k binomial standard deviations
function withinBinomial(x, n, p, k = 5) {
  return Math.abs(x - n * p) <= k * Math.sqrt(n * p * (1 - p));
}

describe('two tiers: tier 1 routes by trace id over a static ring of tier-2 instances', () => {
  let a;
  let b;
  let front;
  before(async () => {
    a = await startTier2('tier2-a');
    b = await startTier2('tier2-b');
    front = await startTier1('tier1-static', [`static: { hostnames: [${a.grpcAddr}, "${b.grpcAddr}"] }`]);
  });
  after(async () => {
    if (front) await front.stop();
    if (a) await a.stop();
    if (b) await b.stop();
  });

  test('every trace kept is whole on exactly one instance; errors always kept', async () => {
    const rand = rng32(7);
    const traces = makeTraces(rand, 320, 5);
    await sendSpread(front, rand, traces);
    await sendLogs(front, traces);
    const errors = traces.filter((t) => t.error);
    const [ma, mb] = await settle([a, b],
      ([x, y]) => errors.every((t) => x.has(t.traceId) || y.has(t.traceId)),
      'every error trace on a tier-2 instance');

    const sent = new Set(traces.map((t) => t.traceId));
    let keptOthers = 0;
    for (const t of traces) {
      const onA = ma.has(t.traceId);
      const onB = mb.has(t.traceId);
      assert.ok(!(onA && onB), `trace ${t.traceId} is split over both instances`);
      if (onA || onB) {
        assert.equal((onA ? ma : mb).get(t.traceId), SPANS_PER_TRACE, `trace ${t.traceId} is whole`);
        if (!t.error) keptOthers++;
      } else {
        assert.ok(!t.error, `error trace ${t.traceId} was not kept`);
      }
    }
    for (const m of [ma, mb]) for (const id of m.keys()) assert.ok(sent.has(id), `unknown trace ${id}`);
    // the probabilistic half of the others (a hash of the trace id, decided on whole traces)
    const others = traces.length - errors.length;
    assert.ok(withinBinomial(keptOthers, others, 0.5), `kept ${keptOthers} of ${others} non-error traces`);
    // the ring gives each instance about half (the ring's own imbalance is a few percent)
    const kept = ma.size + mb.size;
    assert.ok(withinBinomial(ma.size, kept, 0.5), `instance a holds ${ma.size} of ${kept} traces`);
    assert.ok(ma.size > 0 && mb.size > 0);

    // a trace's log went where the trace went, and only there
    for (const t of traces.filter((x) => ma.has(x.traceId) || mb.has(x.traceId)).slice(0, 40)) {
      const [here, there] = ma.has(t.traceId) ? [a, b] : [b, a];
      const r = await getJson(here.http, `/api/traces/${t.traceId}`);
      assert.equal(r.status, 200);
      assert.ok(r.text.includes(`log of ${t.traceId}`), `the log of ${t.traceId} is with its trace`);
      const other = await getJson(there.http, `/api/traces/${t.traceId}`);
      assert.ok(!other.text.includes(`log of ${t.traceId}`), `the log of ${t.traceId} is on the other instance`);
    }
    assert.match(front.stderr(), new RegExp(`exporter loadbalancing: backends .*${a.grpcAddr.replace(/\./g, '\\.')}`));
  });
});

describe('the DNS resolver (localhost)', () => {
  test('hostname localhost and the instance port: everything reaches that instance', async () => {
    const port = await freePort();
    const c = await startTier2('tier2-c', `127.0.0.1:${port}`);
    let front;
    try {
      front = await startTier1('tier1-dns', ['dns: { hostname: localhost, port: ' + port + ', interval: 200ms }']);
      const rand = rng32(11);
      const traces = makeTraces(rand, 48, 1); // all errors: all kept
      // until the first resolution data is refused (retry later): wait for it
      await waitFor(() => /exporter loadbalancing: backends 127\.0\.0\.1:\d+/.test(front.stderr()), 30_000, 'the first resolution');
      assert.match(front.stderr(), new RegExp(`backends 127\\.0\\.0\\.1:${port} \\(added 127\\.0\\.0\\.1:${port}\\)`));
      await sendSpread(front, rand, traces);
      const [mc] = await settle([c], ([m]) => traces.every((t) => m.has(t.traceId)), 'every trace at the instance');
      for (const t of traces) assert.equal(mc.get(t.traceId), SPANS_PER_TRACE);
      assert.equal(mc.size, traces.length);
    } finally {
      if (front) await front.stop();
      await c.stop();
    }
  });

  test('an instance that is not up yet gets everything once it is', async () => {
    const port = await freePort();
    const front = await startTier1('tier1-later', ['dns: { hostname: localhost, port: ' + port + ', interval: 200ms }']);
    let d;
    try {
      await waitFor(() => /exporter loadbalancing: backends /.test(front.stderr()), 30_000, 'the first resolution');
      const rand = rng32(13);
      const traces = makeTraces(rand, 32, 1);
      await sendSpread(front, rand, traces); // queued for a backend that refuses connections
      await waitFor(() => /exporter loadbalancing@127\.0\.0\.1:\d+: .*retrying/.test(front.stderr()), 30_000, 'a retry');
      d = await startTier2('tier2-d', `127.0.0.1:${port}`);
      const [md] = await settle([d], ([m]) => traces.every((t) => m.has(t.traceId)), 'every trace at the late instance');
      for (const t of traces) assert.equal(md.get(t.traceId), SPANS_PER_TRACE);
    } finally {
      await front.stop();
      if (d) await d.stop();
    }
  });

  test('a name that does not resolve: data is refused, the failure logged once', async () => {
    // .invalid never resolves (RFC 6761)
    const front = await startTier1('tier1-invalid', ['dns: { hostname: lb-test.invalid, interval: 100ms, timeout: 300ms }']);
    try {
      await waitFor(() => /cannot resolve lb-test\.invalid/.test(front.stderr()), 30_000, 'the resolution failure in the log');
      const rand = rng32(17);
      const traces = makeTraces(rand, 4, 0);
      // several intervals' worth of requests, each refused as "retry later"
      for (let i = 0; i < 10; i++) {
        const r = await post(front.otlp, '/v1/traces', JSON.stringify(otlpJsonTraceRequest(traces[i % 4].spans)),
          { 'content-type': 'application/json' });
        assert.equal(r.status, 429, r.text());
        assert.ok(r.headers['retry-after'], 'Retry-After');
        await new Promise((res) => { setTimeout(res, 100); });
      }
      const lines = front.stderr().split('\n').filter((l) => l.includes('cannot resolve lb-test.invalid'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0], /warn .*data is refused \(retry later\) until it resolves/);
    } finally {
      await front.stop();
    }
  });
});
