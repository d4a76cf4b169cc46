// sdk-app.mjs — a small instrumented program for sdk.test.mjs: the official OpenTelemetry JS
// SDK (BasicTracerProvider + a span processor + an OTLP trace exporter) makes one GenAI-like
// trace with fixed timestamps and exports it to the given endpoint. Prints one JSON line on
// stdout describing what it made (ids, export results), and exits.
//
// usage: node sdk-app.mjs --endpoint http://127.0.0.1:PORT --protocol http/protobuf|http/json
//                         --processor simple|batch [--gzip] --service NAME

import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  return process.argv[i + 1];
}
const endpoint = arg('endpoint');
const protocol = arg('protocol', 'http/protobuf');
const processorKind = arg('processor', 'simple');
const gzip = process.argv.includes('--gzip');
const service = arg('service', 'sdk-e2e');
if (!endpoint || !/^http:\/\/127\.0\.0\.1:\d+$/.test(endpoint)) {
  process.stderr.write('sdk-app: --endpoint http://127.0.0.1:PORT required\n');
  process.exit(2);
}

const exportResults = [];
const Exporter = protocol === 'http/json' ? JsonExporter : ProtoExporter;
const inner = new Exporter({
  url: `${endpoint}/v1/traces`,
  timeoutMillis: 15_000,
  ...(gzip ? { compression: 'gzip' } : {}),
});
// Records every export result so that the test can tell a refused export from a lost one.
const exporter = {
  export(spans, done) {
    inner.export(spans, (r) => {
      exportResults.push({ code: r.code, spans: spans.length, error: r.error ? String(r.error.message || r.error) : null });
      done(r);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
};

const processor = processorKind === 'batch'
  ? new BatchSpanProcessor(exporter, { scheduledDelayMillis: 100, maxExportBatchSize: 512 })
  : new SimpleSpanProcessor(exporter);

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({
    'service.name': service,
    'service.version': '9.8.7',
    'deployment.environment.name': 'integration-test',
    'host.cores': 2,
  }),
  spanProcessors: [processor],
});
const tracer = provider.getTracer('llmtrace-sdk-test', '1.2.3');

const BASE = 1_700_000_000;
const linkTarget = { traceId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', spanId: '0102030405060708', traceFlags: 1 };

const root = tracer.startSpan('agent.run', {
  kind: SpanKind.INTERNAL,
  startTime: [BASE, 123_456_789],
  attributes: { 'gen_ai.agent.name': 'e2e-agent', 'gen_ai.operation.name': 'invoke_agent' },
});
const ctx = trace.setSpan(context.active(), root);
const chat = tracer.startSpan('chat gpt-4o', {
  kind: SpanKind.CLIENT,
  startTime: [BASE, 223_456_789],
  links: [{ context: linkTarget, attributes: { 'link.reason': 'retry-of', 'link.attempt': 2 } }],
  attributes: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.request.temperature': 0.7,
    'gen_ai.request.top_p': 1.5,
    'gen_ai.request.max_tokens': 512,
    'gen_ai.request.stream': false,
    'gen_ai.request.stop_sequences': ['\n\n', 'END'],
    'gen_ai.usage.input_tokens': 1234,
    'gen_ai.usage.output_tokens': 0,
    'gen_ai.response.finish_reasons': ['stop', 'length'],
    'test.int_array': [1, -2, 3],
    'test.double_array': [0.5, 1.25],
    'test.bool_array': [true, false],
    'test.unicode': 'héllo ✓ 日本 🚀 "quoted" \\ back',
    'test.max_safe_int': Number.MAX_SAFE_INTEGER,
    'test.negative': -42,
    'test.empty_string': '',
  },
}, ctx);
chat.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'Say hi', 'test.count': 3, 'test.ratio': 0.25 }, [BASE, 300_000_000]);
chat.addEvent('exception', { 'exception.type': 'RateLimitError', 'exception.message': '429 slow down' }, [BASE + 1, 0]);
chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
chat.end([BASE + 1, 5]);
root.end([BASE + 2, 999_999_999]);

await provider.forceFlush();
await provider.shutdown();

process.stdout.write(`${JSON.stringify({
  traceId: root.spanContext().traceId,
  rootSpanId: root.spanContext().spanId,
  chatSpanId: chat.spanContext().spanId,
  link: linkTarget,
  exportResults,
})}\n`);
