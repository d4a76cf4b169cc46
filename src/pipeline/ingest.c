/* ingest.c — the bounded job queue and its writer thread (see ingest.h).
 *
 * A mutex and a condition variable guard a FIFO list. The writer takes every job queued
 * behind the first one of the same signal (up to GROUP_MAX_ITEMS spans or records) and
 * writes them as one store call, one transaction (group commit): under load a commit's
 * fixed cost is shared by several senders, and no job waits for one queued after it. When
 * the group's write fails, every job of it gets the error (a retryable one: nothing of the
 * group was stored). The receive side keeps decoding while the writer writes, so the two
 * cores overlap. */
#include "pipeline/ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

enum {
    GROUP_MAX_JOBS = 256,      /* jobs written in one store call */
    GROUP_MAX_ITEMS = 1 << 14, /* default: spans (records) in one store call, unless one job
                                  has more */
};

struct ingest {
    lt_store *store;
    ingest_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    ingest_job *head, *tail;
    size_t queued_bytes;
    uint64_t queued_items;
    size_t pending; /* queued + the ones being written */
    bool stopping;
    _Atomic uint64_t writes; /* store calls, counted before the jobs' done() */
    void *group_res;         /* the writer's array of a group's resources (spans or logs) */
    size_t group_cap;        /* bytes */
};

static void run_retention(ingest *q, uint64_t *last)
{
    const lt_retention *r = &q->cfg.retention;
    uint64_t now = time_mono_ns();
    if (!r->max_age_ns && !r->max_bytes) return;
    if (*last && now - *last < q->cfg.retention_interval_ns) return;
    *last = now;
    int rc = store_enforce_retention(q->store, r, time_now_ns());
    if (rc) log_warn("retention: %s", lt_strerror(rc));
}

/* Writes the n jobs of a group as one store call: their resource arrays side by side in a
 * batch of the writer's own (the items stay where each job's arena holds them). */
static int write_group(ingest *q, ingest_job **group, size_t n, bool traces)
{
    if (n == 1)
        return traces ? store_write_traces(q->store, group[0]->traces)
                      : store_write_logs(q->store, group[0]->logs);
    size_t n_res = 0;
    for (size_t i = 0; i < n; i++)
        n_res += traces ? group[i]->traces->n_rs : group[i]->logs->n_rl;
    if (n_res > UINT32_MAX) return LT_ETOOBIG;
    size_t each = traces ? sizeof(lt_resource_spans) : sizeof(lt_resource_logs);
    if (n_res * each > q->group_cap) {
        void *p = lt_realloc(q->group_res, n_res * each);
        if (!p) return LT_ENOMEM;
        q->group_res = p;
        q->group_cap = n_res * each;
    }
    size_t k = 0;
    if (traces) {
        lt_resource_spans *rs = q->group_res;
        lt_trace_batch b = {.rs = rs};
        for (size_t i = 0; i < n; i++) {
            const lt_trace_batch *t = group[i]->traces;
            for (uint32_t j = 0; j < t->n_rs; j++)
                rs[k++] = t->rs[j];
            b.n_spans += t->n_spans;
        }
        b.n_rs = (uint32_t)k;
        return store_write_traces(q->store, &b);
    }
    lt_resource_logs *rl = q->group_res;
    lt_log_batch b = {.rl = rl};
    for (size_t i = 0; i < n; i++) {
        const lt_log_batch *l = group[i]->logs;
        for (uint32_t j = 0; j < l->n_rl; j++)
            rl[k++] = l->rl[j];
        b.n_records += l->n_records;
    }
    b.n_rl = (uint32_t)k;
    return store_write_logs(q->store, &b);
}

static void *writer_main(void *arg)
{
    ingest *q = arg;
    uint64_t last_retention = 0, last_write = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
            if (!q->head) {
                pthread_mutex_unlock(&q->mu);
                run_retention(q, &last_retention);
                pthread_mutex_lock(&q->mu);
            }
        }
        if (!q->head) break; /* stopping and drained */
        if (q->cfg.linger_ns && q->queued_items < q->cfg.batch_items && last_write) {
            /* bounded delay: writes at most once per linger_ns unless batch_items wait, so
             * a busy engine gets fewer, larger writes and a quiet one writes at once */
            uint64_t due = last_write + q->cfg.linger_ns, now = time_mono_ns();
            if (due > now) {
                struct timespec dl;
                clock_gettime(CLOCK_REALTIME, &dl);
                uint64_t ns = (uint64_t)dl.tv_nsec + (due - now);
                dl.tv_sec += (time_t)(ns / 1000000000ull);
                dl.tv_nsec = (long)(ns % 1000000000ull);
                while (!q->stopping && q->queued_items < q->cfg.batch_items)
                    if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT) break;
            }
        }
        last_write = time_mono_ns();
        ingest_job *group[GROUP_MAX_JOBS];
        size_t n = 0;
        uint64_t items = 0;
        bool traces = q->head->traces != NULL;
        while (q->head && n < GROUP_MAX_JOBS && (q->head->traces != NULL) == traces) {
            ingest_job *job = q->head;
            uint64_t k = traces ? job->traces->n_spans : job->logs->n_records;
            if (n && items + k > q->cfg.max_items) break;
            items += k;
            q->head = job->next;
            q->queued_bytes -= job->cost;
            q->queued_items -= k;
            group[n++] = job;
        }
        if (!q->head) q->tail = NULL;
        pthread_mutex_unlock(&q->mu);

        int rc = write_group(q, group, n, traces);
        atomic_fetch_add(&q->writes, 1);
        for (size_t i = 0; i < n; i++)
            group[i]->done(group[i], rc);
        run_retention(q, &last_retention);

        pthread_mutex_lock(&q->mu);
        q->pending -= n;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int ingest_start(ingest **out, lt_store *store, const ingest_config *cfg)
{
    ingest *q = lt_calloc(1, sizeof *q);
    if (!q) return LT_ENOMEM;
    q->store = store;
    q->cfg = *cfg;
    if (!q->cfg.max_bytes) q->cfg.max_bytes = (size_t)64 << 20;
    if (!q->cfg.retention_interval_ns) q->cfg.retention_interval_ns = 60000000000ull;
    if (!q->cfg.max_items) q->cfg.max_items = GROUP_MAX_ITEMS;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    if (pthread_create(&q->thread, NULL, writer_main, q)) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        lt_free(q);
        return LT_EIO;
    }
    *out = q;
    return 0;
}

int ingest_submit(ingest *q, ingest_job *job)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    /* one job larger than the bound is still admitted into an empty queue */
    if (q->stopping || (q->queued_bytes && q->queued_bytes + job->cost > q->cfg.max_bytes)) {
        rc = LT_EBUSY;
        goto out;
    }
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->queued_bytes += job->cost;
    q->queued_items += job->traces ? job->traces->n_spans : job->logs->n_records;
    q->pending++;
    pthread_cond_broadcast(&q->cv);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t ingest_pending(ingest *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->pending;
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t ingest_writes(ingest *q)
{
    return atomic_load(&q->writes);
}

void ingest_stop(ingest *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    lt_free(q->group_res);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    lt_free(q);
}
