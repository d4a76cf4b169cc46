/* otlp_grpc.c — the OTLP/gRPC receiver (see otlp_grpc.h).
 *
 * One nghttp2 server session per connection (RFC 9113, HTTP/2 over cleartext TCP with
 * prior knowledge), fed from a libevent bufferevent: the bytes read go through
 * nghttp2_session_mem_recv, and what the session has to send is appended to the
 * bufferevent's output with nghttp2_session_mem_send. A request is one stream: its headers
 * are checked when they end (method, content type, path, token, grpc-encoding), its one
 * Length-Prefixed-Message is collected by a grpc_reader (grpc_frame.h), and when the client
 * ends the stream the message goes to the receive stage (receive.h), which answers later on
 * the loop: then the response is submitted (HEADERS, DATA with the Export*ServiceResponse,
 * trailers with grpc-status 0). Errors are answered with a Trailers-Only response, at once
 * when they are found, followed by RST_STREAM(NO_ERROR) if the client is still sending
 * (PROTOCOL-HTTP2.md, "Early Server Closure").
 *
 * Memory. nghttp2 allocates through core/alloc.h. Received DATA is acknowledged to the
 * sender (WINDOW_UPDATE) by hand (nghttp2_option_set_no_auto_window_update): the connection
 * window at once, a stream's window only while the connection holds less than CONN_SOFT
 * bytes of unfinished requests (and all connections less than ALL_SOFT), and beyond that
 * only for the connection's oldest unfinished request, so that one request always
 * progresses (its window also grows to its whole message, saving round trips). A message
 * may not declare more than max_body bytes (RESOURCE_EXHAUSTED before it is read), and its
 * buffer grows with the bytes that arrive (doubling, so at most twice them). So a connection
 * receives at most CONN_SOFT + MAX_STREAMS * STREAM_WINDOW + max_body + 5 bytes of requests
 * not yet complete, and a finished request moves to the receive stage, whose own budget
 * applies. Across connections the bound is MAX_CONNS times that, as for OTLP/HTTP bodies.
 * Output: no more frames are produced while OUT_HIGH bytes wait to be written, and the
 * connection is not read meanwhile, so a client that does not read cannot make it grow.
 * Connections: at most MAX_CONNS; one idle for IDLE_SECONDS (no byte in either direction
 * and no request with the receive stage) gets a GOAWAY and is closed.
 *
 * Lifetimes. A request (gstream) is created with its stream and freed when both the
 * HTTP/2 side (stream closed, or connection gone) and the receive stage (reply called) are
 * done with it. The receive stage calls back exactly once; if the stream was reset or the
 * connection closed meanwhile, the answer is dropped and the request freed then. The
 * message handed over is owned by the request until that reply. A connection is freed only
 * outside its own callbacks (depth count); nghttp2_session_del does not call back, so a
 * connection detaches its requests itself. */
#include "net/otlp_grpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "net/grpc_frame.h"
#include "otlp/otlp.h"

enum {
    MAX_STREAMS = 100,            /* SETTINGS_MAX_CONCURRENT_STREAMS */
    STREAM_WINDOW = 65535,        /* SETTINGS_INITIAL_WINDOW_SIZE (the HTTP/2 default) */
    CONN_WINDOW = 1 << 20,        /* the connection's receive window */
    CONN_SOFT = 1 << 20,          /* unfinished request bytes a connection acknowledges freely */
    ALL_SOFT = 16 << 20,          /* ... and all connections together */
    MAX_HEADER_LIST = 16384,      /* SETTINGS_MAX_HEADER_LIST_SIZE, enforced per request */
    OUT_HIGH = 256 * 1024,        /* unsent bytes past which nothing more is produced or read */
    MAX_CONNS = 1024,             /* connections open at once; more are closed at accept */
    IDLE_SECONDS = 60,            /* no traffic and nothing in flight: GOAWAY and close */
    GOAWAY_GRACE_MS = 500,        /* shutdown notice to final GOAWAY (about a round trip) */
    ACCEPT_RETRY_MS = 100,        /* pause after accept() fails (out of descriptors) */
    RETRY_DELAY_SECONDS = 1,      /* google.rpc.RetryInfo of retryable refusals */
    MAX_DEADLINE_SECONDS = 86400, /* grpc-timeout past this is not tracked */
    STOP_GRACE_SECONDS = 5,       /* how long a stop waits for requests still arriving */
    MAX_AUTHORIZATION = AUTH_MAX_TOKEN + 64,
};

static const char *const PATHS[] = {
    [RECV_TRACES] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    [RECV_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    [RECV_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

typedef struct conn conn;
typedef struct gstream gstream;

/* Where a request is. */
typedef enum {
    PH_HEADERS, /* its headers are arriving */
    PH_BODY,    /* its message is arriving */
    PH_DISCARD, /* answered early (an error); whatever else arrives is dropped */
    PH_RECV,    /* with the receive stage, waiting for its reply */
    PH_REPLIED, /* answered; the response may still be going out */
} phase;

struct gstream {
    gstream *prev, *next; /* the connection's requests, oldest first */
    conn *c;              /* NULL once the stream or the connection is gone */
    int32_t id;
    uint8_t phase;
    bool remote_done; /* END_STREAM received */
    /* request headers */
    bool post, oom, auth_too_long, has_timeout;
    int path; /* a recv_signal, or -1 */
    grpc_content_type ctype;
    grpc_encoding enc;
    size_t header_bytes;
    uint64_t timeout_ns;
    char *authorization;
    /* the request */
    int tenant;
    grpc_reader rd;
    size_t held;        /* rd's bytes as counted in the connection's buffered */
    size_t deferred;    /* bytes received and not yet acknowledged at the stream level */
    bool window_opened; /* grown to the declared message (open_window) */
    struct event *deadline;
    uint8_t *msg; /* the message handed to the receive stage */
    /* the response DATA: prefix + Export*ServiceResponse */
    lt_buf resp;
    size_t resp_off;
};

struct conn {
    conn *prev, *next; /* the receiver's connections */
    otlp_grpc *g;
    struct bufferevent *bev;
    nghttp2_session *h2;
    struct event *timer; /* idle check */
    uint64_t last_active_ns;
    gstream *first, *last;
    size_t buffered; /* bytes held by requests still arriving */
    size_t n_recv;   /* requests with the receive stage */
    int depth;       /* > 0 inside this connection's callbacks */
    bool dead;       /* to be closed as soon as depth is 0 */
    bool read_paused;
    bool goaway_sent;
};

struct otlp_grpc {
    struct event_base *base;
    recv_ctx *recv;
    const auth *auth;
    ingest *const *queues;
    size_t max_body;
    struct evconnlistener *listener;
    struct event *accept_timer;
    struct event *goaway_timer;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    nghttp2_mem mem;
    conn *conns;
    size_t n_conns;
    size_t buffered; /* over all connections */
    bool stopping;
    uint64_t stop_ns; /* when stop_accepting was called (monotonic) */
};

/* ---- allocation: nghttp2 goes through core/alloc.h too ---- */

static void *h2_malloc(size_t n, void *u)
{
    (void)u;
    return lt_malloc(n);
}

static void h2_free(void *p, void *u)
{
    (void)u;
    lt_free(p);
}

static void *h2_calloc(size_t n, size_t size, void *u)
{
    (void)u;
    return lt_calloc(n, size);
}

static void *h2_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return lt_realloc(p, n);
}

/* ---- requests ---- */

static bool str_is(const uint8_t *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

/* Brings the connection's count of buffered bytes up to date with the reader. */
static void account(gstream *s)
{
    size_t now = grpc_reader_held(&s->rd);
    if (s->c) {
        s->c->buffered = s->c->buffered - s->held + now;
        s->c->g->buffered = s->c->g->buffered - s->held + now;
    }
    s->held = now;
}

static void drop_reader(gstream *s)
{
    grpc_reader_free(&s->rd);
    account(s);
}

static void stream_free(gstream *s)
{
    drop_reader(s);
    if (s->deadline) event_free(s->deadline);
    lt_free(s->authorization);
    lt_free(s->msg);
    buf_free(&s->resp);
    lt_free(s);
}

static void unlink_stream(gstream *s)
{
    conn *c = s->c;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        c->last = s->prev;
    s->prev = s->next = NULL;
    s->c = NULL;
}

/* The oldest unfinished request may send its whole message without waiting for window
 * updates: its stream window grows to the length its prefix declared (at most max_body + 5,
 * which it may hold anyway). Saves round trips on large messages. */
static void open_window(gstream *s)
{
    if (s->window_opened || grpc_reader_missing(&s->rd) == 0) return;
    s->window_opened = true;
    size_t want = (size_t)s->rd.len + GRPC_PREFIX;
    if (want > STREAM_WINDOW && want <= INT32_MAX)
        nghttp2_session_set_local_window_size(s->c->h2, NGHTTP2_FLAG_NONE, s->id, (int32_t)want);
}

/* Acknowledges deferred bytes of requests that may have them now: the oldest unfinished
 * request always, the others while the connection is under its soft limit. */
static void release_deferred(conn *c)
{
    bool leader = true;
    for (gstream *s = c->first; s; s = s->next) {
        if (s->phase != PH_BODY) continue;
        if (s->deferred && (leader || (c->buffered <= CONN_SOFT && c->g->buffered <= ALL_SOFT))) {
            nghttp2_session_consume_stream(c->h2, s->id, s->deferred);
            s->deferred = 0;
        }
        if (leader) open_window(s);
        leader = false;
    }
}

static bool is_leader(const gstream *s)
{
    for (const gstream *o = s->c->first; o != s; o = o->next)
        if (o->phase == PH_BODY) return false;
    return true;
}

/* Leaves PH_HEADERS / PH_BODY for good: the buffer goes and the deadline stops. */
static void stop_receiving(gstream *s, phase next)
{
    s->phase = (uint8_t)next;
    if (s->deadline) event_del(s->deadline);
    drop_reader(s);
    if (s->c) release_deferred(s->c);
}

#define NV(n, v, vl)                                                                               \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE                  \
    }

/* A response that is only headers (END_STREAM); RST_STREAM(NO_ERROR) follows once they
 * are sent if the client still sends (on_frame_send: nghttp2 drops frames queued for a
 * stream after its RST_STREAM). */
static void respond_headers_only(gstream *s, const nghttp2_nv *nv, size_t n)
{
    conn *c = s->c;
    if (!c) return;
    nghttp2_submit_response(c->h2, s->id, nv, n, NULL);
}

/* Trailers-Only: grpc-status, grpc-message and, for retryable refusals, RetryInfo. */
static void respond_status(gstream *s, grpc_status code, const char *message, bool retry,
                           bool accept_encoding)
{
    char st[12];
    int stl = snprintf(st, sizeof st, "%d", (int)code);
    lt_buf msg = {0}, details = {0};
    lt_str m = lt_str_c(message);
    grpc_percent_encode(&msg, m);
    if (retry) grpc_status_details(&details, code, m, RETRY_DELAY_SECONDS);
    nghttp2_nv nv[6] = {
        NV(":status", "200", 3),
        NV("content-type", "application/grpc", 16),
        NV("grpc-status", st, (size_t)stl),
    };
    size_t n = 3;
    if (!msg.oom && msg.len) nv[n++] = (nghttp2_nv)NV("grpc-message", msg.data, msg.len);
    if (!details.oom && details.len)
        nv[n++] = (nghttp2_nv)NV("grpc-status-details-bin", details.data, details.len);
    if (accept_encoding) nv[n++] = (nghttp2_nv)NV("grpc-accept-encoding", "identity,gzip", 13);
    respond_headers_only(s, nv, n);
    buf_free(&msg);
    buf_free(&details);
}

/* An answer at the HTTP level, for what is not a gRPC request at all. */
static void respond_http(gstream *s, const char *status)
{
    nghttp2_nv nv[] = {NV(":status", status, strlen(status))};
    respond_headers_only(s, nv, 1);
}

/* An error found while the request arrives. */
static void fail_request(gstream *s, grpc_status code, const char *message)
{
    stop_receiving(s, PH_DISCARD);
    bool retry = code == GRPC_STATUS_UNAVAILABLE;
    respond_status(s, code, message, retry, false);
}

static ssize_t read_response(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    (void)arg;
    gstream *s = src->ptr;
    size_t n = s->resp.len - s->resp_off;
    if (n > len) n = len;
    if (n) memcpy(buf, s->resp.data + s->resp_off, n);
    s->resp_off += n;
    if (s->resp_off == s->resp.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {NV("grpc-status", "0", 1)};
        if (nghttp2_submit_trailer(h2, id, tr, 1)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

/* Headers, the Export*ServiceResponse (partial_success when items were rejected), trailers. */
static void respond_ok(gstream *s, const recv_result *res)
{
    uint8_t prefix[GRPC_PREFIX] = {0};
    buf_append(&s->resp, prefix, sizeof prefix);
    size_t at = s->resp.len;
    if (s->resp.oom ||
        otlp_reply_ok(&s->resp, OTLP_PROTOBUF, NULL, res->rejected, res->reject_reason)) {
        respond_status(s, GRPC_STATUS_UNAVAILABLE, "out of memory, retry later", true, false);
        return;
    }
    grpc_put_prefix((uint8_t *)s->resp.data, false, (uint32_t)(s->resp.len - at));
    nghttp2_nv nv[] = {NV(":status", "200", 3), NV("content-type", "application/grpc", 16)};
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_response};
    nghttp2_submit_response(s->c->h2, s->id, nv, 2, &dp);
}

static void conn_flush(conn *c);
static void conn_settle(conn *c);

/* The receive stage's outcome, as OTLP/gRPC says to answer it (OTLP spec, "OTLP/gRPC
 * Response"): RESOURCE_EXHAUSTED is retryable only with RetryInfo, so a request that is too
 * large gets none. */
static void on_reply(void *arg, const recv_result *res)
{
    gstream *s = arg;
    conn *c = s->c;
    lt_free(s->msg);
    s->msg = NULL;
    s->phase = PH_REPLIED;
    if (!c) { /* reset by the client, or the connection is gone */
        stream_free(s);
        return;
    }
    c->n_recv--;
    c->depth++;
    switch (res->status) {
    case RECV_OK:
        respond_ok(s, res);
        break;
    case RECV_BAD_DATA:
        respond_status(s, GRPC_STATUS_INVALID_ARGUMENT, res->message, false, false);
        break;
    case RECV_TOO_LARGE:
        respond_status(s, GRPC_STATUS_RESOURCE_EXHAUSTED, res->message, false, false);
        break;
    case RECV_BUSY:
        respond_status(s, GRPC_STATUS_RESOURCE_EXHAUSTED, res->message, true, false);
        break;
    case RECV_UNAVAILABLE:
        respond_status(s, GRPC_STATUS_UNAVAILABLE, res->message, true, false);
        break;
    }
    /* inside the read handler (a reply before recv_submit returned), it flushes */
    if (c->depth == 1) conn_flush(c);
    c->depth--;
    conn_settle(c);
}

/* The client ended a request whose message was arriving: hand it over. */
static void hand_over(gstream *s)
{
    conn *c = s->c;
    if (grpc_reader_finish(&s->rd)) {
        fail_request(s, GRPC_STATUS_INVALID_ARGUMENT,
                     grpc_reader_started(&s->rd)
                         ? "the request ended inside its message (length prefix past the data)"
                         : "the request carries no message");
        return;
    }
    bool gzip = s->rd.compressed;
    size_t n;
    s->msg = grpc_reader_take(&s->rd, &n);
    stop_receiving(s, PH_RECV);
    c->n_recv++;
    recv_request rr = {.signal = (recv_signal)s->path,
                       .format = OTLP_PROTOBUF,
                       .gzip = gzip,
                       .data = s->msg ? s->msg : (uint8_t *)"",
                       .len = n,
                       .queue = c->g->queues[s->tenant],
                       .tenant = (size_t)s->tenant,
                       .reply = on_reply,
                       .arg = s};
    recv_submit(c->g->recv, &rr);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    gstream *s = arg;
    conn *c = s->c;
    if (!c || (s->phase != PH_BODY && s->phase != PH_HEADERS)) return;
    /* the client's deadline passed before its request was complete: cancel
     * (PROTOCOL-HTTP2.md, "Client Cancellation") */
    c->depth++;
    stop_receiving(s, PH_DISCARD);
    nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    conn_flush(c);
    c->depth--;
    conn_settle(c);
}

/* The request headers are complete: check them, in the order a gRPC server would. */
static void headers_done(gstream *s)
{
    conn *c = s->c;
    otlp_grpc *g = c->g;
    if (!s->post) {
        stop_receiving(s, PH_DISCARD);
        respond_http(s, "405");
        return;
    }
    if (s->ctype == GRPC_CT_NOT_GRPC) { /* PROTOCOL-HTTP2.md: 415 for other content types */
        stop_receiving(s, PH_DISCARD);
        respond_http(s, "415");
        return;
    }
    if (s->oom) {
        fail_request(s, GRPC_STATUS_UNAVAILABLE, "out of memory, retry later");
        return;
    }
    if (s->path < 0) {
        fail_request(s, GRPC_STATUS_UNIMPLEMENTED,
                     "unknown method; OTLP/gRPC serves "
                     "opentelemetry.proto.collector.{trace.v1.TraceService,logs.v1.LogsService,"
                     "metrics.v1.MetricsService}/Export");
        return;
    }
    if (s->ctype == GRPC_CT_OTHER_GRPC) {
        fail_request(s, GRPC_STATUS_UNIMPLEMENTED,
                     "OTLP/gRPC messages are protobuf: use application/grpc or "
                     "application/grpc+proto");
        return;
    }
    s->tenant = s->auth_too_long ? -1 : auth_ingest(g->auth, s->authorization);
    lt_free(s->authorization);
    s->authorization = NULL;
    if (s->tenant < 0) {
        fail_request(s, GRPC_STATUS_UNAUTHENTICATED,
                     "missing or wrong bearer token in the authorization metadata");
        return;
    }
    if (s->enc == GRPC_ENC_OTHER) { /* compression.md: UNIMPLEMENTED + what is accepted */
        stop_receiving(s, PH_DISCARD);
        respond_status(s, GRPC_STATUS_UNIMPLEMENTED,
                       "grpc-encoding not supported; use gzip or identity", false, true);
        return;
    }
    grpc_reader_init(&s->rd, g->max_body, s->enc == GRPC_ENC_GZIP);
    s->phase = PH_BODY;
    /* a deadline of days is as good as none */
    uint64_t ns = s->timeout_ns;
    if (s->has_timeout && ns < (uint64_t)MAX_DEADLINE_SECONDS * 1000000000ull &&
        (s->deadline = event_new(g->base, -1, 0, on_deadline, s))) {
        struct timeval tv = {(time_t)(ns / 1000000000ull),
                             (suseconds_t)(ns % 1000000000ull / 1000)};
        event_add(s->deadline, &tv);
    }
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *arg)
{
    conn *c = arg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    gstream *s = lt_calloc(1, sizeof *s);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
    s->id = f->hd.stream_id;
    s->path = -1;
    s->ctype = GRPC_CT_NOT_GRPC;
    s->enc = GRPC_ENC_IDENTITY;
    s->c = c;
    s->prev = c->last;
    if (c->last)
        c->last->next = s;
    else
        c->first = s;
    c->last = s;
    if (nghttp2_session_set_stream_user_data(h2, s->id, s)) {
        unlink_stream(s);
        stream_free(s);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    (void)flags, (void)arg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    gstream *s = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!s || s->phase != PH_HEADERS) return 0;
    /* counted as SETTINGS_MAX_HEADER_LIST_SIZE is (RFC 9113 section 6.5.2) */
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > MAX_HEADER_LIST) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    lt_str v = {(const char *)value, valuelen};
    if (str_is(name, namelen, ":method")) {
        s->post = str_is(value, valuelen, "POST");
    } else if (str_is(name, namelen, ":path")) {
        for (int i = 0; i < (int)(sizeof PATHS / sizeof *PATHS); i++)
            if (str_is(value, valuelen, PATHS[i])) s->path = i;
    } else if (str_is(name, namelen, "content-type")) {
        s->ctype = grpc_parse_content_type(v);
    } else if (str_is(name, namelen, "grpc-encoding")) {
        s->enc = grpc_parse_encoding(v);
    } else if (str_is(name, namelen, "grpc-timeout")) {
        s->has_timeout = grpc_parse_timeout(v, &s->timeout_ns) == 0;
    } else if (str_is(name, namelen, "authorization") && !s->authorization) {
        if (valuelen > MAX_AUTHORIZATION)
            s->auth_too_long = true;
        else if (!(s->authorization = lt_strndup(v.ptr, v.len)))
            s->oom = true;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *arg)
{
    (void)arg;
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
    gstream *s = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!s || !s->c) return 0;
    bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (end) s->remote_done = true;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
        s->phase == PH_HEADERS)
        headers_done(s);
    if (end && s->phase == PH_BODY) hand_over(s);
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *arg)
{
    (void)flags;
    conn *c = arg;
    /* the connection window reopens at once: what is held is bounded per stream */
    nghttp2_session_consume_connection(h2, len);
    gstream *s = nghttp2_session_get_stream_user_data(h2, id);
    if (!s || s->phase != PH_BODY) return 0;
    int rc = grpc_reader_feed(&s->rd, data, len);
    account(s);
    switch (rc) {
    case 0:
        break;
    case LT_ETOOBIG:
        fail_request(s, GRPC_STATUS_RESOURCE_EXHAUSTED,
                     "request message over the size limit (--max-body)");
        return 0;
    case LT_EUNSUPPORTED: /* compression.md: a compressed message without grpc-encoding */
        fail_request(s, GRPC_STATUS_INTERNAL,
                     "Compressed-Flag set but no grpc-encoding was declared");
        return 0;
    case LT_ENOMEM:
        fail_request(s, GRPC_STATUS_UNAVAILABLE, "out of memory, retry later");
        return 0;
    default:
        fail_request(s, GRPC_STATUS_INVALID_ARGUMENT,
                     "bad message framing: a unary request carries one length-prefixed "
                     "message with Compressed-Flag 0 or 1");
        return 0;
    }
    s->deferred += len;
    bool leader = is_leader(s);
    if (leader || (c->buffered <= CONN_SOFT && c->g->buffered <= ALL_SOFT)) {
        nghttp2_session_consume_stream(h2, id, s->deferred);
        s->deferred = 0;
    }
    if (leader) open_window(s);
    return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *f, void *arg)
{
    (void)arg;
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    gstream *s = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (s && !s->remote_done)
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t error_code, void *arg)
{
    (void)error_code;
    conn *c = arg;
    gstream *s = nghttp2_session_get_stream_user_data(h2, id);
    if (!s) return 0;
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    if (s->phase == PH_HEADERS || s->phase == PH_BODY) stop_receiving(s, PH_DISCARD);
    bool with_recv = s->phase == PH_RECV;
    if (with_recv) c->n_recv--;
    unlink_stream(s);
    /* with the receive stage: its reply frees it */
    if (!with_recv) stream_free(s);
    return 0;
}

/* ---- connections ---- */

/* Frees the connection: its requests with the receive stage are detached (their reply
 * frees them), the others freed. */
static void conn_free(conn *c)
{
    otlp_grpc *g = c->g;
    while (c->first) {
        gstream *s = c->first;
        drop_reader(s);
        bool with_recv = s->phase == PH_RECV;
        unlink_stream(s);
        if (!with_recv) stream_free(s);
    }
    nghttp2_session_del(c->h2);
    bufferevent_free(c->bev);
    if (c->timer) event_free(c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    g->n_conns--;
    lt_free(c);
}

/* Frees a dead connection once no callback of it is running. */
static void conn_settle(conn *c)
{
    if (c->dead && c->depth == 0) conn_free(c);
}

static void touch(conn *c)
{
    c->last_active_ns = time_mono_ns();
}

/* Moves what nghttp2 has to send into the output (up to OUT_HIGH waiting), tries to write
 * it now (a reply may be the last thing the loop does before the server stops), and holds
 * reading while the client does not read. Marks the connection dead when it is done. */
static void conn_flush(conn *c)
{
    if (c->dead) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) < OUT_HIGH) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->h2, &p);
        if (n < 0) {
            log_debug("OTLP/gRPC: closing a connection: %s", nghttp2_strerror((int)n));
            c->dead = true;
            return;
        }
        if (n == 0) break;
        if (evbuffer_add(out, p, (size_t)n)) {
            c->dead = true;
            return;
        }
    }
    size_t waiting = evbuffer_get_length(out);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (waiting && fd >= 0 && evbuffer_write(out, fd) > 0) {
        touch(c);
        waiting = evbuffer_get_length(out);
    }
    if (waiting == 0 && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        c->dead = true;
        return;
    }
    if (waiting >= OUT_HIGH && !c->read_paused) {
        bufferevent_disable(c->bev, EV_READ);
        c->read_paused = true;
    } else if (waiting < OUT_HIGH && c->read_paused) {
        bufferevent_enable(c->bev, EV_READ);
        c->read_paused = false;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->depth++;
    touch(c);
    while (!c->dead && evbuffer_get_length(in)) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        ssize_t n = nghttp2_session_mem_recv(c->h2, v.iov_base, v.iov_len);
        if (n < 0) {
            log_debug("OTLP/gRPC: closing a connection: %s", nghttp2_strerror((int)n));
            c->dead = true;
            break;
        }
        evbuffer_drain(in, (size_t)n);
    }
    conn_flush(c);
    c->depth--;
    conn_settle(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    c->depth++;
    touch(c);
    conn_flush(c);
    c->depth--;
    conn_settle(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        c->dead = true;
        conn_settle(c);
    }
}

static void arm_idle(conn *c, uint64_t ns)
{
    struct timeval tv = {(time_t)(ns / 1000000000ull), (suseconds_t)(ns % 1000000000ull / 1000)};
    event_add(c->timer, &tv);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn *c = arg;
    const uint64_t idle = (uint64_t)IDLE_SECONDS * 1000000000ull;
    uint64_t since = time_mono_ns() - c->last_active_ns;
    if (c->n_recv) { /* waiting for the store is not idleness */
        arm_idle(c, idle);
        return;
    }
    if (since < idle) {
        arm_idle(c, idle - since);
        return;
    }
    c->depth++;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, (const uint8_t *)"idle", 4);
    conn_flush(c);
    c->dead = true;
    c->depth--;
    conn_settle(c);
}

/* Takes bev (freed on failure). 0 or LT_ENOMEM. */
static int conn_new(otlp_grpc *g, struct bufferevent *bev)
{
    conn *c = lt_calloc(1, sizeof *c);
    if (!c) {
        bufferevent_free(bev);
        return LT_ENOMEM;
    }
    c->g = g;
    c->bev = bev;
    c->next = g->conns;
    if (g->conns) g->conns->prev = c;
    g->conns = c;
    g->n_conns++;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST},
    };
    if (nghttp2_session_server_new3(&c->h2, g->cbs, c, g->opt, &g->mem) ||
        nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv) ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) ||
        !(c->timer = event_new(g->base, -1, 0, on_idle, c))) {
        conn_free(c);
        return LT_ENOMEM;
    }
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    touch(c);
    arm_idle(c, (uint64_t)IDLE_SECONDS * 1000000000ull);
    c->depth++;
    conn_flush(c); /* our SETTINGS */
    c->depth--;
    conn_settle(c);
    return 0;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l, (void)sa, (void)len;
    otlp_grpc *g = arg;
    if (g->stopping || g->n_conns >= MAX_CONNS) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev = bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    if (conn_new(g, bev)) log_warn("OTLP/gRPC: out of memory for a new connection");
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    otlp_grpc *g = arg;
    if (g->listener) evconnlistener_enable(g->listener);
}

/* accept() failed (out of descriptors, most likely): pause rather than spin. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    otlp_grpc *g = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_warn("OTLP/gRPC: accept failed: %s", evutil_socket_error_to_string(e));
    evconnlistener_disable(l);
    struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
    if (g->accept_timer) event_add(g->accept_timer, &tv);
}

/* ---- the receiver ---- */

otlp_grpc *otlp_grpc_new(struct event_base *base, recv_ctx *recv, const auth *a,
                         ingest *const *queues, size_t max_body)
{
    otlp_grpc *g = lt_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->base = base;
    g->recv = recv;
    g->auth = a;
    g->queues = queues;
    g->max_body = max_body;
    g->mem = (nghttp2_mem){
        .malloc = h2_malloc, .free = h2_free, .calloc = h2_calloc, .realloc = h2_realloc};
    if (nghttp2_session_callbacks_new(&g->cbs) || nghttp2_option_new(&g->opt) ||
        !(g->accept_timer = event_new(base, -1, 0, on_accept_retry, g))) {
        otlp_grpc_free(g);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(g->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(g->cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(g->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(g->cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(g->cbs, on_frame_send);
    nghttp2_option_set_no_auto_window_update(g->opt, 1);
    nghttp2_option_set_no_closed_streams(g->opt, 1);
    return g;
}

int otlp_grpc_listen(otlp_grpc *g, const char *host, uint16_t port, char *shown, size_t shown_len)
{
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_protocol = IPPROTO_TCP,
                                    .ai_flags = EVUTIL_AI_PASSIVE};
    struct evutil_addrinfo *ai = NULL;
    if (evutil_getaddrinfo(host, ps, &hints, &ai)) {
        errno = EADDRNOTAVAIL;
        return LT_EIO;
    }
    int err = EADDRNOTAVAIL;
    for (struct evutil_addrinfo *p = ai; p && !g->listener; p = p->ai_next) {
        g->listener = evconnlistener_new_bind(g->base, on_accept, g,
                                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                                  LEV_OPT_CLOSE_ON_EXEC,
                                              -1, p->ai_addr, (int)p->ai_addrlen);
        if (!g->listener) err = errno;
    }
    evutil_freeaddrinfo(ai);
    if (!g->listener) {
        errno = err;
        return LT_EIO;
    }
    evconnlistener_set_error_cb(g->listener, on_accept_error);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (getsockname(evconnlistener_get_fd(g->listener), (struct sockaddr *)&ss, &sl) == 0 &&
        ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        snprintf(shown, shown_len, "[%s]:%u", ip, (unsigned)ntohs(a6->sin6_port));
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
        snprintf(shown, shown_len, "%s:%u", ip, (unsigned)ntohs(a4->sin_port));
    }
    return 0;
}

/* The final GOAWAY: streams the client opened after the notice are the last taken. */
static void on_goaway_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    otlp_grpc *g = arg;
    for (conn *c = g->conns, *next; c; c = next) {
        next = c->next;
        if (c->goaway_sent) continue;
        c->goaway_sent = true;
        c->depth++;
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                              NULL, 0);
        conn_flush(c);
        c->depth--;
        conn_settle(c);
    }
}

void otlp_grpc_stop_accepting(otlp_grpc *g)
{
    if (!g || g->stopping) return;
    g->stopping = true;
    g->stop_ns = time_mono_ns();
    if (g->listener) evconnlistener_free(g->listener);
    g->listener = NULL;
    for (conn *c = g->conns, *next; c; c = next) {
        next = c->next;
        c->depth++;
        nghttp2_submit_shutdown_notice(c->h2);
        conn_flush(c);
        c->depth--;
        conn_settle(c);
    }
    struct timeval tv = {0, GOAWAY_GRACE_MS * 1000};
    g->goaway_timer = event_new(g->base, -1, 0, on_goaway_timer, g);
    if (g->goaway_timer)
        event_add(g->goaway_timer, &tv);
    else
        on_goaway_timer(-1, 0, g);
}

bool otlp_grpc_receiving(const otlp_grpc *g)
{
    if (!g || !g->stopping ||
        time_mono_ns() - g->stop_ns > (uint64_t)STOP_GRACE_SECONDS * 1000000000ull)
        return false;
    for (const conn *c = g->conns; c; c = c->next)
        for (const gstream *s = c->first; s; s = s->next)
            if (s->phase == PH_HEADERS || s->phase == PH_BODY) return true;
    return false;
}

void otlp_grpc_free(otlp_grpc *g)
{
    if (!g) return;
    if (g->listener) evconnlistener_free(g->listener);
    g->listener = NULL;
    /* a last GOAWAY where there was none, so that clients know what was taken */
    on_goaway_timer(-1, 0, g);
    while (g->conns)
        conn_free(g->conns);
    if (g->goaway_timer) event_free(g->goaway_timer);
    if (g->accept_timer) event_free(g->accept_timer);
    nghttp2_session_callbacks_del(g->cbs);
    nghttp2_option_del(g->opt);
    lt_free(g);
}
