/* test_redact.c — the redaction processor: the collector's options, the built-in detectors,
 * and structure-aware masking on every message form of the captured fixtures (a phone
 * number, an e-mail address and a card number injected into each, then masked with the
 * JSON still valid and every other byte as it was). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/alloc.h"
#include "core/err.h"
#include "fixture_load.h"
#include "pipeline/config.h"
#include "pipeline/redact.h"

static const char INJ[] =
    " Call me at +1 (555) 123-4567 or ann.lee@example.com, card 4111 1111 1111 1111.";
static const char MASKED[] = " Call me at **** or ****, card ****.";

static redact *mk(const char *json)
{
    cfg_doc *d;
    char err[512];
    if (cfg_load_string(json, strlen(json), "test.yaml", &d, err, sizeof err))
        fail_msg("config: %s", err);
    redact *r = NULL;
    int rc = redact_create(d, cfg_root(d), "processors.redaction", &r, err, sizeof err);
    if (rc) fail_msg("redact_create: %s", err);
    cfg_free(d);
    return r;
}

static int mk_err(const char *json, char *err, size_t errlen)
{
    cfg_doc *d;
    assert_int_equal(cfg_load_string(json, strlen(json), "test.yaml", &d, err, errlen), 0);
    redact *r = NULL;
    int rc = redact_create(d, cfg_root(d), "processors.redaction", &r, err, errlen);
    redact_free(r);
    cfg_free(d);
    return rc;
}

static char *cstr(lt_str s)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%.*s", (int)s.len, s.ptr ? s.ptr : "");
    return buf;
}

/* ---- the built-in detectors ---- */

static void test_builtin_patterns(void **state)
{
    (void)state;
    redact *r =
        mk("{\"patterns\": [\"email\", \"phone\", \"credit_card\", \"iban\", \"api_key\"]}");
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"mail ann@example.com now", "mail **** now"},
        {"a.b+tag@mail.co.uk, x", "****, x"},
        {"not an address: a@b", "not an address: a@b"},
        {"call +44 20 7946 0958 today", "call **** today"},
        {"call +1 (555) 123-4567.", "call ****."},
        {"or (555) 123-4567", "or ****"},
        {"or 555-123-4567 or 555.123.4567", "or **** or ****"},
        {"+49-30-901820", "****"},
        {"date 2024-01-15 and 12:30", "date 2024-01-15 and 12:30"},
        {"order 12345678 ok", "order 12345678 ok"},
        {"version 1.2.3", "version 1.2.3"},
        {"card 4111 1111 1111 1111", "card ****"},
        {"card 4111-1111-1111-1111!", "card ****!"},
        {"card 5500005555555559", "card ****"},
        {"not luhn 4111111111111112", "not luhn 4111111111111112"},
        {"iban DE89 3704 0044 0532 0130 00 ok", "iban **** ok"},
        {"GB82WEST12345698765432", "****"},
        {"bad GB82WEST12345698765433", "bad GB82WEST12345698765433"},
        {"key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "key ****"},
        {"aws AKIAIOSFODNN7EXAMPLE.", "aws ****."},
        {"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789AB", "gh ****"},
        {"Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig-_x", "Authorization: Bearer ****"},
        {"trace 4bf92f3577b34da6a3ce929d0e0e4736", "trace 4bf92f3577b34da6a3ce929d0e0e4736"},
        {"bad utf-8 \xff\xfe ann@example.com \xc3", "bad utf-8 \xff\xfe **** \xc3"},
        {"", ""},
    };
    lt_arena *a = arena_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_str in = lt_str_c(cases[i].in), out;
        uint32_t n;
        assert_int_equal(redact_string(r, in, a, &out, &n), 0);
        if (!lt_str_eq_c(out, cases[i].out))
            fail_msg("'%s' -> '%s', want '%s'", cases[i].in, cstr(out), cases[i].out);
        if (strcmp(cases[i].in, cases[i].out) == 0) {
            assert_int_equal(n, 0);
            assert_ptr_equal(out.ptr, in.ptr); /* nothing matched: the same bytes */
        } else {
            assert_true(n > 0);
        }
    }
    arena_free(a);
    redact_free(r);
}

static void test_json_values(void **state)
{
    (void)state;
    redact *r = mk("{\"patterns\": [\"email\"], \"mask\": \"[email]\"}");
    lt_arena *a = arena_new();
    const char *in = "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"I am "
                     "x@y.org \\\"quoted\\\" \\u00e9\"}]},{\"k\":1.5,\"n\":null,\"x@y.org\":true}]";
    lt_str out;
    uint32_t n;
    assert_int_equal(redact_string(r, lt_str_c(in), a, &out, &n), 0);
    assert_int_equal(n, 1);
    json_error_t je;
    json_t *got = json_loadb(out.ptr, out.len, 0, &je);
    assert_non_null(got);
    json_t *want =
        json_loads("[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"I am "
                   "[email] \\\"quoted\\\" \\u00e9\"}]},{\"k\":1.5,\"n\":null,"
                   "\"x@y.org\":true}]",
                   0, &je);
    assert_true(json_equal(got, want)); /* keys are never masked, other values unchanged */
    json_decref(got);
    json_decref(want);
    /* numbers are written back as sent (as far as a double says: 0.7, not 0.69999...) */
    assert_int_equal(
        redact_string(r,
                      lt_str_c("{\"t\":0.7,\"p\":0.1234567890123456789,\"c\":\"x@y.org\","
                               "\"n\":12,\"e\":1e300}"),
                      a, &out, &n),
        0);
    assert_string_equal(cstr(out), "{\"t\":0.69999999999999996,\"p\":0.12345678901234568,"
                                   "\"c\":\"[email]\",\"n\":12,\"e\":1.0000000000000001e300}");
    assert_int_equal(
        redact_string(r, lt_str_c("{\"t\":0.7,\"c\":\"x@y.org\",\"e\":1e300}"), a, &out, &n), 0);
    assert_string_equal(cstr(out), "{\"t\":0.7,\"c\":\"[email]\",\"e\":1e300}");
    /* JSON inside a JSON string (double-encoded), and text that only looks like JSON */
    const char *dbl = "{\"input\":\"{\\\"content\\\":\\\"mail x@y.org\\\"}\"}";
    assert_int_equal(redact_string(r, lt_str_c(dbl), a, &out, &n), 0);
    assert_string_equal(cstr(out), "{\"input\":\"{\\\"content\\\":\\\"mail [email]\\\"}\"}");
    assert_int_equal(redact_string(r, lt_str_c("[not json x@y.org"), a, &out, &n), 0);
    assert_string_equal(cstr(out), "[not json [email]");
    /* an escaped '@' is only an '@' once decoded: the raw text alone must not decide */
    assert_int_equal(redact_string(r, lt_str_c("{\"c\":\"mail x\\u0040y.org\"}"), a, &out, &n), 0);
    assert_string_equal(cstr(out), "{\"c\":\"mail [email]\"}");
    /* duplicate keys: a parse would lose one, so it is masked as text */
    assert_int_equal(redact_string(r, lt_str_c("{\"a\":\"x@y.org\",\"a\":\"b\"}"), a, &out, &n), 0);
    assert_string_equal(cstr(out), "{\"a\":\"[email]\",\"a\":\"b\"}");
    arena_free(a);
    redact_free(r);
}

/* ---- the collector's options on a hand-built span ---- */

static lt_kv kv_s(const char *k, const char *v)
{
    return (lt_kv){lt_str_c(k), {.type = LT_VAL_STRING, .u.s = lt_str_c(v)}};
}

static const lt_value *get(const lt_attrs *a, const char *k)
{
    return model_attr_get(a, lt_str_c(k));
}

typedef struct {
    lt_arena *a;
    lt_trace_batch b;
    lt_resource_spans rs;
    lt_scope_spans ss;
    lt_span span;
} one_span;

static void one_span_init(one_span *o)
{
    memset(o, 0, sizeof *o);
    o->a = arena_new();
    lt_kv kv[] = {kv_s("user.email", "ann@example.com"),
                  kv_s("http.method", "GET"),
                  kv_s("db.password", "hunter2"),
                  kv_s("note", "card 4111 1111 1111 1111 ok"),
                  kv_s("trace.note", "mail ops@mycompany.com"),
                  kv_s("secret.token", "abc")};
    o->span.attrs.items = arena_alloc(o->a, sizeof kv);
    memcpy(o->span.attrs.items, kv, sizeof kv);
    o->span.attrs.n = 6;
    o->span.span_id[0] = o->span.trace_id[0] = 1;
    o->ss.spans = &o->span;
    o->ss.n_spans = 1;
    o->rs.scopes = &o->ss;
    o->rs.n_scopes = 1;
    o->b.rs = &o->rs;
    o->b.n_rs = 1;
    o->b.n_spans = 1;
}

static void test_collector_options(void **state)
{
    (void)state;
    one_span o;
    one_span_init(&o);
    redact *r = mk("{\"allowed_keys\": [\"user.email\", \"note\", \"db.password\", \"trace.note\"],"
                   " \"ignored_keys\": [\"secret.token\"],"
                   " \"blocked_key_patterns\": [\"password\"],"
                   " \"blocked_values\": [\"[a-z.]+@[a-z]+\\\\.com\", \"\\\\d{4}( \\\\d{4}){3}\"],"
                   " \"allowed_values\": [\".+@mycompany\\\\.com\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    lt_attrs *at = &o.span.attrs;
    assert_null(get(at, "http.method")); /* not allowed: removed */
    assert_string_equal(cstr(get(at, "user.email")->u.s), "****");
    assert_string_equal(cstr(get(at, "db.password")->u.s), "****");
    assert_string_equal(cstr(get(at, "note")->u.s), "card **** ok");
    assert_string_equal(cstr(get(at, "trace.note")->u.s), "mail ops@mycompany.com");
    assert_string_equal(cstr(get(at, "secret.token")->u.s), "abc");
    assert_string_equal(cstr(get(at, "redaction.redacted.keys")->u.s), "http.method");
    assert_int_equal(get(at, "redaction.redacted.count")->u.i, 1);
    assert_string_equal(cstr(get(at, "redaction.masked.keys")->u.s), "db.password,note,user.email");
    assert_int_equal(get(at, "redaction.masked.count")->u.i, 3);
    assert_int_equal(get(at, "redaction.ignored.count")->u.i, 1);
    redact_free(r);
    arena_free(o.a);

    /* info: counts only; silent: nothing; allow_all_keys keeps every key */
    one_span_init(&o);
    r = mk("{\"allow_all_keys\": true, \"summary\": \"info\", \"patterns\": [\"email\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    assert_non_null(get(&o.span.attrs, "http.method"));
    assert_null(get(&o.span.attrs, "redaction.masked.keys"));
    assert_int_equal(get(&o.span.attrs, "redaction.masked.count")->u.i, 2);
    redact_free(r);
    arena_free(o.a);
    one_span_init(&o);
    r = mk("{\"allow_all_keys\": true, \"summary\": \"silent\", \"patterns\": [\"email\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    assert_int_equal(o.span.attrs.n, 6);
    assert_string_equal(cstr(get(&o.span.attrs, "trace.note")->u.s), "mail ****");
    redact_free(r);
    arena_free(o.a);
}

static void test_config_errors(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(mk_err("{\"allowed_key\": []}", err, sizeof err), LT_EINVAL);
    assert_non_null(strstr(err, "unknown option 'allowed_key'"));
    assert_int_equal(mk_err("{\"blocked_values\": [\"(\"]}", err, sizeof err), LT_EINVAL);
    assert_non_null(strstr(err, "blocked_values[0]: invalid pattern"));
    assert_non_null(strstr(err, "test.yaml:"));
    assert_int_equal(mk_err("{\"patterns\": [\"email\", \"ssn\"]}", err, sizeof err), LT_EINVAL);
    assert_non_null(strstr(err, "unknown pattern 'ssn'"));
    assert_int_equal(mk_err("{\"summary\": \"loud\"}", err, sizeof err), LT_EINVAL);
    assert_int_equal(mk_err("{\"hash_function\": \"crc\"}", err, sizeof err), LT_EINVAL);
    assert_int_equal(mk_err("{\"allow_all_keys\": \"yes\"}", err, sizeof err), LT_EINVAL);
    assert_int_equal(mk_err("{\"hash_function\": \"sha256\"}", err, sizeof err), 0);
}

/* hash_function: a match becomes the digest of what it replaced (checked against
 * Python's hashlib), a blocked key's value the digest of the value */
static void test_hash_function(void **state)
{
    (void)state;
    one_span o;
    one_span_init(&o);
    redact *r = mk("{\"allow_all_keys\": true, \"hash_function\": \"sha256\", \"patterns\": "
                   "[\"email\"], \"blocked_key_patterns\": [\"password\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    assert_string_equal(cstr(get(&o.span.attrs, "user.email")->u.s),
                        "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476");
    redact_free(r);
    arena_free(o.a);
    one_span_init(&o);
    r = mk("{\"allow_all_keys\": true, \"hash_function\": \"md5\", \"blocked_key_patterns\": "
           "[\"password\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    assert_string_equal(cstr(get(&o.span.attrs, "db.password")->u.s),
                        "2ab96390c7dbe3439de74d0c9b0b1767");
    redact_free(r);
    arena_free(o.a);
}

/* ---- every message form of the fixtures ---- */

enum { MAX_SITES = 20000 };

typedef struct {
    lt_value *v;
    lt_str before;       /* untouched sites: the slice that must stay */
    char *expect;        /* injected plain text: the result wanted */
    json_t *expect_json; /* injected JSON: the tree wanted */
} site;

typedef struct {
    site *sites;
    int n;
    int injected;
    char forms[64][64];
    int n_forms;
    lt_arena *a;
} inject_state;

static void form_hit(inject_state *st, const char *form)
{
    for (int i = 0; i < st->n_forms; i++)
        if (!strcmp(st->forms[i], form)) return;
    if (st->n_forms < 64) snprintf(st->forms[st->n_forms++], 64, "%s", form);
}

static bool content_key(lt_str k)
{
    static const char *const words[] = {
        "messages", "content",  "prompt", "completion", "system_instructions", "input", "output",
        "query",    "document", "body",   NULL};
    char *s = cstr(k);
    for (int i = 0; words[i]; i++)
        if (strstr(s, words[i])) return true;
    return false;
}

static bool has_space(lt_str s)
{
    return memchr(s.ptr ? s.ptr : "", ' ', s.len) != NULL;
}

static char *concat(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    char *r = malloc(an + bn + 1);
    memcpy(r, a, an);
    memcpy(r + an, b, bn + 1);
    return r;
}

/* Appends text to every string leaf with a space (prose, not roles or ids) of j. */
static int json_inject(json_t *j, const char *text)
{
    int n = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) n += json_inject(v, text);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) n += json_inject(v, text);
    } else if (json_is_string(j) && memchr(json_string_value(j), ' ', json_string_length(j))) {
        char *s = concat(json_string_value(j), json_string_length(j), text);
        json_string_set(j, s);
        free(s);
        n++;
    }
    return n;
}

static site *new_site(inject_state *st, lt_value *v)
{
    assert_true(st->n < MAX_SITES);
    site *s = &st->sites[st->n++];
    memset(s, 0, sizeof *s);
    s->v = v;
    s->before = v->type == LT_VAL_STRING ? v->u.s : LT_STR_NULL;
    return s;
}

static void inject_value(inject_state *st, lt_value *v, bool content, const char *form, int depth)
{
    if (depth > 16) return;
    if (v->type == LT_VAL_KVLIST) {
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            inject_value(st, &v->u.kv.items[i].value, true, form, depth + 1);
        return;
    }
    if (v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            inject_value(st, &v->u.arr.items[i], true, form, depth + 1);
        return;
    }
    if (v->type != LT_VAL_STRING) return;
    site *s = new_site(st, v);
    if (!content) return;
    json_error_t je;
    json_t *j = (v->u.s.len && (v->u.s.ptr[0] == '{' || v->u.s.ptr[0] == '['))
                    ? json_loadb(v->u.s.ptr, v->u.s.len, JSON_REJECT_DUPLICATES, &je)
                    : NULL;
    if (j) {
        json_t *want = json_deep_copy(j);
        int n = json_inject(j, INJ);
        json_inject(want, MASKED);
        if (!n) {
            json_decref(j);
            json_decref(want);
            return;
        }
        char *text = json_dumps(j, JSON_COMPACT);
        v->u.s = arena_strdup(st->a, lt_str_c(text));
        free(text);
        json_decref(j);
        s->expect_json = want;
    } else if (has_space(v->u.s)) {
        char *text = concat(v->u.s.ptr, v->u.s.len, INJ);
        v->u.s = arena_strdup(st->a, lt_str_c(text));
        free(text);
        s->expect = concat(s->before.ptr, s->before.len, MASKED);
    } else {
        return;
    }
    st->injected++;
    form_hit(st, form);
}

/* The form a key stands for, for the tally of forms covered. */
static void form_of(lt_str key, char *out, size_t n)
{
    char *k = cstr(key);
    char tmp[256];
    size_t o = 0;
    /* numbers in flattened keys become N */
    for (size_t i = 0; k[i] && o + 2 < sizeof tmp; i++) {
        if (k[i] >= '0' && k[i] <= '9') {
            while (k[i + 1] >= '0' && k[i + 1] <= '9')
                i++;
            tmp[o++] = 'N';
        } else {
            tmp[o++] = k[i];
        }
    }
    tmp[o] = 0;
    snprintf(out, n, "%s", tmp);
}

static void inject_attrs(inject_state *st, lt_attrs *a, const char *where)
{
    for (uint32_t i = 0; i < a->n; i++) {
        char form[300];
        char f[256];
        form_of(a->items[i].key, f, sizeof f);
        snprintf(form, sizeof form, "%s %s", where, f);
        inject_value(st, &a->items[i].value, content_key(a->items[i].key), form, 0);
    }
}

static void inject_scenario(inject_state *st, fx_scenario *sc)
{
    for (int t = 0; t < sc->n_tb; t++)
        for (uint32_t i = 0; i < sc->tb[t].n_rs; i++) {
            lt_resource_spans *rs = &sc->tb[t].rs[i];
            for (uint32_t j = 0; j < rs->n_scopes; j++)
                for (uint32_t k = 0; k < rs->scopes[j].n_spans; k++) {
                    lt_span *s = &rs->scopes[j].spans[k];
                    inject_attrs(st, &s->attrs, "span");
                    for (uint32_t e = 0; e < s->events.n; e++)
                        inject_attrs(st, &s->events.items[e].attrs, "event");
                }
        }
    for (int l = 0; l < sc->n_lb; l++)
        for (uint32_t i = 0; i < sc->lb[l].n_rl; i++)
            for (uint32_t j = 0; j < sc->lb[l].rl[i].n_scopes; j++)
                for (uint32_t k = 0; k < sc->lb[l].rl[i].scopes[j].n_records; k++) {
                    lt_log_record *r = &sc->lb[l].rl[i].scopes[j].records[k];
                    inject_attrs(st, &r->attrs, "log");
                    inject_value(st, &r->body, true,
                                 r->body.type == LT_VAL_KVLIST ? "log body (kvlist)" : "log body",
                                 0);
                }
}

static bool text_has_pii(const char *s, size_t n)
{
    static const char *const pii[] = {"ann.lee@example.com", "123-4567", "4111 1111", NULL};
    for (int i = 0; pii[i]; i++)
        if (memmem(s, n, pii[i], strlen(pii[i]))) return true;
    return false;
}

/* Whether any text of the span's messages (as genai_messages_collect derives them, log
 * records included) still carries the injected values. */
static int messages_with_pii(fx_scenario *sc)
{
    int found = 0;
    const lt_log_record *recs[4096];
    for (int t = 0; t < sc->n_tb; t++)
        for (uint32_t i = 0; i < sc->tb[t].n_rs; i++) {
            lt_resource_spans *rs = &sc->tb[t].rs[i];
            for (uint32_t j = 0; j < rs->n_scopes; j++)
                for (uint32_t k = 0; k < rs->scopes[j].n_spans; k++) {
                    lt_span *s = &rs->scopes[j].spans[k];
                    uint32_t n = 0;
                    for (int l = 0; l < sc->n_lb; l++)
                        for (uint32_t a = 0; a < sc->lb[l].n_rl; a++)
                            for (uint32_t b = 0; b < sc->lb[l].rl[a].n_scopes; b++)
                                for (uint32_t c = 0; c < sc->lb[l].rl[a].scopes[b].n_records; c++) {
                                    lt_log_record *r = &sc->lb[l].rl[a].scopes[b].records[c];
                                    if (!memcmp(r->span_id, s->span_id, 8) && n < 4096)
                                        recs[n++] = r;
                                }
                    genai_messages m;
                    if (genai_messages_collect(s, recs, n, sc->a, &m) != 1) continue;
                    genai_message *lists[] = {m.input, m.output, m.system};
                    uint32_t counts[] = {m.n_input, m.n_output, m.n_system};
                    for (int x = 0; x < 3; x++)
                        for (uint32_t y = 0; y < counts[x]; y++)
                            for (uint32_t p = 0; p < lists[x][y].n_parts; p++) {
                                lt_str c = lists[x][y].parts[p].content;
                                if (c.len && text_has_pii(c.ptr, c.len)) found++;
                            }
                }
        }
    return found;
}

typedef struct {
    redact *r;
    int scenarios, injected, msg_before;
    char forms[256][64];
    int n_forms;
} fixture_run;

static void check_scenario(const char *dir, void *arg)
{
    fixture_run *fr = arg;
    fx_scenario sc;
    if (fx_load(dir, &sc)) fail_msg("%s: does not decode", dir);
    inject_state st = {.sites = calloc(MAX_SITES, sizeof(site)), .a = sc.a};
    inject_scenario(&st, &sc);
    fr->msg_before += messages_with_pii(&sc);
    for (int t = 0; t < sc.n_tb; t++)
        assert_int_equal(redact_traces(fr->r, &sc.tb[t], sc.a), 0);
    for (int l = 0; l < sc.n_lb; l++)
        assert_int_equal(redact_logs(fr->r, &sc.lb[l], sc.a), 0);
    for (int i = 0; i < st.n; i++) {
        site *s = &st.sites[i];
        lt_str now = s->v->u.s;
        assert_int_equal(s->v->type, LT_VAL_STRING);
        if (s->expect_json) {
            json_error_t je;
            json_t *got = json_loadb(now.ptr, now.len, 0, &je);
            if (!got) fail_msg("%s: masked JSON does not parse: %s", dir, je.text);
            if (!json_equal(got, s->expect_json)) {
                char *g = json_dumps(got, JSON_COMPACT),
                     *w = json_dumps(s->expect_json, JSON_COMPACT);
                fail_msg("%s: masked JSON\n got  %s\n want %s", dir, g, w);
            }
            json_decref(got);
            json_decref(s->expect_json);
        } else if (s->expect) {
            if (!lt_str_eq_c(now, s->expect))
                fail_msg("%s: got '%s'\nwant '%s'", dir, cstr(now), s->expect);
            free(s->expect);
        } else {
            /* not injected: the very same bytes */
            if (now.ptr != s->before.ptr || now.len != s->before.len)
                fail_msg("%s: an untouched value changed: '%s'", dir, cstr(now));
        }
    }
    int after = messages_with_pii(&sc);
    if (after) fail_msg("%s: %d message parts still carry the injected values", dir, after);
    for (int i = 0; i < st.n_forms; i++) {
        bool seen = false;
        for (int j = 0; j < fr->n_forms && !seen; j++)
            seen = !strcmp(fr->forms[j], st.forms[i]);
        if (!seen && fr->n_forms < 256) snprintf(fr->forms[fr->n_forms++], 64, "%s", st.forms[i]);
    }
    fr->injected += st.injected;
    fr->scenarios++;
    free(st.sites);
    fx_free(&sc);
}

static void test_fixture_forms(void **state)
{
    (void)state;
    fixture_run fr = {.r = mk("{\"allow_all_keys\": true, \"summary\": \"silent\","
                              " \"patterns\": [\"phone\", \"email\", \"credit_card\"]}")};
    fx_each(check_scenario, &fr);
    redact_free(fr.r);
    print_message("%d scenarios, %d values injected; message parts that showed them before "
                  "redaction: %d; forms:\n",
                  fr.scenarios, fr.injected, fr.msg_before);
    for (int i = 0; i < fr.n_forms; i++)
        print_message("  %s\n", fr.forms[i]);
    assert_true(fr.scenarios >= 40);
    assert_true(fr.msg_before > 0); /* the check after redaction could fail */
    /* each family's message forms were reached */
    static const char *const must[] = {"span gen_ai.input.messages",
                                       "span gen_ai.output.messages",
                                       "span llm.input_messages.N.message.content",
                                       "span llm.output_messages.N.message.content",
                                       "span langfuse.observation.input",
                                       "span langfuse.observation.output",
                                       "span input.value",
                                       "log body (kvlist)",
                                       NULL};
    for (int i = 0; must[i]; i++) {
        bool seen = false;
        for (int j = 0; j < fr.n_forms && !seen; j++)
            seen = !strcmp(fr.forms[j], must[i]);
        if (!seen) fail_msg("form not covered by the fixtures: %s", must[i]);
    }
}

/* Hand-made forms the fixtures do not have: OpenLLMetry's indexed prompt keys, a
 * gen_ai.content.prompt span event, structured (AnyValue) messages, system instructions. */
static void test_other_forms(void **state)
{
    (void)state;
    one_span o;
    one_span_init(&o);
    lt_value parts_kv[2];
    lt_kv part[2] = {kv_s("type", "text"), kv_s("content", "reach me at ann@example.com")};
    lt_value msg = {.type = LT_VAL_KVLIST, .u.kv = {part, 2}};
    parts_kv[0] = msg;
    lt_kv kv[] = {kv_s("gen_ai.prompt.0.content", "my phone is +44 20 7946 0958"),
                  kv_s("gen_ai.prompt.0.role", "user"),
                  {LT_STR("gen_ai.input.messages"), {.type = LT_VAL_ARRAY, .u.arr = {parts_kv, 1}}},
                  kv_s("gen_ai.system_instructions",
                       "[{\"type\":\"text\",\"content\":\"Escalate to ops@example.com.\"}]")};
    o.span.attrs.items = kv;
    o.span.attrs.n = 4;
    lt_kv ev_kv[] = {
        kv_s("gen_ai.prompt", "[{\"role\":\"user\",\"content\":\"card 4111111111111111\"}]")};
    lt_event ev = {.name = LT_STR("gen_ai.content.prompt"), .attrs = {ev_kv, 1}};
    o.span.events.items = &ev;
    o.span.events.n = 1;
    redact *r = mk("{\"allow_all_keys\": true, \"patterns\": [\"phone\", \"email\", "
                   "\"credit_card\"]}");
    assert_int_equal(redact_traces(r, &o.b, o.a), 0);
    assert_string_equal(cstr(get(&o.span.attrs, "gen_ai.prompt.0.content")->u.s),
                        "my phone is ****");
    assert_string_equal(cstr(part[1].value.u.s), "reach me at ****");
    assert_string_equal(cstr(ev_kv[0].value.u.s),
                        "[{\"role\":\"user\",\"content\":\"card ****\"}]");
    assert_string_equal(cstr(get(&o.span.attrs, "gen_ai.system_instructions")->u.s),
                        "[{\"type\":\"text\",\"content\":\"Escalate to ****.\"}]");
    assert_string_equal(cstr(get(&o.span.attrs, "redaction.masked.keys")->u.s),
                        "gen_ai.input.messages,gen_ai.prompt,gen_ai.prompt.0.content,"
                        "gen_ai.system_instructions");
    redact_free(r);
    arena_free(o.a);
}

/* Log bodies of every shape: a string, a JSON string, an array, a kvlist with nesting; and
 * the summary on the record. */
static void test_log_bodies(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_value arr_items[2] = {{.type = LT_VAL_STRING, .u.s = LT_STR("first ann@example.com")},
                             {.type = LT_VAL_INT, .u.i = 7}};
    lt_kv inner[1] = {{LT_STR("content"), {.type = LT_VAL_STRING, .u.s = LT_STR("x@y.org")}}};
    lt_kv outer[2] = {{LT_STR("role"), {.type = LT_VAL_STRING, .u.s = LT_STR("user")}},
                      {LT_STR("message"), {.type = LT_VAL_KVLIST, .u.kv = {inner, 1}}}};
    lt_log_record recs[4] = {
        {.body = {.type = LT_VAL_STRING, .u.s = LT_STR("plain ann@example.com text")}},
        {.body = {.type = LT_VAL_STRING, .u.s = LT_STR("{\"content\":\"to ann@example.com\"}")}},
        {.body = {.type = LT_VAL_ARRAY, .u.arr = {arr_items, 2}}},
        {.body = {.type = LT_VAL_KVLIST, .u.kv = {outer, 2}}},
    };
    lt_scope_logs sl = {.records = recs, .n_records = 4};
    lt_resource_logs rl = {.scopes = &sl, .n_scopes = 1};
    lt_log_batch b = {.rl = &rl, .n_rl = 1, .n_records = 4};
    redact *r = mk("{\"allow_all_keys\": true, \"patterns\": [\"email\"]}");
    assert_int_equal(redact_logs(r, &b, a), 0);
    assert_string_equal(cstr(recs[0].body.u.s), "plain **** text");
    assert_string_equal(cstr(recs[1].body.u.s), "{\"content\":\"to ****\"}");
    assert_string_equal(cstr(arr_items[0].u.s), "first ****");
    assert_int_equal(arr_items[1].u.i, 7);
    assert_string_equal(cstr(inner[0].value.u.s), "****");
    assert_string_equal(cstr(outer[0].value.u.s), "user");
    for (int i = 0; i < 4; i++) {
        assert_string_equal(cstr(get(&recs[i].attrs, "redaction.masked.keys")->u.s), "body");
        assert_int_equal(get(&recs[i].attrs, "redaction.masked.count")->u.i, 1);
    }
    redact_free(r);
    arena_free(a);
}

/* The canonical view is derived again: a masked user id does not survive in it, and the
 * cost computed at ingest stays. */
static void test_view_refreshed(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/otlp/otel/single-chat-proto", LT_FIXTURES);
    fx_scenario sc;
    assert_int_equal(fx_load(dir, &sc), 0);
    genai_prices *prices = NULL;
    char perr[256];
    assert_int_equal(genai_prices_load(NULL, NULL, &prices, perr, sizeof perr), 0);
    lt_span *s = NULL;
    for (uint32_t i = 0; !s && i < sc.tb[0].n_rs; i++)
        for (uint32_t j = 0; !s && j < sc.tb[0].rs[i].n_scopes; j++)
            for (uint32_t k = 0; !s && k < sc.tb[0].rs[i].scopes[j].n_spans; k++)
                if (sc.tb[0].rs[i].scopes[j].spans[k].genai) s = &sc.tb[0].rs[i].scopes[j].spans[k];
    assert_non_null(s);
    lt_kv *items = arena_alloc(sc.a, (s->attrs.n + 1) * sizeof *items);
    memcpy(items, s->attrs.items, s->attrs.n * sizeof *items);
    items[s->attrs.n] = kv_s("user.id", "ann.lee@example.com");
    s->attrs.items = items;
    s->attrs.n++;
    assert_int_equal(genai_annotate(&sc.tb[0], prices, sc.a), 0);
    assert_string_equal(cstr(genai_str(s->genai, GA_USER_ID)), "ann.lee@example.com");
    double cost = genai_double(s->genai, GA_COST, -1);
    assert_true(cost > 0);
    redact *r = mk("{\"allow_all_keys\": true, \"patterns\": [\"email\"]}");
    assert_int_equal(redact_traces(r, &sc.tb[0], sc.a), 0);
    assert_string_equal(cstr(genai_str(s->genai, GA_USER_ID)), "****");
    assert_true(genai_double(s->genai, GA_COST, -1) == cost);
    assert_string_equal(cstr(genai_str(s->genai, GA_COST_SOURCE)), "computed");
    redact_free(r);
    genai_prices_free(prices);
    fx_free(&sc);
}

/* Every allocation of redact_create and redact_traces may fail: the result is LT_ENOMEM
 * and nothing leaks or crashes (ASan), until enough succeed. */
static void test_alloc_failure(void **state)
{
    (void)state;
    static const char cfg[] = "{\"allow_all_keys\": true, \"patterns\": [\"email\", \"phone\"],"
                              " \"blocked_values\": [\"secret\"]}";
    cfg_doc *d;
    char err[256];
    assert_int_equal(cfg_load_string(cfg, strlen(cfg), "t", &d, err, sizeof err), 0);
    bool done = false;
    for (long k = 0; !done && k < 100000; k++) {
        redact *r = NULL;
        alloc_fail_after(k);
        int rc = redact_create(d, cfg_root(d), NULL, &r, err, sizeof err);
        alloc_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, LT_ENOMEM);
            assert_null(r);
            continue;
        }
        /* the processing, on a fresh batch each time */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/otlp/traceloop/single-chat", LT_FIXTURES);
        bool ok = false;
        for (long j = 0; !ok && j < 100000; j++) {
            fx_scenario sc;
            assert_int_equal(fx_load(dir, &sc), 0);
            alloc_fail_after(j);
            rc = redact_traces(r, &sc.tb[0], sc.a);
            alloc_fail_after(-1);
            if (rc) assert_int_equal(rc, LT_ENOMEM);
            ok = rc == 0;
            fx_free(&sc);
        }
        assert_true(ok);
        redact_free(r);
        done = true;
    }
    assert_true(done);
    cfg_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_patterns),  cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_collector_options), cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_fixture_forms),     cmocka_unit_test(test_other_forms),
        cmocka_unit_test(test_log_bodies),        cmocka_unit_test(test_view_refreshed),
        cmocka_unit_test(test_alloc_failure),     cmocka_unit_test(test_hash_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
