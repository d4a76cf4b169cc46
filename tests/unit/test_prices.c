/* test_prices.c — unit tests of the price table and cost (genai_prices_*, genai_price_apply).
 *
 * Cost cases are a table over one small price file written at setup: OpenAI-style usage
 * (cached inside input, reasoning inside output), Anthropic-style (cache read and write), a
 * separate reasoning price, clamping, reported cost, unknown models. Then the matching
 * rules (exact, pattern, most specific pattern, leading wildcards, providers, "*"), effective
 * dates, overlays, every validation error (bad files written into a temp dir), the built-in
 * table, and allocation failure at every allocation of a load. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "genai/genai.h"
#include "model/model.h"

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */
/* ------------------------------------------------------------------------------------ */

static char tmpdir[256];

/* Writes text to tmpdir/name and returns the path (static buffer, one at a time). */
static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Unix nanoseconds of "YYYY-MM-DD" at hh:mm:ss UTC. */
static uint64_t at(const char *date, int hh, int mm, int ss)
{
    struct tm tm = {0};
    assert_int_equal(sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday), 3);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    return (uint64_t)t * 1000000000ull;
}

static uint64_t day(const char *date)
{
    return at(date, 12, 0, 0);
}

enum { NONE = -1 }; /* token count absent */

static void set_int(lt_genai *g, genai_field f, int64_t v)
{
    if (v == NONE) return;
    g->v[f].type = LT_VAL_INT;
    g->v[f].u.i = v;
}

static void set_str(lt_genai *g, genai_field f, const char *s)
{
    if (!s) return;
    g->v[f].type = LT_VAL_STRING;
    g->v[f].u.s = lt_str_c(s);
}

/* A view with the given provider, models and usage (NONE = absent). */
static lt_genai view(const char *provider, const char *resp, const char *req, int64_t in,
                     int64_t out, int64_t cache_read, int64_t cache_write, int64_t reasoning)
{
    lt_genai g;
    memset(&g, 0, sizeof g);
    set_str(&g, GA_PROVIDER, provider);
    set_str(&g, GA_RESPONSE_MODEL, resp);
    set_str(&g, GA_REQUEST_MODEL, req);
    set_int(&g, GA_INPUT_TOKENS, in);
    set_int(&g, GA_OUTPUT_TOKENS, out);
    set_int(&g, GA_CACHE_READ, cache_read);
    set_int(&g, GA_CACHE_CREATION, cache_write);
    set_int(&g, GA_REASONING, reasoning);
    return g;
}

static const char *source(const lt_genai *g)
{
    static char buf[64];
    if (g->v[GA_COST_SOURCE].type != LT_VAL_STRING) return "(none)";
    snprintf(buf, sizeof buf, "%.*s", (int)g->v[GA_COST_SOURCE].u.s.len,
             g->v[GA_COST_SOURCE].u.s.ptr);
    return buf;
}

static void assert_cost(const lt_genai *g, double usd)
{
    assert_int_equal(g->v[GA_COST].type, LT_VAL_DOUBLE);
    if (fabs(g->v[GA_COST].u.d - usd) > 1e-12 * (1 + fabs(usd))) {
        fail_msg("cost %.12g, want %.12g", g->v[GA_COST].u.d, usd);
    }
}

/* Prices a view and checks the outcome: usd < 0 means no cost expected. */
static void check(const genai_prices *p, uint64_t t, lt_genai g, const char *want_source,
                  double usd)
{
    genai_price_apply(p, t, &g);
    assert_string_equal(source(&g), want_source);
    if (usd < 0)
        assert_int_equal(g.v[GA_COST].type, LT_VAL_EMPTY);
    else
        assert_cost(&g, usd);
}

static genai_prices *load_text(const char *name, const char *text, const genai_prices *base)
{
    char err[512];
    genai_prices *p = NULL;
    int rc = genai_prices_load(write_file(name, text), base, &p, err, sizeof err);
    if (rc) fail_msg("load %s: %d %s", name, rc, err);
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------------------------------------ */
/* The test table                                                                       */
/* ------------------------------------------------------------------------------------ */

static const char *table_json =
    "{\"format\": \"test table\", \"version\": 1, \"models\": [\n"
    /* OpenAI-style: cache read discounted, cache write at input price */
    "{\"provider\": \"openai\", \"match\": \"gpt-x\", \"effective_from\": \"2024-01-01\","
    " \"input\": 2, \"cache_read\": 1, \"output\": 8},\n"
    /* Anthropic-style pattern, cache write 1.25x, read 0.1x */
    "{\"provider\": [\"anthropic\", \"aws.bedrock\"], \"match\": \"claude-x*\","
    " \"effective_from\": \"2024-01-01\", \"input\": 3, \"cache_read\": 0.3,"
    " \"cache_write\": 3.75, \"output\": 15},\n"
    /* a separate reasoning price */
    "{\"provider\": \"gcp.gemini\", \"match\": \"think-x\", \"effective_from\": \"2024-01-01\","
    " \"input\": 1, \"output\": 2, \"reasoning\": 10},\n"
    /* exact beats pattern; most specific pattern wins */
    "{\"provider\": \"openai\", \"match\": \"gpt-4o\", \"effective_from\": \"2024-01-01\","
    " \"input\": 100, \"output\": 100},\n"
    "{\"provider\": \"openai\", \"match\": \"gpt-4o-*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 200, \"output\": 200},\n"
    "{\"provider\": \"openai\", \"match\": \"gpt-4o-mini-*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 300, \"output\": 300},\n"
    "{\"provider\": \"openai\", \"match\": \"gpt-4o-mini-2024-07-18\","
    " \"effective_from\": \"2024-01-01\", \"input\": 400, \"output\": 400},\n"
    "{\"provider\": \"catchall\", \"match\": \"*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 1, \"output\": 1},\n"
    "{\"provider\": \"catchall\", \"match\": \"gpt-4o-*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 2, \"output\": 1},\n"
    /* ties: same literal count, fewer stars first; '?' is one byte */
    "{\"provider\": \"t\", \"match\": \"x*y\", \"effective_from\": \"2024-01-01\","
    " \"input\": 10, \"output\": 0},\n"
    "{\"provider\": \"t\", \"match\": \"*x*y*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 20, \"output\": 0},\n"
    "{\"provider\": \"t\", \"match\": \"x?y\", \"effective_from\": \"2024-01-01\","
    " \"input\": 30, \"output\": 0},\n"
    /* leading-wildcard patterns compete with first-byte patterns */
    "{\"provider\": \"aws.bedrock\", \"match\": \"*anthropic.claude-x-*\","
    " \"effective_from\": \"2024-01-01\", \"input\": 40, \"output\": 0},\n"
    "{\"provider\": \"aws.bedrock\", \"match\": \"us.*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 50, \"output\": 0},\n"
    "{\"provider\": \"aws.bedrock\", \"match\": \"us.anthropic.claude-x-v2*\","
    " \"effective_from\": \"2024-01-01\", \"input\": 60, \"output\": 0},\n"
    /* price changes over time */
    "{\"provider\": \"openai\", \"match\": \"dated\", \"effective_from\": \"2025-01-01\","
    " \"input\": 10, \"output\": 40},\n"
    "{\"provider\": \"openai\", \"match\": \"dated\", \"effective_from\": \"2025-06-10\","
    " \"input\": 2, \"output\": 8},\n"
    "{\"provider\": \"openai\", \"match\": \"late-*\", \"effective_from\": \"2024-01-01\","
    " \"input\": 5, \"output\": 0},\n"
    "{\"provider\": \"openai\", \"match\": \"late-exact\", \"effective_from\": \"2025-01-01\","
    " \"input\": 7, \"output\": 0},\n"
    /* one model, several providers; "*" providers */
    "{\"provider\": \"zzz\", \"match\": \"shared\", \"effective_from\": \"2024-01-01\","
    " \"input\": 9, \"output\": 0},\n"
    "{\"provider\": \"aaa\", \"match\": \"shared\", \"effective_from\": \"2024-01-01\","
    " \"input\": 8, \"output\": 0},\n"
    "{\"provider\": \"aaa\", \"match\": \"shared\", \"effective_from\": \"2030-01-01\","
    " \"input\": 18, \"output\": 0},\n"
    "{\"provider\": \"bbb\", \"match\": \"future-first\", \"effective_from\": \"2024-01-01\","
    " \"input\": 12, \"output\": 0},\n"
    "{\"provider\": \"aaa\", \"match\": \"future-first\", \"effective_from\": \"2030-01-01\","
    " \"input\": 11, \"output\": 0},\n"
    "{\"provider\": \"*\", \"match\": \"selfhost\", \"effective_from\": \"2024-01-01\","
    " \"input\": 1, \"output\": 0},\n"
    "{\"provider\": \"vllm\", \"match\": \"selfhost\", \"effective_from\": \"2024-01-01\","
    " \"input\": 3, \"output\": 0, \"note\": \"beats the any-provider entry\"}\n"
    "]}\n";

static genai_prices *table;

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lt-prices-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    char err[512];
    const char *path = write_file("table.json", table_json);
    if (genai_prices_load(path, NULL, &table, err, sizeof err)) {
        fprintf(stderr, "table.json: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    genai_prices_free(table);
    DIR *d = opendir(tmpdir);
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

/* ------------------------------------------------------------------------------------ */
/* Cost                                                                                 */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *provider, *resp, *req;
    int64_t in, out, cache_read, cache_write, reasoning;
    const char *source;
    double usd; /* < 0: no cost */
} cost_case;

static const cost_case cost_cases[] = {
    /* OpenAI: 1000 input of which 400 cached, 500 output of which 200 reasoning (billed as
     * output): 600*2 + 400*1 + 500*8 */
    {"openai cached+reasoning", "openai", "gpt-x", NULL, 1000, 500, 400, NONE, 200, "computed",
     5600e-6},
    {"openai plain", "openai", "gpt-x", NULL, 1000, 500, NONE, NONE, NONE, "computed", 6000e-6},
    {"openai all cached", "openai", "gpt-x", NULL, 500, 0, 500, NONE, NONE, "computed", 500e-6},
    /* Anthropic: 100 fresh + 2000 read + 500 written = 2600 input; 300 output */
    {"anthropic cache read+write", "anthropic", "claude-x-20250101", NULL, 2600, 300, 2000, 500,
     NONE, "computed", (100 * 3 + 2000 * 0.3 + 500 * 3.75 + 300 * 15) * 1e-6},
    {"anthropic via bedrock provider", "aws.bedrock", "claude-x-20250101", NULL, 2600, 300, 2000,
     500, NONE, "computed", (100 * 3 + 2000 * 0.3 + 500 * 3.75 + 300 * 15) * 1e-6},
    /* reasoning priced apart: 1000*1 + (1000-600)*2 + 600*10 */
    {"reasoning price", "gcp.gemini", "think-x", NULL, 1000, 1000, NONE, NONE, 600, "computed",
     7800e-6},
    {"reasoning price, no reasoning tokens", "gcp.gemini", "think-x", NULL, 1000, 1000, NONE, NONE,
     NONE, "computed", 3000e-6},
    /* subsets larger than their totals: the remainder is 0, each subset priced once */
    {"cache exceeds input", "anthropic", "claude-x", NULL, 100, 0, 300, 50, NONE, "computed",
     (300 * 0.3 + 50 * 3.75) * 1e-6},
    {"reasoning exceeds output", "gcp.gemini", "think-x", NULL, 0, 10, NONE, NONE, 50, "computed",
     500e-6},
    {"negative counts are 0", "openai", "gpt-x", NULL, -5, -7, -1, -1, -1, "computed", 0},
    {"output only", "openai", "gpt-x", NULL, NONE, 100, NONE, NONE, NONE, "computed", 800e-6},
    {"input only", "openai", "gpt-x", NULL, 100, NONE, NONE, NONE, NONE, "computed", 200e-6},
    {"zero tokens", "openai", "gpt-x", NULL, 0, 0, NONE, NONE, NONE, "computed", 0},
    /* nothing to price: the view is left alone */
    {"no token counts", "openai", "gpt-x", NULL, NONE, NONE, 10, 10, 10, "(none)", -1},
    {"unknown model", "openai", "nope", NULL, 10, 10, NONE, NONE, NONE, "unknown_model", -1},
    {"no model at all", "openai", NULL, NULL, 10, 10, NONE, NONE, NONE, "unknown_model", -1},
    /* a gateway: the client names its API's provider, the model is another's */
    {"known model, other provider", "anthropic", "gpt-x", NULL, 10, 10, NONE, NONE, NONE,
     "computed", 100e-6},
    {"provider absent: by model alone", NULL, "gpt-x", NULL, 1000, 0, NONE, NONE, NONE, "computed",
     2000e-6},
    {"empty provider = absent", "", "gpt-x", NULL, 1000, 0, NONE, NONE, NONE, "computed", 2000e-6},
    /* response model first, request model when the response model is unknown */
    {"response model first", "openai", "gpt-x", "gpt-4o", 1000, 0, NONE, NONE, NONE, "computed",
     2000e-6},
    {"request model fallback", "openai", "gpt-x-unknown-ft", "gpt-x", 1000, 0, NONE, NONE, NONE,
     "computed", 2000e-6},
    {"request model only", "openai", NULL, "gpt-x", 1000, 0, NONE, NONE, NONE, "computed", 2000e-6},
};

static void test_cost_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cost_cases / sizeof cost_cases[0]; i++) {
        const cost_case *c = &cost_cases[i];
        lt_genai g = view(c->provider, c->resp, c->req, c->in, c->out, c->cache_read,
                          c->cache_write, c->reasoning);
        genai_price_apply(table, day("2025-03-01"), &g);
        if (strcmp(source(&g), c->source) != 0)
            fail_msg("%s: source %s, want %s", c->name, source(&g), c->source);
        if (c->usd < 0) {
            if (g.v[GA_COST].type != LT_VAL_EMPTY) fail_msg("%s: unexpected cost", c->name);
        } else {
            if (g.v[GA_COST].type != LT_VAL_DOUBLE) fail_msg("%s: no cost", c->name);
            if (fabs(g.v[GA_COST].u.d - c->usd) > 1e-12)
                fail_msg("%s: cost %.12g, want %.12g", c->name, g.v[GA_COST].u.d, c->usd);
            if (g.v[GA_COST].u.d < 0) fail_msg("%s: negative cost", c->name);
        }
        /* nothing but cost and its source is touched */
        lt_genai want = view(c->provider, c->resp, c->req, c->in, c->out, c->cache_read,
                             c->cache_write, c->reasoning);
        for (int f = 0; f < GA_N_FIELDS; f++)
            if (f != GA_COST && f != GA_COST_SOURCE &&
                memcmp(&g.v[f], &want.v[f], sizeof g.v[f]) != 0)
                fail_msg("%s: field %s changed", c->name, model_genai_fields[f].key);
    }
}

/* The cost equals the sum over disjoint buckets, and each token is priced exactly once:
 * moving a token between buckets changes the cost by exactly the price difference. */
static void test_no_double_counting(void **state)
{
    (void)state;
    for (int64_t cached = 0; cached <= 1000; cached += 250)
        for (int64_t reasoning = 0; reasoning <= 500; reasoning += 125) {
            lt_genai g = view("gcp.gemini", "think-x", NULL, 1000, 500, cached, NONE, reasoning);
            genai_price_apply(table, day("2025-03-01"), &g);
            /* think-x: cache_read defaults to input (1), so cached tokens cost as fresh */
            assert_cost(&g, (1000 * 1.0 + (500 - reasoning) * 2.0 + reasoning * 10.0) * 1e-6);
            lt_genai o = view("openai", "gpt-x", NULL, 1000, 500, cached, NONE, reasoning);
            genai_price_apply(table, day("2025-03-01"), &o);
            assert_cost(&o, ((1000 - cached) * 2.0 + cached * 1.0 + 500 * 8.0) * 1e-6);
        }
}

static void test_reported_cost(void **state)
{
    (void)state;
    lt_genai g = view("openai", "gpt-x", NULL, 1000, 500, NONE, NONE, NONE);
    g.v[GA_COST].type = LT_VAL_DOUBLE;
    g.v[GA_COST].u.d = 0.125;
    genai_price_apply(table, day("2025-03-01"), &g);
    assert_string_equal(source(&g), "reported");
    assert_cost(&g, 0.125);

    /* kept even without token counts or a known model */
    g = view(NULL, "nope", NULL, NONE, NONE, NONE, NONE, NONE);
    g.v[GA_COST].type = LT_VAL_DOUBLE;
    g.v[GA_COST].u.d = 2.5;
    genai_price_apply(table, day("2025-03-01"), &g);
    assert_string_equal(source(&g), "reported");
    assert_cost(&g, 2.5);

    /* applying twice changes nothing: a computed cost stays "computed" */
    g = view("openai", "gpt-x", NULL, 1000, 0, NONE, NONE, NONE);
    genai_price_apply(table, day("2025-03-01"), &g);
    genai_price_apply(table, day("2025-03-01"), &g);
    assert_string_equal(source(&g), "computed");
    assert_cost(&g, 2000e-6);

    /* a NULL table prices nothing */
    check(NULL, day("2025-03-01"), view("openai", "gpt-x", NULL, 1, 1, NONE, NONE, NONE),
          "unknown_model", -1);
}

/* ------------------------------------------------------------------------------------ */
/* Matching                                                                             */
/* ------------------------------------------------------------------------------------ */

/* The input price (USD per million) the table applies to model for provider on date, or -1
 * for unknown_model. */
static double input_price(const genai_prices *p, const char *provider, const char *model,
                          uint64_t t)
{
    lt_genai g = view(provider, model, NULL, 1000000, 0, NONE, NONE, NONE);
    genai_price_apply(p, t, &g);
    if (strcmp(source(&g), "unknown_model") == 0) return -1;
    assert_string_equal(source(&g), "computed");
    return g.v[GA_COST].u.d;
}

static void test_exact_and_patterns(void **state)
{
    (void)state;
    uint64_t t = day("2025-03-01");
    const struct {
        const char *provider, *model;
        double price;
    } cases[] = {
        {"openai", "gpt-4o", 100},                 /* exact beats "gpt-4o-*" */
        {"openai", "gpt-4o-2024-08-06", 200},      /* pattern */
        {"openai", "gpt-4o-mini-2024-09-01", 300}, /* the more specific pattern */
        {"openai", "gpt-4o-mini-2024-07-18", 400}, /* exact beats every pattern */
        {"openai", "gpt-4o-mini", 200},            /* "gpt-4o-mini-*" needs the dash */
        {"catchall", "anything", 1},               /* catch-all "*" */
        {"catchall", "g", 1},
        {"catchall", "gpt-4o-x", 2}, /* any other pattern beats "*" */
        {"openai", "anything", -1},
        {"t", "xaby", 10},  /* "x*y" (1 star) before "*x*y*" (3 stars) */
        {"t", "xay", 30},   /* "x?y": as many literals as "x*y", no star */
        {"t", "zxaby", 20}, /* only "*x*y*" matches */
        {"t", "xy", 10},
        {"t", "yx", -1},
        {"aws.bedrock", "anthropic.claude-x-v1:0", 40},    /* leading wildcard matches "" */
        {"aws.bedrock", "us.anthropic.claude-x-v1:0", 40}, /* 19 literals beat "us.*" */
        {"aws.bedrock", "us.anthropic.claude-x-v2:0", 60}, /* 24 literals beat 19 */
        {"aws.bedrock", "us.amazon.nova-pro-v1:0", 50},    /* only "us.*" */
        {"aws.bedrock", "eu.anthropic.claude-x-v2:0", 40}, /* "us.*" does not apply */
        {"aws.bedrock", "claude-x-3", 3},                  /* the anthropic+bedrock entry */
        {"openai", "late-exact", 7},                       /* exact in effect */
        {"openai", "Gpt-4o", -1},                          /* case-sensitive */
        {"vllm", "selfhost", 3},                           /* provider beats "*" provider */
        {"ollama", "selfhost", 1},                         /* "*" provider: any provider */
        {NULL, "selfhost", 1},                             /* no provider: "*" sorts first */
        {NULL, "shared", 8},                               /* no provider: "aaa" < "zzz" */
        {"zzz", "shared", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = input_price(table, cases[i].provider, cases[i].model, t);
        if (fabs(got - cases[i].price) > 1e-9)
            fail_msg("%s/%s: price %g, want %g", cases[i].provider ? cases[i].provider : "-",
                     cases[i].model, got, cases[i].price);
    }
}

static void test_effective_dates(void **state)
{
    (void)state;
    /* "dated": 10 from 2025-01-01, 2 from 2025-06-10 (midnight UTC) */
    assert_true(input_price(table, "openai", "dated", at("2024-12-31", 23, 59, 59)) == -1);
    assert_true(input_price(table, "openai", "dated", at("2025-01-01", 0, 0, 0)) == 10);
    assert_true(input_price(table, "openai", "dated", day("2025-03-01")) == 10);
    assert_true(input_price(table, "openai", "dated", at("2025-06-09", 23, 59, 59)) == 10);
    assert_true(input_price(table, "openai", "dated", at("2025-06-10", 0, 0, 0)) == 2);
    assert_true(input_price(table, "openai", "dated", day("2031-01-01")) == 2);
    /* time 0 (unknown): the newest entries */
    assert_true(input_price(table, "openai", "dated", 0) == 2);
    /* a span before any entry's date */
    assert_true(input_price(table, "openai", "gpt-x", day("2023-12-31")) == -1);
    check(table, day("2020-01-01"), view("openai", "gpt-x", NULL, 10, 10, NONE, NONE, NONE),
          "unknown_model", -1);
    /* an exact entry not yet in effect leaves the model to the patterns */
    assert_true(input_price(table, "openai", "late-exact", day("2024-06-01")) == 5);
    assert_true(input_price(table, "openai", "late-exact", day("2025-06-01")) == 7);
    /* without a provider, a provider whose entries are all in the future is skipped */
    assert_true(input_price(table, NULL, "future-first", day("2025-03-01")) == 12);
    assert_true(input_price(table, NULL, "future-first", day("2031-01-01")) == 11);
    assert_true(input_price(table, NULL, "shared", day("2031-01-01")) == 18);
}

/* ------------------------------------------------------------------------------------ */
/* Overlays                                                                             */
/* ------------------------------------------------------------------------------------ */

static void test_overlay(void **state)
{
    (void)state;
    genai_prices *base = load_text("base.json", table_json, NULL);
    genai_prices *over = load_text(
        "overlay.json",
        "{\"version\": 1, \"models\": ["
        /* replaces (same provider, match, effective_from) */
        "{\"provider\": \"openai\", \"match\": \"gpt-x\", \"effective_from\": \"2024-01-01\","
        " \"input\": 4, \"output\": 8},"
        /* adds a later price to an existing match */
        "{\"provider\": \"openai\", \"match\": \"gpt-x\", \"effective_from\": \"2025-05-01\","
        " \"input\": 6, \"output\": 8},"
        /* adds a model and a provider to an existing model */
        "{\"provider\": \"mine\", \"match\": \"my-model-*\", \"effective_from\": \"2024-01-01\","
        " \"input\": 0.5, \"output\": 1},"
        "{\"provider\": \"azure.ai.openai\", \"match\": \"gpt-x\","
        " \"effective_from\": \"2024-01-01\", \"input\": 2.2, \"output\": 8}"
        "]}",
        base);
    /* the overlay copied what it needs: base may go first */
    genai_prices_free(base);
    uint64_t t = day("2025-03-01");
    assert_true(input_price(over, "openai", "gpt-x", t) == 4);
    assert_true(input_price(over, "openai", "gpt-x", day("2025-05-02")) == 6);
    assert_true(input_price(over, "mine", "my-model-7b", t) == 0.5);
    assert_true(fabs(input_price(over, "azure.ai.openai", "gpt-x", t) - 2.2) < 1e-9);
    /* base's other entries are kept */
    assert_true(input_price(over, "openai", "gpt-4o-mini-2024-09-01", t) == 300);
    assert_true(input_price(over, "aws.bedrock", "us.anthropic.claude-x-v2:0", t) == 60);
    check(over, t, view("anthropic", "claude-x", NULL, 2600, 300, 2000, 500, NONE), "computed",
          (100 * 3 + 2000 * 0.3 + 500 * 3.75 + 300 * 15) * 1e-6);

    /* an overlay over an overlay; the table in between is unchanged */
    genai_prices *over2 = load_text("overlay2.json",
                                    "{\"version\": 1, \"models\": ["
                                    "{\"provider\": \"openai\", \"match\": \"gpt-x\","
                                    " \"effective_from\": \"2024-01-01\", \"input\": 5,"
                                    " \"output\": 8}]}",
                                    over);
    assert_true(input_price(over2, "openai", "gpt-x", t) == 5);
    assert_true(input_price(over, "openai", "gpt-x", t) == 4);
    genai_prices_free(over2);
    genai_prices_free(over);

    /* the built-in table as base, an empty overlay */
    genai_prices *builtin = NULL;
    char err[256];
    assert_int_equal(genai_prices_load(NULL, NULL, &builtin, err, sizeof err), 0);
    genai_prices *same = load_text("empty.json", "{\"version\": 1, \"models\": []}", builtin);
    assert_true(fabs(input_price(same, "openai", "gpt-4o-mini-2024-07-18", t) - 0.15) < 1e-12);
    genai_prices_free(same);
    /* the built-in table over a base */
    genai_prices *mine = load_text("mine.json",
                                   "{\"version\": 1, \"models\": [{\"provider\": \"mine\","
                                   " \"match\": \"m\", \"effective_from\": \"2024-01-01\","
                                   " \"input\": 1, \"output\": 1}]}",
                                   NULL);
    genai_prices *both = NULL;
    assert_int_equal(genai_prices_load(NULL, mine, &both, err, sizeof err), 0);
    assert_true(input_price(both, "mine", "m", t) == 1);
    assert_true(fabs(input_price(both, "openai", "gpt-4o-mini", t) - 0.15) < 1e-12);
    genai_prices_free(both);
    genai_prices_free(mine);
    genai_prices_free(builtin);
}

/* ------------------------------------------------------------------------------------ */
/* Validation                                                                           */
/* ------------------------------------------------------------------------------------ */

#define OK_ENTRY                                                                                   \
    "{\"provider\": \"p\", \"match\": \"m\", \"effective_from\": \"2024-01-01\", \"input\": 1,"    \
    " \"output\": 2}"

typedef struct {
    const char *text;
    const char *want; /* substring of the message, after "PATH: " */
} bad_case;

static const bad_case bad_cases[] = {
    {"{", ":1:"}, /* JSON syntax: line and column */
    {"", ":1:"},
    {"[]", "the top level must be a JSON object"},
    {"{\"version\": 1, \"models\": [], \"extra\": 1}", "unknown top-level field \"extra\""},
    {"{\"models\": []}", "missing required field \"version\""},
    {"{\"version\": 2, \"models\": []}", "version: unsupported (this build reads 1)"},
    {"{\"version\": \"1\", \"models\": []}", "version: unsupported"},
    {"{\"version\": 1}", "missing required field \"models\""},
    {"{\"version\": 1, \"models\": {}}", "models: must be an array"},
    {"{\"version\": 1, \"format\": 7, \"models\": []}", "format: must be a string"},
    {"{\"version\": 1, \"version\": 1, \"models\": []}", "duplicate"}, /* JSON duplicate key */
    {"{\"version\": 1, \"models\": [" OK_ENTRY ", 5]}", "models[1]: must be an object"},
    {"{\"version\": 1, \"models\": [" OK_ENTRY ", {\"provider\": \"p\", \"match\": \"n\","
     " \"effective_from\": \"2024-01-01\", \"inptu\": 1, \"output\": 2}]}",
     "models[1]: unknown field \"inptu\""},
    {"{\"version\": 1, \"models\": [{\"match\": \"m\", \"effective_from\": \"2024-01-01\","
     " \"input\": 1, \"output\": 2}]}",
     "models[0]: missing required field \"provider\""},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"effective_from\": \"2024-01-01\","
     " \"input\": 1, \"output\": 2}]}",
     "models[0]: missing required field \"match\""},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\", \"input\": 1,"
     " \"output\": 2}]}",
     "models[0]: missing required field \"effective_from\""},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"output\": 2}]}",
     "models[0]: missing required field \"input\""},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 2}]}",
     "models[0]: missing required field \"output\""},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": -1, \"output\": 2}]}",
     "models[0].input: must be a number >= 0"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": -0.01}]}",
     "models[0].output: must be a number >= 0"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2, \"cache_read\": -3}]}",
     "models[0].cache_read: must be a number >= 0"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2, \"cache_write\": \"1\"}]}",
     "models[0].cache_write: must be a number >= 0"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2, \"reasoning\": null}]}",
     "models[0].reasoning: must be a number >= 0"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2, \"note\": 1}]}",
     "models[0].note: must be a string"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].match: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": [\"m\"],"
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].match: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"a\\u0000b\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "\\u0000 is not allowed"},
    {"{\"version\": 1, \"models\": [{\"provider\": \"\", \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].provider: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": [], \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].provider: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": [\"a\", 3], \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].provider: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": 1, \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].provider: must be a non-empty string"},
    {"{\"version\": 1, \"models\": [{\"provider\": [\"a\", \"b\", \"a\"], \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
     "models[0].provider: \"a\" is listed twice"},
    {"{\"version\": 1, \"models\": [" OK_ENTRY ", " OK_ENTRY "]}",
     "models[1]: duplicate of models[0] (same provider \"p\", match and effective_from)"},
    {"{\"version\": 1, \"models\": [{\"provider\": [\"q\", \"p\"], \"match\": \"m\","
     " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}, {\"provider\": \"x\","
     " \"match\": \"y\", \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": "
     "2}, " OK_ENTRY "]}",
     "models[2]: duplicate of models[0] (same provider \"p\""},
};

static const char *bad_dates[] = {
    "2024-13-01",           "2024-00-10", "2024-02-30", "2023-02-29", "2100-02-29",
    "2024-04-31",           "2024-01-00", "24-01-01",   "2024-1-01",  "2024/01/01",
    "2024-01-01T00:00:00Z", "1969-12-31", "",           "2024-01-0x",
};

static void expect_error(const char *text, const char *want, int want_rc)
{
    const char *path = write_file("bad.json", text);
    char err[512] = "unset";
    genai_prices *p = (genai_prices *)&err; /* must be reset to NULL */
    int rc = genai_prices_load(path, NULL, &p, err, sizeof err);
    if (rc != want_rc) fail_msg("%s: rc %d, want %d (%s)", text, rc, want_rc, err);
    assert_null(p);
    /* the message names the file first */
    if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, want))
        fail_msg("%s:\n  message: %s\n  want:    %s: ...%s...", text, err, path, want);
}

static void test_validation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        expect_error(bad_cases[i].text, bad_cases[i].want, LT_EINVAL);
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"version\": 1, \"models\": [" OK_ENTRY ", {\"provider\": \"p\", \"match\":"
                 " \"m\", \"effective_from\": \"%s\", \"input\": 1, \"output\": 2}]}",
                 bad_dates[i]);
        expect_error(text, "models[1].effective_from: must be a date \"YYYY-MM-DD\"", LT_EINVAL);
    }
    expect_error("{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"m\","
                 " \"effective_from\": 20240101, \"input\": 1, \"output\": 2}]}",
                 "models[0].effective_from: must be a date", LT_EINVAL);
    /* names longer than 256 bytes */
    char text[1024], name[300];
    memset(name, 'a', 257);
    name[257] = 0;
    snprintf(text, sizeof text,
             "{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"%s\","
             " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
             name);
    expect_error(text, "models[0].match: must be a non-empty string of at most 256 bytes",
                 LT_EINVAL);
    snprintf(text, sizeof text,
             "{\"version\": 1, \"models\": [{\"provider\": \"%s\", \"match\": \"m\","
             " \"effective_from\": \"2024-01-01\", \"input\": 1, \"output\": 2}]}",
             name);
    expect_error(text, "models[0].provider: must be a non-empty string", LT_EINVAL);

    /* valid edge cases: leap day, zero prices, a 256-byte name, integers as prices */
    name[256] = 0;
    snprintf(
        text, sizeof text,
        "{\"version\": 1, \"models\": [{\"provider\": \"p\", \"match\": \"%s\","
        " \"effective_from\": \"2024-02-29\", \"input\": 0, \"output\": 0,"
        " \"cache_read\": 0, \"cache_write\": 0, \"reasoning\": 0}, {\"provider\": \"p\","
        " \"match\": \"m\", \"effective_from\": \"2000-02-29\", \"input\": 3, \"output\": 4}]}",
        name);
    genai_prices *p = load_text("edge.json", text, NULL);
    assert_true(input_price(p, "p", name, day("2024-02-29")) == 0);
    assert_true(input_price(p, "p", name, day("2024-02-28")) == -1);
    assert_true(input_price(p, "p", "m", day("2000-02-29")) == 3);
    genai_prices_free(p);

    /* I/O: a missing file */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-file.json", tmpdir);
    char err[512] = "";
    p = NULL;
    assert_int_equal(genai_prices_load(missing, NULL, &p, err, sizeof err), LT_EIO);
    assert_null(p);
    assert_non_null(strstr(err, "no-such-file.json: cannot open"));
    /* a directory */
    assert_int_not_equal(genai_prices_load(tmpdir, NULL, &p, err, sizeof err), 0);
    assert_null(p);
    /* a file over the size limit (16 MiB) */
    snprintf(missing, sizeof missing, "%s/huge.json", tmpdir);
    FILE *f = fopen(missing, "wb");
    assert_non_null(f);
    static char spaces[1 << 16];
    memset(spaces, ' ', sizeof spaces);
    for (int i = 0; i < 17 * 16; i++)
        assert_int_equal(fwrite(spaces, 1, sizeof spaces, f), sizeof spaces);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(genai_prices_load(missing, NULL, &p, err, sizeof err), LT_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err, "huge.json: larger than 16777216 bytes"));
    unlink(missing);
    snprintf(missing, sizeof missing, "%s/no-such-file.json", tmpdir);
    /* no error buffer */
    assert_int_equal(genai_prices_load(missing, NULL, &p, NULL, 0), LT_EIO);
    assert_int_equal(genai_prices_load(write_file("bad.json", "[]"), NULL, &p, NULL, 0), LT_EINVAL);
    /* a tiny buffer is truncated, still NUL-terminated */
    char tiny[8];
    assert_int_equal(genai_prices_load(missing, NULL, &p, tiny, sizeof tiny), LT_EIO);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    genai_prices_free(NULL);
}

/* ------------------------------------------------------------------------------------ */
/* The built-in table                                                                   */
/* ------------------------------------------------------------------------------------ */

static void test_builtin(void **state)
{
    (void)state;
    genai_prices *p = NULL;
    char err[512] = "";
    int rc = genai_prices_load(NULL, NULL, &p, err, sizeof err);
    if (rc) fail_msg("built-in table: %s", err);
    uint64_t t = day("2025-03-01");

    /* OpenAI returns the dated snapshot as the response model: 0.15 / 0.075 / 0.60 */
    check(p, t, view("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", 1000, 500, 200, NONE, NONE),
          "computed", (800 * 0.15 + 200 * 0.075 + 500 * 0.60) * 1e-6);
    check(p, t, view("azure.ai.openai", "gpt-4o-mini-2024-07-18", NULL, 1000, 500, 200, NONE, NONE),
          "computed", (800 * 0.15 + 200 * 0.075 + 500 * 0.60) * 1e-6);
    check(p, t, view(NULL, "gpt-4o-mini-2024-07-18", NULL, 1000, 500, 200, NONE, NONE), "computed",
          (800 * 0.15 + 200 * 0.075 + 500 * 0.60) * 1e-6);
    /* gpt-4o: launch price, then the cut when the alias moved to 2024-08-06 */
    check(p, day("2024-06-01"), view("openai", "gpt-4o", NULL, 1000000, 0, NONE, NONE, NONE),
          "computed", 5.0);
    check(p, t, view("openai", "gpt-4o", NULL, 1000000, 1000000, NONE, NONE, NONE), "computed",
          12.5);
    check(p, t, view("openai", "gpt-4o-2024-05-13", NULL, 1000000, 0, NONE, NONE, NONE), "computed",
          5.0);
    /* o3-mini with reasoning inside output, billed as output */
    check(p, t, view("openai", "o3-mini-2025-01-31", NULL, 1000, 2000, 0, NONE, 1500), "computed",
          (1000 * 1.10 + 2000 * 4.40) * 1e-6);
    /* o1-mini, before and after its price cut; o3 before and after */
    assert_true(fabs(input_price(p, "openai", "o1-mini-2024-09-12", day("2024-12-01")) - 3) <
                1e-12);
    assert_true(fabs(input_price(p, "openai", "o1-mini-2024-09-12", t) - 1.10) < 1e-12);
    assert_true(fabs(input_price(p, "openai", "o3-2025-04-16", day("2025-05-01")) - 10) < 1e-12);
    assert_true(fabs(input_price(p, "openai", "o3-2025-04-16", day("2025-07-01")) - 2) < 1e-12);
    assert_true(fabs(input_price(p, "openai", "gpt-4.1-mini-2025-04-14", day("2025-05-01")) -
                     0.40) < 1e-12);
    assert_true(fabs(input_price(p, "openai", "text-embedding-3-small", t) - 0.02) < 1e-12);
    /* Anthropic: cache write 1.25x, read 0.1x */
    check(p, day("2025-06-01"),
          view("anthropic", "claude-sonnet-4-20250514", NULL, 12000, 800, 10000, 1500, NONE),
          "computed", (500 * 3.0 + 10000 * 0.30 + 1500 * 3.75 + 800 * 15.0) * 1e-6);
    assert_true(
        fabs(input_price(p, "aws.bedrock", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", t) - 3) <
        1e-12);
    assert_true(fabs(input_price(p, "gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", t) - 3) <
                1e-12);
    assert_true(fabs(input_price(p, "anthropic", "claude-opus-4-1-20250805", day("2025-09-01")) -
                     15) < 1e-12);
    /* Gemini 2.5 Flash preview prices thinking apart */
    check(p, day("2025-05-01"),
          view("gcp.gemini", "gemini-2.5-flash-preview-04-17", NULL, 1000, 1000, NONE, NONE, 400),
          "computed", (1000 * 0.15 + 600 * 0.60 + 400 * 3.50) * 1e-6);
    assert_true(fabs(input_price(p, "gcp.vertex_ai", "gemini-2.0-flash-001", t) - 0.10) < 1e-12);
    assert_true(fabs(input_price(p, "gcp.gemini", "gemini-2.0-flash-lite-001", t) - 0.075) < 1e-12);
    assert_true(fabs(input_price(p, "mistral_ai", "mistral-large-2411", t) - 2) < 1e-12);
    /* a provider the table does not know, and a model no one sells */
    check(p, t, view("openai", "my-finetune", NULL, 10, 10, NONE, NONE, NONE), "unknown_model", -1);
    check(p, day("2020-01-01"), view("openai", "gpt-4o-mini", NULL, 10, 10, NONE, NONE, NONE),
          "unknown_model", -1);
    genai_prices_free(p);
}

/* Every Anthropic entry of data/prices.json keeps Anthropic's cache ratios (write 1.25x,
 * read 0.1x of input), every date
 * parses, and every entry has the fields the format requires. */
static void test_builtin_file(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *slash = strstr(path, "tests/unit/test_prices.c");
    assert_non_null(slash);
    snprintf(slash, sizeof path - (size_t)(slash - path), "data/prices.json");
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    assert_true(json_is_string(json_object_get(doc, "format")));
    json_t *models = json_object_get(doc, "models");
    size_t i, n_anthropic = 0;
    json_t *m;
    json_array_foreach(models, i, m)
    {
        json_t *prov = json_object_get(m, "provider");
        bool anthropic = false;
        if (json_is_string(prov))
            anthropic = strstr(json_string_value(json_object_get(m, "match")), "claude") &&
                        strcmp(json_string_value(prov), "aws.bedrock") == 0;
        for (size_t k = 0; json_is_array(prov) && k < json_array_size(prov); k++)
            if (strcmp(json_string_value(json_array_get(prov, k)), "anthropic") == 0)
                anthropic = true;
        /* Claude 3 Haiku is the exception Anthropic publishes: $0.30 write, $0.03 read */
        if (!anthropic || strstr(json_string_value(json_object_get(m, "match")), "claude-3-haiku"))
            continue;
        n_anthropic++;
        double in = json_number_value(json_object_get(m, "input"));
        double cr = json_number_value(json_object_get(m, "cache_read"));
        double cw = json_number_value(json_object_get(m, "cache_write"));
        if (fabs(cw - 1.25 * in) > 1e-9 || fabs(cr - 0.1 * in) > 1e-9)
            fail_msg("models[%zu] (%s): cache_write %g / cache_read %g, want 1.25x / 0.1x of %g", i,
                     json_string_value(json_object_get(m, "match")), cw, cr, in);
    }
    assert_true(n_anthropic >= 10);
    json_decref(doc);
    /* The file on disk loads as an overlay file too (the embedded copy is the same bytes). */
    genai_prices *p = NULL;
    char err[512];
    if (genai_prices_load(path, NULL, &p, err, sizeof err)) fail_msg("%s", err);
    genai_prices_free(p);
}

/* ------------------------------------------------------------------------------------ */
/* Allocation failure                                                                   */
/* ------------------------------------------------------------------------------------ */

static void fail_every_allocation(const char *path, const genai_prices *base)
{
    for (long k = 0;; k++) {
        genai_prices *p = (genai_prices *)&k;
        char err[256] = "";
        alloc_fail_after(k);
        int rc = genai_prices_load(path, base, &p, err, sizeof err);
        alloc_fail_after(-1);
        if (rc == 0) {
            assert_non_null(p);
            assert_true(fabs(input_price(p, "openai", "gpt-4o-mini-2024-07-18", day("2025-03-01")) -
                             (base || !path ? 0.15 : 400)) < 1e-12);
            genai_prices_free(p);
            assert_true(k > 3);
            return;
        }
        if (rc != LT_ENOMEM) fail_msg("allocation %ld: rc %d (%s)", k, rc, err);
        assert_null(p);
        assert_non_null(strstr(err, "out of memory"));
    }
}

static void test_alloc_failures(void **state)
{
    (void)state;
    fail_every_allocation(NULL, NULL);
    const char *path = write_file("alloc.json", table_json);
    fail_every_allocation(path, NULL);
    genai_prices *base = NULL;
    char err[256];
    assert_int_equal(genai_prices_load(NULL, NULL, &base, err, sizeof err), 0);
    char overlay[512];
    snprintf(overlay, sizeof overlay, "%s",
             write_file("alloc-overlay.json", "{\"version\": 1, \"models\": ["
                                              "{\"provider\": \"openai\", \"match\":"
                                              " \"x\", \"effective_from\": \"2024-01-01\","
                                              " \"input\": 1, \"output\": 1}]}"));
    fail_every_allocation(overlay, base);
    genai_prices_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_cases),      cmocka_unit_test(test_no_double_counting),
        cmocka_unit_test(test_reported_cost),   cmocka_unit_test(test_exact_and_patterns),
        cmocka_unit_test(test_effective_dates), cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_validation),      cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_builtin_file),    cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
