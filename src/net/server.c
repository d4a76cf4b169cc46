/* server.c — `llmtrace serve`: wires the tenants' stores and ingest queues, the receive
 * stage, the OTLP receivers and the API server together, and runs them until a stop signal
 * (see net.h).
 *
 * Each tenant (auth.h) has a store and an ingest queue (writer thread) of its own: tenant 0
 * in the data directory, tenant NAME in DATA/tenants/NAME. The receivers and the receive
 * stage share the main loop; the API has a thread of its own.
 *
 * Stop sequence: the listeners close first (no new requests), then the loop keeps running
 * until every accepted request has been committed and answered, then the API thread and
 * the writer threads stop and the stores close. A restart after a clean stop loses
 * nothing that was acknowledged. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
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
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "net/auth.h"
#include "net/otlp_grpc.h"
#include "net/otlp_http.h"
#include "net/receive.h"
#include "pipeline/ingest.h"
#include "pipeline/pipeline.h"
#include "pipeline/promtext.h"
#include "ui/ui.h"

/* Whether host (as net_parse_addr gives it) only takes connections from this machine. */
static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

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
    lt_store *store;
    ingest *q;
} tenant;

typedef struct {
    struct event_base *base;
    struct evhttp *http;
    const auth *auth;
    tenant *tenants;
    pipelines *pipes; /* GET /metrics, when a spanmetrics connector is configured */
    pthread_t thread;
} api_server;

static const char *method_name(enum evhttp_cmd_type c)
{
    switch (c) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

/* GET or HEAD of a UI path: the embedded file, without the API token (ui.h). The browser
 * may load only the UI's own files (CSP) and revalidates them on every use (no-cache with a
 * strong ETag, 304 when unchanged), so a new binary never leaves a stale UI behind. */
static void ui_reply(struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    ui_asset f;
    evhttp_add_header(h, "Content-Security-Policy", UI_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_reply(req, 503, NULL, NULL);
    } else if (ui_lookup(lt_str_c(path), &f)) {
        evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
        evhttp_add_header(h, "Cache-Control", "no-store");
        evbuffer_add_printf(out, "not found\n");
        evhttp_send_reply(req, 404, NULL, out);
    } else {
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "ETag", f.etag);
        const char *inm =
            evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
        if (inm && ui_etag_match(lt_str_c(inm), f.etag)) {
            evhttp_send_reply(req, 304, NULL, NULL);
        } else {
            /* libevent leaves it out of a HEAD answer, where it tells what GET would send
             * (RFC 9110 section 8.6) */
            char n[32];
            snprintf(n, sizeof n, "%zu", f.len);
            evhttp_add_header(h, "Content-Length", n);
            evhttp_add_header(h, "Content-Type", f.content_type);
            evbuffer_add_reference(out, f.data, f.len, NULL, NULL);
            evhttp_send_reply(req, 200, NULL, out);
        }
    }
    if (out) evbuffer_free(out);
}

static void api_request(struct evhttp_request *req, void *arg)
{
    api_server *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (path && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD) && ui_path(lt_str_c(path))) {
        ui_reply(req, path);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    lt_buf body = {0};
    const char *ctype = "application/json";
    int code;
    int t = auth_api(a->auth,
                     evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"));
    if (t < 0) {
        code = 401;
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"llmtrace\"");
        buf_append_c(&body, "{\"error\":\"missing or wrong bearer token\"}");
    } else if (path && strcmp(path, "/metrics") == 0 && a->pipes &&
               evhttp_request_get_command(req) == EVHTTP_REQ_GET &&
               pipelines_metrics_text(a->pipes, &body)) {
        code = 200;
        ctype = PROMTEXT_CONTENT_TYPE;
    } else {
        code =
            api_handle(a->tenants[t].store, lt_str_c(method_name(evhttp_request_get_command(req))),
                       lt_str_c(path ? path : "/"), lt_str_c(query), &body, &ctype);
    }
    if (body.oom) {
        code = 503;
        buf_reset(&body);
    }
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
    otlp_grpc *grpc;
    otlp_http *receiver;
    recv_ctx *recv;
    pipelines *pipes;
    bool flushed; /* the pipelines were told to send on what they hold (stopping) */
    tenant *tenants;
    size_t n_tenants;
    struct event *drain_timer;
    struct event *memory_timer;
    size_t memory_soft_limit; /* resident bytes past which requests are refused */
    bool stopping;
} runtime;

/* A sanitizer's shadow memory and quarantine are most of a sanitized build's resident size:
 * there the limiter would refuse everything (the budget of requests held still applies). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
enum { MEMORY_LIMITER = 0 };
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
enum { MEMORY_LIMITER = 0 };
#else
enum { MEMORY_LIMITER = 1 };
#endif
#else
enum { MEMORY_LIMITER = 1 };
#endif

/* Resident bytes of this process, or 0 when unknown. */
static size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f) return 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* The memory limiter, as the OTel Collector's memory_limiter processor does it: the
 * budget of requests held bounds what ingestion asks for, and this check bounds what the
 * process actually holds (caches, buffers, the heap's own slack): past the soft limit, new
 * requests are refused until it is back under, and the heap is asked to give back what
 * it keeps free. */
static void check_memory(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    runtime *rt = arg;
    size_t rss = resident_bytes();
    bool over = rss > rt->memory_soft_limit;
#ifdef __GLIBC__
    if (over) {
        malloc_trim(0);
        over = resident_bytes() > rt->memory_soft_limit;
    }
#endif
    recv_set_pressure(rt->recv, over);
}

static size_t pending_jobs(const runtime *rt)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->n_tenants; i++)
        n += rt->tenants[i].q ? ingest_pending(rt->tenants[i].q) : 0;
    return n;
}

static void check_drained(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    runtime *rt = arg;
    if (recv_inflight(rt->recv) || otlp_grpc_receiving(rt->grpc)) return;
    if (rt->pipes && !rt->flushed) {
        /* nothing more arrives: what tail sampling holds is decided and sent on now */
        pipelines_flush(rt->pipes);
        rt->flushed = true;
    }
    if (pending_jobs(rt) == 0 && (!rt->pipes || pipelines_idle(rt->pipes)))
        event_base_loopexit(rt->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    runtime *rt = arg;
    if (rt->stopping) return;
    rt->stopping = true;
    log_info("signal %d: stopping; finishing %zu request(s) in flight", (int)sig,
             recv_inflight(rt->recv));
    /* stop accepting: close the listeners, keep the connections with requests in flight */
    if (rt->listener) evhttp_del_accept_socket(rt->otlp, rt->listener);
    rt->listener = NULL;
    otlp_grpc_stop_accepting(rt->grpc);
    otlp_http_stop(rt->receiver);
    struct timeval tv = {0, 10000};
    rt->drain_timer = event_new(rt->base, -1, EV_PERSIST, check_drained, rt);
    if (rt->drain_timer)
        event_add(rt->drain_timer, &tv);
    else
        event_base_loopexit(rt->base, NULL);
}

/* The share of --max-memory for requests held (received, decoded, queued, being written);
 * an eighth goes to the stores' caches (store_set_cache_limit) and the rest is for
 * the program, the writers' buffers and the bodies still arriving. */
static size_t held_budget(const server_config *cfg)
{
    return cfg->max_memory / 4;
}

/* Opens the store and starts the writer of every tenant. */
static int open_tenants(runtime *rt, const server_config *cfg, const auth *au, char *err,
                        size_t errlen)
{
    rt->n_tenants = auth_n_tenants(au);
    rt->tenants = lt_calloc(rt->n_tenants, sizeof *rt->tenants);
    if (!rt->tenants) return LT_ENOMEM;
    ingest_config icfg = {.max_bytes = held_budget(cfg), .retention = cfg->retention};
    for (size_t i = 0; i < rt->n_tenants; i++) {
        char dir[4200];
        const char *name = auth_tenant_name(au, i);
        if (i == 0) {
            snprintf(dir, sizeof dir, "%s", cfg->data);
        } else if (strncmp(cfg->data, "clickhouse://", 13) == 0) {
            /* database DB_t_TENANT, with '_' and '-' of the name written _5f and _2d so that no
             * two tenants share a database */
            size_t k = (size_t)snprintf(dir, sizeof dir, "%s_t_", cfg->data);
            for (const char *c = name; *c && k + 4 < sizeof dir; c++)
                k += (size_t)(*c == '_' || *c == '-'
                                  ? snprintf(dir + k, sizeof dir - k, "_%02x", (unsigned char)*c)
                                  : snprintf(dir + k, sizeof dir - k, "%c", *c));
        } else {
            snprintf(dir, sizeof dir, "%s/tenants", cfg->data);
            mkdir(cfg->data, 0755);
            mkdir(dir, 0755);
            snprintf(dir, sizeof dir, "%s/tenants/%s", cfg->data, name);
        }
        int rc = store_open(dir, &rt->tenants[i].store, err, errlen);
        if (rc) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            char shown[256];
            store_url_shown(dir, shown, sizeof shown);
            snprintf(err, errlen, "cannot open store %.200s: %s", shown, why);
            return rc;
        }
        const lt_store_ops *ops = rt->tenants[i].store->ops;
        icfg.batch_items = ops->batch_items;
        icfg.linger_ns = (uint64_t)ops->batch_delay_ms * 1000000ull;
        icfg.max_items = ops->batch_max_items;
        if ((rc = ingest_start(&rt->tenants[i].q, rt->tenants[i].store, &icfg))) {
            char shown[256];
            store_url_shown(dir, shown, sizeof shown);
            snprintf(err, errlen, "cannot start the writer of %.200s: %s", shown, lt_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void close_tenants(runtime *rt)
{
    for (size_t i = 0; i < rt->n_tenants; i++) {
        ingest_stop(rt->tenants[i].q); /* commits whatever is still queued */
        store_close(rt->tenants[i].store);
    }
    lt_free(rt->tenants);
}

/* A listener open to other machines without a token is worth a warning, not a refusal:
 * a trusted network or a proxy in front may be the plan. */
static void warn_if_open(const char *addr, const char *flag, bool has_token, const char *tflag)
{
    char host[256];
    uint16_t port;
    if (!addr || has_token || net_parse_addr(addr, host, &port) || is_loopback(host)) return;
    log_warn("--%s %s takes connections from other machines and no %s is set: anyone who can "
             "reach it can %s",
             flag, addr, tflag,
             strcmp(tflag, "--api-token") == 0 ? "read every trace" : "send data");
}

int server_run(const server_config *cfg)
{
    int rc = 0;
    auth *au = NULL;
    genai_prices *builtin = NULL, *prices = NULL;
    runtime rt = {0};
    api_server api = {0};
    bool api_started = false;
    struct event *sigterm = NULL, *sigint = NULL;
    ingest **queues = NULL;
    otlp_http *receiver = NULL;
    char err[512] = "", otlp_shown[300] = "off", http_shown[300] = "", grpc_shown[300] = "off";

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a failed write (EFBIG), not a crash */
    if (evthread_use_pthreads()) {
        fprintf(stderr, "llmtrace serve: libevent has no thread support\n");
        return LT_EIO;
    }
    if ((rc = auth_load(&au, &cfg->auth, err, sizeof err))) {
        fprintf(stderr, "llmtrace serve: %s\n", err);
        goto out;
    }
    if ((rc = genai_prices_load(NULL, NULL, &builtin, err, sizeof err)) ||
        (cfg->prices && (rc = genai_prices_load(cfg->prices, builtin, &prices, err, sizeof err)))) {
        fprintf(stderr, "llmtrace serve: %s\n", err);
        goto out;
    }
    store_set_cache_limit(cfg->max_memory / 8);
    if ((rc = open_tenants(&rt, cfg, au, err, sizeof err))) {
        fprintf(stderr, "llmtrace serve: %s\n", *err ? err : lt_strerror(rc));
        goto out;
    }
    if (!(queues = lt_calloc(rt.n_tenants, sizeof *queues))) {
        rc = LT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < rt.n_tenants; i++)
        queues[i] = rt.tenants[i].q;
    rt.base = event_base_new();
    api.base = event_base_new();
    if (!rt.base || !api.base || !(rt.otlp = evhttp_new(rt.base)) ||
        !(api.http = evhttp_new(api.base))) {
        rc = LT_ENOMEM;
        fprintf(stderr, "llmtrace serve: out of memory\n");
        goto out;
    }
    if (cfg->pipeline) {
        pipelines_env env = {.cfg = cfg->pipeline,
                             .base = rt.base,
                             .stores = queues,
                             .n_tenants = rt.n_tenants,
                             .prices = prices ? prices : builtin};
        if ((rc = pipelines_create(&env, &rt.pipes, err, sizeof err)) ||
            (rc = pipelines_start(rt.pipes, err, sizeof err))) {
            fprintf(stderr, "llmtrace serve: %s\n", err);
            goto out;
        }
    }
    recv_config rcfg = {.base = rt.base,
                        .pipes = rt.pipes,
                        .prices = prices ? prices : builtin,
                        .max_body = cfg->max_body,
                        .max_bytes = held_budget(cfg),
                        .ack_before_commit = cfg->ack_before_commit};
    if (!(rt.recv = recv_new(&rcfg))) {
        rc = LT_ENOMEM;
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
    if (!(receiver = otlp_http_new(rt.otlp, rt.recv, au, queues, cfg->max_body))) {
        rc = LT_ENOMEM;
        goto out;
    }
    rt.receiver = receiver;
    api.auth = au;
    api.tenants = rt.tenants;
    api.pipes = rt.pipes;
    evhttp_set_gencb(api.http, api_request, &api);
    if ((cfg->otlp_http_addr && (rc = bind_http(rt.otlp, "otlp-http", cfg->otlp_http_addr,
                                                otlp_shown, sizeof otlp_shown, &rt.listener))) ||
        (rc = bind_http(api.http, "http", cfg->http_addr, http_shown, sizeof http_shown, NULL)))
        goto out;
    if (cfg->otlp_grpc_addr) {
        char host[256];
        uint16_t port;
        if (net_parse_addr(cfg->otlp_grpc_addr, host, &port)) {
            fprintf(stderr, "llmtrace serve: --otlp-grpc: expected HOST:PORT, got '%s'\n",
                    cfg->otlp_grpc_addr);
            rc = LT_EINVAL;
            goto out;
        }
        if (!(rt.grpc = otlp_grpc_new(rt.base, rt.recv, au, queues, cfg->max_body))) {
            rc = LT_ENOMEM;
            goto out;
        }
        if ((rc = otlp_grpc_listen(rt.grpc, host, port, grpc_shown, sizeof grpc_shown))) {
            fprintf(stderr, "llmtrace serve: cannot listen on %s (--otlp-grpc): %s\n",
                    cfg->otlp_grpc_addr, strerror(errno));
            goto out;
        }
    }
    warn_if_open(cfg->otlp_http_addr, "otlp-http", auth_ingest_required(au), "--ingest-token");
    warn_if_open(cfg->otlp_grpc_addr, "otlp-grpc", auth_ingest_required(au), "--ingest-token");
    warn_if_open(cfg->http_addr, "http", auth_api_required(au), "--api-token");
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
    /* the soft limit leaves room for one check interval's growth (the collector's spike limit) */
    rt.memory_soft_limit = cfg->max_memory / 100 * 80;
    struct timeval every = {0, 10000};
    uint64_t interval_ns;
    size_t configured;
    if (rt.pipes && pipelines_memory_limit(rt.pipes, &configured, &interval_ns)) {
        /* a memory_limiter processor: its soft limit and interval instead of --max-memory's */
        rt.memory_soft_limit = configured;
        every.tv_sec = (time_t)(interval_ns / 1000000000u);
        every.tv_usec = (suseconds_t)(interval_ns % 1000000000u / 1000u);
    }
    if (!MEMORY_LIMITER) {
        log_info("sanitized build: the memory limiter is off");
    } else if (!(rt.memory_timer = event_new(rt.base, -1, EV_PERSIST, check_memory, &rt)) ||
               event_add(rt.memory_timer, &every)) {
        rc = LT_ENOMEM;
        goto out;
    }
    printf("llmtrace listening otlp_http=%s http=%s otlp_grpc=%s\n", otlp_shown, http_shown,
           grpc_shown);
    fflush(stdout);
    char shown[512];
    store_url_shown(cfg->data, shown, sizeof shown);
    log_info("storing in %s (%zu tenant%s); OTLP/HTTP on %s, OTLP/gRPC on %s; API on http://%s%s",
             shown, rt.n_tenants, rt.n_tenants == 1 ? "" : "s", otlp_shown, grpc_shown, http_shown,
             cfg->ack_before_commit ? "; acknowledging before commit (--ack-before-commit)" : "");
    event_base_dispatch(rt.base);
    size_t peak = 0;
    recv_held_bytes(rt.recv, &peak);
    if (rt.pipes) pipelines_log_stats(rt.pipes);
    log_info("stopped cleanly; requests held at most %.1f MiB at once (bound %.1f MiB)",
             (double)peak / 1048576, (double)rcfg.max_bytes / 1048576);
out:
    if (api_started) {
        event_base_loopbreak(api.base);
        pthread_join(api.thread, NULL);
    }
    if (sigterm) event_free(sigterm);
    if (sigint) event_free(sigint);
    if (rt.drain_timer) event_free(rt.drain_timer);
    if (rt.memory_timer) event_free(rt.memory_timer);
    otlp_grpc_free(rt.grpc);
    pipelines_free(rt.pipes); /* its exporters send what they still hold, for a while */
    close_tenants(&rt);
    if (rt.otlp) evhttp_free(rt.otlp);
    otlp_http_free(receiver);
    recv_free(rt.recv);
    if (api.http) evhttp_free(api.http);
    if (rt.base) event_base_free(rt.base);
    if (api.base) event_base_free(api.base);
    lt_free(queues);
    genai_prices_free(prices);
    genai_prices_free(builtin);
    auth_free(au);
    return rc;
}
