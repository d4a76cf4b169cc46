/* prices.c — the price table and the cost of a span (genai_prices_*, genai_price_apply).
 *
 * The table is data (data/prices.json, embedded into the binary at build time by
 * cmake/embed_file.cmake; a --prices file overlays it). Its format and the matching rules are
 * documented in docs/prices.md; in short:
 *
 *   - an entry prices one model name ("match": exact, or a glob with * and ?) for one or more
 *     providers ("*" = any provider) from an effective_from day (UTC) on;
 *   - a model name is looked up exactly first (hash table), then against the patterns, the
 *     most specific first (most literal characters, then fewest '*', then bytewise order);
 *   - within the first match string that has an entry in effect at the span's day, the entry
 *     of the span's provider wins over a "*" entry; a span without a provider takes the entry
 *     of the first provider in bytewise order ("*" sorts first), and so does a span whose
 *     provider has no entry for the model (a gateway's client names the gateway's API);
 *   - the entry in effect is the one with the latest effective_from not after the span's day.
 *
 * Design: loading parses and validates into a flat list of entries (one per provider of a
 * file entry), merges it over the base table, then builds one read-only structure: entries
 * sorted into groups (one per match string; inside a group by provider, newest first), an
 * open-addressing hash of the exact groups, and the pattern groups sorted by (first byte,
 * specificity) with the start of each first-byte bucket, so that a lookup tries only the
 * patterns that begin with the model's first byte or with a wildcard. Nothing is written
 * after load: any number of threads may price spans with one table concurrently. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "genai/genai.h"

/* The built-in table: data/prices.json's bytes, generated into the build tree. */
extern const unsigned char genai_prices_builtin[];
extern const size_t genai_prices_builtin_len;

enum {
    MAX_FILE_BYTES = 16 << 20, /* a price file larger than this is refused */
    MAX_ENTRIES = 1 << 20,     /* flattened entries (one per provider) of one file */
    MAX_NAME = 256,            /* bytes of a provider or match string */
    FILE_VERSION = 1,
};

#define NS_PER_DAY 86400000000000ull

typedef struct {
    lt_str provider; /* "*" = any provider */
    lt_str match;
    int32_t from_day; /* days since 1970-01-01 (UTC) */
    bool glob;
    bool has_reasoning;
    double input, cache_read, cache_write, output, reasoning; /* USD per million tokens */
    uint32_t index; /* position in models[] of its file, for messages */
} price_entry;

typedef struct {
    lt_str match;
    uint32_t first, n; /* entries [first, first + n): provider ascending, newest first */
    uint32_t literals; /* glob groups: bytes that are not wildcards */
    uint32_t stars;    /* glob groups: '*' count */
    /* Glob groups: a literal run every match contains, to reject most names before the
     * glob itself: the bytes before the first wildcard (at offset 0), or, for patterns that
     * start with a wildcard, the longest literal run. */
    uint32_t need_off, need_len;
} price_group;

struct genai_prices {
    price_entry *e;
    uint32_t n_e;
    price_group *exact;
    uint32_t n_exact;
    uint32_t *slots; /* hash of exact groups: index + 1, 0 = empty */
    uint32_t slot_mask;
    price_group *glob; /* by bucket, then most specific first */
    uint32_t n_glob;
    uint32_t bucket[258]; /* globs of bucket b are [bucket[b], bucket[b + 1]) */
    char *strings;        /* every provider and match string, NUL-terminated */
};

/* ---- helpers -------------------------------------------------------------------------- */

static int str_cmp(lt_str a, lt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static bool is_wild(char c)
{
    return c == '*' || c == '?';
}

/* The bucket of a pattern: 0 when it starts with a wildcard, else its first byte + 1. */
static uint32_t glob_bucket(lt_str m)
{
    return m.len && !is_wild(m.ptr[0]) ? (uint32_t)(unsigned char)m.ptr[0] + 1 : 0;
}

/* Glob match of all of s: '*' any run of bytes (also none), '?' exactly one byte, anything
 * else itself. Backtracks only to the last '*', so it is O(|p| * |s|) at worst. */
static bool glob_match(lt_str p, lt_str s)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
    while (si < s.len) {
        if (pi < p.len && (p.ptr[pi] == '?' || p.ptr[pi] == s.ptr[si])) {
            pi++;
            si++;
        } else if (pi < p.len && p.ptr[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.len && p.ptr[pi] == '*')
        pi++;
    return pi == p.len;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

/* Parses exactly "YYYY-MM-DD", a real calendar day in 1970..9999. */
static bool parse_date(const char *s, size_t len, int32_t *day)
{
    if (len != 10 || s[4] != '-' || s[7] != '-') return false;
    int v[3] = {0, 0, 0};
    const int at[3] = {0, 5, 8}, width[3] = {4, 2, 2};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < width[k]; i++) {
            char c = s[at[k] + i];
            if (c < '0' || c > '9') return false;
            v[k] = v[k] * 10 + (c - '0');
        }
    int y = v[0], m = v[1], d = v[2];
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return false;
    *day = days_from_civil(y, m, d);
    return true;
}

static int fail(char *errbuf, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *errbuf, size_t errlen, int code, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- parsing and validation ------------------------------------------------------------ */

/* A growable list of entries (lt_realloc). */
typedef struct {
    price_entry *e;
    uint32_t n, cap;
} entry_vec;

static int vec_push(entry_vec *v, const price_entry *x)
{
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 64;
        price_entry *e = lt_realloc(v->e, (size_t)cap * sizeof *e);
        if (!e) return LT_ENOMEM;
        v->e = e;
        v->cap = cap;
    }
    v->e[v->n++] = *x;
    return 0;
}

/* A provider or match string: non-empty, at most MAX_NAME bytes, no NUL. */
static bool name_ok(const json_t *j)
{
    if (!json_is_string(j)) return false;
    size_t n = json_string_length(j);
    return n > 0 && n <= MAX_NAME && strlen(json_string_value(j)) == n;
}

static lt_str jstr(const json_t *j)
{
    return (lt_str){json_string_value(j), json_string_length(j)};
}

typedef struct {
    const char *key;
    bool required;
    bool price; /* a number >= 0 */
} field_spec;

static const field_spec entry_fields[] = {
    {"provider", true, false},    {"match", true, false},     {"effective_from", true, false},
    {"input", true, true},        {"output", true, true},     {"cache_read", false, true},
    {"cache_write", false, true}, {"reasoning", false, true}, {"note", false, false},
};
enum { N_ENTRY_FIELDS = sizeof entry_fields / sizeof entry_fields[0] };

static double price_of(const json_t *o, const char *key, double fallback)
{
    const json_t *j = json_object_get(o, key);
    return j ? json_number_value(j) : fallback;
}

/* The message of every bad "provider". */
#define BAD_PROVIDER                                                                               \
    "%s: models[%zu].provider: must be a non-empty string of at most %d bytes, or a non-empty "    \
    "array of them"

/* Validates models[i] (object o) and appends one entry per provider to v. Strings point
 * into the JSON document. */
static int parse_entry(const char *name, size_t i, json_t *o, entry_vec *v, char *errbuf,
                       size_t errlen)
{
    if (!json_is_object(o))
        return fail(errbuf, errlen, LT_EINVAL, "%s: models[%zu]: must be an object", name, i);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        size_t k = 0;
        while (k < N_ENTRY_FIELDS && strcmp(entry_fields[k].key, key) != 0)
            k++;
        if (k == N_ENTRY_FIELDS)
            return fail(errbuf, errlen, LT_EINVAL, "%s: models[%zu]: unknown field \"%s\"", name, i,
                        key);
        if (entry_fields[k].price && (!json_is_number(val) || !(json_number_value(val) >= 0) ||
                                      !isfinite(json_number_value(val))))
            return fail(errbuf, errlen, LT_EINVAL,
                        "%s: models[%zu].%s: must be a number >= 0 (USD per million tokens)", name,
                        i, key);
    }
    for (size_t k = 0; k < N_ENTRY_FIELDS; k++)
        if (entry_fields[k].required && !json_object_get(o, entry_fields[k].key))
            return fail(errbuf, errlen, LT_EINVAL, "%s: models[%zu]: missing required field \"%s\"",
                        name, i, entry_fields[k].key);

    const json_t *note = json_object_get(o, "note");
    if (note && !json_is_string(note))
        return fail(errbuf, errlen, LT_EINVAL, "%s: models[%zu].note: must be a string", name, i);
    const json_t *match = json_object_get(o, "match");
    if (!name_ok(match))
        return fail(errbuf, errlen, LT_EINVAL,
                    "%s: models[%zu].match: must be a non-empty string of at most %d bytes", name,
                    i, MAX_NAME);
    const json_t *date = json_object_get(o, "effective_from");
    int32_t day = 0;
    if (!json_is_string(date) ||
        !parse_date(json_string_value(date), json_string_length(date), &day))
        return fail(errbuf, errlen, LT_EINVAL,
                    "%s: models[%zu].effective_from: must be a date \"YYYY-MM-DD\" (1970 or later)",
                    name, i);

    price_entry e = {
        .match = jstr(match),
        .from_day = day,
        .index = (uint32_t)i,
        .input = price_of(o, "input", 0),
        .output = price_of(o, "output", 0),
    };
    e.cache_read = price_of(o, "cache_read", e.input);
    e.cache_write = price_of(o, "cache_write", e.input);
    e.has_reasoning = json_object_get(o, "reasoning") != NULL;
    e.reasoning = price_of(o, "reasoning", e.output);
    for (size_t k = 0; k < e.match.len; k++)
        if (is_wild(e.match.ptr[k])) e.glob = true;

    json_t *prov = json_object_get(o, "provider");
    if (json_is_string(prov)) {
        if (!name_ok(prov)) return fail(errbuf, errlen, LT_EINVAL, BAD_PROVIDER, name, i, MAX_NAME);
        e.provider = jstr(prov);
        if (v->n >= MAX_ENTRIES) goto too_many;
        return vec_push(v, &e);
    }
    if (!json_is_array(prov) || json_array_size(prov) == 0)
        return fail(errbuf, errlen, LT_EINVAL, BAD_PROVIDER, name, i, MAX_NAME);
    for (size_t k = 0; k < json_array_size(prov); k++) {
        const json_t *p = json_array_get(prov, k);
        if (!name_ok(p)) return fail(errbuf, errlen, LT_EINVAL, BAD_PROVIDER, name, i, MAX_NAME);
        for (size_t q = 0; q < k; q++)
            if (lt_str_eq(jstr(json_array_get(prov, q)), jstr(p)))
                return fail(errbuf, errlen, LT_EINVAL,
                            "%s: models[%zu].provider: \"%s\" is listed twice", name, i,
                            json_string_value(p));
        e.provider = jstr(p);
        if (v->n >= MAX_ENTRIES) goto too_many;
        int rc = vec_push(v, &e);
        if (rc) return rc;
    }
    return 0;
too_many:
    return fail(errbuf, errlen, LT_EINVAL,
                "%s: models[%zu]: more than %d entries (one per provider)", name, i, MAX_ENTRIES);
}

/* The identity of an entry: (provider, match, effective_from). */
static int key_cmp(const price_entry *a, const price_entry *b)
{
    int c = str_cmp(a->provider, b->provider);
    if (!c) c = str_cmp(a->match, b->match);
    if (!c) c = (a->from_day > b->from_day) - (a->from_day < b->from_day);
    return c;
}

static int key_cmp_v(const void *pa, const void *pb)
{
    return key_cmp(pa, pb);
}

static int key_index_cmp(const void *pa, const void *pb)
{
    const price_entry *a = pa, *b = pb;
    int c = key_cmp(a, b);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* Parses the document and validates it into v (sorted by key). */
static int parse_doc(const char *name, json_t *doc, entry_vec *v, char *errbuf, size_t errlen)
{
    if (!json_is_object(doc))
        return fail(errbuf, errlen, LT_EINVAL, "%s: the top level must be a JSON object", name);
    const char *key;
    json_t *val;
    json_object_foreach(doc, key, val)
    {
        if (strcmp(key, "format") && strcmp(key, "version") && strcmp(key, "models"))
            return fail(errbuf, errlen, LT_EINVAL,
                        "%s: unknown top-level field \"%s\" (want format, version, models)", name,
                        key);
    }
    const json_t *format = json_object_get(doc, "format");
    if (format && !json_is_string(format))
        return fail(errbuf, errlen, LT_EINVAL, "%s: format: must be a string", name);
    const json_t *version = json_object_get(doc, "version");
    if (!version)
        return fail(errbuf, errlen, LT_EINVAL, "%s: missing required field \"version\"", name);
    if (!json_is_integer(version) || json_integer_value(version) != FILE_VERSION)
        return fail(errbuf, errlen, LT_EINVAL, "%s: version: unsupported (this build reads %d)",
                    name, FILE_VERSION);
    json_t *models = json_object_get(doc, "models");
    if (!models)
        return fail(errbuf, errlen, LT_EINVAL, "%s: missing required field \"models\"", name);
    if (!json_is_array(models))
        return fail(errbuf, errlen, LT_EINVAL, "%s: models: must be an array", name);
    for (size_t i = 0; i < json_array_size(models); i++) {
        int rc = parse_entry(name, i, json_array_get(models, i), v, errbuf, errlen);
        if (rc) return rc;
    }
    if (v->n > 1) qsort(v->e, v->n, sizeof *v->e, key_index_cmp);
    for (uint32_t k = 1; k < v->n; k++)
        if (key_cmp(&v->e[k - 1], &v->e[k]) == 0)
            return fail(errbuf, errlen, LT_EINVAL,
                        "%s: models[%u]: duplicate of models[%u] (same provider \"%.*s\", match "
                        "and effective_from)",
                        name, v->e[k].index, v->e[k - 1].index, (int)v->e[k].provider.len,
                        v->e[k].provider.ptr);
    return 0;
}

/* Reads a whole file into a new allocation (NUL-terminated). */
static int read_file(const char *path, char **out, size_t *len, char *errbuf, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(errbuf, errlen, LT_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - n < 4096) {
            if (cap >= MAX_FILE_BYTES) {
                rc = fail(errbuf, errlen, LT_EINVAL, "%s: larger than %d bytes", path,
                          MAX_FILE_BYTES);
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            char *d = lt_realloc(data, ncap + 1);
            if (!d) {
                rc = LT_ENOMEM;
                goto out;
            }
            data = d;
            cap = ncap;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        rc = fail(errbuf, errlen, LT_EIO, "%s: read error", path);
        goto out;
    }
    data[n] = 0;
    *out = data;
    *len = n;
    data = NULL;
out:
    fclose(f);
    lt_free(data);
    return rc;
}

/* ---- building the table ---------------------------------------------------------------- */

static uint32_t count_byte(lt_str s, char c)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += s.ptr[i] == c;
    return n;
}

static uint32_t literal_count(lt_str s)
{
    return (uint32_t)s.len - count_byte(s, '*') - count_byte(s, '?');
}

/* The literal run a glob group checks first (see price_group). */
static void literal_run(lt_str m, uint32_t *off, uint32_t *len)
{
    size_t i = 0;
    while (i < m.len && !is_wild(m.ptr[i]))
        i++;
    *off = 0;
    *len = (uint32_t)i;
    if (i) return;
    for (size_t a = 0; a < m.len;) {
        size_t b = a;
        while (b < m.len && !is_wild(m.ptr[b]))
            b++;
        if (b - a > *len) {
            *off = (uint32_t)a;
            *len = (uint32_t)(b - a);
        }
        a = b + 1;
    }
}

/* Specificity order of two patterns: negative when a is tried before b. */
static int rank_cmp(lt_str a, lt_str b)
{
    uint32_t la = literal_count(a), lb = literal_count(b);
    if (la != lb) return la > lb ? -1 : 1;
    uint32_t sa = count_byte(a, '*'), sb = count_byte(b, '*');
    if (sa != sb) return sa < sb ? -1 : 1;
    return str_cmp(a, b);
}

/* Final order: exact groups (by match) before pattern groups (by bucket, then rank); inside
 * a group by provider, then newest first. */
static int final_cmp(const void *pa, const void *pb)
{
    const price_entry *a = pa, *b = pb;
    if (a->glob != b->glob) return a->glob ? 1 : -1;
    int c;
    if (a->glob) {
        uint32_t ba = glob_bucket(a->match), bb = glob_bucket(b->match);
        if (ba != bb) return ba < bb ? -1 : 1;
        c = rank_cmp(a->match, b->match);
    } else {
        c = str_cmp(a->match, b->match);
    }
    if (!c) c = str_cmp(a->provider, b->provider);
    if (!c) c = (a->from_day < b->from_day) - (a->from_day > b->from_day);
    return c;
}

static uint64_t name_hash(lt_str s)
{
    return hash64(s.ptr, s.len, 0x70726963ull);
}

/* Builds the table from entries e[0..n) (their strings are copied; e is reordered). */
static int build(price_entry *e, uint32_t n, genai_prices **out)
{
    genai_prices *p = lt_calloc(1, sizeof *p);
    if (!p) return LT_ENOMEM;
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += e[i].provider.len + e[i].match.len + 2;
    p->strings = lt_malloc(bytes);
    p->e = lt_calloc(n, sizeof *p->e);
    if (!p->strings || !p->e) goto oom;
    if (n > 1) qsort(e, n, sizeof *e, final_cmp);

    /* Copy entries and strings; a group's entries share its first entry's match string. */
    char *w = p->strings;
    uint32_t n_groups = 0, n_exact = 0;
    for (uint32_t i = 0; i < n; i++) {
        price_entry x = e[i];
        memcpy(w, x.provider.ptr, x.provider.len);
        w[x.provider.len] = 0;
        x.provider.ptr = w;
        w += x.provider.len + 1;
        if (i && p->e[i - 1].glob == x.glob && lt_str_eq(p->e[i - 1].match, x.match)) {
            x.match = p->e[i - 1].match;
        } else {
            memcpy(w, x.match.ptr, x.match.len);
            w[x.match.len] = 0;
            x.match.ptr = w;
            w += x.match.len + 1;
            n_groups++;
            n_exact += !x.glob;
        }
        p->e[i] = x;
    }
    p->n_e = n;
    p->n_exact = n_exact;
    p->n_glob = n_groups - n_exact;
    p->exact = lt_calloc(n_exact, sizeof *p->exact);
    p->glob = lt_calloc(p->n_glob, sizeof *p->glob);
    uint32_t n_slots = 16;
    while (n_slots < 2 * n_exact)
        n_slots *= 2;
    p->slots = lt_calloc(n_slots, sizeof *p->slots);
    if (!p->exact || !p->glob || !p->slots) goto oom;
    p->slot_mask = n_slots - 1;

    uint32_t gx = 0, gg = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && p->e[j].match.ptr == p->e[i].match.ptr)
            j++;
        price_group g = {.match = p->e[i].match, .first = i, .n = j - i};
        if (p->e[i].glob) {
            g.literals = literal_count(g.match);
            g.stars = count_byte(g.match, '*');
            literal_run(g.match, &g.need_off, &g.need_len);
            p->glob[gg++] = g;
        } else {
            uint32_t s = (uint32_t)name_hash(g.match) & p->slot_mask;
            while (p->slots[s])
                s = (s + 1) & p->slot_mask;
            p->slots[s] = gx + 1;
            p->exact[gx++] = g;
        }
        i = j;
    }
    /* Bucket starts: globs are sorted by bucket. */
    uint32_t k = 0;
    for (uint32_t b = 0; b < 258; b++) {
        while (k < p->n_glob && glob_bucket(p->glob[k].match) < b)
            k++;
        p->bucket[b] = k;
    }
    *out = p;
    return 0;
oom:
    genai_prices_free(p);
    return LT_ENOMEM;
}

int genai_prices_load(const char *path, const genai_prices *base, genai_prices **out, char *errbuf,
                      size_t errlen)
{
    const char *name = path ? path : "built-in prices.json";
    char *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    entry_vec v = {0};
    price_entry *all = NULL;
    int rc = 0;

    *out = NULL;
    if (errbuf && errlen) errbuf[0] = 0;
    if (path) {
        rc = read_file(path, &data, &len, errbuf, errlen);
        if (rc) goto out;
    }
    json_error_t jerr;
    doc = path ? json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)
               : json_loadb((const char *)genai_prices_builtin, genai_prices_builtin_len,
                            JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        rc = fail(errbuf, errlen, LT_EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                  jerr.text);
        goto out;
    }
    rc = parse_doc(name, doc, &v, errbuf, errlen);
    if (rc) goto out;

    /* Overlay: the file's entries, then base's entries whose key the file does not have. */
    uint32_t n_base = base ? base->n_e : 0;
    all = lt_malloc(((size_t)v.n + n_base) * sizeof *all);
    if (!all) {
        rc = LT_ENOMEM;
        goto out;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < v.n; i++)
        all[n++] = v.e[i];
    for (uint32_t i = 0; i < n_base; i++) {
        const price_entry *b = &base->e[i];
        if (v.n && bsearch(b, v.e, v.n, sizeof *v.e, key_cmp_v)) continue;
        all[n++] = *b;
    }
    rc = build(all, n, out);
out:
    if (rc == LT_ENOMEM) fail(errbuf, errlen, rc, "%s: out of memory", name);
    lt_free(all);
    lt_free(v.e);
    json_decref(doc);
    lt_free(data);
    return rc;
}

void genai_prices_free(genai_prices *p)
{
    if (!p) return;
    lt_free(p->e);
    lt_free(p->exact);
    lt_free(p->glob);
    lt_free(p->slots);
    lt_free(p->strings);
    lt_free(p);
}

/* ---- lookup and cost ------------------------------------------------------------------- */

static const price_group *find_exact(const genai_prices *p, lt_str model)
{
    if (!p->n_exact) return NULL;
    for (uint32_t s = (uint32_t)name_hash(model) & p->slot_mask; p->slots[s];
         s = (s + 1) & p->slot_mask) {
        const price_group *g = &p->exact[p->slots[s] - 1];
        if (lt_str_eq(g->match, model)) return g;
    }
    return NULL;
}

/* The entry of group g in effect on day for provider (empty = any), or NULL. */
static const price_entry *pick(const genai_prices *p, const price_group *g, lt_str provider,
                               int64_t day)
{
    const price_entry *any = NULL;
    for (uint32_t i = g->first; i < g->first + g->n; i++) {
        const price_entry *e = &p->e[i];
        if (e->from_day > day) continue;
        if (!provider.len) return e;
        if (lt_str_eq(e->provider, provider)) return e;
        if (!any && lt_str_eq_c(e->provider, "*")) any = e;
    }
    return any;
}

static bool glob_before(const price_group *a, const price_group *b)
{
    if (a->literals != b->literals) return a->literals > b->literals;
    if (a->stars != b->stars) return a->stars < b->stars;
    return str_cmp(a->match, b->match) < 0;
}

/* Whether the n bytes at s are those at w. Inline: most patterns differ from a name within
 * its first few bytes, sooner than a call to memcmp returns. */
static bool starts_with(const char *s, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != w[i]) return false;
    return true;
}

/* Whether s contains the n bytes at w (n >= 1). Names are short: a plain scan beats memmem's
 * setup. */
static bool contains(lt_str s, const char *w, size_t n)
{
    for (size_t i = 0; i + n <= s.len; i++)
        if (starts_with(s.ptr + i, w, n)) return true;
    return false;
}

/* The entry for (provider, model) in effect on day. Patterns with fewer than min_literals
 * literal characters are skipped (1 keeps a catch-all "*" out of a gateway's fallback). */
static const price_entry *find(const genai_prices *p, lt_str provider, lt_str model, int64_t day,
                               uint32_t min_literals)
{
    const price_group *g = find_exact(p, model);
    const price_entry *e = g ? pick(p, g, provider, day) : NULL;
    if (e) return e;
    /* Patterns that start with the model's first byte, merged with those that start with a
     * wildcard, most specific first. */
    uint32_t b = (uint32_t)(unsigned char)model.ptr[0] + 1;
    uint32_t i = p->bucket[0], i_end = p->bucket[1];
    uint32_t k = p->bucket[b], k_end = p->bucket[b + 1];
    while (i < i_end || k < k_end) {
        if (k == k_end || (i < i_end && glob_before(&p->glob[i], &p->glob[k])))
            g = &p->glob[i++];
        else
            g = &p->glob[k++];
        if (g->literals > model.len || g->literals < min_literals) continue;
        if (g->need_off == 0 ? !starts_with(model.ptr, g->match.ptr, g->need_len)
                             : !contains(model, g->match.ptr + g->need_off, g->need_len))
            continue;
        if (!glob_match(g->match, model)) continue;
        e = pick(p, g, provider, day);
        if (e) return e;
    }
    return NULL;
}

/* A token count of the view: absent, mistyped or negative counts are 0. */
static double tokens(const lt_genai *g, genai_field f)
{
    const lt_value *v = &g->v[f];
    return v->type == LT_VAL_INT && v->u.i > 0 ? (double)v->u.i : 0;
}

static lt_str view_str(const lt_genai *g, genai_field f)
{
    const lt_value *v = &g->v[f];
    return v->type == LT_VAL_STRING ? v->u.s : LT_STR_NULL;
}

static void set_source(lt_genai *g, lt_str source)
{
    g->v[GA_COST_SOURCE].type = LT_VAL_STRING;
    g->v[GA_COST_SOURCE].u.s = source;
}

void genai_price_apply(const genai_prices *p, uint64_t time_unix_nano, lt_genai *g)
{
    if (g->v[GA_COST].type != LT_VAL_EMPTY) {
        /* A source already set (a second apply, or a store's read) is kept. */
        if (g->v[GA_COST_SOURCE].type == LT_VAL_EMPTY) set_source(g, LT_STR("reported"));
        return;
    }
    if (g->v[GA_INPUT_TOKENS].type == LT_VAL_EMPTY && g->v[GA_OUTPUT_TOKENS].type == LT_VAL_EMPTY)
        return;

    int64_t day = time_unix_nano ? (int64_t)(time_unix_nano / NS_PER_DAY) : INT64_MAX;
    lt_str provider = view_str(g, GA_PROVIDER);
    lt_str response = view_str(g, GA_RESPONSE_MODEL), request = view_str(g, GA_REQUEST_MODEL);
    const price_entry *e = NULL;
    if (p && response.len) e = find(p, provider, response, day, 0);
    if (p && !e && request.len && !lt_str_eq(request, response))
        e = find(p, provider, request, day, 0);
    /* No entry for this provider: a gateway (an OpenAI-compatible client talking to a proxy
     * that serves Claude says "openai") is priced by the model alone. */
    if (p && !e && provider.len && response.len) e = find(p, LT_STR_NULL, response, day, 1);
    if (p && !e && provider.len && request.len && !lt_str_eq(request, response))
        e = find(p, LT_STR_NULL, request, day, 1);
    if (!e) {
        set_source(g, LT_STR("unknown_model"));
        return;
    }

    /* Disjoint buckets. Cache counts are subsets of input and reasoning of output; when a
     * view has more cached (reasoning) tokens than input (output) tokens, the subset counts
     * are taken as true and the remainder is 0, never negative. */
    double in = tokens(g, GA_INPUT_TOKENS), out = tokens(g, GA_OUTPUT_TOKENS);
    double cr = tokens(g, GA_CACHE_READ), cw = tokens(g, GA_CACHE_CREATION);
    double rs = tokens(g, GA_REASONING);
    double fresh = in - cr - cw, plain = out - rs;
    if (fresh < 0) fresh = 0;
    if (plain < 0) plain = 0;
    double usd = fresh * e->input + cr * e->cache_read + cw * e->cache_write + plain * e->output +
                 rs * (e->has_reasoning ? e->reasoning : e->output);
    g->v[GA_COST].type = LT_VAL_DOUBLE;
    g->v[GA_COST].u.d = usd / 1e6;
    set_source(g, LT_STR("computed"));
}
