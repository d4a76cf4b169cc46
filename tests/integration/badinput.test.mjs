// badinput.test.mjs — hostile and malformed input on the OTLP/HTTP receiver and the JSON API.
// Every answer must be the one the OTLP spec asks for, the server must keep serving, and what
// was stored before must be intact (and nothing of a rejected request stored).
//
// The server runs with --max-body 1MiB so that the size limits are cheap to reach.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import {
  FIXTURES, assertHealthy, decodeExportResponsePb, decodeStatusPb, flattenOtlp, getJson, getOk,
  getTraceOtlp, gzip, listAllTraces, normAnyValue, otlpJsonTraceRequest, otlpPb, pb, post,
  randomHex, request, startServer, successProblem,
} from './lib.mjs';

const PB = 'application/x-protobuf';
const JSONCT = 'application/json';
const MAX_BODY = 1024 * 1024;

let server;
let baseline; // trace id -> ?format=otlp output, captured before the abuse
const accepted = new Set(); // trace ids of spans that were accepted along the way

const fixtureBody = (rel) => fs.readFileSync(path.join(FIXTURES, 'otlp', rel));

/** Expects a 400 with a google.rpc.Status body in the request's format. */
async function expect400(body, contentType, { urlPath = '/v1/traces', headers = {}, what = '' } = {}) {
  const res = await post(server.otlp, urlPath, body, { 'content-type': contentType, ...headers });
  const label = `${what} (${body.length} bytes ${contentType})`;
  assert.equal(res.status, 400, `${label}: status ${res.status}, body ${res.text().slice(0, 300)}`);
  const ct = (res.headers['content-type'] || '').split(';')[0].trim();
  assert.equal(ct, contentType, `${label}: error body content-type`);
  if (contentType === PB) {
    let st;
    assert.doesNotThrow(() => { st = decodeStatusPb(res.body); }, `${label}: body is not a protobuf google.rpc.Status`);
    assert.ok(st.message.length > 0, `${label}: google.rpc.Status without a message (${res.body.toString('hex')})`);
  } else {
    let j;
    assert.doesNotThrow(() => { j = res.json(); }, `${label}: body is not JSON: ${res.text().slice(0, 200)}`);
    assert.equal(typeof j.message, 'string', `${label}: no "message" in ${res.text().slice(0, 200)}`);
    assert.ok(j.message.length > 0, `${label}: empty message`);
    if ('code' in j) assert.equal(typeof j.code, 'number', `${label}: "code" must be a number`);
  }
  assertHealthy(server);
  return res;
}

async function expectStatus(status, method, urlPath, { body, headers = {}, base, what = '' } = {}) {
  const res = await request(method, base || server.otlp, urlPath, { body, headers });
  assert.equal(res.status, status, `${what || `${method} ${urlPath}`}: status ${res.status}, body ${res.text().slice(0, 300)}`);
  assertHealthy(server);
  return res;
}

function validSpanPb(name, traceIdHex, spanIdHex, extra = {}) {
  return otlpPb.span({ traceId: Buffer.from(traceIdHex, 'hex'), spanId: Buffer.from(spanIdHex, 'hex'), name, ...extra });
}

/** 10,000-deep AnyValue (array in array in ...), built inside out in O(n). */
function deepAnyValuePb(depth) {
  // innermost AnyValue: string "x"
  const inner = otlpPb.anyString('x');
  const headers = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    // ArrayValue { values(1): AnyValue } then AnyValue { array_value(5): ArrayValue }
    const h1 = Buffer.concat([pb.tag(1, 2), pb.varint(len)]);
    len += h1.length;
    const h2 = Buffer.concat([pb.tag(5, 2), pb.varint(len)]);
    len += h2.length;
    headers.push(h1, h2);
  }
  return Buffer.concat([...headers.reverse(), inner]);
}

function deepAnyValueJson(depth) {
  return `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`;
}

before(async () => {
  server = await startServer({ args: ['--max-body', '1MiB'] });
  // Something stored before the abuse: a fixture trace in protobuf and one in JSON.
  for (const [rel, ct] of [['otel/rag-proto/0001-traces.pb', PB], ['otel/single-chat-json/0004-traces.json', JSONCT]]) {
    const res = await post(server.otlp, '/v1/traces', fixtureBody(rel), { 'content-type': ct });
    const p = successProblem(res, ct);
    if (p) throw new Error(`baseline ${rel}: ${p}`);
  }
  const list = await listAllTraces(server);
  if (list.length !== 2) throw new Error(`baseline: expected 2 traces, got ${list.length}`);
  baseline = new Map();
  for (const t of list) baseline.set(t.trace_id, await getTraceOtlp(server, t.trace_id));
});

after(async () => {
  if (server) await server.stop();
});

describe('undecodable protobuf → 400', () => {
  const body = fixtureBody('otel/single-chat-proto/0004-traces.pb');

  test('the fixture body is a single top-level field (so every cut is invalid)', () => {
    const top = pb.decode(body);
    assert.equal(top.length, 1);
  });

  test('truncated protobuf', async () => {
    for (const cut of [1, 2, 3, 10, Math.floor(body.length / 2), body.length - 2, body.length - 1]) {
      await expect400(body.subarray(0, cut), PB, { what: `cut at ${cut}` });
    }
  });

  test('truncated varint and fixed64', async () => {
    const tid = randomHex(16);
    const full = otlpPb.traceRequest([validSpanPb('cut-fixed64', tid, randomHex(8))]);
    // the last bytes of the span are the end_time fixed64 (field 8) — chop inside it
    await expect400(full.subarray(0, full.length - 3), PB, { what: 'fixed64 cut' });
    await expect400(Buffer.from([0x0a, 0x80]), PB, { what: 'unterminated length varint' });
    await expect400(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), PB, { what: '11-byte varint' });
  });

  test('wrong wire types', async () => {
    const tid = randomHex(16);
    // resource_spans (1, LEN) sent as a varint
    await expect400(Buffer.from([0x08, 0x01]), PB, { what: 'resource_spans as varint' });
    // resource_spans as fixed64
    await expect400(Buffer.concat([Buffer.from([0x09]), Buffer.alloc(8)]), PB, { what: 'resource_spans as fixed64' });
    // span name (5, LEN) sent as a varint inside an otherwise valid request
    const badName = pb.cat(pb.len(1, Buffer.from(tid, 'hex')), pb.len(2, Buffer.from(randomHex(8), 'hex')), pb.uint(5, 7));
    await expect400(otlpPb.traceRequest([badName]), PB, { what: 'span name as varint' });
    // trace_id (1, LEN) as fixed64
    const badTid = pb.cat(pb.fixed64(1, 12345n), pb.len(2, Buffer.from(randomHex(8), 'hex')), pb.str(5, 'x'));
    await expect400(otlpPb.traceRequest([badTid]), PB, { what: 'trace_id as fixed64' });
    // start_time (7, fixed64) as LEN
    const badTime = pb.cat(pb.len(1, Buffer.from(tid, 'hex')), pb.len(2, Buffer.from(randomHex(8), 'hex')), pb.str(5, 'x'), pb.len(7, Buffer.alloc(8)));
    await expect400(otlpPb.traceRequest([badTime]), PB, { what: 'start_time as LEN' });
    // wire types 6 and 7 do not exist (unknown field number 99)
    await expect400(Buffer.concat([pb.varint((99 << 3) | 7), Buffer.alloc(4)]), PB, { what: 'wire type 7' });
    await expect400(Buffer.concat([pb.varint((99 << 3) | 6), Buffer.alloc(4)]), PB, { what: 'wire type 6' });
    // field number 0 is invalid
    await expect400(Buffer.from([0x02, 0x00]), PB, { what: 'field number 0' });
  });

  test('lengths past the end', async () => {
    // top-level length beyond the body
    await expect400(Buffer.from([0x0a, 0x64, 0x0a, 0x00]), PB, { what: 'outer length 100, 2 bytes follow' });
    // huge length (2^63)
    await expect400(Buffer.concat([Buffer.from([0x0a]), pb.varint(1n << 63n), Buffer.alloc(16)]), PB, { what: 'length 2^63' });
    // span name length past the end of the span but inside the body: the inner message
    // claims more than its enclosing message holds
    const tid = randomHex(16);
    const span = pb.cat(pb.len(1, Buffer.from(tid, 'hex')), pb.len(2, Buffer.from(randomHex(8), 'hex')),
      pb.tag(5, 2), pb.varint(40), Buffer.from('short'));
    const scopeSpans = pb.len(2, pb.len(2, span));
    const bad = pb.cat(pb.len(1, scopeSpans), Buffer.alloc(64, 0x41)); // trailing bytes after the ResourceSpans
    await expect400(bad, PB, { what: 'inner length past its parent' });
    const stored = await getJson(server.http, `/api/traces/${tid}`);
    assert.equal(stored.status, 404, 'nothing of a rejected request is stored');
  });

  test('10,000-deep nested AnyValue (protobuf)', async () => {
    const tid = randomHex(16);
    const deep = deepAnyValuePb(10_000);
    const span = otlpPb.span({ traceId: Buffer.from(tid, 'hex'), spanId: Buffer.from(randomHex(8), 'hex'), name: 'deep', attrs: [['deep', deep]] });
    const body = otlpPb.traceRequest([span]);
    await expect400(body, PB, { what: '10,000-deep AnyValue' });
    assert.equal((await getJson(server.http, `/api/traces/${tid}`)).status, 404);
  });

  test('invalid UTF-8 in a span name and in an attribute value', async () => {
    for (const bytes of [[0xc3, 0x28], [0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
      const tid = randomHex(16);
      const span = otlpPb.span({ traceId: Buffer.from(tid, 'hex'), spanId: Buffer.from(randomHex(8), 'hex'), nameBytes: Buffer.from(bytes) });
      await expect400(otlpPb.traceRequest([span]), PB, { what: `span name ${Buffer.from(bytes).toString('hex')}` });
      assert.equal((await getJson(server.http, `/api/traces/${tid}`)).status, 404);
    }
    const tid = randomHex(16);
    const span = otlpPb.span({ traceId: Buffer.from(tid, 'hex'), spanId: Buffer.from(randomHex(8), 'hex'), name: 'ok',
      attrs: [['bad', pb.len(1, Buffer.from([0x66, 0x80, 0x67]))]] });
    await expect400(otlpPb.traceRequest([span]), PB, { what: 'attribute value with a lone continuation byte' });
  });

  test('ids of the wrong length', async () => {
    await expect400(otlpPb.traceRequest([otlpPb.span({ traceId: Buffer.alloc(15, 1), spanId: Buffer.alloc(8, 1), name: 'x' })]), PB, { what: '15-byte trace_id' });
    await expect400(otlpPb.traceRequest([otlpPb.span({ traceId: Buffer.alloc(17, 1), spanId: Buffer.alloc(8, 1), name: 'x' })]), PB, { what: '17-byte trace_id' });
    await expect400(otlpPb.traceRequest([otlpPb.span({ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(9, 1), name: 'x' })]), PB, { what: '9-byte span_id' });
    await expect400(otlpPb.traceRequest([otlpPb.span({ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(4, 1), name: 'x' })]), PB, { what: '4-byte span_id' });
    await expect400(otlpPb.traceRequest([otlpPb.span({ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), parentSpanId: Buffer.alloc(7, 1), name: 'x' })]), PB, { what: '7-byte parent_span_id' });
  });

  test('truncated logs request', async () => {
    const logs = fixtureBody('otel/single-chat-proto/0001-logs.pb');
    await expect400(logs.subarray(0, logs.length - 1), PB, { urlPath: '/v1/logs', what: 'logs cut by one byte' });
  });
});

describe('undecodable JSON → 400', () => {
  const good = (over = {}) => otlpJsonTraceRequest([{ traceId: randomHex(16), spanId: randomHex(8), name: 'json-bad', ...over }]);

  test('not JSON / truncated JSON', async () => {
    await expect400(Buffer.from('{"resourceSpans":['), JSONCT, { what: 'truncated' });
    await expect400(Buffer.from('not json at all'), JSONCT, { what: 'garbage' });
    const body = fixtureBody('otel/single-chat-json/0004-traces.json');
    await expect400(body.subarray(0, body.length - 5), JSONCT, { what: 'fixture cut' });
    await expect400(Buffer.from('{"resourceSpans":"nope"}'), JSONCT, { what: 'resourceSpans is a string' });
  });

  test('invalid hex ids', async () => {
    await expect400(Buffer.from(JSON.stringify(good({ traceId: 'zz'.repeat(16) }))), JSONCT, { what: 'traceId zz..' });
    await expect400(Buffer.from(JSON.stringify(good({ spanId: '012345678abcdefg' }))), JSONCT, { what: 'spanId with g' });
    await expect400(Buffer.from(JSON.stringify(good({ traceId: `${randomHex(15)}-+` }))), JSONCT, { what: 'traceId with -+' });
    await expect400(Buffer.from(JSON.stringify(good({ parentSpanId: 'xyxyxyxyxyxyxyxy' }))), JSONCT, { what: 'parentSpanId non-hex' });
  });

  test('ids of the wrong length', async () => {
    await expect400(Buffer.from(JSON.stringify(good({ traceId: randomHex(15) }))), JSONCT, { what: '30-hex traceId' });
    await expect400(Buffer.from(JSON.stringify(good({ traceId: `${randomHex(16)}ab` }))), JSONCT, { what: '34-hex traceId' });
    await expect400(Buffer.from(JSON.stringify(good({ spanId: randomHex(9) }))), JSONCT, { what: '18-hex spanId' });
    await expect400(Buffer.from(JSON.stringify(good({ spanId: `${randomHex(7)}a` }))), JSONCT, { what: '15-hex spanId' });
  });

  test('10,000-deep nested AnyValue (JSON)', async () => {
    const tid = randomHex(16);
    const req = good({ traceId: tid });
    const text = JSON.stringify(req).replace('"attributes":[]', `"attributes":[{"key":"deep","value":${deepAnyValueJson(10_000)}}]`);
    assert.ok(text.includes('"deep"'));
    await expect400(Buffer.from(text), JSONCT, { what: '10,000-deep arrayValue' });
    const kv = `${'{"kvlistValue":{"values":[{"key":"k","value":'.repeat(10_000)}{"stringValue":"x"}${'}]}}'.repeat(10_000)}`;
    const text2 = JSON.stringify(good({ traceId: tid })).replace('"attributes":[]', `"attributes":[{"key":"deep","value":${kv}}]`);
    await expect400(Buffer.from(text2), JSONCT, { what: '10,000-deep kvlistValue' });
    // deep nesting in an unknown field
    const text3 = `{"resourceSpans":[],"unknownField":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    await expect400(Buffer.from(text3), JSONCT, { what: '10,000-deep unknown field' });
    assert.equal((await getJson(server.http, `/api/traces/${tid}`)).status, 404);
  });

  test('invalid UTF-8 in a span name', async () => {
    const tid = randomHex(16);
    const text = JSON.stringify(good({ traceId: tid, name: '@@NAME@@' }));
    const [a, b] = text.split('@@NAME@@');
    await expect400(Buffer.concat([Buffer.from(a), Buffer.from([0x61, 0xff, 0x62]), Buffer.from(b)]), JSONCT, { what: 'raw 0xff in name' });
    await expect400(Buffer.concat([Buffer.from(a), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(b)]), JSONCT, { what: 'encoded surrogate in name' });
    assert.equal((await getJson(server.http, `/api/traces/${tid}`)).status, 404);
  });
});

describe('empty bodies are valid empty requests', () => {
  for (const [urlPath, ct] of [['/v1/traces', PB], ['/v1/traces', JSONCT], ['/v1/logs', PB], ['/v1/logs', JSONCT], ['/v1/metrics', PB]]) {
    test(`${urlPath} ${ct}`, async () => {
      const res = await post(server.otlp, urlPath, Buffer.alloc(0), { 'content-type': ct });
      assert.equal(successProblem(res, ct), null);
    });
  }
  test('{} as JSON', async () => {
    const res = await post(server.otlp, '/v1/traces', Buffer.from('{}'), { 'content-type': JSONCT });
    assert.equal(successProblem(res, JSONCT), null);
  });
  test('unknown JSON fields are ignored', async () => {
    const tid = randomHex(16);
    const req = otlpJsonTraceRequest([{ traceId: tid, spanId: randomHex(8), name: 'unknown-fields' }]);
    req.somethingNew = { a: [1, 2, 3] };
    req.resourceSpans[0].scopeSpans[0].spans[0].futureField = 'x';
    const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(req)), { 'content-type': JSONCT });
    assert.equal(successProblem(res, JSONCT), null);
    accepted.add(tid);
    const t = await getOk(server.http, `/api/traces/${tid}`);
    assert.equal(t.spans[0].name, 'unknown-fields');
  });
});

describe('gzip', () => {
  test('gzip-compressed protobuf and JSON are accepted and stored', async () => {
    const tid1 = randomHex(16);
    const body1 = otlpPb.traceRequest([validSpanPb('gzip-pb', tid1, randomHex(8))]);
    const r1 = await post(server.otlp, '/v1/traces', gzip(body1), { 'content-type': PB, 'content-encoding': 'gzip' });
    assert.equal(successProblem(r1, PB), null);
    accepted.add(tid1);
    const tid2 = randomHex(16);
    const body2 = Buffer.from(JSON.stringify(otlpJsonTraceRequest([{ traceId: tid2, spanId: randomHex(8), name: 'gzip-json' }])));
    const r2 = await post(server.otlp, '/v1/traces', gzip(body2), { 'content-type': JSONCT, 'content-encoding': 'gzip' });
    assert.equal(successProblem(r2, JSONCT), null);
    accepted.add(tid2);
    assert.equal((await getOk(server.http, `/api/traces/${tid1}`)).spans[0].name, 'gzip-pb');
    assert.equal((await getOk(server.http, `/api/traces/${tid2}`)).spans[0].name, 'gzip-json');
  });

  test('corrupt gzip → 400', async () => {
    await expect400(Buffer.from('this is not gzip at all'), PB, { headers: { 'content-encoding': 'gzip' }, what: 'not gzip' });
    const z = gzip(fixtureBody('otel/single-chat-proto/0004-traces.pb'));
    await expect400(z.subarray(0, Math.floor(z.length / 2)), PB, { headers: { 'content-encoding': 'gzip' }, what: 'truncated gzip' });
    const flipped = Buffer.from(z);
    flipped[flipped.length - 6] ^= 0xff; // CRC32 in the trailer
    await expect400(flipped, PB, { headers: { 'content-encoding': 'gzip' }, what: 'gzip with a bad CRC' });
    const mangled = Buffer.from(z);
    for (let i = 12; i < mangled.length - 8; i += 3) mangled[i] ^= 0x5a;
    await expect400(mangled, JSONCT, { headers: { 'content-encoding': 'gzip' }, what: 'mangled deflate data' });
  });

  test('gzip bomb → 413', async () => {
    // 128 MiB of zeros through a streaming gzip: about 128 KiB on the wire.
    const bomb = await new Promise((resolve, reject) => {
      const gz = zlib.createGzip({ level: 9 });
      const out = [];
      gz.on('data', (c) => out.push(c));
      gz.on('end', () => resolve(Buffer.concat(out)));
      gz.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024);
      let left = 128;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!gz.write(chunk)) { gz.once('drain', pump); return; }
        }
        gz.end();
      };
      pump();
    });
    assert.ok(bomb.length < MAX_BODY, `bomb is ${bomb.length} bytes on the wire`);
    const started = Date.now();
    const res = await post(server.otlp, '/v1/traces', bomb, { 'content-type': PB, 'content-encoding': 'gzip' });
    assert.equal(res.status, 413, `gzip bomb: ${res.status} ${res.text().slice(0, 200)}`);
    assert.ok(Date.now() - started < 20_000, 'the bomb was stopped quickly');
    assertHealthy(server);
    // just over the limit after decompression
    const over = gzip(Buffer.alloc(MAX_BODY + 1));
    const r2 = await post(server.otlp, '/v1/traces', over, { 'content-type': JSONCT, 'content-encoding': 'gzip' });
    assert.equal(r2.status, 413, `1 MiB + 1 after decompression: ${r2.status}`);
  });
});

describe('limits, content types, methods, paths', () => {
  test('body over the limit → 413 (Content-Length and chunked)', async () => {
    const big = Buffer.alloc(MAX_BODY + 1, 0x0a);
    const r1 = await post(server.otlp, '/v1/traces', big, { 'content-type': PB });
    assert.equal(r1.status, 413, `Content-Length ${big.length}: ${r1.status}`);
    assertHealthy(server);
    const r2 = await post(server.otlp, '/v1/traces', Buffer.alloc(3 * MAX_BODY, 0x20), { 'content-type': JSONCT }, { chunked: true });
    assert.equal(r2.status, 413, `chunked 3 MiB: ${r2.status}`);
    assertHealthy(server);
  });

  test('a body just under the limit is accepted', async () => {
    // a valid request padded to (almost) the limit with a large attribute
    const tid = randomHex(16);
    const pad = 'p'.repeat(MAX_BODY - 2048);
    const body = otlpPb.traceRequest([validSpanPb('near-limit', tid, randomHex(8), { attrs: [['pad', otlpPb.anyString(pad)]] })]);
    assert.ok(body.length < MAX_BODY);
    const res = await post(server.otlp, '/v1/traces', body, { 'content-type': PB });
    assert.equal(successProblem(res, PB), null);
    accepted.add(tid);
    const t = await getOk(server.http, `/api/traces/${tid}`);
    assert.equal(t.spans[0].attributes.pad.length, pad.length);
  });

  test('other content types → 415', async () => {
    const body = fixtureBody('otel/single-chat-proto/0004-traces.pb');
    for (const ct of ['text/plain', 'application/xml', 'application/grpc', 'application/octet-stream']) {
      await expectStatus(415, 'POST', '/v1/traces', { body, headers: { 'content-type': ct }, what: `content-type ${ct}` });
    }
    await expectStatus(415, 'POST', '/v1/traces', { body, headers: {}, what: 'no content-type' });
    await expectStatus(415, 'POST', '/v1/traces', { body, headers: { 'content-type': PB, 'content-encoding': 'br' }, what: 'content-encoding br' });
  });

  test('content type with parameters is accepted', async () => {
    const tid = randomHex(16);
    const body = Buffer.from(JSON.stringify(otlpJsonTraceRequest([{ traceId: tid, spanId: randomHex(8), name: 'charset' }])));
    const res = await post(server.otlp, '/v1/traces', body, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(res.status, 200, `application/json; charset=utf-8: ${res.status} ${res.text().slice(0, 200)}`);
    accepted.add(tid);
  });

  test('wrong method → 405', async () => {
    await expectStatus(405, 'GET', '/v1/traces');
    await expectStatus(405, 'PUT', '/v1/logs', { body: Buffer.alloc(0), headers: { 'content-type': PB } });
    await expectStatus(405, 'DELETE', '/v1/metrics');
  });

  test('unknown path → 404', async () => {
    await expectStatus(404, 'POST', '/nope', { body: Buffer.alloc(0), headers: { 'content-type': PB } });
    await expectStatus(404, 'GET', '/nope');
    await expectStatus(404, 'POST', '/v1/trace', { body: Buffer.alloc(0), headers: { 'content-type': PB } });
    await expectStatus(404, 'POST', '/v1/traces/extra', { body: Buffer.alloc(0), headers: { 'content-type': PB } });
  });

  test('/v1/metrics answers 200 and drops', async () => {
    for (const rel of ['otel/single-chat-proto/0005-metrics.pb', 'otel/single-chat-json/0005-metrics.json']) {
      const ct = rel.endsWith('.pb') ? PB : JSONCT;
      const res = await post(server.otlp, '/v1/metrics', fixtureBody(rel), { 'content-type': ct });
      assert.equal(successProblem(res, ct), null, rel);
    }
  });
});

describe('misbehaving clients', () => {
  /** Raw bytes on a fresh connection; resolves what came back before the server closed or
   * ms passed. */
  function raw(bytes, { ms = 3000, destroyAfterWrite = false } = {}) {
    const url = new URL(server.otlp);
    return new Promise((resolve, reject) => {
      const sock = net.connect(Number(url.port), url.hostname);
      const chunks = [];
      const timer = setTimeout(() => { sock.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }, ms);
      sock.on('connect', () => {
        sock.write(bytes);
        if (destroyAfterWrite) { clearTimeout(timer); setTimeout(() => { sock.destroy(); resolve(''); }, 50); }
      });
      sock.on('data', (d) => chunks.push(d));
      sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
      sock.on('error', (e) => { clearTimeout(timer); if (e.code === 'ECONNRESET') resolve(Buffer.concat(chunks).toString('latin1')); else reject(e); });
    });
  }

  test('a garbage request line gets an error or a close, never a crash', async () => {
    const got = await raw('GARBAGE\r\n\r\n');
    assert.ok(got === '' || /^HTTP\/1\.[01] 4\d\d/.test(got), `answer ${JSON.stringify(got.slice(0, 100))}`);
    assertHealthy(server);
  });

  test('a client that disconnects in the middle of a body', async () => {
    const tid = randomHex(16);
    const body = otlpPb.traceRequest([validSpanPb('never-complete', tid, randomHex(8))]);
    const head = `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${PB}\r\nContent-Length: ${body.length + 100}\r\n\r\n`;
    for (let i = 0; i < 20; i++) await raw(Buffer.concat([Buffer.from(head), body]), { destroyAfterWrite: true });
    // a gzip stream cut mid-way, then the connection closed
    const z = gzip(body);
    const headGz = `POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${PB}\r\nContent-Encoding: gzip\r\nContent-Length: ${z.length}\r\n\r\n`;
    await raw(Buffer.concat([Buffer.from(headGz), z.subarray(0, 10)]), { destroyAfterWrite: true });
    await new Promise((r) => setTimeout(r, 200));
    assertHealthy(server);
    assert.equal((await getJson(server.http, `/api/traces/${tid}`)).status, 404, 'an incomplete request stores nothing');
  });

  test('a body shorter than its Content-Length (client waits) does not block other clients', async () => {
    const url = new URL(server.otlp);
    const sock = net.connect(Number(url.port), url.hostname);
    await new Promise((r) => sock.on('connect', r));
    sock.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${PB}\r\nContent-Length: 1000\r\n\r\nabc`);
    try {
      const tid = randomHex(16);
      const res = await post(server.otlp, '/v1/traces', otlpPb.traceRequest([validSpanPb('while-stalled', tid, randomHex(8))]), { 'content-type': PB }, { timeoutMs: 10_000 });
      assert.equal(successProblem(res, PB), null);
      accepted.add(tid);
    } finally {
      sock.destroy();
    }
  });

  test('50 concurrent requests are all stored', async () => {
    const ids = Array.from({ length: 50 }, () => randomHex(16));
    const results = await Promise.all(ids.map((tid, i) => {
      const isJson = i % 2 === 1;
      const body = isJson
        ? Buffer.from(JSON.stringify(otlpJsonTraceRequest([{ traceId: tid, spanId: randomHex(8), name: `concurrent-${i}` }])))
        : otlpPb.traceRequest([validSpanPb(`concurrent-${i}`, tid, randomHex(8))]);
      return post(server.otlp, '/v1/traces', body, { 'content-type': isJson ? JSONCT : PB });
    }));
    results.forEach((res, i) => assert.equal(successProblem(res, i % 2 ? JSONCT : PB), null, `request ${i}`));
    for (const [i, tid] of ids.entries()) {
      accepted.add(tid);
      const t = await getOk(server.http, `/api/traces/${tid}`);
      assert.equal(t.spans[0].name, `concurrent-${i}`);
    }
  });
});

describe('partial success', () => {
  test('protobuf: one good span + one with an all-zero trace id', async () => {
    const tid = randomHex(16);
    const good = validSpanPb('partial-good', tid, randomHex(8));
    const bad = otlpPb.span({ traceId: Buffer.alloc(16), spanId: Buffer.from(randomHex(8), 'hex'), name: 'partial-bad' });
    const res = await post(server.otlp, '/v1/traces', otlpPb.traceRequest([good, bad]), { 'content-type': PB });
    assert.equal(res.status, 200, `status ${res.status}`);
    assert.equal((res.headers['content-type'] || '').split(';')[0], PB);
    const r = decodeExportResponsePb(res.body);
    assert.ok(r.partialSuccess, `no partial_success in ${res.body.toString('hex')}`);
    assert.equal(r.partialSuccess.rejected, 1n);
    assert.ok(r.partialSuccess.errorMessage.length > 0, 'error_message set');
    accepted.add(tid);
    const t = await getOk(server.http, `/api/traces/${tid}`);
    assert.deepEqual(t.spans.map((s) => s.name), ['partial-good']);
    assert.equal((await getJson(server.http, `/api/traces/${'0'.repeat(32)}`)).status, 404);
  });

  test('JSON: one good span + one with an all-zero span id', async () => {
    const tid = randomHex(16);
    const req = otlpJsonTraceRequest([
      { traceId: tid, spanId: randomHex(8), name: 'partial-good-json' },
      { traceId: tid, spanId: '0'.repeat(16), name: 'partial-bad-json' },
    ]);
    const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(req)), { 'content-type': JSONCT });
    assert.equal(res.status, 200);
    const j = res.json();
    assert.equal(j.partialSuccess?.rejectedSpans, '1', `partialSuccess ${res.text()}`);
    assert.equal(typeof j.partialSuccess.errorMessage, 'string');
    assert.ok(j.partialSuccess.errorMessage.length > 0);
    accepted.add(tid);
    const t = await getOk(server.http, `/api/traces/${tid}`);
    assert.deepEqual(t.spans.map((s) => s.name), ['partial-good-json']);
  });

  test('JSON: every span rejected', async () => {
    const req = otlpJsonTraceRequest([
      { traceId: '0'.repeat(32), spanId: randomHex(8), name: 'zero-1' },
      { traceId: '0'.repeat(32), spanId: randomHex(8), name: 'zero-2' },
    ]);
    const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(req)), { 'content-type': JSONCT });
    assert.equal(res.status, 200);
    assert.equal(res.json().partialSuccess?.rejectedSpans, '2', res.text());
  });
});

describe('edge values round-trip exactly (?format=otlp)', () => {
  // [key, protobuf AnyValue bytes, OTLP/JSON AnyValue sent, OTLP/JSON AnyValue expected back]
  const deepPb = (d) => (d === 0 ? otlpPb.anyString('bottom') : otlpPb.anyArray([deepPb(d - 1)]));
  const deepJson = (d) => (d === 0 ? { stringValue: 'bottom' } : { arrayValue: { values: [deepJson(d - 1)] } });
  const cases = [
    ['i.max', otlpPb.anyInt(9223372036854775807n), { intValue: '9223372036854775807' }, { intValue: '9223372036854775807' }],
    ['i.min', otlpPb.anyInt(-9223372036854775808n), { intValue: '-9223372036854775808' }, { intValue: '-9223372036854775808' }],
    ['i.neg', otlpPb.anyInt(-42), { intValue: -42 }, { intValue: '-42' }],
    ['i.zero', otlpPb.anyInt(0), { intValue: '0' }, { intValue: '0' }],
    ['d.tenth', otlpPb.anyDouble(0.1), { doubleValue: 0.1 }, { doubleValue: 0.1 }],
    ['d.big', otlpPb.anyDouble(1e308), { doubleValue: 1e308 }, { doubleValue: 1e308 }],
    ['d.tiny', otlpPb.anyDouble(5e-324), { doubleValue: 5e-324 }, { doubleValue: 5e-324 }],
    ['d.whole', otlpPb.anyDouble(3), { doubleValue: 3 }, { doubleValue: 3 }],
    ['d.zero', otlpPb.anyDouble(0), { doubleValue: 0 }, { doubleValue: 0 }],
    ['b.true', otlpPb.anyBool(true), { boolValue: true }, { boolValue: true }],
    ['b.false', otlpPb.anyBool(false), { boolValue: false }, { boolValue: false }],
    ['s.empty', otlpPb.anyString(''), { stringValue: '' }, { stringValue: '' }],
    ['s.unicode', otlpPb.anyString('🚀 naïve 日本 \u2028'), { stringValue: '🚀 naïve 日本 \u2028' }, { stringValue: '🚀 naïve 日本 \u2028' }],
    ['s.control', otlpPb.anyString('a\u0000b\n\t"\\\u001f'), { stringValue: 'a\u0000b\n\t"\\\u001f' }, { stringValue: 'a\u0000b\n\t"\\\u001f' }],
    ['bytes', otlpPb.anyBytes(Buffer.from([0, 1, 2, 0xff])), { bytesValue: 'AAEC/w==' }, { bytesValue: 'AAEC/w==' }],
    ['arr.empty', otlpPb.anyArray([]), { arrayValue: {} }, { arrayValue: { values: [] } }],
    ['kv.empty', otlpPb.anyKvlist([]), { kvlistValue: {} }, { kvlistValue: { values: [] } }],
    ['arr.mixed',
      otlpPb.anyArray([otlpPb.anyString('x'), otlpPb.anyInt(7), otlpPb.anyDouble(1.5), otlpPb.anyBool(false), otlpPb.anyArray([otlpPb.anyInt(1)])]),
      { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '7' }, { doubleValue: 1.5 }, { boolValue: false }, { arrayValue: { values: [{ intValue: 1 }] } }] } },
      { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '7' }, { doubleValue: 1.5 }, { boolValue: false }, { arrayValue: { values: [{ intValue: '1' }] } }] } }],
    ['kv.nested',
      otlpPb.anyKvlist([['a', otlpPb.anyInt(1)], ['b', otlpPb.anyKvlist([['c', otlpPb.anyArray([otlpPb.anyBool(true)])]])]]),
      { kvlistValue: { values: [{ key: 'a', value: { intValue: '1' } }, { key: 'b', value: { kvlistValue: { values: [{ key: 'c', value: { arrayValue: { values: [{ boolValue: true }] } } }] } } }] } },
      { kvlistValue: { values: [{ key: 'a', value: { intValue: '1' } }, { key: 'b', value: { kvlistValue: { values: [{ key: 'c', value: { arrayValue: { values: [{ boolValue: true }] } } }] } } }] } }],
    ['deep32', deepPb(32), deepJson(32), deepJson(32)],
  ];
  const nonFinite = [
    ['d.nan', otlpPb.anyDouble(NaN), { doubleValue: 'NaN' }],
    ['d.inf', otlpPb.anyDouble(Infinity), { doubleValue: 'Infinity' }],
    ['d.ninf', otlpPb.anyDouble(-Infinity), { doubleValue: '-Infinity' }],
  ];
  const many = Array.from({ length: 1000 }, (_, i) => [`many.${i}`, otlpPb.anyInt(i), { intValue: String(i) }, { intValue: String(i) }]);

  function checkAttrs(kvs, want, where) {
    const got = new Map((kvs || []).map((kv) => [kv.key, kv.value]));
    assert.equal(got.size, (kvs || []).length, `${where}: duplicate keys`);
    assert.deepEqual([...got.keys()].sort(), want.map((w) => w[0]).sort(), `${where}: keys`);
    for (const [k, , , back] of want) assert.deepEqual(normAnyValue(got.get(k)), normAnyValue(back), `${where}: ${k}`);
  }

  test('protobuf', async () => {
    const tid = randomHex(16);
    const sid = randomHex(8);
    const linkTid = randomHex(16);
    const linkSid = randomHex(8);
    const span = otlpPb.span({
      traceId: Buffer.from(tid, 'hex'), spanId: Buffer.from(sid, 'hex'), name: 'edge 🚀 values', kind: 5,
      start: 1_700_000_000_123_456_789n, end: 18_446_744_073_709_551_615n,
      attrs: [...cases, ...nonFinite, ...many].map(([k, v]) => [k, v]),
      traceState: 'vendor=abc,other=1', flags: 0x301, droppedAttributesCount: 7, droppedEventsCount: 2, droppedLinksCount: 1,
      events: [{ time: 1_700_000_000_200_000_000n, name: 'ev', attrs: [['e.i', otlpPb.anyInt(-1)]] }],
      links: [{ traceId: Buffer.from(linkTid, 'hex'), spanId: Buffer.from(linkSid, 'hex'), traceState: 'k=v', attrs: [['l.b', otlpPb.anyBool(true)]], flags: 1 }],
      status: { code: 1, message: 'fine' },
    });
    const body = otlpPb.traceRequest([span], { service: 'edge-pb', scopeVersion: '0.0.1-rc.1', scopeAttrs: [['scope.i', otlpPb.anyInt(5)]], resourceAttrs: [['res.arr', otlpPb.anyArray([otlpPb.anyString('r')])]] });
    assert.equal(successProblem(await post(server.otlp, '/v1/traces', body, { 'content-type': PB }), PB), null);
    accepted.add(tid);
    const r = await getJson(server.http, `/api/traces/${tid}?format=otlp`);
    assert.equal(r.status, 200);
    assert.ok(r.json, `?format=otlp is not valid JSON: ${r.text.slice(0, 300)}`);
    const nat = await getJson(server.http, `/api/traces/${tid}`);
    assert.equal(nat.status, 200);
    assert.ok(nat.json, `native view is not valid JSON: ${nat.text.slice(0, 300)}`);
    const [f] = flattenOtlp(r.json);
    const sp = f.span;
    checkAttrs(sp.attributes, [...cases, ...many, ...nonFinite.map(([k, v, back]) => [k, v, back, back])], 'span');
    assert.equal(sp.name, 'edge 🚀 values');
    assert.equal(sp.kind, 5);
    assert.equal(String(sp.startTimeUnixNano), '1700000000123456789');
    assert.equal(String(sp.endTimeUnixNano), '18446744073709551615');
    assert.equal(sp.traceState, 'vendor=abc,other=1');
    assert.equal(sp.flags, 0x301);
    assert.equal(sp.droppedAttributesCount, 7);
    assert.equal(sp.droppedEventsCount, 2);
    assert.equal(sp.droppedLinksCount, 1);
    assert.deepEqual(sp.status, { code: 1, message: 'fine' });
    assert.equal(sp.events.length, 1);
    assert.equal(String(sp.events[0].timeUnixNano), '1700000000200000000');
    assert.deepEqual(sp.events[0].attributes, [{ key: 'e.i', value: { intValue: '-1' } }]);
    assert.equal(sp.links.length, 1);
    assert.equal(sp.links[0].traceId, linkTid);
    assert.equal(sp.links[0].spanId, linkSid);
    assert.equal(sp.links[0].traceState, 'k=v');
    assert.equal(sp.links[0].flags, 1);
    assert.deepEqual(sp.links[0].attributes, [{ key: 'l.b', value: { boolValue: true } }]);
    assert.deepEqual(f.scope.attributes, [{ key: 'scope.i', value: { intValue: '5' } }]);
    assert.equal(f.scope.version, '0.0.1-rc.1');
    assert.deepEqual(normAnyValue(f.resource.attributes.find((kv) => kv.key === 'res.arr').value), { arrayValue: { values: [{ stringValue: 'r' }] } });
    // the native view keeps the string with its NUL and the exact big integers as far as JSON can
    const ns = nat.json.spans[0];
    assert.equal(ns.attributes['s.control'], 'a\u0000b\n\t"\\\u001f');
    assert.equal(ns.attributes['s.unicode'], '🚀 naïve 日本 \u2028');
    assert.equal(ns.status.code, 'OK');
    assert.equal(ns.kind, 'CONSUMER');
  });

  test('JSON (upper-case hex ids, ints as strings and numbers)', async () => {
    const tid = randomHex(16);
    const sid = randomHex(8);
    const req = otlpJsonTraceRequest([{
      traceId: tid.toUpperCase(), spanId: sid.toUpperCase(), name: 'edge json',
      attributes: [...cases, ...many].map(([key, , sent]) => ({ key, value: sent })),
    }], { service: 'edge-json' });
    const res = await post(server.otlp, '/v1/traces', Buffer.from(JSON.stringify(req)), { 'content-type': JSONCT });
    assert.equal(successProblem(res, JSONCT), null);
    accepted.add(tid);
    const r = await getJson(server.http, `/api/traces/${tid}?format=otlp`);
    assert.equal(r.status, 200, 'stored under the lower-case id');
    const [f] = flattenOtlp(r.json);
    assert.equal(f.span.traceId, tid);
    assert.equal(f.span.spanId, sid);
    checkAttrs(f.span.attributes, [...cases, ...many], 'span');
  });
});

describe('KeyValues without a key', () => {
  // proto3: an absent key is the empty string. The OTel spec wants non-empty keys, so a
  // server may refuse the request (400) or keep it; it must not misbehave reading it back.
  async function check(body, ct, tid) {
    const res = await post(server.otlp, '/v1/traces', body, { 'content-type': ct });
    assert.ok(res.status === 200 || res.status === 400, `status ${res.status} ${res.text().slice(0, 200)}`);
    assertHealthy(server);
    if (res.status !== 200) return;
    accepted.add(tid);
    const nat = await getJson(server.http, `/api/traces/${tid}`);
    assert.equal(nat.status, 200);
    assert.ok(nat.json, 'native view is valid JSON');
    const otlp = await getJson(server.http, `/api/traces/${tid}?format=otlp`);
    assert.equal(otlp.status, 200);
    assert.ok(otlp.json, '?format=otlp is valid JSON');
    const [f] = flattenOtlp(otlp.json);
    assert.ok(f.span.attributes.some((kv) => (kv.key ?? '') === '' && kv.value?.stringValue === 'no key'), `keyless attribute ${JSON.stringify(f.span.attributes)}`);
    assertHealthy(server);
  }

  test('JSON attribute without "key" (span, event, resource)', async () => {
    const tid = randomHex(16);
    const req = otlpJsonTraceRequest([{ traceId: tid, spanId: randomHex(8), name: 'keyless', attributes: [{ value: { stringValue: 'no key' } }, { key: 'k', value: { stringValue: 'v' } }] }]);
    req.resourceSpans[0].resource.attributes.push({ value: { intValue: '1' } });
    req.resourceSpans[0].scopeSpans[0].spans[0].events = [{ timeUnixNano: '1700000000100000000', name: 'e', attributes: [{ value: { boolValue: true } }] }];
    await check(Buffer.from(JSON.stringify(req)), JSONCT, tid);
  });

  test('protobuf KeyValue without field 1', async () => {
    const tid = randomHex(16);
    const keyless = pb.len(9, pb.len(2, otlpPb.anyString('no key')));
    const span = Buffer.concat([validSpanPb('keyless', tid, randomHex(8)), keyless]);
    await check(otlpPb.traceRequest([span]), PB, tid);
  });
});

describe('malformed JSON API requests', () => {
  const bad = ['xyz', '0123456789abcdef0123456789abcde', '0123456789abcdef0123456789abcdef0', 'g123456789abcdef0123456789abcdef', '0123456789abcdef-123456789abcdef'];
  for (const id of bad) {
    test(`GET /api/traces/${id} → 400`, async () => {
      const r = await getJson(server.http, `/api/traces/${id}`);
      assert.equal(r.status, 400, `${id}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(typeof r.json?.error, 'string', `error body ${r.text.slice(0, 200)}`);
    });
  }
  test('unknown trace id → 404', async () => {
    const r = await getJson(server.http, '/api/traces/0123456789abcdef0123456789abcdef');
    assert.equal(r.status, 404);
    const r2 = await getJson(server.http, '/api/traces/0123456789abcdef0123456789abcdef?format=otlp');
    assert.equal(r2.status, 404);
  });
  for (const q of ['limit=abc', 'limit=0', 'limit=-5', 'limit=1.5', 'min_duration=abc', 'max_duration=-1x', 'start=yesterday', 'end=abc']) {
    test(`GET /api/traces?${q} → 400`, async () => {
      const r = await getJson(server.http, `/api/traces?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(typeof r.json?.error, 'string', `error body ${r.text.slice(0, 200)}`);
    });
  }
  test('unknown API path → 404, wrong method → 405', async () => {
    assert.equal((await getJson(server.http, '/api/nope')).status, 404);
    assert.equal((await request('POST', server.http, '/api/traces', { body: '{}', headers: { 'content-type': JSONCT } })).status, 405);
    assert.equal((await request('DELETE', server.http, '/api/services')).status, 405);
  });
});

describe('afterwards', () => {
  test('the server still serves and the stored data is intact', async () => {
    assertHealthy(server);
    const svc = await getOk(server.http, '/api/services');
    assert.ok(svc.services.includes('fixture-otel'));
    for (const [id, otlp] of baseline) {
      assert.deepEqual(await getTraceOtlp(server, id), otlp, `trace ${id} changed`);
    }
    const list = await listAllTraces(server);
    const want = [...baseline.keys(), ...accepted].sort();
    assert.deepEqual(list.map((t) => t.trace_id).sort(), want, 'exactly the baseline and the accepted traces are stored');
    // still ingests
    const tid = randomHex(16);
    const res = await post(server.otlp, '/v1/traces', otlpPb.traceRequest([validSpanPb('after-all', tid, randomHex(8))]), { 'content-type': PB });
    assert.equal(successProblem(res, PB), null);
    assert.equal((await getOk(server.http, `/api/traces/${tid}`)).spans[0].name, 'after-all');
    accepted.add(tid);
  });

  test('SIGTERM, restart on the same data directory: everything is still there', async () => {
    const before_ = new Map();
    for (const t of await listAllTraces(server)) before_.set(t.trace_id, await getTraceOtlp(server, t.trace_id));
    const dataDir = server.dataDir;
    try {
      await server.stop({ keep: true });
      server = await startServer({ dataDir, args: ['--max-body', '1MiB'] });
      const list = await listAllTraces(server);
      assert.deepEqual(list.map((t) => t.trace_id).sort(), [...before_.keys()].sort());
      for (const [id, otlp] of before_) assert.deepEqual(await getTraceOtlp(server, id), otlp, `trace ${id} after restart`);
    } finally {
      try {
        if (server) await server.stop();
      } finally {
        server = null;
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });
});
