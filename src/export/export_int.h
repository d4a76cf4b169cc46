/* export_int.h — what the files of export/ share: the exporter's layout, its queue, and the
 * hooks of each exporter type. Not a contract for other modules.
 *
 * export.c owns the life cycle, the queue and the consumer threads (retries, backoff);
 * queue.c the on-disk queue's files; client.c the HTTP transport (libcurl);
 * otlp_client.c OTLP over gRPC and HTTP on top of it; file.c, debug.c and prw.c the other
 * types; loadbalancing.c an exporter made of otlp exporters, one per backend. */
#ifndef LT_EXPORT_EXPORT_INT_H
#define LT_EXPORT_EXPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/str.h"
#include "export/export.h"

enum {
    EX_DEFAULT_QUEUE_SIZE = 1000,
    EX_MAX_QUEUE_SIZE = 1000000,
    EX_DEFAULT_CONSUMERS = 10,
    EX_MAX_CONSUMERS = 64,
    EX_MAX_METRICS = 16,      /* spanmetrics connectors of one prometheusremotewrite */
    EX_MAX_REPLY = 64 << 10,  /* bytes of an answer's body kept */
    EX_MAX_HEADERS = 64,      /* headers: entries */
    EX_MAX_HEADER_LEN = 8192, /* headers: one name and value */
};

typedef enum { EX_OTLP, EX_OTLPHTTP, EX_DEBUG, EX_FILE, EX_PRW, EX_LB } ex_type;

/* One batch in the queue. */
typedef struct ex_item {
    struct ex_item *next;
    unsigned signal;     /* SIG_TRACES, SIG_METRICS or SIG_LOGS */
    uint64_t n_items;    /* spans, data points or log records (spanmetrics series for
                            prometheusremotewrite's snapshots) */
    uint64_t seq;        /* order of arrival; a disk queue's file name */
    uint64_t arrived_ns; /* monotonic time it was queued: the batch timeout counts from it */
    size_t size;         /* payload bytes */
    bool on_disk;        /* the payload is in a file of the queue's directory */
    lt_buf data;         /* the payload; for a disk item, read when its turn comes */
} ex_item;

/* The queue keeps one list per signal, so batching merges one signal's batches without
 * walking the others'. */
enum { EX_N_SIGNALS = 3 };
static inline unsigned ex_sig_index(unsigned signal)
{
    return signal == SIG_TRACES ? 0 : signal == SIG_METRICS ? 1 : 2;
}
typedef struct {
    ex_item *head, *tail; /* waiting, oldest first */
    uint64_t items;       /* their n_items, summed */
} ex_list;

/* What one attempt to deliver a payload came to. */
typedef enum { EX_SENT, EX_RETRY, EX_PERMANENT } ex_outcome;
typedef struct {
    ex_outcome outcome;
    uint64_t rejected;       /* EX_SENT: items the receiver refused (partial success) */
    uint64_t retry_after_ns; /* EX_RETRY: the delay the receiver asked for (0: none) */
    char msg[384];           /* why, for the log */
} ex_result;

typedef struct {
    bool enabled;
    uint64_t initial_ns, max_ns, max_elapsed_ns; /* max_elapsed_ns 0: never give up */
} ex_retry;

/* An HTTP client's settings (otlp, otlphttp, prometheusremotewrite). */
typedef struct {
    char *url_traces, *url_metrics, *url_logs; /* prometheusremotewrite: url_traces is the
                                                  endpoint */
    struct curl_slist *headers; /* the fixed ones of the protocol and the configured ones */
    long timeout_ms;
    bool gzip;
    bool grpc;     /* gRPC framing and statuses */
    bool h2_prior; /* HTTP/2 without TLS, by prior knowledge (gRPC's plaintext) */
    bool skip_verify;
    char *ca_file, *cert_file, *key_file;
} ex_client;

/* A sending thread; it keeps its libcurl handle (and so its connection) between requests. */
typedef struct {
    exporter *ex;
    pthread_t th;
    bool running;
    void *curl; /* CURL * */
    uint64_t rng;
} ex_consumer;

typedef enum { DEBUG_BASIC, DEBUG_NORMAL, DEBUG_DETAILED } ex_verbosity;

typedef struct {
    char *path;
    bool rotate;
    uint64_t max_bytes;
    int64_t max_days, max_backups; /* 0: no limit */
    bool localtime;
    uint64_t flush_ns;
    FILE *f;
    uint64_t size;          /* bytes in the current file, buffered ones included */
    uint64_t next_flush_ns; /* monotonic */
    bool dirty;
} ex_file;

typedef struct {
    char *name, *value;
} ex_label;

typedef struct {
    char *namespace_; /* prefix of every metric name, "" for none */
    ex_label *labels;
    size_t n_labels;
    bool target_info; /* OTLP metrics: a target_info series per resource */
    spanmetrics *sm[EX_MAX_METRICS];
    uint64_t next_ns[EX_MAX_METRICS]; /* monotonic time of each connector's next send */
    size_t n_sm;
} ex_prw;

typedef struct ex_lb ex_lb; /* loadbalancing.c */

struct exporter {
    char *id;
    ex_type type;
    ex_lb *lb; /* loadbalancing: the ring and its backends; the rest of this struct but id,
               type, the batching settings and mu is unused */
    ex_client client;
    ex_retry retry;
    ex_verbosity verbosity;
    ex_file file;
    ex_prw prw;

    /* the queue's settings */
    bool queue_enabled;
    int n_consumers;
    uint64_t queue_size;
    char *dir; /* disk queue's directory, or NULL */
    int dir_lock;

    /* export_set_batching: merge queued batches of a signal into one request */
    bool batching;
    uint64_t batch_timeout_ns, batch_size, batch_max; /* batch_max 0: no bound */

    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued, a consumer free, or stop; CLOCK_MONOTONIC */
    ex_list q[EX_N_SIGNALS];
    uint64_t n_queued;     /* queue entries waiting or being sent */
    uint64_t n_waiting;    /* entries in the lists, not taken by a consumer yet */
    uint64_t queued_bytes; /* payload bytes of the items waiting or being sent */
    uint64_t mem_bytes;    /* the part of them held in memory (not on disk) */
    uint64_t next_seq;
    int idle;             /* consumers waiting for work */
    bool stopping;        /* written under mu with __atomic; read anywhere */
    uint64_t deadline_ns; /* monotonic: when stopping gives up (likewise) */
    export_stats st;
    ex_consumer *consumers;
    bool started;
};

/* ---- export.c ---- */
/* Reading options: where names the component ("exporters.otlp/jaeger") or one of its
 * sections; messages are "FILE:LINE:COL: WHERE.KEY: what". Each ex_opt_* reads map[key]
 * when present (leaving *out as it was otherwise). 0 or LT_EINVAL. */
typedef struct {
    const cfg_doc *d;
    const char *where;
    char *err;
    size_t errlen;
    /* otlp: the endpoint when the settings have none (the template of loadbalancing's
     * backends, whose endpoints come from its resolver) */
    const char *endpoint;
} ex_cfg;
int ex_error(const ex_cfg *c, const cfg_node *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* sub: the section key of c, its where written into buf. */
void ex_sub(const ex_cfg *c, const char *key, ex_cfg *sub, char *buf, size_t n);
int ex_opt_bool(const ex_cfg *c, const cfg_node *map, const char *key, bool *out);
int ex_opt_string(const ex_cfg *c, const cfg_node *map, const char *key, const char **out);
int ex_opt_int(const ex_cfg *c, const cfg_node *map, const char *key, int64_t min, int64_t max,
               int64_t *out);
int ex_opt_duration(const ex_cfg *c, const cfg_node *map, const char *key, bool positive,
                    uint64_t *out);

/* Builds an exporter of type (not EX_LB) named id from settings, as export_create does; the
 * pipelines using it send signals. 0, LT_EINVAL (message in c->err) or LT_ENOMEM. */
int ex_create(const ex_cfg *c, const cfg_node *settings, ex_type type, const char *id,
              unsigned signals, exporter **out);
/* A new otlp exporter named id with tmpl's settings (an otlp exporter's, never started)
 * but sending to hostport ("HOST:PORT", "[V6]:PORT"). 0 or LT_ENOMEM. */
int ex_clone(const exporter *tmpl, const char *id, const char *hostport, exporter **out);
/* export_stop in three steps, so that an exporter made of others stops them together and
 * reads their last counts: ex_stop_begin sets the deadline now + grace_ms (one set before
 * stays) and wakes the threads; ex_halt joins them, counts what is left, closes files;
 * ex_free frees (NULL-tolerant). */
void ex_stop_begin(exporter *ex, long grace_ms);
void ex_halt(exporter *ex);
void ex_free(exporter *ex);
/* Initialises cv on the monotonic clock, which every timed wait of export/ uses. */
void ex_cond_init(pthread_cond_t *cv);
/* Whether export_stop's grace has run out (any thread, no lock). */
bool ex_past_deadline(exporter *ex);
/* Appends it to the queue, counted, arrived now (ex->mu held). */
void ex_link(exporter *ex, ex_item *it);
/* Adds (sign +1) or removes (-1) it from the queue's counts (ex->mu held). */
void ex_counted(exporter *ex, const ex_item *it, int sign);
/* Counts the outcome of delivering it and logs a failure (ex->mu held). */
void ex_account(exporter *ex, const ex_item *it, const ex_result *r);
/* Waits on ex->cv until until_ns (monotonic; 0: no limit) or a broadcast (ex->mu held). */
void ex_wait_until(exporter *ex, uint64_t until_ns);
/* Delivers payload with the exporter's retries: attempt(ctx) is called until it succeeds, fails
 * for good, retries run out, give_up_ns (monotonic, 0: none) passes or the stop deadline
 * does. Takes and releases ex->mu for its waits and counts retries. */
typedef void (*ex_attempt_fn)(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r);
void ex_deliver(exporter *ex, ex_consumer *c, const ex_item *it, ex_attempt_fn attempt,
                uint64_t give_up_ns, ex_result *r);

/* ---- queue.c: the disk queue ---- */
/* Creates (one level) and locks dir, removes unfinished writes, and queues every batch found
 * (oldest first). Called by export_start before the threads run. */
int dq_open(exporter *ex, char *err, size_t errlen);
/* Writes it (its payload in it->data) to a new file, synced, before it counts as queued. */
int dq_write(exporter *ex, const ex_item *it);
/* Reads the payload of a disk item into it->data. LT_EINVAL when the file is damaged. */
int dq_read(exporter *ex, ex_item *it);
void dq_remove(exporter *ex, const ex_item *it);
void dq_close(exporter *ex);
/* The header of a queue file: parsed from untrusted bytes (tests/fuzz). */
enum { DQ_HEADER = 32 };
int dq_parse_header(const uint8_t *p, size_t n, unsigned *signal, uint64_t *n_items,
                    uint64_t *payload_len, uint32_t *crc);

/* ---- client.c: HTTP over libcurl ---- */
typedef struct {
    long status;             /* HTTP status, 0 when nothing was answered */
    char transport_err[256]; /* libcurl's reason when status is 0 */
    bool reset;              /* no answer because the HTTP/2 stream was reset */
    lt_buf body;             /* the answer's body, up to EX_MAX_REPLY bytes */
    char content_type[128];
    uint64_t retry_after_ns; /* Retry-After, 0 when absent */
    /* gRPC: status and message (headers or trailers), details (base64, as sent) */
    bool has_grpc_status;
    int grpc_status;
    char grpc_message[256];
    char grpc_encoding[32];
    lt_buf grpc_details;
} ex_reply;

/* signals: those of the pipelines using the exporter (otlphttp may then leave endpoint out
 * when each of them has its own). */
int ex_client_parse(const ex_cfg *c, const cfg_node *settings, ex_type type, unsigned signals,
                    ex_client *cl);
/* The URL of a signal; NULL when the exporter has none for it. */
const char *ex_client_url(const ex_client *cl, unsigned signal);
void ex_client_free(ex_client *cl);
/* POSTs body to url with the client's settings on c's handle (created on first use),
 * waiting at most the timeout (cut to the stop deadline when stopping). 0 when an answer
 * came (any status), LT_EIO when none did (rep->transport_err says why), LT_ENOMEM. */
int ex_client_post(exporter *ex, ex_consumer *c, const char *url, const lt_buf *body,
                   ex_reply *rep);
void reply_free(ex_reply *rep);
/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3), in ns from now; 0 when
 * absent, unparseable or past. Bounded to an hour. */
uint64_t ex_retry_after(const char *v, size_t n);

/* ---- otlp_client.c ---- */
void otlp_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r);
/* Reads an Export*ServiceResponse (protobuf) for its partial_success. 0 or LT_EINVAL. */
int otlp_parse_response(const uint8_t *p, size_t n, uint64_t *rejected, lt_str *msg);
/* Reads a google.rpc.Status (grpc-status-details-bin, decoded) for a RetryInfo delay and
 * its message. 0 or LT_EINVAL. */
int otlp_parse_status(const uint8_t *p, size_t n, uint64_t *retry_ns, lt_str *msg);
/* Whether a gRPC status is worth retrying as the OTLP spec says. */
bool otlp_grpc_retryable(int code, bool has_retry_info);

/* ---- file.c ---- */
int file_parse(const ex_cfg *c, const cfg_node *settings, ex_file *f);
int file_open(exporter *ex, char *err, size_t errlen);
void file_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r);
/* Appends the resources of line, a request as json_encode_* writes it
 * ({"resourceSpans":[...]}), to the request being built in out: the first line brings its
 * opening, the caller closes with "]}". *any tells whether out holds a resource yet. 0,
 * LT_ENOMEM, or LT_EINVAL for a line of another shape. */
int file_join(lt_buf *out, const lt_buf *line, bool *any);
/* Flushes when the flush interval has passed (force: now). Consumer thread. */
void file_flush(exporter *ex, bool force);
void file_close(exporter *ex);

/* ---- debug.c ---- */
int debug_parse(const ex_cfg *c, const cfg_node *settings, ex_verbosity *v);
int debug_format_traces(const exporter *ex, const lt_trace_batch *b, lt_buf *out);
int debug_format_logs(const exporter *ex, const lt_log_batch *b, lt_buf *out);
int debug_format_metrics(const exporter *ex, const lt_metric_batch *b, lt_buf *out);
void debug_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r);

/* ---- split.c: a batch in pieces of at most max items ---- */
typedef struct {
    const struct split_kind *k;
    const void *batch;
    uint64_t max, budget, items;
    void *scratch[4]; /* copies of the containers of a piece, per level (3 at most) */
    size_t used[4];
    uint32_t cur[4]; /* where the next piece starts, per level */
    bool done;
    union {
        lt_trace_batch t;
        lt_metric_batch m;
        lt_log_batch l;
    } piece;
} ex_split;
/* Prepares to cut batch (an lt_trace_batch, lt_metric_batch or lt_log_batch, by signal),
 * which must stay as it is while pieces are taken. 0 or LT_ENOMEM. */
int split_init(ex_split *sp, unsigned signal, const void *batch, uint64_t max);
/* The next piece (a batch of the same type, valid until the next call; its items are
 * those of batch, in order) with its item count in *items; NULL after the last. */
const void *split_next(ex_split *sp, uint64_t *items);
void split_free(ex_split *sp);

/* ---- client.c: a copy for another endpoint ---- */
/* dst becomes src's settings with its URLs pointed at hostport (gRPC: the scheme kept).
 * 0 or LT_ENOMEM (dst then holds what was copied, for ex_client_free). */
int ex_client_copy(ex_client *dst, const ex_client *src, const char *hostport);

/* ---- loadbalancing.c ---- */
/* Parses the settings (routing_key, protocol.otlp, resolver) into ex->lb; a static resolver's
 * backends are created here. 0, LT_EINVAL with a positioned message, LT_ENOMEM. */
int lb_parse(const ex_cfg *c, const cfg_node *settings, exporter *ex);
int lb_start(exporter *ex, char *err, size_t errlen);
bool lb_has_room(exporter *ex, size_t bytes);
/* signal SIG_TRACES or SIG_LOGS (b an lt_trace_batch or lt_log_batch); LT_EUNSUPPORTED for
 * metrics. */
int lb_export(exporter *ex, unsigned signal, const void *b);
void lb_get_stats(exporter *ex, export_stats *out);
/* Stops the resolver and every backend within grace_ms, frees ex->lb. */
void lb_stop(exporter *ex, long grace_ms);

/* The consistent-hash ring: each endpoint owns LB_POINTS points, at hashes of its own
 * name, and a key belongs to the endpoint of the first point at or after it (wrapping).
 * A point depends only on its endpoint's name, so the order endpoints are given in does
 * not matter, and removing an endpoint moves only the keys of its points (to the next
 * points); adding one takes about 1/N of the keys. Read-only once built. */
enum { LB_POINTS = 1000 };
typedef struct lb_ring lb_ring;
/* eps: n endpoints (duplicates are kept once). Endpoint i of the ring is the i-th in byte
 * order. 0 or LT_ENOMEM. */
int lb_ring_new(const char *const *eps, size_t n, lb_ring **out);
size_t lb_ring_size(const lb_ring *r);
const char *lb_ring_endpoint(const lb_ring *r, size_t i);
/* The index of the endpoint owning key; the ring holds one endpoint at least. */
size_t lb_ring_owner(const lb_ring *r, uint64_t key);
/* The share of all keys endpoint i owns (its arcs of the ring, 0 to 1). */
double lb_ring_share(const lb_ring *r, size_t i);
void lb_ring_free(lb_ring *r);
/* Keys: a trace id, and a service name (routing_key service, and log records without a
 * trace id). */
uint64_t lb_key_trace(const uint8_t id[16]);
uint64_t lb_key_service(lt_str name);
/* The resolver's step, for the DNS thread and for tests: makes eps (n HOST:PORT
 * endpoints, any order) the backends: new ones created and started, unchanged ones kept,
 * removed ones stopped after sending for at most drain_ms. Logs a change. 0 or LT_ENOMEM
 * (the backends then stay as they were). */
int lb_apply(exporter *ex, const char *const *eps, size_t n, long drain_ms);
/* The backend of endpoint ep, or NULL; for tests (between calls of the resolver). */
exporter *lb_backend(exporter *ex, const char *ep);

/* ---- prw.c ---- */
int prw_parse(const ex_cfg *c, const cfg_node *settings, ex_prw *p);
void prw_free(ex_prw *p);
/* The spanmetrics snapshots' thread. */
void *prw_thread(void *arg);
/* OTLP metrics as a remote write request (the exporter's namespace, external labels and
 * target_info); *written gets the data points written, *dropped those the translation
 * leaves out (why: *reason). 0 or LT_ENOMEM. */
int prw_encode_metrics(const exporter *ex, const lt_metric_batch *b, lt_buf *out, uint64_t *written,
                       uint64_t *dropped, const char **reason);
/* One attempt to POST a queued request (snappy protobuf). */
void prw_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r);

#endif
