/* otlp_http.h — the OTLP/HTTP receiver (private to net/).
 *
 * Implements OTLP/HTTP (OTLP specification, "OTLP/HTTP"): POST /v1/traces, /v1/logs and
 * /v1/metrics; protobuf or JSON by Content-Type; gzip by Content-Encoding; the reply in the
 * request's format. All callbacks run on the event loop of base. */
#ifndef LT_NET_OTLP_HTTP_H
#define LT_NET_OTLP_HTTP_H

#include <event2/event.h>
#include <event2/http.h>

#include "genai/genai.h"
#include "pipeline/ingest.h"

typedef struct otlp_http otlp_http;

/* Registers the receiver as the generic callback of http (bound by the caller). Every
 * span received gets its GenAI view and cost (genai_annotate with prices, not owned; NULL
 * = no costs) before it is queued. Returns NULL on allocation failure. */
otlp_http *otlp_http_new(struct event_base *base, struct evhttp *http, ingest *q, size_t max_body,
                         const genai_prices *prices);
/* Requests accepted but not yet answered. */
size_t otlp_http_inflight(const otlp_http *r);
/* NULL-tolerant; only once nothing is in flight. */
void otlp_http_free(otlp_http *r);

#endif
