// The Trace page's model (src/ui/pages/trace_model.js), imported as the browser imports it:
// the span tree (ordering, missing parents, cycles, duplicate ids), the rows of a collapsed
// tree, the critical path (against a plain recursive version of Jaeger's rule, and on the
// fixture traces as a real llmtrace serves them), the time axis, GenAI badges, the pairing
// of tool calls with their results, and hostile strings, which stay data.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, loadScenarios, postFixtureFile, listAllTraces, getTrace, rng32 } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const M = await import(pathToFileURL(path.resolve(here, '../../src/ui/pages/trace_model.js')).href);

const T0 = 1795317388000000000n; // an ordinary Unix time in ns: beyond 2^53, as real ones are

/** A span as GET /api/traces/{id} gives it; times are ns after T0. */
function span(id, parent, start, end, extra = {}) {
  return {
    span_id: id, parent_span_id: parent, name: extra.name ?? `s-${id}`, kind: 'INTERNAL', service: extra.service ?? 'svc',
    start_unix_nano: String(T0 + BigInt(start)), end_unix_nano: String(T0 + BigInt(end)),
    status: { code: extra.error ? 'ERROR' : 'UNSET', message: '' }, attributes: {}, events: [], links: [], logs: [],
    ...extra,
  };
}
const trace = (spans) => ({ trace_id: 'ab'.repeat(16), spans, logs: [] });
const names = (m, idx) => Array.from(idx, (i) => m.nodes[i].span.name);

const hex16 = (k) => k.toString(16).padStart(16, '0');

/** n spans in a random tree (children inside or overflowing their parent), shuffled as the API could send them. */
function randomTrace(n, seed) {
  const r = rng32(seed);
  const spans = [];
  for (let k = 0; k < n; k++) {
    const p = k === 0 ? -1 : Math.floor(r() * k);
    const ps = p < 0 ? 0 : Number(BigInt(spans[p].start_unix_nano) - T0);
    const pe = p < 0 ? 1e9 : Number(BigInt(spans[p].end_unix_nano) - T0);
    const s = ps + Math.floor(r() * Math.max(1, pe - ps));
    const e = s + Math.floor(r() * (r() < 0.1 ? 2 : 0.6) * Math.max(1, pe - ps));
    spans.push(span(hex16(k + 1), p < 0 ? null : hex16(p + 1), s, e, { name: `n${k}`, service: `svc${k % 5}` }));
  }
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [spans[k], spans[j]] = [spans[j], spans[k]];
  }
  return trace(spans);
}

/** The invariants of any built tree: order is a depth-first permutation, children sorted by start. */
function checkTree(m) {
  const n = m.nodes.length;
  assert.equal(m.order.length, n);
  assert.equal(new Set(m.order).size, n, 'every span shown exactly once');
  for (let p = 0; p < n; p++) assert.equal(m.position[m.order[p]], p);
  for (const nd of m.nodes) {
    if (nd.parent < 0) {
      assert.equal(nd.depth, 0);
      assert.ok(m.roots.includes(nd.index));
      assert.equal(m.endPos[nd.index] - m.position[nd.index] >= 1, true);
      continue;
    }
    const pa = m.nodes[nd.parent];
    assert.equal(nd.depth, pa.depth + 1);
    assert.ok(pa.children.includes(nd.index));
    // nested: the child's subtree lies inside its parent's
    assert.ok(m.position[nd.parent] < m.position[nd.index]);
    assert.ok(m.endPos[nd.index] <= m.endPos[nd.parent]);
  }
  for (const nd of [...m.nodes, { children: m.roots }]) {
    const ch = nd.children;
    for (let k = 1; k < ch.length; k++) {
      const a = m.nodes[ch[k - 1]];
      const b = m.nodes[ch[k]];
      assert.ok(a.start < b.start || (a.start === b.start && a.index < b.index), 'siblings by start time, then as sent');
    }
  }
}

/** Critical-path invariants: segments in time order, disjoint, each inside its span. */
function checkPath(m, cp) {
  let last = -Infinity;
  for (const s of cp.segments) {
    const nd = m.nodes[s.node];
    assert.ok(s.start < s.end, 'no empty segment');
    assert.ok(s.start >= last, 'segments in time order, disjoint');
    assert.ok(s.start >= nd.start && s.end <= nd.end, 'a segment lies inside its span');
    assert.equal(cp.onPath[s.node], 1);
    last = s.end;
  }
}

/**
 * Jaeger's rule, written the plain recursive way: a span's critical time runs back from its
 * end through the child (clamped to the span) that finished last, then through the child that
 * finished last before that one started; time no such child covers is the span's own.
 */
function referencePath(m) {
  const out = [];
  const visit = (kids, node, lo, hi) => {
    let cursor = hi;
    const sorted = kids.map((i) => m.nodes[i]).filter((c) => !(c.start > hi || c.end < lo))
      .sort((a, b) => b.end - a.end || a.start - b.start || a.index - b.index);
    const used = new Set();
    for (;;) {
      const c = sorted.find((x) => !used.has(x) && Math.min(x.end, hi) <= cursor);
      if (!c) break;
      // the children seen before c in end order can never fit again: the cursor only falls
      for (const x of sorted) { used.add(x); if (x === c) break; }
      const ce = Math.min(c.end, hi);
      const cs = Math.max(c.start, lo);
      if (node >= 0 && cursor > ce) out.push({ node, start: ce, end: cursor });
      visit(c.children, c.index, cs, ce);
      cursor = cs;
    }
    if (node >= 0 && cursor > lo) out.push({ node, start: lo, end: cursor });
  };
  visit(m.roots, -1, 0, m.total);
  return out.reverse();
}

describe('span tree', () => {
  test('children by start time, ties in the order sent, depth-first rows', () => {
    const m = M.buildTrace(trace([
      span('c', 'r', 50, 60, { name: 'late' }),
      span('r', null, 0, 100, { name: 'root' }),
      span('b2', 'r', 10, 30, { name: 'tieSecond' }),
      span('b1', 'r', 5, 40, { name: 'early' }),
      span('b3', 'r', 10, 20, { name: 'tieThird' }),
      span('g', 'b1', 6, 7, { name: 'grandchild' }),
    ]));
    checkTree(m);
    assert.deepEqual(names(m, m.order), ['root', 'early', 'grandchild', 'tieSecond', 'tieThird', 'late']);
    assert.deepEqual(m.roots.map((i) => m.nodes[i].span.name), ['root']);
    const g = m.nodes[m.byId.get('g')];
    assert.equal(g.depth, 2);
    assert.deepEqual(M.ancestors(m, g.index).map((i) => m.nodes[i].id), ['r', 'b1']);
    assert.equal(m.total, 100);
    assert.equal(m.t0, T0);
    const late = m.nodes[m.byId.get('c')];
    assert.equal(late.sibling, 3);
    assert.equal(late.siblings, 4);
  });

  test('a span whose parent is missing becomes a root, flagged; roots by start time', () => {
    const m = M.buildTrace(trace([
      span('x', 'gone', 30, 40, { name: 'orphan' }),
      span('r', null, 10, 100, { name: 'root' }),
      span('y', 'x', 31, 32, { name: 'orphanChild' }),
      span('z', '', 0, 5, { name: 'emptyParent' }),
    ]));
    checkTree(m);
    assert.deepEqual(names(m, m.roots), ['emptyParent', 'root', 'orphan']);
    assert.deepEqual(names(m, m.order), ['emptyParent', 'root', 'orphan', 'orphanChild']);
    assert.equal(m.nodes[m.byId.get('x')].orphan, true);
    assert.equal(m.nodes[m.byId.get('r')].orphan, false);
    assert.equal(m.nodes[m.byId.get('z')].orphan, false);
    assert.equal(m.nodes[m.byId.get('y')].parent, m.byId.get('x'));
  });

  test('parent links that loop are cut at the earliest span of the loop', () => {
    const m = M.buildTrace(trace([
      span('a', 'c', 20, 30, { name: 'a' }),
      span('b', 'a', 10, 50, { name: 'b' }),
      span('c', 'b', 15, 40, { name: 'c' }),
      span('d', 'a', 21, 22, { name: 'hangsOnLoop' }),
      span('e', 'd', 5, 6, { name: 'earliestButNotOnLoop' }),
      span('s', 's', 0, 1, { name: 'ownParent' }),
    ]));
    checkTree(m);
    const b = m.nodes[m.byId.get('b')];
    assert.equal(b.cycle, true, 'b starts first among a, b, c');
    assert.equal(b.parent, -1);
    assert.equal(m.nodes[m.byId.get('e')].cycle, false);
    assert.equal(m.nodes[m.byId.get('s')].parent, -1);
    assert.deepEqual(names(m, m.order), ['ownParent', 'b', 'c', 'a', 'hangsOnLoop', 'earliestButNotOnLoop']);
  });

  test('a duplicate span id keeps the first span as the parent of its children', () => {
    const m = M.buildTrace(trace([
      span('r', null, 0, 10, { name: 'first' }),
      span('r', null, 1, 10, { name: 'second' }),
      span('k', 'r', 2, 3, { name: 'kid' }),
    ]));
    checkTree(m);
    assert.equal(m.nodes[1].duplicate, true);
    assert.equal(m.nodes[2].parent, 0);
    assert.deepEqual(names(m, m.order), ['first', 'kid', 'second']);
  });

  test('collapsed nodes hide exactly their subtrees', () => {
    const m = M.buildTrace(trace([
      span('r', null, 0, 100, { name: 'r' }),
      span('a', 'r', 1, 50, { name: 'a' }),
      span('a1', 'a', 2, 3, { name: 'a1' }),
      span('a2', 'a', 4, 5, { name: 'a2' }),
      span('a21', 'a2', 4, 5, { name: 'a21' }),
      span('b', 'r', 60, 70, { name: 'b' }),
    ]));
    const c = new Uint8Array(m.nodes.length);
    assert.deepEqual(names(m, M.visibleRows(m, c)), ['r', 'a', 'a1', 'a2', 'a21', 'b']);
    c[m.byId.get('a2')] = 1;
    assert.deepEqual(names(m, M.visibleRows(m, c)), ['r', 'a', 'a1', 'a2', 'b']);
    c[m.byId.get('a')] = 1;
    assert.deepEqual(names(m, M.visibleRows(m, c)), ['r', 'a', 'b']);
    c[m.byId.get('r')] = 1;
    assert.deepEqual(names(m, M.visibleRows(m, c)), ['r']);
  });

  test('times are exact relative to the first start, though Unix nanoseconds exceed 2^53', () => {
    const big = 1795317388123456789n;
    const m = M.buildTrace(trace([
      { ...span('r', null, 0, 0), start_unix_nano: String(big), end_unix_nano: String(big + 3n) },
      { ...span('k', 'r', 0, 0), start_unix_nano: String(big + 1n), end_unix_nano: String(big + 2n) },
      { ...span('back', 'r', 0, 0), start_unix_nano: String(big + 2n), end_unix_nano: String(big + 1n) },
    ]));
    assert.deepEqual(m.nodes.map((nd) => [nd.start, nd.end]), [[0, 3], [1, 2], [2, 2]], 'an end before the start reads as the start');
    assert.equal(m.t0, big);
    assert.equal(m.total, 3);
    const bad = M.buildTrace(trace([span('a', null, 5, 9), { ...span('b', 'a', 0, 0), start_unix_nano: 'not a number', end_unix_nano: '' }]));
    assert.equal(bad.t0, 0n, 'an unparsable time reads as 0, the earliest');
    assert.equal(bad.nodes[1].end, 0);
    assert.equal(M.parseNs('12x'), 0n);
    assert.equal(M.parseNs(String(big)), big);
  });

  test('an empty or malformed answer gives an empty model', () => {
    for (const j of [{}, { spans: null }, null, { spans: [] }]) {
      const m = M.buildTrace(j);
      assert.equal(m.nodes.length, 0);
      assert.equal(M.visibleRows(m, new Uint8Array(0)).length, 0);
      assert.deepEqual(M.criticalPath(m).segments, []);
    }
  });
});

describe('critical path', () => {
  test('through the last-finishing child, then the one that ended before it started', () => {
    const m = M.buildTrace(trace([
      span('r', null, 0, 100, { name: 'root' }),
      span('a', 'r', 10, 40, { name: 'A' }), // overlaps B's start: not on the path
      span('b', 'r', 30, 90, { name: 'B' }),
      span('c', 'b', 50, 70, { name: 'C' }),
      span('d', 'r', 95, 120, { name: 'D' }), // outlives the root: counts only to 100
    ]));
    const cp = M.criticalPath(m);
    checkPath(m, cp);
    assert.deepEqual(cp.segments.map((s) => [m.nodes[s.node].span.name, s.start, s.end]),
      [['root', 0, 30], ['B', 30, 50], ['C', 50, 70], ['B', 70, 90], ['root', 90, 95], ['D', 95, 100]]);
    assert.equal(cp.onPath[m.byId.get('a')], 0);
    assert.deepEqual(cp.byNode.get(m.byId.get('b')), [[30, 50], [70, 90]]);
  });

  test('back-to-back children are both on the path', () => {
    const m = M.buildTrace(trace([
      span('r', null, 0, 20), span('x', 'r', 0, 10), span('y', 'r', 10, 20),
    ]));
    const cp = M.criticalPath(m);
    assert.equal(cp.onPath[m.byId.get('x')], 1);
    assert.equal(cp.onPath[m.byId.get('y')], 1);
    assert.equal(cp.byNode.has(m.byId.get('r')), false, 'the root waits on its children all the time');
  });

  test('orphan roots join one path; gaps between them belong to no span', () => {
    const m = M.buildTrace(trace([
      span('r1', null, 0, 50, { name: 'R1' }), span('r2', 'missing', 60, 100, { name: 'R2' }),
      span('r3', 'missing', 10, 70, { name: 'R3' }),
    ]));
    const cp = M.criticalPath(m);
    checkPath(m, cp);
    assert.deepEqual(cp.segments.map((s) => [m.nodes[s.node].span.name, s.start, s.end]), [['R1', 0, 50], ['R2', 60, 100]]);
  });

  test('equals the plain recursive rule on random trees', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const m = M.buildTrace(randomTrace(2 + (seed % 40), seed));
      checkTree(m);
      const cp = M.criticalPath(m);
      checkPath(m, cp);
      assert.deepEqual(cp.segments, referencePath(m), `seed ${seed}`);
    }
  });
});

describe('10,000 spans', () => {
  test('a random 10,000-span trace builds into a valid tree and path', (t) => {
    const json = randomTrace(10000, 42);
    const t0 = performance.now();
    const m = M.buildTrace(json);
    const cp = M.criticalPath(m);
    const rows = M.visibleRows(m, new Uint8Array(m.nodes.length));
    t.diagnostic(`build + critical path + rows: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal(rows.length, 10000);
    checkTree(m);
    checkPath(m, cp);
    for (const nd of m.nodes) {
      assert.equal(BigInt(nd.start), BigInt(nd.span.start_unix_nano) - m.t0, 'exact relative start');
    }
  });

  test('a 10,000-deep chain needs no recursion: every span is on the path', () => {
    const n = 10000;
    const spans = [];
    for (let k = 0; k < n; k++) spans.push(span(hex16(k + 1), k ? hex16(k) : null, k, 2 * n - k));
    const m = M.buildTrace(trace(spans.reverse()));
    checkTree(m);
    assert.equal(m.nodes[m.byId.get(hex16(n))].depth, n - 1);
    const cp = M.criticalPath(m);
    checkPath(m, cp);
    assert.equal(cp.onPath.reduce((a, b) => a + b, 0), n);
    const c = new Uint8Array(n);
    c[m.byId.get(hex16(2))] = 1;
    assert.equal(M.visibleRows(m, c).length, 2);
  });
});

describe('axis, badges, documents, messages', () => {
  test('ticks fall on 1-2-5 steps from 0 to at most the end', () => {
    for (const total of [1, 7, 999, 248e6, 1.61e9, 10.04e9, 3.6e12]) {
      const ticks = M.timeTicks(total, 5);
      assert.equal(ticks[0].at, 0);
      assert.ok(ticks.length >= 2 && ticks.length <= 8, `${total}: ${ticks.length} ticks`);
      const step = ticks[1].at;
      const mant = step / 10 ** Math.floor(Math.log10(step));
      assert.ok([1, 2, 5].some((x) => Math.abs(mant - x) < 1e-9), `${total}: step ${step}`);
      assert.ok(ticks.at(-1).at <= total * (1 + 1e-9));
      assert.ok(ticks.at(-1).at + step > total);
    }
    assert.deepEqual(M.timeTicks(0), [{ at: 0, pct: 0 }]);
  });

  test('GenAI summary reads the canonical view; absent numbers are null', () => {
    const g = M.genaiSummary({ genai: {
      'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 298, 'gen_ai.usage.output_tokens': 388, 'gen_ai.usage.cache_read.input_tokens': 128,
      'gen_ai.usage.cost': 0.004625, 'gen_ai.response.time_to_first_chunk': 0.584,
    } });
    assert.equal(g.category, 'llm');
    assert.equal(g.model, 'gpt-4o-2024-08-06');
    assert.equal(g.input, 298);
    assert.equal(g.cacheRead, 128);
    assert.equal(g.reasoning, null);
    assert.equal(g.ttft, 0.584);
    assert.equal(M.genaiSummary({}), null);
    const odd = M.genaiSummary({ genai: { 'gen_ai.operation.name': '__proto__', 'gen_ai.request.model': { x: 1 }, 'gen_ai.usage.input_tokens': '5' } });
    assert.equal(odd.category, 'other');
    assert.equal(odd.model, '');
    assert.equal(odd.input, null);
    assert.equal(M.opStyle('execute_tool').category, 'tool');
    assert.equal(M.opStyle('constructor').category, 'other');
  });

  test('documents ranked by score, unscored last in the order sent', () => {
    const r = M.rankDocuments([{ id: 'a', score: 0.5 }, { id: 'b', score: null }, { id: 'c', score: 0.9 },
      { id: 'd' }, { id: 'e', score: 0.5 }, null]);
    assert.deepEqual(r.map((d) => [d.rank, d.id]), [[1, 'c'], [2, 'a'], [3, 'e'], [4, 'b'], [5, 'd']]);
  });

  test('tool calls are paired with their results; the rest stays in order', () => {
    const messages = {
      system: [{ role: 'system', parts: [{ type: 'text', content: 'be brief' }] }],
      input: [
        { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
        { role: 'assistant', parts: [{ type: 'text', content: 'looking' }, { type: 'tool_call', id: 'c1', name: 'search', arguments: { q: 1 } },
          { type: 'tool_call', name: 'anon' }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: 'found' }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', response: 'anon result' }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'nope', response: 'unmatched' }] },
      ],
      output: [{ role: 'assistant', finish_reason: 'stop', parts: [{ type: 'reasoning', content: 'hmm' }, { type: 'text', content: 'done' }] }],
    };
    const copy = structuredClone(messages);
    const c = M.conversation(messages);
    assert.deepEqual(c.map((m) => [m.section, m.role]),
      [['system', 'system'], ['input', 'user'], ['input', 'assistant'], ['input', 'tool'], ['output', 'assistant']]);
    const calls = c[2].parts.filter((p) => p.type === 'tool_call');
    assert.equal(calls[0].result.response, 'found');
    assert.equal(calls[1].result.response, 'anon result');
    assert.equal(c[3].parts[0].response, 'unmatched');
    assert.equal(c[4].finishReason, 'stop');
    assert.deepEqual(messages, copy, 'the API data is not modified');
    assert.deepEqual(M.conversation(null), []);
  });
});

describe('hostile strings stay data', () => {
  const script = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  const rlo = '\u202Egnp.exe\u202C';
  const huge = 'x'.repeat(1 << 20);

  test('names, ids and services pass through the model unchanged', () => {
    const m = M.buildTrace(trace([
      span('__proto__', null, 0, 10, { name: script, service: rlo }),
      span('constructor', '__proto__', 1, 2, { name: huge, service: 'javascript:alert(1)' }),
      span('toString', 'hasOwnProperty', 3, 4, { name: rlo }),
    ]));
    checkTree(m);
    assert.equal(m.nodes[m.byId.get('constructor')].parent, m.byId.get('__proto__'));
    assert.equal(m.nodes[m.byId.get('toString')].orphan, true);
    assert.deepEqual(names(m, m.order), [script, huge, rlo]);
    assert.deepEqual([...m.services.keys()], [rlo, 'javascript:alert(1)', 'svc']);
    assert.deepEqual(M.findSpans(m, '<script>').map((i) => m.nodes[i].id), ['__proto__']);
    assert.deepEqual(M.findSpans(m, '.*('), [], 'the query is text, not a pattern');
  });

  test('attribute keys such as __proto__ are listed and filtered as text', () => {
    const attrs = JSON.parse(`{"__proto__": ${JSON.stringify(script)}, "k": {"nested": [1, "${'\\u202E'}"]}, "n": 5}`);
    const all = M.filterAttributes(attrs, '');
    assert.deepEqual(all.map((a) => a.key), ['__proto__', 'k', 'n']);
    assert.equal(all[0].text, script);
    assert.equal(all[2].text, '5');
    assert.deepEqual(JSON.parse(all[1].text), { nested: [1, '\u202E'] });
    assert.deepEqual(M.filterAttributes(attrs, 'ONERROR').map((a) => a.key), ['__proto__']);
    assert.deepEqual(M.filterAttributes(attrs, 'proto').map((a) => a.key), ['__proto__']);
  });

  test('a 1 MB string folds to its first KB without splitting a character', () => {
    const f = M.foldText(huge, 4096);
    assert.equal(f.head.length, 4096);
    assert.equal(f.hidden, huge.length - 4096);
    const emoji = `${'a'.repeat(4095)}😀tail`;
    const g = M.foldText(emoji, 4096);
    assert.equal(g.head, 'a'.repeat(4095));
    assert.equal(g.head.length + g.hidden, emoji.length);
    assert.deepEqual(M.foldText('short'), { head: 'short', hidden: 0 });
  });

  test('message content, roles and tool names come back as given', () => {
    const c = M.conversation({ input: [{ role: script, parts: [{ type: 'text', content: huge },
      { type: 'tool_call', id: '__proto__', name: rlo, arguments: script }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: '__proto__', response: 'javascript:alert(1)' }] }] });
    assert.equal(c.length, 1);
    assert.equal(c[0].role, script);
    assert.equal(c[0].parts[0].content, huge);
    assert.equal(c[0].parts[1].name, rlo);
    assert.equal(c[0].parts[1].result.response, 'javascript:alert(1)');
    assert.equal(M.valueText(script), script);
  });
});

describe('fixture traces through a real llmtrace', () => {
  let server;
  const scenarios = loadScenarios().filter((s) => /^(multi-agent|rag)(-proto)?$/.test(s.scenario));
  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });

  test('trees, GenAI badges, tool pairs and critical paths match the fixtures', async () => {
    assert.ok(scenarios.length >= 8, 'multi-agent and rag of every library');
    let pairs = 0;
    for (const sc of scenarios) {
      const known = new Set((await listAllTraces(server)).map((t) => t.trace_id));
      for (const f of sc.files.filter((x) => x.signal !== 'metrics')) await postFixtureFile(server, f);
      const ids = (await listAllTraces(server)).map((t) => t.trace_id).filter((id) => !known.has(id));
      assert.equal(ids.length, sc.expected.trace_count, sc.scenario);
      const m = M.buildTrace(await getTrace(server, ids[0]));
      const where = `${sc.library}/${sc.scenario}`;
      checkTree(m);
      assert.equal(m.nodes.length, sc.expected.span_count, where);
      // each span's parent, and each parent's children in start order, as expected.json lists them
      const want = sc.expected.spans;
      const got = m.nodes.map((nd) => [nd.span.name, nd.parent < 0 ? null : m.nodes[nd.parent].span.name]);
      assert.deepEqual(got.map(String).sort(), want.map((s) => String([s.name, s.parent])).sort(), where);
      for (const nd of [...m.nodes, null]) {
        const pname = nd ? nd.span.name : null;
        const kids = (nd ? nd.children : m.roots).map((i) => m.nodes[i].span.name);
        assert.deepEqual(kids, want.filter((s) => s.parent === pname).map((s) => s.name), `${where}: children of ${pname}`);
      }
      // input tokens on the badges: the same (span name, tokens) pairs as the fixture's. Langfuse
      // sends input without the cached part, which the canonical view adds back, so its raw
      // numbers are not the badge's.
      const withTokens = sc.library === 'langfuse' ? []
        : want.filter((s) => s.genai && s.genai.input_tokens !== undefined);
      const tokenNames = new Set(withTokens.map((s) => s.name));
      const badgeTokens = m.nodes.map((nd) => [nd.span.name, M.genaiSummary(nd.span)])
        .filter(([name, g]) => tokenNames.has(name) && g && g.input !== null).map(([name, g]) => `${name}=${g.input}`);
      assert.ok(withTokens.length > 0 || sc.library === 'langfuse', where);
      assert.deepEqual(badgeTokens.sort(), withTokens.map((s) => `${s.name}=${s.genai.input_tokens}`).sort(), `${where}: input tokens`);
      for (const nd of m.nodes) {
        const convo = M.conversation(nd.span.messages);
        const calls = new Set(convo.flatMap((msg) => msg.parts).filter((p) => p.type === 'tool_call' && p.id).map((p) => p.id));
        for (const msg of convo) {
          for (const p of msg.parts) {
            assert.ok(!(p.type === 'tool_call_response' && calls.has(p.id)), `${where}: result ${p.id} left unpaired`);
            if (p.type === 'tool_call' && p.result) pairs++;
          }
        }
      }
      const cp = M.criticalPath(m);
      checkPath(m, cp);
      assert.deepEqual(cp.segments, referencePath(m), where);
      const root = m.nodes[m.roots[0]];
      assert.equal(cp.onPath[root.index], 1, where);
      if (m.roots.length === 1 && root.start === 0 && root.end === m.total) {
        assert.equal(cp.segments.reduce((a, s) => a + s.end - s.start, 0), m.total, `${where}: the path covers the root`);
      }
    }
    assert.ok(pairs > 0, 'some fixture tool call was paired with its result');
  });
});
