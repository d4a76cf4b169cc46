/* check_config.c — `llmtrace check-config FILE`: load and validate a configuration
 * without starting anything (pipeline_config.h).
 *
 * Prints "FILE: ok: N receivers, N processors, N connectors, N exporters, N pipelines"
 * and exits 0, or prints the first problem as one positioned line on stderr
 * ("FILE:LINE:COL: where: what") and exits 1; the otlp receiver's endpoints are parsed
 * as serve will parse them. Usage errors exit 2.
 *
 * --components prints the registry (every component type and its options) as the Markdown
 * tables of docs/config.md, which a test keeps equal to it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/err.h"
#include "net/net.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"

static const char *type_name(cfg_opt_type t)
{
    static const char *const names[] = {"string", "bool", "int", "number", "duration",
                                        "size",   "list", "map", "any"};
    return t <= CFG_OPT_ANY ? names[t] : "?";
}

static void print_options(const char *prefix, const cfg_option *o)
{
    for (; o && o->name; o++)
        printf("| `%s%s%s` | %s | %s |\n", prefix ? prefix : "", prefix ? "." : "", o->name,
               type_name(o->type), o->help);
}

static void print_signals(const component_def *c)
{
    unsigned sig[] = {SIG_TRACES, SIG_METRICS, SIG_LOGS};
    const char *sep = "";
    for (size_t i = 0; i < 3; i++)
        if (c->signals & sig[i]) printf("%s%s", sep, components_signal_name(sig[i])), sep = ", ";
}

static int print_components(void)
{
    for (component_kind k = 0; k < COMP_N_KINDS; k++) {
        printf("### %s\n\n", components_section(k));
        for (size_t i = 0; components_at(k, i); i++) {
            const component_def *c = components_at(k, i);
            printf("#### `%s` — %s (", c->type, c->summary);
            if (k == COMP_CONNECTOR) {
                printf("takes ");
                print_signals(c);
                printf(", produces %s)\n\n", components_signal_name(c->out_signals));
            } else {
                print_signals(c);
                printf(")\n\n");
            }
            if (!c->options || !c->options->name) {
                printf("No options.\n\n");
                continue;
            }
            printf("| option | type | meaning |\n| --- | --- | --- |\n");
            print_options(NULL, c->options);
            for (const component_sub *sub = c->subs; sub && sub->path; sub++)
                print_options(sub->path, sub->options);
            printf("\n");
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_check_config(int argc, char **argv)
{
    bool list = false;
    const opt_def defs[] = {
        {"components", NULL, OPT_FLAG, &list,
         "print every component type and its options (the tables of docs/config.md)"},
        {0},
    };
    const opt_spec spec = {"check-config", "FILE",
                           "Validate a configuration file (OpenTelemetry Collector shape: "
                           "receivers, processors, connectors, exporters, service.pipelines) "
                           "without starting the server. Exits 1 with the first problem, "
                           "positioned as FILE:LINE:COLUMN.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (list && npos == 0) return print_components();
    if (npos != 1) {
        fprintf(stderr, "llmtrace check-config: expected one FILE (see --help)\n");
        return 2;
    }
    const char *path = argv[1];
    char err[1024] = "";
    cfg_doc *doc = NULL;
    pipecfg *p = NULL;
    int status = 1;
    if ((rc = cfg_load_file(path, &doc, err, sizeof err)) ||
        (rc = pipecfg_build(doc, &p, err, sizeof err))) {
        fprintf(stderr, "%s\n", err[0] ? err : lt_strerror(rc));
        goto out;
    }
    /* the addresses as serve will parse them */
    const cfg_node *at[] = {p->grpc_endpoint_at, p->http_endpoint_at};
    for (size_t i = 0; i < 2; i++) {
        char host[256];
        uint16_t port;
        if (at[i] && net_parse_addr(at[i]->scalar, host, &port)) {
            cfg_error(doc, at[i], err, sizeof err,
                      "otlp receiver: protocols.%s.endpoint: expected HOST:PORT, got '%s'",
                      i ? "http" : "grpc", at[i]->scalar);
            fprintf(stderr, "%s\n", err);
            goto out;
        }
    }
    /* every component the pipelines use, built as serve builds it (regexes, statements,
     * policies, exporter settings), without starting anything */
    pipelines *built = NULL;
    pipelines_env env = {.cfg = p, .n_tenants = 1};
    rc = pipelines_create(&env, &built, err, sizeof err);
    pipelines_free(built);
    if (rc) {
        fprintf(stderr, "%s\n", err[0] ? err : lt_strerror(rc));
        goto out;
    }
    printf("%s: ok: %zu receivers, %zu processors, %zu connectors, %zu exporters, %zu "
           "pipelines\n",
           path, p->n_components[COMP_RECEIVER], p->n_components[COMP_PROCESSOR],
           p->n_components[COMP_CONNECTOR], p->n_components[COMP_EXPORTER], p->n_pipelines);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    pipecfg_free(p);
    cfg_free(doc);
    return status;
}
