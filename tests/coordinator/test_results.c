/*
 * test_results.c — the run's figures from ranks' statistics, without MPI:
 * utilisation and bubbles from hand-made statistics, and the invariants
 * that refuse statistics no schedule can produce.
 */
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "test.h"

static const char tiny[] = "model: tiny-llama.json\n"
			   "chip: tiny-64.yaml\n"
			   "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			   "workload:\n  batch: 1\n  prompt_tokens: 4\n  generate_tokens: 2\n";

static struct cim_experiment *load(void)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_experiment *e = NULL;
	struct cim_err err;

	cim_files_put(files, "tests/data/part/mem.yaml", tiny, strlen(tiny));
	if (cim_spec_load_experiment(files, "tests/data/part/mem.yaml", NULL, 0, &e, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	cim_files_destroy(files);
	return e;
}

/*
 * Two chips, makespan 1000 ps (chip 1 ends last).  Chip 0: digital busy
 * 500, KV 250, link 100, 2 crossbar groups busy 600 in all, active 800;
 * chip 1: digital 1000, nothing else, active 1000.  By hand (means over
 * the chips): digital (0.5 + 1.0)/2 = 0.75, KV 0.125, link 0.05, crossbars
 * (600 / (2 · 1000))/2 = 0.15; bubbles ((1 − 0.8) + (1 − 1.0))/2 = 0.1.
 */
static void test_fractions(void)
{
	struct cim_experiment *e = load();
	struct cim_part_plan *plan = NULL;
	struct cim_exec_stats st[2] = { { 0 } };
	struct cim_exec_seq seq[1] = { { .first_ps = 400, .last_ps = 1000 } };
	struct cim_results r;
	struct cim_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(cim_part_plan(e, 1, 2, 1, &plan, &err), 0);
	st[0] =
	    (struct cim_exec_stats){ .rank = 0, .xbar_groups = 2, .end_ps = 900, .active_ps = 800 };
	st[0].busy_ps[CIM_BUSY_DIGITAL] = 500;
	st[0].busy_ps[CIM_BUSY_KV] = 250;
	st[0].busy_ps[CIM_BUSY_LINK] = 100;
	st[0].busy_ps[CIM_BUSY_XBAR] = 600;
	st[1] = (struct cim_exec_stats){
		.rank = 1, .xbar_groups = 2, .end_ps = 1000, .active_ps = 1000
	};
	st[1].busy_ps[CIM_BUSY_DIGITAL] = 1000;
	CU_ASSERT_EQUAL_FATAL(cim_results_make(e, plan, st, 2, seq, &r, &err), 0);
	CIM_ASSERT_REL(r.util[CIM_BUSY_DIGITAL], 0.75, 1e-12);
	CIM_ASSERT_REL(r.util[CIM_BUSY_KV], 0.125, 1e-12);
	CIM_ASSERT_REL(r.util[CIM_BUSY_LINK], 0.05, 1e-12);
	CIM_ASSERT_REL(r.util[CIM_BUSY_XBAR], 0.15, 1e-12);
	CIM_ASSERT_REL(r.bubble, 0.1, 1e-12);
	cim_results_free(&r);

	/* The digital unit of chip 1 busy 1001 ps in a 1000 ps run: refused,
	 * naming the rank and the numbers. */
	st[1].busy_ps[CIM_BUSY_DIGITAL] = 1001;
	CU_ASSERT(cim_results_make(e, plan, st, 2, seq, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "rank 1's digital unit busy 1001 ps");
	st[1].busy_ps[CIM_BUSY_DIGITAL] = 1000;
	/* Two crossbar groups may be busy 2000 ps in all, not 2001. */
	st[1].busy_ps[CIM_BUSY_XBAR] = 2000;
	CU_ASSERT_EQUAL(cim_results_make(e, plan, st, 2, seq, &r, &err), 0);
	cim_results_free(&r);
	st[1].busy_ps[CIM_BUSY_XBAR] = 2001;
	CU_ASSERT(cim_results_make(e, plan, st, 2, seq, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "2 resources × the makespan 1000 ps");
	st[1].busy_ps[CIM_BUSY_XBAR] = 0;
	/* Active longer than the makespan (a bubble below 0): refused. */
	st[0].active_ps = 1001;
	CU_ASSERT(cim_results_make(e, plan, st, 2, seq, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "rank 0 active 1001 ps");
	cim_part_plan_destroy(plan);
	free(e);
}

static const struct cim_test tests[] = {
	{ "utilisation and bubbles by hand; impossible statistics refused", test_fractions },
};

CIM_TEST_MAIN("results", tests)
