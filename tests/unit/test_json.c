/* test_json.c — the OTLP/JSON decoder and encoder (otlp/json.c).
 *
 * Every JSON body of the captured fixtures is decoded and checked against its folder's
 * expected.json (counts, names, typed attributes, events, log bodies); every protobuf body
 * goes protobuf → JSON → model and must encode back to the same protobuf bytes; then the
 * edges: every field, escapes, numbers, ids, limits, malformed input at every offset, and
 * an allocation failure at every point of a decode. */
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "fixture_files.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "model/model.h"
#include "model/pb.h"
#include "otlp/json.h"

#define FIX LT_FIXTURES "/otlp"

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */
/* ------------------------------------------------------------------------------------ */

/* An exact-size heap copy, so that ASan sees any read past the end. */
static char *dup_exact(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n) memcpy(d, s, n);
    return d;
}

/* Decodes a NUL-terminated JSON text (copied, as decoding writes to the buffer). The
 * copy is kept in *keep for the strings of the result. */
static int dec_traces(lt_arena *a, const char *text, lt_trace_batch *b, char **keep)
{
    size_t n = strlen(text);
    char *c = dup_exact(text, n);
    int rc = json_decode_traces(a, c, n, b);
    if (keep)
        *keep = c;
    else
        free(c);
    return rc;
}

static int dec_logs(lt_arena *a, const char *text, lt_log_batch *b, char **keep)
{
    size_t n = strlen(text);
    char *c = dup_exact(text, n);
    int rc = json_decode_logs(a, c, n, b);
    if (keep)
        *keep = c;
    else
        free(c);
    return rc;
}

static int rc_traces(const char *text)
{
    lt_arena *a = arena_new();
    lt_trace_batch b;
    int rc = dec_traces(a, text, &b, NULL);
    arena_free(a);
    return rc;
}

static int rc_logs(const char *text)
{
    lt_arena *a = arena_new();
    lt_log_batch b;
    int rc = dec_logs(a, text, &b, NULL);
    arena_free(a);
    return rc;
}

/* One span with one attribute whose value object is v: the usual place for a value. */
static char *with_value(const char *v)
{
    static const char pre[] =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\","
        "\"attributes\":[{\"key\":\"k\",\"value\":";
    static const char post[] = "}]}]}]}]}";
    size_t n = strlen(pre) + strlen(v) + strlen(post) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s%s", pre, v, post);
    return s;
}

/* Decodes with_value(v); returns the code and the value (valid until the next call). */
static int value_of(const char *v, lt_value *out)
{
    static lt_arena *a;
    static char *keep;
    if (a) arena_free(a);
    free(keep);
    keep = NULL;
    a = arena_new();
    char *t = with_value(v);
    lt_trace_batch b;
    int rc = dec_traces(a, t, &b, &keep);
    free(t);
    if (rc == 0) {
        assert_int_equal(b.n_spans, 1);
        assert_int_equal(b.rs[0].scopes[0].spans[0].attrs.n, 1);
        *out = b.rs[0].scopes[0].spans[0].attrs.items[0].value;
    }
    return rc;
}

/* One span whose fields are f (a JSON member list), with valid ids unless f sets them. */
static char *span_with(const char *f)
{
    size_t n = strlen(f) + 256;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n,
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
             "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"%s%s}]}]}]}",
             *f ? "," : "", f);
    return s;
}

static int rc_span(const char *f, lt_span *out, lt_arena *a, char **keep)
{
    char *t = span_with(f);
    lt_trace_batch b;
    int rc = dec_traces(a, t, &b, keep);
    free(t);
    if (rc == 0 && out) {
        assert_int_equal(b.n_spans, 1);
        *out = b.rs[0].scopes[0].spans[0];
    }
    return rc;
}

static int rc_span_only(const char *f)
{
    lt_arena *a = arena_new();
    int rc = rc_span(f, NULL, a, NULL);
    arena_free(a);
    return rc;
}

/* Appends s at p; returns the new end (for building big bodies without sprintf). */
static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static bool str_is(lt_str s, const char *c)
{
    return lt_str_eq(s, lt_str_c(c));
}

/* ------------------------------------------------------------------------------------ */
/* Fixtures against expected.json                                                       */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const lt_span *span;
    const lt_resource *res;
    const lt_scope *scope;
    bool used;
} fspan;

typedef struct {
    const lt_log_record *rec;
    bool used;
} flog;

typedef struct {
    lt_arena *a;
    char *bufs[256];
    int nbufs;
    fspan spans[4096];
    size_t nspans;
    flog logs[4096];
    size_t nlogs;
} folder;

static int kind_of(const char *s)
{
    static const char *names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                  "CLIENT",      "PRODUCER", "CONSUMER"};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static int status_of(const char *s)
{
    if (strcmp(s, "UNSET") == 0) return LT_STATUS_UNSET;
    if (strcmp(s, "OK") == 0) return LT_STATUS_OK;
    if (strcmp(s, "ERROR") == 0) return LT_STATUS_ERROR;
    return -1;
}

static int severity_of(const char *s)
{
    static const struct {
        const char *n;
        int v;
    } t[] = {
        {"SEVERITY_NUMBER_UNSPECIFIED", 0}, {"SEVERITY_NUMBER_TRACE", 1},
        {"SEVERITY_NUMBER_DEBUG", 5},       {"SEVERITY_NUMBER_INFO", 9},
        {"SEVERITY_NUMBER_WARN", 13},       {"SEVERITY_NUMBER_ERROR", 17},
        {"SEVERITY_NUMBER_FATAL", 21},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].n) == 0) return t[i].v;
    return -1;
}

static bool jstr_eq(json_t *e, lt_str s)
{
    return json_is_string(e) && json_string_length(e) == s.len &&
           (s.len == 0 || memcmp(json_string_value(e), s.ptr, s.len) == 0);
}

/* expected.json's typed values: {"string":..}, {"int":..}, {"double":..}, {"bool":..},
 * {"array":[..]}, {"kvlist":{..}}. */
static bool typed_eq(json_t *e, const lt_value *v)
{
    if (!json_is_object(e) || json_object_size(e) != 1) return false;
    void *it = json_object_iter(e);
    const char *t = json_object_iter_key(it);
    json_t *x = json_object_iter_value(it);
    if (strcmp(t, "string") == 0) return v->type == LT_VAL_STRING && jstr_eq(x, v->u.s);
    if (strcmp(t, "int") == 0)
        return v->type == LT_VAL_INT && json_is_integer(x) && json_integer_value(x) == v->u.i;
    if (strcmp(t, "double") == 0)
        return v->type == LT_VAL_DOUBLE && json_is_number(x) && json_number_value(x) == v->u.d;
    if (strcmp(t, "bool") == 0)
        return v->type == LT_VAL_BOOL && json_is_boolean(x) && json_is_true(x) == v->u.b;
    if (strcmp(t, "array") == 0) {
        if (v->type != LT_VAL_ARRAY || !json_is_array(x) || json_array_size(x) != v->u.arr.n)
            return false;
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (!typed_eq(json_array_get(x, i), &v->u.arr.items[i])) return false;
        return true;
    }
    if (strcmp(t, "kvlist") == 0) {
        if (v->type != LT_VAL_KVLIST || !json_is_object(x) || json_object_size(x) != v->u.kv.n)
            return false;
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            const lt_kv *kv = &v->u.kv.items[i];
            json_t *y = json_object_getn(x, kv->key.ptr, kv->key.len);
            if (!y || !typed_eq(y, &kv->value)) return false;
        }
        return true;
    }
    return false;
}

/* expected.json's plain values (log attributes and bodies): kvlists as objects. */
static bool plain_eq(json_t *e, const lt_value *v)
{
    switch (v->type) {
    case LT_VAL_STRING:
        return jstr_eq(e, v->u.s);
    case LT_VAL_INT:
        return json_is_integer(e) && json_integer_value(e) == v->u.i;
    case LT_VAL_DOUBLE:
        return json_is_number(e) && json_number_value(e) == v->u.d;
    case LT_VAL_BOOL:
        return json_is_boolean(e) && json_is_true(e) == v->u.b;
    case LT_VAL_EMPTY:
        return json_is_null(e);
    case LT_VAL_ARRAY:
        if (!json_is_array(e) || json_array_size(e) != v->u.arr.n) return false;
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (!plain_eq(json_array_get(e, i), &v->u.arr.items[i])) return false;
        return true;
    case LT_VAL_KVLIST:
        if (!json_is_object(e) || json_object_size(e) != v->u.kv.n) return false;
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            const lt_kv *kv = &v->u.kv.items[i];
            json_t *y = json_object_getn(e, kv->key.ptr, kv->key.len);
            if (!y || !plain_eq(y, &kv->value)) return false;
        }
        return true;
    default:
        return false;
    }
}

static bool keys_eq(json_t *keys, const lt_attrs *a)
{
    if (!json_is_array(keys) || json_array_size(keys) != a->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!jstr_eq(json_array_get(keys, i), a->items[i].key)) return false;
    return true;
}

static const fspan *span_by_id(const folder *f, const uint8_t *id)
{
    for (size_t i = 0; i < f->nspans; i++)
        if (memcmp(f->spans[i].span->span_id, id, 8) == 0) return &f->spans[i];
    return NULL;
}

static bool span_matches(const folder *f, const fspan *s, json_t *e)
{
    const lt_span *sp = s->span;
    if (!jstr_eq(json_object_get(e, "name"), sp->name)) return false;
    if (kind_of(json_string_value(json_object_get(e, "kind"))) != (int)sp->kind) return false;
    if (status_of(json_string_value(json_object_get(e, "status"))) != (int)sp->status_code)
        return false;
    json_t *x = json_object_get(e, "status_message");
    if (json_is_string(x) && !jstr_eq(x, sp->status_message)) return false;
    if (!jstr_eq(json_object_get(e, "service_name"), model_service_name(s->res))) return false;
    if (!jstr_eq(json_object_get(e, "scope"), s->scope->name)) return false;
    x = json_object_get(e, "parent");
    const fspan *parent = sp->has_parent ? span_by_id(f, sp->parent_span_id) : NULL;
    if (json_is_string(x) && (!parent || !jstr_eq(x, parent->span->name))) return false;
    if (json_is_null(x) && parent) return false;
    if ((x = json_object_get(e, "attributes"))) {
        if (json_object_size(x) != sp->attrs.n) return false;
        for (uint32_t i = 0; i < sp->attrs.n; i++) {
            const lt_kv *kv = &sp->attrs.items[i];
            json_t *y = json_object_getn(x, kv->key.ptr, kv->key.len);
            if (!y || !typed_eq(y, &kv->value)) return false;
        }
    }
    if ((x = json_object_get(e, "events"))) {
        if (json_array_size(x) != sp->events.n) return false;
        for (uint32_t i = 0; i < sp->events.n; i++) {
            json_t *ev = json_array_get(x, i);
            if (!jstr_eq(json_object_get(ev, "name"), sp->events.items[i].name)) return false;
            if (!keys_eq(json_object_get(ev, "attribute_keys"), &sp->events.items[i].attrs))
                return false;
        }
    }
    return true;
}

static bool log_matches(const folder *f, const flog *l, json_t *e)
{
    const lt_log_record *r = l->rec;
    const lt_value *ev = model_attr_get(&r->attrs, LT_STR("event.name"));
    if (!ev || !plain_eq(json_object_get(e, "event_name"), ev)) return false;
    if (severity_of(json_string_value(json_object_get(e, "severity"))) != (int)r->severity_number)
        return false;
    const fspan *s = span_by_id(f, r->span_id);
    if (!s || !jstr_eq(json_object_get(e, "span"), s->span->name)) return false;
    if (!keys_eq(json_object_get(e, "attribute_keys"), &r->attrs)) return false;
    json_t *x;
    if ((x = json_object_get(e, "attributes"))) {
        if (json_object_size(x) != r->attrs.n) return false;
        for (uint32_t i = 0; i < r->attrs.n; i++) {
            const lt_kv *kv = &r->attrs.items[i];
            json_t *y = json_object_getn(x, kv->key.ptr, kv->key.len);
            if (!y || !plain_eq(y, &kv->value)) return false;
        }
    }
    if ((x = json_object_get(e, "body")) && !plain_eq(x, &r->body)) return false;
    return true;
}

static long file_items(json_t *exp, const char *name)
{
    json_t *files = json_object_get(exp, "files");
    for (size_t i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        if (strcmp(json_string_value(json_object_get(f, "file")), name) == 0)
            return (long)json_integer_value(json_object_get(f, "items"));
    }
    return -1;
}

/* Decodes every NNNN-{traces,logs}.json of one folder and checks it against expected.json.
 * Returns false when the folder has no JSON bodies. */
static bool check_folder(const char *dir)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    json_error_t jerr;
    json_t *exp = json_load_file(path, 0, &jerr);
    if (!exp) return false;

    folder *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->a = arena_new();
    char *names[256];
    size_t nn = fx_list(dir, names, 256);
    assert_true(nn > 0);
    for (size_t i = 0; i < nn; i++) {
        const char *nm = names[i];
        bool traces = fx_ends(nm, "-traces.json"), logs = fx_ends(nm, "-logs.json");
        if (!traces && !logs) continue;
        size_t n;
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        char *body = fx_must_read(path, &n);
        assert_true(f->nbufs < 256);
        f->bufs[f->nbufs++] = body;
        long want = file_items(exp, nm);
        if (traces) {
            lt_trace_batch b;
            int rc = json_decode_traces(f->a, body, n, &b);
            if (rc) fail_msg("%s: %s", path, lt_strerror(rc));
            assert_int_equal(b.rejected, 0);
            assert_int_equal((long)b.n_spans, want);
            uint64_t count = 0;
            for (uint32_t r = 0; r < b.n_rs; r++)
                for (uint32_t s = 0; s < b.rs[r].n_scopes; s++)
                    for (uint32_t k = 0; k < b.rs[r].scopes[s].n_spans; k++) {
                        assert_true(f->nspans < 4096);
                        f->spans[f->nspans++] =
                            (fspan){&b.rs[r].scopes[s].spans[k], &b.rs[r].resource,
                                    &b.rs[r].scopes[s].scope, false};
                        count++;
                    }
            assert_int_equal(count, b.n_spans);
        } else {
            lt_log_batch b;
            int rc = json_decode_logs(f->a, body, n, &b);
            if (rc) fail_msg("%s: %s", path, lt_strerror(rc));
            assert_int_equal((long)b.n_records, want);
            uint64_t count = 0;
            for (uint32_t r = 0; r < b.n_rl; r++)
                for (uint32_t s = 0; s < b.rl[r].n_scopes; s++)
                    for (uint32_t k = 0; k < b.rl[r].scopes[s].n_records; k++) {
                        assert_true(f->nlogs < 4096);
                        f->logs[f->nlogs++] = (flog){&b.rl[r].scopes[s].records[k], false};
                        count++;
                    }
            assert_int_equal(count, b.n_records);
        }
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    bool any = f->nbufs > 0;
    if (!any) goto out;

    assert_int_equal(f->nspans, json_integer_value(json_object_get(exp, "span_count")));
    assert_int_equal(f->nlogs, json_integer_value(json_object_get(exp, "log_record_count")));

    /* span names */
    json_t *counts = json_object_get(exp, "span_name_counts");
    const char *name;
    json_t *cnt;
    size_t total = 0;
    json_object_foreach(counts, name, cnt)
    {
        size_t c = 0;
        for (size_t i = 0; i < f->nspans; i++)
            c += str_is(f->spans[i].span->name, name);
        if ((json_int_t)c != json_integer_value(cnt)) fail_msg("%s: span %s", dir, name);
        total += c;
    }
    assert_int_equal(total, f->nspans);

    /* distinct traces */
    size_t traces = 0;
    for (size_t i = 0; i < f->nspans; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = memcmp(f->spans[k].span->trace_id, f->spans[i].span->trace_id, 16) == 0;
        traces += !seen;
    }
    assert_int_equal(traces, json_integer_value(json_object_get(exp, "trace_count")));

    /* every expected span, with its attributes and events, matches a distinct one */
    json_t *espans = json_object_get(exp, "spans");
    for (size_t i = 0; i < json_array_size(espans); i++) {
        json_t *e = json_array_get(espans, i);
        bool found = false;
        for (size_t k = 0; k < f->nspans && !found; k++) {
            if (f->spans[k].used || !span_matches(f, &f->spans[k], e)) continue;
            f->spans[k].used = found = true;
        }
        if (!found)
            fail_msg("%s: no span matches expected span %zu (%s)", dir, i,
                     json_string_value(json_object_get(e, "name")));
    }
    json_t *elogs = json_object_get(exp, "logs");
    for (size_t i = 0; i < json_array_size(elogs); i++) {
        json_t *e = json_array_get(elogs, i);
        bool found = false;
        for (size_t k = 0; k < f->nlogs && !found; k++) {
            if (f->logs[k].used || !log_matches(f, &f->logs[k], e)) continue;
            f->logs[k].used = found = true;
        }
        if (!found) fail_msg("%s: no log record matches expected log %zu", dir, i);
    }
out:
    for (int i = 0; i < f->nbufs; i++)
        free(f->bufs[i]);
    arena_free(f->a);
    free(f);
    json_decref(exp);
    return any;
}

/* check_folder, counting the folders checked in arg. */
static void check_counted(const char *dir, void *arg)
{
    *(int *)arg += check_folder(dir);
}

static void test_fixtures_expected(void **state)
{
    (void)state;
    int folders = 0;
    assert_true(fx_each(check_counted, &folders) > 0);
    /* langfuse (7), openinference single-chat-json, otel *-json (8) */
    assert_int_equal(folders, 16);
}

/* ------------------------------------------------------------------------------------ */
/* Protobuf and JSON decode to the same model                                           */
/* ------------------------------------------------------------------------------------ */

static bool buf_eq(const lt_buf *a, const lt_buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* pb → model → JSON → model → pb must give the canonical pb bytes back. */
static void pb_roundtrip(const char *path, bool traces)
{
    size_t n;
    char *raw = fx_must_read(path, &n);
    lt_arena *a = arena_new();
    lt_buf p1 = {0}, p2 = {0}, j = {0};
    if (traces) {
        lt_trace_batch b1, b2;
        assert_int_equal(pb_decode_traces(a, (const uint8_t *)raw, n, &b1), 0);
        assert_int_equal(pb_encode_traces(&p1, &b1), 0);
        assert_int_equal(json_encode_traces(&j, &b1), 0);
        int rc = json_decode_traces(a, j.data, j.len, &b2);
        if (rc) fail_msg("%s: %s", path, lt_strerror(rc));
        assert_int_equal(b2.n_spans, b1.n_spans);
        assert_int_equal(pb_encode_traces(&p2, &b2), 0);
    } else {
        lt_log_batch b1, b2;
        assert_int_equal(pb_decode_logs(a, (const uint8_t *)raw, n, &b1), 0);
        assert_int_equal(pb_encode_logs(&p1, &b1), 0);
        assert_int_equal(json_encode_logs(&j, &b1), 0);
        int rc = json_decode_logs(a, j.data, j.len, &b2);
        if (rc) fail_msg("%s: %s", path, lt_strerror(rc));
        assert_int_equal(b2.n_records, b1.n_records);
        assert_int_equal(pb_encode_logs(&p2, &b2), 0);
    }
    if (!buf_eq(&p1, &p2)) fail_msg("%s: protobuf differs after the JSON round trip", path);
    buf_free(&p1);
    buf_free(&p2);
    buf_free(&j);
    arena_free(a);
    free(raw);
}

/* JSON fixture → model → pb → model → JSON: the same canonical JSON, and the same pb. */
static void json_roundtrip(const char *path, bool traces)
{
    size_t n;
    char *raw = fx_must_read(path, &n);
    lt_arena *a = arena_new();
    lt_buf j1 = {0}, j2 = {0}, p1 = {0}, p2 = {0};
    if (traces) {
        lt_trace_batch b1, b2;
        assert_int_equal(json_decode_traces(a, raw, n, &b1), 0);
        assert_int_equal(json_encode_traces(&j1, &b1), 0);
        assert_int_equal(pb_encode_traces(&p1, &b1), 0);
        assert_int_equal(pb_decode_traces(a, (const uint8_t *)p1.data, p1.len, &b2), 0);
        assert_int_equal(json_encode_traces(&j2, &b2), 0);
        assert_int_equal(pb_encode_traces(&p2, &b2), 0);
    } else {
        lt_log_batch b1, b2;
        assert_int_equal(json_decode_logs(a, raw, n, &b1), 0);
        assert_int_equal(json_encode_logs(&j1, &b1), 0);
        assert_int_equal(pb_encode_logs(&p1, &b1), 0);
        assert_int_equal(pb_decode_logs(a, (const uint8_t *)p1.data, p1.len, &b2), 0);
        assert_int_equal(json_encode_logs(&j2, &b2), 0);
        assert_int_equal(pb_encode_logs(&p2, &b2), 0);
    }
    if (!buf_eq(&j1, &j2)) fail_msg("%s: JSON differs after the protobuf round trip", path);
    if (!buf_eq(&p1, &p2)) fail_msg("%s: protobuf differs", path);
    buf_free(&j1);
    buf_free(&j2);
    buf_free(&p1);
    buf_free(&p2);
    arena_free(a);
    free(raw);
}

/* Round-trips every request of the folder dir; arg counts them (protobuf, JSON). */
static void roundtrip_folder(const char *dir, void *arg)
{
    int *counts = arg;
    char *names[256];
    size_t nf = fx_list(dir, names, 256);
    for (size_t m = 0; m < nf; m++) {
        const char *nm = names[m];
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, nm);
        bool t = strstr(nm, "-traces.") != NULL, l = strstr(nm, "-logs.") != NULL;
        if ((t || l) && (fx_ends(nm, ".pb") || fx_ends(nm, ".grpc.bin"))) {
            pb_roundtrip(p, t);
            counts[0]++;
        } else if ((t || l) && fx_ends(nm, ".json") && !fx_ends(nm, ".meta.json")) {
            json_roundtrip(p, t);
            counts[1]++;
        }
        free(names[m]);
    }
}

static void test_pb_json_equivalence(void **state)
{
    (void)state;
    int counts[2] = {0, 0};
    assert_true(fx_each(roundtrip_folder, counts) > 0);
    assert_true(counts[0] >= 100);
    assert_true(counts[1] >= 50);
}

/* ------------------------------------------------------------------------------------ */
/* Every field                                                                          */
/* ------------------------------------------------------------------------------------ */

static const char FULL_TRACES[] =
    "\xEF\xBB\xBF {\n \"resourceSpans\" : [ "
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc\"}}],\"droppedAttributesCount\":2,\"entityRefs\":[{\"type\":"
    "\"x\"}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.2\",\"attributes\":"
    "[{\"key\":\"s\",\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":3},"
    "\"spans\":[{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\",\"spanId\":\"1112131415161718\","
    "\"traceState\":\"k=v\",\"parentSpanId\":\"2122232425262728\",\"name\":\"op\",\"kind\":3,"
    "\"startTimeUnixNano\":\"1700000000000000001\",\"endTimeUnixNano\":1700000000000000002,"
    "\"attributes\":[{\"key\":\"str\",\"value\":{\"stringValue\":\"x\"}},"
    "{\"key\":\"int\",\"value\":{\"intValue\":\"-42\"}},"
    "{\"key\":\"int2\",\"value\":{\"intValue\":7}},"
    "{\"key\":\"dbl\",\"value\":{\"doubleValue\":2.5}},"
    "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},"
    "{\"key\":\"inf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
    "{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"AAEC/w==\"}},"
    "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},"
    "{\"intValue\":\"1\"},{}]}}},"
    "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"n\",\"value\":"
    "{\"boolValue\":false}}]}}},"
    "{\"key\":\"empty\",\"value\":{}}],"
    "\"droppedAttributesCount\":4,"
    "\"events\":[{\"timeUnixNano\":\"5\",\"name\":\"ev\",\"attributes\":[{\"key\":\"e\",\"value\":"
    "{\"intValue\":\"1\"}}],\"droppedAttributesCount\":6}],\"droppedEventsCount\":7,"
    "\"links\":[{\"traceId\":\"a1a2a3a4a5a6a7a8a9aaabacadaeafb0\",\"spanId\":\"b1b2b3b4b5b6b7b8\","
    "\"traceState\":\"a=b\",\"attributes\":[{\"key\":\"l\",\"value\":{\"doubleValue\":1}}],"
    "\"droppedAttributesCount\":8,\"flags\":769}],\"droppedLinksCount\":9,"
    "\"status\":{\"message\":\"boom\",\"code\":2},\"flags\":257}],\"schemaUrl\":\"https://s/1\"}],"
    "\"schemaUrl\":\"https://r/1\"}]}\r\n";

static void check_full_span(const lt_trace_batch *b)
{
    assert_int_equal(b->n_rs, 1);
    assert_int_equal(b->n_spans, 1);
    const lt_resource_spans *rs = &b->rs[0];
    assert_true(str_is(rs->schema_url, "https://r/1"));
    assert_true(str_is(model_service_name(&rs->resource), "svc"));
    assert_int_equal(rs->resource.dropped_attributes_count, 2);
    assert_int_equal(rs->n_scopes, 1);
    const lt_scope_spans *ss = &rs->scopes[0];
    assert_true(str_is(ss->schema_url, "https://s/1"));
    assert_true(str_is(ss->scope.name, "lib"));
    assert_true(str_is(ss->scope.version, "1.2"));
    assert_int_equal(ss->scope.attrs.n, 1);
    assert_int_equal(ss->scope.attrs.items[0].value.type, LT_VAL_BOOL);
    assert_true(ss->scope.attrs.items[0].value.u.b);
    assert_int_equal(ss->scope.dropped_attributes_count, 3);
    const lt_span *s = &ss->spans[0];
    static const uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t sid[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    static const uint8_t pid[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
    assert_memory_equal(s->trace_id, tid, 16);
    assert_memory_equal(s->span_id, sid, 8);
    assert_memory_equal(s->parent_span_id, pid, 8);
    assert_true(s->has_parent);
    assert_true(str_is(s->trace_state, "k=v"));
    assert_true(str_is(s->name, "op"));
    assert_int_equal(s->kind, LT_KIND_CLIENT);
    assert_int_equal(s->start_time_unix_nano, 1700000000000000001ull);
    assert_int_equal(s->end_time_unix_nano, 1700000000000000002ull);
    assert_int_equal(s->attrs.n, 10);
    const lt_kv *a = s->attrs.items;
    assert_true(a[0].value.type == LT_VAL_STRING && str_is(a[0].value.u.s, "x"));
    assert_true(a[1].value.type == LT_VAL_INT && a[1].value.u.i == -42);
    assert_true(a[2].value.type == LT_VAL_INT && a[2].value.u.i == 7);
    assert_true(a[3].value.type == LT_VAL_DOUBLE && a[3].value.u.d == 2.5);
    assert_true(a[4].value.type == LT_VAL_DOUBLE && isnan(a[4].value.u.d));
    assert_true(a[5].value.type == LT_VAL_DOUBLE && isinf(a[5].value.u.d) && a[5].value.u.d < 0);
    assert_true(a[6].value.type == LT_VAL_BYTES && a[6].value.u.s.len == 4);
    assert_memory_equal(a[6].value.u.s.ptr, "\x00\x01\x02\xff", 4);
    assert_true(a[7].value.type == LT_VAL_ARRAY && a[7].value.u.arr.n == 3);
    assert_int_equal(a[7].value.u.arr.items[0].type, LT_VAL_STRING);
    assert_int_equal(a[7].value.u.arr.items[1].type, LT_VAL_INT);
    assert_int_equal(a[7].value.u.arr.items[2].type, LT_VAL_EMPTY);
    assert_true(a[8].value.type == LT_VAL_KVLIST && a[8].value.u.kv.n == 1);
    assert_true(str_is(a[8].value.u.kv.items[0].key, "n"));
    assert_int_equal(a[8].value.u.kv.items[0].value.type, LT_VAL_BOOL);
    assert_false(a[8].value.u.kv.items[0].value.u.b);
    assert_int_equal(a[9].value.type, LT_VAL_EMPTY);
    assert_int_equal(s->dropped_attributes_count, 4);
    assert_int_equal(s->events.n, 1);
    assert_int_equal(s->events.items[0].time_unix_nano, 5);
    assert_true(str_is(s->events.items[0].name, "ev"));
    assert_int_equal(s->events.items[0].attrs.n, 1);
    assert_int_equal(s->events.items[0].dropped_attributes_count, 6);
    assert_int_equal(s->dropped_events_count, 7);
    assert_int_equal(s->links.n, 1);
    const lt_link *l = &s->links.items[0];
    assert_int_equal(l->trace_id[0], 0xa1);
    assert_int_equal(l->trace_id[15], 0xb0);
    assert_int_equal(l->span_id[7], 0xb8);
    assert_true(str_is(l->trace_state, "a=b"));
    assert_int_equal(l->attrs.n, 1);
    assert_true(l->attrs.items[0].value.type == LT_VAL_DOUBLE && l->attrs.items[0].value.u.d == 1);
    assert_int_equal(l->dropped_attributes_count, 8);
    assert_int_equal(l->flags, 769);
    assert_int_equal(s->dropped_links_count, 9);
    assert_true(str_is(s->status_message, "boom"));
    assert_int_equal(s->status_code, LT_STATUS_ERROR);
    assert_int_equal(s->flags, 257);
}

static void test_every_span_field(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    char *keep;
    lt_trace_batch b, b2, b3;
    assert_int_equal(dec_traces(a, FULL_TRACES, &b, &keep), 0);
    check_full_span(&b);

    /* the encoder writes the canonical form, which reads back the same */
    lt_buf j = {0}, p1 = {0}, p2 = {0}, p3 = {0};
    assert_int_equal(json_encode_traces(&j, &b), 0);
    assert_non_null(strstr(j.data, "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\""));
    assert_non_null(strstr(j.data, "\"startTimeUnixNano\":\"1700000000000000001\""));
    assert_non_null(strstr(j.data, "{\"intValue\":\"-42\"}"));
    assert_non_null(strstr(j.data, "{\"doubleValue\":\"NaN\"}"));
    assert_non_null(strstr(j.data, "{\"bytesValue\":\"AAEC/w==\"}"));
    assert_non_null(strstr(j.data, "\"kind\":3"));
    assert_non_null(strstr(j.data, "\"status\":{\"message\":\"boom\",\"code\":2}"));
    assert_null(strstr(j.data, "entityRefs"));
    char *copy = dup_exact(j.data, j.len);
    assert_int_equal(json_decode_traces(a, copy, j.len, &b2), 0);
    check_full_span(&b2);

    /* and so does its protobuf form */
    assert_int_equal(pb_encode_traces(&p1, &b), 0);
    assert_int_equal(pb_encode_traces(&p2, &b2), 0);
    assert_true(buf_eq(&p1, &p2));
    assert_int_equal(pb_decode_traces(a, (const uint8_t *)p1.data, p1.len, &b3), 0);
    assert_int_equal(pb_encode_traces(&p3, &b3), 0);
    assert_true(buf_eq(&p1, &p3));

    buf_free(&j);
    buf_free(&p1);
    buf_free(&p2);
    buf_free(&p3);
    free(copy);
    free(keep);
    arena_free(a);
}

static const char FULL_LOGS[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"svc\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"logger\"},\"logRecords\":"
    "[{\"timeUnixNano\":\"11\",\"observedTimeUnixNano\":\"12\",\"severityNumber\":17,"
    "\"severityText\":\"ERROR\",\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"content\","
    "\"value\":{\"stringValue\":\"hi\"}}]}},\"attributes\":[{\"key\":\"event.name\",\"value\":"
    "{\"stringValue\":\"gen_ai.choice\"}}],\"droppedAttributesCount\":1,\"flags\":1,"
    "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"eventName\":\"gen_ai.choice\"},{\"body\":{\"stringValue\":\"plain\"}},{}],"
    "\"schemaUrl\":\"u1\"}],\"schemaUrl\":\"u2\"}]}";

static void check_full_logs(const lt_log_batch *b)
{
    assert_int_equal(b->n_rl, 1);
    assert_int_equal(b->n_records, 3);
    assert_int_equal(b->rejected, 0);
    assert_true(str_is(b->rl[0].schema_url, "u2"));
    assert_true(str_is(b->rl[0].scopes[0].schema_url, "u1"));
    assert_true(str_is(b->rl[0].scopes[0].scope.name, "logger"));
    const lt_log_record *r = b->rl[0].scopes[0].records;
    assert_int_equal(r[0].time_unix_nano, 11);
    assert_int_equal(r[0].observed_time_unix_nano, 12);
    assert_int_equal(r[0].severity_number, 17);
    assert_true(str_is(r[0].severity_text, "ERROR"));
    assert_int_equal(r[0].body.type, LT_VAL_KVLIST);
    assert_true(str_is(r[0].body.u.kv.items[0].value.u.s, "hi"));
    assert_int_equal(r[0].attrs.n, 1);
    assert_int_equal(r[0].dropped_attributes_count, 1);
    assert_int_equal(r[0].flags, 1);
    assert_int_equal(r[0].trace_id[0], 1);
    assert_int_equal(r[0].span_id[7], 0x18);
    assert_true(str_is(r[0].event_name, "gen_ai.choice"));
    assert_true(r[1].body.type == LT_VAL_STRING && str_is(r[1].body.u.s, "plain"));
    assert_int_equal(r[2].body.type, LT_VAL_EMPTY);
    assert_true(model_id_is_zero(r[2].trace_id, 16));
}

static void test_every_log_field(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    char *keep;
    lt_log_batch b, b2;
    assert_int_equal(dec_logs(a, FULL_LOGS, &b, &keep), 0);
    check_full_logs(&b);
    lt_buf j = {0}, p1 = {0}, p2 = {0};
    assert_int_equal(json_encode_logs(&j, &b), 0);
    assert_int_equal(json_decode_logs(a, j.data, j.len, &b2), 0);
    check_full_logs(&b2);
    assert_int_equal(pb_encode_logs(&p1, &b), 0);
    assert_int_equal(pb_encode_logs(&p2, &b2), 0);
    assert_true(buf_eq(&p1, &p2));
    buf_free(&j);
    buf_free(&p1);
    buf_free(&p2);
    free(keep);
    arena_free(a);
}

/* ------------------------------------------------------------------------------------ */
/* Encoder                                                                              */
/* ------------------------------------------------------------------------------------ */

static const char *enc_value(lt_buf *b, lt_value v)
{
    buf_reset(b);
    json_encode_value(b, &v);
    assert_false(b->oom);
    return b->data;
}

static void test_encode_value(void **state)
{
    (void)state;
    lt_buf b = {0};
    lt_value v = {.type = LT_VAL_STRING, .u.s = LT_STR("a\"<\n")};
    assert_string_equal(enc_value(&b, v), "{\"stringValue\":\"a\\\"\\u003c\\n\"}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_BOOL, .u.b = true}),
                        "{\"boolValue\":true}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_INT, .u.i = INT64_MIN}),
                        "{\"intValue\":\"-9223372036854775808\"}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_DOUBLE, .u.d = 0.2}),
                        "{\"doubleValue\":0.2}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_DOUBLE, .u.d = INFINITY}),
                        "{\"doubleValue\":\"Infinity\"}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_BYTES, .u.s = LT_STR("hello")}),
                        "{\"bytesValue\":\"aGVsbG8=\"}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_EMPTY}), "{}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_ARRAY}), "{\"arrayValue\":{}}");
    assert_string_equal(enc_value(&b, (lt_value){.type = LT_VAL_KVLIST}), "{\"kvlistValue\":{}}");
    lt_value items[2] = {{.type = LT_VAL_INT, .u.i = 1}, {.type = LT_VAL_EMPTY}};
    lt_value arr = {.type = LT_VAL_ARRAY, .u.arr = {items, 2}};
    assert_string_equal(enc_value(&b, arr),
                        "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{}]}}");
    lt_kv kvs[1] = {{LT_STR("k"), {.type = LT_VAL_BOOL, .u.b = false}}};
    lt_value kvl = {.type = LT_VAL_KVLIST, .u.kv = {kvs, 1}};
    assert_string_equal(enc_value(&b, kvl), "{\"kvlistValue\":{\"values\":[{\"key\":\"k\","
                                            "\"value\":{\"boolValue\":false}}]}}");
    buf_free(&b);
}

static void test_encode_defaults_omitted(void **state)
{
    (void)state;
    lt_span s = {.trace_id = {1}, .span_id = {2}};
    lt_scope_spans ss = {.spans = &s, .n_spans = 1};
    lt_resource_spans rs = {.scopes = &ss, .n_scopes = 1};
    lt_trace_batch b = {.rs = &rs, .n_rs = 1, .n_spans = 1};
    lt_buf out = {0};
    assert_int_equal(json_encode_traces(&out, &b), 0);
    assert_string_equal(out.data, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                                  "\"01000000000000000000000000000000\",\"spanId\":"
                                  "\"0200000000000000\"}]}]}]}");
    buf_reset(&out);
    lt_trace_batch empty = {0};
    assert_int_equal(json_encode_traces(&out, &empty), 0);
    assert_string_equal(out.data, "{\"resourceSpans\":[]}");
    buf_reset(&out);
    lt_log_record r = {0};
    lt_scope_logs sl = {.records = &r, .n_records = 1};
    lt_resource_logs rl = {.scopes = &sl, .n_scopes = 1};
    lt_log_batch lb = {.rl = &rl, .n_rl = 1, .n_records = 1};
    assert_int_equal(json_encode_logs(&out, &lb), 0);
    assert_string_equal(out.data, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}]}]}]}");
    buf_free(&out);
}

/* ------------------------------------------------------------------------------------ */
/* Decoder details                                                                      */
/* ------------------------------------------------------------------------------------ */

static void test_empty_and_toplevel(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch b;
    assert_int_equal(json_decode_traces(a, NULL, 0, &b), LT_EINVAL);
    char c = '{';
    assert_int_equal(json_decode_traces(a, &c, 0, &b), LT_EINVAL);
    arena_free(a);
    assert_int_equal(rc_traces("{}"), 0);
    assert_int_equal(rc_traces(" \t\r\n{ } \n"), 0);
    assert_int_equal(rc_traces("{\"resourceSpans\":[]}"), 0);
    assert_int_equal(rc_traces("{\"resourceSpans\":null}"), 0);
    assert_int_equal(rc_logs("{\"resourceLogs\":[{}]}"), 0);
    assert_int_equal(rc_traces("null"), LT_EINVAL);
    assert_int_equal(rc_traces("[]"), LT_EINVAL);
    assert_int_equal(rc_traces("\"x\""), LT_EINVAL);
    assert_int_equal(rc_traces("1"), LT_EINVAL);
    assert_int_equal(rc_traces("   "), LT_EINVAL);
    assert_int_equal(rc_traces("{}x"), LT_EINVAL);
    assert_int_equal(rc_traces("{}{}"), LT_EINVAL);
    assert_int_equal(rc_traces("{} ,"), LT_EINVAL);
    assert_int_equal(rc_logs("null"), LT_EINVAL);
    assert_int_equal(rc_logs("{\"resourceLogs\":{}}"), LT_EINVAL);
    assert_int_equal(rc_traces("{\"resourceSpans\":{}}"), LT_EINVAL);
    assert_int_equal(rc_traces("{\"resourceSpans\":\"x\"}"), LT_EINVAL);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{",
        "}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1 \"b\":2}",
        "{'a':1}",
        "{a:1}",
        "{\"a\":[1,]}",
        "{\"a\":[,1]}",
        "{\"a\":[1 2]}",
        "{\"a\":[}",
        "{\"a\":{]}",
        "{\"a\":[1}",
        "{\"a\":{\"b\":1]}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":True}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":-}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":+1}",
        "{\"a\":0x10}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\t\"}",
        "{\"a\":\"abc}",
        "{\"a\":\"abc\\\"}",
        "{\"a\":1}}",
        "{\"a\":1]",
        "{\"a\"::1}",
        "{\"a\":1,,\"b\":2}",
        "{\"resourceSpans\":[null,]}",
        "{\"a\":/*c*/1}",
        "{\"a\":\"\\\"}",
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{]}]}]}",
        "\xEF\xBB{}",
        "{\"a\":\"\\u\"}",
        "{\"a\":[\"\\uD800\\u\"]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rc_traces(bad[i]);
        if (rc != LT_EINVAL) fail_msg("accepted or wrong error for %s: %d", bad[i], rc);
        assert_int_equal(rc_logs(bad[i]), LT_EINVAL);
    }
    /* unknown members of every kind are skipped, wherever they are */
    static const char *good[] = {
        ("{\"a\":1,\"b\":-0.5e-3,\"c\":\"s\\n\",\"d\":true,\"e\":false,\"f\":null,\"g\":[],"
         "\"h\":{},\"i\":[1,[2,{\"x\":[]}],{\"y\":{\"z\":null}}],\"j\":\"\\u00e9\"}"),
        "{\"resource_spans\":[{\"scope_spans\":5}]}", /* snake_case is not OTLP/JSON */
        "{\"resourceSpans\":[{\"x\":[{}],\"scopeSpans\":[{\"x\":{\"spans\":1},\"spans\":[]}]}]}",
        "{\"resourceSpans\":[null]}",
        "{ \"resourceSpans\" : [ { \"scopeSpans\" : [ { \"spans\" : [ ] } ] } ] }",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = rc_traces(good[i]);
        if (rc) fail_msg("rejected %s: %d", good[i], rc);
    }
}

static void test_ids(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_span s;
    char *keep;
    /* upper and lower case */
    assert_int_equal(rc_span("\"traceId\":\"ABCDEFabcdef0123456789ABCDEFabcd\","
                             "\"parentSpanId\":\"\"",
                             &s, a, &keep),
                     0);
    assert_int_equal(s.trace_id[0], 0xab);
    assert_int_equal(s.trace_id[15], 0xcd);
    assert_false(s.has_parent);
    free(keep);
    /* an all-zero parent is no parent */
    assert_int_equal(rc_span("\"parentSpanId\":\"0000000000000000\"", &s, a, &keep), 0);
    assert_false(s.has_parent);
    free(keep);
    arena_free(a);

    static const char *bad[] = {
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f1\"",    /* 31 digits */
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f1011\"", /* 34 */
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f1g\"",   /* not hex */
        "\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA==\"",           /* base64 is not OTLP/JSON */
        "\"spanId\":\"01020304050607\"",
        "\"spanId\":\"010203040506070809\"",
        "\"spanId\":\" 102030405060708\"",
        "\"parentSpanId\":\"010203040506070\"",
        "\"parentSpanId\":\"0102030405060708090a0b0c0d0e0f10\"",
        "\"traceId\":12",
        "\"spanId\":[]",
        "\"links\":[{\"traceId\":\"01\"}]",
        "\"links\":[{\"spanId\":\"0102030405060708090a\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rc_span_only(bad[i]);
        if (rc != LT_EINVAL) fail_msg("accepted %s: %d", bad[i], rc);
    }
    assert_int_equal(rc_logs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":"
                             "\"0102\"}]}]}]}"),
                     LT_EINVAL);
    assert_int_equal(rc_logs("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"spanId\":"
                             "\"zz02030405060708\"}]}]}]}"),
                     LT_EINVAL);
    /* links and log records may have no ids */
    assert_int_equal(rc_span_only("\"links\":[{\"traceId\":\"\",\"spanId\":\"\"},{}]"), 0);
}

static void test_rejected_spans(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch b;
    char *keep;
    const char *t =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"spanId\":\"0102030405060708\",\"name\":\"no trace id\"},"
        "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"0102030405060708\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0000000000000000\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\","
        "\"name\":\"kept\"},{},null]}]}]}";
    assert_int_equal(dec_traces(a, t, &b, &keep), 0);
    assert_int_equal(b.n_spans, 1);
    assert_int_equal(b.rejected, 6);
    assert_true(b.reject_reason.len > 0);
    assert_true(str_is(b.rs[0].scopes[0].spans[0].name, "kept"));
    free(keep);
    assert_int_equal(
        dec_traces(a, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{}]}]}]}", &b, NULL), 0);
    assert_int_equal(b.n_spans, 0);
    assert_int_equal(b.n_rs, 1);
    assert_int_equal(b.rs[0].n_scopes, 1);
    assert_int_equal(b.rs[0].scopes[0].n_spans, 0);
    assert_int_equal(b.rejected, 1);
    arena_free(a);
}

static void test_strings(void **state)
{
    (void)state;
    lt_value v;
    assert_int_equal(value_of("{\"stringValue\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", &v), 0);
    assert_int_equal(v.u.s.len, 8);
    assert_memory_equal(v.u.s.ptr, "\"\\/\b\f\n\r\t", 8);
    assert_int_equal(value_of("{\"stringValue\":\"\\u00e9\\u20AC\\ud83d\\ude00x\"}", &v), 0);
    assert_true(str_is(v.u.s, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80x"));
    assert_int_equal(value_of("{\"stringValue\":\"a\\u0000b\"}", &v), 0);
    assert_int_equal(v.u.s.len, 3);
    assert_memory_equal(v.u.s.ptr, "a\0b", 3);
    /* raw UTF-8 of every length, and DEL, pass untouched */
    assert_int_equal(value_of("{\"stringValue\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x7F\"}", &v),
                     0);
    assert_true(str_is(v.u.s, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x7F"));
    /* a long string that mixes both, across the 8-byte scanning steps */
    assert_int_equal(value_of("{\"stringValue\":\"0123456789\\n0123456789\xC3\xA9"
                              "0123456789\\\"\"}",
                              &v),
                     0);
    assert_true(str_is(v.u.s, "0123456789\n0123456789\xC3\xA9"
                              "0123456789\""));
    /* escaped keys are keys */
    lt_arena *a = arena_new();
    lt_span s;
    char *keep;
    assert_int_equal(rc_span("\"na\\u006De\":\"n\\u00e9\"", &s, a, &keep), 0);
    assert_true(str_is(s.name, "n\xC3\xA9"));
    free(keep);
    arena_free(a);

    static const char *bad_utf8[] = {
        "\x80",
        "\xBF",
        "\xC0\xAF",
        "\xC1\xBF",
        "\xC2",
        "\xC2\x41",
        "\xE0\x80\xAF",
        "\xE0\x9F\xBF",
        "\xED\xA0\x80",
        "\xED\xBF\xBF",
        "\xE2\x82",
        "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80",
        "\xF8\x88\x80\x80\x80",
        "\xFE",
        "\xFF",
        "\xF0\x9F\x98",
        "abcdefgh\xFF",
        "\\n\xC3",
    };
    char buf[128];
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        snprintf(buf, sizeof buf, "{\"stringValue\":\"%s\"}", bad_utf8[i]);
        if (value_of(buf, &v) != LT_EINVAL) fail_msg("accepted UTF-8 case %zu", i);
        snprintf(buf, sizeof buf, "{\"x%s\":1}", bad_utf8[i]); /* in a key */
        assert_int_equal(rc_traces(buf), LT_EINVAL);
        snprintf(buf, sizeof buf, "{\"x\":[\"%s\"]}", bad_utf8[i]); /* in a skipped value */
        assert_int_equal(rc_traces(buf), LT_EINVAL);
    }
    static const char *lone[] = {"\\uD800",    "\\uDBFF",        "\\uDC00",        "\\uDFFF",
                                 "\\uD800x",   "\\uD800\\u0041", "\\uD800\\uD800", "\\uDC00\\uD800",
                                 "\\uD800\\n", "\\ud83d"};
    for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++) {
        snprintf(buf, sizeof buf, "{\"stringValue\":\"%s\"}", lone[i]);
        if (value_of(buf, &v) != LT_EINVAL) fail_msg("accepted lone surrogate %s", lone[i]);
    }
}

static void test_numbers(void **state)
{
    (void)state;
    lt_value v;
    static const struct {
        const char *in;
        int64_t want;
    } ints[] = {
        {"\"0\"", 0},
        {"0", 0},
        {"-0", 0},
        {"\"-1\"", -1},
        {"9223372036854775807", INT64_MAX},
        {"\"9223372036854775807\"", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"\"-9223372036854775808\"", INT64_MIN},
        {"1e3", 1000},
        {"\"1.0\"", 1},
        {"-2.5e1", -25},
    };
    char buf[128];
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(buf, sizeof buf, "{\"intValue\":%s}", ints[i].in);
        if (value_of(buf, &v)) fail_msg("rejected intValue %s", ints[i].in);
        assert_int_equal(v.type, LT_VAL_INT);
        assert_true(v.u.i == ints[i].want);
    }
    static const char *bad_ints[] = {
        "9223372036854775808",
        "\"9223372036854775808\"",
        "-9223372036854775809",
        "\"99999999999999999999999\"",
        "1.5",
        "\"1.5\"",
        "1e19",
        "\"\"",
        "\" 1\"",
        "\"1 \"",
        "\"01\"",
        "\"+1\"",
        "\"0x10\"",
        "true",
        "[]",
        "{}",
        "\"NaN\"",
        "1e400",
    };
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        snprintf(buf, sizeof buf, "{\"intValue\":%s}", bad_ints[i]);
        if (value_of(buf, &v) != LT_EINVAL) fail_msg("accepted intValue %s", bad_ints[i]);
    }
    static const struct {
        const char *in;
        double want;
    } dbls[] = {
        {"0.2", 0.2},
        {"-1", -1},
        {"1e-5", 1e-5},
        {"\"2.5\"", 2.5},
        {"1.7976931348623157e308", 1.7976931348623157e308},
        {"5e-324", 5e-324},
        {"1e-400", 0},
        {"\"Infinity\"", INFINITY},
        {"\"-Infinity\"", -INFINITY},
        {"12345678901234567890", 12345678901234567890.0},
    };
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        snprintf(buf, sizeof buf, "{\"doubleValue\":%s}", dbls[i].in);
        if (value_of(buf, &v)) fail_msg("rejected doubleValue %s", dbls[i].in);
        assert_int_equal(v.type, LT_VAL_DOUBLE);
        assert_true(v.u.d == dbls[i].want);
    }
    assert_int_equal(value_of("{\"doubleValue\":\"NaN\"}", &v), 0);
    assert_true(isnan(v.u.d));
    static const char *bad_dbls[] = {"1e309",     "-1e400", "\"nan\"", "\"inf\"", "\"1e999\"",
                                     "\"0x1p3\"", "\" 1\"", "true",    "\"\"",    "NaN"};
    for (size_t i = 0; i < sizeof bad_dbls / sizeof bad_dbls[0]; i++) {
        snprintf(buf, sizeof buf, "{\"doubleValue\":%s}", bad_dbls[i]);
        if (value_of(buf, &v) != LT_EINVAL) fail_msg("accepted doubleValue %s", bad_dbls[i]);
    }
    /* a long number token */
    char *longnum = malloc(3000);
    assert_non_null(longnum);
    int n = snprintf(longnum, 3000, "{\"doubleValue\":0.");
    for (int i = 0; i < 2000; i++)
        longnum[n++] = '1';
    snprintf(longnum + n, 3000 - (size_t)n, "}");
    assert_int_equal(value_of(longnum, &v), LT_EINVAL); /* past NUM_MAX_LEN */
    free(longnum);

    /* fixed64, uint32 and enum fields */
    lt_arena *a = arena_new();
    lt_span s;
    char *keep;
    assert_int_equal(rc_span("\"startTimeUnixNano\":\"18446744073709551615\",\"endTimeUnixNano\""
                             ":18446744073709551615,\"kind\":\"2\",\"flags\":4294967295,"
                             "\"droppedAttributesCount\":1e2",
                             &s, a, &keep),
                     0);
    assert_true(s.start_time_unix_nano == UINT64_MAX);
    assert_true(s.end_time_unix_nano == UINT64_MAX);
    assert_int_equal(s.kind, 2);
    assert_int_equal(s.flags, UINT32_MAX);
    assert_int_equal(s.dropped_attributes_count, 100);
    free(keep);
    arena_free(a);
    static const char *bad[] = {
        "\"startTimeUnixNano\":\"18446744073709551616\"",
        "\"startTimeUnixNano\":-1",
        "\"endTimeUnixNano\":\"-5\"",
        "\"kind\":-1",
        "\"kind\":4294967296",
        "\"kind\":\"SPAN_KIND_CLIENT\"",
        "\"flags\":1.5",
        "\"droppedAttributesCount\":true",
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\"}",
        "\"status\":{\"code\":-2}",
        "\"name\":5",
        "\"name\":[\"x\"]",
        "\"attributes\":{}",
        "\"events\":{}",
        "\"startTimeUnixNano\":1e20",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rc_span_only(bad[i]);
        if (rc != LT_EINVAL) fail_msg("accepted %s: %d", bad[i], rc);
    }
}

static void test_values(void **state)
{
    (void)state;
    lt_value v;
    assert_int_equal(value_of("{\"boolValue\":true}", &v), 0);
    assert_true(v.type == LT_VAL_BOOL && v.u.b);
    assert_int_equal(value_of("{\"boolValue\":\"true\"}", &v), LT_EINVAL);
    assert_int_equal(value_of("{\"boolValue\":1}", &v), LT_EINVAL);
    /* bytes: both base64 alphabets, with or without padding */
    assert_int_equal(value_of("{\"bytesValue\":\"aGVsbG8=\"}", &v), 0);
    assert_true(v.type == LT_VAL_BYTES && str_is(v.u.s, "hello"));
    assert_int_equal(value_of("{\"bytesValue\":\"aGVsbG8\"}", &v), 0);
    assert_true(str_is(v.u.s, "hello"));
    assert_int_equal(value_of("{\"bytesValue\":\"-_8=\"}", &v), 0);
    assert_memory_equal(v.u.s.ptr, "\xfb\xff", 2);
    assert_int_equal(value_of("{\"bytesValue\":\"\"}", &v), 0);
    assert_true(v.type == LT_VAL_BYTES && v.u.s.len == 0);
    assert_int_equal(value_of("{\"bytesValue\":\"a\"}", &v), LT_EINVAL);
    assert_int_equal(value_of("{\"bytesValue\":\"aGVs*G8=\"}", &v), LT_EINVAL);
    assert_int_equal(value_of("{\"bytesValue\":\"aG=sbG8=\"}", &v), LT_EINVAL);
    assert_int_equal(value_of("{\"bytesValue\":\"aGVsbG8===\"}", &v), LT_EINVAL);
    /* null is absent; the last member wins */
    assert_int_equal(value_of("{\"stringValue\":null}", &v), 0);
    assert_int_equal(v.type, LT_VAL_EMPTY);
    assert_int_equal(value_of("null", &v), 0);
    assert_int_equal(v.type, LT_VAL_EMPTY);
    assert_int_equal(value_of("{\"stringValue\":\"a\",\"intValue\":\"5\"}", &v), 0);
    assert_true(v.type == LT_VAL_INT && v.u.i == 5);
    assert_int_equal(value_of("{\"arrayValue\":{\"values\":[{\"intValue\":1}]},"
                              "\"stringValue\":\"s\"}",
                              &v),
                     0);
    assert_true(v.type == LT_VAL_STRING && str_is(v.u.s, "s"));
    assert_int_equal(value_of("{\"stringValue\":\"s\",\"arrayValue\":{}}", &v), 0);
    assert_true(v.type == LT_VAL_ARRAY && v.u.arr.n == 0);
    assert_int_equal(value_of("{\"kvlistValue\":{\"values\":null}}", &v), 0);
    assert_true(v.type == LT_VAL_KVLIST && v.u.kv.n == 0);
    assert_int_equal(value_of("{\"arrayValue\":{\"values\":[null,{\"x\":1}]}}", &v), 0);
    assert_true(v.type == LT_VAL_ARRAY && v.u.arr.n == 2);
    assert_int_equal(v.u.arr.items[0].type, LT_VAL_EMPTY);
    assert_int_equal(v.u.arr.items[1].type, LT_VAL_EMPTY);
    assert_int_equal(value_of("{\"arrayValue\":[]}", &v), LT_EINVAL);
    assert_int_equal(value_of("{\"arrayValue\":{\"values\":{}}}", &v), LT_EINVAL);
    assert_int_equal(value_of("\"x\"", &v), LT_EINVAL);
    assert_int_equal(value_of("[]", &v), LT_EINVAL);
    /* a repeated field sent twice concatenates, as in protobuf */
    assert_int_equal(value_of("{\"arrayValue\":{\"values\":[{\"intValue\":1}],\"values\":"
                              "[{\"intValue\":2},{\"intValue\":3}]}}",
                              &v),
                     0);
    assert_int_equal(v.u.arr.n, 3);
    assert_true(v.u.arr.items[2].u.i == 3);
    /* nested kvlists inside arrays inside kvlists */
    assert_int_equal(
        value_of("{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":"
                 "{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":\"b\",\"value\":"
                 "{\"intValue\":\"9\"}}]}}]}}},{\"key\":\"c\"}]}}",
                 &v),
        0);
    assert_true(v.type == LT_VAL_KVLIST && v.u.kv.n == 2);
    const lt_value *in = &v.u.kv.items[0].value.u.arr.items[0];
    assert_true(in->type == LT_VAL_KVLIST && str_is(in->u.kv.items[0].key, "b"));
    assert_true(in->u.kv.items[0].value.u.i == 9);
    assert_int_equal(v.u.kv.items[1].value.type, LT_VAL_EMPTY);
}

static void test_aliases_and_duplicates(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch b;
    char *keep;
    const char *t =
        "{\"resourceSpans\":[{\"instrumentationLibrarySpans\":[{\"instrumentationLibrary\":"
        "{\"name\":\"old\",\"version\":\"0.1\"},\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"name\":\"a\"}]}],"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"new\"},\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060709\",\"name\":\"b\","
        "\"name\":\"c\",\"attributes\":[{\"key\":\"x\"}],\"attributes\":[{\"key\":\"y\"}]}]}]}]}";
    assert_int_equal(dec_traces(a, t, &b, &keep), 0);
    assert_int_equal(b.n_spans, 2);
    assert_int_equal(b.rs[0].n_scopes, 2);
    assert_true(str_is(b.rs[0].scopes[0].scope.name, "old"));
    assert_true(str_is(b.rs[0].scopes[0].scope.version, "0.1"));
    assert_true(str_is(b.rs[0].scopes[1].scope.name, "new"));
    const lt_span *s = &b.rs[0].scopes[1].spans[0];
    assert_true(str_is(s->name, "c"));
    assert_int_equal(s->attrs.n, 2);
    assert_true(str_is(s->attrs.items[1].key, "y"));
    free(keep);

    lt_log_batch lb;
    assert_int_equal(dec_logs(a,
                              "{\"resourceLogs\":[{\"instrumentationLibraryLogs\":[{"
                              "\"instrumentationLibrary\":{\"name\":\"old\"},\"logRecords\":"
                              "[{\"severityText\":\"x\"},{}]}]}]}",
                              &lb, &keep),
                     0);
    assert_int_equal(lb.n_records, 2);
    assert_true(str_is(lb.rl[0].scopes[0].scope.name, "old"));
    free(keep);
    /* null members are absent */
    assert_int_equal(dec_traces(a,
                                "{\"resourceSpans\":[{\"resource\":null,\"scopeSpans\":[{"
                                "\"scope\":null,\"spans\":[{\"traceId\":"
                                "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
                                "\"0102030405060708\",\"name\":null,\"status\":null,"
                                "\"attributes\":null,\"events\":[null],\"kind\":null}]}]}]}",
                                &b, &keep),
                     0);
    assert_int_equal(b.n_spans, 1);
    assert_int_equal(b.rs[0].scopes[0].spans[0].events.n, 1);
    assert_int_equal(b.rs[0].scopes[0].spans[0].name.len, 0);
    free(keep);
    arena_free(a);
}

/* {"arrayValue":{"values":[ ... ]}} nested n deep around a string. */
static char *nested_arrays(int n)
{
    static const char open[] = "{\"arrayValue\":{\"values\":[", close[] = "]}}";
    size_t len = (size_t)n * (sizeof open + sizeof close) + 64;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        p = put(p, open);
    p = put(p, "{\"stringValue\":\"x\"}");
    for (int i = 0; i < n; i++)
        p = put(p, close);
    *p = 0;
    return s;
}

static char *nested_kvlists(int n)
{
    static const char open[] = "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":",
                      close[] = "}]}}";
    size_t len = (size_t)n * (sizeof open + sizeof close) + 64;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        p = put(p, open);
    p = put(p, "{\"intValue\":\"1\"}");
    for (int i = 0; i < n; i++)
        p = put(p, close);
    *p = 0;
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    lt_value v;
    /* MODEL_MAX_DEPTH levels of arrays or kvlists are fine, as in protobuf; one more is not */
    char *s = nested_arrays(MODEL_MAX_DEPTH);
    assert_int_equal(value_of(s, &v), 0);
    free(s);
    s = nested_arrays(MODEL_MAX_DEPTH + 1);
    assert_int_equal(value_of(s, &v), LT_ETOOBIG);
    free(s);
    s = nested_kvlists(MODEL_MAX_DEPTH);
    assert_int_equal(value_of(s, &v), 0);
    /* ... and the same model goes through protobuf and back */
    {
        lt_arena *a = arena_new();
        char *t = with_value(s), *keep;
        lt_trace_batch b, b2;
        assert_int_equal(dec_traces(a, t, &b, &keep), 0);
        lt_buf p = {0}, j = {0};
        assert_int_equal(pb_encode_traces(&p, &b), 0);
        assert_int_equal(pb_decode_traces(a, (const uint8_t *)p.data, p.len, &b2), 0);
        assert_int_equal(json_encode_traces(&j, &b2), 0);
        assert_int_equal(json_decode_traces(a, j.data, j.len, &b2), 0);
        buf_free(&p);
        buf_free(&j);
        free(t);
        free(keep);
        arena_free(a);
    }
    free(s);
    s = nested_kvlists(MODEL_MAX_DEPTH + 1);
    assert_int_equal(value_of(s, &v), LT_ETOOBIG);
    free(s);
    s = nested_arrays(10000);
    assert_int_equal(value_of(s, &v), LT_ETOOBIG);
    free(s);

    /* 10,000 levels of plain JSON in an unknown member, closed or not */
    enum { DEEP = 10000 };
    char *d = malloc(4 * DEEP + 64), *p = d;
    assert_non_null(d);
    p = put(p, "{\"x\":");
    for (int i = 0; i < DEEP; i++)
        p = put(p, i % 2 ? "[" : "{\"a\":");
    for (int i = DEEP - 1; i >= 0; i--)
        *p++ = i % 2 ? ']' : '}';
    *p++ = '}';
    *p = 0;
    assert_int_equal(rc_traces(d), LT_ETOOBIG);
    assert_int_equal(rc_logs(d), LT_ETOOBIG);
    p = d;
    for (int i = 0; i < DEEP; i++)
        *p++ = '[';
    *p = 0;
    assert_int_equal(rc_traces(d), LT_EINVAL); /* the top level must be an object */
    p = put(d, "{\"x\":");
    for (int i = 0; i < DEEP; i++)
        *p++ = '[';
    *p = 0;
    assert_int_equal(rc_traces(d), LT_ETOOBIG);
    /* deep nesting in the structure itself: a span inside a span's unknown member */
    p = put(d, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"x\":");
    for (int i = 0; i < DEEP; i++)
        *p++ = '[';
    for (int i = 0; i < DEEP; i++)
        *p++ = ']';
    p = put(p, "}]}]}]}");
    *p = 0;
    assert_int_equal(rc_traces(d), LT_ETOOBIG);
    free(d);
}

static void test_huge_strings(void **state)
{
    (void)state;
    enum { BIG = 16 << 20 };
    /* 16 MiB of plain text, then 16 MiB of escapes and UTF-8 */
    char *big = malloc(BIG + 64);
    assert_non_null(big);
    int n = (int)(put(big, "{\"stringValue\":\"") - big);
    for (int i = 0; i < BIG; i++)
        big[n + i] = (char)('a' + i % 26);
    memcpy(big + n + BIG, "\"}", 3);
    lt_value v;
    assert_int_equal(value_of(big, &v), 0);
    assert_int_equal(v.u.s.len, BIG);
    assert_int_equal(v.u.s.ptr[BIG - 1], 'a' + (BIG - 1) % 26);
    static const char unit[] = "\\n\xC3\xA9\\u00e9x"; /* 11 bytes in, 6 out */
    enum { U = sizeof unit - 1 };
    for (int i = 0; i + U <= BIG; i += U)
        memcpy(big + n + i, unit, U);
    int used = BIG / U * U;
    memcpy(big + n + used, "\"}", 3);
    assert_int_equal(value_of(big, &v), 0);
    assert_int_equal(v.u.s.len, (size_t)used / U * 6);
    assert_memory_equal(v.u.s.ptr, "\n\xC3\xA9\xC3\xA9x\n", 7);
    /* unterminated: every byte is read, none past the end */
    big[n + used] = 0;
    assert_int_equal(value_of(big, &v), LT_EINVAL);
    free(big);
}

/* Every strict prefix of a body is invalid; none is read past its end. */
static void truncations(const char *rel, bool traces)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", FIX, rel);
    size_t n;
    char *body = fx_must_read(path, &n);
    while (n && (body[n - 1] == '\n' || body[n - 1] == ' '))
        n--;
    lt_arena *a = arena_new();
    for (size_t i = 0; i < n; i++) {
        char *c = dup_exact(body, i);
        int rc;
        if (traces) {
            lt_trace_batch b;
            rc = json_decode_traces(a, c, i, &b);
        } else {
            lt_log_batch b;
            rc = json_decode_logs(a, c, i, &b);
        }
        if (rc != LT_EINVAL) fail_msg("%s: prefix of %zu bytes gave %d", rel, i, rc);
        free(c);
        arena_reset(a);
    }
    char *c = dup_exact(body, n);
    if (traces) {
        lt_trace_batch b;
        assert_int_equal(json_decode_traces(a, c, n, &b), 0);
    } else {
        lt_log_batch b;
        assert_int_equal(json_decode_logs(a, c, n, &b), 0);
    }
    free(c);
    arena_free(a);
    free(body);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    truncations("otel/single-chat-json/0004-traces.json", true);
    truncations("otel/multi-agent-json/0002-logs.json", false);
    truncations("langfuse/single-chat/0001-traces.json", true);
    truncations("openinference/single-chat-json/0001-traces.json", true);
}

/* An allocation failure at every point of a decode gives LT_ENOMEM, never a crash or a
 * leak (ASan), and once allocations succeed the decode does too. */
static void alloc_failures(const char *rel, bool traces)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", FIX, rel);
    size_t n;
    char *body = fx_must_read(path, &n);
    long k;
    for (k = 0;; k++) {
        lt_arena *a = arena_new();
        assert_non_null(a);
        char *c = dup_exact(body, n);
        lt_buf out = {0};
        alloc_fail_after(k);
        int rc, rc2 = 0;
        if (traces) {
            lt_trace_batch b;
            rc = json_decode_traces(a, c, n, &b);
            if (!rc) rc2 = json_encode_traces(&out, &b);
        } else {
            lt_log_batch b;
            rc = json_decode_logs(a, c, n, &b);
            if (!rc) rc2 = json_encode_logs(&out, &b);
        }
        alloc_fail_after(-1);
        buf_free(&out);
        free(c);
        arena_free(a);
        if (rc == 0 && rc2 == 0) break;
        if (rc)
            assert_int_equal(rc, LT_ENOMEM);
        else
            assert_int_equal(rc2, LT_ENOMEM);
    }
    assert_true(k >= 3);
    free(body);
}

static void test_alloc_failure_everywhere(void **state)
{
    (void)state;
    alloc_failures("langfuse/batch/0001-traces.json", true);
    alloc_failures("otel/rag-json/0001-traces.json", true);
    alloc_failures("otel/batch-json/0001-logs.json", false);
}

static void test_limits(void **state)
{
    (void)state;
    /* MODEL_MAX_ATTRS + 1 attributes in one list */
    size_t cap = (size_t)(MODEL_MAX_ATTRS + 1) * 4 + 256;
    char *s = malloc(cap), *p = s;
    assert_non_null(s);
    p = put(p, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    for (int i = 0; i <= MODEL_MAX_ATTRS; i++)
        p = put(p, i ? ",{}" : "{}");
    memcpy(p, "]}}]}", 6);
    assert_int_equal(rc_traces(s), LT_ETOOBIG);
    /* exactly MODEL_MAX_ATTRS is fine */
    p = strstr(s, "[{},") + 1;
    memmove(p, p + 3, strlen(p + 3) + 1);
    assert_int_equal(rc_traces(s), 0);
    free(s);
}

/* The arena's bound (arena_set_limit, which the receiver turns into a 413) covers all the
 * decoder's memory but a small scratch: hostile bodies whose elements decode to many
 * times their size ({} is a whole log record) run into it early. Each body is cut short
 * at the end, so reading it all would give LT_EINVAL instead of LT_ENOMEM. */
static void test_arena_bound(void **state)
{
    (void)state;
    enum { BIG = 16 << 20 };
    static const struct {
        const char *head, *unit;
        bool traces;
    } cases[] = {
        {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[", "{},", false},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[",
         "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"},",
         true},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"events\":[", "{},", true},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"links\":[", "{},", true},
        {"{\"resourceSpans\":[{},", "{},", true},
        {"{\"resourceLogs\":[{\"scopeLogs\":[", "{},", false},
        {"{\"resourceSpans\":[{\"resource\":{\"attributes\":[", "{},", true},
        {"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"arrayValue\":"
         "{\"values\":[",
         "{},", true},
    };
    char *body = malloc(BIG + 256);
    assert_non_null(body);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = put(body, cases[i].head);
        size_t u = strlen(cases[i].unit);
        while ((size_t)(p - body) + u < BIG)
            p = put(p, cases[i].unit);
        lt_arena *a = arena_new();
        arena_set_limit(a, 1 << 20);
        int rc;
        if (cases[i].traces) {
            lt_trace_batch b;
            rc = json_decode_traces(a, body, (size_t)(p - body), &b);
        } else {
            lt_log_batch b;
            rc = json_decode_logs(a, body, (size_t)(p - body), &b);
        }
        if (rc != LT_ENOMEM || !arena_over_limit(a)) fail_msg("case %zu: %d", i, rc);
        arena_free(a);
    }
    free(body);
    /* a real request decodes well within four times its size */
    size_t n;
    char path[4096];
    snprintf(path, sizeof path, "%s/langfuse/batch/0001-traces.json", FIX);
    char *fx = fx_must_read(path, &n);
    lt_arena *a = arena_new();
    arena_set_limit(a, 4 * n);
    lt_trace_batch b;
    assert_int_equal(json_decode_traces(a, fx, n, &b), 0);
    assert_false(arena_over_limit(a));
    assert_true(arena_used(a) < n);
    arena_free(a);
    free(fx);
}

/* Numbers are read with '.', whatever LC_NUMERIC the process has set (skipped where no
 * locale with a decimal comma is installed). */
static void test_numbers_ignore_locale(void **state)
{
    (void)state;
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) skip();
    lt_value v;
    int rc = value_of("{\"doubleValue\":0.25}", &v);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(rc, 0);
    assert_true(v.u.d == 0.25);
}

/* Inputs the fuzzers found once (tests/fuzz/), kept as regression cases. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool traces;
    } cases[] = {
        /* a KeyValue without "key" has an absent ({NULL,0}) key, which the encoder must
         * write as "" (jsonw_str may not be given a NULL pointer) */
        {"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"kalue\":{\"stringValue\":"
         "\"3.1.0\"}}]}}]}",
         true},
        {"{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"tey\":\"service.name\","
         "\"value\":{\"stringValue\":\"x\"}}]}}]}",
         false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_arena *a = arena_new();
        lt_buf j1 = {0}, j2 = {0};
        char *keep;
        if (cases[i].traces) {
            lt_trace_batch b;
            assert_int_equal(dec_traces(a, cases[i].in, &b, &keep), 0);
            assert_int_equal(json_encode_traces(&j1, &b), 0);
            free(keep);
            assert_int_equal(dec_traces(a, j1.data, &b, &keep), 0);
            assert_int_equal(json_encode_traces(&j2, &b), 0);
        } else {
            lt_log_batch b;
            assert_int_equal(dec_logs(a, cases[i].in, &b, &keep), 0);
            assert_int_equal(json_encode_logs(&j1, &b), 0);
            free(keep);
            assert_int_equal(dec_logs(a, j1.data, &b, &keep), 0);
            assert_int_equal(json_encode_logs(&j2, &b), 0);
        }
        assert_non_null(strstr(j1.data, "{\"key\":\"\",\"value\":"));
        assert_string_equal(j1.data, j2.data);
        free(keep);
        buf_free(&j1);
        buf_free(&j2);
        arena_free(a);
    }
    /* and a hand-built model with NULL strings */
    lt_kv kv = {LT_STR_NULL, {.type = LT_VAL_STRING, .u.s = LT_STR_NULL}};
    lt_value v = {.type = LT_VAL_KVLIST, .u.kv = {&kv, 1}};
    lt_buf b = {0};
    json_encode_value(&b, &v);
    assert_string_equal(b.data, "{\"kvlistValue\":{\"values\":[{\"key\":\"\",\"value\":"
                                "{\"stringValue\":\"\"}}]}}");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_expected),
        cmocka_unit_test(test_pb_json_equivalence),
        cmocka_unit_test(test_every_span_field),
        cmocka_unit_test(test_every_log_field),
        cmocka_unit_test(test_encode_value),
        cmocka_unit_test(test_encode_defaults_omitted),
        cmocka_unit_test(test_empty_and_toplevel),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_rejected_spans),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_aliases_and_duplicates),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_huge_strings),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_alloc_failure_everywhere),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_arena_bound),
        cmocka_unit_test(test_numbers_ignore_locale),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
