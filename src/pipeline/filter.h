/* filter.h — the `filter` processor: drop spans, span events and log records that match
 * OTTL conditions.
 *
 * Settings, in the collector's shape (processors.filter in the YAML file):
 *
 *   error_mode: ignore | silent | propagate      (default propagate, as the collector)
 *   traces:
 *     span:      [ 'attributes["http.route"] == "/health"', 'kind == SPAN_KIND_INTERNAL' ]
 *     spanevent: [ 'name == "gen_ai.content.prompt"' ]
 *   logs:
 *     log_record: [ 'severity_number < SEVERITY_NUMBER_WARN', 'IsMatch(body, "password")' ]
 *
 * A condition is the where part of an OTTL statement (ottl.h: comparisons, and / or / not,
 * IsMatch, HasPrefix, HasSuffix, Is* and Len), in the context of its list: span, spanevent
 * (span.* reaches the event's span) or log; resource.attributes and instrumentation_scope.*
 * reach the item's resource and scope. An item that matches any condition of its list is
 * dropped: a span with its events and links, a span event from its span, a log record. A
 * scope left without spans (or records) is removed, and a resource left without scopes, as
 * the collector does; the batch may end up empty (n_spans or n_records 0).
 *
 * A condition that fails on an item (HasPrefix of a number, say) is, under propagate, an
 * error of the whole batch (the caller drops it); under ignore it counts as not matching
 * and is logged; under silent the same without the log line. The collector's older
 * include / exclude form of this processor (spans:, logs.include) is not supported: its
 * options are refused as unknown.
 *
 * Spans' GenAI views need no refresh: a view is derived from attributes, and this
 * processor removes whole items or events, never attributes. A filter is read-only after
 * filter_create (its counters are atomic): the process functions may run on several
 * threads at once, each with its own batch. */
#ifndef LT_PIPELINE_FILTER_H
#define LT_PIPELINE_FILTER_H

#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

typedef struct filter filter;

/* Reads the settings (a map; NULL = nothing is dropped) of the processor named where
 * ("processors.filter/health"; NULL = "processors.filter"). 0 and a processor to free with
 * filter_free; LT_EINVAL with "FILE:LINE:COL: where.traces.span[0]: column N: what" in err
 * (unknown option, a condition that does not parse, an error mode that does not exist);
 * LT_ENOMEM. */
int filter_create(const cfg_doc *d, const cfg_node *settings, const char *where, filter **out,
                  char *err, size_t errlen);
/* NULL-tolerant. */
void filter_free(filter *f);

/* Drops the spans and span events of b that match, in place: the arrays shrink, nothing is
 * freed (the batch's arena a owns it all). *removed (may be NULL) is set to the number of
 * spans dropped. Returns 0; LT_EINVAL when a condition failed under propagate (evaluation
 * stops there and the rest of the batch is kept as it is, so the batch is consistent but
 * only partly filtered: drop it); LT_ENOMEM. */
int filter_traces(const filter *f, lt_trace_batch *b, lt_arena *a, uint64_t *removed);
/* Likewise for the log records of b; *removed counts the records dropped. */
int filter_logs(const filter *f, lt_log_batch *b, lt_arena *a, uint64_t *removed);

/* What was dropped so far (all threads), and the condition errors seen under ignore /
 * silent. */
typedef struct {
    uint64_t spans, span_events, log_records, errors;
} filter_stats;
void filter_get_stats(const filter *f, filter_stats *out);

#endif
