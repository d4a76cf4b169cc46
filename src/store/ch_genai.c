#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "store/ch_int.h"
#include "core/err.h"
int ch_genai_summary(lt_store *st, const lt_genai_query *q, lt_arena *a, lt_genai_group **out, uint32_t *n){return LT_EUNSUPPORTED;}
int ch_rederive(lt_store *st, lt_rederive_fn fn, void *ctx, lt_progress_fn progress, void *pctx){return LT_EUNSUPPORTED;}
int ch_check(lt_store *st, lt_arena *a, lt_check_report *out){return LT_EUNSUPPORTED;}
