// cli.test.mjs — `llmtrace traces` and `llmtrace show` against a running server (--server)
// and against its data directory after it stopped (--data), with output piped (so no ANSI
// escapes), `--help` of every command, and one-line errors with a non-zero exit.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
  getTrace, listAllTraces, loadScenarios, postFixtureFile, removeDir, runCli, startServer,
  successProblem,
} from './lib.mjs';

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
    for (const c of ['serve', 'traces', 'show']) assert.ok(r.stdout.includes(c), `--help does not mention ${c}`);
    assert.ok(!ANSI.test(r.stdout));
  });
  test('llmtrace serve --help', async () => {
    const r = await runCli(['serve', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['--data', '--otlp-http', '--http', '--max-body', '--retention-age', '--retention-size']) {
      assert.ok(r.stdout.includes(f), `serve --help does not mention ${f}`);
    }
  });
  for (const [cmd, flags] of [['traces', ['--server', '--data']], ['show', ['--server', '--data']]]) {
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

describe('against the data directory after the server stopped (--data)', () => {
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
