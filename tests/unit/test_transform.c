/* test_transform.c — the transform processor on the captured fixtures: the seed
 * configuration's replace_pattern, contexts, the flat statement form, error modes, settings
 * errors, and the GenAI view following what statements changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <yaml.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "fixture_load.h"
#include "pipeline/config.h"
#include "pipeline/transform.h"

/* processors.transform of the seed configuration. The YAML has the statement as a plain
 * scalar, so its text reaches OTTL with the backslashes doubled; here it is a JSON string
 * (JSON is YAML) holding that same text. */
static const char SEED[] =
    "{\"error_mode\": \"ignore\", \"trace_statements\": [{\"context\": \"span\", \"statements\": "
    "[\"replace_pattern(attributes[\\\"gen_ai.content.prompt\\\"], "
    "\\\"\\\\\\\\b\\\\\\\\d{6}-\\\\\\\\d{7}\\\\\\\\b\\\", \\\"***\\\")\"]}]}";

static cfg_doc *load(const char *json)
{
    cfg_doc *d;
    char err[512];
    if (cfg_load_string(json, strlen(json), "collector.yaml", &d, err, sizeof err))
        fail_msg("config: %s", err);
    return d;
}

static transform *mk(const char *json)
{
    cfg_doc *d = load(json);
    char err[512];
    transform *t = NULL;
    if (transform_create(d, cfg_root(d), "processors.transform", &t, err, sizeof err))
        fail_msg("transform_create: %s", err);
    cfg_free(d);
    return t;
}

static int mk_err(const char *json, char *err, size_t errlen)
{
    cfg_doc *d = load(json);
    transform *t = NULL;
    int rc = transform_create(d, cfg_root(d), "processors.transform", &t, err, errlen);
    transform_free(t);
    cfg_free(d);
    return rc;
}

static char *cstr(lt_str s)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    return buf;
}

static const lt_value *get(const lt_attrs *a, const char *k)
{
    return model_attr_get(a, lt_str_c(k));
}

static void add_attr(lt_arena *a, lt_attrs *at, const char *k, const char *v)
{
    lt_kv *items = arena_alloc(a, (at->n + 1) * sizeof *items);
    assert_non_null(items);
    if (at->n) memcpy(items, at->items, at->n * sizeof *items);
    items[at->n] = (lt_kv){lt_str_c(k), {.type = LT_VAL_STRING, .u.s = lt_str_c(v)}};
    at->items = items;
    at->n++;
}

#define EACH_SPAN(b, s)                                                                            \
    for (uint32_t i_ = 0; i_ < (b)->n_rs; i_++)                                                    \
        for (uint32_t j_ = 0; j_ < (b)->rs[i_].n_scopes; j_++)                                     \
            for (uint32_t k_ = 0; k_ < (b)->rs[i_].scopes[j_].n_spans; k_++)                       \
                for (lt_span *s = &(b)->rs[i_].scopes[j_].spans[k_]; s; s = NULL)

typedef struct {
    transform *t;
    int spans, masked;
} seed_run;

static const char *const PROMPTS[][2] = {
    {"my id is 123456-1234567, thanks", "my id is ***, thanks"},
    {"123456-1234567", "***"},
    {"ids 111111-2222222 and 333333-4444444.", "ids *** and ***."},
    {"not one: 1234567-1234567 or 123456-12345678", "not one: 1234567-1234567 or 123456-12345678"},
};

static void seed_scenario(const char *dir, void *arg)
{
    seed_run *sr = arg;
    fx_scenario sc;
    if (fx_load(dir, &sc)) fail_msg("%s: does not decode", dir);
    for (int b = 0; b < sc.n_tb; b++) {
        int n = 0;
        EACH_SPAN(&sc.tb[b], s)
        add_attr(sc.a, &s->attrs, "gen_ai.content.prompt", PROMPTS[n++ % 4][0]);
        /* the other attributes must keep their bytes: remember them */
        lt_str *before = calloc(200000, sizeof *before);
        int m = 0;
        EACH_SPAN(&sc.tb[b], s)
        for (uint32_t a = 0; a + 1 < s->attrs.n && m < 200000; a++)
            before[m++] = s->attrs.items[a].value.u.s;
        assert_int_equal(transform_traces(sr->t, &sc.tb[b], sc.a), 0);
        n = 0;
        m = 0;
        EACH_SPAN(&sc.tb[b], s)
        {
            const lt_value *v = get(&s->attrs, "gen_ai.content.prompt");
            assert_non_null(v);
            const char *want = PROMPTS[n++ % 4][1];
            if (!lt_str_eq_c(v->u.s, want))
                fail_msg("%s: '%s', want '%s'", dir, cstr(v->u.s), want);
            if (strcmp(want, PROMPTS[(n - 1) % 4][0]) != 0) sr->masked++;
            for (uint32_t a = 0; a + 1 < s->attrs.n && m < 200000; a++, m++) {
                lt_str now = s->attrs.items[a].value.u.s;
                assert_true(now.ptr == before[m].ptr && now.len == before[m].len);
            }
            sr->spans++;
        }
        free(before);
    }
    fx_free(&sc);
}

static void test_seed_config(void **state)
{
    (void)state;
    seed_run sr = {.t = mk(SEED)};
    fx_each(seed_scenario, &sr);
    print_message("%d spans, %d prompts masked\n", sr.spans, sr.masked);
    assert_true(sr.spans > 100);
    assert_true(sr.masked > sr.spans / 2);
    assert_int_equal(transform_errors(sr.t), 0);
    transform_free(sr.t);
}

static fx_scenario load_fixture(const char *rel);

/* The seed configuration's statement exactly as the YAML file has it, read by libyaml: a
 * plain scalar, so YAML leaves its backslashes alone and OTTL's unquoting turns "\\b" into
 * the \b of the pattern. The statement must mask a prompt holding "123456-1234567". */
static void test_seed_yaml_scalar(void **state)
{
    (void)state;
    static const char yaml[] = "processors:\n"
                               "  transform:\n"
                               "    error_mode: ignore\n"
                               "    trace_statements:\n"
                               "      - context: span\n"
                               "        statements:\n"
                               "          - replace_pattern(attributes[\"gen_ai.content.prompt\"], "
                               "\"\\\\b\\\\d{6}-\\\\d{7}\\\\b\", \"***\")\n";
    yaml_parser_t p;
    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, sizeof yaml - 1);
    char *stmt = NULL;
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
    for (bool done = false; !done;) {
        yaml_event_t ev;
        assert_true(yaml_parser_parse(&p, &ev));
        if (ev.type == YAML_SCALAR_EVENT &&
            !strncmp((const char *)ev.data.scalar.value, "replace_pattern", 15)) {
            stmt = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            style = ev.data.scalar.style;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    assert_non_null(stmt);
    assert_int_equal(style, YAML_PLAIN_SCALAR_STYLE);
    assert_non_null(strstr(stmt, "\"\\\\b\\\\d{6}")); /* the doubled backslashes are still there */

    /* that text as the settings of the processor */
    json_t *cfg = json_pack("{s:s, s:[{s:s, s:[s]}]}", "error_mode", "ignore", "trace_statements",
                            "context", "span", "statements", stmt);
    char *text = json_dumps(cfg, 0);
    transform *t = mk(text);
    free(text);
    json_decref(cfg);
    free(stmt);
    fx_scenario sc = load_fixture("otel/single-chat-proto");
    lt_span *s0 = &sc.tb[0].rs[0].scopes[0].spans[0];
    add_attr(sc.a, &s0->attrs, "gen_ai.content.prompt", "My customer number is 123456-1234567.");
    assert_int_equal(transform_traces(t, &sc.tb[0], sc.a), 0);
    assert_string_equal(cstr(get(&s0->attrs, "gen_ai.content.prompt")->u.s),
                        "My customer number is ***.");
    transform_free(t);
    fx_free(&sc);
}

static fx_scenario load_fixture(const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, rel);
    fx_scenario sc;
    assert_int_equal(fx_load(dir, &sc), 0);
    assert_true(sc.n_tb > 0);
    return sc;
}

static void test_contexts(void **state)
{
    (void)state;
    /* flat statements: the context follows the paths' prefixes */
    transform *ft =
        mk("{\"trace_statements\": ["
           "\"set(resource.attributes[\\\"flat.res\\\"], \\\"r\\\")\","
           "\"set(spanevent.attributes[\\\"flat.ev\\\"], span.name)\","
           "\"set(span.attributes[\\\"flat.span\\\"], resource.attributes[\\\"flat.res\\\"])\","
           "\"set(attributes[\\\"spanevent.not\\\"], \\\"span. inside a string\\\")\"]}");
    fx_scenario fs = load_fixture("traceloop/rag"); /* spans with events */
    assert_int_equal(transform_traces(ft, &fs.tb[0], fs.a), 0);
    int fev = 0;
    EACH_SPAN(&fs.tb[0], s)
    {
        assert_string_equal(cstr(get(&s->attrs, "flat.span")->u.s), "r");
        assert_string_equal(cstr(get(&s->attrs, "spanevent.not")->u.s), "span. inside a string");
        for (uint32_t e = 0; e < s->events.n; e++, fev++)
            assert_true(lt_str_eq(get(&s->events.items[e].attrs, "flat.ev")->u.s, s->name));
    }
    assert_true(fev > 0);
    assert_string_equal(cstr(get(&fs.tb[0].rs[0].resource.attrs, "flat.res")->u.s), "r");
    transform_free(ft);
    fx_free(&fs);

    transform *t = mk(
        "{\"trace_statements\": ["
        "{\"context\": \"resource\", \"statements\": "
        "  [\"set(attributes[\\\"deployment.environment\\\"], \\\"test\\\")\"]},"
        "{\"context\": \"scope\", \"statements\": [\"set(version, \\\"9\\\")\"]},"
        "{\"context\": \"span\", \"statements\": ["
        "  \"set(attributes[\\\"env\\\"], resource.attributes[\\\"deployment.environment\\\"])\","
        "  \"set(attributes[\\\"client\\\"], true) where kind == SPAN_KIND_CLIENT\"]},"
        "{\"context\": \"spanevent\", \"statements\": "
        "  [\"set(attributes[\\\"of\\\"], span.name)\"]},"
        "\"set(attributes[\\\"flat\\\"], 1)\"],"
        "\"log_statements\": [{\"context\": \"log\", \"statements\": "
        "  [\"set(attributes[\\\"seen\\\"], severity_number)\"]},"
        "  {\"context\": \"resource\", \"statements\": "
        "  [\"set(attributes[\\\"log.res\\\"], 1)\"]}]}");
    fx_scenario sc = load_fixture("otel/single-chat-json");
    lt_trace_batch *b = &sc.tb[0];
    assert_int_equal(transform_traces(t, b, sc.a), 0);
    int spans = 0, clients = 0, events = 0;
    for (uint32_t i = 0; i < b->n_rs; i++) {
        assert_string_equal(cstr(get(&b->rs[i].resource.attrs, "deployment.environment")->u.s),
                            "test");
        assert_null(get(&b->rs[i].resource.attrs, "log.res")); /* log groups are not run */
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++) {
            assert_string_equal(cstr(b->rs[i].scopes[j].scope.version), "9");
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++) {
                lt_span *s = &b->rs[i].scopes[j].spans[k];
                spans++;
                assert_string_equal(cstr(get(&s->attrs, "env")->u.s), "test");
                assert_int_equal(get(&s->attrs, "flat")->u.i, 1);
                if (s->kind == LT_KIND_CLIENT) clients++;
                assert_int_equal(get(&s->attrs, "client") != NULL, s->kind == LT_KIND_CLIENT);
                for (uint32_t e = 0; e < s->events.n; e++, events++)
                    assert_true(lt_str_eq(get(&s->events.items[e].attrs, "of")->u.s, s->name));
            }
        }
    }
    assert_true(spans > 0 && clients > 0);
    int recs = 0;
    for (int l = 0; l < sc.n_lb; l++) {
        assert_int_equal(transform_logs(t, &sc.lb[l], sc.a), 0);
        for (uint32_t i = 0; i < sc.lb[l].n_rl; i++) {
            assert_int_equal(get(&sc.lb[l].rl[i].resource.attrs, "log.res")->u.i, 1);
            for (uint32_t j = 0; j < sc.lb[l].rl[i].n_scopes; j++)
                for (uint32_t k = 0; k < sc.lb[l].rl[i].scopes[j].n_records; k++, recs++) {
                    lt_log_record *r = &sc.lb[l].rl[i].scopes[j].records[k];
                    assert_int_equal(get(&r->attrs, "seen")->u.i, r->severity_number);
                    assert_null(get(&r->attrs, "flat"));
                }
        }
    }
    assert_true(recs > 0);
    transform_free(t);
    fx_free(&sc);
}

static void test_error_modes(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR); /* the ignored failures would log a line per span */
    static const struct {
        const char *mode;
        int rc;
        bool counted;
    } modes[] = {{"propagate", LT_EINVAL, false}, {"ignore", 0, true}, {"silent", 0, true}};
    for (size_t i = 0; i < 3; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg,
                 "{\"error_mode\": \"%s\", \"trace_statements\": [{\"context\": \"span\", "
                 "\"statements\": [\"set(name, 5)\", \"set(attributes[\\\"after\\\"], 1)\"]}]}",
                 modes[i].mode);
        transform *t = mk(cfg);
        fx_scenario sc = load_fixture("openinference/single-chat");
        assert_int_equal(transform_traces(t, &sc.tb[0], sc.a), modes[i].rc);
        int after = 0, spans = 0;
        EACH_SPAN(&sc.tb[0], s)
        {
            spans++;
            after += get(&s->attrs, "after") != NULL;
        }
        if (modes[i].counted) {
            assert_int_equal(transform_errors(t), spans); /* one failure per span */
            assert_int_equal(after, spans);               /* and the next statement ran */
        } else {
            assert_int_equal(after, 0);
        }
        transform_free(t);
        fx_free(&sc);
    }
    /* a group's own error_mode wins over the processor's */
    transform *t =
        mk("{\"error_mode\": \"propagate\", \"trace_statements\": [{\"context\": "
           "\"span\", \"error_mode\": \"silent\", \"statements\": [\"set(kind, \\\"x\\\")\"]}]}");
    fx_scenario sc = load_fixture("openinference/single-chat");
    assert_int_equal(transform_traces(t, &sc.tb[0], sc.a), 0);
    transform_free(t);
    fx_free(&sc);
    log_set_level(LOG_INFO);
}

static void test_settings_errors(void **state)
{
    (void)state;
    static const struct {
        const char *cfg, *msg;
    } cases[] = {
        {"{\"trace_statement\": []}", "unknown option 'trace_statement'"},
        {"{\"error_mode\": \"loud\"}", "'loud' is not an error mode"},
        {"{\"trace_statements\": [{\"context\": \"log\", \"statements\": []}]}",
         "'log' is not a context of trace_statements"},
        {"{\"log_statements\": [{\"context\": \"spanevent\", \"statements\": []}]}",
         "'spanevent' is not a context of log_statements"},
        {"{\"trace_statements\": [{\"context\": \"span\", \"statement\": []}]}",
         "unknown option 'statement'"},
        {"{\"trace_statements\": [{\"context\": \"span\"}]}", "statements: expected a list"},
        {"{\"trace_statements\": [{\"context\": \"span\", \"statements\": [\"set(nme, 1)\"]}]}",
         "processors.transform.trace_statements[0].statements[0]: column 5: unknown path 'nme'"},
        {"{\"trace_statements\": [\"replace_pattern(name, \\\"(\\\", \\\"x\\\")\"]}",
         "trace_statements[0]: column 23: invalid pattern"},
        {"{\"log_statements\": [{\"context\": \"log\", \"statements\": [\"set(kind, 1)\"]}]}",
         "not available in context log"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512];
        assert_int_equal(mk_err(cases[i].cfg, err, sizeof err), LT_EINVAL);
        if (!strstr(err, cases[i].msg)) fail_msg("%s: '%s'", cases[i].cfg, err);
        assert_non_null(strstr(err, "collector.yaml:"));
    }
}

/* A statement that changes what the GenAI view reads from is seen in the view. */
static void test_view_follows(void **state)
{
    (void)state;
    fx_scenario sc = load_fixture("traceloop/single-chat");
    lt_span *g = NULL;
    EACH_SPAN(&sc.tb[0], s) if (s->genai && !g) g = s;
    assert_non_null(g);
    assert_true(genai_str(g->genai, GA_REQUEST_MODEL).len > 0);
    transform *t = mk("{\"trace_statements\": [{\"context\": \"span\", \"statements\": ["
                      "\"set(attributes[\\\"gen_ai.request.model\\\"], \\\"model-x\\\")\","
                      "\"delete_key(attributes, \\\"gen_ai.response.id\\\")\"]}]}");
    assert_true(genai_has(g->genai, GA_RESPONSE_ID));
    assert_int_equal(transform_traces(t, &sc.tb[0], sc.a), 0);
    assert_string_equal(cstr(genai_str(g->genai, GA_REQUEST_MODEL)), "model-x");
    assert_false(genai_has(g->genai, GA_RESPONSE_ID));
    transform_free(t);
    fx_free(&sc);
}

/* Every allocation of create and process may fail: LT_ENOMEM, no leak or crash (ASan). */
static void test_alloc_failure(void **state)
{
    (void)state;
    cfg_doc *d = load("{\"trace_statements\": [{\"context\": \"span\", \"statements\": ["
                      "\"set(attributes[\\\"x\\\"], \\\"y\\\")\","
                      "\"replace_pattern(name, \\\"a\\\", \\\"b\\\")\"]}]}");
    transform *t = NULL;
    char err[256];
    long k = 0;
    for (;; k++) {
        alloc_fail_after(k);
        int rc = transform_create(d, cfg_root(d), NULL, &t, err, sizeof err);
        alloc_fail_after(-1);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
        assert_null(t);
    }
    assert_true(k > 0);
    for (long j = 0;; j++) {
        fx_scenario sc = load_fixture("traceloop/single-chat");
        alloc_fail_after(j);
        int rc = transform_traces(t, &sc.tb[0], sc.a);
        alloc_fail_after(-1);
        fx_free(&sc);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
    }
    transform_free(t);
    cfg_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_config),     cmocka_unit_test(test_seed_yaml_scalar),
        cmocka_unit_test(test_contexts),        cmocka_unit_test(test_error_modes),
        cmocka_unit_test(test_settings_errors), cmocka_unit_test(test_view_follows),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
