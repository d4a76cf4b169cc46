/* otlp_http.c — the OTLP/HTTP receiver (see otlp_http.h).
 *
 * A request is checked (path, method, token, content type and encoding, size) and handed
 * to the receive stage (receive.h), which decodes and queues it and calls back once it is
 * committed: only then is the sender answered, 200 meaning stored. The body stays in
 * libevent's request until the reply is sent, which is what the receive stage needs.
 *
 * Status codes follow the OTLP spec: 400 + google.rpc.Status for undecodable data, 401
 * without a valid token, 413 over the size limit (also after decompression), 415 for other
 * content types or encodings, 429 + Retry-After when the queue or the memory budget is
 * full, 503 + Retry-After when the store fails, 404/405 for other paths and methods. */
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
    recv_ctx *recv;
    const auth *auth;
    ingest *const *queues;
    size_t max_body;
    bool stopping;
};

/* The reply side of one request while the receive stage holds it. */
typedef struct {
    struct evhttp_request *req;
    otlp_format fmt;
    recv_signal sig;
} pending;

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
                  : code == 401 ? 16
                                : 2;
    otlp_reply_status(&b, f, rpc, lt_str_c(msg));
    if (code == 429 || code == 503)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    send_body(req, code, reason, f, &b);
    buf_free(&b);
}

static void send_ok(struct evhttp_request *req, otlp_format fmt, recv_signal sig, uint64_t rejected,
                    lt_str why)
{
    lt_buf b = {0};
    const char *field = sig == RECV_LOGS      ? "rejectedLogRecords"
                        : sig == RECV_METRICS ? "rejectedDataPoints"
                                              : "rejectedSpans";
    if (otlp_reply_ok(&b, fmt, field, rejected, why)) {
        buf_free(&b);
        send_status(req, 503, "Service Unavailable", fmt, "out of memory");
        return;
    }
    send_body(req, 200, "OK", fmt, &b);
    buf_free(&b);
}

/* The receive stage's outcome, as OTLP/HTTP says to answer it. */
static void on_reply(void *arg, const recv_result *res)
{
    pending *p = arg;
    switch (res->status) {
    case RECV_OK:
        send_ok(p->req, p->fmt, p->sig, res->rejected, res->reject_reason);
        break;
    case RECV_BAD_DATA:
        send_status(p->req, 400, "Bad Request", p->fmt, res->message);
        break;
    case RECV_TOO_LARGE:
        send_status(p->req, 413, "Payload Too Large", p->fmt, res->message);
        break;
    case RECV_BUSY:
        send_status(p->req, 429, "Too Many Requests", p->fmt, res->message);
        break;
    case RECV_UNAVAILABLE:
        send_status(p->req, 503, "Service Unavailable", p->fmt, res->message);
        break;
    }
    lt_free(p);
}

static int signal_of(const char *path, recv_signal *out)
{
    if (!path) return -1;
    if (strcmp(path, "/v1/traces") == 0)
        *out = RECV_TRACES;
    else if (strcmp(path, "/v1/logs") == 0)
        *out = RECV_LOGS;
    else if (strcmp(path, "/v1/metrics") == 0)
        *out = RECV_METRICS;
    else
        return -1;
    return 0;
}

static void handle(struct evhttp_request *req, void *arg)
{
    otlp_http *srv = arg;
    otlp_format fmt = OTLP_JSON; /* for replies before the format is known */
    recv_signal sig;
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
    if (srv->stopping) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        send_status(req, 503, "Service Unavailable", fmt, "server stopping, retry later");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    int tenant = auth_ingest(srv->auth, evhttp_find_header(in, "Authorization"));
    if (tenant < 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"llmtrace ingest\"");
        send_status(req, 401, "Unauthorized", fmt, "missing or wrong bearer token");
        return;
    }
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
    if (!recv_has_room(srv->recv, n)) {
        /* refused before the body is made contiguous: under overload a refusal must cost
         * far less than an acceptance */
        send_status(req, 429, "Too Many Requests", fmt,
                    "server busy (memory bound reached), retry later");
        return;
    }
    uint8_t *data = n ? evbuffer_pullup(body, -1) : (uint8_t *)"";
    pending *p = lt_calloc(1, sizeof *p);
    if (!p || (n && !data)) {
        lt_free(p);
        send_status(req, 503, "Service Unavailable", fmt, "out of memory, retry later");
        return;
    }
    p->req = req, p->fmt = fmt, p->sig = sig;
    recv_request rr = {.signal = sig,
                       .format = fmt,
                       .gzip = gzip,
                       .data = data,
                       .len = n,
                       .queue = srv->queues[tenant],
                       .tenant = (size_t)tenant,
                       .reply = on_reply,
                       .arg = p};
    recv_submit(srv->recv, &rr);
}

otlp_http *otlp_http_new(struct evhttp *http, recv_ctx *recv, const auth *a, ingest *const *queues,
                         size_t max_body)
{
    otlp_http *r = lt_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->recv = recv;
    r->auth = a;
    r->queues = queues;
    r->max_body = max_body;
    evhttp_set_gencb(http, handle, r);
    return r;
}

void otlp_http_stop(otlp_http *r)
{
    if (r) r->stopping = true;
}

void otlp_http_free(otlp_http *r)
{
    lt_free(r);
}
