/* opts.c — table-driven option parsing (see opts.h). */
#include "cli/opts.h"

#include <stdbool.h>
#include <string.h>

#include "core/util.h"

void opts_usage(FILE *f, const opt_spec *spec)
{
    fprintf(f, "usage: llmtrace %s %s\n\n%s\n\noptions:\n", spec->command, spec->synopsis,
            spec->summary);
    for (const opt_def *d = spec->defs; d->name; d++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", d->name, d->metavar ? " " : "",
                 d->metavar ? d->metavar : "");
        fprintf(f, "  %-28s %s\n", left, d->help);
    }
    fprintf(f, "  %-28s %s\n", "--help", "show this help");
}

static int set_value(const opt_spec *spec, const opt_def *d, const char *v)
{
    int rc = 0;
    switch (d->type) {
    case OPT_STR:
        *(const char **)d->dest = v;
        break;
    case OPT_FLAG:
        *(bool *)d->dest = true;
        break;
    case OPT_UINT:
        rc = parse_u64(lt_str_c(v), d->dest);
        break;
    case OPT_SIZE:
        rc = parse_size(v, d->dest);
        break;
    case OPT_DURATION:
        rc = parse_duration_ns(v, d->dest);
        break;
    }
    if (rc) {
        const char *want = d->type == OPT_SIZE       ? "a size such as 16MiB or 10GB"
                           : d->type == OPT_DURATION ? "a duration such as 90s, 12h or 7d"
                                                     : "a non-negative integer";
        fprintf(stderr, "llmtrace %s: --%s: expected %s, got '%s'\n", spec->command, d->name, want,
                v);
        return -1;
    }
    return 0;
}

int opts_parse(const opt_spec *spec, int argc, char **argv, int *npos)
{
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
            argv[1 + pos++] = a;
            continue;
        }
        const char *name = a + 2;
        if (strcmp(name, "help") == 0) {
            opts_usage(stdout, spec);
            return 1;
        }
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        /* --store is the other name of --data (a directory or a clickhouse:// URL) */
        if (nl == 5 && strncmp(name, "store", 5) == 0) {
            name = "data";
            nl = 4;
        }
        const opt_def *d = spec->defs;
        while (d->name && !(strlen(d->name) == nl && strncmp(d->name, name, nl) == 0))
            d++;
        if (!d->name) {
            fprintf(stderr, "llmtrace %s: unknown option --%.*s (see --help)\n", spec->command,
                    (int)nl, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (d->type == OPT_FLAG) {
            if (v) {
                fprintf(stderr, "llmtrace %s: --%s takes no value\n", spec->command, d->name);
                return -1;
            }
        } else if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmtrace %s: --%s needs a value\n", spec->command, d->name);
                return -1;
            }
            v = argv[++i];
        }
        if (set_value(spec, d, v)) return -1;
    }
    *npos = pos;
    return 0;
}
