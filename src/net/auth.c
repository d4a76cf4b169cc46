/* auth.c — bearer tokens and tenants (see auth.h).
 *
 * A check walks every token of the side with no early exit and compares each over the
 * configured token's whole length, so its time depends on the number and lengths of the
 * configured tokens, not on how much of a guess was right (RFC 6750 bearer tokens). */
#include "net/auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/err.h"

typedef struct {
    char *token;
    size_t len;
    int tenant;
} token_entry;

typedef struct {
    token_entry *v;
    size_t n, cap;
} token_set;

struct auth {
    token_set ingest, api;
    char *tenants[AUTH_MAX_TENANTS];
    size_t n_tenants;
};

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding */
static bool valid_token(const char *t, size_t n)
{
    if (n == 0 || n > AUTH_MAX_TOKEN) return false;
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)t[i]) || strchr("-._~+/", t[i]) != NULL))
        i++;
    if (i == 0) return false;
    while (i < n && t[i] == '=')
        i++;
    return i == n;
}

static bool valid_tenant(const char *t, size_t n)
{
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '-') return false;
    return true;
}

static int tenant_index(auth *a, const char *name, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 1; i < a->n_tenants; i++)
        if (strlen(a->tenants[i]) == n && memcmp(a->tenants[i], name, n) == 0) return (int)i;
    if (a->n_tenants == AUTH_MAX_TENANTS) return LT_ETOOBIG;
    char *c = lt_malloc(n + 1);
    if (!c) return LT_ENOMEM;
    memcpy(c, name, n);
    c[n] = 0;
    a->tenants[a->n_tenants] = c;
    return (int)a->n_tenants++;
}

static int add_token(token_set *s, const char *t, size_t n, int tenant)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].len == n && memcmp(s->v[i].token, t, n) == 0) return LT_EINVAL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        token_entry *v = lt_realloc(s->v, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        s->v = v, s->cap = cap;
    }
    char *c = lt_malloc(n + 1);
    if (!c) return LT_ENOMEM;
    memcpy(c, t, n);
    c[n] = 0;
    s->v[s->n++] = (token_entry){c, n, tenant};
    return 0;
}

static int add_flag_token(token_set *s, const char *flag, const char *t, char *err, size_t errlen)
{
    if (!valid_token(t, strlen(t))) {
        snprintf(err, errlen,
                 "--%s: a token is 1 to %d characters of A-Z a-z 0-9 - . _ ~ + / (then '=')", flag,
                 AUTH_MAX_TOKEN);
        return LT_EINVAL;
    }
    int rc = add_token(s, t, strlen(t), 0);
    if (rc == LT_EINVAL) snprintf(err, errlen, "--%s: the token is given twice", flag);
    return rc;
}

static int load_file(auth *a, token_set *s, const char *flag, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--%s %s: %s", flag, path, strerror(errno));
        return LT_EIO;
    }
    char line[AUTH_MAX_TOKEN + 128];
    int rc = 0;
    size_t before = s->n;
    for (unsigned no = 1; fgets(line, sizeof line, f); no++) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long", path, no);
            rc = LT_EINVAL;
            break;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0) continue;
        char *tok = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t tl = (size_t)(p - tok);
        while (*p == ' ' || *p == '\t')
            p++;
        char *ten = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t nl = (size_t)(p - ten);
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p) {
            snprintf(err, errlen, "%s:%u: expected TOKEN [TENANT], found more", path, no);
            rc = LT_EINVAL;
            break;
        }
        if (!valid_token(tok, tl)) {
            snprintf(err, errlen,
                     "%s:%u: a token is 1 to %d characters of A-Z a-z 0-9 - . _ ~ + / (then '=')",
                     path, no, AUTH_MAX_TOKEN);
            rc = LT_EINVAL;
            break;
        }
        if (nl && !valid_tenant(ten, nl)) {
            snprintf(err, errlen, "%s:%u: a tenant name is 1 to 64 characters of A-Z a-z 0-9 _ -",
                     path, no);
            rc = LT_EINVAL;
            break;
        }
        int t = tenant_index(a, ten, nl);
        if (t < 0 || (rc = add_token(s, tok, tl, t))) {
            if (t < 0) rc = t;
            snprintf(err, errlen, "%s:%u: %s", path, no,
                     rc == LT_ETOOBIG  ? "too many tenants"
                     : rc == LT_EINVAL ? "the token is given twice"
                                       : lt_strerror(rc));
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "--%s %s: read error", flag, path);
        rc = LT_EIO;
    }
    if (!rc && s->n == before) {
        snprintf(err, errlen, "--%s %s: no token in the file", flag, path);
        rc = LT_EINVAL;
    }
    fclose(f);
    return rc;
}

int auth_load(auth **out, const auth_config *cfg, char *err, size_t errlen)
{
    auth *a = lt_calloc(1, sizeof *a);
    if (!a) return LT_ENOMEM;
    int rc = 0;
    a->tenants[0] = NULL;
    a->n_tenants = 1;
    if ((cfg->ingest_token &&
         (rc = add_flag_token(&a->ingest, "ingest-token", cfg->ingest_token, err, errlen))) ||
        (cfg->ingest_tokens_file &&
         (rc = load_file(a, &a->ingest, "ingest-tokens", cfg->ingest_tokens_file, err, errlen))) ||
        (cfg->api_token &&
         (rc = add_flag_token(&a->api, "api-token", cfg->api_token, err, errlen))) ||
        (cfg->api_tokens_file &&
         (rc = load_file(a, &a->api, "api-tokens", cfg->api_tokens_file, err, errlen)))) {
        if (rc == LT_ENOMEM && !*err) snprintf(err, errlen, "out of memory");
        auth_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static void set_free(token_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        /* wipe before handing back: freed memory may be reused for logged strings */
        volatile char *p = s->v[i].token;
        for (size_t k = 0; k < s->v[i].len; k++)
            p[k] = 0;
        lt_free(s->v[i].token);
    }
    lt_free(s->v);
}

void auth_free(auth *a)
{
    if (!a) return;
    set_free(&a->ingest);
    set_free(&a->api);
    for (size_t i = 1; i < a->n_tenants; i++)
        lt_free(a->tenants[i]);
    lt_free(a);
}

bool auth_ingest_required(const auth *a)
{
    return a->ingest.n > 0;
}

bool auth_api_required(const auth *a)
{
    return a->api.n > 0;
}

static int check(const token_set *s, const char *authorization)
{
    if (s->n == 0) return 0;
    if (!authorization) return -1;
    const char *p = authorization;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "Bearer ", 7) != 0) return -1;
    p += 7;
    while (*p == ' ')
        p++;
    size_t n = strnlen(p, AUTH_MAX_TOKEN + 1);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    int found = -1;
    for (size_t i = 0; i < s->n; i++) {
        const token_entry *e = &s->v[i];
        unsigned diff = n != e->len;
        for (size_t k = 0; k < e->len; k++)
            diff |= (unsigned char)e->token[k] ^ (unsigned char)(k < n ? p[k] : 0);
        /* no branch on the outcome inside the loop: every token is compared */
        int hit = -(int)(diff == 0); /* all ones on a match */
        found = (hit & e->tenant) | (~hit & found);
    }
    return found;
}

int auth_ingest(const auth *a, const char *authorization)
{
    return check(&a->ingest, authorization);
}

int auth_api(const auth *a, const char *authorization)
{
    return check(&a->api, authorization);
}

size_t auth_n_tenants(const auth *a)
{
    return a->n_tenants;
}

const char *auth_tenant_name(const auth *a, size_t i)
{
    return i == 0 ? "" : a->tenants[i];
}
