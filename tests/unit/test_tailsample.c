/* test_tailsample.c — the tail_sampling and probabilistic_sampler processors.
 *
 * Policies run on the captured fixture traces (decoded and annotated as the receivers do,
 * the batch's arena freed right after consume so ASan proves the copies deep) and on
 * constructed traces. What a policy should keep is computed here from the decoded input
 * (status, tokens, cost, finish reasons), never written down. The clock is injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>

#include "fixture_files.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "genai/genai.h"
#include "model/pb.h"
#include "otlp/otlp.h"
#include "pipeline/config.h"
#include "pipeline/probsample.h"
#include "pipeline/tailsample.h"

#define SEC 1000000000ull

static genai_prices *prices;

/* ---- fingerprints: a span as it went in and as it came out ----
 *
 * The canonical protobuf encoding of the span, its resource and its scope, and the JSON of
 * every field of its GenAI view: equal fingerprints mean the copy lost nothing. */

enum { MAX_PRINTS = 4096 };
typedef struct {
    uint8_t span_id[8], trace_id[16];
    char *bytes;
    size_t len;
} print;

typedef struct {
    print p[MAX_PRINTS];
    size_t n;
} prints;

static prints *fed_prints, *out_prints;

static void fingerprint(prints *ps, const lt_resource_spans *rs, const lt_scope_spans *ss,
                        const lt_span *s)
{
    assert_true(ps->n < MAX_PRINTS);
    lt_buf b = {0};
    assert_int_equal(pb_encode_span(&b, s), 0);
    assert_int_equal(pb_encode_resource(&b, &rs->resource), 0);
    assert_int_equal(pb_encode_scope(&b, &ss->scope), 0);
    buf_append_str(&b, rs->schema_url);
    buf_append_str(&b, ss->schema_url);
    for (int f = 0; s->genai && f < GA_N_FIELDS; f++) {
        buf_printf(&b, "|%d:", f);
        model_value_json(&b, &s->genai->v[f]);
    }
    assert_false(b.oom);
    print *p = &ps->p[ps->n++];
    memcpy(p->span_id, s->span_id, 8);
    memcpy(p->trace_id, s->trace_id, 16);
    p->bytes = b.data;
    p->len = b.len;
}

static void prints_add_batch(prints *ps, const lt_trace_batch *b)
{
    for (uint32_t i = 0; ps && i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++)
                fingerprint(ps, &b->rs[i], &b->rs[i].scopes[j], &b->rs[i].scopes[j].spans[k]);
}

static const print *prints_find(const prints *ps, const uint8_t *trace_id, const uint8_t *span_id)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!memcmp(ps->p[i].span_id, span_id, 8) && !memcmp(ps->p[i].trace_id, trace_id, 16))
            return &ps->p[i];
    return NULL;
}

static void prints_free(prints *ps)
{
    for (size_t i = 0; ps && i < ps->n; i++)
        free(ps->p[i].bytes);
    free(ps);
}

/* ---- what the processor emits ---- */

enum { MAX_OUT = 40000 };
typedef struct {
    uint8_t id[16];
    uint32_t spans;
    bool genai; /* some span carried a GenAI view */
} emitted;

typedef struct {
    emitted *e;
    size_t n;
} sink;

static int collect(const lt_trace_batch *b, lt_arena *a, void *arg)
{
    sink *s = arg;
    assert_true(s->n < MAX_OUT);
    emitted *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    assert_true(b->n_rs > 0);
    uint64_t n = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++) {
                const lt_span *sp = &b->rs[i].scopes[j].spans[k];
                if (n == 0) memcpy(e->id, sp->trace_id, 16);
                /* one trace per emitted batch */
                assert_memory_equal(e->id, sp->trace_id, 16);
                if (sp->genai) e->genai = true;
                n++;
            }
    assert_int_equal(n, b->n_spans);
    e->spans = (uint32_t)n;
    prints_add_batch(out_prints, b);
    arena_free(a);
    return 0;
}

static sink *sink_new(void)
{
    sink *s = calloc(1, sizeof *s);
    s->e = calloc(MAX_OUT, sizeof(emitted));
    return s;
}

static void sink_free(sink *s)
{
    free(s->e);
    free(s);
}

static const emitted *sink_find(const sink *s, const uint8_t *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->e[i].id, id, 16)) return &s->e[i];
    return NULL;
}

/* The YAML text fmt (printf-style) loaded as a configuration file is; the test fails when
 * it does not load. Free with cfg_free. */
__attribute__((format(printf, 1, 2))) static cfg_doc *yaml(const char *fmt, ...)
{
    char text[4096], err[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof text);
    cfg_doc *d = NULL;
    if (cfg_load_string(text, (size_t)n, "tail_sampling.yaml", &d, err, sizeof err))
        fail_msg("config: %s", err);
    return d;
}

/* The processor of the settings in d, which is freed. */
static tailsamp *make(cfg_doc *d)
{
    char err[512] = "";
    tailsamp *ts = NULL;
    int rc = tailsamp_new(d, cfg_root(d), &ts, err, sizeof err);
    cfg_free(d);
    if (rc) fail_msg("tailsamp_new: %s", err);
    return ts;
}

/* probsamp_new on the settings in d, which is freed. */
static int new_probsamp(cfg_doc *d, probsamp **ps)
{
    char err[512];
    int rc = probsamp_new(d, cfg_root(d), ps, err, sizeof err);
    cfg_free(d);
    return rc;
}

/* ---- fixtures ---- */

enum { MAX_TRACES = 256 };
typedef struct {
    uint8_t id[16];
    uint32_t spans;
    bool error, length;
    int64_t tokens;
    double cost;
    bool genai;
} tsum;

typedef struct {
    tsum t[MAX_TRACES];
    size_t n;
} summary;

static tsum *sum_of(summary *s, const uint8_t *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->t[i].id, id, 16)) return &s->t[i];
    assert_true(s->n < MAX_TRACES);
    tsum *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    memcpy(t->id, id, 16);
    return t;
}

/* Decodes and annotates every traces file of a fixture folder, feeds each batch to ts at
 * now_ns (ts may be NULL) and adds what each trace holds to sum. The batch's buffer and
 * arena are freed right after consume. */
static void feed_folder(tailsamp *ts, const char *rel, uint64_t now_ns, summary *sum)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, rel);
    DIR *d = opendir(dir);
    if (!d) fail_msg("no fixture folder %s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        bool json = fx_ends(e->d_name, "-traces.json");
        if (!json && !fx_ends(e->d_name, "-traces.pb")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *buf = fx_read(path, &len);
        assert_non_null(buf);
        lt_arena *a = arena_new();
        lt_trace_batch b;
        int rc = otlp_decode_traces(a, json ? OTLP_JSON : OTLP_PROTOBUF, buf, len, &b);
        if (rc) fail_msg("%s: %s", path, lt_strerror(rc));
        assert_int_equal(genai_annotate(&b, prices, a), 0);
        prints_add_batch(fed_prints, &b);
        for (uint32_t i = 0; i < b.n_rs; i++)
            for (uint32_t j = 0; j < b.rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < b.rs[i].scopes[j].n_spans; k++) {
                    const lt_span *s = &b.rs[i].scopes[j].spans[k];
                    tsum *t = sum_of(sum, s->trace_id);
                    t->spans++;
                    if (s->status_code == LT_STATUS_ERROR) t->error = true;
                    if (!s->genai) continue;
                    t->genai = true;
                    t->tokens += genai_int(s->genai, GA_INPUT_TOKENS, 0) +
                                 genai_int(s->genai, GA_OUTPUT_TOKENS, 0);
                    t->cost += genai_double(s->genai, GA_COST, 0);
                    const lt_value *fr = &s->genai->v[GA_FINISH_REASONS];
                    for (uint32_t m = 0; fr->type == LT_VAL_ARRAY && m < fr->u.arr.n; m++)
                        if (lt_str_eq_c(fr->u.arr.items[m].u.s, "length")) t->length = true;
                }
        if (ts) assert_int_equal(tailsamp_consume(ts, &b, now_ns), 0);
        arena_free(a);
        free(buf);
    }
    closedir(d);
}

static const char *const fixture_dirs[] = {
    "otel/errors-json",        "otel/chat-length-json", "otel/multi-agent-json",
    "otel/rag-json",           "otel/batch-json",       "otel/streaming-proto",
    "openinference/errors",    "traceloop/chat-length", "langfuse/multi-agent",
    "openinference/streaming",
};
#define N_FIXTURE_DIRS (sizeof fixture_dirs / sizeof fixture_dirs[0])

/* Feeds every fixture folder to a processor built from one policy, decides everything,
 * and checks that exactly the traces want() selects were emitted, whole. */
static void check_fixture_policy(const char *policy, bool (*want)(const tsum *), size_t *n_want)
{
    tailsamp *ts = make(yaml("decision_wait: 1s\npolicies: [%s]", policy));
    summary *sum = calloc(1, sizeof *sum);
    fed_prints = calloc(1, sizeof *fed_prints);
    out_prints = calloc(1, sizeof *out_prints);
    for (size_t i = 0; i < N_FIXTURE_DIRS; i++)
        feed_folder(ts, fixture_dirs[i], 100, sum);
    sink *out = sink_new();
    assert_int_equal(tailsamp_tick(ts, 100 + SEC - 1, collect, out), 0);
    assert_int_equal(out->n, 0); /* decision_wait has not passed */
    assert_int_equal(tailsamp_tick(ts, 100 + SEC, collect, out), 0);
    size_t w = 0;
    for (size_t i = 0; i < sum->n; i++) {
        const emitted *e = sink_find(out, sum->t[i].id);
        if (want(&sum->t[i])) {
            w++;
            if (!e) fail_msg("trace %zu should be kept", i);
            assert_int_equal(e->spans, sum->t[i].spans);
            assert_int_equal(e->genai, sum->t[i].genai);
        } else if (e) {
            fail_msg("trace %zu should be dropped", i);
        }
    }
    assert_int_equal(out->n, w);
    /* what came out is what went in, byte for byte, GenAI views included */
    size_t compared = 0;
    for (size_t i = 0; i < out_prints->n; i++) {
        const print *o = &out_prints->p[i];
        const print *f = prints_find(fed_prints, o->trace_id, o->span_id);
        assert_non_null(f);
        assert_int_equal(o->len, f->len);
        assert_memory_equal(o->bytes, f->bytes, f->len);
        compared++;
    }
    size_t want_spans = 0;
    for (size_t i = 0; i < sum->n; i++)
        if (want(&sum->t[i])) want_spans += sum->t[i].spans;
    assert_int_equal(compared, want_spans);
    prints_free(fed_prints);
    prints_free(out_prints);
    fed_prints = out_prints = NULL;
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.traces_held, 0);
    assert_int_equal(st.spans_held, 0);
    assert_int_equal(st.bytes_held, 0);
    assert_int_equal(st.traces_kept, w);
    assert_int_equal(st.traces_kept + st.traces_dropped, sum->n);
    tailsamp_policy_stats ps;
    tailsamp_policy_stat(ts, 0, &ps);
    assert_int_equal(ps.sampled, w);
    assert_int_equal(ps.not_sampled, sum->n - w);
    *n_want = w;
    sink_free(out);
    free(sum);
    tailsamp_free(ts);
}

static bool want_error(const tsum *t)
{
    return t->error;
}
static bool want_length(const tsum *t)
{
    return t->length;
}
static double cost_cut;
static bool want_cost(const tsum *t)
{
    return t->cost >= cost_cut;
}
static int64_t token_cut;
static bool want_tokens(const tsum *t)
{
    return t->tokens >= token_cut;
}

static void test_status_code_fixtures(void **state)
{
    (void)state;
    size_t n;
    check_fixture_policy("{name: errors, type: status_code, status_code: {status_codes: [ERROR]}}",
                         want_error, &n);
    assert_true(n >= 6); /* three error traces in each of the two errors folders at least */
}

static void test_finish_reason_fixtures(void **state)
{
    (void)state;
    size_t n;
    check_fixture_policy("{name: cut, type: finish_reason,"
                         " finish_reason: {finish_reasons: [length, content_filter]}}",
                         want_length, &n);
    assert_true(n >= 2);
}

/* The median of the fixture traces' totals, so that the policy splits them. */
static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(bool tokens)
{
    summary *sum = calloc(1, sizeof *sum);
    for (size_t i = 0; i < N_FIXTURE_DIRS; i++)
        feed_folder(NULL, fixture_dirs[i], 0, sum);
    double v[MAX_TRACES];
    size_t n = 0;
    for (size_t i = 0; i < sum->n; i++) {
        double x = tokens ? (double)sum->t[i].tokens : sum->t[i].cost;
        if (x > 0) v[n++] = x;
    }
    assert_true(n >= 4);
    qsort(v, n, sizeof v[0], cmp_d);
    free(sum);
    return v[n / 2];
}

static void test_cost_fixtures(void **state)
{
    (void)state;
    cost_cut = median_of(false);
    char policy[256];
    snprintf(policy, sizeof policy, "{name: expensive, type: cost, cost: {threshold_usd: %.17g}}",
             cost_cut);
    size_t n;
    check_fixture_policy(policy, want_cost, &n);
    assert_true(n >= 2);
}

static void test_tokens_fixtures(void **state)
{
    (void)state;
    token_cut = (int64_t)median_of(true);
    char policy[256];
    snprintf(policy, sizeof policy, "{name: big, type: tokens, tokens: {threshold: %lld}}",
             (long long)token_cut);
    size_t n;
    check_fixture_policy(policy, want_tokens, &n);
    assert_true(n >= 2);
}

/* ---- constructed traces ---- */

typedef struct {
    uint32_t trace; /* the trace id is derived from this number */
    uint32_t status;
    uint64_t start_ms, end_ms;
    const char *skey, *sval; /* one string attribute (optional) */
    const char *nkey;        /* one int attribute (optional) */
    int64_t nval;
    const char *bkey; /* one bool attribute */
    bool bval;
    const char *conv; /* gen_ai.conversation.id */
} spec;

static void id_of(uint32_t n, uint8_t id[16])
{
    /* spread the number over the id as a random generator would */
    uint64_t a = hash64(&n, sizeof n, 1), b = hash64(&n, sizeof n, 2);
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

/* A batch of one resource (service.name=svc, plus the resource attribute given) holding
 * the spans of specs, annotated (so conversation ids get their view). */
static lt_trace_batch *build(lt_arena *a, const spec *sp, size_t n, const char *res_key,
                             const char *res_val)
{
    lt_trace_batch *b = arena_calloc(a, 1, sizeof *b);
    b->rs = arena_calloc(a, 1, sizeof(lt_resource_spans));
    b->n_rs = 1;
    lt_kv *rkv = arena_calloc(a, 2, sizeof(lt_kv));
    rkv[0] = (lt_kv){LT_STR("service.name"), {.type = LT_VAL_STRING, .u.s = LT_STR("svc")}};
    uint32_t nr = 1;
    if (res_key)
        rkv[nr++] = (lt_kv){lt_str_c(res_key), {.type = LT_VAL_STRING, .u.s = lt_str_c(res_val)}};
    b->rs[0].resource.attrs = (lt_attrs){rkv, nr};
    lt_scope_spans *ss = arena_calloc(a, 1, sizeof *ss);
    ss->scope.name = LT_STR("test");
    b->rs[0].scopes = ss;
    b->rs[0].n_scopes = 1;
    ss->spans = arena_calloc(a, n ? n : 1, sizeof(lt_span));
    ss->n_spans = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        lt_span *s = &ss->spans[i];
        id_of(sp[i].trace, s->trace_id);
        uint64_t sid = i + 1 + ((uint64_t)sp[i].trace << 20);
        memcpy(s->span_id, &sid, 8);
        s->name = LT_STR("op");
        s->kind = LT_KIND_INTERNAL;
        s->start_time_unix_nano = 1700000000000000000ull + sp[i].start_ms * 1000000ull;
        s->end_time_unix_nano = 1700000000000000000ull + sp[i].end_ms * 1000000ull;
        s->status_code = sp[i].status;
        lt_kv *kv = arena_calloc(a, 4, sizeof(lt_kv));
        uint32_t k = 0;
        if (sp[i].skey)
            kv[k++] =
                (lt_kv){lt_str_c(sp[i].skey), {.type = LT_VAL_STRING, .u.s = lt_str_c(sp[i].sval)}};
        if (sp[i].nkey)
            kv[k++] = (lt_kv){lt_str_c(sp[i].nkey), {.type = LT_VAL_INT, .u.i = sp[i].nval}};
        if (sp[i].bkey)
            kv[k++] = (lt_kv){lt_str_c(sp[i].bkey), {.type = LT_VAL_BOOL, .u.b = sp[i].bval}};
        if (sp[i].conv)
            kv[k++] = (lt_kv){LT_STR("gen_ai.conversation.id"),
                              {.type = LT_VAL_STRING, .u.s = lt_str_c(sp[i].conv)}};
        s->attrs = (lt_attrs){kv, k};
    }
    b->n_spans = n;
    assert_int_equal(genai_annotate(b, NULL, a), 0);
    return b;
}

static void feed(tailsamp *ts, const spec *sp, size_t n, uint64_t now_ns)
{
    lt_arena *a = arena_new();
    lt_trace_batch *b = build(a, sp, n, NULL, NULL);
    assert_int_equal(tailsamp_consume(ts, b, now_ns), 0);
    arena_free(a);
}

static bool kept(const sink *s, uint32_t trace)
{
    uint8_t id[16];
    id_of(trace, id);
    return sink_find(s, id) != NULL;
}

/* Feeds specs, decides them all (tick after decision_wait), returns what was emitted. */
static sink *run(const char *policy, const spec *sp, size_t n)
{
    tailsamp *ts = make(yaml("decision_wait: 5s\npolicies: [%s]", policy));
    feed(ts, sp, n, 0);
    sink *out = sink_new();
    assert_int_equal(tailsamp_tick(ts, 5 * SEC, collect, out), 0);
    tailsamp_free(ts);
    return out;
}

static void test_latency(void **state)
{
    (void)state;
    /* trace 1: 50 ms; trace 2: two spans over 0..150 ms; trace 3: 300 ms */
    const spec sp[] = {{.trace = 1, .start_ms = 0, .end_ms = 50},
                       {.trace = 2, .start_ms = 0, .end_ms = 20},
                       {.trace = 2, .start_ms = 100, .end_ms = 150},
                       {.trace = 3, .start_ms = 10, .end_ms = 310}};
    sink *o = run("{name: slow, type: latency, latency: {threshold_ms: 100}}", sp, 4);
    assert_false(kept(o, 1));
    assert_true(kept(o, 2));
    assert_true(kept(o, 3));
    sink_free(o);
    o = run("{name: band, type: latency,"
            " latency: {threshold_ms: 100, upper_threshold_ms: 200}}",
            sp, 4);
    assert_false(kept(o, 1));
    assert_true(kept(o, 2));
    assert_false(kept(o, 3));
    sink_free(o);
}

static void test_attributes(void **state)
{
    (void)state;
    const spec sp[] = {
        {.trace = 1, .skey = "http.route", .sval = "/v1/chat", .nkey = "retries", .nval = 3},
        {.trace = 2, .skey = "http.route", .sval = "/health", .nkey = "retries", .nval = 70},
        {.trace = 3, .bkey = "app.force_sample", .bval = true},
        {.trace = 4, .bkey = "app.force_sample", .bval = false},
        {.trace = 5},
    };
    sink *o = run("{name: n, type: numeric_attribute,"
                  " numeric_attribute: {key: retries, min_value: 50, max_value: 100}}",
                  sp, 5);
    assert_false(kept(o, 1));
    assert_true(kept(o, 2));
    assert_int_equal(o->n, 1);
    sink_free(o);
    o = run("{name: s, type: string_attribute,"
            " string_attribute: {key: http.route, values: [/v1/chat]}}",
            sp, 5);
    assert_true(kept(o, 1));
    assert_int_equal(o->n, 1);
    sink_free(o);
    /* regex (unanchored search, as the collector's) */
    o = run("{name: r, type: string_attribute,"
            " string_attribute: {key: http.route, values: [heal.h$], enabled_regex_matching: true,"
            " cache_max_size: 10}}",
            sp, 5);
    assert_true(kept(o, 2));
    assert_int_equal(o->n, 1);
    sink_free(o);
    /* inverted: every trace without a match is sampled, a match is dropped */
    o = run("{name: i, type: string_attribute,"
            " string_attribute: {key: http.route, values: [/health], invert_match: true}}",
            sp, 5);
    assert_false(kept(o, 2));
    assert_int_equal(o->n, 4);
    sink_free(o);
    o = run("{name: b, type: boolean_attribute,"
            " boolean_attribute: {key: app.force_sample, value: true}}",
            sp, 5);
    assert_true(kept(o, 3));
    assert_int_equal(o->n, 1);
    sink_free(o);
}

/* An inverted match drops the trace even when another policy samples it; and with
 * sample_on_first_match the first sampling policy ends the evaluation. */
static void test_invert_overrides(void **state)
{
    (void)state;
    const spec sp[] = {{.trace = 1, .skey = "http.route", .sval = "/v1/chat"},
                       {.trace = 2, .skey = "http.route", .sval = "/health"},
                       {.trace = 3}};
    for (int first = 0; first < 2; first++) {
        tailsamp *ts = make(yaml("decision_wait: 1s\n"
                                 "sample_on_first_match: %s\n"
                                 "policies:\n"
                                 "  - {name: all, type: always_sample}\n"
                                 "  - {name: no-health, type: string_attribute,\n"
                                 "     string_attribute: {key: http.route, values: [/health],\n"
                                 "                        invert_match: true}}\n",
                                 first ? "true" : "false"));
        feed(ts, sp, 3, 0);
        sink *o = sink_new();
        assert_int_equal(tailsamp_tick(ts, SEC, collect, o), 0);
        assert_true(kept(o, 1));
        assert_true(kept(o, 3));
        /* without first match the inverted vote drops /health; with it, always_sample wins
         * before the inverted policy is asked */
        assert_int_equal(kept(o, 2), first == 1);
        tailsamp_policy_stats ps;
        tailsamp_policy_stat(ts, 1, &ps);
        assert_string_equal(ps.name, "no-health");
        assert_string_equal(ps.type, "string_attribute");
        assert_int_equal(ps.sampled + ps.not_sampled, first ? 0 : 3);
        sink_free(o);
        tailsamp_free(ts);
    }
}

static void test_resource_attribute(void **state)
{
    (void)state;
    tailsamp *ts = make(yaml("decision_wait: 1s\n"
                             "policies:\n"
                             "  - {name: team, type: string_attribute,\n"
                             "     string_attribute: {key: team, values: [a]}}\n"));
    const spec s1[] = {{.trace = 1}}, s2[] = {{.trace = 2}};
    lt_arena *a = arena_new();
    assert_int_equal(tailsamp_consume(ts, build(a, s1, 1, "team", "a"), 0), 0);
    assert_int_equal(tailsamp_consume(ts, build(a, s2, 1, "team", "b"), 0), 0);
    arena_free(a);
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, SEC, collect, o), 0);
    assert_true(kept(o, 1));
    assert_false(kept(o, 2));
    sink_free(o);
    tailsamp_free(ts);
}

static void test_span_count_and(void **state)
{
    (void)state;
    spec sp[12];
    size_t n = 0;
    for (uint32_t t = 1; t <= 4; t++)
        for (uint32_t k = 0; k < t; k++)
            if (n < 12) sp[n++] = (spec){.trace = t, .status = t == 3 ? LT_STATUS_ERROR : 0};
    sink *o = run("{name: c, type: span_count, span_count: {min_spans: 2, max_spans: 3}}", sp, n);
    assert_false(kept(o, 1));
    assert_true(kept(o, 2));
    assert_true(kept(o, 3));
    assert_false(kept(o, 4));
    sink_free(o);
    o = run("{name: both, type: and, and: {and_sub_policy: ["
            "{name: c, type: span_count, span_count: {min_spans: 2}},"
            " {name: e, type: status_code, status_code: {status_codes: [ERROR]}}]}}",
            sp, n);
    assert_int_equal(o->n, 1);
    assert_true(kept(o, 3));
    sink_free(o);
}

static void test_rate_limiting(void **state)
{
    (void)state;
    /* 10 traces of 3 spans decided in one second, 10 spans a second: 3 traces */
    spec sp[30];
    for (uint32_t i = 0; i < 30; i++)
        sp[i] = (spec){.trace = i / 3 + 1};
    tailsamp *ts = make(yaml("decision_wait: 1s\n"
                             "policies:\n"
                             "  - {name: r, type: rate_limiting,"
                             " rate_limiting: {spans_per_second: 10}}\n"));
    feed(ts, sp, 30, 0);
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, SEC + SEC / 2, collect, o), 0);
    assert_int_equal(o->n, 3);
    /* the next second has a fresh budget */
    for (uint32_t i = 0; i < 30; i++)
        sp[i].trace += 100;
    feed(ts, sp, 30, 2 * SEC);
    assert_int_equal(tailsamp_tick(ts, 3 * SEC, collect, o), 0);
    assert_int_equal(o->n, 6);
    sink_free(o);
    tailsamp_free(ts);
}

static void test_composite(void **state)
{
    (void)state;
    /* 20 error traces and 20 others, 1 span each, decided in one second; total 15 spans a
     * second, errors get 50% of it (7), always_sample the rest of the total */
    spec sp[40];
    for (uint32_t i = 0; i < 40; i++)
        sp[i] = (spec){.trace = i + 1, .status = i < 20 ? LT_STATUS_ERROR : 0};
    sink *o = run("{name: comp, type: composite, composite: {"
                  "max_total_spans_per_second: 15,"
                  " policy_order: [errors, rest],"
                  " composite_sub_policy: [{name: rest, type: always_sample},"
                  " {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}],"
                  " rate_allocation: [{policy: errors, percent: 50}]}}",
                  sp, 40);
    size_t errs = 0, rest = 0;
    for (uint32_t i = 0; i < 40; i++)
        if (kept(o, i + 1)) *(i < 20 ? &errs : &rest) += 1;
    assert_int_equal(errs, 7);
    assert_int_equal(rest, 8);
    sink_free(o);
}

/* The seed config: errors + 10% of the rest, over many synthetic traces. */
static void test_seed_config(void **state)
{
    (void)state;
    enum { N = 20000 };
    tailsamp *ts = make(
        yaml("decision_wait: 10s\n"
             "policies:\n"
             "  - {name: errors-policy, type: status_code, status_code: {status_codes: [ERROR]}}\n"
             "  - {name: sample-policy, type: probabilistic,"
             " probabilistic: {sampling_percentage: 10}}\n"));
    spec *sp = calloc(N * 2, sizeof *sp);
    size_t n = 0, n_err = 0;
    for (uint32_t t = 1; t <= N; t++) {
        bool err = hash64(&t, sizeof t, 99) % 20 == 0; /* ~5% error traces */
        n_err += err;
        sp[n++] = (spec){.trace = t, .start_ms = 0, .end_ms = 10};
        sp[n++] = (spec){.trace = t, .status = err ? LT_STATUS_ERROR : LT_STATUS_UNSET};
    }
    for (size_t off = 0; off < n; off += 1000)
        feed(ts, sp + off, n - off < 1000 ? n - off : 1000, SEC);
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, 11 * SEC, collect, o), 0);
    size_t kept_err = 0, kept_ok = 0;
    for (uint32_t t = 1; t <= N; t++) {
        bool err = hash64(&t, sizeof t, 99) % 20 == 0;
        uint8_t id[16];
        id_of(t, id);
        const emitted *e = sink_find(o, id);
        if (e) assert_int_equal(e->spans, 2);
        if (err)
            kept_err += e != NULL;
        else
            kept_ok += e != NULL;
    }
    assert_int_equal(kept_err, n_err);
    double p = (double)kept_ok / (double)(N - n_err);
    double sigma = sqrt(0.1 * 0.9 / (double)(N - n_err));
    print_message("seed config: %zu error traces, all kept; %.2f%% of %zu others kept\n", n_err,
                  100 * p, N - n_err);
    assert_true(fabs(p - 0.10) < 4 * sigma);
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.traces_kept, kept_err + kept_ok);
    assert_int_equal(st.spans_kept, 2 * (kept_err + kept_ok));
    free(sp);
    sink_free(o);
    tailsamp_free(ts);
}

/* The tail policy and probabilistic_sampler pick the same traces. */
static void test_probabilistic_consistency(void **state)
{
    (void)state;
    probsamp *ps = NULL;
    assert_int_equal(new_probsamp(yaml("sampling_percentage: 25"), &ps), 0);
    enum { N = 4000 };
    spec *sp = calloc(N, sizeof *sp);
    for (uint32_t i = 0; i < N; i++)
        sp[i] = (spec){.trace = i};
    sink *o =
        run("{name: p, type: probabilistic, probabilistic: {sampling_percentage: 25}}", sp, N);
    size_t agree = 0, k = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        id_of(i, id);
        bool a = sink_find(o, id) != NULL, b = probsamp_keep(ps, id);
        agree += a == b;
        k += a;
    }
    assert_int_equal(agree, N);
    assert_true(fabs((double)k / N - 0.25) < 4 * sqrt(0.25 * 0.75 / N));
    sink_free(o);
    /* a salt changes the selection */
    o = run("{name: p, type: probabilistic,"
            " probabilistic: {sampling_percentage: 25, hash_salt: x}}",
            sp, N);
    agree = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        id_of(i, id);
        agree += (sink_find(o, id) != NULL) == probsamp_keep(ps, id);
    }
    assert_true(agree < N);
    sink_free(o);
    probsamp_free(ps);
    free(sp);
}

static void test_decision_wait(void **state)
{
    (void)state;
    tailsamp *ts = make(yaml("decision_wait: 10s\npolicies: [{name: all, type: always_sample}]"));
    const spec a[] = {{.trace = 1}}, b[] = {{.trace = 2}}, a2[] = {{.trace = 1}};
    feed(ts, a, 1, 100 * SEC);
    feed(ts, b, 1, 104 * SEC);
    feed(ts, a2, 1, 108 * SEC); /* a second span of trace 1 does not restart its wait */
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, 110 * SEC - 1, collect, o), 0);
    assert_int_equal(o->n, 0);
    assert_int_equal(tailsamp_tick(ts, 110 * SEC, collect, o), 0);
    assert_int_equal(o->n, 1);
    assert_true(kept(o, 1));
    assert_int_equal(o->e[0].spans, 2);
    assert_int_equal(tailsamp_tick(ts, 113 * SEC, collect, o), 0);
    assert_int_equal(o->n, 1);
    assert_int_equal(tailsamp_tick(ts, 114 * SEC, collect, o), 0);
    assert_int_equal(o->n, 2);
    assert_true(kept(o, 2));
    sink_free(o);
    tailsamp_free(ts);
}

static void test_late_spans(void **state)
{
    (void)state;
    tailsamp *ts = make(
        yaml("decision_wait: 1s\n"
             "policies: [{name: e, type: status_code, status_code: {status_codes: [ERROR]}}]"));
    const spec first[] = {{.trace = 1, .status = LT_STATUS_ERROR}, {.trace = 2}};
    feed(ts, first, 2, 0);
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, SEC, collect, o), 0);
    assert_int_equal(o->n, 1);
    assert_true(kept(o, 1));
    /* late spans: trace 1's follow the keep (emitted at the next tick, without waiting),
     * trace 2's the drop, even though this one is an error */
    const spec late[] = {{.trace = 1}, {.trace = 1}, {.trace = 2, .status = LT_STATUS_ERROR}};
    feed(ts, late, 3, 5 * SEC);
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.late_spans_kept, 2);
    assert_int_equal(st.late_spans_dropped, 1);
    assert_int_equal(st.spans_held, 2);
    assert_int_equal(tailsamp_tick(ts, 5 * SEC, collect, o), 0);
    assert_int_equal(o->n, 2);
    assert_memory_equal(o->e[1].id, o->e[0].id, 16);
    assert_int_equal(o->e[1].spans, 2);
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.traces_held, 0);
    assert_int_equal(st.bytes_held, 0);
    sink_free(o);
    tailsamp_free(ts);

    /* a decision cache of one id: the older decision is forgotten and its late span starts
     * a new trace */
    ts = make(yaml("decision_wait: 1s\n"
                   "decision_cache: {sampled_cache_size: 1, non_sampled_cache_size: 1}\n"
                   "policies: [{name: a, type: always_sample}]"));
    const spec two[] = {{.trace = 1}, {.trace = 2}};
    feed(ts, two, 2, 0);
    o = sink_new();
    assert_int_equal(tailsamp_tick(ts, SEC, collect, o), 0);
    assert_int_equal(o->n, 2);
    const spec l1[] = {{.trace = 1}}, l2[] = {{.trace = 2}};
    feed(ts, l1, 1, 2 * SEC);
    feed(ts, l2, 1, 2 * SEC);
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.late_spans_kept, 1); /* trace 2's id is remembered, trace 1's not */
    assert_int_equal(tailsamp_tick(ts, 2 * SEC, collect, o), 0);
    assert_int_equal(o->n, 3);
    assert_int_equal(tailsamp_tick(ts, 3 * SEC, collect, o), 0);
    assert_int_equal(o->n, 4);
    sink_free(o);
    tailsamp_free(ts);
}

/* A cache of 1000 ids over 5000 decisions: exactly the last 1000 are remembered, which
 * exercises the index's deletions. */
static void test_decision_cache_fifo(void **state)
{
    (void)state;
    enum { N = 5000, CAP = 1000 };
    tailsamp *ts =
        make(yaml("decision_wait: 1s\n"
                  "num_traces: 100000\n"
                  "decision_cache: {sampled_cache_size: 1000, non_sampled_cache_size: 1000}\n"
                  "policies:\n"
                  "  - {name: half, type: numeric_attribute,"
                  " numeric_attribute: {key: n, max_value: 0}}\n"));
    spec *sp = calloc(N, sizeof *sp);
    for (uint32_t i = 0; i < N; i++) /* even traces kept, odd dropped */
        sp[i] = (spec){.trace = i, .nkey = "n", .nval = i % 2};
    for (uint32_t i = 0; i < N; i++)
        feed(ts, &sp[i], 1, i); /* one by one: decided in this order */
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(ts, N + SEC, collect, o), 0);
    assert_int_equal(o->n, N / 2);
    /* late spans for every trace, with the opposite attribute: those still remembered
     * follow their first decision */
    for (uint32_t i = 0; i < N; i++)
        sp[i].nval = 1 - i % 2;
    feed(ts, sp, N, N + 2 * SEC);
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.late_spans_kept, CAP);
    assert_int_equal(st.late_spans_dropped, CAP);
    assert_int_equal(st.traces_held, N - CAP); /* the rest start anew */
    o->n = 0;
    assert_int_equal(tailsamp_tick(ts, N + 2 * SEC, collect, o), 0);
    assert_int_equal(o->n, CAP);
    for (uint32_t i = N - 2 * CAP; i < N; i += 2)
        assert_true(kept(o, i)); /* the last 1000 kept ones */
    assert_int_equal(tailsamp_tick(ts, N + 4 * SEC, collect, o), 0);
    /* of the forgotten ones, decided afresh: the odd (now n = 0) are kept */
    assert_int_equal(o->n, CAP + (N - 2 * CAP) / 2);
    for (uint32_t i = 1; i < N - 2 * CAP; i += 2)
        assert_true(kept(o, i));
    free(sp);
    sink_free(o);
    tailsamp_free(ts);
}

static void test_num_traces_bound(void **state)
{
    (void)state;
    tailsamp *ts = make(
        yaml("decision_wait: 60s\n"
             "num_traces: 100\n"
             "policies: [{name: e, type: status_code, status_code: {status_codes: [ERROR]}}]"));
    sink *o = sink_new();
    size_t errors = 0;
    for (uint32_t t = 1; t <= 1000; t++) {
        spec s[3] = {{.trace = t}, {.trace = t}, {.trace = t, .status = t % 7 ? 0 : 2}};
        errors += t % 7 == 0;
        feed(ts, s, 3, t);
        tailsamp_stats st;
        tailsamp_get_stats(ts, &st);
        assert_true(st.traces_held <= 101); /* a trace decided early waits for the tick */
        assert_int_equal(tailsamp_tick(ts, t, collect, o), 0);
        tailsamp_get_stats(ts, &st);
        assert_true(st.traces_held <= 100);
    }
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.decided_early, 900);
    /* traces decided early were whole (a batch held all of a trace): every error kept */
    size_t early_errors = 0;
    for (uint32_t t = 1; t <= 900; t++)
        early_errors += t % 7 == 0;
    assert_int_equal(o->n, early_errors);
    assert_int_equal(tailsamp_flush(ts, 1000, collect, o), 0);
    assert_int_equal(o->n, errors);
    for (size_t i = 0; i < o->n; i++)
        assert_int_equal(o->e[i].spans, 3);
    tailsamp_get_stats(ts, &st);
    assert_int_equal(st.bytes_held, 0);
    sink_free(o);
    tailsamp_free(ts);
}

static void test_max_bytes_bound(void **state)
{
    (void)state;
    tailsamp *ts = make(yaml("decision_wait: 60s\n"
                             "max_bytes: 65536\n"
                             "policies: [{name: a, type: always_sample}]"));
    sink *o = sink_new();
    for (uint32_t t = 1; t <= 2000; t++) {
        spec s[2] = {{.trace = t, .skey = "k", .sval = "some value of a string attribute"},
                     {.trace = t}};
        feed(ts, s, 2, t);
        assert_int_equal(tailsamp_tick(ts, t, collect, o), 0);
        tailsamp_stats st;
        tailsamp_get_stats(ts, &st);
        assert_true(st.bytes_pending <= 65536);
        assert_true(st.bytes_pending > 60000 || t < 100);
        assert_true(st.bytes_held >= st.bytes_pending);
    }
    tailsamp_stats st;
    tailsamp_get_stats(ts, &st);
    assert_true(st.decided_early > 1000);
    print_message("max_bytes 64 KiB: %llu traces held, %llu bytes, %llu decided early\n",
                  (unsigned long long)st.traces_held, (unsigned long long)st.bytes_held,
                  (unsigned long long)st.decided_early);
    sink_free(o);
    tailsamp_free(ts);
}

/* Conversations: every trace of one conversation gets one decision, on two instances. */
static void test_conversation(void **state)
{
    (void)state;
    enum { CONVS = 1000, PER = 4 };
    const char *conf = "decision_wait: 1s\n"
                       "policies: [{name: conv, type: conversation,"
                       " conversation: {sampling_percentage: 30}}]";
    tailsamp *inst[2] = {make(yaml("%s", conf)), make(yaml("%s", conf))};
    static char names[CONVS][32];
    for (uint32_t c = 0; c < CONVS; c++) {
        snprintf(names[c], sizeof names[c], "conv-%u", c);
        for (uint32_t k = 0; k < PER; k++) {
            spec s = {.trace = c * PER + k, .conv = names[c]};
            feed(inst[k % 2], &s, 1, 0); /* traces of one conversation on both instances */
        }
    }
    sink *o = sink_new();
    assert_int_equal(tailsamp_tick(inst[0], SEC, collect, o), 0);
    assert_int_equal(tailsamp_tick(inst[1], SEC, collect, o), 0);
    size_t kept_convs = 0;
    for (uint32_t c = 0; c < CONVS; c++) {
        size_t k = 0;
        for (uint32_t j = 0; j < PER; j++)
            k += kept(o, c * PER + j);
        assert_true(k == 0 || k == PER);
        kept_convs += k == PER;
    }
    assert_true(fabs((double)kept_convs / CONVS - 0.3) < 4 * sqrt(0.3 * 0.7 / CONVS));
    sink_free(o);
    tailsamp_free(inst[0]);
    tailsamp_free(inst[1]);

    /* exclusive: an error trace of an unsampled conversation is dropped too; without it, the
     * errors policy keeps it */
    for (int excl = 0; excl < 2; excl++) {
        tailsamp *ts = make(
            yaml("decision_wait: 1s\n"
                 "policies:\n"
                 "  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                 "  - {name: conv, type: conversation,"
                 " conversation: {sampling_percentage: 30, exclusive: %s}}\n",
                 excl ? "true" : "false"));
        for (uint32_t c = 0; c < 50; c++) {
            spec s = {.trace = c, .conv = names[c], .status = LT_STATUS_ERROR};
            feed(ts, &s, 1, 0);
        }
        o = sink_new();
        assert_int_equal(tailsamp_tick(ts, SEC, collect, o), 0);
        if (excl)
            assert_true(o->n > 0 && o->n < 50);
        else
            assert_int_equal(o->n, 50);
        sink_free(o);
        tailsamp_free(ts);
    }
}

static void test_config_errors(void **state)
{
    (void)state;
    struct {
        const char *conf;
        const char *msg;
    } cases[] = {
        {"policies: [{name: x, type: nope}]", "unknown policy type"},
        {"policies: [{name: x, type: string_attribute,"
         " string_attribute: {key: k, values: ['(a'], enabled_regex_matching: true}}]",
         "bad regular expression"},
        {"policies: [{name: x, type: status_code, status_code: {status_codes: [FAIL]}}]",
         "is not ERROR"},
        {"policies: [{name: x, type: always_sample, latency: {threshold_ms: 1}}]",
         "does not apply"},
        {"decision_wiat: 1s\npolicies: [{name: a, type: always_sample}]", "unknown option"},
        {"decision_wait: 1s", "at least one"},
        {"policies: [{name: x, type: probabilistic, probabilistic: {sampling_percentage: 150}}]",
         "not in 0..100"},
        {"policies: [{name: x, type: latency, latency: {threshold_ms: ten}}]", "whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        tailsamp *ts = NULL;
        cfg_doc *d = yaml("%s", cases[i].conf);
        assert_int_equal(tailsamp_new(d, cfg_root(d), &ts, err, sizeof err), LT_EINVAL);
        cfg_free(d);
        assert_null(ts);
        if (!strstr(err, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
    }
}

static void test_probsample_filter(void **state)
{
    (void)state;
    probsamp *ps = NULL;
    assert_int_equal(new_probsamp(yaml("{mode: equalizing, sampling_percentage: 5}"), &ps),
                     LT_EINVAL);
    assert_int_equal(new_probsamp(yaml("hash_seed: 1"), &ps), LT_EINVAL);
    /* a batch of 3000 traces of 2 spans: the spans of a trace stay together */
    assert_int_equal(new_probsamp(yaml("sampling_percentage: 20"), &ps), 0);
    enum { N = 3000 };
    spec *sp = calloc(2 * N, sizeof *sp);
    for (uint32_t i = 0; i < 2 * N; i++)
        sp[i] = (spec){.trace = i % N};
    lt_arena *a = arena_new();
    lt_trace_batch *b = build(a, sp, 2 * N, NULL, NULL);
    uint64_t removed = probsamp_filter_traces(ps, b);
    assert_int_equal(removed + b->n_spans, 2 * N);
    const lt_scope_spans *ss = &b->rs[0].scopes[0];
    assert_int_equal(ss->n_spans, b->n_spans);
    assert_int_equal(b->n_spans % 2, 0);
    for (uint32_t i = 0; i < ss->n_spans; i++)
        assert_true(probsamp_keep(ps, ss->spans[i].trace_id));
    double p = (double)b->n_spans / (2.0 * N);
    assert_true(fabs(p - 0.2) < 4 * sqrt(0.2 * 0.8 / N));
    arena_free(a);
    probsamp_free(ps);

    /* proportional mode: randomness from the id's last 56 bits; a higher percentage keeps a
     * superset */
    probsamp *p10 = NULL, *p40 = NULL;
    assert_int_equal(new_probsamp(yaml("{sampling_percentage: 10, mode: proportional}"), &p10), 0);
    assert_int_equal(new_probsamp(yaml("{sampling_percentage: 40, mode: proportional}"), &p40), 0);
    size_t k10 = 0, k40 = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[16];
        id_of(i, id);
        bool a10 = probsamp_keep(p10, id), a40 = probsamp_keep(p40, id);
        if (a10) assert_true(a40);
        k10 += a10;
        k40 += a40;
    }
    assert_true(fabs((double)k10 / N - 0.1) < 4 * sqrt(0.1 * 0.9 / N));
    assert_true(fabs((double)k40 / N - 0.4) < 4 * sqrt(0.4 * 0.6 / N));
    probsamp_free(p10);
    probsamp_free(p40);
    free(sp);
}

static void test_probsample_logs(void **state)
{
    (void)state;
    enum { N = 2000 };
    for (int closed = 0; closed < 2; closed++) {
        probsamp *ps = NULL;
        assert_int_equal(
            new_probsamp(
                yaml("{sampling_percentage: 30, fail_closed: %s}", closed ? "true" : "false"), &ps),
            0);
        lt_arena *a = arena_new();
        lt_log_batch b = {0};
        b.rl = arena_calloc(a, 1, sizeof(lt_resource_logs));
        b.n_rl = 1;
        lt_scope_logs *sl = arena_calloc(a, 1, sizeof *sl);
        b.rl[0].scopes = sl;
        b.rl[0].n_scopes = 1;
        sl->records = arena_calloc(a, N, sizeof(lt_log_record));
        sl->n_records = N;
        b.n_records = N;
        size_t with_id = 0, want = 0;
        for (uint32_t i = 0; i < N; i++) {
            lt_log_record *r = &sl->records[i];
            r->time_unix_nano = i;
            if (i % 4) { /* a quarter have no trace context */
                id_of(i, r->trace_id);
                with_id++;
                want += probsamp_keep(ps, r->trace_id);
            }
        }
        if (!closed) want += N - with_id;
        uint64_t removed = probsamp_filter_logs(ps, &b);
        assert_int_equal(b.n_records, want);
        assert_int_equal(sl->n_records, want);
        assert_int_equal(removed, N - want);
        for (uint32_t i = 0; i < sl->n_records; i++) {
            const lt_log_record *r = &sl->records[i];
            if (model_id_is_zero(r->trace_id, 16))
                assert_false(closed);
            else
                assert_true(probsamp_keep(ps, r->trace_id));
        }
        uint64_t k, d;
        probsamp_counts(ps, &k, &d);
        assert_int_equal(k, want);
        assert_int_equal(d, N - want);
        arena_free(a);
        probsamp_free(ps);
    }
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* every allocation of consume and tick may fail: no crash, no leak (ASan) */
    for (long k = 0; k < 200; k++) {
        tailsamp *ts = make(yaml("decision_wait: 1s\npolicies: [{name: a, type: always_sample}]"));
        const spec s[] = {{.trace = 1, .skey = "a", .sval = "b"}, {.trace = 2}, {.trace = 1}};
        lt_arena *a = arena_new();
        lt_trace_batch *b = build(a, s, 3, "r", "v");
        sink *o = sink_new();
        alloc_fail_after(k);
        int rc = tailsamp_consume(ts, b, 0);
        int rc2 = tailsamp_tick(ts, SEC, collect, o);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        assert_true(rc2 == 0 || rc2 == LT_ENOMEM);
        assert_int_equal(tailsamp_flush(ts, SEC, collect, o), 0);
        tailsamp_stats st;
        tailsamp_get_stats(ts, &st);
        assert_int_equal(st.bytes_held, 0);
        assert_int_equal(st.bytes_pending, 0);
        assert_int_equal(st.spans_held, 0);
        arena_free(a);
        sink_free(o);
        tailsamp_free(ts);
    }
}

int main(void)
{
    char err[256];
    if (genai_prices_load(NULL, NULL, &prices, err, sizeof err)) {
        fprintf(stderr, "prices: %s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_code_fixtures),
        cmocka_unit_test(test_finish_reason_fixtures),
        cmocka_unit_test(test_cost_fixtures),
        cmocka_unit_test(test_tokens_fixtures),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_invert_overrides),
        cmocka_unit_test(test_resource_attribute),
        cmocka_unit_test(test_span_count_and),
        cmocka_unit_test(test_rate_limiting),
        cmocka_unit_test(test_composite),
        cmocka_unit_test(test_seed_config),
        cmocka_unit_test(test_probabilistic_consistency),
        cmocka_unit_test(test_decision_wait),
        cmocka_unit_test(test_late_spans),
        cmocka_unit_test(test_decision_cache_fifo),
        cmocka_unit_test(test_num_traces_bound),
        cmocka_unit_test(test_max_bytes_bound),
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_probsample_filter),
        cmocka_unit_test(test_probsample_logs),
        cmocka_unit_test(test_alloc_failures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    genai_prices_free(prices);
    return rc;
}
