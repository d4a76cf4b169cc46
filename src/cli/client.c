/* client.c — API answers and terminal text for the read commands (see client.h). */
#include "cli/client.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/err.h"
#include "core/util.h"

enum { MAX_ANSWER = 512 << 20 }; /* a bigger answer is not for a terminal */

int client_open(client *c, const char *cmd, const char *server, const char *data)
{
    *c = (client){.cmd = cmd, .server = server, .data = data};
    if (!data) return 0;
    struct stat sb;
    if (!strstr(data, "://") && (stat(data, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "llmtrace %s: %s: no such store directory\n", cmd, data);
        return -1;
    }
    char err[256] = "";
    int rc = store_open(data, &c->store, err, sizeof err);
    if (rc) {
        char shown[512];
        store_url_shown(data, shown, sizeof shown);
        fprintf(stderr, "llmtrace %s: cannot open store %s: %s\n", cmd, shown,
                err[0] ? err : lt_strerror(rc));
        c->store = NULL;
        return -1;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    lt_buf *b = arg;
    (void)size; /* always 1 (libcurl documents it) */
    if (b->len + n > MAX_ANSWER || buf_append(b, p, n)) return 0; /* aborts the transfer */
    return n;
}

long client_get(client *c, const char *path, const char *query, lt_buf *body)
{
    buf_reset(body);
    if (c->store) {
        const char *ctype;
        int status =
            api_handle(c->store, LT_STR("GET"), lt_str_c(path), lt_str_c(query), body, &ctype);
        if (body->oom) {
            fprintf(stderr, "llmtrace %s: out of memory\n", c->cmd);
            return -1;
        }
        return status;
    }
    if (!c->curl && !(c->curl = curl_easy_init())) {
        fprintf(stderr, "llmtrace %s: cannot start the HTTP client\n", c->cmd);
        return -1;
    }
    size_t sl = strlen(c->server);
    while (sl && c->server[sl - 1] == '/')
        sl--;
    lt_buf url = {0};
    buf_printf(&url, "%.*s%s%s%s", (int)sl, c->server, path, query && *query ? "?" : "",
               query ? query : "");
    if (url.oom) {
        fprintf(stderr, "llmtrace %s: out of memory\n", c->cmd);
        return -1;
    }
    CURL *h = c->curl;
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    /* the token comes from the environment only: a flag would show it in the process list */
    const char *token = getenv("LLMTRACE_API_TOKEN");
    lt_buf auth = {0};
    if (token && *token) {
        buf_printf(&auth, "Authorization: Bearer %s", token);
        if (!auth.oom) hdr = curl_slist_append(hdr, auth.data);
    }
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    buf_free(&auth);
    long status = -1;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    } else if (rc == CURLE_WRITE_ERROR) {
        fprintf(stderr, "llmtrace %s: answer from %.*s too large\n", c->cmd, (int)sl, c->server);
    } else {
        fprintf(stderr,
                "llmtrace %s: cannot reach %.*s: %s (is `llmtrace serve` running? "
                "--data DIR reads a store directly)\n",
                c->cmd, (int)sl, c->server, curl_easy_strerror(rc));
    }
    buf_free(&url);
    return status;
}

json_t *client_parse(client *c, const lt_buf *body)
{
    json_error_t err;
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, &err);
    if (!doc || !json_is_object(doc)) {
        fprintf(stderr, "llmtrace %s: the answer is not a JSON object (%s)\n", c->cmd,
                doc ? "another JSON value" : err.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

void client_report(client *c, long status, const lt_buf *body)
{
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    const char *msg = doc ? client_str(doc, "error") : "";
    lt_buf shown = {0};
    client_fit(&shown, *msg ? msg : "no details", 200, false, true);
    while (shown.len && shown.data[shown.len - 1] == ' ')
        shown.data[--shown.len] = 0;
    fprintf(stderr, "llmtrace %s: %s answered %ld: %s\n", c->cmd,
            c->store ? "the store" : "the server", status, shown.oom ? "?" : shown.data);
    buf_free(&shown);
    json_decref(doc);
}

void client_close(client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    store_close(c->store);
    c->curl = NULL;
    c->store = NULL;
}

void client_param(lt_buf *query, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (query->len) buf_putc(query, '&');
    buf_append_c(query, name);
    buf_putc(query, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        unsigned c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            buf_putc(query, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(query, e, 3);
        }
    }
}

void client_param_since(lt_buf *query, uint64_t since_ns)
{
    char num[32];
    uint64_t now = time_now_ns();
    snprintf(num, sizeof num, "%llu", (unsigned long long)(now > since_ns ? now - since_ns : 1));
    client_param(query, "start", num);
}

static bool locale_is_utf8(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return false;
}

client_style client_style_detect(void)
{
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    bool tty = isatty(STDOUT_FILENO);
    client_style st = {
        .color = tty && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0),
        .utf8 = locale_is_utf8(),
        .bar_width = 40,
    };
    struct winsize ws;
    uint64_t cols = 0;
    const char *env = getenv("COLUMNS");
    if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        st.columns = ws.ws_col;
    else if (env && parse_u64(lt_str_c(env), &cols) == 0 && cols >= 20 && cols <= 10000)
        st.columns = (int)cols;
    return st;
}

const char *client_sgr(const client_style *st, const char *code)
{
    return st->color ? code : "";
}

/* Length of the UTF-8 sequence at p (at most n bytes) and its code point; a malformed
 * sequence counts as one byte decoding to U+FFFD. */
static size_t utf8_next(const unsigned char *p, size_t n, unsigned *cp)
{
    unsigned c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 1) {
        *cp = c;
        return 1;
    }
    if (len == 0 || len > n) goto bad;
    unsigned v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) goto bad;
        v = v << 6 | (p[i] & 0x3F);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

void client_fit(lt_buf *out, const char *s, size_t width, bool right_align, bool utf8)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), cols = 0;
    /* first pass: does it fit? */
    for (size_t i = 0; i < n; cols++) {
        unsigned cp;
        i += utf8_next(p + i, n - i, &cp);
    }
    bool cut = cols > width;
    size_t keep = cut ? (width ? width - 1 : 0) : cols;
    if (right_align && !cut)
        for (size_t i = cols; i < width; i++)
            buf_putc(out, ' ');
    size_t i = 0;
    for (size_t k = 0; k < keep; k++) {
        unsigned cp;
        size_t l = utf8_next(p + i, n - i, &cp);
        /* controls, and the bidirectional overrides and isolates (U+202A..U+202E,
         * U+2066..U+2069) that would make a name display as something it is not */
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0xFFFD ||
            (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
            (cp >= 0x80 && !utf8))
            buf_putc(out, '?');
        else
            buf_append(out, p + i, l);
        i += l;
    }
    if (cut && width) buf_append_c(out, utf8 ? "\xe2\x80\xa6" : "~");
    if (!right_align && !cut)
        for (size_t k = cols; k < width; k++)
            buf_putc(out, ' ');
}

void client_duration(char *dst, size_t n, uint64_t ns, bool utf8)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1, "ns"}, {1e3, "us"}, {1e6, "ms"}, {1e9, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        double v = (double)ns / units[i].scale;
        /* the next unit once this one would print as 1000 (or 60 for seconds) */
        if (v >= (i == 3 ? 59.95 : 999.5)) continue;
        const char *unit = i == 1 && utf8 ? "\xc2\xb5s" : units[i].unit;
        if (i == 0)
            snprintf(dst, n, "%uns", (unsigned)ns);
        else if (v < 9.995)
            snprintf(dst, n, "%.2f%s", v, unit);
        else if (v < 99.95)
            snprintf(dst, n, "%.1f%s", v, unit);
        else
            snprintf(dst, n, "%.0f%s", v, unit);
        return;
    }
    uint64_t s = (ns + 500000000) / 1000000000;
    if (s < 3600)
        snprintf(dst, n, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else
        snprintf(dst, n, "%lluh%02um", (unsigned long long)(s / 3600), (unsigned)(s % 3600 / 60));
}

void client_time(char *dst, size_t n, uint64_t unix_ns)
{
    time_t t = (time_t)(unix_ns / 1000000000u);
    struct tm tm;
    char base[32];
    if (!localtime_r(&t, &tm) || !strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(dst, n, "?");
        return;
    }
    snprintf(dst, n, "%s.%03u", base, (unsigned)(unix_ns / 1000000u % 1000u));
}

void client_money(char *dst, size_t n, double usd)
{
    if (!(usd > 0)) { /* also NaN */
        snprintf(dst, n, "$0");
        return;
    }
    if (usd >= 0.01) {
        snprintf(dst, n, "$%.*f", usd >= 1 ? 2 : 4, usd);
        return;
    }
    /* below a cent: three significant digits, trailing zeros dropped */
    int decimals = 2 - (int)floor(log10(usd));
    if (decimals > 12) decimals = 12;
    int len = snprintf(dst, n, "$%.*f", decimals, usd);
    if (len < 0 || (size_t)len >= n) return;
    while (len > 2 && dst[len - 1] == '0')
        dst[--len] = 0;
    if (dst[len - 1] == '.') dst[--len] = 0;
}

void client_count(char *dst, size_t n, uint64_t v)
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    char grouped[32];
    size_t k = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = 0;
    snprintf(dst, n, "%s", grouped);
}

double client_num(const json_t *obj, const char *key, double fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

uint64_t client_u64(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    uint64_t out = 0;
    if (json_is_string(v)) {
        if (parse_u64(lt_str_c(json_string_value(v)), &out)) out = 0;
    } else if (json_is_integer(v) && json_integer_value(v) > 0) {
        out = (uint64_t)json_integer_value(v);
    }
    return out;
}

const char *client_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}
