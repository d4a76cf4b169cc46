/* api.c — routing of the JSON API and the list endpoints (contract in api.h).
 *
 * A request gets an arena of its own, released before api_handle returns: decoded query
 * values, store results and scratch arrays all live there, so a handler never frees
 * anything and a failed allocation anywhere becomes one 503. Routes are a table of path
 * shapes; the method is checked only once a route matched, so an unknown path is 404
 * whatever the method and a known one with another method is 405. */
#include "api/api.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/util.h"
#include "otlp/json.h"

typedef struct {
    lt_store *store;
    lt_arena *a;
    lt_buf *out;
    api_params params;
    size_t start; /* out->len when the call began: an error replaces what was written */
    lt_str arg;   /* the variable path segment of the route, still percent-encoded */
} request;

/* Writes {"error": message} and returns status. */
static int fail(request *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(request *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->out->oom && r->out->len > r->start) {
        r->out->len = r->start;
        r->out->data[r->start] = 0;
    }
    buf_append_c(r->out, "{\"error\":");
    jsonw_cstr(r->out, msg);
    buf_putc(r->out, '}');
    return status;
}

/* The answer to a failed store call: 404 for LT_ENOTFOUND, 503 for what a retry may fix. */
static int store_fail(request *r, int rc, const char *what)
{
    if (rc == LT_ENOTFOUND) return fail(r, 404, "%s not found", what);
    if (rc == LT_ENOMEM || rc == LT_EIO || rc == LT_EBUSY || rc == LT_EFULL)
        return fail(r, 503, "store unavailable: %s", lt_strerror(rc));
    return fail(r, 500, "store error: %s", lt_strerror(rc));
}

/* A parameter value quoted in an error message, cut so that messages stay one line. */
#define SHOWN(v) (int)((v)->len > 64 ? 64 : (v)->len), (v)->ptr

static int bad_param(request *r, const char *name, const lt_str *v, const char *want)
{
    return fail(r, 400, "%s: expected %s, got '%.*s'", name, want, SHOWN(v));
}

static int param_time(request *r, const char *name, uint64_t *out)
{
    const lt_str *v = api_params_get(&r->params, name);
    if (!v || v->len == 0) return 0;
    if (api_parse_time(*v, out))
        return bad_param(r, name, v, "Unix nanoseconds or an RFC 3339 time");
    return 0;
}

static int param_duration(request *r, const char *name, uint64_t *out)
{
    const lt_str *v = api_params_get(&r->params, name);
    if (!v || v->len == 0) return 0;
    if (api_parse_duration(*v, out))
        return bad_param(r, name, v, "a duration such as 250ms, 2s or integer nanoseconds");
    return 0;
}

static int list_traces(request *r)
{
    lt_trace_query q = {.limit = API_DEFAULT_LIMIT};
    const api_params *p = &r->params;
    const lt_str *v;
    int st;
    if ((v = api_params_get(p, "service"))) q.service = *v;
    if ((v = api_params_get(p, "name"))) q.name = *v;
    if ((st = param_time(r, "start", &q.start_min)) || (st = param_time(r, "end", &q.start_max)))
        return st;
    if (q.start_max && q.start_min > q.start_max) return fail(r, 400, "start: later than end");
    if ((st = param_duration(r, "min_duration", &q.min_duration_ns)) ||
        (st = param_duration(r, "max_duration", &q.max_duration_ns)))
        return st;
    if (q.max_duration_ns && q.min_duration_ns > q.max_duration_ns)
        return fail(r, 400, "min_duration: greater than max_duration");
    if ((v = api_params_get(p, "status")) && v->len) {
        if (lt_str_eq_c(*v, "error") || lt_str_eq_c(*v, "ERROR"))
            q.errors_only = true;
        else if (!lt_str_eq_c(*v, "any"))
            return bad_param(r, "status", v, "'error' or 'any'");
    }
    if ((v = api_params_get(p, "attr")) && v->len) {
        const char *eq = memchr(v->ptr, '=', v->len);
        if (!eq || eq == v->ptr) return bad_param(r, "attr", v, "KEY=VALUE");
        q.attr_key = (lt_str){v->ptr, (size_t)(eq - v->ptr)};
        q.attr_value = (lt_str){eq + 1, v->len - q.attr_key.len - 1};
    }
    static const struct {
        const char *name;
        size_t off;
    } genai_strs[] = {
        {"model", offsetof(lt_trace_query, model)},
        {"provider", offsetof(lt_trace_query, provider)},
        {"operation", offsetof(lt_trace_query, operation)},
        {"conversation", offsetof(lt_trace_query, conversation)},
        {"user", offsetof(lt_trace_query, user)},
    };
    for (size_t i = 0; i < sizeof genai_strs / sizeof genai_strs[0]; i++)
        if ((v = api_params_get(p, genai_strs[i].name)))
            *(lt_str *)((char *)&q + genai_strs[i].off) = *v;
    if ((v = api_params_get(p, "min_cost")) && v->len && api_parse_number(*v, &q.min_cost))
        return bad_param(r, "min_cost", v, "a non-negative number of US dollars");
    if ((v = api_params_get(p, "min_tokens")) && v->len && parse_u64(*v, &q.min_tokens))
        return bad_param(r, "min_tokens", v, "a non-negative integer");
    if ((v = api_params_get(p, "limit")) && v->len) {
        uint64_t limit;
        if (parse_u64(*v, &limit) || limit == 0)
            return bad_param(r, "limit", v, "an integer from 1 to 1000");
        q.limit = limit > API_MAX_LIMIT ? API_MAX_LIMIT : (uint32_t)limit;
    }
    if ((v = api_params_get(p, "cursor")) && v->len) {
        if (api_parse_cursor(*v, &q.cursor_start, q.cursor_trace_id))
            return bad_param(r, "cursor", v, "the next_cursor of a previous page");
        q.has_cursor = true;
    }

    lt_trace_list list = {0};
    int rc = store_list_traces(r->store, &q, r->a, &list);
    if (rc) return store_fail(r, rc, "traces");
    lt_buf *out = r->out;
    buf_append_c(out, "{\"traces\":[");
    for (uint32_t i = 0; i < list.n; i++) {
        const lt_trace_summary *t = &list.items[i];
        buf_append_c(out, i ? ",{\"trace_id\":" : "{\"trace_id\":");
        jsonw_hex(out, t->trace_id, 16);
        buf_append_c(out, ",\"root_name\":");
        jsonw_str(out, t->root_name);
        buf_append_c(out, ",\"root_service\":");
        jsonw_str(out, t->root_service);
        buf_append_c(out, ",\"start_unix_nano\":");
        jsonw_u64_str(out, t->start_unix_nano);
        buf_append_c(out, ",\"duration_ns\":");
        jsonw_u64_str(
            out, t->end_unix_nano > t->start_unix_nano ? t->end_unix_nano - t->start_unix_nano : 0);
        buf_printf(out,
                   ",\"span_count\":%u,\"error_count\":%u,\"llm_calls\":%u,\"input_tokens\":%llu,"
                   "\"output_tokens\":%llu,\"cost\":",
                   t->span_count, t->error_count, t->llm_calls, (unsigned long long)t->input_tokens,
                   (unsigned long long)t->output_tokens);
        jsonw_double(out, t->cost);
        buf_append_c(out, ",\"services\":[");
        for (uint32_t j = 0; j < t->n_services; j++) {
            if (j) buf_putc(out, ',');
            jsonw_str(out, t->services[j]);
        }
        buf_append_c(out, "]}");
    }
    buf_append_c(out, "],\"next_cursor\":");
    if (list.more) {
        /* from the store, not the last item: a filter may have examined traces past it */
        api_write_cursor(out, list.next_start, list.next_trace_id);
    } else {
        buf_append_c(out, "null");
    }
    buf_putc(out, '}');
    return 200;
}

static int get_trace(request *r)
{
    uint8_t id[16];
    if (hex_decode(r->arg, id, 16)) return bad_param(r, "trace_id", &r->arg, "32 hex digits");
    bool otlp = false;
    const lt_str *v = api_params_get(&r->params, "format");
    if (v && v->len) {
        if (lt_str_eq_c(*v, "otlp"))
            otlp = true;
        else if (!lt_str_eq_c(*v, "json"))
            return bad_param(r, "format", v, "'json' or 'otlp'");
    }
    lt_trace_data d = {0};
    int rc = store_get_trace(r->store, id, r->a, &d);
    if (rc) return store_fail(r, rc, "trace");
    rc = otlp ? json_encode_traces(r->out, &d.spans) : api_trace_json(r->out, r->a, id, &d);
    if (rc == LT_ETOOBIG) return fail(r, 500, "trace too large to show");
    return 200; /* on LT_ENOMEM out->oom is set, which the caller turns into 503 */
}

static int list_services(request *r)
{
    lt_str *names = NULL;
    uint32_t n = 0;
    int rc = store_list_services(r->store, r->a, &names, &n);
    if (rc) return store_fail(r, rc, "services");
    buf_append_c(r->out, "{\"services\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_putc(r->out, ',');
        jsonw_str(r->out, names[i]);
    }
    buf_append_c(r->out, "]}");
    return 200;
}

static int list_operations(request *r)
{
    lt_str service;
    int rc = api_pct_decode(r->a, r->arg, false, &service);
    if (rc == LT_EINVAL) return bad_param(r, "service", &r->arg, "a percent-encoded name");
    if (rc) return fail(r, 503, "out of memory");
    lt_operation *ops = NULL;
    uint32_t n = 0;
    if ((rc = store_list_operations(r->store, service, r->a, &ops, &n)))
        return store_fail(r, rc, "service");
    buf_append_c(r->out, "{\"operations\":[");
    for (uint32_t i = 0; i < n; i++) {
        buf_append_c(r->out, i ? ",{\"name\":" : "{\"name\":");
        jsonw_str(r->out, ops[i].name);
        buf_append_c(r->out, ",\"span_kind\":");
        jsonw_cstr(r->out, api_kind_name(ops[i].span_kind));
        buf_putc(r->out, '}');
    }
    buf_append_c(r->out, "]}");
    return 200;
}

static const char *const group_names[] = {
    [LT_GROUP_MODEL] = "model",         [LT_GROUP_PROVIDER] = "provider",
    [LT_GROUP_OPERATION] = "operation", [LT_GROUP_SERVICE] = "service",
    [LT_GROUP_SPAN_NAME] = "span_name", [LT_GROUP_AGENT] = "agent",
    [LT_GROUP_USER] = "user",           [LT_GROUP_CONVERSATION] = "conversation",
};

/* GET /api/genai/summary?start=&end=&group_by=: calls, errors, tokens by bucket, cost and
 * latency quantiles per group. The range defaults to the last 24 hours. */
static int genai_summary(request *r)
{
    lt_genai_query q = {.group_by = LT_GROUP_MODEL};
    int st;
    if ((st = param_time(r, "start", &q.start_min)) || (st = param_time(r, "end", &q.start_max)))
        return st;
    if (!api_params_get(&r->params, "start")) {
        uint64_t now = q.start_max ? q.start_max : time_now_ns();
        q.start_min = now > 86400000000000ull ? now - 86400000000000ull : 0;
    }
    if (q.start_max && q.start_min > q.start_max) return fail(r, 400, "start: later than end");
    const lt_str *v = api_params_get(&r->params, "group_by");
    if (v && v->len) {
        size_t i = 0, n = sizeof group_names / sizeof group_names[0];
        while (i < n && !lt_str_eq_c(*v, group_names[i]))
            i++;
        if (i == n)
            return bad_param(r, "group_by", v,
                             "model, provider, operation, service, span_name, agent, user or "
                             "conversation");
        q.group_by = (lt_group_by)i;
    }
    lt_genai_group *g = NULL;
    uint32_t n = 0;
    int rc = store_genai_summary(r->store, &q, r->a, &g, &n);
    if (rc == LT_ETOOBIG)
        return fail(r, 400, "group_by %s: too many groups in this range; narrow start/end",
                    group_names[q.group_by]);
    if (rc) return store_fail(r, rc, "summary");
    lt_buf *out = r->out;
    buf_append_c(out, "{\"group_by\":");
    jsonw_cstr(out, group_names[q.group_by]);
    buf_append_c(out, ",\"start_unix_nano\":");
    jsonw_u64_str(out, q.start_min);
    buf_append_c(out, ",\"end_unix_nano\":");
    if (q.start_max)
        jsonw_u64_str(out, q.start_max);
    else
        buf_append_c(out, "null");
    buf_append_c(out, ",\"groups\":[");
    for (uint32_t i = 0; i < n; i++) {
        buf_append_c(out, i ? ",{\"key\":" : "{\"key\":");
        jsonw_str(out, g[i].key);
        buf_printf(out,
                   ",\"calls\":%llu,\"errors\":%llu,\"input_tokens\":%llu,\"output_tokens\":%llu,"
                   "\"cache_read_tokens\":%llu,\"cache_creation_tokens\":%llu,"
                   "\"reasoning_tokens\":%llu,\"cost\":",
                   (unsigned long long)g[i].calls, (unsigned long long)g[i].errors,
                   (unsigned long long)g[i].input_tokens, (unsigned long long)g[i].output_tokens,
                   (unsigned long long)g[i].cache_read_tokens,
                   (unsigned long long)g[i].cache_creation_tokens,
                   (unsigned long long)g[i].reasoning_tokens);
        jsonw_double(out, g[i].cost);
        buf_append_c(out, ",\"duration_p50_ns\":");
        jsonw_u64_str(out, g[i].duration_p50_ns);
        buf_append_c(out, ",\"duration_p95_ns\":");
        jsonw_u64_str(out, g[i].duration_p95_ns);
        buf_append_c(out, ",\"duration_p99_ns\":");
        jsonw_u64_str(out, g[i].duration_p99_ns);
        buf_append_c(out, ",\"ttft_p50_s\":");
        if (g[i].has_ttft)
            jsonw_double(out, g[i].ttft_p50_s);
        else
            buf_append_c(out, "null");
        buf_append_c(out, ",\"ttft_p95_s\":");
        if (g[i].has_ttft)
            jsonw_double(out, g[i].ttft_p95_s);
        else
            buf_append_c(out, "null");
        buf_putc(out, '}');
    }
    buf_append_c(out, "]}");
    return 200;
}

/* A route is a path of fixed text with at most one variable segment ('*', which matches
 * one non-empty segment without '/'). */
static const struct {
    const char *prefix; /* up to the variable segment, or the whole path */
    const char *suffix; /* after it; NULL when the route has no variable segment */
    int (*handler)(request *r);
} routes[] = {
    {"/api/traces", NULL, list_traces},          {"/api/traces/", "", get_trace},
    {"/api/services", NULL, list_services},      {"/api/services/", "/operations", list_operations},
    {"/api/genai/summary", NULL, genai_summary},
};

static bool match(lt_str path, size_t route, lt_str *arg)
{
    lt_str pre = lt_str_c(routes[route].prefix);
    if (!routes[route].suffix) return lt_str_eq(path, pre);
    lt_str suf = lt_str_c(routes[route].suffix);
    if (path.len <= pre.len + suf.len || memcmp(path.ptr, pre.ptr, pre.len) != 0 ||
        memcmp(path.ptr + path.len - suf.len, suf.ptr, suf.len) != 0)
        return false;
    *arg = (lt_str){path.ptr + pre.len, path.len - pre.len - suf.len};
    return memchr(arg->ptr, '/', arg->len) == NULL;
}

int api_handle(lt_store *s, lt_str method, lt_str path, lt_str query, lt_buf *out,
               const char **content_type)
{
    *content_type = "application/json";
    request r = {.store = s, .out = out, .start = out->len};
    int status;
    if (path.len > 1 && path.ptr[path.len - 1] == '/') path.len--;
    size_t route = 0, n_routes = sizeof routes / sizeof routes[0];
    while (route < n_routes && !match(path, route, &r.arg))
        route++;
    if (route == n_routes) return fail(&r, 404, "no such API endpoint");
    if (!lt_str_eq_c(method, "GET") && !lt_str_eq_c(method, "HEAD"))
        return fail(&r, 405, "method not allowed (only GET)");
    if (!s) return fail(&r, 503, "no store");
    if (!(r.a = arena_new())) return fail(&r, 503, "out of memory");
    lt_str bad;
    int rc = api_params_parse(r.a, query, &r.params, &bad);
    if (rc == LT_EINVAL)
        status = fail(&r, 400, "%.*s: invalid percent-encoding", SHOWN(&bad));
    else if (rc == LT_ETOOBIG)
        status = bad.len ? fail(&r, 400, "%.*s: value too long", SHOWN(&bad))
                         : fail(&r, 400, "too many query parameters");
    else if (rc)
        status = fail(&r, 503, "out of memory");
    else
        status = routes[route].handler(&r);
    arena_free(r.a);
    return status;
}
