// fixtures.test.mjs — every captured OTLP request of every fixture scenario, sent as
// captured to a fresh `llmtrace serve`, must read back through the JSON API exactly as
// expected.json describes it (counts, tree, names, kinds, statuses, services, scopes, typed
// attributes, events, logs on their spans). The protobuf, JSON and gRPC captures of the same
// otel scenario must store identically (apart from ids and times).
//
// Ids are random per capture, so expected traces are mapped to stored traces by content.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  SPAN_KINDS, STATUS_CODES, anyValueToPlain, assertHealthy, canon, flattenOtlp, getJson, getOk,
  getTrace, getTraceOtlp, kvMap, listAllTraces, loadScenarios, normAnyValue, postFixtureFile,
  severityNumber, startServer, successProblem, typedToAnyValue, typedToPlain,
} from './lib.mjs';

const scenarios = loadScenarios();
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const DEC = /^(0|[1-9][0-9]*)$/;

// "otel/rag" -> { proto: canonical, json: canonical, grpc: canonical }
const transportForms = new Map();

// ---------------------------------------------------------------------------------------
// Reading a scenario back

/** Everything the API knows after a scenario was sent: summaries, and per trace the native
 * JSON and the OTLP/JSON views joined span by span. */
async function readBack(server) {
  const summaries = await listAllTraces(server);
  const traces = [];
  for (const summary of summaries) {
    const detail = await getTrace(server, summary.trace_id);
    const otlp = await getTraceOtlp(server, summary.trace_id);
    const flat = flattenOtlp(otlp);
    const bySpanId = new Map(flat.map((f) => [String(f.span.spanId).toLowerCase(), f]));
    const spans = (detail.spans || []).map((nat) => ({ nat, otlp: bySpanId.get(nat.span_id) }));
    const byId = new Map(spans.map((s) => [s.nat.span_id, s]));
    for (const s of spans) {
      const p = s.nat.parent_span_id;
      s.parentName = p === null || p === undefined ? null : (byId.get(p)?.nat.name ?? `<remote ${p}>`);
    }
    traces.push({ summary, detail, otlp, flat, spans });
  }
  return { summaries, traces };
}

// ---------------------------------------------------------------------------------------
// Comparing one expected span with one stored span. Returns [{ cat, msg }].

function attrLookup(otlpAttrs, source) {
  // "@attr.field": field of the JSON string held by attribute attr (attr names have dots).
  if (source.startsWith('@')) {
    const s = source.slice(1);
    for (let i = s.lastIndexOf('.'); i > 0; i = s.lastIndexOf('.', i - 1)) {
      const key = s.slice(0, i);
      if (otlpAttrs.has(key)) {
        const av = otlpAttrs.get(key);
        if (!('stringValue' in av)) return { missing: `${key} is not a string` };
        let obj;
        try { obj = JSON.parse(av.stringValue); } catch { return { missing: `${key} is not JSON` }; }
        let v = obj;
        for (const part of s.slice(i + 1).split('.')) v = v?.[part];
        return { json: v };
      }
    }
    return { missing: source };
  }
  if (!otlpAttrs.has(source)) return { missing: source };
  return { av: otlpAttrs.get(source) };
}

function compareSpan(e, st) {
  const problems = [];
  const add = (cat, msg) => problems.push({ cat, msg: `${e.name}: ${msg}` });
  const { nat, otlp } = st;
  if (!otlp) {
    add('structure', `span ${nat.span_id} is missing from ?format=otlp`);
    return problems;
  }
  const sp = otlp.span;
  // structure
  if (nat.name !== e.name) add('structure', `name ${JSON.stringify(nat.name)}`);
  if (sp.name !== e.name) add('structure', `otlp name ${JSON.stringify(sp.name)}`);
  if (st.parentName !== e.parent) add('structure', `parent ${JSON.stringify(st.parentName)}, expected ${JSON.stringify(e.parent)}`);
  if (e.parent === null && nat.parent_span_id !== null) add('structure', `root span has parent_span_id ${JSON.stringify(nat.parent_span_id)}, expected null`);
  if (nat.kind !== e.kind) add('structure', `kind ${JSON.stringify(nat.kind)}, expected ${e.kind}`);
  if ((sp.kind ?? 0) !== SPAN_KINDS.indexOf(e.kind)) add('structure', `otlp kind ${JSON.stringify(sp.kind)}, expected ${SPAN_KINDS.indexOf(e.kind)}`);
  // status
  const wantMsg = e.status_message ?? '';
  if (nat.status?.code !== e.status) add('status', `status.code ${JSON.stringify(nat.status?.code)}, expected ${e.status}`);
  if ((nat.status?.message ?? '') !== wantMsg) add('status', `status.message ${JSON.stringify(nat.status?.message)}, expected ${JSON.stringify(wantMsg)}`);
  if ((sp.status?.code ?? 0) !== STATUS_CODES.indexOf(e.status)) add('status', `otlp status.code ${JSON.stringify(sp.status?.code)}, expected ${STATUS_CODES.indexOf(e.status)}`);
  if ((sp.status?.message ?? '') !== wantMsg) add('status', `otlp status.message ${JSON.stringify(sp.status?.message)}`);
  // service (resource) and scope
  const res = kvMap(otlp.resource.attributes, 'resource');
  if (res.get('service.name')?.stringValue !== e.service_name) add('resource', `otlp service.name ${JSON.stringify(res.get('service.name'))}, expected ${e.service_name}`);
  if (nat.resource?.['service.name'] !== e.service_name) add('resource', `resource["service.name"] ${JSON.stringify(nat.resource?.['service.name'])}, expected ${e.service_name}`);
  if (otlp.scope.name !== e.scope) add('scope', `otlp scope.name ${JSON.stringify(otlp.scope.name)}, expected ${e.scope}`);
  if (nat.scope?.name !== e.scope) add('scope', `scope.name ${JSON.stringify(nat.scope?.name)}, expected ${e.scope}`);

  let attrs;
  try { attrs = kvMap(sp.attributes, `${e.name} attributes`); } catch (err) { add('attributes', err.message); attrs = new Map(); }
  // attributes: exact key set and exact typed values
  if (e.attributes) {
    const wantKeys = Object.keys(e.attributes).sort();
    const gotKeys = [...attrs.keys()].sort();
    if (canon(wantKeys) !== canon(gotKeys)) add('attributes', `otlp attribute keys ${JSON.stringify(gotKeys)}, expected ${JSON.stringify(wantKeys)}`);
    const natKeys = Object.keys(nat.attributes || {}).sort();
    if (canon(wantKeys) !== canon(natKeys)) add('attributes', `native attribute keys ${JSON.stringify(natKeys)}, expected ${JSON.stringify(wantKeys)}`);
    for (const [k, t] of Object.entries(e.attributes)) {
      const want = typedToAnyValue(t);
      if (attrs.has(k) && canon(normAnyValue(attrs.get(k))) !== canon(normAnyValue(want))) {
        add('attributes', `otlp attribute ${k} = ${JSON.stringify(attrs.get(k))}, expected ${JSON.stringify(want)}`);
      }
      if (nat.attributes && k in nat.attributes && canon(nat.attributes[k]) !== canon(typedToPlain(t))) {
        add('attributes', `native attribute ${k} = ${JSON.stringify(nat.attributes[k])}, expected ${JSON.stringify(typedToPlain(t))}`);
      }
    }
  }
  // events: count, names in order, attribute keys
  if (e.events) {
    const got = sp.events || [];
    if (got.length !== e.events.length) add('events', `otlp has ${got.length} events, expected ${e.events.length}`);
    const natEv = nat.events || [];
    if (natEv.length !== e.events.length) add('events', `native has ${natEv.length} events, expected ${e.events.length}`);
    e.events.forEach((ev, i) => {
      if (got[i]?.name !== ev.name) add('events', `otlp event ${i} name ${JSON.stringify(got[i]?.name)}, expected ${ev.name}`);
      if (natEv[i]?.name !== ev.name) add('events', `native event ${i} name ${JSON.stringify(natEv[i]?.name)}, expected ${ev.name}`);
      const keys = (got[i]?.attributes || []).map((kv) => kv.key).sort();
      if (canon(keys) !== canon([...ev.attribute_keys].sort())) add('events', `event ${ev.name} attribute keys ${JSON.stringify(keys)}, expected ${JSON.stringify(ev.attribute_keys)}`);
      const natKeys = Object.keys(natEv[i]?.attributes || {}).sort();
      if (canon(natKeys) !== canon([...ev.attribute_keys].sort())) add('events', `native event ${ev.name} attribute keys ${JSON.stringify(natKeys)}`);
    });
  }
  // GenAI values: each one must be readable, with its exact type, from the attribute
  // expected.json names as its source (this covers the large batches, whose attributes
  // are not listed).
  for (const [field, want] of Object.entries(e.genai || {})) {
    const source = e.genai_sources?.[field];
    if (!source || source.startsWith('status.') || source.startsWith('events[') || typeof want === 'boolean') continue;
    const got = attrLookup(attrs, source);
    if (got.missing) { add('genai', `${field}: attribute ${got.missing} not found`); continue; }
    if ('json' in got) {
      if (canon(got.json) !== canon(want)) add('genai', `${field}: ${source} = ${JSON.stringify(got.json)}, expected ${JSON.stringify(want)}`);
      continue;
    }
    let wantAv;
    if (typeof want === 'number') wantAv = Number.isInteger(want) ? { intValue: String(want) } : { doubleValue: want };
    else if (typeof want === 'string') wantAv = { stringValue: want };
    else if (Array.isArray(want)) {
      // string[] attribute, or a single string (OpenInference llm.finish_reason)
      wantAv = 'stringValue' in got.av && want.length === 1
        ? { stringValue: want[0] }
        : { arrayValue: { values: want.map((x) => ({ stringValue: x })) } };
    }
    if (canon(normAnyValue(got.av)) !== canon(wantAv)) add('genai', `${field}: ${source} = ${JSON.stringify(got.av)}, expected ${JSON.stringify(wantAv)}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Mapping expected traces/spans to stored ones by content

function nameMultiset(list) {
  return canon(list.slice().sort());
}

/** Greedy best match per expected span inside one stored trace. Returns { pairs, problems }. */
function matchSpans(expSpans, stored) {
  const used = new Set();
  const pairs = [];
  const problems = [];
  for (const e of expSpans) {
    let best = null;
    for (const st of stored.spans) {
      if (used.has(st) || st.nat.name !== e.name) continue;
      const p = compareSpan(e, st);
      if (!best || p.length < best.p.length) best = { st, p };
      if (p.length === 0) break;
    }
    if (!best) {
      problems.push({ cat: 'structure', msg: `no stored span named ${JSON.stringify(e.name)} left in trace ${stored.summary.trace_id}` });
      continue;
    }
    used.add(best.st);
    pairs.push({ e, st: best.st });
    problems.push(...best.p);
  }
  return { pairs, problems };
}

/** Maps expected traces to stored traces. Returns { matches: [{ et, stored, pairs }], problems }. */
function matchScenario(expected, stored) {
  const expTraces = expected.traces.map((t) => ({
    t, spans: expected.spans.filter((s) => s.trace_index === t.trace_index),
  }));
  const problems = [];
  const matches = [];
  const usedStored = new Set();
  for (const et of expTraces) {
    const want = nameMultiset(et.spans.map((s) => s.name));
    let best = null;
    for (const st of stored.traces) {
      if (usedStored.has(st)) continue;
      if (nameMultiset(st.spans.map((s) => s.nat.name)) !== want) continue;
      const m = matchSpans(et.spans, st);
      if (!best || m.problems.length < best.m.problems.length) best = { st, m };
      if (m.problems.length === 0) break;
    }
    if (!best) {
      problems.push({ cat: 'structure', msg: `expected trace ${et.t.trace_index} (root ${et.t.root_spans.join(',')}, ${et.spans.length} spans) has no stored trace with the same span names` });
      continue;
    }
    usedStored.add(best.st);
    matches.push({ et, stored: best.st, pairs: best.m.pairs });
    problems.push(...best.m.problems.map((p) => ({ ...p, msg: `trace ${et.t.trace_index}: ${p.msg}` })));
  }
  for (const st of stored.traces) {
    if (!usedStored.has(st)) {
      problems.push({ cat: 'structure', msg: `stored trace ${st.summary.trace_id} (${st.spans.map((s) => s.nat.name).join(', ')}) matches no expected trace` });
    }
  }
  return { matches, problems };
}

function only(problems, cat) {
  return problems.filter((p) => p.cat === cat).map((p) => p.msg);
}

function assertNoProblems(list, what) {
  assert.deepEqual(list.slice(0, 40), [], `${what}: ${list.length} problem(s)`);
}

// ---------------------------------------------------------------------------------------
// Generic consistency of a stored trace (independent of expected.json)

function traceProblems(tr) {
  const out = [];
  const { summary: s, detail: d, flat, spans } = tr;
  const id = s.trace_id;
  if (!HEX32.test(id)) out.push(`summary trace_id ${JSON.stringify(id)} is not 32 lower-case hex`);
  if (d.trace_id !== id) out.push(`detail trace_id ${d.trace_id} != summary ${id}`);
  if (s.span_count !== spans.length) out.push(`${id}: summary span_count ${s.span_count}, detail has ${spans.length} spans`);
  const errors = spans.filter((x) => x.nat.status?.code === 'ERROR').length;
  if (s.error_count !== errors) out.push(`${id}: summary error_count ${s.error_count}, detail has ${errors} ERROR spans`);
  if (flat.length !== spans.length) out.push(`${id}: ?format=otlp has ${flat.length} spans, detail ${spans.length}`);
  let minStart = null;
  let maxEnd = null;
  let prev = null;
  const seen = new Set();
  for (const x of spans) {
    const n = x.nat;
    if (!HEX16.test(n.span_id)) out.push(`${id}: span_id ${JSON.stringify(n.span_id)} is not 16 lower-case hex`);
    if (!(n.parent_span_id === null || HEX16.test(n.parent_span_id))) out.push(`${id}: parent_span_id ${JSON.stringify(n.parent_span_id)} (null for a root)`);
    if (!DEC.test(n.start_unix_nano) || !DEC.test(n.end_unix_nano)) {
      out.push(`${id}: ${n.name} times are not decimal strings: ${JSON.stringify([n.start_unix_nano, n.end_unix_nano])}`);
      continue;
    }
    const st = BigInt(n.start_unix_nano);
    const en = BigInt(n.end_unix_nano);
    if (en < st) out.push(`${id}: ${n.name} ends before it starts`);
    if (minStart === null || st < minStart) minStart = st;
    if (maxEnd === null || en > maxEnd) maxEnd = en;
    if (prev !== null && st < prev) out.push(`${id}: spans not ordered by start time at ${n.name}`);
    if (prev !== null && st === prev && n.parent_span_id && !seen.has(n.parent_span_id) && spans.some((y) => y.nat.span_id === n.parent_span_id)) {
      out.push(`${id}: ${n.name} comes before its parent on a start-time tie`);
    }
    prev = st;
    seen.add(n.span_id);
    if (x.otlp) {
      const o = x.otlp.span;
      if (String(o.traceId).toLowerCase() !== id) out.push(`${id}: otlp traceId ${o.traceId}`);
      if (String(o.startTimeUnixNano) !== n.start_unix_nano || String(o.endTimeUnixNano) !== n.end_unix_nano) {
        out.push(`${id}: ${n.name} otlp times ${o.startTimeUnixNano}/${o.endTimeUnixNano} differ from native ${n.start_unix_nano}/${n.end_unix_nano}`);
      }
      if (typeof o.startTimeUnixNano !== 'string') out.push(`${id}: otlp startTimeUnixNano is not a string`);
      const otlpParent = o.parentSpanId ? String(o.parentSpanId).toLowerCase() : null;
      if (otlpParent !== n.parent_span_id) out.push(`${id}: ${n.name} otlp parentSpanId ${JSON.stringify(o.parentSpanId)} vs native ${n.parent_span_id}`);
    } else {
      out.push(`${id}: span ${n.span_id} missing from ?format=otlp`);
    }
  }
  if (minStart !== null) {
    if (s.start_unix_nano !== String(minStart)) out.push(`${id}: summary start_unix_nano ${JSON.stringify(s.start_unix_nano)}, earliest span start ${minStart}`);
    const root = spans.find((x) => x.nat.parent_span_id === null);
    const okDur = [String(maxEnd - minStart)];
    if (root) okDur.push(String(BigInt(root.nat.end_unix_nano) - BigInt(root.nat.start_unix_nano)));
    if (!okDur.includes(s.duration_ns)) out.push(`${id}: summary duration_ns ${JSON.stringify(s.duration_ns)}, expected one of ${okDur.join(', ')}`);
  }
  const services = [...new Set(spans.map((x) => x.nat.resource?.['service.name']))].sort();
  if (canon([...(s.services || [])].sort()) !== canon(services)) out.push(`${id}: summary services ${JSON.stringify(s.services)}, spans have ${JSON.stringify(services)}`);
  if (Array.isArray(d.logs) && d.logs.length) out.push(`${id}: ${d.logs.length} log record(s) matched no stored span`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Logs and the canonical (id- and time-free) form of a stored scenario

function storedLogs(tr) {
  const out = [];
  for (const x of tr.spans) for (const l of x.nat.logs || []) out.push({ span: x.nat.name, log: l });
  return out;
}

function logEventName(l) {
  return l.event_name || l.attributes?.['event.name'] || null;
}

function stripIdsAndTimes(v) {
  if (Array.isArray(v)) return v.map(stripIdsAndTimes);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (/(unix_nano|UnixNano|^trace_?[iI]d$|^span_?[iI]d$|^parent_?[sS]pan_?[iI]d$)$/.test(k)) continue;
      o[k] = stripIdsAndTimes(x);
    }
    return o;
  }
  return v;
}

/** proto3 JSON may print or omit fields holding their default value: drop them (AnyValues,
 * under "value" and "body", are kept whole since a oneof member is never a default). */
function dropDefaults(v) {
  if (Array.isArray(v)) return v.map(dropDefaults);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      const y = k === 'value' || k === 'body' ? x : dropDefaults(x);
      if (y === 0 || y === '' || y === null || y === undefined || y === false) continue;
      if (Array.isArray(y) && y.length === 0) continue;
      if (y && typeof y === 'object' && !Array.isArray(y) && Object.keys(y).length === 0) continue;
      o[k] = y;
    }
    return o;
  }
  return v;
}

/** Reports the difference of two canonical scenario forms briefly (or null when equal). */
function diffForms(a, b) {
  if (canon(a) === canon(b)) return null;
  const spansA = a.flatMap((t) => JSON.parse(t));
  const spansB = b.flatMap((t) => JSON.parse(t));
  const onlyA = spansA.filter((x) => !spansB.includes(x));
  const onlyB = spansB.filter((x) => !spansA.includes(x));
  const cut = (s) => (s.length > 1500 ? `${s.slice(0, 1500)}...` : s);
  return `${a.length} vs ${b.length} traces, ${spansA.length} vs ${spansB.length} spans; ` +
    `${onlyA.length} span(s) only in the first, e.g. ${cut(onlyA[0] || '-')}\n` +
    `${onlyB.length} only in the second, e.g. ${cut(onlyB[0] || '-')}`;
}

function sortedAttrs(kvs) {
  return (kvs || []).map((kv) => ({ key: kv.key, value: normAnyValue(kv.value) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Everything stored for a scenario except ids and times, in a canonical order. */
function canonicalScenario(stored) {
  const traces = stored.traces.map((tr) => {
    const spans = tr.spans.map((x) => {
      const o = x.otlp ? x.otlp.span : {};
      const span = dropDefaults(stripIdsAndTimes({
        ...o,
        attributes: sortedAttrs(o.attributes),
        events: (o.events || []).map((ev) => ({ ...ev, attributes: sortedAttrs(ev.attributes) })),
        links: (o.links || []).map((ln) => ({ ...ln, attributes: sortedAttrs(ln.attributes) })),
      }));
      return canon({
        resource: sortedAttrs(x.otlp?.resource?.attributes),
        scope: dropDefaults({ name: x.otlp?.scope?.name, version: x.otlp?.scope?.version, attributes: sortedAttrs(x.otlp?.scope?.attributes) }),
        parent: x.parentName,
        span,
        logs: (x.nat.logs || []).map((l) => canon(stripIdsAndTimes(l))).sort(),
      });
    }).sort();
    return canon(spans);
  }).sort();
  return traces;
}

// ---------------------------------------------------------------------------------------

const libraries = [...new Set(scenarios.map((s) => s.library))];

test('fixtures are present', () => {
  assert.ok(scenarios.length >= 40, `only ${scenarios.length} scenarios found under LT_FIXTURES`);
  for (const l of ['otel', 'traceloop', 'openinference', 'langfuse']) assert.ok(libraries.includes(l), `library ${l} missing`);
});

for (const library of libraries) {
  describe(library, () => {
    for (const sc of scenarios.filter((s) => s.library === library)) {
      describe(sc.scenario, () => {
        const exp = sc.expected;
        let server;
        let posted = [];
        let stored;
        let match;

        before(async () => {
          server = await startServer();
          posted = [];
          try {
            for (const f of sc.files) {
              const r = await postFixtureFile(server, f);
              posted.push({ file: f, ...r });
            }
            stored = await readBack(server);
            match = matchScenario(exp, stored);
          } catch (e) {
            e.message += `\n(llmtrace alive: ${server.alive()}; stderr tail: ${server.stderr().slice(-3000)})`;
            throw e;
          }
        });

        after(async () => {
          if (server) await server.stop();
        });

        test('every captured request is accepted', () => {
          const bad = [];
          for (const p of posted) {
            const problem = successProblem(p.res, p.headers['content-type']);
            if (problem) bad.push(`${p.file.name} -> ${p.file.signal}: ${problem}`);
          }
          assert.deepEqual(bad, []);
          assertHealthy(server);
        });

        test('trace and span counts', () => {
          assert.equal(stored.summaries.length, exp.trace_count, 'number of traces');
          const spans = stored.traces.reduce((n, t) => n + t.spans.length, 0);
          assert.equal(spans, exp.span_count, 'number of spans (detail views)');
          const summed = stored.summaries.reduce((n, t) => n + t.span_count, 0);
          assert.equal(summed, exp.span_count, 'sum of summary span_count');
          const ids = new Set(stored.summaries.map((t) => t.trace_id));
          assert.equal(ids.size, stored.summaries.length, 'trace ids in the list are unique');
        });

        test('trace summaries and detail views are consistent', () => {
          const out = [];
          for (const tr of stored.traces) out.push(...traceProblems(tr));
          for (let i = 1; i < stored.summaries.length; i++) {
            const a = stored.summaries[i - 1].start_unix_nano;
            const b = stored.summaries[i].start_unix_nano;
            if (DEC.test(a) && DEC.test(b) && BigInt(a) < BigInt(b)) out.push(`list not newest first at ${i}: ${a} < ${b}`);
          }
          assertNoProblems(out, 'consistency');
        });

        test('each expected trace is stored: span names, roots and services', () => {
          const out = only(match.problems, 'structure');
          for (const m of match.matches) {
            const s = m.stored.summary;
            const roots = m.stored.spans.filter((x) => x.nat.parent_span_id === null).map((x) => x.nat.name).sort();
            if (canon(roots) !== canon([...m.et.t.root_spans].sort())) out.push(`trace ${m.et.t.trace_index}: roots ${JSON.stringify(roots)}, expected ${JSON.stringify(m.et.t.root_spans)}`);
            if (m.et.t.root_spans.length === 1 && s.root_name !== m.et.t.root_spans[0]) out.push(`trace ${m.et.t.trace_index}: root_name ${JSON.stringify(s.root_name)}, expected ${m.et.t.root_spans[0]}`);
            const rootSpan = m.et.spans.find((x) => x.parent === null);
            if (rootSpan && s.root_service !== rootSpan.service_name) out.push(`trace ${m.et.t.trace_index}: root_service ${JSON.stringify(s.root_service)}, expected ${rootSpan.service_name}`);
            if (canon([...(s.services || [])].sort()) !== canon([...m.et.t.service_names].sort())) out.push(`trace ${m.et.t.trace_index}: services ${JSON.stringify(s.services)}, expected ${JSON.stringify(m.et.t.service_names)}`);
            if (s.span_count !== m.et.t.span_count) out.push(`trace ${m.et.t.trace_index}: span_count ${s.span_count}, expected ${m.et.t.span_count}`);
          }
          // span name counts over the scenario
          const counts = {};
          for (const tr of stored.traces) for (const x of tr.spans) counts[x.nat.name] = (counts[x.nat.name] || 0) + 1;
          if (canon(counts) !== canon(exp.span_name_counts)) out.push(`span name counts ${JSON.stringify(counts)}, expected ${JSON.stringify(exp.span_name_counts)}`);
          assertNoProblems(out, 'structure');
        });

        test('parent/child tree and span kinds', () => {
          assertNoProblems(only(match.problems, 'structure').filter((m) => /parent|kind|root/.test(m)), 'tree');
        });

        test('span statuses', () => {
          assertNoProblems(only(match.problems, 'status'), 'status');
          const wantErrors = exp.spans.filter((s) => s.status === 'ERROR').length;
          const gotErrors = stored.summaries.reduce((n, t) => n + t.error_count, 0);
          assert.equal(gotErrors, wantErrors, 'sum of error_count');
        });

        test('resources, service names and scopes', () => {
          const out = [...only(match.problems, 'resource'), ...only(match.problems, 'scope')];
          const resources = new Set();
          const scopes = new Set();
          for (const tr of stored.traces) {
            for (const f of tr.flat) {
              resources.add(canon(Object.fromEntries((f.resource.attributes || []).map((kv) => [kv.key, anyValueToPlain(kv.value)]))));
              scopes.add(`${f.scope.name}@${f.scope.version ?? ''}`);
            }
          }
          const wantRes = exp.resource_attributes.map(canon).sort();
          if (canon([...resources].sort()) !== canon(wantRes)) out.push(`resources ${[...resources].join(' ')}; expected ${wantRes.join(' ')}`);
          if (canon([...scopes].sort()) !== canon([...exp.scopes].sort())) out.push(`scopes ${JSON.stringify([...scopes])}, expected ${JSON.stringify(exp.scopes)}`);
          assertNoProblems(out, 'resource/scope');
        });

        test('attribute values with their exact OTLP types', () => {
          assertNoProblems(only(match.problems, 'attributes'), 'attributes');
        });

        test('GenAI source attributes hold the expected values', () => {
          assertNoProblems(only(match.problems, 'genai'), 'genai');
        });

        test('span events', () => {
          assertNoProblems(only(match.problems, 'events'), 'events');
        });

        test('log records are attached to their spans', () => {
          const all = stored.traces.flatMap(storedLogs);
          assert.equal(all.length, exp.log_record_count, 'number of log records attached to spans');
          const withContent = exp.logs.length > 0 && exp.logs.every((l) => 'body' in l);
          const key = (span, event, sev, attrKeys, attrs, body) => canon(withContent
            ? { span, event, sev, attrKeys, attrs, body }
            : { span, event, sev, attrKeys });
          const want = exp.logs.map((l) => key(l.span, l.event_name, severityNumber(l.severity), [...l.attribute_keys].sort(), l.attributes, l.body)).sort();
          const got = all.map(({ span, log }) => key(span, logEventName(log), log.severity_number,
            Object.keys(log.attributes || {}).sort(), log.attributes, log.body)).sort();
          const missing = want.filter((w) => !got.includes(w));
          const extra = got.filter((g) => !want.includes(g));
          assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }, { missing: [], extra: [] });
          assert.deepEqual(got, want);
          for (const { log } of all) {
            if (log.event_name) assert.equal(log.event_name, log.attributes?.['event.name'] ?? log.event_name);
          }
        });

        test('services and operations endpoints', async () => {
          const svc = await getOk(server.http, '/api/services');
          assert.deepEqual([...svc.services].sort(), [...exp.service_names].sort());
          for (const s of exp.service_names) {
            const ops = await getOk(server.http, `/api/services/${encodeURIComponent(s)}/operations`);
            const got = [...new Set(ops.operations.map((o) => `${o.name}|${o.span_kind}`))].sort();
            const want = [...new Set(exp.spans.filter((x) => x.service_name === s).map((x) => `${x.name}|${x.kind}`))].sort();
            assert.deepEqual(got, want, `operations of ${s}`);
          }
          const unknown = await getJson(server.http, `/api/services/${encodeURIComponent('no-such-service')}/operations`);
          assert.ok(unknown.status === 200 || unknown.status === 404, `unknown service: ${unknown.status}`);
          if (unknown.status === 200) assert.deepEqual(unknown.json.operations, []);
        });

        if (library === 'otel') {
          test('record the canonical form for the transport comparison', () => {
            const m = /^(.*)-(proto|json|grpc)$/.exec(sc.scenario);
            assert.ok(m, `otel scenario name ${sc.scenario} has no transport suffix`);
            if (!transportForms.has(m[1])) transportForms.set(m[1], {});
            transportForms.get(m[1])[m[2]] = canonicalScenario(stored);
          });
        }
      });
    }
  });
}

describe('otel: protobuf, JSON and gRPC captures store identically', () => {
  const bases = [...new Set(scenarios.filter((s) => s.library === 'otel').map((s) => s.scenario.replace(/-(proto|json|grpc)$/, '')))];
  for (const base of bases) {
    test(base, () => {
      const forms = transportForms.get(base) || {};
      for (const t of ['proto', 'json', 'grpc']) assert.ok(forms[t], `${base}-${t} was not read back (its scenario failed earlier)`);
      assert.ok(forms.proto.length > 0, 'nothing stored');
      assert.equal(diffForms(forms.proto, forms.json), null, `${base}: protobuf vs JSON capture`);
      assert.equal(diffForms(forms.proto, forms.grpc), null, `${base}: protobuf vs gRPC capture`);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Search filters and pagination over several scenarios in one store

describe('API queries over several scenarios', () => {
  const pick = (lib, name) => scenarios.find((s) => s.library === lib && s.scenario === name);
  const loaded = [pick('otel', 'errors-proto'), pick('otel', 'single-chat-json'), pick('otel', 'batch-proto'), pick('otel', 'multi-agent-proto')];
  let server;
  let all;
  let details;

  before(async () => {
    server = await startServer();
    for (const sc of loaded) {
      for (const f of sc.files) {
        const { res, headers } = await postFixtureFile(server, f);
        const p = successProblem(res, headers['content-type']);
        if (p) throw new Error(`${sc.scenario}/${f.name}: ${p}`);
      }
    }
    all = await listAllTraces(server);
    details = new Map();
    for (const t of all) details.set(t.trace_id, await getTrace(server, t.trace_id));
  });

  after(async () => {
    if (server) await server.stop();
  });

  const ids = (list) => list.map((t) => t.trace_id).sort();
  const query = async (q) => listAllTraces(server, q);

  test('everything is listed', () => {
    const want = loaded.reduce((n, s) => n + s.expected.trace_count, 0);
    assert.equal(all.length, want);
  });

  test('status=error', async () => {
    const want = all.filter((t) => t.error_count > 0);
    assert.equal(want.length, 3, 'the three errors traces have error spans');
    assert.deepEqual(ids(await query({ status: 'error' })), ids(want));
  });

  test('service=', async () => {
    const coder = await query({ service: 'coder-service' });
    assert.equal(coder.length, 1);
    assert.ok(coder[0].services.includes('coder-service'));
    const otelSvc = await query({ service: 'fixture-otel' });
    assert.deepEqual(ids(otelSvc), ids(all.filter((t) => t.services.includes('fixture-otel'))));
    const none = await getOk(server.http, '/api/traces?service=no-such-service');
    assert.deepEqual(none.traces, []);
    assert.ok(none.next_cursor === null || none.next_cursor === undefined, 'no next_cursor on an empty result');
  });

  test('name=', async () => {
    const got = await query({ name: 'batch.conversation' });
    assert.equal(got.length, 20);
    assert.ok(got.every((t) => t.root_name === 'batch.conversation'));
  });

  test('attr=KEY=VALUE', async () => {
    const got = await query({ attr: 'error.type=RateLimitError' });
    assert.equal(got.length, 1);
    const d = details.get(got[0].trace_id);
    assert.equal(d.spans[0].attributes['error.type'], 'RateLimitError');
    assert.deepEqual(await query({ attr: 'error.type=NoSuchError' }), []);
  });

  test('combined filters', async () => {
    const got = await query({ service: 'fixture-otel', status: 'error' });
    assert.equal(got.length, 3);
    assert.deepEqual(await query({ service: 'coder-service', status: 'error' }), []);
  });

  test('min_duration / max_duration (nanoseconds)', async () => {
    const durs = [...new Set(all.map((t) => BigInt(t.duration_ns)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.ok(durs.length >= 3, 'need distinct durations');
    const mid = Math.floor(durs.length / 2);
    const t = (durs[mid - 1] + durs[mid]) / 2n;
    const ge = await query({ min_duration: String(t) });
    assert.deepEqual(ids(ge), ids(all.filter((x) => BigInt(x.duration_ns) >= t)));
    const le = await query({ max_duration: String(t) });
    assert.deepEqual(ids(le), ids(all.filter((x) => BigInt(x.duration_ns) <= t)));
    assert.equal(ge.length + le.length, all.length);
  });

  test('start / end bound the trace start', async () => {
    const starts = [...new Set(all.map((t) => BigInt(t.start_unix_nano)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.ok(starts.length >= 3);
    const mid = Math.floor(starts.length / 2);
    const pivot = (starts[mid - 1] + starts[mid]) / 2n;
    const after_ = await query({ start: String(pivot) });
    assert.deepEqual(ids(after_), ids(all.filter((x) => BigInt(x.start_unix_nano) >= pivot)));
    const before_ = await query({ end: String(pivot) });
    assert.deepEqual(ids(before_), ids(all.filter((x) => BigInt(x.start_unix_nano) <= pivot)));
  });

  test('limit and cursor pagination', async () => {
    const pages = [];
    let cursor = null;
    for (let i = 0; i < 50; i++) {
      const q = new URLSearchParams({ limit: '7' });
      if (cursor) q.set('cursor', cursor);
      const j = await getOk(server.http, `/api/traces?${q}`);
      assert.ok(j.traces.length <= 7, `page of ${j.traces.length} with limit 7`);
      pages.push(...j.traces);
      cursor = j.next_cursor;
      if (!cursor) break;
    }
    assert.equal(cursor ?? null, null, 'pagination ended');
    assert.deepEqual(pages.map((t) => t.trace_id), all.map((t) => t.trace_id), 'pages concatenate to the full list, in order');
    assert.equal(new Set(pages.map((t) => t.trace_id)).size, pages.length, 'no trace twice');
    const first = await getOk(server.http, '/api/traces?limit=1');
    assert.equal(first.traces.length, 1);
    assert.equal(first.traces[0].trace_id, all[0].trace_id);
    const big = await getJson(server.http, '/api/traces?limit=5000');
    assert.equal(big.status, 200, 'a limit above the maximum is capped, not refused');
    const dflt = await getOk(server.http, '/api/traces');
    assert.equal(dflt.traces.length, Math.min(20, all.length), 'default limit 20');
  });

  test('server healthy', () => assertHealthy(server));
});
