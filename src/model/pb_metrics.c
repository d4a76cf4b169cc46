/* pb_metrics.c — OTLP metrics protobuf decode and canonical encode (see pb.h).
 *
 * Implements collector/metrics/v1 ExportMetricsServiceRequest (also MetricsData, same
 * layout) and metrics/v1 metrics.proto, with the primitives and the rules of pb.c
 * (pb_int.h): the same two passes per message (a scan that counts the repeated fields,
 * then arrays of exactly that size), the same field masks for wrong wire types, the same
 * one-walk canonical encoder. Field numbers are in the schema tables (metrics.c) and cited
 * at each hand-written decoder as "name=N".
 *
 * The data point messages (and Buckets, ValueAtQuantile) are read and written from their
 * schema tables (metrics.h) by dec_fields / enc_fields; the messages above them (Metric
 * with its oneof, the data messages, the scope and resource envelopes) are hand-written.
 *
 * What metrics add to traces and logs:
 * - Packed repeated scalars (bucket_counts, explicit_bounds, exponential bucket counts).
 *   proto3 lets a sender write them packed (one LEN field) or one field per element, and
 *   a parser must take both, also mixed; scan_rep() counts the elements of either form so
 *   the array is still allocated once.
 * - Metric.data is a oneof of five messages; as for any singular field, the last one sent
 *   wins (pb.h), whatever member it is.
 * - Exemplars are read past (their wire type is still checked), not kept. */
#include <string.h>

#include "model/metrics.h"
#include "model/pb.h"
#include "model/pb_int.h"

/* ------------------------------------------------------------------------------------ */
/* Decoders                                                                             */
/* ------------------------------------------------------------------------------------ */

/* How a repeated field's elements are written: messages (one LEN field each), fixed64 or
 * double (8 bytes each, packed or as I64 fields), varints (packed or as VARINT fields). */
typedef enum { REP_MSG, REP_FIXED64, REP_VARINT } rep_kind;

typedef struct {
    uint32_t field;
    rep_kind kind;
    uint64_t n; /* elements found */
} rep;

/* Like scan(), for fields that may be packed: walks the fields of one message [p, end),
 * checking the framing, and counts the elements of each r[i].field in either encoding.
 * A packed fixed64 payload must be a multiple of 8 bytes; a packed varint payload must
 * end a varint. Other wire types of these fields are left for the decoder to reject. */
static int scan_rep(const uint8_t *p, const uint8_t *end, rep *r, int nr)
{
    for (int i = 0; i < nr; i++)
        r[i].n = 0;
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        const uint8_t *field_start = p;
        TRY(skip_field(&p, end, tag));
        for (int i = 0; i < nr; i++) {
            if ((tag >> 3) != r[i].field) continue;
            uint32_t wt = tag & 7;
            if (wt == WT_LEN && r[i].kind == REP_MSG) {
                r[i].n++;
            } else if (wt == WT_LEN) {
                const uint8_t *s, *e;
                TRY(get_len(&field_start, end, &s, &e));
                size_t len = (size_t)(e - s);
                if (r[i].kind == REP_FIXED64) {
                    if (len % 8) return LT_EINVAL;
                    r[i].n += len / 8;
                } else {
                    if (len && (e[-1] & 0x80)) return LT_EINVAL;
                    for (; s < e; s++)
                        r[i].n += !(*s & 0x80);
                }
            } else if ((wt == WT_I64 && r[i].kind == REP_FIXED64) ||
                       (wt == WT_VARINT && r[i].kind == REP_VARINT)) {
                r[i].n++;
            }
        }
    }
    return 0;
}

/* Reads one occurrence of a repeated fixed64 / double (fixed) or uint64 (varint) field,
 * whose tag is at hand: one element, or a packed run of them, into items[*n ..], not past
 * cap (what scan_rep counted). */
static int get_repeated(const uint8_t **pp, const uint8_t *end, uint32_t tag, bool fixed,
                        uint64_t *items, uint32_t *n, uint64_t cap)
{
    const uint8_t *s = *pp, *e = end;
    bool packed = (tag & 7) == WT_LEN;
    if (packed) TRY(get_len(pp, end, &s, &e));
    do {
        if (packed && s == e) break;
        if (UNLIKELY(*n >= cap)) return LT_EINVAL;
        TRY(fixed ? get_fixed64(&s, e, &items[*n]) : get_varint(&s, e, &items[*n]));
        (*n)++;
    } while (packed);
    if (!packed) *pp = s;
    return 0;
}

static inline int get_double(const uint8_t **pp, const uint8_t *end, double *d)
{
    uint64_t x;
    TRY(get_fixed64(pp, end, &x));
    memcpy(d, &x, 8);
    return 0;
}

/* sint32: ZigZag over the low 32 bits of the varint. */
static inline int get_sint32(const uint8_t **pp, const uint8_t *end, int32_t *v)
{
    uint32_t u;
    TRY(get_u32(pp, end, &u));
    *v = (int32_t)((u >> 1) ^ (0u - (u & 1)));
    return 0;
}

static bool wire_ok(model_field_kind k, uint32_t wt)
{
    switch (k) {
    case MF_FIXED64:
    case MF_DOUBLE:
    case MF_OPT_DOUBLE:
    case MF_ONEOF_DOUBLE:
    case MF_ONEOF_INT:
        return wt == WT_I64;
    case MF_SINT32:
    case MF_U32:
        return wt == WT_VARINT;
    case MF_FIXED64S:
    case MF_DOUBLES:
        return wt == WT_LEN || wt == WT_I64;
    case MF_UINT64S:
        return wt == WT_LEN || wt == WT_VARINT;
    default:
        return wt == WT_LEN;
    }
}

/* Whether a field of kind k is repeated, and how its elements are written. */
static bool rep_of(model_field_kind k, rep_kind *out)
{
    switch (k) {
    case MF_ATTRS:
    case MF_QUANTILES:
        *out = REP_MSG;
        return true;
    case MF_FIXED64S:
    case MF_DOUBLES:
        *out = REP_FIXED64;
        return true;
    case MF_UINT64S:
        *out = REP_VARINT;
        return true;
    default:
        return false;
    }
}

/* A new arena array for the *n present elements and more: *cap is then *n + more. */
static int grow(dctx *c, void **items, uint32_t n, uint64_t more, size_t size, uint64_t *cap)
{
    *cap = n + more;
    if (!more) return 0;
    void *old = *items;
    TRY(alloc_array(c, items, *cap, size));
    if (n) memcpy(*items, old, (size_t)n * size);
    return 0;
}

#define GROW(c, arr, more, cap)                                                                    \
    grow(c, (void **)&(arr)->items, (arr)->n, more, sizeof *(arr)->items, cap)

/* The fields of message d (one of the data point messages of metrics.h) from [p, end) into
 * obj. obj holds what was there before: zero for a new message, the first Buckets when a
 * second one merges into it (scalars replaced, repeated fields appended). */
static int dec_fields(dctx *c, const uint8_t *p, const uint8_t *end, void *obj,
                      const model_message *d)
{
    enum { MAX_FIELDS = 16 }; /* no data point message has more */
    rep r[MAX_FIELDS];
    const model_field *rf[MAX_FIELDS];
    uint64_t cap[MAX_FIELDS];
    uint64_t known = 0;
    int nr = 0;
    for (uint32_t i = 0; i < d->n && i < MAX_FIELDS; i++) {
        const model_field *f = &d->fields[i];
        known |= (uint64_t)1 << f->number;
        rep_kind k;
        if (rep_of(f->kind, &k)) {
            rf[nr] = f;
            r[nr++] = (rep){f->number, k, 0};
        }
    }
    TRY(scan_rep(p, end, r, nr));
    for (int i = 0; i < nr; i++) {
        char *at = (char *)obj + rf[i]->off;
        lt_attrs *attrs = (lt_attrs *)(void *)at;
        lt_u64s *u64s = (lt_u64s *)(void *)at;
        lt_doubles *dbl = (lt_doubles *)(void *)at;
        lt_quantiles *qs = (lt_quantiles *)(void *)at;
        switch (rf[i]->kind) {
        case MF_ATTRS:
            if (attrs->n + r[i].n > MODEL_MAX_ATTRS) return LT_ETOOBIG;
            TRY(GROW(c, attrs, r[i].n, &cap[i]));
            break;
        case MF_DOUBLES:
            if (dbl->n + r[i].n > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
            TRY(GROW(c, dbl, r[i].n, &cap[i]));
            break;
        case MF_QUANTILES:
            if (qs->n + r[i].n > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
            TRY(GROW(c, qs, r[i].n, &cap[i]));
            break;
        default:
            if (u64s->n + r[i].n > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
            TRY(GROW(c, u64s, r[i].n, &cap[i]));
        }
    }
    while (p < end) {
        uint32_t tag, ri = 0;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        const model_field *f = NULL;
        for (uint32_t i = 0; i < d->n && !f; i++)
            if (d->fields[i].number == tag >> 3 && wire_ok(d->fields[i].kind, tag & 7))
                f = &d->fields[i];
        if (!f) {
            TRY(skip_unknown(&p, end, tag, known));
            continue;
        }
        while ((int)ri < nr && rf[ri] != f)
            ri++;
        char *at = (char *)obj + f->off;
        model_field_mark(obj, f);
        switch (f->kind) {
        case MF_FIXED64:
        case MF_ONEOF_INT: /* int64_t as its two's complement bits */
            TRY(get_fixed64(&p, end, (uint64_t *)(void *)at));
            break;
        case MF_DOUBLE:
        case MF_OPT_DOUBLE:
        case MF_ONEOF_DOUBLE:
            TRY(get_double(&p, end, (double *)(void *)at));
            break;
        case MF_SINT32:
            TRY(get_sint32(&p, end, (int32_t *)(void *)at));
            break;
        case MF_U32:
            TRY(get_u32(&p, end, (uint32_t *)(void *)at));
            break;
        case MF_ATTRS:
            TRY(pbi_dec_attr(c, &p, end, (lt_attrs *)(void *)at, cap[ri]));
            break;
        case MF_FIXED64S: {
            lt_u64s *a = (lt_u64s *)(void *)at;
            TRY(get_repeated(&p, end, tag, true, a->items, &a->n, cap[ri]));
            break;
        }
        case MF_DOUBLES: {
            /* the bits of each double land in the array as they are on the wire */
            lt_doubles *a = (lt_doubles *)(void *)at;
            TRY(get_repeated(&p, end, tag, true, (uint64_t *)(void *)a->items, &a->n, cap[ri]));
            break;
        }
        case MF_UINT64S: {
            lt_u64s *a = (lt_u64s *)(void *)at;
            TRY(get_repeated(&p, end, tag, false, a->items, &a->n, cap[ri]));
            break;
        }
        case MF_BUCKETS:
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_fields(c, s, e, at, &model_buckets_msg));
            break;
        case MF_QUANTILES: {
            lt_quantiles *a = (lt_quantiles *)(void *)at;
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(a->n >= cap[ri])) return LT_EINVAL;
            lt_quantile *q = &a->items[a->n++];
            memset(q, 0, sizeof *q);
            TRY(dec_fields(c, s, e, q, &model_quantile_msg));
            break;
        }
        default: /* MF_SKIP: exemplars */
            TRY(skip_field(&p, end, tag));
        }
    }
    return 0;
}

/* The five data messages of Metric.data, by lt_metric_type: the field number in Metric
 * and the fields of the data message itself. */
static const struct {
    uint32_t field;
    uint64_t known;
} kinds[] = {
    [LT_METRIC_GAUGE] = {5, BITS(1, 1)},
    /* Sum { data_points=1 aggregation_temporality=2 is_monotonic=3 } */
    [LT_METRIC_SUM] = {7, BITS(1, 3)},
    /* Histogram, ExponentialHistogram { data_points=1 aggregation_temporality=2 } */
    [LT_METRIC_HISTOGRAM] = {9, BITS(1, 2)},
    [LT_METRIC_EXP_HISTOGRAM] = {10, BITS(1, 2)},
    /* Gauge, Summary { data_points=1 } */
    [LT_METRIC_SUMMARY] = {11, BITS(1, 1)},
};

/* One member of Metric.data: replaces whatever member came before. */
static int dec_data(dctx *c, const uint8_t *p, const uint8_t *end, lt_metric *m,
                    lt_metric_type type)
{
    uint64_t n[3];
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    TRY(count_items(c, n[0]));
    char *items;
    const model_message *pm = model_metric_point_msg(type);
    TRY(alloc_array(c, (void **)&items, n[0], pm->size));
    m->type = type;
    m->temporality = 0;
    m->monotonic = false;
    model_metric_set_points(m, items, 0);
    bool has_temporality = kinds[type].known & BITS(2, 2);
    while (p < end) {
        uint32_t tag;
        uint64_t x;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        if (tag == TAG(1, WT_LEN)) {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(m->n_points >= n[0])) return LT_EINVAL;
            char *pt = items + (size_t)m->n_points++ * pm->size;
            memset(pt, 0, pm->size);
            TRY(dec_fields(c, s, e, pt, pm));
        } else if (tag == TAG(2, WT_VARINT) && has_temporality) {
            TRY(get_u32(&p, end, &m->temporality));
        } else if (tag == TAG(3, WT_VARINT) && type == LT_METRIC_SUM) {
            TRY(get_varint(&p, end, &x));
            m->monotonic = x != 0;
        } else {
            TRY(skip_unknown(&p, end, tag, kinds[type].known));
        }
    }
    return 0;
}

/* Metric { name=1 description=2 unit=3 (4, 6, 8 reserved: the int types before 0.9)
 * gauge=5 sum=7 histogram=9 exponential_histogram=10 summary=11 metadata=12 } */
static int dec_metric(dctx *c, const uint8_t *p, const uint8_t *end, lt_metric *m)
{
    uint64_t n[3];
    memset(m, 0, sizeof *m);
    TRY(scan(p, end, TAG(12, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&m->metadata.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_string(&p, end, &m->name));
            break;
        case TAG(2, WT_LEN):
            TRY(get_string(&p, end, &m->description));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &m->unit));
            break;
        case TAG(5, WT_LEN):
        case TAG(7, WT_LEN):
        case TAG(9, WT_LEN):
        case TAG(10, WT_LEN):
        case TAG(11, WT_LEN): {
            lt_metric_type t = LT_METRIC_GAUGE;
            while (kinds[t].field != tag >> 3)
                t++;
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_data(c, s, e, m, t));
            break;
        }
        case TAG(12, WT_LEN):
            TRY(pbi_dec_attr(c, &p, end, &m->metadata, n[0]));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3) | BITS(5, 5) | BITS(7, 7) | BITS(9, 12)));
        }
    }
    return 0;
}

/* ScopeMetrics { scope=1 metrics=2 schema_url=3 } */
static int dec_scope_metrics(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_scope_metrics *sm = out;
    uint64_t n[3];
    memset(sm, 0, sizeof *sm);
    TRY(scan(p, end, TAG(2, WT_LEN), 0, 0, n));
    TRY(count_items(c, n[0]));
    TRY(alloc_array(c, (void **)&sm->metrics, n[0], sizeof(lt_metric)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(pbi_dec_scope(c, s, e, &sm->scope));
            break;
        case TAG(2, WT_LEN): {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(sm->n_metrics >= n[0])) return LT_EINVAL;
            lt_metric *m = &sm->metrics[sm->n_metrics];
            TRY(dec_metric(c, s, e, m));
            if (m->name.len == 0)
                c->rejected += m->n_points;
            else
                sm->n_metrics++;
            break;
        }
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &sm->schema_url));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

static int dec_resource_metrics(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_resource_metrics *rm = out;
    memset(rm, 0, sizeof *rm);
    return pbi_dec_resource_group(c, p, end, &rm->resource, &rm->schema_url, (void **)&rm->scopes,
                                  &rm->n_scopes, sizeof *rm->scopes, dec_scope_metrics);
}

int pb_decode_metrics(lt_arena *a, const uint8_t *p, size_t len, lt_metric_batch *out)
{
    dctx c = {.a = a};
    memset(out, 0, sizeof *out);
    TRY(pbi_dec_request(&c, p, len, (void **)&out->rm, &out->n_rm, sizeof *out->rm,
                        dec_resource_metrics));
    for (uint32_t i = 0; i < out->n_rm; i++)
        for (uint32_t j = 0; j < out->rm[i].n_scopes; j++)
            for (uint32_t k = 0; k < out->rm[i].scopes[j].n_metrics; k++)
                out->n_points += out->rm[i].scopes[j].metrics[k].n_points;
    out->rejected = c.rejected;
    if (c.rejected) out->reject_reason = LT_STR(MODEL_METRIC_REJECT_NO_NAME);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Encoders                                                                             */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t bits_of(double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    return x;
}

/* A double field. */
static inline void put_double(lt_buf *b, uint32_t tag, double d)
{
    put_fixed64_field(b, tag, bits_of(d));
}

/* A packed repeated fixed64 or double field (8 bytes per element, little-endian). */
static void put_packed64(lt_buf *b, uint32_t tag, const void *items, uint32_t n)
{
    if (!n || !room(b, 15 + (size_t)n * 8)) return;
    uint8_t *q = wr_varint(wr_varint(wpos(b), tag), (uint64_t)n * 8);
    const uint64_t *v = items;
    for (uint32_t i = 0; i < n; i++, q += 8) {
        uint64_t x = v[i];
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x);
#endif
        memcpy(q, &x, 8);
    }
    b->len = (size_t)(q - (uint8_t *)b->data);
}

/* A packed repeated uint64 (varint) field. */
static void put_packed_varint(lt_buf *b, uint32_t tag, const uint64_t *v, uint32_t n)
{
    if (!n) return;
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += varint_size(v[i]);
    if (!room(b, 15 + len)) return;
    uint8_t *q = wr_varint(wr_varint(wpos(b), tag), len);
    for (uint32_t i = 0; i < n; i++)
        q = wr_varint(q, v[i]);
    b->len = (size_t)(q - (uint8_t *)b->data);
}

static inline uint64_t zigzag32(int32_t v)
{
    return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

/* The fields of message d (one of the data point messages of metrics.h) in obj. */
static void enc_fields(lt_buf *b, const void *obj, const model_message *d)
{
    for (uint32_t i = 0; i < d->n; i++) {
        const model_field *f = &d->fields[i];
        if (!model_field_present(obj, f)) continue;
        const char *at = (const char *)obj + f->off;
        uint32_t n = f->number;
        switch (f->kind) {
        case MF_FIXED64:
        case MF_ONEOF_INT:
            put_fixed64_field(b, TAG(n, WT_I64), *(const uint64_t *)(const void *)at);
            break;
        case MF_DOUBLE:
        case MF_OPT_DOUBLE:
        case MF_ONEOF_DOUBLE:
            put_double(b, TAG(n, WT_I64), *(const double *)(const void *)at);
            break;
        case MF_SINT32:
            put_varint_field(b, TAG(n, WT_VARINT), zigzag32(*(const int32_t *)(const void *)at));
            break;
        case MF_U32:
            put_varint_field(b, TAG(n, WT_VARINT), *(const uint32_t *)(const void *)at);
            break;
        case MF_ATTRS:
            pbi_enc_attrs(b, TAG(n, WT_LEN), (const lt_attrs *)(const void *)at);
            break;
        case MF_FIXED64S:
        case MF_UINT64S: {
            const lt_u64s *a = (const lt_u64s *)(const void *)at;
            if (f->kind == MF_FIXED64S)
                put_packed64(b, TAG(n, WT_LEN), a->items, a->n);
            else
                put_packed_varint(b, TAG(n, WT_LEN), a->items, a->n);
            break;
        }
        case MF_DOUBLES: {
            const lt_doubles *a = (const lt_doubles *)(const void *)at;
            put_packed64(b, TAG(n, WT_LEN), a->items, a->n);
            break;
        }
        case MF_BUCKETS: {
            size_t m = msg_begin(b, TAG(n, WT_LEN));
            enc_fields(b, at, &model_buckets_msg);
            msg_end(b, m);
            break;
        }
        case MF_QUANTILES: {
            const lt_quantiles *a = (const lt_quantiles *)(const void *)at;
            for (uint32_t q = 0; q < a->n; q++) {
                size_t m = msg_begin(b, TAG(n, WT_LEN));
                enc_fields(b, &a->items[q], &model_quantile_msg);
                msg_end(b, m);
            }
            break;
        }
        default:
            break;
        }
    }
}

/* Metric (field numbers at dec_metric). The data member is written whenever type says
 * one was set, empty or not: a gauge without points is still a gauge. */
static void enc_metric(lt_buf *b, const lt_metric *m)
{
    opt_str(b, TAG(1, WT_LEN), m->name);
    opt_str(b, TAG(2, WT_LEN), m->description);
    opt_str(b, TAG(3, WT_LEN), m->unit);
    if (m->type >= LT_METRIC_GAUGE && m->type <= LT_METRIC_SUMMARY) {
        const char *items = (const char *)m->points.number;
        const model_message *pm = model_metric_point_msg(m->type);
        size_t mm = msg_begin(b, TAG(kinds[m->type].field, WT_LEN));
        for (uint32_t i = 0; i < m->n_points; i++) {
            size_t mp = msg_begin(b, TAG(1, WT_LEN));
            enc_fields(b, items + (size_t)i * pm->size, pm);
            msg_end(b, mp);
        }
        if (kinds[m->type].known & BITS(2, 2)) opt_varint(b, TAG(2, WT_VARINT), m->temporality);
        if (m->type == LT_METRIC_SUM && m->monotonic) put_varint_field(b, TAG(3, WT_VARINT), 1);
        msg_end(b, mm);
    }
    pbi_enc_attrs(b, TAG(12, WT_LEN), &m->metadata);
}

int pb_encode_metrics(lt_buf *out, const lt_metric_batch *mb)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    for (uint32_t i = 0; i < mb->n_rm; i++) {
        const lt_resource_metrics *rm = &mb->rm[i];
        size_t m = msg_begin(out, TAG(1, WT_LEN));
        pbi_enc_resource(out, TAG(1, WT_LEN), &rm->resource);
        for (uint32_t j = 0; j < rm->n_scopes; j++) {
            const lt_scope_metrics *sm = &rm->scopes[j];
            size_t ms = msg_begin(out, TAG(2, WT_LEN));
            pbi_enc_scope(out, TAG(1, WT_LEN), &sm->scope);
            for (uint32_t k = 0; k < sm->n_metrics; k++) {
                size_t mk = msg_begin(out, TAG(2, WT_LEN));
                enc_metric(out, &sm->metrics[k]);
                msg_end(out, mk);
            }
            opt_str(out, TAG(3, WT_LEN), sm->schema_url);
            msg_end(out, ms);
        }
        opt_str(out, TAG(3, WT_LEN), rm->schema_url);
        msg_end(out, m);
    }
    return pbi_enc_finish(out, start);
}
