/* redact.h — the `redaction` processor: keys allowed or removed, values masked.
 *
 * The options of the collector's redaction processor, with its semantics:
 *
 *   allow_all_keys        false (default): only allowed_keys (and ignored_keys) stay, every
 *                         other attribute is removed; true: all keys stay
 *   allowed_keys          [keys]
 *   ignored_keys          [keys] never inspected nor masked
 *   blocked_key_patterns  [regex] a key that matches has its whole value masked
 *   blocked_values        [regex] what matches inside a value is masked
 *   allowed_values        [regex] a match that is all of one of these is kept
 *   hash_function         none (default) | md5 | sha1 | sha256: a masked match becomes the
 *                         hex digest of what it replaced instead of the mask
 *   summary               debug (default: redaction.* attributes with keys and counts on the
 *                         item) | info (counts only) | silent
 *
 * and beyond it:
 *
 *   patterns              [email, phone, credit_card, iban, api_key]: built-in detectors by
 *                         name (credit cards Luhn-checked, IBANs mod-97-checked)
 *   mask                  the text that replaces a match (default "****")
 *   structured            true (default): a string value holding a JSON object or array is
 *                         parsed and only its string values are masked, so the JSON stays valid
 *
 * What is inspected: resource, scope, span, span event, link and log record attributes,
 * nested kvlists and arrays inside them, and log bodies (strings, kvlists, arrays). This
 * covers every form GenAI message content arrives in (gen_ai.input.messages /
 * output.messages / system_instructions as JSON text or structured values, OpenInference
 * llm.*_messages.N.message.content, OpenLLMetry gen_ai.prompt.N.content, Langfuse
 * observation input/output JSON, gen_ai.content.* events, per-message log records):
 * docs/redaction.md. A value that nothing matched keeps its bytes.
 *
 * A span whose attributes were changed gets its GenAI view derived again (cost kept), so the
 * view never carries a masked value. A redact is read-only after redact_create; the process
 * functions may run on several threads at once, each with its own batch and arena. */
#ifndef LT_PIPELINE_REDACT_H
#define LT_PIPELINE_REDACT_H

#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

typedef struct redact redact;

/* The options the processor accepts (for the registry and docs), {NULL}-terminated. */
extern const cfg_option redact_options[];

/* Reads the settings (a map; NULL = the collector's defaults) of the processor named where
 * ("processors.redaction"). 0 and a processor to free with redact_free; LT_EINVAL with a
 * positioned message (unknown option or pattern name, bad regex, hash not available);
 * LT_ENOMEM. */
int redact_create(const cfg_doc *d, const cfg_node *settings, const char *where, redact **out,
                  char *err, size_t errlen);
/* NULL-tolerant. */
void redact_free(redact *r);

/* Redacts b in place; new strings and arrays go to a (the batch's arena). 0 or LT_ENOMEM. */
int redact_traces(const redact *r, lt_trace_batch *b, lt_arena *a);
int redact_logs(const redact *r, lt_log_batch *b, lt_arena *a);

/* Masks one string value as the processor masks attribute values (structure-aware when
 * configured). *out is s itself when nothing matched, else an arena copy; *masked counts
 * the replacements. 0 or LT_ENOMEM. */
int redact_string(const redact *r, lt_str s, lt_arena *a, lt_str *out, uint32_t *masked);

#endif
