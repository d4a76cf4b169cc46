/* annotate.c — the normalize stage of ingest: a view for every span of a batch; and a
 * view derived again after a processor changed a span. */
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

int genai_refresh(lt_span *s, const lt_resource *res, const lt_scope *scope, lt_arena *a)
{
    lt_genai view;
    int rc = genai_normalize(s, res, scope, a, &view);
    if (rc < 0) return rc;
    if (rc == 0) {
        s->genai = NULL;
        return 0;
    }
    const lt_genai *old = s->genai;
    if (old && !genai_has(&view, GA_COST_SOURCE) && genai_has(old, GA_COST_SOURCE)) {
        view.v[GA_COST] = old->v[GA_COST];
        view.v[GA_COST_SOURCE] = old->v[GA_COST_SOURCE];
    }
    lt_genai *g = arena_alloc(a, sizeof *g);
    if (!g) return LT_ENOMEM;
    *g = view;
    s->genai = g;
    return 0;
}
