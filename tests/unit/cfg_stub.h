/* cfg_stub.h — a stand-in for the configuration loader (pipeline/config.h) in unit tests of
 * processors, for builds where config.c is not there yet.
 *
 * A JSON document is also a YAML document, so tests write their settings as JSON and load
 * them with cfg_load_string; here jansson builds the tree. Every definition is weak: when
 * the real loader is linked in its definitions win, and the tests read the same text as
 * YAML. Positions are those of the JSON text (line and column of each value's first byte are
 * not tracked by jansson: the stub numbers nodes 1, 2, ... as lines, column 1). */
#ifndef LT_TESTS_CFG_STUB_H
#define LT_TESTS_CFG_STUB_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pipeline/config.h"

#define STUB __attribute__((weak))

struct cfg_doc {
    char name[64];
    cfg_node *root;
    void **allocs;
    size_t n_allocs, cap;
    unsigned next_line;
};

static void *stub_keep(struct cfg_doc *d, void *p)
{
    if (!p) abort();
    if (d->n_allocs == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->allocs = realloc(d->allocs, d->cap * sizeof *d->allocs);
        if (!d->allocs) abort();
    }
    d->allocs[d->n_allocs++] = p;
    return p;
}

static char *stub_dup(struct cfg_doc *d, const char *s)
{
    return stub_keep(d, strdup(s));
}

static cfg_node *stub_build(struct cfg_doc *d, json_t *j, const char *key)
{
    cfg_node *n = stub_keep(d, calloc(1, sizeof *n));
    n->key = key;
    n->line = ++d->next_line;
    n->column = 1;
    char num[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        n->kind = CFG_MAP;
        n->items = stub_keep(d, calloc(json_object_size(j) + 1, sizeof *n->items));
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) n->items[n->n++] = stub_build(d, v, stub_dup(d, k));
        break;
    }
    case JSON_ARRAY: {
        n->kind = CFG_SEQ;
        n->items = stub_keep(d, calloc(json_array_size(j) + 1, sizeof *n->items));
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) n->items[n->n++] = stub_build(d, v, NULL);
        break;
    }
    case JSON_STRING:
        n->kind = CFG_SCALAR;
        n->quoted = true;
        n->scalar = stub_dup(d, json_string_value(j));
        break;
    case JSON_INTEGER:
        n->kind = CFG_SCALAR;
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(j));
        n->scalar = stub_dup(d, num);
        break;
    case JSON_REAL:
        n->kind = CFG_SCALAR;
        snprintf(num, sizeof num, "%.17g", json_real_value(j));
        n->scalar = stub_dup(d, num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        n->kind = CFG_SCALAR;
        n->scalar = json_is_true(j) ? "true" : "false";
        break;
    default:
        n->kind = CFG_NULL;
        n->scalar = "";
        break;
    }
    return n;
}

STUB int cfg_load_string(const char *text, size_t len, const char *name, cfg_doc **out, char *err,
                         size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!j) {
        snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        return LT_EINVAL;
    }
    struct cfg_doc *d = calloc(1, sizeof *d);
    if (!d) abort();
    snprintf(d->name, sizeof d->name, "%s", name);
    d->root = stub_build(d, j, NULL);
    json_decref(j);
    *out = d;
    return 0;
}

STUB const cfg_node *cfg_root(const cfg_doc *d)
{
    return d->root;
}

STUB const char *cfg_name(const cfg_doc *d)
{
    return d->name;
}

STUB void cfg_free(cfg_doc *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_allocs; i++)
        free(d->allocs[i]);
    free(d->allocs);
    free(d);
}

STUB const cfg_node *cfg_get(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[i]->key, key) == 0) return map->items[i];
    return NULL;
}

static int stub_verror(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen,
                       const char *fmt, va_list ap)
{
    int n = at ? snprintf(err, errlen, "%s:%u:%u: ", d->name, at->line, at->column)
               : snprintf(err, errlen, "%s: ", d->name);
    if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    return LT_EINVAL;
}

STUB int cfg_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = stub_verror(d, at, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

STUB int cfg_string(const cfg_doc *d, const cfg_node *n, const char *what, const char **out,
                    char *err, size_t errlen)
{
    if (!n || n->kind != CFG_SCALAR)
        return cfg_error(d, n, err, errlen, "%s: expected a string", what);
    *out = n->scalar;
    return 0;
}

STUB int cfg_bool(const cfg_doc *d, const cfg_node *n, const char *what, bool *out, char *err,
                  size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && !n->quoted && strcmp(n->scalar, "true") == 0) {
        *out = true;
        return 0;
    }
    if (n && n->kind == CFG_SCALAR && !n->quoted && strcmp(n->scalar, "false") == 0) {
        *out = false;
        return 0;
    }
    return cfg_error(d, n, err, errlen, "%s: expected true or false", what);
}

STUB int cfg_int(const cfg_doc *d, const cfg_node *n, const char *what, int64_t *out, char *err,
                 size_t errlen)
{
    char *end;
    if (n && n->kind == CFG_SCALAR && !n->quoted && n->scalar[0]) {
        long long v = strtoll(n->scalar, &end, 10);
        if (!*end) {
            *out = v;
            return 0;
        }
    }
    return cfg_error(d, n, err, errlen, "%s: expected an integer", what);
}

static bool stub_type_ok(const cfg_node *n, cfg_opt_type t)
{
    switch (t) {
    case CFG_OPT_LIST:
        return n->kind == CFG_SEQ || n->kind == CFG_NULL;
    case CFG_OPT_MAP:
        return n->kind == CFG_MAP || n->kind == CFG_NULL;
    case CFG_OPT_ANY:
        return true;
    case CFG_OPT_BOOL:
        return n->kind == CFG_SCALAR && !n->quoted &&
               (!strcmp(n->scalar, "true") || !strcmp(n->scalar, "false"));
    default:
        return n->kind == CFG_SCALAR;
    }
}

STUB int cfg_check_options(const cfg_doc *d, const cfg_node *map, const cfg_option *opts,
                           const char *where, char *err, size_t errlen)
{
    if (!map || map->kind == CFG_NULL) return 0;
    if (map->kind != CFG_MAP) return cfg_error(d, map, err, errlen, "%s: expected a map", where);
    for (size_t i = 0; i < map->n; i++) {
        const cfg_option *o = opts;
        while (o->name && strcmp(o->name, map->items[i]->key) != 0)
            o++;
        if (!o->name)
            return cfg_error(d, map->items[i], err, errlen, "%s: unknown option '%s'", where,
                             map->items[i]->key);
        if (!stub_type_ok(map->items[i], o->type))
            return cfg_error(d, map->items[i], err, errlen, "%s.%s: wrong type", where, o->name);
    }
    return 0;
}

#endif
