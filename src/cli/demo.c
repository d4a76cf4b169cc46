/* demo.c — `llmtrace demo`: synthetic GenAI traces for a first look.
 *
 * Builds traces shaped like what the instrumentation libraries send (a RAG pipeline, an
 * agent that calls a tool, plain chats on several providers, a rate-limited call that
 * fails), spread over the last hour, and sends them as OTLP/HTTP protobuf to a running
 * server — the same path real applications use — or, with --data, writes them straight
 * into a store. Deterministic for a given --seed. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/store.h"

enum { MAX_SPANS = 8, MAX_ATTRS = 16 };

typedef struct {
    lt_arena *a;
    uint64_t rng;
    lt_span spans[MAX_SPANS];
    lt_kv attrs[MAX_SPANS][MAX_ATTRS];
    uint32_t n;
} trace_builder;

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = *s;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

static lt_span *add_span(trace_builder *t, const lt_span *parent, const char *name, uint32_t kind,
                         uint64_t start, uint64_t dur)
{
    lt_span *s = &t->spans[t->n];
    memset(s, 0, sizeof *s);
    s->attrs.items = t->attrs[t->n];
    t->n++;
    if (parent) {
        memcpy(s->trace_id, parent->trace_id, 16);
        memcpy(s->parent_span_id, parent->span_id, 8);
        s->has_parent = true;
    } else {
        uint64_t a = next_rand(&t->rng), b = next_rand(&t->rng);
        memcpy(s->trace_id, &a, 8);
        memcpy(s->trace_id + 8, &b, 8);
    }
    uint64_t id = next_rand(&t->rng) | 1;
    memcpy(s->span_id, &id, 8);
    s->name = lt_str_c(name);
    s->kind = kind;
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = start + dur;
    s->flags = 0x101; /* sampled, parent is local */
    return s;
}

static void set_str(lt_span *s, const char *k, const char *v)
{
    s->attrs.items[s->attrs.n++] =
        (lt_kv){lt_str_c(k), {.type = LT_VAL_STRING, .u.s = lt_str_c(v)}};
}

static void set_int(lt_span *s, const char *k, int64_t v)
{
    s->attrs.items[s->attrs.n++] = (lt_kv){lt_str_c(k), {.type = LT_VAL_INT, .u.i = v}};
}

static void set_double(lt_span *s, const char *k, double v)
{
    s->attrs.items[s->attrs.n++] = (lt_kv){lt_str_c(k), {.type = LT_VAL_DOUBLE, .u.d = v}};
}

static void set_strs(trace_builder *t, lt_span *s, const char *k, const char *v)
{
    lt_value *item = arena_calloc(t->a, 1, sizeof *item);
    if (!item) return;
    *item = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(v)};
    s->attrs.items[s->attrs.n++] = (lt_kv){lt_str_c(k), {.type = LT_VAL_ARRAY, .u.arr = {item, 1}}};
}

static const char *models[][3] = {
    {"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
    {"openai", "gpt-4o", "gpt-4o-2024-08-06"},
    {"anthropic", "claude-3-5-sonnet", "claude-3-5-sonnet-20241022"},
};

static void chat(trace_builder *t, const lt_span *parent, int m, uint64_t start, uint64_t dur,
                 int64_t in, int64_t out, const char *question, const char *answer)
{
    char *name = arena_alloc(t->a, 64);
    if (!name) return;
    snprintf(name, 64, "chat %s", models[m][1]);
    lt_span *s = add_span(t, parent, name, LT_KIND_CLIENT, start, dur);
    set_str(s, "gen_ai.operation.name", "chat");
    set_str(s, "gen_ai.provider.name", models[m][0]);
    set_str(s, "gen_ai.request.model", models[m][1]);
    set_str(s, "gen_ai.response.model", models[m][2]);
    set_double(s, "gen_ai.request.temperature", 0.2);
    set_int(s, "gen_ai.request.max_tokens", 512);
    set_int(s, "gen_ai.usage.input_tokens", in);
    set_int(s, "gen_ai.usage.output_tokens", out);
    set_strs(t, s, "gen_ai.response.finish_reasons", "stop");
    char *msgs = arena_alloc(t->a, 512), *outm = arena_alloc(t->a, 512);
    if (!msgs || !outm) return;
    snprintf(msgs, 512,
             "[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"You are a "
             "helpful support assistant.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":"
             "\"text\",\"content\":\"%s\"}]}]",
             question);
    snprintf(outm, 512,
             "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"%s\"}],"
             "\"finish_reason\":\"stop\"}]",
             answer);
    set_str(s, "gen_ai.input.messages", msgs);
    set_str(s, "gen_ai.output.messages", outm);
}

static const char *questions[][2] = {
    {"How do I rotate my API key?",
     "Open Settings > API keys, create a new key, then revoke the old one."},
    {"Why is my dashboard empty?",
     "Check that your exporter points at port 4318 and that spans are sampled."},
    {"Which plan includes SSO?", "SSO is part of the Business plan."},
    {"Can I export traces to CSV?", "Yes: use the export button on the traces page."},
};

/* Builds trace number i (of kind i % 4) starting at start. */
static void build_trace(trace_builder *t, int i, uint64_t start)
{
    const uint64_t ms = 1000000;
    const char **q = questions[i % 4];
    int m = i % 3;
    switch (i % 4) {
    case 0: { /* RAG pipeline */
        lt_span *root = add_span(t, NULL, "rag.pipeline", LT_KIND_SERVER, start, 1900 * ms);
        set_str(root, "http.route", "/ask");
        lt_span *e = add_span(t, root, "embeddings text-embedding-3-small", LT_KIND_CLIENT,
                              start + 5 * ms, 120 * ms);
        set_str(e, "gen_ai.operation.name", "embeddings");
        set_str(e, "gen_ai.provider.name", "openai");
        set_str(e, "gen_ai.request.model", "text-embedding-3-small");
        set_int(e, "gen_ai.usage.input_tokens", 9);
        lt_span *r =
            add_span(t, root, "retrieval product-docs", LT_KIND_CLIENT, start + 130 * ms, 45 * ms);
        set_str(r, "gen_ai.operation.name", "retrieval");
        set_str(r, "gen_ai.data_source.id", "product-docs");
        set_str(r, "db.system.name", "chroma");
        set_int(r, "db.response.returned_rows", 5);
        chat(t, root, m, start + 180 * ms, 1650 * ms, 312, 41, q[0], q[1]);
        add_span(t, root, "format_answer", LT_KIND_INTERNAL, start + 1835 * ms, 60 * ms);
        break;
    }
    case 1: { /* agent with a tool call */
        lt_span *root =
            add_span(t, NULL, "invoke_agent planner", LT_KIND_INTERNAL, start, 3200 * ms);
        set_str(root, "gen_ai.operation.name", "invoke_agent");
        set_str(root, "gen_ai.agent.name", "planner");
        chat(t, root, 1, start + 10 * ms, 1400 * ms, 220, 64, q[0], "Calling search_docs.");
        lt_span *tool = add_span(t, root, "execute_tool search_docs", LT_KIND_INTERNAL,
                                 start + 1420 * ms, 300 * ms);
        set_str(tool, "gen_ai.operation.name", "execute_tool");
        set_str(tool, "gen_ai.tool.name", "search_docs");
        set_str(tool, "gen_ai.tool.call.id", "call_demo_0001");
        chat(t, root, 1, start + 1730 * ms, 1450 * ms, 480, 95, q[0], q[1]);
        break;
    }
    case 2: /* a plain chat */
        chat(t, NULL, m, start, (700 + 37 * (uint64_t)(i % 11)) * ms, 42 + i, 18 + i % 7, q[0],
             q[1]);
        break;
    default: { /* a failed call */
        lt_span *s = add_span(t, NULL, "chat gpt-4o", LT_KIND_CLIENT, start, 230 * ms);
        set_str(s, "gen_ai.operation.name", "chat");
        set_str(s, "gen_ai.provider.name", "openai");
        set_str(s, "gen_ai.request.model", "gpt-4o");
        set_str(s, "error.type", "rate_limit_exceeded");
        s->status_code = LT_STATUS_ERROR;
        s->status_message = LT_STR("429 Rate limit reached for gpt-4o");
    }
    }
}

static int send_otlp(CURL *c, const char *url, const lt_buf *body)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "llmtrace demo: cannot send to %s: %s\n", url, curl_easy_strerror(rc));
        return -1;
    }
    if (code != 200) {
        fprintf(stderr, "llmtrace demo: %s answered HTTP %ld\n", url, code);
        return -1;
    }
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    const char *otlp = "http://127.0.0.1:4318", *data = NULL;
    uint64_t n_traces = 40, seed = 1;
    const opt_def defs[] = {
        {"otlp", "URL", OPT_STR, &otlp,
         "OTLP/HTTP endpoint to send to (default http://127.0.0.1:4318)"},
        {"data", "DIR", OPT_STR, &data, "write into this store directly instead of sending"},
        {"traces", "N", OPT_UINT, &n_traces, "how many traces (default 40)"},
        {"seed", "N", OPT_UINT, &seed, "random seed (default 1)"},
        {0},
    };
    const opt_spec spec = {
        "demo", "[options]",
        "Generate demo GenAI traces (RAG, agent, chats, errors) from the last hour.", defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    lt_store *store = NULL;
    CURL *curl = NULL;
    char err[256] = "", url[512];
    int status = 1;
    lt_arena *a = arena_new();
    lt_buf body = {0};
    if (!a) goto out;
    if (data) {
        if (store_open(data, &store, err, sizeof err)) {
            fprintf(stderr, "llmtrace demo: cannot open %s: %s\n", data, err);
            goto out;
        }
    } else {
        size_t ol = strlen(otlp);
        while (ol && otlp[ol - 1] == '/')
            ol--;
        snprintf(url, sizeof url, "%.*s/v1/traces", (int)ol, otlp);
        if (!(curl = curl_easy_init())) goto out;
    }
    uint64_t now = time_now_ns(), hour = 3600000000000ull;
    for (uint64_t i = 0; i < n_traces; i++) {
        trace_builder t = {.a = a, .rng = seed * 0x9e3779b97f4a7c15ull + i};
        build_trace(&t, (int)i, now - hour + i * (hour / (n_traces + 1)));
        lt_kv res_attrs[] = {
            {LT_STR("service.name"),
             {.type = LT_VAL_STRING,
              .u.s = i % 4 == 1 ? LT_STR("agent-service") : LT_STR("support-bot")}},
            {LT_STR("deployment.environment.name"), {.type = LT_VAL_STRING, .u.s = LT_STR("demo")}},
        };
        lt_scope_spans ss = {.scope = {.name = LT_STR("llmtrace-demo"), .version = LT_STR("1")},
                             .spans = t.spans,
                             .n_spans = t.n};
        lt_resource_spans rs = {
            .resource = {.attrs = {res_attrs, 2}}, .scopes = &ss, .n_scopes = 1};
        lt_trace_batch b = {.rs = &rs, .n_rs = 1, .n_spans = t.n};
        if (store) {
            if ((rc = store_write_traces(store, &b))) {
                fprintf(stderr, "llmtrace demo: write failed: %s\n", lt_strerror(rc));
                goto out;
            }
        } else {
            buf_reset(&body);
            if (pb_encode_traces(&body, &b) || send_otlp(curl, url, &body)) goto out;
        }
        arena_reset(a);
        if (isatty(2))
            fprintf(stderr, "\rllmtrace demo: %llu/%llu traces", (unsigned long long)i + 1,
                    (unsigned long long)n_traces);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    printf("llmtrace demo: %llu traces written\n", (unsigned long long)n_traces);
    status = 0;
out:
    if (curl) curl_easy_cleanup(curl);
    store_close(store);
    buf_free(&body);
    arena_free(a);
    return status;
}
