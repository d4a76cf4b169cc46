/* sm_fixtures.h — shared by test_spanmetrics.c and test_promrw.c: configuration trees built
 * by hand (the YAML loader is not needed to test a component), the captured fixtures
 * decoded and annotated with prices as the receivers do, and a parser of the text
 * exposition. Header-only: each test includes it once, after cmocka.h. */
#ifndef SM_FIXTURES_H
#define SM_FIXTURES_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_load.h"

#include "core/arena.h"
#include "core/err.h"
#include "genai/genai.h"
#include "otlp/otlp.h"
#include "pipeline/spanmetrics.h"

/* ---- configuration trees ---- */

static cfg_node cfg_pool[512];
static size_t cfg_used;

/* Every node gets its own line (its index + 1), so error positions can be checked. */
static cfg_node *cfg_new(cfg_kind k)
{
    if (cfg_used == sizeof cfg_pool / sizeof cfg_pool[0]) abort();
    cfg_node *n = &cfg_pool[cfg_used++];
    *n = (cfg_node){.kind = k, .scalar = "", .line = (unsigned)cfg_used, .column = 3};
    return n;
}

static cfg_node *S(const char *s)
{
    cfg_node *n = cfg_new(CFG_SCALAR);
    n->scalar = s;
    return n;
}

/* M(n, "key", node, "key", node, ...) */
static cfg_node *M(size_t n, ...)
{
    cfg_node *m = cfg_new(CFG_MAP);
    m->items = calloc(n ? n : 1, sizeof *m->items);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        cfg_node *v = va_arg(ap, cfg_node *);
        v->key = k;
        m->items[m->n++] = v;
    }
    va_end(ap);
    return m;
}

static cfg_node *L(size_t n, ...)
{
    cfg_node *m = cfg_new(CFG_SEQ);
    m->items = calloc(n ? n : 1, sizeof *m->items);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        m->items[m->n++] = va_arg(ap, cfg_node *);
    va_end(ap);
    return m;
}

/* Frees the item arrays of every node made since the last reset. */
static void cfg_reset(void)
{
    for (size_t i = 0; i < cfg_used; i++)
        free(cfg_pool[i].items);
    cfg_used = 0;
}

static spanmetrics *sm_make(cfg_node *conf)
{
    spanmetrics *sm = NULL;
    char err[512];
    int rc = spanmetrics_create(conf, "test.yaml", "connectors.spanmetrics", &sm, err, sizeof err);
    if (rc) {
        fprintf(stderr, "spanmetrics_create: %s\n", err);
        abort();
    }
    return sm;
}

/* ---- fixtures ---- */

static genai_prices *fx_prices;

static const genai_prices *prices(void)
{
    if (!fx_prices) {
        char err[256];
        if (genai_prices_load(NULL, NULL, &fx_prices, err, sizeof err)) {
            fprintf(stderr, "prices: %s\n", err);
            abort();
        }
    }
    return fx_prices;
}

/* Decodes the scenario folder dir and annotates its traces with the built-in prices, as
 * the receivers do; the test fails when a file does not decode. Free with fx_free. */
static void folder_load(const char *dir, fx_scenario *fo)
{
    if (fx_load_priced(dir, prices(), fo)) fail_msg("%s: does not decode", dir);
}

static void folder_consume(spanmetrics *sm, const fx_scenario *fo)
{
    for (int i = 0; i < fo->n_tb; i++)
        if (spanmetrics_consume(sm, &fo->tb[i])) abort();
}

/* ---- a small parser of the text exposition format 0.0.4 ---- */

enum { PT_MAX_LABELS = 48 };

typedef struct {
    char name[256];
    char lname[PT_MAX_LABELS][128];
    char lvalue[PT_MAX_LABELS][1024];
    int n_labels;
    double value;
} pt_sample;

/* Parses one sample line; returns 0, or -1 with the reason in why. Label values are
 * unescaped (\\, \", \n; any other escape is an error, as in Prometheus's parser). */
static int pt_parse_sample(const char *line, pt_sample *s, const char **why)
{
    const char *p = line;
    size_t n = 0;
    memset(s, 0, sizeof *s);
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return *why = "metric name start", -1;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':') {
        if (n + 1 >= sizeof s->name) return *why = "name too long", -1;
        s->name[n++] = *p++;
    }
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (s->n_labels == PT_MAX_LABELS) return *why = "too many labels", -1;
            char *ln = s->lname[s->n_labels], *lv = s->lvalue[s->n_labels];
            n = 0;
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
                return *why = "label name start", -1;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_') {
                if (n + 1 >= 128) return *why = "label name too long", -1;
                ln[n++] = *p++;
            }
            if (*p++ != '=') return *why = "expected =", -1;
            if (*p++ != '"') return *why = "expected opening quote", -1;
            n = 0;
            while (*p != '"') {
                char c = *p++;
                if (!c || c == '\n') return *why = "unterminated value", -1;
                if (c == '\\') {
                    c = *p++;
                    if (c == 'n')
                        c = '\n';
                    else if (c != '\\' && c != '"')
                        return *why = "bad escape", -1;
                }
                if (n + 1 >= 1024) return *why = "value too long", -1;
                lv[n++] = c;
            }
            p++;
            s->n_labels++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return *why = "expected , or }", -1;
        }
        p++;
    }
    if (*p++ != ' ') return *why = "expected a space before the value", -1;
    char *end;
    if (!strcmp(p, "+Inf"))
        s->value = INFINITY;
    else if (!strcmp(p, "-Inf"))
        s->value = -INFINITY;
    else {
        s->value = strtod(p, &end);
        if (end == p || *end) return *why = "bad value", -1;
    }
    return 0;
}

__attribute__((unused)) static const char *pt_label(const pt_sample *s, const char *name)
{
    for (int i = 0; i < s->n_labels; i++)
        if (!strcmp(s->lname[i], name)) return s->lvalue[i];
    return NULL;
}

#endif
