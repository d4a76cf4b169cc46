/* fuzz_metrics.c — libFuzzer target for the OTLP metrics codecs and their remote write
 * (model/pb_metrics.c, otlp/json_metrics.c, pipeline/promrw.c).
 *
 * Each input is decoded as a protobuf ExportMetricsServiceRequest and, from its own copy
 * (decoding unescapes in place), as the JSON form. A decode may fail only with LT_EINVAL
 * or LT_ETOOBIG. Whatever decodes must survive the round trips: its canonical protobuf
 * decodes again and re-encodes to the same bytes; its canonical JSON decodes again and
 * re-encodes to the same text, and (for a JSON input, whose NaNs carry no payload) to a
 * model with the same protobuf encoding; the point counts hold.
 * Then it is written as remote write (raw and snappy-compressed), whose series count must
 * agree, and whose written and dropped points cannot outnumber what it was given.
 *
 * Seed corpus: the captures in tests/data/metrics/ and the *-metrics.* bodies of
 * ../shared/fixtures/otlp (scripts/test.sh gathers them). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "pipeline/promrw.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_metrics: %s\n", what);
        abort();
    }
}

static void check_rc(int rc, const char *what)
{
    if (rc != 0 && rc != LT_EINVAL && rc != LT_ETOOBIG) {
        fprintf(stderr, "fuzz_metrics: %s returned %s\n", what, lt_strerror(rc));
        abort();
    }
}

static char *copy_of(const void *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    check(c != NULL, "malloc");
    if (n) memcpy(c, p, n);
    return c;
}

static bool same(const lt_buf *a, const lt_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static uint64_t count_points(const lt_metric_batch *b)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < b->n_rm; i++)
        for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rm[i].scopes[j].n_metrics; k++) {
                const lt_metric *m = &b->rm[i].scopes[j].metrics[k];
                check(m->name.len > 0, "a kept metric has a name");
                n += m->n_points;
            }
    return n;
}

/* The round trips and the remote write of a decoded batch b (in arena a). from_json: b
 * was read from JSON, so its NaNs have no payload bits that JSON could not carry. */
static void exercise(lt_arena *a, const lt_metric_batch *b, bool from_json)
{
    lt_buf p1 = {0}, p2 = {0}, j1 = {0}, j2 = {0}, p3 = {0}, rw = {0}, z = {0};
    lt_metric_batch b2, b3;
    char *again = NULL;
    check(count_points(b) == b->n_points, "n_points is the sum of the arrays");
    check((b->rejected == 0) == (b->reject_reason.len == 0), "reject_reason iff rejected");

    check(pb_encode_metrics(&p1, b) == 0, "encode protobuf");
    check(pb_decode_metrics(a, (const uint8_t *)p1.data, p1.len, &b2) == 0,
          "canonical protobuf decodes");
    check(b2.n_points == b->n_points && b2.rejected == 0, "protobuf keeps every point");
    check(pb_encode_metrics(&p2, &b2) == 0, "re-encode protobuf");
    check(same(&p1, &p2), "protobuf encoding is stable");

    check(json_encode_metrics(&j1, b) == 0, "encode JSON");
    again = copy_of(j1.data, j1.len);
    check(json_decode_metrics(a, again, j1.len, &b3) == 0, "canonical JSON decodes");
    check(b3.n_points == b->n_points && b3.rejected == 0, "JSON keeps every point");
    check(json_encode_metrics(&j2, &b3) == 0, "re-encode JSON");
    check(same(&j1, &j2), "JSON encoding is stable");
    check(pb_encode_metrics(&p3, &b3) == 0, "encode the JSON model");
    check(!from_json || same(&p1, &p3), "JSON and protobuf give the same model");

    promrw_metrics_result r1, r2;
    promrw_label ext = {"cluster", "fuzz"};
    promrw_metrics_opts o = {.ns = "ns", .external_labels = &ext, .n_external_labels = 1};
    check(promrw_encode_metrics_raw(&rw, b, &o, &r1) == 0, "remote write");
    check(promrw_encode_metrics(&z, b, &o, &r2) == 0, "remote write, compressed");
    check(r1.series == r2.series && r1.samples == r2.samples && r1.dropped == r2.dropped,
          "compression changes no count");
    check(r1.dropped <= b->n_points, "no more dropped points than points");
    check((r1.dropped == 0) == (r1.drop_reason == NULL), "drop_reason iff dropped");
    check(r1.series <= r1.samples, "every series has a sample");

    buf_free(&p1);
    buf_free(&p2);
    buf_free(&p3);
    buf_free(&j1);
    buf_free(&j2);
    buf_free(&rw);
    buf_free(&z);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_arena *a = arena_new();
    check(a != NULL, "arena_new");
    lt_metric_batch b;
    int rc = pb_decode_metrics(a, data, size, &b);
    check_rc(rc, "pb_decode_metrics");
    if (rc == 0) exercise(a, &b, false);
    arena_reset(a);

    char *in = copy_of(data, size);
    rc = json_decode_metrics(a, in, size, &b);
    check_rc(rc, "json_decode_metrics");
    if (rc == 0) exercise(a, &b, true);
    free(in);
    arena_free(a);
    return 0;
}
