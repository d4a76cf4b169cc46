/* bench_redact.c — the cost of the transform and redaction processors per span, one thread.
 *
 * usage: bench_redact [-t SECONDS] FILE...
 *
 * FILE is a captured ExportTraceServiceRequest (.pb / .grpc.bin protobuf, or .json). Each
 * round decodes the file into an arena and annotates it (as the receiver does), then runs
 * one processor over the batch; only the processor is timed, since it changes the batch in
 * place and every round needs a fresh one. Three processors: the seed configuration's
 * transform (one replace_pattern), redaction with the five built-in detectors over every
 * attribute (JSON message values parsed and walked), and the same without looking into JSON.
 * Prints spans/s for each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/util.h"
#include "genai/genai.h"
#include "otlp/otlp.h"
#include "pipeline/config.h"
#include "pipeline/redact.h"
#include "pipeline/transform.h"

static const char SEED[] =
    "{\"error_mode\": \"ignore\", \"trace_statements\": [{\"context\": \"span\", \"statements\": "
    "[\"replace_pattern(attributes[\\\"gen_ai.content.prompt\\\"], "
    "\\\"\\\\\\\\b\\\\\\\\d{6}-\\\\\\\\d{7}\\\\\\\\b\\\", \\\"***\\\")\"]}]}";
static const char REDACT[] = "{\"allow_all_keys\": true, \"summary\": \"silent\", \"patterns\": "
                             "[\"email\", \"phone\", \"credit_card\", \"iban\", \"api_key\"]}";
static const char REDACT_FLAT[] =
    "{\"allow_all_keys\": true, \"summary\": \"silent\", \"structured\": false, \"patterns\": "
    "[\"email\", \"phone\", \"credit_card\", \"iban\", \"api_key\"]}";

typedef struct {
    const char *name;
    transform *t;
    redact *r;
} proc;

static cfg_doc *load(const char *json)
{
    cfg_doc *d;
    char err[256];
    if (cfg_load_string(json, strlen(json), "bench", &d, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return d;
}

int main(int argc, char **argv)
{
    double secs = 2;
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "-t")) {
        secs = atof(argv[2]);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: bench_redact [-t SECONDS] FILE...\n");
        return 2;
    }
    char err[512];
    proc procs[3] = {{"transform (seed replace_pattern)", NULL, NULL},
                     {"redaction (5 detectors, JSON-aware)", NULL, NULL},
                     {"redaction (5 detectors, text only)", NULL, NULL}};
    cfg_doc *d = load(SEED);
    if (transform_create(d, cfg_root(d), NULL, &procs[0].t, err, sizeof err)) return 1;
    cfg_free(d);
    const char *rc[2] = {REDACT, REDACT_FLAT};
    for (int i = 0; i < 2; i++) {
        d = load(rc[i]);
        if (redact_create(d, cfg_root(d), NULL, &procs[i + 1].r, err, sizeof err)) return 1;
        cfg_free(d);
    }
    lt_arena *a = arena_new();
    for (int f = first; f < argc; f++) {
        FILE *fp = fopen(argv[f], "rb");
        if (!fp) {
            perror(argv[f]);
            return 1;
        }
        fseek(fp, 0, SEEK_END);
        size_t len = (size_t)ftell(fp);
        fseek(fp, 0, SEEK_SET);
        uint8_t *orig = malloc(len), *work = malloc(len);
        if (!orig || !work || fread(orig, 1, len, fp) != len) return 1;
        fclose(fp);
        size_t nl = strlen(argv[f]);
        otlp_format fmt = nl > 5 && !strcmp(argv[f] + nl - 5, ".json") ? OTLP_JSON : OTLP_PROTOBUF;
        printf("%s (%zu bytes)\n", argv[f], len);
        for (int p = 0; p < 3; p++) {
            uint64_t spent = 0, spans = 0, t0 = time_mono_ns();
            while (time_mono_ns() - t0 < (uint64_t)(secs * 1e9)) {
                arena_reset(a);
                memcpy(work, orig, len);
                lt_trace_batch b;
                if (otlp_decode_traces(a, fmt, work, len, &b) || genai_annotate(&b, NULL, a)) {
                    fprintf(stderr, "%s: does not decode\n", argv[f]);
                    return 1;
                }
                uint64_t s = time_mono_ns();
                int r = procs[p].t ? transform_traces(procs[p].t, &b, a)
                                   : redact_traces(procs[p].r, &b, a);
                spent += time_mono_ns() - s;
                if (r) {
                    fprintf(stderr, "processor failed: %d\n", r);
                    return 1;
                }
                spans += b.n_spans;
            }
            printf("  %-40s %10.0f spans/s  (%.2f us/span)\n", procs[p].name,
                   spent ? (double)spans * 1e9 / (double)spent : 0.0,
                   spans ? (double)spent / 1e3 / (double)spans : 0.0);
        }
        free(orig);
        free(work);
    }
    arena_free(a);
    transform_free(procs[0].t);
    redact_free(procs[1].r);
    redact_free(procs[2].r);
    return 0;
}
