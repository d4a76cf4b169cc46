/* grpc_frame.c — gRPC framing and header values (see grpc_frame.h). */
#include "net/grpc_frame.h"

#include <strings.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"

enum { ST_PREFIX, ST_BODY, ST_DONE, ST_FAILED };

/* The first allocation of a message buffer; it then doubles up to the declared length. */
enum { FIRST_CAP = 4096 };

void grpc_reader_init(grpc_reader *r, size_t max_len, bool allow_compressed)
{
    memset(r, 0, sizeof *r);
    r->max_len = max_len;
    r->allow_compressed = allow_compressed;
    r->state = ST_PREFIX;
}

static int fail(grpc_reader *r, int rc)
{
    r->state = ST_FAILED;
    return rc;
}

/* Makes room for extra more message bytes, growing geometrically but never past len. */
static int grow(grpc_reader *r, size_t extra)
{
    size_t need = r->have + extra;
    if (need <= r->cap) return 0;
    size_t cap = r->cap ? r->cap * 2 : FIRST_CAP;
    if (cap < need) cap = need;
    if (cap > r->len) cap = r->len;
    uint8_t *m = lt_realloc(r->msg, cap);
    if (!m) return LT_ENOMEM;
    r->msg = m;
    r->cap = cap;
    return 0;
}

int grpc_reader_feed(grpc_reader *r, const uint8_t *p, size_t n)
{
    while (n) {
        switch (r->state) {
        case ST_PREFIX: {
            size_t take = GRPC_PREFIX - r->prefix_have;
            if (take > n) take = n;
            memcpy(r->prefix + r->prefix_have, p, take);
            r->prefix_have += (uint8_t)take;
            p += take, n -= take;
            if (r->prefix_have < GRPC_PREFIX) break;
            if (r->prefix[0] > 1) return fail(r, LT_EINVAL);
            r->compressed = r->prefix[0] == 1;
            r->len = (uint32_t)r->prefix[1] << 24 | (uint32_t)r->prefix[2] << 16 |
                     (uint32_t)r->prefix[3] << 8 | r->prefix[4];
            if (r->compressed && !r->allow_compressed) return fail(r, LT_EUNSUPPORTED);
            if (r->len > r->max_len) return fail(r, LT_ETOOBIG);
            r->state = r->len ? ST_BODY : ST_DONE;
            break;
        }
        case ST_BODY: {
            size_t take = r->len - r->have;
            if (take > n) take = n;
            if (grow(r, take)) return fail(r, LT_ENOMEM);
            memcpy(r->msg + r->have, p, take);
            r->have += take;
            p += take, n -= take;
            if (r->have == r->len) r->state = ST_DONE;
            break;
        }
        case ST_DONE: /* a unary request carries exactly one message */
            return fail(r, LT_EINVAL);
        default:
            return LT_EINVAL;
        }
    }
    return 0;
}

int grpc_reader_finish(const grpc_reader *r)
{
    return r->state == ST_DONE ? 0 : LT_EINVAL;
}

bool grpc_reader_started(const grpc_reader *r)
{
    return r->state == ST_BODY || (r->state == ST_PREFIX && r->prefix_have > 0);
}

size_t grpc_reader_missing(const grpc_reader *r)
{
    return r->state == ST_BODY ? r->len - r->have : 0;
}

uint8_t *grpc_reader_take(grpc_reader *r, size_t *len)
{
    uint8_t *m = r->msg;
    *len = r->have;
    r->msg = NULL;
    r->have = r->cap = 0;
    return m;
}

size_t grpc_reader_held(const grpc_reader *r)
{
    return r->cap;
}

void grpc_reader_free(grpc_reader *r)
{
    if (!r) return;
    lt_free(r->msg);
    r->msg = NULL;
    r->have = r->cap = 0;
}

void grpc_put_prefix(uint8_t out[GRPC_PREFIX], bool compressed, uint32_t len)
{
    out[0] = compressed ? 1 : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

int grpc_parse_timeout(lt_str v, uint64_t *ns)
{
    if (v.len < 2 || v.len > 9) return LT_EINVAL;
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return LT_EINVAL;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    uint64_t unit;
    switch (v.ptr[v.len - 1]) {
    case 'H':
        unit = 3600000000000ull;
        break;
    case 'M':
        unit = 60000000000ull;
        break;
    case 'S':
        unit = 1000000000ull;
        break;
    case 'm':
        unit = 1000000ull;
        break;
    case 'u':
        unit = 1000ull;
        break;
    case 'n':
        unit = 1;
        break;
    default:
        return LT_EINVAL;
    }
    /* 99999999 H is 3.6e20 ns, past 64 bits: saturate */
    *ns = n > UINT64_MAX / unit ? UINT64_MAX : n * unit;
    return 0;
}

grpc_encoding grpc_parse_encoding(lt_str v)
{
    if (!v.ptr || v.len == 0) return GRPC_ENC_IDENTITY;
    if (v.len == 8 && strncasecmp(v.ptr, "identity", 8) == 0) return GRPC_ENC_IDENTITY;
    if (v.len == 4 && strncasecmp(v.ptr, "gzip", 4) == 0) return GRPC_ENC_GZIP;
    return GRPC_ENC_OTHER;
}

grpc_content_type grpc_parse_content_type(lt_str v)
{
    static const char base[] = "application/grpc";
    size_t bl = sizeof base - 1;
    if (!v.ptr || v.len < bl || strncasecmp(v.ptr, base, bl) != 0) return GRPC_CT_NOT_GRPC;
    lt_str rest = {v.ptr + bl, v.len - bl};
    /* the subtype ends at parameters */
    size_t n = 0;
    while (n < rest.len && rest.ptr[n] != ';' && rest.ptr[n] != ' ' && rest.ptr[n] != '\t')
        n++;
    if (n == 0 || (n == 6 && strncasecmp(rest.ptr, "+proto", 6) == 0)) return GRPC_CT_PROTO;
    if (rest.ptr[0] != '+') return GRPC_CT_NOT_GRPC; /* "application/grpcfoo" */
    return GRPC_CT_OTHER_GRPC;
}

int grpc_percent_encode(lt_buf *out, lt_str msg)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < msg.len; i++) {
        unsigned char c = (unsigned char)msg.ptr[i];
        if (c >= 0x20 && c <= 0x7e && c != '%') {
            buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(out, e, 3);
        }
    }
    return out->oom ? LT_ENOMEM : 0;
}

/* ---- a minimal protobuf writer for google.rpc.Status ---- */

static void put_varint(lt_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_putc(b, (char)v);
}

static void put_len_field(lt_buf *b, uint32_t field, const void *p, size_t n)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, n);
    buf_append(b, p, n);
}

int grpc_status_details(lt_buf *out, grpc_status code, lt_str msg, uint32_t retry_delay_s)
{
    static const char retry_type[] = "type.googleapis.com/google.rpc.RetryInfo";
    lt_buf st = {0}, any = {0}, tmp = {0};
    int rc = LT_ENOMEM;
    if (code) {
        put_varint(&st, 1 << 3 | 0);
        put_varint(&st, (uint64_t)code);
    }
    if (msg.len) put_len_field(&st, 2, msg.ptr, msg.len);
    if (retry_delay_s) {
        /* Duration {seconds = 1} inside RetryInfo {retry_delay = 1} */
        lt_buf dur = {0};
        put_varint(&dur, 1 << 3 | 0);
        put_varint(&dur, retry_delay_s);
        put_len_field(&tmp, 1, dur.data, dur.len);
        bool oom = dur.oom;
        buf_free(&dur);
        if (oom) goto out;
        put_len_field(&any, 1, retry_type, sizeof retry_type - 1);
        put_len_field(&any, 2, tmp.data, tmp.len);
        put_len_field(&st, 3, any.data, any.len);
    }
    if (st.oom || any.oom || tmp.oom) goto out;
    size_t enc_len = 4 * ((st.len + 2) / 3);
    if (buf_reserve(out, enc_len + 1)) goto out;
    base64_encode((const uint8_t *)st.data, st.len, out->data + out->len);
    while (enc_len && out->data[out->len + enc_len - 1] == '=') /* emitted unpadded */
        enc_len--;
    out->len += enc_len;
    out->data[out->len] = 0;
    rc = 0;
out:
    buf_free(&st);
    buf_free(&any);
    buf_free(&tmp);
    return rc;
}
