/* genai.h — the canonical GenAI view of a span, from any convention family.
 *
 * Senders describe the same LLM call in four dialects (OTel GenAI semconv in its current and
 * deprecated forms, OpenInference, OpenLLMetry/Traceloop, Langfuse) and several versions of
 * each. genai_normalize() reads a span's attributes (and its resource's) through one mapping
 * table per dialect and gives one view whose keys are the OTel GenAI semconv v1.41 attribute
 * names, with provider token semantics applied so that buckets never double count:
 *
 *   gen_ai.usage.input_tokens   all prompt tokens, cached ones included (semconv)
 *   gen_ai.usage.output_tokens  all completion tokens, reasoning included
 *   cache_read / cache_creation subsets of input; reasoning a subset of output
 *
 * The span itself is never changed: the view is derived, allocated in the caller's arena.
 *
 * Messages and documents (genai_messages) are derived on read, since their log records may
 * arrive after the span. Cost (genai_price_*) is computed from the disjoint buckets
 * fresh input = input - cache_read - cache_creation, cache_read, cache_creation, output.
 *
 * Every function here is pure and thread-safe; results live in the caller's arena. */
#ifndef LT_GENAI_GENAI_H
#define LT_GENAI_GENAI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h" /* lt_genai, the view itself */

/* Derives the view of span s (resource r, scope sc; either may be NULL). Returns 1 and
 * fills *out when anything GenAI was found, 0 when nothing was (out then all empty), or
 * LT_ENOMEM. A value of the wrong type, negative token counts or malformed JSON leave that
 * field out; nothing else is affected. */
int genai_normalize(const lt_span *s, const lt_resource *r, const lt_scope *sc, lt_arena *a,
                    lt_genai *out);

static inline bool genai_has(const lt_genai *g, genai_field f)
{
    return g->v[f].type != LT_VAL_EMPTY;
}
/* The field's value if present and of that type, else the fallback. */
int64_t genai_int(const lt_genai *g, genai_field f, int64_t fallback);
double genai_double(const lt_genai *g, genai_field f, double fallback);
lt_str genai_str(const lt_genai *g, genai_field f);

/* The normalize stage of ingest: derives and prices the view of every span of b, setting
 * lt_span.genai (in a) for the spans that have one. prices may be NULL (no costs). 0 or
 * LT_ENOMEM. Called by the receivers after decoding, before the batch is queued. */
typedef struct genai_prices genai_prices;
int genai_annotate(lt_trace_batch *b, const genai_prices *prices, lt_arena *a);
/* Derives the view of s again after a processor changed its attributes (transform,
 * redaction), keeping the cost it was given at ingest (processors have no price table):
 * s->genai is replaced (in a), or NULL when nothing GenAI is left. 0 or LT_ENOMEM. */
int genai_refresh(lt_span *s, const lt_resource *res, const lt_scope *scope, lt_arena *a);

/* ---- messages and documents ---- */

typedef enum {
    GA_PART_TEXT,
    GA_PART_TOOL_CALL,          /* id, name, arguments */
    GA_PART_TOOL_CALL_RESPONSE, /* id, response */
    GA_PART_REASONING,
    GA_PART_MEDIA, /* uri / mime_type / modality; content holds inline data when sent */
    GA_PART_OTHER, /* a part of a type we do not know: type holds it, content the raw JSON */
} genai_part_type;

typedef struct {
    genai_part_type type;
    lt_str type_name; /* as sent ("text", "tool_call", "image_url", ...) */
    lt_str content;   /* TEXT, REASONING, OTHER */
    lt_str id;        /* TOOL_CALL, TOOL_CALL_RESPONSE */
    lt_str name;      /* TOOL_CALL */
    lt_value payload; /* TOOL_CALL arguments, TOOL_CALL_RESPONSE response (any JSON) */
    lt_str uri, mime_type, modality; /* MEDIA */
} genai_part;

typedef struct {
    lt_str role;          /* system, user, assistant, tool, or as sent */
    lt_str name;          /* participant name, when sent */
    lt_str finish_reason; /* output messages */
    genai_part *parts;
    uint32_t n_parts;
} genai_message;

typedef struct {
    lt_str id;
    double score;
    bool has_score;
    lt_str content;
} genai_document;

typedef struct {
    genai_message *input, *output, *system;
    uint32_t n_input, n_output, n_system;
    genai_document *docs;
    uint32_t n_docs;
} genai_messages;

/* Collects the messages and retrieval documents of span s from whichever forms it uses:
 * gen_ai.input/output.messages and gen_ai.system_instructions (structured or JSON string),
 * gen_ai.content.prompt/completion span events, the per-message log records in logs[]
 * (gen_ai.user.message, gen_ai.choice, ..., the records of this span in any order),
 * gen_ai.client.inference.operation.details, OpenInference and OpenLLMetry flattened
 * attributes, Langfuse observation input/output. Returns 1 when anything was found, 0 when
 * not, LT_ENOMEM. Malformed JSON is skipped, never fatal. */
int genai_messages_collect(const lt_span *s, const lt_log_record *const *logs, uint32_t n_logs,
                           lt_arena *a, genai_messages *out);

/* ---- prices and cost ---- */

/* Loads the price table from a JSON file (format in data/prices.json's header); entries of
 * an overlay (--prices) add to or replace those of base. NULL path = the built-in table.
 * Returns 0, or LT_EINVAL/LT_EIO/LT_ENOMEM with a one-line reason (file, entry, field)
 * in errbuf. */
int genai_prices_load(const char *path, const genai_prices *base, genai_prices **out, char *errbuf,
                      size_t errlen);
void genai_prices_free(genai_prices *p);

/* Sets GA_COST and GA_COST_SOURCE of g: "reported" when the span carried a cost (kept),
 * "computed" from the entry for (provider, response model or request model) in effect at
 * time_unix_nano, "unknown_model" when no entry matches (no cost then). No-op for views
 * without token counts. */
void genai_price_apply(const genai_prices *p, uint64_t time_unix_nano, lt_genai *g);

#endif
