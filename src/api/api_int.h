/* api_int.h — what the files of api/ share (private to api/ and its tests).
 *
 * api.c routes requests and answers the list endpoints, api_query.c parses query strings
 * and parameter values, api_trace.c writes a whole trace. All functions are thread-safe;
 * results live in the caller's arena. */
#ifndef LT_API_API_INT_H
#define LT_API_API_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"
#include "store/store.h"

enum {
    API_MAX_PARAMS = 64,  /* query parameters in one request */
    API_MAX_VALUE = 4096, /* bytes of one decoded parameter value */
    API_DEFAULT_LIMIT = 20,
    API_MAX_LIMIT = 1000,
};

typedef struct {
    lt_str key;
    lt_str value;
} api_param;

/* A query string split into decoded key/value pairs, in order of appearance. */
typedef struct {
    api_param items[API_MAX_PARAMS];
    uint32_t n;
} api_params;

/* Percent-decodes s (RFC 3986 section 2.1) into a NUL-terminated copy in a; '+' becomes a
 * space when plus_is_space (HTML form encoding, used in query strings but not in paths).
 * LT_EINVAL for a '%' not followed by two hex digits, LT_ENOMEM. */
int api_pct_decode(lt_arena *a, lt_str s, bool plus_is_space, lt_str *out);

/* Splits query ("a=1&b=x%20y"; empty pairs skipped, a pair without '=' has an empty
 * value) into p. LT_EINVAL on a bad escape (*bad names the parameter), LT_ETOOBIG past
 * API_MAX_PARAMS pairs or API_MAX_VALUE bytes in one value, LT_ENOMEM. */
int api_params_parse(lt_arena *a, lt_str query, api_params *p, lt_str *bad);
/* The value of the last parameter called name, or NULL when absent. */
const lt_str *api_params_get(const api_params *p, const char *name);

/* A point in time: Unix nanoseconds as a decimal integer, or an RFC 3339 date-time
 * ("2024-11-21T19:20:00Z", "2024-11-21T20:20:00.5+01:00"; RFC 3339 section 5.6) at or
 * after 1970. 0 or LT_EINVAL. */
int api_parse_time(lt_str s, uint64_t *ns);
/* A duration: an integer of nanoseconds, or a decimal number with a unit ns, us, µs, ms,
 * s, m or h ("250ms", "1.5s"). 0 or LT_EINVAL (also on overflow). */
int api_parse_duration(lt_str s, uint64_t *ns);
/* The paging cursor "<start ns>-<32 hex trace id>". 0 or LT_EINVAL. */
int api_parse_cursor(lt_str s, uint64_t *start, uint8_t trace_id[16]);
void api_write_cursor(lt_buf *out, uint64_t start, const uint8_t trace_id[16]);

/* A non-negative decimal number ("0.05", "12", "1e-3"); at most API_MAX_VALUE bytes, s
 * NUL-terminated (as api_params values are). 0 or LT_EINVAL. */
int api_parse_number(lt_str s, double *out);

/* Writes a span's canonical GenAI view as a JSON object keyed by semconv names. */
void api_genai_json(lt_buf *out, const lt_genai *g);

/* Writes the fields that place a span, in an object already opened: "span_id",
 * "parent_span_id" (parent, or null), "name", "kind", "service", "start_unix_nano",
 * "end_unix_nano", "duration_ns". */
void api_span_head(lt_buf *out, const uint8_t span_id[8], const uint8_t *parent, lt_str name,
                   uint32_t kind, lt_str service, uint64_t start, uint64_t end);

/* Span kind and status code names as the API writes them ("CLIENT", "ERROR"). */
const char *api_kind_name(uint32_t kind);
const char *api_status_name(uint32_t code);

/* Writes the {"trace_id","spans","logs"} document of one trace. Scratch memory comes from
 * a. Returns 0 or LT_ENOMEM (also when out ran out of memory). */
int api_trace_json(lt_buf *out, lt_arena *a, const uint8_t trace_id[16], const lt_trace_data *d);

#endif
