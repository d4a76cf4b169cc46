/* prw_read.h — a reader of Prometheus remote write 1.0 requests for the tests, written
 * apart from the encoder (pipeline/promrw.c): it decodes a prometheus.WriteRequest
 * (WriteRequest.timeseries = 1; TimeSeries.labels = 1, samples = 2; Label.name = 1,
 * value = 2; Sample.value = 1 (double), timestamp = 2 (int64)) field by field and checks
 * what the specification asks of a sender on the way: labels sorted by name, no name
 * twice, no empty name, at least one sample per series, samples in time order.
 * Include after cmocka.h. */
#ifndef LT_TESTS_PRW_READ_H
#define LT_TESTS_PRW_READ_H

#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

typedef struct {
    char *name, *value;
} prw_label;

typedef struct {
    uint64_t bits; /* the value's bits, to tell NaNs apart */
    double v;
    int64_t ts;
} prw_sample;

typedef struct {
    prw_label *labels;
    size_t n_labels;
    prw_sample *samples;
    size_t n_samples;
} prw_series;

typedef struct {
    prw_series *s;
    size_t n;
} prw_request;

typedef struct {
    const uint8_t *p, *end;
} prw_rd;

static uint64_t prw_varint(prw_rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        assert_true(r->p < r->end);
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail_msg("varint too long");
    return 0;
}

static prw_rd prw_sub(prw_rd *r)
{
    uint64_t n = prw_varint(r);
    assert_true(n <= (uint64_t)(r->end - r->p));
    prw_rd s = {r->p, r->p + n};
    r->p += n;
    return s;
}

static char *prw_strdup(prw_rd s)
{
    size_t n = (size_t)(s.end - s.p);
    char *c = malloc(n + 1);
    memcpy(c, s.p, n);
    c[n] = 0;
    return c;
}

/* Decodes the uncompressed WriteRequest p[0..n) into *out (free with prw_free). */
static void prw_read(const uint8_t *p, size_t n, prw_request *out)
{
    prw_rd r = {p, p + n};
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    while (r.p < r.end) {
        assert_int_equal(prw_varint(&r), (1 << 3) | 2); /* WriteRequest.timeseries */
        prw_rd ts = prw_sub(&r);
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            out->s = realloc(out->s, cap * sizeof *out->s);
        }
        prw_series *s = &out->s[out->n++];
        memset(s, 0, sizeof *s);
        size_t lcap = 0, scap = 0;
        while (ts.p < ts.end) {
            uint64_t t = prw_varint(&ts);
            prw_rd m = prw_sub(&ts);
            if (t == ((1 << 3) | 2)) { /* TimeSeries.labels */
                prw_label l = {NULL, NULL};
                while (m.p < m.end) {
                    uint64_t lt = prw_varint(&m);
                    prw_rd str = prw_sub(&m);
                    if (lt == ((1 << 3) | 2)) {
                        free(l.name);
                        l.name = prw_strdup(str);
                    } else {
                        assert_int_equal(lt, (2 << 3) | 2);
                        free(l.value);
                        l.value = prw_strdup(str);
                    }
                }
                assert_non_null(l.name);
                assert_non_null(l.value);
                assert_true(l.name[0] != 0);
                /* sorted by name, each name once */
                if (s->n_labels) assert_true(strcmp(s->labels[s->n_labels - 1].name, l.name) < 0);
                if (s->n_labels == lcap) {
                    lcap = lcap ? 2 * lcap : 8;
                    s->labels = realloc(s->labels, lcap * sizeof *s->labels);
                }
                s->labels[s->n_labels++] = l;
            } else { /* TimeSeries.samples */
                assert_int_equal(t, (2 << 3) | 2);
                prw_sample x = {0, 0, 0};
                while (m.p < m.end) {
                    uint64_t st = prw_varint(&m);
                    if (st == ((1 << 3) | 1)) { /* value: double */
                        assert_true(m.end - m.p >= 8);
                        x.bits = 0;
                        for (int i = 0; i < 8; i++)
                            x.bits |= (uint64_t)m.p[i] << (8 * i);
                        memcpy(&x.v, &x.bits, 8);
                        m.p += 8;
                    } else {
                        assert_int_equal(st, (2 << 3) | 0); /* timestamp: int64 */
                        x.ts = (int64_t)prw_varint(&m);
                    }
                }
                if (s->n_samples) assert_true(s->samples[s->n_samples - 1].ts < x.ts);
                if (s->n_samples == scap) {
                    scap = scap ? 2 * scap : 4;
                    s->samples = realloc(s->samples, scap * sizeof *s->samples);
                }
                s->samples[s->n_samples++] = x;
            }
        }
        assert_true(s->n_samples > 0);
    }
}

static void prw_free(prw_request *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (size_t j = 0; j < r->s[i].n_labels; j++) {
            free(r->s[i].labels[j].name);
            free(r->s[i].labels[j].value);
        }
        free(r->s[i].labels);
        free(r->s[i].samples);
    }
    free(r->s);
    memset(r, 0, sizeof *r);
}

/* The value of a series' label, or NULL. */
static inline const char *prw_label_get(const prw_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (!strcmp(s->labels[i].name, name)) return s->labels[i].value;
    return NULL;
}

/* Uncompresses a snappy block into a malloc'ed buffer (*n bytes). */
static uint8_t *prw_unsnappy(const lt_buf *z, size_t *n)
{
    assert_int_equal(snappy_uncompressed_length(z->data ? z->data : "", z->len, n), SNAPPY_OK);
    char *u = malloc(*n ? *n : 1);
    assert_int_equal(snappy_uncompress(z->data ? z->data : "", z->len, u, n), SNAPPY_OK);
    return (uint8_t *)u;
}

#endif
