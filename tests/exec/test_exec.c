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

/* The experiment text at path (parts named relative to it), with sets. */
static struct cim_experiment *load_text(const char *path, const char *text, const char *const *sets,
					size_t nsets)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_experiment *e = NULL;
	struct cim_err err;

	cim_files_put(files, path, text, strlen(text));
	if (cim_spec_load_experiment(files, path, sets, nsets, &e, &err) < 0)
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

/* run_case() of experiment e (taken over) with the caller's probe (NULL:
 * none) on every rank of the run. */
static void run_exp(struct cim_experiment *e, uint32_t tp, uint32_t pp,
		    const struct cim_exec_probe *probe, struct outcome *out)
{
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
	struct cim_exec_seq seqs[8] = { { 0 } };
	CU_ASSERT_EQUAL_FATAL(
	    cim_exec_run(e, plan, net, comm, NULL, probe, probe ? 1 : 0, &st, seqs, &err), 0);
	MPI_Gather(&st, sizeof(st), MPI_BYTE, out->stats, sizeof(st), MPI_BYTE, 0, comm);
	MPI_Reduce(seqs, out->seqs, 16, MPI_UINT64_T, MPI_MAX, 0, comm);
	if (world_rank == 0) {
		out->ran = true;
		CU_ASSERT_EQUAL(cim_part_estimate(e, plan, net, &out->est, &err), 0);
		CU_ASSERT_EQUAL(
		    cim_results_make(e, plan, out->stats, plan->chips, out->seqs, &out->res, &err),
		    0);
		out->plan = plan;
		out->e = e;
	} else {
		cim_part_plan_destroy(plan);
		free(e);
	}
	cim_net_destroy(net);
	MPI_Comm_free(&comm);
}

static void run_case(const char *const *sets, size_t nsets, uint32_t tp, uint32_t pp,
		     struct outcome *out)
{
	/* 8 tiles of 64: 512 crossbars, room for two tiny layers at tp 2 */
	const char *all[8] = { "chip.tiles=8" };
	for (size_t i = 0; i < nsets && i < 7; i++)
		all[i + 1] = sets[i];
	run_exp(load_text("tests/data/part/mem.yaml", tiny, all, nsets + 1), tp, pp, NULL, out);
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
	const char *sets[] = { "workload.batch=1", "chip.tiles=40",
			       "interconnect.allow_unused=true" };
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
	const char *slow[] = { "interconnect.link.bandwidth_gb_per_s=1" };
	const char *fast[] = { "interconnect.link.bandwidth_gb_per_s=2" };
	const char *faster[] = { "interconnect.link.bandwidth_gb_per_s=4" };
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
		/* One kind of link: every joule on links is bits × hops × pJ/bit,
		 * so link bytes (sends and all-reduces of the tp-2 groups alike)
		 * times 8 × pJ/bit is the interconnect's energy. */
		const double pj_bit = o.e->net.level[0].link.energy_pj_per_bit;
		CIM_ASSERT_REL(o.res.comp_j[CIM_E_INTERCONNECT] * 1e12,
			       (double)o.res.link_bytes * 8 * pj_bit, 1e-9);
		CU_ASSERT(o.res.link_bytes >= o.res.bytes_sent);
	}
	done(&o);
}

/* One micro-batch (nothing overlaps): the run equals the estimate within
 * 2 %; and so does a pure pipeline of 4 micro-batches through 4 stages. */
static void test_estimate_agrees(void)
{
	const char *one[] = { "workload.micro_batches=1" };
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

/*
 * Two stages worked by hand.  tests/data/exec/: pipe-llama.json (d = 64,
 * 2 query heads and 1 KV head of 32, FFN 128 gated SiLU, vocab 128, 2
 * layers), pipe-chip.yaml (128 × 128 crossbars, 8-bit cells, weights,
 * inputs and DACs, 32 ADCs of 10 ns per crossbar, 50 ns reads, no
 * sample-and-hold; 64 lanes at 1 GHz; buffer 1000 GB/s = 1 B/ps holding the
 * KV cache), pipe-net.yaml (full, one hop: 10 ns + bytes / 4 GB/s).  tp 1 ×
 * pp 2 (one layer a stage: stage 0 = rank 0 with the embedding and layer 0,
 * stage 1 = rank 1 with layer 1 and the LM head), batch 2 in 2
 * micro-batches (mb0 = sequence 0, mb1 = sequence 1), prompt 2, generate 2:
 * pass 0 = prefill (T = 2 queries, past 0), pass 1 = decode (T = 1, past 2).
 * Times below in ns unless marked ps.
 *
 * Steps (partitioner/program.c) priced by docs/chip-model.md:
 *  MVM (§2): n = ⌈8/8⌉ = 1 input cycle; one row block (K ≤ 128: no adder
 *   tree); a block of N ≤ 128 columns, m = ⌈N/32⌉ conversions per ADC, no
 *   sample-and-hold: latency = interval = 50 + m·10.  M vectors (§3):
 *   latency + (M−1)·interval (buffer: M·(K+N) B ≤ 384 ps, never binding).
 *   Q 64×64 m 2 → 70, K and V 64×32 m 1 → 60, qkv step = the slowest = 70;
 *   o 64×64 → 70; gate, up 64×128 m 4 → 90; down 128×64 m 2 → 70; lm_head
 *   64×128 → 90, on one vector (only the last position).  Prefill (M = 2):
 *   qkv 140, o 140, gate_up 180, down 140; decode: 70, 70, 90, 70.
 *  Vector (§4): ⌈ops/64⌉ ns (buffer 2·elems B ≤ 512 ps never binds).
 *   Prefill: embed 2·64·1 = 128 → 2; RMSNorm 2·64·4 = 512 → 8; rope
 *   2·(2+1)·32·3 = 576 → 9; residual 128 → 2; SiLU 2·128·4 = 1024 → 16;
 *   gate_mul 256 → 4.  Decode: embed 64 → 1; norm 256 → 4; rope 288 → 5;
 *   residual 64 → 1; SiLU 512 → 8; gate_mul 128 → 2.  Both: softmax over
 *   h·P = 2·3 = 6 scores ·5 = 30 → 1 (P = q·p + q(q+1)/2 = 3 either way);
 *   final_norm 64·4 → 4; sample 128 → 2.
 *  Attention (§5): 2·h·d·P = 2·2·32·3 = 384 MACs → 6 (K/V read ≤ 192 ps);
 *   it holds the KV port and the digital unit.  KV append 2·1·32·T bytes:
 *   prefill 128 ps, decode 64 ps (KV port only).
 *  Per layer, prefill: attn_norm 8, qkv 140, rope 9, kv_append 128 ps,
 *   attention 6, softmax 1, o_proj 140, attn_residual 2, ffn_norm 8,
 *   gate_up 180, act 16, gate_mul 4, ffn_down 140, ffn_residual 2: 656.128;
 *   digital 50 (+6 attention), KV 6.128, crossbars 600.  Decode: 4, 70, 5,
 *   64 ps, 6, 1, 70, 1, 4, 90, 8, 2, 70, 1: 332.064; digital 26 (+6), KV
 *   6.064, crossbars 300.  Head: final_norm 4, lm_head 90, sample 2 = 96.
 * Transfers (docs/interconnect-model.md, one hop): activations T·64 B:
 *  prefill 10 + 128/4 = 42 (port 32), decode 10 + 16 = 26 (port 16); token
 *  4 B: 10 + 1 = 11 (port 1).  No send waits for its port (below).
 *
 * Schedule (each step at the earliest time its resources are free for its
 * whole length, at or after the step before it; passes in program order:
 * pass 0 mb0, pass 0 mb1, pass 1 mb0, pass 1 mb1):
 *
 *  rank 0  pass      starts (why)         steps                      ends
 *          P mb0     0                    back to back               658.128
 *          P mb1     0 (no input)         embed [10, 12] and norm
 *                                         [12, 20] in the digital
 *                                         unit's gap while mb0's qkv
 *                                         runs; qkv needs X0 for 140:
 *                                         gaps 150–166.128,
 *                                         306.128–316.128, 496.128–
 *                                         516.128 are too short, so
 *                                         it WAITS to 656.128 (mb0's
 *                                         ffn_down end); then
 *                                         656.128 + 648.128          1304.256
 *          D mb0     1463.256 (token)     + 1 + 332.064              1796.320
 *          D mb1     2109.384 (token)     + 333.064                  2442.448
 *  rank 1  P mb0     700.128 = 658.128+42 + 656.128 + 96             1452.256
 *          P mb1     1346.256 = 1304.256+42: attn_norm [1346.256,
 *                                         1354.256] fits exactly
 *                                         before mb0's ffn_residual
 *                                         (1354.256–1360.256 with
 *                                         final_norm); qkv at
 *                                         1354.256 (X1 free: mb0's
 *                                         ffn_down just ended, its
 *                                         lm_head holds the head's
 *                                         crossbars); + 648.128 + 96 2098.384
 *          D mb0     1822.320 = 1796.320+26: attn_norm [1822.320,
 *                                         1826.320]; qkv needs X1 for
 *                                         70 but mb1's prefill holds
 *                                         it 1660.384–1840.384 and
 *                                         1860.384–2000.384: WAITS
 *                                         to 2000.384; rope [2070.384,
 *                                         2075.384], kv_append, attention
 *                                         [2075.448, 2081.448] and
 *                                         softmax fit before mb1's
 *                                         sample (2096.384); o_proj
 *                                         2082.448 + 342 (70+1+4+90+8+
 *                                         2+70+1, head 96)           2424.448
 *          D mb1     2468.448 = 2442.448+26 + 332.064 + 96           2896.512
 *  Overlap: stage 1 runs mb0's prefill (700.128–1452.256) while stage 0
 *  runs mb1's (656.128–1304.256).  Tokens: mb0's leaves rank 1 at 1452.256,
 *  arrives 1463.256; mb1's 2098.384 → 2109.384.  Sends of rank 0 depart at
 *  658.128, 1304.256, 1796.320, 2442.448, each after the port freed (690.128,
 *  1336.256, 1812.320); rank 1's at 1452.256 and 2098.384.
 *
 *  first token: sequence 0 1452.256, sequence 1 2098.384 (prefill sample
 *  ends); last: 2424.448 and 2896.512; makespan 2896.512 (rank 1's end).
 *  Busy, rank 0: digital 2·(2+50+6) + 2·(1+26+6) = 182; KV 2·6.128 +
 *  2·6.064 = 24.384; crossbars 2·600 + 2·300 = 1800; link 32+32+16+16 = 96;
 *  active (union of its steps) 1304.256 + 2·333.064 = 1970.384.  Rank 1:
 *  digital 2·(50+6+4+2) + 2·(26+6+4+2) = 200; KV 24.384; crossbars
 *  2·(600+90) + 2·(300+90) = 2160; link 1+1 = 2; active 2098.384 − 700.128
 *  + (2424.448 − 2098.384) + 428.064 = 2152.384.  Steps: 2·2·15 = 60 on
 *  rank 0, 2·2·17 = 68 on rank 1.
 */
#define PIPE_MAX 80
static struct pipe_log {
	struct cim_rec_op ops[PIPE_MAX];
	uint64_t pass_start[2][2]; /* [step][micro-batch] */
	size_t n;
} pipe_log;

static void pipe_pass(void *ctx, const struct cim_rec_pass *r)
{
	struct pipe_log *l = ctx;

	if (r->step < 2 && r->micro_batch < 2)
		l->pass_start[r->step][r->micro_batch] = r->start_ps;
}

static void pipe_op(void *ctx, const struct cim_rec_op *r)
{
	struct pipe_log *l = ctx;

	if (l->n < PIPE_MAX)
		l->ops[l->n] = *r;
	l->n++;
}

/* The step named name of micro-batch m in pass k on this rank. */
static const struct cim_rec_op *pipe_find(uint32_t k, uint32_t m, const char *name)
{
	for (size_t i = 0; i < pipe_log.n && i < PIPE_MAX; i++)
		if (pipe_log.ops[i].step == k && pipe_log.ops[i].micro_batch == m &&
		    strcmp(pipe_log.ops[i].name, name) == 0)
			return &pipe_log.ops[i];
	fprintf(stderr, "\n  no step %s of micro-batch %u in pass %u\n", name, m, k);
	return NULL;
}

/* Start and end of one step, in ps. */
#define PIPE_AT(k, m, name, s, e)                                                                  \
	do {                                                                                       \
		const struct cim_rec_op *o_ = pipe_find(k, m, name);                               \
		CU_ASSERT_PTR_NOT_NULL(o_);                                                        \
		if (o_) {                                                                          \
			CIM_ASSERT_EQ_U64(o_->start_ps, s);                                        \
			CIM_ASSERT_EQ_U64(o_->end_ps, e);                                          \
		}                                                                                  \
	} while (0)

static const char pipe_exp[] = "model: pipe-llama.json\n"
			       "chip: pipe-chip.yaml\n"
			       "interconnect: pipe-net.yaml\n"
			       "workload:\n  batch: 2\n  micro_batches: 2\n"
			       "  prompt_tokens: 2\n  generate_tokens: 2\n";

static void test_two_stages_by_hand(void)
{
	const struct cim_exec_probe probe = { .ctx = &pipe_log, .pass = pipe_pass, .op = pipe_op };
	struct outcome o;

	memset(&pipe_log, 0, sizeof(pipe_log));
	run_exp(load_text("tests/data/exec/mem.yaml", pipe_exp, NULL, 0), 1, 2, &probe, &o);
	/* Each rank checks the steps it ran (the waits of the schedule). */
	if (world_rank == 0) {
		CIM_ASSERT_EQ_U64(pipe_log.n, 60);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][1], 0);
		PIPE_AT(0, 0, "ffn_down", 516128, 656128);
		PIPE_AT(0, 1, "embed", 10000, 12000); /* in mb0's qkv gap */
		PIPE_AT(0, 1, "attn_norm", 12000, 20000);
		PIPE_AT(0, 1, "qkv_proj", 656128, 796128); /* waits for X0 */
		PIPE_AT(0, 1, "ffn_residual", 1302256, 1304256);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][0], 1463256);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][1], 2109384);
		PIPE_AT(1, 1, "ffn_residual", 2441448, 2442448);
	} else if (world_rank == 1) {
		CIM_ASSERT_EQ_U64(pipe_log.n, 68);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][0], 700128);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][1], 1346256);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][0], 1822320);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][1], 2468448);
		PIPE_AT(0, 0, "ffn_residual", 1354256, 1356256);
		PIPE_AT(0, 0, "sample", 1450256, 1452256);
		PIPE_AT(0, 1, "attn_norm", 1346256, 1354256); /* exactly fits */
		PIPE_AT(0, 1, "qkv_proj", 1354256, 1494256);
		PIPE_AT(0, 1, "ffn_gate_up", 1660384, 1840384);
		PIPE_AT(0, 1, "ffn_down", 1860384, 2000384);
		PIPE_AT(1, 0, "attn_norm", 1822320, 1826320);
		PIPE_AT(1, 0, "qkv_proj", 2000384, 2070384); /* waits for X1 */
		PIPE_AT(1, 0, "attention", 2075448, 2081448);
		PIPE_AT(1, 0, "lm_head", 2332448, 2422448);
		PIPE_AT(1, 1, "sample", 2894512, 2896512);
	}
	if (o.ran) {
		const struct cim_exec_stats *s0 = &o.stats[0], *s1 = &o.stats[1];
		CIM_ASSERT_EQ_U64(o.plan->micro_batches, 2);
		CIM_ASSERT_EQ_U64(o.plan->ranks[0].nlayers, 1);
		CIM_ASSERT_EQ_U64(o.plan->ranks[1].nlayers, 1);
		CIM_ASSERT_EQ_U64(o.res.makespan_ps, 2896512);
		CIM_ASSERT_EQ_U64(o.seqs[0].first_ps, 1452256);
		CIM_ASSERT_EQ_U64(o.seqs[1].first_ps, 2098384);
		CIM_ASSERT_EQ_U64(o.seqs[0].last_ps, 2424448);
		CIM_ASSERT_EQ_U64(o.seqs[1].last_ps, 2896512);
		CIM_ASSERT_EQ_U64(s0->end_ps, 2442448);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_DIGITAL], 182000);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_KV], 24384);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_XBAR], 1800000);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_LINK], 96000);
		CIM_ASSERT_EQ_U64(s0->active_ps, 1970384);
		CIM_ASSERT_EQ_U64(s0->steps, 60);
		CIM_ASSERT_EQ_U64(s1->end_ps, 2896512);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_DIGITAL], 200000);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_KV], 24384);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_XBAR], 2160000);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_LINK], 2000);
		CIM_ASSERT_EQ_U64(s1->active_ps, 2152384);
		CIM_ASSERT_EQ_U64(s1->steps, 68);
	}
	done(&o);
}

int main(int argc, char **argv)
{
	static const struct cim_test tests[] = {
		{ "one chip, one sequence: exact sums", test_one_chip_exact },
		{ "the same run twice", test_deterministic },
		{ "faster links never slow a run", test_bandwidth_monotone },
		{ "energy adds up", test_energy_adds_up },
		{ "run and estimate agree", test_estimate_agrees },
		{ "two stages by hand", test_two_stages_by_hand },
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
