/* fuzz_gzip.c — libFuzzer target for otlp_gunzip (otlp/otlp.c) and what follows it on
 * the receive path.
 *
 * The input is inflated with a small limit (64 KiB). A failure must leave the output
 * buffer as it was; a success must respect the limit. Whatever inflates is then decoded
 * as protobuf and as JSON, traces and logs, as a receiver would. The buffer may never
 * grow past limit + 1 bytes (the NUL lt_buf keeps): that is the gzip-bomb guarantee.
 * Random bytes rarely survive a CRC-32, so half of the mutations are made on the content:
 * the custom mutator inflates the input, mutates that and gzips it again (the other half
 * mutates the compressed bytes, for the gzip layer itself).
 * Seed corpus: gzip'd fixture bodies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "otlp/otlp.h"

enum { LIMIT = 64 * 1024 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    if (seed % 2) return LLVMFuzzerMutate(data, size, max);
    static uint8_t plain[LIMIT];
    size_t n = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) == Z_OK) {
        z.next_in = data;
        z.avail_in = (uInt)size;
        z.next_out = plain;
        z.avail_out = sizeof plain;
        inflate(&z, Z_FINISH);
        n = sizeof plain - z.avail_out;
        inflateEnd(&z);
    }
    n = LLVMFuzzerMutate(plain, n, sizeof plain);
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return LLVMFuzzerMutate(data, size, max);
    uint8_t *tmp = malloc(max);
    if (!tmp) abort();
    z.next_in = plain;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)max;
    int zr = deflate(&z, Z_FINISH);
    size_t out = max - z.avail_out;
    deflateEnd(&z);
    if (zr == Z_STREAM_END) memcpy(data, tmp, out);
    free(tmp);
    return zr == Z_STREAM_END ? out : LLVMFuzzerMutate(data, size, max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_buf out = {0};
    int rc = otlp_gunzip(data, size, LIMIT, &out);
    if (out.cap > LIMIT + 1) abort();
    if (rc) {
        if (out.len != 0) abort();
        buf_free(&out);
        return 0;
    }
    if (out.len > LIMIT) abort();
    lt_arena *a = arena_new();
    if (!a) abort();
    lt_trace_batch tb;
    lt_log_batch lb;
    (void)pb_decode_traces(a, (const uint8_t *)out.data, out.len, &tb);
    (void)pb_decode_logs(a, (const uint8_t *)out.data, out.len, &lb);
    char *copy = malloc(out.len ? out.len : 1);
    if (!copy) abort();
    if (out.len) memcpy(copy, out.data, out.len);
    (void)otlp_decode_traces(a, OTLP_JSON, (uint8_t *)out.data, out.len, &tb);
    (void)otlp_decode_logs(a, OTLP_JSON, (uint8_t *)copy, out.len, &lb);
    free(copy);
    arena_free(a);
    buf_free(&out);
    return 0;
}
