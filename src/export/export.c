/* export.c — the exporters' life cycle, queue and sending threads (contract in export.h).
 *
 * Design: every exporter type but prometheusremotewrite is a queue of encoded batches and
 * consumer threads that take the oldest batch and deliver it (ex_deliver: an attempt, then
 * on a retryable failure a wait of the exponential backoff with jitter, or of what the
 * receiver asked for when longer, until retry_on_failure's max_elapsed_time). The caller's
 * thread only encodes and links a batch in (and, for a disk queue, writes its file first),
 * so the pipeline never waits on the network. One mutex guards the queue and the counters;
 * one condition variable (on the monotonic clock) wakes consumers for work, for retries cut
 * short by a stop, and the file exporter for its flushes. prometheusremotewrite has no
 * queue: its thread takes a snapshot of each spanmetrics connector when due and sends it
 * (prw.c). */
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
    {"file", EX_FILE}, {"prometheusremotewrite", EX_PRW},
};

static void exporter_free(exporter *ex)
{
    if (!ex) return;
    for (ex_item *it = ex->head, *next; it; it = next) {
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
    exporter *ex = lt_calloc(1, sizeof *ex);
    if (!ex) return LT_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ex->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&ex->mu, NULL);
    ex->type = types[t].type;
    ex->dir_lock = -1;
    ex->next_seq = 1;
    if (!(ex->id = lt_strndup(c->id, strlen(c->id)))) {
        rc = LT_ENOMEM;
        goto out;
    }
    char where[256];
    snprintf(where, sizeof where, "exporters.%s", c->id);
    ex_cfg cc = {d, where, err, errlen};
    const cfg_node *s = c->settings;

    switch (ex->type) {
    case EX_OTLP:
    case EX_OTLPHTTP:
        if ((rc = ex_client_parse(&cc, s, ex->type, &ex->client)) ||
            (rc = parse_retry(&cc, s, &ex->retry)) || (rc = parse_queue(&cc, s, ex)))
            goto out;
        break;
    case EX_PRW:
        if ((rc = ex_client_parse(&cc, s, ex->type, &ex->client)) ||
            (rc = parse_retry(&cc, s, &ex->retry)) || (rc = prw_parse(&cc, s, &ex->prw)))
            goto out;
        ex->n_consumers = 1;
        break;
    case EX_DEBUG:
    case EX_FILE:
        /* no retry or queue options: one consumer, a memory queue of the default size, and
         * a failed write is not retried */
        if (ex->type == EX_DEBUG ? (rc = debug_parse(&cc, s, &ex->verbosity))
                                 : (rc = file_parse(&cc, s, &ex->file)))
            goto out;
        ex->queue_enabled = true;
        ex->queue_size = EX_DEFAULT_QUEUE_SIZE;
        ex->n_consumers = 1;
        break;
    }
    if (!(ex->consumers = lt_calloc((size_t)ex->n_consumers, sizeof *ex->consumers))) {
        rc = LT_ENOMEM;
        goto out;
    }
    *out = ex;
    ex = NULL;
out:
    exporter_free(ex);
    return rc;
}

int export_add_metrics(exporter *ex, spanmetrics *sm)
{
    if (ex->type != EX_PRW || ex->started) return LT_EINVAL;
    if (ex->prw.n_sm == EX_MAX_METRICS) return LT_ETOOBIG;
    ex->prw.sm[ex->prw.n_sm++] = sm;
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
    if (ex->tail)
        ex->tail->next = it;
    else
        ex->head = it;
    ex->tail = it;
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

/* Encodes a traces (tb) or logs (lb) batch for ex and queues it. */
static int export_batch(exporter *ex, const lt_trace_batch *tb, const lt_log_batch *lb)
{
    uint64_t n = tb ? tb->n_spans : lb->n_records;
    if (ex->type == EX_PRW) return LT_EUNSUPPORTED;
    if (n == 0) return 0;
    if (full(ex, n)) return LT_EBUSY;
    lt_buf data = {0};
    int rc;
    if (ex->type == EX_FILE)
        rc = tb ? json_encode_traces(&data, tb) : json_encode_logs(&data, lb);
    else if (ex->type == EX_DEBUG)
        rc = tb ? debug_format_traces(ex, tb, &data) : debug_format_logs(ex, lb, &data);
    else
        rc = tb ? pb_encode_traces(&data, tb) : pb_encode_logs(&data, lb);
    if (rc) {
        buf_free(&data);
        return rc;
    }
    return offer(ex, tb ? SIG_TRACES : SIG_LOGS, n, &data);
}

int export_traces(exporter *ex, const lt_trace_batch *b)
{
    return export_batch(ex, b, NULL);
}

int export_logs(exporter *ex, const lt_log_batch *b)
{
    return export_batch(ex, NULL, b);
}

void export_get_stats(const exporter *ex, export_stats *out)
{
    exporter *m = (exporter *)ex; /* the lock only */
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
    default:
        otlp_attempt(ex, c, it, r);
        break;
    }
}

static const char *item_unit(const exporter *ex, const ex_item *it)
{
    return ex->type == EX_PRW ? "series" : it->signal == SIG_TRACES ? "spans" : "log records";
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
                     r->rejected, it->n_items, item_unit(ex, it), r->msg);
        break;
    case EX_PERMANENT:
        ex->st.failed_items += it->n_items;
        log_warn("exporter %s: dropped %" PRIu64 " %s: %s", ex->id, it->n_items, item_unit(ex, it),
                 r->msg);
        break;
    case EX_RETRY:
        break; /* stopped before delivery: export_stop counts it */
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
        if (!ex->head) {
            if (ex->stopping) break;
            ex->idle++;
            ex_wait_until(ex, ex->type == EX_FILE && ex->file.dirty ? ex->file.next_flush_ns : 0);
            ex->idle--;
            continue;
        }
        if (ex->stopping && time_mono_ns() >= ex->deadline_ns) break;
        ex_item *it = ex->head;
        ex->head = it->next;
        if (!ex->head) ex->tail = NULL;
        it->next = NULL;
        ex->n_waiting--;
        pthread_mutex_unlock(&ex->mu);

        ex_result r = {0};
        int rc = it->on_disk ? dq_read(ex, it) : 0;
        if (rc) {
            r.outcome = EX_PERMANENT;
            snprintf(r.msg, sizeof r.msg, "its queue file could not be read (%s)", lt_strerror(rc));
        } else {
            ex_deliver(ex, c, it, attempt_item, 0, &r);
        }

        pthread_mutex_lock(&ex->mu);
        ex_account(ex, it, &r);
        if (r.outcome == EX_RETRY) {
            /* stopped before delivery: back at the head for export_stop to count or keep */
            buf_free(&it->data);
            it->next = ex->head;
            ex->head = it;
            if (!ex->tail) ex->tail = it;
            ex->n_waiting++;
            break;
        }
        if (it->on_disk) dq_remove(ex, it);
        ex_counted(ex, it, -1);
        buf_free(&it->data);
        lt_free(it);
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
    int rc = 0;
    if (ex->type == EX_FILE && (rc = file_open(ex, err, errlen))) return rc;
    if (ex->dir && (rc = dq_open(ex, err, errlen))) return rc;
    void *(*fn)(void *) = ex->type == EX_PRW ? prw_thread : consumer_main;
    for (int i = 0; i < ex->n_consumers; i++) {
        ex_consumer *c = &ex->consumers[i];
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

void export_stop(exporter *ex, long grace_ms)
{
    if (!ex) return;
    pthread_mutex_lock(&ex->mu);
    uint64_t grace = grace_ms > 0 ? (uint64_t)grace_ms * 1000000u : 0;
    __atomic_store_n(&ex->deadline_ns, time_mono_ns() + grace, __ATOMIC_RELEASE);
    __atomic_store_n(&ex->stopping, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
    for (int i = 0; i < ex->n_consumers; i++) {
        ex_consumer *c = &ex->consumers[i];
        if (c->running) pthread_join(c->th, NULL);
        if (c->curl) curl_easy_cleanup(c->curl);
    }
    uint64_t kept = 0, dropped = 0, batches = 0;
    for (ex_item *it = ex->head; it; it = it->next) {
        batches++;
        if (it->on_disk)
            kept += it->n_items;
        else
            dropped += it->n_items;
    }
    ex->st.failed_items += dropped;
    if (kept)
        log_info("exporter %s: stopped with %" PRIu64 " batches (%" PRIu64
                 " items) kept in %s for the next start",
                 ex->id, batches, kept, ex->dir);
    if (dropped)
        log_warn("exporter %s: stopped with %" PRIu64 " items undelivered; dropped", ex->id,
                 dropped);
    if (ex->type == EX_FILE) file_close(ex);
    dq_close(ex);
    exporter_free(ex);
}
