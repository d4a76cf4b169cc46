/* json.h — the OTLP/JSON form (OTLP spec "JSON Protobuf Encoding"): lowerCamelCase field
 * names, hex trace/span ids, int64 as decimal strings (numbers accepted too), enums as
 * integers, AnyValue as {"stringValue":..} etc., bytes as base64, unknown fields ignored.
 *
 * The decoder is a single pass over a mutable buffer: strings are unescaped in place, so
 * every string in the result is a slice of buf. Limits of model.h apply, and JSON nesting
 * deeper than MODEL_MAX_DEPTH+16 is LT_ETOOBIG. Errors as in model/pb.h; invalid hex ids,
 * ids of the wrong length, invalid UTF-8 and malformed JSON are LT_EINVAL.
 *
 * The encoder writes the same form (int64 as strings, ids as hex), used by the API's
 * OTLP export and by tests. Thread-safe. */
#ifndef LT_OTLP_JSON_H
#define LT_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"

int json_decode_traces(lt_arena *a, char *buf, size_t n, lt_trace_batch *out);
int json_decode_logs(lt_arena *a, char *buf, size_t n, lt_log_batch *out);

/* Append OTLP/JSON to out; 0 or LT_ENOMEM. */
int json_encode_traces(lt_buf *out, const lt_trace_batch *b);
int json_encode_logs(lt_buf *out, const lt_log_batch *b);
/* One AnyValue in OTLP/JSON form ({"stringValue":"x"} …). */
void json_encode_value(lt_buf *out, const lt_value *v);

#endif
