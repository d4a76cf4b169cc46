/* store.c — store_open: picks the engine named by a store URL.
 *
 * A plain path is a directory holding the embedded SQLite engine (created when missing);
 * "clickhouse://HOST:PORT/DATABASE" is the ClickHouse engine. */
#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* Defined in sqlite.c (there is no engine header: engines are reached only through
 * store_open and the function table). */
int store_sqlite_open(const char *dir, bool read_only, lt_store **out, char *errbuf, size_t errlen);
int store_clickhouse_open(const char *url, bool read_only, lt_store **out, char *errbuf,
                          size_t errlen);

static int open_url(const char *url, bool read_only, lt_store **out, char *errbuf, size_t errlen)
{
    if (errbuf && errlen) errbuf[0] = 0;
    *out = NULL;
    if (!url || !*url) {
        if (errbuf && errlen) snprintf(errbuf, errlen, "empty store location");
        return LT_EINVAL;
    }
    if (strncmp(url, "clickhouse://", 13) == 0)
        return store_clickhouse_open(url, read_only, out, errbuf, errlen);
    if (strstr(url, "://")) {
        if (errbuf && errlen)
            snprintf(
                errbuf, errlen,
                "unknown store scheme in '%s' (a directory path, or clickhouse://HOST:PORT/DB)",
                url);
        return LT_EUNSUPPORTED;
    }
    return store_sqlite_open(url, read_only, out, errbuf, errlen);
}

int store_open(const char *url, lt_store **out, char *errbuf, size_t errlen)
{
    return open_url(url, false, out, errbuf, errlen);
}

int store_open_read_only(const char *url, lt_store **out, char *errbuf, size_t errlen)
{
    return open_url(url, true, out, errbuf, errlen);
}

double store_cost_bucket_min(uint32_t i)
{
    /* literals, so that every bound is the double nearest its decimal value */
    static const double bounds[LT_COST_BUCKETS] = {
        0,    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2,
        5e-2, 0.1,  0.2,  0.5,  1,    2,    5,    10,   20,   50,   100,  200,  500,  1000, 2000};
    return bounds[i < LT_COST_BUCKETS ? i : LT_COST_BUCKETS - 1];
}

void store_set_cache_limit(size_t bytes)
{
    /* SQLite's page caches of every connection of every store in the process: past the
     * soft limit SQLite gives cache pages back before it takes new memory */
    sqlite3_soft_heap_limit64((sqlite3_int64)bytes);
}

void store_url_shown(const char *url, char *out, size_t n)
{
    if (!n) return;
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : NULL;
    const char *slash = host ? strchr(host, '/') : NULL;
    const char *at = host ? memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host)) : NULL;
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (!colon) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s:***%s", (int)(colon - url), url, at);
}
