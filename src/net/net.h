/* net.h — the network side of `llmtrace serve`: the OTLP/HTTP and OTLP/gRPC receivers and
 * the HTTP server of the JSON API, wired to the ingest queues and the stores.
 *
 * Threads: the OTLP receivers run on the calling thread's event loop (decoding happens
 * there), the API server on a thread of its own (reads never wait behind decoding), and
 * the store is written by the ingest writer thread. server_run() blocks until SIGTERM or
 * SIGINT, then stops accepting, lets every queued request commit and be answered, and
 * returns. */
#ifndef LT_NET_NET_H
#define LT_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "net/auth.h"
#include "store/store.h"

typedef struct {
    const char *data;           /* store URL or directory (tenant 0; others beneath it) */
    const char *otlp_http_addr; /* HOST:PORT; port 0 picks a free one; NULL = off */
    const char *http_addr;      /* JSON API and web UI */
    const char *otlp_grpc_addr; /* NULL = off */
    size_t max_body;            /* request body limit, also after decompression */
    /* Memory bound of the process: 1/4 of it for the requests being decoded, queued and
     * committed (past it, senders are told to retry), 1/8 for the stores' caches, the rest
     * for the program, the writers' buffers and bodies still arriving. */
    size_t max_memory;
    bool ack_before_commit; /* reply once queued, not once committed */
    lt_retention retention; /* per tenant store */
    const char *prices;     /* price overlay file (--prices); NULL = the built-in table only */
    auth_config auth;
    /* The pipelines of a configuration file (serve --config), or NULL: store everything as
     * received. Kept; must outlive server_run. */
    const struct pipecfg *pipeline;
} server_config;

/* Runs the server until a stop signal. Prints one line on stdout once listening:
 * "llmtrace listening otlp_http=HOST:PORT http=HOST:PORT otlp_grpc=HOST:PORT" (a receiver
 * that is off shows as "off"). Returns 0 after a clean stop,
 * or an error code after printing a one-line reason on stderr. Call once per process. */
int server_run(const server_config *cfg);

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (host 127.0.0.1) into host and port.
 * host must have room for 256 bytes. 0 or LT_EINVAL. */
int net_parse_addr(const char *s, char *host, uint16_t *port);

#endif
