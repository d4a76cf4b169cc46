/* config.h — the YAML configuration as a tree with positions, and options declared as data.
 *
 * `llmtrace serve --config FILE.yaml` reads a file in the OpenTelemetry Collector's shape
 * (receivers / processors / connectors / exporters / service.pipelines). libyaml parses it
 * into this tree: every node knows its line and column, so an error names the place
 * ("collector.yaml:12:7: processors.transform: unknown option 'trace_statement'"). A
 * component declares its options in a table (cfg_option); cfg_check_options reports unknown
 * options and wrong types against it, so nothing in a file is silently ignored.
 *
 * A cfg_doc owns every node and string of it; nodes live as long as the doc. Anchors and
 * aliases are resolved (an alias is a copy of its anchor's node); merge keys ("<<") are
 * refused. Environment references "${env:NAME}" / "${NAME}" in scalars are expanded at load,
 * as the collector does. Not thread-safe; a loaded doc is read-only and may be shared. */
#ifndef LT_PIPELINE_CONFIG_H
#define LT_PIPELINE_CONFIG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CFG_NULL, CFG_SCALAR, CFG_SEQ, CFG_MAP } cfg_kind;

typedef struct cfg_node cfg_node;
struct cfg_node {
    cfg_kind kind;
    const char *scalar;    /* CFG_SCALAR: the text, NUL-terminated ("" for CFG_NULL) */
    bool quoted;           /* the scalar was quoted: a string, never a number or a bool */
    const char *key;       /* a map's value: its key; NULL otherwise */
    unsigned line, column; /* 1-based, where the node starts */
    cfg_node **items;      /* CFG_SEQ: the items; CFG_MAP: the values, each with its key */
    size_t n;
};

typedef struct cfg_doc cfg_doc;

/* Loads a file / a buffer (name is used in messages). On error writes "NAME:LINE:COL:
 * what" to err and returns LT_EINVAL (not YAML, duplicate key, merge key, unknown alias,
 * a bad ${...}), LT_ETOOBIG (past a limit: 4 MiB of text, 64 levels of nesting, 100,000
 * nodes counting what aliases repeat, 1 MiB per expanded value), LT_EIO or LT_ENOMEM. */
int cfg_load_file(const char *path, cfg_doc **out, char *err, size_t errlen);
int cfg_load_string(const char *text, size_t len, const char *name, cfg_doc **out, char *err,
                    size_t errlen);
const cfg_node *cfg_root(const cfg_doc *d);
const char *cfg_name(const cfg_doc *d);
/* NULL-tolerant. */
void cfg_free(cfg_doc *d);

/* The value of key in a map, or NULL (also when map is NULL or not a map). */
const cfg_node *cfg_get(const cfg_node *map, const char *key);

/* Writes "NAME:LINE:COL: " and the formatted message to err (at may be NULL: no position);
 * returns LT_EINVAL, so a caller can `return cfg_error(...)`. */
int cfg_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Like cfg_error, positioned at the key of at (a map's value): for errors about the key
 * itself (an unknown option or component, a bad id), where the value may start lines
 * later. Falls back to at's own position when at is not a map's value. */
int cfg_key_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* Typed reads of a scalar. Each returns 0, or writes a positioned error naming what (the
 * option's path, e.g. "processors.tail_sampling.decision_wait") and returns LT_EINVAL.
 * Booleans: true/false (YAML 1.2 core); durations: Go-style as the collector takes them
 * ("10s", "1m30s", "500ms", "2h"); sizes: "64MiB", "512KB" or a number of bytes. */
int cfg_string(const cfg_doc *d, const cfg_node *n, const char *what, const char **out, char *err,
               size_t errlen);
int cfg_bool(const cfg_doc *d, const cfg_node *n, const char *what, bool *out, char *err,
             size_t errlen);
int cfg_int(const cfg_doc *d, const cfg_node *n, const char *what, int64_t *out, char *err,
            size_t errlen);
int cfg_double(const cfg_doc *d, const cfg_node *n, const char *what, double *out, char *err,
               size_t errlen);
int cfg_duration_ns(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out, char *err,
                    size_t errlen);
int cfg_size(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out, char *err,
             size_t errlen);

/* Options as data: what a component accepts under its name. */
typedef enum {
    CFG_OPT_STRING,
    CFG_OPT_BOOL,
    CFG_OPT_INT,
    CFG_OPT_DOUBLE,
    CFG_OPT_DURATION,
    CFG_OPT_SIZE,
    CFG_OPT_LIST, /* a sequence (its items are the component's to check) */
    CFG_OPT_MAP,  /* a mapping (likewise) */
    CFG_OPT_ANY,
} cfg_opt_type;

typedef struct {
    const char *name;
    cfg_opt_type type;
    const char *help; /* one line, for messages and docs */
} cfg_option;

/* Checks that map (a component's settings; NULL or empty is allowed) has only options of
 * opts (terminated by {NULL}) and that each has its type. where is the path for messages
 * ("processors.tail_sampling"). 0 or LT_EINVAL with a positioned message naming the option
 * (and, for an unknown one, the options there are). */
int cfg_check_options(const cfg_doc *d, const cfg_node *map, const cfg_option *opts,
                      const char *where, char *err, size_t errlen);

#endif
