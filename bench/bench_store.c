/* bench_store.c — write throughput of the storage engine, nothing else.
 *
 * usage: bench_store [N] [SPANS_PER_CALL]      (defaults 1000000 and 100)
 *
 * Writes N synthetic GenAI spans into a fresh store in a temporary directory, in write
 * calls of SPANS_PER_CALL spans spread over about ten traces each (ten spans per trace per
 * call, one root), every trace id random, as an ingest of many concurrent conversations
 * looks. A span carries about 1 KB: 20 attributes in the gen_ai.* shape (operation,
 * provider, models, token counts, finish reasons, response id, a prompt and a completion
 * excerpt). The batch is built once and only its ids and times change between calls, so
 * the time measured is the store's. Prints spans/s and bytes per span on disk, then the
 * latency of reads on the full store: trace by id (1000 traces sampled over the run) and
 * the first page of the trace list. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/store.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

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

enum { N_ATTRS = 20, RESP_ID_LEN = 38 };

typedef struct {
    lt_kv kv[N_ATTRS];
    lt_value finish[1];
    char resp_id[RESP_ID_LEN + 1];
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

static void fill_attrs(span_attrs *sa, uint32_t i)
{
    static const char *models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"};
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
    A("gen_ai.usage.input_tokens", iv(100 + (37 * i) % 400));
    A("gen_ai.usage.output_tokens", iv(10 + (13 * i) % 90));
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
    static const char *names[] = {"newest 20", "errors only", "service, min duration 0.86 s",
                                  "attribute (gen_ai.request.model=claude-3-5-sonnet)"};
    for (int k = 0; k < 4; k++) {
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
        for (int i = 0; i < 50; i++) {
            lt_trace_list l;
            uint64_t t0 = time_mono_ns();
            if (store_list_traces(store, &q, a, &l)) return 1;
            t[i] = time_mono_ns() - t0;
            arena_reset(a);
        }
        qsort(t, 50, sizeof t[0], cmp_u64);
        printf("  list traces, %s: p50 %.2f ms, p99 %.2f ms\n", names[k], (double)t[25] / 1e6,
               (double)t[49] / 1e6);
    }
    arena_free(a);
    return 0;
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

int main(int argc, char **argv)
{
    uint64_t total = 1000000, per_call = 100;
    if (argc > 1 && (parse_u64(lt_str_c(argv[1]), &total) || !total)) goto usage;
    if (argc > 2 && (parse_u64(lt_str_c(argv[2]), &per_call) || !per_call || per_call > 1000000))
        goto usage;

    char dir[] = "/tmp/bench_store.XXXXXX";
    const char *tmp = getenv("TMPDIR");
    char dirbuf[4096];
    if (tmp && *tmp) {
        snprintf(dirbuf, sizeof dirbuf, "%s/bench_store.XXXXXX", tmp);
    } else {
        snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    }
    if (!mkdtemp(dirbuf)) {
        perror("mkdtemp");
        return 1;
    }
    lt_store *store = NULL;
    char err[256];
    int rc = store_open(dirbuf, &store, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
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
        spans[i].attrs = (lt_attrs){attrs[i].kv, N_ATTRS};
        spans[i].kind = LT_KIND_CLIENT;
        spans[i].flags = 0x100;
    }
    lt_buf probe = {0};
    pb_encode_span(&probe, &spans[0]);
    uint64_t per_trace = 10, t0 = time_now_ns(), written = 0, mono0 = time_mono_ns();
    static uint8_t sample[SAMPLES][16];
    size_t n_sample = 0;
    uint64_t calls = (total + per_call - 1) / per_call, every = calls / SAMPLES + 1, call = 0;
    static const char hexdig[] = "0123456789abcdef";
    while (written < total) {
        uint64_t n = total - written < per_call ? total - written : per_call;
        uint8_t tid[16];
        uint64_t base = t0 + written * 1000000;
        for (uint64_t i = 0; i < n; i++) {
            lt_span *s = &spans[i];
            if (i % per_trace == 0) rand_bytes(tid, 16);
            memcpy(s->trace_id, tid, 16);
            rand_bytes(s->span_id, 8);
            s->has_parent = i % per_trace != 0;
            if (s->has_parent)
                memcpy(s->parent_span_id, spans[i - i % per_trace].span_id, 8);
            else
                memset(s->parent_span_id, 0, 8);
            s->name = s->has_parent ? LT_STR("chat gpt-4o") : LT_STR("invoke_agent support-agent");
            s->start_time_unix_nano = base + i * 1000;
            s->end_time_unix_nano = s->start_time_unix_nano + 850000000 + next_rand() % 1000000;
            s->status_code = next_rand() % 50 == 0 ? LT_STATUS_ERROR : LT_STATUS_UNSET;
            uint64_t r = next_rand();
            memcpy(attrs[i].resp_id, "chatcmpl-", 9);
            for (int k = 9; k < RESP_ID_LEN; k++, r = r >> 4 ? r >> 4 : next_rand())
                attrs[i].resp_id[k] = hexdig[r & 15];
        }
        if (call++ % every == 0 && n_sample < SAMPLES)
            memcpy(sample[n_sample++], spans[0].trace_id, 16);
        ss.n_spans = (uint32_t)n;
        batch.n_spans = n;
        if ((rc = store_write_traces(store, &batch))) {
            fprintf(stderr, "bench_store: write failed: %s\n", lt_strerror(rc));
            return 1;
        }
        written += n;
        if (isatty(2) && written % (per_call * 1000) == 0)
            fprintf(stderr, "\r%" PRIu64 " / %" PRIu64 " spans", written, total);
    }
    double secs = (double)(time_mono_ns() - mono0) / 1e9;
    if (isatty(2)) fprintf(stderr, "\r%60s\r", "");
    uint64_t used = 0;
    store_bytes_used(store, &used);
    uint64_t wrote = written_bytes();
    printf("bench_store: %" PRIu64 " spans (%zu B encoded each), %" PRIu64 " per call, %" PRIu64
           " per trace per call\n",
           total, probe.len, per_call, per_trace);
    printf("  %.2f s, %.0f spans/s\n", secs, (double)total / secs);
    printf("  %.0f bytes/span written to files (segments, WAL, checkpoints)\n",
           (double)wrote / (double)total);
    if (read_latency(store, sample, n_sample)) return 1;
    store_close(store);
    uint64_t on_disk = dir_bytes(dirbuf);
    printf("  %.0f bytes/span on disk (%.1f MB after close), %.0f bytes/span used pages\n",
           (double)on_disk / (double)total, (double)on_disk / 1e6, (double)used / (double)total);
    buf_free(&probe);
    remove_dir(dirbuf);
    free(spans);
    free(attrs);
    return 0;
usage:
    fprintf(stderr, "usage: bench_store [N] [SPANS_PER_CALL]\n");
    return 2;
}
