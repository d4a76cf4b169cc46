// genai.test.mjs — the canonical GenAI view end to end: every captured scenario is sent to a
// fresh `llmtrace serve` over OTLP/HTTP as captured, and each span's "genai" object read back
// through the API must state the truth behind what the library emitted (expected.json's genai
// block is in each library's own semantics; its notes and the fixtures README say how to read
// it). Also: costs are computed for known models, trace totals and list rows add up the
// spans' views, messages come back, and /api/genai/summary agrees with the spans.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  getOk, getTrace, listAllTraces, loadScenarios, otlpJsonTraceRequest, post, postFixtureFile,
  randomHex, startServer, successProblem,
} from './lib.mjs';

const scenarios = loadScenarios();

// expected.json's genai block -> the canonical view's keys, per library (fixtures README,
// "What each library emits"). Values absent from the truth must be absent from the view.
function truthOf(library, e) {
  const g = e.genai || {};
  const t = {
    'gen_ai.operation.name': undefined,
    'gen_ai.provider.name': g.provider,
    'gen_ai.request.model': g.request_model,
    'gen_ai.response.model': g.response_model,
    'gen_ai.agent.name': g.agent_name,
    'gen_ai.tool.name': g.tool_name,
    'gen_ai.tool.call.id': g.tool_call_id,
    'error.type': g.error_type,
    'gen_ai.usage.input_tokens': g.input_tokens,
    'gen_ai.usage.output_tokens': g.output_tokens,
    'gen_ai.usage.cache_read.input_tokens': g.cached_tokens,
    'gen_ai.usage.reasoning.output_tokens': g.reasoning_tokens,
    'gen_ai.usage.cache_creation.input_tokens': undefined,
    'gen_ai.response.finish_reasons': g.finish_reasons?.map((f) => (f === 'tool_calls' ? 'tool_call' : f)),
  };
  const op = g.operation;
  const chain = e.parent === null ? 'invoke_workflow' : 'task';
  if (library === 'otel') {
    t['gen_ai.operation.name'] = op;
  } else if (library === 'traceloop') {
    t['gen_ai.operation.name'] = { chat: 'chat', workflow: 'invoke_workflow', task: 'task', agent: 'invoke_agent', tool: 'execute_tool' }[op];
  } else if (library === 'openinference') {
    // one model field: the response model of an LLM span, the request model of an embedding
    t['gen_ai.operation.name'] = op === 'CHAIN' ? chain
      : { LLM: 'chat', EMBEDDING: 'embeddings', RETRIEVER: 'retrieval', TOOL: 'execute_tool', AGENT: 'invoke_agent' }[op];
    if (op === 'EMBEDDING') t['gen_ai.request.model'] = g.model;
    else t['gen_ai.response.model'] = g.model;
  } else if (library === 'langfuse') {
    // net usage: input excludes cached, output excludes reasoning; one model field (the
    // response model, or the request model of a failed call); names of tools and agents
    // are the observation names; level ERROR is error.type _OTHER
    if (op === 'generation') t['gen_ai.operation.name'] = e.name === 'OpenAI.embeddings' ? 'embeddings' : 'chat';
    else if (op === 'chain') t['gen_ai.operation.name'] = chain;
    else t['gen_ai.operation.name'] = { agent: 'invoke_agent', tool: 'execute_tool', retriever: 'retrieval' }[op];
    if (g.error) t['gen_ai.request.model'] = g.model;
    else t['gen_ai.response.model'] = g.model;
    if (g.input_tokens !== undefined && g.cached_tokens !== undefined) t['gen_ai.usage.input_tokens'] += g.cached_tokens;
    if (g.output_tokens !== undefined && g.reasoning_tokens !== undefined) t['gen_ai.usage.output_tokens'] += g.reasoning_tokens;
    if (op === 'tool') t['gen_ai.tool.name'] = e.name;
    if (op === 'agent') t['gen_ai.agent.name'] = e.name;
    if (g.error && !t['error.type']) t['error.type'] = '_OTHER';
  }
  return t;
}

const KEYS = Object.keys(truthOf('otel', { genai: {} }));

// One line per span: its name and the compared fields, so that the expected and the stored
// spans of a scenario compare as sorted lists whatever their ids and arrival order.
function fingerprint(name, fields) {
  return JSON.stringify([name, ...KEYS.map((k) => (fields[k] === undefined ? null : fields[k]))]);
}

function sorted(list) {
  return [...list].sort();
}

for (const sc of scenarios) {
  describe(`${sc.library}/${sc.scenario}`, () => {
    const exp = sc.expected;
    let server;
    let summaries;
    let traces;

    before(async () => {
      server = await startServer();
      for (const f of sc.files) {
        const r = await postFixtureFile(server, f);
        const problem = successProblem(r.res, r.headers['content-type']);
        if (problem) throw new Error(`${f.name}: ${problem}`);
      }
      summaries = await listAllTraces(server);
      traces = [];
      for (const s of summaries) traces.push(await getTrace(server, s.trace_id));
    });

    after(async () => {
      if (server) await server.stop();
    });

    test('every span\'s canonical view states the truth', () => {
      const want = exp.spans.map((e) => fingerprint(e.name, truthOf(sc.library, e)));
      const got = traces.flatMap((t) => t.spans.map((s) => fingerprint(s.name, s.genai || {})));
      const missing = sorted(want.filter((w) => !got.includes(w)));
      const extra = sorted(got.filter((g) => !want.includes(g)));
      assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] },
        `fields compared: ${KEYS.join(', ')}`);
      assert.deepEqual(sorted(got), sorted(want));
    });

    test('spans without anything GenAI have no view; views name their dialect', () => {
      for (const t of traces) {
        for (const s of t.spans) {
          if (!s.genai) continue;
          // a dialect's marker alone (a Langfuse "span" observation) gives a view that
          // holds only the dialect
          assert.equal(s.genai.dialect, sc.library, `${s.name}: dialect`);
        }
      }
      if (sc.library === 'otel') {
        const plain = exp.spans.filter((e) => !e.genai || Object.keys(e.genai).length === 0).map((e) => e.name);
        const stored = traces.flatMap((t) => t.spans.filter((s) => !s.genai).map((s) => s.name));
        assert.deepEqual(sorted(stored), sorted(plain));
      }
    });

    test('LLM calls of known models are priced; totals add up the spans', () => {
      for (const t of traces) {
        let input = 0, output = 0, cost = 0, calls = 0;
        for (const s of t.spans) {
          const g = s.genai;
          if (!g) continue;
          const counted = 'gen_ai.usage.input_tokens' in g || 'gen_ai.usage.output_tokens' in g;
          if (counted) {
            calls++;
            assert.ok(['computed', 'reported', 'unknown_model'].includes(g.cost_source), `${s.name}: cost_source ${g.cost_source}`);
            const model = g['gen_ai.response.model'] || g['gen_ai.request.model'] || '';
            if (/^(gpt-4o|o3-mini|text-embedding-3|claude-3-5-sonnet)/.test(model)) {
              assert.equal(g.cost_source, 'computed', `${s.name} (${model}): not priced`);
              assert.ok(g['gen_ai.usage.cost'] > 0, `${s.name} (${model}): cost ${g['gen_ai.usage.cost']}`);
            }
          } else {
            assert.ok(!('cost_source' in g) || g.cost_source === 'reported', `${s.name}: a cost source without tokens`);
          }
          input += g['gen_ai.usage.input_tokens'] || 0;
          output += g['gen_ai.usage.output_tokens'] || 0;
          cost += g['gen_ai.usage.cost'] || 0;
        }
        assert.equal(t.totals.llm_calls, calls, 'totals.llm_calls');
        assert.equal(t.totals.input_tokens, input, 'totals.input_tokens');
        assert.equal(t.totals.output_tokens, output, 'totals.output_tokens');
        assert.ok(Math.abs(t.totals.cost - cost) < 1e-9, `totals.cost ${t.totals.cost} vs ${cost}`);
        const row = summaries.find((r) => r.trace_id === t.trace_id);
        assert.equal(row.llm_calls, calls, 'list row llm_calls');
        assert.equal(row.input_tokens, input, 'list row input_tokens');
        assert.equal(row.output_tokens, output, 'list row output_tokens');
        assert.ok(Math.abs(row.cost - cost) < 1e-9, `list row cost ${row.cost} vs ${cost}`);
      }
    });

    test('the genai summary by model agrees with the spans', async () => {
      const byModel = new Map();
      for (const t of traces) {
        for (const s of t.spans) {
          const g = s.genai;
          if (!g) continue;
          const key = g['gen_ai.response.model'] || g['gen_ai.request.model'] || '';
          const m = byModel.get(key) || { calls: 0, input: 0, output: 0, errors: 0 };
          m.calls++;
          m.input += g['gen_ai.usage.input_tokens'] || 0;
          m.output += g['gen_ai.usage.output_tokens'] || 0;
          if (s.status.code === 'ERROR' || 'error.type' in g) m.errors++;
          byModel.set(key, m);
        }
      }
      const sum = await getOk(server.http, '/api/genai/summary?start=0&group_by=model');
      const got = new Map(sum.groups.map((g) => [g.key, { calls: g.calls, input: g.input_tokens, output: g.output_tokens, errors: g.errors }]));
      assert.deepEqual(Object.fromEntries(got), Object.fromEntries(byModel));
    });

    const withContent = exp.capture_message_content !== false && !/nocontent/.test(sc.scenario);
    if (withContent && /single-chat|chat-length/.test(sc.scenario)) {
      test('the chat span has its input and output messages', () => {
        const chat = traces.flatMap((t) => t.spans).find((s) => s.genai?.['gen_ai.operation.name'] === 'chat');
        assert.ok(chat, 'no chat span');
        assert.ok(chat.messages, 'no messages');
        const user = chat.messages.input.find((m) => m.role === 'user');
        assert.ok(user && user.parts.some((p) => p.type === 'text' && p.content.length > 0), 'no user text');
        const out = chat.messages.output[0];
        assert.ok(out && out.parts.some((p) => p.type === 'text' && p.content.length > 0), 'no output text');
      });
    }
    if (/^rag/.test(sc.scenario)) {
      test('the retrieval span has its five scored documents', () => {
        const spans = traces.flatMap((t) => t.spans).filter((s) => s.documents);
        assert.equal(spans.length, 1);
        assert.deepEqual(spans[0].documents.map((d) => [d.id, d.score]),
          [['doc-001', 0.912], ['doc-002', 0.887], ['doc-003', 0.843], ['doc-004', 0.796], ['doc-005', 0.751]]);
      });
    }
  });
}

test('list filters: model, provider, operation, min_tokens, min_cost', async () => {
  const sc = scenarios.find((s) => s.library === 'otel' && s.scenario === 'multi-agent-proto');
  assert.ok(sc, 'otel/multi-agent-proto fixture missing');
  const other = scenarios.find((s) => s.library === 'otel' && s.scenario === 'single-chat-proto');
  const server = await startServer();
  try {
    for (const f of [...sc.files, ...other.files]) await postFixtureFile(server, f);
    const all = await listAllTraces(server);
    assert.equal(all.length, 2);
    const ids = async (q) => (await getOk(server.http, `/api/traces?${q}`)).traces.map((t) => t.trace_id).sort();
    const agentTrace = all.find((t) => t.llm_calls === 2).trace_id;
    const chatTrace = all.find((t) => t.llm_calls === 1).trace_id;
    assert.deepEqual(await ids('model=o3-mini'), [agentTrace]);
    assert.deepEqual(await ids('model=gpt-4o-mini'), [agentTrace, chatTrace].sort());
    assert.deepEqual(await ids('operation=execute_tool'), [agentTrace]);
    assert.deepEqual(await ids('provider=openai'), [agentTrace, chatTrace].sort());
    assert.deepEqual(await ids('provider=anthropic'), []);
    assert.deepEqual(await ids('min_tokens=100'), [agentTrace]);
    assert.deepEqual(await ids('min_tokens=60'), [agentTrace, chatTrace].sort());
    const chatCost = all.find((t) => t.trace_id === chatTrace).cost;
    assert.ok(chatCost > 0);
    assert.deepEqual(await ids(`min_cost=${chatCost * 1.5}`), [agentTrace]);
    const bad = await fetch(`${server.http}/api/traces?min_cost=cheap`);
    assert.equal(bad.status, 400);
    const badGroup = await fetch(`${server.http}/api/genai/summary?group_by=colour`);
    assert.equal(badGroup.status, 400);
  } finally {
    await server.stop();
  }
});

test('bad GenAI attributes: stored as sent, the bad fields left out of the view, nothing else lost', async () => {
  const server = await startServer();
  try {
    const tid = randomHex(16);
    const str = (v) => ({ stringValue: v });
    const int = (v) => ({ intValue: String(v) });
    const attrs = [
      ['gen_ai.operation.name', str('chat')],
      ['gen_ai.provider.name', str('openai')],
      ['gen_ai.request.model', str('gpt-4o-mini')],
      ['gen_ai.usage.input_tokens', str('120')], // a string: left out
      ['gen_ai.usage.output_tokens', int(-5)], // negative: left out
      ['gen_ai.usage.cache_read.input_tokens', { doubleValue: 3.5 }], // not an integer: left out
      ['gen_ai.request.temperature', str('hot')], // wrong type: left out
      ['gen_ai.request.max_tokens', int(256)],
      ['gen_ai.system', str('anthropic')], // deprecated name disagreeing with the current one
      ['gen_ai.input.messages', str('[{"role":"user","parts":[{"type":"text","content":"hi"}')], // truncated JSON
      ['gen_ai.output.messages', str('{not json')],
    ].map(([key, value]) => ({ key, value }));
    const req = otlpJsonTraceRequest([{ traceId: tid, spanId: randomHex(8), name: 'chat gpt-4o-mini', attributes: attrs }]);
    const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(req)), { 'content-type': 'application/json' });
    assert.equal(successProblem(res, 'application/json'), null);
    const t = await getTrace(server, tid);
    const span = t.spans[0];
    // every attribute as sent
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], '120');
    assert.equal(span.attributes['gen_ai.usage.output_tokens'], -5);
    assert.equal(span.attributes['gen_ai.usage.cache_read.input_tokens'], 3.5);
    assert.equal(span.attributes['gen_ai.input.messages'], '[{"role":"user","parts":[{"type":"text","content":"hi"}');
    assert.equal(span.attributes['gen_ai.output.messages'], '{not json');
    // the view keeps what is good and leaves out what is not
    const g = span.genai;
    assert.equal(g['gen_ai.operation.name'], 'chat');
    assert.equal(g['gen_ai.provider.name'], 'openai', 'the current attribute wins over gen_ai.system');
    assert.equal(g['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(g['gen_ai.request.max_tokens'], 256);
    for (const k of ['gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.usage.cache_read.input_tokens', 'gen_ai.request.temperature', 'gen_ai.usage.cost']) {
      assert.ok(!(k in g), `${k} should be left out, got ${JSON.stringify(g[k])}`);
    }
    assert.ok(!span.messages || (span.messages.input.length === 0 && span.messages.output.length === 0), JSON.stringify(span.messages));
    assert.equal(t.totals.llm_calls, 0);
  } finally {
    await server.stop();
  }
});
