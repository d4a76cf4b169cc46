/* fuzz_ottl.c — libFuzzer target for the OTTL parser (pipeline/ottl.c): statements, and
 * conditions on their own as the filter processor takes them.
 *
 * The first byte picks what the rest is: its value modulo 5 the context (resource, scope,
 * span, spanevent, log), and (value / 5) modulo 2 whether it is a statement (0: bytes 0-4)
 * or a condition (1: bytes 5-9). What parses is also run on a small span / event / log
 * record, so the evaluator, the converters and the editors see what the parser lets
 * through. Seeds: tests/data/ottl/ (a context byte, then the text); any bytes work. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "pipeline/ottl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ottl_context ctx = (ottl_context)(data[0] % 5);
    bool condition = (data[0] / 5) % 2 == 1;
    ottl_stmt *s = NULL;
    ottl_cond *c = NULL;
    char err[256];
    unsigned col = 0;
    int rc =
        condition
            ? ottl_parse_condition((const char *)data + 1, size - 1, ctx, &c, &col, err, sizeof err)
            : ottl_parse((const char *)data + 1, size - 1, ctx, &s, &col, err, sizeof err);
    if (rc) {
        /* an error names a column inside the statement (or just past its end) */
        if (col > size) __builtin_trap();
        return 0;
    }
    lt_arena *a = arena_new();
    if (!a) {
        ottl_free(s);
        ottl_cond_free(c);
        return 0;
    }
    /* every kind of value, for the converters (IsList, IsMap, Len, ...) */
    lt_value tags[2] = {{.type = LT_VAL_STRING, .u.s = LT_STR("a")},
                        {.type = LT_VAL_DOUBLE, .u.d = 0.5}};
    lt_kv meta[1] = {{LT_STR("k"), {.type = LT_VAL_STRING, .u.s = LT_STR("v")}}};
    enum { N = 5 };
    lt_kv kv[N] = {
        {LT_STR("gen_ai.content.prompt"),
         {.type = LT_VAL_STRING, .u.s = LT_STR("id 123456-1234567")}},
        {LT_STR("n"), {.type = LT_VAL_INT, .u.i = 42}},
        {LT_STR("flag"), {.type = LT_VAL_BOOL, .u.b = true}},
        {LT_STR("tags"), {.type = LT_VAL_ARRAY, .u.arr = {tags, 2}}},
        {LT_STR("meta"), {.type = LT_VAL_KVLIST, .u.kv = {meta, 1}}},
    };
    lt_kv *items = arena_alloc(a, sizeof kv);
    lt_kv *eitems = arena_alloc(a, sizeof kv);
    lt_kv *litems = arena_alloc(a, sizeof kv);
    if (items && eitems && litems) {
        memcpy(items, kv, sizeof kv);
        memcpy(eitems, kv, sizeof kv);
        memcpy(litems, kv, sizeof kv);
        lt_resource res = {.attrs = {NULL, 0}};
        lt_scope scope = {.name = LT_STR("scope")};
        lt_event ev = {.name = LT_STR("event"), .attrs = {eitems, N}};
        lt_span span = {.name = LT_STR("chat"), .kind = LT_KIND_CLIENT, .attrs = {items, N}};
        span.events.items = &ev;
        span.events.n = 1;
        lt_log_record log = {.severity_number = 9,
                             .body = {.type = LT_VAL_STRING, .u.s = LT_STR("body 1")},
                             .attrs = {litems, N}};
        ottl_target t = {.resource = &res,
                         .scope = &scope,
                         .span = &span,
                         .event = &ev,
                         .log = &log,
                         .arena = a};
        bool changed = false, match = false;
        if (s) (void)ottl_exec(s, &t, &changed, err, sizeof err);
        /* a condition never changes what it looks at */
        if (c && !ottl_eval_condition(c, &t, &match, err, sizeof err) &&
            (span.attrs.items != items || span.attrs.n != N || log.attrs.n != N ||
             memcmp(items, kv, sizeof kv) != 0))
            __builtin_trap();
    }
    arena_free(a);
    ottl_free(s);
    ottl_cond_free(c);
    return 0;
}
