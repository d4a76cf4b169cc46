// live.js — the live tail at /ui/live?service=&model=&status=&q=: spans as they arrive, newest
// on top. The page asks GET /api/live?after=CURSOR once a second (right away again while the
// server has more), keeps the last LIVE_CAPACITY spans (live_model.js), and filters them by
// service, model, status and text in the span name. Pause (the button, or the space key outside
// a field) freezes the table while spans keep being collected; Resume shows them. Each row links
// to its trace with the span selected.
//
// Service, model and status also go to the server, so a narrow filter keeps up with a busy
// server; the text is matched here. A filter applies to what is on screen at once and to what
// arrives next; it cannot bring back spans an earlier, narrower filter did not fetch.

import { LIVE_CAPACITY, LiveBuffer, distinct, filterFromQuery, filterToQuery, matches, rowOf, serverParams } from './live_model.js';

const LIVE = 'live';
const POLL_MS = 1000;
const FIRST_LIMIT = 200; // the newest spans shown on arrival
const LIMIT = 1000; // per poll; a full answer means the server has more: ask again at once
const MAX_BACKOFF_MS = 10000;

export async function render(root, params, ctx) {
  const { api, dom } = ctx;
  const { h } = dom;
  const filter = filterFromQuery(params.query);
  const buf = new LiveBuffer(LIVE_CAPACITY);
  const trOf = new WeakMap();
  let cursor = null;
  let paused = false;
  let newWhilePaused = 0;
  let timer = null;
  let stopped = false;
  let failures = 0;

  // ---- elements ----
  const status = h('p', { class: 'live-status', role: 'status', 'aria-live': 'polite' }, 'Connecting…');
  const serviceSel = h('select', { id: 'live-service' }, h('option', { value: '' }, 'All services'));
  if (filter.service) serviceSel.appendChild(h('option', { value: filter.service }, filter.service));
  serviceSel.value = filter.service;
  const modelIn = h('input', { id: 'live-model', type: 'text', list: 'live-models', placeholder: 'any', value: filter.model, autocomplete: 'off', spellcheck: 'false' });
  const models = h('datalist', { id: 'live-models' });
  const statusSel = h('select', { id: 'live-st' },
    h('option', { value: '' }, 'Any'), h('option', { value: 'error' }, 'Errors'), h('option', { value: 'ok' }, 'Not errors'));
  statusSel.value = filter.status;
  const textIn = h('input', { id: 'live-q', type: 'search', placeholder: 'text in the span name', value: filter.text, 'data-search': '', autocomplete: 'off', spellcheck: 'false' });
  const pauseBtn = h('button', { type: 'button', class: 'primary live-pause', 'aria-pressed': 'false', 'aria-keyshortcuts': 'Space' }, 'Pause');
  const clearBtn = h('button', { type: 'button', class: 'live-clear' }, 'Clear');
  const tbody = h('tbody', null);
  const empty = h('p', { class: 'muted live-empty' }, 'Waiting for spans…');
  const table = h('table', { class: 'live-table' },
    h('caption', { class: 'visually-hidden' }, 'Spans as they arrive, newest first'),
    h('thead', null, h('tr', null,
      ['Start', 'Service', 'Span', 'Model', 'Duration', 'Tokens', 'Cost', 'Status'].map((c, j) => h('th', { class: j >= 4 && j <= 6 ? 'num' : null }, c)))),
    tbody);

  const page = h('section', { class: 'live', 'aria-labelledby': 'live-title' },
    h('div', { class: 'live-head' }, h('h1', { id: 'live-title' }, 'Live tail'), status),
    h('form', { class: 'live-controls', role: 'search', 'aria-label': 'Filter the live tail', onsubmit: (ev) => ev.preventDefault() },
      field(h, 'live-service', 'Service', serviceSel),
      field(h, 'live-model', 'Model', modelIn), models,
      field(h, 'live-st', 'Status', statusSel),
      field(h, 'live-q', 'Span name', textIn),
      h('div', { class: 'live-buttons' }, pauseBtn, clearBtn)),
    h('div', { class: 'table-wrap' }, table),
    empty);
  root.appendChild(page);

  // ---- drawing ----
  const rowEl = (r) => {
    const t = r.start_unix_nano ? dom.time(r.start_unix_nano) : '';
    const tr = h('tr', { class: r.status === 'ERROR' ? 'err' : null },
      h('td', { class: 'mono nowrap', title: t }, t.slice(11)),
      h('td', null, h('span', { class: 'val' }, r.service)),
      h('td', { class: 'name' }, r.trace_id ? h('a', { class: 'val', href: `/ui/trace/${r.trace_id}${r.span_id ? `?span=${r.span_id}` : ''}`, title: `trace ${r.trace_id}` }, r.name || '(no name)') : h('span', { class: 'val' }, r.name)),
      h('td', null, h('span', { class: 'val' }, r.model)),
      h('td', { class: 'num nowrap' }, r.duration_ns ? dom.duration(r.duration_ns) : ''),
      h('td', { class: 'num nowrap' }, r.input_tokens === null && r.output_tokens === null ? '' : `${dom.tokens(r.input_tokens)} → ${dom.tokens(r.output_tokens)}`),
      h('td', { class: 'num nowrap' }, r.cost === null ? '' : dom.money(r.cost)),
      h('td', null, r.status === 'ERROR' ? h('span', { class: 'badge err' }, 'error') : r.status === 'OK' ? 'ok' : ''));
    trOf.set(r, tr);
    return tr;
  };

  const redraw = () => {
    dom.clear(tbody);
    const frag = document.createDocumentFragment();
    for (const r of buf.newest(filter)) frag.appendChild(rowEl(r));
    tbody.appendChild(frag);
    newWhilePaused = 0;
    showState();
  };

  const showState = (problem) => {
    const shown = tbody.childElementCount;
    empty.hidden = shown > 0;
    empty.textContent = buf.size ? 'No span kept matches the filter.' : 'Waiting for spans…';
    if (problem) {
      status.textContent = problem;
      status.classList.add('problem');
      return;
    }
    status.classList.remove('problem');
    const kept = `${shown} shown, ${buf.size} kept (the last ${LIVE_CAPACITY})`;
    status.textContent = paused
      ? `Paused · ${newWhilePaused} new ${newWhilePaused === 1 ? 'span' : 'spans'} since · ${kept}`
      : `Live · ${kept}`;
  };

  const applyFilter = () => {
    filter.service = serviceSel.value;
    filter.model = modelIn.value.trim();
    filter.status = statusSel.value;
    filter.text = textIn.value;
    const qs = filterToQuery(filter).toString();
    history.replaceState(null, '', `/ui/live${qs ? `?${qs}` : ''}`);
    redraw();
  };

  const setPaused = (p) => {
    paused = p;
    pauseBtn.textContent = p ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(p));
    page.classList.toggle('paused', p);
    if (!p) redraw();
    else showState();
  };

  // ---- polling ----
  const take = (spans) => {
    const { added, dropped } = buf.add(spans.map(rowOf));
    const fresh = added.filter((r) => matches(r, filter));
    if (paused) {
      newWhilePaused += fresh.length;
      return;
    }
    for (const r of dropped) {
      const tr = trOf.get(r);
      if (tr) tr.remove();
    }
    if (fresh.length) {
      const frag = document.createDocumentFragment();
      for (let i = fresh.length - 1; i >= 0; i--) frag.appendChild(rowEl(fresh[i]));
      tbody.insertBefore(frag, tbody.firstChild);
    }
    if (added.length) refreshModels();
  };

  let modelList = '';
  const refreshModels = () => {
    const want = distinct(buf.newest(), 'model', 100);
    if (want.join('\n') === modelList) return;
    modelList = want.join('\n');
    dom.clear(models);
    for (const m of want) models.appendChild(h('option', { value: m }));
  };

  const poll = async () => {
    timer = null;
    if (stopped || !page.isConnected) return;
    let delay = POLL_MS;
    try {
      const first = cursor === null;
      const data = await api.getJson(LIVE, { ...serverParams(filter), after: first ? '' : cursor, limit: first ? FIRST_LIMIT : LIMIT });
      if (stopped) return;
      failures = 0;
      const spans = Array.isArray(data.spans) ? data.spans : [];
      if (data.next !== undefined && data.next !== null) cursor = String(data.next);
      take(spans);
      if (!first && spans.length >= LIMIT) delay = 50;
      showState();
    } catch (e) {
      if (stopped) return;
      if (e.status === 404) {
        showState('This server does not answer GET /api/live, so there is no live tail (an older llmtrace?).');
        page.dataset.ready = 'live';
        return;
      }
      failures++;
      delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures);
      showState(`GET /api/live failed (${e.message || e}); trying again in ${Math.round(delay / 1000)} s.`);
    }
    page.dataset.ready = 'live';
    if (!stopped) timer = setTimeout(poll, delay);
  };

  // ---- events ----
  for (const el of [serviceSel, statusSel]) el.addEventListener('change', applyFilter);
  modelIn.addEventListener('change', applyFilter);
  let typing = null;
  textIn.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 150);
  });
  pauseBtn.addEventListener('click', () => setPaused(!paused));
  clearBtn.addEventListener('click', () => {
    buf.clear();
    redraw();
  });
  const onKey = (ev) => {
    if (ev.key !== ' ' || ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON|SUMMARY|A)$/.test(t.tagName))) return;
    ev.preventDefault();
    setPaused(!paused);
  };
  document.addEventListener('keydown', onKey);

  // the services list for the filter; without it the filter still takes the URL's value
  api.getJson('services').then((d) => {
    for (const s of (d && d.services) || []) {
      if (s !== filter.service) serviceSel.appendChild(h('option', { value: s }, s));
    }
  }, () => {});

  showState();
  poll(); // marks the page ready once the first answer is drawn
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(typing);
    document.removeEventListener('keydown', onKey);
  };
}

function field(h, id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}
