/* str.h — {ptr,len} strings and a growable byte buffer.
 *
 * An lt_str does not own its bytes and is not NUL-terminated: during a request it is a
 * slice of the request buffer; after it, of whatever arena or buffer the owner says. */
#ifndef LT_CORE_STR_H
#define LT_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *ptr;
    size_t len;
} lt_str;

#define LT_STR(lit) ((lt_str){(lit), sizeof(lit) - 1})
#define LT_STR_NULL ((lt_str){NULL, 0})

static inline lt_str lt_str_c(const char *s)
{
    return (lt_str){s, s ? strlen(s) : 0};
}

static inline bool lt_str_eq(lt_str a, lt_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool lt_str_eq_c(lt_str a, const char *b)
{
    return lt_str_eq(a, lt_str_c(b));
}

/* A growable byte buffer that owns its memory (through core/alloc.h). The data is kept
 * NUL-terminated for convenience; len does not count the NUL. A failed append leaves the
 * buffer as it was and sets oom, so callers may append freely and check once at the end. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} lt_buf;

/* Returns 0 or LT_ENOMEM. */
int buf_reserve(lt_buf *b, size_t extra);
int buf_append(lt_buf *b, const void *p, size_t n);
int buf_append_str(lt_buf *b, lt_str s);
int buf_append_c(lt_buf *b, const char *s);
int buf_putc(lt_buf *b, char c);
int buf_printf(lt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(lt_buf *b);
/* Releases the memory; the buffer may be reused afterwards. NULL-tolerant. */
void buf_free(lt_buf *b);

#endif
