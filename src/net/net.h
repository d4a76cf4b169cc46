/* net.h — the network side of `llmtrace serve`: the OTLP/HTTP receiver and the HTTP
 * server of the JSON API, wired to the ingest queue and the store.
 *
 * Threads: the OTLP receiver runs on the calling thread's event loop (decoding happens
 * there), the API server on a thread of its own (reads never wait behind decoding), and
 * the store is written by the ingest writer thread. server_run() blocks until SIGTERM or
 * SIGINT, then stops accepting, lets every queued request commit and be answered, and
 * returns. */
#ifndef LT_NET_NET_H
#define LT_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct {
    const char *data;           /* store URL or directory */
    const char *otlp_http_addr; /* HOST:PORT; port 0 picks a free one */
    const char *http_addr;      /* API (and later UI) */
    const char *otlp_grpc_addr; /* reserved for the gRPC receiver; NULL = off */
    size_t max_body;            /* request body limit, also after decompression */
    size_t max_queue;           /* bytes of decoded requests waiting for the store */
    lt_retention retention;
    const char *prices; /* price overlay file (--prices); NULL = the built-in table only */
} server_config;

/* Runs the server until a stop signal. Prints one line on stdout once listening:
 * "llmtrace listening otlp_http=HOST:PORT http=HOST:PORT". Returns 0 after a clean stop,
 * or an error code after printing a one-line reason on stderr. Call once per process. */
int server_run(const server_config *cfg);

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (host 127.0.0.1) into host and port.
 * host must have room for 256 bytes. 0 or LT_EINVAL. */
int net_parse_addr(const char *s, char *host, uint16_t *port);

#endif
