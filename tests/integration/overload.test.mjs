// overload.test.mjs — backpressure and bounded memory under 10x the sustainable load.
//
// bench_ingest (a C load generator built beside llmtrace) first finds the rate the server
// sustains (closed loop, 4 connections), then drives ten times that rate open loop over 128
// connections for a few seconds, with bodies of the size an SDK's batch processor sends
// (440 spans). While it runs, the server's resident memory is sampled: it must stay under
// --max-memory (the default, 128 MiB; not checked under the sanitizers, whose shadow memory
// and quarantine are no part of ours). Every request must get either 200, and then all of
// its traces are stored whole, or a retryable 429/503 with Retry-After, and then none of
// them is. Once the load stops, the server takes new data again by itself.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
  BIN, FIXTURES, assertHealthy, listAllTraces, makeTempDir, otlpJsonTraceRequest, post, randomHex, removeDir,
  startServer,
} from './lib.mjs';

const run = promisify(execFile);
const LOADGEN = path.join(path.dirname(BIN), 'bench_ingest');
const BODY = path.join(FIXTURES, 'otlp/otel/batch-proto/0002-traces.pb');
const SANITIZED = process.env.LT_SANITIZE === '1';
const MAX_MEMORY = 128 * 1024 * 1024; // serve's default --max-memory

let server;
let tmp;

before(async () => {
  tmp = makeTempDir('lt-overload-');
  server = await startServer();
});

after(async () => {
  if (server) await server.stop();
  removeDir(tmp);
});

/** Runs the load generator; resolves its key=value summary as numbers. */
async function load(args) {
  const { stdout } = await run(LOADGEN, [server.otlpAddr, BODY, ...args], { maxBuffer: 1 << 20 });
  const out = {};
  for (const kv of stdout.trim().split(/\s+/)) {
    const [k, v] = kv.split('=');
    out[k] = Number(v);
  }
  return out;
}

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Every stored trace id -> span count, through the API's list, 1000 at a time. */
async function storedTraces() {
  const all = await listAllTraces(server, {}, { pageSize: 1000, maxPages: 5000 });
  return new Map(all.map((t) => [t.trace_id, t.span_count]));
}

test('10x the sustainable rate: bounded memory, 200 = stored, 429/503 = not stored, recovery', { timeout: 300_000 }, async () => {
  const base = await load(['4', SANITIZED ? '3' : '2', '--repeat', '2']);
  assert.ok(base.requests_ok > 0 && base.requests_refused === 0,
    `the closed-loop baseline must be all 200s: ${JSON.stringify(base)}`);
  const sustainable = base.requests_ok / base.seconds; // requests per second
  const target = sustainable * 10;

  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(server.proc.pid)); }, 20);
  const logFile = path.join(tmp, 'overload.log');
  let over;
  try {
    over = await load(['128', '3', '--repeat', '2', '--rate', String(target), '--log', logFile]);
  } finally {
    clearInterval(sampler);
  }
  assertHealthy(server);
  // The load is due at 10x; what the server answered is what one loop thread can read,
  // refuse and decode next to the writer and 128 client threads on the same cores.
  console.log(`sustainable ${sustainable.toFixed(0)} req/s (${base.spans_per_s} spans/s); ` +
    `due ${target.toFixed(0)} req/s, answered ${over.offered_requests_per_s} req/s (${(over.offered_requests_per_s / sustainable).toFixed(1)}x); ` +
    `ok ${over.requests_ok}, refused ${over.requests_refused}; stored ${over.spans_per_s} spans/s; ` +
    `peak RSS ${(peak / 1048576).toFixed(1)} MiB`);

  assert.equal(over.requests_other, 0, 'every answer is 200, 429 or 503');
  assert.equal(over.connection_errors, 0, 'no connection was dropped');
  assert.ok(over.requests_refused > 0, 'the overload was refused in part (else it was no overload)');
  assert.ok(over.requests_ok > 0, 'the server kept storing under overload');
  if (!SANITIZED) {
    assert.ok(peak > 0 && peak < MAX_MEMORY,
      `peak RSS ${(peak / 1048576).toFixed(1)} MiB, bound ${MAX_MEMORY / 1048576} MiB`);
  }

  // Every trace of a 200 is stored whole (11 spans each), none of a refused request is.
  const stored = await storedTraces();
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
  let acked = 0;
  let refused = 0;
  for (const line of lines) {
    const [id, status] = line.split(' ');
    if (status === '200') {
      acked++;
      assert.equal(stored.get(id), 11, `acknowledged trace ${id}: ${stored.get(id) ?? 'missing'} spans stored`);
    } else {
      assert.ok(status === '429' || status === '503', `trace ${id}: status ${status}`);
      refused++;
      assert.ok(!stored.has(id), `trace ${id} of a refused request was stored`);
    }
  }
  assert.equal(acked, over.requests_ok * over.traces_per_request);
  assert.equal(refused, over.requests_refused * over.traces_per_request);
  // nothing else got in: the baseline's traces and the overload's acknowledged ones
  assert.equal(stored.size, (base.requests_ok + over.requests_ok) * over.traces_per_request);

  // Recovery: a closed-loop run right after is all 200s.
  const afterwards = await load(['2', '1', '--repeat', '2']);
  assert.ok(afterwards.requests_ok > 0 && afterwards.requests_refused === 0,
    `after the overload: ${JSON.stringify(afterwards)}`);
});

test('a refusal says when to retry (429 + Retry-After), and nothing of it is stored', async () => {
  // A 4 MiB bound holds 1 MiB of requests: of 16 concurrent 3000-span requests, some are
  // refused.
  const small = await startServer({ args: ['--max-memory', '4MiB'] });
  try {
    const bodies = Array.from({ length: 16 }, () => {
      const traceId = randomHex(16);
      const spans = Array.from({ length: 3000 }, (_, i) => ({
        traceId, spanId: randomHex(8), name: `step-${i}`,
        attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
          { key: 'note', value: { stringValue: 'x'.repeat(200) } }],
      }));
      return { traceId, body: JSON.stringify(otlpJsonTraceRequest(spans)) };
    });
    const res = await Promise.all(bodies.map((b) =>
      post(small.otlp, '/v1/traces', b.body, { 'content-type': 'application/json' })));
    const refused = res.filter((r) => r.status === 429);
    assert.ok(refused.length > 0, `statuses: ${res.map((r) => r.status)}`);
    assert.ok(res.every((r) => r.status === 200 || r.status === 429), `statuses: ${res.map((r) => r.status)}`);
    for (const r of refused) {
      assert.match(String(r.headers['retry-after']), /^\d+$/, 'Retry-After in seconds');
      assert.match(r.json().message, /retry/i);
    }
    for (let i = 0; i < bodies.length; i++) {
      const got = await fetch(`${small.http}/api/traces/${bodies[i].traceId}`);
      assert.equal(got.status, res[i].status === 200 ? 200 : 404, `trace of a ${res[i].status}`);
    }
  } finally {
    await small.stop();
  }
});
