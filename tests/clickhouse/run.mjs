// run.mjs — runs one node:test file against a ClickHouse of its own.
//
//   node tests/clickhouse/run.mjs FILE
//
// Starts a clickhouse-server on a temporary directory (startClickHouse), runs
// `node --test --test-reporter=spec FILE` with LT_TEST_STORE=clickhouse://127.0.0.1:PORT
// (startServer then stores into a database of that server), stops ClickHouse and exits with
// the child's code. Each test file gets its own ClickHouse, so files can run in parallel
// and never see each other's databases. ctest registers the engine-independent suites of
// tests/integration and tests/clickhouse/*.test.mjs through it (see CMakeLists.txt).

import { spawn } from 'node:child_process';
import path from 'node:path';
import { startClickHouse } from '../integration/lib.mjs';

const file = process.argv[2];
if (!file || process.argv.length !== 3) {
  process.stderr.write('usage: node run.mjs FILE.test.mjs\n');
  process.exit(2);
}

const ch = await startClickHouse();
let code = 1;
try {
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', path.resolve(file)], {
    stdio: 'inherit',
    env: { ...process.env, LT_TEST_STORE: `clickhouse://127.0.0.1:${ch.httpPort}` },
  });
  // ctest's timeout (or ^C) ends the runner: pass it on, then stop ClickHouse below
  const forward = (sig) => child.kill(sig);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  code = await new Promise((resolve) => {
    child.on('error', (e) => { process.stderr.write(`run.mjs: ${e.message}\n`); resolve(1); });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  if (code !== 0) {
    const log = ch.errLog();
    if (log) process.stderr.write(`\nclickhouse-server err.log (tail):\n${log}\n`);
  }
} finally {
  try {
    await ch.destroy();
  } catch (e) {
    process.stderr.write(`run.mjs: ${e.message}\n`);
    code = code || 1;
  }
}
process.exit(code);
