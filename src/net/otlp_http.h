/* otlp_http.h — the OTLP/HTTP receiver (private to net/).
 *
 * Implements OTLP/HTTP (OTLP specification, "OTLP/HTTP"): POST /v1/traces, /v1/logs and
 * /v1/metrics; protobuf or JSON by Content-Type; gzip by Content-Encoding; the reply in the
 * request's format. All callbacks run on the event loop of base. */
#ifndef LT_NET_OTLP_HTTP_H
#define LT_NET_OTLP_HTTP_H

#include <event2/event.h>
#include <event2/http.h>

#include "net/auth.h"
#include "net/receive.h"
#include "pipeline/ingest.h"

typedef struct otlp_http otlp_http;

/* Registers the receiver as the generic callback of http (bound by the caller): a request
 * with the ingest token of tenant t goes through recv to queues[t] (see auth.h; 401 without
 * a valid token when ingest asks for one). Nothing is owned. NULL on allocation failure. */
otlp_http *otlp_http_new(struct evhttp *http, recv_ctx *recv, const auth *a, ingest *const *queues,
                         size_t max_body);
/* From now on requests are answered 503 (Retry-After, Connection: close): the server is
 * stopping, and a sender on a kept-alive connection learns it at once. NULL-tolerant. */
void otlp_http_stop(otlp_http *r);
/* NULL-tolerant. */
void otlp_http_free(otlp_http *r);

#endif
