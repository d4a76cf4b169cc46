/* sqlite_int.h — private to the SQLite engine: the store's state and what its files
 * share. sqlite.c is the core (opening, segments, writing, reading, listing, retention);
 * sqlite_genai.c keeps the GenAI views, the per-trace GenAI totals, the rollups behind
 * genai_summary, and rederive; sqlite_content.c moves large strings out of span and log
 * bodies into the content table and puts them back on read; sqlite_check.c verifies a
 * store against itself (store_check); sqlite_search.c keeps the full-text index of the spans'
 * and log records' text (lt_trace_query.text).
 *
 * Functions shared between the files carry the sq_ prefix; everything else stays static.
 * Nothing here is part of the store contract (store/store.h): no other module includes it.
 * Writer-side functions run with the store's writer lock held (sq_store.wlock), inside the
 * transaction sq_begin_write opened; reader-side ones on a borrowed reader connection inside
 * its read transaction. */
#ifndef LT_STORE_SQLITE_INT_H
#define LT_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"
#include "store/facts.h"
#include "store/store.h"

/* SQLite's synchronous level: 1 (NORMAL) survives the process being killed (kill -9) and
 * keeps the database consistent on power loss, losing the last commits; 2 (FULL) also
 * keeps every acknowledged commit on power loss (an fsync of the WAL and an fdatasync of
 * the segment per call). */
#ifndef LT_SQLITE_SYNCHRONOUS
#define LT_SQLITE_SYNCHRONOUS 1
#endif
#ifndef LT_SQLITE_PAGE_SIZE
#define LT_SQLITE_PAGE_SIZE 4096
#endif
#ifndef LT_SQLITE_WRITER_CACHE_KIB
#define LT_SQLITE_WRITER_CACHE_KIB 32768
#endif
#ifndef LT_SQLITE_READER_CACHE_KIB
#define LT_SQLITE_READER_CACHE_KIB 4096
#endif
/* WAL pages between checkpoints (SQLite's default is 1000): fewer checkpoints, and a page
 * written by many commits is copied to the database once. */
#ifndef LT_SQLITE_CHECKPOINT_PAGES
#define LT_SQLITE_CHECKPOINT_PAGES 16000
#endif
/* Work bounds of one list_traces call: summaries examined, and spans an attribute filter
 * (or a GenAI filter on a trace with more distinct values than its summary lists) may
 * examine. Past either, the call returns what it found and a cursor to go on. */
#ifndef LT_SQLITE_LIST_SCAN_ROWS
#define LT_SQLITE_LIST_SCAN_ROWS 100000
#endif
#ifndef LT_SQLITE_ATTR_SCAN_SPANS
#define LT_SQLITE_ATTR_SCAN_SPANS 100000
#endif
/* Segment size before rolling to the next file (retention frees whole segments). */
#ifndef LT_SQLITE_SEGMENT_BYTES
#define LT_SQLITE_SEGMENT_BYTES (64u << 20)
#endif
/* GenAI views whose rollup contributions may wait in memory (and, for readers, in the tail
 * of the genai table that a summary scans) before they are written into rollup rows. */
#ifndef LT_SQLITE_ROLLUP_FLUSH_ROWS
#define LT_SQLITE_ROLLUP_FLUSH_ROWS 8192
#endif
/* Distinct groups one genai_summary may return (LT_ETOOBIG past it: narrow the range). */
#ifndef LT_SQLITE_SUMMARY_MAX_GROUPS
#define LT_SQLITE_SUMMARY_MAX_GROUPS 100000
#endif
/* Views rederive handles per transaction. */
#ifndef LT_SQLITE_REDERIVE_STEP
#define LT_SQLITE_REDERIVE_STEP 2000
#endif
/* Strings at least this long move to the content table; JSON array elements at least
 * LT_SQLITE_CHUNK_MIN long are stored (and deduplicated) on their own. */
#ifndef LT_SQLITE_CONTENT_MIN
#define LT_SQLITE_CONTENT_MIN 256
#endif
#ifndef LT_SQLITE_CHUNK_MIN
#define LT_SQLITE_CHUNK_MIN 64
#endif
/* Text waiting for the full-text index (sqlite_search.c) before it is indexed in one go, and
 * the references to matching text one search may examine (LT_ETOOBIG past it). */
#ifndef LT_SQLITE_SEARCH_FLUSH_BYTES
#define LT_SQLITE_SEARCH_FLUSH_BYTES (1 << 20)
#endif
#ifndef LT_SQLITE_SEARCH_REFS
#define LT_SQLITE_SEARCH_REFS 200000
#endif
/* Trace summaries one trace_stats call examines (newest first), and spans one tail_spans call
 * examines. */
#ifndef LT_SQLITE_STATS_SCAN_ROWS
#define LT_SQLITE_STATS_SCAN_ROWS 200000
#endif
#ifndef LT_SQLITE_TAIL_SCAN_ROWS
#define LT_SQLITE_TAIL_SCAN_ROWS 20000
#endif
/* New pieces found through memory before their hash index is written (at least; then a
 * sixteenth of the index, as for trace_idx). */
#ifndef LT_SQLITE_CONTENT_INDEX_MIN
#define LT_SQLITE_CONTENT_INDEX_MIN 8192
#endif

enum {
    SCHEMA_VERSION = 2,
    MAX_READERS = 4,
    MAX_SERVICES = 64,         /* distinct services kept per trace summary */
    CACHE_MAX = 1 << 16,       /* entries per in-memory cache before it is cleared */
    INDEX_FLUSH_MIN = 8192,    /* pending summaries before a trace_idx flush ... */
    INDEX_FLUSH_MAX = 1 << 18, /* ... at most, whatever trace_idx's size */
    RETENTION_STEP = 256,      /* batches deleted per transaction */
    VACUUM_STEP = 4096,        /* pages released per incremental_vacuum transaction */
    FD_CACHE = 4,              /* segment descriptors a reader keeps during one call */
    SIG_SPANS = 0,
    SIG_LOGS = 1,
};

#define SEG_SHIFT 40 /* loc = segment number << 40 | offset */

/* Writer statements: the core's (sqlite.c), then the GenAI file's, then the content file's.
 * Each file keeps the SQL of its own range. */
enum {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_RES_FIND,
    W_RES_ADD,
    W_SCOPE_FIND,
    W_SCOPE_ADD,
    W_SPAN_ADD,
    W_LOG_ADD,
    W_TRACE_FIND,
    W_TRACE_ADD,
    W_TRACE_SPANS,
    W_TRACE_LOGS,
    W_IDX_ADD,
    W_META_SET,
    W_OP_ADD,
    W_BATCH_ADD,
    W_OLDEST,
    W_GONE_CLEAR,
    W_GONE_SPANS,
    W_GONE_LOGS,
    W_PRUNE,
    W_CUT,
    W_EMPTY,
    W_IDX_DEL,
    W_TRACE_DEL,
    W_DEL_SPANS,
    W_DEL_LOGS,
    W_DEL_BATCHES,
    W_MIN_SEG,
    W_CORE_END,
    /* sqlite_genai.c */
    W_G_FIRST = W_CORE_END,
    W_G_ADD = W_G_FIRST,
    W_G_DIM_FIND,
    W_G_DIM_ADD,
    W_G_DIM_GET,
    W_G_ROLLUP,
    W_G_ROLLUP_DROP,
    W_G_TAIL,
    W_G_UPTO,
    W_G_FROM,
    W_G_DEL,
    W_G_WALK,
    W_G_SET_COST,
    W_G_TRACE_COST,
    W_G_MINUTE,
    W_G_MINUTE_PRUNE,
    W_G_MINUTE_DROP,
    W_G_END,
    /* sqlite_content.c */
    W_C_FIRST = W_G_END,
    W_C_FIND = W_C_FIRST,
    W_C_ADD,
    W_C_TOUCH,
    W_C_RETIRE,
    W_C_RETIRE2,
    W_C_IDX_ADD,
    W_C_PAST,
    W_C_END,
    W_COUNT = W_C_END
};

/* Reader statements, in the same three ranges. */
enum {
    R_BEGIN,
    R_END,
    R_META,
    R_TRACE_ID,
    R_TRACE_SCAN,
    R_TRACE_FIND,
    R_TRACE_GET,
    R_SPANS,
    R_LOGS,
    R_RES,
    R_SCOPE,
    R_LIST,
    R_SERVICES,
    R_OPS,
    R_OPS_ALL,
    R_PAGES,
    R_FREE,
    R_SUMMARY,
    R_TAIL,
    R_TAIL_NEW,
    R_LAST_SPAN,
    R_CORE_END,
    R_G_FIRST = R_CORE_END,
    R_G_ROLLED = R_G_FIRST,
    R_G_VIEWS,
    R_G_ROLLUP,
    R_G_MINUTES,
    R_G_IDS,
    R_G_TAIL,
    R_G_HAS,
    R_G_END,
    R_C_FIRST = R_G_END,
    R_C_GET = R_C_FIRST,
    R_C_END,
    R_COUNT = R_C_END
};

extern const char *const sq_genai_wsql[W_G_END - W_G_FIRST];
extern const char *const sq_genai_rsql[R_G_END - R_G_FIRST];
extern const char *const sq_content_wsql[W_C_END - W_C_FIRST];
extern const char *const sq_content_rsql[R_C_END - R_C_FIRST];
/* The tables of the two files, created with the core's schema. */
extern const char sq_genai_schema[];
extern const char sq_content_schema[];

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

/* Trace id -> summary row, for the summaries not yet in trace_idx (linear probing). */
typedef struct {
    uint8_t id[16];
    int64_t row; /* 0 = empty slot */
} tmap_ent;

typedef struct {
    tmap_ent *e;
    size_t cap, n;
} tmap;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st[R_COUNT];
    bool busy;
} reader;

/* A reader's segment descriptors, for one call: unlinking a segment never disturbs a read. */
typedef struct {
    uint32_t seg[FD_CACHE];
    int fd[FD_CACHE];
    int n;
    unsigned next;
} fdcache;

/* (trace id, summary row) pairs waiting for a commit to reach the pending map. */
typedef struct {
    struct {
        uint8_t id[16];
        int64_t row;
    } * v;
    size_t n, cap;
} idrows;

/* A span or log record of the call being written. */
typedef struct {
    const void *item; /* lt_span or lt_log_record */
    const uint8_t *trace_id;
    lt_str service;
    int64_t res_id, scope_id;
    uint32_t seq;    /* position in the request, to keep arrival order */
    size_t off, len; /* its encoding in the call's buffer */
} item_ref;

typedef struct sq_genai_w sq_genai_w;     /* sqlite_genai.c: rollup accumulator */
typedef struct sq_content_w sq_content_w; /* sqlite_content.c: hash key, cache, deflate */
typedef struct sq_ckpt sq_ckpt;           /* sqlite_ckpt.c: the checkpoint thread */
typedef struct sq_search_w sq_search_w;   /* sqlite_search.c: full-text index writer */

typedef struct {
    lt_store base;
    char *dir, *dbpath;
    int lock_fd;    /* holds the directory's writer lock */
    bool read_only; /* another process holds it, or store_open_read_only */
    bool ro_conns;  /* store_open_read_only: SQLite connections read-only too */
    bool full;      /* the last write failed for a full disk (said once in the log) */
    pthread_mutex_t wlock;
    sqlite3 *wdb;
    sqlite3_stmt *ws[W_COUNT];
    idcache res_cache, scope_cache, op_cache;
    lt_buf enc, key, svc, ranges, gdims;
    item_ref *refs;
    size_t refs_cap;
    struct gfacts *facts; /* per ref of a span call: its view's facts (when it has one) */
    size_t facts_cap;
    idrows fresh;                /* summaries the transaction creates ... */
    idrows dropped;              /* ... and deletes (retention) */
    int64_t next_span, next_log; /* rowids of the next rows (appended, so max + 1) */
    int64_t idx_entries;         /* rows of trace_idx, for the flush threshold */
    size_t unflushed;            /* map entries not yet in trace_idx */
    int64_t flush_upto;          /* indexed_upto set by the open transaction, or 0 */
    sq_genai_w *genai;           /* writer only */
    sq_content_w *content;       /* writer only */
    sq_ckpt *ckpt;               /* writer only */
    sq_search_w *search;         /* writer only */
    /* segments (writer side, under wlock) */
    uint32_t cur_seg;
    int cur_fd;
    uint64_t cur_size, seg_max;
    uint64_t seg_extra;             /* content bytes stored since the current segment began */
    atomic_uint_fast64_t seg_bytes; /* all segments, for bytes_used */
    /* summaries by trace id, read by readers too (under plock): rows <= prev_upto are
     * also in trace_idx; rows <= removed_upto have left the map */
    pthread_mutex_t plock;
    tmap pending;
    int64_t prev_upto, removed_upto;
    /* reader pool */
    pthread_mutex_t rlock;
    pthread_cond_t rcond;
    reader readers[MAX_READERS];
    int n_readers;
} sq_store;

/* ---- shared helpers (sqlite.c) ---- */

int sq_map_rc(int rc);
/* The growable array v of *cap elements of size bytes with room for element n (doubling,
 * from 64): v itself, or its new place; NULL when it cannot grow (v and *cap unchanged). */
void *sq_grow(void *v, size_t *cap, size_t n, size_t size);
/* A fast unkeyed hash of p[0..n) from seed h, eight bytes at a time, for in-memory maps
 * whose keys are compared in full on a hit. */
uint64_t sq_quick_hash(uint64_t h, const void *p, size_t n);
/* Maps a SQLite result to our codes; logs what failed unless the disk is merely full. */
int sq_err(sqlite3 *db, int rc, const char *what);
/* Steps a statement that returns no rows (or whose rows are not wanted) and resets it. */
int sq_exec_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what);
int sq_exec_sql(sqlite3 *db, const char *sql);
/* The first column of the first row of sql (0 without a row). */
int sq_query_int(sqlite3 *db, const char *sql, int64_t *out);
/* Opens a connection of the store (created when create; read-only when ro) with its SQL
 * functions and a page cache of cache_kib KiB. 0 or an LT_ error. */
int sq_open_conn(const char *path, bool create, bool ro, int cache_kib, sqlite3 **out);
/* The checkpoint thread of a writer store (sqlite_ckpt.c): started once the writer
 * connection is ready, stopped before it closes. */
int sq_ckpt_start(sq_store *s);
void sq_ckpt_stop(sq_store *s);
size_t sq_put_varint(uint8_t *p, uint64_t v);
bool sq_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);
/* The next (first, last) rowid range of a summary's list; false at its end. */
bool sq_next_range(const uint8_t **p, const uint8_t *end, int64_t *first, int64_t *last);
uint64_t sq_clamp_i64(uint64_t v);
int sq_refuse_read_only(const char *what);
/* Writer transactions: sq_begin_write takes s->wlock's holder into a transaction (writing
 * the trace index, the rollups and the content index when due); sq_end_write commits
 * (writing the call's segment bytes first) when rc is 0, else rolls back, and returns the
 * final result. */
int sq_begin_write(sq_store *s);
int sq_end_write(sq_store *s, int rc, int64_t span0, int64_t log0);
/* Reader pool and statements (prepared on first use, returned reset and unbound). */
int sq_reader_get(sq_store *s, reader **out);
void sq_reader_put(sq_store *s, reader *r);
int sq_rstmt(reader *r, int i, sqlite3_stmt **out);
int sq_read_begin(reader *r);
void sq_read_end(reader *r);
void sq_seg_path(const sq_store *s, uint32_t n, char *buf, size_t len);
/* Reads n bytes of a segment at loc into p; false (logged) when they are not there. */
bool sq_seg_read(const sq_store *s, fdcache *c, int64_t loc, size_t n, uint8_t *p);
void sq_fdc_close(fdcache *c);
/* Column i as text copied into the arena ("" for NULL); *rc = LT_ENOMEM on failure. */
lt_str sq_col_str(sqlite3_stmt *st, int i, lt_arena *a, int *rc);

/* The end of the n bytes at p: SQLite gives an empty blob as NULL, and NULL + 0 is undefined
 * in C. */
static inline const uint8_t *sq_end(const uint8_t *p, size_t n)
{
    return p ? p + n : p;
}

static inline void sq_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    /* nanosecond times fit int64 until 2262; larger values are kept exactly in the body */
    sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static inline void sq_bind_str(sqlite3_stmt *st, int i, lt_str v)
{
    sqlite3_bind_text(st, i, v.ptr ? v.ptr : "", (int)v.len, SQLITE_STATIC);
}

static inline void sq_bind_buf(sqlite3_stmt *st, int i, const lt_buf *b)
{
    sqlite3_bind_blob(st, i, b->len ? b->data : "", (int)b->len, SQLITE_STATIC);
}

/* buf_append with its common case inline (the hot encoders append many short pieces). */
static inline void sq_put(lt_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len > n) {
        if (n) memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
    } else {
        buf_append(b, p, n);
    }
}

/* Appends v as a protobuf varint. */
static inline void sq_put_var(lt_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    sq_put(b, tmp, sq_put_varint(tmp, v));
}

/* ---- GenAI (sqlite_genai.c) ---- */

/* The distinct GenAI values of a trace that list filters test: models (request and
 * response), providers, operations, conversations, users; at most GDIMS_PER_KIND of each,
 * then the kind is marked as overflowing (its filter then looks at the spans). */
enum { GD_MODEL = 1, GD_PROVIDER, GD_OPERATION, GD_CONVERSATION, GD_USER, GD_KINDS = 5 };
enum { GDIMS_PER_KIND = 16 };
typedef struct {
    struct {
        uint8_t kind;
        lt_str v;
    } e[GD_KINDS * GDIMS_PER_KIND];
    uint32_t n;
    uint8_t overflow; /* bit (kind - 1) */
} gdims_set;

/* One call's GenAI part of a trace summary. */
typedef struct {
    uint32_t llm_calls;
    uint64_t in_tok, out_tok;
    double cost;
    gdims_set dims;
} gtotals;

int sq_genai_open(sq_store *s);
void sq_genai_close(sq_store *s);
void sq_gtotals_add(gtotals *t, const lt_genai *g, const gfacts *f);
/* Appends t's dimension list (the summary's gdims column form) to out. */
void sq_gdims_encode(const gdims_set *d, lt_buf *out);
/* Appends the body field that carries the span's view (all but the cost fields) to out;
 * written before the span's encoding. */
int sq_genai_body_view(sq_store *s, const lt_span *sp, const gfacts *f, lt_buf *out);
/* Stores a span with a view as its row of genai (span row, summary trace_row, resource and
 * scope rows, body location and length) and counts it for the rollups. */
int sq_genai_write(sq_store *s, int64_t row, int64_t trace_row, const lt_span *sp, int64_t res_id,
                   int64_t scope_id, int64_t loc, int64_t len, const gfacts *f);
/* In sq_begin_write's transaction: rebuilds the accumulator after a rollback or an open and
 * writes it into the rollups when due (always when force). */
int sq_genai_prepare(sq_store *s, bool force);
/* After a rollback: the accumulator no longer matches the table. */
void sq_genai_rolled_back(sq_store *s);
/* Retention, in its transaction: takes the views of span rows <= upto out of the rollups
 * and deletes them. */
int sq_genai_retire(sq_store *s, int64_t upto);
/* Recovery at open, in its transaction: the same for span rows >= from (their bodies were
 * lost), and the rollup mark moves back before them. */
int sq_genai_drop_from(sq_store *s, int64_t from);
/* Reading: the rows' part of the views of a summary's span ranges (trace_row), sorted by
 * span row id, in the arena; sq_genai_view joins one with its body field. */
typedef struct {
    int64_t id;
    lt_genai *g;
} sq_view;
int sq_genai_load_views(reader *r, const uint8_t *ranges, size_t rlen, int64_t trace_row,
                        lt_arena *a, sq_view **out, size_t *n);
int sq_genai_view(const uint8_t *p, size_t n, const lt_genai *cols, lt_arena *a, lt_genai **out);
/* List filters: whether a summary's gdims column (p, len) passes q's GenAI value filters.
 * *unsure is set when a value may be on a span the summary does not list (overflow); the
 * caller then asks sq_genai_trace_has, which looks at the trace's genai rows and counts
 * them against *budget. */
bool sq_gdims_match(const uint8_t *p, size_t len, const lt_trace_query *q, bool *unsure);
int sq_genai_trace_has(reader *r, int64_t trace_row, const uint8_t *ranges, size_t rlen,
                       const lt_trace_query *q, uint64_t *budget, bool *match);
void sq_genai_sql_functions(sqlite3 *db, int *src);
int sq_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *a, lt_genai_group **out,
                     uint32_t *n);
int sq_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx);

/* ---- full-text search (sqlite_search.c) ---- */

int sq_search_open(sq_store *s);
void sq_search_close(sq_store *s);
/* Indexes the text of one run: refs[0..n) are one trace's spans (sig SIG_SPANS) or log
 * records (SIG_LOGS) of the call being written; run is the first row's id (spans) or its
 * negation (log records), trace_row their summary. */
int sq_search_run(sq_store *s, int sig, const item_ref *refs, size_t n, int64_t run,
                  int64_t trace_row);
/* In sq_begin_write's transaction: indexes the pending text when enough waits (always when
 * force). */
int sq_search_prepare(sq_store *s, bool force);
void sq_search_rolled_back(sq_store *s);
/* Retention, in its transaction, after batches went: drops the generations no batch is
 * left in. */
int sq_search_retire(sq_store *s);
/* Recovery at open, in its transaction: the references of runs from span row span_from (log
 * row log_from) on go (0: none lost). */
int sq_search_drop_from(sq_store *s, int64_t span_from, int64_t log_from);
/* Reading, in r's read transaction: the distinct summary rows of the traces whose text
 * matches (store.h, lt_trace_query.text), in a malloc'd array. LT_ETOOBIG past budget
 * references, LT_EINVAL for text the index cannot take. */
int sq_search_traces(reader *r, lt_str text, uint64_t budget, int64_t **out, size_t *n);

/* ---- consistency check (sqlite_check.c) ---- */

int sq_check(lt_store *st, lt_arena *a, lt_check_report *out);

/* ---- content (sqlite_content.c) ---- */

int sq_content_open(sq_store *s, bool created);
void sq_content_close(sq_store *s);
/* Appends the stored form of a span (log record) to out: its canonical encoding, with
 * strings of LT_SQLITE_CONTENT_MIN bytes or more moved into the content table and a
 * reference field in front. 0, LT_ENOMEM or a SQLite error. */
int sq_content_encode_span(sq_store *s, const lt_span *sp, lt_buf *out);
int sq_content_encode_log(sq_store *s, const lt_log_record *lr, lt_buf *out);
/* In sq_begin_write's transaction: rebuilds the map of unindexed pieces after a rollback
 * or an open, and indexes them when due. */
int sq_content_prepare(sq_store *s);
/* After a call's bodies are encoded: stores the block being filled. */
int sq_content_end(sq_store *s);
void sq_content_rolled_back(sq_store *s);
/* Retention, in its transaction, after batches went: deletes content no batch left can
 * reference. */
int sq_content_retire(sq_store *s);

/* The pieces of a string: byte ranges, each stored on its own (content) or inline. */
typedef struct {
    size_t off, len;
    bool content;
} sq_piece;
typedef struct {
    sq_piece *v;
    size_t n, cap;
} sq_pieces;
/* Cuts a JSON array at its top-level elements into pv: elements of LT_SQLITE_CHUNK_MIN bytes
 * or more are content pieces, the bytes between and around them (and smaller elements)
 * inline ones. Returns 1 when p is such an array with at least one content piece, 0 when it
 * is to be taken whole, LT_ENOMEM. */
int sq_split_json_array(sq_pieces *pv, const char *p, size_t n);
/* A 63-bit keyed hash of p (SipHash under the store's random key): the same bytes give the
 * same value in one store, crafted collisions are out of reach. Writer only. */
uint64_t sq_content_hash(const sq_store *s, const void *p, size_t n);

/* A reader's content blocks already inflated during one call (id -> bytes in its arena). */
typedef struct {
    struct {
        int64_t id;
        const char *p;
        size_t len;
    } * e;
    size_t cap, n;
} sq_cread;
void sq_cread_reset(sq_cread *c); /* forgets the entries (their arena was reset) */
void sq_cread_free(sq_cread *c);
/* Decodes a stored body (as sq_content_encode_* made it, after any view field), restoring
 * moved strings; *view (when not NULL) is the view field's payload, empty without one. */
int sq_content_decode_span(reader *r, sq_cread *c, lt_arena *a, const uint8_t *p, size_t n,
                           lt_span *out, lt_str *view);
/* The view field of a stored body (empty without one); LT_EIO when the body is malformed. */
int sq_body_view(const uint8_t *p, size_t n, lt_str *view);
int sq_content_decode_log(reader *r, sq_cread *c, lt_arena *a, const uint8_t *p, size_t n,
                          lt_log_record *out);

/* ---- shared by sqlite.c (writing, opening, reading a trace) and sqlite_query.c (listing,
 * searching, live tail, services) ---- */

/* One stored span or log record of a trace, in arrival order. */
typedef struct {
    int64_t res, scope, loc;
    int64_t id; /* its row */
    uint32_t seq;
    uint32_t len;
    const uint8_t *body;
} srow;

typedef struct {
    srow *v;
    size_t n, cap;
} rows;

/* The stored rows of one signal listed by a summary's ranges (of summary row id), appended
 * to out with their bodies in a. */
int sq_load_rows(const sq_store *s, reader *r, fdcache *fc, int64_t id, const uint8_t *ranges,
                 size_t rlen, int signal, lt_arena *a, rows *out);
/* Loads resource (or scope, when scope is set) id into the arena. */
int sq_load_meta(reader *r, bool scope, int64_t id, lt_arena *a, void *out, lt_str *url);
/* Sums the segment files and finds the lowest and highest numbers (0 when none). */
void sq_seg_scan(sq_store *s, uint32_t *lo, uint32_t *hi);
/* Reads the next service name at *p; false at the end or on a malformed list. */
bool sq_next_service(const uint8_t **p, const uint8_t *end, lt_str *out);
/* The engine's query entries (store.h's function table), in sqlite_query.c. */
int sq_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out);
int sq_trace_stats(lt_store *st, const lt_trace_query *q, uint32_t k, lt_arena *a,
                   lt_trace_stats *out);
int sq_tail_spans(lt_store *st, const lt_tail_query *q, lt_arena *a, lt_tail *out);
int sq_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n);
int sq_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out, uint32_t *n);
int sq_bytes_used(lt_store *st, uint64_t *out);

#endif
