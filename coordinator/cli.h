/*
 * cli.h — the subcommands of the cimsim executable and what they share.
 *
 * Each subcommand is a function taking its own argv (argv[0] is the
 * subcommand's name) and returning the process exit code: 0 on success,
 * CIM_EXIT_INPUT (2) for bad input, 1 for other failures.
 */
#ifndef CIM_COORDINATOR_CLI_H
#define CIM_COORDINATOR_CLI_H

#include <stdbool.h>

#include "spec.h"

int cim_cmd_model(int argc, char **argv);
int cim_cmd_chip(int argc, char **argv);
int cim_cmd_accuracy(int argc, char **argv);
int cim_cmd_net(int argc, char **argv);
int cim_cmd_show(int argc, char **argv);
int cim_cmd_plan(int argc, char **argv);
int cim_cmd_run(int argc, char **argv);
int cim_cmd_sweep(int argc, char **argv);
int cim_cmd_trace(int argc, char **argv);

/* Prints "cimsim: MESSAGE" on stderr. */
void cim_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Silences cim_cli_error (ranks other than 0, which would repeat rank 0's
 * message). */
void cim_cli_set_quiet(bool quiet);

/* True when arg is -h or --help. */
bool cim_cli_is_help(const char *arg);

/* Parses a whole decimal number in [min, max] given to option opt; prints
 * the error and returns -1 when it is not one. */
int cim_cli_u64(const char *opt, const char *arg, unsigned long long min, unsigned long long max,
		unsigned long long *out);

#endif /* CIM_COORDINATOR_CLI_H */
