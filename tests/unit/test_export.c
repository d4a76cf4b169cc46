/* test_export.c — the exporters (export/export.h) against real targets.
 *
 * Exporters are built from collector-shaped YAML through the real loader and pipeline
 * checks. The file exporter's lines are decoded back and compared with the fixture batches
 * (canonical protobuf, byte for byte); rotation is checked on names, sizes, max_backups and
 * max_days; the debug exporter's log lines are read back from stderr. otlp and otlphttp send
 * the fixtures to a real `llmtrace serve` started here, and what it stored is read back
 * through its JSON API: every span whole (span, resource and scope encode to the bytes
 * sent), every log record attached with its body. Then the failure paths against the same
 * binary: a target that is down at first and started later gets everything after retries; a
 * wrong ingest token is a permanent failure, counted once and never retried; a full queue
 * refuses; a disk queue outlives its exporter and is delivered by the next one.
 * prometheusremotewrite sends spanmetrics snapshots to a real Prometheus (its remote write
 * receiver), whose query API must return the snapshot's values, with the namespace and
 * external labels applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture_load.h"

#include "core/err.h"
#include "core/jsonw.h"
#include "core/str.h"
#include "core/util.h"
#include "export/export.h"
#include "export/export_int.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/promtext.h"
#include "pipeline/spanmetrics.h"

#ifndef LLMTRACE_BIN
#error "LLMTRACE_BIN (the llmtrace binary) must be defined by the build"
#endif

#define WAIT_UNTIL(cond, secs)                                                                     \
    do {                                                                                           \
        uint64_t dl_ = time_mono_ns() + (uint64_t)(secs)*1000000000ull;                            \
        while (!(cond) && time_mono_ns() < dl_)                                                    \
            usleep(20000);                                                                         \
    } while (0)

/* ---------------------------------------------------------------------------------- */
/* Helpers: temporary directories, configuration, fixtures                             */
/* ---------------------------------------------------------------------------------- */

static char *tmpdir_new(void)
{
    char t[] = "/tmp/lt-export-XXXXXX";
    char *d = mkdtemp(t);
    assert_non_null(d);
    return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static export_stats stats(const exporter *ex)
{
    export_stats s;
    export_get_stats(ex, &s);
    return s;
}

/* Builds exporter id from "exporters: { id: settings }" in a pipeline of signal ("traces",
 * "logs" or "metrics"; with sm a spanmetrics connector feeds it, returned in *sm, else the
 * otlp receiver). Returns export_create's code (or pipecfg_build's) with the message in
 * err. */
static int build(const char *id, const char *settings, const char *signal, exporter **ex,
                 spanmetrics **sm, char *err, size_t errlen)
{
    char yaml[8192];
    if (sm)
        snprintf(yaml, sizeof yaml,
                 "receivers: { otlp: { protocols: { grpc: } } }\n"
                 "exporters: { %s: %s }\n"
                 "connectors: { spanmetrics: { metrics_flush_interval: 200ms } }\n"
                 "service: { pipelines: { traces: { receivers: [otlp], exporters: [spanmetrics] "
                 "}, metrics: { receivers: [spanmetrics], exporters: [%s] } } }\n",
                 id, settings, id);
    else
        snprintf(yaml, sizeof yaml,
                 "receivers: { otlp: { protocols: { grpc: } } }\n"
                 "exporters: { %s: %s }\n"
                 "service: { pipelines: { %s: { receivers: [otlp], exporters: [%s] } } }\n",
                 id, settings, signal, id);
    cfg_doc *d = NULL;
    pipecfg *p = NULL;
    *ex = NULL;
    int rc = cfg_load_string(yaml, strlen(yaml), "t.yaml", &d, err, errlen);
    if (!rc) rc = pipecfg_build(d, &p, err, errlen);
    if (!rc) {
        const pipecfg_component *c = pipecfg_find(p, COMP_EXPORTER, id);
        assert_non_null(c);
        rc = export_create(d, c, ex, err, errlen);
    }
    if (!rc && sm) {
        const pipecfg_component *c = pipecfg_find(p, COMP_CONNECTOR, "spanmetrics");
        assert_non_null(c);
        rc = spanmetrics_create(c->settings, "t.yaml", "connectors.spanmetrics", sm, err, errlen);
    }
    pipecfg_free(p);
    cfg_free(d);
    return rc;
}

static exporter *start(const char *id, const char *settings, const char *signal)
{
    char err[1024];
    exporter *ex = NULL;
    int rc = build(id, settings, signal, &ex, NULL, err, sizeof err);
    if (rc) fail_msg("%s: %s", id, err);
    rc = export_start(ex, err, sizeof err);
    if (rc) fail_msg("%s: start: %s", id, err);
    return ex;
}

static fx_scenario *load(const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, rel);
    fx_scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    if (fx_load(dir, sc)) fail_msg("cannot load the fixtures of %s", dir);
    return sc;
}

static void unload(fx_scenario *sc)
{
    fx_free(sc);
    free(sc);
}

/* Offers every batch of the scenarios; returns the batches queued, adds items to *items. */
static int send_all(exporter *ex, fx_scenario **scs, int n, uint64_t *items)
{
    int batches = 0;
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < scs[s]->n_tb; i++) {
            assert_int_equal(export_traces(ex, &scs[s]->tb[i]), 0);
            *items += scs[s]->tb[i].n_spans;
            batches++;
        }
        for (int i = 0; i < scs[s]->n_lb; i++) {
            assert_int_equal(export_logs(ex, &scs[s]->lb[i]), 0);
            *items += scs[s]->lb[i].n_records;
            batches++;
        }
    }
    return batches;
}

static bool same_bytes(int (*enc)(lt_buf *, const void *), const void *a, const void *b)
{
    lt_buf x = {0}, y = {0};
    assert_int_equal(enc(&x, a), 0);
    assert_int_equal(enc(&y, b), 0);
    bool eq = x.len == y.len && (x.len == 0 || !memcmp(x.data, y.data, x.len));
    buf_free(&x);
    buf_free(&y);
    return eq;
}

static int enc_span(lt_buf *o, const void *s)
{
    return pb_encode_span(o, s);
}
static int enc_resource(lt_buf *o, const void *r)
{
    return pb_encode_resource(o, r);
}
static int enc_scope(lt_buf *o, const void *s)
{
    return pb_encode_scope(o, s);
}
static int enc_traces(lt_buf *o, const void *b)
{
    return pb_encode_traces(o, b);
}
static int enc_logs(lt_buf *o, const void *b)
{
    return pb_encode_logs(o, b);
}

/* ---------------------------------------------------------------------------------- */
/* A real llmtrace as the target                                                      */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int out; /* its stdout, kept open so it never writes into a closed pipe */
    char api[64], otlp_http[64], otlp_grpc[64];
} server;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void field(const char *line, const char *key, char *out, size_t n)
{
    const char *p = strstr(line, key);
    assert_non_null(p);
    p += strlen(key);
    size_t k = strcspn(p, " \n");
    assert_true(k < n);
    memcpy(out, p, k);
    out[k] = 0;
}

/* Starts `llmtrace serve` on data; grpc and http are the receivers' addresses (port 0: any
 * free one); token, when not NULL, is the ingest token it requires. */
static void server_start(server *s, const char *data, const char *grpc, const char *http,
                         const char *token)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char log[4200];
    snprintf(log, sizeof log, "%s.log", data);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        int e = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (e >= 0) dup2(e, 2);
        close(fds[0]);
        const char *argv[16] = {LLMTRACE_BIN, "serve",       "--data", data,     "--otlp-grpc",
                                grpc,         "--otlp-http", http,     "--http", "127.0.0.1:0"};
        int n = 10;
        if (token) {
            argv[n++] = "--ingest-token";
            argv[n++] = token;
        }
        argv[n] = NULL;
        execv(LLMTRACE_BIN, (char **)argv);
        _exit(127);
    }
    close(fds[1]);
    char line[1024];
    size_t len = 0;
    uint64_t deadline = time_mono_ns() + 60000000000ull;
    while (!memchr(line, '\n', len) && len < sizeof line - 1) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int left = (int)((deadline - time_mono_ns()) / 1000000u);
        if (time_mono_ns() >= deadline || poll(&p, 1, left) <= 0) break;
        ssize_t k = read(fds[0], line + len, sizeof line - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
    }
    line[len] = 0;
    if (!strstr(line, "llmtrace listening")) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("llmtrace serve did not start (see %s): '%s'", log, line);
    }
    s->pid = pid;
    s->out = fds[0];
    field(line, " http=", s->api, sizeof s->api);
    field(line, "otlp_http=", s->otlp_http, sizeof s->otlp_http);
    field(line, "otlp_grpc=", s->otlp_grpc, sizeof s->otlp_grpc);
}

static void server_stop(server *s)
{
    if (!s->pid) return;
    kill(s->pid, SIGTERM);
    int st;
    uint64_t deadline = time_mono_ns() + 30000000000ull;
    while (waitpid(s->pid, &st, WNOHANG) == 0) {
        if (time_mono_ns() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        usleep(20000);
    }
    close(s->out);
    s->pid = 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

static long http_get(const char *url, lt_buf *out)
{
    out->len = 0;
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

/* Finds the sent span with these ids in any batch of the scenarios. */
static bool find_sent(fx_scenario **scs, int n, const lt_span *want, const lt_span **span,
                      const lt_resource **res, const lt_scope **scope)
{
    for (int s = 0; s < n; s++)
        for (int b = 0; b < scs[s]->n_tb; b++) {
            const lt_trace_batch *tb = &scs[s]->tb[b];
            for (uint32_t i = 0; i < tb->n_rs; i++)
                for (uint32_t j = 0; j < tb->rs[i].n_scopes; j++)
                    for (uint32_t k = 0; k < tb->rs[i].scopes[j].n_spans; k++) {
                        const lt_span *x = &tb->rs[i].scopes[j].spans[k];
                        if (memcmp(x->trace_id, want->trace_id, 16) ||
                            memcmp(x->span_id, want->span_id, 8))
                            continue;
                        *span = x;
                        *res = &tb->rs[i].resource;
                        *scope = &tb->rs[i].scopes[j].scope;
                        return true;
                    }
        }
    return false;
}

static uint64_t sent_in_trace(fx_scenario **scs, int n, const uint8_t *tid)
{
    uint64_t c = 0;
    for (int s = 0; s < n; s++)
        for (int b = 0; b < scs[s]->n_tb; b++) {
            const lt_trace_batch *tb = &scs[s]->tb[b];
            for (uint32_t i = 0; i < tb->n_rs; i++)
                for (uint32_t j = 0; j < tb->rs[i].n_scopes; j++)
                    for (uint32_t k = 0; k < tb->rs[i].scopes[j].n_spans; k++)
                        c += !memcmp(tb->rs[i].scopes[j].spans[k].trace_id, tid, 16);
        }
    return c;
}

/* Every trace of the scenarios, read back from the target as OTLP JSON: the same spans,
 * each with its resource and scope, byte for byte in canonical protobuf. Returns the spans
 * checked. */
static uint64_t check_traces_stored(const server *srv, fx_scenario **scs, int n)
{
    uint64_t checked = 0;
    lt_buf body = {0};
    uint8_t(*seen)[16] = calloc(4096, 16);
    size_t n_seen = 0;
    for (int s = 0; s < n; s++)
        for (int b = 0; b < scs[s]->n_tb; b++) {
            const lt_trace_batch *tb = &scs[s]->tb[b];
            for (uint32_t i = 0; i < tb->n_rs; i++)
                for (uint32_t j = 0; j < tb->rs[i].n_scopes; j++) {
                    if (!tb->rs[i].scopes[j].n_spans) continue;
                    const lt_span *first = &tb->rs[i].scopes[j].spans[0];
                    size_t q = 0;
                    while (q < n_seen && memcmp(seen[q], first->trace_id, 16))
                        q++;
                    if (q < n_seen) continue; /* that trace is checked whole already */
                    assert_true(n_seen < 4096);
                    memcpy(seen[n_seen++], first->trace_id, 16);
                    char hex[33], url[256];
                    hex_encode(first->trace_id, 16, hex);
                    snprintf(url, sizeof url, "http://%s/api/traces/%s?format=otlp", srv->api, hex);
                    assert_int_equal(http_get(url, &body), 200);
                    lt_arena *a = arena_new();
                    lt_trace_batch got;
                    assert_int_equal(json_decode_traces(a, body.data, body.len, &got), 0);
                    assert_int_equal(got.n_spans, sent_in_trace(scs, n, first->trace_id));
                    for (uint32_t x = 0; x < got.n_rs; x++)
                        for (uint32_t y = 0; y < got.rs[x].n_scopes; y++)
                            for (uint32_t z = 0; z < got.rs[x].scopes[y].n_spans; z++) {
                                const lt_span *sp = NULL;
                                const lt_resource *res = NULL;
                                const lt_scope *sc = NULL;
                                const lt_span *g = &got.rs[x].scopes[y].spans[z];
                                assert_true(find_sent(scs, n, g, &sp, &res, &sc));
                                assert_true(same_bytes(enc_span, sp, g));
                                assert_true(same_bytes(enc_resource, res, &got.rs[x].resource));
                                assert_true(same_bytes(enc_scope, sc, &got.rs[x].scopes[y].scope));
                                checked++;
                            }
                    arena_free(a);
                }
        }
    buf_free(&body);
    free(seen);
    return checked;
}

/* Every log record with a trace id is found in its trace's JSON (attached to its span or
 * listed with the trace) with the same time and body. Returns the records checked. */
static uint64_t check_logs_stored(const server *srv, fx_scenario **scs, int n)
{
    uint64_t checked = 0;
    lt_buf body = {0}, want = {0};
    for (int s = 0; s < n; s++)
        for (int b = 0; b < scs[s]->n_lb; b++) {
            const lt_log_batch *lb = &scs[s]->lb[b];
            for (uint32_t i = 0; i < lb->n_rl; i++)
                for (uint32_t j = 0; j < lb->rl[i].n_scopes; j++)
                    for (uint32_t k = 0; k < lb->rl[i].scopes[j].n_records; k++) {
                        const lt_log_record *r = &lb->rl[i].scopes[j].records[k];
                        if (model_id_is_zero(r->trace_id, 16)) continue;
                        char hex[33], url[256], t[32];
                        hex_encode(r->trace_id, 16, hex);
                        snprintf(url, sizeof url, "http://%s/api/traces/%s", srv->api, hex);
                        assert_int_equal(http_get(url, &body), 200);
                        json_t *doc = json_loads(body.data, 0, NULL);
                        assert_non_null(doc);
                        want.len = 0;
                        model_value_json(&want, &r->body);
                        json_t *wb = json_loads(want.data, JSON_DECODE_ANY, NULL);
                        assert_non_null(wb);
                        snprintf(t, sizeof t, "%" PRIu64, r->time_unix_nano);
                        bool found = false;
                        json_t *lists[64];
                        size_t nl = 0, si;
                        json_t *sp;
                        lists[nl++] = json_object_get(doc, "logs");
                        json_array_foreach(json_object_get(doc, "spans"), si, sp)
                        {
                            if (nl < 64) lists[nl++] = json_object_get(sp, "logs");
                        }
                        for (size_t l = 0; l < nl && !found; l++) {
                            size_t li;
                            json_t *lg;
                            json_array_foreach(lists[l], li, lg)
                            {
                                const char *lt =
                                    json_string_value(json_object_get(lg, "time_unix_nano"));
                                if (lt && !strcmp(lt, t) &&
                                    json_equal(json_object_get(lg, "body"), wb))
                                    found = true;
                            }
                        }
                        if (!found) fail_msg("log record at %s of trace %s not stored", t, hex);
                        json_decref(wb);
                        json_decref(doc);
                        checked++;
                    }
        }
    buf_free(&body);
    buf_free(&want);
    return checked;
}

static uint64_t count_items(fx_scenario **scs, int n, bool traces, int *batches)
{
    uint64_t items = 0;
    *batches = 0;
    for (int s = 0; s < n; s++) {
        for (int i = 0; traces && i < scs[s]->n_tb; i++, ++*batches)
            items += scs[s]->tb[i].n_spans;
        for (int i = 0; !traces && i < scs[s]->n_lb; i++, ++*batches)
            items += scs[s]->lb[i].n_records;
    }
    return items;
}

/* A real llmtrace as the target, in a temporary directory, and the scenarios sent to it. */
typedef struct {
    char *dir;
    server srv;
    fx_scenario *scs[4];
    int n;
} target;

/* scenarios: NULL-terminated, at most 4. */
static void target_up(target *t, const char *const *scenarios)
{
    char data[4200];
    t->dir = tmpdir_new();
    snprintf(data, sizeof data, "%s/data", t->dir);
    t->srv = (server){0};
    server_start(&t->srv, data, "127.0.0.1:0", "127.0.0.1:0", NULL);
    for (t->n = 0; scenarios[t->n]; t->n++) {
        assert_true(t->n < 4);
        t->scs[t->n] = load(scenarios[t->n]);
    }
}

static void target_down(target *t)
{
    server_stop(&t->srv);
    for (int i = 0; i < t->n; i++)
        unload(t->scs[i]);
    rm_rf(t->dir);
}

static const char *const FOUR[] = {"otel/multi-agent-proto", "otel/errors-json", "traceloop/rag",
                                   "langfuse/multi-agent", NULL};

/* ---------------------------------------------------------------------------------- */
/* Configuration                                                                      */
/* ---------------------------------------------------------------------------------- */

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *id, *settings, *signal, *want;
    } cases[] = {
        {"otlp", "{ }", "traces", "t.yaml:2:20: exporters.otlp.endpoint: is required"},
        {"otlp", "{ endpoint: 127.0.0.1 }", "traces",
         "t.yaml:2:32: exporters.otlp.endpoint: '127.0.0.1' is not HOST:PORT"},
        {"otlp", "{ endpoint: 'host:99999' }", "traces", "is not HOST:PORT"},
        {"otlp", "{ endpoint: 'http://host:4317/v1' }", "traces", "no path"},
        {"otlp", "{ endpoint: 'ftp://host:1' }", "traces", "the scheme must be http or https"},
        {"otlp", "{ endpoint: 'h:1', compression: zstd }", "traces",
         "exporters.otlp.compression: 'zstd' is not supported (gzip or none)"},
        {"otlp", "{ endpoint: 'https://h:1', tls: { insecure: true } }", "traces",
         "exporters.otlp.tls.insecure: the endpoint is https://"},
        {"otlp", "{ endpoint: 'h:1', tls: { insecure: true, ca_file: /etc/hostname } }", "traces",
         "exporters.otlp.tls: TLS settings for a plaintext endpoint"},
        {"otlp", "{ endpoint: 'h:1', tls: { ca_file: /nonexistent/ca.pem } }", "traces",
         "exporters.otlp.tls.ca_file: cannot read '/nonexistent/ca.pem'"},
        {"otlp", "{ endpoint: 'h:1', tls: { cert_file: /etc/hostname } }", "traces",
         "exporters.otlp.tls.cert_file: needs key_file as well"},
        {"otlp", "{ endpoint: 'h:1', headers: { content-type: x } }", "traces",
         "exporters.otlp.headers: 'content-type' is set by the exporter itself"},
        {"otlp", "{ endpoint: 'h:1', headers: { grpc-timeout: 1S } }", "traces",
         "grpc-* headers are set by the exporter itself"},
        {"otlp", "{ endpoint: 'h:1', headers: { 'a b': x } }", "traces", "is not a header name"},
        {"otlp", "{ endpoint: 'h:1', timeout: 0s }", "traces",
         "exporters.otlp.timeout: must be more than 0"},
        {"otlp", "{ endpoint: 'h:1', sending_queue: { num_consumers: 0 } }", "traces",
         "exporters.otlp.sending_queue.num_consumers: 0 is out of range (1 to 64)"},
        {"otlp", "{ endpoint: 'h:1', sending_queue: { queue_size: -1 } }", "traces",
         "sending_queue.queue_size: -1 is out of range"},
        {"otlp", "{ endpoint: 'h:1', sending_queue: { enabled: false, directory: /tmp/q } }",
         "traces", "sending_queue.directory: needs the queue (sending_queue.enabled is false)"},
        {"otlp",
         "{ endpoint: 'h:1', retry_on_failure: { initial_interval: 10s, max_interval: 1s } }",
         "traces", "exporters.otlp.retry_on_failure.max_interval: shorter than initial_interval"},
        {"otlp", "{ endpoint: 'h:1', retry_on_failure: { initial_interval: 0s } }", "traces",
         "retry_on_failure.initial_interval: must be more than 0"},
        {"otlp", "{ endpoint: 'h:1', sending_queue: { sizer: bytes } }", "traces",
         "unknown option 'sizer'"},
        {"otlphttp", "{ traces_endpoint: 'http://h/t', logs_endpoint: 'http://h/l' }", "metrics",
         "exporters.otlphttp.endpoint: is required (or metrics_endpoint, for the metrics "
         "pipelines)"},
        {"otlphttp", "{ endpoint: 'http://h:1', metrics_endpoint: 'ftp://h:1/m' }", "metrics",
         "exporters.otlphttp.metrics_endpoint: 'ftp://h:1/m': the scheme must be http or https"},
        {"otlphttp", "{ endpoint: 'h:1' }", "traces",
         "t.yaml:2:36: exporters.otlphttp.endpoint: 'h:1' is not a URL (http://HOST:PORT/... or "
         "https://...)"},
        {"otlphttp", "{ endpoint: 'ftp://h:1' }", "traces",
         "exporters.otlphttp.endpoint: 'ftp://h:1': the scheme must be http or https"},
        {"otlphttp", "{ traces_endpoint: 'http://h:1/t' }", "logs",
         "exporters.otlphttp.endpoint: is required (or logs_endpoint, for the logs pipelines)"},
        {"otlphttp", "{ }", "traces", "exporters.otlphttp.endpoint: is required"},
        {"otlphttp", "{ endpoint: 'http://h:1', tls: { insecure_skip_verify: true } }", "traces",
         "TLS settings for a plaintext endpoint"},
        {"file", "{ }", "logs", "exporters.file.path: is required"},
        {"file", "{ path: /nonexistent/dir/out.json }", "logs",
         "exporters.file.path: the directory /nonexistent/dir does not exist"},
        {"file", "{ path: /tmp/x.json, rotation: { max_megabytes: 0 } }", "logs",
         "exporters.file.rotation.max_megabytes: 0 is out of range"},
        {"file", "{ path: /tmp/x.json, flush_interval: 0s }", "logs",
         "exporters.file.flush_interval: must be more than 0"},
        {"file", "{ path: /tmp/x.json, format: proto }", "logs", "unknown option 'format'"},
        {"debug", "{ verbosity: loud }", "traces",
         "exporters.debug.verbosity: 'loud' is not basic, normal or detailed"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', compression: gzip }", "metrics",
         "unknown option 'compression'"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', namespace: 1x }", "metrics",
         "exporters.prometheusremotewrite.namespace: '1x' cannot start a Prometheus metric name"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', external_labels: { __x: y } }",
         "metrics", "exporters.prometheusremotewrite.external_labels: '__x' is not a label name"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', external_labels: { env: '' } }",
         "metrics", "external_labels.env: a label value is a non-empty string"},
        {"prometheusremotewrite", "{ }", "metrics", "endpoint: is required"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', target_info: { enabled: 3 } }",
         "metrics", "exporters.prometheusremotewrite.target_info.enabled"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:1/w', target_info: { on: true } }",
         "metrics", "unknown option 'on'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[1024] = "";
        exporter *ex = NULL;
        spanmetrics *sm = NULL;
        bool prw = !strcmp(cases[i].id, "prometheusremotewrite");
        int rc = build(cases[i].id, cases[i].settings, cases[i].signal, &ex, prw ? &sm : NULL, err,
                       sizeof err);
        if (rc != LT_EINVAL || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s %s): rc %d, '%s', want '%s'", i, cases[i].id, cases[i].settings,
                     rc, err, cases[i].want);
        if (strncmp(err, "t.yaml:2:", 9) && strncmp(err, "t.yaml:3:", 9) &&
            strncmp(err, "t.yaml:4:", 9))
            fail_msg("case %zu: not positioned: '%s'", i, err);
        assert_null(ex);
        spanmetrics_free(sm);
    }

    /* the defaults and the forms accepted */
    static const struct {
        const char *id, *settings, *signal;
    } good[] = {
        {"otlp/a", "{ endpoint: '127.0.0.1:4317', tls: { insecure: true } }", "traces"},
        {"otlp/b", "{ endpoint: 'http://[::1]:4317', compression: none }", "logs"},
        {"otlp/c",
         "{ endpoint: 'collector.example:4317', headers: { x-tenant: a }, timeout: 2s, "
         "retry_on_failure: { enabled: false }, sending_queue: { num_consumers: 2, queue_size: "
         "10 } }",
         "traces"},
        {"otlphttp", "{ endpoint: 'https://h.example:4318/', tls: { insecure_skip_verify: true } }",
         "traces"},
        {"otlphttp/x", "{ traces_endpoint: 'http://h/t', logs_endpoint: 'http://h/l' }", "logs"},
        {"debug", "", "traces"},
        {"file", "{ path: /tmp/out.json, rotation: }", "logs"},
        {"prometheusremotewrite", "{ endpoint: 'http://h:9090/api/v1/write', namespace: lt }",
         "metrics"},
        {"prometheusremotewrite", "{ endpoint: 'http://h/w', target_info: { enabled: false } }",
         "metrics"},
        {"otlp/m", "{ endpoint: '127.0.0.1:4317', tls: { insecure: true } }", "metrics"},
        {"otlphttp/m", "{ metrics_endpoint: 'http://h/m' }", "metrics"},
        {"debug/m", "{ verbosity: detailed }", "metrics"},
        {"file/m", "{ path: /tmp/metrics.json }", "metrics"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char err[1024] = "";
        exporter *ex = NULL;
        spanmetrics *sm = NULL;
        bool prw = !strncmp(good[i].id, "prometheusremotewrite", 21);
        int rc = build(good[i].id, good[i].settings, good[i].signal, &ex, prw ? &sm : NULL, err,
                       sizeof err);
        if (rc) fail_msg("%s %s: %s", good[i].id, good[i].settings, err);
        assert_string_equal(export_id(ex), good[i].id);
        if (prw) {
            assert_int_equal(export_add_metrics(ex, sm), 0);
            lt_trace_batch empty = {0};
            assert_int_equal(export_traces(ex, &empty), LT_EUNSUPPORTED);
        } else {
            assert_int_equal(export_add_metrics(ex, NULL), LT_EINVAL);
        }
        /* batching: the collector's rule on the bounds; a no-op for debug and remote write */
        assert_int_equal(export_set_batching(ex, 0, 100, 99), LT_EINVAL);
        assert_int_equal(export_set_batching(ex, 200000000, 8192, 0), 0);
        export_stop(ex, 0); /* never started: freed */
        spanmetrics_free(sm);
    }
}

/* ---------------------------------------------------------------------------------- */
/* file                                                                               */
/* ---------------------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *n)
{
    return fx_read(path, n);
}

typedef struct {
    fx_scenario *scs[128];
    int n;
} scenario_list;

static void collect(const char *dir, void *arg)
{
    scenario_list *l = arg;
    fx_scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    if (fx_load(dir, sc)) fail_msg("cannot load the fixtures of %s", dir);
    assert_true(l->n < 128);
    l->scs[l->n++] = sc;
}

/* Every fixture batch, one line each, reads back as the same batch. */
static void test_file_lines(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    scenario_list all = {0};
    assert_true(fx_each(collect, &all) > 10);
    fx_scenario **scs = all.scs;
    const int n_sc = all.n;
    char path[4200], settings[4400];
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(settings, sizeof settings, "{ path: '%s', flush_interval: 50ms }", path);
    /* a file that exists is truncated without rotation, as the collector does */
    FILE *f = fopen(path, "w");
    fputs("old line\n", f);
    fclose(f);
    exporter *ex = start("file", settings, "traces");
    uint64_t items = 0;
    int batches = send_all(ex, scs, n_sc, &items);
    /* every line reaches the file on the flush interval, before any stop */
    off_t want = 0;
    for (int s = 0; s < n_sc; s++) {
        lt_buf b = {0};
        for (int i = 0; i < scs[s]->n_tb; i++)
            assert_int_equal(json_encode_traces(&b, &scs[s]->tb[i]), 0), want += 1;
        for (int i = 0; i < scs[s]->n_lb; i++)
            assert_int_equal(json_encode_logs(&b, &scs[s]->lb[i]), 0), want += 1;
        want += (off_t)b.len;
        buf_free(&b);
    }
    struct stat st = {0};
    WAIT_UNTIL(!stat(path, &st) && st.st_size == want, 20);
    assert_int_equal(st.st_size, want);
    export_stats es = stats(ex);
    assert_int_equal(es.sent_requests, batches);
    assert_int_equal(es.sent_items, items);
    assert_int_equal(es.failed_items, 0);
    export_stop(ex, 5000);

    size_t n = 0;

    char *text = read_file(path, &n);
    assert_non_null(text);
    char *line = text;
    int k = 0;
    for (int s = 0; s < n_sc; s++) {
        for (int i = 0; i < scs[s]->n_tb; i++, k++) {
            char *nl = strchr(line, '\n');
            assert_non_null(nl);
            lt_arena *a = arena_new();
            lt_trace_batch got;
            assert_int_equal(
                otlp_decode_traces(a, OTLP_JSON, (uint8_t *)line, (size_t)(nl - line), &got), 0);
            assert_true(same_bytes(enc_traces, &scs[s]->tb[i], &got));
            arena_free(a);
            line = nl + 1;
        }
        for (int i = 0; i < scs[s]->n_lb; i++, k++) {
            char *nl = strchr(line, '\n');
            assert_non_null(nl);
            lt_arena *a = arena_new();
            lt_log_batch got;
            assert_int_equal(
                otlp_decode_logs(a, OTLP_JSON, (uint8_t *)line, (size_t)(nl - line), &got), 0);
            assert_true(same_bytes(enc_logs, &scs[s]->lb[i], &got));
            arena_free(a);
            line = nl + 1;
        }
    }
    assert_int_equal(k, batches);
    assert_int_equal(*line, 0); /* nothing else: the old line is gone */
    free(text);
    for (int s = 0; s < n_sc; s++)
        unload(scs[s]);
    rm_rf(dir);
}

/* Names of dir's entries starting with prefix, sorted. */
static int list_prefixed(const char *dir, const char *prefix, char names[][256], int max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && n < max)
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

static void test_file_rotation(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    fx_scenario *sc = load("otel/multi-agent-proto");
    char path[4200], settings[4400], old[4300], recent[4300];
    snprintf(path, sizeof path, "%s/spans.json", dir);
    /* an old backup (max_days removes it at start) and a recent one (kept until the
     * newer ones push it past max_backups) */
    snprintf(old, sizeof old, "%s/spans-2001-01-01T00-00-00.000.json", dir);
    snprintf(recent, sizeof recent, "%s/spans-2000-01-01T00-00-00.000.txt", dir);
    fclose(fopen(old, "w"));
    fclose(fopen(recent, "w")); /* another extension: not a backup of spans.json */
    snprintf(settings, sizeof settings,
             "{ path: '%s', rotation: { max_megabytes: 1, max_backups: 2, max_days: 30 } }", path);
    exporter *ex = start("file", settings, "traces");
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(recent, F_OK), 0);

    /* about 3.5 MiB of lines: at least three rotations */
    lt_buf one = {0};
    assert_int_equal(json_encode_traces(&one, &sc->tb[0]), 0);
    size_t line = one.len + 1;
    buf_free(&one);
    int want = (int)((7u << 19) / line) + 1;
    for (int i = 0; i < want;) {
        int rc = export_traces(ex, &sc->tb[0]);
        if (rc == LT_EBUSY) {
            usleep(1000);
            continue;
        }
        assert_int_equal(rc, 0);
        i++;
    }
    WAIT_UNTIL(stats(ex).sent_requests == (uint64_t)want, 30);
    assert_int_equal(stats(ex).sent_requests, want);
    assert_int_equal(stats(ex).failed_items, 0);
    export_stop(ex, 5000);

    char names[16][256];
    int n = list_prefixed(dir, "spans-", names, 16);
    /* the .txt file and the two newest backups */
    assert_int_equal(n, 3);
    int lines = 0;
    for (int i = 0; i <= n; i++) {
        char p[4600];
        if (i == n)
            snprintf(p, sizeof p, "%s", path);
        else if (strstr(names[i], ".txt"))
            continue;
        else {
            /* spans-YYYY-MM-DDTHH-MM-SS.mmm.json */
            const char *s = names[i] + 6;
            assert_int_equal(strlen(names[i]), 6 + 23 + 5);
            assert_true(s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == '-' &&
                        s[16] == '-' && s[19] == '.');
            assert_string_equal(s + 23, ".json");
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        }
        size_t len;
        char *text = read_file(p, &len);
        assert_non_null(text);
        assert_true(len <= (1u << 20));
        if (i < n) assert_true(len + line > (1u << 20)); /* rotated only when full */
        for (char *q = text; (q = strchr(q, '\n')); q++)
            lines++;
        free(text);
    }
    /* what is left: the current file and two backups, each full but for the last line */
    assert_true(lines > 0 && lines < want);
    unload(sc);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* debug                                                                              */
/* ---------------------------------------------------------------------------------- */

/* Runs one debug exporter over the batch with stderr sent to a file; returns its text. */
static char *debug_output(const char *dir, const char *id, const char *verbosity,
                          const lt_trace_batch *tb, const lt_log_batch *lb)
{
    char path[4200], settings[128];
    snprintf(path, sizeof path, "%s/%s.err", dir, verbosity);
    snprintf(settings, sizeof settings, "{ verbosity: %s }", verbosity);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    exporter *ex = start(id, settings, "traces");
    assert_int_equal(export_traces(ex, tb), 0);
    assert_int_equal(export_logs(ex, lb), 0);
    WAIT_UNTIL(stats(ex).sent_requests == 2, 20);
    export_stats st = stats(ex);
    export_stop(ex, 5000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(st.sent_requests, 2);
    size_t n;
    return read_file(path, &n);
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (memmem(p, len, needle, strlen(needle))) n++;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static void test_debug(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    fx_scenario *sc = load("otel/multi-agent-proto");
    const lt_trace_batch *tb = &sc->tb[0];
    const lt_log_batch *lb = &sc->lb[0];
    char want[256];

    char *basic = debug_output(dir, "debug/b", "basic", tb, lb);
    snprintf(want, sizeof want, "debug/b: traces: %u resource spans, %" PRIu64 " spans", tb->n_rs,
             tb->n_spans);
    assert_int_equal(count_lines(basic, want), 1);
    snprintf(want, sizeof want, "debug/b: logs: %u resource logs, %" PRIu64 " log records",
             lb->n_rl, lb->n_records);
    assert_int_equal(count_lines(basic, want), 1);
    assert_int_equal(count_lines(basic, "debug/b: "), 2); /* nothing more */

    char *normal = debug_output(dir, "debug/n", "normal", tb, lb);
    assert_int_equal(count_lines(normal, "debug/n: span "), (int)tb->n_spans);
    assert_int_equal(count_lines(normal, "debug/n: log "), (int)lb->n_records);
    char *detailed = debug_output(dir, "debug/d", "detailed", tb, lb);
    assert_int_equal(count_lines(detailed, "debug/d:     span "), (int)tb->n_spans);
    /* each span: its line (name, ids) in normal; every attribute key in detailed */
    for (uint32_t i = 0; i < tb->n_rs; i++)
        for (uint32_t j = 0; j < tb->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < tb->rs[i].scopes[j].n_spans; k++) {
                const lt_span *s = &tb->rs[i].scopes[j].spans[k];
                char id[17], line[512];
                hex_encode(s->span_id, 8, id);
                snprintf(line, sizeof line, "span \"%.*s\" trace_id=", (int)s->name.len,
                         s->name.ptr);
                assert_non_null(strstr(normal, line));
                assert_non_null(strstr(normal, id));
                assert_non_null(strstr(detailed, id));
                for (uint32_t a = 0; a < s->attrs.n; a++) {
                    char key[300];
                    snprintf(key, sizeof key, "\"%.*s\":", (int)s->attrs.items[a].key.len,
                             s->attrs.items[a].key.ptr);
                    assert_non_null(strstr(detailed, key));
                }
            }
    assert_non_null(strstr(detailed, "resource attributes: {\"service.name\":"));
    /* no line of the log is longer than a log line holds: long ones continue */
    for (const char *p = detailed; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(nl - p < 1100);
        p = nl + 1;
    }
    free(basic);
    free(normal);
    free(detailed);
    unload(sc);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* otlp and otlphttp against llmtrace                                                 */
/* ---------------------------------------------------------------------------------- */

static void roundtrip(const char *id, const char *settings_fmt, bool grpc)
{
    target t;
    target_up(&t, FOUR);
    char settings[512];
    snprintf(settings, sizeof settings, settings_fmt, grpc ? t.srv.otlp_grpc : t.srv.otlp_http);
    exporter *ex = start(id, settings, "traces");
    uint64_t items = 0;
    int batches = send_all(ex, t.scs, t.n, &items);
    WAIT_UNTIL(stats(ex).sent_requests == (uint64_t)batches, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_requests, batches);
    assert_int_equal(st.sent_items, items);
    assert_int_equal(st.failed_items + st.rejected_items + st.refused_items, 0);
    assert_int_equal(st.queued_requests, 0);
    export_stop(ex, 5000);

    int n;
    uint64_t logs = check_logs_stored(&t.srv, t.scs, t.n);
    assert_int_equal(check_traces_stored(&t.srv, t.scs, t.n), count_items(t.scs, t.n, true, &n));
    assert_true(logs > 0 && logs <= count_items(t.scs, t.n, false, &n));
    target_down(&t);
}

static void test_otlp_grpc(void **state)
{
    (void)state;
    roundtrip("otlp/target", "{ endpoint: '%s', tls: { insecure: true } }", true);
    roundtrip("otlp/plain", "{ endpoint: 'http://%s', compression: none }", true);
}

static void test_otlphttp(void **state)
{
    (void)state;
    roundtrip("otlphttp", "{ endpoint: 'http://%s', compression: none }", false);
    roundtrip("otlphttp/gzip", "{ endpoint: 'http://%s/' }", false);
}

/* The target is down when the batches are offered, and started later on that address. */
static void test_retry_until_up(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200], grpc[64], http[64], s1[256], s2[256];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(grpc, sizeof grpc, "127.0.0.1:%d", free_port());
    snprintf(http, sizeof http, "127.0.0.1:%d", free_port());
    snprintf(s1, sizeof s1,
             "{ endpoint: '%s', tls: { insecure: true }, retry_on_failure: { initial_interval: "
             "50ms, max_interval: 200ms } }",
             grpc);
    snprintf(s2, sizeof s2,
             "{ endpoint: 'http://%s', retry_on_failure: { initial_interval: 50ms, max_interval: "
             "200ms } }",
             http);
    fx_scenario *scs[2] = {load("otel/rag-proto"), load("openinference/multi-agent")};
    exporter *eg = start("otlp", s1, "traces");
    exporter *eh = start("otlphttp", s2, "traces");
    uint64_t items = 0;
    int b1 = send_all(eg, &scs[0], 1, &items);
    int b2 = send_all(eh, &scs[1], 1, &items);
    WAIT_UNTIL(stats(eg).retries >= 2 && stats(eh).retries >= 2, 30);
    assert_true(stats(eg).retries >= 2);
    assert_true(stats(eh).retries >= 2);
    assert_int_equal(stats(eg).sent_requests + stats(eg).failed_items, 0);

    server srv = {0};
    server_start(&srv, data, grpc, http, NULL);
    WAIT_UNTIL(stats(eg).sent_requests == (uint64_t)b1 && stats(eh).sent_requests == (uint64_t)b2,
               60);
    assert_int_equal(stats(eg).sent_requests, b1);
    assert_int_equal(stats(eh).sent_requests, b2);
    assert_int_equal(stats(eg).failed_items + stats(eh).failed_items, 0);
    export_stop(eg, 1000);
    export_stop(eh, 1000);
    assert_true(check_traces_stored(&srv, scs, 2) > 0);
    assert_true(check_logs_stored(&srv, scs, 1) > 0);
    server_stop(&srv);
    unload(scs[0]);
    unload(scs[1]);
    rm_rf(dir);
}

/* A wrong token is permanent: counted as failed once, never retried; the right one works. */
static void test_wrong_token(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    server srv = {0};
    server_start(&srv, data, "127.0.0.1:0", "127.0.0.1:0", "right-token");
    fx_scenario *sc = load("otel/errors-proto");
    /* the first resource of the batch 3000 times over: a few MiB */
    enum { COPIES = 3000 };
    lt_trace_batch big = {.n_rs = COPIES, .rs = calloc(COPIES, sizeof(lt_resource_spans))};
    assert_non_null(big.rs);
    for (int i = 0; i < COPIES; i++) {
        big.rs[i] = sc->tb[0].rs[0];
        for (uint32_t j = 0; j < big.rs[i].n_scopes; j++)
            big.n_spans += big.rs[i].scopes[j].n_spans;
    }
    static const char *const fmts[] = {
        "{ endpoint: '%s', tls: { insecure: true }, headers: { authorization: 'Bearer %s' }, "
        "retry_on_failure: { initial_interval: 10ms, max_interval: 10ms } }",
        "{ endpoint: 'http://%s', headers: { Authorization: 'Bearer %s' }, retry_on_failure: { "
        "initial_interval: 10ms, max_interval: 10ms } }",
    };
    for (int g = 0; g < 2; g++) {
        const char *addr = g == 0 ? srv.otlp_grpc : srv.otlp_http;
        const char *id = g == 0 ? "otlp" : "otlphttp";
        char bad[512], good[512];
        snprintf(bad, sizeof bad, fmts[g], addr, "wrong-token");
        snprintf(good, sizeof good, fmts[g], addr, "right-token");
        exporter *ex = start(id, bad, "traces");
        assert_int_equal(export_traces(ex, &sc->tb[0]), 0);
        /* a large request too: the target may answer before it has read it all */
        assert_int_equal(export_traces(ex, &big), 0);
        uint64_t want = sc->tb[0].n_spans + big.n_spans;
        WAIT_UNTIL(stats(ex).failed_items == want, 30);
        export_stats st = stats(ex);
        assert_int_equal(st.failed_items, want);
        assert_int_equal(st.retries, 0);
        assert_int_equal(st.sent_requests, 0);
        assert_int_equal(st.queued_requests, 0);
        export_stop(ex, 0);

        ex = start(id, good, "traces");
        assert_int_equal(export_traces(ex, &sc->tb[0]), 0);
        WAIT_UNTIL(stats(ex).sent_requests == 1, 30);
        assert_int_equal(stats(ex).sent_items, sc->tb[0].n_spans);
        export_stop(ex, 0);
    }
    free(big.rs);
    server_stop(&srv);
    unload(sc);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* Queues                                                                             */
/* ---------------------------------------------------------------------------------- */

static void test_queue_full(void **state)
{
    (void)state;
    fx_scenario *sc = load("otel/rag-proto");
    const lt_trace_batch *b = &sc->tb[0];
    char s[256];
    /* nobody listens: the first batch is retried (slowly) and the queue fills */
    snprintf(s, sizeof s,
             "{ endpoint: '127.0.0.1:%d', tls: { insecure: true }, retry_on_failure: { "
             "initial_interval: 30s, max_interval: 30s }, sending_queue: { num_consumers: 1, "
             "queue_size: 2 } }",
             free_port());
    exporter *ex = start("otlp", s, "traces");
    assert_true(export_has_room(ex, 100));
    assert_int_equal(export_traces(ex, b), 0);
    assert_int_equal(export_traces(ex, b), 0);
    assert_false(export_has_room(ex, 100));
    assert_int_equal(export_traces(ex, b), LT_EBUSY);
    assert_int_equal(export_logs(ex, &sc->lb[0]), LT_EBUSY);
    export_stats st = stats(ex);
    assert_int_equal(st.refused_items, b->n_spans + sc->lb[0].n_records);
    assert_int_equal(st.queued_requests, 2);
    assert_true(st.queued_bytes > 0);
    export_stop(ex, 0); /* the memory queue's two batches are dropped (logged) */

    /* without a queue: a batch is taken only when the consumer is free to send it */
    snprintf(s, sizeof s,
             "{ endpoint: '127.0.0.1:%d', tls: { insecure: true }, retry_on_failure: { "
             "initial_interval: 30s, max_interval: 30s }, sending_queue: { enabled: false, "
             "num_consumers: 1 } }",
             free_port());
    ex = start("otlp/direct", s, "traces");
    WAIT_UNTIL(export_has_room(ex, 1), 10);
    assert_int_equal(export_traces(ex, b), 0);
    assert_int_equal(export_traces(ex, b), LT_EBUSY);
    WAIT_UNTIL(stats(ex).retries >= 1, 10); /* the consumer holds the first one */
    assert_false(export_has_room(ex, 1));
    assert_int_equal(export_traces(ex, b), LT_EBUSY);
    assert_int_equal(stats(ex).refused_items, 2 * b->n_spans);
    export_stop(ex, 0);
    unload(sc);
}

static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    size_t k = strlen(suffix);
    for (struct dirent *e; (e = readdir(d));) {
        size_t m = strlen(e->d_name);
        n += m > k && !strcmp(e->d_name + m - k, suffix);
    }
    closedir(d);
    return n;
}

static void test_disk_queue(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200], q[4200], grpc[64], s[4800];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(q, sizeof q, "%s/queue", dir);
    snprintf(grpc, sizeof grpc, "127.0.0.1:%d", free_port());
    snprintf(s, sizeof s,
             "{ endpoint: '%s', tls: { insecure: true }, retry_on_failure: { initial_interval: "
             "50ms, max_interval: 100ms }, sending_queue: { num_consumers: 2, directory: '%s' } }",
             grpc, q);
    fx_scenario *scs[2] = {load("otel/streaming-proto"), load("langfuse/errors")};

    /* the target is down: everything waits on disk, and stays there after the stop */
    exporter *ex = start("otlp", s, "traces");
    uint64_t items = 0;
    int batches = send_all(ex, scs, 2, &items);
    assert_int_equal(count_suffix(q, ".batch"), batches);
    WAIT_UNTIL(stats(ex).retries >= 2, 20);
    char other[4400];
    exporter *second = NULL;
    assert_int_equal(build("otlp/second", s, "traces", &second, NULL, other, sizeof other), 0);
    assert_int_equal(export_start(second, other, sizeof other), LT_EIO); /* locked */
    assert_non_null(strstr(other, "is in use by another exporter or process"));
    export_stop(second, 0);
    export_stop(ex, 0);
    assert_int_equal(count_suffix(q, ".batch"), batches);
    assert_int_equal(count_suffix(q, ".tmp"), 0);

    /* a damaged file is set aside, not sent and not fatal; a write left unfinished is gone */
    char bad[4400];
    snprintf(bad, sizeof bad, "%s/00000000000000ff.batch", q);
    FILE *f = fopen(bad, "w");
    fputs("not a batch", f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/0000000000000100.tmp", q);
    fclose(fopen(bad, "w"));

    /* a new exporter on the same directory, then the target comes up */
    ex = start("otlp", s, "traces");
    assert_int_equal(count_suffix(q, ".corrupt"), 1);
    assert_int_equal(count_suffix(q, ".tmp"), 0);
    assert_int_equal(stats(ex).queued_requests, batches);
    server srv = {0};
    server_start(&srv, data, grpc, "127.0.0.1:0", NULL);
    WAIT_UNTIL(stats(ex).sent_requests == (uint64_t)batches, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_requests, batches);
    assert_int_equal(st.sent_items, items);
    assert_int_equal(st.failed_items, 0);
    assert_int_equal(count_suffix(q, ".batch"), 0); /* removed once delivered */
    export_stop(ex, 1000);
    assert_true(check_traces_stored(&srv, scs, 2) > 0);
    assert_true(check_logs_stored(&srv, scs, 2) > 0);
    server_stop(&srv);
    unload(scs[0]);
    unload(scs[1]);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* prometheusremotewrite against Prometheus                                           */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    char addr[64];
} prometheus;

static void prometheus_start(prometheus *p, const char *dir)
{
    char cfg[4200], tsdb[4200], log[4200], listen[96];
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", dir);
    snprintf(tsdb, sizeof tsdb, "%s/tsdb", dir);
    snprintf(log, sizeof log, "%s/prometheus.log", dir);
    FILE *f = fopen(cfg, "w");
    fputs("global: {}\nscrape_configs: []\n", f);
    fclose(f);
    snprintf(p->addr, sizeof p->addr, "127.0.0.1:%d", free_port());
    snprintf(listen, sizeof listen, "--web.listen-address=%s", p->addr);
    char a1[4300], a2[4300];
    snprintf(a1, sizeof a1, "--config.file=%s", cfg);
    snprintf(a2, sizeof a2, "--storage.tsdb.path=%s", tsdb);
    const char *bin = getenv("LT_PROMETHEUS") ? getenv("LT_PROMETHEUS") : "prometheus";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execlp(bin, bin, a1, a2, listen, "--web.enable-remote-write-receiver", (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    char url[128];
    snprintf(url, sizeof url, "http://%s/-/ready", p->addr);
    lt_buf body = {0};
    long status = 0;
    int st;
    WAIT_UNTIL((status = http_get(url, &body)) == 200 || waitpid(pid, &st, WNOHANG) == pid, 60);
    buf_free(&body);
    if (status != 200)
        fail_msg("Prometheus (%s) did not start on %s; it is a test dependency (Debian "
                 "package prometheus); see %s",
                 bin, p->addr, log);
}

static void prometheus_stop(prometheus *p)
{
    kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
}

/* Runs an instant query; returns the result vector (a new reference). */
static json_t *prom_query(const prometheus *p, const char *promql)
{
    CURL *h = curl_easy_init();
    char *q = curl_easy_escape(h, promql, 0);
    char url[2048];
    snprintf(url, sizeof url, "http://%s/api/v1/query?query=%s", p->addr, q);
    curl_free(q);
    curl_easy_cleanup(h);
    lt_buf body = {0};
    assert_int_equal(http_get(url, &body), 200);
    json_t *doc = json_loads(body.data, 0, NULL);
    buf_free(&body);
    assert_non_null(doc);
    json_t *r = json_incref(json_object_get(json_object_get(doc, "data"), "result"));
    json_decref(doc);
    assert_true(json_is_array(r));
    return r;
}

static double sample_value(json_t *result_item)
{
    return strtod(json_string_value(json_array_get(json_object_get(result_item, "value"), 1)),
                  NULL);
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

static void test_prometheus_remote_write(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    prometheus prom;
    prometheus_start(&prom, dir);

    char s[512], err[1024];
    snprintf(s, sizeof s,
             "{ endpoint: 'http://%s/api/v1/write', namespace: lt, external_labels: { env: ci, "
             "service_name: not-this-one }, retry_on_failure: { initial_interval: 50ms } }",
             prom.addr);
    exporter *ex = NULL;
    spanmetrics *sm = NULL;
    if (build("prometheusremotewrite", s, "metrics", &ex, &sm, err, sizeof err))
        fail_msg("%s", err);
    static const char *const scenarios[] = {"otel/multi-agent-proto", "openinference/rag",
                                            "traceloop/multi-agent", "langfuse/rag"};
    uint64_t spans = 0;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        fx_scenario *sc = load(scenarios[i]);
        for (int b = 0; b < sc->n_tb; b++) {
            assert_int_equal(spanmetrics_consume(sm, &sc->tb[b]), 0);
            spans += sc->tb[b].n_spans;
        }
        unload(sc);
    }
    assert_int_equal(export_add_metrics(ex, sm), 0);
    assert_int_equal(export_start(ex, err, sizeof err), 0);

    /* every counter of the snapshot, in total and per model, as Prometheus has it */
    spanmetrics_snap snap;
    assert_int_equal(spanmetrics_snapshot(sm, &snap), 0);
    char calls[256] = "";
    int counters = 0, by_model = 0;
    for (uint32_t i = 0; i < snap.n_metrics; i++) {
        const spanmetrics_metric *m = &snap.metrics[i];
        if (m->type != SPANMETRICS_COUNTER) continue;
        lt_buf name = {0};
        buf_append_c(&name, "lt_");
        promtext_metric_name(&name, m);
        double total = 0;
        for (uint32_t j = 0; j < m->n_points; j++)
            total += m->points[j].value;
        char q[512];
        snprintf(q, sizeof q, "sum(%s{env=\"ci\"})", name.data);
        json_t *r = NULL;
        WAIT_UNTIL((json_decref(r), r = prom_query(&prom, q), json_array_size(r) == 1), 30);
        if (json_array_size(r) != 1) fail_msg("no samples for %s", q);
        if (!near(sample_value(json_array_get(r, 0)), total))
            fail_msg("%s: %g, snapshot %g", q, sample_value(json_array_get(r, 0)), total);
        json_decref(r);
        counters++;
        if (strstr(m->name, ".calls")) snprintf(calls, sizeof calls, "%s", name.data);

        /* per model, where the series have one */
        snprintf(q, sizeof q, "sum by (gen_ai_request_model) (%s{env=\"ci\"})", name.data);
        r = prom_query(&prom, q);
        size_t k;
        json_t *item;
        json_array_foreach(r, k, item)
        {
            const char *model = json_string_value(
                json_object_get(json_object_get(item, "metric"), "gen_ai_request_model"));
            if (!model) continue;
            double want = 0;
            for (uint32_t j = 0; j < m->n_points; j++)
                for (uint32_t l = 0; l < m->points[j].n_labels; l++)
                    if (!strcmp(m->points[j].labels[l].name, "gen_ai.request.model") &&
                        !strcmp(m->points[j].labels[l].value, model))
                        want += m->points[j].value;
            if (!near(sample_value(item), want))
                fail_msg("%s model %s: %g, snapshot %g", name.data, model, sample_value(item),
                         want);
            by_model++;
        }
        json_decref(r);
        buf_free(&name);
    }
    assert_true(counters >= 3); /* calls and token counters */
    assert_true(by_model > 0);
    spanmetrics_snapshot_free(&snap);

    /* calls count every span; a series' own label wins over an external one */
    char q[512];
    snprintf(q, sizeof q, "sum(%s)", calls);
    json_t *r = prom_query(&prom, q);
    assert_int_equal(json_array_size(r), 1);
    assert_true(near(sample_value(json_array_get(r, 0)), (double)spans));
    json_decref(r);
    snprintf(q, sizeof q, "count(%s{service_name=\"not-this-one\"})", calls);
    r = prom_query(&prom, q);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    snprintf(q, sizeof q, "count(%s{env!=\"ci\"})", calls);
    r = prom_query(&prom, q);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    export_stats st = stats(ex);
    assert_true(st.sent_requests >= 1);
    assert_int_equal(st.failed_items, 0);
    export_stop(ex, 2000);

    /* a path Prometheus does not serve: refused for good, not retried */
    snprintf(s, sizeof s, "{ endpoint: 'http://%s/api/v1/nowhere' }", prom.addr);
    spanmetrics_free(sm);
    sm = NULL;
    if (build("prometheusremotewrite", s, "metrics", &ex, &sm, err, sizeof err))
        fail_msg("%s", err);
    fx_scenario *sc = load("otel/rag-proto");
    assert_int_equal(spanmetrics_consume(sm, &sc->tb[0]), 0);
    unload(sc);
    assert_int_equal(export_add_metrics(ex, sm), 0);
    assert_int_equal(export_start(ex, err, sizeof err), 0);
    WAIT_UNTIL(stats(ex).failed_items > 0, 20);
    st = stats(ex);
    assert_true(st.failed_items > 0);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.sent_requests, 0);
    export_stop(ex, 0);
    spanmetrics_free(sm);
    prometheus_stop(&prom);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* Answers: partial success, retry information, the end of retries                    */
/* ---------------------------------------------------------------------------------- */

/* Spans the target rejects (an all-zero span id) come back as a partial success: counted,
 * not retried, the rest delivered. */
static void test_partial_success(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    server srv = {0};
    server_start(&srv, data, "127.0.0.1:0", "127.0.0.1:0", NULL);
    fx_scenario *sc = load("otel/rag-proto");
    lt_trace_batch *b = &sc->tb[0];
    assert_true(b->n_spans >= 2);
    memset(b->rs[0].scopes[0].spans[0].span_id, 0, 8); /* the encoder then leaves it out */
    for (int g = 0; g < 2; g++) {
        char s[256];
        snprintf(s, sizeof s,
                 g ? "{ endpoint: 'http://%s' }" : "{ endpoint: '%s', tls: { insecure: true } }",
                 g ? srv.otlp_http : srv.otlp_grpc);
        exporter *ex = start(g ? "otlphttp" : "otlp", s, "traces");
        assert_int_equal(export_traces(ex, b), 0);
        WAIT_UNTIL(stats(ex).sent_requests == 1, 30);
        export_stats st = stats(ex);
        assert_int_equal(st.sent_requests, 1);
        assert_int_equal(st.rejected_items, 1);
        assert_int_equal(st.sent_items, b->n_spans - 1);
        assert_int_equal(st.failed_items + st.retries, 0);
        export_stop(ex, 0);
    }
    server_stop(&srv);
    unload(sc);
    rm_rf(dir);
}

/* A target that never comes: retries stop at max_elapsed_time and the batch is failed. */
static void test_retries_run_out(void **state)
{
    (void)state;
    fx_scenario *sc = load("otel/rag-proto");
    char s[256];
    snprintf(s, sizeof s,
             "{ endpoint: 'http://127.0.0.1:%d', retry_on_failure: { initial_interval: 10ms, "
             "max_interval: 20ms, max_elapsed_time: 300ms } }",
             free_port());
    exporter *ex = start("otlphttp", s, "traces");
    assert_int_equal(export_traces(ex, &sc->tb[0]), 0);
    /* the batch is counted as failed, then leaves the queue's count: wait for both */
    WAIT_UNTIL(stats(ex).failed_items == sc->tb[0].n_spans && stats(ex).queued_requests == 0, 30);
    export_stats st = stats(ex);
    assert_int_equal(st.failed_items, sc->tb[0].n_spans);
    assert_true(st.retries >= 2);
    assert_int_equal(st.sent_requests + st.queued_requests, 0);
    export_stop(ex, 0);

    /* retry_on_failure disabled: the first failure is the last */
    snprintf(s, sizeof s,
             "{ endpoint: 'http://127.0.0.1:%d', retry_on_failure: { enabled: false } }",
             free_port());
    ex = start("otlphttp", s, "traces");
    assert_int_equal(export_traces(ex, &sc->tb[0]), 0);
    WAIT_UNTIL(stats(ex).failed_items == sc->tb[0].n_spans, 30);
    assert_int_equal(stats(ex).failed_items, sc->tb[0].n_spans);
    assert_int_equal(stats(ex).retries, 0);
    export_stop(ex, 0);
    unload(sc);
}

static void put_field(lt_buf *b, unsigned field, const void *p, size_t n)
{
    pb_put_varint(b, (uint64_t)field << 3 | 2);
    pb_put_varint(b, n);
    buf_append(b, p, n);
}

static void put_varint_field(lt_buf *b, unsigned field, uint64_t v)
{
    pb_put_varint(b, (uint64_t)field << 3);
    pb_put_varint(b, v);
}

/* The readers of answers: google.rpc.Status with RetryInfo, partial success, the gRPC codes
 * the OTLP spec retries, Retry-After, gzip. */
static void test_answers(void **state)
{
    (void)state;
    lt_buf dur = {0}, info = {0}, any = {0}, st = {0};
    put_varint_field(&dur, 1, 2);
    put_varint_field(&dur, 2, 500000000);
    put_field(&info, 1, dur.data, dur.len);
    static const char type[] = "type.googleapis.com/google.rpc.RetryInfo";
    put_field(&any, 1, type, sizeof type - 1);
    put_field(&any, 2, info.data, info.len);
    put_varint_field(&st, 1, 8);
    put_field(&st, 2, "busy", 4);
    put_field(&st, 3, any.data, any.len);
    uint64_t ns;
    lt_str msg;
    assert_int_equal(otlp_parse_status((uint8_t *)st.data, st.len, &ns, &msg), 0);
    assert_int_equal(ns, 2500000000ull);
    assert_true(lt_str_eq_c(msg, "busy"));
    for (size_t cut = 1; cut < st.len; cut++) /* every truncation is refused, never misread */
        if (otlp_parse_status((uint8_t *)st.data, cut, &ns, &msg) == 0)
            assert_true(ns == 0 || ns == 2500000000ull);
    /* another detail type: no delay */
    any.len = 0;
    put_field(&any, 1, "type.googleapis.com/google.rpc.DebugInfo", 40);
    put_field(&any, 2, info.data, info.len);
    st.len = 0;
    put_field(&st, 3, any.data, any.len);
    assert_int_equal(otlp_parse_status((uint8_t *)st.data, st.len, &ns, &msg), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(otlp_parse_status((const uint8_t *)"\x0a\x05"
                                                        "ab",
                                       4, &ns, &msg),
                     LT_EINVAL);

    lt_buf resp = {0};
    assert_int_equal(pb_encode_export_response(&resp, 3, LT_STR("3 spans without ids")), 0);
    uint64_t rejected;
    assert_int_equal(otlp_parse_response((uint8_t *)resp.data, resp.len, &rejected, &msg), 0);
    assert_int_equal(rejected, 3);
    assert_true(lt_str_eq_c(msg, "3 spans without ids"));
    resp.len = 0;
    assert_int_equal(pb_encode_export_response(&resp, 0, LT_STR("")), 0);
    assert_int_equal(otlp_parse_response((uint8_t *)resp.data, resp.len, &rejected, &msg), 0);
    assert_int_equal(rejected, 0);

    /* OTLP spec: which gRPC codes are retryable */
    static const bool retry[17] = {
        [1] = true, [4] = true, [10] = true, [11] = true, [14] = true, [15] = true};
    for (int c = 0; c < 17; c++) {
        assert_int_equal(otlp_grpc_retryable(c, false), retry[c]);
        assert_int_equal(otlp_grpc_retryable(c, true), retry[c] || c == 8);
    }

    assert_int_equal(ex_retry_after("120", 3), 120000000000ull);
    assert_int_equal(ex_retry_after(" 5 ", 3), 5000000000ull);
    assert_int_equal(ex_retry_after("99999999", 8), 3600000000000ull);
    assert_int_equal(ex_retry_after("soon", 4), 0);
    assert_int_equal(ex_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29), 0); /* past */
    char date[64];
    time_t later = time(NULL) + 30;
    struct tm tm;
    gmtime_r(&later, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    uint64_t d = ex_retry_after(date, strlen(date));
    assert_true(d >= 28000000000ull && d <= 30000000000ull);

    lt_buf z = {0}, back = {0};
    assert_int_equal(otlp_gzip((uint8_t *)st.data, st.len, &z), 0);
    assert_int_equal(otlp_gunzip((uint8_t *)z.data, z.len, 1 << 20, &back), 0);
    assert_int_equal(back.len, st.len);
    assert_memory_equal(back.data, st.data, st.len);
    buf_free(&z);
    buf_free(&back);
    buf_free(&dur);
    buf_free(&info);
    buf_free(&any);
    buf_free(&st);
    buf_free(&resp);
}

/* ---------------------------------------------------------------------------------- */
/* Metrics                                                                            */
/* ---------------------------------------------------------------------------------- */

enum { MX_MAX = 64 };

/* Metrics requests decoded as a receiver decodes them: the collections of the OpenTelemetry
 * JS SDK in tests/data/metrics and, with fixtures, every metrics body of the shared
 * fixtures. */
typedef struct {
    lt_arena *a;
    char *bufs[MX_MAX];
    lt_metric_batch b[MX_MAX];
    int n;
    uint64_t points; /* over all b */
    int sendable;    /* batches with points: what export_metrics queues */
} mx_set;

static void mx_add(mx_set *m, const char *path)
{
    size_t len;
    char *data = fx_read(path, &len);
    if (!data) fail_msg("cannot read %s", path);
    assert_true(m->n < MX_MAX);
    m->bufs[m->n] = data;
    otlp_format f = fx_ends(path, ".json") ? OTLP_JSON : OTLP_PROTOBUF;
    if (otlp_decode_metrics(m->a, f, (uint8_t *)data, len, &m->b[m->n]))
        fail_msg("%s does not decode", path);
    m->points += m->b[m->n].n_points;
    m->sendable += m->b[m->n].n_points > 0;
    m->n++;
}

static void mx_collect(const char *dir, void *arg)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char names[FX_MAX_FILES][256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, "-metrics.") && !fx_ends(e->d_name, ".meta.json") && n < FX_MAX_FILES)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%.255s", dir, names[i]);
        mx_add(arg, path);
    }
}

static mx_set *mx_load(bool fixtures)
{
    mx_set *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_non_null(m->a = arena_new());
    mx_add(m, LT_SOURCE_DIR "/tests/data/metrics/cumulative.pb");
    mx_add(m, LT_SOURCE_DIR "/tests/data/metrics/delta.pb");
    if (fixtures) fx_each(mx_collect, m);
    return m;
}

static void mx_free(mx_set *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->bufs[i]);
    arena_free(m->a);
    free(m);
}

static int enc_metrics(lt_buf *o, const void *b)
{
    return pb_encode_metrics(o, b);
}

static int send_metrics(exporter *ex, const mx_set *m)
{
    for (int i = 0; i < m->n; i++)
        assert_int_equal(export_metrics(ex, &m->b[i]), 0);
    return m->sendable;
}

/* Every metrics request, one line each, reads back as the same request. */
static void test_metrics_file(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    mx_set *m = mx_load(true);
    assert_true(m->n > 10);
    char path[4200], settings[4400];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    snprintf(settings, sizeof settings, "{ path: '%s', flush_interval: 50ms }", path);
    exporter *ex = start("file", settings, "metrics");
    int batches = send_metrics(ex, m);
    WAIT_UNTIL(stats(ex).sent_requests == (uint64_t)batches, 20);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_requests, batches);
    assert_int_equal(st.sent_items, m->points);
    assert_int_equal(st.failed_items, 0);
    export_stop(ex, 5000);

    size_t n;
    char *text = read_file(path, &n);
    assert_non_null(text);
    char *line = text;
    for (int i = 0; i < m->n; i++) {
        if (!m->b[i].n_points) continue; /* nothing to send: no line */
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        lt_arena *a = arena_new();
        lt_metric_batch got;
        assert_int_equal(
            otlp_decode_metrics(a, OTLP_JSON, (uint8_t *)line, (size_t)(nl - line), &got), 0);
        assert_int_equal(got.n_points, m->b[i].n_points);
        assert_true(same_bytes(enc_metrics, &m->b[i], &got));
        arena_free(a);
        line = nl + 1;
    }
    assert_int_equal(*line, 0);
    free(text);
    mx_free(m);
    rm_rf(dir);
}

/* Runs a debug exporter of verbosity over the metrics batch b, sent twice, with batching set
 * (a no-op for debug: both batches are written at once, each on its own); returns the log. */
static char *debug_metrics(const char *dir, const char *id, const char *verbosity,
                           const lt_metric_batch *b)
{
    char path[4200], settings[128], err[1024];
    snprintf(path, sizeof path, "%s/m-%s.err", dir, verbosity);
    snprintf(settings, sizeof settings, "{ verbosity: %s }", verbosity);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    exporter *ex = NULL;
    assert_int_equal(build(id, settings, "metrics", &ex, NULL, err, sizeof err), 0);
    assert_int_equal(export_set_batching(ex, 60000000000ull, 1000000, 0), 0);
    assert_int_equal(export_start(ex, err, sizeof err), 0);
    assert_int_equal(export_metrics(ex, b), 0);
    assert_int_equal(export_metrics(ex, b), 0);
    WAIT_UNTIL(stats(ex).sent_requests == 2, 20);
    export_stats st = stats(ex);
    export_stop(ex, 5000);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(st.sent_requests, 2);
    assert_int_equal(st.sent_items, 2 * b->n_points);
    size_t n;
    return read_file(path, &n);
}

static void test_metrics_debug(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    mx_set *m = mx_load(false);
    const lt_metric_batch *b = &m->b[0];
    uint64_t n_metrics = 0;
    for (uint32_t i = 0; i < b->n_rm; i++)
        for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
            n_metrics += b->rm[i].scopes[j].n_metrics;
    char want[256];

    char *basic = debug_metrics(dir, "debug/b", "basic", b);
    snprintf(want, sizeof want,
             "debug/b: metrics: %u resource metrics, %" PRIu64 " metrics, %" PRIu64 " data points",
             b->n_rm, n_metrics, b->n_points);
    assert_int_equal(count_lines(basic, want), 2);
    assert_int_equal(count_lines(basic, "debug/b: "), 2);

    char *normal = debug_metrics(dir, "debug/n", "normal", b);
    char *detailed = debug_metrics(dir, "debug/d", "detailed", b);
    assert_int_equal(count_lines(normal, "debug/n: metric "), 2 * (int)n_metrics);
    assert_int_equal(count_lines(detailed, "debug/d:     metric "), 2 * (int)n_metrics);
    assert_int_equal(count_lines(detailed, "debug/d:       point "), 2 * (int)b->n_points);
    static const char *const types[] = {
        "none", "gauge", "sum", "histogram", "exponential_histogram", "summary"};
    for (uint32_t i = 0; i < b->n_rm; i++)
        for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rm[i].scopes[j].n_metrics; k++) {
                const lt_metric *mt = &b->rm[i].scopes[j].metrics[k];
                char line[512];
                snprintf(line, sizeof line, "metric \"%.*s\" type=%s", (int)mt->name.len,
                         mt->name.ptr, types[mt->type]);
                assert_int_equal(count_lines(normal, line), 2);
                assert_int_equal(count_lines(detailed, line), 2);
                snprintf(line, sizeof line, " points=%u", mt->n_points);
                assert_non_null(strstr(normal, line));
                /* detailed: each value as sent, each histogram's counts */
                for (uint32_t p = 0; p < mt->n_points; p++) {
                    if (mt->type == LT_METRIC_GAUGE || mt->type == LT_METRIC_SUM) {
                        const lt_number_point *np = &mt->points.number[p];
                        lt_buf v = {0};
                        if (np->type == LT_NUM_DOUBLE)
                            jsonw_double(&v, np->v.d);
                        else
                            jsonw_i64(&v, np->v.i);
                        snprintf(line, sizeof line, " %s=%s",
                                 np->type == LT_NUM_DOUBLE ? "asDouble" : "asInt", v.data);
                        assert_non_null(strstr(detailed, line));
                        buf_free(&v);
                    } else if (mt->type == LT_METRIC_HISTOGRAM) {
                        const lt_histogram_point *hp = &mt->points.histogram[p];
                        lt_buf v = {0};
                        jsonw_double(&v, hp->sum);
                        snprintf(line, sizeof line, " count=%" PRIu64 " sum=%s", hp->count, v.data);
                        assert_non_null(strstr(detailed, line));
                        buf_free(&v);
                    }
                    const lt_attrs *at = &model_metric_point(mt, p)->attrs;
                    for (uint32_t a = 0; a < at->n; a++) {
                        snprintf(line, sizeof line, "\"%.*s\":", (int)at->items[a].key.len,
                                 at->items[a].key.ptr);
                        assert_non_null(strstr(detailed, line));
                    }
                }
            }
    free(basic);
    free(normal);
    free(detailed);
    mx_free(m);
    rm_rf(dir);
}

/* otlp and otlphttp deliver metrics to llmtrace's receivers (which accept them and, for
 * now, drop them: delivery is what the counts show; test_metrics_file checks the bytes). */
static void test_metrics_otlp(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    server srv = {0};
    server_start(&srv, data, "127.0.0.1:0", "127.0.0.1:0", NULL);
    mx_set *m = mx_load(true);
    static const struct {
        const char *id, *fmt;
        bool grpc;
    } cases[] = {
        {"otlp", "{ endpoint: '%s', tls: { insecure: true } }", true},
        {"otlphttp", "{ endpoint: 'http://%s', compression: none }", false},
        {"otlphttp/whole", "{ metrics_endpoint: 'http://%s/v1/metrics' }", false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char s[512];
        snprintf(s, sizeof s, cases[c].fmt, cases[c].grpc ? srv.otlp_grpc : srv.otlp_http);
        exporter *ex = start(cases[c].id, s, "metrics");
        int batches = send_metrics(ex, m);
        WAIT_UNTIL(stats(ex).sent_requests == (uint64_t)batches, 60);
        export_stats st = stats(ex);
        if (st.sent_requests != (uint64_t)batches)
            fail_msg("%s: %" PRIu64 " of %d requests sent", cases[c].id, st.sent_requests, batches);
        assert_int_equal(st.sent_items, m->points);
        assert_int_equal(st.failed_items + st.rejected_items + st.refused_items, 0);
        export_stop(ex, 5000);
    }

    /* ENDPOINT/v1/metrics is where metrics go: under another base the target answers 404,
     * which is permanent */
    char s[512];
    snprintf(s, sizeof s, "{ endpoint: 'http://%s/base' }", srv.otlp_http);
    exporter *ex = start("otlphttp", s, "metrics");
    assert_int_equal(export_metrics(ex, &m->b[0]), 0);
    WAIT_UNTIL(stats(ex).failed_items == m->b[0].n_points, 30);
    assert_int_equal(stats(ex).failed_items, m->b[0].n_points);
    assert_int_equal(stats(ex).sent_requests + stats(ex).retries, 0);
    export_stop(ex, 0);

    /* an exporter with a traces URL only has none for metrics */
    snprintf(s, sizeof s, "{ traces_endpoint: 'http://%s/v1/traces' }", srv.otlp_http);
    ex = start("otlphttp", s, "traces");
    assert_int_equal(export_metrics(ex, &m->b[0]), LT_EUNSUPPORTED);
    export_stop(ex, 0);
    server_stop(&srv);
    mx_free(m);
    rm_rf(dir);
}

/* Moves every point's times so that the latest is now (the collection was captured once;
 * Prometheus answers instant queries over the last minutes). */
static void shift_to_now(lt_metric_batch *b)
{
    uint64_t latest = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < b->n_rm; i++)
            for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
                for (uint32_t k = 0; k < b->rm[i].scopes[j].n_metrics; k++) {
                    const lt_metric *mt = &b->rm[i].scopes[j].metrics[k];
                    for (uint32_t p = 0; p < mt->n_points; p++) {
                        lt_point_head *h = (lt_point_head *)model_metric_point(mt, p);
                        if (pass == 0) {
                            if (h->time_unix_nano > latest) latest = h->time_unix_nano;
                            continue;
                        }
                        uint64_t d = time_now_ns() - latest;
                        h->time_unix_nano += d;
                        if (h->start_time_unix_nano) h->start_time_unix_nano += d;
                    }
                }
}

static double number_value(const lt_number_point *p)
{
    return p->type == LT_NUM_INT ? (double)p->v.i : p->v.d;
}

/* One instant query's single value, waiting for the series to be there. */
static double prom_value(const prometheus *p, const char *q)
{
    json_t *r = NULL;
    WAIT_UNTIL((json_decref(r), r = prom_query(p, q), json_array_size(r) == 1), 30);
    if (json_array_size(r) != 1) fail_msg("no samples for %s", q);
    double v = sample_value(json_array_get(r, 0));
    json_decref(r);
    return v;
}

/* The SDK's cumulative collection, sent with export_metrics to a real Prometheus: every
 * sum, gauge and histogram reads back with the values sent, with the exporter's namespace
 * and external labels, and target_info as configured. */
static void test_metrics_remote_write(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    prometheus prom;
    prometheus_start(&prom, dir);
    mx_set *m = mx_load(false);
    lt_metric_batch *b = &m->b[0]; /* cumulative.pb */
    shift_to_now(b);
    uint64_t exp_points = 0, resources_with_info = b->n_rm;
    for (uint32_t j = 0; j < b->rm[0].n_scopes; j++)
        for (uint32_t k = 0; k < b->rm[0].scopes[j].n_metrics; k++)
            if (b->rm[0].scopes[j].metrics[k].type == LT_METRIC_EXP_HISTOGRAM)
                exp_points += b->rm[0].scopes[j].metrics[k].n_points;
    assert_true(exp_points > 0);

    char s[512];
    snprintf(s, sizeof s,
             "{ endpoint: 'http://%s/api/v1/write', namespace: otel, external_labels: { env: ci "
             "}, retry_on_failure: { initial_interval: 50ms } }",
             prom.addr);
    exporter *ex = start("prometheusremotewrite", s, "metrics");
    assert_int_equal(export_metrics(ex, b), 0);
    WAIT_UNTIL(stats(ex).sent_requests == 1, 30);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_requests, 1);
    /* items are data points: those written, and the exponential histogram's left out */
    assert_int_equal(st.sent_items, b->n_points - exp_points);
    assert_int_equal(st.failed_items, exp_points);
    export_stop(ex, 2000);

    int checked = 0;
    for (uint32_t j = 0; j < b->rm[0].n_scopes; j++)
        for (uint32_t k = 0; k < b->rm[0].scopes[j].n_metrics; k++) {
            const lt_metric *mt = &b->rm[0].scopes[j].metrics[k];
            promtext_kind kind = mt->type == LT_METRIC_GAUGE                  ? PROMTEXT_GAUGE
                                 : mt->type == LT_METRIC_SUM && mt->monotonic ? PROMTEXT_COUNTER
                                                                              : PROMTEXT_OTHER;
            lt_buf name = {0};
            promtext_name(&name, LT_STR("otel"), mt->name, mt->unit, kind);
            char q[512];
            if (mt->type == LT_METRIC_GAUGE || mt->type == LT_METRIC_SUM) {
                double want = 0;
                for (uint32_t p = 0; p < mt->n_points; p++)
                    want += number_value(&mt->points.number[p]);
                snprintf(q, sizeof q, "sum(%s{env=\"ci\"})", name.data);
                double got = prom_value(&prom, q);
                if (!near(got, want)) fail_msg("%s: %g, sent %g", q, got, want);
                snprintf(q, sizeof q, "count(%s{env=\"ci\"})", name.data);
                assert_true(near(prom_value(&prom, q), mt->n_points));
                checked++;
            } else if (mt->type == LT_METRIC_HISTOGRAM) {
                double count = 0, sum = 0;
                for (uint32_t p = 0; p < mt->n_points; p++) {
                    count += (double)mt->points.histogram[p].count;
                    sum += mt->points.histogram[p].sum;
                }
                snprintf(q, sizeof q, "sum(%s_count{env=\"ci\"})", name.data);
                assert_true(near(prom_value(&prom, q), count));
                snprintf(q, sizeof q, "sum(%s_sum{env=\"ci\"})", name.data);
                double got = prom_value(&prom, q);
                if (!near(got, sum)) fail_msg("%s: %g, sent %g", q, got, sum);
                checked++;
            }
            buf_free(&name);
        }
    assert_true(checked >= 8);
    /* target_info takes the namespace too, as the collector's */
    assert_true(
        near(prom_value(&prom, "count(otel_target_info{env=\"ci\"})"), resources_with_info));

    /* target_info: { enabled: false } writes none; its metrics still go */
    snprintf(s, sizeof s,
             "{ endpoint: 'http://%s/api/v1/write', namespace: quiet, external_labels: { env: "
             "ci2 }, target_info: { enabled: false } }",
             prom.addr);
    ex = start("prometheusremotewrite/quiet", s, "metrics");
    assert_int_equal(export_metrics(ex, b), 0);
    WAIT_UNTIL(stats(ex).sent_requests == 1, 30);
    assert_int_equal(stats(ex).sent_requests, 1);
    export_stop(ex, 2000);
    assert_true(prom_value(&prom, "count({__name__=~\"quiet_.+\",env=\"ci2\"})") > 0);
    json_t *r = prom_query(&prom, "count(quiet_target_info{env=\"ci2\"})");
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    mx_free(m);
    prometheus_stop(&prom);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */
/* Batching                                                                           */
/* ---------------------------------------------------------------------------------- */

static exporter *start_batched(const char *id, const char *settings, const char *signal,
                               uint64_t timeout_ns, uint64_t size, uint64_t max)
{
    char err[1024];
    exporter *ex = NULL;
    if (build(id, settings, signal, &ex, NULL, err, sizeof err)) fail_msg("%s: %s", id, err);
    assert_int_equal(export_set_batching(ex, timeout_ns, size, max), 0);
    if (export_start(ex, err, sizeof err)) fail_msg("%s: start: %s", id, err);
    return ex;
}

static void send_traces(exporter *ex, fx_scenario **scs, int n)
{
    for (int s = 0; s < n; s++)
        for (int i = 0; i < scs[s]->n_tb; i++)
            assert_int_equal(export_traces(ex, &scs[s]->tb[i]), 0);
}

/* send_batch_size reached: the batches queued go as one request, read back whole from the
 * target; what waits for its timeout goes at stop. */
static void batch_merge(const char *id, const char *fmt, bool grpc)
{
    target t;
    target_up(&t, FOUR);
    fx_scenario **scs = t.scs;
    char s[512];
    int n_tb, n_lb;
    uint64_t spans = count_items(scs, 4, true, &n_tb), logs = count_items(scs, 4, false, &n_lb);
    assert_true(n_tb > 2);
    assert_true(logs > 0 && logs < spans); /* the logs stay below send_batch_size */
    snprintf(s, sizeof s, fmt, grpc ? t.srv.otlp_grpc : t.srv.otlp_http);
    exporter *ex = start_batched(id, s, "traces", 60000000000ull, spans, 0);
    send_traces(ex, scs, 4);
    WAIT_UNTIL(stats(ex).sent_requests == 1, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_requests, 1); /* n_tb batches, one request */
    assert_int_equal(st.sent_items, spans);
    assert_int_equal(st.failed_items + st.rejected_items, 0);
    assert_int_equal(st.queued_requests, 0);
    for (int sc = 0; sc < 4; sc++)
        for (int i = 0; i < scs[sc]->n_lb; i++)
            assert_int_equal(export_logs(ex, &scs[sc]->lb[i]), 0);
    assert_int_equal(stats(ex).queued_requests, n_lb); /* waiting for more */
    export_stop(ex, 5000);                             /* sends them */
    assert_int_equal(check_traces_stored(&t.srv, scs, 4), spans);
    assert_true(check_logs_stored(&t.srv, scs, 4) > 0);
    target_down(&t);
}

static void test_batch_merge(void **state)
{
    (void)state;
    batch_merge("otlp", "{ endpoint: '%s', tls: { insecure: true } }", true);
    batch_merge("otlphttp", "{ endpoint: 'http://%s' }", false);
}

/* send_batch_size never reached: the timeout sends what is there. */
static void test_batch_timeout(void **state)
{
    (void)state;
    target t;
    target_up(&t, (const char *const[]){"otel/rag-proto", "openinference/multi-agent", NULL});
    fx_scenario **scs = t.scs;
    char s[512];
    int n_tb;
    uint64_t spans = count_items(scs, 2, true, &n_tb);
    snprintf(s, sizeof s, "{ endpoint: '%s', tls: { insecure: true } }", t.srv.otlp_grpc);
    exporter *ex = start_batched("otlp", s, "traces", 100000000ull, 1000000000ull, 0);
    send_traces(ex, scs, 2);
    WAIT_UNTIL(stats(ex).sent_items == spans, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_items, spans); /* before any stop */
    assert_true(st.sent_requests >= 1 && st.sent_requests <= (uint64_t)n_tb);
    export_stop(ex, 0);
    assert_int_equal(check_traces_stored(&t.srv, scs, 2), spans);
    target_down(&t);
}

/* Each item of a batch (a span, log record or data point) as a request of its own, with its
 * resource, scope (and metric), appended to out in canonical protobuf; returns the items.
 * Two sequences of batches flatten to the same bytes when they hold the same items in the
 * same order under the same resources and scopes, however they are cut or merged. */
static uint64_t flatten(lt_buf *out, unsigned signal, const void *batch)
{
    uint64_t n = 0;
    if (signal == SIG_TRACES) {
        const lt_trace_batch *b = batch;
        for (uint32_t i = 0; i < b->n_rs; i++)
            for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++, n++) {
                    lt_scope_spans ss = b->rs[i].scopes[j];
                    lt_resource_spans rs = b->rs[i];
                    ss.spans += k, ss.n_spans = 1;
                    rs.scopes = &ss, rs.n_scopes = 1;
                    lt_trace_batch one = {.rs = &rs, .n_rs = 1, .n_spans = 1};
                    assert_int_equal(pb_encode_traces(out, &one), 0);
                }
    } else if (signal == SIG_LOGS) {
        const lt_log_batch *b = batch;
        for (uint32_t i = 0; i < b->n_rl; i++)
            for (uint32_t j = 0; j < b->rl[i].n_scopes; j++)
                for (uint32_t k = 0; k < b->rl[i].scopes[j].n_records; k++, n++) {
                    lt_scope_logs sl = b->rl[i].scopes[j];
                    lt_resource_logs rl = b->rl[i];
                    sl.records += k, sl.n_records = 1;
                    rl.scopes = &sl, rl.n_scopes = 1;
                    lt_log_batch one = {.rl = &rl, .n_rl = 1, .n_records = 1};
                    assert_int_equal(pb_encode_logs(out, &one), 0);
                }
    } else {
        const lt_metric_batch *b = batch;
        for (uint32_t i = 0; i < b->n_rm; i++)
            for (uint32_t j = 0; j < b->rm[i].n_scopes; j++)
                for (uint32_t k = 0; k < b->rm[i].scopes[j].n_metrics; k++) {
                    const lt_metric *m = &b->rm[i].scopes[j].metrics[k];
                    const model_message *msg = model_metric_point_msg(m->type);
                    for (uint32_t p = 0; p < m->n_points; p++, n++) {
                        lt_metric mc = *m;
                        model_metric_set_points(
                            &mc, (char *)(void *)m->points.number + (size_t)p * msg->size, 1);
                        lt_scope_metrics sm = b->rm[i].scopes[j];
                        lt_resource_metrics rm = b->rm[i];
                        sm.metrics = &mc, sm.n_metrics = 1;
                        rm.scopes = &sm, rm.n_scopes = 1;
                        lt_metric_batch one = {.rm = &rm, .n_rm = 1, .n_points = 1};
                        assert_int_equal(pb_encode_metrics(out, &one), 0);
                    }
                }
    }
    return n;
}

/* One batch cut by split.c into pieces of at most max items: exactly as many pieces as
 * that takes, each holding what it says, together the batch's items in order. */
static void check_split(unsigned signal, const void *b, uint64_t n_items, uint64_t max)
{
    lt_buf want = {0}, got = {0};
    assert_int_equal(flatten(&want, signal, b), n_items);
    ex_split sp;
    assert_int_equal(split_init(&sp, signal, b, max), 0);
    uint64_t n, pieces = 0;
    for (const void *piece; (piece = split_next(&sp, &n)); pieces++) {
        assert_true(n >= 1 && n <= max);
        uint64_t total = signal == SIG_TRACES    ? ((const lt_trace_batch *)piece)->n_spans
                         : signal == SIG_METRICS ? ((const lt_metric_batch *)piece)->n_points
                                                 : ((const lt_log_batch *)piece)->n_records;
        assert_int_equal(total, n);
        assert_int_equal(flatten(&got, signal, piece), n);
    }
    split_free(&sp);
    assert_int_equal(pieces, (n_items + max - 1) / max);
    assert_int_equal(got.len, want.len);
    if (want.len) assert_memory_equal(got.data, want.data, want.len);
    buf_free(&want);
    buf_free(&got);
}

static void test_split(void **state)
{
    (void)state;
    scenario_list all = {0};
    assert_true(fx_each(collect, &all) > 10);
    mx_set *m = mx_load(true);
    static const uint64_t maxes[] = {1, 2, 3, 7, 1000000};
    for (size_t x = 0; x < sizeof maxes / sizeof maxes[0]; x++) {
        for (int sc = 0; sc < all.n; sc++) {
            for (int i = 0; i < all.scs[sc]->n_tb; i++)
                check_split(SIG_TRACES, &all.scs[sc]->tb[i], all.scs[sc]->tb[i].n_spans, maxes[x]);
            for (int i = 0; i < all.scs[sc]->n_lb; i++)
                check_split(SIG_LOGS, &all.scs[sc]->lb[i], all.scs[sc]->lb[i].n_records, maxes[x]);
        }
        for (int i = 0; i < m->n; i++)
            check_split(SIG_METRICS, &m->b[i], m->b[i].n_points, maxes[x]);
    }
    /* containers without items are kept with the items around them, or left out at the end */
    fx_scenario *sc = all.scs[0];
    lt_resource_spans rs[4];
    for (int i = 0; i < 4; i++) {
        rs[i] = sc->tb[0].rs[0];
        rs[i].n_scopes = i % 2 ? 0 : 1; /* 1 and 3 hold nothing */
    }
    lt_trace_batch b = {.rs = rs, .n_rs = 4, .n_spans = 2 * rs[0].scopes[0].n_spans};
    check_split(SIG_TRACES, &b, b.n_spans, 1);
    /* containers only, levels without an element (found by fuzz_export): no piece */
    lt_resource_metrics rm = {.resource = m->b[0].rm[0].resource};
    lt_metric_batch mb = {.rm = &rm, .n_rm = 1};
    check_split(SIG_METRICS, &mb, 0, 2);
    for (int i = 0; i < all.n; i++)
        unload(all.scs[i]);
    mx_free(m);
}

/* send_batch_max_size: no request holds more items; a batch larger than that is split.
 * Every span arrives once, in order (file exporter: one line per request). */
static void test_batch_max(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    scenario_list all = {0};
    assert_true(fx_each(collect, &all) > 10);
    int n_tb;
    uint64_t spans = count_items(all.scs, all.n, true, &n_tb), largest = 0;
    for (int sc = 0; sc < all.n; sc++)
        for (int i = 0; i < all.scs[sc]->n_tb; i++)
            if (all.scs[sc]->tb[i].n_spans > largest) largest = all.scs[sc]->tb[i].n_spans;
    uint64_t max = largest / 2; /* the largest batches are split */
    assert_true(max >= 2);
    char path[4200], settings[4400];
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(settings, sizeof settings, "{ path: '%s' }", path);
    exporter *ex = start_batched("file", settings, "traces", 60000000000ull, max, max);
    send_traces(ex, all.scs, all.n);
    export_stop(ex, 5000); /* what waits for its timeout goes now, by the same bounds */

    lt_buf want = {0}, got = {0};
    for (int sc = 0; sc < all.n; sc++)
        for (int i = 0; i < all.scs[sc]->n_tb; i++)
            flatten(&want, SIG_TRACES, &all.scs[sc]->tb[i]);
    size_t n;
    char *text = read_file(path, &n);
    assert_non_null(text);
    int lines = 0, full = 0;
    uint64_t back = 0;
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        lt_arena *a = arena_new();
        lt_trace_batch b;
        assert_int_equal(otlp_decode_traces(a, OTLP_JSON, (uint8_t *)line, (size_t)(nl - line), &b),
                         0);
        if (b.n_spans > max)
            fail_msg("line %d: %" PRIu64 " spans, max %" PRIu64, lines, b.n_spans, max);
        full += b.n_spans == max;
        back += flatten(&got, SIG_TRACES, &b);
        lines++;
        arena_free(a);
    }
    assert_int_equal(back, spans);
    assert_true(lines < n_tb); /* merged */
    assert_true(full >= 2);    /* at least the largest batch, in two pieces */
    /* the requests hold the batches' spans in order, none twice, none lost */
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    buf_free(&want);
    buf_free(&got);
    free(text);
    for (int sc = 0; sc < all.n; sc++)
        unload(all.scs[sc]);
    rm_rf(dir);
}

/* The same bounds over the network: a real target stores every span of requests cut to
 * send_batch_max_size. */
static void test_batch_max_otlp(void **state)
{
    (void)state;
    target t;
    target_up(&t, (const char *const[]){"otel/multi-agent-proto", "traceloop/multi-agent", NULL});
    fx_scenario **scs = t.scs;
    char s[512];
    int n_tb;
    uint64_t spans = count_items(scs, 2, true, &n_tb);
    const uint64_t max = 3;
    snprintf(s, sizeof s, "{ endpoint: 'http://%s' }", t.srv.otlp_http);
    exporter *ex = start_batched("otlphttp", s, "traces", 100000000ull, max, max);
    send_traces(ex, scs, 2);
    WAIT_UNTIL(stats(ex).sent_items == spans, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_items, spans);
    assert_true(st.sent_requests >= (spans + max - 1) / max);
    assert_int_equal(st.failed_items, 0);
    export_stop(ex, 0);
    assert_int_equal(check_traces_stored(&t.srv, scs, 2), spans);
    target_down(&t);
}

/* A disk queue with batching: the batches of a merged request stay on disk until it is
 * delivered, across a stop; metrics too. */
static void test_batch_disk_queue(void **state)
{
    (void)state;
    char *dir = tmpdir_new();
    char data[4200], q[4200], grpc[64], s[4800];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(q, sizeof q, "%s/queue", dir);
    snprintf(grpc, sizeof grpc, "127.0.0.1:%d", free_port());
    snprintf(s, sizeof s,
             "{ endpoint: '%s', tls: { insecure: true }, retry_on_failure: { initial_interval: "
             "50ms, max_interval: 100ms }, sending_queue: { num_consumers: 2, directory: '%s' } }",
             grpc, q);
    fx_scenario *scs[2] = {load("otel/streaming-proto"), load("langfuse/errors")};
    mx_set *m = mx_load(false);
    int n_tb;
    uint64_t spans = count_items(scs, 2, true, &n_tb);
    const uint64_t never = 1000000000ull; /* send_batch_size: only the timeout sends */
    assert_true(n_tb > 1 && m->sendable > 1);

    /* the target is down: merged requests are retried, and every batch stays on disk */
    exporter *ex = start_batched("otlp", s, "traces", 100000000ull, never, 0);
    send_traces(ex, scs, 2);
    int mb = send_metrics(ex, m);
    WAIT_UNTIL(stats(ex).retries >= 2, 20);
    assert_true(stats(ex).retries >= 2);
    assert_int_equal(count_suffix(q, ".batch"), n_tb + mb);
    export_stop(ex, 0);
    assert_int_equal(count_suffix(q, ".batch"), n_tb + mb);

    /* the next start with the target up: everything is queued before the consumers run, so
     * at the timeout each signal goes as one request; the files go once it is delivered */
    server srv = {0};
    server_start(&srv, data, grpc, "127.0.0.1:0", NULL);
    ex = start_batched("otlp", s, "traces", 100000000ull, never, 0);
    WAIT_UNTIL(stats(ex).sent_items == spans + m->points, 60);
    export_stats st = stats(ex);
    assert_int_equal(st.sent_items, spans + m->points);
    assert_int_equal(st.sent_requests, 2);
    assert_int_equal(st.failed_items, 0);
    assert_int_equal(count_suffix(q, ".batch"), 0);
    export_stop(ex, 1000);
    assert_int_equal(check_traces_stored(&srv, scs, 2), spans);
    server_stop(&srv);
    unload(scs[0]);
    unload(scs[1]);
    mx_free(m);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------------- */

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(export_global_init(), 0);
    /* LT_TEST_FILTER=test_disk_queue runs one test (cmocka's pattern) */
    if (getenv("LT_TEST_FILTER")) cmocka_set_test_filter(getenv("LT_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_file_lines),
        cmocka_unit_test(test_file_rotation),   cmocka_unit_test(test_debug),
        cmocka_unit_test(test_otlp_grpc),       cmocka_unit_test(test_otlphttp),
        cmocka_unit_test(test_retry_until_up),  cmocka_unit_test(test_wrong_token),
        cmocka_unit_test(test_partial_success), cmocka_unit_test(test_retries_run_out),
        cmocka_unit_test(test_answers),         cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_disk_queue),      cmocka_unit_test(test_prometheus_remote_write),
        cmocka_unit_test(test_metrics_file),    cmocka_unit_test(test_metrics_debug),
        cmocka_unit_test(test_metrics_otlp),    cmocka_unit_test(test_metrics_remote_write),
        cmocka_unit_test(test_batch_merge),     cmocka_unit_test(test_batch_timeout),
        cmocka_unit_test(test_split),           cmocka_unit_test(test_batch_max),
        cmocka_unit_test(test_batch_max_otlp),  cmocka_unit_test(test_batch_disk_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
