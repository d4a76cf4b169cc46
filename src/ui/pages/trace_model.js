// trace_model.js — the Trace page's model, as pure functions over the JSON of
// GET /api/traces/{id}: the span tree, the rows a collapsed tree shows, the critical path, the
// time axis, the GenAI summary of a span and the conversation of its messages. Nothing here
// touches the DOM, so node runs it directly in tests.
//
// Design: spans become nodes in arrays indexed by their position in the API answer. Ids are
// looked up in a Map (an id such as "__proto__" is data, not a property), so a hostile trace
// can only produce a strange tree, never a broken one: a missing parent makes a root, a
// cycle is cut at its earliest span, a duplicate id keeps the first span as the owner of the
// id. Every pass is iterative (a 10,000-deep chain does not overflow the stack) and the whole
// build is O(n log n): one sort of each node's children.

/** Nanosecond decimal string → BigInt; anything unparsable reads as 0n. */
export function parseNs(s) {
  if (typeof s === 'bigint') return s;
  if (typeof s === 'number' && Number.isFinite(s)) return BigInt(Math.max(0, Math.trunc(s)));
  if (typeof s !== 'string' || !/^\d{1,30}$/.test(s)) return 0n;
  return BigInt(s);
}

/**
 * buildTrace(json) → the model of a trace.
 * json: the answer of GET /api/traces/{id} ({trace_id, totals, spans, logs}).
 * Returns {traceId, totals, spans, logs, nodes, roots, order, endPos, position, t0, total,
 * services, byId}:
 *   nodes[i]  {index, span, id, parent (index or -1), children (indices by start time),
 *              depth, sibling, siblings (its position among its parent's children, and
 *              their count), start, end (ns relative to t0, Numbers), orphan (its parent is
 *              not in the trace), cycle (its parent links looped back; cut here), duplicate
 *              (an earlier span has its id), service, serviceIndex (services by first
 *              appearance in display order)}
 *   roots     indices of the top-level nodes, by start time
 *   order     Int32Array: the nodes in depth-first (display) order
 *   endPos    Int32Array: for node i, the position in order just past its subtree
 *   position  Int32Array: for node i, its position in order
 *   t0        BigInt: the earliest start (absolute Unix ns); total: the trace's length in ns
 *   services  Map service name → index; byId: Map span id → node index
 * Times are relative so they fit a double exactly; absolute Unix nanoseconds do not.
 */
export function buildTrace(json) {
  const spans = Array.isArray(json && json.spans) ? json.spans : [];
  const n = spans.length;
  let t0 = null;
  let t1 = 0n;
  const abs = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = spans[i] || {};
    const a = parseNs(s.start_unix_nano);
    let b = parseNs(s.end_unix_nano);
    if (b < a) b = a;
    abs[i] = [a, b];
    if (t0 === null || a < t0) t0 = a;
    if (b > t1) t1 = b;
  }
  if (t0 === null) t0 = 0n;
  const total = n ? Number(t1 - t0) : 0;

  const byId = new Map();
  const nodes = new Array(n);
  const services = new Map();
  for (let i = 0; i < n; i++) {
    const s = spans[i] || {};
    const id = typeof s.span_id === 'string' ? s.span_id : '';
    const duplicate = byId.has(id);
    if (!duplicate) byId.set(id, i);
    nodes[i] = {
      index: i, span: s, id, parent: -1, children: [], depth: 0,
      start: Number(abs[i][0] - t0), end: Number(abs[i][1] - t0),
      orphan: false, cycle: false, duplicate, sibling: 0, siblings: 1,
      service: typeof s.service === 'string' ? s.service : '', serviceIndex: 0,
    };
  }
  for (let i = 0; i < n; i++) {
    const p = nodes[i].span.parent_span_id;
    if (typeof p !== 'string' || p === '') continue;
    const j = byId.get(p);
    if (j === undefined) nodes[i].orphan = true;
    else if (j !== i) nodes[i].parent = j;
  }
  const byStart = (a, b) => nodes[a].start - nodes[b].start || a - b;
  const roots = [];
  for (let i = 0; i < n; i++) {
    if (nodes[i].parent < 0) roots.push(i);
    else nodes[nodes[i].parent].children.push(i);
  }
  for (let i = 0; i < n; i++) if (nodes[i].children.length > 1) nodes[i].children.sort(byStart);
  roots.sort(byStart);

  // depth-first order; what a walk from the roots never reaches hangs on a cycle of parent
  // links: each cycle is cut at its earliest unreached span, which becomes a root
  const order = new Int32Array(n);
  const seen = new Uint8Array(n);
  let pos = 0;
  const walk = (r) => {
    const stack = [r];
    nodes[r].depth = 0;
    while (stack.length) {
      const i = stack.pop();
      seen[i] = 1;
      order[pos++] = i;
      const ch = nodes[i].children;
      for (let k = ch.length - 1; k >= 0; k--) {
        nodes[ch[k]].depth = nodes[i].depth + 1;
        stack.push(ch[k]);
      }
    }
  };
  for (const r of roots) walk(r);
  if (pos < n) {
    const rest = [];
    for (let i = 0; i < n; i++) if (!seen[i]) rest.push(i);
    rest.sort(byStart);
    const stamp = new Int32Array(n);
    for (const i of rest) {
      if (seen[i]) continue;
      // climb until a span repeats: that one is on the cycle this span hangs from
      let j = i;
      while (stamp[j] !== i + 1) { stamp[j] = i + 1; j = nodes[j].parent; }
      let cut = j;
      for (let k = nodes[j].parent; k !== j; k = nodes[k].parent) if (byStart(k, cut) < 0) cut = k;
      const sib = nodes[nodes[cut].parent].children;
      sib.splice(sib.indexOf(cut), 1);
      nodes[cut].parent = -1;
      nodes[cut].cycle = true;
      roots.push(cut);
      walk(cut);
    }
    roots.sort(byStart);
    // the cut-off subtrees were appended to order; rebuild it so roots appear by start time
    pos = 0;
    for (const r of roots) walk(r);
  }

  for (const list of [roots, ...nodes.map((nd) => nd.children)]) {
    for (let k = 0; k < list.length; k++) { nodes[list[k]].sibling = k; nodes[list[k]].siblings = list.length; }
  }

  const endPos = new Int32Array(n);
  const at = new Int32Array(n);
  for (let p = 0; p < n; p++) at[order[p]] = p;
  const size = new Int32Array(n).fill(1);
  for (let p = n - 1; p >= 0; p--) {
    const i = order[p];
    endPos[i] = p + size[i];
    if (nodes[i].parent >= 0) size[nodes[i].parent] += size[i];
  }
  for (let p = 0; p < n; p++) {
    const nd = nodes[order[p]];
    if (!services.has(nd.service)) services.set(nd.service, services.size);
    nd.serviceIndex = services.get(nd.service);
  }

  return {
    traceId: json && typeof json.trace_id === 'string' ? json.trace_id : '',
    totals: (json && json.totals) || null,
    spans, logs: Array.isArray(json && json.logs) ? json.logs : [],
    nodes, roots, order, endPos, position: at, t0, total, services, byId,
  };
}

/**
 * The nodes a tree shows when the nodes flagged in `collapsed` (a Uint8Array indexed by
 * node) hide their subtrees: an Int32Array of node indices in display order. O(rows shown).
 */
export function visibleRows(m, collapsed) {
  const n = m.order.length;
  const out = new Int32Array(n);
  let k = 0;
  for (let p = 0; p < n;) {
    const i = m.order[p];
    out[k++] = i;
    p = collapsed && collapsed[i] ? m.endPos[i] : p + 1;
  }
  return out.subarray(0, k);
}

/** Node indices from the root down to i's parent (i excluded). */
export function ancestors(m, i) {
  const out = [];
  for (let p = m.nodes[i].parent; p >= 0; p = m.nodes[p].parent) out.push(p);
  return out.reverse();
}

/**
 * The critical path as Jaeger computes it: from the end of a span, walk back through the
 * child that finished last, then through the child that finished last before that one
 * started, and so on; the time no child covers belongs to the span itself. Children are
 * clamped to their parent's interval first (a child that outlives its parent counts only
 * while the parent runs). The top-level spans hang under a virtual root that covers the
 * whole trace, so a trace with orphans still gets one path.
 * Returns {segments: [{node, start, end}] in time order, onPath: Uint8Array by node,
 * byNode: Map node → [[start, end], ...]}.
 */
export function criticalPath(m) {
  const { nodes } = m;
  const onPath = new Uint8Array(nodes.length);
  const segments = [];
  const endDesc = (a, b) => nodes[b].end - nodes[a].end || nodes[a].start - nodes[b].start || a - b;
  const kidsOf = (i) => (i < 0 ? m.roots : nodes[i].children).slice().sort(endDesc);
  const stack = [{ node: -1, lo: 0, hi: m.total, cursor: m.total, kids: kidsOf(-1), k: 0 }];
  while (stack.length) {
    const f = stack[stack.length - 1];
    let next = -1;
    let cs = 0;
    let ce = 0;
    while (f.k < f.kids.length) {
      const c = nodes[f.kids[f.k]];
      f.k++;
      if (c.start > f.hi || c.end < f.lo) continue;
      ce = Math.min(c.end, f.hi);
      if (ce > f.cursor) continue;
      cs = Math.max(c.start, f.lo);
      next = c.index;
      break;
    }
    if (next < 0) {
      if (f.node >= 0) {
        onPath[f.node] = 1;
        if (f.cursor > f.lo) segments.push({ node: f.node, start: f.lo, end: f.cursor });
      }
      stack.pop();
      continue;
    }
    if (f.node >= 0 && f.cursor > ce) segments.push({ node: f.node, start: ce, end: f.cursor });
    f.cursor = cs;
    stack.push({ node: next, lo: cs, hi: ce, cursor: ce, kids: kidsOf(next), k: 0 });
  }
  segments.reverse();
  const byNode = new Map();
  for (const s of segments) {
    if (!byNode.has(s.node)) byNode.set(s.node, []);
    byNode.get(s.node).push([s.start, s.end]);
  }
  return { segments, onPath, byNode };
}

/**
 * Ticks for a time axis of `total` ns: multiples of a 1-2-5 step, about `target` of them.
 * Returns [{at (ns), pct (0..100)}], the first at 0.
 */
export function timeTicks(total, target = 5) {
  if (!(total > 0)) return [{ at: 0, pct: 0 }];
  // the smallest 1-2-5 step that makes at most about target ticks (a quarter more at worst)
  const raw = (total / Math.max(1, target)) * 0.75;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const step = Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p);
  const out = [];
  for (let k = 0; k * step <= total * (1 + 1e-9); k++) out.push({ at: k * step, pct: (k * step / total) * 100 });
  return out;
}

/** Where a node's bar sits on the axis, in percent of the trace: {left, width}. */
export function barBox(m, node) {
  const t = m.total > 0 ? m.total : 1;
  const nd = m.nodes[node];
  return { left: (nd.start / t) * 100, width: ((nd.end - nd.start) / t) * 100 };
}

// gen_ai.operation.name → what the waterfall draws: a category (its colour) and a glyph
// that every system font has (no emoji, no icon font: the UI works offline).
const OPS = {
  chat: ['llm', '✦'], text_completion: ['llm', '✦'], generate_content: ['llm', '✦'],
  embeddings: ['embed', '≋'], retrieval: ['retrieval', '▤'], rerank: ['retrieval', '⇅'],
  execute_tool: ['tool', '⚙'], create_agent: ['agent', '◎'], invoke_agent: ['agent', '◎'],
  invoke_workflow: ['workflow', '▶'], task: ['workflow', '▷'], guardrail: ['guard', '⛨'],
};

/** {category, glyph} of an operation name; unknown operations are 'other' with a dot. */
export function opStyle(op) {
  const e = typeof op === 'string' && Object.prototype.hasOwnProperty.call(OPS, op) ? OPS[op] : null;
  return e ? { category: e[0], glyph: e[1] } : { category: 'other', glyph: '•' };
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v) => (typeof v === 'string' ? v : '');

/**
 * The badges of a span from its canonical GenAI view (span.genai), or null when it has none:
 * {op, category, glyph, model, provider, input, output, cacheRead, cacheCreation, reasoning,
 *  cost, costSource, ttft (seconds), agent, tool, dataSource, errorType}; absent numbers are null.
 */
export function genaiSummary(span) {
  const g = span && span.genai;
  if (!g || typeof g !== 'object') return null;
  const op = str(g['gen_ai.operation.name']);
  return {
    op, ...opStyle(op),
    model: str(g['gen_ai.response.model']) || str(g['gen_ai.request.model']),
    provider: str(g['gen_ai.provider.name']),
    input: num(g['gen_ai.usage.input_tokens']),
    output: num(g['gen_ai.usage.output_tokens']),
    cacheRead: num(g['gen_ai.usage.cache_read.input_tokens']),
    cacheCreation: num(g['gen_ai.usage.cache_creation.input_tokens']),
    reasoning: num(g['gen_ai.usage.reasoning.output_tokens']),
    cost: num(g['gen_ai.usage.cost']),
    costSource: str(g.cost_source),
    ttft: num(g['gen_ai.response.time_to_first_chunk']),
    agent: str(g['gen_ai.agent.name']) || str(g['gen_ai.agent.id']),
    tool: str(g['gen_ai.tool.name']),
    dataSource: str(g['gen_ai.data_source.id']),
    errorType: str(g['error.type']),
  };
}

/** Whether a span failed: status ERROR. */
export function isError(span) {
  return !!(span && span.status && span.status.code === 'ERROR');
}

/**
 * The conversation of span.messages ({system, input, output}) as bubbles in reading order:
 * [{role, name, finishReason, section: 'system'|'input'|'output', parts}]. A tool call part
 * gets `result`: the tool_call_response with the same id (or, when neither has an id, the
 * next unanswered one), which then leaves its own message; a message left empty goes.
 * The input is not modified.
 */
export function conversation(messages) {
  const out = [];
  if (!messages || typeof messages !== 'object') return out;
  for (const section of ['system', 'input', 'output']) {
    const list = Array.isArray(messages[section]) ? messages[section] : [];
    for (const m of list) {
      if (!m || typeof m !== 'object') continue;
      out.push({
        role: str(m.role) || 'unknown', name: str(m.name), finishReason: str(m.finish_reason), section,
        parts: (Array.isArray(m.parts) ? m.parts : []).filter((p) => p && typeof p === 'object').map((p) => ({ ...p })),
      });
    }
  }
  const byId = new Map();
  const anonymous = [];
  for (const msg of out) {
    msg.parts = msg.parts.filter((p) => {
      if (p.type === 'tool_call') {
        if (typeof p.id === 'string' && p.id) { if (!byId.has(p.id)) byId.set(p.id, p); } else anonymous.push(p);
        return true;
      }
      if (p.type !== 'tool_call_response') return true;
      const call = typeof p.id === 'string' && p.id ? byId.get(p.id) : anonymous.shift();
      if (!call || call.result) return true;
      call.result = { ...p, role: msg.role, name: msg.name };
      return false;
    });
  }
  return out.filter((m) => m.parts.length);
}

/** Documents ranked by score, highest first; documents without a score keep their order, last. */
export function rankDocuments(docs) {
  const list = (Array.isArray(docs) ? docs : []).filter((d) => d && typeof d === 'object')
    .map((d, i) => ({ d, i }));
  list.sort((a, b) => {
    const x = num(a.d.score);
    const y = num(b.d.score);
    if (x === null || y === null) return (x === null) - (y === null) || a.i - b.i;
    return y - x || a.i - b.i;
  });
  return list.map((e, k) => ({ rank: k + 1, id: str(e.d.id), score: num(e.d.score), content: e.d.content }));
}

/** A value from the API as the text the UI shows: strings as they are, the rest as JSON. */
export function valueText(v) {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  try { return JSON.stringify(v, null, v !== null && typeof v === 'object' ? 2 : 0); } catch { return String(v); }
}

/**
 * Attribute rows [{key, text}] of an attributes object, in the order sent, kept when the
 * key or the text contains `query` (case-insensitive). Own properties only.
 */
export function filterAttributes(attrs, query) {
  const q = String(query || '').toLowerCase();
  const out = [];
  if (!attrs || typeof attrs !== 'object') return out;
  for (const key of Object.keys(attrs)) {
    const text = valueText(attrs[key]);
    if (!q || key.toLowerCase().includes(q) || text.toLowerCase().includes(q)) out.push({ key, text });
  }
  return out;
}

/**
 * The first `limit` UTF-16 units of s, never splitting a surrogate pair:
 * {head, hidden (units left out)}.
 */
export function foldText(s, limit = 4096) {
  const t = String(s);
  if (t.length <= limit) return { head: t, hidden: 0 };
  let cut = limit;
  const c = t.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return { head: t.slice(0, cut), hidden: t.length - cut };
}

/** Nodes whose name, service, model, agent or tool contains `query` (case-insensitive), in display order. */
export function findSpans(m, query) {
  const q = String(query || '').toLowerCase();
  if (!q) return [];
  const out = [];
  for (let p = 0; p < m.order.length; p++) {
    const nd = m.nodes[m.order[p]];
    const g = genaiSummary(nd.span);
    const hay = [str(nd.span.name), nd.service, nd.id, g ? g.model : '', g ? g.agent : '', g ? g.tool : ''];
    if (hay.some((x) => x.toLowerCase().includes(q))) out.push(nd.index);
  }
  return out;
}
