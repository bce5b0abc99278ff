/*
 * cmd_plan.c — `cimsim plan EXPERIMENT [--chips N]`: how the model is split
 * over the chips, whether it fits, and every split of that chip count with
 * its analytical estimate.  Pure: no MPI, one process, well under a second.
 * The plan report itself (report_plan.c) is shared with `run`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "partitioner.h"
#include "report.h"

#define MAX_SETS 64

static const char plan_usage[] =
    "usage: cimsim plan EXPERIMENT [--chips N] [--set KEY=VALUE]... [--only] [--json]\n\n"
    "Splits the experiment's model over its chips (tensor parallel inside a\n"
    "stage, pipeline parallel across stages), checks that every chip holds its\n"
    "share, and lists every (tp, pp, dp) split of the chip count with an\n"
    "analytical estimate of throughput, latency and energy; the best is marked.\n\n"
    "  --chips N        chips to split over (default: tp·pp·dp of the experiment;\n"
    "                   with parallel.strategy manual it must equal that)\n"
    "  --set KEY=VALUE  override any key of the experiment (repeatable)\n"
    "  --only           estimate only the plan's own split, not every split of\n"
    "                   the chip count (systems of hundreds of chips)\n"
    "  --json           print JSON: the plan, the fewest chips, the plan's\n"
    "                   estimate, the table of splits\n";

static const enum cim_strategy named[] = {
	CIM_STRAT_TP_FIRST,	   CIM_STRAT_PP_FIRST,	  CIM_STRAT_BALANCED,
	CIM_STRAT_BEST_THROUGHPUT, CIM_STRAT_BEST_ENERGY,
};
#define NNAMED (sizeof(named) / sizeof(named[0]))

/* The named strategies that pick row i, comma separated, into buf. */
static const char *picked_by(const struct cim_experiment *e, const struct cim_part_row *rows,
			     size_t n, size_t i, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t s = 0; s < NNAMED; s++)
		if (cim_part_pick(e, named[s], rows, n) == (long)i && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						cim_part_strategy_name(named[s]));
	return buf;
}

static void print_rows_text(const struct cim_experiment *e, const struct cim_part_row *rows,
			    size_t n, uint32_t chips)
{
	long best = cim_part_pick(e, CIM_STRAT_BEST_THROUGHPUT, rows, n);
	size_t bad = 0;
	char by[128];

	printf("\nsplits of %u chips (analytical estimate; * = highest throughput):\n", chips);
	const bool moe = e->model.experts > 1;
	printf("   %4s %4s %4s %s%9s %10s %10s %10s %12s %10s %8s\n", "tp", "pp", "dp",
	       moe ? "experts         " : "", "token ms", "TTFT ms", "TPOT ms", "tokens/s",
	       "mJ/token", "makespan s", "xbar use");
	for (size_t i = 0; i < n; i++) {
		const struct cim_part_row *r = &rows[i];
		if (!r->fits) {
			bad++;
			continue;
		}
		char place[24] = "";
		if (moe)
			snprintf(place, sizeof(place), "%-15s ",
				 cim_experts_name((enum cim_expert_split)r->experts));
		printf(" %c %4u %4u %4u %s%9.3f %10.3f %10.3f %10.1f %12.3f %10.4f %7.1f%%  %s\n",
		       (long)i == best ? '*' : ' ', r->tp, r->pp, r->dp, place,
		       r->est.decode_token_s * 1e3, r->est.ttft_s * 1e3, r->est.tpot_s * 1e3,
		       r->est.tokens_per_s, r->est.energy_per_token_j * 1e3,
		       (double)r->est.makespan_ps * 1e-12, 100 * r->max_use,
		       picked_by(e, rows, n, i, by, sizeof(by)));
	}
	if (bad) {
		printf("\nsplits that do not fit (%zu):\n", bad);
		for (size_t i = 0; i < n; i++)
			if (!rows[i].fits)
				printf("   tp %u pp %u dp %u: %s\n", rows[i].tp, rows[i].pp,
				       rows[i].dp, rows[i].why);
	}
}

static void print_rows_json(struct json_w *j, const struct cim_experiment *e,
			    const struct cim_part_row *rows, size_t n)
{
	long best = cim_part_pick(e, CIM_STRAT_BEST_THROUGHPUT, rows, n);

	json_arr(j, "strategies");
	for (size_t i = 0; i < n; i++) {
		const struct cim_part_row *r = &rows[i];
		json_obj(j, NULL);
		json_u64(j, "tp", r->tp);
		json_u64(j, "pp", r->pp);
		json_u64(j, "dp", r->dp);
		json_u64(j, "chips", r->chips);
		if (e->model.experts > 1)
			json_str(j, "experts", cim_experts_name((enum cim_expert_split)r->experts));
		json_bool(j, "fits", r->fits);
		json_f64(j, "max_crossbar_use", r->max_use);
		if (r->fits) {
			cim_report_estimate_json(j, &r->est);
			json_bool(j, "best", (long)i == best);
			json_arr(j, "picked_by");
			for (size_t s = 0; s < NNAMED; s++)
				if (cim_part_pick(e, named[s], rows, n) == (long)i)
					json_str(j, NULL, cim_part_strategy_name(named[s]));
			json_arr_end(j);
		} else {
			json_str(j, "why", r->why);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static int parse(int argc, char **argv, const char **path, const char **sets, size_t *nsets,
		 unsigned long long *chips, bool *json, bool *only)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			fputs(plan_usage, stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0) {
			*json = true;
		} else if (strcmp(a, "--only") == 0) {
			*only = true;
		} else if (strcmp(a, "--chips") == 0 && i + 1 < argc) {
			if (cim_cli_u64("--chips", argv[++i], 1, CIM_NET_MAX_POSITIONS, chips) < 0)
				return -1;
		} else if (strcmp(a, "--set") == 0 && i + 1 < argc && *nsets < MAX_SETS) {
			sets[(*nsets)++] = argv[++i];
		} else if (a[0] == '-' || *path) {
			cim_cli_error("plan: unexpected argument '%s'\n%s", a, plan_usage);
			return -1;
		} else {
			*path = a;
		}
	}
	if (!*path) {
		cim_cli_error("plan: no EXPERIMENT given\n%s", plan_usage);
		return -1;
	}
	return 0;
}

int cim_cmd_plan(int argc, char **argv)
{
	const char *sets[MAX_SETS], *path = NULL;
	size_t nsets = 0, nrows = 0;
	unsigned long long chips = 0;
	bool json = false, only = false;
	struct cim_experiment *e = NULL;
	struct cim_part_plan *plan = NULL;
	struct cim_part_row *rows = NULL;
	struct cim_files *files;
	struct cim_err err;
	int rc = parse(argc, argv, &path, sets, &nsets, &chips, &json, &only);

	if (rc)
		return rc > 0 ? 0 : CIM_EXIT_INPUT;
	files = cim_files_create(true);
	if (!files) {
		cim_cli_error("out of memory");
		return 1;
	}
	rc = CIM_EXIT_INPUT;
	if (cim_spec_load_experiment(files, path, sets, nsets, &e, &err) < 0) {
		cim_cli_error("%s", err.msg);
		goto out;
	}
	if (cim_part_choose(e, (uint32_t)chips, &plan, &err) < 0) {
		cim_cli_error("%s: %s", path, err.msg);
		goto out;
	}
	if (!only && cim_part_enumerate(e, plan->chips, &rows, &nrows, &err) < 0) {
		cim_cli_error("%s: %s", path, err.msg);
		goto out;
	}
	/* The estimate of the plan itself (the split the experiment names, or
	 * the one its strategy picks): its row of the table, which estimated
	 * it with the experiment's own placement of experts on the same
	 * network, or with --only an estimate of that split alone. */
	struct cim_part_estimate est;
	const struct cim_part_row *own = NULL;
	for (size_t i = 0; i < nrows && !own; i++)
		if (rows[i].fits && rows[i].tp == plan->tp && rows[i].pp == plan->pp &&
		    rows[i].dp == plan->dp && rows[i].experts == (uint32_t)e->parallel.experts)
			own = &rows[i];
	if (own) {
		est = own->est;
	} else {
		struct cim_net *net = NULL;
		if (cim_net_create(&e->net, plan->chips, &net, &err) < 0 ||
		    cim_part_estimate(e, plan, net, &est, &err) < 0) {
			cim_net_destroy(net);
			cim_cli_error("%s: %s", path, err.msg);
			goto out;
		}
		cim_net_destroy(net);
	}
	uint32_t min_tp = 0, min_pp = 0;
	uint32_t min = cim_part_min_chips(e, CIM_NET_MAX_POSITIONS, &min_tp, &min_pp);
	if (json) {
		struct json_w j;
		json_begin(&j, stdout);
		json_str(&j, "experiment", e->name);
		json_str(&j, "strategy", cim_part_strategy_name(e->parallel.strategy));
		json_obj(&j, "min_chips");
		json_u64(&j, "chips", min);
		json_u64(&j, "tp", min_tp);
		json_u64(&j, "pp", min_pp);
		json_obj_end(&j);
		json_obj(&j, "plan");
		cim_report_plan_json(&j, e, plan);
		json_obj_end(&j);
		json_obj(&j, "estimate");
		json_u64(&j, "sequences", e->workload.batch);
		cim_report_estimate_json(&j, &est);
		json_obj_end(&j);
		if (!only)
			print_rows_json(&j, e, rows, nrows);
		json_end(&j);
	} else {
		printf("experiment %s: %s on %u × %s, strategy %s\n", e->name, e->model.name,
		       plan->chips, e->chip.name, cim_part_strategy_name(e->parallel.strategy));
		if (min)
			printf("fewest chips that hold the model: %u (tp %u, pp %u)\n\n", min,
			       min_tp, min_pp);
		cim_report_plan_text(stdout, e, plan);
		if (only)
			printf(
			    "estimate: token %.3f ms, TTFT %.3f ms, TPOT %.3f ms, %.1f tokens/s, "
			    "%.3f mJ/token, makespan %.4f s\n",
			    est.decode_token_s * 1e3, est.ttft_s * 1e3, est.tpot_s * 1e3,
			    est.tokens_per_s, est.energy_per_token_j * 1e3,
			    (double)est.makespan_ps * 1e-12);
		else
			print_rows_text(e, rows, nrows, plan->chips);
	}
	rc = 0;
out:
	free(rows);
	cim_part_plan_destroy(plan);
	free(e);
	cim_files_destroy(files);
	return rc;
}
