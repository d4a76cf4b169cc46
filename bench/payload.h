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

static int payload_load(payload *pl, const char *path)
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

/* Writes fresh trace ids (from *seed, an LCG) into body, a copy of pl->body. */
static void payload_fresh_ids(const payload *pl, uint8_t *body, uint64_t *seed)
{
    uint8_t fresh[64][16];
    for (uint32_t t = 0; t < pl->n_traces && t < 64; t++)
        for (int i = 0; i < 16; i += 8) {
            *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
            memcpy(fresh[t] + i, seed, 8);
        }
    for (size_t k = 0; k < pl->n_offs; k++)
        if (pl->which[k] < 64) memcpy(body + pl->offs[k], fresh[pl->which[k]], 16);
}

#endif
