/* tailsample.c — the tail_sampling processor (see tailsample.h).
 *
 * Design. A held span is one allocation: a header and a deep copy of the span (strings,
 * attributes, events, links) laid out behind it, sized by a first pass of the same copy
 * code that writes it (bump allocation with a NULL base only counts). Its GenAI view is
 * kept compact: a bit mask of the fields present and their values only (a full view is
 * 36 values, ~860 bytes; a chat span has about ten). The resource and scope of a batch's
 * scope_spans are copied once per consume call into a reference-counted blob shared by its
 * spans. A trace record chains its spans; records sit in a chained hash table keyed by
 * trace id and in one of two FIFO lists: pending (undecided, in arrival order, which is
 * deadline order since decision_wait is one for all) or ready (kept, waiting to be
 * emitted). Decided ids go to two bounded FIFO id caches (kept, dropped), open-addressed
 * with backward-shift deletion, so late spans follow the decision.
 *
 * Policy votes follow the collector: sampled, not sampled, and the "inverted" votes of
 * invert_match (inverted-not-sampled drops the trace whatever the others say; inverted-
 * sampled keeps it unless something drops it). Inside and / composite an inverted vote
 * counts as a plain one. */
#include "pipeline/tailsample.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "genai/genai.h"
#include "pipeline/probsample.h"
#include "pipeline/regex.h"

enum {
    DEFAULT_NUM_TRACES = 50000,
    MAX_NUM_TRACES = 10000000,
    MAX_POLICIES = 256,
    MAX_VALUES = 10000,
};
#define DEFAULT_DECISION_WAIT_NS (30ull * 1000000000ull)
/* with the ingest queue (64 MiB by default) it keeps a default server near the 128 MiB of
 * DESIGN.md */
#define DEFAULT_MAX_BYTES (64ull << 20)

/* ---- deep copies ---- */

/* Bump allocation over a buffer sized by a counting pass (base NULL: count only), or from
 * an arena (emission). A failed arena allocation sets oom; writes are then skipped. */
typedef struct {
    char *base;
    size_t used;
    lt_arena *arena;
    bool oom;
} bump;

static void *take(bump *b, size_t n)
{
    size_t a = (n + 7) & ~(size_t)7;
    if (b->arena) {
        void *r = a ? arena_alloc(b->arena, a) : NULL;
        if (a && !r) b->oom = true;
        b->used += a;
        return r;
    }
    void *r = b->base ? b->base + b->used : NULL;
    b->used += a;
    return r;
}

static lt_str cp_str(bump *b, lt_str s)
{
    if (!s.len) return LT_STR_NULL;
    char *d = take(b, s.len);
    if (d) memcpy(d, s.ptr, s.len);
    return (lt_str){d, d ? s.len : 0};
}

static lt_attrs cp_attrs(bump *b, lt_attrs a);

/* The decoders bound nesting (MODEL_MAX_DEPTH), so the recursion is bounded. */
static void cp_value(bump *b, lt_value *dst, const lt_value *src)
{
    lt_value v = *src;
    switch (src->type) {
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        v.u.s = cp_str(b, src->u.s);
        break;
    case LT_VAL_ARRAY: {
        lt_value *items = src->u.arr.n ? take(b, src->u.arr.n * sizeof(lt_value)) : NULL;
        for (uint32_t i = 0; i < src->u.arr.n; i++)
            cp_value(b, items ? &items[i] : NULL, &src->u.arr.items[i]);
        v.u.arr.items = items;
        if (!items) v.u.arr.n = 0;
        break;
    }
    case LT_VAL_KVLIST:
        v.u.kv = cp_attrs(b, src->u.kv);
        break;
    default:
        break;
    }
    if (dst) *dst = v;
}

static lt_attrs cp_attrs(bump *b, lt_attrs a)
{
    lt_kv *items = a.n ? take(b, a.n * sizeof(lt_kv)) : NULL;
    for (uint32_t i = 0; i < a.n; i++) {
        lt_str k = cp_str(b, a.items[i].key);
        cp_value(b, items ? &items[i].value : NULL, &a.items[i].value);
        if (items) items[i].key = k;
    }
    return (lt_attrs){items, items ? a.n : 0};
}

static void cp_span(bump *b, lt_span *dst, const lt_span *src)
{
    lt_span s = *src;
    s.trace_state = cp_str(b, src->trace_state);
    s.name = cp_str(b, src->name);
    s.status_message = cp_str(b, src->status_message);
    s.attrs = cp_attrs(b, src->attrs);
    lt_event *ev = src->events.n ? take(b, src->events.n * sizeof(lt_event)) : NULL;
    for (uint32_t i = 0; i < src->events.n; i++) {
        lt_event e = src->events.items[i];
        e.name = cp_str(b, e.name);
        e.attrs = cp_attrs(b, e.attrs);
        if (ev) ev[i] = e;
    }
    s.events.items = ev;
    if (!ev) s.events.n = 0;
    lt_link *ln = src->links.n ? take(b, src->links.n * sizeof(lt_link)) : NULL;
    for (uint32_t i = 0; i < src->links.n; i++) {
        lt_link l = src->links.items[i];
        l.trace_state = cp_str(b, l.trace_state);
        l.attrs = cp_attrs(b, l.attrs);
        if (ln) ln[i] = l;
    }
    s.links.items = ln;
    if (!ln) s.links.n = 0;
    s.genai = NULL;
    if (dst) *dst = s;
}

/* ---- held data ---- */

typedef struct {
    uint32_t refs;
    size_t bytes;
    lt_resource resource;
    lt_str rs_schema_url;
    lt_scope scope;
    lt_str scope_schema_url;
} rsblob;

typedef struct heldspan heldspan;
struct heldspan {
    heldspan *next;
    rsblob *rs;
    size_t bytes;
    uint64_t gmask; /* GenAI fields present; their values in gv, in field order */
    lt_value *gv;
    lt_span span;
};

enum { T_PENDING, T_READY };

typedef struct trace trace;
struct trace {
    uint8_t id[16];
    uint8_t state;
    uint64_t first_ns;
    heldspan *head, *tail;
    uint64_t n_spans;
    size_t bytes;
    trace *prev, *next; /* the pending or the ready list */
    trace *hnext;       /* hash chain */
};

typedef struct {
    trace *head, *tail;
    uint64_t n;
} tlist;

static void tl_push(tlist *l, trace *t)
{
    t->next = NULL;
    t->prev = l->tail;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    l->n++;
}

static void tl_remove(tlist *l, trace *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        l->tail = t->prev;
    t->prev = t->next = NULL;
    l->n--;
}

/* A bounded FIFO set of trace ids: a ring of ids, indexed by an open-addressed table of
 * ring slots (slot + 1; 0 = empty), twice the ring's size. */
typedef struct {
    uint8_t (*ids)[16];
    uint32_t *idx;
    uint32_t cap, n, next, mask;
    uint64_t seed;
} idcache;

/* Trace ids come from senders: the tables' hash is seeded per instance, so ids chosen
 * against one fixed hash do not pile into one chain. Sampling decisions use fixed seeds;
 * only where an id sits in a table varies. */
static uint32_t id_hash(const idcache *c, const uint8_t *id)
{
    return (uint32_t)hash64(id, 16, c->seed);
}

static int ic_init(idcache *c, uint32_t cap, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->seed = seed;
    if (!cap) return 0;
    uint32_t sz = 16;
    while (sz < 2 * (uint64_t)cap)
        sz *= 2;
    c->ids = lt_malloc((size_t)cap * 16);
    c->idx = lt_calloc(sz, sizeof(uint32_t));
    if (!c->ids || !c->idx) return LT_ENOMEM;
    c->cap = cap;
    c->mask = sz - 1;
    return 0;
}

static void ic_free(idcache *c)
{
    lt_free(c->ids);
    lt_free(c->idx);
}

static uint32_t ic_pos(const idcache *c, const uint8_t *id)
{
    uint32_t i = id_hash(c, id) & c->mask;
    while (c->idx[i] && memcmp(c->ids[c->idx[i] - 1], id, 16))
        i = (i + 1) & c->mask;
    return i;
}

static bool ic_has(const idcache *c, const uint8_t *id)
{
    return c->cap && c->idx[ic_pos(c, id)];
}

static void ic_del(idcache *c, uint32_t pos)
{
    c->idx[pos] = 0;
    for (uint32_t j = (pos + 1) & c->mask; c->idx[j]; j = (j + 1) & c->mask) {
        uint32_t home = id_hash(c, c->ids[c->idx[j] - 1]) & c->mask;
        /* move j into the hole when its home is not between the hole and j */
        if (((j - home) & c->mask) >= ((j - pos) & c->mask)) {
            c->idx[pos] = c->idx[j];
            c->idx[j] = 0;
            pos = j;
        }
    }
}

static void ic_add(idcache *c, const uint8_t *id)
{
    if (!c->cap || c->idx[ic_pos(c, id)]) return;
    uint32_t slot = c->next;
    if (c->n == c->cap)
        ic_del(c, ic_pos(c, c->ids[slot])); /* forget the oldest */
    else
        c->n++;
    memcpy(c->ids[slot], id, 16);
    c->idx[ic_pos(c, id)] = slot + 1;
    c->next = (slot + 1) % c->cap;
}

/* ---- policies ---- */

typedef enum {
    P_ALWAYS,
    P_LATENCY,
    P_NUMERIC,
    P_PROBABILISTIC,
    P_STATUS,
    P_STRING,
    P_BOOL,
    P_SPAN_COUNT,
    P_RATE,
    P_AND,
    P_COMPOSITE,
    P_COST,
    P_TOKENS,
    P_FINISH,
    P_CONVERSATION,
    P_N_TYPES
} ptype;

static const char *const type_names[P_N_TYPES] = {
    [P_ALWAYS] = "always_sample",
    [P_LATENCY] = "latency",
    [P_NUMERIC] = "numeric_attribute",
    [P_PROBABILISTIC] = "probabilistic",
    [P_STATUS] = "status_code",
    [P_STRING] = "string_attribute",
    [P_BOOL] = "boolean_attribute",
    [P_SPAN_COUNT] = "span_count",
    [P_RATE] = "rate_limiting",
    [P_AND] = "and",
    [P_COMPOSITE] = "composite",
    [P_COST] = "cost",
    [P_TOKENS] = "tokens",
    [P_FINISH] = "finish_reason",
    [P_CONVERSATION] = "conversation",
};

typedef enum { V_NOT, V_SAMPLED, V_INV_SAMPLED, V_INV_NOT } vote;

typedef struct policy policy;
struct policy {
    char *name;
    ptype type;
    lt_str key;
    bool invert;
    int64_t lo_i, hi_i; /* latency ms, span counts, rate, composite total */
    double lo, hi;      /* numeric range, cost threshold */
    bool has_lo, has_hi;
    uint64_t threshold; /* probabilistic, conversation */
    uint64_t seed;
    bool exclusive;       /* conversation */
    unsigned status_mask; /* 1 << LT_STATUS_* */
    bool bool_value;
    lt_str *values; /* string_attribute exact values, finish reasons */
    size_t n_values;
    pcre2_code **re;
    size_t n_re;
    pcre2_match_data *md;
    int64_t sec, used; /* rate_limiting / composite: the current second's spans */
    policy *subs;      /* and, composite (in policy_order) */
    size_t n_subs;
    int64_t *budget, *sub_used; /* composite: spans per second of each sub-policy */
    uint64_t n_sampled, n_not;
};

struct tailsamp {
    uint64_t decision_wait_ns;
    uint64_t num_traces;
    uint64_t max_bytes;
    bool first_match;
    policy *policies;
    size_t n_policies;
    trace **buckets;
    size_t bucket_mask;
    uint64_t table_seed;
    tlist pending, ready;
    idcache kept_ids, dropped_ids;
    tailsamp_stats st;
};

/* ---- configuration ---- */

typedef struct {
    const cfg_doc *d;
    char *err;
    size_t errlen;
} pctx;

static const cfg_option top_options[] = {
    {"decision_wait", CFG_OPT_DURATION, "wait after a trace's first span before deciding"},
    {"num_traces", CFG_OPT_INT, "undecided traces held at most"},
    {"expected_new_traces_per_sec", CFG_OPT_INT, "sizes the trace table"},
    {"decision_cache", CFG_OPT_MAP, "sampled_cache_size, non_sampled_cache_size"},
    {"sample_on_first_match", CFG_OPT_BOOL, "stop at the first policy that samples"},
    {"max_bytes", CFG_OPT_SIZE, "bytes of undecided span data held at most (llmtrace)"},
    {"policies", CFG_OPT_LIST, "the sampling policies"},
    {NULL, 0, NULL},
};

static const cfg_option cache_options[] = {
    {"sampled_cache_size", CFG_OPT_INT, "kept trace ids remembered"},
    {"non_sampled_cache_size", CFG_OPT_INT, "dropped trace ids remembered"},
    {NULL, 0, NULL},
};

/* A policy's map: name, type, and one map named after its type. */
static const cfg_option policy_options[] = {
    {"name", CFG_OPT_STRING, "the policy's name"},
    {"type", CFG_OPT_STRING, "the policy's type"},
    {"latency", CFG_OPT_MAP, NULL},
    {"numeric_attribute", CFG_OPT_MAP, NULL},
    {"probabilistic", CFG_OPT_MAP, NULL},
    {"status_code", CFG_OPT_MAP, NULL},
    {"string_attribute", CFG_OPT_MAP, NULL},
    {"boolean_attribute", CFG_OPT_MAP, NULL},
    {"span_count", CFG_OPT_MAP, NULL},
    {"rate_limiting", CFG_OPT_MAP, NULL},
    {"and", CFG_OPT_MAP, NULL},
    {"composite", CFG_OPT_MAP, NULL},
    {"cost", CFG_OPT_MAP, NULL},
    {"tokens", CFG_OPT_MAP, NULL},
    {"finish_reason", CFG_OPT_MAP, NULL},
    {"conversation", CFG_OPT_MAP, NULL},
    {NULL, 0, NULL},
};

static const cfg_option latency_options[] = {
    {"threshold_ms", CFG_OPT_INT, "trace duration at least this"},
    {"upper_threshold_ms", CFG_OPT_INT, "and at most this (0: no upper bound)"},
    {NULL, 0, NULL},
};
static const cfg_option numeric_options[] = {
    {"key", CFG_OPT_STRING, "attribute key"},
    {"min_value", CFG_OPT_DOUBLE, "lowest value sampled"},
    {"max_value", CFG_OPT_DOUBLE, "highest value sampled"},
    {"invert_match", CFG_OPT_BOOL, "drop matching traces instead"},
    {NULL, 0, NULL},
};
static const cfg_option prob_options[] = {
    {"sampling_percentage", CFG_OPT_DOUBLE, "percent of traces sampled"},
    {"hash_salt", CFG_OPT_STRING, "salt of the trace id hash"},
    {NULL, 0, NULL},
};
static const cfg_option status_options[] = {
    {"status_codes", CFG_OPT_LIST, "ERROR, OK, UNSET"},
    {NULL, 0, NULL},
};
static const cfg_option string_options[] = {
    {"key", CFG_OPT_STRING, "attribute key"},
    {"values", CFG_OPT_LIST, "values (or regular expressions) sampled"},
    {"enabled_regex_matching", CFG_OPT_BOOL, "values are PCRE2 patterns"},
    {"cache_max_size", CFG_OPT_INT, "accepted for compatibility"},
    {"invert_match", CFG_OPT_BOOL, "drop matching traces instead"},
    {NULL, 0, NULL},
};
static const cfg_option bool_options[] = {
    {"key", CFG_OPT_STRING, "attribute key"},
    {"value", CFG_OPT_BOOL, "the value sampled"},
    {"invert_match", CFG_OPT_BOOL, "drop matching traces instead"},
    {NULL, 0, NULL},
};
static const cfg_option span_count_options[] = {
    {"min_spans", CFG_OPT_INT, "at least this many spans"},
    {"max_spans", CFG_OPT_INT, "at most this many (0: no upper bound)"},
    {NULL, 0, NULL},
};
static const cfg_option rate_options[] = {
    {"spans_per_second", CFG_OPT_INT, "spans sampled per second at most"},
    {NULL, 0, NULL},
};
static const cfg_option and_options[] = {
    {"and_sub_policy", CFG_OPT_LIST, "policies that must all sample"},
    {NULL, 0, NULL},
};
static const cfg_option composite_options[] = {
    {"max_total_spans_per_second", CFG_OPT_INT, "spans sampled per second at most"},
    {"policy_order", CFG_OPT_LIST, "sub-policy names in evaluation order"},
    {"composite_sub_policy", CFG_OPT_LIST, "the sub-policies"},
    {"rate_allocation", CFG_OPT_LIST, "{policy, percent} of the total per sub-policy"},
    {NULL, 0, NULL},
};
static const cfg_option alloc_options[] = {
    {"policy", CFG_OPT_STRING, "sub-policy name"},
    {"percent", CFG_OPT_DOUBLE, "percent of max_total_spans_per_second"},
    {NULL, 0, NULL},
};
static const cfg_option cost_options[] = {
    {"threshold_usd", CFG_OPT_DOUBLE, "trace cost at least this (USD)"},
    {NULL, 0, NULL},
};
static const cfg_option tokens_options[] = {
    {"threshold", CFG_OPT_INT, "trace input + output tokens at least this"},
    {NULL, 0, NULL},
};
static const cfg_option finish_options[] = {
    {"finish_reasons", CFG_OPT_LIST, "finish reasons sampled (length, content_filter, ...)"},
    {NULL, 0, NULL},
};
static const cfg_option conversation_options[] = {
    {"sampling_percentage", CFG_OPT_DOUBLE, "percent of conversations sampled"},
    {"hash_salt", CFG_OPT_STRING, "salt of the conversation id hash"},
    {"exclusive", CFG_OPT_BOOL, "drop traces of unsampled conversations whatever else says"},
    {NULL, 0, NULL},
};

static const cfg_option *const type_options[P_N_TYPES] = {
    [P_LATENCY] = latency_options,
    [P_NUMERIC] = numeric_options,
    [P_PROBABILISTIC] = prob_options,
    [P_STATUS] = status_options,
    [P_STRING] = string_options,
    [P_BOOL] = bool_options,
    [P_SPAN_COUNT] = span_count_options,
    [P_RATE] = rate_options,
    [P_AND] = and_options,
    [P_COMPOSITE] = composite_options,
    [P_COST] = cost_options,
    [P_TOKENS] = tokens_options,
    [P_FINISH] = finish_options,
    [P_CONVERSATION] = conversation_options,
};

static void policy_fini(policy *p)
{
    lt_free(p->name);
    lt_free((void *)p->key.ptr);
    for (size_t i = 0; i < p->n_values; i++)
        lt_free((void *)p->values[i].ptr);
    lt_free(p->values);
    for (size_t i = 0; i < p->n_re; i++)
        pcre2_code_free(p->re[i]);
    lt_free(p->re);
    pcre2_match_data_free(p->md);
    for (size_t i = 0; i < p->n_subs; i++)
        policy_fini(&p->subs[i]);
    lt_free(p->subs);
    lt_free(p->budget);
    lt_free(p->sub_used);
}

static int read_i64(pctx *c, const cfg_node *m, const char *key, const char *path, int64_t min,
                    int64_t *out)
{
    const cfg_node *n = cfg_get(m, key);
    if (!n) return 0;
    char what[1024];
    snprintf(what, sizeof what, "%.700s.%.60s", path, key);
    int rc = cfg_int(c->d, n, what, out, c->err, c->errlen);
    if (rc) return rc;
    if (*out < min)
        return cfg_error(c->d, n, c->err, c->errlen, "%s: must be >= %lld", what, (long long)min);
    return 0;
}

static int read_pct(pctx *c, const cfg_node *m, const char *path, double *out)
{
    const cfg_node *n = cfg_get(m, "sampling_percentage");
    char what[1024];
    snprintf(what, sizeof what, "%.700s.sampling_percentage", path);
    if (!n) return cfg_error(c->d, m, c->err, c->errlen, "%s is required", what);
    int rc = cfg_double(c->d, n, what, out, c->err, c->errlen);
    if (rc) return rc;
    if (!(*out >= 0 && *out <= 100))
        return cfg_error(c->d, n, c->err, c->errlen, "%s: %g is not in 0..100", what, *out);
    return 0;
}

static int read_key(pctx *c, const cfg_node *m, const char *path, policy *p)
{
    const cfg_node *n = cfg_get(m, "key");
    char what[1024];
    snprintf(what, sizeof what, "%.700s.key", path);
    if (!n) return cfg_error(c->d, m, c->err, c->errlen, "%s is required", what);
    const char *s;
    int rc = cfg_string(c->d, n, what, &s, c->err, c->errlen);
    if (rc) return rc;
    char *k = lt_strndup(s, strlen(s));
    if (!k) return LT_ENOMEM;
    p->key = (lt_str){k, strlen(k)};
    return 0;
}

static int read_bool(pctx *c, const cfg_node *m, const char *key, const char *path, bool *out)
{
    const cfg_node *n = cfg_get(m, key);
    if (!n) return 0;
    char what[1024];
    snprintf(what, sizeof what, "%.700s.%.60s", path, key);
    return cfg_bool(c->d, n, what, out, c->err, c->errlen);
}

/* The strings of a list into p->values (copies). */
static int read_strings(pctx *c, const cfg_node *m, const char *key, const char *path, policy *p)
{
    const cfg_node *n = cfg_get(m, key);
    char what[1024];
    snprintf(what, sizeof what, "%.700s.%.60s", path, key);
    if (!n || n->kind != CFG_SEQ || n->n == 0)
        return cfg_error(c->d, n ? n : m, c->err, c->errlen, "%s: a non-empty list is required",
                         what);
    if (n->n > MAX_VALUES)
        return cfg_error(c->d, n, c->err, c->errlen, "%s: more than %d values", what, MAX_VALUES);
    p->values = lt_calloc(n->n, sizeof(lt_str));
    if (!p->values) return LT_ENOMEM;
    for (size_t i = 0; i < n->n; i++) {
        const char *s;
        int rc = cfg_string(c->d, n->items[i], what, &s, c->err, c->errlen);
        if (rc) return rc;
        char *v = lt_strndup(s, strlen(s));
        if (!v) return LT_ENOMEM;
        p->values[p->n_values++] = (lt_str){v, strlen(v)};
    }
    return 0;
}

static int parse_policy(pctx *c, const cfg_node *pn, const char *where, int depth, policy *p);

static int parse_subs(pctx *c, const cfg_node *list, const char *path, int depth, policy *p)
{
    if (!list || list->kind != CFG_SEQ || list->n == 0)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: a non-empty list is required", path);
    if (list->n > MAX_POLICIES)
        return cfg_error(c->d, list, c->err, c->errlen, "%s: more than %d policies", path,
                         MAX_POLICIES);
    p->subs = lt_calloc(list->n, sizeof(policy));
    if (!p->subs) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        int rc = parse_policy(c, list->items[i], path, depth + 1, &p->subs[p->n_subs]);
        p->n_subs++;
        if (rc) return rc;
    }
    return 0;
}

static int parse_composite(pctx *c, const cfg_node *m, const char *path, policy *p)
{
    char what[1024];
    snprintf(what, sizeof what, "%.700s.composite_sub_policy", path);
    int rc = parse_subs(c, cfg_get(m, "composite_sub_policy"), what, 1, p);
    if (rc) return rc;
    if (!cfg_get(m, "max_total_spans_per_second"))
        return cfg_error(c->d, m, c->err, c->errlen, "%s.max_total_spans_per_second is required",
                         path);
    if ((rc = read_i64(c, m, "max_total_spans_per_second", path, 1, &p->hi_i))) return rc;
    const cfg_node *order = cfg_get(m, "policy_order");
    if (order) {
        snprintf(what, sizeof what, "%.700s.policy_order", path);
        if (order->kind != CFG_SEQ || order->n != p->n_subs)
            return cfg_error(c->d, order, c->err, c->errlen,
                             "%s: must name each of the %zu sub-policies once", what, p->n_subs);
        /* reorder the sub-policies as listed */
        for (size_t i = 0; i < order->n; i++) {
            const char *name;
            if ((rc = cfg_string(c->d, order->items[i], what, &name, c->err, c->errlen))) return rc;
            size_t j = i;
            while (j < p->n_subs && strcmp(p->subs[j].name, name))
                j++;
            if (j == p->n_subs)
                return cfg_error(c->d, order->items[i], c->err, c->errlen,
                                 "%s: '%s' is not a sub-policy (or is listed twice)", what, name);
            policy t = p->subs[i];
            p->subs[i] = p->subs[j];
            p->subs[j] = t;
        }
    }
    p->budget = lt_calloc(p->n_subs, sizeof(int64_t));
    p->sub_used = lt_calloc(p->n_subs, sizeof(int64_t));
    if (!p->budget || !p->sub_used) return LT_ENOMEM;
    /* a sub-policy without an allocation may use whatever of the total is left */
    for (size_t i = 0; i < p->n_subs; i++)
        p->budget[i] = p->hi_i;
    const cfg_node *ra = cfg_get(m, "rate_allocation");
    snprintf(what, sizeof what, "%.700s.rate_allocation", path);
    for (size_t i = 0; ra && i < ra->n; i++) {
        const cfg_node *e = ra->items[i];
        if ((rc = cfg_check_options(c->d, e, alloc_options, what, c->err, c->errlen))) return rc;
        const char *name = NULL;
        double pct = 0;
        const cfg_node *pn = cfg_get(e, "policy"), *cn = cfg_get(e, "percent");
        if (!pn || !cn)
            return cfg_error(c->d, e, c->err, c->errlen, "%s: policy and percent are required",
                             what);
        if ((rc = cfg_string(c->d, pn, what, &name, c->err, c->errlen)) ||
            (rc = cfg_double(c->d, cn, what, &pct, c->err, c->errlen)))
            return rc;
        if (!(pct >= 0 && pct <= 100))
            return cfg_error(c->d, cn, c->err, c->errlen, "%s: %g is not in 0..100", what, pct);
        size_t j = 0;
        while (j < p->n_subs && strcmp(p->subs[j].name, name))
            j++;
        if (j == p->n_subs)
            return cfg_error(c->d, pn, c->err, c->errlen, "%s: '%s' is not a sub-policy", what,
                             name);
        p->budget[j] = (int64_t)(pct / 100.0 * (double)p->hi_i);
    }
    return 0;
}

static int compile_regexes(pctx *c, const cfg_node *m, const char *path, policy *p)
{
    p->re = lt_calloc(p->n_values, sizeof(pcre2_code *));
    if (!p->re) return LT_ENOMEM;
    const cfg_node *list = cfg_get(m, "values");
    for (size_t i = 0; i < p->n_values; i++) {
        char msg[160];
        size_t off;
        int rc = regex_compile(p->values[i].ptr, p->values[i].len, &p->re[p->n_re], msg, sizeof msg,
                               &off);
        if (rc == LT_EINVAL)
            return cfg_error(c->d, list->items[i], c->err, c->errlen,
                             "%s.values: bad regular expression '%s' at %zu: %s", path,
                             p->values[i].ptr, off, msg);
        if (rc) return rc;
        p->n_re++;
    }
    p->md = regex_match_data(1);
    return p->md ? 0 : LT_ENOMEM;
}

static int parse_policy(pctx *c, const cfg_node *pn, const char *where, int depth, policy *p)
{
    int rc = cfg_check_options(c->d, pn, policy_options, where, c->err, c->errlen);
    if (rc) return rc;
    if (!pn || pn->kind != CFG_MAP)
        return cfg_error(c->d, pn, c->err, c->errlen, "%s: a policy must be a map", where);
    const cfg_node *nn = cfg_get(pn, "name"), *tn = cfg_get(pn, "type");
    if (!nn || !tn)
        return cfg_error(c->d, pn, c->err, c->errlen, "%s: a policy needs a name and a type",
                         where);
    const char *name, *type;
    if ((rc = cfg_string(c->d, nn, where, &name, c->err, c->errlen)) ||
        (rc = cfg_string(c->d, tn, where, &type, c->err, c->errlen)))
        return rc;
    p->name = lt_strndup(name, strlen(name));
    if (!p->name) return LT_ENOMEM;
    char path[1024];
    snprintf(path, sizeof path, "%.700s[%.100s]", where, name);
    int t = 0;
    while (t < P_N_TYPES && strcmp(type_names[t], type))
        t++;
    if (t == P_N_TYPES)
        return cfg_error(c->d, tn, c->err, c->errlen, "%s: unknown policy type '%s'", path, type);
    p->type = (ptype)t;
    if ((p->type == P_COMPOSITE && depth > 0) || (p->type == P_AND && depth > 1))
        return cfg_error(c->d, tn, c->err, c->errlen, "%s: a %s policy cannot be nested here", path,
                         type);
    /* only the settings of its own type: another type's map would be silently ignored */
    for (size_t i = 0; i < pn->n; i++) {
        const char *k = pn->items[i]->key;
        if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, type))
            return cfg_error(c->d, pn->items[i], c->err, c->errlen,
                             "%s: option '%s' does not apply to a policy of type %s", path, k,
                             type);
    }
    const cfg_node *m = cfg_get(pn, type);
    char sub[1024];
    snprintf(sub, sizeof sub, "%.800s.%.60s", path, type);
    if (type_options[t] &&
        (rc = cfg_check_options(c->d, m, type_options[t], sub, c->err, c->errlen)))
        return rc;
    if (!m && p->type != P_ALWAYS)
        return cfg_error(c->d, pn, c->err, c->errlen, "%s: settings '%s' are required", path, type);
    double pct;
    switch (p->type) {
    case P_ALWAYS:
        break;
    case P_LATENCY:
        if ((rc = read_i64(c, m, "threshold_ms", sub, 0, &p->lo_i)) ||
            (rc = read_i64(c, m, "upper_threshold_ms", sub, 0, &p->hi_i)))
            return rc;
        if (p->hi_i && p->hi_i < p->lo_i)
            return cfg_error(c->d, m, c->err, c->errlen,
                             "%s: upper_threshold_ms is below threshold_ms", sub);
        break;
    case P_NUMERIC: {
        if ((rc = read_key(c, m, sub, p))) return rc;
        const cfg_node *lo = cfg_get(m, "min_value"), *hi = cfg_get(m, "max_value");
        if (!lo && !hi)
            return cfg_error(c->d, m, c->err, c->errlen, "%s: min_value or max_value is required",
                             sub);
        if (lo && (rc = cfg_double(c->d, lo, sub, &p->lo, c->err, c->errlen))) return rc;
        if (hi && (rc = cfg_double(c->d, hi, sub, &p->hi, c->err, c->errlen))) return rc;
        p->has_lo = lo != NULL;
        p->has_hi = hi != NULL;
        if ((rc = read_bool(c, m, "invert_match", sub, &p->invert))) return rc;
        break;
    }
    case P_PROBABILISTIC:
    case P_CONVERSATION: {
        if ((rc = read_pct(c, m, sub, &pct))) return rc;
        p->threshold = probsamp_threshold(pct);
        const cfg_node *sn = cfg_get(m, "hash_salt");
        if (sn) {
            const char *salt;
            if ((rc = cfg_string(c->d, sn, sub, &salt, c->err, c->errlen))) return rc;
            /* an empty salt is no salt: the same traces as probabilistic_sampler's default */
            p->seed = *salt ? hash64(salt, strlen(salt), 0) : 0;
        }
        if ((rc = read_bool(c, m, "exclusive", sub, &p->exclusive))) return rc;
        break;
    }
    case P_STATUS: {
        if ((rc = read_strings(c, m, "status_codes", sub, p))) return rc;
        for (size_t i = 0; i < p->n_values; i++) {
            if (lt_str_eq_c(p->values[i], "ERROR"))
                p->status_mask |= 1u << LT_STATUS_ERROR;
            else if (lt_str_eq_c(p->values[i], "OK"))
                p->status_mask |= 1u << LT_STATUS_OK;
            else if (lt_str_eq_c(p->values[i], "UNSET"))
                p->status_mask |= 1u << LT_STATUS_UNSET;
            else
                return cfg_error(c->d, cfg_get(m, "status_codes")->items[i], c->err, c->errlen,
                                 "%s.status_codes: '%s' is not ERROR, OK or UNSET", sub,
                                 p->values[i].ptr);
        }
        break;
    }
    case P_STRING: {
        bool regex = false;
        int64_t cache = 0;
        if ((rc = read_key(c, m, sub, p)) || (rc = read_strings(c, m, "values", sub, p)) ||
            (rc = read_bool(c, m, "enabled_regex_matching", sub, &regex)) ||
            (rc = read_bool(c, m, "invert_match", sub, &p->invert)) ||
            (rc = read_i64(c, m, "cache_max_size", sub, 0, &cache)))
            return rc;
        if (regex && (rc = compile_regexes(c, m, sub, p))) return rc;
        break;
    }
    case P_BOOL: {
        if ((rc = read_key(c, m, sub, p))) return rc;
        if (!cfg_get(m, "value"))
            return cfg_error(c->d, m, c->err, c->errlen, "%s.value is required", sub);
        if ((rc = read_bool(c, m, "value", sub, &p->bool_value)) ||
            (rc = read_bool(c, m, "invert_match", sub, &p->invert)))
            return rc;
        break;
    }
    case P_SPAN_COUNT:
        if ((rc = read_i64(c, m, "min_spans", sub, 0, &p->lo_i)) ||
            (rc = read_i64(c, m, "max_spans", sub, 0, &p->hi_i)))
            return rc;
        if (p->hi_i && p->hi_i < p->lo_i)
            return cfg_error(c->d, m, c->err, c->errlen, "%s: max_spans is below min_spans", sub);
        break;
    case P_RATE:
        if (!cfg_get(m, "spans_per_second"))
            return cfg_error(c->d, m, c->err, c->errlen, "%s.spans_per_second is required", sub);
        if ((rc = read_i64(c, m, "spans_per_second", sub, 1, &p->hi_i))) return rc;
        break;
    case P_AND: {
        char what[1024];
        snprintf(what, sizeof what, "%.700s.and_sub_policy", sub);
        if ((rc = parse_subs(c, cfg_get(m, "and_sub_policy"), what, depth + 1, p))) return rc;
        break;
    }
    case P_COMPOSITE:
        if ((rc = parse_composite(c, m, sub, p))) return rc;
        break;
    case P_COST: {
        const cfg_node *n = cfg_get(m, "threshold_usd");
        if (!n) return cfg_error(c->d, m, c->err, c->errlen, "%s.threshold_usd is required", sub);
        if ((rc = cfg_double(c->d, n, sub, &p->lo, c->err, c->errlen))) return rc;
        break;
    }
    case P_TOKENS:
        if (!cfg_get(m, "threshold"))
            return cfg_error(c->d, m, c->err, c->errlen, "%s.threshold is required", sub);
        if ((rc = read_i64(c, m, "threshold", sub, 0, &p->lo_i))) return rc;
        break;
    case P_FINISH:
        if ((rc = read_strings(c, m, "finish_reasons", sub, p))) return rc;
        break;
    case P_N_TYPES:
        break;
    }
    return 0;
}

int tailsamp_new(const cfg_doc *d, const cfg_node *conf, tailsamp **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *where = "processors.tail_sampling";
    int rc = cfg_check_options(d, conf, top_options, where, err, errlen);
    if (rc) return rc;
    tailsamp *ts = lt_calloc(1, sizeof *ts);
    if (!ts) return LT_ENOMEM;
    pctx c = {d, err, errlen};
    ts->decision_wait_ns = DEFAULT_DECISION_WAIT_NS;
    ts->num_traces = DEFAULT_NUM_TRACES;
    ts->max_bytes = DEFAULT_MAX_BYTES;
    int64_t v = 0, expected = 0;
    const cfg_node *n;
    if ((n = cfg_get(conf, "decision_wait")) &&
        (rc = cfg_duration_ns(d, n, "processors.tail_sampling.decision_wait", &ts->decision_wait_ns,
                              err, errlen)))
        goto out;
    if (cfg_get(conf, "num_traces")) {
        if ((rc = read_i64(&c, conf, "num_traces", where, 1, &v))) goto out;
        if (v > MAX_NUM_TRACES) {
            rc = cfg_error(d, cfg_get(conf, "num_traces"), err, errlen, "%s.num_traces: at most %d",
                           where, MAX_NUM_TRACES);
            goto out;
        }
        ts->num_traces = (uint64_t)v;
    }
    if ((rc = read_i64(&c, conf, "expected_new_traces_per_sec", where, 0, &expected))) goto out;
    if ((n = cfg_get(conf, "max_bytes")) &&
        (rc = cfg_size(d, n, "processors.tail_sampling.max_bytes", &ts->max_bytes, err, errlen)))
        goto out;
    if ((n = cfg_get(conf, "sample_on_first_match")) &&
        (rc = cfg_bool(d, n, "processors.tail_sampling.sample_on_first_match", &ts->first_match,
                       err, errlen)))
        goto out;
    /* a decided trace is remembered well past its data, as the collector's docs advise */
    int64_t kept_cache = (int64_t)ts->num_traces, dropped_cache = (int64_t)ts->num_traces;
    if ((n = cfg_get(conf, "decision_cache"))) {
        const char *w = "processors.tail_sampling.decision_cache";
        if ((rc = cfg_check_options(d, n, cache_options, w, err, errlen)) ||
            (rc = read_i64(&c, n, "sampled_cache_size", w, 0, &kept_cache)) ||
            (rc = read_i64(&c, n, "non_sampled_cache_size", w, 0, &dropped_cache)))
            goto out;
        if (kept_cache > MAX_NUM_TRACES || dropped_cache > MAX_NUM_TRACES) {
            rc =
                cfg_error(d, n, err, errlen, "%s: a cache holds at most %d ids", w, MAX_NUM_TRACES);
            goto out;
        }
    }
    const cfg_node *pl = cfg_get(conf, "policies");
    if (!pl || pl->kind != CFG_SEQ || pl->n == 0) {
        rc = cfg_error(d, pl ? pl : conf, err, errlen, "%s.policies: at least one is required",
                       where);
        goto out;
    }
    if (pl->n > MAX_POLICIES) {
        rc = cfg_error(d, pl, err, errlen, "%s.policies: more than %d", where, MAX_POLICIES);
        goto out;
    }
    ts->policies = lt_calloc(pl->n, sizeof(policy));
    if (!ts->policies) {
        rc = LT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < pl->n; i++) {
        rc = parse_policy(&c, pl->items[i], "processors.tail_sampling.policies", 0,
                          &ts->policies[i]);
        ts->n_policies++;
        if (rc) goto out;
    }
    /* the table: sized for the traces held, or for a decision_wait's worth of new ones */
    uint64_t want = ts->num_traces;
    uint64_t per_wait = (uint64_t)expected * (ts->decision_wait_ns / 1000000000u + 1);
    if (per_wait > want) want = per_wait;
    if (want > MAX_NUM_TRACES) want = MAX_NUM_TRACES;
    size_t nb = 16;
    while (nb < want)
        nb *= 2;
    ts->buckets = lt_calloc(nb, sizeof(trace *));
    if (!ts->buckets) {
        rc = LT_ENOMEM;
        goto out;
    }
    ts->bucket_mask = nb - 1;
    uint64_t t = time_mono_ns() ^ time_now_ns();
    uintptr_t addr = (uintptr_t)ts;
    ts->table_seed = hash64(&t, sizeof t, addr);
    if ((rc = ic_init(&ts->kept_ids, (uint32_t)kept_cache, ts->table_seed ^ 1)) ||
        (rc = ic_init(&ts->dropped_ids, (uint32_t)dropped_cache, ts->table_seed ^ 2)))
        goto out;
    ts->st.bytes_index = nb * sizeof(trace *) + (size_t)kept_cache * 16 +
                         (size_t)(ts->kept_ids.cap ? ts->kept_ids.mask + 1 : 0) * 4 +
                         (size_t)dropped_cache * 16 +
                         (size_t)(ts->dropped_ids.cap ? ts->dropped_ids.mask + 1 : 0) * 4;
    *out = ts;
    return 0;
out:
    if (rc == LT_ENOMEM && err && errlen) snprintf(err, errlen, "%s: out of memory", where);
    tailsamp_free(ts);
    return rc;
}

/* ---- evaluation ---- */

static const lt_value *genai_get(const heldspan *h, genai_field f)
{
    if (!(h->gmask >> f & 1)) return NULL;
    uint64_t below = h->gmask & ((1ull << f) - 1);
    return &h->gv[__builtin_popcountll(below)];
}

static double gnum(const heldspan *h, genai_field f)
{
    const lt_value *v = genai_get(h, f);
    if (!v) return 0;
    if (v->type == LT_VAL_DOUBLE) return v->u.d;
    if (v->type == LT_VAL_INT) return (double)v->u.i;
    return 0;
}

/* The attribute key of span h, else of its resource (the collector looks at both). */
static bool each_attr(const heldspan *h, lt_str key, const lt_value **sv, const lt_value **rv)
{
    *sv = model_attr_get(&h->span.attrs, key);
    *rv = model_attr_get(&h->rs->resource.attrs, key);
    return *sv || *rv;
}

static bool numeric_match(const policy *p, const lt_value *v)
{
    double x;
    if (!v) return false;
    if (v->type == LT_VAL_INT)
        x = (double)v->u.i;
    else if (v->type == LT_VAL_DOUBLE)
        x = v->u.d;
    else
        return false;
    return (!p->has_lo || x >= p->lo) && (!p->has_hi || x <= p->hi);
}

static bool string_match(const policy *p, const lt_value *v)
{
    if (!v || v->type != LT_VAL_STRING) return false;
    lt_str s = v->u.s;
    if (p->n_re) {
        for (size_t i = 0; i < p->n_re; i++)
            if (pcre2_match(p->re[i], (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, p->md, NULL) >=
                0)
                return true;
        return false;
    }
    for (size_t i = 0; i < p->n_values; i++)
        if (lt_str_eq(s, p->values[i])) return true;
    return false;
}

static bool bool_match(const policy *p, const lt_value *v)
{
    return v && v->type == LT_VAL_BOOL && v->u.b == p->bool_value;
}

static vote attr_vote(const policy *p, const trace *t)
{
    bool hit = false;
    for (const heldspan *h = t->head; h && !hit; h = h->next) {
        const lt_value *sv, *rv;
        if (!each_attr(h, p->key, &sv, &rv)) continue;
        if (p->type == P_NUMERIC)
            hit = numeric_match(p, sv) || numeric_match(p, rv);
        else if (p->type == P_STRING)
            hit = string_match(p, sv) || string_match(p, rv);
        else
            hit = bool_match(p, sv) || bool_match(p, rv);
    }
    if (p->invert) return hit ? V_INV_NOT : V_INV_SAMPLED;
    return hit ? V_SAMPLED : V_NOT;
}

static bool rate_admit(int64_t *sec, int64_t *used, int64_t limit, int64_t n, int64_t now_sec)
{
    if (*sec != now_sec) {
        *sec = now_sec;
        *used = 0;
    }
    if (*used + n > limit) return false;
    *used += n;
    return true;
}

static vote evaluate(policy *p, const trace *t, uint64_t now_ns);

static bool is_sampled(vote v)
{
    return v == V_SAMPLED || v == V_INV_SAMPLED;
}

static vote composite_vote(policy *p, const trace *t, uint64_t now_ns)
{
    int64_t sec = (int64_t)(now_ns / 1000000000u);
    if (p->sec != sec) {
        p->sec = sec;
        p->used = 0;
        memset(p->sub_used, 0, p->n_subs * sizeof(int64_t));
    }
    int64_t n = (int64_t)t->n_spans;
    for (size_t i = 0; i < p->n_subs; i++) {
        if (!is_sampled(evaluate(&p->subs[i], t, now_ns))) continue;
        /* the first sub-policy that samples decides; over its budget the trace is not
         * sampled, and the budget is left for smaller traces of this second */
        if (p->sub_used[i] + n > p->budget[i] || p->used + n > p->hi_i) return V_NOT;
        p->sub_used[i] += n;
        p->used += n;
        return V_SAMPLED;
    }
    return V_NOT;
}

static vote evaluate(policy *p, const trace *t, uint64_t now_ns)
{
    switch (p->type) {
    case P_ALWAYS:
        return V_SAMPLED;
    case P_LATENCY: {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (const heldspan *h = t->head; h; h = h->next) {
            if (h->span.start_time_unix_nano < lo) lo = h->span.start_time_unix_nano;
            if (h->span.end_time_unix_nano > hi) hi = h->span.end_time_unix_nano;
        }
        int64_t ms = hi > lo ? (int64_t)((hi - lo) / 1000000u) : 0;
        if (!p->hi_i) return ms >= p->lo_i ? V_SAMPLED : V_NOT;
        return ms > p->lo_i && ms <= p->hi_i ? V_SAMPLED : V_NOT;
    }
    case P_NUMERIC:
    case P_STRING:
    case P_BOOL:
        return attr_vote(p, t);
    case P_PROBABILISTIC:
        return probsamp_below(probsamp_hash(t->id, p->seed), p->threshold) ? V_SAMPLED : V_NOT;
    case P_STATUS:
        for (const heldspan *h = t->head; h; h = h->next)
            if (h->span.status_code < 32 && (p->status_mask >> h->span.status_code & 1))
                return V_SAMPLED;
        return V_NOT;
    case P_SPAN_COUNT:
        return (int64_t)t->n_spans >= p->lo_i && (!p->hi_i || (int64_t)t->n_spans <= p->hi_i)
                   ? V_SAMPLED
                   : V_NOT;
    case P_RATE:
        return rate_admit(&p->sec, &p->used, p->hi_i, (int64_t)t->n_spans,
                          (int64_t)(now_ns / 1000000000u))
                   ? V_SAMPLED
                   : V_NOT;
    case P_AND:
        for (size_t i = 0; i < p->n_subs; i++)
            if (!is_sampled(evaluate(&p->subs[i], t, now_ns))) return V_NOT;
        return V_SAMPLED;
    case P_COMPOSITE:
        return composite_vote(p, t, now_ns);
    case P_COST: {
        double sum = 0;
        for (const heldspan *h = t->head; h; h = h->next)
            sum += gnum(h, GA_COST);
        return sum >= p->lo ? V_SAMPLED : V_NOT;
    }
    case P_TOKENS: {
        double sum = 0;
        for (const heldspan *h = t->head; h; h = h->next)
            sum += gnum(h, GA_INPUT_TOKENS) + gnum(h, GA_OUTPUT_TOKENS);
        return sum >= (double)p->lo_i ? V_SAMPLED : V_NOT;
    }
    case P_FINISH:
        for (const heldspan *h = t->head; h; h = h->next) {
            const lt_value *fr = genai_get(h, GA_FINISH_REASONS);
            if (!fr || fr->type != LT_VAL_ARRAY) continue;
            for (uint32_t i = 0; i < fr->u.arr.n; i++) {
                const lt_value *r = &fr->u.arr.items[i];
                if (r->type != LT_VAL_STRING) continue;
                for (size_t k = 0; k < p->n_values; k++)
                    if (lt_str_eq(r->u.s, p->values[k])) return V_SAMPLED;
            }
        }
        return V_NOT;
    case P_CONVERSATION: {
        /* the conversation (or else the session) id, hashed: every trace of one
         * conversation gets the same answer, on every instance */
        lt_str id = LT_STR_NULL;
        for (const heldspan *h = t->head; h && !id.len; h = h->next) {
            const lt_value *v = genai_get(h, GA_CONVERSATION_ID);
            if (!v || v->type != LT_VAL_STRING || !v->u.s.len) v = genai_get(h, GA_SESSION_ID);
            if (v && v->type == LT_VAL_STRING) id = v->u.s;
        }
        if (!id.len) return V_NOT;
        if (probsamp_below(hash64(id.ptr, id.len, p->seed), p->threshold)) return V_SAMPLED;
        return p->exclusive ? V_INV_NOT : V_NOT;
    }
    case P_N_TYPES:
        break;
    }
    return V_NOT;
}

static bool decide_policies(tailsamp *ts, const trace *t, uint64_t now_ns)
{
    bool sampled = false, dropped = false;
    for (size_t i = 0; i < ts->n_policies; i++) {
        policy *p = &ts->policies[i];
        vote v = evaluate(p, t, now_ns);
        if (is_sampled(v)) {
            p->n_sampled++;
            sampled = true;
            if (ts->first_match && v == V_SAMPLED) break;
        } else {
            p->n_not++;
            if (v == V_INV_NOT) dropped = true;
        }
    }
    return sampled && !dropped;
}

/* ---- holding and deciding ---- */

static size_t bucket_of(const tailsamp *ts, const uint8_t *id)
{
    return hash64(id, 16, ts->table_seed) & ts->bucket_mask;
}

static trace *find_trace(const tailsamp *ts, const uint8_t *id)
{
    for (trace *t = ts->buckets[bucket_of(ts, id)]; t; t = t->hnext)
        if (!memcmp(t->id, id, 16)) return t;
    return NULL;
}

static void unhash(tailsamp *ts, trace *t)
{
    trace **pp = &ts->buckets[bucket_of(ts, t->id)];
    while (*pp != t)
        pp = &(*pp)->hnext;
    *pp = t->hnext;
}

static void rs_release(tailsamp *ts, rsblob *rs)
{
    if (--rs->refs == 0) {
        ts->st.bytes_held -= rs->bytes;
        lt_free(rs);
    }
}

/* Unhashes (the caller has taken t off its list) and frees t with its spans. */
static void free_trace(tailsamp *ts, trace *t)
{
    unhash(ts, t);
    for (heldspan *h = t->head, *nx; h; h = nx) {
        nx = h->next;
        rs_release(ts, h->rs);
        lt_free(h);
    }
    ts->st.traces_held--;
    ts->st.spans_held -= t->n_spans;
    ts->st.bytes_held -= t->bytes + sizeof(trace);
    if (t->state == T_PENDING) ts->st.bytes_pending -= t->bytes + sizeof(trace);
    lt_free(t);
}

static void decide(tailsamp *ts, trace *t, uint64_t now_ns)
{
    tl_remove(&ts->pending, t);
    ts->st.bytes_pending -= t->bytes + sizeof(trace);
    t->state = T_READY; /* decided: no longer pending, whichever way */
    if (decide_policies(ts, t, now_ns)) {
        ic_add(&ts->kept_ids, t->id);
        tl_push(&ts->ready, t);
        ts->st.traces_kept++;
        ts->st.spans_kept += t->n_spans;
    } else {
        ic_add(&ts->dropped_ids, t->id);
        ts->st.traces_dropped++;
        ts->st.spans_dropped += t->n_spans;
        free_trace(ts, t);
    }
}

static trace *new_trace(tailsamp *ts, const uint8_t *id, uint64_t now_ns, int state)
{
    trace *t = lt_calloc(1, sizeof *t);
    if (!t) return NULL;
    memcpy(t->id, id, 16);
    t->state = (uint8_t)state;
    t->first_ns = now_ns;
    size_t b = bucket_of(ts, id);
    t->hnext = ts->buckets[b];
    ts->buckets[b] = t;
    tl_push(state == T_PENDING ? &ts->pending : &ts->ready, t);
    ts->st.traces_held++;
    ts->st.bytes_held += sizeof(trace);
    if (state == T_PENDING) ts->st.bytes_pending += sizeof(trace);
    return t;
}

static rsblob *copy_rs(tailsamp *ts, const lt_resource_spans *rs, const lt_scope_spans *ss)
{
    bump b = {0};
    take(&b, sizeof(rsblob));
    cp_attrs(&b, rs->resource.attrs);
    cp_str(&b, rs->schema_url);
    cp_str(&b, ss->scope.name);
    cp_str(&b, ss->scope.version);
    cp_attrs(&b, ss->scope.attrs);
    cp_str(&b, ss->schema_url);
    size_t size = b.used;
    char *base = lt_malloc(size);
    if (!base) return NULL;
    b = (bump){.base = base};
    rsblob *r = take(&b, sizeof(rsblob));
    r->refs = 1; /* the consume loop's own, released after its scope_spans */
    r->bytes = size;
    r->resource = rs->resource;
    r->resource.attrs = cp_attrs(&b, rs->resource.attrs);
    r->rs_schema_url = cp_str(&b, rs->schema_url);
    r->scope = ss->scope;
    r->scope.name = cp_str(&b, ss->scope.name);
    r->scope.version = cp_str(&b, ss->scope.version);
    r->scope.attrs = cp_attrs(&b, ss->scope.attrs);
    r->scope_schema_url = cp_str(&b, ss->schema_url);
    ts->st.bytes_held += size;
    return r;
}

static void cp_held(bump *b, heldspan *dst, const lt_span *s)
{
    heldspan h = {0};
    cp_span(b, dst ? &h.span : NULL, s);
    if (s->genai) {
        uint32_t n = 0;
        for (int f = 0; f < GA_N_FIELDS; f++)
            if (s->genai->v[f].type != LT_VAL_EMPTY) {
                h.gmask |= 1ull << f;
                n++;
            }
        h.gv = n ? take(b, n * sizeof(lt_value)) : NULL;
        n = 0;
        for (int f = 0; f < GA_N_FIELDS; f++)
            if (h.gmask >> f & 1) {
                cp_value(b, h.gv ? &h.gv[n] : NULL, &s->genai->v[f]);
                n++;
            }
    }
    if (dst) {
        h.bytes = b->used;
        *dst = h;
    }
}

static heldspan *copy_span(const lt_span *s)
{
    bump b = {0};
    take(&b, sizeof(heldspan));
    cp_held(&b, NULL, s);
    size_t size = b.used;
    char *base = lt_malloc(size);
    if (!base) return NULL;
    b = (bump){.base = base};
    heldspan *h = take(&b, sizeof(heldspan));
    cp_held(&b, h, s);
    h->bytes = size;
    return h;
}

static void append(tailsamp *ts, trace *t, heldspan *h, rsblob *rs)
{
    h->rs = rs;
    rs->refs++;
    h->next = NULL;
    if (t->tail)
        t->tail->next = h;
    else
        t->head = h;
    t->tail = h;
    t->n_spans++;
    t->bytes += h->bytes;
    if (t->state == T_PENDING) ts->st.bytes_pending += h->bytes;
    ts->st.spans_held++;
    ts->st.bytes_held += h->bytes;
}

/* Takes back a trace just created when its first span could not be copied. */
static void drop_empty(tailsamp *ts, trace *t)
{
    if (!t || t->head) return;
    tl_remove(t->state == T_PENDING ? &ts->pending : &ts->ready, t);
    free_trace(ts, t);
}

int tailsamp_consume(tailsamp *ts, const lt_trace_batch *b, uint64_t now_ns)
{
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++) {
            const lt_scope_spans *ss = &b->rs[i].scopes[j];
            rsblob *rs = NULL;
            trace *t = NULL;
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                const lt_span *s = &ss->spans[k];
                bool late = false;
                t = find_trace(ts, s->trace_id);
                if (!t) {
                    if (ic_has(&ts->kept_ids, s->trace_id)) {
                        t = new_trace(ts, s->trace_id, now_ns, T_READY);
                        if (!t) goto oom;
                        late = true;
                    } else if (ic_has(&ts->dropped_ids, s->trace_id)) {
                        ts->st.late_spans_dropped++;
                        ts->st.spans_dropped++;
                        continue;
                    } else {
                        /* full: the oldest is decided early rather than dropped undecided */
                        while (ts->pending.n >= ts->num_traces) {
                            ts->st.decided_early++;
                            decide(ts, ts->pending.head, now_ns);
                        }
                        t = new_trace(ts, s->trace_id, now_ns, T_PENDING);
                        if (!t) goto oom;
                    }
                } else if (t->state == T_READY) {
                    late = true; /* a kept trace not emitted yet */
                }
                if (!rs && !(rs = copy_rs(ts, &b->rs[i], ss))) goto oom;
                heldspan *h = copy_span(s);
                if (!h) goto oom;
                append(ts, t, h, rs);
                if (late) {
                    ts->st.late_spans_kept++;
                    ts->st.spans_kept++;
                }
                /* only undecided data counts: deciding a kept trace early frees nothing
                 * until the tick emits it */
                while (ts->max_bytes && ts->st.bytes_pending > ts->max_bytes && ts->pending.head) {
                    ts->st.decided_early++;
                    decide(ts, ts->pending.head, now_ns);
                }
            }
            if (rs) rs_release(ts, rs);
            continue;
        oom:
            drop_empty(ts, t);
            if (rs) rs_release(ts, rs);
            return LT_ENOMEM;
        }
    return 0;
}

/* Builds the batch of a kept trace in a new arena: one resource_spans per run of spans
 * that came from the same scope_spans. */
static int build_batch(const trace *t, lt_arena **out_a, lt_trace_batch **out_b)
{
    lt_arena *a = arena_new();
    if (!a) return LT_ENOMEM;
    uint32_t runs = 0;
    const rsblob *last = NULL;
    for (const heldspan *h = t->head; h; h = h->next) {
        if (h->rs != last) runs++;
        last = h->rs;
    }
    bump b = {.arena = a};
    lt_trace_batch *tb = take(&b, sizeof *tb);
    lt_resource_spans *rsa = runs ? take(&b, runs * sizeof(lt_resource_spans)) : NULL;
    if (b.oom) goto oom;
    memset(tb, 0, sizeof *tb);
    tb->rs = rsa;
    tb->n_rs = runs;
    tb->n_spans = t->n_spans;
    const heldspan *h = t->head;
    for (uint32_t r = 0; r < runs; r++) {
        const rsblob *src = h->rs;
        uint32_t n = 0;
        for (const heldspan *x = h; x && x->rs == src; x = x->next)
            n++;
        lt_resource_spans *o = &rsa[r];
        memset(o, 0, sizeof *o);
        o->resource = src->resource;
        o->resource.attrs = cp_attrs(&b, src->resource.attrs);
        o->schema_url = cp_str(&b, src->rs_schema_url);
        lt_scope_spans *sc = take(&b, sizeof *sc);
        lt_span *spans = take(&b, n * sizeof(lt_span));
        if (b.oom) goto oom;
        memset(sc, 0, sizeof *sc);
        sc->scope = src->scope;
        sc->scope.name = cp_str(&b, src->scope.name);
        sc->scope.version = cp_str(&b, src->scope.version);
        sc->scope.attrs = cp_attrs(&b, src->scope.attrs);
        sc->schema_url = cp_str(&b, src->scope_schema_url);
        sc->spans = spans;
        sc->n_spans = n;
        o->scopes = sc;
        o->n_scopes = 1;
        for (uint32_t k = 0; k < n; k++, h = h->next) {
            cp_span(&b, &spans[k], &h->span);
            if (h->gmask) {
                lt_genai *g = take(&b, sizeof *g);
                if (!g) goto oom;
                memset(g, 0, sizeof *g);
                uint32_t m = 0;
                for (int f = 0; f < GA_N_FIELDS; f++)
                    if (h->gmask >> f & 1) cp_value(&b, &g->v[f], &h->gv[m++]);
                spans[k].genai = g;
            }
        }
        if (b.oom) goto oom;
    }
    *out_a = a;
    *out_b = tb;
    return 0;
oom:
    arena_free(a);
    return LT_ENOMEM;
}

static int emit_ready(tailsamp *ts, tailsamp_emit_fn emit, void *arg)
{
    while (ts->ready.head) {
        trace *t = ts->ready.head;
        lt_arena *a;
        lt_trace_batch *tb;
        int rc = build_batch(t, &a, &tb);
        if (rc) return rc;
        tl_remove(&ts->ready, t);
        free_trace(ts, t);
        if ((rc = emit(tb, a, arg))) return rc;
    }
    return 0;
}

int tailsamp_tick(tailsamp *ts, uint64_t now_ns, tailsamp_emit_fn emit, void *arg)
{
    while (ts->pending.head && now_ns >= ts->pending.head->first_ns &&
           now_ns - ts->pending.head->first_ns >= ts->decision_wait_ns)
        decide(ts, ts->pending.head, now_ns);
    return emit_ready(ts, emit, arg);
}

int tailsamp_flush(tailsamp *ts, uint64_t now_ns, tailsamp_emit_fn emit, void *arg)
{
    while (ts->pending.head)
        decide(ts, ts->pending.head, now_ns);
    return emit_ready(ts, emit, arg);
}

void tailsamp_get_stats(const tailsamp *ts, tailsamp_stats *out)
{
    *out = ts->st;
}

size_t tailsamp_policy_count(const tailsamp *ts)
{
    return ts->n_policies;
}

void tailsamp_policy_stat(const tailsamp *ts, size_t i, tailsamp_policy_stats *out)
{
    const policy *p = &ts->policies[i];
    *out = (tailsamp_policy_stats){p->name, type_names[p->type], p->n_sampled, p->n_not};
}

void tailsamp_free(tailsamp *ts)
{
    if (!ts) return;
    tlist *lists[2] = {&ts->pending, &ts->ready};
    for (int l = 0; l < 2; l++)
        while (lists[l]->head) {
            trace *t = lists[l]->head;
            tl_remove(lists[l], t);
            free_trace(ts, t);
        }
    for (size_t i = 0; i < ts->n_policies; i++)
        policy_fini(&ts->policies[i]);
    lt_free(ts->policies);
    lt_free(ts->buckets);
    ic_free(&ts->kept_ids);
    ic_free(&ts->dropped_ids);
    lt_free(ts);
}
