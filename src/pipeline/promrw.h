/* promrw.h — Prometheus remote write 1.0 of span metrics.
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
 * promrw_encode is pure and thread-safe. promrw_send does blocking I/O with libcurl (one
 * easy handle per call; call curl_global_init once before threads start). */
#ifndef LT_PIPELINE_PROMRW_H
#define LT_PIPELINE_PROMRW_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
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

/* POSTs body (promrw_encode's output) to url with the remote write headers
 * (Content-Encoding: snappy, Content-Type: application/x-protobuf,
 * X-Prometheus-Remote-Write-Version: 0.1.0), waiting at most timeout_ms in all. Returns 0
 * on a 2xx answer; LT_EINVAL on a 4xx other than 429 (the data is refused: do not retry,
 * as the specification says); LT_EBUSY on 429 or 5xx and LT_EIO when the endpoint could
 * not be reached or did not answer in time (retry later). err gets a one-line reason with
 * the start of the answer's body. */
int promrw_send(const char *url, const lt_buf *body, long timeout_ms, char *err, size_t errlen);

#endif
