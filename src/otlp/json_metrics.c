/* json_metrics.c — OTLP/JSON metrics: decoder and canonical encoder (see json.h).
 *
 * The same pull parser as json.c (through json_int.h): one forward pass over the request,
 * each message read member by member straight into the model of model/metrics.h, unknown
 * members skipped, strings unescaped in place. Every repeated field goes through
 * read_array(), which reads the elements with a per-type function onto the scratch stack
 * and copies them into one arena array of their exact count. The decoded model is the one
 * pb_decode_metrics gives for the same request: a member of Metric.data replaces any
 * earlier one, exemplars are skipped, a metric without a name is dropped and its points
 * counted as rejected. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonw.h"
#include "model/metrics.h"
#include "otlp/json.h"
#include "otlp/json_int.h"

/* ---------------------------------------------------------------------------------------
 * Decoder */

/* Reads one element of a repeated field into elem (zeroed): 0 to keep it, 1 to leave it
 * out, or an error. */
typedef int (*elem_fn)(jp *j, void *elem);

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
static int read_array(jp *j, size_t size, uint64_t max, elem_fn fn, void **items, uint32_t *n)
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
        rc = fn(j, &e);
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

static int u64_elem(jp *j, void *e)
{
    return take_null(j) ? 0 : jsonp_get_u64(j, e);
}

static int double_elem(jp *j, void *e)
{
    return take_null(j) ? 0 : jsonp_get_double(j, e);
}

static int read_u64s(jp *j, uint64_t **items, uint32_t *n)
{
    void *p = *items;
    TRY(read_array(j, sizeof(uint64_t), MODEL_MAX_BUCKETS, u64_elem, &p, n));
    *items = p;
    return 0;
}

static int read_doubles(jp *j, double **items, uint32_t *n)
{
    void *p = *items;
    TRY(read_array(j, sizeof(double), MODEL_MAX_BUCKETS, double_elem, &p, n));
    *items = p;
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

/* An optional double (sum, min, max of the histograms). */
static int get_opt_double(jp *j, double *d, bool *has)
{
    *has = true;
    return jsonp_get_double(j, d);
}

/* The members every data point has. *done tells whether k was one of them. */
static int head_member(jp *j, lt_str k, lt_point_head *h, bool *done)
{
    *done = true;
    if (K(k, "attributes")) return jsonp_attrs(j, &h->attrs);
    if (K(k, "startTimeUnixNano")) return jsonp_get_u64(j, &h->start_time_unix_nano);
    if (K(k, "timeUnixNano")) return jsonp_get_u64(j, &h->time_unix_nano);
    if (K(k, "flags")) return jsonp_get_u32(j, &h->flags);
    *done = false;
    return 0;
}

/* Opens a data point's object; 1 when it was null (a default point, kept). */
static int open_point(jp *j)
{
    TRY(jsonp_count_item(j));
    return jsonp_open_msg(j);
}

/* NumberDataPoint: the head, asDouble, asInt (exemplars and unknown members skipped). */
static int number_point(jp *j, void *elem)
{
    lt_number_point *pt = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_point(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        bool done;
        rc = head_member(j, k, &pt->h, &done);
        if (done) {
        } else if (K(k, "asDouble")) {
            pt->type = LT_NUM_DOUBLE;
            rc = jsonp_get_double(j, &pt->v.d);
        } else if (K(k, "asInt")) {
            pt->type = LT_NUM_INT;
            rc = jsonp_get_i64(j, &pt->v.i);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* HistogramDataPoint */
static int histogram_point(jp *j, void *elem)
{
    lt_histogram_point *pt = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_point(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        bool done;
        rc = head_member(j, k, &pt->h, &done);
        if (done) {
        } else if (K(k, "count")) {
            rc = jsonp_get_u64(j, &pt->count);
        } else if (K(k, "sum")) {
            rc = get_opt_double(j, &pt->sum, &pt->has_sum);
        } else if (K(k, "bucketCounts")) {
            rc = read_u64s(j, &pt->bucket_counts, &pt->n_bucket_counts);
        } else if (K(k, "explicitBounds")) {
            rc = read_doubles(j, &pt->explicit_bounds, &pt->n_explicit_bounds);
        } else if (K(k, "min")) {
            rc = get_opt_double(j, &pt->min, &pt->has_min);
        } else if (K(k, "max")) {
            rc = get_opt_double(j, &pt->max, &pt->has_max);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ExponentialHistogramDataPoint.Buckets; a second one merges into the first (offset
 * replaced, counts appended), as in protobuf. */
static int buckets(jp *j, lt_exp_buckets *b)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "offset"))
            rc = get_i32(j, &b->offset);
        else if (K(k, "bucketCounts"))
            rc = read_u64s(j, &b->counts, &b->n);
        else
            rc = jsonp_skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* ExponentialHistogramDataPoint */
static int exp_histogram_point(jp *j, void *elem)
{
    lt_exp_histogram_point *pt = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_point(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        bool done;
        rc = head_member(j, k, &pt->h, &done);
        if (done) {
        } else if (K(k, "count")) {
            rc = jsonp_get_u64(j, &pt->count);
        } else if (K(k, "sum")) {
            rc = get_opt_double(j, &pt->sum, &pt->has_sum);
        } else if (K(k, "scale")) {
            rc = get_i32(j, &pt->scale);
        } else if (K(k, "zeroCount")) {
            rc = jsonp_get_u64(j, &pt->zero_count);
        } else if (K(k, "positive")) {
            rc = buckets(j, &pt->positive);
        } else if (K(k, "negative")) {
            rc = buckets(j, &pt->negative);
        } else if (K(k, "min")) {
            rc = get_opt_double(j, &pt->min, &pt->has_min);
        } else if (K(k, "max")) {
            rc = get_opt_double(j, &pt->max, &pt->has_max);
        } else if (K(k, "zeroThreshold")) {
            rc = jsonp_get_double(j, &pt->zero_threshold);
        } else {
            rc = jsonp_skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* SummaryDataPoint.ValueAtQuantile */
static int quantile(jp *j, void *elem)
{
    lt_quantile *q = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "quantile"))
            rc = jsonp_get_double(j, &q->quantile);
        else if (K(k, "value"))
            rc = jsonp_get_double(j, &q->value);
        else
            rc = jsonp_skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* SummaryDataPoint */
static int summary_point(jp *j, void *elem)
{
    lt_summary_point *pt = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_point(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        bool done;
        rc = head_member(j, k, &pt->h, &done);
        if (done) {
        } else if (K(k, "count")) {
            rc = jsonp_get_u64(j, &pt->count);
        } else if (K(k, "sum")) {
            rc = jsonp_get_double(j, &pt->sum);
        } else if (K(k, "quantileValues")) {
            void *p = pt->quantiles;
            rc = read_array(j, sizeof(lt_quantile), MODEL_MAX_BUCKETS, quantile, &p,
                            &pt->n_quantiles);
            pt->quantiles = p;
        } else {
            rc = jsonp_skip_value(j);
        }
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
    static const elem_fn point_fn[] = {
        [LT_METRIC_GAUGE] = number_point,        [LT_METRIC_SUM] = number_point,
        [LT_METRIC_HISTOGRAM] = histogram_point, [LT_METRIC_EXP_HISTOGRAM] = exp_histogram_point,
        [LT_METRIC_SUMMARY] = summary_point,
    };
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
            rc = read_array(j, model_metric_point_size(type), MODEL_MAX_ITEMS, point_fn[type], &p,
                            &n);
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
static int metric(jp *j, void *elem)
{
    lt_metric *m = elem;
    lt_str k;
    int idx = 0, rc;
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
static int scope_metrics(jp *j, void *elem)
{
    lt_scope_metrics *sm = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "metrics")) {
            void *p = sm->metrics;
            rc = read_array(j, sizeof(lt_metric), MODEL_MAX_ITEMS, metric, &p, &sm->n_metrics);
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
static int resource_metrics(jp *j, void *elem)
{
    lt_resource_metrics *rm = elem;
    lt_str k;
    int idx = 0, rc;
    if ((rc = jsonp_open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = jsonp_obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resource")) {
            rc = jsonp_resource(j, &rm->resource);
        } else if (K(k, "scopeMetrics") || K(k, "instrumentationLibraryMetrics")) {
            void *p = rm->scopes;
            rc = read_array(j, sizeof(lt_scope_metrics), MODEL_MAX_ITEMS, scope_metrics, &p,
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
            TRY(read_array(j, sizeof(lt_resource_metrics), MODEL_MAX_ITEMS, resource_metrics, &p,
                           &b->n_rm));
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

static inline bool is_pos_zero(double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    return x == 0;
}

static void put_double(lt_buf *b, bool *first, const char *name, double d)
{
    jsonp_key(b, first, name);
    jsonw_double(b, d);
}

/* A plain double, omitted at +0.0. */
static void opt_double(lt_buf *b, bool *first, const char *name, double d)
{
    if (!is_pos_zero(d)) put_double(b, first, name, d);
}

static void put_i32(lt_buf *b, bool *first, const char *name, int32_t v)
{
    if (!v) return;
    jsonp_key(b, first, name);
    buf_printf(b, "%" PRId32, v);
}

static void put_u64s(lt_buf *b, bool *first, const char *name, const uint64_t *v, uint32_t n)
{
    if (!n) return;
    jsonp_key(b, first, name);
    buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        jsonw_u64_str(b, v[i]);
    }
    buf_putc(b, ']');
}

static void put_doubles(lt_buf *b, bool *first, const char *name, const double *v, uint32_t n)
{
    if (!n) return;
    jsonp_key(b, first, name);
    buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_putc(b, ',');
        jsonw_double(b, v[i]);
    }
    buf_putc(b, ']');
}

static void put_times(lt_buf *b, bool *first, const lt_point_head *h)
{
    jsonp_put_u64(b, first, "startTimeUnixNano", h->start_time_unix_nano);
    jsonp_put_u64(b, first, "timeUnixNano", h->time_unix_nano);
}

static void enc_number_point(lt_buf *b, const void *item)
{
    const lt_number_point *pt = item;
    bool f = true;
    put_times(b, &f, &pt->h);
    if (pt->type == LT_NUM_DOUBLE) put_double(b, &f, "asDouble", pt->v.d);
    if (pt->type == LT_NUM_INT) {
        jsonp_key(b, &f, "asInt");
        jsonp_i64_str(b, pt->v.i);
    }
    jsonp_put_attrs(b, &f, &pt->h.attrs, 0);
    jsonp_put_u32(b, &f, "flags", pt->h.flags);
}

static void enc_histogram_point(lt_buf *b, const void *item)
{
    const lt_histogram_point *pt = item;
    bool f = true;
    put_times(b, &f, &pt->h);
    jsonp_put_u64(b, &f, "count", pt->count);
    if (pt->has_sum) put_double(b, &f, "sum", pt->sum);
    put_u64s(b, &f, "bucketCounts", pt->bucket_counts, pt->n_bucket_counts);
    put_doubles(b, &f, "explicitBounds", pt->explicit_bounds, pt->n_explicit_bounds);
    jsonp_put_attrs(b, &f, &pt->h.attrs, 0);
    jsonp_put_u32(b, &f, "flags", pt->h.flags);
    if (pt->has_min) put_double(b, &f, "min", pt->min);
    if (pt->has_max) put_double(b, &f, "max", pt->max);
}

static void enc_buckets(lt_buf *b, bool *first, const char *name, const lt_exp_buckets *bk)
{
    if (!bk->offset && !bk->n) return;
    bool f = true;
    jsonp_key(b, first, name);
    buf_putc(b, '{');
    put_i32(b, &f, "offset", bk->offset);
    put_u64s(b, &f, "bucketCounts", bk->counts, bk->n);
    buf_putc(b, '}');
}

static void enc_exp_histogram_point(lt_buf *b, const void *item)
{
    const lt_exp_histogram_point *pt = item;
    bool f = true;
    jsonp_put_attrs(b, &f, &pt->h.attrs, 0);
    put_times(b, &f, &pt->h);
    jsonp_put_u64(b, &f, "count", pt->count);
    if (pt->has_sum) put_double(b, &f, "sum", pt->sum);
    put_i32(b, &f, "scale", pt->scale);
    jsonp_put_u64(b, &f, "zeroCount", pt->zero_count);
    enc_buckets(b, &f, "positive", &pt->positive);
    enc_buckets(b, &f, "negative", &pt->negative);
    jsonp_put_u32(b, &f, "flags", pt->h.flags);
    if (pt->has_min) put_double(b, &f, "min", pt->min);
    if (pt->has_max) put_double(b, &f, "max", pt->max);
    opt_double(b, &f, "zeroThreshold", pt->zero_threshold);
}

static void enc_summary_point(lt_buf *b, const void *item)
{
    const lt_summary_point *pt = item;
    bool f = true;
    put_times(b, &f, &pt->h);
    jsonp_put_u64(b, &f, "count", pt->count);
    opt_double(b, &f, "sum", pt->sum);
    if (pt->n_quantiles) {
        jsonp_key(b, &f, "quantileValues");
        buf_putc(b, '[');
        for (uint32_t i = 0; i < pt->n_quantiles; i++) {
            bool g = true;
            buf_append_c(b, i ? ",{" : "{");
            opt_double(b, &g, "quantile", pt->quantiles[i].quantile);
            opt_double(b, &g, "value", pt->quantiles[i].value);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    jsonp_put_attrs(b, &f, &pt->h.attrs, 0);
    jsonp_put_u32(b, &f, "flags", pt->h.flags);
}

static void enc_metric(lt_buf *b, const lt_metric *m)
{
    static const struct {
        const char *key;
        void (*enc)(lt_buf *b, const void *item);
    } members[] = {
        [LT_METRIC_GAUGE] = {"gauge", enc_number_point},
        [LT_METRIC_SUM] = {"sum", enc_number_point},
        [LT_METRIC_HISTOGRAM] = {"histogram", enc_histogram_point},
        [LT_METRIC_EXP_HISTOGRAM] = {"exponentialHistogram", enc_exp_histogram_point},
        [LT_METRIC_SUMMARY] = {"summary", enc_summary_point},
    };
    bool f = true;
    buf_putc(b, '{');
    jsonp_put_str(b, &f, "name", m->name);
    jsonp_put_str(b, &f, "description", m->description);
    jsonp_put_str(b, &f, "unit", m->unit);
    if (m->type >= LT_METRIC_GAUGE && m->type <= LT_METRIC_SUMMARY) {
        bool g = true;
        const char *items = (const char *)m->points.number;
        size_t size = model_metric_point_size(m->type);
        jsonp_key(b, &f, members[m->type].key);
        buf_putc(b, '{');
        if (m->n_points) {
            jsonp_key(b, &g, "dataPoints");
            buf_putc(b, '[');
            for (uint32_t i = 0; i < m->n_points; i++) {
                buf_append_c(b, i ? ",{" : "{");
                members[m->type].enc(b, items + (size_t)i * size);
                buf_putc(b, '}');
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
