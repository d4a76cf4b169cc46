/* sqlite_check.c — store_check for the SQLite engine: the store verified against itself.
 *
 * Everything is read in one snapshot of one reader connection, so a check runs beside a
 * writer (the segment files are measured after the snapshot began: a row in it had its
 * body written before its commit). In order:
 *   - SQLite's PRAGMA integrity_check (pages, B-trees, indexes, NOT NULL);
 *   - batches: each one's segment holds its bytes (seg_end within the file);
 *   - per trace summary, the rows its ranges list (spans and GenAI views, log records):
 *     their count and errors agree with span_count and error_count, their trace id with
 *     the summary's, each body lies within its segment and decodes (content references
 *     resolved) to a span (record) with the row's ids, a body with a view field is a view
 *     row; a summary at or below the index mark is in trace_idx, and no trace id has two
 *     summaries (the writer would then split a trace);
 *   - totals: every span and log row was reached through a summary (or is a log record
 *     without a trace), no row lies past the last batch, resources and scopes referenced
 *     exist, trace_idx and content_idx point at rows that exist, every view's dimensions
 *     exist, and the rollups count exactly the views up to their mark.
 * Reading every body makes the check's time grow with the store; it is meant for a
 * command run by hand or after a crash, not for the ingest path. */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "store/sqlite_int.h"

typedef struct {
    uint32_t seg;
    uint64_t size;
} seg_size;

typedef struct {
    sq_store *s;
    reader *r;
    lt_arena *out;     /* the report's strings */
    lt_arena *scratch; /* bodies and decoded items of one summary */
    lt_check_report *rep;
    seg_size *segs;
    size_t n_segs, segs_cap;
    fdcache fc;
    sq_cread cr;
    uint8_t *body;
    size_t body_cap;
    int64_t indexed_upto;
    uint64_t span_rows_seen, log_rows_seen;
} checker;

static void problem(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(checker *c, const char *fmt, ...)
{
    lt_check_report *rep = c->rep;
    rep->problems++;
    if (rep->n_listed >= LT_CHECK_LISTED) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lt_str v = arena_strdup(c->out, lt_str_c(msg));
    if (v.ptr) rep->listed[rep->n_listed++] = v;
}

static void hex(const void *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int seg_cmp(const void *pa, const void *pb)
{
    const seg_size *a = pa, *b = pb;
    return a->seg < b->seg ? -1 : a->seg > b->seg;
}

/* Measures the segment files of the directory. */
static int scan_segments(checker *c)
{
    DIR *d = opendir(c->s->dir);
    if (!d) {
        problem(c, "cannot list the store directory %s", c->s->dir);
        return 0;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        unsigned n;
        char tail[8];
        if (sscanf(e->d_name, "blobs-%8u.se%1s", &n, tail) != 2 || n == 0) continue;
        char path[4200];
        struct stat st;
        sq_seg_path(c->s, n, path, sizeof path);
        if (stat(path, &st) != 0) continue;
        if (c->n_segs == c->segs_cap) {
            size_t cap = c->segs_cap ? c->segs_cap * 2 : 16;
            seg_size *v = lt_realloc(c->segs, cap * sizeof *v);
            if (!v) {
                rc = LT_ENOMEM;
                break;
            }
            c->segs = v;
            c->segs_cap = cap;
        }
        c->segs[c->n_segs++] = (seg_size){n, (uint64_t)st.st_size};
        c->rep->segment_bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    if (c->n_segs > 1) qsort(c->segs, c->n_segs, sizeof *c->segs, seg_cmp);
    c->rep->segments = c->n_segs;
    return rc;
}

/* The size of segment n, or -1 when its file is missing. */
static int64_t segment_size(const checker *c, uint32_t n)
{
    size_t lo = 0, hi = c->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->segs[mid].seg == n) return (int64_t)c->segs[mid].size;
        if (c->segs[mid].seg < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Prepares sql on the reader's connection; a failure is a problem (a damaged schema). */
static int prepare(checker *c, const char *sql, sqlite3_stmt **st)
{
    int src = sqlite3_prepare_v2(c->r->db, sql, -1, st, NULL);
    if (src == SQLITE_OK) return 0;
    problem(c, "cannot read the database (%s): %.80s", sqlite3_errmsg(c->r->db), sql);
    return src == SQLITE_NOMEM ? LT_ENOMEM : LT_EIO;
}

/* A statement that failed while stepping: a problem, and LT_EIO (or LT_ENOMEM) to stop. */
static int step_failed(checker *c, int src, const char *what)
{
    if (src == SQLITE_NOMEM) return LT_ENOMEM;
    problem(c, "reading %s failed: %s", what, sqlite3_errmsg(c->r->db));
    return LT_EIO;
}

/* One number from sql (0 without a row); *ok false after a problem. */
static int64_t count_of(checker *c, const char *sql, bool *ok)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (prepare(c, sql, &st)) {
        *ok = false;
        return 0;
    }
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE) {
        step_failed(c, src, sql);
        *ok = false;
    }
    sqlite3_finalize(st);
    return v;
}

static int integrity(checker *c)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, "PRAGMA integrity_check(20)", &st), src;
    if (rc) return 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *msg = (const char *)sqlite3_column_text(st, 0);
        if (msg && strcmp(msg, "ok") != 0) problem(c, "database: %s", msg);
    }
    if (src != SQLITE_DONE) rc = step_failed(c, src, "the integrity check");
    sqlite3_finalize(st);
    return rc == LT_ENOMEM ? rc : 0;
}

static int check_batches(checker *c)
{
    sqlite3_stmt *st = NULL;
    if (prepare(c, "SELECT id, first_id, last_id, seg, seg_end FROM batches ORDER BY id", &st))
        return 0;
    int src;
    uint32_t reported_seg = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), first = sqlite3_column_int64(st, 1);
        int64_t last = sqlite3_column_int64(st, 2), end = sqlite3_column_int64(st, 4);
        uint32_t seg = (uint32_t)sqlite3_column_int64(st, 3);
        if (first > last)
            problem(c, "batch %" PRId64 ": no rows (%" PRId64 "..%" PRId64 ")", id, first, last);
        int64_t size = segment_size(c, seg);
        if (seg == reported_seg) continue; /* one line per segment is enough */
        if (size < 0) {
            problem(c, "batch %" PRId64 ": segment file blobs-%08" PRIu32 ".seg is missing", id,
                    seg);
            reported_seg = seg;
        } else if (end > size) {
            problem(c,
                    "batch %" PRId64 ": segment blobs-%08" PRIu32 ".seg holds %" PRId64
                    " bytes, the batch ends at %" PRId64,
                    id, seg, size, end);
            reported_seg = seg;
        }
    }
    int rc = src == SQLITE_DONE ? 0 : step_failed(c, src, "batches");
    sqlite3_finalize(st);
    return rc == LT_ENOMEM ? rc : 0;
}

/* Reads the body of a row into c->body; false after a problem. */
static bool read_body(checker *c, const char *what, int64_t id, int64_t loc, int64_t len)
{
    uint32_t seg = (uint32_t)((uint64_t)loc >> SEG_SHIFT);
    uint64_t off = (uint64_t)loc & ((UINT64_C(1) << SEG_SHIFT) - 1);
    int64_t size = segment_size(c, seg);
    if (len < 0 || len > (1 << 30)) {
        problem(c, "%s row %" PRId64 ": body length %" PRId64 " is impossible", what, id, len);
        return false;
    }
    if (size < 0) {
        problem(c, "%s row %" PRId64 ": segment file blobs-%08" PRIu32 ".seg is missing", what, id,
                seg);
        return false;
    }
    if (off + (uint64_t)len > (uint64_t)size) {
        problem(c,
                "%s row %" PRId64 ": body at blobs-%08" PRIu32 ".seg %" PRIu64 "+%" PRId64
                " lies past the end of the segment (%" PRId64 " bytes)",
                what, id, seg, off, len, size);
        return false;
    }
    if ((size_t)len > c->body_cap) {
        uint8_t *b = lt_realloc(c->body, (size_t)len);
        if (!b) return false;
        c->body = b;
        c->body_cap = (size_t)len;
    }
    if (len && !sq_seg_read(c->s, &c->fc, loc, (size_t)len, c->body)) {
        problem(c, "%s row %" PRId64 ": body cannot be read from blobs-%08" PRIu32 ".seg", what, id,
                seg);
        return false;
    }
    return true;
}

/* The span rows (or log rows) listed by a summary's ranges, checked one by one. */
static int check_rows(checker *c, bool spans, int64_t trace_row, const uint8_t tid[16],
                      const uint8_t *ranges, size_t rlen, uint64_t *n, uint64_t *errors)
{
    static const char span_sql[] = "SELECT id, trace_id, span_id, status, loc, len, 0 FROM spans"
                                   " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 UNION ALL"
                                   " SELECT id, trace_id, span_id, status, loc, len, 1 FROM genai"
                                   " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 ORDER BY 1";
    static const char log_sql[] = "SELECT id, trace_id, span_id, 0, loc, len, 0 FROM logs"
                                  " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 ORDER BY 1";
    const char *what = spans ? "span" : "log";
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, spans ? span_sql : log_sql, &st), src = SQLITE_DONE;
    if (rc) return rc == LT_ENOMEM ? rc : 0;
    int64_t f, l, prev_last = 0;
    for (const uint8_t *p = ranges, *end = ranges + rlen; sq_next_range(&p, end, &f, &l);) {
        if (f <= prev_last)
            problem(c, "trace summary %" PRId64 ": its %s ranges overlap or go backwards",
                    trace_row, what);
        prev_last = l;
        sqlite3_bind_int64(st, 1, f);
        sqlite3_bind_int64(st, 2, l);
        sqlite3_bind_int64(st, 3, trace_row);
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0), loc = sqlite3_column_int64(st, 4);
            int64_t len = sqlite3_column_int64(st, 5);
            bool view_row = sqlite3_column_int(st, 6) == 1;
            const void *rt = sqlite3_column_blob(st, 1), *rs = sqlite3_column_blob(st, 2);
            bool rt_ok = rt && sqlite3_column_bytes(st, 1) == 16;
            bool rs_ok = rs && sqlite3_column_bytes(st, 2) == 8;
            uint8_t row_tid[16] = {0}, row_sid[8] = {0};
            if (rt_ok) memcpy(row_tid, rt, 16);
            if (rs_ok) memcpy(row_sid, rs, 8);
            (*n)++;
            if (sqlite3_column_int(st, 3) == LT_STATUS_ERROR) (*errors)++;
            if (!rt_ok || memcmp(row_tid, tid, 16) != 0)
                problem(c, "%s row %" PRId64 ": trace id differs from its summary %" PRId64 "'s",
                        what, id, trace_row);
            if (spans && !rs_ok) problem(c, "span row %" PRId64 ": span id is not 8 bytes", id);
            if (!read_body(c, what, id, loc, len)) continue;
            lt_str view = LT_STR_NULL;
            int drc;
            const uint8_t *got_tid, *got_sid;
            if (spans) {
                lt_span sp;
                drc = sq_content_decode_span(c->r, &c->cr, c->scratch, c->body, (size_t)len, &sp,
                                             &view);
                got_tid = sp.trace_id;
                got_sid = sp.span_id;
                if (!drc && view_row != (view.ptr != NULL))
                    problem(c, "span row %" PRId64 ": %s", id,
                            view_row ? "a GenAI row whose body has no view"
                                     : "its body has a GenAI view but the row is not one");
                if (!drc && (memcmp(got_tid, row_tid, 16) || memcmp(got_sid, row_sid, 8)))
                    problem(c, "span row %" PRId64 ": the body is another span's", id);
            } else {
                lt_log_record lr;
                drc = sq_content_decode_log(c->r, &c->cr, c->scratch, c->body, (size_t)len, &lr);
                if (!drc && rt_ok && memcmp(lr.trace_id, row_tid, 16) != 0)
                    problem(c, "log row %" PRId64 ": the body is another record's", id);
            }
            if (drc == LT_ENOMEM) {
                rc = drc;
                break;
            }
            if (drc)
                problem(c,
                        "%s row %" PRId64 ": the body does not decode or its stored content is"
                        " missing (%s)",
                        what, id, lt_strerror(drc));
        }
        sqlite3_reset(st);
        if (rc) break;
        if (src != SQLITE_DONE) {
            rc = step_failed(c, src, spans ? "spans" : "log records");
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == LT_ENOMEM ? rc : 0;
}

/* Whether summary row of trace id is in trace_idx (for summaries at or below the mark). */
static int indexed(checker *c, sqlite3_stmt *q, const uint8_t tid[16], int64_t row, bool *found)
{
    int64_t key;
    memcpy(&key, tid, 8); /* as trace_key() makes it */
    sqlite3_bind_int64(q, 1, key);
    sqlite3_bind_int64(q, 2, row);
    int src = sqlite3_step(q);
    *found = src == SQLITE_ROW;
    sqlite3_reset(q);
    return src == SQLITE_ROW || src == SQLITE_DONE ? 0 : step_failed(c, src, "trace_idx");
}

static int check_summaries(checker *c)
{
    sqlite3_stmt *st = NULL, *idx = NULL;
    int rc = prepare(c,
                     "SELECT id, trace_id, span_count, error_count, spans, logs FROM traces"
                     " ORDER BY id",
                     &st);
    if (!rc) rc = prepare(c, "SELECT 1 FROM trace_idx WHERE key = ?1 AND trace_row = ?2", &idx);
    if (rc) goto out;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        int64_t span_count = sqlite3_column_int64(st, 2), error_count = sqlite3_column_int64(st, 3);
        c->rep->traces++;
        const void *t = sqlite3_column_blob(st, 1);
        if (!t || sqlite3_column_bytes(st, 1) != 16) {
            problem(c, "trace summary %" PRId64 ": trace id is not 16 bytes", row);
            continue;
        }
        uint8_t tid[16];
        char th[33];
        memcpy(tid, t, 16);
        hex(tid, 16, th);
        /* the ranges are copied: the statement's row dies when another statement steps */
        size_t sl = (size_t)sqlite3_column_bytes(st, 4), ll = (size_t)sqlite3_column_bytes(st, 5);
        arena_reset(c->scratch);
        sq_cread_reset(&c->cr);
        uint8_t *sr = arena_alloc(c->scratch, sl + 1), *lr = arena_alloc(c->scratch, ll + 1);
        if (!sr || !lr) {
            rc = LT_ENOMEM;
            break;
        }
        if (sl) memcpy(sr, sqlite3_column_blob(st, 4), sl);
        if (ll) memcpy(lr, sqlite3_column_blob(st, 5), ll);
        uint64_t n = 0, errors = 0, nl = 0, unused = 0;
        if ((rc = check_rows(c, true, row, tid, sr, sl, &n, &errors)) ||
            (rc = check_rows(c, false, row, tid, lr, ll, &nl, &unused)))
            break;
        c->span_rows_seen += n;
        c->log_rows_seen += nl;
        if ((int64_t)n != span_count)
            problem(c, "trace %s: its summary counts %" PRId64 " spans, %" PRIu64 " are stored", th,
                    span_count, n);
        if ((int64_t)errors != error_count)
            problem(c,
                    "trace %s: its summary counts %" PRId64 " spans with errors, %" PRIu64
                    " are stored",
                    th, error_count, errors);
        if (!n && !nl) problem(c, "trace %s: its summary lists no span and no log record", th);
        if (row <= c->indexed_upto) {
            bool found = false;
            if ((rc = indexed(c, idx, tid, row, &found))) break;
            if (!found) problem(c, "trace %s: summary %" PRId64 " is not in trace_idx", th, row);
        }
    }
    if (!rc && src != SQLITE_DONE) rc = step_failed(c, src, "trace summaries");
out:
    sqlite3_finalize(st);
    sqlite3_finalize(idx);
    return rc == LT_ENOMEM ? rc : 0;
}

/* Log records without a trace are reached through no summary: they are checked here. */
static int check_untraced_logs(checker *c)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(c,
                     "SELECT id, loc, len, trace_id IS NOT NULL FROM logs WHERE trace_row IS NULL"
                     " ORDER BY id",
                     &st);
    if (rc) return rc == LT_ENOMEM ? rc : 0;
    int src;
    uint64_t k = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), len = sqlite3_column_int64(st, 2);
        if (k++ % 256 == 0) {
            arena_reset(c->scratch);
            sq_cread_reset(&c->cr);
        }
        c->log_rows_seen++;
        if (sqlite3_column_int(st, 3))
            problem(c, "log row %" PRId64 ": it has a trace id but no trace summary", id);
        if (!read_body(c, "log", id, sqlite3_column_int64(st, 1), len)) continue;
        lt_log_record lr;
        int drc = sq_content_decode_log(c->r, &c->cr, c->scratch, c->body, (size_t)len, &lr);
        if (drc == LT_ENOMEM) {
            rc = drc;
            break;
        }
        if (drc)
            problem(c, "log row %" PRId64 ": the body does not decode (%s)", id, lt_strerror(drc));
    }
    if (!rc && src != SQLITE_DONE) rc = step_failed(c, src, "log records");
    sqlite3_finalize(st);
    return rc == LT_ENOMEM ? rc : 0;
}

/* Checks stated as counts of rows that break a rule: each non-zero count is a problem. */
static void check_counts(checker *c)
{
    static const struct {
        const char *sql, *what;
    } rules[] = {
        {"SELECT count(*) FROM (SELECT trace_id FROM traces GROUP BY trace_id HAVING count(*) > 1)",
         "trace ids with more than one summary"},
        {"SELECT count(*) FROM (SELECT id FROM spans UNION ALL SELECT id FROM genai)"
         " WHERE id > (SELECT coalesce(max(last_id), 0) FROM batches WHERE signal = 0)",
         "span rows past the last batch of spans"},
        {"SELECT count(*) FROM logs"
         " WHERE id > (SELECT coalesce(max(last_id), 0) FROM batches WHERE signal = 1)",
         "log rows past the last batch of log records"},
        {"SELECT count(*) FROM (SELECT id FROM spans INTERSECT SELECT id FROM genai)",
         "span row ids used by both spans and genai"},
        {"SELECT count(*) FROM (SELECT resource_id r, scope_id c FROM spans UNION ALL"
         " SELECT resource_id, scope_id FROM genai UNION ALL SELECT resource_id, scope_id FROM "
         "logs)"
         " WHERE r NOT IN (SELECT id FROM resources) OR c NOT IN (SELECT id FROM scopes)",
         "rows whose resource or scope is missing"},
        {"SELECT count(*) FROM trace_idx WHERE trace_row NOT IN (SELECT id FROM traces)",
         "trace_idx entries of missing summaries"},
        {"SELECT count(*) FROM genai WHERE dims NOT IN (SELECT id FROM gdim)",
         "GenAI views whose dimensions are missing"},
        {"SELECT count(*) FROM content_idx WHERE block NOT IN (SELECT id FROM content)",
         "content_idx entries of missing content blocks"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        bool ok = true;
        int64_t n = count_of(c, rules[i].sql, &ok);
        if (ok && n) problem(c, "%" PRId64 " %s", n, rules[i].what);
    }
    bool ok = true;
    int64_t spans = count_of(c, "SELECT count(*) FROM spans", &ok);
    int64_t views = count_of(c, "SELECT count(*) FROM genai", &ok);
    int64_t logs = count_of(c, "SELECT count(*) FROM logs", &ok);
    c->rep->content = (uint64_t)count_of(c, "SELECT count(*) FROM content", &ok);
    if (!ok) return;
    c->rep->spans = (uint64_t)(spans + views);
    c->rep->views = (uint64_t)views;
    c->rep->logs = (uint64_t)logs;
    if ((uint64_t)(spans + views) != c->span_rows_seen)
        problem(c, "%" PRId64 " span rows, %" PRIu64 " of them listed by a trace summary",
                spans + views, c->span_rows_seen);
    if ((uint64_t)logs != c->log_rows_seen)
        problem(c,
                "%" PRId64 " log rows, %" PRIu64
                " of them listed by a trace summary or without a trace",
                logs, c->log_rows_seen);
    /* the rollups hold exactly the views up to their mark (one model entry per view) */
    int64_t rolled = count_of(c, "SELECT v FROM meta WHERE k = 'rolled_upto'", &ok);
    int64_t in_rollups =
        count_of(c, "SELECT coalesce(sum(calls), 0) FROM rollup WHERE dim = 0", &ok);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM genai WHERE id <= %" PRId64, rolled);
    int64_t below = count_of(c, sql, &ok);
    if (ok && in_rollups != below)
        problem(c,
                "the GenAI rollups count %" PRId64 " calls, %" PRId64
                " views are stored up to their mark",
                in_rollups, below);
}

int sq_check(lt_store *st, lt_arena *a, lt_check_report *out)
{
    sq_store *s = (sq_store *)st;
    memset(out, 0, sizeof *out);
    checker c = {.s = s, .out = a, .rep = out};
    int rc = 0;
    if (!(c.scratch = arena_new())) return LT_ENOMEM;
    if ((rc = sq_reader_get(s, &c.r))) {
        c.r = NULL;
        goto out;
    }
    if ((rc = sq_read_begin(c.r))) goto out;
    /* the snapshot starts with this read; the segments are measured after it */
    bool ok = true;
    c.indexed_upto = count_of(&c, "SELECT v FROM meta WHERE k = 'indexed_upto'", &ok);
    if (!ok) {
        rc = LT_EIO;
        goto out;
    }
    if ((rc = scan_segments(&c)) || (rc = integrity(&c)) || (rc = check_batches(&c)) ||
        (rc = check_summaries(&c)) || (rc = check_untraced_logs(&c)))
        goto out;
    check_counts(&c);
out:
    if (c.r) {
        sq_read_end(c.r);
        sq_reader_put(s, c.r);
    }
    sq_fdc_close(&c.fc);
    sq_cread_free(&c.cr);
    arena_free(c.scratch);
    lt_free(c.segs);
    lt_free(c.body);
    if (rc == LT_EIO && out->problems) rc = 0; /* what stopped it is among the problems */
    return rc;
}
