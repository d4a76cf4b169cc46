/* otlp_grpc.h — the OTLP/gRPC receiver (private to net/).
 *
 * Implements the OTLP/gRPC services (OTLP specification, "OTLP/gRPC"):
 * opentelemetry.proto.collector.trace.v1.TraceService/Export and
 * opentelemetry.proto.collector.logs.v1.LogsService/Export (metrics: accepted and dropped),
 * over HTTP/2 cleartext with prior knowledge (nghttp2). Every request goes through the
 * receive stage (receive.h) to the ingest queue of its tenant (auth.h; the token comes in
 * the `authorization` metadata); statuses map as the OTLP spec says (INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED with retry info, UNAVAILABLE, UNAUTHENTICATED, UNIMPLEMENTED).
 * Everything runs on the event loop of base. */
#ifndef LT_NET_OTLP_GRPC_H
#define LT_NET_OTLP_GRPC_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/auth.h"
#include "net/receive.h"
#include "pipeline/ingest.h"

typedef struct otlp_grpc otlp_grpc;

/* A receiver that is not listening yet. Nothing is owned; all must outlive it. NULL on
 * allocation failure. */
otlp_grpc *otlp_grpc_new(struct event_base *base, recv_ctx *recv, const auth *a,
                         ingest *const *queues, size_t max_body);
/* Listens on host:port (port 0 picks a free one) and writes the bound "host:port" to shown.
 * 0, or LT_EIO with errno set. */
int otlp_grpc_listen(otlp_grpc *g, const char *host, uint16_t port, char *shown, size_t shown_len);
/* Stops accepting connections and tells the open ones to go away (GOAWAY) once their
 * streams are done; requests in flight are still answered. NULL-tolerant. */
void otlp_grpc_stop_accepting(otlp_grpc *g);
/* After otlp_grpc_stop_accepting, whether a request accepted before the final GOAWAY is
 * still arriving (its message not complete yet, so not with the receive stage): the stop
 * waits for those too, but no longer than a few seconds after stop_accepting (then false).
 * False before stop_accepting. NULL-tolerant. */
bool otlp_grpc_receiving(const otlp_grpc *g);
/* Closes every connection and frees. NULL-tolerant; only once the receive stage has
 * nothing in flight. */
void otlp_grpc_free(otlp_grpc *g);

#endif
