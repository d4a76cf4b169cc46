/* bench_ingest.c — end-to-end OTLP/HTTP ingest load generator.
 *
 * usage: bench_ingest HOST:PORT FILE.pb CLIENTS SECONDS [--rate REQ_PER_S] [--log FILE]
 *                     [--token TOKEN] [--repeat K]
 *
 * Sends the ExportTraceServiceRequest in FILE.pb (a captured fixture) over CLIENTS
 * keep-alive connections for SECONDS, each request with fresh trace ids (the 16 id bytes
 * are found in the canonical encoding and overwritten per request, so the store sees new
 * traces rather than the same one again; --repeat K sends the fixture's resources K times
 * in one request, each copy with traces of its own). Counts acknowledged requests (200) and refused
 * ones (429/503: retry later), prints spans/s and the latency of acknowledgements.
 *
 * Closed loop by default: each client sends its next request when the last one is
 * answered. With --rate, open loop: request k of the run is due at k/rate seconds, handed
 * to the clients in turn; a client that falls behind sends at once, and latency counts
 * from when a request was due, not when it went out (so a stalled server shows in the
 * figures instead of slowing the load down). --log writes one line per trace sent:
 * "TRACE_ID STATUS" (status -1: no answer). Blocking sockets, one thread per client: the
 * client is simple so the server is what gets measured. Traffic goes to the given
 * loopback address only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "net/net.h"
#include "payload.h"

enum { MAX_CLIENTS = 256, MAX_LAT = 1 << 20 };

static payload pl;
static char host[256];
static uint16_t port;
static uint64_t t_start, deadline;
static double rate;       /* requests per second over all clients; 0 = closed loop */
static const char *token; /* Authorization: Bearer */
static FILE *log_file;    /* trace ids and statuses */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong ok_requests, refused_requests, other_requests, errors, next_due;
static uint64_t *lat; /* acknowledgement latencies, ns */
static atomic_ullong n_lat;

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status code or -1. Bodies are small and length-framed. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, cap - have - 1);
        if (r <= 0) return -1;
        have += (size_t)r;
        buf[have] = 0;
        char *hend = strstr(buf, "\r\n\r\n");
        if (!hend) continue;
        char *cl = strcasestr(buf, "content-length:");
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (have >= (size_t)(hend + 4 - buf) + body) return (int)strtol(buf + 9, NULL, 10);
    }
}

static void log_traces(uint8_t (*ids)[16], uint32_t n, int code)
{
    if (!log_file) return;
    pthread_mutex_lock(&log_mu);
    for (uint32_t t = 0; t < n; t++) {
        char hex[33];
        hex_encode(ids[t], 16, hex);
        fprintf(log_file, "%s %d\n", hex, code);
    }
    pthread_mutex_unlock(&log_mu);
}

static void sleep_until(uint64_t t)
{
    uint64_t now = time_mono_ns();
    if (t <= now) return;
    struct timespec ts = {(time_t)((t - now) / 1000000000u), (long)((t - now) % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void *client(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull ^ time_now_ns();
    uint8_t *body = malloc(pl.len);
    memcpy(body, pl.body, pl.len);
    char head[1024], resp[4096];
    uint8_t(*fresh)[16] = malloc(PAYLOAD_MAX_TRACES * 16);
    int n = snprintf(head, sizeof head,
                     "POST /v1/traces HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: "
                     "application/x-protobuf\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     host, port, token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "", pl.len);
    int fd = payload_connect(host, port);
    if (fd < 0) atomic_fetch_add(&errors, 1);
    while (fd >= 0) {
        uint64_t due = time_mono_ns();
        if (rate > 0) {
            uint64_t k = atomic_fetch_add(&next_due, 1);
            due = t_start + (uint64_t)((double)k / rate * 1e9);
            if (due >= deadline || time_mono_ns() >= deadline) break;
            sleep_until(due);
        } else if (due >= deadline) {
            break;
        }
        uint32_t n_fresh = payload_fresh_ids(&pl, body, &seed, fresh);
        int code = -1;
        if (!write_all(fd, head, (size_t)n) && !write_all(fd, body, pl.len))
            code = read_response(fd, resp, sizeof resp);
        log_traces(fresh, n_fresh, code);
        if (code == 200) {
            atomic_fetch_add(&ok_requests, 1);
            uint64_t i = atomic_fetch_add(&n_lat, 1);
            if (i < MAX_LAT) lat[i] = time_mono_ns() - due;
        } else if (code == 429 || code == 503) {
            atomic_fetch_add(&refused_requests, 1);
        } else if (code > 0) {
            atomic_fetch_add(&other_requests, 1);
        } else {
            atomic_fetch_add(&errors, 1);
            break;
        }
    }
    if (fd >= 0) close(fd);
    free(body);
    free(fresh);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *log_path = NULL;
    uint32_t repeat = 1;
    int npos = 0;
    char *pos[4];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log_path = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            token = argv[++i];
        else if (npos < 4 && strncmp(argv[i], "--", 2) != 0)
            pos[npos++] = argv[i];
        else
            npos = 99;
    }
    if (npos != 4) {
        fprintf(stderr, "usage: bench_ingest HOST:PORT FILE.pb CLIENTS SECONDS [--rate REQ_PER_S] "
                        "[--log FILE] [--token TOKEN] [--repeat K]\n");
        return 2;
    }
    if (log_path && !(log_file = fopen(log_path, "w"))) {
        fprintf(stderr, "bench_ingest: cannot write %s\n", log_path);
        return 1;
    }
    if (!(lat = malloc(MAX_LAT * sizeof *lat))) return 1;
    if (net_parse_addr(pos[0], host, &port)) return 2;
    if (repeat == 0 || repeat > 1000) repeat = 1;
    if (payload_load(&pl, pos[1], repeat)) {
        fprintf(stderr, "bench_ingest: cannot load %s\n", pos[1]);
        return 1;
    }
    uint64_t nclients = 1;
    if (parse_u64(lt_str_c(pos[2]), &nclients) || nclients == 0) nclients = 1;
    int clients = nclients > MAX_CLIENTS ? MAX_CLIENTS : (int)nclients;
    double secs = strtod(pos[3], NULL);
    uint64_t t0 = time_mono_ns();
    t_start = t0;
    deadline = t0 + (uint64_t)(secs * 1e9);
    pthread_t th[MAX_CLIENTS];
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double el = (double)(time_mono_ns() - t0) / 1e9;
    unsigned long long ok = atomic_load(&ok_requests), refused = atomic_load(&refused_requests),
                       other = atomic_load(&other_requests), err = atomic_load(&errors);
    size_t nl = atomic_load(&n_lat);
    if (nl > MAX_LAT) nl = MAX_LAT;
    payload_sort_ns(lat, nl);
    printf("clients=%d requests_ok=%llu requests_refused=%llu requests_other=%llu "
           "connection_errors=%llu spans_per_request=%llu traces_per_request=%u seconds=%.2f "
           "offered_requests_per_s=%.0f spans_per_s=%.0f ack_p50_ms=%.2f ack_p99_ms=%.2f "
           "ack_max_ms=%.2f\n",
           clients, ok, refused, other, err, (unsigned long long)pl.spans, pl.n_traces, el,
           (double)(ok + refused + other) / el, (double)ok * (double)pl.spans / el,
           payload_percentile_ms(lat, nl, 0.50), payload_percentile_ms(lat, nl, 0.99),
           nl ? (double)lat[nl - 1] / 1e6 : 0.0);
    if (log_file) fclose(log_file);
    return ok ? 0 : 1;
}
