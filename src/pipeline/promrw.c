/* promrw.c — Prometheus remote write encoding and sending (contract in promrw.h).
 *
 * The few messages of prompb are written by hand: a series' size is known before it is
 * written (labels and one sample), so each message is written once, length first, with no
 * intermediate buffers. Snappy (libsnappy's C API) compresses the whole request in one
 * block; it allocates through C++ new, outside core/alloc.h, which is why an injected
 * allocation failure cannot reach it. */
#include "pipeline/promrw.h"

#include <inttypes.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "model/pb.h"
#include "pipeline/promtext.h"

typedef struct {
    size_t name_off, name_len;
    const char *value;
    size_t value_len;
} label;

/* A label and a sample as written. */
typedef struct {
    lt_str name, value;
} wlabel;

typedef struct {
    int64_t ts_ms;
    double v;
} wsample;

typedef struct {
    lt_buf *out;
    lt_buf names; /* scratch: the Prometheus label names of one series */
    label *labels;
    wlabel *wl; /* the same labels, sorted, as written */
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

/* One TimeSeries of WriteRequest: labels (sorted by name, unique) and samples (in time
 * order). Every size is known up front, so each message is written length first. */
static void write_series(lt_buf *out, const wlabel *l, size_t nl, const wsample *s, size_t ns)
{
    size_t ts_len = 0;
    for (size_t i = 0; i < nl; i++)
        ts_len += field_len(field_len(l[i].name.len) + field_len(l[i].value.len));
    for (size_t i = 0; i < ns; i++)
        ts_len += field_len(9 + 1 + varint_len((uint64_t)s[i].ts_ms));
    buf_putc(out, 0x0a); /* WriteRequest.timeseries */
    pb_put_varint(out, ts_len);
    for (size_t i = 0; i < nl; i++) {
        buf_putc(out, 0x0a); /* TimeSeries.labels */
        pb_put_varint(out, field_len(l[i].name.len) + field_len(l[i].value.len));
        put_bytes(out, 0x0a, l[i].name.ptr, l[i].name.len);
        put_bytes(out, 0x12, l[i].value.ptr, l[i].value.len);
    }
    for (size_t i = 0; i < ns; i++) {
        buf_putc(out, 0x12); /* TimeSeries.samples */
        pb_put_varint(out, 9 + 1 + varint_len((uint64_t)s[i].ts_ms));
        uint64_t bits;
        memcpy(&bits, &s[i].v, 8);
        uint8_t le8[9] = {0x09}; /* Sample.value, fixed64 little-endian */
        for (int b = 0; b < 8; b++)
            le8[1 + b] = (uint8_t)(bits >> (8 * b));
        buf_append(out, le8, 9);
        buf_putc(out, 0x10); /* Sample.timestamp */
        pb_put_varint(out, (uint64_t)s[i].ts_ms);
    }
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
        if (l) e->labels = l;
        wlabel *w = l ? lt_realloc(e->wl, need * sizeof *w) : NULL;
        if (!w) {
            e->out->oom = true;
            return;
        }
        e->wl = w;
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

    /* a duplicate name (two dimensions Prometheus names alike) keeps its first */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && !cmp_label(&e->labels[i], &e->labels[kept - 1], e->names.data)) continue;
        e->labels[kept++] = e->labels[i];
    }
    for (size_t i = 0; i < kept; i++) {
        const label *l = &e->labels[i];
        e->wl[i] = (wlabel){{e->names.data + l->name_off, l->name_len}, {l->value, l->value_len}};
    }
    wsample sample = {e->ts_ms, v};
    write_series(e->out, e->wl, kept, &sample, 1);
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
    lt_free(e.wl);
    if (n_series) *n_series = e.n_series;
    return out->oom ? LT_ENOMEM : 0;
}

int promrw_encode_raw(lt_buf *out, const spanmetrics_snap *s, size_t *n_series)
{
    return promrw_encode_raw_opts(out, s, NULL, n_series);
}

/* Replaces out with raw (the result of an encoder, rc) in snappy's block format; frees
 * raw. */
static int compress(lt_buf *out, lt_buf *raw, int rc)
{
    out->len = 0;
    out->oom = false;
    if (!rc) {
        size_t max = snappy_max_compressed_length(raw->len);
        size_t clen = max;
        if (buf_reserve(out, max + 1))
            rc = LT_ENOMEM;
        else if (snappy_compress(raw->data ? raw->data : "", raw->len, out->data, &clen) !=
                 SNAPPY_OK)
            rc = LT_ENOMEM; /* only a too-small output fails, which max rules out */
        else
            out->len = clen;
    }
    buf_free(raw);
    return rc;
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
    return compress(out, &raw, rc);
}

/* ---- OTLP metrics ----
 *
 * The translation of the collector's prometheusremotewrite exporter. Each data point turns
 * into samples (one for a gauge or sum, _sum/_count/_bucket for a histogram, the quantiles
 * and _sum/_count for a summary); a sample's labels are its point's base labels (made once
 * per point: attributes, job, instance, external labels) plus __name__ and le or quantile,
 * merged when the sample is compared or written, so no label list is copied per sample.
 * All samples are sorted by label set and time at the end, and the samples of one label
 * set go out as one TimeSeries, in time order. */

/* Prometheus's staleness marker, and the NaN it writes for a value that is NaN (any other
 * NaN could be read as a marker). */
#define STALE_NAN 0x7ff0000000000002ull
#define NORMAL_NAN 0x7ff8000000000001ull

static const char DROP_DELTA[] = "delta temporality is not written: Prometheus takes cumulative "
                                 "sums and histograms (convert them before this exporter)";
static const char DROP_NO_TEMPORALITY[] = "sum or histogram without aggregation temporality";
static const char DROP_EXP[] = "exponential histograms are not written: they need Prometheus "
                               "native histograms";
static const char DROP_NAME[] = "metric name without a character Prometheus allows";
static const char DROP_TIME[] = "data point without time_unix_nano";

typedef struct {
    const wlabel *base; /* sorted by name, unique, no empty value */
    uint32_t n_base;
    uint32_t seq;            /* order of creation, the last tie-break */
    lt_str name;             /* __name__ */
    lt_str extra, extra_val; /* le or quantile; extra.len 0 when none */
    int64_t ts_ms;
    double v;
} msample;

typedef struct {
    lt_arena *a;
    const promrw_metrics_opts *o;
    promrw_metrics_result *res;
    msample *s;
    size_t n, cap;
    lt_buf tmp;
    bool oom;
    /* the point being converted */
    const wlabel *base;
    uint32_t n_base;
    int64_t ts_ms;
    bool stale;
} menc;

static lt_str keep(menc *e, const char *p, size_t n)
{
    lt_str r = arena_strdup(e->a, (lt_str){p ? p : "", n});
    if (n && !r.ptr) e->oom = true;
    return r;
}

static lt_str keep_tmp(menc *e)
{
    if (e->tmp.oom) e->oom = true;
    return keep(e, e->tmp.data, e->tmp.len);
}

static void drop(menc *e, uint64_t points, const char *why)
{
    if (!points) return;
    e->res->dropped += points;
    if (!e->res->drop_reason) e->res->drop_reason = why;
}

/* The shortest decimal digits that read back as v (finite, not 0): *exp10 is the power of
 * ten of the first digit. Returns the number of digits. */
static int shortest_digits(double v, char digits[24], int *exp10)
{
    char tmp[40];
    for (int p = 0; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, v);
        if (strtod(tmp, NULL) == v) break;
    }
    const char *q = tmp + (tmp[0] == '-');
    int n = 0;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[n++] = *q;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    *exp10 = (int)strtol(q + 1, NULL, 10);
    return n;
}

/* Writes v as Go's strconv.FormatFloat(v, 'f', -1, 64) does (le and quantile values, as
 * the collector writes them: 0.005, 1000000), or with an exponent when sci_outside is set
 * and |v| is outside [1e-6, 1e21) (Go's JSON form, which OTel uses for attribute values:
 * 1e-7, 1e+21). */
static void go_float(lt_buf *b, double v, bool sci_outside)
{
    if (isnan(v)) {
        buf_append_c(b, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_append_c(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(v)) buf_putc(b, '-');
    if (v == 0) {
        buf_putc(b, '0');
        return;
    }
    char d[24];
    int e10, n = shortest_digits(fabs(v), d, &e10);
    if (sci_outside && (fabs(v) < 1e-6 || fabs(v) >= 1e21)) {
        buf_putc(b, d[0]);
        if (n > 1) {
            buf_putc(b, '.');
            buf_append(b, d + 1, (size_t)n - 1);
        }
        buf_printf(b, e10 < 0 ? "e-%d" : "e+%02d", abs(e10));
        return;
    }
    if (e10 < 0) {
        buf_append_c(b, "0.");
        for (int i = 0; i < -e10 - 1; i++)
            buf_putc(b, '0');
        buf_append(b, d, (size_t)n);
    } else if (e10 + 1 >= n) {
        buf_append(b, d, (size_t)n);
        for (int i = n; i <= e10; i++)
            buf_putc(b, '0');
    } else {
        buf_append(b, d, (size_t)e10 + 1);
        buf_putc(b, '.');
        buf_append(b, d + e10 + 1, (size_t)(n - e10 - 1));
    }
}

/* An attribute value as a label value (pdata's Value.AsString): strings as they are,
 * numbers and booleans in their usual text, bytes in base64, arrays and maps as JSON. */
static lt_str value_text(menc *e, const lt_value *v)
{
    if (v->type == LT_VAL_STRING) return v->u.s.ptr ? v->u.s : LT_STR("");
    e->tmp.len = 0;
    switch (v->type) {
    case LT_VAL_BOOL:
        buf_append_c(&e->tmp, v->u.b ? "true" : "false");
        break;
    case LT_VAL_INT:
        buf_printf(&e->tmp, "%" PRId64, v->u.i);
        break;
    case LT_VAL_DOUBLE:
        go_float(&e->tmp, v->u.d, true);
        break;
    case LT_VAL_BYTES: {
        char *b64 = lt_malloc(4 * ((v->u.s.len + 2) / 3) + 1);
        if (!b64) {
            e->oom = true;
            return LT_STR("");
        }
        base64_encode((const uint8_t *)v->u.s.ptr, v->u.s.len, b64);
        buf_append_c(&e->tmp, b64);
        lt_free(b64);
        break;
    }
    case LT_VAL_ARRAY:
    case LT_VAL_KVLIST:
        model_value_json(&e->tmp, v);
        break;
    default:
        break;
    }
    return keep_tmp(e);
}

typedef struct {
    lt_str key, name, value;
    uint32_t idx;
} alabel;

static int cmp_str(lt_str a, lt_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* By Prometheus name, then by OTel key, then as sent: the order in which the collector
 * merges attributes that Prometheus names alike. */
static int cmp_alabel(const void *x, const void *y)
{
    const alabel *a = x, *b = y;
    int c = cmp_str(a->name, b->name);
    if (!c) c = cmp_str(a->key, b->key);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_wlabel(const void *x, const void *y)
{
    return cmp_str(((const wlabel *)x)->name, ((const wlabel *)y)->name);
}

/* Sets name=value in l[0..*n): replaces the value of a label of that name when replace is
 * set or leaves it; appends it otherwise. */
static void set_label(wlabel *l, uint32_t *n, lt_str name, lt_str value, bool replace)
{
    for (uint32_t i = 0; i < *n; i++)
        if (lt_str_eq(l[i].name, name)) {
            if (replace) l[i].value = value;
            return;
        }
    l[(*n)++] = (wlabel){name, value};
}

static bool ignored(lt_str key, const char *const *ignore, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lt_str_eq_c(key, ignore[i])) return true;
    return false;
}

/* The base labels of a point (or of target_info): attrs except the ignored keys, under
 * their Prometheus names, values of names that collide joined by ';' (a value equal to
 * what is there already is not repeated); then job and instance from the resource, then
 * the external labels where no attribute took the name. Sets e->base / e->n_base. */
static void base_labels(menc *e, const lt_resource *r, const lt_attrs *attrs,
                        const char *const *ignore, size_t n_ignore)
{
    uint32_t cap = attrs->n + 2 + (uint32_t)e->o->n_external_labels, n = 0, k = 0;
    alabel *al = arena_alloc(e->a, (attrs->n ? attrs->n : 1) * sizeof *al);
    wlabel *l = arena_alloc(e->a, (cap ? cap : 1) * sizeof *l);
    e->base = l;
    e->n_base = 0;
    if (!al || !l) {
        e->oom = true;
        return;
    }
    for (uint32_t i = 0; i < attrs->n; i++) {
        const lt_kv *kv = &attrs->items[i];
        if (!kv->key.len || ignored(kv->key, ignore, n_ignore)) continue;
        e->tmp.len = 0;
        promtext_label(&e->tmp, kv->key);
        lt_str name = keep_tmp(e);
        al[k++] = (alabel){kv->key, name, value_text(e, &kv->value), i};
    }
    qsort(al, k, sizeof *al, cmp_alabel);
    for (uint32_t i = 0; i < k;) {
        uint32_t j = i + 1;
        while (j < k && lt_str_eq(al[j].name, al[i].name))
            j++;
        lt_str value = al[i].value;
        if (j > i + 1) {
            e->tmp.len = 0;
            buf_append_str(&e->tmp, value);
            for (uint32_t x = i + 1; x < j; x++) {
                if (lt_str_eq((lt_str){e->tmp.data, e->tmp.len}, al[x].value)) continue;
                buf_putc(&e->tmp, ';');
                buf_append_str(&e->tmp, al[x].value);
            }
            value = keep_tmp(e);
        }
        l[n++] = (wlabel){al[i].name, value};
        i = j;
    }
    /* service.name (with service.namespace) -> job, service.instance.id -> instance */
    const lt_value *svc = model_attr_get(&r->attrs, LT_STR("service.name"));
    const lt_value *nsv = model_attr_get(&r->attrs, LT_STR("service.namespace"));
    const lt_value *inst = model_attr_get(&r->attrs, LT_STR("service.instance.id"));
    if (svc) {
        lt_str job = value_text(e, svc);
        if (nsv) {
            lt_str ns = value_text(e, nsv);
            e->tmp.len = 0;
            buf_append_str(&e->tmp, ns);
            buf_putc(&e->tmp, '/');
            buf_append_str(&e->tmp, job);
            job = keep_tmp(e);
        }
        set_label(l, &n, LT_STR("job"), job, true);
    }
    if (inst) set_label(l, &n, LT_STR("instance"), value_text(e, inst), true);
    for (size_t i = 0; i < e->o->n_external_labels; i++)
        set_label(l, &n, lt_str_c(e->o->external_labels[i].name),
                  lt_str_c(e->o->external_labels[i].value), false);
    /* an empty value is no label in Prometheus */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++)
        if (l[i].value.len) l[kept++] = l[i];
    qsort(l, kept, sizeof *l, cmp_wlabel);
    e->n_base = kept;
}

/* Walks the labels of a sample in name order: its base merged with __name__ and the extra
 * label, which replace a base label of the same name. */
typedef struct {
    const msample *s;
    uint32_t i;
    wlabel x[2];
    int nx, xi;
} lwalk;

static void lwalk_init(lwalk *w, const msample *s)
{
    w->s = s;
    w->i = 0;
    w->xi = 0;
    w->nx = 0;
    w->x[w->nx++] = (wlabel){LT_STR("__name__"), s->name};
    if (s->extra.len) w->x[w->nx++] = (wlabel){s->extra, s->extra_val};
    if (w->nx == 2 && cmp_wlabel(&w->x[0], &w->x[1]) > 0) {
        wlabel t = w->x[0];
        w->x[0] = w->x[1];
        w->x[1] = t;
    }
}

static bool lwalk_next(lwalk *w, wlabel *out)
{
    for (;;) {
        bool has_b = w->i < w->s->n_base, has_x = w->xi < w->nx;
        if (!has_b && !has_x) return false;
        int c = !has_b ? 1 : !has_x ? -1 : cmp_wlabel(&w->s->base[w->i], &w->x[w->xi]);
        if (c < 0) {
            *out = w->s->base[w->i++];
            return true;
        }
        if (c == 0) w->i++; /* replaced */
        *out = w->x[w->xi++];
        if (out->value.len) return true;
    }
}

static int cmp_labelsets(const msample *a, const msample *b)
{
    lwalk wa, wb;
    wlabel la, lb;
    lwalk_init(&wa, a);
    lwalk_init(&wb, b);
    for (;;) {
        bool ha = lwalk_next(&wa, &la), hb = lwalk_next(&wb, &lb);
        if (!ha || !hb) return ha - hb;
        int c = cmp_str(la.name, lb.name);
        if (!c) c = cmp_str(la.value, lb.value);
        if (c) return c;
    }
}

static int cmp_msample(const void *x, const void *y)
{
    const msample *a = x, *b = y;
    int c = cmp_labelsets(a, b);
    if (!c) c = (a->ts_ms > b->ts_ms) - (a->ts_ms < b->ts_ms);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* One sample of the current point. */
static void sample(menc *e, lt_str name, lt_str extra, lt_str extra_val, double v)
{
    if (e->oom) return;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        msample *s = lt_realloc(e->s, cap * sizeof *s);
        if (!s) {
            e->oom = true;
            return;
        }
        e->s = s;
        e->cap = cap;
    }
    uint64_t bits;
    memcpy(&bits, &v, 8);
    if (e->stale)
        bits = STALE_NAN;
    else if (isnan(v))
        bits = NORMAL_NAN;
    memcpy(&v, &bits, 8);
    e->s[e->n] = (msample){e->base, e->n_base, (uint32_t)e->n, name, extra, extra_val, e->ts_ms, v};
    e->n++;
}

/* The names of a metric's series: NAME and NAME_sum, NAME_count, NAME_bucket. */
typedef struct {
    lt_str name, sum, count, bucket;
} names;

static lt_str suffixed(menc *e, lt_str base, const char *suffix)
{
    e->tmp.len = 0;
    buf_append_str(&e->tmp, base);
    buf_append_c(&e->tmp, suffix);
    return keep_tmp(e);
}

static void histogram_samples(menc *e, const names *nm, const lt_histogram_point *p)
{
    if (p->has_sum) sample(e, nm->sum, LT_STR_NULL, LT_STR_NULL, p->sum);
    sample(e, nm->count, LT_STR_NULL, LT_STR_NULL, (double)p->count);
    uint64_t cum = 0;
    for (uint32_t i = 0; i < p->explicit_bounds.n && i < p->bucket_counts.n; i++) {
        cum += p->bucket_counts.items[i];
        e->tmp.len = 0;
        go_float(&e->tmp, p->explicit_bounds.items[i], false);
        sample(e, nm->bucket, LT_STR("le"), keep_tmp(e), (double)cum);
    }
    sample(e, nm->bucket, LT_STR("le"), LT_STR("+Inf"), (double)p->count);
}

static void summary_samples(menc *e, const names *nm, const lt_summary_point *p)
{
    sample(e, nm->sum, LT_STR_NULL, LT_STR_NULL, p->sum);
    sample(e, nm->count, LT_STR_NULL, LT_STR_NULL, (double)p->count);
    for (uint32_t i = 0; i < p->quantiles.n; i++) {
        e->tmp.len = 0;
        go_float(&e->tmp, p->quantiles.items[i].quantile, false);
        sample(e, nm->name, LT_STR("quantile"), keep_tmp(e), p->quantiles.items[i].value);
    }
}

/* Why m is not written, or NULL. */
static const char *unwritten(const lt_metric *m)
{
    if (m->type == LT_METRIC_EXP_HISTOGRAM) return DROP_EXP;
    if (m->type != LT_METRIC_SUM && m->type != LT_METRIC_HISTOGRAM) return NULL;
    if (m->temporality == LT_TEMPORALITY_CUMULATIVE) return NULL;
    return m->temporality == LT_TEMPORALITY_DELTA ? DROP_DELTA : DROP_NO_TEMPORALITY;
}

static void metric_samples(menc *e, const lt_resource *r, const lt_metric *m)
{
    const char *why = unwritten(m);
    if (why) {
        drop(e, m->n_points, why);
        return;
    }
    promtext_kind kind = m->type == LT_METRIC_GAUGE                 ? PROMTEXT_GAUGE
                         : m->type == LT_METRIC_SUM && m->monotonic ? PROMTEXT_COUNTER
                                                                    : PROMTEXT_OTHER;
    names nm;
    e->tmp.len = 0;
    promtext_name(&e->tmp, lt_str_c(e->o->ns), m->name, m->unit, kind);
    nm.name = keep_tmp(e);
    if (!nm.name.len) {
        drop(e, m->n_points, DROP_NAME);
        return;
    }
    nm.sum = suffixed(e, nm.name, "_sum");
    nm.count = suffixed(e, nm.name, "_count");
    nm.bucket = suffixed(e, nm.name, "_bucket");
    for (uint32_t i = 0; i < m->n_points && !e->oom; i++) {
        const lt_point_head *h = model_metric_point(m, i);
        if (!h->time_unix_nano) {
            drop(e, 1, DROP_TIME);
            continue;
        }
        base_labels(e, r, &h->attrs, NULL, 0);
        e->ts_ms = (int64_t)(h->time_unix_nano / 1000000);
        e->stale = h->flags & LT_POINT_NO_RECORDED_VALUE;
        if (m->type == LT_METRIC_HISTOGRAM) {
            histogram_samples(e, &nm, &m->points.histogram[i]);
        } else if (m->type == LT_METRIC_SUMMARY) {
            summary_samples(e, &nm, &m->points.summary[i]);
        } else {
            const lt_number_point *p = &m->points.number[i];
            double v = p->type == LT_NUM_INT      ? (double)p->v.i
                       : p->type == LT_NUM_DOUBLE ? p->v.d
                                                  : 0;
            sample(e, nm.name, LT_STR_NULL, LT_STR_NULL, v);
        }
    }
}

/* target_info: the resource's other attributes as labels, with job and instance, value 1
 * at the latest time of the resource's points; only when there is such an attribute and
 * the resource has service.name or service.instance.id (as the collector). */
static void target_info(menc *e, const lt_resource *r, uint64_t latest_ns)
{
    static const char *const identifying[] = {"service.name", "service.namespace",
                                              "service.instance.id"};
    if (e->o->no_target_info || !latest_ns) return;
    uint32_t others = 0;
    for (uint32_t i = 0; i < r->attrs.n; i++)
        others += !ignored(r->attrs.items[i].key, identifying, 3);
    if (!others || (!model_attr_get(&r->attrs, LT_STR("service.name")) &&
                    !model_attr_get(&r->attrs, LT_STR("service.instance.id"))))
        return;
    base_labels(e, r, &r->attrs, identifying, 3);
    e->ts_ms = (int64_t)(latest_ns / 1000000);
    e->stale = false;
    e->tmp.len = 0;
    const char *ns = e->o->ns;
    if (ns && *ns) {
        buf_append_c(&e->tmp, ns);
        buf_putc(&e->tmp, '_');
    }
    buf_append_c(&e->tmp, "target_info");
    sample(e, keep_tmp(e), LT_STR_NULL, LT_STR_NULL, 1);
}

/* Writes the sorted samples, one TimeSeries per label set; of samples with the same time
 * in one series the last one sent is kept. */
static void write_metric_series(menc *e, lt_buf *out)
{
    wlabel *l = NULL;
    wsample *ws = NULL;
    size_t lcap = 0, wcap = 0;
    for (size_t i = 0; i < e->n && !out->oom;) {
        size_t j = i + 1;
        while (j < e->n && !cmp_labelsets(&e->s[i], &e->s[j]))
            j++;
        size_t nl = e->s[i].n_base + 2, nw = 0;
        if (nl > lcap) {
            wlabel *t = lt_realloc(l, nl * sizeof *l);
            if (!t) break;
            l = t;
            lcap = nl;
        }
        if (j - i > wcap) {
            wsample *t = lt_realloc(ws, (j - i) * sizeof *ws);
            if (!t) break;
            ws = t;
            wcap = j - i;
        }
        lwalk w;
        lwalk_init(&w, &e->s[i]);
        nl = 0;
        while (lwalk_next(&w, &l[nl]))
            nl++;
        for (size_t k = i; k < j; k++) {
            if (nw && ws[nw - 1].ts_ms == e->s[k].ts_ms) nw--;
            ws[nw++] = (wsample){e->s[k].ts_ms, e->s[k].v};
        }
        write_series(out, l, nl, ws, nw);
        e->res->series++;
        e->res->samples += nw;
        i = j;
    }
    if (e->n && (!l || !ws)) out->oom = true;
    lt_free(l);
    lt_free(ws);
}

int promrw_encode_metrics_raw(lt_buf *out, const lt_metric_batch *b, const promrw_metrics_opts *o,
                              promrw_metrics_result *res)
{
    static const promrw_metrics_opts defaults = {0};
    promrw_metrics_result scratch;
    menc e = {.o = o ? o : &defaults, .res = res ? res : &scratch};
    memset(e.res, 0, sizeof *e.res);
    out->len = 0;
    out->oom = false;
    e.a = arena_new();
    if (!e.a) return LT_ENOMEM;
    for (uint32_t i = 0; i < b->n_rm && !e.oom; i++) {
        const lt_resource_metrics *rm = &b->rm[i];
        uint64_t latest = 0;
        for (uint32_t j = 0; j < rm->n_scopes; j++)
            for (uint32_t k = 0; k < rm->scopes[j].n_metrics; k++) {
                const lt_metric *m = &rm->scopes[j].metrics[k];
                for (uint32_t x = 0; x < m->n_points; x++) {
                    uint64_t t = model_metric_point(m, x)->time_unix_nano;
                    if (t > latest) latest = t;
                }
                metric_samples(&e, &rm->resource, m);
            }
        target_info(&e, &rm->resource, latest);
    }
    if (!e.oom) {
        if (e.n) qsort(e.s, e.n, sizeof *e.s, cmp_msample);
        write_metric_series(&e, out);
    }
    if (e.oom || e.tmp.oom) out->oom = true;
    buf_free(&e.tmp);
    lt_free(e.s);
    arena_free(e.a);
    if (out->oom) {
        e.res->series = e.res->samples = 0;
        return LT_ENOMEM;
    }
    return 0;
}

int promrw_encode_metrics(lt_buf *out, const lt_metric_batch *b, const promrw_metrics_opts *o,
                          promrw_metrics_result *res)
{
    lt_buf raw = {0};
    int rc = promrw_encode_metrics_raw(&raw, b, o, res);
    return compress(out, &raw, rc);
}
