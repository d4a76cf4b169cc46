// live.test.mjs — the Live tail in Chromium against a real llmtrace: spans sent over OTLP/HTTP
// while the page is open show up on top and link to their trace; Pause (the button or the
// space key) holds the table while spans keep coming, Resume shows them; the filters (service,
// model, status, text in the span name) apply at once and stay in the URL; the table keeps
// the last 2,000 spans; hostile names stay text; dark theme at 1280×800.

import assert from 'node:assert/strict';

import { getJson } from '../integration/lib.mjs';
import { MODEL, ROOT_NAME, SERVICE, sendHostileTrace } from './hostile.mjs';
import { UI_TIMEOUT_MS, attrs, randomHex, sendOtlpJson, setupUi } from './lib.mjs';

let served = true; // whether this llmtrace has GET /api/live
const ui = setupUi({
  suite: 'live',
  load: async (server) => { served = (await getJson(server.http, '/api/live')).status !== 404; },
});

/** ui.test, skipped on a server without the endpoint (the page then only says it is missing). */
function pageTest(name, fn, opts) {
  ui.test(name, async (p, t) => (served ? fn(p, t) : t.skip('this llmtrace has no GET /api/live')), opts);
}

/** Sends one trace of n spans (a root and n-1 children) named `${name} i`; returns its id and
 * the span ids in order. */
async function sendTrace(server, { name, n = 1, service = 'live-test', model = '', error = false }) {
  const traceId = randomHex(16);
  const ids = Array.from({ length: n }, () => randomHex(8));
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const spans = ids.map((id, i) => ({
    traceId, spanId: id, ...(i ? { parentSpanId: ids[0] } : {}), name: n === 1 ? name : `${name} ${i}`, kind: 1,
    startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + 5_000_000n + BigInt(i) * 1000n),
    attributes: attrs(model ? { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 3 } : {}),
    ...(error ? { status: { code: 2, message: 'failed' } } : {}),
  }));
  await sendOtlpJson(server, 'traces', {
    resourceSpans: [{ resource: { attributes: attrs({ 'service.name': service }) }, scopeSpans: [{ scope: { name: 'live-test' }, spans }] }],
  });
  return { traceId, ids };
}

const rowNames = (p) => p.page.$$eval('table.live-table tbody tr td.name', (tds) => tds.map((td) => td.textContent));
const waitRow = (p, name) => p.page.waitForFunction((n) => [...document.querySelectorAll('table.live-table tbody td.name')].some((td) => td.textContent === n), name);

pageTest('spans that arrive show up on top and link to their trace', async (p) => {
  await p.goto('/ui/live');
  await p.ready('live');
  const before = await rowNames(p);
  assert.ok(before.length > 0 && before.length <= 200, `the newest spans on arrival (${before.length})`);
  const a = await sendTrace(p.server, { name: 'first-arrival' });
  await waitRow(p, 'first-arrival');
  const b = await sendTrace(p.server, { name: 'second-arrival', model: 'live-model-x' });
  await waitRow(p, 'second-arrival');
  const names = await rowNames(p);
  assert.deepEqual(names.slice(0, 2), ['second-arrival', 'first-arrival'], 'newest on top');
  assert.deepEqual(names.slice(2), before, 'what was there stays, below');
  const first = p.page.locator('table.live-table tbody tr').first();
  assert.equal(await first.locator('td.name a').getAttribute('href'), `/ui/trace/${b.traceId}?span=${b.ids[0]}`);
  assert.match(await first.textContent(), /live-model-x/);
  assert.match(await first.textContent(), /10 → 3/);
  assert.match(await p.page.textContent('.live-status'), /^Live · /);
  await p.shot('arrivals');
  await first.locator('td.name a').click();
  await p.page.waitForURL((u) => u.pathname === `/ui/trace/${b.traceId}` && u.searchParams.get('span') === b.ids[0]);
  assert.ok(a.traceId);
});

pageTest('Pause holds the table (space key or button); Resume shows what came meanwhile', async (p) => {
  await p.goto('/ui/live');
  await p.ready('live');
  await p.page.locator('main#app h1').click(); // focus outside any field: space is the shortcut
  await p.page.keyboard.press('Space');
  assert.equal(await p.page.getAttribute('.live-pause', 'aria-pressed'), 'true');
  assert.equal(await p.page.textContent('.live-pause'), 'Resume');
  const shown = await rowNames(p);
  await sendTrace(p.server, { name: 'while-paused', n: 3 });
  await p.page.waitForFunction(() => /Paused · 3 new spans since/.test(document.querySelector('.live-status').textContent));
  assert.deepEqual(await rowNames(p), shown, 'the table does not move while paused');
  await p.shot('paused');
  // space typed in a field is text, not the shortcut
  await p.page.fill('#live-q', '');
  await p.page.type('#live-q', ' ');
  assert.equal(await p.page.getAttribute('.live-pause', 'aria-pressed'), 'true');
  await p.page.fill('#live-q', '');
  await p.page.click('.live-pause');
  assert.equal(await p.page.getAttribute('.live-pause', 'aria-pressed'), 'false');
  const names = await rowNames(p);
  assert.deepEqual(names.slice(0, 3), ['while-paused 2', 'while-paused 1', 'while-paused 0']);
});

pageTest('filters apply at once, go to the server and stay in the URL', async (p) => {
  await sendTrace(p.server, { name: 'alpha call', service: 'svc-alpha', model: 'model-a' });
  await sendTrace(p.server, { name: 'beta call', service: 'svc-beta', model: 'model-b', error: true });
  await sendTrace(p.server, { name: 'gamma step', service: 'svc-beta' });
  await p.goto('/ui/live');
  await p.ready('live');
  await waitRow(p, 'gamma step');
  await p.page.waitForFunction(() => [...document.querySelectorAll('#live-service option')].some((o) => o.value === 'svc-beta'));
  await p.page.selectOption('#live-service', 'svc-beta');
  assert.equal(p.where(), '/ui/live?service=svc-beta');
  assert.deepEqual(new Set(await rowNames(p)), new Set(['beta call', 'gamma step']));
  await p.page.selectOption('#live-st', 'error');
  assert.deepEqual(await rowNames(p), ['beta call']);
  await p.page.selectOption('#live-st', '');
  await p.page.fill('#live-q', 'GAMMA');
  await p.page.waitForFunction(() => location.search.includes('q=GAMMA'));
  assert.deepEqual(await rowNames(p), ['gamma step'], 'text in the span name, any case');
  // a span that arrives now passes the same filter, here and on the server
  const [req] = await Promise.all([
    p.page.waitForRequest((r) => r.url().includes('/api/live?') && r.url().includes('service=svc-beta')),
    sendTrace(p.server, { name: 'gamma again', service: 'svc-beta' }),
    sendTrace(p.server, { name: 'gamma elsewhere', service: 'svc-alpha' }),
  ]);
  assert.ok(req);
  await waitRow(p, 'gamma again');
  assert.deepEqual(await rowNames(p), ['gamma again', 'gamma step']);
  // reload: the filter comes back from the URL
  await p.page.reload();
  await p.ready('live');
  assert.equal(await p.page.inputValue('#live-q'), 'GAMMA');
  assert.equal(await p.page.inputValue('#live-service'), 'svc-beta');
  await p.page.waitForFunction(() => document.querySelectorAll('table.live-table tbody tr').length === 2);
  assert.deepEqual(await rowNames(p), ['gamma again', 'gamma step'], 'the newest spans the server has for the filter, then the text');
  // a model filter, typed
  await p.goto('/ui/live');
  await p.ready('live');
  await p.page.fill('#live-model', 'model-a');
  await p.page.press('#live-model', 'Enter');
  await p.page.waitForFunction(() => location.search === '?model=model-a');
  assert.deepEqual(await rowNames(p), ['alpha call']);
});

pageTest('the table keeps the last 2,000 spans', async (p) => {
  await p.goto('/ui/live');
  await p.ready('live');
  for (let k = 0; k < 5; k++) await sendTrace(p.server, { name: `bulk ${k}`, n: 500 });
  await waitRow(p, 'bulk 4 499');
  await p.page.waitForFunction(() => /2000 shown, 2000 kept/.test(document.querySelector('.live-status').textContent), null, { timeout: UI_TIMEOUT_MS });
  const names = await rowNames(p);
  assert.equal(names.length, 2000);
  assert.equal(names[0], 'bulk 4 499');
  assert.ok(!names.includes('bulk 0 499'), 'the oldest are gone');
  assert.equal(new Set(names).size, 2000, 'each span once');
});

for (const bypassCSP of [false, true]) {
  pageTest(`hostile names stay text (CSP ${bypassCSP ? 'bypassed' : 'on'})`, async (p) => {
    await p.goto('/ui/live');
    await p.ready('live');
    await sendHostileTrace(p.server);
    await waitRow(p, ROOT_NAME);
    const text = await p.text();
    for (const s of [ROOT_NAME, SERVICE, MODEL]) assert.ok(text.includes(s), `${s.slice(0, 30)} shown as text`);
    assert.equal(await p.page.locator('main#app img[src="x"], main#app script').count(), 0);
  }, { bypassCSP });
}

pageTest('dark theme at 1280×800 without horizontal scrolling', async (p) => {
  await p.goto('/ui/live');
  await p.ready('live');
  const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${overflow}px of horizontal scrolling`);
  await p.shot('dark');
}, { colorScheme: 'dark' });
