/* pb_metrics.c — OTLP metrics protobuf decode and canonical encode (see pb.h).
 *
 * Implements collector/metrics/v1 ExportMetricsServiceRequest (also MetricsData, same
 * layout) and metrics/v1 metrics.proto, with the primitives and the rules of pb.c
 * (pb_int.h): the same two passes per message (a scan that counts the repeated fields,
 * then arrays of exactly that size), the same field masks for wrong wire types, the same
 * one-walk canonical encoder. Field numbers are cited at each decoder as "name=N".
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

/* Reads one occurrence of a fixed64 / double repeated field (tag at hand) into
 * items[*n ..], not past cap. */
static int get_packed64(const uint8_t **pp, const uint8_t *end, uint32_t tag, uint64_t *items,
                        uint32_t *n, uint64_t cap)
{
    if ((tag & 7) == WT_I64) {
        if (*n >= cap) return LT_EINVAL;
        return get_fixed64(pp, end, &items[(*n)++]);
    }
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    if ((size_t)(e - s) / 8 > cap - *n) return LT_EINVAL;
    for (; s < e; s += 8)
        items[(*n)++] = load64le(s);
    return 0;
}

/* The same for a varint repeated field (uint64). */
static int get_packed_varint(const uint8_t **pp, const uint8_t *end, uint32_t tag, uint64_t *items,
                             uint32_t *n, uint64_t cap)
{
    if ((tag & 7) == WT_VARINT) {
        if (*n >= cap) return LT_EINVAL;
        return get_varint(pp, end, &items[(*n)++]);
    }
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    while (s < e) {
        if (*n >= cap) return LT_EINVAL;
        TRY(get_varint(&s, e, &items[(*n)++]));
    }
    return 0;
}

static inline double as_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static inline int get_double(const uint8_t **pp, const uint8_t *end, double *d)
{
    uint64_t x;
    TRY(get_fixed64(pp, end, &x));
    *d = as_double(x);
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

/* The fields every data point has: attributes (field attrs_field), start_time_unix_nano=2,
 * time_unix_nano=3 and flags (field flags_field). Returns 1 when tag was one of them and
 * has been read, 0 when it was not, or an error. */
static int head_field(dctx *c, uint32_t tag, const uint8_t **pp, const uint8_t *end,
                      lt_point_head *h, uint32_t attrs_field, uint32_t flags_field, uint64_t cap)
{
    if (tag == TAG(attrs_field, WT_LEN)) {
        TRY(pbi_dec_attr(c, pp, end, &h->attrs, cap));
    } else if (tag == TAG(2, WT_I64)) {
        TRY(get_fixed64(pp, end, &h->start_time_unix_nano));
    } else if (tag == TAG(3, WT_I64)) {
        TRY(get_fixed64(pp, end, &h->time_unix_nano));
    } else if (tag == TAG(flags_field, WT_VARINT)) {
        TRY(get_u32(pp, end, &h->flags));
    } else {
        return 0;
    }
    return 1;
}

/* Counts the attributes of a data point and takes their array from the arena. */
static int head_alloc(dctx *c, uint64_t n, lt_point_head *h)
{
    if (n > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    return alloc_array(c, (void **)&h->attrs.items, n, sizeof(lt_kv));
}

/* NumberDataPoint { (1 reserved) start_time_unix_nano=2 time_unix_nano=3 as_double=4
 * exemplars=5 as_int=6 (sfixed64) attributes=7 flags=8 } */
static int dec_number_point(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_number_point *pt = out;
    uint64_t n[3], x;
    memset(pt, 0, sizeof *pt);
    TRY(scan(p, end, TAG(7, WT_LEN), 0, 0, n));
    TRY(head_alloc(c, n[0], &pt->h));
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        int rc = head_field(c, tag, &p, end, &pt->h, 7, 8, n[0]);
        if (rc) {
            if (rc < 0) return rc;
            continue;
        }
        switch (tag) {
        case TAG(4, WT_I64):
            TRY(get_double(&p, end, &pt->v.d));
            pt->type = LT_NUM_DOUBLE;
            break;
        case TAG(6, WT_I64):
            TRY(get_fixed64(&p, end, &x));
            pt->v.i = (int64_t)x;
            pt->type = LT_NUM_INT;
            break;
        case TAG(5, WT_LEN): /* exemplars: not kept */
            TRY(skip_field(&p, end, tag));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(2, 8)));
        }
    }
    return 0;
}

/* HistogramDataPoint { (1 reserved) start_time_unix_nano=2 time_unix_nano=3 count=4
 * (fixed64) sum=5 (optional double) bucket_counts=6 (repeated fixed64) explicit_bounds=7
 * (repeated double) exemplars=8 attributes=9 flags=10 min=11 max=12 (optional double) } */
static int dec_histogram_point(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_histogram_point *pt = out;
    rep r[3] = {{9, REP_MSG, 0}, {6, REP_FIXED64, 0}, {7, REP_FIXED64, 0}};
    memset(pt, 0, sizeof *pt);
    TRY(scan_rep(p, end, r, 3));
    TRY(head_alloc(c, r[0].n, &pt->h));
    if (r[1].n > MODEL_MAX_BUCKETS || r[2].n > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&pt->bucket_counts, r[1].n, sizeof(uint64_t)));
    TRY(alloc_array(c, (void **)&pt->explicit_bounds, r[2].n, sizeof(double)));
    static_assert(sizeof(double) == sizeof(uint64_t), "doubles are read as fixed64");
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        int rc = head_field(c, tag, &p, end, &pt->h, 9, 10, r[0].n);
        if (rc) {
            if (rc < 0) return rc;
            continue;
        }
        switch (tag) {
        case TAG(4, WT_I64):
            TRY(get_fixed64(&p, end, &pt->count));
            break;
        case TAG(5, WT_I64):
            TRY(get_double(&p, end, &pt->sum));
            pt->has_sum = true;
            break;
        case TAG(6, WT_LEN):
        case TAG(6, WT_I64):
            TRY(get_packed64(&p, end, tag, pt->bucket_counts, &pt->n_bucket_counts, r[1].n));
            break;
        case TAG(7, WT_LEN):
        case TAG(7, WT_I64):
            /* the bits of each double land in the array as they are on the wire */
            TRY(get_packed64(&p, end, tag, (uint64_t *)(void *)pt->explicit_bounds,
                             &pt->n_explicit_bounds, r[2].n));
            break;
        case TAG(8, WT_LEN): /* exemplars: not kept */
            TRY(skip_field(&p, end, tag));
            break;
        case TAG(11, WT_I64):
            TRY(get_double(&p, end, &pt->min));
            pt->has_min = true;
            break;
        case TAG(12, WT_I64):
            TRY(get_double(&p, end, &pt->max));
            pt->has_max = true;
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(2, 12)));
        }
    }
    return 0;
}

/* ExponentialHistogramDataPoint.Buckets { offset=1 (sint32) bucket_counts=2 (repeated
 * uint64) }. Fields merge into b, as a second Buckets message would merge. */
static int dec_buckets(dctx *c, const uint8_t *p, const uint8_t *end, lt_exp_buckets *b)
{
    rep r[1] = {{2, REP_VARINT, 0}};
    TRY(scan_rep(p, end, r, 1));
    uint64_t total = b->n + r[0].n;
    if (total > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
    uint64_t *counts = b->counts;
    if (r[0].n) {
        TRY(alloc_array(c, (void **)&counts, total, sizeof(uint64_t)));
        if (b->n) memcpy(counts, b->counts, b->n * sizeof(uint64_t));
    }
    b->counts = counts;
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_VARINT):
            TRY(get_sint32(&p, end, &b->offset));
            break;
        case TAG(2, WT_LEN):
        case TAG(2, WT_VARINT):
            TRY(get_packed_varint(&p, end, tag, b->counts, &b->n, total));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 2)));
        }
    }
    return 0;
}

/* ExponentialHistogramDataPoint { attributes=1 start_time_unix_nano=2 time_unix_nano=3
 * count=4 (fixed64) sum=5 (optional double) scale=6 (sint32) zero_count=7 (fixed64)
 * positive=8 negative=9 flags=10 exemplars=11 min=12 max=13 (optional double)
 * zero_threshold=14 (double) } */
static int dec_exp_histogram_point(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_exp_histogram_point *pt = out;
    uint64_t n[3];
    memset(pt, 0, sizeof *pt);
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    TRY(head_alloc(c, n[0], &pt->h));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        int rc = head_field(c, tag, &p, end, &pt->h, 1, 10, n[0]);
        if (rc) {
            if (rc < 0) return rc;
            continue;
        }
        switch (tag) {
        case TAG(4, WT_I64):
            TRY(get_fixed64(&p, end, &pt->count));
            break;
        case TAG(5, WT_I64):
            TRY(get_double(&p, end, &pt->sum));
            pt->has_sum = true;
            break;
        case TAG(6, WT_VARINT):
            TRY(get_sint32(&p, end, &pt->scale));
            break;
        case TAG(7, WT_I64):
            TRY(get_fixed64(&p, end, &pt->zero_count));
            break;
        case TAG(8, WT_LEN):
        case TAG(9, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_buckets(c, s, e, tag == TAG(8, WT_LEN) ? &pt->positive : &pt->negative));
            break;
        case TAG(11, WT_LEN): /* exemplars: not kept */
            TRY(skip_field(&p, end, tag));
            break;
        case TAG(12, WT_I64):
            TRY(get_double(&p, end, &pt->min));
            pt->has_min = true;
            break;
        case TAG(13, WT_I64):
            TRY(get_double(&p, end, &pt->max));
            pt->has_max = true;
            break;
        case TAG(14, WT_I64):
            TRY(get_double(&p, end, &pt->zero_threshold));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 14)));
        }
    }
    return 0;
}

/* SummaryDataPoint.ValueAtQuantile { quantile=1 value=2 (double) } */
static int dec_quantile(const uint8_t *p, const uint8_t *end, lt_quantile *q)
{
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_I64):
            TRY(get_double(&p, end, &q->quantile));
            break;
        case TAG(2, WT_I64):
            TRY(get_double(&p, end, &q->value));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 2)));
        }
    }
    return 0;
}

/* SummaryDataPoint { (1 reserved) start_time_unix_nano=2 time_unix_nano=3 count=4
 * (fixed64) sum=5 (double) quantile_values=6 attributes=7 flags=8 } */
static int dec_summary_point(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_summary_point *pt = out;
    uint64_t n[3];
    memset(pt, 0, sizeof *pt);
    TRY(scan(p, end, TAG(7, WT_LEN), TAG(6, WT_LEN), 0, n));
    TRY(head_alloc(c, n[0], &pt->h));
    if (n[1] > MODEL_MAX_BUCKETS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&pt->quantiles, n[1], sizeof(lt_quantile)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        int rc = head_field(c, tag, &p, end, &pt->h, 7, 8, n[0]);
        if (rc) {
            if (rc < 0) return rc;
            continue;
        }
        switch (tag) {
        case TAG(4, WT_I64):
            TRY(get_fixed64(&p, end, &pt->count));
            break;
        case TAG(5, WT_I64):
            TRY(get_double(&p, end, &pt->sum));
            break;
        case TAG(6, WT_LEN): {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(pt->n_quantiles >= n[1])) return LT_EINVAL;
            lt_quantile *q = &pt->quantiles[pt->n_quantiles++];
            q->quantile = q->value = 0;
            TRY(dec_quantile(s, e, q));
            break;
        }
        default:
            TRY(skip_unknown(&p, end, tag, BITS(2, 8)));
        }
    }
    return 0;
}

/* The five data messages of Metric.data, by lt_metric_type: the field number in Metric,
 * the point decoder, and the fields of the data message itself. */
static const struct {
    uint32_t field;
    int (*dec)(dctx *c, const uint8_t *p, const uint8_t *end, void *out);
    uint64_t known; /* fields of the data message */
} kinds[] = {
    [LT_METRIC_GAUGE] = {5, dec_number_point, BITS(1, 1)},
    /* Sum { data_points=1 aggregation_temporality=2 is_monotonic=3 } */
    [LT_METRIC_SUM] = {7, dec_number_point, BITS(1, 3)},
    /* Histogram, ExponentialHistogram { data_points=1 aggregation_temporality=2 } */
    [LT_METRIC_HISTOGRAM] = {9, dec_histogram_point, BITS(1, 2)},
    [LT_METRIC_EXP_HISTOGRAM] = {10, dec_exp_histogram_point, BITS(1, 2)},
    /* Gauge, Summary { data_points=1 } */
    [LT_METRIC_SUMMARY] = {11, dec_summary_point, BITS(1, 1)},
};

/* One member of Metric.data: replaces whatever member came before. */
static int dec_data(dctx *c, const uint8_t *p, const uint8_t *end, lt_metric *m,
                    lt_metric_type type)
{
    uint64_t n[3];
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    TRY(count_items(c, n[0]));
    char *items;
    size_t size = model_metric_point_size(type);
    TRY(alloc_array(c, (void **)&items, n[0], size));
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
            TRY(kinds[type].dec(c, s, e, items + (size_t)m->n_points * size));
            m->n_points++;
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
static int dec_scope_metrics(dctx *c, const uint8_t *p, const uint8_t *end, lt_scope_metrics *sm)
{
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

/* ResourceMetrics { resource=1 scope_metrics=2 schema_url=3; 1000 = old
 * instrumentation_library_metrics, read as scope_metrics } */
static int dec_resource_metrics(dctx *c, const uint8_t *p, const uint8_t *end,
                                lt_resource_metrics *rm)
{
    uint64_t n[3];
    memset(rm, 0, sizeof *rm);
    TRY(scan(p, end, TAG(2, WT_LEN), TAG(FIELD_OLD_SCOPES, WT_LEN), 0, n));
    uint64_t ns = n[0] + n[1];
    if (ns > MODEL_MAX_ITEMS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&rm->scopes, ns, sizeof(lt_scope_metrics)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(pbi_dec_resource(c, s, e, &rm->resource));
            break;
        case TAG(2, WT_LEN):
        case TAG(FIELD_OLD_SCOPES, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(rm->n_scopes >= ns)) return LT_EINVAL;
            TRY(dec_scope_metrics(c, s, e, &rm->scopes[rm->n_scopes++]));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &rm->schema_url));
            break;
        default:
            if ((tag >> 3) == FIELD_OLD_SCOPES) return LT_EINVAL;
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

/* ExportMetricsServiceRequest { resource_metrics=1 } (also MetricsData) */
int pb_decode_metrics(lt_arena *a, const uint8_t *p, size_t len, lt_metric_batch *out)
{
    dctx c = {.a = a};
    const uint8_t *end = len ? p + len : p; /* p may be NULL when len is 0 */
    uint64_t n[3];
    memset(out, 0, sizeof *out);
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ITEMS) return LT_ETOOBIG;
    TRY(alloc_array(&c, (void **)&out->rm, n[0], sizeof(lt_resource_metrics)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        if (tag == TAG(1, WT_LEN)) {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(out->n_rm >= n[0])) return LT_EINVAL;
            lt_resource_metrics *rm = &out->rm[out->n_rm++];
            TRY(dec_resource_metrics(&c, s, e, rm));
            for (uint32_t i = 0; i < rm->n_scopes; i++)
                for (uint32_t j = 0; j < rm->scopes[i].n_metrics; j++)
                    out->n_points += rm->scopes[i].metrics[j].n_points;
        } else {
            TRY(skip_unknown(&p, end, tag, BITS(1, 1)));
        }
    }
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

/* A double field, written whatever its value (a oneof member or an optional field). */
static inline void put_double(lt_buf *b, uint32_t tag, double d)
{
    put_fixed64_field(b, tag, bits_of(d));
}

/* A plain proto3 double, omitted at its default +0.0 (-0.0 is written: it differs in bits,
 * and the model reads back exactly as it was). */
static inline void opt_double(lt_buf *b, uint32_t tag, double d)
{
    opt_fixed64(b, tag, bits_of(d));
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

static void enc_number_point(lt_buf *b, const void *item)
{
    const lt_number_point *pt = item;
    opt_fixed64(b, TAG(2, WT_I64), pt->h.start_time_unix_nano);
    opt_fixed64(b, TAG(3, WT_I64), pt->h.time_unix_nano);
    if (pt->type == LT_NUM_DOUBLE) put_double(b, TAG(4, WT_I64), pt->v.d);
    if (pt->type == LT_NUM_INT) put_fixed64_field(b, TAG(6, WT_I64), (uint64_t)pt->v.i);
    pbi_enc_attrs(b, TAG(7, WT_LEN), &pt->h.attrs);
    opt_varint(b, TAG(8, WT_VARINT), pt->h.flags);
}

static void enc_histogram_point(lt_buf *b, const void *item)
{
    const lt_histogram_point *pt = item;
    opt_fixed64(b, TAG(2, WT_I64), pt->h.start_time_unix_nano);
    opt_fixed64(b, TAG(3, WT_I64), pt->h.time_unix_nano);
    opt_fixed64(b, TAG(4, WT_I64), pt->count);
    if (pt->has_sum) put_double(b, TAG(5, WT_I64), pt->sum);
    put_packed64(b, TAG(6, WT_LEN), pt->bucket_counts, pt->n_bucket_counts);
    put_packed64(b, TAG(7, WT_LEN), pt->explicit_bounds, pt->n_explicit_bounds);
    pbi_enc_attrs(b, TAG(9, WT_LEN), &pt->h.attrs);
    opt_varint(b, TAG(10, WT_VARINT), pt->h.flags);
    if (pt->has_min) put_double(b, TAG(11, WT_I64), pt->min);
    if (pt->has_max) put_double(b, TAG(12, WT_I64), pt->max);
}

/* A Buckets field, omitted when it says nothing (offset 0, no counts). */
static void enc_buckets(lt_buf *b, uint32_t tag, const lt_exp_buckets *bk)
{
    if (!bk->offset && !bk->n) return;
    size_t m = msg_begin(b, tag);
    opt_varint(b, TAG(1, WT_VARINT), zigzag32(bk->offset));
    put_packed_varint(b, TAG(2, WT_LEN), bk->counts, bk->n);
    msg_end(b, m);
}

static void enc_exp_histogram_point(lt_buf *b, const void *item)
{
    const lt_exp_histogram_point *pt = item;
    pbi_enc_attrs(b, TAG(1, WT_LEN), &pt->h.attrs);
    opt_fixed64(b, TAG(2, WT_I64), pt->h.start_time_unix_nano);
    opt_fixed64(b, TAG(3, WT_I64), pt->h.time_unix_nano);
    opt_fixed64(b, TAG(4, WT_I64), pt->count);
    if (pt->has_sum) put_double(b, TAG(5, WT_I64), pt->sum);
    opt_varint(b, TAG(6, WT_VARINT), zigzag32(pt->scale));
    opt_fixed64(b, TAG(7, WT_I64), pt->zero_count);
    enc_buckets(b, TAG(8, WT_LEN), &pt->positive);
    enc_buckets(b, TAG(9, WT_LEN), &pt->negative);
    opt_varint(b, TAG(10, WT_VARINT), pt->h.flags);
    if (pt->has_min) put_double(b, TAG(12, WT_I64), pt->min);
    if (pt->has_max) put_double(b, TAG(13, WT_I64), pt->max);
    opt_double(b, TAG(14, WT_I64), pt->zero_threshold);
}

static void enc_summary_point(lt_buf *b, const void *item)
{
    const lt_summary_point *pt = item;
    opt_fixed64(b, TAG(2, WT_I64), pt->h.start_time_unix_nano);
    opt_fixed64(b, TAG(3, WT_I64), pt->h.time_unix_nano);
    opt_fixed64(b, TAG(4, WT_I64), pt->count);
    opt_double(b, TAG(5, WT_I64), pt->sum);
    for (uint32_t i = 0; i < pt->n_quantiles; i++) {
        size_t m = msg_begin(b, TAG(6, WT_LEN));
        opt_double(b, TAG(1, WT_I64), pt->quantiles[i].quantile);
        opt_double(b, TAG(2, WT_I64), pt->quantiles[i].value);
        msg_end(b, m);
    }
    pbi_enc_attrs(b, TAG(7, WT_LEN), &pt->h.attrs);
    opt_varint(b, TAG(8, WT_VARINT), pt->h.flags);
}

/* Metric (field numbers at dec_metric). The data member is written whenever type says
 * one was set, empty or not: a gauge without points is still a gauge. */
static void enc_metric(lt_buf *b, const lt_metric *m)
{
    static void (*const enc_point[])(lt_buf *, const void *) = {
        [LT_METRIC_GAUGE] = enc_number_point,
        [LT_METRIC_SUM] = enc_number_point,
        [LT_METRIC_HISTOGRAM] = enc_histogram_point,
        [LT_METRIC_EXP_HISTOGRAM] = enc_exp_histogram_point,
        [LT_METRIC_SUMMARY] = enc_summary_point,
    };
    opt_str(b, TAG(1, WT_LEN), m->name);
    opt_str(b, TAG(2, WT_LEN), m->description);
    opt_str(b, TAG(3, WT_LEN), m->unit);
    if (m->type >= LT_METRIC_GAUGE && m->type <= LT_METRIC_SUMMARY) {
        const char *items = (const char *)m->points.number;
        size_t size = model_metric_point_size(m->type);
        size_t mm = msg_begin(b, TAG(kinds[m->type].field, WT_LEN));
        for (uint32_t i = 0; i < m->n_points; i++) {
            size_t mp = msg_begin(b, TAG(1, WT_LEN));
            enc_point[m->type](b, items + (size_t)i * size);
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
