/* promtext.h — span metrics in the Prometheus text exposition format 0.0.4.
 *
 * Renders a spanmetrics snapshot for GET /metrics: per metric family a "# HELP" and a
 * "# TYPE" line, then its samples; counters as NAME_total, histograms as NAME_bucket{le=..}
 * (cumulative, ending with le="+Inf"), NAME_sum and NAME_count. Order is the snapshot's,
 * which is fixed, so the same values always render to the same bytes.
 *
 * Names follow the translation of OTLP names that Prometheus and the collector's Prometheus
 * exporters apply (with suffixes, underscore escaping): the name's runs of characters
 * outside [A-Za-z0-9:] become one '_', the unit is appended as a word ("ms" ->
 * "milliseconds", "s" -> "seconds", a unit in braces such as "{token}" -> nothing), and
 * counters end in "_total": traces.span.metrics.duration in ms is
 * traces_span_metrics_duration_milliseconds. Label names have every character outside
 * [A-Za-z0-9_] replaced by '_' (service.name -> service_name), a leading digit prefixed
 * with "key_". Label values escape \\, \" and newline as the format requires.
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

/* Appends the Prometheus name of m's family: with the unit word, and "_total" for a
 * counter (histogram sample names add _bucket, _sum, _count to it). Shared with promrw. */
void promtext_metric_name(lt_buf *out, const spanmetrics_metric *m);
/* Appends the Prometheus name of a label (an OTel attribute name). */
void promtext_label_name(lt_buf *out, const char *name);
/* Appends a sample value as Prometheus writes it: the shortest text that reads back as the
 * same double, "+Inf", "-Inf", "NaN". */
void promtext_value(lt_buf *out, double v);

#endif
