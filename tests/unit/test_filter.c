/* test_filter.c — the filter processor: every condition form on a hand-built batch, span
 * events and log records, scopes and resources left empty, error modes, settings errors
 * with their line and column, and the captured fixtures, where what is dropped is counted
 * independently by walking the batch in C. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "fixture_load.h"
#include "hand_batch.h"
#include "pipeline/config.h"
#include "pipeline/filter.h"
#include "pipeline/ottl.h"

/* A filter from YAML whose root is the processor's settings. */
static filter *mk(const char *yaml)
{
    cfg_doc *d = hb_yaml(yaml);
    char err[512];
    filter *f = NULL;
    if (filter_create(d, cfg_root(d), "processors.filter", &f, err, sizeof err))
        fail_msg("filter_create: %s", err);
    cfg_free(d);
    return f;
}

/* A filter dropping spans on one condition (YAML single-quoted, so '' is a quote). */
static filter *mk_span(const char *cond)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "traces:\n  span:\n    - '%s'\n", cond);
    return mk(yaml);
}

/* The names of the spans of b, in order, joined by '|'. */
static const char *span_names(const lt_trace_batch *b)
{
    static char out[1024];
    size_t k = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t s = 0; s < b->rs[i].scopes[j].n_spans; s++)
                hb_join(out, sizeof out, &k, b->rs[i].scopes[j].spans[s].name);
    return out;
}

static uint64_t count_spans(const lt_trace_batch *b)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            n += b->rs[i].scopes[j].n_spans;
    return n;
}

static const char ALL[] = "chat gpt-4o|chat claude|SELECT users|health|embed";

/* Every condition form: what is left of the hand-built batch. */
static void test_condition_forms(void **state)
{
    (void)state;
    static const struct {
        const char *cond, *left;
    } cases[] = {
        {"name == \"health\"", "chat gpt-4o|chat claude|SELECT users|embed"},
        {"name != \"health\"", "health"},
        {"attributes[\"gen_ai.usage.input_tokens\"] > 100",
         "chat claude|SELECT users|health|embed"},
        {"attributes[\"gen_ai.usage.input_tokens\"] >= 50", "SELECT users|health|embed"},
        /* nil is not ordered against a number: the spans without tokens stay */
        {"attributes[\"gen_ai.usage.input_tokens\"] < 50",
         "chat gpt-4o|chat claude|SELECT users|health"},
        {"attributes[\"gen_ai.usage.input_tokens\"] <= 7",
         "chat gpt-4o|chat claude|SELECT users|health"},
        {"attributes[\"gen_ai.usage.input_tokens\"] == 120.0",
         "chat claude|SELECT users|health|embed"},
        {"kind == SPAN_KIND_CLIENT and status.code == STATUS_CODE_ERROR",
         "chat claude|SELECT users|health|embed"},
        {"kind == SPAN_KIND_SERVER or kind == SPAN_KIND_INTERNAL", "chat gpt-4o|chat claude|embed"},
        {"not (kind == SPAN_KIND_CLIENT)", "chat gpt-4o|chat claude|embed"},
        {"status.code != STATUS_CODE_UNSET", "SELECT users|health|embed"},
        {"resource.attributes[\"service.name\"] == \"batch\"",
         "chat gpt-4o|chat claude|SELECT users"},
        {"instrumentation_scope.name == \"db\"", "chat gpt-4o|chat claude|health|embed"},
        {"scope.version == \"2.0\"", "chat gpt-4o|chat claude|SELECT users"},
        {"span.attributes[\"db.system\"] == \"postgres\"", "chat gpt-4o|chat claude|health|embed"},
        {"attributes[\"db.system\"] != nil", "chat gpt-4o|chat claude|health|embed"},
        {"attributes[\"stream\"]", "chat claude|SELECT users|health|embed"},
        {"attributes[\"stream\"] == true", "chat claude|SELECT users|health|embed"},
        {"IsMatch(name, \"^chat \")", "SELECT users|health|embed"},
        {"IsMatch(attributes[\"gen_ai.usage.input_tokens\"], \"^1\")",
         "chat claude|SELECT users|health|embed"},
        {"HasPrefix(name, \"chat\")", "SELECT users|health|embed"},
        {"HasSuffix(name, \"4o\")", "chat claude|SELECT users|health|embed"},
        {"HasPrefix(name, \"\")", ""},
        {"IsString(attributes[\"gen_ai.request.model\"])", "SELECT users|health"},
        {"IsInt(attributes[\"gen_ai.usage.input_tokens\"])", "SELECT users|health"},
        {"IsDouble(attributes[\"ratio\"])", "chat claude|SELECT users|health|embed"},
        {"IsBool(attributes[\"stream\"])", "chat claude|SELECT users|health|embed"},
        {"IsMap(attributes[\"meta\"])", "chat claude|SELECT users|health|embed"},
        {"IsList(attributes[\"tags\"])", "chat claude|SELECT users|health|embed"},
        {"IsString(attributes[\"tags\"])", ALL},
        {"Len(name) > 10", "health|embed"},
        /* and stops at the first false: Len of nil is never asked */
        {"IsList(attributes[\"tags\"]) and Len(attributes[\"tags\"]) == 2",
         "chat claude|SELECT users|health|embed"},
        {"IsMap(attributes[\"meta\"]) and Len(attributes[\"meta\"]) == 1",
         "chat claude|SELECT users|health|embed"},
        {"(name == \"embed\" or name == \"health\") and not IsMatch(name, \"^h\")",
         "chat gpt-4o|chat claude|SELECT users|health"},
        {"false", ALL},
        {"true", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        filter *f = mk_span(cases[i].cond);
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        uint64_t removed = 99;
        assert_int_equal(filter_traces(f, &b, a, &removed), 0);
        if (strcmp(span_names(&b), cases[i].left) != 0)
            fail_msg("%s: left '%s', want '%s'", cases[i].cond, span_names(&b), cases[i].left);
        assert_int_equal(removed, 5 - count_spans(&b));
        assert_int_equal(b.n_spans, count_spans(&b));
        filter_stats st;
        filter_get_stats(f, &st);
        assert_int_equal(st.spans, removed);
        assert_int_equal(st.errors, 0);
        filter_free(f);
        arena_free(a);
    }
}

/* A list is an or of its conditions. */
static void test_any_condition(void **state)
{
    (void)state;
    filter *f = mk("traces:\n  span:\n    - name == \"health\"\n    - name == \"embed\"\n");
    lt_arena *a = arena_new();
    lt_trace_batch b;
    hb_traces(a, &b);
    uint64_t removed = 0;
    assert_int_equal(filter_traces(f, &b, a, &removed), 0);
    assert_int_equal(removed, 2);
    /* the batch resource's only scope lost its spans: scope and resource are gone */
    assert_int_equal(b.n_rs, 1);
    assert_int_equal(b.n_spans, 3);
    assert_string_equal(span_names(&b), "chat gpt-4o|chat claude|SELECT users");
    assert_true(lt_str_eq_c(b.rs[0].resource.attrs.items[0].value.u.s, "chat"));
    filter_free(f);
    arena_free(a);

    /* one scope of a resource emptied: the other scope stays, in its place */
    f = mk_span("instrumentation_scope.name == \"openai\"");
    a = arena_new();
    hb_traces(a, &b);
    assert_int_equal(filter_traces(f, &b, a, &removed), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(b.n_rs, 2);
    assert_int_equal(b.rs[0].n_scopes, 1);
    assert_true(lt_str_eq_c(b.rs[0].scopes[0].scope.name, "db"));
    assert_string_equal(span_names(&b), "SELECT users|health|embed");
    filter_free(f);
    arena_free(a);

    /* nothing configured for traces: the batch is not touched */
    f = mk("logs:\n  log_record: ['true']\n");
    a = arena_new();
    hb_traces(a, &b);
    assert_int_equal(filter_traces(f, &b, a, &removed), 0);
    assert_int_equal(removed, 0);
    assert_string_equal(span_names(&b), ALL);
    filter_free(f);
    arena_free(a);
}

static const char *event_names(const lt_span *s)
{
    static char out[256];
    size_t k = 0;
    out[0] = 0;
    for (uint32_t e = 0; e < s->events.n; e++)
        hb_join(out, sizeof out, &k, s->events.items[e].name);
    return out;
}

static void test_span_events(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *events_left;
        uint64_t spans_removed, events_removed;
    } cases[] = {
        {"traces:\n  spanevent: ['name == \"exception\"']\n", "gen_ai.content.prompt", 0, 1},
        {"traces:\n  spanevent:\n    - 'span.name == \"chat gpt-4o\" and "
         "attributes[\"content\"] == \"hi\"'\n",
         "exception", 0, 1},
        {"traces:\n  spanevent: ['span.kind == SPAN_KIND_CLIENT']\n", "", 0, 2},
        {"traces:\n  spanevent: ['resource.attributes[\"service.name\"] == \"chat\" and "
         "IsMatch(name, \"^gen_ai\\\\.\")']\n",
         "exception", 0, 1},
        {"traces:\n  spanevent: ['span.status.code == STATUS_CODE_OK']\n",
         "gen_ai.content.prompt|exception", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        filter *f = mk(cases[i].yaml);
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        uint64_t removed = 99;
        assert_int_equal(filter_traces(f, &b, a, &removed), 0);
        assert_int_equal(removed, cases[i].spans_removed);
        assert_string_equal(span_names(&b), ALL); /* events go, their span stays */
        const lt_span *s = &b.rs[0].scopes[0].spans[0];
        if (strcmp(event_names(s), cases[i].events_left) != 0)
            fail_msg("%s: events left '%s'", cases[i].yaml, event_names(s));
        filter_stats st;
        filter_get_stats(f, &st);
        assert_int_equal(st.span_events, cases[i].events_removed);
        filter_free(f);
        arena_free(a);
    }
    /* a dropped span goes with its events: none is counted as dropped on its own */
    filter *f = mk("traces:\n  span: ['name == \"chat gpt-4o\"']\n"
                   "  spanevent: ['name == \"exception\"']\n");
    lt_arena *a = arena_new();
    lt_trace_batch b;
    hb_traces(a, &b);
    assert_int_equal(filter_traces(f, &b, a, NULL), 0);
    assert_string_equal(span_names(&b), "chat claude|SELECT users|health|embed");
    filter_stats st;
    filter_get_stats(f, &st);
    assert_int_equal(st.spans, 1);
    assert_int_equal(st.span_events, 0);
    filter_free(f);
    arena_free(a);
}

static const char *log_texts(const lt_log_batch *b)
{
    static char out[512];
    size_t k = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < b->n_rl; i++)
        for (uint32_t j = 0; j < b->rl[i].n_scopes; j++)
            for (uint32_t r = 0; r < b->rl[i].scopes[j].n_records; r++)
                hb_join(out, sizeof out, &k, b->rl[i].scopes[j].records[r].severity_text);
    return out;
}

static void test_logs(void **state)
{
    (void)state;
    static const struct {
        const char *cond, *left;
        uint32_t n_rl;
    } cases[] = {
        {"severity_number < SEVERITY_NUMBER_WARN", "ERROR|WARN", 1},
        {"severity_number >= SEVERITY_NUMBER_ERROR", "INFO|WARN|DEBUG", 2},
        {"IsMatch(body, \"password\")", "INFO|WARN|DEBUG", 2},
        {"severity_text == \"WARN\"", "INFO|ERROR|DEBUG", 2},
        {"IsMap(body)", "INFO|ERROR|DEBUG", 2},
        {"IsString(body) and Len(body) < 5", "INFO|ERROR|WARN", 1},
        {"attributes[\"user\"] == \"ann\" or resource.attributes[\"service.name\"] == \"batch\"",
         "ERROR|WARN", 1},
        {"instrumentation_scope.name == \"app\"", "DEBUG", 1},
        {"HasPrefix(body, \"user\")", "ERROR|WARN|DEBUG", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "error_mode: ignore\nlogs:\n  log_record:\n    - '%s'\n",
                 cases[i].cond);
        filter *f = mk(yaml);
        lt_arena *a = arena_new();
        lt_log_batch b;
        hb_logs(a, &b);
        uint64_t removed = 99;
        log_set_level(LOG_ERROR); /* HasPrefix of the map body fails, ignored */
        assert_int_equal(filter_logs(f, &b, a, &removed), 0);
        log_set_level(LOG_INFO);
        if (strcmp(log_texts(&b), cases[i].left) != 0)
            fail_msg("%s: left '%s', want '%s'", cases[i].cond, log_texts(&b), cases[i].left);
        uint64_t n = 0;
        for (uint32_t r = 0; r < b.n_rl; r++)
            for (uint32_t s = 0; s < b.rl[r].n_scopes; s++)
                n += b.rl[r].scopes[s].n_records;
        assert_int_equal(b.n_records, n);
        assert_int_equal(removed, 4 - n);
        assert_int_equal(b.n_rl, cases[i].n_rl);
        filter_stats st;
        filter_get_stats(f, &st);
        assert_int_equal(st.log_records, removed);
        assert_int_equal(st.errors, strncmp(cases[i].cond, "HasPrefix", 9) == 0 ? 1 : 0);
        filter_free(f);
        arena_free(a);
    }
}

/* propagate stops at the failing condition and keeps the rest; ignore and silent count the
 * failure as "no match" and go on. */
static void test_error_modes(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        int rc;
        const char *left;
        uint64_t errors;
    } modes[] = {
        /* gpt-4o matches the first condition; claude has no db.system: HasPrefix(nil) fails */
        {"propagate", LT_EINVAL, "chat claude|SELECT users|health|embed", 0},
        {"ignore", 0, "chat claude|health|embed", 3},
        {"silent", 0, "chat claude|health|embed", 3},
    };
    log_set_level(LOG_ERROR);
    for (size_t i = 0; i < 3; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "error_mode: %s\ntraces:\n  span:\n    - name == \"chat gpt-4o\"\n"
                 "    - HasPrefix(attributes[\"db.system\"], \"p\")\n",
                 modes[i].mode);
        filter *f = mk(yaml);
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        uint64_t removed = 0;
        assert_int_equal(filter_traces(f, &b, a, &removed), modes[i].rc);
        assert_string_equal(span_names(&b), modes[i].left);
        assert_int_equal(b.n_spans, count_spans(&b)); /* consistent even when it failed */
        assert_int_equal(removed, 5 - count_spans(&b));
        filter_stats st;
        filter_get_stats(f, &st);
        assert_int_equal(st.errors, modes[i].errors);
        filter_free(f);
        arena_free(a);
    }
    log_set_level(LOG_INFO);
}

/* Settings errors: the file's line and column, the option's path, the condition's column. */
static void test_settings_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {"traces:\n  span:\n    - 'nme == \"x\"'\n",
         "collector.yaml:3:7: processors.filter.traces.span[0]: column 1: unknown path 'nme'"},
        {"traces:\n  span:\n    - name == \"a\"\n    - IsMatch(name, \"(\")\n",
         "collector.yaml:4:7: processors.filter.traces.span[1]: column 15: invalid pattern at "
         "offset 1: missing closing parenthesis"},
        {"logs:\n  log_record: [ 'kind == SPAN_KIND_CLIENT' ]\n",
         "collector.yaml:2:17: processors.filter.logs.log_record[0]: column 1: path 'kind' is "
         "not available in context log"},
        {"traces:\n  spanevent: [ 'body == \"x\"' ]\n",
         "collector.yaml:2:16: processors.filter.traces.spanevent[0]: column 1: path 'body' is "
         "not available in context spanevent"},
        {"traces:\n  span: [ '1' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 1: expected a condition, "
         "found a value that is not a boolean"},
        {"traces:\n  span: [ 'Len(name)' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 1: expected a condition, "
         "found a value that is not a boolean"},
        {"traces:\n  span: [ 'name == \"a\" name' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 13: expected 'and', 'or' "
         "or the end, found a name"},
        {"traces:\n  span: [ '' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 1: expected a condition, "
         "found nothing"},
        {"traces:\n  span: [ 'Concat(name, \"x\") == \"y\"' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 1: unknown converter "
         "'Concat'"},
        {"traces:\n  span: [ 'HasPrefix(name)' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 15: HasPrefix takes 2 "
         "arguments"},
        {"traces:\n  span: [ 'set(name, \"x\")' ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: column 1: unknown converter "
         "'set'"},
        {"error_mode: loud\n",
         "collector.yaml:1:13: processors.filter.error_mode: 'loud' is not an error mode (ignore, "
         "silent, propagate)"},
        /* the collector's older form: refused, not ignored */
        {"spans:\n  include:\n    match_type: strict\n",
         "collector.yaml:1:1: processors.filter: unknown option 'spans' (options: error_mode, "
         "traces, logs)"},
        {"logs:\n  include: {}\n",
         "collector.yaml:2:3: processors.filter.logs: unknown option 'include' (options: "
         "log_record)"},
        {"traces:\n  span: 'name == \"x\"'\n",
         "collector.yaml:2:9: processors.filter.traces.span: expected a list, got the quoted "
         "string 'name == \"x\"'"},
        {"traces:\n  span: [ { a: b } ]\n",
         "collector.yaml:2:11: processors.filter.traces.span[0]: expected a string, got a "
         "mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_doc *d = hb_yaml(cases[i].yaml);
        char err[512];
        filter *f = NULL;
        assert_int_equal(filter_create(d, cfg_root(d), NULL, &f, err, sizeof err), LT_EINVAL);
        assert_null(f);
        if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: '%s'\n want '%s'", i, err, cases[i].msg);
        cfg_free(d);
    }
}

/* The condition API itself: parse errors name their column, evaluation errors say why. */
static void test_condition_api(void **state)
{
    (void)state;
    char err[256];
    unsigned col = 0;
    ottl_cond *c = NULL;
    const char *bad = "name == \"x\" and (kind == 3";
    assert_int_equal(
        ottl_parse_condition(bad, strlen(bad), OTTL_CTX_SPAN, &c, &col, err, sizeof err),
        LT_EINVAL);
    assert_null(c);
    assert_int_equal(col, strlen(bad) + 1);
    assert_string_equal(err, "column 27: expected ')', found end of statement");
    const char *ok = "HasSuffix(name, \"x\") or Len(attributes[\"k\"]) > 2";
    assert_int_equal(ottl_parse_condition(ok, strlen(ok), OTTL_CTX_SPAN, &c, &col, err, sizeof err),
                     0);
    assert_string_equal(ottl_cond_text(c), ok);
    lt_span s = {.name = LT_STR("ax")};
    ottl_target t = {.span = &s};
    bool m = false;
    assert_int_equal(ottl_eval_condition(c, &t, &m, err, sizeof err), 0);
    assert_true(m);
    s.name = LT_STR("ab");
    assert_int_equal(ottl_eval_condition(c, &t, &m, err, sizeof err), LT_EINVAL);
    assert_false(m);
    assert_string_equal(err, "Len: expected a string, list or map, found nil");
    ottl_cond_free(c);
    ottl_cond_free(NULL);
    /* the length limit of a statement holds for a condition */
    char *big = malloc(OTTL_MAX_STATEMENT + 2);
    memset(big, 't', OTTL_MAX_STATEMENT + 1);
    assert_int_equal(
        ottl_parse_condition(big, OTTL_MAX_STATEMENT + 1, OTTL_CTX_LOG, &c, NULL, err, sizeof err),
        LT_ETOOBIG);
    free(big);
}

/* The fuzzer's seed conditions (tests/data/ottl, a first byte of 5-9) parse: they are
 * there to lead it into the evaluator, which a seed that fails to parse would not. */
static void test_fuzz_seeds(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof dir - (size_t)(slash - dir), "/../data/ottl");
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    int conditions = 0;
    for (struct dirent *e; (e = readdir(dh));) {
        if (e->d_name[0] == '.') continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *data = fx_read(path, &len);
        assert_non_null(data);
        if (len > 0 && (data[0] / 5) % 2 == 1) {
            char err[256];
            ottl_cond *c = NULL;
            if (ottl_parse_condition(data + 1, len - 1, (ottl_context)(data[0] % 5), &c, NULL, err,
                                     sizeof err))
                fail_msg("%s: %s", e->d_name, err);
            ottl_cond_free(c);
            conditions++;
        }
        free(data);
    }
    closedir(dh);
    assert_true(conditions > 0);
}

/* ---- the captured fixtures ---------------------------------------------------------- */

typedef struct {
    filter *internal, *genai, *events, *logs;
    uint64_t spans, internal_n, genai_n, events_n, event_total, logs_n, log_total;
} fx_run;

static bool has_attr(const lt_attrs *a, const char *k)
{
    return model_attr_get(a, lt_str_c(k)) != NULL;
}

static void fx_scenario_run(const char *dir, void *arg)
{
    fx_run *r = arg;
    fx_scenario sc;
    if (fx_load(dir, &sc)) fail_msg("%s: does not decode", dir);
    for (int i = 0; i < sc.n_tb; i++) {
        lt_trace_batch *b = &sc.tb[i];
        /* what each condition must drop, counted by walking the batch */
        uint64_t internal = 0, events = 0, total = count_spans(b), ev_total = 0;
        for (uint32_t x = 0; x < b->n_rs; x++)
            for (uint32_t y = 0; y < b->rs[x].n_scopes; y++)
                for (uint32_t z = 0; z < b->rs[x].scopes[y].n_spans; z++) {
                    const lt_span *s = &b->rs[x].scopes[y].spans[z];
                    internal += s->kind == LT_KIND_INTERNAL;
                    for (uint32_t e = 0; e < s->events.n; e++, ev_total++)
                        events += s->status_code == LT_STATUS_ERROR &&
                                  lt_str_eq_c(s->events.items[e].name, "exception");
                }
        r->spans += total;
        r->event_total += ev_total;
        uint64_t removed = 0;
        assert_int_equal(filter_traces(r->events, b, sc.a, &removed), 0);
        assert_int_equal(removed, 0);
        uint64_t ev_left = 0;
        for (uint32_t x = 0; x < b->n_rs; x++)
            for (uint32_t y = 0; y < b->rs[x].n_scopes; y++)
                for (uint32_t z = 0; z < b->rs[x].scopes[y].n_spans; z++)
                    ev_left += b->rs[x].scopes[y].spans[z].events.n;
        assert_int_equal(ev_left, ev_total - events);
        r->events_n += events;

        assert_int_equal(filter_traces(r->internal, b, sc.a, &removed), 0);
        if (removed != internal)
            fail_msg("%s: %lu internal spans, dropped %lu", dir, internal, removed);
        assert_int_equal(b->n_spans, total - internal);
        assert_int_equal(count_spans(b), total - internal);
        r->internal_n += internal;
        uint64_t genai_left = 0;
        for (uint32_t x = 0; x < b->n_rs; x++) {
            assert_true(b->rs[x].n_scopes > 0); /* nothing empty is left behind */
            for (uint32_t y = 0; y < b->rs[x].n_scopes; y++) {
                assert_true(b->rs[x].scopes[y].n_spans > 0);
                for (uint32_t z = 0; z < b->rs[x].scopes[y].n_spans; z++) {
                    const lt_span *s = &b->rs[x].scopes[y].spans[z];
                    assert_int_not_equal(s->kind, LT_KIND_INTERNAL);
                    genai_left += has_attr(&s->attrs, "gen_ai.system") ||
                                  has_attr(&s->attrs, "gen_ai.provider.name");
                }
            }
        }
        assert_int_equal(filter_traces(r->genai, b, sc.a, &removed), 0);
        assert_int_equal(removed, genai_left);
        r->genai_n += genai_left;
    }
    for (int i = 0; i < sc.n_lb; i++) {
        lt_log_batch *b = &sc.lb[i];
        uint64_t warn = 0, total = 0;
        for (uint32_t x = 0; x < b->n_rl; x++)
            for (uint32_t y = 0; y < b->rl[x].n_scopes; y++)
                for (uint32_t z = 0; z < b->rl[x].scopes[y].n_records; z++, total++) {
                    const lt_log_record *lr = &b->rl[x].scopes[y].records[z];
                    const lt_value *en = model_attr_get(&lr->attrs, LT_STR("event.name"));
                    warn += lr->severity_number >= 13 || (en && en->type == LT_VAL_STRING &&
                                                          lt_str_eq_c(en->u.s, "gen_ai.choice"));
                }
        uint64_t removed = 0;
        assert_int_equal(filter_logs(r->logs, b, sc.a, &removed), 0);
        assert_int_equal(removed, warn);
        assert_int_equal(b->n_records, total - warn);
        r->logs_n += warn;
        r->log_total += total;
    }
    fx_free(&sc);
}

static void test_fixtures(void **state)
{
    (void)state;
    fx_run r = {
        .internal = mk_span("kind == SPAN_KIND_INTERNAL"),
        .genai = mk_span("attributes[\"gen_ai.system\"] != nil or "
                         "attributes[\"gen_ai.provider.name\"] != nil"),
        .events = mk("traces:\n  spanevent:\n"
                     "    - span.status.code == STATUS_CODE_ERROR and name == \"exception\"\n"),
        .logs = mk("logs:\n  log_record:\n    - severity_number >= SEVERITY_NUMBER_WARN\n"
                   "    - attributes[\"event.name\"] == \"gen_ai.choice\"\n"),
    };
    assert_true(fx_each(fx_scenario_run, &r) > 0);
    print_message("%lu spans: %lu internal, %lu GenAI dropped; %lu of %lu events; %lu of %lu "
                  "log records\n",
                  r.spans, r.internal_n, r.genai_n, r.events_n, r.event_total, r.logs_n,
                  r.log_total);
    /* the fixtures have each kind of item, so each condition was put to work */
    assert_true(r.internal_n > 0 && r.internal_n < r.spans);
    assert_true(r.genai_n > 0);
    assert_true(r.events_n > 0 && r.events_n <= r.event_total);
    assert_true(r.logs_n > 0 && r.logs_n < r.log_total);
    filter_stats st;
    filter_get_stats(r.internal, &st);
    assert_int_equal(st.spans, r.internal_n);
    filter_get_stats(r.events, &st);
    assert_int_equal(st.span_events, r.events_n);
    filter_free(r.internal);
    filter_free(r.genai);
    filter_free(r.events);
    filter_free(r.logs);
}

/* One filter, several threads, each with its own batch: the counters add up. */
typedef struct {
    const filter *f;
    uint64_t removed;
} thread_arg;

static void *thread_run(void *p)
{
    thread_arg *t = p;
    for (int n = 0; n < 200; n++) {
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        uint64_t removed = 0;
        if (filter_traces(t->f, &b, a, &removed) == 0) t->removed += removed;
        arena_free(a);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    filter *f = mk_span("IsMatch(name, \"^chat\") or kind == SPAN_KIND_SERVER");
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){f, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thread_run, &args[i]), 0);
    }
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].removed, 200 * 3);
        sum += args[i].removed;
    }
    filter_stats st;
    filter_get_stats(f, &st);
    assert_int_equal(st.spans, sum);
    filter_free(f);
}

/* Every allocation of create and process may fail: LT_ENOMEM, no leak or crash (ASan). */
static void test_alloc_failure(void **state)
{
    (void)state;
    cfg_doc *d = hb_yaml("traces:\n  span: ['IsMatch(name, \"^chat\")']\n"
                         "  spanevent: ['name == \"exception\"']\n"
                         "logs:\n  log_record: ['IsMatch(body, \"x\")']\n");
    filter *f = NULL;
    char err[256];
    long k = 0;
    for (;; k++) {
        alloc_fail_after(k);
        int rc = filter_create(d, cfg_root(d), NULL, &f, err, sizeof err);
        alloc_fail_after(-1);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
        assert_null(f);
    }
    assert_true(k > 0);
    for (long j = 0;; j++) {
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        alloc_fail_after(j);
        int rc = filter_traces(f, &b, a, NULL);
        alloc_fail_after(-1);
        assert_int_equal(b.n_spans, count_spans(&b));
        arena_free(a);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
    }
    filter_free(f);
    cfg_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition_forms), cmocka_unit_test(test_any_condition),
        cmocka_unit_test(test_span_events),     cmocka_unit_test(test_logs),
        cmocka_unit_test(test_error_modes),     cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_condition_api),   cmocka_unit_test(test_fuzz_seeds),
        cmocka_unit_test(test_fixtures),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
