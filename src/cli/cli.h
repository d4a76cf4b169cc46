/* cli.h — the commands of the llmtrace binary. Each takes the arguments after its name
 * (argv[0] is the command name), prints a one-line error and returns non-zero on failure,
 * and prints its usage for --help. Called from main() only. */
#ifndef LT_CLI_CLI_H
#define LT_CLI_CLI_H

int cmd_serve(int argc, char **argv);
int cmd_traces(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_reprice(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_clickhouse_schema(int argc, char **argv);

#endif
