/* api.h — the JSON API of llmtrace, independent of any transport.
 *
 * The HTTP server (net/) hands every request under /api/ to api_handle(); the CLI calls it
 * too when it reads a store directory instead of a running server, so both see the same
 * JSON. Endpoints (GET; HEAD is answered as GET, other methods get 405):
 *
 *   /api/traces?service=&name=&start=&end=&min_duration=&max_duration=&status=error
 *              &attr=KEY=VALUE&limit=&cursor=
 *       {"traces":[{"trace_id","root_name","root_service","start_unix_nano","duration_ns",
 *        "span_count","error_count","services":[..]}],"next_cursor":"..."|null}, newest
 *       first. start/end bound the trace start (Unix ns, or RFC 3339); durations are
 *       "250ms", "1.5s", "2m" or plain integer nanoseconds; limit 1..1000 (default 20,
 *       larger values are capped); cursor is next_cursor of the previous page (opaque;
 *       a page may hold fewer than limit traces and still have a next_cursor).
 *   /api/traces/{32 hex}            {"trace_id","spans":[..],"logs":[..]}: spans by start
 *       time (parent first on a tie) with typed attributes, events, links and the log
 *       records that carry their span id; "logs" holds the trace's records that match no
 *       stored span. ?format=otlp answers the spans as an OTLP/JSON
 *       ExportTraceServiceRequest instead (lossless).
 *   /api/services                   {"services":[..]}
 *   /api/services/{service}/operations   {"operations":[{"name","span_kind"}]}
 *
 * Times and durations are decimal strings of nanoseconds (JavaScript loses precision past
 * 2^53); counts are JSON integers; trace and span ids are lower-case hex. Errors are
 * {"error":"..."} with 400 (the message names the bad parameter), 404 (unknown path or
 * trace), 405 (method) or 503 (store failure or out of memory; retryable). */
#ifndef LT_API_API_H
#define LT_API_API_H

#include "core/str.h"
#include "store/store.h"

/* Handles one request. method is the HTTP method ("GET"); path is the request path as
 * received, still percent-encoded ("/api/services/my%20svc/operations"); query is the raw
 * query string without '?' (LT_STR_NULL or empty when absent). Appends the response body
 * to out (which the caller owns and frees) and sets *content_type to a static string.
 * Returns the HTTP status code. When out->oom is set afterwards the body is incomplete and
 * the caller should answer 503 without it. s may be NULL (every data endpoint then answers
 * 503). Thread-safe: each call uses an arena of its own and the store is thread-safe. */
int api_handle(lt_store *s, lt_str method, lt_str path, lt_str query, lt_buf *out,
               const char **content_type);

#endif
