/* test_loadbalancing.c — the loadbalancing exporter (export/loadbalancing.c).
 *
 * The ring: a key always maps to the same endpoint, whatever order the endpoints are given
 * in; over many random trace ids each of 2 to 5 endpoints gets its share of the ring within
 * binomial bounds, and that share is near 1/N; removing an endpoint moves exactly the ids it
 * owned, adding one takes only ids for itself.
 * Routing, on exporters built from YAML through the real loader and pipeline checks, with
 * otlp backends that are never started (their queues hold what they were given, which is
 * decoded back here): every span of a batch lands in the queue of its trace's owner, under
 * its own resource and scope, each trace whole in one queue; logs by trace id, records
 * without one by service; routing_key service keeps a resource whole; nothing is taken
 * before the first resolution; a change of backends keeps the unchanged ones and counts
 * what a removed one held. Delivery over the network, tiers and DNS are tested by
 * tests/integration/loadbalancing.test.mjs. Configuration errors are positioned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "export/export.h"
#include "export/export_int.h"
#include "otlp/otlp.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"

/* xorshift64*: replayable ids */
static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static void random_id(uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = next64();
        memcpy(id + i, &x, n - i < 8 ? n - i : 8);
    }
}

static const char *const EPS[] = {"10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317",
                                  "10.0.0.4:4317", "10.0.0.5:4317"};

static lb_ring *ring_of(const char *const *eps, size_t n)
{
    lb_ring *r = NULL;
    assert_int_equal(lb_ring_new(eps, n, &r), 0);
    return r;
}

/* The owner of key as an endpoint name. */
static const char *owner(const lb_ring *r, uint64_t key)
{
    return lb_ring_endpoint(r, lb_ring_owner(r, key));
}

/* ---------------------------------------------------------------------------------- */
/* The ring                                                                           */
/* ---------------------------------------------------------------------------------- */

static void ring_same_key_same_endpoint_in_any_order(void **state)
{
    (void)state;
    /* every order of the five endpoints (and with duplicates) gives the same mapping */
    const char *perm[5];
    lb_ring *ref = ring_of(EPS, 5);
    assert_int_equal(lb_ring_size(ref), 5);
    for (int trial = 0; trial < 20; trial++) {
        for (int i = 0; i < 5; i++)
            perm[i] = EPS[i];
        for (int i = 4; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(next64() % (uint64_t)(i + 1));
            const char *t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        const char *with_dup[6] = {perm[0], perm[1], perm[2], perm[3], perm[4], perm[trial % 5]};
        lb_ring *r = ring_of(with_dup, 6);
        assert_int_equal(lb_ring_size(r), 5);
        for (int k = 0; k < 2000; k++) {
            uint8_t id[16];
            random_id(id, 16);
            uint64_t key = lb_key_trace(id);
            assert_string_equal(owner(r, key), owner(ref, key));
            assert_string_equal(owner(r, key), owner(r, key));
        }
        lb_ring_free(r);
    }
    lb_ring_free(ref);
}

static void ring_split_within_binomial_bounds(void **state)
{
    (void)state;
    enum { M = 60000 };
    for (size_t n = 2; n <= 5; n++) {
        lb_ring *r = ring_of(EPS, n);
        uint64_t count[5] = {0};
        for (int k = 0; k < M; k++) {
            uint8_t id[16];
            random_id(id, 16);
            count[lb_ring_owner(r, lb_key_trace(id))]++;
        }
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            double p = lb_ring_share(r, i);
            total += p;
            /* the ids follow the ring: each endpoint's count is Binomial(M, its share) */
            double sd = sqrt(M * p * (1 - p));
            if (fabs((double)count[i] - M * p) > 5 * sd)
                fail_msg("%zu endpoints: %s got %llu of %d ids, its share of the ring is %.4f", n,
                         lb_ring_endpoint(r, i), (unsigned long long)count[i], M, p);
            /* and the ring is balanced: 1000 points each put every share near 1/n */
            if (fabs(p * (double)n - 1) > 0.15)
                fail_msg("%zu endpoints: %s owns %.4f of the ring", n, lb_ring_endpoint(r, i), p);
        }
        assert_true(fabs(total - 1) < 1e-9);
        lb_ring_free(r);
    }
}

static void ring_removal_moves_only_the_ids_owned(void **state)
{
    (void)state;
    enum { M = 40000 };
    lb_ring *five = ring_of(EPS, 5);
    for (size_t gone = 0; gone < 5; gone++) {
        const char *rest[4];
        for (size_t i = 0, k = 0; i < 5; i++)
            if (i != gone) rest[k++] = EPS[i];
        lb_ring *four = ring_of(rest, 4);
        uint64_t moved = 0, owned = 0;
        for (int k = 0; k < M; k++) {
            uint8_t id[16];
            random_id(id, 16);
            uint64_t key = lb_key_trace(id);
            const char *before = owner(five, key), *after = owner(four, key);
            if (strcmp(before, EPS[gone])) {
                assert_string_equal(before, after); /* not the removed one's: stays */
            } else {
                owned++;
                assert_string_not_equal(after, EPS[gone]);
            }
            if (strcmp(before, after)) moved++;
        }
        /* what moved is exactly what the removed one owned: about 1/5 (adding it back is the
         * same comparison the other way: the new endpoint takes only ids for itself) */
        assert_int_equal(moved, owned);
        double p = lb_ring_share(five, gone); /* EPS is in the ring's order */
        double sd = sqrt(M * p * (1 - p));
        assert_true(fabs((double)owned - M * p) <= 5 * sd);
        lb_ring_free(four);
    }
    lb_ring_free(five);
}

static void ring_of_nothing_is_refused(void **state)
{
    (void)state;
    lb_ring *r = NULL;
    assert_int_equal(lb_ring_new(NULL, 0, &r), LT_EINVAL);
    assert_null(r);
}

/* ---------------------------------------------------------------------------------- */
/* Exporters from YAML                                                                */
/* ---------------------------------------------------------------------------------- */

/* Builds exporters.loadbalancing from its settings, used by a traces and a logs pipeline
 * (or by signal's only). Returns the code with the message in err. */
static int build_sig(const char *settings, const char *signal, exporter **ex, char *err,
                     size_t errlen)
{
    char yaml[4096];
    if (signal)
        snprintf(yaml, sizeof yaml,
                 "receivers: { otlp: { protocols: { grpc: } } }\n"
                 "exporters:\n  loadbalancing:\n%s\n"
                 "service: { pipelines: { %s: { receivers: [otlp], exporters: [loadbalancing] } "
                 "} }\n",
                 settings, signal);
    else
        snprintf(yaml, sizeof yaml,
                 "receivers: { otlp: { protocols: { grpc: } } }\n"
                 "exporters:\n  loadbalancing:\n%s\n"
                 "service:\n  pipelines:\n"
                 "    traces: { receivers: [otlp], exporters: [loadbalancing] }\n"
                 "    logs: { receivers: [otlp], exporters: [loadbalancing] }\n",
                 settings);
    cfg_doc *d = NULL;
    pipecfg *p = NULL;
    *ex = NULL;
    int rc = cfg_load_string(yaml, strlen(yaml), "t.yaml", &d, err, errlen);
    if (!rc) rc = pipecfg_build(d, &p, err, errlen);
    if (!rc)
        rc = export_create(d, pipecfg_find(p, COMP_EXPORTER, "loadbalancing"), ex, err, errlen);
    pipecfg_free(p);
    cfg_free(d);
    return rc;
}

static exporter *build(const char *settings)
{
    char err[1024];
    exporter *ex = NULL;
    if (build_sig(settings, NULL, &ex, err, sizeof err)) fail_msg("%s", err);
    return ex;
}

static void refused(const char *settings, const char *signal, const char *want)
{
    char err[1024] = "";
    exporter *ex = NULL;
    int rc = build_sig(settings, signal, &ex, err, sizeof err);
    if (rc != LT_EINVAL || !strstr(err, want))
        fail_msg("settings\n%s\ngave %d '%s', expected '%s'", settings, rc, err, want);
    assert_null(ex);
}

#define PROTO "    protocol: { otlp: { tls: { insecure: true } } }\n"

static void config_errors_are_positioned(void **state)
{
    (void)state;
    refused(PROTO "    resolver: { static: { hostnames: [a:1] }, dns: { hostname: b } }", NULL,
            "t.yaml:5:52: exporters.loadbalancing.resolver: static and dns are exclusive");
    refused(PROTO "    resolver: {}", NULL,
            "t.yaml:5:15: exporters.loadbalancing.resolver: needs static or dns");
    refused(PROTO, NULL, "exporters.loadbalancing.resolver: is required");
    refused("    routing_key: streamID\n" PROTO "    resolver: { static: { hostnames: [a:1] } }",
            NULL, "t.yaml:4:18: exporters.loadbalancing.routing_key: 'streamID' is not supported");
    refused(PROTO "    resolver: { static: { hostnames: [a:1, 'http://b:2'] } }", NULL,
            "t.yaml:5:44: exporters.loadbalancing.resolver.static.hostnames[1]: 'http://b:2' is "
            "HOST or HOST:PORT, without a scheme");
    refused(PROTO "    resolver: { static: { hostnames: [a:1, b:0] } }", NULL,
            "hostnames[1]: 'b:0' has a port that is not 1 to 65535");
    refused(PROTO "    resolver: { static: { hostnames: ['a:4317', 'a'] } }", NULL,
            "hostnames[1]: 'a:4317' is listed twice");
    refused(PROTO "    resolver: { static: { hostnames: [a:1, '::1'] } }", NULL,
            "an IPv6 address goes in brackets");
    refused(PROTO "    resolver: { static: { hostnames: [] } }", NULL,
            "hostnames: expected a list of one HOST:PORT or more");
    refused(PROTO "    resolver: { dns: { port: 4317 } }", NULL,
            "t.yaml:5:22: exporters.loadbalancing.resolver.dns.hostname: is required");
    refused(PROTO "    resolver: { dns: { hostname: 'a/b' } }", NULL,
            "resolver.dns.hostname: 'a/b' is not a host name");
    refused(PROTO "    resolver: { dns: { hostname: a, interval: 0s } }", NULL,
            "resolver.dns.interval: must be more than 0");
    refused(PROTO "    resolver: { k8s: { service: x } }", NULL,
            "t.yaml:5:17: exporters.loadbalancing.resolver: unknown option 'k8s'");
    refused("    protocol: { otlp: { endpoint: 'a:1' } }\n"
            "    resolver: { static: { hostnames: [a:1] } }",
            NULL, "t.yaml:4:25: exporters.loadbalancing.protocol.otlp: unknown option 'endpoint'");
    refused("    protocol: { otlp: { sending_queue: { directory: /tmp/q } } }\n"
            "    resolver: { static: { hostnames: [a:1] } }",
            NULL, "protocol.otlp.sending_queue: unknown option 'directory'");
    refused("    protocol: { otlp: { timeout: 0s } }\n"
            "    resolver: { static: { hostnames: [a:1] } }",
            NULL, "exporters.loadbalancing.protocol.otlp.timeout: must be more than 0");
    refused("    protocol: { otlphttp: {} }\n"
            "    resolver: { static: { hostnames: [a:1] } }",
            NULL, "exporters.loadbalancing.protocol: unknown option 'otlphttp'");
    /* metrics are not routed: a metrics pipeline naming it is refused */
    refused(PROTO "    resolver: { static: { hostnames: [a:1] } }", "metrics",
            "service.pipelines.metrics.exporters: exporter 'loadbalancing' does not handle "
            "metrics");
}

/* ---------------------------------------------------------------------------------- */
/* Routing                                                                            */
/* ---------------------------------------------------------------------------------- */

enum { N_RES = 3, N_SCOPES = 2, N_TRACES = 40, SPANS_PER_SCOPE = 30 };

typedef struct {
    lt_arena *a;
    lt_trace_batch b;
    uint8_t traces[N_TRACES][16];
} traces_in;

static lt_kv service_kv(lt_arena *a, const char *name)
{
    lt_kv kv = {LT_STR("service.name"), {.type = LT_VAL_STRING}};
    kv.value.u.s = arena_strdup(a, lt_str_c(name));
    return kv;
}

/* N_RES resources (services svc-0 ...) of N_SCOPES scopes, each scope with spans of random
 * traces among N_TRACES: a trace has spans under several resources and scopes. */
static void make_traces(traces_in *t)
{
    t->a = arena_new();
    for (int i = 0; i < N_TRACES; i++)
        random_id(t->traces[i], 16);
    lt_resource_spans *rs = arena_calloc(t->a, N_RES, sizeof *rs);
    for (int r = 0; r < N_RES; r++) {
        char name[32];
        snprintf(name, sizeof name, "svc-%d", r);
        rs[r].resource.attrs.items = arena_calloc(t->a, 1, sizeof(lt_kv));
        rs[r].resource.attrs.items[0] = service_kv(t->a, name);
        rs[r].resource.attrs.n = 1;
        rs[r].scopes = arena_calloc(t->a, N_SCOPES, sizeof(lt_scope_spans));
        rs[r].n_scopes = N_SCOPES;
        for (int s = 0; s < N_SCOPES; s++) {
            lt_scope_spans *sc = &rs[r].scopes[s];
            snprintf(name, sizeof name, "scope-%d-%d", r, s);
            sc->scope.name = arena_strdup(t->a, lt_str_c(name));
            sc->spans = arena_calloc(t->a, SPANS_PER_SCOPE, sizeof(lt_span));
            sc->n_spans = SPANS_PER_SCOPE;
            for (int k = 0; k < SPANS_PER_SCOPE; k++) {
                lt_span *sp = &sc->spans[k];
                memcpy(sp->trace_id, t->traces[next64() % N_TRACES], 16);
                random_id(sp->span_id, 8);
                sp->name = sc->scope.name; /* the scope it was under, to check below */
                sp->start_time_unix_nano = 1;
                sp->end_time_unix_nano = 2;
            }
        }
    }
    t->b = (lt_trace_batch){.rs = rs, .n_rs = N_RES, .n_spans = N_RES * N_SCOPES * SPANS_PER_SCOPE};
}

/* Decodes a queued batch (protobuf) of signal into out (an lt_trace_batch or lt_log_batch),
 * in an arena returned for the caller to free. */
static lt_arena *decode_item(const ex_item *it, unsigned signal, void *out)
{
    lt_arena *a = arena_new();
    uint8_t *copy = arena_alloc(a, it->data.len); /* the decoder may write in place */
    memcpy(copy, it->data.data, it->data.len);
    int rc = signal == SIG_TRACES ? otlp_decode_traces(a, OTLP_PROTOBUF, copy, it->data.len, out)
                                  : otlp_decode_logs(a, OTLP_PROTOBUF, copy, it->data.len, out);
    assert_int_equal(rc, 0);
    return a;
}

/* Decodes every traces batch queued in be, calling fn on each span with its resource. */
typedef void (*span_fn)(const lt_resource_spans *rs, const lt_scope_spans *sc, const lt_span *sp,
                        void *arg);
static uint64_t queued_spans(exporter *be, span_fn fn, void *arg)
{
    uint64_t n = 0;
    for (ex_item *it = be->q[ex_sig_index(SIG_TRACES)].head; it; it = it->next) {
        lt_trace_batch b;
        lt_arena *a = decode_item(it, SIG_TRACES, &b);
        assert_int_equal(b.n_spans, it->n_items);
        for (uint32_t r = 0; r < b.n_rs; r++)
            for (uint32_t s = 0; s < b.rs[r].n_scopes; s++)
                for (uint32_t k = 0; k < b.rs[r].scopes[s].n_spans; k++, n++)
                    fn(&b.rs[r], &b.rs[r].scopes[s], &b.rs[r].scopes[s].spans[k], arg);
        arena_free(a);
    }
    return n;
}

typedef struct {
    const lb_ring *ring;
    size_t me;
    traces_in *in;
    uint64_t per_trace[N_TRACES];
    bool by_service;
} check_ctx;

static void check_span(const lt_resource_spans *rs, const lt_scope_spans *sc, const lt_span *sp,
                       void *arg)
{
    check_ctx *c = arg;
    lt_str svc = model_service_name(&rs->resource);
    /* under its own resource and scope: the span's name is its scope's, svc-R in scope-R-S */
    assert_true(lt_str_eq(sp->name, sc->scope.name));
    assert_int_equal(sc->scope.name.ptr[6], svc.ptr[4]);
    uint64_t key = c->by_service ? lb_key_service(svc) : lb_key_trace(sp->trace_id);
    assert_int_equal(lb_ring_owner(c->ring, key), c->me);
    for (int i = 0; i < N_TRACES; i++)
        if (!memcmp(c->in->traces[i], sp->trace_id, 16)) c->per_trace[i]++;
}

static const char *const BACKENDS[] = {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"};

#define DNS_SETTINGS(routing)                                                                      \
    routing PROTO "    resolver: { dns: { hostname: backends.invalid, port: 4317 } }"

/* An exporter whose resolver (never started) gave BACKENDS[0..n). */
static exporter *resolved(const char *settings, size_t n)
{
    exporter *ex = build(settings);
    assert_int_equal(lb_apply(ex, BACKENDS, n, 0), 0);
    return ex;
}

/* Sends a batch of traces through ex (backends BACKENDS[0..n)) and checks each backend's
 * queue against the ring. */
static void route_and_check(exporter *ex, size_t n, bool by_service)
{
    traces_in in;
    make_traces(&in);
    lb_ring *ring = ring_of(BACKENDS, n);
    assert_int_equal(export_traces(ex, &in.b), 0);
    uint64_t total = 0, seen[N_TRACES] = {0};
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        check_ctx c = {.ring = ring, .me = i, .in = &in, .by_service = by_service};
        exporter *be = lb_backend(ex, lb_ring_endpoint(ring, i));
        assert_non_null(be);
        uint64_t got = queued_spans(be, check_span, &c);
        total += got;
        used += got > 0;
        for (int t = 0; t < N_TRACES; t++) {
            if (!by_service && c.per_trace[t]) assert_int_equal(seen[t], 0); /* whole, one queue */
            seen[t] += c.per_trace[t];
        }
    }
    assert_int_equal(total, in.b.n_spans);
    assert_true(used > 1); /* the batch was split */
    lb_ring_free(ring);
    arena_free(in.a);
}

static void traces_go_whole_to_their_owner(void **state)
{
    (void)state;
    exporter *ex = build(DNS_SETTINGS(""));
    /* before the first resolution nothing is taken, and it is counted */
    traces_in in;
    make_traces(&in);
    assert_false(export_has_room(ex, 0));
    assert_int_equal(export_traces(ex, &in.b), LT_EBUSY);
    export_stats st;
    export_get_stats(ex, &st);
    assert_int_equal(st.refused_items, in.b.n_spans);
    arena_free(in.a);

    assert_int_equal(lb_apply(ex, BACKENDS, 3, 0), 0);
    assert_true(export_has_room(ex, 0));
    route_and_check(ex, 3, false);
    export_stop(ex, 0);
}

static void routing_key_service_keeps_resources_whole(void **state)
{
    (void)state;
    exporter *ex = resolved(DNS_SETTINGS("    routing_key: service\n"), 3);
    route_and_check(ex, 3, true);
    export_stop(ex, 0);
}

static void logs_by_trace_id_or_by_service(void **state)
{
    (void)state;
    exporter *ex = resolved(DNS_SETTINGS(""), 3);
    lb_ring *ring = ring_of(BACKENDS, 3);
    lt_arena *a = arena_new();
    enum { N = 200 };
    lt_resource_logs rl = {0};
    rl.resource.attrs.items = arena_calloc(a, 1, sizeof(lt_kv));
    rl.resource.attrs.items[0] = service_kv(a, "log-svc");
    rl.resource.attrs.n = 1;
    lt_scope_logs sl = {.records = arena_calloc(a, N, sizeof(lt_log_record)), .n_records = N};
    rl.scopes = &sl;
    rl.n_scopes = 1;
    size_t want[3] = {0};
    size_t svc_owner = lb_ring_owner(ring, lb_key_service(LT_STR("log-svc")));
    for (int i = 0; i < N; i++) {
        lt_log_record *r = &sl.records[i];
        r->severity_number = 9;
        if (i % 4) { /* a quarter without a trace */
            random_id(r->trace_id, 16);
            want[lb_ring_owner(ring, lb_key_trace(r->trace_id))]++;
        } else {
            want[svc_owner]++;
        }
    }
    lt_log_batch b = {.rl = &rl, .n_rl = 1, .n_records = N};
    assert_int_equal(export_logs(ex, &b), 0);
    for (size_t i = 0; i < 3; i++) {
        exporter *be = lb_backend(ex, lb_ring_endpoint(ring, i));
        uint64_t got = 0;
        for (ex_item *it = be->q[ex_sig_index(SIG_LOGS)].head; it; it = it->next) {
            lt_log_batch d;
            lt_arena *da = decode_item(it, SIG_LOGS, &d);
            for (uint32_t k = 0; k < d.rl[0].scopes[0].n_records; k++) {
                const lt_log_record *r = &d.rl[0].scopes[0].records[k];
                size_t o = model_id_is_zero(r->trace_id, 16)
                               ? svc_owner
                               : lb_ring_owner(ring, lb_key_trace(r->trace_id));
                assert_int_equal(o, i);
                got++;
            }
            arena_free(da);
        }
        assert_int_equal(got, want[i]);
    }
    /* metrics are not routed */
    lt_metric_batch m = {0};
    assert_int_equal(export_metrics(ex, &m), LT_EUNSUPPORTED);
    arena_free(a);
    lb_ring_free(ring);
    export_stop(ex, 0);
}

static void a_change_of_backends_keeps_the_unchanged(void **state)
{
    (void)state;
    exporter *ex = resolved(DNS_SETTINGS(""), 2);
    exporter *b0 = lb_backend(ex, BACKENDS[0]), *b1 = lb_backend(ex, BACKENDS[1]);
    assert_non_null(b0);
    assert_non_null(b1);
    assert_null(lb_backend(ex, BACKENDS[2]));
    traces_in in;
    make_traces(&in);
    assert_int_equal(export_traces(ex, &in.b), 0);
    export_stats before, s0;
    export_get_stats(ex, &before);
    export_get_stats(b0, &s0);
    assert_int_equal(before.queued_requests, 2);
    /* the same set in another order changes nothing */
    const char *const same[] = {BACKENDS[1], BACKENDS[0]};
    assert_int_equal(lb_apply(ex, same, 2, 0), 0);
    assert_ptr_equal(lb_backend(ex, BACKENDS[0]), b0);
    /* 0 goes, 2 comes, 1 stays: what 0 held is counted as given up (it had no time to send) */
    const char *const next[] = {BACKENDS[2], BACKENDS[1]};
    uint64_t held = 0;
    for (ex_item *it = b0->q[ex_sig_index(SIG_TRACES)].head; it; it = it->next)
        held += it->n_items;
    assert_true(held > 0);
    assert_int_equal(lb_apply(ex, next, 2, 0), 0);
    assert_null(lb_backend(ex, BACKENDS[0]));
    assert_ptr_equal(lb_backend(ex, BACKENDS[1]), b1);
    assert_non_null(lb_backend(ex, BACKENDS[2]));
    export_stats after;
    export_get_stats(ex, &after);
    assert_int_equal(after.failed_items, held);
    assert_int_equal(after.queued_requests, 1); /* 1's batch; 0's is gone */
    arena_free(in.a);
    export_stop(ex, 0);
}

static void static_backends_are_created_with_the_exporter(void **state)
{
    (void)state;
    exporter *ex = build(PROTO "    resolver: { static: { hostnames: ['127.0.0.1:2', "
                               "'[::1]:9', localhost] } }");
    assert_non_null(lb_backend(ex, "127.0.0.1:2"));
    assert_non_null(lb_backend(ex, "[::1]:9"));
    exporter *be = lb_backend(ex, "localhost:4317"); /* the default port */
    assert_non_null(be);
    /* a copy of protocol.otlp's settings pointed at its endpoint (tls.insecure: plaintext) */
    assert_string_equal(be->client.url_traces,
                        "http://localhost:4317/opentelemetry.proto.collector.trace.v1.TraceService/"
                        "Export");
    assert_true(be->client.h2_prior);
    assert_true(export_has_room(ex, 0));
    export_stop(ex, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_same_key_same_endpoint_in_any_order),
        cmocka_unit_test(ring_split_within_binomial_bounds),
        cmocka_unit_test(ring_removal_moves_only_the_ids_owned),
        cmocka_unit_test(ring_of_nothing_is_refused),
        cmocka_unit_test(config_errors_are_positioned),
        cmocka_unit_test(traces_go_whole_to_their_owner),
        cmocka_unit_test(routing_key_service_keeps_resources_whole),
        cmocka_unit_test(logs_by_trace_id_or_by_service),
        cmocka_unit_test(a_change_of_backends_keeps_the_unchanged),
        cmocka_unit_test(static_backends_are_created_with_the_exporter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
