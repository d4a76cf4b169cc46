/* pipeline.h — the pipelines of a configuration, running.
 *
 * Built from a checked configuration (pipeline_config.h), this is what `serve --config`
 * runs between the receive stage and the stores: for each decoded request, every pipeline
 * of its signal in the file's order runs its processors and hands the result to its
 * exporters (our storage, the spanmetrics connector, the export/ exporters), as the
 * OpenTelemetry Collector does.
 *
 * Processors: transform, redaction, probabilistic_sampler, filter and attributes change the
 * batch in place, in the request's arena; tail_sampling takes the batch (a copy of it) and
 * later hands whole kept traces to the rest of the pipeline, from a timer on the loop;
 * memory_limiter sets the server's memory limiter (one per process, as its settings are
 * process-wide); batch sets how the pipeline's exporters group what they send.
 *
 * Acknowledgement: a request whose pipeline stores its data directly is answered once
 * committed, as without a configuration (pipelines_traces returns PIPE_STORE and the caller
 * submits the batch to the tenant's ingest queue). Data that a pipeline holds (tail
 * sampling) or that a second pipeline of the same signal stores is acknowledged once taken,
 * as the collector acknowledges once its processors return: a crash loses what was held.
 * Exporters queue what they are given; a full queue refuses the request (PIPE_BUSY: the
 * sender retries), checked before anything is handed to any exporter.
 *
 * Tenants: each tenant's data goes through the same processors and exporters; what a
 * processor holds per trace (tail sampling) is kept per tenant, and each tenant's data is
 * stored in that tenant's store.
 *
 * Threads: everything but pipelines_metrics_text runs on the receive stage's loop thread. */
#ifndef LT_PIPELINE_PIPELINE_H
#define LT_PIPELINE_PIPELINE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "genai/genai.h"
#include "model/metrics.h"
#include "model/model.h"
#include "pipeline/ingest.h"
#include "pipeline/pipeline_config.h"

typedef struct pipelines pipelines;

typedef struct {
    const pipecfg *cfg;      /* kept; must outlive the pipelines */
    struct event_base *base; /* the receive stage's loop (timers) */
    ingest *const *stores;   /* the storage of each tenant */
    size_t n_tenants;
    const genai_prices *prices; /* views and costs of copies made for a second pipeline */
} pipelines_env;

/* Creates every component the pipelines use, checking their settings. 0, or LT_EINVAL with
 * a positioned message (an option value a component refuses, two tail_sampling processors
 * in one pipeline), or LT_ENOMEM. Nothing runs yet. */
int pipelines_create(const pipelines_env *env, pipelines **out, char *err, size_t errlen);

/* Starts the exporters (threads, files) and the timers. 0 or an error with a message. */
int pipelines_start(pipelines *p, char *err, size_t errlen);

typedef enum {
    PIPE_STORE,  /* store the (processed) batch in the tenant's store, then acknowledge */
    PIPE_DONE,   /* taken: acknowledge now (held, exported, dropped by a sampler or filter) */
    PIPE_BUSY,   /* an exporter's queue, or what tail sampling holds, is full: retry later */
    PIPE_FAILED, /* a processor failed on this data (error_mode propagate): do not retry */
    PIPE_NOMEM,  /* out of memory: retry later */
} pipe_outcome;

/* Runs b (decoded with its GenAI views, in arena a, which the caller frees after the commit
 * or at once for anything but PIPE_STORE) of tenant through the traces / logs pipelines.
 * On PIPE_STORE, *b is what to store. */
pipe_outcome pipelines_traces(pipelines *p, size_t tenant, lt_trace_batch *b, lt_arena *a);
pipe_outcome pipelines_logs(pipelines *p, size_t tenant, lt_log_batch *b, lt_arena *a);

/* OTLP metrics from the receivers: every metrics pipeline that receives from otlp hands b
 * to its exporters (metrics are forwarded, not stored). PIPE_DONE, PIPE_BUSY (an exporter's
 * queue is full: checked for all before any is given b) or PIPE_NOMEM. */
pipe_outcome pipelines_metrics(pipelines *p, const lt_metric_batch *b);

/* Whether some pipeline takes the signal from the receivers: a signal no pipeline takes is
 * accepted and dropped, as the collector does with a receiver no pipeline of that signal
 * uses. */
bool pipelines_take_traces(const pipelines *p);
bool pipelines_take_logs(const pipelines *p);
bool pipelines_take_metrics(const pipelines *p);

/* The memory_limiter settings, when a pipeline has one: the resident size past which data
 * is refused, and the interval of the check. false when none is configured. */
bool pipelines_memory_limit(const pipelines *p, size_t *soft_limit, uint64_t *interval_ns);

/* Stop, step 1 (the receivers are closed and idle): decides every trace tail sampling holds
 * and sends it on. Step 2: pipelines_idle() says when everything handed to the stores has
 * been committed. Then pipelines_free stops the exporters (each sends what it has queued
 * for a few seconds more). */
void pipelines_flush(pipelines *p);
bool pipelines_idle(const pipelines *p);

/* GET /metrics: the span metrics of every spanmetrics connector, Prometheus text format.
 * Any thread. Returns false when no connector is configured (the endpoint is then 404). */
bool pipelines_metrics_text(pipelines *p, lt_buf *out);

/* One line per component with its counters, for the log at stop. */
void pipelines_log_stats(const pipelines *p);

/* NULL-tolerant. */
void pipelines_free(pipelines *p);

#endif
