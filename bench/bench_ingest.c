/* bench_ingest.c — end-to-end OTLP/HTTP ingest load generator.
 *
 * usage: bench_ingest HOST:PORT FILE.pb CLIENTS SECONDS
 *
 * Sends the ExportTraceServiceRequest in FILE.pb (a captured fixture) over CLIENTS
 * keep-alive connections for SECONDS, each request with fresh trace ids (the 16 id bytes
 * are found in the canonical encoding and overwritten per request, so the store sees new
 * traces rather than the same one again). Counts only acknowledged requests (200), and
 * prints spans/s. Blocking sockets, one thread per client: the client is simple so the
 * server is what gets measured. Traffic goes to the given loopback address only. */
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
#include <unistd.h>

#include "core/util.h"
#include "net/net.h"
#include "payload.h"

static payload pl;
static char host[256];
static uint16_t port;
static uint64_t deadline;
static atomic_ullong ok_requests, failed_requests;

static int connect_to(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

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

static void *client(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull ^ time_now_ns();
    uint8_t *body = malloc(pl.len);
    memcpy(body, pl.body, pl.len);
    char head[256], resp[4096];
    int n = snprintf(
        head, sizeof head,
        "POST /v1/traces HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Length: %zu\r\n\r\n",
        host, port, pl.len);
    int fd = connect_to();
    while (fd >= 0 && time_mono_ns() < deadline) {
        payload_fresh_ids(&pl, body, &seed);
        if (write_all(fd, head, (size_t)n) || write_all(fd, body, pl.len)) break;
        int code = read_response(fd, resp, sizeof resp);
        if (code == 200)
            atomic_fetch_add(&ok_requests, 1);
        else if (code > 0)
            atomic_fetch_add(&failed_requests, 1);
        else
            break;
    }
    if (fd >= 0) close(fd);
    free(body);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_ingest HOST:PORT FILE.pb CLIENTS SECONDS\n");
        return 2;
    }
    if (net_parse_addr(argv[1], host, &port)) return 2;
    if (payload_load(&pl, argv[2])) {
        fprintf(stderr, "bench_ingest: cannot load %s\n", argv[2]);
        return 1;
    }
    uint64_t nclients = 1;
    if (parse_u64(lt_str_c(argv[3]), &nclients) || nclients == 0) nclients = 1;
    int clients = nclients > 64 ? 64 : (int)nclients;
    double secs = strtod(argv[4], NULL);
    uint64_t t0 = time_mono_ns();
    deadline = t0 + (uint64_t)(secs * 1e9);
    pthread_t th[64];
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double el = (double)(time_mono_ns() - t0) / 1e9;
    unsigned long long ok = atomic_load(&ok_requests), bad = atomic_load(&failed_requests);
    printf("clients=%d requests_ok=%llu requests_refused=%llu spans_per_request=%llu "
           "traces_per_request=%u seconds=%.2f spans_per_s=%.0f\n",
           clients, ok, bad, (unsigned long long)pl.spans, pl.n_traces, el,
           (double)ok * (double)pl.spans / el);
    return ok ? 0 : 1;
}
