/* api_trace.c — one trace as the API's JSON document.
 *
 * The store hands back a trace as it was sent: spans grouped by resource and scope, log
 * records apart. Here the spans are flattened, ordered by start time (a parent before its
 * children on a tie, so a waterfall can be drawn top-down), and each log record is
 * attached to the span whose id it carries; the others stay at trace level. Lookups go
 * through an index of span ids sorted once, so a trace of n spans and m records costs
 * O((n + m) log n) whatever its shape, and parent chains are followed iteratively with
 * cycle detection: a hostile sender cannot make this recurse or loop. */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "genai/genai.h"
#include "core/err.h"
#include "core/jsonw.h"

typedef struct span_ref span_ref;

typedef struct {
    const lt_log_record *rec;
    const lt_resource *res;
    uint64_t time;   /* time_unix_nano, or the observed time when that is unset */
    uint32_t seq;    /* arrival order, for a stable sort */
    span_ref *owner; /* NULL: no stored span carries this record's span id */
} log_ref;

struct span_ref {
    const lt_span *span;
    const lt_resource *res;
    const lt_scope *scope;
    uint32_t seq;
    uint32_t depth;
    span_ref *parent;
    log_ref **logs;
    uint32_t n_logs;
};

enum { DEPTH_UNKNOWN = UINT32_MAX, DEPTH_VISITING = UINT32_MAX - 1 };

static int cmp_by_id(const void *pa, const void *pb)
{
    const span_ref *a = *(span_ref *const *)pa, *b = *(span_ref *const *)pb;
    int c = memcmp(a->span->span_id, b->span->span_id, 8);
    if (c) return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_by_start(const void *pa, const void *pb)
{
    const span_ref *a = *(span_ref *const *)pa, *b = *(span_ref *const *)pb;
    uint64_t sa = a->span->start_time_unix_nano, sb = b->span->start_time_unix_nano;
    if (sa != sb) return sa < sb ? -1 : 1;
    if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_log(const void *pa, const void *pb)
{
    const log_ref *a = pa, *b = pb;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The first span (in arrival order) with this id, or NULL. */
static span_ref *find_span(span_ref **by_id, uint32_t n, const uint8_t id[8])
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (memcmp(by_id[mid]->span->span_id, id, 8) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && memcmp(by_id[lo]->span->span_id, id, 8) == 0 ? by_id[lo] : NULL;
}

/* Depth of every span below its furthest known ancestor. Walks each parent chain once
 * (memoised); a span on a cycle counts as a root where the walk closes the cycle. */
static void compute_depths(span_ref *refs, uint32_t n, span_ref **path)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0;
        span_ref *cur = &refs[i];
        while (cur && cur->depth == DEPTH_UNKNOWN) {
            cur->depth = DEPTH_VISITING;
            path[len++] = cur;
            cur = cur->parent;
        }
        uint32_t d = cur && cur->depth != DEPTH_VISITING ? cur->depth + 1 : 0;
        while (len > 0)
            path[--len]->depth = d++;
    }
}

static void write_log(lt_buf *out, const log_ref *l)
{
    const lt_log_record *r = l->rec;
    lt_str event = r->event_name;
    if (event.len == 0) {
        const lt_value *v = model_attr_get(&r->attrs, LT_STR("event.name"));
        if (v && v->type == LT_VAL_STRING) event = v->u.s;
    }
    buf_append_c(out, "{\"time_unix_nano\":");
    jsonw_u64_str(out, r->time_unix_nano);
    buf_append_c(out, ",\"observed_time_unix_nano\":");
    jsonw_u64_str(out, r->observed_time_unix_nano);
    buf_printf(out, ",\"severity_number\":%u,\"severity_text\":", r->severity_number);
    jsonw_str(out, r->severity_text);
    buf_append_c(out, ",\"event_name\":");
    jsonw_str(out, event);
    buf_append_c(out, ",\"body\":");
    model_value_json(out, &r->body);
    buf_append_c(out, ",\"attributes\":");
    model_attrs_json(out, &r->attrs);
    buf_append_c(out, ",\"span_id\":");
    if (model_id_is_zero(r->span_id, 8))
        buf_append_c(out, "null");
    else
        jsonw_hex(out, r->span_id, 8);
    buf_append_c(out, ",\"service\":");
    jsonw_str(out, model_service_name(l->res));
    if (r->flags) buf_printf(out, ",\"flags\":%u", r->flags);
    if (r->dropped_attributes_count)
        buf_printf(out, ",\"dropped_attributes_count\":%u", r->dropped_attributes_count);
    buf_putc(out, '}');
}

void api_genai_json(lt_buf *out, const lt_genai *g)
{
    bool first = true;
    buf_putc(out, '{');
    for (int f = 0; f < GA_N_FIELDS; f++) {
        if (g->v[f].type == LT_VAL_EMPTY) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        jsonw_cstr(out, model_genai_fields[f].key);
        buf_putc(out, ':');
        model_value_json(out, &g->v[f]);
    }
    buf_putc(out, '}');
}

static const char *const part_names[] = {
    [GA_PART_TEXT] = "text",
    [GA_PART_TOOL_CALL] = "tool_call",
    [GA_PART_TOOL_CALL_RESPONSE] = "tool_call_response",
    [GA_PART_REASONING] = "reasoning",
    [GA_PART_MEDIA] = "media",
    [GA_PART_OTHER] = "other",
};

/* Writes ,"key":s when s is not empty. */
static void opt_str(lt_buf *out, const char *key, lt_str s)
{
    if (!s.len) return;
    buf_printf(out, ",\"%s\":", key);
    jsonw_str(out, s);
}

static void write_part(lt_buf *out, const genai_part *p)
{
    buf_append_c(out, "{\"type\":");
    jsonw_cstr(out, (unsigned)p->type < sizeof part_names / sizeof part_names[0]
                        ? part_names[p->type]
                        : "other");
    if (p->type == GA_PART_OTHER || p->type == GA_PART_MEDIA)
        opt_str(out, "type_name", p->type_name);
    opt_str(out, "id", p->id);
    opt_str(out, "name", p->name);
    if (p->type == GA_PART_TEXT || p->type == GA_PART_REASONING || p->type == GA_PART_OTHER) {
        buf_append_c(out, ",\"content\":");
        jsonw_str(out, p->content);
    } else {
        opt_str(out, "content", p->content);
    }
    if (p->payload.type != LT_VAL_EMPTY) {
        buf_append_c(out, p->type == GA_PART_TOOL_CALL ? ",\"arguments\":" : ",\"response\":");
        model_value_json(out, &p->payload);
    }
    opt_str(out, "uri", p->uri);
    opt_str(out, "mime_type", p->mime_type);
    opt_str(out, "modality", p->modality);
    buf_putc(out, '}');
}

static void write_messages(lt_buf *out, const char *key, const genai_message *m, uint32_t n)
{
    buf_printf(out, "\"%s\":[", key);
    for (uint32_t i = 0; i < n; i++) {
        buf_append_c(out, i ? ",{\"role\":" : "{\"role\":");
        jsonw_str(out, m[i].role);
        opt_str(out, "name", m[i].name);
        opt_str(out, "finish_reason", m[i].finish_reason);
        buf_append_c(out, ",\"parts\":[");
        for (uint32_t j = 0; j < m[i].n_parts; j++) {
            if (j) buf_putc(out, ',');
            write_part(out, &m[i].parts[j]);
        }
        buf_append_c(out, "]}");
    }
    buf_putc(out, ']');
}

/* ,"genai":{...},"messages":{...},"documents":[...] for the spans that have them. Messages
 * are derived here, on read, because their log records may arrive after the span. */
static int write_genai(lt_buf *out, lt_arena *a, const span_ref *r)
{
    const lt_span *s = r->span;
    if (s->genai) {
        buf_append_c(out, ",\"genai\":");
        api_genai_json(out, s->genai);
    }
    const lt_log_record **recs = NULL;
    if (r->n_logs && !(recs = arena_alloc(a, r->n_logs * sizeof *recs))) return LT_ENOMEM;
    for (uint32_t i = 0; i < r->n_logs; i++)
        recs[i] = r->logs[i]->rec;
    genai_messages m = {0};
    int rc = genai_messages_collect(s, recs, r->n_logs, a, &m);
    if (rc < 0) return rc;
    if (m.n_input || m.n_output || m.n_system) {
        buf_append_c(out, ",\"messages\":{");
        write_messages(out, "input", m.input, m.n_input);
        buf_putc(out, ',');
        write_messages(out, "output", m.output, m.n_output);
        buf_putc(out, ',');
        write_messages(out, "system", m.system, m.n_system);
        buf_putc(out, '}');
    }
    if (m.n_docs) {
        buf_append_c(out, ",\"documents\":[");
        for (uint32_t i = 0; i < m.n_docs; i++) {
            buf_append_c(out, i ? ",{\"id\":" : "{\"id\":");
            jsonw_str(out, m.docs[i].id);
            buf_append_c(out, ",\"score\":");
            if (m.docs[i].has_score)
                jsonw_double(out, m.docs[i].score);
            else
                buf_append_c(out, "null");
            buf_append_c(out, ",\"content\":");
            jsonw_str(out, m.docs[i].content);
            buf_putc(out, '}');
        }
        buf_putc(out, ']');
    }
    return 0;
}

void api_span_head(lt_buf *out, const uint8_t span_id[8], const uint8_t *parent, lt_str name,
                   uint32_t kind, lt_str service, uint64_t start, uint64_t end)
{
    buf_append_c(out, "\"span_id\":");
    jsonw_hex(out, span_id, 8);
    buf_append_c(out, ",\"parent_span_id\":");
    if (parent)
        jsonw_hex(out, parent, 8);
    else
        buf_append_c(out, "null");
    buf_append_c(out, ",\"name\":");
    jsonw_str(out, name);
    buf_append_c(out, ",\"kind\":");
    jsonw_cstr(out, api_kind_name(kind));
    buf_append_c(out, ",\"service\":");
    jsonw_str(out, service);
    buf_append_c(out, ",\"start_unix_nano\":");
    jsonw_u64_str(out, start);
    buf_append_c(out, ",\"end_unix_nano\":");
    jsonw_u64_str(out, end);
    buf_append_c(out, ",\"duration_ns\":");
    jsonw_u64_str(out, end > start ? end - start : 0);
}

static int write_span(lt_buf *out, lt_arena *a, const span_ref *r)
{
    const lt_span *s = r->span;
    buf_putc(out, '{');
    api_span_head(out, s->span_id,
                  s->has_parent && !model_id_is_zero(s->parent_span_id, 8) ? s->parent_span_id
                                                                           : NULL,
                  s->name, s->kind, model_service_name(r->res), s->start_time_unix_nano,
                  s->end_time_unix_nano);
    buf_append_c(out, ",\"status\":{\"code\":");
    jsonw_cstr(out, api_status_name(s->status_code));
    buf_append_c(out, ",\"message\":");
    jsonw_str(out, s->status_message);
    buf_append_c(out, "},\"resource\":");
    model_attrs_json(out, &r->res->attrs);
    buf_append_c(out, ",\"scope\":{\"name\":");
    jsonw_str(out, r->scope->name);
    buf_append_c(out, ",\"version\":");
    jsonw_str(out, r->scope->version);
    buf_append_c(out, ",\"attributes\":");
    model_attrs_json(out, &r->scope->attrs);
    buf_append_c(out, "},\"attributes\":");
    model_attrs_json(out, &s->attrs);
    buf_append_c(out, ",\"events\":[");
    for (uint32_t i = 0; i < s->events.n; i++) {
        const lt_event *e = &s->events.items[i];
        buf_append_c(out, i ? ",{\"time_unix_nano\":" : "{\"time_unix_nano\":");
        jsonw_u64_str(out, e->time_unix_nano);
        buf_append_c(out, ",\"name\":");
        jsonw_str(out, e->name);
        buf_append_c(out, ",\"attributes\":");
        model_attrs_json(out, &e->attrs);
        if (e->dropped_attributes_count)
            buf_printf(out, ",\"dropped_attributes_count\":%u", e->dropped_attributes_count);
        buf_putc(out, '}');
    }
    buf_append_c(out, "],\"links\":[");
    for (uint32_t i = 0; i < s->links.n; i++) {
        const lt_link *l = &s->links.items[i];
        buf_append_c(out, i ? ",{\"trace_id\":" : "{\"trace_id\":");
        jsonw_hex(out, l->trace_id, 16);
        buf_append_c(out, ",\"span_id\":");
        jsonw_hex(out, l->span_id, 8);
        buf_append_c(out, ",\"trace_state\":");
        jsonw_str(out, l->trace_state);
        buf_append_c(out, ",\"attributes\":");
        model_attrs_json(out, &l->attrs);
        if (l->flags) buf_printf(out, ",\"flags\":%u", l->flags);
        if (l->dropped_attributes_count)
            buf_printf(out, ",\"dropped_attributes_count\":%u", l->dropped_attributes_count);
        buf_putc(out, '}');
    }
    buf_append_c(out, "],\"logs\":[");
    for (uint32_t i = 0; i < r->n_logs; i++) {
        if (i) buf_putc(out, ',');
        write_log(out, r->logs[i]);
    }
    buf_putc(out, ']');
    if (s->trace_state.len) {
        buf_append_c(out, ",\"trace_state\":");
        jsonw_str(out, s->trace_state);
    }
    if (s->flags) buf_printf(out, ",\"flags\":%u", s->flags);
    if (s->dropped_attributes_count)
        buf_printf(out, ",\"dropped_attributes_count\":%u", s->dropped_attributes_count);
    if (s->dropped_events_count)
        buf_printf(out, ",\"dropped_events_count\":%u", s->dropped_events_count);
    if (s->dropped_links_count)
        buf_printf(out, ",\"dropped_links_count\":%u", s->dropped_links_count);
    int rc = write_genai(out, a, r);
    buf_putc(out, '}');
    return rc;
}

/* ,"totals":{...}: the trace's duration, spans and GenAI sums, for the head of a trace view. */
static void write_totals(lt_buf *out, const span_ref *refs, uint32_t n)
{
    static const genai_field sums[] = {GA_INPUT_TOKENS, GA_OUTPUT_TOKENS, GA_CACHE_READ,
                                       GA_CACHE_CREATION, GA_REASONING};
    static const char *const names[] = {"input_tokens", "output_tokens", "cache_read_tokens",
                                        "cache_creation_tokens", "reasoning_tokens"};
    int64_t tok[5] = {0};
    uint64_t t0 = UINT64_MAX, t1 = 0;
    uint32_t calls = 0, errors = 0, unpriced = 0;
    double cost = 0;
    for (uint32_t i = 0; i < n; i++) {
        const lt_span *s = refs[i].span;
        if (s->start_time_unix_nano < t0) t0 = s->start_time_unix_nano;
        if (s->end_time_unix_nano > t1) t1 = s->end_time_unix_nano;
        if (s->status_code == LT_STATUS_ERROR) errors++;
        const lt_genai *g = s->genai;
        if (!g) continue;
        bool counted = genai_has(g, GA_INPUT_TOKENS) || genai_has(g, GA_OUTPUT_TOKENS);
        if (counted) calls++;
        for (int k = 0; k < 5; k++)
            tok[k] += genai_int(g, sums[k], 0);
        if (genai_has(g, GA_COST))
            cost += genai_double(g, GA_COST, 0);
        else if (counted)
            unpriced++;
    }
    buf_printf(out, ",\"totals\":{\"span_count\":%u,\"error_count\":%u,\"duration_ns\":", n,
               errors);
    jsonw_u64_str(out, n && t1 > t0 ? t1 - t0 : 0);
    buf_printf(out, ",\"llm_calls\":%u", calls);
    for (int k = 0; k < 5; k++)
        buf_printf(out, ",\"%s\":%lld", names[k], (long long)tok[k]);
    buf_append_c(out, ",\"cost\":");
    jsonw_double(out, cost);
    buf_printf(out, ",\"unpriced_calls\":%u}", unpriced);
}

int api_trace_json(lt_buf *out, lt_arena *a, const uint8_t trace_id[16], const lt_trace_data *d)
{
    uint64_t n64 = 0, m64 = 0;
    for (uint32_t i = 0; i < d->spans.n_rs; i++)
        for (uint32_t j = 0; j < d->spans.rs[i].n_scopes; j++)
            n64 += d->spans.rs[i].scopes[j].n_spans;
    for (uint32_t i = 0; i < d->logs.n_rl; i++)
        for (uint32_t j = 0; j < d->logs.rl[i].n_scopes; j++)
            m64 += d->logs.rl[i].scopes[j].n_records;
    if (n64 >= DEPTH_VISITING || m64 >= UINT32_MAX) return LT_ETOOBIG;
    uint32_t n = (uint32_t)n64, m = (uint32_t)m64;

    span_ref *refs = arena_calloc(a, n ? n : 1, sizeof *refs);
    span_ref **by_id = arena_calloc(a, n ? n : 1, sizeof *by_id);
    span_ref **order = arena_calloc(a, n ? n : 1, sizeof *order);
    log_ref *logs = arena_calloc(a, m ? m : 1, sizeof *logs);
    log_ref **log_slots = arena_calloc(a, m ? m : 1, sizeof *log_slots);
    if (!refs || !by_id || !order || !logs || !log_slots) return LT_ENOMEM;

    uint32_t k = 0;
    for (uint32_t i = 0; i < d->spans.n_rs; i++) {
        const lt_resource_spans *rs = &d->spans.rs[i];
        for (uint32_t j = 0; j < rs->n_scopes; j++)
            for (uint32_t x = 0; x < rs->scopes[j].n_spans; x++, k++) {
                refs[k] = (span_ref){.span = &rs->scopes[j].spans[x],
                                     .res = &rs->resource,
                                     .scope = &rs->scopes[j].scope,
                                     .seq = k,
                                     .depth = DEPTH_UNKNOWN};
                by_id[k] = order[k] = &refs[k];
            }
    }
    if (n > 1) qsort(by_id, n, sizeof *by_id, cmp_by_id);
    for (uint32_t i = 0; i < n; i++) {
        const lt_span *s = refs[i].span;
        span_ref *p = s->has_parent ? find_span(by_id, n, s->parent_span_id) : NULL;
        refs[i].parent = p == &refs[i] ? NULL : p;
    }
    /* order doubles as the path stack here; it is refilled below */
    compute_depths(refs, n, order);
    for (uint32_t i = 0; i < n; i++)
        order[i] = &refs[i];
    if (n > 1) qsort(order, n, sizeof *order, cmp_by_start);

    k = 0;
    for (uint32_t i = 0; i < d->logs.n_rl; i++) {
        const lt_resource_logs *rl = &d->logs.rl[i];
        for (uint32_t j = 0; j < rl->n_scopes; j++)
            for (uint32_t x = 0; x < rl->scopes[j].n_records; x++, k++) {
                const lt_log_record *r = &rl->scopes[j].records[x];
                logs[k] = (log_ref){.rec = r,
                                    .res = &rl->resource,
                                    .seq = k,
                                    .time = r->time_unix_nano ? r->time_unix_nano
                                                              : r->observed_time_unix_nano};
                if (!model_id_is_zero(r->span_id, 8))
                    logs[k].owner = find_span(by_id, n, r->span_id);
                if (logs[k].owner) logs[k].owner->n_logs++;
            }
    }
    if (m > 1) qsort(logs, m, sizeof *logs, cmp_log);
    /* hand each span a run of log_slots, filled in time order */
    uint32_t next = 0;
    for (uint32_t i = 0; i < n; i++) {
        refs[i].logs = log_slots + next;
        next += refs[i].n_logs;
        refs[i].n_logs = 0;
    }
    for (uint32_t i = 0; i < m; i++)
        if (logs[i].owner) logs[i].owner->logs[logs[i].owner->n_logs++] = &logs[i];

    buf_append_c(out, "{\"trace_id\":");
    jsonw_hex(out, trace_id, 16);
    write_totals(out, refs, n);
    buf_append_c(out, ",\"spans\":[");
    for (uint32_t i = 0; i < n && !out->oom; i++) {
        if (i) buf_putc(out, ',');
        int rc = write_span(out, a, order[i]);
        if (rc) return rc;
    }
    buf_append_c(out, "],\"logs\":[");
    bool first = true;
    for (uint32_t i = 0; i < m && !out->oom; i++) {
        if (logs[i].owner) continue;
        if (!first) buf_putc(out, ',');
        first = false;
        write_log(out, &logs[i]);
    }
    buf_append_c(out, "]}");
    return out->oom ? LT_ENOMEM : 0;
}
