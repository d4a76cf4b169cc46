/* annotate.c — the normalize stage of ingest: a view for every span of a batch. */
#include "core/err.h"
#include "genai/genai.h"

int genai_annotate(lt_trace_batch *b, const genai_prices *prices, lt_arena *a)
{
    for (uint32_t i = 0; i < b->n_rs; i++) {
        lt_resource_spans *rs = &b->rs[i];
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                lt_span *s = &ss->spans[k];
                lt_genai view;
                int rc = genai_normalize(s, &rs->resource, &ss->scope, a, &view);
                if (rc < 0) return rc;
                if (rc == 0) continue;
                if (prices) genai_price_apply(prices, s->start_time_unix_nano, &view);
                lt_genai *g = arena_alloc(a, sizeof *g);
                if (!g) return LT_ENOMEM;
                *g = view;
                s->genai = g;
            }
        }
    }
    return 0;
}
