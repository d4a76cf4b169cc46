/* promtext.h — span metrics in the Prometheus text exposition format 0.0.4.
 *
 * Renders a spanmetrics snapshot for GET /metrics: per metric family a "# HELP" and a
 * "# TYPE" line, then its samples; counters as NAME_total, histograms as NAME_bucket{le=..}
 * (cumulative, ending with le="+Inf"), NAME_sum and NAME_count. Order is the snapshot's,
 * which is fixed, so the same values always render to the same bytes.
 *
 * Names follow the translation of OTLP names that Prometheus and the collector's Prometheus
 * exporters apply (with suffixes, underscore escaping): the name is split into words (runs
 * of [A-Za-z0-9:]) joined by '_'; the unit is appended as a word unless the name already
 * has that word ("ms" -> "milliseconds", "s" -> "seconds", "By/s" -> "bytes_per_second",
 * a unit in braces such as "{token}" and "1" -> nothing); counters (monotonic sums) end in
 * "_total" and gauges of unit "1" in "_ratio", the word moved to the end if the name had
 * it; a leading digit gets a '_' before it. traces.span.metrics.duration in ms is
 * traces_span_metrics_duration_milliseconds. Label names have every character outside
 * [A-Za-z0-9_] replaced by '_' (one per UTF-8 character: service.name -> service_name),
 * a leading digit prefixed with "key_". Label values escape \\, \" and newline as the
 * format requires.
 *
 * Pure functions, thread-safe. */
#ifndef LT_PIPELINE_PROMTEXT_H
#define LT_PIPELINE_PROMTEXT_H

#include "core/str.h"
#include "pipeline/spanmetrics.h"

/* The text exposition's Content-Type. */
#define PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends the exposition of s to out. 0 or LT_ENOMEM (out then holds a cut text and oom). */
int promtext_render(lt_buf *out, const spanmetrics_snap *s);

/* Which type suffix a metric name gets: "_total" for a counter (a monotonic sum), "_ratio"
 * for a gauge whose unit is "1", none for the rest. */
typedef enum { PROMTEXT_OTHER, PROMTEXT_COUNTER, PROMTEXT_GAUGE } promtext_kind;

/* Appends the Prometheus name of the OTel metric name with this UCUM unit, as above; ns,
 * when not empty, is put first as a word (the collector's "namespace"). Appends nothing
 * when neither has a word character. Histogram sample names add _bucket, _sum, _count. */
void promtext_name(lt_buf *out, lt_str ns, lt_str name, lt_str unit, promtext_kind kind);
/* promtext_name of a span metrics family (a counter or a histogram). Shared with promrw. */
void promtext_metric_name(lt_buf *out, const spanmetrics_metric *m);
/* Appends the Prometheus name of a label (an OTel attribute name). */
void promtext_label(lt_buf *out, lt_str name);
void promtext_label_name(lt_buf *out, const char *name);
/* Appends a sample value as Prometheus writes it: the shortest text that reads back as the
 * same double, "+Inf", "-Inf", "NaN". */
void promtext_value(lt_buf *out, double v);

#endif
