// durability.test.mjs — nothing acknowledged is ever lost, and what is stored is whole.
//
// Crash: a server on a fresh data directory takes OTLP (JSON and protobuf, several spans
// per request, some traces continued across requests, some prompts large enough for the
// content store) from four concurrent senders, and is killed with SIGKILL after a random
// delay. `llmtrace check` must find the store left by the crash consistent; a restarted
// server must give back every span of every acknowledged request as it was sent (names,
// attributes), every other request whole or not at all, and take new data. LT_CRASH_RUNS
// runs (default 20), each seeded from LT_CRASH_SEED (printed, so a failure can be replayed).
//
// Stop: SIGTERM (and SIGINT once) while senders keep sending: every request gets an answer
// (200, or a retryable 429/503) unless its connection was never accepted, the server exits 0
// within a few seconds, and after a restart everything acknowledged is there.
//
// Full disk: the data directory on a small tmpfs with a filler file (or, where mount is not
// permitted, a file size limit on the server): senders get 503 + Retry-After (or 429), never
// a 200 for data not stored; the server's log says the storage is full; once the filler is
// deleted (the limit lifted) ingest resumes by itself, the store checks clean and every
// acknowledged span is readable.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import {
  BIN, START_TIMEOUT_MS, getJson, makeTempDir, otlpPb, post, removeDir, rng32, runCli, startServer,
} from './lib.mjs';

const RUNS = Number(process.env.LT_CRASH_RUNS || 20);
const SEED = Number(process.env.LT_CRASH_SEED || (Date.now() % 1_000_000_007));
const SENDERS = 4;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hexOf(rand, bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
}

const SYSTEM_PROMPT = 'You are a careful assistant. Answer from the documents given; say so when they do not hold the answer. '.repeat(4);

/**
 * Requests with unique span ids. Each span's attributes say which request it belongs to,
 * so a stored span can be traced back. expected: [{ traceId, spanId, name, attrs }] with
 * attrs as /api/traces/{id} prints them (plain JSON).
 */
class Workload {
  constructor(seed) {
    this.rand = rng32(seed);
    this.nextSpan = 1;
    this.nextReq = 1;
    this.openTraces = [];
  }

  traceId() {
    const r = this.rand();
    if (this.openTraces.length && r < 0.3) return this.openTraces[Math.floor(this.rand() * this.openTraces.length)];
    const id = hexOf(this.rand, 16);
    this.openTraces.push(id);
    if (this.openTraces.length > 32) this.openTraces.shift();
    return id;
  }

  next(worker) {
    const rand = this.rand;
    const reqNo = this.nextReq++;
    const n = 2 + Math.floor(rand() * 6);
    const traces = [this.traceId()];
    if (rand() < 0.2) traces.push(this.traceId());
    const spans = [];
    for (let i = 0; i < n; i++) {
      const spanId = (this.nextSpan++).toString(16).padStart(16, '0');
      const attrs = {
        'lt.req': `w${worker}-r${reqNo}`,
        'lt.seq': i,
        'lt.last': i === n - 1,
        'lt.frac': Math.floor(rand() * 64) / 8,
      };
      const big = rand();
      if (big < 0.25) attrs['gen_ai.system_instructions'] = SYSTEM_PROMPT; // stored once
      else if (big < 0.4) attrs['lt.payload'] = `${reqNo}:${hexOf(rand, 200 + Math.floor(rand() * 600))}`;
      spans.push({ traceId: traces[i % traces.length], spanId, name: `op-${reqNo}-${i}`, attrs });
    }
    const proto = rand() < 0.5;
    return { id: reqNo, worker, spans, proto, state: 'new', ...encode(spans, proto) };
  }
}

function encode(spans, proto) {
  if (proto) {
    const av = (v) => (typeof v === 'string' ? otlpPb.anyString(v)
      : typeof v === 'boolean' ? otlpPb.anyBool(v)
        : Number.isInteger(v) ? otlpPb.anyInt(v) : otlpPb.anyDouble(v));
    const body = otlpPb.traceRequest(spans.map((s) => ({
      traceId: Buffer.from(s.traceId, 'hex'),
      spanId: Buffer.from(s.spanId, 'hex'),
      name: s.name,
      attrs: Object.entries(s.attrs).map(([k, v]) => [k, av(v)]),
    })), { service: 'durability', scope: 'lt-durability' });
    return { body, headers: { 'content-type': 'application/x-protobuf' } };
  }
  const anyValue = (v) => (typeof v === 'string' ? { stringValue: v }
    : typeof v === 'boolean' ? { boolValue: v }
      : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v });
  const body = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'durability' } }] },
      scopeSpans: [{
        scope: { name: 'lt-durability' },
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          name: s.name,
          kind: 1,
          startTimeUnixNano: '1700000000000000000',
          endTimeUnixNano: '1700000000500000000',
          attributes: Object.entries(s.attrs).map(([key, v]) => ({ key, value: anyValue(v) })),
        })),
      }],
    }],
  });
  return { body, headers: { 'content-type': 'application/json' } };
}

/**
 * SENDERS loops posting the workload's requests until stop() returns true. Every request
 * ends in one state: acked (200), refused (429/503 with Retry-After), rejected (another
 * status: a failure of the test), unanswered (the connection was reset or closed without
 * an answer), or unconnected (connection refused: the server was not listening).
 */
async function drive(server, work, requests, stop, { pauseOnRefusal = 0 } = {}) {
  const one = async (worker) => {
    while (!stop()) {
      const req = work.next(worker);
      requests.push(req);
      req.state = 'sent';
      try {
        const r = await post(server.otlp, '/v1/traces', req.body, req.headers, { timeoutMs: 30_000 });
        if (r.status === 200) req.state = 'acked';
        else if (r.status === 429 || r.status === 503) {
          req.state = 'refused';
          req.retryAfter = r.headers['retry-after'];
          if (pauseOnRefusal) await sleep(pauseOnRefusal);
        } else {
          req.state = 'rejected';
          req.detail = `${r.status} ${r.text().slice(0, 200)}`;
        }
      } catch (e) {
        req.state = e.code === 'ECONNREFUSED' ? 'unconnected' : 'unanswered';
        req.detail = `${e.code || ''} ${e.message.slice(0, 200)}`;
        if (stop()) break;
        await sleep(2);
      }
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, (_, w) => one(w)));
}

/** Runs fn over items with at most `width` at once. */
async function pool(items, width, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) {
      const k = i++;
      await fn(items[k]);
    }
  }));
}

/**
 * Reads back every trace the requests touched and checks: acknowledged requests whole,
 * every other one whole or absent, nothing stored that was not sent, no span twice, each
 * span as it was sent, the summary's span count equal to the spans shown. Returns counts.
 */
async function verify(server, requests, label) {
  const sent = new Map(); // span id -> { req, span }
  const traceIds = new Set();
  for (const req of requests) {
    for (const s of req.spans) {
      sent.set(s.spanId, { req, span: s });
      traceIds.add(s.traceId);
    }
  }
  const stored = new Map(); // span id -> stored span
  const problems = [];
  await pool([...traceIds], 8, async (id) => {
    const r = await getJson(server.http, `/api/traces/${id}`);
    if (r.status === 404) return;
    if (r.status !== 200 || !r.json) {
      problems.push(`GET trace ${id}: ${r.status} ${r.text.slice(0, 200)}`);
      return;
    }
    const spans = r.json.spans || [];
    if (r.json.totals?.span_count !== spans.length) {
      problems.push(`trace ${id}: totals.span_count ${r.json.totals?.span_count}, ${spans.length} spans shown`);
    }
    for (const sp of spans) {
      if (stored.has(sp.span_id)) problems.push(`span ${sp.span_id} stored twice`);
      stored.set(sp.span_id, sp);
      const want = sent.get(sp.span_id);
      if (!want) {
        problems.push(`trace ${id}: span ${sp.span_id} was never sent`);
        continue;
      }
      if (want.span.traceId !== id) problems.push(`span ${sp.span_id} in trace ${id}, sent in ${want.span.traceId}`);
      try {
        assert.equal(sp.name, want.span.name);
        assert.deepEqual(sp.attributes, want.span.attrs);
      } catch (e) {
        problems.push(`span ${sp.span_id} (${want.req.state} request ${want.req.id}) differs from what was sent: ${e.message.slice(0, 400)}`);
      }
    }
  });
  const counts = { acked: 0, storedUnacked: 0, absentUnacked: 0, spans: stored.size };
  for (const req of requests) {
    const present = req.spans.filter((s) => stored.has(s.spanId)).length;
    if (present !== 0 && present !== req.spans.length) {
      problems.push(`request ${req.id} (${req.state}) is stored in part: ${present} of ${req.spans.length} spans`);
    } else if (req.state === 'acked') {
      counts.acked++;
      if (present !== req.spans.length) problems.push(`request ${req.id} was acknowledged but ${present} of its ${req.spans.length} spans are stored`);
    } else if (present) counts.storedUnacked++;
    else counts.absentUnacked++;
    if (req.state === 'rejected') problems.push(`request ${req.id} was answered ${req.detail}`);
  }
  if (problems.length) {
    assert.fail(`${label}: ${problems.length} problems:\n  ${problems.slice(0, 30).join('\n  ')}`);
  }
  return counts;
}

async function checkStore(dir, label) {
  const r = await runCli(['check', '--data', dir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${label}: llmtrace check exit ${r.code}:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^store ok: \d+ traces, \d+ spans/, `${label}: ${r.stdout}`);
  return r.stdout.trim();
}

/** A request posted and read back: the server takes new data. */
async function acceptsNewData(server, label) {
  const work = new Workload(7);
  const req = work.next(9);
  const r = await post(server.otlp, '/v1/traces', req.body, req.headers);
  assert.equal(r.status, 200, `${label}: new data refused: ${r.status} ${r.text()}`);
  req.state = 'acked';
  await verify(server, [req], `${label}: new data`);
}

function waitExit(proc, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    proc.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

describe('durability', () => {
  const dirs = [];
  after(() => { for (const d of dirs) removeDir(d); });

  test(`kill -9 during ingest, ${RUNS} runs (LT_CRASH_SEED=${SEED})`, async (t) => {
    t.diagnostic(`LT_CRASH_SEED=${SEED} LT_CRASH_RUNS=${RUNS}`);
    console.log(`# crash test: LT_CRASH_SEED=${SEED} LT_CRASH_RUNS=${RUNS} (set both to replay)`);
    let totalAcked = 0;
    let totalUnacked = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = (SEED + run * 7919) >>> 0;
      const rand = rng32(seed);
      // every other run rolls segments often (a size bound makes them 512 KiB; nothing is
      // deleted at this size); some runs crash a second time, after recovering once
      const args = run % 2 ? ['--retention-size', '8MB'] : [];
      const crashes = rand() < 0.3 ? 2 : 1;
      const dir = makeTempDir('lt-crash-');
      dirs.push(dir);
      const requests = [];
      const work = new Workload(seed ^ 0x5bd1e995);
      let label = `run ${run} (seed ${seed}${args.length ? ', small segments' : ''})`;
      for (let crash = 0; crash < crashes; crash++) {
        const delay = 50 + Math.floor(rand() * 700);
        label += `${crash ? ', then' : ','} kill after ${delay} ms`;
        const server = await startServer({ dataDir: dir, args });
        let killed = false;
        const driving = drive(server, work, requests, () => killed);
        await sleep(delay);
        server.proc.kill('SIGKILL');
        killed = true;
        await driving;
        const ex = await waitExit(server.proc, 10_000);
        assert.ok(ex && ex.signal === 'SIGKILL', `${label}: the server did not die of SIGKILL: ${JSON.stringify(ex)}`);
        // the store as the crash left it (read-only: nothing recovered yet)
        await checkStore(dir, `${label}: after the crash`);
      }
      const acked = requests.filter((r) => r.state === 'acked').length;
      assert.ok(requests.length > 0, `${label}: nothing was sent`);
      const again = await startServer({ dataDir: dir });
      try {
        const c = await verify(again, requests, label);
        totalAcked += c.acked;
        totalUnacked += c.storedUnacked + c.absentUnacked;
        await acceptsNewData(again, label);
        await checkStore(dir, `${label}: restarted`);
      } finally {
        await again.stop({ keep: true });
      }
      await checkStore(dir, `${label}: stopped`);
      if (run === 0 || run === RUNS - 1 || RUNS <= 20) {
        console.log(`# ${label}: ${requests.length} requests, ${acked} acknowledged`);
      }
      removeDir(dir);
    }
    assert.ok(totalAcked > RUNS, `too little was acknowledged over all runs (${totalAcked}): the crashes came too early to test anything`);
    console.log(`# crash test: ${totalAcked} acknowledged requests kept, ${totalUnacked} unacknowledged ones whole or absent`);
  });

  for (const sig of ['SIGTERM', 'SIGINT']) {
    test(`${sig} while senders send: every request answered, exit 0, nothing acknowledged lost`, async () => {
      const dir = makeTempDir('lt-stop-');
      dirs.push(dir);
      const server = await startServer({ dataDir: dir });
      const requests = [];
      let exited = false;
      server.proc.once('exit', () => { exited = true; });
      const work = new Workload(SEED ^ (sig === 'SIGINT' ? 2 : 1));
      const driving = drive(server, work, requests, () => exited);
      await sleep(600);
      const before = requests.filter((r) => r.state === 'acked').length;
      assert.ok(before > 0, 'nothing acknowledged before the signal');
      const t0 = Date.now();
      server.proc.kill(sig);
      const ex = await waitExit(server.proc, 10_000);
      const took = Date.now() - t0;
      await driving;
      assert.ok(ex, `the server did not exit within 10 s of ${sig}`);
      assert.equal(ex.code, 0, `exit ${JSON.stringify(ex)} after ${sig}; stderr: ${server.stderr().slice(-2000)}`);
      assert.match(server.stderr(), /stopped cleanly/);
      assert.ok(took < 5000, `${sig}: exit took ${took} ms`);
      for (const r of requests) {
        assert.ok(r.state !== 'rejected', `request ${r.id}: ${r.detail}`);
        if (r.state === 'refused') assert.equal(r.retryAfter, '1', `request ${r.id}: refused without Retry-After`);
      }
      const answered = requests.filter((r) => ['acked', 'refused'].includes(r.state)).length;
      const unanswered = requests.filter((r) => r.state === 'unanswered');
      console.log(`# ${sig}: exit 0 after ${took} ms; ${requests.length} requests: ${answered} answered, ` +
        `${unanswered.length} reset before being accepted, ${requests.length - answered - unanswered.length} refused connections`);
      const again = await startServer({ dataDir: dir });
      try {
        await verify(again, requests, sig);
        // a request without an answer was never taken in: the server answers what it read
        const stored = [];
        await pool(unanswered, 4, async (r) => {
          const g = await getJson(again.http, `/api/traces/${r.spans[0].traceId}`);
          if (g.status === 200 && (g.json.spans || []).some((s) => s.span_id === r.spans[0].spanId)) stored.push(r.id);
        });
        assert.deepEqual(stored, [], `requests stored but never answered: ${stored.join(', ')}`);
        await acceptsNewData(again, sig);
      } finally {
        await again.stop({ keep: true });
      }
      await checkStore(dir, sig);
    });
  }

  test('--ack-before-commit: answered once queued, and a clean stop still stores all of it', async () => {
    const dir = makeTempDir('lt-ackq-');
    dirs.push(dir);
    const server = await startServer({ dataDir: dir, args: ['--ack-before-commit'] });
    const work = new Workload(23);
    const requests = [];
    let n = 0;
    await drive(server, work, requests, () => ++n > 200);
    assert.ok(server.stderr().includes('acknowledging before commit'), 'the mode is said in the log');
    // stop right after the last answer: what was acknowledged but not yet written is
    // written before the process exits
    await server.stop({ keep: true });
    assert.ok(requests.every((r) => r.state === 'acked' || r.state === 'refused'),
      requests.filter((r) => r.state !== 'acked' && r.state !== 'refused').map((r) => `${r.id} ${r.state} ${r.detail}`).join('; '));
    await checkStore(dir, 'ack-before-commit');
    const again = await startServer({ dataDir: dir });
    try {
      const counts = await verify(again, requests, 'ack-before-commit');
      assert.ok(counts.acked > 0);
    } finally {
      await again.stop({ keep: true });
    }
  });

  test('llmtrace check: --help, a missing store, a damaged one', async () => {
    const h = await runCli(['check', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^usage: llmtrace check \[options\]/);
    assert.match(h.stdout, /--data DIR/);
    const dir = makeTempDir('lt-check-');
    dirs.push(dir);
    const none = await runCli(['check', '--data', path.join(dir, 'none')]);
    assert.equal(none.code, 1);
    assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'none')), 'check created a directory');
    const server = await startServer({ dataDir: dir });
    const work = new Workload(11);
    const reqs = [work.next(0), work.next(1)];
    for (const r of reqs) assert.equal((await post(server.otlp, '/v1/traces', r.body, r.headers)).status, 200);
    await server.stop({ keep: true });
    await checkStore(dir, 'before the damage');
    const seg = path.join(dir, 'blobs-00000001.seg');
    fs.truncateSync(seg, fs.statSync(seg).size - 20);
    const bad = await runCli(['check', '--data', dir]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^problem: .*past the end of the segment/m);
    assert.match(bad.stdout, /^store has \d+ problems?/m);
  });

  test('full disk: 503 + Retry-After, a clear log line, ingest resumes once space is freed', async (t) => {
    const mnt = makeTempDir('lt-full-');
    dirs.push(mnt);
    const forceLimit = process.env.LT_DURABILITY_FSIZE === '1';
    const mounted = !forceLimit && os.platform() === 'linux' &&
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
    let umounted = false;
    const cleanup = () => {
      if (mounted && !umounted) {
        umounted = spawnSync('umount', [mnt], { stdio: 'ignore' }).status === 0 ||
          spawnSync('umount', ['-l', mnt], { stdio: 'ignore' }).status === 0;
      }
    };
    t.after(cleanup);
    const dir = path.join(mnt, 'data');
    const filler = path.join(mnt, 'filler');
    let server;
    let lift;
    if (mounted) {
      t.diagnostic('data directory on a 24 MiB tmpfs');
      // leave a few MiB: enough to start, soon full
      fs.writeFileSync(filler, Buffer.alloc(19 << 20, 1));
      server = await startServer({ dataDir: dir });
      lift = () => fs.rmSync(filler);
    } else {
      t.diagnostic('mount not permitted: a 3 MiB file size limit on the server (prlimit)');
      server = await startLimited(dir, 3 << 20);
      lift = () => {
        const r = spawnSync('prlimit', ['--pid', String(server.proc.pid), '--fsize=unlimited']);
        assert.equal(r.status, 0, `prlimit --pid: ${r.stderr}`);
      };
    }
    const requests = [];
    const work = new Workload(SEED ^ 3);
    let phase = 'fill';
    let firstRefusal = -1;
    let resumedAt = -1;
    const stop = () => phase === 'done';
    const driving = drive(server, work, requests, stop, { pauseOnRefusal: 20 });
    try {
      // fill until the store refuses for a while
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        await sleep(50);
        if (!server.alive()) break;
        const i = requests.findIndex((r) => r.state === 'refused');
        if (i >= 0 && firstRefusal < 0) firstRefusal = i;
        if (firstRefusal >= 0 && requests.length - firstRefusal > 40) break;
      }
      assert.ok(server.alive(), `the server died on a full disk: ${JSON.stringify(server.exitInfo())}\n${server.stderr().slice(-2000)}`);
      assert.ok(firstRefusal >= 0, `no request was refused in 60 s (${requests.length} sent): is the disk full?`);
      const log = server.stderr();
      const full = /store: disk full in .*: new data is refused/.exec(log);
      assert.ok(full, `no log line says the disk is full:\n${log.slice(-2000)}`);
      t.diagnostic(`server log: ${log.slice(full.index).split('\n')[0]}`);
      phase = 'free';
      const mark = requests.length;
      lift();
      const until2 = Date.now() + 30_000;
      while (Date.now() < until2) {
        await sleep(50);
        const later = requests.slice(mark + SENDERS);
        const ok = later.filter((r) => r.state === 'acked').length;
        if (ok >= 20) {
          resumedAt = mark;
          break;
        }
      }
      assert.ok(resumedAt >= 0, `ingest did not resume within 30 s after space was freed: ${JSON.stringify(
        requests.slice(-5).map((r) => [r.state, r.detail]))}\n${server.stderr().slice(-2000)}`);
    } finally {
      phase = 'done';
      await driving;
    }
    assert.match(server.stderr(), /store: space was freed in .*: writes succeed again/);
    const refused = requests.filter((r) => r.state === 'refused');
    for (const r of refused) assert.equal(r.retryAfter, '1', `request ${r.id}: refused without Retry-After`);
    const counts = await verify(server, requests, 'full disk');
    t.diagnostic(`${requests.length} requests: ${counts.acked} acknowledged, ${refused.length} refused while full`);
    await checkStore(dir, 'full disk, running');
    await acceptsNewData(server, 'full disk');
    await server.stop({ keep: true });
    await checkStore(dir, 'full disk, stopped');
    removeDir(dir);
    cleanup();
  });
});

/**
 * `llmtrace serve` under a file size limit (prlimit): the server ignores SIGXFSZ itself, so
 * it must see EFBIG, not die of the signal. Returns what lib.mjs's startServer does, with
 * the parts this file uses.
 */
async function startLimited(dir, bytes) {
  const script = 'exec prlimit --fsize="$1":unlimited -- "$2" serve --data "$3" --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 --otlp-grpc off';
  const proc = spawn('sh', ['-c', script, 'sh', String(bytes), BIN, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let exited = null;
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.on('exit', (code, signal) => { exited = { code, signal }; });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no listening line: ${stderr}`)); }, START_TIMEOUT_MS);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(out.split('\n')[0]); }
    });
    proc.on('exit', () => { clearTimeout(timer); reject(new Error(`exited before listening: ${stderr}`)); });
  });
  const m = /^llmtrace listening otlp_http=(\S+) http=(\S+) otlp_grpc=off\s*$/.exec(line);
  assert.ok(m, `unexpected first line ${line}`);
  return {
    otlp: `http://${m[1]}`,
    http: `http://${m[2]}`,
    proc,
    stderr: () => stderr,
    alive: () => exited === null,
    exitInfo: () => exited,
    async stop() {
      if (exited === null) proc.kill('SIGTERM');
      const ex = await waitExit(proc, 30_000);
      assert.ok(ex && ex.code === 0, `did not stop cleanly: ${JSON.stringify(ex)} ${stderr.slice(-2000)}`);
    },
  };
}
