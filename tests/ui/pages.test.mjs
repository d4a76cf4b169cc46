// pages.test.mjs — the pages against the fixture traces, in Chromium: the search lists what
// the API finds, the waterfall shows the trace's tree and each span's time on its axis, the Messages tab shows a fixture LLM
// call's conversation, the agent graph shows the fixture's agents and tool, and compare
// opens two traces. Screenshots of each page go to LT_UI_ARTIFACTS/pages/.

import assert from 'node:assert/strict';

import { getOk, setupUi } from './lib.mjs';

const ui = setupUi({ suite: 'pages' });

async function api(p, path) {
  return getOk(p.server.http, path);
}

async function traceIdOf(p, service, rootName) {
  const list = await api(p, `/api/traces?start=0&limit=1000&service=${encodeURIComponent(service)}`);
  const t = list.traces.find((x) => !rootName || x.root_name === rootName);
  assert.ok(t, `no trace of ${service} ${rootName || ''}`);
  return t.trace_id;
}

ui.test('the search lists the traces the API finds', async (p) => {
  const want = (await api(p, '/api/traces?start=0&limit=1000&service=planner-service')).traces.map((t) => t.trace_id);
  assert.ok(want.length >= 4, `fixture multi-agent traces: ${want.length}`);
  await p.goto('/ui/traces?start=0&service=planner-service&limit=1000');
  await p.ready('traces');
  const got = await p.page.$$eval('table a[href^="/ui/trace/"]', (as) => [...new Set(as.map((a) => a.getAttribute('href').split('/')[3]))]);
  assert.deepEqual([...got].sort(), [...want].sort());
  await p.shot('traces');
});

ui.test('the waterfall shows the trace tree: every span once, children under their parent', async (p) => {
  const id = await traceIdOf(p, 'planner-service', 'invoke_agent planner');
  const t = await api(p, `/api/traces/${id}`);
  await p.goto(`/ui/trace/${id}`);
  await p.ready('trace');
  const rows = await p.page.$$eval('[role="treeitem"]', (els) => els.map((e) => ({
    id: e.getAttribute('data-span-id'),
    level: Number(e.getAttribute('aria-level')),
    name: e.querySelector('.wf-label')?.textContent,
  })));
  assert.equal(rows.length, t.spans.length);
  const byId = new Map(t.spans.map((s) => [s.span_id, s]));
  const depth = (s) => (s.parent_span_id && byId.has(s.parent_span_id) ? 1 + depth(byId.get(s.parent_span_id)) : 1);
  const seen = new Set();
  for (const r of rows) {
    const s = byId.get(r.id);
    assert.ok(s, `row ${r.id} is a span of the trace`);
    assert.equal(r.name, s.name);
    assert.equal(r.level, depth(s), `${s.name} at its depth`);
    if (s.parent_span_id && byId.has(s.parent_span_id)) assert.ok(seen.has(s.parent_span_id), `${s.name} after its parent`);
    seen.add(r.id);
  }
  assert.equal(rows[0].name, 'invoke_agent planner');
  // timings: each bar sits where its span ran, in percent of the trace's time
  const t0 = t.spans.reduce((m, s) => (BigInt(s.start_unix_nano) < m ? BigInt(s.start_unix_nano) : m), BigInt(t.spans[0].start_unix_nano));
  const t1 = t.spans.reduce((m, s) => (BigInt(s.end_unix_nano) > m ? BigInt(s.end_unix_nano) : m), 0n);
  const total = Number(t1 - t0);
  const bars = await p.page.$$eval('[role="treeitem"]', (els) => els.map((e) => {
    const b = e.querySelector('.wf-bar');
    return { id: e.getAttribute('data-span-id'), left: parseFloat(b.style.left), width: parseFloat(b.style.width) };
  }));
  for (const b of bars) {
    const s = byId.get(b.id);
    const left = (Number(BigInt(s.start_unix_nano) - t0) / total) * 100;
    const width = (Number(s.duration_ns) / total) * 100;
    assert.ok(Math.abs(b.left - left) < 0.01 && Math.abs(b.width - width) < 0.01,
      `${s.name}: bar at ${b.left}% for ${b.width}%, span at ${left}% for ${width}%`);
  }
  await p.shot('trace');
});

ui.test('the Messages tab shows the conversation of a fixture LLM call', async (p) => {
  const id = await traceIdOf(p, 'fixture-openinference', 'OpenAI Chat Completions');
  const t = await api(p, `/api/traces/${id}`);
  const span = t.spans.find((s) => s.messages);
  assert.ok(span, 'the fixture call has messages');
  await p.goto(`/ui/trace/${id}?span=${span.span_id}&tab=messages`);
  await p.ready('trace');
  const tab = p.page.locator('[role="tab"]', { hasText: 'Messages' });
  await tab.click();
  await p.page.waitForSelector('[role="tab"][aria-selected="true"]:has-text("Messages")');
  const text = await p.text();
  for (const m of [...span.messages.input, ...span.messages.output]) {
    for (const part of m.parts.filter((x) => x.type === 'text')) assert.ok(text.includes(part.content), `shown: ${part.content}`);
  }
  await p.shot('messages');
});

ui.test('the agent graph shows the fixture agents and their tool', async (p) => {
  const id = await traceIdOf(p, 'planner-service', 'invoke_agent planner');
  await p.goto(`/ui/trace/${id}/graph`);
  await p.ready('graph');
  const text = await p.text();
  for (const name of ['planner', 'coder', 'search_docs']) assert.ok(text.includes(name), `graph shows ${name}`);
  await p.shot('graph');
});

ui.test('compare opens two traces side by side', async (p) => {
  const list = (await api(p, '/api/traces?start=0&limit=1000&service=planner-service')).traces;
  assert.ok(list.length >= 2);
  await p.goto(`/ui/compare/${list[0].trace_id}/${list[1].trace_id}`);
  await p.ready('compare');
  const text = await p.text();
  assert.ok(text.includes('planner'), text.slice(0, 1500));
  await p.shot('compare');
}, { colorScheme: 'dark' });
