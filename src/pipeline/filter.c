/* filter.c — the filter processor (see filter.h): OTTL conditions parsed once by ottl.c,
 * evaluated per item; dropped items are squeezed out of their arrays in place, and the
 * scopes and resources they leave empty after them. The options are those of the
 * component registry (components.c), so check-config and this file accept the same. */
#include "pipeline/filter.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "pipeline/components.h"
#include "pipeline/ottl.h"

enum { MAX_CONDITIONS = 1024 };

typedef enum { MODE_PROPAGATE, MODE_IGNORE, MODE_SILENT } error_mode;
static const char *const MODE_NAMES[] = {"propagate", "ignore", "silent"};

typedef struct {
    ottl_cond **c;
    uint32_t n;
} cond_list;

struct filter {
    cond_list span, event, log;
    error_mode mode;
    char *name; /* where, for log lines */
    _Atomic uint64_t spans, events, logs, errors;
};

static void list_free(cond_list *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        ottl_cond_free(l->c[i]);
    lt_free(l->c);
}

void filter_free(filter *f)
{
    if (!f) return;
    list_free(&f->span);
    list_free(&f->event);
    list_free(&f->log);
    lt_free(f->name);
    lt_free(f);
}

/* The options of the registry's sub-table at path ("traces"), or NULL. */
static const cfg_option *sub_options(const component_def *def, const char *path)
{
    for (const component_sub *s = def->subs; s && s->path; s++)
        if (strcmp(s->path, path) == 0) return s->options;
    return NULL;
}

static int read_conditions(const cfg_doc *d, const cfg_node *list, const char *what,
                           ottl_context ctx, cond_list *l, char *err, size_t errlen)
{
    if (!list || list->kind == CFG_NULL) return 0;
    if (list->kind != CFG_SEQ) return cfg_error(d, list, err, errlen, "%s: expected a list", what);
    if (list->n > MAX_CONDITIONS)
        return cfg_error(d, list, err, errlen, "%s: more than %d conditions", what, MAX_CONDITIONS);
    if (list->n && !(l->c = lt_calloc(list->n, sizeof *l->c))) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        char w[256], perr[256];
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        const char *text;
        int rc = cfg_string(d, list->items[i], w, &text, err, errlen);
        if (rc) return rc;
        rc = ottl_parse_condition(text, strlen(text), ctx, &l->c[l->n], NULL, perr, sizeof perr);
        if (rc == LT_ENOMEM) return rc;
        if (rc) return cfg_error(d, list->items[i], err, errlen, "%s: %s", w, perr);
        l->n++;
    }
    return 0;
}

static int create(const cfg_doc *d, const cfg_node *settings, const char *where, filter *f,
                  char *err, size_t errlen)
{
    const component_def *def = components_find(COMP_PROCESSOR, "filter");
    int rc = cfg_check_options(d, settings, def->options, where, err, errlen);
    char w[256];
    const cfg_node *traces = cfg_get(settings, "traces"), *logs = cfg_get(settings, "logs");
    if (!rc) {
        snprintf(w, sizeof w, "%s.traces", where);
        rc = cfg_check_options(d, traces, sub_options(def, "traces"), w, err, errlen);
    }
    if (!rc) {
        snprintf(w, sizeof w, "%s.logs", where);
        rc = cfg_check_options(d, logs, sub_options(def, "logs"), w, err, errlen);
    }
    if (rc) return rc;
    const cfg_node *em = cfg_get(settings, "error_mode");
    if (em) {
        const char *s;
        snprintf(w, sizeof w, "%s.error_mode", where);
        if ((rc = cfg_string(d, em, w, &s, err, errlen))) return rc;
        size_t m = 0;
        while (m < 3 && strcmp(s, MODE_NAMES[m]) != 0)
            m++;
        if (m == 3)
            return cfg_error(d, em, err, errlen,
                             "%s: '%s' is not an error mode (ignore, silent, propagate)", w, s);
        f->mode = (error_mode)m;
    }
    snprintf(w, sizeof w, "%s.traces.span", where);
    if ((rc = read_conditions(d, cfg_get(traces, "span"), w, OTTL_CTX_SPAN, &f->span, err, errlen)))
        return rc;
    snprintf(w, sizeof w, "%s.traces.spanevent", where);
    if ((rc = read_conditions(d, cfg_get(traces, "spanevent"), w, OTTL_CTX_SPANEVENT, &f->event,
                              err, errlen)))
        return rc;
    snprintf(w, sizeof w, "%s.logs.log_record", where);
    return read_conditions(d, cfg_get(logs, "log_record"), w, OTTL_CTX_LOG, &f->log, err, errlen);
}

int filter_create(const cfg_doc *d, const cfg_node *settings, const char *where, filter **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (!where) where = "processors.filter";
    filter *f = lt_calloc(1, sizeof *f);
    if (!f) return LT_ENOMEM;
    int rc = (f->name = lt_strndup(where, strlen(where))) ? 0 : LT_ENOMEM;
    if (!rc) rc = create(d, settings, where, f, err, errlen);
    if (rc) {
        filter_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* Whether any condition of l matches t. A failure under propagate (or LT_ENOMEM) sets *rc
 * and answers false; under ignore / silent a failed condition counts as not matching. */
static bool matches(const filter *f, const cond_list *l, ottl_target *t, int *rc)
{
    for (uint32_t i = 0; i < l->n; i++) {
        char err[256];
        bool m = false;
        int r = ottl_eval_condition(l->c[i], t, &m, err, sizeof err);
        if (!r) {
            if (m) return true;
            continue;
        }
        if (r == LT_ENOMEM || f->mode == MODE_PROPAGATE) {
            if (r != LT_ENOMEM)
                log_warn("%s: condition failed: %s: %s", f->name, ottl_cond_text(l->c[i]), err);
            *rc = r;
            return false;
        }
        atomic_fetch_add(&((filter *)f)->errors, 1);
        if (f->mode == MODE_IGNORE)
            log_warn("%s: condition failed (ignored): %s: %s", f->name, ottl_cond_text(l->c[i]),
                     err);
    }
    return false;
}

/* Removes the events of s that match; returns how many. Once *rc is set, keeps the rest. */
static uint64_t drop_events(const filter *f, lt_span *s, ottl_target *t, int *rc)
{
    uint32_t w = 0;
    for (uint32_t e = 0; e < s->events.n; e++) {
        t->event = &s->events.items[e];
        if (!*rc && matches(f, &f->event, t, rc)) continue;
        if (w != e) s->events.items[w] = s->events.items[e];
        w++;
    }
    t->event = NULL;
    uint64_t n = s->events.n - w;
    s->events.n = w;
    return n;
}

int filter_traces(const filter *f, lt_trace_batch *b, lt_arena *a, uint64_t *removed)
{
    if (removed) *removed = 0;
    if (!f->span.n && !f->event.n) return 0;
    int rc = 0;
    uint64_t spans = 0, events = 0;
    uint32_t wr = 0;
    for (uint32_t i = 0; i < b->n_rs; i++) {
        lt_resource_spans *rs = &b->rs[i];
        uint32_t wsc = 0;
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            ottl_target t = {.resource = &rs->resource, .scope = &ss->scope, .arena = a};
            uint32_t w = 0;
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                lt_span *s = &ss->spans[k];
                t.span = s;
                if (!rc && matches(f, &f->span, &t, &rc)) {
                    spans++;
                    continue;
                }
                if (!rc && f->event.n) events += drop_events(f, s, &t, &rc);
                if (w != k) ss->spans[w] = *s;
                w++;
            }
            ss->n_spans = w;
            if (!w) continue; /* a scope left without spans goes, as in the collector */
            if (wsc != j) rs->scopes[wsc] = *ss;
            wsc++;
        }
        rs->n_scopes = wsc;
        if (!wsc) continue;
        if (wr != i) b->rs[wr] = *rs;
        wr++;
    }
    b->n_rs = wr;
    b->n_spans -= spans;
    atomic_fetch_add(&((filter *)f)->spans, spans);
    atomic_fetch_add(&((filter *)f)->events, events);
    if (removed) *removed = spans;
    return rc;
}

int filter_logs(const filter *f, lt_log_batch *b, lt_arena *a, uint64_t *removed)
{
    if (removed) *removed = 0;
    if (!f->log.n) return 0;
    int rc = 0;
    uint64_t dropped = 0;
    uint32_t wr = 0;
    for (uint32_t i = 0; i < b->n_rl; i++) {
        lt_resource_logs *rl = &b->rl[i];
        uint32_t wsc = 0;
        for (uint32_t j = 0; j < rl->n_scopes; j++) {
            lt_scope_logs *sl = &rl->scopes[j];
            ottl_target t = {.resource = &rl->resource, .scope = &sl->scope, .arena = a};
            uint32_t w = 0;
            for (uint32_t k = 0; k < sl->n_records; k++) {
                t.log = &sl->records[k];
                if (!rc && matches(f, &f->log, &t, &rc)) {
                    dropped++;
                    continue;
                }
                if (w != k) sl->records[w] = sl->records[k];
                w++;
            }
            sl->n_records = w;
            if (!w) continue;
            if (wsc != j) rl->scopes[wsc] = *sl;
            wsc++;
        }
        rl->n_scopes = wsc;
        if (!wsc) continue;
        if (wr != i) b->rl[wr] = *rl;
        wr++;
    }
    b->n_rl = wr;
    b->n_records -= dropped;
    atomic_fetch_add(&((filter *)f)->logs, dropped);
    if (removed) *removed = dropped;
    return rc;
}

void filter_get_stats(const filter *f, filter_stats *out)
{
    filter *m = (filter *)f;
    out->spans = atomic_load(&m->spans);
    out->span_events = atomic_load(&m->events);
    out->log_records = atomic_load(&m->logs);
    out->errors = atomic_load(&m->errors);
}
