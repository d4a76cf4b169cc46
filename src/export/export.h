/* export.h — exporters: where a pipeline's data goes besides our own storage.
 *
 * The exporter types of the configuration (pipeline/components.h): otlp (OTLP/gRPC to another
 * endpoint), otlphttp (OTLP/HTTP), debug (a summary of what passes, to the log), file (OTLP
 * JSON lines, rotated), prometheusremotewrite (OTLP metrics and span metrics as remote
 * write; see export_add_metrics) and loadbalancing (traces and logs routed by trace id over
 * a consistent-hash ring of backends, each an otlp exporter of its own, found by a static
 * list or by DNS on a thread of its own). Each exporter has a bounded queue and threads of its own
 * that send (libcurl, blocking) with retries and backoff as the collector's
 * retry_on_failure; the pipeline hands it data with a non-blocking call that encodes at once
 * (the batch's arena is freed afterwards) and queues the bytes, or refuses when the queue is
 * full, so the caller can answer "retry later". With export_set_batching (a pipeline's batch
 * processor) the sending threads merge queued batches of one signal into larger requests.
 * docs/exporters.md describes every option, the retry, queue and batching semantics and the
 * on-disk queue.
 *
 * Threads: export_create, export_add_metrics, export_set_batching, export_start and
 * export_stop are called from one thread (the one that builds and tears down the
 * pipelines); export_traces, export_logs, export_metrics and export_has_room from any one
 * thread at a time (the pipeline's), between start and stop; export_get_stats from any
 * thread; the exporter's own threads do the I/O. */
#ifndef LT_EXPORT_EXPORT_H
#define LT_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/metrics.h"
#include "model/model.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/spanmetrics.h"

/* A memory queue holds at most queue_size batches and at most this many bytes of encoded
 * data (whichever comes first; one batch is always taken by an empty queue), so an
 * exporter's memory stays bounded whatever its batches weigh. A disk queue keeps the bytes
 * on disk and only the bookkeeping in memory. */
#define EXPORT_MAX_QUEUE_BYTES ((size_t)32 << 20)

typedef struct exporter exporter;

/* Initialises libcurl for the whole process (curl_global_init). Call once from the main
 * thread before any other thread exists; export_create calls it too (once), which is
 * enough when exporters are created before threads start. 0 or LT_ENOMEM. */
int export_global_init(void);

/* Builds the exporter of component c (its type one of otlp, otlphttp, debug, file,
 * prometheusremotewrite, loadbalancing) from its settings, checking every option and value
 * (endpoint URL or HOST:PORT, headers, compression, timeout, tls, retry_on_failure, sending_queue,
 * file path and rotation, verbosity ...). Returns 0, LT_EINVAL with a positioned message ("FILE:
 * LINE:COL: exporters.otlp/jaeger.endpoint: ...") in err, LT_EUNSUPPORTED for a type that is
 * not one of these (the llmtrace storage), or LT_ENOMEM. Does not connect or open anything
 * yet. d and c are not kept. */
int export_create(const cfg_doc *d, const pipecfg_component *c, exporter **out, char *err,
                  size_t errlen);

/* prometheusremotewrite: a connector whose snapshots this exporter sends every
 * metrics_flush_interval (spanmetrics_flush_interval_ns) of that connector, and once more
 * when stopping. sm must outlive the exporter. Before start. 0, LT_EINVAL for another type
 * of exporter, LT_ETOOBIG past 16 connectors, LT_ENOMEM. */
int export_add_metrics(exporter *ex, spanmetrics *sm);

/* Batching, as the collector's batch processor (its options timeout, send_batch_size and
 * send_batch_max_size), for the exporters of a pipeline that has one; before start. A
 * sending thread then takes queued batches of one signal, oldest first, and sends them as
 * one request (ExportXServiceRequest bodies concatenate; the file exporter writes one JSON
 * line per request): it takes batches until they hold send_batch_size items (spans, data
 * points or log records), never going past send_batch_max_size items (0: no bound), once
 * that many are queued or timeout has passed since the oldest of them was queued (0: at
 * once), or the exporter is stopping. A single batch over send_batch_max_size is split
 * into requests of at most that many items. Batches of a disk queue leave the disk when
 * the request holding them is delivered or given up. debug and prometheusremotewrite send
 * batch by batch whatever is set (0, a no-op). Called again, the last settings hold. 0;
 * LT_EINVAL when started or when send_batch_max_size is below send_batch_size. */
int export_set_batching(exporter *ex, uint64_t timeout_ns, uint64_t send_batch_size,
                        uint64_t send_batch_max_size);

/* Opens files (the file exporter's output, a disk queue's directory, which it locks and
 * reads back), starts the threads. 0 or an error with a message in err. */
int export_start(exporter *ex, char *err, size_t errlen);

/* Whether bytes more would fit in the queue now (a hint for the caller, which checks all the
 * exporters of a pipeline before handing data to any). loadbalancing: in every backend's
 * queue; false before its DNS name first resolves. */
bool export_has_room(const exporter *ex, size_t bytes);

/* Encodes b now (protobuf for otlp/otlphttp, OTLP JSON for file, a summary for debug) and
 * queues it; with a disk queue the batch is in a file of the directory before this returns.
 * 0 when queued (or when b holds nothing to send); LT_EBUSY when the queue is full (nothing
 * queued, counted in refused_items); LT_EIO when the disk queue could not write the batch
 * (not queued, logged); LT_EUNSUPPORTED for prometheusremotewrite (traces and logs);
 * LT_ENOMEM. b is not kept. loadbalancing splits b by owner and queues each part in its
 * backend only when every backend concerned has room (else LT_EBUSY, nothing queued), and
 * answers LT_EBUSY before its DNS name first resolves, LT_EUNSUPPORTED for metrics. */
int export_traces(exporter *ex, const lt_trace_batch *b);
int export_logs(exporter *ex, const lt_log_batch *b);
/* The same for OTLP metrics (an ExportMetricsServiceRequest; items are data points).
 * prometheusremotewrite translates b at once (pipeline/promrw.h, with the exporter's
 * namespace, external_labels and target_info): the points the translation leaves out
 * (delta sums, exponential histograms, ...) are counted in failed_items and logged, the
 * request queued holds the others and counts them as its items. */
int export_metrics(exporter *ex, const lt_metric_batch *b);

/* Items are spans, log records and metric data points; for the spanmetrics snapshots of
 * prometheusremotewrite, series. A request may hold several batches (batching). */
typedef struct {
    uint64_t sent_items, sent_requests;     /* delivered */
    uint64_t rejected_items;                /* refused by the receiver in a partial success */
    uint64_t failed_items;                  /* given up: non-retryable answer, or retries ran out,
                                               or a memory queue dropped at stop, or left out
                                               by the remote write translation */
    uint64_t refused_items;                 /* queue full when offered */
    uint64_t queued_bytes, queued_requests; /* waiting or being sent */
    uint64_t retries;                       /* attempts after a retryable failure */
} export_stats;
/* Any thread. */
void export_get_stats(const exporter *ex, export_stats *out);
const char *export_id(const exporter *ex); /* "otlp/jaeger" */

/* Stops: sends what is queued for at most grace_ms more (a persistent queue keeps the rest
 * on disk for the next start; a memory queue logs how much is dropped), joins the threads
 * and frees. Also frees an exporter that was created and never started. NULL-tolerant. */
void export_stop(exporter *ex, long grace_ms);

#endif
