/* metrics.c — the schema tables of the data point messages (see metrics.h), from
 * opentelemetry-proto v1.x metrics/v1/metrics.proto. Field numbers not listed are unknown
 * to the codecs (the reserved ones, 1 of three data points, included) and skipped. */
#include "model/metrics.h"

#include <stddef.h>
#include <string.h>

#define F(T, num, kind, json, field)                                                               \
    {                                                                                              \
        num, kind, json, offsetof(T, field), 0                                                     \
    }
#define F2(T, num, kind, json, field, aux)                                                         \
    {                                                                                              \
        num, kind, json, offsetof(T, field), offsetof(T, aux)                                      \
    }
/* start_time_unix_nano=2 and time_unix_nano=3 of every data point */
#define TIMES(T)                                                                                   \
    F(T, 2, MF_FIXED64, "startTimeUnixNano", h.start_time_unix_nano),                              \
        F(T, 3, MF_FIXED64, "timeUnixNano", h.time_unix_nano)
#define MSG(name, T, list)                                                                         \
    const model_message name = {list, sizeof list / sizeof list[0], sizeof(T)}

static const model_field number_point[] = {
    TIMES(lt_number_point),
    F2(lt_number_point, 4, MF_ONEOF_DOUBLE, "asDouble", v.d, type),
    F(lt_number_point, 5, MF_SKIP, "exemplars", h),
    F2(lt_number_point, 6, MF_ONEOF_INT, "asInt", v.i, type),
    F(lt_number_point, 7, MF_ATTRS, "attributes", h.attrs),
    F(lt_number_point, 8, MF_U32, "flags", h.flags),
};
MSG(model_number_point_msg, lt_number_point, number_point);

static const model_field histogram_point[] = {
    TIMES(lt_histogram_point),
    F(lt_histogram_point, 4, MF_FIXED64, "count", count),
    F2(lt_histogram_point, 5, MF_OPT_DOUBLE, "sum", sum, has_sum),
    F(lt_histogram_point, 6, MF_FIXED64S, "bucketCounts", bucket_counts),
    F(lt_histogram_point, 7, MF_DOUBLES, "explicitBounds", explicit_bounds),
    F(lt_histogram_point, 8, MF_SKIP, "exemplars", h),
    F(lt_histogram_point, 9, MF_ATTRS, "attributes", h.attrs),
    F(lt_histogram_point, 10, MF_U32, "flags", h.flags),
    F2(lt_histogram_point, 11, MF_OPT_DOUBLE, "min", min, has_min),
    F2(lt_histogram_point, 12, MF_OPT_DOUBLE, "max", max, has_max),
};
MSG(model_histogram_point_msg, lt_histogram_point, histogram_point);

static const model_field buckets[] = {
    F(lt_exp_buckets, 1, MF_SINT32, "offset", offset),
    F(lt_exp_buckets, 2, MF_UINT64S, "bucketCounts", counts),
};
MSG(model_buckets_msg, lt_exp_buckets, buckets);

static const model_field exp_histogram_point[] = {
    F(lt_exp_histogram_point, 1, MF_ATTRS, "attributes", h.attrs),
    TIMES(lt_exp_histogram_point),
    F(lt_exp_histogram_point, 4, MF_FIXED64, "count", count),
    F2(lt_exp_histogram_point, 5, MF_OPT_DOUBLE, "sum", sum, has_sum),
    F(lt_exp_histogram_point, 6, MF_SINT32, "scale", scale),
    F(lt_exp_histogram_point, 7, MF_FIXED64, "zeroCount", zero_count),
    F(lt_exp_histogram_point, 8, MF_BUCKETS, "positive", positive),
    F(lt_exp_histogram_point, 9, MF_BUCKETS, "negative", negative),
    F(lt_exp_histogram_point, 10, MF_U32, "flags", h.flags),
    F(lt_exp_histogram_point, 11, MF_SKIP, "exemplars", h),
    F2(lt_exp_histogram_point, 12, MF_OPT_DOUBLE, "min", min, has_min),
    F2(lt_exp_histogram_point, 13, MF_OPT_DOUBLE, "max", max, has_max),
    F(lt_exp_histogram_point, 14, MF_DOUBLE, "zeroThreshold", zero_threshold),
};
MSG(model_exp_histogram_point_msg, lt_exp_histogram_point, exp_histogram_point);

static const model_field quantile[] = {
    F(lt_quantile, 1, MF_DOUBLE, "quantile", quantile),
    F(lt_quantile, 2, MF_DOUBLE, "value", value),
};
MSG(model_quantile_msg, lt_quantile, quantile);

static const model_field summary_point[] = {
    TIMES(lt_summary_point),
    F(lt_summary_point, 4, MF_FIXED64, "count", count),
    F(lt_summary_point, 5, MF_DOUBLE, "sum", sum),
    F(lt_summary_point, 6, MF_QUANTILES, "quantileValues", quantiles),
    F(lt_summary_point, 7, MF_ATTRS, "attributes", h.attrs),
    F(lt_summary_point, 8, MF_U32, "flags", h.flags),
};
MSG(model_summary_point_msg, lt_summary_point, summary_point);

const model_message *model_metric_point_msg(lt_metric_type t)
{
    switch (t) {
    case LT_METRIC_GAUGE:
    case LT_METRIC_SUM:
        return &model_number_point_msg;
    case LT_METRIC_HISTOGRAM:
        return &model_histogram_point_msg;
    case LT_METRIC_EXP_HISTOGRAM:
        return &model_exp_histogram_point_msg;
    case LT_METRIC_SUMMARY:
        return &model_summary_point_msg;
    default:
        return NULL;
    }
}

void model_field_mark(void *obj, const model_field *f)
{
    char *aux = (char *)obj + f->aux;
    if (f->kind == MF_OPT_DOUBLE) *(bool *)aux = true;
    if (f->kind == MF_ONEOF_DOUBLE) *(lt_num_type *)(void *)aux = LT_NUM_DOUBLE;
    if (f->kind == MF_ONEOF_INT) *(lt_num_type *)(void *)aux = LT_NUM_INT;
}

bool model_field_present(const void *obj, const model_field *f)
{
    const char *at = (const char *)obj + f->off, *aux = (const char *)obj + f->aux;
    uint64_t bits;
    switch (f->kind) {
    case MF_FIXED64:
    case MF_DOUBLE:
        memcpy(&bits, at, 8);
        return bits != 0;
    case MF_OPT_DOUBLE:
        return *(const bool *)aux;
    case MF_ONEOF_DOUBLE:
        return *(const lt_num_type *)(const void *)aux == LT_NUM_DOUBLE;
    case MF_ONEOF_INT:
        return *(const lt_num_type *)(const void *)aux == LT_NUM_INT;
    case MF_SINT32:
        return *(const int32_t *)(const void *)at != 0;
    case MF_U32:
        return *(const uint32_t *)(const void *)at != 0;
    case MF_ATTRS:
        return ((const lt_attrs *)(const void *)at)->n != 0;
    case MF_FIXED64S:
    case MF_UINT64S:
        return ((const lt_u64s *)(const void *)at)->n != 0;
    case MF_DOUBLES:
        return ((const lt_doubles *)(const void *)at)->n != 0;
    case MF_BUCKETS: {
        const lt_exp_buckets *b = (const lt_exp_buckets *)(const void *)at;
        return b->offset != 0 || b->counts.n != 0;
    }
    case MF_QUANTILES:
        return ((const lt_quantiles *)(const void *)at)->n != 0;
    default: /* MF_SKIP: never kept */
        return false;
    }
}
