/* arena.h — a region allocator: many small allocations, one release.
 *
 * A request is decoded into one arena that is released when its response is sent
 * (as h2o's and nginx's per-request pools). Not thread-safe: one arena, one thread. */
#ifndef LT_CORE_ARENA_H
#define LT_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

typedef struct lt_arena lt_arena;

/* Returns a new arena or NULL on allocation failure. */
lt_arena *arena_new(void);
/* Returns size bytes aligned to 8, or NULL (the arena stays usable). size 0 is allowed. */
void *arena_alloc(lt_arena *a, size_t size);
/* Like arena_alloc for count*size bytes, zeroed; NULL on failure or overflow. */
void *arena_calloc(lt_arena *a, size_t count, size_t size);
/* Copies s into the arena; returns a slice of the copy, or a {NULL,0} slice on failure
 * (check ok with s.len == 0 || r.ptr). The copy is NUL-terminated. */
lt_str arena_strdup(lt_arena *a, lt_str s);
/* Bounds the bytes the arena may hand out (0 = no bound, the default). An allocation past
 * the bound returns NULL and arena_over_limit() becomes true: decoders then fail with
 * LT_ENOMEM, and the caller can tell an oversized request from a machine out of memory. */
void arena_set_limit(lt_arena *a, size_t limit);
bool arena_over_limit(const lt_arena *a);
/* Frees everything allocated since arena_new but keeps one block for reuse. */
void arena_reset(lt_arena *a);
/* Total bytes handed out since the last reset (for limits). */
size_t arena_used(const lt_arena *a);
/* Bytes the arena takes from the heap (its blocks), for memory bounds. */
size_t arena_reserved(const lt_arena *a);
/* NULL-tolerant. */
void arena_free(lt_arena *a);

#endif
