/*
 * test_gpu.c — the roofline GPU baseline against published figures (the
 * 151 tokens/s bandwidth ceiling of Llama-2-7B on one A100-80G, the GPU
 * counts that hold Llama-2-70B, measured decode rates) and against hand
 * calculations on a tiny model.  Pure logic: no MPI.
 *
 * Runs from the project root (CTest sets the working directory), so the
 * presets in configs/models/ are read as users read them.
 *
 * Figures used throughout (coordinator/gpu.c, docs/references.md):
 *   A100: 312e12 FLOP/s, 2039e9 B/s, 400 W, NVLink 300e9 B/s each way;
 *   H100: 989e12 FLOP/s, 3350e9 B/s, 700 W, NVLink 450e9 B/s each way;
 *   both 80 GiB = 85,899,345,920 B, 90 % usable = 77,309,411,328 B.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "test.h"

/* ------------------------------------------------------------ helpers */

static const struct cim_gpu_spec *a100(void)
{
	return cim_gpu_get(0);
}

static const struct cim_gpu_spec *h100(void)
{
	return cim_gpu_get(1);
}

static void load_preset(const char *name, struct cim_model_spec *m)
{
	char path[256];
	struct cim_files *files = cim_files_create(true);
	struct cim_err err;
	int rc;

	snprintf(path, sizeof(path), "configs/models/%s.json", name);
	rc = cim_spec_load_model(files, path, m, &err);
	cim_files_destroy(files);
	if (rc)
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void load_text(const char *text, struct cim_model_spec *m)
{
	struct cim_files *files = cim_files_create(false);
	struct cim_err err;
	int rc;

	cim_files_put(files, "m.json", text, strlen(text));
	rc = cim_spec_load_model(files, "m.json", m, &err);
	cim_files_destroy(files);
	if (rc)
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static struct cim_workload_spec workload(uint32_t batch, uint32_t prompt, uint32_t generate)
{
	struct cim_workload_spec w = { .batch = batch,
				       .prompt_tokens = prompt,
				       .generate_tokens = generate,
				       .kv_bits = 8,
				       .act_bits = 8 };
	return w;
}

/*
 * A tiny Llama-style model counted by hand: d = 512, 2 layers, 8 heads of
 * 64 (no GQA), FFN 2048, vocabulary 1000.
 *   per layer: q, k, v, o 4·512² = 1,048,576; gate, up, down 3·512·2048 =
 *   3,145,728; norms 2·512 = 1,024 → 4,195,328; two layers 8,390,656;
 *   embedding and head 2·512·1000 = 1,024,000; final norm 512:
 *   params 9,415,168, fp16 weights 18,830,336 B.
 *   weight MACs per token W = 2·(1,048,576 + 3,145,728) + 512·1000 = 8,900,608;
 *   attention MACs per position A = 2 layers · 2·8·64 = 2,048;
 *   KV per token 2·2·8·64 = 2,048 values = 4,096 B.
 */
static const char tiny[] = "{\"model_type\": \"llama\", \"hidden_size\": 512,"
			   "\"num_hidden_layers\": 2, \"num_attention_heads\": 8,"
			   "\"intermediate_size\": 2048, \"max_position_embeddings\": 2048,"
			   "\"vocab_size\": 1000}";

/* ------------------------------------------------------------- tests */

static void test_table(void)
{
	CIM_ASSERT_EQ_U64(cim_gpu_count(), 2);
	CU_ASSERT_PTR_NULL(cim_gpu_get(2));
	CIM_ASSERT_HAS(a100()->name, "A100");
	CIM_ASSERT_HAS(h100()->name, "H100");
	/* docs/references.md, A100 and H100: 312 / 989 TFLOP/s, 2,039 / 3,350 GB/s,
	 * 400 / 700 W; NVLink 600 / 900 GB/s over both directions. */
	CIM_ASSERT_EQ_U64(a100()->peak_flops, 312000000000000ull);
	CIM_ASSERT_EQ_U64(h100()->peak_flops, 989000000000000ull);
	CIM_ASSERT_EQ_U64(a100()->mem_bw, 2039000000000ull);
	CIM_ASSERT_EQ_U64(h100()->mem_bw, 3350000000000ull);
	CIM_ASSERT_EQ_U64(2 * a100()->link_bw, 600000000000ull);
	CIM_ASSERT_EQ_U64(2 * h100()->link_bw, 900000000000ull);
	CIM_ASSERT_EQ_U64(a100()->mem_bytes, 85899345920ull);
	CIM_ASSERT_REL(a100()->tdp_w, 400.0, 0.0);
	CIM_ASSERT_REL(h100()->tdp_w, 700.0, 0.0);
	CU_ASSERT_STRING_EQUAL(cim_gpu_bound_name(CIM_GPU_MEMORY), "memory");
	CU_ASSERT_STRING_EQUAL(cim_gpu_bound_name(CIM_GPU_COMPUTE), "compute");
}

/* (1) docs/references.md, A100 and H100: the batch-1 bandwidth ceiling of Llama-2-7B fp16 on
 * one A100-80G is ≈151 tokens/s (weights read once per token). */
static void test_7b_bandwidth_ceiling(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(1, 1, 2);

	load_preset("llama-2-7b", &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	CIM_ASSERT_EQ_U64(r.gpus, 1);
	CU_ASSERT(r.fits);
	/* Weights 6,738,415,616 · 2 = 13,476,831,232 B (13.48 GB). */
	CIM_ASSERT_EQ_U64(r.weight_bytes, 13476831232ull);
	/* The one decode step feeds token 1 at position 2: KV of 2 positions,
	 * 2 · 524,288 B (2·32 layers·32 heads·128·2 B per token) = 1,048,576 B;
	 * bytes 13,477,879,808 / 2039e9 = 6.6100440 ms.  Compute: 2·(W
	 * 6,607,077,376 + A 262,144·2) = 13,215,203,328 FLOP / 312e12 =
	 * 42.4 µs, far below: memory-bound.  One GPU: no all-reduce. */
	CIM_ASSERT_REL(r.tpot_s, 13477879808.0 / 2039e9, 1e-12);
	CU_ASSERT_EQUAL(r.bound, CIM_GPU_MEMORY);
	CIM_ASSERT_REL(r.allreduce_s, 0.0, 0.0);
	/* 2039e9 / 13,477,879,808 = 151.285 tokens/s, within 1 % of the
	 * published 151.3. */
	CIM_ASSERT_REL(1.0 / r.tpot_s, 151.3, 0.01);
}

/* (2) Llama-2-70B: 68,976,648,192 · 2 = 137,953,296,384 B of fp16 weights
 * exceed one 80 GB GPU; the KV cache and the 10 % reserve decide the rest. */
static void test_70b_gpus(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(16, 128, 32);

	load_preset("llama-2-70b", &m);
	/* KV per token 2·80 layers·8 KV heads·128·2 B = 327,680 B; batch 16
	 * at context 128 + 32 = 160: 838,860,800 B.  Need 138,792,157,184 B
	 * > 77,309,411,328 (one GPU), <= 154,618,822,656 (two). */
	cim_gpu_estimate(a100(), &m, &w, &r);
	CIM_ASSERT_EQ_U64(r.weight_bytes, 137953296384ull);
	CIM_ASSERT_EQ_U64(r.kv_bytes, 838860800ull);
	CIM_ASSERT_EQ_U64(r.need_bytes, 138792157184ull);
	CIM_ASSERT_EQ_U64(r.usable_bytes, 154618822656ull);
	CIM_ASSERT_EQ_U64(r.gpus, 2);
	CU_ASSERT(r.fits);
	CIM_ASSERT_EQ_U64(cim_gpu_needed(h100(), &m, &w), 2);

	/* Batch 16 at context 4,000 + 96 = 4,096: KV 16·4096·327,680 =
	 * 21,474,836,480 B; need 159,428,132,864 > 154,618,822,656 → 4 GPUs. */
	w = workload(16, 4000, 96);
	CIM_ASSERT_EQ_U64(cim_gpu_needed(a100(), &m, &w), 4);

	/* Batch 1024 at 4,096: KV 1,374,389,534,720 B alone exceeds eight
	 * GPUs' 618,475,290,624 B: no count fits, and every time is 0. */
	w = workload(1024, 4000, 96);
	cim_gpu_estimate(a100(), &m, &w, &r);
	CIM_ASSERT_EQ_U64(r.gpus, 0);
	CU_ASSERT(!r.fits);
	CIM_ASSERT_EQ_U64(r.kv_bytes, 1374389534720ull);
	CIM_ASSERT_EQ_U64(r.usable_bytes, 618475290624ull);
	CIM_ASSERT_REL(r.makespan_s, 0.0, 0.0);
	CIM_ASSERT_REL(r.energy_j, 0.0, 0.0);
}

/* (3) A compute-bound prefill on the tiny model, by hand. */
static void test_tiny_prefill_compute_bound(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(8, 1024, 1);

	load_text(tiny, &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	CIM_ASSERT_EQ_U64(r.gpus, 1);
	CIM_ASSERT_EQ_U64(r.weight_bytes, 18830336ull);
	/* Prefill MACs of 1024 tokens: 1024·W 9,114,222,592 + A·1024·1025/2
	 * 1,074,790,400 = 10,189,012,992; batch 8, 2 FLOP per MAC:
	 * 163,024,207,872 FLOP / 312e12 = 522.513 µs.  Bytes: weights
	 * 18,830,336 + KV written 8·1024·4096 = 33,554,432 → 52,384,768 B /
	 * 2039e9 = 25.7 µs: compute-bound. */
	CIM_ASSERT_REL(r.prefill_s, 163024207872.0 / 312e12, 1e-12);
	CU_ASSERT_EQUAL(r.prefill_bound, CIM_GPU_COMPUTE);
	/* generate_tokens = 1: the prefill yields the only token, so no decode
	 * step; the bound is the prefill's. */
	CIM_ASSERT_REL(r.decode_s, 0.0, 0.0);
	CIM_ASSERT_REL(r.tpot_s, 0.0, 0.0);
	CU_ASSERT_EQUAL(r.bound, CIM_GPU_COMPUTE);
	CIM_ASSERT_REL(r.ttft_s, r.prefill_s, 0.0);
	CIM_ASSERT_REL(r.makespan_s, r.prefill_s, 0.0);
	/* 8 sequences · 1 token / 522.513 µs. */
	CIM_ASSERT_REL(r.generated_tokens_per_s, 8.0 / (163024207872.0 / 312e12), 1e-12);
}

/* Decode steps sum with the context growing, by hand on the tiny model. */
static void test_tiny_decode_steps(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(8, 1024, 3);

	load_text(tiny, &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	/* Two decode steps, at 1025 and 1026 positions.  Step 1: bytes
	 * 18,830,336 + 8·1025·4096 = 52,417,536 (25.7 µs) against FLOP
	 * 2·8·(8,900,608 + 2048·1025) = 175,996,928 (0.56 µs): memory-bound,
	 * as is step 2.  Sum of bytes: 2·18,830,336 + 8·4096·(1025 + 1026) =
	 * 104,867,840 B / 2039e9 = 51.431 µs. */
	CIM_ASSERT_REL(r.decode_s, 104867840.0 / 2039e9, 1e-12);
	CIM_ASSERT_REL(r.tpot_s, 104867840.0 / 2039e9 / 2, 1e-12);
	CU_ASSERT_EQUAL(r.bound, CIM_GPU_MEMORY);
	CIM_ASSERT_REL(r.makespan_s, r.prefill_s + r.decode_s, 0.0);
	/* 8 · 3 tokens over the makespan. */
	CIM_ASSERT_REL(r.generated_tokens_per_s, 24.0 / r.makespan_s, 1e-15);
}

/* A sliding window caps the KV cache (a rolling buffer). */
static void test_window_caps_kv(void)
{
	struct cim_model_spec m;
	struct cim_workload_spec w = workload(1, 1000, 24);
	struct cim_gpu_result r;
	char text[512];

	/* Mistral: Llama's keys, attention within sliding_window. */
	snprintf(text, sizeof(text), "{\"model_type\": \"mistral\", %.*s, \"sliding_window\": 16}",
		 (int)(strlen(tiny) - 25), tiny + 24);
	load_text(text, &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	/* min(1000 + 24, 16) = 16 positions · 4096 B. */
	CIM_ASSERT_EQ_U64(r.kv_bytes, 65536ull);
	/* Each of the 23 decode steps reads the weights and 16 positions:
	 * 23 · (18,830,336 + 65,536) = 434,605,056 B / 2039e9. */
	CIM_ASSERT_REL(r.decode_s, 434605056.0 / 2039e9, 1e-12);
}

/* Mixtral at batch 1 reads only the experts its token is routed to. */
static void test_mixtral_batch1_reads_active(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(1, 1, 2);

	load_preset("mixtral-8x7b", &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	/* 46,702,792,704 · 2 = 93.4 GB of weights: two GPUs. */
	CIM_ASSERT_EQ_U64(r.gpus, 2);
	/* One token touches 2 of 8 experts per layer: the 12,879,925,248 active
	 * parameters (the published 12.9B) · 2 B = 25,759,850,496 B, plus KV
	 * of 2 positions · 131,072 B (2·32·8·128·2) = 262,144 B, over two
	 * GPUs' 4078e9 B/s; plus 2·32 all-reduces of 4096·2 B, each
	 * 2·(1/2)·8192 / 300e9 s. */
	CIM_ASSERT_REL(r.tpot_s, 25760112640.0 / 4078e9 + 64 * 8192.0 / 300e9, 1e-12);
}

/* (4) Energy is n · TDP · makespan, exactly, and per generated token. */
static void test_energy(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(16, 128, 32);

	load_preset("llama-2-70b", &m);
	cim_gpu_estimate(h100(), &m, &w, &r);
	CIM_ASSERT_EQ_U64(r.gpus, 2);
	CU_ASSERT(r.energy_j == 2.0 * 700.0 * r.makespan_s);
	CIM_ASSERT_REL(r.energy_per_generated_token_j, r.energy_j / (16 * 32), 1e-15);
	CIM_ASSERT_REL(r.generated_tokens_per_s, 16 * 32 / r.makespan_s, 1e-15);

	/* Nothing generated: energy is spent, none per token. */
	w = workload(4, 16, 0);
	cim_gpu_estimate(a100(), &m, &w, &r);
	CU_ASSERT(r.energy_j > 0);
	CIM_ASSERT_REL(r.energy_per_generated_token_j, 0.0, 0.0);
	CIM_ASSERT_REL(r.generated_tokens_per_s, 0.0, 0.0);
}

/* (5) H100 has more of every resource, so it is never slower. */
static void test_h100_never_slower(void)
{
	static const char *const models[] = { "gpt2", "llama-2-7b", "mistral-7b", "llama-2-70b",
					      "mixtral-8x7b" };
	static const uint32_t batches[] = { 1, 8, 64 };
	static const uint32_t prompts[] = { 16, 2048 };
	static const uint32_t gens[] = { 1, 2, 128 };

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		struct cim_model_spec m;
		load_preset(models[i], &m);
		for (size_t b = 0; b < 3; b++)
			for (size_t p = 0; p < 2; p++)
				for (size_t g = 0; g < 3; g++) {
					struct cim_workload_spec w =
					    workload(batches[b], prompts[p], gens[g]);
					struct cim_gpu_result ra, rh;
					cim_gpu_estimate(a100(), &m, &w, &ra);
					cim_gpu_estimate(h100(), &m, &w, &rh);
					CIM_ASSERT_EQ_U64(rh.gpus, ra.gpus);
					CU_ASSERT(ra.gpus > 0);
					CU_ASSERT(rh.makespan_s <= ra.makespan_s);
					CU_ASSERT(rh.ttft_s <= ra.ttft_s);
					CU_ASSERT(rh.tpot_s <= ra.tpot_s);
					CU_ASSERT(rh.generated_tokens_per_s >=
						  ra.generated_tokens_per_s);
				}
	}
}

/* Measured batch-1 decode (docs/references.md, lmdeploy) lies below the
 * roofline, at 57–66 % of it. */
static void test_measured_below_roofline(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r;
	struct cim_workload_spec w = workload(1, 1, 2);

	/* Llama-2-7B on one A100-80G: 100 tokens/s measured, 151.285 roofline
	 * (test 1): 66.1 %. */
	load_preset("llama-2-7b", &m);
	cim_gpu_estimate(a100(), &m, &w, &r);
	CIM_ASSERT_REL(100.0 * r.tpot_s, 100.0 / 151.285, 0.001);

	/* Llama-2-70B on 4× A100-80G (as measured; 2 would hold it): bytes
	 * 137,953,296,384 + 2·327,680 = 137,953,951,744 over 4·2039e9 B/s =
	 * 16.91441 ms, plus 2·80 all-reduces of 8192·2 B, each 2·(3/4)·16384 /
	 * 300e9 = 81.92 ns: 16.92752 ms, 59.075 tokens/s; measured 34: 57.6 %. */
	load_preset("llama-2-70b", &m);
	cim_gpu_estimate_on(a100(), &m, &w, 4, &r);
	CIM_ASSERT_EQ_U64(r.gpus, 4);
	CU_ASSERT(r.fits);
	CIM_ASSERT_REL(r.tpot_s, 137953951744.0 / 8156e9 + 160 * 1.5 * 16384 / 300e9, 1e-12);
	CIM_ASSERT_REL(34.0 * r.tpot_s, 0.5755, 0.001);
}

/*
 * The baseline as measured serving runs it (docs/gpu-baseline.md): one
 * efficiency, measured over roofline tokens/s, fitted to two of lmdeploy's
 * twelve published Llama-2-7B fp16 runs on one A100-80G (docs/references.md,
 * "lmdeploy benchmark": 128 generated tokens; prompts of 1, 128 and 2048;
 * batch 1, 16, 32, 64), and held against the other ten.
 */
static void test_calibrated_to_measured(void)
{
	static const struct {
		uint32_t batch, prompt;
		double measured;      /* generated tokens/s, lmdeploy v0.1.0a1 */
		bool fitted, outside; /* outside: beyond 15 %, an effect not modelled */
	} runs[] = {
		{ 1, 1, 100.02, false, false },	    { 16, 1, 1504.72, false, false },
		{ 32, 1, 2136.73, false, true },    { 64, 1, 4154.81, false, true },
		{ 1, 128, 102.21, false, false },   { 16, 128, 1272.47, true, false },
		{ 32, 128, 2125.47, true, false },  { 64, 128, 3024.07, false, false },
		{ 1, 2048, 86.1, false, false },    { 16, 2048, 348.87, false, false },
		{ 32, 2048, 450.43, false, false }, { 64, 2048, 493.46, false, false },
	};
	struct cim_model_spec m;
	double fit = 0, worst = 0;
	int nfit = 0;

	load_preset("llama-2-7b", &m);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct cim_workload_spec w = workload(runs[i].batch, runs[i].prompt, 128);
		struct cim_gpu_result roof, cal;
		cim_gpu_estimate_on(a100(), &m, &w, 1, &roof);
		if (runs[i].fitted) {
			fit += runs[i].measured / roof.generated_tokens_per_s;
			nfit++;
		}
		CU_ASSERT_FATAL(cim_gpu_calibrated(a100(), &roof, &cal));
		CIM_ASSERT_REL(cal.generated_tokens_per_s,
			       roof.generated_tokens_per_s * a100()->served_efficiency, 1e-12);
		CIM_ASSERT_REL(cal.makespan_s * cal.generated_tokens_per_s,
			       roof.makespan_s * roof.generated_tokens_per_s, 1e-12);
		double err = fabs(cal.generated_tokens_per_s / runs[i].measured - 1);
		if (!runs[i].fitted && !runs[i].outside) {
			CU_ASSERT(err < 0.15);
			worst = fmax(worst, err);
		}
		/* the two decode-only runs at batch 32 and 64 lose a third more
		 * than bandwidth explains: 33 % and 27 % above measured */
		if (runs[i].outside)
			CU_ASSERT(err > 0.25 && err < 0.35);
	}
	/* the constant is the fit of the two runs it names */
	CIM_ASSERT_REL(fit / nfit, a100()->served_efficiency, 1e-4);
	/* held out: the worst is 9.9 % (batch 16, prompt 2048) */
	CU_ASSERT(worst > 0.09 && worst < 0.10);
	/* no measured run of the H100 is known: no calibrated line */
	struct cim_gpu_result roof, cal;
	struct cim_workload_spec w = workload(1, 128, 128);
	cim_gpu_estimate_on(h100(), &m, &w, 1, &roof);
	CU_ASSERT_FALSE(cim_gpu_calibrated(h100(), &roof, &cal));
}

/* The same inputs give bit-identical results. */
/*
 * The baseline at the CIM chips' precision (cim_gpu_precision_of): Llama-2-7B
 * with 4-bit weights, an 8-bit KV cache and 8-bit activations on one A100,
 * batch 1, one decode step feeding token 1 at position 2.  Weights
 * 6,738,415,616 · 0.5 = 3,369,207,808 B; KV of 2 positions, 2 · 262,144 B
 * (2·32 layers·32 heads·128·1 B per token) = 524,288 B; 3,369,732,096 B /
 * 2039e9 B/s.  Compute 13,215,203,328 / 624e12 (the int8 rate: weights and
 * activations of 8 bits or fewer) = 21 µs: memory-bound.  A compute-bound
 * prefill (batch 32 of 2,048 tokens) takes half the fp16 time at the int8
 * rate; with 16-bit activations the rate stays fp16's.
 */
static void test_equal_precision(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r, fp;
	struct cim_workload_spec w = workload(1, 1, 2);
	const struct cim_gpu_precision p = cim_gpu_precision_of(4, 8, 8);

	load_preset("llama-2-7b", &m);
	CU_ASSERT(p.int8);
	CIM_ASSERT_REL(p.weight_bytes, 0.5, 0);
	cim_gpu_estimate_at(a100(), &m, &w, &p, &r);
	CIM_ASSERT_EQ_U64(r.weight_bytes, 3369207808ull);
	CIM_ASSERT_REL(r.tpot_s, 3369732096.0 / 2039e9, 1e-12);
	CU_ASSERT_EQUAL(r.bound, CIM_GPU_MEMORY);

	w = workload(32, 2048, 1);
	cim_gpu_estimate(a100(), &m, &w, &fp);
	cim_gpu_estimate_at(a100(), &m, &w, &p, &r);
	CU_ASSERT_EQUAL(fp.prefill_bound, CIM_GPU_COMPUTE);
	CU_ASSERT_EQUAL(r.prefill_bound, CIM_GPU_COMPUTE);
	CIM_ASSERT_REL(r.prefill_s, fp.prefill_s / 2, 1e-12);
	const struct cim_gpu_precision wide = cim_gpu_precision_of(8, 8, 16);
	CU_ASSERT(!wide.int8);
	cim_gpu_estimate_at(a100(), &m, &w, &wide, &r);
	CIM_ASSERT_REL(r.prefill_s, fp.prefill_s, 1e-12);
	/* fp16 through the new entry is the old one, bit for bit */
	cim_gpu_estimate_at(a100(), &m, &w, &cim_gpu_fp16, &r);
	CU_ASSERT(memcmp(&r, &fp, sizeof(r)) == 0);
}

static void test_deterministic(void)
{
	struct cim_model_spec m;
	struct cim_gpu_result r1, r2;
	struct cim_workload_spec w = workload(8, 128, 128);

	load_preset("mixtral-8x7b", &m);
	cim_gpu_estimate(h100(), &m, &w, &r1);
	cim_gpu_estimate(h100(), &m, &w, &r2);
	CIM_ASSERT_EQ_U64(r1.gpus, r2.gpus);
	CU_ASSERT(r1.prefill_s == r2.prefill_s);
	CU_ASSERT(r1.decode_s == r2.decode_s);
	CU_ASSERT(r1.allreduce_s == r2.allreduce_s);
	CU_ASSERT(r1.energy_j == r2.energy_j);
}

static const struct cim_test tests[] = {
	{ "the GPU table holds the datasheet figures (docs/references.md)", test_table },
	{ "Llama-2-7B batch-1 decode meets the 151 tokens/s ceiling", test_7b_bandwidth_ceiling },
	{ "Llama-2-70B needs 2, 4 or no count of 80 GB GPUs", test_70b_gpus },
	{ "a compute-bound prefill by hand", test_tiny_prefill_compute_bound },
	{ "decode steps with the context growing by hand", test_tiny_decode_steps },
	{ "a sliding window caps the KV cache", test_window_caps_kv },
	{ "Mixtral at batch 1 reads its active parameters", test_mixtral_batch1_reads_active },
	{ "energy is GPUs · TDP · makespan", test_energy },
	{ "H100 is never slower than A100", test_h100_never_slower },
	{ "measured decode reaches 57-66 % of the roofline", test_measured_below_roofline },
	{ "calibrated to measured serving, held-out runs within 15 %",
	  test_calibrated_to_measured },
	{ "the same inputs give the same result", test_deterministic },
	{ "at the chips' precision: int8 rate, fewer bytes", test_equal_precision },
};

CIM_TEST_MAIN("gpu", tests)
