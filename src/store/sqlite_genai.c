/* sqlite_genai.c — GenAI views in the SQLite engine: typed rows, trace totals, rollups.
 *
 * Views. A span written with a view (lt_span.genai) is a row of genai instead of spans: the
 * span's columns and typed view columns (gdim id, user, conversation, the five token counts,
 * cost, time to first chunk, error = status ERROR or error.type). The dimensions of low
 * cardinality (service, span name, operation, provider, request and response model, agent,
 * cost source) are interned in gdim, a handful of rows the writer caches, so the row stays
 * small: SQLite writes a row twice (WAL, checkpoint), and its bytes are what its insert
 * costs. genai_spans joins the two for SQL users. The rest of the view (response id, finish
 * reasons, request parameters, ...) rides losslessly in the span's body in the segment, as
 * a leading field the protobuf decoders skip; fields a column holds exactly are marked
 * there, not repeated. The cost fields live only in the row (cost, gdim.cost_source, and
 * xview for a value a column cannot hold exactly), because rederive changes them and
 * segments are never rewritten. get_trace joins row and body field back into the view; it
 * needs nothing the writer holds in memory, so the read-only (CLI) opener sees views too.
 *
 * Trace totals. The summary row gains llm_calls, input/output tokens, the sum of known
 * costs, and gdims: the distinct models, providers, operations, conversations and users of
 * the trace (up to GDIMS_PER_KIND of each; past that a kind is marked as overflowing and
 * its filter looks at the trace's genai rows, within the list's work bound). Totals and
 * gdims are added by each piece of the trace, like span_count; unlike span_count and
 * error_count, retention (and recovery from a lost segment tail) does not take them back.
 *
 * Rollups. genai_summary must answer for a day of ten million spans in a fraction of a
 * second, which no scan of rows can. Per dimension of lt_group_by, per minute of span start
 * and per value, a rollup row holds calls, errors, the token buckets, cost and two sparse
 * log-scale histograms (duration, TTFT) whose buckets grow by HIST_R = 1.08: every value of
 * a bucket is within sqrt(1.08) - 1 < 4% of the bucket's middle, so quantiles read from the
 * merged histograms are within 4% of the exact ones. Writing rollup rows per call would
 * dirty rollup pages in every commit, so contributions wait in an in-memory accumulator
 * (per minute and gdim combination, plus user and conversation: one or three probes per
 * view) and are written as per-dimension upserts once LT_SQLITE_ROLLUP_FLUSH_ROWS views
 * wait, and before retention and rederive. The same flush appends, per minute, the row id
 * ranges holding that minute's views to gminute (no per-row index on start time). The mark
 * meta.rolled_upto says which views the rollups hold (span rows <= it); the accumulator is
 * never the only copy: after an open or a rollback it is rebuilt from the rows past the
 * mark. A reader combines, in its snapshot, the rollup rows of the whole minutes of its
 * range, the rows of the partial minutes at its edges (through gminute), and the rows past
 * the mark (at most a flush's worth): counts and sums are exact, quantiles within 4%.
 *
 * Retention takes the views it deletes out of the rollups (the same upserts, negative; rows
 * left with no calls go) and out of gminute, so rollups always describe exactly the views
 * stored. rederive walks the views in row order in transactions of LT_SQLITE_REDERIVE_STEP
 * (the writer lock is released between them), lets the caller's function change the cost,
 * and moves the difference into the row, the trace total and the rollups in the same
 * transaction. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/sqlite_int.h"

static_assert(LT_GROUP_MODEL == 0 && LT_GROUP_CONVERSATION == 7, "dims follow lt_group_by");
enum { N_DIMS = 8 };

#define MINUTE_NS 60000000000ll

/* genai is the fact table: one row per view, row id = the span's row id. Its dimensions of
 * low cardinality (service, span name, operation, provider, models, agent, cost source) are
 * interned in gdim (a few rows, cached by the writer), so a fact row stays near 70 bytes:
 * SQLite writes every row twice (WAL, then checkpoint), and measured here a row's bytes, not
 * its columns, are what its insert costs. genai_spans joins them back for SQL users. The
 * view itself (its other fields) rides in the span's body in the segment; xview holds a cost
 * field the columns cannot hold exactly (not a finite non-negative-zero double, or a cost
 * source that is not a string), NULL otherwise. */
const char sq_genai_schema[] =
    "CREATE TABLE gdim(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, service TEXT NOT NULL,"
    " name TEXT NOT NULL, operation TEXT, provider TEXT, req_model TEXT, resp_model TEXT,"
    " agent TEXT, cost_source TEXT);"
    "CREATE TABLE genai(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, span_id BLOB NOT NULL,"
    " parent_id BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
    " end_ns INTEGER NOT NULL, status INTEGER NOT NULL, resource_id INTEGER NOT NULL,"
    " scope_id INTEGER NOT NULL, trace_row INTEGER NOT NULL, loc INTEGER NOT NULL,"
    " len INTEGER NOT NULL, dims INTEGER NOT NULL, user_id TEXT, conversation TEXT,"
    " in_tok INTEGER, out_tok INTEGER, cache_read INTEGER, cache_creation INTEGER,"
    " reasoning INTEGER, cost REAL, ttft REAL, error INTEGER NOT NULL, xview BLOB);"
    "CREATE VIEW genai_spans AS SELECT g.id, g.trace_id, g.span_id, g.trace_row, g.start_ns,"
    " g.end_ns, d.service, d.name, d.operation, d.provider, d.req_model, d.resp_model, d.agent,"
    " g.user_id, g.conversation, g.in_tok, g.out_tok, g.cache_read, g.cache_creation,"
    " g.reasoning, g.cost, d.cost_source, g.ttft, g.error FROM genai g JOIN gdim d"
    " ON d.id = g.dims;"
    "CREATE TABLE gminute(minute INTEGER PRIMARY KEY, ranges BLOB NOT NULL);"
    "CREATE TABLE rollup(dim INTEGER NOT NULL, minute INTEGER NOT NULL, key TEXT NOT NULL,"
    " calls INTEGER NOT NULL, errors INTEGER NOT NULL, in_tok INTEGER NOT NULL,"
    " out_tok INTEGER NOT NULL, cache_read INTEGER NOT NULL, cache_creation INTEGER NOT NULL,"
    " reasoning INTEGER NOT NULL, cost REAL NOT NULL, dur BLOB NOT NULL, ttft BLOB NOT NULL,"
    " PRIMARY KEY(dim, minute, key)) WITHOUT ROWID;"
    "INSERT INTO meta VALUES('rolled_upto', 0);";

/* The columns facts are read from (facts_from_row), then those only views need. */
#define GCOLS                                                                                      \
    "g.start_ns, max(g.end_ns - g.start_ns, 0), d.service, d.name, d.operation, d.provider, "      \
    "d.req_model,"                                                                                 \
    " d.resp_model, d.agent, g.user_id, g.conversation, g.in_tok, g.out_tok, g.cache_read,"        \
    " g.cache_creation, g.reasoning, g.cost, g.ttft, g.error"
#define VCOLS GCOLS ", d.cost_source, g.xview"
#define GJOIN " FROM genai g JOIN gdim d ON d.id = g.dims"
/* offsets within GCOLS / VCOLS */
enum {
    C_START,
    C_DUR,
    C_SERVICE,
    C_NAME,
    C_OPERATION,
    C_PROVIDER,
    C_REQ_MODEL,
    C_RESP_MODEL,
    C_AGENT,
    C_USER,
    C_CONVERSATION,
    C_TOK, /* five */
    C_COST = C_TOK + N_TOKENS,
    C_TTFT,
    C_ERROR,
    C_COST_SOURCE,
    C_XVIEW
};

const char *const sq_genai_wsql[W_G_END - W_G_FIRST] = {
    [W_G_ADD - W_G_FIRST] =
        "INSERT INTO genai(id, trace_id, span_id, parent_id, name, kind, start_ns, end_ns, status,"
        " resource_id, scope_id, trace_row, loc, len, dims, user_id, conversation, in_tok,"
        " out_tok, cache_read, cache_creation, reasoning, cost, ttft, error, xview)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
        "?23,?24,?25,?26)",
    [W_G_DIM_FIND - W_G_FIRST] = "SELECT id FROM gdim WHERE key = ?1",
    [W_G_DIM_GET - W_G_FIRST] = "SELECT req_model, resp_model, provider, operation, service, name,"
                                " agent FROM gdim WHERE id = ?1",
    [W_G_DIM_ADD - W_G_FIRST] =
        "INSERT INTO gdim(key, service, name, operation, provider, req_model, resp_model, agent,"
        " cost_source) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [W_G_ROLLUP - W_G_FIRST] =
        "INSERT INTO rollup(dim, minute, key, calls, errors, in_tok, out_tok, cache_read,"
        " cache_creation, reasoning, cost, dur, ttft) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
        "?12,?13) ON CONFLICT(dim, minute, key) DO UPDATE SET calls = calls + excluded.calls,"
        " errors = errors + excluded.errors, in_tok = in_tok + excluded.in_tok,"
        " out_tok = out_tok + excluded.out_tok, cache_read = cache_read + excluded.cache_read,"
        " cache_creation = cache_creation + excluded.cache_creation,"
        " reasoning = reasoning + excluded.reasoning, cost = cost + excluded.cost,"
        " dur = lt_hist_merge(dur, excluded.dur), ttft = lt_hist_merge(ttft, excluded.ttft)",
    [W_G_ROLLUP_DROP - W_G_FIRST] =
        "DELETE FROM rollup WHERE dim = ?1 AND minute = ?2 AND key = ?3 AND calls <= 0",
    [W_G_TAIL - W_G_FIRST] =
        "SELECT " GCOLS ", g.id, g.dims" GJOIN " WHERE g.id > ?1 ORDER BY g.id",
    [W_G_UPTO - W_G_FIRST] = "SELECT " GCOLS GJOIN " WHERE g.id <= ?1",
    [W_G_FROM - W_G_FIRST] = "SELECT " GCOLS GJOIN " WHERE g.id >= ?1 AND g.id <= ?2",
    [W_G_DEL - W_G_FIRST] = "DELETE FROM genai WHERE id <= ?1",
    [W_G_WALK - W_G_FIRST] = "SELECT g.id, g.trace_row, g.loc, g.len, " VCOLS GJOIN
                             " WHERE g.id > ?1 AND g.id <= ?2 ORDER BY g.id LIMIT ?3",
    [W_G_SET_COST - W_G_FIRST] = "UPDATE genai SET cost = ?2, dims = ?3, xview = ?4 WHERE id = ?1",
    [W_G_TRACE_COST - W_G_FIRST] = "UPDATE traces SET cost = cost + ?2 WHERE id = ?1",
    [W_G_MINUTE - W_G_FIRST] =
        "INSERT INTO gminute(minute, ranges) VALUES(?1, ?2) ON CONFLICT(minute)"
        " DO UPDATE SET ranges = lt_ranges_append(ranges, excluded.ranges)",
    [W_G_MINUTE_PRUNE - W_G_FIRST] =
        "UPDATE gminute SET ranges = lt_ranges_prune(ranges, ?2) WHERE minute = ?1",
    [W_G_MINUTE_DROP - W_G_FIRST] = "DELETE FROM gminute WHERE minute = ?1 AND length(ranges) = 0",
};

const char *const sq_genai_rsql[R_G_END - R_G_FIRST] = {
    [R_G_ROLLED - R_G_FIRST] = "SELECT v FROM meta WHERE k = 'rolled_upto'",
    [R_G_VIEWS - R_G_FIRST] = "SELECT g.id, " VCOLS GJOIN
                              " WHERE g.id BETWEEN ?1 AND ?2 AND g.trace_row = ?3 ORDER BY g.id",
    [R_G_ROLLUP - R_G_FIRST] =
        "SELECT key, calls, errors, in_tok, out_tok, cache_read, cache_creation, reasoning,"
        " cost, dur, ttft, minute FROM rollup WHERE dim = ?1 AND minute BETWEEN ?2 AND ?3",
    [R_G_MINUTES - R_G_FIRST] = "SELECT minute, ranges FROM gminute WHERE minute BETWEEN ?1 AND ?2",
    [R_G_IDS - R_G_FIRST] =
        "SELECT " GCOLS GJOIN " WHERE g.id BETWEEN ?1 AND ?2 AND g.start_ns BETWEEN ?3 AND ?4",
    [R_G_TAIL - R_G_FIRST] =
        "SELECT " GCOLS GJOIN " WHERE g.id > ?1 AND g.start_ns BETWEEN ?2 AND ?3",
    [R_G_HAS - R_G_FIRST] =
        "SELECT 1" GJOIN " WHERE g.id BETWEEN ?1 AND ?2 AND g.trace_row = ?3 AND CASE ?4"
        " WHEN 1 THEN (d.req_model = ?5 OR d.resp_model = ?5) WHEN 2 THEN d.provider = ?5"
        " WHEN 3 THEN d.operation = ?5 WHEN 4 THEN g.conversation = ?5 ELSE g.user_id = ?5 END"
        " LIMIT 1",
};

/* ---- totals ---------------------------------------------------------------------------- */

static void gdims_add(gdims_set *d, uint8_t kind, lt_str v)
{
    if (!v.len) return; /* an empty filter value means no filter: never asked for */
    uint32_t of_kind = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        if (d->e[i].kind != kind) continue;
        if (lt_str_eq(d->e[i].v, v)) return;
        of_kind++;
    }
    if (of_kind >= GDIMS_PER_KIND) {
        d->overflow |= (uint8_t)(1u << (kind - 1));
        return;
    }
    d->e[d->n].kind = kind;
    d->e[d->n++].v = v;
}

void sq_gtotals_add(gtotals *t, const lt_genai *g, const gfacts *f)
{
    if (f->has_tok[0] || f->has_tok[1]) t->llm_calls++;
    if (f->has_tok[0] && f->tok[0] > 0) t->in_tok += (uint64_t)f->tok[0];
    if (f->has_tok[1] && f->tok[1] > 0) t->out_tok += (uint64_t)f->tok[1];
    if (f->has_cost) t->cost += f->cost;
    gdims_add(&t->dims, GD_MODEL, f->req_model);
    gdims_add(&t->dims, GD_MODEL, f->resp_model);
    gdims_add(&t->dims, GD_PROVIDER, st_view_str(g, GA_PROVIDER));
    gdims_add(&t->dims, GD_OPERATION, st_view_str(g, GA_OPERATION));
    gdims_add(&t->dims, GD_CONVERSATION, st_view_str(g, GA_CONVERSATION_ID));
    gdims_add(&t->dims, GD_USER, st_view_str(g, GA_USER_ID));
}

/* ---- the gdims column: (kind, varint length, bytes) entries, sorted by kind then bytes;
 * an overflowing kind adds an entry of kind | 0x80 with no bytes, after all values. */

typedef struct {
    uint8_t kind;
    lt_str v;
} gdim;

static int gdim_cmp(gdim a, gdim b)
{
    if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
    return st_str_cmp(a.v, b.v);
}

static int gdim_qcmp(const void *pa, const void *pb)
{
    const gdim *a = pa, *b = pb;
    return gdim_cmp(*a, *b);
}

static void gdim_put(lt_buf *out, uint8_t kind, lt_str v)
{
    uint8_t hdr[11];
    hdr[0] = kind;
    size_t n = 1 + sq_put_varint(hdr + 1, v.len);
    buf_append(out, hdr, n);
    buf_append_str(out, v);
}

static bool gdim_next(const uint8_t **p, const uint8_t *end, gdim *out)
{
    uint64_t n;
    if (!*p || *p >= end) return false;
    out->kind = *(*p)++;
    if (!sq_get_varint(p, end, &n) || n > (uint64_t)(end - *p)) return false;
    out->v = (lt_str){(const char *)*p, (size_t)n};
    *p += n;
    return true;
}

void sq_gdims_encode(const gdims_set *d, lt_buf *out)
{
    gdim v[GD_KINDS * GDIMS_PER_KIND];
    for (uint32_t i = 0; i < d->n; i++)
        v[i] = (gdim){d->e[i].kind, d->e[i].v};
    if (d->n > 1) qsort(v, d->n, sizeof v[0], gdim_qcmp);
    for (uint32_t i = 0; i < d->n; i++)
        gdim_put(out, v[i].kind, v[i].v);
    for (int k = 1; k <= GD_KINDS; k++)
        if (d->overflow & (1u << (k - 1))) gdim_put(out, (uint8_t)(0x80 | k), LT_STR(""));
}

/* SQL lt_gdims_merge(a, b): the union, still capped per kind. */
static void fn_gdims_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int la = sqlite3_value_bytes(argv[0]), lb = sqlite3_value_bytes(argv[1]);
    const uint8_t *pa = sqlite3_value_blob(argv[0]), *pb = sqlite3_value_blob(argv[1]);
    if (lb == 0) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    const uint8_t *ea = sq_end(pa, (size_t)la), *eb = sq_end(pb, (size_t)lb);
    uint8_t *out = sqlite3_malloc(la + lb + 8);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    uint32_t count[GD_KINDS + 1] = {0};
    uint8_t overflow = 0;
    gdim a = {0}, b = {0};
    bool ha = gdim_next(&pa, ea, &a), hb = gdim_next(&pb, eb, &b);
    while (ha || hb) {
        int c = !ha ? 1 : !hb ? -1 : gdim_cmp(a, b);
        gdim take = c <= 0 ? a : b;
        if (take.kind & 0x80) {
            if ((take.kind & 0x7f) >= 1 && (take.kind & 0x7f) <= GD_KINDS)
                overflow |= (uint8_t)(1u << ((take.kind & 0x7f) - 1));
        } else if (take.kind >= 1 && take.kind <= GD_KINDS) {
            if (count[take.kind] < GDIMS_PER_KIND) {
                count[take.kind]++;
                out[n++] = take.kind;
                n += sq_put_varint(out + n, take.v.len);
                if (take.v.len) memcpy(out + n, take.v.ptr, take.v.len);
                n += take.v.len;
            } else {
                overflow |= (uint8_t)(1u << (take.kind - 1));
            }
        }
        if (c <= 0) ha = gdim_next(&pa, ea, &a);
        if (c >= 0) hb = gdim_next(&pb, eb, &b);
    }
    for (int k = 1; k <= GD_KINDS; k++)
        if (overflow & (1u << (k - 1))) {
            out[n++] = (uint8_t)(0x80 | k);
            out[n++] = 0;
        }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

/* The GenAI filters of q as (kind, value) pairs; returns how many are set. */
static int query_dims(const lt_trace_query *q, gdim *out)
{
    int n = 0;
    if (q->model.len) out[n++] = (gdim){GD_MODEL, q->model};
    if (q->provider.len) out[n++] = (gdim){GD_PROVIDER, q->provider};
    if (q->operation.len) out[n++] = (gdim){GD_OPERATION, q->operation};
    if (q->conversation.len) out[n++] = (gdim){GD_CONVERSATION, q->conversation};
    if (q->user.len) out[n++] = (gdim){GD_USER, q->user};
    return n;
}

bool sq_gdims_match(const uint8_t *p, size_t len, const lt_trace_query *q, bool *unsure)
{
    gdim want[GD_KINDS], e;
    int n = query_dims(q, want);
    *unsure = false;
    for (int i = 0; i < n; i++) {
        bool found = false, over = false;
        for (const uint8_t *c = p, *end = p + len; !found && gdim_next(&c, end, &e);) {
            if (e.kind == (0x80 | want[i].kind)) over = true;
            found = e.kind == want[i].kind && lt_str_eq(e.v, want[i].v);
        }
        if (found) continue;
        if (!over) return false;
        *unsure = true;
    }
    return true;
}

int sq_genai_trace_has(reader *r, int64_t trace_row, const uint8_t *ranges, size_t rlen,
                       const lt_trace_query *q, uint64_t *budget, bool *match)
{
    gdim want[GD_KINDS];
    int n = query_dims(q, want), rc = 0;
    sqlite3_stmt *st = NULL;
    *match = true;
    if ((rc = sq_rstmt(r, R_G_HAS, &st))) return rc;
    for (int i = 0; i < n && *match; i++) {
        bool found = false;
        int64_t f, l;
        for (const uint8_t *p = ranges, *end = ranges + rlen;
             !found && sq_next_range(&p, end, &f, &l);) {
            uint64_t span = (uint64_t)(l - f + 1);
            *budget = *budget > span ? *budget - span : 0;
            sqlite3_bind_int64(st, 1, f);
            sqlite3_bind_int64(st, 2, l);
            sqlite3_bind_int64(st, 3, trace_row);
            sqlite3_bind_int(st, 4, want[i].kind);
            sq_bind_str(st, 5, want[i].v);
            int src = sqlite3_step(st);
            sqlite3_reset(st);
            if (src == SQLITE_ROW)
                found = true;
            else if (src != SQLITE_DONE)
                return sq_err(r->db, src, "genai filter");
        }
        *match = found;
    }
    return 0;
}

/* ---- histograms: sparse (bucket delta, zigzag count) varint pairs, buckets ascending ---- */

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool hist_next(const uint8_t **p, const uint8_t *end, uint32_t *bucket, int64_t *n,
                      bool first)
{
    uint64_t d, c;
    if (!*p || *p >= end || !sq_get_varint(p, end, &d) || !sq_get_varint(p, end, &c)) return false;
    uint64_t b = first ? d : *bucket + d;
    if (b >= ST_HIST_BUCKETS) return false;
    *bucket = (uint32_t)b;
    *n = unzz(c);
    return true;
}

static size_t hist_put(uint8_t *out, uint32_t prev, bool first, uint32_t b, int64_t n)
{
    size_t k = sq_put_varint(out, first ? b : b - prev);
    return k + sq_put_varint(out + k, zz(n));
}

/* SQL lt_hist_merge(a, b): bucket-wise sums; buckets that sum to zero go. */
static void fn_hist_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int la = sqlite3_value_bytes(argv[0]), lb = sqlite3_value_bytes(argv[1]);
    const uint8_t *pa = sqlite3_value_blob(argv[0]), *pb = sqlite3_value_blob(argv[1]);
    if (lb == 0) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    const uint8_t *ea = sq_end(pa, (size_t)la), *eb = sq_end(pb, (size_t)lb);
    uint8_t *out = sqlite3_malloc(la + lb + 24);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    uint32_t ba = 0, bb = 0, prev = 0;
    int64_t ca = 0, cb = 0;
    bool ha = hist_next(&pa, ea, &ba, &ca, true), hb = hist_next(&pb, eb, &bb, &cb, true);
    bool first = true;
    while (ha || hb) {
        uint32_t b;
        int64_t c = 0;
        if (ha && (!hb || ba <= bb)) {
            b = ba;
            c += ca;
        } else {
            b = bb;
        }
        if (hb && bb == b) c += cb;
        if (c) {
            n += hist_put(out + n, prev, first, b, c);
            prev = b;
            first = false;
        }
        if (ha && ba == b) ha = hist_next(&pa, ea, &ba, &ca, false);
        if (hb && bb == b) hb = hist_next(&pb, eb, &bb, &cb, false);
    }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

void sq_genai_sql_functions(sqlite3 *db, int *src)
{
    if (*src == SQLITE_OK)
        *src =
            sqlite3_create_function_v2(db, "lt_gdims_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                       NULL, fn_gdims_merge, NULL, NULL, NULL);
    if (*src == SQLITE_OK)
        *src =
            sqlite3_create_function_v2(db, "lt_hist_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                       NULL, fn_hist_merge, NULL, NULL, NULL);
}

/* ---- the accumulator: (dimension, minute, value) -> sums and histogram cells ------------
 * The writer keeps one per minute for the views past rolled_upto; a summary keeps one
 * with minute 0 for its groups. Keys are copied into its arena. */

typedef struct {
    uint64_t h;
    lt_str key;
    int64_t minute;
    uint32_t dim;
    int64_t calls, errors, tok[N_TOKENS];
    double cost;
} acc_ent;

/* A histogram cell: k = (entry index + 1) << 11 | histogram << 10 | bucket (0 = empty). */
typedef struct {
    uint64_t k;
    int64_t n;
} acc_cell;

enum { H_DUR, H_TTFT };

typedef struct {
    lt_arena *keys;
    int64_t step; /* a summary's series: entries per bucket of step ns (minute = bucket) */
    acc_ent *e;
    size_t n, cap;
    uint32_t *slot; /* entry index + 1; 0 = empty */
    size_t scap;
    acc_cell *c;
    size_t cn, ccap;
    int64_t rows; /* views added */
} acc;

static void acc_clear(acc *a)
{
    if (a->keys) arena_reset(a->keys);
    a->n = a->cn = 0;
    a->rows = 0;
    if (a->slot) memset(a->slot, 0, a->scap * sizeof *a->slot);
    if (a->c) memset(a->c, 0, a->ccap * sizeof *a->c);
}

static void acc_free(acc *a)
{
    arena_free(a->keys);
    lt_free(a->e);
    lt_free(a->slot);
    lt_free(a->c);
    memset(a, 0, sizeof *a);
}

/* A hash for the accumulator's keys (a combination key is hashed once per view written). */
static uint64_t ent_hash(uint32_t dim, int64_t minute, lt_str key)
{
    uint64_t h =
        sq_quick_hash(((uint64_t)minute * 0x9e3779b97f4a7c15ull + dim) ^ key.len, key.ptr, key.len);
    return h ? h : 1;
}

static int acc_grow_slots(acc *a)
{
    size_t cap = a->scap ? a->scap * 2 : 256;
    uint32_t *s = lt_calloc(cap, sizeof *s);
    if (!s) return LT_ENOMEM;
    for (size_t i = 0; i < a->n; i++) {
        size_t j = a->e[i].h & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = (uint32_t)i + 1;
    }
    lt_free(a->slot);
    a->slot = s;
    a->scap = cap;
    return 0;
}

/* The entry for (dim, minute, key), created when missing; -1 on LT_ENOMEM. */
static long acc_find(acc *a, uint32_t dim, int64_t minute, lt_str key)
{
    uint64_t h = ent_hash(dim, minute, key);
    if (a->scap) {
        for (size_t j = h & (a->scap - 1); a->slot[j]; j = (j + 1) & (a->scap - 1)) {
            acc_ent *e = &a->e[a->slot[j] - 1];
            if (e->h == h && e->dim == dim && e->minute == minute && lt_str_eq(e->key, key))
                return (long)(a->slot[j] - 1);
        }
    }
    if ((a->n + 1) * 2 > a->scap && acc_grow_slots(a)) return -1;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        acc_ent *v = lt_realloc(a->e, cap * sizeof *v);
        if (!v) return -1;
        a->e = v;
        a->cap = cap;
    }
    if (!a->keys && !(a->keys = arena_new())) return -1;
    lt_str k = arena_strdup(a->keys, key);
    if (key.len && !k.ptr) return -1;
    a->e[a->n] = (acc_ent){.h = h, .key = k, .minute = minute, .dim = dim};
    size_t j = h & (a->scap - 1);
    while (a->slot[j])
        j = (j + 1) & (a->scap - 1);
    a->slot[j] = (uint32_t)a->n + 1;
    return (long)a->n++;
}

static uint64_t cell_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static int acc_cell_add(acc *a, long ent, int hist, uint32_t bucket, int64_t n)
{
    if ((a->cn + 1) * 2 > a->ccap) {
        size_t cap = a->ccap ? a->ccap * 2 : 1024;
        acc_cell *c = lt_calloc(cap, sizeof *c);
        if (!c) return LT_ENOMEM;
        for (size_t i = 0; i < a->ccap; i++)
            if (a->c[i].k) {
                size_t j = cell_hash(a->c[i].k) & (cap - 1);
                while (c[j].k)
                    j = (j + 1) & (cap - 1);
                c[j] = a->c[i];
            }
        lt_free(a->c);
        a->c = c;
        a->ccap = cap;
    }
    uint64_t k = ((uint64_t)ent + 1) << 11 | (uint64_t)hist << 10 | bucket;
    size_t j = cell_hash(k) & (a->ccap - 1);
    while (a->c[j].k && a->c[j].k != k)
        j = (j + 1) & (a->ccap - 1);
    if (!a->c[j].k) {
        a->c[j].k = k;
        a->cn++;
    }
    a->c[j].n += n;
    return 0;
}

static uint32_t ttft_bucket(double s)
{
    return st_hist_bucket(s * 1e9);
}

/* Adds one view (sign 1) or takes it out (-1): all dimensions, or only dim when
 * dim_only >= 0, under its minute (per_minute) or minute 0. */
static int acc_add(acc *a, const gfacts *f, int sign, bool per_minute, int dim_only)
{
    int64_t minute = per_minute ? (int64_t)(sq_clamp_i64(f->start) / MINUTE_NS)
                     : a->step  ? (int64_t)sq_clamp_i64(f->start) / a->step
                                : 0;
    uint32_t bd = st_hist_bucket((double)f->dur), bt = f->has_ttft ? ttft_bucket(f->ttft) : 0;
    for (int d = 0; d < N_DIMS; d++) {
        if (dim_only >= 0 && d != dim_only) continue;
        long i = acc_find(a, (uint32_t)d, minute, f->dim[d]);
        if (i < 0) return LT_ENOMEM;
        acc_ent *e = &a->e[i];
        e->calls += sign;
        e->errors += f->error ? sign : 0;
        for (int t = 0; t < N_TOKENS; t++)
            if (f->has_tok[t] && f->tok[t] > 0) e->tok[t] += sign * f->tok[t];
        if (f->has_cost) e->cost += sign * f->cost;
        int rc = acc_cell_add(a, i, H_DUR, bd, sign);
        if (!rc && f->has_ttft) rc = acc_cell_add(a, i, H_TTFT, bt, sign);
        if (rc) return rc;
    }
    a->rows++;
    return 0;
}

/* Adds a cost change of one view to every dimension of its minute (rederive). */
static int acc_add_cost(acc *a, const gfacts *f, double delta)
{
    int64_t minute = (int64_t)(sq_clamp_i64(f->start) / MINUTE_NS);
    for (int d = 0; d < N_DIMS; d++) {
        long i = acc_find(a, (uint32_t)d, minute, f->dim[d]);
        if (i < 0) return LT_ENOMEM;
        a->e[i].cost += delta;
    }
    return 0;
}

static int cell_cmp(const void *pa, const void *pb)
{
    uint64_t a = ((const acc_cell *)pa)->k, b = ((const acc_cell *)pb)->k;
    return a < b ? -1 : a > b;
}

/* Packs the used cells, sorted (so each entry's cells are together, histogram by histogram,
 * buckets ascending). The hash table is unusable afterwards until acc_clear. */
static size_t acc_sort_cells(acc *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->ccap; i++)
        if (a->c[i].k) a->c[n++] = a->c[i];
    if (n > 1) qsort(a->c, n, sizeof *a->c, cell_cmp);
    return n;
}

/* The facts of the genai row at st (columns from base, in GCOLS order); strings are the
 * row's, valid until the statement steps. */
static void facts_from_row(sqlite3_stmt *st, int base, gfacts *f)
{
    memset(f, 0, sizeof *f);
#define TXT(c)                                                                                     \
    ((lt_str){(const char *)sqlite3_column_text(st, base + (c)),                                   \
              (size_t)sqlite3_column_bytes(st, base + (c))})
    f->start = (uint64_t)sqlite3_column_int64(st, base + C_START);
    f->dur = (uint64_t)sqlite3_column_int64(st, base + C_DUR);
    f->req_model = TXT(C_REQ_MODEL);
    f->resp_model = TXT(C_RESP_MODEL);
    f->dim[LT_GROUP_MODEL] = f->resp_model.len ? f->resp_model : f->req_model;
    f->dim[LT_GROUP_PROVIDER] = TXT(C_PROVIDER);
    f->dim[LT_GROUP_OPERATION] = TXT(C_OPERATION);
    f->dim[LT_GROUP_SERVICE] = TXT(C_SERVICE);
    f->dim[LT_GROUP_SPAN_NAME] = TXT(C_NAME);
    f->dim[LT_GROUP_AGENT] = TXT(C_AGENT);
    f->dim[LT_GROUP_USER] = TXT(C_USER);
    f->dim[LT_GROUP_CONVERSATION] = TXT(C_CONVERSATION);
#undef TXT
    for (int d = 0; d < N_DIMS; d++)
        if (!f->dim[d].ptr) f->dim[d] = LT_STR("");
    if (!f->req_model.ptr) f->req_model = LT_STR("");
    if (!f->resp_model.ptr) f->resp_model = LT_STR("");
    for (int t = 0; t < N_TOKENS; t++) {
        f->has_tok[t] = sqlite3_column_type(st, base + C_TOK + t) != SQLITE_NULL;
        f->tok[t] = sqlite3_column_int64(st, base + C_TOK + t);
    }
    f->has_cost = sqlite3_column_type(st, base + C_COST) != SQLITE_NULL;
    f->cost = sqlite3_column_double(st, base + C_COST);
    f->has_ttft = sqlite3_column_type(st, base + C_TTFT) != SQLITE_NULL;
    f->ttft = sqlite3_column_double(st, base + C_TTFT);
    f->error = sqlite3_column_int(st, base + C_ERROR) != 0;
}

/* ---- the view ---------------------------------------------------------------------------
 * The body field (in the segment, before the span's encoding) holds, per present field but
 * the two cost fields: its index byte, then either VB_COL (the value is its column's, of the
 * field's type) or a value: type byte (lt_val_type) and payload — STRING/BYTES varint length
 * and bytes, BOOL a byte, INT a zigzag varint, DOUBLE 8 bytes little-endian, ARRAY a varint
 * count and values, KVLIST a varint count and (varint key length, key, value). The cost
 * fields live only in the row (cost, gdim.cost_source, or xview in the same form), because
 * rederive changes them and segments are never rewritten. */

enum { VB_COL = 0xff };

/* The column holding field f when it may hold it exactly (-1 for none). */
static int field_col(genai_field f)
{
    switch (f) {
    case GA_OPERATION:
        return C_OPERATION;
    case GA_PROVIDER:
        return C_PROVIDER;
    case GA_REQUEST_MODEL:
        return C_REQ_MODEL;
    case GA_RESPONSE_MODEL:
        return C_RESP_MODEL;
    case GA_AGENT_NAME:
        return C_AGENT;
    case GA_USER_ID:
        return C_USER;
    case GA_CONVERSATION_ID:
        return C_CONVERSATION;
    case GA_INPUT_TOKENS:
        return C_TOK;
    case GA_OUTPUT_TOKENS:
        return C_TOK + 1;
    case GA_CACHE_READ:
        return C_TOK + 2;
    case GA_CACHE_CREATION:
        return C_TOK + 3;
    case GA_REASONING:
        return C_TOK + 4;
    case GA_TTFT:
        return C_TTFT;
    case GA_COST:
        return C_COST;
    case GA_COST_SOURCE:
        return C_COST_SOURCE;
    default:
        return -1;
    }
}

/* A REAL column gives a double back bit for bit unless it is NaN (NULL) or -0 (+0). */
static bool real_exact(double d)
{
    return !isnan(d) && !(d == 0 && signbit(d));
}

/* Whether the row's column holds field f exactly (the body then says VB_COL; for the cost
 * fields, xview is then not needed). */
static bool col_backed(const lt_genai *g, genai_field f, const gfacts *fa)
{
    int c = field_col(f);
    const lt_value *v = &g->v[f];
    if (c < 0) return false;
    if (c >= C_TOK && c < C_TOK + N_TOKENS) return v->type == LT_VAL_INT;
    if (c == C_TTFT) return v->type == LT_VAL_DOUBLE && fa->has_ttft && real_exact(v->u.d);
    if (c == C_COST) return v->type == LT_VAL_DOUBLE && fa->has_cost && real_exact(v->u.d);
    return v->type == LT_VAL_STRING;
}

static void put_u64le(lt_buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    sq_put(b, p, 8);
}

static void put_var(lt_buf *b, uint64_t v)
{
    sq_put_var(b, v);
}

static void vb_value(lt_buf *b, const lt_value *v, int depth)
{
    uint8_t t = (uint8_t)v->type;
    if (depth > MODEL_MAX_DEPTH) t = LT_VAL_EMPTY;
    sq_put(b, &t, 1);
    switch (t) {
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        put_var(b, v->u.s.len);
        sq_put(b, (v->u.s).ptr, (v->u.s).len);
        break;
    case LT_VAL_BOOL: {
        uint8_t c = v->u.b;
        sq_put(b, &c, 1);
        break;
    }
    case LT_VAL_INT:
        put_var(b, zz(v->u.i));
        break;
    case LT_VAL_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.d, 8);
        put_u64le(b, bits);
        break;
    }
    case LT_VAL_ARRAY:
        put_var(b, v->u.arr.n);
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            vb_value(b, &v->u.arr.items[i], depth + 1);
        break;
    case LT_VAL_KVLIST:
        put_var(b, v->u.kv.n);
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            put_var(b, v->u.kv.items[i].key.len);
            sq_put(b, (v->u.kv.items[i].key).ptr, (v->u.kv.items[i].key).len);
            vb_value(b, &v->u.kv.items[i].value, depth + 1);
        }
        break;
    default:
        break;
    }
}

/* The body field's payload: every field but the cost fields. */
static void vb_encode_body(lt_buf *b, const lt_genai *g, const gfacts *f)
{
    for (int i = 0; i < GA_N_FIELDS; i++) {
        if (g->v[i].type == LT_VAL_EMPTY || i == GA_COST || i == GA_COST_SOURCE) continue;
        uint8_t fi = (uint8_t)i, col = VB_COL;
        sq_put(b, &fi, 1);
        if (col_backed(g, (genai_field)i, f))
            sq_put(b, &col, 1);
        else
            vb_value(b, &g->v[i], 0);
    }
}

/* xview: the cost fields the columns cannot hold exactly (empty when they can). */
static void vb_encode_x(lt_buf *b, const lt_genai *g, const gfacts *f)
{
    static const genai_field cf[2] = {GA_COST, GA_COST_SOURCE};
    for (int i = 0; i < 2; i++) {
        if (g->v[cf[i]].type == LT_VAL_EMPTY || col_backed(g, cf[i], f)) continue;
        uint8_t fi = (uint8_t)cf[i];
        sq_put(b, &fi, 1);
        vb_value(b, &g->v[cf[i]], 0);
    }
}

typedef struct {
    const uint8_t *p, *end;
    lt_arena *a;
} vdec;

static int vd_var(vdec *d, uint64_t *v)
{
    return sq_get_varint(&d->p, d->end, v) ? 0 : LT_EIO;
}

static int vd_bytes(vdec *d, lt_str *out)
{
    uint64_t n;
    if (vd_var(d, &n) || n > (uint64_t)(d->end - d->p)) return LT_EIO;
    *out = arena_strdup(d->a, (lt_str){(const char *)d->p, (size_t)n});
    if (n && !out->ptr) return LT_ENOMEM;
    d->p += n;
    return 0;
}

static int vd_value(vdec *d, lt_value *v, int depth)
{
    uint64_t n;
    int rc;
    if (d->p >= d->end || depth > MODEL_MAX_DEPTH) return LT_EIO;
    memset(v, 0, sizeof *v);
    v->type = (lt_val_type)*d->p++;
    switch (v->type) {
    case LT_VAL_EMPTY:
        return 0;
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        return vd_bytes(d, &v->u.s);
    case LT_VAL_BOOL:
        if (d->p >= d->end) return LT_EIO;
        v->u.b = *d->p++ != 0;
        return 0;
    case LT_VAL_INT:
        if ((rc = vd_var(d, &n))) return rc;
        v->u.i = unzz(n);
        return 0;
    case LT_VAL_DOUBLE: {
        if (d->end - d->p < 8) return LT_EIO;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits |= (uint64_t)d->p[i] << (8 * i);
        memcpy(&v->u.d, &bits, 8);
        d->p += 8;
        return 0;
    }
    case LT_VAL_ARRAY:
        if ((rc = vd_var(d, &n))) return rc;
        if (n > (uint64_t)(d->end - d->p)) return LT_EIO; /* each item takes a byte */
        v->u.arr.n = (uint32_t)n;
        if (n && !(v->u.arr.items = arena_calloc(d->a, n, sizeof(lt_value)))) return LT_ENOMEM;
        for (uint64_t i = 0; i < n; i++)
            if ((rc = vd_value(d, &v->u.arr.items[i], depth + 1))) return rc;
        return 0;
    case LT_VAL_KVLIST:
        if ((rc = vd_var(d, &n))) return rc;
        if (n > (uint64_t)(d->end - d->p) / 2) return LT_EIO;
        v->u.kv.n = (uint32_t)n;
        if (n && !(v->u.kv.items = arena_calloc(d->a, n, sizeof(lt_kv)))) return LT_ENOMEM;
        for (uint64_t i = 0; i < n; i++)
            if ((rc = vd_bytes(d, &v->u.kv.items[i].key)) ||
                (rc = vd_value(d, &v->u.kv.items[i].value, depth + 1)))
                return rc;
        return 0;
    default:
        return LT_EIO;
    }
}

/* Decodes fields (index byte, value or VB_COL) from p into g; VB_COL takes cols' value. */
static int vb_decode(const uint8_t *p, size_t n, const lt_genai *cols, lt_arena *a, lt_genai *g)
{
    vdec d = {.p = p, .end = p + n, .a = a};
    int rc = 0;
    while (!rc && d.p && d.p < d.end) {
        uint8_t f = *d.p++;
        if (f >= GA_N_FIELDS || d.p >= d.end) return LT_EIO;
        if (*d.p != VB_COL) {
            rc = vd_value(&d, &g->v[f], 0);
            continue;
        }
        d.p++;
        if (!cols || cols->v[f].type == LT_VAL_EMPTY) return LT_EIO;
        g->v[f] = cols->v[f];
    }
    return rc;
}

/* The row's part of a view (VCOLS from base): every field a column holds, as the column
 * has it, then the exact cost fields of xview. Strings are copied into the arena. */
static int cols_decode(sqlite3_stmt *st, int base, lt_arena *a, lt_genai *cols)
{
    memset(cols, 0, sizeof *cols);
    int rc = 0;
    for (int f = 0; f < GA_N_FIELDS && !rc; f++) {
        int c = field_col((genai_field)f);
        if (c < 0 || sqlite3_column_type(st, base + c) == SQLITE_NULL) continue;
        lt_value *v = &cols->v[f];
        if (c >= C_TOK && c < C_TOK + N_TOKENS) {
            v->type = LT_VAL_INT;
            v->u.i = sqlite3_column_int64(st, base + c);
        } else if (c == C_COST || c == C_TTFT) {
            v->type = LT_VAL_DOUBLE;
            v->u.d = sqlite3_column_double(st, base + c);
        } else {
            v->type = LT_VAL_STRING;
            v->u.s = sq_col_str(st, base + c, a, &rc);
        }
    }
    if (!rc && sqlite3_column_type(st, base + C_XVIEW) != SQLITE_NULL)
        rc = vb_decode(sqlite3_column_blob(st, base + C_XVIEW),
                       (size_t)sqlite3_column_bytes(st, base + C_XVIEW), NULL, a, cols);
    return rc;
}

/* The whole view from its body field and its row's part. */
static int view_build(const uint8_t *p, size_t n, const lt_genai *cols, lt_arena *a, lt_genai *g)
{
    memset(g, 0, sizeof *g);
    int rc = vb_decode(p, n, cols, a, g);
    g->v[GA_COST] = cols->v[GA_COST];
    g->v[GA_COST_SOURCE] = cols->v[GA_COST_SOURCE];
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------
 * The writer accumulates per combination of all dimensions (one hash probe per view; the
 * views of one conversation, model and span name mostly share one), and expands the
 * combinations into per-dimension rollup rows when it flushes. */

enum { DIM_COMBO = 0xff, RANGE_GAP = 256 };

/* Row ids of views by minute of their start: gminute lists, per minute, rowid ranges that
 * hold all its views in the rollups (and possibly others: readers filter by start). */
typedef struct {
    int64_t minute, first, last;
} mrange;

/* Interned gdim rows: packed key -> row id. */
typedef struct {
    uint64_t h; /* 0 = empty */
    lt_str key;
    int64_t id;
} dent;

typedef struct {
    lt_arena *keys;
    dent *e;
    size_t cap, n;
} dmap;

struct sq_genai_w {
    acc combo;  /* the views past rolled_upto, per minute and combination */
    acc dims;   /* the flush's per-dimension entries */
    bool valid; /* combo and mr match the table (false after an open or a rollback) */
    int64_t rolled_upto;
    mrange *mr; /* the minutes of the views past rolled_upto */
    size_t nmr, mrcap;
    long last[2]; /* the entries of the last view's user and conversation, or -1 */
    dmap dict;
    lt_buf view, hd, ht, ranges, dkey;
};

static void dmap_clear(dmap *m)
{
    if (m->keys) arena_reset(m->keys);
    if (m->e) memset(m->e, 0, m->cap * sizeof *m->e);
    m->n = 0;
}

static int64_t dmap_get(const dmap *m, uint64_t h, lt_str key)
{
    if (!m->cap) return 0;
    for (size_t i = h & (m->cap - 1); m->e[i].h; i = (i + 1) & (m->cap - 1))
        if (m->e[i].h == h && lt_str_eq(m->e[i].key, key)) return m->e[i].id;
    return 0;
}

/* Remembers key -> id; a failure only costs a later lookup. */
static void dmap_put(dmap *m, uint64_t h, lt_str key, int64_t id)
{
    if (m->n >= CACHE_MAX) dmap_clear(m);
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        dent *e = lt_calloc(cap, sizeof *e);
        if (!e) return;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].h) {
                size_t j = m->e[i].h & (cap - 1);
                while (e[j].h)
                    j = (j + 1) & (cap - 1);
                e[j] = m->e[i];
            }
        lt_free(m->e);
        m->e = e;
        m->cap = cap;
    }
    if (!m->keys && !(m->keys = arena_new())) return;
    lt_str k = arena_strdup(m->keys, key);
    if (key.len && !k.ptr) return;
    size_t j = h & (m->cap - 1);
    while (m->e[j].h)
        j = (j + 1) & (m->cap - 1);
    m->e[j] = (dent){h, k, id};
    m->n++;
}

int sq_genai_open(sq_store *s)
{
    if (!(s->genai = lt_calloc(1, sizeof *s->genai))) return LT_ENOMEM;
    s->genai->last[0] = s->genai->last[1] = -1;
    return 0;
}

void sq_genai_close(sq_store *s)
{
    sq_genai_w *g = s->genai;
    if (!g) return;
    acc_free(&g->combo);
    acc_free(&g->dims);
    lt_free(g->mr);
    arena_free(g->dict.keys);
    lt_free(g->dict.e);
    buf_free(&g->view);
    buf_free(&g->hd);
    buf_free(&g->ht);
    buf_free(&g->ranges);
    buf_free(&g->dkey);
    lt_free(g);
    s->genai = NULL;
}

void sq_genai_rolled_back(sq_store *s)
{
    if (!s->genai) return;
    s->genai->valid = false;
    dmap_clear(&s->genai->dict); /* gdim rows the rollback removed */
}

/* A combination is a gdim row: every dimension but user and conversation (whose values are
 * nearly as many as the views; those get entries of their own). */
enum { N_COMBO = LT_GROUP_USER };

/* Adds one view's sums and cells to entry i. */
static int acc_bump(acc *a, long i, const gfacts *f, uint32_t bd, uint32_t bt)
{
    acc_ent *e = &a->e[i];
    e->calls++;
    e->errors += f->error;
    for (int t = 0; t < N_TOKENS; t++)
        if (f->has_tok[t] && f->tok[t] > 0) e->tok[t] += f->tok[t];
    if (f->has_cost) e->cost += f->cost;
    int rc = acc_cell_add(a, i, H_DUR, bd, 1);
    if (!rc && f->has_ttft) rc = acc_cell_add(a, i, H_TTFT, bt, 1);
    return rc;
}

/* Counts view row (facts f, gdim row dims) for the rollups: its combination, its user and
 * conversation (the previous view's entries when they match: a trace's views share them),
 * and its minute's rows. */
static int writer_add(sq_genai_w *gw, int64_t row, int64_t dims, const gfacts *f)
{
    int64_t minute = (int64_t)(sq_clamp_i64(f->start) / MINUTE_NS);
    uint32_t bd = st_hist_bucket((double)f->dur), bt = f->has_ttft ? ttft_bucket(f->ttft) : 0;
    int rc;
    long i = acc_find(&gw->combo, DIM_COMBO, minute, (lt_str){(const char *)&dims, sizeof dims});
    if (i < 0 || (rc = acc_bump(&gw->combo, i, f, bd, bt))) return i < 0 ? LT_ENOMEM : rc;
    for (int d = N_COMBO; d < N_DIMS; d++) {
        long *last = &gw->last[d - N_COMBO];
        const acc_ent *le = *last >= 0 ? &gw->combo.e[*last] : NULL;
        if (!le || le->minute != minute || !lt_str_eq(le->key, f->dim[d]))
            *last = acc_find(&gw->combo, (uint32_t)d, minute, f->dim[d]);
        if (*last < 0) return LT_ENOMEM;
        if ((rc = acc_bump(&gw->combo, *last, f, bd, bt))) return rc;
    }
    gw->combo.rows++;
    /* the minute's rows: extend a recent range of that minute, or start one */
    for (size_t k = gw->nmr, seen = 0; k-- > 0 && seen < 8; seen++) {
        mrange *m = &gw->mr[k];
        if (m->minute == minute && row > m->last && row - m->last <= RANGE_GAP) {
            m->last = row;
            return 0;
        }
    }
    if (gw->nmr == gw->mrcap) {
        size_t cap = gw->mrcap ? gw->mrcap * 2 : 256;
        mrange *v = lt_realloc(gw->mr, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        gw->mr = v;
        gw->mrcap = cap;
    }
    gw->mr[gw->nmr++] = (mrange){minute, row, row};
    return 0;
}

/* Empties the writer's accumulator. */
static void writer_clear(sq_genai_w *gw)
{
    acc_clear(&gw->combo);
    gw->nmr = 0;
    gw->last[0] = gw->last[1] = -1;
}

static void bind_field(sqlite3_stmt *st, int i, const lt_genai *g, genai_field f)
{
    if (g->v[f].type == LT_VAL_STRING)
        sq_bind_str(st, i, g->v[f].u.s);
    else
        sqlite3_bind_null(st, i);
}

/* The gdim row of the view's low-cardinality dimensions (service and span name from f),
 * added when new. */
static int intern_dims(sq_store *s, const lt_genai *g, const gfacts *f, int64_t *id)
{
    static const genai_field vf[6] = {GA_OPERATION,      GA_PROVIDER,   GA_REQUEST_MODEL,
                                      GA_RESPONSE_MODEL, GA_AGENT_NAME, GA_COST_SOURCE};
    sq_genai_w *gw = s->genai;
    lt_buf *k = &gw->dkey;
    buf_reset(k);
    for (int i = 0; i < 8; i++) {
        lt_str v = i == 0   ? f->dim[LT_GROUP_SERVICE]
                   : i == 1 ? f->dim[LT_GROUP_SPAN_NAME]
                            : LT_STR("");
        bool present = i < 2 || g->v[vf[i - 2]].type == LT_VAL_STRING;
        if (i >= 2 && present) v = g->v[vf[i - 2]].u.s;
        uint8_t tmp[11];
        tmp[0] = present;
        sq_put(k, tmp, 1 + sq_put_varint(tmp + 1, present ? v.len : 0));
        if (present) sq_put(k, v.ptr, v.len);
    }
    if (k->oom) return LT_ENOMEM;
    lt_str key = {k->data, k->len};
    uint64_t h = ent_hash(0, 0, key);
    if ((*id = dmap_get(&gw->dict, h, key))) return 0;
    sqlite3_stmt *st = s->ws[W_G_DIM_FIND];
    sqlite3_bind_blob(st, 1, key.ptr, (int)key.len, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) return sq_err(s->wdb, src, "find dimensions");
    if (!*id) {
        sqlite3_stmt *add = s->ws[W_G_DIM_ADD];
        sqlite3_bind_blob(add, 1, key.ptr, (int)key.len, SQLITE_STATIC);
        sq_bind_str(add, 2, f->dim[LT_GROUP_SERVICE]);
        sq_bind_str(add, 3, f->dim[LT_GROUP_SPAN_NAME]);
        for (int i = 0; i < 6; i++)
            bind_field(add, 4 + i, g, vf[i]);
        int rc = sq_exec_stmt(s->wdb, add, "add dimensions");
        if (rc) return rc;
        *id = sqlite3_last_insert_rowid(s->wdb);
    }
    dmap_put(&gw->dict, h, key, *id);
    return 0;
}

/* The tag of the body field holding a view: field 19998, wire type 2 (next to the content
 * store's 19999; no OTLP message uses these numbers, and decoders skip them). */
static const uint8_t view_tag[3] = {0xf2, 0xe1, 0x09};

int sq_genai_body_view(sq_store *s, const lt_span *sp, const gfacts *f, lt_buf *out)
{
    sq_genai_w *gw = s->genai;
    buf_reset(&gw->view);
    vb_encode_body(&gw->view, sp->genai, f);
    uint8_t len[10];
    size_t at = out->len;
    sq_put(out, view_tag, sizeof view_tag);
    sq_put(out, len, sq_put_varint(len, gw->view.len));
    sq_put(out, gw->view.data, gw->view.len);
    if (gw->view.oom || out->oom) {
        out->len = at;
        return LT_ENOMEM;
    }
    return 0;
}

int sq_genai_write(sq_store *s, int64_t row, int64_t trace_row, const lt_span *sp, int64_t res_id,
                   int64_t scope_id, int64_t loc, int64_t len, const gfacts *f)
{
    sq_genai_w *gw = s->genai;
    const lt_genai *g = sp->genai;
    int64_t dims;
    int rc = intern_dims(s, g, f, &dims);
    if (rc) return rc;
    buf_reset(&gw->view);
    vb_encode_x(&gw->view, g, f);
    if (gw->view.oom) return LT_ENOMEM;
    sqlite3_stmt *st = s->ws[W_G_ADD];
    /* the span's columns, as the spans table has them */
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_blob(st, 2, sp->trace_id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, sp->span_id, 8, SQLITE_STATIC);
    if (sp->has_parent)
        sqlite3_bind_blob(st, 4, sp->parent_span_id, 8, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sq_bind_str(st, 5, sp->name);
    sqlite3_bind_int64(st, 6, sp->kind);
    sq_bind_u64(st, 7, sp->start_time_unix_nano);
    sq_bind_u64(st, 8, sp->end_time_unix_nano);
    sqlite3_bind_int64(st, 9, sp->status_code);
    sqlite3_bind_int64(st, 10, res_id);
    sqlite3_bind_int64(st, 11, scope_id);
    sqlite3_bind_int64(st, 12, trace_row);
    sqlite3_bind_int64(st, 13, loc);
    sqlite3_bind_int64(st, 14, len);
    /* the view's */
    sqlite3_bind_int64(st, 15, dims);
    bind_field(st, 16, g, GA_USER_ID);
    bind_field(st, 17, g, GA_CONVERSATION_ID);
    for (int t = 0; t < N_TOKENS; t++)
        if (f->has_tok[t])
            sqlite3_bind_int64(st, 18 + t, f->tok[t]);
        else
            sqlite3_bind_null(st, 18 + t);
    if (f->has_cost)
        sqlite3_bind_double(st, 23, f->cost);
    else
        sqlite3_bind_null(st, 23);
    if (f->has_ttft)
        sqlite3_bind_double(st, 24, f->ttft);
    else
        sqlite3_bind_null(st, 24);
    sqlite3_bind_int(st, 25, f->error);
    if (gw->view.len)
        sq_bind_buf(st, 26, &gw->view);
    else
        sqlite3_bind_null(st, 26);
    rc = sq_exec_stmt(s->wdb, st, "add span with a view");
    /* a rolled-back call leaves the accumulator invalid (rebuilt before the next use) */
    if (!rc && gw->valid) rc = writer_add(gw, row, dims, f);
    return rc;
}

/* Encodes entry e's histogram h from the sorted cells at *ci (advancing past them). */
static void hist_encode(const acc *a, size_t nc, size_t *ci, size_t e, int h, lt_buf *out)
{
    buf_reset(out);
    uint32_t prev = 0;
    bool first = true;
    for (; *ci < nc; (*ci)++) {
        uint64_t k = a->c[*ci].k;
        if ((k >> 11) != e + 1 || (int)((k >> 10) & 1) != h) break;
        if (!a->c[*ci].n) continue;
        uint8_t tmp[24];
        uint32_t b = (uint32_t)(k & 1023);
        buf_append(out, tmp, hist_put(tmp, prev, first, b, a->c[*ci].n));
        prev = b;
        first = false;
    }
}

/* Writes the accumulator's entries into the rollup table (drop_empty: then deletes rows
 * left without calls) and clears it. */
static int acc_write(sq_store *s, acc *a, bool drop_empty)
{
    sq_genai_w *gw = s->genai;
    size_t nc = acc_sort_cells(a), ci = 0;
    int rc = 0;
    sqlite3_stmt *up = s->ws[W_G_ROLLUP], *drop = s->ws[W_G_ROLLUP_DROP];
    for (size_t i = 0; i < a->n && !rc; i++) {
        const acc_ent *e = &a->e[i];
        /* cells of entries before i (all zero) were skipped by hist_encode */
        while (ci < nc && (a->c[ci].k >> 11) < i + 1)
            ci++;
        hist_encode(a, nc, &ci, i, H_DUR, &gw->hd);
        hist_encode(a, nc, &ci, i, H_TTFT, &gw->ht);
        if (gw->hd.oom || gw->ht.oom) {
            rc = LT_ENOMEM;
            break;
        }
        sqlite3_bind_int(up, 1, (int)e->dim);
        sqlite3_bind_int64(up, 2, e->minute);
        sq_bind_str(up, 3, e->key);
        sqlite3_bind_int64(up, 4, e->calls);
        sqlite3_bind_int64(up, 5, e->errors);
        for (int t = 0; t < N_TOKENS; t++)
            sqlite3_bind_int64(up, 6 + t, e->tok[t]);
        sqlite3_bind_double(up, 11, e->cost);
        sq_bind_buf(up, 12, &gw->hd);
        sq_bind_buf(up, 13, &gw->ht);
        rc = sq_exec_stmt(s->wdb, up, "rollup");
        if (!rc && drop_empty && e->calls < 0) {
            sqlite3_bind_int(drop, 1, (int)e->dim);
            sqlite3_bind_int64(drop, 2, e->minute);
            sq_bind_str(drop, 3, e->key);
            rc = sq_exec_stmt(s->wdb, drop, "rollup drop");
        }
    }
    acc_clear(a);
    return rc;
}

/* Adds the entries of c (its cells sorted by acc_sort_cells, nc of them) to d: a
 * combination (its gdim row read back) to each of its dimensions, another entry as it is. */
static int acc_expand(sq_store *s, acc *c, size_t nc, acc *d)
{
    size_t ci = 0;
    sqlite3_stmt *get = s->ws[W_G_DIM_GET];
    for (size_t i = 0; i < c->n; i++) {
        const acc_ent *e = &c->e[i];
        lt_str dim[N_DIMS];
        uint32_t dims[N_DIMS];
        int nd = 0;
        if (e->dim == DIM_COMBO) {
            int64_t id;
            memcpy(&id, e->key.ptr, sizeof id);
            sqlite3_bind_int64(get, 1, id);
            int src = sqlite3_step(get);
            if (src != SQLITE_ROW) {
                sqlite3_reset(get);
                return src == SQLITE_DONE ? LT_EIO : sq_err(s->wdb, src, "read dimensions");
            }
#define COL(k)                                                                                     \
    ((lt_str){sqlite3_column_text(get, k) ? (const char *)sqlite3_column_text(get, k) : "",        \
              (size_t)sqlite3_column_bytes(get, k)})
            lt_str req = COL(0), resp = COL(1);
            dim[LT_GROUP_MODEL] = resp.len ? resp : req;
            dim[LT_GROUP_PROVIDER] = COL(2);
            dim[LT_GROUP_OPERATION] = COL(3);
            dim[LT_GROUP_SERVICE] = COL(4);
            dim[LT_GROUP_SPAN_NAME] = COL(5);
            dim[LT_GROUP_AGENT] = COL(6);
#undef COL
            for (; nd < N_COMBO; nd++)
                dims[nd] = (uint32_t)nd;
        } else {
            dim[0] = e->key;
            dims[0] = e->dim;
            nd = 1;
        }
        long di[N_DIMS];
        for (int k = 0; k < nd; k++) {
            /* acc_find copies the key: the statement's row may go */
            if ((di[k] = acc_find(d, dims[k], e->minute, dim[k])) < 0) {
                sqlite3_reset(get);
                return LT_ENOMEM;
            }
            acc_ent *o = &d->e[di[k]];
            o->calls += e->calls;
            o->errors += e->errors;
            for (int t = 0; t < N_TOKENS; t++)
                o->tok[t] += e->tok[t];
            o->cost += e->cost;
        }
        sqlite3_reset(get);
        while (ci < nc && (c->c[ci].k >> 11) < i + 1)
            ci++;
        for (; ci < nc && (c->c[ci].k >> 11) == i + 1; ci++) {
            int h = (int)((c->c[ci].k >> 10) & 1);
            uint32_t b = (uint32_t)(c->c[ci].k & 1023);
            for (int k = 0; k < nd; k++) {
                int rc = acc_cell_add(d, di[k], h, b, c->c[ci].n);
                if (rc) return rc;
            }
        }
    }
    return 0;
}

static int mrange_cmp(const void *pa, const void *pb)
{
    const mrange *a = pa, *b = pb;
    if (a->minute != b->minute) return a->minute < b->minute ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Appends the minutes' row ranges to gminute. */
static int minutes_write(sq_store *s)
{
    sq_genai_w *gw = s->genai;
    if (gw->nmr > 1) qsort(gw->mr, gw->nmr, sizeof *gw->mr, mrange_cmp);
    sqlite3_stmt *st = s->ws[W_G_MINUTE];
    int rc = 0;
    for (size_t i = 0; i < gw->nmr && !rc;) {
        size_t e = i;
        buf_reset(&gw->ranges);
        for (; e < gw->nmr && gw->mr[e].minute == gw->mr[i].minute; e++) {
            uint8_t tmp[20];
            size_t k = sq_put_varint(tmp, (uint64_t)gw->mr[e].first);
            k += sq_put_varint(tmp + k, (uint64_t)(gw->mr[e].last - gw->mr[e].first));
            buf_append(&gw->ranges, tmp, k);
        }
        if (gw->ranges.oom) return LT_ENOMEM;
        sqlite3_bind_int64(st, 1, gw->mr[i].minute);
        sq_bind_buf(st, 2, &gw->ranges);
        rc = sq_exec_stmt(s->wdb, st, "rollup minutes");
        i = e;
    }
    gw->nmr = 0;
    return rc;
}

/* Adds every row of the statement (GCOLS from column 0) to a, with sign; per_minute and
 * dim_only as acc_add. */
static int acc_add_rows(sqlite3 *db, sqlite3_stmt *st, acc *a, int sign, bool per_minute,
                        int dim_only)
{
    int src, rc = 0;
    gfacts f;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        facts_from_row(st, 0, &f);
        rc = acc_add(a, &f, sign, per_minute, dim_only);
    }
    sqlite3_reset(st);
    if (rc) return rc;
    return src == SQLITE_DONE ? 0 : sq_err(db, src, "read genai views");
}

static int set_rolled(sq_store *s, int64_t upto)
{
    sqlite3_stmt *ms = s->ws[W_META_SET];
    sqlite3_bind_text(ms, 1, "rolled_upto", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ms, 2, upto);
    return sq_exec_stmt(s->wdb, ms, "rollup mark");
}

/* Rebuilds the accumulator from the views past the mark (after an open or a rollback). */
static int writer_rebuild(sq_store *s)
{
    sq_genai_w *gw = s->genai;
    writer_clear(gw);
    int rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'rolled_upto'", &gw->rolled_upto);
    if (rc) return rc;
    sqlite3_stmt *st = s->ws[W_G_TAIL];
    sqlite3_bind_int64(st, 1, gw->rolled_upto);
    int src;
    gfacts f;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        facts_from_row(st, 0, &f);
        rc = writer_add(gw, sqlite3_column_int64(st, C_ERROR + 1),
                        sqlite3_column_int64(st, C_ERROR + 2), &f);
    }
    sqlite3_reset(st);
    if (!rc && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "read genai views");
    gw->valid = !rc;
    return rc;
}

int sq_genai_prepare(sq_store *s, bool force)
{
    sq_genai_w *gw = s->genai;
    int rc = 0;
    if (!gw->valid && (rc = writer_rebuild(s))) return rc;
    bool due = gw->combo.rows >= LT_SQLITE_ROLLUP_FLUSH_ROWS;
    if (!(force ? gw->combo.rows > 0 || gw->rolled_upto < s->next_span - 1 : due)) return 0;
    /* everything up to the last span row is now in the rollups (or has no view) */
    size_t nc = acc_sort_cells(&gw->combo);
    if ((rc = acc_expand(s, &gw->combo, nc, &gw->dims)) || (rc = acc_write(s, &gw->dims, false)) ||
        (rc = minutes_write(s)) || (rc = set_rolled(s, s->next_span - 1))) {
        acc_clear(&gw->dims);
        gw->valid = false;
        return rc;
    }
    writer_clear(gw);
    gw->rolled_upto = s->next_span - 1;
    return 0;
}

int sq_genai_retire(sq_store *s, int64_t upto)
{
    acc neg = {0};
    sqlite3_stmt *st = s->ws[W_G_UPTO];
    sqlite3_bind_int64(st, 1, upto);
    int rc = acc_add_rows(s->wdb, st, &neg, -1, true, -1);
    /* the minutes those views started in lose their ranges up to upto */
    for (size_t i = 0; i < neg.n && !rc; i++) {
        if (neg.e[i].dim != LT_GROUP_MODEL) continue; /* each view has one model entry */
        sqlite3_stmt *pr = s->ws[W_G_MINUTE_PRUNE], *dr = s->ws[W_G_MINUTE_DROP];
        sqlite3_bind_int64(pr, 1, neg.e[i].minute);
        sqlite3_bind_int64(pr, 2, upto);
        sqlite3_bind_int64(dr, 1, neg.e[i].minute);
        if (!(rc = sq_exec_stmt(s->wdb, pr, "prune minutes")))
            rc = sq_exec_stmt(s->wdb, dr, "drop minutes");
    }
    if (!rc) rc = acc_write(s, &neg, true);
    acc_free(&neg);
    if (!rc) {
        sqlite3_bind_int64(s->ws[W_G_DEL], 1, upto);
        rc = sq_exec_stmt(s->wdb, s->ws[W_G_DEL], "delete genai views");
    }
    return rc;
}

int sq_genai_drop_from(sq_store *s, int64_t from)
{
    int64_t rolled = 0;
    acc neg = {0};
    int rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'rolled_upto'", &rolled);
    if (!rc && rolled >= from) {
        sqlite3_stmt *st = s->ws[W_G_FROM];
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, rolled);
        if (!(rc = acc_add_rows(s->wdb, st, &neg, -1, true, -1))) rc = acc_write(s, &neg, true);
        char sql[128];
        snprintf(sql, sizeof sql,
                 "UPDATE gminute SET ranges = lt_ranges_cut(ranges, %" PRId64 ");"
                 "DELETE FROM gminute WHERE length(ranges) = 0;",
                 from);
        if (!rc) rc = sq_exec_sql(s->wdb, sql);
        if (!rc) rc = set_rolled(s, from - 1);
    }
    acc_free(&neg);
    if (!rc) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM genai WHERE id >= %" PRId64, from);
        rc = sq_exec_sql(s->wdb, sql);
    }
    s->genai->valid = false;
    return rc;
}

/* ---- reading views ------------------------------------------------------------------------ */

int sq_genai_load_views(reader *r, const uint8_t *ranges, size_t rlen, int64_t trace_row,
                        lt_arena *a, sq_view **out, size_t *n)
{
    int64_t f, l;
    uint64_t total = 0;
    *out = NULL;
    *n = 0;
    for (const uint8_t *p = ranges, *end = ranges + rlen; sq_next_range(&p, end, &f, &l);)
        total += (uint64_t)(l - f + 1);
    if (!total) return 0;
    sqlite3_stmt *st = NULL;
    int rc = sq_rstmt(r, R_G_VIEWS, &st), src = SQLITE_DONE;
    if (rc) return rc;
    sq_view *v = arena_alloc(a, total * sizeof *v);
    if (!v) return LT_ENOMEM;
    size_t k = 0;
    for (const uint8_t *p = ranges, *end = ranges + rlen; !rc && sq_next_range(&p, end, &f, &l);) {
        sqlite3_bind_int64(st, 1, f);
        sqlite3_bind_int64(st, 2, l);
        sqlite3_bind_int64(st, 3, trace_row);
        while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW && k < total) {
            lt_genai *g = arena_alloc(a, sizeof *g);
            if (!g) {
                rc = LT_ENOMEM;
                break;
            }
            if ((rc = cols_decode(st, 1, a, g))) {
                if (rc != LT_ENOMEM) log_error("store: a stored GenAI view does not decode");
                break;
            }
            v[k++] = (sq_view){sqlite3_column_int64(st, 0), g};
        }
        sqlite3_reset(st);
        if (!rc && src != SQLITE_DONE && src != SQLITE_ROW) rc = sq_err(r->db, src, "read views");
    }
    *out = v;
    *n = k;
    return rc;
}

int sq_genai_view(const uint8_t *p, size_t n, const lt_genai *cols, lt_arena *a, lt_genai **out)
{
    lt_genai *g = arena_alloc(a, sizeof *g);
    if (!g) return LT_ENOMEM;
    int rc = view_build(p, n, cols, a, g);
    if (rc && rc != LT_ENOMEM) log_error("store: a stored GenAI view does not decode");
    *out = rc ? NULL : g;
    return rc;
}

/* ---- genai_summary ------------------------------------------------------------------------ */

/* Adds a rollup row (R_G_ROLLUP) to the group of its key (and of its minute's bucket). */
static int acc_add_rollup(acc *a, sqlite3_stmt *st, uint32_t dim)
{
    lt_str key = {(const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)};
    if (!key.ptr) key = LT_STR("");
    int64_t bucket = a->step ? sqlite3_column_int64(st, 11) * MINUTE_NS / a->step : 0;
    long i = acc_find(a, dim, bucket, key);
    if (i < 0) return LT_ENOMEM;
    acc_ent *e = &a->e[i];
    e->calls += sqlite3_column_int64(st, 1);
    e->errors += sqlite3_column_int64(st, 2);
    for (int t = 0; t < N_TOKENS; t++)
        e->tok[t] += sqlite3_column_int64(st, 3 + t);
    e->cost += sqlite3_column_double(st, 8);
    for (int h = 0; h < 2; h++) {
        const uint8_t *p = sqlite3_column_blob(st, 9 + h);
        const uint8_t *end = sq_end(p, (size_t)sqlite3_column_bytes(st, 9 + h));
        uint32_t b = 0;
        int64_t c;
        for (bool first = true; hist_next(&p, end, &b, &c, first); first = false) {
            int rc = acc_cell_add(a, i, h, b, c);
            if (rc) return rc;
        }
    }
    a->rows++;
    return 0;
}

/* The value at quantile q of entry e's histogram h (its cells from c[at], n of them). */
static double quantile(const acc_cell *c, size_t n, double q, int64_t total)
{
    int64_t rank = (int64_t)ceil(q * (double)total), seen = 0;
    if (rank < 1) rank = 1;
    for (size_t i = 0; i < n; i++) {
        if (c[i].n <= 0) continue;
        seen += c[i].n;
        if (seen >= rank) return st_hist_value((uint32_t)(c[i].k & 1023));
    }
    return n ? st_hist_value((uint32_t)(c[n - 1].k & 1023)) : 0;
}

static uint64_t nonneg(int64_t v)
{
    return v > 0 ? (uint64_t)v : 0;
}

/* Turns the groups of a into the result, sorted, in the caller's arena. */
static int acc_groups(acc *a, lt_arena *ar, lt_genai_group **out, uint32_t *n_out)
{
    size_t nc = acc_sort_cells(a), ci = 0, n = 0;
    lt_genai_group *g = arena_calloc(ar, a->n ? a->n : 1, sizeof *g);
    if (!g) return LT_ENOMEM;
    for (size_t i = 0; i < a->n; i++) {
        const acc_ent *e = &a->e[i];
        size_t h0 = ci, h1, h2;
        while (ci < nc && (a->c[ci].k >> 11) < i + 1)
            h0 = ++ci;
        while (ci < nc && (a->c[ci].k >> 11) == i + 1 && !((a->c[ci].k >> 10) & 1))
            ci++;
        h1 = ci;
        while (ci < nc && (a->c[ci].k >> 11) == i + 1)
            ci++;
        h2 = ci;
        if (e->calls <= 0) continue;
        lt_genai_group *o = &g[n++];
        o->bucket_start = (uint64_t)(e->minute * a->step);
        o->key = arena_strdup(ar, e->key);
        if (e->key.len && !o->key.ptr) return LT_ENOMEM;
        o->calls = (uint64_t)e->calls;
        o->errors = nonneg(e->errors);
        o->input_tokens = nonneg(e->tok[0]);
        o->output_tokens = nonneg(e->tok[1]);
        o->cache_read_tokens = nonneg(e->tok[2]);
        o->cache_creation_tokens = nonneg(e->tok[3]);
        o->reasoning_tokens = nonneg(e->tok[4]);
        o->cost = e->cost;
        int64_t nd = 0, nt = 0;
        for (size_t k = h0; k < h1; k++)
            nd += a->c[k].n > 0 ? a->c[k].n : 0;
        for (size_t k = h1; k < h2; k++)
            nt += a->c[k].n > 0 ? a->c[k].n : 0;
        if (nd) {
            o->duration_p50_ns = (uint64_t)llround(quantile(a->c + h0, h1 - h0, 0.50, nd));
            o->duration_p95_ns = (uint64_t)llround(quantile(a->c + h0, h1 - h0, 0.95, nd));
            o->duration_p99_ns = (uint64_t)llround(quantile(a->c + h0, h1 - h0, 0.99, nd));
        }
        if (nt) {
            o->has_ttft = true;
            o->ttft_p50_s = quantile(a->c + h1, h2 - h1, 0.50, nt) / 1e9;
            o->ttft_p95_s = quantile(a->c + h1, h2 - h1, 0.95, nt) / 1e9;
        }
    }
    if (n > 1) qsort(g, n, sizeof *g, st_genai_group_cmp);
    *out = n ? g : NULL;
    *n_out = (uint32_t)n;
    return 0;
}

/* Adds the genai rows a reader statement selects (bound by the caller) to the groups. */
static int scan_rows(reader *r, sqlite3_stmt *st, acc *a, int dim)
{
    int rc = acc_add_rows(r->db, st, a, 1, false, dim);
    if (!rc && a->n > LT_SQLITE_SUMMARY_MAX_GROUPS) rc = LT_ETOOBIG;
    return rc;
}

/* Adds the views in the rollups (rows <= rolled) that started in minutes m_lo..m_hi and in
 * [lo, hi], found through the minutes' row ranges. A minute's ranges may hold views of
 * other minutes too, so each minute's scan keeps only its own. */
static int scan_minutes(reader *r, acc *a, int dim, int64_t m_lo, int64_t m_hi, int64_t lo,
                        int64_t hi, int64_t rolled)
{
    sqlite3_stmt *ms = NULL, *ids = NULL;
    int rc = sq_rstmt(r, R_G_MINUTES, &ms), src;
    if (rc) return rc;
    sqlite3_bind_int64(ms, 1, m_lo);
    sqlite3_bind_int64(ms, 2, m_hi);
    while (!rc && (src = sqlite3_step(ms)) == SQLITE_ROW) {
        int64_t m = sqlite3_column_int64(ms, 0);
        int64_t from = m * MINUTE_NS, to = from + (MINUTE_NS - 1);
        if (from < lo) from = lo;
        if (to > hi) to = hi;
        const uint8_t *p = sqlite3_column_blob(ms, 1);
        const uint8_t *end = sq_end(p, (size_t)sqlite3_column_bytes(ms, 1));
        int64_t f, l;
        while (!rc && sq_next_range(&p, end, &f, &l)) {
            if (f > rolled) continue;
            if ((rc = sq_rstmt(r, R_G_IDS, &ids))) break;
            sqlite3_bind_int64(ids, 1, f);
            sqlite3_bind_int64(ids, 2, l < rolled ? l : rolled);
            sqlite3_bind_int64(ids, 3, from);
            sqlite3_bind_int64(ids, 4, to);
            rc = scan_rows(r, ids, a, dim);
        }
    }
    sqlite3_reset(ms);
    if (!rc && src != SQLITE_DONE && src != SQLITE_ROW) rc = sq_err(r->db, src, "read minutes");
    return rc;
}

int sq_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *ar, lt_genai_group **out,
                     uint32_t *n)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    acc a = {0};
    *out = NULL;
    *n = 0;
    if ((unsigned)q->group_by >= N_DIMS) return LT_EINVAL;
    /* whole minutes, so that every rollup minute falls in one bucket */
    if (q->step_ns % (uint64_t)MINUTE_NS || q->step_ns > INT64_MAX) return LT_EINVAL;
    a.step = (int64_t)q->step_ns;
    int dim = (int)q->group_by, rc = sq_reader_get(s, &r), src;
    if (rc) return rc;
    int64_t rolled = 0;
    sqlite3_stmt *rs = NULL;
    if ((rc = sq_read_begin(r)) || (rc = sq_rstmt(r, R_G_ROLLED, &rs))) goto out;
    if ((src = sqlite3_step(rs)) == SQLITE_ROW) rolled = sqlite3_column_int64(rs, 0);
    sqlite3_reset(rs);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_err(r->db, src, "rollup mark");
        goto out;
    }
    int64_t lo = (int64_t)sq_clamp_i64(q->start_min);
    int64_t hi = q->start_max ? (int64_t)sq_clamp_i64(q->start_max) : INT64_MAX;
    if (lo > hi) goto out;
    /* whole minutes inside [lo, hi]: m_first .. m_last */
    int64_t m_first = lo / MINUTE_NS + (lo % MINUTE_NS != 0);
    int64_t m_last = (int64_t)(((uint64_t)hi + 1) / (uint64_t)MINUTE_NS) - 1;
    sqlite3_stmt *qs = NULL;
    if (m_first > m_last) {
        /* no whole minute: the (at most two) minutes the range touches */
        if ((rc = scan_minutes(r, &a, dim, lo / MINUTE_NS, hi / MINUTE_NS, lo, hi, rolled)))
            goto out;
    } else {
        int64_t in_lo = m_first * MINUTE_NS, in_hi = (m_last + 1) * MINUTE_NS - 1;
        if ((rc = sq_rstmt(r, R_G_ROLLUP, &qs))) goto out;
        sqlite3_bind_int(qs, 1, dim);
        sqlite3_bind_int64(qs, 2, m_first);
        sqlite3_bind_int64(qs, 3, m_last);
        while (!rc && (src = sqlite3_step(qs)) == SQLITE_ROW)
            if (!(rc = acc_add_rollup(&a, qs, (uint32_t)dim)) && a.n > LT_SQLITE_SUMMARY_MAX_GROUPS)
                rc = LT_ETOOBIG;
        sqlite3_reset(qs);
        if (rc) goto out;
        if (src != SQLITE_DONE) {
            rc = sq_err(r->db, src, "read rollups");
            goto out;
        }
        /* the partial minutes at the edges */
        if (lo < in_lo &&
            (rc = scan_minutes(r, &a, dim, lo / MINUTE_NS, lo / MINUTE_NS, lo, in_lo - 1, rolled)))
            goto out;
        if (hi > in_hi &&
            (rc = scan_minutes(r, &a, dim, hi / MINUTE_NS, hi / MINUTE_NS, in_hi + 1, hi, rolled)))
            goto out;
    }
    /* the views not in the rollups yet (at most a flush's worth) */
    if ((rc = sq_rstmt(r, R_G_TAIL, &qs))) goto out;
    sqlite3_bind_int64(qs, 1, rolled);
    sqlite3_bind_int64(qs, 2, lo);
    sqlite3_bind_int64(qs, 3, hi);
    if ((rc = scan_rows(r, qs, &a, dim))) goto out;
    rc = acc_groups(&a, ar, out, n);
out:
    sq_read_end(r);
    sq_reader_put(s, r);
    acc_free(&a);
    return rc;
}

/* ---- rederive ----------------------------------------------------------------------------- */

static bool value_same(const lt_value *a, const lt_value *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case LT_VAL_EMPTY:
        return true;
    case LT_VAL_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof a->u.d) == 0;
    case LT_VAL_INT:
        return a->u.i == b->u.i;
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        return lt_str_eq(a->u.s, b->u.s);
    default:
        return false; /* other types are not costs: rewrite */
    }
}

/* The view of a walked row: its body field, read from the segment (the first bytes of the
 * body, all of it when the field is longer), joined with the row's part. */
static int walked_view(sq_store *s, fdcache *fc, int64_t loc, size_t len, const lt_genai *cols,
                       lt_arena *a, lt_genai *out)
{
    size_t n = len < 4096 ? len : 4096;
    for (;;) {
        uint8_t *p = arena_alloc(a, n ? n : 1);
        if (!p) return LT_ENOMEM;
        if (!sq_seg_read(s, fc, loc, n, p)) return LT_EIO;
        lt_str vf;
        int rc = sq_body_view(p, n, &vf);
        if (rc && n < len) {
            n = len; /* a longer field: read the whole body */
            continue;
        }
        if (rc) return rc;
        if (!vf.ptr) return LT_EIO;
        return view_build((const uint8_t *)vf.ptr, vf.len, cols, a, out);
    }
}

/* One transaction of rederive: the views after *last up to max, at most
 * LT_SQLITE_REDERIVE_STEP of them. *walked counts them; *fn_rc is fn's error, if any. */
static int rederive_step(sq_store *s, lt_arena *scratch, fdcache *fc, lt_rederive_fn fn, void *ctx,
                         int64_t *last, int64_t max, uint64_t *walked, int *fn_rc)
{
    sq_genai_w *gw = s->genai;
    acc deltas = {0};
    int64_t span0 = s->next_span, log0 = s->next_log;
    buf_reset(&s->enc);
    int rc = sq_begin_write(s), src;
    if (rc) return rc;
    sqlite3_stmt *w = s->ws[W_G_WALK], *set = s->ws[W_G_SET_COST], *tc = s->ws[W_G_TRACE_COST];
    sqlite3_bind_int64(w, 1, *last);
    sqlite3_bind_int64(w, 2, max);
    sqlite3_bind_int(w, 3, LT_SQLITE_REDERIVE_STEP);
    int64_t trace = 0;
    double trace_delta = 0;
    while (!rc && (src = sqlite3_step(w)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(w, 0), trow = sqlite3_column_int64(w, 1);
        *last = id;
        (*walked)++;
        arena_reset(scratch);
        lt_genai cols, old, work;
        gfacts f;
        if (!(rc = cols_decode(w, 4, scratch, &cols)))
            rc = walked_view(s, fc, sqlite3_column_int64(w, 2), (size_t)sqlite3_column_int64(w, 3),
                             &cols, scratch, &old);
        if (rc) {
            if (rc != LT_ENOMEM) log_error("store: GenAI view of span row %" PRId64 " is bad", id);
            break;
        }
        facts_from_row(w, 4, &f);
        work = old;
        if ((*fn_rc = fn(ctx, &work, f.start))) break;
        if (value_same(&work.v[GA_COST], &old.v[GA_COST]) &&
            value_same(&work.v[GA_COST_SOURCE], &old.v[GA_COST_SOURCE]))
            continue;
        /* only the cost fields are taken from fn */
        lt_genai nv = old;
        nv.v[GA_COST] = work.v[GA_COST];
        nv.v[GA_COST_SOURCE] = work.v[GA_COST_SOURCE];
        gfacts nf = f;
        nf.has_cost = st_view_double(&nv, GA_COST, &nf.cost);
        double delta = (nf.has_cost ? nf.cost : 0) - (f.has_cost ? f.cost : 0);
        int64_t dims;
        if ((rc = intern_dims(s, &nv, &nf, &dims))) break;
        buf_reset(&gw->view);
        vb_encode_x(&gw->view, &nv, &nf);
        if (gw->view.oom) {
            rc = LT_ENOMEM;
            break;
        }
        sqlite3_bind_int64(set, 1, id);
        if (nf.has_cost)
            sqlite3_bind_double(set, 2, nf.cost);
        else
            sqlite3_bind_null(set, 2);
        sqlite3_bind_int64(set, 3, dims);
        if (gw->view.len)
            sq_bind_buf(set, 4, &gw->view);
        else
            sqlite3_bind_null(set, 4);
        if ((rc = sq_exec_stmt(s->wdb, set, "rederive view"))) break;
        if (delta == 0) continue;
        if (trow != trace && trace_delta != 0) {
            sqlite3_bind_int64(tc, 1, trace);
            sqlite3_bind_double(tc, 2, trace_delta);
            if ((rc = sq_exec_stmt(s->wdb, tc, "rederive trace cost"))) break;
            trace_delta = 0;
        }
        trace = trow;
        trace_delta += delta;
        /* the walk covers views up to the rollup mark of its start: all are in rollups */
        rc = acc_add_cost(&deltas, &f, delta);
    }
    sqlite3_reset(w);
    if (!rc && src != SQLITE_ROW && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "rederive walk");
    if (!rc && trace_delta != 0) {
        sqlite3_bind_int64(tc, 1, trace);
        sqlite3_bind_double(tc, 2, trace_delta);
        rc = sq_exec_stmt(s->wdb, tc, "rederive trace cost");
    }
    if (!rc && deltas.n) rc = acc_write(s, &deltas, false);
    acc_free(&deltas);
    return sq_end_write(s, rc, span0, log0);
}

int sq_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx)
{
    sq_store *s = (sq_store *)st;
    if (s->read_only) return sq_refuse_read_only("rederive");
    lt_arena *scratch = arena_new();
    if (!scratch) return LT_ENOMEM;
    int64_t max = 0, total = 0;
    /* first every waiting view into the rollups, so that all views walked are there */
    pthread_mutex_lock(&s->wlock);
    buf_reset(&s->enc);
    int rc = sq_begin_write(s);
    if (!rc) {
        rc = sq_genai_prepare(s, true);
        rc = sq_end_write(s, rc, s->next_span, s->next_log);
    }
    if (!rc) rc = sq_query_int(s->wdb, "SELECT max(id) FROM genai", &max);
    if (!rc) rc = sq_query_int(s->wdb, "SELECT count(*) FROM genai", &total);
    pthread_mutex_unlock(&s->wlock);
    int64_t last = 0;
    uint64_t walked = 0;
    int fn_rc = 0;
    fdcache fc = {0};
    if (progress && !rc) progress(pctx, 0, (uint64_t)total);
    while (!rc && !fn_rc && last < max) {
        uint64_t before = walked;
        pthread_mutex_lock(&s->wlock);
        rc = rederive_step(s, scratch, &fc, fn, ctx, &last, max, &walked, &fn_rc);
        pthread_mutex_unlock(&s->wlock);
        if (progress && !rc)
            progress(pctx, walked < (uint64_t)total ? walked : (uint64_t)total, (uint64_t)total);
        if (walked == before) break; /* retention removed the rest */
    }
    sq_fdc_close(&fc);
    arena_free(scratch);
    return rc ? rc : fn_rc;
}
