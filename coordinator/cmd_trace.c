/*
 * cmd_trace.c — `cimsim trace`: what is made of a run's trace directory.
 *
 *   cimsim trace export DIR [-o FILE] [--strict]   one Chrome/Perfetto JSON trace
 *   cimsim trace summary DIR [--csv FILE] [--strict]  time and energy per chip and op
 *
 * Pure: no MPI.  The work is in traces/ (export.c, summary.c); this file
 * reads options, opens the output and maps failures to exit codes (2 for
 * input that is missing, foreign or damaged, 1 when the output cannot be
 * written).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "traces.h"

static void trace_usage(FILE *f)
{
	fputs("usage: cimsim trace export DIR [-o FILE] [--strict]\n"
	      "       cimsim trace summary DIR [--csv FILE] [--strict]\n\n"
	      "Reads the trace files a run wrote (DIR/rank-NNNNN.cimtrace, one per traced\n"
	      "rank) and checks every byte of them.\n\n"
	      "  export   merges them into one Chrome trace-event JSON file to open in\n"
	      "           ui.perfetto.dev or chrome://tracing\n"
	      "  summary  prints count, busy time, share of the makespan and energy per\n"
	      "           chip and operator\n\n"
	      "'cimsim trace export --help' and 'cimsim trace summary --help' say more.\n",
	      f);
}

static void export_usage(FILE *f)
{
	fputs("usage: cimsim trace export DIR [-o FILE] [--strict]\n\n"
	      "Merges the trace files of DIR into one Chrome trace-event JSON document: one\n"
	      "process per chip, one track per resource, flows for messages, counters for\n"
	      "power and link bandwidth; times in microseconds of virtual time.  Open it in\n"
	      "ui.perfetto.dev (Open trace file) or chrome://tracing (Load).\n\n"
	      "  -o FILE    where to write (default DIR/trace.json; - for standard output)\n"
	      "  --strict   refuse partial files (an interrupted run) instead of using\n"
	      "             them up to their last whole record\n",
	      f);
}

static void summary_usage(FILE *f)
{
	fputs("usage: cimsim trace summary DIR [--csv FILE] [--strict]\n\n"
	      "For each chip and each operator (and message and collective kind): count,\n"
	      "busy time, share of the makespan (the last end over all ranks) and energy.\n\n"
	      "  --csv FILE  also write the rows as CSV with a header row (- for standard\n"
	      "              output, which then replaces the table)\n"
	      "  --strict    refuse partial files instead of using them up to their last\n"
	      "              whole record\n",
	      f);
}

struct trace_opts {
	const char *dir;
	const char *out; /* -o or --csv */
	bool strict;
};

/* DIR, one value option named opt (with an alias), --strict. */
static int parse(const char *sub, int argc, char **argv, const char *opt, const char *alias,
		 struct trace_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--strict") == 0) {
			o->strict = true;
		} else if (strcmp(a, opt) == 0 || (alias && strcmp(a, alias) == 0)) {
			if (i + 1 >= argc) {
				cim_cli_error("trace %s: %s needs a file name", sub, a);
				return -1;
			}
			o->out = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			cim_cli_error("trace %s: unknown option \"%s\"; 'cimsim trace %s --help' "
				      "lists them",
				      sub, a, sub);
			return -1;
		} else if (o->dir) {
			cim_cli_error("trace %s: one DIR only; found \"%s\" after \"%s\"", sub, a,
				      o->dir);
			return -1;
		} else {
			o->dir = a;
		}
	}
	if (!o->dir) {
		cim_cli_error("trace %s: no DIR given; 'cimsim trace %s --help' explains", sub,
			      sub);
		return -1;
	}
	return 0;
}

static int exit_code(int rc)
{
	return rc == CIM_TRACE_ERR_IO ? 1 : CIM_EXIT_INPUT;
}

static int cmd_export(int argc, char **argv)
{
	struct trace_opts o = { 0 };
	struct cim_err err;
	char *path = NULL, *tmp = NULL;
	FILE *f;
	int rc;

	if (argc > 1 && cim_cli_is_help(argv[1])) {
		export_usage(stdout);
		return 0;
	}
	if (parse("export", argc, argv, "-o", "--output", &o))
		return CIM_EXIT_INPUT;
	if (o.out && strcmp(o.out, "-") == 0) {
		rc = cim_trace_export_chrome(o.dir, stdout, o.strict ? CIM_TRACE_STRICT : 0, stderr,
					     &err);
		if (rc)
			cim_cli_error("trace export: %s", err.msg);
		return rc ? exit_code(rc) : 0;
	}
	if (o.out) {
		path = strdup(o.out);
	} else {
		size_t n = strlen(o.dir) + sizeof("/trace.json");
		path = malloc(n);
		if (path)
			snprintf(path, n, "%s/trace.json", o.dir);
	}
	size_t tn = path ? strlen(path) + 32 : 0;
	tmp = path ? malloc(tn) : NULL;
	if (!tmp) {
		free(path);
		cim_cli_error("trace export: out of memory");
		return 1;
	}
	/* Written beside the target and renamed at the end: a failed export
	 * never leaves a truncated trace.json behind. */
	snprintf(tmp, tn, "%s.part-%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		cim_cli_error("trace export: %s: cannot create: %s", path, strerror(errno));
		rc = CIM_TRACE_ERR_IO;
		goto out;
	}
	rc = cim_trace_export_chrome(o.dir, f, o.strict ? CIM_TRACE_STRICT : 0, stderr, &err);
	if (fclose(f) != 0 && rc == 0) {
		rc = CIM_TRACE_ERR_IO;
		cim_err_set(&err, "writing %s: %s", path, strerror(errno));
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = CIM_TRACE_ERR_IO;
		cim_err_set(&err, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
	}
	if (rc) {
		remove(tmp);
		cim_cli_error("trace export: %s", err.msg);
		goto out;
	}
	printf("wrote %s; open it in ui.perfetto.dev (Open trace file) or chrome://tracing\n",
	       path);
out:
	free(tmp);
	free(path);
	return rc ? exit_code(rc) : 0;
}

static int cmd_summary(int argc, char **argv)
{
	struct trace_opts o = { 0 };
	struct cim_trace_summary *s;
	struct cim_err err;
	int rc;

	if (argc > 1 && cim_cli_is_help(argv[1])) {
		summary_usage(stdout);
		return 0;
	}
	if (parse("summary", argc, argv, "--csv", NULL, &o))
		return CIM_EXIT_INPUT;
	rc = cim_trace_summarize(o.dir, o.strict ? CIM_TRACE_STRICT : 0, stderr, &s, &err);
	if (rc) {
		cim_cli_error("trace summary: %s", err.msg);
		return exit_code(rc);
	}
	bool csv_stdout = o.out && strcmp(o.out, "-") == 0;
	if (!csv_stdout)
		cim_trace_summary_print(s, stdout);
	if (o.out) {
		FILE *f = csv_stdout ? stdout : fopen(o.out, "w");
		if (!f) {
			cim_cli_error("trace summary: %s: cannot create: %s", o.out,
				      strerror(errno));
			cim_trace_summary_destroy(s);
			return 1;
		}
		int bad = cim_trace_summary_csv(s, f);
		if (!csv_stdout && fclose(f) != 0)
			bad = -1;
		if (bad) {
			cim_cli_error("trace summary: %s: cannot write: %s", o.out,
				      strerror(errno));
			cim_trace_summary_destroy(s);
			return 1;
		}
	}
	cim_trace_summary_destroy(s);
	return 0;
}

int cim_cmd_trace(int argc, char **argv)
{
	if (argc < 2) {
		trace_usage(stderr);
		return CIM_EXIT_INPUT;
	}
	if (cim_cli_is_help(argv[1])) {
		trace_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "summary") == 0)
		return cmd_summary(argc - 1, argv + 1);
	cim_cli_error("trace: no subcommand '%s'; expected export or summary", argv[1]);
	return CIM_EXIT_INPUT;
}
