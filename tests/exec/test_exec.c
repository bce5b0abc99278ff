/*
 * test_exec.c — the executor on real MPI ranks (run with 4): exact times on
 * one chip, determinism, monotonicity in link bandwidth, energy that adds
 * up, and agreement with the partitioner's estimate.  Each case runs on a
 * sub-communicator of the ranks its plan needs; every rank runs every test
 * in the same order, so collective calls match.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "results.h"
#include "test.h"

static int world_rank, world_size;

static const char tiny[] = "model: tiny-llama.json\n"
			   "chip: tiny-64.yaml\n"
			   "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			   "workload:\n  batch: 4\n  prompt_tokens: 16\n  generate_tokens: 6\n";

static struct cim_experiment *load(const char *const *sets, size_t nsets)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_experiment *e = NULL;
	struct cim_err err;

	cim_files_put(files, "tests/data/part/mem.yaml", tiny, strlen(tiny));
	if (cim_spec_load_experiment(files, "tests/data/part/mem.yaml", sets, nsets, &e, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	cim_files_destroy(files);
	return e;
}

/* One run of a tp × pp plan on the first tp·pp ranks; on the run's rank 0
 * fills stats (tp·pp entries) and seqs; returns the plan (rank 0 only)
 * and the estimate.  Every world rank must call it. */
struct outcome {
	bool ran; /* this rank took part and is the run's rank 0 */
	struct cim_exec_stats stats[8];
	struct cim_exec_seq seqs[8];
	struct cim_part_estimate est;
	struct cim_results res;
	struct cim_part_plan *plan;
	struct cim_experiment *e;
};

static void run_case(const char *const *sets, size_t nsets, uint32_t tp, uint32_t pp,
		     struct outcome *out)
{
	/* 8 tiles of 64: 512 crossbars, room for two tiny layers at tp 2 */
	const char *all[8] = {"chip.tiles=8"};
	for (size_t i = 0; i < nsets && i < 7; i++)
		all[i + 1] = sets[i];
	struct cim_experiment *e = load(all, nsets + 1);
	struct cim_part_plan *plan = NULL;
	struct cim_net *net = NULL;
	struct cim_err err;
	MPI_Comm comm;
	const int n = (int)(tp * pp);

	memset(out, 0, sizeof(*out));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	MPI_Comm_split(MPI_COMM_WORLD, world_rank < n ? 0 : MPI_UNDEFINED, world_rank, &comm);
	if (comm == MPI_COMM_NULL) {
		free(e);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(cim_part_plan(e, tp, pp, 1, &plan, &err), 0);
	CU_ASSERT_TRUE(cim_part_fits(e, plan, &err));
	CU_ASSERT_EQUAL_FATAL(cim_net_create(&e->net, plan->chips, &net, &err), 0);
	struct cim_exec_stats st;
	struct cim_exec_seq seqs[8] = {{0}};
	CU_ASSERT_EQUAL_FATAL(cim_exec_run(e, plan, net, comm, NULL, NULL, 0, &st, seqs, &err), 0);
	MPI_Gather(&st, sizeof(st), MPI_BYTE, out->stats, sizeof(st), MPI_BYTE, 0, comm);
	MPI_Reduce(seqs, out->seqs, 16, MPI_UINT64_T, MPI_MAX, 0, comm);
	if (world_rank == 0) {
		out->ran = true;
		CU_ASSERT_EQUAL(cim_part_estimate(e, plan, net, &out->est, &err), 0);
		CU_ASSERT_EQUAL(
		    cim_results_make(e, plan, out->stats, plan->chips, out->seqs, &out->res), 0);
		out->plan = plan;
		out->e = e;
	} else {
		cim_part_plan_destroy(plan);
		free(e);
	}
	cim_net_destroy(net);
	MPI_Comm_free(&comm);
}

static void done(struct outcome *o)
{
	if (o->ran)
		cim_results_free(&o->res);
	cim_part_plan_destroy(o->plan);
	free(o->e);
}

/* One chip, one sequence: the prefill pass then every decode pass, each
 * taking exactly the sum of its steps' latencies from the chip model. */
static void test_one_chip_exact(void)
{
	const char *sets[] = {"workload.batch=1", "chip.tiles=40",
			      "interconnect.allow_unused=true"};
	struct outcome o;

	run_case(sets, 3, 1, 1, &o);
	if (o.ran) {
		struct cim_prog_op ops[256];
		uint64_t sum = 0, first = 0;
		for (uint32_t k = 0; k < cim_part_npasses(o.e); k++) {
			struct cim_part_pass p;
			cim_part_pass_at(o.e, 1, k, &p);
			size_t n = cim_part_program(o.e, o.plan, &o.plan->ranks[0], &p, ops, 256);
			CU_ASSERT_FATAL(n <= 256);
			for (size_t i = 0; i < n; i++)
				sum += ops[i].ps;
			if (k == 0)
				first = sum;
		}
		CIM_ASSERT_EQ_U64(o.stats[0].end_ps, sum);
		CIM_ASSERT_EQ_U64(o.seqs[0].first_ps, first);
		CIM_ASSERT_EQ_U64(o.seqs[0].last_ps, sum);
		CIM_ASSERT_EQ_U64(o.est.makespan_ps, sum);
		/* the token goes back to the same chip: no link is busy */
		CIM_ASSERT_EQ_U64(o.stats[0].busy_ps[CIM_BUSY_LINK], 0);
		CU_ASSERT(o.res.util[CIM_BUSY_LINK] == 0.0);
		/* a decode step alone: the last pass's program */
		CU_ASSERT_DOUBLE_EQUAL(o.res.tpot_s.mean, (double)(sum - first) * 1e-12 / 5, 1e-15);
	}
	done(&o);
}

static void test_deterministic(void)
{
	struct outcome a, b;

	run_case(NULL, 0, 2, 2, &a);
	run_case(NULL, 0, 2, 2, &b);
	if (a.ran) {
		CU_ASSERT_EQUAL(memcmp(a.stats, b.stats, 4 * sizeof(a.stats[0])), 0);
		CU_ASSERT_EQUAL(memcmp(a.seqs, b.seqs, sizeof(a.seqs)), 0);
		CU_ASSERT_EQUAL(a.res.energy_j, b.res.energy_j);
	}
	done(&a);
	done(&b);
}

/* Faster links never make a run slower. */
static void test_bandwidth_monotone(void)
{
	const char *slow[] = {"interconnect.link.bandwidth_gb_per_s=1"};
	const char *fast[] = {"interconnect.link.bandwidth_gb_per_s=2"};
	const char *faster[] = {"interconnect.link.bandwidth_gb_per_s=4"};
	struct outcome a, b, c;

	run_case(slow, 1, 2, 2, &a);
	run_case(fast, 1, 2, 2, &b);
	run_case(faster, 1, 2, 2, &c);
	if (a.ran) {
		CU_ASSERT(b.res.makespan_ps <= a.res.makespan_ps);
		CU_ASSERT(c.res.makespan_ps <= b.res.makespan_ps);
		CU_ASSERT(a.res.makespan_ps > c.res.makespan_ps); /* links matter at 1 GB/s */
	}
	done(&a);
	done(&b);
	done(&c);
}

/* Energy by component (and leakage) adds up to the total; by chip too. */
static void test_energy_adds_up(void)
{
	struct outcome o;

	run_case(NULL, 0, 2, 2, &o);
	if (o.ran) {
		double sum = o.res.leakage_j, chips = 0, phases = o.res.leakage_j;
		for (int c = 0; c < CIM_E_NCOMP; c++)
			sum += o.res.comp_j[c];
		for (uint32_t i = 0; i < 4; i++)
			chips += o.res.chip_j[i];
		phases += o.res.phase_j[0] + o.res.phase_j[1];
		CIM_ASSERT_REL(sum, o.res.energy_j, 1e-12);
		CIM_ASSERT_REL(chips, o.res.energy_j, 1e-12);
		CIM_ASSERT_REL(phases, o.res.energy_j, 1e-12);
		CU_ASSERT(o.res.comp_j[CIM_E_INTERCONNECT] > 0);
		CU_ASSERT(o.res.comp_j[CIM_E_ADC] > 0);
	}
	done(&o);
}

/* One micro-batch (nothing overlaps): the run equals the estimate within
 * 2 %; and so does a pure pipeline of 4 micro-batches through 4 stages. */
static void test_estimate_agrees(void)
{
	const char *one[] = {"workload.micro_batches=1"};
	struct outcome o, q;

	run_case(one, 1, 2, 2, &o);
	if (o.ran) {
		CIM_ASSERT_REL((double)o.res.makespan_ps, (double)o.est.makespan_ps, 0.02);
		CIM_ASSERT_REL(o.res.energy_j, o.est.energy_j, 0.02);
		CIM_ASSERT_REL(o.res.ttft_s.mean, o.est.ttft_s, 0.02);
	}
	done(&o);
	run_case(NULL, 0, 1, 4, &q);
	if (q.ran) {
		CIM_ASSERT_REL((double)q.res.makespan_ps, (double)q.est.makespan_ps, 0.02);
		CIM_ASSERT_REL(q.res.energy_j, q.est.energy_j, 0.02);
	}
	done(&q);
}

int main(int argc, char **argv)
{
	static const struct cim_test tests[] = {
	    {"one chip, one sequence: exact sums", test_one_chip_exact},
	    {"the same run twice", test_deterministic},
	    {"faster links never slow a run", test_bandwidth_monotone},
	    {"energy adds up", test_energy_adds_up},
	    {"run and estimate agree", test_estimate_agrees},
	};
	int rc;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &world_size);
	if (world_size != 4) {
		if (world_rank == 0)
			fprintf(stderr, "test_exec needs 4 ranks, got %d\n", world_size);
		MPI_Finalize();
		return 1;
	}
	rc = cim_test_run("executor", tests, sizeof(tests) / sizeof(tests[0]));
	MPI_Finalize();
	return rc;
}
