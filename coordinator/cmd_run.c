/*
 * cmd_run.c — `mpirun -np N cimsim run EXPERIMENT`: the whole inference on
 * N simulated chips, one per rank (or N TP groups, one per rank, with
 * --tp-per-rank).
 *
 * Rank 0 reads and broadcasts the experiment, then plans it and broadcasts
 * the packed plan (partitioner/pack.c); every rank runs its chip of that
 * plan (exec/exec.h); rank 0 gathers the statistics in rank order and
 * reports them.  Bad input ends every rank with rank 0's
 * message and exit code 2; an error during the run ends the whole job with
 * the failing rank's message (MPI_Abort).
 */
#include <mpi.h>
#include <math.h>
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
    "                                 [--csv FILE] [--requests FILE] [--quiet]\n"
    "                                 [--search-rate LOW HIGH [--attainment A] [--steps N]]\n"
    "                                 [--tp-per-rank]\n\n"
    "Simulates the experiment's inference on N chips, one MPI rank per chip,\n"
    "and reports throughput, TTFT and TPOT, energy by component, chip and\n"
    "phase, utilisation, link traffic, the analytical estimate and a GPU\n"
    "baseline.  With parallel.strategy manual N must be tp·pp·dp; with any\n"
    "other strategy the plan is chosen for N chips.\n\n"
    "  --set KEY=VALUE  override any key of the experiment (repeatable)\n"
    "  --tp-per-rank    each rank simulates a whole tensor-parallel group, its\n"
    "                   chips in lockstep and their collectives replayed in the\n"
    "                   rank: N = pp·dp ranks, the same results, far less CPU\n"
    "                   (parallel.strategy manual; not with experts over the\n"
    "                   replicas)\n"
    "  --json FILE      write the results as JSON (docs/results.md); - for stdout\n"
    "  --csv FILE       append one CSV row (a header first when the file is new)\n"
    "  --requests FILE  a served load: one CSV row per request (docs/serving.md)\n"
    "  --search-rate LOW HIGH\n"
    "                   a served load's capacity: the highest serving.rate_per_s in\n"
    "                   [LOW, HIGH] whose requests meet the SLOs at least A of the\n"
    "                   time (--attainment, default 0.9), by bisection in N steps\n"
    "                   (--steps, default 8), every point in this mpirun; --csv\n"
    "                   FILE writes a row per rate (latency percentiles)\n"
    "  --quiet          no table on stdout\n";

struct run_opts {
	const char *path, *json, *csv, *requests, *trace_dir, *trace_level, *trace_ranks;
	const char *sets[MAX_SETS];
	size_t nsets;
	bool quiet;
	bool search;
	bool tp_per_rank;
	double low, high, attainment;
	unsigned steps;
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
		} else if (strcmp(a, "--search-rate") == 0 && i + 2 < argc) {
			char *e1, *e2;
			o->search = true;
			o->low = strtod(argv[++i], &e1);
			o->high = strtod(argv[++i], &e2);
			if (*e1 || *e2 || !(o->low > 0) || !(o->high > o->low) ||
			    !isfinite(o->high)) {
				cim_cli_error(
				    "run: --search-rate %s %s: expected two rates per second, "
				    "0 < LOW < HIGH",
				    argv[i - 1], argv[i]);
				return -1;
			}
		} else if (strcmp(a, "--attainment") == 0 && i + 1 < argc) {
			char *end;
			o->attainment = strtod(argv[++i], &end);
			if (*end || !(o->attainment > 0) || o->attainment > 1) {
				cim_cli_error(
				    "run: --attainment %s: expected a share in (0, 1], such "
				    "as 0.9",
				    argv[i]);
				return -1;
			}
		} else if (strcmp(a, "--steps") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 64) {
				cim_cli_error(
				    "run: --steps %s: expected a whole number from 1 to 64",
				    argv[i]);
				return -1;
			}
			o->steps = (unsigned)v;
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--tp-per-rank") == 0) {
			o->tp_per_rank = true;
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
	if ((o->attainment > 0 || o->steps) && !o->search) {
		cim_cli_error("run: --attainment and --steps go with --search-rate LOW HIGH");
		return -1;
	}
	if (o->search && (o->trace_dir || o->requests || o->json)) {
		cim_cli_error("run: --search-rate runs many points: it writes --csv, not --json, "
			      "--requests or --trace");
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

static int open_chip_trace(const struct run_opts *o, const struct cim_experiment *e,
			   const struct cim_part_plan *plan, enum cim_trace_level level,
			   uint64_t run_id, uint32_t c, struct cim_trace_writer **w_p,
			   struct cim_err *err);

/*
 * Opens the trace writer of each of the rank's G chips (chips rank·G …)
 * when --trace asks for it and the chip is among --trace-ranks (w[j] stays
 * NULL otherwise).  Every rank calls it: rank 0's run id is broadcast.
 */
static int open_trace(const struct run_opts *o, const struct cim_experiment *e,
		      const struct cim_part_plan *plan, int rank, uint32_t G,
		      struct cim_trace_writer **w, struct cim_err *err)
{
	enum cim_trace_level level = CIM_TRACE_OP;
	struct cim_trace_ranks ranks = { .all = true };
	uint64_t run_id = 0;

	for (uint32_t j = 0; j < G; j++)
		w[j] = NULL;
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
	for (uint32_t j = 0; j < G; j++) {
		const uint32_t chip = (uint32_t)rank * G + j;
		if (!cim_trace_ranks_has(&ranks, chip))
			continue;
		int rc = open_chip_trace(o, e, plan, level, run_id, chip, &w[j], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Chip c's trace writer (open_trace). */
static int open_chip_trace(const struct run_opts *o, const struct cim_experiment *e,
			   const struct cim_part_plan *plan, enum cim_trace_level level,
			   uint64_t run_id, uint32_t c, struct cim_trace_writer **w_p,
			   struct cim_err *err)
{
	const struct cim_part_rank *me = &plan->ranks[c];
	uint32_t nres = cim_part_nres(me);
	char(*names)[24] = calloc(nres, sizeof(*names));
	const char **res = calloc(nres, sizeof(*res));
	int rc = 0;
	if (!names || !res) {
		rc = cim_err_set(err, "rank %u: out of memory", c);
		goto out;
	}
	for (uint32_t i = 0; i < nres; i++) {
		cim_part_res_name(me, i, names[i], sizeof(names[0]));
		res[i] = names[i];
	}
	struct cim_trace_config cfg = {
		.dir = o->trace_dir,
		.level = level,
		.rank = c,
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

/* One point of a rate search: the served load at rate, its attainment (on
 * every rank), a line and a CSV row on rank 0. */
static int rate_point(const struct run_opts *o, struct cim_experiment *e,
		      const struct cim_part_plan *plan, const struct cim_net *net, int rank,
		      double rate, FILE *csv, double *attain_out)
{
	struct cim_results r;
	struct cim_err err;
	double a = 0;

	e->serving.rate_per_s = rate;
	const uint32_t G = o->tp_per_rank ? plan->tp : 1;
	if (cim_coord_simulate(MPI_COMM_WORLD, e, plan, net, G, NULL, &r, &err) < 0) {
		if (rank == 0)
			cim_cli_error("%s: rate %g/s: %s", o->path, rate, err.msg);
		a = -1;
	} else if (rank == 0) {
		const struct cim_serving_results *sv = &r.sv;
		a = sv->slo_attainment;
		if (!o->quiet)
			printf("  %10.4g/s  %9.3f served/s  %6.1f%% within SLOs   TTFT p50 %9.2f "
			       "p99 %9.2f ms   TPOT p50 %8.3f p99 %8.3f ms\n",
			       rate, sv->requests_per_s, 100 * a, sv->ttft.p50 * 1e3,
			       sv->ttft.p99 * 1e3, sv->tpot.p50 * 1e3, sv->tpot.p99 * 1e3);
		if (csv)
			fprintf(csv,
				"%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,"
				"%.9g,%.9g,%.9g,%.9g\n",
				rate, sv->requests_per_s, r.tokens_per_s, a, sv->goodput_per_s,
				sv->ttft.p50, sv->ttft.p90, sv->ttft.p99, sv->tpot.p50,
				sv->tpot.p90, sv->tpot.p99, sv->e2e.p50, sv->e2e.p90, sv->e2e.p99,
				sv->queue.mean, r.energy_per_token_j, sv->energy_per_request_j);
		cim_results_free(&r);
	}
	MPI_Bcast(&a, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
	*attain_out = a;
	return a < 0 ? 1 : 0;
}

/*
 * A served load's capacity: the highest rate in [LOW, HIGH] whose
 * attainment of the SLOs is at least A, by bisection on the rate's
 * logarithm (attainment falls as the rate rises), every point a run of the
 * same plan in this job (docs/serving.md, "Capacity").
 */
static int search_rate(const struct run_opts *o, const struct cim_experiment *e0,
		       const struct cim_part_plan *plan, const struct cim_net *net, int rank)
{
	const struct cim_serving_spec *s = &e0->serving;
	const double want = o->attainment > 0 ? o->attainment : 0.9;
	const unsigned steps = o->steps ? o->steps : 8;
	struct cim_err err;
	FILE *csv = NULL;
	double lo = o->low, hi = o->high, a;
	int rc = 0;

	if (!s->on ||
	    !(s->arrival == CIM_ARRIVE_POISSON || s->arrival == CIM_ARRIVE_GAMMA ||
	      s->arrival == CIM_ARRIVE_FIXED) ||
	    (s->slo_ttft_ps <= 0 && s->slo_tpot_ps <= 0)) {
		cim_err_set(&err, "--search-rate needs a serving part with arrival poisson, gamma "
				  "or fixed and at least one SLO (serving.slo_ttft_ms, "
				  "serving.slo_tpot_ms): docs/serving.md");
		return refuse(rank, o->path, &err);
	}
	struct cim_experiment *e = malloc(sizeof(*e));
	if (!e) {
		fprintf(stderr, "cimsim: rank %d: out of memory\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	memcpy(e, e0, sizeof(*e));
	if (rank == 0) {
		if (o->csv) {
			csv = fopen(o->csv, "w");
			if (!csv)
				cim_cli_error("%s: cannot write", o->csv);
			else
				fprintf(csv,
					"rate_per_s,requests_per_s,generated_tokens_per_s,"
					"slo_attainment,goodput_per_s,ttft_p50_s,ttft_p90_s,"
					"ttft_p99_s,tpot_p50_s,tpot_p90_s,tpot_p99_s,e2e_p50_s,"
					"e2e_p90_s,e2e_p99_s,queue_mean_s,energy_per_token_j,"
					"energy_per_request_j\n");
		}
		if (!o->quiet)
			printf("capacity of %s: the highest rate with %.0f%% of %u requests within "
			       "the SLOs, in [%g, %g]/s\n",
			       e->name, 100 * want, s->requests, lo, hi);
	}
	double best = 0;
	if ((rc = rate_point(o, e, plan, net, rank, lo, csv, &a)) != 0)
		goto out;
	if (a < want) {
		if (rank == 0)
			printf("even %g/s misses the target: the capacity is below LOW\n", lo);
		goto out;
	}
	best = lo;
	if ((rc = rate_point(o, e, plan, net, rank, hi, csv, &a)) != 0)
		goto out;
	if (a >= want) {
		best = hi;
		if (rank == 0)
			printf("%g/s still meets the target: the capacity is above HIGH\n", hi);
		goto out;
	}
	for (unsigned i = 0; i < steps; i++) {
		double mid = sqrt(lo * hi);
		if ((rc = rate_point(o, e, plan, net, rank, mid, csv, &a)) != 0)
			goto out;
		if (a >= want)
			lo = best = mid;
		else
			hi = mid;
	}
	if (rank == 0)
		printf("capacity %.4g requests/s (the next rate tried, %.4g/s, missed)\n", best,
		       hi);
out:
	if (csv && fclose(csv) != 0)
		cim_cli_error("%s: cannot write", o->csv);
	free(e);
	return rc;
}

/* The run proper, once every rank holds the same experiment. */
static int run(const struct run_opts *o, const struct cim_experiment *e, int rank, int ranks)
{
	const struct cim_parallel_spec *par = &e->parallel;
	struct cim_part_plan *plan = NULL;
	struct cim_net *net = NULL;
	struct cim_trace_writer **tw = NULL; /* [chips of the rank] */
	struct cim_err err;
	int rc = CIM_EXIT_INPUT;

	/* chips a rank simulates: its TP group's with --tp-per-rank */
	const uint32_t G = o->tp_per_rank ? par->tp : 1;
	if (o->tp_per_rank) {
		const char *why = NULL;
		if (par->strategy != CIM_STRAT_MANUAL)
			why =
			    "it needs parallel.strategy manual (the split says how many chips a "
			    "rank holds): choose a split with cimsim plan and set parallel.tp, pp "
			    "and dp";
		else if (!cim_exec_tp_per_rank_ok(e, par->dp))
			why = "experts spread over the replicas exchange tokens between TP groups: "
			      "run them with one rank per chip";
		if (why) {
			cim_err_set(&err, "--tp-per-rank: %s", why);
			return refuse(rank, o->path, &err);
		}
		if ((uint32_t)ranks != par->pp * par->dp) {
			cim_err_set(&err,
				    "with --tp-per-rank this plan needs %u ranks (pp %u × dp %u), "
				    "each simulating a TP group of %u chips: mpirun -np %u cimsim "
				    "run %s --tp-per-rank",
				    par->pp * par->dp, par->pp, par->dp, par->tp, par->pp * par->dp,
				    o->path);
			return refuse(rank, o->path, &err);
		}
	} else if (par->strategy == CIM_STRAT_MANUAL &&
		   (uint32_t)ranks != par->tp * par->pp * par->dp) {
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
		cim_part_choose(e, (uint32_t)ranks * G, &plan, &err);
	if (cim_coord_bcast_plan(MPI_COMM_WORLD, &plan) < 0)
		return refuse(rank, o->path, &err);
	if (plan->chips != (uint32_t)ranks * G) {
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

	tw = calloc(G, sizeof(*tw));
	if (!tw) {
		fprintf(stderr, "cimsim: rank %d: out of memory\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	int trc = open_trace(o, e, plan, rank, G, tw, &err);
	if (trc == CIM_TRACE_ERR_INPUT) {
		/* the same options on every rank: every rank refuses them */
		rc = refuse(rank, o->path, &err);
		goto out;
	} else if (trc < 0) {
		fprintf(stderr, "cimsim: rank %d: %s\n", rank, err.msg);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	if (o->search) {
		rc = search_rate(o, e, plan, net, rank);
		goto out;
	}
	struct cim_results r;
	rc = cim_coord_simulate(MPI_COMM_WORLD, e, plan, net, G, tw, &r, &err);
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
	free(tw);
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
