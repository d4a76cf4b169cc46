/* receive.c — the receive stage the OTLP receivers share (see receive.h).
 *
 * A held request is one allocation with its job, arena, decompressed body and wake event;
 * the writer thread reports the commit through the event, and the loop replies and frees.
 * The decoded batch points into the body (the receiver's, or the copy kept with
 * ack_before_commit), so the body lives as long as the request. */
#include "net/receive.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* Decoded size allowed per byte of the body limit: the captured fixtures decode to 0.35-1.4
 * times their size, hostile protobuf (empty KeyValues) to 20 times. */
enum { ARENA_PER_BODY_BYTE = 4 };

#define LOG_EVERY_NS 5000000000ull

struct recv_ctx {
    recv_config cfg;
    size_t held;     /* bytes of the requests held */
    size_t peak;     /* the most held at once */
    size_t inflight; /* requests held */
    bool pressure;   /* the process is over its memory bound */
    /* failed commits since the last log line about them, and when that was */
    uint64_t failed_unlogged, failed_after_reply, last_fail_log;
};

typedef struct {
    ingest_job job; /* first: the queue hands it back to done() */
    recv_ctx *ctx;
    recv_signal signal;
    void (*reply)(void *arg, const recv_result *res);
    void *arg; /* NULL once replied (ack_before_commit) */
    struct event *wake;
    lt_arena *arena;
    lt_buf body; /* the decompressed body, or the copy kept with ack_before_commit */
    lt_trace_batch traces;
    lt_log_batch logs;
    lt_metric_batch metrics;
    size_t held;
    int result;
} held_request;

static void reply_now(const recv_request *req, recv_status st, const char *msg)
{
    recv_result res = {.status = st, .message = msg};
    req->reply(req->arg, &res);
}

static void held_free(held_request *h)
{
    if (!h) return;
    h->ctx->held -= h->held;
    h->ctx->inflight--;
    if (h->wake) event_free(h->wake);
    arena_free(h->arena);
    buf_free(&h->body);
    lt_free(h);
}

static void reply_ok(held_request *h)
{
    recv_result res = {.status = RECV_OK};
    if (h->signal == RECV_TRACES)
        res.rejected = h->traces.rejected, res.reject_reason = h->traces.reject_reason;
    else if (h->signal == RECV_LOGS)
        res.rejected = h->logs.rejected, res.reject_reason = h->logs.reject_reason;
    else
        res.rejected = h->metrics.rejected, res.reject_reason = h->metrics.reject_reason;
    h->reply(h->arg, &res);
}

/* On the loop, once the writer thread has committed (or failed) the job. */
static void on_committed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    held_request *h = arg;
    if (h->result) {
        /* the sender hears of it unless it was answered already (ack_before_commit): then
         * the log line is all there is. A failing store fails every request: one line per
         * LOG_EVERY_NS says how many (the store logs when its state changes). */
        recv_ctx *c = h->ctx;
        c->failed_unlogged++;
        if (!h->reply) c->failed_after_reply++;
        uint64_t now = time_mono_ns();
        if (!c->last_fail_log || now - c->last_fail_log >= LOG_EVERY_NS) {
            log_warn("store write failed (%s): %llu request(s) answered 503 to retry, %llu "
                     "already acknowledged (--ack-before-commit) and lost, since the last line",
                     lt_strerror(h->result),
                     (unsigned long long)(c->failed_unlogged - c->failed_after_reply),
                     (unsigned long long)c->failed_after_reply);
            c->last_fail_log = now;
            c->failed_unlogged = c->failed_after_reply = 0;
        }
        if (h->reply) {
            recv_result res = {.status = RECV_UNAVAILABLE,
                               .message = h->result == LT_EFULL
                                              ? "storage full, retry later"
                                              : "storage write failed, retry later"};
            h->reply(h->arg, &res);
        }
    } else if (h->reply) {
        reply_ok(h);
    }
    held_free(h);
}

/* Writer thread: record the result and wake the loop (libevent is thread-enabled). */
static void on_done(ingest_job *job, int result)
{
    held_request *h = (held_request *)job;
    h->result = result;
    event_active(h->wake, EV_READ, 0);
}

static void reply_decode_error(const recv_request *req, int rc)
{
    if (rc == LT_ENOMEM)
        reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
    else if (rc == LT_ETOOBIG)
        reply_now(req, RECV_BAD_DATA,
                  "request exceeds a decoding limit (nesting depth or item count)");
    else
        reply_now(req, RECV_BAD_DATA, "request body could not be decoded as OTLP");
}

/* An arena that ran over its limit: over the per-request share (the request is too large to
 * ever be taken) or over what the budget has left now (retry later). */
static void reply_over_limit(const recv_request *req, bool budget_bound)
{
    if (budget_bound)
        reply_now(req, RECV_BUSY, "server busy (memory bound reached), retry later");
    else
        reply_now(req, RECV_TOO_LARGE,
                  "request decodes to more than the memory allowed for one request");
}

/* The configured pipelines on a decoded request: true when the batch is to be stored as
 * they left it; false when the request was answered (taken whole, or refused). */
static bool run_pipelines(recv_ctx *c, const recv_request *req, held_request *h)
{
    pipe_outcome o = req->signal == RECV_TRACES
                         ? pipelines_traces(c->cfg.pipes, req->tenant, &h->traces, h->arena)
                         : pipelines_logs(c->cfg.pipes, req->tenant, &h->logs, h->arena);
    switch (o) {
    case PIPE_STORE:
        return true;
    case PIPE_DONE:
        reply_ok(h);
        return false;
    case PIPE_BUSY:
        reply_now(req, RECV_BUSY, "server busy (an exporter's queue is full), retry later");
        return false;
    case PIPE_FAILED:
        reply_now(req, RECV_BAD_DATA, "a processor of the pipeline failed on this data");
        return false;
    case PIPE_NOMEM:
        break;
    }
    reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
    return false;
}

static void forward_metrics(recv_ctx *c, const recv_request *req, held_request *h)
{
    pipe_outcome o = h->metrics.n_points ? pipelines_metrics(c->cfg.pipes, &h->metrics) : PIPE_DONE;
    if (o == PIPE_DONE)
        reply_ok(h);
    else if (o == PIPE_BUSY)
        reply_now(req, RECV_BUSY, "server busy (an exporter's queue is full), retry later");
    else
        reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
}

recv_ctx *recv_new(const recv_config *cfg)
{
    recv_ctx *c = lt_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    if (!c->cfg.max_bytes) c->cfg.max_bytes = (size_t)64 << 20;
    return c;
}

void recv_set_pressure(recv_ctx *c, bool on)
{
    c->pressure = on;
}

bool recv_has_room(const recv_ctx *c, size_t len)
{
    /* a request alone over the budget still gets in when nothing else is held, so neither
     * the budget nor the pressure can block ingestion forever */
    return c->held == 0 || (!c->pressure && c->held + len <= c->cfg.max_bytes);
}

void recv_submit(recv_ctx *c, const recv_request *req)
{
    if (req->len > c->cfg.max_body) {
        reply_now(req, RECV_TOO_LARGE, "request body over the size limit");
        return;
    }
    if ((req->signal == RECV_METRICS && !(c->cfg.pipes && pipelines_take_metrics(c->cfg.pipes))) ||
        req->len == 0) {
        /* metrics no pipeline forwards are accepted and dropped (llmtrace stores traces and
         * logs); an empty body is an empty export request in either format */
        reply_now(req, RECV_OK, NULL);
        return;
    }
    size_t budget = c->cfg.max_bytes;
    /* the body counts from now on */
    if (!recv_has_room(c, req->len)) {
        reply_now(req, RECV_BUSY, "server busy (memory bound reached), retry later");
        return;
    }
    held_request *h = lt_calloc(1, sizeof *h);
    if (!h) {
        reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
        return;
    }
    h->ctx = c, h->signal = req->signal, h->reply = req->reply, h->arg = req->arg;
    h->held = req->len;
    c->held += h->held;
    c->inflight++;
    if (!(h->arena = arena_new()) || !(h->wake = event_new(c->cfg.base, -1, 0, on_committed, h))) {
        reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
        goto fail;
    }
    uint8_t *data = req->data;
    size_t n = req->len;
    if (req->gzip) {
        int rc = otlp_gunzip(data, n, c->cfg.max_body, &h->body);
        if (rc == LT_ETOOBIG) {
            reply_now(req, RECV_TOO_LARGE, "decompressed body over the size limit");
            goto fail;
        }
        if (rc) {
            reply_decode_error(req, rc == LT_ENOMEM ? rc : LT_EINVAL);
            goto fail;
        }
        data = (uint8_t *)h->body.data;
        n = h->body.len;
        if (!data) data = (uint8_t *)"", n = 0;
    } else if (c->cfg.ack_before_commit) {
        /* the receiver frees its body when it replies, before the commit */
        if (buf_append(&h->body, data, n)) {
            reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
            goto fail;
        }
        data = (uint8_t *)h->body.data;
    }
    h->held += h->body.cap;
    c->held += h->body.cap;
    /* the decoded form of a hostile request can be many times its size (empty KeyValues):
     * bound it by the per-request share and by what the budget has left */
    size_t share = c->cfg.max_body * ARENA_PER_BODY_BYTE;
    size_t left = c->held < budget ? budget - c->held : 0;
    bool budget_bound = left < share && c->held > h->held;
    arena_set_limit(h->arena, budget_bound ? left : share);
    int rc = req->signal == RECV_TRACES
                 ? otlp_decode_traces(h->arena, req->format, data, n, &h->traces)
             : req->signal == RECV_LOGS
                 ? otlp_decode_logs(h->arena, req->format, data, n, &h->logs)
                 : otlp_decode_metrics(h->arena, req->format, data, n, &h->metrics);
    if (rc == LT_ENOMEM && arena_over_limit(h->arena)) {
        reply_over_limit(req, budget_bound);
        goto fail;
    }
    if (rc) {
        reply_decode_error(req, rc);
        goto fail;
    }
    /* the normalize stage: every span's GenAI view and cost, stored with it */
    if (req->signal == RECV_TRACES && (rc = genai_annotate(&h->traces, c->cfg.prices, h->arena))) {
        if (arena_over_limit(h->arena))
            reply_over_limit(req, budget_bound);
        else
            reply_now(req, RECV_UNAVAILABLE, "out of memory, retry later");
        goto fail;
    }
    if (req->signal == RECV_METRICS) {
        /* forwarded by the exporters, which copy what they keep: answered now */
        forward_metrics(c, req, h);
        goto fail;
    }
    if (c->cfg.pipes && (req->signal == RECV_TRACES ? h->traces.n_spans : h->logs.n_records) &&
        !run_pipelines(c, req, h))
        goto fail;
    /* what the arena's blocks take, not what was handed out of them: the bound is on the heap */
    h->held += arena_reserved(h->arena);
    c->held += arena_reserved(h->arena);
    if (c->held > c->peak) c->peak = c->held;
    if ((req->signal == RECV_TRACES ? h->traces.n_spans : h->logs.n_records) == 0) {
        /* nothing to store: an empty request, or every item rejected */
        reply_ok(h);
        goto fail;
    }
    if (req->signal == RECV_TRACES)
        h->job.traces = &h->traces;
    else
        h->job.logs = &h->logs;
    h->job.cost = h->held;
    h->job.done = on_done;
    if (ingest_submit(req->queue, &h->job)) {
        reply_now(req, RECV_BUSY, "server busy, retry later");
        goto fail;
    }
    if (c->cfg.ack_before_commit) {
        reply_ok(h);
        h->reply = NULL, h->arg = NULL;
    }
    return;
fail:
    held_free(h);
}

size_t recv_inflight(const recv_ctx *c)
{
    return c->inflight;
}

size_t recv_held_bytes(const recv_ctx *c, size_t *peak)
{
    if (peak) *peak = c->peak;
    return c->held;
}

void recv_free(recv_ctx *c)
{
    lt_free(c);
}
