/* payload.h — the request body the end-to-end load generators send (bench_ingest.c over
 * OTLP/HTTP, bench_grpc.c over OTLP/gRPC), so that both send the same bytes.
 *
 * A captured ExportTraceServiceRequest is decoded and encoded again (canonical encoding),
 * and every place its trace ids occur is found, so that each request can carry fresh trace
 * ids (the store then sees new traces rather than the same ones again). Benchmark code:
 * exits on failure, never frees. */
#ifndef LT_BENCH_PAYLOAD_H
#define LT_BENCH_PAYLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
