/* api.h — the JSON API of llmtrace, independent of any transport.
 *
 * The HTTP server (net/) hands every request under /api/ to api_handle(); the CLI calls it
 * too when it reads a store directory instead of a running server, so both see the same
 * JSON. Endpoints (GET; HEAD is answered as GET, other methods get 405):
 *
 *   /api/traces?service=&name=&start=&end=&min_duration=&max_duration=&status=error
 *              &attr=KEY=VALUE&model=&provider=&operation=&conversation=&user=&min_cost=
 *              &min_tokens=&q=&limit=&cursor=&sort=
 *       {"traces":[{"trace_id","root_name","root_service","start_unix_nano","duration_ns",
 *        "span_count","error_count","llm_calls","input_tokens","output_tokens","cost",
 *        "services":[..]}],"next_cursor":"..."|null}, newest first. start/end bound the trace
 *       start (Unix ns, or RFC 3339); durations are "250ms", "1.5s", "2m" or plain integer
 *       nanoseconds; limit 1..1000 (default 20, larger values are capped); cursor is
 *       next_cursor of the previous page (opaque; a page may hold fewer than limit traces
 *       and still have a next_cursor). model, provider, operation, conversation and user
 *       match some span's GenAI view; min_cost (USD) and min_tokens (input + output) the
 *       trace's totals; input_tokens include cached ones, output_tokens reasoning ones, cost
 *       is USD over the spans whose cost is known.
 *       q: free text — some span of the trace (or a log record carrying its trace id) holds
 *       these words in this order, the last one as a prefix, case and accents folded: its
 *       name, status message, string attributes of 64 bytes or more (prompts, completions,
 *       tool payloads, documents), any string of its events, a log record's body (store.h,
 *       lt_trace_query.text). 400 when the text matches more than one request examines.
 *       sort=cost|duration: instead, the limit most expensive (cost > 0 only) or slowest
 *       matching traces, ties newest first, on one page (next_cursor null, a cursor is a
 *       400), with "partial":true when only the newest traces of the range were ranked
 *       (the store bounds the traces one request examines). sort=start is the default.
 *   /api/traces/{32 hex}            {"trace_id","spans":[..],"logs":[..]}: spans by start
 *       time (parent first on a tie) with typed attributes, events, links and the log
 *       records that carry their span id; "logs" holds the trace's records that match no
 *       stored span. ?format=otlp answers the spans as an OTLP/JSON
 *       ExportTraceServiceRequest instead (lossless).
 *   /api/services                   {"services":[..]}
 *   /api/services/{service}/operations   {"operations":[{"name","span_kind"}]}
 *   /api/genai/summary?start=&end=&group_by=model|provider|operation|service|span_name|agent
 *                     |user|conversation
 *       {"group_by","start_unix_nano","end_unix_nano"|null,"groups":[GROUP]} over the spans
 *       with a GenAI view started in the range (default: the 24 hours before end, or now),
 *       groups by cost then calls, descending. GROUP is {"key","calls","errors",
 *       "input_tokens","output_tokens","cache_read_tokens","cache_creation_tokens",
 *       "reasoning_tokens","cost","duration_p50_ns","duration_p95_ns","duration_p99_ns",
 *       "ttft_p50_s"|null,"ttft_p95_s"|null} (quantiles within 4%, from histograms).
 *   /api/genai/timeseries?start=&end=&step=&group_by=      the dashboard's data:
 *       {"group_by","start_unix_nano","end_unix_nano","step_ns","buckets":["<start>",..],
 *        "points":[{"bucket":<index into buckets>,"key",..GROUP's other fields}],
 *        "totals":[GROUP],"top_cost":[TRACE],"top_duration":[TRACE],
 *        "cost_distribution":{"traces","partial","buckets":[{"min","max"|null,"traces"}]}}.
 *       The range defaults to the 24 hours before now (end defaults to now). Buckets are
 *       [k * step, (k + 1) * step) in Unix time, every one the range touches, the first and
 *       last holding only what lies inside it; points are its non-empty (bucket, group)
 *       pairs, bucket by bucket, by cost within one. step is a duration of at least 1m,
 *       rounded up to whole minutes and widened so that the range has at most 500 buckets;
 *       without it a round step giving about 120. totals is /api/genai/summary's groups
 *       over the same range, top_cost and top_duration /api/traces?sort=cost|duration
 *       &limit=10 over it (TRACE: a /api/traces entry). cost_distribution counts the traces
 *       started in the range by cost: a bucket with max 0 holds those without cost, then
 *       [min, max) in steps 1-2-5 from 0.000001 USD (the first also holding smaller costs;
 *       max null: no upper bound), from the first non-empty bucket to the last.
 *   /api/live?after=&limit=&service=&model=&status=error
 *       {"spans":[{"trace_id","span_id","parent_span_id"|null,"name","kind","service",
 *        "start_unix_nano","end_unix_nano","duration_ns","status","operation","provider",
 *        "model","input_tokens","output_tokens","cost"}],"next":"<cursor>"}: the spans stored after
 *       the cursor in the order they arrived (the view fields null for a span without a
 *       GenAI view, or without that field); without after, the newest limit spans (limit
 *       1..1000, default 100). Pass next as the next request's after: it moves past every
 *       span examined, which a filtered request bounds, so an answer may hold fewer spans
 *       than limit, even none, and still have moved. Meant to be polled (once a second).
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
