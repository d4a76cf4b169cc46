/* test_promrw.c — the remote write encoding, read back by hand.
 *
 * A snapshot of the captures is encoded, snappy-decompressed and its protobuf decoded by
 * prw_read.h (prompb WriteRequest / TimeSeries / Label / Sample); the series must be
 * exactly the samples of the text exposition of the same snapshot (name, labels, value),
 * with labels sorted, __name__ first, and the snapshot's timestamp. Sending is the
 * prometheusremotewrite exporter's (src/export/, tested against a real Prometheus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <snappy-c.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prw_read.h"
#include "sm_fixtures.h"

#include "pipeline/promrw.h"
#include "pipeline/promtext.h"

typedef struct {
    char *text; /* "name{a=x,b=y} value", labels in wire order */
    int64_t ts;
} wire_series;

/* Decodes a WriteRequest into one canonical line per series; checks the label order. */
static size_t decode_request(const uint8_t *p, size_t n, wire_series **out)
{
    prw_request req;
    prw_read(p, n, &req);
    size_t count = req.n;
    wire_series *v = malloc((count ? count : 1) * sizeof *v);
    for (size_t i = 0; i < count; i++) {
        const prw_series *s = &req.s[i];
        assert_int_equal(s->n_samples, 1);
        assert_string_equal(s->labels[0].name, "__name__"); /* sorts first */
        lt_buf line = {0};
        buf_printf(&line, "%s{", s->labels[0].value);
        for (size_t j = 1; j < s->n_labels; j++)
            buf_printf(&line, "%s%s=%s", j > 1 ? "," : "", s->labels[j].name, s->labels[j].value);
        buf_printf(&line, "} %.17g", s->samples[0].v);
        v[i] = (wire_series){strdup(line.data), s->samples[0].ts};
        buf_free(&line);
    }
    prw_free(&req);
    *out = v;
    return count;
}

/* The text exposition's samples in the same canonical form (labels sorted by name). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t text_samples(const char *text, char ***out)
{
    size_t cap = 64, count = 0;
    char **v = malloc(cap * sizeof *v);
    pt_sample *s = malloc(sizeof *s);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        char line[8192];
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = 0;
        p = nl + 1;
        if (line[0] == '#') continue;
        const char *why;
        if (pt_parse_sample(line, s, &why)) fail_msg("%s: %s", why, line);
        char *names[PT_MAX_LABELS];
        for (int i = 0; i < s->n_labels; i++) {
            names[i] = malloc(1200);
            snprintf(names[i], 1200, "%s=%s", s->lname[i], s->lvalue[i]);
        }
        qsort(names, (size_t)s->n_labels, sizeof *names, cmp_str);
        lt_buf b = {0};
        buf_printf(&b, "%s{", s->name);
        for (int i = 0; i < s->n_labels; i++) {
            buf_printf(&b, "%s%s", i ? "," : "", names[i]);
            free(names[i]);
        }
        buf_printf(&b, "} %.17g", s->value);
        if (count == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[count++] = strdup(b.data);
        buf_free(&b);
    }
    free(s);
    *out = v;
    return count;
}

static void roundtrip(const char *rel, cfg_node *conf, const char *must_have, size_t *checked)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, rel);
    fx_scenario fo;
    folder_load(dir, &fo);
    spanmetrics *sm = sm_make(conf);
    folder_consume(sm, &fo);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);

    lt_buf z = {0}, raw = {0};
    size_t n_series = 0, n_raw = 0;
    assert_int_equal(promrw_encode(&z, &snap, &n_series), 0);
    assert_int_equal(promrw_encode_raw(&raw, &snap, &n_raw), 0);
    assert_int_equal(n_series, n_raw);
    /* snappy block format: decompresses to the protobuf bytes */
    size_t ulen = 0;
    uint8_t *u = prw_unsnappy(&z, &ulen);
    assert_int_equal(ulen, raw.len);
    assert_memory_equal(u, raw.data, ulen);

    wire_series *ws;
    size_t nw = decode_request(u, ulen, &ws);
    assert_int_equal(nw, n_series);

    lt_buf text = {0};
    assert_int_equal(promtext_render(&text, &snap), 0);
    if (must_have && !strstr(text.data, must_have)) fail_msg("%s: no %s", rel, must_have);
    char **ts;
    size_t nt = text_samples(text.data, &ts);
    assert_int_equal(nt, nw);
    char **wl = malloc(nw * sizeof *wl);
    for (size_t i = 0; i < nw; i++) {
        wl[i] = ws[i].text;
        assert_int_equal(ws[i].ts, (int64_t)(snap.time_unix_nano / 1000000));
    }
    qsort(wl, nw, sizeof *wl, cmp_str);
    qsort(ts, nt, sizeof *ts, cmp_str);
    for (size_t i = 0; i < nw; i++)
        if (strcmp(wl[i], ts[i])) fail_msg("%s: wire %s\ntext %s", rel, wl[i], ts[i]);
    print_message("%s: %zu series, %zu bytes protobuf, %zu snappy\n", rel, nw, raw.len, z.len);
    *checked += nw;

    for (size_t i = 0; i < nw; i++)
        free(ws[i].text);
    for (size_t i = 0; i < nt; i++)
        free(ts[i]);
    free(ws);
    free(ts);
    free(wl);
    free(u);
    buf_free(&text);
    buf_free(&z);
    buf_free(&raw);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t checked = 0;
    roundtrip("otel/batch-proto", NULL, "traces_span_metrics_duration_milliseconds_bucket",
              &checked);
    roundtrip("langfuse/streaming", NULL,
              "traces_span_metrics_gen_ai_response_time_to_first_chunk_seconds_bucket", &checked);
    roundtrip("openinference/multi-agent",
              M(2, "namespace", S("gen_ai"), "dimensions",
                L(2, M(1, "name", S("gen_ai.system")), M(1, "name", S("span.name")))),
              "gen_ai_gen_ai_usage_reasoning_output_tokens_total{", &checked);
    roundtrip("otel/errors-proto", M(1, "aggregation_cardinality_limit", S("1")),
              "otel_metric_overflow=\"true\"", &checked);
    assert_true(checked > 200);
    cfg_reset();
}

static void test_empty(void **state)
{
    (void)state;
    spanmetrics *sm = sm_make(NULL);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    assert_int_equal(snap.n_metrics, 0);
    lt_buf z = {0};
    size_t n = 1;
    assert_int_equal(promrw_encode(&z, &snap, &n), 0);
    assert_int_equal(n, 0);
    size_t ulen = 1;
    assert_int_equal(snappy_uncompressed_length(z.data, z.len, &ulen), SNAPPY_OK);
    assert_int_equal(ulen, 0);
    buf_free(&z);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    genai_prices_free(fx_prices);
    return rc;
}
