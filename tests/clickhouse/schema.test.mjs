// schema.test.mjs — `llmtrace clickhouse-schema` and ClickHouse credentials.
//
// The printed single-node DDL, applied statement by statement to a fresh clickhouse-server,
// is a schema that `serve --store` uses as it is: system.tables and system.databases are
// the same before and after the server started and stored traces, which read back. The
// --cluster output names ON CLUSTER, a Replicated*MergeTree engine for every local table
// and a Distributed table over each (a text check: there is no ZooKeeper here to run it);
// --retention adds a TTL to every table. Bad options are one-line errors with exit 2.
//
// This ClickHouse gives its `default` user a password and has a second user, so a server
// that ignored the credentials it was given could not write: the user and password are
// taken from --clickhouse-user/--clickhouse-password, from LLMTRACE_CLICKHOUSE_USER and
// LLMTRACE_CLICKHOUSE_PASSWORD, and from the URL; a wrong password is never acknowledged.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { getJson, post, runCli, startClickHouse, startServer } from '../integration/lib.mjs';
import { TraceGen, storedAsSent, tracesRequest } from './gen.mjs';

const USER = 'lt_writer';
const PASSWORD = 'pw with spaces & <xml>';
const DB = 'lt_schema';
const HOUR = 3_600_000_000_000n;
let ch;
let gen;

before(async () => {
  ch = await startClickHouse({ users: { default: 'admin-only', [USER]: PASSWORD } });
  gen = new TraceGen(31, { baseNs: BigInt(Date.now()) * 1_000_000n - HOUR, spreadNs: HOUR / 2n });
});
after(async () => { if (ch) await ch.destroy(); });

/** The schema as ClickHouse has it: tables with their engines and definitions. */
async function tables(db) {
  const out = await ch.query(`SELECT name, engine, create_table_query FROM system.tables WHERE database = '${db}' ORDER BY name FORMAT JSONEachRow`);
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const databases = async () => (await ch.query('SELECT name FROM system.databases ORDER BY name FORMAT TSV')).trim().split('\n');

/** The statements of a DDL text (each ends with ';' at the end of a line). */
function statements(ddl) {
  return ddl.split(/;\s*$/m).map((x) => x.trim()).filter(Boolean);
}

async function schema(args) {
  const r = await runCli(['clickhouse-schema', ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout;
}

/** Sends one generated trace and reads it back; returns the server's answers. */
async function roundTrip(s) {
  const t = gen.trace();
  const req = tracesRequest(t.spans, { proto: true });
  const res = await post(s.otlp, '/v1/traces', req.body, req.headers);
  assert.equal(res.status, 200, `${res.status} ${res.text().slice(0, 300)}; stderr: ${s.stderr().slice(-1000)}`);
  const problems = await storedAsSent(s, [t]);
  assert.ok(problems.length === 0, problems.join('\n'));
}

describe('the single-node schema', () => {
  test('applied by hand, serve uses it without creating anything', async () => {
    assert.deepEqual(await tables(DB), []);
    const dbsBefore = await databases();
    assert.ok(!dbsBefore.includes(DB));
    const ddl = await schema(['--database', DB]);
    const list = statements(ddl);
    assert.ok(list.length >= 3, ddl.slice(0, 500));
    for (const st of list) {
      assert.ok(/^CREATE /.test(st), `not a CREATE statement: ${st.slice(0, 200)}`);
      await ch.query(st, { user: USER, password: PASSWORD });
    }
    const created = await tables(DB);
    assert.ok(created.length >= 3, JSON.stringify(created).slice(0, 500));
    for (const t of created) assert.ok(/MergeTree|MaterializedView/.test(t.engine), `${t.name}: engine ${t.engine}`);
    // every statement again: IF NOT EXISTS makes the DDL safe to apply twice
    for (const st of list) await ch.query(st, { user: USER, password: PASSWORD });
    const dbsAfterDdl = await databases();

    const s = await startServer({ args: ['--store', ch.storeUrl(DB), '--clickhouse-user', USER, '--clickhouse-password', PASSWORD] });
    try {
      await roundTrip(s);
      const summary = await getJson(s.http, '/api/genai/summary?group_by=model');
      assert.equal(summary.status, 200, summary.text);
    } finally {
      await s.stop();
    }
    assert.deepEqual(await tables(DB), created, 'serve changed the tables of a schema made by clickhouse-schema');
    assert.deepEqual(await databases(), dbsAfterDdl, 'serve created or dropped a database');
  });

  test('the default database name is llmtrace', async () => {
    const ddl = await schema([]);
    assert.match(ddl, /^CREATE DATABASE IF NOT EXISTS llmtrace;/m);
    for (const st of statements(ddl)) assert.ok(/\bllmtrace\./.test(st) || /^CREATE DATABASE/.test(st), st.slice(0, 200));
  });
});

describe('--cluster', () => {
  test('ON CLUSTER, a replicated engine for every local table, a Distributed table over each', async () => {
    const single = statements(await schema(['--database', 'lt_c']));
    const ddl = await schema(['--database', 'lt_c', '--cluster', 'c1']);
    const list = statements(ddl);
    for (const st of list) assert.match(st, /^CREATE \S+( VIEW)? (IF NOT EXISTS )?\S+ ON CLUSTER c1\b/, `without ON CLUSTER c1: ${st.slice(0, 200)}`);
    const name = (st) => /^CREATE (?:TABLE|MATERIALIZED VIEW|DATABASE) (?:IF NOT EXISTS )?(\S+)/.exec(st)?.[1];
    const singleTables = single.filter((st) => /^CREATE TABLE/.test(st)).map(name);
    assert.ok(singleTables.length >= 3);
    const engines = new Map(list.filter((st) => /^CREATE TABLE/.test(st)).map((st) => [name(st), /ENGINE = (\w+)/.exec(st)?.[1]]));
    for (const t of singleTables) {
      // each single-node table is a Distributed table of the same name over a replicated local table
      assert.equal(engines.get(t), 'Distributed', `${t}: ${engines.get(t)}\n${ddl.slice(0, 300)}`);
      const dist = list.find((st) => name(st) === t);
      const m = /Distributed\(c1, (\w+), (\w+)/.exec(dist);
      assert.ok(m && m[1] === 'lt_c', `${t}: ${dist}`);
      const local = `lt_c.${m[2]}`;
      assert.match(engines.get(local) || '', /^Replicated\w*MergeTree$/, `${local} under ${t}: ${engines.get(local)}`);
    }
    for (const [t, e] of engines) assert.ok(e === 'Distributed' || /^Replicated\w*MergeTree$/.test(e), `${t}: engine ${e}`);
    // materialized views feed the local tables, never a Distributed one
    for (const st of list.filter((x) => /^CREATE MATERIALIZED VIEW/.test(x))) {
      const to = /\bTO (\S+)/.exec(st)?.[1];
      assert.ok(to && /^Replicated/.test(engines.get(to) || ''), `${name(st)} writes to ${to} (${engines.get(to)})`);
    }
  });
});

describe('--retention', () => {
  test('a TTL on every table, of the given age', async () => {
    const list = statements(await schema(['--database', 'lt_r', '--retention', '7d']));
    const tablesWithEngine = list.filter((st) => /^CREATE TABLE/.test(st) && /MergeTree/.test(st));
    assert.ok(tablesWithEngine.length >= 3);
    for (const st of tablesWithEngine) assert.match(st, /\bTTL\b.*\b(604800 SECOND|7 DAY|168 HOUR)/, st.slice(0, 300));
    const none = statements(await schema(['--database', 'lt_r']));
    for (const st of none) assert.ok(!/\bTTL\b/.test(st), `a TTL without --retention: ${st.slice(0, 200)}`);
  });
});

describe('bad options', () => {
  for (const args of [['--cluster'], ['--retention', 'soon'], ['--database', 'bad;name'], ['--database', ''], ['--cluster', 'c 1'], ['--frobnicate'], ['extra']]) {
    test(`clickhouse-schema ${args.join(' ')}`, async () => {
      const r = await runCli(['clickhouse-schema', ...args]);
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^llmtrace clickhouse-schema: /);
    });
  }
});

describe('credentials', () => {
  test('from the environment', async () => {
    const s = await startServer({
      args: ['--store', ch.storeUrl('lt_env')],
      env: { LLMTRACE_CLICKHOUSE_USER: USER, LLMTRACE_CLICKHOUSE_PASSWORD: PASSWORD },
    });
    try {
      await roundTrip(s);
      assert.ok(!s.stderr().includes(PASSWORD), 'the password in the log');
    } finally {
      await s.stop();
    }
    assert.ok((await databases()).includes('lt_env'), 'serve created its database');
  });

  test('from the URL', async () => {
    const s = await startServer({ args: ['--store', `clickhouse://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${ch.httpPort}/lt_url`] });
    try {
      await roundTrip(s);
      assert.ok(!s.stderr().includes(PASSWORD) && !s.stderr().includes(encodeURIComponent(PASSWORD)), 'the password in the log');
    } finally {
      await s.stop();
    }
  });

  for (const [what, args] of [
    ['a wrong password', ['--clickhouse-user', USER, '--clickhouse-password', 'not-it']],
    ['no credentials (default has a password here)', []],
  ]) {
    test(`${what}: nothing is acknowledged, and the reason is told`, async () => {
      const t = gen.trace();
      const req = tracesRequest(t.spans);
      let s;
      try {
        s = await startServer({ args: ['--store', ch.storeUrl('lt_denied'), ...args] });
      } catch (e) {
        // refusing to start is fine too, with the reason on one line
        assert.match(e.message, /exited before listening \(code [12]/, e.message);
        assert.match(e.message, /password|authenticat|user/i, e.message);
        return;
      }
      try {
        const res = await post(s.otlp, '/v1/traces', req.body, req.headers);
        assert.notEqual(res.status, 200, 'acknowledged without being stored');
        assert.ok([500, 503].includes(res.status), `${res.status} ${res.text()}`);
        assert.match(s.stderr(), /password|authenticat|user/i, `the log does not say why: ${s.stderr().slice(-1000)}`);
      } finally {
        await s.stop();
      }
      assert.ok(!(await databases()).includes('lt_denied'));
    });
  }
});
