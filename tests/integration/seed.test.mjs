// seed.test.mjs — the seed configuration (tests/data/config/seed.yaml: transform
// masking, tail sampling of all errors and 10% of the rest, the spanmetrics connector, an
// OTLP exporter to "jaeger" and Prometheus remote write), with only its endpoints pointed
// at this test's servers, run as written: a second llmtrace is the jaeger (OTLP/gRPC
// target) and Debian's Prometheus, started here with its remote write receiver, both
// receives the remote-written series and scrapes llmtrace's /metrics.
//
// Sent: traces made with the official OpenTelemetry JS SDK over OTLP/gRPC (a quarter of
// them with an error, every prompt carrying an id number the transform masks), and every
// captured fixture trace body of the four instrumentation libraries.
// Checked: the jaeger holds every error trace, about 10% of the others, whole, and the
// same traces as llmtrace's own store (the configuration stores what it forwards); no
// stored or forwarded prompt holds the pattern; PromQL over the remote-written and over
// the scraped series gives, per model, the tokens of the traces that went through; OTLP
// metrics an application sends (the SDK's gRPC metric exporter) reach Prometheus through the
// metrics pipeline, translated as the collector's prometheusremotewrite exporter does.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

import {
  traceIdSet,
  freePort, getOk, loadScenarios, makeTempDir, promQuery, removeDir, startPrometheus,
  startServer, waitFor,
} from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEED = fs.readFileSync(path.resolve(here, '../data/config/seed.yaml'), 'utf8');
const ID_PATTERN = /\b\d{6}-\d{7}\b/;
const MODELS = [['seed-model-a', 'openai'], ['seed-model-b', 'anthropic']];
const N_TRACES = 400;

let dir;
let jaeger;
let main;
let prom;
const sent = { errors: new Set(), others: new Set(), tokens: new Map() }; // traceId -> {model, input, output}

before(async () => {
  dir = makeTempDir('lt-seed-');
  jaeger = await startServer();
  const promPort = await freePort();
  const config = SEED
    .replace('grpc: { endpoint: 127.0.0.1:4317 }', 'grpc: { endpoint: 127.0.0.1:0 }')
    .replace('http://127.0.0.1:9090/api/v1/write', `http://127.0.0.1:${promPort}/api/v1/write`)
    .replace('endpoint: "127.0.0.1:14317"', `endpoint: "${jaeger.grpcAddr}"`);
  // only the three endpoints differ from the seed file
  const changed = SEED.split('\n').filter((l, i) => l !== config.split('\n')[i]);
  assert.equal(changed.length, 3, changed.join('\n'));
  const file = path.join(dir, 'seed.yaml');
  fs.writeFileSync(file, config);
  main = await startServer({ args: ['--config', file] });
  prom = await startPrometheus({ port: promPort, targets: [main.httpAddr] });
});

after(async () => {
  if (prom) await prom.stop();
  if (main) await main.stop();
  if (jaeger) await jaeger.stop();
  removeDir(dir);
});

function idNumber(i) {
  return `${String(100000 + ((i * 7919) % 900000)).padStart(6, '0')}-${String(1000000 + ((i * 104729) % 9000000))}`;
}

async function sendSdkTraces() {
  const exporter = new OTLPTraceExporter({ url: `http://${main.grpcAddr}`, timeoutMillis: 15_000 });
  const results = [];
  const recording = {
    export(spans, done) { exporter.export(spans, (r) => { results.push(r); done(r); }); },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'seed-app' }),
    spanProcessors: [new BatchSpanProcessor(recording, { maxExportBatchSize: 200, scheduledDelayMillis: 50 })],
  });
  const tracer = provider.getTracer('seed-test', '1.0.0');
  for (let i = 0; i < N_TRACES; i++) {
    const [model, system] = MODELS[i % 2];
    const isError = i % 4 === 0;
    const root = tracer.startSpan('agent.run', { kind: SpanKind.INTERNAL });
    const ctx = trace.setSpan(context.active(), root);
    const input = 100 + i;
    const output = 10 + (i % 7);
    const chat = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.system': system, // the deprecated name; the dimension resolves through the view
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': model,
        'gen_ai.usage.input_tokens': input,
        'gen_ai.usage.output_tokens': output,
        'gen_ai.content.prompt': `customer ${idNumber(i)} asks about order ${i}`,
      },
    }, ctx);
    if (isError) chat.setStatus({ code: SpanStatusCode.ERROR, message: 'provider error' });
    chat.end();
    root.end();
    const id = root.spanContext().traceId;
    (isError ? sent.errors : sent.others).add(id);
    sent.tokens.set(id, { model, input, output });
  }
  await provider.forceFlush();
  await provider.shutdown();
  assert.ok(results.length > 0);
  for (const r of results) assert.equal(r.code, 0, `export failed: ${r.error}`);
}

// Every captured trace body, as the libraries' gRPC exporters send it.
async function sendFixtures() {
  const client = new grpc.Client(main.grpcAddr, grpc.credentials.createInsecure());
  const ident = (x) => x;
  try {
    for (const sc of loadScenarios()) {
      for (const f of sc.files.filter((x) => x.signal === 'traces' && x.name.endsWith('.pb'))) {
        const body = fs.readFileSync(f.path);
        await new Promise((resolve, reject) => {
          client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export',
            ident, ident, body, new grpc.Metadata(), { deadline: Date.now() + 15_000 },
            (err) => (err ? reject(err) : resolve()));
        });
      }
    }
  } finally {
    client.close();
  }
}

async function promSumByModel(query) {
  const m = new Map();
  for (const r of await promQuery(prom, query)) m.set(r.metric.gen_ai_request_model, r.value);
  return m;
}

describe('the seed configuration, as written', () => {
  let forwarded;

  test('traces reach the jaeger: all errors, about 10% of the rest, masked', async () => {
    await sendSdkTraces();
    await sendFixtures();
    // decision_wait is 10s: wait for every error trace to be decided and forwarded
    await waitFor(async () => {
      forwarded = await traceIdSet(jaeger);
      return [...sent.errors].every((id) => forwarded.has(id));
    }, 60_000, 'the error traces at the jaeger');
    // and for the stores to settle (every decision made)
    let stable = 0;
    let last = -1;
    await waitFor(async () => {
      forwarded = await traceIdSet(jaeger);
      stable = forwarded.size === last ? stable + 1 : 0;
      last = forwarded.size;
      return stable >= 3;
    }, 30_000, 'the jaeger to settle');
    const kept = [...sent.others].filter((id) => forwarded.has(id)).length;
    // 10% of 300 is 30 (binomial sd 5.2)
    assert.ok(kept >= 10 && kept <= 55, `kept ${kept} of ${sent.others.size} non-error traces`);
    // whole traces; no prompt holds the id pattern, and the masked prompt is there
    let masked = 0;
    for (const id of forwarded) {
      for (const server of [jaeger, main]) {
        const t = await getOk(server.http, `/api/traces/${id}?format=otlp`);
        const text = JSON.stringify(t);
        assert.doesNotMatch(text, ID_PATTERN, `trace ${id} holds an unmasked id`);
        if (sent.tokens.has(id)) {
          const spans = t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
          assert.equal(spans.length, 2, `trace ${id} is whole`);
          if (text.includes('customer *** asks')) masked++;
        }
      }
    }
    assert.ok(masked >= 2 * (sent.errors.size + kept), `masked prompts: ${masked}`);
    // the configuration stores what it forwards (no pipeline names llmtrace)
    assert.deepEqual([...await traceIdSet(main)].sort(), [...forwarded].sort());
  });

  test('PromQL over the remote-written and the scraped series gives the tokens per model', async () => {
    assert.ok(forwarded, 'needs the traces of the previous test');
    const want = new Map(MODELS.map(([m]) => [m, { input: 0, output: 0 }]));
    for (const [id, t] of sent.tokens) {
      if (!forwarded.has(id)) continue;
      want.get(t.model).input += t.input;
      want.get(t.model).output += t.output;
    }
    for (const [source, sel] of [['remote write', 'job!="llmtrace"'], ['scrape', 'job="llmtrace"']]) {
      // remote write sends every 15s (metrics_flush_interval): wait for a flush after the last trace
      await waitFor(async () => {
        const got = await promSumByModel(`sum by (gen_ai_request_model) (gen_ai_gen_ai_usage_input_tokens_total{${sel}})`);
        return MODELS.every(([m]) => got.get(m) === want.get(m).input);
      }, 60_000, `${source}: input tokens per model ${JSON.stringify([...want])}`);
      const out = await promSumByModel(`sum by (gen_ai_request_model) (gen_ai_gen_ai_usage_output_tokens_total{${sel}})`);
      for (const [m] of MODELS) assert.equal(out.get(m), want.get(m).output, `${source}: output tokens of ${m}`);
      // the gen_ai.system dimension is filled from the view, canonical values
      const sys = await promQuery(prom, `sum by (gen_ai_system, gen_ai_request_model) (gen_ai_calls_total{${sel}, span_name=~"chat seed-model-.*"})`);
      const bySys = Object.fromEntries(sys.map((r) => [r.metric.gen_ai_request_model, r.metric.gen_ai_system]));
      assert.deepEqual(bySys, { 'seed-model-a': 'openai', 'seed-model-b': 'anthropic' });
    }
    // every model's tokens (the fixtures' too) agree with what the jaeger's own summary says
    const summary = await getOk(jaeger.http, '/api/genai/summary?start=0&group_by=model');
    const total = summary.groups.reduce((s, g) => s + g.input_tokens, 0);
    const promTotal = (await promQuery(prom, 'sum(gen_ai_gen_ai_usage_input_tokens_total{job!="llmtrace"})'))[0].value;
    assert.equal(promTotal, total);
  });

  test('OTLP metrics the application sends reach Prometheus through the metrics pipeline', async () => {
    const exporter = new OTLPMetricExporter({ url: `http://${main.grpcAddr}`, timeoutMillis: 15_000 });
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'seed-metrics-app', 'service.namespace': 'shop' }),
      readers: [reader],
    });
    const meter = provider.getMeter('seed-test');
    const requests = meter.createCounter('seed.app.requests', { unit: '{request}' });
    requests.add(4, { route: '/chat' });
    requests.add(3, { route: '/chat' });
    requests.add(2, { route: '/embed' });
    const latency = meter.createHistogram('seed.app.latency', { unit: 's' });
    for (const v of [0.05, 0.2, 1.5]) latency.record(v, { route: '/chat' });
    await provider.forceFlush();
    await provider.shutdown();
    // the collector's translation: a monotonic counter is NAME_total, job is namespace/name
    await waitFor(async () => {
      const r = await promQuery(prom, 'seed_app_requests_total{job="shop/seed-metrics-app"}');
      return r.length === 2;
    }, 30_000, 'the application counter in Prometheus');
    const byRoute = Object.fromEntries((await promQuery(prom, 'seed_app_requests_total')).map((r) => [r.metric.route, r.value]));
    assert.deepEqual(byRoute, { '/chat': 7, '/embed': 2 });
    const count = await promQuery(prom, 'seed_app_latency_seconds_count{route="/chat"}');
    assert.equal(count.length, 1);
    assert.equal(count[0].value, 3);
    const sum = await promQuery(prom, 'seed_app_latency_seconds_sum{route="/chat"}');
    assert.ok(Math.abs(sum[0].value - 1.75) < 1e-9, String(sum[0].value));
  });
});
