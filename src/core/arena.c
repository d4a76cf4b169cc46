/* arena.c — region allocator (see arena.h).
 *
 * Blocks of growing size are chained; big requests get a block of their own so a large
 * allocation does not waste the tail of the current block. */
#include "core/arena.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"

typedef struct block {
    struct block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} block;

struct lt_arena {
    block *head;
    size_t next_size;
    size_t used;
    size_t reserved; /* bytes of the blocks, what the arena costs the heap */
    size_t limit;
    bool over;
};

enum { FIRST_BLOCK = 16 * 1024, MAX_BLOCK = 1024 * 1024 };

lt_arena *arena_new(void)
{
    lt_arena *a = lt_calloc(1, sizeof *a);
    if (a) a->next_size = FIRST_BLOCK;
    return a;
}

void *arena_alloc(lt_arena *a, size_t size)
{
    if (size > SIZE_MAX - 8) return NULL;
    size = (size + 7) & ~(size_t)7;
    if (size < 8) size = 8;
    if (a->limit && (size > a->limit || a->used > a->limit - size)) {
        a->over = true;
        return NULL;
    }
    block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bs = a->next_size;
        if (size > bs / 4)
            bs = size; /* big: its own block */
        else if (a->next_size < MAX_BLOCK)
            a->next_size *= 2;
        if (bs > SIZE_MAX - sizeof(block)) return NULL;
        block *nb = lt_malloc(sizeof(block) + bs);
        if (!nb) return NULL;
        nb->size = bs;
        nb->used = 0;
        a->reserved += sizeof(block) + bs;
        if (b && bs == size && b->size - b->used >= 64) {
            /* keep filling the current block; chain the big one behind it */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->used += size;
    return p;
}

void *arena_calloc(lt_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

lt_str arena_strdup(lt_arena *a, lt_str s)
{
    char *p = arena_alloc(a, s.len + 1);
    if (!p) return (lt_str){NULL, 0};
    if (s.len) memcpy(p, s.ptr, s.len);
    p[s.len] = 0;
    return (lt_str){p, s.len};
}

void arena_reset(lt_arena *a)
{
    block *keep = NULL;
    for (block *b = a->head; b;) {
        block *n = b->next;
        if (!keep && b->size <= MAX_BLOCK) {
            keep = b;
        } else {
            a->reserved -= sizeof(block) + b->size;
            lt_free(b);
        }
        b = n;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used = 0;
    a->over = false;
}

void arena_set_limit(lt_arena *a, size_t limit)
{
    a->limit = limit;
}

bool arena_over_limit(const lt_arena *a)
{
    return a->over;
}

size_t arena_used(const lt_arena *a)
{
    return a->used;
}

size_t arena_reserved(const lt_arena *a)
{
    return sizeof *a + a->reserved;
}

void arena_free(lt_arena *a)
{
    if (!a) return;
    for (block *b = a->head; b;) {
        block *n = b->next;
        lt_free(b);
        b = n;
    }
    lt_free(a);
}
