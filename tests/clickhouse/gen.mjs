// gen.mjs — generated GenAI traces for the ClickHouse tests, and the check that a server
// gives them back exactly as they were sent.
//
// A trace has a root span and a few children: LLM calls (chat, embeddings) with the
// OpenTelemetry GenAI attributes (provider, request and response model, tokens, cached
// tokens, time to first chunk, conversation, user, agent), tool calls, retrievals, a call
// to a second service (CLIENT -> SERVER), errors with messages and exception events, long
// prompts for the free-text search, and attributes of every type. Everything comes from a
// seeded generator, so a failing run can be replayed; ids are unique per generator seed.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { anyValueToPlain, flattenOtlp, getJson, otlpPb, post, rng32 } from '../integration/lib.mjs';

const SERVICES = ['support-bot', 'rag-api', 'planner', 'coder'];
const ROOTS = ['POST /ask', 'invoke_agent planner', 'workflow nightly-digest', 'POST /v1/chat', 'GET /health'];
const MODELS = [
  { provider: 'openai', request: 'gpt-4o-mini', response: 'gpt-4o-mini-2024-07-18' },
  { provider: 'openai', request: 'gpt-4o', response: 'gpt-4o-2024-08-06' },
  { provider: 'anthropic', request: 'claude-3-5-sonnet-20241022', response: 'claude-3-5-sonnet-20241022' },
  { provider: 'acme-ai', request: 'acme-large', response: 'acme-large-v2' }, // no price: cost unknown
];
const TOOLS = ['search_code', 'read_file', 'lookup_order', 'send_email'];
const AGENTS = ['planner', 'coder', 'support-agent'];
const PROMPTS = [
  'Where is my order #48213? It was supposed to arrive on Tuesday and the tracking page shows nothing.',
  'Summarise the incident report for the payments outage and list the follow-up actions with owners.',
  'How do I rotate an API key without downtime for the services that read it at start only?',
  'Écris un résumé du rapport trimestriel pour le café de la gare, en trois phrases au plus.',
];
const ANSWERS = [
  'Order #48213 is with the carrier and should arrive by Thursday; reply here if it does not.',
  'The outage came from an expired certificate on the card gateway; renewals are now monitored.',
  'Create the new key, deploy it beside the old one, restart readers one by one, then revoke the old key.',
];

function hexOf(rand, bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
}

/**
 * Seeded traces. baseNs (BigInt): the earliest start; spreadNs: starts fall in
 * [baseNs, baseNs + spreadNs). Each span: { traceId, spanId, parentSpanId, name, kind,
 * service, start, end (BigInt), attrs: { key: value }, status: { code, message },
 * events: [{ time, name, attrs }] }; attribute values are strings, integers (intValue),
 * non-integral numbers (doubleValue), booleans and arrays of strings.
 */
export class TraceGen {
  constructor(seed, { baseNs, spreadNs }) {
    this.rand = rng32(seed);
    this.seed = seed;
    this.baseNs = BigInt(baseNs);
    this.spreadNs = BigInt(spreadNs);
    this.n = 0;
  }

  pick(list) { return list[Math.floor(this.rand() * list.length)]; }
  int(lo, hi) { return lo + Math.floor(this.rand() * (hi - lo + 1)); }

  /** One trace: { traceId, spans, logs }. */
  trace() {
    const r = this.rand;
    const no = ++this.n;
    const traceId = hexOf(r, 16);
    const service = this.pick(SERVICES);
    const start = this.baseNs + BigInt(Math.floor(r() * Number(this.spreadNs / 1000n))) * 1000n;
    const conversation = r() < 0.6 ? `conv-${this.seed}-${this.int(1, 40)}` : null;
    const user = r() < 0.7 ? `user-${this.int(1, 25)}` : null;
    const agent = r() < 0.5 ? this.pick(AGENTS) : null;
    const spans = [];
    const logs = [];
    const rootId = hexOf(r, 8);
    const rootName = this.pick(ROOTS);
    let cursor = start + BigInt(this.int(1, 50)) * 1_000_000n;
    const children = this.int(0, 6);
    const add = (s) => { spans.push({ traceId, events: [], status: { code: 0, message: '' }, ...s }); return s; };
    for (let i = 0; i < children; i++) {
      const spanId = hexOf(r, 8);
      const dur = BigInt(this.int(2, 4000)) * 1_000_000n + BigInt(this.int(0, 999_999));
      const kindOf = r();
      const common = { 'lt.gen.trace': no, 'lt.gen.step': i };
      if (user) common['user.id'] = user;
      if (conversation) common['gen_ai.conversation.id'] = conversation;
      if (agent) common['gen_ai.agent.name'] = agent;
      let s;
      if (kindOf < 0.5) {
        const m = this.pick(MODELS);
        const input = this.int(20, 3000);
        const output = this.int(1, 800);
        const attrs = {
          ...common,
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': m.provider,
          'gen_ai.request.model': m.request,
          'gen_ai.response.model': m.response,
          'gen_ai.usage.input_tokens': input,
          'gen_ai.usage.output_tokens': output,
          'gen_ai.response.finish_reasons': [this.pick(['stop', 'length', 'tool_call'])],
          'gen_ai.request.temperature': this.int(0, 10) / 10 + 0.05,
        };
        if (r() < 0.3) attrs['gen_ai.usage.cache_read.input_tokens'] = Math.floor(input / 2);
        if (r() < 0.5) attrs['gen_ai.response.time_to_first_chunk'] = this.int(50, 2000) / 1000 + 0.0005;
        if (r() < 0.6) {
          attrs['gen_ai.input.messages'] = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: this.pick(PROMPTS) }] }]);
          attrs['gen_ai.output.messages'] = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: this.pick(ANSWERS) }], finish_reason: 'stop' }]);
        }
        s = { name: `chat ${m.request}`, kind: 3, attrs };
      } else if (kindOf < 0.65) {
        s = {
          name: 'embeddings text-embedding-3-small',
          kind: 3,
          attrs: { ...common, 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': this.int(5, 400) },
        };
      } else if (kindOf < 0.8) {
        const tool = this.pick(TOOLS);
        s = {
          name: `execute_tool ${tool}`,
          kind: 1,
          attrs: { ...common, 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': `call_${hexOf(r, 6)}`, 'lt.cached': r() < 0.5 },
        };
      } else if (kindOf < 0.9) {
        s = {
          name: 'retrieval kb',
          kind: 1,
          attrs: { ...common, 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'kb', 'db.system': 'qdrant', 'lt.hits': this.int(0, 9) },
        };
      } else {
        // a call to another service: the CLIENT span here, its SERVER span there
        const other = this.pick(SERVICES.filter((x) => x !== service));
        const serverId = hexOf(r, 8);
        add({ spanId: serverId, parentSpanId: spanId, name: 'POST /v1/tasks', kind: 2, service: other, start: cursor + 1_000_000n, end: cursor + dur - 1_000_000n, attrs: { 'http.request.method': 'POST', 'http.response.status_code': 200 } });
        s = { name: 'POST', kind: 3, attrs: { 'http.request.method': 'POST', 'server.address': `${other}.internal` } };
      }
      Object.assign(s, { spanId, parentSpanId: rootId, service, start: cursor, end: cursor + dur });
      if (r() < 0.1) {
        s.status = { code: 2, message: this.pick(['rate limited', 'upstream timeout', 'tool failed: permission denied']) };
        s.events = [{ time: cursor + dur / 2n, name: 'exception', attrs: { 'exception.type': 'UpstreamError', 'exception.message': `${s.status.message} after ${this.int(1, 5)} attempts` } }];
      } else if (r() < 0.2) {
        s.status = { code: 1, message: '' };
      }
      add(s);
      if (r() < 0.25) {
        logs.push({ traceId, spanId, service, time: cursor + 500_000n, severity: this.pick([9, 13, 17]), body: `step ${i} of trace ${no}: ${this.pick(ANSWERS)}` });
      }
      cursor += dur + BigInt(this.int(0, 30)) * 1_000_000n;
    }
    const rootAttrs = { 'lt.gen.trace': no, 'deployment.region': this.pick(['eu-west-1', 'us-east-1']) };
    if (user) rootAttrs['user.id'] = user;
    if (rootName.startsWith('invoke_agent')) Object.assign(rootAttrs, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' });
    const rootErr = spans.some((s) => s.status.code === 2) && r() < 0.5;
    spans.unshift({
      traceId, spanId: rootId, parentSpanId: null, name: rootName, kind: 2, service,
      start, end: cursor + BigInt(this.int(1, 20)) * 1_000_000n, attrs: rootAttrs,
      status: rootErr ? { code: 2, message: 'request failed' } : { code: 0, message: '' }, events: [],
    });
    return { traceId, spans, logs };
  }
}

const anyValue = (v) => {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
};
const pbValue = (v) => {
  if (typeof v === 'string') return otlpPb.anyString(v);
  if (typeof v === 'boolean') return otlpPb.anyBool(v);
  if (Array.isArray(v)) return otlpPb.anyArray(v.map(pbValue));
  return Number.isInteger(v) ? otlpPb.anyInt(v) : otlpPb.anyDouble(v);
};
const kvs = (attrs) => Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
const byService = (items) => {
  const m = new Map();
  for (const x of items) {
    if (!m.has(x.service)) m.set(x.service, []);
    m.get(x.service).push(x);
  }
  return m;
};

/** ExportTraceServiceRequest of spans (one resource per service): { body, headers };
 * protobuf when proto, else OTLP/JSON. */
export function tracesRequest(spans, { proto = false } = {}) {
  const groups = [...byService(spans)];
  if (proto) {
    const pb = (s) => otlpPb.span({
      traceId: Buffer.from(s.traceId, 'hex'),
      spanId: Buffer.from(s.spanId, 'hex'),
      parentSpanId: s.parentSpanId ? Buffer.from(s.parentSpanId, 'hex') : undefined,
      name: s.name,
      kind: s.kind,
      start: s.start,
      end: s.end,
      attrs: Object.entries(s.attrs).map(([k, v]) => [k, pbValue(v)]),
      status: s.status.code || s.status.message ? s.status : undefined,
      events: s.events.map((e) => ({ time: e.time, name: e.name, attrs: Object.entries(e.attrs).map(([k, v]) => [k, pbValue(v)]) })),
    });
    const body = Buffer.concat(groups.map(([service, list]) => otlpPb.traceRequest(list.map(pb), { service, scope: 'lt-gen', scopeVersion: '1.0' })));
    return { body, headers: { 'content-type': 'application/x-protobuf' } };
  }
  const body = JSON.stringify({
    resourceSpans: groups.map(([service, list]) => ({
      resource: { attributes: kvs({ 'service.name': service }) },
      scopeSpans: [{
        scope: { name: 'lt-gen', version: '1.0' },
        spans: list.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: String(s.start),
          endTimeUnixNano: String(s.end),
          attributes: kvs(s.attrs),
          events: s.events.map((e) => ({ timeUnixNano: String(e.time), name: e.name, attributes: kvs(e.attrs) })),
          ...(s.status.code || s.status.message ? { status: s.status } : {}),
        })),
      }],
    })),
  });
  return { body, headers: { 'content-type': 'application/json' } };
}

/** ExportLogsServiceRequest (OTLP/JSON) of log records carrying trace and span ids. */
export function logsRequest(logs) {
  const body = JSON.stringify({
    resourceLogs: [...byService(logs)].map(([service, list]) => ({
      resource: { attributes: kvs({ 'service.name': service }) },
      scopeLogs: [{
        scope: { name: 'lt-gen' },
        logRecords: list.map((l) => ({
          timeUnixNano: String(l.time),
          severityNumber: l.severity,
          body: { stringValue: l.body },
          traceId: l.traceId,
          spanId: l.spanId,
        })),
      }],
    })),
  });
  return { body, headers: { 'content-type': 'application/json' } };
}

/** What ?format=otlp must give back for a sent span (a comparable plain object). */
export function sentView(s) {
  return {
    service: s.service,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId || '',
    name: s.name,
    kind: s.kind,
    start: String(s.start),
    end: String(s.end),
    attrs: s.attrs,
    status: { code: s.status.code, message: s.status.message },
    events: s.events.map((e) => ({ time: String(e.time), name: e.name, attrs: e.attrs })),
  };
}

/** The same view of a span of an OTLP/JSON export (flattenOtlp's items). */
export function storedView({ resource, span }) {
  const plain = (list) => Object.fromEntries((list || []).map((kv) => [kv.key, anyValueToPlain(kv.value)]));
  return {
    service: plain(resource.attributes)['service.name'],
    spanId: String(span.spanId).toLowerCase(),
    parentSpanId: String(span.parentSpanId || '').toLowerCase(),
    name: span.name,
    kind: span.kind,
    start: String(span.startTimeUnixNano),
    end: String(span.endTimeUnixNano),
    attrs: plain(span.attributes),
    status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
    events: (span.events || []).map((e) => ({ time: String(e.timeUnixNano), name: e.name, attrs: plain(e.attributes) })),
  };
}

/**
 * Reads every trace of traces ([{ traceId, spans }]) from server as OTLP and returns the
 * problems: a trace missing, a span missing, added or twice, a span not as sent, the
 * trace's summary span count not its spans. width requests at once. For the traces in
 * retried (ids of traces whose request was answered "retry" after a failed write), identical
 * copies of a span count once.
 */
export async function storedAsSent(server, traces, { width = 8, retried = new Set() } = {}) {
  const problems = [];
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < traces.length) {
      const t = traces[i++];
      const r = await getJson(server.http, `/api/traces/${t.traceId}?format=otlp`);
      if (r.status !== 200) {
        problems.push(`trace ${t.traceId}: ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      let got = flattenOtlp(r.json).map(storedView).sort((a, b) => a.spanId.localeCompare(b.spanId));
      // a request answered "retry" after a failed write may have been stored by ClickHouse
      // all the same (its answer lost): its retry then stores identical copies
      if (retried.has(t.traceId)) {
        const seen = new Set();
        got = got.filter((v) => { const k = JSON.stringify(v); return !seen.has(k) && seen.add(k); });
      }
      const want = t.spans.map(sentView).sort((a, b) => a.spanId.localeCompare(b.spanId));
      try {
        assert.deepEqual(got, want);
      } catch (e) {
        problems.push(`trace ${t.traceId}: stored spans differ from the sent ones: ${e.message.slice(0, 1500)}`);
      }
    }
  }));
  return problems;
}

// ---------------------------------------------------------------------------------------
// Comparing answers

const QUANTILE = /^(duration_p\d+_ns|ttft_p\d+_s)$/;
const TOKEN = /^(next_cursor|next)$/;

/**
 * Differences between two API answers a and b, as "path: a vs b" lines (at most 40).
 * Allowed, and only these: latency quantiles (duration_p*_ns, ttft_p*_s) within 5%;
 * non-integral numbers (costs) within 1e-9 relative, the same floating-point values summed
 * in another order; opaque position tokens (next_cursor, next) only need to agree on
 * whether there is more. only: 'exact' leaves the quantiles out, 'quantiles' compares
 * nothing else.
 */
export function differences(a, b, only = 'all', where = '$', out = [], key = '') {
  if (out.length >= 40) return out;
  const isQuantile = QUANTILE.test(key);
  if (only === 'exact' && isQuantile) return out;
  const show = (v) => JSON.stringify(v)?.slice(0, 300);
  if (TOKEN.test(key)) {
    if ((a === null || a === undefined || a === '') !== (b === null || b === undefined || b === '')) {
      out.push(`${where}: ${show(a)} vs ${show(b)} (one says there is more, the other not)`);
    }
    return out;
  }
  if (isQuantile && a !== null && b !== null && a !== undefined && b !== undefined) {
    const x = Number(a);
    const y = Number(b);
    if (!(Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= 0.05 * Math.max(Math.abs(x), Math.abs(y)))) {
      out.push(`${where}: ${show(a)} vs ${show(b)} (quantiles more than 5% apart)`);
    }
    return out;
  }
  const leaf = (x) => x === null || typeof x !== 'object';
  if (only === 'quantiles' && !isQuantile && leaf(a) && leaf(b)) return out;
  if (typeof a === 'number' && typeof b === 'number' && !(Number.isInteger(a) && Number.isInteger(b))) {
    if (Math.abs(a - b) > 1e-9 * Math.max(Math.abs(a), Math.abs(b))) out.push(`${where}: ${a} vs ${b}`);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${where}: ${a.length} items vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) differences(a[i], b[i], only, `${where}[${i}]`, out, key);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a) || !(k in b)) out.push(`${where}.${k}: ${k in a ? show(a[k]) : 'absent'} vs ${k in b ? show(b[k]) : 'absent'}`);
      else differences(a[k], b[k], only, `${where}.${k}`, out, k);
    }
    return out;
  }
  if (a !== b) out.push(`${where}: ${show(a)} vs ${show(b)}`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Senders that retry like an OTLP SDK

// @grpc/grpc-js is installed with the integration tests' packages
const grpc = createRequire(new URL('../integration/package.json', import.meta.url))('@grpc/grpc-js');
export const GRPC_TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const RETRYABLE_GRPC = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

export function grpcClient(server) {
  return new grpc.Client(server.grpcAddr, grpc.credentials.createInsecure());
}

/** One unary Export call of a protobuf body; resolves { code, details } (0 = OK). */
export function grpcExport(client, body, { deadlineMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(GRPC_TRACES, (b) => b, (b) => b, body, new grpc.Metadata(), { deadline: Date.now() + deadlineMs },
      (err) => resolve(err ? { code: err.code, details: err.details, name: grpc.status[err.code] } : { code: 0 }));
  });
}

/**
 * Sends one request until it is acknowledged, as an OTLP exporter does: a retryable answer
 * (HTTP 429/503, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED) is retried after Retry-After (at most
 * a second) or an exponential backoff from 50 ms; anything else ends the attempt. Counts
 * into stats { refused, bad: [] }. Resolves true when acknowledged, false when it gave up
 * (a non-retryable answer, or refused once expired() says so).
 */
export async function sendUntilAcked({ server, grpcClient: gc, body, headers, stats, expired, tally = {} }) {
  let backoff = 50;
  tally.writeFailed = 0;
  for (;;) {
    let retryAfterMs = 0;
    if (gc) {
      const r = await grpcExport(gc, body, { deadlineMs: 30_000 });
      if (r.code === 0) return true;
      if (!RETRYABLE_GRPC.has(r.code)) {
        stats.bad.push(`gRPC ${r.name}: ${r.details}`);
        return false;
      }
      if (r.code === grpc.status.UNAVAILABLE) tally.writeFailed++;
    } else {
      let r;
      try {
        r = await post(server.otlp, '/v1/traces', body, headers, { timeoutMs: 30_000 });
      } catch (e) {
        stats.bad.push(`HTTP: ${e.message.slice(0, 200)}`);
        return false;
      }
      if (r.status === 200) return true;
      if (r.status !== 429 && r.status !== 503) {
        stats.bad.push(`HTTP ${r.status}: ${r.text().slice(0, 200)}`);
        return false;
      }
      if (r.headers['retry-after'] === undefined) stats.bad.push(`HTTP ${r.status} without Retry-After`);
      if (r.status === 503) tally.writeFailed++;
      retryAfterMs = Math.min(1000, Number(r.headers['retry-after']) * 1000 || 0);
    }
    stats.refused++;
    if (expired()) {
      stats.bad.push('still refused at the end of the test');
      return false;
    }
    await new Promise((res) => setTimeout(res, Math.max(retryAfterMs, backoff) * (0.5 + Math.random() / 2)));
    backoff = Math.min(1000, backoff * 2);
  }
}
