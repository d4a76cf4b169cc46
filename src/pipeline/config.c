/* config.c — the YAML configuration tree (config.h) built from libyaml's event stream.
 *
 * Design: libyaml's parser hands us events (scalar, start/end of sequence or mapping,
 * alias); a stack of open collections collects children in growable arrays and, when a
 * collection ends, copies them into the doc's arena, so the finished tree is one arena.
 * Every node carries a hidden weight (the nodes it stands for, aliases included): an alias
 * shares its anchor's children instead of copying them, and the sum of weights is bounded,
 * so a "billion laughs" file is refused after CFG_MAX_NODES instead of expanding. Keys of a
 * mapping are checked for duplicates when it ends (sorted, so a large map costs n log n).
 * Scalars get ${env:NAME} / ${NAME} expanded as the OpenTelemetry Collector does; "$${"
 * stands for a literal "${". */
#include "pipeline/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"

enum {
    CFG_MAX_FILE = 4 << 20,   /* bytes of YAML */
    CFG_MAX_DEPTH = 64,       /* nested collections */
    CFG_MAX_NODES = 100000,   /* nodes, counting every node an alias stands for */
    CFG_MAX_SCALAR = 1 << 20, /* bytes of one scalar after ${...} expansion */
};

/* A node as allocated: the public part first, so a cfg_node * converts back. */
typedef struct {
    cfg_node n;
    size_t weight;              /* this node and all below it */
    unsigned key_line, key_col; /* a map's value: where its key starts */
} xnode;

struct cfg_doc {
    lt_arena *arena;
    char *name;
    cfg_node *root;
};

static const xnode *xn(const cfg_node *n)
{
    return (const xnode *)n;
}

/* ---------------------------------------------------------------------------------- */
/* Messages                                                                           */
/* ---------------------------------------------------------------------------------- */

static void vformat(const char *name, unsigned line, unsigned col, char *err, size_t errlen,
                    const char *fmt, va_list ap)
{
    if (!err || !errlen) return;
    int k = line ? snprintf(err, errlen, "%s:%u:%u: ", name, line, col)
                 : snprintf(err, errlen, "%s: ", name);
    if (k < 0) k = 0;
    if ((size_t)k < errlen) vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
}

static int errat(const char *name, unsigned line, unsigned col, char *err, size_t errlen,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int errat(const char *name, unsigned line, unsigned col, char *err, size_t errlen,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(name, line, col, err, errlen, fmt, ap);
    va_end(ap);
    return LT_EINVAL;
}

int cfg_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(d && d->name ? d->name : "config", at ? at->line : 0, at ? at->column : 0, err, errlen,
            fmt, ap);
    va_end(ap);
    return LT_EINVAL;
}

int cfg_key_error(const cfg_doc *d, const cfg_node *at, char *err, size_t errlen, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool key = at && at->key && xn(at)->key_line;
    vformat(d && d->name ? d->name : "config",
            key  ? xn(at)->key_line
            : at ? at->line
                 : 0,
            key  ? xn(at)->key_col
            : at ? at->column
                 : 0,
            err, errlen, fmt, ap);
    va_end(ap);
    return LT_EINVAL;
}

/* ---------------------------------------------------------------------------------- */
/* Loading                                                                            */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    xnode *node; /* the collection being filled (items set when it ends) */
    cfg_node **items;
    size_t n, cap;
    char *pending_key; /* a mapping: the key read, waiting for its value (arena) */
    unsigned key_line, key_col;
} frame;

typedef struct {
    char *name; /* heap */
    xnode *node;
} anchor;

typedef struct {
    cfg_doc *doc;
    const char *name;
    char *err;
    size_t errlen;
    frame stack[CFG_MAX_DEPTH];
    int depth;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t weight; /* sum over the tree so far */
    lt_buf scratch;
} loader;

static int oom(loader *L)
{
    errat(L->name, 0, 0, L->err, L->errlen, "out of memory");
    return LT_ENOMEM;
}

static int budget(loader *L, size_t w, const yaml_mark_t *m)
{
    if (w > CFG_MAX_NODES || L->weight + w > CFG_MAX_NODES) {
        errat(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, L->err, L->errlen,
              "more than %d nodes (counting what aliases repeat)", CFG_MAX_NODES);
        return LT_ETOOBIG;
    }
    L->weight += w;
    return 0;
}

static bool plain_null(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static bool name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Expands ${env:NAME} and ${NAME} of s (length len) into L->scratch; "$${" is a literal
 * "${". A missing variable is the empty string, as in the collector. */
static int expand(loader *L, const char *s, size_t len, const yaml_mark_t *m)
{
    lt_buf *b = &L->scratch;
    buf_reset(b);
    for (size_t i = 0; i < len;) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            buf_append(b, "${", 2);
            i += 3;
            continue;
        }
        if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
            buf_putc(b, s[i++]);
            continue;
        }
        size_t start = i + 2, j = start;
        if (len - start >= 4 && memcmp(s + start, "env:", 4) == 0) start += 4, j = start;
        while (j < len && name_char(s[j], j == start))
            j++;
        if (j == start || j >= len || s[j] != '}')
            return errat(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, L->err, L->errlen,
                         "'${' must be followed by NAME} or env:NAME} (write $${ for a literal)");
        char var[256];
        if (j - start >= sizeof var)
            return errat(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, L->err, L->errlen,
                         "environment variable name too long");
        memcpy(var, s + start, j - start);
        var[j - start] = 0;
        const char *v = getenv(var);
        if (v) buf_append_c(b, v);
        if (b->len > CFG_MAX_SCALAR) break;
        i = j + 1;
    }
    if (b->oom) return oom(L);
    if (b->len > CFG_MAX_SCALAR) {
        errat(L->name, (unsigned)m->line + 1, (unsigned)m->column + 1, L->err, L->errlen,
              "a value longer than %d bytes after expansion", CFG_MAX_SCALAR);
        return LT_ETOOBIG;
    }
    return 0;
}

static xnode *new_node(loader *L, cfg_kind kind, const yaml_mark_t *m)
{
    xnode *x = arena_calloc(L->doc->arena, 1, sizeof *x);
    if (!x) return NULL;
    x->n.kind = kind;
    x->n.scalar = "";
    x->n.line = (unsigned)m->line + 1;
    x->n.column = (unsigned)m->column + 1;
    x->weight = 1;
    return x;
}

static int set_anchor(loader *L, const unsigned char *name, xnode *x)
{
    if (!name) return 0;
    if (L->n_anchors == L->cap_anchors) {
        size_t cap = L->cap_anchors ? 2 * L->cap_anchors : 16;
        anchor *p = lt_realloc(L->anchors, cap * sizeof *p);
        if (!p) return oom(L);
        L->anchors = p;
        L->cap_anchors = cap;
    }
    char *copy = lt_strndup((const char *)name, strlen((const char *)name));
    if (!copy) return oom(L);
    L->anchors[L->n_anchors++] = (anchor){copy, x};
    return 0;
}

/* Adds a finished node to the open collection (or makes it the root). For a mapping the
 * first of each pair is the key. */
static int add(loader *L, xnode *x)
{
    if (L->depth == 0) {
        if (L->doc->root)
            return errat(L->name, x->n.line, x->n.column, L->err, L->errlen,
                         "a second document (one document per file)");
        L->doc->root = &x->n;
        return 0;
    }
    frame *f = &L->stack[L->depth - 1];
    if (f->node->n.kind == CFG_MAP && !f->pending_key) {
        if (x->n.kind != CFG_SCALAR && x->n.kind != CFG_NULL)
            return errat(L->name, x->n.line, x->n.column, L->err, L->errlen,
                         "a mapping key must be a plain value");
        if (strcmp(x->n.scalar, "<<") == 0 && !x->n.quoted)
            return errat(L->name, x->n.line, x->n.column, L->err, L->errlen,
                         "merge keys ('<<') are not supported; repeat the settings instead");
        f->pending_key = (char *)x->n.scalar;
        f->key_line = x->n.line;
        f->key_col = x->n.column;
        return 0;
    }
    if (f->node->n.kind == CFG_MAP) {
        /* x is this place's own node (an alias event makes a fresh copy), so it can carry
         * this place's key */
        x->n.key = f->pending_key;
        x->key_line = f->key_line;
        x->key_col = f->key_col;
        f->pending_key = NULL;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        cfg_node **p = lt_realloc(f->items, cap * sizeof *p);
        if (!p) return oom(L);
        f->items = p;
        f->cap = cap;
    }
    f->items[f->n++] = &x->n;
    f->node->weight += x->weight;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const cfg_node *x = *(cfg_node *const *)a, *y = *(cfg_node *const *)b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return xn(x)->key_line != xn(y)->key_line ? (xn(x)->key_line < xn(y)->key_line ? -1 : 1)
           : xn(x)->key_col != xn(y)->key_col ? (xn(x)->key_col < xn(y)->key_col ? -1 : 1)
                                              : 0;
}

static int close_collection(loader *L)
{
    frame *f = &L->stack[L->depth - 1];
    xnode *x = f->node;
    int rc = 0;
    if (f->n) {
        x->n.items = arena_alloc(L->doc->arena, f->n * sizeof *x->n.items);
        if (!x->n.items) return oom(L);
        memcpy(x->n.items, f->items, f->n * sizeof *x->n.items);
        x->n.n = f->n;
    }
    if (x->n.kind == CFG_MAP && x->n.n > 1) {
        cfg_node **sorted = lt_malloc(x->n.n * sizeof *sorted);
        if (!sorted) return oom(L);
        memcpy(sorted, x->n.items, x->n.n * sizeof *sorted);
        qsort(sorted, x->n.n, sizeof *sorted, cmp_key);
        for (size_t i = 1; i < x->n.n && !rc; i++)
            if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
                rc = errat(L->name, xn(sorted[i])->key_line, xn(sorted[i])->key_col, L->err,
                           L->errlen, "duplicate key '%s' (first at line %u, column %u)",
                           sorted[i]->key, xn(sorted[i - 1])->key_line, xn(sorted[i - 1])->key_col);
        lt_free(sorted);
        if (rc) return rc;
    }
    lt_free(f->items);
    f->items = NULL;
    f->n = f->cap = 0;
    L->depth--;
    return 0;
}

static const char *yaml_std_tag(const unsigned char *tag)
{
    static const char prefix[] = "tag:yaml.org,2002:";
    if (!tag) return "";
    if (strncmp((const char *)tag, prefix, sizeof prefix - 1) != 0) return NULL;
    return (const char *)tag + sizeof prefix - 1;
}

static int on_event(loader *L, yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    unsigned line = (unsigned)m->line + 1, col = (unsigned)m->column + 1;
    int rc;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *tag = yaml_std_tag(ev->data.scalar.tag);
        if (!tag)
            return errat(L->name, line, col, L->err, L->errlen, "tag '%s' is not supported",
                         (const char *)ev->data.scalar.tag);
        if ((rc = budget(L, 1, m))) return rc;
        const char *text = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(text, 0, len))
            return errat(L->name, line, col, L->err, L->errlen, "a NUL character in a value");
        bool quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || strcmp(tag, "str") == 0;
        /* keys are names, not values: no ${...} in them */
        frame *f = L->depth ? &L->stack[L->depth - 1] : NULL;
        bool is_key = f && f->node->n.kind == CFG_MAP && !f->pending_key;
        lt_str s = {text, len};
        if (!is_key) {
            if ((rc = expand(L, text, len, m))) return rc;
            s = (lt_str){L->scratch.data ? L->scratch.data : "", L->scratch.len};
        }
        bool null = !quoted && !*tag && plain_null(text);
        if (strcmp(tag, "null") == 0) null = true;
        xnode *x = new_node(L, null && !is_key ? CFG_NULL : CFG_SCALAR, m);
        if (!x) return oom(L);
        if (!null || is_key) {
            lt_str c = arena_strdup(L->doc->arena, s);
            if (s.len && !c.ptr) return oom(L);
            x->n.scalar = c.ptr ? c.ptr : "";
        }
        x->n.quoted = quoted;
        if ((rc = set_anchor(L, ev->data.scalar.anchor, x))) return rc;
        return add(L, x);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const unsigned char *t = seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag;
        if (!yaml_std_tag(t))
            return errat(L->name, line, col, L->err, L->errlen, "tag '%s' is not supported",
                         (const char *)t);
        if (L->depth == CFG_MAX_DEPTH) {
            errat(L->name, line, col, L->err, L->errlen, "nested deeper than %d levels",
                  CFG_MAX_DEPTH);
            return LT_ETOOBIG;
        }
        if ((rc = budget(L, 1, m))) return rc;
        xnode *x = new_node(L, seq ? CFG_SEQ : CFG_MAP, m);
        if (!x) return oom(L);
        frame *f = &L->stack[L->depth++];
        memset(f, 0, sizeof *f);
        f->node = x;
        return set_anchor(L, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
                          x) == 0
                   ? 0
                   : LT_ENOMEM;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        frame *f = &L->stack[L->depth - 1];
        xnode *x = f->node;
        if ((rc = close_collection(L))) return rc;
        return add(L, x);
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        xnode *target = NULL;
        /* the latest definition wins (YAML allows redefining an anchor) */
        for (size_t i = L->n_anchors; i-- > 0;)
            if (strcmp(L->anchors[i].name, name) == 0) {
                target = L->anchors[i].node;
                break;
            }
        /* a collection's anchor is known from its start, so an alias inside it finds a node
         * still being filled: that is a cycle, refused */
        for (int i = 0; target && i < L->depth; i++)
            if (L->stack[i].node == target)
                return errat(L->name, line, col, L->err, L->errlen,
                             "alias '*%s' refers to a node that contains it", name);
        if (!target)
            return errat(L->name, line, col, L->err, L->errlen, "unknown alias '*%s'", name);
        if ((rc = budget(L, target->weight, m))) return rc;
        xnode *x = arena_alloc(L->doc->arena, sizeof *x);
        if (!x) return oom(L);
        *x = *target;
        x->n.key = NULL;
        x->n.line = line;
        x->n.column = col;
        return add(L, x);
    }
    default:
        return 0;
    }
}

int cfg_load_string(const char *text, size_t len, const char *name, cfg_doc **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (err && errlen) err[0] = 0;
    if (!name) name = "config";
    if (len > CFG_MAX_FILE) {
        errat(name, 0, 0, err, errlen, "larger than %d bytes", CFG_MAX_FILE);
        return LT_ETOOBIG;
    }
    loader L = {.name = name, .err = err, .errlen = errlen};
    yaml_parser_t p;
    bool parser_ok = false;
    int rc = 0;
    cfg_doc *d = lt_calloc(1, sizeof *d);
    if (!d || !(d->arena = arena_new()) || !(d->name = lt_strndup(name, strlen(name)))) {
        rc = oom(&L);
        goto out;
    }
    L.doc = d;
    if (!yaml_parser_initialize(&p)) {
        rc = oom(&L);
        goto out;
    }
    parser_ok = true;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR) {
                rc = oom(&L);
            } else {
                const yaml_mark_t *m = p.problem ? &p.problem_mark : &p.context_mark;
                rc = errat(name, (unsigned)m->line + 1, (unsigned)m->column + 1, err, errlen,
                           "not valid YAML: %s%s%s", p.problem ? p.problem : "syntax error",
                           p.context ? " " : "", p.context ? p.context : "");
            }
            goto out;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&L, &ev);
        yaml_event_delete(&ev);
        if (rc) goto out;
        if (end) break;
    }
    if (!d->root) {
        yaml_mark_t m = {0};
        xnode *x = new_node(&L, CFG_NULL, &m);
        if (!x) {
            rc = oom(&L);
            goto out;
        }
        d->root = &x->n;
    }
out:
    if (parser_ok) yaml_parser_delete(&p);
    for (int i = 0; i < L.depth; i++)
        lt_free(L.stack[i].items);
    for (size_t i = 0; i < L.n_anchors; i++)
        lt_free(L.anchors[i].name);
    lt_free(L.anchors);
    buf_free(&L.scratch);
    if (rc) {
        cfg_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int cfg_load_file(const char *path, cfg_doc **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errat(path, 0, 0, err, errlen, "cannot open: %s", strerror(errno));
        return LT_EIO;
    }
    char *buf = lt_malloc(CFG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        errat(path, 0, 0, err, errlen, "out of memory");
        return LT_ENOMEM;
    }
    size_t n = fread(buf, 1, CFG_MAX_FILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad) {
        errat(path, 0, 0, err, errlen, "cannot read");
        rc = LT_EIO;
    } else if (n > CFG_MAX_FILE) {
        errat(path, 0, 0, err, errlen, "larger than %d bytes", CFG_MAX_FILE);
        rc = LT_ETOOBIG;
    } else {
        rc = cfg_load_string(buf, n, path, out, err, errlen);
    }
    lt_free(buf);
    return rc;
}

const cfg_node *cfg_root(const cfg_doc *d)
{
    return d ? d->root : NULL;
}

const char *cfg_name(const cfg_doc *d)
{
    return d ? d->name : "config";
}

void cfg_free(cfg_doc *d)
{
    if (!d) return;
    arena_free(d->arena);
    lt_free(d->name);
    lt_free(d);
}

const cfg_node *cfg_get(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP || !key) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[i]->key, key) == 0) return map->items[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Typed reads                                                                        */
/* ---------------------------------------------------------------------------------- */

static const char *kind_name(const cfg_node *n)
{
    switch (n ? n->kind : CFG_NULL) {
    case CFG_NULL:
        return "nothing";
    case CFG_SEQ:
        return "a list";
    case CFG_MAP:
        return "a mapping";
    default:
        return "a value";
    }
}

/* The error of a typed read: "what: expected WANT, got 'TEXT'" (or got a list ...). */
static int bad(const cfg_doc *d, const cfg_node *n, const char *what, const char *want, char *err,
               size_t errlen)
{
    if (n && n->kind == CFG_SCALAR)
        return cfg_error(d, n, err, errlen, "%s: expected %s, got %s'%.80s'", what, want,
                         n->quoted ? "the quoted string " : "", n->scalar);
    return cfg_error(d, n, err, errlen, "%s: expected %s, got %s", what, want, kind_name(n));
}

int cfg_string(const cfg_doc *d, const cfg_node *n, const char *what, const char **out, char *err,
               size_t errlen)
{
    if (!n || n->kind != CFG_SCALAR) return bad(d, n, what, "a string", err, errlen);
    *out = n->scalar;
    return 0;
}

int cfg_bool(const cfg_doc *d, const cfg_node *n, const char *what, bool *out, char *err,
             size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && !n->quoted) {
        const char *s = n->scalar;
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            *out = false;
            return 0;
        }
    }
    return bad(d, n, what, "true or false", err, errlen);
}

int cfg_int(const cfg_doc *d, const cfg_node *n, const char *what, int64_t *out, char *err,
            size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && !n->quoted) {
        const char *s = n->scalar;
        lt_str t = lt_str_c(*s == '+' ? s + 1 : s);
        if (t.len && (*t.ptr != '+') && parse_i64(t, out) == 0) return 0;
    }
    return bad(d, n, what, "a whole number", err, errlen);
}

int cfg_double(const cfg_doc *d, const cfg_node *n, const char *what, double *out, char *err,
               size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && !n->quoted && *n->scalar) {
        const char *s = n->scalar;
        bool ok = true;
        /* decimal and exponent forms only: strtod's hex, inf and nan are not YAML numbers */
        for (const char *p = s; *p && ok; p++)
            ok = (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
                 *p == '-';
        char *end = NULL;
        errno = 0;
        double v = ok ? strtod(s, &end) : 0;
        if (ok && end && !*end && errno == 0 && isfinite(v)) {
            *out = v;
            return 0;
        }
    }
    return bad(d, n, what, "a number", err, errlen);
}

/* Go's time.ParseDuration, unsigned: one or more NUMBER[.FRACTION]UNIT with units ns, us
 * (or µs), ms, s, m, h; "0" alone is zero. Overflow past 2^63-1 ns is an error. */
static int parse_go_duration(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"\xc2\xb5s", 1000},
                 {"ms", 1000000},
                 {"s", 1000000000ull},
                 {"m", 60000000000ull},
                 {"h", 3600000000000ull}};
    const uint64_t max = INT64_MAX;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*s) return LT_EINVAL;
    uint64_t total = 0;
    while (*s) {
        uint64_t whole = 0, frac = 0, scale = 1;
        bool digits = false;
        for (; *s >= '0' && *s <= '9'; s++, digits = true) {
            if (whole > (max - 9) / 10) return LT_EINVAL;
            whole = whole * 10 + (uint64_t)(*s - '0');
        }
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
                if (scale < 1000000000000000000ull) { /* later digits are below 1 ns */
                    frac = frac * 10 + (uint64_t)(*s - '0');
                    scale *= 10;
                }
        }
        if (!digits) return LT_EINVAL;
        size_t best = 0;
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, l) == 0 && l > best) best = l, unit = units[i].ns;
        }
        if (!best) return LT_EINVAL;
        s += best;
        if (whole > max / unit) return LT_EINVAL;
        uint64_t v = whole * unit;
        /* frac/scale < 1 and unit ≤ 3.6e12: long double keeps the ns exact enough */
        v += (uint64_t)((long double)frac * (long double)unit / (long double)scale);
        if (v > max - total) return LT_EINVAL;
        total += v;
    }
    *out = total;
    return 0;
}

int cfg_duration_ns(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out, char *err,
                    size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && parse_go_duration(n->scalar, out) == 0) return 0;
    return bad(d, n, what, "a duration such as 10s", err, errlen);
}

int cfg_size(const cfg_doc *d, const cfg_node *n, const char *what, uint64_t *out, char *err,
             size_t errlen)
{
    if (n && n->kind == CFG_SCALAR && *n->scalar && *n->scalar != '-' && *n->scalar != '+' &&
        parse_size(n->scalar, out) == 0)
        return 0;
    return bad(d, n, what, "a size such as 64MiB, 512KB or a number of bytes", err, errlen);
}

/* ---------------------------------------------------------------------------------- */
/* Options                                                                            */
/* ---------------------------------------------------------------------------------- */

int cfg_check_options(const cfg_doc *d, const cfg_node *map, const cfg_option *opts,
                      const char *where, char *err, size_t errlen)
{
    if (!map || map->kind == CFG_NULL) return 0;
    if (map->kind != CFG_MAP)
        return cfg_error(d, map, err, errlen, "%s: expected a mapping of options, got %s", where,
                         map->kind == CFG_SCALAR ? "a value" : kind_name(map));
    for (size_t i = 0; i < map->n; i++) {
        const cfg_node *v = map->items[i];
        const cfg_option *o = opts;
        while (o && o->name && strcmp(o->name, v->key) != 0)
            o++;
        if (!o || !o->name) {
            char list[512];
            size_t k = 0;
            list[0] = 0;
            for (const cfg_option *p = opts; p && p->name && k < sizeof list; p++) {
                int w = snprintf(list + k, sizeof list - k, "%s%s", k ? ", " : "", p->name);
                if (w < 0) break;
                k += (size_t)w;
            }
            return cfg_key_error(d, v, err, errlen, "%s: unknown option '%s' (%s%s)", where, v->key,
                                 list[0] ? "options: " : "this component takes no options", list);
        }
        char path[256];
        snprintf(path, sizeof path, "%s.%s", where, o->name);
        int rc = 0;
        union {
            const char *s;
            bool b;
            int64_t i;
            double f;
            uint64_t u;
        } tmp;
        /* an empty value of a list or a mapping means "the defaults", as in the collector */
        switch (o->type) {
        case CFG_OPT_STRING:
            rc = cfg_string(d, v, path, &tmp.s, err, errlen);
            break;
        case CFG_OPT_BOOL:
            rc = cfg_bool(d, v, path, &tmp.b, err, errlen);
            break;
        case CFG_OPT_INT:
            rc = cfg_int(d, v, path, &tmp.i, err, errlen);
            break;
        case CFG_OPT_DOUBLE:
            rc = cfg_double(d, v, path, &tmp.f, err, errlen);
            break;
        case CFG_OPT_DURATION:
            rc = cfg_duration_ns(d, v, path, &tmp.u, err, errlen);
            break;
        case CFG_OPT_SIZE:
            rc = cfg_size(d, v, path, &tmp.u, err, errlen);
            break;
        case CFG_OPT_LIST:
            if (v->kind != CFG_SEQ && v->kind != CFG_NULL)
                rc = bad(d, v, path, "a list", err, errlen);
            break;
        case CFG_OPT_MAP:
            if (v->kind != CFG_MAP && v->kind != CFG_NULL)
                rc = bad(d, v, path, "a mapping", err, errlen);
            break;
        case CFG_OPT_ANY:
            break;
        }
        if (rc) return rc;
    }
    return 0;
}
