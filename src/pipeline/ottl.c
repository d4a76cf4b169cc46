/* ottl.c — parsing and running a subset of OTTL statements (see ottl.h).
 *
 * Design. A statement is tokenized in full first (strings unquoted then, so a bad escape is
 * reported at its column), then parsed by recursive descent into nodes allocated in the
 * statement's own arena, together with its compiled patterns. Paths are resolved against
 * the context at parse time into a field and an optional key, so running a statement is a
 * switch per node and never looks at names again. Values while running are small tagged
 * structs (rval) that point into the batch; only what a statement writes is allocated, in
 * the target's arena. Attribute lists grow by copying into the arena (the old array stays
 * where it was) and shrink in place. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pipeline/ottl.h"

#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "pipeline/regex.h"

enum { MAX_TOKENS = 4096, MAX_REGEX = 64 };

/* ------------------------------------------------------------------------------------ */
/* Tokens                                                                               */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    T_END,
    T_IDENT,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_DOT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
} tok_type;

typedef struct {
    tok_type t;
    unsigned col; /* 1-based */
    lt_str text;  /* IDENT: the name; STRING: the unquoted value (in the arena) */
    int64_t i;
    double d;
} token;

/* ------------------------------------------------------------------------------------ */
/* Tree                                                                                 */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    F_ATTRS,       /* the context's own attributes */
    F_RES_ATTRS,   /* resource.attributes */
    F_SCOPE_ATTRS, /* instrumentation_scope.attributes */
    F_SPAN_ATTRS,  /* span.attributes (spanevent) */
    F_NAME,        /* the context's own name (span, event, scope) */
    F_SPAN_NAME,   /* span.name (spanevent) */
    F_KIND,        /* span kind */
    F_STATUS_CODE, /* span status code */
    F_STATUS_MSG,  /* span status message */
    F_SCOPE_NAME,  /* instrumentation_scope.name */
    F_SCOPE_VERSION /* instrumentation_scope.version */,
    F_BODY,
    F_SEV_NUM,
    F_SEV_TEXT,
    F_EVENT_NAME, /* log event_name */
} field;

typedef enum { V_NIL, V_STR, V_INT, V_DBL, V_BOOL, V_MAP, V_OTHER } vkind;

typedef struct {
    vkind k;
    lt_str s;
    int64_t i;
    double d;
    bool b;
    lt_attrs *map;         /* V_MAP */
    const lt_value *other; /* V_OTHER (arrays, bytes), and the source of V_MAP when a value */
} rval;

typedef enum {
    N_LIT,
    N_PATH,
    N_LIST,
    N_ISMATCH,
    N_CONV, /* a converter other than IsMatch (conv says which) */
    N_CMP,
    N_AND,
    N_OR,
    N_NOT,
} node_type;

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

/* Converters besides IsMatch: the ones filter conditions use, none of which allocates. */
typedef enum {
    CV_HAS_PREFIX,
    CV_HAS_SUFFIX,
    CV_IS_STRING,
    CV_IS_INT,
    CV_IS_DOUBLE,
    CV_IS_BOOL,
    CV_IS_MAP,
    CV_IS_LIST,
    CV_LEN, /* the only one that is not a boolean */
} converter;

typedef struct node node;
struct node {
    node_type t;
    unsigned col;
    rval lit;       /* N_LIT */
    field f;        /* N_PATH */
    bool has_key;   /* N_PATH: attributes["k"] */
    lt_str key;     /* N_PATH */
    node **items;   /* N_LIST items; N_AND/N_OR/N_CMP/N_NOT operands; N_ISMATCH [value];
                       N_CONV arguments */
    uint32_t n;     /* of items */
    cmp_op op;      /* N_CMP */
    pcre2_code *re; /* N_ISMATCH */
    converter conv; /* N_CONV */
};

typedef enum {
    E_SET,
    E_DELETE_KEY,
    E_DELETE_MATCHING_KEYS,
    E_KEEP_KEYS,
    E_REPLACE_PATTERN,
    E_REPLACE_ALL_PATTERNS,
    E_TRUNCATE_ALL,
    E_LIMIT,
} editor;

struct ottl_stmt {
    lt_arena *a;
    char *text;
    ottl_context ctx;
    editor ed;
    node *args[OTTL_MAX_ARGS];
    uint32_t nargs;
    node *where;    /* NULL: always */
    pcre2_code *re; /* the editor's pattern */
    lt_str repl;    /* replace_*: the replacement */
    bool by_key;    /* replace_all_patterns: "key" mode */
    int64_t limit;  /* truncate_all, limit */
    pcre2_code *regexes[MAX_REGEX];
    uint32_t nregex;
};

/* A condition is a statement with only its where clause; the wrapper keeps the two apart
 * in the API, so a condition can never be run as a statement. */
struct ottl_cond {
    ottl_stmt st;
};

/* ------------------------------------------------------------------------------------ */
/* Parser                                                                               */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    ottl_stmt *st;
    const char *src;
    size_t len;
    token *toks;
    uint32_t ntok, pos;
    int depth;
    int rc;
    unsigned errcol;
    char *err;
    size_t errlen;
} parser;

__attribute__((format(printf, 3, 4))) static int fail(parser *p, unsigned col, const char *fmt, ...)
{
    if (p->rc) return p->rc;
    p->rc = LT_EINVAL;
    p->errcol = col;
    if (p->err && p->errlen) {
        int n = snprintf(p->err, p->errlen, "column %u: ", col);
        if (n >= 0 && (size_t)n < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return p->rc;
}

static int oom(parser *p)
{
    if (!p->rc) p->rc = LT_ENOMEM;
    return p->rc;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the string literal starting at src[*i] (the opening quote) with the escapes of a Go
 * interpreted string literal, which is how OTTL unquotes its strings: \a \b \f \n \r \t \v
 * \\ \" \xHH \OOO \uHHHH \UHHHHHHHH. So a YAML plain scalar "\\d" reaches the pattern as \d. */
static int lex_string(parser *p, size_t *i, token *tk)
{
    size_t start = *i;
    char *out = arena_alloc(p->st->a, p->len - start + 1);
    if (!out) return oom(p);
    size_t o = 0, j = start + 1;
    for (;;) {
        if (j >= p->len) return fail(p, (unsigned)start + 1, "unterminated string");
        char c = p->src[j];
        if (c == '"') break;
        if (c == '\n') return fail(p, (unsigned)j + 1, "newline in string");
        if (c != '\\') {
            out[o++] = c;
            j++;
            continue;
        }
        unsigned ecol = (unsigned)j + 1;
        if (j + 1 >= p->len) return fail(p, ecol, "unterminated string");
        char e = p->src[j + 1];
        j += 2;
        switch (e) {
        case 'a':
            out[o++] = '\a';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'v':
            out[o++] = '\v';
            break;
        case '\\':
            out[o++] = '\\';
            break;
        case '"':
            out[o++] = '"';
            break;
        case 'x': {
            if (j + 2 > p->len || hexval(p->src[j]) < 0 || hexval(p->src[j + 1]) < 0)
                return fail(p, ecol, "invalid \\x escape in string");
            out[o++] = (char)(hexval(p->src[j]) * 16 + hexval(p->src[j + 1]));
            j += 2;
            break;
        }
        case 'u':
        case 'U': {
            int nd = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            if (j + (size_t)nd > p->len) return fail(p, ecol, "invalid \\%c escape in string", e);
            for (int k = 0; k < nd; k++) {
                int h = hexval(p->src[j + (size_t)k]);
                if (h < 0) return fail(p, ecol, "invalid \\%c escape in string", e);
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return fail(p, ecol, "invalid code point in \\%c escape", e);
            j += (size_t)nd;
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                if (j + 2 > p->len || p->src[j] < '0' || p->src[j] > '7' || p->src[j + 1] < '0' ||
                    p->src[j + 1] > '7')
                    return fail(p, ecol, "invalid octal escape in string");
                int v = (e - '0') * 64 + (p->src[j] - '0') * 8 + (p->src[j + 1] - '0');
                if (v > 255) return fail(p, ecol, "octal escape above \\377 in string");
                out[o++] = (char)v;
                j += 2;
                break;
            }
            return fail(p, ecol, "unknown escape \\%c in string (write \\\\ for a backslash)", e);
        }
    }
    out[o] = 0;
    tk->t = T_STRING;
    tk->text = (lt_str){out, o};
    *i = j + 1;
    return 0;
}

static int lex_number(parser *p, size_t *i, token *tk)
{
    size_t s = *i, j = *i;
    if (p->src[j] == '-' || p->src[j] == '+') j++;
    bool is_float = false;
    while (j < p->len && is_digit(p->src[j]))
        j++;
    if (j < p->len && p->src[j] == '.') {
        is_float = true;
        j++;
        while (j < p->len && is_digit(p->src[j]))
            j++;
    }
    if (j < p->len && (p->src[j] == 'e' || p->src[j] == 'E')) {
        is_float = true;
        j++;
        if (j < p->len && (p->src[j] == '-' || p->src[j] == '+')) j++;
        while (j < p->len && is_digit(p->src[j]))
            j++;
    }
    char buf[64];
    if (j - s >= sizeof buf) return fail(p, (unsigned)s + 1, "number too long");
    memcpy(buf, p->src + s, j - s);
    buf[j - s] = 0;
    char *end;
    errno = 0;
    if (is_float) {
        tk->t = T_FLOAT;
        tk->d = strtod(buf, &end);
        if (*end || !isfinite(tk->d)) return fail(p, (unsigned)s + 1, "invalid number");
    } else {
        tk->t = T_INT;
        tk->i = strtoll(buf, &end, 10);
        if (*end || errno || end == buf) return fail(p, (unsigned)s + 1, "invalid integer");
    }
    *i = j;
    return 0;
}

static int tokenize(parser *p)
{
    size_t cap = 64;
    p->toks = arena_alloc(p->st->a, cap * sizeof(token));
    if (!p->toks) return oom(p);
    size_t i = 0;
    for (;;) {
        while (i < p->len &&
               (p->src[i] == ' ' || p->src[i] == '\t' || p->src[i] == '\n' || p->src[i] == '\r'))
            i++;
        if (p->ntok == cap) {
            if (cap >= MAX_TOKENS) return fail(p, (unsigned)i + 1, "statement has too many tokens");
            token *nt = arena_alloc(p->st->a, cap * 2 * sizeof(token));
            if (!nt) return oom(p);
            memcpy(nt, p->toks, cap * sizeof(token));
            p->toks = nt;
            cap *= 2;
        }
        token *tk = &p->toks[p->ntok];
        memset(tk, 0, sizeof *tk);
        tk->col = (unsigned)i + 1;
        if (i >= p->len) {
            tk->t = T_END;
            p->ntok++;
            return 0;
        }
        char c = p->src[i];
        char n = i + 1 < p->len ? p->src[i + 1] : 0;
        if (is_ident_start(c)) {
            size_t s = i;
            while (i < p->len && (is_ident_start(p->src[i]) || is_digit(p->src[i])))
                i++;
            tk->t = T_IDENT;
            tk->text = (lt_str){p->src + s, i - s};
        } else if (c == '"') {
            if (lex_string(p, &i, tk)) return p->rc;
        } else if (is_digit(c) || ((c == '-' || c == '+') && (is_digit(n) || n == '.'))) {
            if (lex_number(p, &i, tk)) return p->rc;
        } else if (c == '=' && n == '=') {
            tk->t = T_EQ, i += 2;
        } else if (c == '!' && n == '=') {
            tk->t = T_NE, i += 2;
        } else if (c == '<') {
            tk->t = n == '=' ? T_LE : T_LT, i += n == '=' ? 2 : 1;
        } else if (c == '>') {
            tk->t = n == '=' ? T_GE : T_GT, i += n == '=' ? 2 : 1;
        } else {
            static const char punct[] = "()[],.";
            static const tok_type pt[] = {T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_DOT};
            const char *q = strchr(punct, c);
            if (!q || !c) {
                if (c == '=') return fail(p, (unsigned)i + 1, "'=' is not an operator (use ==)");
                return fail(p, (unsigned)i + 1, "unexpected character '%c'",
                            (c >= 32 && c < 127) ? c : '?');
            }
            tk->t = pt[q - punct];
            i++;
        }
        p->ntok++;
    }
}

static token *peek(parser *p)
{
    return &p->toks[p->pos];
}

static token *next(parser *p)
{
    token *t = &p->toks[p->pos];
    if (t->t != T_END) p->pos++;
    return t;
}

static bool ident_is(const token *t, const char *s)
{
    return t->t == T_IDENT && lt_str_eq_c(t->text, s);
}

static const char *tok_desc(const token *t)
{
    switch (t->t) {
    case T_END:
        return "end of statement";
    case T_IDENT:
        return "a name";
    case T_STRING:
        return "a string";
    case T_INT:
    case T_FLOAT:
        return "a number";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    case T_LBRACK:
        return "'['";
    case T_RBRACK:
        return "']'";
    case T_COMMA:
        return "','";
    case T_DOT:
        return "'.'";
    default:
        return "an operator";
    }
}

static int expect(parser *p, tok_type t, const char *what)
{
    token *tk = next(p);
    if (tk->t != t) return fail(p, tk->col, "expected %s, found %s", what, tok_desc(tk));
    return 0;
}

static node *new_node(parser *p, node_type t, unsigned col)
{
    node *n = arena_calloc(p->st->a, 1, sizeof *n);
    if (!n) {
        oom(p);
        return NULL;
    }
    n->t = t;
    n->col = col;
    return n;
}

static pcre2_code *compile_re(parser *p, lt_str pat, unsigned col)
{
    if (p->st->nregex >= MAX_REGEX) {
        fail(p, col, "too many patterns in one statement");
        return NULL;
    }
    pcre2_code *re = NULL;
    char msg[160];
    size_t at = 0;
    int rc = regex_compile(pat.ptr, pat.len, &re, msg, sizeof msg, &at);
    if (rc == LT_ENOMEM) oom(p);
    if (rc == LT_EINVAL) fail(p, col, "invalid pattern at offset %zu: %s", at, msg);
    if (rc) return NULL;
    p->st->regexes[p->st->nregex++] = re;
    return re;
}

/* Path names per context. A prefix naming the context itself ("span.name" in span) is
 * accepted as in newer collector releases; "scope." abbreviates "instrumentation_scope.". */
typedef struct {
    const char *name;
    unsigned ctx_mask; /* 1 << ottl_context */
    field f;
    bool map; /* takes a ["key"] */
} path_def;

#define C(x) (1u << OTTL_CTX_##x)
static const path_def PATHS[] = {
    {"attributes", C(RESOURCE) | C(SCOPE) | C(SPAN) | C(SPANEVENT) | C(LOG), F_ATTRS, true},
    {"resource.attributes", C(RESOURCE) | C(SCOPE) | C(SPAN) | C(SPANEVENT) | C(LOG), F_RES_ATTRS,
     true},
    {"instrumentation_scope.attributes", C(SCOPE) | C(SPAN) | C(SPANEVENT) | C(LOG), F_SCOPE_ATTRS,
     true},
    {"instrumentation_scope.name", C(SCOPE) | C(SPAN) | C(SPANEVENT) | C(LOG), F_SCOPE_NAME, false},
    {"instrumentation_scope.version", C(SCOPE) | C(SPAN) | C(SPANEVENT) | C(LOG), F_SCOPE_VERSION,
     false},
    {"name", C(SCOPE) | C(SPAN) | C(SPANEVENT), F_NAME, false},
    {"version", C(SCOPE), F_SCOPE_VERSION, false},
    {"kind", C(SPAN), F_KIND, false},
    {"status.code", C(SPAN), F_STATUS_CODE, false},
    {"status.message", C(SPAN), F_STATUS_MSG, false},
    {"span.attributes", C(SPANEVENT), F_SPAN_ATTRS, true},
    {"span.name", C(SPANEVENT), F_SPAN_NAME, false},
    {"span.kind", C(SPANEVENT), F_KIND, false},
    {"span.status.code", C(SPANEVENT), F_STATUS_CODE, false},
    {"span.status.message", C(SPANEVENT), F_STATUS_MSG, false},
    {"body", C(LOG), F_BODY, false},
    {"severity_number", C(LOG), F_SEV_NUM, false},
    {"severity_text", C(LOG), F_SEV_TEXT, false},
    {"event_name", C(LOG), F_EVENT_NAME, false},
};
#undef C

static const char *const CTX_NAMES[] = {"resource", "scope", "span", "spanevent", "log"};

/* Enum literals: the collector's names for span kinds, status codes and severities. */
typedef struct {
    const char *name;
    int64_t v;
} enum_def;
static const enum_def ENUMS[] = {
    {"SPAN_KIND_UNSPECIFIED", LT_KIND_UNSPECIFIED},
    {"SPAN_KIND_INTERNAL", LT_KIND_INTERNAL},
    {"SPAN_KIND_SERVER", LT_KIND_SERVER},
    {"SPAN_KIND_CLIENT", LT_KIND_CLIENT},
    {"SPAN_KIND_PRODUCER", LT_KIND_PRODUCER},
    {"SPAN_KIND_CONSUMER", LT_KIND_CONSUMER},
    {"STATUS_CODE_UNSET", LT_STATUS_UNSET},
    {"STATUS_CODE_OK", LT_STATUS_OK},
    {"STATUS_CODE_ERROR", LT_STATUS_ERROR},
    {"SEVERITY_NUMBER_UNSPECIFIED", 0},
    {"SEVERITY_NUMBER_TRACE", 1},
    {"SEVERITY_NUMBER_TRACE2", 2},
    {"SEVERITY_NUMBER_TRACE3", 3},
    {"SEVERITY_NUMBER_TRACE4", 4},
    {"SEVERITY_NUMBER_DEBUG", 5},
    {"SEVERITY_NUMBER_DEBUG2", 6},
    {"SEVERITY_NUMBER_DEBUG3", 7},
    {"SEVERITY_NUMBER_DEBUG4", 8},
    {"SEVERITY_NUMBER_INFO", 9},
    {"SEVERITY_NUMBER_INFO2", 10},
    {"SEVERITY_NUMBER_INFO3", 11},
    {"SEVERITY_NUMBER_INFO4", 12},
    {"SEVERITY_NUMBER_WARN", 13},
    {"SEVERITY_NUMBER_WARN2", 14},
    {"SEVERITY_NUMBER_WARN3", 15},
    {"SEVERITY_NUMBER_WARN4", 16},
    {"SEVERITY_NUMBER_ERROR", 17},
    {"SEVERITY_NUMBER_ERROR2", 18},
    {"SEVERITY_NUMBER_ERROR3", 19},
    {"SEVERITY_NUMBER_ERROR4", 20},
    {"SEVERITY_NUMBER_FATAL", 21},
    {"SEVERITY_NUMBER_FATAL2", 22},
    {"SEVERITY_NUMBER_FATAL3", 23},
    {"SEVERITY_NUMBER_FATAL4", 24},
};

static node *parse_value(parser *p);
static node *parse_or(parser *p);

/* A path: ident ("." ident)* ["[" string "]"], resolved against the context. */
static node *parse_path(parser *p)
{
    token *first = peek(p);
    char name[128];
    size_t nl = 0;
    for (;;) {
        token *t = next(p);
        if (t->t != T_IDENT) {
            fail(p, t->col, "expected a name, found %s", tok_desc(t));
            return NULL;
        }
        if (nl + t->text.len + 2 > sizeof name) {
            fail(p, first->col, "path too long");
            return NULL;
        }
        memcpy(name + nl, t->text.ptr, t->text.len);
        nl += t->text.len;
        if (peek(p)->t != T_DOT) break;
        next(p);
        name[nl++] = '.';
    }
    name[nl] = 0;
    const char *nm = name;
    const char *cn = CTX_NAMES[p->st->ctx];
    size_t cl = strlen(cn);
    char alias[160];
    if (strncmp(nm, cn, cl) == 0 && nm[cl] == '.') nm += cl + 1;
    if (strncmp(nm, "scope.", 6) == 0 && p->st->ctx != OTTL_CTX_SCOPE) {
        snprintf(alias, sizeof alias, "instrumentation_scope.%s", nm + 6);
        nm = alias;
    }
    const path_def *d = NULL;
    bool other_ctx = false;
    for (size_t i = 0; i < sizeof PATHS / sizeof PATHS[0]; i++) {
        if (strcmp(PATHS[i].name, nm) != 0) continue;
        if (PATHS[i].ctx_mask & (1u << p->st->ctx)) {
            d = &PATHS[i];
            break;
        }
        other_ctx = true;
    }
    if (!d) {
        if (other_ctx)
            fail(p, first->col, "path '%s' is not available in context %s", name, cn);
        else
            fail(p, first->col, "unknown path '%s'", name);
        return NULL;
    }
    node *n = new_node(p, N_PATH, first->col);
    if (!n) return NULL;
    n->f = d->f;
    if (peek(p)->t == T_LBRACK) {
        token *lb = next(p);
        if (!d->map) {
            fail(p, lb->col, "path '%s' takes no key", name);
            return NULL;
        }
        token *k = next(p);
        if (k->t != T_STRING) {
            fail(p, k->col, "expected a string key, found %s", tok_desc(k));
            return NULL;
        }
        n->has_key = true;
        n->key = k->text;
        if (expect(p, T_RBRACK, "']'")) return NULL;
        if (peek(p)->t == T_LBRACK) {
            fail(p, peek(p)->col, "nested keys are not supported");
            return NULL;
        }
    }
    return n;
}

static const struct {
    const char *name;
    converter conv;
    uint32_t nargs;
} CONVERTERS[] = {
    {"HasPrefix", CV_HAS_PREFIX, 2}, {"HasSuffix", CV_HAS_SUFFIX, 2}, {"IsString", CV_IS_STRING, 1},
    {"IsInt", CV_IS_INT, 1},         {"IsDouble", CV_IS_DOUBLE, 1},   {"IsBool", CV_IS_BOOL, 1},
    {"IsMap", CV_IS_MAP, 1},         {"IsList", CV_IS_LIST, 1},       {"Len", CV_LEN, 1},
};

/* The arguments of a converter call, from '(' to ')': values, exactly nargs of them. */
static node **parse_conv_args(parser *p, const token *name, uint32_t nargs)
{
    node **items = arena_alloc(p->st->a, nargs * sizeof(node *));
    if (!items) {
        oom(p);
        return NULL;
    }
    if (expect(p, T_LPAREN, "'('")) return NULL;
    for (uint32_t i = 0; i < nargs; i++) {
        if (peek(p)->t == T_RPAREN) {
            fail(p, peek(p)->col, "%.*s takes %u argument%s", (int)name->text.len, name->text.ptr,
                 nargs, nargs == 1 ? "" : "s");
            return NULL;
        }
        if (i && expect(p, T_COMMA, "','")) return NULL;
        if (!(items[i] = parse_value(p))) return NULL;
    }
    token *close = next(p);
    if (close->t != T_RPAREN) {
        fail(p, close->col, "%.*s takes %u argument%s, expected ')', found %s", (int)name->text.len,
             name->text.ptr, nargs, nargs == 1 ? "" : "s", tok_desc(close));
        return NULL;
    }
    return items;
}

static node *parse_call_converter(parser *p)
{
    token *name = next(p);
    for (size_t i = 0; i < sizeof CONVERTERS / sizeof CONVERTERS[0]; i++) {
        if (!ident_is(name, CONVERTERS[i].name)) continue;
        node *n = new_node(p, N_CONV, name->col);
        if (!n || !(n->items = parse_conv_args(p, name, CONVERTERS[i].nargs))) return NULL;
        n->conv = CONVERTERS[i].conv;
        n->n = CONVERTERS[i].nargs;
        return n;
    }
    if (!ident_is(name, "IsMatch")) {
        fail(p, name->col,
             "unknown converter '%.*s' (supported: IsMatch, HasPrefix, HasSuffix, IsString, "
             "IsInt, IsDouble, IsBool, IsMap, IsList, Len)",
             (int)name->text.len, name->text.ptr);
        return NULL;
    }
    node *n = new_node(p, N_ISMATCH, name->col);
    if (!n || expect(p, T_LPAREN, "'('")) return NULL;
    node *v = parse_value(p);
    if (!v || expect(p, T_COMMA, "','")) return NULL;
    token *pat = next(p);
    if (pat->t != T_STRING) {
        fail(p, pat->col, "IsMatch takes a pattern string, found %s", tok_desc(pat));
        return NULL;
    }
    n->re = compile_re(p, pat->text, pat->col);
    if (!n->re || expect(p, T_RPAREN, "')'")) return NULL;
    n->items = arena_alloc(p->st->a, sizeof(node *));
    if (!n->items) {
        oom(p);
        return NULL;
    }
    n->items[0] = v;
    n->n = 1;
    return n;
}

static node *parse_value_in(parser *p)
{
    token *t = peek(p);
    node *n;
    switch (t->t) {
    case T_STRING:
        next(p);
        if (!(n = new_node(p, N_LIT, t->col))) return NULL;
        n->lit.k = V_STR;
        n->lit.s = t->text;
        return n;
    case T_INT:
        next(p);
        if (!(n = new_node(p, N_LIT, t->col))) return NULL;
        n->lit.k = V_INT;
        n->lit.i = t->i;
        return n;
    case T_FLOAT:
        next(p);
        if (!(n = new_node(p, N_LIT, t->col))) return NULL;
        n->lit.k = V_DBL;
        n->lit.d = t->d;
        return n;
    case T_LBRACK: {
        next(p);
        if (!(n = new_node(p, N_LIST, t->col))) return NULL;
        node **items = arena_alloc(p->st->a, OTTL_MAX_LIST * sizeof(node *));
        if (!items) {
            oom(p);
            return NULL;
        }
        uint32_t k = 0;
        if (peek(p)->t != T_RBRACK) {
            for (;;) {
                if (k >= OTTL_MAX_LIST) {
                    fail(p, peek(p)->col, "list longer than %d items", OTTL_MAX_LIST);
                    return NULL;
                }
                if (peek(p)->t == T_LBRACK) {
                    fail(p, peek(p)->col, "nested lists are not supported");
                    return NULL;
                }
                if (!(items[k++] = parse_value(p))) return NULL;
                if (peek(p)->t != T_COMMA) break;
                next(p);
            }
        }
        if (expect(p, T_RBRACK, "',' or ']'")) return NULL;
        n->items = items;
        n->n = k;
        return n;
    }
    case T_IDENT:
        if (ident_is(t, "nil") || ident_is(t, "true") || ident_is(t, "false")) {
            next(p);
            if (!(n = new_node(p, N_LIT, t->col))) return NULL;
            n->lit.k = ident_is(t, "nil") ? V_NIL : V_BOOL;
            n->lit.b = ident_is(t, "true");
            return n;
        }
        for (size_t i = 0; i < sizeof ENUMS / sizeof ENUMS[0]; i++) {
            if (!ident_is(t, ENUMS[i].name)) continue;
            next(p);
            if (!(n = new_node(p, N_LIT, t->col))) return NULL;
            n->lit.k = V_INT;
            n->lit.i = ENUMS[i].v;
            return n;
        }
        if (p->toks[p->pos + 1].t == T_LPAREN) return parse_call_converter(p);
        return parse_path(p);
    default:
        fail(p, t->col, "expected a value, found %s", tok_desc(t));
        return NULL;
    }
}

/* A value, counted against OTTL_MAX_DEPTH as conditions are (IsMatch nests values). */
static node *parse_value(parser *p)
{
    if (++p->depth > OTTL_MAX_DEPTH) {
        fail(p, peek(p)->col, "statement nested deeper than %d", OTTL_MAX_DEPTH);
        return NULL;
    }
    node *n = parse_value_in(p);
    p->depth--;
    return n;
}

static node *binary(parser *p, node_type t, unsigned col, node *l, node *r)
{
    node *n = new_node(p, t, col);
    if (!n) return NULL;
    n->items = arena_alloc(p->st->a, 2 * sizeof(node *));
    if (!n->items) {
        oom(p);
        return NULL;
    }
    n->items[0] = l;
    n->items[1] = r;
    n->n = 2;
    return n;
}

static node *parse_primary(parser *p)
{
    token *t = peek(p);
    if (++p->depth > OTTL_MAX_DEPTH) {
        fail(p, t->col, "condition nested deeper than %d", OTTL_MAX_DEPTH);
        return NULL;
    }
    node *r = NULL;
    if (ident_is(t, "not")) {
        next(p);
        node *x = parse_primary(p);
        if (!x) return NULL;
        if (!(r = new_node(p, N_NOT, t->col))) return NULL;
        if (!(r->items = arena_alloc(p->st->a, sizeof(node *)))) {
            oom(p);
            return NULL;
        }
        r->items[0] = x;
        r->n = 1;
    } else if (t->t == T_LPAREN) {
        next(p);
        r = parse_or(p);
        if (!r || expect(p, T_RPAREN, "')'")) return NULL;
    } else {
        node *l = parse_value(p);
        if (!l) return NULL;
        token *op = peek(p);
        if (op->t >= T_EQ && op->t <= T_GE) {
            next(p);
            node *rv = parse_value(p);
            if (!rv) return NULL;
            if (!(r = binary(p, N_CMP, op->col, l, rv))) return NULL;
            r->op = (cmp_op)(op->t - T_EQ);
        } else if ((l->t == N_LIT && l->lit.k != V_BOOL) || l->t == N_LIST ||
                   (l->t == N_CONV && l->conv == CV_LEN)) {
            fail(p, l->col, "expected a condition, found a value that is not a boolean");
            return NULL;
        } else {
            r = l; /* a boolean on its own: true, IsMatch(...), a bool attribute */
        }
    }
    p->depth--;
    return r;
}

static node *parse_and(parser *p)
{
    node *l = parse_primary(p);
    while (l && ident_is(peek(p), "and")) {
        token *t = next(p);
        node *r = parse_primary(p);
        l = r ? binary(p, N_AND, t->col, l, r) : NULL;
    }
    return l;
}

static node *parse_or(parser *p)
{
    node *l = parse_and(p);
    while (l && ident_is(peek(p), "or")) {
        token *t = next(p);
        node *r = parse_and(p);
        l = r ? binary(p, N_OR, t->col, l, r) : NULL;
    }
    return l;
}

static const struct {
    const char *name;
    editor ed;
    uint32_t min, max; /* arguments */
} EDITORS[] = {
    {"set", E_SET, 2, 2},
    {"delete_key", E_DELETE_KEY, 2, 2},
    {"delete_matching_keys", E_DELETE_MATCHING_KEYS, 2, 2},
    {"keep_keys", E_KEEP_KEYS, 2, 2},
    {"replace_pattern", E_REPLACE_PATTERN, 3, 3},
    {"replace_all_patterns", E_REPLACE_ALL_PATTERNS, 4, 4},
    {"truncate_all", E_TRUNCATE_ALL, 2, 2},
    {"limit", E_LIMIT, 2, 3},
};

static bool is_map_path(const node *n)
{
    return n->t == N_PATH && !n->has_key &&
           (n->f == F_ATTRS || n->f == F_RES_ATTRS || n->f == F_SCOPE_ATTRS ||
            n->f == F_SPAN_ATTRS);
}

static bool is_string_lit(const node *n)
{
    return n->t == N_LIT && n->lit.k == V_STR;
}

static int need_string(parser *p, const node *n, const char *what)
{
    if (!is_string_lit(n)) return fail(p, n->col, "%s must be a string literal", what);
    return 0;
}

/* Checks the arguments of the editor and precompiles what it can. */
static int check_args(parser *p, unsigned col)
{
    ottl_stmt *s = p->st;
    node **a = s->args;
    switch (s->ed) {
    case E_SET:
        if (a[0]->t != N_PATH) return fail(p, a[0]->col, "set: the first argument must be a path");
        if (a[1]->t == N_LIST) return fail(p, a[1]->col, "set: lists are not supported as values");
        return 0;
    case E_DELETE_KEY:
    case E_DELETE_MATCHING_KEYS:
    case E_KEEP_KEYS:
    case E_TRUNCATE_ALL:
    case E_LIMIT:
    case E_REPLACE_ALL_PATTERNS:
        if (!is_map_path(a[0]) && !(a[0]->t == N_PATH && a[0]->has_key))
            return fail(p, a[0]->col, "the first argument must be a map such as attributes");
        break;
    case E_REPLACE_PATTERN:
        if (a[0]->t != N_PATH) return fail(p, a[0]->col, "the first argument must be a path");
        break;
    }
    switch (s->ed) {
    case E_DELETE_KEY:
        return need_string(p, a[1], "the key");
    case E_DELETE_MATCHING_KEYS:
        if (need_string(p, a[1], "the pattern")) return p->rc;
        s->re = compile_re(p, a[1]->lit.s, a[1]->col);
        return s->re ? 0 : p->rc;
    case E_KEEP_KEYS:
        if (a[1]->t != N_LIST) return fail(p, a[1]->col, "keep_keys takes a list of keys");
        for (uint32_t i = 0; i < a[1]->n; i++)
            if (need_string(p, a[1]->items[i], "a key")) return p->rc;
        return 0;
    case E_REPLACE_PATTERN:
        if (need_string(p, a[1], "the pattern") || need_string(p, a[2], "the replacement"))
            return p->rc;
        s->re = compile_re(p, a[1]->lit.s, a[1]->col);
        s->repl = a[2]->lit.s;
        return s->re ? 0 : p->rc;
    case E_REPLACE_ALL_PATTERNS:
        if (need_string(p, a[1], "the mode")) return p->rc;
        if (lt_str_eq_c(a[1]->lit.s, "key"))
            s->by_key = true;
        else if (!lt_str_eq_c(a[1]->lit.s, "value"))
            return fail(p, a[1]->col, "the mode must be \"key\" or \"value\"");
        if (need_string(p, a[2], "the pattern") || need_string(p, a[3], "the replacement"))
            return p->rc;
        s->re = compile_re(p, a[2]->lit.s, a[2]->col);
        s->repl = a[3]->lit.s;
        return s->re ? 0 : p->rc;
    case E_TRUNCATE_ALL:
    case E_LIMIT:
        if (a[1]->t != N_LIT || a[1]->lit.k != V_INT || a[1]->lit.i < 0)
            return fail(p, a[1]->col, "the limit must be a non-negative integer");
        s->limit = a[1]->lit.i;
        if (s->ed == E_LIMIT && s->nargs == 3) {
            if (a[2]->t != N_LIST) return fail(p, a[2]->col, "limit: priority keys are a list");
            for (uint32_t i = 0; i < a[2]->n; i++)
                if (need_string(p, a[2]->items[i], "a key")) return p->rc;
        }
        return 0;
    case E_SET:
        return 0;
    }
    (void)col;
    return 0;
}

static int parse_statement(parser *p)
{
    if (tokenize(p)) return p->rc;
    token *fn = next(p);
    if (fn->t != T_IDENT)
        return fail(p, fn->col, "expected a function name, found %s", tok_desc(fn));
    size_t e = 0;
    for (; e < sizeof EDITORS / sizeof EDITORS[0]; e++)
        if (ident_is(fn, EDITORS[e].name)) break;
    if (e == sizeof EDITORS / sizeof EDITORS[0])
        return fail(p, fn->col,
                    "unknown function '%.*s' (supported: set, delete_key, delete_matching_keys, "
                    "keep_keys, replace_pattern, replace_all_patterns, truncate_all, limit)",
                    (int)fn->text.len, fn->text.ptr);
    p->st->ed = EDITORS[e].ed;
    if (expect(p, T_LPAREN, "'('")) return p->rc;
    if (peek(p)->t != T_RPAREN) {
        for (;;) {
            if (p->st->nargs >= EDITORS[e].max)
                return fail(p, peek(p)->col, "%s takes at most %u arguments", EDITORS[e].name,
                            EDITORS[e].max);
            node *a = parse_value(p);
            if (!a) return p->rc;
            p->st->args[p->st->nargs++] = a;
            if (peek(p)->t != T_COMMA) break;
            next(p);
        }
    }
    token *close = next(p);
    if (close->t != T_RPAREN)
        return fail(p, close->col, "expected ',' or ')', found %s", tok_desc(close));
    if (p->st->nargs < EDITORS[e].min)
        return fail(p, close->col, "%s takes %u arguments, found %u", EDITORS[e].name,
                    EDITORS[e].min, p->st->nargs);
    if (check_args(p, fn->col)) return p->rc;
    token *w = peek(p);
    if (ident_is(w, "where")) {
        next(p);
        p->st->where = parse_or(p);
        if (!p->st->where) return p->rc;
    } else if (w->t != T_END) {
        return fail(p, w->col, "expected 'where' or the end, found %s", tok_desc(w));
    }
    token *end = peek(p);
    if (end->t != T_END)
        return fail(p, end->col, "expected 'and', 'or' or the end, found %s", tok_desc(end));
    return 0;
}

int ottl_context_of(const char *name, ottl_context *out)
{
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, CTX_NAMES[i]) == 0) {
            *out = (ottl_context)i;
            return 0;
        }
    return LT_EINVAL;
}

const char *ottl_context_name(ottl_context c)
{
    return (unsigned)c < 5 ? CTX_NAMES[c] : "?";
}

/* A condition on its own (a filter's): the where part of a statement, nothing before it. */
static int parse_condition(parser *p)
{
    if (tokenize(p)) return p->rc;
    if (peek(p)->t == T_END) return fail(p, peek(p)->col, "expected a condition, found nothing");
    p->st->where = parse_or(p);
    if (!p->st->where) return p->rc;
    token *end = peek(p);
    if (end->t != T_END)
        return fail(p, end->col, "expected 'and', 'or' or the end, found %s", tok_desc(end));
    return 0;
}

/* ottl_parse and ottl_parse_condition: one statement or one condition into *out. */
static int parse_text(const char *text, size_t len, ottl_context ctx, bool cond, ottl_stmt **out,
                      unsigned *col, char *err, size_t errlen)
{
    *out = NULL;
    if (col) *col = 0;
    if (err && errlen) err[0] = 0;
    if (len > OTTL_MAX_STATEMENT) {
        if (err && errlen)
            snprintf(err, errlen, "%s longer than %d bytes", cond ? "condition" : "statement",
                     OTTL_MAX_STATEMENT);
        return LT_ETOOBIG;
    }
    lt_arena *a = arena_new();
    ottl_stmt *s = a ? arena_calloc(a, 1, sizeof(struct ottl_cond)) : NULL;
    if (!s) {
        arena_free(a);
        return LT_ENOMEM;
    }
    s->a = a;
    s->ctx = ctx;
    lt_str t = arena_strdup(a, (lt_str){text, len});
    if (len && !t.ptr) {
        arena_free(a);
        return LT_ENOMEM;
    }
    s->text = (char *)(t.ptr ? t.ptr : "");
    parser p = {.st = s, .src = s->text, .len = len, .err = err, .errlen = errlen};
    int rc = cond ? parse_condition(&p) : parse_statement(&p);
    if (rc) {
        if (col) *col = p.errcol;
        if (rc == LT_ENOMEM && err && errlen) snprintf(err, errlen, "out of memory");
        ottl_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int ottl_parse(const char *text, size_t len, ottl_context ctx, ottl_stmt **out, unsigned *col,
               char *err, size_t errlen)
{
    return parse_text(text, len, ctx, false, out, col, err, errlen);
}

int ottl_parse_condition(const char *text, size_t len, ottl_context ctx, ottl_cond **out,
                         unsigned *col, char *err, size_t errlen)
{
    ottl_stmt *s = NULL;
    int rc = parse_text(text, len, ctx, true, &s, col, err, errlen);
    *out = (ottl_cond *)s;
    return rc;
}

void ottl_cond_free(ottl_cond *c)
{
    ottl_free(c ? &c->st : NULL);
}

const char *ottl_cond_text(const ottl_cond *c)
{
    return c->st.text;
}

void ottl_free(ottl_stmt *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->nregex; i++)
        pcre2_code_free(s->regexes[i]);
    arena_free(s->a);
}

const char *ottl_text(const ottl_stmt *s)
{
    return s->text;
}

/* ------------------------------------------------------------------------------------ */
/* Running                                                                              */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const ottl_stmt *st;
    ottl_target *t;
    bool changed;
    int rc;
    char *err;
    size_t errlen;
} run;

__attribute__((format(printf, 2, 3))) static int rfail(run *r, const char *fmt, ...)
{
    if (r->rc) return r->rc;
    r->rc = LT_EINVAL;
    if (r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return r->rc;
}

static int room(run *r)
{
    if (!r->rc) r->rc = LT_ENOMEM;
    if (r->err && r->errlen) snprintf(r->err, r->errlen, "out of memory");
    return r->rc;
}

/* The attribute list a map field names, or NULL when the target has none. */
static lt_attrs *field_map(run *r, field f)
{
    ottl_target *t = r->t;
    switch (f) {
    case F_ATTRS:
        switch (r->st->ctx) {
        case OTTL_CTX_RESOURCE:
            return t->resource ? &t->resource->attrs : NULL;
        case OTTL_CTX_SCOPE:
            return t->scope ? &t->scope->attrs : NULL;
        case OTTL_CTX_SPAN:
            return t->span ? &t->span->attrs : NULL;
        case OTTL_CTX_SPANEVENT:
            return t->event ? &t->event->attrs : NULL;
        case OTTL_CTX_LOG:
            return t->log ? &t->log->attrs : NULL;
        }
        return NULL;
    case F_RES_ATTRS:
        return t->resource ? &t->resource->attrs : NULL;
    case F_SCOPE_ATTRS:
        return t->scope ? &t->scope->attrs : NULL;
    case F_SPAN_ATTRS:
        return t->span ? &t->span->attrs : NULL;
    default:
        return NULL;
    }
}

static lt_kv *attrs_find(lt_attrs *a, lt_str key)
{
    if (!a) return NULL;
    for (uint32_t i = a->n; i-- > 0;)
        if (lt_str_eq(a->items[i].key, key)) return &a->items[i];
    return NULL;
}

static rval from_value(lt_value *v)
{
    rval r = {.k = V_NIL};
    if (!v) return r;
    switch (v->type) {
    case LT_VAL_STRING:
        r.k = V_STR, r.s = v->u.s;
        break;
    case LT_VAL_INT:
        r.k = V_INT, r.i = v->u.i;
        break;
    case LT_VAL_DOUBLE:
        r.k = V_DBL, r.d = v->u.d;
        break;
    case LT_VAL_BOOL:
        r.k = V_BOOL, r.b = v->u.b;
        break;
    case LT_VAL_KVLIST:
        r.k = V_MAP, r.map = &v->u.kv, r.other = v;
        break;
    case LT_VAL_EMPTY:
        break;
    default:
        r.k = V_OTHER, r.other = v;
        break;
    }
    return r;
}

static rval str_val(lt_str s)
{
    return (rval){.k = V_STR, .s = s};
}

static rval int_val(int64_t i)
{
    return (rval){.k = V_INT, .i = i};
}

static lt_str *string_field(run *r, field f)
{
    ottl_target *t = r->t;
    switch (f) {
    case F_NAME:
        if (r->st->ctx == OTTL_CTX_SPANEVENT) return t->event ? &t->event->name : NULL;
        if (r->st->ctx == OTTL_CTX_SCOPE) return t->scope ? &t->scope->name : NULL;
        return t->span ? &t->span->name : NULL;
    case F_SPAN_NAME:
        return t->span ? &t->span->name : NULL;
    case F_STATUS_MSG:
        return t->span ? &t->span->status_message : NULL;
    case F_SCOPE_NAME:
        return t->scope ? &t->scope->name : NULL;
    case F_SCOPE_VERSION:
        return t->scope ? &t->scope->version : NULL;
    case F_SEV_TEXT:
        return t->log ? &t->log->severity_text : NULL;
    case F_EVENT_NAME:
        return t->log ? &t->log->event_name : NULL;
    default:
        return NULL;
    }
}

static uint32_t *int_field(run *r, field f)
{
    ottl_target *t = r->t;
    switch (f) {
    case F_KIND:
        return t->span ? &t->span->kind : NULL;
    case F_STATUS_CODE:
        return t->span ? &t->span->status_code : NULL;
    case F_SEV_NUM:
        return t->log ? &t->log->severity_number : NULL;
    default:
        return NULL;
    }
}

static rval read_path(run *r, const node *n)
{
    lt_attrs *m = field_map(r, n->f);
    if (m || n->f == F_ATTRS || n->f == F_RES_ATTRS || n->f == F_SCOPE_ATTRS ||
        n->f == F_SPAN_ATTRS) {
        if (!n->has_key) return m ? (rval){.k = V_MAP, .map = m} : (rval){.k = V_NIL};
        lt_kv *kv = attrs_find(m, n->key);
        return from_value(kv ? &kv->value : NULL);
    }
    if (n->f == F_BODY) return from_value(r->t->log ? &r->t->log->body : NULL);
    lt_str *s = string_field(r, n->f);
    if (s) return str_val(*s);
    uint32_t *i = int_field(r, n->f);
    if (i) return int_val(*i);
    return (rval){.k = V_NIL};
}

/* Whether re matches somewhere in s. A failed allocation sets *rc to LT_ENOMEM; a
 * pattern that hits PCRE2's match limits on s sets LT_EINVAL (a statement error). */
static bool is_match(const pcre2_code *re, lt_str s, int *rc)
{
    pcre2_general_context *gc = regex_context();
    pcre2_match_data *md = gc ? pcre2_match_data_create_from_pattern(re, gc) : NULL;
    if (!md) {
        pcre2_general_context_free(gc);
        *rc = LT_ENOMEM;
        return false;
    }
    int m = pcre2_match(re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_general_context_free(gc);
    if (m < 0 && m != PCRE2_ERROR_NOMATCH) *rc = m == PCRE2_ERROR_NOMEMORY ? LT_ENOMEM : LT_EINVAL;
    return m >= 0;
}

static rval eval(run *r, const node *n);

static bool truthy(run *r, const node *n)
{
    rval v = eval(r, n);
    return v.k == V_BOOL && v.b;
}

static bool numeric(const rval *v, double *d)
{
    if (v->k == V_INT)
        *d = (double)v->i;
    else if (v->k == V_DBL)
        *d = v->d;
    else
        return false;
    return true;
}

/* OTTL's comparison rules: nil equals only nil; numbers compare across int and float;
 * strings compare bytewise; values of different types are unequal and unordered. */
static bool compare(const rval *a, const rval *b, cmp_op op)
{
    int c;
    double x, y;
    if (a->k == V_INT && b->k == V_INT) {
        c = a->i < b->i ? -1 : a->i > b->i;
    } else if (numeric(a, &x) && numeric(b, &y)) {
        if (isnan(x) || isnan(y)) return op == OP_NE;
        c = x < y ? -1 : x > y;
    } else if (a->k == V_STR && b->k == V_STR) {
        size_t m = a->s.len < b->s.len ? a->s.len : b->s.len;
        c = m ? memcmp(a->s.ptr, b->s.ptr, m) : 0;
        if (!c) c = a->s.len < b->s.len ? -1 : a->s.len > b->s.len;
    } else if (a->k == V_BOOL && b->k == V_BOOL) {
        if (op == OP_EQ) return a->b == b->b;
        if (op == OP_NE) return a->b != b->b;
        return false;
    } else if (a->k == V_NIL || b->k == V_NIL) {
        bool eq = a->k == b->k;
        return op == OP_EQ ? eq : op == OP_NE ? !eq : false;
    } else if (a->k == b->k && (a->k == V_MAP || a->k == V_OTHER)) {
        bool eq = a->k == V_MAP ? a->map == b->map : a->other == b->other;
        return op == OP_EQ ? eq : op == OP_NE ? !eq : false;
    } else {
        return op == OP_NE;
    }
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    case OP_GE:
        return c >= 0;
    }
    return false;
}

static const char *kind_desc(vkind k)
{
    static const char *const names[] = {"nil",    "a string", "an int",         "a double",
                                        "a bool", "a map",    "a list or bytes"};
    return names[k];
}

/* The converters of N_CONV. Type errors are statement errors, as in the collector, whose
 * HasPrefix and Len take no nil; the Is* ones only ask. */
static rval convert(run *r, const node *n)
{
    static const char *const NAMES[] = {"HasPrefix", "HasSuffix", "IsString", "IsInt", "IsDouble",
                                        "IsBool",    "IsMap",     "IsList",   "Len"};
    rval x = eval(r, n->items[0]);
    rval b = {.k = V_BOOL};
    switch (n->conv) {
    case CV_HAS_PREFIX:
    case CV_HAS_SUFFIX: {
        rval y = eval(r, n->items[1]);
        if (r->rc) return b;
        if (x.k != V_STR || y.k != V_STR) {
            rfail(r, "%s: expected strings, found %s and %s", NAMES[n->conv], kind_desc(x.k),
                  kind_desc(y.k));
            return b;
        }
        if (y.s.len <= x.s.len && y.s.len) {
            const char *at = n->conv == CV_HAS_PREFIX ? x.s.ptr : x.s.ptr + x.s.len - y.s.len;
            b.b = memcmp(at, y.s.ptr, y.s.len) == 0;
        } else {
            b.b = y.s.len == 0;
        }
        return b;
    }
    case CV_IS_STRING:
    case CV_IS_INT:
    case CV_IS_DOUBLE:
    case CV_IS_BOOL:
    case CV_IS_MAP:
    case CV_IS_LIST: {
        static const vkind IS[] = {
            [CV_IS_STRING] = V_STR, [CV_IS_INT] = V_INT, [CV_IS_DOUBLE] = V_DBL,
            [CV_IS_BOOL] = V_BOOL,  [CV_IS_MAP] = V_MAP, [CV_IS_LIST] = V_OTHER};
        b.b = x.k == IS[n->conv] && (n->conv != CV_IS_LIST || x.other->type == LT_VAL_ARRAY);
        return b;
    }
    case CV_LEN:
        if (x.k == V_STR) return int_val((int64_t)x.s.len);
        if (x.k == V_MAP) return int_val(x.map->n);
        if (x.k == V_OTHER && x.other->type == LT_VAL_ARRAY) return int_val(x.other->u.arr.n);
        if (x.k == V_OTHER && x.other->type == LT_VAL_BYTES)
            return int_val((int64_t)x.other->u.s.len);
        if (!r->rc) rfail(r, "Len: expected a string, list or map, found %s", kind_desc(x.k));
        return (rval){.k = V_NIL};
    }
    return b;
}

static rval eval(run *r, const node *n)
{
    rval v = {.k = V_NIL};
    if (r->rc) return v;
    switch (n->t) {
    case N_LIT:
        return n->lit;
    case N_PATH:
        return read_path(r, n);
    case N_LIST:
        return v; /* lists are arguments only */
    case N_ISMATCH: {
        rval x = eval(r, n->items[0]);
        char num[64];
        lt_str s;
        if (x.k == V_STR)
            s = x.s;
        else if (x.k == V_INT)
            s = (lt_str){num, (size_t)snprintf(num, sizeof num, "%lld", (long long)x.i)};
        else if (x.k == V_DBL)
            s = (lt_str){num, (size_t)snprintf(num, sizeof num, "%g", x.d)};
        else if (x.k == V_BOOL)
            s = x.b ? LT_STR("true") : LT_STR("false");
        else
            return (rval){.k = V_BOOL, .b = false};
        int rc = 0;
        bool m = is_match(n->re, s, &rc);
        if (rc == LT_ENOMEM)
            room(r);
        else if (rc)
            rfail(r, "IsMatch: the pattern hit the match limit");
        return (rval){.k = V_BOOL, .b = m};
    }
    case N_CONV:
        return convert(r, n);
    case N_CMP: {
        rval a = eval(r, n->items[0]), b = eval(r, n->items[1]);
        return (rval){.k = V_BOOL, .b = compare(&a, &b, n->op)};
    }
    case N_AND:
        return (rval){.k = V_BOOL, .b = truthy(r, n->items[0]) && truthy(r, n->items[1])};
    case N_OR:
        return (rval){.k = V_BOOL, .b = truthy(r, n->items[0]) || truthy(r, n->items[1])};
    case N_NOT:
        return (rval){.k = V_BOOL, .b = !truthy(r, n->items[0])};
    }
    return v;
}

/* ---- writing ---- */

static lt_str copy_str(run *r, lt_str s)
{
    if (!s.len) return LT_STR("");
    lt_str c = arena_strdup(r->t->arena, s);
    if (!c.ptr) room(r);
    return c;
}

/* Sets key in m to v (the last entry with that key, or a new one at the end). */
static int attrs_put(run *r, lt_attrs *m, lt_str key, const lt_value *v)
{
    lt_kv *kv = attrs_find(m, key);
    if (kv) {
        kv->value = *v;
        return 0;
    }
    if (m->n >= MODEL_MAX_ATTRS) return rfail(r, "attribute list is full");
    lt_kv *items = arena_alloc(r->t->arena, ((size_t)m->n + 1) * sizeof *items);
    if (!items) return room(r);
    if (m->n) memcpy(items, m->items, m->n * sizeof *items);
    items[m->n].key = copy_str(r, key);
    items[m->n].value = *v;
    if (r->rc) return r->rc;
    m->items = items;
    m->n++;
    return 0;
}

/* Removes, in place, the entries for which keep() is false; true when any was removed. */
static bool attrs_filter(lt_attrs *m, bool (*keep)(const lt_kv *, void *), void *arg)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < m->n; i++)
        if (keep(&m->items[i], arg)) m->items[o++] = m->items[i];
    bool removed = o != m->n;
    m->n = o;
    return removed;
}

/* A copy of a list's entries: lists shrink in place (delete_key, keep_keys), so two places
 * must never share one array. */
static lt_attrs copy_attrs(run *r, const lt_attrs *m)
{
    lt_attrs c = {NULL, 0};
    if (!m->n) return c;
    c.items = arena_alloc(r->t->arena, (size_t)m->n * sizeof *c.items);
    if (!c.items) {
        room(r);
        return c;
    }
    memcpy(c.items, m->items, (size_t)m->n * sizeof *c.items);
    c.n = m->n;
    return c;
}

static int to_value(run *r, const rval *v, lt_value *out)
{
    memset(out, 0, sizeof *out);
    switch (v->k) {
    case V_STR:
        out->type = LT_VAL_STRING;
        out->u.s = copy_str(r, v->s);
        break;
    case V_INT:
        out->type = LT_VAL_INT, out->u.i = v->i;
        break;
    case V_DBL:
        out->type = LT_VAL_DOUBLE, out->u.d = v->d;
        break;
    case V_BOOL:
        out->type = LT_VAL_BOOL, out->u.b = v->b;
        break;
    case V_MAP:
        out->type = LT_VAL_KVLIST;
        out->u.kv = copy_attrs(r, v->map);
        break;
    case V_OTHER:
        *out = *v->other;
        break;
    case V_NIL:
        break;
    }
    return r->rc;
}

static int do_set(run *r, const node *target, const rval *v)
{
    if (v->k == V_NIL) return 0; /* as the collector: setting nil leaves the target as it is */
    if (target->t != N_PATH) return rfail(r, "set: not a path");
    lt_attrs *m = field_map(r, target->f);
    bool is_map_field = target->f == F_ATTRS || target->f == F_RES_ATTRS ||
                        target->f == F_SCOPE_ATTRS || target->f == F_SPAN_ATTRS;
    if (is_map_field) {
        if (!m) return 0;
        if (target->has_key) {
            lt_value nv;
            if (to_value(r, v, &nv)) return r->rc;
            if (attrs_put(r, m, target->key, &nv)) return r->rc;
        } else {
            if (v->k != V_MAP) return rfail(r, "set: attributes can only be set to a map");
            lt_attrs c = copy_attrs(r, v->map);
            if (r->rc) return r->rc;
            *m = c;
        }
        r->changed = true;
        return 0;
    }
    if (target->f == F_BODY) {
        if (!r->t->log) return 0;
        lt_value nv;
        if (to_value(r, v, &nv)) return r->rc;
        r->t->log->body = nv;
        r->changed = true;
        return 0;
    }
    lt_str *s = string_field(r, target->f);
    if (s) {
        if (v->k != V_STR) return rfail(r, "set: this path takes a string");
        *s = copy_str(r, v->s);
        r->changed = true;
        return r->rc;
    }
    uint32_t *i = int_field(r, target->f);
    if (i) {
        if (v->k != V_INT || v->i < 0 || v->i > UINT32_MAX)
            return rfail(r, "set: this path takes a non-negative integer (or an enum name)");
        *i = (uint32_t)v->i;
        r->changed = true;
        return 0;
    }
    return 0;
}

/* Substitutes every match of re in s by repl into the arena. *out = s when nothing matched. */
static int substitute(run *r, const pcre2_code *re, lt_str s, lt_str repl, lt_str *out)
{
    *out = s;
    pcre2_general_context *gc = regex_context();
    pcre2_match_data *md = gc ? pcre2_match_data_create_from_pattern(re, gc) : NULL;
    if (!md) {
        pcre2_general_context_free(gc);
        return room(r);
    }
    PCRE2_SIZE cap = s.len + s.len / 2 + repl.len * 4 + 64;
    int rc = 0;
    for (int tries = 0; tries < 2; tries++) {
        char *buf = arena_alloc(r->t->arena, cap + 1);
        if (!buf) {
            rc = room(r);
            break;
        }
        PCRE2_SIZE olen = cap;
        int n = pcre2_substitute(re, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0,
                                 PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
                                     PCRE2_SUBSTITUTE_UNKNOWN_UNSET | PCRE2_SUBSTITUTE_UNSET_EMPTY,
                                 md, NULL, (PCRE2_SPTR)(repl.ptr ? repl.ptr : ""), repl.len,
                                 (PCRE2_UCHAR *)buf, &olen);
        if (n == PCRE2_ERROR_NOMEMORY && tries == 0) {
            cap = olen;
            continue;
        }
        if (n == PCRE2_ERROR_NOMEMORY) { /* still too small, or pcre2's own allocation */
            rc = room(r);
            break;
        }
        if (n < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(n, msg, sizeof msg);
            rc = rfail(r, "replacement failed: %s", (const char *)msg);
            break;
        }
        if (n > 0) {
            buf[olen] = 0;
            *out = (lt_str){buf, olen};
            r->changed = true;
        }
        break;
    }
    pcre2_match_data_free(md);
    pcre2_general_context_free(gc);
    return rc;
}

/* The map a map argument names: attributes, or attributes["k"] holding a kvlist. */
static lt_attrs *arg_map(run *r, const node *n)
{
    rval v = read_path(r, n);
    return v.k == V_MAP ? v.map : NULL;
}

typedef struct {
    run *r;
    const ottl_stmt *st;
    const node *list;
    lt_str key;
} filter_arg;

static bool keep_not_key(const lt_kv *kv, void *arg)
{
    return !lt_str_eq(kv->key, ((filter_arg *)arg)->key);
}

static bool keep_not_matching(const lt_kv *kv, void *arg)
{
    filter_arg *f = arg;
    int rc = 0;
    bool m = is_match(f->st->re, kv->key, &rc);
    if (rc == LT_ENOMEM)
        room(f->r);
    else if (rc)
        rfail(f->r, "delete_matching_keys: the pattern hit the match limit");
    return !m;
}

static bool in_list(const node *list, lt_str key)
{
    for (uint32_t i = 0; list && i < list->n; i++)
        if (lt_str_eq(list->items[i]->lit.s, key)) return true;
    return false;
}

static bool keep_listed(const lt_kv *kv, void *arg)
{
    return in_list(((filter_arg *)arg)->list, kv->key);
}

/* Cuts s to at most n bytes without splitting a UTF-8 sequence. */
static lt_str truncate_utf8(lt_str s, size_t n)
{
    if (s.len <= n) return s;
    while (n > 0 && ((unsigned char)s.ptr[n] & 0xC0) == 0x80)
        n--;
    return (lt_str){s.ptr, n};
}

static int do_limit(run *r, lt_attrs *m, int64_t lim, const node *prio)
{
    if ((int64_t)m->n <= lim) return 0;
    lt_kv *items = arena_alloc(r->t->arena, (size_t)m->n * sizeof *items);
    bool *taken = arena_calloc(r->t->arena, m->n, sizeof *taken);
    if (!items || !taken) return room(r);
    uint32_t o = 0;
    /* priority keys first, then the others in their order, until the limit */
    for (uint32_t i = 0; i < m->n && (int64_t)o < lim; i++)
        if (in_list(prio, m->items[i].key)) items[o++] = m->items[i], taken[i] = true;
    for (uint32_t i = 0; i < m->n && (int64_t)o < lim; i++)
        if (!taken[i]) items[o++] = m->items[i];
    m->items = items;
    m->n = o;
    r->changed = true;
    return 0;
}

static int apply(run *r)
{
    const ottl_stmt *st = r->st;
    node *const *a = st->args;
    filter_arg fa = {.r = r, .st = st};
    switch (st->ed) {
    case E_SET: {
        rval v = eval(r, a[1]);
        if (r->rc) return r->rc;
        return do_set(r, a[0], &v);
    }
    case E_REPLACE_PATTERN: {
        rval v = eval(r, a[0]);
        if (v.k != V_STR) return 0; /* only strings are replaced; anything else is left */
        lt_str o;
        if (substitute(r, st->re, v.s, st->repl, &o)) return r->rc;
        if (o.ptr == v.s.ptr && o.len == v.s.len) return 0;
        rval nv = str_val(o);
        return do_set(r, a[0], &nv);
    }
    default:
        break;
    }
    lt_attrs *m = arg_map(r, a[0]);
    if (!m) return r->rc;
    switch (st->ed) {
    case E_DELETE_KEY:
        fa.key = a[1]->lit.s;
        if (attrs_filter(m, keep_not_key, &fa)) r->changed = true;
        break;
    case E_DELETE_MATCHING_KEYS:
        if (attrs_filter(m, keep_not_matching, &fa)) r->changed = true;
        break;
    case E_KEEP_KEYS:
        fa.list = a[1];
        if (attrs_filter(m, keep_listed, &fa)) r->changed = true;
        break;
    case E_REPLACE_ALL_PATTERNS:
        for (uint32_t i = 0; i < m->n && !r->rc; i++) {
            lt_kv *kv = &m->items[i];
            if (st->by_key) {
                lt_str o;
                if (substitute(r, st->re, kv->key, st->repl, &o)) break;
                kv->key = o;
            } else if (kv->value.type == LT_VAL_STRING) {
                lt_str o;
                if (substitute(r, st->re, kv->value.u.s, st->repl, &o)) break;
                kv->value.u.s = o;
            }
        }
        break;
    case E_TRUNCATE_ALL:
        for (uint32_t i = 0; i < m->n; i++) {
            lt_value *v = &m->items[i].value;
            if (v->type != LT_VAL_STRING || v->u.s.len <= (uint64_t)st->limit) continue;
            v->u.s = truncate_utf8(v->u.s, (size_t)st->limit);
            r->changed = true;
        }
        break;
    case E_LIMIT:
        do_limit(r, m, st->limit, st->nargs == 3 ? a[2] : NULL);
        break;
    default:
        break;
    }
    return r->rc;
}

int ottl_exec(const ottl_stmt *s, ottl_target *t, bool *changed, char *err, size_t errlen)
{
    run r = {.st = s, .t = t, .err = err, .errlen = errlen};
    if (s->where) {
        bool ok = truthy(&r, s->where);
        if (r.rc) return r.rc;
        if (!ok) return 0;
    }
    apply(&r);
    if (r.changed && changed) *changed = true;
    return r.rc;
}

int ottl_eval_condition(const ottl_cond *c, ottl_target *t, bool *result, char *err, size_t errlen)
{
    run r = {.st = &c->st, .t = t, .err = err, .errlen = errlen};
    bool ok = truthy(&r, c->st.where);
    *result = !r.rc && ok;
    return r.rc;
}
