/* facts.h — private to the store module: what every engine derives from a span the same way.
 *
 * The facts of a span's GenAI view (the dimensions aggregates group by, token counts, cost,
 * time to first token, error) and the text form of an attribute value that the list
 * filter's attr= compares with: one definition, so that the SQLite and ClickHouse engines
 * answer a query alike. Nothing here is part of the store contract (store/store.h). */
#ifndef LT_STORE_FACTS_H
#define LT_STORE_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "model/model.h"
#include "store/store.h"

enum { N_TOKENS = 5 }; /* input, output, cache read, cache creation, reasoning */

/* What aggregates and filters need from one span's view. Strings are slices of the view,
 * the span or a statement's row. */
typedef struct gfacts {
    lt_str dim[8]; /* by lt_group_by: model, provider, operation, service, span name, agent,
                      user, conversation ("" when absent) */
    lt_str req_model, resp_model;
    uint64_t start, dur;
    int64_t tok[N_TOKENS];
    bool has_tok[N_TOKENS];
    bool has_cost, has_ttft, error;
    double cost, ttft;
} gfacts;

/* Derives the facts of a span's view (sp->genai must be set); service is its resource's. */
void st_facts(const lt_span *sp, lt_str service, gfacts *f);
/* A string field of a view ("" when it is absent or not a string). */
lt_str st_view_str(const lt_genai *g, genai_field f);
/* A numeric field as a double (INT converted, a finite DOUBLE as is); false otherwise. */
bool st_view_double(const lt_genai *g, genai_field f, double *out);

/* Byte order, then the shorter first (as SQL's binary collation sorts strings). */
int st_str_cmp(lt_str a, lt_str b);
/* The order of genai_summary's groups (qsort): by bucket, then cost and calls descending,
 * then key. */
int st_genai_group_cmp(const void *pa, const void *pb);

/* Latency histograms: log-scale buckets growing by 1.08, so every value of a bucket is within
 * sqrt(1.08) - 1 < 4% of the bucket's middle. Bucket 0 holds values below 1 (and NaN); a
 * quantile is the middle of the bucket holding the value of nearest rank (ceil(q * n)). The
 * ClickHouse engine computes the same buckets in SQL (ST_HIST_BUCKET_SQL) so that both
 * engines report the same quantiles. */
#define ST_LOG_HIST_R 0.076961041136128325 /* log(1.08) */
enum { ST_HIST_BUCKETS = 600 };            /* 1.08^599 ns is far past any duration */
#define ST_HIST_BUCKET_SQL(x)                                                                      \
    "if(" x " >= 1, toUInt32(least(floor(log(" x ") / 0.076961041136128325) + 1, 599)), 0)"
uint32_t st_hist_bucket(double v);
double st_hist_value(uint32_t b);

/* Appends v rendered as text, the form attr= filters compare: strings as they are, booleans
 * true/false, integers in decimal, doubles, bytes (base64), arrays and maps as JSON shows
 * them, with the quotes of a top-level string dropped; nothing for an empty value. */
void st_value_text(lt_buf *out, const lt_value *v);

#endif
