/* ui.h — the web UI: its files, compiled into the binary at build time, and which of them
 * answers a request path.
 *
 * The UI is plain HTML, CSS and JavaScript modules in src/ui/ (no build step);
 * cmake/embed_dir.cmake turns every file there except the C sources into one table at
 * build time, rebuilt when a file changes. This module only looks things up: the HTTP
 * server (net/) sends the bytes with the headers below, for GET and HEAD, without asking
 * for the API token (the files hold no data; the API calls the UI makes still need it).
 *
 * Paths, as received (percent-encoded, no query):
 *   "/", "/ui", "/ui/"      index.html
 *   "/ui/NAME"              the embedded file NAME when the last segment holds a dot
 *                           ("/ui/app.js", "/ui/pages/traces.js"): an asset; 404 when no
 *                           such file is embedded
 *   any other "/ui/..."     index.html: a page of the app ("/ui/trace/4bf9…"), so that
 *                           deep links and reloads load the app, whose router draws it
 * A path with an empty, "." or ".." segment (also percent-encoded), a backslash or a NUL
 * is not found: nothing here touches the file system, and such paths never name a page.
 * So the last segment of a page's path never holds a dot. */
#ifndef LT_UI_UI_H
#define LT_UI_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* The Content-Security-Policy of every UI response: the UI loads only its own files and
 * calls only its own origin; no inline script or style, no plugins, no framing. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

typedef struct {
    const unsigned char *data; /* static; never freed */
    size_t len;
    const char *content_type; /* static; text types carry "; charset=utf-8" */
    const char *etag;         /* static strong entity tag, quotes included: "\"3f…\"" */
    const char *name;         /* the embedded file, relative to src/ui/ ("index.html") */
} ui_asset;

/* Whether path belongs to the UI ("/", "/ui" or under "/ui/"): the server answers it from
 * ui_lookup(), a 404 included, and never passes it on to the API. */
bool ui_path(lt_str path);

/* Fills *out with what answers path (see above). Returns 0, or LT_ENOTFOUND for a path
 * outside the UI, an asset that is not embedded, or a path with a bad segment. Any
 * thread. */
int ui_lookup(lt_str path, ui_asset *out);

/* Whether an If-None-Match header value (RFC 9110 section 13.1.2: "*" or a list of entity
 * tags, compared weakly) matches etag, so that 304 Not Modified may answer. A malformed
 * value matches nothing. */
bool ui_etag_match(lt_str if_none_match, const char *etag);

#endif
