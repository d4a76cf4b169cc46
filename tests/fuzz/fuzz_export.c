/* fuzz_export.c — libFuzzer target for what the exporters read from outside (export/).
 *
 * The first byte picks the reader, the rest is its input: an OTLP Export*ServiceResponse
 * (partial_success), a google.rpc.Status as grpc-status-details-bin carries it (raw, and
 * base64 as on the wire) with its RetryInfo, a disk queue file's header, a Retry-After
 * value. Each must return 0 or LT_EINVAL, never read out of bounds, and what it returns
 * must lie inside the input (messages) or inside its documented bounds (delays). The last
 * case cuts whatever an export request decodes to into pieces (what batching does to a
 * batch over send_batch_max_size): the pieces must hold every item once, none more than
 * the bound.
 * Seed corpus: the fixture bodies (any bytes do). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "export/export_int.h"
#include "model/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(lt_str s, const uint8_t *p, size_t n)
{
    if (s.len && ((const uint8_t *)s.ptr < p || (const uint8_t *)s.ptr + s.len > p + n)) abort();
}

/* b's signal by sel; the request decoded from p, cut in pieces of 1 to 8 items. */
static void split_pieces(uint8_t sel, const uint8_t *p, size_t n)
{
    static const unsigned signals[] = {SIG_TRACES, SIG_METRICS, SIG_LOGS};
    unsigned signal = signals[sel % 3];
    uint64_t max = (uint64_t)(sel / 3 % 8) + 1;
    lt_arena *a = arena_new();
    if (!a) return;
    union {
        lt_trace_batch t;
        lt_metric_batch m;
        lt_log_batch l;
    } b;
    int rc = signal == SIG_TRACES    ? pb_decode_traces(a, p, n, &b.t)
             : signal == SIG_METRICS ? pb_decode_metrics(a, p, n, &b.m)
                                     : pb_decode_logs(a, p, n, &b.l);
    ex_split sp;
    if (!rc && !split_init(&sp, signal, &b, max)) {
        uint64_t want = signal == SIG_TRACES    ? b.t.n_spans
                        : signal == SIG_METRICS ? b.m.n_points
                                                : b.l.n_records;
        uint64_t k, total = 0;
        for (const void *piece; (piece = split_next(&sp, &k));) {
            if (k == 0 || k > max) abort();
            total += k;
        }
        if (total != want) abort();
        split_free(&sp);
    }
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    const uint64_t hour = 3600ull * 1000000000ull;
    switch (data[0] % 6) {
    case 0: {
        uint64_t rejected;
        lt_str msg;
        int rc = otlp_parse_response(p, n, &rejected, &msg);
        if (rc != 0 && rc != LT_EINVAL) abort();
        if (!rc) inside(msg, p, n);
        break;
    }
    case 1: {
        uint64_t ns;
        lt_str msg;
        int rc = otlp_parse_status(p, n, &ns, &msg);
        if (rc != 0 && rc != LT_EINVAL) abort();
        if (!rc) {
            inside(msg, p, n);
            if (ns > hour + 1000000000ull) abort();
        }
        break;
    }
    case 2: {
        /* the details header as sent: base64 of a Status */
        uint8_t *bin = malloc(n / 4 * 3 + 6);
        if (!bin) abort();
        long m = base64_decode((lt_str){(const char *)p, n}, bin);
        uint64_t ns;
        lt_str msg;
        if (m >= 0) {
            int rc = otlp_parse_status(bin, (size_t)m, &ns, &msg);
            if (rc != 0 && rc != LT_EINVAL) abort();
        }
        free(bin);
        break;
    }
    case 3: {
        unsigned signal;
        uint64_t items, len;
        uint32_t crc;
        int rc = dq_parse_header(p, n, &signal, &items, &len, &crc);
        if (rc != 0 && rc != LT_EINVAL) abort();
        if (!rc && signal != SIG_TRACES && signal != SIG_METRICS && signal != SIG_LOGS) abort();
        break;
    }
    case 4:
        if (ex_retry_after((const char *)p, n) > hour) abort();
        break;
    case 5:
        if (n >= 1) split_pieces(p[0], p + 1, n - 1);
        break;
    }
    return 0;
}
