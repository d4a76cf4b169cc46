/* test_store.c — the SQLite store engine: lossless round trips (captured fixtures and
 * hand-built batches), traces in pieces, logs before and after their spans, summaries,
 * every list filter and paging, operations, retention by age and by size, reopening,
 * readers during writes, a full disk, kill -9 during ingest and a segment that lost its
 * tail. GenAI: views given back exactly (odd types, -0, NaN, read-only opener, reopen),
 * trace totals over pieces, each GenAI filter against a brute-force answer (past the
 * summary's bound too), genai_summary against exact sums and quantiles over several ranges
 * (rollups, the tail waiting in memory, partial minutes), retention and rederive keeping
 * the rollups equal to a grouping of the table, the content store (byte-exact strings of
 * every shape, deduplication of a growing history, retention of referenced content), and
 * kill -9 with views and content.
 *
 * The engine is included, so that tests can reach its connection (to make the database
 * "full") and its limits. */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* small work bounds, so that listings stop early and page on */
#define LT_SQLITE_LIST_SCAN_ROWS 1000
#define LT_SQLITE_ATTR_SCAN_SPANS 50
/* ... rollups flushed often (views then come from rollups, the tail and edge scans at once),
 * and rederive in many short transactions */
#define LT_SQLITE_ROLLUP_FLUSH_ROWS 64
#define LT_SQLITE_REDERIVE_STEP 7
/* ... and content pieces indexed soon, so that lookups go to the index too */
#define LT_SQLITE_CONTENT_INDEX_MIN 4
/* ... search text indexed every few writes (searches meet indexed and pending text), a
 * small search bound; stats and tail scans that stop early */
#define LT_SQLITE_SEARCH_FLUSH_BYTES 4096
#define LT_SQLITE_SEARCH_REFS 1000
#define LT_SQLITE_STATS_SCAN_ROWS 60
#define LT_SQLITE_TAIL_SCAN_ROWS 16
#include "store/sqlite.c"
#include "store/sqlite_content.c"
#include "store/sqlite_genai.c"
#include "store/sqlite_check.c"
#include "store/sqlite_query.c"
#include "store/sqlite_search.c"

#include "fixture_files.h"

/* ---- helpers --------------------------------------------------------------------------- */

static char *make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

static uint64_t file_size(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t dir_size(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t total = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') total += file_size(dir, e->d_name);
    if (d) closedir(d);
    return total;
}

static lt_store *open_store(const char *dir)
{
    lt_store *s = NULL;
    char err[256];
    int rc = store_open(dir, &s, err, sizeof err);
    if (rc) fprintf(stderr, "store_open: %s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

/* store_check on s (and on a read-only opener of dir when given): no problem, and the
 * number of spans when want_spans >= 0. */
static void assert_check_ok(lt_store *s, const char *dir, int64_t want_spans)
{
    for (int pass = 0; pass < (dir ? 2 : 1); pass++) {
        lt_store *c = s;
        char err[256];
        if (pass == 1) assert_int_equal(store_open_read_only(dir, &c, err, sizeof err), 0);
        lt_arena *a = arena_new();
        lt_check_report rep;
        assert_int_equal(store_check(c, a, &rep), 0);
        for (uint32_t i = 0; i < rep.n_listed; i++)
            fprintf(stderr, "check: %.*s\n", (int)rep.listed[i].len, rep.listed[i].ptr);
        assert_int_equal(rep.problems, 0);
        if (want_spans >= 0) assert_int_equal(rep.spans, want_spans);
        arena_free(a);
        if (pass == 1) store_close(c);
    }
}

/* store_check on s finds problems, one of whose descriptions contains what. */
static void assert_check_finds(lt_store *s, const char *what)
{
    lt_arena *a = arena_new();
    lt_check_report rep;
    assert_int_equal(store_check(s, a, &rep), 0);
    bool found = false;
    for (uint32_t i = 0; i < rep.n_listed; i++)
        if (memmem(rep.listed[i].ptr, rep.listed[i].len, what, strlen(what))) found = true;
    if (!found) {
        fprintf(stderr, "check found %llu problems, none with '%s':\n",
                (unsigned long long)rep.problems, what);
        for (uint32_t i = 0; i < rep.n_listed; i++)
            fprintf(stderr, "  %.*s\n", (int)rep.listed[i].len, rep.listed[i].ptr);
    }
    assert_true(rep.problems > 0);
    assert_true(found);
    arena_free(a);
}

static void tid_of(uint32_t n, uint8_t out[16])
{
    /* spread like random ids, but reproducible */
    uint64_t a = hash64(&n, sizeof n, 1), b = hash64(&n, sizeof n, 2);
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

static void sid_of(uint64_t n, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(n >> (56 - 8 * i));
    if (!n) out[7] = 1;
}

static lt_kv *kvs(lt_arena *a, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    lt_kv *v = arena_calloc(a, (size_t)(n ? n : 1), sizeof *v);
    for (int i = 0; i < n; i++) {
        v[i].key = lt_str_c(va_arg(ap, const char *));
        v[i].value.type = LT_VAL_STRING;
        v[i].value.u.s = lt_str_c(va_arg(ap, const char *));
    }
    va_end(ap);
    return v;
}

/* A batch of one resource (service, and env when given) and one scope. */
static lt_trace_batch one_batch(lt_arena *a, const char *service, const char *env, lt_span *spans,
                                uint32_t n)
{
    lt_resource_spans *rs = arena_calloc(a, 1, sizeof *rs);
    lt_scope_spans *ss = arena_calloc(a, 1, sizeof *ss);
    rs->resource.attrs.items =
        env ? kvs(a, 2, "service.name", service, "deployment.environment.name", env)
            : kvs(a, 1, "service.name", service);
    rs->resource.attrs.n = env ? 2 : 1;
    rs->scopes = ss;
    rs->n_scopes = 1;
    ss->scope.name = LT_STR("test-scope");
    ss->scope.version = LT_STR("1.0");
    ss->spans = spans;
    ss->n_spans = n;
    return (lt_trace_batch){.rs = rs, .n_rs = 1, .n_spans = n};
}

static lt_span mk_span(uint32_t trace, uint64_t id, uint64_t parent, const char *name,
                       uint64_t start, uint64_t end, uint32_t status)
{
    lt_span s = {0};
    tid_of(trace, s.trace_id);
    sid_of(id, s.span_id);
    if (parent) {
        s.has_parent = true;
        sid_of(parent, s.parent_span_id);
    }
    s.name = lt_str_c(name);
    s.kind = LT_KIND_INTERNAL;
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = end;
    s.status_code = status;
    return s;
}

static lt_log_record mk_log(uint32_t trace, uint64_t span, uint64_t time, const char *body)
{
    lt_log_record r = {0};
    if (trace != UINT32_MAX) tid_of(trace, r.trace_id);
    if (span) sid_of(span, r.span_id);
    r.time_unix_nano = time;
    r.severity_number = 9;
    r.severity_text = LT_STR("INFO");
    r.body.type = LT_VAL_STRING;
    r.body.u.s = lt_str_c(body);
    return r;
}

static lt_log_batch one_log_batch(lt_arena *a, const char *service, lt_log_record *recs, uint32_t n)
{
    lt_resource_logs *rl = arena_calloc(a, 1, sizeof *rl);
    lt_scope_logs *sl = arena_calloc(a, 1, sizeof *sl);
    rl->resource.attrs.items = kvs(a, 1, "service.name", service);
    rl->resource.attrs.n = 1;
    rl->scopes = sl;
    rl->n_scopes = 1;
    sl->scope.name = LT_STR("log-scope");
    sl->records = recs;
    sl->n_records = n;
    return (lt_log_batch){.rl = rl, .n_rl = 1, .n_records = n};
}

/* ---- canonical keys for comparing what went in with what came out ------------------- */

typedef struct {
    char **v;
    size_t *len;
    size_t n, cap;
} keys;

static void keys_add(keys *k, const lt_buf *b)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 64;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        k->len = realloc(k->len, k->cap * sizeof *k->len);
    }
    k->v[k->n] = malloc(b->len ? b->len : 1);
    memcpy(k->v[k->n], b->data, b->len);
    k->len[k->n++] = b->len;
}

static void keys_free(keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    free(k->len);
    memset(k, 0, sizeof *k);
}

static void put_part(lt_buf *b, const lt_buf *part)
{
    uint32_t n = (uint32_t)part->len;
    buf_append(b, &n, 4);
    buf_append(b, part->data, part->len);
}

/* key = resource encoding, its schema URL, scope encoding, its schema URL, item encoding */
static void item_key(lt_buf *out, const lt_resource *r, lt_str rurl, const lt_scope *sc,
                     lt_str surl, const lt_span *sp, const lt_log_record *lr)
{
    lt_buf part = {0};
    buf_reset(out);
    pb_encode_resource(&part, r);
    put_part(out, &part);
    buf_reset(&part);
    buf_append_str(&part, rurl);
    put_part(out, &part);
    buf_reset(&part);
    pb_encode_scope(&part, sc);
    put_part(out, &part);
    buf_reset(&part);
    buf_append_str(&part, surl);
    put_part(out, &part);
    buf_reset(&part);
    if (sp)
        pb_encode_span(&part, sp);
    else
        pb_encode_log_record(&part, lr);
    put_part(out, &part);
    buf_free(&part);
}

/* Keys of the spans (and logs) of trace id in a batch, in order. */
static void batch_keys(const lt_trace_batch *b, const lt_log_batch *l, const uint8_t *id, keys *ks,
                       keys *kl)
{
    lt_buf k = {0};
    for (uint32_t i = 0; b && i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t m = 0; m < b->rs[i].scopes[j].n_spans; m++) {
                const lt_span *sp = &b->rs[i].scopes[j].spans[m];
                if (id && memcmp(sp->trace_id, id, 16)) continue;
                item_key(&k, &b->rs[i].resource, b->rs[i].schema_url, &b->rs[i].scopes[j].scope,
                         b->rs[i].scopes[j].schema_url, sp, NULL);
                keys_add(ks, &k);
            }
    for (uint32_t i = 0; l && i < l->n_rl; i++)
        for (uint32_t j = 0; j < l->rl[i].n_scopes; j++)
            for (uint32_t m = 0; m < l->rl[i].scopes[j].n_records; m++) {
                const lt_log_record *lr = &l->rl[i].scopes[j].records[m];
                if (id && memcmp(lr->trace_id, id, 16)) continue;
                item_key(&k, &l->rl[i].resource, l->rl[i].schema_url, &l->rl[i].scopes[j].scope,
                         l->rl[i].scopes[j].schema_url, NULL, lr);
                keys_add(kl, &k);
            }
    buf_free(&k);
}

static const keys *sort_keys_base;
static int key_idx_cmp(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const keys *k = sort_keys_base;
    size_t n = k->len[a] < k->len[b] ? k->len[a] : k->len[b];
    int c = memcmp(k->v[a], k->v[b], n);
    if (c) return c;
    return k->len[a] < k->len[b] ? -1 : k->len[a] > k->len[b];
}

/* The two lists hold the same keys, and keys that share a resource and scope come in the
 * same relative order (arrival order within a group). */
static void assert_same_keys(keys *want, keys *got)
{
    assert_int_equal(want->n, got->n);
    size_t *iw = malloc((want->n + 1) * sizeof *iw), *ig = malloc((got->n + 1) * sizeof *ig);
    for (size_t i = 0; i < want->n; i++)
        iw[i] = ig[i] = i;
    sort_keys_base = want;
    qsort(iw, want->n, sizeof *iw, key_idx_cmp);
    sort_keys_base = got;
    qsort(ig, got->n, sizeof *ig, key_idx_cmp);
    for (size_t i = 0; i < want->n; i++) {
        assert_int_equal(want->len[iw[i]], got->len[ig[i]]);
        assert_memory_equal(want->v[iw[i]], got->v[ig[i]], want->len[iw[i]]);
    }
    free(iw);
    free(ig);
}

/* Keys of what get_trace returned; also checks its shape (one scope per group, no two
 * groups for one resource and scope pair). */
static void data_keys(const lt_trace_data *d, keys *ks, keys *kl)
{
    for (uint32_t i = 0; i < d->spans.n_rs; i++) {
        assert_int_equal(d->spans.rs[i].n_scopes, 1);
        assert_true(d->spans.rs[i].scopes[0].n_spans > 0);
    }
    uint64_t n = 0;
    for (uint32_t i = 0; i < d->spans.n_rs; i++)
        n += d->spans.rs[i].scopes[0].n_spans;
    assert_int_equal(n, d->spans.n_spans);
    batch_keys(&d->spans, &d->logs, NULL, ks, kl);
    /* groups are distinct: their prefixes (resource + scope parts) differ */
    lt_buf a = {0}, b = {0};
    for (uint32_t i = 0; i < d->spans.n_rs; i++)
        for (uint32_t j = i + 1; j < d->spans.n_rs; j++) {
            const lt_resource_spans *x = &d->spans.rs[i], *y = &d->spans.rs[j];
            item_key(&a, &x->resource, x->schema_url, &x->scopes[0].scope, x->scopes[0].schema_url,
                     &x->scopes[0].spans[0], NULL);
            item_key(&b, &y->resource, y->schema_url, &y->scopes[0].scope, y->scopes[0].schema_url,
                     &x->scopes[0].spans[0], NULL);
            assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        }
    buf_free(&a);
    buf_free(&b);
}

/* Checks that get_trace(id) gives back exactly want_spans and want_logs. */
static void assert_trace(lt_store *s, const uint8_t id[16], keys *want_spans, keys *want_logs)
{
    lt_arena *a = arena_new();
    lt_trace_data d;
    int rc = store_get_trace(s, id, a, &d);
    if (want_spans->n == 0) {
        assert_int_equal(rc, LT_ENOTFOUND);
        arena_free(a);
        return;
    }
    assert_int_equal(rc, 0);
    keys gs = {0}, gl = {0};
    data_keys(&d, &gs, &gl);
    assert_same_keys(want_spans, &gs);
    assert_same_keys(want_logs, &gl);
    keys_free(&gs);
    keys_free(&gl);
    arena_free(a);
}

/* ---- fixtures ------------------------------------------------------------------------ */

typedef struct {
    uint8_t *data;
    size_t len;
    bool traces;
    lt_trace_batch tb;
    lt_log_batch lb;
} fixture_req;

/* Loads the protobuf requests (traces and logs) of one scenario folder, in arrival order. */
static size_t load_scenario(const char *dir, lt_arena *a, fixture_req *out, size_t max)
{
    char *names[256];
    size_t n = fx_list(dir, names, 256), k = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (k < max && fx_ends(names[i], ".pb") &&
            (strstr(names[i], "-traces.") || strstr(names[i], "-logs."))) {
            fixture_req *r = &out[k];
            memset(r, 0, sizeof *r);
            r->data = fx_read(path, &r->len);
            assert_non_null(r->data);
            r->traces = strstr(names[i], "-traces.") != NULL;
            int rc = r->traces ? pb_decode_traces(a, r->data, r->len, &r->tb)
                               : pb_decode_logs(a, r->data, r->len, &r->lb);
            assert_int_equal(rc, 0);
            k++;
        }
        free(names[i]);
    }
    return k;
}

typedef struct {
    uint8_t (*v)[16];
    size_t n, cap;
} idset;

static void idset_add(idset *s, const uint8_t *id)
{
    if (model_id_is_zero(id, 16)) return;
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->v[i], id, 16)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * 16);
    }
    memcpy(s->v[s->n++], id, 16);
}

static void test_fixtures_lossless(void **state)
{
    (void)state;
    static const char *libs[] = {"otel", "openinference", "traceloop", "langfuse"};
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    size_t scenarios = 0, spans_total = 0, logs_total = 0;
    for (size_t li = 0; li < sizeof libs / sizeof libs[0]; li++) {
        char base[1024];
        snprintf(base, sizeof base, "%s/otlp/%s", LT_FIXTURES, libs[li]);
        DIR *d = opendir(base);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char sdir[2048];
            snprintf(sdir, sizeof sdir, "%s/%s", base, e->d_name);
            fixture_req reqs[64];
            size_t n = load_scenario(sdir, a, reqs, 64);
            if (!n) continue;
            scenarios++;
            idset ids = {0};
            for (size_t i = 0; i < n; i++) {
                int rc = reqs[i].traces ? store_write_traces(s, &reqs[i].tb)
                                        : store_write_logs(s, &reqs[i].lb);
                assert_int_equal(rc, 0);
                for (uint32_t r = 0; reqs[i].traces && r < reqs[i].tb.n_rs; r++)
                    for (uint32_t c = 0; c < reqs[i].tb.rs[r].n_scopes; c++)
                        for (uint32_t m = 0; m < reqs[i].tb.rs[r].scopes[c].n_spans; m++)
                            idset_add(&ids, reqs[i].tb.rs[r].scopes[c].spans[m].trace_id);
            }
            for (size_t t = 0; t < ids.n; t++) {
                keys ws = {0}, wl = {0};
                for (size_t i = 0; i < n; i++)
                    batch_keys(reqs[i].traces ? &reqs[i].tb : NULL,
                               reqs[i].traces ? NULL : &reqs[i].lb, ids.v[t], &ws, &wl);
                spans_total += ws.n;
                logs_total += wl.n;
                assert_trace(s, ids.v[t], &ws, &wl);
                keys_free(&ws);
                keys_free(&wl);
            }
            free(ids.v);
            for (size_t i = 0; i < n; i++)
                free(reqs[i].data);
        }
        closedir(d);
    }
    if (!scenarios) {
        fprintf(stderr, "no fixtures under %s\n", LT_FIXTURES);
        fail();
    }
    assert_true(spans_total > 500);
    assert_true(logs_total > 100);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- hand-built batches ------------------------------------------------------------- */

static lt_value val_str(const char *s)
{
    return (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(s)};
}

/* A span with every field of the model set, values of every type. */
static lt_span full_span(lt_arena *a, uint32_t trace, uint64_t id, uint64_t parent)
{
    lt_span s = mk_span(trace, id, parent, "full span ✓", 1700000000000000001ull,
                        1700000000500000002ull, LT_STATUS_ERROR);
    s.kind = 77; /* out of range: kept as sent */
    s.trace_state = LT_STR("vendor=abc,other=1");
    s.flags = 0x301;
    s.dropped_attributes_count = 3;
    s.dropped_events_count = 4;
    s.dropped_links_count = 5;
    s.status_message = LT_STR("boom");
    lt_value *arr = arena_calloc(a, 3, sizeof *arr);
    arr[0] = val_str("x");
    arr[1] = (lt_value){.type = LT_VAL_INT, .u.i = -7};
    arr[2] = (lt_value){.type = LT_VAL_EMPTY};
    lt_kv *inner = arena_calloc(a, 2, sizeof *inner);
    inner[0] = (lt_kv){LT_STR("k"), val_str("v")};
    inner[1] = (lt_kv){LT_STR("nested"), {.type = LT_VAL_ARRAY, .u.arr = {arr, 3}}};
    lt_kv *at = arena_calloc(a, 9, sizeof *at);
    at[0] = (lt_kv){LT_STR("s"), val_str("text")};
    at[1] = (lt_kv){LT_STR("b"), {.type = LT_VAL_BOOL, .u.b = true}};
    at[2] = (lt_kv){LT_STR("i"), {.type = LT_VAL_INT, .u.i = INT64_MIN}};
    at[3] = (lt_kv){LT_STR("d"), {.type = LT_VAL_DOUBLE, .u.d = -0.0}};
    at[4] = (lt_kv){LT_STR("bytes"), {.type = LT_VAL_BYTES, .u.s = {"\0\1\2\xff", 4}}};
    at[5] = (lt_kv){LT_STR("arr"), {.type = LT_VAL_ARRAY, .u.arr = {arr, 3}}};
    at[6] = (lt_kv){LT_STR("map"), {.type = LT_VAL_KVLIST, .u.kv = {inner, 2}}};
    at[7] = (lt_kv){LT_STR("empty"), {.type = LT_VAL_EMPTY}};
    at[8] = (lt_kv){LT_STR("s"), val_str("duplicate key, kept")};
    s.attrs = (lt_attrs){at, 9};
    lt_event *ev = arena_calloc(a, 2, sizeof *ev);
    ev[0] = (lt_event){.time_unix_nano = 1700000000100000000ull,
                       .name = LT_STR("exception"),
                       .attrs = {at, 2},
                       .dropped_attributes_count = 1};
    ev[1] = (lt_event){.name = LT_STR("")};
    s.events.items = ev;
    s.events.n = 2;
    lt_link *ln = arena_calloc(a, 1, sizeof *ln);
    tid_of(trace + 1000, ln->trace_id);
    sid_of(99, ln->span_id);
    ln->trace_state = LT_STR("t=1");
    ln->attrs = (lt_attrs){at + 5, 2};
    ln->dropped_attributes_count = 2;
    ln->flags = 0x100;
    s.links.items = ln;
    s.links.n = 1;
    return s;
}

static void test_hand_built_lossless(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    /* two resources (one with a schema URL and dropped count), each with two scopes */
    lt_span *sp = arena_calloc(a, 8, sizeof *sp);
    for (int i = 0; i < 8; i++)
        sp[i] = full_span(a, 1, (uint64_t)i + 1, i ? 1 : 0);
    sp[3].trace_id[0] ^= 0xff; /* another trace in the same request */
    lt_resource_spans rs[2] = {0};
    lt_scope_spans ss[4] = {0};
    rs[0].resource.attrs = (lt_attrs){kvs(a, 2, "service.name", "svc-a", "host.name", "h1"), 2};
    rs[0].resource.dropped_attributes_count = 2;
    rs[0].schema_url = LT_STR("https://opentelemetry.io/schemas/1.26.0");
    rs[1].resource.attrs = (lt_attrs){kvs(a, 1, "host.name", "h2"), 1}; /* no service.name */
    for (int i = 0; i < 4; i++) {
        ss[i].spans = &sp[i * 2];
        ss[i].n_spans = 2;
        ss[i].scope.name = lt_str_c(i % 2 ? "scope-b" : "scope-a");
        ss[i].scope.version = lt_str_c(i % 2 ? "" : "2.0");
        ss[i].scope.attrs = (lt_attrs){kvs(a, 1, "scope.attr", "x"), (uint32_t)(i == 1)};
        ss[i].scope.dropped_attributes_count = (uint32_t)i;
        ss[i].schema_url = lt_str_c(i == 2 ? "https://example.com/scope-schema" : "");
    }
    rs[0].scopes = ss;
    rs[0].n_scopes = 2;
    rs[1].scopes = ss + 2;
    rs[1].n_scopes = 2;
    lt_trace_batch b = {.rs = rs, .n_rs = 2, .n_spans = 8};
    /* the same resource content under another schema URL is another resource */
    lt_resource_spans rs2 = rs[0];
    lt_scope_spans ss2 = ss[0];
    lt_span sp2 = full_span(a, 1, 50, 1);
    ss2.spans = &sp2;
    ss2.n_spans = 1;
    rs2.scopes = &ss2;
    rs2.n_scopes = 1;
    rs2.schema_url = LT_STR("https://opentelemetry.io/schemas/1.27.0");
    lt_trace_batch b2 = {.rs = &rs2, .n_rs = 1, .n_spans = 1};
    /* log records with every field */
    lt_log_record lr[3];
    for (int i = 0; i < 3; i++) {
        lr[i] = mk_log(1, (uint64_t)i + 1, 1700000000000000000ull + (uint64_t)i, "body");
        lr[i].observed_time_unix_nano = 1700000000900000000ull;
        lr[i].attrs = sp[0].attrs;
        lr[i].dropped_attributes_count = 6;
        lr[i].flags = 1;
        lr[i].event_name = LT_STR("gen_ai.choice");
        lr[i].body = (lt_value){.type = LT_VAL_KVLIST, .u.kv = sp[0].attrs.items[6].value.u.kv};
    }
    lr[2].trace_id[0] ^= 0xff; /* the other trace */
    lt_log_batch lb = one_log_batch(a, "svc-a", lr, 3);
    assert_int_equal(store_write_traces(s, &b), 0);
    assert_int_equal(store_write_logs(s, &lb), 0);
    assert_int_equal(store_write_traces(s, &b2), 0);
    for (int t = 0; t < 2; t++) {
        uint8_t id[16];
        memcpy(id, t ? sp[3].trace_id : sp[0].trace_id, 16);
        keys ws = {0}, wl = {0};
        batch_keys(&b, &lb, id, &ws, &wl);
        batch_keys(&b2, NULL, id, &ws, &wl);
        assert_int_equal(ws.n, t ? 1 : 8);
        assert_int_equal(wl.n, t ? 1 : 2);
        assert_trace(s, id, &ws, &wl);
        keys_free(&ws);
        keys_free(&wl);
    }
    /* a trace that was never written */
    uint8_t none[16] = {9};
    lt_trace_data d;
    assert_int_equal(store_get_trace(s, none, a, &d), LT_ENOTFOUND);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- pieces, logs, summaries -------------------------------------------------------- */

static lt_trace_summary *find_summary(lt_trace_list *l, const uint8_t id[16])
{
    for (uint32_t i = 0; i < l->n; i++)
        if (!memcmp(l->items[i].trace_id, id, 16)) return &l->items[i];
    return NULL;
}

static void test_trace_in_pieces(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    uint8_t id[16], other[16];
    tid_of(7, id);
    tid_of(8, other);
    uint64_t t0 = 1700000000000000000ull;
    /* logs first, before any span of trace 7 */
    lt_log_record l1[2] = {mk_log(7, 3, t0 + 5, "early log"),
                           mk_log(UINT32_MAX, 0, t0, "untraced")};
    lt_log_batch lb1 = one_log_batch(a, "svc-a", l1, 2);
    assert_int_equal(store_write_logs(s, &lb1), 0);
    lt_trace_data d;
    assert_int_equal(store_get_trace(s, id, a, &d), LT_ENOTFOUND);
    lt_trace_query q = {0};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 0); /* log records alone do not make a trace */
    /* piece 1: two children (svc-b), with another trace in the same request */
    lt_span p1[3] = {mk_span(7, 3, 1, "child", t0 + 10, t0 + 20, LT_STATUS_OK),
                     mk_span(8, 100, 0, "other root", t0 + 50, t0 + 60, LT_STATUS_UNSET),
                     mk_span(7, 4, 3, "grandchild", t0 + 11, t0 + 19, LT_STATUS_ERROR)};
    lt_trace_batch b1 = one_batch(a, "svc-b", NULL, p1, 3);
    assert_int_equal(store_write_traces(s, &b1), 0);
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 2);
    lt_trace_summary *t = find_summary(&l, id);
    assert_non_null(t);
    assert_int_equal(t->root_name.len, 0);
    assert_int_equal(t->span_count, 2);
    assert_int_equal(t->error_count, 1);
    assert_int_equal(t->start_unix_nano, t0 + 10);
    assert_int_equal(t->end_unix_nano, t0 + 20);
    /* piece 2: the root (svc-a), later and earlier */
    lt_span p2[1] = {mk_span(7, 1, 0, "root op", t0 + 1, t0 + 100, LT_STATUS_UNSET)};
    lt_trace_batch b2 = one_batch(a, "svc-a", NULL, p2, 1);
    assert_int_equal(store_write_traces(s, &b2), 0);
    /* piece 3: one more error span of svc-c, and logs after */
    lt_span p3[1] = {mk_span(7, 5, 1, "late", t0 + 90, t0 + 120, LT_STATUS_ERROR)};
    lt_trace_batch b3 = one_batch(a, "svc-c", NULL, p3, 1);
    assert_int_equal(store_write_traces(s, &b3), 0);
    lt_log_record l2[1] = {mk_log(7, 5, t0 + 95, "late log")};
    lt_log_batch lb2 = one_log_batch(a, "svc-c", l2, 1);
    assert_int_equal(store_write_logs(s, &lb2), 0);

    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 2);
    assert_false(l.more);
    /* newest first: trace 8 starts at +50, trace 7 at +1 */
    assert_memory_equal(l.items[0].trace_id, other, 16);
    t = find_summary(&l, id);
    assert_non_null(t);
    assert_true(lt_str_eq_c(t->root_name, "root op"));
    assert_true(lt_str_eq_c(t->root_service, "svc-a"));
    assert_int_equal(t->span_count, 4);
    assert_int_equal(t->error_count, 2);
    assert_int_equal(t->start_unix_nano, t0 + 1);
    assert_int_equal(t->end_unix_nano, t0 + 120);
    assert_int_equal(t->n_services, 3);
    assert_true(lt_str_eq_c(t->services[0], "svc-a"));
    assert_true(lt_str_eq_c(t->services[1], "svc-b"));
    assert_true(lt_str_eq_c(t->services[2], "svc-c"));

    keys ws = {0}, wl = {0};
    batch_keys(&b1, &lb1, id, &ws, &wl);
    batch_keys(&b2, &lb2, id, &ws, &wl);
    batch_keys(&b3, NULL, id, &ws, &wl);
    assert_int_equal(ws.n, 4);
    assert_int_equal(wl.n, 2);
    assert_trace(s, id, &ws, &wl);
    keys_free(&ws);
    keys_free(&wl);
    /* the groups: svc-b (2 spans, arrival order kept), svc-a, svc-c */
    assert_int_equal(store_get_trace(s, id, a, &d), 0);
    assert_int_equal(d.spans.n_rs, 3);
    assert_int_equal(d.spans.rs[0].scopes[0].n_spans, 2);
    assert_true(lt_str_eq_c(d.spans.rs[0].scopes[0].spans[0].name, "child"));
    assert_true(lt_str_eq_c(d.spans.rs[0].scopes[0].spans[1].name, "grandchild"));
    assert_true(lt_str_eq_c(model_service_name(&d.spans.rs[1].resource), "svc-a"));
    assert_int_equal(d.logs.n_records, 2);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- listing ------------------------------------------------------------------------- */

enum { N_LIST = 60 };
static const uint64_t T0 = 1700000000000000000ull;

static uint64_t lt_start(int i)
{
    return T0 + (uint64_t)(i / 2) * 1000;
} /* pairs share a start */
static uint64_t lt_dur(int i)
{
    return (uint64_t)(i + 1) * 100;
}
static const char *lt_name(int i)
{
    return i % 3 ? "agent" : "chat";
}
static const char *lt_svc(int i)
{
    return i % 2 ? "svc-a" : "svc-b";
}
static bool lt_err(int i)
{
    return i % 4 == 0;
}
static bool lt_has_c(int i)
{
    return i % 5 == 0;
}
static const char *lt_env(int i)
{
    return i % 2 ? "prod" : "dev";
}

static void write_list_traces(lt_store *s, lt_arena *a)
{
    for (int i = 0; i < N_LIST; i++) {
        lt_span *sp = arena_calloc(a, 2, sizeof *sp);
        sp[0] = mk_span((uint32_t)i, 1, 0, lt_name(i), lt_start(i), lt_start(i) + lt_dur(i),
                        LT_STATUS_UNSET);
        sp[1] = mk_span((uint32_t)i, 2, 1, "step", lt_start(i) + 1, lt_start(i) + 2,
                        lt_err(i) ? LT_STATUS_ERROR : LT_STATUS_OK);
        char *uid = arena_alloc(a, 16);
        snprintf(uid, 16, "u%d", i % 7);
        lt_kv *at = arena_calloc(a, 3, sizeof *at);
        at[0] = (lt_kv){LT_STR("user.id"), val_str(uid)};
        at[1] = (lt_kv){LT_STR("n"), {.type = LT_VAL_INT, .u.i = i}};
        at[2] = (lt_kv){LT_STR("flag"), {.type = LT_VAL_BOOL, .u.b = i % 2}};
        sp[1].attrs = (lt_attrs){at, 3};
        lt_trace_batch b = one_batch(a, lt_svc(i), lt_env(i), sp, 2);
        assert_int_equal(store_write_traces(s, &b), 0);
        if (lt_has_c(i)) {
            lt_span *c = arena_calloc(a, 1, sizeof *c);
            *c = mk_span((uint32_t)i, 3, 1, "remote", lt_start(i) + 3, lt_start(i) + 4,
                         LT_STATUS_UNSET);
            lt_trace_batch bc = one_batch(a, "svc-c", NULL, c, 1);
            assert_int_equal(store_write_traces(s, &bc), 0);
        }
    }
}

typedef bool (*trace_pred)(int i);
static const lt_trace_query *cur_q;

static int cmp_desc(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    if (lt_start(a) != lt_start(b)) return lt_start(a) > lt_start(b) ? -1 : 1;
    uint8_t ia[16], ib[16];
    tid_of((uint32_t)a, ia);
    tid_of((uint32_t)b, ib);
    return -memcmp(ia, ib, 16);
}

static bool match_q(int i)
{
    const lt_trace_query *q = cur_q;
    if (q->service.len && !lt_str_eq_c(q->service, lt_svc(i)) &&
        !(lt_str_eq_c(q->service, "svc-c") && lt_has_c(i)))
        return false;
    if (q->name.len && !lt_str_eq_c(q->name, lt_name(i))) return false;
    if (q->start_min && lt_start(i) < q->start_min) return false;
    if (q->start_max && lt_start(i) > q->start_max) return false;
    if (q->min_duration_ns && lt_dur(i) < q->min_duration_ns) return false;
    if (q->max_duration_ns && lt_dur(i) > q->max_duration_ns) return false;
    if (q->errors_only && !lt_err(i)) return false;
    if (q->attr_key.len) {
        char want[32];
        bool ok = false;
        if (lt_str_eq_c(q->attr_key, "user.id"))
            snprintf(want, sizeof want, "u%d", i % 7), ok = 1;
        else if (lt_str_eq_c(q->attr_key, "n"))
            snprintf(want, sizeof want, "%d", i), ok = 1;
        else if (lt_str_eq_c(q->attr_key, "flag"))
            snprintf(want, sizeof want, "%s", i % 2 ? "true" : "false"), ok = 1;
        else if (lt_str_eq_c(q->attr_key, "deployment.environment.name"))
            snprintf(want, sizeof want, "%s", lt_env(i)), ok = 1;
        if (!ok || !lt_str_eq_c(q->attr_value, want)) return false;
    }
    return true;
}

static int short_pages; /* pages cut short by a work bound */

/* Pages through q (limit per page) and compares with the expected traces, in order. */
static void check_query(lt_store *s, lt_trace_query q, uint32_t limit)
{
    int want[N_LIST], n_want = 0;
    cur_q = &q;
    for (int i = 0; i < N_LIST; i++)
        if (match_q(i)) want[n_want++] = i;
    qsort(want, (size_t)n_want, sizeof *want, cmp_desc);
    q.limit = limit;
    int got = 0, pages = 0;
    lt_arena *a = arena_new();
    for (;;) {
        lt_trace_list l;
        assert_int_equal(store_list_traces(s, &q, a, &l), 0);
        assert_true(l.n <= limit);
        for (uint32_t k = 0; k < l.n; k++, got++) {
            assert_true(got < n_want);
            uint8_t id[16];
            tid_of((uint32_t)want[got], id);
            assert_memory_equal(l.items[k].trace_id, id, 16);
            assert_int_equal(l.items[k].start_unix_nano, lt_start(want[got]));
            assert_int_equal(l.items[k].end_unix_nano - l.items[k].start_unix_nano,
                             lt_dur(want[got]));
        }
        if (!q.attr_key.len && l.n == limit && got < n_want) assert_true(l.more);
        if (l.more && l.n < limit) short_pages++;
        if (!l.more) break;
        assert_true(++pages < 100);
        q.has_cursor = true;
        if (!q.attr_key.len && l.n) {
            /* without an attribute filter, the next page starts after the last item */
            assert_int_equal(l.next_start, l.items[l.n - 1].start_unix_nano);
            assert_memory_equal(l.next_trace_id, l.items[l.n - 1].trace_id, 16);
        }
        q.cursor_start = l.next_start;
        memcpy(q.cursor_trace_id, l.next_trace_id, 16);
    }
    assert_int_equal(got, n_want);
    arena_free(a);
}

static void test_list_filters(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_list_traces(s, a);
    lt_trace_query q = {0};
    check_query(s, q, 0 ? 1 : 1000);
    check_query(s, q, 7);
    check_query(s, q, 1);
    q = (lt_trace_query){.service = LT_STR("svc-a")};
    check_query(s, q, 5);
    q = (lt_trace_query){.service = LT_STR("svc-c")}; /* a service of a non-root span */
    check_query(s, q, 5);
    q = (lt_trace_query){.service = LT_STR("nobody")};
    check_query(s, q, 5);
    q = (lt_trace_query){.name = LT_STR("chat")};
    check_query(s, q, 4);
    q = (lt_trace_query){.name = LT_STR("step")}; /* not a root name */
    check_query(s, q, 4);
    q = (lt_trace_query){.start_min = lt_start(10), .start_max = lt_start(30)};
    check_query(s, q, 6);
    q = (lt_trace_query){.min_duration_ns = 1500, .max_duration_ns = 4000};
    check_query(s, q, 6);
    q = (lt_trace_query){.errors_only = true};
    check_query(s, q, 3);
    q = (lt_trace_query){.errors_only = true,
                         .service = LT_STR("svc-b"),
                         .name = LT_STR("chat"),
                         .min_duration_ns = 200};
    check_query(s, q, 2);
    q = (lt_trace_query){.attr_key = LT_STR("user.id"), .attr_value = LT_STR("u3")};
    check_query(s, q, 3);
    q = (lt_trace_query){.attr_key = LT_STR("n"), .attr_value = LT_STR("42")};
    check_query(s, q, 3);
    q = (lt_trace_query){
        .attr_key = LT_STR("flag"), .attr_value = LT_STR("true"), .errors_only = true};
    check_query(s, q, 2);
    q = (lt_trace_query){.attr_key = LT_STR("deployment.environment.name"),
                         .attr_value = LT_STR("prod")}; /* a resource attribute */
    check_query(s, q, 4);
    q = (lt_trace_query){.attr_key = LT_STR("user.id"), .attr_value = LT_STR("nobody")};
    check_query(s, q, 4);
    assert_true(short_pages > 0); /* the attribute filter's bound was reached */
    /* limits: 0 means 20, more than 1000 means 1000 */
    q = (lt_trace_query){0};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 20);
    assert_true(l.more);
    q.limit = 5000;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, N_LIST);
    assert_false(l.more);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

static void test_operations_services(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    for (int round = 0; round < 2; round++) {
        lt_span sp[4] = {mk_span(1, 1, 0, "chat gpt-4o", T0, T0 + 1, 0),
                         mk_span(1, 2, 1, "execute_tool", T0, T0 + 1, 0),
                         mk_span(1, 3, 1, "chat gpt-4o", T0, T0 + 1, 0),
                         mk_span(1, 4, 1, "chat gpt-4o", T0, T0 + 1, 0)};
        sp[0].kind = LT_KIND_CLIENT;
        sp[2].kind = LT_KIND_CLIENT;
        sp[3].kind = LT_KIND_SERVER;
        lt_trace_batch b = one_batch(a, "zeta", NULL, sp, 4);
        assert_int_equal(store_write_traces(s, &b), 0);
        lt_span sp2[1] = {mk_span(2, 1, 0, "GET /", T0, T0 + 1, 0)};
        lt_trace_batch b2 = one_batch(a, "alpha", NULL, sp2, 1);
        assert_int_equal(store_write_traces(s, &b2), 0);
    }
    lt_str *sv;
    uint32_t n;
    assert_int_equal(store_list_services(s, a, &sv, &n), 0);
    assert_int_equal(n, 2);
    assert_true(lt_str_eq_c(sv[0], "alpha"));
    assert_true(lt_str_eq_c(sv[1], "zeta"));
    lt_operation *ops;
    assert_int_equal(store_list_operations(s, LT_STR("zeta"), a, &ops, &n), 0);
    assert_int_equal(n, 3);
    assert_true(lt_str_eq_c(ops[0].name, "chat gpt-4o"));
    assert_int_equal(ops[0].span_kind, LT_KIND_SERVER);
    assert_true(lt_str_eq_c(ops[1].name, "chat gpt-4o"));
    assert_int_equal(ops[1].span_kind, LT_KIND_CLIENT);
    assert_true(lt_str_eq_c(ops[2].name, "execute_tool"));
    assert_int_equal(store_list_operations(s, LT_STR("nobody"), a, &ops, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_list_operations(s, LT_STR_NULL, a, &ops, &n), 0);
    assert_int_equal(n, 4);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- persistence --------------------------------------------------------------------- */

static void write_simple(lt_store *s, lt_arena *a, uint32_t trace, int n_spans, uint64_t start,
                         size_t body)
{
    lt_span *sp = arena_calloc(a, (size_t)n_spans, sizeof *sp);
    for (int i = 0; i < n_spans; i++) {
        sp[i] = mk_span(trace, (uint64_t)i + 1, i ? 1 : 0, i ? "child" : "root",
                        start + (uint64_t)i, start + 1000, 0);
        if (body) {
            /* characters that neither repeat nor compress much: the bytes reach the disk */
            char *big = arena_alloc(a, body + 1);
            uint64_t seed[2] = {trace, (uint64_t)i}, x = hash64(seed, sizeof seed, 7) | 1;
            for (size_t k = 0; k < body; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                big[k] = (char)(' ' + x % 95);
            }
            big[body] = 0;
            lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
            kv[0] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(big)};
            sp[i].attrs = (lt_attrs){kv, 1};
        }
    }
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, (uint32_t)n_spans);
    assert_int_equal(store_write_traces(s, &b), 0);
}

static uint32_t spans_of(lt_store *s, uint32_t trace)
{
    uint8_t id[16];
    tid_of(trace, id);
    lt_arena *a = arena_new();
    lt_trace_data d;
    int rc = store_get_trace(s, id, a, &d);
    uint32_t n = rc == 0 ? (uint32_t)d.spans.n_spans : 0;
    if (rc) assert_int_equal(rc, LT_ENOTFOUND);
    arena_free(a);
    return n;
}

static void test_reopen_and_index_flush(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    /* enough traces for trace_idx flushes: the early ones are then found through it */
    enum { PER = 100, N = (INDEX_FLUSH_MIN * 2 / PER + 5) * PER };
    for (uint32_t base = 0; base < N; base += PER) {
        lt_span sp[PER];
        for (uint32_t i = 0; i < PER; i++)
            sp[i] = mk_span(base + i, 1, 0, "root", T0 + base + i, T0 + base + i + 10, 0);
        lt_trace_batch b = one_batch(a, "svc", NULL, sp, PER);
        assert_int_equal(store_write_traces(s, &b), 0);
        arena_reset(a);
    }
    sq_store *q = (sq_store *)s;
    assert_true(q->idx_entries >= INDEX_FLUSH_MIN);
    assert_true(q->pending.n < N);
    for (uint32_t t = 0; t < N; t += 97)
        assert_int_equal(spans_of(s, t), 1);
    /* more spans of an early (indexed) and a late (pending) trace: same summaries */
    lt_span more[2] = {mk_span(3, 2, 1, "child", T0, T0 + 20, LT_STATUS_ERROR),
                       mk_span(N - 1, 2, 1, "child", T0, T0 + 20, 0)};
    lt_trace_batch bm = one_batch(a, "svc-2", NULL, more, 2);
    assert_int_equal(store_write_traces(s, &bm), 0);
    store_close(s);

    s = open_store(dir);
    assert_int_equal(spans_of(s, 3), 2);
    assert_int_equal(spans_of(s, N - 1), 2);
    assert_int_equal(spans_of(s, N / 2), 1);
    /* after reopening, pending summaries are found again (no second summary) */
    lt_span more2[1] = {mk_span(N - 1, 3, 1, "child", T0, T0 + 20, 0)};
    lt_trace_batch bm2 = one_batch(a, "svc", NULL, more2, 1);
    assert_int_equal(store_write_traces(s, &bm2), 0);
    assert_int_equal(spans_of(s, N - 1), 3);
    lt_trace_query lq = {.limit = 1000, .name = LT_STR("root"), .start_min = T0};
    lt_trace_list l;
    uint32_t seen = 0, with3 = 0, with2 = 0, cut = 0;
    for (;;) {
        assert_int_equal(store_list_traces(s, &lq, a, &l), 0);
        for (uint32_t i = 0; i < l.n; i++) {
            seen++;
            uint8_t id3[16], idl[16];
            tid_of(3, id3);
            tid_of(N - 1, idl);
            if (!memcmp(l.items[i].trace_id, id3, 16)) {
                with2++;
                assert_int_equal(l.items[i].span_count, 2);
                assert_int_equal(l.items[i].error_count, 1);
                assert_int_equal(l.items[i].n_services, 2);
            }
            if (!memcmp(l.items[i].trace_id, idl, 16)) {
                with3++;
                assert_int_equal(l.items[i].span_count, 3);
            }
        }
        if (!l.more) break;
        lq.has_cursor = true;
        lq.cursor_start = l.next_start;
        memcpy(lq.cursor_trace_id, l.next_trace_id, 16);
        arena_reset(a);
    }
    assert_int_equal(seen, N);
    assert_int_equal(with2, 1);
    assert_int_equal(with3, 1);
    /* a rare match pages through many cut-short pages (the bound on examined summaries) */
    lq = (lt_trace_query){.limit = 10, .min_duration_ns = 11};
    seen = 0;
    for (;;) {
        assert_int_equal(store_list_traces(s, &lq, a, &l), 0);
        cut += l.more && l.n < lq.limit;
        seen += l.n;
        if (!l.more) break;
        lq.has_cursor = true;
        lq.cursor_start = l.next_start;
        memcpy(lq.cursor_trace_id, l.next_trace_id, 16);
    }
    assert_int_equal(seen, 2);
    assert_true(cut > 10);
    lt_str *sv;
    uint32_t n;
    assert_int_equal(store_list_services(s, a, &sv, &n), 0);
    assert_int_equal(n, 2);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* A second opener (the CLI while `serve` runs) reads, and changes nothing. */
static void test_second_process_reads_only(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *w = open_store(dir);
    lt_arena *a = arena_new();
    write_simple(w, a, 1, 4, T0, 10);
    lt_store *r = open_store(dir); /* the lock is per open file: this one is refused it */
    assert_true(((sq_store *)r)->read_only);
    write_simple(w, a, 2, 3, T0 + 1, 10); /* after the reader opened: in the writer's map */
    assert_int_equal(spans_of(r, 1), 4);
    assert_int_equal(spans_of(r, 2), 3);
    lt_trace_query q = {0};
    lt_trace_list l;
    assert_int_equal(store_list_traces(r, &q, a, &l), 0);
    assert_int_equal(l.n, 2);
    uint64_t used_r = 0, used_w = 0;
    assert_int_equal(store_bytes_used(r, &used_r), 0);
    assert_int_equal(store_bytes_used(w, &used_w), 0);
    assert_int_equal(used_r, used_w);
    lt_span sp[1] = {mk_span(3, 1, 0, "x", T0, T0 + 1, 0)};
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, 1);
    assert_int_equal(store_write_traces(r, &b), LT_EBUSY);
    lt_retention ret = {.max_bytes = 1};
    assert_int_equal(store_enforce_retention(r, &ret, time_now_ns()), LT_EBUSY);
    store_close(r);
    write_simple(w, a, 4, 2, T0 + 2, 10);
    store_close(w);
    w = open_store(dir); /* the lock is free again */
    assert_false(((sq_store *)w)->read_only);
    for (uint32_t t = 1; t <= 4; t++)
        assert_int_equal(spans_of(w, t), t == 3 ? 0 : t == 1 ? 4 : t == 2 ? 3 : 2);
    store_close(w);
    arena_free(a);
    remove_dir(dir);
}

/* ---- retention ------------------------------------------------------------------------ */

static void test_retention_by_age(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    for (uint32_t t = 0; t < 20; t++)
        write_simple(s, a, t, 5, T0 + t, 0);
    lt_log_record lr[2] = {mk_log(3, 1, T0, "old log"), mk_log(25, 1, T0, "log of a new trace")};
    lt_log_batch lb = one_log_batch(a, "svc", lr, 2);
    assert_int_equal(store_write_logs(s, &lb), 0);
    usleep(20000);
    uint64_t mid = time_now_ns();
    usleep(20000);
    for (uint32_t t = 20; t < 30; t++)
        write_simple(s, a, t, 5, T0 + t, 0);
    /* a piece of old trace 5 arrives late: the trace keeps only that piece */
    lt_span late[1] = {mk_span(5, 9, 1, "late", T0 + 5, T0 + 50, 0)};
    lt_trace_batch bl = one_batch(a, "svc", NULL, late, 1);
    assert_int_equal(store_write_traces(s, &bl), 0);
    uint64_t before = 0, after = 0;
    assert_int_equal(store_bytes_used(s, &before), 0);
    lt_retention r = {.max_age_ns = 1000000000ull};
    assert_int_equal(store_enforce_retention(s, &r, mid + r.max_age_ns), 0);
    assert_int_equal(store_bytes_used(s, &after), 0);
    assert_true(after <= before);
    for (uint32_t t = 0; t < 20; t++)
        assert_int_equal(spans_of(s, t), t == 5 ? 1 : 0);
    for (uint32_t t = 20; t < 30; t++)
        assert_int_equal(spans_of(s, t), 5);
    /* trace 25's log record was in the old batch: gone; the trace is still there */
    uint8_t id[16];
    tid_of(25, id);
    lt_trace_data d;
    assert_int_equal(store_get_trace(s, id, a, &d), 0);
    assert_int_equal(d.logs.n_records, 0);
    lt_trace_query q = {.limit = 100};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 11);
    for (uint32_t i = 0; i < l.n; i++) {
        assert_int_equal(store_get_trace(s, l.items[i].trace_id, a, &d), 0);
    }
    /* nothing is older than a day: nothing more goes */
    r.max_age_ns = 86400ull * 1000000000ull;
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns()), 0);
    for (uint32_t t = 20; t < 30; t++)
        assert_int_equal(spans_of(s, t), 5);
    /* the store takes writes after retention */
    write_simple(s, a, 40, 3, T0 + 40, 0);
    assert_int_equal(spans_of(s, 40), 3);
    store_close(s);
    s = open_store(dir);
    assert_int_equal(spans_of(s, 40), 3);
    assert_int_equal(spans_of(s, 1), 0);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

static void test_retention_by_size(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    const uint64_t max = 1u << 20;
    lt_retention r = {.max_bytes = max};
    /* the ingest queue enforces retention from the start: segments are sized for it */
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns()), 0);
    enum { TRACES = 600 }; /* 6 MB of strings, compressed to about 5 MB */
    for (uint32_t t = 0; t < TRACES; t++) {
        write_simple(s, a, t, 5, T0 + t, 2000);
        arena_reset(a);
    }
    store_close(s);
    uint64_t dir_before = dir_size(dir), db_before = file_size(dir, "llmtrace.db");
    assert_true(dir_before > 4 * max);
    s = open_store(dir);
    uint64_t used = 0;
    assert_int_equal(store_bytes_used(s, &used), 0);
    assert_true(used > 4 * max);
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns()), 0);
    assert_int_equal(store_bytes_used(s, &used), 0);
    assert_true(used <= max);
    assert_int_equal(spans_of(s, TRACES - 1), 5);
    assert_int_equal(spans_of(s, 0), 0);
    lt_trace_query q = {.limit = 1000};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_true(l.n > 10 && l.n < TRACES);
    lt_trace_data d;
    for (uint32_t i = 0; i < l.n; i++)
        assert_int_equal(store_get_trace(s, l.items[i].trace_id, a, &d), 0);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    uint64_t dir_after = dir_size(dir), db_after = file_size(dir, "llmtrace.db");
    assert_true(dir_after < dir_before / 3);
    assert_true(db_after < db_before);
    store_close(open_store(dir));
    arena_free(a);
    remove_dir(dir);
}

/* ---- concurrency, faults ------------------------------------------------------------- */

typedef struct {
    lt_store *s;
    atomic_int done;
    atomic_int failures;
    atomic_long reads;
} conc_state;

static void *writer_thread(void *p)
{
    conc_state *c = p;
    lt_arena *a = arena_new();
    for (uint32_t k = 0; k < 300; k++) {
        lt_span sp[50];
        for (uint32_t i = 0; i < 50; i++)
            sp[i] = mk_span(k * 10 + i / 5, i % 5 + 1, i % 5 ? 1 : 0, "op", T0 + k * 10 + i / 5,
                            T0 + k * 10 + 100, 0);
        lt_trace_batch b = one_batch(a, "svc", NULL, sp, 50);
        if (store_write_traces(c->s, &b)) c->failures++;
        arena_reset(a);
    }
    arena_free(a);
    atomic_store(&c->done, 1);
    return NULL;
}

static void *reader_thread(void *p)
{
    conc_state *c = p;
    lt_arena *a = arena_new();
    while (!atomic_load(&c->done)) {
        lt_trace_query q = {.limit = 30};
        lt_trace_list l;
        if (store_list_traces(c->s, &q, a, &l)) {
            c->failures++;
            break;
        }
        for (uint32_t i = 0; i < l.n; i++) {
            lt_trace_data d;
            if (store_get_trace(c->s, l.items[i].trace_id, a, &d) ||
                d.spans.n_spans != l.items[i].span_count || l.items[i].span_count != 5)
                c->failures++;
            c->reads++;
        }
        uint64_t used;
        if (store_bytes_used(c->s, &used)) c->failures++;
        arena_reset(a);
    }
    arena_free(a);
    return NULL;
}

static void test_concurrent_reader(void **state)
{
    (void)state;
    char *dir = make_dir();
    conc_state c = {.s = open_store(dir)};
    pthread_t w, r1, r2;
    pthread_create(&r1, NULL, reader_thread, &c);
    pthread_create(&r2, NULL, reader_thread, &c);
    pthread_create(&w, NULL, writer_thread, &c);
    pthread_join(w, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    assert_int_equal(c.failures, 0);
    assert_true(c.reads > 0);
    assert_int_equal(spans_of(c.s, 2999), 5);
    store_close(c.s);
    remove_dir(dir);
}

static void *retention_thread(void *p)
{
    conc_state *c = p;
    lt_retention r = {.max_bytes = 512 << 10, .max_age_ns = 3600ull * 1000000000ull};
    while (!atomic_load(&c->done)) {
        if (store_enforce_retention(c->s, &r, time_now_ns())) c->failures++;
        usleep(1000);
    }
    return NULL;
}

/* Readers that tolerate traces going away between list and get (retention runs). */
static void *tolerant_reader(void *p)
{
    conc_state *c = p;
    lt_arena *a = arena_new();
    while (!atomic_load(&c->done)) {
        lt_trace_query q = {.limit = 30};
        lt_trace_list l;
        if (store_list_traces(c->s, &q, a, &l)) c->failures++;
        for (uint32_t i = 0; i < l.n; i++) {
            lt_trace_data d;
            int rc = store_get_trace(c->s, l.items[i].trace_id, a, &d);
            if (rc && rc != LT_ENOTFOUND) c->failures++;
            c->reads++;
        }
        arena_reset(a);
    }
    arena_free(a);
    return NULL;
}

static void test_retention_during_writes(void **state)
{
    (void)state;
    char *dir = make_dir();
    conc_state c = {.s = open_store(dir)};
    pthread_t w, r, k;
    pthread_create(&r, NULL, tolerant_reader, &c);
    pthread_create(&k, NULL, retention_thread, &c);
    pthread_create(&w, NULL, writer_thread, &c);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    pthread_join(k, NULL);
    assert_int_equal(c.failures, 0);
    /* room for the empty schema (about 100 KB) and a whole segment (64 KB of bodies, with
     * their rows about 180 KB): retention frees whole segments, the newest included when
     * they do not fit */
    lt_retention ret = {.max_bytes = 512 << 10};
    assert_int_equal(store_enforce_retention(c.s, &ret, time_now_ns()), 0);
    uint64_t used;
    assert_int_equal(store_bytes_used(c.s, &used), 0);
    assert_true(used <= ret.max_bytes);
    assert_int_equal(spans_of(c.s, 2999), 5);
    assert_int_equal(spans_of(c.s, 0), 0);
    lt_arena *a = arena_new();
    lt_trace_query q = {.limit = 1000};
    lt_trace_list l;
    assert_int_equal(store_list_traces(c.s, &q, a, &l), 0);
    assert_true(l.n > 0);
    for (uint32_t i = 0; i < l.n; i++) {
        lt_trace_data d;
        assert_int_equal(store_get_trace(c.s, l.items[i].trace_id, a, &d), 0);
        assert_int_equal(d.spans.n_spans, l.items[i].span_count);
    }
    arena_free(a);
    store_close(c.s);
    remove_dir(dir);
}

static void test_disk_full(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_simple(s, a, 1, 10, T0, 100);
    sq_store *q = (sq_store *)s;
    uint64_t seg0 = q->cur_size;
    /* the database may not grow: SQLITE_FULL */
    int64_t pages = 0;
    assert_int_equal(sq_query_int(q->wdb, "PRAGMA page_count", &pages), 0);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
    assert_int_equal(sq_exec_sql(q->wdb, sql), 0);
    lt_span sp[200];
    for (int i = 0; i < 200; i++)
        sp[i] = mk_span(2 + (uint32_t)i % 20, (uint64_t)i + 1, 0, "x", T0, T0 + 1, 0);
    lt_trace_batch b = one_batch(a, "other-service", NULL, sp, 200);
    assert_int_equal(store_write_traces(s, &b), LT_EFULL);
    assert_int_equal(q->cur_size, seg0);
    assert_int_equal(file_size(dir, "blobs-00000001.seg"), seg0);
    for (uint32_t t = 2; t < 22; t++)
        assert_int_equal(spans_of(s, t), 0);
    lt_str *sv;
    uint32_t n;
    assert_int_equal(store_list_services(s, a, &sv, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sq_exec_sql(q->wdb, "PRAGMA max_page_count=1073741823"), 0);
    /* the segment may not grow: EFBIG */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = seg0 + 100;
    setrlimit(RLIMIT_FSIZE, &lim);
    int rc = store_write_traces(s, &b);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(rc, LT_EFULL);
    assert_int_equal(file_size(dir, "blobs-00000001.seg"), seg0);
    for (uint32_t t = 2; t < 22; t++)
        assert_int_equal(spans_of(s, t), 0);
    /* space again: the same write goes through, whole */
    assert_int_equal(store_write_traces(s, &b), 0);
    for (uint32_t t = 2; t < 22; t++)
        assert_int_equal(spans_of(s, t), 10);
    assert_int_equal(spans_of(s, 1), 10);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* Every allocation of a write or a read may fail: the write then stores nothing and says
 * LT_ENOMEM, the read says LT_ENOMEM, and the store goes on working. */
static void test_allocation_failures(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_simple(s, a, 1, 3, T0, 10);
    int ok_writes = 0;
    for (long k = 0; k < 400 && ok_writes < 3; k++) {
        uint32_t trace = 1000 + (uint32_t)k;
        lt_span *sp = arena_calloc(a, 30, sizeof *sp);
        for (int i = 0; i < 30; i++)
            sp[i] =
                mk_span(trace + (uint32_t)(i % 3) * 100000, (uint64_t)i + 1, 0, "x", T0, T0 + 1, 0);
        lt_trace_batch b = one_batch(a, k % 2 ? "svc-new" : "svc", NULL, sp, 30);
        lt_log_record lr[2] = {mk_log(trace, 1, T0, "l"), mk_log(UINT32_MAX, 0, T0, "u")};
        lt_log_batch lb = one_log_batch(a, "svc", lr, 2);
        alloc_fail_after(k);
        int rc = store_write_traces(s, &b), lrc = store_write_logs(s, &lb);
        alloc_fail_after(-1);
        if (rc == 0) {
            ok_writes++;
            assert_int_equal(spans_of(s, trace), 10);
        } else {
            assert_int_equal(rc, LT_ENOMEM);
            assert_int_equal(spans_of(s, trace), 0);
        }
        assert_true(lrc == 0 || lrc == LT_ENOMEM);
        arena_reset(a);
    }
    assert_true(ok_writes > 0);
    uint8_t id[16];
    tid_of(1, id);
    int ok_reads = 0;
    for (long k = 0; k < 400 && ok_reads < 3; k++) {
        lt_arena *ra = arena_new();
        lt_trace_data d;
        lt_trace_list l;
        lt_trace_query q = {.attr_key = LT_STR("none"), .attr_value = LT_STR("x")};
        alloc_fail_after(k);
        int rc = store_get_trace(s, id, ra, &d);
        int lrc = store_list_traces(s, &q, ra, &l);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        assert_true(lrc == 0 || lrc == LT_ENOMEM);
        if (rc == 0) {
            ok_reads++;
            assert_int_equal(d.spans.n_spans, 3);
        }
        arena_free(ra);
    }
    assert_true(ok_reads > 0);
    write_simple(s, a, 2, 3, T0, 10);
    assert_int_equal(spans_of(s, 2), 3);
    store_close(s);
    s = open_store(dir);
    assert_int_equal(spans_of(s, 2), 3);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

static void test_kill_during_ingest(void **state)
{
    (void)state;
    char *dir = make_dir();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        lt_store *s = NULL;
        char err[256];
        if (store_open(dir, &s, err, sizeof err)) _exit(1);
        lt_arena *a = arena_new();
        for (uint32_t k = 0;; k++) {
            lt_span sp[20];
            for (uint32_t i = 0; i < 20; i++)
                sp[i] = mk_span(k, i + 1, i ? 1 : 0, "op", T0 + k, T0 + k + 10, 0);
            lt_trace_batch b = one_batch(a, "svc", NULL, sp, 20);
            if (store_write_traces(s, &b)) _exit(2);
            if (write(fds[1], &k, sizeof k) != sizeof k) _exit(3);
            arena_reset(a);
        }
    }
    close(fds[1]);
    uint32_t k = 0, acked = 0;
    bool any = false;
    while (read(fds[0], &k, sizeof k) == sizeof k) {
        acked = k;
        any = true;
        if (k >= 300) break;
    }
    kill(pid, SIGKILL);
    while (read(fds[0], &k, sizeof k) == sizeof k)
        acked = k;
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    assert_true(any);
    lt_store *s = open_store(dir);
    for (uint32_t t = 0; t <= acked; t++)
        assert_int_equal(spans_of(s, t), 20);
    /* the store goes on from where the acknowledged data ends */
    lt_arena *a = arena_new();
    write_simple(s, a, 100000, 4, T0, 10);
    assert_int_equal(spans_of(s, 100000), 4);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

static void test_segment_lost_tail(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_simple(s, a, 1, 3, T0, 10);
    write_simple(s, a, 2, 3, T0, 10);
    uint64_t keep = ((sq_store *)s)->cur_size;
    write_simple(s, a, 3, 3, T0, 10);
    store_close(s);
    char path[1024];
    snprintf(path, sizeof path, "%s/blobs-00000001.seg", dir);
    assert_int_equal(truncate(path, (off_t)keep - 5), 0);
    s = open_store(dir); /* logs an error: the last two batches lost their bodies */
    assert_int_equal(spans_of(s, 1), 3);
    assert_int_equal(spans_of(s, 2), 0);
    assert_int_equal(spans_of(s, 3), 0);
    write_simple(s, a, 4, 2, T0, 10);
    assert_int_equal(spans_of(s, 4), 2);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* A closed store of five traces (four spans each, their prompts in the content table),
 * log records with and without a trace, checked clean. */
static char *check_store(void)
{
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    for (uint32_t t = 1; t <= 5; t++)
        write_simple(s, a, t, 4, T0 + t, 400);
    lt_log_record lr[3] = {mk_log(1, 1, T0, "on a span"), mk_log(9, 0, T0, "before its trace"),
                           mk_log(UINT32_MAX, 0, T0, "no trace")};
    lt_log_batch lb = one_log_batch(a, "svc", lr, 3);
    assert_int_equal(store_write_logs(s, &lb), 0);
    assert_check_ok(s, dir, 20);
    store_close(s);
    arena_free(a);
    return dir;
}

static void db_exec(const char *dir, const char *sql)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/llmtrace.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* Checks the closed store dir read-only (as `llmtrace check` does: nothing is recovered)
 * and expects a problem described with what. */
static void assert_dir_finds(const char *dir, const char *what)
{
    lt_store *s = NULL;
    char err[256];
    assert_int_equal(store_open_read_only(dir, &s, err, sizeof err), 0);
    assert_check_finds(s, what);
    store_close(s);
}

/* store_check finds each kind of damage: a segment cut short, a corrupted body, lost span
 * rows, lost content, a second summary of a trace, a missing resource, a damaged page;
 * and the read-only opener changes nothing. */
static void test_check_detects(void **state)
{
    (void)state;
    char path[1024];
    /* a segment that lost its tail: the batches and rows past it */
    char *dir = check_store();
    snprintf(path, sizeof path, "%s/blobs-00000001.seg", dir);
    uint64_t size = file_size(dir, "blobs-00000001.seg");
    assert_int_equal(truncate(path, (off_t)size - 10), 0);
    assert_dir_finds(dir, "lies past the end of the segment");
    assert_dir_finds(dir, "the batch ends at");
    assert_int_equal(file_size(dir, "blobs-00000001.seg"), size - 10); /* not recovered */
    remove_dir(dir);
    /* bytes of a body overwritten */
    dir = check_store();
    snprintf(path, sizeof path, "%s/blobs-00000001.seg", dir);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    fseek(f, 3, SEEK_SET);
    fwrite("\xff\xff\xff\xff\xff\xff", 1, 6, f);
    fclose(f);
    assert_dir_finds(dir, "span row 1: ");
    remove_dir(dir);
    /* span rows deleted */
    dir = check_store();
    db_exec(dir, "DELETE FROM spans WHERE id IN (2, 3)");
    assert_dir_finds(dir, "its summary counts 4 spans, 2 are stored");
    remove_dir(dir);
    /* a span row no summary lists */
    dir = check_store();
    db_exec(dir, "UPDATE spans SET trace_row = 999 WHERE id = 5");
    assert_dir_finds(dir, "20 span rows, 19 of them listed");
    remove_dir(dir);
    /* content lost */
    dir = check_store();
    db_exec(dir, "DELETE FROM content");
    assert_dir_finds(dir, "its stored content is missing");
    remove_dir(dir);
    /* a trace with two summaries (the writer lost track of the first) */
    dir = check_store();
    db_exec(dir, "INSERT INTO traces(trace_id, start_ns, end_ns, span_count, error_count,"
                 " services, spans, logs) SELECT trace_id, start_ns, end_ns, 0, 0, services,"
                 " x'', x'' FROM traces WHERE id = 1");
    assert_dir_finds(dir, "trace ids with more than one summary");
    assert_dir_finds(dir, "lists no span and no log record");
    remove_dir(dir);
    /* a resource gone */
    dir = check_store();
    db_exec(dir, "DELETE FROM resources");
    assert_dir_finds(dir, "resource or scope is missing");
    remove_dir(dir);
    /* an index that disagrees with its table */
    dir = check_store();
    db_exec(dir, "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql ="
                 " 'CREATE INDEX traces_start ON traces(end_ns, trace_id)'"
                 " WHERE name = 'traces_start'");
    assert_dir_finds(dir, "database: ");
    remove_dir(dir);
    /* a log record that lost its summary */
    dir = check_store();
    db_exec(dir, "UPDATE logs SET trace_row = NULL WHERE id = (SELECT max(id) FROM logs)");
    assert_dir_finds(dir, "it has a trace id but no trace summary");
    remove_dir(dir);
}

/* Opening read-only: an existing store only; writes refused; a running writer's data seen. */
static void test_check_read_only_open(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *ro = NULL;
    char err[256], missing[1100];
    snprintf(missing, sizeof missing, "%s/none", dir);
    assert_int_equal(store_open_read_only(missing, &ro, err, sizeof err), LT_ENOTFOUND);
    struct stat st;
    assert_int_not_equal(stat(missing, &st), 0); /* nothing created */
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_simple(s, a, 1, 3, T0, 300);
    assert_int_equal(store_open_read_only(dir, &ro, err, sizeof err), 0);
    write_simple(s, a, 2, 3, T0, 300);
    assert_check_ok(ro, NULL, 6);
    lt_trace_batch b = one_batch(a, "svc", NULL, NULL, 0);
    lt_span sp = mk_span(3, 1, 0, "x", T0, T0 + 1, 0);
    b.rs[0].scopes[0].spans = &sp;
    b.rs[0].scopes[0].n_spans = 1;
    b.n_spans = 1;
    assert_int_equal(store_write_traces(ro, &b), LT_EBUSY);
    store_close(ro);
    assert_check_ok(s, dir, 6);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* Runs SELECT fn(?1, ?2) on the writer connection with blob a and blob (or integer) b. */
static void sql_fn(sq_store *q, const char *fn, const lt_buf *a, const lt_buf *b, int64_t bi,
                   lt_buf *out)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s(?1, ?2)", fn);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(q->wdb, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, a->len ? a->data : "", (int)a->len, SQLITE_STATIC);
    if (b)
        sqlite3_bind_blob(st, 2, b->len ? b->data : "", (int)b->len, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 2, bi);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    buf_reset(out);
    buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
}

static void ranges_of(lt_buf *b, int n, const int64_t *v)
{
    buf_reset(b);
    for (int i = 0; i < n; i++)
        buf_range(b, v[2 * i], v[2 * i + 1]);
}

static void assert_ranges(const lt_buf *b, int n, const int64_t *v)
{
    const uint8_t *p = (const uint8_t *)b->data, *end = p + b->len;
    int64_t f, l;
    int k = 0;
    while (sq_next_range(&p, end, &f, &l)) {
        assert_true(k < n);
        assert_int_equal(f, v[2 * k]);
        assert_int_equal(l, v[2 * k + 1]);
        k++;
    }
    assert_int_equal(k, n);
    assert_true(p == end);
}

static void test_internals(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    sq_store *q = (sq_store *)s;
    lt_buf a = {0}, b = {0}, r = {0};
    /* ranges: a range that continues the last one joins it */
    ranges_of(&a, 2, (int64_t[]){1, 5, 10, 12});
    ranges_of(&b, 2, (int64_t[]){13, 20, 30, 30});
    sql_fn(q, "lt_ranges_append", &a, &b, 0, &r);
    assert_ranges(&r, 3, (int64_t[]){1, 5, 10, 20, 30, 30});
    buf_reset(&a);
    sql_fn(q, "lt_ranges_append", &a, &b, 0, &r);
    assert_ranges(&r, 2, (int64_t[]){13, 20, 30, 30});
    ranges_of(&a, 3, (int64_t[]){1, 5, 10, 20, 30, 30});
    sql_fn(q, "lt_ranges_prune", &a, NULL, 3, &r);
    assert_ranges(&r, 3, (int64_t[]){4, 5, 10, 20, 30, 30});
    sql_fn(q, "lt_ranges_prune", &a, NULL, 10, &r);
    assert_ranges(&r, 2, (int64_t[]){11, 20, 30, 30});
    sql_fn(q, "lt_ranges_prune", &a, NULL, 30, &r);
    assert_int_equal(r.len, 0);
    /* services: sorted union, capped */
    lt_str x[] = {LT_STR("alpha"), LT_STR("gamma")},
           y[] = {LT_STR(""), LT_STR("beta"), LT_STR("gamma")};
    buf_reset(&a);
    buf_reset(&b);
    services_encode(&a, x, 2);
    services_encode(&b, y, 3);
    sql_fn(q, "lt_services_merge", &a, &b, 0, &r);
    const uint8_t *p = (const uint8_t *)r.data, *end = p + r.len;
    const char *want[] = {"", "alpha", "beta", "gamma"};
    lt_str sv;
    int k = 0;
    while (sq_next_service(&p, end, &sv))
        assert_true(lt_str_eq_c(sv, want[k++]));
    assert_int_equal(k, 4);
    lt_str many[100];
    char names[100][8];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "s%03d", i);
        many[i] = lt_str_c(names[i]);
    }
    buf_reset(&a);
    buf_reset(&b);
    services_encode(&a, many, 50);
    services_encode(&b, many + 50, 50);
    sql_fn(q, "lt_services_merge", &a, &b, 0, &r);
    p = (const uint8_t *)r.data;
    end = p + r.len;
    for (k = 0; sq_next_service(&p, end, &sv); k++)
        assert_true(lt_str_eq_c(sv, names[k]));
    assert_int_equal(k, MAX_SERVICES);
    /* the trace map: puts, deletes (backward shift), gets */
    tmap m = {0};
    uint8_t id[16];
    for (uint32_t i = 0; i < 20000; i++) {
        tid_of(i, id);
        assert_int_equal(tmap_put(&m, id, i + 1), 0);
    }
    for (uint32_t i = 0; i < 20000; i += 3) {
        tid_of(i, id);
        tmap_del(&m, id);
    }
    for (uint32_t i = 0; i < 20000; i++) {
        tid_of(i, id);
        assert_int_equal(tmap_get(&m, id), i % 3 ? (int64_t)i + 1 : 0);
    }
    assert_int_equal(m.n, 20000 - 6667);
    tmap_free(&m);
    buf_free(&a);
    buf_free(&b);
    buf_free(&r);
    store_close(s);
    remove_dir(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    lt_store *s = NULL;
    char err[256];
    /* ClickHouse URLs: refused when malformed, each with its reason */
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"clickhouse://localhost:8123", "no database"},
        {"clickhouse://localhost:99999/db", "port"},
        {"clickhouse://localhost:8123/bad-name", "database name"},
        {"clickhouse://u:%zz@localhost/db", "percent-encoding"},
        {"clickhouse:///db", "no host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(store_open(bad[i].url, &s, err, sizeof err), LT_EINVAL);
        assert_null(s);
        assert_non_null(strstr(err, bad[i].why));
    }
    assert_int_equal(store_open("ftp://host/db", &s, err, sizeof err), LT_EUNSUPPORTED);
    /* a ClickHouse that is not there opens (it may come up later); calls fail retryably */
    assert_int_equal(store_open("clickhouse://127.0.0.1:1/db", &s, err, sizeof err), 0);
    lt_arena *a = arena_new();
    lt_str *svc;
    uint32_t n_svc;
    assert_int_equal(store_list_services(s, a, &svc, &n_svc), LT_EIO);
    arena_free(a);
    store_close(s);
    s = NULL;
    assert_int_equal(store_open("", &s, err, sizeof err), LT_EINVAL);
    char *dir = make_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    snprintf(path, sizeof path, "%s/file/sub", dir);
    assert_int_equal(store_open(path, &s, err, sizeof err), LT_EIO);
    assert_non_null(strstr(err, "cannot create"));
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    /* a nested directory is created */
    snprintf(path, sizeof path, "%s/a", dir);
    char nested[1100];
    snprintf(nested, sizeof nested, "%s/b", path);
    s = open_store(nested);
    store_close(s);
    store_close(NULL);
    remove_dir(strdup(nested));
    remove_dir(strdup(path));
    remove_dir(dir);
}

/* ---- GenAI views ------------------------------------------------------------------------- */

/* VSPEC's defaults are overridden on purpose */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

static lt_value val_int(int64_t i)
{
    return (lt_value){.type = LT_VAL_INT, .u.i = i};
}

static lt_value val_dbl(double d)
{
    return (lt_value){.type = LT_VAL_DOUBLE, .u.d = d};
}

/* A view as the normaliser gives it: NULL strings, negative tokens, NaN cost and negative
 * TTFT are absent. */
typedef struct {
    const char *req, *resp, *provider, *op, *agent, *conv, *user, *cost_source, *error_type;
    int64_t tok[5];
    double cost, ttft;
} vspec;

#define VSPEC(...) ((vspec){.tok = {-1, -1, -1, -1, -1}, .cost = NAN, .ttft = -1, __VA_ARGS__})

static lt_genai *mk_view(lt_arena *a, const vspec *v)
{
    lt_genai *g = arena_calloc(a, 1, sizeof *g);
    const struct {
        genai_field f;
        const char *s;
    } strs[] = {{GA_REQUEST_MODEL, v->req},    {GA_RESPONSE_MODEL, v->resp},
                {GA_PROVIDER, v->provider},    {GA_OPERATION, v->op},
                {GA_AGENT_NAME, v->agent},     {GA_CONVERSATION_ID, v->conv},
                {GA_USER_ID, v->user},         {GA_COST_SOURCE, v->cost_source},
                {GA_ERROR_TYPE, v->error_type}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].s) g->v[strs[i].f] = val_str(strs[i].s);
    static const genai_field tf[5] = {GA_INPUT_TOKENS, GA_OUTPUT_TOKENS, GA_CACHE_READ,
                                      GA_CACHE_CREATION, GA_REASONING};
    for (int i = 0; i < 5; i++)
        if (v->tok[i] >= 0) g->v[tf[i]] = val_int(v->tok[i]);
    if (!isnan(v->cost)) g->v[GA_COST] = val_dbl(v->cost);
    if (v->ttft >= 0) g->v[GA_TTFT] = val_dbl(v->ttft);
    g->v[GA_DIALECT] = val_str("otel");
    return g;
}

/* Exact equality, doubles bit for bit. */
static bool value_eq(const lt_value *a, const lt_value *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case LT_VAL_EMPTY:
        return true;
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        return lt_str_eq(a->u.s, b->u.s);
    case LT_VAL_BOOL:
        return a->u.b == b->u.b;
    case LT_VAL_INT:
        return a->u.i == b->u.i;
    case LT_VAL_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case LT_VAL_ARRAY:
        if (a->u.arr.n != b->u.arr.n) return false;
        for (uint32_t i = 0; i < a->u.arr.n; i++)
            if (!value_eq(&a->u.arr.items[i], &b->u.arr.items[i])) return false;
        return true;
    case LT_VAL_KVLIST:
        if (a->u.kv.n != b->u.kv.n) return false;
        for (uint32_t i = 0; i < a->u.kv.n; i++)
            if (!lt_str_eq(a->u.kv.items[i].key, b->u.kv.items[i].key) ||
                !value_eq(&a->u.kv.items[i].value, &b->u.kv.items[i].value))
                return false;
        return true;
    }
    return false;
}

static void assert_view_eq(const lt_genai *want, const lt_genai *got)
{
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    for (int f = 0; f < GA_N_FIELDS; f++) {
        if (!value_eq(&want->v[f], &got->v[f]))
            fprintf(stderr, "field %s differs (types %d, %d)\n", model_genai_fields[f].key,
                    want->v[f].type, got->v[f].type);
        assert_true(value_eq(&want->v[f], &got->v[f]));
    }
}

/* Checks every span of trace id against the views in want (by span id; NULL: none). */
static void assert_views(lt_store *s, const uint8_t id[16], const lt_span *want, uint32_t n)
{
    lt_arena *a = arena_new();
    lt_trace_data d;
    assert_int_equal(store_get_trace(s, id, a, &d), 0);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < d.spans.n_rs; i++)
        for (uint32_t k = 0; k < d.spans.rs[i].scopes[0].n_spans; k++) {
            const lt_span *got = &d.spans.rs[i].scopes[0].spans[k];
            for (uint32_t w = 0; w < n; w++)
                if (!memcmp(want[w].trace_id, got->trace_id, 16) &&
                    !memcmp(want[w].span_id, got->span_id, 8)) {
                    assert_view_eq(want[w].genai, got->genai);
                    seen++;
                }
        }
    assert_int_equal(seen, n);
    arena_free(a);
}

/* A view with every field set, and values no normaliser makes: types other than the
 * field's, -0, NaN, infinities, extremes, empty strings, bytes, nested arrays and maps. */
static lt_genai *odd_view(lt_arena *a)
{
    lt_genai *g = arena_calloc(a, 1, sizeof *g);
    lt_value *fin = arena_calloc(a, 4, sizeof *fin);
    fin[0] = val_str("stop");
    fin[1] = val_str("");
    fin[2] = (lt_value){.type = LT_VAL_EMPTY};
    fin[3] = val_int(3);
    lt_kv *kv = arena_calloc(a, 2, sizeof *kv);
    kv[0] = (lt_kv){LT_STR("k"), val_str("v")};
    kv[1] = (lt_kv){LT_STR("nested"), {.type = LT_VAL_ARRAY, .u.arr = {fin, 2}}};
    g->v[GA_OPERATION] = val_str("chat");
    g->v[GA_PROVIDER] = val_str(""); /* present and empty */
    g->v[GA_REQUEST_MODEL] = val_str("gpt-4o");
    g->v[GA_RESPONSE_ID] = val_str("resp-\xc3\xbc\xe2\x9c\x93");
    g->v[GA_FINISH_REASONS] = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {fin, 4}};
    g->v[GA_TEMPERATURE] = val_dbl(-0.0);
    g->v[GA_TOP_P] = val_dbl(NAN);
    g->v[GA_TOP_K] = val_dbl(INFINITY);
    g->v[GA_MAX_TOKENS] = val_int(INT64_MIN);
    g->v[GA_SEED] = val_int(INT64_MAX);
    g->v[GA_STREAM] = (lt_value){.type = LT_VAL_BOOL, .u.b = true};
    g->v[GA_STOP_SEQUENCES] = (lt_value){.type = LT_VAL_KVLIST, .u.kv = {kv, 2}};
    g->v[GA_FREQUENCY_PENALTY] = (lt_value){.type = LT_VAL_BYTES, .u.s = {"\0\1\xff", 3}};
    g->v[GA_PRESENCE_PENALTY] = val_dbl(-INFINITY);
    g->v[GA_INPUT_TOKENS] = val_int(0);
    g->v[GA_OUTPUT_TOKENS] = val_dbl(12.5); /* not an int: the view keeps it as sent */
    g->v[GA_CACHE_READ] = val_int(-5);
    g->v[GA_CACHE_CREATION] = val_str("7");
    g->v[GA_CONVERSATION_ID] = val_str("conv-\xce\xb1");
    g->v[GA_AGENT_ID] = val_str("agent-id");
    g->v[GA_AGENT_NAME] = (lt_value){.type = LT_VAL_STRING, .u.s = {"agent\0x", 7}};
    g->v[GA_WORKFLOW_NAME] = (lt_value){.type = LT_VAL_KVLIST, .u.kv = {kv, 1}};
    g->v[GA_TOOL_NAME] = (lt_value){.type = LT_VAL_BOOL, .u.b = false};
    g->v[GA_TOOL_CALL_ID] = val_str("call_1");
    g->v[GA_TOOL_TYPE] = val_str("function");
    g->v[GA_DATA_SOURCE_ID] = val_str("ds");
    g->v[GA_TTFT] = val_dbl(-0.0);
    g->v[GA_OUTPUT_RATE] = val_dbl(NAN);
    g->v[GA_ERROR_TYPE] = val_str("");
    g->v[GA_USER_ID] = val_str("");
    g->v[GA_SESSION_ID] = val_str("sess");
    g->v[GA_COST] = val_int(3);        /* an int cost: kept exactly (xview) */
    g->v[GA_COST_SOURCE] = val_int(1); /* not a string: likewise */
    g->v[GA_DIALECT] = val_str("otel");
    return g;
}

static void test_genai_views_lossless(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    lt_span sp[6];
    for (int i = 0; i < 6; i++)
        sp[i] = mk_span(1, (uint64_t)i + 1, i ? 1 : 0, i % 2 ? "chat gpt-4o" : "agent",
                        T0 + (uint64_t)i, T0 + 1000 + (uint64_t)i * 7,
                        i == 4 ? LT_STATUS_ERROR : LT_STATUS_OK);
    sp[1].genai = odd_view(a);
    sp[2].genai = mk_view(a, &VSPEC(.req = "gpt-4o-mini", .resp = "gpt-4o-mini-2024",
                                    .provider = "openai", .op = "chat", .agent = "support",
                                    .conv = "c1", .user = "u1", .cost_source = "computed",
                                    .tok = {120, 30, 64, 0, 5}, .cost = 0.00123, .ttft = 0.25));
    sp[3].genai = mk_view(a, &VSPEC(.req = "m", .cost = -0.0, .tok = {1, -1, -1, -1, -1}));
    sp[4].genai = arena_calloc(a, 1, sizeof(lt_genai)); /* a view with no field at all */
    sp[5].genai = mk_view(a, &VSPEC(.req = "gpt-4o", .cost = 1e300, .cost_source = "reported"));
    /* a large attribute too: content store and view in one body */
    char *big = arena_alloc(a, 2001);
    for (int k = 0; k < 2000; k++)
        big[k] = (char)('a' + k % 23);
    big[2000] = 0;
    lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
    kv[0] = (lt_kv){LT_STR("gen_ai.input.messages"), val_str(big)};
    sp[2].attrs = (lt_attrs){kv, 1};
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, 6);
    assert_int_equal(store_write_traces(s, &b), 0);
    uint8_t id[16];
    tid_of(1, id);
    assert_views(s, id, sp, 6);
    keys ws = {0}, wl = {0};
    batch_keys(&b, NULL, id, &ws, &wl);
    assert_trace(s, id, &ws, &wl);
    /* the CLI's read-only opener reads views too */
    lt_store *r = open_store(dir);
    assert_true(((sq_store *)r)->read_only);
    assert_views(r, id, sp, 6);
    assert_trace(r, id, &ws, &wl);
    store_close(r);
    store_close(s);
    s = open_store(dir);
    assert_views(s, id, sp, 6);
    assert_trace(s, id, &ws, &wl);
    /* typed columns hold what filters and aggregates read */
    sq_store *q = (sq_store *)s;
    int64_t v = 0;
    assert_int_equal(sq_query_int(q->wdb, "SELECT count(*) FROM genai", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(sq_query_int(q->wdb, "SELECT count(*) FROM spans", &v), 0);
    assert_int_equal(v, 1); /* a span without a view has no GenAI row */
    assert_int_equal(
        sq_query_int(q->wdb,
                     "SELECT in_tok + out_tok + cache_read + reasoning FROM genai_spans"
                     " WHERE resp_model = 'gpt-4o-mini-2024' AND provider = 'openai'"
                     " AND user_id = 'u1' AND conversation = 'c1' AND agent = 'support'"
                     " AND cost_source = 'computed' AND ttft = 0.25 AND error = 0",
                     &v),
        0);
    assert_int_equal(v, 120 + 30 + 64 + 5);
    assert_int_equal(sq_query_int(q->wdb,
                                  "SELECT error FROM genai_spans WHERE name = 'agent'"
                                  " AND trace_row > 0 ORDER BY id LIMIT 1 OFFSET 1",
                                  &v),
                     0);
    assert_int_equal(v, 1); /* status ERROR */
    keys_free(&ws);
    keys_free(&wl);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- GenAI totals of trace summaries -------------------------------------------------- */

static void test_genai_trace_totals(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    uint8_t id[16];
    tid_of(7, id);
    /* a log record first: the summary exists before any span */
    lt_log_record lr[1] = {mk_log(7, 2, T0, "early")};
    lt_log_batch lb = one_log_batch(a, "svc", lr, 1);
    assert_int_equal(store_write_logs(s, &lb), 0);
    lt_span p1[3] = {mk_span(7, 1, 0, "root", T0, T0 + 100, 0),
                     mk_span(7, 2, 1, "chat", T0 + 1, T0 + 50, 0),
                     mk_span(7, 3, 1, "chat", T0 + 2, T0 + 60, 0)};
    p1[1].genai = mk_view(a, &VSPEC(.req = "a", .tok = {100, 10, -1, -1, -1}, .cost = 0.5));
    p1[2].genai = mk_view(a, &VSPEC(.req = "b", .tok = {50, -1, -1, -1, -1}));
    lt_trace_batch b1 = one_batch(a, "svc", NULL, p1, 3);
    assert_int_equal(store_write_traces(s, &b1), 0);
    lt_trace_query q = {0};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    lt_trace_summary *t = find_summary(&l, id);
    assert_non_null(t);
    assert_int_equal(t->llm_calls, 2);
    assert_int_equal(t->input_tokens, 150);
    assert_int_equal(t->output_tokens, 10);
    assert_true(fabs(t->cost - 0.5) < 1e-12);
    /* more pieces: the totals accumulate */
    lt_span p2[2] = {mk_span(7, 4, 1, "chat", T0 + 3, T0 + 70, 0),
                     mk_span(7, 5, 1, "tool", T0 + 4, T0 + 80, 0)};
    p2[0].genai = mk_view(a, &VSPEC(.req = "a", .tok = {-1, 5, -1, -1, -1}, .cost = 0.25));
    p2[1].genai = mk_view(a, &VSPEC(.op = "execute_tool", .cost = 1.0)); /* no tokens: no call */
    lt_trace_batch b2 = one_batch(a, "svc-2", NULL, p2, 2);
    assert_int_equal(store_write_traces(s, &b2), 0);
    lt_span p3[1] = {mk_span(7, 6, 1, "chat", T0 + 5, T0 + 90, 0)};
    p3[0].genai = mk_view(a, &VSPEC(.req = "c", .tok = {-7, 3, -1, -1, -1}, .cost = NAN));
    lt_trace_batch b3 = one_batch(a, "svc", NULL, p3, 1);
    assert_int_equal(store_write_traces(s, &b3), 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(store_list_traces(s, &q, a, &l), 0);
        t = find_summary(&l, id);
        assert_non_null(t);
        assert_int_equal(t->span_count, 6);
        assert_int_equal(t->llm_calls, 4);
        assert_int_equal(t->input_tokens, 150); /* negative counts are not added */
        assert_int_equal(t->output_tokens, 18);
        assert_true(fabs(t->cost - 1.75) < 1e-12);
        store_close(s);
        s = open_store(dir);
    }
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- GenAI list filters ------------------------------------------------------------------ */

enum { N_GT = 48 };

/* Trace i: views on (i % 4) spans (none when 0); models, providers, operations, users and
 * conversations from small cycles; the last trace has more distinct conversations than a
 * summary lists. */
static const char *gt_models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama"};
static const char *gt_resp[] = {"gpt-4o-2024-08-06", "", "claude-3-5-sonnet-20241022", ""};

static int gt_views(int i)
{
    return i == N_GT - 1 ? 20 : i % 4;
}

static void gt_spec(int i, int k, vspec *v, char *conv, char *user)
{
    snprintf(conv, 16, "conv-%d", (i == N_GT - 1 ? 100 + k : i % 9) & 0xfff);
    snprintf(user, 16, "user-%d", ((i + k) % 5) & 0xf);
    *v = VSPEC(.req = gt_models[(i + k) % 4], .provider = (i + k) % 3 ? "openai" : "anthropic",
               .op = k % 2 ? "embeddings" : "chat", .conv = conv, .user = user);
    if (gt_resp[(i + k) % 4][0]) v->resp = gt_resp[(i + k) % 4];
    v->tok[0] = 10 * i + k;
    v->tok[1] = i;
    if ((i + k) % 3) v->cost = 0.001 * i + 0.0001 * k;
}

static uint64_t gt_start(int i)
{
    return T0 + (uint64_t)i * 1000;
}

static void write_genai_traces(lt_store *s, lt_arena *a)
{
    for (int i = 0; i < N_GT; i++) {
        int nv = gt_views(i), n = nv + 1;
        lt_span *sp = arena_calloc(a, (size_t)n, sizeof *sp);
        sp[0] = mk_span((uint32_t)i, 1, 0, "root", gt_start(i), gt_start(i) + 500, 0);
        for (int k = 0; k < nv; k++) {
            sp[k + 1] = mk_span((uint32_t)i, (uint64_t)k + 2, 1, "chat", gt_start(i) + 1,
                                gt_start(i) + 100, 0);
            vspec v;
            char *conv = arena_alloc(a, 16), *user = arena_alloc(a, 16);
            gt_spec(i, k, &v, conv, user);
            sp[k + 1].genai = mk_view(a, &v);
        }
        /* the views arrive in two pieces for odd traces */
        if (i % 2 && n > 2) {
            lt_trace_batch b1 = one_batch(a, "svc", NULL, sp, 2);
            lt_trace_batch b2 = one_batch(a, "svc", NULL, sp + 2, (uint32_t)n - 2);
            assert_int_equal(store_write_traces(s, &b1), 0);
            assert_int_equal(store_write_traces(s, &b2), 0);
        } else {
            lt_trace_batch b = one_batch(a, "svc", NULL, sp, (uint32_t)n);
            assert_int_equal(store_write_traces(s, &b), 0);
        }
    }
}

static bool gt_match(int i, const lt_trace_query *q)
{
    bool m = !q->model.len, p = !q->provider.len, o = !q->operation.len, c = !q->conversation.len,
         u = !q->user.len;
    double cost = 0;
    uint64_t tok = 0;
    for (int k = 0; k < gt_views(i); k++) {
        vspec v;
        char conv[16], user[16];
        gt_spec(i, k, &v, conv, user);
        m |= lt_str_eq_c(q->model, v.req) || (v.resp && lt_str_eq_c(q->model, v.resp));
        p |= lt_str_eq_c(q->provider, v.provider);
        o |= lt_str_eq_c(q->operation, v.op);
        c |= lt_str_eq_c(q->conversation, conv);
        u |= lt_str_eq_c(q->user, user);
        if (!isnan(v.cost)) cost += v.cost;
        tok += (uint64_t)(v.tok[0] + v.tok[1]);
    }
    if (q->min_cost > 0 && cost < q->min_cost) return false;
    if (q->min_tokens && tok < q->min_tokens) return false;
    if (q->errors_only) return false; /* no span has status ERROR */
    return m && p && o && c && u;
}

/* Pages through q and compares with the expected traces, newest first. */
static void check_genai_query(lt_store *s, lt_trace_query q, uint32_t limit)
{
    int want[N_GT], n_want = 0;
    for (int i = N_GT - 1; i >= 0; i--)
        if (gt_match(i, &q)) want[n_want++] = i;
    q.limit = limit;
    int got = 0, pages = 0;
    lt_arena *a = arena_new();
    for (;;) {
        lt_trace_list l;
        assert_int_equal(store_list_traces(s, &q, a, &l), 0);
        for (uint32_t k = 0; k < l.n; k++, got++) {
            assert_true(got < n_want);
            uint8_t id[16];
            tid_of((uint32_t)want[got], id);
            assert_memory_equal(l.items[k].trace_id, id, 16);
        }
        if (!l.more) break;
        assert_true(++pages < 200);
        q.has_cursor = true;
        q.cursor_start = l.next_start;
        memcpy(q.cursor_trace_id, l.next_trace_id, 16);
        arena_reset(a);
    }
    assert_int_equal(got, n_want);
    arena_free(a);
}

static void test_genai_filters(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    write_genai_traces(s, a);
    const lt_trace_query qs[] = {
        {.model = LT_STR("gpt-4o")},
        {.model = LT_STR("gpt-4o-2024-08-06")}, /* a response model */
        {.model = LT_STR("claude-3-5-sonnet")},
        {.model = LT_STR("nobody")},
        {.provider = LT_STR("anthropic")},
        {.operation = LT_STR("embeddings")},
        {.conversation = LT_STR("conv-4")},
        {.conversation = LT_STR("conv-117")}, /* listed past the summary's bound */
        {.conversation = LT_STR("conv-200")},
        {.user = LT_STR("user-3")},
        {.min_cost = 0.03},
        {.min_tokens = 700},
        {.model = LT_STR("llama"), .provider = LT_STR("openai"), .operation = LT_STR("chat")},
        {.user = LT_STR("user-1"), .min_cost = 0.02, .min_tokens = 300},
        {.model = LT_STR("gpt-4o-mini"), .errors_only = true},
        {.provider = LT_STR("openai"), .service = LT_STR("svc"), .name = LT_STR("root")},
    };
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            check_genai_query(s, qs[i], 1000);
            check_genai_query(s, qs[i], 3);
        }
        /* the same through the read-only opener */
        lt_store *r = open_store(dir);
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
            check_genai_query(r, qs[i], 4);
        store_close(r);
        store_close(s);
        s = open_store(dir);
    }
    /* the overflowing trace's summary lists GDIMS_PER_KIND conversations and a mark */
    lt_trace_query q = {.conversation = LT_STR("conv-119"), .limit = 10};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].llm_calls, 20);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- genai_summary ------------------------------------------------------------------------ */

enum { N_GS = 600 };
#define GS_M0 (T0 - T0 % 60000000000ull) /* a whole minute */

typedef struct {
    uint64_t start, dur;
    vspec v;
    char conv[16], user[16], name[16];
    int svc; /* 0 or 1 */
    bool error;
} gs_item;

static gs_item gs[N_GS];

static void gs_make(void)
{
    static const char *agents[] = {"planner", "coder", NULL};
    for (int i = 0; i < N_GS; i++) {
        gs_item *g = &gs[i];
        memset(g, 0, sizeof *g);
        uint64_t x = hash64(&i, sizeof i, 99);
        /* about four minutes of spans, not in time order */
        g->start = GS_M0 + x % (4ull * 60000000000ull);
        /* durations from about 1 ms to 10 s, log-uniform */
        g->dur = (uint64_t)(1e6 * pow(10.0, (double)(x >> 20 & 0xffff) / 65535.0 * 4.0));
        snprintf(g->conv, sizeof g->conv, "conv-%d", i % 37);
        snprintf(g->user, sizeof g->user, "user-%d", i % 11);
        snprintf(g->name, sizeof g->name, i % 5 ? "chat" : "embed");
        g->svc = i % 3 == 0;
        g->error = i % 13 == 0;
        g->v = VSPEC(.req = gt_models[i % 4], .provider = i % 2 ? "openai" : "anthropic",
                     .op = i % 5 ? "chat" : "embeddings", .agent = agents[i % 3],
                     .conv = i % 17 ? g->conv : NULL, .user = g->user,
                     .error_type = i % 29 == 0 ? "rate_limit" : NULL);
        if (i % 4 == 1) g->v.resp = "gpt-4o-mini-2024";
        for (int t = 0; t < 5; t++)
            g->v.tok[t] = i % 7 == 6 ? -1 : (int64_t)((x >> (8 * t)) % 500);
        if (i % 6) g->v.cost = (double)(x % 1000) * 1e-5;
        if (i % 2) g->v.ttft = 0.05 + (double)(x >> 40 & 0xff) / 100.0;
    }
}

static void gs_write(lt_store *s, lt_arena *a, int from, int to)
{
    for (int i = from; i < to;) {
        int n = to - i < 25 ? to - i : 25;
        lt_span *sp[2];
        int ns[2] = {0, 0};
        sp[0] = arena_calloc(a, (size_t)n, sizeof(lt_span));
        sp[1] = arena_calloc(a, (size_t)n, sizeof(lt_span));
        for (int k = 0; k < n; k++, i++) {
            gs_item *g = &gs[i];
            lt_span *x = &sp[g->svc][ns[g->svc]++];
            *x =
                mk_span((uint32_t)(5000 + i / 3), (uint64_t)i + 1, i % 3 ? 1 : 0, g->name, g->start,
                        g->start + g->dur, g->error && i % 2 ? LT_STATUS_ERROR : LT_STATUS_OK);
            if (g->error && !(i % 2)) g->v.error_type = "boom";
            x->genai = mk_view(a, &g->v);
        }
        for (int k = 0; k < 2; k++) {
            if (!ns[k]) continue;
            lt_trace_batch b = one_batch(a, k ? "svc-b" : "svc-a", NULL, sp[k], (uint32_t)ns[k]);
            assert_int_equal(store_write_traces(s, &b), 0);
        }
    }
}

static lt_str gs_key(const gs_item *g, int dim)
{
    switch (dim) {
    case LT_GROUP_MODEL:
        return lt_str_c(g->v.resp ? g->v.resp : g->v.req);
    case LT_GROUP_PROVIDER:
        return lt_str_c(g->v.provider);
    case LT_GROUP_OPERATION:
        return lt_str_c(g->v.op);
    case LT_GROUP_SERVICE:
        return lt_str_c(g->svc ? "svc-b" : "svc-a");
    case LT_GROUP_SPAN_NAME:
        return lt_str_c(g->name);
    case LT_GROUP_AGENT:
        return g->v.agent ? lt_str_c(g->v.agent) : LT_STR("");
    case LT_GROUP_USER:
        return lt_str_c(g->v.user);
    default:
        return g->v.conv ? lt_str_c(g->v.conv) : LT_STR("");
    }
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double exact_q(uint64_t *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, u64_cmp);
    int rank = (int)ceil(q * n);
    if (rank < 1) rank = 1;
    return (double)v[rank - 1];
}

static void assert_close(double want, double got, double rel)
{
    if (fabs(want - got) > rel * fabs(want) + 1e-12)
        fprintf(stderr, "want %.9g got %.9g\n", want, got);
    assert_true(fabs(want - got) <= rel * fabs(want) + 1e-12);
}

/* Compares genai_summary over [lo, hi] grouped by dim (per bucket of step ns when step is
 * not 0) with a computation over gs[0..n). */
static void gs_check_step(lt_store *s, int n, uint64_t lo, uint64_t hi, int dim, uint64_t step)
{
    lt_arena *a = arena_new();
    lt_genai_query q = {
        .start_min = lo, .start_max = hi, .group_by = (lt_group_by)dim, .step_ns = step};
    lt_genai_group *out;
    uint32_t ng;
    assert_int_equal(store_genai_summary(s, &q, a, &out, &ng), 0);
    uint64_t *durs = malloc(sizeof(uint64_t) * N_GS), *ttfts = malloc(sizeof(uint64_t) * N_GS);
    uint32_t groups = 0;
    uint64_t calls_total = 0;
    for (uint32_t k = 0; k < ng; k++) {
        const lt_genai_group *g = &out[k];
        if (step) {
            assert_int_equal(g->bucket_start % step, 0);
        } else {
            assert_int_equal(g->bucket_start, 0);
        }
        if (k && out[k - 1].bucket_start == g->bucket_start) { /* by cost, then calls */
            assert_true(out[k - 1].cost > g->cost ||
                        (out[k - 1].cost == g->cost && out[k - 1].calls >= g->calls));
        } else if (k) { /* buckets ascending */
            assert_true(out[k - 1].bucket_start < g->bucket_start);
        }
        uint64_t calls = 0, errors = 0, tok[5] = {0};
        double cost = 0;
        int nd = 0, nt = 0;
        for (int i = 0; i < n; i++) {
            const gs_item *x = &gs[i];
            if (x->start < lo || (hi && x->start > hi)) continue;
            if (step && x->start / step * step != g->bucket_start) continue;
            if (!lt_str_eq(gs_key(x, dim), g->key)) continue;
            calls++;
            errors += x->error || x->v.error_type;
            for (int t = 0; t < 5; t++)
                tok[t] += x->v.tok[t] > 0 ? (uint64_t)x->v.tok[t] : 0;
            if (!isnan(x->v.cost)) cost += x->v.cost;
            durs[nd++] = x->dur;
            if (x->v.ttft >= 0) ttfts[nt++] = (uint64_t)(x->v.ttft * 1e9);
        }
        assert_int_equal(g->calls, calls);
        assert_int_equal(g->errors, errors);
        assert_int_equal(g->input_tokens, tok[0]);
        assert_int_equal(g->output_tokens, tok[1]);
        assert_int_equal(g->cache_read_tokens, tok[2]);
        assert_int_equal(g->cache_creation_tokens, tok[3]);
        assert_int_equal(g->reasoning_tokens, tok[4]);
        assert_close(cost, g->cost, 1e-9);
        assert_close(exact_q(durs, nd, 0.50), (double)g->duration_p50_ns, 0.05);
        assert_close(exact_q(durs, nd, 0.95), (double)g->duration_p95_ns, 0.05);
        assert_close(exact_q(durs, nd, 0.99), (double)g->duration_p99_ns, 0.05);
        assert_int_equal(g->has_ttft, nt > 0);
        if (nt) {
            assert_close(exact_q(ttfts, nt, 0.50) / 1e9, g->ttft_p50_s, 0.05);
            assert_close(exact_q(ttfts, nt, 0.95) / 1e9, g->ttft_p95_s, 0.05);
        }
        calls_total += calls;
        groups++;
    }
    /* every view in range is in some group */
    uint64_t in_range = 0;
    for (int i = 0; i < n; i++)
        in_range += gs[i].start >= lo && (!hi || gs[i].start <= hi);
    assert_int_equal(calls_total, in_range);
    assert_int_equal(groups, ng);
    free(durs);
    free(ttfts);
    arena_free(a);
}

static void gs_check(lt_store *s, int n, uint64_t lo, uint64_t hi, int dim)
{
    gs_check_step(s, n, lo, hi, dim, 0);
}

static void gs_check_all(lt_store *s, int n)
{
    const uint64_t M = 60000000000ull;
    const uint64_t ranges[][2] = {
        {0, 0},                                                   /* everything */
        {GS_M0 + M, GS_M0 + 3 * M - 1},                           /* whole minutes */
        {GS_M0 + 17000000000ull, GS_M0 + 2 * M + 41000000000ull}, /* partial edges */
        {GS_M0 + 5000000000ull, GS_M0 + 9000000000ull},           /* inside one minute */
        {GS_M0 + 50000000000ull, GS_M0 + M + 3000000000ull},      /* two partial minutes */
        {GS_M0 + 2 * M + 1, 0},                                   /* no upper bound */
        {GS_M0 + 10 * M, GS_M0 + 11 * M},                         /* nothing */
    };
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (int d = 0; d < 8; d++)
            gs_check(s, n, ranges[r][0], ranges[r][1], d);
    /* series: buckets of one, two and three minutes, from rollups, edge rows and the tail */
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (uint64_t st = 1; st <= 3; st++)
            for (int d = 0; d < 8; d += 3)
                gs_check_step(s, n, ranges[r][0], ranges[r][1], d, st * M);
}

/* The rollup table against a grouping of the genai table, after everything waiting has
 * been written into it: the same rows, sums and histogram counts. */
static void assert_rollups_consistent(lt_store *st)
{
    sq_store *s = (sq_store *)st;
    pthread_mutex_lock(&s->wlock);
    buf_reset(&s->enc);
    int rc = sq_begin_write(s);
    if (!rc) rc = sq_end_write(s, sq_genai_prepare(s, true), s->next_span, s->next_log);
    pthread_mutex_unlock(&s->wlock);
    assert_int_equal(rc, 0);
    static const char *keys_sql[8] = {
        "CASE WHEN coalesce(resp_model, '') != '' THEN resp_model ELSE coalesce(req_model, '') END",
        "coalesce(provider, '')",
        "coalesce(operation, '')",
        "service",
        "name",
        "coalesce(agent, '')",
        "coalesce(user_id, '')",
        "coalesce(conversation, '')"};
    for (int d = 0; d < 8; d++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "SELECT start_ns / 60000000000 AS m, %s AS k, count(*), sum(error),"
                 " sum(max(coalesce(in_tok, 0), 0)), sum(max(coalesce(out_tok, 0), 0)),"
                 " sum(max(coalesce(cache_read, 0), 0)), sum(max(coalesce(cache_creation, 0), 0)),"
                 " sum(max(coalesce(reasoning, 0), 0)), total(cost) FROM genai_spans"
                 " GROUP BY m, k ORDER BY m, k",
                 keys_sql[d]);
        sqlite3_stmt *want, *got;
        assert_int_equal(sqlite3_prepare_v2(s->wdb, sql, -1, &want, NULL), SQLITE_OK);
        snprintf(sql, sizeof sql,
                 "SELECT minute, key, calls, errors, in_tok, out_tok, cache_read, cache_creation,"
                 " reasoning, cost, dur FROM rollup WHERE dim = %d ORDER BY minute, key",
                 d);
        assert_int_equal(sqlite3_prepare_v2(s->wdb, sql, -1, &got, NULL), SQLITE_OK);
        int wr, gr;
        while ((wr = sqlite3_step(want)) == SQLITE_ROW) {
            gr = sqlite3_step(got);
            assert_int_equal(gr, SQLITE_ROW);
            assert_int_equal(sqlite3_column_int64(want, 0), sqlite3_column_int64(got, 0));
            assert_string_equal((const char *)sqlite3_column_text(want, 1),
                                (const char *)sqlite3_column_text(got, 1));
            for (int c = 2; c <= 8; c++)
                assert_int_equal(sqlite3_column_int64(want, c), sqlite3_column_int64(got, c));
            assert_close(sqlite3_column_double(want, 9), sqlite3_column_double(got, 9), 1e-9);
            /* the duration histogram counts every call */
            const uint8_t *p = sqlite3_column_blob(got, 10);
            const uint8_t *end = p + sqlite3_column_bytes(got, 10);
            uint32_t bucket = 0;
            int64_t c, total = 0;
            for (bool first = true; hist_next(&p, end, &bucket, &c, first); first = false)
                total += c;
            assert_int_equal(total, sqlite3_column_int64(got, 2));
        }
        assert_int_equal(wr, SQLITE_DONE);
        assert_int_equal(sqlite3_step(got), SQLITE_DONE);
        sqlite3_finalize(want);
        sqlite3_finalize(got);
    }
}

static void test_genai_summary(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    gs_make();
    /* in parts: the first part is in the rollups, the rest partly waits (the tail) */
    gs_write(s, a, 0, 400);
    gs_check_all(s, 400);
    gs_write(s, a, 400, N_GS);
    gs_check_all(s, N_GS);
    assert_true(((sq_store *)s)->genai->combo.rows > 0); /* some wait in memory */
    /* the read-only opener computes the same from the tables alone */
    lt_store *r = open_store(dir);
    gs_check_all(r, N_GS);
    store_close(r);
    /* reopening rebuilds what waited; closing wrote it into the rollups */
    store_close(s);
    s = open_store(dir);
    gs_check_all(s, N_GS);
    assert_rollups_consistent(s);
    gs_check_all(s, N_GS);
    /* bad grouping; a step that is not whole minutes */
    lt_genai_query q = {.group_by = (lt_group_by)8};
    lt_genai_group *out;
    uint32_t n;
    assert_int_equal(store_genai_summary(s, &q, a, &out, &n), LT_EINVAL);
    q = (lt_genai_query){.group_by = LT_GROUP_MODEL, .step_ns = 90000000000ull};
    assert_int_equal(store_genai_summary(s, &q, a, &out, &n), LT_EINVAL);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- retention keeps rollups exact ----------------------------------------------------- */

static void test_genai_retention(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    gs_make();
    gs_write(s, a, 0, 300);
    usleep(20000);
    uint64_t mid = time_now_ns();
    usleep(20000);
    gs_write(s, a, 300, N_GS);
    lt_retention r = {.max_age_ns = 1000000000ull};
    assert_int_equal(store_enforce_retention(s, &r, mid + r.max_age_ns), 0);
    /* the first 300 views are gone from everything */
    memmove(gs, gs + 300, sizeof(gs_item) * (N_GS - 300));
    gs_check_all(s, N_GS - 300);
    assert_rollups_consistent(s);
    int64_t v = 0;
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, "SELECT count(*) FROM genai", &v), 0);
    assert_int_equal(v, N_GS - 300);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- rederive -------------------------------------------------------------------------------- */

typedef struct {
    int calls, fail_at;
    uint64_t last_done, last_total, progress_calls;
} rd_ctx;

/* The repricing: a reported cost stays; tokens price at 1e-6 input, 2e-6 output; a view
 * without tokens loses its cost ("unknown_model"); model "llama" gets an integer cost. */
static int reprice(void *p, lt_genai *g, uint64_t start)
{
    rd_ctx *c = p;
    assert_true(start >= GS_M0);
    if (c->fail_at && c->calls == c->fail_at) return LT_EINVAL;
    c->calls++;
    if (g->v[GA_COST_SOURCE].type == LT_VAL_STRING &&
        lt_str_eq_c(g->v[GA_COST_SOURCE].u.s, "reported"))
        return 0;
    if (g->v[GA_INPUT_TOKENS].type != LT_VAL_INT) {
        g->v[GA_COST] = (lt_value){.type = LT_VAL_EMPTY};
        g->v[GA_COST_SOURCE] = val_str("unknown_model");
        return 0;
    }
    if (g->v[GA_REQUEST_MODEL].type == LT_VAL_STRING &&
        lt_str_eq_c(g->v[GA_REQUEST_MODEL].u.s, "llama")) {
        g->v[GA_COST] = val_int(2);
    } else {
        g->v[GA_COST] = val_dbl((double)g->v[GA_INPUT_TOKENS].u.i * 1e-6 +
                                (double)g->v[GA_OUTPUT_TOKENS].u.i * 2e-6);
    }
    g->v[GA_COST_SOURCE] = val_str("computed");
    g->v[GA_TEMPERATURE] = val_dbl(42); /* not a cost field: not kept */
    return 0;
}

static void progress(void *p, uint64_t done, uint64_t total)
{
    rd_ctx *c = p;
    assert_true(done <= total);
    assert_true(done >= c->last_done);
    c->last_done = done;
    c->last_total = total;
    c->progress_calls++;
}

/* gs after reprice, as the store should then hold it. */
static void gs_reprice(int from, int to)
{
    for (int i = from; i < to; i++) {
        vspec *v = &gs[i].v;
        if (v->cost_source && !strcmp(v->cost_source, "reported")) continue;
        if (v->tok[0] < 0) {
            v->cost = NAN;
            v->cost_source = "unknown_model";
        } else if (!strcmp(v->req, "llama")) {
            v->cost = 2;
            v->cost_source = "computed";
        } else {
            v->cost = (double)v->tok[0] * 1e-6 + (double)v->tok[1] * 2e-6;
            v->cost_source = "computed";
        }
    }
}

/* The views of the gs spans of the store against gs (cost fields included). */
static void gs_views(lt_store *s, lt_arena *a, int n)
{
    for (int i = 0; i < n; i += 3) {
        uint8_t id[16];
        tid_of((uint32_t)(5000 + i / 3), id);
        lt_trace_data d;
        assert_int_equal(store_get_trace(s, id, a, &d), 0);
        double cost = 0;
        for (uint32_t r = 0; r < d.spans.n_rs; r++)
            for (uint32_t k = 0; k < d.spans.rs[r].scopes[0].n_spans; k++) {
                const lt_span *sp = &d.spans.rs[r].scopes[0].spans[k];
                uint64_t sid = 0;
                for (int b = 0; b < 8; b++)
                    sid = sid << 8 | sp->span_id[b];
                const gs_item *g = &gs[sid - 1];
                lt_genai *want = mk_view(a, &g->v);
                if (g->v.req && !strcmp(g->v.req, "llama") && g->v.cost_source &&
                    !strcmp(g->v.cost_source, "computed"))
                    want->v[GA_COST] = val_int(2);
                assert_view_eq(want, sp->genai);
                if (!isnan(g->v.cost)) cost += g->v.cost;
            }
        lt_trace_query q = {.limit = 1000};
        lt_trace_list l;
        assert_int_equal(store_list_traces(s, &q, a, &l), 0);
        lt_trace_summary *t = find_summary(&l, id);
        assert_non_null(t);
        assert_close(cost, t->cost, 1e-9);
        arena_reset(a);
    }
}

static void test_rederive(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    gs_make();
    for (int i = 0; i < N_GS; i += 10)
        gs[i].v.cost_source = "reported";
    gs_write(s, a, 0, N_GS);
    gs_views(s, a, N_GS);
    rd_ctx c = {0};
    assert_int_equal(store_rederive(s, reprice, &c, progress, &c), 0);
    assert_int_equal(c.calls, N_GS);
    assert_int_equal(c.last_done, N_GS);
    assert_int_equal(c.last_total, N_GS);
    assert_true(c.progress_calls > N_GS / LT_SQLITE_REDERIVE_STEP); /* many transactions */
    gs_reprice(0, N_GS);
    gs_views(s, a, N_GS);
    gs_check_all(s, N_GS);
    assert_rollups_consistent(s);
    /* again: nothing changes */
    c = (rd_ctx){0};
    assert_int_equal(store_rederive(s, reprice, &c, NULL, NULL), 0);
    gs_views(s, a, N_GS);
    gs_check_all(s, N_GS);
    store_close(s);
    s = open_store(dir);
    gs_views(s, a, N_GS);
    gs_check_all(s, N_GS);
    /* the read-only opener may not */
    lt_store *r = open_store(dir);
    assert_int_equal(store_rederive(r, reprice, &c, NULL, NULL), LT_EBUSY);
    store_close(r);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* A function failing stops the walk; what was repriced before stays consistent. */
static void test_rederive_stops(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    gs_make();
    gs_write(s, a, 0, N_GS);
    rd_ctx c = {.fail_at = 100};
    assert_int_equal(store_rederive(s, reprice, &c, NULL, NULL), LT_EINVAL);
    assert_int_equal(c.calls, 100);
    /* the first 100 views in row order are repriced: rows follow gs_write's order per call,
     * so compare through the table instead */
    int64_t computed = 0;
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb,
                                  "SELECT count(*) FROM genai_spans WHERE cost_source IS NOT NULL",
                                  &computed),
                     0);
    assert_int_equal(computed, 100);
    assert_rollups_consistent(s);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- content store ----------------------------------------------------------------------- */

static int64_t content_rows(lt_store *s)
{
    int64_t v = -1;
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, "SELECT count(*) FROM content", &v), 0);
    return v;
}

/* The pieces stored in all blocks (their directories list their lengths). */
static int64_t content_pieces(lt_store *s)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    assert_int_equal(
        sqlite3_prepare_v2(((sq_store *)s)->wdb, "SELECT dir FROM content", -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(st, 0);
        for (int i = 0; i < sqlite3_column_bytes(st, 0); i++)
            n += !(p[i] & 0x80); /* the last byte of each varint */
    }
    sqlite3_finalize(st);
    return n;
}

/* n bytes of text that depend on seed (printable, no quotes or backslashes). */
static char *text_of(lt_arena *a, uint64_t seed, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (char)(i % 7 == 6 ? ' ' : 'a' + x % 26);
    }
    p[n] = 0;
    return p;
}

/* A chat message as JSON, about n bytes. */
static char *msg_json(lt_arena *a, const char *role, uint64_t seed, size_t n)
{
    char *t = text_of(a, seed, n);
    size_t len = n + 64;
    char *p = arena_alloc(a, len);
    snprintf(p, len, "{\"role\":\"%s\",\"content\":\"%s\"}", role, t);
    return p;
}

static void test_content_lossless(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    const char *big = text_of(a, 1, 3000);
    const char *values[] = {
        big,
        big,                /* the same again */
        text_of(a, 2, 255), /* just under the bound: stays in the body */
        text_of(a, 3, 256), /* at it */
        "[]",
        "  [ {\"role\":\"user\",\"content\":\"x\"} ]  ",
        NULL, /* filled below: arrays */
        NULL,
        NULL,
        NULL,
    };
    size_t nv = sizeof values / sizeof values[0];
    /* a JSON array with elements of every size, escapes and brackets in strings, blanks */
    char *arr = arena_alloc(a, 8192);
    snprintf(arr, 8192,
             " \n[%s,\n  %s , {\"s\":\"a \\\"]\\\\\" ,\"n\":[1,[2,{}]]}, 7, \"%s\",[%s] ]\t",
             msg_json(a, "system", 10, 400), msg_json(a, "user", 11, 30), text_of(a, 12, 300),
             msg_json(a, "assistant", 13, 200));
    values[6] = arr;
    /* invalid JSON: unbalanced, trailing text, a bare bracket */
    char *bad = arena_alloc(a, 4096);
    snprintf(bad, 4096, "[%s, {\"a\": [1, 2}", msg_json(a, "user", 14, 500));
    values[7] = bad;
    char *trail = arena_alloc(a, 4096);
    snprintf(trail, 4096, "[%s] and more", msg_json(a, "user", 15, 500));
    values[8] = trail;
    char *open = arena_alloc(a, 4096);
    snprintf(open, 4096, "[%s,", msg_json(a, "user", 16, 500));
    values[9] = open;
    lt_span sp[12];
    for (size_t i = 0; i < nv; i++) {
        sp[i] = mk_span(1, i + 1, i ? 1 : 0, "s", T0, T0 + 10, 0);
        lt_kv *kv = arena_calloc(a, 3, sizeof *kv);
        kv[0] = (lt_kv){LT_STR("gen_ai.input.messages"), val_str(values[i])};
        kv[1] = (lt_kv){LT_STR("small"), val_str("x")};
        kv[2] = (lt_kv){LT_STR("again"), val_str(values[(i + 1) % nv])};
        sp[i].attrs = (lt_attrs){kv, 3};
    }
    /* strings with a NUL byte and multi-byte characters, nested in arrays and maps, in
     * events and links */
    char *nul = arena_alloc(a, 600);
    memcpy(nul, text_of(a, 20, 599), 600);
    nul[100] = 0;
    memcpy(nul + 200, "\xe2\x9c\x93\xce\xb1", 5);
    lt_value *items = arena_calloc(a, 3, sizeof *items);
    items[0] = (lt_value){.type = LT_VAL_STRING, .u.s = {nul, 599}};
    items[1] = val_int(5);
    items[2] = val_str(big);
    lt_kv *inner = arena_calloc(a, 2, sizeof *inner);
    inner[0] = (lt_kv){LT_STR("deep"), {.type = LT_VAL_ARRAY, .u.arr = {items, 3}}};
    inner[1] = (lt_kv){LT_STR("short"), val_str("y")};
    lt_kv *kv = arena_calloc(a, 2, sizeof *kv);
    kv[0] = (lt_kv){LT_STR("map"), {.type = LT_VAL_KVLIST, .u.kv = {inner, 2}}};
    kv[1] = (lt_kv){LT_STR("bytes"), {.type = LT_VAL_BYTES, .u.s = {big, 1000}}};
    sp[10] = mk_span(1, 11, 1, "nested", T0, T0 + 10, 0);
    sp[10].attrs = (lt_attrs){kv, 2};
    lt_event *ev = arena_calloc(a, 2, sizeof *ev);
    ev[0] = (lt_event){.name = LT_STR("gen_ai.content.prompt"), .attrs = {kv, 2}};
    ev[1] = (lt_event){.name = LT_STR("empty")};
    lt_link *ln = arena_calloc(a, 1, sizeof *ln);
    tid_of(99, ln->trace_id);
    sid_of(3, ln->span_id);
    ln->attrs = (lt_attrs){inner, 2};
    sp[11] = mk_span(1, 12, 1, "events", T0, T0 + 10, 0);
    sp[11].events.items = ev;
    sp[11].events.n = 2;
    sp[11].links.items = ln;
    sp[11].links.n = 1;
    sp[11].genai = mk_view(a, &VSPEC(.req = "gpt-4o"));
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, 12);
    assert_int_equal(store_write_traces(s, &b), 0);
    /* log records: a large string body, a map body with large strings inside */
    lt_log_record lr[3] = {mk_log(1, 1, T0, big), mk_log(1, 2, T0, "small"), mk_log(1, 3, T0, "")};
    lr[1].body = (lt_value){.type = LT_VAL_KVLIST, .u.kv = {inner, 2}};
    lr[1].attrs = (lt_attrs){kv, 2};
    lr[2].body = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(arr)};
    lt_log_batch lb = one_log_batch(a, "svc", lr, 3);
    assert_int_equal(store_write_logs(s, &lb), 0);
    uint8_t id[16];
    tid_of(1, id);
    keys ws = {0}, wl = {0};
    batch_keys(&b, &lb, id, &ws, &wl);
    assert_trace(s, id, &ws, &wl);
    /* the bodies are small: the strings live in the content table, once */
    sq_store *q = (sq_store *)s;
    int64_t body = 0;
    assert_int_equal(sq_query_int(q->wdb, "SELECT len FROM spans WHERE id = 1", &body), 0);
    assert_true(body > 0 && body < 400);
    int64_t n_rows = content_pieces(s);
    assert_true(n_rows > 5);
    /* the same batch again (other trace ids): no new content */
    lt_span sp2[12];
    memcpy(sp2, sp, sizeof sp);
    for (int i = 0; i < 12; i++)
        tid_of(2, sp2[i].trace_id);
    lt_trace_batch b2 = one_batch(a, "svc", NULL, sp2, 12);
    assert_int_equal(store_write_traces(s, &b2), 0);
    assert_int_equal(content_pieces(s), n_rows);
    uint8_t id2[16];
    tid_of(2, id2);
    keys ws2 = {0}, wl2 = {0};
    batch_keys(&b2, NULL, id2, &ws2, &wl2);
    assert_trace(s, id2, &ws2, &wl2);
    /* compressed: text compresses */
    int64_t stored = 0, raw = 0;
    assert_int_equal(sq_query_int(q->wdb, "SELECT sum(length(data)) FROM content", &stored), 0);
    assert_int_equal(sq_query_int(q->wdb, "SELECT sum(len) FROM content", &raw), 0);
    assert_true(stored < raw * 3 / 4);
    /* the attribute filter sees moved strings as they were */
    lt_trace_query lq = {.attr_key = LT_STR("again"), .attr_value = lt_str_c(big)};
    lt_trace_list l;
    assert_int_equal(store_list_traces(s, &lq, a, &l), 0);
    assert_int_equal(l.n, 2);
    /* the read-only opener, and after reopening */
    lt_store *r = open_store(dir);
    assert_trace(r, id, &ws, &wl);
    assert_trace(r, id2, &ws2, &wl2);
    store_close(r);
    store_close(s);
    s = open_store(dir);
    assert_trace(s, id, &ws, &wl);
    assert_int_equal(content_pieces(s), n_rows);
    keys_free(&ws);
    keys_free(&wl);
    keys_free(&ws2);
    keys_free(&wl2);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* An agent's conversation: each call resends the system prompt and the history so far. */
static void test_content_dedup(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    const char *system = text_of(a, 77, 1500);
    char *hist = arena_alloc(a, 1 << 16);
    size_t hl = 0;
    hist[hl++] = '[';
    int64_t before = content_pieces(s), after_first = 0;
    keys ws = {0}, wl = {0};
    lt_trace_batch bs[8];
    for (int turn = 0; turn < 8; turn++) {
        const char *user = msg_json(a, "user", 100 + (uint64_t)turn, 300);
        const char *answer = msg_json(a, "assistant", 200 + (uint64_t)turn, 400);
        /* input: the history and the new question; output: the answer */
        hl += (size_t)snprintf(hist + hl, (1 << 16) - hl, "%s%s", turn ? ", " : "", user);
        char *in = arena_alloc(a, hl + 2);
        memcpy(in, hist, hl);
        in[hl] = ']';
        in[hl + 1] = 0;
        char *out = arena_alloc(a, strlen(answer) + 3);
        snprintf(out, strlen(answer) + 3, "[%s]", answer);
        hl += (size_t)snprintf(hist + hl, (1 << 16) - hl, ", %s", answer);
        lt_span *sp = arena_calloc(a, 1, sizeof *sp);
        *sp = mk_span(10 + (uint32_t)turn, 1, 0, "chat", T0 + (uint64_t)turn, T0 + 100, 0);
        lt_kv *kv = arena_calloc(a, 3, sizeof *kv);
        kv[0] = (lt_kv){LT_STR("gen_ai.system_instructions"), val_str(system)};
        kv[1] = (lt_kv){LT_STR("gen_ai.input.messages"), val_str(in)};
        kv[2] = (lt_kv){LT_STR("gen_ai.output.messages"), val_str(out)};
        sp->attrs = (lt_attrs){kv, 3};
        bs[turn] = one_batch(a, "agent", NULL, sp, 1);
        assert_int_equal(store_write_traces(s, &bs[turn]), 0);
        /* new: the system prompt once, then per turn the question and the answer */
        assert_int_equal(content_pieces(s) - before, 1 + 2 * (turn + 1));
        /* counted from the second write: the first one creates the search index's tables,
         * and the schema change makes SQLite prepare the statement again (a second run) */
        if (turn == 0) {
            sqlite3_stmt_status(((sq_store *)s)->ws[W_C_FIND], SQLITE_STMTSTATUS_RUN, 1);
            after_first = content_pieces(s);
        }
    }
    /* repeats are answered from memory: the table was asked only about new content */
    sq_store *q = (sq_store *)s;
    assert_int_equal(sqlite3_stmt_status(q->ws[W_C_FIND], SQLITE_STMTSTATUS_RUN, 0),
                     content_pieces(s) - after_first);
    for (int turn = 0; turn < 8; turn++) {
        uint8_t id[16];
        tid_of(10 + (uint32_t)turn, id);
        batch_keys(&bs[turn], NULL, id, &ws, &wl);
        assert_trace(s, id, &ws, &wl);
        keys_free(&ws);
        keys_free(&wl);
    }
    /* a new store session finds the content through the table, not the cache */
    store_close(s);
    s = open_store(dir);
    int64_t n_rows = content_pieces(s), indexed = 0;
    assert_int_equal(
        sq_query_int(((sq_store *)s)->wdb, "SELECT count(*) FROM content_idx", &indexed), 0);
    assert_true(indexed > 0); /* most pieces are found through the index now */
    for (int turn = 0; turn < 8; turn++) {
        lt_span sp = bs[turn].rs[0].scopes[0].spans[0];
        tid_of(30 + (uint32_t)turn, sp.trace_id);
        lt_trace_batch b = one_batch(a, "agent", NULL, &sp, 1);
        assert_int_equal(store_write_traces(s, &b), 0);
        uint8_t id[16];
        tid_of(30 + (uint32_t)turn, id);
        batch_keys(&b, NULL, id, &ws, &wl);
        assert_trace(s, id, &ws, &wl);
        keys_free(&ws);
        keys_free(&wl);
    }
    assert_int_equal(content_pieces(s), n_rows);
    assert_true(sqlite3_stmt_status(((sq_store *)s)->ws[W_C_FIND], SQLITE_STMTSTATUS_RUN, 0) > 0);
    /* new content of one call goes into blocks of at most BLOCK_MAX bytes */
    int64_t blocks = content_rows(s), biggest = 0;
    lt_span many[30];
    for (int i = 0; i < 30; i++) {
        many[i] = mk_span(60, (uint64_t)i + 1, i ? 1 : 0, "x", T0, T0 + 1, 0);
        lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
        kv[0] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(text_of(a, 900 + (uint64_t)i, 2000))};
        many[i].attrs = (lt_attrs){kv, 1};
    }
    lt_trace_batch bm = one_batch(a, "agent", NULL, many, 30);
    assert_int_equal(store_write_traces(s, &bm), 0);
    assert_int_equal(content_rows(s) - blocks, 2); /* 60 KB of new pieces */
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, "SELECT max(len) FROM content", &biggest),
                     0);
    assert_true(biggest <= BLOCK_MAX);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

static int64_t content_rows_len(lt_store *s, size_t len)
{
    char sql[128];
    int64_t v = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM content WHERE len = %zu", len);
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, sql, &v), 0);
    return v;
}

static void write_with(lt_store *s, lt_arena *a, uint32_t trace, const char *value)
{
    lt_span *sp = arena_calloc(a, 1, sizeof *sp);
    *sp = mk_span(trace, 1, 0, "x", T0 + trace, T0 + trace + 10, 0);
    lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
    kv[0] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(value)};
    sp->attrs = (lt_attrs){kv, 1};
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, 1);
    assert_int_equal(store_write_traces(s, &b), 0);
}

/* Retention frees content nothing references any more, and keeps what newer spans use. */
static void test_content_retention(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    ((sq_store *)s)->seg_max = 1; /* a segment per call */
    const char *only_old = text_of(a, 1, 400), *shared = text_of(a, 2, 500);
    const char *only_new = text_of(a, 3, 600);
    write_with(s, a, 1, only_old);
    write_with(s, a, 2, shared);
    /* a log record referencing content too */
    lt_log_record lr[1] = {mk_log(3, 1, T0, only_old)};
    lt_log_batch lb = one_log_batch(a, "svc", lr, 1);
    assert_int_equal(store_write_logs(s, &lb), 0);
    usleep(20000);
    uint64_t mid = time_now_ns();
    usleep(20000);
    write_with(s, a, 4, shared);
    write_with(s, a, 5, only_new);
    assert_int_equal(content_rows_len(s, 400), 1);
    assert_int_equal(content_rows_len(s, 500), 1);
    lt_retention r = {.max_age_ns = 1000000000ull};
    assert_int_equal(store_enforce_retention(s, &r, mid + r.max_age_ns), 0);
    assert_int_equal(content_rows_len(s, 400), 0); /* freed */
    assert_int_equal(content_rows_len(s, 500), 1); /* still referenced by trace 4 */
    assert_int_equal(content_rows_len(s, 600), 1);
    assert_int_equal(spans_of(s, 1), 0);
    assert_int_equal(spans_of(s, 4), 1);
    uint8_t id[16];
    tid_of(4, id);
    lt_trace_data d;
    assert_int_equal(store_get_trace(s, id, a, &d), 0);
    assert_true(lt_str_eq_c(d.spans.rs[0].scopes[0].spans[0].attrs.items[0].value.u.s, shared));
    /* the freed content may come again: stored anew, read back */
    write_with(s, a, 6, only_old);
    assert_int_equal(content_rows_len(s, 400), 1);
    tid_of(6, id);
    assert_int_equal(store_get_trace(s, id, a, &d), 0);
    assert_true(lt_str_eq_c(d.spans.rs[0].scopes[0].spans[0].attrs.items[0].value.u.s, only_old));
    /* everything old goes: no content left but what the newest use */
    r.max_age_ns = 1;
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns() + 1000000000ull), 0);
    assert_int_equal(content_rows(s), 0);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- kill -9 with views and content --------------------------------------------------------- */

static void kill_batch(lt_arena *a, uint32_t k, lt_trace_batch *b, const char **sys)
{
    lt_span *sp = arena_calloc(a, 6, sizeof *sp);
    for (uint32_t i = 0; i < 6; i++) {
        sp[i] = mk_span(k, i + 1, i ? 1 : 0, i % 2 ? "chat" : "tool", T0 + k * 1000000000ull + i,
                        T0 + k * 1000000000ull + 1000 + i * 997, 0);
        if (i % 3) {
            char *conv = arena_alloc(a, 16);
            snprintf(conv, 16, "c%u", k % 7);
            sp[i].genai = mk_view(a, &VSPEC(.req = i % 2 ? "m1" : "m2", .conv = conv,
                                            .tok = {k % 100, i, -1, -1, -1}, .cost = 0.01 * i,
                                            .ttft = 0.1 * i));
        }
        lt_kv *kv = arena_calloc(a, 2, sizeof *kv);
        kv[0] = (lt_kv){LT_STR("gen_ai.system_instructions"), val_str(sys[k % 2])};
        kv[1] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(text_of(a, k * 10 + i, 300))};
        sp[i].attrs = (lt_attrs){kv, 2};
    }
    *b = one_batch(a, "svc", NULL, sp, 6);
}

static void test_genai_kill_reopen(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_arena *pa = arena_new();
    const char *sys[2] = {text_of(pa, 500, 1200), text_of(pa, 501, 900)};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        lt_store *s = NULL;
        char err[256];
        if (store_open(dir, &s, err, sizeof err)) _exit(1);
        lt_arena *a = arena_new();
        for (uint32_t k = 0;; k++) {
            lt_trace_batch b;
            kill_batch(a, k, &b, sys);
            if (store_write_traces(s, &b)) _exit(2);
            if (write(fds[1], &k, sizeof k) != sizeof k) _exit(3);
            arena_reset(a);
        }
    }
    close(fds[1]);
    uint32_t k = 0, acked = 0;
    while (read(fds[0], &k, sizeof k) == sizeof k) {
        acked = k;
        if (k >= 400) break;
    }
    kill(pid, SIGKILL);
    while (read(fds[0], &k, sizeof k) == sizeof k)
        acked = k;
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    for (uint32_t t = 0; t <= acked; t++) {
        lt_trace_batch b;
        kill_batch(a, t, &b, sys);
        uint8_t id[16];
        tid_of(t, id);
        keys ws = {0}, wl = {0};
        batch_keys(&b, NULL, id, &ws, &wl);
        assert_trace(s, id, &ws, &wl);
        assert_views(s, id, b.rs[0].scopes[0].spans, 6);
        keys_free(&ws);
        keys_free(&wl);
        arena_reset(a);
    }
    /* the aggregates describe exactly the views stored (acknowledged or not) */
    int64_t views = 0;
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, "SELECT count(*) FROM genai", &views), 0);
    assert_true(views >= (int64_t)(acked + 1) * 4);
    lt_genai_query q = {.group_by = LT_GROUP_MODEL};
    lt_genai_group *out;
    uint32_t n;
    assert_int_equal(store_genai_summary(s, &q, a, &out, &n), 0);
    uint64_t calls = 0;
    for (uint32_t i = 0; i < n; i++)
        calls += out[i].calls;
    assert_int_equal(calls, views);
    assert_rollups_consistent(s);
    /* and it goes on */
    lt_trace_batch b;
    kill_batch(a, 100000, &b, sys);
    assert_int_equal(store_write_traces(s, &b), 0);
    assert_int_equal(spans_of(s, 100000), 6);
    /* the pieces not in the hash index yet are all known to the writer again (rebuilt from
     * the blocks past the mark), so none is stored twice */
    sq_store *sq = (sq_store *)s;
    int64_t upto = 0;
    assert_int_equal(
        sq_query_int(sq->wdb, "SELECT v FROM meta WHERE k = 'content_indexed_upto'", &upto), 0);
    sqlite3_stmt *st;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT dir FROM content WHERE id > %lld", (long long)upto);
    assert_int_equal(sqlite3_prepare_v2(sq->wdb, sql, -1, &st, NULL), SQLITE_OK);
    int64_t unindexed = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(st, 0);
        for (int i = 0; i < sqlite3_column_bytes(st, 0); i++)
            unindexed += !(p[i] & 0x80);
    }
    sqlite3_finalize(st);
    assert_int_equal(sq->content->pend.n, unindexed);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    arena_free(pa);
    remove_dir(dir);
}

/* Every allocation of a write, a read, a summary or rederive may fail, with views and
 * content in play: a write then stores nothing, the others say LT_ENOMEM, and everything
 * stays consistent. */
static void test_genai_allocation_failures(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    const char *sys[2] = {text_of(a, 600, 1200), text_of(a, 601, 900)};
    gs_make();
    gs_write(s, a, 0, 60);
    int ok = 0;
    uint32_t first_ok = 0;
    for (long k = 0; k < 3000 && ok < 3; k++) {
        uint32_t trace = 1000 + (uint32_t)k;
        lt_trace_batch b;
        kill_batch(a, trace, &b, sys);
        alloc_fail_after(k);
        int rc = store_write_traces(s, &b);
        alloc_fail_after(-1);
        if (rc == 0) {
            if (!ok++) first_ok = trace;
            uint8_t id[16];
            tid_of(trace, id);
            assert_views(s, id, b.rs[0].scopes[0].spans, 6);
        } else {
            assert_int_equal(rc, LT_ENOMEM);
            assert_int_equal(spans_of(s, trace), 0);
        }
        arena_reset(a);
        sys[0] = text_of(a, 600, 1200);
        sys[1] = text_of(a, 601, 900);
    }
    assert_true(ok > 0);
    uint8_t id[16];
    tid_of(first_ok, id);
    int ok_reads = 0;
    for (long k = 0; k < 3000 && ok_reads < 3; k++) {
        lt_arena *ra = arena_new();
        lt_trace_data d;
        lt_trace_list l;
        lt_genai_group *g;
        uint32_t n;
        lt_trace_query q = {.model = LT_STR("m1")};
        lt_genai_query gq = {.group_by = LT_GROUP_USER};
        alloc_fail_after(k);
        int rc = store_get_trace(s, id, ra, &d);
        int lrc = store_list_traces(s, &q, ra, &l);
        int grc = store_genai_summary(s, &gq, ra, &g, &n);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        assert_true(lrc == 0 || lrc == LT_ENOMEM);
        assert_true(grc == 0 || grc == LT_ENOMEM);
        if (rc == 0 && lrc == 0 && grc == 0) {
            ok_reads++;
            assert_int_equal(d.spans.n_spans, 6);
            assert_true(l.n > 0);
        }
        arena_free(ra);
    }
    assert_true(ok_reads > 0);
    int ok_rederive = 0;
    for (long k = 0; k < 3000 && ok_rederive < 2; k++) {
        rd_ctx c = {0};
        alloc_fail_after(k);
        int rc = store_rederive(s, reprice, &c, NULL, NULL);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        ok_rederive += rc == 0;
    }
    assert_true(ok_rederive > 0);
    assert_rollups_consistent(s);
    store_close(s);
    s = open_store(dir);
    assert_rollups_consistent(s);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* A segment that lost its tail (power loss): the views of the batches dropped at open leave
 * the rollups too, though a later call had written them there. */
static void test_genai_lost_tail(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    gs_make();
    gs_write(s, a, 0, 100);
    uint64_t keep = ((sq_store *)s)->cur_size;
    gs_write(s, a, 100, 300); /* lost below; its views reach the rollups with the next call */
    gs_write(s, a, 300, 310);
    assert_true(((sq_store *)s)->genai->rolled_upto > 100);
    store_close(s);
    char path[1024];
    snprintf(path, sizeof path, "%s/blobs-00000001.seg", dir);
    assert_int_equal(truncate(path, (off_t)keep), 0);
    s = open_store(dir);
    gs_check_all(s, 100);
    assert_rollups_consistent(s);
    /* the rows come again, with the same ids: first a few (waiting in memory), then more */
    gs_write(s, a, 100, 110);
    gs_check_all(s, 110);
    gs_write(s, a, 110, 200);
    gs_check_all(s, 200);
    assert_rollups_consistent(s);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- schema -----------------------------------------------------------------------------------
 */

static void test_old_schema_refused(void **state)
{
    (void)state;
    char *dir = make_dir();
    store_close(open_store(dir));
    char path[1024];
    snprintf(path, sizeof path, "%s/llmtrace.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    lt_store *s = NULL;
    char err[512];
    assert_int_equal(store_open(dir, &s, err, sizeof err), LT_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err, "older llmtrace"));
    remove_dir(dir);
}

/* ---- internals ------------------------------------------------------------------------------- */

static void test_genai_internals(void **state)
{
    (void)state;
    /* SipHash-2-4-128 reference vectors (key 00..0f, message 00..len-1) */
    static const char *vec[4] = {
        "a3817f04ba25a8e66df67214c7550293", "da87c1d86b99af44347659119b22fc45",
        "8177228da4a45dc7fca38bdef60affe4", "9c70b60c5267a94e5f33b6b02985ed51"};
    uint8_t m[4] = {0, 1, 2, 3};
    for (int n = 0; n < 4; n++) {
        uint64_t h[2];
        siphash128(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull, m, (size_t)n, h);
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned)(h[i / 8] >> (8 * (i % 8))) & 0xff);
        assert_string_equal(hex, vec[n]);
    }
    /* a histogram bucket's middle is within 4% of every value in it */
    for (uint64_t v = 1; v < (UINT64_C(1) << 62); v = v * 3 / 2 + 1) {
        double mid = st_hist_value(st_hist_bucket((double)v));
        assert_true(fabs(mid - (double)v) <= 0.041 * (double)v);
    }
    assert_int_equal(st_hist_bucket(0), 0);
    /* JSON arrays: the pieces put back together are the string */
    sq_pieces c = {0};
    const char *cases[] = {
        "[1,2]",
        "[ {\"a\":\"]\"} , [\"x\\\"\"] ]",
        "[",
        "[]",
        "x[1]",
        "[1] x",
        ("[{\"role\":\"user\",\"content\":\"0123456789012345678901234567890123456789"
         "0123456789012345678901234567890\"}, 1]")};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        int rc = sq_split_json_array(&c, cases[i], n);
        assert_true(rc >= 0);
        if (rc == 1) {
            size_t at = 0;
            for (size_t k = 0; k < c.n; k++) {
                assert_int_equal(c.v[k].off, at);
                at += c.v[k].len;
            }
            assert_int_equal(at, n);
        }
        assert_int_equal(rc, i == 6);
    }
    /* an element whose strings hold escaped quotes and brackets is still one element */
    const char *esc =
        "[{\"c\":\"a \\\" ] , [ b \\\\\",\"d\":\"0123456789012345678901234567890123456789"
        "0123456789\"},{\"e\":\"0123456789012345678901234567890123456789012345678901"
        "2345678901234\"}]";
    assert_int_equal(sq_split_json_array(&c, esc, strlen(esc)), 1);
    assert_int_equal(c.n, 5); /* [, element, ",", element, ] */
    assert_true(c.v[1].content && c.v[3].content);
    assert_int_equal(esc[c.v[1].off], '{');
    assert_int_equal(esc[c.v[1].off + c.v[1].len - 1], '}');
    assert_int_equal(esc[c.v[2].off], ',');
    lt_free(c.v);
    /* ranges cut at a row */
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    sq_store *q = (sq_store *)s;
    lt_buf in = {0}, out = {0};
    ranges_of(&in, 3, (int64_t[]){1, 5, 10, 20, 30, 30});
    sql_fn(q, "lt_ranges_cut", &in, NULL, 12, &out);
    assert_ranges(&out, 2, (int64_t[]){1, 5, 10, 11});
    /* gdims: union, a cap per kind, then an overflow mark */
    gdims_set d1 = {0}, d2 = {0};
    char names[40][8];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], 8, "c%02d", i);
        gdims_add(i < 10 ? &d1 : &d2, GD_CONVERSATION, lt_str_c(names[i]));
    }
    gdims_add(&d1, GD_MODEL, LT_STR("m"));
    buf_reset(&in);
    buf_reset(&out);
    sq_gdims_encode(&d1, &in);
    lt_buf in2 = {0};
    sq_gdims_encode(&d2, &in2);
    sql_fn(q, "lt_gdims_merge", &in, &in2, 0, &out);
    lt_trace_query fq = {.conversation = LT_STR("c03")};
    bool unsure;
    assert_true(sq_gdims_match((const uint8_t *)out.data, out.len, &fq, &unsure));
    assert_false(unsure);
    fq.conversation = LT_STR("c19"); /* past the cap: maybe */
    assert_true(sq_gdims_match((const uint8_t *)out.data, out.len, &fq, &unsure));
    assert_true(unsure);
    fq = (lt_trace_query){.model = LT_STR("x")};
    assert_false(sq_gdims_match((const uint8_t *)out.data, out.len, &fq, &unsure));
    buf_free(&in);
    buf_free(&in2);
    buf_free(&out);
    store_close(s);
    remove_dir(dir);
}

/* ---- free text ---------------------------------------------------------------------------- */

/* Words of the generated texts; "bos" and "eos" open and close every text and are never
 * asked for, so that no phrase asked for can span two strings the index joined. */
static const char *sx_words[] = {"order",  "refund",  "carrier", "parcel", "invoice",  "delay",
                                 "label",  "courier", "ticket",  "status", "policy",   "warranty",
                                 "return", "address", "receipt", "update", "shipping", "payment",
                                 "the",    "a",       "is",      "for",    "with",     "and"};
enum { SX_WORDS = sizeof sx_words / sizeof sx_words[0] };
static const char *sx_names[] = {"planner", "coder", "retriever", "summarizer", "router"};

static uint64_t sx_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* "bos w w w ... eos", about n bytes, from seed. */
static char *sx_text(lt_arena *a, uint64_t seed, size_t n)
{
    lt_buf b = {0};
    uint64_t x = hash64(&seed, sizeof seed, 5) | 1;
    buf_append_c(&b, "bos");
    while (b.len + 4 < n) {
        buf_putc(&b, ' ');
        buf_append_c(&b, sx_words[sx_next(&x) % SX_WORDS]);
    }
    buf_append_c(&b, " eos");
    char *p = arena_alloc(a, b.len + 1);
    memcpy(p, b.data, b.len + 1);
    buf_free(&b);
    return p;
}

/* The indexed strings of the test's traces, as the index rules say (store.h), kept per
 * trace for the brute-force answer. */
typedef struct {
    char *s[64];
    int n;
} sx_strs;

typedef struct {
    sx_strs idx;  /* strings the index must find */
    sx_strs skip; /* strings it must not (attributes under 64 bytes) */
    uint64_t start;
} sx_trace;

static void sx_keep(sx_strs *l, const char *s)
{
    if (l->n < 64) l->s[l->n++] = strdup(s);
}

/* Lower-cased words of s (ASCII letters and digits), into w; their count. */
static int sx_tokens(const char *s, char w[][32], int max)
{
    int n = 0;
    for (const char *p = s; *p && n < max;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        int k = 0;
        while (isalnum((unsigned char)*p)) {
            if (k < 31) w[n][k++] = (char)tolower((unsigned char)*p);
            p++;
        }
        if (k) w[n++][k] = 0;
    }
    return n;
}

/* Whether s holds the words of q in order, the last one as a prefix (the index's rule). */
static bool sx_phrase(const char *s, const char *q)
{
    static char w[4096][32], qw[8][32];
    int n = sx_tokens(s, w, 4096), k = sx_tokens(q, qw, 8);
    if (!k) return false;
    for (int i = 0; i + k <= n; i++) {
        int j = 0;
        while (j < k - 1 && !strcmp(w[i + j], qw[j]))
            j++;
        if (j == k - 1 && !strncmp(w[i + j], qw[j], strlen(qw[j]))) return true;
    }
    return false;
}

/* The traces whose text matches, per the store, as a sorted list of trace numbers; also
 * checks the order (newest first) and that every page of limit `page` adds up to it. */
static int sx_search(lt_store *s, lt_trace_query q, int *out, int max, uint32_t n_traces,
                     uint32_t page)
{
    lt_arena *a = arena_new();
    lt_trace_list l;
    q.limit = 1000;
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    assert_false(l.more);
    int n = 0;
    for (uint32_t i = 0; i < l.n; i++) {
        if (i) {
            const lt_trace_summary *p = &l.items[i - 1], *c = &l.items[i];
            assert_true(p->start_unix_nano > c->start_unix_nano ||
                        (p->start_unix_nano == c->start_unix_nano &&
                         memcmp(p->trace_id, c->trace_id, 16) > 0));
        }
        for (uint32_t t = 0; t < n_traces; t++) {
            uint8_t id[16];
            tid_of(7000 + t, id);
            if (!memcmp(id, l.items[i].trace_id, 16) && n < max) out[n++] = (int)t;
        }
    }
    assert_int_equal(n, l.n);
    /* the same through pages */
    if (page) {
        uint32_t seen = 0;
        q.limit = page;
        for (int guard = 0; guard < 1000; guard++) {
            lt_trace_list p;
            assert_int_equal(store_list_traces(s, &q, a, &p), 0);
            for (uint32_t i = 0; i < p.n; i++, seen++)
                assert_memory_equal(p.items[i].trace_id, l.items[seen].trace_id, 16);
            if (!p.more) break;
            q.has_cursor = true;
            q.cursor_start = p.next_start;
            memcpy(q.cursor_trace_id, p.next_trace_id, 16);
        }
        assert_int_equal(seen, l.n);
    }
    arena_free(a);
    return n;
}

static int int_cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

enum { SX_TRACES = 48 };
static sx_trace sx[SX_TRACES];

/* Writes the test traces: each in one or two calls, spans with names, attributes short,
 * middling and long (plain, and JSON arrays of messages that the index cuts), events,
 * status messages; some traces with log records too. */
static void sx_write(lt_store *s, lt_arena *a, uint32_t from, uint32_t to)
{
    for (uint32_t t = from; t < to; t++) {
        uint64_t x = hash64(&t, sizeof t, 11) | 1;
        sx_trace *tr = &sx[t];
        tr->start = T0 + (uint64_t)(t % 7) * 1000 + t; /* ties in start broken by id */
        for (int call = 0; call < 1 + (int)(t % 2); call++) {
            int ns = 1 + (int)(sx_next(&x) % 3);
            lt_span *sp = arena_calloc(a, (size_t)ns, sizeof *sp);
            for (int i = 0; i < ns; i++) {
                uint64_t id = (uint64_t)call * 10 + (uint64_t)i + 1;
                sp[i] = mk_span(7000 + t, id, id == 1 ? 0 : 1, sx_names[sx_next(&x) % 5],
                                tr->start + id, tr->start + 5000, 0);
                sx_keep(&tr->idx, sp[i].name.ptr);
                lt_kv *kv = arena_calloc(a, 4, sizeof *kv);
                uint32_t k = 0;
                uint64_t seed = (uint64_t)t * 1000 + id * 10;
                const char *sh = sx_text(a, seed + 1, 40);
                kv[k++] = (lt_kv){LT_STR("app.note"), val_str(sh)};
                sx_keep(&tr->skip, sh);
                if (sx_next(&x) % 2) {
                    const char *mid = sx_text(a, seed + 2, 150);
                    kv[k++] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(mid)};
                    sx_keep(&tr->idx, mid);
                }
                if (sx_next(&x) % 2) {
                    const char *big = sx_text(a, seed + 3, 400);
                    kv[k++] = (lt_kv){LT_STR("gen_ai.completion"), val_str(big)};
                    sx_keep(&tr->idx, big);
                }
                if (sx_next(&x) % 2) {
                    /* messages: one shared by many traces (deduplicated), one of its own */
                    const char *m1 = sx_text(a, t % 5, 120), *m2 = sx_text(a, seed + 4, 100);
                    size_t len = strlen(m1) + strlen(m2) + 128;
                    char *arr = arena_alloc(a, len);
                    snprintf(arr, len,
                             "[{\"role\":\"system\",\"content\":\"%s\"},{\"role\":\"user\","
                             "\"content\":\"%s\"}]",
                             m1, m2);
                    kv[k++] = (lt_kv){LT_STR("gen_ai.input.messages"), val_str(arr)};
                    sx_keep(&tr->idx, m1);
                    sx_keep(&tr->idx, m2);
                }
                sp[i].attrs = (lt_attrs){kv, k};
                if (sx_next(&x) % 3 == 0) {
                    lt_event *ev = arena_calloc(a, 1, sizeof *ev);
                    const char *et = sx_text(a, seed + 5, 30); /* short, yet indexed */
                    ev->name = LT_STR("note");
                    ev->time_unix_nano = tr->start + 1;
                    lt_kv *ekv = arena_calloc(a, 1, sizeof *ekv);
                    ekv[0] = (lt_kv){LT_STR("text"), val_str(et)};
                    ev->attrs = (lt_attrs){ekv, 1};
                    sp[i].events.items = ev;
                    sp[i].events.n = 1;
                    sx_keep(&tr->idx, et);
                }
                if (sx_next(&x) % 5 == 0) {
                    sp[i].status_code = LT_STATUS_ERROR;
                    sp[i].status_message = lt_str_c(sx_text(a, seed + 6, 30));
                    sx_keep(&tr->idx, sp[i].status_message.ptr);
                }
            }
            lt_trace_batch b = one_batch(a, t % 3 ? "svc-a" : "svc-b", NULL, sp, (uint32_t)ns);
            assert_int_equal(store_write_traces(s, &b), 0);
        }
        if (t % 4 == 0) {
            const char *body = sx_text(a, (uint64_t)t * 1000 + 7, 30);
            lt_log_record lr = mk_log(7000 + t, 1, tr->start + 2, body);
            lt_log_batch lb = one_log_batch(a, "svc-a", &lr, 1);
            assert_int_equal(store_write_logs(s, &lb), 0);
            sx_keep(&tr->idx, body);
        }
        arena_reset(a);
    }
}

static void sx_free(void)
{
    for (int t = 0; t < SX_TRACES; t++) {
        for (int i = 0; i < sx[t].idx.n; i++)
            free(sx[t].idx.s[i]);
        for (int i = 0; i < sx[t].skip.n; i++)
            free(sx[t].skip.s[i]);
    }
    memset(sx, 0, sizeof sx);
}

/* A query from the strings of trace t (indexed ones, or skipped ones with skip): one to
 * three words inside a string, the last maybe cut to a prefix, letters in random case. */
static void sx_query(uint64_t *x, bool skip, char *q, size_t qlen)
{
    const sx_strs *l = NULL;
    for (int tries = 0; tries < 100 && (!l || !l->n); tries++) {
        const sx_trace *tr = &sx[sx_next(x) % SX_TRACES];
        l = skip ? &tr->skip : &tr->idx;
    }
    static char w[4096][32];
    int n = sx_tokens(l->s[sx_next(x) % (uint64_t)l->n], w, 4096);
    int k = 1 + (int)(sx_next(x) % 3);
    q[0] = 0;
    if (n < k + 2) {
        snprintf(q, qlen, "%s", w[0]); /* a name */
        return;
    }
    int at = 1 + (int)(sx_next(x) % (uint64_t)(n - k - 1)); /* never bos or eos */
    size_t len = 0;
    for (int j = 0; j < k; j++) {
        char word[32];
        snprintf(word, sizeof word, "%s", w[at + j]);
        if (j == k - 1 && strlen(word) > 3 && sx_next(x) % 2) word[2 + sx_next(x) % 2] = 0;
        for (char *c = word; *c; c++)
            if (sx_next(x) % 3 == 0) *c = (char)toupper((unsigned char)*c);
        len += (size_t)snprintf(q + len, qlen - len, "%s%s", j ? " " : "", word);
    }
}

/* Every query's traces, from the store, against the brute-force answer. */
static void sx_check(lt_store *s, uint32_t n_traces, int queries, uint64_t seed)
{
    uint64_t x = seed | 1;
    int some = 0, none = 0;
    for (int k = 0; k < queries; k++) {
        char q[256];
        sx_query(&x, k % 4 == 3, q, sizeof q);
        int want[SX_TRACES], nw = 0, got[SX_TRACES];
        for (uint32_t t = 0; t < n_traces; t++)
            for (int i = 0; i < sx[t].idx.n; i++)
                if (sx_phrase(sx[t].idx.s[i], q)) {
                    want[nw++] = (int)t;
                    break;
                }
        lt_trace_query tq = {.text = lt_str_c(q)};
        int ng = sx_search(s, tq, got, SX_TRACES, n_traces, k % 5 == 0 ? 3 : 0);
        qsort(got, (size_t)ng, sizeof *got, int_cmp);
        if (ng != nw || memcmp(got, want, sizeof(int) * (size_t)nw)) {
            fprintf(stderr, "query '%s': %d traces, want %d\n", q, ng, nw);
            fail();
        }
        some += nw > 0;
        none += nw == 0;
    }
    /* the queries tell traces apart: many find some, some find none */
    assert_true(some > queries / 2 && none > 0);
}

static int64_t sq_count(lt_store *s, const char *sql)
{
    int64_t v = -1;
    assert_int_equal(sq_query_int(((sq_store *)s)->wdb, sql, &v), 0);
    return v;
}

static void test_search(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    sx_write(s, a, 0, SX_TRACES / 2);
    /* some text waits for the index, the rest is indexed: both are searched */
    assert_true(sq_count(s, "SELECT count(*) FROM search_pending") > 0);
    assert_true(sq_count(s, "SELECT v FROM meta WHERE k = 'search_doc_upto'") > 0);
    sx_check(s, SX_TRACES / 2, 80, 1);
    sx_write(s, a, SX_TRACES / 2, SX_TRACES);
    sx_check(s, SX_TRACES, 120, 2);
    /* a reader in another process sees the same; so does the store reopened (closing
     * indexed what waited) */
    lt_store *r = NULL;
    char err[256];
    assert_int_equal(store_open_read_only(dir, &r, err, sizeof err), 0);
    sx_check(r, SX_TRACES, 40, 3);
    store_close(r);
    store_close(s);
    s = open_store(dir);
    assert_int_equal(sq_count(s, "SELECT count(*) FROM search_pending"), 0);
    sx_check(s, SX_TRACES, 80, 4);
    /* the message every fifth trace shares is one document, referenced by each run */
    assert_int_equal(sq_count(s, "SELECT count(*) FROM (SELECT doc FROM sref_1 GROUP BY doc"
                                 " HAVING count(*) >= 6)") > 0,
                     1);
    /* with other filters: service, errors, time */
    int got[SX_TRACES], want = 0;
    for (int t = 0; t < SX_TRACES; t += 3) /* svc-b's traces with some text indexed */
        for (int i = 0; i < sx[t].idx.n; i++)
            if (strstr(sx[t].idx.s[i], "bos")) {
                want++;
                break;
            }
    lt_trace_query q = {.text = LT_STR("bos"), .service = LT_STR("svc-b")};
    int n = sx_search(s, q, got, SX_TRACES, SX_TRACES, 2);
    assert_int_equal(n, want);
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i] % 3, 0);
    q = (lt_trace_query){.text = LT_STR("Bos"), .start_min = T0 + 3000, .errors_only = true};
    n = sx_search(s, q, got, SX_TRACES, SX_TRACES, 0);
    assert_true(n > 0);
    for (int i = 0; i < n; i++)
        assert_true(sx[got[i]].start >= T0 + 3000);
    /* words of attributes under 64 bytes are not indexed, nor are unknown ones */
    q = (lt_trace_query){.text = LT_STR("zebra")};
    assert_int_equal(sx_search(s, q, got, SX_TRACES, SX_TRACES, 0), 0);
    store_close(s);
    sx_free();
    arena_free(a);
    remove_dir(dir);
}

/* One span with the given attribute value (and name); its trace number. */
static uint32_t one_text(lt_store *s, lt_arena *a, uint32_t trace, const char *name,
                         const char *value)
{
    lt_span *sp = arena_calloc(a, 1, sizeof *sp);
    *sp = mk_span(trace, 1, 0, name, T0 + trace, T0 + trace + 10, 0);
    lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
    kv[0] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(value)};
    sp->attrs = (lt_attrs){kv, 1};
    lt_trace_batch b = one_batch(a, "svc", NULL, sp, 1);
    assert_int_equal(store_write_traces(s, &b), 0);
    return trace;
}

/* How many traces list_traces finds for text (rc when it fails). */
static int found(lt_store *s, const char *text, int *rc)
{
    lt_arena *a = arena_new();
    lt_trace_query q = {.text = lt_str_c(text), .limit = 1000};
    lt_trace_list l = {0};
    *rc = store_list_traces(s, &q, a, &l);
    arena_free(a);
    return (int)l.n;
}

static int found_ok(lt_store *s, const char *text)
{
    int rc, n = found(s, text, &rc);
    assert_int_equal(rc, 0);
    return n;
}

/* What text is made of: JSON escapes, accents and case, long words, odd queries. */
static void test_search_text(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    one_text(s, a, 1, "chat",
             "[{\"role\":\"user\",\"content\":\"Un caf\\u00e9 au lait, please.\\nSure: \\\"Coming"
             " right up\\\" \\ud83d\\ude00 smile\"}]");
    char word[201];
    memset(word, 'x', 200);
    word[200] = 0;
    char *long_word = arena_alloc(a, 300);
    snprintf(long_word, 300, "the base64 blob %s follows and ends here", word);
    one_text(s, a, 2, "tool", long_word);
    one_text(s, a, 3, "Ünïcode span", "short");
    assert_int_equal(found_ok(s, "café au"), 1);
    assert_int_equal(found_ok(s, "CAFE AU LAIT"), 1);
    assert_int_equal(found_ok(s, "please sure"), 1);     /* \n is a blank */
    assert_int_equal(found_ok(s, "coming right up"), 1); /* \" too */
    assert_int_equal(found_ok(s, "up smile"), 1);        /* an emoji is no word */
    assert_int_equal(found_ok(s, "nsure"), 0);
    assert_int_equal(found_ok(s, "lait please"), 1);
    assert_int_equal(found_ok(s, "please lait"), 0); /* order counts */
    assert_int_equal(found_ok(s, "pleas"), 1);       /* the last word is a prefix ... */
    assert_int_equal(found_ok(s, "pleas sure"), 0);  /* ... only the last */
    /* a long word is kept to its first 64 bytes, what follows it is found */
    memset(word, 'x', 64);
    word[64] = 0;
    assert_int_equal(found_ok(s, word), 1);
    assert_int_equal(found_ok(s, "follows and ends"), 1);
    /* span names, accents and case folded */
    assert_int_equal(found_ok(s, "unicode SPAN"), 1);
    assert_int_equal(found_ok(s, "short"), 0); /* an attribute under 64 bytes */
    /* queries the index takes as plain words */
    assert_int_equal(found_ok(s, "\"coming\" right"), 1);
    assert_int_equal(found_ok(s, "coming OR nothing"), 0);
    assert_int_equal(found_ok(s, "???"), 0);
    assert_int_equal(found_ok(s, "NEAR(cafe lait)"), 0);
    assert_int_equal(found_ok(s, "chat*"), 1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* Bounds, retention and recovery of the index. */
static void test_search_bounds(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    /* more references to matching text than one search examines */
    const char *common = "a common message that every one of these traces carries along, long"
                         " enough to be indexed";
    for (uint32_t t = 0; t < LT_SQLITE_SEARCH_REFS + 1; t += 50) {
        lt_span sp[50];
        for (uint32_t i = 0; i < 50; i++) {
            sp[i] = mk_span(100 + t + i, 1, 0, "root", T0 + t + i, T0 + t + i + 10, 0);
            lt_kv *kv = arena_calloc(a, 1, sizeof *kv);
            kv[0] = (lt_kv){LT_STR("gen_ai.prompt"), val_str(common)};
            sp[i].attrs = (lt_attrs){kv, 1};
        }
        lt_trace_batch b = one_batch(a, "svc", NULL, sp, 50);
        assert_int_equal(store_write_traces(s, &b), 0);
        arena_reset(a);
    }
    int rc;
    found(s, "common message", &rc);
    assert_int_equal(rc, LT_ETOOBIG);
    lt_trace_query q = {.text = LT_STR("common message")};
    lt_trace_stats ts;
    assert_int_equal(store_trace_stats(s, &q, 5, a, &ts), LT_ETOOBIG);
    assert_int_equal(found_ok(s, "carries along there"), 0);
    store_close(s);
    remove_dir(dir);

    /* retention: deleted traces are not found, a generation goes with its segment */
    dir = make_dir();
    s = open_store(dir);
    lt_retention r = {.max_bytes = 1u << 20};
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns()), 0);
    for (uint32_t t = 0; t < 300; t++) {
        char w[64];
        snprintf(w, sizeof w, "%s word%u", t < 150 ? "early" : "late", t);
        write_simple(s, a, t, 2, T0 + t, 2000);
        one_text(s, a, 1000 + t, w, "x");
        arena_reset(a);
    }
    int64_t gens = sq_count(s, "SELECT count(*) FROM sqlite_master WHERE name GLOB 'sref_*'");
    assert_true(gens > 2);
    assert_int_equal(found_ok(s, "early"), 150);
    assert_int_equal(store_enforce_retention(s, &r, time_now_ns()), 0);
    assert_int_equal(spans_of(s, 0), 0);
    int early = found_ok(s, "early"), late = found_ok(s, "late");
    assert_true(early < 150 && late > 0);
    assert_int_equal(found_ok(s, "word0"), 0);
    assert_int_equal(found_ok(s, "word299"), 1);
    assert_true(sq_count(s, "SELECT count(*) FROM sqlite_master WHERE name GLOB 'sref_*'") < gens);
    /* what is left of each generation is what a trace still stored has */
    lt_trace_list l;
    q = (lt_trace_query){.text = LT_STR("early"), .limit = 1000};
    assert_int_equal(store_list_traces(s, &q, a, &l), 0);
    for (uint32_t i = 0; i < l.n; i++)
        assert_int_equal(store_get_trace(s, l.items[i].trace_id, a, &(lt_trace_data){0}), 0);
    assert_check_ok(s, NULL, -1);
    store_close(s);
    remove_dir(dir);

    /* a segment that lost its tail: the lost runs' ids go to new rows, which must not be
     * found by the lost text */
    dir = make_dir();
    s = open_store(dir);
    one_text(s, a, 1, "kept", "x");
    uint64_t keep = ((sq_store *)s)->cur_size;
    one_text(s, a, 2, "lost", "x");
    store_close(s);
    char path[1024];
    snprintf(path, sizeof path, "%s/blobs-00000001.seg", dir);
    assert_int_equal(truncate(path, (off_t)keep), 0);
    s = open_store(dir);
    assert_int_equal(found_ok(s, "lost"), 0);
    one_text(s, a, 3, "again", "x");
    assert_int_equal(found_ok(s, "lost"), 0);
    assert_int_equal(found_ok(s, "again"), 1);
    assert_int_equal(found_ok(s, "kept"), 1);
    store_close(s);
    remove_dir(dir);

    /* killed with text waiting for the index: it waits in the database, not in memory */
    dir = make_dir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lt_store *c = NULL;
        char err[256];
        if (store_open(dir, &c, err, sizeof err)) _exit(2);
        one_text(c, a, 1, "written before the kill", "x");
        _exit(0); /* no close: nothing is flushed */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s = open_store(dir);
    assert_true(sq_count(s, "SELECT count(*) FROM search_pending") > 0);
    assert_int_equal(found_ok(s, "before the kill"), 1);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- trace stats ---------------------------------------------------------------------- */

static int cost_bucket_of(double c)
{
    static const double b[] = {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3,
                               2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1,  0.2,  0.5,  1,    2,
                               5,    10,   20,   50,   100,  200,  500,  1000, 2000};
    if (!(c > 0)) return 0;
    int i = 1;
    while (i < (int)(sizeof b / sizeof b[0]) && c >= b[i])
        i++;
    return i;
}

typedef struct {
    uint32_t t;
    double cost;
    uint64_t dur, start;
    uint8_t id[16];
    bool svc_b;
} st_item;

/* Ranks as the store does: value descending, then newer first. */
static int st_rank(const st_item *a, const st_item *b, bool by_cost)
{
    double va = by_cost ? a->cost : (double)a->dur, vb = by_cost ? b->cost : (double)b->dur;
    if (va != vb) return va > vb ? -1 : 1;
    if (a->start != b->start) return a->start > b->start ? -1 : 1;
    return -memcmp(a->id, b->id, 16);
}

static int st_by_start(const void *pa, const void *pb)
{
    const st_item *a = pa, *b = pb;
    if (a->start != b->start) return a->start > b->start ? -1 : 1;
    return -memcmp(a->id, b->id, 16);
}

static int st_by_cost(const void *a, const void *b)
{
    return st_rank(a, b, true);
}

static int st_by_dur(const void *a, const void *b)
{
    return st_rank(a, b, false);
}

static void st_check(lt_store *s, st_item *items, int n, const lt_trace_query *q, uint32_t k)
{
    lt_arena *a = arena_new();
    lt_trace_stats ts;
    assert_int_equal(store_trace_stats(s, q, k, a, &ts), 0);
    /* the store looks at the newest traces of the range, up to its bound, then filters */
    st_item *m = malloc(sizeof *m * (size_t)n);
    int nm = 0, in_range = 0;
    for (int i = 0; i < n; i++)
        if (items[i].start >= q->start_min && (!q->start_max || items[i].start <= q->start_max))
            m[nm++] = items[i];
    in_range = nm;
    assert_int_equal(ts.partial, in_range > LT_SQLITE_STATS_SCAN_ROWS);
    qsort(m, (size_t)nm, sizeof *m, st_by_start);
    if (nm > LT_SQLITE_STATS_SCAN_ROWS) nm = LT_SQLITE_STATS_SCAN_ROWS;
    int kept = 0;
    for (int i = 0; i < nm; i++)
        if (!q->service.len || m[i].svc_b == lt_str_eq_c(q->service, "svc-b")) m[kept++] = m[i];
    nm = kept;
    assert_int_equal(ts.traces, nm);
    uint64_t hist[LT_COST_BUCKETS] = {0};
    int with_cost = 0;
    for (int i = 0; i < nm; i++) {
        hist[cost_bucket_of(m[i].cost)]++;
        with_cost += m[i].cost > 0;
    }
    assert_memory_equal(hist, ts.cost_hist, sizeof hist);
    qsort(m, (size_t)nm, sizeof *m, st_by_cost);
    assert_int_equal(ts.n_cost, (uint32_t)(with_cost < (int)k ? with_cost : (int)k));
    for (uint32_t i = 0; i < ts.n_cost; i++) {
        assert_memory_equal(ts.by_cost[i].trace_id, m[i].id, 16);
        assert_true(ts.by_cost[i].cost == m[i].cost);
    }
    qsort(m, (size_t)nm, sizeof *m, st_by_dur);
    assert_int_equal(ts.n_duration, (uint32_t)(nm < (int)k ? nm : (int)k));
    for (uint32_t i = 0; i < ts.n_duration; i++)
        assert_memory_equal(ts.by_duration[i].trace_id, m[i].id, 16);
    free(m);
    arena_free(a);
}

static void test_trace_stats(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    enum { N = LT_SQLITE_STATS_SCAN_ROWS + 20 };
    st_item items[N];
    for (int i = 0; i < N; i++) {
        st_item *it = &items[i];
        uint64_t x = hash64(&i, sizeof i, 21);
        it->t = 9000 + (uint32_t)i;
        it->start = T0 + (uint64_t)(i % 17) * 1000000; /* ties */
        it->dur = 1000 + (x % 50) * 1000;              /* ties too */
        it->svc_b = i % 4 == 0;
        tid_of(it->t, it->id);
        /* costs across the buckets, some equal, some none */
        it->cost = i % 9 == 0 ? 0 : (double)(x % 7) * pow(10, -(double)(x >> 8 & 7));
        lt_span sp[2];
        sp[0] = mk_span(it->t, 1, 0, "root", it->start, it->start + it->dur, 0);
        sp[1] = mk_span(it->t, 2, 1, "chat", it->start + 1, it->start + 2, 0);
        sp[1].genai = mk_view(a, &VSPEC(.req = "gpt-4o", .tok = {10, 5, -1, -1, -1},
                                        .cost = it->cost > 0 ? it->cost : NAN));
        lt_trace_batch b = one_batch(a, it->svc_b ? "svc-b" : "svc-a", NULL, sp, 2);
        assert_int_equal(store_write_traces(s, &b), 0);
    }
    st_check(s, items, N, &(lt_trace_query){0}, 5);
    st_check(s, items, N, &(lt_trace_query){.service = LT_STR("svc-b")}, 3);
    st_check(s, items, N, &(lt_trace_query){.start_min = T0 + 5000000, .start_max = T0 + 9000000},
             1000);
    st_check(s, items, N, &(lt_trace_query){.start_min = T0 + 99000000}, 5); /* nothing */
    st_check(s, items, N, &(lt_trace_query){0}, 0);
    /* with text: only the traces it finds */
    lt_trace_stats ts;
    lt_trace_query q = {.text = LT_STR("chat")};
    assert_int_equal(store_trace_stats(s, &q, 3, a, &ts), 0);
    assert_int_equal(ts.traces, N); /* all have a "chat" span; no scan bound applies */
    assert_false(ts.partial);
    q.text = LT_STR("nothing");
    assert_int_equal(store_trace_stats(s, &q, 3, a, &ts), 0);
    assert_int_equal(ts.traces, 0);
    assert_int_equal(ts.n_cost + ts.n_duration, 0);
    /* the bucket bounds */
    assert_true(store_cost_bucket_min(0) == 0);
    assert_true(store_cost_bucket_min(1) == 0.000001);
    assert_true(store_cost_bucket_min(3) == 0.000005);
    assert_true(store_cost_bucket_min(19) == 1);
    assert_true(store_cost_bucket_min(LT_COST_BUCKETS - 1) == 2000);
    assert_true(store_cost_bucket_min(LT_COST_BUCKETS + 5) == 2000);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

/* ---- live tail ------------------------------------------------------------------------- */

typedef struct {
    uint32_t t;
    uint64_t id;
    bool svc_b, error;
    const char *model; /* NULL: no view */
    int pos;           /* in its request */
} tl_item;

static bool tl_match(const lt_tail_query *q, const tl_item *it)
{
    if (q->service.len && it->svc_b != lt_str_eq_c(q->service, "svc-b")) return false;
    if (q->errors_only && !it->error) return false;
    return !q->model.len || (it->model && lt_str_eq_c(q->model, it->model));
}

static void tl_expect(const tl_item *w, const lt_span_brief *b)
{
    uint8_t tid[16], sid[8];
    tid_of(w->t, tid);
    sid_of(w->id, sid);
    assert_memory_equal(b->trace_id, tid, 16);
    assert_memory_equal(b->span_id, sid, 8);
    assert_string_equal(w->svc_b ? "svc-b" : "svc-a", b->service.ptr);
    assert_int_equal(b->status_code, w->error ? LT_STATUS_ERROR : LT_STATUS_UNSET);
    assert_int_equal(b->has_view, w->model != NULL);
    if (w->model) {
        assert_true(lt_str_eq_c(b->model, w->model));
        assert_true(lt_str_eq_c(b->operation, "chat"));
        assert_true(b->has_input_tokens && b->input_tokens == 7);
        assert_false(b->has_output_tokens);
        assert_true(b->has_cost && b->cost == 0.5);
    }
}

/* Pages through the tail from after with filters; the spans must be want[] in order. */
static void tl_follow(lt_store *s, const lt_tail_query *q0, const tl_item *all, int n_all,
                      uint64_t after)
{
    lt_arena *a = arena_new();
    lt_tail_query q = *q0;
    q.has_after = true;
    q.after = after;
    int k = 0;
    for (int guard = 0; guard < 10000; guard++) {
        lt_tail t;
        assert_int_equal(store_tail_spans(s, &q, a, &t), 0);
        assert_true(t.next >= q.after);
        for (uint32_t i = 0; i < t.n; i++) {
            while (k < n_all && !tl_match(&q, &all[k]))
                k++;
            assert_true(k < n_all);
            tl_expect(&all[k++], &t.items[i]);
            assert_true(t.items[i].seq > q.after && t.items[i].seq <= t.next);
        }
        if (t.next == q.after) break; /* caught up */
        q.after = t.next;
        arena_reset(a);
    }
    while (k < n_all && !tl_match(&q, &all[k]))
        k++;
    assert_int_equal(k, n_all);
    arena_free(a);
}

static int tl_cmp(const void *pa, const void *pb)
{
    const tl_item *a = pa, *b = pb;
    uint8_t x[16], y[16];
    tid_of(a->t, x);
    tid_of(b->t, y);
    int c = memcmp(x, y, 16);
    return c ? c : a->pos - b->pos;
}

static void test_tail_spans(void **state)
{
    (void)state;
    char *dir = make_dir();
    lt_store *s = open_store(dir);
    lt_arena *a = arena_new();
    /* nothing yet */
    lt_tail t;
    assert_int_equal(store_tail_spans(s, &(lt_tail_query){0}, a, &t), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.next, 0);
    enum { CALLS = 30, PER = 9 };
    static tl_item all[CALLS * PER];
    int n = 0;
    for (int c = 0; c < CALLS; c++) {
        /* one call: two services (two resources), spans of three traces; the store keeps a
         * call's spans by trace, then in the order sent */
        lt_span sp[2][PER];
        tl_item *first = &all[n];
        int ns[2] = {0, 0};
        for (int i = 0; i < PER; i++) {
            tl_item *it = &all[n++];
            it->t = 300 + (uint32_t)(c * 3 + i % 3);
            it->id = (uint64_t)c * 100 + (uint64_t)i + 1;
            it->svc_b = (c + i) % 4 == 0;
            it->error = (c * 7 + i) % 5 == 0;
            it->model = i % 3 == 0 ? NULL : i % 3 == 1 ? "gpt-4o" : "claude";
            lt_span *x = &sp[it->svc_b][ns[it->svc_b]++];
            *x = mk_span(it->t, it->id, 0, "op", T0, T0 + 5, it->error ? LT_STATUS_ERROR : 0);
            if (it->model)
                x->genai = mk_view(a, &VSPEC(.op = "chat", .req = "x", .resp = it->model,
                                             .tok = {7, -1, -1, -1, -1}, .cost = 0.5));
        }
        /* the resources' spans go in one call: both scopes' spans are sorted together */
        lt_trace_batch b0 = one_batch(a, "svc-a", NULL, sp[0], (uint32_t)ns[0]);
        lt_trace_batch b1 = one_batch(a, "svc-b", NULL, sp[1], (uint32_t)ns[1]);
        lt_resource_spans *rs = arena_calloc(a, 2, sizeof *rs);
        rs[0] = b0.rs[0];
        rs[1] = b1.rs[0];
        lt_trace_batch b = {.rs = rs, .n_rs = 2, .n_spans = PER};
        assert_int_equal(store_write_traces(s, &b), 0);
        /* arrival order: by trace id, then as sent (svc-a's spans were sent first) */
        tl_item sorted[PER];
        int k = 0;
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < PER; i++)
                if (first[i].svc_b == (r == 1)) {
                    sorted[k] = first[i];
                    sorted[k].pos = k;
                    k++;
                }
        qsort(sorted, PER, sizeof *sorted, tl_cmp);
        memcpy(first, sorted, sizeof sorted);
        arena_reset(a);
    }
    /* from the start, in pages: everything in arrival order; then with each filter */
    tl_follow(s, &(lt_tail_query){.limit = 7}, all, n, 0);
    tl_follow(s, &(lt_tail_query){.limit = 5, .service = LT_STR("svc-b")}, all, n, 0);
    tl_follow(s, &(lt_tail_query){.limit = 3, .errors_only = true}, all, n, 0);
    tl_follow(s, &(lt_tail_query){.model = LT_STR("claude")}, all, n, 0);
    tl_follow(s, &(lt_tail_query){.model = LT_STR("none")}, all, n, 0);
    /* without a cursor: the newest, in arrival order */
    assert_int_equal(store_tail_spans(s, &(lt_tail_query){.limit = 4}, a, &t), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.next, (uint64_t)n);
    for (int i = 0; i < 4; i++)
        tl_expect(&all[n - 4 + i], &t.items[i]);
    assert_int_equal(store_tail_spans(s, &(lt_tail_query){.errors_only = true, .limit = 2}, a, &t),
                     0);
    assert_int_equal(t.n, 2);
    assert_true(t.items[0].seq < t.items[1].seq);
    /* past the newest (a cursor from before the store was emptied): the newest again */
    assert_int_equal(
        store_tail_spans(s, &(lt_tail_query){.has_after = true, .after = 1u << 30, .limit = 1}, a,
                         &t),
        0);
    assert_int_equal(t.n, 1);
    tl_expect(&all[n - 1], &t.items[0]);
    /* caught up: nothing new, the cursor stays */
    assert_int_equal(
        store_tail_spans(s, &(lt_tail_query){.has_after = true, .after = (uint64_t)n}, a, &t), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.next, (uint64_t)n);
    /* the read-only opener too */
    lt_store *r = NULL;
    char err[256];
    assert_int_equal(store_open_read_only(dir, &r, err, sizeof err), 0);
    tl_follow(r, &(lt_tail_query){.limit = 11}, all, n, 0);
    store_close(r);
    store_close(s);
    arena_free(a);
    remove_dir(dir);
}

int main(void)
{
    if (!getenv("LT_TEST_LOG")) log_set_level(LOG_ERROR + 1); /* fault tests log on purpose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_lossless),
        cmocka_unit_test(test_hand_built_lossless),
        cmocka_unit_test(test_trace_in_pieces),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_operations_services),
        cmocka_unit_test(test_reopen_and_index_flush),
        cmocka_unit_test(test_second_process_reads_only),
        cmocka_unit_test(test_retention_by_age),
        cmocka_unit_test(test_retention_by_size),
        cmocka_unit_test(test_concurrent_reader),
        cmocka_unit_test(test_retention_during_writes),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_kill_during_ingest),
        cmocka_unit_test(test_segment_lost_tail),
        cmocka_unit_test(test_check_detects),
        cmocka_unit_test(test_check_read_only_open),
        cmocka_unit_test(test_internals),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_genai_views_lossless),
        cmocka_unit_test(test_genai_trace_totals),
        cmocka_unit_test(test_genai_filters),
        cmocka_unit_test(test_genai_summary),
        cmocka_unit_test(test_genai_retention),
        cmocka_unit_test(test_rederive),
        cmocka_unit_test(test_rederive_stops),
        cmocka_unit_test(test_content_lossless),
        cmocka_unit_test(test_content_dedup),
        cmocka_unit_test(test_content_retention),
        cmocka_unit_test(test_genai_kill_reopen),
        cmocka_unit_test(test_genai_lost_tail),
        cmocka_unit_test(test_genai_allocation_failures),
        cmocka_unit_test(test_old_schema_refused),
        cmocka_unit_test(test_genai_internals),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_search_text),
        cmocka_unit_test(test_search_bounds),
        cmocka_unit_test(test_trace_stats),
        cmocka_unit_test(test_tail_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
