// live_model.js — what the Live tail page keeps and decides, without the DOM: a bounded buffer
// of the spans that arrived (newest last, oldest dropped past its capacity, each span once), the
// filter (service, model, status, text in the span name) and its URL form. Pure, so node --test
// runs it as the browser does.

/** Rows the page keeps at most: older ones are dropped as new ones arrive. */
export const LIVE_CAPACITY = 2000;

/**
 * The fields of a span of GET /api/live that the page shows and filters on, with defaults for
 * anything missing, so a row never holds undefined. Strings stay as the server sent them (the
 * page puts them in text nodes).
 */
export function rowOf(s) {
  const str = (v) => (v === undefined || v === null ? '' : String(v));
  const num = (v) => (v === undefined || v === null || v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
  const status = typeof s.status === 'object' && s.status !== null ? s.status.code : s.status;
  return {
    key: `${str(s.trace_id)}/${str(s.span_id)}`,
    trace_id: str(s.trace_id),
    span_id: str(s.span_id),
    parent_span_id: str(s.parent_span_id),
    name: str(s.name),
    service: str(s.service),
    kind: str(s.kind),
    status: str(status).toUpperCase() || 'UNSET',
    start_unix_nano: str(s.start_unix_nano),
    end_unix_nano: str(s.end_unix_nano),
    duration_ns: s.duration_ns !== undefined ? str(s.duration_ns) : durationOf(s.start_unix_nano, s.end_unix_nano),
    operation: str(s.operation),
    provider: str(s.provider),
    model: str(s.model),
    input_tokens: num(s.input_tokens),
    output_tokens: num(s.output_tokens),
    cost: num(s.cost),
  };
}

function durationOf(start, end) {
  try {
    const d = BigInt(end) - BigInt(start);
    return d >= 0n ? d.toString() : '0';
  } catch {
    return '';
  }
}

/** The filter a page starts with: from the URL's query (service, model, status, q). */
export function filterFromQuery(q) {
  const st = (q.get('status') || '').toLowerCase();
  return {
    service: q.get('service') || '',
    model: q.get('model') || '',
    status: st === 'error' || st === 'ok' ? st : '',
    text: q.get('q') || '',
  };
}

/** The URL query of a filter (empty fields left out), for history.replaceState. */
export function filterToQuery(f) {
  const q = new URLSearchParams();
  if (f.service) q.set('service', f.service);
  if (f.model) q.set('model', f.model);
  if (f.status) q.set('status', f.status);
  if (f.text) q.set('q', f.text);
  return q;
}

/** The part of a filter the server applies (GET /api/live's service, model, status). The
 * text is matched here only. */
export function serverParams(f) {
  return { service: f.service, model: f.model, status: f.status === 'error' ? 'error' : '' };
}

/**
 * Whether row passes f: service and model equal (when set), status "error" (ERROR) or "ok"
 * (anything else), and the text a case-insensitive substring of the span name.
 */
export function matches(row, f) {
  if (f.service && row.service !== f.service) return false;
  if (f.model && row.model !== f.model) return false;
  if (f.status === 'error' && row.status !== 'ERROR') return false;
  if (f.status === 'ok' && row.status === 'ERROR') return false;
  if (f.text && !row.name.toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

/**
 * A ring of at most `capacity` rows in arrival order. add() takes spans oldest first (as the API
 * answers), skips any already held (same trace and span id), and drops the oldest past the
 * capacity; it returns {added, dropped} so a page can update only what changed.
 */
export class LiveBuffer {
  constructor(capacity = LIVE_CAPACITY) {
    if (!(capacity >= 1)) throw new Error('LiveBuffer: capacity must be at least 1');
    this.capacity = capacity;
    this.ring = new Array(capacity);
    this.head = 0; // index of the oldest row
    this.size = 0;
    this.keys = new Set();
    this.total = 0; // rows ever added
    this.droppedTotal = 0;
  }

  add(rows) {
    const added = [];
    const dropped = [];
    for (const r of rows) {
      if (this.keys.has(r.key)) continue;
      if (this.size === this.capacity) {
        const old = this.ring[this.head];
        this.keys.delete(old.key);
        dropped.push(old);
        this.ring[this.head] = r;
        this.head = (this.head + 1) % this.capacity;
      } else {
        this.ring[(this.head + this.size) % this.capacity] = r;
        this.size++;
      }
      this.keys.add(r.key);
      added.push(r);
    }
    this.total += added.length;
    this.droppedTotal += dropped.length;
    // a row added and dropped in one call never reaches the page: report it in neither list
    if (added.length > this.capacity) {
      const gone = new Set(added.slice(0, added.length - this.capacity));
      return { added: added.filter((r) => !gone.has(r)), dropped: dropped.filter((r) => !gone.has(r)) };
    }
    return { added, dropped };
  }

  /** Rows newest first, those that pass f (all without f), at most limit. */
  newest(f = null, limit = Infinity) {
    const out = [];
    for (let i = this.size - 1; i >= 0 && out.length < limit; i--) {
      const r = this.ring[(this.head + i) % this.capacity];
      if (!f || matches(r, f)) out.push(r);
    }
    return out;
  }

  clear() {
    this.ring = new Array(this.capacity);
    this.head = 0;
    this.size = 0;
    this.keys.clear();
  }
}

/** The distinct non-empty values of field among rows, sorted (for the filter's suggestions). */
export function distinct(rows, field, max = 200) {
  const s = new Set();
  for (const r of rows) {
    if (r[field]) s.add(r[field]);
    if (s.size >= max) break;
  }
  return [...s].sort();
}
