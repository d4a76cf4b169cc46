/* probsample.h — the probabilistic_sampler processor, and the hash both samplers share.
 *
 * A trace is kept when a hash of its trace id falls below sampling_percentage of the hash
 * range. The hash depends only on the id and the seed, never on the process, so every
 * instance given the same percentage and seed keeps the same traces, and the spans of one
 * trace are kept or dropped together wherever they arrive. A lower percentage keeps a
 * subset of what a higher one keeps. The tail sampler's probabilistic policy (tailsample.h)
 * uses the same function, so with the defaults (no hash_seed, no hash_salt) the two select
 * exactly the same traces.
 *
 * Options (the collector's names): sampling_percentage (0..100), hash_seed (integer),
 * mode ("hash_seed", the default here, or "proportional": the randomness is the trace id's
 * last 56 bits as W3C Trace Context level 2 defines it, as OTel consistent samplers read
 * it), fail_closed (logs without a trace id: dropped when true, the default). Not
 * thread-safe for filtering (counters); probsamp_keep is pure. */
#ifndef LT_PIPELINE_PROBSAMPLE_H
#define LT_PIPELINE_PROBSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "pipeline/config.h"

typedef struct probsamp probsamp;

/* The shared hash of a trace id under a seed. Pure. */
uint64_t probsamp_hash(const uint8_t trace_id[16], uint64_t seed);
/* The hash threshold of a percentage: a hash h is kept when h < threshold, or always when
 * the percentage is 100 or more (returns UINT64_MAX then, and probsamp_below treats it as
 * "all"). Pure. */
uint64_t probsamp_threshold(double percentage);
static inline bool probsamp_below(uint64_t h, uint64_t threshold)
{
    return threshold == UINT64_MAX || h < threshold;
}

/* Builds a sampler from its settings (conf may be NULL: 0% would drop everything, so
 * sampling_percentage is required, as in the collector). Returns 0, or LT_EINVAL with a
 * positioned message in err (unknown option, wrong type, percentage outside 0..100, mode
 * "equalizing", which needs tracestate handling we do not do), or LT_ENOMEM. */
int probsamp_new(const cfg_doc *d, const cfg_node *conf, probsamp **out, char *err, size_t errlen);
/* Whether the trace with this id is kept. Pure. */
bool probsamp_keep(const probsamp *ps, const uint8_t trace_id[16]);
/* Removes the spans of traces not kept from b, in place (the arrays shrink; nothing is
 * freed: the batch's arena owns it). Returns the number of spans removed. */
uint64_t probsamp_filter_traces(probsamp *ps, lt_trace_batch *b);
/* Likewise for log records, by their trace id; a record without one is dropped when
 * fail_closed, kept otherwise. Returns the number removed. */
uint64_t probsamp_filter_logs(probsamp *ps, lt_log_batch *b);
/* Items kept and dropped so far. */
void probsamp_counts(const probsamp *ps, uint64_t *kept, uint64_t *dropped);
/* NULL-tolerant. */
void probsamp_free(probsamp *ps);

#endif
