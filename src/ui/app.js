// app.js — the UI's shell: routes /ui/... paths to page modules (History API, so back and
// forward work and every page has a URL), the theme toggle, and the error box.

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
  route();
}

function showError(err) {
  clear(root).appendChild(h('div', { class: 'error-box', role: 'alert' },
    h('strong', null, err.status ? `Error ${err.status}: ` : 'Error: '), String(err.message || err)));
}

async function route() {
  const my = ++seq;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  const m = match(location.pathname);
  for (const a of document.querySelectorAll('header nav a')) {
    a.setAttribute('aria-current', m && a.dataset.page === m.page ? 'page' : 'false');
  }
  if (!m) return showError({ message: `no page at ${location.pathname}` });
  clear(root);
  root.setAttribute('aria-busy', 'true');
  try {
    const mod = await import(`./pages/${m.page}.js`);
    if (my !== seq) return;
    const params = { ...m.path, query: new URLSearchParams(location.search) };
    cleanup = await mod.render(root, params, { api, dom, navigate });
  } catch (e) {
    if (my === seq) showError(e);
  } finally {
    if (my === seq) root.removeAttribute('aria-busy');
  }
}

// same-origin links inside the app route without a page load
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[href^="/ui"]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
  ev.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

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
