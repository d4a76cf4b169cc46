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

/* Appends the words of s (runs of [A-Za-z0-9:]) joined by '_'; returns whether any was
 * written before (so the caller knows whether a separator is needed). */
static bool put_words(lt_buf *out, const char *s, bool any)
{
    for (const char *p = s; *p;) {
        if (!is_alnum(*p) && *p != ':') {
            p++;
            continue;
        }
        if (any) buf_putc(out, '_');
        while (*p && (is_alnum(*p) || *p == ':'))
            buf_putc(out, *p++);
        any = true;
    }
    return any;
}

/* The unit as Prometheus's OTLP translator names it; NULL when it adds nothing. */
static const char *unit_word(const char *unit)
{
    static const char *const map[][2] = {
        {"ms", "milliseconds"}, {"s", "seconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"},
        {"min", "minutes"},     {"h", "hours"},   {"By", "bytes"},        {"1", NULL},
    };
    if (!unit || !*unit || unit[0] == '{') return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], unit)) return map[i][1];
    return unit;
}

/* Whether the last word of the name written at start is word. */
static bool ends_with_word(const lt_buf *out, size_t start, const char *word)
{
    size_t n = strlen(word);
    if (out->len - start < n) return false;
    if (memcmp(out->data + out->len - n, word, n)) return false;
    return out->len - start == n || out->data[out->len - n - 1] == '_';
}

void promtext_metric_name(lt_buf *out, const spanmetrics_metric *m)
{
    size_t start = out->len;
    if (m->name[0] >= '0' && m->name[0] <= '9') buf_putc(out, '_');
    bool any = put_words(out, m->name, false);
    const char *u = unit_word(m->unit);
    if (u && !out->oom && !ends_with_word(out, start, u)) any = put_words(out, u, any);
    if (m->type == SPANMETRICS_COUNTER && !out->oom && !ends_with_word(out, start, "total"))
        put_words(out, "total", any);
}

void promtext_label_name(lt_buf *out, const char *name)
{
    if (name[0] >= '0' && name[0] <= '9') buf_append_c(out, "key_");
    for (const char *p = name; *p; p++)
        buf_putc(out, is_alnum(*p) || *p == '_' ? *p : '_');
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
