// charts.js — the dashboard's charts, drawn as SVG by the UI itself: values over time (stacked
// bars, stacked areas or lines) with axes and ticks, a histogram, and a plain table of the same
// numbers for screen readers and keyboard users. No charting library: what the dashboard needs
// is small, and a bundled library would be the largest file of the UI.
//
// The first half is pure (scales, ticks, stacking, sums) and runs under node --test; the second
// half builds elements through dom.js only, so a group name from the data is always a text node.
// Colours are CSS classes (s0 … s7, other, tk-*) whose fills and strokes dashboard.css takes from
// theme variables, so a chart follows the light/dark switch without being redrawn.

import { h } from '../dom.js';

// ---------------------------------------------------------------------------------------
// Pure: numbers

/** The 1-2-5 step (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) nearest above raw; 1 for raw <= 0. */
export function niceStep(raw) {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const f = raw / base;
  // a little slack so 0.30000000000000004 / 0.1 counts as 3, not just over it
  const m = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
  return m * base;
}

/** Decimals that print every multiple of step exactly (0 for steps >= 1). */
export function stepDecimals(step) {
  return step >= 1 ? 0 : Math.min(20, Math.ceil(-Math.log10(step) - 1e-9));
}

/**
 * Axis ticks over [lo, hi]: about `count` multiples of a 1-2-5 step, the first <= lo and the last
 * >= hi, so the axis covers the data. integer: the step is at least 1 (counts). A zero-width or
 * non-finite range becomes [0, 1] or is widened to include 0, so there is always an axis.
 * Returns {lo, hi, step, ticks}.
 */
export function niceTicks(lo, hi, count = 5, { integer = false } = {}) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    if (lo > 0) lo = 0;
    else if (hi < 0) hi = 0;
    else hi = 1;
  }
  let step = niceStep((hi - lo) / Math.max(1, count));
  if (integer) step = Math.max(1, step);
  const d = stepDecimals(step);
  const round = (v) => Number(v.toFixed(d));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(round(k * step));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], step, ticks };
}

/** A linear map from [d0, d1] onto [r0, r1]; f.invert maps back. A zero-width domain maps
 * everything to the middle of the range. */
export function scaleLinear(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = (x) => (k === 0 ? (r0 + r1) / 2 : r0 + (x - d0) * k);
  f.invert = (y) => (k === 0 ? d0 : d0 + (y - r0) / k);
  f.domain = [d0, d1];
  f.range = [r0, r1];
  return f;
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Time-axis steps a reader counts in (ms). */
export const TIME_STEPS = [
  SEC, 2 * SEC, 5 * SEC, 10 * SEC, 15 * SEC, 30 * SEC,
  MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY,
];

/**
 * Ticks of a time axis over [startMs, endMs]: the smallest step of TIME_STEPS that gives at most
 * `count` intervals, ticks on local boundaries of that step (whole minutes, hours, local
 * midnights). tzOffsetMin is Date#getTimezoneOffset() (minutes west of UTC) of the local zone.
 * Returns {step, ticks} with ticks inside the range.
 */
export function timeTicks(startMs, endMs, count = 6, tzOffsetMin = new Date(startMs).getTimezoneOffset()) {
  if (!(endMs > startMs)) return { step: TIME_STEPS[0], ticks: Number.isFinite(startMs) ? [startMs] : [] };
  const raw = (endMs - startMs) / Math.max(1, count);
  let step = TIME_STEPS.find((s) => s >= raw);
  if (!step) step = Math.ceil(raw / (28 * DAY)) * 28 * DAY;
  const off = tzOffsetMin * MIN; // local = utc - off
  const ticks = [];
  for (let t = Math.ceil((startMs - off) / step) * step + off; t <= endMs; t += step) ticks.push(t);
  return { step, ticks };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The label of a time tick at the precision of its axis step: "14:05:30" under a minute,
 * "14:05" under a day ("Nov 22" at a local midnight), "Nov 22" from a day up.
 */
export function timeLabel(ms, stepMs, tzOffsetMin = new Date(ms).getTimezoneOffset()) {
  const d = new Date(ms - tzOffsetMin * MIN); // its UTC fields are the local ones
  const p = (x) => String(x).padStart(2, '0');
  const date = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  if (stepMs >= DAY) return date;
  const hm = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  if (stepMs < MIN) return `${hm}:${p(d.getUTCSeconds())}`;
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0) return date;
  return hm;
}

/** A bucket's time in full, for tooltips and tables: "Nov 22 14:05" (":30" added under a
 * minute's step). */
export function bucketLabel(ms, stepMs, tzOffsetMin = new Date(ms).getTimezoneOffset()) {
  const d = new Date(ms - tzOffsetMin * MIN);
  const p = (x) => String(x).padStart(2, '0');
  const s = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  return stepMs < MIN ? `${s}:${p(d.getUTCSeconds())}` : s;
}

/** A short axis label of a number: 0, 12, 1.5k, 2.4M, 0.005. */
export function shortNumber(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}
function trim(v) {
  return String(Number(v.toPrecision(3)));
}

// ---------------------------------------------------------------------------------------
// Pure: time ranges (the dashboard's URL holds a preset or a custom start and end)

/** Preset ranges: URL value → [label, length in ms]. */
export const RANGES = {
  '15m': ['Last 15 minutes', 15 * MIN],
  '1h': ['Last hour', HOUR],
  '6h': ['Last 6 hours', 6 * HOUR],
  '24h': ['Last 24 hours', DAY],
  '7d': ['Last 7 days', 7 * DAY],
  '30d': ['Last 30 days', 30 * DAY],
};
export const DEFAULT_RANGE = '24h';

const NS_PER_MS = 1000000n;

/**
 * A time of the URL as Unix nanoseconds (BigInt): integer nanoseconds, or a date-time that
 * Date.parse reads (RFC 3339: "2026-11-22T10:00:00Z"; without a zone, local time). null when
 * it is neither.
 */
export function parseTime(s) {
  const v = String(s ?? '').trim();
  if (/^[0-9]{1,19}$/.test(v)) return BigInt(v);
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(v)) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms >= 0 ? BigInt(ms) * NS_PER_MS : null;
}

/**
 * The range a dashboard URL asks for, resolved at nowMs: {range (preset key or "custom"), start
 * and end (Unix ns as decimal strings), startMs, endMs, error (a message naming the bad
 * parameter, or null)}. A start or end in the query makes it custom (a missing end is now; a
 * missing start is the default preset's length before the end); otherwise `range` is a preset
 * (the default when absent or unknown).
 */
export function resolveRange(q, nowMs) {
  const nowNs = BigInt(Math.floor(nowMs)) * NS_PER_MS;
  const out = (range, s, e, error = null) => ({
    range, start: s.toString(), end: e.toString(), startMs: Number(s / NS_PER_MS), endMs: Number(e / NS_PER_MS), error,
  });
  const qs = q.get('start');
  const qe = q.get('end');
  if (qs || qe) {
    const e = qe ? parseTime(qe) : nowNs;
    if (e === null) return out(DEFAULT_RANGE, nowNs - BigInt(RANGES[DEFAULT_RANGE][1]) * NS_PER_MS, nowNs, 'end: not a time (RFC 3339 or Unix nanoseconds)');
    const s = qs ? parseTime(qs) : e - BigInt(RANGES[DEFAULT_RANGE][1]) * NS_PER_MS;
    if (s === null) return out(DEFAULT_RANGE, e - BigInt(RANGES[DEFAULT_RANGE][1]) * NS_PER_MS, e, 'start: not a time (RFC 3339 or Unix nanoseconds)');
    if (s >= e) return out('custom', s, s + 1n, 'start: not before end');
    return out('custom', s, e);
  }
  const key = Object.hasOwn(RANGES, q.get('range') || '') ? q.get('range') : DEFAULT_RANGE;
  return out(key, nowNs - BigInt(RANGES[key][1]) * NS_PER_MS, nowNs);
}

/** Series steps the API takes (whole minutes), in ms. */
export const SERIES_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * MIN);

/** The smallest series step that cuts spanMs into at most `target` buckets (ms). */
export function chooseStep(spanMs, target = 60) {
  const raw = spanMs / Math.max(1, target);
  return SERIES_STEPS.find((s) => s >= raw) ?? Math.ceil(raw / (7 * DAY)) * 7 * DAY;
}

/** A step of the URL ("5m", "1h", "2d", or plain minutes) in ms, or null. At least a minute. */
export function parseStep(s) {
  const m = /^([0-9]{1,6})(m|h|d)?$/.exec(String(s ?? '').trim());
  if (!m) return null;
  const v = Number(m[1]) * (m[2] === 'd' ? DAY : m[2] === 'h' ? HOUR : MIN);
  return v >= MIN ? v : null;
}

/** The value of an <input type="datetime-local"> (to the second) for a time in ms. */
export function localInputValue(ms, tzOffsetMin = new Date(ms).getTimezoneOffset()) {
  return new Date(ms - tzOffsetMin * MIN).toISOString().slice(0, 19);
}

// ---------------------------------------------------------------------------------------
// Pure: series

/**
 * Stacks series (each an array of values by bucket, all of one length) bottom-up in the order
 * given: {layers: [{y0: [], y1: []}], totals: [], max}. A missing, negative or non-finite value
 * counts as 0 (a stack only holds amounts).
 */
export function stack(series) {
  const n = series.length ? Math.max(...series.map((s) => s.length)) : 0;
  const totals = new Array(n).fill(0);
  const layers = series.map((s) => {
    const y0 = new Array(n);
    const y1 = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(s[i]);
      y0[i] = totals[i];
      totals[i] += Number.isFinite(v) && v > 0 ? v : 0;
      y1[i] = totals[i];
    }
    return { y0, y1 };
  });
  return { layers, totals, max: totals.reduce((m, v) => Math.max(m, v), 0) };
}

/** The sum of field over rows (missing and non-numeric values count as 0). */
export function sumField(rows, field) {
  let s = 0;
  for (const r of rows) {
    const v = Number(r[field]);
    if (Number.isFinite(v)) s += v;
  }
  return s;
}

/** Sums of each of fields over rows: {field: sum}. */
export function sums(rows, fields) {
  return Object.fromEntries(fields.map((f) => [f, sumField(rows, f)]));
}

/**
 * Lays rows of a time series ({bucket (ms), key, ...fields}) onto a grid: for each key of keys
 * (in that order) and each bucket of buckets, the value of field, or `missing` when the series
 * has no row there. keyOf maps a row's key onto one of keys (say, a group beyond the top few
 * onto "other"); rows mapping onto the same cell are summed (missing stays missing only when no
 * row lands there). Rows outside the buckets or keys are ignored.
 */
export function grid(rows, buckets, keys, field, { keyOf = (k) => k, missing = 0 } = {}) {
  const bi = new Map(buckets.map((b, i) => [b, i]));
  const ki = new Map(keys.map((k, i) => [k, i]));
  const out = keys.map(() => new Array(buckets.length).fill(missing));
  const seen = keys.map(() => new Array(buckets.length).fill(false));
  for (const r of rows) {
    const i = bi.get(r.bucket);
    const j = ki.get(keyOf(r.key));
    if (i === undefined || j === undefined) continue;
    const v = Number(r[field]);
    if (r[field] === null || r[field] === undefined || !Number.isFinite(v)) continue;
    out[j][i] = seen[j][i] ? out[j][i] + v : v;
    seen[j][i] = true;
  }
  return out;
}

/**
 * Tokens per bucket over all groups, cut into parts that do not overlap, bottom first: the
 * canonical input counts cache reads and writes and the output counts reasoning
 * (docs/genai.md), so stacking input, cache read and output as they come would count tokens
 * twice. Each part: {key, label, cls, values by bucket}; the parts of a bucket add up to its
 * input + output (a count larger than what holds it is cut to zero).
 */
export function tokenParts(rows, buckets) {
  const all = (f) => grid(rows, buckets, [0], f, { keyOf: () => 0 })[0];
  const [inp, out, cr, cw, rs] = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'reasoning_tokens'].map(all);
  const crIn = cr.map((v, i) => Math.min(v, inp[i]));
  const cwIn = cw.map((v, i) => Math.min(v, inp[i] - crIn[i]));
  const rsOut = rs.map((v, i) => Math.min(v, out[i]));
  return [
    { key: 'input', label: 'input (uncached)', cls: 'tk-in', values: inp.map((v, i) => v - crIn[i] - cwIn[i]) },
    { key: 'cache_read', label: 'cache read', cls: 'tk-cr', values: crIn },
    { key: 'cache_write', label: 'cache write', cls: 'tk-cw', values: cwIn },
    { key: 'output', label: 'output (excl. reasoning)', cls: 'tk-out', values: out.map((v, i) => v - rsOut[i]) },
    { key: 'reasoning', label: 'reasoning', cls: 'tk-rs', values: rsOut },
  ];
}

/**
 * The groups a chart shows one by one: the first `limit` keys of an ordered list (the API orders
 * groups by cost, then calls), plus OTHER standing for the rest when there are more. Returns
 * {keys, keyOf} for grid().
 */
export const OTHER = '\u0000other';
export function topKeys(ordered, limit = 7) {
  if (ordered.length <= limit + 1) return { keys: ordered.slice(), keyOf: (k) => k };
  const keys = ordered.slice(0, limit);
  const shown = new Set(keys);
  keys.push(OTHER);
  return { keys, keyOf: (k) => (shown.has(k) ? k : OTHER) };
}

/** The SVG path of the band between two lines of points (xs, lower ys, upper ys). */
export function bandPath(xs, y0, y1) {
  if (!xs.length) return '';
  const f = (v) => Number(v.toFixed(2));
  let d = `M${f(xs[0])},${f(y1[0])}`;
  for (let i = 1; i < xs.length; i++) d += `L${f(xs[i])},${f(y1[i])}`;
  for (let i = xs.length - 1; i >= 0; i--) d += `L${f(xs[i])},${f(y0[i])}`;
  return `${d}Z`;
}

/** The SVG path of a line through points whose y may be null: a null breaks the line. A lone
 * point between gaps becomes a dot-length segment so it still shows. */
export function linePath(xs, ys) {
  const f = (v) => Number(v.toFixed(2));
  let d = '';
  let open = false;
  for (let i = 0; i < xs.length; i++) {
    if (ys[i] === null || ys[i] === undefined || !Number.isFinite(ys[i])) { open = false; continue; }
    const lone = !open && (i + 1 >= xs.length || ys[i + 1] === null || ys[i + 1] === undefined);
    d += `${open ? 'L' : 'M'}${f(xs[i])},${f(ys[i])}`;
    if (lone) d += `h0.01`;
    open = true;
  }
  return d;
}

// ---------------------------------------------------------------------------------------
// Pure: the API's answers

const msOf = (ns) => Number(BigInt(ns) / NS_PER_MS);

/**
 * The series of a GET /api/genai/timeseries answer: {buckets (ms, the start of each), stepMs,
 * startMs, endMs, rows}: one row per point ({bucket (ms), key, calls, errors, tokens, cost,
 * quantiles}), the point's bucket index turned into its start. A point whose index is not a
 * bucket of the answer is dropped.
 */
export function seriesOf(data) {
  const buckets = (data.buckets || []).map(msOf);
  const rows = [];
  for (const p of data.points || []) {
    if (Number.isInteger(p.bucket) && p.bucket >= 0 && p.bucket < buckets.length) rows.push({ ...p, bucket: buckets[p.bucket] });
  }
  return {
    buckets,
    stepMs: msOf(data.step_ns),
    startMs: msOf(data.start_unix_nano),
    endMs: data.end_unix_nano ? msOf(data.end_unix_nano) : Date.now(),
    rows,
  };
}

/** A short amount of USD for axes and bins: "$0", "$0.000002", "$0.15", "$1200". */
export function moneyShort(v) {
  return v === 0 ? '$0' : `$${Number(Number(v).toPrecision(3))}`;
}

/**
 * The bins of the cost distribution ({min, max (null: no bound), traces}) as histogram() draws
 * them: "no cost" for the bucket of traces without cost, "$a – $b", "$a and up".
 */
export function costBins(buckets) {
  return (buckets || []).map((b) => {
    const none = b.min === 0 && b.max === 0;
    const label = none ? 'no cost' : b.max === null || b.max === undefined ? `${moneyShort(b.min)} and up` : `${moneyShort(b.min)} – ${moneyShort(b.max)}`;
    return { label, short: none ? 'none' : moneyShort(b.min), count: Number(b.traces) || 0 };
  });
}

// ---------------------------------------------------------------------------------------
// Elements

const M = { left: 58, right: 14, top: 10, bottom: 26 };

/** Horizontal grid lines with their labels at the ticks of a value axis. */
function valueAxis(ticks, y, W, format) {
  return ticks.flatMap((v) => [
    h('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
    h('text', { class: 'tick', x: M.left - 6, y: y(v), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, format(v)),
  ]);
}

/** The drawing: its parts, "no data" across it when empty; a picture to assistive technology,
 * which gets the numbers from the table under it. */
function drawing(title, W, H, parts, empty) {
  if (empty) {
    parts.push(h('text', { class: 'empty', x: (M.left + W - M.right) / 2, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle' },
      'no data in this range'));
  }
  return h('svg', { class: 'chart-svg', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': `${title}: chart; the table below has its numbers` }, parts);
}

/** A figure with a title, the chart, its legend and the same numbers as a table. */
function figure(title, svg, legend, table, note) {
  return h('figure', { class: 'chart' },
    h('figcaption', null, title),
    svg,
    legend,
    note ? h('p', { class: 'chart-note muted' }, note) : null,
    h('details', { class: 'chart-table' }, h('summary', null, 'Table'), table));
}

/** The class of series j of a chart: s0 … s7, or "other". */
export function seriesClass(key, j) {
  return key === OTHER ? 'other' : `s${j % 8}`;
}

function legendOf(series) {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' },
    series.map((s) => h('li', null, h('span', { class: `chart-sw ${s.cls}` }), h('span', { class: 'val' }, s.label))));
}

/** A table: caption, column heads, rows of cells (strings, numbers or elements). */
export function dataTable(caption, heads, rows, { numeric = () => false } = {}) {
  return h('table', { class: 'data' },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', null, h('tr', null, heads.map((c, j) => h('th', { scope: 'col', class: numeric(j) ? 'num' : null }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, j) => h('td', { class: numeric(j) ? 'num' : null }, c))))));
}

/**
 * Values over time.
 *   title        the figure's caption
 *   startMs/endMs the range on the x axis; buckets (ms) with stepMs their width
 *   series       [{label, cls, values: [by bucket; null = no value]}], bottom first
 *   mode         'bars' (stacked), 'area' (stacked) or 'lines' (not stacked; nulls are gaps)
 *   format       a value → text (tooltips, table); axis labels use shortNumber unless axisFormat
 *   overlay      optional {label, cls, values}: a line over a stacked chart (not stacked)
 *   width/height the drawing's size in px (it scales with its box)
 * An empty series list draws the axes and says there is no data.
 */
export function timeChart({ title, startMs, endMs, buckets, stepMs, series, mode = 'bars', format = String,
  axisFormat = shortNumber, overlay = null, integer = false, width = 600, height = 220, note = null }) {
  const W = Math.max(200, Math.round(width));
  const H = Math.max(120, Math.round(height));
  const x = scaleLinear(startMs, endMs, M.left, W - M.right);
  const stacked = mode !== 'lines';
  const st = stacked ? stack(series.map((s) => s.values)) : null;
  let top = stacked ? st.max : 0;
  if (!stacked) for (const s of series) for (const v of s.values) if (v !== null && v > top) top = v;
  if (overlay) for (const v of overlay.values) if (v !== null && v > top) top = v;
  const yt = niceTicks(0, top, 4, { integer });
  const y = scaleLinear(0, yt.hi, H - M.bottom, M.top);
  const tt = timeTicks(startMs, endMs, Math.max(2, Math.floor((W - M.left - M.right) / 90)));
  const when = (t) => bucketLabel(t, stepMs);

  const parts = valueAxis(yt.ticks, y, W, axisFormat);
  for (const t of tt.ticks) {
    parts.push(h('line', { class: 'tick-mark', x1: x(t), x2: x(t), y1: H - M.bottom, y2: H - M.bottom + 4 }));
    parts.push(h('text', { class: 'tick', x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle' }, timeLabel(t, tt.step)));
  }
  parts.push(h('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }));

  // a bucket's extent on the axis, clipped to the range (the first and last may be partial)
  const lo = (t) => Math.max(t, startMs);
  const hi = (t) => Math.min(t + stepMs, endMs);
  const mid = buckets.map((t) => x((lo(t) + hi(t)) / 2));
  if (mode === 'bars') {
    series.forEach((s, j) => {
      const g = [];
      buckets.forEach((t, i) => {
        const v = st.layers[j].y1[i] - st.layers[j].y0[i];
        if (!(v > 0)) return;
        const x0 = x(lo(t));
        const bw = Math.max(1, x(hi(t)) - x0 - (x(hi(t)) - x0 > 4 ? 1 : 0));
        g.push(h('rect', { x: x0, y: y(st.layers[j].y1[i]), width: bw, height: Math.max(0.5, y(st.layers[j].y0[i]) - y(st.layers[j].y1[i])) },
          h('title', null, `${when(t)} · ${s.label}: ${format(v)}`)));
      });
      parts.push(h('g', { class: `series ${s.cls}` }, g));
    });
  } else if (mode === 'area') {
    // a band flat over each bucket: a bucket's amount is spread over its span, and no slope
    // between buckets suggests values the API did not give
    const xs = buckets.flatMap((t) => [x(lo(t)), x(hi(t))]);
    const twice = (a) => a.flatMap((v) => [y(v), y(v)]);
    series.forEach((s, j) => {
      parts.push(h('path', { class: `area ${s.cls}`, d: bandPath(xs, twice(st.layers[j].y0), twice(st.layers[j].y1)) },
        h('title', null, s.label)));
    });
  } else {
    for (const s of series) {
      parts.push(h('path', { class: `line ${s.cls}`, d: linePath(mid, s.values.map((v) => (v === null ? null : y(v)))) },
        h('title', null, s.label)));
      buckets.forEach((t, i) => {
        const v = s.values[i];
        if (v === null || v === undefined) return;
        parts.push(h('circle', { class: `dot ${s.cls}`, cx: mid[i], cy: y(v), r: 2.5 }, h('title', null, `${when(t)} · ${s.label}: ${format(v)}`)));
      });
    }
  }
  if (overlay) {
    parts.push(h('path', { class: `line overlay ${overlay.cls}`, d: linePath(mid, overlay.values.map((v) => (v === null ? null : y(v)))) },
      h('title', null, overlay.label)));
  }
  const empty = !series.length || (stacked ? st.max === 0 : series.every((s) => s.values.every((v) => v === null)));
  const svg = drawing(title, W, H, parts, empty);
  const all = overlay ? [...series, overlay] : series;
  const rows = [];
  buckets.forEach((t, i) => {
    const cells = all.map((s) => s.values[i]);
    if (cells.every((v) => v === null || v === 0)) return;
    rows.push([when(t), ...cells.map((v) => (v === null ? '—' : format(v)))]);
  });
  const table = dataTable(title, ['Time', ...all.map((s) => h('span', { class: 'val' }, s.label))], rows, { numeric: (j) => j > 0 });
  return figure(title, svg, legendOf(all), table, note);
}

/**
 * A histogram over ordered bins [{label, short (the axis label; label when absent), count}],
 * drawn as adjacent bars with every k-th bin labelled so labels do not collide. xTitle names
 * the x axis; width and height are the drawing's size in px.
 */
export function histogram({ title, bins, xTitle = '', width = 600, height = 200, note = null }) {
  const W = Math.max(200, Math.round(width));
  const H = Math.max(120, Math.round(height));
  const max = bins.reduce((m, b) => Math.max(m, b.count), 0);
  const yt = niceTicks(0, max, 4, { integer: true });
  const y = scaleLinear(0, yt.hi, H - M.bottom - 12, M.top);
  const n = Math.max(1, bins.length);
  const bw = (W - M.left - M.right) / n;
  const every = Math.max(1, Math.ceil(56 / bw));
  const parts = valueAxis(yt.ticks, y, W, shortNumber);
  const g = [];
  bins.forEach((b, i) => {
    const x0 = M.left + i * bw;
    if (b.count > 0) {
      g.push(h('rect', { x: x0 + 1, y: y(b.count), width: Math.max(1, bw - 2), height: y(0) - y(b.count) },
        h('title', null, `${b.label}: ${b.count}`)));
    }
    if (i % every === 0) {
      parts.push(h('text', { class: 'tick', x: x0 + bw / 2, y: H - M.bottom + 4, 'text-anchor': 'middle' }, b.short ?? b.label));
    }
  });
  parts.push(h('g', { class: 'series s0' }, g));
  parts.push(h('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  if (xTitle) parts.push(h('text', { class: 'tick', x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle' }, xTitle));
  const svg = drawing(title, W, H, parts, max === 0);
  const table = dataTable(title, [xTitle || 'Bin', 'Count'], bins.filter((b) => b.count > 0).map((b) => [b.label, String(b.count)]), { numeric: (j) => j > 0 });
  return figure(title, svg, null, table, note);
}
