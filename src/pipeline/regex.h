/* regex.h — PCRE2 patterns as the pipeline's processors compile and run them.
 *
 * One place for what every pattern of a configuration gets: UTF-8 mode that still matches
 * around invalid UTF-8 in a value (PCRE2_MATCH_INVALID_UTF: an invalid sequence never
 * matches a pattern character, the rest of the value is matched as usual), JIT when the
 * machine has it (the interpreter runs the same pattern otherwise), and PCRE2's own
 * allocations through core/alloc.h, so that tests can fail them. A compiled pattern is
 * read-only and may be matched by several threads at once, each with its own match data.
 * Patterns are PCRE2 syntax, close to the RE2 syntax the collector uses for what people
 * write (classes, groups, (?P<name>...) and (?<name>...), \b, \d). */
#ifndef LT_PIPELINE_REGEX_H
#define LT_PIPELINE_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* A general context whose allocations go through lt_malloc / lt_free, for match data;
 * NULL when memory ran out. Free with pcre2_general_context_free. Any thread. */
pcre2_general_context *regex_context(void);

/* Match data for pairs ovector pairs (at least 1), allocated through lt_malloc like
 * regex_context's; NULL when memory ran out. Free with pcre2_match_data_free. Any thread. */
pcre2_match_data *regex_match_data(uint32_t pairs);

/* Compiles len bytes of pat. Returns 0 and *out (free with pcre2_code_free); LT_ENOMEM;
 * or LT_EINVAL with PCRE2's message ("missing closing parenthesis") in msg and the byte
 * offset of the error in pat in *offset. Any thread. */
int regex_compile(const char *pat, size_t len, pcre2_code **out, char *msg, size_t msglen,
                  size_t *offset);

#endif
