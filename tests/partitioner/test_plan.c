/*
 * test_plan.c — the partitioner: shard shapes and crossbar counts worked by
 * hand on a tiny model and chip, weights that add up to the model's, stage
 * balance, refusals, the fewest chips, packing, and the estimate.
 *
 * The tiny model (tests/data/part/tiny-llama.json): d = 256, 4 heads and 2
 * KV heads of 64, FFN 512 (gated), vocabulary 1000, 4 layers.  The tiny chip
 * (tests/data/part/tiny-64.yaml): 64 × 64 crossbars, 8-bit weights in two
 * 4-bit cells with an offset (no extra columns), so 32 weights per crossbar
 * row; 4 tiles × 64 = 256 crossbars.  A K × N matrix takes
 * ⌈K/64⌉ · ⌈2N/64⌉ crossbars.
 */
#include <stdlib.h>
#include <string.h>

#include "part_int.h"
#include "partitioner.h"
#include "test.h"

static const char tiny[] = "model: tiny-llama.json\n"
			   "chip: tiny-64.yaml\n"
			   "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			   "workload:\n  batch: 2\n  prompt_tokens: 16\n  generate_tokens: 8\n";

static struct cim_experiment *load(const char *text, const char *const *sets, size_t nsets)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_experiment *e = NULL;
	struct cim_err err;

	cim_files_put(files, "tests/data/part/mem.yaml", text, strlen(text));
	if (cim_spec_load_experiment(files, "tests/data/part/mem.yaml", sets, nsets, &e, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	cim_files_destroy(files);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	return e;
}

static struct cim_part_plan *plan_of(const struct cim_experiment *e, uint32_t tp, uint32_t pp,
				     uint32_t dp)
{
	struct cim_part_plan *plan = NULL;
	struct cim_err err;

	if (cim_part_plan(e, tp, pp, dp, &plan, &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plan);
	return plan;
}

static const struct cim_part_shard *shard(const struct cim_part_rank *r, enum cim_op_role role)
{
	for (uint32_t i = 0; i < r->nshards; i++)
		if (r->shards[i].role == (uint32_t)role)
			return &r->shards[i];
	CU_FAIL("no such shard");
	return &r->shards[0];
}

static void test_shards_tp2(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_plan *p = plan_of(e, 2, 4, 1);
	const struct cim_part_rank *r = &p->ranks[1]; /* stage 0, tp index 1 */

	CIM_ASSERT_EQ_U64(p->chips, 8);
	CIM_ASSERT_EQ_U64(r->stage, 0);
	CIM_ASSERT_EQ_U64(r->tp_index, 1);
	CIM_ASSERT_EQ_U64(r->nlayers, 1);
	CIM_ASSERT_EQ_U64(r->heads, 2);	   /* 4 heads / 2 */
	CIM_ASSERT_EQ_U64(r->kv_heads, 1); /* 2 KV heads / 2 */
	/* q: 256 × (2 heads · 64) = 256 × 128 → 4 · ⌈256/64⌉ = 16 crossbars */
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_Q_PROJ)->k, 256);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_Q_PROJ)->n, 128);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_Q_PROJ)->crossbars, 16);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_Q_PROJ)->split, CIM_SPLIT_COLUMN);
	/* k, v: 256 × 64 → 4 · 2 = 8 */
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_K_PROJ)->n, 64);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_K_PROJ)->crossbars, 8);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_K_PROJ)->holders, 1);
	/* o: rows split, 128 × 256 → 2 · 8 = 16 */
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_O_PROJ)->k, 128);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_O_PROJ)->n, 256);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_O_PROJ)->crossbars, 16);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_O_PROJ)->split, CIM_SPLIT_ROW);
	/* gate, up: 256 × 256 → 4 · 8 = 32; down: 256 × 256 rows split → 32 */
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_FFN_GATE)->crossbars, 32);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_FFN_UP)->crossbars, 32);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_FFN_DOWN)->k, 256);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_FFN_DOWN)->crossbars, 32);
	/* 16 + 8 + 8 + 16 + 32 + 32 + 32 = 144 per layer, one layer */
	CIM_ASSERT_EQ_U64(r->crossbars, 144);
	CU_ASSERT_TRUE(r->embed);
	/* The table, 1000 · 256 = 256,000 bytes at 8 bits, fits the 32 MiB
	 * buffer beside the rest: it stays there. */
	CU_ASSERT_FALSE(r->embed_dram);
	CU_ASSERT_FALSE(r->head);
	/* The last stage adds the LM head, 256 × 500 → 4 · ⌈1000/64⌉ = 64. */
	const struct cim_part_rank *last = &p->ranks[7];
	CU_ASSERT_TRUE(last->head);
	CIM_ASSERT_EQ_U64(shard(last, CIM_ROLE_LM_HEAD)->n, 500);
	CIM_ASSERT_EQ_U64(shard(last, CIM_ROLE_LM_HEAD)->crossbars, 64);
	CIM_ASSERT_EQ_U64(last->crossbars, 208);
	/* Fill of q: 256 · 128 weights · 2 cells / (16 · 64 · 64) = 1. */
	CU_ASSERT_DOUBLE_EQUAL((double)shard(r, CIM_ROLE_Q_PROJ)->cells_used / (16.0 * 64 * 64),
			       1.0, 1e-12);
	/* KV: 2 sequences × (16 + 8 − 1) positions × K and V × 1 head × 64
	 * × 1 byte × 1 layer = 5,888 bytes. */
	CIM_ASSERT_EQ_U64(r->kv_bytes, 5888);
	CIM_ASSERT_EQ_U64(p->context, 23);
	CU_ASSERT_TRUE(cim_part_fits(e, p, NULL));
	cim_part_plan_destroy(p);
	free(e);
}

/* tp 4 > 2 KV heads: each KV head is held by two members. */
/* With a 128 KiB buffer (131,072 bytes) the 256,000-byte table no longer
 * fits: it goes to the DRAM, and the first stage's embedding step reads
 * its 16 tokens' rows there: 2 sequences (batch 2 in one micro-batch) · 16
 * tokens · 256 values · 1 byte = 8192 bytes at 460.8 GB/s, ⌈8192e12 /
 * 460.8e9⌉ = 17,778 ps, on the DRAM's port (the KV resource), 8192 · 31.2
 * = 255,590.4 pJ of DRAM and 8192 · 1.25 = 10,240 pJ of buffer. */
static void test_embedding_in_dram(void)
{
	const char *sets[] = { "chip.buffer.capacity_mib=0.125", "workload.micro_batches=1" };
	struct cim_experiment *e = load(tiny, sets, 2);
	struct cim_part_plan *p = plan_of(e, 2, 4, 1);
	const struct cim_part_rank *r = &p->ranks[0];
	struct cim_prog_op ops[64];
	struct cim_part_pass pass;

	CU_ASSERT_TRUE(r->embed && r->embed_dram);
	CU_ASSERT_FALSE(p->ranks[2].embed_dram); /* stage 1 holds no table */
	cim_part_pass_at(e, 2, 0, &pass);
	size_t n = cim_part_program(e, p, r, &pass, ops, 64);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(ops[0].role, CIM_ROLE_EMBED);
	CU_ASSERT_EQUAL(ops[0].res, CIM_RES_KV);
	CIM_ASSERT_EQ_U64(ops[0].ps, 17778);
	CIM_ASSERT_REL(ops[0].energy.pj[CIM_E_DRAM], 255590.4, 1e-12);
	CIM_ASSERT_REL(ops[0].energy.pj[CIM_E_BUFFER], 10240.0, 1e-12);
	CIM_ASSERT_REL(ops[0].energy.pj[CIM_E_DIGITAL], 0.0, 1e-12);
	cim_part_plan_destroy(p);
	free(e);
}

static void test_kv_heads_replicated(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_plan *p = plan_of(e, 4, 2, 1);
	const struct cim_part_rank *r = &p->ranks[2];

	CIM_ASSERT_EQ_U64(r->heads, 1);
	CIM_ASSERT_EQ_U64(r->kv_heads, 1);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_K_PROJ)->n, 64);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_K_PROJ)->holders, 2);
	/* q 256×64: 4·2 = 8; k, v 8 each; o 64×256: 1·8 = 8; gate, up 256×128:
	 * 4·4 = 16 each; down 128×256: 2·8 = 16 → 80 per layer, 2 layers. */
	CIM_ASSERT_EQ_U64(r->crossbars, 160);
	cim_part_plan_destroy(p);
	free(e);
}

/* Σ over one replica's chips of every shard's weights / holders, plus the
 * memory-held parameters of one member per stage, is the model's total. */
static void check_sum(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp)
{
	struct cim_part_plan *p = plan_of(e, tp, pp, dp);
	struct cim_model_stats st;
	uint64_t w = 0, bias = 0, mem = 0, tied = 0;

	cim_model_stats(&e->model, &st);
	for (uint32_t i = 0; i < p->chips / dp; i++) {
		const struct cim_part_rank *r = &p->ranks[i];
		for (uint32_t j = 0; j < r->nshards; j++) {
			w += r->shards[j].weights / r->shards[j].holders;
			bias += r->shards[j].bias / r->shards[j].holders;
		}
		if (r->tp_index == 0) {
			/* memory_params counts its biases too; take them out */
			uint64_t own = 0;
			for (uint32_t j = 0; j < r->nshards; j++)
				own += r->shards[j].bias;
			mem += r->memory_params - own;
		}
	}
	if (e->model.tied_embeddings) /* the head is a crossbar copy of the table */
		tied = (uint64_t)e->model.vocab * e->model.hidden;
	CIM_ASSERT_EQ_U64(w, p->weights);
	CIM_ASSERT_EQ_U64(w + bias + mem, st.params + tied);
	cim_part_plan_destroy(p);
}

static void test_weights_add_up(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	static const uint32_t splits[][3] = {
		{ 1, 1, 1 }, { 2, 4, 1 }, { 4, 2, 1 }, { 4, 1, 2 }, { 2, 3, 1 }
	};

	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++)
		check_sum(e, splits[i][0], splits[i][1], splits[i][2]);
	free(e);
	/* GPT-2 (biases, learned positions, tied head) at tp 3, which splits
	 * its 3072-wide FFN and 50257-word head unevenly; Mixtral's experts. */
	static const char *const models[] = { "../../../configs/models/gpt2.json",
					      "../../../configs/models/mixtral-8x7b.json" };
	for (size_t i = 0; i < 2; i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "model: %s\nchip: ../../../configs/chips/llm-class.yaml\n"
			 "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			 "workload:\n  batch: 4\n  prompt_tokens: 16\n  generate_tokens: 8\n",
			 models[i]);
		e = load(text, NULL, 0);
		check_sum(e, i == 0 ? 3 : 4, 4, 1);
		check_sum(e, i == 0 ? 12 : 8, 2, 2);
		free(e);
	}
}

/* Capacity balance of 8 layers over 3 stages: a layer takes 288 crossbars
 * at tp 1 (32 + 16 + 16 + 32 + 64 + 64 + 64), the head 4 · ⌈2000/64⌉ =
 * 128.  [3, 3, 2] gives 864, 864, 576 + 128 = 704: the largest is 864;
 * [3, 2, 3] would put 992 on the last. */
static void test_balance_capacity(void)
{
	const char *sets[] = { "model.num_hidden_layers=8", "parallel.balance=capacity" };
	struct cim_experiment *e = load(tiny, sets, 2);
	struct cim_part_plan *p = plan_of(e, 1, 3, 1);

	CIM_ASSERT_EQ_U64(p->stage_layers[0], 3);
	CIM_ASSERT_EQ_U64(p->stage_layers[1], 3);
	CIM_ASSERT_EQ_U64(p->stage_layers[2], 2);
	CIM_ASSERT_EQ_U64(p->ranks[0].crossbars, 864);
	CIM_ASSERT_EQ_U64(p->ranks[2].crossbars, 704);
	CIM_ASSERT_EQ_U64(p->ranks[2].first_layer, 6);
	cim_part_plan_destroy(p);
	free(e);
}

/* Cost balance: every stage's cost (layers · layer cost, plus the ends)
 * within one layer's cost of every other stage's, for many splits. */
static void test_balance_cost(void)
{
	const char *sets[] = { "model.num_hidden_layers=13" };
	struct cim_experiment *e = load(tiny, sets, 1);

	for (uint32_t pp = 1; pp <= 13; pp++) {
		struct cim_part_plan *p = plan_of(e, 1, pp, 1);
		struct cim_part_pass pass;
		struct cim_prog_op ops[512];
		uint64_t lo = UINT64_MAX, hi = 0, layer = 0;

		cim_part_pass_at(e, 1, cim_part_npasses(e) - 1, &pass);
		/* one layer alone: a middle chip's program with one layer */
		struct cim_part_rank one = p->ranks[0];
		one.nlayers = 1;
		one.embed = one.head = false;
		size_t nl = cim_part_program(e, p, &one, &pass, ops, 512);
		for (size_t i = 0; i < nl; i++)
			layer += ops[i].ps;
		for (uint32_t s = 0; s < pp; s++) {
			uint64_t c = 0;
			size_t n = cim_part_program(e, p, &p->ranks[s], &pass, ops, 512);
			CU_ASSERT_FATAL(n <= 512);
			for (size_t i = 0; i < n; i++)
				c += ops[i].ps;
			lo = c < lo ? c : lo;
			hi = c > hi ? c : hi;
		}
		uint32_t sum = 0;
		for (uint32_t s = 0; s < pp; s++)
			sum += p->stage_layers[s];
		CIM_ASSERT_EQ_U64(sum, 13);
		if (layer)
			CU_ASSERT(hi - lo <= layer + layer / 20); /* mean vs last context */
		cim_part_plan_destroy(p);
	}
	free(e);
}

static void test_balance_list(void)
{
	const char *ok[] = { "parallel.balance=list", "parallel.layers=[1, 3]", "parallel.pp=2" };
	struct cim_experiment *e = load(tiny, ok, 3);
	struct cim_part_plan *p = plan_of(e, 1, 2, 1);
	struct cim_err err;

	CIM_ASSERT_EQ_U64(p->stage_layers[0], 1);
	CIM_ASSERT_EQ_U64(p->stage_layers[1], 3);
	CIM_ASSERT_EQ_U64(p->ranks[1].first_layer, 1);
	cim_part_plan_destroy(p);
	free(e);

	/* A list for other stages than the split has is refused by the plan;
	 * a list that does not add up is refused when the file is read. */
	const char *other[] = { "parallel.balance=list", "parallel.layers=[1, 1, 2]",
				"parallel.pp=3" };
	e = load(tiny, other, 3);
	CU_ASSERT_EQUAL(cim_part_plan(e, 1, 2, 1, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "parallel.layers lists 3 stages but the split has 2");
	free(e);
}

static void test_refusals(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_plan *p = NULL;
	struct cim_err err;

	CU_ASSERT_EQUAL(cim_part_plan(e, 3, 1, 1, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tp 3 does not divide the 4 attention heads of tiny-llama");
	CIM_ASSERT_HAS(err.msg, "tp may be 1, 2, 4");
	CU_ASSERT_EQUAL(cim_part_plan(e, 1, 5, 1, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "pp 5 exceeds the 4 layers");
	CU_ASSERT_EQUAL(cim_part_plan(e, 1, 1, 3, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "dp 3 exceeds the batch of 2 sequences");
	CU_ASSERT_PTR_NULL(p);
	free(e);
	const char *mb[] = { "workload.micro_batches=2" };
	e = load(tiny, mb, 1);
	/* batch 2 over dp 2: one sequence a replica, so 2 micro-batches cannot be */
	CU_ASSERT_EQUAL(cim_part_plan(e, 1, 1, 2, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "workload.micro_batches 2 exceeds the 1 sequences of a replica");
	free(e);
	e = load(tiny, NULL, 0);

	/* tp 2 × pp 2: two layers of 144 crossbars and the head's 64 make 352
	 * on the last chip, 96 over its 256. */
	p = plan_of(e, 2, 2, 1);
	CU_ASSERT_FALSE(cim_part_fits(e, p, &err));
	CIM_ASSERT_HAS(err.msg, "rank 2 (stage 1, tp 0, layers 2-3 and the LM head) needs 352 "
				"crossbars but tiny-64 has 256: 96 over (37.5%); 4 of 4 chips "
				"overflow");
	cim_part_plan_destroy(p);
	free(e);
}

/* The fewest chips: the model's 4 · 288 + 128 = 1,280 crossbars need at
 * least 5 chips of 256.  5 and 7 are prime and above the 4 layers or not
 * dividing 4 heads; 6 = tp 2 × pp 3 puts two layers (288) on a chip; 8 =
 * tp 4 × pp 2 puts 160 on the first stage and 160 + 4 · ⌈500/64⌉ = 192 on
 * the last: it fits, and is found before tp 2 × pp 4. */
static void test_min_chips(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_plan *p = NULL;
	struct cim_err err;
	uint32_t tp = 0, pp = 0;

	CIM_ASSERT_EQ_U64(cim_part_min_chips(e, 64, &tp, &pp), 8);
	CIM_ASSERT_EQ_U64(tp, 4);
	CIM_ASSERT_EQ_U64(pp, 2);
	/* The manual split does not fit: the message says so and suggests it. */
	const char *sets[] = { "parallel.tp=2", "parallel.pp=2", "interconnect.allow_unused=true" };
	free(e);
	e = load(tiny, sets, 3);
	CU_ASSERT_EQUAL(cim_part_choose(e, 0, &p, &err), -1);
	CIM_ASSERT_HAS(err.msg, "needs 352 crossbars but tiny-64 has 256");
	CIM_ASSERT_HAS(err.msg, "The fewest tiny-64 chips that hold tiny-llama: 8 (tp 4, pp 2)");
	free(e);
	const char *ms[] = { "parallel.strategy=min-chips" };
	e = load(tiny, ms, 1);
	CU_ASSERT_EQUAL_FATAL(cim_part_choose(e, 0, &p, &err), 0);
	CIM_ASSERT_EQ_U64(p->chips, 8);
	cim_part_plan_destroy(p);
	free(e);
}

static void test_pack(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_plan *a = plan_of(e, 2, 4, 1), *b = plan_of(e, 2, 4, 1), *c = NULL;
	char *ba, *bb, *bc;
	size_t la, lb, lc;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(cim_part_pack(a, &ba, &la, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_part_pack(b, &bb, &lb, &err), 0);
	CIM_ASSERT_EQ_U64(la, lb);
	CU_ASSERT_EQUAL(memcmp(ba, bb, la), 0); /* same inputs, same bytes */
	CU_ASSERT_EQUAL_FATAL(cim_part_unpack(ba, la, &c, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_part_pack(c, &bc, &lc, &err), 0);
	CIM_ASSERT_EQ_U64(lc, la);
	CU_ASSERT_EQUAL(memcmp(ba, bc, la), 0);
	CIM_ASSERT_EQ_U64(c->ranks[7].shards[7].crossbars, 64);
	CIM_ASSERT_EQ_U64(c->ranks[7].shards[7].role, CIM_ROLE_LM_HEAD);
	/* Truncated or foreign bytes are refused, never read past. */
	for (size_t cut = 0; cut < la; cut += 7) {
		struct cim_part_plan *d = NULL;
		CU_ASSERT_EQUAL(cim_part_unpack(ba, cut, &d, &err), -1);
		CU_ASSERT_PTR_NULL(d);
	}
	CU_ASSERT_EQUAL(cim_part_unpack("hello", 5, &c, &err), -1);
	CIM_ASSERT_HAS(err.msg, "not a packed plan");
	free(ba);
	free(bb);
	free(bc);
	cim_part_plan_destroy(a);
	cim_part_plan_destroy(b);
	cim_part_plan_destroy(c);
	free(e);
}

/*
 * The estimate of one chip, one sequence, no micro-batching: the makespan is
 * the prefill pass then each decode pass, one after another, each the sum of
 * its program's steps (nothing overlaps and nothing is sent).
 */
static void test_estimate_one_chip(void)
{
	const char *sets[] = { "workload.batch=1", "interconnect.allow_unused=true",
			       "chip.tiles=40" };
	struct cim_experiment *e = load(tiny, sets, 3);
	struct cim_part_plan *p = plan_of(e, 1, 1, 1);
	struct cim_part_estimate est;
	struct cim_net *net;
	struct cim_err err;
	struct cim_prog_op ops[256];
	uint64_t sum = 0, first = 0;

	CU_ASSERT_TRUE(cim_part_fits(e, p, &err));
	CU_ASSERT_EQUAL_FATAL(cim_net_create(&e->net, 1, &net, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_part_estimate(e, p, net, &est, &err), 0);
	for (uint32_t k = 0; k < cim_part_npasses(e); k++) {
		struct cim_part_pass pass;
		cim_part_pass_at(e, 1, k, &pass);
		size_t n = cim_part_program(e, p, &p->ranks[0], &pass, ops, 256);
		sum += cim_part_program_alone_ps(ops, n);
		if (k == 0)
			first = sum;
	}
	CIM_ASSERT_EQ_U64(cim_part_npasses(e), 8); /* 1 prefill + 7 decode */
	CIM_ASSERT_EQ_U64(est.makespan_ps, sum);
	CIM_ASSERT_EQ_U64(est.prefill_ps, first);
	CU_ASSERT_DOUBLE_EQUAL(est.ttft_s, (double)first * 1e-12, 1e-15);
	CU_ASSERT_DOUBLE_EQUAL(est.tpot_s, (double)(sum - first) * 1e-12 / 7, 1e-15);
	CU_ASSERT_DOUBLE_EQUAL(est.tokens_per_s, 8 / ((double)sum * 1e-12), 1e-6);
	cim_net_destroy(net);
	cim_part_plan_destroy(p);
	free(e);
}

/* Every split of 8 chips the tiny model can take is listed, and the
 * strategies pick what their names say. */
static void test_enumerate(void)
{
	struct cim_experiment *e = load(tiny, NULL, 0);
	struct cim_part_row *rows;
	size_t n;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(cim_part_enumerate(e, 8, &rows, &n, &err), 0);
	/* (tp, pp, dp) with tp | 4 heads, pp ≤ 4 layers, dp ≤ batch 2:
	 * (2,4,1), (4,2,1), (1,4,2), (2,2,2), (4,1,2) */
	CIM_ASSERT_EQ_U64(n, 5);
	size_t fits = 0;
	for (size_t i = 0; i < n; i++)
		fits += rows[i].fits;
	CIM_ASSERT_EQ_U64(fits, 2); /* (2,4,1) and (4,2,1), as test_min_chips says */
	long t = cim_part_pick(e, CIM_STRAT_TP_FIRST, rows, n);
	long q = cim_part_pick(e, CIM_STRAT_PP_FIRST, rows, n);
	CU_ASSERT_FATAL(t >= 0 && q >= 0);
	CIM_ASSERT_EQ_U64(rows[t].tp, 4);
	CIM_ASSERT_EQ_U64(rows[q].pp, 4);
	long b = cim_part_pick(e, CIM_STRAT_BEST_THROUGHPUT, rows, n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].fits)
			CU_ASSERT(rows[b].est.tokens_per_s >= rows[i].est.tokens_per_s);
	free(rows);
	free(e);

	/* A split the model takes but a plan refuses stays listed, with why:
	 * at dp 2 a replica has 1 of the batch's 2 sequences, too few for 2
	 * micro-batches; the same 5 splits in the same order as above. */
	const char *mb[] = { "workload.micro_batches=2" };
	static const uint32_t order[5][3] = {
		{ 2, 4, 1 }, { 4, 2, 1 }, { 1, 4, 2 }, { 2, 2, 2 }, { 4, 1, 2 }
	};
	e = load(tiny, mb, 1);
	CU_ASSERT_EQUAL_FATAL(cim_part_enumerate(e, 8, &rows, &n, &err), 0);
	CIM_ASSERT_EQ_U64(n, 5);
	for (size_t i = 0; i < n && i < 5; i++) {
		CIM_ASSERT_EQ_U64(rows[i].tp, order[i][0]);
		CIM_ASSERT_EQ_U64(rows[i].pp, order[i][1]);
		CIM_ASSERT_EQ_U64(rows[i].dp, order[i][2]);
		if (rows[i].dp == 2) {
			CU_ASSERT_FALSE(rows[i].fits);
			CIM_ASSERT_HAS(rows[i].why, "workload.micro_batches 2 exceeds");
		}
	}
	/* The predicates behind both: the shape alone, then the plan's limits;
	 * err may be NULL. */
	CU_ASSERT_TRUE(part_split_shape_ok(e, 1, 1, 2, NULL));
	CU_ASSERT_FALSE(part_split_ok(e, 1, 1, 2, NULL));
	CU_ASSERT_FALSE(part_split_shape_ok(e, 3, 1, 1, NULL));
	CU_ASSERT_FALSE(part_split_ok(e, 0, 1, 1, &err));
	CIM_ASSERT_HAS(err.msg, "tp, pp and dp must be at least 1 (tp 0, pp 1, dp 1)");
	free(rows);
	free(e);
}

/*
 * A parallel block (tests/data/part/tiny-gptj.json: GPT-J's layout at the
 * tiny model's size, FFN 512 not gated).  Attention and FFN read the same
 * normed input, so at tp 2 one all-reduce a layer sums both branches'
 * partial products (none after o_proj), and on one chip the FFN's up
 * projection runs on its own crossbars beside q, k and v, its down
 * projection beside o_proj: a layer lasts the sum of its steps less the
 * times of k, v and up (no longer than q's: every one of them has 256 rows)
 * and less the shorter of o_proj and down.
 */
static void test_parallel_block(void)
{
	const char *sets[] = { "model=tests/data/part/tiny-gptj.json", "workload.micro_batches=1" };
	struct cim_experiment *e = load(tiny, sets, 2);
	struct cim_part_plan *p = plan_of(e, 2, 4, 1);
	struct cim_prog_op ops[128];
	struct cim_part_pass pass;
	size_t n, colls = 0;

	cim_part_pass_at(e, 2, 1, &pass);
	n = cim_part_program(e, p, &p->ranks[2], &pass, ops, 128);
	CU_ASSERT_FATAL(n > 0 && n <= 128);
	for (size_t i = 0; i < n; i++) {
		if (ops[i].kind == CIM_PROG_COLL) {
			colls++;
			CU_ASSERT_EQUAL(ops[i].role, CIM_ROLE_FFN_ALLREDUCE);
		}
	}
	CIM_ASSERT_EQ_U64(colls, p->ranks[2].nlayers); /* one a layer */
	cim_part_plan_destroy(p);

	p = plan_of(e, 1, 1, 1);
	n = cim_part_program(e, p, &p->ranks[0], &pass, ops, 128);
	CU_ASSERT_FATAL(n > 0 && n <= 128);
	uint64_t sum = 0, q = 0, kv = 0, up = 0, o = 0, down = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].layer != 0)
			continue;
		sum += ops[i].ps;
		switch (ops[i].role) {
		case CIM_ROLE_Q_PROJ:
			q = ops[i].ps;
			break;
		case CIM_ROLE_K_PROJ:
		case CIM_ROLE_V_PROJ:
			CU_ASSERT_TRUE(ops[i].ps <= q);
			kv += ops[i].ps;
			break;
		case CIM_ROLE_FFN_UP:
			up = ops[i].ps;
			CU_ASSERT_TRUE(ops[i].with_prev);
			break;
		case CIM_ROLE_O_PROJ:
			o = ops[i].ps;
			break;
		case CIM_ROLE_FFN_DOWN:
			down = ops[i].ps;
			CU_ASSERT_TRUE(ops[i].with_prev);
			break;
		default:
			break;
		}
	}
	CU_ASSERT_FATAL(up > 0 && up <= q && o > 0 && down > 0);
	size_t first = 0, last;
	while (first < n && ops[first].layer != 0)
		first++;
	for (last = first; last < n && ops[last].layer == 0; last++)
		;
	CIM_ASSERT_EQ_U64(cim_part_program_alone_ps(ops + first, last - first),
			  sum - kv - up - (o < down ? o : down));
	cim_part_plan_destroy(p);
	free(e);
}

/* The attention steps (KV append, then q·kᵀ and p·V) of layer 0 in a
 * program: the append's time, and each attention step's time by the
 * resource it holds for its length. */
static void attn_of(const struct cim_prog_op *ops, size_t n, uint64_t *append, uint64_t *on_kv,
		    uint64_t *on_lanes, size_t *steps)
{
	*append = *on_kv = *on_lanes = 0;
	*steps = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].layer != 0)
			continue;
		if (ops[i].role == CIM_ROLE_KV_APPEND)
			*append += ops[i].ps;
		if (ops[i].role != CIM_ROLE_ATTENTION)
			continue;
		(*steps)++;
		if (ops[i].res == CIM_RES_KV)
			*on_kv += ops[i].ps;
		else
			*on_lanes += ops[i].ps;
	}
}

/*
 * A served pass that mixes sequences (docs/serving.md): one decode at 15
 * cached positions and one 16-token prompt.  Its attention is each piece's
 * as a pass of its own: the KV append the sum of theirs; the decode's
 * attention held on the resource that bounds it and the prompt's on its
 * own, as two steps since those differ; and its matrices see 17 tokens.
 */
static void test_mixed_pass(void)
{
	const char *sets[] = { "workload.micro_batches=1" };
	struct cim_experiment *e = load(tiny, sets, 1);
	struct cim_part_plan *p = plan_of(e, 1, 1, 1);
	struct cim_prog_op ops[256];
	const struct cim_part_piece dec = { .past = 15, .queries = 1, .count = 1 };
	const struct cim_part_piece pre = { .past = 0, .queries = 16, .count = 1 };
	const struct cim_part_piece both[2] = { dec, pre };
	struct cim_part_pass pd = {
		.phase = CIM_PHASE_DECODE, .seqs = 1, .pieces = &dec, .npieces = 1, .samples = 1
	};
	struct cim_part_pass pp = {
		.phase = CIM_PHASE_PREFILL, .seqs = 1, .pieces = &pre, .npieces = 1, .samples = 1
	};
	struct cim_part_pass pm = {
		.phase = CIM_PHASE_PREFILL, .seqs = 2, .pieces = both, .npieces = 2, .samples = 2
	};
	uint64_t a[3], kv[3], lanes[3];
	size_t steps[3], n;

	n = cim_part_program(e, p, &p->ranks[0], &pd, ops, 256);
	CU_ASSERT_FATAL(n <= 256);
	attn_of(ops, n, &a[0], &kv[0], &lanes[0], &steps[0]);
	n = cim_part_program(e, p, &p->ranks[0], &pp, ops, 256);
	CU_ASSERT_FATAL(n <= 256);
	attn_of(ops, n, &a[1], &kv[1], &lanes[1], &steps[1]);
	n = cim_part_program(e, p, &p->ranks[0], &pm, ops, 256);
	CU_ASSERT_FATAL(n <= 256);
	attn_of(ops, n, &a[2], &kv[2], &lanes[2], &steps[2]);
	CU_ASSERT_EQUAL(steps[0], 1);
	CU_ASSERT_EQUAL(steps[1], 1);
	CIM_ASSERT_EQ_U64(a[2], a[0] + a[1]);
	CIM_ASSERT_EQ_U64(kv[2], kv[0] + kv[1]);
	CIM_ASSERT_EQ_U64(lanes[2], lanes[0] + lanes[1]);
	/* here the decode waits on the KV memory, the prompt on the lanes:
	 * two steps */
	CU_ASSERT_TRUE(kv[0] > 0 && lanes[0] == 0 && lanes[1] > 0 && kv[1] == 0);
	CU_ASSERT_EQUAL(steps[2], 2);
	CIM_ASSERT_EQ_U64(cim_part_pass_tokens(&pm), 17);
	CIM_ASSERT_EQ_U64(cim_part_pass_samples(&pm), 2);
	cim_part_plan_destroy(p);
	free(e);
}

/* Every split of layers into pp runs of ≥ 1, by recursion: keeps in best
 * the split with the least largest cost, then the least sum of squares,
 * then fewer layers on the last stage, then on the one before, and so on. */
static void every_split(uint32_t left, uint32_t pp, uint32_t s, uint64_t c, uint64_t first,
			uint64_t last, uint32_t *cur, uint32_t *best, double *best_key)
{
	if (s == pp - 1) {
		cur[s] = left;
		uint64_t mx = 0;
		double sq = 0;
		for (uint32_t i = 0; i < pp; i++) {
			uint64_t x = cur[i] * c + (i == 0 ? first : 0) + (i == pp - 1 ? last : 0);
			mx = x > mx ? x : mx;
			sq += (double)x * (double)x;
		}
		int better = best_key[0] < 0 || mx < best_key[0] ? 1
			     : mx > best_key[0]			 ? -1
			     : sq < best_key[1]			 ? 1
			     : sq > best_key[1]			 ? -1
								 : 0;
		for (uint32_t i = pp; better == 0 && i-- > 0;)
			better = cur[i] < best[i] ? 1 : cur[i] > best[i] ? -1 : 0;
		if (better > 0) {
			memcpy(best, cur, pp * sizeof(*cur));
			best_key[0] = (double)mx;
			best_key[1] = sq;
		}
		return;
	}
	for (uint32_t n = 1; n + (pp - s - 1) <= left; n++) {
		cur[s] = n;
		every_split(left - n, pp, s + 1, c, first, last, cur, best, best_key);
	}
}

/* The balance against every split of up to 13 layers over up to 6 stages,
 * with ends lighter, equal to and heavier than a layer. */
static void test_balance_every_split(void)
{
	static const uint64_t ends[][2] = { { 0, 0 },	{ 5, 0 },  { 0, 5 },  { 3, 7 },
					    { 10, 10 }, { 25, 1 }, { 1, 40 }, { 9, 9 } };
	uint32_t got[6], cur[6], want[6];
	unsigned cases = 0, wrong = 0;

	for (uint32_t L = 1; L <= 13; L++)
		for (uint32_t pp = 1; pp <= 6 && pp <= L; pp++)
			for (uint64_t c = 1; c <= 10; c += 3)
				for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
					double key[2] = { -1, 0 };
					every_split(L, pp, 0, c, ends[k][0], ends[k][1], cur, want,
						    key);
					CU_ASSERT_EQUAL_FATAL(
					    part_balance(L, pp, c, ends[k][0], ends[k][1], got), 0);
					cases++;
					if (memcmp(got, want, pp * sizeof(*got)))
						wrong++;
				}
	CU_ASSERT_EQUAL(wrong, 0);
	/* L = 1..13 with pp ≤ min(6, L): 1+2+3+4+5 + 6·8 = 63 (L, pp) pairs,
	 * × 4 layer costs (1, 4, 7, 10) × 8 ends */
	CU_ASSERT_EQUAL(cases, 63 * 4 * 8);
}

/* 10,000 layers over 7 stages, the ends one and two layers heavy: 10,003
 * layer costs over 7 stages is 1,429 each exactly, so every stage costs
 * 1,429 layers' worth: stage 0 holds 1,428 layers, the last 1,427, the five
 * between 1,429 each (1,428 + 5·1,429 + 1,427 = 10,000). */
static void test_balance_10000(void)
{
	uint32_t got[7];

	CU_ASSERT_EQUAL_FATAL(part_balance(10000, 7, 1000, 1000, 2000, got), 0);
	static const uint32_t want[7] = { 1428, 1429, 1429, 1429, 1429, 1429, 1427 };
	for (int s = 0; s < 7; s++)
		CU_ASSERT_EQUAL(got[s], want[s]);
}

/* Expert loads (cim_part_expert_loads): 10 tokens picking 2 of 8 experts
 * spread evenly get ⌈20/8⌉ = 3 each until they run out (3·6 + 2 = 20); a
 * Zipf law of exponent 100 sends every token to experts 0 and 1 (the
 * third weighs 3^-100 of the first): the fully skewed router, max/mean =
 * 10 / 2.5 = E/k = 4; a uniform router gives each expert T·k/E on average:
 * of 100,000 tokens, 25,000 ± √(T·p(1 − p)) = 137 (p = 1/4), within 5σ. */
static void test_expert_routing(void)
{
	struct cim_workload_spec w = { .seed = 7 };
	uint64_t load[8], again[8], sum = 0;

	w.routing = CIM_ROUTE_EVEN;
	CIM_ASSERT_EQ_U64(cim_part_expert_loads(&w, 8, 2, 10, 1, load), 3);
	static const uint64_t even[8] = { 3, 3, 3, 3, 3, 3, 2, 0 };
	for (int e = 0; e < 8; e++)
		CIM_ASSERT_EQ_U64(load[e], even[e]);
	w.routing = CIM_ROUTE_ZIPF;
	w.routing_zipf = 100;
	CIM_ASSERT_EQ_U64(cim_part_expert_loads(&w, 8, 2, 10, 1, load), 10);
	CIM_ASSERT_EQ_U64(load[0], 10);
	CIM_ASSERT_EQ_U64(load[1], 10);
	for (int e = 2; e < 8; e++)
		CIM_ASSERT_EQ_U64(load[e], 0);
	w.routing = CIM_ROUTE_UNIFORM;
	uint64_t most = cim_part_expert_loads(&w, 8, 2, 100000, 1, load);
	for (int e = 0; e < 8; e++) {
		sum += load[e];
		CU_ASSERT(load[e] > 25000 - 685 && load[e] < 25000 + 685);
		CU_ASSERT(load[e] <= most);
	}
	CIM_ASSERT_EQ_U64(sum, 200000);
	/* one key, one draw; another key, another */
	cim_part_expert_loads(&w, 8, 2, 100000, 1, again);
	CU_ASSERT(memcmp(load, again, sizeof(load)) == 0);
	cim_part_expert_loads(&w, 8, 2, 100000, 2, again);
	CU_ASSERT(memcmp(load, again, sizeof(load)) != 0);
	/* a token never picks one expert twice: k = E gives every expert
	 * every token */
	CIM_ASSERT_EQ_U64(cim_part_expert_loads(&w, 8, 8, 50, 3, load), 50);
	for (int e = 0; e < 8; e++)
		CIM_ASSERT_EQ_U64(load[e], 50);
}

/*
 * Steps that start together (cim_part_group_add): q, k and v of 100, 60
 * and 80 ps on crossbars of their own take as long as q, 100 ps (k and v
 * add nothing); on one resource (a near-memory chip's shared cores) they
 * follow each other, 240 ps; with q and v sharing one and k on another,
 * v follows q: 180 ps.  A step that does not start with the one before it
 * opens a new group.
 */
static void test_group(void)
{
	struct cim_prog_op o[4] = {
		{ .res = 10, .ps = 100 },
		{ .res = 11, .ps = 60, .with_prev = true },
		{ .res = 12, .ps = 80, .with_prev = true },
		{ .res = 10, .ps = 50 },
	};
	struct cim_part_group g = { 0 };

	CIM_ASSERT_EQ_U64(cim_part_group_add(&g, &o[0]), 100);
	CIM_ASSERT_EQ_U64(cim_part_group_add(&g, &o[1]), 0);
	CIM_ASSERT_EQ_U64(cim_part_group_add(&g, &o[2]), 0);
	CIM_ASSERT_EQ_U64(cim_part_group_add(&g, &o[3]), 50);
	CIM_ASSERT_EQ_U64(cim_part_program_alone_ps(o, 4), 150);
	o[1].res = o[2].res = 10;
	CIM_ASSERT_EQ_U64(cim_part_program_alone_ps(o, 3), 240);
	o[1].res = 11;
	CIM_ASSERT_EQ_U64(cim_part_program_alone_ps(o, 3), 180);
}

/*
 * A sharded embedding (parallel.embedding: sharded) on the tiny model at
 * tp 2: stage 0's members hold ⌈1000 / 2⌉ = 500 of the vocabulary's rows,
 * 500 · 256 = 128,000 parameters each instead of 256,000; a decode pass of
 * the batch's 2 sequences looks up ⌈2 / 2⌉ = 1 row of 256 on each member
 * (the embed step takes the time of one row) and sums the lookups with an
 * all-reduce of 2 · 256 values at act_bits.
 */
static void test_embedding_sharded(void)
{
	const char *sharded[] = { "parallel.embedding=sharded" };
	struct cim_experiment *e = load(tiny, sharded, 1), *r = load(tiny, NULL, 0);
	struct cim_part_plan *p = plan_of(e, 2, 2, 1), *q = plan_of(r, 2, 2, 1);
	struct cim_prog_op ops[128], ref[128];
	struct cim_part_pass pass;

	CIM_ASSERT_EQ_U64(q->ranks[0].memory_params - p->ranks[0].memory_params, 128000);
	cim_part_pass_at(e, 2, 1, &pass);
	size_t n = cim_part_program(e, p, &p->ranks[0], &pass, ops, 128);
	size_t nr = cim_part_program(r, q, &q->ranks[0], &pass, ref, 128);
	CU_ASSERT_FATAL(n > 0 && n <= 128 && nr > 0 && nr <= 128);
	CIM_ASSERT_EQ_U64(n, nr + 1);
	CU_ASSERT_EQUAL(ops[0].role, CIM_ROLE_EMBED);
	CU_ASSERT_EQUAL(ref[0].role, CIM_ROLE_EMBED);
	struct cim_chip_cost one;
	cim_chip_vector_op(&e->chip, CIM_OP_EMBED, CIM_NORM_RMSNORM, CIM_ACT_RELU, 256, &one);
	CIM_ASSERT_EQ_U64(ops[0].ps, one.ps);
	CU_ASSERT_EQUAL(ops[1].role, CIM_ROLE_EMBED_ALLREDUCE);
	CU_ASSERT_EQUAL(ops[1].kind, CIM_PROG_COLL);
	CIM_ASSERT_EQ_U64(ops[1].bytes, 2 * 256 * e->workload.act_bits / 8);
	cim_part_plan_destroy(p);
	cim_part_plan_destroy(q);
	free(e);
	free(r);
}

/*
 * The experts' load over a run (cim_part_expert_report) on a tiny MoE
 * (tests/data/part/tiny-moe.json: 4 experts, 2 a token, 2 layers), batch 2
 * of 16 + 8 tokens in one micro-batch: a prefill pass of T = 32 tokens and
 * 7 decode passes of T = 2, each in 2 layers.
 * - even: 32 · 2 / 4 = 16 tokens an expert, and 2 · 2 / 4 = 1: the most
 *   loaded takes the mean, imbalance 1 everywhere, a quarter each;
 * - fully skewed (Zipf s = 100): every token takes experts 0 and 1, the
 *   most loaded takes T against a mean of T / 2: imbalance 2 everywhere,
 *   half each for experts 0 and 1, none for 2 and 3.
 */
static void test_expert_report(void)
{
	const char *even[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1" };
	const char *skew[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "workload.routing=zipf", "workload.routing_zipf=100" };
	struct cim_part_expert_report rep;

	for (int pass = 0; pass < 2; pass++) {
		struct cim_experiment *e = pass ? load(tiny, skew, 4) : load(tiny, even, 2);
		struct cim_part_plan *p = plan_of(e, 1, 1, 1);
		CU_ASSERT_EQUAL_FATAL(cim_part_expert_report(e, p, &rep), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rep.share);
		CIM_ASSERT_EQ_U64(rep.experts, 4);
		CIM_ASSERT_EQ_U64(rep.per_token, 2);
		CIM_ASSERT_REL(rep.imbalance_mean, pass ? 2.0 : 1.0, 1e-12);
		CIM_ASSERT_REL(rep.imbalance_worst, pass ? 2.0 : 1.0, 1e-12);
		for (int x = 0; x < 4; x++)
			CIM_ASSERT_REL(rep.share[x], pass ? (x < 2 ? 0.5 : 0) : 0.25, 1e-12);
		free(rep.share);
		cim_part_plan_destroy(p);
		free(e);
	}
	/* Capacity factor 1 on the fully skewed routing: an expert takes at
	 * most ⌈1 · T·2/4⌉ = T/2 tokens, so experts 0 and 1 keep half of
	 * their T each and the other half is dropped: 50 % of the routed
	 * tokens, imbalance 1 (the most loaded takes the mean).  The experts'
	 * matrices then take as long as evenly routed ones and do half their
	 * MACs. */
	const char *cap[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			      "workload.routing=zipf", "workload.routing_zipf=100",
			      "workload.capacity_factor=1" };
	struct cim_experiment *c = load(tiny, cap, 5), *ev = load(tiny, even, 2);
	struct cim_part_plan *pc = plan_of(c, 1, 1, 1), *pe = plan_of(ev, 1, 1, 1);
	CU_ASSERT_EQUAL_FATAL(cim_part_expert_report(c, pc, &rep), 0);
	CIM_ASSERT_REL(rep.dropped, 0.5, 1e-12);
	CIM_ASSERT_REL(rep.imbalance_mean, 1.0, 1e-12);
	CIM_ASSERT_REL(rep.share[0], 0.5, 1e-12);
	free(rep.share);
	struct cim_prog_op oc[128], oe[128];
	struct cim_part_pass pass;
	cim_part_pass_at(c, 2, 0, &pass);
	size_t nc = cim_part_program(c, pc, &pc->ranks[0], &pass, oc, 128);
	size_t ne = cim_part_program(ev, pe, &pe->ranks[0], &pass, oe, 128);
	CU_ASSERT_FATAL(nc == ne && nc > 0 && nc <= 128);
	int gates = 0;
	for (size_t i = 0; i < nc; i++) {
		if (oc[i].role != CIM_ROLE_FFN_GATE)
			continue;
		gates++;
		CIM_ASSERT_EQ_U64(oc[i].ps, oe[i].ps);
		CIM_ASSERT_EQ_U64(2 * oc[i].macs, oe[i].macs);
	}
	CIM_ASSERT_EQ_U64(gates, 2);
	cim_part_plan_destroy(pc);
	cim_part_plan_destroy(pe);
	free(c);
	free(ev);
	/* a dense model has nothing to report */
	struct cim_experiment *d = load(tiny, NULL, 0);
	struct cim_part_plan *p = plan_of(d, 1, 1, 1);
	CU_ASSERT_EQUAL(cim_part_expert_report(d, p, &rep), 0);
	CU_ASSERT_PTR_NULL(rep.share);
	cim_part_plan_destroy(p);
	free(d);
}

/*
 * A routing trace (tests/data/part/tiny-moe-routing.csv) on the tiny MoE:
 * layer 0's rows take experts {0, 1} and {2, 3}, layer 1's {2, 3} and
 * {3, 2}.  Every pass has an even number of tokens (32 in the prefill, 2 a
 * decode step), which take the rows in turn from the one the pass's key
 * picks: layer 0 gives every expert T/2 tokens (imbalance 1), layer 1
 * gives experts 2 and 3 T each (the mean is T/2: imbalance 2); the passes
 * weighted by tokens, 1.5 on average, 2 at worst; experts 0 and 1 take a
 * quarter of the routed tokens between them.  Refused: a row repeating an
 * expert, a layer without rows, the file without routing: trace.
 */
static void test_routing_trace(void)
{
	const char *sets[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "workload.routing=trace",
			       "workload.routing_trace=tests/data/part/tiny-moe-routing.csv" };
	struct cim_experiment *e = load(tiny, sets, 4);
	struct cim_part_plan *p = plan_of(e, 1, 1, 1);
	struct cim_part_expert_report rep;
	const uint16_t *rows;

	CIM_ASSERT_EQ_U64(e->workload.routing_rows, 4);
	CIM_ASSERT_EQ_U64(cim_routing_rows(e, 1, &rows), 2);
	CIM_ASSERT_EQ_U64(rows[2], 3);
	CIM_ASSERT_EQ_U64(rows[3], 2);
	CU_ASSERT_EQUAL_FATAL(cim_part_expert_report(e, p, &rep), 0);
	CIM_ASSERT_REL(rep.imbalance_mean, 1.5, 1e-12);
	CIM_ASSERT_REL(rep.imbalance_worst, 2.0, 1e-12);
	CIM_ASSERT_REL(rep.share[0] + rep.share[1], 0.25, 1e-12);
	CIM_ASSERT_REL(rep.share[2] + rep.share[3], 0.75, 1e-12);
	free(rep.share);
	cim_part_plan_destroy(p);
	free(e);

	static const struct {
		const char *file, *expect;
	} bad[] = {
		{ "tests/data/part/tiny-moe-routing-dup.csv", "row 3: expected a token number" },
		{ "tests/data/part/tiny-moe-routing-gap.csv", "no row for layer 1" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char set[256];
		snprintf(set, sizeof(set), "workload.routing_trace=%s", bad[i].file);
		const char *b[] = { "model=tests/data/part/tiny-moe.json", "workload.routing=trace",
				    set };
		struct cim_files *files = cim_files_create(true);
		struct cim_experiment *x = NULL;
		struct cim_err err;
		cim_files_put(files, "tests/data/part/mem.yaml", tiny, strlen(tiny));
		CU_ASSERT_EQUAL(
		    cim_spec_load_experiment(files, "tests/data/part/mem.yaml", b, 3, &x, &err),
		    -1);
		CIM_ASSERT_HAS(err.msg, bad[i].expect);
		CIM_ASSERT_HAS(err.msg, bad[i].file);
		cim_files_destroy(files);
		free(x);
	}

	/* A DeepSeek model's trace routes its layers with experts only: the
	 * tiny one's layer 1 (rows 0 1 and 0 2: expert 0 takes both tokens,
	 * twice the mean of 2 · 2 / 4 = 1), and a row for its dense layer 0
	 * is refused. */
	const char *ds[] = { "model=tests/data/part/tiny-deepseek.json", "workload.routing=trace",
			     "workload.routing_trace=tests/data/part/tiny-deepseek-routing.csv" };
	struct cim_experiment *d = load(tiny, ds, 3);
	uint64_t dl[4];
	CIM_ASSERT_EQ_U64(cim_part_expert_loads_at(d, 1, 2, 0, dl), 2);
	CIM_ASSERT_EQ_U64(dl[0] + dl[1] + dl[2] + dl[3], 4);
	free(d);
	const char *dd[] = {
		"model=tests/data/part/tiny-deepseek.json", "workload.routing=trace",
		"workload.routing_trace=tests/data/part/tiny-deepseek-routing-dense.csv"
	};
	struct cim_files *files = cim_files_create(true);
	struct cim_experiment *x = NULL;
	struct cim_err err;
	cim_files_put(files, "tests/data/part/mem.yaml", tiny, strlen(tiny));
	CU_ASSERT_EQUAL(
	    cim_spec_load_experiment(files, "tests/data/part/mem.yaml", dd, 3, &x, &err), -1);
	CIM_ASSERT_HAS(err.msg, "row 2: layer 0 of tiny-deepseek is dense");
	cim_files_destroy(files);
	free(x);
}

/*
 * A shared expert (tests/data/part/tiny-qwen-moe.json: 4 routed experts of
 * FFN 128, 2 a token, and a shared one of FFN 256 with its σ gate) at tp 2:
 * its gate, up and 1-output gate start with the routed gate (the same
 * input, crossbars of their own), its down with the routed down, and one
 * all-reduce a layer follows its down, summing the routed and shared
 * partial products.  Its up is split by columns (256 / 2 = 128 a member),
 * its down by rows, its 1-output gate held whole by both members.  With
 * every token on experts 0 and 1 (Zipf s = 100) the layer takes no longer
 * than evenly: the shared expert, which takes every token, is never
 * faster than a routed expert's share of them.
 */
static void test_shared_expert(void)
{
	const char *sets[] = { "model=tests/data/part/tiny-qwen-moe.json",
			       "workload.micro_batches=1" };
	const char *skew[] = { "model=tests/data/part/tiny-qwen-moe.json",
			       "workload.micro_batches=1", "workload.routing=zipf",
			       "workload.routing_zipf=100" };
	struct cim_experiment *e = load(tiny, sets, 2), *z = load(tiny, skew, 4);
	struct cim_part_plan *p = plan_of(e, 2, 1, 1), *pz = plan_of(z, 2, 1, 1);
	const struct cim_part_rank *r = &p->ranks[1];
	struct cim_prog_op ops[160], oz[160];
	struct cim_part_pass pass;

	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_SHARED_UP)->n, 128);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_SHARED_DOWN)->k, 128);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_SHARED_DOWN)->split, CIM_SPLIT_ROW);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_SHARED_EXPERT_GATE)->n, 1);
	CIM_ASSERT_EQ_U64(shard(r, CIM_ROLE_SHARED_EXPERT_GATE)->split, CIM_SPLIT_REPLICATED);
	cim_part_pass_at(e, 2, 0, &pass);
	size_t n = cim_part_program(e, p, r, &pass, ops, 160);
	size_t nz = cim_part_program(z, pz, &pz->ranks[1], &pass, oz, 160);
	CU_ASSERT_FATAL(n > 0 && n <= 160 && n == nz);
	uint32_t ffn_reduces = 0;
	for (size_t i = 0; i < n; i++) {
		switch (ops[i].role) {
		case CIM_ROLE_SHARED_GATE:
		case CIM_ROLE_SHARED_UP:
		case CIM_ROLE_SHARED_EXPERT_GATE:
		case CIM_ROLE_SHARED_DOWN:
			CU_ASSERT(ops[i].with_prev);
			break;
		case CIM_ROLE_FFN_ALLREDUCE:
			ffn_reduces++;
			CU_ASSERT_EQUAL(ops[i - 1].role, CIM_ROLE_SHARED_DOWN);
			break;
		default:
			break;
		}
	}
	CIM_ASSERT_EQ_U64(ffn_reduces, 2); /* one a layer */
	CIM_ASSERT_EQ_U64(cim_part_program_alone_ps(oz, nz), cim_part_program_alone_ps(ops, n));
	cim_part_plan_destroy(p);
	cim_part_plan_destroy(pz);
	free(e);
	free(z);
}

/*
 * Expert parallelism (parallel.experts: expert) on the tiny MoE at tp 2:
 * each member holds 4 / 2 = 2 whole experts (gate and up 256 × 512, down
 * 512 × 256: no division of their columns or rows), member 0 experts 0 and
 * 1, member 1 experts 2 and 3.  A prefill of 2 · 16 = 32 tokens:
 * - even, 16 tokens an expert: each member streams 16 vectors through
 *   its experts and does 2 · 16 of them (a quarter each of the 64 routed);
 * - fully skewed (every token on experts 0 and 1): member 0 streams 32
 *   through each of its two, 64 vectors of MACs, and member 1 does
 *   nothing.  The group's pass waits for member 0.
 * tp 4 does not divide 6 experts: refused.
 */
static void test_expert_parallel(void)
{
	struct cim_err err0;
	const char *even[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "parallel.experts=expert" };
	const char *skew[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "parallel.experts=expert", "workload.routing=zipf",
			       "workload.routing_zipf=100" };
	struct cim_experiment *e = load(tiny, even, 3), *z = load(tiny, skew, 5);
	struct cim_part_plan *p = plan_of(e, 2, 1, 1), *pz = plan_of(z, 2, 1, 1);
	struct cim_part_pass pass;
	struct cim_prog_op ops[128];
	const uint64_t gate_macs = 256ull * 512; /* one vector through one expert's gate */

	/* Crossbars (tiny-64: ⌈K/64⌉ · ⌈2N/64⌉): an expert's gate 4 · 16 = 64,
	 * two experts, two layers: 256 a member, as many as tensor placement's
	 * 4 experts of 256 × 256 (4 · 8 = 32 each). */
	struct cim_experiment *et = load(tiny, even, 2);
	struct cim_part_plan *pt = plan_of(et, 2, 1, 1);
	for (uint32_t i = 0; i < 2; i++) {
		const struct cim_part_shard *g = shard(&p->ranks[i], CIM_ROLE_FFN_GATE);
		CIM_ASSERT_EQ_U64(g->split, CIM_SPLIT_EXPERTS);
		CIM_ASSERT_EQ_U64(g->count, 2);
		CIM_ASSERT_EQ_U64(g->k, 256);
		CIM_ASSERT_EQ_U64(g->n, 512);
		CIM_ASSERT_EQ_U64(g->crossbars_one, 64);
		CIM_ASSERT_EQ_U64(g->crossbars, 256);
		CIM_ASSERT_EQ_U64(shard(&p->ranks[i], CIM_ROLE_FFN_DOWN)->k, 512);
		const struct cim_part_shard *t = shard(&pt->ranks[i], CIM_ROLE_FFN_GATE);
		CIM_ASSERT_EQ_U64(t->crossbars_one, 32);
		CIM_ASSERT_EQ_U64(t->crossbars, 256);
	}
	cim_part_plan_destroy(pt);
	free(et);
	cim_part_pass_at(e, 2, 0, &pass);
	CIM_ASSERT_EQ_U64(cim_part_pass_tokens(&pass), 32);
	const uint64_t want_even[2] = { 32 * gate_macs, 32 * gate_macs };
	const uint64_t want_skew[2] = { 64 * gate_macs, 0 };
	for (int run = 0; run < 2; run++) {
		const struct cim_experiment *x = run ? z : e;
		const struct cim_part_plan *q = run ? pz : p;
		uint64_t ps[2] = { 0, 0 };
		for (uint32_t i = 0; i < 2; i++) {
			size_t n = cim_part_program(x, q, &q->ranks[i], &pass, ops, 128);
			CU_ASSERT_FATAL(n > 0 && n <= 128);
			for (size_t j = 0; j < n; j++)
				if (ops[j].role == CIM_ROLE_FFN_GATE && ops[j].layer == 0) {
					CIM_ASSERT_EQ_U64(ops[j].macs,
							  run ? want_skew[i] : want_even[i]);
					ps[i] = ops[j].ps;
				}
		}
		if (run) {
			CU_ASSERT(ps[0] > 0 && ps[1] == 0);
		} else {
			CIM_ASSERT_EQ_U64(ps[0], ps[1]);
		}
	}
	cim_part_plan_destroy(p);
	cim_part_plan_destroy(pz);
	/* cim_part_enumerate lists tp 2 both ways (tp 1 has no group to
	 * place experts on); the strategies pick among the experiment's own
	 * placement only. */
	const char *big[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			      "chip=configs/chips/llm-class.yaml" };
	struct cim_experiment *te = load(tiny, big, 3);
	struct cim_part_row *rows = NULL;
	size_t nrows = 0, at_tp2 = 0;
	CU_ASSERT_EQUAL_FATAL(cim_part_enumerate(te, 2, &rows, &nrows, &err0), 0);
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].tp == 2 && rows[i].fits)
			at_tp2 |= 1u << rows[i].experts;
	CIM_ASSERT_EQ_U64(at_tp2, 3); /* tensor and expert */
	long best = cim_part_pick(te, CIM_STRAT_BEST_THROUGHPUT, rows, nrows);
	CU_ASSERT_FATAL(best >= 0);
	CIM_ASSERT_EQ_U64(rows[best].experts, CIM_EXPERTS_TENSOR);
	free(rows);
	free(te);
	/* 6 experts over tp 4 */
	const char *six[] = { "model=tests/data/part/tiny-moe.json", "parallel.experts=expert",
			      "model.num_local_experts=6" };
	struct cim_experiment *x = load(tiny, six, 3);
	struct cim_part_plan *bad = NULL;
	struct cim_err err;
	CU_ASSERT_EQUAL(cim_part_plan(x, 4, 1, 1, &bad, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tp 4 does not divide the 6 experts");
	free(x);
	free(e);
	free(z);
}

/* The shard of role in the layers `layers` (enum cim_op_layers). */
static const struct cim_part_shard *shard_in(const struct cim_part_rank *r, enum cim_op_role role,
					     uint32_t layers)
{
	for (uint32_t i = 0; i < r->nshards; i++)
		if (r->shards[i].role == (uint32_t)role && r->shards[i].layers == layers)
			return &r->shards[i];
	CU_FAIL("no such shard");
	return &r->shards[0];
}

/*
 * DeepSeek's latent attention and a dense first layer
 * (tests/data/part/tiny-deepseek.json: d = 256, 4 heads of q and k 32 + 16
 * RoPE channels and v 32, a KV latent of 64; layer 0 dense with FFN 512,
 * layer 1 with 4 routed experts of FFN 128, 2 a token, and a shared one of
 * 128) at tp 2 on one stage, by hand on tiny-64 (⌈K/64⌉ · ⌈2N/64⌉
 * crossbars):
 * - q_proj 256 × (2 heads · 48 = 96): 4 · 3 = 12 crossbars, both layers;
 * - kv_a_proj 256 × (64 + 16): 4 · 3 = 12, held whole by both members;
 * - q_absorb 32 × 64 for each of the member's 2 heads: 1 · 2 a head, 4;
 *   v_up 64 × 32 a head: 1 · 1, 2; o_proj by rows, 64 × 256: 1 · 8 = 8;
 * - the dense FFN, gate 256 × 256 (4 · 8 = 32), in layer 0 only; the
 *   router and the experts in layer 1 only.
 * The cache holds one latent of 64 + 16 = 80 values a position and layer,
 * on both members.  A decode pass of one sequence at past 16 attends 17
 * positions: 2 heads · (80 + 64) · 17 = 4,896 MACs a layer, 80 · 17 = 1,360
 * bytes read at 8 bits; layer 0 has no router step, layer 1 one.  The
 * estimate of one chip (both kinds of layer on it) is its program's sum.
 */
static void test_latent_attention(void)
{
	const char *sets[] = { "model=tests/data/part/tiny-deepseek.json", "workload.kv_bits=8",
			       "workload.micro_batches=1" };
	struct cim_experiment *e = load(tiny, sets, 3);
	struct cim_part_plan *p = plan_of(e, 2, 1, 1);
	const struct cim_part_rank *r = &p->ranks[1];
	const uint32_t A = CIM_LAYERS_ALL, D = CIM_LAYERS_DENSE, M = CIM_LAYERS_MOE;

	CIM_ASSERT_EQ_U64(e->model.kv_heads, 1);
	CIM_ASSERT_EQ_U64(cim_model_kv_width(&e->model), 80);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_Q_PROJ, A)->n, 96);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_Q_PROJ, A)->crossbars, 24);
	const struct cim_part_shard *kva = shard_in(r, CIM_ROLE_KV_A_PROJ, A);
	CIM_ASSERT_EQ_U64(kva->split, CIM_SPLIT_REPLICATED);
	CIM_ASSERT_EQ_U64(kva->holders, 2);
	CIM_ASSERT_EQ_U64(kva->crossbars_one, 12);
	const struct cim_part_shard *qa = shard_in(r, CIM_ROLE_Q_ABSORB, A);
	CIM_ASSERT_EQ_U64(qa->split, CIM_SPLIT_HEADS);
	CIM_ASSERT_EQ_U64(qa->count, 2);
	CIM_ASSERT_EQ_U64(qa->k, 32);
	CIM_ASSERT_EQ_U64(qa->n, 64);
	CIM_ASSERT_EQ_U64(qa->crossbars, 2 * 2 * 2);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_V_UP, A)->crossbars, 1 * 2 * 2);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_O_PROJ, A)->k, 64);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_O_PROJ, A)->crossbars_one, 8);
	const struct cim_part_shard *dg = shard_in(r, CIM_ROLE_FFN_GATE, D);
	CIM_ASSERT_EQ_U64(dg->n, 256);
	CIM_ASSERT_EQ_U64(dg->count, 1);
	CIM_ASSERT_EQ_U64(dg->times, 1);
	CIM_ASSERT_EQ_U64(dg->crossbars, 32);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_FFN_GATE, M)->count, 4);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_FFN_GATE, M)->times, 1);
	CIM_ASSERT_EQ_U64(shard_in(r, CIM_ROLE_ROUTER, M)->times, 1);
	CIM_ASSERT_EQ_U64(cim_part_kv_bits_per_pos(e, r), 80 * 8);

	struct cim_part_pass pass = {
		.phase = CIM_PHASE_DECODE, .seqs = 1, .queries = 1, .past = 16, .sample = true
	};
	struct cim_prog_op ops[160];
	size_t n = cim_part_program(e, p, r, &pass, ops, 160);
	CU_ASSERT_FATAL(n > 0 && n <= 160);
	uint32_t routers[2] = { 0, 0 }, attn[2] = { 0, 0 };
	for (size_t i = 0; i < n; i++) {
		const struct cim_prog_op *o = &ops[i];
		if (o->layer < 0)
			continue;
		if (o->role == CIM_ROLE_ROUTER)
			routers[o->layer]++;
		if (o->role == CIM_ROLE_ATTENTION) {
			attn[o->layer]++;
			CIM_ASSERT_EQ_U64(o->macs, 4896);
			CIM_ASSERT_EQ_U64(o->bytes, 1360);
		}
		if (o->role == CIM_ROLE_KV_APPEND)
			CIM_ASSERT_EQ_U64(o->bytes, 80);
		if (o->role == CIM_ROLE_Q_ABSORB) /* one vector through each head's */
			CIM_ASSERT_EQ_U64(o->macs, 2 * 32 * 64);
		if (o->role == CIM_ROLE_FFN_GATE && o->layer == 0)
			CIM_ASSERT_EQ_U64(o->macs, 256 * 256);
	}
	CIM_ASSERT_EQ_U64(routers[0], 0);
	CIM_ASSERT_EQ_U64(routers[1], 1);
	CIM_ASSERT_EQ_U64(attn[0], 1);
	CIM_ASSERT_EQ_U64(attn[1], 1);
	cim_part_plan_destroy(p);
	free(e);

	/* Prefill decompressing the latents (workload.mla_prefill:
	 * decompressed): W_UK held again, 64 × 32 a head (k_up, 1 crossbar a
	 * head, 2 heads, 2 layers); a prefill of 16 tokens puts the 16
	 * latents through k_up and v_up, 16 · 2 · 64 · 32 = 65,536 MACs each,
	 * before attention, which then runs on each head's own key (48) and
	 * value (32): 136 positions · 2 · 80 = 21,760 MACs, the latents read
	 * once (80 · 16 = 1280 bytes); no q_absorb, no v_up after it.  A
	 * decode pass keeps the absorbed form. */
	const char *dsets[] = { "model=tests/data/part/tiny-deepseek.json", "workload.kv_bits=8",
				"workload.micro_batches=1", "workload.mla_prefill=decompressed" };
	struct cim_experiment *ed = load(tiny, dsets, 4);
	struct cim_part_plan *pd = plan_of(ed, 2, 1, 1);
	const struct cim_part_rank *rd = &pd->ranks[0];
	const struct cim_part_shard *ku = shard_in(rd, CIM_ROLE_K_UP, A);
	CIM_ASSERT_EQ_U64(ku->count, 2);
	CIM_ASSERT_EQ_U64(ku->k, 64);
	CIM_ASSERT_EQ_U64(ku->n, 32);
	CIM_ASSERT_EQ_U64(ku->crossbars, 4);
	struct cim_part_pass pre = { .phase = CIM_PHASE_PREFILL, .seqs = 1, .queries = 16 };
	n = cim_part_program(ed, pd, rd, &pre, ops, 160);
	CU_ASSERT_FATAL(n > 0 && n <= 160);
	int at_kup = -1, at_vup = -1, at_attn = -1, absorbs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cim_prog_op *o = &ops[i];
		if (o->layer != 0)
			continue;
		if (o->role == CIM_ROLE_K_UP) {
			at_kup = (int)i;
			CIM_ASSERT_EQ_U64(o->macs, 65536);
		}
		if (o->role == CIM_ROLE_V_UP) {
			at_vup = (int)i;
			CIM_ASSERT_EQ_U64(o->macs, 65536);
			CU_ASSERT(o->with_prev);
		}
		if (o->role == CIM_ROLE_ATTENTION) {
			at_attn = (int)i;
			CIM_ASSERT_EQ_U64(o->macs, 21760);
			CIM_ASSERT_EQ_U64(o->bytes, 1280);
		}
		absorbs += o->role == CIM_ROLE_Q_ABSORB;
	}
	CU_ASSERT(at_kup >= 0 && at_vup == at_kup + 1 && at_attn > at_vup);
	CIM_ASSERT_EQ_U64(absorbs, 0);
	n = cim_part_program(ed, pd, rd, &pass, ops, 160);
	absorbs = 0;
	for (size_t i = 0; i < n; i++)
		absorbs += ops[i].layer == 0 && ops[i].role == CIM_ROLE_Q_ABSORB;
	CIM_ASSERT_EQ_U64(absorbs, 1);
	cim_part_plan_destroy(pd);
	free(ed);

	/* one chip: the estimate is the sum of its programs, both kinds of
	 * layer priced */
	const char *one[] = { "model=tests/data/part/tiny-deepseek.json", "workload.batch=1",
			      "interconnect.allow_unused=true", "chip.tiles=40" };
	struct cim_experiment *e1 = load(tiny, one, 4);
	struct cim_part_plan *p1 = plan_of(e1, 1, 1, 1);
	struct cim_part_estimate est;
	struct cim_net *net;
	struct cim_err err;
	struct cim_prog_op all[256];
	uint64_t sum = 0;
	CU_ASSERT_TRUE(cim_part_fits(e1, p1, &err));
	CU_ASSERT_EQUAL_FATAL(cim_net_create(&e1->net, 1, &net, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_part_estimate(e1, p1, net, &est, &err), 0);
	for (uint32_t k = 0; k < cim_part_npasses(e1); k++) {
		struct cim_part_pass ps;
		cim_part_pass_at(e1, 1, k, &ps);
		size_t m = cim_part_program(e1, p1, &p1->ranks[0], &ps, all, 256);
		CU_ASSERT_FATAL(m <= 256);
		sum += cim_part_program_alone_ps(all, m);
	}
	CIM_ASSERT_EQ_U64(est.makespan_ps, sum);
	cim_net_destroy(net);
	cim_part_plan_destroy(p1);
	free(e1);
}

/*
 * Experts spread over the replicas (parallel.experts: replicas) on the
 * tiny MoE (4 experts of FFN 512, 2 a token, d = 256) at tp 1, pp 1, dp 2,
 * one sequence of 16 prompt tokens a replica: each replica's chip holds 2
 * experts (replica q experts 2q and 2q + 1).  In each layer the router is
 * followed by an all-to-all over the two replicas of every routed copy of
 * the pass's activations, 16 · 2 · 256 bytes at 8 bits = 8192, and the
 * down projection by another back; no all-reduce at tp 1.  Evenly, each
 * replica sends 8 tokens to each expert: a chip's two experts take 16
 * each, both replicas' (gate MACs 2 · 16 · 256 · 512).  With every token
 * on experts 0 and 1 (Zipf s = 100) replica 0's chip takes both replicas'
 * 32 a expert and replica 1's none, and the all-to-all's chunks follow:
 * replica 1 sends replica 0 all 32 copies, replica 0 sends nothing.
 * Refused: dp 1, dp not dividing the experts, or the batch.
 */
static void test_experts_over_replicas(void)
{
	const char *even[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "parallel.experts=replicas" };
	const char *skew[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			       "parallel.experts=replicas", "workload.routing=zipf",
			       "workload.routing_zipf=100" };
	struct cim_experiment *e = load(tiny, even, 3), *z = load(tiny, skew, 5);
	struct cim_part_plan *p = plan_of(e, 1, 1, 2), *pz = plan_of(z, 1, 1, 2);
	const uint64_t gate_macs = 256ull * 512;
	struct cim_part_pass pass;
	struct cim_prog_op ops[128];

	for (uint32_t q = 0; q < 2; q++) {
		CIM_ASSERT_EQ_U64(shard(&p->ranks[q], CIM_ROLE_FFN_GATE)->count, 2);
		CIM_ASSERT_EQ_U64(cim_part_ep_rank(p, &p->ranks[0], q), q);
	}
	cim_part_pass_at(e, 1, 0, &pass);
	CIM_ASSERT_EQ_U64(cim_part_pass_tokens(&pass), 16);
	const uint64_t want_even[2] = { 32 * gate_macs, 32 * gate_macs };
	const uint64_t want_skew[2] = { 64 * gate_macs, 0 };
	for (int run = 0; run < 2; run++) {
		const struct cim_experiment *x = run ? z : e;
		const struct cim_part_plan *pl = run ? pz : p;
		for (uint32_t q = 0; q < 2; q++) {
			size_t n = cim_part_program(x, pl, &pl->ranks[q], &pass, ops, 128);
			CU_ASSERT_FATAL(n > 0 && n <= 128);
			uint32_t a2a = 0, reduces = 0;
			int32_t router_at = -1;
			for (size_t j = 0; j < n; j++) {
				const struct cim_prog_op *o = &ops[j];
				if (o->layer != 0)
					continue;
				if (o->role == CIM_ROLE_ROUTER)
					router_at = (int32_t)j;
				if (o->role == CIM_ROLE_EXPERT_DISPATCH) {
					CU_ASSERT_EQUAL(router_at, (int32_t)j - 1);
				}
				if (o->kind == CIM_PROG_COLL && o->coll == CIM_NET_ALLTOALL) {
					a2a++;
					CIM_ASSERT_EQ_U64(o->group, CIM_GROUP_EP);
					CIM_ASSERT_EQ_U64(o->bytes, 8192);
				}
				if (o->kind == CIM_PROG_COLL && o->coll == CIM_NET_ALLREDUCE)
					reduces++;
				if (o->role == CIM_ROLE_FFN_GATE)
					CIM_ASSERT_EQ_U64(o->macs,
							  run ? want_skew[q] : want_even[q]);
				if (o->role == CIM_ROLE_EXPERT_COMBINE)
					CU_ASSERT_EQUAL(ops[j - 1].role, CIM_ROLE_FFN_DOWN);
				/* the activation of the vectors the chip's experts
				 * took: 32 or 64 of 512, or none */
				if (o->role == CIM_ROLE_FFN_ACT)
					CIM_ASSERT_EQ_U64(
					    o->bytes,
					    2 * part_bytes((run ? want_skew[q] : want_even[q]) /
							       256,
							   x->chip.input_bits));
			}
			CIM_ASSERT_EQ_U64(a2a, 2);
			CIM_ASSERT_EQ_U64(reduces, 0);
		}
	}
	/* the all-to-all's chunks: evenly each replica sends the other the 16
	 * copies bound for its 2 experts, 16 · 256 bytes, and keeps as many;
	 * fully skewed replica 1 sends replica 0 all 32 copies and replica 0
	 * sends none; the combine sends them back */
	uint64_t ch[4];
	cim_part_dispatch_chunks(e, p, &p->ranks[0], 0, &pass, false, ch);
	for (int i = 0; i < 4; i++)
		CIM_ASSERT_EQ_U64(ch[i], 16 * 256);
	cim_part_dispatch_chunks(z, pz, &pz->ranks[0], 0, &pass, false, ch);
	CIM_ASSERT_EQ_U64(ch[0 * 2 + 1], 0);
	CIM_ASSERT_EQ_U64(ch[1 * 2 + 0], 32 * 256);
	cim_part_dispatch_chunks(z, pz, &pz->ranks[0], 0, &pass, true, ch);
	CIM_ASSERT_EQ_U64(ch[0 * 2 + 1], 32 * 256);
	CIM_ASSERT_EQ_U64(ch[1 * 2 + 0], 0);
	cim_part_plan_destroy(p);
	cim_part_plan_destroy(pz);
	free(e);
	free(z);

	/* Whole experts over the group and the replicas (expert-replicas) at
	 * tp 2 × dp 2: one expert a chip, chip (TP index i, replica q)
	 * expert 2i + q: ranks 0, 1, 2, 3 hold experts 0, 2, 1, 3.  Evenly
	 * each takes 8 tokens from each replica, 16 vectors through its whole
	 * 256 × 512 gate; member 0's group (ranks 0 and 2, experts 0 and 1)
	 * sends the other replica 8 copies, 2048 bytes.  Every token on
	 * experts 0 and 1: ranks 0 and 2 take 32 each, ranks 1 and 3 none; the
	 * group of member 0 swaps 16 copies each way, member 1's nothing. */
	const char *we[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			     "parallel.experts=expert-replicas" };
	const char *wz[] = { "model=tests/data/part/tiny-moe.json", "workload.micro_batches=1",
			     "parallel.experts=expert-replicas", "workload.routing=zipf",
			     "workload.routing_zipf=100" };
	struct cim_experiment *ew = load(tiny, we, 3), *zw = load(tiny, wz, 5);
	struct cim_part_plan *pw = plan_of(ew, 2, 1, 2), *pzw = plan_of(zw, 2, 1, 2);
	const uint32_t expert_of[4] = { 0, 2, 1, 3 };
	const uint64_t wz_vectors[4] = { 32, 0, 32, 0 };
	for (uint32_t rk = 0; rk < 4; rk++) {
		const struct cim_part_shard *g = shard(&pw->ranks[rk], CIM_ROLE_FFN_GATE);
		CIM_ASSERT_EQ_U64(g->count, 1);
		CIM_ASSERT_EQ_U64(g->n, 512);
		CIM_ASSERT_EQ_U64(
		    cim_part_expert_block(ew, pw, pw->ranks[rk].tp_index, pw->ranks[rk].replica),
		    expert_of[rk]);
		for (int run = 0; run < 2; run++) {
			const struct cim_experiment *x = run ? zw : ew;
			const struct cim_part_plan *pl = run ? pzw : pw;
			size_t n = cim_part_program(x, pl, &pl->ranks[rk], &pass, ops, 128);
			CU_ASSERT_FATAL(n > 0 && n <= 128);
			for (size_t j = 0; j < n; j++)
				if (ops[j].layer == 0 && ops[j].role == CIM_ROLE_FFN_GATE)
					CIM_ASSERT_EQ_U64(ops[j].macs,
							  (run ? wz_vectors[rk] : 16) * gate_macs);
		}
	}
	cim_part_dispatch_chunks(ew, pw, &pw->ranks[0], 0, &pass, false, ch);
	CIM_ASSERT_EQ_U64(ch[0 * 2 + 1], 8 * 256);
	cim_part_dispatch_chunks(zw, pzw, &pzw->ranks[0], 0, &pass, false, ch);
	CIM_ASSERT_EQ_U64(ch[0 * 2 + 1], 16 * 256);
	CIM_ASSERT_EQ_U64(ch[1 * 2 + 0], 16 * 256);
	cim_part_dispatch_chunks(zw, pzw, &pzw->ranks[1], 0, &pass, false, ch);
	CIM_ASSERT_EQ_U64(ch[0 * 2 + 1] + ch[1 * 2 + 0], 0);
	cim_part_plan_destroy(pw);
	cim_part_plan_destroy(pzw);
	free(ew);
	free(zw);

	static const struct {
		const char *batch;
		uint32_t dp;
		const char *expect;
	} bad[] = {
		{ "workload.batch=2", 1, "the replicas and needs dp of 2 or more" },
		{ "workload.batch=3", 3, "dp 3 does not divide the 4 experts" },
		{ "workload.batch=3", 2, "dp 2 does not divide the batch of 3" },
		{ "workload.batch=2048", 2048, "more replicas than the 1024" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *sets[] = { "model=tests/data/part/tiny-moe.json",
				       "parallel.experts=replicas", bad[i].batch };
		struct cim_experiment *x = load(tiny, sets, 3);
		struct cim_part_plan *none = NULL;
		struct cim_err err;
		CU_ASSERT_EQUAL(cim_part_plan(x, 1, 1, bad[i].dp, &none, &err), -1);
		CIM_ASSERT_HAS(err.msg, bad[i].expect);
		free(x);
	}
}

int main(void)
{
	static const struct cim_test tests[] = {
		{ "shards at tp 2", test_shards_tp2 },
		{ "embedding table in the DRAM when the buffer is too small",
		  test_embedding_in_dram },
		{ "KV heads replicated when tp > KV heads", test_kv_heads_replicated },
		{ "weights add up to the model's", test_weights_add_up },
		{ "capacity balance by hand", test_balance_capacity },
		{ "cost balance within a layer", test_balance_cost },
		{ "explicit layer list", test_balance_list },
		{ "cost balance against every split", test_balance_every_split },
		{ "cost balance of 10,000 layers", test_balance_10000 },
		{ "expert routing: even, fully skewed, uniform", test_expert_routing },
		{ "refusals", test_refusals },
		{ "fewest chips", test_min_chips },
		{ "pack and unpack", test_pack },
		{ "estimate on one chip", test_estimate_one_chip },
		{ "enumeration and strategies", test_enumerate },
		{ "a parallel block: one all-reduce, branches side by side", test_parallel_block },
		{ "a served pass mixing a decode and a prompt", test_mixed_pass },
		{ "steps that start together, on their own or one resource", test_group },
		{ "a sharded embedding: rows divided, lookups all-reduced",
		  test_embedding_sharded },
		{ "the experts' load over a run: even and fully skewed", test_expert_report },
		{ "a routing trace: rows in turn, refusals", test_routing_trace },
		{ "a shared expert beside the routed ones, one all-reduce", test_shared_expert },
		{ "expert parallelism: whole experts a member, loads per member",
		  test_expert_parallel },
		{ "latent attention and a dense first layer (DeepSeek)", test_latent_attention },
		{ "experts over the replicas: all-to-all each way, every replica's tokens",
		  test_experts_over_replicas },
	};
	return cim_test_run("partitioner", tests, sizeof(tests) / sizeof(tests[0]));
}
