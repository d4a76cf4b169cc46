/* payload.h — what the end-to-end load generators (bench_ingest.c over OTLP/HTTP,
 * bench_grpc.c over OTLP/gRPC) share: the request body, so that both send the same bytes,
 * the loopback connection and the latency percentiles.
 *
 * A captured ExportTraceServiceRequest is decoded and encoded again (canonical encoding),
 * and every place its trace ids occur is found, so that each request can carry fresh trace
 * ids (the store then sees new traces rather than the same ones again). Benchmark code:
 * exits on failure, never frees. */
#ifndef LT_BENCH_PAYLOAD_H
#define LT_BENCH_PAYLOAD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "model/pb.h"

typedef struct {
    uint8_t *body;
    size_t len;
    size_t *offs;    /* offsets of trace-id bytes in body */
    uint32_t *which; /* which distinct trace each offset belongs to */
    size_t n_offs;
    uint32_t n_traces;
    uint64_t spans;
} payload;

enum { PAYLOAD_MAX_TRACES = 4096 };

/* The batch with its resources repeated k times, each copy with trace ids of its own. */
static lt_trace_batch payload_repeat(lt_arena *a, const lt_trace_batch *b, uint32_t k)
{
    lt_trace_batch r = *b;
    r.n_rs = b->n_rs * k;
    r.n_spans = b->n_spans * k;
    r.rs = arena_alloc(a, r.n_rs * sizeof *r.rs);
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t i = 0; i < b->n_rs; i++) {
            lt_resource_spans *rs = &r.rs[c * b->n_rs + i];
            *rs = b->rs[i];
            rs->scopes = arena_alloc(a, rs->n_scopes * sizeof *rs->scopes);
            for (uint32_t s = 0; s < rs->n_scopes; s++) {
                lt_scope_spans *ss = &rs->scopes[s];
                *ss = b->rs[i].scopes[s];
                ss->spans = arena_alloc(a, ss->n_spans * sizeof *ss->spans);
                memcpy(ss->spans, b->rs[i].scopes[s].spans, ss->n_spans * sizeof *ss->spans);
                for (uint32_t j = 0; j < ss->n_spans; j++) {
                    ss->spans[j].trace_id[15] ^= (uint8_t)c;
                    ss->spans[j].trace_id[14] ^= (uint8_t)(c >> 8);
                }
            }
        }
    return r;
}

/* Loads path; with repeat > 1 its resources are sent repeat times in one request, each copy
 * with traces of its own. */
static int payload_load(payload *pl, const char *path, uint32_t repeat)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *raw = malloc((size_t)n);
    if (!raw || fread(raw, 1, (size_t)n, f) != (size_t)n) return -1;
    fclose(f);
    lt_arena *a = arena_new();
    lt_trace_batch b;
    if (pb_decode_traces(a, raw, (size_t)n, &b)) return -1;
    if (repeat > 1) b = payload_repeat(a, &b, repeat);
    lt_buf enc = {0};
    pb_encode_traces(&enc, &b);
    memset(pl, 0, sizeof *pl);
    pl->body = (uint8_t *)enc.data;
    pl->len = enc.len;
    pl->spans = b.n_spans;
    /* distinct trace ids of the request, and every place they occur in the encoding */
    uint8_t(*ids)[16] = calloc(b.n_spans + 1, 16);
    pl->offs = calloc(b.n_spans * 4 + 16, sizeof *pl->offs);
    pl->which = calloc(b.n_spans * 4 + 16, sizeof *pl->which);
    for (uint32_t r = 0; r < b.n_rs; r++)
        for (uint32_t s = 0; s < b.rs[r].n_scopes; s++)
            for (uint32_t k = 0; k < b.rs[r].scopes[s].n_spans; k++) {
                const uint8_t *id = b.rs[r].scopes[s].spans[k].trace_id;
                uint32_t t = 0;
                while (t < pl->n_traces && memcmp(ids[t], id, 16))
                    t++;
                if (t == pl->n_traces) memcpy(ids[pl->n_traces++], id, 16);
            }
    for (uint32_t t = 0; t < pl->n_traces; t++) {
        uint8_t *p = pl->body, *end = pl->body + pl->len;
        while ((p = memmem(p, (size_t)(end - p), ids[t], 16))) {
            if (pl->n_offs < b.n_spans * 4 + 16) {
                pl->offs[pl->n_offs] = (size_t)(p - pl->body);
                pl->which[pl->n_offs++] = t;
            }
            p += 16;
        }
    }
    free(ids);
    free(raw);
    arena_free(a);
    return 0;
}

/* Writes fresh trace ids (from *seed, an LCG) into body, a copy of pl->body; with fresh
 * set, also there (room for PAYLOAD_MAX_TRACES ids). Returns how many ids were written. */
static uint32_t payload_fresh_ids(const payload *pl, uint8_t *body, uint64_t *seed,
                                  uint8_t (*fresh)[16])
{
    static _Thread_local uint8_t own[PAYLOAD_MAX_TRACES][16];
    if (!fresh) fresh = own;
    uint32_t n = pl->n_traces < PAYLOAD_MAX_TRACES ? pl->n_traces : PAYLOAD_MAX_TRACES;
    for (uint32_t t = 0; t < n; t++)
        for (int i = 0; i < 16; i += 8) {
            *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
            memcpy(fresh[t] + i, seed, 8);
        }
    for (size_t k = 0; k < pl->n_offs; k++)
        if (pl->which[k] < n) memcpy(body + pl->offs[k], fresh[pl->which[k]], 16);
    return n;
}

/* A TCP connection to host:port (IPv4, no Nagle), or -1. */
static int payload_connect(const char *host, uint16_t port)
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

static int payload_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts n latencies (ns) for payload_percentile_ms. */
static void payload_sort_ns(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, payload_cmp_u64);
}

/* The p-th quantile (0..1) of n sorted latencies, in ms; 0 when n is 0. */
static double payload_percentile_ms(const uint64_t *v, size_t n, double p)
{
    return n ? (double)v[(size_t)(p * (double)(n - 1) + 0.5)] / 1e6 : 0;
}

#endif
