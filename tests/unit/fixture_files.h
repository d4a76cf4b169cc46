/* fixture_files.h — reading files for the unit tests: a whole file into memory, and every
 * scenario folder of the captured fixtures (LT_FIXTURES/otlp/LIBRARY/SCENARIO, each holding
 * NNNN-traces.* / NNNN-logs.* requests in arrival order and an expected.json).
 *
 * Header-only; a test uses what it needs of it. Include cmocka.h first (fx_must_read fails
 * the test). */
#ifndef LT_TESTS_FIXTURE_FILES_H
#define LT_TESTS_FIXTURE_FILES_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_UNUSED __attribute__((unused))

enum { FX_MAX_LIBS = 64, FX_MAX_SCENARIOS = 128 };

/* Whether s ends with suf. */
FX_UNUSED static bool fx_ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* qsort order of an array of C strings. */
FX_UNUSED static int fx_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole file at path, malloc'd and NUL-terminated (the NUL is not counted in *len);
 * NULL when it cannot be read. */
FX_UNUSED static void *fx_read(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *d = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (d = malloc((size_t)n + 1))) {
        if (fread(d, 1, (size_t)n, f) == (size_t)n) {
            d[n] = 0;
            *len = (size_t)n;
        } else {
            free(d);
            d = NULL;
        }
    }
    fclose(f);
    return d;
}

/* fx_read, and the test fails when the file cannot be read. */
FX_UNUSED static void *fx_must_read(const char *path, size_t *len)
{
    void *d = fx_read(path, len);
    if (!d) fail_msg("cannot read %s", path);
    return d;
}

/* The entries of dir that do not start with '.', sorted, malloc'd (free each); how many. */
FX_UNUSED static size_t fx_list(const char *dir, char **names, size_t max)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.' && n < max) names[n++] = strdup(e->d_name);
    if (d) closedir(d);
    qsort(names, n, sizeof *names, fx_cmp);
    return n;
}

/* Calls fn for every scenario folder, libraries and scenarios in name order, with the
 * folder's path and its library and scenario names; returns how many. */
FX_UNUSED static int
fx_walk(void (*fn)(const char *dir, const char *lib, const char *scen, void *arg), void *arg)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/otlp", LT_FIXTURES);
    char *libs[FX_MAX_LIBS];
    size_t nl = fx_list(root, libs, FX_MAX_LIBS);
    int count = 0;
    for (size_t i = 0; i < nl; i++) {
        char lib[4200];
        snprintf(lib, sizeof lib, "%s/%s", root, libs[i]);
        char *scs[FX_MAX_SCENARIOS];
        size_t ns = fx_list(lib, scs, FX_MAX_SCENARIOS);
        for (size_t j = 0; j < ns; j++) {
            char dir[8500];
            snprintf(dir, sizeof dir, "%s/%s", lib, scs[j]);
            fn(dir, libs[i], scs[j], arg);
            count++;
            free(scs[j]);
        }
        free(libs[i]);
    }
    return count;
}

typedef struct {
    void (*fn)(const char *dir, void *arg);
    void *arg;
} fx_each_fn;

FX_UNUSED static void fx_each_one(const char *dir, const char *lib, const char *scen, void *arg)
{
    (void)lib;
    (void)scen;
    const fx_each_fn *e = arg;
    e->fn(dir, e->arg);
}

/* fx_walk for a function that needs only the folder's path. */
FX_UNUSED static int fx_each(void (*fn)(const char *dir, void *arg), void *arg)
{
    fx_each_fn e = {fn, arg};
    return fx_walk(fx_each_one, &e);
}

#endif
