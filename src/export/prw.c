/* prw.c — the prometheusremotewrite exporter: OTLP metrics and span metrics to a remote
 * write endpoint.
 *
 * OTLP metrics (export_metrics) are translated on the caller's thread as the collector's
 * exporter does (pipeline/promrw.h, with the exporter's namespace, external_labels and
 * target_info) and queued; one consumer sends them in order (export.c), since Prometheus
 * refuses a series' samples out of order.
 *
 * Span metrics have no queue: a thread takes a snapshot of each spanmetrics connector added
 * to it every metrics_flush_interval of that connector, encodes it and sends it with the
 * exporter's retries. The values are cumulative, so a snapshot still failing when the
 * connector's next one is due is given up for the newer one, which holds everything it had.
 * On stop, one last snapshot of each connector is sent within the grace period, so counts
 * since the last flush are not lost.
 *
 * Status mapping as the remote write specification says: 2xx is done, 429 and 5xx are
 * retried (Retry-After honoured), any other answer is permanent. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export_int.h"
#include "pipeline/promrw.h"

enum { MAX_LABELS = 64, MAX_LABEL_VALUE = 1024 };

static bool name_ok(const char *s, bool colon)
{
    if (!*s) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (p > s && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

int prw_parse(const ex_cfg *c, const cfg_node *settings, ex_prw *p)
{
    const char *ns = "";
    int rc = ex_opt_string(c, settings, "namespace", &ns);
    if (rc) return rc;
    if (*ns && !name_ok(ns, true))
        return ex_error(c, cfg_get(settings, "namespace"), "namespace",
                        "'%s' cannot start a Prometheus metric name ([A-Za-z_:][A-Za-z0-9_:]*)",
                        ns);
    if (!(p->namespace_ = lt_strndup(ns, strlen(ns)))) return LT_ENOMEM;

    p->target_info = true; /* the collector's default */
    const cfg_node *ti = cfg_get(settings, "target_info");
    if (ti && ti->kind == CFG_MAP) {
        ex_cfg s;
        char w[256];
        ex_sub(c, "target_info", &s, w, sizeof w);
        if ((rc = ex_opt_bool(&s, ti, "enabled", &p->target_info))) return rc;
    }

    const cfg_node *m = cfg_get(settings, "external_labels");
    if (!m || m->kind != CFG_MAP || !m->n) return 0;
    ex_cfg s;
    char w[256];
    ex_sub(c, "external_labels", &s, w, sizeof w);
    if (m->n > MAX_LABELS) return ex_error(c, m, "external_labels", "more than %d", MAX_LABELS);
    if (!(p->labels = lt_calloc(m->n, sizeof *p->labels))) return LT_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        const cfg_node *v = m->items[i];
        if (!name_ok(v->key, false) || !strncmp(v->key, "__", 2))
            return ex_error(&s, v, NULL,
                            "'%s' is not a label name ([A-Za-z_][A-Za-z0-9_]*, not starting "
                            "with __)",
                            v->key);
        if (v->kind != CFG_SCALAR || !*v->scalar)
            return ex_error(&s, v, v->key, "a label value is a non-empty string");
        if (strlen(v->scalar) > MAX_LABEL_VALUE)
            return ex_error(&s, v, v->key, "longer than %d bytes", MAX_LABEL_VALUE);
        ex_label *l = &p->labels[p->n_labels++];
        if (!(l->name = lt_strndup(v->key, strlen(v->key))) ||
            !(l->value = lt_strndup(v->scalar, strlen(v->scalar))))
            return LT_ENOMEM;
    }
    return 0;
}

void prw_free(ex_prw *p)
{
    lt_free(p->namespace_);
    for (size_t i = 0; i < p->n_labels; i++) {
        lt_free(p->labels[i].name);
        lt_free(p->labels[i].value);
    }
    lt_free(p->labels);
    memset(p, 0, sizeof *p);
}

int prw_encode_metrics(const exporter *ex, const lt_metric_batch *b, lt_buf *out, uint64_t *written,
                       uint64_t *dropped, const char **reason)
{
    const ex_prw *p = &ex->prw;
    promrw_label labels[MAX_LABELS];
    for (size_t k = 0; k < p->n_labels; k++)
        labels[k] = (promrw_label){p->labels[k].name, p->labels[k].value};
    promrw_metrics_opts o = {.ns = p->namespace_,
                             .external_labels = labels,
                             .n_external_labels = p->n_labels,
                             .no_target_info = !p->target_info};
    promrw_metrics_result res = {0};
    int rc = promrw_encode_metrics(out, b, &o, &res);
    *dropped = rc ? 0 : res.dropped;
    *written = rc ? 0 : b->n_points - (res.dropped < b->n_points ? res.dropped : b->n_points);
    *reason = res.drop_reason;
    if (!rc && !res.series) *written = 0; /* nothing to send */
    return rc;
}

void prw_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r)
{
    ex_reply rep;
    int rc = ex_client_post(ex, c, ex->client.url_traces, &it->data, &rep);
    if (rc) {
        r->outcome = EX_RETRY;
        snprintf(r->msg, sizeof r->msg, "%s",
                 rc == LT_ENOMEM ? "out of memory sending the request" : rep.transport_err);
    } else if (rep.status >= 200 && rep.status < 300) {
        r->outcome = EX_SENT;
    } else {
        r->outcome = rep.status == 429 || rep.status >= 500 ? EX_RETRY : EX_PERMANENT;
        r->retry_after_ns = rep.retry_after_ns;
        size_t n = rep.body.len;
        while (n && (rep.body.data[n - 1] == '\n' || rep.body.data[n - 1] == '\r'))
            n--;
        snprintf(r->msg, sizeof r->msg, "HTTP status %ld: %.*s", rep.status,
                 (int)(n > 200 ? 200 : n), rep.body.data ? rep.body.data : "");
    }
    reply_free(&rep);
}

/* One snapshot of connector i, sent. */
static void send_one(exporter *ex, ex_consumer *c, size_t i, uint64_t give_up_ns)
{
    ex_prw *p = &ex->prw;
    spanmetrics_snap snap;
    if (spanmetrics_snapshot(p->sm[i], &snap)) {
        log_warn("exporter %s: out of memory taking a metrics snapshot", ex->id);
        return;
    }
    spanmetrics_label labels[MAX_LABELS];
    for (size_t k = 0; k < p->n_labels; k++)
        labels[k] = (spanmetrics_label){p->labels[k].name, p->labels[k].value};
    promrw_options o = {.name_prefix = p->namespace_, .labels = labels, .n_labels = p->n_labels};
    ex_item it = {0}; /* no signal: its items are series */
    size_t n = 0;
    int rc = promrw_encode_opts(&it.data, &snap, &o, &n);
    spanmetrics_snapshot_free(&snap);
    if (rc) {
        log_warn("exporter %s: out of memory encoding metrics", ex->id);
    } else if (n) {
        it.n_items = n;
        it.size = it.data.len;
        ex_result r;
        pthread_mutex_lock(&ex->mu);
        ex_counted(ex, &it, +1);
        pthread_mutex_unlock(&ex->mu);
        ex_deliver(ex, c, &it, prw_attempt, give_up_ns, &r);
        pthread_mutex_lock(&ex->mu);
        ex_counted(ex, &it, -1);
        if (r.outcome == EX_RETRY) { /* stopped: nowhere to keep it */
            r.outcome = EX_PERMANENT;
            snprintf(r.msg + strlen(r.msg), sizeof r.msg - strlen(r.msg), " (stopped)");
        }
        ex_account(ex, &it, &r);
        pthread_mutex_unlock(&ex->mu);
    }
    buf_free(&it.data);
}

void *prw_thread(void *arg)
{
    ex_consumer *c = arg;
    exporter *ex = c->ex;
    ex_prw *p = &ex->prw;
    uint64_t now = time_mono_ns();
    for (size_t i = 0; i < p->n_sm; i++)
        p->next_ns[i] = now + spanmetrics_flush_interval_ns(p->sm[i]);
    pthread_mutex_lock(&ex->mu);
    while (!ex->stopping) {
        uint64_t soonest = 0;
        for (size_t i = 0; i < p->n_sm; i++)
            if (!soonest || p->next_ns[i] < soonest) soonest = p->next_ns[i];
        if (!soonest || time_mono_ns() < soonest) {
            ex_wait_until(ex, soonest);
            continue;
        }
        pthread_mutex_unlock(&ex->mu);
        for (size_t i = 0; i < p->n_sm; i++) {
            now = time_mono_ns();
            if (p->next_ns[i] > now) continue;
            uint64_t interval = spanmetrics_flush_interval_ns(p->sm[i]);
            p->next_ns[i] += interval;
            if (p->next_ns[i] <= now) p->next_ns[i] = now + interval; /* fell behind */
            send_one(ex, c, i, p->next_ns[i]);
        }
        pthread_mutex_lock(&ex->mu);
    }
    pthread_mutex_unlock(&ex->mu);
    for (size_t i = 0; i < p->n_sm && !ex_past_deadline(ex); i++)
        send_one(ex, c, i, 0);
    return NULL;
}
