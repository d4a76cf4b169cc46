/* bench_decode.c — decode-only throughput of the OTLP decoders, one thread.
 *
 * usage: bench_decode [-t SECONDS] FILE...
 *
 * FILE is a captured export request: protobuf (.pb, .grpc.bin: a plain
 * Export*ServiceRequest) or OTLP/JSON (.json). A name containing "logs" is decoded as an
 * ExportLogsServiceRequest, anything else as an ExportTraceServiceRequest. For each file
 * the decoder runs in a loop for about SECONDS (default 2) into one arena that is reset
 * between runs (as the receiver reuses its arenas), and the same bytes are memcpy'd in a
 * loop as a baseline: decoding has to touch every byte once, so "N x slower than memcpy"
 * says how far it is from the memory-bandwidth bound.
 *
 * The JSON decoder unescapes strings in place, so its input is restored by a memcpy before
 * every run; the time of that copy (measured by the baseline) is subtracted.
 *
 * For protobuf trace requests a second loop measures decode + normalize, the first two
 * stages of ingest: every span of the decoded request gets its canonical GenAI view
 * (genai_normalize) in the same arena, as the receiver does before queueing a batch. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "genai/genai.h"
#include "model/pb.h"
#include "otlp/json.h"

typedef struct {
    const char *path;
    uint8_t *data;
    size_t len;
    bool json;
    bool logs;
} input;

/* Keeps the compiler from dropping the copies of the baseline. */
static void clobber(void *p)
{
    __asm__ volatile("" : : "g"(p) : "memory");
}

static int load(const char *path, input *in)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int rc = -1;
    if (fseek(f, 0, SEEK_END) != 0) goto out;
    long n = ftell(f);
    if (n <= 0 || fseek(f, 0, SEEK_SET) != 0) goto out;
    in->data = malloc((size_t)n);
    if (!in->data || fread(in->data, 1, (size_t)n, f) != (size_t)n) goto out;
    in->len = (size_t)n;
    in->path = path;
    size_t pl = strlen(path);
    in->json = pl >= 5 && strcmp(path + pl - 5, ".json") == 0;
    const char *base = strrchr(path, '/');
    in->logs = strstr(base ? base : path, "logs") != NULL;
    rc = 0;
out:
    fclose(f);
    return rc;
}

/* One decode; returns the number of spans (or log records), or a negative error. */
static long decode_once(lt_arena *a, const input *in, uint8_t *work)
{
    int rc;
    arena_reset(a);
    if (in->logs) {
        lt_log_batch b;
        if (in->json) {
            memcpy(work, in->data, in->len);
            rc = json_decode_logs(a, (char *)work, in->len, &b);
        } else {
            rc = pb_decode_logs(a, in->data, in->len, &b);
        }
        return rc ? rc : (long)b.n_records;
    }
    lt_trace_batch b;
    if (in->json) {
        memcpy(work, in->data, in->len);
        rc = json_decode_traces(a, (char *)work, in->len, &b);
    } else {
        rc = pb_decode_traces(a, in->data, in->len, &b);
    }
    return rc ? rc : (long)b.n_spans;
}

/* One protobuf decode, then the GenAI view of every span; returns the number of views
 * (spans with GenAI attributes), or a negative error. */
static long decode_normalize_once(lt_arena *a, const input *in)
{
    arena_reset(a);
    lt_trace_batch b;
    int rc = pb_decode_traces(a, in->data, in->len, &b);
    if (rc) return rc;
    long views = 0;
    for (uint32_t i = 0; i < b.n_rs; i++) {
        lt_resource_spans *rs = &b.rs[i];
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                lt_genai g;
                rc = genai_normalize(&ss->spans[k], &rs->resource, &ss->scope, a, &g);
                if (rc < 0) return rc;
                views += rc;
            }
        }
    }
    return views;
}

/* Runs fn-like loops until `seconds` pass; returns ns per iteration. Checks the clock
 * every `batch` iterations, batch chosen so a check costs nothing measurable. */
static double time_decode(lt_arena *a, const input *in, uint8_t *work, double seconds,
                          bool normalize, uint64_t *iters_out)
{
    uint64_t batch = 1, iters = 0;
    uint64_t t0 = time_mono_ns(), limit = (uint64_t)(seconds * 1e9), t;
    for (;;) {
        for (uint64_t i = 0; i < batch; i++) {
            if (normalize)
                decode_normalize_once(a, in);
            else
                decode_once(a, in, work);
        }
        iters += batch;
        t = time_mono_ns() - t0;
        if (t >= limit) break;
        if (t < 10000000) batch *= 2; /* aim for a clock read every >= 10 ms */
    }
    *iters_out = iters;
    return (double)t / (double)iters;
}

static double time_memcpy(const input *in, uint8_t *work, double seconds)
{
    uint64_t batch = 1, iters = 0;
    uint64_t t0 = time_mono_ns(), limit = (uint64_t)(seconds * 1e9), t;
    for (;;) {
        for (uint64_t i = 0; i < batch; i++) {
            memcpy(work, in->data, in->len);
            clobber(work);
        }
        iters += batch;
        t = time_mono_ns() - t0;
        if (t >= limit) break;
        if (t < 10000000) batch *= 2;
    }
    return (double)t / (double)iters;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        seconds = strtod(argv[2], NULL);
        if (!(seconds > 0)) seconds = 2.0;
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr,
                "usage: %s [-t SECONDS] FILE...   (.pb, .grpc.bin or .json; "
                "names with \"logs\" are log requests)\n",
                argv[0]);
        return 2;
    }
    lt_arena *a = arena_new();
    if (!a) return 1;
    int status = 0;
    for (int i = first; i < argc; i++) {
        input in = {0};
        if (load(argv[i], &in)) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            status = 1;
            continue;
        }
        uint8_t *work = malloc(in.len);
        if (!work) return 1;
        long items = decode_once(a, &in, work);
        if (items < 0) {
            fprintf(stderr, "%s: decode failed: %s\n", in.path, lt_strerror((int)items));
            status = 1;
            free(work);
            free(in.data);
            continue;
        }
        decode_once(a, &in, work); /* warm the arena's block and the caches */
        uint64_t iters;
        double ns_decode = time_decode(a, &in, work, seconds, false, &iters);
        double ns_copy = time_memcpy(&in, work, seconds / 4);
        if (in.json) ns_decode -= ns_copy; /* the restore copy is not decoding */
        const char *what = in.logs ? "records" : "spans";
        double per_s = (double)items * 1e9 / ns_decode;
        double mb_s = (double)in.len * 1e3 / ns_decode; /* bytes/ns * 1e9 / 1e6 */
        double copy_mb_s = (double)in.len * 1e3 / ns_copy;
        printf("%s\n", in.path);
        printf("  %s, %zu bytes, %ld %s per request, %llu decodes in %.1f s%s\n",
               in.json ? "OTLP/JSON" : "protobuf", in.len, items, what, (unsigned long long)iters,
               ns_decode * (double)iters / 1e9, in.json ? " (input restore subtracted)" : "");
        printf("  decode: %.0f %s/s, %.0f ns/%s, %.1f MB/s, arena %zu bytes\n", per_s, what,
               items ? ns_decode / (double)items : 0.0, in.logs ? "record" : "span", mb_s,
               arena_used(a));
        printf("  memcpy: %.1f MB/s -> decode is %.1f x slower than memcpy\n", copy_mb_s,
               ns_decode / ns_copy);
        if (!in.json && !in.logs) {
            long views = decode_normalize_once(a, &in);
            if (views < 0) {
                fprintf(stderr, "%s: normalize failed: %s\n", in.path, lt_strerror((int)views));
                status = 1;
            } else {
                double ns_norm = time_decode(a, &in, work, seconds, true, &iters);
                printf("  decode+normalize: %.0f spans/s, %.0f ns/span (normalize %.0f ns/span), "
                       "%ld GenAI views per request, arena %zu bytes\n",
                       (double)items * 1e9 / ns_norm, items ? ns_norm / (double)items : 0.0,
                       items ? (ns_norm - ns_decode) / (double)items : 0.0, views, arena_used(a));
            }
        }
        fflush(stdout);
        free(work);
        free(in.data);
    }
    arena_free(a);
    return status;
}
