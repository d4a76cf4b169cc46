/* debug.c — the debug exporter: what passes, written to the log (stderr, core/log.h).
 *
 * verbosity basic (the collector's default): one line per batch with its counts; normal:
 * one line per span, log record or metric (name, ids, kind, status, duration, service; a
 * log's severity and body; a metric's type, unit and number of points); detailed: every
 * field, attributes as JSON objects, and every data point of a metric with its fields
 * (written from the data point tables of model/metrics.h). The text is made
 * on the caller's thread (the batch is gone afterwards) and logged by the exporter's
 * thread; a line longer than a log line holds is continued on the next ones, so detailed
 * output loses nothing. Strings are written JSON-escaped: a newline in a span name cannot
 * forge a log line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export_int.h"

enum { LINE_CHUNK = 900 }; /* log_msg holds 1024 bytes with its prefix */

int debug_parse(const ex_cfg *c, const cfg_node *settings, ex_verbosity *v)
{
    const char *s = NULL;
    int rc = ex_opt_string(c, settings, "verbosity", &s);
    *v = DEBUG_BASIC;
    if (rc || !s) return rc;
    if (!strcmp(s, "basic"))
        *v = DEBUG_BASIC;
    else if (!strcmp(s, "normal"))
        *v = DEBUG_NORMAL;
    else if (!strcmp(s, "detailed"))
        *v = DEBUG_DETAILED;
    else
        return ex_error(c, cfg_get(settings, "verbosity"), "verbosity",
                        "'%s' is not basic, normal or detailed", s);
    return 0;
}

static const char *kind_name(uint32_t k)
{
    static const char *const n[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                    "CLIENT",      "PRODUCER", "CONSUMER"};
    return k < 6 ? n[k] : "?";
}

static const char *status_name(uint32_t s)
{
    return s == LT_STATUS_OK ? "OK" : s == LT_STATUS_ERROR ? "ERROR" : "UNSET";
}

static void hex(lt_buf *out, const uint8_t *id, size_t n)
{
    char h[33];
    hex_encode(id, n, h);
    buf_append(out, h, 2 * n);
}

static void id_fields(lt_buf *out, const uint8_t *trace, const uint8_t *span)
{
    buf_append_c(out, " trace_id=");
    hex(out, trace, 16);
    buf_append_c(out, " span_id=");
    hex(out, span, 8);
}

/* A string cut at max bytes (at a UTF-8 boundary), JSON-quoted. */
static void short_str(lt_buf *out, lt_str s, size_t max)
{
    if (s.len <= max) {
        jsonw_str(out, s);
        return;
    }
    size_t n = max;
    while (n && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
        n--;
    jsonw_str(out, (lt_str){s.ptr, n});
    buf_printf(out, "... (%zu bytes)", s.len);
}

static void span_line(lt_buf *out, const lt_resource *res, const lt_span *s)
{
    buf_append_c(out, "span ");
    short_str(out, s->name, 200);
    id_fields(out, s->trace_id, s->span_id);
    if (s->has_parent) {
        buf_append_c(out, " parent_id=");
        hex(out, s->parent_span_id, 8);
    }
    uint64_t d = s->end_time_unix_nano > s->start_time_unix_nano
                     ? s->end_time_unix_nano - s->start_time_unix_nano
                     : 0;
    buf_printf(out, " kind=%s status=%s duration=%.3fms service=", kind_name(s->kind),
               status_name(s->status_code), (double)d / 1e6);
    short_str(out, model_service_name(res), 200);
    if (s->status_message.len) {
        buf_append_c(out, " message=");
        short_str(out, s->status_message, 200);
    }
    buf_putc(out, '\n');
}

static void attrs_line(lt_buf *out, const char *indent, const char *label, const lt_attrs *a)
{
    buf_printf(out, "%s%s: ", indent, label);
    model_attrs_json(out, a);
    buf_putc(out, '\n');
}

static void scope_line(lt_buf *out, const lt_scope *sc, lt_str schema_url)
{
    buf_append_c(out, "  scope ");
    jsonw_str(out, sc->name);
    buf_append_c(out, " version ");
    jsonw_str(out, sc->version);
    if (schema_url.len) {
        buf_append_c(out, " schema_url ");
        jsonw_str(out, schema_url);
    }
    buf_putc(out, '\n');
    if (sc->attrs.n) attrs_line(out, "  ", "scope attributes", &sc->attrs);
}

static void span_detailed(lt_buf *out, const lt_span *s)
{
    buf_append_c(out, "    span ");
    jsonw_str(out, s->name);
    id_fields(out, s->trace_id, s->span_id);
    if (s->has_parent) {
        buf_append_c(out, " parent_id=");
        hex(out, s->parent_span_id, 8);
    }
    buf_printf(out, " kind=%s start=%" PRIu64 " end=%" PRIu64 " status=%s", kind_name(s->kind),
               s->start_time_unix_nano, s->end_time_unix_nano, status_name(s->status_code));
    if (s->status_message.len) {
        buf_append_c(out, " message=");
        jsonw_str(out, s->status_message);
    }
    if (s->trace_state.len) {
        buf_append_c(out, " trace_state=");
        jsonw_str(out, s->trace_state);
    }
    if (s->flags) buf_printf(out, " flags=%" PRIu32, s->flags);
    buf_printf(out, " dropped: attributes=%" PRIu32 " events=%" PRIu32 " links=%" PRIu32 "\n",
               s->dropped_attributes_count, s->dropped_events_count, s->dropped_links_count);
    attrs_line(out, "      ", "attributes", &s->attrs);
    for (uint32_t i = 0; i < s->events.n; i++) {
        const lt_event *e = &s->events.items[i];
        buf_append_c(out, "      event ");
        jsonw_str(out, e->name);
        buf_printf(out, " time=%" PRIu64 " attributes: ", e->time_unix_nano);
        model_attrs_json(out, &e->attrs);
        buf_putc(out, '\n');
    }
    for (uint32_t i = 0; i < s->links.n; i++) {
        const lt_link *l = &s->links.items[i];
        buf_append_c(out, "      link");
        id_fields(out, l->trace_id, l->span_id);
        buf_append_c(out, " attributes: ");
        model_attrs_json(out, &l->attrs);
        buf_putc(out, '\n');
    }
}

int debug_format_traces(const exporter *ex, const lt_trace_batch *b, lt_buf *out)
{
    buf_printf(out, "traces: %" PRIu32 " resource spans, %" PRIu64 " spans\n", b->n_rs, b->n_spans);
    if (ex->verbosity == DEBUG_BASIC) return out->oom ? LT_ENOMEM : 0;
    for (uint32_t i = 0; i < b->n_rs; i++) {
        const lt_resource_spans *rs = &b->rs[i];
        if (ex->verbosity == DEBUG_DETAILED) {
            buf_printf(out, "resource spans #%" PRIu32 "\n", i);
            attrs_line(out, "", "resource attributes", &rs->resource.attrs);
        }
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            const lt_scope_spans *ss = &rs->scopes[j];
            if (ex->verbosity == DEBUG_DETAILED) scope_line(out, &ss->scope, ss->schema_url);
            for (uint32_t k = 0; k < ss->n_spans; k++)
                if (ex->verbosity == DEBUG_DETAILED)
                    span_detailed(out, &ss->spans[k]);
                else
                    span_line(out, &rs->resource, &ss->spans[k]);
        }
    }
    return out->oom ? LT_ENOMEM : 0;
}

static void log_record(lt_buf *out, const lt_log_record *r, bool detailed)
{
    buf_append_c(out, detailed ? "    log" : "log");
    buf_printf(out, " severity=%" PRIu32, r->severity_number);
    if (r->severity_text.len) {
        buf_append_c(out, " (");
        short_str(out, r->severity_text, 32);
        buf_putc(out, ')');
    }
    if (!model_id_is_zero(r->trace_id, 16) || !model_id_is_zero(r->span_id, 8))
        id_fields(out, r->trace_id, r->span_id);
    if (r->event_name.len) {
        buf_append_c(out, " event=");
        short_str(out, r->event_name, 200);
    }
    if (detailed)
        buf_printf(out, " time=%" PRIu64 " observed=%" PRIu64 " flags=%" PRIu32, r->time_unix_nano,
                   r->observed_time_unix_nano, r->flags);
    buf_append_c(out, " body=");
    if (detailed || r->body.type != LT_VAL_STRING) {
        size_t at = out->len;
        model_value_json(out, &r->body);
        if (!detailed && out->len - at > 300) {
            out->len = at + 300;
            buf_append_c(out, "...");
        }
    } else {
        short_str(out, r->body.u.s, 300);
    }
    buf_putc(out, '\n');
    if (detailed) attrs_line(out, "      ", "attributes", &r->attrs);
}

int debug_format_logs(const exporter *ex, const lt_log_batch *b, lt_buf *out)
{
    buf_printf(out, "logs: %" PRIu32 " resource logs, %" PRIu64 " log records\n", b->n_rl,
               b->n_records);
    if (ex->verbosity == DEBUG_BASIC) return out->oom ? LT_ENOMEM : 0;
    bool detailed = ex->verbosity == DEBUG_DETAILED;
    for (uint32_t i = 0; i < b->n_rl; i++) {
        const lt_resource_logs *rl = &b->rl[i];
        if (detailed) {
            buf_printf(out, "resource logs #%" PRIu32 "\n", i);
            attrs_line(out, "", "resource attributes", &rl->resource.attrs);
        }
        for (uint32_t j = 0; j < rl->n_scopes; j++) {
            const lt_scope_logs *sl = &rl->scopes[j];
            if (detailed) scope_line(out, &sl->scope, sl->schema_url);
            for (uint32_t k = 0; k < sl->n_records; k++)
                log_record(out, &sl->records[k], detailed);
        }
    }
    return out->oom ? LT_ENOMEM : 0;
}

static const char *metric_type_name(lt_metric_type t)
{
    static const char *const n[] = {"none",   "gauge", "sum", "histogram", "exponential_histogram",
                                    "summary"};
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : "?";
}

static const char *temporality_name(uint32_t t)
{
    return t == LT_TEMPORALITY_DELTA        ? "delta"
           : t == LT_TEMPORALITY_CUMULATIVE ? "cumulative"
                                            : "unspecified";
}

static void metric_line(lt_buf *out, const lt_resource *res, const lt_metric *m, bool detailed)
{
    buf_append_c(out, detailed ? "    metric " : "metric ");
    short_str(out, m->name, detailed ? SIZE_MAX : 200);
    buf_printf(out, " type=%s", metric_type_name(m->type));
    if (m->type == LT_METRIC_SUM || m->type == LT_METRIC_HISTOGRAM ||
        m->type == LT_METRIC_EXP_HISTOGRAM)
        buf_printf(out, " temporality=%s", temporality_name(m->temporality));
    if (m->type == LT_METRIC_SUM) buf_printf(out, " monotonic=%s", m->monotonic ? "true" : "false");
    if (m->unit.len) {
        buf_append_c(out, " unit=");
        short_str(out, m->unit, 64);
    }
    buf_printf(out, " points=%" PRIu32, m->n_points);
    if (!detailed) {
        buf_append_c(out, " service=");
        short_str(out, model_service_name(res), 200);
    } else if (m->description.len) {
        buf_append_c(out, " description=");
        jsonw_str(out, m->description);
    }
    buf_putc(out, '\n');
    if (detailed && m->metadata.n) attrs_line(out, "      ", "metadata", &m->metadata);
}

/* The fields of obj, a message of msg, that the encoders would write: " name=value". */
static void point_fields(lt_buf *out, const model_message *msg, const void *obj)
{
    for (uint32_t i = 0; i < msg->n; i++) {
        const model_field *f = &msg->fields[i];
        if (f->kind == MF_SKIP || !model_field_present(obj, f)) continue;
        const void *at = (const char *)obj + f->off;
        buf_printf(out, " %s=", f->json);
        switch (f->kind) {
        case MF_FIXED64:
            buf_printf(out, "%" PRIu64, *(const uint64_t *)at);
            break;
        case MF_DOUBLE:
        case MF_OPT_DOUBLE:
        case MF_ONEOF_DOUBLE:
            jsonw_double(out, *(const double *)at); /* the shortest text of the same double */
            break;
        case MF_ONEOF_INT:
            buf_printf(out, "%" PRId64, *(const int64_t *)at);
            break;
        case MF_SINT32:
            buf_printf(out, "%" PRId32, *(const int32_t *)at);
            break;
        case MF_U32:
            buf_printf(out, "%" PRIu32, *(const uint32_t *)at);
            break;
        case MF_ATTRS:
            model_attrs_json(out, at);
            break;
        case MF_FIXED64S:
        case MF_UINT64S: {
            const lt_u64s *v = at;
            for (uint32_t k = 0; k < v->n; k++)
                buf_printf(out, "%c%" PRIu64, k ? ',' : '[', v->items[k]);
            buf_putc(out, ']');
            break;
        }
        case MF_DOUBLES: {
            const lt_doubles *v = at;
            for (uint32_t k = 0; k < v->n; k++) {
                buf_putc(out, k ? ',' : '[');
                jsonw_double(out, v->items[k]);
            }
            buf_putc(out, ']');
            break;
        }
        case MF_BUCKETS:
            buf_putc(out, '{');
            point_fields(out, &model_buckets_msg, at);
            buf_append_c(out, " }");
            break;
        case MF_QUANTILES: {
            const lt_quantiles *v = at;
            buf_putc(out, '[');
            for (uint32_t k = 0; k < v->n; k++) {
                buf_putc(out, '{');
                point_fields(out, &model_quantile_msg, &v->items[k]);
                buf_append_c(out, " }");
            }
            buf_putc(out, ']');
            break;
        }
        case MF_SKIP:
            break;
        }
    }
}

int debug_format_metrics(const exporter *ex, const lt_metric_batch *b, lt_buf *out)
{
    uint64_t n_metrics = 0;
    for (uint32_t i = 0; i < b->n_rm; i++)
        for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
            n_metrics += b->rm[i].scopes[j].n_metrics;
    buf_printf(out,
               "metrics: %" PRIu32 " resource metrics, %" PRIu64 " metrics, %" PRIu64
               " data points\n",
               b->n_rm, n_metrics, b->n_points);
    if (ex->verbosity == DEBUG_BASIC) return out->oom ? LT_ENOMEM : 0;
    bool detailed = ex->verbosity == DEBUG_DETAILED;
    for (uint32_t i = 0; i < b->n_rm; i++) {
        const lt_resource_metrics *rm = &b->rm[i];
        if (detailed) {
            buf_printf(out, "resource metrics #%" PRIu32 "\n", i);
            attrs_line(out, "", "resource attributes", &rm->resource.attrs);
        }
        for (uint32_t j = 0; j < rm->n_scopes; j++) {
            const lt_scope_metrics *sm = &rm->scopes[j];
            if (detailed) scope_line(out, &sm->scope, sm->schema_url);
            for (uint32_t k = 0; k < sm->n_metrics; k++) {
                const lt_metric *m = &sm->metrics[k];
                metric_line(out, &rm->resource, m, detailed);
                const model_message *msg = model_metric_point_msg(m->type);
                for (uint32_t p = 0; detailed && msg && p < m->n_points; p++) {
                    /* a point starts with its head: the head's address is the point's */
                    buf_append_c(out, "      point");
                    point_fields(out, msg, model_metric_point(m, p));
                    buf_putc(out, '\n');
                }
            }
        }
    }
    return out->oom ? LT_ENOMEM : 0;
}

void debug_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r)
{
    (void)c;
    const char *p = it->data.data, *end = p + it->data.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        bool first = true;
        do { /* a long line continues on the next log lines, marked with "+ " */
            size_t n = (size_t)(stop - p) > LINE_CHUNK ? LINE_CHUNK : (size_t)(stop - p);
            while (n && n < (size_t)(stop - p) && ((unsigned char)p[n] & 0xc0) == 0x80)
                n--;
            if (!n) n = (size_t)(stop - p) > LINE_CHUNK ? LINE_CHUNK : (size_t)(stop - p);
            log_info("%s: %s%.*s", ex->id, first ? "" : "+ ", (int)n, p);
            p += n;
            first = false;
        } while (p < stop);
        p = stop + 1;
    }
    r->outcome = EX_SENT;
}
