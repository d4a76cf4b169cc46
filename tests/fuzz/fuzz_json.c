/* fuzz_json.c — libFuzzer target for the OTLP/JSON decoder (otlp/json.c).
 *
 * The input is decoded as an ExportTraceServiceRequest and as an ExportLogsServiceRequest,
 * each from its own copy (decoding unescapes in place). Whatever decodes must survive a
 * round trip: encode to JSON, decode that, encode again; the two JSON texts and the
 * protobuf encodings of both models must be identical. Any difference aborts.
 * Seed corpus: the fixture bodies in ../shared/fixtures/otlp/ (NNNN-*.json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/pb.h"
#include "otlp/json.h"

static char *copy_of(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c) abort();
    if (n) memcpy(c, p, n);
    return c;
}

static bool same(const lt_buf *a, const lt_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void traces(const uint8_t *data, size_t size)
{
    lt_arena *a = arena_new();
    if (!a) abort();
    char *in = copy_of(data, size), *again = NULL;
    lt_trace_batch b1, b2;
    lt_buf j1 = {0}, j2 = {0}, p1 = {0}, p2 = {0};
    if (json_decode_traces(a, in, size, &b1) == 0) {
        if (json_encode_traces(&j1, &b1)) abort();
        again = copy_of(j1.data, j1.len);
        if (json_decode_traces(a, again, j1.len, &b2)) abort();
        if (b2.n_spans != b1.n_spans || b2.rejected) abort();
        if (json_encode_traces(&j2, &b2)) abort();
        if (!same(&j1, &j2)) abort();
        if (pb_encode_traces(&p1, &b1) || pb_encode_traces(&p2, &b2)) abort();
        if (!same(&p1, &p2)) abort();
    }
    buf_free(&j1);
    buf_free(&j2);
    buf_free(&p1);
    buf_free(&p2);
    free(again);
    free(in);
    arena_free(a);
}

static void logs(const uint8_t *data, size_t size)
{
    lt_arena *a = arena_new();
    if (!a) abort();
    char *in = copy_of(data, size), *again = NULL;
    lt_log_batch b1, b2;
    lt_buf j1 = {0}, j2 = {0}, p1 = {0}, p2 = {0};
    if (json_decode_logs(a, in, size, &b1) == 0) {
        if (json_encode_logs(&j1, &b1)) abort();
        again = copy_of(j1.data, j1.len);
        if (json_decode_logs(a, again, j1.len, &b2)) abort();
        if (b2.n_records != b1.n_records) abort();
        if (json_encode_logs(&j2, &b2)) abort();
        if (!same(&j1, &j2)) abort();
        if (pb_encode_logs(&p1, &b1) || pb_encode_logs(&p2, &b2)) abort();
        if (!same(&p1, &p2)) abort();
    }
    buf_free(&j1);
    buf_free(&j2);
    buf_free(&p1);
    buf_free(&p2);
    free(again);
    free(in);
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    traces(data, size);
    logs(data, size);
    return 0;
}
