// config.test.mjs — `llmtrace check-config FILE`: the seed config (with an endpoint
// taken from the environment) loads and is summarised on one line, exit 0; broken configs
// written by the test fail with one positioned line on stderr, exit 1; usage errors exit 2.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { makeTempDir, removeDir, runCli } from './lib.mjs';

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
