/* auth.h — bearer tokens and tenants.
 *
 * Two token sets: one for ingest (the OTLP receivers), one for the API and UI. Each token
 * belongs to a tenant; a tenant's data is kept apart from every other tenant's (its own
 * store), so an API token sees only what was sent with an ingest token of the same tenant.
 * Tenant 0 is the default one, unnamed; tokens given on the command line belong to it.
 * A side without tokens is open, and everything on it belongs to tenant 0.
 *
 * Tokens file: one token per line, optionally followed by whitespace and a tenant name
 * ([A-Za-z0-9_-], 1 to 64 characters); blank lines and lines starting with '#' are skipped.
 * Tokens are compared in constant time (as to their content) and never logged.
 *
 * An auth is immutable once loaded: any thread may use it. */
#ifndef LT_NET_AUTH_H
#define LT_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct auth auth;

typedef struct {
    const char *ingest_token;       /* one token of tenant 0, or NULL */
    const char *ingest_tokens_file; /* or NULL */
    const char *api_token;
    const char *api_tokens_file;
} auth_config;

enum { AUTH_MAX_TENANTS = 256, AUTH_MAX_TOKEN = 512 };

/* Loads the tokens. On error writes a one-line reason (file and line; never the token) to
 * err and returns LT_EINVAL, LT_EIO or LT_ENOMEM. */
int auth_load(auth **out, const auth_config *cfg, char *err, size_t errlen);
void auth_free(auth *a);

/* Whether a side asks for a token. */
bool auth_ingest_required(const auth *a);
bool auth_api_required(const auth *a);

/* Checks an Authorization header value ("Bearer TOKEN"; NULL when absent) for one side.
 * Returns the tenant index (0 when the side is open), or -1 when the token is missing or
 * wrong. */
int auth_ingest(const auth *a, const char *authorization);
int auth_api(const auth *a, const char *authorization);

/* Tenants named by any token, 0 (the default) first: names are "" for tenant 0. */
size_t auth_n_tenants(const auth *a);
const char *auth_tenant_name(const auth *a, size_t i);

#endif
