/* hand_batch.h — small trace and log batches built by hand, for the processor tests that
 * need every kind of value and property in a known place (the captured fixtures cover the
 * real shapes; these cover the corners).
 *
 * Traces: two resources, three scopes, five spans:
 *
 *   service chat / scope openai 1.2:  "chat gpt-4o"   CLIENT ERROR  model gpt-4o, tokens 120,
 *                                        ratio 0.25, stream true, tags [a, b], meta {k: v},
 *                                        events "gen_ai.content.prompt" {content: hi} and
 *                                        "exception" {}
 *                                     "chat claude"   CLIENT OK     model claude-3, tokens 50
 *   service chat / scope db:          "SELECT users"  INTERNAL      db.system postgres
 *   service batch / scope web 2.0:    "health"        SERVER        http.route /health
 *                                     "embed"         CLIENT        model text-embedding,
 *                                                                   tokens 7
 *
 * Logs: service chat / scope app: INFO (9) "user logged in" {user: ann},
 * ERROR (17) "password=hunter2" {user: bob}, WARN (13) body {k: v} (a map);
 * service batch / scope job: DEBUG (5) "tick".
 *
 * And hb_yaml, the settings of the processor under test from YAML text. Include cmocka.h
 * first. */
#ifndef LT_TESTS_HAND_BATCH_H
#define LT_TESTS_HAND_BATCH_H

#include <string.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

/* yaml loaded as a file named collector.yaml (free with cfg_free); the test fails when it
 * does not load. */
static cfg_doc *hb_yaml(const char *yaml)
{
    cfg_doc *d = NULL;
    char err[512];
    if (cfg_load_string(yaml, strlen(yaml), "collector.yaml", &d, err, sizeof err))
        fail_msg("config: %s", err);
    return d;
}

#define HV_S(x) ((lt_value){.type = LT_VAL_STRING, .u.s = LT_STR(x)})
#define HV_I(x) ((lt_value){.type = LT_VAL_INT, .u.i = (x)})
#define HV_D(x) ((lt_value){.type = LT_VAL_DOUBLE, .u.d = (x)})
#define HV_B(x) ((lt_value){.type = LT_VAL_BOOL, .u.b = (x)})
#define HKV(k, v) ((lt_kv){LT_STR(k), v})

/* Appends s to the '|'-separated list in out (cap bytes, *k of them used, out[0] set to 0
 * before the first), which is how the tests write what is left of a batch. */
static void hb_join(char *out, size_t cap, size_t *k, lt_str s)
{
    int w = snprintf(out + *k, cap - *k, "%s%.*s", *k ? "|" : "", (int)s.len, s.ptr ? s.ptr : "");
    if (w > 0) *k += (size_t)w < cap - *k ? (size_t)w : cap - *k - 1;
}

/* n items of p copied into the arena (the tests' arrays live on the stack). */
static void *hb_copy(lt_arena *a, const void *p, size_t size)
{
    void *c = arena_alloc(a, size ? size : 1);
    if (c && size) memcpy(c, p, size);
    return c;
}

#define HB_ATTRS(a, ...)                                                                           \
    ((lt_attrs){hb_copy(a, (lt_kv[]){__VA_ARGS__}, sizeof((lt_kv[]){__VA_ARGS__})),                \
                (uint32_t)(sizeof((lt_kv[]){__VA_ARGS__}) / sizeof(lt_kv))})

static lt_span hb_span(const char *name, uint32_t kind, uint32_t status, lt_attrs attrs, uint8_t id)
{
    lt_span s;
    memset(&s, 0, sizeof s);
    s.name = lt_str_c(name);
    s.kind = kind;
    s.status_code = status;
    s.attrs = attrs;
    s.trace_id[0] = 1;
    s.span_id[0] = id;
    return s;
}

/* Fills b with the trace batch above, everything in a. */
static void hb_traces(lt_arena *a, lt_trace_batch *b)
{
    lt_value tags[] = {HV_S("a"), HV_S("b")};
    lt_value tagv = {.type = LT_VAL_ARRAY};
    tagv.u.arr.items = hb_copy(a, tags, sizeof tags);
    tagv.u.arr.n = 2;
    lt_value meta = {.type = LT_VAL_KVLIST, .u.kv = HB_ATTRS(a, HKV("k", HV_S("v")))};
    lt_span s0[2] = {
        hb_span("chat gpt-4o", LT_KIND_CLIENT, LT_STATUS_ERROR,
                HB_ATTRS(a, HKV("gen_ai.request.model", HV_S("gpt-4o")),
                         HKV("gen_ai.usage.input_tokens", HV_I(120)), HKV("ratio", HV_D(0.25)),
                         HKV("stream", HV_B(true)), HKV("tags", tagv), HKV("meta", meta)),
                1),
        hb_span("chat claude", LT_KIND_CLIENT, LT_STATUS_OK,
                HB_ATTRS(a, HKV("gen_ai.request.model", HV_S("claude-3")),
                         HKV("gen_ai.usage.input_tokens", HV_I(50))),
                2),
    };
    lt_event ev[2] = {
        {.name = LT_STR("gen_ai.content.prompt"), .attrs = HB_ATTRS(a, HKV("content", HV_S("hi")))},
        {.name = LT_STR("exception")},
    };
    s0[0].events.items = hb_copy(a, ev, sizeof ev);
    s0[0].events.n = 2;
    lt_span s1[1] = {hb_span("SELECT users", LT_KIND_INTERNAL, LT_STATUS_UNSET,
                             HB_ATTRS(a, HKV("db.system", HV_S("postgres"))), 3)};
    lt_span s2[2] = {
        hb_span("health", LT_KIND_SERVER, LT_STATUS_UNSET,
                HB_ATTRS(a, HKV("http.route", HV_S("/health"))), 4),
        hb_span("embed", LT_KIND_CLIENT, LT_STATUS_UNSET,
                HB_ATTRS(a, HKV("gen_ai.request.model", HV_S("text-embedding")),
                         HKV("gen_ai.usage.input_tokens", HV_I(7))),
                5),
    };
    lt_scope_spans sc0[2] = {
        {.scope = {.name = LT_STR("openai"), .version = LT_STR("1.2")},
         .spans = hb_copy(a, s0, sizeof s0),
         .n_spans = 2},
        {.scope = {.name = LT_STR("db")}, .spans = hb_copy(a, s1, sizeof s1), .n_spans = 1},
    };
    lt_scope_spans sc1[1] = {
        {.scope = {.name = LT_STR("web"), .version = LT_STR("2.0")},
         .spans = hb_copy(a, s2, sizeof s2),
         .n_spans = 2},
    };
    lt_resource_spans rs[2] = {
        {.resource = {.attrs = HB_ATTRS(a, HKV("service.name", HV_S("chat")))},
         .scopes = hb_copy(a, sc0, sizeof sc0),
         .n_scopes = 2},
        {.resource = {.attrs = HB_ATTRS(a, HKV("service.name", HV_S("batch")))},
         .scopes = hb_copy(a, sc1, sizeof sc1),
         .n_scopes = 1},
    };
    memset(b, 0, sizeof *b);
    b->rs = hb_copy(a, rs, sizeof rs);
    b->n_rs = 2;
    b->n_spans = 5;
}

static lt_log_record hb_log(uint32_t sev, const char *text, lt_value body, lt_attrs attrs)
{
    lt_log_record r;
    memset(&r, 0, sizeof r);
    r.severity_number = sev;
    r.severity_text = lt_str_c(text);
    r.body = body;
    r.attrs = attrs;
    return r;
}

/* Fills b with the log batch above, everything in a. */
static void hb_logs(lt_arena *a, lt_log_batch *b)
{
    lt_value map = {.type = LT_VAL_KVLIST, .u.kv = HB_ATTRS(a, HKV("k", HV_S("v")))};
    lt_log_record r0[3] = {
        hb_log(9, "INFO", HV_S("user logged in"), HB_ATTRS(a, HKV("user", HV_S("ann")))),
        hb_log(17, "ERROR", HV_S("password=hunter2"), HB_ATTRS(a, HKV("user", HV_S("bob")))),
        hb_log(13, "WARN", map, (lt_attrs){NULL, 0}),
    };
    lt_log_record r1[1] = {hb_log(5, "DEBUG", HV_S("tick"), (lt_attrs){NULL, 0})};
    lt_scope_logs sl0[1] = {
        {.scope = {.name = LT_STR("app")}, .records = hb_copy(a, r0, sizeof r0), .n_records = 3}};
    lt_scope_logs sl1[1] = {
        {.scope = {.name = LT_STR("job")}, .records = hb_copy(a, r1, sizeof r1), .n_records = 1}};
    lt_resource_logs rl[2] = {
        {.resource = {.attrs = HB_ATTRS(a, HKV("service.name", HV_S("chat")))},
         .scopes = hb_copy(a, sl0, sizeof sl0),
         .n_scopes = 1},
        {.resource = {.attrs = HB_ATTRS(a, HKV("service.name", HV_S("batch")))},
         .scopes = hb_copy(a, sl1, sizeof sl1),
         .n_scopes = 1},
    };
    memset(b, 0, sizeof *b);
    b->rl = hb_copy(a, rl, sizeof rl);
    b->n_rl = 2;
    b->n_records = 4;
}

#endif
