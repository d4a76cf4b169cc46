/* fuzz_genai.c — libFuzzer target for the GenAI layer (genai/genai.h) over hostile spans.
 *
 * Attribute values reach genai_normalize (JSON parameters, usage details, timestamps) and
 * genai_messages_collect (message arrays, flattened keys, log bodies) straight from the
 * network. Each input is decoded as an OTLP trace request and as a log request (OTLP/JSON
 * when it starts with '{', protobuf otherwise); every span is normalized, priced with the
 * built-in table, and has its messages collected with every log record of the input
 * attached. Any return other than 0, 1 or LT_ENOMEM, or a view whose fields have the wrong
 * type, aborts.
 *
 *   ./fuzz_genai -max_total_time=60 CORPUS_DIR   (seed with the fixture bodies) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "genai/genai.h"
#include "otlp/otlp.h"

enum { MAX_LOGS = 4096 };

static lt_arena *arena;
static genai_prices *prices;
static const lt_log_record *logs[MAX_LOGS];

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_genai: %s\n", what);
        abort();
    }
}

static void check_view(const lt_genai *g)
{
    for (int f = 0; f < GA_N_FIELDS; f++) {
        lt_val_type t = g->v[f].type;
        check(t == LT_VAL_EMPTY || t == model_genai_fields[f].type, "a field of the wrong type");
        if (t == LT_VAL_ARRAY)
            for (uint32_t i = 0; i < g->v[f].u.arr.n; i++)
                check(g->v[f].u.arr.items[i].type == LT_VAL_STRING, "a non-string array item");
    }
    for (genai_field f = GA_INPUT_TOKENS; f <= GA_REASONING; f++)
        check(g->v[f].type != LT_VAL_INT || g->v[f].u.i >= 0, "a negative token count");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!arena) {
        char err[256];
        arena = arena_new();
        check(arena && genai_prices_load(NULL, NULL, &prices, err, sizeof err) == 0,
              "setup failed");
    }
    otlp_format f = size && data[0] == '{' ? OTLP_JSON : OTLP_PROTOBUF;
    /* the JSON decoder parses in place: each decode gets its own copy */
    uint8_t *copy = malloc(size ? size : 1);
    check(copy != NULL, "out of memory");

    uint32_t n_logs = 0;
    lt_log_batch lb = {0};
    memcpy(copy, data, size);
    if (otlp_decode_logs(arena, f, copy, size, &lb) == 0)
        for (uint32_t i = 0; i < lb.n_rl; i++)
            for (uint32_t j = 0; j < lb.rl[i].n_scopes; j++)
                for (uint32_t k = 0; k < lb.rl[i].scopes[j].n_records && n_logs < MAX_LOGS; k++)
                    logs[n_logs++] = &lb.rl[i].scopes[j].records[k];

    uint8_t *copy2 = malloc(size ? size : 1);
    check(copy2 != NULL, "out of memory");
    memcpy(copy2, data, size);
    lt_trace_batch tb = {0};
    if (otlp_decode_traces(arena, f, copy2, size, &tb) == 0) {
        int rc = genai_annotate(&tb, prices, arena);
        check(rc == 0 || rc == LT_ENOMEM, "genai_annotate failed");
        for (uint32_t i = 0; i < tb.n_rs; i++)
            for (uint32_t j = 0; j < tb.rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < tb.rs[i].scopes[j].n_spans; k++) {
                    lt_span *s = &tb.rs[i].scopes[j].spans[k];
                    if (s->genai) check_view(s->genai);
                    genai_messages m;
                    rc = genai_messages_collect(s, logs, n_logs, arena, &m);
                    check(rc == 0 || rc == 1 || rc == LT_ENOMEM, "genai_messages_collect failed");
                }
    }
    /* log records whose span is not in the input: collected against a span of their id */
    if (n_logs) {
        lt_span s = {0};
        memcpy(s.span_id, logs[0]->span_id, 8);
        memcpy(s.trace_id, logs[0]->trace_id, 16);
        genai_messages m;
        int rc = genai_messages_collect(&s, logs, n_logs, arena, &m);
        check(rc == 0 || rc == 1 || rc == LT_ENOMEM, "genai_messages_collect (logs) failed");
    }
    free(copy);
    free(copy2);
    arena_reset(arena);
    return 0;
}
