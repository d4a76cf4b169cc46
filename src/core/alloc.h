/* alloc.h — every heap allocation of llmtrace goes through here.
 *
 * One small module so that tests can count allocations and make the Nth one fail
 * (as curl's torture mode and SQLite's fault simulation do): decoders and the client
 * library must survive a failed allocation at every point. Thread-safe. */
#ifndef LT_CORE_ALLOC_H
#define LT_CORE_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/free; return NULL on failure (or on an injected failure). */
void *lt_malloc(size_t n);
void *lt_calloc(size_t count, size_t size);
void *lt_realloc(void *p, size_t n);
void lt_free(void *p);
/* Copies n bytes and a terminating NUL into a new allocation; NULL on failure. */
char *lt_strndup(const char *s, size_t n);

/* Test hooks: after alloc_fail_after(k), the (k+1)th allocation from now and all later
 * ones fail until alloc_fail_after(-1). alloc_count() counts allocations since start. */
void alloc_fail_after(long k);
unsigned long alloc_count(void);

#endif
