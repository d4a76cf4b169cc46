// graph_model.js — the agent graph of a trace, without the DOM, so that Node tests run it.
//
// buildGraph() turns the spans of GET /api/traces/{id} into a graph: a span whose canonical
// GenAI view names an operation becomes a step (agent, workflow, LLM call, tool, retrieval,
// other task); spans without one (HTTP hops, framework glue) are see-through, their steps
// hang on the nearest step above them. Within one agent, the steps that repeat collapse
// into one node per (kind, operation, name), so a loop of "chat → tool → chat" becomes two
// nodes and a cycle of counted edges instead of a chain as long as the loop. Edges follow
// execution: each step comes after the steps of its group that had ended when it started
// (its predecessors), or from its caller when it is the first or runs in parallel; edges
// are numbered by the start of their target. An agent or workflow below another is a box
// nested in its caller's box, its own steps inside.
//
// Everything untrusted is bounded: box nesting stops at `depth` (deeper agents become plain
// nodes of the deepest box, their steps joining it), a box shows at most `perScope` nodes
// and the whole graph `total` (the rest of a box collapse into one "+N more" node), parent
// cycles and missing parents make extra roots instead of loops. All passes are iterative.
//
// layoutGraph() places the result: in each box, layers by longest path over the forward
// edges (the order of first execution breaks cycles), rows wrapped at `rowMax` nodes,
// ordered by the mean position of their predecessors, boxes measured inside out; then the
// edges' SVG paths with arrowheads and label positions. No library.

export const LIMITS = Object.freeze({ perScope: 24, total: 240, depth: 6, rowMax: 6 });
export const SIZES = Object.freeze({ nodeW: 190, nodeH: 62, gapX: 30, gapY: 46, pad: 14, top: 22, loop: 44 });

export const KINDS = ['agent', 'workflow', 'llm', 'tool', 'retrieval', 'task'];
const LLM_OPS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings']);

/** The first n characters of s (code points), with "…" when cut; never reads all of a huge s. */
export function shorten(s, n) {
  const t = String(s ?? '');
  if (t.length <= n) return t;
  const cps = Array.from(t.slice(0, n * 2 + 2));
  return cps.length <= n ? cps.join('') : `${cps.slice(0, n - 1).join('')}…`;
}

const str = (v) => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : 0);

/**
 * What a span is in the graph: {kind, op, name} from its canonical GenAI view, or null for a
 * span that is no step (no view, or a view without an operation).
 */
export function classify(span) {
  const g = span && span.genai;
  if (!g || typeof g !== 'object') return null;
  const op = g['gen_ai.operation.name'];
  if (typeof op !== 'string' || !op) return null;
  const sname = str(span.name);
  const pick = (...keys) => { for (const k of keys) { const v = str(g[k]); if (v) return v; } return sname || op; };
  if (op === 'invoke_agent') return { kind: 'agent', op, name: pick('gen_ai.agent.name', 'gen_ai.agent.id') };
  if (op === 'invoke_workflow') return { kind: 'workflow', op, name: pick('gen_ai.workflow.name') };
  if (op === 'execute_tool') return { kind: 'tool', op, name: pick('gen_ai.tool.name') };
  if (op === 'retrieval') return { kind: 'retrieval', op, name: pick('gen_ai.data_source.id') };
  if (LLM_OPS.has(op)) return { kind: 'llm', op, name: pick('gen_ai.request.model', 'gen_ai.response.model') };
  return { kind: 'task', op, name: sname || op };
}

// Decimal nanosecond strings compare as strings once padded (they pass 2^53).
const T0 = '0'.repeat(20);
function nsKey(v) {
  const s = typeof v === 'number' && Number.isInteger(v) && v >= 0 ? String(v) : typeof v === 'string' ? v : '';
  return /^\d{1,20}$/.test(s) ? s.padStart(20, '0') : T0;
}
const byStart = (a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.seq - b.seq);

function emptyStats() {
  return { count: 0, errors: 0, durationNs: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
}

function addSpan(node, rec) {
  const s = rec.s;
  const g = s.genai && typeof s.genai === 'object' ? s.genai : {};
  node.spans.push(s.span_id);
  node.count++;
  if (s.status && s.status.code === 'ERROR') node.errors++;
  node.durationNs += num(s.duration_ns);
  node.inputTokens += num(g['gen_ai.usage.input_tokens']);
  node.outputTokens += num(g['gen_ai.usage.output_tokens']);
  node.cost += num(g['gen_ai.usage.cost']);
  if (node.first < 0 || rec.ord < node.first) node.first = rec.ord;
}

/**
 * The span tree of a trace, for the pages that walk it. spans: the "spans" array of GET
 * /api/traces/{id}; entries without a string span_id and repeated ids are skipped. Returns
 * {recs, roots, orphans, cycles}: recs are {s (the span), id, start, end (20-digit padded
 * nanosecond strings, comparable as strings), seq (input order), ord (start order), kids
 * (by start)}; roots, by start, are the spans without a parent in the trace (orphans
 * counts those whose parent is missing) plus, for each group of spans that name each other
 * as parents (cycles counts them), its earliest span, cut from its parent, so that the
 * result is always a forest.
 */
export function spanTree(spans) {
  const byId = new Map();
  const recs = [];
  for (const s of Array.isArray(spans) ? spans : []) {
    if (!s || typeof s !== 'object' || typeof s.span_id !== 'string' || byId.has(s.span_id)) continue;
    const rec = { s, id: s.span_id, start: nsKey(s.start_unix_nano), end: nsKey(s.end_unix_nano), seq: recs.length, ord: 0, kids: [], parent: null };
    byId.set(rec.id, rec);
    recs.push(rec);
  }
  const ordered = [...recs].sort(byStart);
  ordered.forEach((r, i) => { r.ord = i; });
  const roots = [];
  let orphans = 0;
  for (const r of recs) {
    const p = typeof r.s.parent_span_id === 'string' && r.s.parent_span_id ? r.s.parent_span_id : null;
    const parent = p && p !== r.id ? byId.get(p) : null;
    if (parent) { parent.kids.push(r); r.parent = parent; } else { roots.push(r); if (p) orphans++; }
  }
  for (const r of recs) r.kids.sort(byStart);
  const seen = new Set();
  const mark = (r0) => {
    const stack = [r0];
    while (stack.length) {
      const r = stack.pop();
      if (seen.has(r)) continue;
      seen.add(r);
      for (const k of r.kids) stack.push(k);
    }
  };
  for (const r of roots) mark(r);
  let cycles = 0;
  for (const r of ordered) {
    if (seen.has(r)) continue;
    // r hangs below a cycle: walk up to it, and cut the cycle at its earliest span
    const path = new Set();
    let c = r;
    while (!path.has(c)) { path.add(c); c = c.parent; }
    let first = c;
    for (let x = c.parent; x !== c; x = x.parent) if (x.ord < first.ord) first = x;
    cycles++;
    first.parent.kids = first.parent.kids.filter((k) => k !== first);
    first.parent = null;
    roots.push(first);
    mark(first);
  }
  roots.sort(byStart);
  return { recs, roots, orphans, cycles };
}

/**
 * The graph of a trace. spans: the "spans" array of GET /api/traces/{id} (any order; bad
 * entries are skipped). opts.limits overrides LIMITS; opts.expand maps a box's key to extra
 * nodes it may show (the page's "+N more"). Returns {root, stats}: root is the top-level box
 * {key, depth, header: null, nodes, edges, more, hidden}; a node is {id, key, kind, op, name,
 * spans (span ids, first executed first), count, errors, durationNs, inputTokens,
 * outputTokens, cost, box (a nested box like root, with header = the agent's own node),
 * closed (a box left shut for the total limit), inside (steps in a shut box), hidden (for a
 * "more" node: how many nodes it stands for; scopeKey, its box's key for opts.expand;
 * reveal, the id of the first node it hides)}; an edge is {from, to, count, nums (the step
 * numbers, at most 50), first, type: 'call' (caller → callee) or 'next' (one step after
 * another)}.
 */
export function buildGraph(spans, opts = {}) {
  const lim = { ...LIMITS, ...(opts.limits || {}) };
  const expand = opts.expand || {};
  let ids = 0;

  const { recs, roots, orphans, cycles } = spanTree(spans);

  // ---- scopes (boxes) and their nodes ----
  const scopes = [];
  function newScope(key, depth, boxNode) {
    const sc = { key, depth, boxNode, header: null, nodes: new Map(), edges: new Map() };
    scopes.push(sc);
    return sc;
  }
  function nodeIn(sc, key, cls) {
    let n = sc.nodes.get(key);
    if (!n) {
      n = { id: `n${++ids}`, key, kind: cls.kind, op: cls.op, name: cls.name, spans: [], first: -1, box: null, closed: false, inside: 0, hidden: 0, ...emptyStats() };
      sc.nodes.set(key, n);
    }
    return n;
  }
  const rootScope = newScope('', 0, null);

  // ---- walk the span tree: steps, the group (caller) of each, the box of each ----
  const groups = new Map(); // caller step (or null for the top) → its steps
  const steps = [];
  let stepSeq = 0;
  let flattened = 0;
  const walk = (start) => {
    const stack = [{ rec: start, scope: rootScope, caller: null, depth: 0 }];
    while (stack.length) {
      const { rec, scope, caller, depth } = stack.pop();
      const cls = classify(rec.s);
      let next = { scope, caller, depth };
      if (cls) {
        const boxed = (cls.kind === 'agent' || cls.kind === 'workflow');
        if (boxed && depth >= lim.depth) flattened++;
        const opens = boxed && depth < lim.depth;
        const node = nodeIn(scope, `${opens ? 'box' : cls.kind}\u0000${cls.op}\u0000${cls.name}`, cls);
        addSpan(node, rec);
        const step = { rec, node, scope, caller, seq: stepSeq++, start: rec.start };
        steps.push(step);
        if (!groups.has(caller)) groups.set(caller, []);
        groups.get(caller).push(step);
        if (opens) {
          if (!node.box) {
            node.box = newScope(`${scope.key}/${node.id}`, depth + 1, node);
            node.box.header = nodeIn(node.box, '\u0000header', cls);
          }
          addSpan(node.box.header, rec);
          const head = { rec, node: node.box.header, scope: node.box, caller: null, seq: -1, start: rec.start, header: true };
          next = { scope: node.box, caller: head, depth: depth + 1 };
        } else {
          next = { scope, caller: step, depth };
        }
      }
      for (let i = rec.kids.length - 1; i >= 0; i--) stack.push({ rec: rec.kids[i], ...next });
    }
  };
  for (const r of roots) walk(r);

  // ---- edges: within each caller's group, by start time ----
  const trans = [];
  for (const [caller, group] of groups) {
    group.sort(byStart);
    let frontier = caller ? [caller] : [];
    let last = frontier.slice();
    for (const st of group) {
      const done = frontier.filter((f) => f === caller || f.rec.end <= st.start);
      let preds = last;
      if (done.length) {
        preds = done;
        frontier = frontier.filter((f) => !done.includes(f));
      }
      for (const p of preds) trans.push({ from: p.node, to: st.node, scope: st.scope, step: st, type: p === caller ? 'call' : 'next' });
      frontier.push(st);
      last = preds;
    }
  }
  // step numbers: the targets in order of start
  const numbered = [...new Set(trans.map((t) => t.step))].sort(byStart);
  const stepNo = new Map(numbered.map((st, i) => [st, i + 1]));
  trans.sort((a, b) => stepNo.get(a.step) - stepNo.get(b.step));
  for (const t of trans) {
    const k = `${t.from.id}>${t.to.id}`;
    let e = t.scope.edges.get(k);
    if (!e) { e = { from: t.from, to: t.to, count: 0, nums: [], first: stepNo.get(t.step), type: t.type }; t.scope.edges.set(k, e); }
    e.count++;
    if (e.nums.length < 50) e.nums.push(stepNo.get(t.step));
    if (t.type === 'call') e.type = 'call';
  }

  // ---- limits: breadth first from the top, each box within its own and the total budget ----
  let budget = Math.max(2, lim.total);
  let hiddenNodes = 0;
  const queue = [rootScope];
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const st of steps) counts[st.node.kind]++;
  const out = new Map();
  while (queue.length) {
    const sc = queue.shift();
    if (sc !== rootScope && budget < 2) {
      // no room left: the box stays shut, a plain node that says how much it holds
      sc.boxNode.closed = true;
      sc.boxNode.inside = sc.nodes.size - 1;
      continue;
    }
    const all = [...sc.nodes.values()].sort((a, b) => (a === sc.header ? -1 : b === sc.header ? 1 : a.first - b.first));
    const want = Math.max(2, lim.perScope + (Number(expand[sc.key]) || 0));
    const allowed = Math.max(2, Math.min(want, budget));
    let shown = all;
    let more = null;
    if (all.length > allowed) {
      shown = all.slice(0, allowed - 1);
      const rest = all.slice(allowed - 1);
      more = { id: `n${++ids}`, key: '\u0000more', kind: 'more', op: '', name: `+${rest.length} more`, spans: [], first: rest[0].first, box: null, closed: false, inside: 0, hidden: rest.length, scopeKey: sc.key, reveal: rest[0].id, ...emptyStats() };
      for (const n of rest) {
        for (const k of ['count', 'errors', 'durationNs', 'inputTokens', 'outputTokens', 'cost']) more[k] += n[k];
        if (more.spans.length < 1000) more.spans.push(...n.spans.slice(0, 1000 - more.spans.length));
      }
      hiddenNodes += rest.length;
    }
    budget -= shown.length + (more ? 1 : 0);
    const vis = new Set(shown);
    const map = (n) => (vis.has(n) ? n : more);
    const edges = new Map();
    for (const e of sc.edges.values()) {
      const from = map(e.from);
      const to = map(e.to);
      if (from === more && to === more) continue;
      const k = `${from.id}>${to.id}`;
      const m = edges.get(k);
      if (!m) { edges.set(k, { ...e, from, to, nums: e.nums.slice() }); continue; }
      m.count += e.count;
      m.first = Math.min(m.first, e.first);
      for (const x of e.nums) if (m.nums.length < 50) m.nums.push(x);
      if (e.type === 'call') m.type = 'call';
    }
    for (const e of edges.values()) e.nums.sort((a, b) => a - b);
    const nodes = more ? [...shown, more] : shown;
    out.set(sc, { key: sc.key, depth: sc.depth, header: sc.header, nodes, edges: [...edges.values()].sort((a, b) => a.first - b.first), more, hidden: more ? more.hidden : 0 });
    for (const n of shown) if (n.box) queue.push(n.box);
  }
  // box nodes point at the visible form of their box (or at nothing when shut)
  for (const sc of scopes) {
    const n = sc.boxNode;
    if (n) n.box = n.closed || !out.has(sc) ? null : out.get(sc);
  }
  return {
    root: out.get(rootScope),
    stats: { spans: recs.length, steps: steps.length, orphans, cycles, flattened, hiddenNodes, counts },
  };
}

// ---------------------------------------------------------------------------------------
// Layout

const r1 = (v) => Math.round(v * 10) / 10;

/**
 * Positions for everything of buildGraph()'s result: {width, height, boxes: [{scope, x, y,
 * w, h}] (outer first), nodes: [{node, x, y, w, h, header}] (in execution order, box by box,
 * the tab order of the page), edges: [{edge, d, arrow, lx, ly, label, crowded, shape}]}.
 * shape is 'down' (to a later row), 'arc' (same row), 'back' (to an earlier row: a cycle)
 * or 'self'; crowded says the label found no free spot (the page leaves it to the tooltip).
 */
export function layoutGraph(graph, sizes = SIZES, rowMax = LIMITS.rowMax) {
  const S = { ...SIZES, ...sizes };
  const perRow = Math.max(1, rowMax | 0);
  const measured = new Map();

  // inside out: a box's size needs the sizes of the boxes it holds
  const order = [];
  const stack = [graph.root];
  while (stack.length) {
    const sc = stack.pop();
    order.push(sc);
    for (const n of sc.nodes) if (n.box) stack.push(n.box);
  }
  for (let i = order.length - 1; i >= 0; i--) measured.set(order[i], measure(order[i]));

  function size(n) {
    if (n.box) { const m = measured.get(n.box); return [m.w, m.h]; }
    return [S.nodeW, S.nodeH];
  }

  function measure(sc) {
    const nodes = sc.nodes;
    const idx = new Map(nodes.map((n, i) => [n, i]));
    const outs = nodes.map(() => []);
    const ins = nodes.map(() => []);
    for (const e of sc.edges) {
      const a = idx.get(e.from);
      const b = idx.get(e.to);
      if (a === undefined || b === undefined || a >= b) continue; // back edges and loops: no rank
      outs[a].push(b);
      ins[b].push(a);
    }
    const rank = nodes.map(() => 0);
    for (let i = 0; i < nodes.length; i++) for (const j of outs[i]) rank[j] = Math.max(rank[j], rank[i] + 1);
    const layers = [];
    nodes.forEach((n, i) => { (layers[rank[i]] ||= []).push(i); });
    // rows: each layer ordered by the mean position of its predecessors, wrapped at perRow
    const pos = new Map();
    const rows = [];
    for (const layer of layers) {
      if (!layer) continue;
      const bary = (i) => {
        const ps = ins[i].filter((p) => pos.has(p));
        return ps.length ? ps.reduce((s, p) => s + pos.get(p), 0) / ps.length : i / nodes.length;
      };
      const keyed = layer.map((i) => [bary(i), i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
      for (let k = 0; k < keyed.length; k += perRow) {
        const row = keyed.slice(k, k + perRow);
        row.forEach((i, j) => pos.set(i, (j + 0.5) / row.length));
        rows.push(row);
      }
    }
    let w = 0;
    let h = 0;
    const rowBoxes = rows.map((row) => {
      let rw = 0;
      let rh = 0;
      for (const i of row) { const [nw, nh] = size(nodes[i]); rw += nw; rh = Math.max(rh, nh); }
      rw += S.gapX * (row.length - 1);
      w = Math.max(w, rw);
      const y = h;
      h += rh + S.gapY;
      return { row, rw, rh, y };
    });
    h = Math.max(0, h - S.gapY);
    const top = sc.header ? S.top : 0;
    return { rows: rowBoxes, innerW: w, w: w + 2 * S.pad + S.loop, h: h + 2 * S.pad + top, top };
  }

  const res = { width: 0, height: 0, boxes: [], nodes: [], edges: [] };
  const rect = new Map();
  const rowOf = new Map();
  const rowBottom = new Map();
  const scopeRect = new Map();
  let rowIds = 0;
  // outer to inner; nodes listed in execution order within each box
  function place(sc, ox, oy) {
    const m = measured.get(sc);
    if (sc.header) res.boxes.push({ scope: sc, x: ox, y: oy, w: m.w, h: m.h });
    scopeRect.set(sc, { x: ox, y: oy, innerW: m.innerW });
    const placed = [];
    for (const rb of m.rows) {
      let x = ox + S.pad + (m.innerW - rb.rw) / 2;
      const y = oy + S.pad + m.top + rb.y;
      const rid = ++rowIds;
      rowBottom.set(rid, y + rb.rh);
      for (const i of rb.row) {
        const n = sc.nodes[i];
        const [nw, nh] = size(n);
        rect.set(n, { x, y, w: nw, h: nh });
        rowOf.set(n, rid);
        placed.push([i, n, x, y]);
        x += nw + S.gapX;
      }
    }
    placed.sort((a, b) => a[0] - b[0]);
    for (const [, n, x, y] of placed) {
      if (n.box) place(n.box, x, y);
      else { const r = rect.get(n); res.nodes.push({ node: n, x: r.x, y: r.y, w: r.w, h: r.h, header: n === sc.header }); }
    }
  }
  place(graph.root, 0, 0);
  const rootM = measured.get(graph.root);
  res.width = rootM.w;
  res.height = rootM.h;

  // ---- edges ----
  // Between neighbouring rows an edge is an S-curve from the bottom of its source to the top
  // of its target (or, going back up a cycle, from the top of the source to the bottom of
  // the target). An edge that skips rows runs round the side: into the gap next to its
  // source's row, along a lane in the box's right margin, into the gap next to its
  // target's row, so it crosses no node. Same row: an arc above; a node to itself: a loop.
  const all = [];
  (function collect(sc) {
    for (const e of sc.edges) all.push([e, sc]);
    for (const n of sc.nodes) if (n.box) collect(n.box);
  })(graph.root);
  const slots = new Map(); // "node:side" → [edge, the x of its other end]
  const slot = (n, side, e, far) => {
    const k = `${n.id}:${side}`;
    if (!slots.has(k)) slots.set(k, []);
    slots.get(k).push([e, far]);
  };
  const cx = (n) => { const r = rect.get(n); return r.x + r.w / 2; };
  const plans = [];
  const lanes = new Map(); // scope → lanes used so far
  for (const [e, sc] of all) {
    const a = rect.get(e.from);
    const b = rect.get(e.to);
    if (!a || !b) continue;
    const ra = rowOf.get(e.from);
    const rb = rowOf.get(e.to);
    const shape = e.from === e.to ? 'self' : ra === rb ? 'arc' : rb > ra ? 'down' : 'back';
    const near = Math.abs(rb - ra) === 1;
    const plan = { e, sc, a, b, shape, near, lane: 0 };
    if (!near && (shape === 'down' || shape === 'back')) {
      const k = lanes.get(sc) || 0;
      lanes.set(sc, k + 1);
      plan.lane = k;
      const sr = scopeRect.get(sc);
      plan.laneX = sr.x + S.pad + sr.innerW + 8 + (k % 5) * 6;
    }
    const farX = (n) => (plan.laneX !== undefined ? plan.laneX : cx(n));
    if (shape === 'down') { slot(e.from, 'b', e, farX(e.to)); slot(e.to, 't', e, farX(e.from)); }
    if (shape === 'back') { slot(e.from, 't', e, farX(e.to)); slot(e.to, 'b', e, farX(e.from)); }
    plans.push(plan);
  }
  const slotOf = new Map(); // "node:side" → Map(edge → its place along the side)
  for (const [k, list] of slots) {
    list.sort((p, q) => p[1] - q[1]);
    slotOf.set(k, new Map(list.map((x, i) => [x[0], i])));
  }
  const at = (n, side, e) => {
    const list = slotOf.get(`${n.id}:${side}`);
    const r = rect.get(n);
    const step = Math.min(16, r.w / (list.size + 1));
    return r.x + r.w / 2 + (list.get(e) - (list.size - 1) / 2) * step;
  };
  const labels = [];
  for (const pl of plans) {
    const { e, a, b, shape } = pl;
    let d;
    let tail; // the point the arrow comes from
    let end;
    let lab;
    if (shape === 'self') {
      const p0 = [a.x + a.w, a.y + a.h / 2 - 9];
      const p3 = [a.x + a.w, a.y + a.h / 2 + 9];
      const c1 = [a.x + a.w + 26, a.y + 2];
      const c2 = [a.x + a.w + 26, a.y + a.h - 2];
      d = curve(p0, c1, c2, p3);
      tail = c2; end = p3; lab = [a.x + a.w + 20, a.y + a.h / 2];
    } else if (shape === 'arc') {
      const p0 = [a.x + a.w / 2 + 8, a.y];
      const p3 = [b.x + b.w / 2 - 8, b.y];
      const lift = Math.min(S.gapY - 8, 18 + Math.abs(p3[0] - p0[0]) * 0.08);
      const c1 = [p0[0], p0[1] - lift];
      const c2 = [p3[0], p3[1] - lift];
      d = curve(p0, c1, c2, p3);
      tail = c2; end = p3; lab = bezierMid(p0, c1, c2, p3);
    } else if (pl.near) {
      const down = shape === 'down';
      const p0 = down ? [at(e.from, 'b', e), a.y + a.h] : [at(e.from, 't', e), a.y];
      const p3 = down ? [at(e.to, 't', e), b.y] : [at(e.to, 'b', e), b.y + b.h];
      const dy = Math.max(18, Math.abs(p3[1] - p0[1]) / 2) * (down ? 1 : -1);
      const c1 = [p0[0], p0[1] + dy];
      const c2 = [p3[0], p3[1] - dy];
      d = curve(p0, c1, c2, p3);
      tail = c2; end = p3; lab = bezierMid(p0, c1, c2, p3);
    } else {
      const down = shape === 'down';
      const jig = (pl.lane % 3) * 5;
      const x0 = down ? at(e.from, 'b', e) : at(e.from, 't', e);
      const x3 = down ? at(e.to, 't', e) : at(e.to, 'b', e);
      const y0 = down ? a.y + a.h : a.y;
      const y3 = down ? b.y : b.y + b.h;
      const y1 = down ? rowBottom.get(rowOf.get(e.from)) + S.gapY * 0.3 + jig : a.y - S.gapY * 0.3 - jig;
      const y2 = down ? b.y - S.gapY * 0.3 - jig : rowBottom.get(rowOf.get(e.to)) + S.gapY * 0.3 + jig;
      const pts = [[x0, y0], [x0, y1], [pl.laneX, y1], [pl.laneX, y2], [x3, y2], [x3, y3]];
      d = rounded(pts, 7);
      tail = pts[4]; end = pts[5]; lab = [pl.laneX, (y1 + y2) / 2];
    }
    labels.push({ pl, d, tail, end, lab, text: edgeLabel(e) });
  }
  placeLabels(labels, res.nodes);
  for (const l of labels) {
    res.edges.push({ edge: l.pl.e, d: l.d, arrow: arrowHead(l.tail, l.end), lx: r1(l.lab[0]), ly: r1(l.lab[1]), label: l.text, crowded: !!l.crowded, shape: l.pl.shape });
  }
  return res;
}

const pt = (p) => `${r1(p[0])} ${r1(p[1])}`;
const curve = (p0, c1, c2, p3) => `M${pt(p0)}C${pt(c1)} ${pt(c2)} ${pt(p3)}`;
const bezierMid = (p0, c1, c2, p3) => [(p0[0] + 3 * c1[0] + 3 * c2[0] + p3[0]) / 8, (p0[1] + 3 * c1[1] + 3 * c2[1] + p3[1]) / 8];

/** A path through pts with its corners rounded (radius r at most). */
function rounded(pts, r) {
  let d = `M${pt(pts[0])}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const [px, py] = pts[i - 1];
    const [x, y] = pts[i];
    const [nx, ny] = pts[i + 1];
    const l1 = Math.hypot(x - px, y - py);
    const l2 = Math.hypot(nx - x, ny - y);
    if (!l1 || !l2) continue;
    const k = Math.min(r, l1 / 2, l2 / 2);
    d += `L${pt([x - ((x - px) / l1) * k, y - ((y - py) / l1) * k])}Q${pt([x, y])} ${pt([x + ((nx - x) / l2) * k, y + ((ny - y) / l2) * k])}`;
  }
  return `${d}L${pt(pts[pts.length - 1])}`;
}

/** A filled triangle at end, pointing the way from tail to end. */
function arrowHead(tail, end) {
  let dx = end[0] - tail[0];
  let dy = end[1] - tail[1];
  const len = Math.hypot(dx, dy) || 1;
  dx /= len; dy /= len;
  const bx = end[0] - dx * 7;
  const by = end[1] - dy * 7;
  return `M${pt(end)}L${pt([bx - dy * 3.5, by + dx * 3.5])}L${pt([bx + dy * 3.5, by - dx * 3.5])}Z`;
}

/**
 * Moves edge labels off each other and off the nodes, trying a few nearby spots (greedy,
 * a grid of 64-pixel cells keeps it linear); a label with no free spot is marked crowded.
 */
function placeLabels(labels, nodes) {
  const CELL = 64;
  const grid = new Map();
  const cells = (x0, y0, x1, y1, fn) => {
    for (let gx = Math.floor(x0 / CELL); gx <= Math.floor(x1 / CELL); gx++) {
      for (let gy = Math.floor(y0 / CELL); gy <= Math.floor(y1 / CELL); gy++) if (fn(`${gx},${gy}`)) return true;
    }
    return false;
  };
  const add = (r) => cells(r[0], r[1], r[2], r[3], (k) => { if (!grid.has(k)) grid.set(k, []); grid.get(k).push(r); return false; });
  const hits = (r) => cells(r[0], r[1], r[2], r[3], (k) => (grid.get(k) || []).some((o) => r[0] < o[2] && o[0] < r[2] && r[1] < o[3] && o[1] < r[3]));
  for (const n of nodes) add([n.x, n.y, n.x + n.w, n.y + n.h]);
  for (const l of labels) {
    const w = labelWidth(l.text);
    const tries = [[0, 0], [0, -17], [0, 17], [w + 4, 0], [-w - 4, 0], [0, -34], [0, 34], [w + 4, -17], [-w - 4, 17]];
    let chosen = null;
    for (const [dx, dy] of tries) {
      const x = l.lab[0] + dx;
      const y = l.lab[1] + dy;
      const r = [x - w / 2 - 1, y - 9, x + w / 2 + 1, y + 9];
      if (!hits(r)) { chosen = [x, y, r]; break; }
    }
    if (chosen) { l.lab = [chosen[0], chosen[1]]; add(chosen[2]); } else l.crowded = true;
  }
}

/** The drawn width of an edge label (the page draws the same pill). */
export function labelWidth(text) {
  return text.length * 6.6 + 8;
}

/** "3" for a step taken once, "3 ×4" for an edge taken four times, first at step 3. */
export function edgeLabel(e) {
  return e.count > 1 ? `${e.first} ×${e.count}` : String(e.first);
}
