/* pb.h — the OTLP protobuf wire form of the model (opentelemetry-proto v1.x).
 *
 * Decoders read ExportTraceServiceRequest / ExportLogsServiceRequest /
 * ExportMetricsServiceRequest (and the inner trace and log messages on their own, which is
 * how the store keeps rows) into an arena. Strings and
 * bytes are slices of the input, which must outlive the result. Unknown fields are skipped
 * by wire type; field 1000 (the pre-0.19 instrumentation_library_spans / _logs) is read as
 * scope_spans / scope_logs. String fields must be valid UTF-8 (proto3).
 *
 * Encoders write the canonical form: fields in number order, default values omitted, so
 * the same model always encodes to the same bytes (the store relies on this, and on the
 * JSON and protobuf forms of one request storing identically).
 *
 * Errors: LT_EINVAL for malformed input (truncation, wrong wire type for a known field,
 * lengths past the end, invalid UTF-8, trace ids not 16 bytes or span ids not 8 bytes
 * when non-empty), LT_ETOOBIG when a limit of model.h is passed, LT_ENOMEM when the arena
 * or buffer cannot grow. On error the output is unspecified (but safe to discard with the
 * arena). Spans with an all-zero trace or span id are dropped and counted in
 * batch->rejected. All functions are thread-safe (no shared state).
 *
 * Details of the decoders:
 * - Limits: AnyValue holds at most MODEL_MAX_DEPTH nested arrays/kvlists (an attribute
 *   value that is an array of arrays ... 64 deep is fine, 65 is LT_ETOOBIG); one
 *   attribute list, array or kvlist holds at most MODEL_MAX_ATTRS entries; resource_spans,
 *   scope_spans and, over the whole request, spans + events + links (or log records) at
 *   most MODEL_MAX_ITEMS. Recursion is bounded by the depth limit, whatever the input.
 * - Ids: an empty id means absent and reads as all zero; parent_span_id of eight zero
 *   bytes is no parent (has_parent false). pb_decode_span does not reject zero ids (the
 *   caller decides); pb_decode_traces does. A log record's ids may be empty.
 * - A singular field sent twice: the last one wins (Status merges field by field; an
 *   AnyValue oneof keeps its last member). Profiles-only fields (KeyValue.key_strindex,
 *   AnyValue.string_value_strindex) and Resource.entity_refs are skipped.
 * - uint32 and enum fields keep the low 32 bits of the varint, as proto3 does.
 * - Metrics (model/metrics.h): the limits of metrics.h apply too (metrics and data points
 *   count as items; MODEL_MAX_BUCKETS per repeated field of a data point). Repeated
 *   numbers (bucket_counts, explicit_bounds, exponential bucket counts) are read packed or
 *   not, as proto3 requires; a packed fixed64 payload that is not a multiple of 8 bytes is
 *   LT_EINVAL. Metric.data is a oneof: the last member sent replaces any earlier one; an
 *   exponential histogram's Buckets sent twice merge (offset replaced, counts appended).
 *   Exemplars are checked for their wire type and not kept. A metric without a name is
 *   dropped and its data points counted in batch->rejected.
 *
 * Details of the encoders: an AnyValue member is written even at its default (int 0,
 * false, "" stay typed); an EMPTY value is an empty AnyValue in an array and omitted as a
 * KeyValue's value or a log body; ids are written when not all zero; parent_span_id when
 * has_parent. Metrics: the data member of a metric is written when its type is set, even
 * without points; a NumberDataPoint's value, and the optional sum, min and max of the
 * histograms, whenever they are set (also at 0); other doubles when their bits are not
 * those of +0.0; repeated numbers packed. On LT_ENOMEM the buffer is cut back to its length before
 * the call (and keeps oom set). */
#ifndef LT_MODEL_PB_H
#define LT_MODEL_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/metrics.h"
#include "model/model.h"

/* p may be NULL when n is 0 (an empty request: no resource_spans, success). */
int pb_decode_traces(lt_arena *a, const uint8_t *p, size_t n, lt_trace_batch *out);
int pb_decode_logs(lt_arena *a, const uint8_t *p, size_t n, lt_log_batch *out);
int pb_decode_metrics(lt_arena *a, const uint8_t *p, size_t n, lt_metric_batch *out);

/* Inner messages, as the store keeps them. */
int pb_decode_span(lt_arena *a, const uint8_t *p, size_t n, lt_span *out);
int pb_decode_resource(lt_arena *a, const uint8_t *p, size_t n, lt_resource *out);
int pb_decode_scope(lt_arena *a, const uint8_t *p, size_t n, lt_scope *out);
int pb_decode_log_record(lt_arena *a, const uint8_t *p, size_t n, lt_log_record *out);

/* Append the canonical encoding to out; 0 or LT_ENOMEM. */
int pb_encode_traces(lt_buf *out, const lt_trace_batch *b);
int pb_encode_logs(lt_buf *out, const lt_log_batch *b);
int pb_encode_metrics(lt_buf *out, const lt_metric_batch *b);
int pb_encode_span(lt_buf *out, const lt_span *s);
int pb_encode_resource(lt_buf *out, const lt_resource *r);
int pb_encode_scope(lt_buf *out, const lt_scope *s);
int pb_encode_log_record(lt_buf *out, const lt_log_record *r);

/* Export{Trace,Logs,Metrics}ServiceResponse (one layout for all three): partial_success
 * set when rejected > 0 or msg is non-empty, an empty message otherwise. */
int pb_encode_export_response(lt_buf *out, uint64_t rejected, lt_str msg);
/* google.rpc.Status { code = 1, message = 2 }. */
int pb_encode_status(lt_buf *out, int32_t code, lt_str msg);

/* Wire primitives, for other protobuf users (gRPC framing, the client library). */
int pb_put_varint(lt_buf *out, uint64_t v);
/* Reads a varint at *p (not past end); advances *p. Returns 0 or LT_EINVAL. */
int pb_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif
