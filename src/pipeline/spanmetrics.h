/* spanmetrics.h — the spanmetrics connector: R.E.D. metrics and GenAI usage from spans.
 *
 * As the OpenTelemetry Collector's spanmetrics connector, every span counts once in
 * `<namespace>.calls` (a counter) and its duration goes into `<namespace>.duration` (an
 * explicit-bucket histogram, milliseconds by default), by service.name, span.name,
 * span.kind ("SPAN_KIND_CLIENT", ...), status.code ("STATUS_CODE_ERROR", ...) and the
 * configured dimensions. Beyond the collector, spans with a canonical GenAI view
 * (lt_span.genai) feed `<namespace>.gen_ai.usage.*` token and cost counters and a
 * time-to-first-token histogram, by service.name, gen_ai.operation.name,
 * gen_ai.provider.name, gen_ai.request.model, gen_ai.response.model and the configured
 * dimensions. docs/metrics.md lists every series and its Prometheus name.
 *
 * A dimension named by a GenAI attribute (a key of the view, or a deprecated semconv name
 * of one such as gen_ai.system) is read from the view first, so `gen_ai.system` is filled
 * for a span that only carries gen_ai.provider.name and the other way round; other names
 * are read from the span's attributes, then its resource's, then the dimension's default.
 *
 * Temporality is cumulative: values only grow from creation. Memory is bounded by the
 * cardinality limit: past `aggregation_cardinality_limit` label sets in a group (the
 * calls/duration group, the GenAI group), or past SPANMETRICS_MAX_GROUP_BYTES of series in
 * a group, new label sets are counted in one overflow series labelled
 * otel.metric.overflow="true"; label values are cut at SPANMETRICS_MAX_VALUE bytes (at a
 * UTF-8 boundary).
 *
 * Thread-safety: spanmetrics_consume and spanmetrics_snapshot may be called from any
 * threads at once (one mutex); a snapshot is the caller's, immutable, and needs no lock. */
#ifndef LT_PIPELINE_SPANMETRICS_H
#define LT_PIPELINE_SPANMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

enum {
    SPANMETRICS_MAX_VALUE = 512,            /* bytes of one label value */
    SPANMETRICS_MAX_DIMENSIONS = 32,        /* configured dimensions */
    SPANMETRICS_MAX_BUCKETS = 64,           /* explicit histogram bounds */
    SPANMETRICS_DEFAULT_LIMIT = 10000,      /* label sets per group when none is configured */
    SPANMETRICS_MAX_GROUP_BYTES = 16 << 20, /* memory of a group's series, whatever the limit */
};

typedef struct spanmetrics spanmetrics;

/* The options the connector accepts (for cfg_check_options and docs), {NULL}-terminated. */
extern const cfg_option spanmetrics_options[];

/* Creates a connector from its settings (the map under connectors.spanmetrics; NULL or an
 * empty map gives the collector's defaults). Reads the tree itself and checks every
 * option: an unknown option, a wrong type, an unsupported value (exponential histograms,
 * delta temporality) or a dimension given twice is LT_EINVAL with "FILE:LINE:COL: WHERE.
 * OPTION: what" in err (file may be NULL: "LINE:COL: ..."; where names the component,
 * e.g. "connectors.spanmetrics"). LT_ENOMEM. conf is not kept. */
int spanmetrics_create(const cfg_node *conf, const char *file, const char *where, spanmetrics **out,
                       char *err, size_t errlen);
/* NULL-tolerant. No other call may be running. */
void spanmetrics_free(spanmetrics *sm);

/* metrics_flush_interval (default 15s, as the collector): how often an exporter should
 * take a snapshot. */
uint64_t spanmetrics_flush_interval_ns(const spanmetrics *sm);

/* Counts every span of b (with its view, when lt_span.genai is set). b is only read and
 * not kept. Returns 0, or LT_ENOMEM when a new series could not be allocated: the spans
 * before it are counted, the rest of b is not, and that span may be counted in calls and
 * duration but not in the GenAI series. Any thread. */
int spanmetrics_consume(spanmetrics *sm, const lt_trace_batch *b);

/* ---- snapshots ---- */

typedef enum { SPANMETRICS_COUNTER, SPANMETRICS_HISTOGRAM } spanmetrics_type;

typedef struct {
    const char *name;  /* OTel attribute name, e.g. "service.name" */
    const char *value; /* UTF-8 */
} spanmetrics_label;

typedef struct {
    spanmetrics_label *labels; /* sorted by name */
    uint32_t n_labels;
    double value;     /* COUNTER */
    uint64_t count;   /* HISTOGRAM: observations */
    double sum;       /* HISTOGRAM: sum of the observations */
    uint64_t *counts; /* HISTOGRAM: n_bounds + 1 per-bucket counts (not cumulative); the
                         last is (bounds[n-1], +Inf) */
} spanmetrics_point;

typedef struct {
    const char *name; /* OTel name, "traces.span.metrics.calls" */
    const char *unit; /* UCUM as the collector sets it: "ms", "s", "{token}", "" */
    const char *help;
    spanmetrics_type type;
    const double *bounds; /* HISTOGRAM: upper bounds, ascending, in unit */
    uint32_t n_bounds;
    spanmetrics_point *points; /* in a fixed order: by label names and values */
    uint32_t n_points;
} spanmetrics_metric;

typedef struct {
    spanmetrics_metric *metrics; /* calls, duration, then the GenAI metrics; a metric
                                    without points is left out */
    uint32_t n_metrics;
    uint64_t start_unix_nano; /* when counting started (cumulative start time) */
    uint64_t time_unix_nano;  /* when the snapshot was taken */
    lt_arena *arena;          /* owns everything above */
} spanmetrics_snap;

/* Copies the current values into *out (its own arena; free with spanmetrics_snapshot_free).
 * Returns 0 or LT_ENOMEM (out is then empty). Any thread. */
int spanmetrics_snapshot(spanmetrics *sm, spanmetrics_snap *out);
/* NULL-tolerant; leaves *s empty. */
void spanmetrics_snapshot_free(spanmetrics_snap *s);

/* Maps a dimension name to the field of the GenAI view it names: a canonical key of
 * model_genai_fields, or a deprecated semconv name of one (gen_ai.system ->
 * gen_ai.provider.name). Returns the field, or -1 when the name is no GenAI key. */
int spanmetrics_genai_field(const char *name);

#endif
