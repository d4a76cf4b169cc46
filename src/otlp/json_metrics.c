/* json_metrics.c — OTLP/JSON metrics: decoder and canonical encoder (see json.h).
 *
 * The same pull parser as json.c (through json_int.h): one forward pass over the request,
 * each message read member by member straight into the model of model/metrics.h, unknown
 * members skipped, strings unescaped in place. The data point messages are read and
 * written from their schema tables (metrics.h), by member name. Every repeated field goes
 * through read_array(), which reads the elements with a per-type function onto the
 * scratch stack and copies them into one arena array of their exact count. The decoded model is the
 * one pb_decode_metrics gives for the same request: a member of Metric.data replaces any earlier
 * one, exemplars are skipped, a metric without a name is dropped and its points counted as
 * rejected. */
#include <inttypes.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonw.h"
#include "model/metrics.h"
#include "otlp/json.h"
#include "otlp/json_int.h"

/* ---------------------------------------------------------------------------------------
 * Decoder */

/* Reads one element of a repeated field into elem (zeroed): 0 to keep it, 1 to leave it
 * out, or an error. ctx is the read_array caller's. */
typedef int (*elem_fn)(jp *j, void *elem, const void *ctx);

/* Room for one element of any repeated field read here. */
typedef union {
    lt_number_point number;
    lt_histogram_point histogram;
    lt_exp_histogram_point exp_histogram;
    lt_summary_point summary;
    lt_quantile quantile;
    lt_metric metric;
    lt_scope_metrics scope;
    lt_resource_metrics resource;
    uint64_t u64;
    double d;
} any_elem;

static_assert(sizeof(lt_number_point) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_histogram_point) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_exp_histogram_point) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_summary_point) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_quantile) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_metric) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_scope_metrics) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_resource_metrics) % 8 == 0, "scratch alignment");

/* A JSON array of elements of size bytes, appended to the *n at *items (a field given
 * twice concatenates); more than max elements in all is LT_ETOOBIG. */
static int read_array(jp *j, size_t size, uint64_t max, elem_fn fn, const void *ctx, void **items,
                      uint32_t *n)
{
    arr ar;
    arr_begin(j, &ar);
    uint64_t cnt = *n;
    int idx = 0, rc;
    TRY(jsonp_open_c(j, '['));
    while ((rc = jsonp_arr_next(j, &idx)) == 1) {
        if (++cnt > max) return LT_ETOOBIG;
        any_elem e;
        memset(&e, 0, sizeof e);
        rc = fn(j, &e, ctx);
        if (rc < 0) return rc;
        if (rc == 0) TRY(jsonp_push(j, &ar, &e, size));
    }
    if (rc < 0) return rc;
    return jsonp_collect(j, &ar, size, items, n);
}

/* A null element of a number array is the default, 0 (json.h). */
static bool take_null(jp *j)
{
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return true;
    }
    return false;
}

static int u64_elem(jp *j, void *e, const void *ctx)
{
    (void)ctx;
    return take_null(j) ? 0 : jsonp_get_u64(j, e);
}

static int double_elem(jp *j, void *e, const void *ctx)
{
    (void)ctx;
    return take_null(j) ? 0 : jsonp_get_double(j, e);
}

static int read_u64s(jp *j, lt_u64s *a)
{
    void *p = a->items;
    TRY(read_array(j, sizeof(uint64_t), MODEL_MAX_BUCKETS, u64_elem, NULL, &p, &a->n));
    a->items = p;
    return 0;
}

static int read_doubles(jp *j, lt_doubles *a)
{
    void *p = a->items;
    TRY(read_array(j, sizeof(double), MODEL_MAX_BUCKETS, double_elem, NULL, &p, &a->n));
    a->items = p;
    return 0;
}

/* sint32 / int32 fields (scale, offset). */
static int get_i32(jp *j, int32_t *out)
{
    int64_t v;
    TRY(jsonp_get_i64(j, &v));
    if (v < INT32_MIN || v > INT32_MAX) return LT_EINVAL;
    *out = (int32_t)v;
    return 0;
}

static int read_fields(jp *j, void *obj, const model_message *d);

/* An element of quantileValues (ctx: the message). */
static int msg_elem(jp *j, void *elem, const void *ctx)
{
    return read_fields(j, elem, ctx);
}

/* A data point (ctx: its message): counted as an item, kept also when null (the default
 * point, as protobuf has it). */
static int point_elem(jp *j, void *elem, const void *ctx)
{
    TRY(jsonp_count_item(j));
    return read_fields(j, elem, ctx);
}

/* One member of a message of the schema (metrics.h) into obj. */
static int read_field(jp *j, void *obj, const model_field *f)
{
    char *at = (char *)obj + f->off;
    model_field_mark(obj, f);
    switch (f->kind) {
    case MF_FIXED64:
        return jsonp_get_u64(j, (uint64_t *)(void *)at);
    case MF_ONEOF_INT:
        return jsonp_get_i64(j, (int64_t *)(void *)at);
    case MF_DOUBLE:
    case MF_OPT_DOUBLE:
    case MF_ONEOF_DOUBLE:
        return jsonp_get_double(j, (double *)(void *)at);
    case MF_SINT32:
        return get_i32(j, (int32_t *)(void *)at);
    case MF_U32:
        return jsonp_get_u32(j, (uint32_t *)(void *)at);
    case MF_ATTRS:
        return jsonp_attrs(j, (lt_attrs *)(void *)at);
    case MF_FIXED64S:
    case MF_UINT64S:
        return read_u64s(j, (lt_u64s *)(void *)at);
    case MF_DOUBLES:
        return read_doubles(j, (lt_doubles *)(void *)at);
    case MF_BUCKETS: /* a second one merges into the first, as in protobuf */
        return read_fields(j, at, &model_buckets_msg);
    case MF_QUANTILES: {
        lt_quantiles *a = (lt_quantiles *)(void *)at;
        void *p = a->items;
        TRY(read_array(j, sizeof(lt_quantile), MODEL_MAX_BUCKETS, msg_elem, &model_quantile_msg, &p,
                       &a->n));
        a->items = p;
        return 0;
    }
    default: /* MF_SKIP: exemplars */
        return jsonp_skip_value(j);
    }
}

/* A message of the schema; null is the default message. Unknown members are skipped. */
static int read_fields(jp *j, void *obj, const model_message *d)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        const model_field *f = NULL;
        for (uint32_t i = 0; i < d->n && !f; i++)
            if (lt_str_eq_c(k, d->fields[i].json)) f = &d->fields[i];
        rc = f ? read_field(j, obj, f) : jsonp_skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* The member of Metric.data under key k, or NONE. */
static lt_metric_type data_member(lt_str k)
{
    if (K(k, "gauge")) return LT_METRIC_GAUGE;
    if (K(k, "sum")) return LT_METRIC_SUM;
    if (K(k, "histogram")) return LT_METRIC_HISTOGRAM;
    if (K(k, "exponentialHistogram")) return LT_METRIC_EXP_HISTOGRAM;
    if (K(k, "summary")) return LT_METRIC_SUMMARY;
    return LT_METRIC_NONE;
}

/* Gauge, Sum, Histogram, ExponentialHistogram, Summary: replaces any earlier member. */
static int data(jp *j, lt_metric *m, lt_metric_type type)
{
    lt_str k;
    int idx = 0, rc;
    m->type = type;
    m->temporality = 0;
    m->monotonic = false;
    model_metric_set_points(m, NULL, 0);
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    bool has_temporality =
        type == LT_METRIC_SUM || type == LT_METRIC_HISTOGRAM || type == LT_METRIC_EXP_HISTOGRAM;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "dataPoints")) {
            void *p = m->points.number;
            uint32_t n = m->n_points;
            const model_message *pm = model_metric_point_msg(type);
            rc = read_array(j, pm->size, MODEL_MAX_ITEMS, point_elem, pm, &p, &n);
            model_metric_set_points(m, p, n);
        } else if (has_temporality && K(k, "aggregationTemporality")) {
            rc = jsonp_get_u32(j, &m->temporality);
        } else if (type == LT_METRIC_SUM && K(k, "isMonotonic")) {
            rc = jsonp_get_bool(j, &m->monotonic);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* Metric: left out (1) when it has no name, its points counted as rejected. */
static int metric(jp *j, void *elem, const void *ctx)
{
    lt_metric *m = elem;
    lt_str k;
    int idx = 0, rc;
    (void)ctx;
    TRY(jsonp_count_item(j));
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 1;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        lt_metric_type t = data_member(k);
        if (t != LT_METRIC_NONE)
            rc = data(j, m, t);
        else if (K(k, "name"))
            rc = jsonp_get_str(j, &m->name);
        else if (K(k, "description"))
            rc = jsonp_get_str(j, &m->description);
        else if (K(k, "unit"))
            rc = jsonp_get_str(j, &m->unit);
        else if (K(k, "metadata"))
            rc = jsonp_attrs(j, &m->metadata);
        else
            rc = jsonp_skip_value(j);
        if (rc) return rc;
    }
    if (rc < 0) return rc;
    if (m->name.len) return 0;
    j->rejected += m->n_points;
    return 1;
}

/* ScopeMetrics { scope, metrics, schemaUrl } */
static int scope_metrics(jp *j, void *elem, const void *ctx)
{
    lt_scope_metrics *sm = elem;
    lt_str k;
    int idx = 0, rc;
    (void)ctx;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "metrics")) {
            void *p = sm->metrics;
            rc =
                read_array(j, sizeof(lt_metric), MODEL_MAX_ITEMS, metric, NULL, &p, &sm->n_metrics);
            sm->metrics = p;
        } else if (K(k, "scope") || K(k, "instrumentationLibrary")) {
            rc = jsonp_scope(j, &sm->scope);
        } else if (K(k, "schemaUrl")) {
            rc = jsonp_get_str(j, &sm->schema_url);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ResourceMetrics { resource, scopeMetrics (instrumentationLibraryMetrics before OTLP
 * 0.19), schemaUrl } */
static int resource_metrics(jp *j, void *elem, const void *ctx)
{
    lt_resource_metrics *rm = elem;
    lt_str k;
    int idx = 0, rc;
    (void)ctx;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resource")) {
            rc = jsonp_resource(j, &rm->resource);
        } else if (K(k, "scopeMetrics") || K(k, "instrumentationLibraryMetrics")) {
            void *p = rm->scopes;
            rc = read_array(j, sizeof(lt_scope_metrics), MODEL_MAX_ITEMS, scope_metrics, NULL, &p,
                            &rm->n_scopes);
            rm->scopes = p;
        } else if (K(k, "schemaUrl")) {
            rc = jsonp_get_str(j, &rm->schema_url);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ExportMetricsServiceRequest { resourceMetrics } */
static int metrics_request(jp *j, lt_metric_batch *b)
{
    lt_str k;
    int idx = 0, rc;
    TRY(jsonp_open_c(j, '{'));
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resourceMetrics")) {
            void *p = b->rm;
            TRY(read_array(j, sizeof(lt_resource_metrics), MODEL_MAX_ITEMS, resource_metrics, NULL,
                           &p, &b->n_rm));
            b->rm = p;
        } else {
            TRY(jsonp_skip_value(j));
        }
    }
    return rc;
}

int json_decode_metrics(lt_arena *a, char *buf, size_t n, lt_metric_batch *out)
{
    jp j;
    memset(out, 0, sizeof *out);
    int rc = jsonp_begin(&j, a, buf, n);
    if (rc) return rc;
    rc = jsonp_finish(&j, metrics_request(&j, out));
    for (uint32_t i = 0; i < out->n_rm && rc == 0; i++)
        for (uint32_t s = 0; s < out->rm[i].n_scopes; s++)
            for (uint32_t m = 0; m < out->rm[i].scopes[s].n_metrics; m++)
                out->n_points += out->rm[i].scopes[s].metrics[m].n_points;
    out->rejected = j.rejected;
    out->reject_reason = j.rejected ? LT_STR(MODEL_METRIC_REJECT_NO_NAME) : LT_STR("");
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Encoder: canonical, as the protobuf encoder (model/pb.h) — members in field-number
 * order, defaults omitted except where presence means something (a NumberDataPoint's
 * value, the optional sum/min/max), 64-bit integers as strings. */

/* A message of the schema (metrics.h) as a JSON object. */
static void write_fields(lt_buf *b, const void *obj, const model_message *d)
{
    bool first = true;
    buf_putc(b, '{');
    for (uint32_t i = 0; i < d->n; i++) {
        const model_field *f = &d->fields[i];
        if (!model_field_present(obj, f)) continue;
        const char *at = (const char *)obj + f->off;
        jsonp_key(b, &first, f->json);
        switch (f->kind) {
        case MF_FIXED64:
            jsonw_u64_str(b, *(const uint64_t *)(const void *)at);
            break;
        case MF_ONEOF_INT:
            jsonp_i64_str(b, *(const int64_t *)(const void *)at);
            break;
        case MF_DOUBLE:
        case MF_OPT_DOUBLE:
        case MF_ONEOF_DOUBLE:
            jsonw_double(b, *(const double *)(const void *)at);
            break;
        case MF_SINT32:
            buf_printf(b, "%" PRId32, *(const int32_t *)(const void *)at);
            break;
        case MF_U32:
            buf_printf(b, "%" PRIu32, *(const uint32_t *)(const void *)at);
            break;
        case MF_ATTRS:
            jsonp_kvs(b, (const lt_attrs *)(const void *)at);
            break;
        case MF_FIXED64S:
        case MF_UINT64S: {
            const lt_u64s *a = (const lt_u64s *)(const void *)at;
            buf_putc(b, '[');
            for (uint32_t x = 0; x < a->n; x++) {
                if (x) buf_putc(b, ',');
                jsonw_u64_str(b, a->items[x]);
            }
            buf_putc(b, ']');
            break;
        }
        case MF_DOUBLES: {
            const lt_doubles *a = (const lt_doubles *)(const void *)at;
            buf_putc(b, '[');
            for (uint32_t x = 0; x < a->n; x++) {
                if (x) buf_putc(b, ',');
                jsonw_double(b, a->items[x]);
            }
            buf_putc(b, ']');
            break;
        }
        case MF_BUCKETS:
            write_fields(b, at, &model_buckets_msg);
            break;
        case MF_QUANTILES: {
            const lt_quantiles *a = (const lt_quantiles *)(const void *)at;
            buf_putc(b, '[');
            for (uint32_t q = 0; q < a->n; q++) {
                if (q) buf_putc(b, ',');
                write_fields(b, &a->items[q], &model_quantile_msg);
            }
            buf_putc(b, ']');
            break;
        }
        default:
            break;
        }
    }
    buf_putc(b, '}');
}

static void enc_metric(lt_buf *b, const lt_metric *m)
{
    static const char *const member[] = {
        [LT_METRIC_GAUGE] = "gauge",         [LT_METRIC_SUM] = "sum",
        [LT_METRIC_HISTOGRAM] = "histogram", [LT_METRIC_EXP_HISTOGRAM] = "exponentialHistogram",
        [LT_METRIC_SUMMARY] = "summary",
    };
    bool f = true;
    buf_putc(b, '{');
    jsonp_put_str(b, &f, "name", m->name);
    jsonp_put_str(b, &f, "description", m->description);
    jsonp_put_str(b, &f, "unit", m->unit);
    if (m->type >= LT_METRIC_GAUGE && m->type <= LT_METRIC_SUMMARY) {
        bool g = true;
        const char *items = (const char *)m->points.number;
        const model_message *pm = model_metric_point_msg(m->type);
        jsonp_key(b, &f, member[m->type]);
        buf_putc(b, '{');
        if (m->n_points) {
            jsonp_key(b, &g, "dataPoints");
            buf_putc(b, '[');
            for (uint32_t i = 0; i < m->n_points; i++) {
                if (i) buf_putc(b, ',');
                write_fields(b, items + (size_t)i * pm->size, pm);
            }
            buf_putc(b, ']');
        }
        if (m->type != LT_METRIC_GAUGE && m->type != LT_METRIC_SUMMARY)
            jsonp_put_u32(b, &g, "aggregationTemporality", m->temporality);
        if (m->type == LT_METRIC_SUM && m->monotonic) {
            jsonp_key(b, &g, "isMonotonic");
            buf_append_c(b, "true");
        }
        buf_putc(b, '}');
    }
    if (m->metadata.n) {
        jsonp_key(b, &f, "metadata");
        jsonp_kvs(b, &m->metadata);
    }
    buf_putc(b, '}');
}

int json_encode_metrics(lt_buf *out, const lt_metric_batch *b)
{
    buf_append_c(out, "{\"resourceMetrics\":[");
    for (uint32_t i = 0; i < b->n_rm; i++) {
        const lt_resource_metrics *rm = &b->rm[i];
        bool f = true;
        buf_append_c(out, i ? ",{" : "{");
        jsonp_put_resource(out, &f, &rm->resource);
        if (rm->n_scopes) {
            jsonp_key(out, &f, "scopeMetrics");
            buf_putc(out, '[');
            for (uint32_t s = 0; s < rm->n_scopes; s++) {
                const lt_scope_metrics *sm = &rm->scopes[s];
                bool g = true;
                buf_append_c(out, s ? ",{" : "{");
                jsonp_put_scope(out, &g, &sm->scope);
                if (sm->n_metrics) {
                    jsonp_key(out, &g, "metrics");
                    buf_putc(out, '[');
                    for (uint32_t m = 0; m < sm->n_metrics; m++) {
                        if (m) buf_putc(out, ',');
                        enc_metric(out, &sm->metrics[m]);
                    }
                    buf_putc(out, ']');
                }
                jsonp_put_str(out, &g, "schemaUrl", sm->schema_url);
                buf_putc(out, '}');
            }
            buf_putc(out, ']');
        }
        jsonp_put_str(out, &f, "schemaUrl", rm->schema_url);
        buf_putc(out, '}');
    }
    buf_append_c(out, "]}");
    return out->oom ? LT_ENOMEM : 0;
}
