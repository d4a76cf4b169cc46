/* jsonw.h — writing JSON text into an lt_buf.
 *
 * Only the escaping and number rules live here; callers write the structure. Strings are
 * written as valid JSON whatever they contain: control characters are escaped, '<', '>'
 * and '&' become \u escapes (so JSON embedded in HTML stays inert), and bytes that are not
 * valid UTF-8 become U+FFFD. Errors are sticky in the buffer (lt_buf.oom). */
#ifndef LT_CORE_JSONW_H
#define LT_CORE_JSONW_H

#include <stdint.h>

#include "core/str.h"

/* Writes s as a quoted, escaped JSON string. */
void jsonw_str(lt_buf *b, lt_str s);
void jsonw_cstr(lt_buf *b, const char *s);
/* Writes an int64 as a JSON number. */
void jsonw_i64(lt_buf *b, int64_t v);
/* Writes a uint64 as a quoted decimal string (int64-safe for JavaScript readers). */
void jsonw_u64_str(lt_buf *b, uint64_t v);
/* Writes a double so that it reads back as the same double and as a JSON number that is
 * visibly not an integer ("1.0", "2.5e+300"); NaN and infinities, which JSON lacks, are
 * written as the strings "NaN", "Infinity", "-Infinity" (as proto3 JSON does). */
void jsonw_double(lt_buf *b, double v);
/* Writes n bytes as lower-case hex in quotes. */
void jsonw_hex(lt_buf *b, const uint8_t *p, size_t n);
/* Writes n bytes as standard base64 in quotes. */
void jsonw_base64(lt_buf *b, const uint8_t *p, size_t n);

#endif
