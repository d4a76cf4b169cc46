// cli.test.mjs — `llmtrace traces` and `llmtrace show` against a running server (--server)
// and against its data directory after it stopped (--data), with output piped (so no ANSI
// escapes), `--help` of every command, and one-line errors with a non-zero exit.
// Then the GenAI commands on `llmtrace demo`'s traces, whose first five (one of each kind)
// have token counts known from demo.c's tables: demo, traces (tokens, cost), show (the
// GenAI line and messages of each call), cost (by model, provider, service, agent) and
// reprice (refused while the server runs; a --prices overlay changes exactly the costs of
// its model).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  getOk, getTrace, listAllTraces, loadScenarios, makeTempDir, postFixtureFile, removeDir, runCli,
  sqliteOnly, startServer, successProblem,
} from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const ANSI = /\x1b\[/; // eslint-disable-line no-control-regex
const scenarios = loadScenarios();
const pick = (lib, name) => scenarios.find((s) => s.library === lib && s.scenario === name);
// rag (a 5-span tree) and errors (3 failing traces), from two libraries
const LOADED = [pick('otel', 'rag-proto'), pick('otel', 'errors-json'), pick('langfuse', 'rag')];

let server;
let dataDir;
let traces; // summaries
const details = new Map();

/** A loopback port nothing listens on. */
async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function assertOneLineError(r, what) {
  assert.notEqual(r.code, 0, `${what}: exit code 0 (stdout ${r.stdout.slice(0, 300)})`);
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `${what}: expected a one-line error, got ${JSON.stringify(r.stderr)}`);
  assert.ok(!ANSI.test(r.stderr), `${what}: ANSI escapes in a piped error`);
}

function checkTracesOutput(r, what) {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.ok(!ANSI.test(r.stdout), `${what}: ANSI escapes in piped output`);
  for (const t of traces) {
    assert.ok(r.stdout.includes(t.trace_id), `${what}: trace ${t.trace_id} not listed:\n${r.stdout}`);
    const line = r.stdout.split('\n').find((l) => l.includes(t.trace_id));
    assert.ok(line.includes(t.root_name), `${what}: root name ${t.root_name} missing on its line: ${line}`);
    assert.ok(line.includes(t.root_service), `${what}: root service ${t.root_service} missing on its line: ${line}`);
  }
  // newest first, as the API lists them
  const order = traces.map((t) => r.stdout.indexOf(t.trace_id));
  assert.deepEqual([...order].sort((a, b) => a - b), order, `${what}: not in the API's (newest first) order`);
}

function checkShowOutput(r, id, what) {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.ok(!ANSI.test(r.stdout), `${what}: ANSI escapes in piped output`);
  assert.ok(r.stdout.includes(id), `${what}: trace id not shown`);
  const d = details.get(id);
  const lines = r.stdout.split('\n');
  // every span on a line of its own, parents above their children (a waterfall)
  const lineOf = new Map();
  const taken = new Set();
  for (const s of d.spans) {
    const idx = lines.findIndex((l, i) => !taken.has(i) && l.includes(s.name));
    assert.ok(idx >= 0, `${what}: span ${s.name} not shown:\n${r.stdout}`);
    taken.add(idx);
    lineOf.set(s.span_id, idx);
  }
  for (const s of d.spans) {
    if (s.parent_span_id && lineOf.has(s.parent_span_id)) {
      assert.ok(lineOf.get(s.parent_span_id) < lineOf.get(s.span_id), `${what}: ${s.name} shown above its parent`);
    }
  }
  if (d.spans.some((s) => s.status.code === 'ERROR')) assert.match(r.stdout, /error/i, `${what}: an error span is not marked`);
}

before(async () => {
  server = await startServer({ keepData: true });
  dataDir = server.dataDir;
  for (const sc of LOADED) {
    for (const f of sc.files) {
      const { res, headers } = await postFixtureFile(server, f);
      const p = successProblem(res, headers['content-type']);
      if (p) throw new Error(`${sc.scenario}/${f.name}: ${p}`);
    }
  }
  traces = await listAllTraces(server);
  for (const t of traces) details.set(t.trace_id, await getTrace(server, t.trace_id));
});

after(async () => {
  if (server) await server.stop().catch(() => {});
  removeDir(dataDir);
});

describe('--help', () => {
  test('llmtrace --help', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['serve', 'traces', 'show', 'cost', 'reprice', 'demo']) assert.ok(r.stdout.includes(c), `--help does not mention ${c}`);
    assert.ok(!ANSI.test(r.stdout));
  });
  test('llmtrace serve --help', async () => {
    const r = await runCli(['serve', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['--data', '--otlp-http', '--otlp-grpc', '--http', '--max-body', '--retention-age', '--retention-size']) {
      assert.ok(r.stdout.includes(f), `serve --help does not mention ${f}`);
    }
  });
  for (const [cmd, flags] of [
    ['traces', ['--server', '--data']], ['show', ['--server', '--data']],
    ['cost', ['--by', '--since', '--server', '--data', '--json']], ['reprice', ['--data', '--prices']],
    ['demo', ['--server', '--otlp', '--data', '--traces', '--seed']],
  ]) {
    test(`llmtrace ${cmd} --help`, async () => {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      for (const f of flags) assert.ok(r.stdout.includes(f), `${cmd} --help does not mention ${f}`);
      assert.ok(!ANSI.test(r.stdout));
    });
  }
  test('unknown command and unknown flag fail with one line', async () => {
    assertOneLineError(await runCli(['no-such-command']), 'unknown command');
    assertOneLineError(await runCli(['traces', '--no-such-flag']), 'unknown flag');
  });
});

describe('against the running server (--server)', () => {
  test('fixtures loaded', () => {
    assert.equal(traces.length, LOADED.reduce((n, s) => n + s.expected.trace_count, 0));
  });

  test('llmtrace traces', async () => {
    checkTracesOutput(await runCli(['traces', '--server', server.http]), 'traces --server');
  });

  test('llmtrace show (every trace)', async () => {
    for (const t of traces) checkShowOutput(await runCli(['show', t.trace_id, '--server', server.http]), t.trace_id, `show ${t.root_name} --server`);
  });

  test('show of an unknown trace id: one-line error, non-zero exit', async () => {
    const r = await runCli(['show', '0123456789abcdef0123456789abcdef', '--server', server.http]);
    assertOneLineError(r, 'show unknown id');
    assert.equal(r.stdout, '', 'nothing on stdout');
  });

  test('show of a malformed trace id', async () => {
    assertOneLineError(await runCli(['show', 'not-a-trace-id', '--server', server.http]), 'show malformed id');
    assertOneLineError(await runCli(['show', '--server', server.http]), 'show without id');
  });

  test('unreachable server: one-line error', async () => {
    const port = await closedPort();
    assertOneLineError(await runCli(['traces', '--server', `http://127.0.0.1:${port}`], { timeoutMs: 30_000 }), 'traces unreachable');
    assertOneLineError(await runCli(['show', traces[0].trace_id, '--server', `http://127.0.0.1:${port}`], { timeoutMs: 30_000 }), 'show unreachable');
  });
});

describe('against the data directory after the server stopped (--data)', { skip: sqliteOnly('reads the data directory') }, () => {
  before(async () => {
    await server.stop();
  });

  test('llmtrace traces --data', async () => {
    checkTracesOutput(await runCli(['traces', '--data', dataDir]), 'traces --data');
  });

  test('llmtrace show --data (every trace)', async () => {
    for (const t of traces) checkShowOutput(await runCli(['show', t.trace_id, '--data', dataDir]), t.trace_id, `show ${t.root_name} --data`);
  });

  test('show of an unknown trace id --data', async () => {
    const r = await runCli(['show', 'fedcba9876543210fedcba9876543210', '--data', dataDir]);
    assertOneLineError(r, 'show unknown id --data');
    assert.equal(r.stdout, '');
  });

  test('a missing data directory is an error', async () => {
    const r = await runCli(['traces', '--data', `${dataDir}-does-not-exist`]);
    assertOneLineError(r, 'traces --data missing dir');
  });
});

// ---- GenAI: the demo's traces ----

// The first five demo traces, one of each kind, with the first entry of each of demo.c's
// content tables (rag[0], agent_tasks[0], chats[0], transcripts[0]): what the API and the
// CLI must show for them. Tokens are in semconv form (Anthropic's cache included in input).
const DEMO_TRACES = [
  { kind: 'rag', root: 'POST /ask', spans: 4, errors: 0, llm: 2, input: 11 + 1850, output: 143 },
  { kind: 'agents', root: 'invoke_agent planner', spans: 8, errors: 0, llm: 2, input: 2210 + (412 + 3072 + 1024), output: 1580 + 690 },
  { kind: 'stream', root: 'POST /v1/chat', spans: 2, errors: 0, llm: 1, input: 356, output: 412 },
  { kind: 'rate-limit', root: 'POST /v1/chat', spans: 2, errors: 2, llm: 0, input: 0, output: 0 },
  { kind: 'context', root: 'POST /summarize', spans: 2, errors: 1, llm: 0, input: 0, output: 0 },
];
// /api/genai/summary by model (the response model, else the request model)
const DEMO_MODELS = {
  'text-embedding-3-small': { calls: 1, errors: 0, input: 11, output: 0, cached: 0, reasoning: 0 },
  'gpt-4o-mini-2024-07-18': { calls: 1, errors: 0, input: 1850, output: 143, cached: 1024, reasoning: 0 },
  'o3-mini-2025-01-31': { calls: 1, errors: 0, input: 2210, output: 1580, cached: 0, reasoning: 1216 },
  'claude-3-5-sonnet-20241022': { calls: 1, errors: 0, input: 4508, output: 690, cached: 3072, reasoning: 0 },
  'gpt-4o-2024-08-06': { calls: 1, errors: 0, input: 356, output: 412, cached: 0, reasoning: 0 },
  'gpt-4o': { calls: 1, errors: 1, input: 0, output: 0, cached: 0, reasoning: 0 }, // rate-limited
  'gpt-4o-mini': { calls: 1, errors: 1, input: 0, output: 0, cached: 0, reasoning: 0 }, // context length
};
const PRICED = ['gpt-4o-mini-2024-07-18', 'o3-mini-2025-01-31', 'claude-3-5-sonnet-20241022', 'gpt-4o-2024-08-06'];
const SUM = (k) => Object.values(DEMO_MODELS).reduce((n, m) => n + m[k], 0);
// UTF-8 and a wide "terminal", so that the text is the same wherever the tests run
const TEXT_ENV = { LC_ALL: 'C.UTF-8', COLUMNS: '200', NO_COLOR: '1' };
const DOT = ' \u00b7 ';
const count = (s) => Number(String(s).replace(/,/g, ''));
const money = (s) => {
  assert.match(s, /^\$\d+(\.\d+)?$/, `not an amount of dollars: ${s}`);
  return Number(s.slice(1));
};
// an amount printed with three significant digits or four decimals, against the exact value
const assertMoney = (shown, exact, what) => {
  const v = money(shown);
  assert.ok(Math.abs(v - exact) <= Math.max(exact * 0.006, 0.00005), `${what}: shown ${shown}, exact ${exact}`);
};

/** The rows of a `cost` table by key: { header, rows: Map(key -> {COLUMN: cell}), keys }. */
function parseCostTable(stdout) {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const KEY = 30; // cost.c: CC_KEY
  const header = lines[0].slice(KEY).trim().split(/\s{2,}/);
  const rows = new Map();
  const keys = [];
  for (const l of lines.slice(1)) {
    const key = l.slice(0, KEY).trim();
    const cells = l.slice(KEY).trim().split(/\s+/);
    rows.set(key, Object.fromEntries(header.map((h, i) => [h, cells[i]])));
    keys.push(key);
  }
  return { header, rows, keys, title: lines[0].slice(0, KEY).trim() };
}

/**
 * A --prices overlay that multiplies by factor every price of the built-in entries for model,
 * derived from data/prices.json (the built-in table's source) so that it follows whatever
 * layout that file has: an entry is an object that names the model in a string value (the
 * name itself, a dated or wildcard form) or is the value of a key that names it; the numbers
 * in it are scaled except those that look like dates, versions or limits. Cost is linear in
 * the prices, so the model's costs must be exactly factor times what they were.
 */
function scaledPriceOverlay(model, factor) {
  const file = path.resolve(here, '../../data/prices.json');
  assert.ok(fs.existsSync(file), `${file} not found: the --prices overlay is derived from it`);
  const text = fs.readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n').filter((l) => !/^\s*(\/\/|#)/.test(l)).join('\n');
  const table = JSON.parse(text);
  const names = (v) => (Array.isArray(v) ? v.some(names) : typeof v === 'string' &&
    (v === model || ((v.startsWith(model) || v.startsWith(`^${model}`)) &&
      /^[-\d*$().?[\]\\{},|+dD^]*$/.test(v.slice(v.indexOf(model) + model.length)))));
  const NOT_PRICE = /date|since|from|until|valid|time|version|window|context|max|min|limit|tier/i;
  const scale = (e) => {
    if (Array.isArray(e)) return e.map(scale);
    if (e && typeof e === 'object') {
      return Object.fromEntries(Object.entries(e).map(([k, v]) => [k,
        typeof v === 'number' && !NOT_PRICE.test(k) ? v * factor : scale(v)]));
    }
    return e;
  };
  let found = 0;
  const keepOnly = (node) => {
    if (Array.isArray(node)) {
      const entries = node.filter((e) => e && typeof e === 'object' && !Array.isArray(e) && Object.values(e).some(names));
      if (entries.length) {
        found += entries.length;
        return entries.map(scale);
      }
      return node.map(keepOnly);
    }
    if (node && typeof node === 'object') {
      const keyed = Object.keys(node).filter(names);
      if (keyed.length && keyed.every((k) => node[k] && typeof node[k] === 'object')) {
        found += keyed.length;
        return Object.fromEntries(keyed.map((k) => [k, scale(node[k])]));
      }
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, keepOnly(v)]));
    }
    return node;
  };
  const overlay = keepOnly(table);
  assert.ok(found > 0, `no entry for ${model} found in ${file}`);
  return overlay;
}

describe('GenAI: demo, traces, show, cost, reprice', () => {
  let srv;
  let dir;
  let summaries; // /api/traces of the demo, by kind
  let costJson; // /api/genai/summary?group_by=model before repricing
  const scratch = [];

  before(async () => {
    srv = await startServer({ keepData: true });
    dir = srv.dataDir;
  });

  after(async () => {
    if (srv) await srv.stop().catch(() => {});
    removeDir(dir);
    for (const d of scratch) removeDir(d);
  });

  test('demo sends one trace of each kind over OTLP/HTTP', async () => {
    const r = await runCli(['demo', '--server', srv.otlp, '--traces', '5', '--seed', '7']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing on stderr when not a terminal');
    const spans = DEMO_TRACES.reduce((n, t) => n + t.spans, 0);
    assert.equal(r.stdout, `llmtrace demo: sent 5 traces (${spans} spans) to ${srv.otlp}/v1/traces\n`);

    const list = await listAllTraces(srv);
    assert.equal(list.length, 5);
    // oldest first in the demo, newest first in the list
    const byAge = [...list].reverse();
    summaries = Object.fromEntries(DEMO_TRACES.map((want, i) => [want.kind, byAge[i]]));
    for (const want of DEMO_TRACES) {
      const t = summaries[want.kind];
      assert.equal(t.root_name, want.root, `${want.kind}: root`);
      assert.equal(t.span_count, want.spans, `${want.kind}: spans`);
      assert.equal(t.error_count, want.errors, `${want.kind}: errors`);
      assert.equal(t.llm_calls, want.llm, `${want.kind}: LLM calls`);
      assert.equal(t.input_tokens, want.input, `${want.kind}: input tokens`);
      assert.equal(t.output_tokens, want.output, `${want.kind}: output tokens`);
      if (want.llm) assert.ok(t.cost > 0, `${want.kind}: no cost (${t.cost})`);
    }
    const start = Math.min(...list.map((t) => Number(BigInt(t.start_unix_nano) / 1000000n)));
    assert.ok(Date.now() - start <= 3600_000 + 60_000, 'spread over the last hour');
    assert.deepEqual(summaries.agents.services, ['coder-service', 'planner-service']);
  });

  test('the agents trace crosses two services through a CLIENT -> SERVER pair', async () => {
    const d = await getTrace(srv, summaries.agents.trace_id);
    const client = d.spans.find((s) => s.kind === 'CLIENT' && s.name === 'POST');
    const server = d.spans.find((s) => s.kind === 'SERVER');
    assert.ok(client && server, 'client and server spans');
    assert.equal(client.service, 'planner-service');
    assert.equal(server.service, 'coder-service');
    assert.equal(server.parent_span_id, client.span_id);
    const claude = d.spans.find((s) => s.genai?.['gen_ai.provider.name'] === 'anthropic' && s.genai['gen_ai.operation.name'] === 'chat');
    assert.ok(claude, 'an Anthropic chat');
    assert.equal(claude.genai['gen_ai.usage.input_tokens'], 4508);
    assert.equal(claude.genai['gen_ai.usage.cache_read.input_tokens'], 3072);
    assert.equal(claude.genai['gen_ai.usage.cache_creation.input_tokens'], 1024);
    const tools = d.spans.filter((s) => s.genai?.['gen_ai.operation.name'] === 'execute_tool');
    assert.deepEqual(tools.map((s) => s.genai['gen_ai.tool.name']), ['search_code', 'read_file']);
    const rag = await getTrace(srv, summaries.rag.trace_id);
    const retrieval = rag.spans.find((s) => s.genai?.['gen_ai.operation.name'] === 'retrieval');
    assert.equal(retrieval?.documents?.length, 5, 'five retrieved documents');
    assert.ok(retrieval.documents.every((x) => x.id.startsWith('kb-') && x.score > 0 && x.content));
  });

  test('demo is deterministic for --seed', async () => {
    const ids = async (seed) => {
      const d = makeTempDir('lt-demo-');
      scratch.push(d);
      const r = await runCli(['demo', '--data', d, '--traces', '5', '--seed', String(seed)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^llmtrace demo: wrote 5 traces \(18 spans\) into /);
      const t = await runCli(['traces', '--data', d, '--json']);
      assert.equal(t.code, 0, t.stderr);
      return JSON.parse(t.stdout).traces.map((x) => x.trace_id).sort();
    };
    const sent = Object.values(summaries).map((t) => t.trace_id).sort();
    assert.deepEqual(await ids(7), sent, 'the same seed gives the same trace ids, sent or written');
    assert.notDeepEqual(await ids(8), sent, 'another seed gives other traces');
  });

  test('traces: TOKENS and COST columns', async () => {
    const r = await runCli(['traces', '--server', srv.http], { env: TEXT_ENV });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /\bTOKENS\s+COST\s+TRACE ID\s*$/);
    for (const want of DEMO_TRACES) {
      const t = summaries[want.kind];
      const line = lines.find((l) => l.includes(t.trace_id));
      assert.ok(line, `${want.kind}: not listed`);
      const cells = line.trim().split(/\s+/);
      const [tokens, cost] = cells.slice(-3, -1);
      if (want.llm) {
        assert.equal(count(tokens), want.input + want.output, `${want.kind}: tokens in ${line}`);
        assertMoney(cost, t.cost, `${want.kind}: cost`);
      } else {
        assert.deepEqual([tokens, cost], ['-', '-'], `${want.kind}: ${line}`);
      }
    }
  });

  test('show: totals, and the GenAI line and messages of every call', async () => {
    const show = async (kind, env = TEXT_ENV) => {
      const r = await runCli(['show', summaries[kind].trace_id, '--server', srv.http], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const lineWith = (out, needle) => {
      const l = out.split('\n').find((x) => x.includes(needle));
      assert.ok(l, `no line with ${needle}:\n${out}`);
      return l;
    };
    let out = await show('rag');
    const head = out.split('\n')[1];
    assert.ok(head.includes(`4 spans${DOT}`), head);
    assert.ok(head.includes(`2 LLM calls${DOT}1,861\u2192143 tokens${DOT}$`), head);
    let l = lineWith(out, 'chat gpt-4o-mini-2024-07-18');
    assert.ok(l.includes(`chat gpt-4o-mini-2024-07-18${DOT}1,850\u2192143 tokens (1,024 cached)${DOT}$`), l);
    assert.ok(l.trimEnd().endsWith(`${DOT}stop`), l);
    assert.match(lineWith(out, 'in  user:'), /in {2}user: Question: How do I rotate an API key without downtime\?$/);
    assert.match(lineWith(out, 'out assistant:'), /out assistant: Create the new key under Settings > API keys/);
    assert.ok(out.includes(`embeddings text-embedding-3-small${DOT}11 input tokens${DOT}`), out);
    assert.ok(out.includes(`retrieval kb-articles${DOT}5 documents`), out);

    out = await show('agents');
    l = lineWith(out, 'chat claude-3-5-sonnet-20241022');
    assert.ok(l.includes('4,508\u2192690 tokens (3,072 cached, 1,024 cache write)'), l);
    assert.ok(l.trimEnd().endsWith(`${DOT}stop`), l); // Anthropic's end_turn, in semconv terms
    l = lineWith(out, 'chat o3-mini-2025-01-31');
    assert.ok(l.includes('2,210\u21921,580 tokens (1,216 reasoning)'), l);
    assert.ok(lineWith(out, 'call search_code(').includes('out assistant:'));
    // the coder's SERVER span under the planner's CLIENT span, in its own service
    const lines = out.split('\n');
    const clientAt = lines.findIndex((x) => /\u2500 POST\s{2,}planner-service/.test(x));
    const serverAt = lines.findIndex((x) => /POST \/v1\/tasks\s+coder-service/.test(x));
    assert.ok(clientAt > 0 && serverAt > clientAt, out);

    out = await show('stream');
    l = lineWith(out, 'chat gpt-4o-2024-08-06');
    assert.match(l, /356\u2192412 tokens · first chunk \d+ms · \$[\d.]+ · stop/);
    out = await show('rate-limit');
    assert.ok(lineWith(out, 'chat gpt-4o ·').includes('error rate_limit_exceeded'));
    assert.ok(lineWith(out, 'chat gpt-4o ').includes('ERROR Error code: 429'));
    out = await show('context');
    assert.ok(lineWith(out, 'chat gpt-4o-mini ·').includes('error context_length_exceeded'));

    // cut to the terminal's width; ASCII only without a UTF-8 locale
    out = await show('agents', { LC_ALL: 'C', COLUMNS: '60', NO_COLOR: '1' });
    for (const x of out.split('\n').filter((y) => /(in {2}user:|out assistant:| tokens)/.test(y) && !y.includes('LLM call'))) {
      assert.ok([...x].length <= 60, `wider than 60 columns: ${x}`);
    }
    assert.ok(/^[\x09\x0a\x20-\x7e]*$/.test(out), 'non-ASCII output without a UTF-8 locale');
    out = await show('stream', { LC_ALL: 'C', NO_COLOR: '1' });
    assert.ok(/^[\x09\x0a\x20-\x7e]*$/.test(out), 'non-ASCII output without a UTF-8 locale');
  });

  test('cost --by model: the demo\'s models, tokens and a total', async () => {
    costJson = await getOk(srv.http, `/api/genai/summary?group_by=model&start=${(BigInt(Date.now()) - 7200_000n) * 1000000n}`);
    const r = await runCli(['cost', '--server', srv.http], { env: TEXT_ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!ANSI.test(r.stdout));
    const { rows, keys, title } = parseCostTable(r.stdout);
    assert.equal(title, 'MODEL');
    for (const [model, want] of Object.entries(DEMO_MODELS)) {
      const row = rows.get(model);
      assert.ok(row, `${model} not listed:\n${r.stdout}`);
      assert.deepEqual(
        [row.CALLS, row.ERRORS, row.INPUT, row.OUTPUT, row.CACHED, row.REASONING].map(count),
        [want.calls, want.errors, want.input, want.output, want.cached, want.reasoning], `${model}: ${JSON.stringify(row)}`);
    }
    for (const model of PRICED) assert.ok(money(rows.get(model).COST) > 0, `${model} has no cost`);
    assert.notEqual(rows.get('gpt-4o-2024-08-06')['TTFT P50'], '-', 'the streamed call has a time to first chunk');
    assert.equal(rows.get('claude-3-5-sonnet-20241022')['TTFT P50'], '-');
    // the API's order, then the total
    const apiKeys = costJson.groups.map((g) => g.key || '(none)');
    assert.deepEqual(keys, [...apiKeys, 'TOTAL']);
    const total = rows.get('TOTAL');
    assert.equal(count(total.INPUT), SUM('input'));
    assert.equal(count(total.OUTPUT), SUM('output'));
    assert.equal(count(total.CACHED), SUM('cached'));
    assert.equal(count(total.REASONING), SUM('reasoning'));
    const cost = costJson.groups.reduce((n, g) => n + g.cost, 0);
    assertMoney(total.COST, cost, 'total cost');
    const traced = Object.values(summaries).reduce((n, t) => n + t.cost, 0);
    assert.ok(Math.abs(cost - traced) < 1e-9, `cost by model ${cost} != cost of the traces ${traced}`);
    for (const g of costJson.groups) assertMoney(rows.get(g.key || '(none)').COST, g.cost, `${g.key} cost`);
  });

  test('cost --by provider, service, agent', { skip: sqliteOnly('cost --data on the data directory') }, async () => {
    let r = await runCli(['cost', '--by', 'provider', '--server', srv.http], { env: TEXT_ENV });
    assert.equal(r.code, 0, r.stderr);
    let t = parseCostTable(r.stdout);
    assert.equal(t.title, 'PROVIDER');
    assert.equal(count(t.rows.get('anthropic')?.INPUT), 4508, r.stdout);
    assert.equal(count(t.rows.get('openai')?.INPUT), SUM('input') - 4508, r.stdout);
    r = await runCli(['cost', '--by', 'service', '--since', '2h', '--data', dir], { env: TEXT_ENV });
    assert.equal(r.code, 0, r.stderr); // --data reads a store that a server holds
    t = parseCostTable(r.stdout);
    for (const s of ['support-bot', 'planner-service', 'coder-service', 'chat-api', 'summarizer']) assert.ok(t.rows.has(s), `${s}:\n${r.stdout}`);
    assert.equal(count(t.rows.get('coder-service').INPUT), 4508);
    r = await runCli(['cost', '--by', 'agent', '--server', srv.http], { env: TEXT_ENV });
    assert.equal(r.code, 0, r.stderr);
    t = parseCostTable(r.stdout);
    assert.ok(t.rows.has('planner') && t.rows.has('coder'), r.stdout);
  });

  test('cost: errors', async () => {
    const r = await runCli(['cost', '--by', 'colour', '--server', srv.http]);
    assertOneLineError(r, 'cost --by colour');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--by: expected model, provider, operation, service, span_name, agent, user or conversation, got 'colour'/);
    assertOneLineError(await runCli(['cost', '--since', 'soon', '--server', srv.http]), 'cost --since soon');
    assertOneLineError(await runCli(['cost', '--server', srv.http, 'extra']), 'cost extra argument');
    const empty = await runCli(['cost', '--server', srv.http, '--since', '1s']);
    assert.equal(empty.code, 0, 'no GenAI spans in the last second is not an error');
    assert.equal(empty.stdout, '');
  });

  test('reprice and demo --data refuse while the server holds the store', { skip: sqliteOnly('reprice --data on the data directory') }, async () => {
    let r = await runCli(['reprice', '--data', dir]);
    assertOneLineError(r, 'reprice while serving');
    assert.match(r.stderr, /stop the server first/);
    assert.equal(r.stdout, '');
    r = await runCli(['demo', '--data', dir, '--traces', '1']);
    assertOneLineError(r, 'demo --data while serving');
    const now = await getOk(srv.http, `/api/genai/summary?group_by=model&start=${costJson.start_unix_nano}`);
    assert.deepEqual(now.groups, costJson.groups, 'nothing changed');
    await srv.stop();
  });

  test('reprice with the same prices changes nothing', { skip: sqliteOnly('reprice --data on the data directory') }, async () => {
    const r = await runCli(['reprice', '--data', dir]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^repriced (\d+) spans, total cost before \$([\d.]+) after \$([\d.]+)\n$/.exec(r.stdout);
    assert.ok(m, `unexpected output: ${JSON.stringify(r.stdout)}`);
    assert.equal(Number(m[1]), Object.values(DEMO_MODELS).filter((x) => x.input || x.output).length);
    const cost = costJson.groups.reduce((n, g) => n + g.cost, 0);
    assert.ok(Math.abs(Number(m[2]) - cost) < 2e-6, `before ${m[2]} != ${cost}`);
    assert.ok(Math.abs(Number(m[3]) - Number(m[2])) < 2e-6, `before ${m[2]}, after ${m[3]}`);
  });

  test('reprice --prices: the overlay\'s model costs change by its factor, the others not',
    { skip: sqliteOnly('reprice --data on the data directory') }, async () => {
    const model = 'gpt-4o-mini-2024-07-18';
    const overlay = path.join(makeTempDir('lt-prices-'), 'prices.json');
    scratch.push(path.dirname(overlay));
    fs.writeFileSync(overlay, JSON.stringify(scaledPriceOverlay('gpt-4o-mini', 10), null, 2));
    const old = new Map(costJson.groups.map((g) => [g.key, g.cost]));
    assert.ok(old.get(model) > 0);

    let r = await runCli(['reprice', '--data', dir, '--prices', overlay]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^repriced (\d+) spans, total cost before \$([\d.]+) after \$([\d.]+)\n$/.exec(r.stdout);
    assert.ok(m, `unexpected output: ${JSON.stringify(r.stdout)}`);
    const delta = Number(m[3]) - Number(m[2]);
    assert.ok(Math.abs(delta - 9 * old.get(model)) < 4e-6, `total went up by ${delta}, expected ${9 * old.get(model)}`);

    r = await runCli(['cost', '--data', dir, '--since', '2h', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const now = new Map(JSON.parse(r.stdout).groups.map((g) => [g.key, g.cost]));
    for (const [key, cost] of old) {
      const want = key === model ? cost * 10 : cost;
      assert.ok(Math.abs(now.get(key) - want) <= want * 1e-9 + 1e-12, `${key || '(none)'}: ${now.get(key)}, expected ${want}`);
    }
    // the table shows the new cost; the trace's total follows its spans
    r = await runCli(['cost', '--data', dir, '--since', '2h'], { env: TEXT_ENV });
    assertMoney(parseCostTable(r.stdout).rows.get(model).COST, old.get(model) * 10, `${model} after reprice`);
    r = await runCli(['traces', '--data', dir, '--json']);
    const rag = JSON.parse(r.stdout).traces.find((t) => t.trace_id === summaries.rag.trace_id);
    assert.ok(Math.abs(rag.cost - (summaries.rag.cost + 9 * old.get(model))) < 1e-9, `RAG trace cost ${rag.cost}`);
  });

  test('reprice: errors', { skip: sqliteOnly('reprice --data on the data directory') }, async () => {
    assertOneLineError(await runCli(['reprice', '--data', dir, '--prices', path.join(dir, 'no-such-prices.json')]), 'reprice missing --prices');
    const bad = path.join(makeTempDir('lt-prices-'), 'bad.json');
    scratch.push(path.dirname(bad));
    fs.writeFileSync(bad, '{"models": [');
    assertOneLineError(await runCli(['reprice', '--data', dir, '--prices', bad]), 'reprice malformed --prices');
    assertOneLineError(await runCli(['reprice', '--data', `${dir}-does-not-exist`]), 'reprice missing store');
    assertOneLineError(await runCli(['demo', '--traces', '0']), 'demo --traces 0');
  });
});
