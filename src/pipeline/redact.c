/* redact.c — the redaction processor (see redact.h).
 *
 * Design. All patterns (blocked_values, then the built-in detectors) are compiled once; a
 * string is scanned by each in turn and its matches replaced, the output of one pattern
 * being the input of the next. A built-in detector may carry a check (Luhn for cards,
 * ISO 13616 mod 97 for IBANs, a digit count for phones) that a match must pass, which keeps
 * order numbers and timestamps from being masked as cards or phones. A string that holds
 * JSON (first byte '{' or '[') is parsed with jansson, its string values (never its keys)
 * masked the same way, also a JSON text inside a JSON string, and serialized again only if
 * anything changed; JSON with duplicate keys is treated as text, since a parse would drop
 * one of them. Masked strings are copied into the batch's arena; a value nothing matched
 * keeps its bytes. */
#include "pipeline/redact.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/err.h"
#include "genai/genai.h"
#include "pipeline/regex.h"

enum {
    MAX_PATTERNS = 256,
    MAX_KEYS = 1024,        /* allowed / ignored keys */
    MAX_SUMMARY_KEYS = 256, /* keys listed in a summary attribute */
    MAX_JSON_NESTING = 2,   /* JSON text inside a JSON string, looked into this often */
    MAX_VALUE_DEPTH = MODEL_MAX_DEPTH,
};
#define MAX_JSON_BYTES ((size_t)16 << 20)

typedef enum { CHECK_NONE, CHECK_LUHN, CHECK_IBAN, CHECK_PHONE } check_kind;
typedef enum { HASH_NONE, HASH_MD5, HASH_SHA1, HASH_SHA256 } hash_kind;
typedef enum { SUM_DEBUG, SUM_INFO, SUM_SILENT } summary_kind;

/* What a string must contain for a pattern to have a chance: one of the literals need
 * (case-insensitively when need_ci), and a digit when need_digit. Checked with memmem before
 * the regex runs: most prose has no '@', '+' or key prefix, and scanning for a byte is far
 * cheaper than a regex whose first character PCRE2 cannot predict (a lookbehind). */
typedef struct {
    const char *need[3];
    bool need_ci, need_digit;
} prefilter;

typedef struct {
    pcre2_code *re;
    check_kind check;
    const prefilter *pre; /* NULL: always run */
} pattern;

struct redact {
    bool allow_all_keys, structured;
    char **allowed, **ignored;
    uint32_t n_allowed, n_ignored;
    pcre2_code *blocked_keys[MAX_PATTERNS];
    uint32_t n_blocked_keys;
    pattern values[MAX_PATTERNS]; /* blocked_values then built-ins */
    uint32_t n_values;
    pcre2_code *allowed_values[MAX_PATTERNS];
    uint32_t n_allowed_values;
    hash_kind hash;
    summary_kind summary;
    lt_str mask;
    char *mask_buf;
};

/* ------------------------------------------------------------------------------------ */
/* Built-in detectors                                                                   */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *re;
    check_kind check;
    prefilter pre;
} builtin;

/* Boundaries are lookarounds rather than \b so that "+", "(" and separators count. */
static const builtin BUILTINS[] = {
    {"email",
     "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])",
     CHECK_NONE,
     {{"@"}, false, false}},
    /* international: +CC then groups of digits, optionally parenthesised */
    {"phone",
     "(?<![\\w+])\\+[1-9]\\d{0,2}(?:[ .-]?\\(?\\d{1,5}\\)?){1,6}(?![\\w])",
     CHECK_PHONE,
     {{"+"}, false, true}},
    /* North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-555-123-4567 */
    {"phone",
     "(?<![\\w+(])(?:1[ .-])?(?:\\(\\d{3}\\) ?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}(?![\\w])",
     CHECK_PHONE,
     {{NULL}, false, true}},
    {"credit_card",
     "(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d])",
     CHECK_LUHN,
     {{NULL}, false, true}},
    {"iban",
     "(?<![A-Za-z0-9])[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
     CHECK_IBAN,
     {{NULL}, false, true}},
    {"api_key",
     "(?<![A-Za-z0-9_-])sk-(?:proj-|ant-(?:api\\d\\d-)?)?[A-Za-z0-9_-]{20,}",
     CHECK_NONE,
     {{"sk-"}, false, false}},
    {"api_key",
     "(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
     CHECK_NONE,
     {{"AKIA", "ASIA"}, false, false}},
    {"api_key", "(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}", CHECK_NONE, {{"_"}, false, false}},
    {"api_key",
     "(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{50,}",
     CHECK_NONE,
     {{"github_pat_"}, false, false}},
    {"api_key",
     "(?<![A-Za-z0-9_-])xox[baprs]-[A-Za-z0-9-]{10,}",
     CHECK_NONE,
     {{"xox"}, false, false}},
    {"api_key", "(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}", CHECK_NONE, {{"AIza"}, false, false}},
    {"api_key",
     "(?i:\\bbearer)\\s+\\K[A-Za-z0-9._~+/-]{8,}=*",
     CHECK_NONE,
     {{"bearer"}, true, false}},
};

static const char *const BUILTIN_NAMES = "email, phone, credit_card, iban, api_key";

static size_t digits_of(lt_str s, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (n < cap) out[n] = s.ptr[i];
            n++;
        }
    return n;
}

static bool luhn_ok(lt_str s)
{
    char d[32];
    size_t n = digits_of(s, d, sizeof d);
    if (n < 13 || n > 19) return false;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1. */
static bool iban_ok(lt_str s)
{
    char c[40];
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == ' ') continue;
        if (n >= sizeof c) return false;
        c[n++] = s.ptr[i];
    }
    if (n < 15 || n > 34) return false;
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char ch = c[(k + 4) % n];
        if (ch >= '0' && ch <= '9')
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else if (ch >= 'A' && ch <= 'Z')
            rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
        else
            return false;
    }
    return rem == 1;
}

/* E.164 allows at most 15 digits; fewer than 8 is more likely a number than a phone. */
static bool phone_ok(lt_str s)
{
    char d[32];
    size_t n = digits_of(s, d, sizeof d);
    return n >= 8 && n <= 15;
}

static bool check_ok(check_kind k, lt_str m)
{
    switch (k) {
    case CHECK_LUHN:
        return luhn_ok(m);
    case CHECK_IBAN:
        return iban_ok(m);
    case CHECK_PHONE:
        return phone_ok(m);
    case CHECK_NONE:
        return true;
    }
    return true;
}

/* ------------------------------------------------------------------------------------ */
/* Settings                                                                             */
/* ------------------------------------------------------------------------------------ */

const cfg_option redact_options[] = {
    {"allow_all_keys", CFG_OPT_BOOL, "keep every key (else only allowed_keys)"},
    {"allowed_keys", CFG_OPT_LIST, "keys kept when allow_all_keys is false"},
    {"ignored_keys", CFG_OPT_LIST, "keys never inspected"},
    {"blocked_key_patterns", CFG_OPT_LIST, "regexes: matching keys have their value masked"},
    {"blocked_values", CFG_OPT_LIST, "regexes masked inside values"},
    {"allowed_values", CFG_OPT_LIST, "regexes: matches that are one of these are kept"},
    {"hash_function", CFG_OPT_STRING, "none, md5, sha1 or sha256"},
    {"summary", CFG_OPT_STRING, "debug, info or silent"},
    {"patterns", CFG_OPT_LIST, "built-in detectors: email, phone, credit_card, iban, api_key"},
    {"mask", CFG_OPT_STRING, "the replacement text (default ****)"},
    {"structured", CFG_OPT_BOOL, "mask inside JSON values, keeping them valid (default true)"},
    {NULL, 0, NULL},
};

/* Compiles a pattern; 0, LT_ENOMEM or LT_EINVAL with a message positioned at n. */
static int compile(const cfg_doc *d, const cfg_node *n, const char *what, const char *src,
                   pcre2_code **out, char *err, size_t errlen)
{
    char msg[160];
    size_t at;
    int rc = regex_compile(src, strlen(src), out, msg, sizeof msg, &at);
    if (rc == LT_EINVAL)
        return cfg_error(d, n, err, errlen, "%s: invalid pattern '%s' at offset %zu: %s", what, src,
                         at, msg);
    return rc;
}

static int read_strings(const cfg_doc *d, const cfg_node *list, const char *where, const char *opt,
                        char ***out, uint32_t *n, char *err, size_t errlen)
{
    if (!list || list->kind == CFG_NULL) return 0;
    if (list->n > MAX_KEYS)
        return cfg_error(d, list, err, errlen, "%s.%s: more than %d entries", where, opt, MAX_KEYS);
    *out = lt_calloc(list->n + 1, sizeof **out);
    if (!*out) return LT_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        char what[256];
        snprintf(what, sizeof what, "%s.%s[%zu]", where, opt, i);
        const char *s;
        int rc = cfg_string(d, list->items[i], what, &s, err, errlen);
        if (rc) return rc;
        if (!((*out)[(*n)++] = lt_strndup(s, strlen(s)))) return LT_ENOMEM;
    }
    return 0;
}

static int read_patterns(const cfg_doc *d, const cfg_node *list, const char *where, const char *opt,
                         pcre2_code **out, uint32_t *n, bool as_values, pattern *pv, char *err,
                         size_t errlen)
{
    if (!list || list->kind == CFG_NULL) return 0;
    for (size_t i = 0; i < list->n; i++) {
        char what[256];
        snprintf(what, sizeof what, "%s.%s[%zu]", where, opt, i);
        const char *s;
        int rc = cfg_string(d, list->items[i], what, &s, err, errlen);
        if (rc) return rc;
        if (*n >= MAX_PATTERNS)
            return cfg_error(d, list->items[i], err, errlen, "%s: more than %d patterns", what,
                             MAX_PATTERNS);
        pcre2_code *re = NULL;
        if ((rc = compile(d, list->items[i], what, s, &re, err, errlen))) return rc;
        if (as_values)
            pv[(*n)++] = (pattern){re, CHECK_NONE, NULL};
        else
            out[(*n)++] = re;
    }
    return 0;
}

void redact_free(redact *r)
{
    if (!r) return;
    for (uint32_t i = 0; i < r->n_allowed; i++)
        lt_free(r->allowed[i]);
    for (uint32_t i = 0; i < r->n_ignored; i++)
        lt_free(r->ignored[i]);
    lt_free(r->allowed);
    lt_free(r->ignored);
    for (uint32_t i = 0; i < r->n_blocked_keys; i++)
        pcre2_code_free(r->blocked_keys[i]);
    for (uint32_t i = 0; i < r->n_values; i++)
        pcre2_code_free(r->values[i].re);
    for (uint32_t i = 0; i < r->n_allowed_values; i++)
        pcre2_code_free(r->allowed_values[i]);
    lt_free(r->mask_buf);
    lt_free(r);
}

static int create(const cfg_doc *d, const cfg_node *s, const char *where, redact *r, char *err,
                  size_t errlen)
{
    char what[256];
    int rc = cfg_check_options(d, s, redact_options, where, err, errlen);
    if (rc) return rc;
    const cfg_node *n;
    r->structured = true;
    if ((n = cfg_get(s, "allow_all_keys"))) {
        snprintf(what, sizeof what, "%s.allow_all_keys", where);
        if ((rc = cfg_bool(d, n, what, &r->allow_all_keys, err, errlen))) return rc;
    }
    if ((n = cfg_get(s, "structured"))) {
        snprintf(what, sizeof what, "%s.structured", where);
        if ((rc = cfg_bool(d, n, what, &r->structured, err, errlen))) return rc;
    }
    if ((rc = read_strings(d, cfg_get(s, "allowed_keys"), where, "allowed_keys", &r->allowed,
                           &r->n_allowed, err, errlen)) ||
        (rc = read_strings(d, cfg_get(s, "ignored_keys"), where, "ignored_keys", &r->ignored,
                           &r->n_ignored, err, errlen)) ||
        (rc = read_patterns(d, cfg_get(s, "blocked_key_patterns"), where, "blocked_key_patterns",
                            r->blocked_keys, &r->n_blocked_keys, false, NULL, err, errlen)) ||
        (rc = read_patterns(d, cfg_get(s, "blocked_values"), where, "blocked_values", NULL,
                            &r->n_values, true, r->values, err, errlen)) ||
        (rc = read_patterns(d, cfg_get(s, "allowed_values"), where, "allowed_values",
                            r->allowed_values, &r->n_allowed_values, false, NULL, err, errlen)))
        return rc;
    const cfg_node *pl = cfg_get(s, "patterns");
    for (size_t i = 0; pl && pl->kind == CFG_SEQ && i < pl->n; i++) {
        const char *name;
        snprintf(what, sizeof what, "%s.patterns[%zu]", where, i);
        if ((rc = cfg_string(d, pl->items[i], what, &name, err, errlen))) return rc;
        bool found = false;
        for (size_t b = 0; b < sizeof BUILTINS / sizeof BUILTINS[0]; b++) {
            if (strcmp(BUILTINS[b].name, name) != 0) continue;
            found = true;
            if (r->n_values >= MAX_PATTERNS)
                return cfg_error(d, pl->items[i], err, errlen, "%s: too many patterns", what);
            pcre2_code *re;
            if ((rc = compile(d, pl->items[i], what, BUILTINS[b].re, &re, err, errlen))) return rc;
            r->values[r->n_values++] = (pattern){re, BUILTINS[b].check, &BUILTINS[b].pre};
        }
        if (!found)
            return cfg_error(d, pl->items[i], err, errlen,
                             "%s: unknown pattern '%s' (there are %s)", what, name, BUILTIN_NAMES);
    }
    const char *m = "****";
    if ((n = cfg_get(s, "mask"))) {
        snprintf(what, sizeof what, "%s.mask", where);
        if ((rc = cfg_string(d, n, what, &m, err, errlen))) return rc;
    }
    if (!(r->mask_buf = lt_strndup(m, strlen(m)))) return LT_ENOMEM;
    r->mask = (lt_str){r->mask_buf, strlen(m)};
    if ((n = cfg_get(s, "summary"))) {
        const char *v;
        snprintf(what, sizeof what, "%s.summary", where);
        if ((rc = cfg_string(d, n, what, &v, err, errlen))) return rc;
        if (!strcmp(v, "debug"))
            r->summary = SUM_DEBUG;
        else if (!strcmp(v, "info"))
            r->summary = SUM_INFO;
        else if (!strcmp(v, "silent"))
            r->summary = SUM_SILENT;
        else
            return cfg_error(d, n, err, errlen, "%s: '%s' is not debug, info or silent", what, v);
    }
    if ((n = cfg_get(s, "hash_function"))) {
        const char *v;
        snprintf(what, sizeof what, "%s.hash_function", where);
        if ((rc = cfg_string(d, n, what, &v, err, errlen))) return rc;
        if (!strcmp(v, "none") || !*v)
            r->hash = HASH_NONE;
        else if (!strcmp(v, "md5"))
            r->hash = HASH_MD5;
        else if (!strcmp(v, "sha1"))
            r->hash = HASH_SHA1;
        else if (!strcmp(v, "sha256") || !strcmp(v, "sha3"))
            r->hash = HASH_SHA256;
        else
            return cfg_error(d, n, err, errlen, "%s: '%s' is not none, md5, sha1 or sha256", what,
                             v);
    }
    return 0;
}

int redact_create(const cfg_doc *d, const cfg_node *settings, const char *where, redact **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (!where) where = "processors.redaction";
    redact *r = lt_calloc(1, sizeof *r);
    if (!r) return LT_ENOMEM;
    int rc = create(d, settings, where, r, err, errlen);
    if (rc) {
        redact_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Masking strings                                                                      */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const redact *r;
    lt_arena *a;
    pcre2_match_data *md;
    lt_buf buf;
    int err;
} run;

/* Whether a blocked key pattern matches key. A pattern that hits PCRE2's match limits
 * counts as matching: redaction fails closed. */
static bool key_blocked(run *x, const pcre2_code *re, lt_str key)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)(key.ptr ? key.ptr : ""), key.len, 0, 0, x->md, NULL);
    if (rc == PCRE2_ERROR_NOMEMORY) x->err = LT_ENOMEM;
    return rc >= 0 || rc != PCRE2_ERROR_NOMATCH;
}

static bool value_allowed(run *x, lt_str m)
{
    for (uint32_t i = 0; i < x->r->n_allowed_values; i++) {
        /* anchored check: the allowed pattern must cover the whole match */
        int rc = pcre2_match(x->r->allowed_values[i], (PCRE2_SPTR)m.ptr, m.len, 0,
                             PCRE2_ANCHORED | PCRE2_ENDANCHORED, x->md, NULL);
        if (rc >= 0) return true;
        if (rc == PCRE2_ERROR_NOMEMORY) x->err = LT_ENOMEM; /* else a limit: not allowed */
    }
    return false;
}

static void put_replacement(run *x, lt_buf *b, lt_str m)
{
    if (x->r->hash != HASH_NONE) {
        const EVP_MD *md = x->r->hash == HASH_MD5    ? EVP_md5()
                           : x->r->hash == HASH_SHA1 ? EVP_sha1()
                                                     : EVP_sha256();
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!EVP_Digest(m.ptr, m.len, dg, &n, md, NULL)) {
            x->err = LT_ENOMEM;
            return;
        }
        static const char hx[] = "0123456789abcdef";
        for (unsigned i = 0; i < n; i++) {
            buf_putc(b, hx[dg[i] >> 4]);
            buf_putc(b, hx[dg[i] & 15]);
        }
        return;
    }
    buf_append_str(b, x->r->mask);
}

/* lit is lower case. */
static bool has_ci(lt_str s, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= s.len; i++)
        if ((s.ptr[i] | 0x20) == lit[0] && strncasecmp(s.ptr + i, lit, n) == 0) return true;
    return false;
}

static bool has(lt_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (n == 1) return memchr(s.ptr, lit[0], s.len) != NULL;
    return memmem(s.ptr, s.len, lit, n) != NULL;
}

/* False when s cannot match a pattern with this prefilter. */
static bool may_match(const prefilter *f, lt_str s)
{
    if (!f) return true;
    if (f->need_digit) {
        bool digit = false;
        for (size_t i = 0; i < s.len && !digit; i++)
            digit = s.ptr[i] >= '0' && s.ptr[i] <= '9';
        if (!digit) return false;
    }
    if (!f->need[0]) return true;
    for (int i = 0; i < 3 && f->need[i]; i++)
        if (f->need_ci ? has_ci(s, f->need[i]) : has(s, f->need[i])) return true;
    return false;
}

/* Replaces the matches of p in s. Returns the number replaced; the text is in x->buf. */
static uint32_t mask_one(run *x, const pattern *p, lt_str s)
{
    uint32_t n = 0;
    size_t pos = 0, copied = 0;
    if (!s.len || !may_match(p->pre, s)) return 0;
    buf_reset(&x->buf);
    while (pos <= s.len) {
        int rc = pcre2_match(p->re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, pos, 0, x->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc == PCRE2_ERROR_NOMEMORY) {
            x->err = LT_ENOMEM;
            return 0;
        }
        if (rc < 0) { /* a match limit: fail closed, the whole value is masked */
            buf_reset(&x->buf);
            put_replacement(x, &x->buf, s);
            if (x->buf.oom) x->err = LT_ENOMEM;
            return 1;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* an empty match masks nothing; step over one character */
            pos = ms + 1;
            while (pos < s.len && ((unsigned char)s.ptr[pos] & 0xC0) == 0x80)
                pos++;
            continue;
        }
        lt_str m = {s.ptr + ms, me - ms};
        if (check_ok(p->check, m) && !value_allowed(x, m)) {
            buf_append(&x->buf, s.ptr + copied, ms - copied);
            put_replacement(x, &x->buf, m);
            copied = me;
            n++;
        }
        pos = me;
    }
    if (n) buf_append(&x->buf, s.ptr + copied, s.len - copied);
    if (x->buf.oom) x->err = LT_ENOMEM;
    return n;
}

/* Masks plain text with every value pattern. */
static uint32_t mask_text(run *x, lt_str s, lt_str *out)
{
    *out = s;
    uint32_t total = 0;
    for (uint32_t i = 0; i < x->r->n_values && !x->err; i++) {
        uint32_t n = mask_one(x, &x->r->values[i], *out);
        if (!n) continue;
        lt_str c = arena_strdup(x->a, (lt_str){x->buf.data, x->buf.len});
        if (!c.ptr) {
            x->err = LT_ENOMEM;
            return total;
        }
        *out = c;
        total += n;
    }
    return total;
}

static bool looks_like_json(lt_str s)
{
    size_t i = 0;
    while (i < s.len &&
           (s.ptr[i] == ' ' || s.ptr[i] == '\n' || s.ptr[i] == '\t' || s.ptr[i] == '\r'))
        i++;
    return i < s.len && (s.ptr[i] == '{' || s.ptr[i] == '[');
}

static uint32_t mask_string(run *x, lt_str s, lt_str *out, int nesting);

/* Masks the string values of a jansson tree in place; returns the replacements. */
static uint32_t mask_json(run *x, json_t *j, int nesting, int depth)
{
    if (depth > MAX_VALUE_DEPTH || x->err) return 0;
    uint32_t n = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) n += mask_json(x, v, nesting, depth + 1);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) n += mask_json(x, v, nesting, depth + 1);
    } else if (json_is_string(j)) {
        lt_str s = {json_string_value(j), json_string_length(j)}, o;
        uint32_t m = mask_string(x, s, &o, nesting + 1);
        if (m && json_string_setn(j, o.ptr, o.len)) x->err = LT_ENOMEM;
        n += m;
    }
    return n;
}

/* The fewest significant digits (15 to 17) that print every real of j back to the same
 * double. jansson prints all reals with one precision; 17 always round-trips but turns a
 * sent 0.7 into 0.69999999999999996, and senders' numbers (temperatures, scores) nearly all
 * round-trip at 15, so the JSON written back looks as sent. */
static int real_precision(json_t *j, int depth)
{
    int p = 15;
    if (depth > MAX_VALUE_DEPTH) return 17;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            int q = real_precision(v, depth + 1);
            if (q > p) p = q;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            int q = real_precision(v, depth + 1);
            if (q > p) p = q;
        }
    } else if (json_is_real(j)) {
        double d = json_real_value(j);
        for (p = 15; p < 17; p++) {
            char buf[40];
            snprintf(buf, sizeof buf, "%.*g", p, d);
            if (strtod(buf, NULL) == d) break;
        }
    }
    return p;
}

static int dump_to(const char *p, size_t n, void *arg)
{
    return buf_append(arg, p, n) ? -1 : 0;
}

static uint32_t mask_string(run *x, lt_str s, lt_str *out, int nesting)
{
    *out = s;
    if (x->err || !s.len) return 0;
    /* When no pattern can match the raw text, none can match a string inside it either, so
     * the JSON need not be parsed: without \u escapes every character of a decoded JSON
     * string is in the raw text, and the prefilters' literals hold no character that
     * another escape produces (quote, backslash, slash, controls). */
    bool possible = false;
    for (uint32_t i = 0; i < x->r->n_values && !possible; i++)
        possible = may_match(x->r->values[i].pre, s);
    if (!possible && !memmem(s.ptr, s.len, "\\u", 2)) return 0;
    if (x->r->structured && nesting <= MAX_JSON_NESTING && s.len <= MAX_JSON_BYTES &&
        looks_like_json(s)) {
        json_error_t je;
        json_t *j = json_loadb(s.ptr, s.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (j) {
            uint32_t n = mask_json(x, j, nesting, 0);
            if (n && !x->err) {
                lt_buf b = {0};
                if (json_dump_callback(j, dump_to, &b,
                                       JSON_COMPACT | JSON_REAL_PRECISION(real_precision(j, 0))) ||
                    b.oom) {
                    x->err = LT_ENOMEM;
                } else {
                    *out = arena_strdup(x->a, (lt_str){b.data, b.len});
                    if (!out->ptr) x->err = LT_ENOMEM;
                }
                buf_free(&b);
            }
            json_decref(j);
            return x->err ? 0 : n;
        }
    }
    return mask_text(x, s, out);
}

/* ------------------------------------------------------------------------------------ */
/* Attributes and values                                                                */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    lt_str masked_keys[MAX_SUMMARY_KEYS], redacted_keys[MAX_SUMMARY_KEYS];
    uint32_t n_masked_keys, n_redacted_keys;
    uint64_t masked, redacted, ignored;
} summary;

static void summary_reset(summary *sm)
{
    sm->n_masked_keys = sm->n_redacted_keys = 0;
    sm->masked = sm->redacted = sm->ignored = 0;
}

static void note(lt_str *keys, uint32_t *n, lt_str k)
{
    for (uint32_t i = 0; i < *n; i++)
        if (lt_str_eq(keys[i], k)) return;
    if (*n < MAX_SUMMARY_KEYS) keys[(*n)++] = k;
}

/* Masks the strings of v (recursively); returns the replacements. */
static uint32_t mask_value(run *x, lt_value *v, int depth)
{
    if (x->err || depth > MAX_VALUE_DEPTH) return 0;
    uint32_t n = 0;
    switch (v->type) {
    case LT_VAL_STRING: {
        lt_str o;
        n = mask_string(x, v->u.s, &o, 0);
        if (n) v->u.s = o;
        break;
    }
    case LT_VAL_ARRAY:
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            n += mask_value(x, &v->u.arr.items[i], depth + 1);
        break;
    case LT_VAL_KVLIST:
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            n += mask_value(x, &v->u.kv.items[i].value, depth + 1);
        break;
    default:
        break;
    }
    return n;
}

static bool in_keys(char *const *keys, uint32_t n, lt_str k)
{
    for (uint32_t i = 0; i < n; i++)
        if (lt_str_eq_c(k, keys[i])) return true;
    return false;
}

/* Applies the key rules and value masking to one attribute list. */
static bool redact_attrs(run *x, lt_attrs *a, summary *sm)
{
    const redact *r = x->r;
    bool changed = false;
    uint32_t o = 0;
    for (uint32_t i = 0; i < a->n && !x->err; i++) {
        lt_kv kv = a->items[i];
        if (in_keys(r->ignored, r->n_ignored, kv.key)) {
            sm->ignored++;
            a->items[o++] = kv;
            continue;
        }
        if (!r->allow_all_keys && !in_keys(r->allowed, r->n_allowed, kv.key)) {
            sm->redacted++;
            note(sm->redacted_keys, &sm->n_redacted_keys, kv.key);
            changed = true;
            continue;
        }
        bool blocked = false;
        for (uint32_t p = 0; p < r->n_blocked_keys && !blocked; p++)
            blocked = key_blocked(x, r->blocked_keys[p], kv.key);
        if (blocked) {
            bool same = kv.value.type == LT_VAL_STRING && lt_str_eq(kv.value.u.s, r->mask);
            if (!same) {
                kv.value = (lt_value){.type = LT_VAL_STRING, .u.s = r->mask};
                if (r->hash != HASH_NONE && a->items[i].value.type == LT_VAL_STRING) {
                    buf_reset(&x->buf);
                    put_replacement(x, &x->buf, a->items[i].value.u.s);
                    kv.value.u.s = arena_strdup(x->a, (lt_str){x->buf.data, x->buf.len});
                    if (!kv.value.u.s.ptr) x->err = LT_ENOMEM;
                }
                sm->masked++;
                note(sm->masked_keys, &sm->n_masked_keys, kv.key);
                changed = true;
            }
        } else {
            uint32_t n = mask_value(x, &kv.value, 0);
            if (n) {
                sm->masked += n;
                note(sm->masked_keys, &sm->n_masked_keys, kv.key);
                changed = true;
            }
        }
        a->items[o++] = kv;
    }
    if (!x->err) a->n = o;
    return changed;
}

static int cmp_str(const void *pa, const void *pb)
{
    const lt_str *a = pa, *b = pb;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = m ? memcmp(a->ptr, b->ptr, m) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void put_attr(run *x, lt_kv *items, uint32_t *n, const char *key, lt_value v)
{
    (void)x;
    items[(*n)++] = (lt_kv){lt_str_c(key), v};
}

static lt_value joined(run *x, lt_str *keys, uint32_t n)
{
    qsort(keys, n, sizeof *keys, cmp_str);
    buf_reset(&x->buf);
    for (uint32_t i = 0; i < n; i++) {
        if (i) buf_putc(&x->buf, ',');
        buf_append_str(&x->buf, keys[i]);
    }
    lt_str s = arena_strdup(x->a, (lt_str){x->buf.data ? x->buf.data : "", x->buf.len});
    if (!s.ptr || x->buf.oom) x->err = LT_ENOMEM;
    return (lt_value){.type = LT_VAL_STRING, .u.s = s};
}

/* Adds the redaction.* attributes the collector adds (only for what happened). */
static void add_summary(run *x, lt_attrs *a, summary *sm)
{
    if (x->r->summary == SUM_SILENT || (!sm->masked && !sm->redacted && !sm->ignored)) return;
    lt_kv *items = arena_alloc(x->a, ((size_t)a->n + 5) * sizeof *items);
    if (!items) {
        x->err = LT_ENOMEM;
        return;
    }
    if (a->n) memcpy(items, a->items, a->n * sizeof *items);
    uint32_t n = a->n;
    bool debug = x->r->summary == SUM_DEBUG;
    if (sm->redacted) {
        if (debug)
            put_attr(x, items, &n, "redaction.redacted.keys",
                     joined(x, sm->redacted_keys, sm->n_redacted_keys));
        put_attr(x, items, &n, "redaction.redacted.count",
                 (lt_value){.type = LT_VAL_INT, .u.i = (int64_t)sm->redacted});
    }
    if (sm->masked) {
        if (debug)
            put_attr(x, items, &n, "redaction.masked.keys",
                     joined(x, sm->masked_keys, sm->n_masked_keys));
        put_attr(x, items, &n, "redaction.masked.count",
                 (lt_value){.type = LT_VAL_INT, .u.i = (int64_t)sm->masked});
    }
    if (sm->ignored)
        put_attr(x, items, &n, "redaction.ignored.count",
                 (lt_value){.type = LT_VAL_INT, .u.i = (int64_t)sm->ignored});
    a->items = items;
    a->n = n;
}

static int run_init(run *x, const redact *r, lt_arena *a)
{
    memset(x, 0, sizeof *x);
    x->r = r;
    x->a = a;
    x->md = regex_match_data(16);
    return x->md ? 0 : LT_ENOMEM;
}

static void run_done(run *x)
{
    pcre2_match_data_free(x->md);
    buf_free(&x->buf);
}

/* Ends a run over a batch; returns its error. */
static int batch_end(run *x, summary *sm)
{
    int rc = x->err;
    run_done(x);
    lt_free(sm);
    return rc;
}

/* Starts a run over a batch, with the summary it fills item by item (allocated: the keys it
 * lists make it large). 0, or LT_ENOMEM with nothing left to free. */
static int batch_begin(run *x, const redact *r, lt_arena *a, summary **sm)
{
    *sm = lt_malloc(sizeof **sm);
    if (run_init(x, r, a) || !*sm) {
        batch_end(x, *sm);
        return LT_ENOMEM;
    }
    return 0;
}

/* Applies the rules to the attributes of one item (resource, scope, span, log record),
 * counting into a fresh summary. */
static bool redact_item(run *x, lt_attrs *a, summary *sm)
{
    summary_reset(sm);
    return redact_attrs(x, a, sm);
}

int redact_string(const redact *r, lt_str s, lt_arena *a, lt_str *out, uint32_t *masked)
{
    run x;
    *out = s;
    if (masked) *masked = 0;
    if (run_init(&x, r, a)) {
        run_done(&x);
        return LT_ENOMEM;
    }
    uint32_t n = mask_string(&x, s, out, 0);
    int rc = x.err;
    run_done(&x);
    if (rc) {
        *out = s;
        return rc;
    }
    if (masked) *masked = n;
    return 0;
}

int redact_traces(const redact *r, lt_trace_batch *b, lt_arena *a)
{
    run x;
    summary *sm;
    if (batch_begin(&x, r, a, &sm)) return LT_ENOMEM;
    for (uint32_t i = 0; i < b->n_rs && !x.err; i++) {
        lt_resource_spans *rs = &b->rs[i];
        bool res_changed = redact_item(&x, &rs->resource.attrs, sm);
        for (uint32_t j = 0; j < rs->n_scopes && !x.err; j++) {
            lt_scope_spans *ss = &rs->scopes[j];
            bool sc_changed = redact_item(&x, &ss->scope.attrs, sm) || res_changed;
            for (uint32_t k = 0; k < ss->n_spans && !x.err; k++) {
                lt_span *s = &ss->spans[k];
                bool changed = redact_item(&x, &s->attrs, sm);
                for (uint32_t e = 0; e < s->events.n; e++)
                    changed |= redact_attrs(&x, &s->events.items[e].attrs, sm);
                for (uint32_t l = 0; l < s->links.n; l++)
                    changed |= redact_attrs(&x, &s->links.items[l].attrs, sm);
                add_summary(&x, &s->attrs, sm);
                if ((changed || sc_changed) && !x.err) {
                    int rc = genai_refresh(s, &rs->resource, &ss->scope, a);
                    if (rc) x.err = rc;
                }
            }
        }
    }
    return batch_end(&x, sm);
}

int redact_logs(const redact *r, lt_log_batch *b, lt_arena *a)
{
    run x;
    summary *sm;
    if (batch_begin(&x, r, a, &sm)) return LT_ENOMEM;
    for (uint32_t i = 0; i < b->n_rl && !x.err; i++) {
        lt_resource_logs *rl = &b->rl[i];
        redact_item(&x, &rl->resource.attrs, sm);
        for (uint32_t j = 0; j < rl->n_scopes && !x.err; j++) {
            lt_scope_logs *sl = &rl->scopes[j];
            redact_item(&x, &sl->scope.attrs, sm);
            for (uint32_t k = 0; k < sl->n_records && !x.err; k++) {
                lt_log_record *lr = &sl->records[k];
                redact_item(&x, &lr->attrs, sm);
                uint32_t n = mask_value(&x, &lr->body, 0);
                if (n) {
                    sm->masked += n;
                    note(sm->masked_keys, &sm->n_masked_keys, LT_STR("body"));
                }
                add_summary(&x, &lr->attrs, sm);
            }
        }
    }
    return batch_end(&x, sm);
}
