/* json_int.h — the pieces of the OTLP/JSON codec (json.c) that the metrics codec
 * (json_metrics.c) reads and writes with. Private to the otlp module; the contract is
 * json.h, and the rules described there hold for both files.
 *
 * The pull parser: a jp walks a mutable buffer; message readers open an object with
 * jsonp_open_msg (null is the default message) and take its members with jsonp_obj_next;
 * arrays with jsonp_open_c(j, '[') and jsonp_arr_next. The elements of a repeated field
 * are pushed on the scratch stack (jsonp_push) between arr_begin and COLLECT, which copies
 * them into one arena array of exactly their count. */
#ifndef LT_OTLP_JSON_INT_H
#define LT_OTLP_JSON_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "model/model.h"

typedef struct {
    char *p; /* next byte to read */
    char *end;
    lt_arena *a;
    char *stk;      /* scratch stack of array elements under construction */
    size_t sl, sc;  /* its length and capacity */
    uint64_t items; /* spans, events, links, log records, metrics and data points read */
    uint64_t kept;  /* spans, log records or data points kept */
    uint64_t rejected;
    int depth;  /* JSON containers open */
    int vdepth; /* AnyValue arrays and kvlists open */
} jp;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

/* Key comparison against a literal. */
#define K(k, lit) ((k).len == sizeof(lit) - 1 && memcmp((k).ptr, lit, sizeof(lit) - 1) == 0)

/* An array being read: its elements on the scratch stack from mark, and those already
 * moved to arena segments (see json.c). */
typedef struct seg {
    struct seg *next;
    size_t bytes; /* the elements follow the header */
} seg;

typedef struct {
    size_t mark;      /* scratch offset of this array's first pending element */
    seg *head, *tail; /* elements moved to the arena, in order */
    size_t seg_bytes;
} arr;

static_assert(sizeof(seg) % 8 == 0, "segment data stays 8-byte aligned");

static inline void arr_begin(jp *j, arr *r)
{
    r->mark = j->sl;
    r->head = r->tail = NULL;
    r->seg_bytes = 0;
}

/* Pushes one element (sz bytes, a multiple of 8) of the array r. */
int jsonp_push(jp *j, arr *r, const void *item, size_t sz);
/* Gathers r's elements into one arena array, after the *n already at *items (a repeated
 * field that appears twice concatenates, as in protobuf). */
int jsonp_collect(jp *j, arr *r, size_t sz, void **items, uint32_t *n);

#define COLLECT(j, r, field, nfield)                                                               \
    do {                                                                                           \
        void *p_ = (field);                                                                        \
        int rc_ = jsonp_collect(j, r, sizeof *(field), &p_, &(nfield));                            \
        if (rc_) return rc_;                                                                       \
        (field) = p_;                                                                              \
    } while (0)

/* ---- reading (all return 0 or an error of json.h unless said otherwise) ---- */

/* Sets up j over buf[0..n) (a leading BOM skipped); LT_EINVAL for an empty body. */
int jsonp_begin(jp *j, lt_arena *a, char *buf, size_t n);
/* Ends a parse that returned rc: only whitespace may follow the body; frees the scratch.
 * Returns rc or the first error. */
int jsonp_finish(jp *j, int rc);
/* Opens '{' or '[' (c), counting the depth. */
int jsonp_open_c(jp *j, char c);
/* Opens a message: 0 when open, 1 when it was null (the default message), or an error. */
int jsonp_open_msg(jp *j);
/* The next member of an open object: 1 with its key (j at the value), 0 past '}'. Members
 * whose value is null are skipped. *idx starts at 0. */
int jsonp_obj_next(jp *j, int *idx, lt_str *k);
/* The next element of an open array: 1 (j at the element), 0 past ']'. */
int jsonp_arr_next(jp *j, int *idx);
int jsonp_skip_value(jp *j);
int jsonp_get_str(jp *j, lt_str *out);
int jsonp_get_u64(jp *j, uint64_t *out);
int jsonp_get_i64(jp *j, int64_t *out);
int jsonp_get_u32(jp *j, uint32_t *out);
int jsonp_get_bool(jp *j, bool *out);
int jsonp_get_double(jp *j, double *out);
/* repeated KeyValue (appends to out), Resource, InstrumentationScope */
int jsonp_attrs(jp *j, lt_attrs *out);
int jsonp_resource(jp *j, lt_resource *r);
int jsonp_scope(jp *j, lt_scope *s);
/* Counts one item against MODEL_MAX_ITEMS: LT_ETOOBIG past it. */
int jsonp_count_item(jp *j);

/* ---- writing (errors are sticky in the buffer) ---- */

/* The key of the next member; *first says whether a comma is due. */
void jsonp_key(lt_buf *b, bool *first, const char *name);
/* Members omitted at their default: 0, "" */
void jsonp_put_u32(lt_buf *b, bool *first, const char *name, uint32_t v);
void jsonp_put_u64(lt_buf *b, bool *first, const char *name, uint64_t v);
void jsonp_put_str(lt_buf *b, bool *first, const char *name, lt_str s);
/* An int64 as a decimal string (OTLP/JSON's form of 64-bit integers). */
void jsonp_i64_str(lt_buf *b, int64_t v);
/* "attributes" and "droppedAttributesCount"; "resource" and "scope", omitted when empty */
void jsonp_put_attrs(lt_buf *b, bool *first, const lt_attrs *a, uint32_t dropped);
void jsonp_put_resource(lt_buf *b, bool *first, const lt_resource *r);
void jsonp_put_scope(lt_buf *b, bool *first, const lt_scope *s);
/* A KeyValue list as a JSON array (the value of "attributes", "metadata", ...). */
void jsonp_kvs(lt_buf *b, const lt_attrs *a);

#endif
