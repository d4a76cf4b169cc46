// compare_model.js — two traces side by side, without the DOM, so that Node tests run it.
//
// matchTraces() pairs the spans of two traces by their path of names from the root (the
// k-th child named X of a matched parent matches the k-th child named X on the other side,
// children in start order), as Jaeger's trace comparison does, and lists every path once,
// in tree order, with the span of each side or null. messageLines() writes the messages of
// an LLM call as lines (a role header, then the content), and diffLines() compares two such
// lists line by line: the common head and tail are cut first, then a longest common
// subsequence table over what is left; past a size bound (cells of the table) the middle is
// reported as removed and added instead, and the result says so. foldDiff() hides long
// unchanged runs around the changes.

import { spanTree } from './graph_model.js';

const LLM_OPS = new Set(['chat', 'text_completion', 'generate_content']);

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : 0);

/** A span's figures for the comparison: {durationNs, tokens, inputTokens, outputTokens, cost}. */
export function figures(span) {
  const g = span && span.genai && typeof span.genai === 'object' ? span.genai : {};
  const inputTokens = num(g['gen_ai.usage.input_tokens']);
  const outputTokens = num(g['gen_ai.usage.output_tokens']);
  return { durationNs: num(span && span.duration_ns), inputTokens, outputTokens, tokens: inputTokens + outputTokens, cost: num(g['gen_ai.usage.cost']) };
}

/** True for a chat, text completion or generate_content span (one with messages to diff). */
export function isLlmCall(span) {
  const g = span && span.genai;
  return !!(g && typeof g === 'object' && LLM_OPS.has(g['gen_ai.operation.name']));
}

// A name as part of a path key: very long names are cut (with their length kept), so that
// keys stay small; two different 1 MB names that share 512 characters and a length match.
const nameKey = (n) => {
  const s = typeof n === 'string' ? n : '';
  return s.length > 512 ? `${s.slice(0, 512)}\u0000${s.length}` : s;
};

/**
 * The rows of the comparison. spansA, spansB: the "spans" arrays of GET /api/traces/{id}.
 * Returns {rows, both, onlyA, onlyB}: rows in tree order (siblings by their start relative
 * to their trace's start, A's when the span is on both sides), each {id, depth, name, a, b,
 * side: 'both' | 'a' | 'b'}. Iterative: any depth, any size.
 */
export function matchTraces(spansA, spansB) {
  const intern = new Map(); // "parent id, name, occurrence" → path id, shared by both sides
  const side = (spans) => {
    const { roots } = spanTree(spans);
    const t0 = roots.length ? BigInt(roots[0].start) : 0n;
    const paths = new Map(); // path id → {rec, rel, kids: [path ids]}
    const top = [];
    const stack = [[roots, 0, top]];
    while (stack.length) {
      const [list, parentId, into] = stack.pop();
      const seen = new Map();
      for (const rec of list) {
        const nk = nameKey(rec.s.name);
        const k = seen.get(nk) || 0;
        seen.set(nk, k + 1);
        const key = `${parentId}\u0001${nk}\u0001${k}`;
        let id = intern.get(key);
        if (id === undefined) { id = intern.size + 1; intern.set(key, id); }
        const entry = { rec, rel: Number(BigInt(rec.start) - t0), kids: [] };
        paths.set(id, entry);
        into.push(id);
        if (rec.kids.length) stack.push([rec.kids, id, entry.kids]);
      }
    }
    return { paths, top };
  };
  const A = side(spansA);
  const B = side(spansB);
  const rows = [];
  let both = 0;
  let onlyA = 0;
  let onlyB = 0;
  const merge = (ka, kb) => {
    const ids = [...ka];
    const inA = new Set(ka);
    for (const id of kb) if (!inA.has(id)) ids.push(id);
    const rel = (id) => (A.paths.get(id) || B.paths.get(id)).rel;
    return ids.sort((x, y) => rel(x) - rel(y) || x - y);
  };
  const stack = [[merge(A.top, B.top), 0, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [ids, i, depth] = top;
    if (i >= ids.length) { stack.pop(); continue; }
    top[1] = i + 1;
    const id = ids[i];
    const pa = A.paths.get(id);
    const pb = B.paths.get(id);
    const a = pa ? pa.rec.s : null;
    const b = pb ? pb.rec.s : null;
    const sd = a && b ? 'both' : a ? 'a' : 'b';
    if (sd === 'both') both++; else if (sd === 'a') onlyA++; else onlyB++;
    rows.push({ id, depth, name: (a || b).name, a, b, side: sd });
    const kids = merge(pa ? pa.kids : [], pb ? pb.kids : []);
    if (kids.length) stack.push([kids, 0, depth + 1]);
  }
  return { rows, both, onlyA, onlyB };
}

/** {d: b − a, pct (of a; null when a is 0), cls: 'up' | 'down' | 'same'}. */
export function delta(a, b) {
  const d = num(b) - num(a);
  const cls = Math.abs(d) < 1e-12 ? 'same' : d > 0 ? 'up' : 'down';
  return { d: cls === 'same' ? 0 : d, pct: num(a) ? (d / num(a)) * 100 : null, cls };
}

const MAX_LINES = 20000;

function valueText(v) {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  try { return JSON.stringify(v); } catch { return String(v); }
}

/**
 * The messages of a span (its "messages" field: {system, input, output}) as lines of text:
 * per message a header line ("[user]", "[output assistant]", "[system instructions]";
 * kind 'role'), then its parts: text and reasoning
 * split at newlines, a tool call as "→ name(arguments)", a tool result as "← result id:
 * text", media and other parts in brackets. At most 20,000 lines (a last line says what was
 * left out). Returns [{text, kind: 'role' | 'text'}].
 */
export function messageLines(messages) {
  const out = [];
  const push = (text, kind = 'text') => { if (out.length < MAX_LINES) out.push({ text, kind }); };
  const m = messages && typeof messages === 'object' ? messages : {};
  let total = 0;
  for (const sect of ['system', 'input', 'output']) {
    const list = Array.isArray(m[sect]) ? m[sect] : [];
    for (const msg of list) {
      if (!msg || typeof msg !== 'object') continue;
      total++;
      const role = typeof msg.role === 'string' && msg.role ? msg.role : sect === 'system' ? 'system' : sect === 'output' ? 'assistant' : 'user';
      const extra = [msg.name ? ` ${valueText(msg.name)}` : '', msg.finish_reason ? ` (finish: ${valueText(msg.finish_reason)})` : ''].join('');
      const head = sect === 'input' ? role : sect === 'output' ? `output ${role}` : 'system instructions';
      push(`[${head}${extra}]`, 'role');
      for (const p of Array.isArray(msg.parts) ? msg.parts : []) {
        if (!p || typeof p !== 'object') continue;
        let text;
        if (p.type === 'text') text = valueText(p.content);
        else if (p.type === 'reasoning') text = `(reasoning) ${valueText(p.content)}`;
        else if (p.type === 'tool_call') text = `→ ${valueText(p.name)}(${valueText(p.arguments)})${p.id ? ` [${valueText(p.id)}]` : ''}`;
        else if (p.type === 'tool_call_response') text = `← result${p.id ? ` [${valueText(p.id)}]` : ''}: ${valueText(p.response)}`;
        else if (p.type === 'media') text = `[${valueText(p.modality || 'media')} ${valueText(p.mime_type)} ${valueText(p.uri || (p.content ? `${valueText(p.content).length} bytes inline` : ''))}]`;
        else text = `[${valueText(p.type_name || p.type)}] ${valueText(p.content)}`;
        for (const line of text.split('\n')) push(line);
      }
    }
  }
  if (out.length >= MAX_LINES) out[MAX_LINES - 1] = { text: `… cut at ${MAX_LINES} lines (${total} messages)`, kind: 'role' };
  return out;
}

/**
 * Line-level diff of a and b (arrays of strings). Returns {ops, approx}: ops in order, each
 * {op: '=', a, b} (line a of a equals line b of b, 0-based), {op: '-', a} or {op: '+', b};
 * approx is true when the part between the common head and tail had more than maxCells
 * cells (lines of a × lines of b) and was given as all removed then all added.
 */
export function diffLines(a, b, { maxCells = 4_000_000 } = {}) {
  const n = a.length;
  const m = b.length;
  let head = 0;
  while (head < n && head < m && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < n - head && tail < m - head && a[n - 1 - tail] === b[m - 1 - tail]) tail++;
  const ops = [];
  for (let i = 0; i < head; i++) ops.push({ op: '=', a: i, b: i });
  const an = n - head - tail;
  const bn = m - head - tail;
  let approx = false;
  if (an && bn && an * bn <= maxCells) {
    // lines as small integers, so the table compares numbers
    const ids = new Map();
    const id = (s) => { let v = ids.get(s); if (v === undefined) { v = ids.size; ids.set(s, v); } return v; };
    const x = Int32Array.from({ length: an }, (_, i) => id(a[head + i]));
    const y = Int32Array.from({ length: bn }, (_, j) => id(b[head + j]));
    // L[i][j]: the longest common subsequence of x[i..] and y[j..]
    const W = bn + 1;
    const L = new Uint32Array((an + 1) * W);
    for (let i = an - 1; i >= 0; i--) {
      for (let j = bn - 1; j >= 0; j--) {
        L[i * W + j] = x[i] === y[j] ? L[(i + 1) * W + j + 1] + 1 : Math.max(L[(i + 1) * W + j], L[i * W + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < an && j < bn) {
      if (x[i] === y[j]) { ops.push({ op: '=', a: head + i, b: head + j }); i++; j++; }
      else if (L[(i + 1) * W + j] >= L[i * W + j + 1]) { ops.push({ op: '-', a: head + i }); i++; }
      else { ops.push({ op: '+', b: head + j }); j++; }
    }
    for (; i < an; i++) ops.push({ op: '-', a: head + i });
    for (; j < bn; j++) ops.push({ op: '+', b: head + j });
  } else {
    approx = an > 0 && bn > 0;
    for (let i = 0; i < an; i++) ops.push({ op: '-', a: head + i });
    for (let j = 0; j < bn; j++) ops.push({ op: '+', b: head + j });
  }
  for (let k = 0; k < tail; k++) ops.push({ op: '=', a: n - tail + k, b: m - tail + k });
  return { ops, approx };
}

/**
 * The ops of diffLines() with unchanged runs longer than 2 × context + 1 folded: returns a
 * list of {op} items as given and {op: 'gap', from, to} (indexes into ops, to exclusive)
 * for each folded run, keeping `context` unchanged lines next to every change.
 */
export function foldDiff(ops, context = 3) {
  const out = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].op !== '=') { out.push(ops[i]); i++; continue; }
    let j = i;
    while (j < ops.length && ops[j].op === '=') j++;
    const keepHead = i === 0 ? 0 : context;
    const keepTail = j === ops.length ? 0 : context;
    if (j - i > keepHead + keepTail + 1) {
      for (let k = i; k < i + keepHead; k++) out.push(ops[k]);
      out.push({ op: 'gap', from: i + keepHead, to: j - keepTail });
      for (let k = j - keepTail; k < j; k++) out.push(ops[k]);
    } else {
      for (let k = i; k < j; k++) out.push(ops[k]);
    }
    i = j;
  }
  return out;
}
