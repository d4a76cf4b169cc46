/* bench_store.c — the storage engine alone: write throughput, reads, GenAI aggregates, and
 * what the content store saves.
 *
 * usage: bench_store [N] [SPANS_PER_CALL] [--genai=PCT] [--hours=H] [--agent] [--summary]
 *                    [--writes-only] [--store=URL]
 *        bench_store [--store=URL] --replay=ROUNDS FILE...
 *
 * Writes N synthetic GenAI spans (default 1000000) into a fresh store in a temporary
 * directory (or, with --store=URL, into the store URL names, e.g. an empty ClickHouse
 * database clickhouse://127.0.0.1:8123/bench), in write calls of SPANS_PER_CALL spans (default 100)
 * spread over about ten traces each (ten spans per trace per call, one root), every trace id
 * random, as an ingest of many concurrent conversations looks. A span carries about 1 KB: 20
 * attributes in the gen_ai.* shape (operation, provider, models, token counts, finish reasons,
 * response id, a prompt and a completion excerpt). PCT percent of the spans (default 60) also carry
 * a canonical GenAI view (lt_span.genai), as the pipeline's normaliser sets it: conversation per
 * trace, one of 1000 users, one of three models, costs, TTFT on half of them. The batch is built
 * once and only its ids, times and per-trace values change between calls, so the time measured is
 * the store's (the time inside store_write_traces is printed too).
 *
 * --hours=H spreads span start times evenly over the last H hours (default: 1 ms apart,
 * ending about now). --summary times genai_summary over the last 24 hours for every
 * grouping. --agent gives every span agent-style message content instead: a 1.5 KB system
 * prompt (one of three agents), gen_ai.input.messages with the conversation's history so far
 * (a JSON array growing by two messages per turn; a trace is a conversation, its spans the
 * turns) and gen_ai.output.messages with a new answer; then prints the raw size of the
 * strings the content store takes (256 bytes or more) against what the content table holds.
 *
 * --replay=ROUNDS writes the captured OTLP requests FILE (protobuf, or JSON when it ends in
 * .json; traces or logs, by name) ROUNDS times with fresh ids, and prints the same content figures:
 * what deduplication and compression save on real senders' payloads.
 *
 * Prints spans/s (and the CPU time of the writes) and bytes per span on disk (the directory's
 * files; for a store that is not a directory, what store_bytes_used counts), then (unless
 * --writes-only) the latency of reads on the full store: trace by id (1000 traces sampled
 * over the run) and pages of the trace list with each kind of filter. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "model/pb.h"
#include "otlp/otlp.h"
#include "store/store.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* --store=URL: the store written; NULL = a fresh SQLite store in a temporary directory. */
static const char *store_url;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rand_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = next_rand();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

static const char prompt[] =
    "You are a helpful assistant for an online bookshop. Answer questions about orders, "
    "shipping and returns in two or three sentences. Customer: Where is my order #48213? "
    "It was supposed to arrive on Tuesday.";
static const char completion[] =
    "I'm sorry for the delay. Order #48213 is with the carrier and should arrive by "
    "Thursday; if not, reply here and we will send a replacement.";

enum { N_ATTRS = 20, RESP_ID_LEN = 38, N_USERS = 1000 };

static const char *models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"};

typedef struct {
    lt_kv kv[N_ATTRS];
    lt_value finish[1];
    char resp_id[RESP_ID_LEN + 1];
    char conv[24], user[16];
    lt_genai view;
    size_t msg_off, in_len, out_len; /* --agent: its messages in the call's content buffer */
} span_attrs;

static lt_value sv(const char *s)
{
    return (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(s)};
}
static lt_value iv(int64_t i)
{
    return (lt_value){.type = LT_VAL_INT, .u.i = i};
}
static lt_value dv(double d)
{
    return (lt_value){.type = LT_VAL_DOUBLE, .u.d = d};
}

static int64_t in_tokens(uint32_t i)
{
    return 100 + (37 * i) % 400;
}
static int64_t out_tokens(uint32_t i)
{
    return 10 + (13 * i) % 90;
}

static void fill_attrs(span_attrs *sa, uint32_t i)
{
    sa->finish[0] = sv("stop");
    lt_kv *k = sa->kv;
    uint32_t n = 0;
#define A(key, val) k[n++] = (lt_kv){LT_STR(key), (val)}
    A("gen_ai.operation.name", sv("chat"));
    A("gen_ai.system", sv("openai"));
    A("gen_ai.provider.name", sv("openai"));
    A("gen_ai.request.model", sv(models[i % 3]));
    A("gen_ai.response.model", sv(models[i % 3]));
    A("gen_ai.request.temperature", dv(0.7));
    A("gen_ai.request.top_p", dv(1.0));
    A("gen_ai.request.max_tokens", iv(512));
    A("gen_ai.usage.input_tokens", iv(in_tokens(i)));
    A("gen_ai.usage.output_tokens", iv(out_tokens(i)));
    A("gen_ai.usage.cache_read.input_tokens", iv(i % 5 ? 0 : 64));
    A("gen_ai.response.finish_reasons",
      ((lt_value){.type = LT_VAL_ARRAY, .u.arr = {sa->finish, 1}}));
    A("gen_ai.response.id", ((lt_value){.type = LT_VAL_STRING, .u.s = {sa->resp_id, RESP_ID_LEN}}));
    A("gen_ai.conversation.id", sv("conv-7f3a9c2e"));
    A("gen_ai.agent.name", sv("support-agent"));
    A("server.address", sv("api.openai.com"));
    A("server.port", iv(443));
    A("gen_ai.prompt", sv(prompt));
    A("gen_ai.completion", sv(completion));
    A("llm.is_streaming", ((lt_value){.type = LT_VAL_BOOL, .u.b = false}));
#undef A
}

/* The view the normaliser would derive; conversation and user change per trace. */
static void fill_view(span_attrs *sa, uint32_t i)
{
    lt_genai *g = &sa->view;
    memset(g, 0, sizeof *g);
    g->v[GA_OPERATION] = sv("chat");
    g->v[GA_PROVIDER] = sv("openai");
    g->v[GA_REQUEST_MODEL] = sv(models[i % 3]);
    g->v[GA_RESPONSE_MODEL] = sv(models[i % 3]);
    g->v[GA_RESPONSE_ID] = (lt_value){.type = LT_VAL_STRING, .u.s = {sa->resp_id, RESP_ID_LEN}};
    g->v[GA_FINISH_REASONS] = (lt_value){.type = LT_VAL_ARRAY, .u.arr = {sa->finish, 1}};
    g->v[GA_TEMPERATURE] = dv(0.7);
    g->v[GA_TOP_P] = dv(1.0);
    g->v[GA_MAX_TOKENS] = iv(512);
    g->v[GA_INPUT_TOKENS] = iv(in_tokens(i));
    g->v[GA_OUTPUT_TOKENS] = iv(out_tokens(i));
    g->v[GA_CACHE_READ] = iv(i % 5 ? 0 : 64);
    g->v[GA_CONVERSATION_ID] = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(sa->conv)};
    g->v[GA_USER_ID] = (lt_value){.type = LT_VAL_STRING, .u.s = lt_str_c(sa->user)};
    g->v[GA_AGENT_NAME] = sv("support-agent");
    if (i % 2) g->v[GA_TTFT] = dv(0.2 + 0.01 * (i % 40));
    g->v[GA_COST] = dv((double)in_tokens(i) * 2.5e-6 + (double)out_tokens(i) * 1e-5);
    g->v[GA_COST_SOURCE] = sv("computed");
    g->v[GA_DIALECT] = sv("otel");
}

/* ---- agent-style content ---------------------------------------------------------------- */

static const char *words[] = {
    "order",   "shipping", "refund",   "carrier", "tracking", "address", "invoice",  "delay",
    "replace", "package",  "warranty", "return",  "label",    "courier", "discount", "account",
    "payment", "receipt",  "customer", "support", "ticket",   "update",  "status",   "policy",
    "the",     "a",        "is",       "was",     "will",     "and",     "for",      "with"};

/* Appends about n bytes of text that depends only on seed, escaped for JSON (none needed). */
static void text(lt_buf *b, uint64_t seed, size_t n)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1;
    size_t start = b->len;
    while (b->len - start < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (b->len > start) buf_putc(b, ' ');
        buf_append_c(b, words[x % (sizeof words / sizeof words[0])]);
        if (x % 11 == 0) buf_printf(b, " #%" PRIu64, x % 100000);
    }
}

static void message(lt_buf *b, const char *role, uint64_t seed, size_t n, bool finish)
{
    buf_printf(b, "{\"role\":\"%s\",\"parts\":[{\"type\":\"text\",\"content\":\"", role);
    text(b, seed, n);
    buf_append_c(b, "\"}]");
    if (finish) buf_append_c(b, ",\"finish_reason\":\"stop\"");
    buf_putc(b, '}');
}

static lt_buf system_prompts[3];

/* The three strings of turn t of conversation conv, into b (offsets in off[]). */
static void agent_turn(lt_buf *b, uint64_t conv, uint32_t t, size_t off[4])
{
    off[0] = b->len;
    buf_putc(b, '[');
    for (uint32_t k = 0; k <= t; k++) {
        if (k) buf_putc(b, ',');
        message(b, "user", conv * 1000 + k * 2, 300, false);
        if (k < t) {
            buf_putc(b, ',');
            message(b, "assistant", conv * 1000 + k * 2 + 1, 450, false);
        }
    }
    buf_putc(b, ']');
    off[1] = b->len;
    buf_putc(b, '[');
    message(b, "assistant", conv * 1000 + t * 2 + 1, 450, true);
    buf_putc(b, ']');
    off[2] = b->len;
}

/* ---- measuring -------------------------------------------------------------------------- */

/* Bytes this process has passed to write() so far (WAL, checkpoints): write amplification. */
static uint64_t written_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    uint64_t v = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "wchar: ", 7) == 0) parse_u64(lt_str_c(strtok(line + 7, "\n")), &v);
    if (f) fclose(f);
    return v;
}

/* CPU seconds (user + system) this process has used so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

enum { SAMPLES = 1000 };

/* Times get_trace over the sampled ids and a few list queries; prints p50 and p99. */
static int read_latency(lt_store *store, uint8_t (*ids)[16], size_t n)
{
    uint64_t t[SAMPLES];
    lt_arena *a = arena_new();
    if (!a) return 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = time_mono_ns();
        lt_trace_data d;
        int rc = store_get_trace(store, ids[i], a, &d);
        t[i] = time_mono_ns() - t0;
        if (rc || d.spans.n_spans == 0) {
            fprintf(stderr, "bench_store: get_trace: %s\n", lt_strerror(rc));
            return 1;
        }
        arena_reset(a);
    }
    qsort(t, n, sizeof t[0], cmp_u64);
    printf("  trace by id: p50 %.2f ms, p99 %.2f ms (%zu traces)\n", (double)t[n / 2] / 1e6,
           (double)t[n * 99 / 100] / 1e6, n);
    static const char *names[] = {"newest 20",
                                  "errors only",
                                  "service, min duration 0.86 s",
                                  "attribute (gen_ai.request.model=claude-3-5-sonnet)",
                                  "model claude-3-5-sonnet (GenAI filter)",
                                  "user user-3 (GenAI filter)",
                                  "min cost 0.004"};
    for (int k = 0; k < 7; k++) {
        lt_trace_query q = {.limit = 20};
        if (k == 1) q.errors_only = true;
        if (k == 2) {
            q.service = LT_STR("support-bot");
            q.min_duration_ns = 860000000;
        }
        if (k == 3) {
            q.attr_key = LT_STR("gen_ai.request.model");
            q.attr_value = LT_STR("claude-3-5-sonnet");
        }
        if (k == 4) q.model = LT_STR("claude-3-5-sonnet");
        if (k == 5) q.user = LT_STR("user-3");
        if (k == 6) q.min_cost = 0.004;
        uint32_t found = 0;
        for (int i = 0; i < 50; i++) {
            lt_trace_list l;
            uint64_t t0 = time_mono_ns();
            if (store_list_traces(store, &q, a, &l)) return 1;
            t[i] = time_mono_ns() - t0;
            found = l.n;
            arena_reset(a);
        }
        qsort(t, 50, sizeof t[0], cmp_u64);
        printf("  list traces, %s: p50 %.2f ms, p99 %.2f ms (%u found)\n", names[k],
               (double)t[25] / 1e6, (double)t[49] / 1e6, found);
    }
    arena_free(a);
    return 0;
}

static void summary_latency(lt_store *store, uint64_t now)
{
    static const char *dims[] = {"model",     "provider", "operation", "service",
                                 "span name", "agent",    "user",      "conversation"};
    lt_arena *a = arena_new();
    for (int g = 0; g < 8; g++) {
        lt_genai_query q = {.start_min = now - 24ull * 3600 * 1000000000ull,
                            .start_max = now,
                            .group_by = (lt_group_by)g};
        uint64_t t[5];
        uint32_t n = 0;
        uint64_t calls = 0;
        int rc = 0;
        for (int i = 0; i < 5 && !rc; i++) {
            lt_genai_group *out;
            uint64_t t0 = time_mono_ns();
            rc = store_genai_summary(store, &q, a, &out, &n);
            t[i] = time_mono_ns() - t0;
            calls = 0;
            for (uint32_t k = 0; k < n; k++)
                calls += out[k].calls;
            if (i == 4 && g == 0)
                for (uint32_t k = 0; k < n; k++)
                    printf(
                        "    %s: %" PRIu64 " calls, $%.2f, p50 %.0f ms, p95 %.0f ms, p99 %.0f ms,"
                        " TTFT p95 %.3f s\n",
                        out[k].key.ptr, out[k].calls, out[k].cost,
                        (double)out[k].duration_p50_ns / 1e6, (double)out[k].duration_p95_ns / 1e6,
                        (double)out[k].duration_p99_ns / 1e6, out[k].ttft_p95_s);
            arena_reset(a);
        }
        if (rc) {
            printf("  genai_summary by %s: %s\n", dims[g], lt_strerror(rc));
            continue;
        }
        qsort(t, 5, sizeof t[0], cmp_u64);
        printf("  genai_summary, last 24 h, by %s: median %.1f ms, max %.1f ms (%u groups, %" PRIu64
               " calls)\n",
               dims[g], (double)t[2] / 1e6, (double)t[4] / 1e6, n, calls);
    }
    arena_free(a);
}

static uint64_t dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    char path[4096 + 512];
    while ((e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0) total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096 + 512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- content figures --------------------------------------------------------------------- */

/* Sums the strings of 256 bytes or more under v: what the content store takes. */
static void large_strings(const lt_value *v, uint64_t *bytes, uint64_t *n)
{
    if (v->type == LT_VAL_STRING && v->u.s.len >= 256) {
        *bytes += v->u.s.len;
        (*n)++;
    } else if (v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            large_strings(&v->u.arr.items[i], bytes, n);
    } else if (v->type == LT_VAL_KVLIST) {
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            large_strings(&v->u.kv.items[i].value, bytes, n);
    }
}

static void attrs_large(const lt_attrs *a, uint64_t *bytes, uint64_t *n)
{
    for (uint32_t i = 0; i < a->n; i++)
        large_strings(&a->items[i].value, bytes, n);
}

static void span_large(const lt_span *s, uint64_t *bytes, uint64_t *n)
{
    attrs_large(&s->attrs, bytes, n);
    for (uint32_t i = 0; i < s->events.n; i++)
        attrs_large(&s->events.items[i].attrs, bytes, n);
    for (uint32_t i = 0; i < s->links.n; i++)
        attrs_large(&s->links.items[i].attrs, bytes, n);
}

/* Prints the content table's size against the raw size of the strings it took. The store
 * must be closed (this opens the database itself, read-only). */
static void content_report(const char *dir, uint64_t raw, uint64_t n_strings)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/llmtrace.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t blocks = 0, distinct = 0, stored = 0, pieces = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT len, length(data), dir FROM content", -1, &st, NULL) !=
            SQLITE_OK) {
        printf("  content: cannot read %s: %s\n", path, sqlite3_errmsg(db));
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            blocks++;
            distinct += sqlite3_column_int64(st, 0);
            stored += sqlite3_column_int64(st, 1);
            const uint8_t *p = sqlite3_column_blob(st, 2);
            for (int i = 0; i < sqlite3_column_bytes(st, 2); i++)
                pieces += !(p[i] & 0x80);
        }
        /* per block: its row (~30 B) and directory; per piece: its index entries (~45 B) */
        int64_t overhead = blocks * 30 + pieces * 47;
        printf("  content: %" PRIu64 " strings of >= 256 B, %.1f MB raw -> %" PRId64
               " distinct pieces (%.1f MB) in %" PRId64
               " blocks, %.1f MB compressed + ~%.1f MB row and index overhead: %.1f%% of raw"
               " (%.1fx smaller)\n",
               n_strings, (double)raw / 1e6, pieces, (double)distinct / 1e6, blocks,
               (double)stored / 1e6, (double)overhead / 1e6,
               raw ? 100.0 * (double)(stored + overhead) / (double)raw : 0,
               stored + overhead ? (double)raw / (double)(stored + overhead) : 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- replaying captured requests --------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = p ? (size_t)n : 0;
    return p;
}

static void xor_id(uint8_t *id, const uint8_t *mask, int n)
{
    if (model_id_is_zero(id, n)) return;
    for (int i = 0; i < n; i++)
        id[i] ^= mask[i];
}

/* dir: the SQLite store's directory, NULL for a store at a URL (then the size is what
 * store_bytes_used counts, and the content figures, read from the SQLite file, are left out). */
static int replay(const char *dir, lt_store *store, uint64_t rounds, char **files, int n_files)
{
    lt_arena *a = arena_new();
    uint64_t raw = 0, n_strings = 0, spans = 0, records = 0, secs_ns = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        uint8_t tmask[16], smask[8];
        rand_bytes(tmask, 16);
        rand_bytes(smask, 8);
        for (int f = 0; f < n_files; f++) {
            size_t len;
            uint8_t *p = read_file(files[f], &len);
            if (!p) {
                fprintf(stderr, "bench_store: cannot read %s\n", files[f]);
                return 1;
            }
            bool logs = strstr(files[f], "-logs.") != NULL;
            size_t nl = strlen(files[f]);
            otlp_format fmt =
                nl > 5 && !strcmp(files[f] + nl - 5, ".json") ? OTLP_JSON : OTLP_PROTOBUF;
            lt_trace_batch tb;
            lt_log_batch lb;
            int rc = logs ? otlp_decode_logs(a, fmt, p, len, &lb)
                          : otlp_decode_traces(a, fmt, p, len, &tb);
            if (rc) {
                fprintf(stderr, "bench_store: %s: %s\n", files[f], lt_strerror(rc));
                return 1;
            }
            /* fresh ids that keep the trace structure (the same masks for the whole round) */
            for (uint32_t i = 0; !logs && i < tb.n_rs; i++)
                for (uint32_t j = 0; j < tb.rs[i].n_scopes; j++)
                    for (uint32_t k = 0; k < tb.rs[i].scopes[j].n_spans; k++) {
                        lt_span *s = &tb.rs[i].scopes[j].spans[k];
                        xor_id(s->trace_id, tmask, 16);
                        xor_id(s->span_id, smask, 8);
                        if (s->has_parent) xor_id(s->parent_span_id, smask, 8);
                        span_large(s, &raw, &n_strings);
                        spans++;
                    }
            for (uint32_t i = 0; logs && i < lb.n_rl; i++)
                for (uint32_t j = 0; j < lb.rl[i].n_scopes; j++)
                    for (uint32_t k = 0; k < lb.rl[i].scopes[j].n_records; k++) {
                        lt_log_record *l = &lb.rl[i].scopes[j].records[k];
                        xor_id(l->trace_id, tmask, 16);
                        xor_id(l->span_id, smask, 8);
                        large_strings(&l->body, &raw, &n_strings);
                        attrs_large(&l->attrs, &raw, &n_strings);
                        records++;
                    }
            uint64_t t0 = time_mono_ns();
            rc = logs ? store_write_logs(store, &lb) : store_write_traces(store, &tb);
            secs_ns += time_mono_ns() - t0;
            if (rc) {
                fprintf(stderr, "bench_store: write %s: %s\n", files[f], lt_strerror(rc));
                return 1;
            }
            free(p);
            arena_reset(a);
        }
    }
    uint64_t on_disk = 0;
    if (!dir) store_bytes_used(store, &on_disk);
    store_close(store);
    if (dir) on_disk = dir_bytes(dir);
    printf("bench_store --replay: %d file(s) x %" PRIu64 " rounds: %" PRIu64 " spans, %" PRIu64
           " log records, %.2f s in the store (%.0f items/s)\n",
           n_files, rounds, spans, records, (double)secs_ns / 1e9,
           (double)(spans + records) / ((double)secs_ns / 1e9));
    printf("  %.1f MB on disk (%.0f bytes per item)\n", (double)on_disk / 1e6,
           (double)on_disk / (double)(spans + records ? spans + records : 1));
    if (dir) content_report(dir, raw, n_strings);
    arena_free(a);
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint64_t total = 1000000, per_call = 100, genai_pct = 60, hours = 0, rounds = 0;
    bool agent = false, summary = false, reads = true;
    int npos = 0, first_file = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--genai=", 8) == 0) {
            if (parse_u64(lt_str_c(a + 8), &genai_pct) || genai_pct > 100) goto usage;
        } else if (strncmp(a, "--hours=", 8) == 0) {
            if (parse_u64(lt_str_c(a + 8), &hours) || !hours) goto usage;
        } else if (strncmp(a, "--replay=", 9) == 0) {
            if (parse_u64(lt_str_c(a + 9), &rounds) || !rounds) goto usage;
            first_file = i + 1;
            break;
        } else if (strncmp(a, "--store=", 8) == 0) {
            store_url = a + 8;
            if (!*store_url) goto usage;
        } else if (strcmp(a, "--agent") == 0) {
            agent = true;
        } else if (strcmp(a, "--summary") == 0) {
            summary = true;
        } else if (strcmp(a, "--writes-only") == 0) {
            reads = false;
        } else if (npos == 0) {
            if (parse_u64(lt_str_c(a), &total) || !total) goto usage;
            npos++;
        } else if (npos == 1) {
            if (parse_u64(lt_str_c(a), &per_call) || !per_call || per_call > 1000000) goto usage;
            npos++;
        } else {
            goto usage;
        }
    }
    if (rounds && first_file >= argc) goto usage;

    const char *tmp = getenv("TMPDIR");
    char dirbuf[4096] = "";
    if (!store_url) {
        snprintf(dirbuf, sizeof dirbuf, "%s/bench_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dirbuf)) {
            perror("mkdtemp");
            return 1;
        }
    }
    lt_store *store = NULL;
    char err[256];
    int rc = store_open(store_url ? store_url : dirbuf, &store, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    if (rounds) {
        rc = replay(store_url ? NULL : dirbuf, store, rounds, argv + first_file, argc - first_file);
        if (!store_url) remove_dir(dirbuf);
        return rc;
    }

    /* one call's batch: one resource, one scope, per_call spans */
    lt_kv res_kv[] = {
        {LT_STR("service.name"), sv("support-bot")},
        {LT_STR("service.version"), sv("1.4.2")},
        {LT_STR("deployment.environment.name"), sv("production")},
        {LT_STR("telemetry.sdk.name"), sv("opentelemetry")},
        {LT_STR("telemetry.sdk.language"), sv("python")},
        {LT_STR("telemetry.sdk.version"), sv("1.38.0")},
    };
    lt_span *spans = calloc(per_call, sizeof *spans);
    span_attrs *attrs = calloc(per_call, sizeof *attrs);
    if (!spans || !attrs) return 1;
    lt_scope_spans ss = {.scope = {.name = LT_STR("opentelemetry.instrumentation.openai_v2"),
                                   .version = LT_STR("2.1b0")},
                         .spans = spans,
                         .n_spans = (uint32_t)per_call};
    lt_resource_spans rs = {.resource = {.attrs = {res_kv, 6}},
                            .schema_url = LT_STR("https://opentelemetry.io/schemas/1.28.0"),
                            .scopes = &ss,
                            .n_scopes = 1};
    lt_trace_batch batch = {.rs = &rs, .n_rs = 1, .n_spans = per_call};
    for (uint32_t i = 0; i < per_call; i++) {
        fill_attrs(&attrs[i], i);
        fill_view(&attrs[i], i);
        spans[i].attrs = (lt_attrs){attrs[i].kv, N_ATTRS};
        spans[i].kind = LT_KIND_CLIENT;
        spans[i].flags = 0x100;
        spans[i].genai = i % 100 < genai_pct ? &attrs[i].view : NULL;
    }
    lt_kv *agent_kv = NULL;
    lt_buf content = {0};
    if (agent) {
        /* the first 17 attributes, then system instructions, input and output messages */
        agent_kv = calloc(per_call * N_ATTRS, sizeof *agent_kv);
        if (!agent_kv) return 1;
        for (int k = 0; k < 3; k++) {
            buf_printf(&system_prompts[k], "You are agent %d of the bookshop's support desk. ", k);
            text(&system_prompts[k], 424242 + (uint64_t)k, 1500);
        }
    }
    lt_buf probe = {0};
    pb_encode_span(&probe, &spans[0]);
    uint64_t per_trace = 10, now = time_now_ns(), written = 0, mono0 = time_mono_ns();
    double cpu0 = cpu_seconds();
    uint64_t t0 = hours ? now - hours * 3600ull * 1000000000ull : now - total * 1000000;
    uint64_t step = hours ? hours * 3600ull * 1000000000ull / total : 1000000;
    uint64_t in_store = 0, raw = 0, n_strings = 0, conv_seq = 0;
    static uint8_t sample[SAMPLES][16];
    size_t n_sample = 0;
    uint64_t calls = (total + per_call - 1) / per_call, every = calls / SAMPLES + 1, call = 0;
    static const char hexdig[] = "0123456789abcdef";
    while (written < total) {
        uint64_t n = total - written < per_call ? total - written : per_call;
        uint8_t tid[16];
        uint64_t base = t0 + written * step, conv = 0;
        if (agent) buf_reset(&content);
        for (uint64_t i = 0; i < n; i++) {
            lt_span *s = &spans[i];
            span_attrs *sa = &attrs[i];
            if (i % per_trace == 0) {
                rand_bytes(tid, 16);
                conv = ++conv_seq;
            }
            memcpy(s->trace_id, tid, 16);
            rand_bytes(s->span_id, 8);
            s->has_parent = i % per_trace != 0;
            if (s->has_parent)
                memcpy(s->parent_span_id, spans[i - i % per_trace].span_id, 8);
            else
                memset(s->parent_span_id, 0, 8);
            s->name = s->has_parent ? LT_STR("chat gpt-4o") : LT_STR("invoke_agent support-agent");
            s->start_time_unix_nano = base + i * step;
            s->end_time_unix_nano = s->start_time_unix_nano + 850000000 + next_rand() % 1000000;
            s->status_code = next_rand() % 50 == 0 ? LT_STATUS_ERROR : LT_STATUS_UNSET;
            uint64_t r = next_rand();
            memcpy(sa->resp_id, "chatcmpl-", 9);
            for (int k = 9; k < RESP_ID_LEN; k++, r = r >> 4 ? r >> 4 : next_rand())
                sa->resp_id[k] = hexdig[r & 15];
            snprintf(sa->conv, sizeof sa->conv, "conv-%" PRIu64, conv);
            snprintf(sa->user, sizeof sa->user, "user-%" PRIu64, conv % N_USERS);
            sa->view.v[GA_CONVERSATION_ID].u.s = lt_str_c(sa->conv);
            sa->view.v[GA_USER_ID].u.s = lt_str_c(sa->user);
            if (agent) {
                size_t off[4];
                agent_turn(&content, conv, (uint32_t)(i % per_trace), off);
                sa->msg_off = off[0];
                sa->in_len = off[1] - off[0];
                sa->out_len = off[2] - off[1];
            }
        }
        if (agent) {
            /* the content buffer has stopped moving: point the attributes into it */
            for (uint64_t i = 0; i < n; i++) {
                span_attrs *sa = &attrs[i];
                lt_kv *kv = agent_kv + i * N_ATTRS;
                memcpy(kv, sa->kv, 17 * sizeof *kv);
                const char *at = content.data + sa->msg_off;
                const lt_buf *sys = &system_prompts[(i / per_trace) % 3];
                kv[17] = (lt_kv){LT_STR("gen_ai.system_instructions"),
                                 {.type = LT_VAL_STRING, .u.s = {sys->data, sys->len}}};
                kv[18] = (lt_kv){LT_STR("gen_ai.input.messages"),
                                 {.type = LT_VAL_STRING, .u.s = {at, sa->in_len}}};
                kv[19] = (lt_kv){LT_STR("gen_ai.output.messages"),
                                 {.type = LT_VAL_STRING, .u.s = {at + sa->in_len, sa->out_len}}};
                spans[i].attrs = (lt_attrs){kv, N_ATTRS};
                span_large(&spans[i], &raw, &n_strings);
            }
        }
        if (call++ % every == 0 && n_sample < SAMPLES)
            memcpy(sample[n_sample++], spans[0].trace_id, 16);
        ss.n_spans = (uint32_t)n;
        batch.n_spans = n;
        uint64_t w0 = time_mono_ns();
        if ((rc = store_write_traces(store, &batch))) {
            fprintf(stderr, "bench_store: write failed: %s\n", lt_strerror(rc));
            return 1;
        }
        in_store += time_mono_ns() - w0;
        written += n;
        if (isatty(2) && written % (per_call * 1000) == 0)
            fprintf(stderr, "\r%" PRIu64 " / %" PRIu64 " spans", written, total);
    }
    double secs = (double)(time_mono_ns() - mono0) / 1e9, cpu = cpu_seconds() - cpu0;
    if (isatty(2)) fprintf(stderr, "\r%60s\r", "");
    uint64_t used = 0;
    store_bytes_used(store, &used);
    uint64_t wrote = written_bytes();
    printf("bench_store: %" PRIu64 " spans (%zu B encoded each%s), %" PRIu64 " per call, %" PRIu64
           " per trace per call, %" PRIu64 "%% with a GenAI view\n",
           total, probe.len, agent ? " before agent content" : "", per_call, per_trace, genai_pct);
    printf("  %.2f s, %.0f spans/s (%.2f s in store_write_traces: %.0f spans/s; %.2f s CPU,"
           " %.2f us per span)\n",
           secs, (double)total / secs, (double)in_store / 1e9,
           (double)total / ((double)in_store / 1e9), cpu, cpu * 1e6 / (double)total);
    /* a store at a URL is written through sockets, which /proc/self/io does not count */
    if (!store_url)
        printf("  %.0f bytes/span written to files (segments, WAL, checkpoints)\n",
               (double)wrote / (double)total);
    if (reads && read_latency(store, sample, n_sample)) return 1;
    if (summary) summary_latency(store, now);
    if (store_url) {
        /* after the reads: the engine had time to merge what it wrote */
        store_bytes_used(store, &used);
        store_close(store);
        printf("  %.0f bytes/span on disk (%.1f MB in the store's tables)\n",
               (double)used / (double)total, (double)used / 1e6);
    } else {
        store_close(store);
        uint64_t on_disk = dir_bytes(dirbuf);
        printf("  %.0f bytes/span on disk (%.1f MB after close), %.0f bytes/span used pages\n",
               (double)on_disk / (double)total, (double)on_disk / 1e6,
               (double)used / (double)total);
        if (agent) content_report(dirbuf, raw, n_strings);
        remove_dir(dirbuf);
    }
    buf_free(&probe);
    buf_free(&content);
    free(spans);
    free(attrs);
    free(agent_kv);
    return 0;
usage:
    fprintf(stderr, "usage: bench_store [N] [SPANS_PER_CALL] [--genai=PCT] [--hours=H] [--agent]"
                    " [--summary] [--writes-only] [--store=URL]\n"
                    "       bench_store [--store=URL] --replay=ROUNDS FILE...\n");
    return 2;
}
