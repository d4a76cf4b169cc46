/* sqlite.c — the embedded SQLite engine behind store.h.
 *
 * Ingest speed comes from appending. Span and log rows go into rowid (arrival) order, so
 * an insert touches only the right edge of one B-tree; nothing is indexed per span by a
 * random key (a random 16-byte index entry per span cuts SQLite from ~215k to ~50k rows/s).
 * Instead each write call sorts its spans by trace, so every trace's spans of that call are
 * one contiguous rowid range, and one chunk row per (trace, call, signal) points at the
 * range: the only random index is on chunks. A span row keeps a few typed columns for
 * queries plus the span's canonical protobuf encoding, which is the lossless copy;
 * resources and scopes are stored once per distinct content (hash -> id, cached in memory
 * so a repeated one costs no SQL). The trace summary (one row per trace, upserted once per
 * trace per call, indexed on start) answers listings without reading spans; operations
 * (service, span name, kind) are remembered in memory so known ones cost nothing.
 *
 * Each write call is one transaction and one row of batches holding its rowid ranges.
 * Because every table is appended in batch order, retention deletes a prefix of batches
 * as a rowid prefix of each table, drops the summaries of traces left without spans, and
 * shrinks the file with incremental vacuum and a checkpoint.
 *
 * Threads: one writer connection behind a mutex (writes and retention); reads borrow a
 * connection from a small pool and run in their own snapshot (WAL), concurrently with
 * writes. Connections are opened without SQLite's own mutexes: ours guard them. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/store.h"

/* NORMAL in WAL mode: a commit survives the process being killed (kill -9); only a power
 * loss or OS crash may lose the last commits before a checkpoint. FULL fsyncs per commit. */
#ifndef LT_SQLITE_SYNCHRONOUS
#define LT_SQLITE_SYNCHRONOUS "NORMAL"
#endif
#ifndef LT_SQLITE_PAGE_SIZE
#define LT_SQLITE_PAGE_SIZE 8192
#endif
#ifndef LT_SQLITE_WRITER_CACHE_KIB
#define LT_SQLITE_WRITER_CACHE_KIB 32768
#endif
#ifndef LT_SQLITE_READER_CACHE_KIB
#define LT_SQLITE_READER_CACHE_KIB 4096
#endif
/* WAL pages between automatic checkpoints (SQLite's default is 1000). */
#ifndef LT_SQLITE_CHECKPOINT_PAGES
#define LT_SQLITE_CHECKPOINT_PAGES 4000
#endif

enum {
    SCHEMA_VERSION = 1,
    MAX_READERS = 4,
    MAX_SERVICES = 64,           /* distinct services kept per trace summary */
    CACHE_MAX = 1 << 16,         /* entries per in-memory cache before it is cleared */
    ATTR_SCAN_SPANS = 100000,    /* spans an attribute filter may decode per call */
    RETENTION_STEP = 256,        /* batches deleted per transaction */
    VACUUM_STEP = 4096,          /* pages released per incremental_vacuum transaction */
    SIG_SPANS = 0,
    SIG_LOGS = 1,
};

static const char *const schema_sql =
    "CREATE TABLE resources(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL,"
    " service TEXT NOT NULL, schema_url TEXT NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX resources_hash ON resources(hash);"
    "CREATE TABLE scopes(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL,"
    " schema_url TEXT NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX scopes_hash ON scopes(hash);"
    "CREATE TABLE spans(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, span_id BLOB NOT NULL,"
    " parent_id BLOB, name TEXT NOT NULL, kind INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
    " end_ns INTEGER NOT NULL, status INTEGER NOT NULL, resource_id INTEGER NOT NULL,"
    " scope_id INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE logs(id INTEGER PRIMARY KEY, trace_id BLOB, span_id BLOB,"
    " time_ns INTEGER NOT NULL, severity INTEGER NOT NULL, resource_id INTEGER NOT NULL,"
    " scope_id INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE chunks(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL,"
    " signal INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL);"
    "CREATE INDEX chunks_trace ON chunks(trace_id, signal);"
    "CREATE TABLE traces(trace_id BLOB PRIMARY KEY, start_ns INTEGER NOT NULL,"
    " end_ns INTEGER NOT NULL, root_name TEXT, root_service TEXT,"
    " span_count INTEGER NOT NULL, error_count INTEGER NOT NULL, services BLOB NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE INDEX traces_start ON traces(start_ns);"
    "CREATE TABLE operations(service TEXT NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,"
    " PRIMARY KEY(service, name, kind)) WITHOUT ROWID;"
    "CREATE TABLE batches(id INTEGER PRIMARY KEY, received_ns INTEGER NOT NULL,"
    " signal INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,"
    " chunk_first INTEGER NOT NULL, chunk_last INTEGER NOT NULL);";

/* Writer statements. */
enum {
    W_BEGIN, W_COMMIT, W_ROLLBACK,
    W_RES_FIND, W_RES_ADD, W_SCOPE_FIND, W_SCOPE_ADD,
    W_SPAN_ADD, W_LOG_ADD, W_CHUNK_ADD, W_TRACE_UPSERT, W_OP_ADD, W_BATCH_ADD,
    W_OLDEST, W_DEL_TRACES, W_DEL_CHUNKS, W_DEL_SPANS, W_DEL_LOGS, W_DEL_BATCHES,
    W_COUNT
};
static const char *const wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_RES_FIND] = "SELECT id, schema_url, body FROM resources WHERE hash = ?1",
    [W_RES_ADD] = "INSERT INTO resources(hash, service, schema_url, body) VALUES(?1,?2,?3,?4)",
    [W_SCOPE_FIND] = "SELECT id, schema_url, body FROM scopes WHERE hash = ?1",
    [W_SCOPE_ADD] = "INSERT INTO scopes(hash, schema_url, body) VALUES(?1,?2,?3)",
    [W_SPAN_ADD] = "INSERT INTO spans(trace_id, span_id, parent_id, name, kind, start_ns, end_ns,"
                   " status, resource_id, scope_id, body) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [W_LOG_ADD] = "INSERT INTO logs(trace_id, span_id, time_ns, severity, resource_id, scope_id,"
                  " body) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [W_CHUNK_ADD] = "INSERT INTO chunks(trace_id, signal, first_id, last_id) VALUES(?1,?2,?3,?4)",
    [W_TRACE_UPSERT] =
        "INSERT INTO traces(trace_id, start_ns, end_ns, root_name, root_service, span_count,"
        " error_count, services) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
        " ON CONFLICT(trace_id) DO UPDATE SET"
        " start_ns = min(start_ns, excluded.start_ns),"
        " end_ns = max(end_ns, excluded.end_ns),"
        " root_name = coalesce(root_name, excluded.root_name),"
        " root_service = CASE WHEN root_name IS NULL THEN excluded.root_service"
        "  ELSE root_service END,"
        " span_count = span_count + excluded.span_count,"
        " error_count = error_count + excluded.error_count,"
        " services = lt_services_merge(services, excluded.services)",
    [W_OP_ADD] = "INSERT OR IGNORE INTO operations(service, name, kind) VALUES(?1,?2,?3)",
    [W_BATCH_ADD] = "INSERT INTO batches(received_ns, signal, first_id, last_id, chunk_first,"
                    " chunk_last) VALUES(?1,?2,?3,?4,?5,?6)",
    [W_OLDEST] = "SELECT id, received_ns, signal, last_id, chunk_last FROM batches"
                 " ORDER BY id LIMIT ?1",
    [W_DEL_TRACES] = "DELETE FROM traces WHERE trace_id IN"
                     " (SELECT trace_id FROM chunks WHERE id <= ?1 AND signal = 0)"
                     " AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.trace_id = traces.trace_id"
                     " AND c.signal = 0 AND c.id > ?1)",
    [W_DEL_CHUNKS] = "DELETE FROM chunks WHERE id <= ?1",
    [W_DEL_SPANS] = "DELETE FROM spans WHERE id <= ?1",
    [W_DEL_LOGS] = "DELETE FROM logs WHERE id <= ?1",
    [W_DEL_BATCHES] = "DELETE FROM batches WHERE id <= ?1",
};

/* Reader statements. */
enum {
    R_BEGIN, R_END, R_CHUNKS, R_SPANS, R_LOGS, R_RES, R_SCOPE, R_LIST,
    R_SERVICES, R_OPS, R_OPS_ALL, R_PAGES, R_FREE,
    R_COUNT
};
static const char *const rsql[R_COUNT] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "COMMIT",
    [R_CHUNKS] = "SELECT first_id, last_id FROM chunks WHERE trace_id = ?1 AND signal = ?2"
                 " ORDER BY id",
    [R_SPANS] = "SELECT resource_id, scope_id, body FROM spans"
                " WHERE id BETWEEN ?1 AND ?2 AND trace_id = ?3 ORDER BY id",
    [R_LOGS] = "SELECT resource_id, scope_id, body FROM logs"
               " WHERE id BETWEEN ?1 AND ?2 AND trace_id = ?3 ORDER BY id",
    [R_RES] = "SELECT schema_url, body FROM resources WHERE id = ?1",
    [R_SCOPE] = "SELECT schema_url, body FROM scopes WHERE id = ?1",
    /* ?2 is min(start_max, cursor start); ?9 the cursor start, ?3 its trace id */
    [R_LIST] = "SELECT trace_id, start_ns, end_ns, root_name, root_service, span_count,"
               " error_count, services FROM traces"
               " WHERE start_ns >= ?1 AND start_ns <= ?2"
               " AND (?3 IS NULL OR start_ns < ?9 OR trace_id < ?3)"
               " AND (?4 IS NULL OR root_name = ?4)"
               " AND (?5 = 0 OR error_count > 0)"
               " AND (?6 = 0 OR end_ns - start_ns >= ?6)"
               " AND (?7 = 0 OR end_ns - start_ns <= ?7)"
               " AND (?8 IS NULL OR lt_services_has(services, ?8))"
               " ORDER BY start_ns DESC, trace_id DESC",
    [R_SERVICES] = "SELECT DISTINCT service FROM operations ORDER BY service",
    [R_OPS] = "SELECT name, kind FROM operations WHERE service = ?1 ORDER BY name, kind",
    [R_OPS_ALL] = "SELECT DISTINCT name, kind FROM operations ORDER BY name, kind",
    [R_PAGES] = "PRAGMA page_count",
    [R_FREE] = "PRAGMA freelist_count",
};

/* An open-addressing map from content hash to row id; keys are owned copies, compared in
 * full, so a hash collision never merges two contents. */
typedef struct {
    uint64_t hash; /* 0 = empty slot */
    int64_t id;
    uint8_t *key;
    size_t klen;
} cache_ent;

typedef struct {
    cache_ent *e;
    size_t cap, n;
} idcache;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st[R_COUNT];
    bool busy;
} reader;

/* A span or log record of the call being written, with where it came from. */
typedef struct {
    const void *item;            /* lt_span or lt_log_record */
    const uint8_t *trace_id;
    lt_str service;
    int64_t res_id, scope_id;
    uint32_t seq;
} item_ref;

typedef struct {
    lt_store base;
    char *dbpath;
    pthread_mutex_t wlock;
    sqlite3 *wdb;
    sqlite3_stmt *ws[W_COUNT];
    idcache res_cache, scope_cache, op_cache;
    lt_buf enc, key, svc;
    item_ref *refs;
    size_t refs_cap;
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    reader readers[MAX_READERS];
    int n_readers;
} sq_store;

/* ---- errors ---------------------------------------------------------------------------- */

/* Maps a SQLite result to our codes without logging. */
static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return 0;
    case SQLITE_FULL: return LT_EFULL;
    case SQLITE_NOMEM: return LT_ENOMEM;
    default: return LT_EIO;
    }
}

/* Maps a SQLite result to our codes; logs what failed unless the disk is merely full. */
static int sqerr(sqlite3 *db, int rc, const char *what)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        log_warn("store: %s: disk or database full", what);
        return LT_EFULL;
    case SQLITE_NOMEM:
        return LT_ENOMEM;
    default:
        log_error("store: %s: %s (sqlite %d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                  rc);
        return LT_EIO;
    }
}

/* Steps a statement that returns no rows and resets it. */
static int exec_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqerr(db, rc, what);
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if ((rc & 0xff) != SQLITE_FULL)
            log_error("store: '%.60s': %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return map_rc(rc);
    }
    return 0;
}

/* ---- the services list of a trace summary ----------------------------------------------
 * A blob of (varint length, bytes) entries, sorted and distinct, at most MAX_SERVICES.
 * Service names may hold any byte, so no separator character would do. */

static size_t put_len(uint8_t *p, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads the next entry at *p; false at the end or on a malformed blob. */
static bool next_service(const uint8_t **p, const uint8_t *end, lt_str *out)
{
    uint64_t v = 0;
    int shift = 0;
    while (*p < end && shift < 64) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            if (v > (uint64_t)(end - *p)) return false;
            out->ptr = (const char *)*p;
            out->len = (size_t)v;
            *p += v;
            return true;
        }
        shift += 7;
    }
    return false;
}

static int str_cmp(lt_str a, lt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static int str_cmp_q(const void *a, const void *b)
{
    return str_cmp(*(const lt_str *)a, *(const lt_str *)b);
}

/* Appends the encoding of n sorted distinct names to out. */
static int services_encode(lt_buf *out, const lt_str *names, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < MAX_SERVICES; i++) {
        uint8_t len[10];
        buf_append(out, len, put_len(len, names[i].len));
        buf_append_str(out, names[i]);
    }
    return out->oom ? LT_ENOMEM : 0;
}

/* SQL lt_services_merge(a, b): the union of two lists. */
static void fn_services_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const uint8_t *pa = sqlite3_value_blob(argv[0]), *pb = sqlite3_value_blob(argv[1]);
    const uint8_t *ea = pa + sqlite3_value_bytes(argv[0]);
    const uint8_t *eb = pb + sqlite3_value_bytes(argv[1]);
    uint8_t *out = sqlite3_malloc(sqlite3_value_bytes(argv[0]) + sqlite3_value_bytes(argv[1]) + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    int count = 0;
    lt_str a = LT_STR_NULL, b = LT_STR_NULL;
    bool ha = pa && next_service(&pa, ea, &a), hb = pb && next_service(&pb, eb, &b);
    while ((ha || hb) && count < MAX_SERVICES) {
        lt_str take;
        int c = !ha ? 1 : !hb ? -1 : str_cmp(a, b);
        if (c <= 0) take = a;
        else take = b;
        n += put_len(out + n, take.len);
        if (take.len) memcpy(out + n, take.ptr, take.len);
        n += take.len;
        count++;
        if (c <= 0) ha = next_service(&pa, ea, &a);
        if (c >= 0) hb = next_service(&pb, eb, &b);
    }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

/* SQL lt_services_has(list, name). */
static void fn_services_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const uint8_t *p = sqlite3_value_blob(argv[0]);
    const uint8_t *end = p + sqlite3_value_bytes(argv[0]);
    lt_str want = {(const char *)sqlite3_value_text(argv[1]), (size_t)sqlite3_value_bytes(argv[1])};
    lt_str s;
    int found = 0;
    while (p && !found && next_service(&p, end, &s)) found = lt_str_eq(s, want);
    sqlite3_result_int(ctx, found);
}

/* ---- in-memory caches -------------------------------------------------------------------- */

static void cache_clear(idcache *c)
{
    for (size_t i = 0; i < c->cap; i++) lt_free(c->e[i].key);
    lt_free(c->e);
    *c = (idcache){0};
}

static uint64_t cache_hash(const void *key, size_t klen)
{
    uint64_t h = hash64(key, klen, 0x6c74);
    return h ? h : 1;
}

/* Returns the entry with this key, or NULL. */
static cache_ent *cache_find(idcache *c, uint64_t h, const void *key, size_t klen)
{
    if (!c->cap) return NULL;
    for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        cache_ent *e = &c->e[i];
        if (!e->hash) return NULL;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
    }
}

static void cache_place(idcache *c, cache_ent ent)
{
    size_t i = ent.hash & (c->cap - 1);
    while (c->e[i].hash) i = (i + 1) & (c->cap - 1);
    c->e[i] = ent;
    c->n++;
}

/* Remembers key -> id. A failure only costs a later lookup, so it is not reported. */
static void cache_put(idcache *c, uint64_t h, const void *key, size_t klen, int64_t id)
{
    if (c->n >= CACHE_MAX) cache_clear(c);
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cache_ent *old = c->e;
        size_t old_cap = c->cap;
        cache_ent *e = lt_calloc(cap, sizeof *e);
        if (!e) return;
        c->e = e;
        c->cap = cap;
        c->n = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].hash) cache_place(c, old[i]);
        lt_free(old);
    }
    uint8_t *k = lt_malloc(klen ? klen : 1);
    if (!k) return;
    if (klen) memcpy(k, key, klen);
    cache_place(c, (cache_ent){.hash = h, .id = id, .key = k, .klen = klen});
}

/* ---- opening ------------------------------------------------------------------------- */

static int mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return -1;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        char c = path[i];
        path[i] = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        path[i] = c;
    }
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int open_conn(const char *path, bool create, int cache_kib, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sqerr(db, rc, "open");
        sqlite3_close(db);
        return rc ? rc : LT_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_extended_result_codes(db, 0);
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d; PRAGMA temp_store=MEMORY;", cache_kib);
    if ((rc = exec_sql(db, sql))) goto fail;
    rc = sqlite3_create_function_v2(db, "lt_services_merge", 2,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                    fn_services_merge, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "lt_services_has", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                        fn_services_has, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sqerr(db, rc, "create_function");
        goto fail;
    }
    *out = db;
    return 0;
fail:
    sqlite3_close(db);
    return rc;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sqerr(db, rc, sql);
}

/* Sets up the writer connection: a new file gets its page size, incremental auto-vacuum
 * and the schema; an existing one is checked for its version. */
static int init_writer(sq_store *s, char *errbuf, size_t errlen)
{
    int64_t version = 0;
    int rc = 0;
    char sql[256];
    if ((rc = query_int(s->wdb, "PRAGMA user_version", &version))) goto out;
    if (version > SCHEMA_VERSION) {
        snprintf(errbuf, errlen, "%s was written by a newer llmtrace (schema %" PRId64 ")",
                 s->dbpath, version);
        rc = LT_EUNSUPPORTED;
        goto out;
    }
    if (version == 0) {
        snprintf(sql, sizeof sql, "PRAGMA page_size=%d; PRAGMA auto_vacuum=INCREMENTAL;",
                 LT_SQLITE_PAGE_SIZE);
        if ((rc = exec_sql(s->wdb, sql))) goto out;
    }
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA wal_autocheckpoint=%d;"
             " PRAGMA journal_size_limit=%d;",
             LT_SQLITE_SYNCHRONOUS, LT_SQLITE_CHECKPOINT_PAGES, 64 << 20);
    if ((rc = exec_sql(s->wdb, sql))) goto out;
    if (version == 0) {
        if ((rc = exec_sql(s->wdb, "BEGIN IMMEDIATE"))) goto out;
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", SCHEMA_VERSION);
        if ((rc = exec_sql(s->wdb, schema_sql)) || (rc = exec_sql(s->wdb, sql)) ||
            (rc = exec_sql(s->wdb, "COMMIT"))) {
            exec_sql(s->wdb, "ROLLBACK");
            goto out;
        }
    }
    for (int i = 0; i < W_COUNT; i++) {
        int prc = sqlite3_prepare_v3(s->wdb, wsql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i],
                                     NULL);
        if (prc != SQLITE_OK) {
            rc = sqerr(s->wdb, prc, "prepare");
            goto out;
        }
    }
out:
    if (rc && errbuf && errlen && !errbuf[0])
        snprintf(errbuf, errlen, "cannot initialise %s: %s", s->dbpath,
                 sqlite3_errmsg(s->wdb));
    return rc;
}

static void sq_close(lt_store *st);
static const lt_store_ops sqlite_ops;

/* Opens (creating when missing) the SQLite store in directory dir. Returns 0 and *out, or
 * an error code with a one-line reason in errbuf. Any thread; the store is thread-safe. */
int store_sqlite_open(const char *dir, lt_store **out, char *errbuf, size_t errlen)
{
    char dummy[1];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    errbuf[0] = 0;
    int rc = 0;
    sq_store *s = lt_calloc(1, sizeof *s);
    if (!s) return LT_ENOMEM;
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rcond, NULL);
    if (mkdirs(dir) != 0) {
        snprintf(errbuf, errlen, "cannot create directory %s: %s", dir, strerror(errno));
        rc = LT_EIO;
        goto out;
    }
    size_t n = strlen(dir) + sizeof "/llmtrace.db";
    if (!(s->dbpath = lt_malloc(n))) {
        rc = LT_ENOMEM;
        goto out;
    }
    snprintf(s->dbpath, n, "%s/llmtrace.db", dir);
    if ((rc = open_conn(s->dbpath, true, LT_SQLITE_WRITER_CACHE_KIB, &s->wdb))) {
        snprintf(errbuf, errlen, "cannot open %s", s->dbpath);
        goto out;
    }
    rc = init_writer(s, errbuf, errlen);
out:
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static void sq_close(lt_store *st)
{
    sq_store *s = (sq_store *)st;
    if (!s) return;
    for (int i = 0; i < s->n_readers; i++) {
        for (int j = 0; j < R_COUNT; j++) sqlite3_finalize(s->readers[i].st[j]);
        sqlite3_close(s->readers[i].db);
    }
    for (int i = 0; i < W_COUNT; i++) sqlite3_finalize(s->ws[i]);
    if (s->wdb) {
        exec_sql(s->wdb, "PRAGMA optimize");
        sqlite3_close(s->wdb);
    }
    cache_clear(&s->res_cache);
    cache_clear(&s->scope_cache);
    cache_clear(&s->op_cache);
    buf_free(&s->enc);
    buf_free(&s->key);
    buf_free(&s->svc);
    lt_free(s->refs);
    lt_free(s->dbpath);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rcond);
    lt_free(s);
}

/* ---- writing ------------------------------------------------------------------------- */

static inline void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    /* nanosecond times fit int64 until 2262; larger values are kept exactly in the blob */
    sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static inline void bind_str(sqlite3_stmt *st, int i, lt_str v)
{
    sqlite3_bind_text(st, i, v.ptr ? v.ptr : "", (int)v.len, SQLITE_STATIC);
}

/* Finds or adds the resource (kind 0) or scope (kind 1) whose encoding is s->key[0..blen)
 * followed by its schema URL; the key also ends with the URL length, so it is unambiguous. */
static int intern(sq_store *s, bool scope, size_t blen, lt_str schema_url, lt_str service,
                  int64_t *id)
{
    idcache *c = scope ? &s->scope_cache : &s->res_cache;
    buf_append_str(&s->key, schema_url);
    uint32_t ul = (uint32_t)schema_url.len;
    buf_append(&s->key, &ul, sizeof ul);
    if (s->key.oom) return LT_ENOMEM;
    uint64_t h = cache_hash(s->key.data, s->key.len);
    cache_ent *e = cache_find(c, h, s->key.data, s->key.len);
    if (e) {
        *id = e->id;
        return 0;
    }
    sqlite3_stmt *find = s->ws[scope ? W_SCOPE_FIND : W_RES_FIND];
    sqlite3_bind_int64(find, 1, (int64_t)h);
    int rc, src;
    *id = 0;
    while ((src = sqlite3_step(find)) == SQLITE_ROW) {
        lt_str url = {(const char *)sqlite3_column_text(find, 1),
                      (size_t)sqlite3_column_bytes(find, 1)};
        const void *body = sqlite3_column_blob(find, 2);
        size_t bl = (size_t)sqlite3_column_bytes(find, 2);
        if (lt_str_eq(url, schema_url) && bl == blen && (!bl || memcmp(body, s->key.data, bl) == 0)) {
            *id = sqlite3_column_int64(find, 0);
            break;
        }
    }
    sqlite3_reset(find);
    if (src != SQLITE_ROW && src != SQLITE_DONE) return sqerr(s->wdb, src, "find resource");
    if (!*id) {
        sqlite3_stmt *add = s->ws[scope ? W_SCOPE_ADD : W_RES_ADD];
        int k = 1;
        sqlite3_bind_int64(add, k++, (int64_t)h);
        if (!scope) bind_str(add, k++, service);
        bind_str(add, k++, schema_url);
        sqlite3_bind_blob(add, k++, blen ? s->key.data : "", (int)blen, SQLITE_STATIC);
        if ((rc = exec_stmt(s->wdb, add, "add resource"))) return rc;
        *id = sqlite3_last_insert_rowid(s->wdb);
    }
    cache_put(c, h, s->key.data, s->key.len, *id);
    return 0;
}

static int intern_resource(sq_store *s, const lt_resource *r, lt_str schema_url, lt_str service,
                           int64_t *id)
{
    buf_reset(&s->key);
    if (pb_encode_resource(&s->key, r)) return LT_ENOMEM;
    return intern(s, false, s->key.len, schema_url, service, id);
}

static int intern_scope(sq_store *s, const lt_scope *sc, lt_str schema_url, int64_t *id)
{
    buf_reset(&s->key);
    if (pb_encode_scope(&s->key, sc)) return LT_ENOMEM;
    return intern(s, true, s->key.len, schema_url, LT_STR_NULL, id);
}

/* Records (service, span name, kind) unless already known. */
static int note_operation(sq_store *s, lt_str service, lt_str name, uint32_t kind)
{
    buf_reset(&s->key);
    uint32_t hdr[2] = {kind, (uint32_t)service.len};
    buf_append(&s->key, hdr, sizeof hdr);
    buf_append_str(&s->key, service);
    buf_append_str(&s->key, name);
    if (s->key.oom) return LT_ENOMEM;
    uint64_t h = cache_hash(s->key.data, s->key.len);
    if (cache_find(&s->op_cache, h, s->key.data, s->key.len)) return 0;
    sqlite3_stmt *st = s->ws[W_OP_ADD];
    bind_str(st, 1, service);
    bind_str(st, 2, name);
    sqlite3_bind_int64(st, 3, kind);
    int rc = exec_stmt(s->wdb, st, "add operation");
    if (!rc) cache_put(&s->op_cache, h, s->key.data, s->key.len, 1);
    return rc;
}

static int reserve_refs(sq_store *s, size_t n)
{
    if (n <= s->refs_cap) return 0;
    size_t cap = s->refs_cap ? s->refs_cap : 256;
    while (cap < n) cap *= 2;
    item_ref *r = lt_realloc(s->refs, cap * sizeof *r);
    if (!r) return LT_ENOMEM;
    s->refs = r;
    s->refs_cap = cap;
    return 0;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const item_ref *a = pa, *b = pb;
    int c = memcmp(a->trace_id, b->trace_id, 16);
    if (c) return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int add_chunk(sq_store *s, const uint8_t *tid, int signal, int64_t first, int64_t last,
                     int64_t *chunk_first, int64_t *chunk_last)
{
    sqlite3_stmt *st = s->ws[W_CHUNK_ADD];
    sqlite3_bind_blob(st, 1, tid, 16, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, signal);
    sqlite3_bind_int64(st, 3, first);
    sqlite3_bind_int64(st, 4, last);
    int rc = exec_stmt(s->wdb, st, "add chunk");
    if (rc) return rc;
    int64_t id = sqlite3_last_insert_rowid(s->wdb);
    if (!*chunk_first) *chunk_first = id;
    *chunk_last = id;
    return 0;
}

static int add_batch(sq_store *s, int signal, int64_t first, int64_t last, int64_t chunk_first,
                     int64_t chunk_last)
{
    sqlite3_stmt *st = s->ws[W_BATCH_ADD];
    bind_u64(st, 1, time_now_ns());
    sqlite3_bind_int(st, 2, signal);
    sqlite3_bind_int64(st, 3, first);
    sqlite3_bind_int64(st, 4, last);
    sqlite3_bind_int64(st, 5, chunk_first);
    sqlite3_bind_int64(st, 6, chunk_last);
    return exec_stmt(s->wdb, st, "add batch");
}

/* What one call contributes to one trace's summary. */
typedef struct {
    const uint8_t *tid;
    int64_t first, last;
    uint64_t start, end;
    uint32_t count, errors;
    const lt_span *root;
    lt_str root_service;
    lt_str svc[MAX_SERVICES];
    uint32_t n_svc;
} trace_agg;

static int flush_trace(sq_store *s, trace_agg *t, int64_t *chunk_first, int64_t *chunk_last)
{
    int rc = add_chunk(s, t->tid, SIG_SPANS, t->first, t->last, chunk_first, chunk_last);
    if (rc) return rc;
    qsort(t->svc, t->n_svc, sizeof t->svc[0], str_cmp_q);
    buf_reset(&s->svc);
    if ((rc = services_encode(&s->svc, t->svc, t->n_svc))) return rc;
    sqlite3_stmt *st = s->ws[W_TRACE_UPSERT];
    sqlite3_bind_blob(st, 1, t->tid, 16, SQLITE_STATIC);
    bind_u64(st, 2, t->start);
    bind_u64(st, 3, t->end);
    if (t->root) {
        bind_str(st, 4, t->root->name);
        bind_str(st, 5, t->root_service);
    } else {
        sqlite3_bind_null(st, 4);
        sqlite3_bind_null(st, 5);
    }
    sqlite3_bind_int64(st, 6, t->count);
    sqlite3_bind_int64(st, 7, t->errors);
    sqlite3_bind_blob(st, 8, s->svc.data ? s->svc.data : "", (int)s->svc.len, SQLITE_STATIC);
    return exec_stmt(s->wdb, st, "upsert trace");
}

static void agg_add(trace_agg *t, const item_ref *r, int64_t rowid)
{
    const lt_span *sp = r->item;
    if (!t->count) {
        t->tid = r->trace_id;
        t->first = rowid;
        t->start = sp->start_time_unix_nano;
        t->end = sp->end_time_unix_nano;
    }
    t->last = rowid;
    t->count++;
    if (sp->start_time_unix_nano < t->start) t->start = sp->start_time_unix_nano;
    if (sp->end_time_unix_nano > t->end) t->end = sp->end_time_unix_nano;
    if (sp->status_code == LT_STATUS_ERROR) t->errors++;
    if (!sp->has_parent && !t->root) {
        t->root = sp;
        t->root_service = r->service;
    }
    for (uint32_t i = 0; i < t->n_svc; i++)
        if (lt_str_eq(t->svc[i], r->service)) return;
    if (t->n_svc < MAX_SERVICES) t->svc[t->n_svc++] = r->service;
}

/* Ends the write transaction: commits when rc is 0, rolls back otherwise (and forgets the
 * cache entries of rows the rollback removed). Returns the final result. */
static int end_write(sq_store *s, int rc)
{
    if (!rc) rc = exec_stmt(s->wdb, s->ws[W_COMMIT], "commit");
    if (rc) {
        if (!sqlite3_get_autocommit(s->wdb)) exec_stmt(s->wdb, s->ws[W_ROLLBACK], "rollback");
        cache_clear(&s->res_cache);
        cache_clear(&s->scope_cache);
        cache_clear(&s->op_cache);
    }
    return rc;
}

static int sq_write_traces(lt_store *st, const lt_trace_batch *b)
{
    sq_store *s = (sq_store *)st;
    size_t n = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++) n += b->rs[i].scopes[j].n_spans;
    if (!n) return 0;
    pthread_mutex_lock(&s->wlock);
    int rc = reserve_refs(s, n);
    bool began = false;
    if (rc) goto out;
    if ((rc = exec_stmt(s->wdb, s->ws[W_BEGIN], "begin"))) goto out;
    began = true;
    size_t k = 0;
    for (uint32_t i = 0; i < b->n_rs; i++) {
        const lt_resource_spans *rs = &b->rs[i];
        lt_str service = model_service_name(&rs->resource);
        int64_t res_id, scope_id;
        if ((rc = intern_resource(s, &rs->resource, rs->schema_url, service, &res_id))) goto out;
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            const lt_scope_spans *ss = &rs->scopes[j];
            if ((rc = intern_scope(s, &ss->scope, ss->schema_url, &scope_id))) goto out;
            for (uint32_t m = 0; m < ss->n_spans; m++, k++)
                s->refs[k] = (item_ref){.item = &ss->spans[m], .trace_id = ss->spans[m].trace_id,
                                        .service = service, .res_id = res_id,
                                        .scope_id = scope_id, .seq = (uint32_t)k};
        }
    }
    qsort(s->refs, n, sizeof *s->refs, ref_cmp);
    sqlite3_stmt *ins = s->ws[W_SPAN_ADD];
    int64_t first = 0, rowid = 0, chunk_first = 0, chunk_last = -1;
    trace_agg t = {0};
    for (size_t i = 0; i < n; i++) {
        const item_ref *r = &s->refs[i];
        const lt_span *sp = r->item;
        buf_reset(&s->enc);
        if (pb_encode_span(&s->enc, sp)) {
            rc = LT_ENOMEM;
            goto out;
        }
        sqlite3_bind_blob(ins, 1, sp->trace_id, 16, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, sp->span_id, 8, SQLITE_STATIC);
        if (sp->has_parent) sqlite3_bind_blob(ins, 3, sp->parent_span_id, 8, SQLITE_STATIC);
        else sqlite3_bind_null(ins, 3);
        bind_str(ins, 4, sp->name);
        sqlite3_bind_int64(ins, 5, sp->kind);
        bind_u64(ins, 6, sp->start_time_unix_nano);
        bind_u64(ins, 7, sp->end_time_unix_nano);
        sqlite3_bind_int64(ins, 8, sp->status_code);
        sqlite3_bind_int64(ins, 9, r->res_id);
        sqlite3_bind_int64(ins, 10, r->scope_id);
        sqlite3_bind_blob(ins, 11, s->enc.data, (int)s->enc.len, SQLITE_STATIC);
        if ((rc = exec_stmt(s->wdb, ins, "add span"))) goto out;
        rowid = sqlite3_last_insert_rowid(s->wdb);
        if (!first) first = rowid;
        if ((rc = note_operation(s, r->service, sp->name, sp->kind))) goto out;
        agg_add(&t, r, rowid);
        if (i + 1 == n || memcmp(s->refs[i + 1].trace_id, r->trace_id, 16) != 0) {
            if ((rc = flush_trace(s, &t, &chunk_first, &chunk_last))) goto out;
            memset(&t, 0, sizeof t);
        }
    }
    rc = add_batch(s, SIG_SPANS, first, rowid, chunk_first, chunk_last);
out:
    if (began) rc = end_write(s, rc);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static int sq_write_logs(lt_store *st, const lt_log_batch *b)
{
    sq_store *s = (sq_store *)st;
    size_t n = 0;
    for (uint32_t i = 0; i < b->n_rl; i++)
        for (uint32_t j = 0; j < b->rl[i].n_scopes; j++) n += b->rl[i].scopes[j].n_records;
    if (!n) return 0;
    pthread_mutex_lock(&s->wlock);
    int rc = reserve_refs(s, n);
    bool began = false;
    if (rc) goto out;
    if ((rc = exec_stmt(s->wdb, s->ws[W_BEGIN], "begin"))) goto out;
    began = true;
    size_t k = 0;
    for (uint32_t i = 0; i < b->n_rl; i++) {
        const lt_resource_logs *rl = &b->rl[i];
        lt_str service = model_service_name(&rl->resource);
        int64_t res_id, scope_id;
        if ((rc = intern_resource(s, &rl->resource, rl->schema_url, service, &res_id))) goto out;
        for (uint32_t j = 0; j < rl->n_scopes; j++) {
            const lt_scope_logs *sl = &rl->scopes[j];
            if ((rc = intern_scope(s, &sl->scope, sl->schema_url, &scope_id))) goto out;
            for (uint32_t m = 0; m < sl->n_records; m++, k++)
                s->refs[k] = (item_ref){.item = &sl->records[m],
                                        .trace_id = sl->records[m].trace_id, .service = service,
                                        .res_id = res_id, .scope_id = scope_id,
                                        .seq = (uint32_t)k};
        }
    }
    qsort(s->refs, n, sizeof *s->refs, ref_cmp);
    sqlite3_stmt *ins = s->ws[W_LOG_ADD];
    int64_t first = 0, rowid = 0, run_first = 0, chunk_first = 0, chunk_last = -1;
    for (size_t i = 0; i < n; i++) {
        const item_ref *r = &s->refs[i];
        const lt_log_record *lr = r->item;
        bool traced = !model_id_is_zero(lr->trace_id, 16);
        buf_reset(&s->enc);
        if (pb_encode_log_record(&s->enc, lr)) {
            rc = LT_ENOMEM;
            goto out;
        }
        if (traced) sqlite3_bind_blob(ins, 1, lr->trace_id, 16, SQLITE_STATIC);
        else sqlite3_bind_null(ins, 1);
        if (!model_id_is_zero(lr->span_id, 8)) sqlite3_bind_blob(ins, 2, lr->span_id, 8, SQLITE_STATIC);
        else sqlite3_bind_null(ins, 2);
        bind_u64(ins, 3, lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano);
        sqlite3_bind_int64(ins, 4, lr->severity_number);
        sqlite3_bind_int64(ins, 5, r->res_id);
        sqlite3_bind_int64(ins, 6, r->scope_id);
        sqlite3_bind_blob(ins, 7, s->enc.data, (int)s->enc.len, SQLITE_STATIC);
        if ((rc = exec_stmt(s->wdb, ins, "add log record"))) goto out;
        rowid = sqlite3_last_insert_rowid(s->wdb);
        if (!first) first = rowid;
        if (i == 0 || memcmp(s->refs[i - 1].trace_id, r->trace_id, 16) != 0) run_first = rowid;
        if (traced && (i + 1 == n || memcmp(s->refs[i + 1].trace_id, r->trace_id, 16) != 0) &&
            (rc = add_chunk(s, r->trace_id, SIG_LOGS, run_first, rowid, &chunk_first,
                            &chunk_last)))
            goto out;
    }
    rc = add_batch(s, SIG_LOGS, first, rowid, chunk_first, chunk_last);
out:
    if (began) rc = end_write(s, rc);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* ---- readers ----------------------------------------------------------------------------- */

static int reader_get(sq_store *s, reader **out)
{
    int rc = 0;
    pthread_mutex_lock(&s->rlock);
    for (;;) {
        for (int i = 0; i < s->n_readers; i++)
            if (!s->readers[i].busy) {
                s->readers[i].busy = true;
                *out = &s->readers[i];
                goto out;
            }
        if (s->n_readers < MAX_READERS) break;
        pthread_cond_wait(&s->rcond, &s->rlock);
    }
    reader *r = &s->readers[s->n_readers];
    memset(r, 0, sizeof *r);
    if ((rc = open_conn(s->dbpath, false, LT_SQLITE_READER_CACHE_KIB, &r->db))) goto out;
    r->busy = true;
    s->n_readers++;
    *out = r;
out:
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

static void reader_put(sq_store *s, reader *r)
{
    pthread_mutex_lock(&s->rlock);
    r->busy = false;
    pthread_cond_signal(&s->rcond);
    pthread_mutex_unlock(&s->rlock);
}

/* Returns the reader's statement i, reset and unbound, preparing it on first use. */
static int rstmt(reader *r, int i, sqlite3_stmt **out)
{
    if (!r->st[i]) {
        int rc = sqlite3_prepare_v3(r->db, rsql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL);
        if (rc != SQLITE_OK) return sqerr(r->db, rc, "prepare");
    }
    sqlite3_reset(r->st[i]);
    sqlite3_clear_bindings(r->st[i]);
    *out = r->st[i];
    return 0;
}

/* A read transaction, so that the statements of one call see one snapshot. */
static int read_begin(reader *r)
{
    sqlite3_stmt *st;
    int rc = rstmt(r, R_BEGIN, &st);
    return rc ? rc : exec_stmt(r->db, st, "begin read");
}

static void read_end(reader *r)
{
    for (int i = 0; i < R_COUNT; i++)
        if (r->st[i]) sqlite3_reset(r->st[i]);
    if (!sqlite3_get_autocommit(r->db)) {
        sqlite3_stmt *st;
        if (!rstmt(r, R_END, &st)) exec_stmt(r->db, st, "end read");
    }
}

static lt_str col_str(sqlite3_stmt *st, int i, lt_arena *a, int *rc)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    if (!p) return LT_STR("");
    lt_str v = arena_strdup(a, (lt_str){(const char *)p, (size_t)sqlite3_column_bytes(st, i)});
    if (!v.ptr) *rc = LT_ENOMEM;
    return v;
}

/* Copies column i (a blob) into the arena: SQLite's buffer dies with the statement step. */
static const uint8_t *col_blob(sqlite3_stmt *st, int i, lt_arena *a, size_t *len)
{
    const void *p = sqlite3_column_blob(st, i);
    *len = (size_t)sqlite3_column_bytes(st, i);
    uint8_t *d = arena_alloc(a, *len);
    if (d && *len) memcpy(d, p, *len);
    return d;
}

/* One stored span or log record of a trace, in arrival order. */
typedef struct {
    int64_t res, scope;
    uint32_t seq;
    const uint8_t *body;
    size_t len;
} row;

typedef struct {
    row *v;
    size_t n, cap;
} rows;

static int rows_push(rows *rs, row r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        row *v = lt_realloc(rs->v, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = r;
    return 0;
}

/* Appends every stored row of one signal of trace id to out, copying bodies into a. */
static int load_rows(reader *r, const uint8_t id[16], int signal, lt_arena *a, rows *out)
{
    sqlite3_stmt *ch, *rq;
    int rc = rstmt(r, R_CHUNKS, &ch);
    if (rc) return rc;
    if ((rc = rstmt(r, signal == SIG_SPANS ? R_SPANS : R_LOGS, &rq))) return rc;
    sqlite3_bind_blob(ch, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int(ch, 2, signal);
    int src;
    while ((src = sqlite3_step(ch)) == SQLITE_ROW) {
        sqlite3_bind_int64(rq, 1, sqlite3_column_int64(ch, 0));
        sqlite3_bind_int64(rq, 2, sqlite3_column_int64(ch, 1));
        sqlite3_bind_blob(rq, 3, id, 16, SQLITE_STATIC);
        int qrc;
        while ((qrc = sqlite3_step(rq)) == SQLITE_ROW) {
            row w = {.res = sqlite3_column_int64(rq, 0), .scope = sqlite3_column_int64(rq, 1),
                     .seq = (uint32_t)out->n};
            if (!(w.body = col_blob(rq, 2, a, &w.len))) return LT_ENOMEM;
            if ((rc = rows_push(out, w))) return rc;
        }
        sqlite3_reset(rq);
        if (qrc != SQLITE_DONE) return sqerr(r->db, qrc, "read rows");
    }
    sqlite3_reset(ch);
    return src == SQLITE_DONE ? 0 : sqerr(r->db, src, "read chunks");
}

static int row_cmp(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->res != b->res) return a->res < b->res ? -1 : 1;
    if (a->scope != b->scope) return a->scope < b->scope ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct {
    size_t at, n;  /* slice of the sorted rows */
    uint32_t seq;  /* first arrival, for ordering groups */
} group;

static int group_cmp(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sorts rows by (resource, scope, arrival) and returns the groups in order of first
 * arrival, in the arena. */
static int group_rows(rows *rs, lt_arena *a, group **out, uint32_t *n_out)
{
    qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
    uint32_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (i == 0 || rs->v[i - 1].res != rs->v[i].res || rs->v[i - 1].scope != rs->v[i].scope)
            n++;
    group *g = arena_calloc(a, n ? n : 1, sizeof *g);
    if (!g) return LT_ENOMEM;
    uint32_t k = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (i == 0 || rs->v[i - 1].res != rs->v[i].res || rs->v[i - 1].scope != rs->v[i].scope)
            g[k++] = (group){.at = i, .seq = rs->v[i].seq};
        g[k - 1].n++;
    }
    qsort(g, n, sizeof *g, group_cmp);
    *out = g;
    *n_out = n;
    return 0;
}

static int load_resource(reader *r, int64_t id, lt_arena *a, lt_resource *res, lt_str *url)
{
    sqlite3_stmt *st;
    int rc = rstmt(r, R_RES, &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        size_t len;
        *url = col_str(st, 0, a, &rc);
        const uint8_t *p = col_blob(st, 1, a, &len);
        if (!rc && !p) rc = LT_ENOMEM;
        if (!rc) rc = pb_decode_resource(a, p, len, res);
    } else if (src == SQLITE_DONE) {
        log_error("store: resource %" PRId64 " is missing", id);
        rc = LT_EIO;
    } else {
        rc = sqerr(r->db, src, "read resource");
    }
    sqlite3_reset(st);
    return rc;
}

static int load_scope(reader *r, int64_t id, lt_arena *a, lt_scope *sc, lt_str *url)
{
    sqlite3_stmt *st;
    int rc = rstmt(r, R_SCOPE, &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        size_t len;
        *url = col_str(st, 0, a, &rc);
        const uint8_t *p = col_blob(st, 1, a, &len);
        if (!rc && !p) rc = LT_ENOMEM;
        if (!rc) rc = pb_decode_scope(a, p, len, sc);
    } else if (src == SQLITE_DONE) {
        log_error("store: scope %" PRId64 " is missing", id);
        rc = LT_EIO;
    } else {
        rc = sqerr(r->db, src, "read scope");
    }
    sqlite3_reset(st);
    return rc;
}

static int build_spans(reader *r, rows *rs, lt_arena *a, lt_trace_batch *out)
{
    group *g;
    uint32_t ng;
    int rc = group_rows(rs, a, &g, &ng);
    if (rc) return rc;
    lt_span *spans = arena_calloc(a, rs->n ? rs->n : 1, sizeof *spans);
    out->rs = arena_calloc(a, ng ? ng : 1, sizeof *out->rs);
    if (!spans || !out->rs) return LT_ENOMEM;
    out->n_rs = ng;
    for (uint32_t i = 0; i < ng; i++) {
        lt_resource_spans *o = &out->rs[i];
        lt_scope_spans *ss = arena_calloc(a, 1, sizeof *ss);
        if (!ss) return LT_ENOMEM;
        o->scopes = ss;
        o->n_scopes = 1;
        const row *first = &rs->v[g[i].at];
        if ((rc = load_resource(r, first->res, a, &o->resource, &o->schema_url))) return rc;
        if ((rc = load_scope(r, first->scope, a, &ss->scope, &ss->schema_url))) return rc;
        ss->spans = &spans[g[i].at];
        ss->n_spans = (uint32_t)g[i].n;
        for (size_t k = 0; k < g[i].n; k++) {
            const row *w = &rs->v[g[i].at + k];
            if ((rc = pb_decode_span(a, w->body, w->len, &ss->spans[k]))) {
                log_error("store: a stored span does not decode: %s", lt_strerror(rc));
                return LT_EIO;
            }
        }
    }
    out->n_spans = rs->n;
    return 0;
}

static int build_logs(reader *r, rows *rs, lt_arena *a, lt_log_batch *out)
{
    group *g;
    uint32_t ng;
    int rc = group_rows(rs, a, &g, &ng);
    if (rc) return rc;
    lt_log_record *recs = arena_calloc(a, rs->n ? rs->n : 1, sizeof *recs);
    out->rl = arena_calloc(a, ng ? ng : 1, sizeof *out->rl);
    if (!recs || !out->rl) return LT_ENOMEM;
    out->n_rl = ng;
    for (uint32_t i = 0; i < ng; i++) {
        lt_resource_logs *o = &out->rl[i];
        lt_scope_logs *sl = arena_calloc(a, 1, sizeof *sl);
        if (!sl) return LT_ENOMEM;
        o->scopes = sl;
        o->n_scopes = 1;
        const row *first = &rs->v[g[i].at];
        if ((rc = load_resource(r, first->res, a, &o->resource, &o->schema_url))) return rc;
        if ((rc = load_scope(r, first->scope, a, &sl->scope, &sl->schema_url))) return rc;
        sl->records = &recs[g[i].at];
        sl->n_records = (uint32_t)g[i].n;
        for (size_t k = 0; k < g[i].n; k++) {
            const row *w = &rs->v[g[i].at + k];
            if ((rc = pb_decode_log_record(a, w->body, w->len, &sl->records[k]))) {
                log_error("store: a stored log record does not decode: %s", lt_strerror(rc));
                return LT_EIO;
            }
        }
    }
    out->n_records = rs->n;
    return 0;
}

static int sq_get_trace(lt_store *st, const uint8_t id[16], lt_arena *a, lt_trace_data *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    rows spans = {0}, logs = {0};
    memset(out, 0, sizeof *out);
    int rc = reader_get(s, &r);
    if (rc) goto out;
    if ((rc = read_begin(r))) goto out;
    if ((rc = load_rows(r, id, SIG_SPANS, a, &spans))) goto out;
    if (!spans.n) {
        rc = LT_ENOTFOUND;
        goto out;
    }
    if ((rc = load_rows(r, id, SIG_LOGS, a, &logs))) goto out;
    if ((rc = build_spans(r, &spans, a, &out->spans))) goto out;
    rc = build_logs(r, &logs, a, &out->logs);
out:
    if (r) {
        read_end(r);
        reader_put(s, r);
    }
    lt_free(spans.v);
    lt_free(logs.v);
    return rc;
}

/* ---- listing traces ------------------------------------------------------------------- */

static void render_json(lt_buf *b, const lt_value *v)
{
    switch (v->type) {
    case LT_VAL_STRING: jsonw_str(b, v->u.s); break;
    case LT_VAL_BOOL: buf_append_c(b, v->u.b ? "true" : "false"); break;
    case LT_VAL_INT: jsonw_i64(b, v->u.i); break;
    case LT_VAL_DOUBLE: jsonw_double(b, v->u.d); break;
    case LT_VAL_BYTES: jsonw_base64(b, (const uint8_t *)v->u.s.ptr, v->u.s.len); break;
    case LT_VAL_ARRAY:
        buf_putc(b, '[');
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (i) buf_putc(b, ',');
            render_json(b, &v->u.arr.items[i]);
        }
        buf_putc(b, ']');
        break;
    case LT_VAL_KVLIST:
        buf_putc(b, '{');
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            if (i) buf_putc(b, ',');
            jsonw_str(b, v->u.kv.items[i].key);
            buf_putc(b, ':');
            render_json(b, &v->u.kv.items[i].value);
        }
        buf_putc(b, '}');
        break;
    default: buf_append_c(b, "null"); break;
    }
}

/* True when v rendered as text equals want: strings as they are, booleans true/false,
 * integers in decimal, doubles and bytes (base64) and arrays/maps as JSON would show them,
 * without the quotes around a top-level string. */
static bool value_text_eq(const lt_value *v, lt_str want, lt_buf *tmp)
{
    if (v->type == LT_VAL_STRING) return lt_str_eq(v->u.s, want);
    if (v->type == LT_VAL_EMPTY) return want.len == 0;
    buf_reset(tmp);
    render_json(tmp, v);
    if (tmp->oom) return false;
    lt_str got = {tmp->data, tmp->len};
    if (got.len >= 2 && got.ptr[0] == '"' && got.ptr[got.len - 1] == '"') {
        got.ptr++;
        got.len -= 2;
    }
    return lt_str_eq(got, want);
}

static bool attrs_match(const lt_attrs *at, const lt_trace_query *q, lt_buf *tmp)
{
    const lt_value *v = model_attr_get(at, q->attr_key);
    return v && value_text_eq(v, q->attr_value, tmp);
}

typedef struct {
    int64_t id;
    bool match;
} res_memo;

typedef struct {
    lt_arena *scratch;
    lt_buf tmp;
    rows rs;
    res_memo memo[32];
    uint32_t n_memo, memo_next;
    uint64_t budget; /* spans left to examine */
} attr_scan;

static int resource_matches(reader *r, attr_scan *sc, int64_t id, const lt_trace_query *q,
                            bool *match)
{
    for (uint32_t i = 0; i < sc->n_memo; i++)
        if (sc->memo[i].id == id) {
            *match = sc->memo[i].match;
            return 0;
        }
    lt_resource res;
    lt_str url;
    arena_reset(sc->scratch);
    int rc = load_resource(r, id, sc->scratch, &res, &url);
    if (rc) return rc;
    *match = attrs_match(&res.attrs, q, &sc->tmp);
    uint32_t slot = sc->n_memo < 32 ? sc->n_memo++ : (sc->memo_next++ % 32);
    sc->memo[slot] = (res_memo){id, *match};
    return 0;
}

/* Does some span of the trace (or its resource) carry the queried attribute? */
static int trace_matches(reader *r, attr_scan *sc, const uint8_t id[16], const lt_trace_query *q,
                         bool *match)
{
    *match = false;
    sc->rs.n = 0;
    arena_reset(sc->scratch);
    int rc = load_rows(r, id, SIG_SPANS, sc->scratch, &sc->rs);
    if (rc) return rc;
    /* the spans' bodies live in scratch, so resources are checked after the spans */
    for (size_t i = 0; i < sc->rs.n && !*match; i++) {
        const row *w = &sc->rs.v[i];
        sc->budget = sc->budget ? sc->budget - 1 : 0;
        /* the key's bytes appear in the encoding of any span that has it */
        if (!memmem(w->body, w->len, q->attr_key.ptr, q->attr_key.len)) continue;
        lt_span sp;
        if (pb_decode_span(sc->scratch, w->body, w->len, &sp) == 0 &&
            attrs_match(&sp.attrs, q, &sc->tmp))
            *match = true;
    }
    if (*match) return 0;
    int64_t *ids = lt_malloc((sc->rs.n ? sc->rs.n : 1) * sizeof *ids);
    if (!ids) return LT_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < sc->rs.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++) seen = ids[j] == sc->rs.v[i].res;
        if (!seen && n < 64) ids[n++] = sc->rs.v[i].res;
    }
    for (size_t i = 0; i < n && !*match && !rc; i++) rc = resource_matches(r, sc, ids[i], q, match);
    lt_free(ids);
    return rc;
}

static uint64_t clamp_i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : v;
}

static int read_summary(sqlite3_stmt *st, lt_arena *a, lt_trace_summary *t)
{
    int rc = 0;
    memset(t, 0, sizeof *t);
    const void *tid = sqlite3_column_blob(st, 0);
    if (tid && sqlite3_column_bytes(st, 0) == 16) memcpy(t->trace_id, tid, 16);
    t->start_unix_nano = (uint64_t)sqlite3_column_int64(st, 1);
    t->end_unix_nano = (uint64_t)sqlite3_column_int64(st, 2);
    t->root_name = col_str(st, 3, a, &rc);
    t->root_service = col_str(st, 4, a, &rc);
    t->span_count = (uint32_t)sqlite3_column_int64(st, 5);
    t->error_count = (uint32_t)sqlite3_column_int64(st, 6);
    const uint8_t *p = sqlite3_column_blob(st, 7);
    const uint8_t *end = p + sqlite3_column_bytes(st, 7);
    lt_str sv;
    uint32_t n = 0;
    for (const uint8_t *q = p; q && next_service(&q, end, &sv);) n++;
    if (n) {
        if (!(t->services = arena_calloc(a, n, sizeof *t->services))) return LT_ENOMEM;
        for (const uint8_t *q = p; next_service(&q, end, &sv) && t->n_services < n;) {
            t->services[t->n_services] = arena_strdup(a, sv);
            if (!t->services[t->n_services++].ptr) return LT_ENOMEM;
        }
    }
    return rc;
}

static int sq_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    attr_scan sc = {.budget = ATTR_SCAN_SPANS};
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? q->limit : 20;
    if (limit > 1000) limit = 1000;
    bool by_attr = q->attr_key.len > 0;
    int rc = 0;
    if (by_attr && !(sc.scratch = arena_new())) return LT_ENOMEM;
    if (!(out->items = arena_calloc(a, limit, sizeof *out->items))) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = reader_get(s, &r))) goto out;
    if ((rc = read_begin(r))) goto out;
    sqlite3_stmt *ls;
    if ((rc = rstmt(r, R_LIST, &ls))) goto out;
    uint64_t hi = q->start_max ? q->start_max : INT64_MAX;
    if (q->has_cursor && q->cursor_start < hi) hi = q->cursor_start;
    sqlite3_bind_int64(ls, 1, (int64_t)clamp_i64(q->start_min));
    sqlite3_bind_int64(ls, 2, (int64_t)clamp_i64(hi));
    if (q->has_cursor) {
        sqlite3_bind_blob(ls, 3, q->cursor_trace_id, 16, SQLITE_STATIC);
        sqlite3_bind_int64(ls, 9, (int64_t)clamp_i64(q->cursor_start));
    }
    if (q->name.len) bind_str(ls, 4, q->name);
    sqlite3_bind_int(ls, 5, q->errors_only);
    sqlite3_bind_int64(ls, 6, (int64_t)clamp_i64(q->min_duration_ns));
    sqlite3_bind_int64(ls, 7, (int64_t)clamp_i64(q->max_duration_ns));
    if (q->service.len) bind_str(ls, 8, q->service);
    int src;
    uint8_t last_id[16];
    uint64_t last_start = 0;
    bool examined = false;
    while ((src = sqlite3_step(ls)) == SQLITE_ROW) {
        if (out->n == limit || (by_attr && !sc.budget)) {
            /* another candidate exists: there may be another page */
            out->more = true;
            break;
        }
        const void *tid = sqlite3_column_blob(ls, 0);
        if (!tid || sqlite3_column_bytes(ls, 0) != 16) continue;
        memcpy(last_id, tid, 16);
        last_start = (uint64_t)sqlite3_column_int64(ls, 1);
        examined = true;
        if (by_attr) {
            bool match;
            if ((rc = trace_matches(r, &sc, last_id, q, &match))) goto out;
            if (!match) continue;
        }
        if ((rc = read_summary(ls, a, &out->items[out->n]))) goto out;
        out->n++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sqerr(r->db, src, "list traces");
        goto out;
    }
    if (out->more && examined) {
        out->next_start = last_start;
        memcpy(out->next_trace_id, last_id, 16);
    }
out:
    if (r) {
        read_end(r);
        reader_put(s, r);
    }
    arena_free(sc.scratch);
    buf_free(&sc.tmp);
    lt_free(sc.rs.v);
    return rc;
}

/* ---- services, operations, size ------------------------------------------------------- */

static int sq_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    lt_str *v = NULL;
    uint32_t cap = 0, k = 0;
    *out = NULL;
    *n = 0;
    int rc = reader_get(s, &r), src;
    if (rc) return rc;
    sqlite3_stmt *q;
    if ((rc = rstmt(r, R_SERVICES, &q))) goto out;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if (k == cap) {
            uint32_t nc = cap ? cap * 2 : 16;
            lt_str *nv = arena_alloc(a, nc * sizeof *nv);
            if (!nv) {
                rc = LT_ENOMEM;
                goto out;
            }
            if (k) memcpy(nv, v, k * sizeof *v);
            v = nv;
            cap = nc;
        }
        v[k] = col_str(q, 0, a, &rc);
        if (rc) goto out;
        k++;
    }
    if (src != SQLITE_DONE) {
        rc = sqerr(r->db, src, "list services");
        goto out;
    }
    *out = v;
    *n = k;
out:
    read_end(r);
    reader_put(s, r);
    return rc;
}

static int sq_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out,
                              uint32_t *n)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    lt_operation *v = NULL;
    uint32_t cap = 0, k = 0;
    *out = NULL;
    *n = 0;
    int rc = reader_get(s, &r), src;
    if (rc) return rc;
    sqlite3_stmt *q;
    if ((rc = rstmt(r, service.len ? R_OPS : R_OPS_ALL, &q))) goto out;
    if (service.len) bind_str(q, 1, service);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if (k == cap) {
            uint32_t nc = cap ? cap * 2 : 16;
            lt_operation *nv = arena_alloc(a, nc * sizeof *nv);
            if (!nv) {
                rc = LT_ENOMEM;
                goto out;
            }
            if (k) memcpy(nv, v, k * sizeof *v);
            v = nv;
            cap = nc;
        }
        v[k].name = col_str(q, 0, a, &rc);
        v[k].span_kind = (uint32_t)sqlite3_column_int64(q, 1);
        if (rc) goto out;
        k++;
    }
    if (src != SQLITE_DONE) {
        rc = sqerr(r->db, src, "list operations");
        goto out;
    }
    *out = v;
    *n = k;
out:
    read_end(r);
    reader_put(s, r);
    return rc;
}

static int pages_used(sqlite3 *db, sqlite3_stmt *pages, sqlite3_stmt *freel, uint64_t *out)
{
    int64_t pc = 0, fc = 0;
    int rc = sqlite3_step(pages);
    if (rc == SQLITE_ROW) pc = sqlite3_column_int64(pages, 0);
    sqlite3_reset(pages);
    if (rc != SQLITE_ROW) return sqerr(db, rc, "page_count");
    rc = sqlite3_step(freel);
    if (rc == SQLITE_ROW) fc = sqlite3_column_int64(freel, 0);
    sqlite3_reset(freel);
    if (rc != SQLITE_ROW) return sqerr(db, rc, "freelist_count");
    *out = (uint64_t)(pc - fc);
    return 0;
}

static int sq_bytes_used(lt_store *st, uint64_t *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    sqlite3_stmt *pc, *fc;
    uint64_t pages = 0;
    int rc = reader_get(s, &r);
    if (rc) return rc;
    if (!(rc = rstmt(r, R_PAGES, &pc)) && !(rc = rstmt(r, R_FREE, &fc)))
        rc = pages_used(r->db, pc, fc, &pages);
    reader_put(s, r);
    if (!rc) *out = pages * LT_SQLITE_PAGE_SIZE;
    return rc;
}

/* ---- retention ----------------------------------------------------------------------- */

/* Deletes the oldest batches, at most max of them and, when cutoff is not 0, only those
 * received before it; one transaction. *deleted tells how many went. */
static int delete_oldest(sq_store *s, int max, uint64_t cutoff, int *deleted)
{
    *deleted = 0;
    pthread_mutex_lock(&s->wlock);
    int rc = exec_stmt(s->wdb, s->ws[W_BEGIN], "begin retention"), src;
    if (rc) goto unlock;
    int64_t last_batch = 0, last_span = 0, last_log = 0, last_chunk = 0;
    sqlite3_stmt *st = s->ws[W_OLDEST];
    sqlite3_bind_int(st, 1, max);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (cutoff && (uint64_t)sqlite3_column_int64(st, 1) >= cutoff) break;
        last_batch = sqlite3_column_int64(st, 0);
        int64_t last = sqlite3_column_int64(st, 3), chunk = sqlite3_column_int64(st, 4);
        if (sqlite3_column_int(st, 2) == SIG_SPANS) {
            if (last > last_span) last_span = last;
        } else if (last > last_log) {
            last_log = last;
        }
        if (chunk > last_chunk) last_chunk = chunk;
        (*deleted)++;
    }
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sqerr(s->wdb, src, "oldest batches");
        goto out;
    }
    if (!*deleted) goto out;
    const struct {
        int stmt;
        int64_t upto;
    } steps[] = {{W_DEL_TRACES, last_chunk}, {W_DEL_CHUNKS, last_chunk},
                 {W_DEL_SPANS, last_span},   {W_DEL_LOGS, last_log},
                 {W_DEL_BATCHES, last_batch}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !rc; i++) {
        if (!steps[i].upto) continue;
        sqlite3_bind_int64(s->ws[steps[i].stmt], 1, steps[i].upto);
        rc = exec_stmt(s->wdb, s->ws[steps[i].stmt], "retention delete");
    }
out:
    rc = end_write(s, rc);
    if (rc) *deleted = 0;
unlock:
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static int writer_int(sq_store *s, const char *sql, int64_t *v)
{
    pthread_mutex_lock(&s->wlock);
    int rc = query_int(s->wdb, sql, v);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* Gives freed pages back to the file system: incremental vacuum in steps (each a short
 * write transaction), then a checkpoint, which truncates the database file. */
static int shrink(sq_store *s)
{
    int64_t free_pages = 0;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", VACUUM_STEP);
    int rc = writer_int(s, "PRAGMA freelist_count", &free_pages);
    for (int i = 0; !rc && free_pages > 0 && i < 1 << 20; i++) {
        pthread_mutex_lock(&s->wlock);
        rc = exec_sql(s->wdb, sql);
        if (!rc) rc = query_int(s->wdb, "PRAGMA freelist_count", &free_pages);
        pthread_mutex_unlock(&s->wlock);
    }
    if (rc) return rc;
    pthread_mutex_lock(&s->wlock);
    int crc = sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_unlock(&s->wlock);
    /* a busy checkpoint (readers) is fine: a later one will truncate */
    return crc == SQLITE_OK || crc == SQLITE_BUSY ? 0 : sqerr(s->wdb, crc, "checkpoint");
}

static int sq_enforce_retention(lt_store *st, const lt_retention *ret, uint64_t now_ns)
{
    sq_store *s = (sq_store *)st;
    int rc = 0, n = 0;
    bool freed = false;
    if (ret->max_age_ns && now_ns > ret->max_age_ns) {
        uint64_t cutoff = now_ns - ret->max_age_ns;
        do {
            if ((rc = delete_oldest(s, RETENTION_STEP, cutoff, &n))) return rc;
            freed |= n > 0;
        } while (n == RETENTION_STEP);
    }
    if (ret->max_bytes) {
        for (int round = 0; round < 64; round++) {
            uint64_t used = 0;
            int64_t batches = 0;
            if ((rc = sq_bytes_used(st, &used))) return rc;
            if (used <= ret->max_bytes) break;
            if ((rc = writer_int(s, "SELECT count(*) FROM batches", &batches))) return rc;
            if (!batches) break;
            /* batches are about the same size: delete the share that is over, plus 1 */
            double share = (double)(used - ret->max_bytes) / (double)used;
            int64_t k = (int64_t)(share * (double)batches) + 1;
            while (k > 0) {
                int step = k > RETENTION_STEP ? RETENTION_STEP : (int)k;
                if ((rc = delete_oldest(s, step, 0, &n))) return rc;
                freed |= n > 0;
                if (n < step) break;
                k -= n;
            }
        }
    }
    if (freed) rc = shrink(s);
    return rc;
}

static const lt_store_ops sqlite_ops = {
    .name = "sqlite",
    .write_traces = sq_write_traces,
    .write_logs = sq_write_logs,
    .list_traces = sq_list_traces,
    .get_trace = sq_get_trace,
    .list_services = sq_list_services,
    .list_operations = sq_list_operations,
    .enforce_retention = sq_enforce_retention,
    .bytes_used = sq_bytes_used,
    .close = sq_close,
};
