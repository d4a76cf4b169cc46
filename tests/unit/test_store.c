/* test_store.c — the SQLite store engine: lossless round trips (captured fixtures and
 * hand-built batches), traces in pieces, logs before and after their spans, summaries,
 * every list filter and paging, operations, retention by age and by size, reopening,
 * readers during writes, a full disk, kill -9 during ingest and a segment that lost its
 * tail.
 *
 * The engine is included, so that tests can reach its connection (to make the database
 * "full") and its limits. */
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
#include "store/sqlite.c"

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

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Loads the protobuf requests (traces and logs) of one scenario folder, in arrival order. */
static size_t load_scenario(const char *dir, lt_arena *a, fixture_req *out, size_t max)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[256];
    size_t n = 0, k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 3 && strcmp(e->d_name + l - 3, ".pb") == 0 &&
            (strstr(e->d_name, "-traces.") || strstr(e->d_name, "-logs.")))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (k < max) {
            fixture_req *r = &out[k];
            memset(r, 0, sizeof *r);
            r->data = read_file(path, &r->len);
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
    char *big = NULL;
    if (body) {
        big = arena_alloc(a, body + 1);
        memset(big, 'x', body);
        big[body] = 0;
    }
    for (int i = 0; i < n_spans; i++) {
        sp[i] = mk_span(trace, (uint64_t)i + 1, i ? 1 : 0, i ? "child" : "root",
                        start + (uint64_t)i, start + 1000, 0);
        if (big) {
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
    enum { TRACES = 400 };
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
    lt_retention r = {.max_bytes = 256 << 10, .max_age_ns = 3600ull * 1000000000ull};
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
    lt_retention ret = {.max_bytes = 256 << 10};
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
    assert_int_equal(query_int(q->wdb, "PRAGMA page_count", &pages), 0);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)pages);
    assert_int_equal(exec_sql(q->wdb, sql), 0);
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
    assert_int_equal(exec_sql(q->wdb, "PRAGMA max_page_count=1073741823"), 0);
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
    while (next_range(&p, end, &f, &l)) {
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
    while (next_service(&p, end, &sv))
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
    for (k = 0; next_service(&p, end, &sv); k++)
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
    assert_int_equal(store_open("clickhouse://localhost:8123/db", &s, err, sizeof err),
                     LT_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err, "ClickHouse"));
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
        cmocka_unit_test(test_internals),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
