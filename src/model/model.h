/* model.h — the in-memory form of OTLP traces and logs.
 *
 * The layout mirrors OTLP (opentelemetry-proto v1.x: trace.proto, logs.proto, common.proto,
 * resource.proto) so that nothing a sender put on the wire is lost: every field of Span,
 * Event, Link, Status, Resource, InstrumentationScope, KeyValue, AnyValue and LogRecord has
 * a place here. Objects live in an lt_arena; their strings are slices of the request buffer
 * (receive path) or of an arena copy (read path). Nothing here owns memory.
 *
 * Repeated fields are arrays { T *items; uint32_t n; } with exact counts. */
#ifndef LT_MODEL_MODEL_H
#define LT_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/* Limits on untrusted dimensions, shared by every decoder (protobuf and JSON). A breach
 * makes the whole request invalid (LT_ETOOBIG), never a crash. */
enum {
    MODEL_MAX_DEPTH = 64,       /* nesting of AnyValue arrays/kvlists */
    MODEL_MAX_ATTRS = 100000,   /* KeyValues in one list */
    MODEL_MAX_ITEMS = 10000000, /* spans, events, links or log records in one request */
};

typedef enum {
    LT_VAL_EMPTY = 0, /* AnyValue with no value set */
    LT_VAL_STRING,
    LT_VAL_BOOL,
    LT_VAL_INT,
    LT_VAL_DOUBLE,
    LT_VAL_BYTES,
    LT_VAL_ARRAY,
    LT_VAL_KVLIST,
} lt_val_type;

typedef struct lt_value lt_value;
typedef struct lt_kv lt_kv;
typedef struct lt_genai lt_genai;

typedef struct {
    lt_kv *items;
    uint32_t n;
} lt_attrs;

struct lt_value {
    lt_val_type type;
    union {
        lt_str s; /* STRING, and BYTES (raw bytes, not encoded) */
        bool b;
        int64_t i;
        double d;
        struct {
            lt_value *items;
            uint32_t n;
        } arr;
        lt_attrs kv; /* KVLIST */
    } u;
};

struct lt_kv {
    lt_str key;
    lt_value value;
};

typedef struct {
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
} lt_resource;

typedef struct {
    lt_str name;
    lt_str version;
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
} lt_scope;

typedef struct {
    uint64_t time_unix_nano;
    lt_str name;
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
} lt_event;

typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    lt_str trace_state;
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags;
} lt_link;

enum {
    LT_KIND_UNSPECIFIED,
    LT_KIND_INTERNAL,
    LT_KIND_SERVER,
    LT_KIND_CLIENT,
    LT_KIND_PRODUCER,
    LT_KIND_CONSUMER
};
enum { LT_STATUS_UNSET, LT_STATUS_OK, LT_STATUS_ERROR };

/* ---- the canonical GenAI view of a span (derived by genai/; see genai/genai.h) ---- */

/* The fields of the canonical view. The table genai_fields[] gives each its key and type;
 * the order is the order the API writes them. */
typedef enum {
    GA_OPERATION,         /* gen_ai.operation.name (string) */
    GA_PROVIDER,          /* gen_ai.provider.name (string) */
    GA_REQUEST_MODEL,     /* gen_ai.request.model */
    GA_RESPONSE_MODEL,    /* gen_ai.response.model */
    GA_RESPONSE_ID,       /* gen_ai.response.id */
    GA_FINISH_REASONS,    /* gen_ai.response.finish_reasons (array of strings) */
    GA_TEMPERATURE,       /* gen_ai.request.temperature (double) */
    GA_TOP_P,             /* gen_ai.request.top_p (double) */
    GA_TOP_K,             /* gen_ai.request.top_k (double, as v1.41 types it) */
    GA_MAX_TOKENS,        /* gen_ai.request.max_tokens (int) */
    GA_SEED,              /* gen_ai.request.seed (int) */
    GA_STREAM,            /* gen_ai.request.stream (bool) */
    GA_STOP_SEQUENCES,    /* gen_ai.request.stop_sequences (array of strings) */
    GA_FREQUENCY_PENALTY, /* gen_ai.request.frequency_penalty (double) */
    GA_PRESENCE_PENALTY,  /* gen_ai.request.presence_penalty (double) */
    GA_INPUT_TOKENS,      /* gen_ai.usage.input_tokens (int, cached included) */
    GA_OUTPUT_TOKENS,     /* gen_ai.usage.output_tokens (int, reasoning included) */
    GA_CACHE_READ,        /* gen_ai.usage.cache_read.input_tokens (int) */
    GA_CACHE_CREATION,    /* gen_ai.usage.cache_creation.input_tokens (int) */
    GA_REASONING,         /* gen_ai.usage.reasoning.output_tokens (int) */
    GA_CONVERSATION_ID,   /* gen_ai.conversation.id */
    GA_AGENT_ID,          /* gen_ai.agent.id */
    GA_AGENT_NAME,        /* gen_ai.agent.name */
    GA_WORKFLOW_NAME,     /* gen_ai.workflow.name */
    GA_TOOL_NAME,         /* gen_ai.tool.name */
    GA_TOOL_CALL_ID,      /* gen_ai.tool.call.id */
    GA_TOOL_TYPE,         /* gen_ai.tool.type */
    GA_DATA_SOURCE_ID,    /* gen_ai.data_source.id */
    GA_TTFT,              /* gen_ai.response.time_to_first_chunk (double, seconds) */
    GA_OUTPUT_RATE,       /* output_tokens_per_second (double; output / (end - first chunk)) */
    GA_ERROR_TYPE,        /* error.type */
    GA_USER_ID,           /* user.id */
    GA_SESSION_ID,        /* session.id */
    GA_COST,              /* gen_ai.usage.cost (double, USD) */
    GA_COST_SOURCE,       /* cost_source: "reported", "computed" or "unknown_model" */
    GA_DIALECT,           /* dialect: the family the view was read from ("otel", ...) */
    GA_N_FIELDS
} genai_field;

typedef struct {
    const char *key;  /* the canonical attribute name */
    lt_val_type type; /* LT_VAL_STRING, _INT, _DOUBLE, _BOOL or _ARRAY (of strings) */
} genai_field_info;

extern const genai_field_info model_genai_fields[GA_N_FIELDS];

/* The view: one typed value per field; LT_VAL_EMPTY = absent. Strings are slices of the
 * span's own strings or of the arena. */
struct lt_genai {
    lt_value v[GA_N_FIELDS];
};

typedef struct {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* all zero when has_parent is false */
    bool has_parent;
    lt_str trace_state;
    lt_str name;
    uint32_t kind; /* LT_KIND_*; other values kept as sent */
    uint64_t start_time_unix_nano;
    uint64_t end_time_unix_nano;
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
    struct {
        lt_event *items;
        uint32_t n;
    } events;
    uint32_t dropped_events_count;
    struct {
        lt_link *items;
        uint32_t n;
    } links;
    uint32_t dropped_links_count;
    lt_str status_message;
    uint32_t status_code; /* LT_STATUS_* */
    uint32_t flags;
    /* Not OTLP: the canonical GenAI view derived from the above (genai_normalize), set by
     * the pipeline before storing and by a store on read; NULL when the span has none. */
    const lt_genai *genai;
} lt_span;

typedef struct {
    lt_scope scope;
    lt_str schema_url;
    lt_span *spans;
    uint32_t n_spans;
} lt_scope_spans;

typedef struct {
    lt_resource resource;
    lt_str schema_url;
    lt_scope_spans *scopes;
    uint32_t n_scopes;
} lt_resource_spans;

/* One ExportTraceServiceRequest. Spans the decoder rejected (all-zero trace or span id)
 * are not in the arrays; they are counted in rejected with a reason in reject_reason. */
typedef struct {
    lt_resource_spans *rs;
    uint32_t n_rs;
    uint64_t n_spans; /* spans kept, over all rs */
    uint64_t rejected;
    lt_str reject_reason; /* static text; empty when rejected == 0 */
} lt_trace_batch;

typedef struct {
    uint64_t time_unix_nano;
    uint64_t observed_time_unix_nano;
    uint32_t severity_number;
    lt_str severity_text;
    lt_value body;
    lt_attrs attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags;
    uint8_t trace_id[16]; /* all zero = no trace context */
    uint8_t span_id[8];   /* all zero = no span context */
    lt_str event_name;
} lt_log_record;

typedef struct {
    lt_scope scope;
    lt_str schema_url;
    lt_log_record *records;
    uint32_t n_records;
} lt_scope_logs;

typedef struct {
    lt_resource resource;
    lt_str schema_url;
    lt_scope_logs *scopes;
    uint32_t n_scopes;
} lt_resource_logs;

/* One ExportLogsServiceRequest. */
typedef struct {
    lt_resource_logs *rl;
    uint32_t n_rl;
    uint64_t n_records;
    uint64_t rejected;
    lt_str reject_reason;
} lt_log_batch;

/* True when all n bytes are zero (an absent or invalid id). */
static inline bool model_id_is_zero(const uint8_t *id, int n)
{
    for (int i = 0; i < n; i++)
        if (id[i]) return false;
    return true;
}

/* Returns the attribute with this key, or NULL. Linear: attribute lists are short. */
const lt_value *model_attr_get(const lt_attrs *a, lt_str key);
/* Writes v as plain JSON (typed as sent: an int stays a number, a kvlist becomes an object,
 * bytes become base64); nesting past MODEL_MAX_DEPTH is written as null. Errors are sticky
 * in out (lt_buf.oom). */
void model_value_json(lt_buf *out, const lt_value *v);
/* Writes an attribute list as one JSON object. */
void model_attrs_json(lt_buf *out, const lt_attrs *a);
/* The service.name of a resource, or "unknown_service" as the OTel SDKs default. */
lt_str model_service_name(const lt_resource *r);

#endif
