/* test_attributes.c — the attributes processor: every action and value type on a
 * hand-built batch, include / exclude with every match property, log records, the GenAI
 * view following what changed, settings errors with their line and column, the captured
 * fixtures (what changed checked span by span against the original values), threads and
 * failed allocations. Digests are checked against known SHA-256 values. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>

#include "core/alloc.h"
#include "core/err.h"
#include "fixture_load.h"
#include "hand_batch.h"
#include "pipeline/attributes.h"
#include "pipeline/components.h"
#include "pipeline/config.h"

/* A processor from YAML whose root is its settings. */
static attributes *mk(const char *yaml, unsigned signals)
{
    cfg_doc *d = hb_yaml(yaml);
    char err[512];
    attributes *p = NULL;
    if (attributes_create(d, cfg_root(d), NULL, signals, &p, err, sizeof err))
        fail_msg("attributes_create: %s", err);
    cfg_free(d);
    return p;
}

static char *cstr(lt_str s)
{
    static char buf[4][1024];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    return buf[i];
}

static const lt_value *get(const lt_attrs *a, const char *k)
{
    return model_attr_get(a, lt_str_c(k));
}

static const char *str_of(const lt_attrs *a, const char *k)
{
    const lt_value *v = get(a, k);
    if (!v) return "(absent)";
    if (v->type != LT_VAL_STRING) return "(not a string)";
    return cstr(v->u.s);
}

static lt_span *span_named(lt_trace_batch *b, const char *name)
{
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++)
                if (lt_str_eq_c(b->rs[i].scopes[j].spans[k].name, name))
                    return &b->rs[i].scopes[j].spans[k];
    fail_msg("no span %s", name);
    return NULL;
}

typedef struct {
    lt_arena *a;
    lt_trace_batch b;
    lt_attrs *gpt, *claude, *select, *health, *embed;
} world;

/* The hand-built batch after p ran on it. */
static world run(const attributes *p)
{
    world w;
    w.a = arena_new();
    hb_traces(w.a, &w.b);
    assert_int_equal(attributes_traces(p, &w.b, w.a), 0);
    w.gpt = &span_named(&w.b, "chat gpt-4o")->attrs;
    w.claude = &span_named(&w.b, "chat claude")->attrs;
    w.select = &span_named(&w.b, "SELECT users")->attrs;
    w.health = &span_named(&w.b, "health")->attrs;
    w.embed = &span_named(&w.b, "embed")->attrs;
    return w;
}

static void test_insert_update_upsert(void **state)
{
    (void)state;
    attributes *p =
        mk("actions:\n"
           "  - { key: env, action: insert, value: prod }\n"
           "  - { key: gen_ai.request.model, action: insert, value: other }\n"
           "  - { key: n, action: insert, value: 42 }\n"
           "  - { key: x, action: insert, value: 1.5 }\n"
           "  - { key: b, action: insert, value: true }\n"
           "  - { key: q, action: insert, value: '42' }\n"
           "  - { key: db.system, action: update, value: mysql }\n"
           "  - { key: http.route, action: UPSERT, value: /ok }\n"
           "  - { key: model.copy, action: insert, from_attribute: gen_ai.request.model }\n"
           "  - { key: copy.meta, action: upsert, from_attribute: meta }\n"
           "  - { key: stream, action: update, from_attribute: nothing.here }\n",
           SIG_TRACES);
    world w = run(p);
    /* insert: new keys with the value's YAML type; existing keys untouched */
    assert_string_equal(str_of(w.gpt, "env"), "prod");
    assert_string_equal(str_of(w.health, "env"), "prod");
    assert_string_equal(str_of(w.gpt, "gen_ai.request.model"), "gpt-4o");
    assert_string_equal(str_of(w.select, "gen_ai.request.model"), "other");
    assert_int_equal(get(w.gpt, "n")->type, LT_VAL_INT);
    assert_int_equal(get(w.gpt, "n")->u.i, 42);
    assert_int_equal(get(w.gpt, "x")->type, LT_VAL_DOUBLE);
    assert_true(get(w.gpt, "x")->u.d == 1.5);
    assert_int_equal(get(w.gpt, "b")->type, LT_VAL_BOOL);
    assert_true(get(w.gpt, "b")->u.b);
    assert_string_equal(str_of(w.gpt, "q"), "42");
    /* update: only where the key is */
    assert_string_equal(str_of(w.select, "db.system"), "mysql");
    assert_null(get(w.gpt, "db.system"));
    /* upsert: both */
    assert_string_equal(str_of(w.health, "http.route"), "/ok");
    assert_string_equal(str_of(w.embed, "http.route"), "/ok");
    /* from_attribute: the value as it was when the action ran (the insert above came first) */
    assert_string_equal(str_of(w.gpt, "model.copy"), "gpt-4o");
    assert_string_equal(str_of(w.health, "model.copy"), "other");
    const lt_value *cm = get(w.gpt, "copy.meta");
    assert_int_equal(cm->type, LT_VAL_KVLIST);
    assert_ptr_not_equal(cm->u.kv.items, get(w.gpt, "meta")->u.kv.items); /* not shared */
    assert_null(get(w.claude, "copy.meta")); /* no meta there: nothing to copy */
    assert_true(get(w.gpt, "stream")->u.b);  /* from an absent attribute: nothing */
    /* the original attributes are all still there, in their order */
    assert_string_equal(cstr(w.gpt->items[0].key), "gen_ai.request.model");
    assert_string_equal(cstr(w.gpt->items[5].key), "meta");
    attributes_stats st;
    attributes_get_stats(p, &st);
    assert_int_equal(st.spans, 5);
    assert_int_equal(st.spans_changed, 5);
    attributes_free(p);
    arena_free(w.a);
}

static void test_delete(void **state)
{
    (void)state;
    attributes *p = mk("actions:\n"
                       "  - { key: ratio, action: delete }\n"
                       "  - { pattern: ^gen_ai\\., action: delete }\n"
                       "  - { key: db.system, pattern: ^http, action: Delete }\n",
                       SIG_TRACES);
    world w = run(p);
    assert_int_equal(w.gpt->n, 3); /* stream, tags, meta */
    assert_null(get(w.gpt, "ratio"));
    assert_null(get(w.gpt, "gen_ai.request.model"));
    assert_null(get(w.gpt, "gen_ai.usage.input_tokens"));
    assert_non_null(get(w.gpt, "stream"));
    assert_int_equal(w.claude->n, 0);
    assert_int_equal(w.select->n, 0);
    assert_int_equal(w.health->n, 0);
    attributes_stats st;
    attributes_get_stats(p, &st);
    assert_int_equal(st.spans_changed, 5);
    attributes_free(p);
    arena_free(w.a);
}

static void test_hash(void **state)
{
    (void)state;
    attributes *p = mk("actions:\n"
                       "  - { key: gen_ai.request.model, action: update, value: abc }\n"
                       "  - { key: gen_ai.request.model, action: hash }\n"
                       "  - { pattern: ^(gen_ai\\.usage|ratio|stream|meta)$|usage, action: hash }\n"
                       "  - { key: not.there, action: hash }\n",
                       SIG_TRACES);
    world w = run(p);
    /* SHA-256 of "abc" (FIPS 180-2 test vector), of the int 120 as 8 little-endian bytes, of
     * the double 0.25's bits, of true as the byte 1, as the collector hashes them */
    assert_string_equal(str_of(w.gpt, "gen_ai.request.model"),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(str_of(w.gpt, "gen_ai.usage.input_tokens"),
                        "71565cd53b740546f7d236f21aba165cf52b249891958cdb7edb072614d0c3a4");
    assert_string_equal(str_of(w.gpt, "ratio"),
                        "272f78036db6721f7cf7444315e5f6360426d14c3d446d6ae8a89ef70d134002");
    assert_string_equal(str_of(w.gpt, "stream"),
                        "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a");
    assert_string_equal(str_of(w.gpt, "meta"), "");           /* a map has no hash: "" */
    assert_int_equal(get(w.gpt, "tags")->type, LT_VAL_ARRAY); /* not matched, untouched */
    assert_null(get(w.gpt, "not.there"));
    assert_string_equal(str_of(w.select, "db.system"), "postgres");
    attributes_stats st;
    attributes_get_stats(p, &st);
    assert_int_equal(st.spans_changed, 3); /* the three spans with a model */
    attributes_free(p);
    arena_free(w.a);
}

static void test_extract(void **state)
{
    (void)state;
    attributes *p =
        mk("actions:\n"
           "  - { key: url, action: upsert, value: 'https://api.openai.com/v1/chat?x=1' }\n"
           "  - { key: url, action: update, value: 'ftp://files' }\n"
           "  - key: url\n"
           "    action: extract\n"
           "    pattern: ^(?P<scheme>\\w+)://(?P<host>[^/?]+)(?P<path>/[^?]*)?(?<query>\\?.*)?$\n"
           "  - { key: gen_ai.usage.input_tokens, action: extract, pattern: '(?P<digits>\\d+)' }\n"
           "  - { key: gen_ai.request.model, action: extract, pattern: '^(?P<family>[a-z]+)-' }\n",
           SIG_TRACES);
    world w = run(p);
    /* every span got url ftp://files (upsert, then update) */
    assert_string_equal(str_of(w.gpt, "scheme"), "ftp");
    assert_string_equal(str_of(w.gpt, "host"), "files");
    /* groups that took no part in the match give "" */
    assert_string_equal(str_of(w.gpt, "path"), "");
    assert_string_equal(str_of(w.gpt, "query"), "");
    /* only strings are extracted from */
    assert_null(get(w.gpt, "digits"));
    /* a target that exists is overwritten; no match, nothing */
    assert_string_equal(str_of(w.gpt, "family"), "gpt");
    assert_string_equal(str_of(w.claude, "family"), "claude");
    assert_string_equal(str_of(w.embed, "family"), "text");
    assert_null(get(w.select, "family"));
    attributes_free(p);
    arena_free(w.a);

    p = mk("actions:\n"
           "  - { key: family, action: insert, value: old }\n"
           "  - key: url\n"
           "    action: upsert\n"
           "    value: https://api.openai.com/v1/chat?x=1\n"
           "  - key: url\n"
           "    action: extract\n"
           "    pattern: ^(?P<scheme>\\w+)://(?P<host>[^/?]+)(?P<path>/[^?]*)?(?<query>\\?.*)?$\n"
           "  - { key: gen_ai.request.model, action: extract, pattern: '^(?P<family>[a-z]+)-' }\n",
           SIG_TRACES);
    w = run(p);
    assert_string_equal(str_of(w.health, "scheme"), "https");
    assert_string_equal(str_of(w.health, "host"), "api.openai.com");
    assert_string_equal(str_of(w.health, "path"), "/v1/chat");
    assert_string_equal(str_of(w.health, "query"), "?x=1");
    assert_string_equal(str_of(w.gpt, "family"), "gpt");    /* overwritten */
    assert_string_equal(str_of(w.select, "family"), "old"); /* no model: left */
    /* the extracted values are slices of the source, copied nowhere */
    const lt_value *u = get(w.health, "url"), *h = get(w.health, "host");
    assert_true(h->u.s.ptr >= u->u.s.ptr && h->u.s.ptr < u->u.s.ptr + u->u.s.len);
    attributes_free(p);
    arena_free(w.a);
}

/* convert, as the collector's: what converts does, what does not stays as it was. */
static void test_convert(void **state)
{
    (void)state;
    const struct {
        lt_value in;
        const char *to;
        lt_value want;
    } cases[] = {
        {HV_S("42"), "int", HV_I(42)},
        {HV_S("+7"), "int", HV_I(7)},
        {HV_S("-9223372036854775808"), "int", HV_I(INT64_MIN)},
        {HV_S("9223372036854775808"), "int", HV_S("9223372036854775808")},
        {HV_S(" 42"), "int", HV_S(" 42")},
        {HV_S("4.5"), "int", HV_S("4.5")},
        {HV_S("abc"), "int", HV_S("abc")},
        {HV_D(2.9), "int", HV_I(2)},
        {HV_D(-2.9), "int", HV_I(-2)},
        {HV_D(1e300), "int", HV_D(1e300)},
        {HV_B(true), "int", HV_I(1)},
        {HV_I(5), "int", HV_I(5)},
        {HV_S("4.5"), "double", HV_D(4.5)},
        {HV_S("1e3"), "double", HV_D(1000)},
        {HV_S("1e999"), "double", HV_S("1e999")},
        {HV_S("x1"), "double", HV_S("x1")},
        {HV_I(3), "double", HV_D(3)},
        {HV_B(false), "double", HV_D(0)},
        {HV_I(120), "string", HV_S("120")},
        {HV_I(-5), "string", HV_S("-5")},
        {HV_D(0.25), "string", HV_S("0.25")},
        {HV_D(100), "string", HV_S("100")},
        {HV_D(-0.1), "string", HV_S("-0.1")},
        {HV_D(123456.789), "string", HV_S("123456.789")},
        {HV_D(1e20), "string", HV_S("100000000000000000000")},
        {HV_D(1e21), "string", HV_S("1e+21")},
        {HV_D(1.5e-7), "string", HV_S("1.5e-7")},
        {HV_D(0.000001), "string", HV_S("0.000001")},
        {HV_B(true), "string", HV_S("true")},
        {HV_S("s"), "string", HV_S("s")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "actions: [ { key: v, action: convert, converted_type: %s } ]\n", cases[i].to);
        attributes *p = mk(yaml, SIG_LOGS);
        lt_arena *a = arena_new();
        lt_log_batch b;
        hb_logs(a, &b);
        lt_log_record *r = &b.rl[0].scopes[0].records[0];
        r->attrs = HB_ATTRS(a, HKV("v", cases[i].in));
        assert_int_equal(attributes_logs(p, &b, a), 0);
        const lt_value *got = get(&r->attrs, "v");
        const lt_value *want = &cases[i].want;
        bool same =
            got->type == want->type && (want->type == LT_VAL_STRING ? lt_str_eq(got->u.s, want->u.s)
                                        : want->type == LT_VAL_INT  ? got->u.i == want->u.i
                                        : want->type == LT_VAL_DOUBLE ? got->u.d == want->u.d
                                                                      : got->u.b == want->u.b);
        if (!same)
            fail_msg("case %zu to %s: type %d, '%s' / %lld / %g", i, cases[i].to, got->type,
                     got->type == LT_VAL_STRING ? cstr(got->u.s) : "", (long long)got->u.i,
                     got->u.d);
        attributes_free(p);
        arena_free(a);
    }
    /* lists and maps to string: JSON; bytes: base64 */
    attributes *p = mk("actions:\n  - { key: tags, action: convert, converted_type: string }\n"
                       "  - { key: meta, action: convert, converted_type: string }\n"
                       "  - { key: meta, action: convert, converted_type: int }\n",
                       SIG_TRACES);
    world w = run(p);
    assert_string_equal(str_of(w.gpt, "tags"), "[\"a\",\"b\"]");
    assert_string_equal(str_of(w.gpt, "meta"), "{\"k\":\"v\"}");
    attributes_free(p);
    arena_free(w.a);
    p = mk("actions: [ { key: raw, action: convert, converted_type: string } ]\n", SIG_LOGS);
    lt_arena *a = arena_new();
    lt_log_batch b;
    hb_logs(a, &b);
    lt_log_record *r = &b.rl[1].scopes[0].records[0];
    r->attrs = HB_ATTRS(a, HKV("raw", ((lt_value){.type = LT_VAL_BYTES, .u.s = LT_STR("hi!?")})));
    assert_int_equal(attributes_logs(p, &b, a), 0);
    assert_string_equal(str_of(&r->attrs, "raw"), "aGkhPw==");
    attributes_free(p);
    arena_free(a);
}

/* Which spans an action ran on: those that got "hit". */
static const char *hits(const char *props)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "actions: [ { key: hit, action: insert, value: 1 } ]\n%s", props);
    attributes *p = mk(yaml, SIG_TRACES);
    world w = run(p);
    static char out[256];
    size_t k = 0;
    out[0] = 0;
    const char *names[] = {"chat gpt-4o", "chat claude", "SELECT users", "health", "embed"};
    lt_attrs *as[] = {w.gpt, w.claude, w.select, w.health, w.embed};
    for (int i = 0; i < 5; i++)
        if (get(as[i], "hit")) hb_join(out, sizeof out, &k, lt_str_c(names[i]));
    attributes_free(p);
    arena_free(w.a);
    return out;
}

static void test_include_exclude(void **state)
{
    (void)state;
    static const struct {
        const char *props, *hit;
    } cases[] = {
        {"", "chat gpt-4o|chat claude|SELECT users|health|embed"},
        {"include: { match_type: strict, services: [chat] }",
         "chat gpt-4o|chat claude|SELECT users"},
        {"include: { match_type: strict, services: [cha] }", ""},
        {"include: { match_type: regexp, services: [^ch] }",
         "chat gpt-4o|chat claude|SELECT users"},
        {"include: { match_type: regexp, services: [at] }",
         "chat gpt-4o|chat claude|SELECT users|health|embed"},
        {"exclude: { match_type: regexp, span_names: ['^chat', '^h'] }", "SELECT users|embed"},
        {"include: { match_type: strict, span_names: [health, embed] }", "health|embed"},
        {"include: { match_type: strict, span_kinds: [SPAN_KIND_CLIENT] }",
         "chat gpt-4o|chat claude|embed"},
        {"include: { match_type: regexp, span_kinds: ['SERVER|INTERNAL'] }", "SELECT users|health"},
        /* typed values: an int matches an int, never the string "50" */
        {"include: { match_type: strict, attributes: [ { key: gen_ai.usage.input_tokens, "
         "value: 50 } ] }",
         "chat claude"},
        {"include: { match_type: strict, attributes: [ { key: gen_ai.usage.input_tokens, "
         "value: '50' } ] }",
         ""},
        {"include: { match_type: strict, attributes: [ { key: ratio, value: 0.25 }, "
         "{ key: stream, value: true } ] }",
         "chat gpt-4o"},
        {"include: { match_type: strict, attributes: [ { key: gen_ai.request.model } ] }",
         "chat gpt-4o|chat claude|embed"},
        {"include: { match_type: strict, attributes: [ { key: gen_ai.request.model }, "
         "{ key: db.system } ] }",
         ""},
        {"include: { match_type: regexp, attributes: [ { key: gen_ai.request.model, "
         "value: '^(gpt|text)' } ] }",
         "chat gpt-4o|embed"},
        /* regexp on a number matches its text */
        {"include: { match_type: regexp, attributes: [ { key: gen_ai.usage.input_tokens, "
         "value: '^1' } ] }",
         "chat gpt-4o"},
        {"include: { match_type: regexp, attributes: [ { key: ratio, value: '^0\\.25$' } ] }",
         "chat gpt-4o"},
        {"include: { match_type: strict, resources: [ { key: service.name, value: batch } ] }",
         "health|embed"},
        {"include: { match_type: strict, libraries: [ { name: openai, version: '1.2' } ] }",
         "chat gpt-4o|chat claude"},
        {"include: { match_type: strict, libraries: [ { name: openai, version: '1.3' } ] }", ""},
        {"include: { match_type: strict, libraries: [ { name: db } ] }", "SELECT users"},
        {"include: { match_type: regexp, libraries: [ { version: '^2' } ] }", "health|embed"},
        /* all the lists given must match */
        {"include: { match_type: strict, services: [chat], span_kinds: [SPAN_KIND_CLIENT] }",
         "chat gpt-4o|chat claude"},
        {"include: { match_type: strict, services: [chat] }\n"
         "exclude: { match_type: strict, span_names: [chat claude] }",
         "chat gpt-4o|SELECT users"},
        {"include: { match_type: regexp, span_names: [.] }\n"
         "exclude: { match_type: regexp, attributes: [ { key: gen_ai.request.model, "
         "value: claude } ] }",
         "chat gpt-4o|SELECT users|health|embed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = hits(cases[i].props);
        if (strcmp(got, cases[i].hit) != 0)
            fail_msg("%s: hit '%s', want '%s'", cases[i].props, got, cases[i].hit);
    }
}

static void test_logs(void **state)
{
    (void)state;
    static const struct {
        const char *props, *hit;
    } cases[] = {
        {"", "INFO|ERROR|WARN|DEBUG"},
        {"include: { match_type: regexp, log_bodies: [password, tick] }", "ERROR|DEBUG"},
        {"include: { match_type: strict, log_bodies: ['user logged in'] }", "INFO"},
        {"include: { match_type: regexp, log_bodies: ['.'] }", "INFO|ERROR|DEBUG"}, /* no map */
        {"include: { match_type: strict, log_severity_texts: [ERROR, WARN] }", "ERROR|WARN"},
        {"exclude: { match_type: strict, resources: [ { key: service.name, value: chat } ] }",
         "DEBUG"},
        {"include: { match_type: strict, attributes: [ { key: user, value: bob } ] }", "ERROR"},
        {"include: { match_type: strict, libraries: [ { name: job } ] }", "DEBUG"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "actions: [ { key: user, action: hash }, "
                 "{ key: hit, action: upsert, from_attribute: user }, "
                 "{ key: hit, action: insert, value: 1 } ]\n%s",
                 cases[i].props);
        attributes *p = mk(yaml, SIG_LOGS);
        lt_arena *a = arena_new();
        lt_log_batch b;
        hb_logs(a, &b);
        assert_int_equal(attributes_logs(p, &b, a), 0);
        char got[256];
        size_t k = 0;
        got[0] = 0;
        int n = 0;
        for (uint32_t r = 0; r < b.n_rl; r++)
            for (uint32_t s = 0; s < b.rl[r].n_scopes; s++)
                for (uint32_t x = 0; x < b.rl[r].scopes[s].n_records; x++) {
                    lt_log_record *lr = &b.rl[r].scopes[s].records[x];
                    const lt_value *h = get(&lr->attrs, "hit");
                    if (!h) continue;
                    n++;
                    hb_join(got, sizeof got, &k, lr->severity_text);
                    /* a record with a user got its hash, then the hash as hit */
                    const lt_value *u = get(&lr->attrs, "user");
                    if (u) {
                        assert_int_equal(u->u.s.len, 64);
                        assert_true(lt_str_eq(h->u.s, u->u.s));
                    }
                }
        if (strcmp(got, cases[i].hit) != 0)
            fail_msg("%s: hit '%s', want '%s'", cases[i].props, got, cases[i].hit);
        attributes_stats st;
        attributes_get_stats(p, &st);
        assert_int_equal(st.log_records, n);
        assert_int_equal(st.log_records_changed, n);
        assert_int_equal(st.spans, 0);
        attributes_free(p);
        arena_free(a);
    }
}

/* An action that changes what the GenAI view reads from is seen in the view. */
static void test_view_follows(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/otlp/traceloop/single-chat", LT_FIXTURES);
    fx_scenario sc;
    assert_int_equal(fx_load(dir, &sc), 0);
    lt_span *g = NULL;
    for (uint32_t i = 0; !g && i < sc.tb[0].n_rs; i++)
        for (uint32_t j = 0; !g && j < sc.tb[0].rs[i].n_scopes; j++)
            for (uint32_t k = 0; !g && k < sc.tb[0].rs[i].scopes[j].n_spans; k++)
                if (sc.tb[0].rs[i].scopes[j].spans[k].genai) g = &sc.tb[0].rs[i].scopes[j].spans[k];
    assert_non_null(g);
    assert_true(genai_has(g->genai, GA_RESPONSE_ID));
    assert_string_not_equal(cstr(genai_str(g->genai, GA_REQUEST_MODEL)), "model-x");
    attributes *p =
        mk("actions:\n  - { key: gen_ai.request.model, action: upsert, value: model-x }\n"
           "  - { key: gen_ai.response.id, action: delete }\n",
           SIG_TRACES);
    assert_int_equal(attributes_traces(p, &sc.tb[0], sc.a), 0);
    assert_string_equal(cstr(genai_str(g->genai, GA_REQUEST_MODEL)), "model-x");
    assert_false(genai_has(g->genai, GA_RESPONSE_ID));
    attributes_free(p);
    fx_free(&sc);
}

/* ---- settings errors ---------------------------------------------------------------- */

static void test_settings_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        unsigned signals;
        const char *msg;
    } cases[] = {
        {"actions: []\n", 0,
         "collector.yaml:1:10: processors.attributes.actions: at least one action is required"},
        {"include: { match_type: strict, services: [a] }\n", SIG_TRACES,
         "collector.yaml:1:1: processors.attributes.actions: at least one action is required"},
        {"actions:\n  - { key: a, action: inserts, value: 1 }\n", 0,
         "collector.yaml:2:23: processors.attributes.actions[0].action: unknown action 'inserts' "
         "(insert, update, upsert, delete, hash, extract or convert)"},
        {"actions:\n  - { key: a, value: 1 }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action is required"},
        {"actions:\n  - { action: insert, value: 1 }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action insert needs key"},
        {"actions:\n  - { key: a, action: upsert }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action upsert needs value or "
         "from_attribute"},
        {"actions:\n  - { key: a, action: insert, value: 1, from_attribute: b }\n", 0,
         "collector.yaml:2:41: processors.attributes.actions[0].from_attribute: value is given "
         "too; give one of them"},
        {"actions:\n  - { key: a, action: insert, from_context: metadata.tenant }\n", 0,
         "collector.yaml:2:31: processors.attributes.actions[0].from_context: not supported: "
         "llmtrace has no request context"},
        {"actions:\n  - { key: a, action: insert, value: 1, pattern: x }\n", 0,
         "collector.yaml:2:41: processors.attributes.actions[0].pattern: not used by action "
         "insert"},
        {"actions:\n  - { key: a, action: delete, value: 1 }\n", 0,
         "collector.yaml:2:31: processors.attributes.actions[0].value: not used by action delete"},
        {"actions:\n  - { action: hash }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action hash needs key or pattern"},
        {"actions:\n  - { action: delete, pattern: 'a(' }\n", 0,
         "collector.yaml:2:32: processors.attributes.actions[0].pattern: invalid pattern at "
         "offset 2: missing closing parenthesis"},
        {"actions:\n  - { key: u, action: extract, pattern: '(\\w+)' }\n", 0,
         "collector.yaml:2:41: processors.attributes.actions[0].pattern: group 1 has no name"},
        {"actions:\n  - { key: u, action: extract, pattern: '\\w+' }\n", 0,
         "collector.yaml:2:41: processors.attributes.actions[0].pattern: no named group"},
        {"actions:\n  - { key: u, action: extract }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action extract needs pattern"},
        {"actions:\n  - { key: u, action: convert }\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: action convert needs "
         "converted_type"},
        {"actions:\n  - { key: u, action: convert, converted_type: float }\n", 0,
         "collector.yaml:2:48: processors.attributes.actions[0].converted_type: 'float' is not "
         "int, double or string"},
        {"actions:\n  - { key: u, action: insert, value: [1, 2] }\n", 0,
         "collector.yaml:2:38: processors.attributes.actions[0].value: expected a string, number "
         "or bool, got a list or map (not supported as a value)"},
        {"actions:\n  - { key: u, action: insert, value: }\n", 0,
         "collector.yaml:2:38: processors.attributes.actions[0].value: expected a string, number "
         "or bool, got nothing (null)"},
        {"actions:\n  - { key: u, action: insert, vaule: 1 }\n", 0,
         "collector.yaml:2:31: processors.attributes.actions[0]: unknown option 'vaule'"},
        {"actions:\n  - insert\n", 0,
         "collector.yaml:2:5: processors.attributes.actions[0]: expected {key, action, ...}"},
        /* match properties */
        {"actions: [ { key: a, action: delete } ]\ninclude: { services: [a] }\n", SIG_TRACES,
         "collector.yaml:2:10: processors.attributes.include: match_type is required (strict or "
         "regexp)"},
        {"actions: [ { key: a, action: delete } ]\ninclude: { match_type: exact, services: [a] "
         "}\n",
         SIG_TRACES,
         "collector.yaml:2:24: processors.attributes.include.match_type: 'exact' is not strict or "
         "regexp"},
        {"actions: [ { key: a, action: delete } ]\nexclude: { match_type: strict }\n", SIG_TRACES,
         "collector.yaml:2:10: processors.attributes.exclude: give at least one of services, "
         "span_names, span_kinds, attributes, resources or libraries"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, log_severity_number: { min: WARN } }\n",
         SIG_LOGS,
         "collector.yaml:2:32: processors.attributes.include: unknown option "
         "'log_severity_number'"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, span_names: [a] }\n",
         SIG_LOGS,
         "collector.yaml:2:32: processors.attributes.include.span_names: applies to spans only, "
         "and this processor is used for logs"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, services: [a] }\n",
         0,
         "collector.yaml:2:32: processors.attributes.include.services: applies to spans only, "
         "and this processor is used for logs"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, log_bodies: [a] }\n",
         SIG_TRACES,
         "collector.yaml:2:32: processors.attributes.include.log_bodies: applies to log records "
         "only, and this processor is used for traces"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, span_kinds: [CLIENT] }\n",
         SIG_TRACES,
         "collector.yaml:2:45: processors.attributes.include.span_kinds[0]: 'CLIENT' is not a "
         "span kind"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: regexp, span_names: ['('] }\n",
         SIG_TRACES,
         "collector.yaml:2:45: processors.attributes.include.span_names[0]: invalid pattern"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: regexp, attributes: [ { key: n, value: 5 } ] }\n",
         SIG_TRACES,
         "collector.yaml:2:63: processors.attributes.include.attributes[0].value: match_type "
         "regexp takes a pattern (a string) here"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, attributes: [ { value: 5 } ] }\n",
         SIG_TRACES,
         "collector.yaml:2:46: processors.attributes.include.attributes[0]: key is required"},
        {"actions: [ { key: a, action: delete } ]\n"
         "include: { match_type: strict, libraries: [ { name: a, ver: '1' } ] }\n",
         SIG_TRACES,
         "collector.yaml:2:56: processors.attributes.include.libraries[0]: unknown option 'ver'"},
        {"actions: [ { key: a, action: delete } ]\ninclude: [ a ]\n", 0,
         "collector.yaml:2:10: processors.attributes.include: expected a mapping"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_doc *d = hb_yaml(cases[i].yaml);
        char err[512];
        attributes *p = NULL;
        assert_int_equal(
            attributes_create(d, cfg_root(d), NULL, cases[i].signals, &p, err, sizeof err),
            LT_EINVAL);
        assert_null(p);
        if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0) {
            print_error("case %zu: '%s'\n want '%s'\n", i, err, cases[i].msg);
            bad++;
        }
        cfg_free(d);
    }
    assert_int_equal(bad, 0);
}

/* ---- the captured fixtures ---------------------------------------------------------- */

typedef struct {
    attributes *p;
    uint64_t spans, clients, hashed;
} fx_run;

static void fx_scenario_run(const char *dir, void *arg)
{
    fx_run *r = arg;
    fx_scenario sc;
    if (fx_load(dir, &sc)) fail_msg("%s: does not decode", dir);
    for (int i = 0; i < sc.n_tb; i++) {
        lt_trace_batch *b = &sc.tb[i];
        /* the model of every client span, before */
        enum { MAX = 4096 };
        static lt_value before[MAX];
        static uint32_t n_attrs[MAX];
        uint32_t n = 0;
        for (uint32_t x = 0; x < b->n_rs; x++)
            for (uint32_t y = 0; y < b->rs[x].n_scopes; y++)
                for (uint32_t z = 0; z < b->rs[x].scopes[y].n_spans && n < MAX; z++, n++) {
                    const lt_span *s = &b->rs[x].scopes[y].spans[z];
                    const lt_value *m = get(&s->attrs, "gen_ai.request.model");
                    before[n] = m ? *m : (lt_value){.type = LT_VAL_EMPTY};
                    n_attrs[n] = s->attrs.n;
                }
        assert_int_equal(attributes_traces(r->p, b, sc.a), 0);
        n = 0;
        for (uint32_t x = 0; x < b->n_rs; x++)
            for (uint32_t y = 0; y < b->rs[x].n_scopes; y++)
                for (uint32_t z = 0; z < b->rs[x].scopes[y].n_spans && n < MAX; z++, n++) {
                    const lt_span *s = &b->rs[x].scopes[y].spans[z];
                    r->spans++;
                    bool client = s->kind == LT_KIND_CLIENT;
                    if (!client) { /* excluded: not one byte changed */
                        assert_int_equal(s->attrs.n, n_attrs[n]);
                        assert_null(get(&s->attrs, "deployment.environment.name"));
                        continue;
                    }
                    r->clients++;
                    assert_string_equal(str_of(&s->attrs, "deployment.environment.name"), "prod");
                    const lt_value *m = get(&s->attrs, "gen_ai.request.model");
                    if (before[n].type != LT_VAL_STRING) continue;
                    /* the digest of what was there, by OpenSSL's one-shot SHA256 */
                    uint8_t dg[32];
                    char hex[65];
                    SHA256((const unsigned char *)before[n].u.s.ptr, before[n].u.s.len, dg);
                    for (int k = 0; k < 32; k++)
                        snprintf(hex + 2 * k, 3, "%02x", dg[k]);
                    assert_string_equal(cstr(m->u.s), hex);
                    r->hashed++;
                    /* and the GenAI view no longer carries the model in clear */
                    if (s->genai)
                        assert_false(
                            lt_str_eq(genai_str(s->genai, GA_REQUEST_MODEL), before[n].u.s));
                }
    }
    fx_free(&sc);
}

static void test_fixtures(void **state)
{
    (void)state;
    fx_run r = {.p = mk("actions:\n"
                        "  - { key: deployment.environment.name, action: insert, value: prod }\n"
                        "  - { key: gen_ai.request.model, action: hash }\n"
                        "include: { match_type: strict, span_kinds: [SPAN_KIND_CLIENT] }\n",
                        SIG_TRACES)};
    assert_true(fx_each(fx_scenario_run, &r) > 0);
    print_message("%lu spans, %lu client spans, %lu models hashed\n", r.spans, r.clients, r.hashed);
    assert_true(r.clients > 0 && r.clients < r.spans);
    assert_true(r.hashed > 0);
    attributes_stats st;
    attributes_get_stats(r.p, &st);
    assert_int_equal(st.spans, r.clients);
    assert_int_equal(st.spans_changed, r.clients);
    attributes_free(r.p);
}

/* One processor, several threads, each with its own batch. */
static void *thread_run(void *arg)
{
    const attributes *p = arg;
    for (int n = 0; n < 200; n++) {
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        if (attributes_traces(p, &b, a) == 0 && !get(&b.rs[0].scopes[0].spans[0].attrs, "env"))
            fail_msg("env not inserted");
        arena_free(a);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    attributes *p = mk("actions:\n  - { key: env, action: insert, value: prod }\n"
                       "  - { pattern: ^gen_ai, action: hash }\n",
                       SIG_TRACES);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_run, p), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    attributes_stats st;
    attributes_get_stats(p, &st);
    assert_int_equal(st.spans, 4 * 200 * 5);
    attributes_free(p);
}

/* Every allocation of create and process may fail: LT_ENOMEM, no leak or crash (ASan). */
static void test_alloc_failure(void **state)
{
    (void)state;
    cfg_doc *d =
        hb_yaml("actions:\n"
                "  - { key: env, action: insert, value: prod }\n"
                "  - { key: gen_ai.request.model, action: hash }\n"
                "  - { key: gen_ai.request.model, action: extract, pattern: '(?P<f>\\w+)' }\n"
                "  - { key: tags, action: convert, converted_type: string }\n"
                "  - { pattern: ^x, action: delete }\n"
                "include: { match_type: regexp, span_names: [.] }\n");
    attributes *p = NULL;
    char err[256];
    long k = 0;
    for (;; k++) {
        alloc_fail_after(k);
        int rc = attributes_create(d, cfg_root(d), NULL, SIG_TRACES, &p, err, sizeof err);
        alloc_fail_after(-1);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
        assert_null(p);
    }
    assert_true(k > 0);
    for (long j = 0;; j++) {
        lt_arena *a = arena_new();
        lt_trace_batch b;
        hb_traces(a, &b);
        alloc_fail_after(j);
        int rc = attributes_traces(p, &b, a);
        alloc_fail_after(-1);
        arena_free(a);
        if (!rc) break;
        assert_int_equal(rc, LT_ENOMEM);
    }
    attributes_free(p);
    cfg_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_update_upsert),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_extract),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_include_exclude),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_view_follows),
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
