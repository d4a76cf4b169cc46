/* test_spanmetrics.c — the spanmetrics connector and its text exposition, on the captures.
 *
 * Every scenario folder of LT_FIXTURES/otlp is decoded and annotated as the receivers do,
 * consumed, and checked against the folder's expected.json: calls per service, span name,
 * kind and status equal the spans listed there; token counters equal the sums of the
 * spans' GenAI views, and for the libraries whose token semantics are the canonical ones,
 * the fake server's totals per model. Then: gen_ai.system <-> gen_ai.provider.name
 * resolution through the view, the cardinality overflow series, configuration errors, and
 * the exposition parsed back line by line (hostile label values included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>

#include "sm_fixtures.h"

#include "core/alloc.h"
#include "genai/genai_int.h"
#include "pipeline/promtext.h"

/* ---- snapshot helpers ---- */

static const spanmetrics_metric *find_metric(const spanmetrics_snap *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_metrics; i++)
        if (!strcmp(s->metrics[i].name, name)) return &s->metrics[i];
    return NULL;
}

static const char *label_of(const spanmetrics_point *p, const char *name)
{
    for (uint32_t i = 0; i < p->n_labels; i++)
        if (!strcmp(p->labels[i].name, name)) return p->labels[i].value;
    return NULL;
}

/* Sum of a counter over the points whose label name has value (NULL: label absent). */
static double sum_where(const spanmetrics_metric *m, const char *name, const char *value)
{
    double t = 0;
    for (uint32_t i = 0; m && i < m->n_points; i++) {
        const char *v = label_of(&m->points[i], name);
        if ((!value && !v) || (value && v && !strcmp(v, value))) t += m->points[i].value;
    }
    return t;
}

static bool has_point(const spanmetrics_metric *m, const char *name, const char *value)
{
    for (uint32_t i = 0; m && i < m->n_points; i++) {
        const char *v = label_of(&m->points[i], name);
        if (v && !strcmp(v, value)) return true;
    }
    return false;
}

static double total(const spanmetrics_metric *m)
{
    double t = 0;
    for (uint32_t i = 0; m && i < m->n_points; i++)
        t += m->points[i].value;
    return t;
}

/* ---- exposition checker ---- */

typedef struct {
    int families, samples, buckets;
} expo_stats;

/* Parses text as exposition 0.0.4 and checks its structure: every family has HELP then
 * TYPE, samples belong to the family just declared, histogram buckets ascend in le, are
 * cumulative and end with le="+Inf" equal to _count. Fails the test otherwise. */
static expo_stats check_exposition(const char *text)
{
    expo_stats st = {0};
    char family[256] = "", type[32] = "", help_of[256] = "";
    pt_sample *s = malloc(sizeof *s);
    double last_le = -INFINITY, last_cum = 0;
    const char *p = text;
    int line_no = 0;
    assert_true(text[0] == 0 || text[strlen(text) - 1] == '\n');
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[8192];
        size_t n = (size_t)(nl - p);
        assert_true(n < sizeof line);
        memcpy(line, p, n);
        line[n] = 0;
        p = nl + 1;
        line_no++;
        if (!strncmp(line, "# HELP ", 7)) {
            if (sscanf(line + 7, "%255s", help_of) != 1) fail_msg("line %d: HELP", line_no);
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            if (sscanf(line + 7, "%255s %31s", family, type) != 2)
                fail_msg("line %d: TYPE", line_no);
            if (strcmp(family, help_of)) fail_msg("line %d: TYPE without HELP", line_no);
            if (strcmp(type, "counter") && strcmp(type, "histogram"))
                fail_msg("line %d: type %s", line_no, type);
            st.families++;
            continue;
        }
        const char *why = NULL;
        if (pt_parse_sample(line, s, &why)) fail_msg("line %d: %s: %s", line_no, why, line);
        st.samples++;
        size_t fl = strlen(family);
        if (strncmp(s->name, family, fl))
            fail_msg("line %d: %s outside %s", line_no, s->name, family);
        const char *suf = s->name + fl;
        if (!strcmp(type, "counter")) {
            if (*suf) fail_msg("line %d: counter sample %s", line_no, s->name);
            assert_true(s->value >= 0);
            continue;
        }
        if (!strcmp(suf, "_bucket")) {
            const char *le = pt_label(s, "le");
            assert_non_null(le);
            double v = !strcmp(le, "+Inf") ? INFINITY : strtod(le, NULL);
            if (last_le == INFINITY) last_le = -INFINITY, last_cum = 0; /* next series */
            if (!(v > last_le)) fail_msg("line %d: le %s not ascending", line_no, le);
            if (s->value < last_cum) fail_msg("line %d: buckets not cumulative", line_no);
            last_le = v;
            last_cum = s->value;
            st.buckets++;
        } else if (!strcmp(suf, "_count")) {
            if (last_le != INFINITY) fail_msg("line %d: no +Inf bucket before _count", line_no);
            if (s->value != last_cum) fail_msg("line %d: _count != +Inf bucket", line_no);
        } else if (strcmp(suf, "_sum")) {
            fail_msg("line %d: histogram sample %s", line_no, s->name);
        }
    }
    free(s);
    return st;
}

/* ---- calls and tokens on every capture ---- */

typedef struct {
    int folders, spans, llm_series, models_checked;
} totals;

static const char *json_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void check_folder(const char *dir, const char *lib, const char *scen, void *ud)
{
    totals *t = ud;
    fx_scenario fo;
    folder_load(dir, &fo);
    spanmetrics *sm = sm_make(NULL);
    folder_consume(sm, &fo);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);

    char path[2048];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    json_error_t jerr;
    json_t *exp = json_load_file(path, 0, &jerr);
    if (!exp) fail_msg("%s: %s", path, jerr.text);

    /* calls: each expected (service, name, kind, status) count equals its point */
    const spanmetrics_metric *calls = find_metric(&snap, "traces.span.metrics.calls");
    const spanmetrics_metric *dur = find_metric(&snap, "traces.span.metrics.duration");
    assert_non_null(calls);
    assert_non_null(dur);
    /* the collector's default buckets, in ms */
    static const double want_bounds[] = {2,   4,   6,    8,    10,   50,   100,   200,
                                         400, 800, 1000, 1400, 2000, 5000, 10000, 15000};
    assert_string_equal(dur->unit, "ms");
    assert_int_equal(dur->n_bounds, 16);
    assert_memory_equal(dur->bounds, want_bounds, sizeof want_bounds);
    json_t *spans = json_object_get(exp, "spans");
    size_t n = json_array_size(spans);
    double seen = 0;
    for (uint32_t i = 0; i < calls->n_points; i++) {
        const spanmetrics_point *p = &calls->points[i];
        double want = 0;
        for (size_t k = 0; k < n; k++) {
            json_t *s = json_array_get(spans, k);
            char kind[64], status[64];
            snprintf(kind, sizeof kind, "SPAN_KIND_%s", json_str(s, "kind"));
            snprintf(status, sizeof status, "STATUS_CODE_%s", json_str(s, "status"));
            if (!strcmp(label_of(p, "service.name"), json_str(s, "service_name")) &&
                !strcmp(label_of(p, "span.name"), json_str(s, "name")) &&
                !strcmp(label_of(p, "span.kind"), kind) &&
                !strcmp(label_of(p, "status.code"), status))
                want++;
        }
        if (p->value != want)
            fail_msg("%s/%s: calls{%s, %s, %s}: %g, expected.json lists %g", lib, scen,
                     label_of(p, "span.name"), label_of(p, "span.kind"), label_of(p, "status.code"),
                     p->value, want);
        /* the duration histogram saw the same spans */
        const spanmetrics_point *d = &dur->points[i];
        assert_int_equal(d->count, (uint64_t)p->value);
        uint64_t in_buckets = 0;
        for (uint32_t b = 0; b <= dur->n_bounds; b++)
            in_buckets += d->counts[b];
        assert_int_equal(in_buckets, d->count);
        seen += p->value;
    }
    if (seen != (double)n) fail_msg("%s/%s: %g calls, %zu spans", lib, scen, seen, n);
    t->spans += (int)n;

    /* tokens: the views' sums per response model, computed here from the batches */
    static const int fields[] = {GA_INPUT_TOKENS, GA_OUTPUT_TOKENS, GA_CACHE_READ, GA_REASONING};
    static const char *const names[] = {"traces.span.metrics.gen_ai.usage.input_tokens",
                                        "traces.span.metrics.gen_ai.usage.output_tokens",
                                        "traces.span.metrics.gen_ai.usage.cache_read.input_tokens",
                                        "traces.span.metrics.gen_ai.usage.reasoning.output_tokens"};
    for (size_t f = 0; f < 4; f++) {
        const spanmetrics_metric *m = find_metric(&snap, names[f]);
        double all = 0;
        for (int b = 0; b < fo.n_tb; b++)
            for (uint32_t i = 0; i < fo.tb[b].n_rs; i++)
                for (uint32_t j = 0; j < fo.tb[b].rs[i].n_scopes; j++)
                    for (uint32_t k = 0; k < fo.tb[b].rs[i].scopes[j].n_spans; k++) {
                        const lt_span *s = &fo.tb[b].rs[i].scopes[j].spans[k];
                        if (!s->genai || !genai_has(s->genai, fields[f])) continue;
                        all += (double)genai_int(s->genai, fields[f], 0);
                        lt_str model = genai_str(s->genai, GA_RESPONSE_MODEL);
                        char mb[256];
                        snprintf(mb, sizeof mb, "%.*s", (int)model.len, model.ptr ? model.ptr : "");
                        if (!m) fail_msg("%s/%s: no %s", lib, scen, names[f]);
                        if (model.ptr && !has_point(m, "gen_ai.response.model", mb))
                            fail_msg("%s/%s: no %s for %s", lib, scen, names[f], mb);
                    }
        if (all != total(m))
            fail_msg("%s/%s: %s: %g in the views, %g counted", lib, scen, names[f], all, total(m));
        if (all > 0) t->llm_series++;
    }
    /* and per model, against the fake server's totals (libraries whose numbers are the
     * canonical ones; Langfuse reports net usage, see docs/genai.md) */
    json_t *tot = json_object_get(exp, "genai_totals_by_model");
    if (tot && strcmp(lib, "langfuse")) {
        const char *key;
        json_t *v;
        json_object_foreach(tot, key, v)
        {
            const char *arrow = strstr(key, " -> ");
            assert_non_null(arrow);
            const char *model = arrow + 4;
            double in = sum_where(find_metric(&snap, names[0]), "gen_ai.response.model", model);
            double out = sum_where(find_metric(&snap, names[1]), "gen_ai.response.model", model);
            double want_in = (double)json_integer_value(json_object_get(v, "input_tokens"));
            double want_out = (double)json_integer_value(json_object_get(v, "output_tokens"));
            /* Traceloop estimates streamed usage itself (fixtures README) */
            if (!strcmp(lib, "traceloop") && !strcmp(scen, "streaming")) continue;
            if (in != want_in || out != want_out)
                fail_msg("%s/%s: %s: tokens %g/%g, the server sent %g/%g", lib, scen, model, in,
                         out, want_in, want_out);
            t->models_checked++;
        }
    }

    /* the exposition of every capture parses */
    lt_buf text = {0};
    assert_int_equal(promtext_render(&text, &snap), 0);
    expo_stats es = check_exposition(text.data ? text.data : "");
    assert_int_equal(es.families, snap.n_metrics);
    buf_free(&text);

    json_decref(exp);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
    t->folders++;
}

static void test_fixtures(void **state)
{
    (void)state;
    totals t = {0};
    int n = fx_walk(check_folder, &t);
    print_message("spanmetrics: %d folders, %d spans, %d token series, %d model totals "
                  "matched\n",
                  t.folders, t.spans, t.llm_series, t.models_checked);
    assert_int_equal(n, 48);
    assert_true(t.models_checked > 40);
}

/* ---- GenAI dimensions through the view ---- */

static void load(fx_scenario *fo, const char *rel)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, rel);
    folder_load(dir, fo);
}

/* No span of fo carries the attribute key (so a label for it came from the view). */
static void assert_no_attr(const fx_scenario *fo, const char *key)
{
    for (int b = 0; b < fo->n_tb; b++)
        for (uint32_t i = 0; i < fo->tb[b].n_rs; i++)
            for (uint32_t j = 0; j < fo->tb[b].rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < fo->tb[b].rs[i].scopes[j].n_spans; k++)
                    assert_null(
                        model_attr_get(&fo->tb[b].rs[i].scopes[j].spans[k].attrs, lt_str_c(key)));
}

static void provider_case(const char *rel, const char *dim, const char *absent_attr)
{
    fx_scenario fo;
    load(&fo, rel);
    assert_no_attr(&fo, absent_attr);
    spanmetrics *sm = sm_make(M(1, "dimensions", L(1, M(1, "name", S(dim)))));
    folder_consume(sm, &fo);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    const spanmetrics_metric *calls = find_metric(&snap, "traces.span.metrics.calls");
    /* every chat call is labelled with its provider; the root span has none */
    double chat = 0, labelled = sum_where(calls, dim, "openai");
    for (uint32_t i = 0; i < calls->n_points; i++)
        if (!strncmp(label_of(&calls->points[i], "span.name"), "chat", 4) ||
            !strncmp(label_of(&calls->points[i], "span.name"), "openai.chat", 11))
            chat += calls->points[i].value;
    print_message("%s: %s=\"openai\" on %g calls (%g chat)\n", rel, dim, labelled, chat);
    assert_true(labelled >= 200);
    assert_true(labelled == chat);
    /* the GenAI series carry it too */
    const spanmetrics_metric *in =
        find_metric(&snap, "traces.span.metrics.gen_ai.usage.input_tokens");
    assert_true(sum_where(in, dim, "openai") == total(in));
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);

    /* without the view (spans not annotated) the dimension stays empty: it is the view
     * that fills it */
    for (int b = 0; b < fo.n_tb; b++)
        for (uint32_t i = 0; i < fo.tb[b].n_rs; i++)
            for (uint32_t j = 0; j < fo.tb[b].rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < fo.tb[b].rs[i].scopes[j].n_spans; k++)
                    fo.tb[b].rs[i].scopes[j].spans[k].genai = NULL;
    sm = sm_make(M(1, "dimensions", L(1, M(1, "name", S(dim)))));
    folder_consume(sm, &fo);
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    calls = find_metric(&snap, "traces.span.metrics.calls");
    bool new_name = !strcmp(dim, "gen_ai.system");
    /* a sender that used the name itself still fills it from the attribute */
    if (new_name) assert_true(sum_where(calls, dim, "openai") == 0);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
    cfg_reset();
}

static void test_provider_names(void **state)
{
    (void)state;
    /* OpenLLMetry 0.5 sends only gen_ai.provider.name; a gen_ai.system dimension is filled */
    provider_case("traceloop/batch", "gen_ai.system", "gen_ai.system");
    /* the OTel JS instrumentation sends only gen_ai.system; and the other way round */
    provider_case("otel/batch-proto", "gen_ai.provider.name", "gen_ai.provider.name");
}

/* The deprecated names spanmetrics knows are exactly genai's rank-2x semconv names that
 * feed a field (the pipeline may not read genai's tables, so they are listed twice). */
static void test_alias_table(void **state)
{
    (void)state;
    const ga_dialect_table *t = &ga_dialects[GA_D_OTEL];
    int n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const ga_map *m = &t->map[i];
        if (m->rank < 20 || m->rank >= 30) continue;
        int field = m->target < GA_N_FIELDS ? m->target : -1;
        static const int tok[] = {GA_INPUT_TOKENS,   GA_OUTPUT_TOKENS, GA_CACHE_READ,
                                  GA_CACHE_CREATION, GA_REASONING,     -1};
        if (m->target >= GT_TOKEN(GA_FAM_GENAI, 0) && m->target < GT_TOKEN(GA_FAM_GENAI, GA_TOK_N))
            field = tok[m->target - GT_TOKEN(GA_FAM_GENAI, 0)];
        if (field < 0) continue;
        if (spanmetrics_genai_field(m->key) != field)
            fail_msg("%s feeds %s, spanmetrics says %d", m->key, model_genai_fields[field].key,
                     spanmetrics_genai_field(m->key));
        n++;
    }
    assert_true(n >= 5);
    for (int f = 0; f < GA_N_FIELDS; f++)
        assert_int_equal(spanmetrics_genai_field(model_genai_fields[f].key), f);
    assert_int_equal(spanmetrics_genai_field("http.method"), -1);
}

/* ---- cardinality limit ---- */

static void test_overflow(void **state)
{
    (void)state;
    fx_scenario fo;
    load(&fo, "otel/batch-proto"); /* 220 spans: 4 span names, 3 models */
    spanmetrics *sm = sm_make(M(1, "aggregation_cardinality_limit", S("2")));
    folder_consume(sm, &fo);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    const spanmetrics_metric *calls = find_metric(&snap, "traces.span.metrics.calls");
    assert_int_equal(calls->n_points, 3);
    const spanmetrics_point *ov = &calls->points[2];
    assert_int_equal(ov->n_labels, 1);
    assert_string_equal(ov->labels[0].name, "otel.metric.overflow");
    assert_string_equal(ov->labels[0].value, "true");
    /* nothing is lost: the overflow holds the rest */
    assert_true(total(calls) == 220);
    assert_true(ov->value == 220 - calls->points[0].value - calls->points[1].value);
    const spanmetrics_metric *dur = find_metric(&snap, "traces.span.metrics.duration");
    assert_int_equal(dur->points[2].count, (uint64_t)ov->value);
    const spanmetrics_metric *in =
        find_metric(&snap, "traces.span.metrics.gen_ai.usage.input_tokens");
    assert_int_equal(in->n_points, 3);
    assert_true(total(in) == 20121 + 19800 + 19179);
    assert_non_null(label_of(&in->points[2], "otel.metric.overflow"));

    /* the exposition shows it as Prometheus names it */
    lt_buf text = {0};
    assert_int_equal(promtext_render(&text, &snap), 0);
    assert_non_null(
        strstr(text.data, "traces_span_metrics_calls_total{otel_metric_overflow=\"true\"} "));
    check_exposition(text.data);
    buf_free(&text);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);

    /* the deprecated dimensions_cache_size limits too; the current name wins */
    sm = sm_make(M(2, "dimensions_cache_size", S("1"), "aggregation_cardinality_limit", S("3")));
    folder_consume(sm, &fo);
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    assert_int_equal(find_metric(&snap, "traces.span.metrics.calls")->n_points, 4);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    sm = sm_make(M(1, "dimensions_cache_size", S("1")));
    folder_consume(sm, &fo);
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    assert_int_equal(find_metric(&snap, "traces.span.metrics.calls")->n_points, 2);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
    cfg_reset();
}

/* Long distinct label values cannot take more than SPANMETRICS_MAX_GROUP_BYTES, whatever
 * the configured limit: the rest goes to the overflow series. */
static void test_memory_bound(void **state)
{
    (void)state;
    enum { N = 40000 };
    spanmetrics *sm = sm_make(M(1, "aggregation_cardinality_limit", S("1000000")));
    static char names[N][SPANMETRICS_MAX_VALUE];
    lt_span *spans = calloc(N, sizeof *spans);
    for (int i = 0; i < N; i++) {
        memset(names[i], 'n', sizeof names[i]);
        int k = snprintf(names[i], 16, "%d", i);
        names[i][k] = '-';
        spans[i].name = (lt_str){names[i], sizeof names[i]};
    }
    lt_scope_spans ss = {.spans = spans, .n_spans = N};
    lt_resource_spans rs = {.scopes = &ss, .n_scopes = 1};
    lt_trace_batch b = {.rs = &rs, .n_rs = 1, .n_spans = N};
    assert_int_equal(spanmetrics_consume(sm, &b), 0);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    const spanmetrics_metric *calls = find_metric(&snap, "traces.span.metrics.calls");
    print_message("memory bound: %u series of %d label sets\n", calls->n_points, N);
    assert_true(calls->n_points < N / 2);
    assert_true(calls->n_points > 1000);
    assert_true(total(calls) == N);
    const spanmetrics_point *ov = &calls->points[calls->n_points - 1];
    assert_string_equal(ov->labels[0].name, "otel.metric.overflow");
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    free(spans);
    cfg_reset();
}

/* An allocation failing at any point gives LT_ENOMEM (or success), never a crash or a
 * leak (the sanitizer build checks leaks). */
static void test_alloc_failure(void **state)
{
    (void)state;
    fx_scenario fo;
    load(&fo, "otel/multi-agent-proto");
    int failures = 0;
    for (long k = 0; k < 400; k++) {
        cfg_node *conf = M(1, "dimensions", L(1, M(1, "name", S("gen_ai.system"))));
        spanmetrics *sm = NULL;
        char err[256];
        alloc_fail_after(k);
        int rc = spanmetrics_create(conf, NULL, NULL, &sm, err, sizeof err);
        spanmetrics_snap snap = {0};
        lt_buf text = {0};
        if (!rc) rc = spanmetrics_consume(sm, &fo.tb[0]);
        if (!rc) rc = spanmetrics_snapshot(sm, &snap);
        if (!rc) rc = promtext_render(&text, &snap);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        failures += rc != 0;
        buf_free(&text);
        spanmetrics_snapshot_free(&snap);
        spanmetrics_free(sm);
        cfg_reset();
    }
    assert_true(failures > 10);
    fx_free(&fo);
}

/* ---- configuration ---- */

static void expect_error(cfg_node *conf, const char *want)
{
    spanmetrics *sm = NULL;
    char err[512] = "";
    int rc = spanmetrics_create(conf, "c.yaml", "connectors.spanmetrics", &sm, err, sizeof err);
    if (rc != LT_EINVAL) fail_msg("accepted; wanted an error with \"%s\"", want);
    assert_null(sm);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_config(void **state)
{
    (void)state;
    /* increasing order */
    cfg_node *dec = M(1, "histogram", M(1, "explicit", M(1, "buckets", L(2, S("2s"), S("1s")))));
    expect_error(dec, "increasing order");
    char at[64];
    cfg_node *unknown = S("x");
    cfg_node *c2 = M(2, "namespace", S("gen_ai"), "exemplars", unknown);
    snprintf(at, sizeof at, "c.yaml:%u:3: connectors.spanmetrics: unknown option 'exemplars'",
             unknown->line);
    expect_error(c2, at);
    expect_error(M(1, "histogram", M(1, "exponential", M(1, "max_size", S("160")))),
                 "exponential histograms are not supported");
    expect_error(M(1, "metrics_flush_interval", S("soon")), "metrics_flush_interval: expected a "
                                                            "duration");
    expect_error(M(1, "aggregation_temporality", S("AGGREGATION_TEMPORALITY_DELTA")),
                 "only AGGREGATION_TEMPORALITY_CUMULATIVE");
    expect_error(M(1, "dimensions", L(2, M(1, "name", S("a")), M(1, "name", S("a")))),
                 "duplicate dimension name a");
    expect_error(M(1, "dimensions", L(2, M(1, "name", S("a.b")), M(1, "name", S("a_b")))),
                 "Prometheus name");
    expect_error(M(1, "dimensions", L(1, M(1, "nam", S("a")))), "unknown option 'nam'");
    expect_error(M(1, "exclude_dimensions", L(1, S("http.method"))), "not a default dimension");
    expect_error(M(1, "aggregation_cardinality_limit", S("many")), "expected an integer");

    /* accepted: the seed config's connector, with span.name named again */
    spanmetrics *sm =
        sm_make(M(3, "namespace", S("gen_ai"), "dimensions",
                  L(3, M(1, "name", S("gen_ai.system")), M(1, "name", S("gen_ai.request.model")),
                    M(1, "name", S("span.name"))),
                  "metrics_flush_interval", S("15s")));
    assert_true(spanmetrics_flush_interval_ns(sm) == 15000000000ull);
    spanmetrics_free(sm);
    /* buckets in the histogram's unit; a Go duration with several parts */
    sm = sm_make(
        M(3, "histogram",
          M(2, "unit", S("s"), "explicit", M(1, "buckets", L(3, S("100ms"), S("1s"), S("1m30s")))),
          "metrics_flush_interval", S("1m30s"), "exclude_dimensions", L(1, S("status.code"))));
    assert_true(spanmetrics_flush_interval_ns(sm) == 90000000000ull);
    fx_scenario fo;
    load(&fo, "otel/errors-proto");
    folder_consume(sm, &fo);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    const spanmetrics_metric *d = find_metric(&snap, "traces.span.metrics.duration");
    assert_string_equal(d->unit, "s");
    assert_int_equal(d->n_bounds, 3);
    assert_true(d->bounds[0] == 0.1 && d->bounds[1] == 1 && d->bounds[2] == 90);
    assert_null(label_of(&d->points[0], "status.code"));
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
    cfg_reset();
}

/* ---- exposition ---- */

static void test_exposition(void **state)
{
    (void)state;
    /* the seed config: namespace gen_ai, gen_ai.system, request model and span.name */
    spanmetrics *sm =
        sm_make(M(2, "namespace", S("gen_ai"), "dimensions",
                  L(3, M(1, "name", S("gen_ai.system")), M(1, "name", S("gen_ai.request.model")),
                    M(2, "name", S("tenant"), "default", S("none")))));
    fx_scenario fo;
    load(&fo, "otel/streaming-proto");
    folder_consume(sm, &fo);

    /* a hostile span: quotes, backslashes and newlines in labels and a long name */
    static const char hostile_service[] = "svc \"quoted\" back\\slash\nnew line";
    char long_name[2000];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    memcpy(long_name, "\xc3\xa9", 2); /* a 2-byte character first: cuts keep UTF-8 whole */
    lt_kv res_kv = {LT_STR("service.name"),
                    {.type = LT_VAL_STRING, .u.s = lt_str_c(hostile_service)}};
    lt_kv span_kv = {LT_STR("tenant"), {.type = LT_VAL_STRING, .u.s = LT_STR("a\\\"b\n")}};
    lt_span sp = {.name = lt_str_c(long_name),
                  .kind = LT_KIND_SERVER,
                  .status_code = LT_STATUS_ERROR,
                  .start_time_unix_nano = 1000000000,
                  .end_time_unix_nano = 1003000000,
                  .attrs = {&span_kv, 1}};
    lt_scope_spans ss = {.spans = &sp, .n_spans = 1};
    lt_resource_spans rs = {.resource = {.attrs = {&res_kv, 1}}, .scopes = &ss, .n_scopes = 1};
    lt_trace_batch b = {.rs = &rs, .n_rs = 1, .n_spans = 1};
    assert_int_equal(spanmetrics_consume(sm, &b), 0);

    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    lt_buf text = {0};
    assert_int_equal(promtext_render(&text, &snap), 0);
    expo_stats st = check_exposition(text.data);
    print_message("exposition: %d families, %d samples, %zu bytes\n", st.families, st.samples,
                  text.len);

    /* names as the collector + Prometheus produce them */
    assert_non_null(strstr(text.data, "# TYPE gen_ai_calls_total counter\n"));
    assert_non_null(strstr(text.data, "# TYPE gen_ai_duration_milliseconds histogram\n"));
    assert_non_null(strstr(text.data, "# TYPE gen_ai_gen_ai_usage_input_tokens_total counter\n"));
    assert_non_null(strstr(text.data, "# TYPE gen_ai_gen_ai_usage_cost_USD_total counter\n"));

    /* every calls sample, parsed back, is a point of the snapshot with the same labels */
    const spanmetrics_metric *calls = find_metric(&snap, "gen_ai.calls");
    pt_sample *s = malloc(sizeof *s);
    int matched = 0, hostile = 0;
    for (const char *p = text.data; *p;) {
        const char *nl = strchr(p, '\n');
        char line[8192];
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = 0;
        p = nl + 1;
        const char *why;
        if (line[0] == '#' || strncmp(line, "gen_ai_calls_total", 18)) continue;
        assert_int_equal(pt_parse_sample(line, s, &why), 0);
        bool found = false;
        for (uint32_t i = 0; i < calls->n_points && !found; i++) {
            const spanmetrics_point *pt = &calls->points[i];
            if ((int)pt->n_labels != s->n_labels) continue;
            bool same = pt->value == s->value;
            for (uint32_t l = 0; l < pt->n_labels && same; l++) {
                lt_buf ln = {0};
                promtext_label_name(&ln, pt->labels[l].name);
                const char *v = pt_label(s, ln.data);
                same = v && !strcmp(v, pt->labels[l].value);
                buf_free(&ln);
            }
            found = same;
        }
        if (!found) fail_msg("sample not in the snapshot: %s", line);
        matched++;
        const char *svc = pt_label(s, "service_name");
        if (svc && !strcmp(svc, hostile_service)) {
            hostile++;
            assert_string_equal(pt_label(s, "tenant"), "a\\\"b\n");
            assert_string_equal(pt_label(s, "status_code"), "STATUS_CODE_ERROR");
            /* cut at SPANMETRICS_MAX_VALUE bytes, on a character boundary */
            assert_int_equal(strlen(pt_label(s, "span_name")), SPANMETRICS_MAX_VALUE);
            assert_memory_equal(pt_label(s, "span_name"), "\xc3\xa9x", 3);
        } else {
            assert_string_equal(pt_label(s, "tenant"), "none"); /* the default */
        }
    }
    assert_int_equal(matched, calls->n_points);
    assert_int_equal(hostile, 1);
    /* the escapes themselves, as written */
    assert_non_null(
        strstr(text.data, "service_name=\"svc \\\"quoted\\\" back\\\\slash\\nnew line\""));
    free(s);

    /* deterministic: the same values render to the same bytes */
    spanmetrics_snap again;
    assert_int_equal(spanmetrics_snapshot(sm, &again), 0);
    lt_buf text2 = {0};
    assert_int_equal(promtext_render(&text2, &again), 0);
    assert_int_equal(text.len, text2.len);
    assert_memory_equal(text.data, text2.data, text.len);
    buf_free(&text2);
    spanmetrics_snapshot_free(&again);

    buf_free(&text);
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
    cfg_reset();
}

static void test_value_format(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},           {67, "67"},
                 {0.1, "0.1"},       {1e-3, "0.001"},
                 {2.5, "2.5"},       {1e21, "1e+21"},
                 {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
                 {NAN, "NaN"},       {1.0 / 3, "0.3333333333333333"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_buf b = {0};
        promtext_value(&b, cases[i].v);
        assert_string_equal(b.data, cases[i].want);
        buf_free(&b);
    }
    static const struct {
        const char *name, *unit;
        spanmetrics_type type;
        const char *want;
    } names[] = {
        {"traces.span.metrics.calls", "", SPANMETRICS_COUNTER, "traces_span_metrics_calls_total"},
        {"traces.span.metrics.duration", "ms", SPANMETRICS_HISTOGRAM,
         "traces_span_metrics_duration_milliseconds"},
        {"calls", "", SPANMETRICS_COUNTER, "calls_total"},
        {"a.tokens", "{token}", SPANMETRICS_COUNTER, "a_tokens_total"},
        {"x.duration_seconds", "s", SPANMETRICS_HISTOGRAM, "x_duration_seconds"},
        {"1st..odd--name", "s", SPANMETRICS_HISTOGRAM, "_1st_odd_name_seconds"},
        {"already_total", "", SPANMETRICS_COUNTER, "already_total"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        spanmetrics_metric m = {
            .name = names[i].name, .unit = names[i].unit, .type = names[i].type};
        lt_buf b = {0};
        promtext_metric_name(&b, &m);
        assert_string_equal(b.data, names[i].want);
        buf_free(&b);
    }
    lt_buf b = {0};
    promtext_label_name(&b, "gen_ai.request.model");
    promtext_label_name(&b, "|9x-y");
    assert_string_equal(b.data, "gen_ai_request_model_9x_y");
    b.len = 0;
    promtext_label_name(&b, "9lives");
    assert_string_equal(b.data, "key_9lives");
    buf_free(&b);
}

/* ---- threads ---- */

typedef struct {
    spanmetrics *sm;
    const fx_scenario *fo;
} worker;

static void *consume_loop(void *p)
{
    worker *w = p;
    for (int i = 0; i < 50; i++)
        folder_consume(w->sm, w->fo);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    fx_scenario fo;
    load(&fo, "otel/batch-proto");
    spanmetrics *sm = sm_make(NULL);
    worker w = {sm, &fo};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, consume_loop, &w), 0);
    /* snapshots taken meanwhile are consistent: calls and duration counts agree */
    for (int k = 0; k < 20; k++) {
        spanmetrics_snap snap;
        assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
        const spanmetrics_metric *c = find_metric(&snap, "traces.span.metrics.calls");
        const spanmetrics_metric *d = find_metric(&snap, "traces.span.metrics.duration");
        for (uint32_t i = 0; c && i < c->n_points; i++)
            assert_int_equal((uint64_t)c->points[i].value, d->points[i].count);
        spanmetrics_snapshot_free(&snap);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    assert_true(total(find_metric(&snap, "traces.span.metrics.calls")) == 4 * 50 * 220);
    assert_true(total(find_metric(&snap, "traces.span.metrics.gen_ai.usage.input_tokens")) ==
                4 * 50 * (20121.0 + 19800 + 19179));
    spanmetrics_snapshot_free(&snap);
    spanmetrics_free(sm);
    fx_free(&fo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),     cmocka_unit_test(test_provider_names),
        cmocka_unit_test(test_alias_table),  cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_config),       cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_value_format), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_memory_bound), cmocka_unit_test(test_alloc_failure),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    genai_prices_free(fx_prices);
    return rc;
}
