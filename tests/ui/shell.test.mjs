// shell.test.mjs — the UI's shell in Chromium against a real llmtrace loaded with the
// fixtures: served at / and /ui/... with its security headers, deep links, navigation through
// the History API (back and forward), the light and dark themes, the keyboard, and a layout
// that fits 1280×800. Every test also fails on any console error, exception, dialog, request
// to another origin or script-capable element (lib.mjs).

import assert from 'node:assert/strict';

import { listAllTraces, setupUi } from './lib.mjs';

const ui = setupUi({ suite: 'shell' });

// The Content-Security-Policy the contract gives, directive by directive.
const CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};

function parseCsp(header) {
  const out = {};
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = sources;
  }
  return out;
}

/** The fixture trace with the most spans (the waterfall has the most to lay out). */
async function biggestTrace() {
  const all = await listAllTraces(ui.server);
  assert.ok(all.length > 0, 'the fixtures gave traces');
  return all.reduce((a, b) => (b.span_count > a.span_count ? b : a));
}

/** WCAG contrast ratio of two CSS rgb()/rgba() colours. */
function contrast(c1, c2) {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(c1), lum(c2)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

/** The theme in effect: data-theme, and the page's text and background colours. */
function themeState(page) {
  return page.evaluate(() => {
    // the first non-transparent background from body up
    let bg = 'rgba(0, 0, 0, 0)';
    for (let el = document.body; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (!/rgba\(.*,\s*0\)$/.test(c) && c !== 'transparent') { bg = c; break; }
    }
    return {
      theme: document.documentElement.dataset.theme,
      bg,
      fg: getComputedStyle(document.body).color,
    };
  });
}

ui.test('the app loads at / and lands on /ui/traces', async (p) => {
  const res = await p.goto('/');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'] || '', /^text\/html\b/);
  await p.rendered();
  assert.equal(p.where(), '/ui/traces', 'the root redirects (without a reload) to the traces page');
  assert.match(await p.page.title(), /llmtrace/);
  await p.shot('root');
});

ui.test('/ui/traces is served with its Content-Security-Policy, nosniff and no-cache', async (p) => {
  const res = await p.goto('/ui/traces');
  assert.equal(res.status(), 200);
  const h = res.headers();
  assert.match(h['content-type'] || '', /^text\/html\b/);
  assert.ok(h['content-security-policy'], 'the document has a Content-Security-Policy header');
  const csp = parseCsp(h['content-security-policy']);
  for (const [directive, sources] of Object.entries(CSP)) {
    assert.deepEqual([...(csp[directive] || [])].sort(), [...sources].sort(), `CSP ${directive}`);
  }
  assert.doesNotMatch(h['content-security-policy'], /unsafe-inline|unsafe-eval|\*/, 'no unsafe sources, no wildcards');
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.match(h['cache-control'] || '', /\bno-cache\b/, 'a new build is picked up at once');
  await p.rendered();
  assert.equal(p.where(), '/ui/traces');
  await p.shot('traces');
});

ui.test('the UI files are served with their types and the same headers', async (p) => {
  const seen = new Map();
  p.page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/ui/') && /\.(js|css)$/.test(u.pathname)) seen.set(u.pathname, r);
  });
  await p.goto('/ui/traces');
  await p.rendered();
  assert.ok(seen.has('/ui/app.js') && seen.has('/ui/style.css'), `loaded: ${[...seen.keys()].join(', ')}`);
  for (const [file, r] of seen) {
    assert.equal(r.status(), 200, file);
    const type = r.headers()['content-type'] || '';
    assert.match(type, file.endsWith('.js') ? /^(text|application)\/javascript\b/ : /^text\/css\b/, `${file}: ${type}`);
    assert.equal(r.headers()['x-content-type-options'], 'nosniff', file);
    assert.match(r.headers()['cache-control'] || '', /\bno-cache\b/, file);
  }
});

ui.test('a deep link to a path that is no page shows the error box', async (p) => {
  const res = await p.goto('/ui/no/such/page');
  assert.equal(res.status(), 200, 'any /ui/* path answers the shell, so deep links work');
  await p.rendered();
  const alert = p.page.locator('main#app [role="alert"]');
  await alert.waitFor();
  assert.match(await alert.innerText(), /no page/i);
  assert.equal(p.where(), '/ui/no/such/page');
});

ui.test('navigation links change the URL without a reload; back and forward work', async (p) => {
  const trace = await biggestTrace();
  const tracePath = `/ui/trace/${trace.trace_id}`;
  await p.goto(tracePath);
  await p.ready('trace');
  assert.equal(p.where(), tracePath);
  // survives only if no navigation reloads the document
  await p.page.evaluate(() => { window.__ltSameDocument = true; });
  const sameDocument = () => p.page.evaluate(() => window.__ltSameDocument === true);

  await p.page.click('header nav a[data-page="traces"]');
  await p.page.waitForURL((u) => u.pathname === '/ui/traces');
  await p.rendered();
  assert.equal(await p.page.getAttribute('header nav a[data-page="traces"]', 'aria-current'), 'page');
  assert.ok(await sameDocument(), 'the nav link routed inside the app');

  await p.page.goBack();
  await p.page.waitForURL((u) => u.pathname === tracePath);
  await p.ready('trace');
  assert.notEqual(await p.page.getAttribute('header nav a[data-page="traces"]', 'aria-current'), 'page');
  assert.ok((await p.text()).includes(trace.root_name), `back shows the trace again (its root span ${trace.root_name})`);

  await p.page.goForward();
  await p.page.waitForURL((u) => u.pathname === '/ui/traces');
  await p.rendered();
  assert.ok(await sameDocument(), 'back and forward stayed in the same document');
});

ui.test('the theme toggle switches light and dark, readable in both, and is remembered', async (p) => {
  await p.goto('/ui/traces');
  await p.rendered();
  const light = await themeState(p.page);
  assert.equal(light.theme, 'light', 'a browser that prefers light starts light');
  assert.ok(contrast(light.fg, light.bg) >= 4.5, `light text contrast ${contrast(light.fg, light.bg).toFixed(2)} (${light.fg} on ${light.bg})`);
  await p.shot('theme-light');

  await p.page.click('#theme');
  await p.page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  const dark = await themeState(p.page);
  assert.notEqual(dark.bg, light.bg, 'the background changes');
  assert.ok(contrast(dark.fg, dark.bg) >= 4.5, `dark text contrast ${contrast(dark.fg, dark.bg).toFixed(2)} (${dark.fg} on ${dark.bg})`);
  await p.shot('theme-dark');

  await p.page.reload({ waitUntil: 'load' });
  await p.rendered();
  assert.equal((await themeState(p.page)).theme, 'dark', 'the choice survives a reload');

  await p.page.click('#theme');
  await p.page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
});

ui.test('a browser that prefers dark starts dark', async (p) => {
  await p.goto('/ui/traces');
  await p.rendered();
  assert.equal((await themeState(p.page)).theme, 'dark');
}, { colorScheme: 'dark' });

ui.test('the keyboard reaches the skip link, the nav links and the theme toggle', async (p) => {
  await p.goto('/ui/traces');
  await p.rendered();
  const focused = [];
  for (let i = 0; i < 5; i++) {
    await p.page.keyboard.press('Tab');
    focused.push(await p.page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}:${el.id || el.getAttribute('href') || el.textContent.trim()}` : '';
    }));
  }
  assert.deepEqual(focused, ['a:#app', 'a:/ui/traces', 'a:/ui/dashboard', 'a:/ui/live', 'button:theme']);
  // Enter on the theme toggle switches the theme
  const before = (await themeState(p.page)).theme;
  await p.page.keyboard.press('Enter');
  await p.page.waitForFunction((t) => document.documentElement.dataset.theme !== t, before);
});

for (const [what, ready, where] of [
  ['traces', 'traces', async () => '/ui/traces'],
  ['trace', 'trace', async () => `/ui/trace/${(await biggestTrace()).trace_id}`],
]) {
  for (const colorScheme of ['light', 'dark']) {
    ui.test(`the ${what} page fits 1280×800 without horizontal scrolling (${colorScheme})`, async (p) => {
      await p.goto(await where());
      await p.ready(ready);
      const m = await p.page.evaluate(() => ({
        scrollWidth: document.scrollingElement.scrollWidth,
        clientWidth: document.scrollingElement.clientWidth,
        innerWidth: window.innerWidth,
        header: document.querySelector('header').getBoundingClientRect().toJSON(),
      }));
      assert.equal(m.innerWidth, 1280);
      assert.ok(m.scrollWidth <= m.clientWidth, `no horizontal scroll: scrollWidth ${m.scrollWidth} > clientWidth ${m.clientWidth}`);
      assert.ok(m.header.right <= m.clientWidth && m.header.bottom <= 800, 'the header is within the viewport');
      await p.shot(`${what}-1280x800-${colorScheme}`);
      await p.shot(`${what}-full-${colorScheme}`, { fullPage: true });
    }, { colorScheme });
  }
}
