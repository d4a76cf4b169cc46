/* fuzz_search.c — libFuzzer target for the free-text index and the UI's endpoints over hostile
 * text.
 *
 * Span names, attribute values and log bodies reach the search index's normalizer (JSON
 * escapes, surrogates, long words) straight from the network, and the q= parameter reaches the
 * FTS5 query built from it. Each input is decoded as an OTLP trace request and as a log request
 * (OTLP/JSON when it starts with '{', protobuf otherwise) and written to a real SQLite store;
 * then the input itself, and each span name, is searched through api_handle (q=, with sort=cost
 * too), and the live tail and the timeseries are asked for. Every answer must be 200 or 400
 * with valid JSON, and a span's name, searched for, must find its trace (when it has a letter
 * or digit, and the answer is not a full page). The store is made anew every few hundred
 * inputs, so that it stays small.
 *
 *   ./fuzz_search -max_total_time=60 CORPUS_DIR   (seed with the fixture bodies) */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/str.h"
#include "otlp/otlp.h"
#include "store/store.h"

enum { INPUTS_PER_STORE = 300, MAX_NAMES = 8 };

static lt_arena *arena;
static lt_store *store;
static char dir[64];
static int inputs;

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_search: %s\n", what);
        abort();
    }
}

static void fresh_store(void)
{
    char cmd[128], err[256];
    if (store) {
        store_close(store);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        check(system(cmd) == 0, "cannot remove the store");
    }
    snprintf(dir, sizeof dir, "/tmp/fuzz_search.XXXXXX");
    check(mkdtemp(dir) != NULL, "mkdtemp failed");
    check(store_open(dir, &store, err, sizeof err) == 0, err);
}

static void remove_store(void)
{
    char cmd[128];
    store_close(store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_search: cannot remove %s\n", dir);
}

/* Appends s percent-encoded (every byte but letters and digits). */
static void pct(lt_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (isalnum(c)) {
            buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

/* GET path?query: 200 or 400, valid JSON; the parsed answer (NULL on 400). */
static json_t *ask(const char *path, const lt_buf *query)
{
    lt_buf out = {0};
    const char *ct;
    lt_str q = {query ? query->data : "", query ? query->len : 0};
    int status = api_handle(store, LT_STR("GET"), lt_str_c(path), q, &out, &ct);
    check(!out.oom, "out of memory in an answer");
    if (status != 200 && status != 400) {
        fprintf(stderr, "fuzz_search: %s?%.*s: %d %.*s\n", path, (int)q.len, q.ptr, status,
                (int)out.len, out.data);
        abort();
    }
    json_error_t err;
    json_t *doc = json_loadb(out.data ? out.data : "", out.len, JSON_ALLOW_NUL, &err);
    if (!doc) {
        fprintf(stderr, "fuzz_search: %s answered %d, not JSON (%s): %.*s\n", path, status,
                err.text, (int)(out.len < 2000 ? out.len : 2000), out.data);
        abort();
    }
    buf_free(&out);
    if (status == 200) return doc;
    json_decref(doc);
    return NULL;
}

/* Searches for name: when the answer is not a full page, the trace must be in it. */
static void find_name(lt_str name, const uint8_t trace_id[16])
{
    bool word = false;
    for (size_t i = 0; i < name.len && !word; i++)
        word = isalnum((unsigned char)name.ptr[i]);
    lt_buf q = {0};
    buf_append_c(&q, "start=0&limit=1000&q=");
    pct(&q, name.ptr, name.len);
    json_t *doc = ask("/api/traces", &q);
    buf_free(&q);
    if (!doc) return; /* too common a text: a 400 */
    json_t *list = json_object_get(doc, "traces");
    char hex[33];
    lt_buf h = {0};
    jsonw_hex(&h, trace_id, 16);
    snprintf(hex, sizeof hex, "%.*s", 32, h.data + 1);
    buf_free(&h);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "trace_id"));
        if (id && !strcmp(id, hex)) found = true;
    }
    if (word && json_array_size(list) < 1000 && !found) {
        fprintf(stderr, "fuzz_search: the span name '%.*s' does not find its trace\n",
                (int)name.len, name.ptr);
        abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!arena) {
        log_set_level(LOG_ERROR + 1);
        arena = arena_new();
        check(arena != NULL, "setup failed");
        atexit(remove_store);
    }
    if (!store || ++inputs % INPUTS_PER_STORE == 0) fresh_store();
    otlp_format f = size && data[0] == '{' ? OTLP_JSON : OTLP_PROTOBUF;
    /* the JSON decoder parses in place: each decode gets its own copy */
    uint8_t *copy = malloc(size ? size : 1), *copy2 = malloc(size ? size : 1);
    check(copy && copy2, "out of memory");
    memcpy(copy, data, size);
    memcpy(copy2, data, size);
    lt_log_batch lb = {0};
    if (otlp_decode_logs(arena, f, copy, size, &lb) == 0) {
        int rc = store_write_logs(store, &lb);
        check(rc == 0 || rc == LT_ENOMEM, "write_logs failed");
    }
    lt_trace_batch tb = {0};
    const lt_span *named[MAX_NAMES];
    uint32_t n_named = 0;
    if (otlp_decode_traces(arena, f, copy2, size, &tb) == 0) {
        int rc = store_write_traces(store, &tb);
        check(rc == 0 || rc == LT_ENOMEM, "write_traces failed");
        for (uint32_t i = 0; rc == 0 && i < tb.n_rs; i++)
            for (uint32_t j = 0; j < tb.rs[i].n_scopes; j++)
                for (uint32_t k = 0; k < tb.rs[i].scopes[j].n_spans && n_named < MAX_NAMES; k++)
                    named[n_named++] = &tb.rs[i].scopes[j].spans[k];
    }
    for (uint32_t i = 0; i < n_named; i++)
        find_name(named[i]->name, named[i]->trace_id);
    /* the input as search text (its first bytes), and as raw query strings */
    lt_buf q = {0};
    buf_append_c(&q, "start=0&q=");
    pct(&q, (const char *)data, size < 512 ? size : 512);
    json_decref(ask("/api/traces", &q));
    buf_append_c(&q, "&sort=cost&limit=5");
    json_decref(ask("/api/traces", &q));
    buf_reset(&q);
    buf_append(&q, data, size < 1024 ? size : 1024);
    json_decref(ask("/api/live", &q));
    json_decref(ask("/api/genai/timeseries", &q));
    json_decref(ask("/api/traces", &q));
    buf_reset(&q);
    buf_append_c(&q, "after=0&limit=1000");
    json_decref(ask("/api/live", &q));
    buf_free(&q);
    free(copy);
    free(copy2);
    arena_reset(arena);
    return 0;
}
