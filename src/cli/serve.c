/* serve.c — `llmtrace serve`: flags (and --config) → server_config → server_run (net/net.h).
 *
 * --config takes a file in the OpenTelemetry Collector's shape (pipeline/pipeline_config.h):
 * its otlp receiver gives the listen addresses and its pipelines run between the receivers
 * and the stores (pipeline/pipeline.h); a component's settings it cannot run stop the start
 * with a positioned error. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/err.h"
#include "net/net.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"

/* "off" turns a receiver off. */
static const char *addr_or_off(const char *a)
{
    return a && strcmp(a, "off") == 0 ? NULL : a;
}

int cmd_serve(int argc, char **argv)
{
    const char *data = NULL;      /* --data, else the configuration's, else ./llmtrace-data */
    const char *otlp_http = NULL; /* defaults below, so --config can tell a flag from none */
    const char *http = "127.0.0.1:16686";
    const char *otlp_grpc = NULL;
    const char *config = NULL;
    const char *prices = NULL;
    /* tokens from the environment keep them out of the process list */
    const char *ingest_token = getenv("LLMTRACE_INGEST_TOKEN");
    const char *api_token = getenv("LLMTRACE_API_TOKEN");
    const char *ingest_tokens = NULL, *api_tokens = NULL;
    const char *ch_user = NULL, *ch_password = NULL;
    bool ack_before_commit = false;
    uint64_t max_body = 16u << 20, max_memory = 128u << 20, age = 0, size = 0;
    const opt_def defs[] = {
        {"data", "DIR|URL", OPT_STR, &data,
         "store: a directory (default ./llmtrace-data) or clickhouse://HOST:PORT/DB; also --store"},
        {"clickhouse-user", "NAME", OPT_STR, &ch_user,
         "ClickHouse user (or env LLMTRACE_CLICKHOUSE_USER, or USER@ in the URL)"},
        {"clickhouse-password", "PASSWORD", OPT_STR, &ch_password,
         "ClickHouse password (or env LLMTRACE_CLICKHOUSE_PASSWORD, which keeps it out of the "
         "process list)"},
        {"config", "FILE", OPT_STR, &config,
         "configuration in the OpenTelemetry Collector's shape: receivers, processors, "
         "connectors, exporters, pipelines (docs/config.md)"},
        {"otlp-grpc", "HOST:PORT", OPT_STR, &otlp_grpc,
         "OTLP/gRPC receiver (default 127.0.0.1:4317; port 0 = any free port; off = none)"},
        {"otlp-http", "HOST:PORT", OPT_STR, &otlp_http,
         "OTLP/HTTP receiver (default 127.0.0.1:4318; port 0 = any free port; off = none)"},
        {"http", "HOST:PORT", OPT_STR, &http, "JSON API and UI (default 127.0.0.1:16686)"},
        {"max-body", "SIZE", OPT_SIZE, &max_body,
         "largest request body, also after decompression (default 16MiB)"},
        {"max-memory", "SIZE", OPT_SIZE, &max_memory,
         "memory bound of the server: requests past 1/4 of it are told to retry, caches get "
         "1/8 (default 128MiB)"},
        {"ack-before-commit", NULL, OPT_FLAG, &ack_before_commit,
         "acknowledge once queued, before the commit: lower latency, but a crash loses "
         "acknowledged data"},
        {"ingest-token", "TOKEN", OPT_STR, &ingest_token,
         "bearer token senders must present (or env LLMTRACE_INGEST_TOKEN)"},
        {"ingest-tokens", "FILE", OPT_STR, &ingest_tokens,
         "file of ingest tokens, one per line: TOKEN [TENANT]"},
        {"api-token", "TOKEN", OPT_STR, &api_token,
         "bearer token the API and UI ask for (or env LLMTRACE_API_TOKEN)"},
        {"api-tokens", "FILE", OPT_STR, &api_tokens,
         "file of API tokens, one per line: TOKEN [TENANT]; a tenant sees only its own data"},
        {"retention-age", "DURATION", OPT_DURATION, &age,
         "delete data older than this, e.g. 7d (default: keep)"},
        {"retention-size", "SIZE", OPT_SIZE, &size,
         "keep each tenant's store under this size, e.g. 10GB (default: no bound)"},
        {"prices", "FILE", OPT_STR, &prices,
         "price table entries that add to or replace the built-in ones (JSON; see docs/prices.md)"},
        {0},
    };
    const opt_spec spec = {"serve", "[options]",
                           "Receive OTLP traces and logs, store them, and serve the JSON API.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace serve: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (max_memory < (4u << 20)) {
        fprintf(stderr, "llmtrace serve: --max-memory: at least 4MiB\n");
        return 2;
    }
    cfg_doc *doc = NULL;
    pipecfg *pc = NULL;
    if (config) {
        char err[512];
        if (otlp_grpc || otlp_http) {
            fprintf(stderr, "llmtrace serve: --config sets the receivers' endpoints; leave out "
                            "--otlp-grpc and --otlp-http\n");
            return 2;
        }
        if (cfg_load_file(config, &doc, err, sizeof err) ||
            pipecfg_build(doc, &pc, err, sizeof err)) {
            fprintf(stderr, "llmtrace serve: %s\n", err);
            pipecfg_free(pc);
            cfg_free(doc);
            return 2;
        }
        otlp_grpc = pc->grpc_endpoint ? pc->grpc_endpoint : "off";
        if (!data) data = pc->store;
        if (!ch_user) ch_user = pc->store_user;
        if (!ch_password) ch_password = pc->store_password;
        otlp_http = pc->http_endpoint ? pc->http_endpoint : "off";
    }
    if (!data) data = "./llmtrace-data";
    /* the engine reads its credentials from the environment (a URL's own win) */
    if (ch_user) setenv("LLMTRACE_CLICKHOUSE_USER", ch_user, 1);
    if (ch_password) setenv("LLMTRACE_CLICKHOUSE_PASSWORD", ch_password, 1);
    if (!otlp_grpc) otlp_grpc = "127.0.0.1:4317";
    if (!otlp_http) otlp_http = "127.0.0.1:4318";
    server_config cfg = {
        .data = data,
        .otlp_http_addr = addr_or_off(otlp_http),
        .http_addr = http,
        .otlp_grpc_addr = addr_or_off(otlp_grpc),
        .max_body = max_body,
        .max_memory = max_memory,
        .ack_before_commit = ack_before_commit,
        .retention = {.max_age_ns = age, .max_bytes = size},
        .prices = prices,
        .auth = {.ingest_token = ingest_token && *ingest_token ? ingest_token : NULL,
                 .ingest_tokens_file = ingest_tokens,
                 .api_token = api_token && *api_token ? api_token : NULL,
                 .api_tokens_file = api_tokens},
        .pipeline = pc,
    };
    rc = server_run(&cfg);
    rc = rc == LT_EINVAL ? 2 : rc ? 1 : 0; /* a setting it cannot run is a usage error */
    pipecfg_free(pc);
    cfg_free(doc);
    return rc;
}
