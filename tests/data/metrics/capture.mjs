// capture.mjs — regenerates the OTLP metrics captures of this folder with the official
// OpenTelemetry JS SDK (@opentelemetry/sdk-metrics) and its two OTLP/HTTP metric exporters.
//
//   npm ci && node capture.mjs [OUTDIR]       (OUTDIR defaults to this folder)
//
// One MeterProvider records a fixed set of measurements on every kind of instrument the SDK
// has (counter, up-down counter, histogram, gauge, and the observable counter, up-down
// counter and gauge), with a view that turns one histogram into an exponential histogram.
// Two readers collect the same measurements, one with cumulative and one with delta
// temporality; each collection is exported once by the protobuf exporter and once by the
// JSON exporter, to a capture server on loopback, so that
//   cumulative.pb / cumulative.json   hold the same data, cumulative;
//   delta.pb / delta.json             hold the same data, delta (sums and histograms).
// Timestamps are the run's; every value and attribute is fixed, so a new capture changes
// only the times. The unit tests (tests/unit/test_metrics.c) rely on the values below.
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ValueType } from '@opentelemetry/api';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';

const outDir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));

// A reader whose collections are exported by hand (no timer).
class CaptureReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

// The capture server: every POST body, in arrival order, with its content type.
const bodies = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    bodies.push({ type: req.headers['content-type'], body: Buffer.concat(chunks) });
    res.writeHead(200, { 'content-type': req.headers['content-type'] });
    res.end(req.headers['content-type'].includes('json') ? '{}' : '');
  });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/v1/metrics`;

const cumulative = new CaptureReader();
const delta = new CaptureReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
const provider = new MeterProvider({
  resource: resourceFromAttributes({
    'service.name': 'checkout',
    'service.namespace': 'shop',
    'service.instance.id': 'checkout-7f9c',
    'service.version': '2.4.1',
    'deployment.environment.name': 'capture',
    'host.arch': 'amd64',
  }),
  views: [
    {
      instrumentName: 'http.server.request.duration',
      aggregation: {
        type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
        options: { boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] },
      },
    },
    {
      instrumentName: 'http.server.request.body.size',
      aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
    },
  ],
  readers: [cumulative, delta],
});

const meter = provider.getMeter('capture.app', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });

// counter (int): 3 chat requests and 2 embeddings, attributes of every scalar type
const requests = meter.createCounter('app.requests', {
  description: 'Requests handled',
  unit: '{request}',
  valueType: ValueType.INT,
});
const chat = { 'http.route': '/v1/chat', 'gen_ai.request.model': 'gpt-4o-mini', streaming: true };
requests.add(1, chat);
requests.add(2, chat);
requests.add(2, { 'http.route': '/v1/embeddings', 'retry.count': 0, 'sample.rate': 0.5 });

// counter (double) with a unit: cost in dollars
const cost = meter.createCounter('gen_ai.client.cost', { description: 'Spend', unit: 'USD' });
cost.add(0.0125, { 'gen_ai.request.model': 'gpt-4o-mini' });
cost.add(0.5, { 'gen_ai.request.model': 'gpt-4o' });
cost.add(0.25, { 'gen_ai.request.model': 'gpt-4o' });

// up-down counter: +5 -2 = 3 queued jobs; a second series goes negative
const queue = meter.createUpDownCounter('app.queue.depth', { unit: '{job}', valueType: ValueType.INT });
queue.add(5, { queue: 'embeddings' });
queue.add(-2, { queue: 'embeddings' });
queue.add(-4, { queue: 'retries' });

// histogram with explicit bounds (the view), seconds
const duration = meter.createHistogram('http.server.request.duration', {
  description: 'Duration of HTTP server requests',
  unit: 's',
});
for (const v of [0.003, 0.012, 0.012, 0.2, 0.7, 3.5]) duration.record(v, { 'http.route': '/v1/chat' });
duration.record(0.04, { 'http.route': '/v1/embeddings' });

// histogram with the SDK's default bounds and a curly unit
const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}', valueType: ValueType.INT });
tokens.record(31, { 'gen_ai.token.type': 'input' });
tokens.record(1200, { 'gen_ai.token.type': 'input' });
tokens.record(17, { 'gen_ai.token.type': 'output' });

// histogram as an exponential histogram (the view), bytes
const body = meter.createHistogram('http.server.request.body.size', { unit: 'By' });
for (const v of [0, 120, 480, 480, 4096, 65536]) body.record(v, { 'http.route': '/v1/chat' });

// synchronous gauge, Celsius; and a gauge with unit 1
const temp = meter.createGauge('device.temperature', { unit: 'Cel' });
temp.record(21.5, { zone: 'a' });
temp.record(-3.25, { zone: 'b' });
const hit = meter.createGauge('cache.hit', { unit: '1' });
hit.record(0.875, { cache: 'prompt' });

// observable gauge, counter and up-down counter
meter
  .createObservableGauge('process.memory.usage', { unit: 'By', valueType: ValueType.INT })
  .addCallback((r) => {
    r.observe(73400320, { 'memory.type': 'heap' });
    r.observe(1048576, { 'memory.type': 'stack' });
  });
meter
  .createObservableCounter('process.cpu.time', { unit: 's' })
  .addCallback((r) => {
    r.observe(12.5, { 'cpu.mode': 'user' });
    r.observe(1.75, { 'cpu.mode': 'system' });
  });
meter
  .createObservableUpDownCounter('app.connections', { unit: '{connection}', valueType: ValueType.INT })
  .addCallback((r) => r.observe(42, { pool: 'db', tags: ['primary', 'eu'] }));

// Each collection goes through both exporters, one after the other.
async function exportBoth(reader, name) {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`);
  for (const [Exporter, ext] of [
    [ProtoExporter, 'pb'],
    [JsonExporter, 'json'],
  ]) {
    const exporter = new Exporter({ url });
    const before = bodies.length;
    const result = await new Promise((ok) => exporter.export(resourceMetrics, ok));
    if (result.code !== 0) throw new Error(`${name}.${ext}: export failed: ${result.error}`);
    await exporter.shutdown();
    if (bodies.length !== before + 1) throw new Error(`${name}.${ext}: expected one request`);
    const got = bodies[before];
    const wantType = ext === 'pb' ? 'application/x-protobuf' : 'application/json';
    if (!got.type.startsWith(wantType)) throw new Error(`${name}.${ext}: content type ${got.type}`);
    writeFileSync(join(outDir, `${name}.${ext}`), got.body);
    console.log(`${name}.${ext}: ${got.body.length} bytes`);
  }
}

await exportBoth(cumulative, 'cumulative');
await exportBoth(delta, 'delta');
await provider.shutdown();
server.close();
