/* opts.h — command-line options declared as tables.
 *
 * A command lists its options once (name, value kind, destination, help text); the same
 * table drives parsing, validation and --help, as Fluent Bit's config maps do. Accepts
 * "--name value" and "--name=value"; arguments not starting with "--" are positional.
 * --store is accepted as the other name of a command's --data option. */
#ifndef LT_CLI_OPTS_H
#define LT_CLI_OPTS_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    OPT_STR,      /* const char * */
    OPT_FLAG,     /* bool, no value */
    OPT_UINT,     /* uint64_t, decimal */
    OPT_SIZE,     /* uint64_t bytes: "16MiB", "10GB" */
    OPT_DURATION, /* uint64_t nanoseconds: "7d", "90s" */
} opt_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* shown in --help, e.g. "HOST:PORT" */
    opt_type type;
    void *dest;
    const char *help; /* one line; mention the default */
} opt_def;

typedef struct {
    const char *command;  /* "serve" */
    const char *synopsis; /* "[options]" or "TRACE_ID [options]" */
    const char *summary;  /* one sentence */
    const opt_def *defs;  /* terminated by an entry with name == NULL */
} opt_spec;

/* Parses argv[1..argc-1] (argv[0] is the command name). Positional arguments are moved to
 * the front of argv[1..] and counted in *npos. Returns 0 to go on, 1 when --help was
 * printed (exit 0), -1 after printing a one-line error (exit 2). */
int opts_parse(const opt_spec *spec, int argc, char **argv, int *npos);
void opts_usage(FILE *f, const opt_spec *spec);

#endif
