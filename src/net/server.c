/* server.c — `llmtrace serve`: wires the store, the ingest queue, the OTLP/HTTP receiver
 * and the API server together, and runs them until a stop signal (see net.h).
 *
 * Stop sequence: the listeners close first (no new requests), then the loop keeps running
 * until every accepted request has been committed and answered, then the API thread and
 * the writer thread stop and the store closes. A restart after a clean stop loses
 * nothing that was acknowledged. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/api.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "net/otlp_http.h"
#include "pipeline/ingest.h"

int net_parse_addr(const char *s, char *host, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon) return LT_EINVAL;
    size_t hl = (size_t)(colon - s);
    const char *h = s;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') h = s + 1, hl -= 2;
    if (hl >= 256) return LT_EINVAL;
    if (hl == 0) {
        memcpy(host, "127.0.0.1", sizeof "127.0.0.1");
    } else {
        memcpy(host, h, hl);
        host[hl] = 0;
    }
    uint64_t p;
    if (parse_u64(lt_str_c(colon + 1), &p) || p > 65535) return LT_EINVAL;
    *port = (uint16_t)p;
    return 0;
}

/* Binds http to addr; writes the bound "host:port" to shown. */
static int bind_http(struct evhttp *http, const char *what, const char *addr, char *shown,
                     size_t shown_len, struct evhttp_bound_socket **out)
{
    char host[256];
    uint16_t port;
    if (net_parse_addr(addr, host, &port)) {
        fprintf(stderr, "llmtrace serve: --%s: expected HOST:PORT, got '%s'\n", what, addr);
        return LT_EINVAL;
    }
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, port);
    if (!bs) {
        fprintf(stderr, "llmtrace serve: cannot listen on %s (--%s): %s\n", addr, what,
                strerror(errno));
        return LT_EIO;
    }
    if (out) *out = bs;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned bound_port = 0;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
        bound_port = ntohs(a6->sin6_port);
        snprintf(shown, shown_len, "[%s]:%u", ip, bound_port);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
        bound_port = ntohs(a4->sin_port);
        snprintf(shown, shown_len, "%s:%u", ip, bound_port);
    }
    return 0;
}

/* ---- the API server, on its own thread ---- */

typedef struct {
    struct event_base *base;
    struct evhttp *http;
    lt_store *store;
    pthread_t thread;
} api_server;

static void api_request(struct evhttp_request *req, void *arg)
{
    api_server *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    const char *method = "GET";
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        method = "GET";
        break;
    case EVHTTP_REQ_HEAD:
        method = "HEAD";
        break;
    case EVHTTP_REQ_POST:
        method = "POST";
        break;
    case EVHTTP_REQ_PUT:
        method = "PUT";
        break;
    case EVHTTP_REQ_DELETE:
        method = "DELETE";
        break;
    default:
        method = "OTHER";
    }
    lt_buf body = {0};
    const char *ctype = "application/json";
    int code = api_handle(a->store, lt_str_c(method), lt_str_c(path ? path : "/"), lt_str_c(query),
                          &body, &ctype);
    if (body.oom) {
        code = 503;
        buf_reset(&body);
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    struct evbuffer *out = evbuffer_new();
    if (out && body.len) evbuffer_add(out, body.data, body.len);
    evhttp_send_reply(req, code, NULL, out);
    if (out) evbuffer_free(out);
    buf_free(&body);
}

static void *api_main(void *arg)
{
    api_server *a = arg;
    event_base_loop(a->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- the main loop ---- */

typedef struct {
    struct event_base *base;
    struct evhttp *otlp;
    struct evhttp_bound_socket *listener;
    otlp_http *receiver;
    ingest *q;
    struct event *drain_timer;
    bool stopping;
} runtime;

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    runtime *rt = arg;
    if (otlp_http_inflight(rt->receiver) == 0 && ingest_pending(rt->q) == 0)
        event_base_loopexit(rt->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    runtime *rt = arg;
    if (rt->stopping) return;
    rt->stopping = true;
    log_info("signal %d: stopping; finishing %zu request(s) in flight", (int)sig,
             otlp_http_inflight(rt->receiver));
    /* stop accepting: close the listeners, keep the connections with requests in flight */
    if (rt->listener) evhttp_del_accept_socket(rt->otlp, rt->listener);
    rt->listener = NULL;
    struct timeval tv = {0, 10000};
    rt->drain_timer = event_new(rt->base, -1, EV_PERSIST, check_drained, rt);
    if (rt->drain_timer)
        event_add(rt->drain_timer, &tv);
    else
        event_base_loopexit(rt->base, NULL);
}

int server_run(const server_config *cfg)
{
    int rc = 0;
    lt_store *store = NULL;
    ingest *q = NULL;
    genai_prices *builtin = NULL, *prices = NULL;
    runtime rt = {0};
    api_server api = {0};
    bool api_started = false;
    struct event *sigterm = NULL, *sigint = NULL;
    char err[256] = "", otlp_shown[300] = "", http_shown[300] = "";

    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads()) {
        fprintf(stderr, "llmtrace serve: libevent has no thread support\n");
        return LT_EIO;
    }
    if ((rc = genai_prices_load(NULL, NULL, &builtin, err, sizeof err)) ||
        (cfg->prices && (rc = genai_prices_load(cfg->prices, builtin, &prices, err, sizeof err)))) {
        fprintf(stderr, "llmtrace serve: %s\n", err);
        goto out;
    }
    if ((rc = store_open(cfg->data, &store, err, sizeof err))) {
        fprintf(stderr, "llmtrace serve: cannot open store %s: %s\n", cfg->data, err);
        goto out;
    }
    ingest_config icfg = {.max_bytes = cfg->max_queue, .retention = cfg->retention};
    if ((rc = ingest_start(&q, store, &icfg))) {
        fprintf(stderr, "llmtrace serve: cannot start the writer: %s\n", lt_strerror(rc));
        goto out;
    }
    rt.q = q;
    rt.base = event_base_new();
    api.base = event_base_new();
    if (!rt.base || !api.base || !(rt.otlp = evhttp_new(rt.base)) ||
        !(api.http = evhttp_new(api.base))) {
        rc = LT_ENOMEM;
        fprintf(stderr, "llmtrace serve: out of memory\n");
        goto out;
    }
    evhttp_set_max_body_size(rt.otlp, (ev_ssize_t)cfg->max_body);
    /* a body over the limit is read and discarded before the 413, so a sender still writing
     * gets the answer instead of a reset connection (RFC 9112 section 9.6) */
    evhttp_set_flags(rt.otlp, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_max_headers_size(rt.otlp, 64 * 1024);
    evhttp_set_max_headers_size(api.http, 64 * 1024);
    evhttp_set_max_body_size(api.http, 1 << 20);
    evhttp_set_allowed_methods(rt.otlp, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    if (!(rt.receiver =
              otlp_http_new(rt.base, rt.otlp, q, cfg->max_body, prices ? prices : builtin))) {
        rc = LT_ENOMEM;
        goto out;
    }
    api.store = store;
    evhttp_set_gencb(api.http, api_request, &api);
    if ((rc = bind_http(rt.otlp, "otlp-http", cfg->otlp_http_addr, otlp_shown, sizeof otlp_shown,
                        &rt.listener)) ||
        (rc = bind_http(api.http, "http", cfg->http_addr, http_shown, sizeof http_shown, NULL)))
        goto out;
    if (cfg->otlp_grpc_addr)
        log_warn("--otlp-grpc %s: the gRPC receiver is not available yet; use OTLP/HTTP",
                 cfg->otlp_grpc_addr);
    if (pthread_create(&api.thread, NULL, api_main, &api)) {
        rc = LT_EIO;
        goto out;
    }
    api_started = true;
    sigterm = evsignal_new(rt.base, SIGTERM, on_signal, &rt);
    sigint = evsignal_new(rt.base, SIGINT, on_signal, &rt);
    if (!sigterm || !sigint || event_add(sigterm, NULL) || event_add(sigint, NULL)) {
        rc = LT_EIO;
        goto out;
    }
    printf("llmtrace listening otlp_http=%s http=%s\n", otlp_shown, http_shown);
    fflush(stdout);
    log_info("storing in %s; OTLP/HTTP on %s; API on http://%s", cfg->data, otlp_shown, http_shown);
    event_base_dispatch(rt.base);
    log_info("stopped cleanly");
out:
    if (api_started) {
        event_base_loopbreak(api.base);
        pthread_join(api.thread, NULL);
    }
    if (sigterm) event_free(sigterm);
    if (sigint) event_free(sigint);
    if (rt.drain_timer) event_free(rt.drain_timer);
    ingest_stop(q); /* commits whatever is still queued */
    if (rt.otlp) evhttp_free(rt.otlp);
    otlp_http_free(rt.receiver);
    if (api.http) evhttp_free(api.http);
    if (rt.base) event_base_free(rt.base);
    if (api.base) event_base_free(api.base);
    store_close(store);
    genai_prices_free(prices);
    genai_prices_free(builtin);
    return rc;
}
