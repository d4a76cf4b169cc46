/* test_config.c — unit tests of the configuration: the YAML tree (config.h), the component
 * registry (components.h) and the validation into pipelines (pipeline_config.h).
 *
 * The loader: positions, duplicate and merge keys, aliases (shared, cyclic, the "billion
 * laughs" expansion), ${env} expansion, the size / depth / node limits, every typed read
 * with good and bad values, option tables. The validation: the issue's seed config
 * (tests/data/config/seed.yaml) described as pipelines, then error cases as a table of
 * YAML and the exact positioned message expected; allocation failure at every allocation
 * of a load and build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "pipeline/components.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */
/* ------------------------------------------------------------------------------------ */

static char err[1024];

static cfg_doc *load(const char *text)
{
    cfg_doc *d = NULL;
    int rc = cfg_load_string(text, strlen(text), "t.yaml", &d, err, sizeof err);
    if (rc) fail_msg("load failed (%d): %s", rc, err);
    return d;
}

/* Loading text fails with rc and a message starting with want. */
static void load_fails(const char *text, size_t len, int rc, const char *want)
{
    cfg_doc *d = NULL;
    int got = cfg_load_string(text, len, "t.yaml", &d, err, sizeof err);
    assert_null(d);
    if (got != rc || strncmp(err, want, strlen(want)) != 0)
        fail_msg("rc %d (want %d), message\n  %s\nwanted\n  %s", got, rc, err, want);
}

/* The path of a file of tests/data, found from this source file's path. */
static const char *data_path(const char *name)
{
    static char path[1024];
    const char *f = __FILE__;
    const char *cut = strstr(f, "unit/test_config.c");
    assert_non_null(cut);
    snprintf(path, sizeof path, "%.*sdata/%s", (int)(cut - f), f, name);
    return path;
}

/* ------------------------------------------------------------------------------------ */
/* The tree                                                                             */
/* ------------------------------------------------------------------------------------ */

static void test_positions(void **state)
{
    (void)state;
    cfg_doc *d = load("# a comment\n"
                      "receivers:\n"
                      "  otlp:\n"
                      "    protocols:\n"
                      "      grpc: { endpoint: \"127.0.0.1:4317\" }\n"
                      "list:\n"
                      "  - 1\n"
                      "  -   two\n"
                      "empty:\n"
                      "tilde: ~\n");
    const cfg_node *root = cfg_root(d);
    assert_int_equal(root->kind, CFG_MAP);
    assert_int_equal(root->n, 4);
    assert_string_equal(cfg_name(d), "t.yaml");
    const cfg_node *ep =
        cfg_get(cfg_get(cfg_get(cfg_get(root, "receivers"), "otlp"), "protocols"), "grpc");
    assert_non_null(ep);
    assert_int_equal(ep->kind, CFG_MAP);
    assert_int_equal(ep->line, 5);
    assert_int_equal(ep->column, 13);
    ep = cfg_get(ep, "endpoint");
    assert_string_equal(ep->scalar, "127.0.0.1:4317");
    assert_string_equal(ep->key, "endpoint");
    assert_true(ep->quoted);
    assert_int_equal(ep->line, 5);
    assert_int_equal(ep->column, 25);
    const cfg_node *list = cfg_get(root, "list");
    assert_int_equal(list->kind, CFG_SEQ);
    assert_int_equal(list->n, 2);
    assert_int_equal(list->items[0]->line, 7);
    assert_int_equal(list->items[0]->column, 5);
    assert_false(list->items[0]->quoted);
    assert_null(list->items[0]->key);
    assert_string_equal(list->items[1]->scalar, "two");
    assert_int_equal(list->items[1]->line, 8);
    assert_int_equal(list->items[1]->column, 7);
    assert_int_equal(cfg_get(root, "empty")->kind, CFG_NULL);
    assert_string_equal(cfg_get(root, "empty")->scalar, "");
    assert_int_equal(cfg_get(root, "tilde")->kind, CFG_NULL);
    assert_null(cfg_get(root, "missing"));
    assert_null(cfg_get(list, "list"));
    assert_null(cfg_get(NULL, "x"));
    cfg_free(d);

    d = load("");
    assert_int_equal(cfg_root(d)->kind, CFG_NULL);
    cfg_free(d);
    d = load("'~'");
    assert_int_equal(cfg_root(d)->kind, CFG_SCALAR);
    assert_string_equal(cfg_root(d)->scalar, "~");
    cfg_free(d);
    cfg_free(NULL);
}

static void test_load_errors(void **state)
{
    (void)state;
    const char *dup = "a: 1\nb:\n  c: 2\n  c: 3\n";
    load_fails(dup, strlen(dup), LT_EINVAL,
               "t.yaml:4:3: duplicate key 'c' (first at line 3, column 3)");
    const char *dup2 = "x: 1\ny: 2\nx: 3\n";
    load_fails(dup2, strlen(dup2), LT_EINVAL,
               "t.yaml:3:1: duplicate key 'x' (first at line 1, column 1)");
    const char *merge = "base: &b { x: 1 }\nother:\n  <<: *b\n  y: 2\n";
    load_fails(merge, strlen(merge), LT_EINVAL, "t.yaml:3:3: merge keys ('<<') are not supported");
    const char *broken = "a: [1, 2\nb: 3\n";
    load_fails(broken, strlen(broken), LT_EINVAL, "t.yaml:");
    assert_non_null(strstr(err, "not valid YAML"));
    const char *tab = "a:\n\tb: 1\n";
    load_fails(tab, strlen(tab), LT_EINVAL, "t.yaml:2:");
    const char *two = "a: 1\n---\nb: 2\n";
    load_fails(two, strlen(two), LT_EINVAL, "t.yaml:3:1: a second document");
    const char *complex = "? [a, b]\n: 1\n";
    load_fails(complex, strlen(complex), LT_EINVAL, "t.yaml:1:3: a mapping key must be a plain");
    const char *tag = "a: !custom 1\n";
    load_fails(tag, strlen(tag), LT_EINVAL, "t.yaml:1:4: tag '!custom' is not supported");
    const char nul[] = "a: \"x\\0y\"\n";
    load_fails(nul, strlen(nul), LT_EINVAL, "t.yaml:1:4: a NUL character in a value");

    cfg_doc *d = NULL;
    assert_int_equal(cfg_load_file("/nonexistent/dir/c.yaml", &d, err, sizeof err), LT_EIO);
    assert_null(d);
    assert_non_null(strstr(err, "/nonexistent/dir/c.yaml: cannot open"));
}

static void test_aliases(void **state)
{
    (void)state;
    cfg_doc *d = load("defaults: &tls { insecure: true }\n"
                      "a: { tls: *tls }\n"
                      "b:\n"
                      "  tls: *tls\n"
                      "name: &n jaeger\n"
                      "names: [*n, *n]\n"
                      "again: &n other\n"
                      "last: *n\n");
    const cfg_node *root = cfg_root(d);
    const cfg_node *a = cfg_get(cfg_get(root, "a"), "tls"), *b = cfg_get(cfg_get(root, "b"), "tls");
    assert_int_equal(a->kind, CFG_MAP);
    assert_string_equal(a->key, "tls");
    assert_int_equal(a->line, 2);
    assert_int_equal(b->line, 4);
    assert_int_equal(b->column, 8);
    bool v = false;
    assert_int_equal(cfg_bool(d, cfg_get(b, "insecure"), "x", &v, err, sizeof err), 0);
    assert_true(v);
    const cfg_node *names = cfg_get(root, "names");
    assert_int_equal(names->n, 2);
    assert_string_equal(names->items[1]->scalar, "jaeger");
    assert_null(names->items[1]->key);
    assert_string_equal(cfg_get(root, "last")->scalar, "other");
    cfg_free(d);

    const char *unknown = "a: *nope\n";
    load_fails(unknown, strlen(unknown), LT_EINVAL, "t.yaml:1:4: unknown alias '*nope'");
    const char *cycle = "a: &a [1, *a]\n";
    load_fails(cycle, strlen(cycle), LT_EINVAL,
               "t.yaml:1:11: alias '*a' refers to a node that contains it");

    /* "billion laughs": nine levels of ten aliases each would be 10^9 nodes */
    char big[2048];
    size_t k = (size_t)snprintf(big, sizeof big, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++) {
        k += (size_t)snprintf(big + k, sizeof big - k, "l%d: &l%d [", i, i);
        for (int j = 0; j < 10; j++)
            k += (size_t)snprintf(big + k, sizeof big - k, "%s*l%d", j ? ", " : "", i - 1);
        k += (size_t)snprintf(big + k, sizeof big - k, "]\n");
    }
    load_fails(big, k, LT_ETOOBIG, "t.yaml:");
    assert_non_null(strstr(err, "more than 100000 nodes (counting what aliases repeat)"));
    /* four levels (about 11,000 nodes) are fine */
    char small[1024];
    k = (size_t)snprintf(small, sizeof small, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 4; i++) {
        k += (size_t)snprintf(small + k, sizeof small - k, "l%d: &l%d [", i, i);
        for (int j = 0; j < 10; j++)
            k += (size_t)snprintf(small + k, sizeof small - k, "%s*l%d", j ? ", " : "", i - 1);
        k += (size_t)snprintf(small + k, sizeof small - k, "]\n");
    }
    d = load(small);
    const cfg_node *l3 = cfg_get(cfg_root(d), "l3");
    assert_int_equal(l3->n, 10);
    assert_int_equal(l3->items[9]->n, 10);
    assert_string_equal(l3->items[9]->items[9]->items[9]->items[9]->scalar, "x");
    cfg_free(d);
}

static void test_env(void **state)
{
    (void)state;
    setenv("LT_TEST_CFG_HOST", "10.1.2.3", 1);
    setenv("LT_TEST_CFG_PORT", "4317", 1);
    unsetenv("LT_TEST_CFG_MISSING");
    cfg_doc *d = load("a: ${env:LT_TEST_CFG_HOST}:${LT_TEST_CFG_PORT}\n"
                      "b: \"[${LT_TEST_CFG_MISSING}]\"\n"
                      "c: $${env:LT_TEST_CFG_HOST} costs $5\n"
                      "${LT_TEST_CFG_HOST}: key\n"
                      "d: ${LT_TEST_CFG_PORT}\n");
    const cfg_node *root = cfg_root(d);
    assert_string_equal(cfg_get(root, "a")->scalar, "10.1.2.3:4317");
    assert_string_equal(cfg_get(root, "b")->scalar, "[]");
    assert_string_equal(cfg_get(root, "c")->scalar, "${env:LT_TEST_CFG_HOST} costs $5");
    /* keys are names: not expanded */
    assert_string_equal(cfg_get(root, "${LT_TEST_CFG_HOST}")->scalar, "key");
    int64_t port = 0;
    assert_int_equal(cfg_int(d, cfg_get(root, "d"), "d", &port, err, sizeof err), 0);
    assert_int_equal(port, 4317);
    cfg_free(d);

    const char *bad1 = "a: x\nb: ${1A}\n";
    load_fails(bad1, strlen(bad1), LT_EINVAL, "t.yaml:2:4: '${' must be followed by NAME}");
    const char *bad2 = "a: ${env:HOME\n";
    load_fails(bad2, strlen(bad2), LT_EINVAL, "t.yaml:1:4: '${' must be followed by NAME}");
    const char *bad3 = "a: ${file:/etc/passwd}\n";
    load_fails(bad3, strlen(bad3), LT_EINVAL, "t.yaml:1:4: '${' must be followed by NAME}");
}

static void test_limits(void **state)
{
    (void)state;
    /* size: 4 MiB of valid YAML plus one byte */
    size_t big = (4u << 20) + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    text[0] = 'a', text[1] = ':';
    load_fails(text, big, LT_ETOOBIG, "t.yaml: larger than 4194304 bytes");
    free(text);

    /* depth: 64 nested lists load, 65 do not */
    char deep[256];
    for (int levels = 64; levels <= 65; levels++) {
        size_t k = 0;
        for (int i = 0; i < levels; i++)
            deep[k++] = '[';
        deep[k++] = '1';
        for (int i = 0; i < levels; i++)
            deep[k++] = ']';
        deep[k] = 0;
        if (levels == 64) {
            cfg_doc *d = load(deep);
            const cfg_node *n = cfg_root(d);
            for (int i = 0; i < 64; i++)
                n = n->items[0];
            assert_string_equal(n->scalar, "1");
            cfg_free(d);
        } else {
            load_fails(deep, k, LT_ETOOBIG, "t.yaml:1:65: nested deeper than 64 levels");
        }
    }

    /* nodes: a list of 100,000 items is past the bound (with the list itself) */
    size_t n = 100000, len = 2 + 2 * n + 2;
    text = malloc(len);
    assert_non_null(text);
    size_t k = 0;
    text[k++] = '[';
    for (size_t i = 0; i < n; i++)
        text[k++] = '1', text[k++] = ',';
    text[k - 1] = ']';
    load_fails(text, k, LT_ETOOBIG, "t.yaml:1:");
    assert_non_null(strstr(err, "more than 100000 nodes"));
    cfg_doc *d = NULL;
    assert_int_equal(cfg_load_string(text, k - 4, "t.yaml", &d, err, sizeof err), LT_EINVAL);
    free(text);
}

/* ------------------------------------------------------------------------------------ */
/* Typed reads                                                                          */
/* ------------------------------------------------------------------------------------ */

typedef enum { T_BOOL, T_INT, T_DOUBLE, T_DURATION, T_SIZE, T_STRING } read_type;

static const struct {
    read_type t;
    const char *yaml; /* the value after "v: " */
    bool ok;
    double want; /* for ok ones: the value (bool 0/1, ns, bytes) */
} reads[] = {
    {T_BOOL, "true", true, 1},
    {T_BOOL, "false", true, 0},
    {T_BOOL, "True", true, 1},
    {T_BOOL, "yes", false, 0},
    {T_BOOL, "\"true\"", false, 0},
    {T_BOOL, "1", false, 0},
    {T_BOOL, "[true]", false, 0},
    {T_INT, "42", true, 42},
    {T_INT, "-7", true, -7},
    {T_INT, "+8", true, 8},
    {T_INT, "9223372036854775807", true, 9223372036854775807.0},
    {T_INT, "-9223372036854775808", true, -9223372036854775808.0},
    {T_INT, "9223372036854775808", false, 0},
    {T_INT, "1.5", false, 0},
    {T_INT, "0x10", false, 0},
    {T_INT, "'10'", false, 0},
    {T_INT, "ten", false, 0},
    {T_INT, "", false, 0},
    {T_INT, "++1", false, 0},
    {T_DOUBLE, "0.5", true, 0.5},
    {T_DOUBLE, "10", true, 10},
    {T_DOUBLE, "-2.5e3", true, -2500},
    {T_DOUBLE, "nan", false, 0},
    {T_DOUBLE, "inf", false, 0},
    {T_DOUBLE, "1e999", false, 0},
    {T_DOUBLE, "0x1p3", false, 0},
    {T_DOUBLE, "ten", false, 0},
    {T_DOUBLE, "1.2.3", false, 0},
    {T_DURATION, "10s", true, 10e9},
    {T_DURATION, "500ms", true, 500e6},
    {T_DURATION, "1h2m3.5s", true, 3723.5e9},
    {T_DURATION, "1.5h", true, 5400e9},
    {T_DURATION, "300ns", true, 300},
    {T_DURATION, "2us", true, 2000},
    {T_DURATION, "2\xc2\xb5s", true, 2000},
    {T_DURATION, ".5s", true, 0.5e9},
    {T_DURATION, "0", true, 0},
    {T_DURATION, "'15s'", true, 15e9},
    {T_DURATION, "2562047h", true, 2562047.0 * 3600e9},
    {T_DURATION, "2562048h", false, 0},
    {T_DURATION, "ten", false, 0},
    {T_DURATION, "10", false, 0},
    {T_DURATION, "10x", false, 0},
    {T_DURATION, "-1s", false, 0},
    {T_DURATION, "s", false, 0},
    {T_DURATION, "1s ", true, 1e9}, /* YAML trims the plain scalar */
    {T_DURATION, "1 s", false, 0},
    {T_DURATION, "7d", false, 0},
    {T_SIZE, "64MiB", true, 67108864},
    {T_SIZE, "512KB", true, 512000},
    {T_SIZE, "1024", true, 1024},
    {T_SIZE, "lots", false, 0},
    {T_SIZE, "-1", false, 0},
    {T_SIZE, "12XB", false, 0},
    {T_STRING, "hello world", true, 0},
    {T_STRING, "{a: 1}", false, 0},
    {T_STRING, "", false, 0},
};

static void test_typed_reads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "x: 1\nv: %s\n", reads[i].yaml);
        cfg_doc *d = load(text);
        const cfg_node *n = cfg_get(cfg_root(d), "v");
        bool b = false;
        int64_t iv = 0;
        double dv = 0;
        uint64_t u = 0;
        const char *s = NULL;
        int rc = 0;
        double got = 0;
        err[0] = 0;
        switch (reads[i].t) {
        case T_BOOL:
            rc = cfg_bool(d, n, "a.v", &b, err, sizeof err);
            got = b;
            break;
        case T_INT:
            rc = cfg_int(d, n, "a.v", &iv, err, sizeof err);
            got = (double)iv;
            break;
        case T_DOUBLE:
            rc = cfg_double(d, n, "a.v", &dv, err, sizeof err);
            got = dv;
            break;
        case T_DURATION:
            rc = cfg_duration_ns(d, n, "a.v", &u, err, sizeof err);
            got = (double)u;
            break;
        case T_SIZE:
            rc = cfg_size(d, n, "a.v", &u, err, sizeof err);
            got = (double)u;
            break;
        case T_STRING:
            rc = cfg_string(d, n, "a.v", &s, err, sizeof err);
            break;
        }
        if (reads[i].ok) {
            if (rc) fail_msg("case %zu '%s': %s", i, reads[i].yaml, err);
            if (reads[i].t != T_STRING && got != reads[i].want)
                fail_msg("case %zu '%s': got %.17g, want %.17g", i, reads[i].yaml, got,
                         reads[i].want);
            if (reads[i].t == T_STRING) assert_string_equal(s, reads[i].yaml);
        } else {
            if (rc != LT_EINVAL) fail_msg("case %zu '%s' was accepted", i, reads[i].yaml);
            /* positioned at the value, naming what was read */
            if (strncmp(err, "t.yaml:2:", 9) != 0 || !strstr(err, ": a.v: expected "))
                fail_msg("case %zu '%s': message %s", i, reads[i].yaml, err);
        }
        cfg_free(d);
    }
    /* the messages themselves */
    cfg_doc *d = load("x: 1\nv: ten\nq: '7'\nm: [1]\n");
    uint64_t u;
    int64_t iv;
    assert_int_equal(
        cfg_duration_ns(d, cfg_get(cfg_root(d), "v"), "p.decision_wait", &u, err, sizeof err),
        LT_EINVAL);
    assert_string_equal(err, "t.yaml:2:4: p.decision_wait: expected a duration such as 10s, got "
                             "'ten'");
    assert_int_equal(cfg_int(d, cfg_get(cfg_root(d), "q"), "n", &iv, err, sizeof err), LT_EINVAL);
    assert_string_equal(err, "t.yaml:3:4: n: expected a whole number, got the quoted string '7'");
    assert_int_equal(cfg_int(d, cfg_get(cfg_root(d), "m"), "n", &iv, err, sizeof err), LT_EINVAL);
    assert_string_equal(err, "t.yaml:4:4: n: expected a whole number, got a list");
    assert_int_equal(cfg_int(d, NULL, "n", &iv, err, sizeof err), LT_EINVAL);
    assert_string_equal(err, "t.yaml: n: expected a whole number, got nothing");
    assert_int_equal(cfg_error(d, cfg_root(d), err, sizeof err, "x %d", 5), LT_EINVAL);
    assert_string_equal(err, "t.yaml:1:1: x 5");
    cfg_free(d);
}

static void test_check_options(void **state)
{
    (void)state;
    static const cfg_option opts[] = {
        {"error_mode", CFG_OPT_STRING, ""},
        {"trace_statements", CFG_OPT_LIST, ""},
        {"log_statements", CFG_OPT_LIST, ""},
        {"wait", CFG_OPT_DURATION, ""},
        {"on", CFG_OPT_BOOL, ""},
        {"n", CFG_OPT_INT, ""},
        {"f", CFG_OPT_DOUBLE, ""},
        {"sz", CFG_OPT_SIZE, ""},
        {"m", CFG_OPT_MAP, ""},
        {"any", CFG_OPT_ANY, ""},
        {0},
    };
    cfg_doc *d = load("good:\n"
                      "  error_mode: ignore\n"
                      "  trace_statements: [a, b]\n"
                      "  log_statements:\n"
                      "  wait: 1m\n"
                      "  'on': true\n"
                      "  n: 3\n"
                      "  f: 0.25\n"
                      "  sz: 1KiB\n"
                      "  m: { x: 1 }\n"
                      "  any: [1, {a: b}]\n"
                      "unknown:\n"
                      "  error_mode: ignore\n"
                      "  trace_statement:\n"
                      "    - x\n"
                      "list: [m]\n"
                      "wrongs:\n"
                      "  - { trace_statements: x }\n"
                      "  - { m: [1] }\n"
                      "  - { wait: ten }\n"
                      "  - { n: 1.5 }\n"
                      "  - { on: maybe }\n"
                      "empty:\n");
    const cfg_node *root = cfg_root(d);
    assert_int_equal(cfg_check_options(d, cfg_get(root, "good"), opts, "g", err, sizeof err), 0);
    assert_int_equal(cfg_check_options(d, cfg_get(root, "empty"), opts, "g", err, sizeof err), 0);
    assert_int_equal(cfg_check_options(d, NULL, opts, "g", err, sizeof err), 0);
    assert_int_equal(cfg_check_options(d, cfg_get(root, "unknown"), opts, "processors.transform",
                                       err, sizeof err),
                     LT_EINVAL);
    assert_string_equal(err, "t.yaml:14:3: processors.transform: unknown option "
                             "'trace_statement' (options: error_mode, trace_statements, "
                             "log_statements, wait, on, n, f, sz, m, any)");
    assert_int_equal(cfg_check_options(d, cfg_get(root, "list"), opts, "g", err, sizeof err),
                     LT_EINVAL);
    assert_string_equal(err, "t.yaml:16:7: g: expected a mapping of options, got a list");
    static const char *const wrongs[] = {
        "t.yaml:18:25: g.trace_statements: expected a list, got 'x'",
        "t.yaml:19:10: g.m: expected a mapping, got a list",
        "t.yaml:20:13: g.wait: expected a duration such as 10s, got 'ten'",
        "t.yaml:21:10: g.n: expected a whole number, got '1.5'",
        "t.yaml:22:11: g.on: expected true or false, got 'maybe'",
    };
    const cfg_node *w = cfg_get(root, "wrongs");
    for (size_t i = 0; i < w->n; i++) {
        assert_int_equal(cfg_check_options(d, w->items[i], opts, "g", err, sizeof err), LT_EINVAL);
        assert_string_equal(err, wrongs[i]);
    }
    static const cfg_option none[] = {{0}};
    assert_int_equal(
        cfg_check_options(d, cfg_get(root, "good"), none, "exporters.llmtrace", err, sizeof err),
        LT_EINVAL);
    assert_string_equal(err, "t.yaml:2:3: exporters.llmtrace: unknown option 'error_mode' (this "
                             "component takes no options)");
    cfg_free(d);
}

/* ------------------------------------------------------------------------------------ */
/* Registry and pipelines                                                               */
/* ------------------------------------------------------------------------------------ */

static void test_registry(void **state)
{
    (void)state;
    static const char *const want[COMP_N_KINDS][10] = {
        {"otlp"},
        {"transform", "redaction", "tail_sampling", "probabilistic_sampler", "filter", "attributes",
         "batch", "memory_limiter"},
        {"spanmetrics"},
        {"llmtrace", "otlp", "otlphttp", "debug", "file", "prometheusremotewrite", "loadbalancing"},
    };
    for (int k = 0; k < COMP_N_KINDS; k++) {
        size_t n = 0;
        for (const component_def *def; (def = components_at((component_kind)k, n)); n++) {
            assert_int_equal(def->kind, k);
            assert_non_null(def->options);
            assert_ptr_equal(components_find((component_kind)k, def->type), def);
            assert_true(def->signals != 0);
            assert_true((def->out_signals != 0) == (k == COMP_CONNECTOR));
            /* option names are unique within a table, sub-tables name map options */
            for (const cfg_option *o = def->options; o->name; o++)
                for (const cfg_option *p = o + 1; p->name; p++)
                    assert_string_not_equal(o->name, p->name);
            for (const component_sub *s = def->subs; s && s->path; s++) {
                const char *dot = strchr(s->path, '.');
                char top[64];
                snprintf(top, sizeof top, "%.*s", dot ? (int)(dot - s->path) : 63, s->path);
                const cfg_option *o = def->options;
                while (o->name && strcmp(o->name, top))
                    o++;
                assert_non_null(o->name);
                assert_int_equal(o->type, CFG_OPT_MAP);
            }
        }
        size_t w = 0;
        while (w < 10 && want[k][w]) {
            assert_non_null(components_find((component_kind)k, want[k][w]));
            w++;
        }
        assert_int_equal(n, w);
    }
    assert_null(components_find(COMP_PROCESSOR, "otlp"));
    assert_null(components_find(COMP_RECEIVER, "jaeger"));
    assert_string_equal(components_section(COMP_CONNECTOR), "connectors");
    assert_string_equal(components_kind_name(COMP_EXPORTER), "exporter");
    assert_string_equal(components_signal_name(SIG_LOGS), "logs");
}

/* A value of type t for YAML: good, or of the wrong type. */
static const char *value_of(cfg_opt_type t, bool good)
{
    static const char *const ok[] = {"x", "true", "3", "0.5", "1m30s", "16MiB", "[]", "{}", "[1]"};
    static const char *const wrong[] = {"[1]",  "maybe", "three", "half", "ten",
                                        "lots", "x",     "x",     NULL};
    return good ? ok[t] : wrong[t];
}

/* Writes the options of table (at path prefix below component def) as YAML at indent,
 * nesting the sub-tables; the option named bad (a full path) gets a wrong value. */
static void emit(char *buf, size_t size, size_t *k, const component_def *def,
                 const cfg_option *table, const char *prefix, int indent, const char *bad)
{
    for (const cfg_option *o = table; o->name; o++) {
        char path[128];
        int w = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", o->name);
        assert_true(w > 0 && (size_t)w < sizeof path);
        const component_sub *sub = NULL;
        for (const component_sub *s = def->subs; s && s->path; s++)
            if (strcmp(s->path, path) == 0) sub = s;
        bool wrong = bad && strcmp(bad, path) == 0;
        if (sub && !wrong) {
            *k += (size_t)snprintf(buf + *k, size - *k, "%*s%s:\n", indent, "", o->name);
            emit(buf, size, k, def, sub->options, path, indent + 2, bad);
        } else {
            /* strings get their path: distinct (two equal endpoints would be refused) */
            const char *v = o->type == CFG_OPT_STRING && !wrong ? path : value_of(o->type, !wrong);
            *k += (size_t)snprintf(buf + *k, size - *k, "%*s%s: %s\n", indent, "", o->name, v);
        }
        assert_true(*k < size);
    }
}

/* Every option of every component (and of its sub-tables) is accepted with a value of its
 * type, and refused with a value of another type, the message naming its full path. */
static void test_every_option(void **state)
{
    (void)state;
    static char yaml[8192];
    int checked = 0;
    for (int kind = 0; kind < COMP_N_KINDS; kind++) {
        const component_def *def;
        for (size_t i = 0; (def = components_at((component_kind)kind, i)); i++) {
            /* the paths of all options, the sub-tables' too */
            const char *paths[64];
            char store[64][128];
            size_t np = 0;
            for (const cfg_option *o = def->options; o->name; o++)
                snprintf(store[np], sizeof store[np], "%s", o->name), paths[np] = store[np], np++;
            for (const component_sub *s = def->subs; s && s->path; s++)
                for (const cfg_option *o = s->options; o->name; o++)
                    snprintf(store[np], sizeof store[np], "%s.%s", s->path, o->name),
                        paths[np] = store[np], np++;
            for (size_t b = 0; b <= np; b++) {
                const char *bad = b < np ? paths[b] : NULL;
                const cfg_option *bo = NULL;
                if (bad) { /* the option's type: in the table of its parent path */
                    const char *dot = strrchr(bad, '.');
                    const cfg_option *table = def->options;
                    for (const component_sub *s = def->subs; dot && s && s->path; s++)
                        if (strlen(s->path) == (size_t)(dot - bad) &&
                            strncmp(s->path, bad, (size_t)(dot - bad)) == 0)
                            table = s->options;
                    for (bo = table; strcmp(bo->name, dot ? dot + 1 : bad); bo++)
                        ;
                    if (bo->type == CFG_OPT_ANY) continue;
                }
                size_t k = 0;
                if (kind != COMP_RECEIVER)
                    k += (size_t)snprintf(yaml + k, sizeof yaml - k,
                                          "receivers: { otlp: { protocols: { grpc: } } }\n");
                k += (size_t)snprintf(yaml + k, sizeof yaml - k, "%s:\n  %s/all:\n",
                                      components_section((component_kind)kind), def->type);
                emit(yaml, sizeof yaml, &k, def, def->options, "", 4, bad);
                snprintf(yaml + k, sizeof yaml - k,
                         "service: { pipelines: { traces: { receivers: [%s] } } }\n",
                         kind == COMP_RECEIVER ? "otlp/all" : "otlp");
                cfg_doc *d = load(yaml);
                pipecfg *p = NULL;
                int rc = pipecfg_build(d, &p, err, sizeof err);
                if (!bad && rc) fail_msg("%s: %s\n%s", def->type, err, yaml);
                if (bad) {
                    char want[256];
                    snprintf(want, sizeof want, "%s.%s/all.%s: expected ",
                             components_section((component_kind)kind), def->type, bad);
                    if (rc != LT_EINVAL || !strstr(err, want))
                        fail_msg("%s: wrong %s accepted or misreported: %s\n%s", def->type, bad,
                                 err, yaml);
                }
                if (!bad) {
                    char id[64];
                    snprintf(id, sizeof id, "%s/all", def->type);
                    assert_non_null(pipecfg_find(p, (component_kind)kind, id));
                }
                pipecfg_free(p);
                cfg_free(d);
                checked++;
            }
        }
    }
    assert_true(checked > 100);
}

static const char *names(const pipecfg_component **c, size_t n)
{
    static char buf[256];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? "," : "", c[i]->id);
    return buf;
}

static void test_seed(void **state)
{
    (void)state;
    cfg_doc *d = NULL;
    pipecfg *p = NULL;
    const char *path = data_path("config/seed.yaml");
    if (cfg_load_file(path, &d, err, sizeof err)) fail_msg("%s", err);
    if (pipecfg_build(d, &p, err, sizeof err)) fail_msg("%s", err);
    assert_ptr_equal(p->doc, d);
    assert_int_equal(p->n_components[COMP_RECEIVER], 1);
    assert_int_equal(p->n_components[COMP_PROCESSOR], 2);
    assert_int_equal(p->n_components[COMP_CONNECTOR], 1);
    assert_int_equal(p->n_components[COMP_EXPORTER], 3);
    assert_int_equal(p->n_pipelines, 2);
    assert_string_equal(p->grpc_endpoint, "127.0.0.1:4317");
    assert_null(p->http_endpoint);
    assert_int_equal(p->grpc_endpoint_at->line, 4);
    assert_int_equal(p->grpc_endpoint_at->column, 25);
    assert_null(p->http_endpoint_at);

    const pipecfg_component *j = pipecfg_find(p, COMP_EXPORTER, "otlp/jaeger");
    assert_non_null(j);
    assert_string_equal(j->type, "otlp");
    assert_string_equal(j->name, "jaeger");
    assert_ptr_equal(j->def, components_find(COMP_EXPORTER, "otlp"));
    assert_int_equal(j->at->line, 24);
    bool insecure = false;
    assert_int_equal(cfg_bool(d, cfg_get(cfg_get(j->settings, "tls"), "insecure"), "tls", &insecure,
                              err, sizeof err),
                     0);
    assert_true(insecure);
    const pipecfg_component *ts = pipecfg_find(p, COMP_PROCESSOR, "tail_sampling");
    uint64_t wait = 0;
    assert_int_equal(
        cfg_duration_ns(d, cfg_get(ts->settings, "decision_wait"), "w", &wait, err, sizeof err), 0);
    assert_int_equal(wait, 10000000000ull);
    assert_int_equal(cfg_get(ts->settings, "policies")->n, 2);
    const cfg_node *stmt =
        cfg_get(cfg_get(pipecfg_find(p, COMP_PROCESSOR, "transform")->settings, "trace_statements")
                    ->items[0],
                "statements");
    assert_string_equal(stmt->items[0]->scalar,
                        "replace_pattern(attributes[\"gen_ai.content.prompt\"], "
                        "\"\\\\b\\\\d{6}-\\\\d{7}\\\\b\", \"***\")");

    const pipecfg_pipeline *t = &p->pipelines[0], *m = &p->pipelines[1];
    assert_string_equal(t->id, "traces");
    assert_int_equal(t->signal, SIG_TRACES);
    assert_string_equal(names(t->receivers, t->n_receivers), "otlp");
    assert_string_equal(names(t->processors, t->n_processors), "transform,tail_sampling");
    assert_string_equal(names(t->exporters, t->n_exporters), "otlp/jaeger,spanmetrics,llmtrace");
    assert_true(t->stores);
    assert_ptr_equal(t->exporters[1], pipecfg_find(p, COMP_CONNECTOR, "spanmetrics"));
    assert_null(t->exporters[2]->at);
    assert_string_equal(m->id, "metrics");
    assert_int_equal(m->signal, SIG_METRICS);
    assert_string_equal(names(m->receivers, m->n_receivers), "otlp,spanmetrics");
    assert_int_equal(m->n_processors, 0);
    assert_string_equal(names(m->exporters, m->n_exporters), "prometheusremotewrite");
    assert_false(m->stores);
    assert_null(pipecfg_find(p, COMP_EXPORTER, "nope"));
    pipecfg_free(p);
    cfg_free(d);
    pipecfg_free(NULL);
}

static pipecfg *build(const char *text, cfg_doc **d)
{
    pipecfg *p = NULL;
    *d = load(text);
    if (pipecfg_build(*d, &p, err, sizeof err)) fail_msg("%s", err);
    return p;
}

static void test_pipeline_shapes(void **state)
{
    (void)state;
    cfg_doc *d;
    /* llmtrace named in one pipeline: only that one stores; http default endpoint */
    pipecfg *p = build("receivers:\n"
                       "  otlp:\n"
                       "    protocols:\n"
                       "      grpc:\n"
                       "      http:\n"
                       "exporters: { debug: {}, otlp/a: { endpoint: 'x:1' } }\n"
                       "service:\n"
                       "  pipelines:\n"
                       "    traces: { receivers: [otlp], exporters: [debug, llmtrace] }\n"
                       "    traces/fwd: { receivers: [otlp], exporters: [otlp/a] }\n"
                       "    logs: { receivers: [otlp], exporters: [debug] }\n",
                       &d);
    assert_string_equal(p->grpc_endpoint, "127.0.0.1:4317");
    assert_string_equal(p->http_endpoint, "127.0.0.1:4318");
    assert_int_equal(p->n_pipelines, 3);
    assert_null(p->grpc_endpoint_at); /* defaulted */
    assert_null(p->http_endpoint_at);
    assert_true(p->pipelines[0].stores);
    assert_false(p->pipelines[1].stores);
    assert_false(p->pipelines[2].stores);
    assert_string_equal(p->pipelines[1].id, "traces/fwd");
    assert_int_equal(p->pipelines[1].signal, SIG_TRACES);
    assert_string_equal(names(p->pipelines[1].exporters, p->pipelines[1].n_exporters), "otlp/a");
    assert_int_equal(p->n_components[COMP_EXPORTER], 3);
    pipecfg_free(p);
    cfg_free(d);

    /* no exporters at all: traces and logs store by default */
    p = build("receivers: { otlp: { protocols: { http: { endpoint: '0.0.0.0:14318' } } } }\n"
              "service: { pipelines: { traces: { receivers: [otlp] }, logs/x: { receivers: [otlp], "
              "exporters: [] } } }\n",
              &d);
    assert_null(p->grpc_endpoint);
    assert_string_equal(p->http_endpoint, "0.0.0.0:14318");
    assert_string_equal(names(p->pipelines[0].exporters, p->pipelines[0].n_exporters), "llmtrace");
    assert_string_equal(names(p->pipelines[1].exporters, p->pipelines[1].n_exporters), "llmtrace");
    assert_int_equal(p->pipelines[1].signal, SIG_LOGS);
    assert_int_equal(p->n_components[COMP_EXPORTER], 1);
    pipecfg_free(p);
    cfg_free(d);

    /* llmtrace defined explicitly (no options) and anchors reused across exporters */
    p = build("receivers: { otlp: { protocols: { grpc: } } }\n"
              "exporters:\n"
              "  llmtrace:\n"
              "  otlp/a: &client { endpoint: 'h:1', tls: { insecure: true }, timeout: 5s,\n"
              "                    retry_on_failure: { enabled: true, max_elapsed_time: 1m },\n"
              "                    sending_queue: { queue_size: 100 } }\n"
              "  otlp/b: *client\n"
              "service: { pipelines: { traces: { receivers: [otlp], exporters: [otlp/a, otlp/b] "
              "} } }\n",
              &d);
    assert_string_equal(names(p->pipelines[0].exporters, p->pipelines[0].n_exporters),
                        "otlp/a,otlp/b,llmtrace");
    assert_non_null(pipecfg_find(p, COMP_EXPORTER, "llmtrace")->at);
    assert_string_equal(
        cfg_get(pipecfg_find(p, COMP_EXPORTER, "otlp/b")->settings, "endpoint")->scalar, "h:1");
    pipecfg_free(p);
    cfg_free(d);
}

/* A config whose first problem is at `want` (the message, starting with the position). */
static const struct {
    const char *what, *yaml, *want;
} bad_configs[] = {
    {"unknown component type",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "processors:\n"
     "  batch:\n"
     "  transfrom/x: {}\n"
     "service: { pipelines: { traces: { receivers: [otlp] } } }\n",
     "t.yaml:4:3: processors: unknown processor type 'transfrom' in 'transfrom/x' (known: "
     "transform, redaction, tail_sampling, probabilistic_sampler, filter, attributes, batch, "
     "memory_limiter)"},
    {"unknown option",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "processors:\n"
     "  transform:\n"
     "    error_mode: ignore\n"
     "    trace_statement:\n"
     "      - context: span\n",
     "t.yaml:5:5: processors.transform: unknown option 'trace_statement' (options: error_mode, "
     "trace_statements, log_statements)"},
    {"wrong type",
     "processors:\n"
     "  tail_sampling:\n"
     "    decision_wait: ten\n",
     "t.yaml:3:20: processors.tail_sampling.decision_wait: expected a duration such as 10s, got "
     "'ten'"},
    {"nested option",
     "exporters:\n"
     "  otlp/jaeger: { endpoint: 'x:1', tls: { insecur: true } }\n",
     "t.yaml:2:42: exporters.otlp/jaeger.tls: unknown option 'insecur' (options: insecure, "
     "insecure_skip_verify, ca_file, cert_file, key_file)"},
    {"nested type",
     "receivers:\n"
     "  otlp:\n"
     "    protocols:\n"
     "      grpc: { endpoint: [a] }\n",
     "t.yaml:4:25: receivers.otlp.protocols.grpc.endpoint: expected a string, got a list"},
    {"bad id",
     "exporters:\n"
     "  otlp/: {}\n",
     "t.yaml:2:3: exporters: 'otlp/' is not a component id (TYPE or TYPE/NAME)"},
    {"undefined component",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service:\n"
     "  pipelines:\n"
     "    traces:\n"
     "      receivers: [otlp]\n"
     "      processors: [batch]\n",
     "t.yaml:6:20: service.pipelines.traces.processors: 'batch' is not defined under processors"},
    {"undefined exporter named like a processor",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "processors: { batch: }\n"
     "service: { pipelines: { traces: { receivers: [otlp], exporters: [batch] } } }\n",
     "t.yaml:3:66: service.pipelines.traces.exporters: 'batch' is not defined under exporters or "
     "connectors (it is a processor)"},
    {"connector only as exporter",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "connectors: { spanmetrics: }\n"
     "service:\n"
     "  pipelines:\n"
     "    traces: { receivers: [otlp], exporters: [spanmetrics] }\n",
     "t.yaml:5:46: connectors.spanmetrics: used as an exporter but no pipeline receives from it "
     "(name it in the receivers of a metrics pipeline)"},
    {"connector as receiver of traces",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "connectors: { spanmetrics: }\n"
     "service:\n"
     "  pipelines:\n"
     "    traces: { receivers: [otlp, spanmetrics] }\n",
     "t.yaml:5:33: service.pipelines.traces.receivers: connector 'spanmetrics' cannot be a "
     "receiver of a traces pipeline (it takes traces and produces metrics)"},
    {"connector as processor",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "connectors: { spanmetrics: }\n"
     "service:\n"
     "  pipelines:\n"
     "    traces: { receivers: [otlp], processors: [spanmetrics] }\n",
     "t.yaml:5:47: service.pipelines.traces.processors: 'spanmetrics' is not defined under "
     "processors (it is a connector)"},
    {"processor of the wrong signal",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "processors: { tail_sampling: }\n"
     "service: { pipelines: { logs: { receivers: [otlp], processors: [tail_sampling] } } }\n",
     "t.yaml:3:65: service.pipelines.logs.processors: processor 'tail_sampling' does not handle "
     "logs"},
    {"metrics exporter in traces",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "exporters: { prometheusremotewrite: { endpoint: 'http://x' } }\n"
     "service: { pipelines: { traces: { receivers: [otlp], exporters: [prometheusremotewrite] } } "
     "}\n",
     "t.yaml:3:66: service.pipelines.traces.exporters: exporter 'prometheusremotewrite' does not "
     "handle traces"},
    {"storage in metrics",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service: { pipelines: { metrics: { receivers: [otlp], exporters: [llmtrace] } } }\n",
     "t.yaml:2:67: service.pipelines.metrics.exporters: exporter 'llmtrace' does not handle "
     "metrics"},
    {"metrics without exporters",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service:\n"
     "  pipelines:\n"
     "    metrics: { receivers: [otlp] }\n",
     "t.yaml:4:5: service.pipelines.metrics: no exporters (at least one is needed)"},
    {"no receivers",
     "service:\n"
     "  pipelines:\n"
     "    traces: { exporters: [llmtrace] }\n",
     "t.yaml:3:5: service.pipelines.traces: no receivers (at least one is needed)"},
    {"listed twice",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service: { pipelines: { traces: { receivers: [otlp, otlp] } } }\n",
     "t.yaml:2:53: service.pipelines.traces.receivers: 'otlp' is listed twice"},
    {"bad pipeline id",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service:\n"
     "  pipelines:\n"
     "    spans: { receivers: [otlp] }\n",
     "t.yaml:4:5: service.pipelines: 'spans' is not a pipeline id (traces, metrics or logs, "
     "optionally followed by /NAME)"},
    {"unknown pipeline key",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service: { pipelines: { traces: { receivers: [otlp], exporter: [debug] } } }\n",
     "t.yaml:2:54: service.pipelines.traces: unknown key 'exporter' (keys: receivers, "
     "processors, exporters)"},
    {"extensions",
     "extensions: { health_check: }\n"
     "receivers: { otlp: { protocols: { grpc: } } }\n",
     "t.yaml:1:1: extensions: not supported by llmtrace"},
    {"service.telemetry",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service:\n"
     "  telemetry: { logs: { level: debug } }\n"
     "  pipelines: { traces: { receivers: [otlp] } }\n",
     "t.yaml:3:3: service.telemetry: not supported by llmtrace"},
    {"unknown section", "receiver: { otlp: }\n",
     "t.yaml:1:1: unknown section 'receiver' (sections: receivers, processors, connectors, "
     "exporters, service)"},
    {"no service", "receivers: { otlp: { protocols: { grpc: } } }\n",
     "t.yaml:1:1: service: missing"},
    {"no pipelines",
     "receivers: { otlp: { protocols: { grpc: } } }\n"
     "service: { pipelines: {} }\n",
     "t.yaml:2:23: service.pipelines: at least one pipeline is needed"},
    {"not a mapping", "- receivers\n",
     "t.yaml:1:1: expected a mapping with receivers, exporters and service"},
    {"otlp without protocols",
     "receivers: { otlp: }\n"
     "service: { pipelines: { traces: { receivers: [otlp] } } }\n",
     "t.yaml:1:14: receivers.otlp: at least one protocol (grpc, http) is needed"},
    {"two otlp receivers",
     "receivers:\n"
     "  otlp: { protocols: { grpc: } }\n"
     "  otlp/2: { protocols: { http: } }\n"
     "service: { pipelines: { traces: { receivers: [otlp, otlp/2] } } }\n",
     "t.yaml:3:3: receivers.otlp/2: only one otlp receiver can be used (another is at line 2)"},
    {"same endpoint twice",
     "receivers: { otlp: { protocols: { grpc: { endpoint: 'h:1' }, http: { endpoint: 'h:1' } } "
     "} }\n"
     "service: { pipelines: { traces: { receivers: [otlp] } } }\n",
     "t.yaml:1:80: receivers.otlp.protocols.http.endpoint: the same as grpc's"},
    {"options on our storage", "exporters: { llmtrace: { path: /tmp } }\n",
     "t.yaml:1:26: exporters.llmtrace: unknown option 'path' (options: store, username, password)"},
    {"a section that is a list", "processors: [batch]\n",
     "t.yaml:1:13: processors: expected a mapping of components"},
};

static void test_bad_configs(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        cfg_doc *d = load(bad_configs[i].yaml);
        pipecfg *p = (pipecfg *)1;
        int rc = pipecfg_build(d, &p, err, sizeof err);
        if (rc != LT_EINVAL || p != NULL ||
            strncmp(err, bad_configs[i].want, strlen(bad_configs[i].want)) != 0) {
            print_error("%s: rc %d, message\n  %s\nwanted\n  %s\n", bad_configs[i].what, rc, err,
                        bad_configs[i].want);
            bad++;
        }
        cfg_free(d);
    }
    assert_int_equal(bad, 0);
}

/* The bounds on components, pipelines and list lengths. */
static void test_pipecfg_limits(void **state)
{
    (void)state;
    lt_buf b = {0};
    for (int over = 0; over <= 1; over++) {
        int n = 256 + over;
        buf_reset(&b);
        buf_append_c(&b, "receivers: { otlp: { protocols: { grpc: } } }\nprocessors:\n");
        for (int i = 0; i < n; i++)
            buf_printf(&b, "  batch/%d:\n", i);
        buf_append_c(&b, "service:\n  pipelines:\n");
        for (int i = 1; i < n; i++)
            buf_printf(&b, "    traces/%d: { receivers: [otlp] }\n", i);
        buf_append_c(&b, "    traces: { receivers: [otlp], processors: [");
        for (int i = 0; i < n; i++)
            buf_printf(&b, "%sbatch/%d", i ? ", " : "", i);
        buf_append_c(&b, "] }\n");
        assert_false(b.oom);
        cfg_doc *d = load(b.data);
        pipecfg *p = NULL;
        int rc = pipecfg_build(d, &p, err, sizeof err);
        if (!over) {
            if (rc) fail_msg("%s", err);
            assert_int_equal(p->n_pipelines, 256);
            assert_int_equal(p->pipelines[255].n_processors, 256);
        } else {
            assert_int_equal(rc, LT_EINVAL);
            assert_string_equal(err, "t.yaml:3:3: processors: more than 256 components");
        }
        pipecfg_free(p);
        cfg_free(d);
    }
    buf_free(&b);
}

/* Every allocation of a load and build of the seed config may fail: the result is then
 * LT_ENOMEM with nothing leaked (ASan's leak check), never a crash. */
static void test_alloc_failures(void **state)
{
    (void)state;
    FILE *f = fopen(data_path("config/seed.yaml"), "rb");
    assert_non_null(f);
    static char text[8192];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    int ok = 0, failed = 0;
    for (long k = 0; k < 10000 && !ok; k++) {
        cfg_doc *d = NULL;
        pipecfg *p = NULL;
        alloc_fail_after(k);
        int rc = cfg_load_string(text, len, "seed.yaml", &d, err, sizeof err);
        if (!rc) rc = pipecfg_build(d, &p, err, sizeof err);
        alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(p->n_pipelines, 2);
        } else {
            assert_int_equal(rc, LT_ENOMEM);
            failed++;
        }
        pipecfg_free(p);
        cfg_free(d);
    }
    assert_true(ok);
    assert_true(failed > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),       cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_aliases),         cmocka_unit_test(test_env),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_check_options),   cmocka_unit_test(test_registry),
        cmocka_unit_test(test_every_option),    cmocka_unit_test(test_seed),
        cmocka_unit_test(test_pipeline_shapes), cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_pipecfg_limits),  cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
