/* fixture_load.h — the captured OTLP fixtures of one scenario, decoded as the receivers
 * decode them (protobuf, as sent over HTTP or gRPC, or JSON) and annotated with GenAI views, for
 * the processor tests. */
#ifndef LT_TESTS_FIXTURE_LOAD_H
#define LT_TESTS_FIXTURE_LOAD_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "genai/genai.h"
#include "otlp/otlp.h"

enum { FX_MAX_FILES = 64 };

typedef struct {
    lt_arena *a;
    char *bufs[FX_MAX_FILES];
    int n_bufs;
    lt_trace_batch tb[FX_MAX_FILES];
    int n_tb;
    lt_log_batch lb[FX_MAX_FILES];
    int n_lb;
} fx_scenario;

static bool fx_ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static char *fx_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    if (d) d[n] = 0;
    *len = (size_t)n;
    return d;
}

static int fx_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every traces and logs file of dir; 0, or -1 when a file does not decode. */
static int fx_load(const char *dir, fx_scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->a = arena_new();
    if (!sc->a) return -1;
    char *names[FX_MAX_FILES];
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        const char *m = e->d_name;
        if (fx_ends(m, ".meta.json") || fx_ends(m, "expected.json")) continue;
        if (!strstr(m, "-traces.") && !strstr(m, "-logs.")) continue;
        if (n < FX_MAX_FILES) names[n++] = strdup(m);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, fx_cmp);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *data = fx_read(path, &len);
        bool traces = strstr(names[i], "-traces.") != NULL;
        otlp_format f = fx_ends(names[i], ".json") ? OTLP_JSON : OTLP_PROTOBUF;
        free(names[i]);
        if (!data) {
            rc = -1;
            continue;
        }
        sc->bufs[sc->n_bufs++] = data;
        /* .grpc.bin holds the request message with the gRPC framing already removed */
        uint8_t *body = (uint8_t *)data;
        if (traces) {
            lt_trace_batch *b = &sc->tb[sc->n_tb];
            if (otlp_decode_traces(sc->a, f, body, len, b) || genai_annotate(b, NULL, sc->a))
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

static void fx_free(fx_scenario *sc)
{
    for (int i = 0; i < sc->n_bufs; i++)
        free(sc->bufs[i]);
    arena_free(sc->a);
}

/* Calls fn(dir) for every scenario folder LT_FIXTURES/otlp/FAMILY/SCENARIO. */
static int fx_each(void (*fn)(const char *dir, void *arg), void *arg)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/otlp", LT_FIXTURES);
    DIR *d = opendir(root);
    if (!d) return 0;
    char *fams[64];
    int nf = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && nf < 64) fams[nf++] = strdup(e->d_name);
    closedir(d);
    qsort(fams, (size_t)nf, sizeof *fams, fx_cmp);
    int count = 0;
    for (int i = 0; i < nf; i++) {
        char fam[4200];
        snprintf(fam, sizeof fam, "%s/%s", root, fams[i]);
        DIR *s = opendir(fam);
        char *scs[128];
        int ns = 0;
        for (struct dirent *e; s && (e = readdir(s));)
            if (e->d_name[0] != '.' && ns < 128) scs[ns++] = strdup(e->d_name);
        if (s) closedir(s);
        qsort(scs, (size_t)ns, sizeof *scs, fx_cmp);
        for (int j = 0; j < ns; j++) {
            char dir[8500];
            snprintf(dir, sizeof dir, "%s/%s", fam, scs[j]);
            fn(dir, arg);
            count++;
            free(scs[j]);
        }
        free(fams[i]);
    }
    return count;
}

#endif
