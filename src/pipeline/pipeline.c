/* pipeline.c — the pipelines of a configuration, running (see pipeline.h).
 *
 * A pipeline is its processors in order, then its exporters. The first pipeline of a
 * signal works on the request's own batch; any further pipeline of that signal gets a copy
 * made before the first one changes anything (encoded and decoded again into an arena of
 * its own), and stores that copy through a job of its own. tail_sampling splits a pipeline
 * in two: the processors before it run on the request, the ones after it on each kept
 * trace, from the tick timer.
 *
 * Data that leaves the request's hands (kept traces, copies) lives in an arena the
 * pipelines own until it is committed: jobs count in `in_store`, and a job the store's
 * queue refuses waits in `retry` for the next tick, during which pipelines that hold data
 * refuse new requests (PIPE_BUSY), so what is held stays bounded. */
#include "pipeline/pipeline.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export.h"
#include "model/pb.h"
#include "pipeline/attributes.h"
#include "pipeline/filter.h"
#include "pipeline/probsample.h"
#include "pipeline/promtext.h"
#include "pipeline/redact.h"
#include "pipeline/spanmetrics.h"
#include "pipeline/tailsample.h"
#include "pipeline/transform.h"

#define TICK_NS 100000000ull /* tail sampling decisions are made this often */
#define LOG_EVERY_NS 5000000000ull

typedef enum {
    PR_TRANSFORM,
    PR_REDACTION,
    PR_PROBSAMP,
    PR_FILTER,
    PR_ATTRIBUTES,
    PR_TAIL,
    PR_BATCH,
    PR_MEMLIMIT,
} proc_kind;

typedef struct {
    proc_kind kind;
    const pipecfg_component *c;
    transform *tf;
    redact *rd;
    probsamp *ps;
    filter *fl;
    attributes *at;
} proc;

typedef struct {
    const pipecfg_pipeline *cfg;
    bool traces; /* else logs (metrics pipelines are run by their exporters) */
    proc *procs;
    size_t n_procs;
    size_t tail_at;  /* index of tail_sampling, n_procs when none */
    tailsamp **tail; /* one per tenant when tail_at < n_procs */
    exporter **exps;
    size_t n_exps;
    spanmetrics **sms;
    size_t n_sms;
    bool stores;
} pline;

/* A metrics pipeline. */
typedef struct {
    const pipecfg_pipeline *cfg;
    bool from_receivers; /* the otlp receiver is one of its receivers */
    exporter **exps;
    size_t n_exps;
} mpipe;

/* A batch the pipelines own until its commit: a kept trace or a copy for a further pipeline. */
typedef struct own_job {
    ingest_job job; /* first: the queue hands it back */
    struct pipelines *p;
    size_t tenant;
    lt_arena *arena;
    lt_trace_batch traces;
    lt_log_batch logs;
    uint64_t items;
    struct own_job *next; /* in the retry list */
} own_job;

struct pipelines {
    pipelines_env env;
    pline *pipes;
    size_t n_pipes;
    mpipe *mpipes;
    size_t n_mpipes;
    exporter **exporters; /* every export/ exporter, once */
    size_t n_exporters;
    spanmetrics **connectors;
    const pipecfg_component **connector_cfgs;
    size_t n_connectors;
    struct event *tick;
    own_job *retry, *retry_tail;
    atomic_size_t in_store;      /* own jobs submitted and not yet committed */
    atomic_uint_fast64_t failed; /* items of own jobs whose commit failed */
    uint64_t dropped_export;     /* items an exporter refused after they were acknowledged */
    uint64_t last_log;
    bool flushing;
    bool memlimit;
    size_t soft_limit;
    uint64_t check_interval_ns;
};

/* ---- building ------------------------------------------------------------------------ */

static void where_of(char *buf, size_t n, const pipecfg_component *c)
{
    snprintf(buf, n, "%s.%s", components_section(c->def->kind), c->id);
}

/* An optional int / duration option of map: 0 and *out unchanged when it is absent. */
static int opt_int(const cfg_doc *d, const cfg_node *map, const char *key, int64_t *out, char *err,
                   size_t errlen)
{
    const cfg_node *n = cfg_get(map, key);
    return n ? cfg_int(d, n, key, out, err, errlen) : 0;
}

static int opt_duration(const cfg_doc *d, const cfg_node *map, const char *key, uint64_t *out,
                        char *err, size_t errlen)
{
    const cfg_node *n = cfg_get(map, key);
    return n ? cfg_duration_ns(d, n, key, out, err, errlen) : 0;
}

/* memory_limiter: limit_mib or limit_percentage (of the machine's memory), spike_limit_*
 * (default a fifth of the limit); data is refused above limit - spike, as the collector's
 * soft limit. */
static int memory_limiter_read(pipelines *p, const pipecfg_component *c, char *err, size_t errlen)
{
    const cfg_doc *d = p->env.cfg->doc;
    char where[300];
    where_of(where, sizeof where, c);
    int64_t limit_mib = 0, spike_mib = 0, limit_pct = 0, spike_pct = 0;
    uint64_t interval = 0;
    const cfg_node *m = c->settings;
    int rc = opt_duration(d, m, "check_interval", &interval, err, errlen);
    if (rc || (rc = opt_int(d, m, "limit_mib", &limit_mib, err, errlen)) ||
        (rc = opt_int(d, m, "spike_limit_mib", &spike_mib, err, errlen)) ||
        (rc = opt_int(d, m, "limit_percentage", &limit_pct, err, errlen)) ||
        (rc = opt_int(d, m, "spike_limit_percentage", &spike_pct, err, errlen)))
        return rc;
    const cfg_node *at = c->at;
    if (!interval)
        return cfg_key_error(d, at, err, errlen, "%s: check_interval must be greater than zero",
                             where);
    uint64_t total = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t limit, spike;
    if (limit_mib > 0) {
        limit = (uint64_t)limit_mib << 20;
        spike = spike_mib > 0 ? (uint64_t)spike_mib << 20 : limit / 5;
    } else if (limit_pct > 0 && limit_pct <= 100) {
        limit = total / 100 * (uint64_t)limit_pct;
        spike = spike_pct > 0 && spike_pct <= 100 ? total / 100 * (uint64_t)spike_pct : limit / 5;
    } else {
        return cfg_key_error(d, at, err, errlen,
                             "%s: limit_mib (greater than 0) or limit_percentage (1-100) is "
                             "required",
                             where);
    }
    if (spike >= limit)
        return cfg_key_error(d, at, err, errlen,
                             "%s: the spike limit must be smaller than the limit", where);
    if (p->memlimit)
        return cfg_key_error(d, at, err, errlen,
                             "%s: one memory_limiter per configuration: its limit is the "
                             "process's",
                             where);
    p->memlimit = true;
    p->soft_limit = (size_t)(limit - spike);
    p->check_interval_ns = interval;
    return 0;
}

/* batch: the collector's defaults (200ms, 8192 items, no maximum), applied by the exporters
 * of the pipeline, which group what they send (export_set_batching). */
static int batching_apply(pipelines *p, const pipecfg_component *c, exporter **exps, size_t n,
                          char *err, size_t errlen)
{
    const cfg_doc *d = p->env.cfg->doc;
    uint64_t timeout = 200000000u;
    int64_t size = 8192, max = 0;
    int rc = opt_duration(d, c->settings, "timeout", &timeout, err, errlen);
    if (rc || (rc = opt_int(d, c->settings, "send_batch_size", &size, err, errlen)) ||
        (rc = opt_int(d, c->settings, "send_batch_max_size", &max, err, errlen)))
        return rc;
    if (size < 0 || max < 0 || (max && max < size))
        return cfg_key_error(d, c->at, err, errlen,
                             "processors.%s: send_batch_size and send_batch_max_size must not be "
                             "negative, and send_batch_max_size (0: none) not below "
                             "send_batch_size",
                             c->id);
    for (size_t i = 0; i < n; i++)
        if ((rc = export_set_batching(exps[i], timeout, (uint64_t)size, (uint64_t)max))) return rc;
    return 0;
}

static int proc_create(pipelines *p, pline *pl, proc *pr, const pipecfg_component *c, char *err,
                       size_t errlen)
{
    const cfg_doc *d = p->env.cfg->doc;
    char where[300];
    where_of(where, sizeof where, c);
    pr->c = c;
    if (strcmp(c->type, "transform") == 0) {
        pr->kind = PR_TRANSFORM;
        return transform_create(d, c->settings, where, &pr->tf, err, errlen);
    }
    if (strcmp(c->type, "redaction") == 0) {
        pr->kind = PR_REDACTION;
        return redact_create(d, c->settings, where, &pr->rd, err, errlen);
    }
    if (strcmp(c->type, "probabilistic_sampler") == 0) {
        pr->kind = PR_PROBSAMP;
        return probsamp_new(d, c->settings, &pr->ps, err, errlen);
    }
    if (strcmp(c->type, "filter") == 0) {
        pr->kind = PR_FILTER;
        return filter_create(d, c->settings, where, &pr->fl, err, errlen);
    }
    if (strcmp(c->type, "attributes") == 0) {
        pr->kind = PR_ATTRIBUTES;
        return attributes_create(d, c->settings, where, pl->cfg->signal, &pr->at, err, errlen);
    }
    if (strcmp(c->type, "tail_sampling") == 0) {
        pr->kind = PR_TAIL;
        if (pl->tail_at < pl->n_procs)
            return cfg_error(d, c->at, err, errlen,
                             "service.pipelines.%s: one tail_sampling processor per pipeline",
                             pl->cfg->id);
        pl->tail_at = (size_t)(pr - pl->procs);
        if (!(pl->tail = lt_calloc(p->env.n_tenants, sizeof *pl->tail))) return LT_ENOMEM;
        for (size_t t = 0; t < p->env.n_tenants; t++) {
            int rc = tailsamp_new(d, c->settings, &pl->tail[t], err, errlen);
            if (rc) return rc;
        }
        return 0;
    }
    if (strcmp(c->type, "batch") == 0) {
        pr->kind = PR_BATCH;
        return 0;
    }
    if (strcmp(c->type, "memory_limiter") == 0) {
        pr->kind = PR_MEMLIMIT;
        return memory_limiter_read(p, c, err, errlen);
    }
    return cfg_error(d, c->at, err, errlen, "%s: not a processor llmtrace runs", where);
}

static void proc_free(proc *pr)
{
    transform_free(pr->tf);
    redact_free(pr->rd);
    probsamp_free(pr->ps);
    filter_free(pr->fl);
    attributes_free(pr->at);
}

/* The instance of an exporter or connector, created once for all pipelines. */
static int exporter_of(pipelines *p, const pipecfg_component *c, exporter **out, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < p->n_exporters; i++)
        if (strcmp(export_id(p->exporters[i]), c->id) == 0) return *out = p->exporters[i], 0;
    exporter **grown = lt_realloc(p->exporters, (p->n_exporters + 1) * sizeof *grown);
    if (!grown) return LT_ENOMEM;
    p->exporters = grown;
    int rc = export_create(p->env.cfg->doc, c, &grown[p->n_exporters], err, errlen);
    if (rc) return rc;
    *out = grown[p->n_exporters++];
    return 0;
}

static int connector_of(pipelines *p, const pipecfg_component *c, spanmetrics **out, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < p->n_connectors; i++)
        if (p->connector_cfgs[i] == c) return *out = p->connectors[i], 0;
    size_t n = p->n_connectors + 1;
    spanmetrics **sms = lt_realloc(p->connectors, n * sizeof *sms);
    if (sms) p->connectors = sms;
    const pipecfg_component **cfgs = lt_realloc(p->connector_cfgs, n * sizeof *cfgs);
    if (cfgs) p->connector_cfgs = cfgs;
    if (!sms || !cfgs) return LT_ENOMEM;
    char where[300];
    where_of(where, sizeof where, c);
    int rc =
        spanmetrics_create(c->settings, cfg_name(p->env.cfg->doc), where, &sms[n - 1], err, errlen);
    if (rc) return rc;
    cfgs[n - 1] = c;
    p->n_connectors = n;
    *out = sms[n - 1];
    return 0;
}

static int pipe_create(pipelines *p, pline *pl, const pipecfg_pipeline *cfg, char *err,
                       size_t errlen)
{
    pl->cfg = cfg;
    pl->traces = cfg->signal == SIG_TRACES;
    pl->stores = cfg->stores;
    pl->n_procs = cfg->n_processors;
    pl->tail_at = pl->n_procs;
    if (pl->n_procs && !(pl->procs = lt_calloc(pl->n_procs, sizeof *pl->procs))) return LT_ENOMEM;
    for (size_t i = 0; i < pl->n_procs; i++) {
        int rc = proc_create(p, pl, &pl->procs[i], cfg->processors[i], err, errlen);
        if (rc) return rc;
    }
    if (!(pl->exps = lt_calloc(cfg->n_exporters + 1, sizeof *pl->exps)) ||
        !(pl->sms = lt_calloc(cfg->n_exporters + 1, sizeof *pl->sms)))
        return LT_ENOMEM;
    for (size_t i = 0; i < cfg->n_exporters; i++) {
        const pipecfg_component *c = cfg->exporters[i];
        int rc = 0;
        if (c->def->kind == COMP_CONNECTOR)
            rc = connector_of(p, c, &pl->sms[pl->n_sms++], err, errlen);
        else if (strcmp(c->type, "llmtrace") != 0)
            rc = exporter_of(p, c, &pl->exps[pl->n_exps++], err, errlen);
        if (rc) return rc;
    }
    for (size_t i = 0; i < pl->n_procs; i++)
        if (pl->procs[i].kind == PR_BATCH) {
            int rc = batching_apply(p, pl->procs[i].c, pl->exps, pl->n_exps, err, errlen);
            if (rc) return rc;
        }
    return 0;
}

/* A metrics pipeline: OTLP metrics from the receivers go to its exporters as they arrive;
 * what its connectors count is sent by prometheusremotewrite every flush interval (and
 * served at /metrics), so a pipeline fed by a connector takes no other exporter. */
static int metrics_pipe_create(pipelines *p, mpipe *mp, const pipecfg_pipeline *cfg, char *err,
                               size_t errlen)
{
    mp->cfg = cfg;
    if (!(mp->exps = lt_calloc(cfg->n_exporters + 1, sizeof *mp->exps))) return LT_ENOMEM;
    for (size_t i = 0; i < cfg->n_processors; i++) {
        const pipecfg_component *c = cfg->processors[i];
        if (strcmp(c->type, "memory_limiter") == 0) {
            int rc = memory_limiter_read(p, c, err, errlen);
            if (rc) return rc;
        } else if (strcmp(c->type, "batch") != 0) {
            return cfg_error(p->env.cfg->doc, c->at, err, errlen,
                             "service.pipelines.%s: %s: a metrics pipeline runs batch and "
                             "memory_limiter only",
                             cfg->id, c->id);
        }
    }
    for (size_t r = 0; r < cfg->n_receivers; r++) {
        const pipecfg_component *src = cfg->receivers[r];
        if (src->def->kind != COMP_CONNECTOR) {
            mp->from_receivers = true;
            continue;
        }
        for (size_t i = 0; i < cfg->n_exporters; i++)
            if (strcmp(cfg->exporters[i]->type, "prometheusremotewrite") != 0)
                return cfg_error(p->env.cfg->doc, cfg->at, err, errlen,
                                 "service.pipelines.%s: %s: the metrics of %s go to "
                                 "prometheusremotewrite (and GET /metrics) only",
                                 cfg->id, cfg->exporters[i]->id, src->id);
        spanmetrics *sm;
        int rc = connector_of(p, src, &sm, err, errlen);
        for (size_t i = 0; !rc && i < cfg->n_exporters; i++) {
            exporter *ex;
            rc = exporter_of(p, cfg->exporters[i], &ex, err, errlen);
            if (!rc) rc = export_add_metrics(ex, sm);
        }
        if (rc) return rc;
    }
    for (size_t i = 0; i < cfg->n_exporters; i++) {
        int rc = exporter_of(p, cfg->exporters[i], &mp->exps[mp->n_exps++], err, errlen);
        if (rc) return rc;
    }
    for (size_t i = 0; i < cfg->n_processors; i++)
        if (strcmp(cfg->processors[i]->type, "batch") == 0) {
            int rc = batching_apply(p, cfg->processors[i], mp->exps, mp->n_exps, err, errlen);
            if (rc) return rc;
        }
    return 0;
}

int pipelines_create(const pipelines_env *env, pipelines **out, char *err, size_t errlen)
{
    *out = NULL;
    pipelines *p = lt_calloc(1, sizeof *p);
    if (!p) return LT_ENOMEM;
    p->env = *env;
    atomic_init(&p->in_store, 0);
    atomic_init(&p->failed, 0);
    const pipecfg *cfg = env->cfg;
    int rc = 0;
    if (!(p->pipes = lt_calloc(cfg->n_pipelines + 1, sizeof *p->pipes)) ||
        !(p->mpipes = lt_calloc(cfg->n_pipelines + 1, sizeof *p->mpipes)))
        rc = LT_ENOMEM;
    for (size_t i = 0; !rc && i < cfg->n_pipelines; i++) {
        const pipecfg_pipeline *pc = &cfg->pipelines[i];
        if (pc->signal == SIG_METRICS)
            rc = metrics_pipe_create(p, &p->mpipes[p->n_mpipes++], pc, err, errlen);
        else
            rc = pipe_create(p, &p->pipes[p->n_pipes++], pc, err, errlen);
    }
    if (rc) {
        if (rc == LT_ENOMEM) snprintf(err, errlen, "out of memory");
        pipelines_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- copies, jobs ------------------------------------------------------------------- */

/* A copy of the request's batch (t or l) in an arena of its own: encoded, then decoded from
 * the arena's copy of the bytes, spans with their GenAI views derived again. NULL when
 * memory ran out. */
static own_job *copy_batch(pipelines *p, size_t tenant, const lt_trace_batch *t,
                           const lt_log_batch *l)
{
    own_job *j = lt_calloc(1, sizeof *j);
    lt_buf buf = {0};
    if (!j || !(j->arena = arena_new()) ||
        (t ? pb_encode_traces(&buf, t) : pb_encode_logs(&buf, l)))
        goto fail;
    uint8_t *bytes = buf.len ? arena_alloc(j->arena, buf.len) : NULL;
    if (buf.len && !bytes) goto fail;
    if (buf.len) memcpy(bytes, buf.data, buf.len);
    if (t ? pb_decode_traces(j->arena, bytes, buf.len, &j->traces) ||
                genai_annotate(&j->traces, p->env.prices, j->arena)
          : pb_decode_logs(j->arena, bytes, buf.len, &j->logs))
        goto fail;
    buf_free(&buf);
    j->p = p, j->tenant = tenant;
    return j;
fail:
    buf_free(&buf);
    if (j) arena_free(j->arena);
    lt_free(j);
    return NULL;
}

static void own_free(own_job *j)
{
    if (!j) return;
    arena_free(j->arena);
    lt_free(j);
}

/* Writer thread. */
static void own_done(ingest_job *job, int result)
{
    own_job *j = (own_job *)job;
    pipelines *p = j->p;
    if (result) atomic_fetch_add(&p->failed, j->items);
    own_free(j);
    atomic_fetch_sub(&p->in_store, 1);
}

/* Hands j to its tenant's store, or to the retry list when the queue is full. */
static void own_store(pipelines *p, own_job *j)
{
    j->items = j->traces.n_spans ? j->traces.n_spans : j->logs.n_records;
    if (!j->items) {
        own_free(j);
        return;
    }
    j->job.traces = j->traces.n_spans ? &j->traces : NULL;
    j->job.logs = j->traces.n_spans ? NULL : &j->logs;
    j->job.cost = arena_reserved(j->arena);
    j->job.done = own_done;
    if (!p->retry) {
        atomic_fetch_add(&p->in_store, 1);
        if (ingest_submit(p->env.stores[j->tenant], &j->job) == 0) return;
        atomic_fetch_sub(&p->in_store, 1);
    }
    j->next = NULL;
    if (p->retry_tail)
        p->retry_tail->next = j;
    else
        p->retry = j;
    p->retry_tail = j;
}

static void retry_stores(pipelines *p)
{
    while (p->retry) {
        own_job *j = p->retry;
        atomic_fetch_add(&p->in_store, 1);
        if (ingest_submit(p->env.stores[j->tenant], &j->job)) {
            atomic_fetch_sub(&p->in_store, 1);
            return;
        }
        p->retry = j->next;
        if (!p->retry) p->retry_tail = NULL;
    }
}

/* ---- running ------------------------------------------------------------------------- */

typedef struct {
    lt_trace_batch *t; /* exactly one set */
    lt_log_batch *l;
    lt_arena *a;
} sbatch;

static uint64_t items_of(const sbatch *b)
{
    return b->t ? b->t->n_spans : b->l->n_records;
}

/* Runs processors [from, to) of pl on b. */
static pipe_outcome run_procs(const pline *pl, size_t from, size_t to, sbatch *b)
{
    for (size_t i = from; i < to && items_of(b); i++) {
        const proc *pr = &pl->procs[i];
        int rc = 0;
        switch (pr->kind) {
        case PR_TRANSFORM:
            rc = b->t ? transform_traces(pr->tf, b->t, b->a) : transform_logs(pr->tf, b->l, b->a);
            break;
        case PR_REDACTION:
            rc = b->t ? redact_traces(pr->rd, b->t, b->a) : redact_logs(pr->rd, b->l, b->a);
            break;
        case PR_PROBSAMP:
            if (b->t)
                probsamp_filter_traces(pr->ps, b->t);
            else
                probsamp_filter_logs(pr->ps, b->l);
            break;
        case PR_FILTER:
            rc = b->t ? filter_traces(pr->fl, b->t, b->a, NULL)
                      : filter_logs(pr->fl, b->l, b->a, NULL);
            break;
        case PR_ATTRIBUTES:
            rc = b->t ? attributes_traces(pr->at, b->t, b->a) : attributes_logs(pr->at, b->l, b->a);
            break;
        case PR_TAIL: /* split by the caller */
        case PR_BATCH:
        case PR_MEMLIMIT:
            break;
        }
        if (rc == LT_ENOMEM) return PIPE_NOMEM;
        if (rc) return PIPE_FAILED;
    }
    return PIPE_DONE;
}

/* Whether every exporter of pl can take more now, and the pipeline holds nothing waiting. */
static bool pipe_has_room(const pipelines *p, const pline *pl)
{
    if (pl->tail_at < pl->n_procs && p->retry) return false;
    for (size_t i = 0; i < pl->n_exps; i++)
        if (!export_has_room(pl->exps[i], 0)) return false;
    return true;
}

/* Hands b to pl's exporters other than the storage. acked: the sender was answered already
 * (a refusal is then a loss, counted). */
static pipe_outcome export_all(pipelines *p, const pline *pl, const sbatch *b, bool acked)
{
    for (size_t i = 0; i < pl->n_sms; i++)
        if (spanmetrics_consume(pl->sms[i], b->t) == LT_ENOMEM) return PIPE_NOMEM;
    for (size_t i = 0; i < pl->n_exps; i++) {
        int rc = b->t ? export_traces(pl->exps[i], b->t) : export_logs(pl->exps[i], b->l);
        if (rc == LT_EBUSY && acked)
            p->dropped_export += items_of(b);
        else if (rc == LT_EBUSY)
            return PIPE_BUSY;
        else if (rc)
            return PIPE_NOMEM;
    }
    return PIPE_DONE;
}

typedef struct {
    pipelines *p;
    pline *pl;
    size_t tenant;
} emit_ctx;

/* A kept trace from tail sampling: the rest of the pipeline, then its exporters. */
static int on_kept(const lt_trace_batch *kept, lt_arena *a, void *arg)
{
    emit_ctx *e = arg;
    own_job *j = lt_calloc(1, sizeof *j);
    if (!j) {
        arena_free(a);
        return LT_ENOMEM;
    }
    j->p = e->p, j->tenant = e->tenant, j->arena = a, j->traces = *kept;
    sbatch b = {.t = &j->traces, .a = a};
    pipe_outcome o = run_procs(e->pl, e->pl->tail_at + 1, e->pl->n_procs, &b);
    if (o == PIPE_DONE && items_of(&b)) o = export_all(e->p, e->pl, &b, true);
    if (o != PIPE_DONE) {
        e->p->dropped_export += items_of(&b);
        own_free(j);
        return 0;
    }
    if (e->pl->stores) {
        own_store(e->p, j);
        if (e->p->retry) return LT_EBUSY; /* the rest waits in the sampler */
    } else {
        own_free(j);
    }
    return 0;
}

static void tick_tails(pipelines *p, bool flush)
{
    uint64_t now = time_mono_ns();
    for (size_t i = 0; i < p->n_pipes && !p->retry; i++) {
        pline *pl = &p->pipes[i];
        if (pl->tail_at >= pl->n_procs) continue;
        for (size_t t = 0; t < p->env.n_tenants && !p->retry; t++) {
            emit_ctx e = {p, pl, t};
            int rc = flush ? tailsamp_flush(pl->tail[t], now, on_kept, &e)
                           : tailsamp_tick(pl->tail[t], now, on_kept, &e);
            if (rc == LT_ENOMEM) log_warn("tail sampling: out of memory; retrying");
        }
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    pipelines *p = arg;
    retry_stores(p);
    tick_tails(p, p->flushing);
    uint64_t now = time_mono_ns();
    uint64_t failed = atomic_load(&p->failed);
    if ((failed || p->dropped_export) && now - p->last_log >= LOG_EVERY_NS) {
        log_warn("pipelines: %llu item(s) already acknowledged were lost since the last line "
                 "(%llu failed to commit, %llu refused by a full exporter queue)",
                 (unsigned long long)(failed + p->dropped_export), (unsigned long long)failed,
                 (unsigned long long)p->dropped_export);
        atomic_fetch_sub(&p->failed, failed);
        p->dropped_export = 0;
        p->last_log = now;
    }
}

int pipelines_start(pipelines *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->n_exporters; i++) {
        int rc = export_start(p->exporters[i], err, errlen);
        if (rc) return rc;
    }
    struct timeval every = {0, (suseconds_t)(TICK_NS / 1000)};
    if (!(p->tick = event_new(p->env.base, -1, EV_PERSIST, on_tick, p)) ||
        event_add(p->tick, &every)) {
        snprintf(err, errlen, "out of memory");
        return LT_ENOMEM;
    }
    return 0;
}

/* Runs one pipeline on b. primary: b is the request's own (PIPE_STORE is the caller's to do);
 * otherwise j owns b and is stored (or freed) here. */
static pipe_outcome run_pipe(pipelines *p, pline *pl, size_t tenant, sbatch *b, own_job *j)
{
    pipe_outcome o = run_procs(pl, 0, pl->tail_at, b);
    if (o != PIPE_DONE || !items_of(b)) goto out;
    if (pl->tail_at < pl->n_procs) {
        if (tailsamp_consume(pl->tail[tenant], b->t, time_mono_ns())) o = PIPE_NOMEM;
        goto out;
    }
    if ((o = export_all(p, pl, b, false)) != PIPE_DONE) goto out;
    if (pl->stores && !j) return PIPE_STORE;
    if (pl->stores) {
        own_store(p, j);
        return PIPE_DONE;
    }
out:
    own_free(j);
    return o;
}

static pipe_outcome run_signal(pipelines *p, size_t tenant, sbatch *b)
{
    pline *mine[64];
    own_job *copies[64] = {0};
    size_t n = 0;
    for (size_t i = 0; i < p->n_pipes && n < 64; i++)
        if (p->pipes[i].traces == (b->t != NULL)) mine[n++] = &p->pipes[i];
    if (!n) return PIPE_DONE;
    for (size_t i = 0; i < n; i++)
        if (!pipe_has_room(p, mine[i])) return PIPE_BUSY;
    /* copies first: the first pipeline changes b */
    for (size_t i = 1; i < n; i++) {
        copies[i] = copy_batch(p, tenant, b->t, b->l);
        if (!copies[i]) {
            for (size_t k = 1; k < i; k++)
                own_free(copies[k]);
            return PIPE_NOMEM;
        }
    }
    pipe_outcome first = run_pipe(p, mine[0], tenant, b, NULL);
    if (first != PIPE_DONE && first != PIPE_STORE) {
        /* the sender retries the whole request: the other pipelines get it then */
        for (size_t i = 1; i < n; i++)
            own_free(copies[i]);
        return first;
    }
    for (size_t i = 1; i < n; i++) {
        sbatch cb = {.t = b->t ? &copies[i]->traces : NULL,
                     .l = b->t ? NULL : &copies[i]->logs,
                     .a = copies[i]->arena};
        pipe_outcome o = run_pipe(p, mine[i], tenant, &cb, copies[i]);
        if (o != PIPE_DONE) first = o; /* the first pipeline's data is then not stored */
    }
    return first;
}

pipe_outcome pipelines_traces(pipelines *p, size_t tenant, lt_trace_batch *b, lt_arena *a)
{
    sbatch sb = {.t = b, .a = a};
    return run_signal(p, tenant, &sb);
}

pipe_outcome pipelines_logs(pipelines *p, size_t tenant, lt_log_batch *b, lt_arena *a)
{
    sbatch sb = {.l = b, .a = a};
    return run_signal(p, tenant, &sb);
}

static bool take(const pipelines *p, bool traces)
{
    for (size_t i = 0; i < p->n_pipes; i++)
        if (p->pipes[i].traces == traces) return true;
    return false;
}

bool pipelines_take_traces(const pipelines *p)
{
    return take(p, true);
}

bool pipelines_take_logs(const pipelines *p)
{
    return take(p, false);
}

bool pipelines_take_metrics(const pipelines *p)
{
    for (size_t i = 0; i < p->n_mpipes; i++)
        if (p->mpipes[i].from_receivers) return true;
    return false;
}

pipe_outcome pipelines_metrics(pipelines *p, const lt_metric_batch *b)
{
    /* nothing changes a metrics batch on its way, so every exporter encodes the same one */
    for (size_t i = 0; i < p->n_mpipes; i++)
        for (size_t k = 0; p->mpipes[i].from_receivers && k < p->mpipes[i].n_exps; k++)
            if (!export_has_room(p->mpipes[i].exps[k], 0)) return PIPE_BUSY;
    for (size_t i = 0; i < p->n_mpipes; i++) {
        const mpipe *mp = &p->mpipes[i];
        for (size_t k = 0; mp->from_receivers && k < mp->n_exps; k++) {
            int rc = export_metrics(mp->exps[k], b);
            if (rc == LT_EBUSY || rc == LT_EIO) return PIPE_BUSY;
            if (rc) return PIPE_NOMEM;
        }
    }
    return PIPE_DONE;
}

bool pipelines_memory_limit(const pipelines *p, size_t *soft_limit, uint64_t *interval_ns)
{
    if (!p->memlimit) return false;
    *soft_limit = p->soft_limit;
    *interval_ns = p->check_interval_ns;
    return true;
}

void pipelines_flush(pipelines *p)
{
    p->flushing = true;
    retry_stores(p);
    tick_tails(p, true);
}

bool pipelines_idle(const pipelines *p)
{
    if (p->retry || atomic_load(&p->in_store)) return false;
    for (size_t i = 0; i < p->n_pipes; i++) {
        const pline *pl = &p->pipes[i];
        for (size_t t = 0; pl->tail && t < p->env.n_tenants; t++) {
            tailsamp_stats st;
            tailsamp_get_stats(pl->tail[t], &st);
            if (st.traces_held) return false;
        }
    }
    return true;
}

bool pipelines_metrics_text(pipelines *p, lt_buf *out)
{
    if (!p || !p->n_connectors) return false;
    for (size_t i = 0; i < p->n_connectors; i++) {
        spanmetrics_snap s;
        if (spanmetrics_snapshot(p->connectors[i], &s)) {
            out->oom = true;
            return true;
        }
        promtext_render(out, &s);
        spanmetrics_snapshot_free(&s);
    }
    return true;
}

void pipelines_log_stats(const pipelines *p)
{
    for (size_t i = 0; i < p->n_pipes; i++) {
        const pline *pl = &p->pipes[i];
        for (size_t k = 0; k < pl->n_procs; k++) {
            const proc *pr = &pl->procs[k];
            if (pr->kind == PR_TAIL) {
                tailsamp_stats all = {0};
                for (size_t t = 0; t < p->env.n_tenants; t++) {
                    tailsamp_stats st;
                    tailsamp_get_stats(pl->tail[t], &st);
                    all.traces_kept += st.traces_kept, all.traces_dropped += st.traces_dropped;
                    all.spans_kept += st.spans_kept, all.spans_dropped += st.spans_dropped;
                }
                log_info("%s: %s: traces kept %llu, dropped %llu (spans %llu, %llu)", pl->cfg->id,
                         pr->c->id, (unsigned long long)all.traces_kept,
                         (unsigned long long)all.traces_dropped, (unsigned long long)all.spans_kept,
                         (unsigned long long)all.spans_dropped);
            } else if (pr->kind == PR_PROBSAMP) {
                uint64_t kept, dropped;
                probsamp_counts(pr->ps, &kept, &dropped);
                log_info("%s: %s: kept %llu, dropped %llu", pl->cfg->id, pr->c->id,
                         (unsigned long long)kept, (unsigned long long)dropped);
            } else if (pr->kind == PR_FILTER) {
                filter_stats st;
                filter_get_stats(pr->fl, &st);
                log_info("%s: %s: dropped %llu span(s), %llu span event(s), %llu log record(s)",
                         pl->cfg->id, pr->c->id, (unsigned long long)st.spans,
                         (unsigned long long)st.span_events, (unsigned long long)st.log_records);
            } else if (pr->kind == PR_TRANSFORM && transform_errors(pr->tf)) {
                log_info("%s: %s: %llu statement error(s)", pl->cfg->id, pr->c->id,
                         (unsigned long long)transform_errors(pr->tf));
            }
        }
    }
    for (size_t i = 0; i < p->n_exporters; i++) {
        export_stats st;
        export_get_stats(p->exporters[i], &st);
        log_info("exporter %s: sent %llu item(s) in %llu request(s), %llu failed, %llu refused "
                 "(queue full), %llu still queued",
                 export_id(p->exporters[i]), (unsigned long long)st.sent_items,
                 (unsigned long long)st.sent_requests, (unsigned long long)st.failed_items,
                 (unsigned long long)st.refused_items, (unsigned long long)st.queued_requests);
    }
}

void pipelines_free(pipelines *p)
{
    if (!p) return;
    if (p->tick) event_free(p->tick);
    /* exporters first: they read the connectors */
    for (size_t i = 0; i < p->n_exporters; i++)
        export_stop(p->exporters[i], 5000);
    lt_free(p->exporters);
    for (size_t i = 0; i < p->n_pipes; i++) {
        pline *pl = &p->pipes[i];
        for (size_t k = 0; k < pl->n_procs; k++)
            proc_free(&pl->procs[k]);
        for (size_t t = 0; pl->tail && t < p->env.n_tenants; t++)
            tailsamp_free(pl->tail[t]);
        lt_free(pl->tail);
        lt_free(pl->procs);
        lt_free(pl->exps);
        lt_free(pl->sms);
    }
    lt_free(p->pipes);
    for (size_t i = 0; i < p->n_mpipes; i++)
        lt_free(p->mpipes[i].exps);
    lt_free(p->mpipes);
    while (p->retry) {
        own_job *j = p->retry;
        p->retry = j->next;
        own_free(j);
    }
    for (size_t i = 0; i < p->n_connectors; i++)
        spanmetrics_free(p->connectors[i]);
    lt_free(p->connectors);
    lt_free(p->connector_cfgs);
    lt_free(p);
}
