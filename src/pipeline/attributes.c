/* attributes.c — the attributes processor (see attributes.h).
 *
 * Design. The settings become a list of actions and two sets of match properties, with
 * every pattern compiled and every string copied into the processor's own arena, so that
 * processing reads nothing from the configuration. An item's attribute list is copied
 * into the batch's arena the first time an action adds to it, with room for all that the
 * actions can add (inserts, upserts, extract groups), so a span gains its attributes with
 * one copy; removals shrink the list in place. Which options each action takes and needs
 * is a table (RULES). */
#include "pipeline/attributes.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "genai/genai.h"
#include "pipeline/components.h"
#include "pipeline/regex.h"

#include <openssl/evp.h>

enum {
    MAX_ACTIONS = 256,
    MAX_VALUES = 1024, /* entries of one match property list */
    MAX_GROUPS = 64,   /* named groups of one extract pattern */
};

/* ------------------------------------------------------------------------------------ */
/* The processor                                                                        */
/* ------------------------------------------------------------------------------------ */

typedef enum { A_INSERT, A_UPDATE, A_UPSERT, A_DELETE, A_HASH, A_EXTRACT, A_CONVERT } act_kind;
static const char *const ACT_NAMES[] = {"insert", "update",  "upsert", "delete",
                                        "hash",   "extract", "convert"};
#define ACT_LIST "insert, update, upsert, delete, hash, extract or convert"

typedef enum { TO_INT, TO_DOUBLE, TO_STRING } conv_type;
static const char *const CONV_NAMES[] = {"int", "double", "string"};

typedef struct {
    act_kind kind;
    lt_str key;     /* empty: none (delete and hash by pattern alone) */
    bool has_value; /* insert / update / upsert: value, else from_attribute */
    lt_value value; /* scalars only; a string lives in the processor's arena */
    lt_str from;    /* from_attribute */
    pcre2_code *re; /* delete / hash: keys; extract: the value */
    lt_str *groups; /* extract: the name of group i + 1 */
    uint32_t n_groups;
    conv_type to;
} action;

/* A list of strings to match a value against: equal to one (strict) or matched by one
 * (regexp). */
typedef struct {
    lt_str *lit;
    pcre2_code **re;
    uint32_t n;
} strset;

typedef struct {
    lt_str key;
    bool has_value;
    lt_value value; /* strict */
    pcre2_code *re; /* regexp */
} attr_match;

typedef struct {
    strset name, version; /* one entry each; version may be empty (n 0) */
} lib_match;

typedef struct {
    bool given, regexp;
    strset services, span_names, span_kinds, bodies, sev_texts;
    attr_match *attrs, *res;
    uint32_t n_attrs, n_res;
    lib_match *libs;
    uint32_t n_libs;
} props;

struct attributes {
    lt_arena *mem; /* everything read from the settings */
    action *acts;
    uint32_t n_acts;
    uint32_t grow;    /* attributes the actions may add to one item */
    uint32_t ovector; /* capture pairs a match needs (extract) */
    props include, exclude;
    pcre2_code **all_re; /* every compiled pattern, to free */
    uint32_t n_re, cap_re;
    _Atomic uint64_t spans, spans_changed, logs, logs_changed;
};

void attributes_free(attributes *p)
{
    if (!p) return;
    for (uint32_t i = 0; i < p->n_re; i++)
        pcre2_code_free(p->all_re[i]);
    lt_free(p->all_re);
    arena_free(p->mem);
    lt_free(p);
}

/* ------------------------------------------------------------------------------------ */
/* Settings                                                                             */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const cfg_doc *d;
    attributes *p;
    unsigned signals;
    char *err;
    size_t errlen;
} cx;

enum { PATH = 320 }; /* an option's path, for messages */

/* Writes an option's path ("processors.attributes.actions[2].pattern") to w; a path too
 * long for PATH is cut, which only shortens a message. */
__attribute__((format(printf, 2, 3))) static void pathf(char w[PATH], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w, PATH, fmt, ap);
    va_end(ap);
}

/* The fields of an action, as bits, and which ones each action takes. */
enum { F_KEY = 1, F_VALUE = 2, F_FROM = 4, F_PATTERN = 8, F_CONV = 16 };
static const char *const FIELD_NAMES[] = {"key", "value", "from_attribute", "pattern",
                                          "converted_type"};

static const struct {
    unsigned allowed;  /* fields it takes */
    unsigned required; /* fields it needs, all of them */
    unsigned any_of;   /* fields it needs one of, at least (0: no such rule) */
    bool only_one;     /* and at most one of them */
} RULES[] = {
    [A_INSERT] = {F_KEY | F_VALUE | F_FROM, F_KEY, F_VALUE | F_FROM, true},
    [A_UPDATE] = {F_KEY | F_VALUE | F_FROM, F_KEY, F_VALUE | F_FROM, true},
    [A_UPSERT] = {F_KEY | F_VALUE | F_FROM, F_KEY, F_VALUE | F_FROM, true},
    [A_DELETE] = {F_KEY | F_PATTERN, 0, F_KEY | F_PATTERN, false},
    [A_HASH] = {F_KEY | F_PATTERN, 0, F_KEY | F_PATTERN, false},
    [A_EXTRACT] = {F_KEY | F_PATTERN, F_KEY | F_PATTERN, 0, false},
    [A_CONVERT] = {F_KEY | F_CONV, F_KEY | F_CONV, 0, false},
};

static const cfg_option ACTION_OPTIONS[] = {
    {"key", CFG_OPT_STRING, "the attribute acted on"},
    {"action", CFG_OPT_STRING, ACT_LIST},
    {"value", CFG_OPT_ANY, "what insert, update and upsert write"},
    {"from_attribute", CFG_OPT_STRING, "insert, update, upsert: the value of this attribute"},
    {"from_context", CFG_OPT_STRING, "not supported (no request context)"},
    {"pattern", CFG_OPT_STRING, "regex: the keys delete and hash act on; extract's groups"},
    {"converted_type", CFG_OPT_STRING, "convert: int, double or string"},
    {NULL, 0, NULL},
};

static const cfg_option ATTR_OPTIONS[] = {
    {"key", CFG_OPT_STRING, "the attribute"},
    {"value", CFG_OPT_ANY, "its value (any value when not given)"},
    {NULL, 0, NULL},
};

static const cfg_option LIB_OPTIONS[] = {
    {"name", CFG_OPT_STRING, "instrumentation scope name"},
    {"version", CFG_OPT_STRING, "its version (any when not given)"},
    {NULL, 0, NULL},
};

static const char *const SPAN_KINDS[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                         "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                         "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};

static int copy_str(cx *c, const char *s, lt_str *out)
{
    *out = arena_strdup(c->p->mem, lt_str_c(s));
    return !*s || out->ptr ? 0 : LT_ENOMEM;
}

/* Compiles pattern pat of node n into *out, kept for attributes_free. */
static int compile(cx *c, const cfg_node *n, const char *what, const char *pat, pcre2_code **out)
{
    attributes *p = c->p;
    if (p->n_re == p->cap_re) {
        uint32_t cap = p->cap_re ? p->cap_re * 2 : 16;
        pcre2_code **all = lt_realloc(p->all_re, cap * sizeof *all);
        if (!all) return LT_ENOMEM;
        p->all_re = all;
        p->cap_re = cap;
    }
    char msg[160];
    size_t at;
    int rc = regex_compile(pat, strlen(pat), out, msg, sizeof msg, &at);
    if (rc == LT_EINVAL)
        return cfg_error(c->d, n, c->err, c->errlen, "%s: invalid pattern at offset %zu: %s", what,
                         at, msg);
    if (!rc) p->all_re[p->n_re++] = *out;
    return rc;
}

/* A value of the settings as an attribute value: a quoted scalar is a string; a plain one
 * a bool, an int, a double or a string, as YAML reads it. */
static int read_value(cx *c, const cfg_node *n, const char *what, lt_value *out)
{
    char scratch[8];
    memset(out, 0, sizeof *out);
    if (n->kind != CFG_SCALAR)
        return cfg_error(
            c->d, n, c->err, c->errlen, "%s: expected a string, number or bool, got %s", what,
            n->kind == CFG_NULL ? "nothing (null)" : "a list or map (not supported as a value)");
    if (!n->quoted && !cfg_bool(c->d, n, what, &out->u.b, scratch, sizeof scratch)) {
        out->type = LT_VAL_BOOL;
    } else if (!n->quoted && !cfg_int(c->d, n, what, &out->u.i, scratch, sizeof scratch)) {
        out->type = LT_VAL_INT;
    } else if (!n->quoted && !cfg_double(c->d, n, what, &out->u.d, scratch, sizeof scratch)) {
        out->type = LT_VAL_DOUBLE;
    } else {
        out->type = LT_VAL_STRING;
        return copy_str(c, n->scalar, &out->u.s);
    }
    return 0;
}

/* extract: the names of the pattern's groups, which must all have one. */
static int read_groups(cx *c, const cfg_node *n, const char *what, action *a)
{
    uint32_t count = 0, names = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(a->re, PCRE2_INFO_CAPTURECOUNT, &count);
    pcre2_pattern_info(a->re, PCRE2_INFO_NAMECOUNT, &names);
    pcre2_pattern_info(a->re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(a->re, PCRE2_INFO_NAMETABLE, &table);
    if (!count)
        return cfg_error(c->d, n, c->err, c->errlen,
                         "%s: no named group such as (?P<name>...) to extract", what);
    if (count > MAX_GROUPS)
        return cfg_error(c->d, n, c->err, c->errlen, "%s: more than %d groups", what, MAX_GROUPS);
    a->groups = arena_calloc(c->p->mem, count, sizeof *a->groups);
    if (!a->groups) return LT_ENOMEM;
    for (uint32_t i = 0; i < names; i++) {
        PCRE2_SPTR e = table + (size_t)i * entry;
        uint32_t g = (uint32_t)e[0] << 8 | e[1];
        a->groups[g - 1] = lt_str_c((const char *)e + 2);
    }
    for (uint32_t g = 0; g < count; g++)
        if (!a->groups[g].len)
            return cfg_error(c->d, n, c->err, c->errlen,
                             "%s: group %u has no name (every group of extract needs one, "
                             "(?P<name>...); write (?:...) for a group that is not extracted)",
                             what, g + 1);
    a->n_groups = count;
    if (count + 1 > c->p->ovector) c->p->ovector = count + 1;
    c->p->grow += count;
    return 0;
}

static int read_action(cx *c, const cfg_node *item, const char *what, action *a)
{
    const cfg_doc *d = c->d;
    if (item->kind != CFG_MAP)
        return cfg_error(d, item, c->err, c->errlen, "%s: expected {key, action, ...}", what);
    int rc = cfg_check_options(d, item, ACTION_OPTIONS, what, c->err, c->errlen);
    if (rc) return rc;
    char w[PATH];
    const cfg_node *an = cfg_get(item, "action");
    if (!an)
        return cfg_error(d, item, c->err, c->errlen, "%s: action is required (%s)", what, ACT_LIST);
    const char *name = an->scalar;
    size_t k = 0;
    while (k < sizeof ACT_NAMES / sizeof ACT_NAMES[0] && strcasecmp(name, ACT_NAMES[k]) != 0)
        k++;
    if (k == sizeof ACT_NAMES / sizeof ACT_NAMES[0])
        return cfg_error(d, an, c->err, c->errlen, "%s.action: unknown action '%s' (%s)", what,
                         name, ACT_LIST);
    a->kind = (act_kind)k;
    const cfg_node *fc = cfg_get(item, "from_context");
    if (fc)
        return cfg_key_error(d, fc, c->err, c->errlen,
                             "%s.from_context: not supported: llmtrace has no request context "
                             "(client metadata, auth) to take values from; use value or "
                             "from_attribute",
                             what);
    /* which fields are given: an empty string counts as not given, as in the collector */
    const cfg_node *f[5];
    unsigned given = 0;
    for (int i = 0; i < 5; i++) {
        f[i] = cfg_get(item, FIELD_NAMES[i]);
        bool empty = f[i] && i != 1 && f[i]->kind == CFG_SCALAR && !*f[i]->scalar;
        if (f[i] && !empty) given |= 1u << i;
    }
    for (int i = 0; i < 5; i++)
        if ((given & (1u << i)) && !(RULES[k].allowed & (1u << i)))
            return cfg_key_error(d, f[i], c->err, c->errlen, "%s.%s: not used by action %s", what,
                                 FIELD_NAMES[i], ACT_NAMES[k]);
    for (int i = 0; i < 5; i++)
        if ((RULES[k].required & (1u << i)) && !(given & (1u << i)))
            return cfg_error(d, item, c->err, c->errlen, "%s: action %s needs %s", what,
                             ACT_NAMES[k], FIELD_NAMES[i]);
    unsigned any = RULES[k].any_of;
    if (any && !(given & any)) { /* the two fields of any_of, for the message */
        int x = __builtin_ctz(any), y = __builtin_ctz(any & ~(1u << x));
        return cfg_error(d, item, c->err, c->errlen, "%s: action %s needs %s or %s", what,
                         ACT_NAMES[k], FIELD_NAMES[x], FIELD_NAMES[y]);
    }
    if (RULES[k].only_one && (given & any) == any)
        return cfg_key_error(d, f[2], c->err, c->errlen,
                             "%s.from_attribute: value is given too; give one of them", what);
    if ((given & F_KEY) && (rc = copy_str(c, f[0]->scalar, &a->key))) return rc;
    if (given & F_VALUE) {
        pathf(w, "%s.value", what);
        if ((rc = read_value(c, f[1], w, &a->value))) return rc;
        a->has_value = true;
    }
    if ((given & F_FROM) && (rc = copy_str(c, f[2]->scalar, &a->from))) return rc;
    if (given & F_PATTERN) {
        pathf(w, "%s.pattern", what);
        if ((rc = compile(c, f[3], w, f[3]->scalar, &a->re))) return rc;
        if (a->kind == A_EXTRACT && (rc = read_groups(c, f[3], w, a))) return rc;
    }
    if (given & F_CONV) {
        size_t t = 0;
        while (t < 3 && strcmp(f[4]->scalar, CONV_NAMES[t]) != 0)
            t++;
        if (t == 3)
            return cfg_error(d, f[4], c->err, c->errlen,
                             "%s.converted_type: '%s' is not int, double or string", what,
                             f[4]->scalar);
        a->to = (conv_type)t;
    }
    if (a->kind == A_INSERT || a->kind == A_UPSERT) c->p->grow++;
    return 0;
}

static int read_actions(cx *c, const cfg_node *settings, const char *where)
{
    char w[PATH];
    pathf(w, "%s.actions", where);
    const cfg_node *list = cfg_get(settings, "actions");
    if (!list || list->kind != CFG_SEQ || !list->n)
        return cfg_error(c->d, list ? list : settings, c->err, c->errlen,
                         "%s: at least one action is required (%s)", w, ACT_LIST);
    if (list->n > MAX_ACTIONS)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: more than %d actions", w, MAX_ACTIONS);
    c->p->acts = arena_calloc(c->p->mem, list->n, sizeof *c->p->acts);
    if (!c->p->acts) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        pathf(w, "%s.actions[%zu]", where, i);
        int rc = read_action(c, list->items[i], w, &c->p->acts[i]);
        if (rc) return rc;
        c->p->n_acts++;
    }
    return 0;
}

/* One string, or pattern, of a match property. */
static int read_one(cx *c, const props *m, const cfg_node *n, const char *what, strset *s)
{
    const char *v;
    int rc = cfg_string(c->d, n, what, &v, c->err, c->errlen);
    if (rc) return rc;
    if (m->regexp) return compile(c, n, what, v, &s->re[s->n++]);
    return copy_str(c, v, &s->lit[s->n++]);
}

static int alloc_set(cx *c, strset *s, size_t n)
{
    s->lit = arena_calloc(c->p->mem, n ? n : 1, sizeof *s->lit);
    s->re = arena_calloc(c->p->mem, n ? n : 1, sizeof *s->re);
    return s->lit && s->re ? 0 : LT_ENOMEM;
}

/* A list of strings (services, span_names, ...): the node is a list or null. */
static int read_set(cx *c, const props *m, const cfg_node *list, const char *what, strset *s)
{
    if (!list || list->kind != CFG_SEQ) return 0;
    if (list->n > MAX_VALUES)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: more than %d entries", what,
                         MAX_VALUES);
    int rc = alloc_set(c, s, list->n);
    for (size_t i = 0; i < list->n && !rc; i++) {
        char w[PATH];
        pathf(w, "%s[%zu]", what, i);
        rc = read_one(c, m, list->items[i], w, s);
        if (!rc && s == &m->span_kinds && !m->regexp) {
            size_t k = 0;
            while (k < 6 && !lt_str_eq_c(s->lit[i], SPAN_KINDS[k]))
                k++;
            if (k == 6)
                rc = cfg_error(c->d, list->items[i], c->err, c->errlen,
                               "%s: '%s' is not a span kind (SPAN_KIND_UNSPECIFIED, "
                               "SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, "
                               "SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER)",
                               w, list->items[i]->scalar);
        }
    }
    return rc;
}

/* attributes / resources: [{key, value}]. */
static int read_attr_matches(cx *c, const props *m, const cfg_node *list, const char *what,
                             attr_match **out, uint32_t *n)
{
    if (!list || list->kind != CFG_SEQ) return 0;
    if (list->n > MAX_VALUES)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: more than %d entries", what,
                         MAX_VALUES);
    *out = arena_calloc(c->p->mem, list->n ? list->n : 1, sizeof **out);
    if (!*out) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        char w[PATH], wv[PATH];
        pathf(w, "%s[%zu]", what, i);
        const cfg_node *it = list->items[i];
        int rc = cfg_check_options(c->d, it, ATTR_OPTIONS, w, c->err, c->errlen);
        if (rc) return rc;
        const cfg_node *k = cfg_get(it, "key"), *v = cfg_get(it, "value");
        if (it->kind != CFG_MAP || !k || !*k->scalar)
            return cfg_error(c->d, it, c->err, c->errlen, "%s: key is required", w);
        attr_match *am = &(*out)[i];
        if ((rc = copy_str(c, k->scalar, &am->key))) return rc;
        if (v) {
            pathf(wv, "%s.value", w);
            if ((rc = read_value(c, v, wv, &am->value))) return rc;
            if (m->regexp && am->value.type != LT_VAL_STRING)
                return cfg_error(c->d, v, c->err, c->errlen,
                                 "%s: match_type regexp takes a pattern (a string) here", wv);
            if (m->regexp && (rc = compile(c, v, wv, v->scalar, &am->re))) return rc;
            am->has_value = true;
        }
        (*n)++;
    }
    return 0;
}

static int read_libraries(cx *c, const props *m, const cfg_node *list, const char *what, props *out)
{
    if (!list || list->kind != CFG_SEQ) return 0;
    if (list->n > MAX_VALUES)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: more than %d entries", what,
                         MAX_VALUES);
    out->libs = arena_calloc(c->p->mem, list->n ? list->n : 1, sizeof *out->libs);
    if (!out->libs) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        char w[PATH], wf[PATH];
        pathf(w, "%s[%zu]", what, i);
        const cfg_node *it = list->items[i];
        int rc = cfg_check_options(c->d, it, LIB_OPTIONS, w, c->err, c->errlen);
        if (!rc && it->kind != CFG_MAP)
            rc = cfg_error(c->d, it, c->err, c->errlen, "%s: expected {name, version}", w);
        lib_match *lm = &out->libs[i];
        if (!rc) rc = alloc_set(c, &lm->name, 1);
        if (!rc) rc = alloc_set(c, &lm->version, 1);
        if (rc) return rc;
        /* a missing name is the empty name, as the collector reads it (which, as a regexp,
         * matches every name) */
        const cfg_node *nm = cfg_get(it, "name"), *ver = cfg_get(it, "version");
        pathf(wf, "%s.name", w);
        if (nm)
            rc = read_one(c, m, nm, wf, &lm->name);
        else if (m->regexp)
            rc = compile(c, it, wf, "", &lm->name.re[lm->name.n++]);
        else
            rc = copy_str(c, "", &lm->name.lit[lm->name.n++]);
        if (rc) return rc;
        pathf(wf, "%s.version", w);
        if (ver && (rc = read_one(c, m, ver, wf, &lm->version))) return rc;
        out->n_libs++;
    }
    return 0;
}

static bool nonempty(const cfg_node *n)
{
    return n && n->kind == CFG_SEQ && n->n > 0;
}

/* include / exclude. */
static int read_props(cx *c, const cfg_node *node, const char *where, const char *name, props *m)
{
    if (!node || node->kind == CFG_NULL) return 0;
    char w[PATH], wf[PATH];
    pathf(w, "%s.%s", where, name);
    const component_def *def = components_find(COMP_PROCESSOR, "attributes");
    const cfg_option *opts = NULL;
    for (const component_sub *s = def->subs; s && s->path; s++)
        if (strcmp(s->path, name) == 0) opts = s->options;
    int rc = cfg_check_options(c->d, node, opts, w, c->err, c->errlen);
    if (rc) return rc;
    m->given = true;
    const cfg_node *mt = cfg_get(node, "match_type");
    if (!mt)
        return cfg_error(c->d, node, c->err, c->errlen,
                         "%s: match_type is required (strict or regexp)", w);
    if (strcmp(mt->scalar, "regexp") == 0)
        m->regexp = true;
    else if (strcmp(mt->scalar, "strict") != 0)
        return cfg_error(c->d, mt, c->err, c->errlen, "%s.match_type: '%s' is not strict or regexp",
                         w, mt->scalar);
    /* which signal each property is for, as the collector checks them */
    static const struct {
        const char *name;
        unsigned signals;
    } FOR[] = {
        {"services", SIG_TRACES},
        {"span_names", SIG_TRACES},
        {"span_kinds", SIG_TRACES},
        {"log_bodies", SIG_LOGS},
        {"log_severity_texts", SIG_LOGS},
        {"attributes", 0},
        {"resources", 0},
        {"libraries", 0},
    };
    unsigned used = c->signals ? c->signals : SIG_TRACES | SIG_LOGS;
    unsigned have = 0; /* signals some property given applies to */
    for (size_t i = 0; i < sizeof FOR / sizeof FOR[0]; i++) {
        const cfg_node *v = cfg_get(node, FOR[i].name);
        if (!nonempty(v)) continue;
        unsigned other = used & ~(FOR[i].signals ? FOR[i].signals : used);
        if (other)
            return cfg_key_error(c->d, v, c->err, c->errlen,
                                 "%s.%s: applies to %s only, and this processor is used for %s", w,
                                 FOR[i].name,
                                 FOR[i].signals == SIG_TRACES ? "spans" : "log records",
                                 other == SIG_LOGS ? "logs" : "traces");
        have |= FOR[i].signals ? FOR[i].signals : used;
    }
    if ((used & SIG_TRACES) && !(have & SIG_TRACES))
        return cfg_error(c->d, node, c->err, c->errlen,
                         "%s: give at least one of services, span_names, span_kinds, attributes, "
                         "resources or libraries",
                         w);
    if ((used & SIG_LOGS) && !(have & SIG_LOGS))
        return cfg_error(c->d, node, c->err, c->errlen,
                         "%s: give at least one of attributes, resources, libraries, log_bodies "
                         "or log_severity_texts",
                         w);
    static const struct {
        const char *name;
        size_t off;
    } SETS[] = {
        {"services", offsetof(props, services)},
        {"span_names", offsetof(props, span_names)},
        {"span_kinds", offsetof(props, span_kinds)},
        {"log_bodies", offsetof(props, bodies)},
        {"log_severity_texts", offsetof(props, sev_texts)},
    };
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0] && !rc; i++) {
        pathf(wf, "%s.%s", w, SETS[i].name);
        rc = read_set(c, m, cfg_get(node, SETS[i].name), wf, (strset *)((char *)m + SETS[i].off));
    }
    pathf(wf, "%s.attributes", w);
    if (!rc) rc = read_attr_matches(c, m, cfg_get(node, "attributes"), wf, &m->attrs, &m->n_attrs);
    pathf(wf, "%s.resources", w);
    if (!rc) rc = read_attr_matches(c, m, cfg_get(node, "resources"), wf, &m->res, &m->n_res);
    pathf(wf, "%s.libraries", w);
    if (!rc) rc = read_libraries(c, m, cfg_get(node, "libraries"), wf, m);
    return rc;
}

int attributes_create(const cfg_doc *d, const cfg_node *settings, const char *where,
                      unsigned signals, attributes **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!where) where = "processors.attributes";
    const component_def *def = components_find(COMP_PROCESSOR, "attributes");
    int rc = cfg_check_options(d, settings, def->options, where, err, errlen);
    if (rc) return rc;
    attributes *p = lt_calloc(1, sizeof *p);
    if (!p || !(p->mem = arena_new())) {
        attributes_free(p);
        return LT_ENOMEM;
    }
    p->ovector = 1;
    cx c = {.d = d, .p = p, .signals = signals, .err = err, .errlen = errlen};
    rc = read_actions(&c, settings, where);
    if (!rc) rc = read_props(&c, cfg_get(settings, "include"), where, "include", &p->include);
    if (!rc) rc = read_props(&c, cfg_get(settings, "exclude"), where, "exclude", &p->exclude);
    if (rc) {
        attributes_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Values as strings                                                                    */
/* ------------------------------------------------------------------------------------ */

/* Writes d as Go writes it: strconv.FormatFloat(d, 'f', -1, 64) (the shortest digits that
 * read back as d, then zeros, never an exponent), or, with es6, as pdata's Value.AsString
 * does (the same, but with an exponent below 1e-6 and from 1e21: "1e-7", "1.5e+21").
 * Returns the length; out has room for 400 bytes (the 'f' form of 1e308 takes 309). */
static size_t format_double(char *out, double d, bool es6)
{
    if (isnan(d)) return (size_t)snprintf(out, 400, "NaN");
    if (isinf(d)) return (size_t)snprintf(out, 400, d > 0 ? "+Inf" : "-Inf");
    char e[48];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, d);
        if (strtod(e, NULL) == d) break;
    }
    double ad = fabs(d);
    if (es6 && ad != 0 && (ad < 1e-6 || ad >= 1e21)) {
        size_t n = (size_t)snprintf(out, 400, "%s", e);
        /* Go's exponent has no leading zero when negative: e-07 becomes e-7 */
        if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
            out[n - 2] = out[n - 1];
            out[--n] = 0;
        }
        return n;
    }
    /* the shortest digits and the exponent of the first, placed around the point */
    char dig[24];
    size_t nd = 0, o = 0;
    const char *x = strchr(e, 'e');
    for (const char *q = e; q < x; q++)
        if (*q >= '0' && *q <= '9') dig[nd++] = *q;
    long exp = strtol(x + 1, NULL, 10);
    if (signbit(d)) out[o++] = '-';
    if (exp < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (long z = -1; z > exp; z--)
            out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[o++] = dig[i];
    } else {
        for (long i = 0; i <= exp || (size_t)i < nd; i++) {
            if (i == exp + 1) out[o++] = '.';
            out[o++] = (size_t)i < nd ? dig[i] : '0';
        }
    }
    out[o] = 0;
    return o;
}

/* v as a string, as pdata's Value.AsString: a string as it is, a bool "true" / "false", an
 * int in decimal, a double as format_double's es6 form, bytes in base64, a list or map as
 * JSON (keys in the order sent; pdata sorts them), nothing as "". Into b (reset first). */
static void as_string(lt_buf *b, const lt_value *v)
{
    char num[400];
    buf_reset(b);
    switch (v->type) {
    case LT_VAL_STRING:
        buf_append_str(b, v->u.s);
        break;
    case LT_VAL_BOOL:
        buf_append_c(b, v->u.b ? "true" : "false");
        break;
    case LT_VAL_INT:
        buf_printf(b, "%lld", (long long)v->u.i);
        break;
    case LT_VAL_DOUBLE:
        buf_append(b, num, format_double(num, v->u.d, true));
        break;
    case LT_VAL_BYTES:
        if (!buf_reserve(b, 4 * ((v->u.s.len + 2) / 3) + 1)) {
            base64_encode((const uint8_t *)v->u.s.ptr, v->u.s.len, b->data);
            b->len = strlen(b->data);
        }
        break;
    case LT_VAL_ARRAY:
    case LT_VAL_KVLIST:
        model_value_json(b, v);
        break;
    case LT_VAL_EMPTY:
        break;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Matching                                                                             */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const attributes *p;
    lt_arena *a;
    pcre2_general_context *gc;
    pcre2_match_data *md;
    lt_buf buf;
    int err;
    /* the item being acted on */
    lt_attrs *m;
    uint32_t cap; /* room in m->items once copied into the arena; 0 before */
    bool changed;
} run;

/* Whether re matches somewhere in s, as Go's MatchString. A pattern that hits PCRE2's
 * match limits does not match; a failed allocation sets x->err. */
static bool re_match(run *x, const pcre2_code *re, lt_str s)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, x->md, NULL);
    if (rc == PCRE2_ERROR_NOMEMORY) x->err = LT_ENOMEM;
    return rc >= 0;
}

static bool set_match(run *x, const strset *s, lt_str v)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->re[i] ? re_match(x, s->re[i], v) : lt_str_eq(s->lit[i], v)) return true;
    return false;
}

static lt_kv *find(const lt_attrs *m, lt_str key)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (lt_str_eq(m->items[i].key, key)) return &m->items[i];
    return NULL;
}

/* pdata's Value.Equal for the scalars a setting can hold. */
static bool value_equal(const lt_value *a, const lt_value *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case LT_VAL_STRING:
        return lt_str_eq(a->u.s, b->u.s);
    case LT_VAL_BOOL:
        return a->u.b == b->u.b;
    case LT_VAL_INT:
        return a->u.i == b->u.i;
    case LT_VAL_DOUBLE:
        return a->u.d == b->u.d;
    default:
        return false;
    }
}

/* Every entry is in attrs (and has its value), as the collector's AttributesMatcher. */
static bool attrs_match(run *x, const attr_match *ms, uint32_t n, const lt_attrs *attrs)
{
    for (uint32_t i = 0; i < n; i++) {
        const lt_kv *kv = find(attrs, ms[i].key);
        if (!kv) return false;
        if (!ms[i].has_value) continue;
        if (!ms[i].re) {
            if (!value_equal(&kv->value, &ms[i].value)) return false;
            continue;
        }
        /* regexp: a scalar's text (a double as Go's 'f' form), anything else never */
        const lt_value *v = &kv->value;
        char num[400];
        lt_str s;
        if (v->type == LT_VAL_STRING) {
            s = v->u.s;
        } else if (v->type == LT_VAL_DOUBLE) {
            s = (lt_str){num, format_double(num, v->u.d, false)};
        } else if (v->type == LT_VAL_BOOL || v->type == LT_VAL_INT) {
            as_string(&x->buf, v);
            s = (lt_str){x->buf.data, x->buf.len};
        } else {
            return false;
        }
        if (!re_match(x, ms[i].re, s)) return false;
    }
    return true;
}

typedef struct {
    const lt_resource *res;
    const lt_scope *scope;
    const lt_span *span;      /* or */
    const lt_log_record *log; /* one of the two */
    const lt_attrs *attrs;
} item;

static bool props_match(run *x, const props *m, const item *it)
{
    if (it->span) {
        if (m->services.n) {
            const lt_value *sv = model_attr_get(&it->res->attrs, LT_STR("service.name"));
            lt_str name = LT_STR("<nil-service-name>"); /* the collector's name for none */
            if (sv) {
                as_string(&x->buf, sv);
                name = (lt_str){x->buf.data ? x->buf.data : "", x->buf.len};
            }
            if (!set_match(x, &m->services, name)) return false;
        }
        if (m->span_names.n && !set_match(x, &m->span_names, it->span->name)) return false;
        if (m->span_kinds.n) {
            uint32_t k = it->span->kind;
            lt_str ks = k < 6 ? lt_str_c(SPAN_KINDS[k]) : LT_STR("");
            if (!set_match(x, &m->span_kinds, ks)) return false;
        }
    } else {
        /* only string bodies are matched, as in the collector */
        if (m->bodies.n &&
            (it->log->body.type != LT_VAL_STRING || !set_match(x, &m->bodies, it->log->body.u.s)))
            return false;
        if (m->sev_texts.n && !set_match(x, &m->sev_texts, it->log->severity_text)) return false;
    }
    for (uint32_t i = 0; i < m->n_libs; i++) {
        const lib_match *l = &m->libs[i];
        if (!set_match(x, &l->name, it->scope->name)) return false;
        if (l->version.n && !set_match(x, &l->version, it->scope->version)) return false;
    }
    if (!attrs_match(x, m->res, m->n_res, &it->res->attrs)) return false;
    /* as the collector: entries to match and no attributes at all never match */
    if (m->n_attrs && !it->attrs->n) return false;
    return attrs_match(x, m->attrs, m->n_attrs, it->attrs);
}

static bool selected(run *x, const item *it)
{
    const attributes *p = x->p;
    if (p->include.given && !props_match(x, &p->include, it)) return false;
    return !(p->exclude.given && props_match(x, &p->exclude, it));
}

/* ------------------------------------------------------------------------------------ */
/* Actions                                                                              */
/* ------------------------------------------------------------------------------------ */

/* Sets key to v: replaces the value of the first entry with that key, or appends one (the
 * list is copied into the arena once, with room for all the actions may add). */
static void put(run *x, lt_str key, const lt_value *v)
{
    lt_attrs *m = x->m;
    lt_kv *kv = find(m, key);
    if (kv) {
        kv->value = *v;
        x->changed = true;
        return;
    }
    if (m->n >= MODEL_MAX_ATTRS) return; /* a full list takes no more, as a decoder would */
    if (!x->cap || m->n == x->cap) {
        uint32_t cap = m->n + x->p->grow + 1;
        lt_kv *items = arena_alloc(x->a, (size_t)cap * sizeof *items);
        if (!items) {
            x->err = LT_ENOMEM;
            return;
        }
        if (m->n) memcpy(items, m->items, (size_t)m->n * sizeof *items);
        m->items = items;
        x->cap = cap;
    }
    lt_str k = arena_strdup(x->a, key);
    if (key.len && !k.ptr) {
        x->err = LT_ENOMEM;
        return;
    }
    m->items[m->n].key = k;
    m->items[m->n].value = *v;
    m->n++;
    x->changed = true;
}

/* The value an insert / update / upsert writes, owned by the batch: a string of the
 * settings copied into the arena; a map's entries copied so that lists shrunk in place by a
 * later processor are never shared. false when there is none (from_attribute absent). */
static bool source(run *x, const action *a, lt_value *out)
{
    if (a->has_value) {
        *out = a->value;
        if (out->type == LT_VAL_STRING && out->u.s.len) {
            out->u.s = arena_strdup(x->a, a->value.u.s);
            if (!out->u.s.ptr) x->err = LT_ENOMEM;
        }
        return !x->err;
    }
    const lt_kv *kv = find(x->m, a->from);
    if (!kv) return false;
    *out = kv->value;
    if (out->type == LT_VAL_KVLIST && out->u.kv.n) {
        lt_kv *items = arena_alloc(x->a, (size_t)out->u.kv.n * sizeof *items);
        if (!items) {
            x->err = LT_ENOMEM;
            return false;
        }
        memcpy(items, out->u.kv.items, (size_t)out->u.kv.n * sizeof *items);
        out->u.kv.items = items;
    }
    return true;
}

/* Removes, in place, the entries with key k, or whose key re matches. */
static void remove_keys(run *x, lt_str k, const pcre2_code *re)
{
    lt_attrs *m = x->m;
    uint32_t w = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        lt_str key = m->items[i].key;
        if ((k.len && lt_str_eq(key, k)) || (re && re_match(x, re, key))) continue;
        m->items[w++] = m->items[i];
    }
    if (w != m->n) x->changed = true;
    m->n = w;
}

/* The collector's hash: SHA-256 of the value's bytes, in lower-case hex. */
static void hash_value(run *x, lt_value *v)
{
    uint8_t raw[8];
    const void *p = raw;
    size_t n = 8;
    uint64_t bits = 0;
    bool hashed = true; /* other values become "" */
    switch (v->type) {
    case LT_VAL_STRING:
        p = v->u.s.ptr, n = v->u.s.len;
        break;
    case LT_VAL_BOOL:
        raw[0] = v->u.b, n = 1;
        break;
    case LT_VAL_INT:
        bits = (uint64_t)v->u.i;
        break;
    case LT_VAL_DOUBLE:
        memcpy(&bits, &v->u.d, 8);
        break;
    default:
        hashed = false;
        break;
    }
    if (v->type == LT_VAL_INT || v->type == LT_VAL_DOUBLE)
        for (int i = 0; i < 8; i++)
            raw[i] = (uint8_t)(bits >> (8 * i));
    lt_str out = LT_STR("");
    if (hashed) {
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned int dn = 0;
        char *hex = arena_alloc(x->a, 65);
        if (!hex || !EVP_Digest(p ? p : "", n, dg, &dn, EVP_sha256(), NULL)) {
            x->err = LT_ENOMEM;
            return;
        }
        hex_encode(dg, dn, hex);
        out = (lt_str){hex, 2 * (size_t)dn};
    }
    v->type = LT_VAL_STRING;
    v->u.s = out;
    x->changed = true;
}

static void hash_keys(run *x, const action *a)
{
    lt_attrs *m = x->m;
    for (uint32_t i = 0; i < m->n && !x->err; i++) {
        lt_kv *kv = &m->items[i];
        bool by_key = a->key.len && lt_str_eq(kv->key, a->key);
        if (by_key || (a->re && re_match(x, a->re, kv->key))) hash_value(x, &kv->value);
    }
}

static void extract(run *x, const action *a)
{
    const lt_kv *kv = find(x->m, a->key);
    if (!kv || kv->value.type != LT_VAL_STRING) return;
    lt_str s = kv->value.u.s; /* put() may move the list, never the string */
    int rc = pcre2_match(a->re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, x->md, NULL);
    if (rc == PCRE2_ERROR_NOMEMORY) x->err = LT_ENOMEM;
    if (rc < 0) return;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
    uint32_t pairs = pcre2_get_ovector_count(x->md);
    for (uint32_t g = 1; g <= a->n_groups && !x->err; g++) {
        lt_value v = {.type = LT_VAL_STRING, .u.s = LT_STR("")};
        /* a group that took no part in the match gives "", as Go's FindStringSubmatch */
        if (g < pairs && ov[2 * g] != PCRE2_UNSET)
            v.u.s = (lt_str){s.ptr + ov[2 * g], ov[2 * g + 1] - ov[2 * g]};
        put(x, a->groups[g - 1], &v);
    }
}

/* strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else. */
static bool parse_int(lt_str s, int64_t *out)
{
    if (s.len && s.ptr[0] == '+') {
        s.ptr++, s.len--;
        if (s.len && s.ptr[0] == '-') return false;
    }
    return parse_i64(s, out) == 0;
}

/* strconv.ParseFloat(s, 64), near enough: all of s a number that strtod reads, finite or
 * spelled inf / nan, no leading space; a value past the double range is an error. */
static bool parse_double(lt_str s, double *out)
{
    char tmp[128];
    if (!s.len || s.len >= sizeof tmp || s.ptr[0] == ' ' || s.ptr[0] == '\t' ||
        memchr(s.ptr, '(', s.len))
        return false;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end || (errno == ERANGE && isinf(d))) return false;
    *out = d;
    return true;
}

static void convert(run *x, const action *a)
{
    lt_kv *kv = find(x->m, a->key);
    if (!kv) return;
    lt_value *v = &kv->value, nv = {0};
    switch (a->to) {
    case TO_INT:
        nv.type = LT_VAL_INT;
        if (v->type == LT_VAL_DOUBLE) {
            /* Go truncates toward zero; what has no int64 stays as it was */
            if (!(v->u.d >= -9223372036854775808.0 && v->u.d < 9223372036854775808.0)) return;
            nv.u.i = (int64_t)v->u.d;
        } else if (v->type == LT_VAL_BOOL) {
            nv.u.i = v->u.b;
        } else if (v->type != LT_VAL_STRING || !parse_int(v->u.s, &nv.u.i)) {
            return;
        }
        break;
    case TO_DOUBLE:
        nv.type = LT_VAL_DOUBLE;
        if (v->type == LT_VAL_INT)
            nv.u.d = (double)v->u.i;
        else if (v->type == LT_VAL_BOOL)
            nv.u.d = v->u.b;
        else if (v->type != LT_VAL_STRING || !parse_double(v->u.s, &nv.u.d))
            return;
        break;
    case TO_STRING:
        if (v->type == LT_VAL_STRING) return;
        as_string(&x->buf, v);
        if (x->buf.oom) {
            x->err = LT_ENOMEM;
            return;
        }
        nv.type = LT_VAL_STRING;
        nv.u.s = arena_strdup(x->a, (lt_str){x->buf.data ? x->buf.data : "", x->buf.len});
        if (x->buf.len && !nv.u.s.ptr) {
            x->err = LT_ENOMEM;
            return;
        }
        break;
    }
    *v = nv;
    x->changed = true;
}

/* Runs every action on the attribute list m. */
static void act(run *x, lt_attrs *m)
{
    x->m = m;
    x->cap = 0;
    x->changed = false;
    for (uint32_t i = 0; i < x->p->n_acts && !x->err; i++) {
        const action *a = &x->p->acts[i];
        lt_value v;
        switch (a->kind) {
        case A_INSERT:
            if (!find(m, a->key) && source(x, a, &v)) put(x, a->key, &v);
            break;
        case A_UPDATE:
            if (find(m, a->key) && source(x, a, &v)) put(x, a->key, &v);
            break;
        case A_UPSERT:
            if (source(x, a, &v)) put(x, a->key, &v);
            break;
        case A_DELETE:
            remove_keys(x, a->key, a->re);
            break;
        case A_HASH:
            hash_keys(x, a);
            break;
        case A_EXTRACT:
            extract(x, a);
            break;
        case A_CONVERT:
            convert(x, a);
            break;
        }
    }
}

static int run_init(run *x, const attributes *p, lt_arena *a)
{
    memset(x, 0, sizeof *x);
    x->p = p;
    x->a = a;
    x->gc = regex_context();
    x->md = x->gc ? pcre2_match_data_create(p->ovector, x->gc) : NULL;
    return x->md ? 0 : LT_ENOMEM;
}

static int run_done(run *x)
{
    pcre2_match_data_free(x->md);
    pcre2_general_context_free(x->gc);
    buf_free(&x->buf);
    return x->err;
}

int attributes_traces(const attributes *p, lt_trace_batch *b, lt_arena *a)
{
    run x;
    if (run_init(&x, p, a)) {
        run_done(&x);
        return LT_ENOMEM;
    }
    uint64_t seen = 0, changed = 0;
    for (uint32_t i = 0; i < b->n_rs && !x.err; i++) {
        lt_resource_spans *rs = &b->rs[i];
        for (uint32_t j = 0; j < rs->n_scopes && !x.err; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            for (uint32_t k = 0; k < ss->n_spans && !x.err; k++) {
                lt_span *s = &ss->spans[k];
                item it = {&rs->resource, &ss->scope, s, NULL, &s->attrs};
                if (!selected(&x, &it) || x.err) continue;
                seen++;
                act(&x, &s->attrs);
                if (!x.changed || x.err) continue;
                changed++;
                int rc = genai_refresh(s, &rs->resource, &ss->scope, a);
                if (rc) x.err = rc;
            }
        }
    }
    atomic_fetch_add(&((attributes *)p)->spans, seen);
    atomic_fetch_add(&((attributes *)p)->spans_changed, changed);
    return run_done(&x);
}

int attributes_logs(const attributes *p, lt_log_batch *b, lt_arena *a)
{
    run x;
    if (run_init(&x, p, a)) {
        run_done(&x);
        return LT_ENOMEM;
    }
    uint64_t seen = 0, changed = 0;
    for (uint32_t i = 0; i < b->n_rl && !x.err; i++) {
        lt_resource_logs *rl = &b->rl[i];
        for (uint32_t j = 0; j < rl->n_scopes && !x.err; j++) {
            lt_scope_logs *sl = &rl->scopes[j];
            for (uint32_t k = 0; k < sl->n_records && !x.err; k++) {
                lt_log_record *lr = &sl->records[k];
                item it = {&rl->resource, &sl->scope, NULL, lr, &lr->attrs};
                if (!selected(&x, &it) || x.err) continue;
                seen++;
                act(&x, &lr->attrs);
                changed += x.changed;
            }
        }
    }
    atomic_fetch_add(&((attributes *)p)->logs, seen);
    atomic_fetch_add(&((attributes *)p)->logs_changed, changed);
    return run_done(&x);
}

void attributes_get_stats(const attributes *p, attributes_stats *out)
{
    attributes *m = (attributes *)p;
    out->spans = atomic_load(&m->spans);
    out->spans_changed = atomic_load(&m->spans_changed);
    out->log_records = atomic_load(&m->logs);
    out->log_records_changed = atomic_load(&m->logs_changed);
}
