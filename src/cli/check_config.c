/* check_config.c — `llmtrace check-config FILE`: load and validate a configuration
 * without starting anything (pipeline_config.h).
 *
 * Prints "FILE: ok: N receivers, N processors, N connectors, N exporters, N pipelines"
 * and exits 0, or prints the first problem as one positioned line on stderr
 * ("FILE:LINE:COL: where: what") and exits 1; the otlp receiver's endpoints are parsed
 * as serve will parse them. Usage errors exit 2. */
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/err.h"
#include "net/net.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"

int cmd_check_config(int argc, char **argv)
{
    const opt_def defs[] = {{0}};
    const opt_spec spec = {"check-config", "FILE",
                           "Validate a configuration file (OpenTelemetry Collector shape: "
                           "receivers, processors, connectors, exporters, service.pipelines) "
                           "without starting the server. Exits 1 with the first problem, "
                           "positioned as FILE:LINE:COLUMN.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
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
