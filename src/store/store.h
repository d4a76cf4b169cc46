/* store.h — the storage interface: one contract, several engines.
 *
 * An engine keeps spans and log records as immutable rows, appended, and can give every
 * one of them back as it was sent (lossless). It maintains a summary per trace on write so
 * that listing traces never scans spans. Traces arrive in pieces, over many requests and
 * minutes; log records may arrive before or after the span they belong to.
 *
 * No SQL and no engine types appear here: a second engine (ClickHouse) implements the
 * same table of functions. Open an engine with store_open(); every function of an open
 * store is thread-safe (writes are serialised inside the engine; reads run concurrently
 * with writes). Results are allocated in the caller's arena and live as long as it. */
#ifndef LT_STORE_STORE_H
#define LT_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"

typedef struct lt_store lt_store;

typedef struct {
    uint8_t trace_id[16];
    lt_str root_name; /* empty until a span without parent has arrived */
    lt_str root_service;
    uint64_t start_unix_nano;
    uint64_t end_unix_nano;
    uint32_t span_count;
    uint32_t error_count;
    lt_str *services; /* distinct service names, sorted */
    uint32_t n_services;
    /* GenAI totals over the trace's spans that carry a view (lt_span.genai) */
    uint32_t llm_calls;     /* spans with token counts */
    uint64_t input_tokens;  /* canonical input, cached included */
    uint64_t output_tokens; /* canonical output, reasoning included */
    double cost;            /* USD, over the spans whose cost is known */
} lt_trace_summary;

/* Filters for store_list_traces; zero/NULL fields do not filter. Results are newest first
 * by (start, trace id); cursor, when set, is the last item of the previous page. */
typedef struct {
    lt_str service;     /* a service that took part in the trace */
    lt_str name;        /* the root span's name */
    uint64_t start_min; /* trace start >= start_min */
    uint64_t start_max; /* trace start <= start_max */
    uint64_t min_duration_ns;
    uint64_t max_duration_ns;
    bool errors_only;  /* at least one span with status ERROR */
    lt_str attr_key;   /* some span (or its resource) has attribute key ... */
    lt_str attr_value; /* ... whose value, rendered as text, equals this */
    /* GenAI filters: some span's canonical view has ... */
    lt_str model;        /* ... this request or response model */
    lt_str provider;     /* ... this gen_ai.provider.name */
    lt_str operation;    /* ... this gen_ai.operation.name */
    lt_str conversation; /* ... this gen_ai.conversation.id */
    lt_str user;         /* ... this user.id */
    double min_cost;     /* the trace's total cost >= min_cost (0 = no filter) */
    uint64_t min_tokens; /* the trace's input + output tokens >= min_tokens */
    /* Free text: some span of the trace (or a log record that carries its trace id) holds
     * these words in this order, the last one as a prefix, case-insensitive (accents are
     * ignored): in its name, its status message, a string attribute of 64 bytes or more
     * (message content, documents, tool payloads: what the content store holds, and
     * smaller strings of that kind), any string of its events, or a log record's body.
     * Text written before this feature existed is not indexed. */
    lt_str text;
    uint32_t limit; /* 0 = 20; capped at 1000 */
    bool has_cursor;
    uint64_t cursor_start;
    uint8_t cursor_trace_id[16];
} lt_trace_query;

typedef struct {
    lt_trace_summary *items;
    uint32_t n;
    bool more; /* another page may exist */
    /* Where the next page starts when more is set: pass as the query's cursor. It is the
     * last trace examined, which lies past the last item returned when a filter stopped
     * early to bound its work (items may then be fewer than limit, even none). */
    uint64_t next_start;
    uint8_t next_trace_id[16];
} lt_trace_list;

/* What trace_stats finds over the traces a query matches (its cursor and limit aside):
 * the k most expensive and the k slowest, and how trace costs are distributed. */
enum { LT_COST_BUCKETS = 30 }; /* see store_cost_bucket_min */
typedef struct {
    lt_trace_summary *by_cost;     /* cost descending, then newest first; cost > 0 only */
    lt_trace_summary *by_duration; /* duration descending, then newest first */
    uint32_t n_cost, n_duration;
    uint64_t traces;                     /* traces that matched */
    uint64_t cost_hist[LT_COST_BUCKETS]; /* traces per cost bucket */
    bool partial; /* the engine stopped at its work bound: only the newest traces of the
                   * range were looked at (narrow the range, or add filters) */
} lt_trace_stats;

/* The lower bound (USD) of cost bucket i: bucket 0 holds traces without cost (0), bucket
 * i >= 1 costs in [min(i), min(i + 1)), bucket 1 also any smaller positive cost and the last
 * one everything from its bound up. The bounds go 1-2-5 from one micro-dollar: 0.000001,
 * 0.000002, 0.000005, 0.00001, ..., 2000. Engine-independent (store.c). */
double store_cost_bucket_min(uint32_t i);

/* One span as the live tail shows it: the columns an engine keeps next to the body, no
 * attributes, events or content. */
typedef struct {
    uint64_t seq; /* arrival position: spans that arrived later have larger ones */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    bool has_parent;
    lt_str name;
    lt_str service;
    uint32_t kind;
    uint32_t status_code;
    uint64_t start_unix_nano;
    uint64_t end_unix_nano;
    /* from its GenAI view, when it has one (has_view) */
    bool has_view;
    lt_str operation, provider, model; /* model: response model, else request model */
    bool has_input_tokens, has_output_tokens, has_cost;
    uint64_t input_tokens, output_tokens;
    double cost;
} lt_span_brief;

/* Filters for tail_spans; zero/NULL fields do not filter. */
typedef struct {
    bool has_after;
    uint64_t after;   /* spans with seq > after; without it, the newest spans */
    uint32_t limit;   /* 0 = 100; capped at 1000 */
    lt_str service;   /* the span's resource's service.name */
    lt_str model;     /* its view's request or response model */
    bool errors_only; /* status ERROR */
} lt_tail_query;

typedef struct {
    lt_span_brief *items; /* in arrival order */
    uint32_t n;
    /* Pass as the next query's after: past every span examined (the engine bounds the
     * spans one call examines, so it may be past the last item, even with none). */
    uint64_t next;
} lt_tail;

/* A whole trace: its spans grouped by resource and scope as they were sent (one
 * lt_resource_spans per stored resource/scope pair), and every log record that carries
 * its trace id. */
typedef struct {
    lt_trace_batch spans;
    lt_log_batch logs;
} lt_trace_data;

typedef struct {
    lt_str name;
    uint32_t span_kind;
} lt_operation;

typedef struct {
    uint64_t max_age_ns; /* 0 = keep forever */
    uint64_t max_bytes;  /* 0 = no size bound */
} lt_retention;

/* GenAI aggregates over spans with a view, grouped by one dimension. */
typedef enum {
    LT_GROUP_MODEL, /* response model, else request model */
    LT_GROUP_PROVIDER,
    LT_GROUP_OPERATION,
    LT_GROUP_SERVICE,
    LT_GROUP_SPAN_NAME,
    LT_GROUP_AGENT,
    LT_GROUP_USER,
    LT_GROUP_CONVERSATION,
} lt_group_by;

typedef struct {
    uint64_t start_min; /* span start >= start_min */
    uint64_t start_max; /* span start <= start_max (0 = no bound) */
    lt_group_by group_by;
    /* 0: one set of groups over the range. Otherwise a time series: the groups of each
     * bucket [k * step_ns, (k + 1) * step_ns) (k integer, Unix time) that the range
     * touches, the first and last holding only what lies inside the range. A multiple of
     * LT_STEP_MIN_NS (whole minutes: an engine may answer from per-minute rollups). */
    uint64_t step_ns;
} lt_genai_query;

#define LT_STEP_MIN_NS 60000000000ull

typedef struct {
    uint64_t bucket_start; /* series: the start of its bucket (k * step_ns); else 0 */
    lt_str key;            /* empty for spans without a value for the dimension */
    uint64_t calls;
    uint64_t errors; /* status ERROR or error.type set */
    uint64_t input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
        reasoning_tokens;
    double cost;
    /* latency quantiles; an engine may approximate within 5% (histograms) */
    uint64_t duration_p50_ns, duration_p95_ns, duration_p99_ns;
    bool has_ttft;
    double ttft_p50_s, ttft_p95_s;
} lt_genai_group;

/* Called by rederive for every stored view: may change the view's cost fields (GA_COST,
 * GA_COST_SOURCE) in place; returns 0 or an error that stops the walk. */
typedef int (*lt_rederive_fn)(void *ctx, lt_genai *g, uint64_t span_start_unix_nano);
/* Progress of a long operation: done of total units. */
typedef void (*lt_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* What store_check found: how much it looked at, and the problems. Every problem is
 * counted; the first LT_CHECK_LISTED are described in one line each (in the caller's arena). */
enum { LT_CHECK_LISTED = 50 };
typedef struct {
    uint64_t traces, spans, logs; /* trace summaries, span rows, log records */
    uint64_t views;               /* spans stored with a GenAI view */
    uint64_t content;             /* content units (SQLite: compressed blocks) */
    uint64_t segments, segment_bytes;
    uint64_t problems;
    lt_str listed[LT_CHECK_LISTED];
    uint32_t n_listed;
} lt_check_report;

typedef struct {
    const char *name;
    /* How this engine likes its writes: at most one call per batch_delay_ms unless
     * batch_items spans (records) wait (0: write whatever is there, at once), at most
     * batch_max_items per call (0: the writer's default). ClickHouse makes a part of every
     * insert, so it wants few inserts of many rows; SQLite commits cheaply. */
    uint32_t batch_items, batch_delay_ms, batch_max_items;
    int (*write_traces)(lt_store *s, const lt_trace_batch *b);
    int (*write_logs)(lt_store *s, const lt_log_batch *b);
    int (*list_traces)(lt_store *s, const lt_trace_query *q, lt_arena *a, lt_trace_list *out);
    int (*get_trace)(lt_store *s, const uint8_t id[16], lt_arena *a, lt_trace_data *out);
    int (*list_services)(lt_store *s, lt_arena *a, lt_str **out, uint32_t *n);
    int (*list_operations)(lt_store *s, lt_str service, lt_arena *a, lt_operation **out,
                           uint32_t *n);
    int (*genai_summary)(lt_store *s, const lt_genai_query *q, lt_arena *a, lt_genai_group **out,
                         uint32_t *n);
    int (*trace_stats)(lt_store *s, const lt_trace_query *q, uint32_t k, lt_arena *a,
                       lt_trace_stats *out);
    int (*tail_spans)(lt_store *s, const lt_tail_query *q, lt_arena *a, lt_tail *out);
    int (*rederive)(lt_store *s, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx);
    int (*enforce_retention)(lt_store *s, const lt_retention *r, uint64_t now_ns);
    int (*bytes_used)(lt_store *s, uint64_t *out);
    int (*check)(lt_store *s, lt_arena *a, lt_check_report *out);
    void (*close)(lt_store *s);
} lt_store_ops;

struct lt_store {
    const lt_store_ops *ops;
};

/* Opens the store named by url: a directory path (the SQLite engine, created when
 * missing) or "clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE" (the ClickHouse engine over
 * its HTTP interface; user and password may also come from LLMTRACE_CLICKHOUSE_USER and
 * LLMTRACE_CLICKHOUSE_PASSWORD).
 * A ClickHouse that does not answer yet is not an error: the schema is created once it
 * does, and until then calls fail with LT_EIO. Returns 0 and *out, or an error code with a
 * one-line reason in errbuf. */
int store_open(const char *url, lt_store **out, char *errbuf, size_t errlen);

/* The store URL as logs and messages show it: a password in it (scheme://USER:PASSWORD@...)
 * replaced by "***". Always NUL-terminated (truncated to n - 1 bytes). */
void store_url_shown(const char *url, char *out, size_t n);

/* Appends the DDL of the ClickHouse engine's schema for database db, statements separated by
 * ";\n\n" and the last one ended by ";\n": single node when cluster is NULL (what the server
 * creates itself when the schema is missing), else ON CLUSTER cluster with ReplicatedMergeTree
 * local tables ("{shard}" and "{replica}" macros) and Distributed tables over them, sharded by
 * trace id; with ttl_ns, TTL clauses (ClickHouse 19.6 and later) dropping rows that arrived
 * longer ago. LT_EINVAL when db or cluster is not [A-Za-z0-9_]; LT_ENOMEM. */
int store_clickhouse_schema(lt_buf *out, const char *db, const char *cluster, uint64_t ttl_ns);

/* Bounds what the engines of this process keep in caches, all stores together (0 = no
 * bound). A soft bound: the caches shrink to it, queries still get the memory they need.
 * Call before opening stores; any thread. */
void store_set_cache_limit(size_t bytes);

/* Opens an existing store for reading only (llmtrace check): nothing is created, recovered,
 * cut or removed, whether or not another process writes the store; writes, retention and
 * rederive fail with LT_EBUSY. LT_ENOTFOUND when url holds no store. */
int store_open_read_only(const char *url, lt_store **out, char *errbuf, size_t errlen);

/* Writes are atomic per call: on success every span (record) of b is durable, on error
 * none is. A span's canonical view (lt_span.genai, when set) is stored with it: typed
 * columns for filters and aggregates, and get_trace gives it back on the span. Errors: LT_EIO
 * (retryable), LT_EFULL (disk full; retryable), LT_ENOMEM. b must be as the OTLP decoders
 * (model/pb.h, otlp/json.h) produce it: every string valid UTF-8, as proto3 requires. The engine
 * does not check again (it would cost the hot path a second pass over every byte); a writer that
 * builds batches by hand validates first. */
static inline int store_write_traces(lt_store *s, const lt_trace_batch *b)
{
    return s->ops->write_traces(s, b);
}
static inline int store_write_logs(lt_store *s, const lt_log_batch *b)
{
    return s->ops->write_logs(s, b);
}
/* With q->text: LT_ETOOBIG when the text matches more than an engine examines at once
 * (more words, or rarer ones, will do). */
static inline int store_list_traces(lt_store *s, const lt_trace_query *q, lt_arena *a,
                                    lt_trace_list *out)
{
    return s->ops->list_traces(s, q, a, out);
}
/* LT_ENOTFOUND when no span of the trace is stored (log records alone do not make one). */
static inline int store_get_trace(lt_store *s, const uint8_t id[16], lt_arena *a,
                                  lt_trace_data *out)
{
    return s->ops->get_trace(s, id, a, out);
}
static inline int store_list_services(lt_store *s, lt_arena *a, lt_str **out, uint32_t *n)
{
    return s->ops->list_services(s, a, out, n);
}
static inline int store_list_operations(lt_store *s, lt_str service, lt_arena *a,
                                        lt_operation **out, uint32_t *n)
{
    return s->ops->list_operations(s, service, a, out, n);
}
/* GenAI aggregates by q->group_by over spans started in [start_min, start_max], groups
 * sorted by cost then calls, descending (with step_ns: by bucket, then so). LT_ETOOBIG when the
 * range holds more groups than an engine answers at once (a narrower range, or a coarser dimension,
 * will do). */
static inline int store_genai_summary(lt_store *s, const lt_genai_query *q, lt_arena *a,
                                      lt_genai_group **out, uint32_t *n)
{
    return s->ops->genai_summary(s, q, a, out, n);
}
/* The traces q matches (its cursor, limit and sort aside): up to k (at most 1000) most
 * expensive and k slowest, and the count per cost bucket. Bounded work: past an engine's
 * bound it answers from the newest traces of the range and sets partial. LT_ETOOBIG when q's
 * text matches more than the engine looks at (more words will do). */
static inline int store_trace_stats(lt_store *s, const lt_trace_query *q, uint32_t k, lt_arena *a,
                                    lt_trace_stats *out)
{
    return s->ops->trace_stats(s, q, k, a, out);
}
/* The spans stored after q->after in the order they arrived (without after: the newest
 * ones), filtered; cheap enough to be polled every second. */
static inline int store_tail_spans(lt_store *s, const lt_tail_query *q, lt_arena *a, lt_tail *out)
{
    return s->ops->tail_spans(s, q, a, out);
}
/* Walks every stored view (oldest first), lets fn change its cost (only GA_COST and
 * GA_COST_SOURCE are kept from fn), and stores the result with the trace totals and
 * aggregates kept consistent (llmtrace reprice). progress counts views. Runs in bounded
 * transactions: when fn fails, the views before it stay repriced and consistent. A store
 * opened read-only (another process writes it) refuses at once with LT_EBUSY. */
static inline int store_rederive(lt_store *s, lt_rederive_fn fn, void *ctx, lt_progress_fn progress,
                                 void *pctx)
{
    return s->ops->rederive(s, fn, ctx, progress, pctx);
}
/* Deletes whole ingest batches, oldest first, that are older than max_age_ns or while the
 * store is over max_bytes. Safe to call while writes go on. */
static inline int store_enforce_retention(lt_store *s, const lt_retention *r, uint64_t now)
{
    return s->ops->enforce_retention(s, r, now);
}
static inline int store_bytes_used(lt_store *s, uint64_t *out)
{
    return s->ops->bytes_used(s, out);
}
/* Verifies the store against itself: the engine's own integrity check, every stored span
 * and log record readable where its row says (bodies decode, with their trace and span
 * ids, and the content they reference), the trace summaries agreeing with their spans
 * (counts, errors, ids), the indexes and GenAI views with what they point at. Fills out
 * (problems = 0 when the store is consistent) and returns 0 when the check could run; an
 * error code when it could not (LT_ENOMEM, or LT_EIO when the engine cannot be read at
 * all). Reads one snapshot and runs beside writes; on a store written while it runs, data
 * that retention deletes during the check may be reported missing. Reads everything:
 * its time grows with the store's size. */
static inline int store_check(lt_store *s, lt_arena *a, lt_check_report *out)
{
    return s->ops->check(s, a, out);
}
/* NULL-tolerant; the store must not be used afterwards. */
static inline void store_close(lt_store *s)
{
    if (s) s->ops->close(s);
}

#endif
