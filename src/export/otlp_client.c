/* otlp_client.c — OTLP export requests over gRPC and HTTP, and what their answers mean.
 *
 * gRPC (OTLP spec, "OTLP/gRPC"; gRPC over HTTP/2): POST to the service's Export method with
 * one length-prefixed message (Compressed-Flag, 4-byte big-endian length), gzip when
 * configured (grpc-encoding). The answer's grpc-status decides: OK reads the response
 * message for a partial_success; the retryable codes are those the OTLP spec lists
 * (CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
 * RESOURCE_EXHAUSTED only with a google.rpc.RetryInfo in grpc-status-details-bin, whose delay
 * is honoured); every other code is permanent. An answer without grpc-status maps its HTTP
 * status as gRPC's "HTTP to gRPC status code mapping" says.
 *
 * HTTP (OTLP spec, "OTLP/HTTP"): POST application/x-protobuf, Content-Encoding gzip when
 * configured. 2xx is success (partial_success read from the body); 429, 502, 503 and 504 are
 * retryable, honouring Retry-After; every other status is permanent, its google.rpc.Status
 * message quoted in the log. A request that got no answer at all is retryable. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "export/export_int.h"
#include "model/pb.h"
#include "otlp/otlp.h"

enum {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
    GRPC_UNAUTHENTICATED = 16,
};

static const char *grpc_name(int code)
{
    static const char *const names[] = {"OK",
                                        "CANCELLED",
                                        "UNKNOWN",
                                        "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION",
                                        "ABORTED",
                                        "OUT_OF_RANGE",
                                        "UNIMPLEMENTED",
                                        "INTERNAL",
                                        "UNAVAILABLE",
                                        "DATA_LOSS",
                                        "UNAUTHENTICATED"};
    return code >= 0 && code < (int)(sizeof names / sizeof names[0]) ? names[code] : "?";
}

bool otlp_grpc_retryable(int code, bool has_retry_info)
{
    switch (code) {
    case GRPC_CANCELLED:
    case GRPC_DEADLINE_EXCEEDED:
    case GRPC_ABORTED:
    case GRPC_OUT_OF_RANGE:
    case GRPC_UNAVAILABLE:
    case GRPC_DATA_LOSS:
        return true;
    case GRPC_RESOURCE_EXHAUSTED:
        return has_retry_info;
    default:
        return false;
    }
}

/* ---- reading protobuf answers (untrusted: every length is checked) ---- */

typedef struct {
    const uint8_t *p, *end;
} rd;

/* Reads a tag; 0 at the end, 1 with *field and *wt, -1 when malformed. */
static int next_field(rd *r, uint64_t *field, unsigned *wt)
{
    if (r->p >= r->end) return 0;
    uint64_t tag;
    if (pb_get_varint(&r->p, r->end, &tag) || (tag >> 3) == 0) return -1;
    *field = tag >> 3;
    *wt = (unsigned)(tag & 7);
    return 1;
}

static int get_len(rd *r, rd *sub)
{
    uint64_t n;
    if (pb_get_varint(&r->p, r->end, &n) || n > (uint64_t)(r->end - r->p)) return LT_EINVAL;
    *sub = (rd){r->p, r->p + n};
    r->p += n;
    return 0;
}

static int skip(rd *r, unsigned wt)
{
    uint64_t v;
    rd sub;
    switch (wt) {
    case 0:
        return pb_get_varint(&r->p, r->end, &v);
    case 1:
        if (r->end - r->p < 8) return LT_EINVAL;
        r->p += 8;
        return 0;
    case 2:
        return get_len(r, &sub);
    case 5:
        if (r->end - r->p < 4) return LT_EINVAL;
        r->p += 4;
        return 0;
    default:
        return LT_EINVAL; /* groups are not part of these messages */
    }
}

int otlp_parse_response(const uint8_t *p, size_t n, uint64_t *rejected, lt_str *msg)
{
    rd r = {p, p + n};
    uint64_t f;
    unsigned wt;
    int k;
    *rejected = 0;
    *msg = LT_STR_NULL;
    while ((k = next_field(&r, &f, &wt)) > 0) {
        if (f != 1 || wt != 2) { /* partial_success */
            if (skip(&r, wt)) return LT_EINVAL;
            continue;
        }
        rd ps;
        if (get_len(&r, &ps)) return LT_EINVAL;
        while ((k = next_field(&ps, &f, &wt)) > 0) {
            if (f == 1 && wt == 0) { /* rejected_spans / _data_points / _log_records */
                if (pb_get_varint(&ps.p, ps.end, rejected)) return LT_EINVAL;
            } else if (f == 2 && wt == 2) { /* error_message */
                rd s;
                if (get_len(&ps, &s)) return LT_EINVAL;
                *msg = (lt_str){(const char *)s.p, (size_t)(s.end - s.p)};
            } else if (skip(&ps, wt)) {
                return LT_EINVAL;
            }
        }
        if (k < 0) return LT_EINVAL;
    }
    return k < 0 ? LT_EINVAL : 0;
}

static const char RETRY_INFO[] = "type.googleapis.com/google.rpc.RetryInfo";

/* RetryInfo { Duration retry_delay = 1 }, Duration { int64 seconds = 1; int32 nanos = 2 } */
static int parse_retry_info(rd r, uint64_t *ns)
{
    uint64_t f, v;
    unsigned wt;
    int k;
    while ((k = next_field(&r, &f, &wt)) > 0) {
        if (f != 1 || wt != 2) {
            if (skip(&r, wt)) return LT_EINVAL;
            continue;
        }
        rd d;
        if (get_len(&r, &d)) return LT_EINVAL;
        int64_t secs = 0, nanos = 0;
        while ((k = next_field(&d, &f, &wt)) > 0) {
            if (wt == 0 && (f == 1 || f == 2)) {
                if (pb_get_varint(&d.p, d.end, &v)) return LT_EINVAL;
                if (f == 1)
                    secs = (int64_t)v;
                else
                    nanos = (int32_t)(uint32_t)v;
            } else if (skip(&d, wt)) {
                return LT_EINVAL;
            }
        }
        if (k < 0) return LT_EINVAL;
        /* negative or absurd delays: no delay asked for, but still a RetryInfo */
        const int64_t hour = 3600;
        if (secs < 0 || nanos < 0 || nanos > 999999999) secs = nanos = 0;
        if (secs > hour) secs = hour, nanos = 0;
        *ns = (uint64_t)secs * 1000000000ull + (uint64_t)nanos;
        if (*ns == 0) *ns = 1; /* present: RESOURCE_EXHAUSTED becomes retryable */
    }
    return k < 0 ? LT_EINVAL : 0;
}

int otlp_parse_status(const uint8_t *p, size_t n, uint64_t *retry_ns, lt_str *msg)
{
    rd r = {p, p + n};
    uint64_t f;
    unsigned wt;
    int k;
    *retry_ns = 0;
    *msg = LT_STR_NULL;
    while ((k = next_field(&r, &f, &wt)) > 0) {
        if (f == 2 && wt == 2) { /* message */
            rd s;
            if (get_len(&r, &s)) return LT_EINVAL;
            *msg = (lt_str){(const char *)s.p, (size_t)(s.end - s.p)};
        } else if (f == 3 && wt == 2) { /* details: Any { type_url = 1, value = 2 } */
            rd any;
            if (get_len(&r, &any)) return LT_EINVAL;
            lt_str type = LT_STR_NULL;
            rd value = {NULL, NULL};
            while ((k = next_field(&any, &f, &wt)) > 0) {
                rd s;
                if ((f == 1 || f == 2) && wt == 2) {
                    if (get_len(&any, &s)) return LT_EINVAL;
                    if (f == 1)
                        type = (lt_str){(const char *)s.p, (size_t)(s.end - s.p)};
                    else
                        value = s;
                } else if (skip(&any, wt)) {
                    return LT_EINVAL;
                }
            }
            if (k < 0) return LT_EINVAL;
            if (lt_str_eq(type, LT_STR(RETRY_INFO)) && value.p && parse_retry_info(value, retry_ns))
                return LT_EINVAL;
        } else if (skip(&r, wt)) {
            return LT_EINVAL;
        }
    }
    return k < 0 ? LT_EINVAL : 0;
}

/* ---- one attempt ---- */

/* The printable start of a text for a log line. */
static void quote(char *dst, size_t cap, lt_str s)
{
    size_t o = 0;
    for (size_t i = 0; i < s.len && o + 1 < cap; i++)
        dst[o++] = (unsigned char)s.ptr[i] < 0x20 ? ' ' : s.ptr[i];
    dst[o] = 0;
}

/* The response message of a gRPC OK: one length-prefixed message, maybe gzip. */
static void grpc_ok(const ex_reply *rep, ex_result *r)
{
    const uint8_t *p = (const uint8_t *)rep->body.data;
    size_t n = rep->body.len;
    r->outcome = EX_SENT;
    if (n < 5) return; /* an empty answer: nothing to say about partial success */
    uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    if (len > n - 5) return;
    lt_buf plain = {0};
    const uint8_t *msg = p + 5;
    if (p[0] & 1) {
        if (strcmp(rep->grpc_encoding, "gzip") || otlp_gunzip(p + 5, len, EX_MAX_REPLY, &plain))
            goto out; /* delivered all the same; only the detail is unreadable */
        msg = (const uint8_t *)plain.data;
        len = (uint32_t)plain.len;
    }
    lt_str why;
    if (!otlp_parse_response(msg, len, &r->rejected, &why) && (r->rejected || why.len)) {
        char q[256];
        quote(q, sizeof q, why);
        snprintf(r->msg, sizeof r->msg, "partial success: %s", q);
    }
out:
    buf_free(&plain);
}

static int http_to_grpc(long status)
{
    switch (status) {
    case 400:
        return GRPC_INTERNAL;
    case 401:
        return GRPC_UNAUTHENTICATED;
    case 403:
        return GRPC_PERMISSION_DENIED;
    case 404:
        return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return GRPC_UNAVAILABLE;
    default:
        return GRPC_UNKNOWN;
    }
}

static void grpc_answer(const ex_reply *rep, ex_result *r)
{
    int code;
    char why[256] = "";
    if (rep->has_grpc_status) {
        code = rep->grpc_status;
        snprintf(why, sizeof why, "%s", rep->grpc_message);
    } else if (rep->status != 200) {
        code = http_to_grpc(rep->status);
        snprintf(why, sizeof why, "HTTP status %ld", rep->status);
    } else {
        code = GRPC_UNKNOWN;
        snprintf(why, sizeof why, "the answer has no grpc-status");
    }
    if (code == GRPC_OK) {
        grpc_ok(rep, r);
        return;
    }
    uint64_t retry_ns = 0;
    if (rep->grpc_details.len) {
        size_t n = rep->grpc_details.len;
        uint8_t *bin = lt_malloc(n / 4 * 3 + 6);
        long m = bin ? base64_decode((lt_str){rep->grpc_details.data, n}, bin) : -1;
        lt_str detail;
        if (m >= 0 && !otlp_parse_status(bin, (size_t)m, &retry_ns, &detail) && !why[0])
            quote(why, sizeof why, detail);
        lt_free(bin);
    }
    bool again = otlp_grpc_retryable(code, retry_ns > 0);
    r->outcome = again ? EX_RETRY : EX_PERMANENT;
    r->retry_after_ns = retry_ns;
    snprintf(r->msg, sizeof r->msg, "gRPC status %d %s%s%s", code, grpc_name(code),
             why[0] ? ": " : "", why);
}

static void http_answer(const ex_reply *rep, ex_result *r)
{
    bool proto = !strncmp(rep->content_type, "application/x-protobuf", 22);
    const uint8_t *p = (const uint8_t *)rep->body.data;
    if (rep->status >= 200 && rep->status < 300) {
        r->outcome = EX_SENT;
        lt_str why;
        if (proto && !otlp_parse_response(p, rep->body.len, &r->rejected, &why) &&
            (r->rejected || why.len)) {
            char q[256];
            quote(q, sizeof q, why);
            snprintf(r->msg, sizeof r->msg, "partial success: %s", q);
        }
        return;
    }
    long s = rep->status;
    r->outcome = s == 429 || s == 502 || s == 503 || s == 504 ? EX_RETRY : EX_PERMANENT;
    r->retry_after_ns = rep->retry_after_ns;
    char q[256] = "";
    uint64_t ignored;
    lt_str why = {rep->body.data, rep->body.len > 200 ? 200 : rep->body.len};
    if (proto && otlp_parse_status(p, rep->body.len, &ignored, &why)) why = LT_STR_NULL;
    quote(q, sizeof q, why);
    snprintf(r->msg, sizeof r->msg, "HTTP status %ld%s%s", s, q[0] ? ": " : "", q);
}

/* The stream of a gRPC call was reset before libcurl read an answer. A server may answer
 * an error as soon as it has the headers (a wrong token, an unknown method) and reset the
 * stream while the message is still arriving (HTTP/2 8.1); libcurl before 8 then loses that
 * answer, always for a message larger than the flow-control window. The same call without a
 * message (headers that end the stream: nothing left to reset) gets the answer the headers
 * get. True when that settles r: the target refuses the call whatever its message. Any
 * other answer (a server says INVALID_ARGUMENT or INTERNAL to a call without its message)
 * leaves the reset a retryable failure. */
static bool grpc_probe(exporter *ex, ex_consumer *c, const char *url, ex_result *r)
{
    const lt_buf none = {0};
    ex_reply rep;
    bool settled = false;
    if (!ex_client_post(ex, c, url, &none, &rep) && rep.has_grpc_status) {
        int code = rep.grpc_status;
        settled = code == GRPC_UNAUTHENTICATED || code == GRPC_PERMISSION_DENIED ||
                  code == GRPC_UNIMPLEMENTED || code == GRPC_UNAVAILABLE;
        if (settled) grpc_answer(&rep, r);
    }
    reply_free(&rep);
    return settled;
}

void otlp_attempt(exporter *ex, ex_consumer *c, const ex_item *it, ex_result *r)
{
    const ex_client *cl = &ex->client;
    const char *url = ex_client_url(cl, it->signal);
    lt_buf framed = {0};
    const lt_buf *body = &it->data;
    ex_reply rep;
    int rc = 0;
    if (cl->grpc) {
        /* Compressed-Flag and Message-Length, then the message */
        static const uint8_t zero[5];
        buf_append(&framed, zero, 5);
        if (cl->gzip)
            rc = otlp_gzip((const uint8_t *)it->data.data, it->data.len, &framed);
        else
            buf_append(&framed, it->data.data, it->data.len);
        if (!rc && !framed.oom) {
            uint64_t len = framed.len - 5;
            if (len > UINT32_MAX) {
                r->outcome = EX_PERMANENT;
                snprintf(r->msg, sizeof r->msg, "a message of %" PRIu64 " bytes is too big", len);
                goto out;
            }
            uint8_t *h = (uint8_t *)framed.data;
            h[0] = cl->gzip ? 1 : 0;
            h[1] = (uint8_t)(len >> 24), h[2] = (uint8_t)(len >> 16);
            h[3] = (uint8_t)(len >> 8), h[4] = (uint8_t)len;
        }
        body = &framed;
    } else if (cl->gzip) {
        rc = otlp_gzip((const uint8_t *)it->data.data, it->data.len, &framed);
        body = &framed;
    }
    if (rc || framed.oom) {
        r->outcome = EX_RETRY;
        snprintf(r->msg, sizeof r->msg, "out of memory compressing the request");
        goto out;
    }
    rc = ex_client_post(ex, c, url, body, &rep);
    if (rc == LT_EIO && rep.reset && cl->grpc && grpc_probe(ex, c, url, r)) {
        /* settled by the answer to an empty call */
    } else if (rc) {
        r->outcome = EX_RETRY;
        snprintf(r->msg, sizeof r->msg, "%s",
                 rc == LT_ENOMEM ? "out of memory sending the request" : rep.transport_err);
    } else if (cl->grpc) {
        grpc_answer(&rep, r);
    } else {
        http_answer(&rep, r);
    }
    reply_free(&rep);
out:
    buf_free(&framed);
}
