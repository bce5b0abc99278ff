/*
 * model.c — decoder-only transformers read from Hugging Face config.json
 * files (or YAML presets with the same keys), and the operators, parameter
 * counts and MACs derived from them.
 *
 * HF files carry many keys we do not need, so unknown keys are ignored; the
 * keys we use are checked strictly.  The operator list is the one source of
 * the model's shapes: parameter counts, MACs and (later) the chip costs and
 * the partition all come from it.  The formulas are in docs/model.md.
 */
#include <inttypes.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

static const char *const arch_words[] = {
	"gpt2",	 "opt",	    "llama",	   "mistral",	"mixtral",     "qwen2",	      "qwen3",
	"gemma", "gemma2",  "gemma3_text", "phi3",	"falcon",      "gptj",	      "gpt_neox",
	"bloom", "granite", "olmo2",	   "qwen2_moe", "deepseek_v2", "deepseek_v3", NULL
};
_Static_assert(sizeof(arch_words) / sizeof(arch_words[0]) == CIM_ARCH_N + 1,
	       "a model_type word per architecture");

const char *cim_arch_name(enum cim_arch a)
{
	return (unsigned)a < CIM_ARCH_N ? arch_words[a] : "?";
}

/* Activation names in HF configs, and what each is to the cost model. */
static const char *const act_words[] = { "gelu_new",   "gelu", "gelu_fast", "gelu_pytorch_tanh",
					 "quick_gelu", "relu", "silu",	    "swish",
					 NULL };
static const enum cim_act act_kind[] = { CIM_ACT_GELU, CIM_ACT_GELU, CIM_ACT_GELU, CIM_ACT_GELU,
					 CIM_ACT_GELU, CIM_ACT_RELU, CIM_ACT_SILU, CIM_ACT_SILU };

static const char *const rope_words[] = { "default", "linear",	 "dynamic", "llama3",
					  "yarn",    "longrope", "su",	    NULL };

struct rope {
	int type;
	double factor;
};

/* The index of word in act_words: the default activation of a family. */
static int act_index(const char *word)
{
	int i = 0;

	while (act_words[i] && strcmp(act_words[i], word) != 0)
		i++;
	return i;
}

/* layer_types, as transformers writes it: a word per layer. */
struct layer_types {
	uint32_t n;
	uint64_t local[CIM_MODEL_MAX_LAYERS / 64];
};

/* Every key we read from any of the supported model_types. */
struct hf {
	char name[64];
	char type[64];
	uint32_t hidden, layers, heads, kv_heads, head_dim, ffn, vocab, max_pos, proj_dim;
	uint32_t experts, experts_per_tok, window, rotary_dim, max_window_layers, window_pattern;
	uint32_t num_ln;
	uint32_t moe_ffn, shared_ffn, sparse_step; /* Qwen2-MoE */
	uint32_t kv_lora, q_lora, qk_nope, qk_rope, v_head, n_shared, first_dense,
	    moe_freq; /* DeepSeek-V2/V3 */
	bool tie, attention_bias, mlp_bias, enable_bias, bias, use_window, parallel_attn,
	    multi_query, new_arch, alibi, parallel_residual;
	int act, act2;
	double eps, rope_theta, rotary_pct, partial_rotary, attn_softcap, logit_softcap;
	double embed_mult, residual_mult, logits_scaling;
	struct rope rope;
	struct layer_types types;
	bool has_kv_heads, has_head_dim, has_ffn, has_rope, has_proj_dim, has_window,
	    has_rotary_dim, has_types, has_act2, has_attn_softcap, has_logit_softcap, has_num_ln,
	    has_max_pos, has_q_lora;
};

static const struct field rope_fields[] = {
	FENUM("rope_type", struct rope, type, 0, rope_words, "how positions are rescaled"),
	FENUM("type", struct rope, type, 0, rope_words, "how positions are rescaled"),
	FF64("factor", struct rope, factor, FIELD_POSITIVE, 0, 1e6, 0, "context scaling factor"),
};
SCHEMA(rope_schema, "rope_scaling", rope_fields, true);

static const struct field type_fields[] = {
	FSTR("model_type", struct hf, type, FIELD_REQUIRED, "the architecture"),
	FSTR("name", struct hf, name, 0, "a name for reports"),
};
SCHEMA(type_schema, "model", type_fields, true);

static int read_layer_types(const struct tnode *node, const char *path, void *dst,
			    struct cim_err *err)
{
	struct layer_types *t = dst;
	char buf[64];

	memset(t, 0, sizeof(*t));
	if (node->kind != TN_SEQ)
		return spec_errf(err, node, path,
				 "expected a list of \"sliding_attention\" or \"full_attention\", "
				 "one per layer, found %s",
				 tnode_describe(node, buf, sizeof(buf)));
	if (node->n > CIM_MODEL_MAX_LAYERS)
		return spec_errf(err, node, path, "%zu layers; cimsim models at most %u", node->n,
				 CIM_MODEL_MAX_LAYERS);
	for (size_t i = 0; i < node->n; i++) {
		const struct tnode *v = node->vals[i];
		bool local = v->kind == TN_SCALAR && strcmp(v->scalar, "sliding_attention") == 0;
		if (!local && !(v->kind == TN_SCALAR && strcmp(v->scalar, "full_attention") == 0))
			return spec_errf(
			    err, v, path,
			    "item %zu is %s: cimsim models \"sliding_attention\" "
			    "(attention within sliding_window) and \"full_attention\"; "
			    "another kind of layer (chunked or linear attention) "
			    "would need its own attention cost model",
			    i + 1, tnode_describe(v, buf, sizeof(buf)));
		if (local)
			t->local[i / 64] |= 1ull << (i % 64);
	}
	t->n = (uint32_t)node->n;
	return 0;
}

#define U32(k, m, fl, h) FU32(k, struct hf, m, fl, 1, 0, h)
/* An optional size that may be null: present sets has_<m>. */
#define U32N(k, m, pres, h)                                                                        \
	{                                                                                          \
		.key = k, .type = F_U32, .offset = offsetof(struct hf, m), .flags = FIELD_NULL_OK, \
		.min = 1, .hint = h, .present = offsetof(struct hf, pres)                          \
	}
#define F64N(k, m, pres, h)                                                                        \
	{                                                                                          \
		.key = k, .type = F_F64, .offset = offsetof(struct hf, m),                         \
		.flags = FIELD_NULL_OK | FIELD_POSITIVE, .hint = h,                                \
		.present = offsetof(struct hf, pres)                                               \
	}
#define ROPE_SCALING                                                                               \
	{                                                                                          \
		.key = "rope_scaling", .type = F_MAP, .offset = offsetof(struct hf, rope),         \
		.flags = FIELD_NULL_OK, .sub = &rope_schema,                                       \
		.present = offsetof(struct hf, has_rope)                                           \
	}
#define LAYER_TYPES                                                                                \
	{                                                                                          \
		.key = "layer_types", .type = F_FUNC, .offset = offsetof(struct hf, types),        \
		.flags = FIELD_NULL_OK, .read = read_layer_types,                                  \
		.hint = "the attention of each layer", .present = offsetof(struct hf, has_types)   \
	}

static const struct field gpt2_fields[] = {
	U32("n_embd", hidden, FIELD_REQUIRED, "model width"),
	U32("n_layer", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("n_head", heads, FIELD_REQUIRED, "attention heads"),
	U32N("n_inner", ffn, has_ffn, "FFN width, null for 4·n_embd"),
	U32("n_positions", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("layer_norm_epsilon", struct hf, eps, 0, 0, 1, 0, "LayerNorm epsilon"),
	FENUM("activation_function", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(gpt2_schema, "GPT-2 config", gpt2_fields, true);

/* GPT-J: GPT-2's keys, and RoPE on rotary_dim channels. */
static const struct field gptj_fields[] = {
	U32N("rotary_dim", rotary_dim, has_rotary_dim, "channels of a head RoPE rotates"),
};
SCHEMA(gptj_schema, "GPT-J config", gptj_fields, true);

static const struct field opt_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("num_attention_heads", heads, FIELD_REQUIRED, "attention heads"),
	U32("ffn_dim", ffn, FIELD_REQUIRED, "FFN width"),
	U32("max_position_embeddings", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	U32N("word_embed_proj_dim", proj_dim, has_proj_dim, "embedding width"),
	FENUM("activation_function", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("enable_bias", struct hf, enable_bias, 0, "linear layers carry biases"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(opt_schema, "OPT config", opt_fields, true);

/* The keys of Llama's config, which the Llama-like families share. */
static const struct field llama_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("num_attention_heads", heads, FIELD_REQUIRED, "attention heads"),
	U32N("num_key_value_heads", kv_heads, has_kv_heads, "key/value heads"),
	U32N("head_dim", head_dim, has_head_dim, "width of one head"),
	U32("intermediate_size", ffn, FIELD_REQUIRED, "FFN width"),
	U32("max_position_embeddings", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("rms_norm_eps", struct hf, eps, 0, 0, 1, 0, "RMSNorm epsilon"),
	FF64("rope_theta", struct hf, rope_theta, FIELD_POSITIVE, 0, 1e12, 0, "RoPE base"),
	ROPE_SCALING,
	FENUM("hidden_act", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
	FBOOL("attention_bias", struct hf, attention_bias, 0, "q/k/v/o carry biases"),
	FBOOL("mlp_bias", struct hf, mlp_bias, 0, "FFN carries biases"),
	U32N("sliding_window", window, has_window, "attention window"),
	U32("num_local_experts", experts, 0, "FFN experts per layer"),
	U32("num_experts_per_tok", experts_per_tok, 0, "experts per token"),
};
SCHEMA(llama_schema, "Llama-family config", llama_fields, true);

/* What the Llama-like families add to Llama's keys. */
static const struct field qwen_fields[] = {
	FBOOL("use_sliding_window", struct hf, use_window, 0, "sliding-window attention on"),
	FU32("max_window_layers", struct hf, max_window_layers, 0, 0, CIM_MODEL_MAX_LAYERS,
	     "layers below this one attend in full"),
	LAYER_TYPES,
};
SCHEMA(qwen_schema, "Qwen config", qwen_fields, true);

/* What Qwen2-MoE adds to Qwen2's keys. */
static const struct field qwen_moe_fields[] = {
	FBOOL("use_sliding_window", struct hf, use_window, 0, "sliding-window attention on"),
	FU32("max_window_layers", struct hf, max_window_layers, 0, 0, CIM_MODEL_MAX_LAYERS,
	     "layers below this one attend in full"),
	U32("num_experts", experts, FIELD_REQUIRED, "routed experts per layer"),
	U32("moe_intermediate_size", moe_ffn, FIELD_REQUIRED, "a routed expert's FFN width"),
	U32("shared_expert_intermediate_size", shared_ffn, 0, "the shared expert's FFN width"),
	U32("decoder_sparse_step", sparse_step, 0, "every how many layers has experts"),
	LAYER_TYPES,
};
SCHEMA(qwen_moe_schema, "Qwen2-MoE config", qwen_moe_fields, true);

/* What DeepSeek-V2 and V3 add to Llama's keys (DeepseekV2Config,
 * DeepseekV3Config): latent attention and DeepSeekMoE.  The routing's own
 * keys (topk_method, n_group, topk_group, scoring_func,
 * routed_scaling_factor, norm_topk_prob) choose which experts and scale
 * their outputs: a few operations per expert score, not priced
 * (docs/model.md). */
static const struct field deepseek_fields[] = {
	U32("kv_lora_rank", kv_lora, FIELD_REQUIRED, "width of the cached KV latent"),
	U32N("q_lora_rank", q_lora, has_q_lora, "width of the query latent, null for none"),
	U32("qk_nope_head_dim", qk_nope, FIELD_REQUIRED, "channels of q and k without RoPE"),
	U32("qk_rope_head_dim", qk_rope, FIELD_REQUIRED, "channels of q and k with RoPE"),
	U32("v_head_dim", v_head, FIELD_REQUIRED, "channels of a head's value"),
	U32("n_routed_experts", experts, FIELD_REQUIRED, "routed experts per layer"),
	FU32("n_shared_experts", struct hf, n_shared, 0, 0, 1u << 12,
	     "experts every token takes besides its routed ones"),
	U32("moe_intermediate_size", moe_ffn, FIELD_REQUIRED, "an expert's FFN width"),
	FU32("first_k_dense_replace", struct hf, first_dense, 0, 0, CIM_MODEL_MAX_LAYERS,
	     "the first layers, whose FFN is dense"),
	U32("moe_layer_freq", moe_freq, 0, "every how many layers has experts"),
};
SCHEMA(deepseek_schema, "DeepSeek config", deepseek_fields, true);

static const struct field gemma_fields[] = {
	{ .key = "hidden_activation",
	  .type = F_ENUM,
	  .offset = offsetof(struct hf, act2),
	  .flags = FIELD_NULL_OK,
	  .words = act_words,
	  .hint = "FFN activation",
	  .present = offsetof(struct hf, has_act2) },
	F64N("attn_logit_softcapping", attn_softcap, has_attn_softcap, "attention score cap"),
	F64N("final_logit_softcapping", logit_softcap, has_logit_softcap, "logit cap"),
	U32("sliding_window_pattern", window_pattern, 0,
	    "every n-th layer attends in full, the others within the window"),
	LAYER_TYPES,
};
SCHEMA(gemma_schema, "Gemma config", gemma_fields, true);

static const struct field phi3_fields[] = {
	FF64("partial_rotary_factor", struct hf, partial_rotary, FIELD_POSITIVE, 0, 1, 0,
	     "fraction of a head RoPE rotates"),
};
SCHEMA(phi3_schema, "Phi-3 config", phi3_fields, true);

static const struct field granite_fields[] = {
	FF64("embedding_multiplier", struct hf, embed_mult, FIELD_POSITIVE, 0, 1e6, 0,
	     "embedding scale"),
	FF64("residual_multiplier", struct hf, residual_mult, FIELD_POSITIVE, 0, 1e6, 0,
	     "scale of each branch's output"),
	FF64("logits_scaling", struct hf, logits_scaling, FIELD_POSITIVE, 0, 1e6, 0,
	     "divisor of the logits"),
};
SCHEMA(granite_schema, "Granite config", granite_fields, true);

static const struct field neox_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("num_attention_heads", heads, FIELD_REQUIRED, "attention heads"),
	U32("intermediate_size", ffn, FIELD_REQUIRED, "FFN width"),
	U32("max_position_embeddings", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("layer_norm_eps", struct hf, eps, 0, 0, 1, 0, "LayerNorm epsilon"),
	FF64("rotary_pct", struct hf, rotary_pct, FIELD_POSITIVE, 0, 1, 0,
	     "fraction of a head RoPE rotates"),
	FF64("rotary_emb_base", struct hf, rope_theta, FIELD_POSITIVE, 0, 1e12, 0, "RoPE base"),
	ROPE_SCALING,
	FENUM("hidden_act", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("use_parallel_residual", struct hf, parallel_residual, 0,
	      "attention and MLP read the same input"),
	FBOOL("attention_bias", struct hf, attention_bias, 0, "q/k/v/o carry biases"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(neox_schema, "GPT-NeoX config", neox_fields, true);

/* Falcon's file names layers and heads either way (FalconConfig's
 * attribute_map): neither spelling is required alone, the loader checks
 * one was given. */
static const struct field falcon_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, 0, "decoder blocks"),
	U32("n_layer", layers, 0, "decoder blocks"),
	U32("num_attention_heads", heads, 0, "attention heads"),
	U32("n_head", heads, 0, "attention heads"),
	U32N("num_kv_heads", kv_heads, has_kv_heads, "key/value heads"),
	U32N("ffn_hidden_size", ffn, has_ffn, "FFN width, null for 4·hidden_size"),
	U32N("max_position_embeddings", max_pos, has_max_pos, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("layer_norm_epsilon", struct hf, eps, 0, 0, 1, 0, "LayerNorm epsilon"),
	FF64("rope_theta", struct hf, rope_theta, FIELD_POSITIVE, 0, 1e12, 0, "RoPE base"),
	ROPE_SCALING,
	FENUM("activation", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("multi_query", struct hf, multi_query, 0, "one key/value head"),
	FBOOL("parallel_attn", struct hf, parallel_attn, 0,
	      "attention and MLP read the same input"),
	FBOOL("new_decoder_architecture", struct hf, new_arch, 0,
	      "grouped KV heads and a norm per branch (Falcon-40B)"),
	U32N("num_ln_in_parallel_attn", num_ln, has_num_ln, "norms of a parallel block"),
	FBOOL("alibi", struct hf, alibi, 0, "ALiBi position biases instead of RoPE"),
	FBOOL("bias", struct hf, bias, 0, "linear layers carry biases"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(falcon_schema, "Falcon config", falcon_fields, true);

static const struct field bloom_fields[] = {
	U32("hidden_size", hidden, 0, "model width"),
	U32("n_embed", hidden, 0, "model width"),
	U32("n_layer", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("n_head", heads, FIELD_REQUIRED, "attention heads"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	U32N("max_position_embeddings", max_pos, has_max_pos, "longest context"),
	FF64("layer_norm_epsilon", struct hf, eps, 0, 0, 1, 0, "LayerNorm epsilon"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(bloom_schema, "BLOOM config", bloom_fields, true);

/* Each family's keys: its base schema and what it adds. */
static const struct {
	const struct schema *base, *extra;
} arch_schema[] = {
	[CIM_ARCH_GPT2] = { &gpt2_schema, NULL },
	[CIM_ARCH_OPT] = { &opt_schema, NULL },
	[CIM_ARCH_LLAMA] = { &llama_schema, NULL },
	[CIM_ARCH_MISTRAL] = { &llama_schema, NULL },
	[CIM_ARCH_MIXTRAL] = { &llama_schema, NULL },
	[CIM_ARCH_QWEN2] = { &llama_schema, &qwen_schema },
	[CIM_ARCH_QWEN3] = { &llama_schema, &qwen_schema },
	[CIM_ARCH_GEMMA] = { &llama_schema, &gemma_schema },
	[CIM_ARCH_GEMMA2] = { &llama_schema, &gemma_schema },
	[CIM_ARCH_GEMMA3] = { &llama_schema, &gemma_schema },
	[CIM_ARCH_PHI3] = { &llama_schema, &phi3_schema },
	[CIM_ARCH_FALCON] = { &falcon_schema, NULL },
	[CIM_ARCH_GPTJ] = { &gpt2_schema, &gptj_schema },
	[CIM_ARCH_GPT_NEOX] = { &neox_schema, NULL },
	[CIM_ARCH_BLOOM] = { &bloom_schema, NULL },
	[CIM_ARCH_GRANITE] = { &llama_schema, &granite_schema },
	[CIM_ARCH_OLMO2] = { &llama_schema, NULL },
	[CIM_ARCH_QWEN2_MOE] = { &llama_schema, &qwen_moe_schema },
	[CIM_ARCH_DEEPSEEK_V2] = { &llama_schema, &deepseek_schema },
	[CIM_ARCH_DEEPSEEK_V3] = { &llama_schema, &deepseek_schema },
};
_Static_assert(sizeof(arch_schema) / sizeof(arch_schema[0]) == CIM_ARCH_N, "keys per family");

/* The node a semantic error points at: the key if given, else the map. */
static const struct tnode *at(const struct tnode *map, const char *key)
{
	const struct tnode *v = tnode_get(map, key);
	return v ? v : map;
}

static void join_path(char *out, size_t size, const char *path, const char *key)
{
	snprintf(out, size, "%s%s%s", path, *path ? "." : "", key);
}

/* The transformers class of each family, as `architectures` names it. */
static const char *const arch_classes[] = {
	"GPT2LMHeadModel",	 "OPTForCausalLM",	  "LlamaForCausalLM",
	"MistralForCausalLM",	 "MixtralForCausalLM",	  "Qwen2ForCausalLM",
	"Qwen3ForCausalLM",	 "GemmaForCausalLM",	  "Gemma2ForCausalLM",
	"Gemma3ForCausalLM",	 "Phi3ForCausalLM",	  "FalconForCausalLM",
	"GPTJForCausalLM",	 "GPTNeoXForCausalLM",	  "BloomForCausalLM",
	"GraniteForCausalLM",	 "Olmo2ForCausalLM",	  "Qwen2MoeForCausalLM",
	"DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM",
};
_Static_assert(sizeof(arch_classes) / sizeof(arch_classes[0]) == CIM_ARCH_N, "a class per family");

static bool schema_has(const struct schema *s, const char *key)
{
	for (size_t i = 0; s && i < s->nfields; i++)
		if (strcmp(s->fields[i].key, key) == 0)
			return true;
	return false;
}

/* Keys every HF config may carry, whatever the architecture. */
static bool generic_key(const char *key)
{
	static const char *const words[] = { "architectures",
					     "model_type",
					     "torch_dtype",
					     "transformers_version",
					     "use_cache",
					     "bos_token_id",
					     "eos_token_id",
					     "pad_token_id",
					     "initializer_range",
					     "auto_map",
					     "_name_or_path",
					     "name",
					     "attention_dropout",
					     "hidden_dropout",
					     "dropout",
					     "quantization_config",
					     NULL };
	for (size_t i = 0; words[i]; i++)
		if (strcmp(words[i], key) == 0)
			return true;
	return false;
}

/* model_type names no family cimsim models: the list it does, and the
 * family whose keys the file's are closest to, with the keys that differ.
 * The family is never guessed from the spelling of the word. */
static int unknown_type(const struct tnode *node, const char *path, const char *type,
			struct cim_err *err)
{
	char known[512] = "", diff[768] = "", kp[256];
	size_t used = 0;
	int best = -1;
	double best_share = 0;

	for (int a = 0; a < CIM_ARCH_N; a++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", a ? ", " : "",
					 arch_words[a]);
	/* The share of a family's keys the file gives, and none of its
	 * required keys missing. */
	for (int a = 0; a < CIM_ARCH_N; a++) {
		const struct schema *s = arch_schema[a].base;
		size_t have = 0;
		bool all_required = true;
		for (size_t i = 0; i < s->nfields; i++) {
			bool given = tnode_get(node, s->fields[i].key) != NULL;
			have += given;
			if (!given && (s->fields[i].flags & FIELD_REQUIRED))
				all_required = false;
		}
		double share = (double)have / (double)s->nfields;
		if (all_required && share > best_share) {
			best_share = share;
			best = a;
		}
	}
	const struct tnode *classes = tnode_get(node, "architectures");
	const char *cls =
	    classes && classes->kind == TN_SEQ && classes->n && classes->vals[0]->kind == TN_SCALAR
		? classes->vals[0]->scalar
		: NULL;
	if (best >= 0) {
		size_t n = 0, listed = 0;
		n += (size_t)snprintf(diff, sizeof(diff),
				      "; its keys hold every key %s requires (%.0f %% of the keys "
				      "cimsim reads for %s)",
				      arch_words[best], 100 * best_share, arch_words[best]);
		for (size_t i = 0; i < node->n && n < sizeof(diff); i++) {
			const char *k = node->keys[i];
			if (generic_key(k) || schema_has(arch_schema[best].base, k) ||
			    schema_has(arch_schema[best].extra, k))
				continue;
			if (listed < 12)
				n += (size_t)snprintf(diff + n, sizeof(diff) - n, "%s%s",
						      listed ? ", "
							     : "; keys it has that "
							       "cimsim does not read for "
							       "that family: ",
						      k);
			listed++;
		}
		if (listed > 12 && n < sizeof(diff))
			n += (size_t)snprintf(diff + n, sizeof(diff) - n, " and %zu more",
					      listed - 12);
		if (n < sizeof(diff))
			snprintf(
			    diff + n, sizeof(diff) - n,
			    ". If each of those changes nothing in the weights, MACs, KV cache "
			    "or order of operators, set model_type: %s; otherwise cimsim would "
			    "need that trait modelled",
			    arch_words[best]);
	} else if (tnode_get(node, "text_config")) {
		snprintf(diff, sizeof(diff),
			 "; it holds a text_config: give that decoder's keys as the model");
	}
	for (int a = 0; cls && a < CIM_ARCH_N; a++)
		if (strcmp(cls, arch_classes[a]) == 0) {
			size_t n = strlen(diff);
			snprintf(diff + n, sizeof(diff) - n,
				 "; architectures names %s, the class of model_type %s", cls,
				 arch_words[a]);
		}
	join_path(kp, sizeof(kp), path, "model_type");
	return spec_errf(err, at(node, "model_type"), kp,
			 "\"%s\" is not an architecture cimsim models; it models %s%s", type, known,
			 diff);
}

/* Sets bit l of m->local for every layer that attends within the window. */
static void set_local(struct cim_model_spec *m, uint32_t l)
{
	m->local[l / 64] |= 1ull << (l % 64);
	m->local_layers++;
}

/* Which layers attend within the window: the family's rule, or the file's
 * layer_types. */
static int window_layers(const struct tnode *node, const char *path, const struct hf *h,
			 struct cim_model_spec *m, struct cim_err *err)
{
	char kp[256];

	memset(m->local, 0, sizeof(m->local));
	m->local_layers = 0;
	if (!m->sliding_window)
		return 0;
	if (h->has_types) {
		if (h->types.n != m->layers) {
			join_path(kp, sizeof(kp), path, "layer_types");
			return spec_errf(err, at(node, "layer_types"), kp,
					 "%u entries for %u layers; give one per layer", h->types.n,
					 m->layers);
		}
		for (uint32_t l = 0; l < m->layers; l++)
			if (h->types.local[l / 64] >> (l % 64) & 1)
				set_local(m, l);
	} else {
		for (uint32_t l = 0; l < m->layers; l++) {
			bool local;
			switch (m->arch) {
			case CIM_ARCH_QWEN2:
			case CIM_ARCH_QWEN3:
			case CIM_ARCH_QWEN2_MOE:
				/* Qwen2Config.layer_types: layers from max_window_layers */
				local = l >= h->max_window_layers;
				break;
			case CIM_ARCH_GEMMA2:
				local = l % 2 == 0; /* even layers slide */
				break;
			case CIM_ARCH_GEMMA3:
				local = (l + 1) % h->window_pattern != 0;
				break;
			default:
				local = true;
				break;
			}
			if (local)
				set_local(m, l);
		}
	}
	if (!m->local_layers)
		m->sliding_window = 0;
	return 0;
}

/*
 * Sizes a model may have: each dimension far above every published model
 * (the widest has hidden 25,600 and 256,000 words; the longest context is
 * 10 M positions), and at most 2^50 (1.1 × 10^15) parameters, 500 times the
 * largest published, so that every parameter, MAC and byte count of a layer
 * or a token fits 64 bits with room for the products the partitioner and the
 * estimate make of them.  Checked before any of them is made.
 */
static int model_in_range(const struct cim_model_spec *m, const struct tnode *node,
			  const char *path, struct cim_err *err)
{
	const struct {
		const char *key;
		uint64_t v, max;
	} dims[] = {
		{ "hidden_size", m->hidden, 1u << 20 },
		{ m->experts > 1 && m->arch != CIM_ARCH_MIXTRAL ? "moe_intermediate_size"
								: "intermediate_size",
		  m->ffn, 1u << 22 },
		{ "intermediate_size", m->dense_ffn, 1u << 22 },
		{ "kv_lora_rank", m->kv_lora, 1u << 16 },
		{ "q_lora_rank", m->q_lora, 1u << 16 },
		{ "v_head_dim", m->v_dim, 1u << 16 },
		{ "shared_expert_intermediate_size", m->shared_ffn, 1u << 22 },
		{ "vocab_size", m->vocab, 1u << 24 },
		{ "max_position_embeddings", m->max_positions, 1u << 26 },
		{ "head_dim", m->head_dim, 1u << 16 },
		{ "num_attention_heads", m->heads, 1u << 16 },
		{ m->arch == CIM_ARCH_QWEN2_MOE ? "num_experts"
		  : m->arch == CIM_ARCH_MIXTRAL ? "num_local_experts"
						: "n_routed_experts",
		  m->experts, 1u << 12 },
	};
	char kp[256];

	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++)
		if (dims[i].v > dims[i].max) {
			const struct tnode *k = tnode_get(node, dims[i].key);
			join_path(kp, sizeof(kp), path, dims[i].key);
			return spec_errf(err, k ? k : node, kp,
					 "%" PRIu64
					 " is beyond what cimsim models (at most %" PRIu64
					 "); check the file",
					 dims[i].v, dims[i].max);
		}
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t n = cim_model_ops(m, ops);
	double params = 0;
	for (size_t i = 0; i < n; i++)
		params += (double)ops[i].params * cim_op_layer_count(m, &ops[i], 0, m->layers);
	if (params > 0x1p50)
		return spec_errf(err, node, path,
				 "%.3g parameters (%u layers, width %u, FFN %u, experts %u): "
				 "cimsim models at most 2^50 (1.1e15)",
				 params, m->layers, m->hidden, m->ffn, m->experts);
	return 0;
}

/*
 * DeepSeek-V2/V3 (DeepseekV2Attention, DeepseekV2MoE): latent attention,
 * whose cache holds the KV latent and one RoPE key shared by the heads (one
 * KV head, however many num_key_value_heads names); heads of
 * qk_nope_head_dim + qk_rope_head_dim for q and k, v_head_dim for v; the
 * first first_k_dense_replace layers with a dense FFN of intermediate_size,
 * the others with n_routed_experts of moe_intermediate_size and
 * n_shared_experts as one shared expert of their summed width, ungated.
 */
static int deepseek(const struct tnode *node, const char *path, const struct hf *h,
		    struct cim_model_spec *m, struct cim_err *err)
{
	char kp[256];
	const char *bad = NULL, *why = NULL;

	if (h->moe_freq != 1) {
		bad = "moe_layer_freq";
		why = "dense layers between the ones with experts are not modelled: only the "
		      "first first_k_dense_replace layers may be dense (moe_layer_freq 1)";
	} else if (h->first_dense > m->layers) {
		bad = "first_k_dense_replace";
		why = "more dense layers than the model has; give at most num_hidden_layers";
	} else if (h->qk_rope % 2) {
		bad = "qk_rope_head_dim";
		why = "RoPE rotates pairs of channels: give an even number";
	}
	if (bad) {
		join_path(kp, sizeof(kp), path, bad);
		return spec_errf(err, at(node, bad), kp, "%s", why);
	}
	m->bias_qkv = m->bias_o = h->attention_bias;
	m->kv_lora = h->kv_lora;
	m->q_lora = h->has_q_lora ? h->q_lora : 0;
	m->head_dim = h->qk_nope + h->qk_rope;
	m->rotary_dim = h->qk_rope;
	m->v_dim = h->v_head;
	m->kv_heads = 1;
	/* the shared experts' summed width, checked before it is stored */
	const uint64_t shared = (uint64_t)h->n_shared * h->moe_ffn;
	if (shared > 1u << 22) {
		join_path(kp, sizeof(kp), path, "n_shared_experts");
		return spec_errf(err, at(node, "n_shared_experts"), kp,
				 "%u shared experts of %u make an FFN of %llu; cimsim models at "
				 "most %u: check the file",
				 h->n_shared, h->moe_ffn, (unsigned long long)shared, 1u << 22);
	}
	m->ffn = h->moe_ffn;
	m->shared_ffn = (uint32_t)shared;
	m->dense_layers = h->first_dense;
	m->dense_ffn = h->first_dense ? h->ffn : 0;
	if (m->dense_layers == m->layers) {
		/* every layer dense: a dense model of intermediate_size */
		m->experts = m->experts_per_token = 1;
		m->ffn = h->ffn;
		m->shared_ffn = m->dense_layers = m->dense_ffn = 0;
	}
	return 0;
}

int spec_read_model(const struct tnode *node, const char *path, struct cim_model_spec *out,
		    struct cim_err *err)
{
	struct hf h = { .experts = 1, .experts_per_tok = 1, .rope = { .factor = 1 } };
	struct cim_model_spec m = { 0 };
	char kp[256];
	int a;

	if (spec_read_map(node, &type_schema, path, &h, err))
		return -1;
	for (a = 0; a < CIM_ARCH_N && strcmp(arch_words[a], h.type) != 0; a++)
		;
	if (a == CIM_ARCH_N)
		return unknown_type(node, path, h.type, err);
	m.arch = (enum cim_arch)a;
	/* Defaults are those of the transformers configuration classes for
	 * absent keys (docs/model.md). */
	h.act = act_index("silu");
	h.eps = 1e-6;
	h.rope_theta = 10000;
	switch (m.arch) {
	case CIM_ARCH_GPT2:
	case CIM_ARCH_GPTJ:
		h.tie = m.arch == CIM_ARCH_GPT2;
		h.act = act_index("gelu_new");
		h.eps = 1e-5;
		h.rotary_dim = 64; /* GPTJConfig */
		h.has_rotary_dim = m.arch == CIM_ARCH_GPTJ;
		break;
	case CIM_ARCH_OPT:
		h.tie = true;
		h.enable_bias = true;
		h.act = act_index("relu");
		h.eps = 1e-5;
		break;
	case CIM_ARCH_DEEPSEEK_V2:
	case CIM_ARCH_DEEPSEEK_V3:
		h.moe_freq = 1; /* DeepseekV2Config */
		break;
	case CIM_ARCH_QWEN2:
	case CIM_ARCH_QWEN3:
	case CIM_ARCH_QWEN2_MOE:
		h.max_window_layers = 28;
		h.window = 4096;
		h.sparse_step = 1; /* Qwen2MoeConfig */
		if (m.arch == CIM_ARCH_QWEN3) {
			h.head_dim = 128;
			h.has_head_dim = true;
		}
		break;
	case CIM_ARCH_GEMMA:
	case CIM_ARCH_GEMMA2:
	case CIM_ARCH_GEMMA3:
		h.tie = true;
		h.act = act_index("gelu_pytorch_tanh");
		h.head_dim = 256;
		h.has_head_dim = true;
		h.window = 4096;
		h.window_pattern = 6;
		if (m.arch == CIM_ARCH_GEMMA2) {
			h.attn_softcap = 50;
			h.logit_softcap = 30;
		}
		break;
	case CIM_ARCH_PHI3:
		h.partial_rotary = 1;
		break;
	case CIM_ARCH_FALCON:
		h.tie = true;
		h.act = act_index("gelu");
		h.eps = 1e-5;
		h.multi_query = true;
		h.parallel_attn = true;
		h.max_pos = 2048;
		break;
	case CIM_ARCH_GPT_NEOX:
		h.act = act_index("gelu");
		h.eps = 1e-5;
		h.rotary_pct = 0.25;
		h.parallel_residual = true;
		h.attention_bias = true;
		break;
	case CIM_ARCH_BLOOM:
		h.tie = true;
		h.act = act_index("gelu");
		h.eps = 1e-5;
		/* ALiBi has no table of positions: BLOOM was trained on 2048 (its
		 * model card), the default unless the file gives a length. */
		h.max_pos = 2048;
		break;
	case CIM_ARCH_GRANITE:
		h.embed_mult = h.residual_mult = h.logits_scaling = 1;
		break;
	case CIM_ARCH_MISTRAL:
		h.window = 4096; /* MistralConfig, when the key is absent */
		break;
	default:
		break;
	}
	if (spec_read_map(node, arch_schema[m.arch].base, path, &h, err))
		return -1;
	if (arch_schema[m.arch].extra &&
	    spec_read_map(node, arch_schema[m.arch].extra, path, &h, err))
		return -1;
	/* A key given as null turns the window off, and GPT-J's partial rotary
	 * (rotary_dim: null rotates whole heads); absent keeps the default. */
	const struct tnode *win = tnode_get(node, "sliding_window");
	if (win && win->kind == TN_NULL)
		h.window = 0;
	const struct tnode *rot = tnode_get(node, "rotary_dim");
	if (m.arch == CIM_ARCH_GPTJ && rot && rot->kind == TN_NULL)
		h.has_rotary_dim = false;
	if (m.arch == CIM_ARCH_GEMMA && h.has_act2)
		h.act = h.act2;
	if ((m.arch == CIM_ARCH_GEMMA2 || m.arch == CIM_ARCH_GEMMA3) && h.has_act2)
		h.act = h.act2;
	if (!h.layers || !h.heads || !h.hidden) {
		const char *key = !h.hidden   ? "hidden_size"
				  : !h.layers ? "num_hidden_layers"
					      : "num_attention_heads";
		return spec_errf(err, node, path,
				 "%s is missing: %s needs %s (or its other name, n_embed, n_layer "
				 "or n_head)",
				 key, arch_words[m.arch], key);
	}
	if (h.layers > CIM_MODEL_MAX_LAYERS) {
		join_path(kp, sizeof(kp), path,
			  m.arch == CIM_ARCH_GPT2 ? "n_layer" : "num_hidden_layers");
		return spec_errf(err, node, kp, "%u layers; cimsim models at most %u", h.layers,
				 CIM_MODEL_MAX_LAYERS);
	}

	snprintf(m.name, sizeof(m.name), "%s", h.name[0] ? h.name : arch_words[m.arch]);
	m.layers = h.layers;
	m.hidden = h.hidden;
	m.heads = h.heads;
	m.kv_heads = h.has_kv_heads ? h.kv_heads : h.heads;
	m.vocab = h.vocab;
	m.max_positions = h.max_pos;
	m.experts = h.experts;
	m.experts_per_token = h.experts_per_tok;
	m.tied_embeddings = h.tie;
	m.act = act_kind[h.act];
	m.norm_eps = h.eps;
	m.rope_factor = 1;
	m.norm = CIM_NORM_RMSNORM;
	m.pos = CIM_POS_ROPE;
	m.rope_theta = h.rope_theta;
	if (h.has_rope)
		m.rope_factor = h.rope.factor;
	m.block_norms = CIM_NORM_PRE_ATTN | CIM_NORM_PRE_FFN;
	m.gated_ffn = true;
	m.ffn = h.ffn;

	const bool gpt2_keys = m.arch == CIM_ARCH_GPT2 || m.arch == CIM_ARCH_GPTJ;
	const char *heads_key =
	    gpt2_keys || m.arch == CIM_ARCH_BLOOM ? "n_head" : "num_attention_heads";
	const char *hidden_key = gpt2_keys ? "n_embd" : "hidden_size";
	if (h.has_head_dim) {
		m.head_dim = h.head_dim;
	} else if (m.hidden % m.heads) {
		join_path(kp, sizeof(kp), path, heads_key);
		return spec_errf(err, at(node, heads_key), kp,
				 "%u heads do not divide %s %u; each head must get a whole "
				 "number of channels (or give head_dim)",
				 m.heads, hidden_key, m.hidden);
	} else {
		m.head_dim = m.hidden / m.heads;
	}
	m.rotary_dim = m.head_dim;
	m.v_dim = m.head_dim;

	switch (m.arch) {
	case CIM_ARCH_GPT2:
	case CIM_ARCH_OPT:
	case CIM_ARCH_BLOOM:
		m.norm = CIM_NORM_LAYERNORM;
		m.gated_ffn = false;
		m.pos = m.arch == CIM_ARCH_BLOOM ? CIM_POS_ALIBI : CIM_POS_LEARNED;
		m.rope_theta = 0;
		m.bias_qkv = m.bias_o = m.bias_ffn = m.arch == CIM_ARCH_OPT ? h.enable_bias : true;
		if (m.arch == CIM_ARCH_GPT2) {
			m.ffn = h.has_ffn ? h.ffn : 4 * m.hidden;
			m.pos_table = m.max_positions;
		} else if (m.arch == CIM_ARCH_BLOOM) {
			m.ffn = 4 * m.hidden; /* BloomMLP: 4·hidden, always */
			m.embed_norm = true;  /* word_embeddings_layernorm */
		} else {
			if (h.has_proj_dim && h.proj_dim != m.hidden) {
				join_path(kp, sizeof(kp), path, "word_embed_proj_dim");
				return spec_errf(err, at(node, "word_embed_proj_dim"), kp,
						 "%u differs from hidden_size %u: OPT's embedding "
						 "projection (opt-350m) is not modelled",
						 h.proj_dim, m.hidden);
			}
			/* OPT's learned positions are offset by 2 rows (OPTLearned-
			 * PositionalEmbedding in transformers). */
			m.pos_table = m.max_positions + 2;
		}
		break;
	case CIM_ARCH_GPTJ:
		/* GPTJBlock: one ln_1 feeding attention and MLP side by side;
		 * q/k/v/out_proj without biases, fc_in/fc_out and lm_head with. */
		m.norm = CIM_NORM_LAYERNORM;
		m.gated_ffn = false;
		m.parallel_block = true;
		m.block_norms = CIM_NORM_PRE_ATTN;
		m.bias_ffn = m.bias_head = true;
		m.ffn = h.has_ffn ? h.ffn : 4 * m.hidden;
		if (h.has_rotary_dim)
			m.rotary_dim = h.rotary_dim;
		if (m.rotary_dim > m.head_dim || m.rotary_dim % 2) {
			join_path(kp, sizeof(kp), path, "rotary_dim");
			return spec_errf(err, at(node, "rotary_dim"), kp,
					 "%u channels of a %u-wide head: RoPE rotates pairs of "
					 "a head's channels, so give an even number up to %u",
					 m.rotary_dim, m.head_dim, m.head_dim);
		}
		break;
	case CIM_ARCH_GPT_NEOX:
		/* GPTNeoXLayer: input_layernorm and post_attention_layernorm both
		 * on the block's input when use_parallel_residual; biases on the
		 * fused QKV and dense when attention_bias, always on the MLP. */
		m.norm = CIM_NORM_LAYERNORM;
		m.gated_ffn = false;
		m.parallel_block = h.parallel_residual;
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.bias_ffn = true;
		m.rotary_dim = (uint32_t)(m.head_dim * h.rotary_pct);
		m.rotary_dim -= m.rotary_dim % 2;
		break;
	case CIM_ARCH_FALCON:
		/* FalconDecoderLayer: input_layernorm alone for a parallel block
		 * (ln_attn and ln_mlp when new_decoder_architecture has two);
		 * `bias` on every linear layer; multi_query shares one KV head. */
		m.norm = CIM_NORM_LAYERNORM;
		m.gated_ffn = false;
		m.ffn = h.has_ffn ? h.ffn : 4 * m.hidden;
		m.bias_qkv = m.bias_o = m.bias_ffn = h.bias;
		m.parallel_block = h.new_arch || h.parallel_attn;
		if (h.new_arch) {
			uint32_t nln = h.has_num_ln ? h.num_ln : 2;
			if (nln != 1 && nln != 2) {
				join_path(kp, sizeof(kp), path, "num_ln_in_parallel_attn");
				return spec_errf(err, at(node, "num_ln_in_parallel_attn"), kp,
						 "%u norms: a parallel block has one norm for both "
						 "branches (1) or one per branch (2)",
						 nln);
			}
			m.block_norms =
			    nln == 2 ? CIM_NORM_PRE_ATTN | CIM_NORM_PRE_FFN : CIM_NORM_PRE_ATTN;
			if (!h.has_kv_heads)
				m.kv_heads = m.heads;
		} else {
			m.block_norms = m.parallel_block ? CIM_NORM_PRE_ATTN
							 : CIM_NORM_PRE_ATTN | CIM_NORM_PRE_FFN;
			m.kv_heads = h.multi_query ? 1 : m.heads;
		}
		if (h.alibi) {
			m.pos = CIM_POS_ALIBI;
			m.rope_theta = 0;
		}
		break;
	case CIM_ARCH_QWEN2:
		m.bias_qkv = true; /* Qwen2Attention: q/k/v with biases, o_proj without */
		break;
	case CIM_ARCH_QWEN2_MOE: {
		/* Qwen2MoeSparseMoeBlock: the routed experts of moe_intermediate_size,
		 * and a shared expert of shared_expert_intermediate_size whose output
		 * is scaled by σ(x · shared_expert_gate); attention as Qwen2's. */
		m.bias_qkv = true;
		m.ffn = h.moe_ffn;
		m.shared_ffn = h.shared_ffn;
		m.shared_gate = h.shared_ffn > 0;
		const struct tnode *dense = tnode_get(node, "mlp_only_layers");
		if (h.sparse_step != 1 || (dense && dense->kind == TN_SEQ && dense->n)) {
			const char *key =
			    h.sparse_step != 1 ? "decoder_sparse_step" : "mlp_only_layers";
			join_path(kp, sizeof(kp), path, key);
			return spec_errf(err, at(node, key), kp,
					 "dense layers between the ones with experts are not "
					 "modelled: every layer must have experts "
					 "(decoder_sparse_step 1, mlp_only_layers empty)");
		}
		break;
	}
	case CIM_ARCH_DEEPSEEK_V2:
	case CIM_ARCH_DEEPSEEK_V3:
		if (deepseek(node, path, &h, &m, err) < 0)
			return -1;
		break;
	case CIM_ARCH_QWEN3:
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.qk_norm_q = m.qk_norm_k = m.head_dim; /* q_norm, k_norm over head_dim */
		break;
	case CIM_ARCH_GEMMA3:
		m.qk_norm_q = m.qk_norm_k = m.head_dim;
		/* fall through */
	case CIM_ARCH_GEMMA2:
		m.block_norms |= CIM_NORM_POST_ATTN | CIM_NORM_POST_FFN;
		m.attn_softcap =
		    h.has_attn_softcap || m.arch == CIM_ARCH_GEMMA2 ? h.attn_softcap : 0;
		m.logit_softcap =
		    h.has_logit_softcap || m.arch == CIM_ARCH_GEMMA2 ? h.logit_softcap : 0;
		/* fall through */
	case CIM_ARCH_GEMMA:
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.embed_scale = true; /* hidden × √hidden_size */
		break;
	case CIM_ARCH_PHI3:
		m.rotary_dim = (uint32_t)(m.head_dim * h.partial_rotary);
		m.rotary_dim -= m.rotary_dim % 2;
		break;
	case CIM_ARCH_GRANITE:
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.bias_ffn = h.mlp_bias;
		m.embed_scale = h.embed_mult != 1;
		m.residual_scale = h.residual_mult != 1;
		m.logit_scale = h.logits_scaling != 1;
		break;
	case CIM_ARCH_OLMO2:
		/* Olmo2DecoderLayer: norms on each branch's output only; q_norm
		 * and k_norm over all heads' channels. */
		m.block_norms = CIM_NORM_POST_ATTN | CIM_NORM_POST_FFN;
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.qk_norm_q = m.heads * m.head_dim;
		m.qk_norm_k = m.kv_heads * m.head_dim;
		break;
	default: /* llama, mistral, mixtral */
		m.bias_qkv = m.bias_o = h.attention_bias;
		m.bias_ffn = h.mlp_bias;
		break;
	}
	if (m.heads % m.kv_heads) {
		const char *key =
		    m.arch == CIM_ARCH_FALCON ? "num_kv_heads" : "num_key_value_heads";
		join_path(kp, sizeof(kp), path, key);
		return spec_errf(err, at(node, key), kp,
				 "%u key/value heads do not divide %u attention heads; grouped-"
				 "query attention shares each KV head among a whole number of "
				 "heads",
				 m.kv_heads, m.heads);
	}
	if (m.experts_per_token > m.experts) {
		join_path(kp, sizeof(kp), path, "num_experts_per_tok");
		return spec_errf(err, at(node, "num_experts_per_tok"), kp,
				 "%u experts per token but only %u experts per layer",
				 m.experts_per_token, m.experts);
	}
	if (m.arch != CIM_ARCH_MIXTRAL && m.arch != CIM_ARCH_QWEN2_MOE &&
	    m.arch != CIM_ARCH_DEEPSEEK_V2 && m.arch != CIM_ARCH_DEEPSEEK_V3 && m.experts > 1) {
		join_path(kp, sizeof(kp), path, "num_local_experts");
		return spec_errf(err, at(node, "num_local_experts"), kp,
				 "%u experts given for model_type %s; set model_type: mixtral "
				 "for a mixture-of-experts model",
				 m.experts, arch_words[m.arch]);
	}
	/* The window: all layers (Mistral, Mixtral, Phi-3), the layers Qwen's
	 * use_sliding_window and max_window_layers pick, Gemma's alternation. */
	switch (m.arch) {
	case CIM_ARCH_MISTRAL:
	case CIM_ARCH_MIXTRAL:
	case CIM_ARCH_PHI3:
		m.sliding_window = h.window;
		break;
	case CIM_ARCH_QWEN2:
	case CIM_ARCH_QWEN3:
	case CIM_ARCH_QWEN2_MOE:
		m.sliding_window = h.use_window ? h.window : 0;
		break;
	case CIM_ARCH_GEMMA2:
	case CIM_ARCH_GEMMA3:
		m.sliding_window = h.window;
		break;
	default:
		if (h.has_window && h.window) {
			join_path(kp, sizeof(kp), path, "sliding_window");
			return spec_errf(err, at(node, "sliding_window"), kp,
					 "%s applies no attention window (transformers ignores "
					 "this key for it); remove the key, or give the "
					 "model_type whose attention slides (mistral)",
					 arch_words[m.arch]);
		}
		break;
	}
	if (window_layers(node, path, &h, &m, err) || model_in_range(&m, node, path, err))
		return -1;
	*out = m;
	return 0;
}

/* ---------------------------------------------------------------- the ops */

static const char *const role_names[] = {
	[CIM_ROLE_EMBED] = "embed",
	[CIM_ROLE_ATTN_NORM] = "attn_norm",
	[CIM_ROLE_Q_PROJ] = "q_proj",
	[CIM_ROLE_K_PROJ] = "k_proj",
	[CIM_ROLE_V_PROJ] = "v_proj",
	[CIM_ROLE_ROPE] = "rope",
	[CIM_ROLE_ATTN_QK] = "attn_qk",
	[CIM_ROLE_SOFTMAX] = "softmax",
	[CIM_ROLE_ATTN_AV] = "attn_av",
	[CIM_ROLE_O_PROJ] = "o_proj",
	[CIM_ROLE_ATTN_RESIDUAL] = "attn_residual",
	[CIM_ROLE_FFN_NORM] = "ffn_norm",
	[CIM_ROLE_ROUTER] = "router",
	[CIM_ROLE_FFN_GATE] = "ffn_gate",
	[CIM_ROLE_FFN_UP] = "ffn_up",
	[CIM_ROLE_FFN_ACT] = "ffn_act",
	[CIM_ROLE_FFN_GATE_MUL] = "ffn_gate_mul",
	[CIM_ROLE_FFN_DOWN] = "ffn_down",
	[CIM_ROLE_FFN_RESIDUAL] = "ffn_residual",
	[CIM_ROLE_FINAL_NORM] = "final_norm",
	[CIM_ROLE_LM_HEAD] = "lm_head",
	[CIM_ROLE_SAMPLE] = "sample",
	[CIM_ROLE_EMBED_SCALE] = "embed_scale",
	[CIM_ROLE_EMBED_NORM] = "embed_norm",
	[CIM_ROLE_QK_NORM] = "qk_norm",
	[CIM_ROLE_ALIBI] = "alibi",
	[CIM_ROLE_ATTN_SOFTCAP] = "attn_softcap",
	[CIM_ROLE_POST_ATTN_NORM] = "post_attn_norm",
	[CIM_ROLE_POST_FFN_NORM] = "post_ffn_norm",
	[CIM_ROLE_RESIDUAL_SCALE] = "residual_scale",
	[CIM_ROLE_LOGIT_SCALE] = "logit_scale",
	[CIM_ROLE_LOGIT_SOFTCAP] = "logit_softcap",
	[CIM_ROLE_KV_APPEND] = "kv_append",
	[CIM_ROLE_ATTENTION] = "attention",
	[CIM_ROLE_ATTN_ALLREDUCE] = "attn_allreduce",
	[CIM_ROLE_FFN_ALLREDUCE] = "ffn_allreduce",
	[CIM_ROLE_SAMPLE_GATHER] = "sample_gather",
	[CIM_ROLE_EMBED_ALLREDUCE] = "embed_allreduce",
	[CIM_ROLE_EXPERT_DISPATCH] = "expert_dispatch",
	[CIM_ROLE_EXPERT_COMBINE] = "expert_combine",
	[CIM_ROLE_SHARED_GATE] = "shared_gate",
	[CIM_ROLE_SHARED_UP] = "shared_up",
	[CIM_ROLE_SHARED_ACT] = "shared_act",
	[CIM_ROLE_SHARED_GATE_MUL] = "shared_gate_mul",
	[CIM_ROLE_SHARED_DOWN] = "shared_down",
	[CIM_ROLE_SHARED_EXPERT_GATE] = "shared_ex_gate",
	[CIM_ROLE_SHARED_SCALE] = "shared_scale",
	[CIM_ROLE_Q_A_PROJ] = "q_a_proj",
	[CIM_ROLE_Q_A_NORM] = "q_a_norm",
	[CIM_ROLE_KV_A_PROJ] = "kv_a_proj",
	[CIM_ROLE_KV_A_NORM] = "kv_a_norm",
	[CIM_ROLE_Q_ABSORB] = "q_absorb",
	[CIM_ROLE_V_UP] = "v_up",
	[CIM_ROLE_K_UP] = "k_up",
};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == CIM_ROLE_NROLES,
	       "one name per operator role");

static const char *const kind_names[] = {
	[CIM_OP_EMBED] = "embed",	[CIM_OP_NORM] = "norm",
	[CIM_OP_MATMUL] = "matmul",	[CIM_OP_ROPE] = "rope",
	[CIM_OP_ATTN_QK] = "attn_qk",	[CIM_OP_SOFTMAX] = "softmax",
	[CIM_OP_ATTN_AV] = "attn_av",	[CIM_OP_ACT] = "act",
	[CIM_OP_GATE_MUL] = "gate_mul", [CIM_OP_RESIDUAL] = "residual",
	[CIM_OP_SAMPLE] = "sample",	[CIM_OP_SCALE] = "scale",
	[CIM_OP_SOFTCAP] = "softcap",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == CIM_OP_SOFTCAP + 1,
	       "one name per operator kind");

const char *cim_op_kind_name(enum cim_op_kind kind)
{
	return (unsigned)kind <= CIM_OP_SOFTCAP ? kind_names[kind] : "?";
}

const char *cim_op_role_name(enum cim_op_role role)
{
	return (unsigned)role < CIM_ROLE_NROLES ? role_names[role] : "?";
}

bool cim_op_role_is_ffn_matrix(enum cim_op_role role)
{
	return role == CIM_ROLE_FFN_GATE || role == CIM_ROLE_FFN_UP || role == CIM_ROLE_FFN_DOWN;
}

bool cim_op_role_per_head(enum cim_op_role role)
{
	return role == CIM_ROLE_Q_ABSORB || role == CIM_ROLE_V_UP || role == CIM_ROLE_K_UP;
}

bool cim_op_routed(const struct cim_op *op)
{
	return op->count > 1 && cim_op_role_is_ffn_matrix(op->role);
}

bool cim_model_layer_dense(const struct cim_model_spec *m, uint32_t l)
{
	return l < m->dense_layers;
}

uint32_t cim_model_kv_width(const struct cim_model_spec *m)
{
	return m->kv_lora ? m->kv_lora + m->rotary_dim : 2 * m->head_dim;
}

bool cim_op_in_layer(const struct cim_model_spec *m, const struct cim_op *op, uint32_t l)
{
	switch (op->layers) {
	case CIM_LAYERS_DENSE:
		return cim_model_layer_dense(m, l);
	case CIM_LAYERS_MOE:
		return !cim_model_layer_dense(m, l);
	default:
		return true;
	}
}

uint32_t cim_op_layer_count(const struct cim_model_spec *m, const struct cim_op *op, uint32_t first,
			    uint32_t n)
{
	if (op->scope != CIM_SCOPE_LAYER)
		return 1;
	/* the dense layers are 0 … dense_layers − 1: their overlap with the run */
	const uint32_t end = first + n, d = m->dense_layers;
	const uint32_t dense = first >= d ? 0 : (end < d ? end : d) - first;
	switch (op->layers) {
	case CIM_LAYERS_DENSE:
		return dense;
	case CIM_LAYERS_MOE:
		return n - dense;
	default:
		return n;
	}
}

static struct cim_op *push(struct cim_op *ops, size_t *n, enum cim_op_role role,
			   enum cim_op_kind kind, enum cim_op_scope scope)
{
	struct cim_op *op = &ops[(*n)++];

	*op =
	    (struct cim_op){ .role = role, .kind = kind, .scope = scope, .count = 1, .active = 1 };
	return op;
}

static void matmul(struct cim_op *ops, size_t *n, enum cim_op_role role, enum cim_op_scope scope,
		   uint32_t k, uint32_t nout, uint32_t count, uint32_t active, bool bias)
{
	struct cim_op *op = push(ops, n, role, CIM_OP_MATMUL, scope);

	op->k = k;
	op->n = nout;
	op->count = count;
	op->active = active;
	op->bias = bias;
	op->params = (uint64_t)count * ((uint64_t)k * nout + (bias ? nout : 0));
}

static void vector(struct cim_op *ops, size_t *n, enum cim_op_role role, enum cim_op_kind kind,
		   enum cim_op_scope scope, uint64_t elems, uint64_t params)
{
	struct cim_op *op = push(ops, n, role, kind, scope);

	op->elems = elems;
	op->params = params;
}

size_t cim_model_ops(const struct cim_model_spec *m, struct cim_op ops[CIM_MODEL_MAX_OPS])
{
	const uint64_t d = m->hidden;
	const uint32_t q = m->heads * m->head_dim, kv = m->kv_heads * m->head_dim;
	const uint64_t norm_params = m->norm == CIM_NORM_LAYERNORM ? 2 * d : d;
	const enum cim_op_scope L = CIM_SCOPE_LAYER;
	const uint32_t e = m->experts, k = m->experts_per_token;
	const bool par = m->parallel_block;
	size_t n = 0;

	vector(ops, &n, CIM_ROLE_EMBED, CIM_OP_EMBED, CIM_SCOPE_PRE, d,
	       (uint64_t)m->vocab * d + (uint64_t)m->pos_table * d);
	if (m->embed_scale)
		vector(ops, &n, CIM_ROLE_EMBED_SCALE, CIM_OP_SCALE, CIM_SCOPE_PRE, d, 0);
	if (m->embed_norm)
		vector(ops, &n, CIM_ROLE_EMBED_NORM, CIM_OP_NORM, CIM_SCOPE_PRE, d, norm_params);

	/* A parallel block (GPT-J, GPT-NeoX, Falcon) feeds attention and FFN
	 * the same normed input: their first matrices are listed together,
	 * their last ones too, and the two outputs are summed into one
	 * residual (docs/model.md). */
	if (m->block_norms & CIM_NORM_PRE_ATTN)
		vector(ops, &n, CIM_ROLE_ATTN_NORM, CIM_OP_NORM, L, d, norm_params);
	if (par && (m->block_norms & CIM_NORM_PRE_FFN))
		vector(ops, &n, CIM_ROLE_FFN_NORM, CIM_OP_NORM, L, d, norm_params);
	if (m->kv_lora) {
		/* Latent attention as DeepSeek's inference runs it (docs/model.md):
		 * q (through its latent when q_lora_rank is given) and the KV
		 * latent with the shared RoPE key from the same input; the
		 * latent's up-projection W_UK absorbed into each head's query,
		 * so q·k runs against the cached latent, and W_UV after p·V. */
		const uint32_t r = m->rotary_dim, nope = m->head_dim - r, c = m->kv_lora;
		if (m->q_lora)
			matmul(ops, &n, CIM_ROLE_Q_A_PROJ, L, m->hidden, m->q_lora, 1, 1, false);
		else
			matmul(ops, &n, CIM_ROLE_Q_PROJ, L, m->hidden, q, 1, 1, m->bias_qkv);
		matmul(ops, &n, CIM_ROLE_KV_A_PROJ, L, m->hidden, c + r, 1, 1, false);
		if (m->q_lora) {
			vector(ops, &n, CIM_ROLE_Q_A_NORM, CIM_OP_NORM, L, m->q_lora, m->q_lora);
			matmul(ops, &n, CIM_ROLE_Q_PROJ, L, m->q_lora, q, 1, 1, false);
		}
		vector(ops, &n, CIM_ROLE_KV_A_NORM, CIM_OP_NORM, L, c, c);
		vector(ops, &n, CIM_ROLE_ROPE, CIM_OP_ROPE, L, (uint64_t)(m->heads + 1) * r, 0);
		matmul(ops, &n, CIM_ROLE_Q_ABSORB, L, nope, c, m->heads, m->heads, false);
		vector(ops, &n, CIM_ROLE_ATTN_QK, CIM_OP_ATTN_QK, L, (uint64_t)m->heads * (c + r),
		       0);
		vector(ops, &n, CIM_ROLE_SOFTMAX, CIM_OP_SOFTMAX, L, m->heads, 0);
		vector(ops, &n, CIM_ROLE_ATTN_AV, CIM_OP_ATTN_AV, L, (uint64_t)m->heads * c, 0);
		matmul(ops, &n, CIM_ROLE_V_UP, L, c, m->v_dim, m->heads, m->heads, false);
		matmul(ops, &n, CIM_ROLE_O_PROJ, L, m->heads * m->v_dim, m->hidden, 1, 1,
		       m->bias_o);
		vector(ops, &n, CIM_ROLE_ATTN_RESIDUAL, CIM_OP_RESIDUAL, L, d, 0);
		goto ffn;
	}
	matmul(ops, &n, CIM_ROLE_Q_PROJ, L, m->hidden, q, 1, 1, m->bias_qkv);
	matmul(ops, &n, CIM_ROLE_K_PROJ, L, m->hidden, kv, 1, 1, m->bias_qkv);
	matmul(ops, &n, CIM_ROLE_V_PROJ, L, m->hidden, kv, 1, 1, m->bias_qkv);
	if (par) {
		if (m->gated_ffn)
			matmul(ops, &n, CIM_ROLE_FFN_GATE, L, m->hidden, m->ffn, e, k, m->bias_ffn);
		matmul(ops, &n, CIM_ROLE_FFN_UP, L, m->hidden, m->ffn, e, k, m->bias_ffn);
	}
	if (m->qk_norm_q)
		vector(ops, &n, CIM_ROLE_QK_NORM, CIM_OP_NORM, L, (uint64_t)q + kv,
		       (uint64_t)m->qk_norm_q + m->qk_norm_k);
	if (m->pos == CIM_POS_ROPE)
		vector(ops, &n, CIM_ROLE_ROPE, CIM_OP_ROPE, L,
		       (uint64_t)(m->heads + m->kv_heads) * m->rotary_dim, 0);
	if (par) {
		vector(ops, &n, CIM_ROLE_FFN_ACT, CIM_OP_ACT, L, (uint64_t)m->ffn * k, 0);
		if (m->gated_ffn)
			vector(ops, &n, CIM_ROLE_FFN_GATE_MUL, CIM_OP_GATE_MUL, L,
			       (uint64_t)m->ffn * k, 0);
	}
	/* Per attended position: one q·k MAC per query channel, one score per
	 * head for the bias, cap and softmax, one p·v MAC per query channel. */
	vector(ops, &n, CIM_ROLE_ATTN_QK, CIM_OP_ATTN_QK, L, q, 0);
	if (m->pos == CIM_POS_ALIBI)
		vector(ops, &n, CIM_ROLE_ALIBI, CIM_OP_SCALE, L, m->heads, 0);
	if (m->attn_softcap > 0)
		vector(ops, &n, CIM_ROLE_ATTN_SOFTCAP, CIM_OP_SOFTCAP, L, m->heads, 0);
	vector(ops, &n, CIM_ROLE_SOFTMAX, CIM_OP_SOFTMAX, L, m->heads, 0);
	vector(ops, &n, CIM_ROLE_ATTN_AV, CIM_OP_ATTN_AV, L, q, 0);
	matmul(ops, &n, CIM_ROLE_O_PROJ, L, q, m->hidden, 1, 1, m->bias_o);
	if (par)
		matmul(ops, &n, CIM_ROLE_FFN_DOWN, L, m->ffn, m->hidden, e, k, m->bias_ffn);
	if (m->block_norms & CIM_NORM_POST_ATTN)
		vector(ops, &n, CIM_ROLE_POST_ATTN_NORM, CIM_OP_NORM, L, d, norm_params);
	if (m->residual_scale)
		vector(ops, &n, CIM_ROLE_RESIDUAL_SCALE, CIM_OP_SCALE, L, d, 0);
	vector(ops, &n, CIM_ROLE_ATTN_RESIDUAL, CIM_OP_RESIDUAL, L, d, 0);

ffn:
	if (!par) {
		if (m->block_norms & CIM_NORM_PRE_FFN)
			vector(ops, &n, CIM_ROLE_FFN_NORM, CIM_OP_NORM, L, d, norm_params);
		/* Dense first layers (DeepSeek): their own FFN, and the experts'
		 * operators only in the layers after them. */
		const size_t dense_from = n;
		if (m->dense_layers) {
			const uint32_t f = m->dense_ffn;
			matmul(ops, &n, CIM_ROLE_FFN_GATE, L, m->hidden, f, 1, 1, m->bias_ffn);
			matmul(ops, &n, CIM_ROLE_FFN_UP, L, m->hidden, f, 1, 1, m->bias_ffn);
			vector(ops, &n, CIM_ROLE_FFN_ACT, CIM_OP_ACT, L, f, 0);
			vector(ops, &n, CIM_ROLE_FFN_GATE_MUL, CIM_OP_GATE_MUL, L, f, 0);
			matmul(ops, &n, CIM_ROLE_FFN_DOWN, L, f, m->hidden, 1, 1, m->bias_ffn);
			for (size_t i = dense_from; i < n; i++)
				ops[i].layers = CIM_LAYERS_DENSE;
		}
		const size_t moe_from = n;
		if (e > 1)
			matmul(ops, &n, CIM_ROLE_ROUTER, L, m->hidden, e, 1, 1, false);
		if (m->gated_ffn)
			matmul(ops, &n, CIM_ROLE_FFN_GATE, L, m->hidden, m->ffn, e, k, m->bias_ffn);
		matmul(ops, &n, CIM_ROLE_FFN_UP, L, m->hidden, m->ffn, e, k, m->bias_ffn);
		/* A shared expert (Qwen2-MoE) reads the same input beside the
		 * routed ones; its output, scaled by σ(x · w_g), joins theirs. */
		const uint64_t sh = m->shared_ffn;
		if (sh) {
			matmul(ops, &n, CIM_ROLE_SHARED_GATE, L, m->hidden, sh, 1, 1, false);
			matmul(ops, &n, CIM_ROLE_SHARED_UP, L, m->hidden, sh, 1, 1, false);
			if (m->shared_gate)
				matmul(ops, &n, CIM_ROLE_SHARED_EXPERT_GATE, L, m->hidden, 1, 1, 1,
				       false);
		}
		vector(ops, &n, CIM_ROLE_FFN_ACT, CIM_OP_ACT, L, (uint64_t)m->ffn * k, 0);
		if (m->gated_ffn)
			vector(ops, &n, CIM_ROLE_FFN_GATE_MUL, CIM_OP_GATE_MUL, L,
			       (uint64_t)m->ffn * k, 0);
		if (sh) {
			vector(ops, &n, CIM_ROLE_SHARED_ACT, CIM_OP_ACT, L, sh, 0);
			vector(ops, &n, CIM_ROLE_SHARED_GATE_MUL, CIM_OP_GATE_MUL, L, sh, 0);
		}
		matmul(ops, &n, CIM_ROLE_FFN_DOWN, L, m->ffn, m->hidden, e, k, m->bias_ffn);
		if (sh) {
			matmul(ops, &n, CIM_ROLE_SHARED_DOWN, L, sh, m->hidden, 1, 1, false);
			if (m->shared_gate)
				vector(ops, &n, CIM_ROLE_SHARED_SCALE, CIM_OP_SCALE, L, d, 0);
		}
		for (size_t i = moe_from; m->dense_layers && i < n; i++)
			ops[i].layers = CIM_LAYERS_MOE;
		if (m->block_norms & CIM_NORM_POST_FFN)
			vector(ops, &n, CIM_ROLE_POST_FFN_NORM, CIM_OP_NORM, L, d, norm_params);
		if (m->residual_scale)
			vector(ops, &n, CIM_ROLE_RESIDUAL_SCALE, CIM_OP_SCALE, L, d, 0);
	}
	vector(ops, &n, CIM_ROLE_FFN_RESIDUAL, CIM_OP_RESIDUAL, L, d, 0);

	vector(ops, &n, CIM_ROLE_FINAL_NORM, CIM_OP_NORM, CIM_SCOPE_POST, d, norm_params);
	matmul(ops, &n, CIM_ROLE_LM_HEAD, CIM_SCOPE_POST, m->hidden, m->vocab, 1, 1, m->bias_head);
	if (m->tied_embeddings)
		ops[n - 1].params -= (uint64_t)m->vocab * d; /* the embedding serves as the head */
	if (m->logit_scale)
		vector(ops, &n, CIM_ROLE_LOGIT_SCALE, CIM_OP_SCALE, CIM_SCOPE_POST, m->vocab, 0);
	if (m->logit_softcap > 0)
		vector(ops, &n, CIM_ROLE_LOGIT_SOFTCAP, CIM_OP_SOFTCAP, CIM_SCOPE_POST, m->vocab,
		       0);
	vector(ops, &n, CIM_ROLE_SAMPLE, CIM_OP_SAMPLE, CIM_SCOPE_POST, m->vocab, 0);
	assert(n <= CIM_MODEL_MAX_OPS);
	return n;
}

uint32_t cim_model_window(const struct cim_model_spec *m, uint32_t layer)
{
	if (!m->sliding_window || layer >= CIM_MODEL_MAX_LAYERS)
		return 0;
	return m->local[layer / 64] >> (layer % 64) & 1 ? m->sliding_window : 0;
}

uint64_t cim_model_kv_positions(const struct cim_model_spec *m, uint32_t first, uint32_t n,
				uint64_t ctx)
{
	uint64_t sum = 0;

	for (uint32_t l = first; l < first + n; l++) {
		uint32_t w = cim_model_window(m, l);
		sum += w && ctx > w ? w : ctx;
	}
	return sum;
}

uint64_t cim_model_norm_params(const struct cim_model_spec *m, enum cim_op_scope scope)
{
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t n = cim_model_ops(m, ops);
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (ops[i].scope == scope && ops[i].kind == CIM_OP_NORM)
			sum += ops[i].params;
	return sum;
}

void cim_model_stats(const struct cim_model_spec *m, struct cim_model_stats *out)
{
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	struct cim_model_stats s = { 0 };
	size_t n = cim_model_ops(m, ops);

	for (size_t i = 0; i < n; i++) {
		const struct cim_op *op = &ops[i];
		uint64_t times = cim_op_layer_count(m, op, 0, m->layers);
		uint64_t p = op->params * times;
		/* Active parameters, as Mixtral's authors count them: all but the
		 * experts a token is not routed to. */
		uint64_t active = cim_op_routed(op) ? p / op->count * op->active : p;

		s.params += p;
		if (op->kind == CIM_OP_EMBED) {
			s.params_embedding += p;
		} else if (op->kind == CIM_OP_NORM) {
			s.params_norm += p;
		} else if (op->role == CIM_ROLE_ROUTER) {
			s.params_router += p;
		} else if (op->role >= CIM_ROLE_SHARED_GATE && op->role <= CIM_ROLE_SHARED_SCALE) {
			s.params_shared += p;
		} else if (op->role == CIM_ROLE_LM_HEAD) {
			s.params_lm_head += p;
		} else if (cim_op_role_is_ffn_matrix(op->role)) {
			s.params_ffn += p;
			if (cim_op_routed(op))
				s.params_routed += p;
		} else {
			s.params_attention += p;
		}
		s.params_active += active;
	}
	s.kv_elems_per_token = (uint64_t)m->layers * m->kv_heads * cim_model_kv_width(m);
	*out = s;
}

/* Weight MACs of one token: every active matrix once (the LM head too);
 * attention MACs per attended position of one layer in *attn_per_pos. */
static uint64_t weight_macs(const struct cim_model_spec *m, uint64_t *attn_per_pos)
{
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t n = cim_model_ops(m, ops);
	uint64_t macs = 0, attn = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t times = cim_op_layer_count(m, &ops[i], 0, m->layers);
		if (ops[i].kind == CIM_OP_MATMUL)
			macs += times * ops[i].active * (uint64_t)ops[i].k * ops[i].n;
		else if (ops[i].kind == CIM_OP_ATTN_QK || ops[i].kind == CIM_OP_ATTN_AV)
			attn += ops[i].elems;
	}
	*attn_per_pos = attn;
	return macs;
}

uint64_t cim_model_decode_macs(const struct cim_model_spec *m, uint64_t ctx)
{
	uint64_t attn, w = weight_macs(m, &attn);

	return w + attn * cim_model_kv_positions(m, 0, m->layers, ctx);
}

/* Positions a causal prefill of p tokens attends in a layer with window
 * win (0 = full): token i (1-based) attends min(i, win). */
static uint64_t causal_positions(uint64_t p, uint64_t win)
{
	if (win && p > win)
		return win * (win + 1) / 2 + (p - win) * win;
	return p * (p + 1) / 2;
}

uint64_t cim_model_prefill_macs(const struct cim_model_spec *m, uint64_t p)
{
	uint64_t attn, w = weight_macs(m, &attn);
	uint64_t positions = 0;

	for (uint32_t l = 0; l < m->layers; l++)
		positions += causal_positions(p, cim_model_window(m, l));
	return p * w + attn * positions;
}
