/* test_metrics.c — OTLP metrics: the model, its protobuf and JSON codecs, and remote write.
 *
 * Real payloads first: tests/data/metrics holds one collection of the official
 * OpenTelemetry JS SDK (capture.mjs: every instrument kind, cumulative and delta), each
 * exported once as protobuf and once as JSON; the shared fixtures hold the metrics that
 * the OpenAI instrumentation sent next to its traces. The protobuf and JSON bodies of one
 * collection must decode to the same model, field by field, holding the values capture.mjs
 * recorded; every body survives encode → decode in both forms; and the remote write of the
 * cumulative collection, read back by prw_read.h, holds the series the collector's
 * prometheusremotewrite exporter writes for it (names, labels, values, timestamps), while
 * the delta collection writes only its gauges and counts the rest as dropped.
 *
 * Then the rules one by one on small hand-written requests (JSON for readability,
 * protobuf bytes where the wire form is the point), hostile input (truncation at every
 * offset, wrong wire types, limits), and allocation failure at every allocation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "model/metrics.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "otlp/otlp.h"
#include "pipeline/promrw.h"
#include "fixture_files.h"
#include "model_eq.h"
#include "prw_read.h"

/* ------------------------------------------------------------------------------------ */
/* Files and decoding                                                                   */
/* ------------------------------------------------------------------------------------ */

#define CAPTURES LT_SOURCE_DIR "/tests/data/metrics"
#define FIXTURES LT_FIXTURES "/otlp"

static uint8_t *file_in(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fx_must_read(path, len);
}

static uint8_t *capture(const char *name, size_t *len)
{
    return file_in(CAPTURES, name, len);
}

/* Decoded requests keep slices of their body: bodies live until the test frees them. */
typedef struct {
    lt_arena *a;
    uint8_t **bodies;
    int n;
} keep;

static void keep_free(keep *k)
{
    for (int i = 0; i < k->n; i++)
        free(k->bodies[i]);
    free(k->bodies);
    arena_free(k->a);
    memset(k, 0, sizeof *k);
}

/* Decodes a copy of data[0..n) (JSON is unescaped in place) in the given format. */
static int decode(keep *k, otlp_format f, const void *data, size_t n, lt_metric_batch *b)
{
    if (!k->a) k->a = arena_new();
    k->bodies = realloc(k->bodies, (size_t)(k->n + 1) * sizeof *k->bodies);
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, data, n);
    k->bodies[k->n++] = copy;
    return otlp_decode_metrics(k->a, f, copy, n, b);
}

static int decode_json(keep *k, const char *json, lt_metric_batch *b)
{
    return decode(k, OTLP_JSON, json, strlen(json), b);
}

/* Decodes dir/name (JSON when it ends in .json), which must succeed. */
static void load(keep *k, const char *dir, const char *name, lt_metric_batch *b)
{
    size_t n;
    uint8_t *d = file_in(dir, name, &n);
    int rc = decode(k, strstr(name, ".json") ? OTLP_JSON : OTLP_PROTOBUF, d, n, b);
    if (rc) fail_msg("%s/%s: %s", dir, name, lt_strerror(rc));
    free(d);
}

/* ------------------------------------------------------------------------------------ */
/* Comparing models field by field                                                      */
/* ------------------------------------------------------------------------------------ */

static void same_str(lt_str a, lt_str b, const char *what)
{
    if (!lt_str_eq(a, b))
        fail_msg("%s: '%.*s' != '%.*s'", what, (int)a.len, a.ptr ? a.ptr : "", (int)b.len,
                 b.ptr ? b.ptr : "");
}

static void same_double(double a, double b, const char *what)
{
    if (memcmp(&a, &b, 8)) fail_msg("%s: %.17g != %.17g", what, a, b);
}

static void same_u64s(const lt_u64s *a, const lt_u64s *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++)
        assert_int_equal(a->items[i], b->items[i]);
}

static void same_doubles(const lt_doubles *a, const lt_doubles *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++)
        same_double(a->items[i], b->items[i], "bound");
}

static void same_point(const lt_metric *m, uint32_t i, const lt_metric *o)
{
    const lt_point_head *ha = model_metric_point(m, i), *hb = model_metric_point(o, i);
    eq_attrs(&ha->attrs, &hb->attrs);
    assert_int_equal(ha->start_time_unix_nano, hb->start_time_unix_nano);
    assert_int_equal(ha->time_unix_nano, hb->time_unix_nano);
    assert_int_equal(ha->flags, hb->flags);
    switch (m->type) {
    case LT_METRIC_GAUGE:
    case LT_METRIC_SUM: {
        const lt_number_point *a = &m->points.number[i], *b = &o->points.number[i];
        assert_int_equal(a->type, b->type);
        if (a->type == LT_NUM_INT) assert_int_equal(a->v.i, b->v.i);
        if (a->type == LT_NUM_DOUBLE) same_double(a->v.d, b->v.d, "number");
        break;
    }
    case LT_METRIC_HISTOGRAM: {
        const lt_histogram_point *a = &m->points.histogram[i], *b = &o->points.histogram[i];
        assert_int_equal(a->count, b->count);
        assert_int_equal(a->has_sum, b->has_sum);
        assert_int_equal(a->has_min, b->has_min);
        assert_int_equal(a->has_max, b->has_max);
        same_double(a->sum, b->sum, "sum");
        same_double(a->min, b->min, "min");
        same_double(a->max, b->max, "max");
        same_u64s(&a->bucket_counts, &b->bucket_counts);
        same_doubles(&a->explicit_bounds, &b->explicit_bounds);
        break;
    }
    case LT_METRIC_EXP_HISTOGRAM: {
        const lt_exp_histogram_point *a = &m->points.exp_histogram[i],
                                     *b = &o->points.exp_histogram[i];
        assert_int_equal(a->count, b->count);
        assert_int_equal(a->has_sum, b->has_sum);
        assert_int_equal(a->has_min, b->has_min);
        assert_int_equal(a->has_max, b->has_max);
        same_double(a->sum, b->sum, "sum");
        same_double(a->min, b->min, "min");
        same_double(a->max, b->max, "max");
        assert_int_equal(a->scale, b->scale);
        assert_int_equal(a->zero_count, b->zero_count);
        same_double(a->zero_threshold, b->zero_threshold, "zero threshold");
        assert_int_equal(a->positive.offset, b->positive.offset);
        same_u64s(&a->positive.counts, &b->positive.counts);
        assert_int_equal(a->negative.offset, b->negative.offset);
        same_u64s(&a->negative.counts, &b->negative.counts);
        break;
    }
    case LT_METRIC_SUMMARY: {
        const lt_summary_point *a = &m->points.summary[i], *b = &o->points.summary[i];
        assert_int_equal(a->count, b->count);
        same_double(a->sum, b->sum, "sum");
        assert_int_equal(a->quantiles.n, b->quantiles.n);
        for (uint32_t q = 0; q < a->quantiles.n; q++) {
            same_double(a->quantiles.items[q].quantile, b->quantiles.items[q].quantile, "quantile");
            same_double(a->quantiles.items[q].value, b->quantiles.items[q].value, "quantile value");
        }
        break;
    }
    default:
        break;
    }
}

static void same_batch(const lt_metric_batch *a, const lt_metric_batch *b)
{
    assert_int_equal(a->n_rm, b->n_rm);
    assert_int_equal(a->n_points, b->n_points);
    assert_int_equal(a->rejected, b->rejected);
    for (uint32_t i = 0; i < a->n_rm; i++) {
        const lt_resource_metrics *ra = &a->rm[i], *rb = &b->rm[i];
        eq_resource(&ra->resource, &rb->resource);
        same_str(ra->schema_url, rb->schema_url, "resource schema_url");
        assert_int_equal(ra->n_scopes, rb->n_scopes);
        for (uint32_t j = 0; j < ra->n_scopes; j++) {
            const lt_scope_metrics *sa = &ra->scopes[j], *sb = &rb->scopes[j];
            eq_scope(&sa->scope, &sb->scope);
            same_str(sa->schema_url, sb->schema_url, "scope schema_url");
            assert_int_equal(sa->n_metrics, sb->n_metrics);
            for (uint32_t k = 0; k < sa->n_metrics; k++) {
                const lt_metric *ma = &sa->metrics[k], *mb = &sb->metrics[k];
                same_str(ma->name, mb->name, "metric name");
                same_str(ma->description, mb->description, "description");
                same_str(ma->unit, mb->unit, "unit");
                assert_int_equal(ma->type, mb->type);
                assert_int_equal(ma->temporality, mb->temporality);
                assert_int_equal(ma->monotonic, mb->monotonic);
                eq_attrs(&ma->metadata, &mb->metadata);
                assert_int_equal(ma->n_points, mb->n_points);
                for (uint32_t p = 0; p < ma->n_points; p++)
                    same_point(ma, p, mb);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Looking things up                                                                    */
/* ------------------------------------------------------------------------------------ */

static const lt_metric *find_metric(const lt_metric_batch *b, const char *name)
{
    for (uint32_t i = 0; i < b->n_rm; i++)
        for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rm[i].scopes[j].n_metrics; k++)
                if (lt_str_eq_c(b->rm[i].scopes[j].metrics[k].name, name))
                    return &b->rm[i].scopes[j].metrics[k];
    fail_msg("no metric %s", name);
    return NULL;
}

/* The index of the point of m whose attribute key has the string value. */
static uint32_t find_point(const lt_metric *m, const char *key, const char *value)
{
    for (uint32_t i = 0; i < m->n_points; i++) {
        const lt_value *v = model_attr_get(&model_metric_point(m, i)->attrs, lt_str_c(key));
        if (v && v->type == LT_VAL_STRING && lt_str_eq_c(v->u.s, value)) return i;
    }
    fail_msg("%.*s: no point with %s=%s", (int)m->name.len, m->name.ptr, key, value);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* The SDK capture: protobuf and JSON, the values recorded                              */
/* ------------------------------------------------------------------------------------ */

static void check_capture_values(const lt_metric_batch *b, uint32_t temporality)
{
    assert_int_equal(b->n_rm, 1);
    assert_int_equal(b->rejected, 0);
    assert_int_equal(b->n_points, 19);
    const lt_resource_metrics *rm = &b->rm[0];
    const lt_value *svc = model_attr_get(&rm->resource.attrs, LT_STR("service.name"));
    assert_non_null(svc);
    same_str(svc->u.s, LT_STR("checkout"), "service.name");
    assert_int_equal(rm->n_scopes, 1);
    same_str(rm->scopes[0].scope.name, LT_STR("capture.app"), "scope");
    same_str(rm->scopes[0].scope.version, LT_STR("1.2.3"), "scope version");
    same_str(rm->scopes[0].schema_url, LT_STR("https://opentelemetry.io/schemas/1.26.0"), "schema");

    /* counter (int): 1 + 2 on the chat route, attributes of each scalar type */
    const lt_metric *m = find_metric(b, "app.requests");
    assert_int_equal(m->type, LT_METRIC_SUM);
    assert_true(m->monotonic);
    assert_int_equal(m->temporality, temporality);
    same_str(m->unit, LT_STR("{request}"), "unit");
    same_str(m->description, LT_STR("Requests handled"), "description");
    const lt_number_point *np = &m->points.number[find_point(m, "http.route", "/v1/chat")];
    assert_int_equal(np->type, LT_NUM_INT);
    assert_int_equal(np->v.i, 3);
    const lt_value *v = model_attr_get(&np->h.attrs, LT_STR("streaming"));
    assert_true(v && v->type == LT_VAL_BOOL && v->u.b);
    np = &m->points.number[find_point(m, "http.route", "/v1/embeddings")];
    assert_int_equal(np->v.i, 2);
    v = model_attr_get(&np->h.attrs, LT_STR("retry.count"));
    assert_true(v && v->type == LT_VAL_INT && v->u.i == 0);
    v = model_attr_get(&np->h.attrs, LT_STR("sample.rate"));
    assert_true(v && v->type == LT_VAL_DOUBLE && v->u.d == 0.5);
    assert_true(np->h.start_time_unix_nano > 0 &&
                np->h.time_unix_nano >= np->h.start_time_unix_nano);

    /* counter (double) */
    m = find_metric(b, "gen_ai.client.cost");
    np = &m->points.number[find_point(m, "gen_ai.request.model", "gpt-4o")];
    assert_int_equal(np->type, LT_NUM_DOUBLE);
    same_double(np->v.d, 0.75, "cost");

    /* up-down counter: not monotonic; 5 - 2 and -4 (delta: the same, one collection) */
    m = find_metric(b, "app.queue.depth");
    assert_int_equal(m->type, LT_METRIC_SUM);
    assert_false(m->monotonic);
    assert_int_equal(m->points.number[find_point(m, "queue", "embeddings")].v.i, 3);
    assert_int_equal(m->points.number[find_point(m, "queue", "retries")].v.i, -4);

    /* histogram with the view's bounds */
    m = find_metric(b, "http.server.request.duration");
    assert_int_equal(m->type, LT_METRIC_HISTOGRAM);
    assert_int_equal(m->temporality, temporality);
    const lt_histogram_point *hp = &m->points.histogram[find_point(m, "http.route", "/v1/chat")];
    static uint64_t counts[] = {1, 0, 2, 0, 0, 1, 0, 1, 1};
    static double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    same_u64s(&hp->bucket_counts, &(lt_u64s){counts, 9});
    same_doubles(&hp->explicit_bounds, &(lt_doubles){bounds, 8});
    assert_int_equal(hp->count, 6);
    assert_true(hp->has_sum && hp->has_min && hp->has_max);
    assert_true(fabs(hp->sum - 4.427) < 1e-9);
    same_double(hp->min, 0.003, "min");
    same_double(hp->max, 3.5, "max");

    /* histogram as an exponential histogram: 0 in the zero bucket, 5 positive values */
    m = find_metric(b, "http.server.request.body.size");
    assert_int_equal(m->type, LT_METRIC_EXP_HISTOGRAM);
    const lt_exp_histogram_point *ep = &m->points.exp_histogram[0];
    assert_int_equal(ep->count, 6);
    assert_int_equal(ep->zero_count, 1);
    uint64_t pos = 0;
    for (uint32_t i = 0; i < ep->positive.counts.n; i++)
        pos += ep->positive.counts.items[i];
    assert_int_equal(pos, 5);
    assert_true(ep->scale > 0 && ep->positive.offset > 0);
    same_double(ep->sum, 0 + 120 + 480 + 480 + 4096 + 65536, "exp sum");

    /* gauges: synchronous and observable */
    m = find_metric(b, "device.temperature");
    assert_int_equal(m->type, LT_METRIC_GAUGE);
    assert_int_equal(m->temporality, 0);
    same_double(m->points.number[find_point(m, "zone", "b")].v.d, -3.25, "temperature");
    m = find_metric(b, "process.memory.usage");
    np = &m->points.number[find_point(m, "memory.type", "heap")];
    assert_int_equal(np->type, LT_NUM_INT);
    assert_int_equal(np->v.i, 73400320);

    /* observable up-down counter with an array attribute */
    m = find_metric(b, "app.connections");
    assert_false(m->monotonic);
    v = model_attr_get(&m->points.number[0].h.attrs, LT_STR("tags"));
    assert_true(v && v->type == LT_VAL_ARRAY && v->u.arr.n == 2);
    same_str(v->u.arr.items[1].u.s, LT_STR("eu"), "tag");
}

static void test_capture_pb_json_same(void **state)
{
    (void)state;
    static const struct {
        const char *pb, *json;
        uint32_t temporality;
    } caps[] = {{"cumulative.pb", "cumulative.json", LT_TEMPORALITY_CUMULATIVE},
                {"delta.pb", "delta.json", LT_TEMPORALITY_DELTA}};
    for (size_t i = 0; i < 2; i++) {
        keep k = {0};
        lt_metric_batch bp, bj;
        load(&k, CAPTURES, caps[i].pb, &bp);
        load(&k, CAPTURES, caps[i].json, &bj);
        check_capture_values(&bp, caps[i].temporality);
        same_batch(&bp, &bj);
        keep_free(&k);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Round trips                                                                          */
/* ------------------------------------------------------------------------------------ */

/* decode(encode(b)) in both forms is b, and the canonical encodings are stable. */
static void roundtrip(const lt_metric_batch *b)
{
    keep k = {0};
    lt_buf e1 = {0}, e2 = {0}, j1 = {0}, j2 = {0};
    lt_metric_batch b2, b3, b4;
    assert_int_equal(pb_encode_metrics(&e1, b), 0);
    assert_int_equal(decode(&k, OTLP_PROTOBUF, e1.data, e1.len, &b2), 0);
    same_batch(b, &b2);
    assert_int_equal(pb_encode_metrics(&e2, &b2), 0);
    assert_int_equal(e1.len, e2.len);
    assert_memory_equal(e1.data, e2.data, e1.len);

    assert_int_equal(json_encode_metrics(&j1, b), 0);
    assert_int_equal(decode(&k, OTLP_JSON, j1.data, j1.len, &b3), 0);
    same_batch(b, &b3);
    assert_int_equal(json_encode_metrics(&j2, &b3), 0);
    assert_string_equal(j1.data, j2.data);
    /* and JSON -> protobuf: the same canonical bytes */
    e2.len = 0;
    assert_int_equal(pb_encode_metrics(&e2, &b3), 0);
    assert_memory_equal(e1.data, e2.data, e1.len);
    assert_int_equal(decode(&k, OTLP_PROTOBUF, e2.data, e2.len, &b4), 0);
    same_batch(b, &b4);
    buf_free(&e1);
    buf_free(&e2);
    buf_free(&j1);
    buf_free(&j2);
    keep_free(&k);
}

static void roundtrip_file(const char *dir, const char *name, size_t *points)
{
    keep k = {0};
    lt_metric_batch b;
    load(&k, dir, name, &b);
    assert_true(b.n_points > 0);
    *points += b.n_points;
    roundtrip(&b);
    keep_free(&k);
}

static void test_roundtrip_captures(void **state)
{
    (void)state;
    size_t points = 0;
    static const char *const names[] = {"cumulative.pb", "cumulative.json", "delta.pb",
                                        "delta.json"};
    for (size_t i = 0; i < 4; i++)
        roundtrip_file(CAPTURES, names[i], &points);
    /* the metrics the OpenAI instrumentation sent with the shared trace fixtures */
    static const char *const fixtures[] = {
        "otel/rag-proto/0003-metrics.pb",          "otel/rag-json/0003-metrics.json",
        "otel/batch-grpc/0004-metrics.grpc.bin",   "otel/streaming-grpc/0009-metrics.grpc.bin",
        "otel/multi-agent-json/0006-metrics.json", "otel/errors-proto/0010-metrics.pb",
    };
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        roundtrip_file(FIXTURES, fixtures[i], &points);
    print_message("round trips: %zu data points\n", points);
}

/* Every type and field set to something other than its default, summary included (the
 * JS SDK makes none), NaN and infinities, negative scale and offset, flags. */
static const char ALL_FIELDS[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"svc\"}}],\"droppedAttributesCount\":2},\"scopeMetrics\":[{\"scope\":"
    "{\"name\":\"s\",\"version\":\"1\",\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":"
    "\"-1\"}}],\"droppedAttributesCount\":1},\"metrics\":["
    "{\"name\":\"g\",\"description\":\"d\",\"unit\":\"ms\",\"gauge\":{\"dataPoints\":["
    "{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"2\",\"asDouble\":\"NaN\",\"flags\":1},"
    "{\"timeUnixNano\":\"3\",\"asDouble\":\"-Infinity\"},{\"timeUnixNano\":\"4\",\"asInt\":"
    "\"-9223372036854775808\"},{\"timeUnixNano\":\"5\",\"asDouble\":-0.0},{}]},"
    "\"metadata\":[{\"key\":\"m\",\"value\":{\"boolValue\":false}}]},"
    "{\"name\":\"c\",\"sum\":{\"dataPoints\":[{\"timeUnixNano\":\"9\",\"asInt\":\"0\"}],"
    "\"aggregationTemporality\":2,\"isMonotonic\":true}},"
    "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"a\",\"value\":"
    "{\"arrayValue\":{\"values\":[{\"bytesValue\":\"AAE=\"},{\"kvlistValue\":{\"values\":[{"
    "\"key\":\"x\",\"value\":{\"doubleValue\":1.5}}]}}]}}}],\"timeUnixNano\":\"7\",\"count\":"
    "\"18446744073709551615\",\"sum\":0,\"bucketCounts\":[\"1\",\"2\",\"3\"],"
    "\"explicitBounds\":[-1e300,1e-300],\"min\":0,\"max\":\"Infinity\",\"flags\":4}],"
    "\"aggregationTemporality\":1}},"
    "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"timeUnixNano\":\"8\","
    "\"count\":\"7\",\"scale\":-3,\"zeroCount\":\"1\",\"zeroThreshold\":1e-9,\"positive\":{"
    "\"offset\":-5,\"bucketCounts\":[\"0\",\"18446744073709551615\"]},\"negative\":{"
    "\"bucketCounts\":[\"2\"]},\"min\":-2,\"max\":3}],\"aggregationTemporality\":2}},"
    "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"6\",\"count\":\"4\","
    "\"sum\":10.5,\"quantileValues\":[{\"quantile\":0,\"value\":1},{\"quantile\":0.5,"
    "\"value\":2.5},{\"quantile\":1,\"value\":4}]}]}},"
    "{\"name\":\"empty\",\"gauge\":{}},{\"name\":\"none\"}"
    "],\"schemaUrl\":\"u1\"}],\"schemaUrl\":\"u2\"}]}";

static void test_roundtrip_all_fields(void **state)
{
    (void)state;
    keep k = {0};
    lt_metric_batch b;
    assert_int_equal(decode_json(&k, ALL_FIELDS, &b), 0);
    assert_int_equal(b.n_points, 5 + 1 + 1 + 1 + 1);
    const lt_metric *g = find_metric(&b, "g");
    assert_true(isnan(g->points.number[0].v.d));
    assert_int_equal(g->points.number[0].h.flags, LT_POINT_NO_RECORDED_VALUE);
    assert_int_equal(g->points.number[2].v.i, INT64_MIN);
    assert_true(signbit(g->points.number[3].v.d));
    assert_int_equal(g->points.number[4].type, LT_NUM_NONE);
    const lt_metric *h = find_metric(&b, "h");
    assert_true(h->points.histogram[0].has_sum && h->points.histogram[0].sum == 0);
    assert_int_equal(h->points.histogram[0].count, UINT64_MAX);
    const lt_metric *e = find_metric(&b, "e");
    assert_int_equal(e->points.exp_histogram[0].scale, -3);
    assert_int_equal(e->points.exp_histogram[0].positive.offset, -5);
    assert_int_equal(e->points.exp_histogram[0].positive.counts.items[1], UINT64_MAX);
    assert_int_equal(find_metric(&b, "q")->points.summary[0].quantiles.n, 3);
    assert_int_equal(find_metric(&b, "empty")->type, LT_METRIC_GAUGE);
    assert_int_equal(find_metric(&b, "none")->type, LT_METRIC_NONE);
    roundtrip(&b);
    keep_free(&k);
}

/* ------------------------------------------------------------------------------------ */
/* Remote write of the capture                                                          */
/* ------------------------------------------------------------------------------------ */

/* "name{a=\"x\",b=\"y\"}" of a series, labels in wire order (sorted), __name__ first. */
static char *series_text(const prw_series *s)
{
    lt_buf t = {0};
    const char *name = prw_label_get(s, "__name__");
    assert_non_null(name);
    buf_printf(&t, "%s{", name);
    bool first = true;
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!strcmp(s->labels[i].name, "__name__")) continue;
        assert_true(s->labels[i].value[0] != 0); /* no empty value */
        buf_printf(&t, "%s%s=\"%s\"", first ? "" : ",", s->labels[i].name, s->labels[i].value);
        first = false;
    }
    buf_putc(&t, '}');
    return t.data;
}

static const prw_series *find_series(const prw_request *r, const char *text)
{
    for (size_t i = 0; i < r->n; i++) {
        char *t = series_text(&r->s[i]);
        bool eq = !strcmp(t, text);
        free(t);
        if (eq) return &r->s[i];
    }
    lt_buf all = {0};
    for (size_t i = 0; i < r->n && i < 200; i++) {
        char *t = series_text(&r->s[i]);
        buf_printf(&all, "  %s\n", t);
        free(t);
    }
    fail_msg("no series %s; there are:\n%s", text, all.data ? all.data : "");
    return NULL;
}

/* Asserts one series with exactly these labels and one sample of value v at ts. */
static void expect(const prw_request *r, const char *text, double v, int64_t ts)
{
    const prw_series *s = find_series(r, text);
    assert_int_equal(s->n_samples, 1);
    if (s->samples[0].v != v) fail_msg("%s: %.17g, want %.17g", text, s->samples[0].v, v);
    assert_int_equal(s->samples[0].ts, ts);
}

static void encode_read(const lt_metric_batch *b, const promrw_metrics_opts *o,
                        promrw_metrics_result *res, prw_request *req)
{
    lt_buf z = {0}, raw = {0};
    promrw_metrics_result r2;
    assert_int_equal(promrw_encode_metrics(&z, b, o, res), 0);
    assert_int_equal(promrw_encode_metrics_raw(&raw, b, o, &r2), 0);
    assert_int_equal(res->series, r2.series);
    size_t n;
    uint8_t *u = prw_unsnappy(&z, &n);
    assert_int_equal(n, raw.len);
    assert_memory_equal(u, raw.data, n);
    prw_read(u, n, req);
    assert_int_equal(req->n, res->series);
    size_t samples = 0;
    for (size_t i = 0; i < req->n; i++)
        samples += req->s[i].n_samples;
    assert_int_equal(samples, res->samples);
    free(u);
    buf_free(&z);
    buf_free(&raw);
}

/* Loads dir/name and writes it as remote write with default options, read back. */
static void load_rw(keep *k, const char *dir, const char *name, lt_metric_batch *b,
                    promrw_metrics_result *res, prw_request *r)
{
    load(k, dir, name, b);
    encode_read(b, NULL, res, r);
}

#define JI "instance=\"checkout-7f9c\",job=\"shop/checkout\""

static void test_promrw_capture(void **state)
{
    (void)state;
    keep k = {0};
    lt_metric_batch b;
    load(&k, CAPTURES, "cumulative.pb", &b);
    /* every point of the capture has the same time: the collection's */
    uint64_t t = b.rm[0].scopes[0].metrics[0].points.histogram[0].h.time_unix_nano;
    size_t want_series = 1; /* target_info */
    for (uint32_t i = 0; i < b.rm[0].scopes[0].n_metrics; i++) {
        const lt_metric *m = &b.rm[0].scopes[0].metrics[i];
        for (uint32_t p = 0; p < m->n_points; p++) {
            assert_int_equal(model_metric_point(m, p)->time_unix_nano, t);
            if (m->type == LT_METRIC_HISTOGRAM)
                want_series += 1 + m->points.histogram[p].has_sum +
                               m->points.histogram[p].explicit_bounds.n + 1;
            else if (m->type != LT_METRIC_EXP_HISTOGRAM)
                want_series++;
        }
    }
    int64_t ts = (int64_t)(t / 1000000);

    promrw_metrics_result res;
    prw_request r;
    encode_read(&b, NULL, &res, &r);
    assert_int_equal(res.series, want_series);
    assert_int_equal(res.samples, want_series);
    /* the exponential histogram is the one point not written */
    assert_int_equal(res.dropped, 1);
    assert_non_null(strstr(res.drop_reason, "exponential"));

    /* counters: NAME_total, attributes as labels, job and instance from the resource */
    expect(&r,
           "app_requests_total{gen_ai_request_model=\"gpt-4o-mini\",http_route=\"/v1/chat\"," JI
           ",streaming=\"true\"}",
           3, ts);
    expect(&r,
           "app_requests_total{http_route=\"/v1/embeddings\"," JI
           ",retry_count=\"0\",sample_rate=\"0.5\"}",
           2, ts);
    /* a unit the translator does not know is a word of its own */
    expect(&r, "gen_ai_client_cost_USD_total{gen_ai_request_model=\"gpt-4o\"," JI "}", 0.75, ts);
    expect(&r, "process_cpu_time_seconds_total{cpu_mode=\"user\"," JI "}", 12.5, ts);
    /* up-down counters are gauges: no _total; the array attribute as JSON */
    expect(&r, "app_queue_depth{" JI ",queue=\"embeddings\"}", 3, ts);
    expect(&r, "app_queue_depth{" JI ",queue=\"retries\"}", -4, ts);
    expect(&r, "app_connections{" JI ",pool=\"db\",tags=\"[\"primary\",\"eu\"]\"}", 42, ts);
    /* gauges, with the unit as a word, _ratio for unit 1 */
    expect(&r, "device_temperature_celsius{" JI ",zone=\"a\"}", 21.5, ts);
    expect(&r, "device_temperature_celsius{" JI ",zone=\"b\"}", -3.25, ts);
    expect(&r, "cache_hit_ratio{cache=\"prompt\"," JI "}", 0.875, ts);
    expect(&r, "process_memory_usage_bytes{" JI ",memory_type=\"heap\"}", 73400320, ts);
    expect(&r, "process_memory_usage_bytes{" JI ",memory_type=\"stack\"}", 1048576, ts);
    /* histogram: cumulative buckets with le as the collector formats it, _sum, _count */
    const lt_metric *dur = find_metric(&b, "http.server.request.duration");
    double sum = dur->points.histogram[find_point(dur, "http.route", "/v1/chat")].sum;
    static const struct {
        const char *le;
        double count;
    } buckets[] = {{"0.005", 1}, {"0.01", 1}, {"0.025", 3}, {"0.05", 3}, {"0.1", 3},
                   {"0.25", 4},  {"0.5", 4},  {"1", 5},     {"+Inf", 6}};
    for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "http_server_request_duration_seconds_bucket{http_route=\"/v1/chat\"," JI
                 ",le=\"%s\"}",
                 buckets[i].le);
        expect(&r, text, buckets[i].count, ts);
    }
    expect(&r, "http_server_request_duration_seconds_sum{http_route=\"/v1/chat\"," JI "}", sum, ts);
    expect(&r, "http_server_request_duration_seconds_count{http_route=\"/v1/chat\"," JI "}", 6, ts);
    expect(&r,
           "http_server_request_duration_seconds_bucket{http_route=\"/v1/embeddings\"," JI
           ",le=\"0.05\"}",
           1, ts);
    /* a curly unit adds nothing; the SDK's default bounds */
    expect(&r, "gen_ai_client_token_usage_bucket{gen_ai_token_type=\"input\"," JI ",le=\"25\"}", 0,
           ts);
    expect(&r, "gen_ai_client_token_usage_bucket{gen_ai_token_type=\"input\"," JI ",le=\"50\"}", 1,
           ts);
    expect(&r, "gen_ai_client_token_usage_bucket{gen_ai_token_type=\"input\"," JI ",le=\"2500\"}",
           2, ts);
    expect(&r, "gen_ai_client_token_usage_sum{gen_ai_token_type=\"input\"," JI "}", 1231, ts);
    expect(&r, "gen_ai_client_token_usage_count{gen_ai_token_type=\"output\"," JI "}", 1, ts);
    /* the other resource attributes, once, in target_info */
    expect(&r,
           "target_info{deployment_environment_name=\"capture\",host_arch=\"amd64\"," JI
           ",service_version=\"2.4.1\"}",
           1, ts);
    for (size_t i = 0; i < r.n; i++) {
        assert_null(prw_label_get(&r.s[i], "service_name"));
        if (strcmp(prw_label_get(&r.s[i], "__name__"), "target_info"))
            assert_null(prw_label_get(&r.s[i], "host_arch"));
    }
    prw_free(&r);

    /* the namespace option and external labels; target_info off */
    promrw_label ext[] = {{"cluster", "eu-1"}, {"job", "not-this"}};
    promrw_metrics_opts o = {
        .ns = "llm", .external_labels = ext, .n_external_labels = 2, .no_target_info = true};
    encode_read(&b, &o, &res, &r);
    assert_int_equal(res.series, want_series - 1);
    expect(&r, "llm_cache_hit_ratio{cache=\"prompt\",cluster=\"eu-1\"," JI "}", 0.875, ts);
    prw_free(&r);
    keep_free(&k);
}

static void test_promrw_delta_dropped(void **state)
{
    (void)state;
    keep k = {0};
    lt_metric_batch b;
    promrw_metrics_result res;
    prw_request r;
    load_rw(&k, CAPTURES, "delta.pb", &b, &res, &r);
    /* only the gauges (5 points) and target_info; every sum and histogram point dropped */
    assert_int_equal(res.series, 6);
    assert_int_equal(res.dropped, b.n_points - 5);
    assert_non_null(strstr(res.drop_reason, "delta"));
    for (size_t i = 0; i < r.n; i++) {
        const char *name = prw_label_get(&r.s[i], "__name__");
        assert_null(strstr(name, "_total"));
        assert_null(strstr(name, "_bucket"));
    }
    prw_free(&r);
    keep_free(&k);
}

/* The remote write of every shared fixture's metrics: histograms of seconds and tokens. */
static void test_promrw_fixtures(void **state)
{
    (void)state;
    keep k = {0};
    lt_metric_batch b;
    promrw_metrics_result res;
    prw_request r;
    load_rw(&k, FIXTURES, "otel/rag-proto/0003-metrics.pb", &b, &res, &r);
    assert_int_equal(res.dropped, 0);
    const lt_metric *m = find_metric(&b, "gen_ai.client.token.usage");
    size_t checked = 0;
    for (uint32_t p = 0; p < m->n_points; p++) {
        const lt_histogram_point *hp = &m->points.histogram[p];
        /* the +Inf bucket of each point holds its count */
        for (size_t i = 0; i < r.n; i++) {
            const prw_series *s = &r.s[i];
            const char *le = prw_label_get(s, "le");
            const char *type = prw_label_get(s, "gen_ai_token_type");
            const char *model = prw_label_get(s, "gen_ai_response_model");
            const lt_value *tv = model_attr_get(&hp->h.attrs, LT_STR("gen_ai.token.type"));
            const lt_value *mv = model_attr_get(&hp->h.attrs, LT_STR("gen_ai.response.model"));
            if (!le || strcmp(le, "+Inf") || !type || !model || !tv || !mv) continue;
            if (!lt_str_eq_c(tv->u.s, type) || !lt_str_eq_c(mv->u.s, model)) continue;
            assert_string_equal(prw_label_get(s, "__name__"), "gen_ai_client_token_usage_bucket");
            assert_string_equal(prw_label_get(s, "job"), "fixture-otel");
            assert_string_equal(prw_label_get(s, "server_port"), "18089");
            assert_true(s->samples[0].v == (double)hp->count);
            checked++;
        }
    }
    assert_int_equal(checked, m->n_points);
    prw_free(&r);
    keep_free(&k);
}

/* ------------------------------------------------------------------------------------ */
/* Remote write rules, on small requests                                                */
/* ------------------------------------------------------------------------------------ */

/* A request of one resource with the given attributes JSON and metrics JSON. */
static char *request(const char *resource_attrs, const char *metrics)
{
    lt_buf b = {0};
    buf_printf(&b,
               "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[%s]},\"scopeMetrics\":[{"
               "\"metrics\":[%s]}]}]}",
               resource_attrs, metrics);
    return b.data;
}

#define STR(s) "{\"stringValue\":\"" s "\"}"
#define SVC "{\"key\":\"service.name\",\"value\":" STR("api") "}"

static void rw(const char *res_attrs, const char *metrics, const promrw_metrics_opts *o,
               promrw_metrics_result *res, prw_request *r)
{
    keep k = {0};
    char *json = request(res_attrs, metrics);
    lt_metric_batch b;
    int rc = decode_json(&k, json, &b);
    if (rc) fail_msg("%s: %s", json, lt_strerror(rc));
    encode_read(&b, o, res, r);
    free(json);
    keep_free(&k);
}

/* A KeyValue list in OTLP/JSON from pairs of key and AnyValue JSON (free the result). */
static char *kvs(const char *const (*kv)[2], size_t n)
{
    lt_buf b = {0};
    buf_putc(&b, 0); /* an empty list is "" */
    b.len = 0;
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s{\"key\":\"%s\",\"value\":%s}", i ? "," : "", kv[i][0], kv[i][1]);
    return b.data;
}

/* A gauge "g" with one point per time (ms, value = its index + 1) and the attributes of
 * the first point. */
static char *gauge(const char *const (*kv)[2], size_t n, const int *ms, size_t points)
{
    char *attrs = kvs(kv, n);
    lt_buf b = {0};
    buf_append_c(&b, "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[");
    for (size_t i = 0; i < points; i++)
        buf_printf(&b, "%s{\"timeUnixNano\":\"%d000000\",\"asInt\":\"%zu\",\"attributes\":[%s]}",
                   i ? "," : "", ms[i], i + 1, i ? "" : attrs);
    buf_append_c(&b, "]}}");
    free(attrs);
    return b.data;
}

#define N(a) (sizeof(a) / sizeof(a)[0])

static void test_promrw_labels(void **state)
{
    (void)state;
    promrw_metrics_result res;
    prw_request r;
    /* attributes Prometheus names alike merge in the order of their keys, a repeated value
     * once; an empty value is no label; le and __name__ attributes give way */
    static const char *const merged[][2] = {
        {"a_b", STR("2")},
        {"a.b", STR("1")},
        {"a-b", STR("1")},
        {"empty", STR("")},
        {"__name__", STR("x")},
        {"9lives", "{\"intValue\":\"-5\"}"},
        {"r\xc3\xa9gion", STR("eu")},
        {"service.name", STR("attr")},
    };
    static const int t5[] = {5}, t79[] = {7, 9}, t1[] = {1};
    char *m = gauge(merged, N(merged), t5, 1);
    rw(SVC, m, NULL, &res, &r);
    free(m);
    assert_int_equal(r.n, 1); /* no target_info: the resource has no other attribute */
    expect(&r, "g{a_b=\"1;2\",job=\"api\",key_9lives=\"-5\",r_gion=\"eu\",service_name=\"attr\"}",
           1, 5);
    prw_free(&r);

    /* job = namespace/name, instance; target_info with the rest; external labels only where
     * nothing else took the name */
    static const char *const resource[][2] = {
        {"service.name", STR("api")},        {"service.namespace", STR("shop")},
        {"service.instance.id", STR("i-1")}, {"host.name", STR("h")},
        {"cores", "{\"intValue\":\"8\"}"},
    };
    static const char *const kv[][2] = {{"k", STR("v")}};
    promrw_label ext[] = {{"env", "prod"}, {"k", "ext"}, {"instance", "ext"}};
    promrw_metrics_opts o = {.external_labels = ext, .n_external_labels = 3};
    char *res_attrs = kvs(resource, N(resource));
    m = gauge(kv, 1, t79, 2);
    rw(res_attrs, m, &o, &res, &r);
    free(m);
    free(res_attrs);
    expect(&r, "g{env=\"prod\",instance=\"i-1\",job=\"shop/api\",k=\"v\"}", 1, 7);
    expect(&r, "g{env=\"prod\",instance=\"i-1\",job=\"shop/api\",k=\"ext\"}", 2, 9);
    expect(&r,
           "target_info{cores=\"8\",env=\"prod\",host_name=\"h\",instance=\"i-1\",job=\"shop/"
           "api\",k=\"ext\"}",
           1, 9);
    prw_free(&r);

    /* attribute values as text: doubles as Go writes them for OTel, bytes, maps */
    static const char *const values[][2] = {
        {"a", "{\"doubleValue\":1e-7}"},
        {"b", "{\"doubleValue\":1e21}"},
        {"c", "{\"doubleValue\":100}"},
        {"d", "{\"doubleValue\":0.000001}"},
        {"e", "{\"bytesValue\":\"AP8=\"}"},
        {"f", "{\"boolValue\":false}"},
        {"g", "{\"kvlistValue\":{\"values\":[{\"key\":\"x\",\"value\":" STR("y") "}]}}"},
    };
    m = gauge(values, N(values), t1, 1);
    rw("", m, NULL, &res, &r);
    free(m);
    expect(&r,
           "g{a=\"1e-7\",b=\"1e+21\",c=\"100\",d=\"0.000001\",e=\"AP8=\",f=\"false\",g=\"{"
           "\"x\":\"y\"}\"}",
           1, 1);
    prw_free(&r);
}

static void test_promrw_values(void **state)
{
    (void)state;
    promrw_metrics_result res;
    prw_request r;
    /* NaN becomes Prometheus's NaN, no recorded value its stale marker, infinities stay;
     * the samples of one label set are one series in time order, the later of two at the
     * same time kept */
    rw(SVC,
       "{\"name\":\"v\",\"gauge\":{\"dataPoints\":["
       "{\"timeUnixNano\":\"3000000\",\"asDouble\":\"NaN\"},"
       "{\"timeUnixNano\":\"1000000\",\"asDouble\":\"Infinity\"},"
       "{\"timeUnixNano\":\"2000000\",\"asDouble\":1,\"flags\":1},"
       "{\"timeUnixNano\":\"4000000\",\"asDouble\":5},"
       "{\"timeUnixNano\":\"4000000\",\"asDouble\":6},"
       "{\"timeUnixNano\":\"0\",\"asDouble\":7}]}}",
       NULL, &res, &r);
    assert_int_equal(r.n, 1);
    const prw_series *s = &r.s[0];
    assert_int_equal(s->n_samples, 4);
    assert_int_equal(s->samples[0].ts, 1);
    assert_true(isinf(s->samples[0].v) && s->samples[0].v > 0);
    assert_int_equal(s->samples[1].ts, 2);
    assert_int_equal(s->samples[1].bits, 0x7ff0000000000002ull);
    assert_int_equal(s->samples[2].ts, 3);
    assert_int_equal(s->samples[2].bits, 0x7ff8000000000001ull);
    assert_int_equal(s->samples[3].ts, 4);
    assert_true(s->samples[3].v == 6);
    assert_int_equal(res.dropped, 1); /* the point without a time */
    assert_non_null(strstr(res.drop_reason, "time"));
    prw_free(&r);

    /* summary: quantiles, _sum, _count; le and quantile as Go's 'f' format; a histogram
     * without sum has no _sum; more bounds than counts: the bounds with a count */
    rw(SVC,
       "{\"name\":\"rpc.latency\",\"unit\":\"ms\",\"summary\":{\"dataPoints\":[{"
       "\"timeUnixNano\":\"1000000\",\"count\":\"10\",\"sum\":55.5,\"quantileValues\":["
       "{\"quantile\":0.5,\"value\":4},{\"quantile\":0.99,\"value\":9.5},{\"quantile\":1e-9,"
       "\"value\":1}]}]}},"
       "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{"
       "\"timeUnixNano\":\"1000000\",\"count\":\"4\",\"bucketCounts\":[\"1\",\"2\"],"
       "\"explicitBounds\":[1e21,2e21,3e21],\"flags\":1}]}}",
       NULL, &res, &r);
    expect(&r, "rpc_latency_milliseconds{job=\"api\",quantile=\"0.5\"}", 4, 1);
    expect(&r, "rpc_latency_milliseconds{job=\"api\",quantile=\"0.99\"}", 9.5, 1);
    expect(&r, "rpc_latency_milliseconds{job=\"api\",quantile=\"0.000000001\"}", 1, 1);
    expect(&r, "rpc_latency_milliseconds_sum{job=\"api\"}", 55.5, 1);
    expect(&r, "rpc_latency_milliseconds_count{job=\"api\"}", 10, 1);
    const prw_series *b = find_series(&r, "h_bucket{job=\"api\",le=\"1000000000000000000000\"}");
    assert_int_equal(b->samples[0].bits, 0x7ff0000000000002ull); /* stale: every sample */
    find_series(&r, "h_bucket{job=\"api\",le=\"2000000000000000000000\"}");
    find_series(&r, "h_bucket{job=\"api\",le=\"+Inf\"}");
    find_series(&r, "h_count{job=\"api\"}");
    assert_int_equal(r.n, 5 + 4);
    prw_free(&r);
}

static void test_promrw_dropped_and_names(void **state)
{
    (void)state;
    promrw_metrics_result res;
    prw_request r;
    /* names: per-units, a suffix word moved last, a leading digit; dropped: delta,
     * unspecified temporality, exponential histograms, a name without a word */
    rw(SVC,
       "{\"name\":\"net.io\",\"unit\":\"By/s\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":"
       "\"1000000\",\"asInt\":\"1\"}]}},"
       "{\"name\":\"requests.total.count\",\"unit\":\"{req}\",\"sum\":{\"isMonotonic\":true,"
       "\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"1000000\",\"asInt\":"
       "\"2\"}]}},"
       "{\"name\":\"5xx\",\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,\"dataPoints\":"
       "[{\"timeUnixNano\":\"1000000\",\"asInt\":\"3\"}]}},"
       "{\"name\":\"d\",\"sum\":{\"aggregationTemporality\":1,\"dataPoints\":[{},{}]}},"
       "{\"name\":\"u\",\"histogram\":{\"dataPoints\":[{}]}},"
       "{\"name\":\"x\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":"
       "[{}]}},"
       "{\"name\":\"...\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1\"}]}}",
       NULL, &res, &r);
    expect(&r, "net_io_bytes_per_second{job=\"api\"}", 1, 1);
    expect(&r, "requests_count_total{job=\"api\"}", 2, 1);
    expect(&r, "_5xx{job=\"api\"}", 3, 1); /* unit 1: _ratio is for gauges only */
    assert_int_equal(r.n, 3);
    assert_int_equal(res.dropped, 2 + 1 + 1 + 1);
    assert_non_null(strstr(res.drop_reason, "delta"));
    prw_free(&r);

    /* an empty batch: an empty request */
    keep k = {0};
    lt_metric_batch b;
    assert_int_equal(decode_json(&k, "{}", &b), 0);
    encode_read(&b, NULL, &res, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(res.dropped, 0);
    assert_null(res.drop_reason);
    keep_free(&k);
}

/* ------------------------------------------------------------------------------------ */
/* Decoder rules                                                                        */
/* ------------------------------------------------------------------------------------ */

/* Protobuf written by hand. */
static void w_varint(lt_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_putc(b, (char)v);
}

static void w_tag(lt_buf *b, uint32_t field, int wt)
{
    w_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

static void w_fixed64(lt_buf *b, uint32_t field, uint64_t v)
{
    w_tag(b, field, 1);
    for (int i = 0; i < 8; i++)
        buf_putc(b, (char)(v >> (8 * i)));
}

static void w_bytes(lt_buf *b, uint32_t field, const void *p, size_t n)
{
    w_tag(b, field, 2);
    w_varint(b, n);
    buf_append(b, p, n);
}

/* A field of this wire type with a small payload of that type. */
static void w_any(lt_buf *b, uint32_t field, int wt)
{
    w_tag(b, field, wt);
    if (wt == 0) w_varint(b, 1);
    if (wt == 1) buf_append(b, "12345678", 8);
    if (wt == 2) w_varint(b, 0);
    if (wt == 5) buf_append(b, "1234", 4);
}

/* Wraps the metric bytes m into a whole request (resource_metrics / scope_metrics). */
static void wrap(lt_buf *req, const lt_buf *metric)
{
    lt_buf sm = {0}, rm = {0};
    w_bytes(&sm, 2, metric->data, metric->len);
    w_bytes(&rm, 2, sm.data, sm.len);
    req->len = 0;
    w_bytes(req, 1, rm.data, rm.len);
    buf_free(&sm);
    buf_free(&rm);
}

/* A request with one metric "m" whose data member (field) holds one point (pt bytes). */
static void one_point(lt_buf *req, uint32_t field, const lt_buf *pt, const lt_buf *extra)
{
    lt_buf data = {0}, m = {0};
    w_bytes(&data, 1, pt->data, pt->len);
    if (extra) buf_append(&data, extra->data, extra->len);
    w_bytes(&m, 1, "m", 1);
    w_bytes(&m, field, data.data, data.len);
    wrap(req, &m);
    buf_free(&data);
    buf_free(&m);
}

static int pb_decode(keep *k, const lt_buf *b, lt_metric_batch *out)
{
    return decode(k, OTLP_PROTOBUF, b->data, b->len, out);
}

/* Decodes a request of one point (in the data member data_field) that holds the message
 * sub as its field point_field. */
static int point_with_sub(keep *k, uint32_t data_field, uint32_t point_field, const lt_buf *sub)
{
    lt_buf pt = {0}, req = {0};
    lt_metric_batch b;
    w_bytes(&pt, point_field, sub->data, sub->len);
    one_point(&req, data_field, &pt, NULL);
    int rc = pb_decode(k, &req, &b);
    buf_free(&pt);
    buf_free(&req);
    return rc;
}

static void test_pb_packed_and_unpacked(void **state)
{
    (void)state;
    keep k = {0};
    lt_buf pt = {0}, req = {0}, packed = {0};
    lt_metric_batch b;
    /* bucket_counts: two unpacked, then two packed; explicit_bounds unpacked */
    w_fixed64(&pt, 6, 1);
    w_fixed64(&pt, 6, 2);
    for (uint64_t v = 3; v <= 4; v++)
        for (int i = 0; i < 8; i++)
            buf_putc(&packed, (char)(v >> (8 * i)));
    w_bytes(&pt, 6, packed.data, packed.len);
    double bound = 2.5;
    uint64_t bits;
    memcpy(&bits, &bound, 8);
    w_fixed64(&pt, 7, bits);
    w_fixed64(&pt, 3, 1000000);
    one_point(&req, 9, &pt, NULL);
    assert_int_equal(pb_decode(&k, &req, &b), 0);
    const lt_histogram_point *hp = &b.rm[0].scopes[0].metrics[0].points.histogram[0];
    static uint64_t want[] = {1, 2, 3, 4};
    same_u64s(&hp->bucket_counts, &(lt_u64s){want, 4});
    assert_int_equal(hp->explicit_bounds.n, 1);
    same_double(hp->explicit_bounds.items[0], 2.5, "bound");
    /* a packed fixed64 payload of 7 bytes */
    buf_reset(&pt);
    w_bytes(&pt, 6, "1234567", 7);
    one_point(&req, 9, &pt, NULL);
    assert_int_equal(pb_decode(&k, &req, &b), LT_EINVAL);

    /* exponential buckets: varints packed and unpacked, offset zigzag, merged messages */
    lt_buf bk = {0}, bk2 = {0};
    w_tag(&bk, 1, 0);
    w_varint(&bk, 9); /* zigzag: -5 */
    w_bytes(&bk, 2, "\x01\x96\x01", 3);
    w_tag(&bk2, 2, 0);
    w_varint(&bk2, 7);
    buf_reset(&pt);
    w_bytes(&pt, 8, bk.data, bk.len);
    w_bytes(&pt, 8, bk2.data, bk2.len);
    w_tag(&pt, 6, 0);
    w_varint(&pt, 5); /* scale -3 */
    one_point(&req, 10, &pt, NULL);
    assert_int_equal(pb_decode(&k, &req, &b), 0);
    const lt_exp_histogram_point *ep = &b.rm[0].scopes[0].metrics[0].points.exp_histogram[0];
    assert_int_equal(ep->positive.offset, -5);
    assert_int_equal(ep->scale, -3);
    static uint64_t wantx[] = {1, 150, 7};
    same_u64s(&ep->positive.counts, &(lt_u64s){wantx, 3});
    /* a packed varint that does not end */
    buf_reset(&bk);
    w_bytes(&bk, 2, "\x01\x96", 2);
    assert_int_equal(point_with_sub(&k, 10, 9, &bk), LT_EINVAL);
    buf_free(&bk);
    buf_free(&bk2);
    buf_free(&pt);
    buf_free(&req);
    buf_free(&packed);
    keep_free(&k);
}

static void test_pb_wrong_wire_types(void **state)
{
    (void)state;
    /* for each message, a known field with another wire type is malformed */
    static const struct {
        uint32_t data_field; /* 0: the field goes into the Metric itself */
        uint32_t field;
        int wt;
    } cases[] = {
        {0, 1, 0},  /* Metric.name as varint */
        {0, 3, 1},  /* Metric.unit as fixed64 */
        {0, 7, 0},  /* Metric.sum as varint */
        {0, 12, 5}, /* Metric.metadata as fixed32 */
        {5, 1, 0},  /* Gauge.data_points as varint */
        {7, 2, 2},  /* Sum.aggregation_temporality as bytes */
        {7, 3, 1},  /* Sum.is_monotonic as fixed64 */
        {9, 2, 5},  /* Histogram.aggregation_temporality as fixed32 */
    };
    keep k = {0};
    lt_buf m = {0}, data = {0}, req = {0};
    lt_metric_batch b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&m);
        buf_reset(&data);
        w_any(cases[i].data_field ? &data : &m, cases[i].field, cases[i].wt);
        if (cases[i].data_field) w_bytes(&m, cases[i].data_field, data.data, data.len);
        wrap(&req, &m);
        int rc = pb_decode(&k, &req, &b);
        if (rc != LT_EINVAL) fail_msg("case %zu: %s", i, lt_strerror(rc));
    }
    /* and in the data points */
    static const struct {
        uint32_t data_field, field;
        int wt;
    } pcases[] = {
        {5, 4, 0},   /* NumberDataPoint.as_double as varint */
        {5, 6, 2},   /* NumberDataPoint.as_int as bytes */
        {5, 7, 0},   /* NumberDataPoint.attributes as varint */
        {5, 8, 1},   /* NumberDataPoint.flags as fixed64 */
        {5, 5, 0},   /* NumberDataPoint.exemplars as varint */
        {9, 4, 0},   /* HistogramDataPoint.count as varint */
        {9, 6, 0},   /* HistogramDataPoint.bucket_counts as varint */
        {9, 7, 5},   /* HistogramDataPoint.explicit_bounds as fixed32 */
        {9, 11, 0},  /* HistogramDataPoint.min as varint */
        {10, 6, 1},  /* ExponentialHistogramDataPoint.scale as fixed64 */
        {10, 8, 0},  /* ExponentialHistogramDataPoint.positive as varint */
        {10, 14, 0}, /* ExponentialHistogramDataPoint.zero_threshold as varint */
        {11, 6, 0},  /* SummaryDataPoint.quantile_values as varint */
        {11, 5, 0},  /* SummaryDataPoint.sum as varint */
    };
    lt_buf pt = {0};
    for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
        buf_reset(&pt);
        w_any(&pt, pcases[i].field, pcases[i].wt);
        one_point(&req, pcases[i].data_field, &pt, NULL);
        int rc = pb_decode(&k, &req, &b);
        if (rc != LT_EINVAL) fail_msg("point case %zu: %s", i, lt_strerror(rc));
    }
    /* a quantile's value as varint; a Buckets offset as bytes */
    lt_buf q = {0};
    w_any(&q, 2, 0);
    assert_int_equal(point_with_sub(&k, 11, 6, &q), LT_EINVAL);
    buf_reset(&q);
    w_any(&q, 1, 2);
    assert_int_equal(point_with_sub(&k, 10, 9, &q), LT_EINVAL);
    buf_free(&q);
    buf_free(&pt);
    buf_free(&m);
    buf_free(&data);
    buf_free(&req);
    keep_free(&k);
}

static void test_pb_fields(void **state)
{
    (void)state;
    keep k = {0};
    lt_buf m = {0}, req = {0}, d1 = {0}, d2 = {0}, pt = {0};
    lt_metric_batch b;
    /* unknown and reserved fields are skipped (old IntGauge = 4, the reserved labels of a
     * point = 1, field 20); exemplars read past; the last data member wins */
    w_fixed64(&pt, 3, 1000000);
    w_bytes(&pt, 1, "xx", 2);
    w_bytes(&pt, 5, "\xff\xff", 2); /* an exemplar: not looked into */
    w_fixed64(&pt, 6, 42);
    w_bytes(&d1, 1, pt.data, pt.len);
    w_bytes(&d2, 1, pt.data, pt.len);
    w_tag(&d2, 2, 0);
    w_varint(&d2, 2);
    w_tag(&d2, 3, 0);
    w_varint(&d2, 1);
    w_bytes(&m, 1, "m", 1);
    w_bytes(&m, 4, "\x0a\x00", 2);
    w_tag(&m, 20, 0);
    w_varint(&m, 7);
    w_bytes(&m, 5, d1.data, d1.len);
    w_bytes(&m, 7, d2.data, d2.len);
    wrap(&req, &m);
    assert_int_equal(pb_decode(&k, &req, &b), 0);
    const lt_metric *mm = &b.rm[0].scopes[0].metrics[0];
    assert_int_equal(mm->type, LT_METRIC_SUM);
    assert_int_equal(mm->temporality, LT_TEMPORALITY_CUMULATIVE);
    assert_true(mm->monotonic);
    assert_int_equal(mm->n_points, 1);
    assert_int_equal(mm->points.number[0].v.i, 42);
    /* sum then gauge: a gauge, with nothing of the sum left */
    buf_reset(&m);
    w_bytes(&m, 1, "m", 1);
    w_bytes(&m, 7, d2.data, d2.len);
    w_bytes(&m, 5, d1.data, d1.len);
    wrap(&req, &m);
    assert_int_equal(pb_decode(&k, &req, &b), 0);
    mm = &b.rm[0].scopes[0].metrics[0];
    assert_int_equal(mm->type, LT_METRIC_GAUGE);
    assert_int_equal(mm->temporality, 0);
    assert_false(mm->monotonic);

    /* a metric without a name: dropped, its points rejected with a reason */
    buf_reset(&m);
    w_bytes(&m, 7, d2.data, d2.len);
    lt_buf named = {0}, sm = {0}, rm = {0};
    w_bytes(&named, 1, "n", 1);
    w_bytes(&named, 5, d1.data, d1.len);
    w_bytes(&sm, 2, m.data, m.len);
    w_bytes(&sm, 2, named.data, named.len);
    /* the pre-0.19 instrumentation_library_metrics field */
    w_bytes(&rm, 1000, sm.data, sm.len);
    buf_reset(&req);
    w_bytes(&req, 1, rm.data, rm.len);
    assert_int_equal(pb_decode(&k, &req, &b), 0);
    assert_int_equal(b.rejected, 1);
    same_str(b.reject_reason, LT_STR(MODEL_METRIC_REJECT_NO_NAME), "reason");
    assert_int_equal(b.n_points, 1);
    assert_int_equal(b.rm[0].n_scopes, 1);
    assert_int_equal(b.rm[0].scopes[0].n_metrics, 1);
    same_str(b.rm[0].scopes[0].metrics[0].name, LT_STR("n"), "kept metric");

    /* the same in JSON */
    assert_int_equal(decode_json(&k,
                                 "{\"resourceMetrics\":[{\"instrumentationLibraryMetrics\":[{"
                                 "\"metrics\":[{\"sum\":{\"dataPoints\":[{}]}},{\"name\":\"n\","
                                 "\"sum\":{\"dataPoints\":[{}]},\"gauge\":{\"dataPoints\":[{},{"
                                 "}]}},null]}]}]}",
                                 &b),
                     0);
    assert_int_equal(b.rejected, 1);
    same_str(b.reject_reason, LT_STR(MODEL_METRIC_REJECT_NO_NAME), "reason");
    assert_int_equal(b.n_points, 2);
    assert_int_equal(b.rm[0].scopes[0].metrics[0].type, LT_METRIC_GAUGE);

    /* empty bodies */
    assert_int_equal(pb_decode_metrics(k.a, NULL, 0, &b), 0);
    assert_int_equal(b.n_rm, 0);
    assert_int_equal(decode_json(&k, "", &b), LT_EINVAL);
    assert_int_equal(otlp_decode_metrics(k.a, (otlp_format)7, (uint8_t *)"", 0, &b),
                     LT_EUNSUPPORTED);
    buf_free(&named);
    buf_free(&sm);
    buf_free(&rm);
    buf_free(&m);
    buf_free(&req);
    buf_free(&d1);
    buf_free(&d2);
    buf_free(&pt);
    keep_free(&k);
}

/* Decodes a request whose one metric is metric_fmt with fragment in place of its %s; the
 * decoder must return want. */
static void json_case(keep *k, const char *metric_fmt, const char *fragment, int want,
                      lt_metric_batch *b)
{
    lt_buf metric = {0}, j = {0};
    buf_printf(&metric, metric_fmt, fragment);
    buf_printf(&j, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[%s]}]}]}", metric.data);
    int rc = decode_json(k, j.data, b);
    if (rc != want) fail_msg("%s: %s", metric.data, lt_strerror(rc));
    buf_free(&metric);
    buf_free(&j);
}

static void test_json_rules(void **state)
{
    (void)state;
    keep k = {0};
    lt_metric_batch b;
    static const struct {
        const char *point;
        int rc;
    } cases[] = {
        {"{\"bucketCounts\":\"1\"}", LT_EINVAL},
        {"{\"bucketCounts\":[\"-1\"]}", LT_EINVAL},
        {"{\"explicitBounds\":[\"x\"]}", LT_EINVAL},
        {"{\"count\":1.5}", LT_EINVAL},
        {"{\"flags\":4294967296}", LT_EINVAL},
        {"{\"exemplars\":[{\"asDouble\":1,\"spanId\":\"zz\"}],\"count\":\"1e3\"}", 0},
        {"{\"bucketCounts\":[null,\"2\"],\"sum\":null}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        json_case(&k, "{\"name\":\"h\",\"histogram\":{\"dataPoints\":[%s]}}", cases[i].point,
                  cases[i].rc, &b);
    /* the last case: a null count is 0, an absent sum is no sum */
    const lt_histogram_point *hp = &b.rm[0].scopes[0].metrics[0].points.histogram[0];
    assert_int_equal(hp->bucket_counts.n, 2);
    assert_int_equal(hp->bucket_counts.items[0], 0);
    assert_false(hp->has_sum);
    /* int32 fields, enums as integers only */
    static const struct {
        const char *metric;
        int rc;
    } mcases[] = {
        {"\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":2147483648}]}", LT_EINVAL},
        {"\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":-2147483648,\"positive\":{"
         "\"offset\":\"-7\"}}]}",
         0},
        {"\"sum\":{\"aggregationTemporality\":\"AGGREGATION_TEMPORALITY_CUMULATIVE\"}", LT_EINVAL},
        {"\"sum\":{\"isMonotonic\":1}", LT_EINVAL},
        {"\"gauge\":{\"dataPoints\":[{\"asInt\":1.5}]}", LT_EINVAL},
        {"\"summary\":{\"dataPoints\":[{\"quantileValues\":[{\"quantile\":\"0.5\"},null]}]}", 0},
    };
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++)
        json_case(&k, "{\"name\":\"m\",%s}", mcases[i].metric, mcases[i].rc, &b);
    const lt_summary_point *sp = &b.rm[0].scopes[0].metrics[0].points.summary[0];
    assert_int_equal(sp->quantiles.n, 2);
    same_double(sp->quantiles.items[0].quantile, 0.5, "quantile");
    keep_free(&k);
}

/* ------------------------------------------------------------------------------------ */
/* Hostile input                                                                        */
/* ------------------------------------------------------------------------------------ */

/* Every prefix of a body, in an exact-size buffer: never a crash, only the documented
 * errors. Returns how many prefixes decoded. */
static size_t truncations(const uint8_t *d, size_t n, otlp_format f)
{
    lt_arena *a = arena_new();
    size_t ok = 0;
    for (size_t len = 0; len < n; len++) {
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, d, len);
        lt_metric_batch b;
        int rc = otlp_decode_metrics(a, f, c, len, &b);
        if (rc != 0 && rc != LT_EINVAL && rc != LT_ETOOBIG)
            fail_msg("prefix %zu: %s", len, lt_strerror(rc));
        ok += rc == 0;
        free(c);
        arena_reset(a);
    }
    arena_free(a);
    return ok;
}

static void test_truncation(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = capture("cumulative.pb", &n);
    size_t ok = truncations(d, n, OTLP_PROTOBUF);
    assert_true(ok < n / 10); /* most cuts land inside a field */
    free(d);
    d = capture("cumulative.json", &n);
    /* a JSON prefix is never a whole object, except the empty one ... which is invalid */
    assert_int_equal(truncations(d, n, OTLP_JSON), 0);
    free(d);
}

/* Every byte of the protobuf capture replaced by 0x00, 0x80 and 0xff: only the documented
 * errors, and what decodes encodes and decodes again to the same model. */
static void test_byte_mutation(void **state)
{
    (void)state;
    size_t n, decoded = 0;
    uint8_t *d = capture("cumulative.pb", &n);
    static const uint8_t subst[] = {0x00, 0x80, 0xff};
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < sizeof subst; s++) {
            keep k = {0};
            uint8_t *m = malloc(n);
            memcpy(m, d, n);
            m[i] = subst[s];
            lt_metric_batch b;
            int rc = decode(&k, OTLP_PROTOBUF, m, n, &b);
            if (rc != 0 && rc != LT_EINVAL && rc != LT_ETOOBIG)
                fail_msg("byte %zu = %02x: %s", i, subst[s], lt_strerror(rc));
            if (rc == 0) {
                decoded++;
                lt_buf e = {0};
                lt_metric_batch b2;
                assert_int_equal(pb_encode_metrics(&e, &b), 0);
                assert_int_equal(decode(&k, OTLP_PROTOBUF, e.data, e.len, &b2), 0);
                same_batch(&b, &b2);
                buf_free(&e);
            }
            free(m);
            keep_free(&k);
        }
    print_message("mutation: %zu of %zu variants decode\n", decoded, n * sizeof subst);
    free(d);
}

static void test_limits(void **state)
{
    (void)state;
    keep k = {0};
    lt_buf pt = {0}, req = {0}, big = {0};
    lt_metric_batch b;
    /* MODEL_MAX_BUCKETS bucket counts are fine, one more is too many (packed fixed64) */
    for (int extra = 0; extra <= 1; extra++) {
        buf_reset(&big);
        buf_reset(&pt);
        for (size_t i = 0; i < (size_t)MODEL_MAX_BUCKETS + (size_t)extra; i++)
            buf_append(&big, "\1\0\0\0\0\0\0\0", 8);
        w_bytes(&pt, 6, big.data, big.len);
        one_point(&req, 9, &pt, NULL);
        assert_int_equal(pb_decode(&k, &req, &b), extra ? LT_ETOOBIG : 0);
        keep_free(&k);
    }
    /* the same for exponential buckets (packed varints) and quantiles */
    buf_reset(&big);
    for (size_t i = 0; i <= MODEL_MAX_BUCKETS; i++)
        buf_putc(&big, 1);
    lt_buf bk = {0};
    w_bytes(&bk, 2, big.data, big.len);
    buf_reset(&pt);
    w_bytes(&pt, 8, bk.data, bk.len);
    one_point(&req, 10, &pt, NULL);
    assert_int_equal(pb_decode(&k, &req, &b), LT_ETOOBIG);
    buf_reset(&pt);
    for (size_t i = 0; i <= MODEL_MAX_BUCKETS; i++)
        w_bytes(&pt, 6, "", 0);
    one_point(&req, 11, &pt, NULL);
    assert_int_equal(pb_decode(&k, &req, &b), LT_ETOOBIG);
    keep_free(&k);
    /* JSON: one bucket count too many */
    lt_buf j = {0};
    buf_append_c(&j, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"h\","
                     "\"histogram\":{\"dataPoints\":[{\"bucketCounts\":[0");
    for (size_t i = 0; i < MODEL_MAX_BUCKETS; i++)
        buf_append_c(&j, ",0");
    buf_append_c(&j, "]}]}}]}]}]}");
    assert_int_equal(decode_json(&k, j.data, &b), LT_ETOOBIG);
    /* MODEL_MAX_ITEMS data points: the count is checked before anything is allocated */
    buf_reset(&pt);
    buf_reset(&big);
    for (size_t i = 0; i < (size_t)MODEL_MAX_ITEMS; i++)
        buf_append(&big, "\x0a\x00", 2);
    lt_buf m = {0};
    w_bytes(&m, 1, "m", 1);
    w_bytes(&m, 5, big.data, big.len);
    wrap(&req, &m);
    assert_int_equal(pb_decode(&k, &req, &b), LT_ETOOBIG);
    buf_free(&m);
    buf_free(&j);
    buf_free(&bk);
    buf_free(&big);
    buf_free(&pt);
    buf_free(&req);
    keep_free(&k);
}

/* Allocation failure at every allocation of each step: the documented error, no leak. */
static void test_alloc_failure(void **state)
{
    (void)state;
    size_t np, nj;
    uint8_t *pb = capture("cumulative.pb", &np), *js = capture("cumulative.json", &nj);
    char *jcopy = malloc(nj);
    for (int step = 0; step < 4; step++) {
        int fails = 0;
        for (long k = 0;; k++) {
            lt_arena *a = arena_new();
            assert_non_null(a);
            lt_metric_batch b;
            lt_buf out = {0};
            int rc = 0;
            if (step >= 2) assert_int_equal(pb_decode_metrics(a, pb, np, &b), 0);
            memcpy(jcopy, js, nj);
            alloc_fail_after(k);
            if (step == 0) rc = pb_decode_metrics(a, pb, np, &b);
            if (step == 1) rc = json_decode_metrics(a, jcopy, nj, &b);
            if (step == 2) {
                rc = pb_encode_metrics(&out, &b);
                if (!rc) rc = json_encode_metrics(&out, &b);
            }
            if (step == 3) rc = promrw_encode_metrics(&out, &b, NULL, NULL);
            alloc_fail_after(-1);
            buf_free(&out);
            arena_free(a);
            if (rc == 0) break;
            assert_int_equal(rc, LT_ENOMEM);
            fails++;
            assert_true(k < 100000);
        }
        assert_true(fails > 0);
    }
    free(jcopy);
    free(pb);
    free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_pb_json_same),
        cmocka_unit_test(test_roundtrip_captures),
        cmocka_unit_test(test_roundtrip_all_fields),
        cmocka_unit_test(test_promrw_capture),
        cmocka_unit_test(test_promrw_delta_dropped),
        cmocka_unit_test(test_promrw_fixtures),
        cmocka_unit_test(test_promrw_labels),
        cmocka_unit_test(test_promrw_values),
        cmocka_unit_test(test_promrw_dropped_and_names),
        cmocka_unit_test(test_pb_packed_and_unpacked),
        cmocka_unit_test(test_pb_wrong_wire_types),
        cmocka_unit_test(test_pb_fields),
        cmocka_unit_test(test_json_rules),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_byte_mutation),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
