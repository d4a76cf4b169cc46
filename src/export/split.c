/* split.c — a batch cut into pieces of at most send_batch_max_size items, as the
 * collector's batch processor splits one that is larger.
 *
 * The three batch types have one shape: a batch holds resources, a resource scopes, a scope
 * items (spans, log records) or, for metrics, metrics whose data points are the items. The
 * shape is described as data (a level per struct: its size, where its children's array and
 * count are), and one walk serves all three. A piece is a batch of the same type whose
 * resources, scopes and metrics are copies of the originals (into scratch arrays, reused
 * from piece to piece) with their children narrowed to the part in that piece, and whose
 * items point into the original arrays: nothing is copied below the last container. A
 * container cut by a piece's end is repeated at the start of the next piece, with the rest
 * of its items, so every item comes once, in order, under its own resource and scope. */
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "export/export_int.h"

typedef struct {
    uint16_t size;   /* of one element */
    uint16_t arr, n; /* offsets of its children's array (a pointer) and count (uint32_t) */
    bool points;     /* its children are a metric's data points, sized by the metric's type */
} split_level;

struct split_kind {
    const split_level *levels; /* the batch first, then its children's ...; the items last
                                  (for metrics, the points are sized by their metric) */
    int depth;                 /* levels with children */
    uint16_t total;            /* offset of the batch's uint64_t item count */
};

#define LEVEL(T, a, n)                                                                             \
    {                                                                                              \
        sizeof(T), offsetof(T, a), offsetof(T, n), false                                           \
    }

static const split_level traces_levels[] = {
    LEVEL(lt_trace_batch, rs, n_rs),
    LEVEL(lt_resource_spans, scopes, n_scopes),
    LEVEL(lt_scope_spans, spans, n_spans),
    {sizeof(lt_span), 0, 0, false},
};
static const split_level logs_levels[] = {
    LEVEL(lt_log_batch, rl, n_rl),
    LEVEL(lt_resource_logs, scopes, n_scopes),
    LEVEL(lt_scope_logs, records, n_records),
    {sizeof(lt_log_record), 0, 0, false},
};
static const split_level metrics_levels[] = {
    LEVEL(lt_metric_batch, rm, n_rm),
    LEVEL(lt_resource_metrics, scopes, n_scopes),
    LEVEL(lt_scope_metrics, metrics, n_metrics),
    {sizeof(lt_metric), offsetof(lt_metric, points), offsetof(lt_metric, n_points), true},
};
static const struct split_kind kinds[] = {
    {traces_levels, 3, offsetof(lt_trace_batch, n_spans)},
    {metrics_levels, 4, offsetof(lt_metric_batch, n_points)},
    {logs_levels, 3, offsetof(lt_log_batch, n_records)},
};

static const char *children(const void *e, const split_level *l)
{
    const char *p;
    memcpy(&p, (const char *)e + l->arr, sizeof p);
    return p;
}

static uint32_t count(const void *e, const split_level *l)
{
    uint32_t n;
    memcpy(&n, (const char *)e + l->n, sizeof n);
    return n;
}

static void set_children(void *e, const split_level *l, const void *arr, uint32_t n)
{
    memcpy((char *)e + l->arr, &arr, sizeof arr);
    memcpy((char *)e + l->n, &n, sizeof n);
}

/* The size of one child of e, an element of level l. */
static size_t child_size(const ex_split *sp, const void *e, int l)
{
    const split_level *lv = &sp->k->levels[l];
    if (!lv->points) return sp->k->levels[l + 1].size;
    const model_message *m = model_metric_point_msg(((const lt_metric *)e)->type);
    return m ? m->size : 0;
}

/* Elements of level l (0: the batch's resources) in the whole batch: the scratch each
 * piece may need. */
static size_t elements(const ex_split *sp, const void *e, int at, int l)
{
    uint32_t n = count(e, &sp->k->levels[at]);
    if (at == l) return n;
    const char *arr = children(e, &sp->k->levels[at]);
    size_t size = child_size(sp, e, at), total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += elements(sp, arr + i * size, at + 1, l);
    return total;
}

int split_init(ex_split *sp, unsigned signal, const void *batch, uint64_t max)
{
    memset(sp, 0, sizeof *sp);
    sp->k = &kinds[ex_sig_index(signal)];
    sp->batch = batch;
    sp->max = max ? max : UINT64_MAX;
    for (int l = 0; l + 1 < sp->k->depth; l++) {
        size_t n = elements(sp, batch, 0, l);
        if (n && !(sp->scratch[l] = lt_malloc(n * sp->k->levels[l + 1].size))) {
            split_free(sp);
            return LT_ENOMEM;
        }
    }
    return 0;
}

void split_free(ex_split *sp)
{
    for (int l = 0; l < 4; l++)
        lt_free(sp->scratch[l]);
    memset(sp->scratch, 0, sizeof sp->scratch);
}

/* Fills dst (a copy of src, an element of level l) with src's children from the cursor on,
 * as far as the piece's budget goes. True when src is done with. */
static bool fill(ex_split *sp, int l, const void *src, void *dst)
{
    const split_level *lv = &sp->k->levels[l];
    uint32_t n = count(src, lv), *cur = &sp->cur[l];
    const char *arr = children(src, lv);
    size_t size = child_size(sp, src, l);
    if (l + 1 >= sp->k->depth || l + 1 >= 4) { /* the items: a part of the original array */
        uint64_t take = n - *cur;
        if (take > sp->budget) take = sp->budget;
        set_children(dst, lv, take ? arr + *cur * size : NULL, (uint32_t)take);
        *cur += (uint32_t)take;
        sp->budget -= take;
        sp->items += take;
        if (*cur < n) return false;
        *cur = 0;
        return true;
    }
    char *base = sp->scratch[l]; /* NULL when the batch has no element at this level */
    char *copies = base ? base + sp->used[l] * size : NULL;
    uint32_t k = 0;
    for (; *cur < n; ++*cur) {
        if (!sp->budget) break;
        char *d = copies + (size_t)k * size;
        memcpy(d, arr + (size_t)*cur * size, size);
        k++;
        sp->used[l]++;
        set_children(dst, lv, copies, k);
        if (!fill(sp, l + 1, arr + (size_t)*cur * size, d)) return false;
    }
    set_children(dst, lv, k ? copies : NULL, k);
    if (*cur < n) return false;
    *cur = 0;
    return true;
}

const void *split_next(ex_split *sp, uint64_t *items)
{
    while (!sp->done) {
        memcpy(&sp->piece, sp->batch, sp->k->levels[0].size);
        memset(sp->used, 0, sizeof sp->used);
        sp->budget = sp->max;
        sp->items = 0;
        sp->done = fill(sp, 0, sp->batch, &sp->piece);
        memcpy((char *)&sp->piece + sp->k->total, &sp->items, sizeof sp->items);
        /* a piece of containers without items (what trails the last item) carries nothing */
        if (sp->items) {
            *items = sp->items;
            return &sp->piece;
        }
    }
    return NULL;
}
