/*
 * test_families.c — the model families read from their Hugging Face
 * config.json as published (configs/models/): each preset's parameter count,
 * weight and attention MACs and KV values per token derived by hand from the
 * file's numbers (the derivation beside each), each total against the figure
 * its publishers give (docs/model-presets.md); the traits that change the
 * operator list; every value cimsim cannot model refused with its reason;
 * an unknown model_type answered with the families cimsim knows and the keys
 * that differ; names taken whole.
 *
 * Runs from the project root (CTest sets the working directory).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "spec.h"
#include "test.h"

static int load_model(const char *path, struct cim_model_spec *m, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(true);
	int rc = cim_spec_load_model(files, path, m, err);

	cim_files_destroy(files);
	return rc;
}

static int load_text(const char *name, const char *text, struct cim_model_spec *m,
		     struct cim_err *err)
{
	struct cim_files *files = cim_files_create(false);
	int rc;

	cim_files_put(files, name, text, strlen(text));
	rc = cim_spec_load_model(files, name, m, err);
	cim_files_destroy(files);
	return rc;
}

/*
 * One preset against its hand counts.  W: weight MACs of one token (every
 * matrix once, the LM head too); A: attention MACs per attended position,
 * all layers (2·h·e per layer: q·kᵀ and p·V); kv: K and V values cached per
 * token, all layers (2·L·g·e).  billions, decimals: the publishers' figure
 * ("7.61B": 7.61, 2), which the exact count must round to; exact: the count
 * when they publish it to the parameter, else 0.
 */
struct family {
	const char *file;
	uint64_t params, non_embedding, W, A, kv;
	double billions;
	int decimals;
	double non_embedding_billions; /* 0 when not published */
	int non_embedding_decimals;
	uint64_t exact, exact_non_embedding;
};

/* count, in billions, rounded or cut to decimals (publishers do either:
 * Qwen's card gives 7,615,616,512 as 7.61B and 6,525,621,760 as 6.53B),
 * is billions. */
static bool as_published(uint64_t count, double billions, int decimals)
{
	const double scale = pow(10, decimals), x = (double)count / 1e9 * scale;
	const double want = round(billions * scale);
	bool ok = round(x) == want || floor(x) == want;

	if (!ok)
		fprintf(stderr, "\n  %" PRIu64 " is not %.*fB\n", count, decimals, billions);
	return ok;
}

static void check_family(const struct family *f)
{
	char path[256];
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	snprintf(path, sizeof(path), "configs/models/%s.json", f->file);
	if (load_model(path, &m, &err))
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_EQUAL_FATAL(load_model(path, &m, &err), 0);
	cim_model_stats(&m, &s);
	CIM_ASSERT_EQ_U64(s.params, f->params);
	CIM_ASSERT_EQ_U64(s.params_active, f->params);
	CIM_ASSERT_EQ_U64(s.params - s.params_embedding - s.params_lm_head, f->non_embedding);
	CIM_ASSERT_EQ_U64(s.kv_elems_per_token, f->kv);
	/* at context 1 every layer attends one position */
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 0), f->W);
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 1), f->W + f->A);
	if (f->billions > 0)
		CU_ASSERT_TRUE(as_published(s.params, f->billions, f->decimals));
	if (f->exact_non_embedding)
		CIM_ASSERT_EQ_U64(f->non_embedding, f->exact_non_embedding);
	if (f->non_embedding_billions > 0)
		CU_ASSERT_TRUE(as_published(f->non_embedding, f->non_embedding_billions,
					    f->non_embedding_decimals));
	if (f->exact)
		CIM_ASSERT_EQ_U64(s.params, f->exact);
}

/* Qwen2 / Qwen2.5: biases on q, k and v only; untied but for 0.5B. */
static void test_qwen2(void)
{
	/* Qwen2.5-7B: d 3584, L 28, h 28, g 4, e 128 (K, V 512 wide), f 18944,
	 * V 152064.  Layer: q 3584² + 3584, k and v 3584·512 + 512 each, o 3584²,
	 * FFN 3·3584·18944, 2 RMSNorms 2·3584; embedding and head 152064·3584
	 * each; final norm 3584.  Card: 7.61B, 6.53B without the embeddings. */
	const struct family q7 = {
		.file = "qwen2.5-7b",
		.params = 2ull * 152064 * 3584 +
			  28ull * (2ull * 3584 * 3584 + 2ull * 3584 * 512 + 3ull * 3584 * 18944 +
				   3584 + 2 * 512 + 2 * 3584) +
			  3584,
		.non_embedding = 28ull * (2ull * 3584 * 3584 + 2ull * 3584 * 512 +
					  3ull * 3584 * 18944 + 3584 + 2 * 512 + 2 * 3584) +
				 3584,
		.W = 28ull * (2ull * 3584 * 3584 + 2ull * 3584 * 512 + 3ull * 3584 * 18944) +
		     3584ull * 152064,
		.A = 28ull * 2 * 28 * 128,
		.kv = 2ull * 28 * 4 * 128,
		.billions = 7.61,
		.decimals = 2,
		.non_embedding_billions = 6.53,
		.non_embedding_decimals = 2,
	};
	check_family(&q7);
	/* Qwen2-7B has the same numbers.  Qwen2's blog table says 7.07B (5.98B
	 * without the embeddings), which no reading of the file gives
	 * (docs/model-presets.md): only the hand count is checked. */
	struct family q2 = q7;
	q2.file = "qwen2-7b";
	q2.billions = 0;
	q2.non_embedding_billions = 0;
	check_family(&q2);
	/* Qwen2.5-0.5B: d 896, L 24, h 14, g 2, e 64 (K, V 128), f 4864,
	 * V 151936, tied.  Card: 0.49B, 0.36B without the embedding. */
	const uint64_t layer =
	    2ull * 896 * 896 + 2ull * 896 * 128 + 3ull * 896 * 4864 + 896 + 2 * 128 + 2 * 896;
	const struct family q05 = {
		.file = "qwen2.5-0.5b",
		.params = 151936ull * 896 + 24 * layer + 896,
		.non_embedding = 24 * layer + 896,
		.W = 24ull * (2ull * 896 * 896 + 2ull * 896 * 128 + 3ull * 896 * 4864) +
		     896ull * 151936,
		.A = 24ull * 2 * 14 * 64,
		.kv = 2ull * 24 * 2 * 64,
		.billions = 0.49,
		.decimals = 2,
		.non_embedding_billions = 0.36,
		.non_embedding_decimals = 2,
	};
	check_family(&q05);
}

/* Qwen3: no biases; q_norm and k_norm (RMSNorm over head_dim). */
static void test_qwen3(void)
{
	/* Qwen3-8B: d 4096, L 36, h 32, g 8, e 128 (q 4096, K, V 1024), f 12288,
	 * V 151936, untied.  Layer: q and o 4096² each, k and v 4096·1024 each,
	 * FFN 3·4096·12288, norms 2·4096 + q/k norms 2·128.  Card: 8.2B, 6.95B
	 * without the embeddings. */
	const uint64_t layer =
	    2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 12288 + 2 * 4096 + 2 * 128;
	const struct family f = {
		.file = "qwen3-8b",
		.params = 2ull * 151936 * 4096 + 36 * layer + 4096,
		.non_embedding = 36 * layer + 4096,
		.W = 36ull * (2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 12288) +
		     4096ull * 151936,
		.A = 36ull * 2 * 32 * 128,
		.kv = 2ull * 36 * 8 * 128,
		.billions = 8.2,
		.decimals = 1,
		.non_embedding_billions = 6.95,
		.non_embedding_decimals = 2,
	};
	check_family(&f);
}

/* Gemma: heads wider than hidden/heads, tied head, embeddings × √d. */
static void test_gemma(void)
{
	/* Gemma-7B: d 3072, L 28, h 16 = g, e 256 (q, K, V 4096 wide), f 24576,
	 * V 256000, tied.  Layer: q, k, v 3072·4096 each, o 4096·3072, FFN
	 * 3·3072·24576, norms 2·3072.  Gemma report, Table 2: 7,751,248,896
	 * non-embedding parameters (its 786,825,216 embedding parameters count
	 * a table of 256,128 rows, the vocabulary padded; the file's 256,000
	 * rows give 786,432,000). */
	const uint64_t g7 = 4ull * 3072 * 4096 + 3ull * 3072 * 24576 + 2 * 3072;
	const struct family f7 = {
		.file = "gemma-7b",
		.params = 256000ull * 3072 + 28 * g7 + 3072,
		.non_embedding = 28 * g7 + 3072,
		.W = 28ull * (4ull * 3072 * 4096 + 3ull * 3072 * 24576) + 3072ull * 256000,
		.A = 28ull * 2 * 16 * 256,
		.kv = 2ull * 28 * 16 * 256,
		.exact_non_embedding = 7751248896ull,
	};
	check_family(&f7);
	/* Gemma-2-9B: d 3584, L 42, h 16, g 8, e 256 (q 4096, K, V 2048),
	 * f 14336, V 256000, tied; four norms a layer.  Gemma 2 report, Table
	 * 2: 8,324,201,984 non-embedding (917,962,752 embedding, 256,128 rows
	 * of 3584). */
	const uint64_t g9 =
	    2ull * 3584 * 4096 + 2ull * 3584 * 2048 + 3ull * 3584 * 14336 + 4 * 3584;
	const struct family f9 = {
		.file = "gemma-2-9b",
		.params = 256000ull * 3584 + 42 * g9 + 3584,
		.non_embedding = 42 * g9 + 3584,
		.W = 42ull * (2ull * 3584 * 4096 + 2ull * 3584 * 2048 + 3ull * 3584 * 14336) +
		     3584ull * 256000,
		.A = 42ull * 2 * 16 * 256,
		.kv = 2ull * 42 * 8 * 256,
		.exact_non_embedding = 8324201984ull,
	};
	check_family(&f9);
	/* Gemma-3-1B: d 1152, L 26, h 4, g 1, e 256 (q 1024, K, V 256),
	 * f 6912, V 262144, tied; four norms and q/k norms 2·256 a layer.
	 * Gemma 3 report, Table 1: 302M embedding, 698M non-embedding. */
	const uint64_t g1 =
	    2ull * 1152 * 1024 + 2ull * 1152 * 256 + 3ull * 1152 * 6912 + 4 * 1152 + 2 * 256;
	const struct family f1 = {
		.file = "gemma-3-1b",
		.params = 262144ull * 1152 + 26 * g1 + 1152,
		.non_embedding = 26 * g1 + 1152,
		.W = 26ull * (2ull * 1152 * 1024 + 2ull * 1152 * 256 + 3ull * 1152 * 6912) +
		     1152ull * 262144,
		.A = 26ull * 2 * 4 * 256,
		.kv = 2ull * 26 * 1 * 256,
		.billions = 1.0,
		.decimals = 1,
		.non_embedding_billions = 0.698,
		.non_embedding_decimals = 3,
	};
	check_family(&f1);
}

/* Phi-3: fused qkv_proj and gate_up_proj, the same matrices unfused. */
static void test_phi3(void)
{
	/* Phi-3-mini: d 3072, L 32, h = g 32, e 96, f 8192, V 32064, untied.
	 * Layer: 4·3072² + 3·3072·8192 + 2·3072.  Card: 3.8B. */
	const uint64_t layer = 4ull * 3072 * 3072 + 3ull * 3072 * 8192 + 2 * 3072;
	const struct family f = {
		.file = "phi-3-mini-4k",
		.params = 2ull * 32064 * 3072 + 32 * layer + 3072,
		.non_embedding = 32 * layer + 3072,
		.W = 32ull * (4ull * 3072 * 3072 + 3ull * 3072 * 8192) + 3072ull * 32064,
		.A = 32ull * 2 * 32 * 96,
		.kv = 2ull * 32 * 32 * 96,
		.billions = 3.8,
		.decimals = 1,
	};
	check_family(&f);
	struct family f35 = f;
	f35.file = "phi-3.5-mini";
	check_family(&f35);
}

/* Falcon-7B: multi-query (one KV head), a parallel block with one
 * LayerNorm, no biases, tied head. */
static void test_falcon(void)
{
	/* d 4544, L 32, h 71, g 1, e 64, f 4·4544 = 18176, V 65024.  Layer: q and
	 * o 4544², k and v 4544·64 each, FFN 2·4544·18176 (not gated), one
	 * LayerNorm 2·4544; final LayerNorm 2·4544.  Model card: "7B". */
	const uint64_t layer =
	    2ull * 4544 * 4544 + 2ull * 4544 * 64 + 2ull * 4544 * 18176 + 2 * 4544;
	const struct family f = {
		.file = "falcon-7b",
		.params = 65024ull * 4544 + 32 * layer + 2 * 4544,
		.non_embedding = 32 * layer + 2 * 4544,
		.W = 32ull * (2ull * 4544 * 4544 + 2ull * 4544 * 64 + 2ull * 4544 * 18176) +
		     4544ull * 65024,
		.A = 32ull * 2 * 71 * 64,
		.kv = 2ull * 32 * 1 * 64,
		.billions = 7,
		.decimals = 0,
	};
	check_family(&f);
}

/* GPT-J: a parallel block with one LayerNorm; attention without biases,
 * the MLP and the untied LM head with; RoPE on 64 of 256 channels. */
static void test_gptj(void)
{
	/* d 4096, L 28, h 16, e 256, f 4·4096 = 16384, V 50400.  Layer: 4·4096²
	 * + fc_in 4096·16384 + 16384 + fc_out 16384·4096 + 4096 + ln_1 2·4096;
	 * ln_f 2·4096; lm_head 50400·4096 + 50400.  The card's 6,053,381,344
	 * counts the original JAX checkpoint's tensors; 6.05B both ways. */
	const uint64_t layer = 4ull * 4096 * 4096 + 2ull * 4096 * 16384 + 16384 + 4096 + 2 * 4096;
	const struct family f = {
		.file = "gpt-j-6b",
		.params = 50400ull * 4096 + 28 * layer + 2 * 4096 + 50400ull * 4096 + 50400,
		.non_embedding = 28 * layer + 2 * 4096,
		.W = 28ull * (4ull * 4096 * 4096 + 2ull * 4096 * 16384) + 4096ull * 50400,
		.A = 28ull * 2 * 16 * 256,
		.kv = 2ull * 28 * 16 * 256,
		.billions = 6.05,
		.decimals = 2,
	};
	check_family(&f);
}

/* GPT-NeoX and Pythia: a parallel block with two LayerNorms, biases
 * everywhere, untied embed_out; RoPE on rotary_pct of a head. */
static void test_neox(void)
{
	/* Pythia-6.9B: d 4096, L 32, f 16384, V 50432.  Layer: 4·4096² + 4·4096
	 * biases + 2·4096·16384 + 16384 + 4096 + 2 LayerNorms 4·4096; final
	 * LayerNorm 2·4096; embed_in and embed_out 50432·4096 each.  Pythia's
	 * table: 6,857,302,016 in all, 6,444,163,072 without the two tables. */
	const uint64_t p =
	    4ull * 4096 * 4096 + 4 * 4096 + 2ull * 4096 * 16384 + 16384 + 4096 + 4 * 4096;
	const struct family f = {
		.file = "pythia-6.9b",
		.params = 2ull * 50432 * 4096 + 32 * p + 2 * 4096,
		.non_embedding = 32 * p + 2 * 4096,
		.W = 32ull * (4ull * 4096 * 4096 + 2ull * 4096 * 16384) + 4096ull * 50432,
		.A = 32ull * 2 * 4096,
		.kv = 2ull * 32 * 4096,
		.billions = 6.86,
		.decimals = 2,
		.exact = 6857302016ull,
	};
	check_family(&f);
	CIM_ASSERT_EQ_U64(f.non_embedding, 6444163072ull);
	/* GPT-NeoX-20B: d 6144, L 44, f 24576, V 50432; the paper's
	 * 20,554,567,680. */
	const uint64_t x =
	    4ull * 6144 * 6144 + 4 * 6144 + 2ull * 6144 * 24576 + 24576 + 6144 + 4 * 6144;
	const struct family g = {
		.file = "gpt-neox-20b",
		.params = 2ull * 50432 * 6144 + 44 * x + 2 * 6144,
		.non_embedding = 44 * x + 2 * 6144,
		.W = 44ull * (4ull * 6144 * 6144 + 2ull * 6144 * 24576) + 6144ull * 50432,
		.A = 44ull * 2 * 6144,
		.kv = 2ull * 44 * 6144,
		.billions = 20.55,
		.decimals = 2,
		.exact = 20554567680ull,
	};
	check_family(&g);
}

/* BLOOM: ALiBi, a LayerNorm after the embedding, biases, tied head. */
static void test_bloom(void)
{
	/* BLOOM-7b1: d 4096, L 30, h 32, f 4·4096, V 250880.  Embedding
	 * 250880·4096 + its LayerNorm 2·4096; layer as Pythia's; final LayerNorm
	 * 2·4096.  Model card: 7,069,016,064. */
	const uint64_t layer =
	    4ull * 4096 * 4096 + 4 * 4096 + 2ull * 4096 * 16384 + 16384 + 4096 + 4 * 4096;
	const struct family f = {
		.file = "bloom-7b1",
		.params = 250880ull * 4096 + 2 * 4096 + 30 * layer + 2 * 4096,
		.non_embedding = 2 * 4096 + 30 * layer + 2 * 4096,
		.W = 30ull * (4ull * 4096 * 4096 + 2ull * 4096 * 16384) + 4096ull * 250880,
		.A = 30ull * 2 * 4096,
		.kv = 2ull * 30 * 4096,
		.billions = 7.07,
		.decimals = 2,
		.exact = 7069016064ull,
	};
	check_family(&f);
}

/* Granite 3.0: Llama's shapes, tied head, four multipliers. */
static void test_granite(void)
{
	/* d 4096, L 40, h 32, g 8, e 128, f 12800, V 49155.  Layer: 2·4096² +
	 * 2·4096·1024 + 3·4096·12800 + 2·4096.  Model card: 8.1B. */
	const uint64_t layer =
	    2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 12800 + 2 * 4096;
	const struct family f = {
		.file = "granite-3.0-8b",
		.params = 49155ull * 4096 + 40 * layer + 4096,
		.non_embedding = 40 * layer + 4096,
		.W = 40ull * (2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 12800) +
		     4096ull * 49155,
		.A = 40ull * 2 * 32 * 128,
		.kv = 2ull * 40 * 8 * 128,
		.billions = 8.1,
		.decimals = 1,
	};
	check_family(&f);
}

/* OLMo 2: norms on each branch's output only, q and k norms over all
 * heads. */
static void test_olmo2(void)
{
	/* d 4096, L 32, h = g 32, e 128, f 11008, V 100352, untied.  Layer:
	 * 4·4096² + 3·4096·11008 + post norms 2·4096 + q_norm 4096 + k_norm
	 * 4096.  Model card: "7B". */
	const uint64_t layer = 4ull * 4096 * 4096 + 3ull * 4096 * 11008 + 4 * 4096;
	const struct family f = {
		.file = "olmo-2-7b",
		.params = 2ull * 100352 * 4096 + 32 * layer + 4096,
		.non_embedding = 32 * layer + 4096,
		.W = 32ull * (4ull * 4096 * 4096 + 3ull * 4096 * 11008) + 4096ull * 100352,
		.A = 32ull * 2 * 32 * 128,
		.kv = 2ull * 32 * 32 * 128,
		.billions = 7,
		.decimals = 0,
	};
	check_family(&f);
}

/* Llama 3.1: rope_scaling llama3, Llama 3's shapes; model card: "8B". */
static void test_llama31(void)
{
	const uint64_t layer =
	    2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 14336 + 2 * 4096;
	const struct family f = {
		.file = "llama-3.1-8b",
		.params = 2ull * 128256 * 4096 + 32 * layer + 4096,
		.non_embedding = 32 * layer + 4096,
		.W = 32ull * (2ull * 4096 * 4096 + 2ull * 4096 * 1024 + 3ull * 4096 * 14336) +
		     4096ull * 128256,
		.A = 32ull * 2 * 32 * 128,
		.kv = 2ull * 32 * 8 * 128,
		.billions = 8,
		.decimals = 0,
	};
	check_family(&f);
}

/* ------------------------------------------------------------ the traits */

/* The index of role in the operator list, or -1. */
static int find_op(const struct cim_op *ops, size_t n, enum cim_op_role role)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].role == role)
			return (int)i;
	return -1;
}

static size_t count_op(const struct cim_op *ops, size_t n, enum cim_op_role role)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ops[i].role == role;
	return c;
}

static void test_traits_ops(void)
{
	struct cim_model_spec m;
	struct cim_err err;
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t n;

	/* GPT-J: the FFN's up projection is listed with q, k and v, its down
	 * projection with o_proj; one norm; RoPE on 64 channels of each of the
	 * 16 + 16 heads; the head has 50400 biases. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gpt-j-6b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_TRUE(m.parallel_block);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_FFN_UP), find_op(ops, n, CIM_ROLE_V_PROJ) + 1);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_FFN_DOWN), find_op(ops, n, CIM_ROLE_O_PROJ) + 1);
	CU_ASSERT_EQUAL(count_op(ops, n, CIM_ROLE_ATTN_NORM) + count_op(ops, n, CIM_ROLE_FFN_NORM),
			1);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_ROPE)].elems, 32ull * 64);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_LM_HEAD)].params, 50400ull * 4096 + 50400);
	CU_ASSERT_FALSE(ops[find_op(ops, n, CIM_ROLE_Q_PROJ)].bias);
	CU_ASSERT_TRUE(ops[find_op(ops, n, CIM_ROLE_FFN_UP)].bias);
	/* Pythia: two norms of the same input; rotary_pct 0.25 of 128 = 32. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/pythia-6.9b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_FFN_NORM),
			find_op(ops, n, CIM_ROLE_ATTN_NORM) + 1);
	CIM_ASSERT_EQ_U64(m.rotary_dim, 32);
	/* GPT-NeoX-20B: 0.25 of 96 = 24. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gpt-neox-20b.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.rotary_dim, 24);
	/* BLOOM: no RoPE; an ALiBi bias per head per attended position; a
	 * norm after the embedding. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/bloom-7b1.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_ROPE), -1);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_ALIBI)].elems, 32);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_EMBED_NORM), 1);
	/* Gemma 2: four norms, scores capped (one tanh per head per position),
	 * logits capped, embedding scaled. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gemma-2-9b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_NOT_EQUAL(find_op(ops, n, CIM_ROLE_POST_ATTN_NORM), -1);
	CU_ASSERT_NOT_EQUAL(find_op(ops, n, CIM_ROLE_POST_FFN_NORM), -1);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_ATTN_SOFTCAP)].elems, 16);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_LOGIT_SOFTCAP)].elems, 256000);
	CU_ASSERT_NOT_EQUAL(find_op(ops, n, CIM_ROLE_EMBED_SCALE), -1);
	CIM_ASSERT_REL(m.attn_softcap, 50.0, 0);
	CIM_ASSERT_REL(m.logit_softcap, 30.0, 0);
	/* Gemma 3: no caps (null in its file), q and k norms over (4 + 1)·256. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gemma-3-1b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_ATTN_SOFTCAP), -1);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_LOGIT_SOFTCAP), -1);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_QK_NORM)].elems, 5ull * 256);
	/* OLMo 2: no norm before either branch. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/olmo-2-7b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_ATTN_NORM), -1);
	CU_ASSERT_EQUAL(find_op(ops, n, CIM_ROLE_FFN_NORM), -1);
	CIM_ASSERT_EQ_U64(ops[find_op(ops, n, CIM_ROLE_QK_NORM)].params, 2ull * 4096);
	/* Granite: a scale after the embedding, on each branch, on the logits. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/granite-3.0-8b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_EQUAL(count_op(ops, n, CIM_ROLE_RESIDUAL_SCALE), 2);
	CU_ASSERT_NOT_EQUAL(find_op(ops, n, CIM_ROLE_EMBED_SCALE), -1);
	CU_ASSERT_NOT_EQUAL(find_op(ops, n, CIM_ROLE_LOGIT_SCALE), -1);
	/* Qwen2: biases on q, k, v, not on o or the FFN; its window is off
	 * (use_sliding_window false) though sliding_window is given. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/qwen2-7b.json", &m, &err), 0);
	n = cim_model_ops(&m, ops);
	CU_ASSERT_TRUE(ops[find_op(ops, n, CIM_ROLE_K_PROJ)].bias);
	CU_ASSERT_FALSE(ops[find_op(ops, n, CIM_ROLE_O_PROJ)].bias);
	CU_ASSERT_FALSE(ops[find_op(ops, n, CIM_ROLE_FFN_UP)].bias);
	CIM_ASSERT_EQ_U64(m.sliding_window, 0);
	/* Falcon-7B: one KV head, tied head. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/falcon-7b.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.kv_heads, 1);
	CU_ASSERT_TRUE(m.tied_embeddings);
	CU_ASSERT_TRUE(m.parallel_block);
}

/* A tiny Gemma 2: 4 layers, the even ones within a window of 2. */
static const char gemma2_tiny[] =
    "{\"model_type\": \"gemma2\", \"hidden_size\": 8, \"num_hidden_layers\": 4,"
    "\"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 4,"
    "\"intermediate_size\": 16, \"max_position_embeddings\": 64, \"vocab_size\": 10,"
    "\"sliding_window\": 2}";

static void test_windows(void)
{
	struct cim_model_spec m;
	struct cim_err err;
	char text[1024];

	CU_ASSERT_EQUAL_FATAL(load_text("g.json", gemma2_tiny, &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.local_layers, 2);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 0), 2);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 1), 0);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 2), 2);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 3), 0);
	/* KV at context 5: layers 0 and 2 hold 2 positions, 1 and 3 hold 5. */
	CIM_ASSERT_EQ_U64(cim_model_kv_positions(&m, 0, 4, 5), 2 + 5 + 2 + 5);
	CIM_ASSERT_EQ_U64(cim_model_kv_positions(&m, 1, 2, 5), 5 + 2);
	/* Weights per token: q 8·8, k and v 8·4 each, o 8·8, FFN 3·8·16 = 576
	 * a layer, 4 layers, head 8·10: W = 2384.  Attention per position and
	 * layer: 2·2·4 = 16.  Decode at context 5: 16·(2 + 5 + 2 + 5) = 224.
	 * Prefill of 4 tokens: causal positions 1+2+3+4 = 10 in full layers,
	 * 1+2+2+2 = 7 in windowed ones: 4·2384 + 16·(10 + 7 + 10 + 7). */
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 0), 2384);
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 5), 2384 + 224);
	CIM_ASSERT_EQ_U64(cim_model_prefill_macs(&m, 4), 4 * 2384 + 16 * 34);
	/* layer_types decides instead, as transformers writes it. */
	snprintf(text, sizeof(text),
		 "%.*s, \"layer_types\": [\"full_attention\", \"sliding_attention\", "
		 "\"sliding_attention\", \"sliding_attention\"]}",
		 (int)strlen(gemma2_tiny) - 1, gemma2_tiny);
	CU_ASSERT_EQUAL_FATAL(load_text("g.json", text, &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.local_layers, 3);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 0), 0);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 3), 2);
	/* Gemma 3's pattern 6 over 26 layers: layers 5, 11, 17, 23 in full. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gemma-3-1b.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.local_layers, 22);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 5), 0);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 4), 512);
	CIM_ASSERT_EQ_U64(cim_model_kv_positions(&m, 0, 26, 4096), 22ull * 512 + 4 * 4096);
	/* Qwen2 with use_sliding_window: layers from max_window_layers on. */
	CU_ASSERT_EQUAL_FATAL(
	    load_text("q.json",
		      "{\"model_type\": \"qwen2\", \"hidden_size\": 8, \"num_hidden_layers\": 4,"
		      "\"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
		      "\"intermediate_size\": 16, \"max_position_embeddings\": 64,"
		      "\"vocab_size\": 10, \"use_sliding_window\": true, \"sliding_window\": 3,"
		      "\"max_window_layers\": 3}",
		      &m, &err),
	    0);
	CIM_ASSERT_EQ_U64(m.local_layers, 1);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 2), 0);
	CIM_ASSERT_EQ_U64(cim_model_window(&m, 3), 3);
	/* Phi-3-mini: every layer within 2047. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/phi-3-mini-4k.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.local_layers, 32);
	CIM_ASSERT_EQ_U64(m.sliding_window, 2047);
}

/* ------------------------------------------------- what is refused, why */

struct refusal {
	const char *text;
	const char *message;
};

static const char llama_keys[] =
    "\"hidden_size\": 8, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
    "\"intermediate_size\": 16, \"max_position_embeddings\": 64, \"vocab_size\": 10";

static void test_refused(void)
{
	static const struct refusal cases[] = {
		/* a kind of layer cimsim has no cost model for */
		{ "\"model_type\": \"gemma2\", \"head_dim\": 4, \"sliding_window\": 2, "
		  "\"layer_types\": [\"full_attention\", \"chunked_attention\"]",
		  "layer_types: item 2 is the string \"chunked_attention\": cimsim models "
		  "\"sliding_attention\"" },
		{ "\"model_type\": \"gemma2\", \"head_dim\": 4, \"sliding_window\": 2, "
		  "\"layer_types\": [\"full_attention\"]",
		  "layer_types: 1 entries for 2 layers; give one per layer" },
		{ "\"model_type\": \"gemma3_text\", \"head_dim\": 4, \"sliding_window_pattern\": 0",
		  "sliding_window_pattern: expected a whole number from 1" },
		/* a window on a family whose attention does not slide */
		{ "\"model_type\": \"llama\", \"sliding_window\": 4",
		  "sliding_window: llama applies no attention window" },
		{ "\"model_type\": \"olmo2\", \"sliding_window\": 4",
		  "sliding_window: olmo2 applies no attention window" },
		/* RoPE on a fraction or a count of a head's channels */
		{ "\"model_type\": \"phi3\", \"partial_rotary_factor\": 1.5",
		  "partial_rotary_factor: expected a number from 0 to 1" },
		{ "\"model_type\": \"gpt_neox\", \"rotary_pct\": 2",
		  "rotary_pct: expected a number from 0 to 1" },
		/* unknown words */
		{ "\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"wavy\", "
		  "\"factor\": 2}",
		  "rope_scaling.rope_type: expected one of default, linear" },
		{ "\"model_type\": \"gemma\", \"hidden_activation\": \"gelu_10\"",
		  "hidden_activation: expected one of gelu_new" },
		/* caps and multipliers are positive numbers */
		{ "\"model_type\": \"gemma2\", \"head_dim\": 4, \"attn_logit_softcapping\": -5",
		  "attn_logit_softcapping: expected a number above zero for attention score cap, "
		  "found -5" },
		{ "\"model_type\": \"granite\", \"embedding_multiplier\": 0",
		  "embedding_multiplier: expected a number above zero for embedding scale, found "
		  "0" },
		/* experts on a dense family */
		{ "\"model_type\": \"qwen2\", \"num_local_experts\": 4",
		  "num_local_experts: 4 experts given for model_type qwen2" },
	};
	char text[1024];
	struct cim_model_spec m;
	struct cim_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "{%s, %s}", llama_keys, cases[i].text);
		CU_ASSERT_EQUAL(load_text("m.json", text, &m, &err), -1);
		CIM_ASSERT_HAS(err.msg, cases[i].message);
	}
	/* Families with their own key names. */
	CU_ASSERT_EQUAL(load_text("j.json",
				  "{\"model_type\": \"gptj\", \"n_embd\": 8, \"n_layer\": 1, "
				  "\"n_head\": 2, \"n_positions\": 8, \"vocab_size\": 10, "
				  "\"rotary_dim\": 3}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "j.json:1: rotary_dim: 3 channels of a 4-wide head: RoPE rotates "
				"pairs");
	/* rotary_dim: null rotates whole heads (GPTJConfig); absent, 64. */
	CU_ASSERT_EQUAL_FATAL(
	    load_text("j.json",
		      "{\"model_type\": \"gptj\", \"n_embd\": 512, \"n_layer\": 1, "
		      "\"n_head\": 4, \"n_positions\": 8, \"vocab_size\": 10, "
		      "\"rotary_dim\": null}",
		      &m, &err),
	    0);
	CIM_ASSERT_EQ_U64(m.rotary_dim, 128);
	CU_ASSERT_EQUAL_FATAL(
	    load_text("j.json",
		      "{\"model_type\": \"gptj\", \"n_embd\": 512, \"n_layer\": 1, "
		      "\"n_head\": 4, \"n_positions\": 8, \"vocab_size\": 10}",
		      &m, &err),
	    0);
	CIM_ASSERT_EQ_U64(m.rotary_dim, 64);
	CU_ASSERT_EQUAL(load_text("f.json",
				  "{\"model_type\": \"falcon\", \"hidden_size\": 8, "
				  "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
				  "\"vocab_size\": 10, \"new_decoder_architecture\": true, "
				  "\"num_ln_in_parallel_attn\": 3}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "num_ln_in_parallel_attn: 3 norms: a parallel block has one norm");
	CU_ASSERT_EQUAL(load_text("f.json",
				  "{\"model_type\": \"falcon\", \"hidden_size\": 8, "
				  "\"num_attention_heads\": 2, \"vocab_size\": 10}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "num_hidden_layers is missing: falcon needs num_hidden_layers");
}

/*
 * Qwen1.5-MoE-A2.7B (configs/models/qwen1.5-moe-a2.7b.json, the Hugging
 * Face config, model_type qwen2_moe): 24 layers of width 2048, 16 heads,
 * 60 routed experts of FFN 1408 (4 a token), a shared expert of FFN 5632
 * scaled by σ(x · w_g), q/k/v biases, untied embeddings of 151,936.
 * - attention 24 · (4 · 2048² + 3 · 2048) = 402,800,640;
 * - routed experts 24 · 60 · 3 · 2048 · 1408 = 12,457,082,880;
 * - the shared expert 24 · (3 · 2048 · 5632 + 2048) = 830,521,344;
 * - router 24 · 2048 · 60 = 2,949,120; embedding and head 151,936 · 2048 =
 *   311,164,928 each; norms 24 · 2 · 2048 + 2048 = 100,352;
 * 14,315,784,192 in all ("14.3B", the model card); active, with 4 of 60
 * routed experts: 402,800,640 + 830,472,192 + 830,521,344 + 2,949,120 +
 * 2 · 311,164,928 + 100,352 = 2,689,173,504 ("2.7B activated").  Dense
 * layers between sparse ones are refused.
 */
static void test_qwen_moe(void)
{
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/qwen1.5-moe-a2.7b.json", &m, &err), 0);
	CU_ASSERT_EQUAL(m.arch, CIM_ARCH_QWEN2_MOE);
	CIM_ASSERT_EQ_U64(m.experts, 60);
	CIM_ASSERT_EQ_U64(m.experts_per_token, 4);
	CIM_ASSERT_EQ_U64(m.ffn, 1408);
	CIM_ASSERT_EQ_U64(m.shared_ffn, 5632);
	CU_ASSERT(m.shared_gate && m.bias_qkv && !m.bias_o);
	cim_model_stats(&m, &s);
	CIM_ASSERT_EQ_U64(s.params_attention, 402800640ull);
	CIM_ASSERT_EQ_U64(s.params_ffn, 12457082880ull);
	CIM_ASSERT_EQ_U64(s.params_shared, 830521344ull);
	CIM_ASSERT_EQ_U64(s.params_router, 2949120ull);
	CIM_ASSERT_EQ_U64(s.params, 14315784192ull);
	CIM_ASSERT_EQ_U64(s.params_active, 2689173504ull);
	CU_ASSERT_EQUAL(load_text("q.json",
				  "{\"model_type\": \"qwen2_moe\", \"hidden_size\": 64, "
				  "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
				  "\"intermediate_size\": 128, \"vocab_size\": 10, "
				  "\"num_experts\": 4, \"num_experts_per_tok\": 2, "
				  "\"moe_intermediate_size\": 32, \"decoder_sparse_step\": 2, "
				  "\"max_position_embeddings\": 64}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "decoder_sparse_step: dense layers between the ones with experts");
}

/*
 * DeepSeek-V2-Lite (configs/models/deepseek-v2-lite.json, the Hugging Face
 * config, model_type deepseek_v2): 27 layers of width 2048, 16 heads of
 * q/k 128 + 64 RoPE channels and v 128, a KV latent of 512, no query
 * latent; layer 0 dense with FFN 10,944, layers 1–26 with 64 routed experts
 * of FFN 1408 (6 a token) and 2 shared ones (2816 together); untied
 * embeddings of 102,400.
 * - attention a layer: q 2048 · 16 · 192 = 6,291,456; kv_a 2048 · 576 =
 *   1,179,648; the latent's up-projection 512 · 16 · (128 + 128) =
 *   2,097,152 (W_UK and W_UV); o 2048 · 2048 = 4,194,304: 13,762,560,
 *   27 layers 371,589,120;
 * - the dense FFN 3 · 2048 · 10,944 = 67,239,936; routed experts
 *   26 · 64 · 3 · 2048 · 1408 = 14,394,851,328; FFN 14,462,091,264;
 * - shared 26 · 3 · 2048 · 2816 = 449,839,104; router 26 · 2048 · 64 =
 *   3,407,872; embedding and head 102,400 · 2048 = 209,715,200 each; norms
 *   27 · (2 · 2048 + 512) + 2048 = 126,464;
 * 15,706,484,224 in all ("15.7B", DeepSeek-V2's paper and model card);
 * active, 6 of 64 routed: 15,706,484,224 − 26 · 58 · 3 · 2048 · 1408 =
 * 2,661,150,208, of which 209,715,200 the input embedding
 * (2,451,435,008 without it, the card's "2.4B activated").
 * KV per token: 27 layers · (512 + 64) = 15,552 values, 31,104 bytes at
 * 16 bits, against 27 · 2 · 16 · 128 = 110,592 values of multi-head
 * attention with the same heads.
 */
static void test_deepseek(void)
{
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/deepseek-v2-lite.json", &m, &err), 0);
	CU_ASSERT_EQUAL(m.arch, CIM_ARCH_DEEPSEEK_V2);
	CIM_ASSERT_EQ_U64(m.kv_lora, 512);
	CIM_ASSERT_EQ_U64(m.q_lora, 0);
	CIM_ASSERT_EQ_U64(m.head_dim, 192);
	CIM_ASSERT_EQ_U64(m.rotary_dim, 64);
	CIM_ASSERT_EQ_U64(m.v_dim, 128);
	CIM_ASSERT_EQ_U64(m.kv_heads, 1);
	CIM_ASSERT_EQ_U64(m.dense_layers, 1);
	CIM_ASSERT_EQ_U64(m.dense_ffn, 10944);
	CIM_ASSERT_EQ_U64(m.experts, 64);
	CIM_ASSERT_EQ_U64(m.experts_per_token, 6);
	CIM_ASSERT_EQ_U64(m.ffn, 1408);
	CIM_ASSERT_EQ_U64(m.shared_ffn, 2816);
	CU_ASSERT(!m.shared_gate && !m.bias_qkv && !m.tied_embeddings);
	CU_ASSERT(cim_model_layer_dense(&m, 0) && !cim_model_layer_dense(&m, 1));
	cim_model_stats(&m, &s);
	CIM_ASSERT_EQ_U64(s.params_attention, 371589120ull);
	CIM_ASSERT_EQ_U64(s.params_ffn, 14462091264ull);
	CIM_ASSERT_EQ_U64(s.params_routed, 14394851328ull);
	CIM_ASSERT_EQ_U64(s.params_shared, 449839104ull);
	CIM_ASSERT_EQ_U64(s.params_router, 3407872ull);
	CIM_ASSERT_EQ_U64(s.params_norm, 126464ull);
	CIM_ASSERT_EQ_U64(s.params, 15706484224ull);
	CIM_ASSERT_EQ_U64(s.params_active, 2661150208ull);
	CIM_ASSERT_EQ_U64(s.params_active - s.params_embedding, 2451435008ull);
	CIM_ASSERT_EQ_U64(s.kv_elems_per_token, 15552);
	/* DeepSeek-V3 (configs/models/deepseek-v3.json): a query latent of
	 * 1536, 3 dense layers of FFN 18,432, 256 routed experts of 2048 (8 a
	 * token) and one shared; 671,026,404,352 parameters without the
	 * multi-token-prediction module (the card: 671B, 37B activated), and
	 * 37,552,282,624 a token:
	 * - attention a layer: q_a 7168 · 1536 + q_b 1536 · 128 · 192 +
	 *   kv_a 7168 · 576 + 512 · 128 · 256 + o 16384 · 7168 =
	 *   11,010,048 + 37,748,736 + 4,128,768 + 16,777,216 + 117,440,512 =
	 *   187,105,280, 61 layers 11,413,422,080;
	 * - the dense FFN 3 · 3 · 7168 · 18,432 = 1,189,085,184; routed
	 *   58 · 256 · 3 · 7168 · 2048 = 653,908,770,816;
	 * - shared 58 · 3 · 7168 · 2048 = 2,554,331,136; router 58 · 7168 ·
	 *   256 = 106,430,464; embedding and head 129,280 · 7168 =
	 *   926,679,040 each; norms 61 · (2 · 7168 + 1536 + 512) + 7168 =
	 *   1,006,592;
	 * active: all but 248 of 256 routed experts, 58 · 248 · 3 · 7168 ·
	 * 2048 = 633,474,121,728 less. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/deepseek-v3.json", &m, &err), 0);
	CU_ASSERT_EQUAL(m.arch, CIM_ARCH_DEEPSEEK_V3);
	CIM_ASSERT_EQ_U64(m.q_lora, 1536);
	CIM_ASSERT_EQ_U64(m.dense_layers, 3);
	cim_model_stats(&m, &s);
	CIM_ASSERT_EQ_U64(s.params_attention, 11413422080ull);
	CIM_ASSERT_EQ_U64(s.params_routed, 653908770816ull);
	CIM_ASSERT_EQ_U64(s.params_ffn, 653908770816ull + 1189085184ull);
	CIM_ASSERT_EQ_U64(s.params_shared, 2554331136ull);
	CIM_ASSERT_EQ_U64(s.params_router, 106430464ull);
	CIM_ASSERT_EQ_U64(s.params_norm, 1006592ull);
	CIM_ASSERT_EQ_U64(s.params, 671026404352ull);
	CIM_ASSERT_EQ_U64(s.params_active, 671026404352ull - 633474121728ull);
	CIM_ASSERT_EQ_U64(s.params_active, 37552282624ull);
	CIM_ASSERT_EQ_U64(s.kv_elems_per_token, 61 * 576);

	/* shared experts summing past the widest FFN modelled (2^22) */
	CU_ASSERT_EQUAL(load_text("w.json",
				  "{\"model_type\": \"deepseek_v2\", \"hidden_size\": 64, "
				  "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
				  "\"intermediate_size\": 128, \"vocab_size\": 10, "
				  "\"max_position_embeddings\": 64, \"kv_lora_rank\": 16, "
				  "\"qk_nope_head_dim\": 16, \"qk_rope_head_dim\": 8, "
				  "\"v_head_dim\": 16, \"n_routed_experts\": 4, "
				  "\"num_experts_per_tok\": 2, \"n_shared_experts\": 4096, "
				  "\"moe_intermediate_size\": 4194304}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "n_shared_experts: 4096 shared experts of 4194304 make an FFN");

	/* refusals: dense layers between the sparse ones; more dense layers
	 * than layers */
	static const struct {
		const char *set, *expect;
	} bad[] = {
		{ "\"moe_layer_freq\": 2", "moe_layer_freq: dense layers between the ones" },
		{ "\"first_k_dense_replace\": 3", "more dense layers than the model has" },
		{ "\"qk_rope_head_dim\": 15", "qk_rope_head_dim: RoPE rotates pairs" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "{\"model_type\": \"deepseek_v2\", \"hidden_size\": 64, "
			 "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
			 "\"intermediate_size\": 128, \"vocab_size\": 10, "
			 "\"max_position_embeddings\": 64, \"kv_lora_rank\": 16, "
			 "\"qk_nope_head_dim\": 16, \"v_head_dim\": 16, "
			 "\"n_routed_experts\": 4, \"num_experts_per_tok\": 2, "
			 "\"moe_intermediate_size\": 32, %s%s}",
			 bad[i].set, strstr(bad[i].set, "rope") ? "" : ", \"qk_rope_head_dim\": 8");
		CU_ASSERT_EQUAL(load_text("d.json", text, &m, &err), -1);
		CIM_ASSERT_HAS(err.msg, bad[i].expect);
	}
}

static void test_unknown_type(void)
{
	struct cim_model_spec m;
	struct cim_err err;

	/* A Llama-like file under a family cimsim does not model (InternLM2's
	 * keys): Llama's required keys are all there, and the message names
	 * the keys Llama does not read; no guess by spelling. */
	CU_ASSERT_EQUAL(load_text("i.json",
				  "{\"model_type\": \"internlm2\", \"hidden_size\": 64, "
				  "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
				  "\"intermediate_size\": 128, \"vocab_size\": 10, "
				  "\"max_position_embeddings\": 64, \"num_key_value_heads\": 2, "
				  "\"rms_norm_eps\": 1e-6, \"rope_theta\": 10000, \"bias\": false}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg,
		       "model_type: \"internlm2\" is not an architecture cimsim models; "
		       "it models gpt2, opt, llama, mistral, mixtral, qwen2, qwen3, gemma, "
		       "gemma2, gemma3_text, phi3, falcon, gptj, gpt_neox, bloom, granite, "
		       "olmo2, qwen2_moe, deepseek_v2, deepseek_v3");
	CIM_ASSERT_HAS(err.msg, "its keys hold every key llama requires");
	CIM_ASSERT_HAS(err.msg, "that family: bias");
	CU_ASSERT_PTR_NULL(strstr(err.msg, "did you mean"));
	/* A GPT-2-like file under a new name: told it matches gpt2's keys and
	 * what it has beyond them. */
	CU_ASSERT_EQUAL(
	    load_text("c.json",
		      "{\"model_type\": \"gpt_bigcode\", \"n_embd\": 8, \"n_layer\": 1, "
		      "\"n_head\": 2, \"n_positions\": 8, \"vocab_size\": 10, "
		      "\"multi_query\": true, \"architectures\": [\"GPTBigCodeForCausalLM\"]}",
		      &m, &err),
	    -1);
	CIM_ASSERT_HAS(err.msg, "its keys hold every key gpt2 requires");
	CIM_ASSERT_HAS(err.msg, "keys it has that cimsim does not read for that family: "
				"multi_query.");
	/* Gemma 3's vision-language config: its text decoder is the model. */
	CU_ASSERT_EQUAL(load_text("g.json",
				  "{\"model_type\": \"gemma3\", \"text_config\": {\"model_type\": "
				  "\"gemma3_text\"}}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "it holds a text_config: give that decoder's keys as the model");
	/* architectures naming a known class is said. */
	CU_ASSERT_EQUAL(load_text("c.json",
				  "{\"model_type\": \"llama2\", \"architectures\": "
				  "[\"LlamaForCausalLM\"]}",
				  &m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "architectures names LlamaForCausalLM, the class of model_type "
				"llama");
}

/* ------------------------------------------------------------- the names */

static void test_names(void)
{
	struct cim_files *files = cim_files_create(false);
	struct cim_model_spec m;
	struct cim_err err;
	const char *gpt2 =
	    "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 1, \"n_head\": 2, "
	    "\"n_positions\": 8, \"vocab_size\": 10";
	char text[512];

	/* A name is the file's whole stem, dots and all. */
	snprintf(text, sizeof(text), "%s}", gpt2);
	cim_files_put(files, "models/opt-1.3b.json", text, strlen(text));
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "models/opt-1.3b.json", &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "opt-1.3b");
	cim_files_put(files, "llama-3.1-8b.yaml", text, strlen(text));
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "llama-3.1-8b.yaml", &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "llama-3.1-8b");
	/* config.json as downloaded: its _name_or_path, else its folder. */
	snprintf(text, sizeof(text), "%s, \"_name_or_path\": \"Qwen/Qwen2.5-7B\"}", gpt2);
	cim_files_put(files, "dl/a/config.json", text, strlen(text));
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "dl/a/config.json", &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "Qwen/Qwen2.5-7B");
	snprintf(text, sizeof(text), "%s}", gpt2);
	cim_files_put(files, "dl/gemma-2-9b/config.json", text, strlen(text));
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "dl/gemma-2-9b/config.json", &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "gemma-2-9b");
	/* a name key wins */
	snprintf(text, sizeof(text), "%s, \"name\": \"mine\"}", gpt2);
	cim_files_put(files, "dl/b/config.json", text, strlen(text));
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "dl/b/config.json", &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "mine");
	cim_files_destroy(files);
}

static const struct cim_test tests[] = {
	{ "Qwen2 and Qwen2.5: counts by hand and published", test_qwen2 },
	{ "Qwen3: counts by hand and published", test_qwen3 },
	{ "Gemma, Gemma 2, Gemma 3: counts by hand and published", test_gemma },
	{ "Phi-3 and Phi-3.5: counts by hand and published", test_phi3 },
	{ "Falcon: counts by hand and published", test_falcon },
	{ "GPT-J: counts by hand and published", test_gptj },
	{ "GPT-NeoX and Pythia: counts by hand and published", test_neox },
	{ "BLOOM: counts by hand and published", test_bloom },
	{ "Granite: counts by hand and published", test_granite },
	{ "OLMo 2: counts by hand and published", test_olmo2 },
	{ "Llama 3.1: counts by hand and published", test_llama31 },
	{ "the traits in the operator list", test_traits_ops },
	{ "sliding windows per layer by hand", test_windows },
	{ "values cimsim cannot model are refused with the reason", test_refused },
	{ "an unknown model_type: the families and the keys that differ", test_unknown_type },
	{ "Qwen1.5-MoE-A2.7B: a shared expert, counts against the model card", test_qwen_moe },
	{ "DeepSeek-V2-Lite: latent attention, a dense first layer, counts against the card",
	  test_deepseek },
	{ "names taken whole from the file, _name_or_path or the folder", test_names },
};

CIM_TEST_MAIN("families", tests)
