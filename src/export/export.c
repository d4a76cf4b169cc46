/* export.c — the exporters' life cycle, queue and sending threads (contract in export.h).
 *
 * Design: every exporter is a queue of encoded batches, one list per signal, and consumer
 * threads that take the oldest batch and deliver it (ex_deliver: an attempt, then on a
 * retryable failure a wait of the exponential backoff with jitter, or of what the receiver
 * asked for when longer, until retry_on_failure's max_elapsed_time). With batching a
 * consumer takes several batches of one signal instead, once they hold send_batch_size
 * items or the oldest has waited the batch timeout, and sends them as one request: protobuf
 * Export*ServiceRequest bodies concatenate into one (their only field, the repeated
 * resource_*, appends), JSON lines join their resource arrays. The caller's thread only
 * encodes and links a batch in (and, for a disk queue, writes its file first), so the
 * pipeline never waits on the network. One mutex guards the queue and the counters; one
 * condition variable (on the monotonic clock) wakes consumers for work, for batch timeouts,
 * for retries cut short by a stop, and the file exporter for its flushes.
 * prometheusremotewrite queues the remote write requests of OTLP metrics for one consumer
 * (in order: Prometheus refuses a series' samples out of order) and has a thread of its
 * own that takes a snapshot of each spanmetrics connector when due and sends it (prw.c). */
#include "export/export.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export_int.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "otlp/otlp.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : LT_ENOMEM;
}

int export_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc;
}

/* ---------------------------------------------------------------------------------- */
/* Reading options                                                                    */
/* ---------------------------------------------------------------------------------- */

int ex_error(const ex_cfg *c, const cfg_node *at, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key) return cfg_error(c->d, at, c->err, c->errlen, "%s.%s: %s", c->where, key, msg);
    return cfg_error(c->d, at, c->err, c->errlen, "%s: %s", c->where, msg);
}

void ex_sub(const ex_cfg *c, const char *key, ex_cfg *sub, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", c->where, key);
    *sub = *c;
    sub->where = buf;
}

/* map[key], with "WHERE.KEY" written into w for messages; NULL when absent. */
static const cfg_node *opt(const ex_cfg *c, const cfg_node *map, const char *key, char w[320])
{
    const cfg_node *n = cfg_get(map, key);
    if (n) snprintf(w, 320, "%s.%s", c->where, key);
    return n;
}

int ex_opt_bool(const ex_cfg *c, const cfg_node *map, const char *key, bool *out)
{
    char w[320];
    const cfg_node *n = opt(c, map, key, w);
    return n ? cfg_bool(c->d, n, w, out, c->err, c->errlen) : 0;
}

int ex_opt_string(const ex_cfg *c, const cfg_node *map, const char *key, const char **out)
{
    char w[320];
    const cfg_node *n = opt(c, map, key, w);
    return n ? cfg_string(c->d, n, w, out, c->err, c->errlen) : 0;
}

int ex_opt_int(const ex_cfg *c, const cfg_node *map, const char *key, int64_t min, int64_t max,
               int64_t *out)
{
    char w[320];
    const cfg_node *n = opt(c, map, key, w);
    int rc = n ? cfg_int(c->d, n, w, out, c->err, c->errlen) : 0;
    if (!rc && n && (*out < min || *out > max))
        return ex_error(c, n, key, "%" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")", *out,
                        min, max);
    return rc;
}

int ex_opt_duration(const ex_cfg *c, const cfg_node *map, const char *key, bool positive,
                    uint64_t *out)
{
    char w[320];
    const cfg_node *n = opt(c, map, key, w);
    int rc = n ? cfg_duration_ns(c->d, n, w, out, c->err, c->errlen) : 0;
    if (!rc && n && positive && *out == 0) return ex_error(c, n, key, "must be more than 0");
    return rc;
}

/* retry_on_failure, with the collector's defaults. */
static int parse_retry(const ex_cfg *c, const cfg_node *settings, ex_retry *r)
{
    *r = (ex_retry){.enabled = true,
                    .initial_ns = 5000000000ull,
                    .max_ns = 30000000000ull,
                    .max_elapsed_ns = 300000000000ull};
    const cfg_node *m = cfg_get(settings, "retry_on_failure");
    if (!m || m->kind != CFG_MAP) return 0;
    ex_cfg s;
    char w[256];
    ex_sub(c, "retry_on_failure", &s, w, sizeof w);
    int rc;
    if ((rc = ex_opt_bool(&s, m, "enabled", &r->enabled)) ||
        (rc = ex_opt_duration(&s, m, "initial_interval", true, &r->initial_ns)) ||
        (rc = ex_opt_duration(&s, m, "max_interval", true, &r->max_ns)) ||
        (rc = ex_opt_duration(&s, m, "max_elapsed_time", false, &r->max_elapsed_ns)))
        return rc;
    if (r->max_ns < r->initial_ns)
        return ex_error(&s,
                        cfg_get(m, "max_interval") ? cfg_get(m, "max_interval")
                                                   : cfg_get(m, "initial_interval"),
                        "max_interval", "shorter than initial_interval");
    return 0;
}

/* sending_queue, and our own sending_queue.directory. */
static int parse_queue(const ex_cfg *c, const cfg_node *settings, exporter *ex)
{
    ex->queue_enabled = true;
    ex->n_consumers = EX_DEFAULT_CONSUMERS;
    ex->queue_size = EX_DEFAULT_QUEUE_SIZE;
    const cfg_node *m = cfg_get(settings, "sending_queue");
    if (!m || m->kind != CFG_MAP) return 0;
    ex_cfg s;
    char w[256];
    ex_sub(c, "sending_queue", &s, w, sizeof w);
    int64_t consumers = ex->n_consumers, size = (int64_t)ex->queue_size;
    const char *dir = NULL;
    int rc;
    if ((rc = ex_opt_bool(&s, m, "enabled", &ex->queue_enabled)) ||
        (rc = ex_opt_int(&s, m, "num_consumers", 1, EX_MAX_CONSUMERS, &consumers)) ||
        (rc = ex_opt_int(&s, m, "queue_size", 1, EX_MAX_QUEUE_SIZE, &size)) ||
        (rc = ex_opt_string(&s, m, "directory", &dir)))
        return rc;
    ex->n_consumers = (int)consumers;
    ex->queue_size = (uint64_t)size;
    if (dir) {
        if (!*dir) return ex_error(&s, cfg_get(m, "directory"), "directory", "is empty");
        if (!ex->queue_enabled)
            return ex_error(&s, cfg_get(m, "directory"), "directory",
                            "needs the queue (sending_queue.enabled is false)");
        if (!(ex->dir = lt_strndup(dir, strlen(dir)))) return LT_ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Creation                                                                           */
/* ---------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    ex_type type;
} types[] = {
    {"otlp", EX_OTLP}, {"otlphttp", EX_OTLPHTTP},         {"debug", EX_DEBUG},
    {"file", EX_FILE}, {"prometheusremotewrite", EX_PRW}, {"loadbalancing", EX_LB},
};

static void exporter_free(exporter *ex)
{
    if (!ex) return;
    for (int s = 0; s < EX_N_SIGNALS; s++)
        for (ex_item *it = ex->q[s].head, *next; it; it = next) {
            next = it->next;
            buf_free(&it->data);
            lt_free(it);
        }
    ex_client_free(&ex->client);
    prw_free(&ex->prw);
    lt_free(ex->file.path);
    lt_free(ex->dir);
    lt_free(ex->consumers);
    lt_free(ex->id);
    pthread_cond_destroy(&ex->cv);
    pthread_mutex_destroy(&ex->mu);
    lt_free(ex);
}

void ex_free(exporter *ex)
{
    exporter_free(ex);
}

void ex_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* An exporter of type named id with nothing configured yet; NULL when out of memory. */
static exporter *alloc_exporter(ex_type type, const char *id)
{
    exporter *ex = lt_calloc(1, sizeof *ex);
    if (!ex) return NULL;
    ex_cond_init(&ex->cv);
    pthread_mutex_init(&ex->mu, NULL);
    ex->type = type;
    ex->dir_lock = -1;
    ex->next_seq = 1;
    if (!(ex->id = lt_strndup(id, strlen(id)))) {
        exporter_free(ex);
        return NULL;
    }
    return ex;
}

/* The consumers' slots, once their number is known. */
static int alloc_consumers(exporter *ex)
{
    if (!ex->n_consumers) return 0;
    ex->consumers = lt_calloc((size_t)ex->n_consumers, sizeof *ex->consumers);
    return ex->consumers ? 0 : LT_ENOMEM;
}

/* The signals of the pipelines whose exporters list names id (pipecfg_build has checked
 * the document's shape). */
static unsigned signals_used(const cfg_doc *d, const char *id)
{
    const cfg_node *pls = cfg_get(cfg_get(cfg_root(d), "service"), "pipelines");
    unsigned sig = 0;
    for (size_t i = 0; pls && pls->kind == CFG_MAP && i < pls->n; i++) {
        const cfg_node *pl = pls->items[i], *exs = cfg_get(pl, "exporters");
        size_t n = strcspn(pl->key, "/");
        unsigned s = n == 6 && !strncmp(pl->key, "traces", 6)    ? SIG_TRACES
                     : n == 7 && !strncmp(pl->key, "metrics", 7) ? SIG_METRICS
                     : n == 4 && !strncmp(pl->key, "logs", 4)    ? SIG_LOGS
                                                                 : 0;
        for (size_t k = 0; exs && exs->kind == CFG_SEQ && k < exs->n; k++)
            if (exs->items[k]->kind == CFG_SCALAR && !strcmp(exs->items[k]->scalar, id)) sig |= s;
    }
    return sig;
}

int ex_create(const ex_cfg *cc, const cfg_node *s, ex_type type, const char *id, unsigned signals,
              exporter **out)
{
    *out = NULL;
    exporter *ex = alloc_exporter(type, id);
    if (!ex) return LT_ENOMEM;
    int rc = 0;
    switch (ex->type) {
    case EX_OTLP:
    case EX_OTLPHTTP:
        if ((rc = ex_client_parse(cc, s, ex->type, signals, &ex->client)) ||
            (rc = parse_retry(cc, s, &ex->retry)) || (rc = parse_queue(cc, s, ex)))
            goto out;
        break;
    case EX_PRW:
        if ((rc = ex_client_parse(cc, s, ex->type, signals, &ex->client)) ||
            (rc = parse_retry(cc, s, &ex->retry)) || (rc = prw_parse(cc, s, &ex->prw)))
            goto out;
        /* the snapshots' thread, and one consumer of a memory queue of the default size */
        ex->queue_enabled = true;
        ex->queue_size = EX_DEFAULT_QUEUE_SIZE;
        ex->n_consumers = 2;
        break;
    case EX_DEBUG:
    case EX_FILE:
        /* no retry or queue options: one consumer, a memory queue of the default size, and
         * a failed write is not retried */
        if (ex->type == EX_DEBUG ? (rc = debug_parse(cc, s, &ex->verbosity))
                                 : (rc = file_parse(cc, s, &ex->file)))
            goto out;
        ex->queue_enabled = true;
        ex->queue_size = EX_DEFAULT_QUEUE_SIZE;
        ex->n_consumers = 1;
        break;
    case EX_LB:
        /* no queue or threads of its own: its backends have them */
        if ((rc = lb_parse(cc, s, ex))) goto out;
        break;
    }
    if ((rc = alloc_consumers(ex))) goto out;
    *out = ex;
    ex = NULL;
out:
    if (ex && ex->lb) lb_stop(ex, 0);
    exporter_free(ex);
    return rc;
}

int ex_clone(const exporter *tmpl, const char *id, const char *hostport, exporter **out)
{
    *out = NULL;
    exporter *ex = alloc_exporter(tmpl->type, id);
    if (!ex) return LT_ENOMEM;
    int rc = ex_client_copy(&ex->client, &tmpl->client, hostport);
    ex->retry = tmpl->retry;
    ex->queue_enabled = tmpl->queue_enabled;
    ex->n_consumers = tmpl->n_consumers;
    ex->queue_size = tmpl->queue_size;
    if (!rc) rc = alloc_consumers(ex);
    if (rc) {
        exporter_free(ex);
        return rc;
    }
    *out = ex;
    return 0;
}

int export_create(const cfg_doc *d, const pipecfg_component *c, exporter **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (err && errlen) err[0] = 0;
    int rc = export_global_init();
    if (rc) return rc;
    size_t t = 0;
    while (t < sizeof types / sizeof types[0] && strcmp(types[t].name, c->type))
        t++;
    if (t == sizeof types / sizeof types[0]) {
        if (err) snprintf(err, errlen, "exporters.%s: not an exporter of export/", c->id);
        return LT_EUNSUPPORTED;
    }
    char where[256];
    snprintf(where, sizeof where, "exporters.%s", c->id);
    ex_cfg cc = {d, where, err, errlen, NULL};
    return ex_create(&cc, c->settings, types[t].type, c->id, signals_used(d, c->id), out);
}

int export_add_metrics(exporter *ex, spanmetrics *sm)
{
    if (ex->type != EX_PRW || ex->started) return LT_EINVAL;
    if (ex->prw.n_sm == EX_MAX_METRICS) return LT_ETOOBIG;
    ex->prw.sm[ex->prw.n_sm++] = sm;
    return 0;
}

int export_set_batching(exporter *ex, uint64_t timeout_ns, uint64_t send_batch_size,
                        uint64_t send_batch_max_size)
{
    if (ex->started || (send_batch_max_size && send_batch_max_size < send_batch_size))
        return LT_EINVAL;
    /* debug writes batch by batch; remote write requests do not concatenate */
    if (ex->type == EX_DEBUG || ex->type == EX_PRW) return 0;
    ex->batching = true;
    ex->batch_timeout_ns = timeout_ns;
    ex->batch_size = send_batch_size;
    ex->batch_max = send_batch_max_size;
    return 0;
}

const char *export_id(const exporter *ex)
{
    return ex->id;
}

/* ---------------------------------------------------------------------------------- */
/* Queue                                                                              */
/* ---------------------------------------------------------------------------------- */

void ex_counted(exporter *ex, const ex_item *it, int sign)
{
    uint64_t mem = it->on_disk ? 0 : it->size;
    if (sign > 0) {
        ex->n_queued++;
        ex->queued_bytes += it->size;
        ex->mem_bytes += mem;
    } else {
        ex->n_queued--;
        ex->queued_bytes -= it->size;
        ex->mem_bytes -= mem;
    }
}

void ex_link(exporter *ex, ex_item *it)
{
    ex_list *l = &ex->q[ex_sig_index(it->signal)];
    it->next = NULL;
    it->arrived_ns = time_mono_ns();
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->items += it->n_items;
    ex->n_waiting++;
    ex_counted(ex, it, +1);
}

static bool room_locked(const exporter *ex, size_t bytes)
{
    if (!ex->queue_enabled) return ex->started && ex->n_waiting < (uint64_t)ex->idle;
    if (ex->n_queued >= ex->queue_size) return false;
    if (ex->dir) return true;
    return ex->mem_bytes == 0 || ex->mem_bytes + bytes <= EXPORT_MAX_QUEUE_BYTES;
}

bool export_has_room(const exporter *ex, size_t bytes)
{
    exporter *m = (exporter *)ex; /* the lock only */
    if (ex->type == EX_LB) return lb_has_room(m, bytes);
    pthread_mutex_lock(&m->mu);
    bool ok = room_locked(ex, bytes);
    pthread_mutex_unlock(&m->mu);
    return ok;
}

static int refuse(exporter *ex, uint64_t n)
{
    ex->st.refused_items += n;
    pthread_mutex_unlock(&ex->mu);
    return LT_EBUSY;
}

/* Queues one encoded batch: takes data (freed in every case). */
static int offer(exporter *ex, unsigned signal, uint64_t n_items, lt_buf *data)
{
    pthread_mutex_lock(&ex->mu);
    if (!room_locked(ex, data->len)) {
        buf_free(data);
        return refuse(ex, n_items);
    }
    uint64_t seq = ex->next_seq++;
    pthread_mutex_unlock(&ex->mu);

    ex_item *it = lt_calloc(1, sizeof *it);
    if (!it) {
        buf_free(data);
        return LT_ENOMEM;
    }
    *it = (ex_item){
        .signal = signal, .n_items = n_items, .seq = seq, .size = data->len, .data = *data};
    *data = (lt_buf){0};
    if (ex->dir) {
        /* only the caller's thread adds, and consumers only make room: the check above holds */
        int rc = dq_write(ex, it);
        buf_free(&it->data);
        if (rc) {
            lt_free(it);
            return rc;
        }
        it->on_disk = true;
    }
    pthread_mutex_lock(&ex->mu);
    ex_link(ex, it);
    pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    return 0;
}

/* Before encoding: a full queue refuses without paying for the encoding. */
static bool full(exporter *ex, uint64_t n_items)
{
    pthread_mutex_lock(&ex->mu);
    if (room_locked(ex, 0)) {
        pthread_mutex_unlock(&ex->mu);
        return false;
    }
    refuse(ex, n_items);
    return true;
}

static uint64_t items_of(unsigned signal, const void *b)
{
    switch (signal) {
    case SIG_TRACES:
        return ((const lt_trace_batch *)b)->n_spans;
    case SIG_METRICS:
        return ((const lt_metric_batch *)b)->n_points;
    default:
        return ((const lt_log_batch *)b)->n_records;
    }
}

/* b (of signal) in the form ex sends: OTLP JSON for file, text for debug, protobuf for
 * otlp and otlphttp. 0 or LT_ENOMEM. */
static int encode(const exporter *ex, unsigned signal, const void *b, lt_buf *out)
{
    switch (ex->type) {
    case EX_FILE:
        return signal == SIG_TRACES    ? json_encode_traces(out, b)
               : signal == SIG_METRICS ? json_encode_metrics(out, b)
                                       : json_encode_logs(out, b);
    case EX_DEBUG:
        return signal == SIG_TRACES    ? debug_format_traces(ex, b, out)
               : signal == SIG_METRICS ? debug_format_metrics(ex, b, out)
                                       : debug_format_logs(ex, b, out);
    default:
        return signal == SIG_TRACES    ? pb_encode_traces(out, b)
               : signal == SIG_METRICS ? pb_encode_metrics(out, b)
                                       : pb_encode_logs(out, b);
    }
}

/* Encodes a batch of signal for ex and queues it. */
static int export_batch(exporter *ex, unsigned signal, const void *b)
{
    if (ex->type == EX_LB) return lb_export(ex, signal, b);
    uint64_t n = items_of(signal, b);
    if (ex->type == EX_PRW && signal != SIG_METRICS) return LT_EUNSUPPORTED;
    if ((ex->type == EX_OTLP || ex->type == EX_OTLPHTTP) && !ex_client_url(&ex->client, signal))
        return LT_EUNSUPPORTED; /* otlphttp: no URL for a signal no pipeline sends it */
    if (n == 0) return 0;
    if (full(ex, n)) return LT_EBUSY;
    lt_buf data = {0};
    int rc;
    if (ex->type == EX_PRW) {
        uint64_t dropped = 0;
        const char *why = NULL;
        rc = prw_encode_metrics(ex, b, &data, &n, &dropped, &why);
        if (!rc && dropped) {
            pthread_mutex_lock(&ex->mu);
            ex->st.failed_items += dropped;
            pthread_mutex_unlock(&ex->mu);
            log_warn("exporter %s: %" PRIu64 " data points not written: %s", ex->id, dropped,
                     why ? why : "not translatable");
        }
        if (!rc && n == 0) {
            buf_free(&data);
            return 0;
        }
    } else {
        rc = encode(ex, signal, b, &data);
    }
    if (rc) {
        buf_free(&data);
        return rc;
    }
    return offer(ex, signal, n, &data);
}

int export_traces(exporter *ex, const lt_trace_batch *b)
{
    return export_batch(ex, SIG_TRACES, b);
}

int export_logs(exporter *ex, const lt_log_batch *b)
{
    return export_batch(ex, SIG_LOGS, b);
}

int export_metrics(exporter *ex, const lt_metric_batch *b)
{
    return export_batch(ex, SIG_METRICS, b);
}

void export_get_stats(const exporter *ex, export_stats *out)
{
    exporter *m = (exporter *)ex; /* the lock only */
    if (ex->type == EX_LB) {
        lb_get_stats(m, out);
        return;
    }
    pthread_mutex_lock(&m->mu);
    *out = ex->st;
    out->queued_requests = ex->n_queued;
    out->queued_bytes = ex->queued_bytes;
    pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------------------------- */
/* Delivery                                                                           */
/* ---------------------------------------------------------------------------------- */

void ex_wait_until(exporter *ex, uint64_t until_ns)
{
    if (!until_ns) {
        pthread_cond_wait(&ex->cv, &ex->mu);
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000u),
                          .tv_nsec = (long)(until_ns % 1000000000u)};
    pthread_cond_timedwait(&ex->cv, &ex->mu, &ts);
}

bool ex_past_deadline(exporter *ex)
{
    return __atomic_load_n(&ex->stopping, __ATOMIC_ACQUIRE) &&
           time_mono_ns() >= __atomic_load_n(&ex->deadline_ns, __ATOMIC_ACQUIRE);
}

static uint64_t next_random(ex_consumer *c)
{
    /* xorshift64: jitter needs spread, not quality */
    uint64_t x = c->rng ? c->rng : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return c->rng = x;
}

/* The collector's backoff: interval times a factor in [0.5, 1.5). */
static uint64_t jitter(ex_consumer *c, uint64_t interval)
{
    double f = 0.5 + (double)(next_random(c) >> 11) / (double)(1ull << 53);
    return (uint64_t)((double)interval * f);
}

/* Rewrites r->msg from a format that may quote it. */
static void reword(ex_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reword(ex_result *r, const char *fmt, ...)
{
    char m[sizeof r->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    memcpy(r->msg, m, sizeof m);
}

void ex_deliver(exporter *ex, ex_consumer *c, const ex_item *it, ex_attempt_fn attempt,
                uint64_t give_up_ns, ex_result *r)
{
    uint64_t start = time_mono_ns();
    uint64_t interval = ex->retry.initial_ns;
    for (unsigned tries = 0;; tries++) {
        memset(r, 0, sizeof *r);
        attempt(ex, c, it, r);
        if (r->outcome != EX_RETRY) return;
        if (ex_past_deadline(ex)) return; /* stopping: the caller keeps or drops it */
        if (!ex->retry.enabled) {
            r->outcome = EX_PERMANENT;
            return;
        }
        uint64_t wait = jitter(c, interval);
        if (r->retry_after_ns > wait) wait = r->retry_after_ns;
        uint64_t now = time_mono_ns();
        if (ex->retry.max_elapsed_ns && now - start + wait > ex->retry.max_elapsed_ns) {
            reword(r, "retries ran out after %.1fs: %s", (double)(now - start) / 1e9, r->msg);
            r->outcome = EX_PERMANENT;
            return;
        }
        if (give_up_ns && now + wait > give_up_ns) {
            reword(r, "given up for the next one, due before a retry: %s", r->msg);
            r->outcome = EX_PERMANENT;
            return;
        }
        if (tries == 0)
            log_warn("exporter %s: %s; retrying", ex->id, r->msg);
        else
            log_debug("exporter %s: %s; retry %u in %.2fs", ex->id, r->msg, tries + 1,
                      (double)wait / 1e9);
        pthread_mutex_lock(&ex->mu);
        ex->st.retries++;
        uint64_t until = now + wait;
        for (;;) {
            uint64_t t = time_mono_ns();
            if (ex->stopping && ex->deadline_ns < until) until = ex->deadline_ns;
            if (t >= until) break;
            ex_wait_until(ex, until);
        }
        pthread_mutex_unlock(&ex->mu);
        if (ex_past_deadline(ex)) return;
        interval = interval > ex->retry.max_ns / 3 * 2 ? ex->retry.max_ns : interval * 3 / 2;
    }
}

static void attempt_item(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r)
{
    switch (ex->type) {
    case EX_FILE:
        file_attempt(ex, c, it, r);
        break;
    case EX_DEBUG:
        debug_attempt(ex, c, it, r);
        break;
    case EX_PRW:
        prw_attempt(ex, c, it, r);
        break;
    default:
        otlp_attempt(ex, c, it, r);
        break;
    }
}

static const char *item_unit(const ex_item *it)
{
    switch (it->signal) {
    case SIG_TRACES:
        return "spans";
    case SIG_METRICS:
        return "data points";
    case SIG_LOGS:
        return "log records";
    default:
        return "series"; /* a spanmetrics snapshot */
    }
}

void ex_account(exporter *ex, const ex_item *it, const ex_result *r)
{
    switch (r->outcome) {
    case EX_SENT:
        ex->st.sent_requests++;
        ex->st.sent_items += it->n_items - (r->rejected < it->n_items ? r->rejected : it->n_items);
        ex->st.rejected_items += r->rejected;
        if (r->rejected)
            log_warn("exporter %s: the receiver rejected %" PRIu64 " of %" PRIu64 " %s: %s", ex->id,
                     r->rejected, it->n_items, item_unit(it), r->msg);
        break;
    case EX_PERMANENT:
        ex->st.failed_items += it->n_items;
        log_warn("exporter %s: dropped %" PRIu64 " %s: %s", ex->id, it->n_items, item_unit(it),
                 r->msg);
        break;
    case EX_RETRY:
        break; /* stopped before delivery: export_stop counts it */
    }
}

/* The list whose batches are due to go, the one with the oldest batch first; -1 when none
 * is, *wake then being the monotonic time one will be by its timeout (0: none waiting).
 * Without batching every batch is due; with it, a list is due once it holds
 * send_batch_size items, its oldest batch has waited the timeout, or the exporter stops
 * (the collector's batch processor sends what it holds at shutdown). ex->mu held. */
static int due_list(const exporter *ex, uint64_t now, uint64_t *wake)
{
    int best = -1;
    *wake = 0;
    for (int s = 0; s < EX_N_SIGNALS; s++) {
        const ex_list *l = &ex->q[s];
        if (!l->head) continue;
        if (ex->batching && !ex->stopping && l->items < ex->batch_size) {
            uint64_t t0 = l->head->arrived_ns, at = t0 + ex->batch_timeout_ns;
            if (at < t0) at = UINT64_MAX; /* a timeout too long to add: never */
            if (now < at) {
                if (!*wake || at < *wake) *wake = at;
                continue;
            }
        }
        if (best < 0 || l->head->seq < ex->q[best].head->seq) best = s;
    }
    return best;
}

/* Unlinks from list s the batches of one request, as a chain: the oldest, then with
 * batching the next ones while the request holds fewer than send_batch_size items and the
 * next would not take it past send_batch_max_size. ex->mu held. */
static ex_item *take(exporter *ex, int s)
{
    ex_list *l = &ex->q[s];
    ex_item *first = l->head, *last = first;
    uint64_t items = first->n_items, n = 1;
    while (ex->batching && items < ex->batch_size && last->next &&
           (!ex->batch_max || items + last->next->n_items <= ex->batch_max)) {
        last = last->next;
        items += last->n_items;
        n++;
    }
    l->head = last->next;
    if (!l->head) l->tail = NULL;
    last->next = NULL;
    l->items -= items;
    ex->n_waiting -= n;
    return first;
}

/* Puts a chain taken from its list back at the head, in its order. ex->mu held. */
static void put_back(exporter *ex, ex_item *chain)
{
    if (!chain) return;
    ex_list *l = &ex->q[ex_sig_index(chain->signal)];
    ex_item *last = chain;
    for (;; last = last->next) {
        l->items += last->n_items;
        ex->n_waiting++;
        if (!last->next) break;
    }
    last->next = l->head;
    l->head = chain;
    if (!l->tail) l->tail = last;
}

/* The request of a chain of batches of one signal, its payloads read: protobuf bodies
 * concatenated, JSON lines joined. 0, LT_ENOMEM, or LT_EINVAL when a line is not of the
 * shape the JSON encoders write (out is then empty). */
static int merge(const exporter *ex, const ex_item *chain, ex_item *out)
{
    *out = (ex_item){.signal = chain->signal, .seq = chain->seq};
    bool any = false;
    int rc = 0;
    for (const ex_item *it = chain; it && !rc; it = it->next) {
        out->n_items += it->n_items;
        out->size += it->size;
        if (ex->type == EX_FILE)
            rc = file_join(&out->data, &it->data, &any);
        else
            buf_append(&out->data, it->data.data, it->data.len);
    }
    if (!rc && ex->type == EX_FILE) buf_append_c(&out->data, "]}");
    if (!rc && out->data.oom) rc = LT_ENOMEM;
    if (rc) buf_free(&out->data);
    return rc;
}

/* Delivers it, one batch over send_batch_max_size, as requests of at most that many items,
 * as the collector splits such a batch: its payload is decoded again, cut (split.c) and
 * each piece encoded and delivered in turn, counted as a request of its own. False when
 * the exporter stopped before the last piece went: it then goes back whole (a disk queue
 * keeps its file; delivery is at least once), a memory batch counting only the items not
 * sent. A payload that does not decode (it always should: it is our own encoding) is sent
 * as it is. Not locked. */
static bool send_split(exporter *ex, ex_consumer *c, ex_item *it)
{
    lt_arena *a = arena_new();
    lt_buf body = {0}; /* the JSON decoder unescapes in place: it gets a copy */
    union {
        lt_trace_batch t;
        lt_metric_batch m;
        lt_log_batch l;
    } b;
    otlp_format f = ex->type == EX_FILE ? OTLP_JSON : OTLP_PROTOBUF;
    int rc = a ? 0 : LT_ENOMEM;
    if (!rc) rc = buf_append(&body, it->data.data, it->data.len);
    if (!rc) {
        uint8_t *p = (uint8_t *)body.data;
        rc = it->signal == SIG_TRACES    ? otlp_decode_traces(a, f, p, body.len, &b.t)
             : it->signal == SIG_METRICS ? otlp_decode_metrics(a, f, p, body.len, &b.m)
                                         : otlp_decode_logs(a, f, p, body.len, &b.l);
    }
    ex_split sp;
    if (!rc) rc = split_init(&sp, it->signal, &b, ex->batch_max);
    ex_result r = {0};
    if (rc) {
        log_warn("exporter %s: a batch of %" PRIu64 " %s sent whole, not in pieces (%s)", ex->id,
                 it->n_items, item_unit(it), lt_strerror(rc));
        ex_deliver(ex, c, it, attempt_item, 0, &r);
        pthread_mutex_lock(&ex->mu);
        ex_account(ex, it, &r);
        pthread_mutex_unlock(&ex->mu);
    } else {
        uint64_t n, sent = 0;
        for (const void *piece; (piece = split_next(&sp, &n));) {
            if (ex_past_deadline(ex)) {
                r.outcome = EX_RETRY;
                break;
            }
            ex_item p = {.signal = it->signal, .n_items = n, .seq = it->seq};
            memset(&r, 0, sizeof r);
            if (encode(ex, it->signal, piece, &p.data)) {
                r.outcome = EX_PERMANENT;
                snprintf(r.msg, sizeof r.msg, "out of memory encoding a part of a batch");
            } else {
                p.size = p.data.len;
                ex_deliver(ex, c, &p, attempt_item, 0, &r);
            }
            buf_free(&p.data);
            pthread_mutex_lock(&ex->mu);
            ex_account(ex, &p, &r);
            if (r.outcome == EX_RETRY && !it->on_disk) it->n_items -= sent;
            pthread_mutex_unlock(&ex->mu);
            if (r.outcome == EX_RETRY) break;
            sent += n;
        }
        split_free(&sp);
    }
    buf_free(&body);
    if (a) arena_free(a);
    return r.outcome != EX_RETRY;
}

/* Delivers good (a chain of batches of one signal, payloads read) as one request, or in
 * pieces when it is one batch over send_batch_max_size, and counts it. When merging fails
 * (out of memory) the first batch goes alone and *rest gets the others. False when the
 * exporter stopped before delivery. Not locked. */
/* Sends good (merged as batching allows; what does not fit goes to *rest). The outcome to
 * count is left in *acct / *res (acct->n_items 0: counted already, piece by piece) for the
 * caller to count under the same lock that takes the batches off the queue, so the stats
 * never show a batch both failed (or sent) and still queued. */
static bool send_request(exporter *ex, ex_consumer *c, ex_item *good, ex_item **rest, ex_item *acct,
                         ex_result *res)
{
    if (!good->next && ex->batch_max && good->n_items > ex->batch_max)
        return send_split(ex, c, good);
    ex_item merged = {0};
    const ex_item *req = good;
    if (good->next && merge(ex, good, &merged)) {
        *rest = good->next;
        good->next = NULL;
        for (ex_item *it = *rest; it; it = it->next)
            if (it->on_disk) buf_free(&it->data); /* read again when their turn comes */
    } else if (good->next) {
        req = &merged;
    }
    ex_deliver(ex, c, req, attempt_item, 0, res);
    acct->signal = req->signal;
    acct->n_items = req->n_items;
    buf_free(&merged.data);
    return res->outcome != EX_RETRY;
}

/* Frees a chain whose batches are done with (delivered or given up). ex->mu held. */
static void finish(exporter *ex, ex_item *chain)
{
    for (ex_item *it = chain, *next; it; it = next) {
        next = it->next;
        if (it->on_disk) dq_remove(ex, it);
        ex_counted(ex, it, -1);
        buf_free(&it->data);
        lt_free(it);
    }
}

static void *consumer_main(void *arg)
{
    ex_consumer *c = arg;
    exporter *ex = c->ex;
    pthread_mutex_lock(&ex->mu);
    for (;;) {
        if (ex->type == EX_FILE) {
            pthread_mutex_unlock(&ex->mu);
            file_flush(ex, false);
            pthread_mutex_lock(&ex->mu);
        }
        uint64_t wake;
        int s = due_list(ex, time_mono_ns(), &wake);
        if (s < 0) {
            if (ex->stopping) break; /* all is due when stopping: nothing is left */
            uint64_t flush = ex->type == EX_FILE && ex->file.dirty ? ex->file.next_flush_ns : 0;
            if (flush && (!wake || flush < wake)) wake = flush;
            ex->idle++;
            ex_wait_until(ex, wake);
            ex->idle--;
            continue;
        }
        if (ex->stopping && time_mono_ns() >= ex->deadline_ns) break;
        ex_item *chain = take(ex, s);
        pthread_mutex_unlock(&ex->mu);

        /* payloads of a disk queue: a file that cannot be read is given up alone */
        ex_item *good = NULL, **gt = &good, *bad = NULL, **bt = &bad;
        for (ex_item *it = chain, *next; it; it = next) {
            next = it->next;
            it->next = NULL;
            int rc = it->on_disk ? dq_read(ex, it) : 0;
            if (rc) {
                *bt = it, bt = &it->next; /* dq_read logged why */
            } else {
                *gt = it, gt = &it->next;
            }
        }
        ex_item *rest = NULL, acct = {0};
        ex_result res = {0};
        bool delivered = !good || send_request(ex, c, good, &rest, &acct, &res);

        pthread_mutex_lock(&ex->mu);
        if (acct.n_items) ex_account(ex, &acct, &res);
        put_back(ex, rest);
        for (ex_item *it = bad; it; it = it->next) {
            ex_result br = {.outcome = EX_PERMANENT};
            snprintf(br.msg, sizeof br.msg, "its queue file could not be read");
            ex_account(ex, it, &br);
        }
        finish(ex, bad);
        if (!good) continue;
        if (!delivered) {
            /* stopped before delivery: back at the head for export_stop to count or keep */
            for (ex_item *it = good; it; it = it->next)
                buf_free(&it->data);
            put_back(ex, good);
            break;
        }
        finish(ex, good);
    }
    pthread_mutex_unlock(&ex->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Start and stop                                                                     */
/* ---------------------------------------------------------------------------------- */

int export_start(exporter *ex, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (ex->started) return LT_EINVAL;
    if (ex->type == EX_LB) {
        int rc = lb_start(ex, err, errlen);
        ex->started = true; /* export_stop stops what started */
        return rc;
    }
    int rc = 0;
    if (ex->type == EX_FILE && (rc = file_open(ex, err, errlen))) return rc;
    if (ex->dir && (rc = dq_open(ex, err, errlen))) return rc;
    for (int i = 0; i < ex->n_consumers; i++) {
        ex_consumer *c = &ex->consumers[i];
        /* prometheusremotewrite: the first thread takes spanmetrics snapshots, when it has
         * connectors to take them of */
        bool snapshots = ex->type == EX_PRW && i == 0;
        if (snapshots && !ex->prw.n_sm) continue;
        void *(*fn)(void *) = snapshots ? prw_thread : consumer_main;
        c->ex = ex;
        c->rng = time_mono_ns() ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
        if (pthread_create(&c->th, NULL, fn, c)) {
            if (err) snprintf(err, errlen, "exporters.%s: cannot start a thread", ex->id);
            rc = LT_ENOMEM;
            break;
        }
        c->running = true;
    }
    ex->started = true; /* export_stop joins what runs */
    return rc;
}

void ex_stop_begin(exporter *ex, long grace_ms)
{
    pthread_mutex_lock(&ex->mu);
    if (!ex->stopping) {
        uint64_t grace = grace_ms > 0 ? (uint64_t)grace_ms * 1000000u : 0;
        __atomic_store_n(&ex->deadline_ns, time_mono_ns() + grace, __ATOMIC_RELEASE);
        __atomic_store_n(&ex->stopping, true, __ATOMIC_RELEASE);
    }
    pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
}

void ex_halt(exporter *ex)
{
    for (int i = 0; i < ex->n_consumers; i++) {
        ex_consumer *c = &ex->consumers[i];
        if (c->running) pthread_join(c->th, NULL);
        if (c->curl) curl_easy_cleanup(c->curl);
    }
    uint64_t kept = 0, dropped = 0, batches = 0;
    for (int s = 0; s < EX_N_SIGNALS; s++)
        for (ex_item *it = ex->q[s].head; it; it = it->next) {
            batches++;
            if (it->on_disk)
                kept += it->n_items;
            else
                dropped += it->n_items;
        }
    pthread_mutex_lock(&ex->mu); /* export_get_stats may be reading */
    ex->st.failed_items += dropped;
    pthread_mutex_unlock(&ex->mu);
    if (kept)
        log_info("exporter %s: stopped with %" PRIu64 " batches (%" PRIu64
                 " items) kept in %s for the next start",
                 ex->id, batches, kept, ex->dir);
    if (dropped)
        log_warn("exporter %s: stopped with %" PRIu64 " items undelivered; dropped", ex->id,
                 dropped);
    if (ex->type == EX_FILE) file_close(ex);
    dq_close(ex);
}

void export_stop(exporter *ex, long grace_ms)
{
    if (!ex) return;
    if (ex->type == EX_LB) {
        lb_stop(ex, grace_ms);
    } else {
        ex_stop_begin(ex, grace_ms);
        ex_halt(ex);
    }
    exporter_free(ex);
}
