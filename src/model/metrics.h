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

/* HistogramDataPoint: n_bucket_counts is n_explicit_bounds + 1 when the sender follows the
 * spec, but both are kept as sent. sum, min and max are optional (has_*). */
typedef struct {
    lt_point_head h;
    uint64_t count;
    double sum, min, max;
    bool has_sum, has_min, has_max;
    uint32_t n_bucket_counts;
    uint64_t *bucket_counts;
    double *explicit_bounds;
    uint32_t n_explicit_bounds;
} lt_histogram_point;

/* ExponentialHistogramDataPoint.Buckets: counts[i] is the bucket of index offset + i. */
typedef struct {
    int32_t offset;
    uint32_t n;
    uint64_t *counts;
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
    lt_point_head h;
    uint64_t count;
    double sum;
    lt_quantile *quantiles;
    uint32_t n_quantiles;
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

/* The size of one data point of a metric of this type (0 for NONE). */
static inline size_t model_metric_point_size(lt_metric_type t)
{
    switch (t) {
    case LT_METRIC_GAUGE:
    case LT_METRIC_SUM:
        return sizeof(lt_number_point);
    case LT_METRIC_HISTOGRAM:
        return sizeof(lt_histogram_point);
    case LT_METRIC_EXP_HISTOGRAM:
        return sizeof(lt_exp_histogram_point);
    case LT_METRIC_SUMMARY:
        return sizeof(lt_summary_point);
    default:
        return 0;
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
