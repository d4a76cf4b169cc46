/* fuzz_pb.c — libFuzzer target for the OTLP protobuf codec (model/pb.h).
 *
 * Each input is decoded as an ExportTraceServiceRequest and as an
 * ExportLogsServiceRequest (and as a lone Span and LogRecord, the store's row form). A
 * decode may fail only with LT_EINVAL or LT_ETOOBIG; when it succeeds, the canonical
 * encoding must decode again and re-encode to the same bytes.
 *
 * Seed it from the captures (do not commit a corpus):
 *   mkdir -p /tmp/pbcorpus && find ../shared/fixtures/otlp \( -name '*.pb' -o -name '*.grpc.bin' \)
 * \ -exec cp {} /tmp/pbcorpus/ \;
 *   ./fuzz_pb -max_total_time=60 /tmp/pbcorpus */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "model/pb.h"

static lt_arena *arena;

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_pb: %s\n", what);
        abort();
    }
}

static void check_rc(int rc, const char *what)
{
    if (rc != 0 && rc != LT_EINVAL && rc != LT_ETOOBIG) {
        fprintf(stderr, "fuzz_pb: %s returned %s\n", what, lt_strerror(rc));
        abort();
    }
}

static void same(const lt_buf *a, const lt_buf *b, const char *what)
{
    check(a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0), what);
}

static void traces(const uint8_t *data, size_t size)
{
    lt_trace_batch b1, b2;
    lt_buf e1 = {0}, e2 = {0};
    arena_reset(arena);
    int rc = pb_decode_traces(arena, data, size, &b1);
    check_rc(rc, "pb_decode_traces");
    if (rc == 0) {
        uint64_t n = 0;
        for (uint32_t i = 0; i < b1.n_rs; i++)
            for (uint32_t j = 0; j < b1.rs[i].n_scopes; j++)
                n += b1.rs[i].scopes[j].n_spans;
        check(n == b1.n_spans, "n_spans is the sum of the arrays");
        check((b1.rejected == 0) == (b1.reject_reason.len == 0), "reject_reason iff rejected");
        check(pb_encode_traces(&e1, &b1) == 0, "encode traces");
        check(pb_decode_traces(arena, (const uint8_t *)e1.data, e1.len, &b2) == 0,
              "canonical traces decode");
        check(b2.n_spans == b1.n_spans && b2.rejected == 0, "canonical traces keep every span");
        check(pb_encode_traces(&e2, &b2) == 0, "re-encode traces");
        same(&e1, &e2, "traces encoding is stable");
    }
    buf_free(&e1);
    buf_free(&e2);
}

static void logs(const uint8_t *data, size_t size)
{
    lt_log_batch b1, b2;
    lt_buf e1 = {0}, e2 = {0};
    arena_reset(arena);
    int rc = pb_decode_logs(arena, data, size, &b1);
    check_rc(rc, "pb_decode_logs");
    if (rc == 0) {
        check(pb_encode_logs(&e1, &b1) == 0, "encode logs");
        check(pb_decode_logs(arena, (const uint8_t *)e1.data, e1.len, &b2) == 0,
              "canonical logs decode");
        check(b2.n_records == b1.n_records, "canonical logs keep every record");
        check(pb_encode_logs(&e2, &b2) == 0, "re-encode logs");
        same(&e1, &e2, "logs encoding is stable");
    }
    buf_free(&e1);
    buf_free(&e2);
}

static void rows(const uint8_t *data, size_t size)
{
    lt_span s1, s2;
    lt_log_record r1, r2;
    lt_buf e1 = {0}, e2 = {0};
    arena_reset(arena);
    int rc = pb_decode_span(arena, data, size, &s1);
    check_rc(rc, "pb_decode_span");
    if (rc == 0) {
        check(pb_encode_span(&e1, &s1) == 0, "encode span");
        check(pb_decode_span(arena, (const uint8_t *)e1.data, e1.len, &s2) == 0,
              "canonical span decode");
        check(pb_encode_span(&e2, &s2) == 0, "re-encode span");
        same(&e1, &e2, "span encoding is stable");
    }
    buf_reset(&e1);
    buf_reset(&e2);
    rc = pb_decode_log_record(arena, data, size, &r1);
    check_rc(rc, "pb_decode_log_record");
    if (rc == 0) {
        check(pb_encode_log_record(&e1, &r1) == 0, "encode log record");
        check(pb_decode_log_record(arena, (const uint8_t *)e1.data, e1.len, &r2) == 0,
              "canonical log record decode");
        check(pb_encode_log_record(&e2, &r2) == 0, "re-encode log record");
        same(&e1, &e2, "log record encoding is stable");
    }
    buf_free(&e1);
    buf_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!arena) {
        arena = arena_new();
        check(arena != NULL, "arena_new");
    }
    traces(data, size);
    logs(data, size);
    rows(data, size);
    return 0;
}
