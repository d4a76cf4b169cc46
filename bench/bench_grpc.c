/* bench_grpc.c — end-to-end OTLP/gRPC ingest load generator.
 *
 * usage: bench_grpc HOST:PORT FILE.pb CONNECTIONS SECONDS [STREAMS] [--rate CALLS_PER_S]
 *
 * Sends the ExportTraceServiceRequest in FILE.pb (a captured fixture, the same bytes as
 * bench_ingest sends over OTLP/HTTP, with fresh trace ids per request) as unary calls of
 * opentelemetry.proto.collector.trace.v1.TraceService/Export over CONNECTIONS HTTP/2
 * connections (cleartext, prior knowledge) for SECONDS, keeping STREAMS calls (default 4)
 * in flight on each. A call counts as acknowledged when its trailers say grpc-status 0;
 * prints spans/s and the latency of acknowledgements. With --rate, open loop as
 * bench_ingest: call k is due at k/rate seconds, sent on a connection with a free stream,
 * and its latency counts from when it was due. One thread per connection, a blocking socket and an
 * nghttp2 client session: the client is simple so the server is what gets measured. Traffic goes to
 * the given loopback address only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "net/net.h"
#include "payload.h"

enum { MAX_STREAMS = 64, MAX_LAT = 1 << 20 };

static payload pl;
static char host[256];
static uint16_t port;
static uint64_t t_start, deadline;
static int streams_per_conn = 4;
static double rate; /* calls per second over all connections; 0 = closed loop */
static atomic_ullong ok_calls, refused_calls, failed_calls, next_due;
static uint64_t *lat; /* acknowledgement latencies, ns */
static atomic_ullong n_lat;

typedef struct {
    uint8_t *body; /* 5-byte gRPC prefix + the request */
    size_t len, off;
    int status; /* grpc-status, -1 until known */
    bool busy;
    uint64_t due; /* when the call was due (sent, in closed loop) */
} call;

typedef struct {
    nghttp2_session *h2;
    int fd;
    uint64_t seed;
    call calls[MAX_STREAMS];
    int in_flight;
    uint64_t pending_due; /* open loop: the next call's due time, taken from next_due; 0 = none */
} client;

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                 \
    }

static ssize_t read_body(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
    (void)h2, (void)id, (void)arg;
    call *c = src->ptr;
    size_t n = c->len - c->off;
    if (n > len) n = len;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int submit(client *cl, call *c, uint64_t due)
{
    c->due = due;
    payload_fresh_ids(&pl, c->body + 5, &cl->seed, NULL);
    c->off = 0;
    c->status = -1;
    c->busy = true;
    char authority[300];
    snprintf(authority, sizeof authority, "%s:%u", host, port);
    nghttp2_nv nv[] = {
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":authority", authority),
        NV(":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
        NV("grpc-timeout", "30S"),
    };
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = read_body};
    if (nghttp2_submit_request(cl->h2, NULL, nv, sizeof nv / sizeof *nv, &dp, c) < 0) return -1;
    cl->in_flight++;
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    (void)flags, (void)arg;
    call *c = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (c && namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->status = valuelen && valuelen < 4 ? (int)strtol((const char *)value, NULL, 10) : 2;
    return 0;
}

static int on_close(nghttp2_session *h2, int32_t id, uint32_t error_code, void *arg)
{
    (void)error_code;
    client *cl = arg;
    call *c = nghttp2_session_get_stream_user_data(h2, id);
    if (!c) return 0;
    cl->in_flight--;
    c->busy = false;
    if (c->status == 0) {
        atomic_fetch_add(&ok_calls, 1);
        uint64_t i = atomic_fetch_add(&n_lat, 1);
        if (i < MAX_LAT) lat[i] = time_mono_ns() - c->due;
    } else if (c->status == 8 || c->status == 14)
        atomic_fetch_add(&refused_calls, 1);
    else
        atomic_fetch_add(&failed_calls, 1);
    if (rate == 0 && time_mono_ns() < deadline) submit(cl, c, time_mono_ns());
    return 0;
}

static int flush_out(client *cl)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(cl->h2, &p)) > 0) {
        while (n > 0) {
            ssize_t w = write(cl->fd, p, (size_t)n);
            if (w <= 0) return -1;
            p += w, n -= w;
        }
    }
    return n < 0 ? -1 : 0;
}

static void *run(void *arg)
{
    client cl = {.seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull ^ time_now_ns()};
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_session_client_new(&cl.h2, cbs, &cl);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(cl.h2, NGHTTP2_FLAG_NONE, iv, 1);
    cl.fd = payload_connect(host, port);
    for (int i = 0; i < streams_per_conn; i++) {
        cl.calls[i].len = 5 + pl.len;
        cl.calls[i].body = malloc(cl.calls[i].len);
        cl.calls[i].body[0] = 0;
        cl.calls[i].body[1] = (uint8_t)(pl.len >> 24);
        cl.calls[i].body[2] = (uint8_t)(pl.len >> 16);
        cl.calls[i].body[3] = (uint8_t)(pl.len >> 8);
        cl.calls[i].body[4] = (uint8_t)pl.len;
        memcpy(cl.calls[i].body + 5, pl.body, pl.len);
        if (cl.fd >= 0 && rate == 0) submit(&cl, &cl.calls[i], time_mono_ns());
    }
    uint8_t *in = malloc(1 << 16);
    for (;;) {
        uint64_t now = time_mono_ns();
        int wait_ms = 100;
        if (rate > 0 && now < deadline) {
            /* open loop: send every call that is due on a free stream */
            for (;;) {
                if (!cl.pending_due) {
                    uint64_t k = atomic_fetch_add(&next_due, 1);
                    cl.pending_due = t_start + (uint64_t)((double)k / rate * 1e9);
                }
                if (cl.pending_due > now || cl.pending_due >= deadline) break;
                int free_slot = -1;
                for (int i = 0; i < streams_per_conn && free_slot < 0; i++)
                    if (!cl.calls[i].busy) free_slot = i;
                if (free_slot < 0) break; /* behind: it goes out when a stream frees */
                if (submit(&cl, &cl.calls[free_slot], cl.pending_due)) break;
                cl.pending_due = 0;
            }
            if (cl.pending_due > now) wait_ms = (int)((cl.pending_due - now) / 1000000) + 1;
        } else if (cl.in_flight == 0) {
            break;
        }
        if (cl.fd < 0 || flush_out(&cl)) break;
        struct pollfd pfd = {.fd = cl.fd, .events = POLLIN};
        if (poll(&pfd, 1, wait_ms) <= 0) continue;
        ssize_t r = read(cl.fd, in, 1 << 16);
        if (r <= 0 || nghttp2_session_mem_recv(cl.h2, in, (size_t)r) < 0) break;
    }
    if (cl.fd >= 0) {
        nghttp2_submit_goaway(cl.h2, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
        flush_out(&cl);
        close(cl.fd);
    }
    nghttp2_session_del(cl.h2);
    nghttp2_session_callbacks_del(cbs);
    for (int i = 0; i < streams_per_conn; i++)
        free(cl.calls[i].body);
    free(in);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[argc - 2], "--rate") == 0) {
        rate = strtod(argv[argc - 1], NULL);
        argc -= 2;
    }
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bench_grpc HOST:PORT FILE.pb CONNECTIONS SECONDS [STREAMS] "
                        "[--rate CALLS_PER_S]\n");
        return 2;
    }
    if (!(lat = malloc(MAX_LAT * sizeof *lat))) return 1;
    if (net_parse_addr(argv[1], host, &port)) return 2;
    if (payload_load(&pl, argv[2], 1)) {
        fprintf(stderr, "bench_grpc: cannot load %s\n", argv[2]);
        return 1;
    }
    uint64_t v = 1;
    if (parse_u64(lt_str_c(argv[3]), &v) || v == 0) v = 1;
    int conns = v > 64 ? 64 : (int)v;
    if (argc == 6 && (parse_u64(lt_str_c(argv[5]), &v) || v == 0)) v = 4;
    if (argc == 6) streams_per_conn = v > MAX_STREAMS ? MAX_STREAMS : (int)v;
    double secs = strtod(argv[4], NULL);
    uint64_t t0 = time_mono_ns();
    t_start = t0;
    deadline = t0 + (uint64_t)(secs * 1e9);
    pthread_t th[64];
    for (int i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, run, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    double el = (double)(time_mono_ns() - t0) / 1e9;
    unsigned long long ok = atomic_load(&ok_calls), refused = atomic_load(&refused_calls),
                       bad = atomic_load(&failed_calls);
    size_t nl = atomic_load(&n_lat);
    if (nl > MAX_LAT) nl = MAX_LAT;
    payload_sort_ns(lat, nl);
    printf("connections=%d streams_per_connection=%d calls_ok=%llu calls_refused=%llu "
           "calls_failed=%llu spans_per_request=%llu traces_per_request=%u seconds=%.2f "
           "spans_per_s=%.0f ack_p50_ms=%.2f ack_p99_ms=%.2f ack_max_ms=%.2f\n",
           conns, streams_per_conn, ok, refused, bad, (unsigned long long)pl.spans, pl.n_traces, el,
           (double)ok * (double)pl.spans / el, payload_percentile_ms(lat, nl, 0.5),
           payload_percentile_ms(lat, nl, 0.99), nl ? (double)lat[nl - 1] / 1e6 : 0.0);
    return ok ? 0 : 1;
}
