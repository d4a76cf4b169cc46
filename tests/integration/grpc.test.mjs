// grpc.test.mjs — the OTLP/gRPC receiver, black box.
//
// (a) the official OpenTelemetry JS gRPC exporters (traces and logs, plain and gzip) from a
//     real SDK provider: what they send reads back through the JSON API;
// (b) a raw @grpc/grpc-js client (generic client, bytes in and out, no proto compilation):
//     every captured protobuf body stores exactly as the same body posted over OTLP/HTTP,
//     gzip, statuses (UNIMPLEMENTED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED with and without
//     RetryInfo, UNAUTHENTICATED), partial success, metrics, 200 calls on one connection;
// (c) raw HTTP/2 frames with node:http2 and raw TCP: broken framing, compression flags and
//     encodings, content types, deadlines, streams reset by the client, connections closed
//     with requests in flight, bytes that are not HTTP/2 — the server stays up and correct;
// (d) SIGTERM with requests in flight: every acknowledged request is stored.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import {
  assertHealthy, canon, decodeExportResponsePb, decodeStatusPb, getJson, getOk, getTrace,
  getTraceOtlp, listAllTraces, loadScenarios, otlpPb, pb, post, randomHex, startServer, waitFor,
} from './lib.mjs';

const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const METRICS = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';
const S = grpc.status;

const fixture = (rel) => fs.readFileSync(path.join(process.env.LT_FIXTURES || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../shared/fixtures'), 'otlp', rel));
const RAG = () => fixture('otel/rag-grpc/0001-traces.grpc.bin');
const BIG = () => fixture('openinference/batch/0001-traces.pb');

// ---------------------------------------------------------------------------------------
// grpc-js: a generic client sending and receiving raw bytes

const ident = (b) => b;

function client(server, options = {}) {
  return new grpc.Client(server.grpcAddr, grpc.credentials.createInsecure(), options);
}

/** One unary call; resolves { err, resp } (never rejects). */
function unary(c, method, body, { metadata = new grpc.Metadata(), deadlineMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    c.makeUnaryRequest(method, ident, ident, body, metadata, { deadline: Date.now() + deadlineMs },
      (err, resp) => resolve({ err, resp }));
  });
}

function expectOk(r, what = 'call') {
  assert.equal(r.err, null, `${what}: ${r.err && `${S[r.err.code]} ${r.err.details}`}`);
}

function expectStatus(r, code, re) {
  assert.ok(r.err, `expected ${S[code]}, got OK`);
  assert.equal(r.err.code, code, `expected ${S[code]}, got ${S[r.err.code]} (${r.err.details})`);
  if (re) assert.match(r.err.details, re);
}

/** The google.rpc.Status of grpc-status-details-bin, with its RetryInfo delay if any. */
function statusDetails(err) {
  const v = err.metadata && err.metadata.get('grpc-status-details-bin');
  if (!v || v.length === 0) return null;
  const raw = Buffer.isBuffer(v[0]) ? v[0] : Buffer.from(String(v[0]), 'base64');
  const st = decodeStatusPb(raw);
  st.details = [];
  for (const f of pb.decode(raw)) {
    if (f.field !== 3 || f.wire !== 2) continue;
    const any = { typeUrl: '', value: Buffer.alloc(0) };
    for (const g of pb.decode(f.value)) {
      if (g.field === 1) any.typeUrl = g.value.toString('utf8');
      if (g.field === 2) any.value = g.value;
    }
    if (any.typeUrl === RETRY_INFO) {
      for (const g of pb.decode(any.value)) {
        if (g.field !== 1) continue;
        any.retryDelay = { seconds: 0, nanos: 0 };
        for (const h of pb.decode(g.value)) {
          if (h.field === 1) any.retryDelay.seconds = Number(h.value);
          if (h.field === 2) any.retryDelay.nanos = Number(h.value);
        }
      }
    }
    st.details.push(any);
  }
  return st;
}

// ---------------------------------------------------------------------------------------
// node:http2: raw requests

function frame(msg, flag = 0) {
  const p = Buffer.alloc(5);
  p[0] = flag;
  p.writeUInt32BE(msg.length, 1);
  return Buffer.concat([p, msg]);
}

function h2connect(server) {
  const s = http2.connect(`http://${server.grpcAddr}`);
  s.on('error', () => {});
  return s;
}

/** One request on session s. Resolves, once the stream is closed, { headers, trailers,
 * body, rstCode, status } where status is the grpc-status (trailers or Trailers-Only). */
function rawCall(s, { method = 'POST', pathName = TRACES, headers = {}, body, end = true, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = s.request({
      ':method': method, ':path': pathName, 'content-type': 'application/grpc', te: 'trailers', ...headers,
    }, { endStream: false });
    const out = { headers: null, trailers: null, chunks: [], req };
    const timer = setTimeout(() => { req.close(http2.constants.NGHTTP2_CANCEL); reject(new Error(`raw call timed out: ${JSON.stringify(out.headers)}`)); }, timeoutMs);
    req.on('response', (h) => { out.headers = h; });
    req.on('trailers', (t) => { out.trailers = t; });
    req.on('data', (d) => out.chunks.push(d));
    req.on('error', () => {});
    req.on('close', () => {
      clearTimeout(timer);
      out.rstCode = req.rstCode;
      out.body = Buffer.concat(out.chunks);
      const st = (out.trailers && out.trailers['grpc-status']) ?? (out.headers && out.headers['grpc-status']);
      out.status = st === undefined ? undefined : Number(st);
      out.message = (out.trailers && out.trailers['grpc-message']) ?? (out.headers && out.headers['grpc-message']);
      resolve(out);
    });
    if (body) req.write(body);
    if (end) req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A trace request of a fresh trace id with n spans (one by default, each ~300 bytes more
// with padding); returns { body, traceId }.
function oneSpanRequest(name = 'grpc-span', service = 'grpc-test', n = 1) {
  const traceId = randomHex(16);
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId: Buffer.from(traceId, 'hex'),
    spanId: Buffer.from(randomHex(8), 'hex'),
    name: i ? `${name}-${i}` : name,
    attrs: n > 1 ? [['test.padding', otlpPb.anyString(`${i} ${'p'.repeat(250)}`)]] : [],
  }));
  return { body: otlpPb.traceRequest(spans, { service }), traceId };
}

async function traceStored(server, traceId) {
  const r = await getJson(server.http, `/api/traces/${traceId}`);
  return r.status === 200;
}

// ---------------------------------------------------------------------------------------

let server;
before(async () => { server = await startServer(); });
after(async () => { if (server) await server.stop(); });

describe('OpenTelemetry JS SDK exporters over gRPC', () => {
  for (const compression of ['none', 'gzip']) {
    test(`traces (${compression}) read back through the API`, async () => {
      const results = [];
      const exporter = new OTLPTraceExporter({ url: `http://${server.grpcAddr}`, compression, timeoutMillis: 15_000 });
      const recording = {
        export(spans, done) { exporter.export(spans, (r) => { results.push(r); done(r); }); },
        shutdown: () => exporter.shutdown(),
        forceFlush: () => exporter.forceFlush(),
      };
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': `grpc-sdk-${compression}` }),
        spanProcessors: [new SimpleSpanProcessor(recording)],
      });
      const tracer = provider.getTracer('grpc-sdk-test', '0.1.0');
      const BASE = 1_700_000_100;
      const root = tracer.startSpan('agent.run', { kind: SpanKind.INTERNAL, startTime: [BASE, 0], attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
      const ctx = trace.setSpan(context.active(), root);
      const chat = tracer.startSpan('chat gpt-4o', {
        kind: SpanKind.CLIENT,
        startTime: [BASE, 1000],
        attributes: {
          'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 120,
          'gen_ai.usage.output_tokens': 30, 'test.unicode': 'héllo ✓ 🚀', 'test.array': [1, 2, 3],
        },
      }, ctx);
      chat.addEvent('gen_ai.choice', { index: 0 }, [BASE, 5000]);
      chat.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      chat.end([BASE + 1, 7]);
      root.end([BASE + 2, 9]);
      await provider.forceFlush();
      await provider.shutdown();
      assert.equal(results.length, 2);
      for (const r of results) assert.equal(r.code, 0, `export failed: ${r.error}`);

      const t = await getTrace(server, root.spanContext().traceId);
      assert.equal(t.spans.length, 2);
      const byName = new Map(t.spans.map((s) => [s.name, s]));
      const c = byName.get('chat gpt-4o');
      assert.equal(c.parent_span_id, root.spanContext().spanId);
      assert.equal(c.kind, 'CLIENT');
      assert.deepEqual(c.status, { code: 'ERROR', message: 'boom' });
      assert.equal(c.start_unix_nano, String(BigInt(BASE) * 1_000_000_000n + 1000n));
      assert.equal(c.end_unix_nano, String(BigInt(BASE + 1) * 1_000_000_000n + 7n));
      assert.equal(c.attributes['test.unicode'], 'héllo ✓ 🚀');
      assert.deepEqual(c.attributes['test.array'], [1, 2, 3]);
      assert.equal(c.events.length, 1);
      assert.equal(c.resource['service.name'], `grpc-sdk-${compression}`);
      assert.equal(t.totals.input_tokens, 120);
      assertHealthy(server);
    });
  }

  test('logs attached to their span', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'grpc-sdk-logs' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://${server.grpcAddr}` }))],
    });
    const logs = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'grpc-sdk-logs' }),
      processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `http://${server.grpcAddr}`, compression: 'gzip' }) })],
    });
    const span = provider.getTracer('t').startSpan('chat with logs');
    logs.getLogger('l').emit({
      body: 'the prompt',
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      attributes: { 'event.name': 'gen_ai.user.message', 'test.n': 7 },
      context: trace.setSpan(context.active(), span),
    });
    span.end();
    await logs.forceFlush();
    await provider.forceFlush();
    await logs.shutdown();
    await provider.shutdown();
    const t = await waitFor(async () => {
      const r = await getJson(server.http, `/api/traces/${span.spanContext().traceId}`);
      return r.status === 200 && r.json.spans[0].logs.length ? r.json : null;
    }, 10_000, 'the log record on its span');
    const rec = t.spans[0].logs[0];
    assert.equal(rec.body, 'the prompt');
    assert.equal(rec.severity_number, 9);
    assert.equal(rec.event_name, 'gen_ai.user.message');
    assert.equal(rec.attributes['test.n'], 7);
    assert.equal(rec.span_id, span.spanContext().spanId);
  });
});

describe('grpc-js generic client', () => {
  test('every captured protobuf body stores as it does over OTLP/HTTP', async () => {
    // One server takes every body over gRPC, another over HTTP; their API answers must match.
    const viaHttp = await startServer({ args: ['--otlp-grpc', 'off'] });
    const viaGrpc = await startServer({ args: ['--otlp-http', '127.0.0.1:0'] });
    const c = client(viaGrpc);
    try {
      let sent = 0;
      for (const sc of loadScenarios()) {
        for (const f of sc.files) {
          if (f.signal === 'metrics' || !/\.(pb|grpc\.bin)$/.test(f.name)) continue;
          const body = fs.readFileSync(f.path);
          const r = await unary(c, f.signal === 'traces' ? TRACES : LOGS, body);
          expectOk(r, `${sc.library}/${sc.scenario}/${f.name}`);
          assert.equal(r.resp.length, 0, 'an empty Export*ServiceResponse');
          const h = await post(viaHttp.otlp, `/v1/${f.signal}`, body, { 'content-type': 'application/x-protobuf' });
          assert.equal(h.status, 200);
          sent++;
        }
      }
      assert.ok(sent > 50, `only ${sent} bodies`);
      const a = await listAllTraces(viaHttp);
      const b = await listAllTraces(viaGrpc);
      assert.ok(a.length > 40);
      assert.equal(canon(b), canon(a), 'trace lists differ');
      for (const t of a) {
        assert.equal(canon(await getTrace(viaGrpc, t.trace_id)), canon(await getTrace(viaHttp, t.trace_id)), `trace ${t.trace_id}`);
        assert.equal(canon(await getTraceOtlp(viaGrpc, t.trace_id)), canon(await getTraceOtlp(viaHttp, t.trace_id)), `trace ${t.trace_id} (otlp)`);
      }
      assertHealthy(viaGrpc);
    } finally {
      c.close();
      await viaHttp.stop();
      await viaGrpc.stop();
    }
  });

  test('gzip-compressed messages (grpc-encoding: gzip)', async () => {
    const c = client(server, { 'grpc.default_compression_algorithm': 2, 'grpc.default_compression_level': 2 });
    try {
      const { body, traceId } = oneSpanRequest('gzipped');
      expectOk(await unary(c, TRACES, body));
      assert.ok(await traceStored(server, traceId));
      expectOk(await unary(c, TRACES, RAG()));
    } finally { c.close(); }
  });

  test('unknown methods and services are UNIMPLEMENTED', async () => {
    const c = client(server);
    try {
      for (const m of [
        '/opentelemetry.proto.collector.trace.v1.TraceService/Exports',
        '/opentelemetry.proto.collector.trace.v2.TraceService/Export',
        '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
        '/grpc.health.v1.Health/Check',
      ]) expectStatus(await unary(c, m, RAG()), S.UNIMPLEMENTED, /unknown method/);
    } finally { c.close(); }
  });

  test('undecodable bytes are INVALID_ARGUMENT', async () => {
    const c = client(server);
    try {
      expectStatus(await unary(c, TRACES, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])), S.INVALID_ARGUMENT, /decoded/);
      expectStatus(await unary(c, LOGS, Buffer.from('not protobuf at all, just text')), S.INVALID_ARGUMENT);
      const r = await unary(c, TRACES, Buffer.from([0xff]));
      expectStatus(r, S.INVALID_ARGUMENT);
      assert.equal(statusDetails(r.err), null, 'no retry info on a permanent error');
    } finally { c.close(); }
  });

  test('metrics are accepted (and dropped) with an empty response; empty requests are OK', async () => {
    const c = client(server);
    try {
      const r = await unary(c, METRICS, fixture('otel/rag-grpc/0003-metrics.grpc.bin'));
      expectOk(r);
      assert.equal(r.resp.length, 0);
      expectOk(await unary(c, TRACES, Buffer.alloc(0)));
      expectOk(await unary(c, LOGS, Buffer.alloc(0)));
    } finally { c.close(); }
  });

  test('partial success names the rejected spans', async () => {
    const c = client(server);
    try {
      const good = randomHex(16);
      const body = otlpPb.traceRequest([
        { traceId: Buffer.from(good, 'hex'), spanId: Buffer.from(randomHex(8), 'hex'), name: 'kept' },
        { traceId: Buffer.alloc(16), spanId: Buffer.from(randomHex(8), 'hex'), name: 'zero trace id' },
      ]);
      const r = await unary(c, TRACES, body);
      expectOk(r);
      const resp = decodeExportResponsePb(r.resp);
      assert.ok(resp.partialSuccess, `no partial_success in ${r.resp.toString('hex')}`);
      assert.equal(resp.partialSuccess.rejected, 1n);
      assert.match(resp.partialSuccess.errorMessage, /id/);
      assert.ok(await traceStored(server, good));
    } finally { c.close(); }
  });

  test('200 calls in parallel on one connection are all answered OK and stored', async () => {
    const s = await startServer();
    const c = client(s);
    try {
      const reqs = Array.from({ length: 200 }, (_, i) => oneSpanRequest(`parallel-${i}`, 'grpc-parallel'));
      const results = await Promise.all(reqs.map((q) => unary(c, TRACES, q.body)));
      results.forEach((r, i) => expectOk(r, `call ${i}`));
      const all = await listAllTraces(s, { service: 'grpc-parallel' });
      assert.equal(all.length, 200);
      assert.deepEqual(new Set(all.map((t) => t.trace_id)), new Set(reqs.map((q) => q.traceId)));
      assertHealthy(s);
    } finally {
      c.close();
      await s.stop();
    }
  });
});

describe('limits and tokens', () => {
  test('a message over --max-body is RESOURCE_EXHAUSTED without retry info', async () => {
    const s = await startServer({ args: ['--max-body', '1000'] });
    const c = client(s);
    try {
      const r = await unary(c, TRACES, RAG()); // 1946 bytes
      expectStatus(r, S.RESOURCE_EXHAUSTED, /size limit/);
      const d = statusDetails(r.err);
      assert.ok(d === null || d.details.every((x) => x.typeUrl !== RETRY_INFO), 'too large is not retryable');
      const small = oneSpanRequest('small');
      assert.ok(small.body.length < 1000);
      expectOk(await unary(c, TRACES, small.body));
      assert.ok(await traceStored(s, small.traceId));
      // the same over gzip: the limit holds after decompression too
      const gz = client(s, { 'grpc.default_compression_algorithm': 2 });
      const zeros = otlpPb.traceRequest([{ traceId: Buffer.from(randomHex(16), 'hex'), spanId: Buffer.from(randomHex(8), 'hex'), name: 'x'.repeat(5000) }]);
      assert.ok(zlib.gzipSync(zeros).length < 1000);
      expectStatus(await unary(gz, TRACES, zeros), S.RESOURCE_EXHAUSTED);
      gz.close();
      assertHealthy(s);
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('tenants: a call with one tenant\'s token is seen by that tenant\'s API token only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lt-grpc-tenants-'));
    fs.writeFileSync(path.join(dir, 'ingest'), 'grpc-in-acme acme\ngrpc-in-globex globex\n');
    fs.writeFileSync(path.join(dir, 'api'), 'grpc-api-acme acme\ngrpc-api-globex globex\n');
    const s = await startServer({ args: ['--ingest-tokens', path.join(dir, 'ingest'), '--api-tokens', path.join(dir, 'api')] });
    const c = client(s);
    try {
      const md = (v) => { const m = new grpc.Metadata(); m.set('authorization', v); return m; };
      const a = oneSpanRequest('acme-call');
      const g = oneSpanRequest('globex-call');
      expectOk(await unary(c, TRACES, a.body, { metadata: md('Bearer grpc-in-acme') }));
      expectOk(await unary(c, TRACES, g.body, { metadata: md('Bearer grpc-in-globex') }));
      const read = (token, id) => fetch(`${s.http}/api/traces/${id}`, { headers: { authorization: `Bearer ${token}` } })
        .then((r) => r.status);
      assert.equal(await read('grpc-api-acme', a.traceId), 200);
      assert.equal(await read('grpc-api-acme', g.traceId), 404);
      assert.equal(await read('grpc-api-globex', g.traceId), 200);
      assert.equal(await read('grpc-api-globex', a.traceId), 404);
    } finally {
      c.close();
      await s.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--ingest-token: missing or wrong token is UNAUTHENTICATED, the right one is stored', async () => {
    const s = await startServer({ args: ['--ingest-token', 'grpc-secret-1'] });
    const c = client(s);
    try {
      const md = (v) => { const m = new grpc.Metadata(); if (v) m.set('authorization', v); return m; };
      const q = oneSpanRequest('authorized');
      expectStatus(await unary(c, TRACES, q.body), S.UNAUTHENTICATED, /token/);
      expectStatus(await unary(c, TRACES, q.body, { metadata: md('Bearer grpc-secret-2') }), S.UNAUTHENTICATED);
      expectStatus(await unary(c, TRACES, q.body, { metadata: md('grpc-secret-1') }), S.UNAUTHENTICATED);
      expectStatus(await unary(c, TRACES, q.body, { metadata: md(`Bearer ${'a'.repeat(5000)}`) }), S.UNAUTHENTICATED);
      assert.equal(await traceStored(s, q.traceId), false);
      expectOk(await unary(c, TRACES, q.body, { metadata: md('Bearer grpc-secret-1') }));
      assert.ok(await traceStored(s, q.traceId));
      // the SDK exporter with the token as metadata
      const m = md('Bearer grpc-secret-1');
      const exporter = new OTLPTraceExporter({ url: `http://${s.grpcAddr}`, metadata: m });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const span = provider.getTracer('t').startSpan('sdk with token');
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
      assert.ok(await traceStored(s, span.spanContext().traceId));
    } finally {
      c.close();
      await s.stop();
    }
  });

  test('overload is RESOURCE_EXHAUSTED with RetryInfo (1 s) in grpc-status-details-bin', async () => {
    // --max-memory 4MiB leaves 2 MiB for requests held; 40 requests of ~400 KB at once
    const s = await startServer({ args: ['--max-memory', '4MiB'] });
    const c = client(s);
    try {
      const body = BIG();
      let busy = null;
      let ok = 0;
      for (let round = 0; round < 5 && !busy; round++) {
        const results = await Promise.all(Array.from({ length: 40 }, () => unary(c, TRACES, body)));
        for (const r of results) {
          if (!r.err) { ok++; continue; }
          expectStatus(r, S.RESOURCE_EXHAUSTED, /busy|memory/);
          busy = r;
        }
      }
      assert.ok(busy, 'no call was refused');
      assert.ok(ok > 0, 'no call was taken');
      const d = statusDetails(busy.err);
      assert.ok(d, 'no grpc-status-details-bin');
      assert.equal(d.code, S.RESOURCE_EXHAUSTED);
      const ri = d.details.find((x) => x.typeUrl === RETRY_INFO);
      assert.ok(ri, `no RetryInfo in ${JSON.stringify(d)}`);
      assert.deepEqual(ri.retryDelay, { seconds: 1, nanos: 0 });
      // and it recovers once the queue drains
      await waitFor(async () => !(await unary(c, TRACES, RAG())).err, 20_000, 'a call taken again');
      assertHealthy(s);
    } finally {
      c.close();
      await s.stop();
    }
  });
});

describe('raw HTTP/2', () => {
  let sess;
  before(() => { sess = h2connect(server); });
  after(() => { sess.close(); });

  test('a length prefix longer than the data, then END_STREAM, is INVALID_ARGUMENT', async () => {
    const msg = RAG();
    const r = await rawCall(sess, { body: frame(msg).subarray(0, 5 + msg.length - 10) });
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.status, S.INVALID_ARGUMENT);
    assert.match(decodeURIComponent(r.message), /length prefix/);
  });

  test('no message, two messages, a bad Compressed-Flag are INVALID_ARGUMENT', async () => {
    const msg = RAG();
    assert.equal((await rawCall(sess, {})).status, S.INVALID_ARGUMENT);
    assert.equal((await rawCall(sess, { body: Buffer.concat([frame(msg), frame(msg)]) })).status, S.INVALID_ARGUMENT);
    assert.equal((await rawCall(sess, { body: Buffer.concat([frame(msg), Buffer.from([0])]) })).status, S.INVALID_ARGUMENT);
    assert.equal((await rawCall(sess, { body: frame(msg, 2) })).status, S.INVALID_ARGUMENT);
  });

  test('Compressed-Flag 1 without grpc-encoding is INTERNAL (gRPC compression spec)', async () => {
    const r = await rawCall(sess, { body: frame(zlib.gzipSync(RAG()), 1) });
    assert.equal(r.status, S.INTERNAL);
    assert.match(decodeURIComponent(r.message), /Compressed-Flag/);
  });

  test('gzip by hand: grpc-encoding gzip with flag 1 is stored; flag 0 is taken as plain', async () => {
    const a = oneSpanRequest('hand-gzipped');
    const r = await rawCall(sess, { headers: { 'grpc-encoding': 'gzip' }, body: frame(zlib.gzipSync(a.body), 1) });
    assert.equal(r.status, S.OK);
    assert.equal(r.headers['content-type'], 'application/grpc');
    assert.deepEqual(r.body, Buffer.from([0, 0, 0, 0, 0]), 'an empty ExportTraceServiceResponse, length-prefixed');
    assert.ok(await traceStored(server, a.traceId));
    const b = oneSpanRequest('plain-under-gzip');
    assert.equal((await rawCall(sess, { headers: { 'grpc-encoding': 'gzip' }, body: frame(b.body, 0) })).status, S.OK);
    assert.ok(await traceStored(server, b.traceId));
    // a corrupt gzip body is bad data
    const bad = zlib.gzipSync(RAG());
    bad[bad.length - 5] ^= 0xff;
    assert.equal((await rawCall(sess, { headers: { 'grpc-encoding': 'gzip' }, body: frame(bad, 1) })).status, S.INVALID_ARGUMENT);
  });

  test('an unknown grpc-encoding is UNIMPLEMENTED and names the accepted ones', async () => {
    const r = await rawCall(sess, { headers: { 'grpc-encoding': 'snappy' }, body: frame(RAG(), 1) });
    assert.equal(r.status, S.UNIMPLEMENTED);
    assert.match(r.headers['grpc-accept-encoding'], /gzip/);
    assert.doesNotMatch(r.headers['grpc-accept-encoding'], /snappy/);
  });

  test('content types other than application/grpc get HTTP 415; other methods 405', async () => {
    for (const ct of ['text/plain', 'application/x-protobuf', 'application/grpcfoo']) {
      const r = await rawCall(sess, { headers: { 'content-type': ct }, body: frame(RAG()) });
      assert.equal(r.headers[':status'], 415, ct);
    }
    const r = await rawCall(sess, { headers: { 'content-type': 'application/grpc+json' }, body: frame(RAG()) });
    assert.equal(r.status, S.UNIMPLEMENTED);
    assert.equal((await rawCall(sess, { headers: { 'content-type': 'application/grpc+proto' }, body: frame(RAG()) })).status, S.OK);
    const g = await rawCall(sess, { method: 'PUT', body: frame(RAG()) });
    assert.equal(g.headers[':status'], 405);
  });

  test('a declared size over the limit is refused at once, before the message arrives', async () => {
    const p = Buffer.alloc(5);
    p.writeUInt32BE(1 << 30, 1); // 1 GiB declared, nothing sent
    const r = await rawCall(sess, { body: p, end: false, timeoutMs: 10_000 });
    assert.equal(r.status, S.RESOURCE_EXHAUSTED);
    assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'the stream is reset (NO_ERROR) after the answer');
  });

  test('grpc-timeout: a request still incomplete at its deadline is cancelled', async () => {
    const msg = RAG();
    const t0 = Date.now();
    const r = await rawCall(sess, { headers: { 'grpc-timeout': '300m' }, body: frame(msg).subarray(0, 100), end: false, timeoutMs: 10_000 });
    assert.equal(r.rstCode, http2.constants.NGHTTP2_CANCEL);
    assert.ok(Date.now() - t0 >= 250, 'cancelled before the deadline');
    // a complete request within its deadline is fine
    assert.equal((await rawCall(sess, { headers: { 'grpc-timeout': '10S' }, body: frame(msg) })).status, S.OK);
  });

  test('a stream reset by the client mid-request leaves the connection working', async () => {
    const msg = BIG();
    const s = h2connect(server);
    try {
      const req = s.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => {});
      req.write(frame(msg).subarray(0, 50_000));
      await sleep(50);
      req.close(http2.constants.NGHTTP2_CANCEL);
      // and others right after the whole message, before the answer
      for (let i = 0; i < 5; i++) {
        const q = s.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', te: 'trailers' });
        q.on('error', () => {});
        q.end(frame(msg));
        setImmediate(() => q.close(http2.constants.NGHTTP2_CANCEL));
      }
      const a = oneSpanRequest('after-reset');
      assert.equal((await rawCall(s, { body: frame(a.body) })).status, S.OK);
      assert.ok(await traceStored(server, a.traceId));
      assertHealthy(server);
    } finally { s.close(); }
  });

  test('a connection closed with requests in flight: the server goes on', async () => {
    const msg = BIG();
    for (let k = 0; k < 3; k++) {
      const s = h2connect(server);
      for (let i = 0; i < 8; i++) {
        const q = s.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc', te: 'trailers' });
        q.on('error', () => {});
        q.end(frame(msg));
      }
      await sleep(k * 20);
      s.destroy();
    }
    await sleep(200);
    const a = oneSpanRequest('after-close');
    const s2 = h2connect(server);
    try {
      assert.equal((await rawCall(s2, { body: frame(a.body) })).status, S.OK);
      assert.ok(await traceStored(server, a.traceId));
    } finally { s2.close(); }
    assertHealthy(server);
  });

  test('bytes that are not HTTP/2 get the connection closed; the server goes on', async () => {
    const [host, port] = server.grpcAddr.split(':');
    for (const junk of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n', '\x00'.repeat(100)]) {
      const closed = await new Promise((resolve) => {
        const sock = net.connect(Number(port), host, () => sock.write(junk));
        const timer = setTimeout(() => { sock.destroy(); resolve(false); }, 10_000);
        sock.on('data', () => {});
        sock.on('error', () => {});
        sock.on('close', () => { clearTimeout(timer); resolve(true); });
      });
      assert.ok(closed, `connection not closed after ${JSON.stringify(junk.slice(0, 20))}`);
    }
    const c = client(server);
    try { expectOk(await unary(c, TRACES, RAG())); } finally { c.close(); }
    assertHealthy(server);
  });
});

describe('stopping', () => {
  test('SIGTERM with calls in flight: every acknowledged call is stored', async () => {
    const s = await startServer({ keepData: true });
    const dataDir = s.dataDir;
    const c = client(s);
    let ok = [];
    try {
      // ~150 KB each: some are still arriving or queued when the signal comes
      const reqs = Array.from({ length: 40 }, (_, i) => oneSpanRequest(`in-flight-${i}`, 'grpc-stop', 500));
      const calls = reqs.map((q) => unary(c, TRACES, q.body, { deadlineMs: 20_000 }).then((r) => ({ r, q })));
      await calls[0];
      const stopping = s.stop({ keep: true });
      const done = await Promise.all(calls);
      await stopping;
      ok = done.filter((d) => !d.r.err).map((d) => d.q.traceId);
      for (const d of done) if (d.r.err) assert.ok([S.UNAVAILABLE, S.CANCELLED, S.INTERNAL].includes(d.r.err.code), `${S[d.r.err.code]} ${d.r.err.details}`);
      assert.ok(ok.length >= 1);
      process.stderr.write(`# stopping: ${ok.length} of ${done.length} calls acknowledged; ${done.filter((d) => d.r.err).map((d) => `${S[d.r.err.code]} ${d.r.err.details}`).slice(0, 3).join(" / ")}\n`);
    } finally { c.close(); }
    const again = await startServer({ dataDir });
    try {
      const stored = new Set((await listAllTraces(again, { service: 'grpc-stop' })).map((t) => t.trace_id));
      for (const id of ok) assert.ok(stored.has(id), `acknowledged trace ${id} is not stored`);
    } finally {
      await again.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the listening line', () => {
  test('names the bound gRPC address; --otlp-grpc off turns it off', async () => {
    assert.match(server.grpcAddr, /^127\.0\.0\.1:[1-9]\d*$/);
    const s = await startServer({ args: ['--otlp-grpc', 'off'] });
    try { assert.equal(s.grpcAddr, 'off'); } finally { await s.stop(); }
    const ok = await getOk(server.http, '/api/services');
    assert.ok(ok);
  });
});
