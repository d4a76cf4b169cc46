// app.js — the UI's shell: routes /ui/... paths to page modules (History API, so back and
// forward work and every page has a URL), the theme toggle, the error box and the
// not-found page, focus and scroll on navigation, and the "/" shortcut to a page's search.

import * as api from './api.js';
import * as dom from './dom.js';

const { h, clear } = dom;

// path pattern → page module; the first match wins
const ROUTES = [
  [/^\/ui\/?$/, 'traces'],
  [/^\/ui\/traces\/?$/, 'traces'],
  [/^\/ui\/trace\/([0-9a-f]{32})\/graph\/?$/, 'graph', ['id']],
  [/^\/ui\/trace\/([0-9a-f]{32})\/?$/, 'trace', ['id']],
  [/^\/ui\/compare\/([0-9a-f]{32})\/([0-9a-f]{32})\/?$/, 'compare', ['a', 'b']],
  [/^\/ui\/dashboard\/?$/, 'dashboard'],
  [/^\/ui\/live\/?$/, 'live'],
];

const root = document.getElementById('app');
let cleanup = null;
let seq = 0;

function match(pathname) {
  for (const [re, page, names = []] of ROUTES) {
    const m = re.exec(pathname);
    if (m) return { page, path: Object.fromEntries(names.map((n, i) => [n, m[i + 1]])) };
  }
  return null;
}

export function navigate(url, { replace = false } = {}) {
  const u = new URL(url, location.origin);
  if (u.origin !== location.origin) return;
  if (replace) history.replaceState(null, '', u.pathname + u.search);
  else history.pushState(null, '', u.pathname + u.search);
  route({ moved: !replace });
}

function showError(err) {
  clear(root).appendChild(h('div', { class: 'error-box', role: 'alert' },
    h('strong', null, err.status ? `Error ${err.status}: ` : 'Error: '), String(err.message || err)));
}

function showNotFound(pathname) {
  clear(root).appendChild(h('section', { class: 'not-found' },
    h('h1', null, 'Page not found'),
    h('p', { role: 'alert' }, 'There is no page at ', h('code', { class: 'val' }, pathname), '.'),
    h('p', null, h('a', { href: '/ui/traces' }, 'Search traces'), ' · ',
      h('a', { href: '/ui/dashboard' }, 'Dashboard'), ' · ', h('a', { href: '/ui/live' }, 'Live tail'))));
}

// A page module that fails to load is a page this build does not have (or a broken one):
// say which, instead of the browser's message about a module fetch.
async function load(page) {
  try {
    return await import(`./pages/${page}.js`);
  } catch (e) {
    const err = new Error(`the ${page} page could not be loaded (${e.message || e})`);
    err.status = 0;
    throw err;
  }
}

async function route({ moved = false } = {}) {
  const my = ++seq;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  const m = match(location.pathname);
  for (const a of document.querySelectorAll('header nav a')) {
    a.setAttribute('aria-current', m && a.dataset.page === m.page ? 'page' : 'false');
  }
  if (!m) {
    showNotFound(location.pathname);
    settle(moved);
    return;
  }
  clear(root);
  root.setAttribute('aria-busy', 'true');
  try {
    const mod = await load(m.page);
    if (my !== seq) return;
    const params = { ...m.path, query: new URLSearchParams(location.search) };
    cleanup = await mod.render(root, params, { api, dom, navigate });
  } catch (e) {
    if (my === seq) showError(e);
  } finally {
    if (my === seq) {
      root.removeAttribute('aria-busy');
      settle(moved);
    }
  }
}

// After a navigation inside the app: the new page starts at the top, and keyboard and
// screen-reader users land in it, unless the page already put the focus somewhere.
function settle(moved) {
  if (!moved) return;
  window.scrollTo(0, 0);
  const a = document.activeElement;
  if (!a || a === document.body || !a.isConnected) root.focus({ preventScroll: true });
}

// same-origin links inside the app route without a page load
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[href^="/ui"]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());

// "/" jumps to the page's search field (an element marked data-search), as on many sites;
// typed into a field, it stays a slash.
document.addEventListener('keydown', (ev) => {
  if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
  const t = ev.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const field = root.querySelector('[data-search]');
  if (!field) return;
  ev.preventDefault();
  field.focus();
  if (field.select) field.select();
});

function setTheme(t) {
  document.documentElement.dataset.theme = t;
  localStorage.setItem('llmtrace.theme', t);
}
const saved = localStorage.getItem('llmtrace.theme');
setTheme(saved || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
document.getElementById('theme').addEventListener('click', () => {
  setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
});

if (location.pathname === '/' || location.pathname === '') navigate('/ui/traces', { replace: true });
else route();
