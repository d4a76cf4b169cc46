/* demo.c — `llmtrace demo`: realistic GenAI traces, for a first look and for tests.
 *
 * Five kinds of trace, written as the OTel GenAI semantic conventions v1.41 describe them:
 * gen_ai.* attributes; messages, system instructions, documents and tool payloads as JSON
 * strings (what SDKs put on spans); cache tokens a subset of input tokens and reasoning
 * tokens a subset of output tokens (semconv form, also for Anthropic, whose API counts
 * cache tokens apart: see agent_tasks[]).
 *
 *   RAG         support-bot: POST /ask -> embeddings, retrieval of 5 scored documents,
 *               chat gpt-4o-mini with the documents as context
 *   agents      planner-service: invoke_agent planner -> chat o3-mini (reasoning tokens),
 *               execute_tool x2, POST (CLIENT) to coder-service; coder-service: the SERVER
 *               span of that request (same trace, parent = the client span, as traceparent
 *               carries it) -> invoke_agent coder -> chat claude-3-5-sonnet (Anthropic,
 *               cache read and cache creation tokens)
 *   streaming   chat-api: POST /v1/chat -> chat gpt-4o, streamed, time to first chunk
 *   rate limit  chat-api: the same call refused with 429 (error.type rate_limit_exceeded)
 *   context     summarizer: POST /summarize -> chat gpt-4o-mini refused with
 *               error.type context_length_exceeded
 *
 * Traces 0-4 are one of each kind, in that order, with the first entry of each content
 * table, so their token counts are known from the tables (the tests rely on them); later
 * traces draw kind and content at random, RAG and chats more often than errors. Traces
 * are spread over the last hour, oldest first. All but the wall clock follows from --seed.
 *
 * Traces go out in batches of BATCH_TRACES: as OTLP/HTTP protobuf to a running server
 * (the path applications use) or, with --data, through genai_annotate with the built-in
 * prices (the normalize stage the receiver runs) into a store. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "genai/genai.h"
#include "model/pb.h"
#include "store/store.h"

enum {
    BATCH_TRACES = 50,             /* traces per request or store write */
    MAX_SPANS = 16,                /* spans of one service in one trace */
    MAX_ATTRS = 32,                /* attributes of one span */
    MAX_GROUPS = BATCH_TRACES * 2, /* a trace has spans of at most two services */
    MAX_TRACES = 10000000,         /* --traces */
    MAX_SEND_ATTEMPTS = 10,        /* per request, while the server answers 429 or 503 */
    PROGRESS_MIN_TRACES = 500,     /* fewer finish too fast for a progress line */
};

#define MS 1000000ull /* nanoseconds */

/* ---- content: what the demo applications say ---- */

typedef enum { SVC_SUPPORT, SVC_PLANNER, SVC_CODER, SVC_CHAT, SVC_SUMMARIZER } service_id;

static const struct {
    const char *name, *version, *language;
} services[] = {
    [SVC_SUPPORT] = {"support-bot", "1.8.2", "python"},
    [SVC_PLANNER] = {"planner-service", "0.4.1", "python"},
    [SVC_CODER] = {"coder-service", "0.4.1", "python"},
    [SVC_CHAT] = {"chat-api", "3.2.0", "nodejs"},
    [SVC_SUMMARIZER] = {"summarizer", "2.0.3", "python"},
};

static const char *const users[] = {"u-1042", "u-2213", "u-0087", "u-3391", "u-5150", "u-7316"};

/* The knowledge base the RAG pipeline retrieves from. */
static const struct {
    const char *id, *text;
} kb[] = {
    {"kb-101", "API keys: create a key under Settings > API keys. A key is shown once; keep it "
               "in a secret manager."},
    {"kb-102", "Rotating a key: create the new key, deploy it, then revoke the old one. Both "
               "keys work until the old one is revoked, so there is no downtime."},
    {"kb-205", "Rate limits: Starter allows 60 requests per minute, Business 600. A request "
               "over the limit gets HTTP 429 with a Retry-After header."},
    {"kb-210", "Retries: the SDKs retry 429 and 503 answers up to 3 times with exponential "
               "back-off and honour Retry-After."},
    {"kb-318", "Exports: the Export page writes traces as CSV or Parquet. Exports over 1 GB are "
               "sent as a download link by e-mail."},
    {"kb-322", "Retention: traces are kept 30 days on Starter and 400 days on Business; deleted "
               "data cannot be restored."},
    {"kb-410", "Single sign-on: SAML and OIDC are included in the Business plan."},
    {"kb-415", "SCIM provisioning keeps users and groups in sync with Okta or Microsoft Entra ID "
               "(Business plan)."},
};

static const char rag_system[] =
    "You are the support assistant of Acme Cloud. Answer from the context only and cite the "
    "document ids in brackets. If the context does not answer the question, say so.";

/* Token counts are as the API reported them (OpenAI: cached tokens are part of input). */
static const struct {
    const char *question, *answer;
    int docs[5]; /* indexes into kb[], best match first */
    struct {
        int64_t embed, input, cached, output;
    } tokens;
} rag[] = {
    {"How do I rotate an API key without downtime?",
     "Create the new key under Settings > API keys, deploy it, then revoke the old one. Both "
     "keys work until you revoke the old one, so nothing goes down [kb-102].",
     {1, 0, 3, 2, 7},
     {11, 1850, 1024, 143}},
    {"What happens when we hit the rate limit?",
     "Requests over the limit get HTTP 429 with a Retry-After header; Starter allows 60 "
     "requests per minute and Business 600 [kb-205]. The SDKs retry up to 3 times on their "
     "own [kb-210].",
     {2, 3, 0, 5, 1},
     {9, 1712, 1024, 118}},
    {"Can I export my traces to CSV?",
     "Yes: the Export page writes CSV or Parquet; exports over 1 GB arrive as a download link "
     "by e-mail [kb-318].",
     {4, 5, 2, 0, 6},
     {9, 1544, 0, 96}},
    {"Which plan includes SSO?",
     "SAML and OIDC single sign-on are part of the Business plan [kb-410], as is SCIM "
     "provisioning [kb-415].",
     {6, 7, 5, 2, 0},
     {6, 1490, 1024, 64}},
    {"Combien de temps gardez-vous les traces ?",
     "Les traces sont conserv\xc3\xa9"
     "es 30 jours avec Starter et 400 jours avec Business [kb-322].",
     {5, 4, 2, 6, 1},
     {12, 1580, 1024, 71}},
};

/* Anthropic's API counts input_tokens without the cache; semconv's input includes it:
 * input = uncached + cache_read + cache_write. */
typedef struct {
    const char *task, *plan;
    const char *search_args, *search_result, *read_args, *read_result;
    const char *brief, *patch;
    struct {
        int64_t input, output, reasoning;
    } o3;
    struct {
        int64_t uncached, cache_read, cache_write, output;
    } claude;
} agent_task;

static const agent_task agent_tasks[] = {
    {"Fix the flaky test test_retry_backoff in tests/test_client.py.",
     "The test most likely times real sleeps. I will find it and the retry code, then hand "
     "the fix to the coder.",
     "{\"query\":\"def test_retry_backoff\",\"path\":\"tests/\"}",
     "{\"matches\":[{\"path\":\"tests/test_client.py\",\"line\":88}]}",
     "{\"path\":\"src/acme/retry.py\"}",
     "{\"path\":\"src/acme/retry.py\",\"lines\":142,\"excerpt\":\"def backoff(attempt):\\n    "
     "time.sleep(0.1 * 2 ** attempt)\"}",
     "Make src/acme/retry.py take an injectable clock and use a fake clock in "
     "tests/test_client.py::test_retry_backoff; keep the public API.",
     "Done: backoff() now takes clock=time.sleep (default unchanged) and the test passes a "
     "fake clock that records the delays; it asserts [0.1, 0.2, 0.4] instead of timing real "
     "sleeps. 2 files changed, 14 insertions, 6 deletions.",
     {2210, 1580, 1216},
     {412, 3072, 1024, 690}},
    {"Add a --timeout flag to the export command.",
     "I need the export command's definition and the client call it makes.",
     "{\"query\":\"def export_command\"}",
     "{\"matches\":[{\"path\":\"src/acme/cli/export.py\",\"line\":31}]}",
     "{\"path\":\"src/acme/cli/export.py\"}",
     "{\"path\":\"src/acme/cli/export.py\",\"lines\":97}",
     "Add --timeout SECONDS (default 300) to `acme export` in src/acme/cli/export.py, pass it "
     "to Client.export() and document it in the command's help.",
     "Added --timeout (seconds, default 300) to the export command, passed through to "
     "Client.export(timeout=...), with a help line and a test for the flag. 3 files changed, "
     "21 insertions, 2 deletions.",
     {1984, 1302, 1024},
     {388, 3072, 0, 544}},
    {"Why does `acme login` crash when HOME is unset?",
     "Probably a direct os.environ lookup. Let me find where the config directory is built.",
     "{\"query\":\"os.environ[\\\"HOME\\\"]\"}",
     "{\"matches\":[{\"path\":\"src/acme/config.py\",\"line\":12}]}",
     "{\"path\":\"src/acme/config.py\"}",
     "{\"path\":\"src/acme/config.py\",\"lines\":64}",
     "In src/acme/config.py use Path.home() with a fallback to the current directory instead "
     "of os.environ[\"HOME\"], and add a regression test with HOME unset.",
     "config_dir() now uses Path.home() and falls back to ./.acme when no home directory can "
     "be found; the new test runs login with HOME removed from the environment. 2 files "
     "changed, 18 insertions, 3 deletions.",
     {1876, 1114, 896},
     {356, 3072, 512, 602}},
};

static const char planner_system[] =
    "You are the planner. Break the task down, gather facts with the tools, and delegate code "
    "changes to the coder agent with a precise brief.";
static const char coder_system[] = "You are the coding agent. Make the smallest change that "
                                   "fixes the task, keep the public API, and add a test.";

/* Conversations of the chat application: history (user, assistant, user) and the answer. */
static const struct {
    const char *turns[3];
    const char *answer;
    struct {
        int64_t input, output;
    } tokens;
} chats[] = {
    {{"I'm planning three days in Lisbon in March.",
      "Lovely time to go: mild weather and fewer crowds. What would you like help with?",
      "What should I pack?"},
     "Layers: mornings are around 10\xc2\xb0"
     "C and afternoons near 18\xc2\xb0"
     "C, with a fair chance of rain. Bring a light waterproof jacket, a sweater, comfortable "
     "shoes for the hills and cobblestones, and a small umbrella.",
     {356, 412}},
    {{"Can you help me write a cover letter?",
      "Of course. What is the role, and what should it highlight?",
      "Backend engineer at a logistics company; highlight my Go and PostgreSQL experience."},
     "Dear hiring team,\n\nI build backend services that keep shipments moving: for five years "
     "I have designed Go services on PostgreSQL that track parcels in real time...",
     {298, 388}},
    {{"Explain what a p95 latency is.",
      "It is the value below which 95% of the measured latencies fall.",
      "Why not just use the average?"},
     "Because a few very slow requests hide in an average: a service answering 95% of requests "
     "in 50 ms and 5% in 4 s averages 250 ms, which describes no real request.",
     {214, 263}},
};

static const char summarize_system[] =
    "Summarize the call transcript in five bullet points: the problem, what was tried, the "
    "outcome, follow-ups, and the customer's mood.";
static const char *const transcripts[] = {
    "Transcript of call 4471 (2 h 14 min):\n[00:00:03] Agent: Thank you for calling Acme "
    "support, this is Dana.\n[00:00:07] Customer: Hi, our exports have been failing since "
    "Monday and nobody can tell me why.\n[00:00:15] Agent: I'm sorry to hear that. Can you "
    "read me the error from the export page?\n...",
    "Transcript of call 5210 (1 h 52 min):\n[00:00:02] Agent: Acme support, Priya "
    "speaking.\n[00:00:05] Customer: We were billed twice for March and I need it fixed "
    "today.\n...",
};

/* ---- building traces ---- */

typedef struct {
    lt_arena *a;
    lt_resource_spans rs[MAX_GROUPS];
    lt_scope_spans ss[MAX_GROUPS];
    uint32_t n_rs;
    uint64_t n_spans;
    bool oom; /* an allocation failed: the batch is incomplete and must not be sent */
} batch;

typedef struct {
    batch *b;
    uint64_t rng;
    uint8_t trace_id[16];
    lt_scope_spans *group; /* the service that new spans belong to */
    const char *user, *conversation;
} trace;

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = *s;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 32);
}

/* A uniform integer in [0, n). */
static uint64_t rand_below(trace *t, uint64_t n)
{
    return n ? next_rand(&t->rng) % n : 0;
}

/* base_ms plus up to spread_ms, in nanoseconds, with microsecond resolution. */
static uint64_t ms_jitter(trace *t, uint64_t base_ms, uint64_t spread_ms)
{
    return base_ms * MS + rand_below(t, spread_ms * 1000 + 1) * 1000;
}

/* printf into the batch's arena; NULL (and the batch marked) when it is full. */
static const char *fmt(trace *t, const char *f, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt(trace *t, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *p = n >= 0 ? arena_alloc(t->b->a, (size_t)n + 1) : NULL;
    if (!p) {
        t->b->oom = true;
        return NULL;
    }
    va_start(ap, f);
    vsnprintf(p, (size_t)n + 1, f, ap);
    va_end(ap);
    return p;
}

/* A JSON document as compact text in the arena; takes the reference to j. */
static const char *json_text(trace *t, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    const char *out = NULL;
    if (s) {
        lt_str copy = arena_strdup(t->b->a, lt_str_c(s));
        out = copy.ptr;
        free(s);
    }
    if (!out) t->b->oom = true;
    return out;
}

/* Starts the spans of another service (a resource of its own) in this trace. */
static void enter_service(trace *t, service_id id)
{
    batch *b = t->b;
    t->group = NULL;
    enum { N_RES = 6 };
    lt_kv *kv = b->n_rs < MAX_GROUPS ? arena_calloc(b->a, N_RES, sizeof *kv) : NULL;
    lt_span *spans = kv ? arena_calloc(b->a, MAX_SPANS, sizeof *spans) : NULL;
    if (!spans) {
        b->oom = true;
        return;
    }
#define RES_STR(k, v) ((lt_kv){LT_STR(k), {.type = LT_VAL_STRING, .u.s = lt_str_c(v)}})
    kv[0] = RES_STR("service.name", services[id].name);
    kv[1] = RES_STR("service.version", services[id].version);
    kv[2] = RES_STR("deployment.environment.name", "demo");
    kv[3] = RES_STR("telemetry.sdk.name", "opentelemetry");
    kv[4] = RES_STR("telemetry.sdk.language", services[id].language);
    kv[5] = RES_STR("telemetry.sdk.version", "1.38.0");
#undef RES_STR
    lt_scope_spans *ss = &b->ss[b->n_rs];
    *ss = (lt_scope_spans){.scope = {.name = LT_STR("llmtrace-demo"), .version = LT_STR("1")},
                           .spans = spans};
    b->rs[b->n_rs++] =
        (lt_resource_spans){.resource = {.attrs = {kv, N_RES}}, .scopes = ss, .n_scopes = 1};
    t->group = ss;
}

/* A new span of the current service; parent NULL for the root. remote: the parent is in
 * another process (the span was started from an incoming traceparent). NULL when the
 * batch is full; every setter below accepts NULL. */
static lt_span *span_new(trace *t, const lt_span *parent, bool remote, const char *name,
                         uint32_t kind, uint64_t start, uint64_t dur)
{
    lt_scope_spans *ss = t->group;
    lt_kv *kv =
        ss && ss->n_spans < MAX_SPANS && name ? arena_calloc(t->b->a, MAX_ATTRS, sizeof *kv) : NULL;
    if (!kv) {
        t->b->oom = true;
        return NULL;
    }
    lt_span *s = &ss->spans[ss->n_spans++];
    t->b->n_spans++;
    *s = (lt_span){.name = lt_str_c(name), .kind = kind};
    s->attrs.items = kv;
    memcpy(s->trace_id, t->trace_id, 16);
    if (parent) {
        memcpy(s->parent_span_id, parent->span_id, 8);
        s->has_parent = true;
    }
    uint64_t id = next_rand(&t->rng) | 1; /* never all zero */
    memcpy(s->span_id, &id, 8);
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = start + dur;
    /* W3C flags: sampled; bit 8 says whether the parent is remote, bit 9 that it is */
    s->flags = remote ? 0x301 : 0x101;
    return s;
}

static lt_kv *attr_slot(trace *t, lt_span *s, const char *key)
{
    if (!s || !key) return NULL;
    if (s->attrs.n == MAX_ATTRS) {
        t->b->oom = true;
        return NULL;
    }
    lt_kv *kv = &s->attrs.items[s->attrs.n++];
    kv->key = lt_str_c(key);
    return kv;
}

static void a_str(trace *t, lt_span *s, const char *k, const char *v)
{
    if (!v) {
        t->b->oom = true;
        return;
    }
    lt_kv *kv = attr_slot(t, s, k);
    if (kv) kv->value = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(v)};
}

static void a_int(trace *t, lt_span *s, const char *k, int64_t v)
{
    lt_kv *kv = attr_slot(t, s, k);
    if (kv) kv->value = (lt_value){.type = LT_VAL_INT, .u.i = v};
}

static void a_double(trace *t, lt_span *s, const char *k, double v)
{
    lt_kv *kv = attr_slot(t, s, k);
    if (kv) kv->value = (lt_value){.type = LT_VAL_DOUBLE, .u.d = v};
}

static void a_bool(trace *t, lt_span *s, const char *k, bool v)
{
    lt_kv *kv = attr_slot(t, s, k);
    if (kv) kv->value = (lt_value){.type = LT_VAL_BOOL, .u.b = v};
}

/* A string array of one element. */
static void a_strs1(trace *t, lt_span *s, const char *k, const char *v)
{
    lt_value *item = arena_calloc(t->b->a, 1, sizeof *item);
    lt_kv *kv = item ? attr_slot(t, s, k) : NULL;
    if (!item) t->b->oom = true;
    if (!kv) return;
    *item = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(v)};
    kv->value = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {item, 1}};
}

static void set_error(trace *t, lt_span *s, const char *message)
{
    if (!s) return;
    if (!message) t->b->oom = true;
    s->status_code = LT_STATUS_ERROR;
    s->status_message = lt_str_c(message);
}

/* An "exception" span event, as the SDKs record a raised error. */
static void add_exception(trace *t, lt_span *s, const char *type, const char *message)
{
    lt_event *e = s ? arena_calloc(t->b->a, 1, sizeof *e) : NULL;
    lt_kv *kv = e ? arena_calloc(t->b->a, 2, sizeof *kv) : NULL;
    if (!kv) {
        if (s) t->b->oom = true;
        return;
    }
    kv[0] = (lt_kv){LT_STR("exception.type"), {.type = LT_VAL_STRING, .u.s = lt_str_c(type)}};
    kv[1] = (lt_kv){LT_STR("exception.message"), {.type = LT_VAL_STRING, .u.s = lt_str_c(message)}};
    *e = (lt_event){.time_unix_nano = s->end_time_unix_nano - 1000,
                    .name = LT_STR("exception"),
                    .attrs = {kv, 2}};
    s->events.items = e;
    s->events.n = 1;
}

/* ---- messages (gen_ai.input.messages and friends, semconv JSON schema) ---- */

static json_t *part(const char *type, const char *content)
{
    return json_pack("{s:s, s:s}", "type", type, "content", content);
}

/* {"type":"tool_call","id":..,"name":..,"arguments":<args, a JSON text>} */
static json_t *tool_call_part(const char *id, const char *name, const char *args)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "type", "tool_call", "id", id, "name", name);
    json_object_set_new(p, "arguments", json_loads(args, 0, NULL));
    return p;
}

/* A message; takes the reference to parts (an array). finish NULL for input messages. */
static json_t *message(const char *role, json_t *parts, const char *finish)
{
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "parts", parts);
    if (finish) json_object_set_new(m, "finish_reason", json_string(finish));
    return m;
}

/* An array of the given elements; takes their references. */
static json_t *list(int n, ...)
{
    json_t *a = json_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        json_array_append_new(a, va_arg(ap, json_t *));
    va_end(ap);
    return a;
}

static const char *text_message_json(trace *t, const char *role, const char *text,
                                     const char *finish)
{
    return json_text(t, list(1, message(role, list(1, part("text", text)), finish)));
}

static const char *system_json(trace *t, const char *text)
{
    return json_text(t, list(1, part("text", text)));
}

/* ---- the spans of the conventions ---- */

typedef struct {
    const char *provider, *request_model, *response_model, *server;
    /* usage in semconv form; -1 = not reported */
    int64_t input, output, cache_read, cache_write, reasoning;
    const char *finish; /* the provider's finish reason; NULL = none */
} call;

/* An inference span ("chat MODEL", CLIENT) with its request, response and usage; a call
 * without response_model was refused (no response, no usage). */

static lt_span *chat_span(trace *t, const lt_span *parent, const call *c, uint64_t start,
                          uint64_t dur)
{
    lt_span *s =
        span_new(t, parent, false, fmt(t, "chat %s", c->request_model), LT_KIND_CLIENT, start, dur);
    a_str(t, s, "gen_ai.operation.name", "chat");
    a_str(t, s, "gen_ai.provider.name", c->provider);
    a_str(t, s, "gen_ai.request.model", c->request_model);
    a_str(t, s, "server.address", c->server);
    a_int(t, s, "server.port", 443);
    if (t->conversation) a_str(t, s, "gen_ai.conversation.id", t->conversation);
    if (t->user) a_str(t, s, "user.id", t->user);
    if (!c->response_model) return s; /* refused: no response */
    a_str(t, s, "gen_ai.response.model", c->response_model);
    bool anthropic = strcmp(c->provider, "anthropic") == 0;
    a_str(t, s, "gen_ai.response.id",
          anthropic ? fmt(t, "msg_01%016llx", (unsigned long long)next_rand(&t->rng))
                    : fmt(t, "chatcmpl-%016llx", (unsigned long long)next_rand(&t->rng)));
    a_int(t, s, "gen_ai.usage.input_tokens", c->input);
    a_int(t, s, "gen_ai.usage.output_tokens", c->output);
    if (c->cache_read >= 0) a_int(t, s, "gen_ai.usage.cache_read.input_tokens", c->cache_read);
    if (c->cache_write >= 0)
        a_int(t, s, "gen_ai.usage.cache_creation.input_tokens", c->cache_write);
    if (c->reasoning >= 0) a_int(t, s, "gen_ai.usage.reasoning.output_tokens", c->reasoning);
    if (c->finish) a_strs1(t, s, "gen_ai.response.finish_reasons", c->finish);
    return s;
}

static void http_server(trace *t, lt_span *s, const char *route, int status)
{
    a_str(t, s, "http.request.method", "POST");
    a_str(t, s, "http.route", route);
    a_str(t, s, "url.path", route);
    a_str(t, s, "url.scheme", "https");
    a_int(t, s, "http.response.status_code", status);
    if (t->user) a_str(t, s, "user.id", t->user);
}

/* ---- the five kinds of trace ---- */

enum { K_RAG, K_AGENTS, K_STREAM, K_RATE_LIMIT, K_CONTEXT, N_KINDS };

static void trace_rag(trace *t, uint64_t t0, size_t v)
{
    enter_service(t, SVC_SUPPORT);
    uint64_t emb = ms_jitter(t, 80, 120), ret = ms_jitter(t, 20, 40), gen = ms_jitter(t, 900, 1500);
    uint64_t at = t0 + ms_jitter(t, 2, 3);
    lt_span *root = span_new(t, NULL, false, "POST /ask", LT_KIND_SERVER, t0,
                             at - t0 + emb + ret + gen + 12 * MS);
    http_server(t, root, "/ask", 200);

    lt_span *e =
        span_new(t, root, false, "embeddings text-embedding-3-small", LT_KIND_CLIENT, at, emb);
    a_str(t, e, "gen_ai.operation.name", "embeddings");
    a_str(t, e, "gen_ai.provider.name", "openai");
    a_str(t, e, "gen_ai.request.model", "text-embedding-3-small");
    a_str(t, e, "gen_ai.response.model", "text-embedding-3-small");
    a_int(t, e, "gen_ai.usage.input_tokens", rag[v].tokens.embed);
    a_int(t, e, "gen_ai.embeddings.dimension.count", 1536);
    a_strs1(t, e, "gen_ai.request.encoding_formats", "float");
    a_str(t, e, "server.address", "api.openai.com");
    a_int(t, e, "server.port", 443);
    at += emb + MS;

    lt_span *r = span_new(t, root, false, "retrieval kb-articles", LT_KIND_CLIENT, at, ret);
    a_str(t, r, "gen_ai.operation.name", "retrieval");
    a_str(t, r, "gen_ai.data_source.id", "kb-articles");
    a_str(t, r, "gen_ai.retrieval.query.text", rag[v].question);
    a_double(t, r, "gen_ai.request.top_k", 5.0);
    json_t *docs = json_array();
    lt_buf context = {0};
    buf_printf(&context, "Question: %s\n\nContext:\n", rag[v].question);
    double score = 0.86 + (double)rand_below(t, 90) / 1000;
    for (int k = 0; k < 5; k++) {
        int d = rag[v].docs[k];
        json_t *doc = json_pack("{s:s, s:f, s:s}", "id", kb[d].id, "score",
                                (double)(int)(score * 1000) / 1000, "content", kb[d].text);
        json_array_append_new(docs, doc);
        buf_printf(&context, "[%s] %s\n", kb[d].id, kb[d].text);
        score -= 0.04 + (double)rand_below(t, 30) / 1000;
    }
    a_str(t, r, "gen_ai.retrieval.documents", json_text(t, docs));
    at += ret + MS;

    const call c = {.provider = "openai",
                    .request_model = "gpt-4o-mini",
                    .response_model = "gpt-4o-mini-2024-07-18",
                    .server = "api.openai.com",
                    .input = rag[v].tokens.input,
                    .output = rag[v].tokens.output,
                    .cache_read = rag[v].tokens.cached,
                    .cache_write = -1,
                    .reasoning = -1,
                    .finish = "stop"};
    lt_span *s = chat_span(t, root, &c, at, gen);
    a_double(t, s, "gen_ai.request.temperature", 0.2);
    a_int(t, s, "gen_ai.request.max_tokens", 512);
    a_str(t, s, "gen_ai.system_instructions", system_json(t, rag_system));
    a_str(t, s, "gen_ai.input.messages",
          context.oom ? NULL : text_message_json(t, "user", context.data, NULL));
    a_str(t, s, "gen_ai.output.messages", text_message_json(t, "assistant", rag[v].answer, "stop"));
    buf_free(&context);
}

static lt_span *tool_span(trace *t, const lt_span *parent, const char *name,
                          const char *description, const char *call_id, const char *args,
                          const char *result, uint64_t start, uint64_t dur)
{
    lt_span *s =
        span_new(t, parent, false, fmt(t, "execute_tool %s", name), LT_KIND_INTERNAL, start, dur);
    a_str(t, s, "gen_ai.operation.name", "execute_tool");
    a_str(t, s, "gen_ai.tool.name", name);
    a_str(t, s, "gen_ai.tool.call.id", call_id);
    a_str(t, s, "gen_ai.tool.type", "function");
    a_str(t, s, "gen_ai.tool.description", description);
    a_str(t, s, "gen_ai.tool.call.arguments", args);
    a_str(t, s, "gen_ai.tool.call.result", result);
    return s;
}

static void trace_agents(trace *t, uint64_t t0, size_t v)
{
    const agent_task *task = &agent_tasks[v];
    uint64_t plan = ms_jitter(t, 6000, 6000), search = ms_jitter(t, 150, 250),
             read = ms_jitter(t, 5, 20), code = ms_jitter(t, 9000, 8000);
    uint64_t net = ms_jitter(t, 3, 6); /* one way, planner <-> coder */
    uint64_t at = t0 + ms_jitter(t, 2, 3);
    uint64_t total = at - t0 + plan + search + read + code + 2 * net + 30 * MS;

    enter_service(t, SVC_PLANNER);
    lt_span *root = span_new(t, NULL, false, "invoke_agent planner", LT_KIND_INTERNAL, t0, total);
    a_str(t, root, "gen_ai.operation.name", "invoke_agent");
    a_str(t, root, "gen_ai.provider.name", "openai");
    a_str(t, root, "gen_ai.agent.name", "planner");
    a_str(t, root, "gen_ai.agent.id", "agent_planner_v2");
    a_str(t, root, "gen_ai.agent.description", "Plans code changes and delegates them");
    a_str(t, root, "gen_ai.conversation.id", t->conversation);
    a_str(t, root, "user.id", t->user);
    a_str(t, root, "gen_ai.input.messages", text_message_json(t, "user", task->task, NULL));
    a_str(t, root, "gen_ai.output.messages",
          text_message_json(t, "assistant", task->patch, "stop"));

    const char *id1 = fmt(t, "call_%012llx", (unsigned long long)(next_rand(&t->rng) >> 16));
    const char *id2 = fmt(t, "call_%012llx", (unsigned long long)(next_rand(&t->rng) >> 16));
    if (!id1 || !id2) return;
    const call c = {.provider = "openai",
                    .request_model = "o3-mini",
                    .response_model = "o3-mini-2025-01-31",
                    .server = "api.openai.com",
                    .input = task->o3.input,
                    .output = task->o3.output,
                    .cache_read = 0,
                    .cache_write = -1,
                    .reasoning = task->o3.reasoning,
                    .finish = "tool_calls"};
    lt_span *s = chat_span(t, root, &c, at, plan);
    a_int(t, s, "gen_ai.request.max_tokens", 4096);
    a_str(t, s, "gen_ai.system_instructions", system_json(t, planner_system));
    a_str(t, s, "gen_ai.input.messages", text_message_json(t, "user", task->task, NULL));
    a_str(t, s, "gen_ai.output.messages",
          json_text(t, list(1, message("assistant",
                                       list(3, part("text", task->plan),
                                            tool_call_part(id1, "search_code", task->search_args),
                                            tool_call_part(id2, "read_file", task->read_args)),
                                       "tool_call"))));
    at += plan + MS / 2;
    tool_span(t, root, "search_code", "Searches the repository for a text", id1, task->search_args,
              task->search_result, at, search);
    at += search + MS / 2;
    tool_span(t, root, "read_file", "Reads a file of the repository", id2, task->read_args,
              task->read_result, at, read);
    at += read + MS;

    /* the planner delegates over HTTP: the coder's server span continues this trace */
    uint64_t call_dur = code + 2 * net + 8 * MS;
    lt_span *client = span_new(t, root, false, "POST", LT_KIND_CLIENT, at, call_dur);
    a_str(t, client, "http.request.method", "POST");
    a_str(t, client, "url.full", "http://coder-service:8080/v1/tasks");
    a_str(t, client, "server.address", "coder-service");
    a_int(t, client, "server.port", 8080);
    a_int(t, client, "http.response.status_code", 200);

    enter_service(t, SVC_CODER);
    uint64_t srv_start = at + net;
    lt_span *server =
        span_new(t, client, true, "POST /v1/tasks", LT_KIND_SERVER, srv_start, code + 8 * MS);
    a_str(t, server, "http.request.method", "POST");
    a_str(t, server, "http.route", "/v1/tasks");
    a_str(t, server, "url.path", "/v1/tasks");
    a_str(t, server, "url.scheme", "http");
    a_int(t, server, "http.response.status_code", 200);
    lt_span *coder = span_new(t, server, false, "invoke_agent coder", LT_KIND_INTERNAL,
                              srv_start + 2 * MS, code + 4 * MS);
    a_str(t, coder, "gen_ai.operation.name", "invoke_agent");
    a_str(t, coder, "gen_ai.provider.name", "anthropic");
    a_str(t, coder, "gen_ai.agent.name", "coder");
    a_str(t, coder, "gen_ai.agent.id", "agent_coder_v1");
    a_str(t, coder, "gen_ai.conversation.id", t->conversation);
    const call cc = {.provider = "anthropic",
                     .request_model = "claude-3-5-sonnet-latest",
                     .response_model = "claude-3-5-sonnet-20241022",
                     .server = "api.anthropic.com",
                     /* semconv input includes the cache; Anthropic's usage.input_tokens does not */
                     .input =
                         task->claude.uncached + task->claude.cache_read + task->claude.cache_write,
                     .output = task->claude.output,
                     .cache_read = task->claude.cache_read,
                     .cache_write = task->claude.cache_write,
                     .reasoning = -1,
                     .finish = "end_turn"};
    s = chat_span(t, coder, &cc, srv_start + 3 * MS, code);
    a_double(t, s, "gen_ai.request.temperature", 0.0);
    a_int(t, s, "gen_ai.request.max_tokens", 4096);
    a_str(t, s, "gen_ai.system_instructions", system_json(t, coder_system));
    a_str(t, s, "gen_ai.input.messages", text_message_json(t, "user", task->brief, NULL));
    a_str(t, s, "gen_ai.output.messages", text_message_json(t, "assistant", task->patch, "stop"));
}

/* The history of chat v as gen_ai.input.messages. */
static const char *chat_history(trace *t, size_t v)
{
    static const char *const roles[] = {"user", "assistant", "user"};
    json_t *msgs = json_array();
    for (int k = 0; k < 3; k++)
        json_array_append_new(msgs,
                              message(roles[k], list(1, part("text", chats[v].turns[k])), NULL));
    return json_text(t, msgs);
}

/* K_STREAM, or K_RATE_LIMIT when refused. */
static void trace_chat(trace *t, uint64_t t0, size_t v, bool refused)
{
    enter_service(t, SVC_CHAT);
    double ttft = 0.25 + (double)rand_below(t, 400) / 1000;
    /* streamed at 55 to 85 tokens per second after the first chunk */
    uint64_t rate = 55 + rand_below(t, 31);
    uint64_t gen =
        refused ? ms_jitter(t, 120, 200)
                : (uint64_t)(ttft * 1e9) + (uint64_t)chats[v].tokens.output * 1000000000ull / rate;
    uint64_t at = t0 + ms_jitter(t, 1, 3);
    lt_span *root =
        span_new(t, NULL, false, "POST /v1/chat", LT_KIND_SERVER, t0, at - t0 + gen + 4 * MS);
    http_server(t, root, "/v1/chat", refused ? 503 : 200);
    const call c = {.provider = "openai",
                    .request_model = "gpt-4o",
                    .response_model = refused ? NULL : "gpt-4o-2024-08-06",
                    .server = "api.openai.com",
                    .input = chats[v].tokens.input,
                    .output = chats[v].tokens.output,
                    .cache_read = -1,
                    .cache_write = -1,
                    .reasoning = -1,
                    .finish = "stop"};
    lt_span *s = chat_span(t, root, &c, at, gen);
    a_double(t, s, "gen_ai.request.temperature", 0.7);
    a_int(t, s, "gen_ai.request.max_tokens", 1024);
    a_bool(t, s, "gen_ai.request.stream", true);
    a_str(t, s, "gen_ai.input.messages", chat_history(t, v));
    if (refused) {
        const char *msg =
            fmt(t,
                "Error code: 429 - Rate limit reached for gpt-4o in organization org-demo on "
                "tokens per min (TPM): Limit 30000, Used %llu, Requested %lld. Please try again "
                "in %.1fs.",
                (unsigned long long)(29000 + rand_below(t, 900)),
                (long long)chats[v].tokens.input + 1024, 0.5 + (double)rand_below(t, 20) / 10);
        a_str(t, s, "error.type", "rate_limit_exceeded");
        a_int(t, s, "http.response.status_code", 429);
        set_error(t, s, msg);
        add_exception(t, s, "openai.RateLimitError", msg);
        a_str(t, root, "error.type", "503");
        set_error(t, root, "upstream model rate-limited");
        return;
    }
    a_double(t, s, "gen_ai.response.time_to_first_chunk", (double)(int)(ttft * 1000) / 1000);
    a_str(t, s, "gen_ai.output.messages",
          text_message_json(t, "assistant", chats[v].answer, "stop"));
}

static void trace_context(trace *t, uint64_t t0, size_t v)
{
    enter_service(t, SVC_SUMMARIZER);
    uint64_t gen = ms_jitter(t, 300, 500), at = t0 + ms_jitter(t, 4, 10);
    lt_span *root =
        span_new(t, NULL, false, "POST /summarize", LT_KIND_SERVER, t0, at - t0 + gen + 3 * MS);
    http_server(t, root, "/summarize", 422);
    /* refused before any response: no response model, no usage */
    const call c = {
        .provider = "openai", .request_model = "gpt-4o-mini", .server = "api.openai.com"};
    lt_span *s = chat_span(t, root, &c, at, gen);
    a_double(t, s, "gen_ai.request.temperature", 0.3);
    a_int(t, s, "gen_ai.request.max_tokens", 800);
    a_str(t, s, "gen_ai.system_instructions", system_json(t, summarize_system));
    a_str(t, s, "gen_ai.input.messages", text_message_json(t, "user", transcripts[v], NULL));
    const char *msg = fmt(t,
                          "Error code: 400 - This model's maximum context length is 128000 "
                          "tokens. However, your messages resulted in %llu tokens. Please "
                          "reduce the length of the messages.",
                          (unsigned long long)(128100 + rand_below(t, 40000)));
    a_str(t, s, "error.type", "context_length_exceeded");
    a_int(t, s, "http.response.status_code", 400);
    set_error(t, s, msg);
    add_exception(t, s, "openai.BadRequestError", msg);
    /* a 4xx answer leaves a SERVER span unset (HTTP semconv): the client erred */
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Trace number i of the run, starting at t0. */
static void build_trace(batch *b, uint64_t seed, uint64_t i, uint64_t t0)
{
    trace t = {.b = b, .rng = seed * 0x9e3779b97f4a7c15ull ^ (i + 1) * 0xd1b54a32d192ed03ull};
    next_rand(&t.rng);
    uint64_t hi = next_rand(&t.rng), lo = next_rand(&t.rng) | 1;
    memcpy(t.trace_id, &hi, 8);
    memcpy(t.trace_id + 8, &lo, 8);
    t.user = users[rand_below(&t, COUNT(users))];
    t.conversation = fmt(&t, "conv_%016llx", (unsigned long long)next_rand(&t.rng));
    int kind;
    if (i < N_KINDS) {
        kind = (int)i;
    } else {
        uint64_t r = rand_below(&t, 100);
        kind = r < 35   ? K_RAG
               : r < 60 ? K_AGENTS
               : r < 90 ? K_STREAM
               : r < 95 ? K_RATE_LIMIT
                        : K_CONTEXT;
    }
    bool first = i < N_KINDS;
    switch (kind) {
    case K_RAG:
        trace_rag(&t, t0, first ? 0 : rand_below(&t, COUNT(rag)));
        break;
    case K_AGENTS:
        trace_agents(&t, t0, first ? 0 : rand_below(&t, COUNT(agent_tasks)));
        break;
    case K_STREAM:
    case K_RATE_LIMIT:
        trace_chat(&t, t0, first ? 0 : rand_below(&t, COUNT(chats)), kind == K_RATE_LIMIT);
        break;
    default:
        trace_context(&t, t0, first ? 0 : rand_below(&t, COUNT(transcripts)));
    }
}

/* ---- sending or storing ---- */

typedef struct {
    const char *url; /* .../v1/traces, when sending */
    CURL *curl;
    lt_buf body;
    lt_store *store; /* when writing */
    const char *data;
    const genai_prices *prices;
} sink;

static int send_batch(sink *k, const lt_trace_batch *tb)
{
    buf_reset(&k->body);
    if (pb_encode_traces(&k->body, tb)) {
        fprintf(stderr, "llmtrace demo: out of memory\n");
        return -1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (!h) {
        fprintf(stderr, "llmtrace demo: out of memory\n");
        return -1;
    }
    /* as serve reads it: from the environment, never from a flag */
    const char *token = getenv("LLMTRACE_INGEST_TOKEN");
    if (token && *token) {
        char line[600];
        snprintf(line, sizeof line, "Authorization: Bearer %.512s", token);
        struct curl_slist *h2 = curl_slist_append(h, line);
        if (h2) h = h2;
    }
    CURL *c = k->curl;
    curl_easy_setopt(c, CURLOPT_URL, k->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, k->body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->body.len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    int rc = -1;
    for (int attempt = 1; attempt <= MAX_SEND_ATTEMPTS; attempt++) {
        CURLcode cc = curl_easy_perform(c);
        long code = 0;
        if (cc != CURLE_OK) {
            fprintf(stderr,
                    "llmtrace demo: cannot send to %s: %s (is `llmtrace serve` running? --data "
                    "DIR writes a store directly)\n",
                    k->url, curl_easy_strerror(cc));
            break;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) {
            rc = 0;
            break;
        }
        /* the server's queue is full or its store busy: it says when to come back */
        if ((code == 429 || code == 503) && attempt < MAX_SEND_ATTEMPTS) {
            sleep(1);
            continue;
        }
        fprintf(stderr, "llmtrace demo: %s answered HTTP %ld\n", k->url, code);
        break;
    }
    curl_slist_free_all(h);
    return rc;
}

static int write_batch(sink *k, lt_trace_batch *tb, lt_arena *a)
{
    /* what the receiver does before queueing: the GenAI view and cost of every span */
    int rc = genai_annotate(tb, k->prices, a);
    if (!rc) rc = store_write_traces(k->store, tb);
    if (rc == LT_EBUSY)
        fprintf(stderr,
                "llmtrace demo: %s is in use by a running `llmtrace serve`: send to it with "
                "--server instead, or stop it first\n",
                k->data);
    else if (rc)
        fprintf(stderr, "llmtrace demo: cannot write to %s: %s\n", k->data, lt_strerror(rc));
    return rc ? -1 : 0;
}

/* Sends or writes the batch and empties it. */
static int flush(sink *k, batch *b)
{
    if (b->oom) {
        fprintf(stderr, "llmtrace demo: out of memory\n");
        return -1;
    }
    lt_trace_batch tb = {.rs = b->rs, .n_rs = b->n_rs, .n_spans = b->n_spans};
    int rc = b->n_rs == 0 ? 0 : k->store ? write_batch(k, &tb, b->a) : send_batch(k, &tb);
    arena_reset(b->a);
    b->n_rs = 0;
    b->n_spans = 0;
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *server = "http://127.0.0.1:4318", *data = NULL;
    uint64_t n_traces = 40, seed = 1;
    const opt_def defs[] = {
        {"server", "URL", OPT_STR, &server,
         "OTLP/HTTP endpoint of a running server (default http://127.0.0.1:4318)"},
        {"otlp", "URL", OPT_STR, &server, "the same as --server"},
        {"data", "DIR", OPT_STR, &data,
         "write into this store directory instead of sending (no server may hold it)"},
        {"traces", "N", OPT_UINT, &n_traces,
         "how many traces (default 40); the first five are one of each kind"},
        {"seed", "N", OPT_UINT, &seed,
         "random seed: the same seed gives the same traces (default 1)"},
        {0},
    };
    const opt_spec spec = {"demo", "[options]",
                           "Send realistic GenAI traces from the last hour (OTel GenAI semconv "
                           "v1.41): a RAG pipeline, two agents across two services, a streamed "
                           "chat, a rate-limited call and a context-length error.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    if (n_traces == 0 || n_traces > MAX_TRACES) {
        fprintf(stderr, "llmtrace demo: --traces: expected 1 to %d\n", MAX_TRACES);
        return 2;
    }
    sink k = {.data = data};
    genai_prices *prices = NULL;
    batch *b = lt_calloc(1, sizeof *b);
    char err[512] = "", *url = NULL;
    int status = 1;
    if (!b || !(b->a = arena_new())) {
        fprintf(stderr, "llmtrace demo: out of memory\n");
        goto out;
    }
    if (data) {
        if (genai_prices_load(NULL, NULL, &prices, err, sizeof err)) {
            prices = NULL; /* not ours to free after a failure (genai.h is silent) */
            fprintf(stderr, "llmtrace demo: %s\n", err[0] ? err : "cannot load the price table");
            goto out;
        }
        k.prices = prices;
        log_set_level(LOG_ERROR); /* a refused write is reported by us, in one line */
        if ((rc = store_open(data, &k.store, err, sizeof err))) {
            fprintf(stderr, "llmtrace demo: cannot open store %s: %s\n", data,
                    err[0] ? err : lt_strerror(rc));
            k.store = NULL;
            goto out;
        }
    } else {
        size_t sl = strlen(server);
        while (sl && server[sl - 1] == '/')
            sl--;
        static const char path[] = "/v1/traces";
        bool has_path = sl >= sizeof path - 1 &&
                        memcmp(server + sl - (sizeof path - 1), path, sizeof path - 1) == 0;
        size_t n = sl + sizeof path;
        if (!(url = lt_malloc(n))) {
            fprintf(stderr, "llmtrace demo: out of memory\n");
            goto out;
        }
        snprintf(url, n, "%.*s%s", (int)sl, server, has_path ? "" : path);
        k.url = url;
        if (!(k.curl = curl_easy_init())) {
            fprintf(stderr, "llmtrace demo: cannot start the HTTP client\n");
            goto out;
        }
    }

    const uint64_t hour = 3600 * 1000 * MS, tail = 120 * 1000 * MS; /* the last trace's room */
    uint64_t now = time_now_ns(), slot = (hour - tail) / n_traces, spans = 0;
    bool progress = n_traces >= PROGRESS_MIN_TRACES && isatty(STDERR_FILENO);
    uint32_t in_batch = 0;
    for (uint64_t i = 0; i < n_traces; i++) {
        uint64_t r = seed ^ i;
        build_trace(b, seed, i, now - hour + i * slot + next_rand(&r) % (slot ? slot : 1));
        if (++in_batch < BATCH_TRACES && i + 1 < n_traces) continue;
        uint64_t n = b->n_spans;
        if (flush(&k, b)) {
            if (progress) fputc('\n', stderr);
            goto out;
        }
        spans += n;
        in_batch = 0;
        if (progress)
            fprintf(stderr, "\rllmtrace demo: %llu/%llu traces", (unsigned long long)i + 1,
                    (unsigned long long)n_traces);
    }
    if (progress) fputc('\n', stderr);
    if (data)
        printf("llmtrace demo: wrote %llu traces (%llu spans) into %s\n",
               (unsigned long long)n_traces, (unsigned long long)spans, data);
    else
        printf("llmtrace demo: sent %llu traces (%llu spans) to %s\n", (unsigned long long)n_traces,
               (unsigned long long)spans, url);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    if (k.curl) curl_easy_cleanup(k.curl);
    store_close(k.store);
    buf_free(&k.body);
    if (prices) genai_prices_free(prices);
    if (b) arena_free(b->a);
    lt_free(b);
    lt_free(url);
    return status;
}
