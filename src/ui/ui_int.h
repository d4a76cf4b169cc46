/* ui_int.h — the table of embedded files (private to ui/ and its tests).
 *
 * The build generates its definition from the files of src/ui/ (cmake/embed_dir.cmake):
 * sorted by path, bytes followed by one NUL that len does not count. */
#ifndef LT_UI_UI_INT_H
#define LT_UI_UI_INT_H

#include <stddef.h>

typedef struct {
    const char *path; /* relative to src/ui/, '/' separated: "pages/traces.js" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* "\"<20 hex digits of the SHA-256>\"" */
} ui_file;

extern const ui_file ui_files[];
extern const size_t ui_files_count;

/* The Content-Type for a file name, by its extension; "application/octet-stream" when the
 * extension is not known (nosniff then keeps browsers from guessing). */
const char *ui_content_type(const char *name);

#endif
