// pipeline.test.mjs — `llmtrace serve --config` runs the file's pipelines between the
// receivers and the store: processors change what is stored (transform, redaction inside
// message JSON), samplers decide what is kept (tail sampling: every error trace and about
// the configured share of the rest; decisions at the end of decision_wait and at stop;
// probabilistic_sampler consistent per trace), logs pipelines, a processor failing in
// propagate mode refuses the request, and component settings serve cannot run stop the
// start with the file's line and column.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  traceIdSet,
  getOk, flattenOtlp, kvMap, anyValueToPlain, makeTempDir, otlpJsonTraceRequest,
  post, removeDir, runCli, startServer, waitFor,
} from './lib.mjs';

let dir;
before(() => { dir = makeTempDir('lt-pipeline-'); });
after(() => removeDir(dir));

function write(name, lines) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Array.isArray(lines) ? `${lines.join('\n')}\n` : lines);
  return file;
}

const HTTP_RECEIVER = [
  'receivers:',
  '  otlp:',
  '    protocols:',
  '      http: { endpoint: 127.0.0.1:0 }',
];

// A deterministic id generator (xorshift), so a failing run can be replayed.
function ids(seed) {
  let x = seed >>> 0 || 1;
  const byte = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 255;
  };
  return (n) => {
    let s = '';
    for (let i = 0; i < n; i++) s += byte().toString(16).padStart(2, '0');
    return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
  };
}

async function postJson(server, urlPath, obj) {
  const r = await post(server.otlp, urlPath, JSON.stringify(obj), { 'content-type': 'application/json' });
  return r;
}

const attr = (key, v) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });

async function storedSpans(server, traceId) {
  const r = await fetch(`${server.http}/api/traces/${traceId}?format=otlp`);
  if (r.status === 404) return null;
  assert.equal(r.status, 200);
  return flattenOtlp(await r.json());
}

describe('processors change what is stored', () => {
  test('transform sets and masks; redaction masks inside message JSON and keeps it JSON', async () => {
    const file = write('mask.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  transform:',
      '    error_mode: ignore',
      '    trace_statements:',
      '      - context: span',
      '        statements:',
      '          - set(attributes["pipeline.seen"], "yes")',
      '          - replace_pattern(attributes["gen_ai.content.prompt"], "\\\\b\\\\d{6}-\\\\d{7}\\\\b", "***")',
      '  redaction:',
      '    allow_all_keys: true',
      '    patterns: [email]',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], processors: [transform, redaction] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    try {
      const next = ids(7);
      const traceId = next(16);
      const messages = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'mail me at ann@example.com please' }] }]);
      const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest([{
        traceId, spanId: next(8), name: 'chat gpt-4o',
        attributes: [
          attr('gen_ai.operation.name', 'chat'),
          attr('gen_ai.request.model', 'gpt-4o'),
          attr('gen_ai.content.prompt', 'my id is 900101-1234567, thanks'),
          attr('gen_ai.input.messages', messages),
        ],
      }]));
      assert.equal(r.status, 200, r.text());
      const spans = await storedSpans(server, traceId);
      assert.equal(spans.length, 1);
      const a = kvMap(spans[0].span.attributes);
      assert.equal(anyValueToPlain(a.get('pipeline.seen')), 'yes');
      assert.equal(anyValueToPlain(a.get('gen_ai.content.prompt')), 'my id is ***, thanks');
      const stored = JSON.parse(anyValueToPlain(a.get('gen_ai.input.messages')));
      assert.equal(stored[0].parts[0].content, 'mail me at **** please');
      assert.equal(stored[0].role, 'user');
      // the GenAI view is derived from the changed attributes
      const summary = await getOk(server.http, `/api/traces/${traceId}`);
      assert.doesNotMatch(JSON.stringify(summary), /ann@example\.com|900101-1234567/);
    } finally {
      await server.stop();
    }
  });

  test('filter drops spans by condition; attributes inserts, hashes and deletes', async () => {
    const file = write('filter.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  filter/health:',
      '    error_mode: ignore',
      '    traces:',
      '      span: [ \'name == "GET /health"\', \'attributes["drop.me"] == true\' ]',
      '  attributes:',
      '    actions:',
      '      - { key: deployment.environment, value: prod, action: insert }',
      '      - { key: user.email, action: hash }',
      '      - { key: api.secret, action: delete }',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], processors: [filter/health, attributes] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    try {
      const next = ids(5);
      const traceId = next(16);
      const keep = next(8);
      const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest([
        { traceId, spanId: keep, name: 'chat', attributes: [attr('user.email', 'ann@example.com'), attr('api.secret', 'sk-1')] },
        { traceId, spanId: next(8), name: 'GET /health' },
        { traceId, spanId: next(8), name: 'x', attributes: [{ key: 'drop.me', value: { boolValue: true } }] },
      ]));
      assert.equal(r.status, 200, r.text());
      const spans = await storedSpans(server, traceId);
      assert.deepEqual(spans.map((x) => x.span.name), ['chat']);
      const a = kvMap(spans[0].span.attributes);
      assert.equal(anyValueToPlain(a.get('deployment.environment')), 'prod');
      assert.equal(a.has('api.secret'), false);
      const crypto = await import('node:crypto');
      assert.equal(anyValueToPlain(a.get('user.email')), crypto.createHash('sha256').update('ann@example.com').digest('hex'));
      const stop = await server.stop();
      assert.match(stop.stderr, /filter\/health: dropped 2 span\(s\)/);
    } finally {
      await server.stop();
    }
  });

  test('a statement that fails in propagate mode refuses the request and stores nothing', async () => {
    const file = write('propagate.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  transform:',
      '    error_mode: propagate',
      '    trace_statements:',
      '      - context: span',
      '        statements: [ \'set(name, attributes["count"])\' ]',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], processors: [transform] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    try {
      const next = ids(11);
      const traceId = next(16);
      const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest([{
        traceId, spanId: next(8), attributes: [attr('count', 3)],
      }]));
      assert.equal(r.status, 400, r.text());
      assert.match(r.text(), /processor/);
      assert.equal(await storedSpans(server, traceId), null);
      // a span the statement works on is stored
      const ok = next(16);
      const r2 = await postJson(server, '/v1/traces', otlpJsonTraceRequest([{
        traceId: ok, spanId: next(8), attributes: [attr('count', 'renamed')],
      }]));
      assert.equal(r2.status, 200, r2.text());
      assert.equal((await storedSpans(server, ok))[0].span.name, 'renamed');
    } finally {
      await server.stop();
    }
  });

  test('logs pipelines run log statements', async () => {
    const file = write('logs.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  transform:',
      '    log_statements:',
      '      - context: log',
      '        statements: [ \'set(attributes["checked"], true) where severity_number >= 17\' ]',
      'service:',
      '  pipelines:',
      '    logs: { receivers: [otlp], processors: [transform] }',
      '    traces: { receivers: [otlp] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    try {
      const next = ids(13);
      const traceId = next(16);
      const spanId = next(8);
      assert.equal((await postJson(server, '/v1/traces', otlpJsonTraceRequest([{ traceId, spanId }]))).status, 200);
      const logs = {
        resourceLogs: [{
          resource: { attributes: [attr('service.name', 'logs-test')] },
          scopeLogs: [{
            scope: { name: 't' },
            logRecords: [
              { timeUnixNano: '1700000000100000000', severityNumber: 17, body: { stringValue: 'bad' }, traceId, spanId },
              { timeUnixNano: '1700000000200000000', severityNumber: 9, body: { stringValue: 'fine' }, traceId, spanId },
            ],
          }],
        }],
      };
      assert.equal((await postJson(server, '/v1/logs', logs)).status, 200);
      const t = await getOk(server.http, `/api/traces/${traceId}`);
      const got = [...(t.logs || []), ...t.spans.flatMap((s) => s.logs || [])];
      assert.equal(got.length, 2, JSON.stringify(t));
      const byBody = Object.fromEntries(got.map((l) => [l.body, l]));
      assert.deepEqual(byBody.bad.attributes, { checked: true });
      assert.deepEqual(byBody.fine.attributes || {}, {});
    } finally {
      await server.stop();
    }
  });
});

// 150 error traces and 450 others, three spans each, sent as 60 requests of 10 traces.
async function sendMix(server, seed) {
  const next = ids(seed);
  const errors = new Set();
  const others = new Set();
  for (let req = 0; req < 60; req++) {
    const spans = [];
    for (let t = 0; t < 10; t++) {
      const traceId = next(16);
      const isError = (req * 10 + t) % 4 === 0;
      (isError ? errors : others).add(traceId);
      const root = next(8);
      spans.push({ traceId, spanId: root, name: 'agent' });
      spans.push({ traceId, spanId: next(8), parentSpanId: root, name: 'chat',
        ...(isError ? { status: { code: 2, message: 'rate limited' } } : {}) });
      spans.push({ traceId, spanId: next(8), parentSpanId: root, name: 'tool' });
    }
    const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest(spans));
    assert.equal(r.status, 200, r.text());
  }
  return { errors, others };
}

function assertSampled(stored, { errors, others }) {
  for (const id of errors) assert.ok(stored.has(id), `error trace ${id} was not kept`);
  const kept = [...others].filter((id) => stored.has(id)).length;
  // 10% of 450 is 45 (binomial sd 6.4): far outside [15, 80] means the policy is wrong
  assert.ok(kept >= 15 && kept <= 80, `kept ${kept} of ${others.size} other traces`);
  assert.equal(stored.size, errors.size + kept);
  return kept;
}

const TAIL = (wait) => [
  ...HTTP_RECEIVER,
  'processors:',
  '  tail_sampling:',
  `    decision_wait: ${wait}`,
  '    policies:',
  '      - { name: errors-policy, type: status_code, status_code: { status_codes: [ERROR] } }',
  '      - { name: sample-policy, type: probabilistic, probabilistic: { sampling_percentage: 10 } }',
  'service:',
  '  pipelines:',
  '    traces: { receivers: [otlp], processors: [tail_sampling] }',
];

describe('tail sampling', () => {
  test('after decision_wait every error trace and about 10% of the rest are stored, whole', async () => {
    const server = await startServer({ args: ['--config', write('tail.yaml', TAIL('300ms'))] });
    try {
      const sent = await sendMix(server, 21);
      // nothing is stored before a decision; everything is decided after the wait
      let stored;
      await waitFor(async () => {
        stored = await traceIdSet(server);
        return stored.size >= sent.errors.size;
      }, 20_000, 'the decisions');
      // let a few more ticks pass: the count must not move any more
      await new Promise((r) => setTimeout(r, 600));
      stored = await traceIdSet(server);
      assertSampled(stored, sent);
      for (const id of [...stored].slice(0, 20)) {
        assert.equal((await storedSpans(server, id)).length, 3, `trace ${id} is whole`);
      }
    } finally {
      await server.stop();
    }
  });

  test('at stop, what is held is decided and stored; the same ids give the same decisions', async () => {
    const file = write('tail-long.yaml', TAIL('1h'));
    const dataDir = path.join(dir, 'tail-stop');
    const server = await startServer({ args: ['--config', file], dataDir });
    const sent = await sendMix(server, 21);
    assert.equal((await traceIdSet(server)).size, 0, 'nothing decided before decision_wait');
    const stop = await server.stop();
    assert.match(stop.stderr, /tail_sampling: traces kept \d+, dropped \d+/);
    const again = await startServer({ dataDir });
    try {
      const stored = await traceIdSet(again);
      const kept = assertSampled(stored, sent);
      // decisions depend on the trace id only: the run above kept the same traces
      const first = await startServer({ args: ['--config', write('tail-short.yaml', TAIL('100ms'))] });
      try {
        await sendMix(first, 21);
        await waitFor(async () => (await traceIdSet(first)).size === stored.size, 20_000, 'the same decisions');
        assert.deepEqual([...await traceIdSet(first)].sort(), [...stored].sort());
      } finally {
        await first.stop();
      }
      assert.ok(kept > 0);
    } finally {
      await again.stop();
    }
  });
});

describe('probabilistic_sampler', () => {
  test('keeps about the percentage, and all or none of a trace whatever request its spans came in', async () => {
    const file = write('head.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  probabilistic_sampler: { sampling_percentage: 50 }',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], processors: [probabilistic_sampler] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    try {
      const next = ids(31);
      const traces = Array.from({ length: 200 }, () => ({ id: next(16), spans: [next(8), next(8)] }));
      // each trace's two spans arrive in two different requests
      for (const half of [0, 1]) {
        const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest(
          traces.map((t) => ({ traceId: t.id, spanId: t.spans[half], name: `part${half}` }))));
        assert.equal(r.status, 200);
      }
      const stored = await traceIdSet(server);
      assert.ok(stored.size >= 60 && stored.size <= 140, `kept ${stored.size} of 200`);
      for (const id of [...stored].slice(0, 40)) {
        assert.equal((await storedSpans(server, id)).length, 2, `trace ${id}: both spans or none`);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('several pipelines of one signal', () => {
  test('each gets the data as received: one stores it transformed, one exports a sample of it untouched', async () => {
    const out = path.join(dir, 'sampled.jsonl');
    const file = write('two.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  transform:',
      '    trace_statements:',
      '      - context: span',
      '        statements: [ \'set(attributes["stored"], true)\' ]',
      '  probabilistic_sampler: { sampling_percentage: 50 }',
      'exporters:',
      `  file: { path: ${JSON.stringify(out)}, flush_interval: 100ms }`,
      'service:',
      '  pipelines:',
      '    traces/all: { receivers: [otlp], processors: [transform], exporters: [llmtrace] }',
      '    traces/sampled: { receivers: [otlp], processors: [probabilistic_sampler], exporters: [file] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    const next = ids(41);
    const traces = Array.from({ length: 100 }, () => next(16));
    try {
      const r = await postJson(server, '/v1/traces', otlpJsonTraceRequest(traces.map((t) => ({ traceId: t, spanId: next(8) }))));
      assert.equal(r.status, 200, r.text());
      const stored = await traceIdSet(server);
      assert.equal(stored.size, 100);
      const one = await storedSpans(server, traces[0]);
      assert.equal(anyValueToPlain(kvMap(one[0].span.attributes).get('stored')), true);
      // metrics stay off the API's port without a spanmetrics connector
      assert.equal((await fetch(`${server.http}/metrics`)).status, 404);
    } finally {
      await server.stop(); // the file exporter writes what it holds
    }
    const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    const spans = lines.flatMap((l) => flattenOtlp(JSON.parse(l)));
    assert.ok(spans.length >= 25 && spans.length <= 75, `exported ${spans.length} of 100`);
    for (const s of spans) {
      assert.ok(traces.includes(s.span.traceId));
      assert.equal(kvMap(s.span.attributes).has('stored'), false, 'the copy was made before the first pipeline changed it');
    }
  });
});

describe('batch', () => {
  test('the exporters of a pipeline with a batch processor send fewer, larger requests', async () => {
    const out = path.join(dir, 'batched.jsonl');
    const file = write('batch.yaml', [
      ...HTTP_RECEIVER,
      'processors:',
      '  batch: { timeout: 200ms, send_batch_size: 1000 }',
      'exporters:',
      `  file: { path: ${JSON.stringify(out)}, flush_interval: 100ms }`,
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], processors: [batch], exporters: [file, llmtrace] }',
    ]);
    const server = await startServer({ args: ['--config', file] });
    const next = ids(51);
    const sentIds = new Set();
    try {
      for (let i = 0; i < 20; i++) {
        const spans = Array.from({ length: 5 }, () => ({ traceId: next(16), spanId: next(8) }));
        for (const sp of spans) sentIds.add(sp.spanId);
        assert.equal((await postJson(server, '/v1/traces', otlpJsonTraceRequest(spans))).status, 200);
      }
      // stored at once: the store is never held back by a batch
      assert.equal((await traceIdSet(server)).size, 100);
    } finally {
      await server.stop();
    }
    const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
    const got = lines.flatMap((l) => flattenOtlp(JSON.parse(l))).map((x) => x.span.spanId);
    assert.deepEqual(new Set(got), sentIds);
    assert.equal(got.length, 100);
    assert.ok(lines.length < 20, `${lines.length} requests for 20 batches`);
  });
});

describe('settings serve cannot run stop the start, positioned', () => {
  const cases = [
    ['a bad regex', [
      'processors:',
      '  transform:',
      '    trace_statements:',
      '      - context: span',
      '        statements: [ \'replace_pattern(attributes["a"], "(unclosed", "x")\' ]',
    ], 'transform', /processors\.transform.*(regex|pattern)/],
    ['an unknown policy type', [
      'processors:',
      '  tail_sampling:',
      '    policies: [ { name: p, type: magic } ]',
    ], 'tail_sampling', /processors\.tail_sampling.*magic/],
    ['a percentage out of range', [
      'processors:',
      '  probabilistic_sampler: { sampling_percentage: 150 }',
    ], 'probabilistic_sampler', /sampling_percentage/],
    ['a memory_limiter without a limit', [
      'processors:',
      '  memory_limiter: { check_interval: 1s }',
    ], 'memory_limiter', /processors\.memory_limiter: limit_mib \(greater than 0\) or limit_percentage \(1-100\) is required/],
    ['a batch whose maximum is below its size', [
      'processors:',
      '  batch: { send_batch_size: 100, send_batch_max_size: 10 }',
    ], 'batch', /processors\.batch: .*send_batch_max_size/],
  ];
  test('span metrics go to prometheusremotewrite only', async () => {
    const file = write('sm-debug.yaml', [
      ...HTTP_RECEIVER,
      'connectors:',
      '  spanmetrics:',
      'exporters:',
      '  debug:',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], exporters: [spanmetrics] }',
      '    metrics: { receivers: [spanmetrics], exporters: [debug] }',
    ]);
    const check = await runCli(['check-config', file]);
    assert.equal(check.code, 1, check.stdout);
    assert.match(check.stderr, /:12:\d+: service\.pipelines\.metrics: debug: the metrics of spanmetrics go to prometheusremotewrite/);
  });

  for (const [what, lines, proc, re] of cases) {
    test(what, async () => {
      const file = write(`bad-${proc}.yaml`, [
        ...HTTP_RECEIVER, ...lines,
        'service:',
        '  pipelines:',
        `    traces: { receivers: [otlp], processors: [${proc}] }`,
      ]);
      const check = await runCli(['check-config', file]);
      assert.equal(check.code, 1, check.stdout);
      assert.match(check.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
      assert.match(check.stderr, re);
      const serve = await runCli(['serve', '--data', path.join(dir, `never-${proc}`), '--http', '127.0.0.1:0', '--config', file]);
      assert.equal(serve.code, 2, serve.stderr);
      assert.equal(serve.stderr.trim(), `llmtrace serve: ${check.stderr.trim()}`);
    });
  }
});
