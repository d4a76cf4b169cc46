// hostile.test.mjs — hostile content is inert. A trace whose names, keys, values, prompts,
// completions, documents and log bodies carry HTML, script, javascript: URLs, right-to-left
// overrides and 1 MB strings (hostile.mjs) is sent over OTLP/HTTP JSON to a real llmtrace;
// the traces page and the trace page (with every tab of the span detail) must run none of it,
// show it as text, and stay responsive.
//
// Each page is opened twice: with the server's Content-Security-Policy (any violation fails:
// the UI tried to insert something the policy had to stop) and with the policy bypassed, so
// that the UI is shown inert on its own and CSP stays a second line of defence.

import assert from 'node:assert/strict';

import {
  ATTR_KEY, ATTR_VALUE, COMPLETION, IMG, JS_URL, LINK, LLM_NAME, LOG_BODY, PROMPT, RETRIEVAL_NAME,
  ROOT_NAME, RTL_NAME, SERVICE, TOOL_NAME, sendHostileTrace,
} from './hostile.mjs';
import { UI_TIMEOUT_MS, setupUi } from './lib.mjs';

let hostile;
const ui = setupUi({
  suite: 'hostile',
  load: async (server) => { hostile = await sendHostileTrace(server); },
});

// The spans whose details are opened, and what given tabs must show as text (markup,
// javascript: links and all; up to a U+202E, whose reordering innerText may keep).
const upToRtl = (t) => (t.includes('\u202E') ? t.slice(0, t.indexOf('\u202E')) : t);
const DETAILS = [
  { span: ROOT_NAME, key: 'root', show: [[/attributes/i, [ATTR_KEY, ATTR_VALUE, JS_URL]]] },
  { span: LLM_NAME, key: 'llm', show: [[/messages/i, [upToRtl(PROMPT), COMPLETION]], [/logs/i, [LOG_BODY]]] },
  { span: RETRIEVAL_NAME, key: 'retrieval', show: [[/documents/i, [`Document ${IMG} ${LINK}`]]] },
  { span: TOOL_NAME, key: 'tool', show: [] },
  { span: RTL_NAME, key: 'rtl', show: [] },
];

/** Clicking the theme toggle gets an answer: the main thread is not stuck. */
async function assertResponsive(p) {
  const before = await p.page.evaluate(() => document.documentElement.dataset.theme);
  await p.page.click('#theme', { timeout: UI_TIMEOUT_MS });
  await p.page.waitForFunction((t) => document.documentElement.dataset.theme !== t, before, { timeout: UI_TIMEOUT_MS });
}

/** No element was built from the payloads' markup (lib.mjs checks handlers and URLs). */
async function assertNoMarkupElements(p) {
  const n = await p.page.locator('main#app img[src="x"], main#app script').count();
  assert.equal(n, 0, 'no <img src=x> or <script> made from content (handlers: domProblems)');
}

/** Text with a bidi control character (U+202E and its kin) cannot reverse what the page
 * shows after it (a duration, the next column): an inline element around it isolates it
 * (unicode-bidi isolate or plaintext: <bdi>, dir=..., CSS), or nothing follows it in its
 * paragraph (the block, inline-block, cell or flex item it is in). A UI that shows the
 * character as a visible escape has no such text at all. Returns the text that leaks. */
function leakingBidi(page) {
  return page.evaluate(() => {
    const out = [];
    const root = document.getElementById('app');
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!/[\u202A-\u202E\u2066-\u2069]/.test(n.data)) continue;
      let ok = false;
      for (let el = n.parentElement; el; el = el.parentElement) {
        const cs = getComputedStyle(el);
        if (cs.display === 'inline' || cs.display === 'contents') {
          if (/^(isolate|isolate-override|plaintext)$/.test(cs.unicodeBidi)) { ok = true; break; }
          continue;
        }
        // el ends the paragraph: fine if nothing is shown after the text within it
        const after = document.createRange();
        after.setStartAfter(n);
        after.setEnd(el, el.childNodes.length);
        ok = after.toString().trim() === '';
        break;
      }
      if (!ok) out.push(`${n.parentElement.tagName.toLowerCase()}: ${JSON.stringify(n.data.slice(0, 80))}`);
    }
    return out;
  });
}

/** Nothing ran so far, nothing was blocked: checked before what the page shows, so that a
 * payload that ran is the failure reported. */
async function assertInert(p) {
  await p.settle();
  await p.assertClean();
  await assertNoMarkupElements(p);
  assert.deepEqual(await leakingBidi(p.page), [], 'right-to-left overrides stay inside their own text');
}

/** The page's text comes to show this literal string (markup shown as characters, not
 * parsed), within the time limit of a wait. */
async function assertShown(p, literal, where) {
  try {
    await p.page.waitForFunction((t) => document.body.innerText.includes(t), literal, { polling: 100 });
  } catch {
    assert.fail(`${where}: the page's text does not show ${JSON.stringify(literal)}`);
  }
}

for (const bypassCSP of [false, true]) {
  const mode = bypassCSP ? 'CSP bypassed' : 'with CSP';

  ui.test(`traces page: hostile names are shown as text and nothing runs (${mode})`, async (p) => {
    await p.goto('/ui/traces');
    await p.ready('traces');
    await assertInert(p);
    await assertShown(p, ROOT_NAME, 'the root span name');
    await assertShown(p, SERVICE, 'the service name');
    assert.ok((await p.text()).includes('<script>'), "the literal '<script>' is on the page");
    await p.shot(`traces-${mode}`);
    await assertResponsive(p);
  }, { bypassCSP });

  ui.test(`trace page: the waterfall shows hostile names as text and nothing runs (${mode})`, async (p) => {
    await p.goto(`/ui/trace/${hostile.traceId}`);
    await p.ready('trace');
    await assertInert(p);
    for (const name of [ROOT_NAME, LLM_NAME]) await assertShown(p, name, 'a span name in the waterfall');
    await assertShown(p, upToRtl(RTL_NAME), 'the span name with U+202E');
    await p.shot(`trace-${mode}`);
    await assertResponsive(p);
  }, { bypassCSP });

  ui.test(`trace page: every tab of every hostile span's detail stays inert (${mode})`, async (p) => {
    await p.goto(`/ui/trace/${hostile.traceId}`);
    await p.ready('trace');
    await assertInert(p);
    for (const { span, key, show } of DETAILS) {
      await p.page.getByText(span).first().click();
      const tabs = p.page.getByRole('tab');
      await tabs.first().waitFor();
      const names = await tabs.allInnerTexts();
      for (const want of [/overview/i, /attributes/i, ...show.map(([tab]) => tab)]) {
        assert.ok(names.some((n) => want.test(n)), `${key} span: the detail has a ${want} tab (tabs: ${names.join(', ')})`);
      }
      for (let i = 0; i < names.length; i++) {
        await tabs.nth(i).click();
        await p.page.waitForFunction((el) => el.getAttribute('aria-selected') === 'true', await tabs.nth(i).elementHandle());
        await assertInert(p);
        for (const [tab, literals] of show) {
          if (!tab.test(names[i])) continue;
          for (const literal of literals) await assertShown(p, literal, `${key} span, ${names[i]} tab`);
        }
        await p.shot(`${key}-${names[i]}-${mode}`);
        await assertResponsive(p);
      }
    }
  }, { bypassCSP });
}
