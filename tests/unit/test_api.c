/* test_api.c — the JSON API (api/) and the CLI read commands' renderers (cli/).
 *
 * Layers of cases, every one against real components (no engine is faked):
 *  - parameter parsing on its own (percent-decoding, times, durations, cursors), and
 *    api_trace_json() on hand-built traces whose parent links no decoder would let in;
 *  - api_handle() over the SQLite store (store_open in a fresh temporary directory)
 *    holding a hand-built trace written through write_traces / write_logs in pieces (typed
 *    values, ties, orphans, logs before and after their spans, hostile strings) and a few
 *    small traces that each list filter tells apart: routing, every parameter of
 *    /api/traces and its 400s, whole traces, OTLP/JSON output, store faults produced for
 *    real (a database file that cannot be opened, a corrupted body segment) and failed
 *    allocations at every point of a request;
 *  - the same store at larger scale: paging under filters, and every captured fixture in
 *    LT_FIXTURES decoded with pb_decode_* and compared with its expected.json;
 *  - the CLI renderers fed with what api_handle() answers from a real store, and the CLI
 *    commands end to end on a store directory.
 * The CLI renderers are compiled into the binary, not the library, so their sources are
 * included here (STYLE.md: a test may include the .c under test). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture_files.h"

#include "api/api.h"
#include "api/api_int.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "store/store.h"

#include "cli/opts.c"
#include "cli/client.c"
#include "cli/traces.c"
#include "cli/show.c"

/* ---- helpers ---- */

/* Calls the API and returns its answer parsed (asserting it is valid JSON). */
static json_t *call(lt_store *s, const char *method, const char *path, const char *query,
                    int *status)
{
    lt_buf out = {0};
    const char *ctype = NULL;
    *status = api_handle(s, lt_str_c(method), lt_str_c(path), lt_str_c(query), &out, &ctype);
    assert_false(out.oom);
    assert_string_equal(ctype, "application/json");
    json_error_t err;
    json_t *doc = json_loadb(out.data ? out.data : "", out.len, 0, &err);
    if (!doc)
        fail_msg("invalid JSON from %s %s?%s: %s\n%.*s", method, path, query ? query : "", err.text,
                 (int)out.len, out.data);
    buf_free(&out);
    return doc;
}

static json_t *get_ok(lt_store *s, const char *path, const char *query)
{
    int status;
    json_t *doc = call(s, "GET", path, query, &status);
    if (status != 200)
        fail_msg("GET %s?%s: %d %s", path, query ? query : "", status,
                 json_string_value(json_object_get(doc, "error")));
    return doc;
}

/* Asserts an error answer: status and an error text containing word. */
static void expect_error(lt_store *s, const char *method, const char *path, const char *query,
                         int want, const char *word)
{
    int status;
    json_t *doc = call(s, method, path, query, &status);
    const char *msg = json_string_value(json_object_get(doc, "error"));
    if (status != want || !msg || (word && !strstr(msg, word)))
        fail_msg("%s %s?%s: got %d '%s', want %d with '%s'", method, path, query ? query : "",
                 status, msg ? msg : "(none)", want, word ? word : "");
    json_decref(doc);
}

static void mkid(uint8_t *out, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(seed + i * 17 + 1);
}

static const char *hexid(const uint8_t *id, size_t n, char *buf)
{
    hex_encode(id, n, buf);
    return buf;
}

#define V_STR(x) ((lt_value){.type = LT_VAL_STRING, .u.s = LT_STR(x)})
#define V_INT(x) ((lt_value){.type = LT_VAL_INT, .u.i = (x)})
#define V_DBL(x) ((lt_value){.type = LT_VAL_DOUBLE, .u.d = (x)})
#define V_BOOL(x) ((lt_value){.type = LT_VAL_BOOL, .u.b = (x)})

/* ---- real stores in temporary directories ---- */

static char *tmp_store_dir(void)
{
    char *dir = strdup("/tmp/lt-test-api-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static lt_store *open_store(const char *dir)
{
    lt_store *s = NULL;
    char err[256] = "";
    int rc = store_open(dir, &s, err, sizeof err);
    if (rc) fail_msg("store_open(%s): %s %s", dir, lt_strerror(rc), err);
    return s;
}

/* An empty store in a new temporary directory; store_free(s, *dir) removes both. */
static lt_store *store_new(char **dir)
{
    *dir = tmp_store_dir();
    return open_store(*dir);
}

static void store_free(lt_store *s, char *dir)
{
    store_close(s);
    rm_rf(dir);
    free(dir);
}

/* Overwrites the first n bytes of the file at path with p, in place. */
static void overwrite(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, n, 0), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

/* The path of the one body segment (blobs-*.seg) of the store in dir; the caller frees it. */
static char *segment_path(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *found = NULL;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 10 && strncmp(e->d_name, "blobs-", 6) == 0 &&
            strcmp(e->d_name + l - 4, ".seg") == 0) {
            size_t n = strlen(dir) + l + 2;
            assert_null(found);
            assert_non_null(found = malloc(n));
            snprintf(found, n, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    assert_non_null(found);
    return found;
}

/* ---- a hand-built trace ----
 *
 *   R  "root"            svc-a  SERVER  1000..9000   typed attributes, event, link
 *   ├─ C1 "child-1"      svc-b  CLIENT  1000..4000   ERROR; arrives before R, starts with it
 *   │  └─ G "grandchild" svc-b          2000..3000
 *   └─ C2 hostile name   svc-a  kind 99 5000..8000
 *   O  "orphan"          svc-a          3000..3500   parent never received
 * Logs: L1 (span C1, t=500, name from the event.name attribute), L2 (C1, t=2500),
 * L3 (an unknown span id), L4 (no span id). */

/* Markup, quotes, C0 controls, a non-ASCII letter and a bidi override (U+202E), in valid
 * UTF-8: a store takes only what the decoders let in, valid UTF-8 as proto3 requires
 * (store.h), so invalid bytes never reach the API from a store; that JSON output replaces
 * them is jsonw's own test (test_core). */
static const char HOSTILE[] = "<script>alert(1)</script>\x01\x1f\"\\ \xc3\xa9\xe2\x80\xae end";

typedef struct {
    lt_kv res_a_attrs[2], res_b_attrs[1], scope_attrs[1], root_attrs[10], kv_inner[2], kv_deep[1],
        event_attrs[1], link_attrs[1], l1_attrs[2], body_kv[1];
    lt_value arr[2];
    uint8_t bytes[4];
    lt_event event;
    lt_link link;
    lt_span spans_a[3], spans_b[2];
    lt_scope_spans ss[2];
    lt_resource_spans rs[2];
    lt_log_record logs_before[1], logs_after[3];
    lt_scope_logs sl[2];
    lt_resource_logs rl[2];
    lt_trace_data data;
    lt_log_batch before, after;
    uint8_t trace_id[16];
    uint8_t id_r[8], id_c1[8], id_c2[8], id_g[8], id_o[8], id_missing[8], id_unknown[8];
} sample;

static void build_sample(sample *t)
{
    memset(t, 0, sizeof *t);
    mkid(t->trace_id, 16, 0x40);
    mkid(t->id_r, 8, 1);
    mkid(t->id_c1, 8, 2);
    mkid(t->id_c2, 8, 3);
    mkid(t->id_g, 8, 4);
    mkid(t->id_o, 8, 5);
    mkid(t->id_missing, 8, 6);
    mkid(t->id_unknown, 8, 7);

    t->res_a_attrs[0] = (lt_kv){LT_STR("service.name"), V_STR("svc-a")};
    t->res_a_attrs[1] = (lt_kv){LT_STR("host.arch"), V_STR("amd64")};
    t->res_b_attrs[0] = (lt_kv){LT_STR("service.name"), V_STR("svc-b")};
    t->scope_attrs[0] = (lt_kv){LT_STR("scope.attr"), V_INT(7)};

    t->arr[0] = V_STR("x");
    t->arr[1] = V_INT(2);
    t->kv_deep[0] = (lt_kv){LT_STR("c"), V_BOOL(false)};
    t->kv_inner[0] = (lt_kv){LT_STR("a"), V_INT(1)};
    t->kv_inner[1] = (lt_kv){LT_STR("b"), {.type = LT_VAL_KVLIST, .u.kv = {t->kv_deep, 1}}};
    memcpy(t->bytes, "\x00\x01\x02\xff", 4);
    lt_kv *ra = t->root_attrs;
    ra[0] = (lt_kv){LT_STR("s"), V_STR("text")};
    ra[1] = (lt_kv){LT_STR("i"), V_INT(-42)};
    ra[2] = (lt_kv){LT_STR("d1"), V_DBL(1.0)};
    ra[3] = (lt_kv){LT_STR("d2"), V_DBL(2.5)};
    ra[4] = (lt_kv){LT_STR("b"), V_BOOL(true)};
    ra[5] = (lt_kv){LT_STR("arr"), {.type = LT_VAL_ARRAY, .u.arr = {t->arr, 2}}};
    ra[6] = (lt_kv){LT_STR("kv"), {.type = LT_VAL_KVLIST, .u.kv = {t->kv_inner, 2}}};
    ra[7] = (lt_kv){LT_STR("bytes"), {.type = LT_VAL_BYTES, .u.s = {(const char *)t->bytes, 4}}};
    ra[8] = (lt_kv){LT_STR("empty"), {.type = LT_VAL_EMPTY}};
    ra[9] = (lt_kv){LT_STR("big"), V_INT(INT64_MAX)};

    t->event_attrs[0] = (lt_kv){LT_STR("e.k"), V_STR("e.v")};
    t->event =
        (lt_event){.time_unix_nano = 1500, .name = LT_STR("ev"), .attrs = {t->event_attrs, 1}};
    t->link_attrs[0] = (lt_kv){LT_STR("l.k"), V_INT(3)};
    t->link = (lt_link){.trace_state = LT_STR("x=1"), .attrs = {t->link_attrs, 1}};
    mkid(t->link.trace_id, 16, 0x50);
    mkid(t->link.span_id, 8, 0x51);

    /* resource A: R, C2, O */
    lt_span *r = &t->spans_a[0];
    memcpy(r->span_id, t->id_r, 8);
    r->name = LT_STR("root");
    r->kind = LT_KIND_SERVER;
    r->start_time_unix_nano = 1000;
    r->end_time_unix_nano = 9000;
    r->attrs = (lt_attrs){t->root_attrs, 10};
    r->events.items = &t->event;
    r->events.n = 1;
    r->links.items = &t->link;
    r->links.n = 1;
    r->trace_state = LT_STR("k=v");
    r->flags = 0x101;
    r->dropped_attributes_count = 3;
    r->dropped_events_count = 4;
    r->dropped_links_count = 5;
    lt_span *c2 = &t->spans_a[1];
    memcpy(c2->span_id, t->id_c2, 8);
    memcpy(c2->parent_span_id, t->id_r, 8);
    c2->has_parent = true;
    c2->name = LT_STR(HOSTILE);
    c2->kind = 99;
    c2->start_time_unix_nano = 5000;
    c2->end_time_unix_nano = 8000;
    lt_span *o = &t->spans_a[2];
    memcpy(o->span_id, t->id_o, 8);
    memcpy(o->parent_span_id, t->id_missing, 8);
    o->has_parent = true;
    o->name = LT_STR("orphan");
    o->start_time_unix_nano = 3000;
    o->end_time_unix_nano = 3500;
    /* resource B: C1 (arrives first), G */
    lt_span *c1 = &t->spans_b[0];
    memcpy(c1->span_id, t->id_c1, 8);
    memcpy(c1->parent_span_id, t->id_r, 8);
    c1->has_parent = true;
    c1->name = LT_STR("child-1");
    c1->kind = LT_KIND_CLIENT;
    c1->start_time_unix_nano = 1000;
    c1->end_time_unix_nano = 4000;
    c1->status_code = LT_STATUS_ERROR;
    c1->status_message = LT_STR("boom <b>");
    lt_span *g = &t->spans_b[1];
    memcpy(g->span_id, t->id_g, 8);
    memcpy(g->parent_span_id, t->id_c1, 8);
    g->has_parent = true;
    g->name = LT_STR("grandchild");
    g->start_time_unix_nano = 2000;
    g->end_time_unix_nano = 3000;
    for (int i = 0; i < 3; i++)
        memcpy(t->spans_a[i].trace_id, t->trace_id, 16);
    for (int i = 0; i < 2; i++)
        memcpy(t->spans_b[i].trace_id, t->trace_id, 16);

    t->ss[0] = (lt_scope_spans){.scope = {.name = LT_STR("scope-b"), .version = LT_STR("2")},
                                .spans = t->spans_b,
                                .n_spans = 2};
    t->ss[1] = (lt_scope_spans){.scope = {.name = LT_STR("scope-a"),
                                          .version = LT_STR("1.0"),
                                          .attrs = {t->scope_attrs, 1}},
                                .spans = t->spans_a,
                                .n_spans = 3};
    t->rs[0] = (lt_resource_spans){
        .resource = {.attrs = {t->res_b_attrs, 1}}, .scopes = &t->ss[0], .n_scopes = 1};
    t->rs[1] = (lt_resource_spans){
        .resource = {.attrs = {t->res_a_attrs, 2}}, .scopes = &t->ss[1], .n_scopes = 1};
    t->data.spans = (lt_trace_batch){.rs = t->rs, .n_rs = 2, .n_spans = 5};

    /* L1 arrives before the spans; L2..L4 after (listed out of time order) */
    t->l1_attrs[0] = (lt_kv){LT_STR("event.name"), V_STR("gen_ai.user.message")};
    t->l1_attrs[1] = (lt_kv){LT_STR("gen_ai.system"), V_STR("openai")};
    t->body_kv[0] = (lt_kv){LT_STR("content"), V_STR("hello")};
    lt_log_record *l1 = &t->logs_before[0];
    *l1 = (lt_log_record){.time_unix_nano = 500,
                          .observed_time_unix_nano = 600,
                          .severity_number = 9,
                          .severity_text = LT_STR("INFO"),
                          .body = {.type = LT_VAL_KVLIST, .u.kv = {t->body_kv, 1}},
                          .attrs = {t->l1_attrs, 2}};
    memcpy(l1->span_id, t->id_c1, 8);
    lt_log_record *la = t->logs_after;
    la[0] = (lt_log_record){.time_unix_nano = 7000,
                            .body = V_STR("trace-level"),
                            .event_name = LT_STR("l4")}; /* no span id */
    la[1] =
        (lt_log_record){.time_unix_nano = 2500, .event_name = LT_STR("direct"), .body = V_INT(5)};
    memcpy(la[1].span_id, t->id_c1, 8);
    la[2] = (lt_log_record){
        .time_unix_nano = 0, .observed_time_unix_nano = 6000, .event_name = LT_STR("l3")};
    memcpy(la[2].span_id, t->id_unknown, 8);
    for (int i = 0; i < 3; i++)
        memcpy(la[i].trace_id, t->trace_id, 16);
    memcpy(l1->trace_id, t->trace_id, 16);
    t->sl[0] = (lt_scope_logs){.records = t->logs_before, .n_records = 1};
    t->sl[1] = (lt_scope_logs){.records = t->logs_after, .n_records = 3};
    t->rl[0] = (lt_resource_logs){
        .resource = {.attrs = {t->res_b_attrs, 1}}, .scopes = &t->sl[0], .n_scopes = 1};
    t->rl[1] = (lt_resource_logs){
        .resource = {.attrs = {t->res_a_attrs, 2}}, .scopes = &t->sl[1], .n_scopes = 1};
    t->before = (lt_log_batch){.rl = &t->rl[0], .n_rl = 1, .n_records = 1};
    t->after = (lt_log_batch){.rl = &t->rl[1], .n_rl = 1, .n_records = 3};
    t->data.logs = (lt_log_batch){.rl = t->rl, .n_rl = 2, .n_records = 4};
}

/* Writes the sample as it would arrive: a log record before its span, the spans in two
 * requests (C1 and G first), the other log records after. */
static void write_sample(lt_store *s, sample *t)
{
    assert_int_equal(store_write_logs(s, &t->before), 0);
    lt_trace_batch b1 = {.rs = &t->rs[0], .n_rs = 1, .n_spans = 2};
    lt_trace_batch b2 = {.rs = &t->rs[1], .n_rs = 1, .n_spans = 3};
    assert_int_equal(store_write_traces(s, &b1), 0);
    assert_int_equal(store_write_traces(s, &b2), 0);
    assert_int_equal(store_write_logs(s, &t->after), 0);
}

/* A new store holding the sample t (built here); store_free(s, *dir) removes it. */
static lt_store *sample_store(sample *t, char **dir)
{
    build_sample(t);
    lt_store *s = store_new(dir);
    write_sample(s, t);
    return s;
}

/* ---- small traces that the list filters tell apart ----
 *
 * Each is one write: a first span (the root, or with orphan a span whose parent never
 * arrives, so the trace has no root) lasting the whole trace, and optionally a child. */

#define BASE 1732200000000000000ull /* 2024-11-21T14:40:00Z */
#define SEC 1000000000ull

typedef struct {
    char letter;  /* what the checks call it */
    uint8_t seed; /* trace id: mkid(seed); span ids from seed + 1 */
    const char *service, *name;
    uint32_t kind;
    bool orphan;
    uint64_t start, dur;
    const char *child_service, *child_name; /* no child when NULL */
    uint32_t child_kind;
    bool error;                      /* the last span has status ERROR */
    const char *attr_key, *attr_str; /* an attribute of the first span: a string ... */
    int64_t attr_int;                /* ... or, without attr_str, an integer */
} tspec;

/* Newest first: F E D C A B. */
static const tspec list_specs[] = {
    {.letter = 'A',
     .seed = 0xa0,
     .service = "my svc!",
     .name = "chat gpt",
     .kind = LT_KIND_SERVER,
     .start = BASE,
     .dur = 1900000000,
     .child_service = "helper",
     .child_name = "llm",
     .child_kind = LT_KIND_CLIENT,
     .error = true,
     .attr_key = "gen_ai.request.model",
     .attr_str = "gpt-4o=x"},
    {.letter = 'B',
     .seed = 0xb0,
     .service = "svc-a",
     .name = "chat gpt",
     .orphan = true,
     .start = BASE - SEC,
     .dur = 500},
    {.letter = 'C',
     .seed = 0xc0,
     .service = "svc-a",
     .name = "embed",
     .start = BASE + 10 * SEC,
     .dur = 250000000,
     .attr_key = "gen_ai.request.model",
     .attr_str = "gpt-4o"},
    {.letter = 'D',
     .seed = 0xd0,
     .service = "svc-b",
     .name = "chat gpt",
     .start = BASE + 20 * SEC,
     .dur = 2 * SEC,
     .attr_key = "tier",
     .attr_int = 3},
    {.letter = 'E',
     .seed = 0xe0,
     .service = "svc-b",
     .name = "rag",
     .start = BASE + 30 * SEC,
     .dur = 1500,
     .child_service = "svc-b",
     .child_name = "retrieve",
     .error = true},
    {.letter = 'F',
     .seed = 0xf0,
     .service = "svc-a",
     .name = "chat",
     .start = BASE + 40 * SEC,
     .dur = 3 * SEC},
};
#define N_LIST_SPECS (sizeof list_specs / sizeof list_specs[0])

static void write_spec(lt_store *s, const tspec *t)
{
    lt_span sp[2] = {0};
    lt_kv attr, res[2];
    lt_scope_spans ss[2];
    lt_resource_spans rs[2];
    uint32_t n = t->child_name ? 2 : 1;
    for (uint32_t k = 0; k < n; k++) {
        mkid(sp[k].trace_id, 16, t->seed);
        mkid(sp[k].span_id, 8, (uint8_t)(t->seed + 1 + k));
    }
    sp[0].name = lt_str_c(t->name);
    sp[0].kind = t->kind;
    sp[0].start_time_unix_nano = t->start;
    sp[0].end_time_unix_nano = t->start + t->dur;
    if (t->orphan) {
        sp[0].has_parent = true;
        mkid(sp[0].parent_span_id, 8, (uint8_t)(t->seed + 3));
    }
    if (t->attr_key) {
        attr.key = lt_str_c(t->attr_key);
        attr.value = t->attr_str ? (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(t->attr_str)}
                                 : (lt_value){.type = LT_VAL_INT, .u.i = t->attr_int};
        sp[0].attrs = (lt_attrs){&attr, 1};
    }
    if (t->child_name) {
        sp[1].has_parent = true;
        memcpy(sp[1].parent_span_id, sp[0].span_id, 8);
        sp[1].name = lt_str_c(t->child_name);
        sp[1].kind = t->child_kind;
        sp[1].start_time_unix_nano = t->start + 1;
        sp[1].end_time_unix_nano = t->start + 2;
    }
    if (t->error) sp[n - 1].status_code = LT_STATUS_ERROR;
    for (uint32_t k = 0; k < n; k++) {
        const char *svc = k ? t->child_service : t->service;
        res[k] = (lt_kv){LT_STR("service.name"), {.type = LT_VAL_STRING, .u.s = lt_str_c(svc)}};
        ss[k] = (lt_scope_spans){.scope = {.name = LT_STR("test")}, .spans = &sp[k], .n_spans = 1};
        rs[k] = (lt_resource_spans){
            .resource = {.attrs = {&res[k], 1}}, .scopes = &ss[k], .n_scopes = 1};
    }
    lt_trace_batch b = {.rs = rs, .n_rs = n, .n_spans = n};
    assert_int_equal(store_write_traces(s, &b), 0);
}

static const tspec *spec_of(char letter)
{
    for (size_t i = 0; i < N_LIST_SPECS; i++)
        if (list_specs[i].letter == letter) return &list_specs[i];
    fail_msg("no trace %c", letter);
    return NULL;
}

static const char *spec_hex(char letter, char *hex)
{
    uint8_t id[16];
    mkid(id, 16, spec_of(letter)->seed);
    return hexid(id, 16, hex);
}

/* Lists /api/traces?query: the letters of the traces in order ('?' for another trace)
 * into letters, and next_cursor into next ("" when null). */
static void list_letters(lt_store *s, const char *query, char *letters, size_t n, char *next,
                         size_t nn)
{
    json_t *doc = get_ok(s, "/api/traces", query);
    json_t *list = json_object_get(doc, "traces");
    size_t i, k = 0;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        char c = '?', hex[40];
        for (size_t j = 0; j < N_LIST_SPECS; j++)
            if (strcmp(client_str(t, "trace_id"), spec_hex(list_specs[j].letter, hex)) == 0)
                c = list_specs[j].letter;
        if (k + 1 < n) letters[k++] = c;
    }
    letters[k] = 0;
    const char *cursor = json_string_value(json_object_get(doc, "next_cursor"));
    snprintf(next, nn, "%s", cursor ? cursor : "");
    json_decref(doc);
}

/* Asserts that /api/traces?query lists exactly the traces want, in that order, on one page. */
static void expect_traces(lt_store *s, const char *query, const char *want)
{
    char got[64], next[128];
    list_letters(s, query, got, sizeof got, next, sizeof next);
    if (strcmp(got, want) != 0 || *next)
        fail_msg("/api/traces?%s: traces \"%s\"%s, want \"%s\"", query, got,
                 *next ? " and a next page" : "", want);
}

/* ---- parameter parsing ---- */

static void test_pct_decode(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_str out;
    assert_int_equal(api_pct_decode(a, LT_STR("a%20b+c%2Fd%c3%A9"), true, &out), 0);
    assert_string_equal(out.ptr, "a b c/d\xc3\xa9");
    assert_int_equal(api_pct_decode(a, LT_STR("a+b"), false, &out), 0);
    assert_string_equal(out.ptr, "a+b");
    assert_int_equal(api_pct_decode(a, LT_STR("%00x"), true, &out), 0);
    assert_int_equal(out.len, 2);
    assert_int_equal(api_pct_decode(a, LT_STR("bad%zz"), true, &out), LT_EINVAL);
    assert_int_equal(api_pct_decode(a, LT_STR("bad%4"), true, &out), LT_EINVAL);
    assert_int_equal(api_pct_decode(a, LT_STR("bad%"), true, &out), LT_EINVAL);

    api_params p;
    lt_str bad;
    assert_int_equal(api_params_parse(a, LT_STR("a=1&&b=x%3Dy&flag&a=2&=v"), &p, &bad), 0);
    assert_int_equal(p.n, 5);
    assert_string_equal(api_params_get(&p, "a")->ptr, "2"); /* the last one wins */
    assert_string_equal(api_params_get(&p, "b")->ptr, "x=y");
    assert_int_equal(api_params_get(&p, "flag")->len, 0);
    assert_null(api_params_get(&p, "zzz"));
    assert_int_equal(api_params_parse(a, LT_STR("ok=1&sv%zz=1"), &p, &bad), LT_EINVAL);
    assert_true(lt_str_eq_c(bad, "sv%zz"));
    assert_int_equal(api_params_parse(a, LT_STR("key=%G0"), &p, &bad), LT_EINVAL);
    assert_true(lt_str_eq_c(bad, "key"));
    lt_buf many = {0};
    for (int i = 0; i < API_MAX_PARAMS + 1; i++)
        buf_printf(&many, "p%d=1&", i);
    assert_int_equal(api_params_parse(a, (lt_str){many.data, many.len}, &p, &bad), LT_ETOOBIG);
    buf_reset(&many);
    buf_append_c(&many, "v=");
    for (int i = 0; i < API_MAX_VALUE + 1; i++)
        buf_putc(&many, 'x');
    assert_int_equal(api_params_parse(a, (lt_str){many.data, many.len}, &p, &bad), LT_ETOOBIG);
    assert_true(lt_str_eq_c(bad, "v"));
    buf_free(&many);
    arena_free(a);
}

static void test_parse_time(void **state)
{
    (void)state;
    uint64_t t;
    assert_int_equal(api_parse_time(LT_STR("1732200000000000000"), &t), 0);
    assert_true(t == 1732200000000000000ull);
    assert_int_equal(api_parse_time(LT_STR("2024-11-21T14:40:00Z"), &t), 0);
    assert_true(t == 1732200000000000000ull);
    assert_int_equal(api_parse_time(LT_STR("2024-11-21t15:40:00.5+01:00"), &t), 0);
    assert_true(t == 1732200000500000000ull);
    assert_int_equal(api_parse_time(LT_STR("2024-11-21T09:10:00.123456789123-05:30"), &t), 0);
    assert_true(t == 1732200000123456789ull);
    assert_int_equal(api_parse_time(LT_STR("1970-01-01T00:00:00Z"), &t), 0);
    assert_true(t == 0);
    assert_int_equal(api_parse_time(LT_STR("2024-02-29T00:00:00Z"), &t), 0);
    assert_int_equal(api_parse_time(LT_STR("2024-11-21"), &t), 0);
    assert_true(t == 1732147200000000000ull);
    static const char *const bad[] = {
        "",
        "x",
        "-5",
        "1.5",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-11-21T24:00:00Z",
        "2024-11-21T14:40:00",
        "2024-11-21T14:40:00.Z",
        "2024-11-21T14:40Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00+01:00",
        "2024-11-21T14:40:00Zjunk",
        "99999999999999999999999",
        "2024-11-21T14:40:00+1:00",
        "9999-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (api_parse_time(lt_str_c(bad[i]), &t) == 0) fail_msg("accepted time '%s'", bad[i]);
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t ns;
    } ok[] = {
        {"250ms", 250000000},     {"2s", 2000000000}, {"1500", 1500},
        {"1.5s", 1500000000},     {"0.25ms", 250000}, {"3us", 3000},
        {"3\xc2\xb5s", 3000},     {"7ns", 7},         {"2m", 120000000000ull},
        {"1h", 3600000000000ull}, {"0", 0},           {"1.123456789123s", 1123456789},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        if (api_parse_duration(lt_str_c(ok[i].in), &v) || v != ok[i].ns)
            fail_msg("duration '%s' -> %llu", ok[i].in, (unsigned long long)v);
    }
    static const char *const bad[] = {"",   "ms",  "1.5", "-1s",          "1.s",
                                      "5d", "1 s", "2ss", "99999999999h", "18446744073709551616"};
    uint64_t v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (api_parse_duration(lt_str_c(bad[i]), &v) == 0) fail_msg("accepted '%s'", bad[i]);
}

static void test_cursor(void **state)
{
    (void)state;
    uint8_t id[16], back[16];
    mkid(id, 16, 9);
    lt_buf b = {0};
    api_write_cursor(&b, 1732200000000000000ull, id);
    assert_int_equal(b.data[0], '"');
    uint64_t start;
    assert_int_equal(api_parse_cursor((lt_str){b.data + 1, b.len - 2}, &start, back), 0);
    assert_true(start == 1732200000000000000ull);
    assert_memory_equal(id, back, 16);
    assert_int_equal(api_parse_cursor(LT_STR("123"), &start, back), LT_EINVAL);
    assert_int_equal(api_parse_cursor(LT_STR("-0123"), &start, back), LT_EINVAL);
    assert_int_equal(api_parse_cursor(LT_STR("12-abc"), &start, back), LT_EINVAL);
    buf_free(&b);
}

/* ---- the API over the real store ---- */

/* Traces of test_routes: services whose names need escaping in paths and in JSON. */
static const tspec route_specs[] = {
    {.letter = 'R',
     .seed = 0x10,
     .service = "my svc/x++",
     .name = "rag.pipeline",
     .kind = LT_KIND_SERVER,
     .start = BASE,
     .dur = SEC,
     .child_service = "my svc/x++",
     .child_name = "chat gpt-4o",
     .child_kind = LT_KIND_CLIENT},
    {.letter = 'W',
     .seed = 0x20,
     .service = "we<ird\"",
     .name = "op",
     .start = BASE + SEC,
     .dur = SEC},
};

/* Silences the log while a case makes the store fail on purpose, so that what the store
 * logs then does not read as a failure of the run. */
static void quiet(bool on)
{
    log_set_level(on ? LOG_ERROR + 1 : LOG_INFO);
}

static void test_routes(void **state)
{
    (void)state;
    char *dir, hex[40], tpath[80];
    lt_store *s = store_new(&dir);
    for (size_t i = 0; i < sizeof route_specs / sizeof route_specs[0]; i++)
        write_spec(s, &route_specs[i]);
    uint8_t tid[16];
    mkid(tid, 16, route_specs[0].seed);
    snprintf(tpath, sizeof tpath, "/api/traces/%s", hexid(tid, 16, hex));

    /* A store that cannot open its database: every read endpoint answers 503 (retryable).
     * The engine opens its read connections on first use and keeps them, so the file is
     * moved away before the first read and every read then fails to open it. */
    char db[4200], away[4200];
    snprintf(db, sizeof db, "%s/llmtrace.db", dir);
    snprintf(away, sizeof away, "%s/moved-away.db", dir);
    assert_int_equal(rename(db, away), 0);
    quiet(true);
    expect_error(s, "GET", "/api/traces", NULL, 503, "store unavailable");
    expect_error(s, "GET", "/api/services", NULL, 503, "store unavailable");
    expect_error(s, "GET", "/api/services/svc/operations", NULL, 503, "store unavailable");
    expect_error(s, "GET", tpath, NULL, 503, "store unavailable");
    quiet(false);
    assert_int_equal(rename(away, db), 0);
    json_decref(get_ok(s, tpath, NULL)); /* and recovers once it is back */

    expect_error(s, "GET", "/api/nope", NULL, 404, "endpoint");
    expect_error(s, "GET", "/api", NULL, 404, NULL);
    expect_error(s, "GET", "/api/traces/a/b", NULL, 404, NULL);
    expect_error(s, "GET", "/api/services/x/y", NULL, 404, NULL);
    expect_error(s, "GET", "/api/services//operations", NULL, 404, NULL);
    expect_error(s, "POST", "/api/traces", NULL, 405, "method");
    expect_error(s, "DELETE", "/api/traces/0123", NULL, 405, NULL);
    expect_error(s, "PUT", "/api/services", NULL, 405, NULL);
    expect_error(s, "POST", "/api/unknown", NULL, 404, NULL); /* unknown path wins */
    expect_error(NULL, "GET", "/api/traces", NULL, 503, "no store");

    int status;
    json_t *doc = call(s, "HEAD", "/api/services/", NULL, &status); /* trailing slash */
    assert_int_equal(status, 200);
    json_t *svcs = json_object_get(doc, "services");
    assert_int_equal(json_array_size(svcs), 2);
    assert_string_equal(json_string_value(json_array_get(svcs, 0)), "my svc/x++");
    assert_string_equal(json_string_value(json_array_get(svcs, 1)), "we<ird\"");
    json_decref(doc);

    /* the service segment is percent-decoded, '+' staying literal in a path */
    doc = get_ok(s, "/api/services/my%20svc%2Fx%2B+/operations", NULL);
    json_t *ops = json_object_get(doc, "operations");
    assert_int_equal(json_array_size(ops), 2);
    assert_string_equal(client_str(json_array_get(ops, 0), "name"), "chat gpt-4o");
    assert_string_equal(client_str(json_array_get(ops, 0), "span_kind"), "CLIENT");
    assert_string_equal(client_str(json_array_get(ops, 1), "name"), "rag.pipeline");
    assert_string_equal(client_str(json_array_get(ops, 1), "span_kind"), "SERVER");
    json_decref(doc);
    doc = get_ok(s, "/api/services/we%3Cird%22/operations", NULL);
    ops = json_object_get(doc, "operations");
    assert_int_equal(json_array_size(ops), 1);
    assert_string_equal(client_str(json_array_get(ops, 0), "name"), "op");
    assert_string_equal(client_str(json_array_get(ops, 0), "span_kind"), "UNSPECIFIED");
    json_decref(doc);
    /* a service nobody sent is an empty list, not an error */
    doc = get_ok(s, "/api/services/my%20svc/operations", NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "operations")), 0);
    json_decref(doc);
    expect_error(s, "GET", "/api/services/bad%zz/operations", NULL, 400,
                 "service: expected a percent-encoded name, got 'bad%zz'");

    /* an error answer replaces nothing the caller had in its buffer */
    lt_buf out = {0};
    buf_append_c(&out, "KEEP");
    const char *ct;
    assert_int_equal(api_handle(s, LT_STR("GET"), LT_STR("/api/x"), LT_STR_NULL, &out, &ct), 404);
    assert_int_equal(strncmp(out.data, "KEEP{\"error\":", 13), 0);
    buf_free(&out);
    store_free(s, dir);
}

/* Every parameter of /api/traces reaches the store: each selects exactly the traces it
 * should from list_specs (newest first: F E D C A B), and a bad value is a 400 that names
 * the parameter. */
static void test_list_params(void **state)
{
    (void)state;
    char *dir, hex[40];
    lt_store *s = store_new(&dir);
    for (size_t i = 0; i < N_LIST_SPECS; i++)
        write_spec(s, &list_specs[i]);

    /* what a summary says */
    json_t *doc = get_ok(s, "/api/traces", NULL);
    json_t *list = json_object_get(doc, "traces");
    assert_int_equal(json_array_size(list), 6);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_t *a = json_array_get(list, 4);
    assert_string_equal(client_str(a, "trace_id"), spec_hex('A', hex));
    assert_string_equal(client_str(a, "root_name"), "chat gpt");
    assert_string_equal(client_str(a, "root_service"), "my svc!");
    assert_string_equal(client_str(a, "start_unix_nano"), "1732200000000000000");
    assert_string_equal(client_str(a, "duration_ns"), "1900000000");
    assert_int_equal(json_integer_value(json_object_get(a, "span_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "error_count")), 1);
    json_t *svcs = json_object_get(a, "services");
    assert_int_equal(json_array_size(svcs), 2);
    assert_string_equal(json_string_value(json_array_get(svcs, 0)), "helper");
    assert_string_equal(json_string_value(json_array_get(svcs, 1)), "my svc!");
    json_t *b = json_array_get(list, 5); /* no root received */
    assert_string_equal(client_str(b, "trace_id"), spec_hex('B', hex));
    assert_string_equal(client_str(b, "root_name"), "");
    assert_string_equal(client_str(b, "root_service"), "");
    assert_string_equal(client_str(b, "start_unix_nano"), "1732199999000000000");
    assert_string_equal(client_str(b, "duration_ns"), "500");
    assert_int_equal(json_integer_value(json_object_get(b, "span_count")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "error_count")), 0);
    svcs = json_object_get(b, "services");
    assert_int_equal(json_array_size(svcs), 1);
    assert_string_equal(json_string_value(json_array_get(svcs, 0)), "svc-a");
    json_decref(doc);

    /* durations: A 1.9s, B 500ns, C 250ms, D 2s, E 1500ns, F 3s; bounds are inclusive */
    static const struct {
        const char *query, *want;
    } cases[] = {
        {"", "FEDCAB"},
        {"unknown=ignored&flag", "FEDCAB"},
        {"service=svc-a", "FCB"}, /* a service that took part, root or not */
        {"service=svc-b", "ED"},
        {"service=helper", "A"},
        {"service=my+svc%21", "A"}, /* '+' is a space in a query */
        {"service=my%20svc!", "A"},
        {"service=my", ""}, /* exact, not a prefix */
        {"service=", "FEDCAB"},
        {"name=chat+gpt", "DA"}, /* the root's name: B's span has it but is no root */
        {"name=chat", "F"},
        {"name=llm", ""},
        {"start=2024-11-21T14:40:10Z", "FEDC"},
        {"start=2024-11-21T14:40:00.000000001Z", "FEDC"},
        {"start=2024-11-21T15:40:20%2B01:00", "FED"},
        {"end=2024-11-21T14:40:00Z", "AB"},
        {"start=1732200010000000000&end=1732200030000000000", "EDC"},
        {"start=1732200040000000001", ""},
        {"min_duration=250ms", "FDCA"},
        {"min_duration=1500", "FEDCA"},
        {"min_duration=1501", "FDCA"},
        {"max_duration=2s", "EDCAB"},
        {"max_duration=1.5us", "EB"},
        {"min_duration=250ms&max_duration=2s", "DCA"},
        {"min_duration=1501&max_duration=0.25s", "C"},
        {"status=error", "EA"},
        {"status=ERROR", "EA"},
        {"status=any", "FEDCAB"},
        {"status=any&status=error", "EA"}, /* the last one wins */
        {"status=error&status=any", "FEDCAB"},
        {"attr=gen_ai.request.model%3Dgpt-4o%3Dx", "A"}, /* the value may hold '=' */
        {"attr=gen_ai.request.model%3Dgpt-4o", "C"},
        {"attr=tier%3D3", "D"},                  /* an integer, compared as text */
        {"attr=service.name%3Dsvc-b", "ED"},     /* a resource attribute */
        {"attr=service.name%3Dhelper", "A"},     /* ... of a span that is not the root */
        {"attr=gen_ai.request.model%3Dgpt", ""}, /* exact value */
        {"attr=nokey%3Dx", ""},
        {"service=svc-b&status=error&min_duration=1us", "E"},
        {"service=svc-a&name=chat+gpt", ""},
        {"name=chat+gpt&start=2024-11-21T14:40:05Z", "D"},
        {"limit=6", "FEDCAB"},
        {"limit=5000", "FEDCAB"}, /* capped, not refused */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_traces(s, cases[i].query, cases[i].want);

    /* paging: every trace once, newest first, each page within its limit */
    char got[64], all[64] = "", next[128], q[256];
    list_letters(s, "limit=2", got, sizeof got, next, sizeof next);
    assert_string_equal(got, "FE");
    assert_true(*next);
    snprintf(all, sizeof all, "%s", got);
    for (int pages = 1; *next; pages++) {
        assert_true(pages < 10);
        snprintf(q, sizeof q, "limit=2&cursor=%s", next);
        list_letters(s, q, got, sizeof got, next, sizeof next);
        assert_true(strlen(got) <= 2);
        size_t len = strlen(all);
        snprintf(all + len, sizeof all - len, "%s", got);
    }
    assert_string_equal(all, "FEDCAB");
    /* under a filter, the cursor keeps the filter's order */
    list_letters(s, "service=svc-a&limit=1", got, sizeof got, next, sizeof next);
    assert_string_equal(got, "F");
    snprintf(q, sizeof q, "service=svc-a&cursor=%s", next);
    expect_traces(s, q, "CB");
    /* a cursor is "<start>-<trace id>" of the last trace seen: the page starts after it */
    snprintf(q, sizeof q, "cursor=%llu-%s", (unsigned long long)spec_of('D')->start,
             spec_hex('D', hex));
    expect_traces(s, q, "CAB");
    snprintf(q, sizeof q, "cursor=%llu-%s&status=error", (unsigned long long)spec_of('D')->start,
             spec_hex('D', hex));
    expect_traces(s, q, "A");

    static const struct {
        const char *query, *word;
    } bad[] = {
        {"limit=0", "limit: expected an integer from 1 to 1000, got '0'"},
        {"limit=abc", "limit"},
        {"limit=-1", "limit"},
        {"start=yesterday",
         "start: expected Unix nanoseconds or an RFC 3339 time, got 'yesterday'"},
        {"end=2024-13-01T00:00:00Z", "end"},
        {"start=10&end=5", "start: later than end"},
        {"min_duration=fast", "min_duration: expected a duration such as 250ms"},
        {"max_duration=1.5", "max_duration"},
        {"min_duration=2s&max_duration=1s", "min_duration: greater than max_duration"},
        {"status=ok", "status: expected 'error' or 'any', got 'ok'"},
        {"attr=novalue", "attr: expected KEY=VALUE, got 'novalue'"},
        {"attr==v", "attr"},
        {"cursor=xyz", "cursor: expected the next_cursor of a previous page"},
        {"cursor=17-0011", "cursor"},
        {"service=%zz", "service: invalid percent-encoding"},
        {"li%mit=1", "li%mit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(s, "GET", "/api/traces", bad[i].query, 400, bad[i].word);
    /* an error quotes the value without breaking the JSON */
    expect_error(s, "GET", "/api/traces", "limit=%3Cscript%3E%22%01%FF", 400, "<script>\"");

    /* limits: 20 by default, 1000 at most (1007 traces stored from here on) */
    lt_arena *ar = arena_new();
    enum { MORE = 1001 };
    lt_span *sp = arena_calloc(ar, MORE, sizeof *sp);
    assert_non_null(sp);
    for (uint32_t i = 0; i < MORE; i++) {
        uint8_t tid[16] = {0xcc, (uint8_t)(i >> 8), (uint8_t)i, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        memcpy(sp[i].trace_id, tid, 16);
        mkid(sp[i].span_id, 8, 0x33);
        sp[i].name = LT_STR("bulk");
        sp[i].start_time_unix_nano = BASE - 2 * SEC - i; /* older than every spec */
        sp[i].end_time_unix_nano = BASE - 2 * SEC;
    }
    lt_scope_spans ss = {.spans = sp, .n_spans = MORE};
    lt_resource_spans rs = {.scopes = &ss, .n_scopes = 1};
    lt_trace_batch batch = {.rs = &rs, .n_rs = 1, .n_spans = MORE};
    assert_int_equal(store_write_traces(s, &batch), 0);
    arena_free(ar);
    list_letters(s, NULL, got, sizeof got, next, sizeof next);
    assert_string_equal(got, "FEDCAB??????????????");
    assert_true(*next);
    doc = get_ok(s, "/api/traces", "limit=5000");
    assert_int_equal(json_array_size(json_object_get(doc, "traces")), 1000);
    snprintf(q, sizeof q, "limit=1000&cursor=%s", client_str(doc, "next_cursor"));
    json_decref(doc);
    doc = get_ok(s, "/api/traces", q);
    assert_int_equal(json_array_size(json_object_get(doc, "traces")), 7);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_decref(doc);
    store_free(s, dir);
}

static json_t *span_named(json_t *spans, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(
        spans, i, s) if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0) return s;
    fail_msg("no span named %s", name);
    return NULL;
}

/* Checks the trace document of the sample. */
static void check_sample_doc(json_t *doc, const sample *t)
{
    char hex[40];
    assert_string_equal(json_string_value(json_object_get(doc, "trace_id")),
                        hexid(t->trace_id, 16, hex));
    json_t *spans = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(spans), 5);
    /* by start; R before C1 on their tie (parent first) although C1 arrived first */
    const char *order[] = {"root", "child-1", "grandchild", "orphan", NULL};
    for (int i = 0; order[i]; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(spans, i), "name")),
                            order[i]);
    /* the hostile name came back byte for byte */
    const char *hn = json_string_value(json_object_get(json_array_get(spans, 4), "name"));
    assert_string_equal(hn, HOSTILE);

    json_t *r = span_named(spans, "root");
    assert_true(json_is_null(json_object_get(r, "parent_span_id")));
    assert_string_equal(json_string_value(json_object_get(r, "span_id")), hexid(t->id_r, 8, hex));
    assert_string_equal(json_string_value(json_object_get(r, "kind")), "SERVER");
    assert_string_equal(json_string_value(json_object_get(r, "service")), "svc-a");
    assert_string_equal(json_string_value(json_object_get(r, "start_unix_nano")), "1000");
    assert_string_equal(json_string_value(json_object_get(r, "end_unix_nano")), "9000");
    assert_string_equal(json_string_value(json_object_get(r, "duration_ns")), "8000");
    json_t *st = json_object_get(r, "status");
    assert_string_equal(json_string_value(json_object_get(st, "code")), "UNSET");
    assert_string_equal(json_string_value(json_object_get(st, "message")), "");
    assert_string_equal(json_string_value(json_object_get(r, "trace_state")), "k=v");
    assert_int_equal(json_integer_value(json_object_get(r, "flags")), 0x101);
    assert_int_equal(json_integer_value(json_object_get(r, "dropped_attributes_count")), 3);
    assert_int_equal(json_integer_value(json_object_get(r, "dropped_events_count")), 4);
    assert_int_equal(json_integer_value(json_object_get(r, "dropped_links_count")), 5);
    json_t *res = json_object_get(r, "resource");
    assert_string_equal(json_string_value(json_object_get(res, "service.name")), "svc-a");
    assert_string_equal(json_string_value(json_object_get(res, "host.arch")), "amd64");
    json_t *sc = json_object_get(r, "scope");
    assert_string_equal(json_string_value(json_object_get(sc, "name")), "scope-a");
    assert_string_equal(json_string_value(json_object_get(sc, "version")), "1.0");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sc, "attributes"), "scope.attr")), 7);

    /* typed attribute values */
    json_t *at = json_object_get(r, "attributes");
    assert_int_equal(json_object_size(at), 10);
    assert_string_equal(json_string_value(json_object_get(at, "s")), "text");
    assert_true(json_is_integer(json_object_get(at, "i")));
    assert_int_equal(json_integer_value(json_object_get(at, "i")), -42);
    assert_true(json_is_real(json_object_get(at, "d1"))); /* 1.0 stays visibly a double */
    assert_true(json_real_value(json_object_get(at, "d1")) == 1.0);
    assert_true(json_real_value(json_object_get(at, "d2")) == 2.5);
    assert_true(json_is_true(json_object_get(at, "b")));
    json_t *arr = json_object_get(at, "arr");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_array_get(arr, 0)), "x");
    assert_int_equal(json_integer_value(json_array_get(arr, 1)), 2);
    json_t *kv = json_object_get(at, "kv");
    assert_int_equal(json_integer_value(json_object_get(kv, "a")), 1);
    assert_true(json_is_false(json_object_get(json_object_get(kv, "b"), "c")));
    assert_string_equal(json_string_value(json_object_get(at, "bytes")), "AAEC/w==");
    assert_true(json_is_null(json_object_get(at, "empty")));
    assert_true(json_integer_value(json_object_get(at, "big")) == INT64_MAX);
    json_t *ev = json_array_get(json_object_get(r, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "name")), "ev");
    assert_string_equal(json_string_value(json_object_get(ev, "time_unix_nano")), "1500");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "attributes"), "e.k")), "e.v");
    json_t *ln = json_array_get(json_object_get(r, "links"), 0);
    assert_string_equal(json_string_value(json_object_get(ln, "trace_id")),
                        hexid(t->link.trace_id, 16, hex));
    assert_string_equal(json_string_value(json_object_get(ln, "span_id")),
                        hexid(t->link.span_id, 8, hex));
    assert_string_equal(json_string_value(json_object_get(ln, "trace_state")), "x=1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ln, "attributes"), "l.k")),
                     3);
    assert_int_equal(json_array_size(json_object_get(r, "logs")), 0);

    json_t *c1 = span_named(spans, "child-1");
    assert_string_equal(json_string_value(json_object_get(c1, "parent_span_id")),
                        hexid(t->id_r, 8, hex));
    assert_string_equal(json_string_value(json_object_get(c1, "kind")), "CLIENT");
    assert_string_equal(json_string_value(json_object_get(c1, "service")), "svc-b");
    st = json_object_get(c1, "status");
    assert_string_equal(json_string_value(json_object_get(st, "code")), "ERROR");
    assert_string_equal(json_string_value(json_object_get(st, "message")), "boom <b>");
    assert_null(json_object_get(c1, "trace_state")); /* omitted when empty */
    assert_null(json_object_get(c1, "flags"));
    assert_null(json_object_get(c1, "dropped_attributes_count"));
    /* its logs, in time order: L1 (sent before the span) and L2 (after) */
    json_t *logs = json_object_get(c1, "logs");
    assert_int_equal(json_array_size(logs), 2);
    json_t *l1 = json_array_get(logs, 0), *l2 = json_array_get(logs, 1);
    assert_string_equal(json_string_value(json_object_get(l1, "event_name")),
                        "gen_ai.user.message");
    assert_string_equal(json_string_value(json_object_get(l1, "time_unix_nano")), "500");
    assert_string_equal(json_string_value(json_object_get(l1, "observed_time_unix_nano")), "600");
    assert_int_equal(json_integer_value(json_object_get(l1, "severity_number")), 9);
    assert_string_equal(json_string_value(json_object_get(l1, "severity_text")), "INFO");
    assert_string_equal(json_string_value(json_object_get(json_object_get(l1, "body"), "content")),
                        "hello");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(l1, "attributes"), "gen_ai.system")),
        "openai");
    assert_string_equal(json_string_value(json_object_get(l1, "span_id")), hexid(t->id_c1, 8, hex));
    assert_string_equal(json_string_value(json_object_get(l2, "event_name")), "direct");
    assert_int_equal(json_integer_value(json_object_get(l2, "body")), 5);

    json_t *c2 = json_array_get(spans, 4);
    assert_string_equal(json_string_value(json_object_get(c2, "kind")), "UNSPECIFIED");
    json_t *o = span_named(spans, "orphan");
    assert_string_equal(json_string_value(json_object_get(o, "parent_span_id")),
                        hexid(t->id_missing, 8, hex));
    json_t *g = span_named(spans, "grandchild");
    assert_string_equal(json_string_value(json_object_get(g, "parent_span_id")),
                        hexid(t->id_c1, 8, hex));

    /* records that match no stored span stay at trace level, in time order */
    json_t *tl = json_object_get(doc, "logs");
    assert_int_equal(json_array_size(tl), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tl, 0), "event_name")),
                        "l3");
    json_t *l4 = json_array_get(tl, 1);
    assert_string_equal(json_string_value(json_object_get(l4, "event_name")), "l4");
    assert_true(json_is_null(json_object_get(l4, "span_id")));
    assert_string_equal(json_string_value(json_object_get(l4, "body")), "trace-level");
    assert_string_equal(json_string_value(json_object_get(l4, "service")), "svc-a");
}

static void test_get_trace(void **state)
{
    (void)state;
    static sample t;
    char *dir, hex[40], path[80];
    lt_store *s = sample_store(&t, &dir);
    snprintf(path, sizeof path, "/api/traces/%s", hexid(t.trace_id, 16, hex));

    lt_buf raw = {0};
    const char *ct;
    assert_int_equal(api_handle(s, LT_STR("GET"), lt_str_c(path), LT_STR_NULL, &raw, &ct), 200);
    /* nothing a browser could take for markup, no raw control characters */
    assert_null(strstr(raw.data, "<script"));
    for (size_t i = 0; i < raw.len; i++)
        assert_true((unsigned char)raw.data[i] >= 0x20);
    buf_free(&raw);

    json_t *doc = get_ok(s, path, "format=json");
    check_sample_doc(doc, &t);
    json_decref(doc);

    /* upper-case ids are the same trace */
    for (char *p = path + 12; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    doc = get_ok(s, path, NULL);
    assert_string_equal(client_str(doc, "trace_id"), hex);
    json_decref(doc);

    expect_error(s, "GET", "/api/traces/0123", NULL, 400, "trace_id: expected 32 hex digits");
    expect_error(s, "GET", "/api/traces/zz112233445566778899aabbccddeeff", NULL, 400, "trace_id");
    expect_error(s, "GET", "/api/traces/00112233445566778899aabbccddeeff00", NULL, 400, "trace_id");
    expect_error(s, "GET", "/api/traces/00112233445566778899aabbccddeeff", NULL, 404,
                 "trace not found");
    expect_error(s, "GET", path, "format=xml", 400, "format: expected 'json' or 'otlp'");

    /* log records alone do not make a trace */
    lt_log_record lr = {.time_unix_nano = 1, .event_name = LT_STR("lonely")};
    mkid(lr.trace_id, 16, 0x60);
    lt_scope_logs sl = {.records = &lr, .n_records = 1};
    lt_resource_logs rl = {.scopes = &sl, .n_scopes = 1};
    lt_log_batch lb = {.rl = &rl, .n_rl = 1, .n_records = 1};
    assert_int_equal(store_write_logs(s, &lb), 0);
    char lpath[80];
    snprintf(lpath, sizeof lpath, "/api/traces/%s", hexid(lr.trace_id, 16, hex));
    expect_error(s, "GET", lpath, NULL, 404, "trace not found");

    /* A stored body that no longer decodes (the segment file overwritten on disk) is a
     * store failure, 503; the summaries, kept apart, still list the trace. */
    char *seg = segment_path(dir);
    size_t n;
    uint8_t *orig = fx_must_read(seg, &n), *junk = malloc(n ? n : 1);
    assert_true(n > 0 && junk);
    memset(junk, 0xff, n);
    overwrite(seg, junk, n);
    quiet(true);
    expect_error(s, "GET", path, NULL, 503, "store unavailable");
    expect_error(s, "GET", path, "format=otlp", 503, "store unavailable");
    quiet(false);
    doc = get_ok(s, "/api/traces", NULL);
    assert_string_equal(client_str(json_array_get(json_object_get(doc, "traces"), 0), "trace_id"),
                        hexid(t.trace_id, 16, hex));
    json_decref(doc);
    overwrite(seg, orig, n);
    json_decref(get_ok(s, path, NULL));
    free(junk);
    free(orig);
    free(seg);
    store_free(s, dir);
}

/* Finds the resourceSpans item of service svc in an OTLP/JSON document. */
static json_t *otlp_resource(json_t *doc, const char *svc)
{
    size_t i, k;
    json_t *rs, *kv;
    json_array_foreach(json_object_get(doc, "resourceSpans"), i, rs)
    {
        json_array_foreach(json_object_get(json_object_get(rs, "resource"), "attributes"), k, kv)
        {
            if (strcmp(client_str(kv, "key"), "service.name") == 0 &&
                strcmp(client_str(json_object_get(kv, "value"), "stringValue"), svc) == 0)
                return rs;
        }
    }
    fail_msg("no resourceSpans of %s", svc);
    return NULL;
}

/* The span of batch b with span id id, or NULL. */
static const lt_span *find_span(const lt_trace_batch *b, const uint8_t id[8])
{
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++)
                if (memcmp(b->rs[i].scopes[j].spans[k].span_id, id, 8) == 0)
                    return &b->rs[i].scopes[j].spans[k];
    return NULL;
}

/* ?format=otlp answers the spans as sent: decoded again, every span encodes to the same
 * protobuf bytes as the one written. */
static void test_get_trace_otlp(void **state)
{
    (void)state;
    static sample t;
    char *dir, hex[40], path[80];
    lt_store *s = sample_store(&t, &dir);
    snprintf(path, sizeof path, "/api/traces/%s", hexid(t.trace_id, 16, hex));
    json_t *doc = get_ok(s, path, "format=otlp");
    json_t *rs = json_object_get(doc, "resourceSpans");
    assert_int_equal(json_array_size(rs), 2);
    json_t *sa = json_array_get(json_object_get(otlp_resource(doc, "svc-a"), "scopeSpans"), 0);
    assert_string_equal(client_str(json_object_get(sa, "scope"), "name"), "scope-a");
    json_t *spans = json_object_get(sa, "spans");
    assert_int_equal(json_array_size(spans), 3);
    json_t *root = json_array_get(spans, 0);
    assert_string_equal(client_str(root, "name"), "root");
    assert_string_equal(client_str(root, "traceId"), hex);
    json_t *sb = json_array_get(json_object_get(otlp_resource(doc, "svc-b"), "scopeSpans"), 0);
    assert_int_equal(json_array_size(json_object_get(sb, "spans")), 2);
    json_decref(doc);

    lt_buf raw = {0}, want = {0}, got = {0};
    const char *ct;
    assert_int_equal(api_handle(s, LT_STR("GET"), lt_str_c(path), LT_STR("format=otlp"), &raw, &ct),
                     200);
    lt_arena *a = arena_new();
    lt_trace_batch back;
    assert_int_equal(json_decode_traces(a, raw.data, raw.len, &back), 0);
    assert_int_equal(back.n_spans, 5);
    const lt_trace_batch *sent = &t.data.spans;
    for (uint32_t i = 0; i < sent->n_rs; i++) {
        const lt_scope_spans *ss = &sent->rs[i].scopes[0];
        for (uint32_t k = 0; k < ss->n_spans; k++) {
            const lt_span *b = find_span(&back, ss->spans[k].span_id);
            assert_non_null(b);
            buf_reset(&want);
            buf_reset(&got);
            assert_int_equal(pb_encode_span(&want, &ss->spans[k]), 0);
            assert_int_equal(pb_encode_span(&got, b), 0);
            if (want.len != got.len || memcmp(want.data, got.data, want.len) != 0)
                fail_msg("span %.*s differs after the OTLP/JSON round trip",
                         (int)ss->spans[k].name.len, ss->spans[k].name.ptr);
        }
    }
    arena_free(a);
    buf_free(&raw);
    buf_free(&want);
    buf_free(&got);
    store_free(s, dir);
}

/* Hostile parent links: a cycle, a self-parent and a long chain must neither loop nor
 * recurse, and every span is listed once. */
static void test_trace_shapes(void **state)
{
    (void)state;
    enum { CHAIN = 20000 };
    lt_arena *a = arena_new();
    lt_span *spans = arena_calloc(a, CHAIN + 3, sizeof *spans);
    assert_non_null(spans);
    uint8_t tid[16];
    mkid(tid, 16, 0x33);
    for (uint32_t i = 0; i < CHAIN + 3; i++) {
        lt_span *s = &spans[i];
        memcpy(s->trace_id, tid, 16);
        uint64_t id = i + 1;
        memcpy(s->span_id, &id, 8);
        s->has_parent = true;
        uint64_t parent = i < CHAIN ? i : 0; /* 1 <- 2 <- ... chain; span 1 has parent 0 */
        if (i == CHAIN) parent = CHAIN + 2;  /* CHAIN+1 and CHAIN+2 point at each other */
        if (i == CHAIN + 1) parent = CHAIN + 1;
        if (i == CHAIN + 2) parent = CHAIN + 3; /* self */
        memcpy(s->parent_span_id, &parent, 8);
        s->start_time_unix_nano = 1000 - (i % 7); /* many ties */
        s->end_time_unix_nano = 2000;
        s->name = LT_STR("s");
    }
    lt_scope_spans ss = {.spans = spans, .n_spans = CHAIN + 3};
    lt_resource_spans rs = {.scopes = &ss, .n_scopes = 1};
    lt_trace_data d = {.spans = {.rs = &rs, .n_rs = 1, .n_spans = CHAIN + 3}};
    lt_buf out = {0};
    assert_int_equal(api_trace_json(&out, a, tid, &d), 0);
    json_t *doc = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(doc);
    json_t *arr = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(arr), CHAIN + 3);
    /* ties: a parent before its child */
    uint64_t prev = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        uint64_t st = client_u64(json_array_get(arr, i), "start_unix_nano");
        assert_true(st >= prev);
        prev = st;
    }
    /* the waterfall draws it all, without recursion */
    lt_buf text = {0};
    client_style style = {.utf8 = true, .bar_width = 20};
    assert_int_equal(show_render(&text, doc, &style, false), 0);
    size_t lines = 0;
    for (size_t i = 0; i < text.len; i++)
        lines += text.data[i] == '\n';
    assert_int_equal(lines, 4 + CHAIN + 3);     /* title, summary, blank, header */
    assert_non_null(strstr(text.data, "+12 ")); /* deep levels summarised */
    buf_free(&text);
    json_decref(doc);
    buf_free(&out);
    arena_free(a);
}

/* Every allocation of a request may fail, in the API and in the store's read path: the
 * answer is then a 503, an incomplete body flagged oom, or (once enough succeed) the full
 * answer; never a crash, a leak (ASan) or a store left unusable. SQLite's own allocations
 * do not go through core/alloc and are not failed here. */
static void test_alloc_failures(void **state)
{
    (void)state;
    static sample t;
    char *dir, hex[40], path[80];
    lt_store *s = sample_store(&t, &dir);
    snprintf(path, sizeof path, "/api/traces/%s", hexid(t.trace_id, 16, hex));
    const char *paths[] = {
        path,          "/api/traces", "/api/services",         "/api/services/svc-b/operations",
        "/api/traces", "/api/traces", "/api/genai/timeseries", "/api/live"};
    const char *queries[] = {"", "", "", "", "q=grand", "sort=duration", "start=0", ""};
    /* in the full answer */
    const char *want[] = {"grandchild", "root", "svc-a",        "child-1",
                          "root",       "root", "top_duration", "grandchild"};
    quiet(true);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        bool done = false;
        for (long k = 0; !done && k < 10000; k++) {
            lt_buf out = {0};
            const char *ct;
            unsigned long before = alloc_count();
            alloc_fail_after(k);
            char q[128];
            snprintf(q, sizeof q, "limit=3&service=svc-b&%s", queries[p]);
            int status = api_handle(s, LT_STR("GET"), lt_str_c(paths[p]), lt_str_c(q), &out, &ct);
            alloc_fail_after(-1);
            done = alloc_count() - before <= (unsigned long)k;
            if (!out.oom && status == 200) {
                json_t *doc = json_loadb(out.data, out.len, 0, NULL);
                assert_non_null(doc);
                json_decref(doc);
            } else {
                assert_true(out.oom || status == 503);
            }
            if (done) {
                assert_int_equal(status, 200);
                assert_non_null(strstr(out.data, want[p]));
            }
            buf_free(&out);
        }
        assert_true(done);
    }
    quiet(false);
    store_free(s, dir);
}
/* ---- the real store, end to end ---- */
static void test_store_trace(void **state)
{
    (void)state;
    static sample t;
    char *dir, hex[40], path[80];
    lt_store *s = sample_store(&t, &dir);
    snprintf(path, sizeof path, "/api/traces/%s", hexid(t.trace_id, 16, hex));
    json_t *doc = get_ok(s, path, NULL);
    check_sample_doc(doc, &t);
    json_decref(doc);

    doc = get_ok(s, "/api/traces", NULL);
    json_t *t0 = json_array_get(json_object_get(doc, "traces"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "trace_id")), hex);
    assert_string_equal(json_string_value(json_object_get(t0, "root_name")), "root");
    assert_string_equal(json_string_value(json_object_get(t0, "root_service")), "svc-a");
    assert_int_equal(json_integer_value(json_object_get(t0, "span_count")), 5);
    assert_int_equal(json_integer_value(json_object_get(t0, "error_count")), 1);
    assert_string_equal(json_string_value(json_object_get(t0, "duration_ns")), "8000");
    json_decref(doc);

    doc = get_ok(s, "/api/services", NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "services")), 2);
    json_decref(doc);
    doc = get_ok(s, "/api/services/svc-b/operations", NULL);
    json_t *ops = json_object_get(doc, "operations");
    assert_int_equal(json_array_size(ops), 2); /* child-1, grandchild */
    json_decref(doc);

    expect_error(s, "GET", "/api/traces/00112233445566778899aabbccddeeff", NULL, 404, NULL);
    store_free(s, dir);
}

/* n traces, trace i: root "op-<i%3>" in service "svc-<i%2>" starting at base + i s, lasting
 * (i+1) * 100ms, with a child in "helper"; every fifth has an error; attribute

 * "tier" = "gold" on every fourth and "n" = i (an integer) on each. */
static void write_many(lt_store *s, int n, uint64_t base)
{
    lt_arena *a = arena_new();
    for (int i = 0; i < n; i++) {
        lt_span *sp = arena_calloc(a, 2, sizeof *sp);
        lt_kv *kv = arena_calloc(a, 2, sizeof *kv);
        lt_kv *res = arena_calloc(a, 2, sizeof *res);
        char *name = arena_alloc(a, 16), *svc = arena_alloc(a, 16);
        assert_true(sp && kv && res && name && svc);
        snprintf(name, 16, "op-%d", i % 3);
        snprintf(svc, 16, "svc-%d", i % 2);
        uint8_t tid[16] = {0xab, (uint8_t)i, 1, 2,  3,  4,  5,  6,
                           7,    8,          9, 10, 11, 12, 13, (uint8_t)(i * 7)};
        for (int k = 0; k < 2; k++) {
            memcpy(sp[k].trace_id, tid, 16);
            uint8_t sid[8] = {1, 2, 3, 4, 5, 6, (uint8_t)i, (uint8_t)(k + 1)};
            memcpy(sp[k].span_id, sid, 8);
        }
        memcpy(sp[1].parent_span_id, sp[0].span_id, 8);
        sp[1].has_parent = true;
        uint64_t start = base + (uint64_t)i * 1000000000ull, dur = (uint64_t)(i + 1) * 100000000ull;
        sp[0].name = lt_str_c(name);
        sp[0].kind = LT_KIND_SERVER;
        sp[0].start_time_unix_nano = start;
        sp[0].end_time_unix_nano = start + dur;
        sp[1].name = LT_STR("child");
        sp[1].start_time_unix_nano = start + 1;
        sp[1].end_time_unix_nano = start + 2;
        if (i % 5 == 0) sp[1].status_code = LT_STATUS_ERROR;
        uint32_t nkv = 0;
        kv[nkv++] = (lt_kv){LT_STR("n"), V_INT(i)};
        if (i % 4 == 0) kv[nkv++] = (lt_kv){LT_STR("tier"), V_STR("gold")};
        sp[0].attrs = (lt_attrs){kv, nkv};
        res[0] = (lt_kv){LT_STR("service.name"), {.type = LT_VAL_STRING, .u.s = lt_str_c(svc)}};
        res[1] = (lt_kv){LT_STR("service.name"), V_STR("helper")};
        lt_scope_spans ss[2] = {{.spans = &sp[0], .n_spans = 1}, {.spans = &sp[1], .n_spans = 1}};
        lt_resource_spans rs[2] = {
            {.resource = {.attrs = {&res[0], 1}}, .scopes = &ss[0], .n_scopes = 1},
            {.resource = {.attrs = {&res[1], 1}}, .scopes = &ss[1], .n_scopes = 1},
        };
        lt_trace_batch b = {.rs = rs, .n_rs = 2, .n_spans = 2};
        assert_int_equal(store_write_traces(s, &b), 0);
        arena_reset(a);
    }
    arena_free(a);
}

/* Lists every page of query; returns the number of traces and checks the order. */
static int count_pages(lt_store *s, const char *query, int page, int *pages)
{
    char q[512];
    char cursor[80] = "";
    int total = 0;
    uint64_t prev = UINT64_MAX;
    *pages = 0;
    for (;;) {
        snprintf(q, sizeof q, "%s&limit=%d%s%s", query, page, *cursor ? "&cursor=" : "", cursor);
        json_t *doc = get_ok(s, "/api/traces", q);
        json_t *list = json_object_get(doc, "traces");
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t)
        {
            uint64_t st = client_u64(t, "start_unix_nano");
            assert_true(st <= prev); /* newest first */
            prev = st;
        }
        total += (int)json_array_size(list);
        (*pages)++;
        assert_true(json_array_size(list) <= (size_t)page);
        const char *next = json_string_value(json_object_get(doc, "next_cursor"));
        if (!next) {
            json_decref(doc);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        json_decref(doc);
        assert_true(*pages < 1000);
    }
    return total;
}

static void test_store_filters(void **state)
{
    (void)state;
    char *dir = tmp_store_dir();
    lt_store *s = open_store(dir);
    const uint64_t base = 1732200000000000000ull;
    write_many(s, 25, base);
    int pages;
    assert_int_equal(count_pages(s, "x=1", 10, &pages), 25);
    assert_int_equal(pages, 3);
    assert_int_equal(count_pages(s, "x=1", 25, &pages), 25);
    assert_int_equal(pages, 1);
    assert_int_equal(count_pages(s, "x=1", 1, &pages), 25);
    assert_int_equal(count_pages(s, "service=svc-1", 4, &pages), 12);
    assert_int_equal(count_pages(s, "service=helper", 50, &pages), 25);
    assert_int_equal(count_pages(s, "service=nobody", 5, &pages), 0);
    assert_int_equal(count_pages(s, "name=op-0", 3, &pages), 9);
    assert_int_equal(count_pages(s, "status=error", 2, &pages), 5);
    assert_int_equal(count_pages(s, "min_duration=2s", 5, &pages), 6);    /* i >= 19 */
    assert_int_equal(count_pages(s, "max_duration=500ms", 5, &pages), 5); /* i <= 4 */
    assert_int_equal(count_pages(s, "min_duration=200ms&max_duration=0.3s", 5, &pages), 2);
    assert_int_equal(count_pages(s, "attr=tier%3Dgold", 5, &pages), 7);
    assert_int_equal(count_pages(s, "attr=n%3D13", 5, &pages), 1);
    assert_int_equal(count_pages(s, "attr=service.name%3Dsvc-0", 5, &pages), 13);
    char q[128];
    snprintf(q, sizeof q, "start=%llu&end=%llu", (unsigned long long)(base + 10000000000ull),
             (unsigned long long)(base + 14000000000ull));
    assert_int_equal(count_pages(s, q, 2, &pages), 5);
    assert_int_equal(count_pages(s, "start=2024-11-21T14:40:20Z", 100, &pages), 5);
    assert_int_equal(count_pages(s, "service=svc-0&status=error&name=op-0", 100, &pages), 1);

    json_t *doc = get_ok(s, "/api/traces", "limit=1");
    json_t *t0 = json_array_get(json_object_get(doc, "traces"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "root_name")), "op-0"); /* i=24 */
    assert_string_equal(json_string_value(json_object_get(t0, "duration_ns")), "2500000000");
    json_t *svcs = json_object_get(t0, "services");
    assert_int_equal(json_array_size(svcs), 2);
    json_decref(doc);
    doc = get_ok(s, "/api/services/svc-1/operations", NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "operations")), 3);
    json_decref(doc);
    store_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- captured fixtures against their expected.json ---- */

/* Compares an expected typed value ({"string":..}, {"int":..}, ...) with the API's. */
static bool typed_eq(json_t *exp, json_t *got)
{
    const char *type = json_object_iter_key(json_object_iter(exp));
    json_t *v = json_object_iter_value(json_object_iter(exp));
    if (!type) return false;
    if (strcmp(type, "string") == 0) return json_is_string(got) && json_equal(v, got);
    if (strcmp(type, "int") == 0)
        return json_is_integer(got) && json_integer_value(got) == json_integer_value(v);
    if (strcmp(type, "double") == 0)
        return json_is_real(got) && json_real_value(got) == json_number_value(v);
    if (strcmp(type, "bool") == 0) return json_is_boolean(got) && json_equal(v, got);
    if (strcmp(type, "array") == 0) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(v)) return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!typed_eq(json_array_get(v, i), json_array_get(got, i))) return false;
        return true;
    }
    if (strcmp(type, "kvlist") == 0) {
        if (!json_is_object(got) || json_object_size(got) != json_object_size(v)) return false;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) if (!typed_eq(x, json_object_get(got, k))) return false;
        return true;
    }
    return false;
}

static const char *name_of_span_id(json_t *spans, const char *id)
{
    size_t i;
    json_t *s;
    if (!id) return NULL;
    json_array_foreach(spans, i, s) if (strcmp(client_str(s, "span_id"), id) ==
                                        0) return client_str(s, "name");
    return NULL;
}

/* Does the API's trace document match the expected spans of trace_index ti? */
static bool trace_matches(json_t *doc, json_t *expected, int ti, char *why, size_t wn)
{
    json_t *spans = json_object_get(doc, "spans");
    size_t k = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(expected, "spans"), i, e)
    {
        if (json_integer_value(json_object_get(e, "trace_index")) != ti) continue;
        json_t *g = json_array_get(spans, k++);
        if (!g) return snprintf(why, wn, "too few spans"), false;
        const char *name = client_str(e, "name");
        if (strcmp(name, client_str(g, "name")) != 0)
            return snprintf(why, wn, "span %zu: %s vs %s", k, name, client_str(g, "name")), false;
        const char *pe = json_string_value(json_object_get(e, "parent"));
        const char *pg =
            name_of_span_id(spans, json_string_value(json_object_get(g, "parent_span_id")));
        if ((pe == NULL) != (pg == NULL) || (pe && strcmp(pe, pg) != 0))
            return snprintf(why, wn, "%s: parent %s vs %s", name, pe ? pe : "-", pg ? pg : "-"),
                   false;
        if (strcmp(client_str(e, "kind"), client_str(g, "kind")) != 0 ||
            strcmp(client_str(e, "status"), client_str(json_object_get(g, "status"), "code")) !=
                0 ||
            strcmp(client_str(e, "service_name"), client_str(g, "service")) != 0)
            return snprintf(why, wn, "%s: kind/status/service", name), false;
        if (json_object_get(e, "status_message") &&
            strcmp(client_str(e, "status_message"),
                   client_str(json_object_get(g, "status"), "message")) != 0)
            return snprintf(why, wn, "%s: status message", name), false;
        const char *scope = client_str(json_object_get(g, "scope"), "name");
        if (strncmp(client_str(e, "scope"), scope, strlen(scope)) != 0)
            return snprintf(why, wn, "%s: scope %s", name, scope), false;
        json_t *ea = json_object_get(e, "attributes");
        if (ea) {
            json_t *ga = json_object_get(g, "attributes");
            if (json_object_size(ea) != json_object_size(ga))
                return snprintf(why, wn, "%s: %zu attributes, want %zu", name, json_object_size(ga),
                                json_object_size(ea)),
                       false;
            const char *key;
            json_t *v;
            json_object_foreach(
                ea, key,
                v) if (!typed_eq(v, json_object_get(ga, key))) return snprintf(why, wn,
                                                                               "%s: attribute %s",
                                                                               name, key),
                false;
        }
        json_t *ee = json_object_get(e, "events"), *ge = json_object_get(g, "events");
        if (ee && json_array_size(ee) != json_array_size(ge))
            return snprintf(why, wn, "%s: events", name), false;
        for (size_t x = 0; ee && x < json_array_size(ee); x++)
            if (strcmp(client_str(json_array_get(ee, x), "name"),
                       client_str(json_array_get(ge, x), "name")) != 0)
                return snprintf(why, wn, "%s: event %zu", name, x), false;
    }
    if (k != json_array_size(spans)) return snprintf(why, wn, "too many spans"), false;
    return true;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads one fixture folder into a fresh store and checks the API against expected.json. */
static void check_fixture(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    json_t *expected = json_load_file(path, 0, NULL);
    assert_non_null(expected);
    char *sdir = tmp_store_dir();
    lt_store *s = open_store(sdir);
    struct dirent **files;
    int nf = scandir(dir, &files, NULL, alphasort);
    assert_true(nf > 0);
    int loaded = 0;
    for (int i = 0; i < nf; i++) {
        const char *fn = files[i]->d_name;
        size_t l = strlen(fn);
        bool traces = l > 10 && strcmp(fn + l - 10, "-traces.pb") == 0;
        bool logs = l > 8 && strcmp(fn + l - 8, "-logs.pb") == 0;
        if (traces || logs) {
            snprintf(path, sizeof path, "%s/%s", dir, fn);
            size_t n;
            uint8_t *body = fx_must_read(path, &n);
            lt_arena *a = arena_new();
            if (traces) {
                lt_trace_batch b;
                assert_int_equal(pb_decode_traces(a, body, n, &b), 0);
                assert_int_equal(store_write_traces(s, &b), 0);
            } else {
                lt_log_batch b;
                assert_int_equal(pb_decode_logs(a, body, n, &b), 0);
                assert_int_equal(store_write_logs(s, &b), 0);
            }
            loaded++;
            arena_free(a);
            free(body);
        }
        free(files[i]);
    }
    free(files);
    assert_true(loaded > 0);

    int n_traces = (int)json_integer_value(json_object_get(expected, "trace_count"));
    json_t *list = get_ok(s, "/api/traces", "limit=1000");
    json_t *items = json_object_get(list, "traces");
    if ((int)json_array_size(items) != n_traces)
        fail_msg("%s: %zu traces, want %d", dir, json_array_size(items), n_traces);
    bool used[64] = {0};
    assert_true(n_traces <= 64);
    size_t n_logs_exp = json_array_size(json_object_get(expected, "logs")), n_logs = 0;
    char **got_logs = calloc(n_logs_exp + 1, sizeof *got_logs);
    char **exp_logs = calloc(n_logs_exp + 1, sizeof *exp_logs);
    assert_true(got_logs && exp_logs);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        char tpath[80], why[256] = "";
        snprintf(tpath, sizeof tpath, "/api/traces/%s", client_str(item, "trace_id"));
        json_t *doc = get_ok(s, tpath, NULL);
        json_t *spans = json_object_get(doc, "spans");
        assert_int_equal(json_integer_value(json_object_get(item, "span_count")),
                         json_array_size(spans));
        int match = -1;
        for (int ti = 0; ti < n_traces && match < 0; ti++)
            if (!used[ti] && trace_matches(doc, expected, ti, why, sizeof why)) match = ti;
        if (match < 0)
            fail_msg("%s: trace %s matches no expected trace (last: %s)", dir, tpath, why);
        used[match] = true;
        /* logs: (span name, event name) pairs */
        size_t k;
        json_t *sp;
        json_array_foreach(spans, k, sp)
        {
            size_t x;
            json_t *lg;
            json_array_foreach(json_object_get(sp, "logs"), x, lg)
            {
                assert_true(n_logs < n_logs_exp);
                char buf[512];
                snprintf(buf, sizeof buf, "%s|%s", client_str(sp, "name"),
                         client_str(lg, "event_name"));
                assert_non_null(got_logs[n_logs++] = strdup(buf));
            }
        }
        json_array_foreach(json_object_get(doc, "logs"), k, sp)
        {
            assert_true(n_logs < n_logs_exp);
            char buf[512];
            snprintf(buf, sizeof buf, "-|%s", client_str(sp, "event_name"));
            assert_non_null(got_logs[n_logs++] = strdup(buf));
        }
        json_decref(doc);
    }
    assert_int_equal(n_logs, n_logs_exp);
    json_array_foreach(json_object_get(expected, "logs"), i, item)
    {
        char buf[512];
        const char *span = json_string_value(json_object_get(item, "span"));
        snprintf(buf, sizeof buf, "%s|%s", span ? span : "-", client_str(item, "event_name"));
        assert_non_null(exp_logs[i] = strdup(buf));
    }
    qsort(got_logs, n_logs, sizeof *got_logs, cmp_cstr);
    qsort(exp_logs, n_logs_exp, sizeof *exp_logs, cmp_cstr);
    for (i = 0; i < n_logs; i++) {
        if (strcmp(got_logs[i], exp_logs[i]) != 0)
            fail_msg("%s: log %s, want %s", dir, got_logs[i], exp_logs[i]);
        free(got_logs[i]);
        free(exp_logs[i]);
    }
    free(got_logs);
    free(exp_logs);
    json_decref(list);
    json_decref(expected);
    store_close(s);
    rm_rf(sdir);
    free(sdir);
}

/* Whether dir holds a captured protobuf traces body. */
static bool has_pb_traces(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        found = l > 10 && strcmp(e->d_name + l - 10, "-traces.pb") == 0;
    }
    if (d) closedir(d);
    return found;
}

static void test_fixtures(void **state)
{
    (void)state;
    static const char *const libs[] = {"otel", "traceloop", "openinference"};
    int checked = 0;
    for (size_t l = 0; l < sizeof libs / sizeof libs[0]; l++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, libs[l]);
        struct dirent **ents;
        int n = scandir(dir, &ents, NULL, alphasort);
        if (n < 0) skip();
        for (int i = 0; i < n; i++) {
            char sub[1024], probe[1100];
            snprintf(sub, sizeof sub, "%s/%s", dir, ents[i]->d_name);
            snprintf(probe, sizeof probe, "%s/expected.json", sub);
            if (ents[i]->d_name[0] != '.' && access(probe, R_OK) == 0 && has_pb_traces(sub)) {
                check_fixture(sub);
                checked++;
            }
            free(ents[i]);
        }
        free(ents);
    }
    assert_true(checked >= 20);
}

/* ---- the CLI renderers ---- */

#define STARTS(s, lit) (strncmp((s), (lit), sizeof(lit) - 1) == 0)

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The line of out that contains needle (copied into line), or false. */
static bool line_with(const char *out, const char *needle, char *line, size_t n)
{
    const char *p = strstr(out, needle);
    if (!p) return false;
    const char *b = p, *e = strchr(p, '\n');
    while (b > out && b[-1] != '\n')
        b--;
    if (!e) e = p + strlen(p);
    snprintf(line, n, "%.*s", (int)(e - b), b);
    return true;
}

/* The first line of out that starts with prefix (copied into line), or false. */
static bool line_starting(const char *out, const char *prefix, char *line, size_t n)
{
    for (const char *p = out; *p;) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            snprintf(line, n, "%.*s", (int)(e - p), p);
            return true;
        }
        p = *e ? e + 1 : e;
    }
    return false;
}

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_render_waterfall(void **state)
{
    (void)state;
    static sample t;
    char *dir, hex[40], path[80], line[1024];
    lt_store *s = sample_store(&t, &dir);
    snprintf(path, sizeof path, "/api/traces/%s", hexid(t.trace_id, 16, hex));
    json_t *doc = get_ok(s, path, NULL);
    store_free(s, dir);

    lt_buf out = {0};
    client_style st = {.utf8 = true, .bar_width = 40};
    assert_int_equal(show_render(&out, doc, &st, false), 0);
    const char *o = out.data;
    assert_int_equal(count_lines(o), 4 + 5 + 2); /* + the note on unattached logs */
    assert_true(line_with(o, "Trace ", line, sizeof line));
    assert_non_null(strstr(line, hex));
    assert_true(line_with(o, "5 spans", line, sizeof line));
    assert_non_null(strstr(line, "1 error"));
    assert_non_null(strstr(line, "8.00\xc2\xb5s")); /* the trace lasts 8000ns */
    /* the root fills the whole bar */
    assert_true(line_starting(o, "root  ", line, sizeof line));
    assert_int_equal(count_str(line, "\xe2\x96\x88"), 40);
    assert_true(line_with(o, "child-1", line, sizeof line));
    assert_true(STARTS(line, "\xe2\x94\x9c\xe2\x94\x80 child-1")); /* ├─ */
    assert_non_null(strstr(line, "svc-b"));
    assert_non_null(strstr(line, "3.00\xc2\xb5s"));
    assert_non_null(strstr(line, "ERROR boom <b>"));
    assert_int_equal(count_str(line, "\xe2\x96\x88"), 15); /* 3000 of 8000 ns on 40 */
    assert_true(line_with(o, "grandchild", line, sizeof line));
    assert_true(STARTS(line, "\xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 grandchild"));
    assert_true(line_with(o, "<script>", line, sizeof line)); /* last child of root: └─ */
    assert_true(
        STARTS(line, "\xe2\x94\x94\xe2\x94\x80 <script>alert(1)</script>??\"\\ \xc3\xa9? end"));
    assert_non_null(strstr(line, " end  "));
    assert_true(line_starting(o, "orphan  ", line, sizeof line)); /* parent missing: a root */
    assert_non_null(strstr(o, "2 log records"));
    /* the orphan comes after the whole tree of root */
    assert_true(strstr(o, "orphan") > strstr(o, "<script>"));
    /* no byte that could drive a terminal */
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)o[i] >= 0x20 || o[i] == '\n');
    assert_null(strstr(o, "\033"));

    /* ASCII only */
    buf_reset(&out);
    st.utf8 = false;
    assert_int_equal(show_render(&out, doc, &st, true), 0);
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)out.data[i] < 0x80);
    assert_true(line_starting(out.data, "root  ", line, sizeof line));
    assert_int_equal(count_str(line, "#"), 40);
    assert_true(line_with(out.data, "grandchild", line, sizeof line));
    assert_true(STARTS(line, "|  `- grandchild"));
    assert_true(line_with(out.data, "<script>", line, sizeof line));
    assert_true(STARTS(line, "`- <script>alert(1)</script>??\"\\ ?? end  "));
    /* --events: event ev under root, logs under child-1 and at trace level */
    assert_non_null(strstr(out.data, "+500ns event ev"));
    assert_non_null(strstr(out.data, "log gen_ai.user.message"));
    assert_non_null(strstr(out.data, "log direct"));
    assert_non_null(strstr(out.data, "log l4"));

    /* colour: ERROR highlighted */
    buf_reset(&out);
    st = (client_style){.utf8 = true, .color = true, .bar_width = 10};
    assert_int_equal(show_render(&out, doc, &st, false), 0);
    assert_non_null(strstr(out.data, "\033[1;31mERROR\033[0m"));
    assert_non_null(strstr(out.data, "\033[31m\xe2\x96\x88"));

    /* a long name is cut with an ellipsis; lines keep their width */
    json_t *spans = json_object_get(doc, "spans");
    json_object_set_new(json_array_get(spans, 0), "name",
                        json_string("a-very-long-span-name-that-goes-on-and-on-and-on-forever"));
    buf_reset(&out);
    st = (client_style){.utf8 = true, .bar_width = 40};
    assert_int_equal(show_render(&out, doc, &st, false), 0);
    assert_true(line_with(out.data, "\xe2\x80\xa6  svc-a", line, sizeof line));
    assert_true(STARTS(line, "a-very-long-span-name-that-goes-on-and-on-a\xe2\x80\xa6  svc-a"));

    /* malformed answers are refused, not crashed on */
    json_t *bad = json_pack("{s:s}", "spans", "x");
    assert_int_equal(show_render(&out, bad, &st, false), LT_EINVAL);
    json_decref(bad);
    bad = json_pack("{s:[i]}", "spans", 1);
    assert_int_equal(show_render(&out, bad, &st, false), LT_EINVAL);
    json_decref(bad);
    bad = json_pack("{s:[{}]}", "spans"); /* a span without fields still draws */
    buf_reset(&out);
    assert_int_equal(show_render(&out, bad, &st, false), 0);
    json_decref(bad);
    buf_free(&out);
    json_decref(doc);
}

static void test_render_traces(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    char *dir;
    lt_store *s = store_new(&dir);
    for (size_t i = 0; i < N_LIST_SPECS; i++)
        write_spec(s, &list_specs[i]);
    json_t *doc = get_ok(s, "/api/traces", NULL);
    store_free(s, dir);
    lt_buf out = {0};
    client_style st = {.utf8 = true, .bar_width = 40};
    assert_int_equal(traces_render(&out, doc, &st), 0);
    char line[1024], hex[40];
    assert_int_equal(count_lines(out.data), 1 + 6);
    assert_true(line_with(out.data, "START", line, sizeof line));
    assert_non_null(strstr(line, "TRACE ID"));
    assert_true(line_with(out.data, "2024-11-21T14:40:00.000", line, sizeof line));
    assert_non_null(strstr(line, " chat gpt "));
    assert_non_null(strstr(line, "my svc!"));
    assert_non_null(strstr(line, "1.90s"));
    assert_non_null(strstr(line, spec_hex('A', hex)));
    assert_non_null(strstr(line, "     2       1  "));
    assert_true(line_with(out.data, "(root not received)", line, sizeof line));
    assert_non_null(strstr(line, "2024-11-21T14:39:59.000"));
    assert_non_null(strstr(line, "500ns"));
    assert_non_null(strstr(line, spec_hex('B', hex)));
    assert_true(line_with(out.data, "2024-11-21T14:40:30.000", line, sizeof line));
    assert_non_null(strstr(line, "1.50\xc2\xb5s"));
    /* newest first, as the API answered */
    const char *f = strstr(out.data, spec_hex('F', hex)), *e = strstr(out.data, spec_hex('E', hex));
    const char *b = strstr(out.data, spec_hex('B', hex));
    assert_true(f && e && b && f < e && e < b);
    buf_reset(&out);
    st.color = true;
    assert_int_equal(traces_render(&out, doc, &st), 0);
    assert_non_null(strstr(out.data, "\033[1;31m     1\033[0m"));
    json_decref(doc);
    json_t *bad = json_pack("{s:i}", "traces", 3);
    assert_int_equal(traces_render(&out, bad, &st), LT_EINVAL);
    json_decref(bad);
    buf_free(&out);
}

/* ---- the endpoints and parameters of the web UI ---- */

/* An LLM call of its own trace (seed): a root and a chat span with a GenAI view (model,
 * tokens, cost) and a prompt long enough to be searched. */
static void write_llm(lt_store *s, uint8_t seed, const char *service, uint64_t start, uint64_t dur,
                      const char *model, int64_t in, int64_t out, double cost, const char *prompt,
                      bool error)
{
    lt_span sp[2] = {0};
    lt_genai view = {0};
    lt_kv attr = {LT_STR("gen_ai.prompt"), {.type = LT_VAL_STRING, .u.s = lt_str_c(prompt)}};
    lt_kv res = {LT_STR("service.name"), {.type = LT_VAL_STRING, .u.s = lt_str_c(service)}};
    for (int k = 0; k < 2; k++) {
        mkid(sp[k].trace_id, 16, seed);
        mkid(sp[k].span_id, 8, (uint8_t)(seed + 1 + k));
        sp[k].start_time_unix_nano = start + (uint64_t)k;
        sp[k].end_time_unix_nano = start + dur;
    }
    sp[0].name = LT_STR("agent run");
    sp[0].kind = LT_KIND_SERVER;
    sp[1].name = LT_STR("chat");
    sp[1].kind = LT_KIND_CLIENT;
    sp[1].has_parent = true;
    memcpy(sp[1].parent_span_id, sp[0].span_id, 8);
    sp[1].attrs = (lt_attrs){&attr, 1};
    if (error) sp[1].status_code = LT_STATUS_ERROR;
    view.v[GA_OPERATION] = V_STR("chat");
    view.v[GA_PROVIDER] = V_STR("openai");
    view.v[GA_REQUEST_MODEL] = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(model)};
    view.v[GA_INPUT_TOKENS] = V_INT(in);
    view.v[GA_OUTPUT_TOKENS] = V_INT(out);
    view.v[GA_COST] = V_DBL(cost);
    sp[1].genai = &view;
    lt_scope_spans ss = {.scope = {.name = LT_STR("test")}, .spans = sp, .n_spans = 2};
    lt_resource_spans rs = {.resource = {.attrs = {&res, 1}}, .scopes = &ss, .n_scopes = 1};
    lt_trace_batch b = {.rs = &rs, .n_rs = 1, .n_spans = 2};
    assert_int_equal(store_write_traces(s, &b), 0);
}

#define MIN_NS 60000000000ull

static const struct {
    uint8_t seed;
    const char *service, *model, *prompt;
    uint64_t at, dur; /* minutes after BASE, ns */
    int64_t in, out;
    double cost;
    bool error;
} llm_specs[] = {
    {0x10, "bot", "gpt-4o", "Where is my order #48213? It was due on Tuesday and has not come.", 0,
     2 * SEC, 100, 20, 0.0025, false},
    {0x20, "bot", "gpt-4o-mini",
     "Please cancel the order #48213, I found the book elsewhere now, thanks.", 1, 1 * SEC, 50, 10,
     0.00004, false},
    {0x30, "bot", "gpt-4o", "Do you ship to Norway? How long does shipping take for a parcel?", 5,
     4 * SEC, 300, 80, 0.012, true},
    {0x40, "planner", "o3-mini",
     "Plan the refund of order #777 step by step, then call the refund tool.", 5, 9 * SEC, 900, 400,
     0.31, false},
    {0x50, "planner", "o3-mini",
     "Summarise what the customer wrote about their missing parcel, briefly.", 12, 3 * SEC, 200, 60,
     0.0, false},
};
#define N_LLM (sizeof llm_specs / sizeof llm_specs[0])

static lt_store *llm_store(char **dir)
{
    lt_store *s = store_new(dir);
    for (size_t i = 0; i < N_LLM; i++)
        write_llm(s, llm_specs[i].seed, llm_specs[i].service, BASE + llm_specs[i].at * MIN_NS,
                  llm_specs[i].dur, llm_specs[i].model, llm_specs[i].in, llm_specs[i].out,
                  llm_specs[i].cost, llm_specs[i].prompt, llm_specs[i].error);
    return s;
}

/* The seeds of the traces of a list answer, in order ("10 20"). */
static void seeds_of(json_t *list, char *out, size_t n)
{
    size_t i, k = 0;
    json_t *t;
    out[0] = 0;
    json_array_foreach(list, i, t)
    {
        const char *id = client_str(t, "trace_id");
        char hex[40];
        for (size_t j = 0; j < N_LLM; j++) {
            uint8_t tid[16];
            mkid(tid, 16, llm_specs[j].seed);
            if (!strcmp(id, hexid(tid, 16, hex)))
                k += (size_t)snprintf(out + k, n - k, "%s%02x", k ? " " : "", llm_specs[j].seed);
        }
    }
}

static void expect_seeds(lt_store *s, const char *path, const char *query, const char *key,
                         const char *want)
{
    json_t *doc = get_ok(s, path, query);
    char got[128];
    seeds_of(json_object_get(doc, key), got, sizeof got);
    if (strcmp(got, want)) fail_msg("%s?%s: %s \"%s\", want \"%s\"", path, query, key, got, want);
    json_decref(doc);
}

static void test_ui_search_sort(void **state)
{
    (void)state;
    char *dir;
    lt_store *s = llm_store(&dir);
    /* q: words in order, case folded, the last a prefix; with other filters and pages */
    expect_seeds(s, "/api/traces", "q=order+%2348213", "traces", "20 10");
    expect_seeds(s, "/api/traces", "q=ORDER+%2348", "traces", "20 10");
    expect_seeds(s, "/api/traces", "q=missing%20parcel", "traces", "50");
    expect_seeds(s, "/api/traces", "q=parcel", "traces", "50 30");
    expect_seeds(s, "/api/traces", "q=parcel&service=bot", "traces", "30");
    expect_seeds(s, "/api/traces", "q=parcel&status=error", "traces", "30");
    expect_seeds(s, "/api/traces", "q=agent+run&model=o3-mini", "traces", "50 40");
    expect_seeds(s, "/api/traces", "q=%22agent%22+run&min_cost=0.01", "traces", "40 30");
    expect_seeds(s, "/api/traces", "q=parcel+missing", "traces", "");
    expect_seeds(s, "/api/traces", "q=", "traces", "50 40 30 20 10"); /* empty: no filter */
    json_t *doc = get_ok(s, "/api/traces", "q=order&limit=1");
    char seeds[64];
    seeds_of(json_object_get(doc, "traces"), seeds, sizeof seeds);
    assert_string_equal(seeds, "40");
    char q[160];
    snprintf(q, sizeof q, "q=order&limit=2&cursor=%s", client_str(doc, "next_cursor"));
    json_decref(doc);
    expect_seeds(s, "/api/traces", q, "traces", "20 10");
    doc = get_ok(s, "/api/traces", q);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_decref(doc);

    /* sort: the most expensive and the slowest; traces without cost are not ranked by it */
    expect_seeds(s, "/api/traces", "sort=cost&limit=10", "traces", "40 30 10 20");
    expect_seeds(s, "/api/traces", "sort=cost&limit=2", "traces", "40 30");
    expect_seeds(s, "/api/traces", "sort=duration&limit=3", "traces", "40 30 50");
    expect_seeds(s, "/api/traces", "sort=duration&service=bot", "traces", "30 10 20");
    expect_seeds(s, "/api/traces", "sort=cost&q=order", "traces", "40 10 20");
    expect_seeds(s, "/api/traces", "sort=start&limit=2", "traces", "50 40");
    doc = get_ok(s, "/api/traces", "sort=cost");
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    assert_true(json_is_false(json_object_get(doc, "partial")));
    json_t *t0 = json_array_get(json_object_get(doc, "traces"), 0);
    /* an entry carries what the traces table shows */
    assert_string_equal(client_str(t0, "root_name"), "agent run");
    assert_string_equal(client_str(t0, "duration_ns"), "9000000000");
    assert_int_equal(json_integer_value(json_object_get(t0, "span_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(t0, "error_count")), 0);
    assert_int_equal(json_integer_value(json_object_get(t0, "input_tokens")), 900);
    assert_int_equal(json_integer_value(json_object_get(t0, "output_tokens")), 400);
    assert_true(json_real_value(json_object_get(t0, "cost")) == 0.31);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t0, "services"), 0)),
                        "planner");
    json_decref(doc);

    store_free(s, dir);
}

/* The UI endpoints' refusals: status and a word of the message. */
static void test_ui_errors(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *query;
        int status;
        const char *word;
    } cases[] = {
        {"GET", "/api/traces", "sort=price", 400,
         "sort: expected 'start', 'cost' or 'duration', got 'price'"},
        {"GET", "/api/traces", "sort=cost&cursor=1-00112233445566778899aabbccddeeff", 400,
         "cursor: a list sorted by cost or duration has no pages"},
        {"GET", "/api/traces", "q=%zz", 400, "q: invalid percent-encoding"},
        {"GET", "/api/genai/timeseries", "step=30s", 400, "step: at least 1m"},
        {"GET", "/api/genai/timeseries", "step=soon", 400, "step: expected a duration"},
        {"GET", "/api/genai/timeseries", "group_by=colour", 400, "group_by"},
        {"GET", "/api/genai/timeseries", "start=10&end=5", 400, "start: later than end"},
        {"POST", "/api/genai/timeseries", NULL, 405, NULL},
        {"GET", "/api/live", "after=x", 400, "after: expected the next of a previous answer"},
        {"GET", "/api/live", "after=-1", 400, "after"},
        {"GET", "/api/live", "limit=0", 400, "limit"},
        {"GET", "/api/live", "status=warn", 400, "status"},
        {"DELETE", "/api/live", NULL, 405, NULL},
    };
    char *dir;
    lt_store *s = llm_store(&dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(s, cases[i].method, cases[i].path, cases[i].query, cases[i].status,
                     cases[i].word);
    store_free(s, dir);
}

/* Sums a field over a JSON array of objects. */
static double sum_of(json_t *list, const char *key, const char *match_key, const char *match)
{
    double total = 0;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (match_key && strcmp(client_str(e, match_key), match)) continue;
        json_t *v = json_object_get(e, key);
        total += json_is_string(v) ? (double)client_u64(e, key) : json_number_value(v);
    }
    return total;
}

static void test_ui_timeseries(void **state)
{
    (void)state;
    char *dir;
    lt_store *s = llm_store(&dir);
    char q[256];
    snprintf(q, sizeof q, "start=%llu&end=%llu&step=5m&group_by=model", (unsigned long long)BASE,
             (unsigned long long)(BASE + 20 * MIN_NS - 1));
    json_t *doc = get_ok(s, "/api/genai/timeseries", q);
    assert_string_equal(client_str(doc, "group_by"), "model");
    assert_string_equal(client_str(doc, "step_ns"), "300000000000");
    json_t *buckets = json_object_get(doc, "buckets"), *points = json_object_get(doc, "points");
    assert_int_equal(json_array_size(buckets), 4); /* BASE is a multiple of five minutes */
    for (size_t i = 0; i < 4; i++) {
        uint64_t b = 0;
        assert_int_equal(parse_u64(lt_str_c(json_string_value(json_array_get(buckets, i))), &b), 0);
        assert_int_equal(b, BASE + i * 5 * MIN_NS);
    }
    /* bucket 0: the two bot calls of minutes 0 and 1, by model; bucket 1: minute 5; 2: 12 */
    size_t i;
    json_t *p;
    int seen = 0;
    json_array_foreach(points, i, p)
    {
        int64_t b = json_integer_value(json_object_get(p, "bucket"));
        const char *key = client_str(p, "key");
        int64_t calls = json_integer_value(json_object_get(p, "calls"));
        if (b == 0 && !strcmp(key, "gpt-4o")) assert_int_equal(calls, 1), seen++;
        if (b == 0 && !strcmp(key, "gpt-4o-mini")) assert_int_equal(calls, 1), seen++;
        if (b == 1 && !strcmp(key, "gpt-4o")) {
            assert_int_equal(calls, 1);
            assert_int_equal(json_integer_value(json_object_get(p, "errors")), 1);
            assert_int_equal(json_integer_value(json_object_get(p, "input_tokens")), 300);
            /* quantiles come from histograms: within 4% */
            assert_true(fabs((double)client_u64(p, "duration_p50_ns") - 3999999999.0) < 0.04 * 4e9);
            seen++;
        }
        if (b == 1 && !strcmp(key, "o3-mini")) assert_int_equal(calls, 1), seen++;
        if (b == 2 && !strcmp(key, "o3-mini")) assert_int_equal(calls, 1), seen++;
        assert_true(b >= 0 && b < 4);
    }
    assert_int_equal(seen, 5);
    assert_int_equal(json_array_size(points), 5);
    /* totals: what /api/genai/summary answers for the same range; the points add up to them */
    json_t *sum = get_ok(s, "/api/genai/summary", q);
    json_t *totals = json_object_get(doc, "totals"), *groups = json_object_get(sum, "groups");
    assert_true(json_equal(totals, groups));
    const char *fields[] = {"calls", "errors", "input_tokens", "output_tokens", "cost"};
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const char *key = client_str(json_array_get(groups, g), "key");
        for (size_t f = 0; f < 5; f++) {
            double want = sum_of(groups, fields[f], "key", key);
            double got = sum_of(points, fields[f], "key", key);
            assert_true(fabs(want - got) <= 1e-12 * (1 + fabs(want)));
        }
    }
    json_decref(sum);
    /* top traces and the cost distribution over the range */
    char seeds[64];
    seeds_of(json_object_get(doc, "top_cost"), seeds, sizeof seeds);
    assert_string_equal(seeds, "40 30 10 20");
    seeds_of(json_object_get(doc, "top_duration"), seeds, sizeof seeds);
    assert_string_equal(seeds, "40 30 50 10 20");
    json_t *dist = json_object_get(doc, "cost_distribution");
    assert_int_equal(json_integer_value(json_object_get(dist, "traces")), 5);
    assert_true(json_is_false(json_object_get(dist, "partial")));
    json_t *db = json_object_get(dist, "buckets");
    assert_int_equal(sum_of(db, "traces", NULL, NULL), 5);
    /* from "no cost" (0.0) up to the bucket of 0.31 [0.2, 0.5) */
    assert_true(json_real_value(json_object_get(json_array_get(db, 0), "min")) == 0);
    assert_true(json_real_value(json_object_get(json_array_get(db, 0), "max")) == 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(db, 0), "traces")), 1);
    json_t *last = json_array_get(db, json_array_size(db) - 1);
    assert_true(json_real_value(json_object_get(last, "min")) == 0.2);
    assert_true(json_real_value(json_object_get(last, "max")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(last, "traces")), 1);
    size_t k;
    json_t *e;
    json_array_foreach(db, k, e) /* 0.0025 is in [0.002, 0.005) */
        if (json_real_value(json_object_get(e, "min")) == 0.002)
            assert_int_equal(json_integer_value(json_object_get(e, "traces")), 1);
    json_decref(doc);

    /* a step too small for the range is widened: at most 500 buckets; none given, about 120 */
    snprintf(q, sizeof q, "start=%llu&end=%llu&step=1m", (unsigned long long)BASE,
             (unsigned long long)(BASE + 30 * 1440 * MIN_NS));
    doc = get_ok(s, "/api/genai/timeseries", q);
    uint64_t step = client_u64(doc, "step_ns");
    assert_true(json_array_size(json_object_get(doc, "buckets")) <= 500);
    assert_true(step > MIN_NS && step % MIN_NS == 0);
    assert_int_equal(sum_of(json_object_get(doc, "points"), "calls", NULL, NULL), 5);
    json_decref(doc);
    snprintf(q, sizeof q, "start=%llu&end=%llu", (unsigned long long)BASE,
             (unsigned long long)(BASE + 1440 * MIN_NS));
    doc = get_ok(s, "/api/genai/timeseries", q);
    assert_int_equal(client_u64(doc, "step_ns"), 15 * MIN_NS);
    assert_int_equal(json_array_size(json_object_get(doc, "buckets")), 97);
    json_decref(doc);
    /* a step longer than the range: one bucket; a huge one is bounded */
    snprintf(q, sizeof q, "start=%llu&end=%llu&step=18446744073709551615", (unsigned long long)BASE,
             (unsigned long long)(BASE + 20 * MIN_NS));
    doc = get_ok(s, "/api/genai/timeseries", q);
    assert_int_equal(json_array_size(json_object_get(doc, "buckets")), 1);
    assert_int_equal(client_u64(doc, "step_ns"), 3650 * 1440 * MIN_NS);
    assert_int_equal(sum_of(json_object_get(doc, "points"), "calls", NULL, NULL), 5);
    json_decref(doc);
    /* the default range ends now: nothing of 2024 in it */
    doc = get_ok(s, "/api/genai/timeseries", "group_by=service");
    assert_int_equal(json_array_size(json_object_get(doc, "points")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "top_cost")), 0);
    json_decref(doc);
    store_free(s, dir);
}

static void test_ui_live(void **state)
{
    (void)state;
    char *dir;
    lt_store *s = llm_store(&dir);
    /* no cursor: the newest spans, oldest of them first, and where to go on from */
    json_t *doc = get_ok(s, "/api/live", "limit=3");
    json_t *spans = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(spans), 3);
    const char *next = client_str(doc, "next");
    assert_string_equal(next, "10"); /* five traces of two spans */
    json_t *last = json_array_get(spans, 2);
    char hex[40];
    uint8_t tid[16];
    mkid(tid, 16, 0x50);
    assert_string_equal(client_str(last, "trace_id"), hexid(tid, 16, hex));
    assert_string_equal(client_str(last, "name"), "chat");
    assert_string_equal(client_str(last, "service"), "planner");
    assert_string_equal(client_str(last, "kind"), "CLIENT");
    assert_string_equal(client_str(last, "status"), "UNSET");
    assert_string_equal(client_str(last, "model"), "o3-mini");
    assert_string_equal(client_str(last, "operation"), "chat");
    assert_string_equal(client_str(last, "provider"), "openai");
    assert_string_equal(client_str(last, "duration_ns"), "2999999999");
    assert_int_equal(json_integer_value(json_object_get(last, "input_tokens")), 200);
    assert_int_equal(json_integer_value(json_object_get(last, "output_tokens")), 60);
    assert_true(json_real_value(json_object_get(last, "cost")) == 0.0);
    json_t *root = json_array_get(spans, 1); /* the root: no view */
    assert_string_equal(client_str(root, "name"), "agent run");
    assert_true(json_is_null(json_object_get(root, "parent_span_id")));
    assert_true(json_is_null(json_object_get(root, "model")));
    assert_true(json_is_null(json_object_get(root, "input_tokens")));
    assert_true(json_is_null(json_object_get(root, "cost")));
    json_decref(doc);
    /* caught up: nothing, the same cursor; new spans come after it, filtered */
    doc = get_ok(s, "/api/live", "after=10");
    assert_int_equal(json_array_size(json_object_get(doc, "spans")), 0);
    assert_string_equal(client_str(doc, "next"), "10");
    json_decref(doc);
    write_llm(s, 0x60, "bot", BASE, SEC, "gpt-4o", 1, 1, 0.1, "late", true);
    write_llm(s, 0x70, "planner", BASE, SEC, "o3-mini", 1, 1, 0.1, "later", false);
    doc = get_ok(s, "/api/live", "after=10&service=bot");
    spans = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(spans), 2);
    mkid(tid, 16, 0x60);
    assert_string_equal(client_str(json_array_get(spans, 0), "trace_id"), hexid(tid, 16, hex));
    assert_string_equal(client_str(doc, "next"), "14");
    json_decref(doc);
    doc = get_ok(s, "/api/live", "after=10&model=o3-mini");
    assert_int_equal(json_array_size(json_object_get(doc, "spans")), 1);
    json_decref(doc);
    doc = get_ok(s, "/api/live", "after=0&status=error&limit=1000");
    spans = json_object_get(doc, "spans");
    assert_int_equal(json_array_size(spans), 2); /* 0x30's chat and 0x60's */
    assert_string_equal(client_str(json_array_get(spans, 0), "status"), "ERROR");
    json_decref(doc);
    store_free(s, dir);
}

static void test_text_helpers(void **state)
{
    (void)state;
    static const struct {
        uint64_t ns;
        const char *utf8, *ascii;
    } d[] = {
        {0, "0ns", "0ns"},
        {850, "850ns", "850ns"},
        {12300, "12.3\xc2\xb5s", "12.3us"},
        {999999, "1.00ms", "1.00ms"},
        {123456789, "123ms", "123ms"},
        {1900000000, "1.90s", "1.90s"},
        {59960000000ull, "1m00s", "1m00s"},
        {123000000000ull, "2m03s", "2m03s"},
        {3720000000000ull, "1h02m", "1h02m"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        client_duration(buf, sizeof buf, d[i].ns, true);
        assert_string_equal(buf, d[i].utf8);
        client_duration(buf, sizeof buf, d[i].ns, false);
        assert_string_equal(buf, d[i].ascii);
    }
    lt_buf b = {0};
    client_fit(&b, "abc", 5, false, true);
    client_fit(&b, "abc", 5, true, true);
    client_fit(&b, "abcdef", 4, false, true);
    client_fit(&b, "abcdef", 4, false, false);
    client_fit(&b, "a\x1b[2Jb\x7f\xc2\x9b\xff", 9, false, true);
    client_fit(&b, "\xc3\xa9t\xc3\xa9", 4, false, true);
    client_fit(&b, "\xc3\xa9t\xc3\xa9", 4, false, false);
    assert_string_equal(b.data, "abc    abc"
                                "abc\xe2\x80\xa6"
                                "abc~"
                                "a?[2Jb???"
                                "\xc3\xa9t\xc3\xa9 "
                                "?t? ");
    buf_reset(&b);
    client_param(&b, "service", "my svc/ü&x=1");
    client_param(&b, "limit", "5");
    assert_string_equal(b.data, "service=my%20svc%2F%C3%BC%26x%3D1&limit=5");
    /* what the CLI encodes, the API decodes back */
    lt_arena *a = arena_new();
    api_params p;
    lt_str bad;
    assert_int_equal(api_params_parse(a, (lt_str){b.data, b.len}, &p, &bad), 0);
    assert_string_equal(api_params_get(&p, "service")->ptr, "my svc/\xc3\xbc&x=1");
    arena_free(a);
    buf_free(&b);
}

/* The commands end to end on a store directory (--data), stdout discarded. */
static void test_commands(void **state)
{
    (void)state;
    char *dir = tmp_store_dir();
    lt_store *s = open_store(dir);
    static sample t;
    build_sample(&t);
    assert_int_equal(store_write_traces(s, &t.data.spans), 0);
    store_close(s);
    char hex[40];
    hexid(t.trace_id, 16, hex);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    assert_true(saved >= 0 && null >= 0);
    dup2(null, STDOUT_FILENO);
    char *show_ok[] = {"show", hex, "--data", dir, NULL};
    char *show_json[] = {"show", hex, "--data", dir, "--json", "--events", NULL};
    char *show_otlp[] = {"show", "--otlp", hex, "--data", dir, NULL};
    char *show_missing[] = {"show", "00112233445566778899aabbccddeeff", "--data", dir, NULL};
    char *show_bad[] = {"show", "nothex", "--data", dir, NULL};
    char *show_nodir[] = {"show", hex, "--data", "/nonexistent/llmtrace", NULL};
    char *traces_ok[] = {"traces", "--data", dir, "--service", "svc-b", "--errors", NULL};
    char *traces_bad[] = {"traces", "--data", dir, "--min-duration", "fast", NULL};
    char *traces_help[] = {"traces", "--help", NULL};
    int r_ok = cmd_show(4, show_ok), r_json = cmd_show(6, show_json),
        r_otlp = cmd_show(5, show_otlp), r_missing = cmd_show(4, show_missing),
        r_bad = cmd_show(4, show_bad), r_nodir = cmd_show(4, show_nodir),
        r_traces = cmd_traces(6, traces_ok), r_tbad = cmd_traces(5, traces_bad),
        r_help = cmd_traces(2, traces_help);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(null);
    assert_int_equal(r_ok, 0);
    assert_int_equal(r_json, 0);
    assert_int_equal(r_otlp, 0);
    assert_int_equal(r_missing, 1);
    assert_int_equal(r_bad, 2);
    assert_int_equal(r_nodir, 1);
    assert_int_equal(r_traces, 0);
    assert_int_equal(r_tbad, 1);
    assert_int_equal(r_help, 0);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_decode),     cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_duration), cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_routes),         cmocka_unit_test(test_list_params),
        cmocka_unit_test(test_get_trace),      cmocka_unit_test(test_get_trace_otlp),
        cmocka_unit_test(test_trace_shapes),   cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_text_helpers),   cmocka_unit_test(test_render_waterfall),
        cmocka_unit_test(test_render_traces),  cmocka_unit_test(test_store_trace),
        cmocka_unit_test(test_store_filters),  cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_commands),       cmocka_unit_test(test_ui_search_sort),
        cmocka_unit_test(test_ui_timeseries),  cmocka_unit_test(test_ui_live),
        cmocka_unit_test(test_ui_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
