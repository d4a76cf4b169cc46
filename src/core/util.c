/* util.c — see util.h. */
#include "core/util.h"

#include <string.h>
#include <time.h>

#include "core/err.h"

uint64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hex_decode(lt_str s, uint8_t *out, size_t n)
{
    if (s.len != 2 * n) return LT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s.ptr[2 * i]), lo = hexval(s.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0) return LT_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

uint64_t hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int parse_u64(lt_str s, uint64_t *out)
{
    if (s.len == 0 || s.len > 20) return LT_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9) return LT_EINVAL;
        if (v > (UINT64_MAX - d) / 10) return LT_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int parse_i64(lt_str s, int64_t *out)
{
    bool neg = s.len && s.ptr[0] == '-';
    if (neg) s.ptr++, s.len--;
    uint64_t v;
    if (parse_u64(s, &v)) return LT_EINVAL;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return LT_EINVAL;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Splits "123unit" into a number and its unit; returns LT_EINVAL without digits. */
static int split_unit(const char *s, uint64_t *num, const char **unit)
{
    size_t i = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0 || parse_u64((lt_str){s, i}, num)) return LT_EINVAL;
    *unit = s + i;
    return 0;
}

static int scale(uint64_t num, uint64_t mul, uint64_t *out)
{
    if (mul && num > UINT64_MAX / mul) return LT_EINVAL;
    *out = num * mul;
    return 0;
}

int parse_duration_ns(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        {"", 1000000000ull},
        {"ns", 1},
        {"us", 1000},
        {"ms", 1000000},
        {"s", 1000000000ull},
        {"m", 60000000000ull},
        {"h", 3600000000000ull},
        {"d", 86400000000000ull},
        {"w", 604800000000000ull},
    };
    uint64_t num;
    const char *unit;
    if (split_unit(s, &num, &unit)) return LT_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].unit) == 0) return scale(num, units[i].ns, out);
    return LT_EINVAL;
}

int parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1000ull},
        {"MB", 1000000ull},
        {"GB", 1000000000ull},
        {"TB", 1000000000000ull},
        {"K", 1000ull},
        {"M", 1000000ull},
        {"G", 1000000000ull},
        {"T", 1000000000000ull},
        {"KiB", 1ull << 10},
        {"MiB", 1ull << 20},
        {"GiB", 1ull << 30},
        {"TiB", 1ull << 40},
    };
    uint64_t num;
    const char *unit;
    if (split_unit(s, &num, &unit)) return LT_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].unit) == 0) return scale(num, units[i].mul, out);
    return LT_EINVAL;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = 0;
}

long base64_decode(lt_str s, uint8_t *out)
{
    while (s.len && s.ptr[s.len - 1] == '=')
        s.len--;
    if (s.len % 4 == 1) return -1;
    long o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < s.len; i++) {
        const char *p = s.ptr[i] ? strchr(b64, s.ptr[i]) : NULL;
        int v = p ? (int)(p - b64) : -1;
        if (s.ptr[i] == '-') v = 62; /* accept the URL-safe alphabet too */
        if (s.ptr[i] == '_') v = 63;
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}
