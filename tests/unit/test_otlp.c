/* test_otlp.c — otlp/otlp.c: content types, gunzip and its limits, decode dispatch,
 * reply bodies. Gzip inputs are made here with zlib; the gzip bomb (1 GiB of zeros in one
 * gzip member, about 1 MB) is assembled from one full-flushed deflate block repeated, so
 * building it costs milliseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "fixture_files.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "model/pb.h"
#include "otlp/json.h"
#include "otlp/otlp.h"

#define FIX LT_FIXTURES "/otlp"

static char *read_fixture(const char *rel, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", FIX, rel);
    return fx_must_read(path, n);
}

/* A gzip file (one member) of in[0..n), in a malloc'd buffer. */
static uint8_t *gzip(const void *in, size_t n, size_t *outn)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outn = z.total_out;
    deflateEnd(&z);
    return out;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* One gzip member holding mib MiB of zeros. Every 1 MiB block after the first is
 * compressed after a full flush (fresh dictionary, byte aligned), so its bytes are the
 * same each time and are simply repeated; the trailer is then set to the CRC-32 and size
 * of the whole (RFC 1952 section 2.3.1). */
static uint8_t *zero_bomb(unsigned mib, size_t *outn)
{
    enum { MIB = 1 << 20 };
    assert_true(mib >= 2);
    uint8_t *zero = calloc(1, MIB);
    assert_non_null(zero);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = 1 << 16;
    uint8_t *first = malloc(cap), *block = malloc(cap), *tail = malloc(cap);
    assert_true(first && block && tail);
    size_t nfirst, nblock, ntail;
    uint8_t *bufs[3] = {first, block, tail};
    size_t *lens[3] = {&nfirst, &nblock, &ntail};
    for (int i = 0; i < 3; i++) {
        z.next_in = zero;
        z.avail_in = i < 2 ? MIB : 0;
        z.next_out = bufs[i];
        z.avail_out = (uInt)cap;
        int zr = deflate(&z, i < 2 ? Z_FULL_FLUSH : Z_FINISH);
        assert_int_equal(zr, i < 2 ? Z_OK : Z_STREAM_END);
        assert_int_equal(z.avail_in, 0);
        *lens[i] = cap - z.avail_out;
    }
    deflateEnd(&z);
    size_t total = nfirst + (size_t)(mib - 1) * nblock + ntail;
    uint8_t *out = malloc(total), *p = out;
    assert_non_null(out);
    memcpy(p, first, nfirst);
    p += nfirst;
    for (unsigned i = 1; i < mib; i++, p += nblock)
        memcpy(p, block, nblock);
    memcpy(p, tail, ntail);
    uLong crc1 = crc32(0, zero, MIB), crc = crc1;
    for (unsigned i = 1; i < mib; i++)
        crc = crc32_combine(crc, crc1, MIB);
    put_le32(out + total - 8, (uint32_t)crc);
    put_le32(out + total - 4, (uint32_t)((uint64_t)mib * MIB));
    free(zero);
    free(first);
    free(block);
    free(tail);
    *outn = total;
    return out;
}

/* ------------------------------------------------------------------------------------ */

static void test_format_of(void **state)
{
    (void)state;
    static const struct {
        const char *ct;
        int rc;
        otlp_format f;
    } cases[] = {
        {"application/json", 0, OTLP_JSON},
        {"application/x-protobuf", 0, OTLP_PROTOBUF},
        {"application/protobuf", 0, OTLP_PROTOBUF},
        {"Application/JSON", 0, OTLP_JSON},
        {"APPLICATION/X-PROTOBUF", 0, OTLP_PROTOBUF},
        {"application/json; charset=utf-8", 0, OTLP_JSON},
        {"application/json;charset=UTF-8", 0, OTLP_JSON},
        {"  application/json ;  charset=utf-8", 0, OTLP_JSON},
        {"application/x-protobuf;", 0, OTLP_PROTOBUF},
        {"\tapplication/x-protobuf\t", 0, OTLP_PROTOBUF},
        {"", LT_EUNSUPPORTED, 0},
        {";", LT_EUNSUPPORTED, 0},
        {"application/jsonx", LT_EUNSUPPORTED, 0},
        {"application/jso", LT_EUNSUPPORTED, 0},
        {"application/grpc", LT_EUNSUPPORTED, 0},
        {"text/plain", LT_EUNSUPPORTED, 0},
        {"application/x-www-form-urlencoded", LT_EUNSUPPORTED, 0},
        {"application/ json", LT_EUNSUPPORTED, 0},
        {"json", LT_EUNSUPPORTED, 0},
        {"*/*", LT_EUNSUPPORTED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        otlp_format f = (otlp_format)99;
        int rc = otlp_format_of(lt_str_c(cases[i].ct), &f);
        if (rc != cases[i].rc) fail_msg("%s: %d", cases[i].ct, rc);
        if (rc == 0) assert_int_equal(f, cases[i].f);
    }
    otlp_format f;
    assert_int_equal(otlp_format_of(LT_STR_NULL, &f), LT_EUNSUPPORTED);
    assert_int_equal(otlp_format_of((lt_str){"application/json\0x", 18}, &f), LT_EUNSUPPORTED);
}

static void test_gunzip_roundtrip(void **state)
{
    (void)state;
    size_t n, gn;
    char *data = read_fixture("langfuse/batch/0001-traces.json", &n);
    uint8_t *gz = gzip(data, n, &gn);
    assert_true(gn < n / 4);

    lt_buf out = {0};
    assert_int_equal(otlp_gunzip(gz, gn, 64 << 20, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, data, n);
    assert_int_equal(out.data[out.len], 0);
    /* a limit of exactly the size is enough; one byte less is not */
    buf_free(&out);
    assert_int_equal(otlp_gunzip(gz, gn, n, &out), 0);
    assert_int_equal(out.len, n);
    assert_true(out.cap <= n + 1);
    buf_free(&out);
    assert_int_equal(otlp_gunzip(gz, gn, n - 1, &out), LT_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= n);
    /* output is appended; on failure out keeps what it had */
    buf_reset(&out);
    buf_append_c(&out, "abc");
    assert_int_equal(otlp_gunzip(gz, gn, n, &out), 0);
    assert_int_equal(out.len, n + 3);
    assert_memory_equal(out.data, "abc", 3);
    assert_memory_equal(out.data + 3, data, n);
    buf_reset(&out);
    buf_append_c(&out, "abc");
    assert_int_equal(otlp_gunzip(gz, gn, 10, &out), LT_ETOOBIG);
    assert_int_equal(out.len, 3);
    assert_string_equal(out.data, "abc");
    buf_free(&out);

    /* an empty member decompresses to nothing */
    uint8_t *e = gzip("", 0, &gn);
    assert_int_equal(otlp_gunzip(e, gn, 0, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(otlp_gunzip(e, gn, 100, &out), 0);
    assert_int_equal(out.len, 0);
    free(e);
    buf_free(&out);
    free(gz);
    free(data);
}

static void test_gunzip_concatenated(void **state)
{
    (void)state;
    size_t na, nb;
    uint8_t *a = gzip("hello, ", 7, &na), *b = gzip("world", 5, &nb);
    uint8_t *cat = malloc(na + nb + na);
    assert_non_null(cat);
    memcpy(cat, a, na);
    memcpy(cat + na, b, nb);
    memcpy(cat + na + nb, a, na);
    lt_buf out = {0};
    assert_int_equal(otlp_gunzip(cat, na + nb + na, 1000, &out), 0);
    assert_string_equal(out.data, "hello, worldhello, ");
    /* the limit counts all members together */
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(cat, na + nb + na, 19, &out), 0);
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(cat, na + nb + na, 18, &out), LT_ETOOBIG);
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(cat, na + nb, 12, &out), 0);
    assert_string_equal(out.data, "hello, world");
    /* ... and a member cut short is truncation */
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(cat, na + nb + 5, 1000, &out), LT_EINVAL);
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(cat, na + 1, 1000, &out), LT_EINVAL);
    buf_free(&out);
    free(cat);
    free(a);
    free(b);
}

static void test_gunzip_corrupt(void **state)
{
    (void)state;
    size_t n, gn;
    char *data = read_fixture("otel/rag-json/0001-traces.json", &n);
    uint8_t *gz = gzip(data, n, &gn);
    lt_buf out = {0};

    /* any change of the compressed data or the trailer is caught (by the CRC at the
     * latest); a header field such as MTIME (bytes 4-7) is free to change */
    int caught = 0;
    for (size_t i = 10; i < gn; i++) {
        gz[i] ^= 0x5a;
        buf_reset(&out);
        int rc = otlp_gunzip(gz, gn, 1 << 20, &out);
        assert_true(rc == LT_EINVAL || (rc == 0 && out.len == n && !memcmp(out.data, data, n)));
        caught += rc == LT_EINVAL;
        gz[i] ^= 0x5a;
    }
    assert_true(caught >= (int)(gn - 10) * 9 / 10);
    for (size_t i = gn - 8; i < gn; i++) { /* CRC-32 and ISIZE */
        gz[i] ^= 1;
        buf_reset(&out);
        assert_int_equal(otlp_gunzip(gz, gn, 1 << 20, &out), LT_EINVAL);
        gz[i] ^= 1;
    }
    gz[0] = 0x1e; /* magic */
    assert_int_equal(otlp_gunzip(gz, gn, 1 << 20, &out), LT_EINVAL);
    gz[0] = 0x1f;
    gz[2] = 7; /* compression method other than deflate */
    assert_int_equal(otlp_gunzip(gz, gn, 1 << 20, &out), LT_EINVAL);
    gz[2] = 8;

    /* trailing bytes that are not another member */
    uint8_t *tail = malloc(gn + 4);
    assert_non_null(tail);
    memcpy(tail, gz, gn);
    memset(tail + gn, 0, 4);
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(tail, gn + 4, 1 << 20, &out), LT_EINVAL);
    memcpy(tail + gn, "\x1f\x8b\x08", 3);
    assert_int_equal(otlp_gunzip(tail, gn + 3, 1 << 20, &out), LT_EINVAL);
    assert_int_equal(otlp_gunzip(tail, gn + 1, 1 << 20, &out), LT_EINVAL);
    free(tail);

    /* not gzip at all: plain JSON, a zlib stream, raw deflate */
    buf_reset(&out);
    assert_int_equal(otlp_gunzip((const uint8_t *)data, n, 1 << 20, &out), LT_EINVAL);
    uint8_t zl[256];
    uLongf zn = sizeof zl;
    assert_int_equal(compress(zl, &zn, (const Bytef *)"hello hello hello", 17), Z_OK);
    assert_int_equal(otlp_gunzip(zl, zn, 1 << 20, &out), LT_EINVAL);
    assert_int_equal(otlp_gunzip(zl + 2, zn - 6, 1 << 20, &out), LT_EINVAL);
    assert_int_equal(otlp_gunzip((const uint8_t *)"", 0, 1 << 20, &out), LT_EINVAL);
    assert_int_equal(otlp_gunzip(NULL, 0, 1 << 20, &out), LT_EINVAL);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    free(gz);
    free(data);
}

static void test_gunzip_truncated(void **state)
{
    (void)state;
    size_t n, gn;
    char *data = read_fixture("otel/rag-json/0001-traces.json", &n);
    uint8_t *gz = gzip(data, n, &gn);
    lt_buf out = {0};
    for (size_t i = 0; i < gn; i++) {
        uint8_t *c = malloc(i ? i : 1);
        assert_non_null(c);
        memcpy(c, gz, i);
        buf_reset(&out);
        int rc = otlp_gunzip(c, i, 1 << 20, &out);
        if (rc != LT_EINVAL) fail_msg("prefix of %zu bytes: %d", i, rc);
        assert_int_equal(out.len, 0);
        free(c);
    }
    buf_reset(&out);
    assert_int_equal(otlp_gunzip(gz, gn, 1 << 20, &out), 0);
    buf_free(&out);
    free(gz);
    free(data);
}

static void test_gunzip_bomb(void **state)
{
    (void)state;
    enum { LIMIT = 16 << 20 };
    size_t bn;
    /* a small one first, to show the construction is a valid gzip file */
    uint8_t *small = zero_bomb(32, &bn);
    lt_buf out = {0};
    assert_int_equal(otlp_gunzip(small, bn, 32 << 20, &out), 0);
    assert_int_equal(out.len, 32 << 20);
    assert_int_equal(out.data[0] | out.data[out.len - 1] | out.data[12345678], 0);
    buf_free(&out);
    assert_int_equal(otlp_gunzip(small, bn, LIMIT, &out), LT_ETOOBIG);
    assert_true(out.cap <= LIMIT + 1);
    buf_free(&out);
    free(small);

    /* 1 GiB of zeros in about 1 MB: refused after LIMIT bytes, having held no more */
    uint8_t *bomb = zero_bomb(1024, &bn);
    assert_true(bn < 2 << 20);
    assert_int_equal(otlp_gunzip(bomb, bn, LIMIT, &out), LT_ETOOBIG);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= LIMIT + 1);
    buf_free(&out);
    /* a tiny limit costs a tiny buffer */
    assert_int_equal(otlp_gunzip(bomb, bn, 100, &out), LT_ETOOBIG);
    assert_true(out.cap <= 101);
    buf_free(&out);
    /* and the same as 64 concatenated members of 16 MiB */
    size_t mn;
    uint8_t *member = zero_bomb(16, &mn);
    uint8_t *many = malloc(mn * 64);
    assert_non_null(many);
    for (int i = 0; i < 64; i++)
        memcpy(many + (size_t)i * mn, member, mn);
    assert_int_equal(otlp_gunzip(many, mn * 64, LIMIT, &out), LT_ETOOBIG);
    assert_true(out.cap <= LIMIT + 1);
    buf_free(&out);
    assert_int_equal(otlp_gunzip(many, mn, LIMIT, &out), 0); /* one member is exactly it */
    assert_int_equal(out.len, LIMIT);
    buf_free(&out);
    free(many);
    free(member);
    free(bomb);
}

static void test_gunzip_alloc_failure(void **state)
{
    (void)state;
    size_t n, gn;
    char *data = read_fixture("langfuse/batch/0001-traces.json", &n);
    uint8_t *gz = gzip(data, n, &gn);
    long k;
    for (k = 0;; k++) {
        lt_buf out = {0};
        alloc_fail_after(k);
        int rc = otlp_gunzip(gz, gn, 64 << 20, &out);
        alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(out.len, n);
            assert_memory_equal(out.data, data, n);
            buf_free(&out);
            break;
        }
        assert_int_equal(rc, LT_ENOMEM);
        assert_int_equal(out.len, 0);
        buf_free(&out);
    }
    assert_true(k >= 3); /* zlib's state, its window, the output buffer growing */
    /* a buffer already out of memory stays so */
    lt_buf oom = {.oom = true};
    assert_int_equal(otlp_gunzip(gz, gn, 64 << 20, &oom), LT_ENOMEM);
    free(gz);
    free(data);
}

static void test_decode_dispatch(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    size_t n;
    lt_trace_batch tb;
    lt_log_batch lb;

    char *j = read_fixture("otel/rag-json/0001-traces.json", &n);
    assert_int_equal(otlp_decode_traces(a, OTLP_JSON, (uint8_t *)j, n, &tb), 0);
    assert_int_equal(tb.n_spans, 5);
    free(j);
    char *p = read_fixture("otel/rag-proto/0001-traces.pb", &n);
    assert_int_equal(otlp_decode_traces(a, OTLP_PROTOBUF, (uint8_t *)p, n, &tb), 0);
    assert_int_equal(tb.n_spans, 5);
    /* the wrong format is a decode error, not a crash */
    assert_int_equal(otlp_decode_traces(a, OTLP_JSON, (uint8_t *)p, n, &tb), LT_EINVAL);
    free(p);
    j = read_fixture("otel/rag-json/0002-logs.json", &n);
    assert_int_equal(otlp_decode_logs(a, OTLP_JSON, (uint8_t *)j, n, &lb), 0);
    assert_int_equal(lb.n_records, 3);
    free(j);
    p = read_fixture("otel/rag-proto/0002-logs.pb", &n);
    assert_int_equal(otlp_decode_logs(a, OTLP_PROTOBUF, (uint8_t *)p, n, &lb), 0);
    assert_int_equal(lb.n_records, 3);
    free(p);
    assert_int_equal(otlp_decode_traces(a, (otlp_format)7, (uint8_t *)"{}", 2, &tb),
                     LT_EUNSUPPORTED);
    assert_int_equal(otlp_decode_logs(a, (otlp_format)7, (uint8_t *)"{}", 2, &lb), LT_EUNSUPPORTED);

    /* the receive path: gzip'd JSON, inflated, decoded from the inflated buffer */
    j = read_fixture("langfuse/batch/0001-traces.json", &n);
    size_t gn;
    uint8_t *gz = gzip(j, n, &gn);
    lt_buf body = {0};
    assert_int_equal(otlp_gunzip(gz, gn, 64 << 20, &body), 0);
    assert_int_equal(otlp_decode_traces(a, OTLP_JSON, (uint8_t *)body.data, body.len, &tb), 0);
    assert_int_equal(tb.n_spans, 220);
    buf_free(&body);
    free(gz);
    free(j);
    arena_free(a);
}

static void test_reply_ok(void **state)
{
    (void)state;
    lt_buf b = {0}, want = {0};
    assert_int_equal(otlp_reply_ok(&b, OTLP_JSON, "rejectedSpans", 0, LT_STR("")), 0);
    assert_string_equal(b.data, "{}");
    buf_reset(&b);
    assert_int_equal(otlp_reply_ok(&b, OTLP_JSON, "rejectedSpans", 3,
                                   LT_STR("span with invalid trace_id or span_id dropped")),
                     0);
    assert_string_equal(b.data, "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":"
                                "\"span with invalid trace_id or span_id dropped\"}}");
    buf_reset(&b);
    assert_int_equal(
        otlp_reply_ok(&b, OTLP_JSON, "rejectedLogRecords", 18446744073709551615u, LT_STR("")), 0);
    assert_string_equal(b.data,
                        "{\"partialSuccess\":{\"rejectedLogRecords\":\"18446744073709551615\"}}");
    buf_reset(&b);
    assert_int_equal(
        otlp_reply_ok(&b, OTLP_JSON, "rejectedDataPoints", 0, LT_STR("a \"warning\"\n")), 0);
    assert_string_equal(b.data, "{\"partialSuccess\":{\"errorMessage\":\"a \\\"warning\\\"\\n\"}}");
    buf_reset(&b);
    assert_int_equal(otlp_reply_ok(&b, OTLP_JSON, NULL, 1, LT_STR("")), 0);
    assert_string_equal(b.data, "{\"partialSuccess\":{\"rejectedSpans\":\"1\"}}");

    /* protobuf: what pb.c writes for Export*ServiceResponse */
    static const struct {
        uint64_t rej;
        const char *msg;
    } pcases[] = {{0, ""}, {3, "bad ids"}, {0, "warning"}, {300, ""}};
    for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
        buf_reset(&b);
        buf_reset(&want);
        lt_str m = lt_str_c(pcases[i].msg);
        assert_int_equal(otlp_reply_ok(&b, OTLP_PROTOBUF, "rejectedSpans", pcases[i].rej, m), 0);
        assert_int_equal(pb_encode_export_response(&want, pcases[i].rej, m), 0);
        assert_int_equal(b.len, want.len);
        assert_memory_equal(b.data, want.data, b.len);
    }
    buf_reset(&b);
    assert_int_equal(otlp_reply_ok(&b, OTLP_PROTOBUF, "rejectedSpans", 3, LT_STR("x")), 0);
    assert_memory_equal(b.data, "\x0a\x05\x08\x03\x12\x01x", 7);

    /* out of memory */
    buf_free(&b);
    alloc_fail_after(0);
    int rc = otlp_reply_ok(&b, OTLP_JSON, "rejectedSpans", 3, LT_STR("x"));
    alloc_fail_after(-1);
    assert_int_equal(rc, LT_ENOMEM);
    buf_free(&b);
    buf_free(&want);
}

static void test_reply_status(void **state)
{
    (void)state;
    lt_buf b = {0}, want = {0};
    assert_int_equal(otlp_reply_status(&b, OTLP_JSON, 3,
                                       LT_STR("request body could not be "
                                              "decoded as OTLP")),
                     0);
    assert_string_equal(b.data,
                        "{\"code\":3,\"message\":\"request body could not be decoded as OTLP\"}");
    buf_reset(&b);
    assert_int_equal(otlp_reply_status(&b, OTLP_JSON, 14, LT_STR("")), 0);
    assert_string_equal(b.data, "{\"code\":14}");
    buf_reset(&b);
    assert_int_equal(otlp_reply_status(&b, OTLP_JSON, -1, LT_STR("<\x01>")), 0);
    assert_string_equal(b.data, "{\"code\":-1,\"message\":\"\\u003c\\u0001\\u003e\"}");
    for (int32_t code = 0; code < 17; code += 4) {
        buf_reset(&b);
        buf_reset(&want);
        assert_int_equal(otlp_reply_status(&b, OTLP_PROTOBUF, code, LT_STR("m")), 0);
        assert_int_equal(pb_encode_status(&want, code, LT_STR("m")), 0);
        assert_int_equal(b.len, want.len);
        assert_memory_equal(b.data, want.data, b.len);
    }
    buf_free(&b);
    alloc_fail_after(0);
    int rc = otlp_reply_status(&b, OTLP_JSON, 3, LT_STR("x"));
    alloc_fail_after(-1);
    assert_int_equal(rc, LT_ENOMEM);
    buf_free(&b);
    buf_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_of),
        cmocka_unit_test(test_gunzip_roundtrip),
        cmocka_unit_test(test_gunzip_concatenated),
        cmocka_unit_test(test_gunzip_corrupt),
        cmocka_unit_test(test_gunzip_truncated),
        cmocka_unit_test(test_gunzip_bomb),
        cmocka_unit_test(test_gunzip_alloc_failure),
        cmocka_unit_test(test_decode_dispatch),
        cmocka_unit_test(test_reply_ok),
        cmocka_unit_test(test_reply_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
