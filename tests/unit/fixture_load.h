/* fixture_load.h — the captured OTLP fixtures of one scenario, decoded as the receivers
 * decode them (protobuf, as sent over HTTP or gRPC, or JSON) and annotated with GenAI views, for
 * the processor tests. */
#ifndef LT_TESTS_FIXTURE_LOAD_H
#define LT_TESTS_FIXTURE_LOAD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_files.h"

#include "core/arena.h"
#include "genai/genai.h"
#include "otlp/otlp.h"

enum { FX_MAX_FILES = 64, FX_MAX_LIST = 256 };

typedef struct {
    lt_arena *a;
    char *bufs[FX_MAX_FILES];
    int n_bufs;
    lt_trace_batch tb[FX_MAX_FILES];
    int n_tb;
    lt_log_batch lb[FX_MAX_FILES];
    int n_lb;
} fx_scenario;

/* Loads every traces and logs file of dir, the traces annotated with prices (NULL: none);
 * 0, or -1 when a file does not decode. */
static int fx_load_priced(const char *dir, const genai_prices *prices, fx_scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->a = arena_new();
    if (!sc->a) return -1;
    char *names[FX_MAX_LIST];
    size_t n = fx_list(dir, names, FX_MAX_LIST);
    int rc = n ? 0 : -1; /* no folder, or an empty one */
    for (size_t i = 0; i < n; i++) {
        const char *m = names[i];
        bool traces = strstr(m, "-traces.") != NULL;
        otlp_format f = fx_ends(m, ".json") ? OTLP_JSON : OTLP_PROTOBUF;
        size_t len = 0;
        char *data = NULL;
        if ((traces || strstr(m, "-logs.")) && !fx_ends(m, ".meta.json") &&
            sc->n_bufs < FX_MAX_FILES) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, m);
            if (!(data = fx_read(path, &len))) rc = -1;
        }
        free(names[i]);
        if (!data) continue;
        sc->bufs[sc->n_bufs++] = data;
        /* .grpc.bin holds the request message with the gRPC framing already removed */
        uint8_t *body = (uint8_t *)data;
        if (traces) {
            lt_trace_batch *b = &sc->tb[sc->n_tb];
            if (otlp_decode_traces(sc->a, f, body, len, b) || genai_annotate(b, prices, sc->a))
                rc = -1;
            else
                sc->n_tb++;
        } else {
            lt_log_batch *b = &sc->lb[sc->n_lb];
            if (otlp_decode_logs(sc->a, f, body, len, b))
                rc = -1;
            else
                sc->n_lb++;
        }
    }
    return rc;
}

/* fx_load_priced without prices. */
FX_UNUSED static int fx_load(const char *dir, fx_scenario *sc)
{
    return fx_load_priced(dir, NULL, sc);
}

static void fx_free(fx_scenario *sc)
{
    for (int i = 0; i < sc->n_bufs; i++)
        free(sc->bufs[i]);
    arena_free(sc->a);
}

#endif
