/* str.c — the growable buffer of str.h. */
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/err.h"

int buf_reserve(lt_buf *b, size_t extra)
{
    if (b->oom) return LT_ENOMEM;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) goto fail;
        cap *= 2;
    }
    char *d = lt_realloc(b->data, cap);
    if (!d) goto fail;
    b->data = d;
    b->cap = cap;
    return 0;
fail:
    b->oom = true;
    return LT_ENOMEM;
}

int buf_append(lt_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return LT_ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int buf_append_str(lt_buf *b, lt_str s)
{
    return buf_append(b, s.ptr, s.len);
}

int buf_append_c(lt_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(lt_buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(lt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n)) return LT_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_reset(lt_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data) b->data[0] = 0;
}

void buf_free(lt_buf *b)
{
    if (!b) return;
    lt_free(b->data);
    *b = (lt_buf){0};
}
