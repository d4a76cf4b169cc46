/* client.h — what the read commands of the CLI (traces, show, cost) share: getting API answers,
 * and writing them for a terminal.
 *
 * An answer comes either from a running server over HTTP (libcurl) or, with --data, from
 * a store directory opened in-process and asked through api_handle(): both paths give
 * the same JSON, so the commands have one parser (jansson) and one renderer. Renderers
 * write into an lt_buf with a client_style, so tests can render without a terminal.
 * Single-threaded (the CLI's main thread). */
#ifndef LT_CLI_CLIENT_H
#define LT_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "store/store.h"

typedef struct {
    const char *cmd;    /* command name for error messages ("show") */
    const char *server; /* base URL of a running server, used when data is NULL */
    const char *data;   /* store directory read in-process, or NULL */
    lt_store *store;
    void *curl; /* CURL *, created on first use */
} client;

/* Prepares c; opens the store when data is set (it must exist: a read command never
 * creates one). Returns 0, or -1 after printing a one-line error. */
int client_open(client *c, const char *cmd, const char *server, const char *data);
/* GETs path (e.g. "/api/traces") with query (already encoded, NULL for none) into body.
 * Returns the HTTP status, or -1 after printing a one-line error (server unreachable). */
long client_get(client *c, const char *path, const char *query, lt_buf *body);
/* Parses an answer as a JSON object. NULL after printing a one-line error. The caller
 * json_decref()s the result. */
json_t *client_parse(client *c, const lt_buf *body);
/* Prints "llmtrace CMD: <what> (HTTP status): <the answer's error text>" for a failed
 * call. */
void client_report(client *c, long status, const lt_buf *body);
/* NULL-tolerant; releases the store and the HTTP handle. */
void client_close(client *c);

/* Appends "&name=value" (no '&' for the first) percent-encoded (RFC 3986 unreserved
 * characters kept) to query. */
void client_param(lt_buf *query, const char *name, const char *value);
/* Appends "start=<now - since_ns>" (Unix nanoseconds, at least 1): a --since window. */
void client_param_since(lt_buf *query, uint64_t since_ns);

/* How to write for the terminal at hand. */
typedef struct {
    bool color;    /* ANSI SGR colours */
    bool utf8;     /* block and box-drawing characters; otherwise ASCII only */
    int bar_width; /* columns of a waterfall bar */
    int columns;   /* width of the terminal; 0 = unknown (CLIENT_COLUMNS is assumed) */
} client_style;

enum { CLIENT_COLUMNS = 120 }; /* the width assumed when output is not a terminal */

/* Colour when stdout is a TTY, NO_COLOR is unset or empty and TERM is not "dumb"; UTF-8
 * when the locale (LC_ALL, LC_CTYPE or LANG) names it; columns from the terminal, else
 * from $COLUMNS, else 0. */
client_style client_style_detect(void);

/* Appends s in exactly width columns: characters that could drive the terminal (C0, DEL,
 * C1 controls) become '?', non-ASCII becomes '?' without utf8, a longer text is cut with
 * an ellipsis, a shorter one padded with spaces (on the left when right_align). Counts
 * one column per code point. */
void client_fit(lt_buf *out, const char *s, size_t width, bool right_align, bool utf8);
/* Human-readable duration with three significant digits: "850ns", "12.3µs" ("us"
 * without utf8), "123ms", "1.90s", "2m03s", "1h02m". */
void client_duration(char *dst, size_t n, uint64_t ns, bool utf8);
/* Local time as ISO 8601 with milliseconds: "2024-11-21T19:20:00.123". */
void client_time(char *dst, size_t n, uint64_t unix_ns);
/* An amount of US dollars: from a dollar up with two decimals ("$4.57", "$1234.50"), below
 * a dollar with four ("$0.0123"), below a cent with three significant digits ("$0.000364",
 * "$0.0000002"); "$0" for zero or less. */
void client_money(char *dst, size_t n, double usd);
/* A count with thousands separators: "1,234,567". */
void client_count(char *dst, size_t n, uint64_t v);
/* A uint64 member written as a decimal string (or a JSON integer); 0 when absent. */
uint64_t client_u64(const json_t *obj, const char *key);
/* A number member (integer or real), or fallback when absent or not a number. */
double client_num(const json_t *obj, const char *key, double fallback);
/* A string member, or "" when absent or not a string. */
const char *client_str(const json_t *obj, const char *key);

/* ANSI SGR sequences, or "" when colour is off. */
const char *client_sgr(const client_style *st, const char *code);

/* Renderers (traces.c, show.c): append the text of an API answer to out. Return 0, or
 * LT_EINVAL when doc has not the expected shape, LT_ENOMEM. */
int traces_render(lt_buf *out, const json_t *doc, const client_style *st);
int show_render(lt_buf *out, const json_t *doc, const client_style *st, bool events);
/* The answer of /api/genai/summary as a table, with a total row (cost.c). */
int cost_render(lt_buf *out, const json_t *doc, const client_style *st);

#endif
