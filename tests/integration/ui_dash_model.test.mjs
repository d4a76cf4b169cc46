// The Dashboard's and Live tail's pure code (src/ui/pages/charts.js, live_model.js), imported as
// the browser imports it: axis ticks and scales (checked as properties over many random ranges
// and time zones), stacking and bucket sums, ranges from the URL, the live buffer against a
// plain array model, filters; and, against a real llmtrace, that the page's sums over the time
// series and the summary agree with the API, and that the live buffer fed by GET /api/live
// holds every span that arrived, once.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pages = path.resolve(here, '../../src/ui/pages');
const C = await import(pathToFileURL(path.join(pages, 'charts.js')).href);
const L = await import(pathToFileURL(path.join(pages, 'live_model.js')).href);

/** A seeded generator of floats in [0, 1) (reproducible random cases). */
function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 16777216;
  };
}

const isNice = (step) => {
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-9);
};

describe('numbers', () => {
  test('niceStep is the smallest 1-2-5 value at or above its argument', () => {
    const r = seeded(1);
    for (let i = 0; i < 2000; i++) {
      const raw = 10 ** (r() * 16 - 8);
      const s = C.niceStep(raw);
      assert.ok(isNice(s), `${s} is 1, 2 or 5 times a power of ten`);
      assert.ok(s >= raw * (1 - 1e-12), `${s} >= ${raw}`);
      // the 1-2-5 value below s is below raw
      const prev = isNice(s / 2) && Math.abs(s / 2 / 10 ** Math.floor(Math.log10(s / 2) + 1e-9) - 5) > 1e-9 ? s / 2 : s / 2.5;
      assert.ok(prev < raw * (1 + 1e-9), `${prev} (the value below ${s}) is below ${raw}`);
    }
    assert.equal(C.niceStep(0), 1);
    assert.equal(C.niceStep(-3), 1);
    assert.equal(C.niceStep(NaN), 1);
  });

  test('niceTicks cover the range with evenly spaced round ticks', () => {
    const r = seeded(2);
    for (let i = 0; i < 3000; i++) {
      const mag = 10 ** (r() * 12 - 6);
      let lo = (r() - 0.3) * mag;
      let hi = lo + r() * mag * (r() < 0.1 ? 0 : 1);
      const count = 2 + Math.floor(r() * 8);
      const integer = r() < 0.3;
      if (integer) { lo = Math.round(lo); hi = Math.round(hi); }
      const t = C.niceTicks(lo, hi, count, { integer });
      assert.ok(t.ticks.length >= 2, `at least two ticks for [${lo}, ${hi}]`);
      assert.ok(t.lo <= lo + 1e-9 * Math.abs(lo), `first tick ${t.lo} <= ${lo}`);
      assert.ok(t.hi >= hi - 1e-9 * Math.abs(hi), `last tick ${t.hi} >= ${hi}`);
      assert.ok(isNice(t.step), `step ${t.step} is round`);
      if (integer) assert.ok(Number.isInteger(t.step) && t.step >= 1);
      for (let k = 1; k < t.ticks.length; k++) {
        assert.ok(Math.abs(t.ticks[k] - t.ticks[k - 1] - t.step) <= t.step * 1e-6, 'evenly spaced');
        // a tick prints as a round number (0.3, not 0.30000000000000004)
        assert.doesNotMatch(String(t.ticks[k]), /\.\d*(0{6}|9{6})/, `tick ${t.ticks[k]}`);
      }
      // not wastefully many: the step is the smallest round one giving at most `count` intervals
      if (hi > lo && !integer) assert.ok(t.ticks.length - 1 <= count + 2, `${t.ticks.length - 1} intervals for count ${count}`);
    }
  });

  test('niceTicks of an empty or single-value range still draws an axis from zero', () => {
    assert.deepEqual(C.niceTicks(0, 0).ticks.slice(0, 1), [0]);
    assert.ok(C.niceTicks(0, 0).hi > 0);
    assert.equal(C.niceTicks(7, 7).lo, 0);
    assert.ok(C.niceTicks(7, 7).hi >= 7);
    assert.ok(C.niceTicks(-4, -4).hi === 0 && C.niceTicks(-4, -4).lo <= -4);
    const t = C.niceTicks(NaN, Infinity);
    assert.deepEqual([t.lo, t.hi], [0, 1]);
    assert.deepEqual(C.niceTicks(0, 3, 5, { integer: true }).ticks, [0, 1, 2, 3]);
  });

  test('scaleLinear maps ends onto ends and inverts', () => {
    const r = seeded(3);
    for (let i = 0; i < 500; i++) {
      const d0 = r() * 1e6;
      const d1 = d0 + 1 + r() * 1e6;
      const f = C.scaleLinear(d0, d1, 300, 20);
      assert.ok(Math.abs(f(d0) - 300) < 1e-6 && Math.abs(f(d1) - 20) < 1e-6);
      const x = d0 + r() * (d1 - d0);
      assert.ok(Math.abs(f.invert(f(x)) - x) < 1e-6 * (d1 - d0));
      assert.ok(f(x) <= 300 && f(x) >= 20);
    }
    assert.equal(C.scaleLinear(5, 5, 0, 100)(5), 50);
  });

  test('shortNumber keeps three significant digits', () => {
    const r = seeded(4);
    for (let i = 0; i < 500; i++) {
      const v = Math.round(10 ** (r() * 10));
      const s = C.shortNumber(v);
      const unit = { G: 1e9, M: 1e6, k: 1e3 }[s.slice(-1)] || 1;
      const back = Number(unit === 1 ? s : s.slice(0, -1)) * unit;
      assert.ok(Math.abs(back - v) <= v * 0.005 + 0.5, `${s} reads back as ${back}, about ${v}`);
    }
  });
});

describe('time axes', () => {
  const MIN = 60000;
  test('timeTicks land on local boundaries of their step, inside the range', () => {
    const r = seeded(5);
    const zones = [0, -60, -330, 300, 480, -765, 210]; // minutes west of UTC, half and quarter hours included
    for (let i = 0; i < 2000; i++) {
      const off = zones[i % zones.length];
      const start = 1.7e12 + Math.floor(r() * 1e11);
      const span = Math.floor(10 ** (3 + r() * 7.5));
      const count = 2 + Math.floor(r() * 10);
      const { step, ticks } = C.timeTicks(start, start + span, count, off);
      assert.ok(span / step <= count + 1e-9, `${span / step} intervals of ${step} for at most ${count}`);
      const idx = C.TIME_STEPS.indexOf(step);
      if (idx > 0) assert.ok(span / C.TIME_STEPS[idx - 1] > count, 'the step before gives too many intervals');
      for (const t of ticks) {
        assert.ok(t >= start && t <= start + span);
        assert.equal(((t - off * MIN) % step + step) % step, 0, `tick ${t} is on a local multiple of ${step} (offset ${off})`);
      }
      for (let k = 1; k < ticks.length; k++) assert.equal(ticks[k] - ticks[k - 1], step);
      // no boundary inside the range is missed
      if (ticks.length) assert.ok(ticks[0] - start < step && start + span - ticks[ticks.length - 1] < step);
    }
  });

  test('timeLabel reads the local clock at the precision of the step', () => {
    // 2026-11-22 10:07:30 UTC
    const t = Date.UTC(2026, 10, 22, 10, 7, 30);
    assert.equal(C.timeLabel(t, 5000, 0), '10:07:30');
    assert.equal(C.timeLabel(t, 5 * MIN, 0), '10:07');
    assert.equal(C.timeLabel(t, 5 * MIN, -330), '15:37'); // UTC+5:30
    assert.equal(C.timeLabel(t, 5 * MIN, 600), '00:07'); // UTC-10: just after local midnight
    assert.equal(C.timeLabel(Date.UTC(2026, 10, 22, 10, 0), 60 * MIN, 600), 'Nov 22'); // local midnight
    assert.equal(C.timeLabel(t, 86400000, 0), 'Nov 22');
    assert.equal(C.timeLabel(t, 86400000, 660), 'Nov 21');
    assert.equal(C.bucketLabel(t, 5 * MIN, 0), 'Nov 22 10:07');
    assert.equal(C.bucketLabel(t, 10000, 0), 'Nov 22 10:07:30');
  });
});

describe('series', () => {
  test('stack: each layer holds its value on top of the ones below, the top is the column sum', () => {
    const r = seeded(6);
    for (let i = 0; i < 300; i++) {
      const nb = 1 + Math.floor(r() * 40);
      const ns = Math.floor(r() * 6);
      const series = Array.from({ length: ns }, () => Array.from({ length: nb }, () => {
        const x = r();
        return x < 0.1 ? null : x < 0.15 ? -5 : x < 0.2 ? NaN : Math.floor(r() * 1000) / 10;
      }));
      const st = C.stack(series);
      const amount = (v) => (Number.isFinite(v) && v > 0 ? v : 0);
      for (let b = 0; b < nb && ns; b++) {
        let below = 0;
        for (let s = 0; s < ns; s++) {
          assert.ok(Math.abs(st.layers[s].y0[b] - below) < 1e-9);
          assert.ok(Math.abs(st.layers[s].y1[b] - st.layers[s].y0[b] - amount(series[s][b])) < 1e-9);
          below += amount(series[s][b]);
        }
        assert.ok(Math.abs(st.totals[b] - below) < 1e-9);
      }
      assert.equal(st.max, ns ? Math.max(0, ...st.totals) : 0);
    }
  });

  test('grid lays rows onto buckets and keys, merges what keyOf maps together, keeps missing apart', () => {
    const rows = [
      { bucket: 0, key: 'a', cost: 1.5 }, { bucket: 60, key: 'b', cost: 2 }, { bucket: 60, key: 'c', cost: 0.25 },
      { bucket: 60, key: 'd', cost: 0.5 }, { bucket: 120, key: 'a', cost: null }, { bucket: 999, key: 'a', cost: 7 },
      { bucket: 0, key: 'zz', cost: 100 },
    ];
    const top = { keys: ['a', 'b', C.OTHER], keyOf: (k) => (k === 'a' || k === 'b' ? k : k === 'zz' ? 'dropped' : C.OTHER) };
    assert.deepEqual(C.grid(rows, [0, 60, 120], top.keys, 'cost', top), [[1.5, 0, 0], [0, 2, 0], [0, 0.75, 0]]);
    assert.deepEqual(C.grid(rows, [0, 60, 120], ['a', 'b'], 'cost', { missing: null }), [[1.5, null, null], [null, 2, null]]);
  });

  test('topKeys keeps the first few in order and folds the rest into one', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    for (let n = 0; n <= keys.length; n++) {
      const t = C.topKeys(keys.slice(0, n), 7);
      if (n <= 8) {
        assert.deepEqual(t.keys, keys.slice(0, n), 'no "other" for a single extra group');
      } else {
        assert.deepEqual(t.keys, [...keys.slice(0, 7), C.OTHER]);
        for (let i = 0; i < n; i++) assert.equal(t.keyOf(keys[i]), i < 7 ? keys[i] : C.OTHER);
      }
    }
    assert.notEqual(C.OTHER, 'other', 'a group really named "other" stays its own');
  });

  test('sums add what the API gave, missing fields as zero', () => {
    const rows = [{ calls: 3, cost: 0.1 }, { calls: 4, cost: 0.2, errors: 1 }, { calls: '5', cost: null }];
    assert.deepEqual(C.sums(rows, ['calls', 'errors', 'cost']), { calls: 12, errors: 1, cost: 0.1 + 0.2 });
  });

  test('tokenParts: the parts of a bucket do not overlap and add up to input + output', () => {
    const r = seeded(8);
    const buckets = [0, 60, 120, 180];
    const rows = [];
    for (const b of buckets) {
      for (let g = 0; g < 3; g++) {
        const input = Math.floor(r() * 5000);
        const output = Math.floor(r() * 900);
        const cr = Math.floor(r() * input * 0.6);
        const cw = Math.floor(r() * (input - cr));
        rows.push({ bucket: b, key: `g${g}`, input_tokens: input, output_tokens: output, cache_read_tokens: cr, cache_creation_tokens: cw, reasoning_tokens: Math.floor(r() * output) });
      }
    }
    const parts = C.tokenParts(rows, buckets);
    buckets.forEach((b, i) => {
      const mine = rows.filter((x) => x.bucket === b);
      const total = C.sumField(mine, 'input_tokens') + C.sumField(mine, 'output_tokens');
      assert.equal(parts.reduce((s, p) => s + p.values[i], 0), total);
      assert.equal(parts.find((p) => p.key === 'cache_read').values[i], C.sumField(mine, 'cache_read_tokens'));
      assert.equal(parts.find((p) => p.key === 'reasoning').values[i], C.sumField(mine, 'reasoning_tokens'));
    });
  });

  test('tokenParts: counts a sender got wrong (cache reads above the input) draw nothing negative', () => {
    const rows = [{ bucket: 0, key: 'x', input_tokens: 100, output_tokens: 10, cache_read_tokens: 150, cache_creation_tokens: 20, reasoning_tokens: 40 }];
    const parts = C.tokenParts(rows, [0]);
    for (const p of parts) assert.ok(p.values[0] >= 0, `${p.key} ${p.values[0]}`);
    assert.equal(parts.reduce((s, p) => s + p.values[0], 0), 110);
    assert.deepEqual(parts.map((p) => p.values[0]), [0, 100, 0, 0, 10]);
  });

  test('paths: a null breaks a line, a band closes on itself', () => {
    assert.equal(C.linePath([0, 10, 20, 30], [5, null, 7, 8]), 'M0,5h0.01M20,7L30,8');
    assert.equal(C.linePath([0, 10], [null, null]), '');
    assert.equal(C.bandPath([0, 10], [9, 9], [4, 2]), 'M0,4L10,2L10,9L0,9Z');
  });
});

describe('ranges from the URL', () => {
  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const q = (s) => new URLSearchParams(s);
  const ns = (ms) => (BigInt(ms) * 1000000n).toString();

  test('presets end now; the default is the last 24 hours', () => {
    for (const [key, [, len]] of Object.entries(C.RANGES)) {
      const r = C.resolveRange(q(`range=${key}`), NOW);
      assert.deepEqual([r.range, r.start, r.end, r.error], [key, ns(NOW - len), ns(NOW), null]);
    }
    for (const s of ['', 'range=2y', 'range=custom', 'range=__proto__']) {
      const r = C.resolveRange(q(s), NOW);
      assert.equal(r.range, C.DEFAULT_RANGE, s);
      assert.equal(r.end, ns(NOW));
    }
  });

  test('a custom start and end, in nanoseconds or RFC 3339, win over a preset', () => {
    const r = C.resolveRange(q('range=1h&start=1795300000000000000&end=2026-11-22T11:00:00Z'), NOW);
    assert.deepEqual([r.range, r.start, r.end, r.error], ['custom', '1795300000000000000', ns(Date.UTC(2026, 10, 22, 11)), null]);
    const open = C.resolveRange(q('start=2026-11-22T10:30:00Z'), NOW);
    assert.deepEqual([open.start, open.end], [ns(Date.UTC(2026, 10, 22, 10, 30)), ns(NOW)]);
    assert.equal(open.endMs - open.startMs, 90 * 60000);
  });

  test('a bad time names its parameter', () => {
    assert.match(C.resolveRange(q('start=yesterday'), NOW).error, /^start: /);
    assert.match(C.resolveRange(q('end=<script>'), NOW).error, /^end: /);
    assert.match(C.resolveRange(q('start=2026-11-22T12:00:00Z&end=2026-11-22T11:00:00Z'), NOW).error, /^start: not before end/);
    assert.equal(C.parseTime('99999999999999999999'), null, 'past 19 digits is no time');
  });

  test('steps: whole minutes, about 60 buckets at most', () => {
    for (const [, len] of Object.values(C.RANGES)) {
      const s = C.chooseStep(len);
      assert.ok(C.SERIES_STEPS.includes(s) && s % 60000 === 0);
      assert.ok(len / s <= 60);
      const i = C.SERIES_STEPS.indexOf(s);
      if (i > 0) assert.ok(len / C.SERIES_STEPS[i - 1] > 60);
    }
    assert.equal(C.parseStep('5m'), 300000);
    assert.equal(C.parseStep('2h'), 7200000);
    assert.equal(C.parseStep('1d'), 86400000);
    assert.equal(C.parseStep('15'), 900000);
    for (const bad of ['0', '0m', '30s', 'abc', '', '1.5h', '-5m']) assert.equal(C.parseStep(bad), null, bad);
  });

  test('localInputValue is the local clock to the second', () => {
    const t = Date.UTC(2026, 10, 22, 10, 7, 30, 999);
    assert.equal(C.localInputValue(t, 0), '2026-11-22T10:07:30');
    assert.equal(C.localInputValue(t, -60), '2026-11-22T11:07:30');
  });
});

describe('live buffer', () => {
  const span = (i, extra = {}) => L.rowOf({
    trace_id: (i % 7).toString(16).padStart(32, '0'), span_id: i.toString(16).padStart(16, '0'), name: `op-${i}`,
    service: `svc-${i % 3}`, status: { code: i % 5 === 0 ? 'ERROR' : 'UNSET' }, start_unix_nano: String(1795300000000000000n + BigInt(i)),
    end_unix_nano: String(1795300000000000000n + BigInt(i * 2)), model: i % 2 ? 'gpt-4o' : '', ...extra,
  });

  test('holds the newest rows up to its capacity, each once, and reports what changed', () => {
    const r = seeded(9);
    for (const cap of [1, 3, 50, 2000]) {
      const buf = new L.LiveBuffer(cap);
      const model = []; // every row added, in order; the buffer must hold its last cap
      let next = 0;
      while (next < cap * 3 + 17) {
        const n = Math.floor(r() * Math.max(2, cap / 2)) + (r() < 0.05 ? cap * 2 : 0);
        const batch = [];
        for (let k = 0; k < n; k++) batch.push(span(next++));
        // a repeat of a row still held (an answer fetched twice) is skipped
        if (model.length && r() < 0.3) batch.unshift(model[model.length - 1]);
        const before = new Set(buf.newest().map((x) => x.key));
        const { added, dropped } = buf.add(batch);
        for (const x of batch) if (!model.includes(x)) model.push(x);
        const want = model.slice(-cap);
        assert.deepEqual(buf.newest().map((x) => x.key), want.map((x) => x.key).reverse());
        assert.equal(buf.size, want.length);
        const after = new Set(want.map((x) => x.key));
        // added: new rows still held; dropped: rows held before and gone now
        assert.deepEqual(added.map((x) => x.key), want.filter((x) => !before.has(x.key)).map((x) => x.key));
        assert.deepEqual(new Set(dropped.map((x) => x.key)), new Set([...before].filter((k) => !after.has(k))));
      }
      assert.equal(buf.total, model.length);
    }
    assert.throws(() => new L.LiveBuffer(0));
  });

  test('newest() filters and limits', () => {
    const buf = new L.LiveBuffer(100);
    buf.add(Array.from({ length: 60 }, (_, i) => span(i)));
    const f = { service: 'svc-1', model: 'gpt-4o', status: '', text: '' };
    const got = buf.newest(f);
    assert.ok(got.length > 0);
    assert.deepEqual(got.map((x) => x.name), buf.newest().filter((x) => x.service === 'svc-1' && x.model === 'gpt-4o').map((x) => x.name));
    assert.equal(buf.newest(null, 5).length, 5);
    assert.equal(buf.newest(null, 5)[0].name, 'op-59');
    buf.clear();
    assert.equal(buf.size, 0);
    buf.add([span(1)]);
    assert.equal(buf.newest().length, 1, 'a cleared buffer takes a row it held before');
  });

  test('matches: service and model equal, status error or not, name text without case', () => {
    const row = span(10, { name: 'Chat GPT-4o', service: 'api', model: 'gpt-4o', status: { code: 'ERROR' } });
    const all = { service: '', model: '', status: '', text: '' };
    assert.ok(L.matches(row, all));
    assert.ok(L.matches(row, { ...all, service: 'api', model: 'gpt-4o', status: 'error', text: 'gpt-4' }));
    assert.ok(!L.matches(row, { ...all, service: 'ap' }));
    assert.ok(!L.matches(row, { ...all, model: 'gpt-4' }));
    assert.ok(!L.matches(row, { ...all, status: 'ok' }));
    assert.ok(!L.matches(row, { ...all, text: 'embed' }));
    assert.ok(L.matches(span(11), { ...all, status: 'ok' }));
  });

  test('the filter goes to the URL and back; only service, model and errors go to the server', () => {
    const f = { service: 'a b&c', model: 'm/1', status: 'error', text: '<b>x</b>' };
    assert.deepEqual(L.filterFromQuery(new URLSearchParams(L.filterToQuery(f).toString())), f);
    assert.equal(L.filterToQuery({ service: '', model: '', status: '', text: '' }).toString(), '');
    assert.equal(L.filterFromQuery(new URLSearchParams('status=weird')).status, '');
    assert.deepEqual(L.serverParams(f), { service: 'a b&c', model: 'm/1', status: 'error' });
    assert.equal(L.serverParams({ ...f, status: 'ok' }).status, '', '"not errors" is filtered here');
  });

  test('rowOf keeps hostile strings as data and fills what is missing', () => {
    const evil = '<img src=x onerror="window.__pwned=1">\u202Ejavascript:alert(1)';
    const row = L.rowOf({ trace_id: 'ab'.repeat(16), span_id: 'cd'.repeat(8), name: evil, service: evil, model: evil, status: 'error' });
    assert.equal(row.name, evil);
    assert.equal(row.service, evil);
    assert.equal(row.status, 'ERROR');
    assert.equal(row.duration_ns, '');
    assert.equal(row.cost, null);
    const bare = L.rowOf({});
    for (const [k, v] of Object.entries(bare)) assert.notEqual(v, undefined, k);
    assert.equal(L.rowOf({ start_unix_nano: '1795300000000000000', end_unix_nano: '1795300000250000000' }).duration_ns, '250000000');
    assert.deepEqual(L.distinct([{ m: 'b' }, { m: '' }, { m: 'a' }, { m: 'b' }], 'm'), ['a', 'b']);
  });
});

// ---------------------------------------------------------------------------------------
// Against a real llmtrace: the demo's traces (several models, providers, agents, services,
// cached and reasoning tokens, errors) sent over OTLP/HTTP.

const { startServer, runCli, getJson, getOk, listAllTraces, assertHealthy } = await import('./lib.mjs');

/** GET path?query; null when the server has no such endpoint (404 on the path itself). */
async function getIfServed(server, p, query) {
  const r = await getJson(server.http, `${p}?${new URLSearchParams(query)}`);
  if (r.status === 404) return null;
  assert.equal(r.status, 200, `GET ${p}: ${r.text.slice(0, 300)}`);
  return r.json;
}

describe('the dashboard against a real llmtrace', () => {
  let server;
  let range;
  before(async () => {
    server = await startServer();
    const sent = await runCli(['demo', '--server', server.otlp, '--traces', '60', '--seed', '7']);
    assert.equal(sent.code, 0, sent.stderr);
    // the demo's traces lie in the hour before now; the range holds them all
    const now = Date.now();
    range = C.resolveRange(new URLSearchParams(`start=${(BigInt(now - 2 * 3600e3) * 1000000n)}&end=${BigInt(now + 60e3) * 1000000n}`), now);
    assert.equal(range.error, null);
  });
  after(async () => { if (server) await server.stop(); });

  for (const groupBy of ['model', 'provider', 'operation', 'service', 'agent']) {
    test(`by ${groupBy}: the totals are the summary's, and the buckets add up to them`, async (t) => {
      const q = { start: range.start, end: range.end, group_by: groupBy };
      const stepMs = C.chooseStep(range.endMs - range.startMs);
      const ts = await getIfServed(server, '/api/genai/timeseries', { ...q, step: `${stepMs / 60000}m` });
      if (!ts) return t.skip('this llmtrace has no GET /api/genai/timeseries');
      const summary = await getOk(server.http, `/api/genai/summary?${new URLSearchParams(q)}`);
      const fields = ['calls', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'reasoning_tokens', 'cost'];
      const mine = C.sums(ts.totals, fields);
      const theirs = C.sums(summary.groups, fields);
      for (const f of fields) {
        if (f === 'cost') assert.ok(Math.abs(mine.cost - theirs.cost) <= 1e-9 * Math.max(1, theirs.cost), `cost ${mine.cost} vs ${theirs.cost}`);
        else assert.equal(mine[f], theirs[f], f);
      }
      assert.ok(mine.calls > 0 && mine.cost > 0, 'the demo made calls that cost something');

      // what the charts draw: the points laid on the buckets, the tail folded into "other"
      const s = C.seriesOf(ts);
      assert.equal(s.stepMs, stepMs, 'the server kept the step asked for');
      assert.equal(s.rows.length, ts.points.length, 'every point lands in a bucket');
      const top = C.topKeys(ts.totals.map((g) => g.key), 3);
      for (const f of fields) {
        const cells = C.grid(s.rows, s.buckets, top.keys, f, top).flat();
        const sum = cells.reduce((a, v) => a + v, 0);
        if (f === 'cost') assert.ok(Math.abs(sum - mine.cost) <= 1e-9 * Math.max(1, mine.cost), `bucket cost ${sum} vs ${mine.cost}`);
        else assert.equal(sum, mine[f], `${f} over the buckets`);
      }
      const parts = C.tokenParts(s.rows, s.buckets);
      assert.equal(parts.flatMap((p) => p.values).reduce((a, v) => a + v, 0), mine.input_tokens + mine.output_tokens);

      // the top lists and the cost distribution hold the range's traces
      const traces = await listAllTraces(server, { start: range.start, end: range.end });
      const byCost = [...traces].filter((x) => x.cost > 0).sort((a, b) => b.cost - a.cost).slice(0, 10).map((x) => x.cost);
      assert.deepEqual(ts.top_cost.map((x) => x.cost), byCost);
      const slow = [...traces].map((x) => BigInt(x.duration_ns)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).slice(0, 10).map(String);
      assert.deepEqual(ts.top_duration.map((x) => x.duration_ns), slow);
      const bins = C.costBins(ts.cost_distribution.buckets);
      assert.equal(bins.reduce((a, b) => a + b.count, 0), traces.length);
      assert.equal(ts.cost_distribution.traces, traces.length);
      for (const tr of traces) {
        const i = ts.cost_distribution.buckets.findIndex((b) => (tr.cost === 0 ? b.max === 0 : tr.cost >= b.min && (b.max === null || tr.cost < b.max)));
        assert.ok(i >= 0, `trace cost ${tr.cost} has a bin`);
      }
      assertHealthy(server);
    });
  }
});

describe('the live buffer fed by GET /api/live', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });

  test('holds every span that arrived, once, the newest first; a small one the last few', async (t) => {
    const first = await getIfServed(server, '/api/live', {});
    if (!first) return t.skip('this llmtrace has no GET /api/live');
    assert.deepEqual(first.spans, [], 'a new server has no spans');
    let cursor = first.next;
    const big = new L.LiveBuffer(L.LIVE_CAPACITY);
    const small = new L.LiveBuffer(25);
    const arrived = [];
    const poll = async () => {
      const d = await getOk(server.http, `/api/live?${new URLSearchParams({ after: cursor, limit: '37' })}`);
      cursor = d.next;
      const rows = d.spans.map(L.rowOf);
      arrived.push(...rows);
      big.add(rows);
      small.add(rows);
      return rows.length;
    };
    for (const seed of [3, 4]) {
      const sent = await runCli(['demo', '--server', server.otlp, '--traces', '12', '--seed', String(seed)]);
      assert.equal(sent.code, 0, sent.stderr);
      // small pages: the cursor carries the rest over to the next polls
      while (await poll() > 0);
    }
    const traces = await listAllTraces(server, { start: '0' });
    const want = new Set();
    for (const tr of traces) {
      const full = await getOk(server.http, `/api/traces/${tr.trace_id}`);
      for (const sp of full.spans) want.add(`${tr.trace_id}/${sp.span_id}`);
    }
    assert.equal(arrived.length, want.size, 'each span arrived once');
    assert.deepEqual(new Set(arrived.map((r) => r.key)), want);
    assert.deepEqual(big.newest().map((r) => r.key), arrived.map((r) => r.key).reverse());
    assert.deepEqual(small.newest().map((r) => r.key), arrived.slice(-25).map((r) => r.key).reverse());
    // a filter on the server and the same filter here agree
    const errs = await getOk(server.http, `/api/live?${new URLSearchParams({ status: 'error', limit: '1000', after: '0' })}`);
    const f = { service: '', model: '', status: 'error', text: '' };
    assert.deepEqual(errs.spans.map((s) => L.rowOf(s).key).sort(), arrived.filter((r) => L.matches(r, f)).map((r) => r.key).sort());
    assert.ok(errs.spans.length > 0, 'the demo has failed calls');
    assertHealthy(server);
  });
});
