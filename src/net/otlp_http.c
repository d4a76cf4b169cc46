/* otlp_http.c — the OTLP/HTTP receiver (see otlp_http.h).
 *
 * A request is checked (method, path, content type and encoding, size), decompressed and
 * decoded into an arena of its own on the event loop, then handed to the ingest queue.
 * The writer thread commits it and wakes the loop through an event of the request, and
 * only then is the sender answered: 200 means stored. The decoded batch points into the
 * request body, which libevent keeps until the reply is sent.
 *
 * Status codes follow the OTLP spec: 400 + google.rpc.Status for undecodable data, 413
 * over the size limit (also after decompression), 415 for other content types or
 * encodings, 429 + Retry-After when the queue is full, 503 + Retry-After when the store
 * fails, 404/405 for other paths and methods. */
#include "net/otlp_http.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "otlp/otlp.h"

struct otlp_http {
    struct event_base *base;
    ingest *q;
    size_t max_body;
    size_t inflight;
    const genai_prices *prices;
};

/* Decoded size allowed per byte of the body limit: the captured fixtures decode to 0.35-1.4
 * times their size, hostile protobuf (empty KeyValues) to 20 times. */
enum { ARENA_PER_BODY_BYTE = 4 };

typedef enum { SIG_TRACES, SIG_LOGS, SIG_METRICS } signal_kind;

typedef struct {
    ingest_job job; /* first: the queue hands it back to done() */
    otlp_http *srv;
    struct evhttp_request *req;
    struct event *wake;
    lt_arena *arena;
    lt_buf inflated;
    otlp_format fmt;
    signal_kind sig;
    lt_trace_batch traces;
    lt_log_batch logs;
    int result;
} request;

static void request_free(request *r)
{
    if (!r) return;
    if (r->wake) event_free(r->wake);
    arena_free(r->arena);
    buf_free(&r->inflated);
    lt_free(r);
}

static const char *content_type_of(otlp_format f)
{
    return f == OTLP_JSON ? "application/json" : "application/x-protobuf";
}

static void send_body(struct evhttp_request *req, int code, const char *reason, otlp_format f,
                      const lt_buf *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type_of(f));
    struct evbuffer *out = evbuffer_new();
    if (out && body->len) evbuffer_add(out, body->data, body->len);
    evhttp_send_reply(req, code, reason, out);
    if (out) evbuffer_free(out);
}

/* Replies with a google.rpc.Status in the request's format. */
static void send_status(struct evhttp_request *req, int code, const char *reason, otlp_format f,
                        const char *msg)
{
    lt_buf b = {0};
    /* google.rpc.Code that matches the HTTP status, as gRPC-gateway maps them */
    int32_t rpc = code == 400   ? 3
                  : code == 413 ? 8
                  : code == 429 ? 8
                  : code == 503 ? 14
                  : code == 404 ? 5
                  : code == 415 ? 3
                  : code == 405 ? 12
                                : 2;
    otlp_reply_status(&b, f, rpc, lt_str_c(msg));
    if (code == 429 || code == 503)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    send_body(req, code, reason, f, &b);
    buf_free(&b);
}

static void send_ok(request *r, uint64_t rejected, lt_str why)
{
    lt_buf b = {0};
    const char *field = r->sig == SIG_LOGS      ? "rejectedLogRecords"
                        : r->sig == SIG_METRICS ? "rejectedDataPoints"
                                                : "rejectedSpans";
    if (otlp_reply_ok(&b, r->fmt, field, rejected, why)) {
        buf_free(&b);
        send_status(r->req, 503, "Service Unavailable", r->fmt, "out of memory");
        return;
    }
    send_body(r->req, 200, "OK", r->fmt, &b);
    buf_free(&b);
}

/* Runs on the event loop once the writer thread has committed (or failed) the job. */
static void on_committed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    request *r = arg;
    if (r->result == 0) {
        if (r->sig == SIG_TRACES)
            send_ok(r, r->traces.rejected, r->traces.reject_reason);
        else
            send_ok(r, r->logs.rejected, r->logs.reject_reason);
    } else {
        log_warn("store write failed: %s", lt_strerror(r->result));
        send_status(r->req, 503, "Service Unavailable", r->fmt,
                    r->result == LT_EFULL ? "storage full, retry later"
                                          : "storage write failed, retry later");
    }
    r->srv->inflight--;
    request_free(r);
}

/* Writer thread: record the result and wake the loop (libevent is thread-enabled). */
static void on_done(ingest_job *job, int result)
{
    request *r = (request *)job;
    r->result = result;
    event_active(r->wake, EV_READ, 0);
}

static int signal_of(const char *path, signal_kind *out)
{
    if (!path) return -1;
    if (strcmp(path, "/v1/traces") == 0)
        *out = SIG_TRACES;
    else if (strcmp(path, "/v1/logs") == 0)
        *out = SIG_LOGS;
    else if (strcmp(path, "/v1/metrics") == 0)
        *out = SIG_METRICS;
    else
        return -1;
    return 0;
}

/* Maps a decoder error to a reply; returns after replying. */
static void reject_decode(struct evhttp_request *req, otlp_format f, int rc)
{
    switch (rc) {
    case LT_ENOMEM:
        send_status(req, 503, "Service Unavailable", f, "out of memory, retry later");
        break;
    case LT_ETOOBIG:
        send_status(req, 400, "Bad Request", f,
                    "request exceeds a decoding limit (nesting depth or item count)");
        break;
    default:
        send_status(req, 400, "Bad Request", f, "request body could not be decoded as OTLP");
    }
}

static void handle(struct evhttp_request *req, void *arg)
{
    otlp_http *srv = arg;
    request *r = NULL;
    otlp_format fmt = OTLP_JSON; /* for replies before the format is known */
    signal_kind sig;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (signal_of(path, &sig)) {
        send_status(req, 404, "Not Found", fmt,
                    "no such endpoint; use /v1/traces, /v1/logs, /v1/metrics");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_status(req, 405, "Method Not Allowed", fmt, "use POST");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *ctype = evhttp_find_header(in, "Content-Type");
    if (!ctype || otlp_format_of(lt_str_c(ctype), &fmt)) {
        send_status(req, 415, "Unsupported Media Type", OTLP_JSON,
                    "Content-Type must be application/x-protobuf or application/json");
        return;
    }
    const char *enc = evhttp_find_header(in, "Content-Encoding");
    bool gzip = false;
    if (enc && strcasecmp(enc, "gzip") == 0)
        gzip = true;
    else if (enc && *enc && strcasecmp(enc, "identity") != 0) {
        send_status(req, 415, "Unsupported Media Type", fmt,
                    "Content-Encoding must be gzip or identity");
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(body);
    if (n > srv->max_body) {
        send_status(req, 413, "Payload Too Large", fmt, "request body over the size limit");
        return;
    }
    uint8_t *data = n ? evbuffer_pullup(body, -1) : (uint8_t *)"";
    if (n && !data) {
        send_status(req, 503, "Service Unavailable", fmt, "out of memory, retry later");
        return;
    }
    if (sig == SIG_METRICS || n == 0) {
        /* metrics: accepted and dropped until the metrics pipeline exists; an empty body
         * is an empty export request in either format */
        request tmp = {.req = req, .fmt = fmt, .sig = sig};
        send_ok(&tmp, 0, LT_STR_NULL);
        return;
    }
    r = lt_calloc(1, sizeof *r);
    if (!r || !(r->arena = arena_new()) ||
        !(r->wake = event_new(srv->base, -1, 0, on_committed, r))) {
        send_status(req, 503, "Service Unavailable", fmt, "out of memory, retry later");
        goto fail;
    }
    r->srv = srv, r->req = req, r->fmt = fmt, r->sig = sig;
    /* the decoded form of a hostile request can be many times its size (empty KeyValues);
     * bound it so one request cannot take the server's memory */
    arena_set_limit(r->arena, srv->max_body * ARENA_PER_BODY_BYTE);
    if (gzip) {
        int rc = otlp_gunzip(data, n, srv->max_body, &r->inflated);
        if (rc == LT_ETOOBIG) {
            send_status(req, 413, "Payload Too Large", fmt,
                        "decompressed body over the size limit");
            goto fail;
        }
        if (rc) {
            reject_decode(req, fmt, rc == LT_ENOMEM ? rc : LT_EINVAL);
            goto fail;
        }
        data = (uint8_t *)r->inflated.data;
        n = r->inflated.len;
        if (!data) data = (uint8_t *)"", n = 0;
    }
    int rc = sig == SIG_TRACES ? otlp_decode_traces(r->arena, fmt, data, n, &r->traces)
                               : otlp_decode_logs(r->arena, fmt, data, n, &r->logs);
    if (rc == LT_ENOMEM && arena_over_limit(r->arena)) {
        send_status(req, 413, "Payload Too Large", fmt,
                    "request decodes to more than the memory allowed for one request");
        goto fail;
    }
    if (rc) {
        reject_decode(req, fmt, rc);
        goto fail;
    }
    /* the normalize stage: every span's GenAI view and cost, stored with it */
    if (sig == SIG_TRACES && (rc = genai_annotate(&r->traces, srv->prices, r->arena))) {
        if (arena_over_limit(r->arena))
            send_status(req, 413, "Payload Too Large", fmt,
                        "request decodes to more than the memory allowed for one request");
        else
            send_status(req, 503, "Service Unavailable", fmt, "out of memory, retry later");
        goto fail;
    }
    if ((sig == SIG_TRACES ? r->traces.n_spans : r->logs.n_records) == 0) {
        /* nothing to store: an empty request, or every item rejected */
        if (sig == SIG_TRACES)
            send_ok(r, r->traces.rejected, r->traces.reject_reason);
        else
            send_ok(r, r->logs.rejected, r->logs.reject_reason);
        goto fail;
    }
    if (sig == SIG_TRACES)
        r->job.traces = &r->traces;
    else
        r->job.logs = &r->logs;
    r->job.cost = evbuffer_get_length(body) + r->inflated.cap + arena_used(r->arena);
    r->job.done = on_done;
    if (ingest_submit(srv->q, &r->job)) {
        send_status(req, 429, "Too Many Requests", fmt, "server busy, retry later");
        goto fail;
    }
    srv->inflight++;
    return;
fail:
    request_free(r);
}

otlp_http *otlp_http_new(struct event_base *base, struct evhttp *http, ingest *q, size_t max_body,
                         const genai_prices *prices)
{
    otlp_http *r = lt_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->prices = prices;
    r->base = base;
    r->q = q;
    r->max_body = max_body;
    evhttp_set_gencb(http, handle, r);
    return r;
}

size_t otlp_http_inflight(const otlp_http *r)
{
    return r->inflight;
}

void otlp_http_free(otlp_http *r)
{
    lt_free(r);
}
