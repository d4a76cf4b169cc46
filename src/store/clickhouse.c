/* clickhouse.c — the ClickHouse engine: opening, the HTTP client, retention, size (see
 * ch_int.h for the layout of the engine and ch_schema.c for the tables).
 *
 * The URL is clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE (PORT: the HTTP interface,
 * 8123 by default); user and password may also come from the environment
 * (LLMTRACE_CLICKHOUSE_USER, LLMTRACE_CLICKHOUSE_PASSWORD). Opening does not need ClickHouse
 * to be up: the schema is created the first time it answers, and until then every call fails
 * with LT_EIO, which senders see as "retry later". After a failure the engine backs off
 * (100 ms doubling to 5 s) and fails at once until the backoff has passed, so a ClickHouse that
 * is down is not hammered by every request. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/ch_int.h"

#define BACKOFF_MIN_NS 100000000ull
#define BACKOFF_MAX_NS 5000000000ull

/* ---- RowBinary and SQL text ---- */

void rb_varint(lt_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    buf_append(b, tmp, n);
}

static bool rd_need(rb_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

uint8_t rd_u8(rb_reader *r)
{
    return rd_need(r, 1) ? *r->p++ : 0;
}

uint32_t rd_u32(rb_reader *r)
{
    uint32_t v = 0;
    if (rd_need(r, 4)) {
        memcpy(&v, r->p, 4);
        r->p += 4;
    }
    return v;
}

uint64_t rd_u64(rb_reader *r)
{
    uint64_t v = 0;
    if (rd_need(r, 8)) {
        memcpy(&v, r->p, 8);
        r->p += 8;
    }
    return v;
}

double rd_f64(rb_reader *r)
{
    double v = 0;
    if (rd_need(r, 8)) {
        memcpy(&v, r->p, 8);
        r->p += 8;
    }
    return v;
}

uint64_t rd_varint(rb_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (!rd_need(r, 1)) return 0;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

lt_str rd_str(rb_reader *r)
{
    uint64_t n = rd_varint(r);
    if (!rd_need(r, n)) return LT_STR("");
    lt_str s = {(const char *)r->p, (size_t)n};
    r->p += n;
    return s;
}

void rd_fixed(rb_reader *r, void *out, size_t n)
{
    if (rd_need(r, n)) {
        memcpy(out, r->p, n);
        r->p += n;
    } else {
        memset(out, 0, n);
    }
}

void sql_str(lt_buf *b, lt_str s)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(b, '\'');
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\'' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(b, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 4);
        } else {
            buf_putc(b, (char)c);
        }
    }
    buf_putc(b, '\'');
}

void sql_hex(lt_buf *b, const uint8_t *id, size_t n)
{
    char h[64];
    hex_encode(id, n, h);
    buf_printf(b, "unhex('%.*s')", (int)(2 * n), h);
}

uint32_t ch_day(uint64_t seq_ns)
{
    time_t t = (time_t)(seq_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* ---- the HTTP client ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    lt_buf *b = ud;
    return buf_append(b, p, size * n) ? 0 : size * n;
}

static CURL *pool_get(ch_store *s)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s->pool.mu);
    if (s->pool.n) c = s->pool.curl[--s->pool.n];
    pthread_mutex_unlock(&s->pool.mu);
    return c ? c : curl_easy_init();
}

static void pool_put(ch_store *s, CURL *c)
{
    pthread_mutex_lock(&s->pool.mu);
    if (s->pool.n < CH_POOL) {
        s->pool.curl[s->pool.n++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->pool.mu);
    if (c) curl_easy_cleanup(c);
}

static void note_down(ch_store *s, const char *why)
{
    uint64_t b = atomic_load(&s->backoff_ns);
    b = b ? (b * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : b * 2) : BACKOFF_MIN_NS;
    atomic_store(&s->backoff_ns, b);
    atomic_store(&s->down_until_ns, time_mono_ns() + b);
    if (!atomic_exchange(&s->down_logged, true))
        log_warn("clickhouse %s: %s (retrying with backoff; requests get retryable errors)",
                 s->base_url, why);
}

static void note_up(ch_store *s)
{
    atomic_store(&s->backoff_ns, 0);
    if (atomic_exchange(&s->down_logged, false))
        log_info("clickhouse %s: reachable again", s->base_url);
}

/* ClickHouse's error codes that mean the schema is gone (UNKNOWN_TABLE, UNKNOWN_DATABASE). */
static bool missing_schema(const lt_buf *body)
{
    return body->len && (strstr(body->data, "Code: 60,") || strstr(body->data, "Code: 81,") ||
                         strstr(body->data, "Code: 60.") || strstr(body->data, "Code: 81."));
}

/* Errors in the query itself (syntax, types, unknown identifiers, bad arguments): a bug of
 * ours, not worth retrying. */
static bool query_error(const lt_buf *body)
{
    static const char *const codes[] = {"Code: 62", "Code: 47", "Code: 43", "Code: 53",
                                        "Code: 36", "Code: 42", "Code: 44", "Code: 386",
                                        "Code: 27", "Code: 26"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (body->len && strstr(body->data, codes[i])) return true;
    return false;
}

static int exec_in(ch_store *s, const char *db, const char *sql, const void *data, size_t n,
                   lt_buf *out)
{
    if (time_mono_ns() < atomic_load(&s->down_until_ns)) return LT_EIO;
    CURL *c = pool_get(s);
    if (!c) return LT_ENOMEM;
    lt_buf url = {0}, body = {0};
    char *esc = NULL;
    buf_printf(&url, "%s?database=%s", s->base_url, db);
    if (data) {
        esc = curl_easy_escape(c, sql, 0);
        if (!esc) {
            pool_put(s, c);
            return LT_ENOMEM;
        }
        buf_printf(&url, "&query=%s", esc);
        curl_free(esc);
    } else {
        /* the whole answer is made before it is sent: an error past the first rows becomes
         * an HTTP error instead of a truncated result. On a cluster (Distributed tables), a
         * subquery over spans or traces runs on each shard's own tables: a trace lives on
         * one shard (sharded by trace id); resources and content, sharded by hash, are read
         * with GLOBAL IN. */
        buf_append_c(&url, "&wait_end_of_query=1&distributed_product_mode=local");
    }
    if (url.oom) {
        buf_free(&url);
        pool_put(s, c);
        return LT_ENOMEM;
    }
    lt_buf *sink = out ? out : &body;
    size_t out0 = out ? out->len : 0;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : sql);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(data ? n : strlen(sql)));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (s->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    buf_free(&url);
    int rc = 0;
    if (cc != CURLE_OK) {
        if (sink->oom) {
            rc = LT_ENOMEM;
        } else {
            note_down(s, curl_easy_strerror(cc));
            rc = LT_EIO;
        }
        curl_easy_cleanup(c);
        c = NULL;
    } else if (status != 200) {
        lt_buf msg = {0};
        buf_append(&msg, sink->data + out0, sink->len - out0);
        if (out) out->len = out0;
        if (msg.len && msg.data[msg.len - 1] == '\n') msg.data[--msg.len] = 0;
        if (missing_schema(&msg)) {
            rc = LT_ENOTFOUND;
        } else if (query_error(&msg)) {
            log_error("clickhouse: query failed: %.300s: %.500s", sql, msg.data ? msg.data : "");
            rc = LT_EINVAL;
        } else {
            char why[600];
            snprintf(why, sizeof why, "HTTP %ld: %.500s", status, msg.data ? msg.data : "");
            /* a refused insert means ClickHouse is in trouble (too many parts, memory, read
             * only): back off. A failed read is that query's alone, whatever a user asked */
            if (data)
                note_down(s, why);
            else
                log_warn("clickhouse: query failed: %s", why);
            rc = LT_EIO;
        }
        buf_free(&msg);
    } else {
        note_up(s);
    }
    buf_free(&body);
    if (c) pool_put(s, c);
    return rc;
}

int ch_exec(ch_store *s, const char *sql, const void *data, size_t n, lt_buf *out)
{
    return exec_in(s, s->db, sql, data, n, out);
}

/* Runs sql (which ends in FORMAT RowBinary) and copies the answer into the arena, so the
 * slices read from it live as long as the results. */
int ch_query(ch_store *s, lt_buf *sql, lt_arena *a, rb_reader *r)
{
    if (sql->oom) return LT_ENOMEM;
    lt_buf res = {0};
    int rc = ch_run(s, sql->data, NULL, 0, &res);
    if (!rc && res.oom) rc = LT_ENOMEM;
    if (!rc) {
        uint8_t *p = res.len ? arena_alloc(a, res.len) : NULL;
        if (res.len && !p) rc = LT_ENOMEM;
        if (p) memcpy(p, res.data, res.len);
        *r = (rb_reader){p, p ? p + res.len : p, false};
    }
    buf_free(&res);
    return rc;
}

/* Creates the schema when ClickHouse answers and it is not there yet. */
static int ensure_schema(ch_store *s)
{
    if (atomic_load(&s->ready)) return 0;
    pthread_mutex_lock(&s->schema_mu);
    int rc = 0;
    if (atomic_load(&s->ready)) goto out;
    lt_buf v = {0};
    /* the database may not exist yet: ask in the default one */
    rc = exec_in(s, "default", "SELECT version() FORMAT TabSeparated", NULL, 0, &v);
    if (rc) {
        buf_free(&v);
        goto out;
    }
    if (v.len && v.data[v.len - 1] == '\n') v.data[--v.len] = 0;
    if (s->read_only) {
        atomic_store(&s->ready, true);
        buf_free(&v);
        goto out;
    }
    /* no TTL: the server's own retention drops whole days (--retention-*), on every version */
    lt_buf ddl = {0};
    ch_schema_ddl(&ddl, s->db, NULL, 0);
    if (ddl.oom) {
        buf_free(&ddl);
        buf_free(&v);
        rc = LT_ENOMEM;
        goto out;
    }
    char *p = ddl.data;
    while (p && *p && !rc) {
        char *end = strstr(p, ";\n\n");
        if (end) *end = 0;
        rc = exec_in(s, "default", p, NULL, 0, NULL);
        p = end ? end + 3 : NULL;
    }
    buf_free(&ddl);
    if (!rc) {
        atomic_store(&s->ready, true);
        log_info("clickhouse %s: schema of database %s ready (ClickHouse %s)", s->base_url, s->db,
                 v.data ? v.data : "?");
    }
    buf_free(&v);
out:
    pthread_mutex_unlock(&s->schema_mu);
    return rc;
}

int ch_run(ch_store *s, const char *sql, const void *data, size_t n, lt_buf *out)
{
    int rc = ensure_schema(s);
    if (rc) return rc == LT_ENOTFOUND ? LT_EIO : rc;
    rc = ch_exec(s, sql, data, n, out);
    if (rc == LT_ENOTFOUND && !s->read_only) {
        /* ClickHouse lost the schema (its data was wiped): make it again, once */
        log_warn("clickhouse %s: database %s or one of its tables is missing; creating it again",
                 s->base_url, s->db);
        atomic_store(&s->ready, false);
        if (!(rc = ensure_schema(s))) rc = ch_exec(s, sql, data, n, out);
    }
    return rc == LT_ENOTFOUND ? LT_EIO : rc;
}

/* ---- opening ---- */

static int url_decode(const char *p, size_t n, char **out)
{
    char *s = lt_malloc(n + 1);
    if (!s) return LT_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n) {
            uint8_t b;
            if (hex_decode((lt_str){p + i + 1, 2}, &b, 1)) {
                lt_free(s);
                return LT_EINVAL;
            }
            s[k++] = (char)b;
            i += 2;
        } else {
            s[k++] = p[i];
        }
    }
    s[k] = 0;
    *out = s;
    return 0;
}

static bool name_ok(const char *s)
{
    if (!*s || strlen(s) > 200) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static char *dup_c(const char *p, size_t n)
{
    char *s = lt_malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static void ch_close(lt_store *st);
static const lt_store_ops ch_ops;

/* Parses clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE into s. */
static int parse_url(ch_store *s, const char *url, char *err, size_t errlen)
{
    char shown[300];
    store_url_shown(url, shown, sizeof shown); /* messages never show the password */
    const char *p = url + strlen("clickhouse://");
    const char *slash = strchr(p, '/');
    if (!slash) {
        snprintf(err, errlen, "'%s' names no database: clickhouse://HOST:PORT/DATABASE", shown);
        return LT_EINVAL;
    }
    const char *at = memchr(p, '@', (size_t)(slash - p));
    const char *host = p;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (url_decode(p, ulen, &s->user)) goto bad_auth;
        if (colon && url_decode(colon + 1, (size_t)(at - colon - 1), &s->password)) goto bad_auth;
        host = at + 1;
    }
    size_t hlen = (size_t)(slash - host);
    if (!hlen || memchr(host, '?', hlen) || memchr(host, '#', hlen)) {
        snprintf(err, errlen, "'%s' names no host: clickhouse://HOST:PORT/DATABASE", shown);
        return LT_EINVAL;
    }
    const char *colon = memchr(host, ']', hlen) ? NULL : memchr(host, ':', hlen);
    if (colon) {
        uint64_t port;
        if (parse_u64((lt_str){colon + 1, (size_t)(slash - colon - 1)}, &port) || !port ||
            port > 65535) {
            snprintf(err, errlen, "'%s': the port is not a number from 1 to 65535", shown);
            return LT_EINVAL;
        }
    }
    lt_buf b = {0};
    buf_printf(&b, "http://%.*s%s/", (int)hlen, host, colon ? "" : ":8123");
    if (b.oom) return LT_ENOMEM;
    s->base_url = b.data;
    s->db = dup_c(slash + 1, strlen(slash + 1));
    if (!s->db) return LT_ENOMEM;
    if (!name_ok(s->db)) {
        snprintf(err, errlen,
                 "'%s': the database name must be letters, digits and underscores (at most 200)",
                 shown);
        return LT_EINVAL;
    }
    return 0;
bad_auth:
    snprintf(err, errlen, "'%s': bad percent-encoding in the user or password", shown);
    return LT_EINVAL;
}

int store_clickhouse_open(const char *url, bool read_only, lt_store **out, char *err, size_t errlen)
{
    static const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1) {
        snprintf(err, errlen, "the ClickHouse engine needs a little-endian machine");
        return LT_EUNSUPPORTED;
    }
    ch_store *s = lt_calloc(1, sizeof *s);
    if (!s) return LT_ENOMEM;
    s->base.ops = &ch_ops;
    s->read_only = read_only;
    pthread_mutex_init(&s->pool.mu, NULL);
    pthread_mutex_init(&s->schema_mu, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    int rc = parse_url(s, url, err, errlen);
    if (!rc && !s->user) {
        const char *u = getenv("LLMTRACE_CLICKHOUSE_USER");
        const char *pw = getenv("LLMTRACE_CLICKHOUSE_PASSWORD");
        if (u && *u && !(s->user = dup_c(u, strlen(u)))) rc = LT_ENOMEM;
        if (!rc && pw && !(s->password = dup_c(pw, strlen(pw)))) rc = LT_ENOMEM;
    }
    if (rc) {
        if (rc == LT_ENOMEM) snprintf(err, errlen, "out of memory");
        ch_close(&s->base);
        return rc;
    }
    /* ClickHouse may be down now: the schema is made once it answers */
    rc = ensure_schema(s);
    if (rc == LT_EINVAL) {
        snprintf(err, errlen, "ClickHouse at %s refused the schema (see the log)", s->base_url);
        ch_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static void ch_close(lt_store *st)
{
    ch_store *s = (ch_store *)st;
    for (int i = 0; i < s->pool.n; i++)
        curl_easy_cleanup(s->pool.curl[i]);
    ch_writer_free(s);
    pthread_mutex_destroy(&s->pool.mu);
    pthread_mutex_destroy(&s->schema_mu);
    pthread_mutex_destroy(&s->wlock);
    lt_free(s->base_url);
    lt_free(s->db);
    lt_free(s->user);
    lt_free(s->password);
    lt_free(s);
}

/* ---- size and retention ---- */

static int ch_bytes_used(lt_store *st, uint64_t *out)
{
    ch_store *s = (ch_store *)st;
    lt_buf sql = {0}, res = {0};
    buf_printf(
        &sql, "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE active AND database = ");
    sql_str(&sql, lt_str_c(s->db));
    buf_append_c(&sql, " FORMAT RowBinary");
    int rc = sql.oom ? LT_ENOMEM : ch_run(s, sql.data, NULL, 0, &res);
    if (!rc) {
        rb_reader r = {(const uint8_t *)res.data, (const uint8_t *)res.data + res.len, false};
        *out = rd_u64(&r);
        if (r.bad) rc = LT_EIO;
    }
    buf_free(&sql);
    buf_free(&res);
    return rc;
}

/* Drops whole arrival days: those older than max_age, then the oldest while the database is
 * over max_bytes (never the current day). */
static int ch_enforce_retention(lt_store *st, const lt_retention *ret, uint64_t now_ns)
{
    ch_store *s = (ch_store *)st;
    if (s->read_only) return LT_EBUSY;
    if (!ret->max_age_ns && !ret->max_bytes) return 0;
    lt_buf sql = {0}, res = {0};
    buf_printf(&sql,
               "SELECT toUInt32(partition), toUInt64(sum(bytes_on_disk)) FROM system.parts WHERE "
               "active AND database = ");
    sql_str(&sql, lt_str_c(s->db));
    buf_append_c(&sql, " GROUP BY partition ORDER BY partition FORMAT RowBinary");
    int rc = sql.oom ? LT_ENOMEM : ch_run(s, sql.data, NULL, 0, &res);
    buf_free(&sql);
    if (rc) {
        buf_free(&res);
        return rc;
    }
    uint32_t days[4096];
    uint64_t bytes[4096], total = 0;
    size_t n = 0;
    rb_reader r = {(const uint8_t *)res.data, (const uint8_t *)res.data + res.len, false};
    while (rd_more(&r) && n < 4096) {
        days[n] = rd_u32(&r);
        bytes[n] = rd_u64(&r);
        total += bytes[n++];
    }
    buf_free(&res);
    uint32_t today = ch_day(now_ns);
    uint32_t cutoff = ret->max_age_ns ? ch_day(now_ns - ret->max_age_ns) : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        /* a day is whole past the age when the day after it began before the cutoff */
        bool old = cutoff && days[i] < cutoff;
        bool big = ret->max_bytes && total > ret->max_bytes;
        if (days[i] >= today || (!old && !big)) break;
        for (size_t t = 0; ch_table_name(t) && !rc; t++) {
            char q[300];
            snprintf(q, sizeof q, "ALTER TABLE %s.%s DROP PARTITION %u", s->db, ch_table_name(t),
                     days[i]);
            rc = ch_run(s, q, NULL, 0, NULL);
        }
        if (!rc) {
            log_info("retention: dropped the data that arrived on %u (%llu bytes)", days[i],
                     (unsigned long long)bytes[i]);
            total -= bytes[i];
        }
    }
    return rc;
}

static const lt_store_ops ch_ops = {
    .name = "clickhouse",
    .batch_items = 8192,
    .batch_delay_ms = 50, /* at most 20 inserts a second */
    .batch_max_items = 0, /* the writer's 16384: an insert's rows are built in memory */
    .write_traces = ch_write_traces,
    .write_logs = ch_write_logs,
    .list_traces = ch_list_traces,
    .get_trace = ch_get_trace,
    .list_services = ch_list_services,
    .list_operations = ch_list_operations,
    .genai_summary = ch_genai_summary,
    .trace_stats = ch_trace_stats,
    .tail_spans = ch_tail_spans,
    .rederive = ch_rederive,
    .enforce_retention = ch_enforce_retention,
    .bytes_used = ch_bytes_used,
    .check = ch_check,
    .close = ch_close,
};

int store_clickhouse_schema(lt_buf *out, const char *db, const char *cluster, uint64_t ttl_ns)
{
    if (!name_ok(db) || (cluster && !name_ok(cluster))) return LT_EINVAL;
    ch_schema_ddl(out, db, cluster, ttl_ns);
    buf_append_c(out, ";\n");
    return out->oom ? LT_ENOMEM : 0;
}
