/* ottl.h — a subset of the OpenTelemetry Transformation Language: parse and run statements.
 *
 * The collector's transform processor takes statements such as
 *
 *   replace_pattern(attributes["gen_ai.content.prompt"], "\\b\\d{6}-\\d{7}\\b", "***")
 *   set(attributes["env"], "prod") where resource.attributes["service.name"] == "chat"
 *
 * This module reads such a statement once (ottl_parse) into a small tree and runs it on one
 * span, span event, log record, scope or resource at a time (ottl_exec). The filter
 * processor's conditions are the where part alone (ottl_parse_condition, ottl_eval_condition).
 * What is supported (docs/redaction.md and docs/processors.md list it with examples):
 *
 *   editors    set, delete_key, delete_matching_keys, keep_keys, replace_pattern,
 *              replace_all_patterns, truncate_all, limit
 *   where      ==, !=, <, <=, >, >=, and, or, not, parentheses, IsMatch(value, "regex"),
 *              HasPrefix(s, prefix), HasSuffix(s, suffix), IsString, IsInt, IsDouble, IsBool,
 *              IsMap, IsList (value), Len(string, list or map)
 *   paths      attributes / attributes["k"], resource.attributes["k"], name, kind,
 *              status.code, status.message, instrumentation_scope.name / .version,
 *              body, severity_number, severity_text, and span.* inside spanevent
 *   literals   "strings" (Go escapes, as OTTL unquotes them), ints, floats, true, false,
 *              nil, [lists], SPAN_KIND_*, STATUS_CODE_*, SEVERITY_NUMBER_*
 *
 * Patterns are PCRE2 (JIT when available), compiled at parse time; their syntax is close to
 * the RE2 syntax the collector uses for the cases people write (\b, \d, classes, groups).
 * Replacements take $1, ${1}, ${name} and $$ as Go's regexp does.
 *
 * A parsed statement is read-only and may be run by several threads at once (each with its
 * own target and arena); parse and free are single-threaded. New strings and attribute
 * arrays are allocated in the target's arena: the batch's strings are never written. */
#ifndef LT_PIPELINE_OTTL_H
#define LT_PIPELINE_OTTL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "model/model.h"

enum {
    OTTL_MAX_STATEMENT = 65536, /* bytes of one statement */
    OTTL_MAX_DEPTH = 32,        /* nesting of parentheses and not */
    OTTL_MAX_ARGS = 16,         /* arguments of one call */
    OTTL_MAX_LIST = 1024,       /* items of a [list] literal */
};

typedef enum {
    OTTL_CTX_RESOURCE,
    OTTL_CTX_SCOPE,
    OTTL_CTX_SPAN,
    OTTL_CTX_SPANEVENT,
    OTTL_CTX_LOG,
} ottl_context;

/* Maps a context name as the collector spells it ("resource", "scope", "span",
 * "spanevent", "log") to its value. 0 or LT_EINVAL. */
int ottl_context_of(const char *name, ottl_context *out);
const char *ottl_context_name(ottl_context c);

typedef struct ottl_stmt ottl_stmt;

/* Parses one statement of context ctx. Returns 0 and a statement the caller frees with
 * ottl_free; or LT_EINVAL with "column N: what" in err and the 1-based column of the
 * offending character (of text) in *col (col may be NULL); or LT_ETOOBIG (statement past
 * OTTL_MAX_STATEMENT) or LT_ENOMEM. text need not be NUL-terminated. */
int ottl_parse(const char *text, size_t len, ottl_context ctx, ottl_stmt **out, unsigned *col,
               char *err, size_t errlen);
/* NULL-tolerant. */
void ottl_free(ottl_stmt *s);
/* The statement's text as it was given (NUL-terminated), for messages. */
const char *ottl_text(const ottl_stmt *s);

/* What a statement runs on. The pointers needed by the statement's context must be set
 * (span for SPAN; span and event for SPANEVENT; log for LOG; resource and scope where
 * paths reach them; NULL ones read as nil). */
typedef struct {
    lt_resource *resource;
    lt_scope *scope;
    lt_span *span;
    lt_event *event;
    lt_log_record *log;
    lt_arena *arena; /* where new strings and arrays go */
} ottl_target;

/* Runs s on t: evaluates its where clause and, when true (or absent), its function.
 * Sets *changed when the target was modified (changed may be NULL; it is never cleared).
 * Returns 0; LT_EINVAL for an error of the statement on this data (a value of the wrong
 * type for set, say), with a message in err; LT_ENOMEM. */
int ottl_exec(const ottl_stmt *s, ottl_target *t, bool *changed, char *err, size_t errlen);

/* A condition: what follows `where` in a statement, on its own ('name == "chat" and
 * IsMatch(attributes["k"], "x")'), as the filter processor takes them. A term must be a
 * boolean (a comparison, a converter that answers yes or no, true / false, or a path,
 * which is true only when it holds the boolean true). */
typedef struct ottl_cond ottl_cond;

/* Parses one condition of context ctx, with the errors of ottl_parse ("column N: what",
 * *col, LT_EINVAL / LT_ETOOBIG / LT_ENOMEM). 0 and a condition to free with ottl_cond_free. */
int ottl_parse_condition(const char *text, size_t len, ottl_context ctx, ottl_cond **out,
                         unsigned *col, char *err, size_t errlen);
/* NULL-tolerant. */
void ottl_cond_free(ottl_cond *c);
/* The condition's text as given (NUL-terminated). */
const char *ottl_cond_text(const ottl_cond *c);
/* Evaluates c on t (which it never changes) into *result. 0; LT_EINVAL for an error of the
 * condition on this data (HasPrefix of a value that is not a string, a pattern past PCRE2's
 * match limit), with a message in err and *result false; LT_ENOMEM. Read-only: several
 * threads may evaluate one condition at once. */
int ottl_eval_condition(const ottl_cond *c, ottl_target *t, bool *result, char *err, size_t errlen);

#endif
