/* test_ingest.c — the ingest queue (pipeline/ingest.h) over a real SQLite store.
 *
 * Group commit: jobs queued while the writer is busy are written together, each job's
 * done() is called exactly once with the group's result, spans and log records of every
 * job are stored, and a failing store fails every job of the group. The writer is held busy
 * deterministically: the first job's done() waits until the test has queued the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "pipeline/ingest.h"
#include "store/store.h"

enum { N_JOBS = 200 };

typedef struct {
    ingest_job job;
    lt_trace_batch traces;
    lt_log_batch logs;
    lt_resource_spans rs;
    lt_scope_spans ss;
    lt_span span;
    lt_resource_logs rl;
    lt_scope_logs sl;
    lt_log_record rec;
    int calls;
    int result;
} test_job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool release_first;
static int done_count;
static test_job *first_job; /* the job whose done() holds the writer */

static void on_done(ingest_job *j, int result)
{
    test_job *t = (test_job *)j;
    pthread_mutex_lock(&mu);
    t->calls++;
    t->result = result;
    done_count++;
    pthread_cond_broadcast(&cv);
    /* the first job holds the writer until every other job is queued */
    if (t == first_job)
        while (!release_first)
            pthread_cond_wait(&cv, &mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void id_of(uint8_t *id, size_t n, unsigned k, uint8_t tag)
{
    memset(id, 0, n);
    id[n - 1] = tag;
    id[n - 2] = (uint8_t)(k & 0xff);
    id[n - 3] = (uint8_t)(k >> 8);
}

/* Job k: one span of trace k (odd k), or one log record of trace k-1's span (even k > 0),
 * so a group mixes signals and log jobs refer to spans of other jobs. Job 0 is a span. */
static void make_job(test_job *t, unsigned k)
{
    memset(t, 0, sizeof *t);
    bool is_log = k > 0 && k % 2 == 0;
    if (!is_log) {
        id_of(t->span.trace_id, 16, k, 0x11);
        id_of(t->span.span_id, 8, k, 0x22);
        t->span.name = LT_STR("work");
        t->span.kind = LT_KIND_INTERNAL;
        t->span.start_time_unix_nano = 1700000000000000000ull + k;
        t->span.end_time_unix_nano = t->span.start_time_unix_nano + 1000;
        t->ss = (lt_scope_spans){.spans = &t->span, .n_spans = 1};
        t->rs = (lt_resource_spans){.scopes = &t->ss, .n_scopes = 1};
        t->traces = (lt_trace_batch){.rs = &t->rs, .n_rs = 1, .n_spans = 1};
        t->job.traces = &t->traces;
    } else {
        id_of(t->rec.trace_id, 16, k - 1, 0x11);
        id_of(t->rec.span_id, 8, k - 1, 0x22);
        t->rec.time_unix_nano = 1700000000000000000ull + k;
        t->rec.body = (lt_value){.type = LT_VAL_STRING, .u.s = LT_STR("a record")};
        t->sl = (lt_scope_logs){.records = &t->rec, .n_records = 1};
        t->rl = (lt_resource_logs){.scopes = &t->sl, .n_scopes = 1};
        t->logs = (lt_log_batch){.rl = &t->rl, .n_rl = 1, .n_records = 1};
        t->job.logs = &t->logs;
    }
    t->job.cost = 100;
    t->job.done = on_done;
}

static char *make_dir(void)
{
    char *d = strdup("/tmp/lt-test-ingest-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_dir(char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

/* Queues N_JOBS while the writer is held by job 0; returns the store calls made. */
static uint64_t run_jobs(lt_store *st, test_job *jobs)
{
    ingest *q = NULL;
    ingest_config cfg = {0};
    assert_int_equal(ingest_start(&q, st, &cfg), 0);
    release_first = false;
    done_count = 0;
    for (unsigned k = 0; k < N_JOBS; k++) {
        make_job(&jobs[k], k);
        if (k == 0) first_job = &jobs[0];
        assert_int_equal(ingest_submit(q, &jobs[k].job), 0);
        if (k == 0) {
            /* wait until the writer is inside job 0's done() */
            pthread_mutex_lock(&mu);
            while (done_count == 0)
                pthread_cond_wait(&cv, &mu);
            pthread_mutex_unlock(&mu);
        }
    }
    pthread_mutex_lock(&mu);
    release_first = true;
    pthread_cond_broadcast(&cv);
    while (done_count < N_JOBS)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    uint64_t writes = ingest_writes(q);
    ingest_stop(q);
    return writes;
}

static void test_group_commit(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    lt_store *st = NULL;
    assert_int_equal(store_open(dir, &st, err, sizeof err), 0);
    test_job *jobs = calloc(N_JOBS, sizeof *jobs);
    assert_non_null(jobs);
    uint64_t writes = run_jobs(st, jobs);
    /* job 0 alone, then the others: spans and logs alternate, and a group holds one signal,
     * so here groups are single jobs (test_groups_are_batched covers batching) */
    for (unsigned k = 0; k < N_JOBS; k++) {
        assert_int_equal(jobs[k].calls, 1);
        assert_int_equal(jobs[k].result, 0);
    }
    assert_true(writes >= 2 && writes <= N_JOBS);
    /* every span and every record was stored, records on their spans */
    lt_arena *a = arena_new();
    for (unsigned k = 1; k + 1 < N_JOBS; k += 2) {
        uint8_t id[16];
        id_of(id, 16, k, 0x11);
        lt_trace_data d = {0};
        assert_int_equal(store_get_trace(st, id, a, &d), 0);
        assert_int_equal(d.spans.n_spans, 1);
        assert_int_equal(d.logs.n_records, 1);
        arena_reset(a);
    }
    arena_free(a);
    store_close(st);
    free(jobs);
    remove_dir(dir);
}

/* Spans only: the queued jobs behind job 0 are written in groups of at most 256 jobs. */
static void test_groups_are_batched(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    lt_store *st = NULL;
    assert_int_equal(store_open(dir, &st, err, sizeof err), 0);
    test_job *jobs = calloc(N_JOBS, sizeof *jobs);
    assert_non_null(jobs);
    ingest *q = NULL;
    ingest_config cfg = {0};
    assert_int_equal(ingest_start(&q, st, &cfg), 0);
    release_first = false;
    done_count = 0;
    for (unsigned k = 0; k < N_JOBS; k++) {
        make_job(&jobs[k], 2 * k + (k ? 1 : 0)); /* job 0, then odd numbers: spans only */
        if (k == 0) first_job = &jobs[0];
        assert_int_equal(ingest_submit(q, &jobs[k].job), 0);
        if (k == 0) {
            pthread_mutex_lock(&mu);
            while (done_count == 0)
                pthread_cond_wait(&cv, &mu);
            pthread_mutex_unlock(&mu);
        }
    }
    pthread_mutex_lock(&mu);
    release_first = true;
    pthread_cond_broadcast(&cv);
    while (done_count < N_JOBS)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    /* 1 (job 0) + ceil(199 / 256) = 2 */
    assert_int_equal(ingest_writes(q), 2);
    ingest_stop(q);
    lt_trace_list list = {0};
    lt_trace_query qry = {.limit = 1000};
    lt_arena *a = arena_new();
    assert_int_equal(store_list_traces(st, &qry, a, &list), 0);
    assert_int_equal(list.n, N_JOBS);
    arena_free(a);
    for (unsigned k = 0; k < N_JOBS; k++)
        assert_int_equal(jobs[k].result, 0);
    store_close(st);
    free(jobs);
    remove_dir(dir);
}

/* A store that refuses writes (another process's store: opened read-only) fails every job
 * of every group, each exactly once, with the store's error. */
static void test_failed_group(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    lt_store *owner = NULL, *st = NULL;
    assert_int_equal(store_open(dir, &owner, err, sizeof err), 0);
    assert_int_equal(store_open(dir, &st, err, sizeof err), 0); /* read-only: locked */
    test_job *jobs = calloc(N_JOBS, sizeof *jobs);
    assert_non_null(jobs);
    run_jobs(st, jobs);
    for (unsigned k = 0; k < N_JOBS; k++) {
        assert_int_equal(jobs[k].calls, 1);
        assert_int_equal(jobs[k].result, LT_EBUSY);
    }
    lt_trace_list list = {0};
    lt_trace_query qry = {.limit = 10};
    lt_arena *a = arena_new();
    assert_int_equal(store_list_traces(owner, &qry, a, &list), 0);
    assert_int_equal(list.n, 0);
    arena_free(a);
    store_close(st);
    store_close(owner);
    free(jobs);
    remove_dir(dir);
}

/* An engine that wants few, large writes: the first write starts at once; the next waits
 * (bounded) for batch_items spans, so jobs submitted one by one are written together;
 * max_items still splits groups; fewer than batch_items are written once the delay is over. */
static void test_linger(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256];
    lt_store *st = NULL;
    assert_int_equal(store_open(dir, &st, err, sizeof err), 0);
    enum { N = 12 };
    test_job *jobs = calloc(N + 2, sizeof *jobs);
    assert_non_null(jobs);
    ingest *q = NULL;
    /* a delay far longer than submitting takes: the group forms from the count alone */
    ingest_config cfg = {.batch_items = N / 2, .linger_ns = 60000000000ull, .max_items = N / 2};
    assert_int_equal(ingest_start(&q, st, &cfg), 0);
    release_first = true;
    first_job = NULL;
    done_count = 0;
    make_job(&jobs[N], 2001);
    assert_int_equal(ingest_submit(q, &jobs[N].job), 0);
    pthread_mutex_lock(&mu);
    while (done_count < 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    assert_int_equal(ingest_writes(q), 1); /* no delay before the first write */
    for (unsigned k = 0; k < N; k++) {
        make_job(&jobs[k], 2 * k + 1); /* one span each */
        assert_int_equal(ingest_submit(q, &jobs[k].job), 0);
    }
    pthread_mutex_lock(&mu);
    while (done_count < N + 1)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    /* written batch_items (= max_items) at a time: 1 + N / (N / 2) = 3 writes */
    assert_int_equal(ingest_writes(q), 3);
    ingest_stop(q);
    /* fewer than batch_items after a write: written once the (short) delay is over */
    cfg.linger_ns = 1000000ull;
    cfg.batch_items = 1000;
    assert_int_equal(ingest_start(&q, st, &cfg), 0);
    done_count = 0;
    for (unsigned k = 0; k < 2; k++) {
        make_job(k ? &jobs[N + 1] : &jobs[N], 3001 + 2 * k);
        assert_int_equal(ingest_submit(q, k ? &jobs[N + 1].job : &jobs[N].job), 0);
    }
    pthread_mutex_lock(&mu);
    while (done_count < 2)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    assert_int_equal(jobs[N].result, 0);
    assert_int_equal(jobs[N + 1].result, 0);
    ingest_stop(q);
    for (unsigned k = 0; k < N; k++)
        assert_int_equal(jobs[k].result, 0);
    store_close(st);
    free(jobs);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_groups_are_batched),
        cmocka_unit_test(test_failed_group),
        cmocka_unit_test(test_linger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
