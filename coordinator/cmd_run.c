/*
 * cmd_run.c — `mpirun -np N cimsim run EXPERIMENT`: the whole inference on
 * N simulated chips, one per rank.
 *
 * Rank 0 reads and broadcasts the experiment, then plans it and broadcasts
 * the packed plan (partitioner/pack.c); every rank runs its chip of that
 * plan (exec/exec.h); rank 0 gathers the statistics in rank order and
 * reports them.  Bad input ends every rank with rank 0's
 * message and exit code 2; an error during the run ends the whole job with
 * the failing rank's message (MPI_Abort).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "coord.h"
#include "exec.h"
#include "results.h"
#include "traces.h"

#define MAX_SETS 64

static const char run_usage[] =
    "usage: mpirun -np N cimsim run EXPERIMENT [--set KEY=VALUE]... [--json FILE]\n"
    "                                 [--csv FILE] [--requests FILE] [--quiet]\n\n"
    "Simulates the experiment's inference on N chips, one MPI rank per chip,\n"
    "and reports throughput, TTFT and TPOT, energy by component, chip and\n"
    "phase, utilisation, link traffic, the analytical estimate and a GPU\n"
    "baseline.  With parallel.strategy manual N must be tp·pp·dp; with any\n"
    "other strategy the plan is chosen for N chips.\n\n"
    "  --set KEY=VALUE  override any key of the experiment (repeatable)\n"
    "  --json FILE      write the results as JSON (docs/results.md); - for stdout\n"
    "  --csv FILE       append one CSV row (a header first when the file is new)\n"
    "  --requests FILE  a served load: one CSV row per request (docs/serving.md)\n"
    "  --quiet          no table on stdout\n";

struct run_opts {
	const char *path, *json, *csv, *requests, *trace_dir, *trace_level, *trace_ranks;
	const char *sets[MAX_SETS];
	size_t nsets;
	bool quiet;
};

static int parse(int argc, char **argv, struct run_opts *o, bool loud)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			if (loud)
				fputs(run_usage, stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
			o->json = argv[++i];
		} else if (strcmp(a, "--csv") == 0 && i + 1 < argc) {
			o->csv = argv[++i];
		} else if (strcmp(a, "--requests") == 0 && i + 1 < argc) {
			o->requests = argv[++i];
		} else if (strcmp(a, "--trace") == 0 && i + 1 < argc) {
			o->trace_dir = argv[++i];
		} else if (strcmp(a, "--trace-level") == 0 && i + 1 < argc) {
			o->trace_level = argv[++i];
		} else if (strcmp(a, "--trace-ranks") == 0 && i + 1 < argc) {
			o->trace_ranks = argv[++i];
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
	/* Trace options are checked before any rank starts work. */
	enum cim_trace_level level;
	struct cim_trace_ranks ranks;
	struct cim_err err;
	if ((o->trace_level && cim_trace_level_parse(o->trace_level, &level, &err) < 0) ||
	    (o->trace_ranks && cim_trace_ranks_parse(o->trace_ranks, &ranks, &err) < 0)) {
		cim_cli_error("run: %s", err.msg);
		return -1;
	}
	if ((o->trace_level || o->trace_ranks) && !o->trace_dir) {
		cim_cli_error("run: --trace-level and --trace-ranks need --trace DIR");
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
	if (o->requests && cim_results_requests_csv(o->requests, r, &err) < 0) {
		cim_cli_error("%s", err.msg);
		return 1;
	}
	return 0;
}

/*
 * Opens this rank's trace writer when --trace asks for it and the rank is
 * among --trace-ranks (*w_p stays NULL otherwise).  Every rank calls it:
 * rank 0's run id is broadcast.
 */
static int open_trace(const struct run_opts *o, const struct cim_experiment *e,
		      const struct cim_part_plan *plan, int rank, struct cim_trace_writer **w_p,
		      struct cim_err *err)
{
	enum cim_trace_level level = CIM_TRACE_OP;
	struct cim_trace_ranks ranks = { .all = true };
	uint64_t run_id = 0;

	*w_p = NULL;
	if (!o->trace_dir)
		return 0;
	if ((o->trace_level && cim_trace_level_parse(o->trace_level, &level, err) < 0) ||
	    (o->trace_ranks && (cim_trace_ranks_parse(o->trace_ranks, &ranks, err) < 0 ||
				cim_trace_ranks_check(&ranks, plan->chips, err) < 0)))
		return CIM_TRACE_ERR_INPUT;
	if (rank == 0) {
		/* Distinct per run, so a reader can refuse files of two runs in
		 * one folder (MPI_Wtime starts near 0 in every job). */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		run_id = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
			 ((uint64_t)getpid() << 32) ^ ((uint64_t)plan->chips << 56);
	}
	MPI_Bcast(&run_id, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	if (!cim_trace_ranks_has(&ranks, (uint32_t)rank))
		return 0;
	const struct cim_part_rank *me = &plan->ranks[rank];
	uint32_t nres = cim_part_nres(me);
	char(*names)[24] = calloc(nres, sizeof(*names));
	const char **res = calloc(nres, sizeof(*res));
	int rc = 0;
	if (!names || !res) {
		rc = cim_err_set(err, "rank %d: out of memory", rank);
		goto out;
	}
	for (uint32_t i = 0; i < nres; i++) {
		cim_part_res_name(me, i, names[i], sizeof(names[0]));
		res[i] = names[i];
	}
	struct cim_trace_config cfg = {
		.dir = o->trace_dir,
		.level = level,
		.rank = (uint32_t)rank,
		.nranks = plan->chips,
		.stage = me->stage,
		.tp = me->tp_index,
		.replica = me->replica,
		.run_id = run_id,
		.chip = e->chip.name,
		.experiment = e->name,
		.resources = res,
		.nres = nres,
	};
	rc = cim_trace_open(&cfg, w_p, err);
out:
	free(names);
	free(res);
	return rc;
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
	/* Rank 0 plans; the others take its plan, or refuse with it (plan
	 * stays NULL when it does not fit). */
	if (rank == 0)
		cim_part_choose(e, (uint32_t)ranks, &plan, &err);
	if (cim_coord_bcast_plan(MPI_COMM_WORLD, &plan) < 0)
		return refuse(rank, o->path, &err);
	if (plan->chips != (uint32_t)ranks) {
		/* min-chips may choose fewer chips than there are ranks */
		cim_err_set(&err,
			    "parallel.strategy %s chose %u chips (tp %u × pp %u × dp %u): "
			    "mpirun -np %u cimsim run %s",
			    cim_part_strategy_name(par->strategy), plan->chips, plan->tp, plan->pp,
			    plan->dp, plan->chips, o->path);
		rc = refuse(rank, o->path, &err);
		goto out;
	}
	if (cim_net_create(&e->net, plan->chips, &net, &err) < 0) {
		rc = refuse(rank, o->path, &err);
		goto out;
	}

	struct cim_trace_writer *tw = NULL;
	int trc = open_trace(o, e, plan, rank, &tw, &err);
	if (trc == CIM_TRACE_ERR_INPUT) {
		/* the same options on every rank: every rank refuses them */
		rc = refuse(rank, o->path, &err);
		goto out;
	} else if (trc < 0) {
		fprintf(stderr, "cimsim: rank %d: %s\n", rank, err.msg);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	struct cim_results r;
	rc = cim_coord_simulate(MPI_COMM_WORLD, e, plan, net, tw, &r, &err);
	if (rank == 0) {
		if (rc < 0) {
			cim_cli_error("%s: %s", o->path, err.msg);
			rc = 1;
		} else {
			rc = report(o, &r);
			cim_results_free(&r);
		}
	}
out:
	cim_net_destroy(net);
	cim_part_plan_destroy(plan);
	return rc;
}

int cim_cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct cim_experiment *e = NULL;
	int rank, ranks, rc;

	/* MPI starts before the arguments are read: many ranks that exit
	 * without MPI_Init can leave mpirun waiting (Open MPI issue 3380). */
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	cim_cli_set_quiet(rank != 0);
	rc = parse(argc, argv, &o, rank == 0);
	cim_cli_set_quiet(false);
	if (rc) {
		MPI_Finalize();
		return rc > 0 ? 0 : CIM_EXIT_INPUT;
	}
	rc = cim_coord_load(MPI_COMM_WORLD, o.path, o.sets, o.nsets, &e);
	if (rc == 0)
		rc = run(&o, e, rank, ranks);
	free(e);
	MPI_Finalize();
	return rc;
}
