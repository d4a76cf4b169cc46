/* ingest.c — the bounded job queue and its writer thread (see ingest.h).
 *
 * A mutex and a condition variable guard a FIFO list. The writer takes one job at a time
 * so that done() of the first job does not wait for the later ones; SQLite commits a
 * 100-span batch in well under a millisecond, and the receive side keeps decoding while
 * the writer writes, so the two cores overlap. */
#include "pipeline/ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

struct ingest {
    lt_store *store;
    ingest_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    ingest_job *head, *tail;
    size_t queued_bytes;
    size_t pending; /* queued + the one being written */
    bool stopping;
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

static void *writer_main(void *arg)
{
    ingest *q = arg;
    uint64_t last_retention = 0;
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
        ingest_job *job = q->head;
        if (!job) break; /* stopping and drained */
        q->head = job->next;
        if (!q->head) q->tail = NULL;
        q->queued_bytes -= job->cost;
        pthread_mutex_unlock(&q->mu);

        int rc = job->traces ? store_write_traces(q->store, job->traces)
                             : store_write_logs(q->store, job->logs);
        job->done(job, rc);
        run_retention(q, &last_retention);

        pthread_mutex_lock(&q->mu);
        q->pending--;
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

void ingest_stop(ingest *q)
{
    if (!q) return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    lt_free(q);
}
