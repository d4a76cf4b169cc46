/* genai_int.h — private to genai/: the convention mapping tables and what reads them.
 *
 * Each convention family (dialect) has one table in dialects.c that maps an attribute key
 * to a target (a field of the view, or an input that normalize.c combines later), a
 * conversion that checks the value's type, and a rank. When several keys feed one target,
 * the valid value with the lowest rank wins; ranks encode the precedence documented in
 * docs/genai.md (OTel semconv, then OpenInference, then Traceloop, then Langfuse). A key
 * appears in exactly one table; normalize.c merges the four into one hash index at first
 * use. Value vocabularies (operations, providers, finish reasons) are tables here too. */
#ifndef LT_GENAI_GENAI_INT_H
#define LT_GENAI_GENAI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "model/model.h"

typedef enum { GA_D_OTEL, GA_D_OPENINFERENCE, GA_D_TRACELOOP, GA_D_LANGFUSE, GA_D_N } ga_dialect;

/* Token families: usage is taken as a whole from one family (see normalize.c), so that
 * buckets of different senders' semantics are never mixed. Langfuse's usage_details is
 * its own family, read from JSON. */
enum { GA_FAM_GENAI, GA_FAM_OI, GA_FAM_LLM_USAGE, GA_FAM_N };
enum { GA_TOK_IN, GA_TOK_OUT, GA_TOK_CR, GA_TOK_CC, GA_TOK_RS, GA_TOK_TOTAL, GA_TOK_N };

/* Targets: the fields of the view (genai_field), then inputs combined by normalize.c. */
enum {
    GT_MODEL = GA_N_FIELDS, /* one model field: response model, or request model if failed */
    GT_ENTITY,              /* traceloop.entity.name: agent / tool / workflow name by kind */
    GT_PARAMS,              /* JSON object of request parameters */
    GT_LF_USAGE,            /* Langfuse usage_details (JSON) */
    GT_LF_COST,             /* Langfuse cost_details (JSON) */
    GT_LF_LEVEL,            /* Langfuse level (DEBUG, DEFAULT, WARNING, ERROR) */
    GT_LF_START,            /* Langfuse completion_start_time (ISO 8601) */
    GT_TOK,                 /* GA_FAM_N * GA_TOK_N token targets from here */
    GT_N = GT_TOK + GA_FAM_N * GA_TOK_N
};
#define GT_TOKEN(fam, bucket) ((uint8_t)(GT_TOK + (fam)*GA_TOK_N + (bucket)))

/* Conversions: what a value must be to count. Anything else is left out. */
typedef enum {
    GA_C_STR,   /* non-empty string */
    GA_C_INT,   /* int, or a double with an integral value */
    GA_C_UINT,  /* as GA_C_INT, and >= 0 (token counts, max_tokens) */
    GA_C_DBL,   /* finite double, or int */
    GA_C_UDBL,  /* as GA_C_DBL, and >= 0 (cost, seconds) */
    GA_C_BOOL,  /* bool */
    GA_C_STRS,  /* non-empty string, or array of strings */
    GA_C_VALUE, /* string mapped through the entry's value table */
    GA_C_JSON,  /* non-empty string holding JSON, parsed by normalize.c */
    GA_C_RAW,   /* non-empty string kept for normalize.c */
} ga_conv;

/* A value vocabulary: from (case-insensitive) -> to. to_child, when set, replaces to on a
 * span that has a parent (OpenInference CHAIN: a root is a workflow, a child a task). A
 * NULL to means "no value". Unknown values pass through as sent when pass_unknown. */
typedef struct {
    const char *from;
    const char *to;
    const char *to_child;
} ga_alias;

typedef struct {
    const ga_alias *items;
    size_t n;
    bool pass_unknown;
} ga_values;

enum {
    GA_F_WEAK = 1,   /* generic OTel key (user.id, error.type): does not make a span GenAI */
    GA_F_MARKER = 2, /* identifies the dialect of the span */
};

typedef struct {
    const char *key;
    uint8_t target;          /* genai_field or GT_* */
    uint8_t conv;            /* ga_conv */
    uint8_t rank;            /* lower wins; < 128 (resource attributes add 128) */
    uint8_t flags;           /* GA_F_* */
    const ga_values *values; /* GA_C_VALUE only */
} ga_map;

typedef struct {
    const char *name; /* the GA_DIALECT value */
    const ga_map *map;
    size_t n;
} ga_dialect_table;

extern const ga_dialect_table ga_dialects[GA_D_N];

/* Keys of a JSON object of request parameters (llm.invocation_parameters,
 * langfuse.observation.model.parameters) -> fields; conv as above (strings copied). */
extern const ga_map ga_params_map[];
extern const size_t ga_params_map_n;
#define GA_PARAMS_MAX 16 /* rows of ga_params_map normalize.c keeps per JSON string */

/* Langfuse usage_details keys with a meaning beyond their prefix (normalize.c adds every
 * "input_*" key to input and every "output_*" key to output, as the Langfuse SDKs
 * subtract them). bucket: GA_TOK_*; adds: GA_TOK_IN / GA_TOK_OUT / -1 (none). */
typedef struct {
    const char *key;
    int8_t bucket;
    int8_t adds;
} ga_lf_usage_key;

extern const ga_lf_usage_key ga_lf_usage_keys[];
extern const size_t ga_lf_usage_keys_n;

/* Vocabularies. */
extern const ga_values ga_ops_semconv, ga_ops_openinference, ga_ops_traceloop_kind,
    ga_ops_traceloop_type, ga_ops_langfuse, ga_providers, ga_finish_reasons;

/* The span event that OpenInference instrumentations add at the first streamed chunk. */
#define GA_FIRST_TOKEN_EVENT "First Token Stream Event"

/* Maps s through vals (case-insensitive). Returns the canonical literal, s itself for an
 * unknown value when pass_unknown, or LT_STR_NULL when the value maps to nothing. */
lt_str ga_value_map(const ga_values *vals, lt_str s, bool has_parent);

/* The table entry for an attribute key, or NULL; *dialect gets its family. Thread-safe. */
const ga_map *ga_lookup(lt_str key, ga_dialect *dialect);

/* Parses an ISO 8601 / RFC 3339 date-time ("2026-11-21T16:11:03.720Z", offsets +hh:mm,
 * no zone = UTC, any number of fraction digits) into Unix nanoseconds. 0 or LT_EINVAL. */
int ga_parse_iso8601(lt_str s, uint64_t *ns);

#endif
