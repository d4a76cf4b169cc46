/* otlp_grpc.c — placeholder until the nghttp2 receiver lands: says so and listens nowhere. */
#include "net/otlp_grpc.h"

#include <stdio.h>

#include "core/alloc.h"
#include "core/log.h"

struct otlp_grpc {
    int unused;
};

otlp_grpc *otlp_grpc_new(struct event_base *base, recv_ctx *recv, const auth *a,
                         ingest *const *queues, size_t max_body)
{
    (void)base, (void)recv, (void)a, (void)queues, (void)max_body;
    return lt_calloc(1, sizeof(otlp_grpc));
}

int otlp_grpc_listen(otlp_grpc *g, const char *host, uint16_t port, char *shown, size_t shown_len)
{
    (void)g;
    log_warn("OTLP/gRPC on %s:%u: not available yet; use OTLP/HTTP", host, (unsigned)port);
    snprintf(shown, shown_len, "off");
    return 0;
}

void otlp_grpc_stop_accepting(otlp_grpc *g)
{
    (void)g;
}

void otlp_grpc_free(otlp_grpc *g)
{
    lt_free(g);
}
