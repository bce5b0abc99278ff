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
#include <stdio.h>
#include <string.h>

#include "schema.h"

static const char *const arch_words[] = { "gpt2", "opt", "llama", "mistral", "mixtral", NULL };

const char *cim_arch_name(enum cim_arch a)
{
	return arch_words[a];
}

/* Activation names in HF configs, and what each is to the cost model. */
static const char *const act_words[] = { "gelu_new",   "gelu", "gelu_fast", "gelu_pytorch_tanh",
					 "quick_gelu", "relu", "silu",	    "swish",
					 NULL };
static const enum cim_act act_kind[] = { CIM_ACT_GELU, CIM_ACT_GELU, CIM_ACT_GELU, CIM_ACT_GELU,
					 CIM_ACT_GELU, CIM_ACT_RELU, CIM_ACT_SILU, CIM_ACT_SILU };

static const char *const rope_words[] = { "default", "linear",	 "dynamic", "llama3",
					  "yarn",    "longrope", NULL };

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

/* Every key we read from any of the supported model_types. */
struct hf {
	char name[64];
	int type;
	uint32_t hidden, layers, heads, kv_heads, head_dim, ffn, vocab, max_pos, proj_dim;
	uint32_t experts, experts_per_tok, window;
	bool tie, attention_bias, mlp_bias, enable_bias;
	int act;
	double eps, rope_theta;
	struct rope rope;
	bool has_kv_heads, has_head_dim, has_ffn, has_rope, has_proj_dim;
};

static const struct field rope_fields[] = {
	FENUM("rope_type", struct rope, type, 0, rope_words, "how positions are rescaled"),
	FENUM("type", struct rope, type, 0, rope_words, "how positions are rescaled"),
	FF64("factor", struct rope, factor, FIELD_POSITIVE, 0, 0, 0, "context scaling factor"),
};
SCHEMA(rope_schema, "rope_scaling", rope_fields, true);

static const struct field type_fields[] = {
	FENUM("model_type", struct hf, type, FIELD_REQUIRED, arch_words,
	      "the architecture: gpt2, opt, llama, mistral or mixtral"),
	FSTR("name", struct hf, name, 0, "a name for reports"),
};
SCHEMA(type_schema, "model", type_fields, true);

#define U32(k, m, fl, h) FU32(k, struct hf, m, fl, 1, 0, h)

static const struct field gpt2_fields[] = {
	U32("n_embd", hidden, FIELD_REQUIRED, "model width"),
	U32("n_layer", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("n_head", heads, FIELD_REQUIRED, "attention heads"),
	{ .key = "n_inner",
	  .type = F_U32,
	  .offset = offsetof(struct hf, ffn),
	  .flags = FIELD_NULL_OK,
	  .min = 1,
	  .hint = "FFN width, null for 4·n_embd",
	  .present = offsetof(struct hf, has_ffn) },
	U32("n_positions", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("layer_norm_epsilon", struct hf, eps, 0, 0, 1, 0, "LayerNorm epsilon"),
	FENUM("activation_function", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(gpt2_schema, "GPT-2 config", gpt2_fields, true);

static const struct field opt_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("num_attention_heads", heads, FIELD_REQUIRED, "attention heads"),
	U32("ffn_dim", ffn, FIELD_REQUIRED, "FFN width"),
	U32("max_position_embeddings", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	{ .key = "word_embed_proj_dim",
	  .type = F_U32,
	  .offset = offsetof(struct hf, proj_dim),
	  .flags = FIELD_NULL_OK,
	  .min = 1,
	  .hint = "embedding width",
	  .present = offsetof(struct hf, has_proj_dim) },
	FENUM("activation_function", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("enable_bias", struct hf, enable_bias, 0, "linear layers carry biases"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
};
SCHEMA(opt_schema, "OPT config", opt_fields, true);

static const struct field llama_fields[] = {
	U32("hidden_size", hidden, FIELD_REQUIRED, "model width"),
	U32("num_hidden_layers", layers, FIELD_REQUIRED, "decoder blocks"),
	U32("num_attention_heads", heads, FIELD_REQUIRED, "attention heads"),
	{ .key = "num_key_value_heads",
	  .type = F_U32,
	  .offset = offsetof(struct hf, kv_heads),
	  .flags = FIELD_NULL_OK,
	  .min = 1,
	  .hint = "key/value heads",
	  .present = offsetof(struct hf, has_kv_heads) },
	{ .key = "head_dim",
	  .type = F_U32,
	  .offset = offsetof(struct hf, head_dim),
	  .flags = FIELD_NULL_OK,
	  .min = 1,
	  .hint = "width of one head",
	  .present = offsetof(struct hf, has_head_dim) },
	U32("intermediate_size", ffn, FIELD_REQUIRED, "FFN width"),
	U32("max_position_embeddings", max_pos, FIELD_REQUIRED, "longest context"),
	U32("vocab_size", vocab, FIELD_REQUIRED, "vocabulary size"),
	FF64("rms_norm_eps", struct hf, eps, 0, 0, 1, 0, "RMSNorm epsilon"),
	FF64("rope_theta", struct hf, rope_theta, FIELD_POSITIVE, 0, 0, 0, "RoPE base"),
	{ .key = "rope_scaling",
	  .type = F_MAP,
	  .offset = offsetof(struct hf, rope),
	  .flags = FIELD_NULL_OK,
	  .sub = &rope_schema,
	  .present = offsetof(struct hf, has_rope) },
	FENUM("hidden_act", struct hf, act, 0, act_words, "FFN activation"),
	FBOOL("tie_word_embeddings", struct hf, tie, 0, "LM head shares the embedding"),
	FBOOL("attention_bias", struct hf, attention_bias, 0, "q/k/v/o carry biases"),
	FBOOL("mlp_bias", struct hf, mlp_bias, 0, "FFN carries biases"),
	{ .key = "sliding_window",
	  .type = F_U32,
	  .offset = offsetof(struct hf, window),
	  .flags = FIELD_NULL_OK,
	  .min = 1,
	  .hint = "attention window",
	  .present = -1 },
	U32("num_local_experts", experts, 0, "FFN experts per layer"),
	U32("num_experts_per_tok", experts_per_tok, 0, "experts per token"),
};
SCHEMA(llama_schema, "Llama-family config", llama_fields, true);

static const struct schema *const arch_schema[] = {
	[CIM_ARCH_GPT2] = &gpt2_schema,	    [CIM_ARCH_OPT] = &opt_schema,
	[CIM_ARCH_LLAMA] = &llama_schema,   [CIM_ARCH_MISTRAL] = &llama_schema,
	[CIM_ARCH_MIXTRAL] = &llama_schema,
};

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

int spec_read_model(const struct tnode *node, const char *path, struct cim_model_spec *out,
		    struct cim_err *err)
{
	struct hf h = { .experts = 1,
			.experts_per_tok = 1,
			.tie = false,
			.enable_bias = true,
			.rope = { .factor = 1 } };
	struct cim_model_spec m = { 0 };
	char kp[256];

	if (spec_read_map(node, &type_schema, path, &h, err))
		return -1;
	m.arch = (enum cim_arch)h.type;
	/* Defaults are those of the transformers classes for absent keys. */
	switch (m.arch) {
	case CIM_ARCH_GPT2:
		h.tie = true;
		h.act = act_index("gelu_new");
		h.eps = 1e-5;
		break;
	case CIM_ARCH_OPT:
		h.tie = true;
		h.act = act_index("relu");
		h.eps = 1e-5;
		break;
	default:
		h.act = act_index("silu");
		h.eps = 1e-6;
		h.rope_theta = 10000;
		break;
	}
	if (spec_read_map(node, arch_schema[m.arch], path, &h, err))
		return -1;

	snprintf(m.name, sizeof(m.name), "%s", h.name[0] ? h.name : arch_words[h.type]);
	m.layers = h.layers;
	m.hidden = h.hidden;
	m.heads = h.heads;
	m.kv_heads = h.has_kv_heads ? h.kv_heads : h.heads;
	m.vocab = h.vocab;
	m.max_positions = h.max_pos;
	m.experts = h.experts;
	m.experts_per_token = h.experts_per_tok;
	m.sliding_window = h.window;
	m.tied_embeddings = h.tie;
	m.act = act_kind[h.act];
	m.norm_eps = h.eps;
	m.rope_factor = 1;

	const char *heads_key = m.arch == CIM_ARCH_GPT2 ? "n_head" : "num_attention_heads";
	const char *hidden_key = m.arch == CIM_ARCH_GPT2 ? "n_embd" : "hidden_size";
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
	if (m.heads % m.kv_heads) {
		join_path(kp, sizeof(kp), path, "num_key_value_heads");
		return spec_errf(err, at(node, "num_key_value_heads"), kp,
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

	switch (m.arch) {
	case CIM_ARCH_GPT2:
		m.ffn = h.has_ffn ? h.ffn : 4 * m.hidden;
		m.pos_table = m.max_positions;
		m.linear_bias = true;
		m.norm = CIM_NORM_LAYERNORM;
		m.pos = CIM_POS_LEARNED;
		break;
	case CIM_ARCH_OPT:
		if (h.has_proj_dim && h.proj_dim != m.hidden) {
			join_path(kp, sizeof(kp), path, "word_embed_proj_dim");
			return spec_errf(err, at(node, "word_embed_proj_dim"), kp,
					 "%u differs from hidden_size %u: OPT's embedding "
					 "projection (opt-350m) is not modelled",
					 h.proj_dim, m.hidden);
		}
		m.ffn = h.ffn;
		/* OPT's learned positions are offset by 2 rows (OPTLearnedPositional-
		 * Embedding in transformers). */
		m.pos_table = m.max_positions + 2;
		m.linear_bias = h.enable_bias;
		m.norm = CIM_NORM_LAYERNORM;
		m.pos = CIM_POS_LEARNED;
		break;
	default:
		m.ffn = h.ffn;
		m.linear_bias = h.attention_bias;
		m.gated_ffn = true;
		m.norm = CIM_NORM_RMSNORM;
		m.pos = CIM_POS_ROPE;
		m.rope_theta = h.rope_theta;
		if (h.has_rope)
			m.rope_factor = h.rope.factor;
		break;
	}
	if (m.arch != CIM_ARCH_MIXTRAL && m.experts > 1) {
		join_path(kp, sizeof(kp), path, "num_local_experts");
		return spec_errf(err, at(node, "num_local_experts"), kp,
				 "%u experts given for model_type %s; set model_type: mixtral "
				 "for a mixture-of-experts model",
				 m.experts, arch_words[m.arch]);
	}
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
	[CIM_ROLE_KV_APPEND] = "kv_append",
	[CIM_ROLE_ATTENTION] = "attention",
	[CIM_ROLE_ATTN_ALLREDUCE] = "attn_allreduce",
	[CIM_ROLE_FFN_ALLREDUCE] = "ffn_allreduce",
	[CIM_ROLE_SAMPLE_GATHER] = "sample_gather",
};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == CIM_ROLE_NROLES,
	       "one name per operator role");

static const char *const kind_names[] = {
	[CIM_OP_EMBED] = "embed",	[CIM_OP_NORM] = "norm",
	[CIM_OP_MATMUL] = "matmul",	[CIM_OP_ROPE] = "rope",
	[CIM_OP_ATTN_QK] = "attn_qk",	[CIM_OP_SOFTMAX] = "softmax",
	[CIM_OP_ATTN_AV] = "attn_av",	[CIM_OP_ACT] = "act",
	[CIM_OP_GATE_MUL] = "gate_mul", [CIM_OP_RESIDUAL] = "residual",
	[CIM_OP_SAMPLE] = "sample",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == CIM_OP_SAMPLE + 1,
	       "one name per operator kind");

const char *cim_op_kind_name(enum cim_op_kind kind)
{
	return (unsigned)kind <= CIM_OP_SAMPLE ? kind_names[kind] : "?";
}

const char *cim_op_role_name(enum cim_op_role role)
{
	return (unsigned)role < CIM_ROLE_NROLES ? role_names[role] : "?";
}

bool cim_op_role_is_ffn_matrix(enum cim_op_role role)
{
	return role == CIM_ROLE_FFN_GATE || role == CIM_ROLE_FFN_UP || role == CIM_ROLE_FFN_DOWN;
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
	const bool b = m->linear_bias;
	const enum cim_op_scope L = CIM_SCOPE_LAYER;
	size_t n = 0;

	vector(ops, &n, CIM_ROLE_EMBED, CIM_OP_EMBED, CIM_SCOPE_PRE, d,
	       (uint64_t)m->vocab * d + (uint64_t)m->pos_table * d);

	vector(ops, &n, CIM_ROLE_ATTN_NORM, CIM_OP_NORM, L, d, norm_params);
	matmul(ops, &n, CIM_ROLE_Q_PROJ, L, m->hidden, q, 1, 1, b);
	matmul(ops, &n, CIM_ROLE_K_PROJ, L, m->hidden, kv, 1, 1, b);
	matmul(ops, &n, CIM_ROLE_V_PROJ, L, m->hidden, kv, 1, 1, b);
	if (m->pos == CIM_POS_ROPE)
		vector(ops, &n, CIM_ROLE_ROPE, CIM_OP_ROPE, L, (uint64_t)q + kv, 0);
	/* Per attended position: one q·k MAC per query channel, one score per
	 * head for the softmax, one p·v MAC per query channel. */
	vector(ops, &n, CIM_ROLE_ATTN_QK, CIM_OP_ATTN_QK, L, q, 0);
	vector(ops, &n, CIM_ROLE_SOFTMAX, CIM_OP_SOFTMAX, L, m->heads, 0);
	vector(ops, &n, CIM_ROLE_ATTN_AV, CIM_OP_ATTN_AV, L, q, 0);
	matmul(ops, &n, CIM_ROLE_O_PROJ, L, q, m->hidden, 1, 1, b);
	vector(ops, &n, CIM_ROLE_ATTN_RESIDUAL, CIM_OP_RESIDUAL, L, d, 0);

	vector(ops, &n, CIM_ROLE_FFN_NORM, CIM_OP_NORM, L, d, norm_params);
	const uint32_t e = m->experts, k = m->experts_per_token;
	if (e > 1)
		matmul(ops, &n, CIM_ROLE_ROUTER, L, m->hidden, e, 1, 1, false);
	const bool fb = m->arch == CIM_ARCH_GPT2 || m->arch == CIM_ARCH_OPT ? b : false;
	if (m->gated_ffn)
		matmul(ops, &n, CIM_ROLE_FFN_GATE, L, m->hidden, m->ffn, e, k, fb);
	matmul(ops, &n, CIM_ROLE_FFN_UP, L, m->hidden, m->ffn, e, k, fb);
	vector(ops, &n, CIM_ROLE_FFN_ACT, CIM_OP_ACT, L, (uint64_t)m->ffn * k, 0);
	if (m->gated_ffn)
		vector(ops, &n, CIM_ROLE_FFN_GATE_MUL, CIM_OP_GATE_MUL, L, (uint64_t)m->ffn * k, 0);
	matmul(ops, &n, CIM_ROLE_FFN_DOWN, L, m->ffn, m->hidden, e, k, fb);
	vector(ops, &n, CIM_ROLE_FFN_RESIDUAL, CIM_OP_RESIDUAL, L, d, 0);

	vector(ops, &n, CIM_ROLE_FINAL_NORM, CIM_OP_NORM, CIM_SCOPE_POST, d, norm_params);
	matmul(ops, &n, CIM_ROLE_LM_HEAD, CIM_SCOPE_POST, m->hidden, m->vocab, 1, 1, false);
	if (m->tied_embeddings)
		ops[n - 1].params = 0; /* the embedding table serves as the head */
	vector(ops, &n, CIM_ROLE_SAMPLE, CIM_OP_SAMPLE, CIM_SCOPE_POST, m->vocab, 0);
	return n;
}

void cim_model_stats(const struct cim_model_spec *m, struct cim_model_stats *out)
{
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	struct cim_model_stats s = { 0 };
	size_t n = cim_model_ops(m, ops);

	for (size_t i = 0; i < n; i++) {
		const struct cim_op *op = &ops[i];
		uint64_t times = op->scope == CIM_SCOPE_LAYER ? m->layers : 1;
		uint64_t p = op->params * times;
		/* Active parameters, as Mixtral's authors count them: all but the
		 * experts a token is not routed to. */
		uint64_t active = op->count > 1 ? p / op->count * op->active : p;

		s.params += p;
		if (op->kind == CIM_OP_EMBED) {
			s.params_embedding += p;
		} else if (op->kind == CIM_OP_NORM) {
			s.params_norm += p;
		} else if (op->role == CIM_ROLE_ROUTER) {
			s.params_router += p;
		} else if (op->role == CIM_ROLE_LM_HEAD) {
			s.params_lm_head += p;
		} else if (cim_op_role_is_ffn_matrix(op->role)) {
			s.params_ffn += p;
		} else {
			s.params_attention += p;
		}
		s.params_active += active;
	}
	s.kv_elems_per_token = 2ull * m->layers * m->kv_heads * m->head_dim;
	*out = s;
}

/* Weight MACs of one token: every active matrix once (the LM head too). */
static uint64_t weight_macs(const struct cim_model_spec *m, uint64_t *attn_per_pos)
{
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t n = cim_model_ops(m, ops);
	uint64_t macs = 0, attn = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t times = ops[i].scope == CIM_SCOPE_LAYER ? m->layers : 1;
		if (ops[i].kind == CIM_OP_MATMUL)
			macs += times * ops[i].active * (uint64_t)ops[i].k * ops[i].n;
		else if (ops[i].kind == CIM_OP_ATTN_QK || ops[i].kind == CIM_OP_ATTN_AV)
			attn += times * ops[i].elems;
	}
	*attn_per_pos = attn;
	return macs;
}

static uint64_t attended(const struct cim_model_spec *m, uint64_t ctx)
{
	return m->sliding_window && ctx > m->sliding_window ? m->sliding_window : ctx;
}

uint64_t cim_model_decode_macs(const struct cim_model_spec *m, uint64_t ctx)
{
	uint64_t attn, w = weight_macs(m, &attn);

	return w + attn * attended(m, ctx);
}

uint64_t cim_model_prefill_macs(const struct cim_model_spec *m, uint64_t p)
{
	uint64_t attn, w = weight_macs(m, &attn);
	uint64_t positions;

	/* Causal: token i (1-based) attends min(i, window) positions. */
	if (m->sliding_window && p > m->sliding_window) {
		uint64_t win = m->sliding_window;
		positions = win * (win + 1) / 2 + (p - win) * win;
	} else {
		positions = p * (p + 1) / 2;
	}
	return p * w + attn * positions;
}
