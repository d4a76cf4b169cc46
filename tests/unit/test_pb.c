/* test_pb.c — unit tests of the OTLP protobuf codec (model/pb.h).
 *
 * Real captures first: every protobuf fixture under LT_FIXTURES/otlp decodes, matches the
 * span/log counts, names and typed attribute values of its folder's expected.json, and
 * survives decode → encode → decode → encode with identical bytes. Then hand-built inputs
 * for each rule of the contract (wire types, lengths, ids, UTF-8, limits, depth, field
 * 1000, unknown fields), truncation at every offset, and allocation failure at every
 * allocation. */
#include <dirent.h>
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
#include "core/str.h"
#include "core/util.h"
#include "model/model.h"
#include "model/pb.h"
#include "model_eq.h"

/* ------------------------------------------------------------------------------------ */
/* Files                                                                                */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    char path[1024];
    char name[256];
    uint8_t *data;
    size_t len;
    bool logs; /* else traces */
} fixture;

/* Which protobuf request a fixture file holds: 1 traces, 2 logs, 0 neither. */
static int fixture_kind(const char *name)
{
    if (fx_ends(name, "-traces.pb") || fx_ends(name, "-traces.grpc.bin")) return 1;
    if (fx_ends(name, "-logs.pb") || fx_ends(name, "-logs.grpc.bin")) return 2;
    return 0;
}

/* The protobuf trace/log fixtures of one folder. */
static size_t list_folder(const char *dir, fixture *out, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;) {
        int k = fixture_kind(e->d_name);
        if (!k) continue;
        fixture *f = &out[n];
        snprintf(f->path, sizeof f->path, "%s/%s", dir, e->d_name);
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        f->logs = k == 2;
        f->data = fx_read(f->path, &f->len);
        assert_non_null(f->data);
        n++;
    }
    closedir(d);
    return n;
}

enum { MAX_FILES = 32 };

/* Calls fn for every protobuf fixture file. */
static void for_each_fixture(void (*fn)(const fixture *f, void *ctx), void *ctx);

typedef struct {
    void (*fn)(const fixture *f, void *ctx);
    void *ctx;
    int count;
} each_ctx;

static void each_folder(const char *dir, void *vctx)
{
    each_ctx *ec = vctx;
    fixture files[MAX_FILES];
    size_t n = list_folder(dir, files, MAX_FILES);
    for (size_t i = 0; i < n; i++) {
        ec->fn(&files[i], ec->ctx);
        ec->count++;
        free(files[i].data);
    }
}

static void for_each_fixture(void (*fn)(const fixture *f, void *ctx), void *ctx)
{
    each_ctx ec = {fn, ctx, 0};
    fx_each(each_folder, &ec);
    assert_true(ec.count >= 60); /* 42 traces.pb + 12 grpc + 26 logs.pb + 26 grpc, roughly */
}

/* ------------------------------------------------------------------------------------ */
/* Model equality (every field)                                                         */
/* ------------------------------------------------------------------------------------ */

static void eq_span(const lt_span *a, const lt_span *b)
{
    assert_memory_equal(a->trace_id, b->trace_id, 16);
    assert_memory_equal(a->span_id, b->span_id, 8);
    assert_memory_equal(a->parent_span_id, b->parent_span_id, 8);
    assert_int_equal(a->has_parent, b->has_parent);
    eq_str(a->trace_state, b->trace_state);
    eq_str(a->name, b->name);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->start_time_unix_nano, b->start_time_unix_nano);
    assert_int_equal(a->end_time_unix_nano, b->end_time_unix_nano);
    eq_attrs(&a->attrs, &b->attrs);
    assert_int_equal(a->dropped_attributes_count, b->dropped_attributes_count);
    assert_int_equal(a->events.n, b->events.n);
    for (uint32_t i = 0; i < a->events.n; i++) {
        const lt_event *x = &a->events.items[i], *y = &b->events.items[i];
        assert_int_equal(x->time_unix_nano, y->time_unix_nano);
        eq_str(x->name, y->name);
        eq_attrs(&x->attrs, &y->attrs);
        assert_int_equal(x->dropped_attributes_count, y->dropped_attributes_count);
    }
    assert_int_equal(a->dropped_events_count, b->dropped_events_count);
    assert_int_equal(a->links.n, b->links.n);
    for (uint32_t i = 0; i < a->links.n; i++) {
        const lt_link *x = &a->links.items[i], *y = &b->links.items[i];
        assert_memory_equal(x->trace_id, y->trace_id, 16);
        assert_memory_equal(x->span_id, y->span_id, 8);
        eq_str(x->trace_state, y->trace_state);
        eq_attrs(&x->attrs, &y->attrs);
        assert_int_equal(x->dropped_attributes_count, y->dropped_attributes_count);
        assert_int_equal(x->flags, y->flags);
    }
    assert_int_equal(a->dropped_links_count, b->dropped_links_count);
    eq_str(a->status_message, b->status_message);
    assert_int_equal(a->status_code, b->status_code);
    assert_int_equal(a->flags, b->flags);
}

static void eq_traces(const lt_trace_batch *a, const lt_trace_batch *b)
{
    assert_int_equal(a->n_rs, b->n_rs);
    assert_int_equal(a->n_spans, b->n_spans);
    for (uint32_t i = 0; i < a->n_rs; i++) {
        const lt_resource_spans *x = &a->rs[i], *y = &b->rs[i];
        eq_resource(&x->resource, &y->resource);
        eq_str(x->schema_url, y->schema_url);
        assert_int_equal(x->n_scopes, y->n_scopes);
        for (uint32_t j = 0; j < x->n_scopes; j++) {
            const lt_scope_spans *p = &x->scopes[j], *q = &y->scopes[j];
            eq_scope(&p->scope, &q->scope);
            eq_str(p->schema_url, q->schema_url);
            assert_int_equal(p->n_spans, q->n_spans);
            for (uint32_t k = 0; k < p->n_spans; k++)
                eq_span(&p->spans[k], &q->spans[k]);
        }
    }
}

static void eq_log_record(const lt_log_record *a, const lt_log_record *b)
{
    assert_int_equal(a->time_unix_nano, b->time_unix_nano);
    assert_int_equal(a->observed_time_unix_nano, b->observed_time_unix_nano);
    assert_int_equal(a->severity_number, b->severity_number);
    eq_str(a->severity_text, b->severity_text);
    eq_value(&a->body, &b->body);
    eq_attrs(&a->attrs, &b->attrs);
    assert_int_equal(a->dropped_attributes_count, b->dropped_attributes_count);
    assert_int_equal(a->flags, b->flags);
    assert_memory_equal(a->trace_id, b->trace_id, 16);
    assert_memory_equal(a->span_id, b->span_id, 8);
    eq_str(a->event_name, b->event_name);
}

static void eq_logs(const lt_log_batch *a, const lt_log_batch *b)
{
    assert_int_equal(a->n_rl, b->n_rl);
    assert_int_equal(a->n_records, b->n_records);
    for (uint32_t i = 0; i < a->n_rl; i++) {
        const lt_resource_logs *x = &a->rl[i], *y = &b->rl[i];
        eq_resource(&x->resource, &y->resource);
        eq_str(x->schema_url, y->schema_url);
        assert_int_equal(x->n_scopes, y->n_scopes);
        for (uint32_t j = 0; j < x->n_scopes; j++) {
            const lt_scope_logs *p = &x->scopes[j], *q = &y->scopes[j];
            eq_scope(&p->scope, &q->scope);
            eq_str(p->schema_url, q->schema_url);
            assert_int_equal(p->n_records, q->n_records);
            for (uint32_t k = 0; k < p->n_records; k++)
                eq_log_record(&p->records[k], &q->records[k]);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* expected.json                                                                        */
/* ------------------------------------------------------------------------------------ */

/* A decoded span with the resource and scope it came with. */
typedef struct {
    const lt_span *s;
    const lt_resource *r;
    const lt_scope *sc;
} span_ref;

/* {"string":..} {"int":..} {"double":..} {"bool":..} {"array":[..]} {"kvlist":{..}} */
static bool match_typed(json_t *j, const lt_value *v)
{
    const char *k;
    json_t *x;
    json_object_foreach(j, k, x)
    {
        if (!strcmp(k, "string"))
            return v->type == LT_VAL_STRING && lt_str_eq_c(v->u.s, json_string_value(x));
        if (!strcmp(k, "int"))
            return v->type == LT_VAL_INT && json_is_integer(x) && v->u.i == json_integer_value(x);
        if (!strcmp(k, "double"))
            return v->type == LT_VAL_DOUBLE && fabs(v->u.d - json_number_value(x)) < 1e-12;
        if (!strcmp(k, "bool")) return v->type == LT_VAL_BOOL && v->u.b == json_is_true(x);
        if (!strcmp(k, "array")) {
            if (v->type != LT_VAL_ARRAY || v->u.arr.n != json_array_size(x)) return false;
            for (uint32_t i = 0; i < v->u.arr.n; i++)
                if (!match_typed(json_array_get(x, i), &v->u.arr.items[i])) return false;
            return true;
        }
        if (!strcmp(k, "kvlist")) {
            if (v->type != LT_VAL_KVLIST || v->u.kv.n != json_object_size(x)) return false;
            const char *kk;
            json_t *xx;
            json_object_foreach(x, kk, xx)
            {
                const lt_value *e = model_attr_get(&v->u.kv, lt_str_c(kk));
                if (!e || !match_typed(xx, e)) return false;
            }
            return true;
        }
        return false;
    }
    return false;
}

/* Plain JSON (log bodies and attributes in expected.json) against an AnyValue. */
static bool match_plain(json_t *j, const lt_value *v)
{
    switch (json_typeof(j)) {
    case JSON_STRING:
        return v->type == LT_VAL_STRING && lt_str_eq_c(v->u.s, json_string_value(j));
    case JSON_INTEGER:
        return v->type == LT_VAL_INT && v->u.i == json_integer_value(j);
    case JSON_REAL:
        return v->type == LT_VAL_DOUBLE && fabs(v->u.d - json_real_value(j)) < 1e-12;
    case JSON_TRUE:
    case JSON_FALSE:
        return v->type == LT_VAL_BOOL && v->u.b == json_is_true(j);
    case JSON_NULL:
        return v->type == LT_VAL_EMPTY;
    case JSON_ARRAY:
        if (v->type != LT_VAL_ARRAY || v->u.arr.n != json_array_size(j)) return false;
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (!match_plain(json_array_get(j, i), &v->u.arr.items[i])) return false;
        return true;
    case JSON_OBJECT: {
        if (v->type != LT_VAL_KVLIST || v->u.kv.n != json_object_size(j)) return false;
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x)
        {
            const lt_value *e = model_attr_get(&v->u.kv, lt_str_c(k));
            if (!e || !match_plain(x, e)) return false;
        }
        return true;
    }
    }
    return false;
}

static uint32_t kind_of(const char *s)
{
    static const char *names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                  "CLIENT",      "PRODUCER", "CONSUMER"};
    for (uint32_t i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) return i;
    fail_msg("unknown kind %s", s);
    return 0;
}

static uint32_t status_of(const char *s)
{
    if (!strcmp(s, "UNSET")) return LT_STATUS_UNSET;
    if (!strcmp(s, "OK")) return LT_STATUS_OK;
    if (!strcmp(s, "ERROR")) return LT_STATUS_ERROR;
    fail_msg("unknown status %s", s);
    return 0;
}

/* Does decoded span r show everything the expected span js lists? */
static bool span_matches(json_t *js, const span_ref *r)
{
    const lt_span *s = r->s;
    if (!lt_str_eq_c(s->name, json_string_value(json_object_get(js, "name")))) return false;
    if (s->kind != kind_of(json_string_value(json_object_get(js, "kind")))) return false;
    if (s->status_code != status_of(json_string_value(json_object_get(js, "status")))) return false;
    json_t *sm = json_object_get(js, "status_message");
    if (json_is_string(sm) && !lt_str_eq_c(s->status_message, json_string_value(sm))) return false;
    json_t *svc = json_object_get(js, "service_name");
    if (json_is_string(svc) && !lt_str_eq_c(model_service_name(r->r), json_string_value(svc)))
        return false;
    json_t *sc = json_object_get(js, "scope");
    if (json_is_string(sc) && !lt_str_eq_c(r->sc->name, json_string_value(sc))) return false;
    json_t *attrs = json_object_get(js, "attributes");
    if (json_is_object(attrs)) {
        if (json_object_size(attrs) != s->attrs.n) return false;
        const char *k;
        json_t *x;
        json_object_foreach(attrs, k, x)
        {
            const lt_value *v = model_attr_get(&s->attrs, lt_str_c(k));
            if (!v || !match_typed(x, v)) return false;
        }
    }
    json_t *evs = json_object_get(js, "events");
    if (json_is_array(evs)) {
        if (json_array_size(evs) != s->events.n) return false;
        for (uint32_t i = 0; i < s->events.n; i++) {
            json_t *ev = json_array_get(evs, i);
            const lt_event *e = &s->events.items[i];
            if (!lt_str_eq_c(e->name, json_string_value(json_object_get(ev, "name")))) return false;
            json_t *keys = json_object_get(ev, "attribute_keys");
            if (json_array_size(keys) != e->attrs.n) return false;
            for (uint32_t k = 0; k < e->attrs.n; k++)
                if (!lt_str_eq_c(e->attrs.items[k].key, json_string_value(json_array_get(keys, k))))
                    return false;
        }
    }
    return true;
}

static bool log_matches(json_t *jl, const lt_log_record *r, const span_ref *spans, size_t n_spans,
                        bool have_spans)
{
    /* event name: the event_name field (12) or, in older senders, the attribute */
    const char *want_ev = json_string_value(json_object_get(jl, "event_name"));
    if (want_ev) {
        const lt_value *ev = model_attr_get(&r->attrs, LT_STR("event.name"));
        bool by_attr = ev && ev->type == LT_VAL_STRING && lt_str_eq_c(ev->u.s, want_ev);
        if (!by_attr && !lt_str_eq_c(r->event_name, want_ev)) return false;
    }
    json_t *keys = json_object_get(jl, "attribute_keys");
    if (json_is_array(keys)) {
        if (json_array_size(keys) != r->attrs.n) return false;
        for (uint32_t k = 0; k < r->attrs.n; k++)
            if (!lt_str_eq_c(r->attrs.items[k].key, json_string_value(json_array_get(keys, k))))
                return false;
    }
    json_t *attrs = json_object_get(jl, "attributes");
    if (json_is_object(attrs)) {
        if (json_object_size(attrs) != r->attrs.n) return false;
        const char *k;
        json_t *x;
        json_object_foreach(attrs, k, x)
        {
            const lt_value *v = model_attr_get(&r->attrs, lt_str_c(k));
            if (!v || !match_plain(x, v)) return false;
        }
    }
    json_t *body = json_object_get(jl, "body");
    if (body && !match_plain(body, &r->body)) return false;
    if (strcmp(json_string_value(json_object_get(jl, "severity")), "SEVERITY_NUMBER_INFO") == 0 &&
        r->severity_number != 9)
        return false;
    /* the span it belongs to, by trace and span id */
    json_t *sp = json_object_get(jl, "span");
    if (have_spans && json_is_string(sp)) {
        for (size_t i = 0; i < n_spans; i++) {
            const lt_span *s = spans[i].s;
            if (!memcmp(s->trace_id, r->trace_id, 16) && !memcmp(s->span_id, r->span_id, 8))
                return lt_str_eq_c(s->name, json_string_value(sp));
        }
        return false;
    }
    return true;
}

typedef struct {
    int folders, spans, logs, typed_checks;
} expect_stats;

static void check_folder(const char *dir, void *vctx)
{
    expect_stats *st = vctx;
    fixture files[MAX_FILES];
    size_t nf = list_folder(dir, files, MAX_FILES);
    if (!nf) return; /* a JSON-only folder */
    char ep[1800];
    snprintf(ep, sizeof ep, "%s/expected.json", dir);
    json_error_t jerr;
    json_t *exp = json_load_file(ep, 0, &jerr);
    assert_non_null(exp);

    lt_arena *a = arena_new();
    assert_non_null(a);
    span_ref *spans = calloc(4096, sizeof *spans);
    const lt_log_record **logs = calloc(4096, sizeof *logs);
    size_t n_spans = 0, n_logs = 0;
    bool have_traces = false, have_logs = false;
    for (size_t i = 0; i < nf; i++) {
        if (files[i].logs) {
            lt_log_batch *b = arena_alloc(a, sizeof *b);
            int rc = pb_decode_logs(a, files[i].data, files[i].len, b);
            if (rc) fail_msg("%s: %s", files[i].path, lt_strerror(rc));
            have_logs = true;
            uint64_t cnt = 0;
            for (uint32_t r = 0; r < b->n_rl; r++)
                for (uint32_t s = 0; s < b->rl[r].n_scopes; s++)
                    for (uint32_t k = 0; k < b->rl[r].scopes[s].n_records; k++, cnt++)
                        logs[n_logs++] = &b->rl[r].scopes[s].records[k];
            assert_int_equal(cnt, b->n_records);
        } else {
            lt_trace_batch *b = arena_alloc(a, sizeof *b);
            int rc = pb_decode_traces(a, files[i].data, files[i].len, b);
            if (rc) fail_msg("%s: %s", files[i].path, lt_strerror(rc));
            have_traces = true;
            assert_int_equal(b->rejected, 0);
            uint64_t cnt = 0;
            for (uint32_t r = 0; r < b->n_rs; r++)
                for (uint32_t s = 0; s < b->rs[r].n_scopes; s++)
                    for (uint32_t k = 0; k < b->rs[r].scopes[s].n_spans; k++, cnt++)
                        spans[n_spans++] =
                            (span_ref){&b->rs[r].scopes[s].spans[k], &b->rs[r].resource,
                                       &b->rs[r].scopes[s].scope};
            assert_int_equal(cnt, b->n_spans);
        }
        assert_true(n_spans < 4000 && n_logs < 4000);
    }

    if (have_traces) {
        assert_int_equal(n_spans, json_integer_value(json_object_get(exp, "span_count")));
        /* span_name_counts */
        const char *name;
        json_t *cnt;
        json_object_foreach(json_object_get(exp, "span_name_counts"), name, cnt)
        {
            json_int_t c = 0;
            for (size_t i = 0; i < n_spans; i++)
                c += lt_str_eq_c(spans[i].s->name, name);
            if (c != json_integer_value(cnt))
                fail_msg("%s: span %s count %lld", dir, name, (long long)c);
        }
        /* every listed span is found with its kind, status, resource, scope, typed
         * attribute values and events; each decoded span matches at most once */
        bool *used = calloc(n_spans + 1, 1);
        json_t *js;
        size_t idx;
        json_array_foreach(json_object_get(exp, "spans"), idx, js)
        {
            bool found = false;
            for (size_t i = 0; i < n_spans && !found; i++)
                if (!used[i] && span_matches(js, &spans[i])) used[i] = found = true;
            if (!found)
                fail_msg("%s: no decoded span matches expected span %zu (%s)", dir, idx,
                         json_string_value(json_object_get(js, "name")));
            if (json_is_object(json_object_get(js, "attributes")))
                st->typed_checks += (int)json_object_size(json_object_get(js, "attributes"));
        }
        free(used);
        /* ids: every kept span has both, parents are 8 bytes or absent */
        for (size_t i = 0; i < n_spans; i++) {
            assert_false(model_id_is_zero(spans[i].s->trace_id, 16));
            assert_false(model_id_is_zero(spans[i].s->span_id, 8));
        }
    }
    if (have_logs) {
        assert_int_equal(n_logs, json_integer_value(json_object_get(exp, "log_record_count")));
        bool *used = calloc(n_logs + 1, 1);
        json_t *jl;
        size_t idx;
        json_array_foreach(json_object_get(exp, "logs"), idx, jl)
        {
            bool found = false;
            for (size_t i = 0; i < n_logs && !found; i++)
                if (!used[i] && log_matches(jl, logs[i], spans, n_spans, have_traces))
                    used[i] = found = true;
            if (!found) fail_msg("%s: no decoded log record matches expected log %zu", dir, idx);
        }
        free(used);
    }
    st->folders++;
    st->spans += (int)n_spans;
    st->logs += (int)n_logs;
    free(spans);
    free(logs);
    arena_free(a);
    json_decref(exp);
    for (size_t i = 0; i < nf; i++)
        free(files[i].data);
}

static void test_fixtures_expected(void **state)
{
    (void)state;
    expect_stats st = {0};
    fx_each(check_folder, &st);
    print_message("expected.json: %d folders with protobuf captures, %d spans, %d log records, "
                  "%d typed attribute values checked\n",
                  st.folders, st.spans, st.logs, st.typed_checks);
    /* 48 folders, 16 of them JSON only */
    assert_true(st.folders >= 32);
    assert_true(st.spans >= 900);
    assert_true(st.logs > 1000);
    assert_true(st.typed_checks > 300);
}

/* A few typed values read straight from known spans. */
static void test_fixture_typed_values(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/otlp/otel/single-chat-proto/0004-traces.pb", LT_FIXTURES);
    size_t n;
    uint8_t *d = fx_read(path, &n);
    assert_non_null(d);
    lt_arena *a = arena_new();
    lt_trace_batch b;
    assert_int_equal(pb_decode_traces(a, d, n, &b), 0);
    assert_int_equal(b.n_spans, 1);
    const lt_span *s = &b.rs[0].scopes[0].spans[0];
    assert_true(lt_str_eq_c(s->name, "chat gpt-4o-mini"));
    assert_int_equal(s->kind, LT_KIND_CLIENT);
    assert_false(s->has_parent);
    assert_true(s->start_time_unix_nano > 1600000000000000000ull);
    assert_true(s->end_time_unix_nano >= s->start_time_unix_nano);
    const lt_value *v = model_attr_get(&s->attrs, LT_STR("server.port"));
    assert_non_null(v);
    assert_int_equal(v->type, LT_VAL_INT);
    assert_int_equal(v->u.i, 18089);
    v = model_attr_get(&s->attrs, LT_STR("gen_ai.request.temperature"));
    assert_non_null(v);
    assert_int_equal(v->type, LT_VAL_DOUBLE);
    assert_true(v->u.d == 0.2);
    v = model_attr_get(&s->attrs, LT_STR("gen_ai.response.finish_reasons"));
    assert_non_null(v);
    assert_int_equal(v->type, LT_VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 1);
    assert_int_equal(v->u.arr.items[0].type, LT_VAL_STRING);
    assert_true(lt_str_eq_c(v->u.arr.items[0].u.s, "stop"));
    assert_true(lt_str_eq_c(model_service_name(&b.rs[0].resource), "fixture-otel"));
    assert_true(lt_str_eq_c(b.rs[0].scopes[0].scope.name, "@opentelemetry/instrumentation-openai"));
    assert_true(lt_str_eq_c(b.rs[0].scopes[0].scope.version, "0.22.0"));
    arena_free(a);
    free(d);

    /* a log record: GenAI event with a kvlist body and trace context */
    snprintf(path, sizeof path, "%s/otlp/otel/single-chat-proto/0001-logs.pb", LT_FIXTURES);
    d = fx_read(path, &n);
    assert_non_null(d);
    a = arena_new();
    lt_log_batch lb;
    assert_int_equal(pb_decode_logs(a, d, n, &lb), 0);
    assert_int_equal(lb.n_records, 1);
    const lt_log_record *r = &lb.rl[0].scopes[0].records[0];
    assert_int_equal(r->severity_number, 9);
    assert_int_equal(r->body.type, LT_VAL_KVLIST);
    assert_false(model_id_is_zero(r->trace_id, 16));
    assert_false(model_id_is_zero(r->span_id, 8));
    assert_true(r->time_unix_nano || r->observed_time_unix_nano);
    arena_free(a);
    free(d);
}

/* ------------------------------------------------------------------------------------ */
/* Round trip                                                                           */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    int files, identical_to_input;
} rt_stats;

static void roundtrip_one(const fixture *f, void *vctx)
{
    rt_stats *st = vctx;
    lt_arena *a = arena_new();
    lt_buf e1 = {0}, e2 = {0}, inner = {0};
    if (f->logs) {
        lt_log_batch b1, b2;
        assert_int_equal(pb_decode_logs(a, f->data, f->len, &b1), 0);
        assert_int_equal(pb_encode_logs(&e1, &b1), 0);
        assert_int_equal(pb_decode_logs(a, (uint8_t *)e1.data, e1.len, &b2), 0);
        eq_logs(&b1, &b2);
        assert_int_equal(pb_encode_logs(&e2, &b2), 0);
        /* inner messages on their own, as the store keeps them */
        for (uint32_t i = 0; i < b1.n_rl; i++) {
            lt_resource r;
            buf_reset(&inner);
            assert_int_equal(pb_encode_resource(&inner, &b1.rl[i].resource), 0);
            assert_int_equal(pb_decode_resource(a, (uint8_t *)inner.data, inner.len, &r), 0);
            eq_resource(&b1.rl[i].resource, &r);
            for (uint32_t j = 0; j < b1.rl[i].n_scopes; j++) {
                const lt_scope_logs *sl = &b1.rl[i].scopes[j];
                lt_scope sc;
                buf_reset(&inner);
                assert_int_equal(pb_encode_scope(&inner, &sl->scope), 0);
                assert_int_equal(pb_decode_scope(a, (uint8_t *)inner.data, inner.len, &sc), 0);
                eq_scope(&sl->scope, &sc);
                for (uint32_t k = 0; k < sl->n_records; k++) {
                    lt_log_record lr;
                    buf_reset(&inner);
                    assert_int_equal(pb_encode_log_record(&inner, &sl->records[k]), 0);
                    assert_int_equal(pb_decode_log_record(a, (uint8_t *)inner.data, inner.len, &lr),
                                     0);
                    eq_log_record(&sl->records[k], &lr);
                }
            }
        }
    } else {
        lt_trace_batch b1, b2;
        assert_int_equal(pb_decode_traces(a, f->data, f->len, &b1), 0);
        assert_int_equal(pb_encode_traces(&e1, &b1), 0);
        assert_int_equal(pb_decode_traces(a, (uint8_t *)e1.data, e1.len, &b2), 0);
        eq_traces(&b1, &b2);
        assert_int_equal(pb_encode_traces(&e2, &b2), 0);
        for (uint32_t i = 0; i < b1.n_rs; i++)
            for (uint32_t j = 0; j < b1.rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < b1.rs[i].scopes[j].n_spans; k++) {
                    const lt_span *s = &b1.rs[i].scopes[j].spans[k];
                    lt_span sp;
                    buf_reset(&inner);
                    assert_int_equal(pb_encode_span(&inner, s), 0);
                    assert_int_equal(pb_decode_span(a, (uint8_t *)inner.data, inner.len, &sp), 0);
                    eq_span(s, &sp);
                }
    }
    assert_int_equal(e1.len, e2.len);
    assert_memory_equal(e1.data, e2.data, e1.len);
    st->files++;
    if (e1.len == f->len && !memcmp(e1.data, f->data, f->len)) st->identical_to_input++;
    buf_free(&e1);
    buf_free(&e2);
    buf_free(&inner);
    arena_free(a);
}

static void test_fixtures_roundtrip(void **state)
{
    (void)state;
    rt_stats st = {0};
    for_each_fixture(roundtrip_one, &st);
    print_message("round trip: %d fixtures, %d re-encode byte for byte as sent\n", st.files,
                  st.identical_to_input);
}

/* ------------------------------------------------------------------------------------ */
/* Truncation                                                                           */
/* ------------------------------------------------------------------------------------ */

/* Decodes data[0..n) from an exact-size heap copy (so ASan sees any overread); returns
 * the result code after checking a success is a stable, re-encodable model. */
static int decode_prefix(lt_arena *a, const uint8_t *data, size_t n, bool logs)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    int rc;
    lt_buf e1 = {0}, e2 = {0};
    arena_reset(a);
    if (logs) {
        lt_log_batch b, b2;
        rc = pb_decode_logs(a, copy, n, &b);
        if (rc == 0) {
            assert_int_equal(pb_encode_logs(&e1, &b), 0);
            assert_int_equal(pb_decode_logs(a, (uint8_t *)e1.data, e1.len, &b2), 0);
            eq_logs(&b, &b2);
            assert_int_equal(pb_encode_logs(&e2, &b2), 0);
        }
    } else {
        lt_trace_batch b, b2;
        rc = pb_decode_traces(a, copy, n, &b);
        if (rc == 0) {
            assert_int_equal(pb_encode_traces(&e1, &b), 0);
            assert_int_equal(pb_decode_traces(a, (uint8_t *)e1.data, e1.len, &b2), 0);
            eq_traces(&b, &b2);
            assert_int_equal(pb_encode_traces(&e2, &b2), 0);
        }
    }
    assert_int_equal(e1.len, e2.len);
    if (e1.len) assert_memory_equal(e1.data, e2.data, e1.len);
    buf_free(&e1);
    buf_free(&e2);
    free(copy);
    return rc;
}

typedef struct {
    long decodes, ok, einval;
} trunc_stats;

static void truncate_one(const fixture *f, void *vctx)
{
    trunc_stats *st = vctx;
    lt_arena *a = arena_new();
    /* every offset of the small captures; a stride through the big ones */
    size_t step = f->len <= 16384 ? 1 : f->len / 4096 + 1;
    for (size_t k = 0; k < f->len; k += step) {
        int rc = decode_prefix(a, f->data, k, f->logs);
        if (rc != 0 && rc != LT_EINVAL) fail_msg("%s cut at %zu: %s", f->path, k, lt_strerror(rc));
        assert_int_equal(decode_prefix(a, f->data, k, f->logs), rc); /* deterministic */
        st->decodes++;
        st->ok += rc == 0;
        st->einval += rc == LT_EINVAL;
    }
    arena_free(a);
}

static void test_truncation(void **state)
{
    (void)state;
    trunc_stats st = {0};
    for_each_fixture(truncate_one, &st);
    assert_true(st.einval > st.ok); /* most cuts land inside a field */
    print_message("truncation: %ld prefixes, %ld decode (cut at a field boundary), %ld EINVAL\n",
                  st.decodes, st.ok, st.einval);
}

/* Every byte of the small captures replaced by 0x00, 0x80 and 0xff in turn: never a
 * crash, only the documented errors, and a success is a stable model. */
static void mutate_one(const fixture *f, void *vctx)
{
    long *count = vctx;
    if (f->len > 4096) return;
    static const uint8_t subst[] = {0x00, 0x80, 0xff};
    uint8_t *m = malloc(f->len);
    lt_arena *a = arena_new();
    for (size_t k = 0; k < f->len; k++) {
        for (size_t j = 0; j < sizeof subst; j++) {
            memcpy(m, f->data, f->len);
            m[k] = subst[j];
            int rc = decode_prefix(a, m, f->len, f->logs);
            if (rc != 0 && rc != LT_EINVAL && rc != LT_ETOOBIG)
                fail_msg("%s byte %zu = %02x: %s", f->path, k, subst[j], lt_strerror(rc));
            (*count)++;
        }
    }
    arena_free(a);
    free(m);
}

static void test_byte_mutation(void **state)
{
    (void)state;
    long count = 0;
    for_each_fixture(mutate_one, &count);
    assert_true(count > 10000);
}

/* ------------------------------------------------------------------------------------ */
/* Hand-built messages                                                                  */
/* ------------------------------------------------------------------------------------ */

/* A tiny protobuf writer for building test inputs, independent of the encoder under
 * test except for pb_put_varint (tested on its own below). */
static void w_varint(lt_buf *b, uint64_t v)
{
    assert_int_equal(pb_put_varint(b, v), 0);
}

static void w_tag(lt_buf *b, uint32_t field, int wt)
{
    w_varint(b, ((uint64_t)field << 3) | (uint64_t)wt);
}

static void w_len(lt_buf *b, uint32_t field, const void *p, size_t n)
{
    w_tag(b, field, 2);
    w_varint(b, n);
    assert_int_equal(buf_append(b, p, n), 0);
}

static void w_str(lt_buf *b, uint32_t field, const char *s)
{
    w_len(b, field, s, strlen(s));
}

static void w_buf(lt_buf *b, uint32_t field, const lt_buf *m)
{
    w_len(b, field, m->data, m->len);
}

static void w_uint(lt_buf *b, uint32_t field, uint64_t v)
{
    w_tag(b, field, 0);
    w_varint(b, v);
}

static void w_fixed64(lt_buf *b, uint32_t field, uint64_t v)
{
    w_tag(b, field, 1);
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, x, 8);
}

static void w_fixed32(lt_buf *b, uint32_t field, uint32_t v)
{
    w_tag(b, field, 5);
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, x, 4);
}

static const uint8_t TID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SID[8] = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11};
static const uint8_t ZERO[16] = {0};

/* KeyValue{key, AnyValue{string_value}} */
static void w_attr_str(lt_buf *b, uint32_t field, const char *k, const char *v)
{
    lt_buf kv = {0}, av = {0};
    w_str(&av, 1, v);
    w_str(&kv, 1, k);
    w_buf(&kv, 2, &av);
    w_buf(b, field, &kv);
    buf_free(&kv);
    buf_free(&av);
}

/* A valid span with ids, name and one attribute. */
static void w_span(lt_buf *s, const char *name)
{
    w_len(s, 1, TID, 16);
    w_len(s, 2, SID, 8);
    w_str(s, 5, name);
    w_attr_str(s, 9, "k", "v");
}

/* ExportTraceServiceRequest{ResourceSpans{scope_spans(field sf){spans...}}} */
static void wrap_spans(lt_buf *req, const lt_buf *spans_field_bytes, uint32_t sf)
{
    lt_buf ss = {0}, rs = {0};
    buf_append(&ss, spans_field_bytes->data, spans_field_bytes->len);
    w_buf(&rs, sf, &ss);
    w_buf(req, 1, &rs);
    buf_free(&ss);
    buf_free(&rs);
}

/* A request holding one span message (given as its bytes). */
static void request_with_span(lt_buf *req, const lt_buf *span)
{
    lt_buf f = {0};
    w_buf(&f, 2, span);
    wrap_spans(req, &f, 2);
    buf_free(&f);
}

static int decode_traces_buf(lt_arena *a, const lt_buf *b, lt_trace_batch *out)
{
    /* exact-size heap copy: ASan catches reads past the end */
    uint8_t *copy = malloc(b->len ? b->len : 1);
    memcpy(copy, b->data, b->len);
    int rc = pb_decode_traces(a, copy, b->len, out);
    /* strings point into copy: keep it alive with the arena when decoding succeeded */
    if (rc == 0) {
        uint8_t *keep = arena_alloc(a, b->len ? b->len : 1);
        memcpy(keep, copy, b->len);
        free(copy);
        rc = pb_decode_traces(a, keep, b->len, out);
    } else {
        free(copy);
    }
    return rc;
}

static int span_rc(const lt_buf *span)
{
    lt_buf req = {0};
    request_with_span(&req, span);
    lt_arena *a = arena_new();
    lt_trace_batch b;
    int rc = decode_traces_buf(a, &req, &b);
    arena_free(a);
    buf_free(&req);
    return rc;
}

static void test_minimal_span(void **state)
{
    (void)state;
    lt_buf sp = {0}, req = {0};
    w_span(&sp, "hello");
    w_len(&sp, 4, SID, 8);
    w_uint(&sp, 6, LT_KIND_SERVER);
    w_fixed64(&sp, 7, 1000);
    w_fixed64(&sp, 8, 2000);
    w_fixed32(&sp, 16, 0x301);
    request_with_span(&req, &sp);
    lt_arena *a = arena_new();
    lt_trace_batch b;
    assert_int_equal(decode_traces_buf(a, &req, &b), 0);
    assert_int_equal(b.n_spans, 1);
    assert_int_equal(b.rejected, 0);
    assert_int_equal(b.reject_reason.len, 0);
    const lt_span *s = &b.rs[0].scopes[0].spans[0];
    assert_memory_equal(s->trace_id, TID, 16);
    assert_memory_equal(s->span_id, SID, 8);
    assert_true(s->has_parent);
    assert_memory_equal(s->parent_span_id, SID, 8);
    assert_true(lt_str_eq_c(s->name, "hello"));
    assert_int_equal(s->kind, LT_KIND_SERVER);
    assert_int_equal(s->start_time_unix_nano, 1000);
    assert_int_equal(s->end_time_unix_nano, 2000);
    assert_int_equal(s->flags, 0x301);
    assert_int_equal(s->attrs.n, 1);
    assert_true(lt_str_eq_c(s->attrs.items[0].key, "k"));
    /* the encoder writes exactly the canonical bytes a hand-written encoder would */
    lt_buf e = {0};
    assert_int_equal(pb_encode_span(&e, s), 0);
    lt_buf want = {0};
    w_len(&want, 1, TID, 16);
    w_len(&want, 2, SID, 8);
    w_len(&want, 4, SID, 8);
    w_str(&want, 5, "hello");
    w_uint(&want, 6, LT_KIND_SERVER);
    w_fixed64(&want, 7, 1000);
    w_fixed64(&want, 8, 2000);
    w_attr_str(&want, 9, "k", "v");
    w_fixed32(&want, 16, 0x301);
    assert_int_equal(e.len, want.len);
    assert_memory_equal(e.data, want.data, e.len);
    arena_free(a);
    buf_free(&sp);
    buf_free(&req);
    buf_free(&e);
    buf_free(&want);
}

static void test_empty_inputs(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch b;
    lt_log_batch lb;
    uint8_t dummy = 0;
    assert_int_equal(pb_decode_traces(a, &dummy, 0, &b), 0);
    assert_int_equal(b.n_rs, 0);
    assert_int_equal(b.n_spans, 0);
    assert_int_equal(pb_decode_logs(a, &dummy, 0, &lb), 0);
    assert_int_equal(lb.n_rl, 0);
    /* no buffer at all */
    assert_int_equal(pb_decode_traces(a, NULL, 0, &b), 0);
    assert_int_equal(pb_decode_logs(a, NULL, 0, &lb), 0);
    lt_span s;
    lt_log_record r;
    lt_resource res;
    lt_scope sc;
    assert_int_equal(pb_decode_span(a, NULL, 0, &s), 0);
    assert_int_equal(pb_decode_log_record(a, NULL, 0, &r), 0);
    assert_int_equal(pb_decode_resource(a, NULL, 0, &res), 0);
    assert_int_equal(pb_decode_scope(a, NULL, 0, &sc), 0);
    assert_true(model_id_is_zero(s.trace_id, 16));
    assert_int_equal(r.body.type, LT_VAL_EMPTY);
    /* an empty ResourceSpans and an empty ScopeSpans */
    const uint8_t two[] = {0x0a, 0x02, 0x12, 0x00};
    assert_int_equal(pb_decode_traces(a, two, sizeof two, &b), 0);
    assert_int_equal(b.n_rs, 1);
    assert_int_equal(b.rs[0].n_scopes, 1);
    assert_int_equal(b.rs[0].scopes[0].n_spans, 0);
    lt_buf e = {0};
    assert_int_equal(pb_encode_traces(&e, &b), 0);
    assert_int_equal(e.len, sizeof two);
    assert_memory_equal(e.data, two, sizeof two);
    buf_free(&e);
    arena_free(a);
}

static void test_wrong_wire_types(void **state)
{
    (void)state;
    /* each known Span field with every other wire type */
    static const int wt_of[17] = {0, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5};
    for (uint32_t field = 1; field <= 16; field++) {
        for (int wt = 0; wt <= 5; wt++) {
            if (wt == wt_of[field] || wt == 3 || wt == 4) continue;
            lt_buf sp = {0};
            w_span(&sp, "x");
            w_tag(&sp, field, wt);
            switch (wt) {
            case 0:
                w_varint(&sp, 1);
                break;
            case 1:
                buf_append(&sp, "12345678", 8);
                break;
            case 2:
                w_varint(&sp, 1);
                buf_append(&sp, "z", 1);
                break;
            case 5:
                buf_append(&sp, "1234", 4);
                break;
            }
            if (span_rc(&sp) != LT_EINVAL)
                fail_msg("span field %u wire type %d accepted", field, wt);
            buf_free(&sp);
        }
    }
    /* the same rule one level down: AnyValue.int_value as LEN, KeyValue.key as varint,
     * Event.time as varint, Link.flags as fixed64, Status.code as LEN */
    lt_buf sp = {0}, m = {0}, av = {0};
    w_span(&sp, "x");
    w_len(&av, 3, "ab", 2);
    w_buf(&m, 2, &av);
    w_buf(&sp, 9, &m);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp), buf_reset(&m);
    w_span(&sp, "x");
    w_uint(&m, 1, 7);
    w_buf(&sp, 9, &m);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp), buf_reset(&m);
    w_span(&sp, "x");
    w_uint(&m, 1, 7);
    w_buf(&sp, 11, &m);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp), buf_reset(&m);
    w_span(&sp, "x");
    w_fixed64(&m, 6, 7);
    w_buf(&sp, 13, &m);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp), buf_reset(&m);
    w_span(&sp, "x");
    w_len(&m, 3, "x", 1);
    w_buf(&sp, 15, &m);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    /* every field of LogRecord, InstrumentationScope and Resource, decoded on their own */
    static const struct {
        int msg; /* 0 LogRecord, 1 InstrumentationScope, 2 Resource */
        uint32_t field;
        int wt;
    } known[] = {
        {0, 1, 1}, {0, 2, 0}, {0, 3, 2},  {0, 5, 2},  {0, 6, 2},  {0, 7, 0},
        {0, 8, 5}, {0, 9, 2}, {0, 10, 2}, {0, 11, 1}, {0, 12, 2}, {1, 1, 2},
        {1, 2, 2}, {1, 3, 2}, {1, 4, 0},  {2, 1, 2},  {2, 2, 0},  {2, 3, 2},
    };
    lt_arena *ka = arena_new();
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        for (int wt = 0; wt <= 5; wt++) {
            if (wt == 3 || wt == 4) continue;
            lt_buf mb = {0};
            w_tag(&mb, known[i].field, wt);
            switch (wt) {
            case 0:
                w_varint(&mb, 1);
                break;
            case 1:
                buf_append(&mb, "12345678", 8);
                break;
            case 2:
                w_varint(&mb, 0);
                break;
            case 5:
                buf_append(&mb, "1234", 4);
                break;
            }
            lt_log_record lr;
            lt_scope sc;
            lt_resource res;
            const uint8_t *d = (const uint8_t *)mb.data;
            int rc = known[i].msg == 0   ? pb_decode_log_record(ka, d, mb.len, &lr)
                     : known[i].msg == 1 ? pb_decode_scope(ka, d, mb.len, &sc)
                                         : pb_decode_resource(ka, d, mb.len, &res);
            int want = wt == known[i].wt ? 0 : LT_EINVAL;
            if (rc != want)
                fail_msg("message %d field %u wire type %d: %d", known[i].msg, known[i].field, wt,
                         rc);
            buf_free(&mb);
        }
    }
    arena_free(ka);
    /* ResourceSpans field 1000 as varint; request field 1 as varint */
    lt_arena *a = arena_new();
    lt_trace_batch b;
    lt_buf req = {0}, rs = {0};
    w_uint(&rs, 1000, 1);
    w_buf(&req, 1, &rs);
    assert_int_equal(decode_traces_buf(a, &req, &b), LT_EINVAL);
    buf_reset(&req);
    w_uint(&req, 1, 1);
    assert_int_equal(decode_traces_buf(a, &req, &b), LT_EINVAL);
    arena_free(a);
    buf_free(&sp), buf_free(&m), buf_free(&av), buf_free(&req), buf_free(&rs);
}

static void test_malformed_framing(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch b;
    lt_log_batch lb;
    struct {
        const char *what;
        uint8_t bytes[16];
        size_t n;
    } cases[] = {
        {"length past end", {0x0a, 0x05, 0x12, 0x00}, 4},
        {"huge length", {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6},
        {"varint cut", {0x0a, 0x80}, 2},
        {"tag cut", {0x80}, 1},
        {"field 0", {0x02, 0x00}, 2},
        {"group start", {0x0b}, 1},
        {"group end", {0x0c}, 1},
        {"wire type 6", {0x0e}, 1},
        {"wire type 7", {0x0f, 0x00}, 2},
        {"11-byte varint",
         {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
         12},
        {"varint over 64 bits",
         {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
         11},
        {"tag over 32 bits", {0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}, 6},
        {"fixed64 cut", {0x09, 1, 2, 3}, 4},
        {"fixed32 cut", {0x0d, 1, 2}, 3},
        {"inner length past its message",
         {0x0a, 0x03, 0x12, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00},
         9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(cases[i].n);
        memcpy(copy, cases[i].bytes, cases[i].n);
        if (pb_decode_traces(a, copy, cases[i].n, &b) != LT_EINVAL)
            fail_msg("traces: %s accepted", cases[i].what);
        if (pb_decode_logs(a, copy, cases[i].n, &lb) != LT_EINVAL)
            fail_msg("logs: %s accepted", cases[i].what);
        free(copy);
    }
    /* a 10-byte varint with a top byte of 1 is fine (in unknown field 2) */
    const uint8_t ok[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(pb_decode_traces(a, ok, sizeof ok, &b), 0);
    /* a length past the end inside a span (name claims 100 bytes) */
    lt_buf sp = {0};
    w_span(&sp, "x");
    w_tag(&sp, 5, 2);
    w_varint(&sp, 100);
    buf_append(&sp, "abc", 3);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_free(&sp);
    arena_free(a);
}

static void test_ids(void **state)
{
    (void)state;
    lt_buf sp = {0};
    /* trace id of 15 and 17 bytes, span id of 7 and 9, parent of 4 */
    w_len(&sp, 1, TID, 15);
    w_len(&sp, 2, SID, 8);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp);
    uint8_t t17[17] = {1};
    w_len(&sp, 1, t17, 17);
    w_len(&sp, 2, SID, 8);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp);
    w_len(&sp, 1, TID, 16);
    w_len(&sp, 2, SID, 7);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp);
    w_len(&sp, 1, TID, 16);
    w_len(&sp, 2, t17, 9);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp);
    w_span(&sp, "x");
    w_len(&sp, 4, SID, 4);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    /* link ids */
    lt_buf l = {0};
    buf_reset(&sp);
    w_span(&sp, "x");
    w_len(&l, 1, TID, 15);
    w_buf(&sp, 13, &l);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    buf_reset(&sp), buf_reset(&l);
    w_span(&sp, "x");
    w_len(&l, 2, SID, 3);
    w_buf(&sp, 13, &l);
    assert_int_equal(span_rc(&sp), LT_EINVAL);
    /* an empty parent and an all-zero parent both mean "root" */
    lt_arena *a = arena_new();
    lt_span s;
    buf_reset(&sp);
    w_span(&sp, "x");
    w_len(&sp, 4, ZERO, 8);
    assert_int_equal(pb_decode_span(a, (uint8_t *)sp.data, sp.len, &s), 0);
    assert_false(s.has_parent);
    buf_reset(&sp);
    w_span(&sp, "x");
    w_len(&sp, 4, ZERO, 0);
    assert_int_equal(pb_decode_span(a, (uint8_t *)sp.data, sp.len, &s), 0);
    assert_false(s.has_parent);
    arena_free(a);
    buf_free(&sp);
    buf_free(&l);
}

static void test_zero_ids_rejected(void **state)
{
    (void)state;
    lt_buf spans = {0}, sp = {0}, req = {0};
    /* good, all-zero trace id, missing span id, good, empty trace id, zero span id */
    w_span(&sp, "good1");
    w_buf(&spans, 2, &sp);
    buf_reset(&sp);
    w_len(&sp, 1, ZERO, 16);
    w_len(&sp, 2, SID, 8);
    w_str(&sp, 5, "zero-trace");
    w_buf(&spans, 2, &sp);
    buf_reset(&sp);
    w_len(&sp, 1, TID, 16);
    w_str(&sp, 5, "no-span-id");
    w_buf(&spans, 2, &sp);
    buf_reset(&sp);
    w_span(&sp, "good2");
    w_buf(&spans, 2, &sp);
    buf_reset(&sp);
    w_len(&sp, 1, ZERO, 0);
    w_len(&sp, 2, SID, 8);
    w_str(&sp, 5, "empty-trace");
    w_buf(&spans, 2, &sp);
    buf_reset(&sp);
    w_len(&sp, 1, TID, 16);
    w_len(&sp, 2, ZERO, 8);
    w_buf(&spans, 2, &sp);
    wrap_spans(&req, &spans, 2);
    lt_arena *a = arena_new();
    lt_trace_batch b;
    assert_int_equal(decode_traces_buf(a, &req, &b), 0);
    assert_int_equal(b.n_spans, 2);
    assert_int_equal(b.rejected, 4);
    assert_true(b.reject_reason.len > 0);
    assert_int_equal(b.rs[0].scopes[0].n_spans, 2);
    assert_true(lt_str_eq_c(b.rs[0].scopes[0].spans[0].name, "good1"));
    assert_true(lt_str_eq_c(b.rs[0].scopes[0].spans[1].name, "good2"));
    /* a rejected span must still be well-formed */
    buf_reset(&spans), buf_reset(&sp), buf_reset(&req);
    w_len(&sp, 1, ZERO, 16);
    w_str(&sp, 5, "\xff");
    w_buf(&spans, 2, &sp);
    wrap_spans(&req, &spans, 2);
    assert_int_equal(decode_traces_buf(a, &req, &b), LT_EINVAL);
    /* log records may have no trace context */
    lt_buf lr = {0}, sl = {0}, rl = {0}, lreq = {0};
    w_str(&lr, 12, "ev");
    w_len(&lr, 9, ZERO, 0);
    w_buf(&sl, 2, &lr);
    w_buf(&rl, 2, &sl);
    w_buf(&lreq, 1, &rl);
    lt_log_batch lb;
    assert_int_equal(pb_decode_logs(a, (uint8_t *)lreq.data, lreq.len, &lb), 0);
    assert_int_equal(lb.n_records, 1);
    assert_true(model_id_is_zero(lb.rl[0].scopes[0].records[0].trace_id, 16));
    assert_true(lt_str_eq_c(lb.rl[0].scopes[0].records[0].event_name, "ev"));
    /* ... but wrong-length ids are malformed there too */
    buf_reset(&lr), buf_reset(&sl), buf_reset(&rl), buf_reset(&lreq);
    w_len(&lr, 9, TID, 15);
    w_buf(&sl, 2, &lr);
    w_buf(&rl, 2, &sl);
    w_buf(&lreq, 1, &rl);
    assert_int_equal(pb_decode_logs(a, (uint8_t *)lreq.data, lreq.len, &lb), LT_EINVAL);
    buf_reset(&lr), buf_reset(&sl), buf_reset(&rl), buf_reset(&lreq);
    w_len(&lr, 10, SID, 7);
    w_buf(&sl, 2, &lr);
    w_buf(&rl, 2, &sl);
    w_buf(&lreq, 1, &rl);
    assert_int_equal(pb_decode_logs(a, (uint8_t *)lreq.data, lreq.len, &lb), LT_EINVAL);
    arena_free(a);
    buf_free(&spans), buf_free(&sp), buf_free(&req);
    buf_free(&lr), buf_free(&sl), buf_free(&rl), buf_free(&lreq);
}

/* UTF-8: every string field, valid and invalid sequences. */
static const struct {
    const char *s; /* no NUL inside: the length is strlen */
    bool valid;
} utf8_cases[] = {
    {"plain ascii", true},
    {"", true},
    {"caf\xc3\xa9", true},
    {"\xe2\x82\xac", true},     /* U+20AC */
    {"\xf0\x9d\x84\x9e", true}, /* U+1D11E */
    {"\xf4\x8f\xbf\xbf", true}, /* U+10FFFF */
    {"\xef\xbf\xbf", true},     /* U+FFFF */
    {"\xed\x9f\xbf", true},     /* U+D7FF */
    {"\xee\x80\x80", true},     /* U+E000 */
    {"\xc2\x80", true},         /* U+0080 */
    {"\xe0\xa0\x80", true},     /* U+0800 */
    {"\xf0\x90\x80\x80", true}, /* U+10000 */
    {"\x80", false},            /* lone continuation */
    {"\xbf", false},
    {"\xc0\x80", false},         /* overlong NUL */
    {"\xc1\xbf", false},         /* overlong */
    {"\xe0\x80\x80", false},     /* overlong */
    {"\xe0\x9f\xbf", false},     /* overlong */
    {"\xed\xa0\x80", false},     /* surrogate D800 */
    {"\xed\xbf\xbf", false},     /* surrogate DFFF */
    {"\xf0\x80\x80\x80", false}, /* overlong */
    {"\xf0\x8f\xbf\xbf", false}, /* overlong */
    {"\xf4\x90\x80\x80", false}, /* > U+10FFFF */
    {"\xf5\x80\x80\x80", false},
    {"\xff", false},
    {"\xfe", false},
    {"\xc3", false},         /* cut */
    {"\xe2\x82", false},     /* cut */
    {"\xf0\x9d\x84", false}, /* cut */
    {"\xc3\x28", false},     /* bad continuation */
    {"\xe2\x28\xa1", false},
    {"\xe2\x82\x28", false},
    {"\xf0\x28\x8c\xbc", false},
    {"\xf0\x90\x28\xbc", false},
    {"\xf0\x90\x8c\x28", false},
    {"abcdefghijklmnopqrstuvwxyz012345\xc3\xa9 and more text after it, long", true},
    {"abcdefghijklmnopqrstuvwxyz012345\xc3 and more text after it, long!", false},
    {"abcdefg\xe2\x82\xac"
     "abcdefghijklmnop\xf0\x9d\x84\x9e"
     "abcdefghijklmnopqrstuvwxyz0123456789",
     true},
    {"abcdefg\xe2\x82\xac"
     "abcdefghijklmnop\xed\xa0\x80"
     "abcdefghijklmnopqrstuvwxyz0123456789",
     false},
    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\x80", false},
    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\xe2\x82", false},
};

/* Builds a request with the test string s in string field `which`; returns rc. */
static int utf8_in_field(int which, const char *s, size_t n, bool logs)
{
    lt_arena *a = arena_new();
    lt_buf sp = {0}, m = {0}, av = {0}, req = {0}, ss = {0}, rs = {0}, sc = {0};
    int rc;
    if (!logs) {
        w_len(&sp, 1, TID, 16);
        w_len(&sp, 2, SID, 8);
        switch (which) {
        case 0:
            w_len(&sp, 5, s, n);
            break; /* Span.name */
        case 1:
            w_len(&sp, 3, s, n);
            break; /* Span.trace_state */
        case 2:
            w_len(&m, 1, s, n);
            w_buf(&sp, 9, &m);
            break; /* KeyValue.key */
        case 3:
            w_len(&av, 1, s, n);
            w_buf(&m, 2, &av);
            w_buf(&sp, 9, &m);
            break; /* string_value */
        case 4:
            w_len(&m, 2, s, n);
            w_buf(&sp, 15, &m);
            break; /* Status.message */
        case 5:
            w_len(&m, 2, s, n);
            w_buf(&sp, 11, &m);
            break; /* Event.name */
        case 6:
            w_len(&m, 3, s, n);
            w_buf(&sp, 13, &m);
            break; /* Link.trace_state */
        case 7:
            w_len(&sc, 1, s, n);
            break; /* Scope.name */
        case 8:
            w_len(&sc, 2, s, n);
            break; /* Scope.version */
        case 9:
            w_len(&ss, 3, s, n);
            break; /* ScopeSpans.schema_url */
        case 10:
            w_len(&rs, 3, s, n);
            break; /* ResourceSpans.schema_url */
        case 11:   /* nested: kvlist key inside an array */
        {
            lt_buf kv = {0}, kl = {0}, v2 = {0}, arr = {0};
            w_len(&kv, 1, s, n);
            w_buf(&kl, 1, &kv);
            w_buf(&v2, 6, &kl);
            w_buf(&arr, 1, &v2);
            w_buf(&av, 5, &arr);
            w_str(&m, 1, "k");
            w_buf(&m, 2, &av);
            w_buf(&sp, 9, &m);
            buf_free(&kv), buf_free(&kl), buf_free(&v2), buf_free(&arr);
            break;
        }
        }
        if (sc.len) w_buf(&ss, 1, &sc);
        w_buf(&ss, 2, &sp);
        w_buf(&rs, 2, &ss);
        w_buf(&req, 1, &rs);
        lt_trace_batch b;
        rc = pb_decode_traces(a, (uint8_t *)req.data, req.len, &b);
    } else {
        switch (which) {
        case 0:
            w_len(&sp, 3, s, n);
            break; /* severity_text */
        case 1:
            w_len(&sp, 12, s, n);
            break; /* event_name */
        case 2:
            w_len(&av, 1, s, n);
            w_buf(&sp, 5, &av);
            break; /* body string */
        default:
            w_len(&rs, 3, s, n);
            break; /* ResourceLogs.schema_url */
        }
        w_buf(&ss, 2, &sp);
        w_buf(&rs, 2, &ss);
        w_buf(&req, 1, &rs);
        lt_log_batch b;
        rc = pb_decode_logs(a, (uint8_t *)req.data, req.len, &b);
    }
    arena_free(a);
    buf_free(&sp), buf_free(&m), buf_free(&av), buf_free(&req), buf_free(&ss), buf_free(&rs);
    buf_free(&sc);
    return rc;
}

static void test_utf8(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        size_t n = strlen(utf8_cases[i].s);
        int want = utf8_cases[i].valid ? 0 : LT_EINVAL;
        for (int f = 0; f <= 11; f++) {
            int rc = utf8_in_field(f, utf8_cases[i].s, n, false);
            if (rc != want) fail_msg("utf8 case %zu in span field %d: %d", i, f, rc);
        }
        for (int f = 0; f <= 3; f++) {
            int rc = utf8_in_field(f, utf8_cases[i].s, n, true);
            if (rc != want) fail_msg("utf8 case %zu in log field %d: %d", i, f, rc);
        }
    }
    /* a bad byte at every position of a long ASCII string (word-at-a-time paths) */
    char s[200];
    for (size_t pos = 0; pos < sizeof s; pos++) {
        memset(s, 'a', sizeof s);
        s[pos] = (char)0x80;
        assert_int_equal(utf8_in_field(0, s, sizeof s, false), LT_EINVAL);
        /* and a valid 2-byte character there */
        if (pos + 1 < sizeof s) {
            s[pos] = (char)0xc3;
            s[pos + 1] = (char)0xa9;
            assert_int_equal(utf8_in_field(0, s, sizeof s, false), 0);
        }
    }
    /* ASCII of every length up to 100 ending exactly at the end of the input (the
     * word-at-a-time paths must not read past it; ASan checks) */
    for (size_t len = 0; len <= 100; len++) {
        lt_buf sp = {0};
        char txt[100];
        memset(txt, 'q', sizeof txt);
        w_len(&sp, 1, TID, 16);
        w_len(&sp, 2, SID, 8);
        w_len(&sp, 5, txt, len);
        uint8_t *exact = malloc(sp.len);
        memcpy(exact, sp.data, sp.len);
        lt_arena *a = arena_new();
        lt_span out;
        assert_int_equal(pb_decode_span(a, exact, sp.len, &out), 0);
        assert_int_equal(out.name.len, len);
        exact[sp.len - 1] = 0xc3; /* a cut 2-byte sequence (or, for len 0, a cut length) */
        assert_int_equal(pb_decode_span(a, exact, sp.len, &out), LT_EINVAL);
        arena_free(a);
        free(exact);
        buf_free(&sp);
    }
    /* bytes_value and ids are not text */
    lt_buf sp = {0}, m = {0}, av = {0};
    w_span(&sp, "x");
    w_len(&av, 7, "\xff\xfe\x00\x80", 4);
    w_str(&m, 1, "bin");
    w_buf(&m, 2, &av);
    w_buf(&sp, 9, &m);
    assert_int_equal(span_rc(&sp), 0);
    buf_free(&sp), buf_free(&m), buf_free(&av);
}

static void test_field_1000(void **state)
{
    (void)state;
    lt_buf spans = {0}, sp = {0}, req_new = {0}, req_old = {0};
    w_span(&sp, "old-style");
    w_buf(&spans, 2, &sp);
    wrap_spans(&req_new, &spans, 2);
    wrap_spans(&req_old, &spans, 1000);
    assert_int_equal(req_old.len, req_new.len + 1); /* tag C2 3E vs 12 */
    lt_arena *a = arena_new();
    lt_trace_batch b1, b2;
    assert_int_equal(decode_traces_buf(a, &req_new, &b1), 0);
    assert_int_equal(decode_traces_buf(a, &req_old, &b2), 0);
    assert_int_equal(b2.n_spans, 1);
    assert_true(lt_str_eq_c(b2.rs[0].scopes[0].spans[0].name, "old-style"));
    eq_traces(&b1, &b2);
    /* both forms mixed in one ResourceSpans, in wire order */
    lt_buf rs = {0}, ss = {0}, req = {0};
    buf_append(&ss, spans.data, spans.len);
    w_buf(&rs, 1000, &ss);
    w_buf(&rs, 2, &ss);
    w_buf(&req, 1, &rs);
    assert_int_equal(decode_traces_buf(a, &req, &b1), 0);
    assert_int_equal(b1.rs[0].n_scopes, 2);
    assert_int_equal(b1.n_spans, 2);
    /* logs: instrumentation_library_logs */
    lt_buf lr = {0}, sl = {0}, rl = {0}, lreq = {0};
    w_str(&lr, 3, "INFO");
    w_uint(&lr, 2, 9);
    w_buf(&sl, 2, &lr);
    w_buf(&rl, 1000, &sl);
    w_buf(&lreq, 1, &rl);
    lt_log_batch lb;
    assert_int_equal(pb_decode_logs(a, (uint8_t *)lreq.data, lreq.len, &lb), 0);
    assert_int_equal(lb.n_records, 1);
    assert_int_equal(lb.rl[0].scopes[0].records[0].severity_number, 9);
    /* the canonical encoding writes field 2 */
    lt_buf e = {0};
    assert_int_equal(pb_encode_traces(&e, &b2), 0);
    assert_int_equal(e.len, req_new.len);
    assert_memory_equal(e.data, req_new.data, e.len);
    arena_free(a);
    buf_free(&spans), buf_free(&sp), buf_free(&req_new), buf_free(&req_old), buf_free(&e);
    buf_free(&rs), buf_free(&ss), buf_free(&req);
    buf_free(&lr), buf_free(&sl), buf_free(&rl), buf_free(&lreq);
}

/* Appends unknown fields of every wire type (small and huge field numbers). */
static void w_unknown(lt_buf *b)
{
    w_uint(b, 999, 12345);
    w_fixed64(b, 50, 7);
    w_len(b, 536870911, "junk\xff", 5); /* largest field number; bytes are not checked */
    w_fixed32(b, 77, 9);
    w_uint(b, 20000, UINT64_MAX);
}

static void test_unknown_fields_skipped(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    for (int with = 0; with < 2; with++) {
        lt_buf kv = {0}, av = {0}, ev = {0}, ln = {0}, st = {0}, sp = {0}, sc = {0}, ss = {0},
               res = {0}, rs = {0}, req = {0}, arr = {0}, item = {0};
        /* AnyValue array of one int, with unknowns at every level */
        w_uint(&item, 3, 42);
        if (with) w_unknown(&item);
        w_buf(&arr, 1, &item);
        if (with) w_unknown(&arr);
        w_buf(&av, 5, &arr);
        if (with) {
            w_unknown(&av);
            w_uint(&av, 8, 3);
        } /* string_value_strindex ignored */
        w_str(&kv, 1, "arr");
        w_buf(&kv, 2, &av);
        if (with) {
            w_unknown(&kv);
            w_uint(&kv, 3, 5);
        } /* key_strindex ignored */
        w_len(&sp, 1, TID, 16);
        w_len(&sp, 2, SID, 8);
        w_buf(&sp, 9, &kv);
        w_str(&ev, 2, "event");
        if (with) w_unknown(&ev);
        w_buf(&sp, 11, &ev);
        w_len(&ln, 1, TID, 16);
        if (with) w_unknown(&ln);
        w_buf(&sp, 13, &ln);
        w_uint(&st, 3, 2);
        if (with) {
            w_unknown(&st);
            w_uint(&st, 1, 1);
        } /* reserved 1 */
        w_buf(&sp, 15, &st);
        if (with) w_unknown(&sp);
        w_str(&sc, 1, "scope");
        if (with) w_unknown(&sc);
        w_buf(&ss, 1, &sc);
        w_buf(&ss, 2, &sp);
        if (with) w_unknown(&ss);
        w_attr_str(&res, 1, "service.name", "svc");
        if (with) {
            w_unknown(&res);
            w_len(&res, 3, "\x0a\x01x", 3);
        } /* entity_refs */
        w_buf(&rs, 1, &res);
        w_buf(&rs, 2, &ss);
        if (with) w_unknown(&rs);
        w_buf(&req, 1, &rs);
        if (with) w_unknown(&req);
        lt_trace_batch b;
        assert_int_equal(pb_decode_traces(a, (uint8_t *)req.data, req.len, &b), 0);
        const lt_span *s = &b.rs[0].scopes[0].spans[0];
        assert_int_equal(s->attrs.n, 1);
        assert_int_equal(s->attrs.items[0].value.type, LT_VAL_ARRAY);
        assert_int_equal(s->attrs.items[0].value.u.arr.n, 1);
        assert_int_equal(s->attrs.items[0].value.u.arr.items[0].u.i, 42);
        assert_int_equal(s->events.n, 1);
        assert_int_equal(s->links.n, 1);
        assert_int_equal(s->status_code, LT_STATUS_ERROR);
        assert_true(lt_str_eq_c(model_service_name(&b.rs[0].resource), "svc"));
        /* the canonical form is the same with or without the unknown fields */
        static lt_buf first;
        lt_buf e = {0};
        assert_int_equal(pb_encode_traces(&e, &b), 0);
        if (!with) {
            first = e;
            assert_int_equal(e.len, req.len); /* and equals the hand-built original */
            assert_memory_equal(e.data, req.data, e.len);
        } else {
            assert_int_equal(e.len, first.len);
            assert_memory_equal(e.data, first.data, e.len);
            buf_free(&first);
            buf_free(&e);
        }
        buf_free(&kv), buf_free(&av), buf_free(&ev), buf_free(&ln), buf_free(&st);
        buf_free(&sp), buf_free(&sc), buf_free(&ss), buf_free(&res), buf_free(&rs);
        buf_free(&req), buf_free(&arr), buf_free(&item);
    }
    arena_free(a);
}

/* Builds, back to front, an AnyValue that nests `depth` containers (arrays, or kvlists
 * when kv) around an int 7, and appends its bytes to out. */
static void nested_value(lt_buf *out, int depth, bool kv)
{
    size_t cap = (size_t)depth * 24 + 64;
    uint8_t *buf = malloc(cap);
    size_t pos = cap;
#define PUT(byte) (buf[--pos] = (uint8_t)(byte))
#define PUT_VARINT(v)                                                                              \
    do {                                                                                           \
        uint8_t t_[10];                                                                            \
        int n_ = 0;                                                                                \
        uint64_t x_ = (v);                                                                         \
        do {                                                                                       \
            t_[n_++] = (uint8_t)((x_ & 0x7f) | (x_ > 0x7f ? 0x80 : 0));                            \
            x_ >>= 7;                                                                              \
        } while (x_);                                                                              \
        while (n_)                                                                                 \
            PUT(t_[--n_]);                                                                         \
    } while (0)
    PUT(7);
    PUT(0x18); /* innermost AnyValue{int_value=7} */
    for (int i = 0; i < depth; i++) {
        size_t len = cap - pos;
        if (kv) { /* KeyValue{key="k", value=inner} inside KeyValueList */
            PUT_VARINT(len);
            PUT(0x12);
            PUT('k');
            PUT(1);
            PUT(0x0a);
            len = cap - pos;
        }
        PUT_VARINT(len);
        PUT(0x0a); /* ArrayValue.values / KeyValueList.values */
        len = cap - pos;
        PUT_VARINT(len);
        PUT(kv ? 0x32 : 0x2a); /* AnyValue.kvlist_value / array_value */
    }
    buf_append(out, buf + pos, cap - pos);
    free(buf);
#undef PUT
#undef PUT_VARINT
}

/* A span whose attribute "deep" holds nested_value(depth, kv). */
static void nested_span(lt_buf *out, int depth, bool kv)
{
    lt_buf k = {0}, v = {0};
    nested_value(&v, depth, kv);
    w_len(out, 1, TID, 16);
    w_len(out, 2, SID, 8);
    w_str(&k, 1, "deep");
    w_buf(&k, 2, &v);
    w_buf(out, 9, &k);
    buf_free(&k);
    buf_free(&v);
}

static void test_depth(void **state)
{
    (void)state;
    for (int kv = 0; kv < 2; kv++) {
        lt_buf sp = {0};
        nested_span(&sp, 10000, kv);
        assert_int_equal(span_rc(&sp), LT_ETOOBIG);
        buf_reset(&sp);
        nested_span(&sp, MODEL_MAX_DEPTH + 1, kv);
        assert_int_equal(span_rc(&sp), LT_ETOOBIG);
        buf_reset(&sp);
        nested_span(&sp, MODEL_MAX_DEPTH, kv);
        assert_int_equal(span_rc(&sp), 0);
        /* the deepest allowed value round-trips */
        lt_arena *a = arena_new();
        lt_span s, s2;
        assert_int_equal(pb_decode_span(a, (uint8_t *)sp.data, sp.len, &s), 0);
        const lt_value *v = &s.attrs.items[0].value;
        for (int i = 0; i < MODEL_MAX_DEPTH; i++) {
            assert_int_equal(v->type, kv ? LT_VAL_KVLIST : LT_VAL_ARRAY);
            v = kv ? &v->u.kv.items[0].value : &v->u.arr.items[0];
        }
        assert_int_equal(v->type, LT_VAL_INT);
        assert_int_equal(v->u.i, 7);
        lt_buf e = {0};
        assert_int_equal(pb_encode_span(&e, &s), 0);
        assert_int_equal(e.len, sp.len);
        assert_memory_equal(e.data, sp.data, e.len);
        assert_int_equal(pb_decode_span(a, (uint8_t *)e.data, e.len, &s2), 0);
        eq_span(&s, &s2);
        arena_free(a);
        buf_free(&e);
        buf_free(&sp);
    }
    /* a deep log body, and one just deep enough */
    for (int depth = MODEL_MAX_DEPTH; depth <= 10000; depth += 10000 - MODEL_MAX_DEPTH) {
        lt_buf body = {0}, lr = {0}, sl = {0}, rl = {0}, req = {0};
        nested_value(&body, depth, false);
        w_buf(&lr, 5, &body);
        w_buf(&sl, 2, &lr);
        w_buf(&rl, 2, &sl);
        w_buf(&req, 1, &rl);
        lt_arena *a = arena_new();
        lt_log_batch lb;
        assert_int_equal(pb_decode_logs(a, (uint8_t *)req.data, req.len, &lb),
                         depth > MODEL_MAX_DEPTH ? LT_ETOOBIG : 0);
        arena_free(a);
        buf_free(&body), buf_free(&lr), buf_free(&sl), buf_free(&rl), buf_free(&req);
    }
}

static void test_limits(void **state)
{
    (void)state;
    /* MODEL_MAX_ATTRS empty KeyValues in a span: fine; one more: too big */
    for (int extra = 0; extra < 2; extra++) {
        lt_buf sp = {0};
        w_len(&sp, 1, TID, 16);
        w_len(&sp, 2, SID, 8);
        size_t n = MODEL_MAX_ATTRS + (size_t)extra;
        buf_reserve(&sp, 2 * n);
        for (size_t i = 0; i < n; i++)
            buf_append(&sp, "\x4a\x00", 2);
        assert_int_equal(span_rc(&sp), extra ? LT_ETOOBIG : 0);
        buf_free(&sp);
    }
    /* the same for array items */
    for (int extra = 0; extra < 2; extra++) {
        lt_buf sp = {0}, arr = {0}, av = {0}, kv = {0};
        size_t n = MODEL_MAX_ATTRS + (size_t)extra;
        for (size_t i = 0; i < n; i++)
            buf_append(&arr, "\x0a\x00", 2);
        w_buf(&av, 5, &arr);
        w_buf(&kv, 2, &av);
        w_span(&sp, "x");
        w_buf(&sp, 9, &kv);
        assert_int_equal(span_rc(&sp), extra ? LT_ETOOBIG : 0);
        buf_free(&sp), buf_free(&arr), buf_free(&av), buf_free(&kv);
    }
    /* more than MODEL_MAX_ITEMS events in one request (20 MB of empty events) */
    lt_buf sp = {0};
    w_span(&sp, "x");
    size_t n = (size_t)MODEL_MAX_ITEMS + 1;
    assert_int_equal(buf_reserve(&sp, 2 * n), 0);
    for (size_t i = 0; i < n; i++) {
        sp.data[sp.len++] = 0x5a;
        sp.data[sp.len++] = 0x00;
    }
    assert_int_equal(span_rc(&sp), LT_ETOOBIG);
    buf_free(&sp);
}

/* ------------------------------------------------------------------------------------ */
/* Encoder                                                                              */
/* ------------------------------------------------------------------------------------ */

/* A model with every field set, every value kind, defaults that must survive (int 0,
 * false, "", -0.0, empty array), and bodies long enough for 2- and 3-byte lengths. */
static void build_full_model(lt_arena *a, lt_trace_batch *tb, lt_log_batch *lb)
{
    static char big[20000];
    memset(big, 'x', sizeof big);
    lt_value *arr = arena_calloc(a, 5, sizeof *arr);
    arr[0] = (lt_value){.type = LT_VAL_INT, .u.i = -1};
    arr[1] = (lt_value){.type = LT_VAL_EMPTY};
    arr[2] = (lt_value){.type = LT_VAL_STRING, .u.s = {big, 300}};
    arr[3] = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {NULL, 0}};
    arr[4] = (lt_value){.type = LT_VAL_BOOL, .u.b = false};
    lt_kv *inner = arena_calloc(a, 2, sizeof *inner);
    inner[0] = (lt_kv){LT_STR("a"), {.type = LT_VAL_ARRAY, .u.arr = {arr, 5}}};
    inner[1] = (lt_kv){LT_STR(""), {.type = LT_VAL_STRING, .u.s = {"", 0}}};
    lt_kv *attrs = arena_calloc(a, 12, sizeof *attrs);
    attrs[0] = (lt_kv){LT_STR("s"), {.type = LT_VAL_STRING, .u.s = LT_STR("str")}};
    attrs[1] = (lt_kv){LT_STR("empty-s"), {.type = LT_VAL_STRING, .u.s = {NULL, 0}}};
    attrs[2] = (lt_kv){LT_STR("b"), {.type = LT_VAL_BOOL, .u.b = true}};
    attrs[3] = (lt_kv){LT_STR("f"), {.type = LT_VAL_BOOL, .u.b = false}};
    attrs[4] = (lt_kv){LT_STR("i0"), {.type = LT_VAL_INT, .u.i = 0}};
    attrs[5] = (lt_kv){LT_STR("imin"), {.type = LT_VAL_INT, .u.i = INT64_MIN}};
    attrs[6] = (lt_kv){LT_STR("d"), {.type = LT_VAL_DOUBLE, .u.d = -0.0}};
    attrs[7] = (lt_kv){LT_STR("nan"), {.type = LT_VAL_DOUBLE, .u.d = NAN}};
    attrs[8] = (lt_kv){LT_STR("bytes"), {.type = LT_VAL_BYTES, .u.s = {"\0\xff", 2}}};
    attrs[9] = (lt_kv){LT_STR("kv"), {.type = LT_VAL_KVLIST, .u.kv = {inner, 2}}};
    attrs[10] = (lt_kv){LT_STR("none"), {.type = LT_VAL_EMPTY}};
    attrs[11] = (lt_kv){LT_STR("big"), {.type = LT_VAL_STRING, .u.s = {big, sizeof big}}};

    lt_event *ev = arena_calloc(a, 2, sizeof *ev);
    ev[0] = (lt_event){.time_unix_nano = 5,
                       .name = LT_STR("e"),
                       .attrs = {attrs, 3},
                       .dropped_attributes_count = 1};
    /* ev[1]: an all-default event */
    lt_link *ln = arena_calloc(a, 2, sizeof *ln);
    memcpy(ln[0].trace_id, TID, 16);
    memcpy(ln[0].span_id, SID, 8);
    ln[0].trace_state = LT_STR("k=v");
    ln[0].attrs = (lt_attrs){attrs + 2, 2};
    ln[0].dropped_attributes_count = 3;
    ln[0].flags = 0x301;

    lt_span *sp = arena_calloc(a, 1, sizeof *sp);
    memcpy(sp->trace_id, TID, 16);
    memcpy(sp->span_id, SID, 8);
    memcpy(sp->parent_span_id, SID, 8);
    sp->parent_span_id[0] = 0x99;
    sp->has_parent = true;
    sp->trace_state = LT_STR("a=b");
    sp->name = LT_STR("full \xe2\x82\xac");
    sp->kind = 77; /* kept as sent */
    sp->start_time_unix_nano = 1;
    sp->end_time_unix_nano = UINT64_MAX;
    sp->attrs = (lt_attrs){attrs, 12};
    sp->dropped_attributes_count = UINT32_MAX;
    sp->events.items = ev;
    sp->events.n = 2;
    sp->dropped_events_count = 4;
    sp->links.items = ln;
    sp->links.n = 2;
    sp->dropped_links_count = 5;
    sp->status_message = LT_STR("bad");
    sp->status_code = LT_STATUS_ERROR;
    sp->flags = 0xffffffff;

    lt_scope_spans *ss = arena_calloc(a, 2, sizeof *ss);
    ss[0].scope = (lt_scope){LT_STR("sc"), LT_STR("1.0"), {attrs, 2}, 6};
    ss[0].schema_url = LT_STR("https://opentelemetry.io/schemas/1.30.0");
    ss[0].spans = sp;
    ss[0].n_spans = 1;
    /* ss[1]: empty scope, no spans */
    lt_resource_spans *rs = arena_calloc(a, 2, sizeof *rs);
    rs[0].resource = (lt_resource){{attrs, 12}, 7};
    rs[0].schema_url = LT_STR("https://opentelemetry.io/schemas/1.31.0");
    rs[0].scopes = ss;
    rs[0].n_scopes = 2;
    *tb = (lt_trace_batch){.rs = rs, .n_rs = 2, .n_spans = 1};

    lt_log_record *lr = arena_calloc(a, 2, sizeof *lr);
    lr[0] = (lt_log_record){
        .time_unix_nano = 10,
        .observed_time_unix_nano = 11,
        .severity_number = 17,
        .severity_text = LT_STR("ERROR"),
        .body = {.type = LT_VAL_KVLIST, .u.kv = {inner, 2}},
        .attrs = {attrs, 12},
        .dropped_attributes_count = 2,
        .flags = 1,
        .event_name = LT_STR("gen_ai.choice"),
    };
    memcpy(lr[0].trace_id, TID, 16);
    memcpy(lr[0].span_id, SID, 8);
    lr[1].body = (lt_value){.type = LT_VAL_INT, .u.i = 0};
    lt_scope_logs *sl = arena_calloc(a, 1, sizeof *sl);
    sl->scope = (lt_scope){LT_STR("logger"), LT_STR(""), {NULL, 0}, 0};
    sl->schema_url = LT_STR("u");
    sl->records = lr;
    sl->n_records = 2;
    lt_resource_logs *rl = arena_calloc(a, 1, sizeof *rl);
    rl->resource = (lt_resource){{attrs, 1}, 0};
    rl->schema_url = LT_STR("r");
    rl->scopes = sl;
    rl->n_scopes = 1;
    *lb = (lt_log_batch){.rl = rl, .n_rl = 1, .n_records = 2};
}

static void test_encode_roundtrip_all_fields(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch tb, tb2;
    lt_log_batch lb, lb2;
    build_full_model(a, &tb, &lb);
    lt_buf e = {0}, e2 = {0};
    assert_int_equal(pb_encode_traces(&e, &tb), 0);
    assert_int_equal(e.data[e.len], 0); /* lt_buf stays NUL-terminated */
    assert_int_equal(pb_decode_traces(a, (uint8_t *)e.data, e.len, &tb2), 0);
    eq_traces(&tb, &tb2);
    assert_int_equal(pb_encode_traces(&e2, &tb2), 0);
    assert_int_equal(e.len, e2.len);
    assert_memory_equal(e.data, e2.data, e.len);
    buf_reset(&e), buf_reset(&e2);
    assert_int_equal(pb_encode_logs(&e, &lb), 0);
    assert_int_equal(pb_decode_logs(a, (uint8_t *)e.data, e.len, &lb2), 0);
    eq_logs(&lb, &lb2);
    assert_int_equal(pb_encode_logs(&e2, &lb2), 0);
    assert_int_equal(e.len, e2.len);
    assert_memory_equal(e.data, e2.data, e.len);
    /* appending keeps what was in the buffer */
    buf_reset(&e);
    buf_append(&e, "pre", 3);
    assert_int_equal(pb_encode_span(&e, &tb.rs[0].scopes[0].spans[0]), 0);
    assert_memory_equal(e.data, "pre", 3);
    lt_span s;
    assert_int_equal(pb_decode_span(a, (uint8_t *)e.data + 3, e.len - 3, &s), 0);
    eq_span(&tb.rs[0].scopes[0].spans[0], &s);
    buf_free(&e), buf_free(&e2);
    arena_free(a);
}

static void test_encode_oom(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    lt_trace_batch tb;
    lt_log_batch lb;
    build_full_model(a, &tb, &lb);
    lt_buf ref = {0};
    assert_int_equal(pb_encode_traces(&ref, &tb), 0);
    int fails = 0;
    for (long k = 0;; k++) {
        lt_buf e = {0};
        buf_append(&e, "keep", 4);
        alloc_fail_after(k);
        int rc = pb_encode_traces(&e, &tb);
        alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(e.len, 4 + ref.len);
            assert_memory_equal(e.data + 4, ref.data, ref.len);
            buf_free(&e);
            break;
        }
        assert_int_equal(rc, LT_ENOMEM);
        assert_int_equal(e.len, 4); /* cut back to where it started */
        assert_memory_equal(e.data, "keep", 4);
        buf_free(&e);
        fails++;
    }
    assert_true(fails > 0);
    /* a buffer already out of memory stays so */
    lt_buf e = {.oom = true};
    assert_int_equal(pb_encode_traces(&e, &tb), LT_ENOMEM);
    assert_int_equal(pb_put_varint(&e, 1), LT_ENOMEM);
    buf_free(&ref);
    arena_free(a);
}

static void test_export_response_and_status(void **state)
{
    (void)state;
    lt_buf b = {0};
    assert_int_equal(pb_encode_export_response(&b, 0, LT_STR_NULL), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(pb_encode_export_response(&b, 3, LT_STR("bad ids")), 0);
    const uint8_t want1[] = {0x0a, 0x0b, 0x08, 0x03, 0x12, 0x07, 'b', 'a', 'd', ' ', 'i', 'd', 's'};
    assert_int_equal(b.len, sizeof want1);
    assert_memory_equal(b.data, want1, sizeof want1);
    buf_reset(&b);
    assert_int_equal(pb_encode_export_response(&b, 0, LT_STR("warn")), 0);
    const uint8_t want2[] = {0x0a, 0x06, 0x12, 0x04, 'w', 'a', 'r', 'n'};
    assert_int_equal(b.len, sizeof want2);
    assert_memory_equal(b.data, want2, sizeof want2);
    buf_reset(&b);
    assert_int_equal(pb_encode_export_response(&b, 300, LT_STR_NULL), 0);
    const uint8_t want3[] = {0x0a, 0x03, 0x08, 0xac, 0x02};
    assert_int_equal(b.len, sizeof want3);
    assert_memory_equal(b.data, want3, sizeof want3);
    buf_reset(&b);
    /* google.rpc.Status: INVALID_ARGUMENT = 3 */
    assert_int_equal(pb_encode_status(&b, 3, LT_STR("x")), 0);
    const uint8_t want4[] = {0x08, 0x03, 0x12, 0x01, 'x'};
    assert_int_equal(b.len, sizeof want4);
    assert_memory_equal(b.data, want4, sizeof want4);
    buf_reset(&b);
    assert_int_equal(pb_encode_status(&b, 0, LT_STR_NULL), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(pb_encode_status(&b, -1, LT_STR_NULL), 0);
    const uint8_t want5[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(b.len, sizeof want5);
    assert_memory_equal(b.data, want5, sizeof want5);
    buf_reset(&b);
    /* a long message: 2-byte length of partial_success */
    char msg[300];
    memset(msg, 'm', sizeof msg);
    assert_int_equal(pb_encode_export_response(&b, 1, (lt_str){msg, sizeof msg}), 0);
    assert_int_equal(b.len, 1 + 2 + 2 + 1 + 2 + 300);
    assert_int_equal((uint8_t)b.data[1], (2 + 1 + 2 + 300) % 128 + 128);
    buf_free(&b);
}

static void test_varint(void **state)
{
    (void)state;
    const uint64_t vals[] = {
        0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
    const size_t sizes[] = {1, 1, 1, 2, 2, 2, 3, 5, 10, 10};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        lt_buf b = {0};
        assert_int_equal(pb_put_varint(&b, vals[i]), 0);
        assert_int_equal(b.len, sizes[i]);
        const uint8_t *p = (const uint8_t *)b.data;
        uint64_t v = 0;
        assert_int_equal(pb_get_varint(&p, p + b.len, &v), 0);
        assert_int_equal(v, vals[i]);
        assert_ptr_equal(p, (const uint8_t *)b.data + b.len);
        /* every cut is an error and leaves *p alone */
        for (size_t k = 0; k < b.len; k++) {
            const uint8_t *q = (const uint8_t *)b.data;
            assert_int_equal(pb_get_varint(&q, q + k, &v), LT_EINVAL);
            assert_ptr_equal(q, (const uint8_t *)b.data);
        }
        buf_free(&b);
    }
    /* non-minimal forms are accepted (protobuf allows them) */
    const uint8_t padded[] = {0x81, 0x80, 0x00};
    const uint8_t *p = padded;
    uint64_t v;
    assert_int_equal(pb_get_varint(&p, padded + 3, &v), 0);
    assert_int_equal(v, 1);
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    p = over;
    assert_int_equal(pb_get_varint(&p, over + 10, &v), LT_EINVAL);
}

/* ------------------------------------------------------------------------------------ */
/* Allocation failure                                                                   */
/* ------------------------------------------------------------------------------------ */

static void alloc_fail_fixture(const char *rel, bool logs)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/otlp/%s", LT_FIXTURES, rel);
    size_t n;
    uint8_t *d = fx_read(path, &n);
    assert_non_null(d);
    int fails = 0;
    for (long k = 0;; k++) {
        lt_arena *a = arena_new();
        assert_non_null(a);
        alloc_fail_after(k);
        int rc;
        lt_trace_batch tb;
        lt_log_batch lb;
        rc = logs ? pb_decode_logs(a, d, n, &lb) : pb_decode_traces(a, d, n, &tb);
        alloc_fail_after(-1);
        arena_free(a);
        if (rc == 0) break;
        assert_int_equal(rc, LT_ENOMEM);
        fails++;
        assert_true(k < 100000);
    }
    assert_true(fails > 0);
    free(d);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    alloc_fail_fixture("openinference/batch/0001-traces.pb", false);
    alloc_fail_fixture("otel/rag-proto/0001-traces.pb", false);
    alloc_fail_fixture("otel/batch-proto/0001-logs.pb", true);
    /* a fresh arena: its first block is the first allocation */
    alloc_fail_fixture("otel/single-chat-grpc/0004-traces.grpc.bin", false);
}

/* Inputs the fuzzer (tests/fuzz/fuzz_pb.c) once crashed on, as base64; each is decoded
 * from an exact-size buffer by every entry point. */
static const char *const fuzz_regressions[] = {
    /* utf8_valid read one byte past a 32-byte ASCII string ending the input */
    "agAqYGBgYGBgYGBjZS52ZXJzaW9uEgcKBTEuMC4wCikKG2RlcGxveW1lbnQuZW52aXJvbm1lbnQubmFtZRIKCghm"
    "aXh0dXJlcwoiChZ0ZWxlbWV0cnlgYGBgYGBgYGBgagBqAA==",
};

static void test_fuzz_regressions(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    for (size_t i = 0; i < sizeof fuzz_regressions / sizeof fuzz_regressions[0]; i++) {
        lt_str b64 = lt_str_c(fuzz_regressions[i]);
        uint8_t *tmp = malloc(b64.len);
        long n = base64_decode(b64, tmp);
        assert_true(n > 0);
        uint8_t *d = malloc((size_t)n);
        memcpy(d, tmp, (size_t)n);
        free(tmp);
        int rc = decode_prefix(a, d, (size_t)n, false);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        rc = decode_prefix(a, d, (size_t)n, true);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        lt_span s;
        lt_log_record r;
        lt_resource res;
        lt_scope sc;
        rc = pb_decode_span(a, d, (size_t)n, &s);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        rc = pb_decode_log_record(a, d, (size_t)n, &r);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        rc = pb_decode_resource(a, d, (size_t)n, &res);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        rc = pb_decode_scope(a, d, (size_t)n, &sc);
        assert_true(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG);
        free(d);
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_expected),
        cmocka_unit_test(test_fixture_typed_values),
        cmocka_unit_test(test_fixtures_roundtrip),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_byte_mutation),
        cmocka_unit_test(test_minimal_span),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_wrong_wire_types),
        cmocka_unit_test(test_malformed_framing),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_zero_ids_rejected),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_field_1000),
        cmocka_unit_test(test_unknown_fields_skipped),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_encode_roundtrip_all_fields),
        cmocka_unit_test(test_encode_oom),
        cmocka_unit_test(test_export_response_and_status),
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
