/* receive.h — the receive stage the OTLP receivers share (private to net/): a request's
 * bytes are decompressed and decoded into an arena of their own, every span gets its GenAI
 * view and cost, and the batch goes to the ingest queue of the sender's tenant; the
 * receiver's reply callback runs on its event loop once the batch is committed (or at once,
 * with --ack-before-commit, once it is queued).
 *
 * Memory: every request holds its body, its decompressed body and its arena from the moment
 * it is handed over until it is committed; the sum over all requests is bounded by the
 * budget (recv_config.max_bytes). A request that would go over it is refused with
 * RECV_BUSY (429 / RESOURCE_EXHAUSTED, retry later) before or while it is decoded, so
 * ingestion never holds more than the budget, whatever the load.
 *
 * Threads: recv_submit and the reply callbacks run on the thread of the event base given to
 * recv_new; the writer thread only wakes that loop. */
#ifndef LT_NET_RECEIVE_H
#define LT_NET_RECEIVE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "genai/genai.h"
#include "otlp/otlp.h"
#include "pipeline/ingest.h"
#include "pipeline/pipeline.h"

typedef enum { RECV_TRACES, RECV_LOGS, RECV_METRICS } recv_signal;

/* What became of a request; each receiver maps it to its protocol (HTTP status, gRPC code). */
typedef enum {
    RECV_OK,          /* stored (or queued, with ack_before_commit); see rejected */
    RECV_BAD_DATA,    /* undecodable, or over a decoding limit: do not retry */
    RECV_TOO_LARGE,   /* over the body limit, also after decompression: do not retry */
    RECV_BUSY,        /* queue or memory budget full: retry later */
    RECV_UNAVAILABLE, /* the store failed (disk full, I/O error) or out of memory: retry */
} recv_status;

typedef struct {
    recv_status status;
    const char *message; /* for the sender; static storage */
    uint64_t rejected;   /* items refused inside an accepted request (partial success) */
    lt_str reject_reason;
} recv_result;

typedef struct {
    struct event_base *base;    /* the receivers' loop */
    const genai_prices *prices; /* NULL = no costs */
    size_t max_body;            /* body limit, also after decompression */
    size_t max_bytes;           /* memory budget of all requests held (0 = 64 MiB) */
    bool ack_before_commit;     /* reply when queued, not when committed */
    /* The configured pipelines (serve --config), or NULL: every batch is then stored as it
     * arrived. With pipelines, a batch goes through them first and is stored when its
     * pipeline says so (pipeline.h); a request they take whole is answered at once. */
    pipelines *pipes;
} recv_config;

typedef struct recv_ctx recv_ctx;

/* One request, as a receiver hands it over. data is mutable (the JSON decoder unescapes in
 * place) and must stay valid until reply is called (with ack_before_commit the stage copies
 * what it keeps, so only until recv_submit returns). */
typedef struct {
    recv_signal signal;
    otlp_format format;
    bool gzip;
    uint8_t *data;
    size_t len;
    ingest *queue; /* the tenant's queue */
    size_t tenant; /* its index (auth.h), for the pipelines */
    /* Called exactly once on the loop, possibly before recv_submit returns; res and what it
     * points to live only during the call. */
    void (*reply)(void *arg, const recv_result *res);
    void *arg;
} recv_request;

/* NULL on allocation failure. cfg is copied. */
recv_ctx *recv_new(const recv_config *cfg);
/* Under pressure (the process is over its memory bound), new requests are refused with
 * RECV_BUSY unless nothing is held at all. Loop thread only. */
void recv_set_pressure(recv_ctx *c, bool on);
/* Whether a body of len bytes would be taken now: a receiver can refuse (RECV_BUSY) before
 * it copies or reads the body any further. Loop thread only. */
bool recv_has_room(const recv_ctx *c, size_t len);
/* Decodes and queues req; req->reply gets the outcome. Loop thread only. */
void recv_submit(recv_ctx *c, const recv_request *req);
/* Requests handed over and not yet answered, and requests answered but not yet committed
 * (ack_before_commit). Loop thread only. */
size_t recv_inflight(const recv_ctx *c);
/* Bytes the held requests take now, and (when peak is set) the most they took at once.
 * Loop thread only. */
size_t recv_held_bytes(const recv_ctx *c, size_t *peak);
/* NULL-tolerant; only once recv_inflight() is 0. */
void recv_free(recv_ctx *c);

#endif
