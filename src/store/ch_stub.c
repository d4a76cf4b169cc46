#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "store/ch_int.h"
#include "core/err.h"
int ch_get_trace(lt_store *st, const uint8_t id[16], lt_arena *a, lt_trace_data *out)
{
    return LT_EUNSUPPORTED;
}
int ch_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out)
{
    return LT_EUNSUPPORTED;
}
int ch_trace_stats(lt_store *st, const lt_trace_query *q, uint32_t k, lt_arena *a,
                   lt_trace_stats *out)
{
    return LT_EUNSUPPORTED;
}
int ch_tail_spans(lt_store *st, const lt_tail_query *q, lt_arena *a, lt_tail *out)
{
    return LT_EUNSUPPORTED;
}
int ch_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n)
{
    return LT_EUNSUPPORTED;
}
int ch_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out, uint32_t *n)
{
    return LT_EUNSUPPORTED;
}
int ch_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *a, lt_genai_group **out,
                     uint32_t *n)
{
    return LT_EUNSUPPORTED;
}
int ch_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx)
{
    return LT_EUNSUPPORTED;
}
int ch_check(lt_store *st, lt_arena *a, lt_check_report *out)
{
    return LT_EUNSUPPORTED;
}
