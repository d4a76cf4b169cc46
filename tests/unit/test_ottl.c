/* test_ottl.c — the OTTL subset: every function and condition form parsed and run on a
 * span, span event, log record, scope and resource; parse errors with their column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "pipeline/ottl.h"

/* ---- a small span to run statements on ---- */

typedef struct {
    lt_arena *a;
    lt_resource res;
    lt_scope scope;
    lt_span span;
    lt_event ev;
    lt_log_record log;
} world;

static lt_kv kv_s(const char *k, const char *v)
{
    return (lt_kv){lt_str_c(k), {.type = LT_VAL_STRING, .u.s = lt_str_c(v)}};
}

static lt_kv kv_i(const char *k, int64_t v)
{
    return (lt_kv){lt_str_c(k), {.type = LT_VAL_INT, .u.i = v}};
}

static lt_attrs attrs_of(lt_arena *a, const lt_kv *kv, uint32_t n)
{
    lt_kv *items = arena_alloc(a, n * sizeof *items);
    assert_non_null(items);
    memcpy(items, kv, n * sizeof *items);
    return (lt_attrs){items, n};
}

static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    w->a = arena_new();
    assert_non_null(w->a);
    lt_kv sa[] = {kv_s("gen_ai.content.prompt", "call me at 123456-1234567 today"),
                  kv_s("user.email", "ann@example.com"),
                  kv_i("gen_ai.usage.input_tokens", 42),
                  kv_s("http.url", "https://x/?token=abc"),
                  (lt_kv){LT_STR("flag"), {.type = LT_VAL_BOOL, .u.b = true}},
                  (lt_kv){LT_STR("ratio"), {.type = LT_VAL_DOUBLE, .u.d = 0.5}}};
    w->span.attrs = attrs_of(w->a, sa, 6);
    w->span.name = LT_STR("chat gpt-4o");
    w->span.kind = LT_KIND_CLIENT;
    w->span.status_code = LT_STATUS_ERROR;
    lt_kv ra[] = {kv_s("service.name", "chatbot"), kv_s("host.name", "h1")};
    w->res.attrs = attrs_of(w->a, ra, 2);
    w->scope.name = LT_STR("openai.instrumentation");
    lt_kv ea[] = {kv_s("gen_ai.prompt", "my card 4111 1111 1111 1111")};
    w->ev.name = LT_STR("gen_ai.content.prompt");
    w->ev.attrs = attrs_of(w->a, ea, 1);
    w->span.events.items = &w->ev;
    w->span.events.n = 1;
    lt_kv la[] = {kv_s("event.name", "gen_ai.user.message")};
    w->log.attrs = attrs_of(w->a, la, 1);
    w->log.body = (lt_value){.type = LT_VAL_STRING, .u.s = LT_STR("hello 123456-1234567")};
    w->log.severity_number = 9;
    w->log.severity_text = LT_STR("INFO");
}

static ottl_target target(world *w)
{
    return (ottl_target){.resource = &w->res,
                         .scope = &w->scope,
                         .span = &w->span,
                         .event = &w->ev,
                         .log = &w->log,
                         .arena = w->a};
}

static const lt_value *get(const lt_attrs *a, const char *k)
{
    return model_attr_get(a, lt_str_c(k));
}

static void assert_str(const lt_value *v, const char *s)
{
    assert_non_null(v);
    assert_int_equal(v->type, LT_VAL_STRING);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    assert_string_equal(buf, s);
}

/* Parses and runs text in ctx on w; returns whether it changed anything. */
static bool run_on(world *w, ottl_context ctx, const char *text)
{
    ottl_stmt *s = NULL;
    char err[256];
    unsigned col;
    int rc = ottl_parse(text, strlen(text), ctx, &s, &col, err, sizeof err);
    if (rc) fail_msg("parse failed: %s: %s", text, err);
    ottl_target t = target(w);
    bool changed = false;
    rc = ottl_exec(s, &t, &changed, err, sizeof err);
    if (rc) fail_msg("exec failed: %s: %s", text, err);
    ottl_free(s);
    return changed;
}

/* The statement of the seed configuration, as a YAML plain scalar hands it over: the
 * backslashes doubled, since OTTL unquotes its string literals as Go does. */
static const char SEED[] =
    "replace_pattern(attributes[\"gen_ai.content.prompt\"], \"\\\\b\\\\d{6}-\\\\d{7}\\\\b\", "
    "\"***\")";

static void test_seed_statement(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_true(run_on(&w, OTTL_CTX_SPAN, SEED));
    assert_str(get(&w.span.attrs, "gen_ai.content.prompt"), "call me at *** today");
    /* seven digits before the dash: no word boundary at six, nothing replaced */
    w.span.attrs.items[0].value.u.s = LT_STR("id 1234567-1234567 and 123456-12345678");
    assert_false(run_on(&w, OTTL_CTX_SPAN, SEED));
    assert_str(get(&w.span.attrs, "gen_ai.content.prompt"),
               "id 1234567-1234567 and 123456-12345678");
    /* the other attributes are untouched */
    assert_str(get(&w.span.attrs, "user.email"), "ann@example.com");
    arena_free(w.a);
}

static void test_set(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"env\"], \"prod\")"));
    assert_str(get(&w.span.attrs, "env"), "prod");
    assert_int_equal(w.span.attrs.n, 7);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"n\"], -12)"));
    assert_int_equal(get(&w.span.attrs, "n")->u.i, -12);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"d\"], 1.5e3)"));
    assert_true(get(&w.span.attrs, "d")->u.d == 1500.0);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"b\"], false)"));
    assert_int_equal(get(&w.span.attrs, "b")->type, LT_VAL_BOOL);
    /* copy from another path, overwrite an existing key */
    assert_true(run_on(&w, OTTL_CTX_SPAN,
                       "set(attributes[\"user.email\"], resource.attributes[\"host.name\"])"));
    assert_str(get(&w.span.attrs, "user.email"), "h1");
    assert_int_equal(w.span.attrs.n, 10);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(name, \"renamed\")"));
    assert_true(lt_str_eq_c(w.span.name, "renamed"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(kind, SPAN_KIND_SERVER)"));
    assert_int_equal(w.span.kind, LT_KIND_SERVER);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(status.code, STATUS_CODE_OK)"));
    assert_int_equal(w.span.status_code, LT_STATUS_OK);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(status.message, \"fine\")"));
    assert_true(lt_str_eq_c(w.span.status_message, "fine"));
    /* nil leaves the target alone; a missing attribute reads as nil */
    assert_false(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"env\"], nil)"));
    assert_false(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"env\"], attributes[\"missing\"])"));
    assert_str(get(&w.span.attrs, "env"), "prod");
    /* a whole map is copied: shrinking one afterwards leaves the other as it was */
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes, resource.attributes)"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "set(attributes[\"res\"], resource.attributes)"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "delete_key(attributes, \"service.name\")"));
    assert_true(run_on(&w, OTTL_CTX_RESOURCE, "delete_key(attributes, \"host.name\")"));
    assert_str(get(&w.res.attrs, "service.name"), "chatbot");
    assert_str(get(&w.span.attrs, "host.name"), "h1");
    assert_int_equal(get(&w.span.attrs, "res")->u.kv.n, 2);
    /* other contexts */
    assert_true(run_on(&w, OTTL_CTX_RESOURCE, "set(attributes[\"deployment\"], \"eu\")"));
    assert_str(get(&w.res.attrs, "deployment"), "eu");
    assert_true(run_on(&w, OTTL_CTX_SCOPE, "set(version, \"2.0\")"));
    assert_true(lt_str_eq_c(w.scope.version, "2.0"));
    assert_true(run_on(&w, OTTL_CTX_SPANEVENT, "set(attributes[\"seen\"], span.name)"));
    assert_str(get(&w.ev.attrs, "seen"), "renamed");
    assert_true(run_on(&w, OTTL_CTX_LOG, "set(body, \"gone\")"));
    assert_true(lt_str_eq_c(w.log.body.u.s, "gone"));
    assert_true(run_on(&w, OTTL_CTX_LOG, "set(severity_number, SEVERITY_NUMBER_ERROR)"));
    assert_int_equal(w.log.severity_number, 17);
    assert_true(run_on(&w, OTTL_CTX_LOG, "set(severity_text, \"ERROR\")"));
    arena_free(w.a);
}

static void test_set_type_error(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    ottl_stmt *s;
    char err[256];
    assert_int_equal(ottl_parse("set(name, 5)", 12, OTTL_CTX_SPAN, &s, NULL, err, sizeof err), 0);
    ottl_target t = target(&w);
    assert_int_equal(ottl_exec(s, &t, NULL, err, sizeof err), LT_EINVAL);
    assert_non_null(strstr(err, "string"));
    assert_true(lt_str_eq_c(w.span.name, "chat gpt-4o"));
    ottl_free(s);
    arena_free(w.a);
}

static void test_delete_keep(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_true(run_on(&w, OTTL_CTX_SPAN, "delete_key(attributes, \"user.email\")"));
    assert_null(get(&w.span.attrs, "user.email"));
    assert_int_equal(w.span.attrs.n, 5);
    assert_false(run_on(&w, OTTL_CTX_SPAN, "delete_key(attributes, \"user.email\")"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "delete_matching_keys(attributes, \"^gen_ai\\\\.\")"));
    assert_null(get(&w.span.attrs, "gen_ai.content.prompt"));
    assert_null(get(&w.span.attrs, "gen_ai.usage.input_tokens"));
    assert_non_null(get(&w.span.attrs, "http.url"));
    assert_true(
        run_on(&w, OTTL_CTX_SPAN, "keep_keys(attributes, [\"flag\", \"ratio\", \"nope\"])"));
    assert_int_equal(w.span.attrs.n, 2);
    assert_non_null(get(&w.span.attrs, "flag"));
    assert_non_null(get(&w.span.attrs, "ratio"));
    assert_true(run_on(&w, OTTL_CTX_RESOURCE, "keep_keys(attributes, [])"));
    assert_int_equal(w.res.attrs.n, 0);
    arena_free(w.a);
}

static void test_replace_all_truncate_limit(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_true(run_on(&w, OTTL_CTX_SPAN,
                       "replace_all_patterns(attributes, \"value\", \"(\\\\w+)@(\\\\w+)\\\\.com\", "
                       "\"$1 at ${2}\")"));
    assert_str(get(&w.span.attrs, "user.email"), "ann at example");
    assert_true(run_on(&w, OTTL_CTX_SPAN,
                       "replace_all_patterns(attributes, \"key\", \"^http\\\\.\", \"h.\")"));
    assert_non_null(get(&w.span.attrs, "h.url"));
    assert_null(get(&w.span.attrs, "http.url"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "replace_pattern(name, \"gpt-\", \"$$\")"));
    assert_true(lt_str_eq_c(w.span.name, "chat $4o"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "truncate_all(attributes, 4)"));
    assert_str(get(&w.span.attrs, "gen_ai.content.prompt"), "call");
    assert_int_equal(get(&w.span.attrs, "gen_ai.usage.input_tokens")->u.i, 42);
    /* UTF-8 is never cut inside a character */
    lt_kv u[] = {kv_s("u", "h\xc3\xa9llo")};
    w.ev.attrs = attrs_of(w.a, u, 1);
    assert_true(run_on(&w, OTTL_CTX_SPANEVENT, "truncate_all(attributes, 2)"));
    assert_str(get(&w.ev.attrs, "u"), "h");
    uint32_t before = w.span.attrs.n;
    assert_true(run_on(&w, OTTL_CTX_SPAN, "limit(attributes, 2, [\"ratio\"])"));
    assert_int_equal(w.span.attrs.n, 2);
    assert_non_null(get(&w.span.attrs, "ratio"));
    assert_true(before > 2);
    assert_false(run_on(&w, OTTL_CTX_SPAN, "limit(attributes, 5)"));
    assert_true(run_on(&w, OTTL_CTX_SPAN, "limit(attributes, 0)"));
    assert_int_equal(w.span.attrs.n, 0);
    arena_free(w.a);
}

/* Conditions: each case sets attributes["hit"] when its where clause holds. */
static void test_where(void **state)
{
    (void)state;
    static const struct {
        const char *cond;
        bool want;
    } cases[] = {
        {"name == \"chat gpt-4o\"", true},
        {"name != \"chat gpt-4o\"", false},
        {"kind == SPAN_KIND_CLIENT", true},
        {"kind == SPAN_KIND_SERVER", false},
        {"status.code == STATUS_CODE_ERROR", true},
        {"status.code != STATUS_CODE_ERROR", false},
        {"attributes[\"gen_ai.usage.input_tokens\"] > 40", true},
        {"attributes[\"gen_ai.usage.input_tokens\"] >= 42", true},
        {"attributes[\"gen_ai.usage.input_tokens\"] < 42", false},
        {"attributes[\"gen_ai.usage.input_tokens\"] <= 42.0", true},
        {"attributes[\"ratio\"] < 1", true},
        {"attributes[\"ratio\"] > 0.75", false},
        {"attributes[\"missing\"] == nil", true},
        {"attributes[\"user.email\"] == nil", false},
        {"attributes[\"user.email\"] != nil", true},
        {"attributes[\"flag\"]", true},
        {"attributes[\"flag\"] == true", true},
        {"not attributes[\"flag\"]", false},
        {"attributes[\"user.email\"] == 42", false},
        {"attributes[\"user.email\"] != 42", true},
        {"attributes[\"user.email\"] < 42", false},
        {"\"abc\" < \"abd\"", true},
        {"resource.attributes[\"service.name\"] == \"chatbot\"", true},
        {"instrumentation_scope.name == \"openai.instrumentation\"", true},
        {"scope.name == \"openai.instrumentation\"", true},
        {"span.name == \"chat gpt-4o\"", true},
        {"IsMatch(attributes[\"user.email\"], \"@example\\\\.com$\")", true},
        {"IsMatch(name, \"^embed\")", false},
        {"IsMatch(attributes[\"gen_ai.usage.input_tokens\"], \"^4\\\\d$\")", true},
        {"name == \"x\" or kind == SPAN_KIND_CLIENT", true},
        {"name == \"x\" and kind == SPAN_KIND_CLIENT", false},
        {"true or false and false", true},
        {"(true or false) and false", false},
        {"not (name == \"x\")", true},
        {"not not true", true},
        {"((((kind == 3))))", true},
        {"nil == nil", true},
        {"-1 < 0", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world w;
        world_init(&w);
        char stmt[512];
        snprintf(stmt, sizeof stmt, "set(attributes[\"hit\"], true) where %s", cases[i].cond);
        bool changed = run_on(&w, OTTL_CTX_SPAN, stmt);
        if (changed != cases[i].want) fail_msg("%s: got %d", cases[i].cond, changed);
        assert_int_equal(get(&w.span.attrs, "hit") != NULL, cases[i].want);
        arena_free(w.a);
    }
}

static void test_contexts(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    /* log: body and severities */
    assert_true(run_on(&w, OTTL_CTX_LOG,
                       "replace_pattern(body, \"\\\\d{6}-\\\\d{7}\", \"***\") where "
                       "severity_number >= SEVERITY_NUMBER_INFO and severity_text == \"INFO\""));
    assert_true(lt_str_eq_c(w.log.body.u.s, "hello ***"));
    assert_false(run_on(&w, OTTL_CTX_LOG, "set(body, \"x\") where severity_number > 9"));
    /* spanevent: its own name and attributes, the span's through span. */
    assert_true(run_on(&w, OTTL_CTX_SPANEVENT,
                       "replace_pattern(attributes[\"gen_ai.prompt\"], \"\\\\d{4}( \\\\d{4}){3}\", "
                       "\"[card]\") where name == \"gen_ai.content.prompt\" and "
                       "span.kind == SPAN_KIND_CLIENT"));
    assert_str(get(&w.ev.attrs, "gen_ai.prompt"), "my card [card]");
    /* resource context reaches only resource attributes */
    assert_true(run_on(&w, OTTL_CTX_RESOURCE,
                       "delete_key(attributes, \"host.name\") where "
                       "attributes[\"service.name\"] == \"chatbot\""));
    assert_null(get(&w.res.attrs, "host.name"));
    /* a prefix naming the context is accepted */
    assert_true(
        run_on(&w, OTTL_CTX_SPAN, "set(span.attributes[\"p\"], 1) where span.name != \"\""));
    assert_true(run_on(&w, OTTL_CTX_LOG, "set(log.attributes[\"p\"], 1)"));
    ottl_context c;
    assert_int_equal(ottl_context_of("spanevent", &c), 0);
    assert_int_equal(c, OTTL_CTX_SPANEVENT);
    assert_int_equal(ottl_context_of("datapoint", &c), LT_EINVAL);
    arena_free(w.a);
}

static void test_string_escapes(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_true(run_on(&w, OTTL_CTX_SPAN,
                       "set(attributes[\"e\"], \"q\\\"\\\\\\t\\n\\x41\\101\\u00e9\\U0001F600\")"));
    assert_str(get(&w.span.attrs, "e"), "q\"\\\t\nAA\xc3\xa9\xf0\x9f\x98\x80");
    arena_free(w.a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *stmt;
        ottl_context ctx;
        unsigned col;
        const char *msg;
    } cases[] = {
        {"", OTTL_CTX_SPAN, 1, "function name"},
        {"sett(name, \"x\")", OTTL_CTX_SPAN, 1, "unknown function 'sett'"},
        {"set(name \"x\")", OTTL_CTX_SPAN, 10, "expected ','"},
        {"set(name)", OTTL_CTX_SPAN, 9, "takes 2 arguments"},
        {"set(name, \"x\", 1)", OTTL_CTX_SPAN, 16, "at most 2"},
        {"set(nam, \"x\")", OTTL_CTX_SPAN, 5, "unknown path 'nam'"},
        {"set(body, \"x\")", OTTL_CTX_SPAN, 5, "not available in context span"},
        {"set(kind, 1)", OTTL_CTX_LOG, 5, "not available in context log"},
        {"set(name[\"k\"], \"x\")", OTTL_CTX_SPAN, 9, "takes no key"},
        {"set(attributes[\"a\"][\"b\"], 1)", OTTL_CTX_SPAN, 20, "nested keys"},
        {"set(attributes[k], 1)", OTTL_CTX_SPAN, 16, "string key"},
        {"set(name, \"x)", OTTL_CTX_SPAN, 11, "unterminated string"},
        {"replace_pattern(name, \"\\d\", \"x\")", OTTL_CTX_SPAN, 24, "unknown escape \\d"},
        {"replace_pattern(name, \"(\", \"x\")", OTTL_CTX_SPAN, 23, "invalid pattern"},
        {"replace_pattern(name, name, \"x\")", OTTL_CTX_SPAN, 23, "string literal"},
        {"replace_all_patterns(attributes, \"both\", \"a\", \"b\")", OTTL_CTX_SPAN, 34,
         "\"key\" or \"value\""},
        {"delete_key(name, \"a\")", OTTL_CTX_SPAN, 12, "must be a map"},
        {"keep_keys(attributes, \"a\")", OTTL_CTX_SPAN, 23, "list of keys"},
        {"truncate_all(attributes, -1)", OTTL_CTX_SPAN, 26, "non-negative"},
        {"limit(attributes, 1, \"a\")", OTTL_CTX_SPAN, 22, "priority keys"},
        {"set(name, \"x\") when name == \"y\"", OTTL_CTX_SPAN, 16, "expected 'where'"},
        {"set(name, \"x\") where", OTTL_CTX_SPAN, 21, "expected a value"},
        {"set(name, \"x\") where name = \"y\"", OTTL_CTX_SPAN, 27, "use =="},
        {"set(name, \"x\") where (name == \"y\"", OTTL_CTX_SPAN, 34, "expected ')'"},
        {"set(name, \"x\") where name == \"y\" name", OTTL_CTX_SPAN, 34, "expected 'and', 'or'"},
        {"set(name, \"x\") where Foo(name)", OTTL_CTX_SPAN, 22, "unknown converter 'Foo'"},
        {"set(name, \"x\") where IsMatch(name, 1)", OTTL_CTX_SPAN, 36, "pattern string"},
        {"set(name, \"x\") where name == $", OTTL_CTX_SPAN, 30, "unexpected character '$'"},
        {"set(name, 99999999999999999999)", OTTL_CTX_SPAN, 11, "invalid integer"},
        {"set(name, [1, 2])", OTTL_CTX_SPAN, 11, "lists are not supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ottl_stmt *s = (ottl_stmt *)1;
        char err[256];
        unsigned col = 0;
        int rc = ottl_parse(cases[i].stmt, strlen(cases[i].stmt), cases[i].ctx, &s, &col, err,
                            sizeof err);
        if (rc != LT_EINVAL) fail_msg("%s: rc %d", cases[i].stmt, rc);
        assert_null(s);
        if (col != cases[i].col || !strstr(err, cases[i].msg))
            fail_msg("%s: column %u (want %u), message '%s' (want '%s')", cases[i].stmt, col,
                     cases[i].col, err, cases[i].msg);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "column %u: ", col);
        assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
    }
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof buf, "set(name, \"x\") where ");
    for (int i = 0; i < OTTL_MAX_DEPTH + 2; i++)
        buf[n++] = '(';
    buf[n++] = 0;
    ottl_stmt *s;
    char err[256];
    unsigned col;
    assert_int_equal(ottl_parse(buf, strlen(buf), OTTL_CTX_SPAN, &s, &col, err, sizeof err),
                     LT_EINVAL);
    assert_non_null(strstr(err, "nested deeper"));
    /* found by fuzz_ottl: nested lists and converters used to recurse without a bound */
    n = (size_t)snprintf(buf, sizeof buf, "keep_keys(attributes, ");
    for (int i = 0; i < 300; i++)
        buf[n++] = '[';
    buf[n++] = 0;
    assert_int_equal(ottl_parse(buf, strlen(buf), OTTL_CTX_SPAN, &s, &col, err, sizeof err),
                     LT_EINVAL);
    assert_non_null(strstr(err, "nested lists"));
    assert_int_equal(col, 24);
    n = (size_t)snprintf(buf, sizeof buf, "set(name, \"x\") where ");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "IsMatch(");
    assert_int_equal(ottl_parse(buf, strlen(buf), OTTL_CTX_SPAN, &s, &col, err, sizeof err),
                     LT_EINVAL);
    assert_non_null(strstr(err, "nested deeper"));
    static char big[OTTL_MAX_STATEMENT + 2];
    memset(big, ' ', sizeof big);
    assert_int_equal(ottl_parse(big, sizeof big, OTTL_CTX_SPAN, &s, &col, err, sizeof err),
                     LT_ETOOBIG);
}

/* Every allocation of parse and exec may fail: LT_ENOMEM, no leak, no crash (ASan). */
static void test_alloc_failure(void **state)
{
    (void)state;
    static const char *const stmts[] = {
        "replace_pattern(attributes[\"gen_ai.content.prompt\"], \"\\\\d+\", \"#\") where "
        "IsMatch(name, \"chat\") and kind == SPAN_KIND_CLIENT",
        "set(attributes[\"new\"], \"v\")",
        "limit(attributes, 1, [\"flag\"])",
    };
    for (size_t i = 0; i < 3; i++) {
        bool done = false;
        for (long k = 0; !done && k < 10000; k++) {
            ottl_stmt *s = NULL;
            char err[256];
            alloc_fail_after(k);
            int rc =
                ottl_parse(stmts[i], strlen(stmts[i]), OTTL_CTX_SPAN, &s, NULL, err, sizeof err);
            alloc_fail_after(-1);
            if (rc) {
                assert_int_equal(rc, LT_ENOMEM);
                continue;
            }
            for (long j = 0; j < 10000; j++) {
                world w;
                world_init(&w);
                ottl_target t = target(&w);
                alloc_fail_after(j);
                rc = ottl_exec(s, &t, NULL, err, sizeof err);
                alloc_fail_after(-1);
                arena_free(w.a);
                if (!rc) break;
                assert_int_equal(rc, LT_ENOMEM);
            }
            assert_int_equal(rc, 0);
            ottl_free(s);
            done = true;
        }
        assert_true(done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_statement),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_set_type_error),
        cmocka_unit_test(test_delete_keep),
        cmocka_unit_test(test_replace_all_truncate_limit),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_contexts),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
