/* sqlite_query.c — the engine's read-side queries over many traces (see sqlite.c for the
 * layout): listing traces newest first with the filters of lt_trace_query, searching and
 * ranking them (free text through sqlite_search.c, top traces by cost or duration, the
 * cost histogram), the live tail in arrival order, services and operations, bytes used.
 * Reading one trace, writing, opening and retention stay in sqlite.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/sqlite_int.h"
#include "store/store.h"
/* ---- listing traces ------------------------------------------------------------------- */

/* True when v rendered as text (st_value_text) equals want. */
static bool value_text_eq(const lt_value *v, lt_str want, lt_buf *tmp)
{
    if (v->type == LT_VAL_STRING) return lt_str_eq(v->u.s, want);
    buf_reset(tmp);
    st_value_text(tmp, v);
    return !tmp->oom && lt_str_eq((lt_str){tmp->data, tmp->len}, want);
}

static bool attrs_match(const lt_attrs *at, const lt_trace_query *q, lt_buf *tmp)
{
    const lt_value *v = model_attr_get(at, q->attr_key);
    return v && value_text_eq(v, q->attr_value, tmp);
}

typedef struct {
    int64_t id;
    bool match;
} res_memo;

typedef struct {
    lt_arena *scratch;
    lt_buf tmp;
    rows rs;
    fdcache fc;
    res_memo memo[32];
    uint32_t n_memo, memo_next;
    uint64_t budget; /* spans left to examine */
    sq_cread cr;     /* content fetched into scratch */
} attr_scan;

static int resource_matches(reader *r, attr_scan *sc, int64_t id, const lt_trace_query *q,
                            bool *match)
{
    for (uint32_t i = 0; i < sc->n_memo; i++)
        if (sc->memo[i].id == id) {
            *match = sc->memo[i].match;
            return 0;
        }
    lt_resource res;
    lt_str url;
    arena_reset(sc->scratch);
    int rc = sq_load_meta(r, false, id, sc->scratch, &res, &url);
    if (rc) return rc;
    *match = attrs_match(&res.attrs, q, &sc->tmp);
    uint32_t slot = sc->n_memo < 32 ? sc->n_memo++ : (sc->memo_next++ % 32);
    sc->memo[slot] = (res_memo){id, *match};
    return 0;
}

/* Does some span of the trace (summary row id, span ranges given) or its resource carry
 * the queried attribute? */
static int trace_matches(const sq_store *s, reader *r, attr_scan *sc, int64_t id,
                         const uint8_t *ranges, size_t rlen, const lt_trace_query *q, bool *match)
{
    *match = false;
    sc->rs.n = 0;
    arena_reset(sc->scratch);
    sq_cread_reset(&sc->cr);
    int rc = sq_load_rows(s, r, &sc->fc, id, ranges, rlen, SIG_SPANS, sc->scratch, &sc->rs);
    if (rc) return rc;
    for (size_t i = 0; i < sc->rs.n && !*match; i++) {
        const srow *w = &sc->rs.v[i];
        sc->budget = sc->budget ? sc->budget - 1 : 0;
        /* the key's bytes appear in the encoding of any span that has it (a value moved to
         * the content table leaves its key in the body) */
        if (!memmem(w->body, w->len, q->attr_key.ptr, q->attr_key.len)) continue;
        lt_span sp;
        int drc = sq_content_decode_span(r, &sc->cr, sc->scratch, w->body, w->len, &sp, NULL);
        if (drc == LT_ENOMEM) return drc;
        if (drc == 0 && attrs_match(&sp.attrs, q, &sc->tmp)) *match = true;
    }
    /* then the resources (the spans' bodies in scratch are not needed any more) */
    int64_t seen[16];
    size_t n = 0;
    for (size_t i = 0; i < sc->rs.n && !*match && !rc; i++) {
        int64_t res = sc->rs.v[i].res;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = seen[j] == res;
        if (dup) continue;
        if (n < 16) seen[n++] = res;
        rc = resource_matches(r, sc, res, q, match);
    }
    return rc;
}

uint64_t sq_clamp_i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : v;
}

static int read_summary(sqlite3_stmt *st, lt_arena *a, lt_trace_summary *t)
{
    int rc = 0;
    memset(t, 0, sizeof *t);
    const void *tid = sqlite3_column_blob(st, 0);
    if (tid && sqlite3_column_bytes(st, 0) == 16) memcpy(t->trace_id, tid, 16);
    t->start_unix_nano = (uint64_t)sqlite3_column_int64(st, 1);
    t->end_unix_nano = (uint64_t)sqlite3_column_int64(st, 2);
    t->root_name = sq_col_str(st, 3, a, &rc);
    t->root_service = sq_col_str(st, 4, a, &rc);
    t->span_count = (uint32_t)sqlite3_column_int64(st, 5);
    t->error_count = (uint32_t)sqlite3_column_int64(st, 6);
    t->llm_calls = (uint32_t)sqlite3_column_int64(st, 10);
    t->input_tokens = (uint64_t)sqlite3_column_int64(st, 11);
    t->output_tokens = (uint64_t)sqlite3_column_int64(st, 12);
    t->cost = sqlite3_column_double(st, 13);
    const uint8_t *p = sqlite3_column_blob(st, 7);
    const uint8_t *end = sq_end(p, (size_t)sqlite3_column_bytes(st, 7));
    lt_str sv;
    uint32_t n = 0;
    for (const uint8_t *q = p; sq_next_service(&q, end, &sv);)
        n++;
    if (n) {
        if (!(t->services = arena_calloc(a, n, sizeof *t->services))) return LT_ENOMEM;
        for (const uint8_t *q = p; t->n_services < n && sq_next_service(&q, end, &sv);) {
            t->services[t->n_services] = arena_strdup(a, sv);
            if (!t->services[t->n_services++].ptr) return LT_ENOMEM;
        }
    }
    return rc;
}

enum { NO_MATCH, MATCH, MAYBE };

/* The filters that existed before GenAI ones: counts, duration, root name, service. */
static int summary_matches_core(sqlite3_stmt *ls, const lt_trace_query *q)
{
    if (sqlite3_column_int64(ls, 5) <= 0) return NO_MATCH; /* log records alone */
    if (q->errors_only && sqlite3_column_int64(ls, 6) <= 0) return NO_MATCH;
    int64_t dur = sqlite3_column_int64(ls, 2) - sqlite3_column_int64(ls, 1);
    if (q->min_duration_ns && dur < (int64_t)sq_clamp_i64(q->min_duration_ns)) return NO_MATCH;
    if (q->max_duration_ns && dur > (int64_t)sq_clamp_i64(q->max_duration_ns)) return NO_MATCH;
    if (q->name.len) {
        lt_str root = {(const char *)sqlite3_column_text(ls, 3),
                       (size_t)sqlite3_column_bytes(ls, 3)};
        if (!root.ptr || !lt_str_eq(root, q->name)) return NO_MATCH;
    }
    if (q->service.len) {
        const uint8_t *p = sqlite3_column_blob(ls, 7);
        const uint8_t *end = sq_end(p, (size_t)sqlite3_column_bytes(ls, 7));
        lt_str sv;
        bool found = false;
        while (!found && sq_next_service(&p, end, &sv))
            found = lt_str_eq(sv, q->service);
        if (!found) return NO_MATCH;
    }
    return MATCH;
}

/* The filters of q other than time, cursor and attribute, on the current row of R_LIST:
 * MAYBE when a GenAI value may be on a span its summary does not list. */
static int summary_matches(sqlite3_stmt *ls, const lt_trace_query *q)
{
    int v = summary_matches_core(ls, q);
    if (v != MATCH) return v;
    if (q->min_cost > 0 && !(sqlite3_column_double(ls, 13) >= q->min_cost)) return NO_MATCH;
    if (q->min_tokens) {
        uint64_t tok =
            (uint64_t)sqlite3_column_int64(ls, 11) + (uint64_t)sqlite3_column_int64(ls, 12);
        if (tok < q->min_tokens) return NO_MATCH;
    }
    bool unsure = false;
    if (!sq_gdims_match(sqlite3_column_blob(ls, 14), (size_t)sqlite3_column_bytes(ls, 14), q,
                        &unsure))
        return NO_MATCH;
    return unsure ? MAYBE : MATCH;
}

/* Whether the summary at ls (a LIST_COLS row) passes q's filters other than time and
 * cursor; the checks that look at spans count them against sc->budget. */
static int row_matches(const sq_store *s, reader *r, attr_scan *sc, sqlite3_stmt *ls,
                       const lt_trace_query *q, bool *match)
{
    int rc = 0, m = summary_matches(ls, q);
    *match = m != NO_MATCH;
    if (m == MAYBE)
        rc = sq_genai_trace_has(r, sqlite3_column_int64(ls, 8), sqlite3_column_blob(ls, 9),
                                (size_t)sqlite3_column_bytes(ls, 9), q, &sc->budget, match);
    if (!rc && *match && q->attr_key.len)
        /* the ranges live in the statement's row, valid until it steps again */
        rc = trace_matches(s, r, sc, sqlite3_column_int64(ls, 8), sqlite3_column_blob(ls, 9),
                           (size_t)sqlite3_column_bytes(ls, 9), q, match);
    return rc;
}

static int list_by_text(sq_store *s, const lt_trace_query *q, lt_arena *a, lt_trace_list *out);

int sq_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out)
{
    sq_store *s = (sq_store *)st;
    if (q->text.len) return list_by_text(s, q, a, out);
    reader *r = NULL;
    attr_scan sc = {.budget = LT_SQLITE_ATTR_SCAN_SPANS};
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? q->limit : 20;
    if (limit > 1000) limit = 1000;
    int rc = 0;
    if (q->attr_key.len && !(sc.scratch = arena_new())) return LT_ENOMEM;
    if (!(out->items = arena_calloc(a, limit, sizeof *out->items))) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = sq_reader_get(s, &r))) goto out;
    if ((rc = sq_read_begin(r))) goto out;
    sqlite3_stmt *ls = NULL;
    if ((rc = sq_rstmt(r, R_LIST, &ls))) goto out;
    uint64_t hi = q->start_max ? q->start_max : INT64_MAX;
    if (q->has_cursor && q->cursor_start < hi) hi = q->cursor_start;
    sqlite3_bind_int64(ls, 1, (int64_t)sq_clamp_i64(q->start_min));
    sqlite3_bind_int64(ls, 2, (int64_t)sq_clamp_i64(hi));
    if (q->has_cursor) {
        sqlite3_bind_blob(ls, 3, q->cursor_trace_id, 16, SQLITE_STATIC);
        sqlite3_bind_int64(ls, 4, (int64_t)sq_clamp_i64(q->cursor_start));
    }
    int src;
    uint8_t last_id[16] = {0};
    uint64_t last_start = 0, rows_left = LT_SQLITE_LIST_SCAN_ROWS;
    bool examined = false;
    while ((src = sqlite3_step(ls)) == SQLITE_ROW) {
        if (out->n == limit || !sc.budget || !rows_left) {
            /* another candidate exists: there may be another page */
            out->more = true;
            break;
        }
        rows_left--;
        const void *tid = sqlite3_column_blob(ls, 0);
        if (!tid || sqlite3_column_bytes(ls, 0) != 16) continue;
        memcpy(last_id, tid, 16);
        last_start = (uint64_t)sqlite3_column_int64(ls, 1);
        examined = true;
        bool match;
        if ((rc = row_matches(s, r, &sc, ls, q, &match))) goto out;
        if (!match) continue;
        if ((rc = read_summary(ls, a, &out->items[out->n]))) goto out;
        out->n++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_err(r->db, src, "list traces");
        goto out;
    }
    if (out->more && examined) {
        out->next_start = last_start;
        memcpy(out->next_trace_id, last_id, 16);
    }
out:
    if (r) {
        sq_read_end(r);
        sq_reader_put(s, r);
    }
    arena_free(sc.scratch);
    sq_cread_free(&sc.cr);
    buf_free(&sc.tmp);
    lt_free(sc.rs.v);
    sq_fdc_close(&sc.fc);
    return rc;
}

/* ---- searching and ranking traces ------------------------------------------------------- */

/* A matching trace, as ranked: by v (cost, duration) or by start, then trace id. */
typedef struct {
    double v;
    uint64_t start;
    uint8_t tid[16];
    int64_t row;
} cand;

/* Newer first: start, then trace id, descending (the list's order). */
static int cand_newer(const cand *a, const cand *b)
{
    if (a->start != b->start) return a->start > b->start ? 1 : -1;
    return memcmp(a->tid, b->tid, 16);
}

/* > 0 when a ranks before b: larger v, then newer. */
static int cand_rank(const cand *a, const cand *b)
{
    if (a->v != b->v) return a->v > b->v ? 1 : -1;
    return cand_newer(a, b);
}

static int cand_list_cmp(const void *pa, const void *pb)
{
    return -cand_newer(pa, pb);
}

static int cand_rank_cmp(const void *pa, const void *pb)
{
    return -cand_rank(pa, pb);
}

static cand cand_of(sqlite3_stmt *ls, double v)
{
    cand c = {
        .v = v, .start = (uint64_t)sqlite3_column_int64(ls, 1), .row = sqlite3_column_int64(ls, 8)};
    if (sqlite3_column_bytes(ls, 0) == 16) memcpy(c.tid, sqlite3_column_blob(ls, 0), 16);
    return c;
}

typedef int (*match_fn)(void *ctx, sqlite3_stmt *ls);

/* Calls fn on every summary q matches (time range, cursor when has_cursor, every filter):
 * those of the traces its text finds, or else the range's, newest first, at most max_rows of
 * them. *partial when a work bound stopped the walk first. */
static int walk_matches(sq_store *s, reader *r, attr_scan *sc, const lt_trace_query *q,
                        uint64_t max_rows, match_fn fn, void *ctx, bool *partial)
{
    sqlite3_stmt *ls = NULL;
    int64_t *found = NULL;
    size_t n = 0;
    bool match;
    int rc = 0, src;
    uint64_t hi = q->start_max ? q->start_max : INT64_MAX;
    *partial = false;
    if (!q->text.len) {
        if ((rc = sq_rstmt(r, R_LIST, &ls))) return rc;
        sqlite3_bind_int64(ls, 1, (int64_t)sq_clamp_i64(q->start_min));
        sqlite3_bind_int64(ls, 2, (int64_t)sq_clamp_i64(hi));
        while ((src = sqlite3_step(ls)) == SQLITE_ROW) {
            if (!max_rows-- || !sc->budget) {
                *partial = true;
                break;
            }
            if ((rc = row_matches(s, r, sc, ls, q, &match))) break;
            if (match && (rc = fn(ctx, ls))) break;
        }
        if (!rc && src != SQLITE_ROW && src != SQLITE_DONE) rc = sq_err(r->db, src, "list traces");
        sqlite3_reset(ls);
        return rc;
    }
    if ((rc = sq_search_traces(r, q->text, LT_SQLITE_SEARCH_REFS, &found, &n))) return rc;
    cand cur = {0};
    if (q->has_cursor) {
        cur.start = q->cursor_start;
        memcpy(cur.tid, q->cursor_trace_id, 16);
    }
    if ((rc = sq_rstmt(r, R_SUMMARY, &ls))) goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!sc->budget) {
            *partial = true;
            break;
        }
        sqlite3_reset(ls);
        sqlite3_bind_int64(ls, 1, found[i]);
        if ((src = sqlite3_step(ls)) != SQLITE_ROW) {
            if (src != SQLITE_DONE) rc = sq_err(r->db, src, "read summary");
            continue; /* gone since it was indexed */
        }
        cand c = cand_of(ls, 0);
        if (c.start < q->start_min || c.start > hi) continue;
        if (q->has_cursor && cand_newer(&c, &cur) >= 0) continue;
        if (!(rc = row_matches(s, r, sc, ls, q, &match)) && match) rc = fn(ctx, ls);
    }
    sqlite3_reset(ls);
out:
    lt_free(found);
    return rc;
}

typedef struct {
    cand *v;
    size_t n, cap;
} cands;

static int cands_push(cands *c, cand x)
{
    cand *v = sq_grow(c->v, &c->cap, c->n, sizeof *v);
    if (!v) return LT_ENOMEM;
    c->v = v;
    v[c->n++] = x;
    return 0;
}

static int collect_cand(void *ctx, sqlite3_stmt *ls)
{
    return cands_push(ctx, cand_of(ls, 0));
}

/* Reads the summaries of c[0..n) into out[0..n) (those gone since are left out; *got says how
 * many were read). */
static int read_cands(reader *r, const cand *c, size_t n, lt_arena *a, lt_trace_summary *out,
                      uint32_t *got)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_rstmt(r, R_SUMMARY, &st), src;
    *got = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, c[i].row);
        if ((src = sqlite3_step(st)) == SQLITE_ROW)
            rc = read_summary(st, a, &out[(*got)++]);
        else if (src != SQLITE_DONE)
            rc = sq_err(r->db, src, "read summary");
    }
    if (st) sqlite3_reset(st);
    return rc;
}

static void attr_scan_free(attr_scan *sc)
{
    arena_free(sc->scratch);
    sq_cread_free(&sc->cr);
    buf_free(&sc->tmp);
    lt_free(sc->rs.v);
    sq_fdc_close(&sc->fc);
}

/* list_traces with text: every matching trace is found through the search index (there is
 * no order to walk), sorted, and the page after the cursor taken. */
static int list_by_text(sq_store *s, const lt_trace_query *q, lt_arena *a, lt_trace_list *out)
{
    reader *r = NULL;
    attr_scan sc = {.budget = LT_SQLITE_ATTR_SCAN_SPANS};
    cands c = {0};
    bool partial = false;
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? q->limit : 20;
    if (limit > 1000) limit = 1000;
    int rc = 0;
    if (q->attr_key.len && !(sc.scratch = arena_new())) return LT_ENOMEM;
    if ((rc = sq_reader_get(s, &r))) goto out;
    if ((rc = sq_read_begin(r)) ||
        (rc = walk_matches(s, r, &sc, q, UINT64_MAX, collect_cand, &c, &partial)))
        goto out;
    /* a filter that reads spans ran out of its bound: pages could not be told apart */
    if (partial) {
        rc = LT_ETOOBIG;
        goto out;
    }
    if (c.n > 1) qsort(c.v, c.n, sizeof *c.v, cand_list_cmp);
    size_t take = c.n < limit ? c.n : limit;
    if (!(out->items = arena_calloc(a, take ? take : 1, sizeof *out->items))) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = read_cands(r, c.v, take, a, out->items, &out->n))) goto out;
    if (c.n > take) {
        out->more = true;
        out->next_start = c.v[take - 1].start;
        memcpy(out->next_trace_id, c.v[take - 1].tid, 16);
    }
out:
    if (r) {
        sq_read_end(r);
        sq_reader_put(s, r);
    }
    attr_scan_free(&sc);
    lt_free(c.v);
    return rc;
}

/* The k best of a ranking, in a min-heap (the worst kept at the top). */
typedef struct {
    cand *v;
    size_t n, k;
} topk;

static void heap_down(topk *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < t->n && cand_rank(&t->v[l], &t->v[m]) < 0) m = l;
        if (l + 1 < t->n && cand_rank(&t->v[l + 1], &t->v[m]) < 0) m = l + 1;
        if (m == i) return;
        cand x = t->v[i];
        t->v[i] = t->v[m];
        t->v[m] = x;
        i = m;
    }
}

static void topk_offer(topk *t, cand c)
{
    if (!t->k) return;
    if (t->n < t->k) {
        size_t i = t->n++;
        t->v[i] = c;
        while (i && cand_rank(&t->v[(i - 1) / 2], &t->v[i]) > 0) {
            cand x = t->v[i];
            t->v[i] = t->v[(i - 1) / 2];
            t->v[(i - 1) / 2] = x;
            i = (i - 1) / 2;
        }
    } else if (cand_rank(&c, &t->v[0]) > 0) {
        t->v[0] = c;
        heap_down(t, 0);
    }
}

typedef struct {
    topk cost, dur;
    lt_trace_stats *out;
} stats_ctx;

static uint32_t cost_bucket(double cost)
{
    if (!(cost > 0)) return 0;
    uint32_t i = 1;
    while (i + 1 < LT_COST_BUCKETS && cost >= store_cost_bucket_min(i + 1))
        i++;
    return i;
}

static int stats_add(void *ctx, sqlite3_stmt *ls)
{
    stats_ctx *x = ctx;
    double cost = sqlite3_column_double(ls, 13);
    int64_t dur = sqlite3_column_int64(ls, 2) - sqlite3_column_int64(ls, 1);
    x->out->traces++;
    x->out->cost_hist[cost_bucket(cost)]++;
    if (cost > 0) topk_offer(&x->cost, cand_of(ls, cost));
    topk_offer(&x->dur, cand_of(ls, dur > 0 ? (double)dur : 0));
    return 0;
}

int sq_trace_stats(lt_store *st, const lt_trace_query *q, uint32_t k, lt_arena *a,
                   lt_trace_stats *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    attr_scan sc = {.budget = LT_SQLITE_ATTR_SCAN_SPANS};
    memset(out, 0, sizeof *out);
    if (k > 1000) k = 1000;
    stats_ctx x = {.cost = {.k = k}, .dur = {.k = k}, .out = out};
    lt_trace_query qq = *q;
    qq.has_cursor = false; /* a ranking has no pages */
    int rc = 0;
    if (q->attr_key.len && !(sc.scratch = arena_new())) return LT_ENOMEM;
    if (!(x.cost.v = lt_malloc((k ? k : 1) * sizeof(cand))) ||
        !(x.dur.v = lt_malloc((k ? k : 1) * sizeof(cand))) ||
        !(out->by_cost = arena_calloc(a, k ? k : 1, sizeof *out->by_cost)) ||
        !(out->by_duration = arena_calloc(a, k ? k : 1, sizeof *out->by_duration))) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = sq_reader_get(s, &r))) goto out;
    if ((rc = sq_read_begin(r)) || (rc = walk_matches(s, r, &sc, &qq, LT_SQLITE_STATS_SCAN_ROWS,
                                                      stats_add, &x, &out->partial)))
        goto out;
    if (x.cost.n > 1) qsort(x.cost.v, x.cost.n, sizeof(cand), cand_rank_cmp);
    if (x.dur.n > 1) qsort(x.dur.v, x.dur.n, sizeof(cand), cand_rank_cmp);
    if (!(rc = read_cands(r, x.cost.v, x.cost.n, a, out->by_cost, &out->n_cost)))
        rc = read_cands(r, x.dur.v, x.dur.n, a, out->by_duration, &out->n_duration);
out:
    if (r) {
        sq_read_end(r);
        sq_reader_put(s, r);
    }
    attr_scan_free(&sc);
    lt_free(x.cost.v);
    lt_free(x.dur.v);
    return rc;
}

/* ---- live tail ---------------------------------------------------------------------------- */

static bool col_eq(sqlite3_stmt *st, int i, lt_str want)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    return p && lt_str_eq((lt_str){(const char *)p, (size_t)sqlite3_column_bytes(st, i)}, want);
}

/* Whether the tail row at st passes q's filters. */
static bool tail_matches(sqlite3_stmt *st, const lt_tail_query *q)
{
    if (q->errors_only && sqlite3_column_int64(st, 8) != LT_STATUS_ERROR) return false;
    if (q->service.len && !col_eq(st, 9, q->service)) return false;
    if (q->model.len && !col_eq(st, 13, q->model) && !col_eq(st, 14, q->model)) return false;
    return true;
}

static int read_brief(sqlite3_stmt *st, lt_arena *a, lt_span_brief *b)
{
    int rc = 0;
    memset(b, 0, sizeof *b);
    b->seq = (uint64_t)sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) == 16) memcpy(b->trace_id, sqlite3_column_blob(st, 1), 16);
    if (sqlite3_column_bytes(st, 2) == 8) memcpy(b->span_id, sqlite3_column_blob(st, 2), 8);
    if (sqlite3_column_bytes(st, 3) == 8) {
        memcpy(b->parent_span_id, sqlite3_column_blob(st, 3), 8);
        b->has_parent = true;
    }
    b->name = sq_col_str(st, 4, a, &rc);
    b->kind = (uint32_t)sqlite3_column_int64(st, 5);
    b->start_unix_nano = (uint64_t)sqlite3_column_int64(st, 6);
    b->end_unix_nano = (uint64_t)sqlite3_column_int64(st, 7);
    b->status_code = (uint32_t)sqlite3_column_int64(st, 8);
    b->service = sq_col_str(st, 9, a, &rc);
    if (!sqlite3_column_int(st, 10)) return rc;
    b->has_view = true;
    b->operation = sq_col_str(st, 11, a, &rc);
    b->provider = sq_col_str(st, 12, a, &rc);
    b->model = sq_col_str(st, sqlite3_column_type(st, 14) != SQLITE_NULL ? 14 : 13, a, &rc);
    if ((b->has_input_tokens = sqlite3_column_type(st, 15) != SQLITE_NULL))
        b->input_tokens = (uint64_t)sqlite3_column_int64(st, 15);
    if ((b->has_output_tokens = sqlite3_column_type(st, 16) != SQLITE_NULL))
        b->output_tokens = (uint64_t)sqlite3_column_int64(st, 16);
    if ((b->has_cost = sqlite3_column_type(st, 17) != SQLITE_NULL))
        b->cost = sqlite3_column_double(st, 17);
    return rc;
}

int sq_tail_spans(lt_store *st, const lt_tail_query *q, lt_arena *a, lt_tail *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    sqlite3_stmt *ts = NULL;
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? q->limit : 100;
    if (limit > 1000) limit = 1000;
    int rc = 0, src;
    if (!(out->items = arena_calloc(a, limit, sizeof *out->items))) return LT_ENOMEM;
    if ((rc = sq_reader_get(s, &r))) return rc;
    int64_t last = 0;
    if ((rc = sq_read_begin(r)) || (rc = sq_rstmt(r, R_LAST_SPAN, &ts))) goto out;
    if ((src = sqlite3_step(ts)) == SQLITE_ROW) last = sqlite3_column_int64(ts, 0);
    sqlite3_reset(ts);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_err(r->db, src, "tail");
        goto out;
    }
    /* a cursor past the newest span is from before the store was emptied: start anew */
    bool fresh = !q->has_after || q->after > (uint64_t)last;
    src = SQLITE_DONE;
    out->next = fresh ? (uint64_t)last : q->after;
    if ((rc = sq_rstmt(r, fresh ? R_TAIL_NEW : R_TAIL, &ts))) goto out;
    sqlite3_bind_int64(ts, 1, fresh ? 0 : (int64_t)q->after);
    sqlite3_bind_int64(ts, 2, last);
    sqlite3_bind_int64(ts, 3, LT_SQLITE_TAIL_SCAN_ROWS);
    while (out->n < limit && (src = sqlite3_step(ts)) == SQLITE_ROW) {
        if (!fresh) out->next = (uint64_t)sqlite3_column_int64(ts, 0);
        if (!tail_matches(ts, q)) continue;
        if ((rc = read_brief(ts, a, &out->items[out->n++]))) goto out;
    }
    if (out->n < limit && src != SQLITE_DONE) {
        rc = sq_err(r->db, src, "tail");
        goto out;
    }
    /* the newest first were taken: give them in arrival order */
    if (fresh)
        for (uint32_t i = 0; i < out->n / 2; i++) {
            lt_span_brief x = out->items[i];
            out->items[i] = out->items[out->n - 1 - i];
            out->items[out->n - 1 - i] = x;
        }
out:
    if (ts) sqlite3_reset(ts);
    sq_read_end(r);
    sq_reader_put(s, r);
    return rc;
}

/* ---- services, operations, size ------------------------------------------------------- */

/* Runs a reader statement (bound with service when given) and collects its rows: column
 * 0 as text, column 1 (when ops) as a kind. */
static int collect(sq_store *s, int stmt, lt_str service, bool ops, lt_arena *a, void **out,
                   uint32_t *n)
{
    reader *r = NULL;
    size_t esz = ops ? sizeof(lt_operation) : sizeof(lt_str);
    uint8_t *v = NULL;
    uint32_t cap = 0, k = 0;
    *out = NULL;
    *n = 0;
    int rc = sq_reader_get(s, &r), src;
    if (rc) return rc;
    sqlite3_stmt *q = NULL;
    if ((rc = sq_rstmt(r, stmt, &q))) goto out;
    if (service.len) sq_bind_str(q, 1, service);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if (k == cap) {
            uint32_t nc = cap ? cap * 2 : 16;
            uint8_t *nv = arena_alloc(a, nc * esz);
            if (!nv) {
                rc = LT_ENOMEM;
                goto out;
            }
            if (k) memcpy(nv, v, k * esz);
            v = nv;
            cap = nc;
        }
        lt_str name = sq_col_str(q, 0, a, &rc);
        if (rc) goto out;
        if (ops) {
            ((lt_operation *)v)[k] =
                (lt_operation){.name = name, .span_kind = (uint32_t)sqlite3_column_int64(q, 1)};
        } else {
            ((lt_str *)v)[k] = name;
        }
        k++;
    }
    if (src != SQLITE_DONE) {
        rc = sq_err(r->db, src, "list");
        goto out;
    }
    *out = v;
    *n = k;
out:
    sq_read_end(r);
    sq_reader_put(s, r);
    return rc;
}

int sq_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n)
{
    void *v;
    int rc = collect((sq_store *)st, R_SERVICES, LT_STR_NULL, false, a, &v, n);
    *out = v;
    return rc;
}

int sq_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out, uint32_t *n)
{
    void *v;
    int rc = collect((sq_store *)st, service.len ? R_OPS : R_OPS_ALL, service, true, a, &v, n);
    *out = v;
    return rc;
}

int sq_bytes_used(lt_store *st, uint64_t *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    sqlite3_stmt *pc = NULL, *fc = NULL;
    int64_t pages = 0, free_pages = 0;
    int rc = sq_reader_get(s, &r), src;
    if (rc) return rc;
    if (!(rc = sq_rstmt(r, R_PAGES, &pc)) && !(rc = sq_rstmt(r, R_FREE, &fc))) {
        if ((src = sqlite3_step(pc)) == SQLITE_ROW)
            pages = sqlite3_column_int64(pc, 0);
        else
            rc = sq_err(r->db, src, "page_count");
        if (!rc && (src = sqlite3_step(fc)) == SQLITE_ROW)
            free_pages = sqlite3_column_int64(fc, 0);
        else if (!rc)
            rc = sq_err(r->db, src, "freelist_count");
    }
    sq_read_end(r);
    sq_reader_put(s, r);
    if (s->read_only) {
        uint32_t lo, hi;
        sq_seg_scan(s, &lo, &hi); /* the writer's process counts; this one looks */
    }
    if (!rc)
        *out = (uint64_t)(pages - free_pages) * LT_SQLITE_PAGE_SIZE + atomic_load(&s->seg_bytes);
    return rc;
}
