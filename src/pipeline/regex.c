/* regex.c — compiling PCRE2 patterns for the processors (see regex.h). */
#include "pipeline/regex.h"

#include <stdio.h>

#include "core/alloc.h"
#include "core/err.h"

static void *regex_malloc(size_t n, void *ud)
{
    (void)ud;
    return lt_malloc(n);
}

static void regex_free(void *p, void *ud)
{
    (void)ud;
    lt_free(p);
}

pcre2_general_context *regex_context(void)
{
    return pcre2_general_context_create(regex_malloc, regex_free, NULL);
}

pcre2_match_data *regex_match_data(uint32_t pairs)
{
    /* the match data keeps a copy of the context's allocators, so the context can go */
    pcre2_general_context *gc = regex_context();
    pcre2_match_data *md = gc ? pcre2_match_data_create(pairs, gc) : NULL;
    pcre2_general_context_free(gc);
    return md;
}

int regex_compile(const char *pat, size_t len, pcre2_code **out, char *msg, size_t msglen,
                  size_t *offset)
{
    *out = NULL;
    *offset = 0;
    pcre2_general_context *gc = regex_context();
    pcre2_compile_context *cc = gc ? pcre2_compile_context_create(gc) : NULL;
    int ec = PCRE2_ERROR_HEAP_FAILED;
    PCRE2_SIZE at = 0;
    if (cc)
        *out = pcre2_compile((PCRE2_SPTR)(pat ? pat : ""), len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                             &ec, &at, cc);
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(gc);
    if (*out) {
        /* JIT is an optimisation: where it is unavailable the interpreter runs the pattern */
        (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
        return 0;
    }
    if (ec == PCRE2_ERROR_HEAP_FAILED) return LT_ENOMEM;
    PCRE2_UCHAR m[160];
    pcre2_get_error_message(ec, m, sizeof m);
    if (msg && msglen) snprintf(msg, msglen, "%s", (const char *)m);
    *offset = at;
    return LT_EINVAL;
}
