/* alloc.c — counted, failure-injectable allocation (see alloc.h). */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong count;
static atomic_long fail_at = -1; /* absolute allocation number from which to fail */

static int should_fail(void)
{
    unsigned long n = atomic_fetch_add(&count, 1);
    long f = atomic_load(&fail_at);
    return f >= 0 && (long)n >= f;
}

void *lt_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *lt_calloc(size_t c, size_t s)
{
    return should_fail() ? NULL : calloc(c ? c : 1, s ? s : 1);
}

void *lt_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void lt_free(void *p)
{
    free(p);
}

char *lt_strndup(const char *s, size_t n)
{
    char *d = lt_malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void alloc_fail_after(long k)
{
    atomic_store(&fail_at, k < 0 ? -1 : (long)atomic_load(&count) + k);
}

unsigned long alloc_count(void)
{
    return atomic_load(&count);
}
