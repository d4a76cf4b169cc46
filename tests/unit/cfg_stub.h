/* cfg_stub.h — a test-only stand-in for pipeline/config.c: builds cfg_node trees by hand
 * and implements the typed reads of config.h, so components that take a `const cfg_node *`
 * can be tested without a YAML file. The definitions are weak: where the real config.c is
 * linked in, its strong definitions win. Every node is registered and freed by
 * cfg_stub_release(), so leak checkers stay quiet. */
#ifndef LT_TESTS_CFG_STUB_H
#define LT_TESTS_CFG_STUB_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "pipeline/config.h"

#define CFG_WEAK __attribute__((weak))

static void **stub_allocs;
static size_t stub_n, stub_cap;

static void *stub_calloc(size_t n, size_t size)
{
    if (stub_n == stub_cap) {
        stub_cap = stub_cap ? 2 * stub_cap : 256;
        stub_allocs = realloc(stub_allocs, stub_cap * sizeof(void *));
        if (!stub_allocs) abort();
    }
    void *p = calloc(n, size);
    if (!p) abort();
    return stub_allocs[stub_n++] = p;
}

/* Frees every node built so far. */
static void cfg_stub_release(void)
{
    for (size_t i = 0; i < stub_n; i++)
        free(stub_allocs[i]);
    free(stub_allocs);
    stub_allocs = NULL;
    stub_n = stub_cap = 0;
}

static cfg_node *cs(const char *text)
{
    cfg_node *n = stub_calloc(1, sizeof *n);
    n->kind = CFG_SCALAR;
    n->scalar = text;
    n->line = 1;
    n->column = 1;
    return n;
}

/* cmap("k1", node1, "k2", node2, NULL) */
static cfg_node *cmap(const char *key, ...)
{
    cfg_node *m = stub_calloc(1, sizeof *m);
    m->kind = CFG_MAP;
    m->line = m->column = 1;
    m->items = stub_calloc(64, sizeof(cfg_node *));
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        cfg_node *v = va_arg(ap, cfg_node *);
        v->key = k;
        m->items[m->n++] = v;
    }
    va_end(ap);
    return m;
}

/* cseq(node1, node2, NULL) */
static cfg_node *cseq(cfg_node *first, ...)
{
    cfg_node *s = stub_calloc(1, sizeof *s);
    s->kind = CFG_SEQ;
    s->line = s->column = 1;
    s->items = stub_calloc(1024, sizeof(cfg_node *));
    va_list ap;
    va_start(ap, first);
    for (cfg_node *v = first; v; v = va_arg(ap, cfg_node *))
        s->items[s->n++] = v;
    va_end(ap);
    return s;
}

/* A policy: {name: NAME, type: TYPE, TYPE: settings} (settings may be NULL). */
static cfg_node *cpolicy(const char *name, const char *type, cfg_node *settings)
{
    if (!settings) return cmap("name", cs(name), "type", cs(type), NULL);
    return cmap("name", cs(name), "type", cs(type), type, settings, NULL);
}

CFG_WEAK const cfg_node *cfg_get(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->items[i]->key, key)) return map->items[i];
    return NULL;
}

CFG_WEAK int cfg_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen,
                       const char *fmt, ...)
{
    (void)d;
    size_t o = 0;
    if (err && errlen) {
        err[0] = 0;
        if (at) o = (size_t)snprintf(err, errlen, "test:%u:%u: ", at->line, at->column);
        if (o < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + o, errlen - o, fmt, ap);
            va_end(ap);
        }
    }
    return LT_EINVAL;
}

static int stub_scalar(const cfg_doc *d, const cfg_node *n, const char *what, char *err,
                       size_t errlen)
{
    if (!n || n->kind != CFG_SCALAR)
        return cfg_error(d, n, err, errlen, "%s: a scalar is expected", what);
    return 0;
}

CFG_WEAK int cfg_string(const cfg_doc *d, const cfg_node *n, const char *what, const char **out,
                        char *err, size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (!rc) *out = n->scalar;
    return rc;
}

CFG_WEAK int cfg_bool(const cfg_doc *d, const cfg_node *n, const char *what, bool *out, char *err,
                      size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (rc) return rc;
    if (!strcmp(n->scalar, "true"))
        *out = true;
    else if (!strcmp(n->scalar, "false"))
        *out = false;
    else
        return cfg_error(d, n, err, errlen, "%s: true or false expected", what);
    return 0;
}

CFG_WEAK int cfg_int(const cfg_doc *d, const cfg_node *n, const char *what, int64_t *out, char *err,
                     size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (rc) return rc;
    if (parse_i64(lt_str_c(n->scalar), out))
        return cfg_error(d, n, err, errlen, "%s: an integer is expected", what);
    return 0;
}

CFG_WEAK int cfg_double(const cfg_doc *d, const cfg_node *n, const char *what, double *out,
                        char *err, size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (rc) return rc;
    char *end;
    errno = 0;
    *out = strtod(n->scalar, &end);
    if (!*n->scalar || *end || errno)
        return cfg_error(d, n, err, errlen, "%s: a number is expected", what);
    return 0;
}

CFG_WEAK int cfg_duration_ns(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out,
                             char *err, size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (rc) return rc;
    if (parse_duration_ns(n->scalar, out))
        return cfg_error(d, n, err, errlen, "%s: a duration is expected", what);
    return 0;
}

CFG_WEAK int cfg_size(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out,
                      char *err, size_t errlen)
{
    int rc = stub_scalar(d, n, what, err, errlen);
    if (rc) return rc;
    if (parse_size(n->scalar, out))
        return cfg_error(d, n, err, errlen, "%s: a size is expected", what);
    return 0;
}

CFG_WEAK int cfg_check_options(const cfg_doc *d, const cfg_node *map, const cfg_option *opts,
                               const char *where, char *err, size_t errlen)
{
    if (!map || map->kind == CFG_NULL) return 0;
    if (map->kind != CFG_MAP) return cfg_error(d, map, err, errlen, "%s: a map is expected", where);
    for (size_t i = 0; i < map->n; i++) {
        const cfg_option *o = opts;
        while (o->name && strcmp(o->name, map->items[i]->key))
            o++;
        if (!o->name)
            return cfg_error(d, map->items[i], err, errlen, "%s: unknown option '%s'", where,
                             map->items[i]->key);
        cfg_kind k = map->items[i]->kind;
        bool ok = o->type == CFG_OPT_ANY || (o->type == CFG_OPT_LIST && k == CFG_SEQ) ||
                  (o->type == CFG_OPT_MAP && (k == CFG_MAP || k == CFG_NULL)) ||
                  (o->type != CFG_OPT_LIST && o->type != CFG_OPT_MAP && k == CFG_SCALAR);
        if (!ok)
            return cfg_error(d, map->items[i], err, errlen, "%s.%s: wrong type", where, o->name);
    }
    return 0;
}

#endif
