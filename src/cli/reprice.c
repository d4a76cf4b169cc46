/* reprice.c — `llmtrace reprice`: recompute the stored costs with the current price table.
 *
 * Costs are computed at ingest from the price table of that moment; when prices change
 * (a new model, a corrected entry, negotiated rates in a --prices file) the stored costs
 * can be recomputed from the stored token counts. The store walks every stored GenAI view
 * (store_rederive) and keeps the trace totals and aggregates consistent; for each view a
 * cost the sender reported is kept and any other is priced again (genai_price_apply).
 *
 * This writes the store, so it needs the store's write lock: while `llmtrace serve` holds
 * the directory the store opens read-only and refuses, and we say to stop the server. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "genai/genai.h"
#include "store/store.h"

typedef struct {
    const genai_prices *prices;
    uint64_t repriced; /* views priced again (not "reported", with token counts) */
    double before, after;
} reprice_ctx;

/* The store's rederive callback: one stored view. */
static int reprice_view(void *arg, lt_genai *g, uint64_t span_start_unix_nano)
{
    reprice_ctx *c = arg;
    c->before += genai_double(g, GA_COST, 0);
    if (!lt_str_eq_c(genai_str(g, GA_COST_SOURCE), "reported")) {
        g->v[GA_COST] = (lt_value){.type = LT_VAL_EMPTY};
        g->v[GA_COST_SOURCE] = (lt_value){.type = LT_VAL_EMPTY};
        if (genai_has(g, GA_INPUT_TOKENS) || genai_has(g, GA_OUTPUT_TOKENS)) c->repriced++;
    }
    genai_price_apply(c->prices, span_start_unix_nano, g);
    c->after += genai_double(g, GA_COST, 0);
    return 0;
}

typedef struct {
    uint64_t last_ns; /* monotonic time of the last redraw */
    int last_pct;
    bool drawn;
} progress_state;

/* A progress bar on stderr, redrawn at most ten times a second. Only called on a TTY. */
static void progress(void *arg, uint64_t done, uint64_t total)
{
    progress_state *p = arg;
    uint64_t now = time_mono_ns();
    int pct = total ? (int)(done * 100 / total) : 100;
    if (p->drawn && done < total && (pct == p->last_pct || now - p->last_ns < 100000000)) return;
    p->last_ns = now;
    p->last_pct = pct;
    p->drawn = true;
    enum { BAR = 30 };
    char bar[BAR + 1];
    int fill = pct * BAR / 100;
    for (int i = 0; i < BAR; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR] = 0;
    fprintf(stderr, "\rrepricing [%s] %llu/%llu spans %3d%%", bar, (unsigned long long)done,
            (unsigned long long)total, pct);
    fflush(stderr);
}

int cmd_reprice(int argc, char **argv)
{
    const char *data = "./llmtrace-data", *prices_file = NULL;
    const opt_def defs[] = {
        {"data", "DIR|URL", OPT_STR, &data,
         "store: a directory (default ./llmtrace-data) or clickhouse://HOST:PORT/DB; also --store"},
        {"prices", "FILE", OPT_STR, &prices_file,
         "price entries that add to or replace the built-in ones (JSON, as for serve --prices)"},
        {0},
    };
    const opt_spec spec = {"reprice", "[options]",
                           "Recompute the cost of every stored LLM call from its token counts with "
                           "the built-in prices and --prices; costs the sender reported are kept. "
                           "The server must be stopped.",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace reprice: unexpected argument '%s' (see --help)\n", argv[1]);
        return 2;
    }
    genai_prices *builtin = NULL, *overlay = NULL;
    lt_store *store = NULL;
    char err[512] = "";
    int status = 1;
    struct stat sb;
    if (!strstr(data, "://") && (stat(data, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "llmtrace reprice: %s: no such store directory\n", data);
        goto out;
    }
    /* genai.h does not say what *out holds after a failure: it is not freed then */
    if (genai_prices_load(NULL, NULL, &builtin, err, sizeof err)) {
        builtin = NULL;
        fprintf(stderr, "llmtrace reprice: %s\n", err[0] ? err : "cannot load the price table");
        goto out;
    }
    if (prices_file && genai_prices_load(prices_file, builtin, &overlay, err, sizeof err)) {
        overlay = NULL;
        fprintf(stderr, "llmtrace reprice: %s\n", err[0] ? err : "cannot load --prices");
        goto out;
    }
    /* the engine warns in its log when it refuses a write; our one line says it better */
    log_set_level(LOG_ERROR);
    err[0] = 0;
    if ((rc = store_open(data, &store, err, sizeof err)) && rc != LT_EBUSY) {
        fprintf(stderr, "llmtrace reprice: cannot open store %s: %s\n", data,
                err[0] ? err : lt_strerror(rc));
        store = NULL;
        goto out;
    }
    reprice_ctx ctx = {.prices = overlay ? overlay : builtin};
    progress_state ps = {0};
    if (!rc) {
        bool tty = isatty(STDERR_FILENO);
        rc = store_rederive(store, reprice_view, &ctx, tty ? progress : NULL, &ps);
        if (ps.drawn) fputc('\n', stderr);
    } else {
        store = NULL;
    }
    /* LT_EBUSY: the store is held by another process and was opened read-only */
    if (rc == LT_EBUSY) {
        fprintf(stderr,
                "llmtrace reprice: %s is in use by a running `llmtrace serve`: stop the server "
                "first (or restart it with --prices FILE to price new spans only)\n",
                data);
        goto out;
    }
    if (rc == LT_EUNSUPPORTED) {
        fprintf(stderr, "llmtrace reprice: this store cannot recompute costs\n");
        goto out;
    }
    if (rc) {
        fprintf(stderr, "llmtrace reprice: %s: %s\n", data, lt_strerror(rc));
        goto out;
    }
    printf("repriced %llu spans, total cost before $%.6f after $%.6f\n",
           (unsigned long long)ctx.repriced, ctx.before, ctx.after);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    store_close(store);
    if (overlay) genai_prices_free(overlay);
    if (builtin) genai_prices_free(builtin);
    return status;
}
