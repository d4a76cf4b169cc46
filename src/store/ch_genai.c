/* ch_genai.c — the ClickHouse engine's GenAI aggregates, rederive and check.
 *
 * genai_summary groups the spans' typed columns directly (ClickHouse scans a few narrow
 * columns of millions of rows in well under a second); quantiles are exact.
 *
 * rederive (llmtrace reprice) is the one place rows change: a span's cost lives in its row,
 * so the changed rows of a day are rewritten by one ALTER TABLE … UPDATE (a ClickHouse
 * mutation, applied to the day's parts in the background; the call waits for it). Trace
 * summaries stay append-only: each repriced trace gets a correction part holding the change
 * of its cost and nothing else, which the GROUP BY of every read adds in. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/ch_int.h"
#include "store/facts.h"

/* ---- summary ---------------------------------------------------------------------------- */

#define MAX_GROUPS 100000

static const char *const dim_expr[8] = {
    [LT_GROUP_MODEL] = "if(response_model != '', response_model, request_model)",
    [LT_GROUP_PROVIDER] = "provider",
    [LT_GROUP_OPERATION] = "operation",
    [LT_GROUP_SERVICE] = "service",
    [LT_GROUP_SPAN_NAME] = "name",
    [LT_GROUP_AGENT] = "agent",
    [LT_GROUP_USER] = "user",
    [LT_GROUP_CONVERSATION] = "conversation",
};

/* A histogram being read: (bucket, count) rows of one group, buckets ascending. */
typedef struct {
    uint32_t *b;
    uint64_t *n;
    size_t len, cap;
} hist;

static int hist_add(hist *h, uint32_t b, uint64_t n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        uint32_t *nb = lt_realloc(h->b, cap * sizeof *nb);
        if (!nb) return LT_ENOMEM;
        h->b = nb;
        uint64_t *nn = lt_realloc(h->n, cap * sizeof *nn);
        if (!nn) return LT_ENOMEM;
        h->n = nn;
        h->cap = cap;
    }
    h->b[h->len] = b;
    h->n[h->len++] = n;
    return 0;
}

/* The middle of the bucket holding the value of nearest rank, as the SQLite engine does. */
static double hist_quantile(const hist *h, double q, uint64_t total)
{
    uint64_t rank = (uint64_t)ceil(q * (double)total), seen = 0;
    if (rank < 1) rank = 1;
    for (size_t i = 0; i < h->len; i++) {
        seen += h->n[i];
        if (seen >= rank) return st_hist_value(h->b[i]);
    }
    return h->len ? st_hist_value(h->b[h->len - 1]) : 0;
}

static void summary_where(ch_store *s, lt_buf *sql, const lt_genai_query *q)
{
    buf_printf(sql, " FROM %s.spans WHERE has_view AND start_ns >= %" PRIu64, s->db, q->start_min);
    buf_printf(sql, " AND intDiv(start_ns, 3600000000000) >= %" PRIu64,
               (uint64_t)(q->start_min / CH_HOUR_NS));
    if (q->start_max)
        buf_printf(sql,
                   " AND start_ns <= %" PRIu64 " AND intDiv(start_ns, 3600000000000) <= %" PRIu64,
                   q->start_max, (uint64_t)(q->start_max / CH_HOUR_NS));
}

static void summary_head(lt_buf *sql, const lt_genai_query *q)
{
    if (q->step_ns)
        buf_printf(sql, "SELECT intDiv(start_ns, %" PRIu64 ") * %" PRIu64 " AS b, %s AS k, ",
                   q->step_ns, q->step_ns, dim_expr[q->group_by]);
    else
        buf_printf(sql, "SELECT toUInt64(0) AS b, %s AS k, ", dim_expr[q->group_by]);
}

int ch_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *a, lt_genai_group **out,
                     uint32_t *n)
{
    ch_store *s = (ch_store *)st;
    *out = NULL;
    *n = 0;
    if ((unsigned)q->group_by >= 8) return LT_EINVAL;
    if (q->step_ns % LT_STEP_MIN_NS) return LT_EINVAL;
    /* per group and duration bucket: the sums, and the bucket's count */
    lt_buf sql = {0};
    summary_head(&sql, q);
    buf_append_c(&sql, ST_HIST_BUCKET_SQL(
                           "if(end_ns > start_ns, end_ns - start_ns, 0)") " AS hb, count(), "
                                                                          "toUInt64(sum(error)), ");
    static const char *const tok[N_TOKENS] = {"input_tokens", "output_tokens", "cache_read_tokens",
                                              "cache_creation_tokens", "reasoning_tokens"};
    for (int i = 0; i < N_TOKENS; i++)
        buf_printf(&sql, "toUInt64(sumIf(%s, bitAnd(facts, %d) != 0 AND %s > 0)), ", tok[i], 1 << i,
                   tok[i]);
    buf_append_c(&sql, "sumIf(cost, bitAnd(facts, 32) != 0)");
    summary_where(s, &sql, q);
    buf_printf(&sql, " GROUP BY b, k, hb ORDER BY b, k, hb FORMAT RowBinary");
    rb_reader r, rt;
    int rc = ch_query(s, &sql, a, &r);
    /* per group and TTFT bucket: the count */
    buf_reset(&sql);
    summary_head(&sql, q);
    buf_append_c(&sql, ST_HIST_BUCKET_SQL("ttft * 1000000000") " AS hb, count()");
    summary_where(s, &sql, q);
    buf_append_c(&sql, " AND bitAnd(facts, 64) != 0 GROUP BY b, k, hb ORDER BY b, k, hb FORMAT "
                       "RowBinary");
    if (!rc) rc = ch_query(s, &sql, a, &rt);
    buf_free(&sql);
    if (rc) return rc;
    size_t cap = 0, k = 0;
    lt_genai_group *g = NULL;
    hist hd = {0}, ht = {0};
    /* the TTFT row read ahead */
    uint64_t t_b = 0, t_n = 0;
    lt_str t_k = LT_STR("");
    uint32_t t_hb = 0;
    bool t_have = false;
#define NEXT_T()                                                                                   \
    do {                                                                                           \
        t_have = rd_more(&rt);                                                                     \
        if (t_have) {                                                                              \
            t_b = rd_u64(&rt);                                                                     \
            t_k = rd_str(&rt);                                                                     \
            t_hb = rd_u32(&rt);                                                                    \
            t_n = rd_u64(&rt);                                                                     \
        }                                                                                          \
    } while (0)
    NEXT_T();
    while (!rc && rd_more(&r)) {
        uint64_t b = rd_u64(&r);
        lt_str key = rd_str(&r);
        uint32_t hb = rd_u32(&r);
        lt_genai_group *o = k ? &g[k - 1] : NULL;
        if (!o || o->bucket_start != b || !lt_str_eq(o->key, key)) {
            if (o) { /* close the previous group */
                o->duration_p50_ns = (uint64_t)llround(hist_quantile(&hd, 0.50, o->calls));
                o->duration_p95_ns = (uint64_t)llround(hist_quantile(&hd, 0.95, o->calls));
                o->duration_p99_ns = (uint64_t)llround(hist_quantile(&hd, 0.99, o->calls));
            }
            hd.len = 0;
            if (k == MAX_GROUPS) {
                rc = LT_ETOOBIG;
                break;
            }
            if (k == cap) {
                cap = cap ? cap * 2 : 64;
                lt_genai_group *ng = arena_alloc(a, cap * sizeof *ng);
                if (!ng) {
                    rc = LT_ENOMEM;
                    break;
                }
                if (k) memcpy(ng, g, k * sizeof *g);
                g = ng;
            }
            o = &g[k++];
            memset(o, 0, sizeof *o);
            o->bucket_start = b;
            o->key = key; /* a slice of the answer, which lives in the arena */
            /* its TTFT histogram: the TTFT rows of this group (both answers are ordered
             * alike, and every TTFT group is a group of the first answer) */
            ht.len = 0;
            uint64_t n_ttft = 0;
            while (t_have && t_b == b && lt_str_eq(t_k, key)) {
                if ((rc = hist_add(&ht, t_hb, t_n))) break;
                n_ttft += t_n;
                NEXT_T();
            }
            o->has_ttft = n_ttft > 0;
            if (o->has_ttft) {
                o->ttft_p50_s = hist_quantile(&ht, 0.50, n_ttft) / 1e9;
                o->ttft_p95_s = hist_quantile(&ht, 0.95, n_ttft) / 1e9;
            }
        }
        uint64_t calls = rd_u64(&r);
        o->calls += calls;
        o->errors += rd_u64(&r);
        o->input_tokens += rd_u64(&r);
        o->output_tokens += rd_u64(&r);
        o->cache_read_tokens += rd_u64(&r);
        o->cache_creation_tokens += rd_u64(&r);
        o->reasoning_tokens += rd_u64(&r);
        o->cost += rd_f64(&r);
        if (!rc) rc = hist_add(&hd, hb, calls);
    }
#undef NEXT_T
    if (!rc && k) {
        lt_genai_group *o = &g[k - 1];
        o->duration_p50_ns = (uint64_t)llround(hist_quantile(&hd, 0.50, o->calls));
        o->duration_p95_ns = (uint64_t)llround(hist_quantile(&hd, 0.95, o->calls));
        o->duration_p99_ns = (uint64_t)llround(hist_quantile(&hd, 0.99, o->calls));
    }
    lt_free(hd.b);
    lt_free(hd.n);
    lt_free(ht.b);
    lt_free(ht.n);
    if (!rc && (r.bad || rt.bad)) rc = LT_EIO;
    if (rc) return rc;
    if (k > 1) qsort(g, k, sizeof *g, st_genai_group_cmp);
    *out = g;
    *n = (uint32_t)k;
    return 0;
}

/* ---- rederive ----------------------------------------------------------------------------- */

enum { REDERIVE_CHUNK = 2000 };

typedef struct {
    uint64_t seq;
    uint8_t trace_id[16];
    uint64_t start;
    double old_cost, cost;
    uint8_t facts;
    lt_buf view;
} change;

/* Waits (bounded) until ClickHouse has applied every mutation of the spans table. */
static int wait_mutations(ch_store *s)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT count() FROM system.mutations WHERE database = '%s' AND table = 'spans' AND "
             "is_done = 0 FORMAT TabSeparated",
             s->db);
    for (int i = 0; i < 6000; i++) {
        lt_buf res = {0};
        int rc = ch_run(s, sql, NULL, 0, &res);
        long left = rc || !res.data ? -1 : strtol(res.data, NULL, 10);
        buf_free(&res);
        if (rc) return rc;
        if (left == 0) return 0;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    log_error("clickhouse: the reprice mutation of %s.spans did not finish in 5 minutes", s->db);
    return LT_EIO;
}

/* Rewrites the changed rows (one mutation) and appends a cost correction part per trace. */
static int apply_changes(ch_store *s, change *c, size_t n)
{
    if (!n) return 0;
    lt_buf sql = {0}, seqs = {0}, costs = {0}, facts = {0}, views = {0};
    for (size_t i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        buf_printf(&seqs, "%s%" PRIu64, sep, c[i].seq);
        buf_printf(&costs, "%s%.17g", sep, c[i].cost);
        buf_printf(&facts, "%s%u", sep, c[i].facts);
        buf_append_c(&views, sep);
        sql_str(&views, (lt_str){c[i].view.data, c[i].view.len});
    }
    buf_printf(
        &sql,
        "ALTER TABLE %s.spans UPDATE cost = transform(seq, [%s], [%s], cost), facts = "
        "transform(seq, [%s], [%s], facts), view = transform(seq, [%s], [%s], view) WHERE seq "
        "IN (%s)",
        s->db, seqs.data, costs.data, seqs.data, facts.data, seqs.data, views.data, seqs.data);
    buf_free(&costs);
    buf_free(&facts);
    buf_free(&views);
    buf_free(&seqs);
    int rc = sql.oom ? LT_ENOMEM : ch_run(s, sql.data, NULL, 0, NULL);
    buf_free(&sql);
    if (!rc) rc = wait_mutations(s);
    if (rc) return rc;
    /* the traces' correction parts: the change of cost, at the span's start */
    lt_buf rows = {0};
    uint64_t now = time_now_ns();
    for (size_t i = 0; i < n; i++) {
        double delta = c[i].cost - c[i].old_cost;
        if (delta == 0) continue;
        rb_u64(&rows, now);
        buf_append(&rows, c[i].trace_id, 16);
        rb_u64(&rows, c[i].start);
        rb_u64(&rows, c[i].start);
        for (int k = 0; k < 2; k++)
            rb_u64(&rows, 0); /* spans, errors */
        rb_u8(&rows, 0);      /* has_root */
        rb_u64(&rows, 0);
        rb_str(&rows, LT_STR(""));
        rb_str(&rows, LT_STR(""));
        rb_varint(&rows, 0); /* services */
        for (int k = 0; k < 3; k++)
            rb_u64(&rows, 0); /* llm_calls, tokens */
        rb_f64(&rows, delta);
    }
    char ins[400];
    snprintf(ins, sizeof ins,
             "INSERT INTO %s.traces (last_seq, trace_id, start_min, end_max, spans, errors, "
             "has_root, root_seq, root_name, root_service, services, llm_calls, in_tokens, "
             "out_tokens, cost_sum) FORMAT RowBinary",
             s->db);
    rc = rows.oom ? LT_ENOMEM : rows.len ? ch_run(s, ins, rows.data, rows.len, NULL) : 0;
    buf_free(&rows);
    return rc;
}

int ch_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx)
{
    ch_store *s = (ch_store *)st;
    if (s->read_only) return LT_EBUSY;
    lt_arena *a = arena_new();
    if (!a) return LT_ENOMEM;
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT count() FROM %s.spans WHERE has_view FORMAT RowBinary", s->db);
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    uint64_t total = rc ? 0 : rd_u64(&r), done = 0, after = 0;
    change *c = lt_calloc(REDERIVE_CHUNK, sizeof *c);
    if (!c) rc = LT_ENOMEM;
    /* oldest first, a chunk of views at a time */
    while (!rc) {
        arena_reset(a);
        buf_reset(&sql);
        buf_printf(&sql,
                   "SELECT seq, trace_id, start_ns, cost, facts, view FROM %s.spans WHERE has_view "
                   "AND seq "
                   "> %" PRIu64 " ORDER BY seq LIMIT %d FORMAT RowBinary",
                   s->db, after, REDERIVE_CHUNK);
        if ((rc = ch_query(s, &sql, a, &r))) break;
        size_t n = 0, rows = 0;
        while (!rc && rd_more(&r)) {
            change *x = &c[n];
            x->seq = rd_u64(&r);
            rd_fixed(&r, x->trace_id, 16);
            x->start = rd_u64(&r);
            x->old_cost = rd_f64(&r);
            uint8_t old_facts = rd_u8(&r);
            lt_str v = rd_str(&r);
            if (r.bad) break;
            rows++;
            after = x->seq;
            lt_genai *g;
            if ((rc = ch_view_decode(a, (const uint8_t *)v.ptr, v.len, &g))) break;
            lt_value before[2] = {g->v[GA_COST], g->v[GA_COST_SOURCE]};
            if ((rc = fn(ctx, g, x->start))) break;
            lt_value *cv = &g->v[GA_COST], *cs = &g->v[GA_COST_SOURCE];
            bool same = cv->type == before[0].type && cs->type == before[1].type &&
                        (cv->type != LT_VAL_DOUBLE || cv->u.d == before[0].u.d) &&
                        (cs->type != LT_VAL_STRING || lt_str_eq(cs->u.s, before[1].u.s));
            if (same) continue;
            double d;
            bool has = st_view_double(g, GA_COST, &d);
            x->cost = has ? d : 0;
            /* the token and TTFT bits stay; the cost bit follows the new cost */
            x->facts = (uint8_t)((old_facts & ~32) | (has ? 32 : 0));
            buf_reset(&x->view);
            if ((rc = ch_view_encode(&x->view, g))) break;
            n++;
        }
        if (!rc && r.bad) rc = LT_EIO;
        if (!rc && n) rc = apply_changes(s, c, n);
        done += rows;
        if (progress) progress(pctx, done, total);
        if (rc || rows < REDERIVE_CHUNK) break;
    }
    for (size_t i = 0; c && i < REDERIVE_CHUNK; i++)
        buf_free(&c[i].view);
    lt_free(c);
    buf_free(&sql);
    arena_free(a);
    return rc;
}

/* ---- check -------------------------------------------------------------------------------- */

typedef struct {
    lt_check_report *out;
    lt_arena *a;
} checker;

static void problem(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *c, const char *fmt, ...)
{
    if (c->out->n_listed < LT_CHECK_LISTED) {
        char line[300];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        lt_str l = arena_strdup(c->a, lt_str_c(line));
        if (l.ptr) c->out->listed[c->out->n_listed++] = l;
    }
    c->out->problems++;
}

static uint64_t count_of(ch_store *s, lt_arena *a, const char *fmt, int *rc)
{
    lt_buf sql = {0};
    buf_printf(&sql, fmt, s->db, s->db);
    buf_append_c(&sql, " FORMAT RowBinary");
    rb_reader r;
    *rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    uint64_t v = *rc ? 0 : rd_u64(&r);
    if (!*rc && r.bad) *rc = LT_EIO;
    return v;
}

int ch_check(lt_store *st, lt_arena *a, lt_check_report *out)
{
    ch_store *s = (ch_store *)st;
    memset(out, 0, sizeof *out);
    checker c = {out, a};
    int rc;
    out->spans = count_of(s, a, "SELECT count() FROM %s.spans", &rc);
    if (rc) return rc;
    out->logs = count_of(s, a, "SELECT count() FROM %s.logs", &rc);
    if (!rc) out->views = count_of(s, a, "SELECT count() FROM %s.spans WHERE has_view", &rc);
    if (!rc) out->traces = count_of(s, a, "SELECT uniqExact(trace_id) FROM %s.trace_index", &rc);
    if (!rc) out->content = count_of(s, a, "SELECT uniqExact(hash) FROM %s.content", &rc);
    if (!rc)
        out->segments = count_of(s, a,
                                 "SELECT uniqExact(partition) FROM system.parts WHERE active "
                                 "AND database = '%s'",
                                 &rc);
    if (rc) return rc;
    uint64_t bad;
    /* the trace summaries against their spans */
    bad =
        count_of(s, a,
                 "SELECT count() FROM (SELECT trace_id, sum(spans) AS n FROM %s.traces GROUP BY "
                 "trace_id) ALL FULL OUTER JOIN (SELECT trace_id, count() AS m FROM %s.spans GROUP "
                 "BY trace_id) USING trace_id WHERE n != m",
                 &rc);
    if (!rc && bad)
        problem(&c, "%" PRIu64 " trace summaries disagree with their spans' count", bad);
    bad = rc ? 0
             : count_of(s, a,
                        "SELECT count() FROM (SELECT trace_id FROM %s.spans GROUP BY trace_id) ALL "
                        "LEFT JOIN (SELECT trace_id, 1 AS found FROM %s.trace_index GROUP BY "
                        "trace_id) USING trace_id WHERE found = 0",
                        &rc);
    if (!rc && bad) problem(&c, "%" PRIu64 " traces are missing from the trace index", bad);
    bad = rc ? 0
             : count_of(
                   s, a,
                   "SELECT count() FROM (SELECT arrayJoin(content) AS hash FROM %s.spans) ALL "
                   "LEFT JOIN (SELECT hash, 1 AS found FROM %s.content GROUP BY hash) USING hash "
                   "WHERE found = 0",
                   &rc);
    if (!rc && bad) problem(&c, "%" PRIu64 " content references point at no content", bad);
    bad =
        rc ? 0
           : count_of(s, a,
                      "SELECT count() FROM (SELECT resource AS hash FROM %s.spans GROUP BY "
                      "resource) ALL LEFT JOIN (SELECT hash, 1 AS found FROM %s.resources GROUP BY "
                      "hash) USING hash WHERE found = 0",
                      &rc);
    if (!rc && bad) problem(&c, "%" PRIu64 " resources referenced by spans are missing", bad);
    if (rc) return rc;
    /* every span body and view decodes (one pass over the bodies) */
    lt_buf sql = {0};
    uint64_t after = 0;
    for (;;) {
        lt_arena *scratch = arena_new();
        if (!scratch) return LT_ENOMEM;
        buf_reset(&sql);
        buf_printf(&sql,
                   "SELECT seq, body, has_view, view FROM %s.spans WHERE seq > %" PRIu64
                   " ORDER BY seq LIMIT 20000 FORMAT RowBinary",
                   s->db, after);
        rb_reader r;
        rc = ch_query(s, &sql, scratch, &r);
        size_t rows = 0;
        while (!rc && rd_more(&r)) {
            uint64_t seq = rd_u64(&r);
            lt_str body = rd_str(&r);
            bool hv = rd_u8(&r);
            lt_str view = rd_str(&r);
            if (r.bad) break;
            rows++;
            after = seq;
            lt_span sp;
            lt_genai *g;
            if (pb_decode_span(scratch, (const uint8_t *)body.ptr, body.len, &sp))
                problem(&c, "span %" PRIu64 ": its body does not decode", seq);
            if (hv && ch_view_decode(scratch, (const uint8_t *)view.ptr, view.len, &g))
                problem(&c, "span %" PRIu64 ": its GenAI view does not decode", seq);
        }
        if (!rc && r.bad) rc = LT_EIO;
        arena_free(scratch);
        if (rc || rows < 20000) break;
    }
    buf_free(&sql);
    if (!rc) rc = store_bytes_used(st, &out->segment_bytes);
    return rc;
}
