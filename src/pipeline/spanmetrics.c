/* spanmetrics.c — the spanmetrics connector (contract in spanmetrics.h).
 *
 * Design: two groups of series, each a chained hash table keyed by the serialized label
 * values of one span (one byte "present", a 4-byte length and the bytes, per label slot).
 * The calls/duration group has a slot per default dimension that is not excluded, then one
 * per configured dimension; the GenAI group has service.name, the operation, provider and
 * both models, then the configured dimensions it does not have yet. An entry holds every
 * value of its group, so one lookup per span and group updates all of its metrics. Label
 * names and values are rebuilt from the key only when a snapshot is taken, which is rare
 * next to consume. Past the cardinality limit a new key goes to the group's one overflow
 * entry. */
#include "pipeline/spanmetrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"

/* ---- names ---- */

enum { B_SERVICE, B_SPAN_NAME, B_SPAN_KIND, B_STATUS, B_N };
static const char *const builtin_names[B_N] = {"service.name", "span.name", "span.kind",
                                               "status.code"};

/* The GenAI group's own labels after service.name (view fields). */
static const int genai_label_fields[] = {GA_OPERATION, GA_PROVIDER, GA_REQUEST_MODEL,
                                         GA_RESPONSE_MODEL};
#define N_GENAI_LABELS (sizeof genai_label_fields / sizeof genai_label_fields[0])

/* Deprecated semconv names that the view reads into a field (docs/genai.md, rank 2x of
 * the otel table). Kept here because the pipeline sits below genai/ and may not read its
 * tables; test_spanmetrics checks this list against genai's. */
static const struct {
    const char *name;
    int field;
} genai_aliases[] = {
    {"gen_ai.system", GA_PROVIDER},
    {"gen_ai.usage.prompt_tokens", GA_INPUT_TOKENS},
    {"gen_ai.usage.completion_tokens", GA_OUTPUT_TOKENS},
    {"gen_ai.usage.cache_write.input_tokens", GA_CACHE_CREATION},
    {"gen_ai.openai.request.seed", GA_SEED},
};

int spanmetrics_genai_field(const char *name)
{
    for (int f = 0; f < GA_N_FIELDS; f++)
        if (!strcmp(model_genai_fields[f].key, name)) return f;
    for (size_t i = 0; i < sizeof genai_aliases / sizeof genai_aliases[0]; i++)
        if (!strcmp(genai_aliases[i].name, name)) return genai_aliases[i].field;
    return -1;
}

/* The collector's default duration buckets, in milliseconds. */
static const double default_buckets_ms[] = {2,   4,   6,    8,    10,   50,   100,   200,
                                            400, 800, 1000, 1400, 2000, 5000, 10000, 15000};
/* Time to first token, seconds: the bucket boundaries semconv advises for
 * gen_ai.server.time_to_first_token. */
static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                     0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
#define N_TTFT (sizeof ttft_bounds / sizeof ttft_bounds[0])

/* GenAI counters: the field summed, the metric name after the namespace, unit, help. */
enum { GC_INPUT, GC_OUTPUT, GC_CACHE_READ, GC_REASONING, GC_COST, GC_N, GH_TTFT = GC_N };
static const struct {
    int field;
    const char *name, *unit, *help;
} genai_counters[GC_N] = {
    {GA_INPUT_TOKENS, "gen_ai.usage.input_tokens", "{token}",
     "Input tokens of GenAI calls (cached ones included)."},
    {GA_OUTPUT_TOKENS, "gen_ai.usage.output_tokens", "{token}",
     "Output tokens of GenAI calls (reasoning ones included)."},
    {GA_CACHE_READ, "gen_ai.usage.cache_read.input_tokens", "{token}",
     "Input tokens of GenAI calls read from the provider's cache."},
    {GA_REASONING, "gen_ai.usage.reasoning.output_tokens", "{token}",
     "Output tokens of GenAI calls spent on reasoning."},
    {GA_COST, "gen_ai.usage.cost", "USD", "Cost of GenAI calls in US dollars."},
};

/* ---- state ---- */

typedef enum { SRC_BUILTIN, SRC_FIELD, SRC_DIM } src_kind;

typedef struct {
    src_kind kind;
    int idx; /* builtin, field or dimension index */
    const char *name;
} slot;

typedef struct {
    char *name;
    char *def; /* default value, or NULL: no label when absent */
    size_t name_len;
    int field;   /* GenAI field it names, or -1 */
    int builtin; /* default dimension it names, or -1 */
} dimension;

typedef struct entry entry;
struct entry {
    entry *next;
    uint64_t hash;
    uint8_t *key;
    size_t key_len;
    /* calls/duration */
    uint64_t calls;
    double dur_sum;
    uint64_t *dur_counts;
    /* GenAI */
    uint32_t seen; /* bit i: genai_counters[i] observed; bit GH_TTFT: a ttft */
    double gsum[GC_N];
    uint64_t ttft_count;
    double ttft_sum;
    uint64_t ttft_counts[N_TTFT + 1];
};

typedef struct {
    slot slots[B_N + N_GENAI_LABELS + SPANMETRICS_MAX_DIMENSIONS];
    uint32_t n_slots;
    entry **table;
    size_t n_table; /* a power of two */
    size_t n;       /* entries in table */
    size_t bytes;   /* what they take, about */
    entry *overflow;
} group;

struct spanmetrics {
    pthread_mutex_t mu;
    char *namespace_;
    dimension dims[SPANMETRICS_MAX_DIMENSIONS];
    uint32_t n_dims;
    bool excluded[B_N];
    bool histogram_disabled;
    bool seconds; /* histogram unit s, else ms */
    double bounds[SPANMETRICS_MAX_BUCKETS];
    uint32_t n_bounds;
    uint64_t flush_ns;
    size_t limit;
    uint64_t start_ns;
    group spans, genai;
    lt_buf key; /* scratch, under mu */
    lt_buf tmp; /* scratch for JSON values, under mu */
};

/* ---- configuration ---- */

typedef struct {
    const char *file, *where;
    char *err;
    size_t errlen;
} ctx;

__attribute__((format(printf, 4, 5))) static int conf_err(const ctx *c, const cfg_node *at,
                                                          const char *opt, const char *fmt, ...)
{
    if (!c->err || !c->errlen) return LT_EINVAL;
    int n = 0;
    if (c->file) n = snprintf(c->err, c->errlen, "%s:", c->file);
    if (n < 0 || (size_t)n >= c->errlen) return LT_EINVAL;
    int m = at ? snprintf(c->err + n, c->errlen - (size_t)n, "%u:%u: ", at->line, at->column) : 0;
    if (m < 0 || (size_t)(n + m) >= c->errlen) return LT_EINVAL;
    n += m;
    m = snprintf(c->err + n, c->errlen - (size_t)n, "%s%s%s: ", c->where ? c->where : "spanmetrics",
                 opt ? "." : "", opt ? opt : "");
    if (m < 0 || (size_t)(n + m) >= c->errlen) return LT_EINVAL;
    n += m;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return LT_EINVAL;
}

const cfg_option spanmetrics_options[] = {
    {"namespace", CFG_OPT_STRING, "prefix of the metric names (default traces.span.metrics)"},
    {"dimensions", CFG_OPT_LIST, "extra dimensions: a list of {name, default}"},
    {"exclude_dimensions", CFG_OPT_LIST, "default dimensions to leave out"},
    {"histogram", CFG_OPT_MAP, "duration histogram: unit (ms, s), explicit.buckets, disable"},
    {"metrics_flush_interval", CFG_OPT_DURATION, "how often exporters send (default 15s)"},
    {"aggregation_cardinality_limit", CFG_OPT_INT, "label sets per group before the overflow"},
    {"dimensions_cache_size", CFG_OPT_INT, "deprecated name of the cardinality limit"},
    {"aggregation_temporality", CFG_OPT_STRING, "AGGREGATION_TEMPORALITY_CUMULATIVE only"},
    {NULL, 0, NULL},
};

static bool is_scalar(const cfg_node *n)
{
    return n && n->kind == CFG_SCALAR;
}

static int get_string(const ctx *c, const cfg_node *n, const char *opt, const char **out)
{
    if (!is_scalar(n)) return conf_err(c, n, opt, "expected a string");
    *out = n->scalar;
    return 0;
}

static int get_int(const ctx *c, const cfg_node *n, const char *opt, int64_t *out)
{
    if (!is_scalar(n) || n->quoted) return conf_err(c, n, opt, "expected an integer");
    errno = 0;
    char *end;
    long long v = strtoll(n->scalar, &end, 10);
    if (errno || end == n->scalar || *end) return conf_err(c, n, opt, "expected an integer");
    *out = v;
    return 0;
}

/* A Go duration ("15s", "1m30s", "1.5ms", "100us"; "0" alone), as the collector's
 * mapstructure hook reads it. */
static int go_duration(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    if (!strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    double total = 0;
    if (!*s) return LT_EINVAL;
    while (*s) {
        char *end;
        if (!((*s >= '0' && *s <= '9') || *s == '.')) return LT_EINVAL;
        double v = strtod(s, &end);
        if (end == s) return LT_EINVAL;
        s = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (!strncmp(s, units[i].unit, l) && l > best_len) best = i, best_len = l;
        }
        if (!best_len) return LT_EINVAL;
        total += v * units[best].ns;
        s += best_len;
    }
    if (!(total >= 0 && total < 1.8e19)) return LT_EINVAL;
    *out = (uint64_t)total;
    return 0;
}

static int get_duration(const ctx *c, const cfg_node *n, const char *opt, uint64_t *out)
{
    if (!is_scalar(n) || go_duration(n->scalar, out))
        return conf_err(c, n, opt, "expected a duration such as 15s, 500ms or 1m30s");
    return 0;
}

static int builtin_of(const char *name)
{
    for (int b = 0; b < B_N; b++)
        if (!strcmp(builtin_names[b], name)) return b;
    return -1;
}

static int read_dimensions(spanmetrics *sm, const ctx *c, const cfg_node *n)
{
    if (n->kind == CFG_NULL) return 0;
    if (n->kind != CFG_SEQ)
        return conf_err(c, n, "dimensions", "expected a list of {name, default}");
    for (size_t i = 0; i < n->n; i++) {
        const cfg_node *it = n->items[i];
        if (it->kind != CFG_MAP) return conf_err(c, it, "dimensions", "expected {name, default}");
        const char *name = NULL, *def = NULL;
        for (size_t k = 0; k < it->n; k++) {
            const cfg_node *v = it->items[k];
            if (!strcmp(v->key, "name")) {
                if (get_string(c, v, "dimensions.name", &name)) return LT_EINVAL;
            } else if (!strcmp(v->key, "default")) {
                if (get_string(c, v, "dimensions.default", &def)) return LT_EINVAL;
            } else {
                return conf_err(c, v, "dimensions", "unknown option '%s' (options: name, default)",
                                v->key);
            }
        }
        if (!name || !*name) return conf_err(c, it, "dimensions", "a dimension needs a name");
        for (uint32_t d = 0; d < sm->n_dims; d++)
            if (!strcmp(sm->dims[d].name, name))
                return conf_err(c, it, "dimensions", "duplicate dimension name %s", name);
        if (sm->n_dims == SPANMETRICS_MAX_DIMENSIONS)
            return conf_err(c, it, "dimensions", "more than %d dimensions",
                            SPANMETRICS_MAX_DIMENSIONS);
        dimension *d = &sm->dims[sm->n_dims];
        d->name = lt_strndup(name, strlen(name));
        d->def = def ? lt_strndup(def, strlen(def)) : NULL;
        if (!d->name || (def && !d->def)) {
            lt_free(d->name);
            lt_free(d->def);
            return LT_ENOMEM;
        }
        d->name_len = strlen(name);
        d->field = spanmetrics_genai_field(name);
        d->builtin = builtin_of(name);
        sm->n_dims++;
    }
    return 0;
}

static int read_histogram(spanmetrics *sm, const ctx *c, const cfg_node *n)
{
    if (n->kind != CFG_NULL && n->kind != CFG_MAP)
        return conf_err(c, n, "histogram", "expected a map");
    const cfg_node *buckets = NULL;
    for (size_t k = 0; k < n->n; k++) {
        const cfg_node *v = n->items[k];
        if (!strcmp(v->key, "unit")) {
            if (!is_scalar(v) || (strcmp(v->scalar, "ms") && strcmp(v->scalar, "s")))
                return conf_err(c, v, "histogram.unit", "expected ms or s");
            sm->seconds = !strcmp(v->scalar, "s");
        } else if (!strcmp(v->key, "disable")) {
            if (!is_scalar(v) || (strcmp(v->scalar, "true") && strcmp(v->scalar, "false")))
                return conf_err(c, v, "histogram.disable", "expected true or false");
            sm->histogram_disabled = !strcmp(v->scalar, "true");
        } else if (!strcmp(v->key, "explicit")) {
            if (v->kind == CFG_NULL) continue;
            if (v->kind != CFG_MAP) return conf_err(c, v, "histogram.explicit", "expected a map");
            for (size_t j = 0; j < v->n; j++) {
                if (strcmp(v->items[j]->key, "buckets"))
                    return conf_err(c, v->items[j], "histogram.explicit",
                                    "unknown option '%s' (options: buckets)", v->items[j]->key);
                buckets = v->items[j];
            }
        } else if (!strcmp(v->key, "exponential")) {
            return conf_err(c, v, "histogram.exponential",
                            "exponential histograms are not supported (use explicit)");
        } else {
            return conf_err(c, v, "histogram",
                            "unknown option '%s' (options: unit, explicit, disable)", v->key);
        }
    }
    double div = sm->seconds ? 1e9 : 1e6;
    if (!buckets) {
        sm->n_bounds = sizeof default_buckets_ms / sizeof default_buckets_ms[0];
        for (uint32_t i = 0; i < sm->n_bounds; i++)
            sm->bounds[i] = sm->seconds ? default_buckets_ms[i] / 1000 : default_buckets_ms[i];
        return 0;
    }
    if (buckets->kind != CFG_SEQ || buckets->n == 0)
        return conf_err(c, buckets, "histogram.explicit.buckets", "expected a list of durations");
    if (buckets->n > SPANMETRICS_MAX_BUCKETS)
        return conf_err(c, buckets, "histogram.explicit.buckets", "more than %d buckets",
                        SPANMETRICS_MAX_BUCKETS);
    for (size_t i = 0; i < buckets->n; i++) {
        uint64_t ns;
        if (get_duration(c, buckets->items[i], "histogram.explicit.buckets", &ns)) return LT_EINVAL;
        sm->bounds[i] = (double)ns / div;
        if (i && !(sm->bounds[i] > sm->bounds[i - 1]))
            return conf_err(c, buckets->items[i], "histogram.explicit.buckets",
                            "buckets must be in increasing order");
    }
    sm->n_bounds = (uint32_t)buckets->n;
    return 0;
}

static int read_config(spanmetrics *sm, const ctx *c, const cfg_node *conf)
{
    const char *ns = "traces.span.metrics";
    int64_t limit = 0, cache = 0;
    const cfg_node *hist = NULL;
    if (conf && conf->kind != CFG_NULL && conf->kind != CFG_MAP)
        return conf_err(c, conf, NULL, "expected a map of options");
    for (size_t k = 0; conf && conf->kind == CFG_MAP && k < conf->n; k++) {
        const cfg_node *v = conf->items[k];
        const char *key = v->key;
        int rc = 0;
        if (!strcmp(key, "namespace")) {
            rc = v->kind == CFG_NULL ? (ns = "", 0) : get_string(c, v, key, &ns);
        } else if (!strcmp(key, "dimensions")) {
            rc = read_dimensions(sm, c, v);
        } else if (!strcmp(key, "exclude_dimensions")) {
            if (v->kind == CFG_NULL) continue;
            if (v->kind != CFG_SEQ) return conf_err(c, v, key, "expected a list of names");
            for (size_t i = 0; i < v->n; i++) {
                const char *name = NULL;
                if (get_string(c, v->items[i], key, &name)) return LT_EINVAL;
                int b = builtin_of(name);
                if (b < 0)
                    return conf_err(c, v->items[i], key,
                                    "'%s' is not a default dimension (service.name, span.name, "
                                    "span.kind, status.code)",
                                    name);
                sm->excluded[b] = true;
            }
        } else if (!strcmp(key, "histogram")) {
            hist = v;
        } else if (!strcmp(key, "metrics_flush_interval")) {
            rc = get_duration(c, v, key, &sm->flush_ns);
            if (!rc && sm->flush_ns == 0) return conf_err(c, v, key, "must be more than 0");
        } else if (!strcmp(key, "aggregation_cardinality_limit") ||
                   !strcmp(key, "dimensions_cache_size")) {
            int64_t *dst = key[0] == 'a' ? &limit : &cache;
            rc = get_int(c, v, key, dst);
            if (!rc && *dst < 0) return conf_err(c, v, key, "must be 0 or more");
        } else if (!strcmp(key, "aggregation_temporality")) {
            if (!is_scalar(v) || strcmp(v->scalar, "AGGREGATION_TEMPORALITY_CUMULATIVE"))
                return conf_err(c, v, key, "only AGGREGATION_TEMPORALITY_CUMULATIVE is supported");
        } else {
            char known[512];
            size_t o = 0;
            for (const cfg_option *op = spanmetrics_options; op->name && o < sizeof known; op++)
                o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", o ? ", " : "", op->name);
            return conf_err(c, v, NULL, "unknown option '%s' (options: %s)", key, known);
        }
        if (rc) return rc;
    }
    /* a deprecated name still counts, but the current one wins */
    sm->limit = limit > 0   ? (size_t)limit
                : cache > 0 ? (size_t)cache
                            : (size_t)SPANMETRICS_DEFAULT_LIMIT;
    sm->namespace_ = lt_strndup(ns, strlen(ns));
    if (!sm->namespace_) return LT_ENOMEM;
    static const cfg_node empty = {.kind = CFG_NULL, .scalar = ""};
    return read_histogram(sm, c, hist ? hist : &empty);
}

/* Two labels that Prometheus would name alike ("a.b" and "a_b") would collide there. */
static bool same_prom_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a == '.' || *a == '-' || *a == '/') ? '_' : *a;
        char y = (*b == '.' || *b == '-' || *b == '/') ? '_' : *b;
        if (x != y) return false;
    }
    return *a == *b;
}

static int add_slot(group *g, src_kind kind, int idx, const char *name)
{
    for (uint32_t i = 0; i < g->n_slots; i++)
        if (same_prom_name(g->slots[i].name, name)) return LT_EINVAL;
    g->slots[g->n_slots++] = (slot){kind, idx, name};
    return 0;
}

static int build_slots(spanmetrics *sm, const ctx *c)
{
    for (int b = 0; b < B_N; b++)
        if (!sm->excluded[b]) add_slot(&sm->spans, SRC_BUILTIN, b, builtin_names[b]);
    if (!sm->excluded[B_SERVICE])
        add_slot(&sm->genai, SRC_BUILTIN, B_SERVICE, builtin_names[B_SERVICE]);
    for (size_t i = 0; i < N_GENAI_LABELS; i++)
        add_slot(&sm->genai, SRC_FIELD, genai_label_fields[i],
                 model_genai_fields[genai_label_fields[i]].key);
    for (uint32_t d = 0; d < sm->n_dims; d++) {
        const dimension *dm = &sm->dims[d];
        /* A default dimension named again (the seed config lists span.name) is that
         * dimension: the collector refuses the config, we keep one label. In the GenAI
         * group it adds the default dimension's label. */
        if (dm->builtin >= 0) {
            if (dm->builtin != B_SERVICE && !sm->excluded[dm->builtin])
                add_slot(&sm->genai, SRC_BUILTIN, dm->builtin, builtin_names[dm->builtin]);
            continue;
        }
        bool have = false;
        for (uint32_t i = 0; i < sm->genai.n_slots; i++)
            if (!strcmp(sm->genai.slots[i].name, dm->name)) have = true;
        if (add_slot(&sm->spans, SRC_DIM, (int)d, dm->name) ||
            (!have && add_slot(&sm->genai, SRC_DIM, (int)d, dm->name)))
            return conf_err(c, NULL, "dimensions",
                            "dimension %s has the Prometheus name of another label", dm->name);
    }
    return 0;
}

int spanmetrics_create(const cfg_node *conf, const char *file, const char *where, spanmetrics **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    ctx c = {file, where, err, errlen};
    spanmetrics *sm = lt_calloc(1, sizeof *sm);
    if (!sm) return LT_ENOMEM;
    sm->flush_ns = 15000000000ull;
    int rc = read_config(sm, &c, conf);
    if (!rc) rc = build_slots(sm, &c);
    if (!rc && pthread_mutex_init(&sm->mu, NULL)) rc = LT_ENOMEM;
    if (rc) {
        for (uint32_t d = 0; d < sm->n_dims; d++) {
            lt_free(sm->dims[d].name);
            lt_free(sm->dims[d].def);
        }
        lt_free(sm->namespace_);
        lt_free(sm);
        return rc;
    }
    sm->start_ns = time_now_ns();
    *out = sm;
    return 0;
}

static void group_free(group *g)
{
    for (size_t i = 0; i < g->n_table; i++)
        for (entry *e = g->table[i], *nx; e; e = nx) {
            nx = e->next;
            lt_free(e->key);
            lt_free(e->dur_counts);
            lt_free(e);
        }
    lt_free(g->table);
    if (g->overflow) {
        lt_free(g->overflow->dur_counts);
        lt_free(g->overflow);
    }
}

void spanmetrics_free(spanmetrics *sm)
{
    if (!sm) return;
    group_free(&sm->spans);
    group_free(&sm->genai);
    for (uint32_t d = 0; d < sm->n_dims; d++) {
        lt_free(sm->dims[d].name);
        lt_free(sm->dims[d].def);
    }
    lt_free(sm->namespace_);
    buf_free(&sm->key);
    buf_free(&sm->tmp);
    pthread_mutex_destroy(&sm->mu);
    lt_free(sm);
}

uint64_t spanmetrics_flush_interval_ns(const spanmetrics *sm)
{
    return sm->flush_ns;
}

/* ---- consume ---- */

static const char *kind_str(uint32_t k)
{
    static const char *const kinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    return k < 6 ? kinds[k] : kinds[0];
}

static const char *status_str(uint32_t s)
{
    return s == LT_STATUS_OK      ? "STATUS_CODE_OK"
           : s == LT_STATUS_ERROR ? "STATUS_CODE_ERROR"
                                  : "STATUS_CODE_UNSET";
}

/* Shortest text that reads back as the same double. */
static int fmt_double(char *out, size_t n, double v)
{
    int len = 0;
    for (int p = 1; p <= 17; p++) {
        len = snprintf(out, n, "%.*g", p, v);
        if (strtod(out, NULL) == v) break;
    }
    return len;
}

/* Appends one slot: present byte, length, value (cut at SPANMETRICS_MAX_VALUE bytes, on a
 * UTF-8 boundary). */
static void key_put(lt_buf *k, const char *p, size_t n)
{
    if (n > SPANMETRICS_MAX_VALUE) {
        n = SPANMETRICS_MAX_VALUE;
        while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
            n--;
    }
    uint8_t hdr[5] = {1, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    buf_append(k, hdr, 5);
    buf_append(k, p, n);
}

static void key_value(spanmetrics *sm, const lt_value *v)
{
    char num[40];
    switch (v->type) {
    case LT_VAL_STRING:
        key_put(&sm->key, v->u.s.ptr, v->u.s.len);
        return;
    case LT_VAL_BOOL:
        key_put(&sm->key, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
        return;
    case LT_VAL_INT:
        key_put(&sm->key, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)v->u.i));
        return;
    case LT_VAL_DOUBLE:
        key_put(&sm->key, num, (size_t)fmt_double(num, sizeof num, v->u.d));
        return;
    default: /* bytes, arrays and maps as JSON, as the collector's AsString does */
        sm->tmp.len = 0;
        model_value_json(&sm->tmp, v);
        if (sm->tmp.oom) {
            sm->key.oom = true;
            return;
        }
        key_put(&sm->key, sm->tmp.data, sm->tmp.len);
    }
}

static void key_absent(lt_buf *k)
{
    buf_putc(k, 0);
}

static void key_builtin(spanmetrics *sm, int b, const lt_span *s, const lt_resource *r)
{
    const char *c;
    switch (b) {
    case B_SERVICE: {
        lt_str v = model_service_name(r);
        key_put(&sm->key, v.ptr, v.len);
        return;
    }
    case B_SPAN_NAME:
        key_put(&sm->key, s->name.ptr, s->name.len);
        return;
    case B_SPAN_KIND:
        c = kind_str(s->kind);
        break;
    default:
        c = status_str(s->status_code);
    }
    key_put(&sm->key, c, strlen(c));
}

static void key_dim(spanmetrics *sm, const dimension *d, const lt_span *s, const lt_resource *r)
{
    /* GenAI keys through the view: canonical, whichever name the sender used */
    if (d->field >= 0 && s->genai && s->genai->v[d->field].type != LT_VAL_EMPTY) {
        key_value(sm, &s->genai->v[d->field]);
        return;
    }
    lt_str name = {d->name, d->name_len};
    const lt_value *v = model_attr_get(&s->attrs, name);
    if (!v || v->type == LT_VAL_EMPTY) v = model_attr_get(&r->attrs, name);
    if (v && v->type != LT_VAL_EMPTY)
        key_value(sm, v);
    else if (d->def)
        key_put(&sm->key, d->def, strlen(d->def));
    else
        key_absent(&sm->key);
}

static void build_key(spanmetrics *sm, const group *g, const lt_span *s, const lt_resource *r)
{
    sm->key.len = 0;
    sm->key.oom = false;
    for (uint32_t i = 0; i < g->n_slots; i++) {
        const slot *sl = &g->slots[i];
        if (sl->kind == SRC_BUILTIN) {
            key_builtin(sm, sl->idx, s, r);
        } else if (sl->kind == SRC_FIELD) {
            if (s->genai && s->genai->v[sl->idx].type != LT_VAL_EMPTY)
                key_value(sm, &s->genai->v[sl->idx]);
            else
                key_absent(&sm->key);
        } else {
            key_dim(sm, &sm->dims[sl->idx], s, r);
        }
    }
}

static entry *new_entry(const spanmetrics *sm, const group *g, bool with_key)
{
    entry *e = lt_calloc(1, sizeof *e);
    if (!e) return NULL;
    if (g == &sm->spans && !(e->dur_counts = lt_calloc(sm->n_bounds + 1, sizeof(uint64_t)))) {
        lt_free(e);
        return NULL;
    }
    if (with_key) {
        e->key_len = sm->key.len;
        if (!(e->key = lt_malloc(e->key_len ? e->key_len : 1))) {
            lt_free(e->dur_counts);
            lt_free(e);
            return NULL;
        }
        memcpy(e->key, sm->key.data, e->key_len);
    }
    return e;
}

static int grow(group *g)
{
    size_t n = g->n_table ? g->n_table * 2 : 64;
    entry **t = lt_calloc(n, sizeof *t);
    if (!t) return LT_ENOMEM;
    for (size_t i = 0; i < g->n_table; i++)
        for (entry *e = g->table[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = t[e->hash & (n - 1)];
            t[e->hash & (n - 1)] = e;
        }
    lt_free(g->table);
    g->table = t;
    g->n_table = n;
    return 0;
}

/* The entry for the key in sm->key: found, new, or the overflow entry past the limit. */
static entry *lookup(spanmetrics *sm, group *g)
{
    if (sm->key.oom) return NULL;
    uint64_t h = hash64(sm->key.data, sm->key.len, 0);
    if (g->n_table)
        for (entry *e = g->table[h & (g->n_table - 1)]; e; e = e->next)
            if (e->hash == h && e->key_len == sm->key.len &&
                !memcmp(e->key, sm->key.data, e->key_len))
                return e;
    size_t cost = sizeof(entry) + sm->key.len + (sm->n_bounds + 1) * sizeof(uint64_t);
    if (g->n >= sm->limit || g->bytes + cost > SPANMETRICS_MAX_GROUP_BYTES) {
        if (!g->overflow) g->overflow = new_entry(sm, g, false);
        return g->overflow;
    }
    if ((g->n + 1) * 4 > g->n_table * 3 && grow(g)) return NULL;
    entry *e = new_entry(sm, g, true);
    if (!e) return NULL;
    e->hash = h;
    e->next = g->table[h & (g->n_table - 1)];
    g->table[h & (g->n_table - 1)] = e;
    g->n++;
    g->bytes += cost;
    return e;
}

static size_t bucket_of(const double *bounds, size_t n, double v)
{
    size_t lo = 0, hi = n; /* first bound >= v: Prometheus buckets are (prev, le] */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bounds[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int consume_span(spanmetrics *sm, const lt_span *s, const lt_resource *r)
{
    build_key(sm, &sm->spans, s, r);
    entry *e = lookup(sm, &sm->spans);
    if (!e) return LT_ENOMEM;
    e->calls++;
    /* end before start counts as 0, as the collector does */
    uint64_t ns = s->end_time_unix_nano > s->start_time_unix_nano
                      ? s->end_time_unix_nano - s->start_time_unix_nano
                      : 0;
    double d = (double)ns / (sm->seconds ? 1e9 : 1e6);
    e->dur_sum += d;
    e->dur_counts[bucket_of(sm->bounds, sm->n_bounds, d)]++;

    const lt_genai *g = s->genai;
    if (!g) return 0;
    double add[GC_N] = {0};
    uint32_t seen = 0;
    for (int i = 0; i < GC_N; i++) {
        const lt_value *v = &g->v[genai_counters[i].field];
        if (v->type == LT_VAL_INT && v->u.i >= 0)
            add[i] = (double)v->u.i;
        else if (v->type == LT_VAL_DOUBLE && isfinite(v->u.d) && v->u.d >= 0)
            add[i] = v->u.d;
        else
            continue;
        seen |= 1u << i;
    }
    const lt_value *tt = &g->v[GA_TTFT];
    bool ttft = tt->type == LT_VAL_DOUBLE && isfinite(tt->u.d) && tt->u.d >= 0;
    if (ttft) seen |= 1u << GH_TTFT;
    if (!seen) return 0;
    build_key(sm, &sm->genai, s, r);
    e = lookup(sm, &sm->genai);
    if (!e) return LT_ENOMEM;
    e->seen |= seen;
    for (int i = 0; i < GC_N; i++)
        if (seen & (1u << i)) e->gsum[i] += add[i];
    if (ttft) {
        e->ttft_count++;
        e->ttft_sum += tt->u.d;
        e->ttft_counts[bucket_of(ttft_bounds, N_TTFT, tt->u.d)]++;
    }
    return 0;
}

int spanmetrics_consume(spanmetrics *sm, const lt_trace_batch *b)
{
    int rc = 0;
    pthread_mutex_lock(&sm->mu);
    for (uint32_t i = 0; i < b->n_rs && !rc; i++) {
        const lt_resource_spans *rs = &b->rs[i];
        for (uint32_t j = 0; j < rs->n_scopes && !rc; j++)
            for (uint32_t k = 0; k < rs->scopes[j].n_spans && !rc; k++)
                rc = consume_span(sm, &rs->scopes[j].spans[k], &rs->resource);
    }
    pthread_mutex_unlock(&sm->mu);
    return rc;
}

/* ---- snapshot ---- */

typedef struct {
    const entry *e;
    spanmetrics_label *labels;
    uint32_t n;
} row;

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const spanmetrics_label *)a)->name, ((const spanmetrics_label *)b)->name);
}

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    for (uint32_t i = 0; i < x->n && i < y->n; i++) {
        int c = strcmp(x->labels[i].name, y->labels[i].name);
        if (!c) c = strcmp(x->labels[i].value, y->labels[i].value);
        if (c) return c;
    }
    return (x->n > y->n) - (x->n < y->n);
}

/* Rows of a group, labels decoded from the keys, sorted; the overflow row last. */
static row *group_rows(lt_arena *a, const group *g, size_t *n_out)
{
    size_t n = g->n + (g->overflow != NULL);
    row *rows = arena_calloc(a, n ? n : 1, sizeof *rows);
    if (!rows) return NULL;
    size_t r = 0;
    for (size_t i = 0; i < g->n_table; i++)
        for (const entry *e = g->table[i]; e; e = e->next) {
            row *w = &rows[r++];
            w->e = e;
            w->labels = arena_calloc(a, g->n_slots ? g->n_slots : 1, sizeof *w->labels);
            if (!w->labels) return NULL;
            const uint8_t *p = e->key, *end = e->key + e->key_len;
            for (uint32_t s = 0; s < g->n_slots && p < end; s++) {
                if (!*p++) continue;
                size_t len =
                    (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
                p += 4;
                lt_str name = arena_strdup(a, lt_str_c(g->slots[s].name));
                lt_str val = arena_strdup(a, (lt_str){(const char *)p, len});
                if (!name.ptr || (len && !val.ptr)) return NULL;
                w->labels[w->n++] = (spanmetrics_label){name.ptr, val.ptr ? val.ptr : ""};
                p += len;
            }
            qsort(w->labels, w->n, sizeof *w->labels, cmp_label);
        }
    qsort(rows, r, sizeof *rows, cmp_row);
    if (g->overflow) {
        row *w = &rows[r++];
        w->e = g->overflow;
        w->labels = arena_alloc(a, sizeof *w->labels);
        if (!w->labels) return NULL;
        w->labels[0] = (spanmetrics_label){"otel.metric.overflow", "true"};
        w->n = 1;
    }
    *n_out = r;
    return rows;
}

static const char *metric_name(lt_arena *a, const char *ns, const char *name)
{
    lt_buf b = {0};
    if (*ns) buf_printf(&b, "%s.", ns);
    buf_append_c(&b, name);
    lt_str s = b.oom ? LT_STR_NULL : arena_strdup(a, (lt_str){b.data, b.len});
    buf_free(&b);
    return s.ptr;
}

static uint64_t *copy_counts(lt_arena *a, const uint64_t *c, size_t n)
{
    uint64_t *o = arena_alloc(a, n * sizeof *o);
    if (o) memcpy(o, c, n * sizeof *o);
    return o;
}

static int take(spanmetrics *sm, lt_arena *a, spanmetrics_snap *out)
{
    size_t n_span = 0, n_genai = 0;
    row *sr = group_rows(a, &sm->spans, &n_span);
    row *gr = group_rows(a, &sm->genai, &n_genai);
    spanmetrics_metric *m = arena_calloc(a, 2 + GC_N + 1, sizeof *m);
    if (!sr || !gr || !m) return LT_ENOMEM;
    uint32_t nm = 0;
    const char *ns = sm->namespace_;

    if (n_span) {
        spanmetrics_metric *calls = &m[nm++];
        *calls = (spanmetrics_metric){.name = metric_name(a, ns, "calls"),
                                      .unit = "",
                                      .help = "Number of spans, by span name, kind and status.",
                                      .type = SPANMETRICS_COUNTER};
        calls->points = arena_calloc(a, n_span, sizeof *calls->points);
        if (!calls->name || !calls->points) return LT_ENOMEM;
        for (size_t i = 0; i < n_span; i++)
            calls->points[calls->n_points++] = (spanmetrics_point){
                .labels = sr[i].labels, .n_labels = sr[i].n, .value = (double)sr[i].e->calls};
    }
    if (n_span && !sm->histogram_disabled) {
        spanmetrics_metric *dur = &m[nm++];
        *dur = (spanmetrics_metric){.name = metric_name(a, ns, "duration"),
                                    .unit = sm->seconds ? "s" : "ms",
                                    .help = "Duration of spans, by span name, kind and status.",
                                    .type = SPANMETRICS_HISTOGRAM,
                                    .n_bounds = sm->n_bounds};
        double *bounds = arena_alloc(a, sm->n_bounds * sizeof *bounds);
        dur->points = arena_calloc(a, n_span, sizeof *dur->points);
        if (!dur->name || !bounds || !dur->points) return LT_ENOMEM;
        memcpy(bounds, sm->bounds, sm->n_bounds * sizeof *bounds);
        dur->bounds = bounds;
        for (size_t i = 0; i < n_span; i++) {
            const entry *e = sr[i].e;
            spanmetrics_point *p = &dur->points[dur->n_points++];
            *p = (spanmetrics_point){.labels = sr[i].labels,
                                     .n_labels = sr[i].n,
                                     .count = e->calls,
                                     .sum = e->dur_sum,
                                     .counts = copy_counts(a, e->dur_counts, sm->n_bounds + 1)};
            if (!p->counts) return LT_ENOMEM;
        }
    }
    for (int c = 0; c <= GC_N; c++) {
        spanmetrics_metric *g = &m[nm];
        size_t np = 0;
        for (size_t i = 0; i < n_genai; i++)
            np += (gr[i].e->seen >> c) & 1;
        if (!np) continue;
        nm++;
        if (c < GC_N) {
            *g = (spanmetrics_metric){.name = metric_name(a, ns, genai_counters[c].name),
                                      .unit = genai_counters[c].unit,
                                      .help = genai_counters[c].help,
                                      .type = SPANMETRICS_COUNTER};
        } else {
            *g = (spanmetrics_metric){
                .name = metric_name(a, ns, "gen_ai.response.time_to_first_chunk"),
                .unit = "s",
                .help = "Time from the request to the first streamed chunk of GenAI calls.",
                .type = SPANMETRICS_HISTOGRAM,
                .bounds = ttft_bounds,
                .n_bounds = N_TTFT};
        }
        g->points = arena_calloc(a, np, sizeof *g->points);
        if (!g->name || !g->points) return LT_ENOMEM;
        for (size_t i = 0; i < n_genai; i++) {
            const entry *e = gr[i].e;
            if (!((e->seen >> c) & 1)) continue;
            spanmetrics_point *p = &g->points[g->n_points++];
            *p = (spanmetrics_point){.labels = gr[i].labels, .n_labels = gr[i].n};
            if (c < GC_N) {
                p->value = e->gsum[c];
            } else {
                p->count = e->ttft_count;
                p->sum = e->ttft_sum;
                if (!(p->counts = copy_counts(a, e->ttft_counts, N_TTFT + 1))) return LT_ENOMEM;
            }
        }
    }
    out->metrics = m;
    out->n_metrics = nm;
    return 0;
}

int spanmetrics_snapshot(spanmetrics *sm, spanmetrics_snap *out)
{
    memset(out, 0, sizeof *out);
    lt_arena *a = arena_new();
    if (!a) return LT_ENOMEM;
    pthread_mutex_lock(&sm->mu);
    int rc = take(sm, a, out);
    out->start_unix_nano = sm->start_ns;
    pthread_mutex_unlock(&sm->mu);
    out->time_unix_nano = time_now_ns();
    if (rc) {
        arena_free(a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->arena = a;
    return 0;
}

void spanmetrics_snapshot_free(spanmetrics_snap *s)
{
    if (!s) return;
    arena_free(s->arena);
    memset(s, 0, sizeof *s);
}
