/* json.c — the OTLP/JSON form of the model: a decoder made for OTLP and an encoder
 * (see json.h; OTLP spec "JSON Protobuf Encoding", RFC 8259 for the syntax).
 *
 * Decoding is one forward pass of a pull parser over the request buffer, driven by the
 * OTLP schema: each message type has a function that reads its object member by member,
 * fills the model directly and skips the members it does not know. No tree of generic
 * JSON values is built. Strings are checked (RFC 8259 section 7, RFC 3629) and unescaped
 * in place, where the output is never longer than the input, so every string of the
 * result is a slice of the buffer. The elements of a repeated field are gathered on a
 * scratch stack (one heap block per call; LIFO because arrays nest) and copied into the
 * arena when the closing bracket is read, so model arrays have exactly their count.
 *
 * Recursion follows the OTLP message nesting, which is fixed, and AnyValue nesting, which
 * is limited to MODEL_MAX_DEPTH; values of unknown members are skipped by a loop with a
 * small bracket stack of its own. No input can exhaust the C stack. */
#include "otlp/json.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "otlp/json_int.h"

enum {
    /* JSON containers open at once. From the request down to an attribute's AnyValue is
     * 10 levels, and each level of AnyValue nesting takes up to 4 more ({"kvlistValue":
     * {"values":[{"key":..,"value":{..}}]}}), so every model that protobuf can carry
     * within MODEL_MAX_DEPTH can be carried as JSON too. */
    JSON_MAX_DEPTH = 4 * MODEL_MAX_DEPTH + 16,
    /* Longest number token converted through strtod (numbers are a few digits in
     * practice; this only keeps a pathological token from costing much). */
    NUM_MAX_LEN = 1024,
    SCRATCH_FIRST = 8192,
    SEG_MAX = 16 * 1024, /* pending bytes of one array on the scratch stack */
};

/* The same text as the protobuf decoder's, so a sender sees one reason. */
static const char REJECT_REASON[] = "span with invalid trace_id or span_id dropped";

/* Every struct that goes through the scratch stack keeps it 8-byte aligned. */
static_assert(sizeof(lt_kv) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_value) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_span) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_event) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_link) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_log_record) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_scope_spans) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_resource_spans) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_scope_logs) % 8 == 0, "scratch alignment");
static_assert(sizeof(lt_resource_logs) % 8 == 0, "scratch alignment");

/* ---------------------------------------------------------------------------------------
 * Lexical level (RFC 8259) */

static inline void ws(jp *j)
{
    char *p = j->p, *e = j->end;
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
}

static int lit(jp *j, const char *w, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return LT_EINVAL;
    j->p += n;
    return 0;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF) that starts with the non-ASCII byte at p, or 0 when it is invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0xC2) return 0; /* a continuation byte, or an overlong 2-byte lead */
    if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* U+D800..U+DFFF */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The bytes of a little-endian word that end a run of plain string bytes: '"', '\\', a
 * control character or a non-ASCII byte, flagged in their high bit. A byte below 0x20,
 * or equal to '"' or '\\' after the xor, makes the subtraction borrow into its high bit;
 * a non-ASCII byte has it set already. Borrows only carry upwards from a real match, so
 * the lowest flagged byte is always a real one. */
static inline uint64_t specials(uint64_t x)
{
    return ((x - ONES * 0x20) | ((x ^ (ONES * '"')) - ONES) | ((x ^ (ONES * '\\')) - ONES) | x) &
           HIGHS;
}

static inline bool special_byte(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LT_SWAR_LE 1
#endif

/* First byte at or after r that ends a run of plain string bytes, or e. Eight bytes at a
 * time. */
static inline char *scan_plain(char *r, char *e)
{
    while (e - r >= 8) {
        uint64_t x;
        memcpy(&x, r, 8);
        uint64_t t = specials(x);
        if (t) {
#ifdef LT_SWAR_LE
            return r + (__builtin_ctzll(t) >> 3);
#else
            break;
#endif
        }
        r += 8;
    }
    while (r < e && !special_byte((unsigned char)*r))
        r++;
    return r;
}

/* Like scan_plain, but also moves the run down from r to w (w <= r): whole words are
 * loaded before they are stored, so the store never overwrites unread input. Returns the
 * end of the run; *wp advances with it. */
static inline char *copy_plain(char *r, char *e, char **wp)
{
    char *w = *wp;
    while (e - r >= 8) {
        uint64_t x;
        memcpy(&x, r, 8);
        if (specials(x)) break;
        memcpy(w, &x, 8);
        w += 8;
        r += 8;
    }
    while (r < e && !special_byte((unsigned char)*r))
        *w++ = *r++;
    *wp = w;
    return r;
}

static inline int hexd(unsigned char c)
{
    if ((unsigned)(c - '0') < 10) return c - '0';
    c |= 0x20;
    if ((unsigned)(c - 'a') < 6) return c - 'a' + 10;
    return -1;
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hexd((unsigned char)p[i]);
        if (d < 0) return LT_EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xC0 | cp >> 6);
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xE0 | cp >> 12);
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *w++ = (char)(0xF0 | cp >> 18);
        *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *w++ = (char)(0x80 | (cp & 0x3F));
    }
    return w;
}

/* Reads a \uXXXX escape (a surrogate pair as two) at *rp into a code point. RFC 8259
 * section 7; an unpaired surrogate cannot be UTF-8 and is invalid. */
static int u_escape(char **rp, char *e, uint32_t *cp)
{
    char *r = *rp;
    uint32_t hi, lo;
    if (e - r < 6 || hex4(r + 2, &hi)) return LT_EINVAL;
    r += 6;
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (e - r < 6 || r[0] != '\\' || r[1] != 'u' || hex4(r + 2, &lo)) return LT_EINVAL;
        if (lo < 0xDC00 || lo > 0xDFFF) return LT_EINVAL;
        hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        r += 6;
    } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
        return LT_EINVAL;
    }
    *rp = r;
    *cp = hi;
    return 0;
}

/* Reads a string whose opening quote has been consumed: checks it, unescapes it in place
 * and leaves j->p past the closing quote. */
static int str_body(jp *j, char **out, size_t *len)
{
    char *s = j->p, *r = s, *e = j->end, *w;
    /* Fast path: no escape so far, nothing moves. */
    for (;;) {
        r = scan_plain(r, e);
        if (r >= e) return LT_EINVAL;
        unsigned char c = (unsigned char)*r;
        if (c == '"') {
            *out = s;
            *len = (size_t)(r - s);
            j->p = r + 1;
            return 0;
        }
        if (c == '\\') break;
        if (c < 0x20) return LT_EINVAL;
        size_t l = utf8_seq((const unsigned char *)r, (size_t)(e - r));
        if (!l) return LT_EINVAL;
        r += l;
    }
    /* Slow path: bytes from r are copied down to w. */
    w = r;
    for (;;) {
        unsigned char c = (unsigned char)*r;
        if (c == '"') {
            *out = s;
            *len = (size_t)(w - s);
            j->p = r + 1;
            return 0;
        }
        if (c == '\\') {
            if (e - r < 2) return LT_EINVAL;
            char x = r[1];
            switch (x) {
            case '"':
            case '\\':
            case '/':
                *w++ = x;
                r += 2;
                break;
            case 'b':
                *w++ = '\b';
                r += 2;
                break;
            case 'f':
                *w++ = '\f';
                r += 2;
                break;
            case 'n':
                *w++ = '\n';
                r += 2;
                break;
            case 'r':
                *w++ = '\r';
                r += 2;
                break;
            case 't':
                *w++ = '\t';
                r += 2;
                break;
            case 'u': {
                uint32_t cp;
                TRY(u_escape(&r, e, &cp));
                w = put_utf8(w, cp);
                break;
            }
            default:
                return LT_EINVAL;
            }
        } else if (c < 0x20) {
            return LT_EINVAL;
        } else {
            size_t l = utf8_seq((const unsigned char *)r, (size_t)(e - r));
            if (!l) return LT_EINVAL;
            for (size_t i = 0; i < l; i++)
                w[i] = r[i]; /* w <= r */
            w += l;
            r += l;
        }
        r = copy_plain(r, e, &w);
        if (r >= e) return LT_EINVAL;
    }
}

/* A JSON number (RFC 8259 section 6) starting at s: returns its end, or NULL when s does
 * not start one. *integral tells whether it has neither fraction nor exponent. */
static char *num_scan(char *s, char *e, bool *integral)
{
    char *p = s;
    *integral = true;
    if (p < e && *p == '-') p++;
    if (p >= e) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && (unsigned)(*p - '0') < 10)
            p++;
    } else {
        return NULL;
    }
    if (p < e && *p == '.') {
        p++;
        *integral = false;
        if (p >= e || (unsigned)(*p - '0') >= 10) return NULL;
        while (p < e && (unsigned)(*p - '0') < 10)
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        *integral = false;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || (unsigned)(*p - '0') >= 10) return NULL;
        while (p < e && (unsigned)(*p - '0') < 10)
            p++;
    }
    return p;
}

/* JSON numbers use '.' whatever LC_NUMERIC the process has set, so they are converted in
 * the C locale, made once (strtod_l is in glibc and the BSDs). */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Converts the checked number token s[0..len) (correctly rounded, by strtod_l). The byte
 * after the token must lie inside the buffer: it is borrowed for the terminating NUL and
 * put back. */
static int tok_double(jp *j, char *s, size_t len, double *out)
{
    if (len > NUM_MAX_LEN || s + len >= j->end) return LT_EINVAL;
    pthread_once(&c_locale_once, make_c_locale);
    char save = s[len];
    s[len] = 0;
    errno = 0;
    char *stop;
    double v = c_locale ? strtod_l(s, &stop, c_locale) : strtod(s, &stop);
    int err = errno;
    s[len] = save;
    if (stop != s + len) return LT_EINVAL;
    if (err == ERANGE && isinf(v)) return LT_EINVAL; /* out of range of a double */
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Structure: objects, arrays, skipping */

static int open_c(jp *j, char c)
{
    ws(j);
    if (j->p >= j->end || *j->p != c) return LT_EINVAL;
    if (++j->depth > JSON_MAX_DEPTH) return LT_ETOOBIG;
    j->p++;
    return 0;
}

/* Opens the object of a message. Returns 0 when it is open, 1 when the value was null
 * (which OTLP/JSON reads as the default message), or an error. */
static int open_msg(jp *j)
{
    ws(j);
    if (j->p < j->end && *j->p == 'n') {
        TRY(lit(j, "null", 4));
        return 1;
    }
    return open_c(j, '{');
}

/* Reads the next member of an open object. Returns 1 with its key in *k and j->p at its
 * value, 0 once the closing brace is consumed, or an error. Members whose value is null
 * are skipped: null stands for an absent field. *idx counts members (start at 0). */
static int obj_next(jp *j, int *idx, lt_str *k)
{
    for (;;) {
        ws(j);
        if (j->p >= j->end) return LT_EINVAL;
        char c = *j->p;
        if (c == '}') {
            j->p++;
            j->depth--;
            return 0;
        }
        if (*idx > 0) {
            if (c != ',') return LT_EINVAL;
            j->p++;
            ws(j);
            if (j->p >= j->end) return LT_EINVAL;
            c = *j->p;
        }
        (*idx)++;
        if (c != '"') return LT_EINVAL;
        j->p++;
        char *ks;
        size_t kl;
        TRY(str_body(j, &ks, &kl));
        ws(j);
        if (j->p >= j->end || *j->p != ':') return LT_EINVAL;
        j->p++;
        ws(j);
        if (j->p >= j->end) return LT_EINVAL;
        if (*j->p == 'n') {
            TRY(lit(j, "null", 4));
            continue;
        }
        *k = (lt_str){ks, kl};
        return 1;
    }
}

/* Like obj_next for an open array: 1 with j->p at the next element, 0 past ']'. */
static int arr_next(jp *j, int *idx)
{
    ws(j);
    if (j->p >= j->end) return LT_EINVAL;
    char c = *j->p;
    if (c == ']') {
        j->p++;
        j->depth--;
        return 0;
    }
    if ((*idx)++ > 0) {
        if (c != ',') return LT_EINVAL;
        j->p++;
        ws(j); /* the element parser rejects a ']' or the end here */
    }
    return 1;
}

/* Skips one JSON value of any kind, checking its syntax. A loop with its own bracket
 * stack, so deep nesting costs no C stack. */
static int skip_value(jp *j)
{
    char closer[JSON_MAX_DEPTH];
    int sp = 0;
    for (;;) {
        /* a value starts here */
        ws(j);
        if (j->p >= j->end) return LT_EINVAL;
        char c = *j->p;
        if (c == '{' || c == '[') {
            if (j->depth + sp + 1 > JSON_MAX_DEPTH) return LT_ETOOBIG;
            closer[sp++] = c == '{' ? '}' : ']';
            j->p++;
            ws(j);
            if (j->p < j->end && *j->p == closer[sp - 1]) {
                j->p++;
                sp--;
            } else if (c == '{') {
                goto member;
            } else {
                continue;
            }
        } else if (c == '"') {
            char *s;
            size_t l;
            j->p++;
            TRY(str_body(j, &s, &l));
        } else if (c == 't') {
            TRY(lit(j, "true", 4));
        } else if (c == 'f') {
            TRY(lit(j, "false", 5));
        } else if (c == 'n') {
            TRY(lit(j, "null", 4));
        } else {
            bool integral;
            char *q = num_scan(j->p, j->end, &integral);
            if (!q) return LT_EINVAL;
            j->p = q;
        }
        /* a value has ended: close containers or go on to the next element */
        for (;;) {
            if (sp == 0) return 0;
            ws(j);
            if (j->p >= j->end) return LT_EINVAL;
            c = *j->p++;
            if (c == closer[sp - 1]) {
                sp--;
                continue;
            }
            if (c != ',') return LT_EINVAL;
            if (closer[sp - 1] == ']') break;
            goto member;
        }
        continue;
    member:
        /* inside an object, before a key */
        ws(j);
        if (j->p >= j->end || *j->p != '"') return LT_EINVAL;
        {
            char *s;
            size_t l;
            j->p++;
            TRY(str_body(j, &s, &l));
        }
        ws(j);
        if (j->p >= j->end || *j->p != ':') return LT_EINVAL;
        j->p++;
    }
}

/* ---------------------------------------------------------------------------------------
 * Scalars */

static int get_str(jp *j, lt_str *out)
{
    if (j->p >= j->end || *j->p != '"') return LT_EINVAL;
    j->p++;
    char *s;
    size_t l;
    TRY(str_body(j, &s, &l));
    *out = (lt_str){s, l};
    return 0;
}

/* Reads a number, or a string holding one (proto3 JSON accepts both for every number
 * type; OTLP writes 64-bit integers as strings). Returns the token, unconverted. */
static int get_num_tok(jp *j, char **tok, size_t *len, bool *integral)
{
    if (j->p >= j->end) return LT_EINVAL;
    if (*j->p == '"') {
        char *s;
        size_t l;
        j->p++;
        TRY(str_body(j, &s, &l));
        if (num_scan(s, s + l, integral) != s + l) return LT_EINVAL;
        *tok = s;
        *len = l;
        return 0;
    }
    char *q = num_scan(j->p, j->end, integral);
    if (!q) return LT_EINVAL;
    *tok = j->p;
    *len = (size_t)(q - j->p);
    j->p = q;
    return 0;
}

/* An integer in [lo, hi] (as doubles for the non-integral spellings such as 1e3, which
 * proto3 JSON parsers accept when the value is a whole number). */
static int get_int(jp *j, bool is_signed, uint64_t *out)
{
    char *t;
    size_t l;
    bool integral;
    TRY(get_num_tok(j, &t, &l, &integral));
    bool neg = t[0] == '-';
    if (integral) {
        /* the token is checked: digits only after the sign, no leading zeros */
        uint64_t v = 0;
        for (size_t i = neg; i < l; i++) {
            unsigned d = (unsigned)(t[i] - '0');
            if (v > (UINT64_MAX - d) / 10) return LT_EINVAL;
            v = v * 10 + d;
        }
        if (neg) {
            if (v == 0) {
                *out = 0;
                return 0;
            }
            if (!is_signed || v > (uint64_t)INT64_MAX + 1) return LT_EINVAL;
            *out = 0 - v;
            return 0;
        }
        if (is_signed && v > (uint64_t)INT64_MAX) return LT_EINVAL;
        *out = v;
        return 0;
    }
    double d;
    TRY(tok_double(j, t, l, &d));
    if (d != trunc(d)) return LT_EINVAL;
    if (is_signed) {
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return LT_EINVAL;
        *out = (uint64_t)(int64_t)d;
    } else {
        if (!(d > -1.0 && d < 18446744073709551616.0)) return LT_EINVAL;
        *out = (uint64_t)d;
    }
    return 0;
}

static int get_u64(jp *j, uint64_t *out)
{
    return get_int(j, false, out);
}

static int get_i64(jp *j, int64_t *out)
{
    uint64_t v;
    TRY(get_int(j, true, &v));
    *out = (int64_t)v;
    return 0;
}

/* uint32 fields, enums (always non-negative in OTLP) and fixed32 flags. */
static int get_u32(jp *j, uint32_t *out)
{
    uint64_t v;
    TRY(get_int(j, false, &v));
    if (v > UINT32_MAX) return LT_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int get_bool(jp *j, bool *out)
{
    if (j->p < j->end && *j->p == 't') {
        *out = true;
        return lit(j, "true", 4);
    }
    *out = false;
    return lit(j, "false", 5);
}

/* A double: a number, or a string holding a number or "NaN", "Infinity", "-Infinity". */
static int get_double(jp *j, double *out)
{
    if (j->p >= j->end) return LT_EINVAL;
    char *t;
    size_t l;
    if (*j->p == '"') {
        j->p++;
        TRY(str_body(j, &t, &l));
        lt_str s = {t, l};
        if (K(s, "NaN"))
            *out = NAN;
        else if (K(s, "Infinity"))
            *out = INFINITY;
        else if (K(s, "-Infinity"))
            *out = -INFINITY;
        else {
            bool integral;
            if (num_scan(t, t + l, &integral) != t + l) return LT_EINVAL;
            return tok_double(j, t, l, out);
        }
        return 0;
    }
    bool integral;
    char *q = num_scan(j->p, j->end, &integral);
    if (!q) return LT_EINVAL;
    t = j->p;
    j->p = q;
    return tok_double(j, t, (size_t)(q - t), out);
}

/* A trace or span id: hex of exactly 2n digits, either case; "" means absent (zero). */
static int get_id(jp *j, uint8_t *out, size_t n)
{
    lt_str s;
    TRY(get_str(j, &s));
    if (s.len == 0) {
        memset(out, 0, n);
        return 0;
    }
    if (s.len != 2 * n) return LT_EINVAL;
    const unsigned char *p = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < n; i++) {
        int hi = hexd(p[2 * i]), lo = hexd(p[2 * i + 1]);
        if ((hi | lo) < 0) return LT_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int b64v(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62; /* standard and URL-safe alphabets (RFC 4648) */
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* bytes: base64 (RFC 4648, either alphabet, padding optional), decoded in place. */
static int get_bytes(jp *j, lt_str *out)
{
    char *s;
    size_t l;
    if (j->p >= j->end || *j->p != '"') return LT_EINVAL;
    j->p++;
    TRY(str_body(j, &s, &l));
    if (l % 4 == 0 && l >= 1 && s[l - 1] == '=') l--;
    if (l % 4 == 3 && l >= 1 && s[l - 1] == '=') l--;
    if (l % 4 == 1) return LT_EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < l; i++) {
        int v = b64v((unsigned char)s[i]);
        if (v < 0) return LT_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            s[o++] = (char)(acc >> bits & 0xFF); /* o < i: the output trails the input */
        }
    }
    *out = (lt_str){s, o};
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Repeated fields: the scratch stack
 *
 * Elements are parsed into locals and pushed on the scratch stack; an array's pending
 * elements start at its mark. The scratch is heap memory outside the arena's bound
 * (arena_set_limit), and hostile JSON can make decoded elements many times bigger than
 * their text ({} is a whole log record), so an array keeps at most SEG_MAX bytes there:
 * beyond that its elements move into segments taken from the arena, where the bound
 * applies, and the segments are joined into the final array when it closes. */

static int grow_scratch(jp *j, size_t sz)
{
    size_t nc = j->sc ? j->sc : SCRATCH_FIRST;
    while (nc - j->sl < sz) {
        if (nc > SIZE_MAX / 2) return LT_ENOMEM;
        nc *= 2;
    }
    char *ns = lt_realloc(j->stk, nc);
    if (!ns) return LT_ENOMEM;
    j->stk = ns;
    j->sc = nc;
    return 0;
}

/* Moves r's pending elements into a new arena segment. */
static int flush(jp *j, arr *r)
{
    size_t b = j->sl - r->mark;
    seg *s = arena_alloc(j->a, sizeof(seg) + b);
    if (!s) return LT_ENOMEM;
    s->next = NULL;
    s->bytes = b;
    memcpy(s + 1, j->stk + r->mark, b);
    if (r->tail)
        r->tail->next = s;
    else
        r->head = s;
    r->tail = s;
    r->seg_bytes += b;
    j->sl = r->mark;
    return 0;
}

static inline int push(jp *j, arr *r, const void *item, size_t sz)
{
    if (j->sc - j->sl < sz) TRY(grow_scratch(j, sz));
    memcpy(j->stk + j->sl, item, sz);
    j->sl += sz;
    return j->sl - r->mark >= SEG_MAX ? flush(j, r) : 0;
}

/* Gathers r's elements into one arena array, after the *n already at *items (a repeated
 * field that appears twice, or under its old name too, concatenates, as in protobuf). */
int jsonp_collect(jp *j, arr *r, size_t sz, void **items, uint32_t *n)
{
    size_t pending = j->sl - r->mark;
    size_t cnt = (r->seg_bytes + pending) / sz;
    if (cnt == 0) return 0;
    char *d = arena_alloc(j->a, (*n + cnt) * sz), *w = d;
    if (!d) return LT_ENOMEM;
    if (*n) {
        memcpy(w, *items, *n * sz);
        w += *n * sz;
    }
    for (const seg *s = r->head; s; s = s->next) {
        memcpy(w, s + 1, s->bytes);
        w += s->bytes;
    }
    memcpy(w, j->stk + r->mark, pending);
    *items = d;
    *n += (uint32_t)cnt;
    j->sl = r->mark;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * common.proto: AnyValue, KeyValue */

static int any_value(jp *j, lt_value *v);
static int attrs(jp *j, lt_attrs *out);

/* ArrayValue { values = 1 } */
static int array_value(jp *j, lt_value *v)
{
    lt_str k;
    int idx = 0, rc;
    if (v->type != LT_VAL_ARRAY) {
        v->type = LT_VAL_ARRAY;
        v->u.arr.items = NULL;
        v->u.arr.n = 0;
    }
    TRY(open_c(j, '{'));
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "values")) {
            arr ar;
            arr_begin(j, &ar);
            uint32_t cnt = v->u.arr.n;
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                if (++cnt > MODEL_MAX_ATTRS) return LT_ETOOBIG;
                lt_value e = {0};
                TRY(any_value(j, &e));
                TRY(push(j, &ar, &e, sizeof e));
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, v->u.arr.items, v->u.arr.n);
        } else {
            TRY(skip_value(j));
        }
    }
    return rc;
}

/* KeyValueList { values = 1 } */
static int kvlist_value(jp *j, lt_value *v)
{
    lt_str k;
    int idx = 0, rc;
    if (v->type != LT_VAL_KVLIST) {
        v->type = LT_VAL_KVLIST;
        v->u.kv.items = NULL;
        v->u.kv.n = 0;
    }
    TRY(open_c(j, '{'));
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "values"))
            TRY(attrs(j, &v->u.kv));
        else
            TRY(skip_value(j));
    }
    return rc;
}

/* AnyValue (oneof: stringValue 1, boolValue 2, intValue 3, doubleValue 4, arrayValue 5,
 * kvlistValue 6, bytesValue 7). With several members set, the last one wins. */
static int any_value(jp *j, lt_value *v)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "stringValue")) {
            v->type = LT_VAL_STRING;
            rc = get_str(j, &v->u.s);
        } else if (K(k, "intValue")) {
            v->type = LT_VAL_INT;
            rc = get_i64(j, &v->u.i);
        } else if (K(k, "doubleValue")) {
            v->type = LT_VAL_DOUBLE;
            rc = get_double(j, &v->u.d);
        } else if (K(k, "boolValue")) {
            v->type = LT_VAL_BOOL;
            rc = get_bool(j, &v->u.b);
        } else if (K(k, "arrayValue") || K(k, "kvlistValue")) {
            if (++j->vdepth > MODEL_MAX_DEPTH) return LT_ETOOBIG;
            rc = k.len == 10 ? array_value(j, v) : kvlist_value(j, v);
            j->vdepth--;
        } else if (K(k, "bytesValue")) {
            v->type = LT_VAL_BYTES;
            rc = get_bytes(j, &v->u.s);
        } else {
            rc = skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* KeyValue { key = 1, value = 2 } */
static int key_value(jp *j, lt_kv *kv)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "key"))
            rc = get_str(j, &kv->key);
        else if (K(k, "value"))
            rc = any_value(j, &kv->value);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* repeated KeyValue (attributes of every message, and KeyValueList.values) */
static int attrs(jp *j, lt_attrs *out)
{
    arr ar;
    arr_begin(j, &ar);
    uint32_t cnt = out->n;
    int idx = 0, rc;
    TRY(open_c(j, '['));
    while ((rc = arr_next(j, &idx)) == 1) {
        if (++cnt > MODEL_MAX_ATTRS) return LT_ETOOBIG;
        lt_kv kv = {0};
        TRY(key_value(j, &kv));
        TRY(push(j, &ar, &kv, sizeof kv));
    }
    if (rc < 0) return rc;
    COLLECT(j, &ar, out->items, out->n);
    return 0;
}

/* resource.proto: Resource { attributes = 1, dropped_attributes_count = 2 } */
static int resource(jp *j, lt_resource *r)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "attributes"))
            rc = attrs(j, &r->attrs);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &r->dropped_attributes_count);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* InstrumentationScope { name = 1, version = 2, attributes = 3,
 * dropped_attributes_count = 4 } */
static int scope(jp *j, lt_scope *s)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "name"))
            rc = get_str(j, &s->name);
        else if (K(k, "version"))
            rc = get_str(j, &s->version);
        else if (K(k, "attributes"))
            rc = attrs(j, &s->attrs);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &s->dropped_attributes_count);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

static int count_item(jp *j)
{
    return ++j->items > MODEL_MAX_ITEMS ? LT_ETOOBIG : 0;
}

/* ---------------------------------------------------------------------------------------
 * trace.proto */

/* Span.Event { time_unix_nano = 1, name = 2, attributes = 3, dropped_attributes_count = 4 } */
static int event(jp *j, lt_event *ev)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "timeUnixNano"))
            rc = get_u64(j, &ev->time_unix_nano);
        else if (K(k, "name"))
            rc = get_str(j, &ev->name);
        else if (K(k, "attributes"))
            rc = attrs(j, &ev->attrs);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &ev->dropped_attributes_count);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* Span.Link { trace_id = 1, span_id = 2, trace_state = 3, attributes = 4,
 * dropped_attributes_count = 5, flags = 6 } */
static int link(jp *j, lt_link *l)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "traceId"))
            rc = get_id(j, l->trace_id, 16);
        else if (K(k, "spanId"))
            rc = get_id(j, l->span_id, 8);
        else if (K(k, "traceState"))
            rc = get_str(j, &l->trace_state);
        else if (K(k, "attributes"))
            rc = attrs(j, &l->attrs);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &l->dropped_attributes_count);
        else if (K(k, "flags"))
            rc = get_u32(j, &l->flags);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* Status { message = 2, code = 3 } */
static int status(jp *j, lt_span *s)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "message"))
            rc = get_str(j, &s->status_message);
        else if (K(k, "code"))
            rc = get_u32(j, &s->status_code);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

static int events(jp *j, lt_span *s)
{
    arr ar;
    arr_begin(j, &ar);
    int idx = 0, rc;
    TRY(open_c(j, '['));
    while ((rc = arr_next(j, &idx)) == 1) {
        TRY(count_item(j));
        lt_event ev = {0};
        TRY(event(j, &ev));
        TRY(push(j, &ar, &ev, sizeof ev));
    }
    if (rc < 0) return rc;
    COLLECT(j, &ar, s->events.items, s->events.n);
    return 0;
}

static int links(jp *j, lt_span *s)
{
    arr ar;
    arr_begin(j, &ar);
    int idx = 0, rc;
    TRY(open_c(j, '['));
    while ((rc = arr_next(j, &idx)) == 1) {
        TRY(count_item(j));
        lt_link l = {0};
        TRY(link(j, &l));
        TRY(push(j, &ar, &l, sizeof l));
    }
    if (rc < 0) return rc;
    COLLECT(j, &ar, s->links.items, s->links.n);
    return 0;
}

/* Span: fields 1-16 of trace.proto (see model.h). */
static int span(jp *j, lt_span *s)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "traceId"))
            rc = get_id(j, s->trace_id, 16);
        else if (K(k, "spanId"))
            rc = get_id(j, s->span_id, 8);
        else if (K(k, "parentSpanId"))
            rc = get_id(j, s->parent_span_id, 8);
        else if (K(k, "name"))
            rc = get_str(j, &s->name);
        else if (K(k, "kind"))
            rc = get_u32(j, &s->kind);
        else if (K(k, "startTimeUnixNano"))
            rc = get_u64(j, &s->start_time_unix_nano);
        else if (K(k, "endTimeUnixNano"))
            rc = get_u64(j, &s->end_time_unix_nano);
        else if (K(k, "attributes"))
            rc = attrs(j, &s->attrs);
        else if (K(k, "status"))
            rc = status(j, s);
        else if (K(k, "events"))
            rc = events(j, s);
        else if (K(k, "links"))
            rc = links(j, s);
        else if (K(k, "flags"))
            rc = get_u32(j, &s->flags);
        else if (K(k, "traceState"))
            rc = get_str(j, &s->trace_state);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &s->dropped_attributes_count);
        else if (K(k, "droppedEventsCount"))
            rc = get_u32(j, &s->dropped_events_count);
        else if (K(k, "droppedLinksCount"))
            rc = get_u32(j, &s->dropped_links_count);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

static int spans(jp *j, lt_scope_spans *ss)
{
    arr ar;
    arr_begin(j, &ar);
    int idx = 0, rc;
    TRY(open_c(j, '['));
    while ((rc = arr_next(j, &idx)) == 1) {
        TRY(count_item(j));
        lt_span s;
        memset(&s, 0, sizeof s);
        TRY(span(j, &s));
        if (model_id_is_zero(s.trace_id, 16) || model_id_is_zero(s.span_id, 8)) {
            j->rejected++;
            continue;
        }
        s.has_parent = !model_id_is_zero(s.parent_span_id, 8);
        TRY(push(j, &ar, &s, sizeof s));
        j->kept++;
    }
    if (rc < 0) return rc;
    COLLECT(j, &ar, ss->spans, ss->n_spans);
    return 0;
}

/* ScopeSpans { scope = 1, spans = 2, schema_url = 3 } */
static int scope_spans(jp *j, lt_scope_spans *ss)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "spans"))
            rc = spans(j, ss);
        else if (K(k, "scope") || K(k, "instrumentationLibrary"))
            rc = scope(j, &ss->scope);
        else if (K(k, "schemaUrl"))
            rc = get_str(j, &ss->schema_url);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* ResourceSpans { resource = 1, scope_spans = 2, schema_url = 3;
 * instrumentation_library_spans = 1000 before OTLP 0.19 } */
static int resource_spans(jp *j, lt_resource_spans *rs)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resource")) {
            rc = resource(j, &rs->resource);
        } else if (K(k, "scopeSpans") || K(k, "instrumentationLibrarySpans")) {
            arr ar;
            arr_begin(j, &ar);
            uint32_t cnt = rs->n_scopes;
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                if (++cnt > MODEL_MAX_ITEMS) return LT_ETOOBIG;
                lt_scope_spans ss = {0};
                TRY(scope_spans(j, &ss));
                TRY(push(j, &ar, &ss, sizeof ss));
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, rs->scopes, rs->n_scopes);
        } else if (K(k, "schemaUrl")) {
            rc = get_str(j, &rs->schema_url);
        } else {
            rc = skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ExportTraceServiceRequest { resource_spans = 1 } */
static int trace_request(jp *j, lt_trace_batch *b)
{
    lt_str k;
    int idx = 0, rc;
    TRY(open_c(j, '{'));
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resourceSpans")) {
            arr ar;
            arr_begin(j, &ar);
            uint32_t cnt = b->n_rs;
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                if (++cnt > MODEL_MAX_ITEMS) return LT_ETOOBIG;
                lt_resource_spans rs = {0};
                TRY(resource_spans(j, &rs));
                TRY(push(j, &ar, &rs, sizeof rs));
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, b->rs, b->n_rs);
        } else {
            TRY(skip_value(j));
        }
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * logs.proto */

/* LogRecord: fields 1-12 of logs.proto (see model.h). */
static int log_record(jp *j, lt_log_record *r)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "timeUnixNano"))
            rc = get_u64(j, &r->time_unix_nano);
        else if (K(k, "observedTimeUnixNano"))
            rc = get_u64(j, &r->observed_time_unix_nano);
        else if (K(k, "severityNumber"))
            rc = get_u32(j, &r->severity_number);
        else if (K(k, "severityText"))
            rc = get_str(j, &r->severity_text);
        else if (K(k, "body"))
            rc = any_value(j, &r->body);
        else if (K(k, "attributes"))
            rc = attrs(j, &r->attrs);
        else if (K(k, "droppedAttributesCount"))
            rc = get_u32(j, &r->dropped_attributes_count);
        else if (K(k, "flags"))
            rc = get_u32(j, &r->flags);
        else if (K(k, "traceId"))
            rc = get_id(j, r->trace_id, 16);
        else if (K(k, "spanId"))
            rc = get_id(j, r->span_id, 8);
        else if (K(k, "eventName"))
            rc = get_str(j, &r->event_name);
        else
            rc = skip_value(j);
        if (rc) return rc;
    }
    return rc;
}

/* ScopeLogs { scope = 1, log_records = 2, schema_url = 3 } */
static int scope_logs(jp *j, lt_scope_logs *sl)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "logRecords")) {
            arr ar;
            arr_begin(j, &ar);
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                TRY(count_item(j));
                lt_log_record r;
                memset(&r, 0, sizeof r);
                TRY(log_record(j, &r));
                TRY(push(j, &ar, &r, sizeof r));
                j->kept++;
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, sl->records, sl->n_records);
        } else if (K(k, "scope") || K(k, "instrumentationLibrary")) {
            rc = scope(j, &sl->scope);
        } else if (K(k, "schemaUrl")) {
            rc = get_str(j, &sl->schema_url);
        } else {
            rc = skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ResourceLogs { resource = 1, scope_logs = 2, schema_url = 3;
 * instrumentation_library_logs = 1000 before OTLP 0.19 } */
static int resource_logs(jp *j, lt_resource_logs *rl)
{
    lt_str k;
    int idx = 0, rc;
    if ((rc = open_msg(j))) return rc < 0 ? rc : 0;
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resource")) {
            rc = resource(j, &rl->resource);
        } else if (K(k, "scopeLogs") || K(k, "instrumentationLibraryLogs")) {
            arr ar;
            arr_begin(j, &ar);
            uint32_t cnt = rl->n_scopes;
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                if (++cnt > MODEL_MAX_ITEMS) return LT_ETOOBIG;
                lt_scope_logs sl = {0};
                TRY(scope_logs(j, &sl));
                TRY(push(j, &ar, &sl, sizeof sl));
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, rl->scopes, rl->n_scopes);
        } else if (K(k, "schemaUrl")) {
            rc = get_str(j, &rl->schema_url);
        } else {
            rc = skip_value(j);
        }
        if (rc) return rc;
    }
    return rc;
}

/* ExportLogsServiceRequest { resource_logs = 1 } */
static int logs_request(jp *j, lt_log_batch *b)
{
    lt_str k;
    int idx = 0, rc;
    TRY(open_c(j, '{'));
    while ((rc = obj_next(j, &idx, &k)) == 1) {
        if (K(k, "resourceLogs")) {
            arr ar;
            arr_begin(j, &ar);
            uint32_t cnt = b->n_rl;
            int ai = 0;
            TRY(open_c(j, '['));
            while ((rc = arr_next(j, &ai)) == 1) {
                if (++cnt > MODEL_MAX_ITEMS) return LT_ETOOBIG;
                lt_resource_logs rl = {0};
                TRY(resource_logs(j, &rl));
                TRY(push(j, &ar, &rl, sizeof rl));
            }
            if (rc < 0) return rc;
            COLLECT(j, &ar, b->rl, b->n_rl);
        } else {
            TRY(skip_value(j));
        }
    }
    return rc;
}

/* Sets up a parser over buf; a UTF-8 byte order mark is skipped (RFC 8259 section 8.1
 * lets a parser ignore it). */
static int begin(jp *j, lt_arena *a, char *buf, size_t n)
{
    memset(j, 0, sizeof *j);
    if (!buf || n == 0) return LT_EINVAL;
    j->p = buf;
    j->end = buf + n;
    j->a = a;
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) j->p += 3;
    return 0;
}

/* The whole body is one object: only whitespace may follow it. */
static int finish(jp *j, int rc)
{
    if (rc == 0) {
        ws(j);
        if (j->p != j->end) rc = LT_EINVAL;
    }
    lt_free(j->stk);
    j->stk = NULL;
    return rc;
}

int json_decode_traces(lt_arena *a, char *buf, size_t n, lt_trace_batch *out)
{
    jp j;
    memset(out, 0, sizeof *out);
    int rc = begin(&j, a, buf, n);
    if (rc) return rc;
    rc = finish(&j, trace_request(&j, out));
    out->n_spans = j.kept;
    out->rejected = j.rejected;
    out->reject_reason = j.rejected ? LT_STR(REJECT_REASON) : LT_STR("");
    return rc;
}

int json_decode_logs(lt_arena *a, char *buf, size_t n, lt_log_batch *out)
{
    jp j;
    memset(out, 0, sizeof *out);
    int rc = begin(&j, a, buf, n);
    if (rc) return rc;
    rc = finish(&j, logs_request(&j, out));
    out->n_records = j.kept;
    out->reject_reason = LT_STR("");
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Encoder: the canonical OTLP/JSON form. Members in protobuf field order, defaults
 * omitted, 64-bit integers as decimal strings, ids as lower-case hex. */

/* Writes the key of the next member; *first says whether a comma is due. */
static void key(lt_buf *b, bool *first, const char *name)
{
    if (!*first) buf_putc(b, ',');
    *first = false;
    buf_putc(b, '"');
    buf_append_c(b, name);
    buf_append(b, "\":", 2);
}

/* jsonw_str for a slice that may be {NULL, 0} (an absent string: a KeyValue without a
 * key, or a model built by hand), which jsonw_str must not be given. */
static void str(lt_buf *b, lt_str s)
{
    jsonw_str(b, s.ptr ? s : LT_STR(""));
}

static void put_i64_str(lt_buf *b, int64_t v)
{
    buf_printf(b, "\"%" PRId64 "\"", v);
}

static void put_u32(lt_buf *b, bool *first, const char *name, uint32_t v)
{
    if (!v) return;
    key(b, first, name);
    buf_printf(b, "%" PRIu32, v);
}

static void put_u64(lt_buf *b, bool *first, const char *name, uint64_t v)
{
    if (!v) return;
    key(b, first, name);
    jsonw_u64_str(b, v);
}

static void put_str(lt_buf *b, bool *first, const char *name, lt_str s)
{
    if (!s.len) return;
    key(b, first, name);
    str(b, s);
}

static void put_id(lt_buf *b, bool *first, const char *name, const uint8_t *id, int n)
{
    if (model_id_is_zero(id, n)) return;
    key(b, first, name);
    jsonw_hex(b, id, (size_t)n);
}

static void enc_kvs(lt_buf *b, const lt_attrs *a)
{
    buf_putc(b, '[');
    for (uint32_t i = 0; i < a->n; i++) {
        if (i) buf_putc(b, ',');
        buf_append(b, "{\"key\":", 7);
        str(b, a->items[i].key);
        buf_append(b, ",\"value\":", 9);
        json_encode_value(b, &a->items[i].value);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
}

static void put_attrs(lt_buf *b, bool *first, const lt_attrs *a, uint32_t dropped)
{
    if (a->n) {
        key(b, first, "attributes");
        enc_kvs(b, a);
    }
    put_u32(b, first, "droppedAttributesCount", dropped);
}

void json_encode_value(lt_buf *out, const lt_value *v)
{
    switch (v->type) {
    case LT_VAL_STRING:
        buf_append_c(out, "{\"stringValue\":");
        str(out, v->u.s);
        break;
    case LT_VAL_BOOL:
        buf_append_c(out, v->u.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case LT_VAL_INT:
        buf_append_c(out, "{\"intValue\":");
        put_i64_str(out, v->u.i);
        break;
    case LT_VAL_DOUBLE:
        buf_append_c(out, "{\"doubleValue\":");
        jsonw_double(out, v->u.d);
        break;
    case LT_VAL_BYTES:
        buf_append_c(out, "{\"bytesValue\":");
        jsonw_base64(out, v->u.s.ptr ? (const uint8_t *)v->u.s.ptr : (const uint8_t *)"",
                     v->u.s.len);
        break;
    case LT_VAL_ARRAY:
        buf_append_c(out, "{\"arrayValue\":{");
        if (v->u.arr.n) {
            buf_append_c(out, "\"values\":[");
            for (uint32_t i = 0; i < v->u.arr.n; i++) {
                if (i) buf_putc(out, ',');
                json_encode_value(out, &v->u.arr.items[i]);
            }
            buf_putc(out, ']');
        }
        buf_putc(out, '}');
        break;
    case LT_VAL_KVLIST:
        buf_append_c(out, "{\"kvlistValue\":{");
        if (v->u.kv.n) {
            buf_append_c(out, "\"values\":");
            enc_kvs(out, &v->u.kv);
        }
        buf_putc(out, '}');
        break;
    default: /* LT_VAL_EMPTY */
        buf_putc(out, '{');
        break;
    }
    buf_putc(out, '}');
}

static void put_resource(lt_buf *b, bool *first, const lt_resource *r)
{
    if (!r->attrs.n && !r->dropped_attributes_count) return;
    bool f = true;
    key(b, first, "resource");
    buf_putc(b, '{');
    put_attrs(b, &f, &r->attrs, r->dropped_attributes_count);
    buf_putc(b, '}');
}

static void put_scope(lt_buf *b, bool *first, const lt_scope *s)
{
    if (!s->name.len && !s->version.len && !s->attrs.n && !s->dropped_attributes_count) return;
    bool f = true;
    key(b, first, "scope");
    buf_putc(b, '{');
    put_str(b, &f, "name", s->name);
    put_str(b, &f, "version", s->version);
    put_attrs(b, &f, &s->attrs, s->dropped_attributes_count);
    buf_putc(b, '}');
}

static void enc_span(lt_buf *b, const lt_span *s)
{
    bool f = true;
    buf_putc(b, '{');
    put_id(b, &f, "traceId", s->trace_id, 16);
    put_id(b, &f, "spanId", s->span_id, 8);
    put_str(b, &f, "traceState", s->trace_state);
    if (s->has_parent) put_id(b, &f, "parentSpanId", s->parent_span_id, 8);
    put_str(b, &f, "name", s->name);
    put_u32(b, &f, "kind", s->kind);
    put_u64(b, &f, "startTimeUnixNano", s->start_time_unix_nano);
    put_u64(b, &f, "endTimeUnixNano", s->end_time_unix_nano);
    put_attrs(b, &f, &s->attrs, s->dropped_attributes_count);
    if (s->events.n) {
        key(b, &f, "events");
        buf_putc(b, '[');
        for (uint32_t i = 0; i < s->events.n; i++) {
            const lt_event *ev = &s->events.items[i];
            bool g = true;
            buf_append_c(b, i ? ",{" : "{");
            put_u64(b, &g, "timeUnixNano", ev->time_unix_nano);
            put_str(b, &g, "name", ev->name);
            put_attrs(b, &g, &ev->attrs, ev->dropped_attributes_count);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    put_u32(b, &f, "droppedEventsCount", s->dropped_events_count);
    if (s->links.n) {
        key(b, &f, "links");
        buf_putc(b, '[');
        for (uint32_t i = 0; i < s->links.n; i++) {
            const lt_link *l = &s->links.items[i];
            bool g = true;
            buf_append_c(b, i ? ",{" : "{");
            put_id(b, &g, "traceId", l->trace_id, 16);
            put_id(b, &g, "spanId", l->span_id, 8);
            put_str(b, &g, "traceState", l->trace_state);
            put_attrs(b, &g, &l->attrs, l->dropped_attributes_count);
            put_u32(b, &g, "flags", l->flags);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    put_u32(b, &f, "droppedLinksCount", s->dropped_links_count);
    if (s->status_message.len || s->status_code) {
        bool g = true;
        key(b, &f, "status");
        buf_putc(b, '{');
        put_str(b, &g, "message", s->status_message);
        put_u32(b, &g, "code", s->status_code);
        buf_putc(b, '}');
    }
    put_u32(b, &f, "flags", s->flags);
    buf_putc(b, '}');
}

int json_encode_traces(lt_buf *out, const lt_trace_batch *b)
{
    buf_append_c(out, "{\"resourceSpans\":[");
    for (uint32_t i = 0; i < b->n_rs; i++) {
        const lt_resource_spans *rs = &b->rs[i];
        bool f = true;
        buf_append_c(out, i ? ",{" : "{");
        put_resource(out, &f, &rs->resource);
        if (rs->n_scopes) {
            key(out, &f, "scopeSpans");
            buf_putc(out, '[');
            for (uint32_t k = 0; k < rs->n_scopes; k++) {
                const lt_scope_spans *ss = &rs->scopes[k];
                bool g = true;
                buf_append_c(out, k ? ",{" : "{");
                put_scope(out, &g, &ss->scope);
                if (ss->n_spans) {
                    key(out, &g, "spans");
                    buf_putc(out, '[');
                    for (uint32_t s = 0; s < ss->n_spans; s++) {
                        if (s) buf_putc(out, ',');
                        enc_span(out, &ss->spans[s]);
                    }
                    buf_putc(out, ']');
                }
                put_str(out, &g, "schemaUrl", ss->schema_url);
                buf_putc(out, '}');
            }
            buf_putc(out, ']');
        }
        put_str(out, &f, "schemaUrl", rs->schema_url);
        buf_putc(out, '}');
    }
    buf_append_c(out, "]}");
    return out->oom ? LT_ENOMEM : 0;
}

static void enc_log_record(lt_buf *b, const lt_log_record *r)
{
    bool f = true;
    buf_putc(b, '{');
    put_u64(b, &f, "timeUnixNano", r->time_unix_nano);
    put_u32(b, &f, "severityNumber", r->severity_number);
    put_str(b, &f, "severityText", r->severity_text);
    if (r->body.type != LT_VAL_EMPTY) {
        key(b, &f, "body");
        json_encode_value(b, &r->body);
    }
    put_attrs(b, &f, &r->attrs, r->dropped_attributes_count);
    put_u32(b, &f, "flags", r->flags);
    put_id(b, &f, "traceId", r->trace_id, 16);
    put_id(b, &f, "spanId", r->span_id, 8);
    put_u64(b, &f, "observedTimeUnixNano", r->observed_time_unix_nano);
    put_str(b, &f, "eventName", r->event_name);
    buf_putc(b, '}');
}

int json_encode_logs(lt_buf *out, const lt_log_batch *b)
{
    buf_append_c(out, "{\"resourceLogs\":[");
    for (uint32_t i = 0; i < b->n_rl; i++) {
        const lt_resource_logs *rl = &b->rl[i];
        bool f = true;
        buf_append_c(out, i ? ",{" : "{");
        put_resource(out, &f, &rl->resource);
        if (rl->n_scopes) {
            key(out, &f, "scopeLogs");
            buf_putc(out, '[');
            for (uint32_t k = 0; k < rl->n_scopes; k++) {
                const lt_scope_logs *sl = &rl->scopes[k];
                bool g = true;
                buf_append_c(out, k ? ",{" : "{");
                put_scope(out, &g, &sl->scope);
                if (sl->n_records) {
                    key(out, &g, "logRecords");
                    buf_putc(out, '[');
                    for (uint32_t r = 0; r < sl->n_records; r++) {
                        if (r) buf_putc(out, ',');
                        enc_log_record(out, &sl->records[r]);
                    }
                    buf_putc(out, ']');
                }
                put_str(out, &g, "schemaUrl", sl->schema_url);
                buf_putc(out, '}');
            }
            buf_putc(out, ']');
        }
        put_str(out, &f, "schemaUrl", rl->schema_url);
        buf_putc(out, '}');
    }
    buf_append_c(out, "]}");
    return out->oom ? LT_ENOMEM : 0;
}

/* ---------------------------------------------------------------------------------------
 * Shared with the metrics codec (json_int.h) */

int jsonp_push(jp *j, arr *r, const void *item, size_t sz)
{
    return push(j, r, item, sz);
}

int jsonp_begin(jp *j, lt_arena *a, char *buf, size_t n)
{
    return begin(j, a, buf, n);
}

int jsonp_finish(jp *j, int rc)
{
    return finish(j, rc);
}

int jsonp_open_c(jp *j, char c)
{
    return open_c(j, c);
}

int jsonp_open_msg(jp *j)
{
    return open_msg(j);
}

int jsonp_obj_next(jp *j, int *idx, lt_str *k)
{
    return obj_next(j, idx, k);
}

int jsonp_arr_next(jp *j, int *idx)
{
    return arr_next(j, idx);
}

int jsonp_skip_value(jp *j)
{
    return skip_value(j);
}

int jsonp_get_str(jp *j, lt_str *out)
{
    return get_str(j, out);
}

int jsonp_get_u64(jp *j, uint64_t *out)
{
    return get_u64(j, out);
}

int jsonp_get_i64(jp *j, int64_t *out)
{
    return get_i64(j, out);
}

int jsonp_get_u32(jp *j, uint32_t *out)
{
    return get_u32(j, out);
}

int jsonp_get_bool(jp *j, bool *out)
{
    return get_bool(j, out);
}

int jsonp_get_double(jp *j, double *out)
{
    return get_double(j, out);
}

int jsonp_attrs(jp *j, lt_attrs *out)
{
    return attrs(j, out);
}

int jsonp_resource(jp *j, lt_resource *r)
{
    return resource(j, r);
}

int jsonp_scope(jp *j, lt_scope *s)
{
    return scope(j, s);
}

int jsonp_count_item(jp *j)
{
    return count_item(j);
}

void jsonp_key(lt_buf *b, bool *first, const char *name)
{
    key(b, first, name);
}

void jsonp_put_u32(lt_buf *b, bool *first, const char *name, uint32_t v)
{
    put_u32(b, first, name, v);
}

void jsonp_put_u64(lt_buf *b, bool *first, const char *name, uint64_t v)
{
    put_u64(b, first, name, v);
}

void jsonp_put_str(lt_buf *b, bool *first, const char *name, lt_str s)
{
    put_str(b, first, name, s);
}

void jsonp_i64_str(lt_buf *b, int64_t v)
{
    put_i64_str(b, v);
}

void jsonp_put_attrs(lt_buf *b, bool *first, const lt_attrs *a, uint32_t dropped)
{
    put_attrs(b, first, a, dropped);
}

void jsonp_put_resource(lt_buf *b, bool *first, const lt_resource *r)
{
    put_resource(b, first, r);
}

void jsonp_put_scope(lt_buf *b, bool *first, const lt_scope *s)
{
    put_scope(b, first, s);
}

void jsonp_kvs(lt_buf *b, const lt_attrs *a)
{
    enc_kvs(b, a);
}
