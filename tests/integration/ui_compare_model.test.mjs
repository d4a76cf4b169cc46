// ui_compare_model.test.mjs — the trace comparison's model (src/ui/pages/compare_model.js)
// under Node: span matching by path of names on traces a real llmtrace serves (the demo's
// agent runs, the same fixture sent twice), and on shapes built here (extra and missing
// steps, repeated names, deep chains, parent cycles); the line diff of LLM messages
// checked against an independent longest-common-subsequence count on many random inputs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getOk, makeTempDir, removeDir, runCli, sqliteOnly, startServer } from './lib.mjs';
import { delta, diffLines, figures, foldDiff, isLlmCall, matchTraces, messageLines } from '../../src/ui/pages/compare_model.js';

// ---- spans as GET /api/traces/{id} gives them ----

const T0 = 1_795_000_000_000_000_000n;
function traceBuilder(offsetMs = 0) {
  const spans = [];
  let n = 0;
  const span = (parent, name, { at = 0, dur = 1, genai, messages } = {}) => {
    const start = T0 + BigInt(offsetMs + at) * 1_000_000n;
    const end = start + BigInt(dur) * 1_000_000n;
    spans.push({
      span_id: (++n).toString(16).padStart(16, '0'), parent_span_id: parent ? parent.span_id : null, name,
      start_unix_nano: String(start), end_unix_nano: String(end), duration_ns: String(end - start),
      status: { code: 'OK' }, ...(genai ? { genai } : {}), ...(messages ? { messages } : {}),
    });
    return spans[spans.length - 1];
  };
  return { spans, span };
}

/** The names from the root down to a span, from its own trace. */
function pathOf(spans, s) {
  const byId = new Map(spans.map((x) => [x.span_id, x]));
  const out = [];
  for (let x = s, guard = 0; x && guard < 100000; x = byId.get(x.parent_span_id), guard++) out.unshift(x.name);
  return out.join(' / ');
}

/** Checks what must hold for any pair: each span appears once, matched spans share their path. */
function checkMatch(spansA, spansB, m) {
  const seenA = new Set();
  const seenB = new Set();
  for (const r of m.rows) {
    if (r.a) { assert.ok(!seenA.has(r.a.span_id), 'an A span appears once'); seenA.add(r.a.span_id); }
    if (r.b) { assert.ok(!seenB.has(r.b.span_id), 'a B span appears once'); seenB.add(r.b.span_id); }
    if (r.a && r.b) assert.equal(pathOf(spansA, r.a), pathOf(spansB, r.b), 'matched spans have the same path of names');
    assert.equal(r.side, r.a && r.b ? 'both' : r.a ? 'a' : 'b');
  }
  assert.equal(seenA.size, new Set(spansA.map((s) => s.span_id)).size);
  assert.equal(seenB.size, new Set(spansB.map((s) => s.span_id)).size);
  assert.equal(m.both + m.onlyA + m.onlyB, m.rows.length);
  // depth goes down by at most one level at a time (tree order)
  m.rows.forEach((r, i) => assert.ok(i === 0 ? r.depth === 0 : r.depth <= m.rows[i - 1].depth + 1));
}

/** An independent LCS length (memoised recursion over a small input). */
function lcsLength(a, b) {
  const memo = new Map();
  const f = (i, j) => {
    if (i === a.length || j === b.length) return 0;
    const k = i * 1000 + j;
    if (memo.has(k)) return memo.get(k);
    const v = a[i] === b[j] ? 1 + f(i + 1, j + 1) : Math.max(f(i + 1, j), f(i, j + 1));
    memo.set(k, v);
    return v;
  };
  return f(0, 0);
}

/** a and b rebuilt from the ops; ops in order on both sides. */
function checkOps(a, b, ops) {
  const ra = [];
  const rb = [];
  let ia = 0;
  let ib = 0;
  for (const o of ops) {
    if (o.op === '=') { assert.equal(o.a, ia++); assert.equal(o.b, ib++); assert.equal(a[o.a], b[o.b]); ra.push(a[o.a]); rb.push(b[o.b]); }
    else if (o.op === '-') { assert.equal(o.a, ia++); ra.push(a[o.a]); }
    else { assert.equal(o.op, '+'); assert.equal(o.b, ib++); rb.push(b[o.b]); }
  }
  assert.deepEqual(ra, a);
  assert.deepEqual(rb, b);
}

// ---- real traces ----

describe('comparing traces that llmtrace serves', { skip: sqliteOnly('demo --data writes the data directory the server then opens') }, () => {
  let server;
  let dataDir;
  before(async () => {
    dataDir = makeTempDir('lt-ui-compare-');
    const r = await runCli(['demo', '--data', dataDir, '--traces', '30', '--seed', '7']);
    assert.equal(r.code, 0, r.stderr);
    server = await startServer({ dataDir });
  });
  after(async () => { if (server) await server.stop(); removeDir(dataDir); });

  test('two agent runs of the demo: every span once, matched by path, LLM calls with messages to diff', async () => {
    const list = await getOk(server.http, '/api/traces?limit=100&operation=invoke_agent');
    assert.ok(list.traces.length >= 2, 'the demo makes several agent runs');
    const [a, b] = await Promise.all(list.traces.slice(0, 2).map((t) => getOk(server.http, `/api/traces/${t.trace_id}`)));
    const m = matchTraces(a.spans, b.spans);
    checkMatch(a.spans, b.spans, m);
    const root = m.rows[0];
    assert.equal(root.side, 'both', 'the two roots have the same name');
    assert.equal(root.depth, 0);
    const llm = m.rows.filter((r) => r.side === 'both' && isLlmCall(r.a));
    assert.ok(llm.length >= 1, 'an LLM call on both sides');
    for (const r of llm) {
      const la = messageLines(r.a.messages);
      const lb = messageLines(r.b.messages);
      assert.ok(la.length && lb.length, 'the demo stores message content');
      const { ops, approx } = diffLines(la.map((l) => l.text), lb.map((l) => l.text));
      assert.equal(approx, false);
      checkOps(la.map((l) => l.text), lb.map((l) => l.text), ops);
    }
    // the per-step figures come from the canonical view
    const fa = figures(llm[0].a);
    assert.equal(fa.inputTokens, llm[0].a.genai['gen_ai.usage.input_tokens']);
    assert.equal(fa.cost, llm[0].a.genai['gen_ai.usage.cost']);
    assert.equal(String(fa.durationNs), llm[0].a.duration_ns);
  });

  test('a trace against itself: everything in both, no difference, equal messages', async () => {
    const list = await getOk(server.http, '/api/traces?limit=100&operation=invoke_agent');
    const t = await getOk(server.http, `/api/traces/${list.traces[0].trace_id}`);
    const m = matchTraces(t.spans, t.spans);
    checkMatch(t.spans, t.spans, m);
    assert.equal(m.both, t.spans.length);
    for (const r of m.rows) {
      assert.equal(r.a, r.b);
      assert.equal(delta(figures(r.a).durationNs, figures(r.b).durationNs).cls, 'same');
      const l = messageLines(r.a.messages).map((x) => x.text);
      assert.ok(diffLines(l, l).ops.every((o) => o.op === '='));
    }
  });
});

// ---- shapes built here ----

describe('compare model', () => {
  test('extra and missing steps, repeated names matched by occurrence, rows in tree order', () => {
    const A = traceBuilder();
    const ra = A.span(null, 'agent', { dur: 100 });
    A.span(ra, 'chat', { at: 1 });
    A.span(ra, 'tool search', { at: 3 });
    A.span(ra, 'chat', { at: 5 });
    const ka = A.span(ra, 'retrieve', { at: 7, dur: 5 });
    A.span(ka, 'embed', { at: 8 });
    const B = traceBuilder(5000); // later, so relative starts matter, not absolute ones
    const rb = B.span(null, 'agent', { dur: 90 });
    B.span(rb, 'chat', { at: 1 });
    B.span(rb, 'tool search', { at: 3 });
    B.span(rb, 'chat', { at: 5 });
    B.span(rb, 'tool fetch', { at: 6 });
    B.span(rb, 'chat', { at: 8 });
    const m = matchTraces(A.spans, B.spans);
    checkMatch(A.spans, B.spans, m);
    assert.deepEqual(m.rows.map((r) => `${'  '.repeat(r.depth)}${r.name} ${r.side}`), [
      'agent both', '  chat both', '  tool search both', '  chat both', '  tool fetch b', '  retrieve a', '    embed a', '  chat b']);
    assert.deepEqual([m.both, m.onlyA, m.onlyB], [4, 2, 2]);
    // the second "chat" of A is the second of B
    assert.equal(m.rows[3].a.span_id, A.spans[3].span_id);
    assert.equal(m.rows[3].b.span_id, B.spans[3].span_id);
  });

  test('several roots, missing parents, a parent cycle, 5,000 levels deep: no hang, every span once', () => {
    const A = traceBuilder();
    let p = null;
    for (let i = 0; i < 5000; i++) p = A.span(p, `level ${i % 3}`, { at: i });
    A.span({ span_id: 'ffffffffffffffff' }, 'orphan', { at: 1 });
    const B = traceBuilder();
    p = null;
    for (let i = 0; i < 4000; i++) p = B.span(p, `level ${i % 3}`, { at: i });
    const x = B.span(null, 'x', { at: 9000 });
    const y = B.span(x, 'y', { at: 9001 });
    x.parent_span_id = y.span_id;
    const m = matchTraces(A.spans, B.spans);
    checkMatch(A.spans, B.spans, m);
    assert.equal(m.both, 4000);
    assert.equal(m.onlyA, 1001);
    assert.equal(m.onlyB, 2);
    assert.equal(Math.max(...m.rows.map((r) => r.depth)), 4999);
    assert.deepEqual(matchTraces([], []).rows, []);
    assert.equal(matchTraces(null, [{ span_id: 'a', name: 'x', start_unix_nano: '1' }]).onlyB, 1);
  });

  test('the line diff is a longest common subsequence, in order, on 300 random pairs', () => {
    let seed = 12345;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let k = 0; k < 300; k++) {
      const a = Array.from({ length: rnd(25) }, () => `line ${rnd(6)}`);
      const b = Array.from({ length: rnd(25) }, () => `line ${rnd(6)}`);
      const { ops, approx } = diffLines(a, b);
      assert.equal(approx, false);
      checkOps(a, b, ops);
      assert.equal(ops.filter((o) => o.op === '=').length, lcsLength(a, b), JSON.stringify({ a, b }));
    }
  });

  test('the line diff of a growing conversation: common head and tail cut, the new turn added', () => {
    const turn = (i) => [`[user]`, `question ${i}`, `[output assistant]`, `answer ${i}`];
    const a = [...Array.from({ length: 2000 }, (_, i) => turn(i)).flat(), 'tail'];
    const b = [...Array.from({ length: 2001 }, (_, i) => turn(i)).flat(), 'tail'];
    const { ops, approx } = diffLines(a, b, { maxCells: 100 });
    assert.equal(approx, false, 'the differing middle is small once head and tail are cut');
    checkOps(a, b, ops);
    assert.deepEqual(ops.filter((o) => o.op !== '=').map((o) => `${o.op}${b[o.b]}`), ['+[user]', '+question 2000', '+[output assistant]', '+answer 2000']);
  });

  test('past the size bound the middle is given as removed then added, and says so', () => {
    const a = ['same', ...Array.from({ length: 50 }, (_, i) => `a${i}`), 'end'];
    const b = ['same', ...Array.from({ length: 50 }, (_, i) => `b${i}`), 'end'];
    const { ops, approx } = diffLines(a, b, { maxCells: 2499 });
    assert.equal(approx, true);
    checkOps(a, b, ops);
    assert.deepEqual(ops.map((o) => o.op).join(''), `=${'-'.repeat(50)}${'+'.repeat(50)}=`);
    assert.equal(diffLines(a, b, { maxCells: 2500 }).approx, false);
    assert.equal(diffLines([], ['x']).approx, false, 'only additions need no table');
  });

  test('foldDiff keeps three lines of context around changes and folds the rest', () => {
    const a = Array.from({ length: 40 }, (_, i) => `l${i}`);
    const b = a.slice();
    b[20] = 'changed';
    const { ops } = diffLines(a, b);
    const f = foldDiff(ops, 3);
    assert.deepEqual(f.map((x) => (x.op === 'gap' ? `gap ${x.from}-${x.to}` : x.op)).join(' '),
      'gap 0-17 = = = - + = = = gap 25-41');
    // the gaps and the kept items cover every op once
    let covered = 0;
    for (const x of f) covered += x.op === 'gap' ? x.to - x.from : 1;
    assert.equal(covered, ops.length);
    assert.deepEqual(foldDiff(diffLines(['x'], ['x']).ops), [{ op: '=', a: 0, b: 0 }], 'a short run is kept');
  });

  test('messageLines: roles, tool calls and results, reasoning, media, unknown parts, newlines', () => {
    const lines = messageLines({
      system: [{ role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] }],
      input: [
        { role: 'user', parts: [{ type: 'text', content: 'two\nlines' }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: { ok: true } }] },
      ],
      output: [{ role: 'assistant', finish_reason: 'tool_calls', parts: [
        { type: 'reasoning', content: 'think' },
        { type: 'tool_call', id: 'c2', name: 'search_docs', arguments: { query: 'q', top_k: 3 } },
        { type: 'media', modality: 'image', mime_type: 'image/png', uri: 'https://x/y.png' },
        { type: 'other', type_name: 'custom', content: '{"a":1}' },
        null, 7,
      ] }, null],
    });
    assert.deepEqual(lines.map((l) => `${l.kind === 'role' ? '#' : ''}${l.text}`), [
      '#[system instructions]', 'Be brief.',
      '#[user]', 'two', 'lines',
      '#[tool]', '← result [c1]: {"ok":true}',
      '#[output assistant (finish: tool_calls)]', '(reasoning) think', '→ search_docs({"query":"q","top_k":3}) [c2]',
      '[image image/png https://x/y.png]', '[custom] {"a":1}',
    ]);
    assert.deepEqual(messageLines(undefined), []);
    assert.deepEqual(messageLines({ input: 'nonsense' }), []);
    const many = messageLines({ input: [{ role: 'user', parts: [{ type: 'text', content: 'x\n'.repeat(30000) }] }] });
    assert.equal(many.length, 20000);
    assert.match(many[19999].text, /cut at 20000 lines/);
  });

  test('delta and figures: sign, class, percentage; missing values count as zero', () => {
    assert.deepEqual(delta(100, 150), { d: 50, pct: 50, cls: 'up' });
    assert.deepEqual(delta(200, 150), { d: -50, pct: -25, cls: 'down' });
    assert.deepEqual(delta(0, 5), { d: 5, pct: null, cls: 'up' });
    assert.deepEqual(delta('7', 7), { d: 0, pct: 0, cls: 'same' });
    assert.deepEqual(delta(undefined, null), { d: 0, pct: null, cls: 'same' });
    assert.deepEqual(figures({ duration_ns: '2500', genai: { 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 4, 'gen_ai.usage.cost': 0.5 } }),
      { durationNs: 2500, inputTokens: 3, outputTokens: 4, tokens: 7, cost: 0.5 });
    assert.deepEqual(figures(null), { durationNs: 0, inputTokens: 0, outputTokens: 0, tokens: 0, cost: 0 });
    assert.equal(isLlmCall({ genai: { 'gen_ai.operation.name': 'chat' } }), true);
    assert.equal(isLlmCall({ genai: { 'gen_ai.operation.name': 'execute_tool' } }), false);
    assert.equal(isLlmCall({}), false);
  });
});
