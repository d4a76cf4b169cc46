// graph.js — the agent graph of a trace (/ui/trace/{id}/graph): agents and workflows as
// boxes holding their steps (LLM calls, tools, retrievals, sub-agents), edges numbered in
// execution order, repeated steps collapsed into counted edges (a loop is a cycle), drawn
// as SVG from the layout graph_model.js computes. A node opens its span in the trace page
// (click, or Enter when focused); "+N more" shows more of a crowded box. Every string of
// the trace goes in through text nodes (dom.h), shortened for the drawing, whole in the
// node's tooltip (bounded) and in the table below.

import { buildGraph, labelWidth, layoutGraph, LIMITS, shorten } from './graph_model.js';

const KIND = {
  agent: 'Agent', workflow: 'Workflow', llm: 'LLM call', tool: 'Tool', retrieval: 'Retrieval',
  task: 'Step', more: 'More',
};
const PLURAL = {
  agent: ['agent', 'agents'], workflow: ['workflow', 'workflows'], llm: ['LLM call', 'LLM calls'],
  tool: ['tool call', 'tool calls'], retrieval: ['retrieval', 'retrievals'], task: ['other step', 'other steps'],
};
const LEGEND = ['agent', 'workflow', 'llm', 'tool', 'retrieval', 'task'];

/**
 * Shortens every text[data-fit] of el that is wider than its data-fit pixels, with "…":
 * widths are measured (fonts differ), all reads first so the browser lays out once, then a
 * binary search on the few that overflow.
 */
function fitTexts(el) {
  const over = [];
  for (const t of el.querySelectorAll('text[data-fit]')) {
    const max = Number(t.getAttribute('data-fit'));
    if (t.getComputedTextLength() > max) over.push([t, max]);
  }
  for (const [t, max] of over) {
    const cps = Array.from(t.textContent.replace(/…$/, ''));
    let lo = 0;
    let hi = cps.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      t.textContent = `${cps.slice(0, mid).join('')}…`;
      if (t.getComputedTextLength() <= max) lo = mid;
      else hi = mid - 1;
    }
    t.textContent = `${cps.slice(0, lo).join('')}…`;
  }
}

export async function render(root, params, ctx) {
  const { h, duration, money, tokens } = ctx.dom;
  const id = params.id;
  const data = await ctx.api.getJson(`traces/${id}`);
  const spans = Array.isArray(data && data.spans) ? data.spans : [];
  const spanLink = (sid) => `/ui/trace/${id}?span=${encodeURIComponent(sid)}`;
  const rootSpan = spans.find((s) => s && !s.parent_span_id) || spans[0];
  const expand = {};

  const page = h('section', { class: 'graph-page', 'aria-labelledby': 'gp-title' });
  const canvas = h('div', { class: 'gp-canvas' });
  const notes = h('div', { class: 'gp-notes' });
  const statsList = h('ul', { class: 'gp-stats', 'aria-label': 'What the trace holds' });
  const tableHost = h('div', { class: 'gp-table-wrap', tabindex: -1 });
  // the drawing can hold hundreds of nodes, each a Tab stop: a way past them
  const skip = h('button', { type: 'button', class: 'gp-skip' }, 'Skip the drawing: go to the table of nodes');
  skip.addEventListener('click', () => tableHost.focus());
  const fit = h('button', { type: 'button', class: 'gp-fit', 'aria-pressed': 'false' }, 'Fit to width');
  fit.addEventListener('click', () => {
    const on = !canvas.classList.contains('fit');
    canvas.classList.toggle('fit', on);
    fit.setAttribute('aria-pressed', String(on));
  });

  page.append(
    h('div', { class: 'gp-head' },
      h('h1', { id: 'gp-title' }, 'Agent graph'),
      h('p', { class: 'gp-sub' },
        rootSpan ? h('span', { class: 'val gp-root', title: shorten(rootSpan.name, 300) }, shorten(rootSpan.name, 120)) : null,
        ' ', h('code', { class: 'muted' }, id), ' · ',
        h('a', { href: `/ui/trace/${id}` }, 'Waterfall'))),
    statsList,
    notes,
    h('div', { class: 'gp-toolbar' },
      h('ul', { class: 'gp-legend', 'aria-label': 'Legend' },
        LEGEND.map((k) => h('li', null, h('span', { class: `sw k-${k}`, 'aria-hidden': 'true' }), KIND[k])),
        h('li', null, h('span', { class: 'sw-line call', 'aria-hidden': 'true' }), 'calls'),
        h('li', null, h('span', { class: 'sw-line next', 'aria-hidden': 'true' }), 'then'),
        h('li', null, h('span', { class: 'sw-line loop', 'aria-hidden': 'true' }), 'back to an earlier step (a loop)')),
      fit),
    skip,
    canvas,
    h('p', { class: 'gp-hint muted' },
      'A node opens its span in the waterfall (click, or Tab to it and press Enter). Edge numbers give the order of execution; ',
      '“×N” is how many times that step was taken. Boxes are agents and workflows with the steps they ran.'),
    tableHost);

  function draw(focusId) {
    const graph = buildGraph(spans, { expand });
    const lay = layoutGraph(graph);
    drawStats(graph);
    drawNotes(graph);
    canvas.replaceChildren();
    tableHost.replaceChildren();
    if (!graph.root.nodes.length) {
      canvas.append(h('p', { class: 'gp-empty', role: 'status' },
        'No agent, workflow, LLM call, tool or retrieval in this trace (no span has a GenAI operation): nothing to draw. ',
        h('a', { href: `/ui/trace/${id}` }, 'Open the waterfall'), '.'));
      return;
    }
    canvas.append(svgOf(lay));
    fitTexts(canvas);
    tableHost.append(tableOf(lay));
    if (focusId) {
      const el = canvas.querySelector(`[data-node="${focusId}"]`);
      if (el) el.focus();
    }
  }

  function drawStats(graph) {
    const t = data.totals || {};
    const c = graph.stats.counts;
    const items = [];
    for (const k of LEGEND) {
      if (!c[k] && (k === 'workflow' || k === 'task')) continue;
      items.push(h('li', { class: `k-${k}` }, h('strong', null, String(c[k])), ' ', PLURAL[k][c[k] === 1 ? 0 : 1]));
    }
    if (t.duration_ns !== undefined) items.push(h('li', null, h('strong', null, duration(t.duration_ns)), ' total'));
    items.push(h('li', null, h('strong', null, `${tokens(t.input_tokens)} → ${tokens(t.output_tokens)}`), ' tokens'));
    items.push(h('li', null, h('strong', null, money(t.cost)), ' cost'));
    statsList.replaceChildren(...items);
  }

  function drawNotes(graph) {
    const s = graph.stats;
    const lines = [];
    if (s.orphans) lines.push(`${s.orphans} span${s.orphans === 1 ? '' : 's'} whose parent is not in the trace (yet) start${s.orphans === 1 ? 's' : ''} at the top level.`);
    if (s.cycles) lines.push(`${s.cycles} group${s.cycles === 1 ? '' : 's'} of spans name each other as parents; each is drawn from its earliest span.`);
    if (s.flattened) lines.push(`Agents nested deeper than ${LIMITS.depth} levels are drawn as steps of the deepest box (${s.flattened} span${s.flattened === 1 ? '' : 's'}).`);
    if (s.hiddenNodes) lines.push(`${s.hiddenNodes} node${s.hiddenNodes === 1 ? ' is' : 's are'} folded into “+N more” nodes; activate one to show more.`);
    notes.replaceChildren(...lines.map((l) => h('p', { role: 'note' }, l)));
  }

  function nodeFacts(n) {
    const bits = [];
    if (n.count > 1) bits.push(`${n.count} calls`);
    if (n.durationNs) bits.push(duration(n.durationNs));
    if (n.inputTokens || n.outputTokens) bits.push(`${tokens(n.inputTokens)}→${tokens(n.outputTokens)} tok`);
    if (n.cost) bits.push(money(n.cost));
    if (n.errors) bits.push(`${n.errors} error${n.errors === 1 ? '' : 's'}`);
    return bits;
  }

  function activate(n) {
    if (n.kind === 'more') {
      expand[n.scopeKey] = (expand[n.scopeKey] || 0) + LIMITS.perScope;
      draw(n.reveal); // focus moves to the first node that was hidden
      return;
    }
    if (n.spans.length) ctx.navigate(spanLink(n.spans[0]));
  }

  function svgOf(lay) {
    const W = Math.ceil(lay.width);
    const H = Math.ceil(lay.height);
    const svg = h('svg', { class: 'gp-svg', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': 'Agent graph' });
    const boxes = h('g', { class: 'gp-boxes' });
    const edges = h('g', { class: 'gp-edges' });
    const nodes = h('g', { class: 'gp-nodes' });
    const labels = h('g', { class: 'gp-labels', 'aria-hidden': 'true' });
    const byNode = new Map(); // node id → edge elements touching it (highlighted on focus)
    const touch = (nid, el) => { if (!byNode.has(nid)) byNode.set(nid, []); byNode.get(nid).push(el); };

    for (const b of lay.boxes) {
      const hd = b.scope.header;
      boxes.append(h('g', { class: `gbox k-${hd.kind}` },
        h('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 10 }),
        h('text', { x: b.x + 10, y: b.y + 15, class: 'cap', 'data-fit': b.w - 20 }, shorten(`${KIND[hd.kind]} ${hd.name}`, 200))));
    }
    for (const e of lay.edges) {
      const ed = e.edge;
      const steps = ed.nums.join(', ') + (ed.count > ed.nums.length ? ', …' : '');
      const what = `${shorten(ed.from.name, 60)} → ${shorten(ed.to.name, 60)}: ${ed.count > 1 ? `${ed.count} times, steps ${steps}` : `step ${ed.first}`}`;
      const g = h('g', { class: `gedge t-${ed.type} s-${e.shape}` },
        h('title', null, what),
        h('path', { d: e.d, class: 'line' }),
        h('path', { d: e.arrow, class: 'head' }));
      edges.append(g);
      const lw = labelWidth(e.label);
      // a label with no free spot is left out: the edge's tooltip still gives its steps
      const lab = e.crowded ? null : h('g', { class: `glabel t-${ed.type}` },
        h('rect', { x: e.lx - lw / 2, y: e.ly - 8, width: lw, height: 16, rx: 8 }),
        h('text', { x: e.lx, y: e.ly + 4, 'text-anchor': 'middle' }, e.label));
      if (lab) labels.append(lab);
      for (const el of lab ? [g, lab] : [g]) { touch(ed.from.id, el); touch(ed.to.id, el); }
    }
    for (const p of lay.nodes) {
      const n = p.node;
      const facts = nodeFacts(n);
      const closed = n.closed ? `${n.inside} step${n.inside === 1 ? '' : 's'} inside` : '';
      let line2;
      let line3;
      if (n.kind === 'more') {
        line2 = `${n.count} span${n.count === 1 ? '' : 's'}`;
        line3 = 'show more';
      } else {
        const word = n.kind === 'llm' || n.kind === 'task' ? n.op : n.kind;
        line2 = [word, n.durationNs ? duration(n.durationNs) : '', n.errors ? `${n.errors} err` : ''].filter(Boolean).join(' · ');
        line3 = closed || [n.inputTokens || n.outputTokens ? `${tokens(n.inputTokens)}→${tokens(n.outputTokens)} tok` : '', n.cost ? money(n.cost) : ''].filter(Boolean).join(' · ');
      }
      const action = n.kind === 'more' ? 'show more nodes of this box' : `open ${n.count > 1 ? 'the first call' : 'the span'} in the waterfall`;
      const label = n.kind === 'more'
        ? `${n.hidden} more nodes (${n.count} spans): ${action}`
        : `${KIND[n.kind]} ${shorten(n.name, 120)}${facts.length ? `, ${facts.join(', ')}` : ''}${closed ? `, ${closed}` : ''}: ${action}`;
      const g = h('g', {
        class: `gnode k-${n.kind}${n.errors ? ' err' : ''}${p.header ? ' header' : ''}`,
        transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: n.kind === 'more' ? 'button' : 'link', 'aria-label': label, 'data-node': n.id,
      },
      h('title', null, `${KIND[n.kind]}: ${shorten(n.name, 400)}${facts.length || closed ? `\n${[...facts, closed].filter(Boolean).join(' · ')}` : ''}`),
      h('rect', { class: 'body', width: p.w, height: p.h, rx: 6 }),
      h('rect', { class: 'bar', width: 5, height: p.h, rx: 2 }),
      h('text', { class: 'name', x: 13, y: 19, 'data-fit': p.w - (n.count > 1 && n.kind !== 'more' ? 58 : 20) }, shorten(n.name, 40)),
      h('text', { class: 'sub', x: 13, y: 36, 'data-fit': p.w - 20 }, shorten(line2, 48)),
      line3 ? h('text', { class: 'sub', x: 13, y: 52, 'data-fit': p.w - 20 }, shorten(line3, 48)) : null,
      n.count > 1 && n.kind !== 'more' ? h('text', { class: 'count', x: p.w - 8, y: 19, 'text-anchor': 'end' }, `×${n.count}`) : null);
      g.addEventListener('click', () => activate(n));
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); activate(n); }
      });
      const hl = (on) => { for (const el of byNode.get(n.id) || []) el.classList.toggle('hl', on); };
      g.addEventListener('focus', () => hl(true));
      g.addEventListener('blur', () => hl(false));
      g.addEventListener('mouseenter', () => hl(true));
      g.addEventListener('mouseleave', () => hl(false));
      nodes.append(g);
    }
    svg.append(boxes, edges, nodes, labels);
    return svg;
  }

  function tableOf(lay) {
    const rows = lay.nodes.filter((p) => p.node.kind !== 'more').map((p) => {
      const n = p.node;
      const links = n.spans.slice(0, 12).map((sid, i) => h('a', { href: spanLink(sid), 'aria-label': `${KIND[n.kind]} ${shorten(n.name, 80)}, call ${i + 1}` }, String(i + 1)));
      return h('tr', { class: n.errors ? 'has-error' : null },
        h('td', null, h('span', { class: `sw k-${n.kind}`, 'aria-hidden': 'true' }), KIND[n.kind]),
        h('td', { class: 'val', title: shorten(n.name, 300) }, shorten(n.name, 160)),
        h('td', { class: 'num' }, String(n.count)),
        h('td', { class: 'calls' }, links, n.spans.length > 12 ? h('span', { class: 'muted' }, ` +${n.spans.length - 12}`) : null),
        h('td', { class: 'num' }, n.durationNs ? duration(n.durationNs) : ''),
        h('td', { class: 'num' }, n.inputTokens || n.outputTokens ? `${tokens(n.inputTokens)} → ${tokens(n.outputTokens)}` : ''),
        h('td', { class: 'num' }, n.cost ? money(n.cost) : ''),
        h('td', { class: 'num' }, n.errors ? String(n.errors) : ''));
    });
    return h('table', { class: 'gp-table' },
      h('caption', null, 'Nodes in order of first execution'),
      h('thead', null, h('tr', null, ['Kind', 'Name', 'Calls', 'Spans', 'Duration', 'Tokens in → out', 'Cost', 'Errors'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows));
  }

  root.append(page);
  draw(null);
  page.setAttribute('data-ready', 'graph');
  return null;
}

