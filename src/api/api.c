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

/* One trace of a list: the fields the traces table shows. */
static void trace_entry(lt_buf *out, const lt_trace_summary *t)
{
    buf_append_c(out, "{\"trace_id\":");
    jsonw_hex(out, t->trace_id, 16);
    buf_append_c(out, ",\"root_name\":");
    jsonw_str(out, t->root_name);
    buf_append_c(out, ",\"root_service\":");
    jsonw_str(out, t->root_service);
    buf_append_c(out, ",\"start_unix_nano\":");
    jsonw_u64_str(out, t->start_unix_nano);
    buf_append_c(out, ",\"duration_ns\":");
    jsonw_u64_str(out, t->end_unix_nano > t->start_unix_nano ? t->end_unix_nano - t->start_unix_nano
                                                             : 0);
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

static void trace_entries(lt_buf *out, const lt_trace_summary *t, uint32_t n)
{
    buf_putc(out, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_putc(out, ',');
        trace_entry(out, &t[i]);
    }
    buf_putc(out, ']');
}

/* The answer to a failed search: the text's fault (400) or the store's. */
static int text_fail(request *r, int rc, const char *what)
{
    if (rc == LT_ETOOBIG)
        return fail(r, 400, "q: the text matches too much to %s at once; add words", what);
    if (rc == LT_EINVAL) return fail(r, 400, "q: the text cannot be searched");
    return store_fail(r, rc, "traces");
}

/* Reads the filters of a trace query (everything /api/traces takes but limit, cursor and
 * sort); 0 or the status of the error answer written. */
static int trace_filters(request *r, lt_trace_query *q)
{
    const api_params *p = &r->params;
    const lt_str *v;
    int st;
    if ((v = api_params_get(p, "service"))) q->service = *v;
    if ((v = api_params_get(p, "name"))) q->name = *v;
    if ((v = api_params_get(p, "q"))) q->text = *v;
    if ((st = param_time(r, "start", &q->start_min)) || (st = param_time(r, "end", &q->start_max)))
        return st;
    if (q->start_max && q->start_min > q->start_max) return fail(r, 400, "start: later than end");
    if ((st = param_duration(r, "min_duration", &q->min_duration_ns)) ||
        (st = param_duration(r, "max_duration", &q->max_duration_ns)))
        return st;
    if (q->max_duration_ns && q->min_duration_ns > q->max_duration_ns)
        return fail(r, 400, "min_duration: greater than max_duration");
    if ((v = api_params_get(p, "status")) && v->len) {
        if (lt_str_eq_c(*v, "error") || lt_str_eq_c(*v, "ERROR"))
            q->errors_only = true;
        else if (!lt_str_eq_c(*v, "any"))
            return bad_param(r, "status", v, "'error' or 'any'");
    }
    if ((v = api_params_get(p, "attr")) && v->len) {
        const char *eq = memchr(v->ptr, '=', v->len);
        if (!eq || eq == v->ptr) return bad_param(r, "attr", v, "KEY=VALUE");
        q->attr_key = (lt_str){v->ptr, (size_t)(eq - v->ptr)};
        q->attr_value = (lt_str){eq + 1, v->len - q->attr_key.len - 1};
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
            *(lt_str *)((char *)q + genai_strs[i].off) = *v;
    if ((v = api_params_get(p, "min_cost")) && v->len && api_parse_number(*v, &q->min_cost))
        return bad_param(r, "min_cost", v, "a non-negative number of US dollars");
    if ((v = api_params_get(p, "min_tokens")) && v->len && parse_u64(*v, &q->min_tokens))
        return bad_param(r, "min_tokens", v, "a non-negative integer");
    return 0;
}

/* GET /api/traces?sort=cost|duration: the most expensive (slowest) traces, no pages. */
static int ranked_traces(request *r, const lt_trace_query *q, bool by_cost)
{
    if (q->has_cursor)
        return fail(r, 400, "cursor: a list sorted by cost or duration has no pages");
    lt_trace_stats ts;
    int rc = store_trace_stats(r->store, q, q->limit, r->a, &ts);
    if (rc) return q->text.len ? text_fail(r, rc, "rank") : store_fail(r, rc, "traces");
    buf_append_c(r->out, "{\"traces\":");
    if (by_cost)
        trace_entries(r->out, ts.by_cost, ts.n_cost);
    else
        trace_entries(r->out, ts.by_duration, ts.n_duration);
    buf_printf(r->out, ",\"next_cursor\":null,\"partial\":%s}", ts.partial ? "true" : "false");
    return 200;
}

static int list_traces(request *r)
{
    lt_trace_query q = {.limit = API_DEFAULT_LIMIT};
    const api_params *p = &r->params;
    const lt_str *v;
    int st;
    if ((st = trace_filters(r, &q))) return st;
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
    if ((v = api_params_get(p, "sort")) && v->len && !lt_str_eq_c(*v, "start")) {
        if (lt_str_eq_c(*v, "cost") || lt_str_eq_c(*v, "duration"))
            return ranked_traces(r, &q, lt_str_eq_c(*v, "cost"));
        return bad_param(r, "sort", v, "'start', 'cost' or 'duration'");
    }

    lt_trace_list list = {0};
    int rc = store_list_traces(r->store, &q, r->a, &list);
    if (rc) return q.text.len ? text_fail(r, rc, "list") : store_fail(r, rc, "traces");
    lt_buf *out = r->out;
    buf_append_c(out, "{\"traces\":");
    trace_entries(out, list.items, list.n);
    buf_append_c(out, ",\"next_cursor\":");
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

#define DAY_NS 86400000000000ull

/* The range and grouping of a GenAI query: start and end (the range defaults to the 24 hours
 * before end, end to now when neither is given) and group_by. 0 or the error status. */
static int genai_params(request *r, lt_genai_query *q, bool end_now)
{
    int st;
    if ((st = param_time(r, "start", &q->start_min)) || (st = param_time(r, "end", &q->start_max)))
        return st;
    if (!api_params_get(&r->params, "start")) {
        uint64_t now = q->start_max ? q->start_max : time_now_ns();
        if (end_now && !q->start_max) q->start_max = now;
        q->start_min = now > DAY_NS ? now - DAY_NS : 0;
    }
    if (end_now && !q->start_max) q->start_max = time_now_ns();
    if (q->start_max && q->start_min > q->start_max) return fail(r, 400, "start: later than end");
    const lt_str *v = api_params_get(&r->params, "group_by");
    if (v && v->len) {
        size_t i = 0, n = sizeof group_names / sizeof group_names[0];
        while (i < n && !lt_str_eq_c(*v, group_names[i]))
            i++;
        if (i == n)
            return bad_param(r, "group_by", v,
                             "model, provider, operation, service, span_name, agent, user or "
                             "conversation");
        q->group_by = (lt_group_by)i;
    }
    return 0;
}

static void opt_u64(lt_buf *out, const char *key, bool has, uint64_t v)
{
    buf_printf(out, ",\"%s\":", key);
    if (has)
        jsonw_u64_str(out, v);
    else
        buf_append_c(out, "null");
}

static void opt_double(lt_buf *out, const char *key, bool has, double v)
{
    buf_printf(out, ",\"%s\":", key);
    if (has)
        jsonw_double(out, v);
    else
        buf_append_c(out, "null");
}

/* The fields of one group after its key (summary and series points alike). */
static void group_fields(lt_buf *out, const lt_genai_group *g)
{
    buf_printf(out,
               ",\"calls\":%llu,\"errors\":%llu,\"input_tokens\":%llu,\"output_tokens\":%llu,"
               "\"cache_read_tokens\":%llu,\"cache_creation_tokens\":%llu,"
               "\"reasoning_tokens\":%llu,\"cost\":",
               (unsigned long long)g->calls, (unsigned long long)g->errors,
               (unsigned long long)g->input_tokens, (unsigned long long)g->output_tokens,
               (unsigned long long)g->cache_read_tokens,
               (unsigned long long)g->cache_creation_tokens,
               (unsigned long long)g->reasoning_tokens);
    jsonw_double(out, g->cost);
    opt_u64(out, "duration_p50_ns", true, g->duration_p50_ns);
    opt_u64(out, "duration_p95_ns", true, g->duration_p95_ns);
    opt_u64(out, "duration_p99_ns", true, g->duration_p99_ns);
    opt_double(out, "ttft_p50_s", g->has_ttft, g->ttft_p50_s);
    opt_double(out, "ttft_p95_s", g->has_ttft, g->ttft_p95_s);
}

static void groups_json(lt_buf *out, const lt_genai_group *g, uint32_t n)
{
    buf_putc(out, '[');
    for (uint32_t i = 0; i < n; i++) {
        buf_append_c(out, i ? ",{\"key\":" : "{\"key\":");
        jsonw_str(out, g[i].key);
        group_fields(out, &g[i]);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

static int summary_fail(request *r, int rc, const lt_genai_query *q)
{
    if (rc == LT_ETOOBIG)
        return fail(r, 400, "group_by %s: too many groups in this range; narrow start/end",
                    group_names[q->group_by]);
    return store_fail(r, rc, "summary");
}

static void range_json(lt_buf *out, const lt_genai_query *q)
{
    buf_append_c(out, "{\"group_by\":");
    jsonw_cstr(out, group_names[q->group_by]);
    buf_append_c(out, ",\"start_unix_nano\":");
    jsonw_u64_str(out, q->start_min);
    opt_u64(out, "end_unix_nano", q->start_max != 0, q->start_max);
}

/* GET /api/genai/summary?start=&end=&group_by=: calls, errors, tokens by bucket, cost and
 * latency quantiles per group. The range defaults to the last 24 hours. */
static int genai_summary(request *r)
{
    lt_genai_query q = {.group_by = LT_GROUP_MODEL};
    int st = genai_params(r, &q, false);
    if (st) return st;
    lt_genai_group *g = NULL;
    uint32_t n = 0;
    int rc = store_genai_summary(r->store, &q, r->a, &g, &n);
    if (rc) return summary_fail(r, rc, &q);
    range_json(r->out, &q);
    buf_append_c(r->out, ",\"groups\":");
    groups_json(r->out, g, n);
    buf_putc(r->out, '}');
    return 200;
}

enum { SERIES_MAX_BUCKETS = 500, SERIES_DEFAULT_BUCKETS = 120, TOP_TRACES = 10 };

/* Buckets of step over [lo, hi], steps aligned on multiples of step since the epoch. */
static uint64_t bucket_count(uint64_t lo, uint64_t hi, uint64_t step)
{
    return hi / step - lo / step + 1;
}

/* The bucket width: the given step rounded up to whole minutes, or a round width giving
 * about SERIES_DEFAULT_BUCKETS; then widened until the range has at most
 * SERIES_MAX_BUCKETS, so that an answer's work stays bounded whatever is asked. */
static uint64_t series_step(uint64_t lo, uint64_t hi, uint64_t asked)
{
    static const uint64_t minutes[] = {1,   2,   5,   10,   15,   30,    60,    120,
                                       180, 360, 720, 1440, 2880, 10080, 20160, 43200};
    if (asked > 3650 * DAY_NS) asked = 3650 * DAY_NS; /* ten years: no overflow below */
    uint64_t step = asked ? (asked + LT_STEP_MIN_NS - 1) / LT_STEP_MIN_NS * LT_STEP_MIN_NS : 0;
    uint64_t want = asked ? SERIES_MAX_BUCKETS : SERIES_DEFAULT_BUCKETS;
    if (step && bucket_count(lo, hi, step) <= want) return step;
    for (size_t i = 0; i < sizeof minutes / sizeof minutes[0]; i++) {
        uint64_t m = minutes[i] * LT_STEP_MIN_NS;
        if (m >= step && bucket_count(lo, hi, m) <= want) return m;
    }
    /* past a month a step: whole months of 30 days, as many as it takes */
    uint64_t m = 43200 * LT_STEP_MIN_NS;
    return ((hi - lo) / (want - 1) / m + 1) * m;
}

/* GET /api/genai/timeseries?start=&end=&step=&group_by=: the dashboard's data. */
static int genai_timeseries(request *r)
{
    lt_genai_query q = {.group_by = LT_GROUP_MODEL};
    uint64_t asked = 0;
    int st = genai_params(r, &q, true);
    if (st || (st = param_duration(r, "step", &asked))) return st;
    if (asked && asked < LT_STEP_MIN_NS)
        return fail(r, 400, "step: at least 1m (the series is built from per-minute rollups)");
    q.step_ns = series_step(q.start_min, q.start_max, asked);
    lt_genai_group *pts = NULL, *tot = NULL;
    uint32_t n_pts = 0, n_tot = 0;
    int rc = store_genai_summary(r->store, &q, r->a, &pts, &n_pts);
    lt_genai_query whole = q;
    whole.step_ns = 0;
    if (!rc) rc = store_genai_summary(r->store, &whole, r->a, &tot, &n_tot);
    if (rc) return summary_fail(r, rc, &q);
    lt_trace_query tq = {.start_min = q.start_min, .start_max = q.start_max};
    lt_trace_stats ts;
    if ((rc = store_trace_stats(r->store, &tq, TOP_TRACES, r->a, &ts)))
        return store_fail(r, rc, "traces");
    lt_buf *out = r->out;
    range_json(out, &q);
    opt_u64(out, "step_ns", true, q.step_ns);
    buf_append_c(out, ",\"buckets\":[");
    uint64_t first = q.start_min / q.step_ns,
             nb = bucket_count(q.start_min, q.start_max, q.step_ns);
    for (uint64_t i = 0; i < nb; i++) {
        if (i) buf_putc(out, ',');
        jsonw_u64_str(out, (first + i) * q.step_ns);
    }
    buf_append_c(out, "],\"points\":[");
    for (uint32_t i = 0; i < n_pts; i++) {
        buf_printf(out, "%s{\"bucket\":%llu,\"key\":", i ? "," : "",
                   (unsigned long long)(pts[i].bucket_start / q.step_ns - first));
        jsonw_str(out, pts[i].key);
        group_fields(out, &pts[i]);
        buf_putc(out, '}');
    }
    buf_append_c(out, "],\"totals\":");
    groups_json(out, tot, n_tot);
    buf_append_c(out, ",\"top_cost\":");
    trace_entries(out, ts.by_cost, ts.n_cost);
    buf_append_c(out, ",\"top_duration\":");
    trace_entries(out, ts.by_duration, ts.n_duration);
    buf_printf(out, ",\"cost_distribution\":{\"traces\":%llu,\"partial\":%s,\"buckets\":[",
               (unsigned long long)ts.traces, ts.partial ? "true" : "false");
    /* the buckets from the first to the last that holds a trace */
    uint32_t lo = LT_COST_BUCKETS, hi = 0;
    for (uint32_t i = 0; i < LT_COST_BUCKETS; i++)
        if (ts.cost_hist[i]) {
            if (lo == LT_COST_BUCKETS) lo = i;
            hi = i;
        }
    for (uint32_t i = lo; i <= hi && lo < LT_COST_BUCKETS; i++) {
        buf_append_c(out, i > lo ? ",{\"min\":" : "{\"min\":");
        jsonw_double(out, store_cost_bucket_min(i));
        opt_double(out, "max", i + 1 < LT_COST_BUCKETS, i ? store_cost_bucket_min(i + 1) : 0);
        buf_printf(out, ",\"traces\":%llu}", (unsigned long long)ts.cost_hist[i]);
    }
    buf_append_c(out, "]}}");
    return 200;
}

/* GET /api/live?after=&limit=&service=&model=&status=error: spans as they arrive. */
static int live(request *r)
{
    lt_tail_query q = {.limit = 100};
    const api_params *p = &r->params;
    const lt_str *v;
    if ((v = api_params_get(p, "after")) && v->len) {
        if (parse_u64(*v, &q.after))
            return bad_param(r, "after", v, "the next of a previous answer");
        q.has_after = true;
    }
    if ((v = api_params_get(p, "limit")) && v->len) {
        uint64_t limit;
        if (parse_u64(*v, &limit) || limit == 0)
            return bad_param(r, "limit", v, "an integer from 1 to 1000");
        q.limit = limit > API_MAX_LIMIT ? API_MAX_LIMIT : (uint32_t)limit;
    }
    if ((v = api_params_get(p, "service"))) q.service = *v;
    if ((v = api_params_get(p, "model"))) q.model = *v;
    if ((v = api_params_get(p, "status")) && v->len) {
        if (lt_str_eq_c(*v, "error") || lt_str_eq_c(*v, "ERROR"))
            q.errors_only = true;
        else if (!lt_str_eq_c(*v, "any"))
            return bad_param(r, "status", v, "'error' or 'any'");
    }
    lt_tail t;
    int rc = store_tail_spans(r->store, &q, r->a, &t);
    if (rc) return store_fail(r, rc, "spans");
    lt_buf *out = r->out;
    buf_append_c(out, "{\"spans\":[");
    for (uint32_t i = 0; i < t.n; i++) {
        const lt_span_brief *b = &t.items[i];
        buf_append_c(out, i ? ",{\"trace_id\":" : "{\"trace_id\":");
        jsonw_hex(out, b->trace_id, 16);
        buf_putc(out, ',');
        bool parent = b->has_parent && !model_id_is_zero(b->parent_span_id, 8);
        api_span_head(out, b->span_id, parent ? b->parent_span_id : NULL, b->name, b->kind,
                      b->service, b->start_unix_nano, b->end_unix_nano);
        buf_append_c(out, ",\"status\":");
        jsonw_cstr(out, api_status_name(b->status_code));
        buf_append_c(out, ",\"operation\":");
        if (b->has_view && b->operation.len)
            jsonw_str(out, b->operation);
        else
            buf_append_c(out, "null");
        buf_append_c(out, ",\"provider\":");
        if (b->has_view && b->provider.len)
            jsonw_str(out, b->provider);
        else
            buf_append_c(out, "null");
        buf_append_c(out, ",\"model\":");
        if (b->has_view && b->model.len)
            jsonw_str(out, b->model);
        else
            buf_append_c(out, "null");
        buf_append_c(out, ",\"input_tokens\":");
        if (b->has_input_tokens)
            buf_printf(out, "%llu", (unsigned long long)b->input_tokens);
        else
            buf_append_c(out, "null");
        buf_append_c(out, ",\"output_tokens\":");
        if (b->has_output_tokens)
            buf_printf(out, "%llu", (unsigned long long)b->output_tokens);
        else
            buf_append_c(out, "null");
        opt_double(out, "cost", b->has_cost, b->cost);
        buf_putc(out, '}');
    }
    buf_append_c(out, "],\"next\":");
    jsonw_u64_str(out, t.next);
    buf_putc(out, '}');
    return 200;
}

/* A route is a path of fixed text with at most one variable segment ('*', which matches
 * one non-empty segment without '/'). */
static const struct {
    const char *prefix; /* up to the variable segment, or the whole path */
    const char *suffix; /* after it; NULL when the route has no variable segment */
    int (*handler)(request *r);
} routes[] = {
    {"/api/traces", NULL, list_traces},
    {"/api/traces/", "", get_trace},
    {"/api/services", NULL, list_services},
    {"/api/services/", "/operations", list_operations},
    {"/api/genai/summary", NULL, genai_summary},
    {"/api/genai/timeseries", NULL, genai_timeseries},
    {"/api/live", NULL, live},
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
