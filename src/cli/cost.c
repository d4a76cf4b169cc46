/* cost.c — `llmtrace cost`: GenAI calls, tokens, cost and latency grouped by a dimension.
 *
 * Flags become the query of GET /api/genai/summary (group_by, start); the answer is drawn
 * as a table in the order the API gives (cost, then calls, descending) with a total row.
 * Quantiles cannot be added up, so the total row leaves the latency columns empty.
 * cost_render() writes into a buffer, so tests draw without a terminal. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/opts.h"
#include "core/err.h"

/* The dimensions of --by, as the API names them (api.c, group_by). */
static const char *const dimensions[] = {
    "model", "provider", "operation", "service", "span_name", "agent", "user", "conversation",
};

enum { CC_KEY = 30, CC_N = 6, CC_TOK = 11, CC_COST = 12, CC_LAT = 8 };

/* The columns after the key, in order. */
static const struct {
    const char *title;
    const char *member; /* of a group of the answer */
    int width;
    enum { C_COUNT, C_COST, C_DURATION, C_SECONDS } kind; /* counts and costs get a total */
} columns[] = {
    {"CALLS", "calls", CC_N, C_COUNT},
    {"ERRORS", "errors", CC_N, C_COUNT},
    {"INPUT", "input_tokens", CC_TOK, C_COUNT},
    {"OUTPUT", "output_tokens", CC_TOK, C_COUNT},
    {"CACHED", "cache_read_tokens", CC_TOK, C_COUNT},
    {"REASONING", "reasoning_tokens", CC_TOK, C_COUNT},
    {"COST", "cost", CC_COST, C_COST},
    {"P50", "duration_p50_ns", CC_LAT, C_DURATION},
    {"P95", "duration_p95_ns", CC_LAT, C_DURATION},
    {"TTFT P50", "ttft_p50_s", CC_LAT, C_SECONDS},
};
enum { N_COLUMNS = sizeof columns / sizeof columns[0] };

int cost_render(lt_buf *out, const json_t *doc, const client_style *st)
{
    const json_t *groups = json_object_get(doc, "groups");
    if (!json_is_array(groups)) return LT_EINVAL;
    const char *bold = client_sgr(st, "\033[1m"), *dim = client_sgr(st, "\033[2m"),
               *red = client_sgr(st, "\033[31m"), *off = client_sgr(st, "\033[0m");
    /* the key's title is the dimension's name: "span_name" -> "SPAN NAME" */
    char title[40];
    const char *by = client_str(doc, "group_by");
    size_t k = 0;
    for (; by[k] && k + 1 < sizeof title; k++)
        title[k] = by[k] == '_' ? ' ' : (char)toupper((unsigned char)by[k]);
    title[k] = 0;
    buf_append_c(out, bold);
    client_fit(out, k ? title : "KEY", CC_KEY, false, st->utf8);
    for (size_t c = 0; c < N_COLUMNS; c++)
        buf_printf(out, "  %*s", columns[c].width, columns[c].title);
    buf_printf(out, "%s\n", off);

    double sums[N_COLUMNS] = {0};
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (!json_is_object(g)) return LT_EINVAL;
        const char *key = client_str(g, "key");
        if (*key) {
            client_fit(out, key, CC_KEY, false, st->utf8);
        } else {
            buf_append_c(out, dim);
            client_fit(out, "(none)", CC_KEY, false, st->utf8);
            buf_append_c(out, off);
        }
        for (size_t c = 0; c < N_COLUMNS; c++) {
            char cell[48] = "-";
            const json_t *v = json_object_get(g, columns[c].member);
            switch (columns[c].kind) {
            case C_COUNT: {
                uint64_t n = client_u64(g, columns[c].member);
                sums[c] += (double)n;
                client_count(cell, sizeof cell, n);
                break;
            }
            case C_COST: {
                double d = client_num(g, columns[c].member, 0);
                sums[c] += d;
                client_money(cell, sizeof cell, d);
                break;
            }
            case C_DURATION:
                if (v)
                    client_duration(cell, sizeof cell, client_u64(g, columns[c].member), st->utf8);
                break;
            case C_SECONDS:
                if (json_is_number(v) && json_number_value(v) >= 0)
                    client_duration(cell, sizeof cell, (uint64_t)(json_number_value(v) * 1e9 + 0.5),
                                    st->utf8);
                break;
            }
            bool errors = strcmp(columns[c].member, "errors") == 0 && cell[0] != '0';
            buf_printf(out, "  %s", errors ? red : "");
            client_fit(out, cell, (size_t)columns[c].width, true, st->utf8);
            buf_append_c(out, errors ? off : "");
        }
        while (out->len && out->data[out->len - 1] == ' ')
            out->data[--out->len] = 0;
        buf_putc(out, '\n');
    }

    buf_append_c(out, bold);
    client_fit(out, "TOTAL", CC_KEY, false, st->utf8);
    for (size_t c = 0; c < N_COLUMNS; c++) {
        char cell[48] = "";
        if (columns[c].kind == C_COUNT)
            client_count(cell, sizeof cell, (uint64_t)sums[c]);
        else if (columns[c].kind == C_COST)
            client_money(cell, sizeof cell, sums[c]);
        buf_printf(out, "  %*s", columns[c].width, cell);
    }
    while (out->len && out->data[out->len - 1] == ' ')
        out->data[--out->len] = 0;
    buf_printf(out, "%s\n", off);
    return out->oom ? LT_ENOMEM : 0;
}

int cmd_cost(int argc, char **argv)
{
    const char *server = "http://127.0.0.1:16686", *data = NULL, *by = "model";
    uint64_t since = 24 * 3600 * 1000000000ull;
    bool json = false;
    const opt_def defs[] = {
        {"by", "DIMENSION", OPT_STR, &by,
         "group by model, provider, operation, service, span_name, agent, user or conversation "
         "(default model)"},
        {"since", "DURATION", OPT_DURATION, &since,
         "spans started in the last DURATION, e.g. 15m, 12h or 7d (default 24h)"},
        {"server", "URL", OPT_STR, &server,
         "API of a running server (default http://127.0.0.1:16686)"},
        {"data", "DIR|URL", OPT_STR, &data,
         "read this store (directory or clickhouse://HOST:PORT/DB; also --store) instead of a "
         "server"},
        {"json", NULL, OPT_FLAG, &json, "print the API's JSON answer instead of a table"},
        {0},
    };
    const opt_spec spec = {"cost", "[options]",
                           "GenAI calls, errors, tokens, cost and latency (p50/p95, time to first "
                           "chunk) per model, provider, ..., with a total.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace cost: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    size_t d = 0, n_dims = sizeof dimensions / sizeof dimensions[0];
    while (d < n_dims && strcmp(by, dimensions[d]) != 0)
        d++;
    if (d == n_dims) {
        lt_buf shown = {0};
        client_fit(&shown, by, 40, false, false);
        while (shown.len && shown.data[shown.len - 1] == ' ')
            shown.data[--shown.len] = 0;
        fprintf(stderr,
                "llmtrace cost: --by: expected model, provider, operation, service, span_name, "
                "agent, user or conversation, got '%s'\n",
                shown.oom ? "?" : shown.data);
        buf_free(&shown);
        return 2;
    }
    if (since == 0) {
        fprintf(stderr, "llmtrace cost: --since: expected a duration above zero\n");
        return 2;
    }
    client c = {0};
    lt_buf query = {0}, body = {0}, text = {0};
    json_t *doc = NULL;
    int status = 1;
    if (client_open(&c, "cost", server, data)) goto out;
    client_param(&query, "group_by", dimensions[d]);
    client_param_since(&query, since);
    if (query.oom) goto oom;
    long code = client_get(&c, "/api/genai/summary", query.data, &body);
    if (code < 0) goto out;
    if (code != 200) {
        client_report(&c, code, &body);
        goto out;
    }
    if (json) {
        fwrite(body.data, 1, body.len, stdout);
        putchar('\n');
        status = fflush(stdout) == 0 ? 0 : 1;
        goto out;
    }
    if (!(doc = client_parse(&c, &body))) goto out;
    if (json_array_size(json_object_get(doc, "groups")) == 0) {
        char dur[32];
        client_duration(dur, sizeof dur, since, false);
        fprintf(stderr, "llmtrace cost: no GenAI spans in the last %s\n", dur);
        status = 0;
        goto out;
    }
    client_style st = client_style_detect();
    rc = cost_render(&text, doc, &st);
    if (rc == LT_ENOMEM) goto oom;
    if (rc) {
        fprintf(stderr, "llmtrace cost: unexpected answer shape\n");
        goto out;
    }
    fwrite(text.data, 1, text.len, stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
    goto out;
oom:
    fprintf(stderr, "llmtrace cost: out of memory\n");
out:
    json_decref(doc);
    buf_free(&query);
    buf_free(&body);
    buf_free(&text);
    client_close(&c);
    return status;
}
