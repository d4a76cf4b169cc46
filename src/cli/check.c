/* check.c — `llmtrace check`: verify a store against itself (store_check).
 *
 * Opens the store read-only (nothing is recovered, cut or removed, so a store left by a
 * crash is checked as the crash left it; a running server may keep writing meanwhile) and
 * prints one line: "store ok: ..." with what was checked, exit 0; or every problem found
 * (the first LT_CHECK_LISTED described) and "store has N problems", exit 1. A store that
 * cannot be opened or read at all is a one-line error on stderr, exit 1. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

int cmd_check(int argc, char **argv)
{
    const char *data = "./llmtrace-data";
    const opt_def defs[] = {
        {"data", "DIR|URL", OPT_STR, &data,
         "store: a directory (default ./llmtrace-data) or clickhouse://HOST:PORT/DB; also --store"},
        {0},
    };
    const opt_spec spec = {"check", "[options]",
                           "Verify a store: the database's integrity, every span and log record "
                           "readable where its row says, trace summaries agreeing with their "
                           "spans, indexes and GenAI views with what they point at. Read-only; "
                           "the server may run. Exits 1 when a problem is found.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace check: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    lt_store *store = NULL;
    lt_arena *a = NULL;
    char err[512] = "";
    int status = 1;
    struct stat sb;
    if (!strstr(data, "://") && (stat(data, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "llmtrace check: %s: no such store directory\n", data);
        goto out;
    }
    /* the problems are our output; the engine's own log lines would repeat them */
    log_set_level(LOG_ERROR + 1);
    if ((rc = store_open_read_only(data, &store, err, sizeof err))) {
        fprintf(stderr, "llmtrace check: cannot open store %s: %s\n", data,
                err[0] ? err : lt_strerror(rc));
        store = NULL;
        goto out;
    }
    lt_check_report rep;
    if (!(a = arena_new())) {
        fprintf(stderr, "llmtrace check: out of memory\n");
        goto out;
    }
    if ((rc = store_check(store, a, &rep))) {
        fprintf(stderr, "llmtrace check: %s: %s\n", data, lt_strerror(rc));
        goto out;
    }
    if (rep.problems == 0) {
        printf("store ok: %" PRIu64 " traces, %" PRIu64 " spans (%" PRIu64
               " with GenAI views), %" PRIu64 " log records, %" PRIu64 " content blocks, %" PRIu64
               " segments (%" PRIu64 " bytes)\n",
               rep.traces, rep.spans, rep.views, rep.logs, rep.content, rep.segments,
               rep.segment_bytes);
        status = fflush(stdout) == 0 ? 0 : 1;
        goto out;
    }
    for (uint32_t i = 0; i < rep.n_listed; i++)
        printf("problem: %.*s\n", (int)rep.listed[i].len, rep.listed[i].ptr);
    if (rep.problems > rep.n_listed)
        printf("... and %" PRIu64 " more\n", rep.problems - rep.n_listed);
    printf("store has %" PRIu64 " problem%s (%" PRIu64 " traces, %" PRIu64 " spans, %" PRIu64
           " log records checked)\n",
           rep.problems, rep.problems == 1 ? "" : "s", rep.traces, rep.spans, rep.logs);
    fflush(stdout);
out:
    store_close(store);
    arena_free(a);
    return status;
}
