// dashboard.test.mjs — the Dashboard in Chromium against a real llmtrace loaded with the
// fixture traces, the demo's traces (several models and providers, agents, cached and
// reasoning tokens, failed calls) and the hostile trace: its totals are the API's for every
// grouping, its charts are drawn with their tables, the top traces are the API's and link to
// their pages, range and grouping live in the URL (back and forward work), a bad range names
// its parameter, hostile group names stay text, and it fits 1280×800 in both themes.

import assert from 'node:assert/strict';

import { getJson, runCli } from '../integration/lib.mjs';
import { MODEL, SERVICE, sendHostileTrace } from './hostile.mjs';
import { getOk, listAllTraces, setupUi } from './lib.mjs';

const GROUPS = ['model', 'provider', 'operation', 'service', 'agent'];
const FIELDS = ['calls', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'reasoning_tokens', 'cost'];

let range; // {start, end} in ns: every trace the server holds
let served = true; // whether this llmtrace has GET /api/genai/timeseries, the page's source
const ui = setupUi({
  suite: 'dashboard',
  load: async (server) => {
    served = (await getJson(server.http, '/api/genai/timeseries')).status !== 404;
    const demo = await runCli(['demo', '--server', server.otlp, '--traces', '40', '--seed', '11']);
    assert.equal(demo.code, 0, demo.stderr);
    await sendHostileTrace(server);
    const starts = (await listAllTraces(server, { start: '0' })).map((t) => BigInt(t.start_unix_nano));
    const min = starts.reduce((a, b) => (b < a ? b : a));
    const max = starts.reduce((a, b) => (b > a ? b : a));
    range = { start: String(min - 60_000_000_000n), end: String(max + 3_600_000_000_000n) };
  },
});

const url = (q) => `/ui/dashboard?${new URLSearchParams(q)}`;

/** ui.test, skipped on a server without the endpoint (the page then only says it is missing). */
function pageTest(name, fn, opts) {
  ui.test(name, async (p, t) => (served ? fn(p, t) : t.skip('this llmtrace has no GET /api/genai/timeseries')), opts);
}

/** The totals the page shows: {field: number} from the tiles' data-value. */
function tiles(p) {
  return p.page.evaluate((fields) => Object.fromEntries(fields.map((f) => {
    const el = document.querySelector(`.tiles [data-total="${f}"]`);
    return [f, el ? Number(el.dataset.value) : null];
  })), FIELDS);
}

function sums(groups) {
  return Object.fromEntries(FIELDS.map((f) => [f, groups.reduce((s, g) => s + g[f], 0)]));
}

pageTest('the totals are the API\'s, for every grouping', async (p) => {
  let calls = null;
  for (const g of GROUPS) {
    await p.goto(url({ ...range, group_by: g }));
    await p.ready('dashboard');
    const page = await p.page.evaluate(() => ({ ...document.querySelector('[data-ready="dashboard"]').dataset }));
    assert.deepEqual([page.start, page.end, page.groupBy], [range.start, range.end, g]);
    const api = await getOk(p.server.http, `/api/genai/summary?${new URLSearchParams({ ...range, group_by: g })}`);
    const want = sums(api.groups);
    const got = await tiles(p);
    for (const f of FIELDS) {
      if (f === 'cost') assert.ok(Math.abs(got.cost - want.cost) <= 1e-9 * Math.max(1, want.cost), `${g}: cost ${got.cost} vs ${want.cost}`);
      else assert.equal(got[f], want[f], `${g}: ${f}`);
    }
    assert.ok(want.calls > 0 && want.cost > 0 && want.cache_read_tokens > 0 && want.reasoning_tokens > 0, 'the data has what the tiles show');
    // the visible numbers are the same ones
    assert.equal(await p.page.textContent('[data-total="calls"] .tile-value'), String(want.calls));
    assert.equal(await p.page.textContent('table.groups tfoot td'), String(want.calls));
    // one row per group of the API, in its order
    const keys = await p.page.$$eval('table.groups tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(keys, api.groups.map((x) => (x.key === '' ? `(no ${g})` : x.key)));
    if (calls !== null) assert.equal(want.calls, calls, 'every grouping counts the same calls');
    calls = want.calls;
    if (g === 'model') await p.shot('by-model', { fullPage: true });
  }
});

pageTest('charts are drawn with their tables; the top traces and the distribution are the API\'s', async (p) => {
  // the same answer the page got: its own request, asked again
  const [req] = await Promise.all([
    p.page.waitForRequest((r) => r.url().includes('/api/genai/timeseries')),
    p.goto(url(range)),
  ]);
  await p.ready('dashboard');
  const series = await getOk(p.server.http, `/api/genai/timeseries?${new URL(req.url()).searchParams}`);
  const figures = p.page.locator('figure.chart');
  assert.equal(await figures.count(), 5, 'cost, calls, tokens, latency, cost per trace');
  const shapes = await figures.evaluateAll((fs) => fs.map((f) => f.querySelectorAll('svg rect, svg path.area, svg path.line, svg circle').length));
  for (const [i, n] of shapes.entries()) assert.ok(n > 0, `figure ${i} draws something`);
  const titles = await p.page.$$eval('figure.chart figcaption', (c) => c.map((x) => x.textContent));
  assert.deepEqual(titles.slice(0, 3), ['Cost by model', 'Calls by model, and errors', 'Tokens by bucket']);

  // each chart's numbers as a table, opened with the keyboard
  const summaries = p.page.locator('figure.chart details.chart-table > summary');
  for (let i = 0; i < await summaries.count(); i++) {
    await summaries.nth(i).focus();
    await p.page.keyboard.press('Enter');
    assert.ok(await figures.nth(i).locator('details[open] table tbody tr').count() > 0, `figure ${i} has a table`);
  }
  // the calls chart's table: a row per bucket with calls, whose cells add up to the calls
  const calls = await figures.nth(1).locator('table tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].slice(1, -1)
    .reduce((s, c) => s + (c.textContent === '—' ? 0 : Number(c.textContent)), 0)));
  assert.equal(calls.reduce((a, b) => a + b, 0), sums(series.totals).calls);

  const byCost = await p.page.$$eval('table.top[data-top="cost"] tbody tr a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(byCost, series.top_cost.map((t) => `/ui/trace/${t.trace_id}`));
  assert.equal(byCost.length, 10);
  const slow = await p.page.$$eval('table.top[data-top="duration"] tbody tr a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(slow, series.top_duration.map((t) => `/ui/trace/${t.trace_id}`));
  const histo = await figures.nth(4).locator('table tbody tr td:last-child').allTextContents();
  assert.equal(histo.reduce((s, x) => s + Number(x), 0), series.cost_distribution.traces);
  assert.match(await figures.nth(4).locator('figcaption').textContent(), new RegExp(`\\(${series.cost_distribution.traces} traces\\)`));
  await p.shot('charts-tables-open', { fullPage: true });

  // a top trace opens its trace page
  await p.page.click('table.top[data-top="cost"] tbody tr:first-child a');
  await p.page.waitForURL((u) => u.pathname === `/ui/trace/${series.top_cost[0].trace_id}`);
  await p.ready('trace');
});

pageTest('range and grouping live in the URL; back and forward work', async (p) => {
  await p.goto('/ui/dashboard');
  await p.ready('dashboard');
  assert.equal(await p.page.inputValue('#dash-range'), '24h');
  await p.page.selectOption('#dash-group', 'service');
  await p.page.waitForURL('**/ui/dashboard?group_by=service');
  await p.ready('dashboard');
  assert.match(await p.page.textContent('figure.chart figcaption'), /Cost by service/);
  await p.page.selectOption('#dash-range', '7d');
  await p.page.waitForURL('**/ui/dashboard?range=7d&group_by=service');
  await p.ready('dashboard');
  const d = await p.page.evaluate(() => ({ ...document.querySelector('[data-ready="dashboard"]').dataset }));
  assert.equal(BigInt(d.end) - BigInt(d.start), 7n * 86400n * 1_000_000_000n);

  await p.page.goBack();
  await p.page.waitForURL('**/ui/dashboard?group_by=service');
  await p.ready('dashboard');
  assert.deepEqual([await p.page.inputValue('#dash-range'), await p.page.inputValue('#dash-group')], ['24h', 'service']);
  await p.page.goForward();
  await p.page.waitForURL('**/ui/dashboard?range=7d&group_by=service');
  await p.ready('dashboard');

  // a custom range from the two fields
  await p.page.selectOption('#dash-range', 'custom');
  assert.ok(await p.page.isVisible('#dash-start'));
  await p.page.fill('#dash-start', '2026-01-02T03:04:05');
  await p.page.fill('#dash-end', '2026-01-03T03:04:05');
  await p.page.click('.dash-controls button[type="submit"]');
  await p.page.waitForURL(/start=.*&end=/);
  await p.ready('dashboard');
  const want = await p.page.evaluate(() => [new Date('2026-01-02T03:04:05').getTime(), new Date('2026-01-03T03:04:05').getTime()]);
  const c = await p.page.evaluate(() => ({ ...document.querySelector('[data-ready="dashboard"]').dataset }));
  assert.deepEqual([c.start, c.end], want.map((ms) => String(BigInt(ms) * 1_000_000n)));
  assert.equal(await p.page.inputValue('#dash-range'), 'custom');
  // an end before the start is refused in the form, not sent
  await p.page.fill('#dash-end', '2026-01-01T00:00:00');
  const before = p.where();
  await p.page.press('#dash-end', 'Enter');
  assert.equal(await p.page.getAttribute('#dash-end', 'aria-invalid'), 'true');
  assert.equal(p.where(), before);
});

pageTest('a bad range in the URL names its parameter', async (p) => {
  await p.goto('/ui/dashboard?start=yesterday');
  await p.rendered();
  await p.page.waitForSelector('[data-ready="dashboard"]');
  assert.match(await p.page.textContent('main#app [role="alert"]'), /^start: not a time/);
  await p.goto('/ui/dashboard?range=1h&step=30s');
  await p.page.waitForSelector('[data-ready="dashboard"]');
  assert.match(await p.page.textContent('main#app [role="alert"]'), /^step: /);
});

for (const bypassCSP of [false, true]) {
  pageTest(`hostile group names and trace names stay text (CSP ${bypassCSP ? 'bypassed' : 'on'})`, async (p) => {
    for (const g of ['model', 'service', 'agent']) {
      await p.goto(url({ ...range, group_by: g }));
      await p.ready('dashboard');
      const text = await p.text();
      if (g === 'model') assert.ok(text.includes(MODEL), 'the hostile model is shown as text');
      if (g === 'service') assert.ok(text.includes(SERVICE), 'the hostile service is shown as text');
      assert.equal(await p.page.locator('main#app img[src="x"], main#app script').count(), 0);
    }
  }, { bypassCSP });
}

pageTest('dark theme, keyboard order, no horizontal scrolling at 1280×800', async (p) => {
  // the form's controls come first after the shell's, in reading order
  await p.goto('/ui/dashboard?range=7d');
  await p.ready('dashboard');
  await p.page.focus('#theme');
  const order = [];
  for (let i = 0; i < 3; i++) {
    await p.page.keyboard.press('Tab');
    order.push(await p.page.evaluate(() => document.activeElement.id || document.activeElement.textContent));
  }
  assert.deepEqual(order, ['dash-range', 'dash-group', 'Refresh']);

  await p.goto(url(range));
  await p.ready('dashboard');
  assert.equal(await p.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${overflow}px of horizontal scrolling`);
  // a chart's colours follow the theme
  const fill = () => p.page.evaluate(() => getComputedStyle(document.querySelector('figure.chart svg .series rect')).fill);
  const dark = await fill();
  await p.shot('dark');
  await p.page.click('#theme');
  assert.notEqual(await fill(), dark, 'the theme switch recolours the charts');
  await p.shot('light');
}, { colorScheme: 'dark' });
