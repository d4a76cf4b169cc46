/* tailsample.h — the tail_sampling processor: decide per whole trace, after it arrived.
 *
 * tailsamp_consume() groups spans by trace id and deep-copies them (span, its resource and
 * scope, its GenAI view) into storage of its own, since the batch's arena is freed when
 * consume returns. tailsamp_tick() decides every trace whose decision_wait (counted from
 * its first span's arrival) has passed, by running the policies over all its spans, and
 * hands each kept trace whole to the caller as a new batch. Policies follow the OTel
 * Collector contrib tailsamplingprocessor (always_sample, latency, numeric_attribute,
 * probabilistic, status_code, string_attribute, boolean_attribute, span_count,
 * rate_limiting, and, composite) and add GenAI ones (cost, tokens, finish_reason,
 * conversation); docs/sampling.md describes each.
 *
 * Memory: at most num_traces undecided traces (and max_bytes of their spans) are held. When
 * a new trace would pass either bound, the oldest is decided early, on the spans it has
 * (the collector drops it instead, losing e.g. an error trace it already holds). Decided
 * traces are remembered by id in two bounded FIFO caches (kept, dropped), so late spans
 * follow the decision: a kept trace's late spans are emitted at the next tick, a dropped
 * one's are dropped at once. Traces decided (early or late) inside consume wait for the next
 * tick to be emitted and count in the bytes held until then, so the bound can be passed by
 * what one batch brings: call tick after consume.
 *
 * One thread at a time: consume, tick, stats and free must not run concurrently. */
#ifndef LT_PIPELINE_TAILSAMPLE_H
#define LT_PIPELINE_TAILSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

typedef struct tailsamp tailsamp;

/* Builds the processor from its settings (the map under processors.tail_sampling).
 * Returns 0, or LT_EINVAL with a positioned message in err (unknown option or policy type,
 * wrong type, a bad regex, a missing required setting), or LT_ENOMEM. */
int tailsamp_new(const cfg_doc *d, const cfg_node *conf, tailsamp **out, char *err, size_t errlen);

/* Takes a copy of b's spans (b itself is not kept or changed); now_ns is the caller's
 * clock (monotonic or wall, but the same one for every call). Spans of traces already
 * decided follow the decision. Returns 0 or LT_ENOMEM (the spans copied before the failure
 * stay held; the rest of the batch is not). */
int tailsamp_consume(tailsamp *ts, const lt_trace_batch *b, uint64_t now_ns);

/* Receives a kept trace: b and everything it points to live in arena a, which the callback
 * owns from now on (it frees it with arena_free, at once or later). b's spans carry their
 * GenAI views. A non-zero return stops the tick and is returned by tailsamp_tick (the trace
 * given is then the callback's all the same; the traces not yet emitted wait for the next
 * tick). */
typedef int (*tailsamp_emit_fn)(const lt_trace_batch *b, lt_arena *a, void *arg);

/* Decides the traces whose decision_wait has passed at now_ns, and emits the kept ones
 * (also those decided early and the late spans of kept traces). Returns 0, the callback's
 * error, or LT_ENOMEM (building the batch; the trace waits for the next tick). */
int tailsamp_tick(tailsamp *ts, uint64_t now_ns, tailsamp_emit_fn emit, void *arg);

/* Decides and emits everything held, now (at shutdown). Returns as tailsamp_tick. */
int tailsamp_flush(tailsamp *ts, uint64_t now_ns, tailsamp_emit_fn emit, void *arg);

typedef struct {
    uint64_t traces_held; /* undecided traces, and decided ones waiting for a tick */
    uint64_t spans_held;
    uint64_t bytes_held;    /* span data copies (exact) and the per-trace records */
    uint64_t bytes_pending; /* of which undecided traces' spans and records (max_bytes) */
    uint64_t bytes_index;   /* the trace table and the decision caches */
    uint64_t traces_kept, traces_dropped;
    uint64_t spans_kept, spans_dropped;
    uint64_t decided_early; /* decided before decision_wait because a bound was reached */
    uint64_t late_spans_kept, late_spans_dropped; /* spans of traces already decided */
} tailsamp_stats;

void tailsamp_get_stats(const tailsamp *ts, tailsamp_stats *out);

/* The top-level policies, in configuration order: i < tailsamp_policy_count(). sampled and
 * not_sampled count each policy's own votes over the traces decided (a trace kept by another
 * policy still counts as not_sampled here). name lives as long as ts. */
typedef struct {
    const char *name;
    const char *type;
    uint64_t sampled, not_sampled;
} tailsamp_policy_stats;

size_t tailsamp_policy_count(const tailsamp *ts);
void tailsamp_policy_stat(const tailsamp *ts, size_t i, tailsamp_policy_stats *out);

/* Frees everything held, undecided traces included (without emitting). NULL-tolerant. */
void tailsamp_free(tailsamp *ts);

#endif
