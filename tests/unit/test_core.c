/* test_core.c — arena, buffers, JSON writing, parsing helpers, allocation failure. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/util.h"

static void test_arena(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    assert_non_null(a);
    char *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = arena_alloc(a, (size_t)i * 7 + 1);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 8, 0);
        memset(p[i], i & 0xff, (size_t)i * 7 + 1);
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal((unsigned char)p[i][i * 7], i & 0xff);
    char *big = arena_alloc(a, 5 << 20);
    assert_non_null(big);
    memset(big, 1, 5 << 20);
    lt_str s = arena_strdup(a, LT_STR("hello"));
    assert_string_equal(s.ptr, "hello");
    assert_null(arena_calloc(a, SIZE_MAX / 2, 4));
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_non_null(arena_alloc(a, 10));
    arena_free(a);
    arena_free(NULL);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    assert_non_null(a);
    alloc_fail_after(0);
    assert_null(arena_alloc(a, 100000));
    assert_null(lt_malloc(1));
    alloc_fail_after(-1);
    assert_non_null(arena_alloc(a, 100000));
    lt_buf b = {0};
    alloc_fail_after(0);
    assert_int_equal(buf_append_c(&b, "x"), LT_ENOMEM);
    alloc_fail_after(-1);
    assert_true(b.oom); /* sticky until reset */
    assert_int_equal(buf_append_c(&b, "x"), LT_ENOMEM);
    buf_reset(&b);
    assert_int_equal(buf_append_c(&b, "x"), 0);
    buf_free(&b);
    arena_free(a);
}

static void test_buf(void **state)
{
    (void)state;
    lt_buf b = {0};
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%d,", i);
    assert_false(b.oom);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], 0);
    buf_free(&b);
}

static const char *json_of_str(lt_buf *b, const char *s, size_t n)
{
    buf_reset(b);
    jsonw_str(b, (lt_str){s, n});
    return b->data;
}

static void test_jsonw(void **state)
{
    (void)state;
    lt_buf b = {0};
    assert_string_equal(json_of_str(&b, "a\"b\\c\n", 6), "\"a\\\"b\\\\c\\n\"");
    assert_string_equal(json_of_str(&b, "<script>&", 9), "\"\\u003cscript\\u003e\\u0026\"");
    assert_string_equal(json_of_str(&b, "\x01", 1), "\"\\u0001\"");
    assert_string_equal(json_of_str(&b, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
    assert_string_equal(json_of_str(&b, "bad\xff\xc3", 5), "\"bad\\ufffd\\ufffd\"");
    assert_string_equal(json_of_str(&b, "\xed\xa0\x80", 3),
                        "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    assert_string_equal(json_of_str(&b, "\xe2\x80\xae", 3),
                        "\"\xe2\x80\xae\""); /* RTL override stays text */
    struct {
        double v;
        const char *want;
    } d[] = {
        {0.2, "0.2"},
        {1, "1.0"},
        {-3, "-3.0"},
        {1e300, "1e+300"},
        {0.1 + 0.2, "0.30000000000000004"},
        {NAN, "\"NaN\""},
        {INFINITY, "\"Infinity\""},
        {-INFINITY, "\"-Infinity\""},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        buf_reset(&b);
        jsonw_double(&b, d[i].v);
        assert_string_equal(b.data, d[i].want);
    }
    buf_reset(&b);
    jsonw_u64_str(&b, UINT64_MAX);
    assert_string_equal(b.data, "\"18446744073709551615\"");
    buf_reset(&b);
    jsonw_i64(&b, INT64_MIN);
    assert_string_equal(b.data, "-9223372036854775808");
    buf_reset(&b);
    jsonw_base64(&b, (const uint8_t *)"hello", 5);
    assert_string_equal(b.data, "\"aGVsbG8=\"");
    buf_reset(&b);
    jsonw_hex(&b, (const uint8_t *)"\x01\xab", 2);
    assert_string_equal(b.data, "\"01ab\"");
    buf_free(&b);
}

static void test_parse(void **state)
{
    (void)state;
    uint64_t v;
    int64_t i;
    assert_int_equal(parse_u64(LT_STR("18446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_u64(LT_STR("18446744073709551616"), &v), LT_EINVAL);
    assert_int_equal(parse_u64(LT_STR(""), &v), LT_EINVAL);
    assert_int_equal(parse_u64(LT_STR("12a"), &v), LT_EINVAL);
    assert_int_equal(parse_i64(LT_STR("-9223372036854775808"), &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(parse_i64(LT_STR("9223372036854775808"), &i), LT_EINVAL);
    assert_int_equal(parse_duration_ns("7d", &v), 0);
    assert_true(v == 7ull * 86400 * 1000000000ull);
    assert_int_equal(parse_duration_ns("500ms", &v), 0);
    assert_true(v == 500000000ull);
    assert_int_equal(parse_duration_ns("90", &v), 0);
    assert_true(v == 90000000000ull);
    assert_int_equal(parse_duration_ns("7x", &v), LT_EINVAL);
    assert_int_equal(parse_duration_ns("d", &v), LT_EINVAL);
    assert_int_equal(parse_duration_ns("99999999999999999d", &v), LT_EINVAL);
    assert_int_equal(parse_size("10GB", &v), 0);
    assert_true(v == 10000000000ull);
    assert_int_equal(parse_size("16MiB", &v), 0);
    assert_true(v == 16ull << 20);
    assert_int_equal(parse_size("1.5GB", &v), LT_EINVAL);
}

static void test_hex_base64(void **state)
{
    (void)state;
    uint8_t id[16], back[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(i * 17);
    char hex[33];
    hex_encode(id, 16, hex);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(hex_decode(lt_str_c(hex), back, 16), 0);
    assert_memory_equal(id, back, 16);
    assert_int_equal(hex_decode(LT_STR("0011223344556677"), back, 8), 0);
    assert_int_equal(hex_decode(LT_STR("00112233445566zz"), back, 8), LT_EINVAL);
    assert_int_equal(hex_decode(LT_STR("001122334455667"), back, 8), LT_EINVAL);
    assert_int_equal(hex_decode(LT_STR("AABBCCDDEEFF0011"), back, 8), 0);
    assert_int_equal(back[0], 0xaa);
    uint8_t raw[64], dec[64];
    for (int n = 0; n < 40; n++) {
        for (int i = 0; i < n; i++)
            raw[i] = (uint8_t)(i * 31 + n);
        char enc[80];
        base64_encode(raw, (size_t)n, enc);
        assert_int_equal(base64_decode(lt_str_c(enc), dec), n);
        assert_memory_equal(raw, dec, (size_t)n);
    }
    assert_int_equal(base64_decode(LT_STR("a$=="), dec), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena), cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_buf),   cmocka_unit_test(test_jsonw),
        cmocka_unit_test(test_parse), cmocka_unit_test(test_hex_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
