/* client.c — the HTTP side of the network exporters: settings and libcurl requests.
 *
 * One libcurl easy handle per sending thread, kept between requests, so a connection (and
 * for gRPC its HTTP/2 session) is reused. Plaintext gRPC is HTTP/2 by prior knowledge (h2c,
 * what an OTLP/gRPC receiver's plaintext port speaks); over TLS HTTP/2 is negotiated by
 * ALPN and a server that does not agree is an error. HTTP/2 trailers reach the header
 * callback like headers, which is where grpc-status and grpc-message usually are. A stop
 * cuts a request short through the progress callback once the grace period is over. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "export/export_int.h"

/* ---------------------------------------------------------------------------------- */
/* Settings                                                                           */
/* ---------------------------------------------------------------------------------- */

static const char GRPC_TRACES[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
static const char GRPC_METRICS[] =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
static const char GRPC_LOGS[] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

static char *str_dup(const char *s)
{
    return lt_strndup(s, strlen(s));
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    char *s = lt_malloc(n + m + 1);
    if (!s) return NULL;
    memcpy(s, a, n);
    memcpy(s + n, b, m + 1);
    return s;
}

static int add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n) return LT_ENOMEM;
    *l = n;
    return 0;
}

/* A URL with scheme http or https and a host; *tls tells which. */
static int check_url(const ex_cfg *c, const cfg_node *at, const char *key, const char *url,
                     bool *tls)
{
    if (!strstr(url, "://"))
        return ex_error(c, at, key, "'%s' is not a URL (http://HOST:PORT/... or https://...)", url);
    CURLU *u = curl_url();
    if (!u) return LT_ENOMEM;
    char *scheme = NULL, *host = NULL;
    int rc = 0;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        rc = ex_error(c, at, key, "'%s' is not a URL (%s)", url, curl_url_strerror(uc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https")))
        rc = ex_error(c, at, key, "'%s': the scheme must be http or https", url);
    else if (!host || !*host)
        rc = ex_error(c, at, key, "'%s' has no host", url);
    else
        *tls = strcmp(scheme, "https") == 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* otlp's endpoint: HOST:PORT, [V6]:PORT, or the same behind http:// or https://. Writes
 * HOST:PORT into hostport; *scheme_tls is 1 for https, 0 for http, -1 without a scheme. */
static int grpc_endpoint(const ex_cfg *c, const cfg_node *at, const char *ep, char *hostport,
                         size_t n, int *scheme_tls)
{
    const char *hp = ep;
    *scheme_tls = -1;
    if (!strncmp(ep, "http://", 7)) {
        hp = ep + 7;
        *scheme_tls = 0;
    } else if (!strncmp(ep, "https://", 8)) {
        hp = ep + 8;
        *scheme_tls = 1;
    } else if (strstr(ep, "://")) {
        return ex_error(c, at, "endpoint", "'%s': the scheme must be http or https", ep);
    }
    size_t len = strlen(hp);
    if (len && hp[len - 1] == '/') len--;
    const char *colon = NULL;
    if (len && hp[0] == '[') {
        const char *close = memchr(hp, ']', len);
        if (close && close + 1 < hp + len && close[1] == ':') colon = close + 1;
    } else {
        colon = memrchr(hp, ':', len);
        if (colon && memchr(hp, ':', (size_t)(colon - hp))) colon = NULL; /* bare IPv6 */
    }
    uint64_t port = 0;
    if (!colon || colon == hp || memchr(hp, '/', len) ||
        parse_u64((lt_str){colon + 1, (size_t)(hp + len - colon - 1)}, &port) || port == 0 ||
        port > 65535)
        return ex_error(c, at, "endpoint",
                        "'%s' is not HOST:PORT (a gRPC endpoint has a host and a port, no path)",
                        ep);
    if ((size_t)snprintf(hostport, n, "%.*s", (int)len, hp) >= n)
        return ex_error(c, at, "endpoint", "too long");
    return 0;
}

static int parse_tls(const ex_cfg *c, const cfg_node *settings, ex_client *cl, bool *insecure,
                     const cfg_node **insecure_at, bool *any_tls_option)
{
    const cfg_node *m = cfg_get(settings, "tls");
    *insecure = false;
    *insecure_at = NULL;
    *any_tls_option = false;
    if (!m || m->kind != CFG_MAP) return 0;
    ex_cfg s;
    char w[256];
    ex_sub(c, "tls", &s, w, sizeof w);
    const char *ca = NULL, *cert = NULL, *key = NULL;
    int rc;
    if ((rc = ex_opt_bool(&s, m, "insecure", insecure)) ||
        (rc = ex_opt_bool(&s, m, "insecure_skip_verify", &cl->skip_verify)) ||
        (rc = ex_opt_string(&s, m, "ca_file", &ca)) ||
        (rc = ex_opt_string(&s, m, "cert_file", &cert)) ||
        (rc = ex_opt_string(&s, m, "key_file", &key)))
        return rc;
    *insecure_at = cfg_get(m, "insecure");
    static const char *const files[] = {"ca_file", "cert_file", "key_file"};
    const char *vals[] = {ca, cert, key};
    char **dst[] = {&cl->ca_file, &cl->cert_file, &cl->key_file};
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        *any_tls_option = true;
        if (access(vals[i], R_OK))
            return ex_error(&s, cfg_get(m, files[i]), files[i], "cannot read '%s': %s", vals[i],
                            strerror(errno));
        if (!(*dst[i] = str_dup(vals[i]))) return LT_ENOMEM;
    }
    if (!cert != !key)
        return ex_error(&s, cfg_get(m, cert ? "cert_file" : "key_file"),
                        cert ? "cert_file" : "key_file", "needs %s as well",
                        cert ? "key_file" : "cert_file");
    if (cl->skip_verify) *any_tls_option = true;
    return 0;
}

static bool tchar(char ch)
{
    return isalnum((unsigned char)ch) || strchr("!#$%&'*+-.^_`|~", ch);
}

static int parse_headers(const ex_cfg *c, const cfg_node *settings, ex_type type, ex_client *cl,
                         bool *own_agent)
{
    const cfg_node *m = cfg_get(settings, "headers");
    *own_agent = false;
    if (!m || m->kind != CFG_MAP) return 0;
    ex_cfg s;
    char w[256];
    ex_sub(c, "headers", &s, w, sizeof w);
    if (m->n > EX_MAX_HEADERS) return ex_error(c, m, "headers", "more than %d", EX_MAX_HEADERS);
    static const char *const reserved[] = {
        "content-type", "content-encoding", "content-length", "transfer-encoding",
        "te",           "connection",       "host",           "expect"};
    for (size_t i = 0; i < m->n; i++) {
        const cfg_node *v = m->items[i];
        const char *name = v->key, *value = NULL;
        size_t nl = strlen(name);
        if (!nl || nl > EX_MAX_HEADER_LEN)
            return ex_error(&s, v, NULL, "'%.64s' is not a header name", name);
        for (size_t k = 0; k < nl; k++)
            if (!tchar(name[k]))
                return ex_error(&s, v, NULL, "'%.64s' is not a header name (RFC 9110 token)", name);
        for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
            if (!strcasecmp(name, reserved[k]))
                return ex_error(&s, v, NULL, "'%s' is set by the exporter itself", name);
        if (type == EX_OTLP && !strncasecmp(name, "grpc-", 5))
            return ex_error(&s, v, NULL, "'%s': grpc-* headers are set by the exporter itself",
                            name);
        if (v->kind != CFG_SCALAR) return ex_error(&s, v, name, "a header value is a string");
        value = v->scalar;
        size_t vl = strlen(value);
        if (vl > EX_MAX_HEADER_LEN)
            return ex_error(&s, v, name, "longer than %d bytes", EX_MAX_HEADER_LEN);
        for (size_t k = 0; k < vl; k++)
            if ((unsigned char)value[k] < 0x20 && value[k] != '\t')
                return ex_error(&s, v, name, "control characters are not allowed in a value");
        if (!strcasecmp(name, "user-agent")) *own_agent = true;
        char *line = lt_malloc(nl + vl + 3);
        if (!line) return LT_ENOMEM;
        for (size_t k = 0; k < nl; k++) /* HTTP/2 wants lower-case names */
            line[k] = type == EX_OTLP ? (char)tolower((unsigned char)name[k]) : name[k];
        /* "name;" is how libcurl sends a header with an empty value */
        snprintf(line + nl, vl + 3, vl ? ": %s" : ";", value);
        int rc = add_header(&cl->headers, line);
        lt_free(line);
        if (rc) return rc;
    }
    return 0;
}

/* otlphttp without endpoint: the signal endpoint a used signal lacks ("" when none is
 * given at all), or NULL when each used signal has its own. */
static const char *missing_endpoint(unsigned signals, const char *te, const char *me,
                                    const char *le)
{
    if (!te && !me && !le) return "";
    if ((signals & SIG_TRACES) && !te) return "traces_endpoint";
    if ((signals & SIG_METRICS) && !me) return "metrics_endpoint";
    if ((signals & SIG_LOGS) && !le) return "logs_endpoint";
    return NULL;
}

int ex_client_parse(const ex_cfg *c, const cfg_node *settings, ex_type type, unsigned signals,
                    ex_client *cl)
{
    int rc;
    const char *ep = NULL, *te = NULL, *me = NULL, *le = NULL, *comp = NULL;
    if ((rc = ex_opt_string(c, settings, "endpoint", &ep))) return rc;
    if (!ep) ep = c->endpoint;
    if (type == EX_OTLPHTTP && ((rc = ex_opt_string(c, settings, "traces_endpoint", &te)) ||
                                (rc = ex_opt_string(c, settings, "metrics_endpoint", &me)) ||
                                (rc = ex_opt_string(c, settings, "logs_endpoint", &le))))
        return rc;
    const cfg_node *ep_at = cfg_get(settings, "endpoint");
    const char *missing = ep && *ep ? NULL : missing_endpoint(signals, te, me, le);
    if (missing) {
        const cfg_node *at = ep_at ? ep_at : settings;
        if (ep) return ex_error(c, at, "endpoint", "is empty");
        if (*missing)
            return ex_error(c, at, "endpoint", "is required (or %s, for the %s pipelines)", missing,
                            missing[0] == 't'   ? "traces"
                            : missing[0] == 'm' ? "metrics"
                                                : "logs");
        return ex_error(c, at, "endpoint", "is required");
    }
    if (ep && !*ep) ep = NULL; /* every used signal has its own */

    uint64_t timeout = 5000000000ull;
    if ((rc = ex_opt_duration(c, settings, "timeout", true, &timeout))) return rc;
    cl->timeout_ms = (long)(timeout / 1000000u);
    if (cl->timeout_ms < 1) cl->timeout_ms = 1;

    cl->gzip = type != EX_PRW; /* the collector's default for otlp and otlphttp */
    if (type != EX_PRW && (rc = ex_opt_string(c, settings, "compression", &comp))) return rc;
    if (comp) {
        if (!strcmp(comp, "gzip"))
            cl->gzip = true;
        else if (!strcmp(comp, "none") || !*comp)
            cl->gzip = false;
        else
            return ex_error(c, cfg_get(settings, "compression"), "compression",
                            "'%s' is not supported (gzip or none)", comp);
    }

    bool insecure, tls_opts;
    const cfg_node *insecure_at;
    if ((rc = parse_tls(c, settings, cl, &insecure, &insecure_at, &tls_opts))) return rc;

    bool tls = false;
    if (type == EX_OTLP) {
        char hostport[1024], base[1100];
        int scheme_tls;
        if ((rc = grpc_endpoint(c, ep_at, ep, hostport, sizeof hostport, &scheme_tls))) return rc;
        if (scheme_tls == 1 && insecure)
            return ex_error(c, insecure_at, "tls.insecure",
                            "the endpoint is https:// (TLS); use http:// or HOST:PORT for "
                            "plaintext");
        tls = scheme_tls == 1 || (scheme_tls == -1 && !insecure);
        snprintf(base, sizeof base, "%s://%s", tls ? "https" : "http", hostport);
        if (!(cl->url_traces = join(base, GRPC_TRACES)) ||
            !(cl->url_metrics = join(base, GRPC_METRICS)) ||
            !(cl->url_logs = join(base, GRPC_LOGS)))
            return LT_ENOMEM;
        cl->grpc = true;
        cl->h2_prior = !tls;
    } else {
        static const char *const keys[] = {"endpoint", "traces_endpoint", "metrics_endpoint",
                                           "logs_endpoint"};
        const char *urls[] = {ep, te, me, le};
        for (int i = 0; i < 4; i++) {
            bool t = false;
            if (urls[i] && (rc = check_url(c, cfg_get(settings, keys[i]), keys[i], urls[i], &t)))
                return rc;
            tls = tls || t;
        }
        if (tls && insecure)
            return ex_error(c, insecure_at, "tls.insecure",
                            "an endpoint is https:// (TLS); plaintext needs http://");
        if (type == EX_PRW) {
            if (!(cl->url_traces = str_dup(ep))) return LT_ENOMEM;
        } else {
            /* the collector: ENDPOINT/v1/traces unless given whole; a signal with neither
             * (not used by any pipeline) has no URL */
            size_t n = ep ? strlen(ep) : 0;
            char *trimmed = ep ? lt_strndup(ep, n && ep[n - 1] == '/' ? n - 1 : n) : NULL;
            if (ep && !trimmed) return LT_ENOMEM;
            const char *given[] = {te, me, le},
                       *paths[] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
            char **dst[] = {&cl->url_traces, &cl->url_metrics, &cl->url_logs};
            for (int i = 0; i < 3; i++) {
                *dst[i] = given[i] ? str_dup(given[i]) : trimmed ? join(trimmed, paths[i]) : NULL;
                if ((given[i] || trimmed) && !*dst[i]) rc = LT_ENOMEM;
            }
            lt_free(trimmed);
            if (rc) return rc;
        }
    }
    if (!tls && tls_opts)
        return ex_error(c, cfg_get(settings, "tls"), "tls",
                        "TLS settings for a plaintext endpoint (it would not use them)");

    bool own_agent;
    if ((rc = parse_headers(c, settings, type, cl, &own_agent))) return rc;
    if (!own_agent && (rc = add_header(&cl->headers, "User-Agent: llmtrace"))) return rc;
    if (type == EX_OTLP) {
        char t[64];
        /* gRPC: at most 8 digits of the unit */
        if (cl->timeout_ms <= 99999999)
            snprintf(t, sizeof t, "grpc-timeout: %ldm", cl->timeout_ms);
        else
            snprintf(t, sizeof t, "grpc-timeout: %ldS",
                     cl->timeout_ms / 1000 > 99999999 ? 99999999L : cl->timeout_ms / 1000);
        if ((rc = add_header(&cl->headers, "content-type: application/grpc")) ||
            (rc = add_header(&cl->headers, "te: trailers")) ||
            (rc = add_header(&cl->headers, "grpc-accept-encoding: gzip")) ||
            (rc = add_header(&cl->headers, t)) ||
            (cl->gzip && (rc = add_header(&cl->headers, "grpc-encoding: gzip"))))
            return rc;
    } else if (type == EX_OTLPHTTP) {
        if ((rc = add_header(&cl->headers, "Content-Type: application/x-protobuf")) ||
            (rc = add_header(&cl->headers, "Expect:")) ||
            (cl->gzip && (rc = add_header(&cl->headers, "Content-Encoding: gzip"))))
            return rc;
    } else {
        /* Prometheus remote write 1.0 */
        if ((rc = add_header(&cl->headers, "Content-Type: application/x-protobuf")) ||
            (rc = add_header(&cl->headers, "Content-Encoding: snappy")) ||
            (rc = add_header(&cl->headers, "X-Prometheus-Remote-Write-Version: 0.1.0")) ||
            (rc = add_header(&cl->headers, "Expect:")))
            return rc;
    }
    return 0;
}

const char *ex_client_url(const ex_client *cl, unsigned signal)
{
    return signal == SIG_TRACES    ? cl->url_traces
           : signal == SIG_METRICS ? cl->url_metrics
                                   : cl->url_logs;
}

int ex_client_copy(ex_client *dst, const ex_client *src, const char *hostport)
{
    *dst = *src;
    dst->url_traces = dst->url_metrics = dst->url_logs = NULL;
    dst->ca_file = dst->cert_file = dst->key_file = NULL;
    dst->headers = NULL;
    const char *const from[] = {src->ca_file, src->cert_file, src->key_file};
    char **const to[] = {&dst->ca_file, &dst->cert_file, &dst->key_file};
    for (int i = 0; i < 3; i++)
        if (from[i] && !(*to[i] = str_dup(from[i]))) return LT_ENOMEM;
    for (const struct curl_slist *h = src->headers; h; h = h->next)
        if (add_header(&dst->headers, h->data)) return LT_ENOMEM;
    /* the scheme of the original, the paths of gRPC */
    bool tls = src->url_traces && !strncmp(src->url_traces, "https:", 6);
    char base[1100];
    if ((size_t)snprintf(base, sizeof base, "%s://%s", tls ? "https" : "http", hostport) >=
        sizeof base)
        return LT_ENOMEM;
    if (!(dst->url_traces = join(base, GRPC_TRACES)) ||
        !(dst->url_metrics = join(base, GRPC_METRICS)) || !(dst->url_logs = join(base, GRPC_LOGS)))
        return LT_ENOMEM;
    return 0;
}

void ex_client_free(ex_client *cl)
{
    lt_free(cl->url_traces);
    lt_free(cl->url_metrics);
    lt_free(cl->url_logs);
    lt_free(cl->ca_file);
    lt_free(cl->cert_file);
    lt_free(cl->key_file);
    curl_slist_free_all(cl->headers);
    memset(cl, 0, sizeof *cl);
}

/* ---------------------------------------------------------------------------------- */
/* Requests                                                                           */
/* ---------------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)size; /* always 1 */
    ex_reply *rep = ud;
    size_t room = rep->body.len < EX_MAX_REPLY ? EX_MAX_REPLY - rep->body.len : 0;
    buf_append(&rep->body, p, n < room ? n : room);
    return n;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    (void)size;
    ex_reply *rep = ud;
    size_t len = n;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* a new answer (after a 100 Continue, say): forget the previous one's headers */
        rep->content_type[0] = 0;
        rep->retry_after_ns = 0;
        return n;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return n;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    while (v < p + len && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(p + len - v);
#define IS(name) (nl == sizeof(name) - 1 && !strncasecmp(p, name, nl))
    if (IS("content-type")) {
        copy_value(rep->content_type, sizeof rep->content_type, v, vl);
    } else if (IS("retry-after")) {
        rep->retry_after_ns = ex_retry_after(v, vl);
    } else if (IS("grpc-status")) {
        uint64_t code;
        if (!parse_u64((lt_str){v, vl}, &code) && code < 64) {
            rep->has_grpc_status = true;
            rep->grpc_status = (int)code;
        }
    } else if (IS("grpc-message")) {
        /* percent-encoded (gRPC over HTTP/2) */
        size_t o = 0;
        for (size_t i = 0; i < vl && o + 1 < sizeof rep->grpc_message; i++) {
            char ch = v[i];
            uint8_t byte;
            if (ch == '%' && i + 2 < vl && !hex_decode((lt_str){v + i + 1, 2}, &byte, 1)) {
                ch = (char)byte;
                i += 2;
            }
            rep->grpc_message[o++] = (unsigned char)ch < 0x20 ? ' ' : ch;
        }
        rep->grpc_message[o] = 0;
    } else if (IS("grpc-encoding")) {
        copy_value(rep->grpc_encoding, sizeof rep->grpc_encoding, v, vl);
    } else if (IS("grpc-status-details-bin")) {
        rep->grpc_details.len = 0;
        if (vl <= EX_MAX_REPLY) buf_append(&rep->grpc_details, v, vl);
    }
#undef IS
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return ex_past_deadline(ud) ? 1 : 0;
}

/* libcurl before 8.0.0 fails a request on a reused HTTP/2 prior-knowledge connection ("Error
 * in the HTTP2 framing layer", curl issue 10634, fixed in 8.0.0); Debian 12 has 7.88.1.
 * There, plaintext gRPC opens a connection per request. */
static bool prior_knowledge_reuse_broken(void)
{
    return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

void reply_free(ex_reply *rep)
{
    buf_free(&rep->body);
    buf_free(&rep->grpc_details);
}

int ex_client_post(exporter *ex, ex_consumer *c, const char *url, const lt_buf *body, ex_reply *rep)
{
    const ex_client *cl = &ex->client;
    memset(rep, 0, sizeof *rep);
    CURL *h = c->curl;
    if (!h) {
        if (!(h = curl_easy_init())) return LT_ENOMEM;
        c->curl = h;
    }
    long timeout = cl->timeout_ms;
    if (__atomic_load_n(&ex->stopping, __ATOMIC_ACQUIRE)) {
        uint64_t now = time_mono_ns(), end = __atomic_load_n(&ex->deadline_ns, __ATOMIC_ACQUIRE);
        long left = end > now ? (long)((end - now) / 1000000u) + 1 : 1;
        if (left < timeout) timeout = left;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, cl->headers);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data ? body->data : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: threads */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rep);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, ex);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cl->grpc)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         cl->h2_prior ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                      : (long)CURL_HTTP_VERSION_2TLS);
    if (cl->h2_prior && prior_knowledge_reuse_broken()) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (cl->skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cl->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, cl->ca_file);
    if (cl->cert_file) curl_easy_setopt(h, CURLOPT_SSLCERT, cl->cert_file);
    if (cl->key_file) curl_easy_setopt(h, CURLOPT_SSLKEY, cl->key_file);

    CURLcode cc = curl_easy_perform(h);
    if (rep->body.oom || rep->grpc_details.oom) return LT_ENOMEM;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rep->status);
    /* A server may answer a failure before the request is all sent, then reset the stream
     * or close (HTTP/2 8.1, a gRPC trailers-only answer): libcurl reports the reset, but the
     * answer is whole and is what counts. A success cut short is not trusted. */
    bool answered = cl->grpc ? rep->has_grpc_status && rep->grpc_status != 0 : rep->status >= 300;
    if (cc != CURLE_OK && cc != CURLE_ABORTED_BY_CALLBACK && answered) cc = CURLE_OK;
    if (cc != CURLE_OK) {
        rep->status = 0;
        rep->reset = cc == CURLE_HTTP2_STREAM;
        snprintf(rep->transport_err, sizeof rep->transport_err, "%s: %s", url,
                 cc == CURLE_ABORTED_BY_CALLBACK ? "stopped" : curl_easy_strerror(cc));
        return LT_EIO;
    }
    long version = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    if (cl->grpc && version != CURL_HTTP_VERSION_2_0) {
        snprintf(rep->transport_err, sizeof rep->transport_err,
                 "%s: the server does not speak HTTP/2 (gRPC needs it)", url);
        rep->status = 0;
        return LT_EIO;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Helpers                                                                            */
/* ---------------------------------------------------------------------------------- */

uint64_t ex_retry_after(const char *v, size_t n)
{
    char tmp[64];
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (!n || n >= sizeof tmp) return 0;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    const uint64_t hour = 3600;
    uint64_t secs;
    if (!parse_u64((lt_str){tmp, n}, &secs)) return (secs > hour ? hour : secs) * 1000000000ull;
    time_t when = curl_getdate(tmp, NULL);
    time_t now = time(NULL);
    if (when == (time_t)-1 || when <= now) return 0;
    secs = (uint64_t)(when - now);
    return (secs > hour ? hour : secs) * 1000000000ull;
}
