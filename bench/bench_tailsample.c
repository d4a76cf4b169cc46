/* bench_tailsample.c — memory and speed of the tail sampler at num_traces traces held.
 *
 * usage: bench_tailsample [-n TRACES] [-m MAX_BYTES] FILE...
 *
 * FILE is a captured OTLP trace export (protobuf .pb or JSON .json), e.g. the 220-span
 * batch captures of ../shared/fixtures/otlp. The files are decoded and annotated once
 * (GenAI views and costs, as the receivers do); then the same batches are fed again and
 * again with fresh trace ids (each round rewrites every trace id in place) until TRACES
 * (default 50,000) distinct traces are held, with num_traces = TRACES and decision_wait
 * long enough that nothing is decided meanwhile: the figure is what the processor holds at
 * its trace bound. It prints the bytes the processor accounts (tailsamp_stats), the
 * process's resident memory before and after (VmRSS), consume throughput, and the time to
 * decide everything with the seed configuration's policies (errors + 10%). MAX_BYTES
 * (default 0: no byte bound) sets max_bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/util.h"
#include "genai/genai.h"
#include "otlp/otlp.h"
#include "pipeline/config.h"
#include "pipeline/tailsample.h"

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *d = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (d = malloc((size_t)n)) &&
            fread(d, 1, (size_t)n, f) != (size_t)n) {
            free(d);
            d = NULL;
        }
        *len = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return d;
}

typedef struct {
    uint64_t traces, spans;
} counts;

static int count(const lt_trace_batch *b, lt_arena *a, void *arg)
{
    counts *c = arg;
    c->traces++;
    c->spans += b->n_spans;
    arena_free(a);
    return 0;
}

enum { MAX_FILES = 64 };

int main(int argc, char **argv)
{
    long want = 50000;
    const char *max_bytes = "0";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "-n"))
            want = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-m"))
            max_bytes = argv[i + 1];
    }
    if (i >= argc || want <= 0) {
        fprintf(stderr, "usage: bench_tailsample [-n TRACES] [-m MAX_BYTES] FILE...\n");
        return 2;
    }
    char err[512];
    genai_prices *prices = NULL;
    if (genai_prices_load(NULL, NULL, &prices, err, sizeof err)) {
        fprintf(stderr, "prices: %s\n", err);
        return 1;
    }
    long rss0 = rss_kib();

    lt_trace_batch batches[MAX_FILES];
    lt_arena *arenas[MAX_FILES];
    uint8_t *bufs[MAX_FILES];
    int nb = 0;
    uint64_t spans_per_round = 0, bytes_in = 0;
    for (; i < argc && nb < MAX_FILES; i++) {
        size_t len = 0;
        bufs[nb] = load(argv[i], &len);
        if (!bufs[nb]) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 1;
        }
        size_t pl = strlen(argv[i]);
        bool json = pl > 5 && !strcmp(argv[i] + pl - 5, ".json");
        arenas[nb] = arena_new();
        int rc = otlp_decode_traces(arenas[nb], json ? OTLP_JSON : OTLP_PROTOBUF, bufs[nb], len,
                                    &batches[nb]);
        if (!rc) rc = genai_annotate(&batches[nb], prices, arenas[nb]);
        if (rc) {
            fprintf(stderr, "%s: %s\n", argv[i], lt_strerror(rc));
            return 1;
        }
        spans_per_round += batches[nb].n_spans;
        bytes_in += len;
        nb++;
    }
    long rss_loaded = rss_kib();

    char yaml[1024];
    snprintf(
        yaml, sizeof yaml,
        "decision_wait: 1h\n"
        "num_traces: %ld\n"
        "max_bytes: %s\n"
        "policies:\n"
        "  - { name: errors-policy, type: status_code, status_code: { status_codes: [ERROR] } }\n"
        "  - { name: sample-policy, type: probabilistic,\n"
        "      probabilistic: { sampling_percentage: 10 } }\n",
        want, max_bytes);
    cfg_doc *doc = NULL;
    tailsamp *ts = NULL;
    if (cfg_load_string(yaml, strlen(yaml), "tail_sampling.yaml", &doc, err, sizeof err) ||
        tailsamp_new(doc, cfg_root(doc), &ts, err, sizeof err)) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    cfg_free(doc);
    tailsamp_stats st;
    counts early = {0};
    uint64_t t0 = time_mono_ns(), fed = 0;
    for (uint32_t round = 1;; round++) {
        tailsamp_get_stats(ts, &st);
        /* traces seen: held, or decided early when a byte bound is set */
        if (st.traces_held + st.traces_kept + st.traces_dropped >= (uint64_t)want) break;
        for (int k = 0; k < nb; k++) {
            /* fresh ids: the round number in bytes 0..3 keeps a trace's spans together */
            for (uint32_t r = 0; r < batches[k].n_rs; r++)
                for (uint32_t s = 0; s < batches[k].rs[r].n_scopes; s++)
                    for (uint32_t p = 0; p < batches[k].rs[r].scopes[s].n_spans; p++)
                        memcpy(batches[k].rs[r].scopes[s].spans[p].trace_id, &round, 4);
            if (tailsamp_consume(ts, &batches[k], round)) {
                fprintf(stderr, "consume: out of memory\n");
                return 1;
            }
            fed += batches[k].n_spans;
        }
        /* as the pipeline does: emits what a bound made it decide early */
        if (tailsamp_tick(ts, round, count, &early)) {
            fprintf(stderr, "tick failed\n");
            return 1;
        }
    }
    uint64_t t1 = time_mono_ns();
    tailsamp_get_stats(ts, &st);
    long rss_held = rss_kib();
    printf("input: %d file(s), %llu spans per round, %llu bytes of OTLP per round\n", nb,
           (unsigned long long)spans_per_round, (unsigned long long)bytes_in);
    printf("held at the end: %llu traces, %llu spans; tailsamp_stats bytes_held %.1f MiB (%.0f "
           "bytes/span) "
           "+ index %.1f MiB\n",
           (unsigned long long)st.traces_held, (unsigned long long)st.spans_held,
           (double)st.bytes_held / (1 << 20), (double)st.bytes_held / (double)st.spans_held,
           (double)st.bytes_index / (1 << 20));
    printf("RSS: %.1f MiB at start, %.1f MiB with the inputs decoded, %.1f MiB holding "
           "(+%.1f MiB)\n",
           rss0 / 1024.0, rss_loaded / 1024.0, rss_held / 1024.0, (rss_held - rss_loaded) / 1024.0);
    printf("consume: %.0f spans/s (%llu spans, copies included); decided early: %llu traces "
           "(%llu kept)\n",
           (double)fed / ((double)(t1 - t0) / 1e9), (unsigned long long)fed,
           (unsigned long long)st.decided_early, (unsigned long long)early.traces);
    counts c = {0};
    uint64_t t2 = time_mono_ns();
    if (tailsamp_flush(ts, 1, count, &c)) {
        fprintf(stderr, "flush failed\n");
        return 1;
    }
    uint64_t t3 = time_mono_ns();
    tailsamp_get_stats(ts, &st);
    printf("decide all (errors + 10%%): %.1f ms, %llu traces kept (%llu spans), %llu dropped; "
           "bytes held after: %llu\n",
           (double)(t3 - t2) / 1e6, (unsigned long long)c.traces, (unsigned long long)c.spans,
           (unsigned long long)st.traces_dropped, (unsigned long long)st.bytes_held);
    tailsamp_free(ts);
    for (int k = 0; k < nb; k++) {
        arena_free(arenas[k]);
        free(bufs[k]);
    }
    genai_prices_free(prices);
    return 0;
}
