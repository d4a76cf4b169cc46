/* show.c — `llmtrace show TRACE_ID`: one trace as a waterfall.
 *
 * The answer of GET /api/traces/{id} is drawn as the span tree, one line per span: tree
 * guides and name, service, duration, a bar placed and scaled on the trace's time range,
 * and the status when it is ERROR. Spans whose parent was not received are drawn as
 * roots. The tree is walked without recursion and parent cycles (which a broken or
 * hostile sender can produce) are cut, so any answer renders in O(n log n).
 *
 * A span with a GenAI view ("genai") gets a line under it: operation, model (or tool,
 * agent, data source), input -> output tokens, time to first chunk, cost, finish reasons,
 * error type; an LLM call also gets the first line of its last input message and of its
 * output message ("messages"), cut to the terminal's width. The head of the trace adds
 * its GenAI totals ("totals"). Everything taken from the answer goes through client_fit,
 * so no sender's text can drive the terminal.
 *
 * show_render() writes into a buffer, so tests draw without a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/opts.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "model/model.h"

enum {
    COL_NAME = 44, /* tree guides and span name */
    COL_SVC = 16,
    COL_DUR = 8,
    MAX_GUIDES = 12, /* deeper levels are summarised as "+N" */
    COL_STATUS_MSG = 60,
    MIN_DETAIL = 16, /* a detail line keeps at least this many columns of text */
};

typedef struct wf_span wf_span;
struct wf_span {
    const json_t *json;
    const char *id;
    const char *parent_id;
    uint64_t start, end;
    size_t seq;
    wf_span *parent;
    wf_span *first_child, *last_child, *next;
    int state; /* for cycle detection: 0 new, 1 on the current walk, 2 done */
};

static int cmp_wf_id(const void *pa, const void *pb)
{
    const wf_span *a = *(wf_span *const *)pa, *b = *(wf_span *const *)pb;
    int c = strcmp(a->id, b->id);
    if (c) return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_wf_start(const void *pa, const void *pb)
{
    const wf_span *a = *(wf_span *const *)pa, *b = *(wf_span *const *)pb;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static wf_span *find_wf(wf_span **by_id, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(by_id[mid]->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(by_id[lo]->id, id) == 0 ? by_id[lo] : NULL;
}

/* Cuts parent cycles: walks each parent chain once and, where a walk meets itself, makes
 * the span that closes the loop a root. */
static void cut_cycles(wf_span *spans, size_t n, wf_span **path)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        wf_span *cur = &spans[i];
        while (cur && cur->state == 0) {
            cur->state = 1;
            path[len++] = cur;
            cur = cur->parent;
        }
        if (cur && cur->state == 1) cur->parent = NULL;
        while (len > 0)
            path[--len]->state = 2;
    }
}

typedef struct {
    lt_buf *out;
    const client_style *st;
    uint64_t t0, total;
    bool events;
    bool *last; /* last[d]: the ancestor at depth d was the last of its siblings */
} wf_ctx;

/* Writes the bar of [start, end) on the trace's time range in st->bar_width cells: a
 * cell is filled when the span covers any of it, and every span gets at least one. */
static void put_bar(wf_ctx *c, uint64_t start, uint64_t end, const char *color)
{
    int w = c->st->bar_width;
    uint64_t a = start > c->t0 ? start - c->t0 : 0, b = end > c->t0 ? end - c->t0 : 0;
    if (a > c->total) a = c->total;
    if (b > c->total) b = c->total;
    if (b < a) b = a;
    int from = (int)((double)a / (double)c->total * w);
    int to = (int)((double)b / (double)c->total * w + 0.999999);
    if (from >= w) from = w - 1;
    if (to <= from) to = from + 1;
    for (int i = 0; i < from; i++)
        buf_putc(c->out, ' ');
    buf_append_c(c->out, color);
    for (int i = from; i < to; i++)
        buf_append_c(c->out, c->st->utf8 ? "\xe2\x96\x88" : "#");
    buf_append_c(c->out, client_sgr(c->st, "\033[0m"));
    for (int i = to; i < w; i++)
        buf_putc(c->out, ' ');
}

/* The tree guides of a span at depth d ("│  ├─ "), into guide. */
static void put_guides(wf_ctx *c, lt_buf *guide, size_t depth, bool is_last)
{
    bool u = c->st->utf8;
    size_t shown = depth > MAX_GUIDES ? MAX_GUIDES : depth;
    for (size_t d = 1; d < shown; d++)
        buf_append_c(guide, c->last[d] ? "   " : u ? "\xe2\x94\x82  " : "|  ");
    if (depth > MAX_GUIDES) buf_printf(guide, "+%zu ", depth - MAX_GUIDES);
    if (depth > 0)
        buf_append_c(guide, is_last ? (u ? "\xe2\x94\x94\xe2\x94\x80 " : "`- ")
                                    : (u ? "\xe2\x94\x9c\xe2\x94\x80 " : "|- "));
}

/* One event or log record under its span: the tree's vertical guides continue on the
 * left (indent), then the time since the trace started, the kind and the name. */
static void put_detail(wf_ctx *c, const char *indent, uint64_t t, const char *what,
                       const char *name)
{
    char off[32];
    client_duration(off, sizeof off, t > c->t0 ? t - c->t0 : 0, c->st->utf8);
    buf_printf(c->out, "%s%s%s +%s %s ", client_sgr(c->st, "\033[2m"), indent,
               c->st->utf8 ? "\xc2\xb7" : "-", off, what);
    client_fit(c->out, name, 60, false, c->st->utf8);
    while (c->out->len && c->out->data[c->out->len - 1] == ' ')
        c->out->data[--c->out->len] = 0;
    buf_printf(c->out, "%s\n", client_sgr(c->st, "\033[0m"));
}

/* Columns of text that our own guides take (they are safe text: only columns count). */
static size_t text_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* One line under a span: the guides (dim), a label (dim), then text fitted to what is
 * left of the terminal's width. */
static void put_text_line(wf_ctx *c, const char *indent, const char *label, const char *text,
                          const char *color)
{
    const client_style *st = c->st;
    size_t cols = st->columns > 0 ? (size_t)st->columns : CLIENT_COLUMNS;
    size_t used = text_cols(indent) + text_cols(label);
    size_t room = cols > used + MIN_DETAIL ? cols - used : MIN_DETAIL;
    buf_printf(c->out, "%s%s%s%s%s", client_sgr(st, "\033[2m"), indent, label,
               client_sgr(st, "\033[0m"), client_sgr(st, color));
    client_fit(c->out, text, room, false, st->utf8);
    while (c->out->len && c->out->data[c->out->len - 1] == ' ')
        c->out->data[--c->out->len] = 0;
    buf_printf(c->out, "%s\n", client_sgr(st, "\033[0m"));
}

static const json_t *ga_get(const json_t *g, genai_field f)
{
    return json_object_get(g, model_genai_fields[f].key);
}

static const char *ga_str(const json_t *g, genai_field f)
{
    const char *v = json_string_value(ga_get(g, f));
    return v ? v : "";
}

/* Appends sep unless b is empty. */
static void put_sep(lt_buf *b, const char *sep)
{
    if (b->len) buf_append_c(b, sep);
}

/* Appends the first line of s, tabs as spaces, leading blanks skipped. */
static void first_line(lt_buf *b, const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strcspn(s, "\r\n");
    for (size_t i = 0; i < n; i++)
        buf_putc(b, s[i] == '\t' ? ' ' : s[i]);
}

/* Appends any JSON value on one line: a string as it is, anything else as compact JSON. */
static void put_json_value(lt_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        first_line(b, json_string_value(v));
        return;
    }
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text) first_line(b, text);
    free(text);
}

/* "role: first line of each part" of one message. */
static void message_summary(lt_buf *b, const json_t *m, const char *dot)
{
    buf_append_c(b, client_str(m, "role"));
    buf_append_c(b, ": ");
    size_t start = b->len;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(m, "parts"), i, p)
    {
        const char *type = client_str(p, "type");
        size_t before = b->len;
        if (b->len > start) buf_append_c(b, dot);
        size_t mark = b->len;
        if (strcmp(type, "tool_call") == 0) {
            buf_printf(b, "call %s(", client_str(p, "name"));
            put_json_value(b, json_object_get(p, "arguments"));
            buf_putc(b, ')');
        } else if (strcmp(type, "tool_call_response") == 0) {
            buf_append_c(b, "result ");
            put_json_value(b, json_object_get(p, "response"));
        } else if (strcmp(type, "media") == 0) {
            const char *what = client_str(p, "mime_type");
            if (!*what) what = client_str(p, "modality");
            buf_printf(b, "[%s]", *what ? what : "media");
        } else {
            if (strcmp(type, "reasoning") == 0) buf_append_c(b, "(reasoning) ");
            first_line(b, client_str(p, "content"));
        }
        if (b->len == mark && !b->oom) { /* nothing to show: no separator either */
            b->len = before;
            b->data[before] = 0;
        }
    }
}

/* The GenAI line of a span and, for a call with messages, its last input and first
 * output message. Nothing for a span without a view. */
static void put_genai(wf_ctx *c, const char *indent, const json_t *span)
{
    const json_t *g = json_object_get(span, "genai");
    if (!json_is_object(g)) return;
    const client_style *st = c->st;
    const char *dot = st->utf8 ? " \xc2\xb7 " : " - ";
    lt_buf line = {0};
    char num[48], num2[48];

    const char *op = ga_str(g, GA_OPERATION);
    const char *what = ga_str(g, GA_RESPONSE_MODEL);
    if (!*what) what = ga_str(g, GA_REQUEST_MODEL);
    if (!*what) what = ga_str(g, GA_TOOL_NAME);
    if (!*what) what = ga_str(g, GA_AGENT_NAME);
    if (!*what) what = ga_str(g, GA_DATA_SOURCE_ID);
    buf_append_c(&line, op);
    if (*what) {
        if (*op) buf_putc(&line, ' ');
        buf_append_c(&line, what);
    }
    /* the operation and its object alone often repeat the span's name */
    size_t head = line.len;
    bool named = head && !line.oom && strcmp(line.data, client_str(span, "name")) == 0;
    const json_t *in = ga_get(g, GA_INPUT_TOKENS), *outt = ga_get(g, GA_OUTPUT_TOKENS);
    if (json_is_integer(in) || json_is_integer(outt)) {
        client_count(num, sizeof num, client_u64(g, model_genai_fields[GA_INPUT_TOKENS].key));
        client_count(num2, sizeof num2, client_u64(g, model_genai_fields[GA_OUTPUT_TOKENS].key));
        put_sep(&line, dot);
        if (json_is_integer(outt))
            buf_printf(&line, "%s%s%s tokens", num, st->utf8 ? "\xe2\x86\x92" : "->", num2);
        else /* embeddings: no output tokens */
            buf_printf(&line, "%s input tokens", num);
        static const struct {
            genai_field f;
            const char *label;
        } extra[] = {
            {GA_CACHE_READ, "cached"},
            {GA_CACHE_CREATION, "cache write"},
            {GA_REASONING, "reasoning"},
        };
        bool open = false;
        for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
            uint64_t v = client_u64(g, model_genai_fields[extra[k].f].key);
            if (!v) continue;
            client_count(num, sizeof num, v);
            buf_printf(&line, "%s%s %s", open ? ", " : " (", num, extra[k].label);
            open = true;
        }
        if (open) buf_putc(&line, ')');
    }
    size_t docs = json_array_size(json_object_get(span, "documents"));
    if (docs) {
        put_sep(&line, dot);
        buf_printf(&line, "%zu document%s", docs, docs == 1 ? "" : "s");
    }
    double ttft = client_num(g, model_genai_fields[GA_TTFT].key, -1);
    if (ttft >= 0) {
        client_duration(num, sizeof num, (uint64_t)(ttft * 1e9 + 0.5), st->utf8);
        put_sep(&line, dot);
        buf_printf(&line, "first chunk %s", num);
    }
    double cost = client_num(g, model_genai_fields[GA_COST].key, -1);
    if (cost >= 0) {
        client_money(num, sizeof num, cost);
        put_sep(&line, dot);
        buf_append_c(&line, num);
    } else if (strcmp(ga_str(g, GA_COST_SOURCE), "unknown_model") == 0) {
        put_sep(&line, dot);
        buf_append_c(&line, "cost unknown");
    }
    const json_t *reasons = ga_get(g, GA_FINISH_REASONS);
    if (json_array_size(reasons)) {
        put_sep(&line, dot);
        size_t i;
        const json_t *r;
        json_array_foreach(reasons, i, r)
        {
            if (i) buf_putc(&line, ',');
            buf_append_c(&line, json_is_string(r) ? json_string_value(r) : "?");
        }
    }
    bool measured = line.len > head;
    const char *err = ga_str(g, GA_ERROR_TYPE);
    if (*err) {
        put_sep(&line, dot);
        buf_printf(&line, "error %s", err);
    }
    /* no line for a repeat of the span's name, nor for a view with neither operation,
     * object nor measures (only user.id or error.type, as on an HTTP span) */
    if (!line.oom && (measured || (head && (line.len > head || !named))))
        put_text_line(c, indent, "", line.data, *err ? "\033[31m" : "\033[33m");

    const json_t *msgs = json_object_get(span, "messages");
    const json_t *input = json_object_get(msgs, "input"), *output = json_object_get(msgs, "output");
    static const struct {
        const char *label;
        bool last;
    } which[] = {{"in  ", true}, {"out ", false}};
    for (size_t k = 0; k < 2; k++) {
        const json_t *list = k == 0 ? input : output;
        size_t n = json_array_size(list);
        if (!n) continue;
        buf_reset(&line);
        message_summary(&line, json_array_get(list, which[k].last ? n - 1 : 0), dot);
        if (!line.oom) put_text_line(c, indent, which[k].label, line.data ? line.data : "", "");
    }
    buf_free(&line);
}

static void put_span(wf_ctx *c, const wf_span *s, size_t depth, bool is_last)
{
    const client_style *st = c->st;
    lt_buf *out = c->out;
    lt_buf guide = {0};
    put_guides(c, &guide, depth, is_last);
    size_t guide_cols = 0; /* our guides are safe text: only their columns are counted */
    for (size_t i = 0; i < guide.len; i++)
        if (((unsigned char)guide.data[i] & 0xC0) != 0x80) guide_cols++;
    buf_printf(out, "%s%s%s", client_sgr(st, "\033[2m"),
               guide.oom    ? ""
               : guide.data ? guide.data
                            : "",
               client_sgr(st, "\033[0m"));
    buf_free(&guide);
    size_t name_cols = guide_cols + 8 < COL_NAME ? COL_NAME - guide_cols : 8;
    client_fit(out, client_str(s->json, "name"), name_cols, false, st->utf8);

    const json_t *status = json_object_get(s->json, "status");
    bool error = strcmp(client_str(status, "code"), "ERROR") == 0;
    char dur[32];
    client_duration(dur, sizeof dur, s->end > s->start ? s->end - s->start : 0, st->utf8);
    buf_append_c(out, "  ");
    client_fit(out, client_str(s->json, "service"), COL_SVC, false, st->utf8);
    buf_append_c(out, "  ");
    client_fit(out, dur, COL_DUR, true, st->utf8);
    buf_append_c(out, "  ");
    put_bar(c, s->start, s->end, client_sgr(st, error ? "\033[31m" : "\033[36m"));
    if (error) {
        buf_printf(out, "  %sERROR%s", client_sgr(st, "\033[1;31m"), client_sgr(st, "\033[0m"));
        const char *msg = client_str(status, "message");
        if (*msg) {
            buf_append_c(out, " ");
            client_fit(out, msg, COL_STATUS_MSG, false, st->utf8);
        }
    }
    while (out->len && out->data[out->len - 1] == ' ')
        out->data[--out->len] = 0;
    buf_putc(out, '\n');

    /* the guides of the span's children: those of its ancestors, its own, its children's */
    lt_buf cont = {0};
    bool u = st->utf8;
    size_t shown = depth > MAX_GUIDES ? MAX_GUIDES : depth;
    for (size_t d = 1; d <= shown; d++)
        buf_append_c(&cont, c->last[d] ? "   " : u ? "\xe2\x94\x82  " : "|  ");
    buf_append_c(&cont, s->first_child ? (u ? "\xe2\x94\x82  " : "|  ") : "   ");
    const char *indent = cont.oom || !cont.data ? "" : cont.data;
    put_genai(c, indent, s->json);
    if (c->events) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(s->json, "events"), i, e)
            put_detail(c, indent, client_u64(e, "time_unix_nano"), "event", client_str(e, "name"));
        json_array_foreach(json_object_get(s->json, "logs"), i, e)
        {
            const char *name = client_str(e, "event_name");
            uint64_t t = client_u64(e, "time_unix_nano");
            put_detail(c, indent, t ? t : client_u64(e, "observed_time_unix_nano"), "log",
                       *name ? name : client_str(e, "severity_text"));
        }
    }
    buf_free(&cont);
}

/* Draws the subtree of root (depth 0) without recursion: the path to the current span is
 * implicit in parent pointers, and last[] remembers which ancestors were last children. */
static void put_tree(wf_ctx *c, const wf_span *root)
{
    put_span(c, root, 0, true);
    const wf_span *cur = root->first_child;
    size_t depth = 1;
    while (cur) {
        c->last[depth] = cur->next == NULL;
        put_span(c, cur, depth, cur->next == NULL);
        if (cur->first_child) {
            cur = cur->first_child;
            depth++;
            continue;
        }
        while (!cur->next && depth > 1) {
            cur = cur->parent;
            depth--;
        }
        cur = cur->next;
    }
}

int show_render(lt_buf *out, const json_t *doc, const client_style *st, bool events)
{
    const json_t *arr = json_object_get(doc, "spans");
    if (!json_is_array(arr)) return LT_EINVAL;
    size_t n = json_array_size(arr);
    int rc = LT_ENOMEM;
    wf_span *spans = lt_calloc(n ? n : 1, sizeof *spans);
    wf_span **by_id = lt_calloc(n ? n : 1, sizeof *by_id);
    wf_span **order = lt_calloc(n ? n : 1, sizeof *order);
    bool *last = lt_calloc(n + 2, sizeof *last);
    if (!spans || !by_id || !order || !last) goto out;

    uint64_t t0 = UINT64_MAX, t1 = 0;
    size_t errors = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(arr, i);
        if (!json_is_object(j)) {
            rc = LT_EINVAL;
            goto out;
        }
        wf_span *s = &spans[i];
        s->json = j;
        s->seq = i;
        s->id = client_str(j, "span_id");
        s->parent_id = json_string_value(json_object_get(j, "parent_span_id"));
        s->start = client_u64(j, "start_unix_nano");
        s->end = client_u64(j, "end_unix_nano");
        if (s->end < s->start) s->end = s->start;
        if (s->start < t0) t0 = s->start;
        if (s->end > t1) t1 = s->end;
        if (strcmp(client_str(json_object_get(j, "status"), "code"), "ERROR") == 0) errors++;
        by_id[i] = order[i] = s;
    }
    if (n == 0) t0 = 0;
    if (n > 1) qsort(by_id, n, sizeof *by_id, cmp_wf_id);
    for (size_t i = 0; i < n; i++) {
        wf_span *p = spans[i].parent_id ? find_wf(by_id, n, spans[i].parent_id) : NULL;
        spans[i].parent = p == &spans[i] ? NULL : p;
    }
    cut_cycles(spans, n, by_id); /* by_id is no longer needed: reused as the walk stack */
    if (n > 1) qsort(order, n, sizeof *order, cmp_wf_start);
    for (size_t i = 0; i < n; i++) {
        wf_span *s = order[i], *p = s->parent;
        if (!p) continue;
        if (p->last_child)
            p->last_child->next = s;
        else
            p->first_child = s;
        p->last_child = s;
    }

    const char *bold = client_sgr(st, "\033[1m"), *off = client_sgr(st, "\033[0m");
    const char *dot = st->utf8 ? " \xc2\xb7 " : " - ";
    char total[32], when[40];
    client_duration(total, sizeof total, t1 - t0, st->utf8);
    client_time(when, sizeof when, t0);
    buf_printf(out, "%sTrace %s%s\n", bold, client_str(doc, "trace_id"), off);
    const wf_span *root = NULL; /* the earliest span without parent */
    for (size_t i = 0; i < n && !root; i++)
        if (!order[i]->parent) root = order[i];
    if (root) {
        client_fit(out, client_str(root->json, "name"), 60, false, st->utf8);
        while (out->len && out->data[out->len - 1] == ' ')
            out->data[--out->len] = 0;
        buf_append_c(out, dot);
    }
    buf_printf(out, "%zu span%s%s", n, n == 1 ? "" : "s", dot);
    if (errors)
        buf_printf(out, "%s%zu error%s%s%s", client_sgr(st, "\033[1;31m"), errors,
                   errors == 1 ? "" : "s", off, dot);
    buf_printf(out, "%s%s", total, dot);
    const json_t *totals = json_object_get(doc, "totals");
    uint64_t calls = client_u64(totals, "llm_calls");
    if (calls) {
        char in[32], outt[32], cost[32];
        client_count(in, sizeof in, client_u64(totals, "input_tokens"));
        client_count(outt, sizeof outt, client_u64(totals, "output_tokens"));
        client_money(cost, sizeof cost, client_num(totals, "cost", 0));
        buf_printf(out, "%llu LLM call%s%s%s%s%s tokens%s%s", (unsigned long long)calls,
                   calls == 1 ? "" : "s", dot, in, st->utf8 ? "\xe2\x86\x92" : "->", outt, dot,
                   cost);
        uint64_t unpriced = client_u64(totals, "unpriced_calls");
        if (unpriced) buf_printf(out, " (%llu unpriced)", (unsigned long long)unpriced);
        buf_append_c(out, dot);
    }
    buf_printf(out, "started %s\n\n", when);

    if (n) {
        buf_printf(out, "%s", bold);
        client_fit(out, "SPAN", COL_NAME, false, st->utf8);
        buf_append_c(out, "  ");
        client_fit(out, "SERVICE", COL_SVC, false, st->utf8);
        buf_append_c(out, "  ");
        client_fit(out, "DURATION", COL_DUR, true, st->utf8);
        buf_append_c(out, "  ");
        lt_buf axis = {0};
        buf_append_c(&axis, "0");
        size_t tl = strlen(total) - (st->utf8 && strstr(total, "\xc2\xb5") ? 1 : 0);
        for (size_t i = 1 + tl; i < (size_t)st->bar_width; i++)
            buf_putc(&axis, ' ');
        buf_append_c(&axis, total);
        buf_append(out, axis.data, axis.len);
        buf_free(&axis);
        buf_printf(out, "%s\n", off);
    }
    wf_ctx c = {.out = out,
                .st = st,
                .t0 = t0,
                .total = t1 > t0 ? t1 - t0 : 1,
                .events = events,
                .last = last};
    for (size_t i = 0; i < n; i++)
        if (!order[i]->parent) put_tree(&c, order[i]);

    const json_t *logs = json_object_get(doc, "logs");
    if (json_array_size(logs)) {
        buf_printf(out, "\n%zu log record%s of this trace belong%s to no span received",
                   json_array_size(logs), json_array_size(logs) == 1 ? "" : "s",
                   json_array_size(logs) == 1 ? "s" : "");
        buf_append_c(out, events ? ":\n" : " (--events lists them)\n");
        size_t i;
        const json_t *e;
        if (events) json_array_foreach(logs, i, e)
            {
                const char *name = client_str(e, "event_name");
                uint64_t t = client_u64(e, "time_unix_nano");
                put_detail(&c, "  ", t ? t : client_u64(e, "observed_time_unix_nano"), "log",
                           *name ? name : client_str(e, "severity_text"));
            }
    }
    rc = out->oom ? LT_ENOMEM : 0;
out:
    lt_free(spans);
    lt_free(by_id);
    lt_free(order);
    lt_free(last);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    const char *server = "http://127.0.0.1:16686", *data = NULL;
    bool json = false, otlp = false, events = false;
    uint64_t width = 40;
    const opt_def defs[] = {
        {"server", "URL", OPT_STR, &server,
         "API of a running server (default http://127.0.0.1:16686)"},
        {"data", "DIR|URL", OPT_STR, &data,
         "read this store (directory or clickhouse://HOST:PORT/DB; also --store) instead of a "
         "server"},
        {"events", NULL, OPT_FLAG, &events, "list span events and log records under each span"},
        {"width", "N", OPT_UINT, &width, "columns of the time bars, 10 to 400 (default 40)"},
        {"json", NULL, OPT_FLAG, &json, "print the API's JSON answer instead of a waterfall"},
        {"otlp", NULL, OPT_FLAG, &otlp, "print the trace as OTLP/JSON (ExportTraceServiceRequest)"},
        {0},
    };
    const opt_spec spec = {"show", "TRACE_ID [options]",
                           "Show one trace as a waterfall: the span tree with a time bar per span.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "llmtrace show: expected one TRACE_ID (see --help)\n");
        return 2;
    }
    const char *id = argv[1];
    uint8_t raw[16];
    if (hex_decode(lt_str_c(id), raw, 16)) {
        lt_buf shown = {0};
        client_fit(&shown, id, 40, false, false);
        while (shown.len && shown.data[shown.len - 1] == ' ')
            shown.data[--shown.len] = 0;
        fprintf(stderr, "llmtrace show: '%s' is not a trace id (32 hex digits)\n",
                shown.oom ? "?" : shown.data);
        buf_free(&shown);
        return 2;
    }
    if (width < 10 || width > 400) {
        fprintf(stderr, "llmtrace show: --width: expected 10 to 400\n");
        return 2;
    }
    char hex[33], path[64];
    hex_encode(raw, 16, hex);
    snprintf(path, sizeof path, "/api/traces/%s", hex);
    client c = {0};
    lt_buf body = {0}, text = {0};
    json_t *doc = NULL;
    int status = 1;
    if (client_open(&c, "show", server, data)) goto out;
    long code = client_get(&c, path, otlp ? "format=otlp" : NULL, &body);
    if (code < 0) goto out;
    if (code == 404) {
        fprintf(stderr, "llmtrace show: trace %s not found\n", hex);
        goto out;
    }
    if (code != 200) {
        client_report(&c, code, &body);
        goto out;
    }
    if (json || otlp) {
        fwrite(body.data, 1, body.len, stdout);
        putchar('\n');
        status = fflush(stdout) == 0 ? 0 : 1;
        goto out;
    }
    if (!(doc = client_parse(&c, &body))) goto out;
    client_style st = client_style_detect();
    st.bar_width = (int)width;
    rc = show_render(&text, doc, &st, events);
    if (rc) {
        fprintf(stderr, "llmtrace show: %s\n",
                rc == LT_ENOMEM ? "out of memory" : "unexpected answer shape");
        goto out;
    }
    fwrite(text.data, 1, text.len, stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    json_decref(doc);
    buf_free(&body);
    buf_free(&text);
    client_close(&c);
    return status;
}
