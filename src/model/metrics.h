/* metrics.h — the in-memory form of OTLP metrics.
 *
 * The layout mirrors opentelemetry-proto v1.x metrics/v1/metrics.proto, in the style of
 * model.h: ResourceMetrics -> ScopeMetrics -> Metric -> data points, with the resource,
 * scope and attribute types of model.h. Every field of Metric, Gauge, Sum, Histogram,
 * ExponentialHistogram, Summary and their data points has a place here except exemplars,
 * which are read past and not kept (a re-encoded request has none). Objects live in an
 * lt_arena; strings are slices of the request buffer, arrays have exact counts. Nothing
 * here owns memory.
 *
 * Every data point starts with an lt_point_head (attributes, times, flags), so code that
 * only needs those can walk the points of any metric type with model_metric_point(). */
#ifndef LT_MODEL_METRICS_H
#define LT_MODEL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Limits besides model.h's, for every metrics decoder. Metrics and data points count
 * towards MODEL_MAX_ITEMS over the request; one data point holds at most
 * MODEL_MAX_BUCKETS bucket counts, explicit bounds, quantile values, and counts in each of
 * its exponential bucket ranges (an OTel SDK uses 160 exponential buckets by default).
 * A breach is LT_ETOOBIG for the whole request. */
enum { MODEL_MAX_BUCKETS = 65536 };

/* Metric.data: which member of the oneof was set. NONE for a metric sent without data (or
 * with one of the int types of OTLP before 0.9, which are read past). */
typedef enum {
    LT_METRIC_NONE = 0,
    LT_METRIC_GAUGE,
    LT_METRIC_SUM,
    LT_METRIC_HISTOGRAM,
    LT_METRIC_EXP_HISTOGRAM,
    LT_METRIC_SUMMARY,
} lt_metric_type;

/* AggregationTemporality */
enum { LT_TEMPORALITY_UNSPECIFIED = 0, LT_TEMPORALITY_DELTA = 1, LT_TEMPORALITY_CUMULATIVE = 2 };

/* DataPointFlags: the point marks that no value was recorded (a Prometheus stale marker). */
enum { LT_POINT_NO_RECORDED_VALUE = 1 };

/* The reason a decoder gives for the points it dropped (lt_metric_batch.rejected). */
#define MODEL_METRIC_REJECT_NO_NAME "data points of a metric without a name dropped"

/* What every data point has: attributes, start_time_unix_nano, time_unix_nano, flags. */
typedef struct {
    lt_attrs attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint32_t flags; /* LT_POINT_*; other bits kept as sent */
} lt_point_head;

/* NumberDataPoint.value (oneof): NONE when neither as_double nor as_int was sent. */
typedef enum { LT_NUM_NONE = 0, LT_NUM_DOUBLE, LT_NUM_INT } lt_num_type;

/* NumberDataPoint (Gauge and Sum). */
typedef struct {
    lt_point_head h;
    lt_num_type type;
    union {
        double d;
        int64_t i;
    } v;
} lt_number_point;

/* Repeated numbers. */
typedef struct {
    uint64_t *items;
    uint32_t n;
} lt_u64s;

typedef struct {
    double *items;
    uint32_t n;
} lt_doubles;

/* HistogramDataPoint: bucket_counts.n is explicit_bounds.n + 1 when the sender follows the
 * spec, but both are kept as sent. sum, min and max are optional (has_*). */
typedef struct {
    lt_point_head h;
    uint64_t count;
    double sum, min, max;
    bool has_sum, has_min, has_max;
    lt_u64s bucket_counts;
    lt_doubles explicit_bounds;
} lt_histogram_point;

/* ExponentialHistogramDataPoint.Buckets: counts.items[i] is the bucket of index
 * offset + i. */
typedef struct {
    int32_t offset;
    lt_u64s counts;
} lt_exp_buckets;

typedef struct {
    lt_point_head h;
    uint64_t count;
    double sum, min, max;
    bool has_sum, has_min, has_max;
    int32_t scale;
    uint64_t zero_count;
    double zero_threshold;
    lt_exp_buckets positive, negative;
} lt_exp_histogram_point;

/* SummaryDataPoint.ValueAtQuantile */
typedef struct {
    double quantile;
    double value;
} lt_quantile;

typedef struct {
    lt_quantile *items;
    uint32_t n;
} lt_quantiles;

typedef struct {
    lt_point_head h;
    uint64_t count;
    double sum;
    lt_quantiles quantiles;
} lt_summary_point;

typedef struct {
    lt_str name;
    lt_str description;
    lt_str unit;
    lt_metric_type type;
    /* SUM, HISTOGRAM and EXP_HISTOGRAM: aggregation_temporality (LT_TEMPORALITY_*, other
     * values kept as sent); 0 for the other types, which have none on the wire. */
    uint32_t temporality;
    bool monotonic; /* SUM: is_monotonic */
    /* The points of the member in type (NULL when n_points is 0). */
    union {
        lt_number_point *number; /* GAUGE, SUM */
        lt_histogram_point *histogram;
        lt_exp_histogram_point *exp_histogram;
        lt_summary_point *summary;
    } points;
    uint32_t n_points;
    lt_attrs metadata; /* Metric.metadata */
} lt_metric;

typedef struct {
    lt_scope scope;
    lt_str schema_url;
    lt_metric *metrics;
    uint32_t n_metrics;
} lt_scope_metrics;

typedef struct {
    lt_resource resource;
    lt_str schema_url;
    lt_scope_metrics *scopes;
    uint32_t n_scopes;
} lt_resource_metrics;

/* One ExportMetricsServiceRequest. A metric without a name is not in the arrays (nothing
 * downstream can key it); its data points are counted in rejected, with reject_reason
 * MODEL_METRIC_REJECT_NO_NAME, for the reply's partial success. */
typedef struct {
    lt_resource_metrics *rm;
    uint32_t n_rm;
    uint64_t n_points; /* data points kept, over all rm */
    uint64_t rejected;
    lt_str reject_reason; /* static text; empty when rejected == 0 */
} lt_metric_batch;

/* ---- the data point messages as data ----
 *
 * The messages below Metric's data member (the four data points, Buckets,
 * ValueAtQuantile) are plain field lists, so both codecs read and write them from one
 * table each: protobuf field number, OTLP/JSON member name, how the field is written and
 * where it lives in the C struct. Fields are in field-number order, the canonical order
 * the encoders write. */
typedef enum {
    MF_FIXED64,      /* uint64_t, fixed64 ("123" in JSON); omitted at 0 */
    MF_DOUBLE,       /* double; omitted at +0.0 */
    MF_OPT_DOUBLE,   /* optional double: the value at off, a bool "set" at aux */
    MF_ONEOF_DOUBLE, /* NumberDataPoint.as_double: the double at off, lt_num_type at aux */
    MF_ONEOF_INT,    /* NumberDataPoint.as_int (sfixed64): int64_t at off, type at aux */
    MF_SINT32,       /* int32_t, ZigZag varint (a JSON number); omitted at 0 */
    MF_U32,          /* uint32_t, varint; omitted at 0 */
    MF_ATTRS,        /* lt_attrs: repeated KeyValue */
    MF_FIXED64S,     /* lt_u64s: repeated fixed64, packed */
    MF_DOUBLES,      /* lt_doubles: repeated double, packed */
    MF_UINT64S,      /* lt_u64s: repeated uint64 (varints), packed */
    MF_BUCKETS,      /* lt_exp_buckets: a Buckets message; omitted when empty */
    MF_QUANTILES,    /* lt_quantiles: repeated ValueAtQuantile */
    MF_SKIP,         /* exemplars: a repeated message read past, not kept */
} model_field_kind;

typedef struct {
    uint32_t number;
    model_field_kind kind;
    const char *json;
    uint16_t off, aux; /* offsetof the value, and of its flag or type (see the kinds) */
} model_field;

typedef struct {
    const model_field *fields;
    uint32_t n;
    size_t size; /* of the C struct */
} model_message;

/* NumberDataPoint, HistogramDataPoint, ExponentialHistogramDataPoint, SummaryDataPoint,
 * ExponentialHistogramDataPoint.Buckets and SummaryDataPoint.ValueAtQuantile. */
extern const model_message model_number_point_msg, model_histogram_point_msg,
    model_exp_histogram_point_msg, model_summary_point_msg, model_buckets_msg, model_quantile_msg;

/* Whether field f of obj (a struct of f's message) is written by the canonical encoders:
 * a number that is not 0 (a double whose bits are not +0.0's), an optional or oneof value
 * that is set, a repeated field with elements, a Buckets with an offset or counts. */
bool model_field_present(const void *obj, const model_field *f);

/* For decoders, once field f of obj has been read: an optional double is now set, a oneof
 * member is the one the value holds. Nothing for the other kinds. */
void model_field_mark(void *obj, const model_field *f);

/* The data point message of a metric type (NULL for NONE). */
const model_message *model_metric_point_msg(lt_metric_type t);

/* The head of point i of m (i < m->n_points), whatever m's type. */
static inline const lt_point_head *model_metric_point(const lt_metric *m, uint32_t i)
{
    switch (m->type) {
    case LT_METRIC_GAUGE:
    case LT_METRIC_SUM:
        return &m->points.number[i].h;
    case LT_METRIC_HISTOGRAM:
        return &m->points.histogram[i].h;
    case LT_METRIC_EXP_HISTOGRAM:
        return &m->points.exp_histogram[i].h;
    case LT_METRIC_SUMMARY:
        return &m->points.summary[i].h;
    default:
        return NULL;
    }
}

/* Sets the points of m to items (an array of n points of m->type), for decoders. */
static inline void model_metric_set_points(lt_metric *m, void *items, uint32_t n)
{
    switch (m->type) {
    case LT_METRIC_HISTOGRAM:
        m->points.histogram = (lt_histogram_point *)items;
        break;
    case LT_METRIC_EXP_HISTOGRAM:
        m->points.exp_histogram = (lt_exp_histogram_point *)items;
        break;
    case LT_METRIC_SUMMARY:
        m->points.summary = (lt_summary_point *)items;
        break;
    default:
        m->points.number = (lt_number_point *)items;
    }
    m->n_points = n;
}

#endif
