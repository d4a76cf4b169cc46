// perf.mjs — how fast the web UI opens big things in Chromium (a measurement, not a test:
// bench/run.sh runs it; timings never belong in tests).
//
//   node tests/ui/perf.mjs            (LLMTRACE_BIN, LT_CHROMIUM as for the tests; LT_PERF_RUNS
//                                      runs of each measurement, default 5)
//
// A fresh `llmtrace serve` on a temporary store gets one generated agent trace of 10,000
// spans and 1,000 generated traces of 5 spans, over OTLP/HTTP JSON. Then, in a new browser
// context for every run (nothing cached), it measures:
//   - /ui/trace/{id} of the 10,000-span trace, from the start of the navigation until the
//     trace page sets [data-ready="trace"] (its waterfall's first rows are visible); then the
//     JS heap, and the frame intervals while the mouse wheel scrolls the waterfall;
//   - /ui/traces?limit=1000, until the traces page sets [data-ready="traces"] with the
//     1,000 results listed;
//   - for reference, the JSON API calls behind them, from Node;
// and the size of the embedded assets (every file of src/ui, as served, and gzipped).
// The times are read in the page (performance.now() when the marker appears), so the
// harness's own round trips are not in them.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import {
  UI_TIMEOUT_MS, VIEWPORT, attrs, getOk, launchBrowser, randomHex, sendOtlpJson, startServer,
  waitReady,
} from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const UI_DIR = path.resolve(here, '../../src/ui');
const RUNS = Number(process.env.LT_PERF_RUNS || 5);
const BIG_SPANS = 10_000;
const TRACES = 1_000;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet-20241022', 'gemini-1.5-pro'];
const PROVIDERS = ['openai', 'openai', 'anthropic', 'gcp.gemini'];

// ---------------------------------------------------------------------------------------
// Data

function llmAttrs(i, input, output) {
  const m = i % MODELS.length;
  return attrs({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': PROVIDERS[m],
    'gen_ai.request.model': MODELS[m],
    'gen_ai.response.model': MODELS[m],
    'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output,
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `step ${i}: what next?` }] }]),
    'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: `call tool ${i % 3}` }] }]),
  });
}

/** An agent run: a root, then iterations of { LLM call, 3 tool calls each with an HTTP
 * client span, a retrieval } — 9 spans each — until `total` spans. Sent 1,000 per request. */
async function sendBigTrace(server, total, startMs) {
  const traceId = randomHex(16);
  const ns = (ms) => String(BigInt(Math.round(startMs * 1000)) * 1000n + BigInt(Math.round(ms * 1e6)));
  const spans = [];
  const root = randomHex(8);
  const iterations = Math.floor((total - 1) / 9);
  const step = 40; // ms per iteration
  spans.push({ traceId, spanId: root, name: 'agent run', kind: 1, startTimeUnixNano: ns(0),
    endTimeUnixNano: ns(iterations * step + 5), attributes: attrs({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' }) });
  for (let i = 0; i < iterations; i++) {
    const t = i * step;
    const it = randomHex(8);
    spans.push({ traceId, spanId: it, parentSpanId: root, name: `iteration ${i}`, kind: 1,
      startTimeUnixNano: ns(t), endTimeUnixNano: ns(t + step - 1), attributes: [] });
    spans.push({ traceId, spanId: randomHex(8), parentSpanId: it, name: `chat ${MODELS[i % MODELS.length]}`, kind: 3,
      startTimeUnixNano: ns(t + 1), endTimeUnixNano: ns(t + 15), attributes: llmAttrs(i, 500 + i, 40 + (i % 50)),
      ...(i % 97 === 0 ? { status: { code: 2, message: 'rate limited' } } : {}) });
    for (let k = 0; k < 3; k++) {
      const tool = randomHex(8);
      spans.push({ traceId, spanId: tool, parentSpanId: it, name: `execute_tool search_${k}`, kind: 1,
        startTimeUnixNano: ns(t + 16 + k * 6), endTimeUnixNano: ns(t + 21 + k * 6),
        attributes: attrs({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `search_${k}` }) });
      spans.push({ traceId, spanId: randomHex(8), parentSpanId: tool, name: 'GET', kind: 3,
        startTimeUnixNano: ns(t + 17 + k * 6), endTimeUnixNano: ns(t + 20 + k * 6),
        attributes: attrs({ 'http.request.method': 'GET', 'url.full': `http://search.internal/q?i=${i}&k=${k}` }) });
    }
    spans.push({ traceId, spanId: randomHex(8), parentSpanId: it, name: 'retrieve documents', kind: 1,
      startTimeUnixNano: ns(t + 35), endTimeUnixNano: ns(t + 38),
      attributes: attrs({ 'gen_ai.operation.name': 'retrieval', 'gen_ai.retrieval.documents':
        JSON.stringify([{ id: `d${i}`, score: 0.8, content: `document ${i}` }]) }) });
  }
  while (spans.length < total) {
    spans.push({ traceId, spanId: randomHex(8), parentSpanId: root, name: 'finalize', kind: 1,
      startTimeUnixNano: ns(iterations * step), endTimeUnixNano: ns(iterations * step + 4), attributes: [] });
  }
  for (let i = 0; i < spans.length; i += 1000) {
    await sendOtlpJson(server, 'traces', { resourceSpans: [{
      resource: { attributes: attrs({ 'service.name': 'agent-service' }) },
      scopeSpans: [{ scope: { name: 'perf' }, spans: spans.slice(i, i + 1000) }],
    }] });
  }
  return traceId;
}

/** n traces of 5 spans (HTTP root, agent, LLM, tool, LLM) over the hour before endMs, five
 * services; 100 traces per request. */
async function sendManyTraces(server, n, endMs) {
  const services = ['chat-api', 'support-bot', 'rag-service', 'agent-service', 'batch-jobs'];
  let batch = [];
  const flush = async () => {
    if (!batch.length) return;
    const byService = new Map();
    for (const { service, spans } of batch) byService.set(service, [...(byService.get(service) || []), ...spans]);
    await sendOtlpJson(server, 'traces', { resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: attrs({ 'service.name': service }) },
      scopeSpans: [{ scope: { name: 'perf' }, spans }],
    })) });
    batch = [];
  };
  for (let i = 0; i < n; i++) {
    const traceId = randomHex(16);
    const start = endMs - 3_600_000 + (i * 3_600_000) / n;
    const ns = (ms) => String(BigInt(Math.round((start + ms) * 1000)) * 1000n);
    const [root, agent] = [randomHex(8), randomHex(8)];
    const s = (spanId, parentSpanId, name, a, b, attributes = [], extra = {}) => ({
      traceId, spanId, ...(parentSpanId ? { parentSpanId } : {}), name, kind: 1,
      startTimeUnixNano: ns(a), endTimeUnixNano: ns(b), attributes, ...extra });
    batch.push({ service: services[i % services.length], spans: [
      s(root, null, 'POST /ask', 0, 900 + (i % 17) * 50, attrs({ 'http.request.method': 'POST' })),
      s(agent, root, 'invoke_agent support', 5, 890, attrs({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' })),
      s(randomHex(8), agent, 'chat', 10, 400, llmAttrs(i, 800 + i, 60), i % 23 === 0 ? { status: { code: 2, message: 'timeout' } } : {}),
      s(randomHex(8), agent, 'execute_tool lookup', 410, 450, attrs({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup' })),
      s(randomHex(8), agent, 'chat', 460, 880, llmAttrs(i + 1, 900 + i, 120)),
    ] });
    if (batch.length === 100) await flush();
  }
  await flush();
}

// ---------------------------------------------------------------------------------------
// Measurements

// In every document: the time (performance.now(), ms since the navigation started) at which
// an element with each data-ready value first appeared.
function readyClock() {
  window.__ltReady = {};
  const seen = () => {
    for (const el of document.querySelectorAll('[data-ready]')) {
      const v = el.getAttribute('data-ready');
      if (!(v in window.__ltReady)) window.__ltReady[v] = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready'] });
}

/** Opens url in a fresh context and returns { ms, heapMB, frames } (frames only with scroll). */
async function openOnce(browser, url, ready, { scroll = false } = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  context.setDefaultTimeout(UI_TIMEOUT_MS * 4);
  await context.addInitScript(readyClock);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  try {
    await page.goto(url, { waitUntil: 'commit' });
    await waitReady(page, ready);
    const ms = await page.evaluate((r) => window.__ltReady[r], ready);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const heap = metrics.find((m) => m.name === 'JSHeapUsedSize');
    const out = { ms, heapMB: heap ? heap.value / 1048576 : NaN };
    if (scroll) out.frames = await scrollFrames(page);
    if (errors.length) throw new Error(`the page reported errors: ${errors.slice(0, 3).join(' | ')}`);
    return out;
  } finally {
    await context.close();
  }
}

/** Frame intervals (ms) while the wheel scrolls down 40 times over the middle of the page. */
async function scrollFrames(page) {
  await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height / 2);
  await page.evaluate(() => {
    window.__ltFrames = [];
    let last = performance.now();
    const tick = (t) => {
      window.__ltFrames.push(t - last);
      last = t;
      if (window.__ltFrames.length < 100000) window.__ltFrameReq = requestAnimationFrame(tick);
    };
    window.__ltFrameReq = requestAnimationFrame(tick);
  });
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, 600);
    await page.waitForTimeout(16);
  }
  return page.evaluate(() => {
    cancelAnimationFrame(window.__ltFrameReq);
    return window.__ltFrames.slice(1);
  });
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), min: s[0], max: s[s.length - 1], p95: q(0.95) };
}

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '?');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '?');

async function timed(fn) {
  const t = process.hrtime.bigint();
  const v = await fn();
  return { v, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

function assetSizes() {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/\.(c|h)$/.test(e.name)) files.push(p); // the C side that serves them is not an asset
    }
  };
  walk(UI_DIR);
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const b = fs.readFileSync(f);
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  return { n: files.length, raw, gz };
}

async function main() {
  const server = await startServer();
  let browser;
  try {
    const now = Date.now();
    const { ms: loadBig, v: bigId } = await timed(() => sendBigTrace(server, BIG_SPANS, now - 600_000));
    const { ms: loadMany } = await timed(() => sendManyTraces(server, TRACES, now - 1_000));
    console.log(`loaded: one trace of ${BIG_SPANS} spans (${f0(loadBig)} ms), ${TRACES} traces of 5 spans (${f0(loadMany)} ms)`);

    const api1 = await timed(() => getOk(server.http, `/api/traces/${bigId}`));
    if (api1.v.spans.length !== BIG_SPANS) throw new Error(`the big trace has ${api1.v.spans.length} spans, expected ${BIG_SPANS}`);
    const api2 = await timed(() => getOk(server.http, `/api/traces?limit=${TRACES}`));
    if (api2.v.traces.length !== TRACES) throw new Error(`/api/traces?limit=${TRACES} gave ${api2.v.traces.length} traces`);

    browser = await launchBrowser();
    console.log(`== web UI in Chromium ${browser.version()}, ${RUNS} runs each, a fresh browser context per run`);

    // each measurement on its own: a page that fails is reported, the others still run
    const failures = [];
    const measure = async (what, fn) => {
      try { await fn(); } catch (e) { failures.push(what); console.log(`${what}: not measured: ${e.message.split('\n')[0]}`); }
    };

    await measure(`trace of ${BIG_SPANS} spans`, async () => {
      const big = [];
      for (let i = 0; i < RUNS; i++) big.push(await openOnce(browser, `${server.http}/ui/trace/${bigId}`, 'trace', { scroll: true }));
      const bt = stats(big.map((r) => r.ms));
      const frames = big.flatMap((r) => r.frames);
      const fr = frames.length ? stats(frames) : { median: NaN, p95: NaN, max: NaN };
      console.log(`trace of ${BIG_SPANS} spans: open /ui/trace/{id} until [data-ready="trace"]: ` +
        `median ${f0(bt.median)} ms (min ${f0(bt.min)}, max ${f0(bt.max)}); JS heap ${f0(stats(big.map((r) => r.heapMB)).median)} MB; ` +
        `scrolling: ${frames.length} frames, median ${f1(fr.median)} ms, p95 ${f1(fr.p95)} ms, ` +
        `longest ${f1(fr.max)} ms; its API call alone ${f0(api1.ms)} ms`);
    });

    await measure(`search page with ${TRACES} results`, async () => {
      const list = [];
      for (let i = 0; i < RUNS; i++) list.push(await openOnce(browser, `${server.http}/ui/traces?limit=${TRACES}`, 'traces'));
      const lt = stats(list.map((r) => r.ms));
      console.log(`search page with ${TRACES} results: open /ui/traces?limit=${TRACES} until [data-ready="traces"]: ` +
        `median ${f0(lt.median)} ms (min ${f0(lt.min)}, max ${f0(lt.max)}); JS heap ${f0(stats(list.map((r) => r.heapMB)).median)} MB; ` +
        `its API call alone ${f0(api2.ms)} ms`);
    });

    const a = assetSizes();
    console.log(`embedded assets (src/ui): ${a.n} files, ${(a.raw / 1024).toFixed(1)} KiB (${(a.gz / 1024).toFixed(1)} KiB gzipped)`);
    if (failures.length) process.exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
}

main().catch((e) => {
  console.error(`perf.mjs: ${e.stack || e}`);
  process.exit(1);
});
