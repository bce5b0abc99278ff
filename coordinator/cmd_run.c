/*
 * cmd_run.c — `mpirun -np N cimsim run EXPERIMENT`: the whole inference on
 * N simulated chips, one per rank.
 *
 * Rank 0 reads and broadcasts the experiment; every rank builds the same
 * plan and runs its chip (node/exec.h); rank 0 gathers the statistics in
 * rank order and reports them.  Bad input ends every rank with rank 0's
 * message and exit code 2; an error during the run ends the whole job with
 * the failing rank's message (MPI_Abort).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "coord.h"
#include "exec.h"
#include "results.h"

#define MAX_SETS 64

static const char run_usage[] =
    "usage: mpirun -np N cimsim run EXPERIMENT [--set KEY=VALUE]... [--json FILE]\n"
    "                                 [--csv FILE] [--quiet]\n\n"
    "Simulates the experiment's inference on N chips, one MPI rank per chip,\n"
    "and reports throughput, TTFT and TPOT, energy by component, chip and\n"
    "phase, utilisation, link traffic, the analytical estimate and a GPU\n"
    "baseline.  With parallel.strategy manual N must be tp·pp·dp; with any\n"
    "other strategy the plan is chosen for N chips.\n\n"
    "  --set KEY=VALUE  override any key of the experiment (repeatable)\n"
    "  --json FILE      write the results as JSON (docs/results.md); - for stdout\n"
    "  --csv FILE       append one CSV row (a header first when the file is new)\n"
    "  --quiet          no table on stdout\n";

struct run_opts {
	const char *path, *json, *csv;
	const char *sets[MAX_SETS];
	size_t nsets;
	bool quiet;
};

static int parse(int argc, char **argv, struct run_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			fputs(run_usage, stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
			o->json = argv[++i];
		} else if (strcmp(a, "--csv") == 0 && i + 1 < argc) {
			o->csv = argv[++i];
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--set") == 0 && i + 1 < argc && o->nsets < MAX_SETS) {
			o->sets[o->nsets++] = argv[++i];
		} else if (a[0] == '-' || o->path) {
			cim_cli_error("run: unexpected argument '%s'\n%s", a, run_usage);
			return -1;
		} else {
			o->path = a;
		}
	}
	if (!o->path) {
		cim_cli_error("run: no EXPERIMENT given\n%s", run_usage);
		return -1;
	}
	return 0;
}

/* Every rank reaches the same verdict from the same bytes; rank 0 says it. */
static int refuse(int rank, const char *path, const struct cim_err *err)
{
	if (rank == 0)
		cim_cli_error("%s: %s", path, err->msg);
	return CIM_EXIT_INPUT;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

/* This process's peak resident memory, MiB. */
static double peak_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static int report(const struct run_opts *o, struct cim_results *r)
{
	struct cim_err err;

	if (!o->quiet)
		cim_results_text(stdout, r);
	if (o->json) {
		FILE *f = strcmp(o->json, "-") == 0 ? stdout : fopen(o->json, "w");
		if (!f) {
			cim_cli_error("%s: cannot write the results", o->json);
			return 1;
		}
		cim_results_json(f, r);
		if (f != stdout && fclose(f) != 0) {
			cim_cli_error("%s: cannot write the results", o->json);
			return 1;
		}
	}
	if (o->csv && cim_results_csv(o->csv, r, &err) < 0) {
		cim_cli_error("%s", err.msg);
		return 1;
	}
	return 0;
}

/* The run proper, once every rank holds the same experiment. */
static int run(const struct run_opts *o, const struct cim_experiment *e, int rank, int ranks)
{
	const struct cim_parallel_spec *par = &e->parallel;
	struct cim_part_plan *plan = NULL;
	struct cim_net *net = NULL;
	struct cim_err err;
	int rc = CIM_EXIT_INPUT;

	if (par->strategy == CIM_STRAT_MANUAL && (uint32_t)ranks != par->tp * par->pp * par->dp) {
		cim_err_set(&err,
			    "this plan needs %u ranks (tp %u × pp %u × dp %u): mpirun -np %u "
			    "cimsim run %s; or set parallel.strategy to choose a split for %d",
			    par->tp * par->pp * par->dp, par->tp, par->pp, par->dp,
			    par->tp * par->pp * par->dp, o->path, ranks);
		return refuse(rank, o->path, &err);
	}
	if (cim_part_choose(e, (uint32_t)ranks, &plan, &err) < 0)
		return refuse(rank, o->path, &err);
	if (cim_net_create(&e->net, plan->chips, &net, &err) < 0) {
		rc = refuse(rank, o->path, &err);
		goto out;
	}

	struct cim_exec_stats st;
	struct cim_exec_seq *seqs = calloc(e->workload.batch, sizeof(*seqs));
	struct cim_exec_seq *all = rank == 0 ? calloc(e->workload.batch, sizeof(*all)) : NULL;
	struct cim_exec_stats *stats = rank == 0 ? calloc((size_t)ranks, sizeof(*stats)) : NULL;
	if (!seqs || (rank == 0 && (!all || !stats))) {
		fprintf(stderr, "cimsim: rank %d: out of memory\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	double wall0 = MPI_Wtime(), cpu0 = cpu_seconds();
	if (cim_exec_run(e, plan, net, MPI_COMM_WORLD, NULL, 0, &st, seqs, &err) < 0) {
		fprintf(stderr, "cimsim: %s\n", err.msg); /* the message names the rank */
		fflush(stderr);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	double wall = MPI_Wtime() - wall0, cpu = cpu_seconds() - cpu0, wall_max, cpu_sum;
	double rss = peak_rss_mib(), rss_max;

	/* Gather in rank order: totals do not depend on a reduction tree. */
	MPI_Gather(&st, (int)sizeof(st), MPI_BYTE, stats, (int)sizeof(st), MPI_BYTE, 0,
		   MPI_COMM_WORLD);
	MPI_Reduce(seqs, all, (int)(2 * e->workload.batch), MPI_UINT64_T, MPI_MAX, 0,
		   MPI_COMM_WORLD);
	MPI_Reduce(&wall, &wall_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
	MPI_Reduce(&cpu, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
	MPI_Reduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
	rc = 0;
	if (rank == 0) {
		struct cim_results r;
		if (cim_results_make(e, plan, stats, (uint32_t)ranks, all, &r) < 0) {
			cim_cli_error("out of memory");
			rc = 1;
		} else {
			r.ranks = ranks;
			r.wall_s = wall_max;
			r.cpu_s = cpu_sum;
			r.peak_rss_mib = rss_max;
			if (cim_part_estimate(e, plan, net, &r.est, &err) < 0)
				memset(&r.est, 0, sizeof(r.est));
			rc = report(o, &r);
			cim_results_free(&r);
		}
	}
	free(seqs);
	free(all);
	free(stats);
out:
	cim_net_destroy(net);
	cim_part_plan_destroy(plan);
	return rc;
}

int cim_cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	struct cim_experiment *e = NULL;
	int rank, ranks, rc = parse(argc, argv, &o);

	if (rc)
		return rc > 0 ? 0 : CIM_EXIT_INPUT;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	rc = cim_coord_load(MPI_COMM_WORLD, o.path, o.sets, o.nsets, &e);
	if (rc == 0)
		rc = run(&o, e, rank, ranks);
	free(e);
	MPI_Finalize();
	return rc;
}
