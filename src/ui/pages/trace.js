// trace.js — the Trace page (/ui/trace/{id}): the trace's totals, a waterfall of its span tree
// on a time axis with GenAI badges and the critical path, and a detail panel for one span.
//
// The waterfall is virtualised: rows have one fixed height, the canvas is as tall as all rows,
// and only the rows in view plus a margin exist in the DOM, absolutely placed by their
// position. Scrolling reads scrollTop once per animation frame; the viewport height is kept
// by a ResizeObserver, so no row ever triggers a layout read. The tree, the row order and the
// critical path come from trace_model.js (pure, O(n log n)). Everything from the trace goes
// in as text (dom.h); long strings are folded to their first few KB behind "show all".

import {
  buildTrace, parseNs, visibleRows, ancestors, criticalPath, timeTicks, barBox, genaiSummary, isError,
  conversation, rankDocuments, valueText, filterAttributes, foldText, findSpans,
} from './trace_model.js';

const ROW_H = 24; // px; must match .wf-row in trace.css
const MARGIN = 15; // rows rendered beyond each edge of the viewport
const FOLD = 4096; // characters of a value shown before "show all"
const CLIP = 300; // characters of a name in a row or a heading
const BLOCK = 2048; // characters per paragraph of a long text (see appendText)
const LONG_RUN = /\S{64}/; // a run of characters without a space that may break anywhere
const SLICE = 32768; // characters of a long text added per animation frame by "show all"
// px of indentation at a tree level: 12 a level for the first 10, then 3 a level up to 40,
// so a deep tree still leaves room for names
const indent = (depth) => Math.min(depth, 10) * 12 + Math.max(0, Math.min(depth, 40) - 10) * 3 + 4;
const ATTR_PAGE = 500; // attribute rows rendered before "show more"
const TABS = [['overview', 'Overview'], ['messages', 'Messages'], ['documents', 'Documents'],
  ['attributes', 'Attributes'], ['events', 'Events/Logs']];
const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

const isHighSurrogate = (c) => c >= 0xd800 && c <= 0xdbff;
const clip = (s, n = CLIP) => {
  const t = String(s);
  return t.length > n ? `${foldText(t, n).head}…` : t;
};

export async function render(root, params, ctx) {
  const { h } = ctx.dom;
  const fmt = ctx.dom;
  const id = params.id;
  performance.mark('llmtrace:trace:start');
  const here = location.pathname;
  const json = await ctx.api.getJson(`traces/${id}`);
  // the user went elsewhere while the trace loaded: the root belongs to another page now
  if (location.pathname !== here) return undefined;
  const m = buildTrace(json);
  const cp = criticalPath(m);
  const n = m.nodes.length;
  // ns since the trace's start of an absolute time string; null when it is absent or zero
  const rel = (ns) => {
    const v = parseNs(ns);
    return v === 0n ? null : Number(v - m.t0);
  };
  const summaries = new Array(n); // genaiSummary per node, made when a row first needs it
  const summary = (i) => (summaries[i] === undefined ? (summaries[i] = genaiSummary(m.nodes[i].span)) : summaries[i]);

  // ---- state ----
  const collapsed = new Uint8Array(n);
  let rows = visibleRows(m, collapsed);
  const posOf = new Int32Array(n);
  let sel = -1; // the highlighted row (keyboard)
  let opened = -1; // the span in the detail panel
  let tab = TABS.some(([t]) => t === params.query.get('tab')) ? params.query.get('tab') : 'overview';
  let matches = [];
  let matchSet = new Uint8Array(n);
  let matchAt = -1;
  const live = new Map(); // display position → row element
  let viewH = 600;
  let raf = 0;
  let findTimer = 0;
  let attrTimer = 0;

  const indexRows = () => {
    posOf.fill(-1);
    for (let p = 0; p < rows.length; p++) posOf[rows[p]] = p;
  };
  indexRows();

  // ---- head: title, links, totals ----
  const rootNode = m.roots.length ? m.nodes[m.roots[0]] : null;
  const compareInput = h('input', { id: 'tp-compare-id', type: 'text', placeholder: 'other trace id', 'aria-describedby': 'tp-compare-msg' });
  const compareMsg = h('span', { id: 'tp-compare-msg', class: 'tp-compare-msg', role: 'status' });
  const compareForm = h('form', { class: 'tp-compare', onsubmit: (ev) => {
    ev.preventDefault();
    const other = compareInput.value.trim().toLowerCase();
    if (!HEX32.test(other)) compareMsg.textContent = 'A trace id is 32 hex digits.';
    else if (other === id) compareMsg.textContent = 'That is this trace.';
    else ctx.navigate(`/ui/compare/${id}/${other}`);
  } }, h('label', { for: 'tp-compare-id' }, 'Compare with…'), compareInput,
  h('button', { type: 'submit' }, 'Compare'), compareMsg);

  const head = h('div', { class: 'tp-head' },
    h('h1', { class: 'tp-title' },
      h('span', { class: 'val' }, rootNode ? clip(rootNode.span.name || '(no name)') : '(empty trace)'),
      rootNode ? h('span', { class: 'tp-svc val' }, clip(rootNode.service)) : null),
    h('div', { class: 'tp-meta' }, h('code', null, id), n ? ` · started ${fmt.time(String(m.t0))}` : null),
    h('div', { class: 'tp-links' },
      h('a', { href: `/ui/trace/${id}/graph`, class: 'tp-graph' }, 'Agent graph'), compareForm));

  const tot = m.totals || { span_count: n, duration_ns: String(m.total) };
  const stat = (label, value, sub, cls) => h('div', { class: `tp-stat${cls ? ` ${cls}` : ''}` },
    h('dt', null, label), h('dd', null, value, sub ? h('small', null, sub) : null));
  const num = (v) => Number(v) || 0;
  const totals = h('dl', { class: 'tp-totals', 'aria-label': 'Trace totals' },
    stat('Duration', fmt.duration(tot.duration_ns)),
    stat('Spans', String(num(tot.span_count)), num(tot.error_count) ? `${num(tot.error_count)} with errors` : null,
      num(tot.error_count) ? 'has-err' : null),
    stat('Services', String(m.services.size)),
    stat('LLM calls', String(num(tot.llm_calls))),
    stat('Input tokens', fmt.tokens(tot.input_tokens),
      `cache read ${fmt.tokens(tot.cache_read_tokens)} · cache write ${fmt.tokens(tot.cache_creation_tokens)}`),
    stat('Output tokens', fmt.tokens(tot.output_tokens), `reasoning ${fmt.tokens(tot.reasoning_tokens)}`),
    stat('Cost', fmt.money(tot.cost), num(tot.unpriced_calls) ? `${num(tot.unpriced_calls)} ${num(tot.unpriced_calls) === 1 ? 'call' : 'calls'} without a price` : null));

  // ---- waterfall ----
  const ticks = timeTicks(m.total, 5);
  const tickLabel = (t, k) => h('span', {
    class: `wf-tick${k === 0 ? ' first' : ''}${t.pct > 92 ? ' last' : ''}`, style: { left: `${t.pct}%` },
  }, fmt.duration(Math.round(t.at)));
  const axis = h('div', { class: 'wf-axis', 'aria-hidden': 'true' },
    h('div', { class: 'wf-axis-name' }, 'Service · span'),
    h('div', { class: 'wf-axis-time' }, ticks.map(tickLabel)));
  const grid = h('div', { class: 'wf-grid', 'aria-hidden': 'true' },
    ticks.map((t) => h('span', { style: { left: `${t.pct}%` } })));
  const canvas = h('div', { class: 'wf-canvas' }, grid);
  const view = h('div', {
    class: 'wf-view', tabindex: '0', role: 'tree', 'aria-label': 'Span tree, use arrow keys; Enter opens a span',
  }, canvas);

  const findInput = h('input', { type: 'search', class: 'wf-find', placeholder: 'Find spans', 'data-search': '', 'aria-label': 'Find spans by name, service, model, agent or tool' });
  const findCount = h('span', { class: 'wf-find-count', role: 'status' });
  const tools = h('div', { class: 'wf-tools' },
    h('button', { type: 'button', onclick: () => setAll(0) }, 'Expand all'),
    h('button', { type: 'button', onclick: () => setAll(1) }, 'Collapse all'),
    findInput, findCount,
    h('span', { class: 'wf-legend' }, h('span', { class: 'wf-legend-cp', 'aria-hidden': 'true' }), 'critical path'),
    h('span', { class: 'wf-legend' }, h('span', { class: 'wf-legend-err', 'aria-hidden': 'true' }), 'error'));

  const detail = h('aside', { class: 'dp', 'aria-label': 'Span detail' });
  const page = h('div', { class: 'tp' }, head, totals,
    h('div', { class: 'tp-body' }, h('section', { class: 'wf', 'aria-label': 'Waterfall' }, tools, axis, view), detail));
  root.appendChild(page);

  function rowEl(i, p) {
    const nd = m.nodes[i];
    const s = nd.span;
    const g = summary(i);
    const err = isError(s);
    const kids = nd.children.length;
    const closed = kids && collapsed[i];
    const box = barBox(m, i);
    const cls = ['wf-row'];
    if (err) cls.push('err');
    if (cp.onPath[i]) cls.push('crit');
    if (i === sel) cls.push('sel');
    if (i === opened) cls.push('open');
    if (matchSet[i]) cls.push('match');
    const bar = h('div', { class: `wf-bar svc-${nd.serviceIndex % 8}`, style: { left: `${box.left}%`, width: `${box.width}%` } });
    const span = nd.end - nd.start;
    if (span > 0) {
      for (const [a, b] of cp.byNode.get(i) || []) {
        bar.appendChild(h('span', { class: 'wf-cp', style: { left: `${((a - nd.start) / span) * 100}%`, width: `${((b - a) / span) * 100}%` } }));
      }
      const evs = Array.isArray(s.events) ? s.events : [];
      for (let k = 0; k < evs.length && k < 50; k++) {
        const t = rel(evs[k] && evs[k].time_unix_nano);
        const at = t === null ? -1 : t - nd.start;
        if (at < 0 || at > span) continue;
        bar.appendChild(h('span', { class: `wf-ev${evs[k].name === 'exception' ? ' exc' : ''}`, style: { left: `${(at / span) * 100}%` } }));
      }
    }
    // the label goes on the side of the bar with more room, or inside a bar that fills the axis
    const roomR = 100 - box.left - box.width;
    const side = roomR >= 30 || roomR >= box.left ? (roomR >= 20 ? 'r' : 'in') : (box.left >= 20 ? 'l' : 'in');
    // the duration sits next to the bar, so a label cut at the axis's edge loses badges first
    const dur = h('span', { class: 'wf-dur' }, fmt.duration(span));
    const label = h('span', {
      class: `wf-blabel ${side}`,
      style: side === 'r' ? { left: `${box.left + box.width}%` } : side === 'l' ? { right: `${100 - box.left}%` } : { left: `${box.left}%` },
    }, side === 'l' ? [g ? badges(g) : null, dur] : [dur, g ? badges(g) : null]);
    return h('div', {
      class: cls.join(' '), role: 'treeitem', id: `wf-r-${i}`, 'data-i': i, 'data-span-id': clip(nd.id, 64),
      'aria-level': nd.depth + 1, 'aria-setsize': nd.siblings, 'aria-posinset': nd.sibling + 1,
      'aria-expanded': kids ? String(!closed) : null, 'aria-selected': String(i === sel),
      style: { transform: `translateY(${p * ROW_H}px)` },
    },
    h('div', { class: 'wf-name', style: { paddingLeft: `${indent(nd.depth)}px` } },
      h('span', { class: 'wf-tog', 'aria-hidden': 'true' }, kids ? (closed ? '▸' : '▾') : ''),
      g ? h('span', { class: `op op-${g.category}`, title: g.op || 'GenAI' }, g.glyph) : null,
      err ? h('span', { class: 'wf-errmark', title: 'error' }, '!') : null,
      h('span', { class: 'wf-label', title: clip(s.name || '', 1000) }, clip(s.name || '(no name)')),
      h('span', { class: 'wf-svc' }, clip(nd.service, 80)),
      closed ? h('span', { class: 'wf-hidden' }, `+${m.endPos[i] - m.position[i] - 1}`) : null),
    h('div', { class: 'wf-time' }, bar, label));
  }

  function badges(g) {
    const out = [];
    if (g.agent) out.push(h('span', { class: 'wf-badge b-agent', title: 'agent' }, clip(g.agent, 60)));
    if (g.tool) out.push(h('span', { class: 'wf-badge b-tool', title: 'tool' }, clip(g.tool, 60)));
    if (g.model && (g.category === 'llm' || g.category === 'embed' || !g.agent)) out.push(h('span', { class: 'wf-badge b-model', title: 'model' }, clip(g.model, 60)));
    if (g.input !== null || g.output !== null) {
      const t = `input ${g.input ?? '–'}${g.cacheRead ? ` (cache read ${g.cacheRead})` : ''} → output ${g.output ?? '–'}${g.reasoning ? ` (reasoning ${g.reasoning})` : ''}`;
      out.push(h('span', { class: 'wf-badge b-tok', title: t }, `${g.input === null ? '–' : fmt.tokens(g.input)}→${g.output === null ? '–' : fmt.tokens(g.output)}`));
    }
    if (g.cost !== null) out.push(h('span', { class: 'wf-badge b-cost', title: `cost (${g.costSource || 'sent'})` }, fmt.money(g.cost)));
    if (g.ttft !== null) out.push(h('span', { class: 'wf-badge b-ttft', title: 'time to first token' }, `TTFT ${fmt.duration(Math.round(g.ttft * 1e9))}`));
    return out;
  }

  // Puts the rows between the viewport's edges (plus MARGIN) into the DOM and takes the others out.
  function paint() {
    raf = 0;
    const top = view.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_H) - MARGIN);
    const last = Math.min(rows.length, Math.ceil((top + viewH) / ROW_H) + MARGIN);
    for (const [p, el] of live) {
      if (p < first || p >= last) { el.remove(); live.delete(p); }
    }
    const frag = document.createDocumentFragment();
    for (let p = first; p < last; p++) {
      if (live.has(p)) continue;
      const el = rowEl(rows[p], p);
      live.set(p, el);
      frag.appendChild(el);
    }
    canvas.appendChild(frag);
  }
  const schedule = () => { if (!raf) raf = requestAnimationFrame(paint); };
  function repaintAll() {
    for (const el of live.values()) el.remove();
    live.clear();
    canvas.style.height = `${rows.length * ROW_H}px`;
    paint();
  }
  function refreshRow(i) {
    if (i < 0 || posOf[i] < 0) return;
    const old = live.get(posOf[i]);
    if (!old) return;
    const el = rowEl(i, posOf[i]);
    old.replaceWith(el);
    live.set(posOf[i], el);
  }

  // ---- selection, collapse, keyboard ----
  function select(i, { center = false } = {}) {
    if (i < 0 || i >= n) return;
    const prev = sel;
    sel = i;
    refreshRow(prev);
    const p = posOf[i];
    if (p >= 0) {
      const y = p * ROW_H;
      if (center) view.scrollTop = Math.max(0, y - viewH / 2);
      else if (y < view.scrollTop) view.scrollTop = y;
      else if (y + ROW_H > view.scrollTop + viewH) view.scrollTop = y + ROW_H - viewH;
    }
    paint();
    refreshRow(i);
    view.setAttribute('aria-activedescendant', `wf-r-${i}`);
  }
  function reveal(i) {
    let changed = false;
    for (const a of ancestors(m, i)) if (collapsed[a]) { collapsed[a] = 0; changed = true; }
    if (changed) relayout();
  }
  function relayout() {
    rows = visibleRows(m, collapsed);
    indexRows();
    if (sel >= 0 && posOf[sel] < 0) {
      const up = ancestors(m, sel).reverse().find((a) => posOf[a] >= 0);
      sel = up === undefined ? rows[0] ?? -1 : up;
    }
    repaintAll();
    if (sel >= 0) select(sel);
  }
  function toggle(i, state) {
    if (!m.nodes[i].children.length) return;
    collapsed[i] = state === undefined ? (collapsed[i] ? 0 : 1) : state;
    relayout();
  }
  function setAll(state) {
    for (let i = 0; i < n; i++) collapsed[i] = state && m.nodes[i].children.length ? 1 : 0;
    relayout();
  }
  function move(delta) {
    if (!rows.length) return;
    const p = sel >= 0 && posOf[sel] >= 0 ? posOf[sel] : 0;
    select(rows[Math.max(0, Math.min(rows.length - 1, p + delta))]);
  }

  view.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const pageRows = Math.max(1, Math.floor(viewH / ROW_H) - 1);
    const nd = sel >= 0 ? m.nodes[sel] : null;
    switch (ev.key) {
      case 'ArrowDown': move(1); break;
      case 'ArrowUp': move(-1); break;
      case 'PageDown': move(pageRows); break;
      case 'PageUp': move(-pageRows); break;
      case 'Home': move(-rows.length); break;
      case 'End': move(rows.length); break;
      case 'ArrowRight':
        if (!nd) move(0);
        else if (nd.children.length && collapsed[sel]) toggle(sel, 0);
        else if (nd.children.length) select(nd.children[0]);
        break;
      case 'ArrowLeft':
        if (!nd) move(0);
        else if (nd.children.length && !collapsed[sel]) toggle(sel, 1);
        else if (nd.parent >= 0) select(nd.parent);
        break;
      case 'Enter': case ' ':
        if (sel >= 0) open(sel);
        break;
      default: return;
    }
    ev.preventDefault();
  });
  view.addEventListener('focus', () => { if (sel < 0 && rows.length) select(rows[0]); });
  view.addEventListener('scroll', schedule, { passive: true });
  canvas.addEventListener('click', (ev) => {
    const row = ev.target.closest('.wf-row');
    if (!row) return;
    const i = Number(row.dataset.i);
    if (ev.target.closest('.wf-tog')) { select(i); toggle(i); } else { select(i); open(i); }
    view.focus({ preventScroll: true });
  });
  const ro = new ResizeObserver((entries) => {
    for (const e of entries) viewH = e.contentRect.height || viewH;
    schedule();
  });
  ro.observe(view);

  // ---- find ----
  function runFind() {
    findTimer = 0;
    matches = findSpans(m, findInput.value.trim());
    matchSet = new Uint8Array(n);
    for (const i of matches) matchSet[i] = 1;
    matchAt = -1;
    findCount.textContent = findInput.value.trim() ? `${matches.length} found` : '';
    repaintAll();
  }
  findInput.addEventListener('input', () => { clearTimeout(findTimer); findTimer = setTimeout(runFind, 150); });
  findInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { findInput.value = ''; runFind(); return; }
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    if (findTimer) { clearTimeout(findTimer); runFind(); }
    if (!matches.length) return;
    matchAt = (matchAt + (ev.shiftKey ? -1 : 1) + matches.length) % matches.length;
    findCount.textContent = `${matchAt + 1} of ${matches.length}`;
    reveal(matches[matchAt]);
    select(matches[matchAt], { center: true });
    open(matches[matchAt]);
  });

  // ---- detail panel ----
  // The span and tab the user chose go into the address bar (replacing the entry), so a reload
  // or a shared link shows them; what the page opens by itself leaves the URL as it was.
  function remember() {
    const url = new URL(location.href);
    url.searchParams.set('span', m.nodes[opened].id);
    url.searchParams.set('tab', tab);
    history.replaceState(history.state, '', url.pathname + url.search);
  }

  function open(i, { record = true } = {}) {
    const prev = opened;
    opened = i;
    refreshRow(prev);
    refreshRow(i);
    if (record) remember();
    renderDetail();
  }

  // Long text costs the browser's line breaker time that grows faster than its length (one
  // paragraph, one huge word, bidi runs: a 1 MB value took minutes to lay out). So text goes in
  // as paragraphs of at most BLOCK characters, cut after a newline or a space where there is
  // one; trace.css skips the layout of paragraphs out of view, and lets a paragraph with a run
  // of RUN characters without a space break anywhere. The characters are unchanged. Appends
  // the paragraphs of t that start in [from, until) and returns where it stopped.
  function appendText(el, t, from = 0, until = t.length) {
    let i = from;
    while (i < t.length && i < until) {
      let j = Math.min(t.length, i + BLOCK);
      if (j < t.length) {
        const nl = t.lastIndexOf('\n', j - 1);
        const sp = t.lastIndexOf(' ', j - 1);
        if (nl >= i + BLOCK / 2) j = nl + 1;
        else if (sp >= i + BLOCK / 2) j = sp + 1;
        else if (isHighSurrogate(t.charCodeAt(j - 1))) j--;
      }
      const part = t.slice(i, j);
      if (i === 0 && j === t.length) el.appendChild(document.createTextNode(part));
      else el.appendChild(h('span', { class: LONG_RUN.test(part) ? 'chunk dense' : 'chunk' }, part));
      i = j;
    }
    return i;
  }

  function folded(text, limit = FOLD, cls = 'val') {
    const t = String(text);
    const { head: shown, hidden } = foldText(t, limit);
    // a text of several paragraphs is a block of its own
    const el = h('span', { class: t.length > BLOCK ? `${cls} long` : cls });
    appendText(el, shown);
    if (!hidden) return el;
    const more = h('button', { type: 'button', class: 'fold-more' }, `… show all (${fmt.tokens(hidden)} more characters)`);
    // the rest goes in a slice per frame, so a megabyte never blocks the page for long
    more.addEventListener('click', () => {
      more.disabled = true;
      more.textContent = 'showing all…';
      ctx.dom.clear(el);
      let at = appendText(el, t, 0, SLICE);
      const step = () => {
        if (!el.isConnected) return;
        at = appendText(el, t, at, at + SLICE);
        if (at < t.length) requestAnimationFrame(step);
        else more.remove();
      };
      requestAnimationFrame(step);
    });
    return h('span', { class: 'folded' }, el, more);
  }
  const block = (text) => h('div', { class: 'pre' }, folded(text));
  const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter((p) => p && p[1] !== null && p[1] !== undefined && p[1] !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v instanceof Node ? v : folded(v))]));
  const section = (title, ...body) => h('section', { class: 'dp-sec' }, h('h3', null, title), ...body);
  const empty = (text) => h('p', { class: 'muted' }, text);

  // The tabs stay (their buttons keep their identity); only the panel is drawn again.
  let panel = null;
  let tabButtons = [];
  let spanData = null;
  function switchTab(t, { focus = false } = {}) {
    tab = t;
    if (opened < 0) return;
    remember();
    for (const b of tabButtons) {
      const on = b.dataset.tab === t;
      b.setAttribute('aria-selected', String(on));
      b.setAttribute('tabindex', on ? '0' : '-1');
      if (on && focus) b.focus();
    }
    drawPanel();
  }

  function drawPanel() {
    ctx.dom.clear(panel);
    panel.setAttribute('aria-labelledby', `dp-tab-${tab}`);
    const body = { overview, messages, documents, attributes, events }[tab];
    panel.append(...[].concat(body(m.nodes[opened], spanData)).filter(Boolean));
  }

  function renderDetail() {
    ctx.dom.clear(detail);
    if (opened < 0) { detail.appendChild(empty('Select a span.')); return; }
    const nd = m.nodes[opened];
    const s = nd.span;
    const convo = conversation(s.messages);
    const docs = rankDocuments(s.documents);
    spanData = { convo, docs };
    const nAttrs = s.attributes && typeof s.attributes === 'object' ? Object.keys(s.attributes).length : 0;
    const nEv = (Array.isArray(s.events) ? s.events.length : 0) + (Array.isArray(s.logs) ? s.logs.length : 0);
    const counts = { overview: null, messages: convo.length, documents: docs.length, attributes: nAttrs, events: nEv };
    panel = h('div', { class: 'dp-panel', role: 'tabpanel', id: 'dp-panel', tabindex: '0' });
    tabButtons = TABS.map(([t, label]) => h('button', {
      type: 'button', role: 'tab', id: `dp-tab-${t}`, class: 'dp-tab', 'aria-selected': String(t === tab),
      'aria-controls': 'dp-panel', tabindex: t === tab ? '0' : '-1', 'data-tab': t,
      onclick: () => switchTab(t),
    }, label, counts[t] ? [' ', h('span', { class: 'dp-count' }, String(counts[t]))] : null));
    const tablist = h('div', { class: 'dp-tabs', role: 'tablist', 'aria-label': 'Span detail' }, tabButtons);
    tablist.addEventListener('keydown', (ev) => {
      const k = TABS.findIndex(([t]) => t === tab);
      let to = -1;
      if (ev.key === 'ArrowRight') to = (k + 1) % TABS.length;
      else if (ev.key === 'ArrowLeft') to = (k - 1 + TABS.length) % TABS.length;
      else if (ev.key === 'Home') to = 0;
      else if (ev.key === 'End') to = TABS.length - 1;
      if (to < 0) return;
      ev.preventDefault();
      switchTab(TABS[to][0], { focus: true });
    });
    const status = s.status && typeof s.status === 'object' ? s.status : {};
    detail.append(
      h('div', { class: 'dp-head' },
        h('h2', { class: 'val', title: clip(s.name || '', 1000) }, clip(s.name || '(no name)')),
        h('div', { class: 'dp-sub' },
          h('span', { class: 'val' }, clip(nd.service, 120)),
          h('span', { class: 'val' }, ` · ${clip(valueText(s.kind || ''), 40)} · ${fmt.duration(nd.end - nd.start)}`),
          isError(s) ? h('span', { class: 'tp-chip err' }, 'ERROR') : status.code === 'OK' ? h('span', { class: 'tp-chip ok' }, 'OK') : null)),
      tablist, panel);
    drawPanel();
  }

  function overview(nd) {
    const s = nd.span;
    const g = summary(nd.index);
    const raw = s.genai && typeof s.genai === 'object' ? s.genai : null;
    const out = [];
    if (g) {
      const tokensText = [
        g.input !== null ? `${g.input} in` : null,
        g.cacheRead ? `${g.cacheRead} cache read` : null,
        g.cacheCreation ? `${g.cacheCreation} cache write` : null,
        g.output !== null ? `${g.output} out` : null,
        g.reasoning ? `${g.reasoning} reasoning` : null,
      ].filter(Boolean).join(' · ');
      const req = raw['gen_ai.request.model'];
      const resp = raw['gen_ai.response.model'];
      const shown = new Set(['gen_ai.operation.name', 'gen_ai.provider.name', 'gen_ai.request.model', 'gen_ai.response.model',
        'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.cache_read.input_tokens',
        'gen_ai.usage.cache_creation.input_tokens', 'gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.cost',
        'cost_source', 'gen_ai.response.time_to_first_chunk', 'output_tokens_per_second', 'gen_ai.agent.name',
        'gen_ai.agent.id', 'gen_ai.tool.name', 'gen_ai.tool.call.id', 'gen_ai.tool.type', 'gen_ai.data_source.id']);
      out.push(section('GenAI', kv([
        ['Operation', h('span', null, h('span', { class: `op op-${g.category}`, 'aria-hidden': 'true' }, g.glyph), ' ', g.op || '(none)')],
        ['Provider', g.provider],
        ['Model', req && resp && req !== resp ? `${valueText(req)} → ${valueText(resp)}` : g.model],
        ['Tokens', tokensText],
        ['Cost', g.cost !== null ? `${fmt.money(g.cost)}${g.costSource ? ` (${g.costSource})` : ''}` : null],
        ['Time to first token', g.ttft !== null ? fmt.duration(Math.round(g.ttft * 1e9)) : null],
        ['Output rate', typeof raw.output_tokens_per_second === 'number' ? `${raw.output_tokens_per_second.toFixed(1)} tokens/s` : null],
        ['Agent', [g.agent, raw['gen_ai.agent.id'] && raw['gen_ai.agent.id'] !== g.agent ? `(${valueText(raw['gen_ai.agent.id'])})` : ''].filter(Boolean).join(' ')],
        ['Tool', [g.tool, raw['gen_ai.tool.type'] ? `[${valueText(raw['gen_ai.tool.type'])}]` : '', raw['gen_ai.tool.call.id'] ? `call ${valueText(raw['gen_ai.tool.call.id'])}` : ''].filter(Boolean).join(' ')],
        ['Data source', g.dataSource],
        ...Object.keys(raw).filter((k) => !shown.has(k)).map((k) => [k, valueText(raw[k])]),
      ])));
    }
    const cpTime = (cp.byNode.get(nd.index) || []).reduce((a, [x, y]) => a + (y - x), 0);
    out.push(section('Timing', kv([
      ['Start', fmt.time(String(m.t0 + BigInt(nd.start)))],
      ['Offset', `+${fmt.duration(nd.start)}`],
      ['Duration', fmt.duration(nd.end - nd.start)],
      ['Critical path', cp.onPath[nd.index] ? `on the path, ${fmt.duration(cpTime)} of it in this span itself` : 'not on the path'],
    ])));
    const st = s.status && typeof s.status === 'object' ? s.status : {};
    const exc = (Array.isArray(s.events) ? s.events : []).filter((e) => e && e.name === 'exception');
    out.push(section('Status', kv([
      ['Code', valueText(st.code || 'UNSET')],
      ['Message', st.message ? valueText(st.message) : null],
      ['Error type', g && g.errorType ? g.errorType : null],
    ]), exc.map((e) => {
      const a = e.attributes && typeof e.attributes === 'object' ? e.attributes : {};
      return h('div', { class: 'exc' },
        h('strong', { class: 'val' }, valueText(a['exception.type'] ?? 'exception')), ' ',
        a['exception.message'] !== undefined ? folded(valueText(a['exception.message'])) : null,
        a['exception.stacktrace'] !== undefined ? block(valueText(a['exception.stacktrace'])) : null);
    })));
    const parentCell = nd.parent >= 0
      ? h('button', { type: 'button', class: 'linkish', onclick: () => { reveal(nd.parent); select(nd.parent, { center: true }); open(nd.parent); } }, m.nodes[nd.parent].id)
      : (s.parent_span_id ? `${clip(valueText(s.parent_span_id), 64)} (not in this trace)` : '(root)');
    const scope = s.scope && typeof s.scope === 'object' ? s.scope : {};
    const links = (Array.isArray(s.links) ? s.links : []).filter((l) => l && typeof l === 'object');
    out.push(section('Span', kv([
      ['Span id', clip(nd.id, 64)],
      ['Parent', parentCell],
      ['Kind', valueText(s.kind || '')],
      ['Service', nd.service],
      ['Scope', [scope.name, scope.version].filter((x) => typeof x === 'string' && x).join(' ')],
      ['Note', [nd.orphan ? 'its parent span is not in this trace' : '', nd.cycle ? 'its parent links loop; shown as a root' : '',
        nd.duplicate ? 'another span has the same id' : ''].filter(Boolean).join('; ') || null],
    ]), links.length ? h('ul', { class: 'links' }, links.map((l) => {
      const tid = typeof l.trace_id === 'string' ? l.trace_id : '';
      const sid = typeof l.span_id === 'string' ? l.span_id : '';
      const text = `${clip(tid, 64)} / ${clip(sid, 64)}`;
      return h('li', null, HEX32.test(tid) && HEX16.test(sid) ? h('a', { href: `/ui/trace/${tid}?span=${sid}` }, text) : text);
    })) : null));
    return out;
  }

  function messages(nd, { convo }) {
    if (!convo.length) {
      const g = summary(nd.index);
      return empty(g && g.category === 'llm' ? 'No messages: the app sent no content for this call, or it was not kept.' : 'No messages on this span.');
    }
    return h('div', { class: 'msgs' }, convo.map((msg, k) => {
      const role = ROLES.has(msg.role) ? msg.role : 'other';
      const first = msg.section === 'output' && (k === 0 || convo[k - 1].section !== 'output');
      return [first ? h('div', { class: 'msg-sep' }, 'response') : null,
        h('div', { class: `bubble role-${role}` },
          h('div', { class: 'bubble-head' }, h('span', { class: 'val' }, clip(msg.role, 60)),
            msg.name ? h('span', { class: 'val muted' }, ` ${clip(msg.name, 60)}`) : null,
            msg.finishReason ? h('span', { class: 'muted val' }, ` · ${clip(msg.finishReason, 60)}`) : null),
          msg.parts.map(part))];
    }));
  }

  function part(p) {
    const content = p.content !== undefined ? valueText(p.content) : '';
    switch (p.type) {
      case 'text': return h('div', { class: 'part text' }, folded(content));
      case 'reasoning': return h('details', { class: 'part reasoning' },
        h('summary', null, `Reasoning (${fmt.tokens(content.length)} characters)`), folded(content));
      case 'tool_call': {
        const r = p.result;
        return h('div', { class: 'part toolcall' },
          h('div', { class: 'tc-head' }, h('span', { 'aria-hidden': 'true' }, '⚙ '), 'call ',
            h('strong', { class: 'val' }, clip(valueText(p.name ?? '(unnamed tool)'), 120)),
            p.id ? h('span', { class: 'muted val' }, ` ${clip(valueText(p.id), 80)}`) : null),
          p.arguments !== undefined ? block(valueText(p.arguments)) : null,
          r ? h('div', { class: 'tc-result' }, h('div', { class: 'tc-head' }, '↳ result'),
            block(valueText(r.response !== undefined ? r.response : r.content ?? ''))) :
            h('div', { class: 'muted tc-none' }, 'no result in this span'));
      }
      case 'tool_call_response': return h('div', { class: 'part toolcall' },
        h('div', { class: 'tc-head' }, '↳ result', p.id ? h('span', { class: 'muted val' }, ` for ${clip(valueText(p.id), 80)}`) : null),
        block(valueText(p.response !== undefined ? p.response : content)));
      case 'media': return h('div', { class: 'part media muted' },
        h('span', { class: 'val' }, `[${[p.type_name, p.modality, p.mime_type].filter((x) => typeof x === 'string' && x).map((x) => clip(x, 80)).join(' ') || 'media'}] `),
        p.uri ? h('span', { class: 'val' }, clip(valueText(p.uri), 500)) : null, content ? folded(content) : null);
      default: return h('div', { class: 'part other' },
        h('span', { class: 'muted val' }, `[${clip(valueText(p.type_name || p.type || 'part'), 80)}] `), folded(content));
    }
  }

  function documents(nd, { docs }) {
    if (!docs.length) return empty('No retrieved documents on this span.');
    // the canonical view has no query text; the semconv attribute is shown when it was sent
    const attrs = nd.span.attributes && typeof nd.span.attributes === 'object' ? nd.span.attributes : {};
    const query = attrs['gen_ai.retrieval.query.text'];
    return [query !== undefined ? h('div', { class: 'doc-query' }, h('span', { class: 'muted' }, 'Query: '), folded(valueText(query))) : null,
      h('ol', { class: 'docs' }, docs.map((d) => h('li', { class: 'doc' },
      h('div', { class: 'doc-head' }, h('span', { class: 'doc-rank' }, `#${d.rank}`),
        h('span', { class: 'val doc-id' }, clip(d.id || '(no id)', 200)),
        d.score !== null ? h('span', { class: 'doc-score' },
          h('span', { class: 'doc-meter', 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.max(0, Math.min(1, d.score)) * 100}%` } })),
          d.score.toFixed(3)) : h('span', { class: 'muted' }, 'no score')),
      block(valueText(d.content ?? '')))))];
  }

  function attributes(nd) {
    const s = nd.span;
    const filter = h('input', { type: 'search', class: 'attr-filter', placeholder: 'Filter keys and values', 'aria-label': 'Filter attributes' });
    const lists = h('div', { class: 'attr-lists' });
    const groups = [['Span', s.attributes], ['GenAI view', s.genai], ['Resource', s.resource],
      ['Scope', s.scope && typeof s.scope === 'object' ? s.scope.attributes : null]];
    const draw = () => {
      ctx.dom.clear(lists);
      for (const [title, obj] of groups) {
        if (!obj || typeof obj !== 'object') continue;
        const rowsOf = filterAttributes(obj, filter.value.trim());
        const list = h('div', { class: 'attrs' });
        const more = (from) => {
          for (const { key, text } of rowsOf.slice(from, from + ATTR_PAGE)) list.appendChild(attrRow(key, text));
          if (rowsOf.length > from + ATTR_PAGE) {
            const b = h('button', { type: 'button', class: 'fold-more' }, `show ${Math.min(ATTR_PAGE, rowsOf.length - from - ATTR_PAGE)} more`);
            b.addEventListener('click', () => { b.remove(); more(from + ATTR_PAGE); });
            list.appendChild(b);
          }
        };
        more(0);
        lists.appendChild(section(`${title} (${rowsOf.length})`, rowsOf.length ? list : empty('nothing matches')));
      }
    };
    filter.addEventListener('input', () => { clearTimeout(attrTimer); attrTimer = setTimeout(draw, 120); });
    draw();
    return [filter, lists];
  }

  function attrRow(key, text) {
    const btn = h('button', { type: 'button', class: 'copy', 'aria-label': 'Copy value', title: 'Copy value' }, 'Copy');
    btn.addEventListener('click', () => {
      const done = (msg) => { btn.textContent = msg; setTimeout(() => { btn.textContent = 'Copy'; }, 1500); };
      if (!navigator.clipboard) { done('No clipboard'); return; }
      navigator.clipboard.writeText(text).then(() => done('Copied'), () => done('Copy failed'));
    });
    return h('div', { class: 'attr' }, h('div', { class: 'attr-k mono' }, folded(key, 256)), h('div', { class: 'attr-v mono' }, folded(text)), btn);
  }

  function events(nd) {
    const s = nd.span;
    const evs = (Array.isArray(s.events) ? s.events : []).filter((e) => e && typeof e === 'object');
    const logs = (Array.isArray(s.logs) ? s.logs : []).filter((l) => l && typeof l === 'object');
    const at = (ns) => {
      const t = rel(ns);
      return t === null ? '' : `${t < nd.start ? '−' : '+'}${fmt.duration(Math.abs(t - nd.start))}`;
    };
    const attrList = (a) => (a && typeof a === 'object' && Object.keys(a).length
      ? h('div', { class: 'attrs' }, filterAttributes(a, '').map(({ key, text }) => attrRow(key, text))) : null);
    const out = [];
    out.push(section(`Events (${evs.length})`, evs.length ? h('ol', { class: 'evs' }, evs.map((e) => h('li', { class: e.name === 'exception' ? 'exc' : null },
      h('div', { class: 'ev-head' }, h('span', { class: 'mono' }, at(e.time_unix_nano)), ' ', h('strong', { class: 'val' }, clip(valueText(e.name ?? ''), 200))),
      attrList(e.attributes)))) : empty('No events.')));
    const logItem = (l) => h('li', null,
      h('div', { class: 'ev-head' }, h('span', { class: 'mono' }, at(l.time_unix_nano !== '0' ? l.time_unix_nano : l.observed_time_unix_nano)), ' ',
        h('span', { class: 'sev val' }, clip(valueText(l.severity_text || (l.severity_number ? `severity ${l.severity_number}` : '')), 40)), ' ',
        l.event_name ? h('strong', { class: 'val' }, clip(valueText(l.event_name), 200)) : null),
      l.body !== undefined && l.body !== null ? block(valueText(l.body)) : null,
      attrList(l.attributes));
    out.push(section(`Logs (${logs.length})`, logs.length ? h('ol', { class: 'evs' }, logs.map(logItem)) : empty('No logs on this span.')));
    if (nd.parent < 0 && m.logs.length) {
      out.push(section(`Logs of the trace without a span (${m.logs.length})`, h('ol', { class: 'evs' }, m.logs.slice(0, 1000).map(logItem))));
    }
    return out;
  }

  // ---- first paint ----
  canvas.style.height = `${rows.length * ROW_H}px`;
  viewH = view.clientHeight || viewH;
  const want = params.query.get('span');
  const start = want && m.byId.has(want) ? m.byId.get(want) : rows.length ? rows[0] : -1;
  if (start >= 0) {
    reveal(start);
    select(start, { center: true });
    open(start, { record: false });
  } else {
    paint();
    renderDetail();
  }
  // the browser tests and the benchmark wait for this: the first rows are in the DOM
  page.setAttribute('data-ready', 'trace');
  requestAnimationFrame(() => {
    performance.measure('llmtrace:trace:open', 'llmtrace:trace:start');
  });

  return () => {
    ro.disconnect();
    if (raf) cancelAnimationFrame(raf);
    clearTimeout(findTimer);
    clearTimeout(attrTimer);
  };
}
