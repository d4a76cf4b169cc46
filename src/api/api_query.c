/* api_query.c — query strings and parameter values of the JSON API.
 *
 * Everything here reads untrusted text from a URL, so every value has a length bound and
 * every number an overflow check; nothing is NUL-terminated on input (lt_str slices). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/util.h"

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int api_pct_decode(lt_arena *a, lt_str s, bool plus_is_space, lt_str *out)
{
    char *d = arena_alloc(a, s.len + 1);
    if (!d) return LT_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '%') {
            if (s.len - i < 3) return LT_EINVAL;
            int hi = hexdigit(s.ptr[i + 1]), lo = hexdigit(s.ptr[i + 2]);
            if (hi < 0 || lo < 0) return LT_EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        d[n++] = c;
    }
    d[n] = 0;
    *out = (lt_str){d, n};
    return 0;
}

int api_params_parse(lt_arena *a, lt_str query, api_params *p, lt_str *bad)
{
    p->n = 0;
    *bad = LT_STR_NULL;
    size_t i = 0;
    while (i < query.len) {
        size_t end = i;
        while (end < query.len && query.ptr[end] != '&')
            end++;
        lt_str pair = {query.ptr + i, end - i};
        i = end + 1;
        if (pair.len == 0) continue;
        const char *eq = memchr(pair.ptr, '=', pair.len);
        lt_str key = {pair.ptr, eq ? (size_t)(eq - pair.ptr) : pair.len};
        lt_str val = eq ? (lt_str){eq + 1, pair.len - key.len - 1} : LT_STR("");
        if (p->n == API_MAX_PARAMS) return LT_ETOOBIG;
        api_param *it = &p->items[p->n];
        int rc = api_pct_decode(a, key, true, &it->key);
        if (rc == LT_EINVAL) {
            *bad = key;
            return rc;
        }
        if (rc) return rc;
        *bad = it->key;
        if (key.len > API_MAX_VALUE || val.len > 3 * (size_t)API_MAX_VALUE) return LT_ETOOBIG;
        if ((rc = api_pct_decode(a, val, true, &it->value))) return rc;
        if (it->value.len > API_MAX_VALUE) return LT_ETOOBIG;
        *bad = LT_STR_NULL;
        p->n++;
    }
    return 0;
}

const lt_str *api_params_get(const api_params *p, const char *name)
{
    for (uint32_t i = p->n; i-- > 0;)
        if (lt_str_eq_c(p->items[i].key, name)) return &p->items[i].value;
    return NULL;
}

/* Reads exactly n decimal digits at s[at]; false when they are not all there. */
static bool fixed_digits(lt_str s, size_t at, size_t n, int *v)
{
    if (at + n > s.len) return false;
    int x = 0;
    for (size_t i = at; i < at + n; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9) return false;
        x = x * 10 + (int)d;
    }
    *v = x;
    return true;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int api_parse_time(lt_str s, uint64_t *ns)
{
    if (s.len && s.ptr[0] >= '0' && s.ptr[0] <= '9' && !memchr(s.ptr, '-', s.len))
        return parse_u64(s, ns) ? LT_EINVAL : 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!fixed_digits(s, 0, 4, &y) || s.len < 10 || s.ptr[4] != '-' ||
        !fixed_digits(s, 5, 2, &mo) || s.ptr[7] != '-' || !fixed_digits(s, 8, 2, &d))
        return LT_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap_year(y)))
        return LT_EINVAL;
    size_t i = 10;
    uint64_t frac = 0;
    int64_t offset = 0; /* seconds east of UTC */
    if (i < s.len) {
        char t = s.ptr[i];
        if (t != 'T' && t != 't' && t != ' ') return LT_EINVAL;
        if (!fixed_digits(s, i + 1, 2, &h) || i + 3 >= s.len || s.ptr[i + 3] != ':' ||
            !fixed_digits(s, i + 4, 2, &mi) || i + 6 >= s.len || s.ptr[i + 6] != ':' ||
            !fixed_digits(s, i + 7, 2, &sec))
            return LT_EINVAL;
        if (h > 23 || mi > 59 || sec > 60) return LT_EINVAL; /* 60: a leap second */
        i += 9;
        if (i < s.len && s.ptr[i] == '.') {
            size_t nd = 0;
            for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++, nd++)
                if (nd < 9) frac = frac * 10 + (uint64_t)(s.ptr[i] - '0');
            if (nd == 0) return LT_EINVAL;
            for (size_t k = nd; k < 9; k++)
                frac *= 10;
        }
        if (i >= s.len) return LT_EINVAL; /* RFC 3339 requires the offset */
        if (s.ptr[i] == 'Z' || s.ptr[i] == 'z') {
            i++;
        } else if (s.ptr[i] == '+' || s.ptr[i] == '-') {
            int oh, om;
            if (!fixed_digits(s, i + 1, 2, &oh) || i + 3 >= s.len || s.ptr[i + 3] != ':' ||
                !fixed_digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
                return LT_EINVAL;
            offset = (int64_t)(oh * 3600 + om * 60) * (s.ptr[i] == '-' ? -1 : 1);
            i += 6;
        } else {
            return LT_EINVAL;
        }
        if (i != s.len) return LT_EINVAL;
    }
    /* days since 1970-01-01 in the proleptic Gregorian calendar */
    int64_t days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += leap_year(yy) ? 366 : 365;
    for (int m = 1; m < mo; m++)
        days += mdays[m - 1] + (m == 2 && leap_year(y));
    days += d - 1;
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (secs < 0 || (uint64_t)secs > UINT64_MAX / 1000000000u - 1) return LT_EINVAL;
    *ns = (uint64_t)secs * 1000000000u + frac;
    return 0;
}

int api_parse_duration(lt_str s, uint64_t *ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000},
        {"ms", 1000000},
        {"s", 1000000000ull},
        {"m", 60000000000ull},
        {"h", 3600000000000ull},
    };
    size_t i = 0;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    uint64_t whole;
    if (i == 0 || parse_u64((lt_str){s.ptr, i}, &whole)) return LT_EINVAL;
    lt_str frac = LT_STR_NULL;
    if (i < s.len && s.ptr[i] == '.') {
        size_t f = ++i;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
            i++;
        frac = (lt_str){s.ptr + f, i - f};
        if (frac.len == 0) return LT_EINVAL;
    }
    lt_str unit = {s.ptr + i, s.len - i};
    if (unit.len == 0) {
        if (frac.ptr) return LT_EINVAL; /* "1.5" has no unit to scale by */
        *ns = whole;
        return 0;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        if (!lt_str_eq_c(unit, units[u].unit)) continue;
        uint64_t mul = units[u].ns;
        if (whole > UINT64_MAX / mul) return LT_EINVAL;
        uint64_t v = whole * mul, div = mul;
        /* digit k of the fraction is worth mul/10^k; exact to the nanosecond */
        for (size_t k = 0; k < frac.len && div >= 10; k++) {
            div /= 10;
            uint64_t add = (uint64_t)(frac.ptr[k] - '0') * div;
            if (v > UINT64_MAX - add) return LT_EINVAL;
            v += add;
        }
        *ns = v;
        return 0;
    }
    return LT_EINVAL;
}

int api_parse_cursor(lt_str s, uint64_t *start, uint8_t trace_id[16])
{
    const char *dash = s.len ? memchr(s.ptr, '-', s.len) : NULL;
    if (!dash) return LT_EINVAL;
    lt_str num = {s.ptr, (size_t)(dash - s.ptr)};
    lt_str id = {dash + 1, s.len - num.len - 1};
    if (parse_u64(num, start) || hex_decode(id, trace_id, 16)) return LT_EINVAL;
    return 0;
}

void api_write_cursor(lt_buf *out, uint64_t start, const uint8_t trace_id[16])
{
    char hex[33];
    hex_encode(trace_id, 16, hex);
    buf_printf(out, "\"%llu-%s\"", (unsigned long long)start, hex);
}

const char *api_kind_name(uint32_t kind)
{
    static const char *const names[] = {
        [LT_KIND_UNSPECIFIED] = "UNSPECIFIED", [LT_KIND_INTERNAL] = "INTERNAL",
        [LT_KIND_SERVER] = "SERVER",           [LT_KIND_CLIENT] = "CLIENT",
        [LT_KIND_PRODUCER] = "PRODUCER",       [LT_KIND_CONSUMER] = "CONSUMER",
    };
    return kind < sizeof names / sizeof names[0] ? names[kind] : "UNSPECIFIED";
}

const char *api_status_name(uint32_t code)
{
    static const char *const names[] = {
        [LT_STATUS_UNSET] = "UNSET", [LT_STATUS_OK] = "OK", [LT_STATUS_ERROR] = "ERROR"};
    return code < sizeof names / sizeof names[0] ? names[code] : "UNSET";
}

int api_parse_number(lt_str s, double *out)
{
    if (s.len == 0 || s.len > 64) return LT_EINVAL;
    char tmp[65];
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return LT_EINVAL;
        tmp[i] = c;
    }
    tmp[s.len] = 0;
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end || errno || !(d >= 0) || d > 1e300) return LT_EINVAL;
    *out = d;
    return 0;
}
