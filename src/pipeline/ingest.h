/* ingest.h — the bounded queue between the receivers and the store.
 *
 * Receivers decode a request into its own arena and submit it as a job; one writer thread
 * takes jobs in arrival order and writes the jobs queued together (of one signal) as one
 * atomic store write — group commit: a job is never split, and all of a group succeed or
 * fail together — then calls each job's done() with the result, on the writer thread. The receiver
 * replies from done() (marshalling to its own thread as it needs), so a sender is acknowledged only
 * after its data is committed. The queue is bounded in bytes: when it is full, submit
 * refuses at once (LT_EBUSY) and the receiver answers "retry later" instead of growing
 * memory. The writer thread also enforces retention between jobs. */
#ifndef LT_PIPELINE_INGEST_H
#define LT_PIPELINE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "store/store.h"

typedef struct ingest ingest;

typedef struct ingest_job ingest_job;
struct ingest_job {
    const lt_trace_batch *traces; /* exactly one of traces / logs is set */
    const lt_log_batch *logs;
    size_t cost; /* bytes this job holds (request + arena), for the bound */
    /* Called once on the writer thread with 0 or the store's error; the job and whatever it
     * points to must stay valid until then. */
    void (*done)(ingest_job *job, int result);
    ingest_job *next; /* private to the queue */
};

typedef struct {
    size_t max_bytes; /* bound on the cost of queued jobs; 0 = 64 MiB */
    /* Batching for engines that want few, large writes (lt_store_ops.batch_items): a write
     * starts at least linger_ns after the previous one began, unless batch_items spans
     * (records) are queued; a group holds at most max_items (0 = 16384) unless one job has
     * more. The first write, and one after a quiet spell, start at once. */
    uint64_t batch_items, linger_ns, max_items;
    lt_retention retention;
    uint64_t retention_interval_ns; /* 0 = 60 s */
} ingest_config;

/* Starts the writer thread over store (not owned). Returns 0 or LT_ENOMEM/LT_EIO. */
int ingest_start(ingest **out, lt_store *store, const ingest_config *cfg);
/* Queues job; any thread. LT_EBUSY when the bound would be exceeded or the queue is
 * stopping (done() is then not called). */
int ingest_submit(ingest *q, ingest_job *job);
/* Jobs queued or being written right now. */
size_t ingest_pending(ingest *q);
/* Store calls made so far (one per group of jobs written together); a group is counted
 * before its jobs' done() are called. Any thread. */
uint64_t ingest_writes(ingest *q);
/* Refuses new jobs, writes every queued one (calling their done()), stops the thread and
 * frees the queue. NULL-tolerant. */
void ingest_stop(ingest *q);

#endif
