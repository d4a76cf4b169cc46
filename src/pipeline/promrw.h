/* promrw.h — Prometheus remote write 1.0 of span metrics and of received OTLP metrics.
 *
 * Encodes a spanmetrics snapshot as a prometheus.WriteRequest (prompb/remote.proto, types.
 * proto: WriteRequest.timeseries = 1; TimeSeries.labels = 1, samples = 2; Label.name = 1,
 * value = 2; Sample.value = 1 (double), timestamp = 2 (int64, ms)), compressed with snappy's
 * block format, as the remote write 1.0 specification requires. Every series carries one
 * sample at the snapshot's time. Histograms go as classic series (NAME_bucket with an "le"
 * label per bound and +Inf, NAME_sum, NAME_count); names and label names are promtext's,
 * so scraped and written series are the same. Labels are sorted by name, __name__ (which
 * sorts first) included; the specification asks for it and Prometheus rejects unsorted
 * or duplicate labels.
 *
 * The encoders are pure and thread-safe; the prometheusremotewrite exporter (src/export/)
 * sends what they produce. */
#ifndef LT_PIPELINE_PROMRW_H
#define LT_PIPELINE_PROMRW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "model/metrics.h"
#include "pipeline/spanmetrics.h"

/* What an exporter adds to every series (the collector's prometheusremotewrite options). */
typedef struct {
    /* namespace: metric names become NAMESPACE_NAME; NULL or "" for none. The caller has
     * checked it is a valid start of a metric name ([A-Za-z_:][A-Za-z0-9_:]*). */
    const char *name_prefix;
    /* external_labels: added to every series that has no label of that name already (the
     * series' own labels win). Names are valid Prometheus label names not starting with
     * "__"; values non-empty. */
    const spanmetrics_label *labels;
    size_t n_labels;
} promrw_options;

/* Appends the snappy-compressed WriteRequest of s to out (out is reset first). 0 or
 * LT_ENOMEM. Also sets *n_series to the number of TimeSeries written when not NULL. o may
 * be NULL (nothing added). */
int promrw_encode(lt_buf *out, const spanmetrics_snap *s, size_t *n_series);
int promrw_encode_opts(lt_buf *out, const spanmetrics_snap *s, const promrw_options *o,
                       size_t *n_series);
/* The same before compression (the protobuf bytes), for tests and debugging. */
int promrw_encode_raw(lt_buf *out, const spanmetrics_snap *s, size_t *n_series);
int promrw_encode_raw_opts(lt_buf *out, const spanmetrics_snap *s, const promrw_options *o,
                           size_t *n_series);

/* ---- OTLP metrics ----
 *
 * promrw_encode_metrics writes received OTLP metrics as the OpenTelemetry Collector's
 * prometheusremotewrite exporter does (its translator with metric suffixes):
 * - names: promtext_name (words of the name, the unit as words, "_total" for monotonic
 *   sums, "_ratio" for gauges of unit "1"), after the namespace option when set;
 * - gauge: one series; cumulative sum: one series, a counter (NAME_total) when monotonic,
 *   else a gauge; cumulative histogram: NAME_bucket{le} (cumulative counts over the
 *   explicit bounds, bounds written as Go's FormatFloat 'f' does: 0.005, 1000, then
 *   le="+Inf" = count), NAME_sum (only when the point has a sum), NAME_count; summary:
 *   NAME{quantile} per quantile value, NAME_sum, NAME_count;
 * - not written, counted in result.dropped (data points) with the first reason: sums and
 *   histograms of delta or unspecified temporality (the collector refuses them too),
 *   exponential histograms (they need Prometheus native histograms), metrics whose name
 *   has no character Prometheus allows, and points without time_unix_nano (Prometheus
 *   would refuse a sample at 1970, and with it the whole request);
 * - labels: the point's attributes under promtext_label names; attributes whose names
 *   collide are merged in the order of their OTel keys, values joined by ';' (a repeated
 *   equal value once); job = service.namespace + "/" + service.name (or service.name) and
 *   instance = service.instance.id from the resource, over attributes of those names;
 *   external labels where nothing else took the name; __name__ and le / quantile over
 *   everything. Other resource attributes are not labels: they go into one target_info
 *   series per resource (value 1, at the latest time of its points, with job and
 *   instance) when the resource has service.name or service.instance.id and any other
 *   attribute, as the collector does by default (opts.no_target_info turns it off). A
 *   label with an empty value is left out (Prometheus reads it as absent). Labels are
 *   sorted by name, each name once;
 * - samples: timestamp = time_unix_nano / 10^6 (ms); a point flagged
 *   NO_RECORDED_VALUE writes Prometheus's stale marker (NaN 0x7ff0000000000002) in all
 *   its samples; a NaN value is written as Prometheus's ordinary NaN
 *   (0x7ff8000000000001), so a sender's NaN can never read as a stale marker; infinities
 *   as they are. Samples with the same labels go into one TimeSeries in time order; of
 *   two at the same time the later in the request is kept;
 * - exemplars are not kept by the model, so none are written. */

typedef struct {
    const char *name; /* a Prometheus label name, used as it is */
    const char *value;
} promrw_label;

typedef struct {
    const char *ns; /* the exporter's namespace: NS_ before every name; NULL or "" for none */
    const promrw_label *external_labels; /* added to every series (see above) */
    size_t n_external_labels;
    bool no_target_info; /* write no target_info series */
} promrw_metrics_opts;

typedef struct {
    size_t series;           /* TimeSeries written */
    size_t samples;          /* samples written */
    uint64_t dropped;        /* data points not written */
    const char *drop_reason; /* static text: why the first of them was not; NULL if none */
} promrw_metrics_result;

/* Replaces out with the snappy-compressed WriteRequest of b. opts may be NULL (defaults);
 * res, when not NULL, gets the counts. 0 or LT_ENOMEM. Pure and thread-safe; b is only
 * read. */
int promrw_encode_metrics(lt_buf *out, const lt_metric_batch *b, const promrw_metrics_opts *opts,
                          promrw_metrics_result *res);
/* The same before compression. */
int promrw_encode_metrics_raw(lt_buf *out, const lt_metric_batch *b,
                              const promrw_metrics_opts *opts, promrw_metrics_result *res);

#endif
