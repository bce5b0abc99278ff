/*
 * main.c — the cimsim executable: finds the subcommand and runs it.
 *
 * Subcommands that need MPI (show, run and sweep) initialise it
 * themselves, so the pure ones (model, chip, net, plan) start instantly and
 * run without mpirun.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "model", "model FILE [--json]", "what a model is: shapes, parameters, MACs, KV bytes",
	  cim_cmd_model },
	{ "chip", "chip FILE [--json]", "what a chip is: crossbars, capacity, peak TOPS, power",
	  cim_cmd_chip },
	{ "accuracy", "accuracy CHIP (--weights FILE | --synthetic N K) [--json]",
	  "weight matrices through the chip's pipeline: errors, SNR, cosine", cim_cmd_accuracy },
	{ "net", "net FILE --group 0-7 --bytes 1MiB [--algo A] [--json]",
	  "time and energy of collectives on an interconnect", cim_cmd_net },
	{ "plan", "plan EXPERIMENT [--chips N] [--json]",
	  "split the model over the chips; every split with its estimate", cim_cmd_plan },
	{ "run", "run EXPERIMENT [--json FILE] [--csv FILE]",
	  "simulate the inference, one MPI rank per chip, and report it", cim_cmd_run },
	{ "sweep", "sweep STUDY [--csv FILE] [--json FILE] [--plots DIR]",
	  "run every point of a study in one job; best splits, Pareto front, plots",
	  cim_cmd_sweep },
	{ "show", "show EXPERIMENT [--set KEY=VALUE]... [--json]",
	  "validate an experiment on every rank and print it", cim_cmd_show },
	{ "trace", "trace export|summary DIR", "Perfetto/Chrome JSON and summaries of trace files",
	  cim_cmd_trace },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static bool cli_quiet;

void cim_cli_set_quiet(bool quiet)
{
	cli_quiet = quiet;
}

void cim_cli_error(const char *fmt, ...)
{
	va_list ap;

	if (cli_quiet)
		return;
	fputs("cimsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cim_cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cim_cli_u64(const char *opt, const char *arg, unsigned long long min, unsigned long long max,
		unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v < min || v > max ||
	    (arg[0] == '0' && arg[1])) {
		cim_cli_error("%s: expected a whole number from %llu to %llu, found \"%s\"", opt,
			      min, max, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: cimsim COMMAND [ARGS]\n\n"
	      "Simulates LLM inference on systems of compute-in-memory chips.\n\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("  help     this list; 'cimsim COMMAND --help' for one command\n", f);
}

int main(int argc, char **argv)
{
	/* Collectives are compiled and freed many times a run; glibc would
	 * give the heap's top back to the kernel and take it again each time
	 * (225,000 brk calls, 6 s of system time, for the 576-chip estimate of
	 * docs/validation.md).  Keep up to 64 MiB of freed top. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 1 << 20);
	if (argc < 2) {
		usage(stderr);
		return CIM_EXIT_INPUT;
	}
	if (strcmp(argv[1], "help") == 0 || cim_cli_is_help(argv[1])) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (strcmp(argv[2], commands[i].name) == 0) {
					char *help_argv[] = { argv[2], "--help", NULL };
					return commands[i].run(2, help_argv);
				}
			cim_cli_error("help: no command '%s'; 'cimsim help' lists them", argv[2]);
			return CIM_EXIT_INPUT;
		}
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	cim_cli_error("no command '%s'; 'cimsim help' lists them", argv[1]);
	return CIM_EXIT_INPUT;
}
