/* otlp.c — OTLP request bodies: content types, gzip, decoding, replies (see otlp.h).
 *
 * The transport-independent half of an OTLP/HTTP receiver (OTLP specification,
 * "OTLP/HTTP"). Decompression is bounded by the caller's limit before any byte past it is
 * stored, so a gzip bomb costs at most that limit; zlib's own state is allocated through
 * core/alloc.h like everything else, so allocation failures can be injected there too. */
#include "otlp/otlp.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "model/pb.h"
#include "otlp/json.h"

enum { GUNZIP_FIRST = 64 * 1024 };

static bool ieq(lt_str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a.ptr[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        if (c != (unsigned char)b[i]) return false;
    }
    return true;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int otlp_format_of(lt_str ct, otlp_format *out)
{
    /* RFC 9110 section 8.3: type "/" subtype *( OWS ";" OWS parameter ), case-insensitive
     * type and subtype. Parameters (charset) do not change the decoding. */
    if (!ct.ptr) return LT_EUNSUPPORTED;
    size_t b = 0, e = 0;
    while (e < ct.len && ct.ptr[e] != ';')
        e++;
    while (b < e && is_ows(ct.ptr[b]))
        b++;
    while (e > b && is_ows(ct.ptr[e - 1]))
        e--;
    lt_str media = {ct.ptr + b, e - b};
    if (ieq(media, "application/x-protobuf") || ieq(media, "application/protobuf")) {
        *out = OTLP_PROTOBUF;
        return 0;
    }
    if (ieq(media, "application/json")) {
        *out = OTLP_JSON;
        return 0;
    }
    return LT_EUNSUPPORTED;
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return lt_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    lt_free(p);
}

/* Makes room after out->len for more output, never past base + limit (+1 for the NUL
 * that lt_buf keeps): the buffer grows by doubling what has been produced. */
static int grow(lt_buf *out, size_t base, size_t limit, size_t hint)
{
    size_t produced = out->len - base;
    size_t want = produced > hint ? produced : hint;
    if (want > limit - produced) want = limit - produced;
    size_t cap = out->len + want + 1;
    if (cap < out->len || cap <= out->cap) return 0;
    char *d = lt_realloc(out->data, cap);
    if (!d) return LT_ENOMEM;
    out->data = d;
    out->cap = cap;
    return 0;
}

int otlp_gzip(const uint8_t *in, size_t n, lt_buf *out)
{
    if (n > UINT32_MAX / 2) return LT_ETOOBIG; /* zlib counts input in a uInt */
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    /* 16: a gzip wrapper (RFC 1952) rather than zlib's */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return LT_ENOMEM;
    size_t base = out->len;
    int rc = 0;
    uLong bound = deflateBound(&z, (uLong)n);
    if (buf_reserve(out, bound)) {
        rc = LT_ENOMEM;
    } else {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out->data + base;
        z.avail_out = (uInt)bound;
        /* deflateBound leaves room for the whole output in one Z_FINISH call */
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            rc = LT_ENOMEM;
        else
            out->len = base + z.total_out;
        out->data[out->len] = 0;
    }
    deflateEnd(&z);
    return rc;
}

int otlp_gunzip(const uint8_t *in, size_t n, size_t limit, lt_buf *out)
{
    if (out->oom) return LT_ENOMEM;
    if (n == 0) return LT_EINVAL;
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    int zr = inflateInit2(&z, 16 + MAX_WBITS); /* 16: a gzip wrapper (RFC 1952) only */
    if (zr != Z_OK) return zr == Z_MEM_ERROR ? LT_ENOMEM : LT_EINVAL;

    const size_t base = out->len;
    const uint8_t *next = in, *end = in + n;
    size_t hint = n < SIZE_MAX / 8 ? 4 * n : n;
    if (hint < GUNZIP_FIRST) hint = GUNZIP_FIRST;
    int rc = 0;
    for (;;) {
        if (z.avail_in == 0 && next < end) {
            size_t chunk = (size_t)(end - next);
            z.next_in = (Bytef *)next;
            z.avail_in = chunk > UINT_MAX ? UINT_MAX : (uInt)chunk;
            next += z.avail_in;
        }
        if (out->len - base == limit) {
            /* At the limit: one more byte of output means the body is too big. */
            unsigned char probe;
            z.next_out = &probe;
            z.avail_out = 1;
            zr = inflate(&z, Z_NO_FLUSH);
            if (z.avail_out == 0) {
                rc = LT_ETOOBIG;
                break;
            }
        } else {
            if (out->cap < out->len + 2 && (rc = grow(out, base, limit, hint))) break;
            size_t room = out->cap - out->len - 1;
            if (room > limit - (out->len - base)) room = limit - (out->len - base);
            z.next_out = (Bytef *)out->data + out->len;
            z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
            uInt before = z.avail_out;
            zr = inflate(&z, Z_NO_FLUSH);
            out->len += before - z.avail_out;
        }
        if (zr == Z_STREAM_END) {
            size_t left = z.avail_in + (size_t)(end - next);
            if (left == 0) break;
            /* RFC 1952 section 2.2: a file is a series of members. Anything else after
             * a member is garbage. */
            if (z.avail_in == 0) {
                size_t chunk = (size_t)(end - next);
                z.next_in = (Bytef *)next;
                z.avail_in = chunk > UINT_MAX ? UINT_MAX : (uInt)chunk;
                next += z.avail_in;
            }
            if (z.next_in[0] != 0x1f || (left > 1 && z.avail_in > 1 && z.next_in[1] != 0x8b)) {
                rc = LT_EINVAL;
                break;
            }
            if (inflateReset(&z) != Z_OK) {
                rc = LT_EINVAL;
                break;
            }
            continue;
        }
        if (zr == Z_MEM_ERROR) {
            rc = LT_ENOMEM;
            break;
        }
        if (zr == Z_BUF_ERROR) {
            /* no progress: all input used and the stream is not finished */
            if (z.avail_in == 0 && next == end) {
                rc = LT_EINVAL;
                break;
            }
            continue;
        }
        if (zr != Z_OK) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            rc = LT_EINVAL;
            break;
        }
    }
    inflateEnd(&z);
    if (rc) out->len = base;
    if (out->data) out->data[out->len] = 0;
    return rc;
}

int otlp_decode_traces(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_trace_batch *out)
{
    if (f == OTLP_JSON) return json_decode_traces(a, (char *)body, n, out);
    if (f == OTLP_PROTOBUF) return pb_decode_traces(a, body, n, out);
    return LT_EUNSUPPORTED;
}

int otlp_decode_logs(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_log_batch *out)
{
    if (f == OTLP_JSON) return json_decode_logs(a, (char *)body, n, out);
    if (f == OTLP_PROTOBUF) return pb_decode_logs(a, body, n, out);
    return LT_EUNSUPPORTED;
}

int otlp_decode_metrics(lt_arena *a, otlp_format f, uint8_t *body, size_t n, lt_metric_batch *out)
{
    if (f == OTLP_JSON) return json_decode_metrics(a, (char *)body, n, out);
    if (f == OTLP_PROTOBUF) return pb_decode_metrics(a, body, n, out);
    return LT_EUNSUPPORTED;
}

int otlp_reply_ok(lt_buf *out, otlp_format f, const char *rejected_field, uint64_t rejected,
                  lt_str msg)
{
    if (f == OTLP_PROTOBUF) return pb_encode_export_response(out, rejected, msg);
    if (!rejected && !msg.len) {
        buf_append(out, "{}", 2);
    } else {
        /* ExportTracePartialSuccess (and the logs and metrics ones): rejected count as
         * an int64 string, error_message; defaults omitted. */
        buf_append_c(out, "{\"partialSuccess\":{");
        if (rejected) {
            jsonw_cstr(out, rejected_field ? rejected_field : "rejectedSpans");
            buf_putc(out, ':');
            jsonw_u64_str(out, rejected);
        }
        if (msg.len) {
            buf_append_c(out, rejected ? ",\"errorMessage\":" : "\"errorMessage\":");
            jsonw_str(out, msg);
        }
        buf_append(out, "}}", 2);
    }
    return out->oom ? LT_ENOMEM : 0;
}

int otlp_reply_status(lt_buf *out, otlp_format f, int32_t code, lt_str msg)
{
    if (f == OTLP_PROTOBUF) return pb_encode_status(out, code, msg);
    /* google.rpc.Status { code = 1 (int32: a JSON number), message = 2 } */
    buf_append_c(out, "{\"code\":");
    jsonw_i64(out, code);
    if (msg.len) {
        buf_append_c(out, ",\"message\":");
        jsonw_str(out, msg);
    }
    buf_putc(out, '}');
    return out->oom ? LT_ENOMEM : 0;
}
