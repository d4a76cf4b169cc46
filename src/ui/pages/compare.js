// compare.js — two traces side by side (/ui/compare/{a}/{b}), as Jaeger's trace comparison:
// the totals of each with B's differences, then one table of every span path (matched by
// names from the root, compare_model.js) with what is only in A (−) or only in B (+), and
// per step the duration, tokens and cost of both and their difference (B − A; red when B
// spends more, green when less, the sign always written). A matched LLM call opens the
// line diff of its messages. Strings from the traces go in through text nodes only, long
// ones folded.

import { delta, diffLines, figures, foldDiff, isLlmCall, matchTraces, messageLines } from './compare_model.js';
import { shorten } from './graph_model.js';

const ROWS_PER_CHUNK = 300;
const DIFF_ITEMS = 1500;
const LINE_FOLD = 600;
const HEX32 = /^[0-9a-f]{32}$/;

export async function render(root, params, ctx) {
  const { h, duration, money, tokens, time } = ctx.dom;
  const { a: idA, b: idB } = params;

  const page = h('section', { class: 'cmp-page', 'aria-labelledby': 'cmp-title' });
  page.append(h('h1', { id: 'cmp-title' }, 'Compare traces'), formOf());
  root.append(page);

  const [ra, rb] = await Promise.allSettled([ctx.api.getJson(`traces/${idA}`), ctx.api.getJson(`traces/${idB}`)]);
  const failed = [['A', idA, ra], ['B', idB, rb]].filter(([, , r]) => r.status === 'rejected');
  if (failed.length) {
    page.append(...failed.map(([tag, id, r]) => h('div', { class: 'error-box', role: 'alert' },
      h('strong', null, `Trace ${tag} (${id}): `), String((r.reason && r.reason.message) || r.reason))));
    return null;
  }
  const A = ra.value;
  const B = rb.value;
  const spansA = Array.isArray(A.spans) ? A.spans : [];
  const spansB = Array.isArray(B.spans) ? B.spans : [];
  const match = matchTraces(spansA, spansB);

  page.append(
    h('div', { class: 'cmp-sides' }, sideOf('A', idA, A, null), sideOf('B', idB, B, A)),
    h('p', { class: 'cmp-summary', role: 'status' },
      h('strong', null, String(match.both)), ` span path${match.both === 1 ? '' : 's'} in both, `,
      h('strong', null, String(match.onlyA)), ' only in A, ',
      h('strong', null, String(match.onlyB)), ' only in B.'),
    h('p', { class: 'cmp-legend muted' },
      'Spans are matched by their path of names from the root. − only in A, + only in B. ',
      'Δ is B − A: ', h('span', { class: 'delta up' }, 'red'), ' when B spends more, ',
      h('span', { class: 'delta down' }, 'green'), ' when it spends less.'),
    tableOf(match.rows));
  page.setAttribute('data-ready', 'compare');
  return null;

  // ---- pieces ----

  function formOf() {
    const ia = h('input', { id: 'cmp-a', name: 'a', value: idA, spellcheck: 'false', autocomplete: 'off', maxlength: 32, 'data-search': '' });
    const ib = h('input', { id: 'cmp-b', name: 'b', value: idB, spellcheck: 'false', autocomplete: 'off', maxlength: 32 });
    const err = h('span', { class: 'error', role: 'alert' });
    const go = (x, y) => {
      const a = x.trim().toLowerCase();
      const b = y.trim().toLowerCase();
      const bad = [[ia, a], [ib, b]].filter(([, v]) => !HEX32.test(v));
      for (const el of [ia, ib]) el.removeAttribute('aria-invalid');
      for (const [el] of bad) el.setAttribute('aria-invalid', 'true');
      if (bad.length) { err.textContent = 'A trace id is 32 hexadecimal digits.'; bad[0][0].focus(); return; }
      ctx.navigate(`/ui/compare/${a}/${b}`);
    };
    const form = h('form', { class: 'cmp-form', 'aria-label': 'Traces to compare' },
      h('label', { for: 'cmp-a' }, 'Trace A', ia),
      h('label', { for: 'cmp-b' }, 'Trace B', ib),
      h('button', { type: 'submit', class: 'primary' }, 'Compare'),
      h('button', { type: 'button', class: 'plain', onclick: () => go(ib.value, ia.value) }, 'Swap A ↔ B'),
      err);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); go(ia.value, ib.value); });
    return form;
  }

  function rootOf(spans) {
    return spans.find((s) => s && !s.parent_span_id) || spans[0] || null;
  }

  function deltaEl(kind, a, b) {
    const d = delta(a, b);
    const fmt = kind === 'duration' ? duration : kind === 'tokens' ? tokens : kind === 'cost' ? money : String;
    const sign = d.cls === 'up' ? '+' : d.cls === 'down' ? '−' : '±';
    const pct = d.pct !== null && d.cls !== 'same' && Math.abs(d.pct) >= 0.5 ? ` (${sign}${Math.abs(d.pct) < 10 ? Math.abs(d.pct).toFixed(1) : Math.round(Math.abs(d.pct))}%)` : '';
    const text = d.cls === 'same' ? '±0' : `${sign}${fmt(Math.abs(d.d))}${pct}`;
    const word = d.cls === 'up' ? 'more' : d.cls === 'down' ? 'less' : 'the same';
    return h('span', { class: `delta ${d.cls}`, title: `B − A: ${word}` }, text);
  }

  function sideOf(tag, id, data, other) {
    const t = data.totals || {};
    const o = other ? other.totals || {} : null;
    const r = rootOf(Array.isArray(data.spans) ? data.spans : []);
    const services = [...new Set((data.spans || []).map((s) => s && s.service).filter((s) => typeof s === 'string'))];
    const row = (label, value, kind, key, fn) => [
      h('dt', null, label),
      h('dd', null, value, o && kind ? [' ', deltaEl(kind, fn ? fn(o) : o[key], fn ? fn(t) : t[key])] : null)];
    const tok = (x) => (Number(x.input_tokens) || 0) + (Number(x.output_tokens) || 0);
    return h('section', { class: 'cmp-side', 'aria-label': `Trace ${tag}` },
      h('h2', null, h('span', { class: 'tag' }, tag),
        r ? h('span', { class: 'val', title: shorten(r.name, 300) }, shorten(r.name, 120)) : h('span', { class: 'muted' }, '(no spans)')),
      h('p', { class: 'muted' }, h('a', { href: `/ui/trace/${id}` }, h('code', null, id)),
        r ? ` · ${time(r.start_unix_nano)}` : '',
        services.length ? [' · ', h('span', { class: 'val' }, shorten(services.join(', '), 160))] : null),
      h('dl', null,
        row('Duration', duration(t.duration_ns), 'duration', 'duration_ns'),
        row('Spans', String(t.span_count ?? (data.spans || []).length), 'count', 'span_count'),
        row('LLM calls', String(t.llm_calls ?? 0), 'count', 'llm_calls'),
        row('Tokens in → out', `${tokens(t.input_tokens)} → ${tokens(t.output_tokens)}`, 'tokens', null, tok),
        row('Cost', money(t.cost), 'cost', 'cost'),
        row('Errors', String(t.error_count ?? 0), 'count', 'error_count')));
  }

  function tableOf(rows) {
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'plain cmp-more' });
    let shown = 0;
    const next = () => {
      const end = Math.min(rows.length, shown + ROWS_PER_CHUNK);
      const frag = document.createDocumentFragment();
      for (; shown < end; shown++) frag.append(rowOf(rows[shown], shown));
      tbody.append(frag);
      more.hidden = shown >= rows.length;
      more.textContent = `Show ${Math.min(ROWS_PER_CHUNK, rows.length - shown)} more rows (${rows.length - shown} left)`;
    };
    more.addEventListener('click', () => { const focusRow = shown; next(); const b = tbody.querySelectorAll('tr[data-row]')[focusRow]; if (b) b.querySelector('a, button')?.focus(); });
    next();
    const th = (label, cls) => h('th', { scope: 'col', class: cls }, label);
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'cmp-table' },
        h('caption', null, 'Steps of both traces'),
        h('thead', null,
          h('tr', null, th('Span'),
            th('A duration', 'num side-a'), th('B duration', 'num'), th('Δ duration', 'num'),
            th('A tokens', 'num side-a'), th('B tokens', 'num'), th('Δ tokens', 'num'),
            th('A cost', 'num side-a'), th('B cost', 'num'), th('Δ cost', 'num'))),
        tbody),
      more);
  }

  function rowOf(r, index) {
    const fa = r.a ? figures(r.a) : null;
    const fb = r.b ? figures(r.b) : null;
    const cls = r.side === 'both' ? 'both' : `only-${r.side}`;
    const mark = r.side === 'a' ? '−' : r.side === 'b' ? '+' : '';
    const sr = r.side === 'a' ? ' (only in A)' : r.side === 'b' ? ' (only in B)' : '';
    const links = [];
    if (r.a) links.push(h('a', { href: `/ui/trace/${idA}?span=${encodeURIComponent(r.a.span_id)}`, class: 'side-link', 'aria-label': `span in trace A: ${shorten(r.name, 60)}` }, 'A'));
    if (r.b) links.push(h('a', { href: `/ui/trace/${idB}?span=${encodeURIComponent(r.b.span_id)}`, class: 'side-link', 'aria-label': `span in trace B: ${shorten(r.name, 60)}` }, 'B'));
    const llm = r.a && r.b && (isLlmCall(r.a) || isLlmCall(r.b));
    const tr = h('tr', { class: cls, 'data-row': index });
    let open = null;
    const btn = llm ? h('button', { type: 'button', class: 'msgdiff', 'aria-expanded': 'false' }, 'Messages diff') : null;
    if (btn) {
      btn.addEventListener('click', () => {
        if (open) { open.remove(); open = null; btn.setAttribute('aria-expanded', 'false'); return; }
        open = h('tr', { class: 'diffrow' }, h('td', { colspan: 10 }, messageDiffOf(r.a, r.b)));
        tr.after(open);
        btn.setAttribute('aria-expanded', 'true');
      });
    }
    const cell = (f, key, fmt) => h('td', { class: 'num' }, f ? (key === 'durationNs' || f[key] ? fmt(f[key]) : '') : '');
    const dcell = (kind, key) => h('td', { class: 'num' }, fa && fb && (fa[key] || fb[key] || key === 'durationNs') ? deltaEl(kind, fa[key], fb[key]) : '');
    tr.append(
      h('td', { class: 'name', style: { paddingLeft: `${8 + Math.min(r.depth, 30) * 14}px` } },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
        h('span', { class: 'nm', title: shorten(r.name, 300) }, shorten(r.name, 160)),
        h('span', { class: 'visually-hidden' }, sr), ' ',
        links.length ? h('span', { class: 'links' }, links) : null,
        btn),
      h('td', { class: 'num side-a' }, fa ? duration(fa.durationNs) : ''), cell(fb, 'durationNs', duration), dcell('duration', 'durationNs'),
      h('td', { class: 'num side-a' }, fa && fa.tokens ? tokens(fa.tokens) : ''), cell(fb, 'tokens', tokens), dcell('tokens', 'tokens'),
      h('td', { class: 'num side-a' }, fa && fa.cost ? money(fa.cost) : ''), cell(fb, 'cost', money), dcell('cost', 'cost'));
    return tr;
  }

  function messageDiffOf(a, b) {
    const la = messageLines(a.messages);
    const lb = messageLines(b.messages);
    const box = h('div', { class: 'mdiff', role: 'region', 'aria-label': `Messages of ${shorten(a.name, 60)}: A against B` });
    if (!la.length && !lb.length) {
      box.append(h('p', { class: 'note' }, 'Neither call has messages stored (the app sent no content, or it was not captured).'));
      return box;
    }
    const { ops, approx } = diffLines(la.map((l) => l.text), lb.map((l) => l.text));
    if (approx) box.append(h('p', { class: 'note' }, 'These messages are too long for a line-by-line comparison: the differing part is shown as removed from A, then added in B.'));
    const changed = ops.filter((o) => o.op !== '=').length;
    box.append(h('p', { class: 'muted summary' }, changed ? `${ops.filter((o) => o.op === '-').length} line(s) only in A, ${ops.filter((o) => o.op === '+').length} only in B.` : 'The messages are the same.'));
    const items = changed ? foldDiff(ops, 3) : ops; // equal messages are shown whole
    const lineEl = (o) => {
      const l = o.op === '+' ? lb[o.b] : la[o.a];
      const cls = o.op === '-' ? 'del' : o.op === '+' ? 'ins' : 'eq';
      return h('div', { class: `dl ${cls}${l.kind === 'role' ? ' role' : ''}` },
        h('span', { class: 'ln', 'aria-hidden': 'true' }, o.a !== undefined ? String(o.a + 1) : ''),
        h('span', { class: 'ln', 'aria-hidden': 'true' }, o.b !== undefined ? String(o.b + 1) : ''),
        h('span', { class: 'op' }, h('span', { 'aria-hidden': 'true' }, o.op === '=' ? ' ' : o.op === '-' ? '−' : '+'),
          o.op === '=' ? null : h('span', { class: 'visually-hidden' }, o.op === '-' ? 'only in A: ' : 'only in B: ')),
        folded(l.text));
    };
    const list = h('div', { class: 'lines' });
    const drawItems = (from, to, into, before) => {
      const frag = document.createDocumentFragment();
      for (let i = from; i < to; i++) {
        const it = items[i];
        if (it.op !== 'gap') { frag.append(lineEl(it)); continue; }
        const n = it.to - it.from;
        const gapEl = h('div', { class: 'gap' }, `… ${n} unchanged line${n === 1 ? '' : 's'} `);
        const show = h('button', { type: 'button' }, 'Show');
        show.addEventListener('click', () => {
          const f = document.createDocumentFragment();
          for (let k = it.from; k < it.to; k++) f.append(lineEl(ops[k]));
          gapEl.replaceWith(f);
        });
        gapEl.append(show);
        frag.append(gapEl);
      }
      into.insertBefore(frag, before || null);
    };
    drawItems(0, Math.min(items.length, DIFF_ITEMS), list);
    box.append(list);
    if (items.length > DIFF_ITEMS) {
      const rest = h('button', { type: 'button' }, `Show all ${items.length} lines`);
      rest.addEventListener('click', () => { drawItems(DIFF_ITEMS, items.length, list); rest.remove(); });
      box.append(rest);
    }
    return box;
  }

  // A long line shows its start and a button for the rest.
  function folded(text) {
    const el = h('span', { class: 'tx' });
    if (text.length <= LINE_FOLD) { el.textContent = text; return el; }
    const all = h('button', { type: 'button' }, `show all (${text.length.toLocaleString('en')} characters)`);
    all.addEventListener('click', () => { el.textContent = text; });
    el.append(shorten(text, LINE_FOLD), ' ', all);
    return el;
  }
}
