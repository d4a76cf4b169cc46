// ui.test.mjs — the web UI as `llmtrace serve` serves it on the --http port (no browser:
// the browser tests live in tests/ui). The app's shell at / and at any /ui/... page path
// (deep links), every file of src/ui/ byte for byte with its type, the security headers,
// no token asked for the files while the API still wants one, HEAD, ETag and 304, and
// paths that must not be served.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { request, startServer } from './lib.mjs';

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/ui');
const TOKEN = 'ui-test-token-5b1e';

// The policy the UI is written for, directive by directive.
const CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Every file the build embeds: src/ui/ recursively, without the C sources and hidden files. */
function uiFiles(dir = UI_DIR, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name.endsWith('~') || /\.[ch]$/.test(e.name)) continue;
    const sub = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...uiFiles(dir, sub));
    else out.push(sub);
  }
  return out.sort();
}

function parseCsp(header) {
  const out = {};
  for (const part of String(header).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = sources.sort();
  }
  return out;
}

function assertUiHeaders(r, what) {
  assert.deepEqual(parseCsp(r.headers['content-security-policy']),
    Object.fromEntries(Object.entries(CSP).map(([k, v]) => [k, [...v].sort()])), `${what}: CSP`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
}

/** A request whose path is sent exactly as given (no URL normalisation of "..", "//"). */
function rawGet(baseUrl, rawPath, headers = {}) {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'GET', path: rawPath, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: GET ${rawPath}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('the web UI on the API port, with an API token set', () => {
  let server;
  let index;
  before(async () => {
    server = await startServer({ args: ['--api-token', TOKEN] });
    index = fs.readFileSync(path.join(UI_DIR, 'index.html'));
  });
  after(async () => { if (server) await server.stop(); });

  test('/ and every page path answer the app shell, without a token', async () => {
    const id = '4bf92f3577b34da6a3ce929d0e0e4736';
    const pages = ['/', '/ui', '/ui/', '/ui/traces', '/ui/traces?service=a&range=1h', `/ui/trace/${id}`,
      `/ui/trace/${id}/graph`, `/ui/compare/${id}/${id}`, '/ui/dashboard', '/ui/live', '/ui/no/such/page'];
    let etag = null;
    for (const p of pages) {
      const r = await request('GET', server.http, p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', p);
      assert.ok(r.body.equals(index), `${p}: the body is src/ui/index.html`);
      assertUiHeaders(r, p);
      assert.equal(r.headers['cache-control'], 'no-cache', p);
      assert.match(r.headers.etag, /^"[0-9a-f]{20}"$/, `${p}: a strong ETag`);
      etag ??= r.headers.etag;
      assert.equal(r.headers.etag, etag, `${p}: the same document, the same ETag`);
    }
    assert.match(index.toString(), /<main id="app"/);
  });

  test('every file of src/ui/ is served as it is on disk, with its type', async () => {
    const files = uiFiles();
    for (const want of ['index.html', 'app.js', 'dom.js', 'api.js', 'style.css', 'pages/traces.js']) {
      assert.ok(files.includes(want), `src/ui/${want} exists`);
    }
    const etags = new Map();
    for (const f of files) {
      const r = await request('GET', server.http, `/ui/${f}`);
      assert.equal(r.status, 200, f);
      const type = TYPES[path.extname(f)];
      assert.ok(type, `${f}: a file of a kind the test knows (html, js, css, svg)`);
      assert.equal(r.headers['content-type'], type, f);
      assert.ok(r.body.equals(fs.readFileSync(path.join(UI_DIR, f))), `${f}: the bytes of the source file`);
      assert.equal(Number(r.headers['content-length']), r.body.length, f);
      assertUiHeaders(r, f);
      assert.equal(r.headers['cache-control'], 'no-cache', f);
      etags.set(r.headers.etag, f);
    }
    assert.equal(etags.size, new Set(files.map((f) => fs.readFileSync(path.join(UI_DIR, f)).toString('hex'))).size,
      'files with different bytes have different ETags');
  });

  test('what the shell loads is there: the scripts and styles of index.html and the modules they import', async () => {
    const html = index.toString();
    const refs = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+\.[a-z]+)"/g)].map((m) => m[1]);
    assert.ok(refs.includes('/ui/app.js') && refs.includes('/ui/style.css'), `index.html loads ${refs.join(', ')}`);
    const seen = new Set();
    const queue = [...refs];
    while (queue.length) {
      const p = queue.shift();
      if (seen.has(p)) continue;
      seen.add(p);
      const r = await request('GET', server.http, p);
      assert.equal(r.status, 200, `${p} (loaded by the shell)`);
      if (p.endsWith('.js')) {
        for (const m of r.text().matchAll(/^import\s[^'"]*['"](\.{1,2}\/[^'"]+)['"]/gm)) {
          queue.push(new URL(m[1], `http://x${p}`).pathname);
        }
      }
    }
    assert.ok(seen.has('/ui/dom.js') && seen.has('/ui/api.js'), `app.js imports dom.js and api.js: ${[...seen].join(', ')}`);
    // the router's default page is a module that is served
    const r = await request('GET', server.http, '/ui/pages/traces.js');
    assert.equal(r.status, 200);
    assert.match(r.text(), /export async function render\(/);
  });

  test('the API still asks for the token; the files never do', async () => {
    const noToken = await request('GET', server.http, '/api/traces');
    assert.equal(noToken.status, 401);
    assert.match(String(noToken.headers['www-authenticate']), /^Bearer/);
    const wrong = await request('GET', server.http, '/api/services', { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const ok = await request('GET', server.http, '/api/traces', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.json().traces));
    for (const auth of [undefined, 'Bearer nope', `Bearer ${TOKEN}`]) {
      const r = await request('GET', server.http, '/ui/app.js', { headers: auth ? { authorization: auth } : {} });
      assert.equal(r.status, 200, `app.js with authorization ${auth}`);
    }
    // only GET and HEAD are the UI's: other methods go to the API as before
    assert.equal((await request('POST', server.http, '/ui/traces', { body: 'x' })).status, 401);
    assert.equal((await request('DELETE', server.http, '/')).status, 401);
    const post = await request('POST', server.http, '/ui', { body: 'x', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(post.status, 404);
    assert.equal(post.headers['content-type'], 'application/json');
  });

  test('HEAD answers the headers of GET without the body', async () => {
    for (const p of ['/', '/ui/app.js', '/ui/trace/4bf92f3577b34da6a3ce929d0e0e4736']) {
      const get = await request('GET', server.http, p);
      const head = await request('HEAD', server.http, p);
      assert.equal(head.status, 200, p);
      assert.equal(head.body.length, 0, `${p}: no body`);
      assert.equal(Number(head.headers['content-length']), get.body.length, `${p}: Content-Length of GET`);
      for (const h of ['content-type', 'etag', 'cache-control', 'content-security-policy', 'x-content-type-options']) {
        assert.equal(head.headers[h], get.headers[h], `${p}: ${h}`);
      }
    }
  });

  test('If-None-Match with the current ETag answers 304 without a body', async () => {
    const first = await request('GET', server.http, '/ui/style.css');
    const { etag } = first.headers;
    for (const inm of [etag, `W/${etag}`, `"0000", ${etag}`, '*']) {
      const r = await request('GET', server.http, '/ui/style.css', { headers: { 'if-none-match': inm } });
      assert.equal(r.status, 304, `If-None-Match: ${inm}`);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, etag);
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    for (const inm of ['"0000"', etag.slice(0, -2) + '"', etag.replace(/"/g, '')]) {
      const r = await request('GET', server.http, '/ui/style.css', { headers: { 'if-none-match': inm } });
      assert.equal(r.status, 200, `If-None-Match: ${inm}`);
      assert.ok(r.body.equals(first.body));
    }
    // another file's tag does not validate this one
    const app = await request('GET', server.http, '/ui/app.js');
    assert.notEqual(app.headers.etag, etag);
    const r = await request('GET', server.http, '/ui/style.css', { headers: { 'if-none-match': app.headers.etag } });
    assert.equal(r.status, 200);
  });

  test('unknown files, C sources and traversal are 404 without a token, and never reach the API', async () => {
    for (const p of ['/ui/nope.js', '/ui/pages/nope.js', '/ui/ui.c', '/ui/ui.h', '/ui/ui_int.h', '/ui/app.js.map',
      '/ui/../api/traces', '/ui/trace/../../api/services', '/ui/./app.js', '/ui//app.js', '/ui/%2e%2e/api/traces',
      '/ui/..%2fapi%2ftraces', '/ui/pages/..', '/ui/../../../../etc/passwd']) {
      const r = await rawGet(server.http, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8', p);
      assert.equal(r.headers['cache-control'], 'no-store', p);
      assertUiHeaders(r, p);
      assert.ok(!r.body.toString().includes('traces'), `${p}: no API answer`);
    }
    // paths that only look like the UI's stay with the API
    for (const p of ['/uix', '/ui.js', '/index.html', '/app.js']) {
      const r = await rawGet(server.http, p);
      assert.equal(r.status, 401, `${p} is an API path (token asked)`);
    }
  });
});

describe('the web UI without an API token', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });

  test('the app and the API both answer', async () => {
    const r = await request('GET', server.http, '/ui/traces');
    assert.equal(r.status, 200);
    assertUiHeaders(r, '/ui/traces');
    const api = await request('GET', server.http, '/api/traces');
    assert.equal(api.status, 200);
    assert.equal(api.headers['cache-control'], 'no-store', 'API answers keep their headers');
    assert.equal(api.headers['content-security-policy'], undefined, 'the policy is for the UI only');
    const nf = await request('GET', server.http, '/api/nope');
    assert.equal(nf.status, 404);
    assert.equal(nf.headers['content-type'], 'application/json');
  });
});
