// lib.mjs — shared helpers of the black-box integration tests.
//
// Everything here talks to a real `llmtrace serve` started on a temporary data directory
// with port 0 (the kernel picks free ports), over 127.0.0.1 only. Every wait is bounded.
//
// Environment: LLMTRACE_BIN (the binary under test) and LT_FIXTURES (the fixtures folder);
// ctest sets both (see CMakeLists.txt).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

export const BIN = process.env.LLMTRACE_BIN || path.resolve(here, '../../build/llmtrace');
export const FIXTURES = process.env.LT_FIXTURES || path.resolve(here, '../../../shared/fixtures');

// Sanitized builds are several times slower; give them room, but never wait forever.
export const START_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 30_000;
export const REQUEST_TIMEOUT_MS = 60_000;

const LISTEN_RE = /^llmtrace listening otlp_http=(\S+) http=(\S+) otlp_grpc=(\S+)\s*$/;
// Reports that ASan/UBSan/LeakSanitizer/TSan print on stderr; any of them fails the test.
const SANITIZER_RE = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer)/;

/** The base URL of the store the tests run against ("clickhouse://127.0.0.1:PORT"), or ''
 * for SQLite in each server's data directory (tests/clickhouse/run.mjs sets it). */
export const TEST_STORE = (process.env.LT_TEST_STORE || '').replace(/\/+$/, '');

/** node:test's skip option for a test that checks SQLite itself (its files, the CLI on a
 * --data directory, kill -9 and a full disk): the reason when the tests run on another
 * engine, false on SQLite (node:test skips on null too). */
export function sqliteOnly(what) {
  return TEST_STORE ? `SQLite-specific (${what}); the store under test is ${TEST_STORE}` : false;
}

/** A ClickHouse database name for a data directory: its basename folded to [a-z0-9_], with
 * a short hash of the exact name so that two directories never share a database, and the
 * same directory (a restart with dataDir) always finds its own. */
export function databaseFor(dir) {
  const base = path.basename(path.resolve(dir));
  const folded = base.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 40);
  const hash = crypto.createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `lt_${folded}_${hash}`;
}

/** The --store URL of a data directory's database under LT_TEST_STORE. */
export function storeUrlFor(dir) {
  return `${TEST_STORE}/${databaseFor(dir)}`;
}

export function makeTempDir(prefix = 'lt-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts `llmtrace serve` on a fresh (or the given) data directory with every port 0.
 * Under LT_TEST_STORE the store is that ClickHouse's database for the directory instead
 * (storeUrlFor); args naming --data or --store choose the store themselves. env adds to
 * the server's environment.
 * Resolves once the single listening line was printed on stdout.
 * Returns { otlp, http, dataDir, proc, stderr(), stdoutExtra(), alive(), stop() }:
 * otlp/http are base URLs ("http://127.0.0.1:PORT").
 */
export async function startServer({ args = [], dataDir, keepData = false, env = {} } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`llmtrace binary not found: ${BIN} (set LLMTRACE_BIN)`);
  const ownDir = !dataDir;
  const dir = dataDir || makeTempDir();
  // with --config the file gives the receivers' endpoints
  const configured = args.includes('--config');
  const receivers = configured ? [] : ['--otlp-http', '127.0.0.1:0', '--otlp-grpc', '127.0.0.1:0'];
  // A caller that names its store keeps it; otherwise LT_TEST_STORE picks the engine.
  const named = args.includes('--data') || args.includes('--store');
  const store = named ? [] : (TEST_STORE ? ['--store', storeUrlFor(dir)] : ['--data', dir]);
  const argv = ['serve', ...store, '--http', '127.0.0.1:0', ...receivers, ...args];
  const proc = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  let stdout = '';
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });
  proc.stdout.setEncoding('utf8');

  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`llmtrace serve printed no listening line within ${START_TIMEOUT_MS} ms; ` +
        `stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr.slice(-2000))}`));
    }, START_TIMEOUT_MS);
    const onData = (d) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      const line = stdout.slice(0, nl);
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      const m = LISTEN_RE.exec(line);
      if (!m) {
        proc.kill('SIGKILL');
        reject(new Error(`unexpected first stdout line of llmtrace serve: ${JSON.stringify(line)}`));
        return;
      }
      resolve({ otlp: m[1], http: m[2], grpc: m[3], rest: stdout.slice(nl + 1) });
    };
    proc.stdout.on('data', onData);
    exitPromise.then((e) => {
      clearTimeout(timer);
      reject(new Error(`llmtrace serve exited before listening (code ${e.code}, signal ${e.signal}); ` +
        `stderr=${JSON.stringify(stderr.slice(-2000))}`));
    });
  });
  // Anything printed on stdout after the listening line is collected (it must stay empty).
  let stdoutExtra = listening.rest;
  proc.stdout.on('data', (d) => { stdoutExtra += d; });

  for (const [name, addr] of [['otlp_http', listening.otlp], ['http', listening.http]]) {
    if (configured && name === 'otlp_http' && addr === 'off') continue;
    const m = /^127\.0\.0\.1:(\d+)$/.exec(addr);
    if (!m || Number(m[1]) === 0) {
      proc.kill('SIGKILL');
      throw new Error(`listening line gives ${name}=${addr}, expected 127.0.0.1:<non-zero port>`);
    }
  }

  let stopped = null;
  const server = {
    otlp: `http://${listening.otlp}`,
    http: `http://${listening.http}`,
    otlpAddr: listening.otlp,
    httpAddr: listening.http,
    grpcAddr: listening.grpc, // "off" when the receiver is off
    dataDir: dir,
    // what the server stores into: a directory or a clickhouse:// URL
    store: store.length ? store[1] : args[Math.max(args.indexOf('--data'), args.indexOf('--store')) + 1],
    proc,
    stderr: () => stderr,
    stdoutExtra: () => stdoutExtra,
    alive: () => exited === null,
    exitInfo: () => exited,
    /**
     * SIGTERM, then wait (bounded) for the exit. Resolves { code, signal, stderr }; throws
     * if it did not stop in time (then kills it), exited non-zero, printed more on stdout,
     * or a sanitizer reported anything. Removes the data directory unless keepData.
     */
    async stop({ keep = keepData } = {}) {
      if (stopped) return stopped;
      if (exited === null) proc.kill('SIGTERM');
      const res = await exitOrKill(proc, exitPromise, STOP_TIMEOUT_MS);
      if (res === null) {
        stopped = { code: null, signal: 'SIGKILL', stderr };
        if (ownDir && !keep) removeDir(dir);
        throw new Error(`llmtrace serve did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
      }
      stopped = { ...res, stderr };
      if (ownDir && !keep) removeDir(dir);
      const problems = [];
      if (res.code !== 0) problems.push(`exit code ${res.code}, signal ${res.signal}`);
      if (SANITIZER_RE.test(stderr)) problems.push('sanitizer report on stderr');
      if (stdoutExtra.trim() !== '') problems.push(`more than one line on stdout: ${JSON.stringify(stdoutExtra.slice(0, 500))}`);
      if (problems.length) {
        throw new Error(`llmtrace serve did not stop cleanly: ${problems.join('; ')}\n` +
          `stderr (tail): ${stderr.slice(-4000)}`);
      }
      return stopped;
    },
  };
  liveServers.set(server.otlp, server);
  liveServers.set(server.http, server);
  return server;
}

/** What exitPromise resolves (proc's exit), or null when that takes longer than ms: then
 * proc is killed with SIGKILL and its exit awaited. */
async function exitOrKill(proc, exitPromise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  const res = await Promise.race([exitPromise, late]);
  clearTimeout(timer);
  if (res === null) {
    proc.kill('SIGKILL');
    await exitPromise;
  }
  return res;
}

// base URL -> server, so that a failed request can tell whether the server died
const liveServers = new Map();

function serverContext(url) {
  const s = liveServers.get(`${url.protocol}//${url.host}`);
  if (!s) return '';
  const e = s.exitInfo();
  return ` [llmtrace ${e ? `EXITED code ${e.code} signal ${e.signal}` : 'still running'}; stderr tail: ${s.stderr().slice(-1500)}]`;
}

/** Fails if the server died, or a sanitizer complained since the previous call (so that
 * the failing test is the one that triggered the report; stop() checks the whole stderr). */
export function assertHealthy(server) {
  if (!server.alive()) {
    const e = server.exitInfo();
    throw new Error(`llmtrace serve died (code ${e.code}, signal ${e.signal}); stderr tail: ${server.stderr().slice(-3000)}`);
  }
  const all = server.stderr();
  const from = healthChecked.get(server) ?? 0;
  healthChecked.set(server, all.length);
  const fresh = all.slice(Math.min(from, all.length));
  const m = SANITIZER_RE.exec(fresh);
  if (m) throw new Error(`sanitizer report on stderr: ${fresh.slice(Math.max(0, m.index - 200), m.index + 3000)}`);
}
const healthChecked = new WeakMap();

// ---------------------------------------------------------------------------------------
// HTTP

/**
 * One HTTP request. body: Buffer | string | undefined. Resolves
 * { status, headers, body: Buffer, text(), json() }. When the server answers before reading
 * the whole body (413) and then closes, the write error that follows is ignored.
 * Options: chunked (no Content-Length), timeoutMs.
 */
export function request(method, baseUrl, urlPath, { headers = {}, body, chunked = false, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const url = new URL(urlPath, baseUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    return Promise.reject(new Error(`refusing non-loopback target ${url}`));
  }
  const buf = body === undefined ? null : (Buffer.isBuffer(body) ? body : Buffer.from(body));
  const hdrs = { ...headers };
  if (buf && !chunked) hdrs['content-length'] = String(buf.length);
  if (chunked) hdrs['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let settled = false;
    let gotResponse = false;
    const done = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const req = http.request({
      host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers: hdrs,
      agent: false,
    }, (res) => {
      gotResponse = true;
      const chunks = [];
      const finish = () => {
        const b = Buffer.concat(chunks);
        done(resolve, {
          status: res.statusCode,
          headers: res.headers,
          body: b,
          complete: res.complete,
          text: () => b.toString('utf8'),
          json: () => JSON.parse(b.toString('utf8')),
        });
      };
      res.on('data', (c) => chunks.push(c));
      res.on('end', finish);
      // The server may close right after an early answer (413): keep what arrived.
      res.on('close', finish);
      res.on('error', () => finish());
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (gotResponse) return;
      // give a dying server a moment to be reaped, then say so
      setTimeout(() => { e.message += ` (${method} ${url.pathname})${serverContext(url)}`; done(reject, e); }, 100);
    });
    if (buf) {
      if (chunked) {
        // Several chunks so that the server really sees chunked framing.
        const step = Math.max(1, Math.ceil(buf.length / 4));
        for (let i = 0; i < buf.length; i += step) req.write(buf.subarray(i, i + step));
      } else {
        req.write(buf);
      }
    }
    req.end();
  });
}

export function post(baseUrl, urlPath, body, headers = {}, opts = {}) {
  return request('POST', baseUrl, urlPath, { headers, body, ...opts });
}

/** GET returning { status, json, text, headers }; json is undefined when not JSON. */
export async function getJson(baseUrl, urlPath) {
  const r = await request('GET', baseUrl, urlPath);
  let json;
  try { json = JSON.parse(r.text()); } catch { json = undefined; }
  return { status: r.status, json, text: r.text(), headers: r.headers };
}

/** GET that must answer 200 with JSON; returns the parsed body. */
export async function getOk(baseUrl, urlPath) {
  const r = await getJson(baseUrl, urlPath);
  if (r.status !== 200 || r.json === undefined) {
    throw new Error(`GET ${urlPath}: expected 200 JSON, got ${r.status} ${r.text.slice(0, 500)}`);
  }
  return r.json;
}

/** Every trace summary of /api/traces (following next_cursor), newest first. */
export async function listAllTraces(server, query = {}, { pageSize = 100, maxPages = 200 } = {}) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const q = new URLSearchParams({ ...query, limit: String(pageSize) });
    if (cursor) q.set('cursor', cursor);
    const j = await getOk(server.http, `/api/traces?${q}`);
    if (!Array.isArray(j.traces)) throw new Error(`/api/traces: no traces array: ${JSON.stringify(j).slice(0, 300)}`);
    out.push(...j.traces);
    if (j.next_cursor === null || j.next_cursor === undefined || j.next_cursor === '') return out;
    if (j.traces.length === 0) throw new Error('/api/traces returned an empty page with a next_cursor');
    cursor = j.next_cursor;
  }
  throw new Error(`/api/traces: more than ${maxPages} pages`);
}

/** Every trace id the server lists, all time (start=0), as a Set. */
export async function traceIdSet(server) {
  const out = new Set();
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ limit: '1000', start: '0', ...(cursor ? { cursor } : {}) });
    const body = await getOk(server.http, `/api/traces?${q}`);
    for (const t of body.traces) out.add(t.trace_id);
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  return out;
}

export const getTrace = (server, id) => getOk(server.http, `/api/traces/${id}`);
export const getTraceOtlp = (server, id) => getOk(server.http, `/api/traces/${id}?format=otlp`);

/** Polls fn (async, returns truthy when done) every 50 ms for at most ms; returns its value. */
export async function waitFor(fn, ms = 5000, what = 'condition') {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------
// Typed values: expected.json form <-> OTLP/JSON AnyValue <-> plain JSON

/** expected.json typed value ({"string":..},{"int":..},...) -> OTLP/JSON AnyValue as the
 * API must print it (int64 as a decimal string). */
export function typedToAnyValue(t) {
  if (t === null || typeof t !== 'object') throw new Error(`not a typed value: ${JSON.stringify(t)}`);
  const keys = Object.keys(t);
  if (keys.length !== 1) throw new Error(`typed value must have one key: ${JSON.stringify(t)}`);
  const [k] = keys;
  const v = t[k];
  switch (k) {
    case 'string': return { stringValue: v };
    case 'int': return { intValue: String(v) };
    case 'double': return { doubleValue: v };
    case 'bool': return { boolValue: v };
    case 'bytes': return { bytesValue: v };
    case 'array': return { arrayValue: { values: v.map(typedToAnyValue) } };
    case 'kvlist': return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: typedToAnyValue(x) })) } };
    default: throw new Error(`unknown typed value kind ${k}`);
  }
}

/** expected.json typed value -> plain JSON (as /api/traces/{id} prints attributes). */
export function typedToPlain(t) {
  const [k] = Object.keys(t);
  const v = t[k];
  switch (k) {
    case 'string': case 'int': case 'double': case 'bool': case 'bytes': return v;
    case 'array': return v.map(typedToPlain);
    case 'kvlist': return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, typedToPlain(x)]));
    default: throw new Error(`unknown typed value kind ${k}`);
  }
}

/** OTLP/JSON AnyValue -> plain JSON (ints as numbers). */
export function anyValueToPlain(av) {
  if (av === null || av === undefined) return null;
  if ('stringValue' in av) return av.stringValue;
  if ('intValue' in av) return Number(av.intValue);
  if ('doubleValue' in av) return Number(av.doubleValue);
  if ('boolValue' in av) return av.boolValue;
  if ('bytesValue' in av) return av.bytesValue;
  if ('arrayValue' in av) return (av.arrayValue.values || []).map(anyValueToPlain);
  if ('kvlistValue' in av) return Object.fromEntries((av.kvlistValue.values || []).map((kv) => [kv.key, anyValueToPlain(kv.value)]));
  return null;
}

/** Canonical form for comparing AnyValues: empty repeated fields are the same whether
 * omitted or printed (proto3 JSON), everything else must match exactly (types included). */
export function normAnyValue(av) {
  if (av === null || typeof av !== 'object') return av;
  if ('arrayValue' in av) return { arrayValue: { values: (av.arrayValue?.values || []).map(normAnyValue) } };
  if ('kvlistValue' in av) {
    return { kvlistValue: { values: (av.kvlistValue?.values || []).map((kv) => ({ key: kv.key, value: normAnyValue(kv.value) })) } };
  }
  return av;
}

/** [{key,value}] -> Map key -> AnyValue; throws on duplicate keys. */
export function kvMap(kvs, where = 'attributes') {
  const m = new Map();
  for (const kv of kvs || []) {
    if (m.has(kv.key)) throw new Error(`duplicate key ${kv.key} in ${where}`);
    m.set(kv.key, kv.value);
  }
  return m;
}

export const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
export const STATUS_CODES = ['UNSET', 'OK', 'ERROR'];

/** "SEVERITY_NUMBER_INFO" -> 9, "SEVERITY_NUMBER_WARN2" -> 14 ... */
export function severityNumber(name) {
  if (typeof name === 'number') return name;
  const m = /^SEVERITY_NUMBER_([A-Z]+)(\d?)$/.exec(name || '');
  if (!m) return 0;
  const base = { UNSPECIFIED: 0, TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 }[m[1]];
  if (base === undefined) throw new Error(`unknown severity ${name}`);
  return m[1] === 'UNSPECIFIED' ? 0 : base + (m[2] ? Number(m[2]) - 1 : 0);
}

/** Flattens an OTLP/JSON ExportTraceServiceRequest into spans with their resource and scope. */
export function flattenOtlp(req) {
  const out = [];
  for (const rs of req.resourceSpans || []) {
    for (const ss of rs.scopeSpans || []) {
      for (const sp of ss.spans || []) out.push({ resource: rs.resource || {}, scope: ss.scope || {}, span: sp });
    }
  }
  return out;
}

/** Stable JSON with sorted object keys (for multiset comparisons). */
export function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------
// Fixtures

/** Every scenario: [{ library, scenario, dir, expected, files: [{ name, signal, meta, path, transport }] }] */
export function loadScenarios(root = FIXTURES) {
  const otlpDir = path.join(root, 'otlp');
  if (!fs.existsSync(otlpDir)) throw new Error(`fixtures not found: ${otlpDir} (set LT_FIXTURES)`);
  const out = [];
  for (const library of fs.readdirSync(otlpDir).sort()) {
    const libDir = path.join(otlpDir, library);
    if (!fs.statSync(libDir).isDirectory()) continue;
    for (const scenario of fs.readdirSync(libDir).sort()) {
      const dir = path.join(libDir, scenario);
      if (!fs.statSync(dir).isDirectory()) continue;
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
      const files = [];
      for (const f of fs.readdirSync(dir).sort()) {
        if (!f.endsWith('.meta.json')) continue;
        const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        files.push({ name: meta.file, signal: meta.signal, meta, path: path.join(dir, meta.file), transport: meta.transport });
      }
      out.push({ library, scenario, dir, expected, files });
    }
  }
  return out;
}

/** How a captured body is sent over OTLP/HTTP: { urlPath, headers }. gRPC captures (the bare
 * protobuf message) go as application/x-protobuf to the signal's path. */
export function fixtureRequest(file) {
  const headers = {};
  if (file.transport === 'grpc') {
    headers['content-type'] = 'application/x-protobuf';
  } else {
    headers['content-type'] = file.meta.content_type;
    if (file.meta.content_encoding) headers['content-encoding'] = file.meta.content_encoding;
  }
  return { urlPath: `/v1/${file.signal}`, headers };
}

export async function postFixtureFile(server, file) {
  const { urlPath, headers } = fixtureRequest(file);
  const body = fs.readFileSync(file.path);
  const res = await post(server.otlp, urlPath, body, headers);
  return { res, headers, body };
}

/** Checks an OTLP success answer: 200, the request's content type, and an empty
 * Export*ServiceResponse (0 bytes of protobuf, or JSON {}). Returns a problem string or null. */
export function successProblem(res, contentType) {
  if (res.status !== 200) return `status ${res.status} (body ${res.body.toString('utf8').slice(0, 300)})`;
  const ct = (res.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (ct !== contentType) return `response content-type ${res.headers['content-type']}, expected ${contentType}`;
  if (contentType === 'application/x-protobuf') {
    if (res.body.length !== 0) return `expected an empty protobuf response, got ${res.body.length} bytes ${res.body.toString('hex').slice(0, 200)}`;
  } else {
    let j;
    try { j = JSON.parse(res.body.toString('utf8')); } catch { return `response is not JSON: ${res.body.toString('utf8').slice(0, 200)}`; }
    if (canon(j) !== '{}') return `expected {} got ${res.body.toString('utf8').slice(0, 300)}`;
  }
  return null;
}

export function gzip(buf) {
  return zlib.gzipSync(buf);
}

// ---------------------------------------------------------------------------------------
// A small protobuf writer/reader, enough to build OTLP requests (valid and broken) and to
// read the google.rpc.Status and Export*ServiceResponse answers.

export const pb = {
  varint(n) {
    let v = BigInt(n);
    if (v < 0n) v += 1n << 64n;
    const bytes = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      bytes.push(b);
    } while (v > 0n);
    return Buffer.from(bytes);
  },
  tag(field, wire) { return pb.varint((field << 3) | wire); },
  uint(field, n) { return Buffer.concat([pb.tag(field, 0), pb.varint(n)]); },
  len(field, payload) {
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    return Buffer.concat([pb.tag(field, 2), pb.varint(p.length), p]);
  },
  str(field, s) { return pb.len(field, Buffer.from(s, 'utf8')); },
  msg(field, ...parts) { return pb.len(field, Buffer.concat(parts)); },
  fixed64(field, n) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return Buffer.concat([pb.tag(field, 1), b]);
  },
  double(field, d) {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(d);
    return Buffer.concat([pb.tag(field, 1), b]);
  },
  fixed32(field, n) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return Buffer.concat([pb.tag(field, 5), b]);
  },
  cat(...parts) { return Buffer.concat(parts); },

  /** Decodes one message level: [{ field, wire, value }] (value: BigInt for varint/fixed,
   * Buffer for length-delimited). Throws on malformed input. */
  decode(buf) {
    const out = [];
    let i = 0;
    const readVarint = () => {
      let v = 0n;
      let shift = 0n;
      for (let k = 0; k < 10; k++) {
        if (i >= buf.length) throw new Error('truncated varint');
        const b = buf[i++];
        v |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
        shift += 7n;
      }
      throw new Error('varint too long');
    };
    while (i < buf.length) {
      const key = readVarint();
      const field = Number(key >> 3n);
      const wire = Number(key & 7n);
      if (wire === 0) out.push({ field, wire, value: readVarint() });
      else if (wire === 1) { if (i + 8 > buf.length) throw new Error('truncated fixed64'); out.push({ field, wire, value: buf.readBigUInt64LE(i) }); i += 8; }
      else if (wire === 5) { if (i + 4 > buf.length) throw new Error('truncated fixed32'); out.push({ field, wire, value: BigInt(buf.readUInt32LE(i)) }); i += 4; }
      else if (wire === 2) {
        const n = Number(readVarint());
        if (i + n > buf.length) throw new Error('length past end');
        out.push({ field, wire, value: buf.subarray(i, i + n) });
        i += n;
      } else throw new Error(`bad wire type ${wire}`);
    }
    return out;
  },
};

/** google.rpc.Status protobuf -> { code, message }. */
export function decodeStatusPb(buf) {
  const st = { code: 0, message: '' };
  for (const f of pb.decode(buf)) {
    if (f.field === 1 && f.wire === 0) st.code = Number(f.value);
    else if (f.field === 2 && f.wire === 2) st.message = f.value.toString('utf8');
  }
  return st;
}

/** Export*ServiceResponse protobuf -> { partialSuccess: { rejected, errorMessage } | null }. */
export function decodeExportResponsePb(buf) {
  let partial = null;
  for (const f of pb.decode(buf)) {
    if (f.field === 1 && f.wire === 2) {
      partial = { rejected: 0n, errorMessage: '' };
      for (const g of pb.decode(f.value)) {
        if (g.field === 1 && g.wire === 0) partial.rejected = g.value;
        else if (g.field === 2 && g.wire === 2) partial.errorMessage = g.value.toString('utf8');
      }
    }
  }
  return { partialSuccess: partial };
}

// OTLP protobuf builders (field numbers from opentelemetry-proto; see genai-conventions.md §6.2)
export const otlpPb = {
  anyString: (s) => pb.str(1, s),
  anyInt: (n) => pb.uint(3, n),
  anyDouble: (d) => pb.double(4, d),
  anyBool: (b) => pb.uint(2, b ? 1 : 0),
  anyBytes: (buf) => pb.len(7, buf),
  anyArray: (values) => pb.len(5, Buffer.concat(values.map((v) => pb.len(1, v)))),
  anyKvlist: (pairs) => pb.len(6, Buffer.concat(pairs.map(([k, v]) => pb.len(1, otlpPb.keyValue(k, v))))),
  keyValue: (key, anyValueBytes) => pb.cat(pb.str(1, key), pb.len(2, anyValueBytes)),
  kvs: (field, attrs) => Buffer.concat((attrs || []).map(([k, v]) => pb.len(field, otlpPb.keyValue(k, v)))),
  /** span: { traceId: Buffer(16), spanId: Buffer(8), parentSpanId?, name, kind?, start?, end?,
   * attrs?: [[key, anyValueBytes]], nameBytes?: Buffer (raw name bytes), status?: {code, message},
   * traceState?, flags?, droppedAttributesCount?, droppedEventsCount?, droppedLinksCount?,
   * events?: [{ time, name, attrs }], links?: [{ traceId, spanId, traceState, attrs, flags }] } */
  span(s) {
    const parts = [pb.len(1, s.traceId), pb.len(2, s.spanId)];
    if (s.traceState) parts.push(pb.str(3, s.traceState));
    if (s.parentSpanId) parts.push(pb.len(4, s.parentSpanId));
    parts.push(s.nameBytes ? pb.len(5, s.nameBytes) : pb.str(5, s.name ?? 'span'));
    parts.push(pb.uint(6, s.kind ?? 1));
    parts.push(pb.fixed64(7, s.start ?? 1_700_000_000_000_000_000n));
    parts.push(pb.fixed64(8, s.end ?? 1_700_000_000_500_000_000n));
    parts.push(otlpPb.kvs(9, s.attrs));
    if (s.droppedAttributesCount) parts.push(pb.uint(10, s.droppedAttributesCount));
    for (const ev of s.events || []) {
      parts.push(pb.len(11, pb.cat(pb.fixed64(1, ev.time ?? 1_700_000_000_100_000_000n), pb.str(2, ev.name), otlpPb.kvs(3, ev.attrs))));
    }
    if (s.droppedEventsCount) parts.push(pb.uint(12, s.droppedEventsCount));
    for (const ln of s.links || []) {
      const lp = [pb.len(1, ln.traceId), pb.len(2, ln.spanId)];
      if (ln.traceState) lp.push(pb.str(3, ln.traceState));
      lp.push(otlpPb.kvs(4, ln.attrs));
      if (ln.flags !== undefined) lp.push(pb.fixed32(6, ln.flags));
      parts.push(pb.len(13, Buffer.concat(lp)));
    }
    if (s.droppedLinksCount) parts.push(pb.uint(14, s.droppedLinksCount));
    if (s.status) {
      const st = [];
      if (s.status.message) st.push(pb.str(2, s.status.message));
      if (s.status.code) st.push(pb.uint(3, s.status.code));
      parts.push(pb.len(15, Buffer.concat(st)));
    }
    if (s.flags !== undefined) parts.push(pb.fixed32(16, s.flags));
    return Buffer.concat(parts);
  },
  /** ExportTraceServiceRequest with one resource (service.name + resourceAttrs) and one scope. */
  traceRequest(spans, { service = 'badinput-test', scope = 'lt-tests', scopeVersion, scopeAttrs, resourceAttrs } = {}) {
    const resource = pb.len(1, otlpPb.kvs(1, [['service.name', otlpPb.anyString(service)], ...(resourceAttrs || [])]));
    const scopeMsg = pb.cat(pb.str(1, scope), scopeVersion ? pb.str(2, scopeVersion) : Buffer.alloc(0), otlpPb.kvs(3, scopeAttrs));
    const scopeSpans = pb.len(2, pb.cat(pb.len(1, scopeMsg), ...spans.map((sp) => pb.len(2, Buffer.isBuffer(sp) ? sp : otlpPb.span(sp)))));
    return pb.len(1, pb.cat(resource, scopeSpans));
  },
};

/** OTLP/JSON ExportTraceServiceRequest builder (the same shape as otlpPb.traceRequest). */
export function otlpJsonTraceRequest(spans, { service = 'badinput-test', scope = 'lt-tests' } = {}) {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: scope },
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name ?? 'span',
          kind: s.kind ?? 1,
          startTimeUnixNano: s.start ?? '1700000000000000000',
          endTimeUnixNano: s.end ?? '1700000000500000000',
          attributes: s.attributes || [],
          ...(s.status ? { status: s.status } : {}),
        })),
      }],
    }],
  };
}

/** mulberry32: a small seeded generator in [0, 1), so that a failing run can be replayed. */
export function rng32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  // never all zero
  return /^0+$/.test(s) ? `${s.slice(0, -1)}1` : s;
}

/** Runs the llmtrace CLI (piped, not a terminal). Resolves { code, signal, stdout, stderr }. */
export function runCli(args, { timeoutMs = 60_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`llmtrace ${args.join(' ')}: timeout after ${timeoutMs} ms`)); }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (SANITIZER_RE.test(stderr)) {
        reject(new Error(`sanitizer report from llmtrace ${args.join(' ')}:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------
// Prometheus (Debian's `prometheus`, started by the tests themselves)

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one). */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts Prometheus on 127.0.0.1:port with the remote write receiver on and, when given,
 * one scrape job `llmtrace` over targets every second. Resolves { url, stop(), stderr() }
 * once /-/ready answers. Fails (never skips) when the binary is missing: setup.sh installs it.
 */
export async function startPrometheus({ port, targets = [], bin = process.env.PROMETHEUS_BIN || 'prometheus' }) {
  const dir = makeTempDir('lt-prom-');
  const cfg = path.join(dir, 'prometheus.yml');
  const jobs = targets.length
    ? `scrape_configs:\n  - job_name: llmtrace\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`
    : 'scrape_configs: []\n';
  fs.writeFileSync(cfg, `global:\n  scrape_interval: 1s\n${jobs}`);
  const proc = spawn(bin, [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited = null;
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const exitPromise = new Promise((resolve) => {
    proc.on('error', (e) => { exited = { error: e }; resolve(exited); });
    proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`prometheus exited: ${exited.error || `code ${exited.code}`}; ${stderr}`);
      try { return (await fetch(`${url}/-/ready`)).status === 200; } catch { return false; }
    }, 30_000, 'prometheus to be ready');
  } catch (e) {
    proc.kill('SIGKILL');
    removeDir(dir);
    throw e;
  }
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(t);
      removeDir(dir);
    },
  };
}

/** An instant PromQL query: [{ metric: {labels}, value: Number }]. */
export async function promQuery(prom, query) {
  const r = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`PromQL ${query}: ${JSON.stringify(body)}`);
  return body.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
}

// ---------------------------------------------------------------------------------------
// ClickHouse (Debian's `clickhouse-server`, started by the tests themselves)

const CLICKHOUSE_START_TIMEOUT_MS = 60_000;
const xmlEscape = (v) => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// every ClickHouse this process started and has not seen exit: killed when the process
// exits, so a failed test never leaves one running
const liveClickHouses = new Set();
process.on('exit', () => { for (const p of liveClickHouses) p.kill('SIGKILL'); });

/** One statement over ClickHouse's HTTP interface (url "http://127.0.0.1:PORT"); resolves
 * the answer's text, rejects with ClickHouse's message on any other status than 200. */
export async function queryClickHouse(url, sql, { user, password } = {}) {
  const q = new URLSearchParams();
  if (user) q.set('user', user);
  if (password) q.set('password', password);
  const r = await request('POST', url, `/?${q}`, { body: sql, timeoutMs: REQUEST_TIMEOUT_MS });
  if (r.status !== 200) throw new Error(`ClickHouse ${r.status} for ${sql.slice(0, 200)}: ${r.text().slice(0, 1000)}`);
  return r.text();
}

/**
 * Starts a clickhouse-server on dir (a new temporary directory when not given; removed by
 * destroy()) with free ports (HTTP, native TCP, interserver) on 127.0.0.1 only, small
 * caches, its logs in dir/log and time zone UTC. users: { name: password } added to the
 * password-less `default` (or giving `default` a password). Resolves once `SELECT 1` answers over HTTP (bounded); fails,
 * never skips, when the binary is missing (setup.sh installs it). Returns
 * { httpPort, url, storeUrl(db), query(sql, {user, password}), stop(), kill(), start(),
 * destroy(), running(), errLog() }: stop is SIGTERM (bounded, then SIGKILL), kill is
 * SIGKILL, start runs it again on the same data and ports.
 */
export async function startClickHouse({ dir, users = {}, bin = process.env.CLICKHOUSE_BIN || 'clickhouse-server' } = {}) {
  const ownDir = !dir;
  const root = dir || makeTempDir('lt-ch-');
  for (const d of ['data', 'tmp', 'log', 'user_files', 'format_schemas']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const userXml = Object.entries({ default: '', ...users }).map(([name, password]) =>
    `<${name}><password>${xmlEscape(password)}</password><networks><ip>::1</ip><ip>127.0.0.1</ip></networks>` +
    `<profile>default</profile><quota>default</quota></${name}>`).join('');
  fs.writeFileSync(path.join(root, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users>${userXml}</users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`);
  const writeConfig = (ports) => fs.writeFileSync(path.join(root, 'config.xml'), `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${root}/log/server.log</log><errorlog>${root}/log/err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${root}/data/</path>
  <tmp_path>${root}/tmp/</tmp_path>
  <user_files_path>${root}/user_files/</user_files_path>
  <format_schema_path>${root}/format_schemas/</format_schema_path>
  <users_config>${root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`);

  let ports = null;
  let proc = null;
  let exited = null;
  let exitPromise = null;
  let stderr = '';
  const base = () => `http://127.0.0.1:${ports.http}`;
  const errLog = () => {
    try { return fs.readFileSync(path.join(root, 'log', 'err.log'), 'utf8').slice(-4000); } catch { return ''; }
  };

  // as `default` (with its password when users gives it one) unless told otherwise
  const query = (sql, { user = 'default', password = users[user] } = {}) => queryClickHouse(base(), sql, { user, password });

  const launch = async () => {
    stderr = '';
    exited = null;
    proc = spawn(bin, [`--config-file=${path.join(root, 'config.xml')}`], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const p = proc;
    liveClickHouses.add(p);
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
    exitPromise = new Promise((resolve) => {
      p.on('error', (e) => { liveClickHouses.delete(p); exited = { error: e }; resolve(exited); });
      p.on('exit', (code, signal) => { liveClickHouses.delete(p); exited = { code, signal }; resolve(exited); });
    });
    const until = Date.now() + CLICKHOUSE_START_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        throw new Error(`clickhouse-server exited at start: ${exited.error || `code ${exited.code} signal ${exited.signal}`}; ` +
          `stderr: ${stderr.slice(-2000)} err.log: ${errLog()}`);
      }
      try {
        if ((await query('SELECT 1')).trim() === '1') return;
      } catch { /* not answering yet */ }
      if (Date.now() > until) {
        p.kill('SIGKILL');
        await exitPromise;
        throw new Error(`clickhouse-server did not answer SELECT 1 within ${CLICKHOUSE_START_TIMEOUT_MS} ms; err.log: ${errLog()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const halt = async (signal) => {
    if (!proc || exited) return exited;
    proc.kill(signal);
    const res = await exitOrKill(proc, exitPromise, STOP_TIMEOUT_MS);
    if (res === null) {
      throw new Error(`clickhouse-server did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}`);
    }
    return res;
  };

  // A port found free may be taken before the server binds it: then try other ports.
  for (let attempt = 1; ; attempt++) {
    ports = { http: await freePort(), tcp: await freePort(), interserver: await freePort() };
    writeConfig(ports);
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(errLog())) {
        if (ownDir) removeDir(root);
        throw e;
      }
      fs.rmSync(path.join(root, 'log', 'err.log'), { force: true });
    }
  }

  return {
    dir: root,
    httpPort: ports.http,
    url: base(),
    storeUrl: (db) => `clickhouse://127.0.0.1:${ports.http}/${db}`,
    query,
    errLog,
    running: () => exited === null,
    /** SIGTERM and wait (bounded, then SIGKILL and fail). */
    stop: () => halt('SIGTERM'),
    /** SIGKILL and wait. */
    kill: () => halt('SIGKILL'),
    /** Runs it again on the same data and ports; resolves when it answers. */
    async start() {
      if (proc && !exited) throw new Error('clickhouse-server is already running');
      await launch();
    },
    /** Stops it and removes its directory when startClickHouse made it. */
    async destroy() {
      try {
        await halt('SIGTERM');
      } finally {
        if (ownDir) removeDir(root);
      }
    },
  };
}
