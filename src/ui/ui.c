/* ui.c — finds the embedded UI file that answers a request path (contract in ui.h).
 *
 * The table (ui_int.h) is generated at build time and holds a handful of files, so a
 * lookup is a linear scan with exact comparison: no path is ever joined to a directory or
 * opened, which is what keeps "/ui/../x" harmless; the segment check only makes such
 * paths a clear 404 instead of the app. */
#include "ui/ui.h"

#include <string.h>

#include "core/err.h"
#include "ui/ui_int.h"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"}, /* RFC 9239; module scripts require it */
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".json", "application/json"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *ui_content_type(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && memcmp(name + n - e, types[i].ext, e) == 0) return types[i].type;
    }
    return "application/octet-stream";
}

bool ui_path(lt_str p)
{
    return lt_str_eq_c(p, "/") || lt_str_eq_c(p, "/ui") ||
           (p.len >= 4 && memcmp(p.ptr, "/ui/", 4) == 0);
}

/* Whether seg is "." or "..", also percent-encoded ("%2e", ".%2E", ...; RFC 3986 section
 * 6.2.2.2 makes them equivalent). */
static bool dot_segment(lt_str seg)
{
    size_t dots = 0, i = 0;
    while (i < seg.len) {
        if (seg.ptr[i] == '.') {
            i++;
        } else if (seg.len - i >= 3 && seg.ptr[i] == '%' && seg.ptr[i + 1] == '2' &&
                   (seg.ptr[i + 2] == 'e' || seg.ptr[i + 2] == 'E')) {
            i += 3;
        } else {
            return false;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

/* Whether rest ("a/b.js", after "/ui/") is made of plain segments: none empty (a trailing
 * slash aside) or a dot segment, and no backslash or NUL anywhere. */
static bool segments_ok(lt_str rest)
{
    if (memchr(rest.ptr, '\\', rest.len) || memchr(rest.ptr, '\0', rest.len)) return false;
    size_t i = 0;
    while (i < rest.len) {
        const char *slash = memchr(rest.ptr + i, '/', rest.len - i);
        size_t end = slash ? (size_t)(slash - rest.ptr) : rest.len;
        lt_str seg = {rest.ptr + i, end - i};
        if (seg.len == 0 && end < rest.len) return false; /* "a//b" */
        if (dot_segment(seg)) return false;
        i = end + 1;
    }
    return true;
}

static int find(lt_str name, ui_asset *out)
{
    for (size_t i = 0; i < ui_files_count; i++) {
        const ui_file *f = &ui_files[i];
        if (!lt_str_eq_c(name, f->path)) continue;
        *out = (ui_asset){.data = f->data,
                          .len = f->len,
                          .content_type = ui_content_type(f->path),
                          .etag = f->etag,
                          .name = f->path};
        return 0;
    }
    return LT_ENOTFOUND;
}

int ui_lookup(lt_str path, ui_asset *out)
{
    static const lt_str index = LT_STR("index.html");
    if (!ui_path(path)) return LT_ENOTFOUND;
    if (path.len <= 4) return find(index, out); /* "/", "/ui", "/ui/" */
    lt_str rest = {path.ptr + 4, path.len - 4};
    if (!segments_ok(rest)) return LT_ENOTFOUND;
    const char *last = rest.ptr;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.ptr[i] == '/') last = rest.ptr + i + 1;
    lt_str seg = {last, (size_t)(rest.ptr + rest.len - last)};
    return find(memchr(seg.ptr, '.', seg.len) ? rest : index, out);
}

/* Skips optional whitespace (RFC 9110 section 5.6.3) and list commas. */
static size_t skip_ows(lt_str s, size_t i, bool commas)
{
    while (i < s.len && (s.ptr[i] == ' ' || s.ptr[i] == '\t' || (commas && s.ptr[i] == ',')))
        i++;
    return i;
}

bool ui_etag_match(lt_str v, const char *etag)
{
    lt_str want = lt_str_c(etag);
    size_t i = skip_ows(v, 0, true);
    if (i < v.len && v.ptr[i] == '*') return skip_ows(v, i + 1, false) == v.len;
    while (i < v.len) {
        /* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; weak comparison ignores "W/" */
        if (v.len - i >= 2 && v.ptr[i] == 'W' && v.ptr[i + 1] == '/') i += 2;
        if (i >= v.len || v.ptr[i] != '"') return false;
        const char *close = memchr(v.ptr + i + 1, '"', v.len - i - 1);
        if (!close) return false;
        size_t end = (size_t)(close - v.ptr) + 1;
        if (lt_str_eq((lt_str){v.ptr + i, end - i}, want)) return true;
        i = skip_ows(v, end, false);
        if (i < v.len && v.ptr[i] != ',') return false;
        i = skip_ows(v, i, true);
    }
    return false;
}
