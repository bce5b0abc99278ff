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
			sum += cim_part_program_alone_ps(ops, n);
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
 *   Q 64×64 m 2 → 70, K and V 64×32 m 1 → 60; o 64×64 → 70; gate, up
 *   64×128 m 4 → 90; down 128×64 m 2 → 70; lm_head 64×128 → 90, on one
 *   vector (only the last position).  Prefill (M = 2): q 140, k and v
 *   60 + 60 = 120 each, o 140, gate and up 180 each, down 140; decode: q
 *   70, k and v 60, o 70, gate and up 90, down 70.  Each matrix is its own
 *   step on its own crossbar group (Xq, Xk, Xv, Xo, Xg, Xu, Xd of the
 *   stage's layer, Xh the head's); k and v start at q's ready time, up at
 *   gate's (with_prev), and the step after waits for the group's latest
 *   end: q's 140 (k, v end 20 earlier), gate and up alike.
 *  Vector (§4): ⌈ops/64⌉ ns (buffer 2·elems B ≤ 512 ps never binds).
 *   Prefill: embed 2·64·1 = 128 → 2; RMSNorm 2·64·4 = 512 → 8; rope
 *   2·(2+1)·32·3 = 576 → 9; residual 128 → 2; SiLU 2·128·4 = 1024 → 16;
 *   gate_mul 256 → 4.  Decode: embed 64 → 1; norm 256 → 4; rope 288 → 5;
 *   residual 64 → 1; SiLU 512 → 8; gate_mul 128 → 2.  Both: softmax over
 *   h·P = 2·3 = 6 scores ·5 = 30 → 1 (P = q·p + q(q+1)/2 = 3 either way);
 *   final_norm 64·4 → 4; sample 128 → 2.
 *  Attention (§5): 2·h·d·P = 2·2·32·3 = 384 MACs → 6 on the lanes; K and V
 *   of past + queries positions, 2·1·32 bytes each, are read at 1 B/ps:
 *   prefill 2 positions 128 ps, decode 3 positions 192 ps.  Compute-bound,
 *   it holds the digital unit for its 6 and the KV port only for its read,
 *   in one slice (one KV head of one sequence) at its start.  KV append
 *   2·1·32·T bytes:
 *   prefill 128 ps, decode 64 ps (KV port only).
 *  Per layer, prefill: attn_norm 8, q 140 (k 120, v 120 beside it), rope
 *   9, kv_append 128 ps, attention 6, softmax 1, o_proj 140, attn_residual
 *   2, ffn_norm 8, gate 180 (up 180 beside it), act 16, gate_mul 4,
 *   ffn_down 140, ffn_residual 2: 656.128 alone, 17 steps; digital 50 (+6
 *   attention), KV 0.128 + 0.128 = 0.256, crossbars 140 + 2·120 + 140 + 2·180 + 140 = 1020.
 *   Decode: 4, 70 (60, 60), 5, 64 ps, 6, 1, 70, 1, 4, 90 (90), 8, 2, 70, 1:
 *   332.064; digital 26 (+6), KV 0.064 + 0.192 = 0.256, crossbars 70 + 2·60 + 70 + 2·90 +
 *   70 = 510.  Head: final_norm 4, lm_head 90, sample 2 = 96, 3 steps.
 * Transfers (docs/interconnect-model.md, one hop): activations T·64 B:
 *  prefill 10 + 128/4 = 42 (port 32), decode 10 + 16 = 26 (port 16); token
 *  4 B: 10 + 1 = 11 (port 1).  No send waits for its port (below).
 *
 * Schedule (each step at the earliest time its resources are free for its
 * whole length, at or after its ready time; passes in program order: pass
 * 0 mb0, pass 0 mb1, pass 1 mb0, pass 1 mb1).  D = digital unit; "[a, b]"
 * a step's start and end.
 *
 *  rank 0, P mb0 from 0, alone: embed [0, 2], attn_norm [2, 10], q [10,
 *   150], k and v [10, 130], rope [150, 159], kv_append [159, 159.128],
 *   attention [159.128, 165.128], softmax [165.128, 166.128], o [166.128,
 *   306.128], attn_residual [306.128, 308.128], ffn_norm [308.128,
 *   316.128], gate and up [316.128, 496.128], act [496.128, 512.128],
 *   gate_mul [512.128, 516.128], down [516.128, 656.128], ffn_residual
 *   [656.128, 658.128].  D busy [0, 10], [150, 159], [159.128, 166.128],
 *   [306.128, 316.128], [496.128, 516.128], [656.128, 658.128].
 *  rank 0, P mb1 from 0 (no input): embed [10, 12] and attn_norm [12, 20]
 *   in D's gap 10–150; q needs Xq, held by mb0's q to 150: q [150, 290]
 *   (it waits for mb0's q alone, not, as with one resource a layer, for
 *   mb0's whole layer to 656.128); k and v from the same ready time 20 on
 *   Xk, Xv (mb0's to 130): [130, 250]; rope [290, 299] in D's gap 166.128–
 *   306.128, kv_append [299, 299.128], attention [299.128, 305.128],
 *   softmax [305.128, 306.128] (ends exactly where mb0's attn_residual
 *   starts); o on Xo, free at 306.128: [306.128, 446.128]; attn_residual
 *   [446.128, 448.128], ffn_norm [448.128, 456.128] in D's gap 316.128–
 *   496.128; gate and up wait for mb0's to 496.128: [496.128, 676.128];
 *   act [676.128, 692.128], gate_mul [692.128, 696.128], down (Xd free
 *   since 656.128) [696.128, 836.128], ffn_residual [836.128, 838.128].
 *  rank 0, D mb0 from 1463.256 (token): everything free after 838.128, so
 *   back to back: 1463.256 + 1 + 332.064 = 1796.320.  embed [1463.256,
 *   1464.256], attn_norm to 1468.256, q [1468.256, 1538.256], rope to
 *   1543.256, kv_append to 1543.320, attention to 1549.320, softmax to
 *   1550.320, o [1550.320, 1620.320], attn_residual to 1621.320, ffn_norm
 *   to 1625.320, gate and up [1625.320, 1715.320], act to 1723.320,
 *   gate_mul to 1725.320, down [1725.320, 1795.320], ffn_residual to
 *   1796.320.
 *  rank 0, D mb1 from 1643.256 (token): embed [1643.256, 1644.256],
 *   attn_norm to 1648.256 (D's gap 1625.320–1715.320); q [1648.256,
 *   1718.256] (Xq free since 1538.256), k and v to 1708.256; rope needs D
 *   for 5, busy with mb0's act and gate_mul 1715.320–1725.320: WAITS to
 *   [1725.320, 1730.320]; kv_append to 1730.384, attention to 1736.384,
 *   softmax to 1737.384, o [1737.384, 1807.384], attn_residual to
 *   1808.384, ffn_norm to 1812.384, gate and up [1812.384, 1902.384], act
 *   to 1910.384, gate_mul to 1912.384, down [1912.384, 1982.384],
 *   ffn_residual [1982.384, 1983.384].
 *  rank 1, P mb0 from 700.128 = 658.128 + 42, alone: attn_norm [700.128,
 *   708.128], q [708.128, 848.128], k and v to 828.128, rope [848.128,
 *   857.128], kv_append to 857.256, attention [857.256, 863.256], softmax
 *   to 864.256, o [864.256, 1004.256], attn_residual to 1006.256, ffn_norm
 *   to 1014.256, gate and up [1014.256, 1194.256], act to 1210.256,
 *   gate_mul to 1214.256, down [1214.256, 1354.256], ffn_residual
 *   [1354.256, 1356.256], final_norm to 1360.256, lm_head [1360.256,
 *   1450.256], sample [1450.256, 1452.256].  D busy [700.128, 708.128],
 *   [848.128, 857.128], [857.256, 864.256], [1004.256, 1014.256],
 *   [1194.256, 1214.256], [1354.256, 1360.256], [1450.256, 1452.256].
 *  rank 1, P mb1 from 880.128 = 838.128 + 42: attn_norm [880.128, 888.128]
 *   in D's gap 864.256–1004.256; q [888.128, 1028.128] (Xq free since
 *   848.128: no wait), k and v to 1008.128; rope [1028.128, 1037.128],
 *   kv_append to 1037.256, attention to 1043.256, softmax to 1044.256; o
 *   (Xo free since 1004.256) [1044.256, 1184.256]; attn_residual
 *   [1184.256, 1186.256] and ffn_norm [1186.256, 1194.256] fit exactly
 *   before mb0's act; gate and up on Xg, Xu free at 1194.256: [1194.256,
 *   1374.256]; act [1374.256, 1390.256], gate_mul to 1394.256, down
 *   [1394.256, 1534.256], ffn_residual to 1536.256, final_norm to
 *   1540.256, lm_head [1540.256, 1630.256], sample [1630.256, 1632.256]:
 *   no step of it waits once it has started.
 *  rank 1, D mb0 from 1822.320 = 1796.320 + 26: all free after 1632.256,
 *   back to back, 332.064 + 96: attn_norm [1822.320, 1826.320], q
 *   [1826.320, 1896.320], rope to 1901.320, kv_append to 1901.384,
 *   attention [1901.384, 1907.384], softmax to 1908.384, o [1908.384,
 *   1978.384], attn_residual to 1979.384, ffn_norm to 1983.384, gate and
 *   up [1983.384, 2073.384], act to 2081.384, gate_mul to 2083.384, down
 *   [2083.384, 2153.384], ffn_residual to 2154.384, final_norm to
 *   2158.384, lm_head [2158.384, 2248.384], sample [2248.384, 2250.384].
 *  rank 1, D mb1 from 2009.384 = 1983.384 + 26: attn_norm [2009.384,
 *   2013.384] (D's gap 1983.384–2073.384), q [2013.384, 2083.384] (Xq
 *   free since 1896.320), rope [2083.384, 2088.384] (D free at 2083.384,
 *   mb0's gate_mul's end), kv_append to 2088.448, attention to 2094.448,
 *   softmax to 2095.448, o [2095.448, 2165.448], attn_residual to
 *   2166.448, ffn_norm to 2170.448, gate and up [2170.448, 2260.448],
 *   act to 2268.448, gate_mul to 2270.448, down [2270.448, 2340.448],
 *   ffn_residual to 2341.448, final_norm to 2345.448, lm_head [2345.448,
 *   2435.448], sample [2435.448, 2437.448]: back to back, 2009.384 +
 *   428.064 = 2437.448.
 *
 *  pass            rank 0 start → end       rank 1 start → end
 *  P mb0           0 → 658.128             700.128 → 1452.256
 *  P mb1           0 → 838.128             880.128 → 1632.256
 *  D mb0           1463.256 → 1796.320     1822.320 → 2250.384
 *  D mb1           1643.256 → 1983.384     2009.384 → 2437.448
 *
 *  Tokens: mb0's leaves rank 1 at 1452.256, arrives 1463.256 (+ 11); mb1's
 *  1632.256 → 1643.256.  Sends of rank 0 depart at 658.128, 838.128,
 *  1796.320, 1983.384, each after the port freed (690.128, 870.128,
 *  1812.320); rank 1's at 1452.256 and 1632.256 (port free 1453.256).
 *  Overlap on one chip, one layer, two matrices: on rank 0 mb1's q [150,
 *  290] runs while mb0's o [166.128, 306.128] does (both layer 0), and
 *  mb1's o [306.128, 446.128] while mb0's gate [316.128, 496.128]; on rank
 *  1 mb1's q [888.128, 1028.128] while mb0's o [864.256, 1004.256].
 *
 *  first token: sequence 0 1452.256, sequence 1 1632.256 (prefill sample
 *  ends); last: 2250.384 and 2437.448; makespan 2437.448 (rank 1's end).
 *  Busy, rank 0: digital 2·(2+50+6) + 2·(1+26+6) = 182; KV (appends and
 *  attention reads) 2·(0.128 + 0.128) + 2·(0.064 + 0.192) = 1.024; crossbars (each matrix its own
 * time) 2·1020 + 2·510 = 3060; link 32+32+16+16 = 96; active (union of its steps) [0, 838.128]
 *  (mb1's steps cover 658.128–838.128) + [1463.256, 1983.384] (mb0's act
 *  and gate_mul cover mb1's wait 1718.256–1725.320) = 838.128 + 520.128 =
 *  1358.256; end 1983.384.  Rank 1: digital 2·(50+6+4+2) + 2·(26+6+4+2) =
 *  200; KV 1.024; crossbars 2·(1020+90) + 2·(510+90) = 3420; link 1+1 =
 *  2; active [700.128, 1632.256] + [1822.320, 2437.448] = 932.128 +
 *  615.128 = 1547.256.  Steps: 2·2·(1+17) = 72 on rank 0, 2·2·(17+3) = 80
 *  on rank 1.
 */
#define PIPE_MAX 96
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

/* The hand-worked run, with the probe filling pipe_log on every rank. */
static void pipe_run(struct outcome *o)
{
	static const struct cim_exec_probe probe = { .ctx = &pipe_log,
						     .pass = pipe_pass,
						     .op = pipe_op };

	memset(&pipe_log, 0, sizeof(pipe_log));
	run_exp(load_text("tests/data/exec/mem.yaml", pipe_exp, NULL, 0), 1, 2, &probe, o);
}

static void test_two_stages_by_hand(void)
{
	struct outcome o;

	pipe_run(&o);
	/* Each rank checks the steps it ran (the waits of the schedule). */
	if (world_rank == 0) {
		CIM_ASSERT_EQ_U64(pipe_log.n, 72); /* 4 passes · (embed + 17) */
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][1], 0);
		PIPE_AT(0, 0, "q_proj", 10000, 150000);
		PIPE_AT(0, 0, "k_proj", 10000, 130000); /* with q, 60 + 60 */
		PIPE_AT(0, 0, "v_proj", 10000, 130000);
		PIPE_AT(0, 0, "rope", 150000, 159000); /* after the group's end, q's */
		PIPE_AT(0, 0, "o_proj", 166128, 306128);
		PIPE_AT(0, 0, "ffn_gate", 316128, 496128);
		PIPE_AT(0, 0, "ffn_up", 316128, 496128);
		PIPE_AT(0, 0, "ffn_down", 516128, 656128);
		PIPE_AT(0, 0, "ffn_residual", 656128, 658128);
		PIPE_AT(0, 1, "embed", 10000, 12000); /* in mb0's q gap */
		PIPE_AT(0, 1, "attn_norm", 12000, 20000);
		PIPE_AT(0, 1, "q_proj", 150000, 290000); /* waits for mb0's q only */
		PIPE_AT(0, 1, "k_proj", 130000, 250000); /* for mb0's k */
		PIPE_AT(0, 1, "v_proj", 130000, 250000);
		PIPE_AT(0, 1, "rope", 290000, 299000);
		PIPE_AT(0, 1, "softmax", 305128, 306128); /* exactly fits */
		PIPE_AT(0, 1, "o_proj", 306128, 446128);
		PIPE_AT(0, 1, "ffn_norm", 448128, 456128);
		PIPE_AT(0, 1, "ffn_gate", 496128, 676128); /* waits for mb0's gate */
		PIPE_AT(0, 1, "ffn_up", 496128, 676128);
		PIPE_AT(0, 1, "ffn_down", 696128, 836128);
		PIPE_AT(0, 1, "ffn_residual", 836128, 838128);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][0], 1463256);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][1], 1643256);
		PIPE_AT(1, 0, "ffn_residual", 1795320, 1796320);
		PIPE_AT(1, 1, "q_proj", 1648256, 1718256);
		PIPE_AT(1, 1, "rope", 1725320, 1730320); /* waits for D */
		PIPE_AT(1, 1, "ffn_residual", 1982384, 1983384);
	} else if (world_rank == 1) {
		CIM_ASSERT_EQ_U64(pipe_log.n, 80); /* 4 passes · (17 + 3) */
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][0], 700128);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[0][1], 880128);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][0], 1822320);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][1], 2009384);
		PIPE_AT(0, 0, "o_proj", 864256, 1004256);
		PIPE_AT(0, 0, "ffn_residual", 1354256, 1356256);
		PIPE_AT(0, 0, "sample", 1450256, 1452256);
		PIPE_AT(0, 1, "attn_norm", 880128, 888128);
		PIPE_AT(0, 1, "q_proj", 888128, 1028128); /* no wait */
		PIPE_AT(0, 1, "k_proj", 888128, 1008128);
		PIPE_AT(0, 1, "o_proj", 1044256, 1184256);
		PIPE_AT(0, 1, "ffn_norm", 1186256, 1194256); /* exactly fits */
		PIPE_AT(0, 1, "ffn_gate", 1194256, 1374256);
		PIPE_AT(0, 1, "ffn_down", 1394256, 1534256);
		PIPE_AT(0, 1, "lm_head", 1540256, 1630256);
		PIPE_AT(0, 1, "sample", 1630256, 1632256);
		PIPE_AT(1, 0, "attn_norm", 1822320, 1826320);
		PIPE_AT(1, 0, "q_proj", 1826320, 1896320); /* no wait */
		PIPE_AT(1, 0, "attention", 1901384, 1907384);
		PIPE_AT(1, 0, "lm_head", 2158384, 2248384);
		PIPE_AT(1, 0, "sample", 2248384, 2250384);
		PIPE_AT(1, 1, "q_proj", 2013384, 2083384);
		PIPE_AT(1, 1, "rope", 2083384, 2088384);
		PIPE_AT(1, 1, "sample", 2435448, 2437448);
	}
	if (o.ran) {
		const struct cim_exec_stats *s0 = &o.stats[0], *s1 = &o.stats[1];
		CIM_ASSERT_EQ_U64(o.plan->micro_batches, 2);
		CIM_ASSERT_EQ_U64(o.plan->ranks[0].nlayers, 1);
		CIM_ASSERT_EQ_U64(o.plan->ranks[1].nlayers, 1);
		CIM_ASSERT_EQ_U64(o.res.makespan_ps, 2437448);
		CIM_ASSERT_EQ_U64(o.seqs[0].first_ps, 1452256);
		CIM_ASSERT_EQ_U64(o.seqs[1].first_ps, 1632256);
		CIM_ASSERT_EQ_U64(o.seqs[0].last_ps, 2250384);
		CIM_ASSERT_EQ_U64(o.seqs[1].last_ps, 2437448);
		CIM_ASSERT_EQ_U64(s0->end_ps, 1983384);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_DIGITAL], 182000);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_KV], 1024);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_XBAR], 3060000);
		CIM_ASSERT_EQ_U64(s0->busy_ps[CIM_BUSY_LINK], 96000);
		CIM_ASSERT_EQ_U64(s0->active_ps, 1358256);
		CIM_ASSERT_EQ_U64(s0->steps, 72);
		CIM_ASSERT_EQ_U64(s1->end_ps, 2437448);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_DIGITAL], 200000);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_KV], 1024);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_XBAR], 3420000);
		CIM_ASSERT_EQ_U64(s1->busy_ps[CIM_BUSY_LINK], 2000);
		CIM_ASSERT_EQ_U64(s1->active_ps, 1547256);
		CIM_ASSERT_EQ_U64(s1->steps, 80);
	}
	done(&o);
}

/*
 * Two steps of two micro-batches on different matrices of one layer run at
 * once on one chip (the hand schedule above): their common interval, in
 * ps, from the step records.  Both are of the same layer and hold
 * different crossbar groups, and the same matrix of the two micro-batches
 * holds the same group (so the overlap is not two copies of one matrix).
 */
static void pipe_overlap(uint32_t k, uint32_t m1, const char *n1, uint32_t m0, const char *n0,
			 uint64_t from, uint64_t to)
{
	const struct cim_rec_op *a = pipe_find(k, m1, n1), *b = pipe_find(k, m0, n0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CIM_ASSERT_EQ_U64(a->start_ps > b->start_ps ? a->start_ps : b->start_ps, from);
	CIM_ASSERT_EQ_U64(a->end_ps < b->end_ps ? a->end_ps : b->end_ps, to);
	CU_ASSERT(from < to); /* a moment when both run */
	CU_ASSERT_EQUAL(a->layer, b->layer);
	CU_ASSERT(a->resource >= CIM_RES_XBAR0 && b->resource >= CIM_RES_XBAR0);
	CU_ASSERT_NOT_EQUAL(a->resource, b->resource);
	const struct cim_rec_op *a0 = pipe_find(k, m0, n1), *b1 = pipe_find(k, m1, n0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b1);
	CU_ASSERT_EQUAL(a->resource, a0->resource);
	CU_ASSERT_EQUAL(b->resource, b1->resource);
}

static void test_two_matrices_overlap(void)
{
	struct outcome o;

	pipe_run(&o);
	if (world_rank == 0) {
		/* prefill, layer 0: mb1's q [150, 290] with mb0's o [166.128,
		 * 306.128]: [166.128, 290]; mb1's o [306.128, 446.128] with mb0's
		 * gate [316.128, 496.128]: [316.128, 446.128]; mb1's k [130, 250]
		 * with mb0's q [10, 150]: [130, 150] */
		pipe_overlap(0, 1, "q_proj", 0, "o_proj", 166128, 290000);
		pipe_overlap(0, 1, "o_proj", 0, "ffn_gate", 316128, 446128);
		pipe_overlap(0, 1, "k_proj", 0, "q_proj", 130000, 150000);
		CIM_ASSERT_EQ_U64(pipe_find(0, 0, "o_proj")->layer, 0);
	} else if (world_rank == 1) {
		/* prefill, layer 1: mb1's q [888.128, 1028.128] with mb0's o
		 * [864.256, 1004.256]: [888.128, 1004.256] */
		pipe_overlap(0, 1, "q_proj", 0, "o_proj", 888128, 1004256);
		CIM_ASSERT_EQ_U64(pipe_find(0, 0, "o_proj")->layer, 1);
	}
	done(&o);
}

/*
 * Two micro-batches on one chip whose attention lasts ten MVMs, worked by
 * hand.  pipe-llama.json cut to one layer (tests/data/exec/), on
 * port-chip.yaml (pipe-chip.yaml with 80 ns reads, so q, o and down take
 * 100 ns, k and v 90, gate, up and lm_head 120; the KV cache in a DRAM of
 * 0.064 GB/s: the 64 bytes of K and V of one position take 1000 ns, ten
 * MVMs), tp 1 × pp 1, batch 2 in 2 micro-batches, prompt 1, generate 2:
 * pass 0 = prefill (T = 1, past 0), pass 1 = decode (T = 1, past 1).  The
 * token goes back to the same chip at once.  Times in ns.
 *
 * Steps (docs/chip-model.md): embed 1, attn_norm 4, q 100 (k, v 90 beside
 * it), rope ⌈3·32·3/64⌉ = 5, kv_append one position 1000 (KV port),
 * attention: prefill reads 1 position, 1000 on the port, 2·2·32·1 = 128
 * MACs = 2 on the lanes; decode reads 2 positions, 2000, 256 MACs = 4.
 * Memory-bound, it holds the port throughout and the lanes for one slice
 * (one KV head of one sequence) at its end, as the last block arrives.
 * softmax 1, o 100, attn_residual 1, ffn_norm 4, gate and up 120, act 8,
 * gate_mul 2, down 100, ffn_residual 1, final_norm 4, lm_head 120, sample 2.
 *
 * Schedule (passes placed in program order, each step at the earliest time
 * its resources are free):
 *  P mb0 from 0: embed [0, 1], attn_norm [1, 5], q [5, 105], k and v [5,
 *   95], rope [105, 110], kv_append [110, 1110], attention [1110, 2110]
 *   (lanes [2108, 2110]), softmax [2110, 2111], o [2111, 2211], ...,
 *   gate [2216, 2336], down [2346, 2446], lm_head [2451, 2571], sample
 *   [2571, 2573].
 *  P mb1 from 0: embed [5, 6] and attn_norm [6, 10] on the lanes while mb0's
 *   q runs; q [105, 205] on Xq and rope [205, 210] while mb0's append holds
 *   the port (the lanes are free during mb0's KV work); kv_append waits for
 *   the port: [2110, 3110]; attention [3110, 4110]; o [4111, 4211]; sample
 *   [4571, 4573].
 *  D mb0 from 2573: embed [2573, 2574], q [2578, 2678], rope [2678, 2683],
 *   kv_append waits for the port: [4110, 5110], attention [5110, 7110],
 *   o [7111, 7211], sample [7571, 7573].
 *  D mb1 from 4573: q [4578, 4678], rope [4678, 4683], kv_append [7110,
 *   8110] (the port's next free moment, mb0's attention's end), attention
 *   [8110, 10110], sample [10571, 10573].
 *
 * The port is busy without a gap from 110 to 10110: 2·(1000 + 1000) +
 * 2·(1000 + 2000) = 10000, and it sets the pace: the decodes end 3000
 * apart (7573, 10573), the port's load per decode step of a micro-batch
 * (append 1000 + read 2000).  The lanes are busy only for their work:
 * prefill 1+4+5+2+1+1+4+8+2+1+4+2 = 35, decode 37 (attention 4): 2·35 +
 * 2·37 = 144, not the 6000 of attentions holding them; crossbars
 * 4·(100+90+90+100+120+120+100+120) = 3360.  Some step runs at every moment
 * of [0, 10573]: active 10573, no bubble.  First tokens 2573 and 4573, last
 * 7573 and 10573: TPOT (5000 + 6000) / 2 = 5500.
 */
static const char port_exp[] = "model: pipe-llama.json\n"
			       "chip: port-chip.yaml\n"
			       "interconnect: pipe-net.yaml\n"
			       "workload:\n  batch: 2\n  micro_batches: 2\n  kv_bits: 8\n"
			       "  prompt_tokens: 1\n  generate_tokens: 2\n";

static void test_kv_port_bound(void)
{
	static const struct cim_exec_probe probe = { .ctx = &pipe_log,
						     .pass = pipe_pass,
						     .op = pipe_op };
	const char *sets[] = { "model.num_hidden_layers=1", "interconnect.allow_unused=true" };
	struct outcome o;

	memset(&pipe_log, 0, sizeof(pipe_log));
	run_exp(load_text("tests/data/exec/mem.yaml", port_exp, sets, 2), 1, 1, &probe, &o);
	if (world_rank == 0) {
		CIM_ASSERT_EQ_U64(pipe_log.n, 4 * 21); /* embed + 17 + 3 */
		PIPE_AT(0, 0, "q_proj", 5000, 105000);
		PIPE_AT(0, 0, "kv_append", 110000, 1110000);
		PIPE_AT(0, 0, "attention", 1110000, 2110000);
		PIPE_AT(0, 0, "o_proj", 2111000, 2211000);
		PIPE_AT(0, 0, "ffn_gate", 2216000, 2336000);
		PIPE_AT(0, 0, "ffn_down", 2346000, 2446000);
		PIPE_AT(0, 0, "lm_head", 2451000, 2571000);
		PIPE_AT(0, 0, "sample", 2571000, 2573000);
		PIPE_AT(0, 1, "embed", 5000, 6000); /* lanes free during mb0's q */
		PIPE_AT(0, 1, "attn_norm", 6000, 10000);
		PIPE_AT(0, 1, "q_proj", 105000, 205000); /* during mb0's append */
		PIPE_AT(0, 1, "k_proj", 95000, 185000);
		PIPE_AT(0, 1, "rope", 205000, 210000);
		PIPE_AT(0, 1, "kv_append", 2110000, 3110000); /* waits for the port */
		PIPE_AT(0, 1, "attention", 3110000, 4110000);
		PIPE_AT(0, 1, "o_proj", 4111000, 4211000);
		PIPE_AT(0, 1, "sample", 4571000, 4573000);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][0], 2573000);
		CIM_ASSERT_EQ_U64(pipe_log.pass_start[1][1], 4573000);
		PIPE_AT(1, 0, "q_proj", 2578000, 2678000);
		PIPE_AT(1, 0, "rope", 2678000, 2683000);
		PIPE_AT(1, 0, "kv_append", 4110000, 5110000);
		PIPE_AT(1, 0, "attention", 5110000, 7110000);
		PIPE_AT(1, 0, "o_proj", 7111000, 7211000);
		PIPE_AT(1, 0, "sample", 7571000, 7573000);
		PIPE_AT(1, 1, "q_proj", 4578000, 4678000);
		PIPE_AT(1, 1, "rope", 4678000, 4683000);
		PIPE_AT(1, 1, "kv_append", 7110000, 8110000); /* mb0's attention's end */
		PIPE_AT(1, 1, "attention", 8110000, 10110000);
		PIPE_AT(1, 1, "sample", 10571000, 10573000);
		const struct cim_rec_op *a = pipe_find(1, 0, "attention");
		if (a) { /* the port throughout, the lanes for their 4 ns */
			CU_ASSERT_EQUAL(a->resource, CIM_RES_KV);
			CU_ASSERT_EQUAL(a->resource2, CIM_RES_DIGITAL);
			CIM_ASSERT_EQ_U64(a->busy2_ps, 4000);
		}
	}
	if (o.ran) {
		const struct cim_exec_stats *s = &o.stats[0];
		CIM_ASSERT_EQ_U64(o.res.makespan_ps, 10573000);
		CIM_ASSERT_EQ_U64(o.seqs[0].first_ps, 2573000);
		CIM_ASSERT_EQ_U64(o.seqs[1].first_ps, 4573000);
		CIM_ASSERT_EQ_U64(o.seqs[0].last_ps, 7573000);
		CIM_ASSERT_EQ_U64(o.seqs[1].last_ps, 10573000);
		/* the decode interval is the port's load per step: 1000 + 2000 */
		CIM_ASSERT_EQ_U64(o.seqs[1].last_ps - o.seqs[0].last_ps, 3000000);
		CIM_ASSERT_EQ_U64(s->busy_ps[CIM_BUSY_KV], 10000000);
		CIM_ASSERT_EQ_U64(s->busy_ps[CIM_BUSY_DIGITAL], 144000);
		CIM_ASSERT_EQ_U64(s->busy_ps[CIM_BUSY_XBAR], 3360000);
		CIM_ASSERT_EQ_U64(s->active_ps, 10573000);
		CU_ASSERT_DOUBLE_EQUAL(o.res.tpot_s.mean, 5500e-9, 1e-15);
		CU_ASSERT_DOUBLE_EQUAL(o.res.bubble, 0.0, 1e-12);
	}
	done(&o);
}

/* A single stage of tp 2 (16 tiles: the whole tiny model on each chip)
 * with a prompt of 256 in 4 micro-batches: every
 * fraction the results hold lies in [0, 1] (cim_results_make() refuses
 * those that do not, and the run's rank 0 checks them again here). */
static void test_one_stage_long_prompt(void)
{
	const char *sets[] = { "chip.tiles=16", "workload.prompt_tokens=256", "workload.batch=8",
			       "workload.micro_batches=4", "workload.generate_tokens=4" };
	struct outcome o;

	run_case(sets, 5, 2, 1, &o);
	if (o.ran) {
		for (int c = 0; c < CIM_BUSY_NCLASS; c++)
			CU_ASSERT(o.res.util[c] >= 0 && o.res.util[c] <= 1);
		CU_ASSERT(o.res.bubble >= 0 && o.res.bubble <= 1);
		for (uint32_t i = 0; i < 2; i++) {
			const struct cim_exec_stats *s = &o.stats[i];
			CU_ASSERT(s->active_ps <= o.res.makespan_ps);
			for (int c = 0; c < CIM_BUSY_NCLASS; c++) /* crossbars: Σ over groups */
				CU_ASSERT(s->busy_ps[c] <=
					  o.res.makespan_ps *
					      (c == CIM_BUSY_XBAR ? s->xbar_groups : 1));
		}
		CU_ASSERT(o.res.util[CIM_BUSY_XBAR] > 0);
		/* Every transfer is a collective's (the token goes back to the
		 * same chip): the link ports' busy time is the bytes the
		 * collectives put on the links at the link's bandwidth, each
		 * replay's per-link time rounded up to a ps. */
		const double bw = o.e->net.level[0].link.bandwidth_bps;
		uint64_t busy =
			     o.stats[0].busy_ps[CIM_BUSY_LINK] + o.stats[1].busy_ps[CIM_BUSY_LINK],
			 colls = o.stats[0].colls + o.stats[1].colls;
		double want = (double)o.res.link_bytes * 1e12 / bw;
		CU_ASSERT(o.res.link_bytes > 0);
		CU_ASSERT((double)busy >= want - 1 && (double)busy <= want + 2.0 * (double)colls);
		CU_ASSERT(o.res.util[CIM_BUSY_LINK] > 0);
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
		{ "two micro-batches on different matrices of one layer overlapping",
		  test_two_matrices_overlap },
		{ "two micro-batches whose attention lasts ten MVMs: a KV-port-bound decode",
		  test_kv_port_bound },
		{ "a single stage of tp 2 with a long prompt: fractions in [0, 1]",
		  test_one_stage_long_prompt },
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
