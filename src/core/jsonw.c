/* jsonw.c — see jsonw.h. */
#include "core/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned min;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    return len;
}

void jsonw_str(lt_buf *b, lt_str s)
{
    static const char hex[] = "0123456789abcdef";
    if (s.len == 0) { /* also covers {NULL, 0}, where pointer arithmetic is undefined */
        buf_append(b, "\"\"", 2);
        return;
    }
    const unsigned char *p = (const unsigned char *)s.ptr;
    buf_reserve(b, s.len + 2);
    buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < s.len;) {
        unsigned c = p[i];
        size_t l = 1;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            i++;
            continue;
        }
        if (c >= 0x80 && (l = utf8_len(p + i, s.len - i)) > 0) {
            i += l;
            continue;
        }
        buf_append(b, p + run, i - run);
        switch (c) {
        case '"':
            buf_append(b, "\\\"", 2);
            break;
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        case '\r':
            buf_append(b, "\\r", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        default:
            if (c >= 0x80) {
                buf_append(b, "\\ufffd", 6);
            } else {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_append(b, e, 6);
            }
        }
        i++;
        run = i;
    }
    buf_append(b, p + run, s.len - run);
    buf_putc(b, '"');
}

void jsonw_cstr(lt_buf *b, const char *s)
{
    jsonw_str(b, lt_str_c(s));
}

void jsonw_i64(lt_buf *b, int64_t v)
{
    buf_printf(b, "%" PRId64, v);
}

void jsonw_u64_str(lt_buf *b, uint64_t v)
{
    buf_printf(b, "\"%" PRIu64 "\"", v);
}

void jsonw_double(lt_buf *b, double v)
{
    if (isnan(v)) {
        buf_append_c(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        buf_append_c(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.17g", v);
    /* prefer the shortest form that reads back exactly */
    for (int prec = 1; prec < 17; prec++) {
        char t2[40];
        int n2 = snprintf(t2, sizeof t2, "%.*g", prec, v);
        if (strtod(t2, NULL) == v) {
            memcpy(tmp, t2, (size_t)n2 + 1);
            n = n2;
            break;
        }
    }
    buf_append(b, tmp, (size_t)n);
    if (!strpbrk(tmp, ".eEn")) buf_append(b, ".0", 2);
}

void jsonw_hex(lt_buf *b, const uint8_t *p, size_t n)
{
    if (buf_reserve(b, 2 * n + 2)) return;
    buf_putc(b, '"');
    hex_encode(p, n, b->data + b->len);
    b->len += 2 * n;
    buf_putc(b, '"');
}

void jsonw_base64(lt_buf *b, const uint8_t *p, size_t n)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (buf_reserve(b, need + 2)) return;
    buf_putc(b, '"');
    base64_encode(p, n, b->data + b->len);
    b->len += need - 1;
    buf_putc(b, '"');
}
