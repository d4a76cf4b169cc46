/* util.h — small helpers shared by every layer: time, hex ids, hashing, number parsing.
 * All functions are pure or thread-safe. */
#ifndef LT_CORE_UTIL_H
#define LT_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Wall-clock time in Unix nanoseconds, and a monotonic clock in nanoseconds. */
uint64_t time_now_ns(void);
uint64_t time_mono_ns(void);

/* Writes 2*n lower-case hex digits and a NUL to out (size >= 2n+1). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*n hex digits (either case) from s into out. Returns 0, or LT_EINVAL
 * when s has another length or a non-hex character. */
int hex_decode(lt_str s, uint8_t *out, size_t n);

/* 64-bit non-cryptographic hash of bytes (FNV-1a folded with a final mix). */
uint64_t hash64(const void *p, size_t n, uint64_t seed);

/* Parses an unsigned decimal integer occupying all of s; LT_EINVAL on anything else or
 * overflow. */
int parse_u64(lt_str s, uint64_t *out);
/* Parses a signed decimal integer occupying all of s. */
int parse_i64(lt_str s, int64_t *out);
/* Parses a duration such as "90s", "15m", "12h", "7d", "500ms" into nanoseconds
 * (a bare number is seconds). */
int parse_duration_ns(const char *s, uint64_t *out);
/* Parses a size such as "512", "64KB", "10MB", "10GB", "1TiB" into bytes
 * (KB=1000, KiB=1024; a bare number is bytes). */
int parse_size(const char *s, uint64_t *out);

/* Encodes n bytes as standard base64 (with padding) into out (size >= 4*((n+2)/3)+1). */
void base64_encode(const uint8_t *in, size_t n, char *out);
/* Decodes standard base64 (padding optional, no whitespace) into out (size >= 3*len/4+3).
 * Returns the number of bytes written, or -1 on invalid input. */
long base64_decode(lt_str s, uint8_t *out);

#endif
