/* promtext.c — the Prometheus text exposition of span metrics (contract in promtext.h). */
#include "pipeline/promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
    return is_alnum(c) || c == ':';
}

/* The next word of s at or after *i (a run of [A-Za-z0-9:]); false when there is none. */
static bool next_word(lt_str s, size_t *i, lt_str *w)
{
    while (*i < s.len && !is_word(s.ptr[*i]))
        (*i)++;
    if (*i >= s.len) return false;
    size_t b = *i;
    while (*i < s.len && is_word(s.ptr[*i]))
        (*i)++;
    *w = (lt_str){s.ptr + b, *i - b};
    return true;
}

static bool has_word(lt_str s, lt_str word)
{
    size_t i = 0;
    lt_str w;
    while (next_word(s, &i, &w))
        if (lt_str_eq(w, word)) return true;
    return false;
}

static lt_str trim(lt_str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t'))
        s = (lt_str){s.ptr + 1, s.len - 1};
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* UCUM units as Prometheus names them (the collector's translator): the main unit, and
 * the unit after a '/' ("By/s" -> bytes_per_second). "1" adds nothing. */
static const char *const unit_words[][2] = {
    {"d", "days"},
    {"h", "hours"},
    {"min", "minutes"},
    {"s", "seconds"},
    {"ms", "milliseconds"},
    {"us", "microseconds"},
    {"ns", "nanoseconds"},
    {"By", "bytes"},
    {"KiBy", "kibibytes"},
    {"MiBy", "mebibytes"},
    {"GiBy", "gibibytes"},
    {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},
    {"MBy", "megabytes"},
    {"GBy", "gigabytes"},
    {"TBy", "terabytes"},
    {"m", "meters"},
    {"V", "volts"},
    {"A", "amperes"},
    {"J", "joules"},
    {"W", "watts"},
    {"g", "grams"},
    {"Cel", "celsius"},
    {"Hz", "hertz"},
    {"1", ""},
    {"%", "percent"},
};
static const char *const per_unit_words[][2] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

/* Writes into w the words of unit u (after the table's translation) joined by '_'; nothing
 * for an annotation in braces ("{token}"). */
static void unit_word(lt_buf *w, lt_str u, const char *const (*map)[2], size_t n)
{
    w->len = 0;
    u = trim(u);
    if (!u.len || memchr(u.ptr, '{', u.len) || memchr(u.ptr, '}', u.len)) return;
    for (size_t i = 0; i < n; i++)
        if (lt_str_eq_c(u, map[i][0])) {
            u = lt_str_c(map[i][1]);
            break;
        }
    size_t i = 0;
    lt_str word;
    while (next_word(u, &i, &word)) {
        if (w->len) buf_putc(w, '_');
        buf_append_str(w, word);
    }
}

/* Appends a word of the name being written from start, after a '_' when one is due. */
static void put_word(lt_buf *out, size_t start, lt_str w)
{
    if (out->len > start) buf_putc(out, '_');
    buf_append_str(out, w);
}

void promtext_name(lt_buf *out, lt_str ns, lt_str name, lt_str unit, promtext_kind kind)
{
    size_t start = out->len;
    lt_buf u = {0}, per = {0};
    const char *slash = unit.len ? memchr(unit.ptr, '/', unit.len) : NULL;
    lt_str main_u = slash ? (lt_str){unit.ptr, (size_t)(slash - unit.ptr)} : unit;
    unit_word(&u, main_u, unit_words, sizeof unit_words / sizeof unit_words[0]);
    if (slash)
        unit_word(&per, (lt_str){slash + 1, unit.len - (size_t)(slash + 1 - unit.ptr)},
                  per_unit_words, sizeof per_unit_words / sizeof per_unit_words[0]);
    lt_str us = {u.data, u.len}, ps = {per.data, per.len};
    bool add_u = us.len && !has_word(name, us);
    bool add_per = ps.len && !has_word(name, ps) && !(add_u && lt_str_eq(us, ps));
    /* the type's suffix goes last, once, wherever the name had it */
    lt_str suffix = LT_STR_NULL;
    if (kind == PROMTEXT_COUNTER) suffix = LT_STR("total");
    if (kind == PROMTEXT_GAUGE && lt_str_eq_c(unit, "1")) suffix = LT_STR("ratio");

    if (ns.len) put_word(out, start, ns);
    size_t i = 0;
    lt_str w;
    while (next_word(name, &i, &w))
        if (!suffix.len || !lt_str_eq(w, suffix)) put_word(out, start, w);
    if (add_u) put_word(out, start, us);
    if (add_per) {
        put_word(out, start, LT_STR("per"));
        put_word(out, start, ps);
    }
    if (suffix.len) put_word(out, start, suffix);
    /* a name may not start with a digit */
    if (!out->oom && out->len > start && out->data[start] >= '0' && out->data[start] <= '9' &&
        buf_putc(out, '_') == 0) {
        memmove(out->data + start + 1, out->data + start, out->len - start - 1);
        out->data[start] = '_';
    }
    if (u.oom || per.oom) out->oom = true;
    buf_free(&u);
    buf_free(&per);
}

void promtext_metric_name(lt_buf *out, const spanmetrics_metric *m)
{
    promtext_name(out, LT_STR_NULL, lt_str_c(m->name), lt_str_c(m->unit),
                  m->type == SPANMETRICS_COUNTER ? PROMTEXT_COUNTER : PROMTEXT_OTHER);
}

void promtext_label(lt_buf *out, lt_str name)
{
    if (name.len && name.ptr[0] >= '0' && name.ptr[0] <= '9') buf_append_c(out, "key_");
    for (size_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        if (is_alnum(c) || c == '_')
            buf_putc(out, c);
        else if (((unsigned char)c & 0xC0) != 0x80) /* one '_' per UTF-8 sequence */
            buf_putc(out, '_');
    }
}

void promtext_label_name(lt_buf *out, const char *name)
{
    promtext_label(out, lt_str_c(name));
}

void promtext_value(lt_buf *out, double v)
{
    if (isnan(v)) {
        buf_append_c(out, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_append_c(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, v);
        if (strtod(tmp, NULL) == v) break;
    }
    buf_append_c(out, tmp);
}

static void escaped(lt_buf *out, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_append_c(out, "\\\\");
        else if (*p == '\n')
            buf_append_c(out, "\\n");
        else if (*p == '"' && quote)
            buf_append_c(out, "\\\"");
        else
            buf_putc(out, *p);
    }
}

/* {a="x",b="y"[,le=".."]} — nothing when there are no labels. */
static void labels(lt_buf *out, const spanmetrics_point *p, const char *le)
{
    if (!p->n_labels && !le) return;
    buf_putc(out, '{');
    for (uint32_t i = 0; i < p->n_labels; i++) {
        if (i) buf_putc(out, ',');
        promtext_label_name(out, p->labels[i].name);
        buf_append_c(out, "=\"");
        escaped(out, p->labels[i].value, true);
        buf_putc(out, '"');
    }
    if (le) {
        if (p->n_labels) buf_putc(out, ',');
        buf_append_c(out, "le=\"");
        buf_append_c(out, le);
        buf_putc(out, '"');
    }
    buf_putc(out, '}');
}

static void sample(lt_buf *out, const lt_buf *name, const char *suffix, const spanmetrics_point *p,
                   const char *le, double v)
{
    buf_append(out, name->data, name->len);
    buf_append_c(out, suffix);
    labels(out, p, le);
    buf_putc(out, ' ');
    promtext_value(out, v);
    buf_putc(out, '\n');
}

int promtext_render(lt_buf *out, const spanmetrics_snap *s)
{
    lt_buf name = {0}, le = {0};
    for (uint32_t i = 0; i < s->n_metrics; i++) {
        const spanmetrics_metric *m = &s->metrics[i];
        name.len = 0;
        promtext_metric_name(&name, m);
        if (name.oom) break;
        buf_append_c(out, "# HELP ");
        buf_append(out, name.data, name.len);
        buf_putc(out, ' ');
        escaped(out, m->help, false);
        buf_append_c(out, "\n# TYPE ");
        buf_append(out, name.data, name.len);
        buf_append_c(out, m->type == SPANMETRICS_COUNTER ? " counter\n" : " histogram\n");
        for (uint32_t j = 0; j < m->n_points; j++) {
            const spanmetrics_point *p = &m->points[j];
            if (m->type == SPANMETRICS_COUNTER) {
                sample(out, &name, "", p, NULL, p->value);
                continue;
            }
            uint64_t cum = 0;
            for (uint32_t b = 0; b <= m->n_bounds; b++) {
                cum += p->counts[b];
                le.len = 0;
                promtext_value(&le, b < m->n_bounds ? m->bounds[b] : INFINITY);
                if (le.oom) break;
                sample(out, &name, "_bucket", p, le.data, (double)cum);
            }
            sample(out, &name, "_sum", p, NULL, p->sum);
            sample(out, &name, "_count", p, NULL, (double)p->count);
        }
    }
    bool oom = name.oom || le.oom || out->oom;
    buf_free(&name);
    buf_free(&le);
    return oom ? LT_ENOMEM : 0;
}
