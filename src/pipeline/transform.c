/* transform.c — the transform processor: groups of OTTL statements over a batch (see
 * transform.h). Parsing is ottl.c's; this file reads the settings, walks the batch by
 * context and applies the error mode. */
#include "pipeline/transform.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "genai/genai.h"
#include "pipeline/ottl.h"

enum { MAX_GROUPS = 256, MAX_STATEMENTS = 1024 };

typedef struct {
    ottl_context ctx;
    bool traces; /* of trace_statements (else log_statements) */
    transform_error_mode mode;
    ottl_stmt **stmts;
    uint32_t n;
} group;

struct transform {
    group *groups;
    uint32_t n_groups;
    char *name; /* where, for log lines */
    _Atomic uint64_t errors;
};

static const cfg_option OPTIONS[] = {
    {"error_mode", CFG_OPT_STRING, "ignore, silent or propagate (default)"},
    {"trace_statements", CFG_OPT_LIST, "groups of OTTL statements for spans"},
    {"log_statements", CFG_OPT_LIST, "groups of OTTL statements for log records"},
    {NULL, 0, NULL},
};

static const cfg_option GROUP_OPTIONS[] = {
    {"context", CFG_OPT_STRING, "resource, scope, span, spanevent or log"},
    {"statements", CFG_OPT_LIST, "OTTL statements"},
    {"error_mode", CFG_OPT_STRING, "ignore, silent or propagate"},
    {NULL, 0, NULL},
};

static int read_mode(const cfg_doc *d, const cfg_node *n, const char *what,
                     transform_error_mode *out, char *err, size_t errlen)
{
    const char *s;
    int rc = cfg_string(d, n, what, &s, err, errlen);
    if (rc) return rc;
    if (strcmp(s, "propagate") == 0)
        *out = TRANSFORM_PROPAGATE;
    else if (strcmp(s, "ignore") == 0)
        *out = TRANSFORM_IGNORE;
    else if (strcmp(s, "silent") == 0)
        *out = TRANSFORM_SILENT;
    else
        return cfg_error(d, n, err, errlen,
                         "%s: '%s' is not an error mode (ignore, silent, propagate)", what, s);
    return 0;
}

static bool ctx_allowed(bool traces, ottl_context c)
{
    if (c == OTTL_CTX_RESOURCE || c == OTTL_CTX_SCOPE) return true;
    return traces ? (c == OTTL_CTX_SPAN || c == OTTL_CTX_SPANEVENT) : c == OTTL_CTX_LOG;
}

static int add_statement(const cfg_doc *d, const cfg_node *n, const char *what, group *g, char *err,
                         size_t errlen)
{
    const char *text;
    int rc = cfg_string(d, n, what, &text, err, errlen);
    if (rc) return rc;
    if (g->n >= MAX_STATEMENTS)
        return cfg_error(d, n, err, errlen, "%s: more than %d statements", what, MAX_STATEMENTS);
    char perr[256];
    unsigned col = 0;
    ottl_stmt *st = NULL;
    rc = ottl_parse(text, strlen(text), g->ctx, &st, &col, perr, sizeof perr);
    if (rc == LT_ENOMEM) return rc;
    if (rc) return cfg_error(d, n, err, errlen, "%s: %s", what, perr);
    g->stmts[g->n++] = st;
    return 0;
}

/* The context of a statement given in the flat form, inferred as the collector does from
 * the context names its paths start with ("spanevent.attributes", "resource.attributes"):
 * the most specific one named; the signal's item (span / log) when none is. */
static ottl_context infer_context(const char *text, bool traces)
{
    static const struct {
        const char *name;
        ottl_context c;
    } names[] = {
        {"resource", OTTL_CTX_RESOURCE},           {"scope", OTTL_CTX_SCOPE},
        {"instrumentation_scope", OTTL_CTX_SCOPE}, {"span", OTTL_CTX_SPAN},
        {"spanevent", OTTL_CTX_SPANEVENT},         {"log", OTTL_CTX_LOG},
    };
    int best = -1;
    bool in_str = false;
    for (const char *p = text; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
            continue;
        }
        if (*p == '"') {
            in_str = true;
            continue;
        }
        bool start =
            p == text || !(p[-1] == '_' || p[-1] == '.' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                           (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        if (!start) continue;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            size_t n = strlen(names[i].name);
            if (strncmp(p, names[i].name, n) != 0 || p[n] != '.') continue;
            ottl_context c = names[i].c;
            if ((c == OTTL_CTX_LOG) == traces && c != OTTL_CTX_RESOURCE && c != OTTL_CTX_SCOPE)
                continue; /* another signal's context: the parse will say so */
            if ((int)c > best) best = (int)c;
        }
    }
    if (best < 0) return traces ? OTTL_CTX_SPAN : OTTL_CTX_LOG;
    return (ottl_context)best;
}

static int read_group(const cfg_doc *d, const cfg_node *item, const char *what, bool traces,
                      transform_error_mode mode, group *g, char *err, size_t errlen)
{
    g->mode = mode;
    g->traces = traces;
    g->stmts = lt_calloc(MAX_STATEMENTS, sizeof *g->stmts);
    if (!g->stmts) return LT_ENOMEM;
    if (item->kind == CFG_SCALAR) { /* the flat form: one statement, its context inferred */
        g->ctx = infer_context(item->scalar, traces);
        return add_statement(d, item, what, g, err, errlen);
    }
    if (item->kind != CFG_MAP)
        return cfg_error(d, item, err, errlen, "%s: expected a statement or {context, statements}",
                         what);
    int rc = cfg_check_options(d, item, GROUP_OPTIONS, what, err, errlen);
    if (rc) return rc;
    const cfg_node *c = cfg_get(item, "context");
    const cfg_node *sts = cfg_get(item, "statements");
    const cfg_node *em = cfg_get(item, "error_mode");
    char w[256];
    if (em) {
        snprintf(w, sizeof w, "%s.error_mode", what);
        if ((rc = read_mode(d, em, w, &g->mode, err, errlen))) return rc;
    }
    g->ctx = traces ? OTTL_CTX_SPAN : OTTL_CTX_LOG;
    if (c) {
        const char *cs;
        snprintf(w, sizeof w, "%s.context", what);
        if ((rc = cfg_string(d, c, w, &cs, err, errlen))) return rc;
        if (ottl_context_of(cs, &g->ctx) || !ctx_allowed(traces, g->ctx))
            return cfg_error(d, c, err, errlen, "%s: '%s' is not a context of %s (%s)", w, cs,
                             traces ? "trace_statements" : "log_statements",
                             traces ? "resource, scope, span, spanevent" : "resource, scope, log");
    }
    if (!sts || sts->kind != CFG_SEQ)
        return cfg_error(d, sts ? sts : item, err, errlen, "%s.statements: expected a list", what);
    for (size_t i = 0; i < sts->n; i++) {
        snprintf(w, sizeof w, "%s.statements[%zu]", what, i);
        if ((rc = add_statement(d, sts->items[i], w, g, err, errlen))) return rc;
    }
    return 0;
}

static int read_list(const cfg_doc *d, const cfg_node *list, const char *what, bool traces,
                     transform_error_mode mode, transform *t, char *err, size_t errlen)
{
    if (!list) return 0;
    if (list->kind != CFG_SEQ) return cfg_error(d, list, err, errlen, "%s: expected a list", what);
    for (size_t i = 0; i < list->n; i++) {
        if (t->n_groups >= MAX_GROUPS)
            return cfg_error(d, list, err, errlen, "%s: more than %d groups", what, MAX_GROUPS);
        char w[200];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        group *g = &t->groups[t->n_groups++];
        int rc = read_group(d, list->items[i], w, traces, mode, g, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

void transform_free(transform *t)
{
    if (!t) return;
    for (uint32_t i = 0; i < t->n_groups; i++) {
        for (uint32_t j = 0; j < t->groups[i].n; j++)
            ottl_free(t->groups[i].stmts[j]);
        lt_free(t->groups[i].stmts);
    }
    lt_free(t->groups);
    lt_free(t->name);
    lt_free(t);
}

int transform_create(const cfg_doc *d, const cfg_node *settings, const char *where, transform **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (!where) where = "processors.transform";
    int rc = cfg_check_options(d, settings, OPTIONS, where, err, errlen);
    if (rc) return rc;
    transform *t = lt_calloc(1, sizeof *t);
    if (!t) return LT_ENOMEM;
    t->groups = lt_calloc(MAX_GROUPS, sizeof *t->groups);
    t->name = lt_strndup(where, strlen(where));
    if (!t->groups || !t->name) {
        transform_free(t);
        return LT_ENOMEM;
    }
    transform_error_mode mode = TRANSFORM_PROPAGATE;
    char w[200];
    const cfg_node *em = cfg_get(settings, "error_mode");
    if (em) {
        snprintf(w, sizeof w, "%s.error_mode", where);
        rc = read_mode(d, em, w, &mode, err, errlen);
    }
    if (!rc) {
        snprintf(w, sizeof w, "%s.trace_statements", where);
        rc = read_list(d, cfg_get(settings, "trace_statements"), w, true, mode, t, err, errlen);
    }
    if (!rc) {
        snprintf(w, sizeof w, "%s.log_statements", where);
        rc = read_list(d, cfg_get(settings, "log_statements"), w, false, mode, t, err, errlen);
    }
    if (rc) {
        transform_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

uint64_t transform_errors(const transform *t)
{
    return atomic_load(&((transform *)t)->errors);
}

/* Runs the statements of g on one item. Returns 0, LT_EINVAL (propagate) or LT_ENOMEM. */
static int run_group(const transform *t, const group *g, ottl_target *tg, bool *changed)
{
    for (uint32_t i = 0; i < g->n; i++) {
        char err[256];
        int rc = ottl_exec(g->stmts[i], tg, changed, err, sizeof err);
        if (!rc) continue;
        if (rc == LT_ENOMEM || g->mode == TRANSFORM_PROPAGATE) {
            if (rc != LT_ENOMEM)
                log_warn("%s: statement failed: %s: %s", t->name, ottl_text(g->stmts[i]), err);
            return rc;
        }
        atomic_fetch_add(&((transform *)t)->errors, 1);
        if (g->mode == TRANSFORM_IGNORE)
            log_warn("%s: statement failed (ignored): %s: %s", t->name, ottl_text(g->stmts[i]),
                     err);
    }
    return 0;
}

static int trace_group(const transform *t, const group *g, lt_trace_batch *b, lt_arena *a)
{
    for (uint32_t i = 0; i < b->n_rs; i++) {
        lt_resource_spans *rs = &b->rs[i];
        ottl_target tg = {.resource = &rs->resource, .arena = a};
        bool rs_changed = false;
        int rc;
        if (g->ctx == OTTL_CTX_RESOURCE && (rc = run_group(t, g, &tg, &rs_changed))) return rc;
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            tg.scope = &ss->scope;
            bool sc_changed = rs_changed;
            if (g->ctx == OTTL_CTX_SCOPE && (rc = run_group(t, g, &tg, &sc_changed))) return rc;
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                lt_span *s = &ss->spans[k];
                tg.span = s;
                bool changed = sc_changed;
                if (g->ctx == OTTL_CTX_SPAN && (rc = run_group(t, g, &tg, &changed))) return rc;
                if (g->ctx == OTTL_CTX_SPANEVENT)
                    for (uint32_t e = 0; e < s->events.n; e++) {
                        tg.event = &s->events.items[e];
                        if ((rc = run_group(t, g, &tg, &changed))) return rc;
                    }
                tg.event = NULL;
                if (changed && (rc = genai_refresh(s, &rs->resource, &ss->scope, a))) return rc;
            }
            tg.span = NULL;
        }
    }
    return 0;
}

int transform_traces(const transform *t, lt_trace_batch *b, lt_arena *a)
{
    for (uint32_t i = 0; i < t->n_groups; i++) {
        const group *g = &t->groups[i];
        if (!g->traces) continue;
        int rc = trace_group(t, g, b, a);
        if (rc) return rc;
    }
    return 0;
}

int transform_logs(const transform *t, lt_log_batch *b, lt_arena *a)
{
    for (uint32_t gi = 0; gi < t->n_groups; gi++) {
        const group *g = &t->groups[gi];
        if (g->traces) continue;
        for (uint32_t i = 0; i < b->n_rl; i++) {
            lt_resource_logs *rl = &b->rl[i];
            ottl_target tg = {.resource = &rl->resource, .arena = a};
            int rc;
            if (g->ctx == OTTL_CTX_RESOURCE && (rc = run_group(t, g, &tg, NULL))) return rc;
            for (uint32_t j = 0; j < rl->n_scopes; j++) {
                lt_scope_logs *sl = &rl->scopes[j];
                tg.scope = &sl->scope;
                if (g->ctx == OTTL_CTX_SCOPE && (rc = run_group(t, g, &tg, NULL))) return rc;
                if (g->ctx != OTTL_CTX_LOG) continue;
                for (uint32_t k = 0; k < sl->n_records; k++) {
                    tg.log = &sl->records[k];
                    if ((rc = run_group(t, g, &tg, NULL))) return rc;
                }
                tg.log = NULL;
            }
        }
    }
    return 0;
}
