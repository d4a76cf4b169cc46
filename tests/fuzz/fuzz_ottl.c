/* fuzz_ottl.c — libFuzzer target for the OTTL statement parser (pipeline/ottl.c).
 *
 * The first byte picks the context, the rest is the statement. A statement that parses is
 * also run on a small span / event / log record, so the evaluator and the editors see what
 * the parser lets through. Seeds: any bytes work; statements such as those of
 * tests/unit/test_ottl.c make it faster. */
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
    ottl_stmt *s = NULL;
    char err[256];
    unsigned col = 0;
    int rc = ottl_parse((const char *)data + 1, size - 1, ctx, &s, &col, err, sizeof err);
    if (rc) {
        /* an error names a column inside the statement (or just past its end) */
        if (col > size) __builtin_trap();
        return 0;
    }
    lt_arena *a = arena_new();
    if (!a) {
        ottl_free(s);
        return 0;
    }
    lt_kv kv[3] = {
        {LT_STR("gen_ai.content.prompt"),
         {.type = LT_VAL_STRING, .u.s = LT_STR("id 123456-1234567")}},
        {LT_STR("n"), {.type = LT_VAL_INT, .u.i = 42}},
        {LT_STR("flag"), {.type = LT_VAL_BOOL, .u.b = true}},
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
        lt_event ev = {.name = LT_STR("event"), .attrs = {eitems, 3}};
        lt_span span = {.name = LT_STR("chat"), .kind = LT_KIND_CLIENT, .attrs = {items, 3}};
        span.events.items = &ev;
        span.events.n = 1;
        lt_log_record log = {.severity_number = 9,
                             .body = {.type = LT_VAL_STRING, .u.s = LT_STR("body 1")},
                             .attrs = {litems, 3}};
        ottl_target t = {.resource = &res,
                         .scope = &scope,
                         .span = &span,
                         .event = &ev,
                         .log = &log,
                         .arena = a};
        bool changed = false;
        (void)ottl_exec(s, &t, &changed, err, sizeof err);
    }
    arena_free(a);
    ottl_free(s);
    return 0;
}
