/* sqlite_ckpt.c — WAL checkpoints off the writer's path.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the
 * writer: at LT_SQLITE_CHECKPOINT_PAGES that commit took ~100 ms, and every sender whose
 * data was in it (or queued behind it) waited that long for its acknowledgement. Instead
 * the writer's WAL hook only wakes a thread of the store's own, which checkpoints through a
 * connection of its own in PASSIVE mode: it copies what it can without taking a lock a
 * writer or reader needs, so commits go on meanwhile. When the checkpoint has caught up,
 * the next write transaction starts the WAL over (and journal_size_limit trims it).
 * Under a write load the thread cannot catch up with, the WAL would grow without end:
 * past CKPT_INLINE_FACTOR times the threshold the writer checkpoints itself, as SQLite
 * would have, so the WAL stays bounded and only a saturated writer pays the stall. */
#include <pthread.h>
#include <stdbool.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "store/sqlite_int.h"

enum { CKPT_INLINE_FACTOR = 4 };

struct sq_ckpt {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wanted, stop;
};

static void *ckpt_main(void *arg)
{
    sq_ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) break;
        c->wanted = false;
        pthread_mutex_unlock(&c->mu);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: checkpoint failed: %s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The writer connection's WAL hook, after each commit: pages is the WAL's size. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    sq_ckpt *c = arg;
    if (pages >= LT_SQLITE_CHECKPOINT_PAGES * CKPT_INLINE_FACTOR) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= LT_SQLITE_CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->mu);
        c->wanted = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

int sq_ckpt_start(sq_store *s)
{
    sq_ckpt *c = lt_calloc(1, sizeof *c);
    if (!c) return LT_ENOMEM;
    int rc = sq_open_conn(s->dbpath, false, false, 256, &c->db);
    if (rc) {
        lt_free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, ckpt_main, c)) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        sqlite3_close(c->db);
        lt_free(c);
        return LT_EIO;
    }
    s->ckpt = c;
    sqlite3_wal_hook(s->wdb, wal_hook, c); /* replaces the automatic checkpoint */
    return 0;
}

void sq_ckpt_stop(sq_store *s)
{
    sq_ckpt *c = s->ckpt;
    if (!c) return;
    sqlite3_wal_hook(s->wdb, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    lt_free(c);
    s->ckpt = NULL;
}
