/* sqlite.c — the embedded engine behind store.h: SQLite rows, append-only body segments.
 *
 * Ingest speed comes from appending, and from keeping the bytes SQLite writes small.
 *
 * Bodies. Each span's (log record's) canonical protobuf encoding is appended to a segment
 * file (blobs-NNNNNNNN.seg, rolled at seg_max bytes) with one write per call; the SQLite
 * row keeps its location. Measured here: a ~1.3 KB body inside the row makes SQLite write
 * it twice (WAL, then checkpoint) plus page slack, which caps ingest near the disk's
 * bandwidth (~390 MB/s) at ~100k spans/s; in a segment it is written once. Retention
 * unlinks whole segments, so the directory shrinks at once.
 *
 * Rows. spans and logs are appended in rowid (arrival) order with a few typed columns and
 * the row id of their trace summary. A call sorts its spans by trace, so each trace's
 * spans of one call are one contiguous rowid range (and one contiguous run of the
 * segment, read back with one pread).
 *
 * Traces. Nothing is indexed per span by a random key. The trace summary (traces: root
 * name and service, start, end, counts, services, and the rowid ranges of its spans and
 * logs) is a rowid table appended when a trace is first seen and updated in place when
 * more of it arrives; an index on (start, trace id) lists newest first and is appended
 * near its right edge. Finding a summary by trace id goes through an in-memory map of
 * the summaries created since the last index flush, then trace_idx (8-byte id prefix ->
 * summary row), which is written in bulk, sorted, once the map holds a sixteenth of it:
 * a random B-tree insert per trace per call would dirty one page per trace in every
 * commit (measured: that alone halves ingest). The map is rebuilt at open from the
 * summaries past the flushed mark (meta.indexed_upto), so it is never the only copy.
 * Readers see it consistently with their snapshot: an entry enters the map before its
 * commit and leaves it one flush after the flush that indexed it; a reader whose
 * snapshot is older than what the map has dropped scans the few summaries in between.
 *
 * Resources and scopes are stored once per distinct content (hash -> id, cached in memory
 * so a repeated one costs no SQL); operations likewise. Each write call is one
 * transaction and one row of batches (rowid ranges, segment end): retention deletes a
 * prefix of batches as a rowid prefix of each table, prunes the summaries' ranges and
 * takes back their span and error counts, drops summaries left empty, unlinks segments
 * nothing points into, and gives freed pages back with incremental vacuum. At open, a
 * segment tail that no commit covers (a crash between the segment write and the commit)
 * is cut off; batches whose bytes the segment lost (power loss) are dropped the same way.
 *
 * Threads: one writer connection behind a mutex (writes and retention); reads borrow a
 * connection from a small pool and run in their own snapshot (WAL), concurrently with
 * writes, reading segments with their own descriptors. Connections are opened without
 * SQLite's own mutexes: ours guard them.
 *
 * Processes: one writer per directory, held by an flock on llmtrace.lock. Another
 * process (the CLI reading a store that `serve` writes) opens it read-only: it never
 * recovers, cuts or unlinks anything, refuses writes, and finds recent traces by
 * scanning the summaries past the flushed mark instead of the writer's map.
 *
 * GenAI (sqlite_genai.c). A span with a canonical view is a row of genai instead of spans:
 * the same columns, plus typed view columns, so that it costs one insert and a span without
 * a view costs nothing more than before (measured: a second row per view costs ~0.8 us, the
 * same columns in the span's row ~0.1 us; 12 NULL columns on every span would cost 12 bytes
 * each). The two tables share the span row ids; readers take the union. Summaries gain
 * GenAI totals and the values list filters test; per-minute rollups answer genai_summary.
 *
 * Content (sqlite_content.c). Strings of 256 bytes or more leave the bodies for the content
 * table, stored once per distinct value (JSON arrays per element), compressed. A body may
 * thus start with a view field and a content reference field, which decoders skip.
 *
 * Search (sqlite_search.c). The text of each write call's spans and log records of one trace
 * (names, messages, large strings) goes into a full-text index (FTS5), each distinct piece once
 * per segment, with references to the trace; new text waits in a table and is indexed in
 * batches; a segment's index goes with it. The tables are created when first written, so a
 * store of schema 2 made before them is searchable for what is written from then on.
 *
 * Live tail and rankings read rows only: spans in row id (arrival) order, trace summaries in
 * the range's order, bounded per call.
 *
 * Schema 2 (views, rollups, content). A directory of schema 1 is refused with a message:
 * there is no migration yet. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/sqlite_int.h"
#include "store/store.h"

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
    " scope_id INTEGER NOT NULL, trace_row INTEGER NOT NULL, loc INTEGER NOT NULL,"
    " len INTEGER NOT NULL);"
    "CREATE TABLE logs(id INTEGER PRIMARY KEY, trace_id BLOB, span_id BLOB,"
    " time_ns INTEGER NOT NULL, severity INTEGER NOT NULL, resource_id INTEGER NOT NULL,"
    " scope_id INTEGER NOT NULL, trace_row INTEGER, loc INTEGER NOT NULL, len INTEGER NOT NULL);"
    "CREATE TABLE traces(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL,"
    " start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, root_name TEXT, root_service TEXT,"
    " span_count INTEGER NOT NULL, error_count INTEGER NOT NULL, services BLOB NOT NULL,"
    " spans BLOB NOT NULL, logs BLOB NOT NULL, llm_calls INTEGER NOT NULL DEFAULT 0,"
    " in_tok INTEGER NOT NULL DEFAULT 0, out_tok INTEGER NOT NULL DEFAULT 0,"
    " cost REAL NOT NULL DEFAULT 0, gdims BLOB NOT NULL DEFAULT x'');"
    "CREATE INDEX traces_start ON traces(start_ns, trace_id);"
    "CREATE TABLE trace_idx(key INTEGER NOT NULL, trace_row INTEGER NOT NULL,"
    " PRIMARY KEY(key, trace_row)) WITHOUT ROWID;"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta VALUES('indexed_upto', 0);"
    "CREATE TABLE operations(service TEXT NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,"
    " PRIMARY KEY(service, name, kind)) WITHOUT ROWID;"
    "CREATE TABLE batches(id INTEGER PRIMARY KEY, received_ns INTEGER NOT NULL,"
    " signal INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,"
    " seg INTEGER NOT NULL, seg_end INTEGER NOT NULL);";

/* A summary as listings read it (read_summary, summary_matches). */
#define LIST_COLS                                                                                  \
    "trace_id, start_ns, end_ns, root_name, root_service, span_count, error_count, services, id,"  \
    " spans, llm_calls, in_tok, out_tok, cost, gdims"

/* A span for the live tail: its columns, its resource's service and its view's columns (NULL
 * without one), in arrival (row id) order over both span tables; ?1 < id <= ?2. */
#define TAIL_SQL(order)                                                                            \
    "SELECT s.id, s.trace_id, s.span_id, s.parent_id, s.name, s.kind, s.start_ns, s.end_ns,"       \
    " s.status, r.service, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM spans s"               \
    " JOIN resources r ON r.id = s.resource_id WHERE s.id > ?1 AND s.id <= ?2 UNION ALL"           \
    " SELECT g.id, g.trace_id, g.span_id, g.parent_id, g.name, g.kind, g.start_ns, g.end_ns,"      \
    " g.status, d.service, 1, d.operation, d.provider, d.req_model, d.resp_model, g.in_tok,"       \
    " g.out_tok, g.cost FROM genai g JOIN gdim d ON d.id = g.dims WHERE g.id > ?1 AND g.id <= ?2"  \
    " ORDER BY 1 " order " LIMIT ?3"

#define TRACE_FIND_SQL                                                                             \
    "SELECT t.id FROM trace_idx i JOIN traces t ON t.id = i.trace_row"                             \
    " WHERE i.key = ?1 AND t.trace_id = ?2"

/* Writer statements of the core (the header lists all). */
static const char *const wsql[W_CORE_END] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_RES_FIND] = "SELECT id, schema_url, body FROM resources WHERE hash = ?1",
    [W_RES_ADD] = "INSERT INTO resources(hash, service, schema_url, body) VALUES(?1,?2,?3,?4)",
    [W_SCOPE_FIND] = "SELECT id, schema_url, body FROM scopes WHERE hash = ?1",
    [W_SCOPE_ADD] = "INSERT INTO scopes(hash, schema_url, body) VALUES(?1,?2,?3)",
    [W_SPAN_ADD] = "INSERT INTO spans(id, trace_id, span_id, parent_id, name, kind, start_ns,"
                   " end_ns, status, resource_id, scope_id, trace_row, loc, len)"
                   " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
    [W_LOG_ADD] = "INSERT INTO logs(id, trace_id, span_id, time_ns, severity, resource_id,"
                  " scope_id, trace_row, loc, len) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [W_TRACE_FIND] = TRACE_FIND_SQL,
    [W_TRACE_ADD] = "INSERT INTO traces(trace_id, start_ns, end_ns, root_name, root_service,"
                    " span_count, error_count, services, spans, logs, llm_calls, in_tok, out_tok,"
                    " cost, gdims) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
    /* a summary made by log records alone has no span times yet: the spans' replace them */
    [W_TRACE_SPANS] =
        "UPDATE traces SET"
        " start_ns = CASE WHEN span_count = 0 THEN ?2 ELSE min(start_ns, ?2) END,"
        " end_ns = CASE WHEN span_count = 0 THEN ?3 ELSE max(end_ns, ?3) END,"
        " root_name = coalesce(root_name, ?4),"
        " root_service = CASE WHEN root_name IS NULL THEN ?5 ELSE root_service END,"
        " span_count = span_count + ?6, error_count = error_count + ?7,"
        " services = lt_services_merge(services, ?8), spans = lt_ranges_append(spans, ?9),"
        " llm_calls = llm_calls + ?10, in_tok = in_tok + ?11, out_tok = out_tok + ?12,"
        " cost = cost + ?13, gdims = lt_gdims_merge(gdims, ?14)"
        " WHERE id = ?1",
    [W_TRACE_LOGS] = "UPDATE traces SET logs = lt_ranges_append(logs, ?2) WHERE id = ?1",
    [W_IDX_ADD] = "INSERT OR IGNORE INTO trace_idx(key, trace_row) VALUES(?1,?2)",
    [W_META_SET] = "INSERT OR REPLACE INTO meta(k, v) VALUES(?1,?2)",
    [W_OP_ADD] = "INSERT OR IGNORE INTO operations(service, name, kind) VALUES(?1,?2,?3)",
    [W_BATCH_ADD] = "INSERT INTO batches(received_ns, signal, first_id, last_id, seg, seg_end)"
                    " VALUES(?1,?2,?3,?4,?5,?6)",
    [W_OLDEST] = "SELECT id, received_ns, signal, last_id, seg FROM batches ORDER BY id LIMIT ?1",
    [W_GONE_CLEAR] = "DELETE FROM temp.gone",
    /* the summaries losing span rows [?1, ?2], with how many they lose (temp.gone is empty
     * before: this runs first) */
    [W_GONE_SPANS] = "INSERT INTO temp.gone(id, n, err) SELECT trace_row, count(*),"
                     " coalesce(sum(status = 2), 0) FROM (SELECT trace_row, status FROM spans"
                     " WHERE id BETWEEN ?1 AND ?2 UNION ALL SELECT trace_row, status FROM genai"
                     " WHERE id BETWEEN ?1 AND ?2) GROUP BY trace_row",
    [W_GONE_LOGS] = "INSERT OR IGNORE INTO temp.gone(id) SELECT trace_row FROM logs"
                    " WHERE id BETWEEN ?1 AND ?2 AND trace_row IS NOT NULL",
    [W_PRUNE] = "UPDATE traces SET spans = lt_ranges_prune(spans, ?1),"
                " logs = lt_ranges_prune(logs, ?2), span_count = span_count -"
                " (SELECT n FROM temp.gone g WHERE g.id = traces.id), error_count = error_count -"
                " (SELECT err FROM temp.gone g WHERE g.id = traces.id)"
                " WHERE id IN (SELECT id FROM temp.gone)",
    /* recovery: the rows from ?1 (spans) and ?2 (logs) on were lost */
    [W_CUT] = "UPDATE traces SET spans = lt_ranges_cut(spans, ?1),"
              " logs = lt_ranges_cut(logs, ?2), span_count = span_count -"
              " (SELECT n FROM temp.gone g WHERE g.id = traces.id), error_count = error_count -"
              " (SELECT err FROM temp.gone g WHERE g.id = traces.id)"
              " WHERE id IN (SELECT id FROM temp.gone)",
    [W_EMPTY] = "SELECT id, trace_id FROM traces WHERE id IN (SELECT id FROM temp.gone)"
                " AND length(spans) = 0 AND length(logs) = 0",
    [W_IDX_DEL] = "DELETE FROM trace_idx WHERE key = ?1 AND trace_row = ?2",
    [W_TRACE_DEL] = "DELETE FROM traces WHERE id = ?1",
    [W_DEL_SPANS] = "DELETE FROM spans WHERE id <= ?1",
    [W_DEL_LOGS] = "DELETE FROM logs WHERE id <= ?1",
    [W_DEL_BATCHES] = "DELETE FROM batches WHERE id <= ?1",
    [W_MIN_SEG] = "SELECT min(seg) FROM batches",
};

/* Reader statements of the core. */
static const char *const rsql[R_CORE_END] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "COMMIT",
    [R_META] = "SELECT v FROM meta WHERE k = 'indexed_upto'",
    [R_TRACE_ID] = "SELECT trace_id FROM traces WHERE id = ?1",
    [R_TRACE_SCAN] = "SELECT id FROM traces WHERE id > ?1 AND id <= ?2 AND trace_id = ?3",
    [R_TRACE_FIND] = TRACE_FIND_SQL,
    [R_TRACE_GET] = "SELECT trace_id, spans, logs FROM traces WHERE id = ?1",
    /* a span with a GenAI view is a row of genai instead (sqlite_genai.c) */
    [R_SPANS] = "SELECT resource_id, scope_id, loc, len, id FROM spans"
                " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 UNION ALL"
                " SELECT resource_id, scope_id, loc, len, id FROM genai"
                " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 ORDER BY 5",
    [R_LOGS] = "SELECT resource_id, scope_id, loc, len, id FROM logs"
               " WHERE id BETWEEN ?1 AND ?2 AND trace_row = ?3 ORDER BY id",
    [R_RES] = "SELECT schema_url, body FROM resources WHERE id = ?1",
    [R_SCOPE] = "SELECT schema_url, body FROM scopes WHERE id = ?1",
    /* newest first along traces_start; ?2 is min(start_max, cursor start), ?4 the cursor
     * start and ?3 its trace id. The other filters are applied by the caller, which
     * counts the rows it examines. */
    [R_LIST] = "SELECT " LIST_COLS " FROM traces WHERE start_ns >= ?1 AND start_ns <= ?2"
               " AND (?3 IS NULL OR start_ns < ?4 OR trace_id < ?3)"
               " ORDER BY start_ns DESC, trace_id DESC",
    [R_SERVICES] = "SELECT DISTINCT service FROM operations ORDER BY service",
    [R_OPS] = "SELECT name, kind FROM operations WHERE service = ?1 ORDER BY name, kind",
    [R_OPS_ALL] = "SELECT DISTINCT name, kind FROM operations ORDER BY name, kind",
    [R_PAGES] = "PRAGMA page_count",
    [R_FREE] = "PRAGMA freelist_count",
    [R_SUMMARY] = "SELECT " LIST_COLS " FROM traces WHERE id = ?1",
    [R_TAIL] = TAIL_SQL("ASC"),
    [R_TAIL_NEW] = TAIL_SQL("DESC"),
    [R_LAST_SPAN] = "SELECT max(coalesce((SELECT max(id) FROM spans), 0),"
                    " coalesce((SELECT max(id) FROM genai), 0))",
};

/* The SQL of writer (reader) statement i, whichever file owns it. */
static const char *wsql_text(int i)
{
    if (i < W_CORE_END) return wsql[i];
    if (i < W_G_END) return sq_genai_wsql[i - W_G_FIRST];
    return sq_content_wsql[i - W_C_FIRST];
}

static const char *rsql_text(int i)
{
    if (i < R_CORE_END) return rsql[i];
    if (i < R_G_END) return sq_genai_rsql[i - R_G_FIRST];
    return sq_content_rsql[i - R_C_FIRST];
}

/* ---- small helpers shared by the engine's files ---------------------------------------- */

void *sq_grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return v;
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = lt_realloc(v, nc * size);
    if (nv) *cap = nc;
    return nv;
}

uint64_t sq_quick_hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *q = p;
    for (; n >= 8; n -= 8, q += 8) {
        uint64_t w;
        memcpy(&w, q, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)q[i] << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ h >> 32;
}

/* ---- errors ---------------------------------------------------------------------------- */

/* Maps a SQLite result to our codes without logging. */
int sq_map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return LT_EFULL;
    case SQLITE_NOMEM:
        return LT_ENOMEM;
    default:
        return LT_EIO;
    }
}

/* sq_map_rc with the connection's errno: SQLite reports a write refused for a file size
 * limit (EFBIG) or a quota as an I/O error, but to the sender it is a full disk. */
static int map_db_rc(sqlite3 *db, int rc)
{
    int r = sq_map_rc(rc), e = errno; /* SQLite does not always keep the write's errno */
    if (r == LT_EIO && db && (rc & 0xff) == SQLITE_IOERR) {
        if (sqlite3_system_errno(db)) e = sqlite3_system_errno(db);
        if (e == ENOSPC || e == EDQUOT || e == EFBIG) r = LT_EFULL;
    }
    return r;
}

/* Maps a SQLite result to our codes; logs what failed unless the disk is merely full (the
 * writers say that once, note_full). */
int sq_err(sqlite3 *db, int rc, const char *what)
{
    int r = map_db_rc(db, rc);
    if (r == LT_EIO)
        log_error("store: %s: %s (sqlite %d, %s)", what,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                  db ? sqlite3_extended_errcode(db) : rc,
                  db && sqlite3_system_errno(db) ? strerror(sqlite3_system_errno(db)) : "-");
    return r;
}

static int errno_err(int e, const char *what, const char *path)
{
    if (e == ENOSPC || e == EDQUOT || e == EFBIG) {
        log_debug("store: %s %s: %s", what, path, strerror(e));
        return LT_EFULL;
    }
    log_error("store: %s %s: %s", what, path, strerror(e));
    return LT_EIO;
}

/* Steps a statement that returns no rows (or whose rows are not wanted) and resets it. */
int sq_exec_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_err(db, rc, what);
}

int sq_exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int r = map_db_rc(db, rc);
        if (r != LT_EFULL) log_error("store: '%.60s': %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

int sq_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sq_err(db, rc, sql);
}

/* ---- varint lists kept in summary columns ----------------------------------------------
 * services: (length, bytes) entries, sorted and distinct, at most MAX_SERVICES (names may
 * hold any byte, so no separator would do). spans / logs: (first rowid, last - first)
 * pairs in arrival order. */

size_t sq_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

bool sq_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Reads the next service name at *p; false at the end or on a malformed list. */
bool sq_next_service(const uint8_t **p, const uint8_t *end, lt_str *out)
{
    uint64_t n;
    if (!*p || !sq_get_varint(p, end, &n) || n > (uint64_t)(end - *p)) return false;
    out->ptr = (const char *)*p;
    out->len = (size_t)n;
    *p += n;
    return true;
}

bool sq_next_range(const uint8_t **p, const uint8_t *end, int64_t *first, int64_t *last)
{
    uint64_t f, d;
    if (!*p || !sq_get_varint(p, end, &f) || !sq_get_varint(p, end, &d)) return false;
    *first = (int64_t)f;
    *last = (int64_t)(f + d);
    return true;
}

static void buf_range(lt_buf *b, int64_t first, int64_t last)
{
    uint8_t tmp[20];
    size_t n = sq_put_varint(tmp, (uint64_t)first);
    n += sq_put_varint(tmp + n, (uint64_t)(last - first));
    buf_append(b, tmp, n);
}

static int str_cmp_q(const void *a, const void *b)
{
    return st_str_cmp(*(const lt_str *)a, *(const lt_str *)b);
}

/* Appends the list of n sorted distinct names to out. */
static void services_encode(lt_buf *out, const lt_str *names, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < MAX_SERVICES; i++) {
        uint8_t len[10];
        buf_append(out, len, sq_put_varint(len, names[i].len));
        buf_append_str(out, names[i]);
    }
}

/* SQL lt_services_merge(a, b): the union of two service lists. */
static void fn_services_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int la = sqlite3_value_bytes(argv[0]), lb = sqlite3_value_bytes(argv[1]);
    const uint8_t *pa = sqlite3_value_blob(argv[0]), *pb = sqlite3_value_blob(argv[1]);
    const uint8_t *ea = sq_end(pa, (size_t)la), *eb = sq_end(pb, (size_t)lb);
    uint8_t *out = sqlite3_malloc(la + lb + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    int count = 0;
    lt_str a = LT_STR_NULL, b = LT_STR_NULL;
    bool ha = sq_next_service(&pa, ea, &a), hb = sq_next_service(&pb, eb, &b);
    while ((ha || hb) && count < MAX_SERVICES) {
        int c = !ha ? 1 : !hb ? -1 : st_str_cmp(a, b);
        lt_str take = c <= 0 ? a : b;
        n += sq_put_varint(out + n, take.len);
        if (take.len) memcpy(out + n, take.ptr, take.len);
        n += take.len;
        count++;
        if (c <= 0) ha = sq_next_service(&pa, ea, &a);
        if (c >= 0) hb = sq_next_service(&pb, eb, &b);
    }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

/* SQL lt_ranges_append(list, more): concatenation, joining a range that continues the
 * last one. */
static void fn_ranges_append(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int la = sqlite3_value_bytes(argv[0]), lb = sqlite3_value_bytes(argv[1]);
    const uint8_t *pa = sqlite3_value_blob(argv[0]), *pb = sqlite3_value_blob(argv[1]);
    const uint8_t *ea = sq_end(pa, (size_t)la), *eb = sq_end(pb, (size_t)lb), *last_at = pa;
    uint8_t *out = sqlite3_malloc(la + lb + 20);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    int64_t f = 0, l = -2, nf, nl;
    const uint8_t *q = pa;
    for (const uint8_t *at = q; sq_next_range(&q, ea, &nf, &nl); at = q) {
        last_at = at;
        f = nf;
        l = nl;
    }
    size_t n = 0;
    if (la) {
        n = (size_t)(last_at - pa);
        memcpy(out, pa, n);
    }
    bool have_last = la > 0 && l >= f;
    while (sq_next_range(&pb, eb, &nf, &nl)) {
        if (have_last && nf == l + 1) {
            l = nl;
            continue;
        }
        if (have_last) {
            n += sq_put_varint(out + n, (uint64_t)f);
            n += sq_put_varint(out + n, (uint64_t)(l - f));
        }
        f = nf;
        l = nl;
        have_last = true;
    }
    if (have_last) {
        n += sq_put_varint(out + n, (uint64_t)f);
        n += sq_put_varint(out + n, (uint64_t)(l - f));
    }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

/* The range list argv[0] clipped to the rowids in [lo, hi], as the function's result. */
static void ranges_clip(sqlite3_context *ctx, sqlite3_value **argv, int64_t lo, int64_t hi)
{
    int la = sqlite3_value_bytes(argv[0]);
    const uint8_t *p = sqlite3_value_blob(argv[0]), *end = p + la;
    int64_t f, l;
    uint8_t *out = sqlite3_malloc(la + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    while (sq_next_range(&p, end, &f, &l)) {
        if (l < lo || f > hi) continue;
        if (f < lo) f = lo;
        if (l > hi) l = hi;
        n += sq_put_varint(out + n, (uint64_t)f);
        n += sq_put_varint(out + n, (uint64_t)(l - f));
    }
    sqlite3_result_blob(ctx, out, (int)n, sqlite3_free);
}

/* SQL lt_ranges_prune(list, upto): the list without rowids <= upto. */
static void fn_ranges_prune(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t upto = sqlite3_value_int64(argv[1]);
    if (upto == INT64_MAX) upto--; /* rowids never reach it; keeps the +1 defined */
    ranges_clip(ctx, argv, upto + 1, INT64_MAX);
}

/* SQL lt_ranges_cut(list, from): the list without rowids >= from. */
static void fn_ranges_cut(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t from = sqlite3_value_int64(argv[1]);
    if (from == INT64_MIN) from++;
    ranges_clip(ctx, argv, INT64_MIN, from - 1);
}

/* ---- in-memory maps ------------------------------------------------------------------- */

static void cache_clear(idcache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        lt_free(c->e[i].key);
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
    while (c->e[i].hash)
        i = (i + 1) & (c->cap - 1);
    c->e[i] = ent;
    c->n++;
}

/* Remembers key -> id. A failure only costs a later lookup, so it is not reported. */
static void cache_put(idcache *c, uint64_t h, const void *key, size_t klen, int64_t id)
{
    if (c->n >= CACHE_MAX) cache_clear(c);
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cache_ent *old = c->e, *e = lt_calloc(cap, sizeof *e);
        size_t old_cap = c->cap;
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

static size_t tmap_home(const tmap *m, const uint8_t id[16])
{
    return hash64(id, 16, 0x7472) & (m->cap - 1);
}

/* The summary row of trace id, or 0. */
static int64_t tmap_get(const tmap *m, const uint8_t id[16])
{
    if (!m->cap) return 0;
    for (size_t i = tmap_home(m, id);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].row) return 0;
        if (memcmp(m->e[i].id, id, 16) == 0) return m->e[i].row;
    }
}

static int tmap_put(tmap *m, const uint8_t id[16], int64_t row)
{
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        tmap grown = {.e = lt_calloc(cap, sizeof(tmap_ent)), .cap = cap};
        if (!grown.e) return LT_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].row) {
                size_t j = tmap_home(&grown, m->e[i].id);
                while (grown.e[j].row)
                    j = (j + 1) & (cap - 1);
                grown.e[j] = m->e[i];
                grown.n++;
            }
        lt_free(m->e);
        *m = grown;
    }
    size_t i = tmap_home(m, id);
    while (m->e[i].row && memcmp(m->e[i].id, id, 16) != 0)
        i = (i + 1) & (m->cap - 1);
    if (!m->e[i].row) m->n++;
    memcpy(m->e[i].id, id, 16);
    m->e[i].row = row;
    return 0;
}

/* Removes id (backward-shift deletion keeps probe chains whole). */
static void tmap_del(tmap *m, const uint8_t id[16])
{
    if (!m->cap) return;
    size_t mask = m->cap - 1, i = tmap_home(m, id);
    while (m->e[i].row && memcmp(m->e[i].id, id, 16) != 0)
        i = (i + 1) & mask;
    if (!m->e[i].row) return;
    m->e[i].row = 0;
    m->n--;
    for (size_t j = (i + 1) & mask; m->e[j].row; j = (j + 1) & mask) {
        size_t k = tmap_home(m, m->e[j].id);
        /* move e[j] into the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        m->e[i] = m->e[j];
        m->e[j].row = 0;
        i = j;
    }
}

static void tmap_free(tmap *m)
{
    lt_free(m->e);
    *m = (tmap){0};
}

static int64_t trace_key(const uint8_t id[16])
{
    uint64_t k;
    memcpy(&k, id, 8);
    return (int64_t)k;
}

/* ---- segments -------------------------------------------------------------------------- */

void sq_seg_path(const sq_store *s, uint32_t n, char *buf, size_t len)
{
    snprintf(buf, len, "%s/blobs-%08" PRIu32 ".seg", s->dir, n);
}

/* Opens segment n for writing at cur_size (truncating anything past it). */
static int seg_open(sq_store *s, uint32_t n, uint64_t size)
{
    char path[4200];
    sq_seg_path(s, n, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_err(errno, "open", path);
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size != size && ftruncate(fd, (off_t)size) != 0) {
        int rc = errno_err(errno, "truncate", path);
        close(fd);
        return rc;
    }
    if (s->cur_fd >= 0) close(s->cur_fd);
    s->cur_fd = fd;
    s->cur_seg = n;
    s->cur_size = size;
    s->seg_extra = 0;
    return 0;
}

/* Starts the next segment; the finished one is synced first so that a rolled segment is
 * always whole on disk. */
static int seg_roll(sq_store *s)
{
    if (s->cur_fd >= 0 && fdatasync(s->cur_fd) != 0) return errno_err(errno, "sync", "segment");
    return seg_open(s, s->cur_seg + 1, 0);
}

static int seg_write(sq_store *s, const void *p, size_t n)
{
    const char *c = p;
    uint64_t at = s->cur_size;
    while (n) {
        ssize_t w = pwrite(s->cur_fd, c, n, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return errno_err(w < 0 ? errno : ENOSPC, "write", "segment");
        c += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    if (LT_SQLITE_SYNCHRONOUS >= 2 && fdatasync(s->cur_fd) != 0)
        return errno_err(errno, "sync", "segment");
    return 0;
}

/* Sums the segment files and finds the lowest and highest numbers (0 when none). */
void sq_seg_scan(sq_store *s, uint32_t *lo, uint32_t *hi)
{
    uint64_t total = 0;
    *lo = *hi = 0;
    DIR *d = opendir(s->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        unsigned n;
        char tail[8];
        if (sscanf(e->d_name, "blobs-%8u.se%1s", &n, tail) != 2 || n == 0) continue;
        char path[4200];
        struct stat st;
        sq_seg_path(s, n, path, sizeof path);
        if (stat(path, &st) != 0) continue;
        total += (uint64_t)st.st_size;
        if (!*lo || n < *lo) *lo = n;
        if (n > *hi) *hi = n;
    }
    if (d) closedir(d);
    atomic_store(&s->seg_bytes, total);
}

/* Unlinks segments numbered below keep, except the one being written. */
static void seg_unlink_below(sq_store *s, uint32_t keep)
{
    uint32_t lo, hi;
    sq_seg_scan(s, &lo, &hi);
    for (uint32_t n = lo; n && n < keep && n <= hi; n++) {
        if (n == s->cur_seg) continue;
        char path[4200];
        sq_seg_path(s, n, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("store: unlink %s: %s", path, strerror(errno));
    }
    sq_seg_scan(s, &lo, &hi);
}

void sq_fdc_close(fdcache *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->fd[i] >= 0) close(c->fd[i]);
    c->n = 0;
}

/* A descriptor for segment seg, or -1 when it is gone (retention removed it). */
static int fdc_get(const sq_store *s, fdcache *c, uint32_t seg)
{
    for (int i = 0; i < c->n; i++)
        if (c->seg[i] == seg) return c->fd[i];
    char path[4200];
    sq_seg_path(s, seg, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC), slot;
    if (c->n < FD_CACHE) {
        slot = c->n++;
    } else {
        slot = (int)(c->next++ % FD_CACHE);
        if (c->fd[slot] >= 0) close(c->fd[slot]);
    }
    c->seg[slot] = seg;
    c->fd[slot] = fd;
    return fd;
}

/* Reads n bytes at loc into p; false (logged) when they are not there. */
bool sq_seg_read(const sq_store *s, fdcache *c, int64_t loc, size_t n, uint8_t *p)
{
    uint32_t seg = (uint32_t)((uint64_t)loc >> SEG_SHIFT);
    uint64_t off = (uint64_t)loc & ((UINT64_C(1) << SEG_SHIFT) - 1);
    int fd = fdc_get(s, c, seg);
    if (fd < 0) return false;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            log_warn("store: segment %" PRIu32 " is short at %" PRIu64, seg, off);
            return false;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

/* ---- opening and closing --------------------------------------------------------------- */

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

/* Opens a connection with our settings and SQL functions (read-only when ro: SQLite then
 * never writes the database, not even a checkpoint at close); 0 and *out, or an error. */
int sq_open_conn(const char *path, bool create, bool ro, int cache_kib, sqlite3 **out)
{
    static const struct {
        const char *name;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {{"lt_services_merge", fn_services_merge},
               {"lt_ranges_append", fn_ranges_append},
               {"lt_ranges_prune", fn_ranges_prune},
               {"lt_ranges_cut", fn_ranges_cut}};
    sqlite3 *db = NULL;
    int flags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &db, flags, NULL), src = SQLITE_OK;
    if (rc != SQLITE_OK) {
        rc = sq_err(db, rc, "open");
        if (!rc) rc = LT_EIO;
        goto out;
    }
    sqlite3_busy_timeout(db, 10000);
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d; PRAGMA temp_store=MEMORY;", cache_kib);
    if ((rc = sq_exec_sql(db, sql))) goto out;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0] && src == SQLITE_OK; i++)
        src = sqlite3_create_function_v2(db, fns[i].name, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                         NULL, fns[i].fn, NULL, NULL, NULL);
    if (src == SQLITE_OK) sq_genai_sql_functions(db, &src);
    if (src != SQLITE_OK) rc = sq_err(db, src, "create_function");
out:
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* Removes the newest batches whose bodies lie past the end of the current segment: the
 * segment lost its tail (power loss before it reached the disk). Their rows go, and the
 * summaries forget them as retention makes them forget deleted rows: ranges cut, span and
 * error counts taken back, summaries left with nothing deleted (with their index entries).
 * Otherwise the next rows, which reuse the lost row ids, would fall into stale ranges and
 * the counts would include spans nobody can read. Runs at open, before the summary map is
 * loaded. */
static int drop_lost_batches(sq_store *s, uint64_t size)
{
    char sql[512];
    int64_t span_from = 0, log_from = 0;
    int rc;
    for (int sig = SIG_SPANS; sig <= SIG_LOGS; sig++) {
        snprintf(sql, sizeof sql,
                 "SELECT min(first_id) FROM batches WHERE seg = %" PRIu32 " AND seg_end > %" PRIu64
                 " AND signal = %d",
                 s->cur_seg, size, sig);
        if ((rc = sq_query_int(s->wdb, sql, sig == SIG_SPANS ? &span_from : &log_from))) return rc;
    }
    if ((rc = sq_exec_sql(s->wdb, "BEGIN IMMEDIATE"))) return rc;
    if ((rc = sq_exec_stmt(s->wdb, s->ws[W_GONE_CLEAR], "recover"))) goto out;
    sqlite3_stmt *gs = s->ws[W_GONE_SPANS], *gl = s->ws[W_GONE_LOGS], *cut = s->ws[W_CUT];
    sqlite3_bind_int64(gs, 1, span_from ? span_from : INT64_MAX);
    sqlite3_bind_int64(gs, 2, INT64_MAX);
    sqlite3_bind_int64(gl, 1, log_from ? log_from : INT64_MAX);
    sqlite3_bind_int64(gl, 2, INT64_MAX);
    sqlite3_bind_int64(cut, 1, span_from ? span_from : INT64_MAX);
    sqlite3_bind_int64(cut, 2, log_from ? log_from : INT64_MAX);
    if ((rc = sq_exec_stmt(s->wdb, gs, "recover")) || (rc = sq_exec_stmt(s->wdb, gl, "recover")) ||
        (rc = sq_exec_stmt(s->wdb, cut, "recover")))
        goto out;
    sqlite3_stmt *em = s->ws[W_EMPTY];
    int src;
    while ((src = sqlite3_step(em)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(em, 0);
        const void *tid = sqlite3_column_blob(em, 1);
        sqlite3_bind_int64(s->ws[W_TRACE_DEL], 1, id);
        if ((rc = sq_exec_stmt(s->wdb, s->ws[W_TRACE_DEL], "recover"))) break;
        if (tid && sqlite3_column_bytes(em, 1) == 16) {
            sqlite3_bind_int64(s->ws[W_IDX_DEL], 1, trace_key(tid));
            sqlite3_bind_int64(s->ws[W_IDX_DEL], 2, id);
            if ((rc = sq_exec_stmt(s->wdb, s->ws[W_IDX_DEL], "recover"))) break;
        }
    }
    sqlite3_reset(em);
    if (!rc && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "recover");
    /* the views of the lost spans leave the rollups too, their text the search index */
    if (!rc && span_from) rc = sq_genai_drop_from(s, span_from);
    if (!rc && (span_from || log_from)) rc = sq_search_drop_from(s, span_from, log_from);
    if (!rc && span_from) {
        snprintf(sql, sizeof sql, "DELETE FROM spans WHERE id >= %" PRId64, span_from);
        rc = sq_exec_sql(s->wdb, sql);
    }
    if (!rc && log_from) {
        snprintf(sql, sizeof sql, "DELETE FROM logs WHERE id >= %" PRId64, log_from);
        rc = sq_exec_sql(s->wdb, sql);
    }
    if (!rc) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM batches WHERE seg = %" PRIu32 " AND seg_end > %" PRIu64, s->cur_seg,
                 size);
        rc = sq_exec_sql(s->wdb, sql);
    }
out:
    if (!rc) return sq_exec_sql(s->wdb, "COMMIT");
    sq_exec_sql(s->wdb, "ROLLBACK");
    return rc;
}

/* Brings the segments in line with the committed batches: the current segment is the
 * last batch's, cut to its end (a crash may have left an uncommitted tail); segments no
 * batch points into are removed. */
static int recover_segments(sq_store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    uint32_t lo, hi, seg = 0;
    uint64_t end = 0;
    if (sqlite3_prepare_v2(s->wdb, "SELECT seg, seg_end FROM batches ORDER BY id DESC LIMIT 1", -1,
                           &st, NULL) != SQLITE_OK)
        return sq_err(s->wdb, SQLITE_ERROR, "recover");
    if (sqlite3_step(st) == SQLITE_ROW) {
        seg = (uint32_t)sqlite3_column_int64(st, 0);
        end = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sq_seg_scan(s, &lo, &hi);
    if (!seg) {
        /* nothing committed points into any segment: start after the highest number */
        seg = hi ? hi + 1 : 1;
        end = 0;
    }
    char path[4200];
    for (uint32_t n = seg + 1; n && n <= hi; n++) {
        sq_seg_path(s, n, path, sizeof path);
        unlink(path);
    }
    sq_seg_path(s, seg, path, sizeof path);
    struct stat sb;
    uint64_t size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    s->cur_seg = seg;
    if (size < end) {
        log_error("store: %s is shorter than committed (%" PRIu64 " < %" PRIu64
                  " bytes): dropping the batches it lost",
                  path, size, end);
        if ((rc = drop_lost_batches(s, size))) return rc;
        end = size;
    }
    if ((rc = seg_open(s, seg, end))) return rc;
    int64_t min_seg = 0;
    if ((rc = sq_query_int(s->wdb, "SELECT min(seg) FROM batches", &min_seg))) return rc;
    seg_unlink_below(s, min_seg ? (uint32_t)min_seg : seg);
    return 0;
}

/* Sets up the writer connection: a new file gets its page size, incremental auto-vacuum
 * and the schema; an existing one is checked for its version and recovered. */
static int init_writer(sq_store *s, char *errbuf, size_t errlen)
{
    int64_t version = 0, v = 0;
    int rc = 0;
    char sql[256];
    if ((rc = sq_query_int(s->wdb, "PRAGMA user_version", &version))) goto out;
    if (version > SCHEMA_VERSION) {
        snprintf(errbuf, errlen, "%s was written by a newer llmtrace (schema %" PRId64 ")",
                 s->dbpath, version);
        rc = LT_EUNSUPPORTED;
        goto out;
    }
    if (version && version < SCHEMA_VERSION) {
        /* no migration yet: schema 1 had no GenAI views, rollups or content table */
        snprintf(errbuf, errlen,
                 "%s was written by an older llmtrace (schema %" PRId64 ", this one uses %d) and"
                 " cannot be upgraded in place yet: move it away or use another data directory",
                 s->dbpath, version, SCHEMA_VERSION);
        rc = LT_EUNSUPPORTED;
        goto out;
    }
    if (version == 0) {
        snprintf(sql, sizeof sql, "PRAGMA page_size=%d; PRAGMA auto_vacuum=INCREMENTAL;",
                 LT_SQLITE_PAGE_SIZE);
        if ((rc = sq_exec_sql(s->wdb, sql))) goto out;
    }
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%d; PRAGMA wal_autocheckpoint=%d;"
             " PRAGMA journal_size_limit=%d;",
             LT_SQLITE_SYNCHRONOUS, LT_SQLITE_CHECKPOINT_PAGES, 64 << 20);
    if ((rc = sq_exec_sql(s->wdb, sql))) goto out;
    if (version == 0) {
        if ((rc = sq_exec_sql(s->wdb, "BEGIN IMMEDIATE"))) goto out;
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", SCHEMA_VERSION);
        if ((rc = sq_exec_sql(s->wdb, schema_sql)) || (rc = sq_exec_sql(s->wdb, sq_genai_schema)) ||
            (rc = sq_exec_sql(s->wdb, sq_content_schema)) || (rc = sq_exec_sql(s->wdb, sql)) ||
            (rc = sq_exec_sql(s->wdb, "COMMIT"))) {
            sq_exec_sql(s->wdb, "ROLLBACK");
            goto out;
        }
    }
    if ((rc =
             sq_exec_sql(s->wdb, "CREATE TEMP TABLE IF NOT EXISTS gone(id INTEGER PRIMARY KEY,"
                                 " n INTEGER NOT NULL DEFAULT 0, err INTEGER NOT NULL DEFAULT 0)")))
        goto out;
    for (int i = 0; i < W_COUNT; i++) {
        int prc = sqlite3_prepare_v3(s->wdb, wsql_text(i), -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i],
                                     NULL);
        if (prc != SQLITE_OK) {
            rc = sq_err(s->wdb, prc, "prepare");
            goto out;
        }
    }
    if ((rc = sq_genai_open(s)) || (rc = recover_segments(s))) goto out;
    if ((rc = sq_query_int(s->wdb,
                           "SELECT max(coalesce((SELECT max(id) FROM spans), 0),"
                           " coalesce((SELECT max(id) FROM genai), 0))",
                           &v)))
        goto out;
    s->next_span = v + 1;
    if ((rc = sq_query_int(s->wdb, "SELECT max(id) FROM logs", &v))) goto out;
    s->next_log = v + 1;
    if ((rc = sq_query_int(s->wdb, "SELECT count(*) FROM trace_idx", &s->idx_entries))) goto out;
    /* summaries created since the last index flush are found through the map */
    int64_t upto = 0;
    if ((rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'indexed_upto'", &upto))) goto out;
    s->prev_upto = s->removed_upto = upto;
    sqlite3_stmt *st = NULL;
    int src =
        sqlite3_prepare_v2(s->wdb, "SELECT id, trace_id FROM traces WHERE id > ?1", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, upto);
        while ((src = sqlite3_step(st)) == SQLITE_ROW && !rc)
            if (sqlite3_column_bytes(st, 1) == 16)
                rc = tmap_put(&s->pending, sqlite3_column_blob(st, 1), sqlite3_column_int64(st, 0));
    }
    sqlite3_finalize(st);
    if (!rc && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "load pending summaries");
    s->unflushed = s->pending.n;
    if (!rc) rc = sq_content_open(s, version == 0);
    if (!rc) rc = sq_search_open(s);
    if (!rc) rc = sq_ckpt_start(s);
out:
    if (rc && errbuf && errlen && !errbuf[0])
        snprintf(errbuf, errlen, "cannot initialise %s: %s", s->dbpath,
                 rc == LT_EIO ? sqlite3_errmsg(s->wdb) : lt_strerror(rc));
    return rc;
}

/* Another process writes this store: check that it is one we can read. */
static int init_read_only(sq_store *s, char *errbuf, size_t errlen)
{
    sqlite3 *db = NULL;
    int64_t version = 0;
    s->read_only = true;
    int rc = sq_open_conn(s->dbpath, false, s->ro_conns, LT_SQLITE_READER_CACHE_KIB, &db);
    if (!rc) rc = sq_query_int(db, "PRAGMA user_version", &version);
    sqlite3_close(db);
    if (rc)
        snprintf(errbuf, errlen, "cannot read %s", s->dbpath);
    else if (version != SCHEMA_VERSION) {
        snprintf(errbuf, errlen, "%s has schema %" PRId64 ", this llmtrace reads %d", s->dbpath,
                 version, SCHEMA_VERSION);
        rc = version ? LT_EUNSUPPORTED : LT_EBUSY;
    }
    return rc;
}

/* Writes, retention: only the process holding the directory's lock. */
int sq_refuse_read_only(const char *what)
{
    log_warn("store: cannot %s: another process writes to this store (opened read-only)", what);
    return LT_EBUSY;
}

static void sq_close(lt_store *st);
static const lt_store_ops sqlite_ops;

/* Opens (creating when missing) the store kept in directory dir. Returns 0 and *out, or
 * an error code with a one-line reason in errbuf. When another process holds the store
 * for writing, it is opened read-only (writes and retention then fail with LT_EBUSY).
 * With read_only (store_open_read_only) an existing store is opened as such whoever holds
 * it: no directory, lock file or database is created, and connections are read-only.
 * Any thread; the store is thread-safe. */
int store_sqlite_open(const char *dir, bool read_only, lt_store **out, char *errbuf, size_t errlen)
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
    s->cur_fd = -1;
    s->lock_fd = -1;
    s->seg_max = LT_SQLITE_SEGMENT_BYTES;
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->plock, NULL);
    pthread_mutex_init(&s->rlock, NULL);
    pthread_cond_init(&s->rcond, NULL);
    if (strlen(dir) > 3000) {
        snprintf(errbuf, errlen, "store directory path too long");
        rc = LT_EINVAL;
        goto out;
    }
    if (read_only) {
        struct stat st;
        size_t n = strlen(dir) + sizeof "/llmtrace.db";
        if (!(s->dir = lt_strndup(dir, strlen(dir))) || !(s->dbpath = lt_malloc(n))) {
            rc = LT_ENOMEM;
            goto out;
        }
        snprintf(s->dbpath, n, "%s/llmtrace.db", dir);
        if (stat(s->dbpath, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(errbuf, errlen, "no store in %s", dir);
            rc = LT_ENOTFOUND;
            goto out;
        }
        s->ro_conns = true;
        rc = init_read_only(s, errbuf, errlen);
        goto out;
    }
    if (mkdirs(dir) != 0) {
        snprintf(errbuf, errlen, "cannot create directory %s: %s", dir, strerror(errno));
        rc = LT_EIO;
        goto out;
    }
    size_t n = strlen(dir) + sizeof "/llmtrace.db";
    if (!(s->dir = lt_strndup(dir, strlen(dir))) || !(s->dbpath = lt_malloc(n))) {
        rc = LT_ENOMEM;
        goto out;
    }
    snprintf(s->dbpath, n, "%s/llmtrace.db", dir);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/llmtrace.lock", dir);
    if ((s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        snprintf(errbuf, errlen, "cannot open %s: %s", lock, strerror(errno));
        rc = LT_EIO;
        goto out;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            snprintf(errbuf, errlen, "cannot lock %s: %s", lock, strerror(errno));
            rc = LT_EIO;
            goto out;
        }
        rc = init_read_only(s, errbuf, errlen);
        goto out;
    }
    if ((rc = sq_open_conn(s->dbpath, true, false, LT_SQLITE_WRITER_CACHE_KIB, &s->wdb))) {
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
    sq_ckpt_stop(s);
    for (int i = 0; i < s->n_readers; i++) {
        for (int j = 0; j < R_COUNT; j++)
            sqlite3_finalize(s->readers[i].st[j]);
        sqlite3_close(s->readers[i].db);
    }
    if (s->wdb && s->genai && s->search && !(buf_reset(&s->enc), sq_begin_write(s))) {
        /* best effort: the rollups take what waits in memory and the search index the
         * pending text, so that readers of the closed store find short tails (a kill leaves
         * them longer, never inconsistent) */
        int rc = sq_genai_prepare(s, true);
        if (!rc) rc = sq_search_prepare(s, true);
        sq_end_write(s, rc, s->next_span, s->next_log);
    }
    sq_genai_close(s);
    sq_search_close(s);
    sq_content_close(s);
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(s->ws[i]);
    if (s->wdb) {
        sq_exec_sql(s->wdb, "PRAGMA optimize");
        sqlite3_close(s->wdb);
    }
    if (s->cur_fd >= 0) {
        fdatasync(s->cur_fd);
        close(s->cur_fd);
    }
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the lock */
    cache_clear(&s->res_cache);
    cache_clear(&s->scope_cache);
    cache_clear(&s->op_cache);
    tmap_free(&s->pending);
    buf_free(&s->enc);
    buf_free(&s->key);
    buf_free(&s->svc);
    buf_free(&s->ranges);
    buf_free(&s->gdims);
    lt_free(s->refs);
    lt_free(s->facts);
    lt_free(s->fresh.v);
    lt_free(s->dropped.v);
    lt_free(s->dir);
    lt_free(s->dbpath);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->plock);
    pthread_mutex_destroy(&s->rlock);
    pthread_cond_destroy(&s->rcond);
    lt_free(s);
}

/* ---- writing ------------------------------------------------------------------------- */

/* Finds or adds the resource (or scope) whose encoding is s->key[0..blen), under schema_url.
 * The cache key is the encoding, the URL and the URL's length, so it is unambiguous. */
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
    int src;
    *id = 0;
    while ((src = sqlite3_step(find)) == SQLITE_ROW) {
        lt_str url = {(const char *)sqlite3_column_text(find, 1),
                      (size_t)sqlite3_column_bytes(find, 1)};
        const void *body = sqlite3_column_blob(find, 2);
        size_t bl = (size_t)sqlite3_column_bytes(find, 2);
        if (lt_str_eq(url, schema_url) && bl == blen &&
            (!bl || memcmp(body, s->key.data, bl) == 0)) {
            *id = sqlite3_column_int64(find, 0);
            break;
        }
    }
    sqlite3_reset(find);
    if (src != SQLITE_ROW && src != SQLITE_DONE) return sq_err(s->wdb, src, "find resource");
    if (!*id) {
        sqlite3_stmt *add = s->ws[scope ? W_SCOPE_ADD : W_RES_ADD];
        int k = 1, rc;
        sqlite3_bind_int64(add, k++, (int64_t)h);
        if (!scope) sq_bind_str(add, k++, service);
        sq_bind_str(add, k++, schema_url);
        sqlite3_bind_blob(add, k++, blen ? s->key.data : "", (int)blen, SQLITE_STATIC);
        if ((rc = sq_exec_stmt(s->wdb, add, "add resource"))) return rc;
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
    sq_bind_str(st, 1, service);
    sq_bind_str(st, 2, name);
    sqlite3_bind_int64(st, 3, kind);
    int rc = sq_exec_stmt(s->wdb, st, "add operation");
    if (!rc) cache_put(&s->op_cache, h, s->key.data, s->key.len, 1);
    return rc;
}

static int reserve_refs(sq_store *s, size_t n)
{
    if (n <= s->refs_cap) return 0;
    size_t cap = s->refs_cap ? s->refs_cap : 256;
    while (cap < n)
        cap *= 2;
    item_ref *r = lt_realloc(s->refs, cap * sizeof *r);
    if (!r) return LT_ENOMEM;
    s->refs = r;
    s->refs_cap = cap;
    return 0;
}

static int reserve_facts(sq_store *s, size_t n)
{
    if (n <= s->facts_cap) return 0;
    size_t cap = s->facts_cap ? s->facts_cap : 256;
    while (cap < n)
        cap *= 2;
    gfacts *f = lt_realloc(s->facts, cap * sizeof *f);
    if (!f) return LT_ENOMEM;
    s->facts = f;
    s->facts_cap = cap;
    return 0;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const item_ref *a = pa, *b = pb;
    int c = memcmp(a->trace_id, b->trace_id, 16);
    if (c) return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The summary row of trace id: the pending map, then trace_idx; 0 when there is none. */
static int find_trace(sq_store *s, const uint8_t id[16], int64_t *row)
{
    if ((*row = tmap_get(&s->pending, id))) return 0;
    sqlite3_stmt *st = s->ws[W_TRACE_FIND];
    sqlite3_bind_int64(st, 1, trace_key(id));
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *row = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_err(s->wdb, rc, "find trace");
}

static int idrows_push(idrows *l, const uint8_t id[16], int64_t row)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *v = lt_realloc(l->v, cap * sizeof *l->v);
        if (!v) return LT_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n].id, id, 16);
    l->v[l->n++].row = row;
    return 0;
}

typedef struct {
    int64_t key, row;
} idx_ent;

static int idx_cmp(const void *pa, const void *pb)
{
    const idx_ent *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Writes the summaries of the map not yet indexed into trace_idx, sorted (so each leaf
 * is written once), inside the caller's transaction; the map changes after the commit. */
static int flush_index(sq_store *s)
{
    tmap *m = &s->pending;
    int64_t threshold = s->idx_entries / 16;
    if (threshold < INDEX_FLUSH_MIN) threshold = INDEX_FLUSH_MIN;
    if (threshold > INDEX_FLUSH_MAX) threshold = INDEX_FLUSH_MAX;
    if ((int64_t)s->unflushed < threshold) return 0;
    idx_ent *v = lt_malloc((m->n ? m->n : 1) * sizeof *v);
    if (!v) return LT_ENOMEM;
    size_t n = 0;
    int64_t upto = s->prev_upto;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].row > s->prev_upto) {
            v[n++] = (idx_ent){trace_key(m->e[i].id), m->e[i].row};
            if (m->e[i].row > upto) upto = m->e[i].row;
        }
    if (n > 1) qsort(v, n, sizeof *v, idx_cmp);
    int rc = 0;
    sqlite3_stmt *st = s->ws[W_IDX_ADD];
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 1, v[i].key);
        sqlite3_bind_int64(st, 2, v[i].row);
        rc = sq_exec_stmt(s->wdb, st, "index traces");
    }
    lt_free(v);
    if (!rc) {
        sqlite3_stmt *ms = s->ws[W_META_SET];
        sqlite3_bind_text(ms, 1, "indexed_upto", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ms, 2, upto);
        rc = sq_exec_stmt(s->wdb, ms, "index mark");
    }
    if (!rc) s->flush_upto = upto;
    return rc;
}

/* Starts a write: the transaction, and a trace_idx flush and a rollup flush when due. */
int sq_begin_write(sq_store *s)
{
    s->fresh.n = 0;
    s->dropped.n = 0;
    s->flush_upto = 0;
    int rc = sq_exec_stmt(s->wdb, s->ws[W_BEGIN], "begin");
    if (rc) return rc;
    if ((rc = flush_index(s)) || (rc = sq_genai_prepare(s, false)) ||
        (rc = sq_content_prepare(s)) || (rc = sq_search_prepare(s, false))) {
        sq_exec_stmt(s->wdb, s->ws[W_ROLLBACK], "rollback");
        s->flush_upto = 0;
        sq_genai_rolled_back(s);
        sq_content_rolled_back(s);
        sq_search_rolled_back(s);
    }
    return rc;
}

/* Puts a summary the transaction created into the map, before the commit (so that a
 * reader whose snapshot has the row finds it). */
static int publish(sq_store *s, const uint8_t id[16], int64_t row)
{
    int rc = idrows_push(&s->fresh, id, row);
    if (rc) return rc;
    pthread_mutex_lock(&s->plock);
    rc = tmap_put(&s->pending, id, row);
    pthread_mutex_unlock(&s->plock);
    return rc;
}

/* After a commit that flushed the index: the generation indexed by the flush before
 * leaves the map (this one stays until the next, for readers with older snapshots). */
static void drop_generation(sq_store *s)
{
    tmap *m = &s->pending, kept = {0};
    size_t cap = 1024;
    while (cap * 7 < m->n * 10)
        cap *= 2;
    kept.e = lt_calloc(cap, sizeof(tmap_ent));
    if (!kept.e) return; /* keep everything; the next flush tries again */
    kept.cap = cap;
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].row > s->prev_upto) {
            size_t j = tmap_home(&kept, m->e[i].id);
            while (kept.e[j].row)
                j = (j + 1) & (cap - 1);
            kept.e[j] = m->e[i];
            kept.n++;
        }
    lt_free(m->e);
    *m = kept;
    s->removed_upto = s->prev_upto;
}

/* Ends a write begun by sq_begin_write: on rc 0 writes the bodies to the segment and commits,
 * then publishes the summaries created and deleted; otherwise (or when that fails) rolls everything
 * back, segment included, and forgets cached ids of rows the rollback removed. */
int sq_end_write(sq_store *s, int rc, int64_t span0, int64_t log0)
{
    uint64_t size0 = s->cur_size;
    if (!rc && s->enc.len) {
        rc = seg_write(s, s->enc.data, s->enc.len);
        if (!rc) s->cur_size += s->enc.len;
    }
    if (!rc) rc = sq_exec_stmt(s->wdb, s->ws[W_COMMIT], "commit");
    if (rc) {
        if (!sqlite3_get_autocommit(s->wdb)) sq_exec_stmt(s->wdb, s->ws[W_ROLLBACK], "rollback");
        if (s->cur_size != size0 || s->enc.len) {
            s->cur_size = size0;
            if (ftruncate(s->cur_fd, (off_t)size0) != 0)
                log_warn("store: cannot cut the segment back: %s", strerror(errno));
        }
        s->next_span = span0;
        s->next_log = log0;
        pthread_mutex_lock(&s->plock);
        for (size_t i = 0; i < s->fresh.n; i++)
            if (tmap_get(&s->pending, s->fresh.v[i].id) == s->fresh.v[i].row)
                tmap_del(&s->pending, s->fresh.v[i].id);
        pthread_mutex_unlock(&s->plock);
        cache_clear(&s->res_cache);
        cache_clear(&s->scope_cache);
        cache_clear(&s->op_cache);
        sq_genai_rolled_back(s);
        sq_content_rolled_back(s);
        sq_search_rolled_back(s);
        return rc;
    }
    atomic_fetch_add(&s->seg_bytes, s->enc.len);
    pthread_mutex_lock(&s->plock);
    if (s->flush_upto) {
        s->idx_entries += (int64_t)s->unflushed;
        s->unflushed = 0;
        drop_generation(s);
        s->prev_upto = s->flush_upto;
    }
    s->unflushed += s->fresh.n;
    for (size_t i = 0; i < s->dropped.n; i++)
        if (tmap_get(&s->pending, s->dropped.v[i].id) == s->dropped.v[i].row)
            tmap_del(&s->pending, s->dropped.v[i].id);
    pthread_mutex_unlock(&s->plock);
    return 0;
}

/* Makes sure the bodies of this call go to a segment with room, before locations are
 * computed. */
static int ready_segment(sq_store *s)
{
    if (s->cur_fd < 0) return seg_open(s, s->cur_seg ? s->cur_seg : 1, s->cur_size);
    /* content stored while a segment is the newest counts towards its size: retention by
     * size frees a segment with the content only it references */
    if (s->cur_size + s->seg_extra >= s->seg_max) return seg_roll(s);
    return 0;
}

static int64_t loc_of(const sq_store *s, size_t off)
{
    return (int64_t)(((uint64_t)s->cur_seg << SEG_SHIFT) | (s->cur_size + off));
}

/* What one call adds to one trace's summary. */
typedef struct {
    const uint8_t *tid;
    uint64_t start, end;
    uint32_t count, errors;
    const lt_span *root;
    lt_str root_service;
    lt_str svc[MAX_SERVICES];
    uint32_t n_svc;
    gtotals g;
} trace_agg;

static void agg_add(trace_agg *t, const item_ref *r, const gfacts *f)
{
    const lt_span *sp = r->item;
    if (sp->genai) sq_gtotals_add(&t->g, sp->genai, f);
    if (!t->count) {
        t->tid = r->trace_id;
        t->start = sp->start_time_unix_nano;
        t->end = sp->end_time_unix_nano;
    }
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

/* Adds one call's part of a trace (spans first..last) to its summary; *row is the
 * summary's row id. */
static int summarise(sq_store *s, trace_agg *t, int64_t first, int64_t last, int64_t *row)
{
    int rc = find_trace(s, t->tid, row);
    if (rc) return rc;
    if (t->n_svc > 1) qsort(t->svc, t->n_svc, sizeof t->svc[0], str_cmp_q);
    buf_reset(&s->svc);
    services_encode(&s->svc, t->svc, t->n_svc);
    buf_reset(&s->ranges);
    buf_range(&s->ranges, first, last);
    if (s->svc.oom || s->ranges.oom) return LT_ENOMEM;
    sqlite3_stmt *st = s->ws[*row ? W_TRACE_SPANS : W_TRACE_ADD];
    int k = 1;
    if (*row)
        sqlite3_bind_int64(st, k++, *row);
    else
        sqlite3_bind_blob(st, k++, t->tid, 16, SQLITE_STATIC);
    sq_bind_u64(st, k++, t->start);
    sq_bind_u64(st, k++, t->end);
    if (t->root) {
        sq_bind_str(st, k++, t->root->name);
        sq_bind_str(st, k++, t->root_service);
    } else {
        sqlite3_bind_null(st, k++);
        sqlite3_bind_null(st, k++);
    }
    sqlite3_bind_int64(st, k++, t->count);
    sqlite3_bind_int64(st, k++, t->errors);
    sq_bind_buf(st, k++, &s->svc);
    sq_bind_buf(st, k++, &s->ranges);
    if (!*row) sqlite3_bind_blob(st, k++, "", 0, SQLITE_STATIC);
    buf_reset(&s->gdims);
    sq_gdims_encode(&t->g.dims, &s->gdims);
    if (s->gdims.oom) return LT_ENOMEM;
    sqlite3_bind_int64(st, k++, t->g.llm_calls);
    sq_bind_u64(st, k++, t->g.in_tok);
    sq_bind_u64(st, k++, t->g.out_tok);
    sqlite3_bind_double(st, k++, t->g.cost);
    sq_bind_buf(st, k++, &s->gdims);
    if ((rc = sq_exec_stmt(s->wdb, st, "trace summary"))) return rc;
    if (!*row) {
        *row = sqlite3_last_insert_rowid(s->wdb);
        rc = publish(s, t->tid, *row);
    }
    return rc;
}

/* Says once that writes fail for a full disk (every write gets LT_EFULL meanwhile, and
 * the senders retry), and once that they succeed again. Writer lock held. */
static void note_full(sq_store *s, int rc, const char *what)
{
    if (rc == LT_EFULL && !s->full) {
        s->full = true;
        log_error("store: disk full in %s (writing %s): new data is refused (senders get a"
                  " retryable error) until space is freed",
                  s->dir, what);
    } else if (rc == 0 && s->full) {
        s->full = false;
        log_info("store: space was freed in %s: writes succeed again", s->dir);
    }
}

static int sq_write_traces(lt_store *st, const lt_trace_batch *b)
{
    sq_store *s = (sq_store *)st;
    if (s->read_only) return sq_refuse_read_only("write spans");
    size_t n = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            n += b->rs[i].scopes[j].n_spans;
    if (!n) return 0;
    pthread_mutex_lock(&s->wlock);
    int64_t span0 = s->next_span, log0 = s->next_log;
    bool began = false;
    buf_reset(&s->enc);
    int rc = reserve_refs(s, n);
    if (!rc) rc = reserve_facts(s, n);
    if (rc || (rc = ready_segment(s))) goto out;
    if ((rc = sq_begin_write(s))) goto out;
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
                s->refs[k] = (item_ref){.item = &ss->spans[m],
                                        .trace_id = ss->spans[m].trace_id,
                                        .service = service,
                                        .res_id = res_id,
                                        .scope_id = scope_id,
                                        .seq = (uint32_t)k};
        }
    }
    if (n > 1) qsort(s->refs, n, sizeof *s->refs, ref_cmp);
    /* bodies in row order, so a trace's spans of this call are one run of the segment */
    for (size_t i = 0; i < n; i++) {
        s->refs[i].off = s->enc.len;
        const lt_span *sp = s->refs[i].item;
        if (sp->genai) {
            st_facts(sp, s->refs[i].service, &s->facts[i]);
            if ((rc = sq_genai_body_view(s, sp, &s->facts[i], &s->enc))) goto out;
        }
        if ((rc = sq_content_encode_span(s, sp, &s->enc))) goto out;
        s->refs[i].len = s->enc.len - s->refs[i].off;
    }
    if ((rc = sq_content_end(s))) goto out;
    sqlite3_stmt *ins = s->ws[W_SPAN_ADD];
    for (size_t i = 0; i < n;) {
        /* one trace: its summary first (the rows carry its id), then its rows */
        size_t e = i;
        trace_agg t = {0};
        for (; e < n && memcmp(s->refs[e].trace_id, s->refs[i].trace_id, 16) == 0; e++)
            agg_add(&t, &s->refs[e], &s->facts[e]);
        int64_t row, first = s->next_span;
        if ((rc = summarise(s, &t, first, first + (int64_t)(e - i) - 1, &row)) ||
            (rc = sq_search_run(s, SIG_SPANS, &s->refs[i], e - i, first, row)))
            goto out;
        for (; i < e; i++) {
            const item_ref *r = &s->refs[i];
            const lt_span *sp = r->item;
            if (sp->genai) {
                /* a span with a view is a row of genai: the same columns, and the view's */
                if ((rc = sq_genai_write(s, s->next_span, row, sp, r->res_id, r->scope_id,
                                         loc_of(s, r->off), (int64_t)r->len, &s->facts[i])))
                    goto out;
                s->next_span++;
                if ((rc = note_operation(s, r->service, sp->name, sp->kind))) goto out;
                continue;
            }
            sqlite3_bind_int64(ins, 1, s->next_span);
            sqlite3_bind_blob(ins, 2, sp->trace_id, 16, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 3, sp->span_id, 8, SQLITE_STATIC);
            if (sp->has_parent)
                sqlite3_bind_blob(ins, 4, sp->parent_span_id, 8, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, 4);
            sq_bind_str(ins, 5, sp->name);
            sqlite3_bind_int64(ins, 6, sp->kind);
            sq_bind_u64(ins, 7, sp->start_time_unix_nano);
            sq_bind_u64(ins, 8, sp->end_time_unix_nano);
            sqlite3_bind_int64(ins, 9, sp->status_code);
            sqlite3_bind_int64(ins, 10, r->res_id);
            sqlite3_bind_int64(ins, 11, r->scope_id);
            sqlite3_bind_int64(ins, 12, row);
            sqlite3_bind_int64(ins, 13, loc_of(s, r->off));
            sqlite3_bind_int64(ins, 14, (int64_t)r->len);
            if ((rc = sq_exec_stmt(s->wdb, ins, "add span"))) goto out;
            s->next_span++;
            if ((rc = note_operation(s, r->service, sp->name, sp->kind))) goto out;
        }
    }
    sqlite3_stmt *bs = s->ws[W_BATCH_ADD];
    sq_bind_u64(bs, 1, time_now_ns());
    sqlite3_bind_int(bs, 2, SIG_SPANS);
    sqlite3_bind_int64(bs, 3, span0);
    sqlite3_bind_int64(bs, 4, s->next_span - 1);
    sqlite3_bind_int64(bs, 5, s->cur_seg);
    sqlite3_bind_int64(bs, 6, (int64_t)(s->cur_size + s->enc.len));
    rc = sq_exec_stmt(s->wdb, bs, "add batch");
out:
    if (began) rc = sq_end_write(s, rc, span0, log0);
    note_full(s, rc, "spans");
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* Adds the log rows first..last to the summary of trace id (made, span-less, if the
 * trace has not been seen); *row is its row id. */
static int summarise_logs(sq_store *s, const uint8_t id[16], uint64_t time, int64_t first,
                          int64_t last, int64_t *row)
{
    int rc = find_trace(s, id, row);
    if (rc) return rc;
    buf_reset(&s->ranges);
    buf_range(&s->ranges, first, last);
    if (s->ranges.oom) return LT_ENOMEM;
    sqlite3_stmt *st = s->ws[*row ? W_TRACE_LOGS : W_TRACE_ADD];
    if (*row) {
        sqlite3_bind_int64(st, 1, *row);
        sq_bind_buf(st, 2, &s->ranges);
        return sq_exec_stmt(s->wdb, st, "trace logs");
    }
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sq_bind_u64(st, 2, time);
    sq_bind_u64(st, 3, time);
    sqlite3_bind_null(st, 4);
    sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, 0);
    sqlite3_bind_int64(st, 7, 0);
    for (int k = 8; k <= 9; k++)
        sqlite3_bind_blob(st, k, "", 0, SQLITE_STATIC);
    sq_bind_buf(st, 10, &s->ranges);
    for (int k = 11; k <= 13; k++)
        sqlite3_bind_int64(st, k, 0);
    sqlite3_bind_double(st, 14, 0);
    sqlite3_bind_blob(st, 15, "", 0, SQLITE_STATIC);
    if ((rc = sq_exec_stmt(s->wdb, st, "trace summary"))) return rc;
    *row = sqlite3_last_insert_rowid(s->wdb);
    return publish(s, id, *row);
}

static uint64_t log_time(const lt_log_record *lr)
{
    return lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano;
}

static int sq_write_logs(lt_store *st, const lt_log_batch *b)
{
    sq_store *s = (sq_store *)st;
    if (s->read_only) return sq_refuse_read_only("write log records");
    size_t n = 0;
    for (uint32_t i = 0; i < b->n_rl; i++)
        for (uint32_t j = 0; j < b->rl[i].n_scopes; j++)
            n += b->rl[i].scopes[j].n_records;
    if (!n) return 0;
    pthread_mutex_lock(&s->wlock);
    int64_t span0 = s->next_span, log0 = s->next_log;
    bool began = false;
    buf_reset(&s->enc);
    int rc = reserve_refs(s, n);
    if (rc || (rc = ready_segment(s))) goto out;
    if ((rc = sq_begin_write(s))) goto out;
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
                                        .trace_id = sl->records[m].trace_id,
                                        .service = service,
                                        .res_id = res_id,
                                        .scope_id = scope_id,
                                        .seq = (uint32_t)k};
        }
    }
    if (n > 1) qsort(s->refs, n, sizeof *s->refs, ref_cmp);
    for (size_t i = 0; i < n; i++) {
        s->refs[i].off = s->enc.len;
        if ((rc = sq_content_encode_log(s, s->refs[i].item, &s->enc))) goto out;
        s->refs[i].len = s->enc.len - s->refs[i].off;
    }
    if ((rc = sq_content_end(s))) goto out;
    sqlite3_stmt *ins = s->ws[W_LOG_ADD];
    for (size_t i = 0; i < n;) {
        size_t e = i;
        uint64_t t0 = UINT64_MAX;
        while (e < n && memcmp(s->refs[e].trace_id, s->refs[i].trace_id, 16) == 0) {
            uint64_t t = log_time(s->refs[e++].item);
            if (t < t0) t0 = t;
        }
        bool traced = !model_id_is_zero(s->refs[i].trace_id, 16);
        int64_t row = 0;
        if (traced && ((rc = summarise_logs(s, s->refs[i].trace_id, t0, s->next_log,
                                            s->next_log + (int64_t)(e - i) - 1, &row)) ||
                       (rc = sq_search_run(s, SIG_LOGS, &s->refs[i], e - i, -s->next_log, row))))
            goto out;
        for (; i < e; i++) {
            const item_ref *r = &s->refs[i];
            const lt_log_record *lr = r->item;
            sqlite3_bind_int64(ins, 1, s->next_log);
            if (traced)
                sqlite3_bind_blob(ins, 2, lr->trace_id, 16, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, 2);
            if (!model_id_is_zero(lr->span_id, 8))
                sqlite3_bind_blob(ins, 3, lr->span_id, 8, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, 3);
            sq_bind_u64(ins, 4, log_time(lr));
            sqlite3_bind_int64(ins, 5, lr->severity_number);
            sqlite3_bind_int64(ins, 6, r->res_id);
            sqlite3_bind_int64(ins, 7, r->scope_id);
            if (traced)
                sqlite3_bind_int64(ins, 8, row);
            else
                sqlite3_bind_null(ins, 8);
            sqlite3_bind_int64(ins, 9, loc_of(s, r->off));
            sqlite3_bind_int64(ins, 10, (int64_t)r->len);
            if ((rc = sq_exec_stmt(s->wdb, ins, "add log record"))) goto out;
            s->next_log++;
        }
    }
    sqlite3_stmt *bs = s->ws[W_BATCH_ADD];
    sq_bind_u64(bs, 1, time_now_ns());
    sqlite3_bind_int(bs, 2, SIG_LOGS);
    sqlite3_bind_int64(bs, 3, log0);
    sqlite3_bind_int64(bs, 4, s->next_log - 1);
    sqlite3_bind_int64(bs, 5, s->cur_seg);
    sqlite3_bind_int64(bs, 6, (int64_t)(s->cur_size + s->enc.len));
    rc = sq_exec_stmt(s->wdb, bs, "add batch");
out:
    if (began) rc = sq_end_write(s, rc, span0, log0);
    note_full(s, rc, "log records");
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* ---- readers ----------------------------------------------------------------------------- */

int sq_reader_get(sq_store *s, reader **out)
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
    if ((rc = sq_open_conn(s->dbpath, false, s->ro_conns, LT_SQLITE_READER_CACHE_KIB, &r->db)))
        goto out;
    r->busy = true;
    s->n_readers++;
    *out = r;
out:
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

void sq_reader_put(sq_store *s, reader *r)
{
    pthread_mutex_lock(&s->rlock);
    r->busy = false;
    pthread_cond_signal(&s->rcond);
    pthread_mutex_unlock(&s->rlock);
}

/* Returns the reader's statement i, reset and unbound, preparing it on first use. */
int sq_rstmt(reader *r, int i, sqlite3_stmt **out)
{
    if (!r->st[i]) {
        int rc =
            sqlite3_prepare_v3(r->db, rsql_text(i), -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL);
        if (rc != SQLITE_OK) return sq_err(r->db, rc, "prepare");
    }
    sqlite3_reset(r->st[i]);
    sqlite3_clear_bindings(r->st[i]);
    *out = r->st[i];
    return 0;
}

/* A read transaction, so that the statements of one call see one snapshot. */
int sq_read_begin(reader *r)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_rstmt(r, R_BEGIN, &st);
    return rc ? rc : sq_exec_stmt(r->db, st, "begin read");
}

void sq_read_end(reader *r)
{
    for (int i = 0; i < R_COUNT; i++)
        if (r->st[i]) sqlite3_reset(r->st[i]);
    if (!sqlite3_get_autocommit(r->db)) {
        sqlite3_stmt *st = NULL;
        if (!sq_rstmt(r, R_END, &st)) sq_exec_stmt(r->db, st, "end read");
    }
}

lt_str sq_col_str(sqlite3_stmt *st, int i, lt_arena *a, int *rc)
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

static int rows_push(rows *rs, srow r)
{
    srow *v = sq_grow(rs->v, &rs->cap, rs->n, sizeof *v);
    if (!v) return LT_ENOMEM;
    rs->v = v;
    v[rs->n++] = r;
    return 0;
}

/* Reads the bodies of rows [from, rs->n) into the arena, one pread per contiguous run;
 * rows whose body is gone (a segment retention removed under our snapshot) are dropped. */
static int read_bodies(const sq_store *s, fdcache *fc, rows *rs, size_t from, lt_arena *a)
{
    size_t keep = from;
    for (size_t i = from; i < rs->n;) {
        size_t e = i + 1;
        uint64_t total = rs->v[i].len;
        while (e < rs->n && rs->v[e].loc == rs->v[e - 1].loc + rs->v[e - 1].len &&
               ((uint64_t)rs->v[e].loc >> SEG_SHIFT) == ((uint64_t)rs->v[i].loc >> SEG_SHIFT))
            total += rs->v[e++].len;
        uint8_t *p = arena_alloc(a, (size_t)total);
        if (!p) return LT_ENOMEM;
        bool ok = sq_seg_read(s, fc, rs->v[i].loc, (size_t)total, p);
        for (; i < e; i++) {
            if (!ok) continue;
            rs->v[i].body = p;
            p += rs->v[i].len;
            rs->v[keep++] = rs->v[i];
        }
    }
    rs->n = keep;
    return 0;
}

/* Appends the stored rows of one signal listed by a summary's ranges (of summary row id)
 * to out, with their bodies in a. */
int sq_load_rows(const sq_store *s, reader *r, fdcache *fc, int64_t id, const uint8_t *ranges,
                 size_t rlen, int signal, lt_arena *a, rows *out)
{
    sqlite3_stmt *q = NULL;
    int rc = sq_rstmt(r, signal == SIG_SPANS ? R_SPANS : R_LOGS, &q);
    if (rc) return rc;
    size_t from = out->n;
    int64_t f, l;
    for (const uint8_t *p = ranges, *end = ranges + rlen; sq_next_range(&p, end, &f, &l);) {
        sqlite3_bind_int64(q, 1, f);
        sqlite3_bind_int64(q, 2, l);
        sqlite3_bind_int64(q, 3, id);
        int qrc;
        while ((qrc = sqlite3_step(q)) == SQLITE_ROW) {
            srow w = {.res = sqlite3_column_int64(q, 0),
                      .scope = sqlite3_column_int64(q, 1),
                      .loc = sqlite3_column_int64(q, 2),
                      .len = (uint32_t)sqlite3_column_int64(q, 3),
                      .id = sqlite3_column_int64(q, 4),
                      .seq = (uint32_t)out->n};
            if ((rc = rows_push(out, w))) return rc;
        }
        sqlite3_reset(q);
        if (qrc != SQLITE_DONE) return sq_err(r->db, qrc, "read rows");
    }
    return read_bodies(s, fc, out, from, a);
}

static int row_cmp(const void *pa, const void *pb)
{
    const srow *a = pa, *b = pb;
    if (a->res != b->res) return a->res < b->res ? -1 : 1;
    if (a->scope != b->scope) return a->scope < b->scope ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct {
    size_t at, n; /* slice of the sorted rows */
    uint32_t seq; /* first arrival, for ordering groups */
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
    if (rs->n > 1) qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
    uint32_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (i == 0 || rs->v[i - 1].res != rs->v[i].res || rs->v[i - 1].scope != rs->v[i].scope) n++;
    group *g = arena_calloc(a, n ? n : 1, sizeof *g);
    if (!g) return LT_ENOMEM;
    uint32_t k = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (i == 0 || rs->v[i - 1].res != rs->v[i].res || rs->v[i - 1].scope != rs->v[i].scope)
            g[k++] = (group){.at = i, .seq = rs->v[i].seq};
        g[k - 1].n++;
    }
    if (n > 1) qsort(g, n, sizeof *g, group_cmp);
    *out = g;
    *n_out = n;
    return 0;
}

/* Loads resource (or scope, when scope is set) id into the arena. */
int sq_load_meta(reader *r, bool scope, int64_t id, lt_arena *a, void *out, lt_str *url)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_rstmt(r, scope ? R_SCOPE : R_RES, &st);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        size_t len;
        *url = sq_col_str(st, 0, a, &rc);
        const uint8_t *p = col_blob(st, 1, a, &len);
        if (!rc && !p) rc = LT_ENOMEM;
        if (!rc) rc = scope ? pb_decode_scope(a, p, len, out) : pb_decode_resource(a, p, len, out);
        if (rc && rc != LT_ENOMEM) {
            log_error("store: stored %s %" PRId64 " does not decode", scope ? "scope" : "resource",
                      id);
            rc = LT_EIO;
        }
    } else if (src == SQLITE_DONE) {
        log_error("store: %s %" PRId64 " is missing", scope ? "scope" : "resource", id);
        rc = LT_EIO;
    } else {
        rc = sq_err(r->db, src, "read resource");
    }
    sqlite3_reset(st);
    return rc;
}

/* The view of span row id among the n sorted views, or NULL. */
static const lt_genai *view_of(const sq_view *v, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].id == id) return v[mid].g;
        if (v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int build_spans(reader *r, sq_cread *cr, rows *rs, const sq_view *views, size_t n_views,
                       lt_arena *a, lt_trace_batch *out)
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
        const srow *first = &rs->v[g[i].at];
        if ((rc = sq_load_meta(r, false, first->res, a, &o->resource, &o->schema_url))) return rc;
        if ((rc = sq_load_meta(r, true, first->scope, a, &ss->scope, &ss->schema_url))) return rc;
        ss->spans = &spans[g[i].at];
        ss->n_spans = (uint32_t)g[i].n;
        for (size_t k = 0; k < g[i].n; k++) {
            const srow *w = &rs->v[g[i].at + k];
            lt_str vf;
            if ((rc = sq_content_decode_span(r, cr, a, w->body, w->len, &ss->spans[k], &vf))) {
                if (rc == LT_ENOMEM) return rc;
                log_error("store: a stored span does not decode: %s", lt_strerror(rc));
                return LT_EIO;
            }
            const lt_genai *cols = vf.ptr ? view_of(views, n_views, w->id) : NULL;
            if (vf.ptr && !cols) {
                log_error("store: the GenAI row of a stored span is missing");
                return LT_EIO;
            }
            lt_genai *view = NULL;
            if (cols && (rc = sq_genai_view((const uint8_t *)vf.ptr, vf.len, cols, a, &view)))
                return rc == LT_ENOMEM ? rc : LT_EIO;
            ss->spans[k].genai = view;
        }
    }
    out->n_spans = rs->n;
    return 0;
}

static int build_logs(reader *r, sq_cread *cr, rows *rs, lt_arena *a, lt_log_batch *out)
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
        const srow *first = &rs->v[g[i].at];
        if ((rc = sq_load_meta(r, false, first->res, a, &o->resource, &o->schema_url))) return rc;
        if ((rc = sq_load_meta(r, true, first->scope, a, &sl->scope, &sl->schema_url))) return rc;
        sl->records = &recs[g[i].at];
        sl->n_records = (uint32_t)g[i].n;
        for (size_t k = 0; k < g[i].n; k++) {
            const srow *w = &rs->v[g[i].at + k];
            if ((rc = sq_content_decode_log(r, cr, a, w->body, w->len, &sl->records[k]))) {
                if (rc == LT_ENOMEM) return rc;
                log_error("store: a stored log record does not decode: %s", lt_strerror(rc));
                return LT_EIO;
            }
        }
    }
    out->n_records = rs->n;
    return 0;
}

/* Runs a one-row reader query bound to a, b and (as its last parameter, unless cmp) id;
 * *out is its first column, or with cmp whether that column equals id; 0 without a row. */
static int rquery(reader *r, int stmt, int64_t a, int64_t b, const uint8_t *id, bool cmp,
                  int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_rstmt(r, stmt, &st);
    if (rc) return rc;
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1) sqlite3_bind_int64(st, 1, a);
    if (n >= 2 && stmt != R_TRACE_FIND) sqlite3_bind_int64(st, 2, b);
    if (id && !cmp) sqlite3_bind_blob(st, n, id, 16, SQLITE_STATIC);
    *out = 0;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if (cmp)
            *out = sqlite3_column_bytes(st, 0) == 16 && !memcmp(sqlite3_column_blob(st, 0), id, 16);
        else
            *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    return src == SQLITE_ROW || src == SQLITE_DONE ? 0 : sq_err(r->db, src, "find trace");
}

/* Finds the summary row of trace id as of the reader's snapshot (0 when none), inside a
 * read transaction. The snapshot starts first (with the read of indexed_upto), then the
 * map is consulted: an entry enters the map before its row commits, so a row in the
 * snapshot is in the map, or indexed in the snapshot, or (when the map dropped entries
 * the snapshot had not indexed yet) among the rows between the two marks. */
static int reader_find_trace(sq_store *s, reader *r, const uint8_t id[16], int64_t *row)
{
    int64_t snap_upto, ok = 0;
    int rc = rquery(r, R_META, 0, 0, NULL, false, &snap_upto);
    if (rc) return rc;
    pthread_mutex_lock(&s->plock);
    int64_t prow = tmap_get(&s->pending, id), removed = s->removed_upto;
    pthread_mutex_unlock(&s->plock);
    if (s->read_only) removed = INT64_MAX; /* the writer's map is in another process */
    if (prow && (rc = rquery(r, R_TRACE_ID, prow, 0, id, true, &ok))) return rc;
    *row = ok ? prow : 0;
    if (!*row && (rc = rquery(r, R_TRACE_FIND, trace_key(id), 0, id, false, row))) return rc;
    if (!*row && removed > snap_upto)
        rc = rquery(r, R_TRACE_SCAN, snap_upto, removed, id, false, row);
    return rc;
}

static int sq_get_trace(lt_store *st, const uint8_t id[16], lt_arena *a, lt_trace_data *out)
{
    sq_store *s = (sq_store *)st;
    reader *r = NULL;
    rows spans = {0}, logs = {0};
    fdcache fc = {0};
    sq_cread cr = {0};
    memset(out, 0, sizeof *out);
    int64_t row = 0;
    int rc = sq_reader_get(s, &r);
    if (rc) goto out;
    if ((rc = sq_read_begin(r))) goto out;
    if ((rc = reader_find_trace(s, r, id, &row))) goto out;
    if (!row) {
        rc = LT_ENOTFOUND;
        goto out;
    }
    sqlite3_stmt *q = NULL;
    if ((rc = sq_rstmt(r, R_TRACE_GET, &q))) goto out;
    sqlite3_bind_int64(q, 1, row);
    int src = sqlite3_step(q);
    if (src != SQLITE_ROW) {
        rc = src == SQLITE_DONE ? LT_ENOTFOUND : sq_err(r->db, src, "read trace");
        goto out;
    }
    size_t sl, ll;
    const void *tid = sqlite3_column_blob(q, 0);
    if (!tid || sqlite3_column_bytes(q, 0) != 16 || memcmp(tid, id, 16) != 0) {
        rc = LT_ENOTFOUND;
        goto out;
    }
    const uint8_t *sr = col_blob(q, 1, a, &sl), *lr = col_blob(q, 2, a, &ll);
    sqlite3_reset(q);
    if (!sr || !lr) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = sq_load_rows(s, r, &fc, row, sr, sl, SIG_SPANS, a, &spans))) goto out;
    if (!spans.n) {
        rc = LT_ENOTFOUND;
        goto out;
    }
    if ((rc = sq_load_rows(s, r, &fc, row, lr, ll, SIG_LOGS, a, &logs))) goto out;
    sq_view *views = NULL;
    size_t n_views = 0;
    if ((rc = sq_genai_load_views(r, sr, sl, row, a, &views, &n_views))) goto out;
    if ((rc = build_spans(r, &cr, &spans, views, n_views, a, &out->spans))) goto out;
    rc = build_logs(r, &cr, &logs, a, &out->logs);
out:
    if (r) {
        sq_read_end(r);
        sq_reader_put(s, r);
    }
    sq_cread_free(&cr);
    sq_fdc_close(&fc);
    lt_free(spans.v);
    lt_free(logs.v);
    return rc;
}

/* ---- retention ----------------------------------------------------------------------- */

/* Deletes the oldest batches in one transaction: at most max of them, only those received
 * before cutoff (when not 0), and only those in segments up to max_seg (when not 0).
 * Summaries lose the ranges that pointed into them and go when nothing is left. */
static int delete_oldest(sq_store *s, int max, uint64_t cutoff, uint32_t max_seg, int *deleted)
{
    *deleted = 0;
    pthread_mutex_lock(&s->wlock);
    int64_t span0 = s->next_span, log0 = s->next_log;
    int64_t last_batch = 0, last_span = 0, last_log = 0;
    buf_reset(&s->enc);
    int rc = sq_begin_write(s), src;
    bool began = !rc;
    if (rc) goto out;
    sqlite3_stmt *st = s->ws[W_OLDEST];
    sqlite3_bind_int(st, 1, max);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (cutoff && (uint64_t)sqlite3_column_int64(st, 1) >= cutoff) break;
        if (max_seg && (uint64_t)sqlite3_column_int64(st, 4) > max_seg) break;
        last_batch = sqlite3_column_int64(st, 0);
        int64_t last = sqlite3_column_int64(st, 3);
        if (sqlite3_column_int(st, 2) == SIG_SPANS) {
            if (last > last_span) last_span = last;
        } else if (last > last_log) {
            last_log = last;
        }
        (*deleted)++;
    }
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_err(s->wdb, src, "oldest batches");
        goto out;
    }
    if (!*deleted) goto out;
    /* the summaries of the traces that lose rows */
    if ((rc = sq_exec_stmt(s->wdb, s->ws[W_GONE_CLEAR], "retention"))) goto out;
    sqlite3_bind_int64(s->ws[W_GONE_SPANS], 1, 0);
    sqlite3_bind_int64(s->ws[W_GONE_SPANS], 2, last_span);
    sqlite3_bind_int64(s->ws[W_GONE_LOGS], 1, 0);
    sqlite3_bind_int64(s->ws[W_GONE_LOGS], 2, last_log);
    sqlite3_bind_int64(s->ws[W_PRUNE], 1, last_span);
    sqlite3_bind_int64(s->ws[W_PRUNE], 2, last_log);
    if ((rc = sq_exec_stmt(s->wdb, s->ws[W_GONE_SPANS], "retention")) ||
        (rc = sq_exec_stmt(s->wdb, s->ws[W_GONE_LOGS], "retention")) ||
        (rc = sq_exec_stmt(s->wdb, s->ws[W_PRUNE], "retention")))
        goto out;
    sqlite3_stmt *em = s->ws[W_EMPTY];
    while ((src = sqlite3_step(em)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(em, 0);
        const void *tid = sqlite3_column_blob(em, 1);
        sqlite3_stmt *d = s->ws[W_TRACE_DEL];
        sqlite3_bind_int64(d, 1, id);
        if ((rc = sq_exec_stmt(s->wdb, d, "retention"))) break;
        if (tid && sqlite3_column_bytes(em, 1) == 16) {
            sqlite3_stmt *x = s->ws[W_IDX_DEL];
            sqlite3_bind_int64(x, 1, trace_key(tid));
            sqlite3_bind_int64(x, 2, id);
            if ((rc = sq_exec_stmt(s->wdb, x, "retention")) ||
                (rc = idrows_push(&s->dropped, tid, id)))
                break;
        }
    }
    sqlite3_reset(em);
    if (rc) goto out;
    if (src != SQLITE_DONE) {
        rc = sq_err(s->wdb, src, "retention");
        goto out;
    }
    const struct {
        int stmt;
        int64_t upto;
    } steps[] = {{W_DEL_SPANS, last_span}, {W_DEL_LOGS, last_log}, {W_DEL_BATCHES, last_batch}};
    /* the views leave the rollups with their spans (the accumulator is written out first,
     * so every view deleted here is in the rollups) */
    if (last_span && ((rc = sq_genai_prepare(s, true)) || (rc = sq_genai_retire(s, last_span))))
        goto out;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !rc; i++) {
        if (!steps[i].upto) continue;
        sqlite3_bind_int64(s->ws[steps[i].stmt], 1, steps[i].upto);
        rc = sq_exec_stmt(s->wdb, s->ws[steps[i].stmt], "retention delete");
    }
    if (!rc) rc = sq_content_retire(s);
    if (!rc) rc = sq_search_retire(s);
out:
    if (began) rc = sq_end_write(s, rc, span0, log0);
    if (rc) *deleted = 0;
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static int writer_int(sq_store *s, const char *sql, int64_t *v)
{
    pthread_mutex_lock(&s->wlock);
    int rc = sq_query_int(s->wdb, sql, v);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* After batches went: unlinks the segments nothing points into any more, gives freed
 * pages back (incremental vacuum in short steps), and checkpoints so that the database
 * file is cut. */
static int shrink(sq_store *s)
{
    int64_t min_seg = 0, free_pages = 0;
    pthread_mutex_lock(&s->wlock);
    int rc = sq_query_int(s->wdb, "SELECT min(seg) FROM batches", &min_seg);
    if (!rc && !min_seg && s->cur_size) rc = seg_roll(s); /* everything went */
    if (!rc) seg_unlink_below(s, min_seg ? (uint32_t)min_seg : s->cur_seg);
    pthread_mutex_unlock(&s->wlock);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", VACUUM_STEP);
    if (!rc) rc = writer_int(s, "PRAGMA freelist_count", &free_pages);
    for (int i = 0; !rc && free_pages > 0 && i < 1 << 20; i++) {
        pthread_mutex_lock(&s->wlock);
        rc = sq_exec_sql(s->wdb, sql);
        if (!rc) rc = sq_query_int(s->wdb, "PRAGMA freelist_count", &free_pages);
        pthread_mutex_unlock(&s->wlock);
    }
    if (rc) return rc;
    pthread_mutex_lock(&s->wlock);
    int crc = sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_unlock(&s->wlock);
    /* a busy checkpoint (readers) is fine: a later one will cut the file */
    return crc == SQLITE_OK || crc == SQLITE_BUSY ? 0 : sq_err(s->wdb, crc, "checkpoint");
}

static int sq_enforce_retention(lt_store *st, const lt_retention *ret, uint64_t now_ns)
{
    sq_store *s = (sq_store *)st;
    if (s->read_only) return sq_refuse_read_only("enforce retention");
    int rc = 0, n = 0;
    bool freed = false;
    if (ret->max_bytes) {
        /* segments are freed whole: keep them small next to the bound */
        uint64_t seg = ret->max_bytes / 16;
        if (seg < (64u << 10)) seg = 64u << 10;
        if (seg > LT_SQLITE_SEGMENT_BYTES) seg = LT_SQLITE_SEGMENT_BYTES;
        pthread_mutex_lock(&s->wlock);
        s->seg_max = seg;
        pthread_mutex_unlock(&s->wlock);
    }
    if (ret->max_age_ns && now_ns > ret->max_age_ns) {
        uint64_t cutoff = now_ns - ret->max_age_ns;
        do {
            if ((rc = delete_oldest(s, RETENTION_STEP, cutoff, 0, &n))) return rc;
            freed |= n > 0;
        } while (n == RETENTION_STEP);
    }
    if (freed && (rc = shrink(s))) return rc;
    for (int round = 0; ret->max_bytes && round < 1 << 16; round++) {
        uint64_t used = 0;
        int64_t oldest = 0;
        if ((rc = sq_bytes_used(st, &used))) return rc;
        if (used <= ret->max_bytes) break;
        /* the oldest segment's batches go, then the segment */
        if ((rc = writer_int(s, "SELECT min(seg) FROM batches", &oldest))) return rc;
        if (!oldest) break;
        pthread_mutex_lock(&s->wlock);
        if ((uint32_t)oldest == s->cur_seg && s->cur_size) rc = seg_roll(s);
        pthread_mutex_unlock(&s->wlock);
        if (rc) return rc;
        do {
            if ((rc = delete_oldest(s, RETENTION_STEP, 0, (uint32_t)oldest, &n))) return rc;
        } while (n == RETENTION_STEP);
        if ((rc = shrink(s))) return rc;
    }
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
    .genai_summary = sq_genai_summary,
    .trace_stats = sq_trace_stats,
    .tail_spans = sq_tail_spans,
    .rederive = sq_rederive,
    .enforce_retention = sq_enforce_retention,
    .bytes_used = sq_bytes_used,
    .check = sq_check,
    .close = sq_close,
};
