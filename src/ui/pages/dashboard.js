// dashboard.js — the GenAI dashboard at /ui/dashboard?range=|start=&end=&group_by=&step=: over a
// range (a preset, or a custom start and end), by model, provider, operation, service or agent:
// totals (calls, errors, tokens by bucket, cost), cost, calls and tokens over time, latency and
// TTFT quantiles, the ten most expensive and slowest traces, and how cost spreads over traces.
//
// Every number comes from one answer of GET /api/genai/timeseries: the totals are sums over its
// groups over the whole range (the browser tests hold them to the API's), the charts draw its
// points per bucket and group, the top traces and the histogram are its own. The page adds
// nothing but sums; a quantile is never averaged or merged. A server without that endpoint
// still gets the totals and the table by group from GET /api/genai/summary, and a line saying
// what is missing.

import {
  DEFAULT_RANGE, OTHER, RANGES, chooseStep, costBins, dataTable, grid, histogram, localInputValue, moneyShort,
  parseStep, resolveRange, seriesClass, seriesOf, sums, timeChart, tokenParts, topKeys,
} from './charts.js';

export const GROUPS = [
  ['model', 'Model'], ['provider', 'Provider'], ['operation', 'Operation'], ['service', 'Service'], ['agent', 'Agent'],
];
// the API's endpoints this page reads (GET /api/…)
const SERIES = 'genai/timeseries';
const SUMMARY = 'genai/summary';
const TOP = 10;

const TOKEN_FIELDS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'reasoning_tokens'];
const SUM_FIELDS = ['calls', 'errors', ...TOKEN_FIELDS, 'cost'];
const QUANTILES = [
  ['duration_p50_ns', 'Latency p50', 'ns'], ['duration_p95_ns', 'Latency p95', 'ns'], ['duration_p99_ns', 'Latency p99', 'ns'],
  ['ttft_p50_s', 'TTFT p50', 's'], ['ttft_p95_s', 'TTFT p95', 's'],
];

export async function render(root, params, ctx) {
  const { api, dom, navigate } = ctx;
  const { h } = dom;
  const q = params.query;
  const groupBy = GROUPS.some(([g]) => g === q.get('group_by')) ? q.get('group_by') : 'model';
  const groupLabel = GROUPS.find(([g]) => g === groupBy)[1];
  const r = resolveRange(q, Date.now());
  const urlStep = q.get('step');
  const stepMs = (urlStep && parseStep(urlStep)) || chooseStep(r.endMs - r.startMs);

  const page = h('section', { class: 'dash', 'aria-labelledby': 'dash-title' });
  page.dataset.start = r.start;
  page.dataset.end = r.end;
  page.dataset.groupBy = groupBy;
  root.appendChild(page);
  page.appendChild(h('h1', { id: 'dash-title' }, 'Dashboard'));
  page.appendChild(controls(h, q, r, groupBy, navigate));

  const problems = [];
  if (r.error) problems.push(r.error);
  if (urlStep && !parseStep(urlStep)) problems.push('step: not a step (5m, 1h, 1d: whole minutes)');
  if (problems.length) {
    page.appendChild(h('div', { class: 'error-box', role: 'alert' }, problems.join('; ')));
    page.dataset.ready = 'dashboard';
    return undefined;
  }

  const body = h('div', { class: 'dash-body', 'aria-busy': 'true' });
  page.appendChild(body);
  const range = { start: r.start, end: r.end };
  const series = await attempt(api.getJson(SERIES, { ...range, group_by: groupBy, step: `${stepMs / 60000}m` }));
  let summary = null;
  if (!series.ok && series.error.status === 404) summary = await attempt(api.getJson(SUMMARY, { ...range, group_by: groupBy }));
  if (!page.isConnected) return undefined;

  const groups = series.ok ? series.data.totals || [] : summary && summary.ok ? summary.data.groups || [] : null;
  const label = (k) => (k === OTHER ? 'other' : k === '' ? `(no ${groupLabel.toLowerCase()})` : k);
  if (groups) {
    body.appendChild(totalsView(h, dom, sums(groups, SUM_FIELDS)));
  } else {
    body.appendChild(failure(h, SERIES, series.error));
    if (summary) body.appendChild(failure(h, SUMMARY, summary.error));
  }
  if (series.ok) {
    const width = Math.max(320, Math.floor((body.clientWidth || 1200) / 2) - 24);
    body.appendChild(charts(h, dom, seriesOf(series.data), groups, groupLabel, label, width));
  } else if (groups) {
    body.appendChild(failure(h, SERIES, series.error, 'the charts over time, the top traces and the cost distribution'));
  }
  if (groups) body.appendChild(groupTable(h, dom, groups, sums(groups, SUM_FIELDS), groupBy, groupLabel, label, range));
  if (series.ok) {
    const d = series.data;
    body.appendChild(h('div', { class: 'dash-grid' },
      topTable(h, dom, 'Most expensive traces', d.top_cost || [], 'cost'),
      topTable(h, dom, 'Slowest traces', d.top_duration || [], 'duration')));
    body.appendChild(costHistogram(h, d.cost_distribution || {}, Math.max(640, (body.clientWidth || 1200) - 8)));
  }
  body.removeAttribute('aria-busy');
  page.dataset.ready = 'dashboard';
  return undefined;
}

/** The four charts over time: cost and calls stacked by group, tokens by bucket, a quantile. */
function charts(h, dom, s, groups, groupLabel, label, width) {
  // the chart's groups in the API's order (cost, then calls), the tail merged into "other"
  const top = topKeys(groups.map((g) => g.key), 7);
  const base = { startMs: s.startMs, endMs: s.endMs, buckets: s.buckets, stepMs: s.stepMs, width, height: 220 };
  const bySeries = (field) => grid(s.rows, s.buckets, top.keys, field, top).map((values, j) => ({
    label: label(top.keys[j]), cls: seriesClass(top.keys[j], j), values,
  }));
  const lower = groupLabel.toLowerCase();
  // errors where the bucket has calls; a gap where it has none
  const errors = grid(s.rows, s.buckets, [0], 'errors', { keyOf: () => 0, missing: null })[0];
  return h('div', { class: 'dash-grid' },
    timeChart({ ...base, title: `Cost by ${lower}`, series: bySeries('cost'), mode: 'bars', format: dom.money, axisFormat: moneyShort }),
    timeChart({ ...base, title: `Calls by ${lower}, and errors`, series: bySeries('calls'), mode: 'bars', integer: true,
      overlay: { label: 'errors', cls: 'errline', values: errors } }),
    timeChart({ ...base, title: 'Tokens by bucket', series: tokenParts(s.rows, s.buckets), mode: 'area', format: dom.tokens,
      note: 'Input counts cache reads and writes and output counts reasoning; each token is drawn once.' }),
    latencyChart(h, dom, s.rows, base, top, groups, label));
}

async function attempt(p) {
  try {
    return { ok: true, data: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

/** What a part of the page shows when its endpoint failed: a 404 is a server without it (a
 * note), anything else an error with the server's message (which names a bad parameter). */
function failure(h, endpoint, err, what = 'this part') {
  if (err && err.status === 404) {
    return h('div', { class: 'error-box dash-missing', role: 'status' },
      `This server does not answer GET /api/${endpoint}, so ${what} cannot be shown (an older llmtrace?).`);
  }
  return h('div', { class: 'error-box', role: 'alert' },
    `GET /api/${endpoint} failed: ${err && err.status ? `${err.status} ` : ''}${(err && err.message) || err}`);
}

// ---- the form: range and grouping, all in the URL ----

function controls(h, q, r, groupBy, navigate) {
  const rangeSel = h('select', { id: 'dash-range', name: 'range' },
    Object.entries(RANGES).map(([k, [l]]) => h('option', { value: k, selected: r.range === k }, l)),
    h('option', { value: 'custom', selected: r.range === 'custom' }, 'Custom range…'));
  const start = h('input', { id: 'dash-start', type: 'datetime-local', step: 1, value: localInputValue(r.startMs) });
  const end = h('input', { id: 'dash-end', type: 'datetime-local', step: 1, value: localInputValue(r.endMs) });
  const custom = h('span', { class: 'custom', hidden: r.range !== 'custom' },
    h('label', { for: 'dash-start' }, 'From'), start, h('label', { for: 'dash-end' }, 'to'), end);
  const groupSel = h('select', { id: 'dash-group', name: 'group_by' },
    GROUPS.map(([g, l]) => h('option', { value: g, selected: g === groupBy }, l)));

  const go = () => {
    const u = new URLSearchParams();
    if (rangeSel.value === 'custom') {
      const s = Date.parse(start.value);
      const e = Date.parse(end.value);
      start.setAttribute('aria-invalid', String(!Number.isFinite(s)));
      end.setAttribute('aria-invalid', String(!Number.isFinite(e) || (Number.isFinite(s) && e <= s)));
      if (!Number.isFinite(s) || !Number.isFinite(e) || e <= s) return;
      u.set('start', new Date(s).toISOString().replace('.000Z', 'Z'));
      u.set('end', new Date(e).toISOString().replace('.000Z', 'Z'));
    } else if (rangeSel.value !== DEFAULT_RANGE) {
      u.set('range', rangeSel.value);
    }
    if (groupSel.value !== 'model') u.set('group_by', groupSel.value);
    if (q.get('step') && parseStep(q.get('step'))) u.set('step', q.get('step'));
    const url = `/ui/dashboard${u.toString() ? `?${u}` : ''}`;
    // the same URL again is a refresh: it replaces the entry instead of stacking a copy
    navigate(url, { replace: url === location.pathname + location.search });
  };
  rangeSel.addEventListener('change', () => {
    custom.hidden = rangeSel.value !== 'custom';
    if (rangeSel.value !== 'custom') go();
    else start.focus();
  });
  groupSel.addEventListener('change', go);
  return h('form', {
    class: 'dash-controls', role: 'search', 'aria-label': 'Dashboard range and grouping',
    onsubmit: (ev) => { ev.preventDefault(); go(); },
  },
  h('label', { for: 'dash-range' }, 'Range'), rangeSel, custom,
  h('label', { for: 'dash-group' }, 'Group by'), groupSel,
  h('button', { type: 'submit', class: 'primary' }, 'Refresh'));
}

// ---- totals ----

function totalsView(h, dom, t) {
  const tile = (key, label, value, sub) => h('div', { class: 'tile', 'data-total': key, 'data-value': String(t[key]) },
    h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value), sub ? h('div', { class: 'tile-sub muted' }, sub) : null);
  return h('section', { class: 'tiles', 'aria-label': 'Totals over the range' },
    tile('calls', 'Calls', String(t.calls)),
    tile('errors', 'Errors', String(t.errors), t.calls ? `${((100 * t.errors) / t.calls).toFixed(1)} % of calls` : null),
    tile('input_tokens', 'Input tokens', dom.tokens(t.input_tokens), tokenTitle(t.input_tokens)),
    tile('output_tokens', 'Output tokens', dom.tokens(t.output_tokens), tokenTitle(t.output_tokens)),
    tile('cache_read_tokens', 'Cache read', dom.tokens(t.cache_read_tokens), 'of the input'),
    tile('cache_creation_tokens', 'Cache write', dom.tokens(t.cache_creation_tokens), 'of the input'),
    tile('reasoning_tokens', 'Reasoning', dom.tokens(t.reasoning_tokens), 'of the output'),
    tile('cost', 'Cost', dom.money(t.cost), 'USD'));
}

function tokenTitle(n) {
  return n >= 1e4 ? `${Number(n).toLocaleString('en-US')} tokens` : 'tokens';
}

function latencyChart(h, dom, rows, base, top, groups, label) {
  const keys = top.keys.filter((k) => k !== OTHER);
  const sel = h('select', { 'aria-label': 'Quantile' }, QUANTILES.map(([f, l]) => h('option', { value: f, selected: f === 'duration_p95_ns' }, l)));
  const host = h('div', { class: 'latency' }, h('div', { class: 'chart-tools' }, h('label', null, 'Show ', sel)));
  let chart = null;
  const draw = () => {
    const [field, l, unit] = QUANTILES.find(([f]) => f === sel.value);
    const toNs = unit === 's' ? (v) => v * 1e9 : (v) => v;
    const series = grid(rows, base.buckets, keys, field, { missing: null }).map((values, j) => ({
      label: label(keys[j]), cls: seriesClass(keys[j], j), values: values.map((v) => (v === null ? null : toNs(v))),
    }));
    const next = timeChart({ ...base, title: `${l} by group (one line each)`, series, mode: 'lines', integer: true, format: (v) => dom.duration(Math.round(v)), axisFormat: (v) => dom.duration(Math.round(v)),
      note: groups.length > keys.length ? 'Groups beyond the first seven are left out: a quantile cannot be merged.' : null });
    if (chart) chart.replaceWith(next);
    else host.appendChild(next);
    chart = next;
  };
  sel.addEventListener('change', draw);
  draw();
  return host;
}

// ---- tables ----

function groupTable(h, dom, groups, totals, groupBy, groupLabel, label, range) {
  const q = (v, unit) => (v === null || v === undefined ? '—' : dom.duration(unit === 's' ? Math.round(v * 1e9) : v));
  const link = (k) => {
    if (k === '') return h('span', { class: 'muted' }, label(k));
    const u = new URLSearchParams({ range: 'custom', start: range.start, end: range.end });
    if (groupBy === 'agent') u.set('attr', `gen_ai.agent.name=${k}`);
    else u.set(groupBy, k);
    return h('a', { class: 'val', href: `/ui/traces?${u}` }, k);
  };
  const heads = [groupLabel, 'Calls', 'Errors', 'Input', 'Output', 'Cache read', 'Cache write', 'Reasoning', 'Cost',
    'p50', 'p95', 'p99', 'TTFT p50', 'TTFT p95'];
  const rows = groups.map((g) => [link(g.key), String(g.calls), String(g.errors),
    ...TOKEN_FIELDS.map((f) => dom.tokens(g[f])), dom.money(g.cost),
    q(g.duration_p50_ns, 'ns'), q(g.duration_p95_ns, 'ns'), q(g.duration_p99_ns, 'ns'), q(g.ttft_p50_s, 's'), q(g.ttft_p95_s, 's')]);
  const table = dataTable(`By ${groupLabel.toLowerCase()}`, heads, rows, { numeric: (j) => j > 0 });
  table.classList.add('groups');
  table.appendChild(h('tfoot', null, h('tr', null,
    h('th', { scope: 'row' }, `Total (${groups.length} ${groups.length === 1 ? 'group' : 'groups'})`),
    h('td', { class: 'num' }, String(totals.calls)), h('td', { class: 'num' }, String(totals.errors)),
    TOKEN_FIELDS.map((f) => h('td', { class: 'num' }, dom.tokens(totals[f]))),
    h('td', { class: 'num' }, dom.money(totals.cost)),
    h('td', { class: 'num muted', colspan: 5 }, 'quantiles are per group'))));
  return h('section', { class: 'panel', 'aria-labelledby': 'dash-groups' },
    h('h2', { id: 'dash-groups' }, `By ${groupLabel.toLowerCase()}`),
    groups.length ? h('div', { class: 'table-wrap' }, table) : h('p', { class: 'muted' }, 'No GenAI spans in this range.'));
}

function topTable(h, dom, title, traces, by) {
  const id = `dash-top-${by}`;
  const rows = traces.slice(0, TOP).map((t) => {
    const when = dom.time(t.start_unix_nano);
    return [
      h('div', { class: 'trace-cell' },
        h('a', { class: 'val', href: `/ui/trace/${t.trace_id}` }, t.root_name || t.trace_id),
        h('span', { class: 'val muted' }, t.root_service || '')),
      h('span', { title: when }, when.slice(5, 19)),
      dom.duration(t.duration_ns),
      `${dom.tokens(t.input_tokens)} → ${dom.tokens(t.output_tokens)}`,
      dom.money(t.cost),
    ];
  });
  const table = dataTable(title, ['Trace', 'Start', 'Duration', 'Tokens', 'Cost'], rows, { numeric: (j) => j >= 2 });
  table.classList.add('top');
  table.dataset.top = by;
  return h('section', { class: 'panel', 'aria-labelledby': id },
    h('h2', { id }, title),
    rows.length ? table : h('p', { class: 'muted' }, by === 'cost' ? 'No trace with a cost in this range.' : 'No trace in this range.'));
}

function costHistogram(h, dist, width) {
  const bins = costBins(dist.buckets);
  const n = Number(dist.traces) || 0;
  const note = dist.partial ? 'Only the newest traces of the range were counted (the server stops at its limit); narrow the range to count them all.' : null;
  return h('section', { class: 'panel hist', 'aria-label': 'Cost per trace' },
    histogram({ title: `Cost per trace (${n} ${n === 1 ? 'trace' : 'traces'})`, bins, xTitle: 'cost of a trace (USD, buckets 1-2-5)', width: Math.min(1248, width), height: 200, note }));
}
