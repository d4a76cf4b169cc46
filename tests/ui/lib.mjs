// lib.mjs — the harness of the web UI's end-to-end tests: a real `llmtrace serve` loaded with
// the fixture traces, and Debian's Chromium driven by playwright-core.
//
// A suite calls setupUi() at its top level: that registers before/after hooks which start the
// server, send it every captured trace and log body, and launch Chromium; its test() opens a
// fresh page (its own browser context: 1280×800, no shared storage) for every test and fails
// the test on anything the page reported: a console error (which includes a Content Security
// Policy violation and a failed load), an uncaught exception, a dialog (alert, confirm,
// prompt), a request to another origin (the UI works offline), a hostile payload that ran, or
// an element that could run script (see domProblems). A failed test leaves a screenshot.
//
// Environment: LLMTRACE_BIN and LT_FIXTURES (as in tests/integration), LT_UI_ARTIFACTS (where
// screenshots go; default build/ui-artifacts), LT_CHROMIUM (default /usr/bin/chromium),
// LT_SANITIZE=1 (a sanitized server: longer time limits). Every wait is bounded.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test as nodeTest } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import {
  assertHealthy, getOk, listAllTraces, loadScenarios, post, postFixtureFile, randomHex,
  startServer, successProblem,
} from '../integration/lib.mjs';

// what the UI tests and perf.mjs use of the integration tests' helpers
export { getOk, listAllTraces, randomHex, startServer };

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.LT_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = process.env.LT_UI_ARTIFACTS || path.resolve(here, '../../build/ui-artifacts');
const SLOW = process.env.LT_SANITIZE === '1';
// One wait in the browser (a selector, a navigation, a click); a sanitized server answers
// several times slower.
export const UI_TIMEOUT_MS = SLOW ? 45_000 : 15_000;
// One test, from opening its page to closing it.
export const TEST_TIMEOUT_MS = SLOW ? 300_000 : 120_000;
export const VIEWPORT = { width: 1280, height: 800 };

// ---------------------------------------------------------------------------------------
// Data

/** Sends every captured trace and log body of every fixture scenario over OTLP/HTTP, as
 * tests/integration/fixtures.test.mjs does (gRPC captures as protobuf). Fails on any refusal.
 * Returns the number of bodies sent. */
export async function loadFixtures(server) {
  let n = 0;
  const bad = [];
  for (const sc of loadScenarios()) {
    for (const f of sc.files) {
      if (f.signal !== 'traces' && f.signal !== 'logs') continue;
      const { res, headers } = await postFixtureFile(server, f);
      const problem = successProblem(res, headers['content-type']);
      if (problem) bad.push(`${sc.library}/${sc.scenario}/${f.name}: ${problem}`);
      n++;
    }
  }
  assert.deepEqual(bad, [], 'every fixture body is accepted');
  return n;
}

/** POSTs an OTLP/JSON request (object) to /v1/{signal}; fails unless 200. */
export async function sendOtlpJson(server, signal, body) {
  const res = await post(server.otlp, `/v1/${signal}`, JSON.stringify(body), { 'content-type': 'application/json' });
  const problem = successProblem(res, 'application/json');
  assert.equal(problem, null, `POST /v1/${signal}: ${problem}`);
}

/** OTLP/JSON attribute list from a plain object (strings, integers, doubles, booleans). */
export function attrs(obj) {
  return Object.entries(obj).map(([key, v]) => {
    if (typeof v === 'string') return { key, value: { stringValue: v } };
    if (typeof v === 'boolean') return { key, value: { boolValue: v } };
    if (Number.isInteger(v)) return { key, value: { intValue: String(v) } };
    return { key, value: { doubleValue: v } };
  });
}

// ---------------------------------------------------------------------------------------
// Browser

/** Launches Chromium headless. Fails with a clear message when it is not installed. */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: scripts/setup.sh installs Debian's ` +
      'chromium package (or set LT_CHROMIUM to a Chromium binary)');
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: UI_TIMEOUT_MS * 2,
    // Chromium refuses to start its sandbox as root, and CI runs as root; the pages it
    // opens here come only from the llmtrace under test on 127.0.0.1.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update'],
  });
}

function slug(s) {
  return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120) || 'page';
}

// Installed in every document before its own scripts: the hostile payloads set
// window.__pwned, and any Content Security Policy violation is reported too, so that a
// payload that CSP stopped still fails the test (the UI must be inert on its own).
function initScript() {
  const report = (what) => {
    // console.error reaches the harness even if the page navigates away right after
    console.error(`[ui-harness] ${what}`);
  };
  Object.defineProperty(window, '__pwned', {
    configurable: false,
    get() { return window.__ltPwned; },
    set(v) {
      window.__ltPwned = v;
      report(`hostile content ran: window.__pwned = ${String(v)}`);
    },
  });
  document.addEventListener('securitypolicyviolation', (e) => {
    report(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} ` +
      `at ${e.sourceFile || '?'}:${e.lineNumber || 0}`);
  });
}

/**
 * Elements that could run script or leave the app, as a list of problems (empty = none):
 * attributes named on* (inline handlers), script elements that are not same-origin files,
 * iframes/objects/embeds/frames, links and forms whose target is another origin or a
 * javascript: URL, image/media sources other than same-origin and data: URLs.
 */
export async function domProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const origin = location.origin;
    const describe = (el) => `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}>`;
    const sameOrigin = (u) => {
      try { return new URL(u, location.href).origin === origin; } catch { return false; }
    };
    for (const el of document.querySelectorAll('*')) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) out.push(`${describe(el)} has inline handler ${a.name}`);
        if (/^\s*javascript:/i.test(a.value)) out.push(`${describe(el)} ${a.name} is a javascript: URL`);
      }
      const tag = el.tagName.toLowerCase();
      if (['iframe', 'frame', 'object', 'embed'].includes(tag)) out.push(`${describe(el)} present`);
      if (tag === 'script' && (!el.src || !sameOrigin(el.src) || el.textContent.trim() !== '')) {
        out.push(`${describe(el)} is not a same-origin script file`);
      }
      if ((tag === 'a' || tag === 'area') && el.hasAttribute('href') && !sameOrigin(el.href)) {
        out.push(`${describe(el)} links to another origin: ${el.getAttribute('href').slice(0, 100)}`);
      }
      if (tag === 'form' && el.hasAttribute('action') && !sameOrigin(el.action)) {
        out.push(`${describe(el)} submits to another origin`);
      }
      if (['img', 'video', 'audio', 'source'].includes(tag) && el.hasAttribute('src')) {
        const src = el.getAttribute('src');
        if (!src.startsWith('data:') && !sameOrigin(src)) out.push(`${describe(el)} loads ${src.slice(0, 100)}`);
      }
    }
    return out;
  });
}

/** Waits for the readiness marker [data-ready="NAME"] of a page (see README.md). Fails at
 * once, with its text, when the page shows an error instead (a visible role="alert" with
 * text in main#app). */
export async function waitReady(page, name) {
  const handle = await page.waitForFunction((n) => {
    if (document.querySelector(`[data-ready="${n}"]`)) return { ready: true };
    for (const el of document.querySelectorAll('main#app [role="alert"]')) {
      const text = el.innerText.trim();
      if (text && el.checkVisibility()) return { ready: false, text };
    }
    return null;
  }, name, { polling: 50 });
  const r = await handle.jsonValue();
  if (!r.ready) {
    assert.fail(`the page at ${new URL(page.url()).pathname} shows an error instead of getting ready: ${r.text.slice(0, 500)}`);
  }
}

/**
 * A page in its own browser context, with everything it reports collected.
 * Fields: page (Playwright Page), context, problems (strings), server.
 */
export class UiPage {
  constructor(server, context, page, suite, name) {
    this.server = server;
    this.context = context;
    this.page = page;
    this.suite = suite;
    this.name = name;
    this.problems = [];
    this.shots = [];
    const origin = new URL(server.http).origin;
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        const loc = msg.location();
        this.problems.push(`console error: ${msg.text().slice(0, 500)}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
      }
    });
    page.on('pageerror', (err) => this.problems.push(`uncaught exception: ${String(err && err.stack || err).slice(0, 800)}`));
    page.on('dialog', (d) => {
      this.problems.push(`dialog (${d.type()}): ${d.message().slice(0, 200)}`);
      d.dismiss().catch(() => {});
    });
    page.on('request', (req) => {
      const u = req.url();
      if (u.startsWith('data:') || u.startsWith('blob:')) return;
      let o = null;
      try { o = new URL(u).origin; } catch { /* reported below */ }
      if (o !== origin) this.problems.push(`request to another origin: ${u.slice(0, 200)}`);
    });
    page.on('crash', () => this.problems.push('the page crashed'));
  }

  /** Absolute URL of a path on the server under test. */
  url(p) {
    return new URL(p, this.server.http).toString();
  }

  /** Navigates (a full load) and returns the document's response, which must have the
   * given status (default 200). */
  async goto(p, { status = 200 } = {}) {
    const res = await this.page.goto(this.url(p), { waitUntil: 'load' });
    assert.ok(res, `no response for ${p}`);
    if (status !== null && res.status() !== status) {
      const body = (await res.text().catch(() => '')).slice(0, 300);
      assert.fail(`GET ${p} answered ${res.status()} (expected ${status}): ${body}`);
    }
    return res;
  }

  /** Path and query of the page's current URL ("/ui/traces?x=1"). */
  where() {
    const u = new URL(this.page.url());
    return u.pathname + u.search;
  }

  /** Waits until the router rendered a page into main#app (not busy, not empty). */
  async rendered() {
    await this.page.waitForSelector('main#app:not([aria-busy]) > *', { state: 'attached' });
  }

  /** Waits for the page's readiness marker (waitReady). */
  async ready(name) {
    await waitReady(this.page, name);
  }

  /** Lets what the page just built take effect: every image has loaded or failed (an
   * injected <img onerror> fires then) and two frames were drawn. */
  async settle() {
    await this.page.evaluate((ms) => Promise.race([
      new Promise((resolve) => setTimeout(resolve, ms)),
      Promise.all([...document.images].map((img) => (img.complete ? null : new Promise((resolve) => {
        img.addEventListener('load', resolve, { once: true });
        img.addEventListener('error', resolve, { once: true });
      })))).then(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))),
    ]), UI_TIMEOUT_MS);
  }

  /** The text a reader sees (document.body.innerText). */
  async text() {
    return this.page.evaluate(() => document.body.innerText);
  }

  /** Screenshot of the viewport (or the whole page) into LT_UI_ARTIFACTS/SUITE/NAME.png. */
  async shot(name, { fullPage = false } = {}) {
    const dir = path.join(ARTIFACTS, this.suite);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${slug(name)}.png`);
    await this.page.screenshot({ path: file, fullPage, timeout: UI_TIMEOUT_MS });
    this.shots.push(file);
    return file;
  }

  /** Fails on anything the page reported so far, or an element that could run script. */
  async assertClean() {
    const dom = this.page.isClosed() ? [] : await domProblems(this.page);
    const pwned = this.page.isClosed() ? undefined : await this.page.evaluate(() => window.__ltPwned);
    const all = [...this.problems, ...dom];
    if (pwned !== undefined) all.push(`window.__pwned is ${String(pwned)}`);
    assert.deepEqual(all, [], `the page at ${this.page.isClosed() ? '?' : this.where()} reported problems`);
  }

  async close() {
    await this.context.close().catch(() => {});
  }
}

/**
 * Registers the hooks of a UI suite and returns { server, browser, test, open, ... }.
 *   suite:     name of the screenshot folder (the test file's name)
 *   fixtures:  load every fixture body (default true)
 *   load:      async (server) => extra data to send before the browser starts
 * ui.test(name, fn, opts) runs fn(uiPage, t) on a fresh page and then assertClean();
 * opts: { colorScheme: 'light' | 'dark', bypassCSP, timeout }.
 */
export function setupUi({ suite, fixtures = true, load } = {}) {
  assert.ok(suite, 'setupUi needs a suite name');
  const ui = {
    server: null,
    browser: null,
    loaded: 0,

    /** A fresh page in its own context. Close it (or let ui.test do it). */
    async open(name, { colorScheme = 'light', bypassCSP = false } = {}) {
      const context = await ui.browser.newContext({
        viewport: VIEWPORT,
        colorScheme,
        bypassCSP,
        reducedMotion: 'reduce',
        serviceWorkers: 'block',
      });
      context.setDefaultTimeout(UI_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
      await context.addInitScript(initScript);
      const page = await context.newPage();
      return new UiPage(ui.server, context, page, suite, name);
    },

    test(name, fn, { timeout = TEST_TIMEOUT_MS, ...pageOpts } = {}) {
      nodeTest(name, { timeout }, async (t) => {
        const p = await ui.open(name, pageOpts);
        try {
          await fn(p, t);
          if (!p.page.isClosed()) await p.settle();
          await p.assertClean();
          assertHealthy(ui.server);
        } catch (e) {
          if (!p.page.isClosed()) await p.shot(`FAILED-${name}`).catch(() => {});
          // what the page reported explains most failures (an exception, a payload that ran)
          if (p.problems.length && e instanceof Error) e.message += `\npage reported:\n  ${p.problems.join('\n  ')}`;
          throw e;
        } finally {
          await p.close();
        }
      });
    },
  };

  before(async () => {
    // this run's screenshots only (a stale failed-*.png would mislead)
    fs.rmSync(path.join(ARTIFACTS, suite), { recursive: true, force: true });
    ui.server = await startServer();
    if (fixtures) ui.loaded = await loadFixtures(ui.server);
    if (load) await load(ui.server);
    ui.browser = await launchBrowser();
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    if (ui.browser) await ui.browser.close().catch(() => {});
    if (ui.server) await ui.server.stop();
  }, { timeout: TEST_TIMEOUT_MS });

  return ui;
}
