/* probsample.c — the probabilistic_sampler processor (see probsample.h).
 *
 * hash_seed mode: keep when hash64(trace id, seed) < p * 2^64. proportional mode: keep when
 * the id's last 7 bytes R (56 bits of randomness, W3C Trace Context level 2) satisfy
 * R >= (1 - p) * 2^56, the rejection threshold of OTel consistent probability sampling. We
 * do not write the "ot=th:" tracestate entry; the spans keep the tracestate they had. */
#include "pipeline/probsample.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"

struct probsamp {
    double percentage;
    uint64_t seed;
    bool proportional;
    bool fail_closed;
    uint64_t threshold; /* hash_seed mode */
    uint64_t reject;    /* proportional mode: keep when R >= reject */
    uint64_t kept, dropped;
};

static const cfg_option options[] = {
    {"sampling_percentage", CFG_OPT_DOUBLE, "percent of traces kept, 0..100"},
    {"hash_seed", CFG_OPT_INT, "seed of the trace id hash; same seed, same traces kept"},
    {"mode", CFG_OPT_STRING, "hash_seed (default) or proportional"},
    {"fail_closed", CFG_OPT_BOOL, "drop log records that have no trace id (default true)"},
    {NULL, 0, NULL},
};

uint64_t probsamp_hash(const uint8_t trace_id[16], uint64_t seed)
{
    return hash64(trace_id, 16, seed);
}

uint64_t probsamp_threshold(double percentage)
{
    if (!(percentage > 0)) return 0;
    if (percentage >= 100) return UINT64_MAX;
    /* p/100 * 2^64, below 2^64 since p < 100 */
    double t = ldexp(percentage / 100.0, 64);
    if (t >= 18446744073709549568.0) return UINT64_MAX - 1;
    return (uint64_t)t;
}

int probsamp_new(const cfg_doc *d, const cfg_node *conf, probsamp **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = cfg_check_options(d, conf, options, "processors.probabilistic_sampler", err, errlen);
    if (rc) return rc;
    const cfg_node *n = cfg_get(conf, "sampling_percentage");
    if (!n)
        return cfg_error(d, conf, err, errlen,
                         "processors.probabilistic_sampler: sampling_percentage is required");
    probsamp ps = {.fail_closed = true};
    if ((rc = cfg_double(d, n, "processors.probabilistic_sampler.sampling_percentage",
                         &ps.percentage, err, errlen)))
        return rc;
    if (!(ps.percentage >= 0 && ps.percentage <= 100))
        return cfg_error(d, n, err, errlen,
                         "processors.probabilistic_sampler.sampling_percentage: %g is not in "
                         "0..100",
                         ps.percentage);
    if ((n = cfg_get(conf, "hash_seed"))) {
        int64_t s;
        if ((rc = cfg_int(d, n, "processors.probabilistic_sampler.hash_seed", &s, err, errlen)))
            return rc;
        ps.seed = (uint64_t)s;
    }
    if ((n = cfg_get(conf, "mode"))) {
        const char *m;
        if ((rc = cfg_string(d, n, "processors.probabilistic_sampler.mode", &m, err, errlen)))
            return rc;
        if (!strcmp(m, "proportional"))
            ps.proportional = true;
        else if (strcmp(m, "hash_seed"))
            return cfg_error(d, n, err, errlen,
                             "processors.probabilistic_sampler.mode: '%s' is not supported "
                             "(hash_seed or proportional)",
                             m);
    }
    if ((n = cfg_get(conf, "fail_closed")) &&
        (rc = cfg_bool(d, n, "processors.probabilistic_sampler.fail_closed", &ps.fail_closed, err,
                       errlen)))
        return rc;
    ps.threshold = probsamp_threshold(ps.percentage);
    double r = ldexp(1.0 - ps.percentage / 100.0, 56);
    ps.reject = ps.percentage >= 100 ? 0 : (uint64_t)ceil(r);
    probsamp *p = lt_malloc(sizeof *p);
    if (!p) return LT_ENOMEM;
    *p = ps;
    *out = p;
    return 0;
}

bool probsamp_keep(const probsamp *ps, const uint8_t trace_id[16])
{
    if (ps->proportional) {
        if (ps->percentage <= 0) return false;
        uint64_t r = 0;
        for (int i = 9; i < 16; i++)
            r = r << 8 | trace_id[i];
        return r >= ps->reject;
    }
    return probsamp_below(probsamp_hash(trace_id, ps->seed), ps->threshold);
}

uint64_t probsamp_filter_traces(probsamp *ps, lt_trace_batch *b)
{
    uint64_t removed = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++) {
            lt_scope_spans *ss = &b->rs[i].scopes[j];
            uint32_t w = 0;
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                if (probsamp_keep(ps, ss->spans[k].trace_id)) {
                    if (w != k) ss->spans[w] = ss->spans[k];
                    w++;
                } else {
                    removed++;
                }
            }
            ss->n_spans = w;
        }
    b->n_spans -= removed;
    ps->dropped += removed;
    ps->kept += b->n_spans;
    return removed;
}

uint64_t probsamp_filter_logs(probsamp *ps, lt_log_batch *b)
{
    uint64_t removed = 0;
    for (uint32_t i = 0; i < b->n_rl; i++)
        for (uint32_t j = 0; j < b->rl[i].n_scopes; j++) {
            lt_scope_logs *sl = &b->rl[i].scopes[j];
            uint32_t w = 0;
            for (uint32_t k = 0; k < sl->n_records; k++) {
                const lt_log_record *r = &sl->records[k];
                bool keep = model_id_is_zero(r->trace_id, 16) ? !ps->fail_closed
                                                              : probsamp_keep(ps, r->trace_id);
                if (keep) {
                    if (w != k) sl->records[w] = sl->records[k];
                    w++;
                } else {
                    removed++;
                }
            }
            sl->n_records = w;
        }
    b->n_records -= removed;
    ps->dropped += removed;
    ps->kept += b->n_records;
    return removed;
}

void probsamp_counts(const probsamp *ps, uint64_t *kept, uint64_t *dropped)
{
    *kept = ps->kept;
    *dropped = ps->dropped;
}

void probsamp_free(probsamp *ps)
{
    lt_free(ps);
}
