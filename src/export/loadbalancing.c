/* loadbalancing.c — the loadbalancing exporter: spans routed by trace id (or by service) over
 * a consistent-hash ring of backends, each an otlp exporter of its own, as the OTel
 * Collector's (contrib) loadbalancing exporter does, so that every span of a trace reaches
 * the same backend (tail sampling there sees whole traces).
 *
 * Design: the settings under protocol.otlp are parsed once into a template otlp exporter,
 * never started; each backend is a copy of it pointed at one endpoint (ex_clone), with its
 * own queue, sending threads, retries and counts. The resolver gives the endpoints: a
 * static list, or a DNS name resolved every interval on a thread of its own (getaddrinfo
 * runs on a short-lived helper thread, so that the timeout holds however long the lookup
 * blocks). When the set of addresses changes, a new ring and set of backends replace the
 * old ones under the lock (unchanged endpoints keep their backend), and a removed backend
 * gets a bounded time to send what it holds. export_traces splits a batch by owner, checks
 * that every owner has room before handing any part over (a refusal then takes nothing, so
 * the sender's retry duplicates nothing), and hands each part to its backend, which encodes
 * it at once. The pipeline's thread holds the lock while it routes; the resolver holds it
 * only to swap sets, never while it waits on the network or on a backend. */
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "export/export_int.h"

enum {
    LB_DEFAULT_PORT = 4317,
    LB_MAX_ENDPOINT = 300, /* HOST:PORT, a DNS name being at most 253 */
    LB_MAX_BACKENDS = 4096,
    LB_DRAIN_MS = 5000, /* a removed backend's time to send what it holds */
};

/* Stands for the endpoints while protocol.otlp is parsed: a name that never resolves
 * (RFC 6761), replaced in every backend. */
static const char TEMPLATE_ENDPOINT[] = "loadbalancing.invalid:4317";

/* ---------------------------------------------------------------------------------- */
/* The ring                                                                           */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    uint64_t at;
    uint32_t ep;
} lb_point;

struct lb_ring {
    char **eps; /* sorted, distinct */
    size_t n;
    lb_point *pts; /* sorted by at */
    size_t n_pts;
};

/* splitmix64's finaliser: a bijection that spreads every input bit over the output. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t point_at(const char *ep, unsigned k)
{
    return mix(hash64(ep, strlen(ep), 0x6c6272696e67ull) ^
               ((uint64_t)(k + 1) * 0x9e3779b97f4a7c15ull));
}

uint64_t lb_key_trace(const uint8_t id[16])
{
    return hash64(id, 16, 0x7472616365ull);
}

uint64_t lb_key_service(lt_str name)
{
    return hash64(name.ptr, name.len, 0x73657276ull);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_point(const void *a, const void *b)
{
    const lb_point *x = a, *y = b;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    return x->ep < y->ep ? -1 : x->ep > y->ep; /* equal hashes: by name, in any order given */
}

void lb_ring_free(lb_ring *r)
{
    if (!r) return;
    for (size_t i = 0; r->eps && i < r->n; i++)
        lt_free(r->eps[i]);
    lt_free(r->eps);
    lt_free(r->pts);
    lt_free(r);
}

int lb_ring_new(const char *const *eps, size_t n, lb_ring **out)
{
    *out = NULL;
    if (!n) return LT_EINVAL;
    lb_ring *r = lt_calloc(1, sizeof *r);
    if (!r || !(r->eps = lt_calloc(n, sizeof *r->eps))) goto oom;
    for (; r->n < n; r->n++)
        if (!(r->eps[r->n] = lt_strndup(eps[r->n], strlen(eps[r->n])))) goto oom;
    qsort(r->eps, r->n, sizeof *r->eps, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (k && !strcmp(r->eps[k - 1], r->eps[i])) {
            lt_free(r->eps[i]);
            continue;
        }
        r->eps[k++] = r->eps[i];
    }
    r->n = k;
    if (!(r->pts = lt_malloc(r->n * LB_POINTS * sizeof *r->pts))) goto oom;
    for (size_t i = 0; i < r->n; i++)
        for (unsigned p = 0; p < LB_POINTS; p++)
            r->pts[r->n_pts++] = (lb_point){point_at(r->eps[i], p), (uint32_t)i};
    qsort(r->pts, r->n_pts, sizeof *r->pts, cmp_point);
    *out = r;
    return 0;
oom:
    lb_ring_free(r);
    return LT_ENOMEM;
}

size_t lb_ring_size(const lb_ring *r)
{
    return r->n;
}

const char *lb_ring_endpoint(const lb_ring *r, size_t i)
{
    return i < r->n ? r->eps[i] : NULL;
}

size_t lb_ring_owner(const lb_ring *r, uint64_t key)
{
    size_t lo = 0, hi = r->n_pts; /* the first point at or after key */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->pts[mid].at < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->pts[lo == r->n_pts ? 0 : lo].ep;
}

double lb_ring_share(const lb_ring *r, size_t i)
{
    /* a point owns the keys after the point before it, up to itself (the first wraps) */
    double sum = 0;
    for (size_t k = 0; k < r->n_pts; k++)
        if (r->pts[k].ep == i) sum += (double)(r->pts[k].at - r->pts[k ? k - 1 : r->n_pts - 1].at);
    return sum / 18446744073709551616.0;
}

static size_t ring_find(const lb_ring *r, const char *ep)
{
    char *const *hit = bsearch(&ep, r->eps, r->n, sizeof *r->eps, cmp_str);
    return hit ? (size_t)(hit - r->eps) : SIZE_MAX;
}

/* ---------------------------------------------------------------------------------- */
/* The exporter's state                                                               */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    lb_ring *ring;
    exporter **be; /* be[i] sends to the ring's endpoint i */
} lb_set;

struct ex_lb {
    bool by_service; /* routing_key: service */
    exporter *tmpl;  /* protocol.otlp, never started */
    /* resolver: a static list, or a DNS name */
    char **static_eps;
    size_t n_static;
    char *host;
    unsigned port;
    uint64_t interval_ns, timeout_ns;
    pthread_t th;
    bool th_running;
    char problem[320]; /* the last resolution failure logged ("" when resolving) */

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;  /* wakes the resolver to stop; CLOCK_MONOTONIC */
    bool started, stopping;
    lb_set *set;         /* NULL until the first resolution */
    exporter **draining; /* removed backends sending what they hold */
    size_t n_draining;   /* (still counted in the stats) */
    export_stats gone;   /* the counts of the backends removed */
    uint64_t refused;    /* items refused here: no backend yet, or an owner full */
};

static void set_free(lb_set *s)
{
    if (!s) return;
    lb_ring_free(s->ring);
    lt_free(s->be);
    lt_free(s);
}

static void stats_add(export_stats *to, const export_stats *s)
{
    to->sent_items += s->sent_items;
    to->sent_requests += s->sent_requests;
    to->rejected_items += s->rejected_items;
    to->failed_items += s->failed_items;
    to->refused_items += s->refused_items;
    to->queued_bytes += s->queued_bytes;
    to->queued_requests += s->queued_requests;
    to->retries += s->retries;
}

/* ---------------------------------------------------------------------------------- */
/* Settings                                                                           */
/* ---------------------------------------------------------------------------------- */

/* A static hostname as HOST:PORT (the port 4317 when absent). NULL when valid, else why. */
static const char *parse_endpoint(const char *s, char *out, size_t n)
{
    if (!*s) return "is empty";
    if (strstr(s, "://"))
        return "is HOST or HOST:PORT, without a scheme (protocol.otlp.tls "
               "decides TLS)";
    if (strchr(s, '/')) return "is HOST or HOST:PORT, without a path";
    const char *host = s, *port = NULL;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1) return "has an unclosed or empty [IPv6 address]";
        hl = (size_t)(close - s) + 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return "has something after the ]";
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) return "an IPv6 address goes in brackets: [V6]:PORT";
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (colon) port = colon + 1;
        if (!hl) return "has no host";
    }
    uint64_t p = LB_DEFAULT_PORT;
    if (port && (parse_u64((lt_str){port, strlen(port)}, &p) || p == 0 || p > 65535))
        return "has a port that is not 1 to 65535";
    if ((size_t)snprintf(out, n, "%.*s:%u", (int)hl, host, (unsigned)p) >= n) return "is too long";
    return NULL;
}

static int parse_static(const ex_cfg *c, const cfg_node *st, ex_lb *l)
{
    ex_cfg sc;
    char w[320];
    ex_sub(c, "static", &sc, w, sizeof w);
    const cfg_node *hs = cfg_get(st, "hostnames");
    if (!hs) return ex_error(&sc, st, "hostnames", "is required (the backends' HOST:PORT)");
    if (hs->kind != CFG_SEQ || hs->n == 0)
        return ex_error(&sc, hs, "hostnames", "expected a list of one HOST:PORT or more");
    if (hs->n > LB_MAX_BACKENDS)
        return ex_error(&sc, hs, "hostnames", "more than %d", LB_MAX_BACKENDS);
    if (!(l->static_eps = lt_calloc(hs->n, sizeof *l->static_eps))) return LT_ENOMEM;
    for (size_t i = 0; i < hs->n; i++) {
        const cfg_node *h = hs->items[i];
        char ep[LB_MAX_ENDPOINT];
        char where[352];
        snprintf(where, sizeof where, "%s.hostnames[%zu]", w, i);
        ex_cfg ic = sc;
        ic.where = where;
        if (h->kind != CFG_SCALAR) return ex_error(&ic, h, NULL, "expected HOST:PORT");
        const char *why = parse_endpoint(h->scalar, ep, sizeof ep);
        if (why) return ex_error(&ic, h, NULL, "'%.200s' %s", h->scalar, why);
        for (size_t k = 0; k < l->n_static; k++)
            if (!strcmp(l->static_eps[k], ep))
                return ex_error(&ic, h, NULL, "'%s' is listed twice", ep);
        if (!(l->static_eps[l->n_static] = lt_strndup(ep, strlen(ep)))) return LT_ENOMEM;
        l->n_static++;
    }
    return 0;
}

static int parse_dns(const ex_cfg *c, const cfg_node *dns, ex_lb *l)
{
    ex_cfg dc;
    char w[320];
    ex_sub(c, "dns", &dc, w, sizeof w);
    const char *host = NULL;
    int64_t port = LB_DEFAULT_PORT;
    l->interval_ns = 5000000000ull;
    l->timeout_ns = 1000000000ull;
    int rc;
    if ((rc = ex_opt_string(&dc, dns, "hostname", &host)) ||
        (rc = ex_opt_int(&dc, dns, "port", 1, 65535, &port)) ||
        (rc = ex_opt_duration(&dc, dns, "interval", true, &l->interval_ns)) ||
        (rc = ex_opt_duration(&dc, dns, "timeout", true, &l->timeout_ns)))
        return rc;
    const cfg_node *at = cfg_get(dns, "hostname");
    if (!host) return ex_error(&dc, dns, "hostname", "is required (the name to resolve)");
    size_t n = strlen(host);
    if (!n || n > 253 || strpbrk(host, ":/ []"))
        return ex_error(&dc, at, "hostname", "'%.200s' is not a host name", host);
    if (!(l->host = lt_strndup(host, n))) return LT_ENOMEM;
    l->port = (unsigned)port;
    return 0;
}

static int parse_resolver(const ex_cfg *c, const cfg_node *s, ex_lb *l)
{
    const cfg_node *res = cfg_get(s, "resolver");
    if (!res) return ex_error(c, s, "resolver", "is required (static or dns)");
    if (res->kind != CFG_MAP) return ex_error(c, res, "resolver", "expected a mapping");
    ex_cfg rc_;
    char w[320];
    ex_sub(c, "resolver", &rc_, w, sizeof w);
    const cfg_node *st = cfg_get(res, "static"), *dns = cfg_get(res, "dns");
    if (st && dns)
        return ex_error(&rc_, dns, NULL, "static and dns are exclusive: give one resolver");
    if (!st && !dns) return ex_error(c, res, "resolver", "needs static or dns");
    return st ? parse_static(&rc_, st, l) : parse_dns(&rc_, dns, l);
}

int lb_parse(const ex_cfg *c, const cfg_node *s, exporter *ex)
{
    ex_lb *l = lt_calloc(1, sizeof *l);
    if (!l) return LT_ENOMEM;
    ex_cond_init(&l->cv);
    pthread_mutex_init(&l->mu, NULL);
    ex->lb = l; /* freed by lb_stop, also when this fails */

    const char *rk = NULL;
    int rc = ex_opt_string(c, s, "routing_key", &rk);
    if (rc) return rc;
    if (rk && !strcmp(rk, "service"))
        l->by_service = true;
    else if (rk && strcmp(rk, "traceID"))
        return ex_error(c, cfg_get(s, "routing_key"), "routing_key",
                        "'%.200s' is not supported (traceID or service)", rk);

    const cfg_node *proto = cfg_get(s, "protocol"), *otlp = cfg_get(proto, "otlp");
    if (proto && proto->kind != CFG_MAP)
        return ex_error(c, proto, "protocol", "expected a mapping (otlp: ...)");
    ex_cfg pc;
    char w[320];
    ex_sub(c, "protocol.otlp", &pc, w, sizeof w);
    if (otlp && otlp->kind != CFG_MAP && otlp->kind != CFG_NULL)
        return ex_error(&pc, otlp, NULL, "expected a mapping (the otlp exporter's settings)");
    if (cfg_get(otlp, "endpoint"))
        return ex_error(&pc, cfg_get(otlp, "endpoint"), "endpoint",
                        "is not set here: the resolver gives the backends' endpoints");
    pc.endpoint = TEMPLATE_ENDPOINT;
    if ((rc = ex_create(&pc, otlp, EX_OTLP, ex->id, SIG_TRACES | SIG_LOGS, &l->tmpl))) return rc;
    if (l->tmpl->dir)
        return ex_error(&pc, cfg_get(cfg_get(otlp, "sending_queue"), "directory"),
                        "sending_queue.directory",
                        "not supported: the backends' queues are in memory");

    if ((rc = parse_resolver(c, s, l))) return rc;
    if (l->n_static) return lb_apply(ex, (const char *const *)l->static_eps, l->n_static, 0);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Backends                                                                           */
/* ---------------------------------------------------------------------------------- */

/* Starts a backend with the batching of the exporter (a pipeline's batch processor). */
static int start_backend(exporter *ex, exporter *be)
{
    char err[256];
    int rc = 0;
    if (ex->batching)
        rc = export_set_batching(be, ex->batch_timeout_ns, ex->batch_size, ex->batch_max);
    if (!rc) rc = export_start(be, err, sizeof err);
    if (rc)
        log_warn("exporter %s: cannot start the backend %s: %s", ex->id, export_id(be),
                 rc == LT_EINVAL ? "invalid batching" : err);
    return rc;
}

/* Appends ", NAME" to a list being written in buf (at most n bytes, "..." once full). */
static void list_add(char *buf, size_t n, const char *name)
{
    size_t len = strlen(buf);
    if (len + 4 >= n) return;
    int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", name);
    if (w < 0 || (size_t)w >= n - len) memcpy(buf + n - 4, "...", 4);
}

int lb_apply(exporter *ex, const char *const *eps, size_t n, long drain_ms)
{
    ex_lb *l = ex->lb;
    lb_set *ns = lt_calloc(1, sizeof *ns);
    int rc = ns ? lb_ring_new(eps, n, &ns->ring) : LT_ENOMEM;
    pthread_mutex_lock(&l->mu);
    lb_set *old = l->set;
    bool started = l->started;
    pthread_mutex_unlock(&l->mu);
    /* only the resolver changes the set: old stays as it is while this runs */
    size_t nn = rc ? 0 : lb_ring_size(ns->ring), no = old ? lb_ring_size(old->ring) : 0;
    if (!rc && old && nn == no) {
        bool same = true;
        for (size_t i = 0; same && i < nn; i++)
            same = !strcmp(lb_ring_endpoint(ns->ring, i), lb_ring_endpoint(old->ring, i));
        if (same) {
            set_free(ns);
            return 0;
        }
    }
    exporter **removed = NULL;
    bool *kept = NULL;
    if (!rc && (!(ns->be = lt_calloc(nn, sizeof *ns->be)) ||
                (no && !(removed = lt_calloc(no, sizeof *removed))) ||
                (no && !(kept = lt_calloc(no, sizeof *kept)))))
        rc = LT_ENOMEM;
    char added[512] = "", gone[512] = "";
    for (size_t i = 0; !rc && i < nn; i++) {
        const char *ep = lb_ring_endpoint(ns->ring, i);
        size_t k = old ? ring_find(old->ring, ep) : SIZE_MAX;
        if (k != SIZE_MAX) {
            ns->be[i] = old->be[k];
            kept[k] = true;
            continue;
        }
        char id[LB_MAX_ENDPOINT + 256];
        snprintf(id, sizeof id, "%s@%s", ex->id, ep);
        if ((rc = ex_clone(l->tmpl, id, ep, &ns->be[i]))) break;
        if (started && (rc = start_backend(ex, ns->be[i]))) break;
        list_add(added, sizeof added, ep);
    }
    if (rc) { /* the new backends go; the old set stays */
        for (size_t i = 0; ns && ns->be && i < nn; i++)
            if (ns->be[i] &&
                !(old && ring_find(old->ring, lb_ring_endpoint(ns->ring, i)) != SIZE_MAX))
                export_stop(ns->be[i], 0);
        set_free(ns);
        lt_free(removed);
        lt_free(kept);
        return rc;
    }
    size_t n_removed = 0;
    for (size_t k = 0; k < no; k++)
        if (!kept[k]) {
            removed[n_removed++] = old->be[k];
            list_add(gone, sizeof gone, lb_ring_endpoint(old->ring, k));
        }

    pthread_mutex_lock(&l->mu);
    l->set = ns;
    l->draining = removed;
    l->n_draining = n_removed;
    pthread_mutex_unlock(&l->mu);
    if (started) {
        char all[1024] = "";
        for (size_t i = 0; i < nn; i++)
            list_add(all, sizeof all, lb_ring_endpoint(ns->ring, i));
        log_info("exporter %s: backends %s%s%s%s%s%s%s", ex->id, all, *added ? " (added " : "",
                 added, *added ? ")" : "", *gone ? " (removed " : "", gone, *gone ? ")" : "");
    }

    /* removed backends send what they hold for at most drain_ms, all at once */
    for (size_t k = 0; k < n_removed; k++)
        ex_stop_begin(removed[k], drain_ms);
    for (size_t k = 0; k < n_removed; k++)
        ex_halt(removed[k]);
    pthread_mutex_lock(&l->mu);
    for (size_t k = 0; k < n_removed; k++) {
        export_stats st;
        export_get_stats(removed[k], &st);
        st.queued_bytes = st.queued_requests = 0; /* what was left is counted as failed */
        stats_add(&l->gone, &st);
    }
    l->draining = NULL;
    l->n_draining = 0;
    pthread_mutex_unlock(&l->mu);
    for (size_t k = 0; k < n_removed; k++)
        ex_free(removed[k]);
    lt_free(removed);
    lt_free(kept);
    set_free(old);
    return 0;
}

exporter *lb_backend(exporter *ex, const char *ep)
{
    ex_lb *l = ex->lb;
    pthread_mutex_lock(&l->mu);
    size_t i = l->set ? ring_find(l->set->ring, ep) : SIZE_MAX;
    exporter *be = i == SIZE_MAX ? NULL : l->set->be[i];
    pthread_mutex_unlock(&l->mu);
    return be;
}

/* ---------------------------------------------------------------------------------- */
/* DNS                                                                                */
/* ---------------------------------------------------------------------------------- */

/* One lookup, shared by the resolver (which may stop waiting) and the helper thread
 * running getaddrinfo (which cannot be interrupted): the last of the two frees it. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    int refs;
    bool done;
    char host[256], port[8];
    int rc;
    struct addrinfo *res;
} dns_job;

static void job_unref(dns_job *j)
{
    pthread_mutex_lock(&j->mu);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last) return;
    if (j->res) freeaddrinfo(j->res);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    lt_free(j);
}

static void *dns_worker(void *arg)
{
    dns_job *j = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(j->host, j->port, &hints, &res);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->res = res;
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
    return NULL;
}

/* Resolves l->host within l->timeout_ns into distinct "ADDR:PORT" endpoints (*eps, *n,
 * each and the array to lt_free). 0, or LT_EIO / LT_ENOMEM with the reason in why. */
static int resolve(ex_lb *l, char ***eps, size_t *n, char *why, size_t whylen)
{
    *eps = NULL;
    *n = 0;
    dns_job *j = lt_calloc(1, sizeof *j);
    if (!j) {
        snprintf(why, whylen, "out of memory");
        return LT_ENOMEM;
    }
    ex_cond_init(&j->cv);
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 2;
    snprintf(j->host, sizeof j->host, "%s", l->host);
    snprintf(j->port, sizeof j->port, "%u", l->port);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &at, dns_worker, j)) {
        pthread_attr_destroy(&at);
        j->refs = 1;
        job_unref(j);
        snprintf(why, whylen, "cannot start a thread");
        return LT_ENOMEM;
    }
    pthread_attr_destroy(&at);
    uint64_t until = time_mono_ns() + l->timeout_ns;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                          .tv_nsec = (long)(until % 1000000000u)};
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    while (!j->done && pthread_cond_timedwait(&j->cv, &j->mu, &ts) == 0) {
    }
    if (!j->done) {
        snprintf(why, whylen, "no answer within %.1fs", (double)l->timeout_ns / 1e9);
        rc = LT_EIO;
    } else if (j->rc) {
        snprintf(why, whylen, "%s", gai_strerror(j->rc));
        rc = LT_EIO;
    } else {
        size_t cap = 0;
        for (const struct addrinfo *a = j->res; a; a = a->ai_next)
            cap++;
        if (!(*eps = lt_calloc(cap ? cap : 1, sizeof **eps))) rc = LT_ENOMEM;
        for (const struct addrinfo *a = j->res; !rc && a; a = a->ai_next) {
            char ip[96], ep[LB_MAX_ENDPOINT]; /* an IPv6 address with a zone fits */
            if (getnameinfo(a->ai_addr, a->ai_addrlen, ip, sizeof ip, NULL, 0, NI_NUMERICHOST))
                continue;
            if (strchr(ip, ':'))
                snprintf(ep, sizeof ep, "[%s]:%u", ip, l->port);
            else
                snprintf(ep, sizeof ep, "%s:%u", ip, l->port);
            if (!((*eps)[*n] = lt_strndup(ep, strlen(ep))))
                rc = LT_ENOMEM;
            else
                ++*n;
        }
        if (rc) snprintf(why, whylen, "out of memory");
        if (!rc && !*n) {
            snprintf(why, whylen, "no address");
            rc = LT_EIO;
        }
    }
    pthread_mutex_unlock(&j->mu);
    job_unref(j);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            lt_free((*eps)[i]);
        lt_free(*eps);
        *eps = NULL;
        *n = 0;
    }
    return rc;
}

static void *resolver_main(void *arg)
{
    exporter *ex = arg;
    ex_lb *l = ex->lb;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        bool stop = l->stopping;
        pthread_mutex_unlock(&l->mu);
        if (stop) break;
        char **eps = NULL, why[256] = "";
        size_t n = 0;
        int rc = resolve(l, &eps, &n, why, sizeof why);
        if (!rc) rc = lb_apply(ex, (const char *const *)eps, n, LB_DRAIN_MS);
        for (size_t i = 0; i < n; i++)
            lt_free(eps[i]);
        lt_free(eps);
        if (!rc && l->problem[0]) {
            log_info("exporter %s: %s resolves again", ex->id, l->host);
            l->problem[0] = 0;
        } else if (rc && strcmp(why, l->problem)) {
            pthread_mutex_lock(&l->mu);
            bool any = l->set != NULL;
            pthread_mutex_unlock(&l->mu);
            log_warn("exporter %s: cannot resolve %s: %s; %s", ex->id, l->host,
                     *why ? why : lt_strerror(rc),
                     any ? "the backends stay as they were"
                         : "data is refused (retry later) until it resolves");
            snprintf(l->problem, sizeof l->problem, "%s", why);
        }
        uint64_t until = time_mono_ns() + l->interval_ns;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u),
                              .tv_nsec = (long)(until % 1000000000u)};
        pthread_mutex_lock(&l->mu);
        while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0) {
        }
        pthread_mutex_unlock(&l->mu);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Start, route, stop                                                                 */
/* ---------------------------------------------------------------------------------- */

int lb_start(exporter *ex, char *err, size_t errlen)
{
    ex_lb *l = ex->lb;
    pthread_mutex_lock(&l->mu);
    l->started = true;
    lb_set *s = l->set;
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; s && i < lb_ring_size(s->ring); i++) {
        int rc = start_backend(ex, s->be[i]);
        if (rc) {
            snprintf(err, errlen, "exporters.%s: cannot start the backend %s", ex->id,
                     lb_ring_endpoint(s->ring, i));
            return rc;
        }
    }
    if (s) {
        char all[1024] = "";
        for (size_t i = 0; i < lb_ring_size(s->ring); i++)
            list_add(all, sizeof all, lb_ring_endpoint(s->ring, i));
        log_info("exporter %s: backends %s", ex->id, all);
    }
    if (l->host) {
        if (pthread_create(&l->th, NULL, resolver_main, ex)) {
            snprintf(err, errlen, "exporters.%s: cannot start a thread", ex->id);
            return LT_ENOMEM;
        }
        l->th_running = true;
    }
    return 0;
}

bool lb_has_room(exporter *ex, size_t bytes)
{
    ex_lb *l = ex->lb;
    pthread_mutex_lock(&l->mu);
    bool ok = l->set != NULL;
    for (size_t i = 0; ok && i < lb_ring_size(l->set->ring); i++)
        ok = export_has_room(l->set->be[i], bytes);
    pthread_mutex_unlock(&l->mu);
    return ok;
}

/* Traces and logs have one shape: resources holding scopes holding items, each item with
 * its trace id. Described as data, so one walk serves both. */
typedef struct {
    size_t res_size, res_scopes, res_n; /* a resource: size, its scopes (array, count) */
    size_t scope_size, scope_items, scope_n;
    size_t item_size, item_trace_id;
} lb_shape;

static const lb_shape trace_shape = {
    sizeof(lt_resource_spans),
    offsetof(lt_resource_spans, scopes),
    offsetof(lt_resource_spans, n_scopes),
    sizeof(lt_scope_spans),
    offsetof(lt_scope_spans, spans),
    offsetof(lt_scope_spans, n_spans),
    sizeof(lt_span),
    offsetof(lt_span, trace_id),
};
static const lb_shape log_shape = {
    sizeof(lt_resource_logs),
    offsetof(lt_resource_logs, scopes),
    offsetof(lt_resource_logs, n_scopes),
    sizeof(lt_scope_logs),
    offsetof(lt_scope_logs, records),
    offsetof(lt_scope_logs, n_records),
    sizeof(lt_log_record),
    offsetof(lt_log_record, trace_id),
};

static const char *kids(const void *e, size_t arr_off)
{
    const char *p;
    memcpy(&p, (const char *)e + arr_off, sizeof p);
    return p;
}

static uint32_t kid_count(const void *e, size_t n_off)
{
    uint32_t n;
    memcpy(&n, (const char *)e + n_off, sizeof n);
    return n;
}

static void set_kids(void *e, size_t arr_off, size_t n_off, const void *arr, uint32_t n)
{
    memcpy((char *)e + arr_off, &arr, sizeof arr);
    memcpy((char *)e + n_off, &n, sizeof n);
}

/* Hands a part (resources res[0..n_res), items of them) to be, as a batch of signal. */
static int hand(exporter *be, unsigned signal, void *res, uint32_t n_res, uint64_t items)
{
    if (signal == SIG_TRACES) {
        lt_trace_batch t = {.rs = res, .n_rs = n_res, .n_spans = items};
        return export_traces(be, &t);
    }
    lt_log_batch g = {.rl = res, .n_rl = n_res, .n_records = items};
    return export_logs(be, &g);
}

/* Routes the resources res[0..n_res) of batch b (signal, shape sh) over set s. l->mu held. */
static int route(ex_lb *l, const lb_set *s, unsigned signal, const void *b, const lb_shape *sh,
                 const char *res, uint32_t n_res)
{
    size_t nb = lb_ring_size(s->ring);
    uint64_t total = 0, scopes = 0;
    for (uint32_t r = 0; r < n_res; r++) {
        const char *rs = res + r * sh->res_size, *sc = kids(rs, sh->res_scopes);
        uint32_t ns = kid_count(rs, sh->res_n);
        scopes += ns;
        for (uint32_t k = 0; k < ns; k++)
            total += kid_count(sc + k * sh->scope_size, sh->scope_n);
    }
    if (!total) return 0;
    uint64_t *count = lt_calloc(nb, sizeof *count);
    uint32_t *owner = lt_malloc(total * sizeof *owner);
    char *rbuf = NULL, *sbuf = NULL, *ibuf = NULL;
    int rc = 0;
    if (!count || !owner) {
        rc = LT_ENOMEM;
        goto out;
    }
    /* every item's owner, in the batch's order */
    uint64_t at = 0;
    for (uint32_t r = 0; r < n_res; r++) {
        const char *rs = res + r * sh->res_size, *sc = kids(rs, sh->res_scopes);
        uint64_t svc = lb_key_service(model_service_name((const lt_resource *)rs));
        size_t by_svc = lb_ring_owner(s->ring, svc);
        for (uint32_t k = 0; k < kid_count(rs, sh->res_n); k++) {
            const char *scope = sc + k * sh->scope_size, *items = kids(scope, sh->scope_items);
            for (uint32_t i = 0; i < kid_count(scope, sh->scope_n); i++) {
                const uint8_t *id = (const uint8_t *)items + i * sh->item_size + sh->item_trace_id;
                /* a log record without a trace goes by its service */
                size_t o = l->by_service || model_id_is_zero(id, 16)
                               ? by_svc
                               : lb_ring_owner(s->ring, lb_key_trace(id));
                owner[at++] = (uint32_t)o;
                count[o]++;
            }
        }
    }
    /* all or nothing: every owner takes its part, or none is handed over */
    size_t targets = 0, last = 0;
    uint64_t most = 0;
    for (size_t t = 0; t < nb; t++) {
        if (!count[t]) continue;
        targets++, last = t;
        if (count[t] > most) most = count[t];
        if (!export_has_room(s->be[t], 0)) {
            l->refused += total;
            rc = LT_EBUSY;
            goto out;
        }
    }
    if (targets == 1) {
        rc = signal == SIG_TRACES ? export_traces(s->be[last], b) : export_logs(s->be[last], b);
        goto out;
    }
    /* a part per owner: copies of the resources, scopes and items it has, in order */
    if (!(rbuf = lt_malloc(n_res * sh->res_size)) || !(sbuf = lt_malloc(scopes * sh->scope_size)) ||
        !(ibuf = lt_malloc(most * sh->item_size))) {
        rc = LT_ENOMEM;
        goto out;
    }
    for (size_t t = 0; t < nb && !rc; t++) {
        if (!count[t]) continue;
        uint64_t walk = 0, ni = 0, nsc = 0;
        uint32_t nr = 0;
        for (uint32_t r = 0; r < n_res; r++) {
            const char *rs = res + r * sh->res_size, *sc = kids(rs, sh->res_scopes);
            uint64_t first_scope = nsc;
            for (uint32_t k = 0; k < kid_count(rs, sh->res_n); k++) {
                const char *scope = sc + k * sh->scope_size, *items = kids(scope, sh->scope_items);
                uint64_t first_item = ni;
                for (uint32_t i = 0; i < kid_count(scope, sh->scope_n); i++)
                    if (owner[walk++] == t)
                        memcpy(ibuf + ni++ * sh->item_size, items + i * sh->item_size,
                               sh->item_size);
                if (ni == first_item) continue;
                char *copy = sbuf + nsc++ * sh->scope_size;
                memcpy(copy, scope, sh->scope_size);
                set_kids(copy, sh->scope_items, sh->scope_n, ibuf + first_item * sh->item_size,
                         (uint32_t)(ni - first_item));
            }
            if (nsc == first_scope) continue;
            char *copy = rbuf + nr++ * sh->res_size;
            memcpy(copy, rs, sh->res_size);
            set_kids(copy, sh->res_scopes, sh->res_n, sbuf + first_scope * sh->scope_size,
                     (uint32_t)(nsc - first_scope));
        }
        /* the backend encodes the part at once: the buffers are free again after */
        rc = hand(s->be[t], signal, rbuf, nr, ni);
    }
out:
    lt_free(count);
    lt_free(owner);
    lt_free(rbuf);
    lt_free(sbuf);
    lt_free(ibuf);
    return rc;
}

int lb_export(exporter *ex, unsigned signal, const void *b)
{
    if (signal != SIG_TRACES && signal != SIG_LOGS) return LT_EUNSUPPORTED;
    ex_lb *l = ex->lb;
    const lt_trace_batch *tb = b;
    const lt_log_batch *gb = b;
    uint64_t n = signal == SIG_TRACES ? tb->n_spans : gb->n_records;
    if (!n) return 0;
    pthread_mutex_lock(&l->mu);
    int rc;
    if (!l->set) {
        l->refused += n; /* the resolver says why */
        rc = LT_EBUSY;
    } else if (signal == SIG_TRACES) {
        rc = route(l, l->set, signal, b, &trace_shape, (const char *)tb->rs, tb->n_rs);
    } else {
        rc = route(l, l->set, signal, b, &log_shape, (const char *)gb->rl, gb->n_rl);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void lb_get_stats(exporter *ex, export_stats *out)
{
    ex_lb *l = ex->lb;
    pthread_mutex_lock(&l->mu);
    *out = l->gone;
    out->refused_items += l->refused;
    for (size_t i = 0; l->set && i < lb_ring_size(l->set->ring); i++) {
        export_stats st;
        export_get_stats(l->set->be[i], &st);
        stats_add(out, &st);
    }
    for (size_t i = 0; i < l->n_draining; i++) {
        export_stats st;
        export_get_stats(l->draining[i], &st);
        stats_add(out, &st);
    }
    pthread_mutex_unlock(&l->mu);
}

void lb_stop(exporter *ex, long grace_ms)
{
    ex_lb *l = ex->lb;
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->th_running) pthread_join(l->th, NULL);
    /* the resolver is gone: the set no longer changes */
    lb_set *s = l->set;
    size_t n = s ? lb_ring_size(s->ring) : 0;
    for (size_t i = 0; i < n; i++)
        ex_stop_begin(s->be[i], grace_ms); /* one grace for all */
    for (size_t i = 0; i < n; i++)
        export_stop(s->be[i], grace_ms);
    set_free(s);
    ex_free(l->tmpl);
    for (size_t i = 0; i < l->n_static; i++)
        lt_free(l->static_eps[i]);
    lt_free(l->static_eps);
    lt_free(l->host);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    lt_free(l);
    ex->lb = NULL;
}
