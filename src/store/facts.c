/* facts.c — the facts every engine derives from a span alike (see facts.h). */
#include "store/facts.h"

#include <math.h>
#include <string.h>

lt_str st_view_str(const lt_genai *g, genai_field f)
{
    return g->v[f].type == LT_VAL_STRING ? g->v[f].u.s : LT_STR("");
}

/* An integer field as a number: INT as is, a finite DOUBLE truncated. */
static bool view_int(const lt_genai *g, genai_field f, int64_t *out)
{
    const lt_value *v = &g->v[f];
    if (v->type == LT_VAL_INT) {
        *out = v->u.i;
        return true;
    }
    if (v->type == LT_VAL_DOUBLE && isfinite(v->u.d) && fabs(v->u.d) < 9.2e18) {
        *out = (int64_t)v->u.d;
        return true;
    }
    return false;
}

bool st_view_double(const lt_genai *g, genai_field f, double *out)
{
    const lt_value *v = &g->v[f];
    if (v->type == LT_VAL_DOUBLE && isfinite(v->u.d)) {
        *out = v->u.d;
        return true;
    }
    if (v->type == LT_VAL_INT) {
        *out = (double)v->u.i;
        return true;
    }
    return false;
}

static const genai_field token_fields[N_TOKENS] = {GA_INPUT_TOKENS, GA_OUTPUT_TOKENS, GA_CACHE_READ,
                                                   GA_CACHE_CREATION, GA_REASONING};

void st_facts(const lt_span *sp, lt_str service, gfacts *f)
{
    const lt_genai *g = sp->genai;
    memset(f, 0, sizeof *f);
    f->req_model = st_view_str(g, GA_REQUEST_MODEL);
    f->resp_model = st_view_str(g, GA_RESPONSE_MODEL);
    f->dim[LT_GROUP_MODEL] = f->resp_model.len ? f->resp_model : f->req_model;
    f->dim[LT_GROUP_PROVIDER] = st_view_str(g, GA_PROVIDER);
    f->dim[LT_GROUP_OPERATION] = st_view_str(g, GA_OPERATION);
    f->dim[LT_GROUP_SERVICE] = service;
    f->dim[LT_GROUP_SPAN_NAME] = sp->name;
    f->dim[LT_GROUP_AGENT] = st_view_str(g, GA_AGENT_NAME);
    f->dim[LT_GROUP_USER] = st_view_str(g, GA_USER_ID);
    f->dim[LT_GROUP_CONVERSATION] = st_view_str(g, GA_CONVERSATION_ID);
    f->start = sp->start_time_unix_nano;
    f->dur = sp->end_time_unix_nano > sp->start_time_unix_nano
                 ? sp->end_time_unix_nano - sp->start_time_unix_nano
                 : 0;
    for (int i = 0; i < N_TOKENS; i++)
        f->has_tok[i] = view_int(g, token_fields[i], &f->tok[i]);
    f->has_cost = st_view_double(g, GA_COST, &f->cost);
    f->has_ttft = g->v[GA_TTFT].type == LT_VAL_DOUBLE && isfinite(g->v[GA_TTFT].u.d) &&
                  g->v[GA_TTFT].u.d >= 0;
    if (f->has_ttft) f->ttft = g->v[GA_TTFT].u.d;
    f->error = sp->status_code == LT_STATUS_ERROR || g->v[GA_ERROR_TYPE].type != LT_VAL_EMPTY;
}

void st_value_text(lt_buf *out, const lt_value *v)
{
    if (v->type == LT_VAL_STRING) {
        buf_append_str(out, v->u.s);
        return;
    }
    if (v->type == LT_VAL_EMPTY) return;
    size_t at = out->len;
    model_value_json(out, v);
    if (out->oom) return;
    size_t n = out->len - at;
    if (n >= 2 && out->data[at] == '"' && out->data[out->len - 1] == '"') {
        memmove(out->data + at, out->data + at + 1, n - 2);
        out->len -= 2;
        out->data[out->len] = 0;
    }
}

uint32_t st_hist_bucket(double v)
{
    if (!(v >= 1)) return 0; /* below 1 ns (or NaN): the zero bucket */
    double b = floor(log(v) / ST_LOG_HIST_R) + 1;
    return b >= ST_HIST_BUCKETS - 1 ? ST_HIST_BUCKETS - 1 : (uint32_t)b;
}

double st_hist_value(uint32_t b)
{
    return b ? exp(((double)b - 0.5) * ST_LOG_HIST_R) : 0;
}

int st_str_cmp(lt_str a, lt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

int st_genai_group_cmp(const void *pa, const void *pb)
{
    const lt_genai_group *a = pa, *b = pb;
    if (a->bucket_start != b->bucket_start) return a->bucket_start < b->bucket_start ? -1 : 1;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    if (a->calls != b->calls) return a->calls > b->calls ? -1 : 1;
    return st_str_cmp(a->key, b->key);
}
