/* pb_int.h — the protobuf wire primitives of model/, shared by pb.c (traces, logs) and
 * pb_metrics.c (metrics). Private to the model module: nothing outside src/model/ includes
 * it. The contract of the codecs is pb.h; this file holds the pieces both halves need to
 * read and write the same wire form by the same rules (field-number masks for wrong wire
 * types, the two-pass scan, UTF-8 checks, the arena arrays and the one-walk encoder).
 *
 * The primitives are static inline so that each decoder keeps them inlined in its loops;
 * the message-level pieces they share (KeyValue lists, Resource, InstrumentationScope) are
 * the pbi_* functions defined in pb.c. */
#ifndef LT_MODEL_PB_INT_H
#define LT_MODEL_PB_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "model/model.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (UNLIKELY(rc_)) return rc_;                                                             \
    } while (0)

/* Wire types (protobuf encoding spec; OTLP uses no groups). */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

#define TAG(field, wt) ((uint32_t)(((uint32_t)(field) << 3) | (uint32_t)(wt)))

/* The pre-0.19 instrumentation_library_spans / _logs / _metrics field of ResourceSpans /
 * ResourceLogs / ResourceMetrics, laid out as ScopeSpans / ScopeLogs / ScopeMetrics. */
enum { FIELD_OLD_SCOPES = 1000 };

/* Bit masks of the field numbers each message defines: a known field sent with another
 * wire type is malformed; an unknown one is skipped. */
#define BITS(lo, hi) ((((uint64_t)2 << (hi)) - 1) & ~(((uint64_t)1 << (lo)) - 1))
enum { MAX_KNOWN_FIELD = 63 };

static_assert(TAG(16, WT_I32) == 0x85, "Span.flags tag is 85 01 on the wire");
static_assert(TAG(FIELD_OLD_SCOPES, WT_LEN) == 8002, "field 1000 tag is C2 3E on the wire");

/* ------------------------------------------------------------------------------------ */
/* Wire primitives                                                                      */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t load64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t load32le(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* Any varint of up to 10 bytes; a 10th byte above 1 would overflow 64 bits. */
static inline int varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end) return LT_EINVAL;
        uint8_t b = *p++;
        if (shift == 63 && b > 1) return LT_EINVAL;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return LT_EINVAL;
}

static inline int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (LIKELY(p < end && p[0] < 0x80)) {
        *v = p[0];
        *pp = p + 1;
        return 0;
    }
    return varint_slow(pp, end, v);
}

/* A tag: field number 1 .. 2^29-1 and a wire type. */
static inline int get_tag(const uint8_t **pp, const uint8_t *end, uint32_t *tag)
{
    const uint8_t *p = *pp;
    if (LIKELY(p < end && p[0] < 0x80 && p[0] >= 8)) {
        *tag = p[0];
        *pp = p + 1;
        return 0;
    }
    uint64_t v;
    TRY(varint_slow(pp, end, &v));
    if (v > UINT32_MAX || (v >> 3) == 0) return LT_EINVAL;
    *tag = (uint32_t)v;
    return 0;
}

/* A LEN payload as [*s, *e); advances past it. */
static inline int get_len(const uint8_t **pp, const uint8_t *end, const uint8_t **s,
                          const uint8_t **e)
{
    uint64_t n;
    TRY(get_varint(pp, end, &n));
    if (UNLIKELY(n > (uint64_t)(end - *pp))) return LT_EINVAL;
    *s = *pp;
    *pp += n;
    *e = *pp;
    return 0;
}

static inline int get_fixed64(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    if (UNLIKELY(end - *pp < 8)) return LT_EINVAL;
    *v = load64le(*pp);
    *pp += 8;
    return 0;
}

static inline int get_fixed32(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
    if (UNLIKELY(end - *pp < 4)) return LT_EINVAL;
    *v = load32le(*pp);
    *pp += 4;
    return 0;
}

/* uint32 and enum fields: proto3 keeps the low 32 bits of the varint. */
static inline int get_u32(const uint8_t **pp, const uint8_t *end, uint32_t *v)
{
    uint64_t x;
    TRY(get_varint(pp, end, &x));
    *v = (uint32_t)x;
    return 0;
}

/* Skips one field's payload by wire type. Groups (3, 4) and the undefined 6, 7 are
 * malformed here: OTLP has never used groups. */
static inline int skip_field(const uint8_t **pp, const uint8_t *end, uint32_t tag)
{
    const uint8_t *s, *e;
    uint64_t v;
    switch (tag & 7) {
    case WT_VARINT:
        return get_varint(pp, end, &v);
    case WT_I64:
        if (end - *pp < 8) return LT_EINVAL;
        *pp += 8;
        return 0;
    case WT_LEN:
        return get_len(pp, end, &s, &e);
    case WT_I32:
        if (end - *pp < 4) return LT_EINVAL;
        *pp += 4;
        return 0;
    default:
        return LT_EINVAL;
    }
}

/* A field the decoder has no case for: malformed when the message defines that field
 * number (then the wire type was wrong), otherwise skipped. */
static inline int skip_unknown(const uint8_t **pp, const uint8_t *end, uint32_t tag, uint64_t known)
{
    uint32_t field = tag >> 3;
    if (field <= MAX_KNOWN_FIELD && ((known >> field) & 1)) return LT_EINVAL;
    return skip_field(pp, end, tag);
}

/* Walks the fields of one message [p, end) without entering them: checks tags, wire
 * types and lengths, and counts how often each of t[0..2] occurs (0 = unused). */
static inline int scan(const uint8_t *p, const uint8_t *end, uint32_t t0, uint32_t t1, uint32_t t2,
                       uint64_t n[3])
{
    n[0] = n[1] = n[2] = 0;
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        if (tag == t0)
            n[0]++;
        else if (tag == t1)
            n[1]++;
        else if (tag == t2)
            n[2]++;
        if (LIKELY((tag & 7) == WT_LEN)) {
            uint64_t len;
            TRY(get_varint(&p, end, &len));
            if (UNLIKELY(len > (uint64_t)(end - p))) return LT_EINVAL;
            p += len;
        } else {
            TRY(skip_field(&p, end, tag));
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* UTF-8 (RFC 3629; the well-formed sequences of Unicode Table 3-7)                     */
/* ------------------------------------------------------------------------------------ */

#define HIGH_BITS 0x8080808080808080ull

__attribute__((noinline, unused)) static bool utf8_valid_slow(const uint8_t *s, size_t n)
{
    const uint8_t *e = s + n;
    while (s < e) {
        /* ASCII runs four words (or one) at a time. */
        if (e - s >= 32) {
            uint64_t a, b, c, d;
            memcpy(&a, s, 8);
            memcpy(&b, s + 8, 8);
            memcpy(&c, s + 16, 8);
            memcpy(&d, s + 24, 8);
            if (!((a | b | c | d) & HIGH_BITS)) {
                s += 32;
                continue;
            }
        }
        if (e - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            uint64_t m = w & HIGH_BITS;
            if (!m) {
                s += 8;
                continue;
            }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            s += (unsigned)__builtin_ctzll(m) >> 3;
#else
            s += (unsigned)__builtin_clzll(m) >> 3;
#endif
        } else if (*s < 0x80) {
            s++;
            continue;
        }
        uint8_t c = s[0];
        size_t left = (size_t)(e - s);
        if (c < 0xc2) return false; /* stray continuation, or overlong 2-byte form */
        if (c < 0xe0) {
            if (left < 2 || (s[1] & 0xc0) != 0x80) return false;
            s += 2;
        } else if (c < 0xf0) {
            if (left < 3) return false;
            uint8_t lo = c == 0xe0 ? 0xa0 : 0x80; /* E0: no overlongs */
            uint8_t hi = c == 0xed ? 0x9f : 0xbf; /* ED: no surrogates */
            if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80) return false;
            s += 3;
        } else if (c < 0xf5) {
            if (left < 4) return false;
            uint8_t lo = c == 0xf0 ? 0x90 : 0x80; /* F0: no overlongs */
            uint8_t hi = c == 0xf4 ? 0x8f : 0xbf; /* F4: nothing past U+10FFFF */
            if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
                return false;
            s += 4;
        } else {
            return false;
        }
    }
    return true;
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* True when all n bytes are ASCII. Short strings (most keys and values) take two
 * overlapping loads and no loop; long ones 32 bytes per step. */
static inline bool ascii_only(const uint8_t *s, size_t n)
{
    if (n >= 8) {
        size_t i = 0;
        for (; i + 32 <= n; i += 32)
            if ((load64(s + i) | load64(s + i + 8) | load64(s + i + 16) | load64(s + i + 24)) &
                HIGH_BITS)
                return false;
        uint64_t acc = load64(s + n - 8);
        for (; i + 8 <= n; i += 8)
            acc |= load64(s + i);
        return !(acc & HIGH_BITS);
    }
    if (n >= 4) return !((load32(s) | load32(s + n - 4)) & 0x80808080u);
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= s[i];
    return acc < 0x80;
}

static inline bool utf8_valid(const uint8_t *s, size_t n)
{
    return LIKELY(ascii_only(s, n)) || utf8_valid_slow(s, n);
}

static inline int get_string(const uint8_t **pp, const uint8_t *end, lt_str *out)
{
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    if (UNLIKELY(!utf8_valid(s, (size_t)(e - s)))) return LT_EINVAL;
    out->ptr = (const char *)s;
    out->len = (size_t)(e - s);
    return 0;
}

static inline int get_bytes(const uint8_t **pp, const uint8_t *end, lt_str *out)
{
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    out->ptr = (const char *)s;
    out->len = (size_t)(e - s);
    return 0;
}

/* trace_id / span_id: empty (= all zero, no id) or exactly want bytes. */
static inline int get_id(const uint8_t **pp, const uint8_t *end, uint8_t *out, size_t want)
{
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    size_t n = (size_t)(e - s);
    if (n == want)
        memcpy(out, s, want);
    else if (n == 0)
        memset(out, 0, want);
    else
        return LT_EINVAL;
    return 0;
}

typedef struct {
    lt_arena *a;
    uint64_t items;    /* spans, events, links, log records, metrics and data points so
                          far (MODEL_MAX_ITEMS) */
    uint64_t rejected; /* spans dropped for an all-zero trace or span id; data points of
                          metrics dropped for having no name */
} dctx;

static inline int count_items(dctx *c, uint64_t n)
{
    c->items += n;
    return c->items > MODEL_MAX_ITEMS ? LT_ETOOBIG : 0;
}

/* n elements of size bytes from the arena (NULL for none). n is bounded by a model.h
 * limit before this is called, so n * size cannot overflow. */
static inline int alloc_array(dctx *c, void **out, uint64_t n, size_t size)
{
    if (n == 0) {
        *out = NULL;
        return 0;
    }
    *out = arena_alloc(c->a, (size_t)n * size);
    return *out ? 0 : LT_ENOMEM;
}

/* Writers append to an lt_buf. A failed reservation sets b->oom (buf_reserve does) and
 * later writes are skipped; the public encoders check oom once at the end and cut the
 * buffer back to where they started. */

static inline bool room(lt_buf *b, size_t n)
{
    if (LIKELY(!b->oom && b->cap - b->len > n)) return true; /* +1 for the NUL */
    return buf_reserve(b, n) == 0;
}

static inline size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *wr_varint(uint8_t *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    return q;
}

static inline uint8_t *wpos(lt_buf *b)
{
    return (uint8_t *)b->data + b->len;
}

static inline void put_varint_field(lt_buf *b, uint32_t tag, uint64_t v)
{
    if (!room(b, 20)) return;
    uint8_t *q = wr_varint(wr_varint(wpos(b), tag), v);
    b->len = (size_t)(q - (uint8_t *)b->data);
}

/* A varint field, omitted at its default 0. */
static inline void opt_varint(lt_buf *b, uint32_t tag, uint64_t v)
{
    if (v) put_varint_field(b, tag, v);
}

static inline void put_fixed64_field(lt_buf *b, uint32_t tag, uint64_t v)
{
    if (!room(b, 13)) return;
    uint8_t *q = wr_varint(wpos(b), tag);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(q, &v, 8);
    b->len = (size_t)(q + 8 - (uint8_t *)b->data);
}

static inline void opt_fixed64(lt_buf *b, uint32_t tag, uint64_t v)
{
    if (v) put_fixed64_field(b, tag, v);
}

static inline void opt_fixed32(lt_buf *b, uint32_t tag, uint32_t v)
{
    if (!v || !room(b, 9)) return;
    uint8_t *q = wr_varint(wpos(b), tag);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(q, &v, 4);
    b->len = (size_t)(q + 4 - (uint8_t *)b->data);
}

static inline void put_bytes_field(lt_buf *b, uint32_t tag, const void *p, size_t n)
{
    if (!room(b, 15 + n)) return;
    uint8_t *q = wr_varint(wr_varint(wpos(b), tag), n);
    if (n) memcpy(q, p, n);
    b->len = (size_t)(q + n - (uint8_t *)b->data);
}

/* A string or bytes field, omitted when empty. */
static inline void opt_str(lt_buf *b, uint32_t tag, lt_str s)
{
    if (s.len) put_bytes_field(b, tag, s.ptr, s.len);
}

/* An id field, omitted when all zero (= absent). */
static inline void opt_id(lt_buf *b, uint32_t tag, const uint8_t *id, int n)
{
    if (!model_id_is_zero(id, n)) put_bytes_field(b, tag, id, (size_t)n);
}

/* Starts a LEN field whose length is not known yet: the tag and a one-byte length
 * placeholder. Returns where the body starts (meaningless once oom is set). */
static inline size_t msg_begin(lt_buf *b, uint32_t tag)
{
    if (!room(b, 6)) return 0;
    uint8_t *q = wr_varint(wpos(b), tag);
    *q++ = 0;
    b->len = (size_t)(q - (uint8_t *)b->data);
    return b->len;
}

/* Ends the LEN field begun at mark: fills in the length, moving the body up when the
 * length takes more than one byte. */
static inline void msg_end(lt_buf *b, size_t mark)
{
    if (b->oom) return;
    size_t len = b->len - mark;
    if (LIKELY(len < 0x80)) {
        b->data[mark - 1] = (char)len;
        return;
    }
    size_t extra = varint_size(len) - 1;
    if (!room(b, extra)) return;
    memmove(b->data + mark + extra, b->data + mark, len);
    wr_varint((uint8_t *)b->data + mark - 1, len);
    b->len += extra;
}

/* ---- message-level pieces, defined in pb.c ---- */

/* One element of a repeated KeyValue field (the LEN payload at *pp) into attrs, which
 * scan() sized to cap entries. */
int pbi_dec_attr(dctx *c, const uint8_t **pp, const uint8_t *end, lt_attrs *attrs, uint64_t cap);
/* Resource and InstrumentationScope messages [p, end). */
int pbi_dec_resource(dctx *c, const uint8_t *p, const uint8_t *end, lt_resource *r);
int pbi_dec_scope(dctx *c, const uint8_t *p, const uint8_t *end, lt_scope *s);

/* A decoder of one message [p, end) into out. */
typedef int (*pbi_dec_fn)(dctx *c, const uint8_t *p, const uint8_t *end, void *out);
/* The layout the three signals share: ResourceSpans / ResourceLogs / ResourceMetrics
 * (resource=1, scope_*=2 or the old 1000, schema_url=3), the scope-level messages decoded
 * by dec_one into *scopes (allocated here, scope_size each); and the Export*Request
 * (resource_*=1) around them, the resource-level messages decoded by dec_group into
 * *groups. The caller zeroes what it passes. */
int pbi_dec_resource_group(dctx *c, const uint8_t *p, const uint8_t *end, lt_resource *resource,
                           lt_str *schema_url, void **scopes, uint32_t *n_scopes, size_t scope_size,
                           pbi_dec_fn dec_one);
int pbi_dec_request(dctx *c, const uint8_t *p, size_t len, void **groups, uint32_t *n_groups,
                    size_t group_size, pbi_dec_fn dec_group);

/* A repeated KeyValue field with this tag. */
void pbi_enc_attrs(lt_buf *b, uint32_t tag, const lt_attrs *a);
/* A Resource / InstrumentationScope field with this tag, omitted when the message would be
 * empty. */
void pbi_enc_resource(lt_buf *b, uint32_t tag, const lt_resource *r);
void pbi_enc_scope(lt_buf *b, uint32_t tag, const lt_scope *s);
/* The end of every public encoder: NUL-terminates out, or on oom cuts it back to start;
 * 0 or LT_ENOMEM. */
int pbi_enc_finish(lt_buf *b, size_t start);

#endif
