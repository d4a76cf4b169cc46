/* chschema.c — llmtrace clickhouse-schema: the DDL of the ClickHouse engine, for a database
 * administrator to apply (a cluster's, or a single node's ahead of the server). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/err.h"
#include "core/str.h"
#include "store/store.h"

int cmd_clickhouse_schema(int argc, char **argv)
{
    const char *db = "llmtrace", *cluster = NULL;
    uint64_t ttl = 0;
    const opt_def defs[] = {
        {"database", "NAME", OPT_STR, &db, "database name (default llmtrace)"},
        {"cluster", "NAME", OPT_STR, &cluster,
         "a cluster of remote_servers: ReplicatedMergeTree tables ON CLUSTER plus Distributed "
         "tables (default: single node, as serve creates it)"},
        {"retention", "DURATION", OPT_DURATION, &ttl,
         "add TTL clauses dropping data this long after it arrived (ClickHouse 19.6 and later)"},
        {0},
    };
    const opt_spec spec = {"clickhouse-schema", "[options]",
                           "Print the ClickHouse DDL of the store (statements end with ';').",
                           defs};
    int npos = 0, rc = opts_parse(&spec, argc, argv, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos) {
        fprintf(stderr, "llmtrace clickhouse-schema: unexpected argument '%s' (see --help)\n",
                argv[1]);
        return 2;
    }
    lt_buf out = {0};
    rc = store_clickhouse_schema(&out, db, cluster, ttl);
    if (rc == LT_EINVAL) {
        fprintf(stderr,
                "llmtrace clickhouse-schema: database and cluster names are letters, digits and "
                "underscores\n");
        buf_free(&out);
        return 2;
    }
    if (rc) {
        fprintf(stderr, "llmtrace clickhouse-schema: %s\n", lt_strerror(rc));
        buf_free(&out);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    return fflush(stdout) ? 1 : 0;
}
