// auth.test.mjs — bearer tokens on ingest and on the API, and tenants kept apart.
//
// One server with tokens from files (two tenants, acme and globex, plus a default one);
// data sent with one tenant's ingest token is visible to that tenant's API token only,
// also when both send the same trace id. Then the single-token flags, the warning for a
// non-loopback listener without a token, token files with errors, and tokens never
// appearing in the log.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { spawn } from 'node:child_process';

import {
  BIN, makeTempDir, otlpJsonTraceRequest, post, randomHex, removeDir, request, runCli, sqliteOnly, startServer, waitFor,
} from './lib.mjs';

const TOKENS = {
  ingestAcme: 'ingest-acme-7f3a9c', ingestGlobex: 'ingest-globex-18be42', ingestDefault: 'ingest-default-55d0',
  apiAcme: 'api-acme-c0ffee11', apiGlobex: 'api-globex-0ddba11', apiDefault: 'api-default-feed42',
};

let tmp;
before(() => { tmp = makeTempDir('lt-auth-'); });
after(() => removeDir(tmp));

function sendTrace(server, token, traceId, name) {
  const body = JSON.stringify(otlpJsonTraceRequest([{ traceId, spanId: randomHex(8), name }],
    { service: `svc-${name}` }));
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return post(server.otlp, '/v1/traces', body, headers);
}

function api(server, token, urlPath) {
  return request('GET', server.http, urlPath, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('tenants from token files', () => {
  let server;
  const shared = randomHex(16); // the same trace id sent by both tenants
  const only = { acme: randomHex(16), globex: randomHex(16), default: randomHex(16) };

  before(async () => {
    const ingest = path.join(tmp, 'ingest-tokens');
    const apiTokens = path.join(tmp, 'api-tokens');
    fs.writeFileSync(ingest, `# who may send\n${TOKENS.ingestAcme} acme\n${TOKENS.ingestGlobex} globex\n${TOKENS.ingestDefault}\n`);
    fs.writeFileSync(apiTokens, `${TOKENS.apiAcme} acme\n${TOKENS.apiGlobex}\tglobex\n${TOKENS.apiDefault}\n`);
    server = await startServer({ args: ['--ingest-tokens', ingest, '--api-tokens', apiTokens] });
  });
  after(async () => { if (server) await server.stop(); });

  test('ingest without the right token is refused with 401, nothing stored', async () => {
    for (const token of [null, 'wrong-token', TOKENS.apiAcme]) {
      const r = await sendTrace(server, token, randomHex(16), 'refused');
      assert.equal(r.status, 401, `token ${token}`);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    }
    const r = await post(server.otlp, '/v1/traces', 'x', { 'content-type': 'application/json', authorization: 'Basic abc' });
    assert.equal(r.status, 401);
  });

  test('each tenant sees its own data only', async () => {
    for (const [tenant, token] of [['acme', TOKENS.ingestAcme], ['globex', TOKENS.ingestGlobex], ['default', TOKENS.ingestDefault]]) {
      assert.equal((await sendTrace(server, token, only[tenant], `only-${tenant}`)).status, 200);
      assert.equal((await sendTrace(server, token, shared, `shared-${tenant}`)).status, 200);
    }
    for (const [tenant, token] of [['acme', TOKENS.apiAcme], ['globex', TOKENS.apiGlobex], ['default', TOKENS.apiDefault]]) {
      const list = await api(server, token, '/api/traces?limit=100');
      assert.equal(list.status, 200);
      const ids = list.json().traces.map((t) => t.trace_id).sort();
      assert.deepEqual(ids, [only[tenant], shared].sort(), `${tenant} lists exactly its own traces`);
      for (const other of Object.keys(only).filter((t) => t !== tenant)) {
        assert.equal((await api(server, token, `/api/traces/${only[other]}`)).status, 404, `${tenant} reads ${other}'s trace`);
      }
      const mine = await api(server, token, `/api/traces/${shared}`);
      assert.equal(mine.status, 200);
      const names = mine.json().spans.map((s) => s.name);
      assert.deepEqual(names, [`shared-${tenant}`], `${tenant} sees only its own spans of the shared trace id`);
      const services = (await api(server, token, '/api/services')).json();
      assert.ok(!JSON.stringify(services).includes(tenant === 'acme' ? 'globex' : 'acme'), 'services of another tenant');
    }
  });

  test('the API without the right token is refused with 401', async () => {
    for (const token of [null, 'nope', TOKENS.ingestAcme]) {
      for (const p of ['/api/traces', `/api/traces/${shared}`, '/api/services', '/api/genai/summary?by=model']) {
        const r = await api(server, token, p);
        assert.equal(r.status, 401, `${p} with ${token}`);
        assert.ok(!r.text().includes('shared-'), 'a 401 leaks nothing');
      }
    }
  });

  test('tenants are stored apart, and the CLI reads a tenant through the API with its token',
    { skip: sqliteOnly('the tenants\' folders of the data directory') }, async () => {
    assert.ok(fs.existsSync(path.join(server.dataDir, 'tenants', 'acme')));
    assert.ok(fs.existsSync(path.join(server.dataDir, 'tenants', 'globex')));
    const r = await runCli(['traces', '--server', server.http], { env: { LLMTRACE_API_TOKEN: TOKENS.apiGlobex } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(only.globex) && !r.stdout.includes(only.acme), r.stdout);
    const denied = await runCli(['traces', '--server', server.http], { env: { LLMTRACE_API_TOKEN: '' } });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /401/);
  });

  test('tokens never appear in the log', async () => {
    await sendTrace(server, 'a-wrong-guess-123', randomHex(16), 'x');
    const log = server.stderr();
    for (const t of [...Object.values(TOKENS), 'a-wrong-guess-123']) assert.ok(!log.includes(t), `token ${t} in the log`);
  });
});

describe('single tokens from flags and the environment', () => {
  test('--ingest-token and LLMTRACE_API_TOKEN', async () => {
    process.env.LLMTRACE_API_TOKEN = 'env-api-token-9';
    let server;
    try {
      server = await startServer({ args: ['--ingest-token', 'flag-ingest-token-1'] });
    } finally {
      delete process.env.LLMTRACE_API_TOKEN;
    }
    try {
      const id = randomHex(16);
      assert.equal((await sendTrace(server, null, id, 'a')).status, 401);
      assert.equal((await sendTrace(server, 'flag-ingest-token-1', id, 'a')).status, 200);
      assert.equal((await api(server, null, `/api/traces/${id}`)).status, 401);
      assert.equal((await api(server, 'env-api-token-9', `/api/traces/${id}`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('a listener open to other machines without a token gets a warning', async () => {
    // started by hand: startServer insists on loopback addresses in the listening line
    const proc = spawn(BIN, ['serve', '--data', path.join(tmp, 'open'), '--otlp-http', '0.0.0.0:0',
      '--http', '127.0.0.1:0', '--otlp-grpc', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
    await waitFor(() => out.includes('llmtrace listening'), 20_000, 'the listening line');
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(err, /--otlp-http 0\.0\.0\.0:0 takes connections from other machines and no --ingest-token/);
    assert.ok(!/--http .*takes connections/.test(err), 'the loopback API gets no warning');
  });
});

describe('bad token configuration', () => {
  test('refused at start with file and line', async () => {
    const bad = path.join(tmp, 'bad-tokens');
    fs.writeFileSync(bad, 'good-token acme\nbad token with spaces\n');
    const r = await runCli(['serve', '--data', path.join(tmp, 'd1'), '--otlp-http', '127.0.0.1:0', '--http', '127.0.0.1:0',
      '--otlp-grpc', '127.0.0.1:0', '--ingest-tokens', bad], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /bad-tokens:2: expected TOKEN \[TENANT\]/);
    const r2 = await runCli(['serve', '--data', path.join(tmp, 'd2'), '--otlp-http', '127.0.0.1:0', '--http', '127.0.0.1:0',
      '--otlp-grpc', '127.0.0.1:0', '--api-tokens', path.join(tmp, 'missing')], { timeoutMs: 20_000 });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /--api-tokens .*missing: No such file/);
  });
});
