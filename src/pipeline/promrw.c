/* promrw.c — Prometheus remote write encoding and sending (contract in promrw.h).
 *
 * The few messages of prompb are written by hand: a series' size is known before it is
 * written (labels and one sample), so each message is written once, length first, with no
 * intermediate buffers. Snappy (libsnappy's C API) compresses the whole request in one
 * block; it allocates through C++ new, outside core/alloc.h, which is why an injected
 * allocation failure cannot reach it. */
#include "pipeline/promrw.h"

#include <curl/curl.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "model/pb.h"
#include "pipeline/promtext.h"

typedef struct {
    size_t name_off, name_len;
    const char *value;
    size_t value_len;
} label;

typedef struct {
    lt_buf *out;
    lt_buf names; /* scratch: the Prometheus label names of one series */
    label *labels;
    size_t cap;
    int64_t ts_ms;
    size_t n_series;
    const promrw_options *o;
} enc;

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t field_len(size_t n)
{
    return 1 + varint_len(n) + n;
}

static void put_bytes(lt_buf *out, uint8_t tag, const char *p, size_t n)
{
    buf_putc(out, (char)tag);
    pb_put_varint(out, n);
    buf_append(out, p, n);
}

static int cmp_label(const void *a, const void *b, void *names)
{
    const label *x = a, *y = b;
    const char *base = names;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(base + x->name_off, base + y->name_off, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static void add_label(enc *e, size_t *n, size_t off, const char *value)
{
    e->labels[*n] = (label){off, e->names.len - off, value, strlen(value)};
    (*n)++;
}

/* One TimeSeries: __name__ = family + suffix, the point's labels, le when given, and one
 * sample. */
static void series(enc *e, const lt_buf *family, const char *suffix, const spanmetrics_point *p,
                   const char *le, double v)
{
    size_t n_ext = e->o ? e->o->n_labels : 0;
    size_t need = p->n_labels + 2 + n_ext;
    if (need > e->cap) {
        label *l = lt_realloc(e->labels, need * sizeof *l);
        if (!l) {
            e->out->oom = true;
            return;
        }
        e->labels = l;
        e->cap = need;
    }
    size_t n = 0;
    e->names.len = 0;
    size_t off = e->names.len;
    buf_append_c(&e->names, "__name__");
    /* __name__ gets its value (the family name, also in names) once names stop growing */
    add_label(e, &n, off, "");
    for (uint32_t i = 0; i < p->n_labels; i++) {
        off = e->names.len;
        promtext_label_name(&e->names, p->labels[i].name);
        add_label(e, &n, off, p->labels[i].value);
    }
    if (le) {
        off = e->names.len;
        buf_append_c(&e->names, "le");
        add_label(e, &n, off, le);
    }
    for (size_t x = 0; x < n_ext; x++) {
        const spanmetrics_label *ext = &e->o->labels[x];
        size_t len = strlen(ext->name);
        bool taken = false;
        for (size_t i = 1; i < n && !taken; i++)
            taken = e->labels[i].name_len == len &&
                    !memcmp(e->names.data + e->labels[i].name_off, ext->name, len);
        if (taken || e->names.oom) continue;
        off = e->names.len;
        buf_append(&e->names, ext->name, len);
        add_label(e, &n, off, ext->value);
    }
    size_t name_off = e->names.len;
    buf_append(&e->names, family->data, family->len);
    buf_append_c(&e->names, suffix);
    if (e->names.oom) {
        e->out->oom = true;
        return;
    }
    e->labels[0].value = e->names.data + name_off;
    e->labels[0].value_len = e->names.len - name_off;
    qsort_r(e->labels, n, sizeof *e->labels, cmp_label, e->names.data);

    /* sizes first: a duplicate name (two dimensions Prometheus names alike) keeps its first */
    size_t ts_len = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !cmp_label(&e->labels[i], &e->labels[kept - 1], e->names.data)) continue;
        e->labels[kept++] = e->labels[i];
        ts_len += field_len(field_len(e->labels[i].name_len) + field_len(e->labels[i].value_len));
    }
    size_t sample_len = 9 + 1 + varint_len((uint64_t)e->ts_ms);
    ts_len += field_len(sample_len);

    lt_buf *out = e->out;
    buf_putc(out, 0x0a); /* WriteRequest.timeseries */
    pb_put_varint(out, ts_len);
    for (size_t i = 0; i < kept; i++) {
        const label *l = &e->labels[i];
        buf_putc(out, 0x0a); /* TimeSeries.labels */
        pb_put_varint(out, field_len(l->name_len) + field_len(l->value_len));
        put_bytes(out, 0x0a, e->names.data + l->name_off, l->name_len);
        put_bytes(out, 0x12, l->value, l->value_len);
    }
    buf_putc(out, 0x12); /* TimeSeries.samples */
    pb_put_varint(out, sample_len);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t le8[9] = {0x09}; /* Sample.value, fixed64 little-endian */
    for (int i = 0; i < 8; i++)
        le8[1 + i] = (uint8_t)(bits >> (8 * i));
    buf_append(out, le8, 9);
    buf_putc(out, 0x10); /* Sample.timestamp */
    pb_put_varint(out, (uint64_t)e->ts_ms);
    e->n_series++;
}

int promrw_encode_raw_opts(lt_buf *out, const spanmetrics_snap *s, const promrw_options *o,
                           size_t *n_series)
{
    enc e = {.out = out, .ts_ms = (int64_t)(s->time_unix_nano / 1000000), .o = o};
    lt_buf family = {0}, le = {0};
    out->len = 0;
    out->oom = false;
    for (uint32_t i = 0; i < s->n_metrics && !out->oom; i++) {
        const spanmetrics_metric *m = &s->metrics[i];
        family.len = 0;
        if (o && o->name_prefix && *o->name_prefix) {
            buf_append_c(&family, o->name_prefix);
            buf_putc(&family, '_');
        }
        promtext_metric_name(&family, m);
        if (family.oom) {
            out->oom = true;
            break;
        }
        for (uint32_t j = 0; j < m->n_points; j++) {
            const spanmetrics_point *p = &m->points[j];
            if (m->type == SPANMETRICS_COUNTER) {
                series(&e, &family, "", p, NULL, p->value);
                continue;
            }
            uint64_t cum = 0;
            for (uint32_t b = 0; b <= m->n_bounds; b++) {
                cum += p->counts[b];
                le.len = 0;
                promtext_value(&le, b < m->n_bounds ? m->bounds[b] : INFINITY);
                if (le.oom) {
                    out->oom = true;
                    break;
                }
                series(&e, &family, "_bucket", p, le.data, (double)cum);
            }
            series(&e, &family, "_sum", p, NULL, p->sum);
            series(&e, &family, "_count", p, NULL, (double)p->count);
        }
    }
    buf_free(&family);
    buf_free(&le);
    buf_free(&e.names);
    lt_free(e.labels);
    if (n_series) *n_series = e.n_series;
    return out->oom ? LT_ENOMEM : 0;
}

int promrw_encode_raw(lt_buf *out, const spanmetrics_snap *s, size_t *n_series)
{
    return promrw_encode_raw_opts(out, s, NULL, n_series);
}

int promrw_encode(lt_buf *out, const spanmetrics_snap *s, size_t *n_series)
{
    return promrw_encode_opts(out, s, NULL, n_series);
}

int promrw_encode_opts(lt_buf *out, const spanmetrics_snap *s, const promrw_options *o,
                       size_t *n_series)
{
    lt_buf raw = {0};
    int rc = promrw_encode_raw_opts(&raw, s, o, n_series);
    out->len = 0;
    out->oom = false;
    if (!rc) {
        size_t max = snappy_max_compressed_length(raw.len);
        size_t clen = max;
        if (buf_reserve(out, max + 1))
            rc = LT_ENOMEM;
        else if (snappy_compress(raw.data ? raw.data : "", raw.len, out->data, &clen) != SNAPPY_OK)
            rc = LT_ENOMEM; /* only a too-small output fails, which max rules out */
        else
            out->len = clen;
    }
    buf_free(&raw);
    return rc;
}

/* ---- sending ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)size; /* always 1 */
    lt_buf *b = ud;
    if (b->len < 512) buf_append(b, p, n < 512 - b->len ? n : 512 - b->len);
    return n;
}

int promrw_send(const char *url, const lt_buf *body, long timeout_ms, char *err, size_t errlen)
{
    int rc = LT_EIO;
    lt_buf answer = {0};
    struct curl_slist *hdr = NULL;
    CURL *h = curl_easy_init();
    if (err && errlen) err[0] = 0;
    if (!h) {
        rc = LT_ENOMEM;
        goto out;
    }
    static const char *const headers[] = {
        "Content-Encoding: snappy",
        "Content-Type: application/x-protobuf",
        "X-Prometheus-Remote-Write-Version: 0.1.0",
        "User-Agent: llmtrace",
        "Expect:", /* no 100-continue round trip */
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        struct curl_slist *n = curl_slist_append(hdr, headers[i]);
        if (!n) {
            rc = LT_ENOMEM;
            goto out;
        }
        hdr = n;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data ? body->data : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: threads */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (err) snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
        rc = LT_EIO;
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        rc = 0;
        goto out;
    }
    rc = status == 429 || status >= 500 ? LT_EBUSY : LT_EINVAL;
    if (err) {
        int n = (int)answer.len;
        while (n > 0 && (answer.data[n - 1] == '\n' || answer.data[n - 1] == '\r'))
            n--;
        snprintf(err, errlen, "%s: HTTP %ld: %.*s", url, status, n, answer.data ? answer.data : "");
    }
out:
    curl_slist_free_all(hdr);
    if (h) curl_easy_cleanup(h);
    buf_free(&answer);
    return rc;
}
