/* serve.c — `llmtrace serve`: flags → server_config → server_run (net/net.h). */
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "net/net.h"

int cmd_serve(int argc, char **argv)
{
    const char *data = "./llmtrace-data";
    const char *otlp_http = "127.0.0.1:4318";
    const char *http = "127.0.0.1:16686";
    const char *otlp_grpc = NULL;
    const char *prices = NULL;
    uint64_t max_body = 16u << 20, max_queue = 64u << 20, age = 0, size = 0;
    const opt_def defs[] = {
        {"data", "DIR", OPT_STR, &data, "store directory (default ./llmtrace-data)"},
        {"otlp-http", "HOST:PORT", OPT_STR, &otlp_http,
         "OTLP/HTTP receiver (default 127.0.0.1:4318; port 0 = any free port)"},
        {"http", "HOST:PORT", OPT_STR, &http, "JSON API and UI (default 127.0.0.1:16686)"},
        {"otlp-grpc", "HOST:PORT", OPT_STR, &otlp_grpc,
         "OTLP/gRPC receiver (reserved: not available yet)"},
        {"max-body", "SIZE", OPT_SIZE, &max_body,
         "largest request body, also after decompression (default 16MiB)"},
        {"max-queue", "SIZE", OPT_SIZE, &max_queue,
         "decoded requests waiting for the store before senders get 429 (default 64MiB)"},
        {"retention-age", "DURATION", OPT_DURATION, &age,
         "delete data older than this, e.g. 7d (default: keep)"},
        {"retention-size", "SIZE", OPT_SIZE, &size,
         "keep the store under this size, e.g. 10GB (default: no bound)"},
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
    server_config cfg = {
        .data = data,
        .otlp_http_addr = otlp_http,
        .http_addr = http,
        .otlp_grpc_addr = otlp_grpc,
        .max_body = max_body,
        .max_queue = max_queue,
        .retention = {.max_age_ns = age, .max_bytes = size},
        .prices = prices,
    };
    return server_run(&cfg) ? 1 : 0;
}
