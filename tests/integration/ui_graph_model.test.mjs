// ui_graph_model.test.mjs — the agent graph's model and layout (src/ui/pages/graph_model.js),
// run under Node without a browser: the multi-agent fixture of every library as a real
// llmtrace answers it (GET /api/traces/{id}), and spans in the same shape built here for
// what the fixtures do not have: loops, parallel steps, missing parents, parent cycles,
// hundreds of nesting levels, a thousand distinct nodes, hostile names.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getOk, loadScenarios, postFixtureFile, startServer } from './lib.mjs';
import { buildGraph, classify, edgeLabel, layoutGraph, LIMITS, shorten, spanTree } from '../../src/ui/pages/graph_model.js';

// ---- spans as GET /api/traces/{id} gives them ----

const T0 = 1_795_000_000_000_000_000n;
const MS = 1_000_000n;

/** A trace builder: span(parent, name, genai, {at, dur}) with times in ms from the start. */
function traceBuilder() {
  const spans = [];
  let n = 0;
  const span = (parent, name, genai, { at = 0, dur = 1, status = 'OK', id } = {}) => {
    const sid = id || (++n).toString(16).padStart(16, '0');
    const start = T0 + BigInt(Math.round(at * 1000)) * (MS / 1000n);
    const end = start + BigInt(Math.round(dur * 1000)) * (MS / 1000n);
    spans.push({
      span_id: sid, parent_span_id: parent ? parent.span_id : null, name, kind: 'INTERNAL', service: 'svc',
      start_unix_nano: String(start), end_unix_nano: String(end), duration_ns: String(end - start),
      status: { code: status, message: '' }, attributes: {}, events: [], links: [], logs: [],
      ...(genai ? { genai } : {}),
    });
    return spans[spans.length - 1];
  };
  return { spans, span };
}
const agent = (name) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });
const chat = (model, inTok = 0, outTok = 0, cost = 0) => ({
  'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model,
  'gen_ai.usage.input_tokens': inTok, 'gen_ai.usage.output_tokens': outTok, 'gen_ai.usage.cost': cost,
});
const tool = (name) => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name });

// ---- helpers over the result ----

const names = (box) => box.nodes.map((n) => `${n.kind}:${n.name}`);
const edgeList = (box) => box.edges.map((e) => `${e.from.name}>${e.to.name} ${e.type} ${edgeLabel(e)}`);
function boxesOf(box, out = []) {
  out.push(box);
  for (const n of box.nodes) if (n.box) boxesOf(n.box, out);
  return out;
}
function maxDepth(box) {
  let d = box.depth;
  for (const n of box.nodes) if (n.box) d = Math.max(d, maxDepth(n.box));
  return d;
}

/** What must hold for any layout: nothing overlaps, boxes hold their nodes, paths are numbers. */
function checkLayout(graph, lay) {
  const inside = (r, b) => r.x >= b.x - 1e-6 && r.y >= b.y - 1e-6 && r.x + r.w <= b.x + b.w + 1e-6 && r.y + r.h <= b.y + b.h + 1e-6;
  const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const boxRect = new Map(lay.boxes.map((b) => [b.scope, b]));
  // the drawn things of each box: its nodes and the boxes directly inside it
  for (const box of boxesOf(graph.root)) {
    const items = [];
    for (const n of box.nodes) {
      if (n.box) items.push(boxRect.get(n.box));
      else items.push(lay.nodes.find((p) => p.node === n));
    }
    assert.ok(items.every(Boolean), 'every node and box of the graph is placed');
    const outer = boxRect.get(box);
    for (const it of items) {
      assert.ok(Number.isFinite(it.x) && Number.isFinite(it.y) && it.w > 0 && it.h > 0);
      if (outer) assert.ok(inside(it, outer), `a node lies inside its box (${box.key})`);
      assert.ok(it.x + it.w <= lay.width + 1e-6 && it.y + it.h <= lay.height + 1e-6, 'inside the drawing');
    }
    // rows: sort by y then x and compare neighbours in the same row band
    const sorted = [...items].sort((a, b) => a.y - b.y || a.x - b.x);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length && sorted[j].y < sorted[i].y + sorted[i].h; j++) {
        assert.ok(!overlap(sorted[i], sorted[j]), `nodes of box ${box.key || '(top)'} overlap`);
      }
    }
  }
  for (const e of lay.edges) {
    for (const s of [e.d, e.arrow]) {
      const nums = s.match(/-?\d+(\.\d+)?/g) || [];
      assert.ok(nums.length >= 4 && !/NaN|Infinity|undefined/.test(s), `edge path is made of numbers: ${s}`);
    }
    assert.ok(Number.isFinite(e.lx) && Number.isFinite(e.ly));
  }
  const drawn = lay.nodes.length;
  const wanted = boxesOf(graph.root).reduce((s, b) => s + b.nodes.filter((n) => !n.box).length, 0);
  assert.equal(drawn, wanted, 'each node is drawn once');
}

// ---- the fixtures, through a real llmtrace ----

describe('the multi-agent fixtures as llmtrace serves them', () => {
  const libraries = ['langfuse/multi-agent', 'openinference/multi-agent', 'otel/multi-agent-proto', 'traceloop/multi-agent'];
  const scenarios = loadScenarios().filter((s) => libraries.includes(`${s.library}/${s.scenario}`));
  let server;
  before(async () => {
    assert.equal(scenarios.length, libraries.length, 'every multi-agent scenario is in the fixtures');
    server = await startServer();
    for (const sc of scenarios) {
      for (const f of sc.files) {
        if (f.signal !== 'traces' && f.signal !== 'logs') continue;
        const { res } = await postFixtureFile(server, f);
        assert.equal(res.status, 200, `${sc.library}/${sc.scenario} ${f.name}`);
      }
    }
  });
  after(async () => { if (server) await server.stop(); });

  for (const lib of libraries) {
    test(`${lib}: the planner's box holds its LLM call, its tool and the coder's box, edges 1–4 in execution order`, async () => {
      const sc = scenarios.find((s) => `${s.library}/${s.scenario}` === lib);
      const exp = sc.expected.spans;
      const isAgent = (s) => /^(agent|invoke_agent|AGENT)$/.test(s.genai && s.genai.operation);
      const agents = exp.filter(isAgent).map((s) => s.genai.agent_name || s.name);
      const toolSpan = exp.find((s) => /^(tool|execute_tool|TOOL)$/.test(s.genai && s.genai.operation));
      const models = exp.filter((s) => s.genai && (s.genai.request_model || s.genai.model) && !isAgent(s)).map((s) => s.genai.request_model || s.genai.model);
      assert.equal(agents.length, 2);
      assert.equal(models.length, 2);
      const rootName = exp.find((s) => s.parent === null).name;

      const list = await getOk(server.http, `/api/traces?limit=100&name=${encodeURIComponent(rootName)}`);
      assert.equal(list.traces.length, 1, `one trace whose root is ${rootName}`);
      const trace = await getOk(server.http, `/api/traces/${list.traces[0].trace_id}`);
      const g = buildGraph(trace.spans);

      assert.deepEqual(names(g.root), [`agent:${agents[0]}`], 'one box at the top: the planner');
      const planner = g.root.nodes[0].box;
      assert.deepEqual(names(planner), [`agent:${agents[0]}`, `llm:${models[0]}`, `tool:${toolSpan.genai.tool_name || toolSpan.name}`, `agent:${agents[1]}`]);
      assert.equal(planner.header, planner.nodes[0]);
      const coder = planner.nodes[3].box;
      assert.ok(coder, 'the coder is a box inside the planner, through the HTTP hop where there is one');
      assert.deepEqual(names(coder), [`agent:${agents[1]}`, `llm:${models[1]}`]);
      const tn = toolSpan.genai.tool_name || toolSpan.name;
      assert.deepEqual(edgeList(planner), [
        `${agents[0]}>${models[0]} call 1`, `${models[0]}>${tn} next 2`, `${tn}>${agents[1]} next 3`]);
      assert.deepEqual(edgeList(coder), [`${agents[1]}>${models[1]} call 4`]);
      assert.deepEqual({ agent: g.stats.counts.agent, llm: g.stats.counts.llm, tool: g.stats.counts.tool }, { agent: 2, llm: 2, tool: 1 });
      assert.equal(g.stats.spans, trace.spans.length);
      assert.equal(g.stats.orphans, 0);
      // a click on a node opens its span: each node carries the ids of its spans
      const ids = new Set(trace.spans.map((s) => s.span_id));
      for (const b of boxesOf(g.root)) for (const n of b.nodes) assert.ok(n.spans.length && n.spans.every((id) => ids.has(id)));
      // tokens from the canonical view add up on the LLM nodes
      const tok = trace.spans.reduce((s, x) => s + ((x.genai && x.genai['gen_ai.usage.input_tokens']) || 0), 0);
      assert.equal(planner.nodes[1].inputTokens + coder.nodes[1].inputTokens, tok);

      const lay = layoutGraph(g);
      checkLayout(g, lay);
      assert.equal(lay.boxes.length, 2);
      assert.deepEqual(lay.nodes.map((p) => p.node.name), [agents[0], models[0], tn, agents[1], models[1]], 'drawn (and tabbed) in execution order');
      assert.ok(lay.edges.every((e) => e.shape === 'down'), 'a run without loops only goes down');
    });
  }
});

// ---- shapes the fixtures do not have ----

describe('graph model', () => {
  test('a loop of LLM call and tools collapses into counted edges: a cycle, numbered in execution order', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'invoke_agent planner', agent('planner'), { at: 0, dur: 100 });
    const seq = ['chat', 'search', 'chat', 'search', 'chat', 'read_file', 'chat'];
    seq.forEach((s, i) => span(root, s, s === 'chat' ? chat('gpt-4o', 100, 10, 0.001) : tool(s), { at: 1 + i * 10, dur: 5 }));
    const g = buildGraph(spans);
    const box = g.root.nodes[0].box;
    assert.deepEqual(names(box), ['agent:planner', 'llm:gpt-4o', 'tool:search', 'tool:read_file']);
    assert.deepEqual(box.nodes.map((n) => n.count), [1, 4, 2, 1]);
    assert.deepEqual(edgeList(box), [
      'planner>gpt-4o call 1', 'gpt-4o>search next 2 ×2', 'search>gpt-4o next 3 ×2', 'gpt-4o>read_file next 6', 'read_file>gpt-4o next 7']);
    assert.deepEqual(box.edges.find((e) => e.to.name === 'search').nums, [2, 4]);
    const llm = box.nodes[1];
    assert.equal(llm.inputTokens, 400);
    assert.equal(llm.outputTokens, 40);
    assert.ok(Math.abs(llm.cost - 0.004) < 1e-12);
    assert.equal(llm.durationNs, 4 * 5e6);
    assert.equal(llm.spans[0], spans[1].span_id, 'the node opens its first call');
    const lay = layoutGraph(g);
    checkLayout(g, lay);
    const shape = (from, to) => lay.edges.find((e) => e.edge.from.name === from && e.edge.to.name === to).shape;
    assert.equal(shape('gpt-4o', 'search'), 'down');
    assert.equal(shape('search', 'gpt-4o'), 'back', 'the way back is drawn as a cycle');
  });

  test('one LLM call repeated back to back is a loop on its node', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'run', agent('a'), { dur: 100 });
    for (let i = 0; i < 3; i++) span(root, 'chat', chat('m'), { at: 1 + i * 2, dur: 1 });
    const g = buildGraph(spans);
    const box = g.root.nodes[0].box;
    assert.deepEqual(edgeList(box), ['a>m call 1', 'm>m next 2 ×2']);
    const lay = layoutGraph(g);
    checkLayout(g, lay);
    assert.equal(lay.edges.find((e) => e.edge.from === e.edge.to).shape, 'self');
  });

  test('parallel tools fan out from the step before them and join into the step after', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'run', agent('a'), { dur: 100 });
    span(root, 'chat', chat('m'), { at: 1, dur: 5 });
    for (const t of ['x', 'y', 'z']) span(root, t, tool(t), { at: 10, dur: 10 });
    span(root, 'chat', chat('m'), { at: 30, dur: 5 });
    const box = buildGraph(spans).root.nodes[0].box;
    assert.deepEqual(edgeList(box), ['a>m call 1', 'm>x next 2', 'm>y next 3', 'm>z next 4', 'x>m next 5', 'y>m next 5', 'z>m next 5']);
  });

  test('steps that start together with the first one are all called by the agent', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'run', agent('a'), { dur: 100 });
    span(root, 'x', tool('x'), { at: 1, dur: 5 });
    span(root, 'y', tool('y'), { at: 2, dur: 5 });
    const box = buildGraph(spans).root.nodes[0].box;
    assert.deepEqual(edgeList(box), ['a>x call 1', 'a>y call 2']);
  });

  test('spans without a GenAI operation are see-through; a step under a step is called by it', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'POST /ask', null, { dur: 100 });
    const wf = span(root, 'pipeline', { 'gen_ai.operation.name': 'invoke_workflow' }, { at: 1, dur: 90 });
    const glue = span(wf, 'glue', {}, { at: 2, dur: 40 });
    span(glue, 'embed', { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'emb' }, { at: 3, dur: 2 });
    span(glue, 'kb', { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'kb' }, { at: 6, dur: 2 });
    const task = span(wf, 'format', { 'gen_ai.operation.name': 'task' }, { at: 50, dur: 20 });
    span(task, 'chat', chat('m'), { at: 51, dur: 10 });
    const g = buildGraph(spans);
    assert.deepEqual(names(g.root), ['workflow:pipeline']);
    const box = g.root.nodes[0].box;
    assert.deepEqual(names(box), ['workflow:pipeline', 'llm:emb', 'retrieval:kb', 'task:format', 'llm:m']);
    assert.deepEqual(edgeList(box), ['pipeline>emb call 1', 'emb>kb next 2', 'kb>format next 3', 'format>m call 4']);
    assert.deepEqual(g.stats.counts, { agent: 0, workflow: 1, llm: 2, tool: 0, retrieval: 1, task: 1 });
    checkLayout(g, layoutGraph(g));
  });

  test('a sub-agent called twice is one box; its steps add up, its header counts both calls', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'planner', agent('planner'), { dur: 100 });
    for (let i = 0; i < 2; i++) {
      const hop = span(root, 'POST', null, { at: 1 + i * 40, dur: 30 });
      const c = span(hop, 'coder', agent('coder'), { at: 2 + i * 40, dur: 25 });
      span(c, 'chat', chat('m', 10, 1), { at: 3 + i * 40, dur: 5 });
      span(c, 'write', tool('write'), { at: 10 + i * 40, dur: 5, status: i ? 'ERROR' : 'OK' });
    }
    const g = buildGraph(spans);
    const planner = g.root.nodes[0].box;
    assert.deepEqual(names(planner), ['agent:planner', 'agent:coder']);
    assert.deepEqual(edgeList(planner), ['planner>coder call 1', 'coder>coder next 4']);
    const coder = planner.nodes[1].box;
    assert.equal(coder.header.count, 2);
    assert.deepEqual(edgeList(coder), ['coder>m call 2 ×2', 'm>write next 3 ×2']);
    assert.equal(coder.nodes[2].errors, 1);
    checkLayout(g, layoutGraph(g));
  });

  test('missing parents, parent cycles, repeated ids and junk entries: every span once, no hang', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'a', agent('a'), { dur: 100 });
    span(root, 'x', tool('x'), { at: 1 });
    span({ span_id: 'ffffffffffffffff' }, 'lost', tool('lost'), { at: 2 }); // parent not in the trace
    span({ span_id: 'eeeeeeeeeeeeeeee' }, 'lost agent', agent('b'), { at: 3, dur: 20 });
    span(spans[spans.length - 1], 'y', tool('y'), { at: 4 });
    // p ↔ q name each other as parents; r hangs below q
    const p = span(null, 'p', agent('p'), { at: 50, dur: 10, id: '000000000000000a' });
    const q = span(p, 'q', tool('q'), { at: 51, id: '000000000000000b' });
    p.parent_span_id = q.span_id;
    span(q, 'r', tool('r'), { at: 52 });
    spans.push({ ...spans[1] }, null, 7, { name: 'no id' }, { span_id: 5 });
    const t = spanTree(spans);
    assert.equal(t.recs.length, 8, 'repeated ids and entries without a string span_id are skipped');
    assert.equal(t.orphans, 2);
    assert.equal(t.cycles, 1);
    assert.deepEqual(t.roots.map((r) => r.s.name), ['a', 'lost', 'lost agent', 'p'], 'the cycle is cut at its earliest span');
    const g = buildGraph(spans);
    assert.deepEqual(names(g.root), ['agent:a', 'tool:lost', 'agent:b', 'agent:p']);
    assert.equal(g.stats.orphans, 2);
    assert.equal(g.stats.cycles, 1);
    assert.equal(g.stats.steps, 8);
    // lost starts while a runs (no edge from a, which ends last); b starts as lost ends, p after b
    assert.deepEqual(edgeList(g.root), ['lost>b next 2', 'b>p next 4']);
    assert.deepEqual(names(g.root.nodes[3].box), ['agent:p', 'tool:q', 'tool:r']);
    checkLayout(g, layoutGraph(g));
    assert.equal(buildGraph([]).root.nodes.length, 0);
    assert.equal(buildGraph(null).stats.spans, 0);
    assert.equal(layoutGraph(buildGraph([])).nodes.length, 0);
  });

  test('300 levels of sub-agents: boxes stop at the depth limit, deeper agents are steps of the last box', () => {
    const { spans, span } = traceBuilder();
    let parent = null;
    for (let i = 0; i < 300; i++) {
      parent = span(parent, `agent ${i}`, agent(`level${i}`), { at: i, dur: 1000 - i });
      span(parent, 'chat', chat('m'), { at: i + 0.5, dur: 0.1 });
    }
    const g = buildGraph(spans);
    assert.equal(maxDepth(g.root), LIMITS.depth);
    assert.equal(g.stats.flattened, 300 - LIMITS.depth);
    assert.equal(g.stats.steps, 600);
    let box = g.root;
    for (let d = 0; d < LIMITS.depth; d++) box = box.nodes.find((n) => n.box).box;
    assert.equal(box.header.name, `level${LIMITS.depth - 1}`);
    assert.ok(box.more, 'the 294 flattened agents fold into "+N more"');
    assert.equal(box.nodes.length, LIMITS.perScope);
    assert.equal(box.more.hidden, 2 + (300 - LIMITS.depth) - (LIMITS.perScope - 1));
    const lay = layoutGraph(g);
    checkLayout(g, lay);
    assert.equal(lay.boxes.length, LIMITS.depth);
  });

  test('1,000 distinct tools: "+N more" within the limits, all of them on request, laid out without overlap', (t) => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'wide', agent('wide'), { dur: 10000 });
    for (let i = 0; i < 1000; i++) {
      span(root, 'chat', chat('m'), { at: 1 + i * 4, dur: 1 });
      span(root, `tool ${i}`, tool(`tool_${i}`), { at: 3 + i * 4, dur: 1 });
    }
    const g = buildGraph(spans);
    const box = g.root.nodes[0].box;
    assert.equal(box.nodes.length, LIMITS.perScope);
    assert.equal(box.more.kind, 'more');
    assert.equal(box.more.hidden, 1002 - (LIMITS.perScope - 1));
    assert.equal(box.more.count, box.more.hidden, 'one call per hidden tool');
    assert.equal(g.stats.hiddenNodes, box.more.hidden);
    // every transition is still counted, on the edges of the shown nodes or of "+N more"
    const total = box.edges.reduce((s, e) => s + e.count, 0);
    assert.equal(total, 1 + 1000 + 999, 'agent → chat, chat → each tool, each tool but the last → chat');
    assert.ok(box.edges.some((e) => e.from.kind === 'llm' && e.to === box.more && e.count === box.more.hidden));
    checkLayout(g, layoutGraph(g));

    // "+N more" asks for more: the box grows by its expand entry, within the total budget
    const g2 = buildGraph(spans, { expand: { [box.key]: LIMITS.perScope } });
    assert.equal(g2.root.nodes[0].box.nodes.length, 2 * LIMITS.perScope);

    const t0 = performance.now();
    const all = buildGraph(spans, { limits: { perScope: 5000, total: 5000 } });
    const lay = layoutGraph(all);
    const ms = performance.now() - t0;
    t.diagnostic(`build + layout of 1,002 nodes and 2,001 spans: ${ms.toFixed(1)} ms`);
    const big = all.root.nodes[0].box;
    assert.equal(big.nodes.length, 1002);
    assert.equal(big.more, null);
    assert.equal(lay.nodes.length, 1002);
    checkLayout(all, lay);
    const rows = new Map();
    for (const p of lay.nodes) rows.set(p.y, (rows.get(p.y) || 0) + 1);
    assert.ok(Math.max(...rows.values()) <= LIMITS.rowMax, 'wide layers wrap into rows');
  });

  test('the total budget keeps deep, wide graphs bounded: boxes left shut say how much is inside', () => {
    const { spans, span } = traceBuilder();
    const root = span(null, 'root', agent('root'), { dur: 10000 });
    for (let i = 0; i < 20; i++) {
      const a = span(root, `sub ${i}`, agent(`sub${i}`), { at: 1 + i * 100, dur: 90 });
      for (let j = 0; j < 30; j++) span(a, `t${j}`, tool(`t${j}`), { at: 2 + i * 100 + j * 2, dur: 1 });
    }
    const g = buildGraph(spans, { limits: { total: 100 } });
    let drawn = 0;
    let shut = 0;
    for (const b of boxesOf(g.root)) drawn += b.nodes.length;
    (function walk(b) { for (const n of b.nodes) { if (n.closed) { shut++; assert.equal(n.inside, 30); } if (n.box) walk(n.box); } })(g.root);
    assert.ok(drawn <= 100 + 2, `drawn ${drawn}`);
    assert.ok(shut > 0, 'some boxes stay shut');
    checkLayout(g, layoutGraph(g));
  });

  test('classify: names from the canonical GenAI view, the span name when the view has none', () => {
    assert.deepEqual(classify({ name: 'x', genai: agent('planner') }), { kind: 'agent', op: 'invoke_agent', name: 'planner' });
    assert.deepEqual(classify({ name: 'planner-agent', genai: { 'gen_ai.operation.name': 'invoke_agent' } }).name, 'planner-agent');
    assert.deepEqual(classify({ name: 'OpenAI.chat', genai: { 'gen_ai.operation.name': 'chat', 'gen_ai.response.model': 'o3-mini-2025-01-31' } }).name, 'o3-mini-2025-01-31');
    assert.equal(classify({ name: 'r', genai: { 'gen_ai.operation.name': 'retrieval' } }).name, 'r');
    assert.equal(classify({ name: 'c', genai: { 'gen_ai.operation.name': 'create_agent' } }).kind, 'task');
    assert.equal(classify({ name: 'POST' }), null);
    assert.equal(classify({ name: 'x', genai: {} }), null);
    assert.equal(classify({ name: 'x', genai: { 'gen_ai.operation.name': 7 } }), null);
  });

  test('hostile names stay data: markup, bidi overrides and a 1 MB name', () => {
    const huge = `${'😀'.repeat(10)}${'A'.repeat(1 << 20)}`;
    const { spans, span } = traceBuilder();
    const root = span(null, '<script>x</script>', agent('<img src=x onerror=alert(1)>'), { dur: 10 });
    span(root, 'a', tool('\u202Eevil'), { at: 1 });
    span(root, 'b', tool(huge), { at: 2 });
    const g = buildGraph(spans);
    const box = g.root.nodes[0].box;
    assert.deepEqual(box.nodes.map((n) => n.name), ['<img src=x onerror=alert(1)>', '\u202Eevil', huge]);
    const s = shorten(huge, 24);
    assert.equal(Array.from(s).length, 24);
    assert.ok(s.startsWith('😀'.repeat(10)) && s.endsWith('…'), 'cut on a code point, never inside a surrogate pair');
    assert.equal(shorten('😀😀', 2), '😀😀');
    assert.equal(shorten(null, 5), '');
    checkLayout(g, layoutGraph(g));
  });
});
