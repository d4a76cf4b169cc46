// pages/traces.js — the Traces page (/ui/traces?...): a search form with every filter of
// GET /api/traces, a scatter of duration over time and a table of the traces found, with
// paging through next_cursor.
//
// The URL's query is the search: the form is filled from it, and a search navigates to a
// new URL, so back, forward, reload and shared links all give the same results. Time
// presets ("range=1h") are kept as presets and resolved against the clock at search time;
// custom times are kept as given (RFC 3339 or Unix nanoseconds, as the API takes them).
// Rows are only appended as pages arrive (never rebuilt unless the table is re-sorted) and
// the scatter is one SVG redrawn per page, so a thousand traces stay cheap to show.

const PRESETS = [
  ['15m', 'Last 15 minutes', 15 * 60],
  ['1h', 'Last hour', 3600],
  ['6h', 'Last 6 hours', 6 * 3600],
  ['24h', 'Last 24 hours', 86400],
  ['7d', 'Last 7 days', 7 * 86400],
];
const PAGE_SIZES = [20, 50, 100, 200, 500, 1000];
const DEFAULT_LIMIT = 50;
const CHUNK = 100; // table rows drawn at a time
// GenAI operation names the normalizer produces (genai/dialects.c); custom ones pass too.
const OPERATIONS = ['chat', 'text_completion', 'generate_content', 'embeddings', 'retrieval',
  'rerank', 'execute_tool', 'create_agent', 'invoke_agent', 'invoke_workflow', 'task', 'guardrail'];
// Query parameters handed to the API as they are ("range", "start", "end", "limit" and
// "sort" are the page's own).
const PASSED = ['service', 'name', 'model', 'provider', 'operation', 'conversation', 'user',
  'status', 'min_duration', 'max_duration', 'min_cost', 'min_tokens', 'attr', 'q'];
// Columns that sort the loaded traces (the API answers newest first).
const SORTS = {
  start: (t) => t.startMs,
  duration: (t) => t.durNs,
  spans: (t) => t.span_count,
  tokens: (t) => t.tokens,
  cost: (t) => t.cost || 0,
  errors: (t) => t.error_count,
};

// Suggestions shared by every render: the service list and, per service, its span names.
const cache = { services: null, servicesAt: 0, operations: new Map() };
const CACHE_MS = 30_000;
// Set by a search so that the next render moves focus to the results.
let focusResults = false;

/** Start and end of the search, as the API takes them, from the page's query. */
function timeBounds(query, nowMs = Date.now()) {
  const preset = PRESETS.find(([k]) => k === query.get('range'));
  if (preset) return { start: String(BigInt(nowMs - preset[2] * 1000) * 1000000n), end: '' };
  return { start: query.get('start') || '', end: query.get('end') || '' };
}

/** A start/end parameter (Unix ns or RFC 3339) as a datetime-local value, or ''. */
function toLocalInput(v) {
  if (!v) return '';
  const ms = /^\d+$/.test(v) ? Number(BigInt(v) / 1000000n) : Date.parse(v);
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A datetime-local value (local time) as RFC 3339 UTC, or '' when empty or invalid. */
function fromLocalInput(v) {
  const ms = v ? new Date(v).getTime() : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

export async function render(root, params, ctx) {
  const { h, clear } = ctx.dom;
  const fmt = ctx.dom;
  const query = params.query;
  const limit = Math.min(1000, Math.max(1, Number(query.get('limit')) || DEFAULT_LIMIT));
  let gone = false;
  const cleanups = [];

  // ---------------------------------------------------------------- the form

  const field = (label, control) => h('div', { class: 'field' },
    h('label', { for: control.id }, label), control);
  const text = (name, placeholder, extra = {}) => h('input', {
    id: `f-${name}`, name, type: 'text', value: query.get(name) || '', placeholder,
    autocomplete: 'off', spellcheck: 'false', ...extra,
  });
  const datalist = (id) => h('datalist', { id });

  const hasCustom = !query.get('range') && (query.get('start') || query.get('end'));
  const rangeSel = h('select', { id: 'f-range', name: 'range' },
    h('option', { value: '' }, 'Any time'),
    PRESETS.map(([k, label]) => h('option', { value: k, selected: query.get('range') === k }, label)),
    h('option', { value: 'custom', selected: !!hasCustom || query.get('range') === 'custom' }, 'Custom…'));
  const startIn = h('input', { id: 'f-start', type: 'datetime-local', step: '1', value: toLocalInput(query.get('start')) });
  const endIn = h('input', { id: 'f-end', type: 'datetime-local', step: '1', value: toLocalInput(query.get('end')) });
  const custom = h('div', { class: 'custom-range' }, field('From (local time)', startIn), field('To (local time)', endIn));
  const showCustom = () => { custom.hidden = rangeSel.value !== 'custom'; };
  rangeSel.addEventListener('change', showCustom);
  showCustom();

  const serviceSel = h('select', { id: 'f-service', name: 'service' }, h('option', { value: '' }, 'Any service'));
  if (query.get('service')) serviceSel.append(h('option', { value: query.get('service'), selected: true }, query.get('service')));
  const nameList = datalist('dl-name');
  const nameIn = text('name', 'any', { list: 'dl-name' });
  const modelList = datalist('dl-model');
  const providerList = datalist('dl-provider');
  const opList = datalist('dl-operation');
  opList.append(...OPERATIONS.map((o) => h('option', { value: o })));
  const statusSel = h('select', { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    h('option', { value: 'error', selected: query.get('status') === 'error' }, 'With errors'));
  const limitSel = h('select', { id: 'f-limit', name: 'limit' },
    PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))));
  const qIn = text('q', 'words in prompts and completions', { type: 'search', 'data-search': '' });

  const form = h('form', { class: 'search', role: 'search', 'aria-label': 'Search traces' },
    h('div', { class: 'fields' },
      field('Time range', rangeSel),
      field('Service', serviceSel),
      field('Root span name', nameIn),
      field('Status', statusSel),
      field('Message text', qIn),
      field('Model', text('model', 'any', { list: 'dl-model' })),
      field('Provider', text('provider', 'any', { list: 'dl-provider' })),
      field('Operation', text('operation', 'any', { list: 'dl-operation' })),
      field('Min duration', text('min_duration', 'e.g. 250ms')),
      field('Max duration', text('max_duration', 'e.g. 2s')),
      field('Min cost (USD)', text('min_cost', 'e.g. 0.01', { inputmode: 'decimal' })),
      field('Min tokens', text('min_tokens', 'e.g. 1000', { inputmode: 'numeric' })),
      field('Attribute', text('attr', 'key=value')),
      field('Conversation', text('conversation', 'gen_ai.conversation.id')),
      field('User', text('user', 'user.id')),
      field('Page size', limitSel)),
    h('div', { class: 'bottom' },
      custom,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Search'),
        h('a', { href: '/ui/traces', class: 'reset' }, 'Reset'))),
    nameList, modelList, providerList, opList);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (rangeSel.value === 'custom') {
      const s = fromLocalInput(startIn.value);
      const e = fromLocalInput(endIn.value);
      if (s) q.set('start', s);
      if (e) q.set('end', e);
      if (!s && !e) q.set('range', 'custom');
    } else if (rangeSel.value) {
      q.set('range', rangeSel.value);
    }
    for (const name of PASSED) {
      const el = form.elements.namedItem(name);
      const v = el && el.value.trim();
      if (v) q.set(name, v);
    }
    if (Number(limitSel.value) !== DEFAULT_LIMIT) q.set('limit', limitSel.value);
    if (state.sort !== 'start') q.set('sort', state.sort);
    const url = `/ui/traces${q.toString() ? `?${q}` : ''}`;
    focusResults = true;
    ctx.navigate(url, { replace: url === location.pathname + location.search });
  });

  // Suggestions: services now, a service's span names when it is chosen, models and
  // providers when their input is first used. A failure only means no suggestions.
  const fillNames = async (service) => {
    clear(nameList);
    if (!service) return;
    let ops = cache.operations.get(service);
    if (!ops) {
      try {
        ops = (await ctx.api.getJson(`services/${encodeURIComponent(service)}/operations`)).operations || [];
        cache.operations.set(service, ops);
      } catch { return; }
    }
    if (gone || serviceSel.value !== service) return;
    const names = [...new Set(ops.map((o) => o.name))].sort();
    nameList.append(...names.map((n) => h('option', { value: n })));
  };
  serviceSel.addEventListener('change', () => fillNames(serviceSel.value));
  (async () => {
    try {
      if (!cache.services || Date.now() - cache.servicesAt > CACHE_MS) {
        cache.services = (await ctx.api.getJson('services')).services || [];
        cache.servicesAt = Date.now();
        cache.operations.clear();
      }
    } catch { return; }
    if (gone) return;
    // the list in its order, the chosen service kept even when the store no longer has it
    const chosen = serviceSel.value;
    const names = cache.services.includes(chosen) || !chosen ? cache.services : [chosen, ...cache.services];
    while (serviceSel.options.length > 1) serviceSel.remove(1);
    for (const s of names) serviceSel.append(h('option', { value: s, selected: s === chosen }, s));
    fillNames(chosen);
  })();
  const suggestOnFocus = (input, list, groupBy) => {
    let done = false;
    input.addEventListener('focus', async () => {
      if (done) return;
      done = true;
      try {
        const { start, end } = timeBounds(query);
        const r = await ctx.api.getJson('genai/summary', { group_by: groupBy, start, end });
        if (gone) return;
        const have = new Set([...list.children].map((o) => o.value));
        for (const g of r.groups || []) {
          if (g.key && !have.has(g.key)) list.append(h('option', { value: g.key }));
        }
      } catch { /* no suggestions */ }
    });
  };
  suggestOnFocus(form.elements.namedItem('model'), modelList, 'model');
  suggestOnFocus(form.elements.namedItem('provider'), providerList, 'provider');
  suggestOnFocus(form.elements.namedItem('operation'), opList, 'operation');

  // ---------------------------------------------------------------- results

  const state = {
    items: [], // summaries as the API gave them, plus startMs, durNs, tokens
    cursor: null,
    loading: false,
    sort: SORTS[(query.get('sort') || '').replace(/^-/, '')] ? query.get('sort') : 'start',
    want: CHUNK, // rows to have in the table
  };

  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const errorBox = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const chartHost = h('div', { class: 'scatter-host' });
  const readout = h('p', { class: 'scatter-readout muted', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const rowById = new Map();
  const sortButtons = new Map();
  const th = (key, label, cls) => {
    if (!key) return h('th', { scope: 'col', class: cls }, label);
    const b = h('button', { type: 'button', class: 'sort', 'data-sort': key }, label);
    sortButtons.set(key, b);
    return h('th', { scope: 'col', class: cls }, b);
  };
  const table = h('table', { class: 'traces' },
    h('caption', { class: 'visually-hidden' }, 'Traces found, newest first unless sorted'),
    h('thead', null, h('tr', null,
      th('start', 'Start'), th(null, 'Root span'), th(null, 'Services'),
      th('duration', 'Duration', 'num'), th('spans', 'Spans', 'num'), th('tokens', 'Tokens', 'num'),
      th('cost', 'Cost', 'num'), th('errors', 'Errors', 'num'))),
    tbody);
  const rest = h('p', { class: 'rest muted' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const results = h('section', { class: 'results', 'aria-label': 'Results' },
    status, errorBox,
    h('figure', { class: 'scatter' },
      chartHost,
      h('figcaption', { class: 'muted' },
        h('span', { class: 'legend-ok', 'aria-hidden': 'true' }, '●'), ' trace  ',
        h('span', { class: 'legend-err', 'aria-hidden': 'true' }, '■'), ' trace with errors  · ',
        'duration (log scale) over start time; a click or Enter opens the trace'),
      readout),
    h('div', { class: 'table-wrap' }, table),
    rest, more);

  const page = h('section', { class: 'page-traces' },
    h('h1', { class: 'visually-hidden' }, 'Traces'), form, results);
  root.append(page);

  const traceUrl = (t) => `/ui/trace/${t.trace_id}`;

  function row(t) {
    const maxDur = state.maxDurNs || 1;
    const services = t.services || [];
    const tr = h('tr', { 'data-id': t.trace_id, class: t.error_count ? 'has-error' : null },
      h('td', { class: 'mono nowrap', title: fmt.ago(t.start_unix_nano) },
        h('time', { datetime: new Date(t.startMs).toISOString() }, fmt.time(t.start_unix_nano))),
      h('td', { class: 'root' },
        h('a', { href: traceUrl(t), class: 'val', title: `trace ${t.trace_id}` },
          t.root_name ? t.root_name : h('em', null, '(root span not received)')),
        t.root_service ? h('span', { class: 'muted val svc-of-root' }, t.root_service) : null),
      h('td', { class: 'services' },
        services.slice(0, 3).map((s) => h('span', { class: 'chip val', title: s }, s)),
        services.length > 3 ? h('span', { class: 'muted', title: services.slice(3).join(', ') }, `+${services.length - 3}`) : null),
      h('td', { class: 'num nowrap' },
        h('span', { class: 'durbar', 'aria-hidden': 'true' },
          h('span', { style: { width: `${Math.max(1, Math.round((100 * t.durNs) / maxDur))}%` } })),
        fmt.duration(t.duration_ns)),
      h('td', { class: 'num nowrap' }, String(t.span_count),
        t.llm_calls ? h('span', { class: 'muted', title: `${t.llm_calls} LLM call(s)` }, ` · ${t.llm_calls} LLM`) : null),
      h('td', { class: 'num nowrap', title: `${t.input_tokens || 0} in, ${t.output_tokens || 0} out` },
        t.tokens ? `${fmt.tokens(t.input_tokens)} → ${fmt.tokens(t.output_tokens)}` : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num' }, t.cost ? fmt.money(t.cost) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num' }, t.error_count ? h('span', { class: 'badge err' }, String(t.error_count)) : h('span', { class: 'muted' }, '0')));
    rowById.set(t.trace_id, tr);
    return tr;
  }

  function sorted() {
    const key = state.sort.replace(/^-/, '');
    if (key === 'start' && !state.sort.startsWith('-')) return state.items;
    const f = SORTS[key];
    const dir = state.sort.startsWith('-') ? 1 : -1; // "-key" is ascending
    return [...state.items].sort((a, b) => dir * (f(a) - f(b)) || a.seq - b.seq);
  }

  function showSort() {
    const key = state.sort.replace(/^-/, '');
    const asc = state.sort.startsWith('-');
    for (const [k, b] of sortButtons) {
      const thEl = b.parentElement;
      if (k === key) thEl.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      else thEl.removeAttribute('aria-sort');
    }
  }

  // Rows are drawn a chunk at a time as the end of the table comes near: laying out a
  // thousand rows at once holds the page for a noticeable moment, while the data (and the
  // scatter) has them all from the start.
  let order = []; // the rows' order: the API's, or sorted
  let drawn = 0; // order[0..drawn) are in tbody
  function sync(reset) {
    // a new longest trace rescales every duration bar: redraw then
    const maxDur = state.items.reduce((m, t) => Math.max(m, t.durNs), 1);
    if (reset || state.sort !== 'start' || maxDur !== state.maxDurNs) {
      clear(tbody);
      rowById.clear();
      drawn = 0;
      order = sorted();
    } else {
      order = state.items;
    }
    state.maxDurNs = maxDur;
    const end = Math.min(order.length, state.want);
    const frag = document.createDocumentFragment();
    for (; drawn < end; drawn++) frag.append(row(order[drawn]));
    tbody.append(frag);
    rest.textContent = drawn < order.length
      ? `Showing ${drawn} of ${order.length} loaded traces; scroll down for more.` : '';
    // observing again reports the note at once if it is still in view
    observer.unobserve(rest);
    if (drawn < order.length) observer.observe(rest);
  }
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting) || drawn >= order.length) return;
    state.want = drawn + CHUNK;
    sync(false);
  }, { rootMargin: '0px 0px 600px 0px' });
  cleanups.push(() => observer.disconnect());

  table.querySelector('thead').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-sort]');
    if (!b) return;
    const key = b.dataset.sort;
    const cur = state.sort.replace(/^-/, '');
    state.sort = cur === key ? (state.sort.startsWith('-') ? key : `-${key}`) : key;
    const q = new URLSearchParams(location.search);
    if (state.sort === 'start') q.delete('sort'); else q.set('sort', state.sort);
    history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q}` : ''}`);
    showSort();
    state.want = CHUNK;
    sync(true);
  });
  // a click anywhere on a row opens its trace (the link itself stays the keyboard's way)
  tbody.addEventListener('click', (ev) => {
    if (ev.button !== 0 || ev.target.closest('a') || String(window.getSelection() || '')) return;
    const tr = ev.target.closest('tr[data-id]');
    if (tr) ctx.navigate(`/ui/trace/${tr.dataset.id}`);
  });
  tbody.addEventListener('mouseover', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) chart.mark(state.items.findIndex((t) => t.trace_id === tr.dataset.id), false);
  });

  // ---------------------------------------------------------------- scatter

  const chart = scatter(h, fmt, chartHost, readout, {
    open: (t) => ctx.navigate(traceUrl(t)),
    marked: (t) => {
      for (const tr of tbody.querySelectorAll('tr.hl')) tr.classList.remove('hl');
      const tr = t && rowById.get(t.trace_id);
      if (tr) tr.classList.add('hl');
    },
  });
  let frame = 0;
  const onResize = () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => chart.draw(state.items));
  };
  window.addEventListener('resize', onResize);
  cleanups.push(() => {
    window.removeEventListener('resize', onResize);
    cancelAnimationFrame(frame);
  });

  // ---------------------------------------------------------------- loading

  function apiParams(cursor) {
    const p = { limit: String(limit) };
    const { start, end } = timeBounds(query, state.nowMs);
    if (start) p.start = start;
    if (end) p.end = end;
    for (const name of PASSED) {
      const v = (query.get(name) || '').trim();
      if (v) p[name] = v;
    }
    if (cursor) p.cursor = cursor;
    return p;
  }

  function showStatus() {
    const n = state.items.length;
    status.textContent = n === 0 && !state.cursor ? 'No traces match this search.'
      : `${n} trace${n === 1 ? '' : 's'}${state.cursor ? ' loaded; more match' : ''}`;
    more.hidden = !state.cursor;
  }

  function fieldOf(message) {
    const m = /^(\w+):/.exec(message || '');
    if (!m) return null;
    const name = m[1] === 'start' || m[1] === 'end' ? 'range' : m[1];
    return form.elements.namedItem(name);
  }

  // Fetches pages until limit traces arrived or none are left: a page may come back short
  // (even empty) with a next_cursor when a filter stopped early to bound its work. At most
  // a few requests at a time, so that a rare filter never loops for long.
  async function load() {
    if (state.loading) return;
    state.loading = true;
    results.setAttribute('aria-busy', 'true');
    more.disabled = true;
    status.textContent = state.items.length ? 'Loading more…' : 'Loading…';
    const fresh = [];
    let failed = false;
    try {
      for (let i = 0; i < 8 && fresh.length < limit; i++) {
        if (i > 0 && !state.cursor) break;
        const r = await ctx.api.getJson('traces', apiParams(state.cursor));
        if (gone) return;
        for (const t of r.traces || []) {
          const startMs = Number(BigInt(t.start_unix_nano) / 1000000n);
          fresh.push({ ...t, startMs, durNs: Number(t.duration_ns),
            tokens: (t.input_tokens || 0) + (t.output_tokens || 0), seq: state.items.length + fresh.length });
        }
        state.cursor = r.next_cursor || null;
      }
      // more rows are drawn right away when every row so far was shown
      if (drawn === state.items.length) state.want = Math.max(state.want, drawn + CHUNK);
      state.items.push(...fresh);
      errorBox.hidden = true;
    } catch (e) {
      if (gone) return;
      failed = true;
      errorBox.hidden = false;
      clear(errorBox).append(h('strong', null, e.status ? `Search failed (${e.status}): ` : 'Search failed: '), String(e.message || e));
      const bad = fieldOf(e.message);
      if (bad) bad.setAttribute('aria-invalid', 'true');
    } finally {
      if (!gone) {
        state.loading = false;
        results.removeAttribute('aria-busy');
        more.disabled = false;
      }
    }
    if (gone) return;
    sync(false);
    chart.draw(state.items);
    if (failed) status.textContent = state.items.length ? `${state.items.length} traces loaded before the error` : '';
    else showStatus();
    page.setAttribute('data-ready', 'traces');
  }

  more.addEventListener('click', () => load());
  showSort();
  state.nowMs = Date.now();
  load().then(() => {
    if (!gone && focusResults) status.focus({ preventScroll: true });
    focusResults = false;
  });

  return () => {
    gone = true;
    for (const f of cleanups) f();
  };
}

// ------------------------------------------------------------------ the scatter plot

/** A power of ten of nanoseconds as an axis label: "1 ns", "10 µs", "100 ms", "10 s". */
function decade(e) {
  const unit = Math.max(0, Math.min(3, Math.floor(e / 3)));
  return `${10 ** (e - 3 * unit)} ${['ns', 'µs', 'ms', 's'][unit]}`;
}

/**
 * Duration over time as SVG: x the trace start, y the duration on a log scale, one point
 * per trace (a square when it has errors, larger with more spans). One focusable element:
 * arrow keys move between points (left/right in time, up/down in duration), Enter opens the
 * trace; the readout says which point is current. Clicks and hovers are handled on the SVG
 * (one listener each, not one per point).
 */
function scatter(h, fmt, host, readout, { open, marked }) {
  let items = [];
  let pts = []; // {i, x, y} in drawing order (by time)
  let byDur = []; // indices into pts, by duration
  let ring = null;
  let cur = -1; // index into pts

  function label(t) {
    return `${t.root_name || '(root span not received)'} — ${fmt.duration(t.duration_ns)}, ` +
      `${fmt.time(t.start_unix_nano)}, ${t.span_count} span${t.span_count === 1 ? '' : 's'}` +
      `${t.error_count ? `, ${t.error_count} error${t.error_count === 1 ? '' : 's'}` : ''}`;
  }

  function mark(p, announce = true) {
    cur = p;
    const pt = pts[p];
    if (!pt || !ring) {
      if (ring) ring.classList.remove('on');
      marked(null);
      return;
    }
    ring.setAttribute('cx', pt.x);
    ring.setAttribute('cy', pt.y);
    ring.classList.add('on');
    if (announce) readout.textContent = label(items[pt.i]);
    marked(items[pt.i]);
  }

  function draw(list) {
    items = list;
    while (host.firstChild) host.removeChild(host.firstChild);
    pts = [];
    if (!items.length) return;
    const W = Math.max(320, host.clientWidth || 960);
    const H = 170;
    const L = 64, R = 14, T = 10, B = 26;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const t of items) {
      const ly = Math.log10(Math.max(1, t.durNs));
      x0 = Math.min(x0, t.startMs); x1 = Math.max(x1, t.startMs);
      y0 = Math.min(y0, ly); y1 = Math.max(y1, ly);
    }
    if (x1 - x0 < 1000) { x0 -= 500; x1 += 500; }
    y0 = Math.floor(y0); y1 = Math.max(y0 + 1, Math.ceil(y1));
    const sx = (ms) => L + ((ms - x0) / (x1 - x0)) * (W - L - R);
    const sy = (ly) => T + (1 - (ly - y0) / (y1 - y0)) * (H - T - B);

    const axis = [];
    for (let e = y0; e <= y1; e++) {
      const y = sy(e);
      axis.push(h('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
      axis.push(h('text', { x: L - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tick' },
        decade(e)));
    }
    const span = x1 - x0;
    const n = Math.max(2, Math.min(6, Math.floor((W - L - R) / 140)));
    for (let k = 0; k <= n; k++) {
      const ms = x0 + (span * k) / n;
      const d = new Date(ms);
      const p = (v) => String(v).padStart(2, '0');
      const hms = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      const txt = span > 86400e3 ? `${p(d.getMonth() + 1)}-${p(d.getDate())} ${hms.slice(0, 5)}` : hms;
      axis.push(h('text', { x: sx(ms), y: H - 6, 'text-anchor': k === 0 ? 'start' : k === n ? 'end' : 'middle', class: 'tick' }, txt));
    }

    const order = items.map((t, i) => i).sort((a, b) => items[a].startMs - items[b].startMs || a - b);
    const dots = [];
    for (const i of order) {
      const t = items[i];
      const x = sx(t.startMs);
      const y = sy(Math.log10(Math.max(1, t.durNs)));
      const r = 2.5 + Math.min(5, Math.log2(Math.max(1, t.span_count)));
      const p = pts.length;
      pts.push({ i, x, y });
      dots.push(t.error_count
        ? h('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, class: 'pt err', 'data-p': p }, h('title', null, label(t)))
        : h('circle', { cx: x, cy: y, r, class: 'pt', 'data-p': p }, h('title', null, label(t))));
    }
    byDur = pts.map((_, p) => p).sort((a, b) => items[pts[a].i].durNs - items[pts[b].i].durNs || a - b);
    ring = h('circle', { r: 9, class: 'ring' });

    const svg = h('svg', {
      width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'scatter-svg', tabindex: '0', role: 'group',
      'aria-label': `Duration over time of ${items.length} traces. Arrow keys choose a trace, Enter opens it.`,
    }, h('g', { 'aria-hidden': 'true' }, axis), h('g', null, dots), ring);
    svg.addEventListener('click', (ev) => {
      const el = ev.target.closest('[data-p]');
      if (el) open(items[pts[Number(el.dataset.p)].i]);
    });
    svg.addEventListener('mouseover', (ev) => {
      const el = ev.target.closest('[data-p]');
      if (el) mark(Number(el.dataset.p));
    });
    svg.addEventListener('focus', () => { if (cur < 0 || cur >= pts.length) mark(pts.length - 1); });
    svg.addEventListener('keydown', (ev) => {
      let next = cur;
      const d = byDur.indexOf(cur);
      switch (ev.key) {
        case 'ArrowRight': next = Math.min(pts.length - 1, cur + 1); break;
        case 'ArrowLeft': next = Math.max(0, cur - 1); break;
        case 'ArrowUp': next = byDur[Math.min(byDur.length - 1, d + 1)]; break;
        case 'ArrowDown': next = byDur[Math.max(0, d - 1)]; break;
        case 'Home': next = 0; break;
        case 'End': next = pts.length - 1; break;
        case 'Enter': case ' ':
          if (pts[cur]) open(items[pts[cur].i]);
          ev.preventDefault();
          return;
        default: return;
      }
      ev.preventDefault();
      mark(next);
    });
    host.append(svg);
    if (cur >= pts.length) cur = -1;
    if (cur >= 0) mark(cur, false);
  }

  return {
    draw,
    // marks the point of items[i] (from the table); -1 clears
    mark(i, announce) { mark(pts.findIndex((pt) => pt.i === i), announce); },
  };
}
