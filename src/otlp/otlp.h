/* otlp.h — OTLP request bodies: content types, compression, decoding, replies.
 *
 * The transport-independent half of an OTLP receiver (OTLP spec, "OTLP/HTTP"): given the
 * body and headers of an export request it decompresses, decodes into the model and
 * builds the reply body in the request's format. The HTTP and gRPC servers (net/) call it.
 * Thread-safe; no shared state. */
#ifndef LT_OTLP_OTLP_H
#define LT_OTLP_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/metrics.h"
#include "model/model.h"

typedef enum { OTLP_PROTOBUF, OTLP_JSON } otlp_format;

/* Maps a Content-Type header value ("application/x-protobuf", "application/json",
 * parameters such as "; charset=utf-8" allowed) to a format. LT_EUNSUPPORTED otherwise. */
int otlp_format_of(lt_str content_type, otlp_format *out);

/* Decompresses gzip (RFC 1952; concatenated members allowed) and appends it to out.
 * limit counts the bytes this call adds. Stops with LT_ETOOBIG as soon as the output
 * would pass limit bytes, and this call grows out to no more than its old length +
 * limit + 1 bytes (a gzip bomb costs no more than limit). LT_EINVAL for corrupt or
 * truncated input or bytes after the last member; LT_ENOMEM (zlib's own state, ~40 KiB,
 * is allocated through core/alloc.h too). On error out->len is back to what it was. */
int otlp_gunzip(const uint8_t *in, size_t n, size_t limit, lt_buf *out);

/* Compresses n bytes as one gzip member (RFC 1952) appended to out, for senders (the OTLP
 * exporters). 0, LT_ETOOBIG past 2 GiB of input, or LT_ENOMEM (out->len is then as it
 * was). */
int otlp_gzip(const uint8_t *in, size_t n, lt_buf *out);

/* Decode an ExportTraceServiceRequest / ExportLogsServiceRequest. body is mutable: the
 * JSON decoder unescapes strings in place; the result's strings are slices of body and
 * live in arena a. Errors as in model/pb.h. */
int otlp_decode_traces(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_trace_batch *out);
int otlp_decode_logs(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_log_batch *out);
/* The same for an ExportMetricsServiceRequest (model/metrics.h). */
int otlp_decode_metrics(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_metric_batch *out);

/* Reply bodies in the request's format: an Export*ServiceResponse (partial_success when
 * rejected > 0 or msg non-empty) and a google.rpc.Status for 4xx/5xx. 0 or LT_ENOMEM.
 * rejected_field is the JSON name of the count ("rejectedSpans", "rejectedLogRecords",
 * "rejectedDataPoints"; NULL means "rejectedSpans"); protobuf has one layout for all.
 * JSON: {} or {"partialSuccess":{"rejectedSpans":"3","errorMessage":".."}}, and
 * {"code":3,"message":".."}; defaults omitted, as the encoders do. */
int otlp_reply_ok(lt_buf *out, otlp_format f, const char *rejected_field, uint64_t rejected,
                  lt_str msg);
int otlp_reply_status(lt_buf *out, otlp_format f, int32_t code, lt_str msg);

#endif
