/* ch_int.h — private to the ClickHouse engine: its state and what its files share.
 *
 * clickhouse.c opens the engine (URL, HTTP client, schema), runs retention and the size;
 * ch_schema.c holds the DDL; ch_write.c turns batches into RowBinary rows and inserts them;
 * ch_read.c reads a trace back and answers the list, stats, tail and service queries;
 * ch_genai.c the GenAI aggregates, rederive and check.
 *
 * The engine talks to ClickHouse over its HTTP interface (libcurl), writes in RowBinary and
 * reads RowBinary results, so no value is ever escaped on the hot path. Rows are immutable:
 * a trace's summary is the sum of the partial summaries a materialized view writes for every
 * insert, merged by GROUP BY at read time (never FINAL); a trace id lookup table names the
 * hours a trace lies in. Functions shared between the files carry the ch_ prefix. */
#ifndef LT_STORE_CH_INT_H
#define LT_STORE_CH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"
#include "store/store.h"

/* Strings of span attributes (and log bodies) at least this long go to the content table. */
#define CH_CONTENT_MIN 256
/* Attribute strings at least this long (and shorter than CH_CONTENT_MIN) are searched by
 * free text, as the SQLite engine indexes them. */
#define CH_TEXT_MIN 64
/* Traces of a list page whose parts lie more than this before its range are not looked at:
 * a trace is summed over its parts inside [start - CH_SLACK_NS, end + CH_SLACK_NS]. */
#define CH_SLACK_NS 3600000000000ull
#define CH_HOUR_NS 3600000000000ull
/* Rows a list, stats or search query may examine before it stops (set partial / cursor). */
#define CH_STATS_MAX 200000
#define CH_SEARCH_MAX 200000
#define CH_POOL 8

typedef struct {
    void *curl[CH_POOL]; /* idle handles (CURL *), kept for keep-alive */
    int n;
    pthread_mutex_t mu;
} ch_pool;

/* Hashes already inserted into a deduplicated table (content, resources, scopes) today: a
 * hash seen on another day is inserted again, so that every day partition holds the content
 * its rows reference and retention can drop whole days. */
typedef struct {
    uint8_t h[16];
    uint32_t day; /* 0 = empty slot */
} ch_seen_ent;
typedef struct {
    ch_seen_ent *e;
    size_t cap, n;
} ch_seen;

typedef struct {
    lt_store base;
    char *base_url; /* http://host:port/ */
    char *db;       /* database name, checked [A-Za-z0-9_] */
    char *user, *password;
    ch_pool pool;
    bool read_only;
    /* the schema exists (created or found) */
    atomic_bool ready;
    pthread_mutex_t schema_mu;
    /* backoff after failures: requests fail fast until then */
    _Atomic uint64_t down_until_ns;
    _Atomic uint64_t backoff_ns;
    atomic_bool down_logged;
    /* writer side (write calls are serialised by wlock) */
    pthread_mutex_t wlock;
    uint64_t last_seq;
    ch_seen content_seen, res_seen, scope_seen;
    lt_buf rows, content_rows, res_rows, scope_rows, tmp;
} ch_store;

/* ---- clickhouse.c: the HTTP client ---- */

/* Runs sql; with data (n bytes) sql goes in the URL and data is the body (INSERT ... FORMAT
 * RowBinary). The answer is appended to out (may be NULL). LT_EIO (retryable) when ClickHouse
 * cannot be reached or refuses, with the reason logged (once per outage); LT_ENOTFOUND when it
 * says a database or table is missing; LT_EINVAL for an error in the query (a bug, logged). */
int ch_exec(ch_store *s, const char *sql, const void *data, size_t n, lt_buf *out);
/* ch_exec after making sure the schema exists (created once ClickHouse answers); a missing
 * table (ClickHouse lost its data) creates the schema again and retries once. */
int ch_run(ch_store *s, const char *sql, const void *data, size_t n, lt_buf *out);

/* Runs sql (which ends in FORMAT RowBinary) with ch_run and copies the answer into the arena,
 * so that the slices read from it live as long as the results; r reads it. */
typedef struct rb_reader rb_reader;
int ch_query(ch_store *s, lt_buf *sql, lt_arena *a, rb_reader *r);

/* ---- ch_schema.c ---- */

/* The name of the schema's table i (materialized views aside), NULL past the last. */
const char *ch_table_name(size_t i);
/* Appends the DDL statements, separated by ";\n\n", for database db: single node when
 * cluster is NULL, else ON CLUSTER with Replicated local tables and Distributed ones; with
 * TTL clauses when ttl_ns is not 0 (ClickHouse 19.6 and later have TTL). */
void ch_schema_ddl(lt_buf *out, const char *db, const char *cluster, uint64_t ttl_ns);

/* ---- RowBinary ---- */

static inline void rb_u8(lt_buf *b, uint8_t v)
{
    buf_append(b, &v, 1);
}
static inline void rb_u32(lt_buf *b, uint32_t v)
{
    buf_append(b, &v, 4); /* little endian hosts only (checked in clickhouse.c) */
}
static inline void rb_u64(lt_buf *b, uint64_t v)
{
    buf_append(b, &v, 8);
}
static inline void rb_f64(lt_buf *b, double v)
{
    buf_append(b, &v, 8);
}
void rb_varint(lt_buf *b, uint64_t v);
static inline void rb_str(lt_buf *b, lt_str s)
{
    rb_varint(b, s.len);
    if (s.len) buf_append(b, s.ptr, s.len);
}

/* A RowBinary result being read; any read past the end sets bad and yields zeros. */
struct rb_reader {
    const uint8_t *p, *end;
    bool bad;
};

uint8_t rd_u8(rb_reader *r);
uint32_t rd_u32(rb_reader *r);
uint64_t rd_u64(rb_reader *r);
double rd_f64(rb_reader *r);
uint64_t rd_varint(rb_reader *r);
/* A String, as a slice of the result (copy it to keep it). */
lt_str rd_str(rb_reader *r);
void rd_fixed(rb_reader *r, void *out, size_t n);
static inline bool rd_more(const rb_reader *r)
{
    return !r->bad && r->p < r->end;
}

/* SQL text: a quoted string literal (every byte outside printable ASCII escaped), a binary
 * id as unhex('…'), a name checked to be [A-Za-z0-9_]. */
void sql_str(lt_buf *b, lt_str s);
void sql_hex(lt_buf *b, const uint8_t *id, size_t n);

/* ---- the engine's entries (store.h's function table) ---- */

int ch_write_traces(lt_store *st, const lt_trace_batch *b);
int ch_write_logs(lt_store *st, const lt_log_batch *b);
void ch_writer_free(ch_store *s);
int ch_get_trace(lt_store *st, const uint8_t id[16], lt_arena *a, lt_trace_data *out);
int ch_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out);
int ch_trace_stats(lt_store *st, const lt_trace_query *q, uint32_t k, lt_arena *a,
                   lt_trace_stats *out);
int ch_tail_spans(lt_store *st, const lt_tail_query *q, lt_arena *a, lt_tail *out);
int ch_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n);
int ch_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out, uint32_t *n);
int ch_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *a, lt_genai_group **out,
                     uint32_t *n);
int ch_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx);
int ch_check(lt_store *st, lt_arena *a, lt_check_report *out);

/* ---- shared by the writer and the readers ---- */

/* Encodes a GenAI view as a resource-shaped attribute list (canonical keys) and back. */
int ch_view_encode(lt_buf *out, const lt_genai *g);
int ch_view_decode(lt_arena *a, const uint8_t *p, size_t n, lt_genai **out);
/* The attribute type codes of the spans' attr_types column. */
enum {
    AT_STRING = 0,  /* value as is */
    AT_CONTENT = 1, /* a string in the content table: value is its 16-byte hash */
    AT_INT = 2,     /* decimal */
    AT_DOUBLE = 3,  /* %.17g (finite values only) */
    AT_BOOL = 4,    /* true / false */
    AT_BYTES = 5,   /* base64 */
    AT_BODY = 6,    /* kept typed in the body's attributes (arrays, maps, empty, non-finite);
                       value is the text form for filters */
};

/* The arrival day (YYYYMMDD, UTC) of a seq (arrival time in ns). */
uint32_t ch_day(uint64_t seq_ns);

#endif
