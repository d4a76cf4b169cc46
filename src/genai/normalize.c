/* normalize.c — the canonical GenAI view of a span (genai_normalize in genai.h).
 *
 * Design. The four dialect tables of dialects.c are merged once (pthread_once) into an
 * open-addressing hash index over the attribute keys; the hash reads the key's length and
 * four of its bytes, so a lookup costs the same for any key length, and a byte table of
 * the first characters the tables use rejects most foreign keys before hashing. A span is
 * read in two passes:
 *
 *   scan     every attribute is looked up; a hit is type-checked by its row's conversion
 *            and offered to its target, where the lowest rank wins. Nothing is allocated,
 *            and a span without any GenAI key stops here (return 0).
 *   resolve  only for GenAI spans: the resource's attributes are offered at a lower rank,
 *            JSON strings (request parameters, Langfuse usage and cost) are parsed with
 *            jansson, then the rules that combine several inputs run: token semantics,
 *            the single model field, operation refinements, entity names, finish reasons,
 *            errors, time to first token, output rate, conversation id, dialect.
 *
 * Strings of the view are slices of the span, static literals, or copies in the arena
 * (only for values read out of JSON). docs/genai.md documents every rule. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "genai/genai.h"
#include "genai/genai_int.h"

/* ---- the key index ---- */

enum { INDEX_BITS = 10, INDEX_SIZE = 1 << INDEX_BITS, INDEX_MASK = INDEX_SIZE - 1 };

typedef struct {
    const ga_map *m;
    uint16_t len;
    uint8_t dialect;
} index_slot;

static index_slot key_index[INDEX_SIZE];
static bool first_byte[256];
static size_t key_min = SIZE_MAX, key_max;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

/* Length and four bytes: enough to spread ~100 keys over 1024 slots, at a constant cost
 * whatever the key length. n >= 1. */
static inline uint32_t key_hash(const char *p, size_t n)
{
    uint32_t h = (uint32_t)n * 0x9E3779B1u;
    h ^= (uint32_t)(uint8_t)p[n - 1] * 0x85EBCA77u;
    h ^= (uint32_t)(uint8_t)p[n / 2] * 0xC2B2AE3Du;
    h ^= (uint32_t)(uint8_t)p[n / 3] * 0x27D4EB2Fu;
    h ^= (uint32_t)(uint8_t)p[(2 * n) / 3] * 0x165667B1u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h;
}

static void index_build(void)
{
    for (int d = 0; d < GA_D_N; d++) {
        for (size_t i = 0; i < ga_dialects[d].n; i++) {
            const ga_map *m = &ga_dialects[d].map[i];
            size_t n = strlen(m->key);
            uint32_t h = key_hash(m->key, n) & INDEX_MASK;
            while (key_index[h].m && strcmp(key_index[h].m->key, m->key) != 0)
                h = (h + 1) & INDEX_MASK;
            if (key_index[h].m) continue; /* a duplicate key: the first table keeps it */
            key_index[h] = (index_slot){m, (uint16_t)n, (uint8_t)d};
            first_byte[(uint8_t)m->key[0]] = true;
            if (n < key_min) key_min = n;
            if (n > key_max) key_max = n;
        }
    }
}

static inline const ga_map *lookup(const char *p, size_t n, uint8_t *dialect)
{
    if (n < key_min || n > key_max || !first_byte[(uint8_t)p[0]]) return NULL;
    for (uint32_t h = key_hash(p, n) & INDEX_MASK;; h = (h + 1) & INDEX_MASK) {
        const index_slot *sl = &key_index[h];
        if (!sl->m) return NULL;
        if (sl->len == n && memcmp(sl->m->key, p, n) == 0) {
            *dialect = sl->dialect;
            return sl->m;
        }
    }
}

const ga_map *ga_lookup(lt_str key, ga_dialect *dialect)
{
    pthread_once(&index_once, index_build);
    uint8_t d = 0;
    const ga_map *m = key.len ? lookup(key.ptr, key.len, &d) : NULL;
    if (m && dialect) *dialect = (ga_dialect)d;
    return m;
}

/* ---- scan ---- */

typedef struct {
    uint8_t rank[GT_N]; /* 0xFF = nothing offered */
    const ga_map *src[GT_N];
    lt_value val[GT_N];
    unsigned markers; /* 1 << ga_dialect of the marker keys seen */
    bool strong;      /* a non-weak key of the span itself */
    bool oi_prompts;  /* OpenInference llm.prompts.* present: a text completion */
} scan_state;

static inline void offer(scan_state *st, unsigned target, unsigned rank, const ga_map *src,
                         lt_value v)
{
    if (rank < st->rank[target]) {
        st->rank[target] = (uint8_t)rank;
        st->src[target] = src;
        st->val[target] = v;
    }
}

static inline bool has(const scan_state *st, unsigned target)
{
    return st->rank[target] != 0xFF;
}

static bool dbl_to_int(double d, int64_t *out)
{
    if (!isfinite(d) || d != trunc(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    *out = (int64_t)d;
    return true;
}

static bool all_strings(const lt_value *v)
{
    for (uint32_t i = 0; i < v->u.arr.n; i++)
        if (v->u.arr.items[i].type != LT_VAL_STRING) return false;
    return v->u.arr.n > 0;
}

/* Type-checks v for row m; *out gets the value to offer, and is written only when the
 * value is valid (the caller converts straight into a slot). */
static bool convert(const ga_map *m, const lt_value *v, bool has_parent, lt_value *out)
{
    int64_t i;
    switch ((ga_conv)m->conv) {
    case GA_C_STR:
    case GA_C_JSON:
    case GA_C_RAW:
        if (v->type != LT_VAL_STRING || !v->u.s.len) return false;
        *out = *v;
        return true;
    case GA_C_INT:
    case GA_C_UINT:
        if (v->type == LT_VAL_INT)
            i = v->u.i;
        else if (v->type != LT_VAL_DOUBLE || !dbl_to_int(v->u.d, &i))
            return false;
        if (m->conv == GA_C_UINT && i < 0) return false;
        *out = (lt_value){.type = LT_VAL_INT, .u.i = i};
        return true;
    case GA_C_DBL:
    case GA_C_UDBL: {
        double d;
        if (v->type == LT_VAL_DOUBLE)
            d = v->u.d;
        else if (v->type == LT_VAL_INT)
            d = (double)v->u.i;
        else
            return false;
        if (!isfinite(d) || (m->conv == GA_C_UDBL && d < 0)) return false;
        *out = (lt_value){.type = LT_VAL_DOUBLE, .u.d = d};
        return true;
    }
    case GA_C_BOOL:
        if (v->type != LT_VAL_BOOL) return false;
        *out = *v;
        return true;
    case GA_C_STRS:
        if (v->type == LT_VAL_STRING && v->u.s.len) {
            *out = *v;
            return true;
        }
        if (v->type == LT_VAL_ARRAY && all_strings(v)) {
            *out = *v;
            return true;
        }
        return false;
    case GA_C_VALUE: {
        if (v->type != LT_VAL_STRING || !v->u.s.len) return false;
        lt_str s = ga_value_map(m->values, v->u.s, has_parent);
        if (!s.ptr || !s.len) return false;
        *out = (lt_value){.type = LT_VAL_STRING, .u.s = s};
        return true;
    }
    }
    return false;
}

static void scan_attrs(scan_state *st, const lt_attrs *a, unsigned rank_add, bool own,
                       bool has_parent)
{
    for (uint32_t i = 0; i < a->n; i++) {
        const lt_kv *kv = &a->items[i];
        const char *p = kv->key.ptr;
        size_t n = kv->key.len;
        uint8_t d;
        const ga_map *m = n ? lookup(p, n, &d) : NULL;
        if (!m) {
            /* OpenInference text completions carry llm.prompts (flattened or an array) */
            if (own && n >= 11 && p[0] == 'l' && memcmp(p, "llm.prompts", 11) == 0 &&
                (n == 11 || p[11] == '.'))
                st->oi_prompts = true;
            continue;
        }
        /* a GenAI key makes a GenAI span, whatever its value */
        if (own && !(m->flags & GA_F_WEAK)) st->strong = true;
        if (own && (m->flags & GA_F_MARKER)) st->markers |= 1u << d;
        /* convert() writes only on success: straight into the slot, when it would win */
        unsigned t = m->target, rank = m->rank + rank_add;
        if (rank < st->rank[t] && convert(m, &kv->value, has_parent, &st->val[t])) {
            st->rank[t] = (uint8_t)rank;
            st->src[t] = m;
        }
    }
}

/* ---- resolve helpers ---- */

static bool contains_nocase(lt_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay.len; i++) {
        size_t j = 0;
        while (j < n && (hay.ptr[i + j] | 0x20) == needle[j])
            j++;
        if (j == n) return true;
    }
    return false;
}

static bool eq_nocase(lt_str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((a.ptr[i] | 0x20) != (b[i] | 0x20)) return false;
    return true;
}

static lt_value str_value(lt_str s)
{
    return (lt_value){.type = LT_VAL_STRING, .u.s = s};
}

/* A JSON value for row m as an lt_value; strings are copied into the arena. Returns 1,
 * 0 (wrong type: left out) or LT_ENOMEM. */
static int json_convert(const ga_map *m, json_t *j, lt_arena *a, lt_value *out)
{
    int64_t i;
    switch ((ga_conv)m->conv) {
    case GA_C_STR: {
        if (!json_is_string(j) || !json_string_length(j)) return 0;
        lt_str s = arena_strdup(a, (lt_str){json_string_value(j), json_string_length(j)});
        if (!s.ptr) return LT_ENOMEM;
        *out = str_value(s);
        return 1;
    }
    case GA_C_INT:
    case GA_C_UINT:
        if (json_is_integer(j))
            i = (int64_t)json_integer_value(j);
        else if (!json_is_real(j) || !dbl_to_int(json_real_value(j), &i))
            return 0;
        if (m->conv == GA_C_UINT && i < 0) return 0;
        *out = (lt_value){.type = LT_VAL_INT, .u.i = i};
        return 1;
    case GA_C_DBL:
    case GA_C_UDBL: {
        if (!json_is_number(j)) return 0;
        double d = json_number_value(j);
        if (!isfinite(d) || (m->conv == GA_C_UDBL && d < 0)) return 0;
        *out = (lt_value){.type = LT_VAL_DOUBLE, .u.d = d};
        return 1;
    }
    case GA_C_BOOL:
        if (!json_is_boolean(j)) return 0;
        *out = (lt_value){.type = LT_VAL_BOOL, .u.b = json_is_true(j)};
        return 1;
    case GA_C_STRS: {
        size_t n = json_is_array(j) ? json_array_size(j) : json_is_string(j) ? 1 : 0;
        if (!n) return 0;
        for (size_t k = 0; json_is_array(j) && k < n; k++)
            if (!json_is_string(json_array_get(j, k))) return 0;
        lt_value *items = arena_calloc(a, n, sizeof *items);
        if (!items) return LT_ENOMEM;
        for (size_t k = 0; k < n; k++) {
            json_t *e = json_is_array(j) ? json_array_get(j, k) : j;
            lt_str s = arena_strdup(a, (lt_str){json_string_value(e), json_string_length(e)});
            if (!s.ptr) return LT_ENOMEM;
            items[k] = str_value(s);
        }
        *out = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {items, (uint32_t)n}};
        return 1;
    }
    default:
        return 0;
    }
}

static json_t *json_object_of(const lt_value *v)
{
    json_t *j = json_loadb(v->u.s.ptr, v->u.s.len, 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j; /* NULL: malformed, left out */
}

/* ---- request parameters: jansson, memoized per thread ----
 *
 * Nearly every OpenInference span carries llm.invocation_parameters, and the strings
 * repeat (an application has a few model configurations), while jansson needs ~650 ns for
 * even a two-key object (an allocation per value). So the values read from the last few
 * distinct strings are kept per thread: a hit costs a memcmp and the arena copies of the
 * strings. The view is the same either way; strings longer than MEMO_KEY, or whose values
 * do not fit a slot, are parsed every time. */

enum { MEMO_SLOTS = 8, MEMO_KEY = 256, MEMO_BUF = 512 };

typedef struct {
    uint32_t key_len; /* 0 = empty slot (a JSON string is never empty here) */
    uint8_t n;
    uint8_t row[GA_PARAMS_MAX]; /* index into ga_params_map */
    lt_value val[GA_PARAMS_MAX];
    char key[MEMO_KEY];
    _Alignas(8) unsigned char buf[MEMO_BUF]; /* strings and arrays of val */
} params_memo;

static _Thread_local params_memo memo[MEMO_SLOTS];
static _Thread_local unsigned memo_next;

typedef struct {
    unsigned char *p;
    size_t used, cap;
} bump;

static void *bump_alloc(void *ctx, size_t n)
{
    bump *b = ctx;
    n = (n + 7) & ~(size_t)7;
    if (b->cap - b->used < n) return NULL;
    void *r = b->p + b->used;
    b->used += n;
    return r;
}

static void *arena_fn(void *ctx, size_t n)
{
    return arena_alloc(ctx, n);
}

/* Deep copy of a string or array-of-strings value (others are plain values). */
static bool copy_value(const lt_value *src, lt_value *dst, void *(*fn)(void *, size_t), void *ctx)
{
    if (src->type == LT_VAL_STRING) {
        char *p = fn(ctx, src->u.s.len + 1);
        if (!p) return false;
        if (src->u.s.len) memcpy(p, src->u.s.ptr, src->u.s.len);
        p[src->u.s.len] = 0;
        *dst = str_value((lt_str){p, src->u.s.len});
        return true;
    }
    if (src->type == LT_VAL_ARRAY) {
        uint32_t n = src->u.arr.n;
        lt_value *items = fn(ctx, (size_t)n * sizeof *items);
        if (!items) return false;
        for (uint32_t i = 0; i < n; i++)
            if (!copy_value(&src->u.arr.items[i], &items[i], fn, ctx)) return false;
        *dst = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {items, n}};
        return true;
    }
    *dst = *src;
    return true;
}

static void memo_store(lt_str js, const uint8_t *row, const lt_value *val, unsigned n)
{
    if (js.len > MEMO_KEY) return;
    params_memo *pm = &memo[memo_next++ % MEMO_SLOTS];
    bump b = {pm->buf, 0, MEMO_BUF};
    pm->key_len = 0;
    for (unsigned i = 0; i < n; i++) {
        pm->row[i] = row[i];
        if (!copy_value(&val[i], &pm->val[i], bump_alloc, &b)) return; /* too big: no memo */
    }
    pm->n = (uint8_t)n;
    memcpy(pm->key, js.ptr, js.len);
    pm->key_len = (uint32_t)js.len;
}

static const params_memo *memo_find(lt_str js)
{
    if (js.len > MEMO_KEY) return NULL;
    for (unsigned i = 0; i < MEMO_SLOTS; i++)
        if (memo[i].key_len == js.len && memcmp(memo[i].key, js.ptr, js.len) == 0) return &memo[i];
    return NULL;
}

/* Request parameters (llm.invocation_parameters, langfuse.observation.model.parameters).
 * Malformed JSON, or a value of the wrong type, is left out. 0 or LT_ENOMEM. */
static int read_params(scan_state *st, lt_arena *a)
{
    lt_str js = st->val[GT_PARAMS].u.s;
    unsigned add = st->rank[GT_PARAMS] >= 128 ? 128 : 0; /* from the resource */
    uint8_t row[GA_PARAMS_MAX];
    lt_value val[GA_PARAMS_MAX];
    unsigned n = 0;
    const params_memo *pm = memo_find(js);
    if (pm) {
        for (; n < pm->n; n++) {
            row[n] = pm->row[n];
            if (!copy_value(&pm->val[n], &val[n], arena_fn, a)) return LT_ENOMEM;
        }
    } else {
        json_t *root = json_object_of(&st->val[GT_PARAMS]);
        size_t rows = ga_params_map_n < GA_PARAMS_MAX ? ga_params_map_n : GA_PARAMS_MAX;
        for (size_t i = 0; root && i < rows; i++) {
            json_t *j = json_object_get(root, ga_params_map[i].key);
            int rc = j ? json_convert(&ga_params_map[i], j, a, &val[n]) : 0;
            if (rc < 0) {
                json_decref(root);
                return rc;
            }
            if (rc) row[n++] = (uint8_t)i;
        }
        json_decref(root);
        memo_store(js, row, val, n); /* also a malformed string: n = 0 */
    }
    for (unsigned i = 0; i < n; i++) {
        const ga_map *m = &ga_params_map[row[i]];
        offer(st, m->target, m->rank + add, m, val[i]);
    }
    return 0;
}

static bool json_count(json_t *j, int64_t *out)
{
    if (json_is_integer(j)) {
        *out = (int64_t)json_integer_value(j);
    } else if (!json_is_real(j) || !dbl_to_int(json_real_value(j), out)) {
        return false;
    }
    return *out >= 0;
}

typedef struct {
    bool has[GA_TOK_N];
    int64_t v[GA_TOK_N];
} tokset;

/* Langfuse usage_details: buckets net of their details, made gross again. */
static void read_lf_usage(const scan_state *st, tokset *t)
{
    json_t *root = json_object_of(&st->val[GT_LF_USAGE]);
    if (!root) return;
    int64_t add[2] = {0, 0}; /* to input, to output */
    bool add_ok[2] = {true, true};
    const char *key;
    json_t *j;
    json_object_foreach(root, key, j)
    {
        int64_t n;
        if (!json_count(j, &n)) continue; /* wrong type or negative: left out */
        int adds = -1, bucket = -1;
        bool known = false;
        for (size_t i = 0; i < ga_lf_usage_keys_n && !known; i++) {
            if (strcmp(key, ga_lf_usage_keys[i].key) == 0) {
                bucket = ga_lf_usage_keys[i].bucket;
                adds = ga_lf_usage_keys[i].adds;
                known = true;
            }
        }
        if (!known) {
            if (strncmp(key, "input_", 6) == 0) adds = GA_TOK_IN;
            if (strncmp(key, "output_", 7) == 0) adds = GA_TOK_OUT;
        }
        if (bucket >= 0 && !t->has[bucket]) {
            t->has[bucket] = true;
            t->v[bucket] = n;
        }
        if (adds >= 0) {
            int k = adds == GA_TOK_IN ? 0 : 1;
            if (__builtin_add_overflow(add[k], n, &add[k])) add_ok[k] = false;
        }
    }
    json_decref(root);
    for (int k = 0; k < 2; k++) {
        int b = k ? GA_TOK_OUT : GA_TOK_IN;
        if (t->has[b] && (!add_ok[k] || __builtin_add_overflow(t->v[b], add[k], &t->v[b])))
            t->has[b] = false;
    }
}

static bool anthropic_like(const lt_genai *g)
{
    lt_str p = genai_str(g, GA_PROVIDER);
    if (lt_str_eq_c(p, "anthropic")) return true;
    if (!lt_str_eq_c(p, "aws.bedrock") && !lt_str_eq_c(p, "gcp.vertex_ai")) return false;
    lt_str models[2] = {genai_str(g, GA_REQUEST_MODEL), genai_str(g, GA_RESPONSE_MODEL)};
    for (int i = 0; i < 2; i++)
        if (contains_nocase(models[i], "claude") || contains_nocase(models[i], "anthropic"))
            return true;
    return false;
}

/* Anthropic's native usage reports input without cache reads and writes. Semconv v1.41
 * asks for the sum, and the current OpenLLMetry and OpenInference instrumentations send
 * it; some senders copy the native numbers. Decide from evidence: a reported total that
 * equals input + output + cache buckets says raw, one that equals input + output says
 * summed; without a usable total, an input smaller than its own cache subsets can only be
 * raw. Otherwise trust semconv. */
static void anthropic_rule(tokset *t)
{
    if (!t->has[GA_TOK_IN]) return;
    int64_t cache;
    if (__builtin_add_overflow(t->has[GA_TOK_CR] ? t->v[GA_TOK_CR] : 0,
                               t->has[GA_TOK_CC] ? t->v[GA_TOK_CC] : 0, &cache) ||
        cache <= 0)
        return;
    int64_t in = t->v[GA_TOK_IN], out = t->has[GA_TOK_OUT] ? t->v[GA_TOK_OUT] : 0;
    int raw = -1;
    if (t->has[GA_TOK_TOTAL] && t->has[GA_TOK_OUT]) {
        int64_t sum;
        if (!__builtin_add_overflow(in, out, &sum)) {
            if (t->v[GA_TOK_TOTAL] == sum)
                raw = 0;
            else if (!__builtin_add_overflow(sum, cache, &sum) && t->v[GA_TOK_TOTAL] == sum)
                raw = 1;
        }
    }
    if (raw < 0) raw = in < cache;
    if (raw && __builtin_add_overflow(in, cache, &t->v[GA_TOK_IN])) t->has[GA_TOK_IN] = false;
}

/* Subsets larger than what contains them are inconsistent: left out. */
static void clamp_subsets(tokset *t)
{
    if (t->has[GA_TOK_IN]) {
        int64_t room = t->v[GA_TOK_IN];
        if (t->has[GA_TOK_CR]) {
            if (t->v[GA_TOK_CR] > room)
                t->has[GA_TOK_CR] = false;
            else
                room -= t->v[GA_TOK_CR];
        }
        if (t->has[GA_TOK_CC] && t->v[GA_TOK_CC] > room) t->has[GA_TOK_CC] = false;
    }
    if (t->has[GA_TOK_OUT] && t->has[GA_TOK_RS] && t->v[GA_TOK_RS] > t->v[GA_TOK_OUT])
        t->has[GA_TOK_RS] = false;
}

static bool fam_has(const scan_state *st, int f, int b)
{
    return has(st, GT_TOKEN(f, b));
}

static void resolve_tokens(const scan_state *st, lt_genai *g)
{
    /* One family supplies every bucket: the first, in precedence order (semconv names,
     * OpenInference, OpenLLMetry llm.usage.*, Langfuse), with input or output; else the
     * first with any subset. */
    int pick = -1;
    for (int f = 0; f < GA_FAM_N && pick < 0; f++)
        if (fam_has(st, f, GA_TOK_IN) || fam_has(st, f, GA_TOK_OUT)) pick = f;
    tokset t;
    memset(t.has, 0, sizeof t.has);
    if (pick < 0 && has(st, GT_LF_USAGE)) {
        read_lf_usage(st, &t);
        if (t.has[GA_TOK_IN] || t.has[GA_TOK_OUT]) pick = GA_FAM_N;
    }
    for (int f = 0; f < GA_FAM_N && pick < 0; f++)
        if (fam_has(st, f, GA_TOK_CR) || fam_has(st, f, GA_TOK_CC) || fam_has(st, f, GA_TOK_RS))
            pick = f;
    if (pick < 0 && (t.has[GA_TOK_CR] || t.has[GA_TOK_CC] || t.has[GA_TOK_RS])) pick = GA_FAM_N;
    if (pick < 0) return;
    if (pick < GA_FAM_N) {
        for (int b = 0; b < GA_TOK_N; b++) {
            t.has[b] = fam_has(st, pick, b);
            t.v[b] = t.has[b] ? st->val[GT_TOKEN(pick, b)].u.i : 0;
        }
        if (anthropic_like(g)) anthropic_rule(&t);
    }
    clamp_subsets(&t);
    static const genai_field fields[GA_TOK_TOTAL] = {
        GA_INPUT_TOKENS, GA_OUTPUT_TOKENS, GA_CACHE_READ, GA_CACHE_CREATION, GA_REASONING};
    for (int b = 0; b < GA_TOK_TOTAL; b++)
        if (t.has[b]) g->v[fields[b]] = (lt_value){.type = LT_VAL_INT, .u.i = t.v[b]};
}

/* A string or array of strings as an array of canonical finish reasons. */
static int build_finish_reasons(const lt_value *v, lt_arena *a, lt_value *out)
{
    uint32_t n = v->type == LT_VAL_ARRAY ? v->u.arr.n : 1;
    lt_value *items = arena_calloc(a, n, sizeof *items);
    if (!items) return LT_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        lt_str s = v->type == LT_VAL_ARRAY ? v->u.arr.items[i].u.s : v->u.s;
        if (!s.len) continue;
        items[k++] = str_value(ga_value_map(&ga_finish_reasons, s, false));
    }
    if (k) *out = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {items, k}};
    return 0;
}

static int build_string_array(const lt_value *v, lt_arena *a, lt_value *out)
{
    if (v->type == LT_VAL_ARRAY) {
        *out = *v; /* all strings, checked by convert() */
        return 0;
    }
    lt_value *item = arena_alloc(a, sizeof *item);
    if (!item) return LT_ENOMEM;
    *item = *v;
    *out = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {item, 1}};
    return 0;
}

static lt_str exception_type(const lt_span *s)
{
    for (uint32_t i = s->events.n; i-- > 0;) {
        const lt_event *e = &s->events.items[i];
        if (!lt_str_eq_c(e->name, "exception")) continue;
        const lt_value *t = model_attr_get(&e->attrs, LT_STR("exception.type"));
        if (t && t->type == LT_VAL_STRING && t->u.s.len) return t->u.s;
    }
    return LT_STR_NULL;
}

/* Langfuse sends completion_start_time as a JSON string ("\"2026-...Z\""); accept both. */
static bool lf_start_ttft(const lt_span *s, lt_str v, double *ttft)
{
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
        v.ptr++;
        v.len -= 2;
    }
    uint64_t t;
    if (!s->start_time_unix_nano || ga_parse_iso8601(v, &t) != 0) return false;
    if (t < s->start_time_unix_nano) return false;
    *ttft = (double)(t - s->start_time_unix_nano) / 1e9;
    return true;
}

static bool event_ttft(const lt_span *s, double *ttft)
{
    bool found = false;
    uint64_t first = 0;
    for (uint32_t i = 0; i < s->events.n; i++) {
        const lt_event *e = &s->events.items[i];
        if (!lt_str_eq_c(e->name, GA_FIRST_TOKEN_EVENT)) continue;
        if (!s->start_time_unix_nano || e->time_unix_nano < s->start_time_unix_nano) continue;
        if (!found || e->time_unix_nano < first) first = e->time_unix_nano;
        found = true;
    }
    if (found) *ttft = (double)(first - s->start_time_unix_nano) / 1e9;
    return found;
}

static double json_cost(json_t *root, bool *ok)
{
    json_t *t = json_object_get(root, "total");
    *ok = false;
    if (t) {
        double d = json_is_number(t) ? json_number_value(t) : -1;
        *ok = isfinite(d) && d >= 0;
        return d;
    }
    double sum = 0; /* no total: the sum of the parts, as Langfuse computes it */
    const char *key;
    json_t *j;
    json_object_foreach(root, key, j)
    {
        double d = json_is_number(j) ? json_number_value(j) : -1;
        if (!isfinite(d) || d < 0) continue;
        sum += d;
        *ok = true;
    }
    return sum;
}

static const char *dialect_name(const scan_state *st, const lt_scope *sc)
{
    static const int order[] = {GA_D_LANGFUSE, GA_D_OPENINFERENCE, GA_D_TRACELOOP};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (st->markers & (1u << order[i])) return ga_dialects[order[i]].name;
    /* "@traceloop/instrumentation-openai", "traceloop.tracer" */
    if (sc && sc->name.len && memmem(sc->name.ptr, sc->name.len, "traceloop", 9))
        return ga_dialects[GA_D_TRACELOOP].name;
    return ga_dialects[GA_D_OTEL].name;
}

static int resolve(scan_state *st, const lt_span *s, const lt_resource *r, const lt_scope *sc,
                   lt_arena *a, lt_genai *out)
{
    int rc;
    if (r) scan_attrs(st, &r->attrs, 128, false, s->has_parent);
    if (has(st, GT_PARAMS) && (rc = read_params(st, a)) < 0) return rc;
    if (has(st, GT_LF_COST)) {
        json_t *root = json_object_of(&st->val[GT_LF_COST]);
        bool ok = false;
        double d = root ? json_cost(root, &ok) : 0;
        if (ok) offer(st, GA_COST, st->rank[GT_LF_COST], NULL, (lt_value){LT_VAL_DOUBLE, {.d = d}});
        json_decref(root);
    }
    double ttft;
    if (has(st, GT_LF_START) && lf_start_ttft(s, st->val[GT_LF_START].u.s, &ttft))
        offer(st, GA_TTFT, st->rank[GT_LF_START], NULL, (lt_value){LT_VAL_DOUBLE, {.d = ttft}});
    if (!has(st, GA_TTFT) && event_ttft(s, &ttft))
        offer(st, GA_TTFT, 90, NULL, (lt_value){LT_VAL_DOUBLE, {.d = ttft}});

    for (unsigned f = 0; f < GA_N_FIELDS; f++)
        if (has(st, f)) out->v[f] = st->val[f];

    bool lf_error = has(st, GT_LF_LEVEL) && eq_nocase(st->val[GT_LF_LEVEL].u.s, "error");
    bool failed = s->status_code == LT_STATUS_ERROR || lf_error;
    if (has(st, GT_MODEL)) {
        genai_field f = failed ? GA_REQUEST_MODEL : GA_RESPONSE_MODEL;
        if (!genai_has(out, f)) out->v[f] = st->val[GT_MODEL];
    }

    /* operation refinements */
    const ga_map *op_src = st->src[GA_OPERATION];
    lt_str op = genai_str(out, GA_OPERATION);
    if (op_src && lt_str_eq_c(op, "chat")) {
        if (op_src->values == &ga_ops_openinference && st->oi_prompts)
            out->v[GA_OPERATION] = str_value(LT_STR("text_completion"));
        if (op_src->values == &ga_ops_langfuse &&
            (contains_nocase(genai_str(out, GA_RESPONSE_MODEL), "embed") ||
             contains_nocase(genai_str(out, GA_REQUEST_MODEL), "embed")))
            out->v[GA_OPERATION] = str_value(LT_STR("embeddings"));
    }
    op = genai_str(out, GA_OPERATION);
    /* names of decorated spans: Traceloop's entity name, Langfuse's observation name */
    genai_field named = lt_str_eq_c(op, "invoke_agent")      ? GA_AGENT_NAME
                        : lt_str_eq_c(op, "execute_tool")    ? GA_TOOL_NAME
                        : lt_str_eq_c(op, "invoke_workflow") ? GA_WORKFLOW_NAME
                                                             : GA_N_FIELDS;
    if (named != GA_N_FIELDS && !genai_has(out, named)) {
        if (has(st, GT_ENTITY))
            out->v[named] = st->val[GT_ENTITY];
        else if (op_src && op_src->values == &ga_ops_langfuse && s->name.len)
            out->v[named] = str_value(s->name);
    }

    resolve_tokens(st, out);

    out->v[GA_FINISH_REASONS] = (lt_value){0};
    if (has(st, GA_FINISH_REASONS) &&
        (rc = build_finish_reasons(&st->val[GA_FINISH_REASONS], a, &out->v[GA_FINISH_REASONS])))
        return rc;
    if (has(st, GA_STOP_SEQUENCES) &&
        (rc = build_string_array(&st->val[GA_STOP_SEQUENCES], a, &out->v[GA_STOP_SEQUENCES])))
        return rc;

    if (!genai_has(out, GA_ERROR_TYPE)) {
        lt_str t = s->status_code == LT_STATUS_ERROR ? exception_type(s) : LT_STR_NULL;
        if (!t.len && lf_error) t = LT_STR("_OTHER");
        if (t.len) out->v[GA_ERROR_TYPE] = str_value(t);
    }

    if (genai_has(out, GA_TTFT) && genai_has(out, GA_OUTPUT_TOKENS) &&
        s->end_time_unix_nano > s->start_time_unix_nano) {
        double gen =
            (double)(s->end_time_unix_nano - s->start_time_unix_nano) / 1e9 - out->v[GA_TTFT].u.d;
        if (gen > 0)
            out->v[GA_OUTPUT_RATE] = (lt_value){.type = LT_VAL_DOUBLE,
                                                .u.d = (double)out->v[GA_OUTPUT_TOKENS].u.i / gen};
    }

    if (!genai_has(out, GA_CONVERSATION_ID) && genai_has(out, GA_SESSION_ID))
        out->v[GA_CONVERSATION_ID] = out->v[GA_SESSION_ID];
    if (genai_has(out, GA_COST)) out->v[GA_COST_SOURCE] = str_value(LT_STR("reported"));
    out->v[GA_DIALECT] = str_value(lt_str_c(dialect_name(st, sc)));
    return 1;
}

int genai_normalize(const lt_span *s, const lt_resource *r, const lt_scope *sc, lt_arena *a,
                    lt_genai *out)
{
    pthread_once(&index_once, index_build);
    scan_state st;
    memset(st.rank, 0xFF, sizeof st.rank);
    st.markers = 0;
    st.strong = false;
    st.oi_prompts = false;
    scan_attrs(&st, &s->attrs, 0, true, s->has_parent);
    memset(out, 0, sizeof *out);
    if (!st.strong) return 0;
    int rc = resolve(&st, s, r, sc, a, out);
    if (rc < 0) memset(out, 0, sizeof *out);
    return rc;
}

int64_t genai_int(const lt_genai *g, genai_field f, int64_t fallback)
{
    return g->v[f].type == LT_VAL_INT ? g->v[f].u.i : fallback;
}

double genai_double(const lt_genai *g, genai_field f, double fallback)
{
    return g->v[f].type == LT_VAL_DOUBLE ? g->v[f].u.d : fallback;
}

lt_str genai_str(const lt_genai *g, genai_field f)
{
    return g->v[f].type == LT_VAL_STRING ? g->v[f].u.s : LT_STR_NULL;
}
