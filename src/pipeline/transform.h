/* transform.h — the `transform` processor: OTTL statements run on every span, span event,
 * log record, scope or resource of a batch.
 *
 * Settings, in the collector's shape (processors.transform in the YAML file):
 *
 *   error_mode: ignore | silent | propagate      (default propagate, as the collector)
 *   trace_statements:
 *     - context: span | spanevent | scope | resource
 *       error_mode: ...                           (optional, for this group)
 *       statements: [ 'set(attributes["x"], "y") where name == "chat"', ... ]
 *     - 'replace_pattern(span.attributes["p"], "\\d+", "#")'   (flat form)
 *   log_statements:  the same with contexts log, scope, resource
 *
 * A flat statement's context is the most specific one its paths name by prefix
 * (resource < scope < span < spanevent; resource < scope < log), or span / log when its
 * paths have no context prefix.
 *
 * Groups run in the order given; within a group every statement runs on one item before the
 * next item. With ignore a failing statement is logged and the next one runs; silent does
 * the same without logging; propagate stops and fails the batch (the caller drops it).
 *
 * A span whose attributes (or whose resource's or scope's) were changed gets its canonical
 * GenAI view derived again, so the view never shows a value a statement replaced; its cost,
 * computed earlier from the price table, is kept.
 *
 * A transform is read-only after transform_create; process may run on several threads at
 * once, each with its own batch and arena. */
#ifndef LT_PIPELINE_TRANSFORM_H
#define LT_PIPELINE_TRANSFORM_H

#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

typedef struct transform transform;

typedef enum { TRANSFORM_PROPAGATE, TRANSFORM_IGNORE, TRANSFORM_SILENT } transform_error_mode;

/* Reads the settings (a map; NULL = no statements) of the processor named where (for
 * messages, e.g. "processors.transform"). Returns 0 and a processor to free with
 * transform_free; LT_EINVAL with "FILE:LINE:COL: where...: what" in err (unknown option,
 * unknown context, a statement that does not parse, with the column within the statement);
 * LT_ENOMEM. */
int transform_create(const cfg_doc *d, const cfg_node *settings, const char *where, transform **out,
                     char *err, size_t errlen);
/* NULL-tolerant. */
void transform_free(transform *t);

/* Runs the trace / log statements on b in place; new strings go to a (the batch's arena).
 * Returns 0; LT_EINVAL when a statement failed and its error mode is propagate (the batch
 * is then partly transformed and should be dropped); LT_ENOMEM. */
int transform_traces(const transform *t, lt_trace_batch *b, lt_arena *a);
int transform_logs(const transform *t, lt_log_batch *b, lt_arena *a);

/* Statement errors seen so far under ignore / silent (all threads). */
uint64_t transform_errors(const transform *t);

#endif
