/* main.c — the llmtrace binary: dispatches to a command of the table below. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"serve", cmd_serve, "receive OTLP, store it, serve the API"},
    {"traces", cmd_traces, "list recent traces"},
    {"show", cmd_show, "show one trace as a waterfall, with its LLM calls"},
    {"cost", cmd_cost, "LLM calls, tokens, cost and latency by model, provider, ..."},
    {"reprice", cmd_reprice, "recompute stored costs with the current prices"},
    {"check", cmd_check, "verify a store's consistency (read-only)"},
    {"check-config", cmd_check_config, "validate a configuration file without starting"},
    {"clickhouse-schema", cmd_clickhouse_schema,
     "print the ClickHouse DDL (single node or cluster)"},
    {"demo", cmd_demo, "send realistic demo GenAI traces (RAG, agents, streaming, errors)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmtrace COMMAND [options]   (llmtrace COMMAND --help for more)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-13s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        puts("llmtrace " LT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "llmtrace: unknown command '%s' (see llmtrace --help)\n", argv[1]);
    return 2;
}
