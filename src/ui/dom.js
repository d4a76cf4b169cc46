// dom.js — the only way the UI builds elements. Text goes in through text nodes and
// attributes through setAttribute on an allowlist, so content from traces (prompts, attribute
// keys and values, span and service names) is always inert: nothing in the UI parses HTML.

const ATTRS = new Set([
  'class', 'id', 'title', 'role', 'tabindex', 'type', 'value', 'name', 'placeholder', 'for',
  'colspan', 'rowspan', 'min', 'max', 'step', 'checked', 'disabled', 'selected', 'dir',
  'scope', 'list', 'autocomplete', 'spellcheck', 'inputmode', 'maxlength', 'hidden', 'open',
  'datetime', 'lang',
  'width', 'height', 'viewBox', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'd', 'points',
  'fill', 'stroke', 'stroke-width', 'transform', 'text-anchor', 'dominant-baseline', 'rx',
  'preserveAspectRatio',
]);
const SVG_NS = 'http://www.w3.org/2000/svg';
const SVG_TAGS = new Set(['svg', 'g', 'rect', 'line', 'circle', 'path', 'polyline', 'text', 'title']);

/** A same-origin UI link, or null: no javascript:, data: or other-origin URLs ever reach href. */
export function safeHref(url) {
  const s = String(url);
  return /^\/(ui|api)(\/|\?|$)/.test(s) && !/[\s\\]/.test(s) ? s : null;
}

/**
 * h('div', {class: 'x', onclick: fn}, 'text', child, [more]) → Element.
 * Keys starting with "on" take functions (addEventListener); "href" is checked with
 * safeHref; "aria-*" and "data-*" are allowed; "style" takes an object of properties.
 * Children: strings and numbers become text nodes; null/false are skipped; arrays flatten.
 */
export function h(tag, attrs, ...children) {
  const svg = SVG_TAGS.has(tag);
  const el = svg ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'href') { const u = safeHref(v); if (u) el.setAttribute('href', u); }
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (ATTRS.has(k) || k.startsWith('aria-') || k.startsWith('data-')) el.setAttribute(k, v === true ? '' : String(v));
    else throw new Error(`dom.h: attribute ${k} not allowed`);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---- formatting (times and durations arrive as decimal strings of nanoseconds) ----

export function duration(ns) {
  const n = Number(ns);
  if (!Number.isFinite(n)) return '';
  if (n < 1e3) return `${n} ns`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)} µs`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} ms`;
  if (n < 60e9) return `${(n / 1e9).toFixed(2)} s`;
  return `${Math.floor(n / 60e9)} m ${Math.round((n % 60e9) / 1e9)} s`;
}

export function money(usd) {
  const v = Number(usd);
  if (!v) return '$0';
  return v < 0.01 ? `$${v.toFixed(5)}` : `$${v.toFixed(v < 10 ? 4 : 2)}`;
}

export function tokens(n) {
  const v = Number(n) || 0;
  return v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : String(v);
}

/** How long ago a Unix-nanosecond string was, roughly ("45 s ago", "3 h ago"). */
export function ago(ns, nowMs = Date.now()) {
  const s = (nowMs - Number(BigInt(ns) / 1000000n)) / 1000;
  if (!Number.isFinite(s)) return '';
  if (s < 0) return 'in the future';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Local date-time of a Unix-nanosecond string, to the millisecond. */
export function time(ns) {
  const ms = Number(BigInt(ns) / 1000000n);
  const d = new Date(ms);
  const pad = (x, w = 2) => String(x).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
