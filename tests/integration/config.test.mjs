// config.test.mjs — `llmtrace check-config FILE`: the seed config (with an endpoint
// taken from the environment) loads and is summarised on one line, exit 0; broken configs
// written by the test fail with one positioned line on stderr, exit 1; usage errors exit 2.
// `llmtrace serve --config`: the receivers' endpoints and the storage come from the file
// (pipeline.test.mjs and seed.test.mjs run the processors, connectors and exporters).
// `check-config --components` prints the registry as docs/config.md has it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';


import {
  BIN, makeTempDir, otlpJsonTraceRequest, post, randomHex, removeDir, runCli, waitFor,
} from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEED = path.resolve(here, '../data/config/seed.yaml');

let dir;
before(() => { dir = makeTempDir('lt-config-'); });
after(() => removeDir(dir));

function write(name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('llmtrace check-config', () => {
  test('the seed config is ok', async () => {
    const r = await runCli(['check-config', SEED]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${SEED}: ok: 1 receivers, 2 processors, 1 connectors, 3 exporters, 2 pipelines\n`);
    assert.equal(r.stderr, '');
  });

  test('${env:...} in values comes from the environment', async () => {
    const seed = fs.readFileSync(SEED, 'utf8').replace('127.0.0.1:14317', '${env:LT_IT_JAEGER}');
    assert.notEqual(seed, fs.readFileSync(SEED, 'utf8'));
    const file = write('env.yaml', seed);
    const r = await runCli(['check-config', file], { env: { LT_IT_JAEGER: '127.0.0.1:24317' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: ok: 1 receivers/);
  });

  const bad = [
    ['unknown component', 'receivers:\n  otlp: { protocols: { grpc: } }\n  zipkin:\n', 3, 3, /receivers: unknown receiver type 'zipkin' \(known: otlp\)/],
    ['unknown option', 'processors:\n  batch:\n    timeout: 1s\n    size: 10\n', 4, 5, /processors\.batch: unknown option 'size' \(options: timeout, send_batch_size, send_batch_max_size\)/],
    ['wrong type', 'processors:\n  tail_sampling:\n    num_traces: many\n', 3, 17, /processors\.tail_sampling\.num_traces: expected a whole number, got 'many'/],
    ['undefined component', 'receivers: { otlp: { protocols: { http: } } }\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [otlp/nowhere]\n', 6, 19, /'otlp\/nowhere' is not defined under exporters or connectors/],
    ['duplicate key', 'receivers: {}\nexporters: {}\nreceivers: {}\n', 3, 1, /duplicate key 'receivers' \(first at line 1, column 1\)/],
    ['not YAML', 'receivers: [\n', 2, 1, /not valid YAML/],
    ['bad endpoint', 'receivers:\n  otlp:\n    protocols:\n      http: { endpoint: "localhost" }\nservice: { pipelines: { logs: { receivers: [otlp] } } }\n', 4, 25, /otlp receiver: protocols\.http\.endpoint: expected HOST:PORT, got 'localhost'/],
    ['extensions', 'extensions:\n  pprof:\n', 1, 1, /extensions: not supported by llmtrace/],
  ];
  for (const [what, text, line, col, re] of bad) {
    test(`refused: ${what}`, async () => {
      const file = write(`${what.replace(/ /g, '-')}.yaml`, text);
      const r = await runCli(['check-config', file]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].startsWith(`${file}:${line}:${col}: `), lines[0]);
      assert.match(lines[0], re);
    });
  }

  test('docs/config.md lists every component and option the registry has, in its order', async () => {
    const r = await runCli(['check-config', '--components']);
    assert.equal(r.code, 0, r.stderr);
    const doc = fs.readFileSync(path.resolve(here, '../../docs/config.md'), 'utf8').split('\n');
    let at = 0;
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    assert.ok(lines.length > 50, r.stdout);
    for (const line of lines) {
      const k = doc.indexOf(line, at);
      assert.ok(k >= 0, `docs/config.md lacks (after line ${at}): ${line}`);
      at = k + 1;
    }
  });

  test('usage', async () => {
    let r = await runCli(['check-config']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected one FILE/);
    r = await runCli(['check-config', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /check-config FILE/);
    r = await runCli(['check-config', path.join(dir, 'missing.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.yaml: cannot open: No such file or directory/);
  });
});

describe('llmtrace serve --config', () => {
  test('runs the otlp receiver endpoints and the llmtrace storage of the file', async () => {
    const file = write('store.yaml', [
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      grpc: { endpoint: 127.0.0.1:0 }',
      '      http: { endpoint: 127.0.0.1:0 }',
      'service:',
      '  pipelines:',
      '    traces: { receivers: [otlp], exporters: [llmtrace] }',
      '',
    ].join('\n'));
    const data = path.join(dir, 'serve-data');
    const proc = spawn(BIN, ['serve', '--data', data, '--http', '127.0.0.1:0', '--config', file],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
    try {
      await waitFor(() => out.includes('\n'), 20_000, `the listening line (stderr: ${err})`);
      const m = /^llmtrace listening otlp_http=(127\.0\.0\.1:\d+) http=(127\.0\.0\.1:\d+) otlp_grpc=(127\.0\.0\.1:\d+)\s*$/m.exec(out);
      assert.ok(m, out);
      const traceId = randomHex(16);
      const body = JSON.stringify(otlpJsonTraceRequest([{ traceId, spanId: randomHex(8), name: 'configured' }]));
      const r = await post(`http://${m[1]}`, '/v1/traces', body, { 'content-type': 'application/json' });
      assert.equal(r.status, 200, r.text());
      const got = await fetch(`http://${m[2]}/api/traces/${traceId}`);
      assert.equal(got.status, 200);
      assert.equal((await got.json()).spans[0].name, 'configured');
    } finally {
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, err);
    }
  });

  test('--config with --otlp-grpc or --otlp-http is a usage error', async () => {
    const r = await runCli(['serve', '--config', SEED, '--otlp-grpc', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--config sets the receivers' endpoints/);
  });
});
