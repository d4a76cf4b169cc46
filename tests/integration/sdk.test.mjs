// sdk.test.mjs — live end to end: the official OpenTelemetry JS SDK (sdk-app.mjs) exports a
// GenAI-like trace over OTLP/HTTP protobuf and JSON (with and without gzip, through the
// simple and the batch span processor) to a running llmtrace, and the trace reads back
// exactly: tree, kinds, times to the nanosecond, status, resource, scope, attributes of every
// type (compared with their OTLP types), events and the link.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  anyValueToPlain, assertHealthy, canon, flattenOtlp, getOk, getTrace, getTraceOtlp, kvMap,
  listAllTraces, normAnyValue, startServer, typedToAnyValue, typedToPlain,
} from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function runApp(args, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(here, 'sdk-app.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // no OTEL_* from the environment may redirect or change the exporter
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_'))),
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`sdk-app timed out; stderr ${err}`)); }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) { reject(new Error(`sdk-app exited ${code}: ${err}`)); return; }
      try { resolve({ info: JSON.parse(out.trim().split('\n').pop()), stderr: err }); } catch (e) { reject(new Error(`sdk-app output ${out}: ${e.message}`)); }
    });
  });
}

const BASE = 1_700_000_000n * 1_000_000_000n;
const T = (sec, ns) => String(BASE + BigInt(sec) * 1_000_000_000n + BigInt(ns));

// What sdk-app.mjs sets, as typed values (JS integers are int64, others doubles).
const CHAT_ATTRS = {
  'gen_ai.operation.name': { string: 'chat' },
  'gen_ai.provider.name': { string: 'openai' },
  'gen_ai.request.model': { string: 'gpt-4o' },
  'gen_ai.request.temperature': { double: 0.7 },
  'gen_ai.request.top_p': { double: 1.5 },
  'gen_ai.request.max_tokens': { int: 512 },
  'gen_ai.request.stream': { bool: false },
  'gen_ai.request.stop_sequences': { array: [{ string: '\n\n' }, { string: 'END' }] },
  'gen_ai.usage.input_tokens': { int: 1234 },
  'gen_ai.usage.output_tokens': { int: 0 },
  'gen_ai.response.finish_reasons': { array: [{ string: 'stop' }, { string: 'length' }] },
  'test.int_array': { array: [{ int: 1 }, { int: -2 }, { int: 3 }] },
  'test.double_array': { array: [{ double: 0.5 }, { double: 1.25 }] },
  'test.bool_array': { array: [{ bool: true }, { bool: false }] },
  'test.unicode': { string: 'héllo ✓ 日本 🚀 "quoted" \\ back' },
  'test.max_safe_int': { int: Number.MAX_SAFE_INTEGER },
  'test.negative': { int: -42 },
  'test.empty_string': { string: '' },
};
const ROOT_ATTRS = {
  'gen_ai.agent.name': { string: 'e2e-agent' },
  'gen_ai.operation.name': { string: 'invoke_agent' },
};
const RESOURCE = {
  'service.version': { string: '9.8.7' },
  'deployment.environment.name': { string: 'integration-test' },
  'host.cores': { int: 2 },
};

function checkTypedAttrs(kvs, want, where) {
  const got = kvMap(kvs, where);
  for (const [k, t] of Object.entries(want)) {
    assert.ok(got.has(k), `${where}: attribute ${k} missing`);
    assert.deepEqual(normAnyValue(got.get(k)), normAnyValue(typedToAnyValue(t)), `${where}: attribute ${k}`);
  }
  return got;
}

const variants = [
  { name: 'http/protobuf, batch processor', protocol: 'http/protobuf', processor: 'batch', gzip: false },
  { name: 'http/json, simple processor', protocol: 'http/json', processor: 'simple', gzip: false },
  { name: 'http/protobuf + gzip, simple processor', protocol: 'http/protobuf', processor: 'simple', gzip: true },
  { name: 'http/json + gzip, batch processor', protocol: 'http/json', processor: 'batch', gzip: true },
];

let server;
before(async () => { server = await startServer(); });
after(async () => { if (server) await server.stop(); });

variants.forEach((v, idx) => {
  describe(v.name, () => {
    const service = `sdk-e2e-${idx}`;
    let info;
    let detail;
    let otlp;

    before(async () => {
      const args = ['--endpoint', server.otlp, '--protocol', v.protocol, '--processor', v.processor, '--service', service];
      if (v.gzip) args.push('--gzip');
      ({ info } = await runApp(args));
    });

    test('every export succeeded', () => {
      assert.ok(info.exportResults.length >= 1, 'the exporter was called');
      for (const r of info.exportResults) assert.equal(r.code, 0, `export failed: ${r.error}`);
      const spans = info.exportResults.reduce((n, r) => n + r.spans, 0);
      assert.equal(spans, 2, 'two spans exported');
      if (v.processor === 'simple') assert.equal(info.exportResults.length, 2, 'one request per span');
    });

    test('the trace is listed', async () => {
      const list = await listAllTraces(server, { service });
      assert.equal(list.length, 1, `traces of ${service}`);
      const t = list[0];
      assert.equal(t.trace_id, info.traceId);
      assert.equal(t.root_name, 'agent.run');
      assert.equal(t.root_service, service);
      assert.equal(t.span_count, 2);
      assert.equal(t.error_count, 1);
      assert.deepEqual(t.services, [service]);
      assert.equal(t.start_unix_nano, T(0, 123_456_789));
      assert.equal(t.duration_ns, String(BigInt(T(2, 999_999_999)) - BigInt(T(0, 123_456_789))));
    });

    test('tree, names, kinds, times and status', async () => {
      detail = await getTrace(server, info.traceId);
      assert.equal(detail.trace_id, info.traceId);
      assert.equal(detail.spans.length, 2);
      const [root, chat] = detail.spans; // ordered by start time
      assert.equal(root.span_id, info.rootSpanId);
      assert.equal(root.parent_span_id, null);
      assert.equal(root.name, 'agent.run');
      assert.equal(root.kind, 'INTERNAL');
      assert.equal(root.start_unix_nano, T(0, 123_456_789));
      assert.equal(root.end_unix_nano, T(2, 999_999_999));
      assert.equal(root.status.code, 'UNSET');
      assert.equal(chat.span_id, info.chatSpanId);
      assert.equal(chat.parent_span_id, info.rootSpanId);
      assert.equal(chat.name, 'chat gpt-4o');
      assert.equal(chat.kind, 'CLIENT');
      assert.equal(chat.start_unix_nano, T(0, 223_456_789));
      assert.equal(chat.end_unix_nano, T(1, 5));
      assert.deepEqual({ code: chat.status.code, message: chat.status.message }, { code: 'ERROR', message: 'rate limited' });
    });

    test('resource and scope', async () => {
      const d = detail || await getTrace(server, info.traceId);
      for (const s of d.spans) {
        assert.equal(s.resource['service.name'], service);
        for (const [k, t] of Object.entries(RESOURCE)) assert.deepEqual(s.resource[k], typedToPlain(t), `resource ${k}`);
        assert.equal(s.scope.name, 'llmtrace-sdk-test');
        assert.equal(s.scope.version, '1.2.3');
      }
      otlp = await getTraceOtlp(server, info.traceId);
      for (const f of flattenOtlp(otlp)) {
        const res = checkTypedAttrs(f.resource.attributes, RESOURCE, 'otlp resource');
        assert.deepEqual(res.get('service.name'), { stringValue: service });
        assert.equal(f.scope.name, 'llmtrace-sdk-test');
        assert.equal(f.scope.version, '1.2.3');
      }
    });

    test('attributes of every type, exactly (OTLP view)', async () => {
      const o = otlp || await getTraceOtlp(server, info.traceId);
      const flat = flattenOtlp(o);
      assert.equal(flat.length, 2);
      const chat = flat.find((f) => f.span.name === 'chat gpt-4o').span;
      const root = flat.find((f) => f.span.name === 'agent.run').span;
      const got = checkTypedAttrs(chat.attributes, CHAT_ATTRS, 'chat span');
      assert.deepEqual([...got.keys()].sort(), Object.keys(CHAT_ATTRS).sort(), 'no attribute added or lost');
      checkTypedAttrs(root.attributes, ROOT_ATTRS, 'root span');
      assert.equal(root.attributes.length, Object.keys(ROOT_ATTRS).length);
      assert.equal(String(chat.traceId).toLowerCase(), info.traceId);
      assert.equal(String(chat.spanId).toLowerCase(), info.chatSpanId);
      assert.equal(String(chat.parentSpanId).toLowerCase(), info.rootSpanId);
      assert.equal(chat.kind, 3);
      assert.equal(root.kind, 1);
      assert.equal(chat.status.code, 2);
      assert.equal(chat.status.message, 'rate limited');
      assert.equal(String(chat.startTimeUnixNano), T(0, 223_456_789));
      assert.equal(String(chat.endTimeUnixNano), T(1, 5));
    });

    test('attributes as plain JSON (native view)', async () => {
      const d = detail || await getTrace(server, info.traceId);
      const chat = d.spans.find((s) => s.name === 'chat gpt-4o');
      const want = Object.fromEntries(Object.entries(CHAT_ATTRS).map(([k, t]) => [k, typedToPlain(t)]));
      assert.equal(canon(chat.attributes), canon(want));
    });

    test('events', async () => {
      const o = otlp || await getTraceOtlp(server, info.traceId);
      const chat = flattenOtlp(o).find((f) => f.span.name === 'chat gpt-4o').span;
      assert.equal(chat.events.length, 2);
      const [prompt, exc] = chat.events;
      assert.equal(prompt.name, 'gen_ai.content.prompt');
      assert.equal(String(prompt.timeUnixNano), T(0, 300_000_000));
      checkTypedAttrs(prompt.attributes, { 'gen_ai.prompt': { string: 'Say hi' }, 'test.count': { int: 3 }, 'test.ratio': { double: 0.25 } }, 'event');
      assert.equal(exc.name, 'exception');
      assert.equal(String(exc.timeUnixNano), T(1, 0));
      checkTypedAttrs(exc.attributes, { 'exception.type': { string: 'RateLimitError' }, 'exception.message': { string: '429 slow down' } }, 'exception event');
      const d = detail || await getTrace(server, info.traceId);
      const nat = d.spans.find((s) => s.name === 'chat gpt-4o');
      assert.deepEqual(nat.events.map((e) => e.name), ['gen_ai.content.prompt', 'exception']);
      assert.deepEqual(nat.events[0].attributes, { 'gen_ai.prompt': 'Say hi', 'test.count': 3, 'test.ratio': 0.25 });
    });

    test('link', async () => {
      const o = otlp || await getTraceOtlp(server, info.traceId);
      const chat = flattenOtlp(o).find((f) => f.span.name === 'chat gpt-4o').span;
      assert.equal((chat.links || []).length, 1);
      const [l] = chat.links;
      assert.equal(String(l.traceId).toLowerCase(), info.link.traceId);
      assert.equal(String(l.spanId).toLowerCase(), info.link.spanId);
      checkTypedAttrs(l.attributes, { 'link.reason': { string: 'retry-of' }, 'link.attempt': { int: 2 } }, 'link');
      const d = detail || await getTrace(server, info.traceId);
      const nat = d.spans.find((s) => s.name === 'chat gpt-4o');
      assert.equal(nat.links.length, 1);
      const vals = Object.values(nat.links[0]).map((x) => (typeof x === 'string' ? x.toLowerCase() : x));
      assert.ok(vals.includes(info.link.traceId) && vals.includes(info.link.spanId), `native link ${JSON.stringify(nat.links[0])}`);
      const attrs = Object.fromEntries(Object.entries(nat.links[0].attributes || {}).map(([k, x]) => [k, x]));
      assert.deepEqual(attrs, { 'link.reason': 'retry-of', 'link.attempt': 2 });
    });
  });
});

describe('across the variants', () => {
  test('the four variants stored the same content', async () => {
    const forms = [];
    for (let i = 0; i < variants.length; i++) {
      const [t] = await listAllTraces(server, { service: `sdk-e2e-${i}` });
      assert.ok(t, `variant ${i} stored`);
      const o = await getTraceOtlp(server, t.trace_id);
      forms.push(flattenOtlp(o).map((f) => canon({
        name: f.span.name,
        kind: f.span.kind,
        start: String(f.span.startTimeUnixNano),
        end: String(f.span.endTimeUnixNano),
        status: f.span.status || {},
        attributes: Object.fromEntries((f.span.attributes || []).map((kv) => [kv.key, normAnyValue(kv.value)])),
        events: (f.span.events || []).map((e) => [e.name, String(e.timeUnixNano), anyValueToPlain({ kvlistValue: { values: e.attributes || [] } })]),
        links: (f.span.links || []).length,
      })).sort());
    }
    for (let i = 1; i < forms.length; i++) assert.deepEqual(forms[i], forms[0], `variant ${i} vs variant 0`);
  });

  test('services and operations', async () => {
    const svc = await getOk(server.http, '/api/services');
    for (let i = 0; i < variants.length; i++) assert.ok(svc.services.includes(`sdk-e2e-${i}`));
    const ops = await getOk(server.http, `/api/services/${encodeURIComponent('sdk-e2e-0')}/operations`);
    assert.deepEqual(ops.operations.map((o) => `${o.name}|${o.span_kind}`).sort(), ['agent.run|INTERNAL', 'chat gpt-4o|CLIENT']);
  });

  test('server healthy', () => assertHealthy(server));
});
