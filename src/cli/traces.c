/* traces.c — `llmtrace traces`: recent traces as a table.
 *
 * Flags become the query of GET /api/traces (values are checked by the API, so the CLI
 * and the HTTP API reject the same input with the same message); the answer is rendered
 * by traces_render(), which tests call without a terminal. TOKENS is the trace's input plus
 * output tokens over its LLM calls, COST the sum of the costs known; both are "-" for a
 * trace without LLM calls. */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/opts.h"
#include "core/err.h"

enum { COL_ROOT = 36, COL_SERVICE = 18, COL_DURATION = 8, COL_TOKENS = 10, COL_COST = 10 };

int traces_render(lt_buf *out, const json_t *doc, const client_style *st)
{
    const json_t *list = json_object_get(doc, "traces");
    if (!json_is_array(list)) return LT_EINVAL;
    const char *bold = client_sgr(st, "\033[1m"), *red = client_sgr(st, "\033[1;31m"),
               *dim = client_sgr(st, "\033[2m"), *off = client_sgr(st, "\033[0m");
    buf_printf(out, "%s%-23s  %-*s  %-*s  %*s  %5s  %6s  %*s  %*s  %s%s\n", bold, "START", COL_ROOT,
               "ROOT", COL_SERVICE, "SERVICE", COL_DURATION, "DURATION", "SPANS", "ERRORS",
               COL_TOKENS, "TOKENS", COL_COST, "COST", "TRACE ID", off);
    size_t i;
    const json_t *t;
    json_array_foreach(list, i, t)
    {
        if (!json_is_object(t)) return LT_EINVAL;
        char when[40], dur[32];
        client_time(when, sizeof when, client_u64(t, "start_unix_nano"));
        client_duration(dur, sizeof dur, client_u64(t, "duration_ns"), st->utf8);
        buf_printf(out, "%-23s  ", when);
        const char *root = client_str(t, "root_name");
        if (*root) {
            client_fit(out, root, COL_ROOT, false, st->utf8);
        } else {
            buf_append_c(out, dim);
            client_fit(out, "(root not received)", COL_ROOT, false, st->utf8);
            buf_append_c(out, off);
        }
        buf_append_c(out, "  ");
        const char *service = client_str(t, "root_service");
        if (!*service) {
            const json_t *services = json_object_get(t, "services");
            service = json_string_value(json_array_get(services, 0));
        }
        client_fit(out, service ? service : "", COL_SERVICE, false, st->utf8);
        buf_append_c(out, "  ");
        client_fit(out, dur, COL_DURATION, true, st->utf8);
        json_int_t spans = json_integer_value(json_object_get(t, "span_count"));
        json_int_t errors = json_integer_value(json_object_get(t, "error_count"));
        buf_printf(out, "  %5lld  %s%6lld%s  ", (long long)spans, errors ? red : "",
                   (long long)errors, errors ? off : "");
        char tokens[32] = "-", cost[32] = "-";
        if (client_u64(t, "llm_calls")) {
            client_count(tokens, sizeof tokens,
                         client_u64(t, "input_tokens") + client_u64(t, "output_tokens"));
            client_money(cost, sizeof cost, client_num(t, "cost", 0));
        }
        buf_printf(out, "%*s  %*s  %s\n", COL_TOKENS, tokens, COL_COST, cost,
                   client_str(t, "trace_id"));
    }
    return out->oom ? LT_ENOMEM : 0;
}

int cmd_traces(int argc, char **argv)
{
    const char *server = "http://127.0.0.1:16686", *data = NULL, *service = NULL, *name = NULL,
               *min_dur = NULL, *max_dur = NULL, *attr = NULL, *cursor = NULL;
    uint64_t limit = 20, since = 0;
    bool errors = false, json = false;
    const opt_def defs[] = {
        {"server", "URL", OPT_STR, &server,
         "API of a running server (default http://127.0.0.1:16686)"},
        {"data", "DIR|URL", OPT_STR, &data,
         "read this store (directory or clickhouse://HOST:PORT/DB; also --store) instead of a "
         "server"},
        {"service", "NAME", OPT_STR, &service, "only traces in which this service took part"},
        {"name", "NAME", OPT_STR, &name, "only traces whose root span has this name"},
        {"errors", NULL, OPT_FLAG, &errors, "only traces with a span in status ERROR"},
        {"min-duration", "DURATION", OPT_STR, &min_dur,
         "only traces at least this long, e.g. 250ms or 2s"},
        {"max-duration", "DURATION", OPT_STR, &max_dur, "only traces at most this long"},
        {"since", "DURATION", OPT_DURATION, &since,
         "only traces started in the last DURATION, e.g. 15m or 2h"},
        {"attr", "KEY=VALUE", OPT_STR, &attr,
         "only traces with a span (or resource) attribute KEY equal to VALUE"},
        {"limit", "N", OPT_UINT, &limit, "how many traces, 1 to 1000 (default 20)"},
        {"cursor", "CURSOR", OPT_STR, &cursor,
         "the page after this cursor (printed when more exist)"},
        {"json", NULL, OPT_FLAG, &json, "print the API's JSON answer instead of a table"},
        {0},
    };
    const opt_spec spec = {"traces", "[options]", "List recent traces, newest first.", defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace traces: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (limit == 0 || limit > 1000) {
        fprintf(stderr, "llmtrace traces: --limit: expected 1 to 1000\n");
        return 2;
    }
    client c = {0};
    lt_buf query = {0}, body = {0}, text = {0};
    json_t *doc = NULL;
    int status = 1;
    if (client_open(&c, "traces", server, data)) goto out;
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)limit);
    client_param(&query, "limit", num);
    if (service) client_param(&query, "service", service);
    if (name) client_param(&query, "name", name);
    if (errors) client_param(&query, "status", "error");
    if (min_dur) client_param(&query, "min_duration", min_dur);
    if (max_dur) client_param(&query, "max_duration", max_dur);
    if (attr) client_param(&query, "attr", attr);
    if (cursor) client_param(&query, "cursor", cursor);
    if (since) client_param_since(&query, since);
    if (query.oom) goto oom;
    long code = client_get(&c, "/api/traces", query.data, &body);
    if (code < 0) goto out;
    if (code != 200) {
        client_report(&c, code, &body);
        goto out;
    }
    if (json) {
        fwrite(body.data, 1, body.len, stdout);
        putchar('\n');
        status = 0;
        goto out;
    }
    if (!(doc = client_parse(&c, &body))) goto out;
    const char *next = json_string_value(json_object_get(doc, "next_cursor"));
    if (json_array_size(json_object_get(doc, "traces")) == 0) {
        /* a filter may stop early to bound its work: the cursor goes on from there */
        if (next)
            fprintf(stderr, "llmtrace traces: none found yet; go on with --cursor %s\n", next);
        else
            fprintf(stderr, "llmtrace traces: no traces found\n");
        status = 0;
        goto out;
    }
    client_style st = client_style_detect();
    rc = traces_render(&text, doc, &st);
    if (rc == LT_ENOMEM) goto oom;
    if (rc) {
        fprintf(stderr, "llmtrace traces: unexpected answer shape\n");
        goto out;
    }
    fwrite(text.data, 1, text.len, stdout);
    if (next && isatty(STDERR_FILENO))
        fprintf(stderr, "more: llmtrace traces --cursor %s (with the same filters)\n", next);
    status = fflush(stdout) == 0 ? 0 : 1;
    goto out;
oom:
    fprintf(stderr, "llmtrace traces: out of memory\n");
out:
    json_decref(doc);
    buf_free(&query);
    buf_free(&body);
    buf_free(&text);
    client_close(&c);
    return status;
}
