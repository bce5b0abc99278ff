/*
 * test_spec.c — the spec part: models against published parameter counts,
 * MACs against hand calculations, and every class of bad input against the
 * message it must give (file, line, key, expected, found).
 *
 * Runs from the project root (CTest sets the working directory), so the
 * presets in configs/ are read as users read them.
 */
#include <math.h>
#include <stdlib.h>

#include "spec.h"
#include "test.h"

/* ------------------------------------------------------------ helpers */

static int load_model(const char *path, struct cim_model_spec *m, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(true);
	int rc = cim_spec_load_model(files, path, m, err);

	cim_files_destroy(files);
	return rc;
}

static uint64_t preset_params(const char *name)
{
	char path[256];
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	snprintf(path, sizeof(path), "configs/models/%s.json", name);
	if (load_model(path, &m, &err)) {
		fprintf(stderr, "\n  %s\n", err.msg);
		CU_FAIL("preset did not load");
		return 0;
	}
	cim_model_stats(&m, &s);
	return s.params;
}

/* Loads an experiment written in memory at tests/data/mem.yaml (so its
 * relative paths reach configs/ as ../../configs/...). */
static int load_exp_text(const char *text, const char *const *sets, size_t nsets,
			 struct cim_experiment **e, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(true);
	int rc;

	cim_files_put(files, "tests/data/mem.yaml", text, strlen(text));
	rc = cim_spec_load_experiment(files, "tests/data/mem.yaml", sets, nsets, e, err);
	cim_files_destroy(files);
	return rc;
}

static int load_model_text(const char *text, struct cim_model_spec *m, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(false);
	int rc;

	cim_files_put(files, "m.json", text, strlen(text));
	rc = cim_spec_load_model(files, "m.json", m, err);
	cim_files_destroy(files);
	return rc;
}

#define PARTS                                                                                      \
	"model: ../../configs/models/gpt2.json\n"                                                  \
	"chip: ../../configs/chips/llm-class.yaml\n"                                               \
	"interconnect: ../../configs/interconnects/ucie-ring.yaml\n"

/* An experiment whose workload.batch line (line 5) reads `batch: V`. */
static void expect_batch_error(const char *v, const char *needle)
{
	char text[512];
	struct cim_experiment *e = NULL;
	struct cim_err err;

	snprintf(text, sizeof(text),
		 PARTS "workload:\n  batch: %s\n  prompt_tokens: 16\n  generate_tokens: 4\n", v);
	CU_ASSERT_EQUAL(load_exp_text(text, NULL, 0, &e, &err), -1);
	CU_ASSERT_PTR_NULL(e);
	CIM_ASSERT_HAS(err.msg, "tests/data/mem.yaml:5: workload.batch: ");
	CIM_ASSERT_HAS(err.msg, needle);
	free(e);
}

/* --------------------------------------------- published parameter counts */

/*
 * Exact totals derived by hand from each config.json (arithmetic in
 * docs/model-presets.md), each equal to the count the model's publishers
 * report when rounded as they round it.
 */
static void test_params_gpt2_opt(void)
{
	/* GPT-2: wte 50257·768 + wpe 1024·768 + 12·(2 LN 2·768 + qkv 768·2304+2304
	 * + proj 768·768+768 + fc 768·3072+3072 + proj 3072·768+768) + ln_f 2·768
	 * = 124,439,808; "124M" on the HF model card. */
	CIM_ASSERT_EQ_U64(preset_params("gpt2"), 124439808ull);
	/* GPT-2 XL: 1.5B (HF card; 1542M in Radford et al. 2019 Table 2). */
	CIM_ASSERT_EQ_U64(preset_params("gpt2-xl"), 1557611200ull);
	/* OPT (Zhang et al. 2022, Table 1: 1.3B, 6.7B, 13B, 30B, 66B); positions
	 * table has max_position_embeddings + 2 rows; LM head tied. */
	CIM_ASSERT_EQ_U64(preset_params("opt-1.3b"), 1315758080ull);
	CIM_ASSERT_EQ_U64(preset_params("opt-6.7b"), 6658473984ull);
	CIM_ASSERT_EQ_U64(preset_params("opt-13b"), 12853473280ull);
	CIM_ASSERT_EQ_U64(preset_params("opt-30b"), 29974540288ull);
	CIM_ASSERT_EQ_U64(preset_params("opt-66b"), 65719701504ull);
}

static void test_params_llama(void)
{
	/* Llama-2-7B: 2·32000·4096 + 32·(4·4096² + 3·4096·11008 + 2·4096) + 4096
	 * = 6,738,415,616 ("7B", Touvron et al. 2023 Table 1; 6.74B). */
	CIM_ASSERT_EQ_U64(preset_params("llama-2-7b"), 6738415616ull);
	CIM_ASSERT_EQ_U64(preset_params("llama-2-13b"), 13015864320ull);
	/* Llama-2-70B, GQA with 8 KV heads: 2·32000·8192 + 80·(2·8192² +
	 * 2·8192·1024 + 3·8192·28672 + 2·8192) + 8192 = 68,976,648,192 (69.0B). */
	CIM_ASSERT_EQ_U64(preset_params("llama-2-70b"), 68976648192ull);
	/* Llama 3 model card: 8B and 70B. */
	CIM_ASSERT_EQ_U64(preset_params("llama-3-8b"), 8030261248ull);
	CIM_ASSERT_EQ_U64(preset_params("llama-3-70b"), 70553706496ull);
	/* Mistral 7B: 7.24B (the blog's "7.3B" rounds up). */
	CIM_ASSERT_EQ_U64(preset_params("mistral-7b"), 7241732096ull);
	/* TinyLlama (Zhang et al. 2024): 1.1B. */
	CIM_ASSERT_EQ_U64(preset_params("tinyllama-1.1b"), 1100048384ull);
}

static void test_params_mixtral(void)
{
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/mixtral-8x7b.json", &m, &err), 0);
	cim_model_stats(&m, &s);
	/* 2·32000·4096 + 32·(2·4096² + 2·4096·1024 + 8·3·4096·14336 + 4096·8
	 * + 2·4096) + 4096 = 46,702,792,704 ("46.7B total", Mistral AI). */
	CIM_ASSERT_EQ_U64(s.params, 46702792704ull);
	/* Active: minus 6 unused experts of 3·4096·14336 in each of 32 layers:
	 * 46,702,792,704 − 32·6·176,160,768 = 12,879,925,248 ("12.9B"). */
	CIM_ASSERT_EQ_U64(s.params_active, 12879925248ull);
	CIM_ASSERT_EQ_U64(s.params_router, 32ull * 4096 * 8);
	CIM_ASSERT_EQ_U64(m.kv_heads, 8);
}

static void test_hf_variants(void)
{
	struct cim_model_spec m;
	struct cim_err err;

	/* Llama 3.1 with rope_scaling {rope_type: llama3, factor: 8.0}. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/llama-3.1-8b.json", &m, &err), 0);
	CIM_ASSERT_REL(m.rope_factor, 8.0, 0);
	CIM_ASSERT_REL(m.rope_theta, 500000.0, 0);
	CIM_ASSERT_EQ_U64(m.max_positions, 131072);
	/* GPT-2's file has no n_inner: the FFN is 4·n_embd. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/gpt2.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.ffn, 4 * 768);
	CU_ASSERT_TRUE(m.tied_embeddings);
	/* Mistral keeps a 4096-token sliding window. */
	CU_ASSERT_EQUAL_FATAL(load_model("configs/models/mistral-7b.json", &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.sliding_window, 4096);
	/* A null value for an optional key means absent; unknown keys pass. */
	CU_ASSERT_EQUAL(load_model_text("{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 1,"
					"\"n_head\": 2, \"n_inner\": null, \"n_positions\": 4,"
					"\"vocab_size\": 10, \"foo\": {\"bar\": [1]}}",
					&m, &err),
			0);
	CIM_ASSERT_EQ_U64(m.ffn, 32);
}

/* ------------------------------------------------------------- the MACs */

/* A tiny Llama-style model small enough to count by hand. */
static const char tiny[] = "{\"model_type\": \"llama\", \"hidden_size\": 8,"
			   "\"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
			   "\"num_key_value_heads\": 1, \"intermediate_size\": 16,"
			   "\"max_position_embeddings\": 64, \"vocab_size\": 10}";

static void test_macs_tiny(void)
{
	struct cim_model_spec m;
	struct cim_model_stats s;
	struct cim_err err;

	CU_ASSERT_EQUAL_FATAL(load_model_text(tiny, &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.head_dim, 4);
	cim_model_stats(&m, &s);
	/* Per layer: q 8·8 + k 8·4 + v 8·4 + o 8·8 = 192; gate, up, down
	 * 3·8·16 = 384; norms 2·8 = 16 → 592.  Two layers 1184, embedding and
	 * head 2·10·8 = 160, final norm 8: 1352. */
	CIM_ASSERT_EQ_U64(s.params, 1352);
	/* KV per token: 2 (K and V) · 2 layers · 1 head · 4 = 16 values. */
	CIM_ASSERT_EQ_U64(s.kv_elems_per_token, 16);
	/* Decode at context 5: weight MACs 2·(192 + 384) + head 80 = 1232;
	 * attention 2 layers · (q·k 8 + p·v 8) · 5 positions = 160. */
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 5), 1232 + 160);
	/* Prefill of 3 tokens: 3·1232 + 2·16·(1 + 2 + 3) = 3696 + 192. */
	CIM_ASSERT_EQ_U64(cim_model_prefill_macs(&m, 3), 3696 + 192);
}

static void test_macs_window(void)
{
	struct cim_model_spec m;
	struct cim_err err;
	char text[512];

	/* Mistral: Llama's keys, attention within sliding_window. */
	snprintf(text, sizeof(text), "{\"model_type\": \"mistral\", %.*s, \"sliding_window\": 2}",
		 (int)(strlen(tiny) - 25), tiny + 24);
	CU_ASSERT_EQUAL_FATAL(load_model_text(text, &m, &err), 0);
	/* Token i attends min(i, 2) positions: 1 + 2 + 2 + 2 = 7 for 4 tokens. */
	CIM_ASSERT_EQ_U64(cim_model_prefill_macs(&m, 4), 4 * 1232 + 32 * 7);
	CIM_ASSERT_EQ_U64(cim_model_decode_macs(&m, 100), 1232 + 32 * 2);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_integers(void)
{
	expect_batch_error("4096.5", "expected a whole number from 1 to");
	expect_batch_error("4096.5", "not a fraction");
	expect_batch_error("32abc", "found \"32abc\"");
	expect_batch_error("010", "leading zero");
	expect_batch_error("\"8\"", "in quotes");
	expect_batch_error("-1", "found \"-1\"");
	expect_batch_error("0", "found 0");
	expect_batch_error("99999999999", "found 99999999999");
	expect_batch_error("[1, 2]", "found a list");
	expect_batch_error("", "found null");
}

static void test_bad_words(void)
{
	struct cim_experiment *e = NULL;
	struct cim_err err;

	/* Unknown key, close to a known one. */
	CU_ASSERT_EQUAL(load_exp_text(PARTS "workload:\n  batch: 4\n  prompt_tokens: 16\n"
					    "  generate_tokens: 4\n  micro_batch: 2\n",
				      NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:8: workload.micro_batch: unknown key");
	CIM_ASSERT_HAS(err.msg, "did you mean 'micro_batches'?");
	/* Unknown key, far from every known one: the keys are listed. */
	CU_ASSERT_EQUAL(load_exp_text(PARTS "colour: blue\nworkload:\n  batch: 4\n"
					    "  prompt_tokens: 16\n  generate_tokens: 4\n",
				      NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:4: colour: unknown key in experiment; the keys are:");
	/* Unknown enum word, with a suggestion. */
	CU_ASSERT_EQUAL(load_exp_text(PARTS
				      "workload:\n  batch: 4\n  prompt_tokens: 16\n"
				      "  generate_tokens: 4\nparallel:\n  strategy: tp-frist\n",
				      NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:9: parallel.strategy: expected one of manual,");
	CIM_ASSERT_HAS(err.msg, "did you mean 'tp-first'?");
	/* Missing required key. */
	CU_ASSERT_EQUAL(
	    load_exp_text(PARTS "workload:\n  batch: 4\n  generate_tokens: 4\n", NULL, 0, &e, &err),
	    -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:5: workload: missing key 'prompt_tokens'");
	/* A missing part. */
	CU_ASSERT_EQUAL(load_exp_text("model: ../../configs/models/gpt2.json\n", NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "missing key 'chip'");
	/* Duplicate key. */
	CU_ASSERT_EQUAL(
	    load_exp_text(PARTS "workload:\n  batch: 4\n  batch: 5\n", NULL, 0, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:6: key 'batch' is given twice");
	CU_ASSERT_PTR_NULL(e);
}

/* Anchors and aliases as YAML defines them, and what the reader refuses. */
static void test_aliases(void)
{
	struct cim_experiment *e;
	struct cim_err err;

	/* An anchor used twice: both parts read the same values. */
	CU_ASSERT_EQUAL_FATAL(load_exp_text(PARTS "workload: &w\n  batch: 4\n  prompt_tokens: 16\n"
						  "  generate_tokens: 4\n"
						  "serving_unused: *w\n",
					    NULL, 0, &e, &err),
			      -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:8: serving_unused: unknown key");
	CU_ASSERT_EQUAL_FATAL(load_exp_text(PARTS "sizes: &n 4\nworkload:\n  batch: *n\n"
						  "  prompt_tokens: 16\n  generate_tokens: *n\n",
					    NULL, 0, &e, &err),
			      -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:4: sizes: unknown key");
	/* An alias of nothing, an alias inside its own anchor, an alias as a
	 * key, a second document. */
	CU_ASSERT_EQUAL(load_exp_text(PARTS "workload: *w\n", NULL, 0, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:4: the alias '*w' names no anchor");
	CU_ASSERT_EQUAL(load_exp_text(PARTS "workload: &w\n  batch: *w\n", NULL, 0, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:5: the alias '*w' names no finished anchor");
	CU_ASSERT_EQUAL(
	    load_exp_text(PARTS "x: &k batch\nworkload:\n  *k : 4\n", NULL, 0, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:6: a key must be a plain word, found the alias '*k'");
	CU_ASSERT_EQUAL(load_exp_text("---\n" PARTS "workload: {}\n---\nx: 1\n", NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "mem.yaml:6: a second YAML document");
	CU_ASSERT_PTR_NULL(e);
}

/* Durations round up to whole picoseconds and stop at CIM_PS_LIMIT. */
static void test_ps_ceil(void)
{
	CIM_ASSERT_EQ_U64(cim_ps_ceil(0), 0);
	CIM_ASSERT_EQ_U64(cim_ps_ceil(1.0), 1);
	CIM_ASSERT_EQ_U64(cim_ps_ceil(1.25), 2);
	CIM_ASSERT_EQ_U64(cim_ps_ceil(4096e6), 4096000000ull); /* 4096 B at 1 MB/s */
	CIM_ASSERT_EQ_U64(cim_ps_ceil(1e30), CIM_PS_LIMIT);    /* was a cast past 2^64 */
	CIM_ASSERT_EQ_U64(cim_ps_ceil(NAN), CIM_PS_LIMIT);
	CIM_ASSERT_EQ_U64(cim_ps_ceil(INFINITY), CIM_PS_LIMIT);
	CIM_ASSERT_EQ_U64(CIM_PS_LIMIT, 4611686018427387904ull); /* 2^62 */
}

static void test_bad_booleans(void)
{
	struct cim_model_spec m;
	struct cim_err err;

	CU_ASSERT_EQUAL(load_model_text("model_type: llama\nhidden_size: 8\nnum_hidden_layers: 1\n"
					"num_attention_heads: 2\nintermediate_size: 16\n"
					"max_position_embeddings: 8\nvocab_size: 10\n"
					"tie_word_embeddings: yes\n",
					&m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "m.json:8: tie_word_embeddings: expected true or false, found "
				"\"yes\"");
}

static void test_bad_model_shapes(void)
{
	struct cim_model_spec m;
	struct cim_err err;

	/* 3 heads do not divide a width of 8. */
	CU_ASSERT_EQUAL(load_model_text("model_type: llama\nhidden_size: 8\nnum_hidden_layers: 1\n"
					"num_attention_heads: 3\nintermediate_size: 16\n"
					"max_position_embeddings: 8\nvocab_size: 10\n",
					&m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "m.json:4: num_attention_heads: 3 heads do not divide "
				"hidden_size 8");
	/* 3 KV heads do not divide 4 heads. */
	CU_ASSERT_EQUAL(load_model_text("model_type: llama\nhidden_size: 8\nnum_hidden_layers: 1\n"
					"num_attention_heads: 4\nnum_key_value_heads: 3\n"
					"intermediate_size: 16\nmax_position_embeddings: 8\n"
					"vocab_size: 10\n",
					&m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "m.json:5: num_key_value_heads: 3 key/value heads do not divide "
				"4 attention heads");
	/* Unsupported model_type. */
	CU_ASSERT_EQUAL(load_model_text("{\"model_type\": \"internlm2\"}", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "m.json:1: model_type: \"internlm2\" is not an architecture cimsim "
				"models; it models gpt2, opt, llama, mistral, mixtral, qwen2");
	/* Zero layers. */
	CU_ASSERT_EQUAL(load_model_text("{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 0,"
					"\"n_head\": 2, \"n_positions\": 4, \"vocab_size\": 10}",
					&m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "n_layer: expected a whole number from 1 to");
	/* A misspelt required key in a HF file: unknown keys pass, so the
	 * message points at the likely typo. */
	CU_ASSERT_EQUAL(load_model_text("{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layers\": 2,"
					"\"n_head\": 2, \"n_positions\": 4, \"vocab_size\": 10}",
					&m, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "'n_layers' is given instead: is it a misspelling of 'n_layer'?");
}

static void test_bad_files(void)
{
	struct cim_model_spec m;
	struct cim_err err;
	struct cim_experiment *e = NULL;

	CU_ASSERT_EQUAL(load_model("tests/data/no-such-file.json", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tests/data/no-such-file.json: cannot open: No such file");
	CU_ASSERT_EQUAL(load_model("tests/data", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tests/data: is a folder");
	CU_ASSERT_EQUAL(load_model_text("", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "m.json: the file is empty");
	CU_ASSERT_EQUAL(load_model_text("# only a comment\n", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "m.json: the file is empty");
	CU_ASSERT_EQUAL(load_model_text("model_type: [gpt2\n", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "m.json:2: not valid YAML or JSON");
	CU_ASSERT_EQUAL(load_model_text("- a\n- b\n", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "m.json:1: expected a mapping of keys at the top, found a list");
	/* Binary garbage: a NUL byte, then bytes that are not UTF-8. */
	{
		struct cim_files *files = cim_files_create(false);
		static const char bin[] = { 'a', ':', 0, (char)0xff, (char)0xfe, 1, 2 };
		cim_files_put(files, "bin", bin, sizeof(bin));
		CU_ASSERT_EQUAL(cim_spec_load_model(files, "bin", &m, &err), -1);
		CIM_ASSERT_HAS(err.msg, "bin: binary data (a NUL byte at offset 2)");
		static const char utf[] = { 'a', ':', ' ', (char)0xff, (char)0xfe, '\n' };
		cim_files_put(files, "utf", utf, sizeof(utf));
		CU_ASSERT_EQUAL(cim_spec_load_model(files, "utf", &m, &err), -1);
		CIM_ASSERT_HAS(err.msg, "utf:1: not valid YAML or JSON");
		cim_files_destroy(files);
	}
	/* An error inside a file the experiment names points into that file. */
	CU_ASSERT_EQUAL(load_exp_text("model: bad/heads-4100.json\n", NULL, 0, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tests/data/bad/heads-4100.json:5: model.num_attention_heads: 32 "
				"heads do not divide hidden_size 4100");
	/* A part naming a missing file: the message names both files. */
	CU_ASSERT_EQUAL(load_exp_text("model: ../../configs/models/nope.json\n", NULL, 0, &e, &err),
			-1);
	CIM_ASSERT_HAS(err.msg, "tests/data/mem.yaml:1: model: tests/data/../../configs/models/"
				"nope.json: cannot open");
}

/* ------------------------------------------------------------ overrides */

static const char good[] = PARTS "workload:\n  batch: 4\n  prompt_tokens: 16\n"
				 "  generate_tokens: 4\nparallel:\n  tp: 2\n  pp: 3\n";

static void test_overrides(void)
{
	struct cim_experiment *e = NULL;
	struct cim_err err;
	const char *sets[] = { "workload.batch=16", "parallel.pp=4", "model.n_layer=6",
			       "workload.seed=7" };

	CU_ASSERT_EQUAL_FATAL(load_exp_text(good, NULL, 0, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->workload.batch, 4);
	CIM_ASSERT_EQ_U64(e->parallel.pp, 3);
	/* Defaults of optional keys (docs/experiments.md). */
	CIM_ASSERT_EQ_U64(e->parallel.dp, 1);
	CIM_ASSERT_EQ_U64(e->workload.kv_bits, 8);
	CIM_ASSERT_EQ_U64(e->model.layers, 12);
	free(e);
	e = NULL;
	/* Any key, including one inside a file the experiment names. */
	CU_ASSERT_EQUAL_FATAL(load_exp_text(good, sets, 4, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->workload.batch, 16);
	CIM_ASSERT_EQ_U64(e->parallel.pp, 4);
	CIM_ASSERT_EQ_U64(e->model.layers, 6);
	CIM_ASSERT_EQ_U64(e->workload.seed, 7);
	free(e);
	e = NULL;
	/* A whole part swapped for another file (relative to the working
	 * directory, as typed). */
	const char *swap[] = { "model=configs/models/llama-2-7b.json" };
	CU_ASSERT_EQUAL_FATAL(load_exp_text(good, swap, 1, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->model.layers, 32);
	free(e);
	e = NULL;
	/* Bad values through --set are refused like bad values in files. */
	const char *bad[] = { "workload.batch=12x" };
	CU_ASSERT_EQUAL(load_exp_text(good, bad, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "command line (--set workload.batch=12x): workload.batch: "
				"expected a whole number");
	const char *unknown[] = { "workload.bach=2" };
	CU_ASSERT_EQUAL(load_exp_text(good, unknown, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "workload.bach: unknown key in workload; did you mean 'batch'?");
	const char *noeq[] = { "workload.batch" };
	CU_ASSERT_EQUAL(load_exp_text(good, noeq, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "--set workload.batch: expected KEY=VALUE");
	const char *through[] = { "workload.batch.x=1" };
	CU_ASSERT_EQUAL(load_exp_text(good, through, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "'workload.batch' is \"4\"");
	CU_ASSERT_PTR_NULL(e);
}

static void test_parallel_checks(void)
{
	struct cim_experiment *e = NULL;
	struct cim_err err;
	const char *sum[] = { "parallel.layers=[4, 4, 5]", "parallel.balance=list" };
	const char *count[] = { "parallel.layers=[6, 6]" };
	const char *ok[] = { "parallel.layers=[4, 4, 4]", "parallel.balance=list" };
	const char *deep[] = { "parallel.pp=13" };
	const char *unused[] = { "parallel.layers=[4, 4, 4]" };
	const char *head[] = { "parallel.pp=4", "parallel.layers=[4, 4, 4, 0]",
			       "parallel.balance=list" };
	const char *empty[] = { "parallel.layers=[4, 0, 8]", "parallel.balance=list" };

	CU_ASSERT_EQUAL(load_exp_text(good, sum, 2, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "parallel.layers: adds up to 13 layers but the model has 12");
	CU_ASSERT_EQUAL(load_exp_text(good, count, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "parallel.layers: lists 2 stages but pp is 3");
	CU_ASSERT_EQUAL(load_exp_text(good, deep, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "parallel.pp: 13 stages for a model of 12 layers");
	/* a list without balance: list would be ignored: refused */
	CU_ASSERT_EQUAL(load_exp_text(good, unused, 1, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "used only with balance: list (balance is cost)");
	/* only the last stage may hold no layer (the LM head alone) */
	CU_ASSERT_EQUAL(load_exp_text(good, empty, 2, &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "parallel.layers[1]");
	CU_ASSERT_EQUAL_FATAL(load_exp_text(good, head, 3, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->parallel.layers[3], 0);
	free(e);
	CU_ASSERT_EQUAL_FATAL(load_exp_text(good, ok, 2, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->parallel.nlayers, 3);
	CIM_ASSERT_EQ_U64(e->parallel.layers[2], 4);
	free(e);
}

/* ------------------------------------------------- the broadcast bundle */

static void test_bundle_roundtrip(void)
{
	struct cim_files *disk = cim_files_create(true), *copy = NULL;
	struct cim_experiment *a = NULL, *b = NULL;
	struct cim_err err;
	char *buf;
	size_t len;
	const char *path = "configs/experiments/llama2-7b-8chips.yaml";

	CU_ASSERT_EQUAL_FATAL(cim_spec_load_experiment(disk, path, NULL, 0, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_files_pack(disk, &buf, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_files_unpack(buf, len, &copy, &err), 0);
	/* The copy never reads the disk, yet loads the same experiment. */
	CU_ASSERT_EQUAL_FATAL(cim_spec_load_experiment(copy, path, NULL, 0, &b, &err), 0);
	CU_ASSERT_EQUAL(memcmp(&a->model, &b->model, sizeof(a->model)), 0);
	CU_ASSERT_EQUAL(memcmp(&a->workload, &b->workload, sizeof(a->workload)), 0);
	CIM_ASSERT_EQ_U64(a->model.layers, 32);
	/* A file the reading rank never sent is an error, not a disk read. */
	struct cim_model_spec m;
	CU_ASSERT_EQUAL(cim_spec_load_model(copy, "configs/models/gpt2.json", &m, &err), -1);
	CIM_ASSERT_HAS(err.msg, "not among the files the reading rank sent");
	/* Corrupt bytes are refused. */
	struct cim_files *bad = NULL;
	CU_ASSERT_EQUAL(cim_files_unpack("\xc1garbage", 8, &bad, &err), -1);
	CU_ASSERT_PTR_NULL(bad);
	free(buf);
	free(a);
	free(b);
	cim_files_destroy(copy);
	cim_files_destroy(disk);
}

/* ------------------------------------------------------------ ranks */

static void test_ranks(void)
{
	static const struct cim_rank_rules rules = {
		.what = "--demo",
		.like = "0,3-5",
		.max_rank = 99,
		.max_ranges = 3,
	};
	struct cim_rank_range v[3];
	struct cim_err err;
	uint32_t n = 0;

	CU_ASSERT_EQUAL_FATAL(cim_spec_parse_ranks("0,3-5", &rules, v, &n, &err), 0);
	CIM_ASSERT_EQ_U64(n, 2);
	CIM_ASSERT_EQ_U64(v[0].lo, 0);
	CIM_ASSERT_EQ_U64(v[0].hi, 0);
	CIM_ASSERT_EQ_U64(v[1].lo, 3);
	CIM_ASSERT_EQ_U64(v[1].hi, 5);
	CU_ASSERT_EQUAL_FATAL(cim_spec_parse_ranks("7", &rules, v, &n, &err), 0);
	CIM_ASSERT_EQ_U64(n, 1);
	CIM_ASSERT_EQ_U64(v[0].lo, 7);
	CIM_ASSERT_EQ_U64(v[0].hi, 7);
	/* 99 is the highest rank of these rules; items as written, repeats kept */
	CU_ASSERT_EQUAL_FATAL(cim_spec_parse_ranks("99,4-4,4", &rules, v, &n, &err), 0);
	CIM_ASSERT_EQ_U64(n, 3);
	CIM_ASSERT_EQ_U64(v[0].lo, 99);
	CIM_ASSERT_EQ_U64(v[2].hi, 4);

	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "2-1", "--demo: range 2-1 goes down (write 1-2); in \"2-1\"" },
		{ "", "--demo: expected ranks like 0,3-5; found nothing" },
		{ "a", "--demo: expected ranks like 0,3-5 (numbers N or ranges A-B" },
		{ "a", "\"a\" is wrong at character 1" },
		{ "01", "\"01\" is wrong at character 1" },
		{ "-3", "\"-3\" is wrong at character 1" },
		{ "+3", "\"+3\" is wrong at character 1" },
		{ "3-", "\"3-\" is wrong at character 3" },
		{ "1,,2", "\"1,,2\" is wrong at character 3" },
		{ "1,", "\"1,\" is wrong at character 3" },
		{ "1 ,2", "\"1 ,2\" is wrong at character 2" },
		{ "0x10", "\"0x10\" is wrong at character 2" },
		{ "100", "--demo: rank 100 is above 99, the highest allowed; in \"100\"" },
		{ "5-100", "rank 100 is above 99" },
		/* 2^64 + 1 would wrap a 64-bit sum; it is still a rank above 99 */
		{ "18446744073709551617", "rank 18446744073709551617 is above 99" },
		{ "1,2,3,4", "--demo: more than 3 ranges in \"1,2,3,4\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v[0].lo = 42;
		n = 42;
		CU_ASSERT_EQUAL(cim_spec_parse_ranks(bad[i].in, &rules, v, &n, &err), -1);
		CIM_ASSERT_HAS(err.msg, bad[i].msg);
		CIM_ASSERT_EQ_U64(n, 42); /* nothing set on failure */
		CIM_ASSERT_EQ_U64(v[0].lo, 42);
	}
	CU_ASSERT_EQUAL(cim_spec_parse_ranks(NULL, &rules, v, &n, &err), -1);
	CIM_ASSERT_HAS(err.msg, "found nothing");
	CU_ASSERT_EQUAL(cim_spec_parse_ranks("x", &rules, v, &n, NULL), -1); /* err may be NULL */
}

static const struct cim_test tests[] = {
	{ "published parameter counts: GPT-2 and OPT", test_params_gpt2_opt },
	{ "published parameter counts: Llama, Mistral, TinyLlama", test_params_llama },
	{ "published parameter counts: Mixtral total and active", test_params_mixtral },
	{ "HF config variants: rope_scaling, absent n_inner, null values", test_hf_variants },
	{ "MACs and KV of a tiny model by hand", test_macs_tiny },
	{ "MACs with a sliding window by hand", test_macs_window },
	{ "bad integers are refused with file, line and key", test_bad_integers },
	{ "unknown keys and words, missing and duplicate keys", test_bad_words },
	{ "anchors and aliases", test_aliases },
	{ "durations saturate at 2^62 ps", test_ps_ceil },
	{ "bad booleans", test_bad_booleans },
	{ "model shapes that cannot be", test_bad_model_shapes },
	{ "missing, empty, binary and malformed files", test_bad_files },
	{ "--set overrides any key and is checked the same", test_overrides },
	{ "parallel.layers and pp against the model", test_parallel_checks },
	{ "the broadcast bundle parses to the same experiment", test_bundle_roundtrip },
	{ "rank lists: 0,3-5 and what is refused", test_ranks },
};

CIM_TEST_MAIN("spec", tests)
