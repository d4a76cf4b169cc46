/* attributes.h — the `attributes` processor: insert, update, upsert, delete, hash, extract
 * and convert attributes of spans and log records, as the collector's attributesprocessor.
 *
 * Settings (processors.attributes in the YAML file):
 *
 *   actions:                          (required, applied in order)
 *     - { key: env, action: insert, value: prod }
 *     - { key: user.id, action: hash }
 *     - { pattern: ^secret\., action: delete }
 *     - { key: http.url, action: extract, pattern: '^(?P<scheme>\w+)://(?P<host>[^/]+)' }
 *     - { key: tokens, action: convert, converted_type: int }
 *     - { key: peer, action: upsert, from_attribute: net.peer.name }
 *   include: { match_type: strict, services: [chat], span_kinds: [SPAN_KIND_CLIENT] }
 *   exclude: { match_type: regexp, span_names: ['^health'] }
 *
 * Actions, with the collector's semantics (its "attraction" package):
 *
 *   insert   key gets value (or from_attribute's value) when key is absent
 *   update   key's value is replaced when key is present
 *   upsert   insert or update
 *   delete   key, and / or every key pattern matches, is removed
 *   hash     the value of key, and / or of every key pattern matches, becomes the lower-case
 *            hex SHA-256 of its bytes: a string's UTF-8, a bool as one byte 0/1, an int or a
 *            double as 8 little-endian bytes (its IEEE-754 bits); any other value becomes ""
 *   extract  pattern's named groups, matched against key's string value, become attributes
 *            named after the groups (an unmatched optional group gives ""); every group must
 *            be named, as the collector requires
 *   convert  key's value becomes converted_type (int, double or string) when it can;
 *            a value that cannot be converted stays as it was
 *
 * `action` is case-insensitive. A value is a YAML scalar: quoted = string, else int, double,
 * bool or string as YAML reads it; lists and maps as values are refused. from_context is
 * refused (llmtrace has no client request metadata to read it from).
 *
 * include / exclude select the items acted on, with the collector's match properties:
 * match_type (strict or regexp, required), services (the resource's service.name),
 * span_names, span_kinds (SPAN_KIND_CLIENT, ...), attributes and resources ([{key, value}],
 * value optional: every entry must match), libraries ([{name, version}], version optional:
 * every entry must match the scope), log_bodies (string bodies), log_severity_texts. Each
 * list matches when any of its values does; all lists given must match. An item is acted on
 * when it matches include (if given) and does not match exclude (if given). Patterns are
 * PCRE2, matched anywhere in the value as Go's regexp.MatchString does. Properties of spans
 * (services, span_names, span_kinds) are refused in a processor used for logs, and those of
 * logs (log_bodies, log_severity_texts) in one used for traces, as the collector refuses
 * them; log_severity_number, regexp (cache options) and metric_names are not supported.
 *
 * Spans are acted on through their attributes, log records through theirs. A span whose
 * attributes changed gets its GenAI view derived again (its cost kept). New strings and
 * attribute arrays go to the batch's arena; attribute arrays grow by copying and shrink in
 * place. An attributes processor is read-only after attributes_create (its counters are
 * atomic): the process functions may run on several threads at once, each with its own
 * batch and arena. */
#ifndef LT_PIPELINE_ATTRIBUTES_H
#define LT_PIPELINE_ATTRIBUTES_H

#include <stdint.h>

#include "core/arena.h"
#include "model/model.h"
#include "pipeline/config.h"

typedef struct attributes attributes;

/* Reads the settings (a map) of the processor named where ("processors.attributes/env";
 * NULL = "processors.attributes"). signals are the SIG_TRACES / SIG_LOGS bits
 * (components.h) of the pipelines the processor is used in, against which include and
 * exclude are checked (0 = both). Returns 0 and a processor to free with attributes_free;
 * LT_EINVAL with "FILE:LINE:COL: where.actions[2].pattern: what" in err (unknown option or
 * action, missing key, value or pattern, a bad regex, an extract pattern with an unnamed
 * group, a value of the wrong type, a property not for this signal); LT_ENOMEM. */
int attributes_create(const cfg_doc *d, const cfg_node *settings, const char *where,
                      unsigned signals, attributes **out, char *err, size_t errlen);
/* NULL-tolerant. */
void attributes_free(attributes *p);

/* Applies the actions to the selected spans / log records of b in place; new strings and
 * arrays go to a (the batch's arena). 0 or LT_ENOMEM (the batch is then partly processed:
 * drop it). */
int attributes_traces(const attributes *p, lt_trace_batch *b, lt_arena *a);
int attributes_logs(const attributes *p, lt_log_batch *b, lt_arena *a);

/* Items the actions ran on (all threads), and of those, the items whose attributes they
 * changed. */
typedef struct {
    uint64_t spans, spans_changed, log_records, log_records_changed;
} attributes_stats;
void attributes_get_stats(const attributes *p, attributes_stats *out);

#endif
