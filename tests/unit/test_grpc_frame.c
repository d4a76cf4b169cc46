/* test_grpc_frame.c — gRPC framing and header values (net/grpc_frame.h): the one message of
 * a unary request read across any split of its DATA bytes, the limits and framing errors,
 * grpc-timeout / grpc-encoding / content-type, grpc-message percent-encoding, and the
 * google.rpc.Status with RetryInfo of grpc-status-details-bin, decoded back field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "net/grpc_frame.h"

/* prefix + n bytes of a recognisable pattern */
static uint8_t *framed(uint8_t flag, uint32_t n, size_t *total)
{
    uint8_t *b = malloc(GRPC_PREFIX + n);
    grpc_put_prefix(b, flag == 1, n);
    b[0] = flag;
    for (uint32_t i = 0; i < n; i++)
        b[GRPC_PREFIX + i] = (uint8_t)(i * 31 + 7);
    *total = GRPC_PREFIX + n;
    return b;
}

static void check_message(grpc_reader *r, uint32_t n)
{
    assert_int_equal(grpc_reader_finish(r), 0);
    size_t len;
    uint8_t *m = grpc_reader_take(r, &len);
    assert_int_equal(len, n);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(m[i], (uint8_t)(i * 31 + 7));
    lt_free(m);
    assert_int_equal(grpc_reader_held(r), 0);
}

static void test_reader_splits(void **state)
{
    (void)state;
    uint32_t sizes[] = {0, 1, 4, 5, 4095, 4096, 4097, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t total;
        uint8_t *b = framed(0, sizes[k], &total);
        /* whole */
        grpc_reader r;
        grpc_reader_init(&r, 1 << 20, false);
        assert_int_equal(grpc_reader_feed(&r, b, total), 0);
        check_message(&r, sizes[k]);
        grpc_reader_free(&r);
        /* byte by byte (small ones), and in uneven pieces */
        if (total < 5000) {
            grpc_reader_init(&r, 1 << 20, false);
            for (size_t i = 0; i < total; i++) {
                assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
                assert_int_equal(grpc_reader_feed(&r, b + i, 1), 0);
            }
            check_message(&r, sizes[k]);
            grpc_reader_free(&r);
        }
        grpc_reader_init(&r, 1 << 20, false);
        srand((unsigned)k);
        for (size_t at = 0; at < total;) {
            size_t step = (size_t)(rand() % 7000) + 1;
            if (step > total - at) step = total - at;
            assert_int_equal(grpc_reader_feed(&r, b + at, step), 0);
            at += step;
        }
        assert_false(r.compressed);
        check_message(&r, sizes[k]);
        grpc_reader_free(&r);
        free(b);
    }
}

static void test_reader_limits(void **state)
{
    (void)state;
    size_t total;
    grpc_reader r;
    /* exactly the limit is taken; one more is refused from the prefix alone */
    uint8_t *b = framed(0, 100, &total);
    grpc_reader_init(&r, 100, false);
    assert_int_equal(grpc_reader_feed(&r, b, total), 0);
    check_message(&r, 100);
    grpc_reader_free(&r);
    grpc_reader_init(&r, 99, false);
    assert_int_equal(grpc_reader_feed(&r, b, GRPC_PREFIX), LT_ETOOBIG);
    assert_int_equal(grpc_reader_held(&r), 0);
    assert_int_equal(grpc_reader_feed(&r, b + GRPC_PREFIX, 1), LT_EINVAL);
    assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
    grpc_reader_free(&r);
    free(b);

    /* a declared 4 GiB - 1 message is refused before anything else arrives */
    uint8_t huge[GRPC_PREFIX];
    grpc_put_prefix(huge, false, UINT32_MAX);
    assert_memory_equal(huge, "\x00\xff\xff\xff\xff", 5);
    grpc_reader_init(&r, 16 << 20, false);
    assert_int_equal(grpc_reader_feed(&r, huge, 3), 0);
    assert_true(grpc_reader_started(&r));
    assert_int_equal(grpc_reader_feed(&r, huge + 3, 2), LT_ETOOBIG);
    grpc_reader_free(&r);

    /* the buffer grows with what arrives, not with what is declared */
    b = framed(0, 1 << 20, &total);
    grpc_reader_init(&r, 1 << 20, false);
    assert_int_equal(grpc_reader_missing(&r), 0);
    assert_int_equal(grpc_reader_feed(&r, b, 3), 0);
    assert_int_equal(grpc_reader_missing(&r), 0);
    assert_int_equal(grpc_reader_feed(&r, b + 3, GRPC_PREFIX + 10 - 3), 0);
    assert_int_equal(grpc_reader_missing(&r), (1 << 20) - 10);
    assert_true(grpc_reader_held(&r) <= 4096);
    assert_int_equal(grpc_reader_feed(&r, b + GRPC_PREFIX + 10, 20000), 0);
    assert_true(grpc_reader_held(&r) <= 2 * 20010);
    assert_int_equal(grpc_reader_feed(&r, b + GRPC_PREFIX + 20010, total - GRPC_PREFIX - 20010), 0);
    assert_int_equal(grpc_reader_held(&r), 1 << 20);
    assert_int_equal(grpc_reader_missing(&r), 0);
    check_message(&r, 1 << 20);
    grpc_reader_free(&r);
    free(b);
}

static void test_reader_framing_errors(void **state)
{
    (void)state;
    size_t total;
    grpc_reader r;
    uint8_t *b = framed(0, 10, &total);

    /* nothing, a partial prefix, a partial message: not a request */
    grpc_reader_init(&r, 100, false);
    assert_false(grpc_reader_started(&r));
    assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
    assert_int_equal(grpc_reader_feed(&r, b, 2), 0);
    assert_true(grpc_reader_started(&r));
    assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
    assert_int_equal(grpc_reader_feed(&r, b + 2, 8), 0);
    assert_true(grpc_reader_started(&r));
    assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
    assert_int_equal(grpc_reader_feed(&r, b + 10, total - 10), 0);
    assert_false(grpc_reader_started(&r));
    assert_int_equal(grpc_reader_finish(&r), 0);
    /* a second message (even an empty one) in a unary request */
    assert_int_equal(grpc_reader_feed(&r, b, 1), LT_EINVAL);
    assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
    grpc_reader_free(&r);

    /* two messages in one chunk */
    uint8_t two[2 * 15];
    memcpy(two, b, 15);
    memcpy(two + 15, b, 15);
    grpc_reader_init(&r, 100, false);
    assert_int_equal(grpc_reader_feed(&r, two, sizeof two), LT_EINVAL);
    grpc_reader_free(&r);

    /* Compressed-Flag: 1 needs a grpc-encoding, anything but 0/1 is bad framing */
    b[0] = 1;
    grpc_reader_init(&r, 100, false);
    assert_int_equal(grpc_reader_feed(&r, b, total), LT_EUNSUPPORTED);
    grpc_reader_free(&r);
    grpc_reader_init(&r, 100, true);
    assert_int_equal(grpc_reader_feed(&r, b, total), 0);
    assert_true(r.compressed);
    check_message(&r, 10);
    grpc_reader_free(&r);
    for (int flag = 2; flag < 256; flag += 37) {
        b[0] = (uint8_t)flag;
        grpc_reader_init(&r, 100, true);
        assert_int_equal(grpc_reader_feed(&r, b, total), LT_EINVAL);
        grpc_reader_free(&r);
    }
    free(b);
}

static void test_reader_out_of_memory(void **state)
{
    (void)state;
    size_t total;
    uint8_t *b = framed(0, 50000, &total);
    for (long k = 0; k < 4; k++) {
        grpc_reader r;
        grpc_reader_init(&r, 1 << 20, false);
        alloc_fail_after(k);
        int rc = 0;
        for (size_t at = 0; at < total && rc == 0; at += 1000)
            rc = grpc_reader_feed(&r, b + at, total - at < 1000 ? total - at : 1000);
        alloc_fail_after(-1);
        if (rc == 0) {
            check_message(&r, 50000);
        } else {
            assert_int_equal(rc, LT_ENOMEM);
            assert_int_equal(grpc_reader_finish(&r), LT_EINVAL);
        }
        grpc_reader_free(&r);
    }
    free(b);
}

static void test_timeout(void **state)
{
    (void)state;
    struct {
        const char *s;
        int rc;
        uint64_t ns;
    } cases[] = {
        {"1S", 0, 1000000000ull},
        {"100m", 0, 100000000ull},
        {"2M", 0, 120000000000ull},
        {"3H", 0, 10800000000000ull},
        {"7u", 0, 7000},
        {"5n", 0, 5},
        {"0S", 0, 0},
        {"99999999n", 0, 99999999ull},
        {"99999999H", 0, UINT64_MAX}, /* saturates */
        {"123456789S", LT_EINVAL, 0}, /* 9 digits */
        {"S", LT_EINVAL, 0},
        {"10", LT_EINVAL, 0},
        {"10x", LT_EINVAL, 0},
        {"10s", LT_EINVAL, 0},
        {"-1S", LT_EINVAL, 0},
        {" 1S", LT_EINVAL, 0},
        {"1 S", LT_EINVAL, 0},
        {"", LT_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t ns = 42;
        assert_int_equal(grpc_parse_timeout(lt_str_c(cases[i].s), &ns), cases[i].rc);
        if (cases[i].rc == 0) assert_true(ns == cases[i].ns);
    }
}

static void test_encoding_and_content_type(void **state)
{
    (void)state;
    assert_int_equal(grpc_parse_encoding(LT_STR_NULL), GRPC_ENC_IDENTITY);
    assert_int_equal(grpc_parse_encoding(LT_STR("identity")), GRPC_ENC_IDENTITY);
    assert_int_equal(grpc_parse_encoding(LT_STR("gzip")), GRPC_ENC_GZIP);
    assert_int_equal(grpc_parse_encoding(LT_STR("GZip")), GRPC_ENC_GZIP);
    assert_int_equal(grpc_parse_encoding(LT_STR("deflate")), GRPC_ENC_OTHER);
    assert_int_equal(grpc_parse_encoding(LT_STR("snappy")), GRPC_ENC_OTHER);
    assert_int_equal(grpc_parse_encoding(LT_STR("gzip2")), GRPC_ENC_OTHER);

    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpc")), GRPC_CT_PROTO);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpc+proto")), GRPC_CT_PROTO);
    assert_int_equal(grpc_parse_content_type(LT_STR("Application/GRPC")), GRPC_CT_PROTO);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpc; charset=utf-8")),
                     GRPC_CT_PROTO);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpc+json")), GRPC_CT_OTHER_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpc+protobuf")),
                     GRPC_CT_OTHER_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/grpcx")), GRPC_CT_NOT_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR("application/json")), GRPC_CT_NOT_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR("text/plain")), GRPC_CT_NOT_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR("")), GRPC_CT_NOT_GRPC);
    assert_int_equal(grpc_parse_content_type(LT_STR_NULL), GRPC_CT_NOT_GRPC);
}

static void test_percent_encode(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"request body could not be decoded", "request body could not be decoded"},
        {"100% done", "100%25 done"},
        {"caf\xc3\xa9", "caf%C3%A9"},
        {"a\nb\tc", "a%0Ab%09c"},
        {"~!$&'()*+,;=", "~!$&'()*+,;="},
        {"\x7f\x1f", "%7F%1F"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lt_buf b = {0};
        assert_int_equal(grpc_percent_encode(&b, lt_str_c(cases[i].in)), 0);
        assert_string_equal(b.len ? b.data : "", cases[i].out);
        buf_free(&b);
    }
}

/* ---- reading google.rpc.Status back ---- */

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail_msg("bad varint");
    return 0;
}

/* Finds field f (length-delimited or varint) of a message; returns its bytes or value. */
static bool field(const uint8_t *p, size_t n, uint32_t f, const uint8_t **out, size_t *len,
                  uint64_t *val)
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t key = varint(&p, end);
        uint32_t num = (uint32_t)(key >> 3), wire = key & 7;
        if (wire == 0) {
            uint64_t v = varint(&p, end);
            if (num == f) {
                *val = v;
                return true;
            }
        } else if (wire == 2) {
            uint64_t l = varint(&p, end);
            assert_true(l <= (uint64_t)(end - p));
            if (num == f) {
                *out = p;
                *len = (size_t)l;
                return true;
            }
            p += l;
        } else {
            fail_msg("unexpected wire type %u", wire);
        }
    }
    return false;
}

static void test_status_details(void **state)
{
    (void)state;
    lt_buf b = {0};
    assert_int_equal(grpc_status_details(&b, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                         LT_STR("server busy, retry later"), 1),
                     0);
    assert_null(memchr(b.data, '=', b.len)); /* emitted unpadded */
    uint8_t raw[512];
    long n = base64_decode((lt_str){b.data, b.len}, raw);
    assert_true(n > 0);
    const uint8_t *f, *g, *h;
    size_t fl, gl, hl;
    uint64_t v = 0;
    assert_true(field(raw, (size_t)n, 1, &f, &fl, &v));
    assert_int_equal(v, 8);
    assert_true(field(raw, (size_t)n, 2, &f, &fl, &v));
    assert_int_equal(fl, strlen("server busy, retry later"));
    assert_memory_equal(f, "server busy, retry later", fl);
    assert_true(field(raw, (size_t)n, 3, &f, &fl, &v)); /* details: one Any */
    assert_true(field(f, fl, 1, &g, &gl, &v));
    assert_int_equal(gl, strlen("type.googleapis.com/google.rpc.RetryInfo"));
    assert_memory_equal(g, "type.googleapis.com/google.rpc.RetryInfo", gl);
    assert_true(field(f, fl, 2, &g, &gl, &v)); /* RetryInfo */
    assert_true(field(g, gl, 1, &h, &hl, &v)); /* retry_delay: Duration */
    assert_true(field(h, hl, 1, &f, &fl, &v)); /* seconds */
    assert_int_equal(v, 1);
    assert_false(field(h, hl, 2, &f, &fl, &v)); /* no nanos */
    buf_free(&b);

    /* without a retry delay: code and message only */
    assert_int_equal(grpc_status_details(&b, GRPC_STATUS_INVALID_ARGUMENT, LT_STR("x"), 0), 0);
    n = base64_decode((lt_str){b.data, b.len}, raw);
    assert_int_equal(n, 5);
    assert_memory_equal(raw, "\x08\x03\x12\x01x", 5);
    buf_free(&b);

    /* failed allocations leave the output as it was */
    for (long k = 0; k < 6; k++) {
        alloc_fail_after(k);
        int rc = grpc_status_details(&b, GRPC_STATUS_UNAVAILABLE, LT_STR("retry"), 1);
        alloc_fail_after(-1);
        assert_true(rc == 0 || rc == LT_ENOMEM);
        if (rc) assert_int_equal(b.len, 0);
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_splits),
        cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_reader_framing_errors),
        cmocka_unit_test(test_reader_out_of_memory),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_encoding_and_content_type),
        cmocka_unit_test(test_percent_encode),
        cmocka_unit_test(test_status_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
