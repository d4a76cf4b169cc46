/* json.h — the OTLP/JSON form (OTLP spec "JSON Protobuf Encoding"): lowerCamelCase field
 * names, hex trace/span ids, int64 as decimal strings (numbers accepted too), enums as
 * integers, AnyValue as {"stringValue":..} etc., bytes as base64, unknown fields ignored.
 *
 * The decoder is a single pass over a mutable buffer: strings are unescaped in place, so
 * every string in the result is a slice of buf, which must outlive the result. buf needs
 * no terminating NUL; its bytes are changed (also when decoding fails). The body must be
 * one JSON object (RFC 8259; a leading UTF-8 BOM and surrounding whitespace allowed).
 * Reading rules, as protobuf's JSON mapping has them where OTLP says nothing:
 *   - null stands for an absent field; a null array element is a default (empty) element;
 *   - a member given twice: the last value wins, and repeated fields concatenate (so the
 *     pre-0.19 names instrumentationLibrarySpans / instrumentationLibraryLogs /
 *     instrumentationLibrary are read as scopeSpans / scopeLogs / scope, next to them);
 *   - integers are JSON numbers or strings holding one; a fraction or exponent is allowed
 *     when the value is whole ("1e3"); doubles also take "NaN", "Infinity", "-Infinity";
 *   - enums (kind, status code, severityNumber, aggregationTemporality) are integers,
 *     never names;
 *   - ids are hex of exactly 32 / 16 digits, either case; "" is an absent (zero) id;
 *   - unknown members are skipped, but must still be valid JSON.
 * Limits: the limits of model.h apply as in the protobuf decoder (AnyValue nesting up to
 * MODEL_MAX_DEPTH arrays/kvlists, then LT_ETOOBIG), and JSON containers may nest at most
 * 4 * MODEL_MAX_DEPTH + 16 deep (what that AnyValue depth needs in JSON), also inside
 * skipped values, so any nesting costs bounded stack. Errors as in model/pb.h: invalid
 * hex ids, ids of the wrong length, invalid UTF-8 (also through \u escapes: a lone
 * surrogate), numbers out of their field's range and malformed JSON are LT_EINVAL; spans
 * with an all-zero trace or span id are dropped and counted in batch->rejected.
 * Metrics decode to the model pb_decode_metrics gives for the same request (pb.h): the
 * limits of model/metrics.h, the last member of Metric.data wins, Buckets given twice
 * merge, exemplars are skipped, a metric without a name is dropped and its data points
 * counted in batch->rejected; a null element of a number array (bucketCounts,
 * explicitBounds) is 0. Working
 * memory besides the arena: one scratch block for arrays being read, freed on return.
 *
 * The encoder writes the same form canonically (protobuf field order, default values
 * omitted, int64 as strings, ids as lower-case hex), which the decoder reads back to the
 * same model; used by the API's OTLP export and by tests. Thread-safe. */
#ifndef LT_OTLP_JSON_H
#define LT_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/metrics.h"
#include "model/model.h"

/* Decode an ExportTraceServiceRequest / ExportLogsServiceRequest from buf[0..n) into
 * arena a. 0, or an error as above; on error *out is unspecified (safe to discard with
 * the arena). */
int json_decode_traces(lt_arena *a, char *buf, size_t n, lt_trace_batch *out);
int json_decode_logs(lt_arena *a, char *buf, size_t n, lt_log_batch *out);
/* The same for an ExportMetricsServiceRequest (json_metrics.c). */
int json_decode_metrics(lt_arena *a, char *buf, size_t n, lt_metric_batch *out);

/* Append OTLP/JSON to out; 0 or LT_ENOMEM (out->oom is then set, as lt_buf does). */
int json_encode_traces(lt_buf *out, const lt_trace_batch *b);
int json_encode_logs(lt_buf *out, const lt_log_batch *b);
int json_encode_metrics(lt_buf *out, const lt_metric_batch *b);
/* Appends one AnyValue in OTLP/JSON form ({"stringValue":"x"} …); errors are sticky in
 * out->oom. */
void json_encode_value(lt_buf *out, const lt_value *v);

#endif
