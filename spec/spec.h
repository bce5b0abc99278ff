/*
 * spec.h — the validated description of what is simulated.
 *
 * An experiment names a model, a chip, an interconnect, a workload and the
 * parallelism.  This part reads them from YAML experiment files and Hugging
 * Face config.json files, checks every value strictly, converts human units
 * to internal ones once (time in picoseconds, energy in picojoules, power in
 * watts = pJ/ps, bandwidth in bytes per second, bytes as integers) and derives
 * each layer's operators from the model.  It knows nothing of MPI: files are
 * read into a cim_files bundle that the coordinator broadcasts, and every
 * rank parses the same bytes.
 */
#ifndef CIM_SPEC_SPEC_H
#define CIM_SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit code of every input error (bad file, bad key, bad value). */
#define CIM_EXIT_INPUT 2

/*
 * The latest simulated time, 2^62 ps (53.4 days).  Durations made from
 * rates saturate there (cim_ps_ceil), so a sum of a few never wraps, and the
 * executor refuses a step that would end past it, naming the step, instead
 * of running on a wrapped clock.
 */
#define CIM_PS_LIMIT (UINT64_C(1) << 62)

/* ⌈ps⌉ as picoseconds, CIM_PS_LIMIT when it is not below it (or NaN). */
static inline uint64_t cim_ps_ceil(double ps)
{
	if (!(ps < (double)CIM_PS_LIMIT))
		return CIM_PS_LIMIT;
	uint64_t t = (uint64_t)ps;
	return (double)t < ps ? t + 1 : t;
}

/* A message for the user; functions that fail fill it and return < 0. */
struct cim_err {
	char msg[2048];
};

/* Writes a formatted message into err (truncating); returns -1. */
int cim_err_set(struct cim_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ ranks */

/* Ranks lo..hi, both included. */
struct cim_rank_range {
	uint32_t lo, hi;
};

/* What a rank list may hold, and how its messages name it. */
struct cim_rank_rules {
	const char *what;    /* the option, first in every message: "--group" */
	const char *like;    /* examples for messages: "0,3-5" */
	uint32_t max_rank;   /* the highest rank a list may name */
	uint32_t max_ranges; /* the most items a list may have */
};

/*
 * Parses a rank list such as "0,3-5": items N or A-B (A ≤ B) separated by
 * commas, each rank a decimal without sign or leading zeros, at most
 * rules->max_rank.  On success writes the items as written into
 * ranges_out[0..*n_out) (room for rules->max_ranges); on failure fills err
 * with rules->what, what was expected and what was found, sets nothing and
 * returns -1.  A rank named twice is the caller's to refuse.
 */
int cim_spec_parse_ranks(const char *text, const struct cim_rank_rules *rules,
			 struct cim_rank_range *ranges_out, uint32_t *n_out, struct cim_err *err);

/* ------------------------------------------------------------------ files */

/*
 * A bundle of files by path: the experiment and every file it names.  On
 * the rank that reads the disk it fills itself as files are asked for; on the
 * others it is unpacked from the bytes that rank broadcast and never touches
 * the disk.
 */
struct cim_files;

/* Makes an empty bundle; from_disk says whether a missing file may be read
 * from the file system.  Free with cim_files_destroy. */
struct cim_files *cim_files_create(bool from_disk);
void cim_files_destroy(struct cim_files *files);

/* Finds path in the bundle (reading it from disk first when allowed).  The
 * bytes stay owned by the bundle and are NUL-terminated. */
int cim_files_get(struct cim_files *files, const char *path, const char **data_p, size_t *len_p,
		  struct cim_err *err);

/* The bundle's own copy of path (valid while the bundle lives), or NULL
 * when path is not in it. */
const char *cim_files_name(const struct cim_files *files, const char *path);

/* Puts a copy of data under path, replacing what was there (tests and
 * programs that make inputs in memory). */
int cim_files_put(struct cim_files *files, const char *path, const char *data, size_t len);

/* Packs the bundle with msgpack into a malloc'd buffer the caller frees. */
int cim_files_pack(const struct cim_files *files, char **buf_p, size_t *len_p, struct cim_err *err);
/* Makes a bundle (not reading the disk) from packed bytes. */
int cim_files_unpack(const char *buf, size_t len, struct cim_files **files_p, struct cim_err *err);

/* -------------------------------------------------------------------- csv */

/* Writes text as one CSV field (RFC 4180): as it is, or in double quotes,
 * inner quotes doubled, when it holds a comma, a quote, a CR or an LF. */
void cim_csv_field(FILE *f, const char *text);

/* ------------------------------------------------------------------ model */

enum cim_arch {
	CIM_ARCH_GPT2,
	CIM_ARCH_OPT,
	CIM_ARCH_LLAMA,
	CIM_ARCH_MISTRAL,
	CIM_ARCH_MIXTRAL,
	CIM_ARCH_QWEN2,
	CIM_ARCH_QWEN3,
	CIM_ARCH_GEMMA,
	CIM_ARCH_GEMMA2,
	CIM_ARCH_GEMMA3,
	CIM_ARCH_PHI3,
	CIM_ARCH_FALCON,
	CIM_ARCH_GPTJ,
	CIM_ARCH_GPT_NEOX,
	CIM_ARCH_BLOOM,
	CIM_ARCH_GRANITE,
	CIM_ARCH_OLMO2,
	CIM_ARCH_QWEN2_MOE,
	CIM_ARCH_DEEPSEEK_V2,
	CIM_ARCH_DEEPSEEK_V3,
	CIM_ARCH_N
};
enum cim_norm { CIM_NORM_LAYERNORM, CIM_NORM_RMSNORM };
enum cim_act { CIM_ACT_GELU, CIM_ACT_RELU, CIM_ACT_SILU };
enum cim_pos { CIM_POS_LEARNED, CIM_POS_ROPE, CIM_POS_ALIBI };

/* The norms of a decoder block (bits of cim_model_spec.block_norms). */
#define CIM_NORM_PRE_ATTN  0x1u /* before attention (input_layernorm) */
#define CIM_NORM_PRE_FFN   0x2u /* before the FFN */
#define CIM_NORM_POST_ATTN 0x4u /* on attention's output, before its residual */
#define CIM_NORM_POST_FFN  0x8u /* on the FFN's output, before its residual */

#define CIM_MODEL_MAX_LAYERS 16384

/* A decoder-only transformer's architecture numbers. */
struct cim_model_spec {
	char name[64];
	enum cim_arch arch;
	uint32_t layers;	    /* decoder blocks */
	uint32_t hidden;	    /* model width d */
	uint32_t heads;		    /* query heads */
	uint32_t kv_heads;	    /* key/value heads (grouped-query attention) */
	uint32_t head_dim;	    /* width of one head's query and key */
	uint32_t v_dim;		    /* width of one head's value: head_dim, but
				       v_head_dim under latent attention */
	uint32_t rotary_dim;	    /* channels of a head RoPE rotates (partial rotary) */
	uint32_t ffn;		    /* FFN inner width (per expert) */
	uint32_t vocab;		    /* vocabulary size */
	uint32_t max_positions;	    /* longest context the model supports */
	uint32_t pos_table;	    /* rows of the learned position table, 0 with RoPE */
	uint32_t experts;	    /* FFN experts per layer, 1 when dense */
	uint32_t experts_per_token; /* experts each token is routed to */
	uint32_t shared_ffn;	    /* FFN width of an expert every token takes
				       besides its routed ones (Qwen2-MoE), 0 none */
	bool shared_gate;	    /* the shared expert's output × σ(x · w_g), w_g
				       a d × 1 matrix (Qwen2-MoE) */
	uint32_t dense_layers;	    /* the first this many layers have a dense FFN
				       of dense_ffn instead of experts (DeepSeek's
				       first_k_dense_replace), 0 none */
	uint32_t dense_ffn;	    /* their FFN width */
	uint32_t kv_lora;	    /* multi-head latent attention (DeepSeek-V2):
				       the width of the compressed KV latent that
				       is cached, 0 for standard attention */
	uint32_t q_lora;	    /* ... and of the compressed query, 0 when q
				       is projected from the hidden state */
	uint32_t sliding_window;    /* attention window in tokens of the local layers */
	uint32_t local_layers;	    /* how many layers attend within the window */
	uint64_t local[CIM_MODEL_MAX_LAYERS / 64]; /* bit l: layer l is local */
	uint32_t qk_norm_q, qk_norm_k;		   /* weights of the q and k norms, 0 = none */
	uint32_t block_norms;			   /* CIM_NORM_* bits */
	bool tied_embeddings;			   /* the LM head shares the token embedding */
	bool bias_qkv;				   /* q, k, v projections carry biases */
	bool bias_o;				   /* o_proj carries biases */
	bool bias_ffn;				   /* FFN matrices carry biases */
	bool bias_head;				   /* the LM head carries biases (GPT-J) */
	bool gated_ffn;				   /* gate·up → act → down (SwiGLU, GeGLU) */
	bool parallel_block;			   /* attention and FFN read one input (GPT-J) */
	bool embed_norm;			   /* a norm after the embedding (BLOOM) */
	bool embed_scale;			   /* embeddings multiplied (Gemma, Granite) */
	bool residual_scale;			   /* branch outputs multiplied (Granite) */
	bool logit_scale;			   /* logits divided (Granite) */
	double attn_softcap;			   /* tanh cap of attention scores, 0 = none */
	double logit_softcap;			   /* tanh cap of the logits, 0 = none */
	enum cim_norm norm;
	enum cim_act act;
	enum cim_pos pos;
	double norm_eps;
	double rope_theta;  /* 0 without RoPE */
	double rope_factor; /* rope_scaling.factor, 1 when absent */
};

/* Whether layer l has the dense FFN (below dense_layers) instead of experts. */
bool cim_model_layer_dense(const struct cim_model_spec *m, uint32_t l);
/* Values one KV head caches per position: K and V, 2 · head_dim; under
 * latent attention the latent and the shared RoPE key, kv_lora + rotary_dim
 * (one "KV head" of it, read as both K and V). */
uint32_t cim_model_kv_width(const struct cim_model_spec *m);

/* The window layer attends within, 0 for full attention. */
uint32_t cim_model_window(const struct cim_model_spec *m, uint32_t layer);
/* Positions the KV caches of layers first..first+n-1 hold for one sequence
 * at context ctx: Σ min(ctx, window of the layer). */
uint64_t cim_model_kv_positions(const struct cim_model_spec *m, uint32_t first, uint32_t n,
				uint64_t ctx);

/* The operators of the model, per token, as the chip model prices them. */
enum cim_op_kind {
	CIM_OP_EMBED,	 /* token (and position) lookup: elems = d */
	CIM_OP_NORM,	 /* LayerNorm / RMSNorm over d elements */
	CIM_OP_MATMUL,	 /* weight-stationary K×N matrix, `count` copies */
	CIM_OP_ROPE,	 /* rotary embedding of q and k */
	CIM_OP_ATTN_QK,	 /* q·kᵀ against the KV cache (dynamic operands) */
	CIM_OP_SOFTMAX,	 /* softmax over the attended positions */
	CIM_OP_ATTN_AV,	 /* softmax·V against the KV cache */
	CIM_OP_ACT,	 /* GELU / ReLU / SiLU */
	CIM_OP_GATE_MUL, /* act(gate) · up */
	CIM_OP_RESIDUAL, /* residual add */
	CIM_OP_SAMPLE,	 /* argmax / sampling over the vocabulary */
	CIM_OP_SCALE,	 /* one multiply or add per element (scales, ALiBi) */
	CIM_OP_SOFTCAP,	 /* c·tanh(x/c): scale, tanh, scale */
};

enum cim_op_scope { CIM_SCOPE_PRE, CIM_SCOPE_LAYER, CIM_SCOPE_POST };

/*
 * What an operator is for: the one vocabulary by which the partitioner
 * splits matrices, the program fuses steps and the executor keeps the KV
 * cache.  Decisions ask the role; cim_op_role_name() is for display only.
 * The first group are the model's operators (cim_model_ops()); the second
 * are steps of a chip's program that add to them (partitioner.h).
 */
enum cim_op_role {
	CIM_ROLE_EMBED,
	CIM_ROLE_ATTN_NORM,
	CIM_ROLE_Q_PROJ,
	CIM_ROLE_K_PROJ,
	CIM_ROLE_V_PROJ,
	CIM_ROLE_ROPE,
	CIM_ROLE_ATTN_QK,
	CIM_ROLE_SOFTMAX,
	CIM_ROLE_ATTN_AV,
	CIM_ROLE_O_PROJ,
	CIM_ROLE_ATTN_RESIDUAL,
	CIM_ROLE_FFN_NORM,
	CIM_ROLE_ROUTER,
	CIM_ROLE_FFN_GATE,
	CIM_ROLE_FFN_UP,
	CIM_ROLE_FFN_ACT,
	CIM_ROLE_FFN_GATE_MUL,
	CIM_ROLE_FFN_DOWN,
	CIM_ROLE_FFN_RESIDUAL,
	CIM_ROLE_FINAL_NORM,
	CIM_ROLE_LM_HEAD,
	CIM_ROLE_SAMPLE,
	CIM_ROLE_EMBED_SCALE,	 /* embeddings × √d (Gemma) or a multiplier */
	CIM_ROLE_EMBED_NORM,	 /* LayerNorm after the embedding (BLOOM) */
	CIM_ROLE_QK_NORM,	 /* RMSNorm of q and k (Qwen3, OLMo 2, Gemma 3) */
	CIM_ROLE_ALIBI,		 /* linear position biases added to scores */
	CIM_ROLE_ATTN_SOFTCAP,	 /* tanh cap of the scores (Gemma 2) */
	CIM_ROLE_POST_ATTN_NORM, /* norm of attention's output (Gemma 2, OLMo 2) */
	CIM_ROLE_POST_FFN_NORM,	 /* norm of the FFN's output */
	CIM_ROLE_RESIDUAL_SCALE, /* branch output × multiplier (Granite) */
	CIM_ROLE_LOGIT_SCALE,	 /* logits ÷ logits_scaling (Granite) */
	CIM_ROLE_LOGIT_SOFTCAP,	 /* tanh cap of the logits (Gemma 2) */
	/* steps of a chip's program */
	CIM_ROLE_KV_APPEND,	  /* the new K and V written to the cache */
	CIM_ROLE_ATTENTION,	  /* q·kᵀ and p·V against the cache */
	CIM_ROLE_ATTN_ALLREDUCE,  /* after the row-split o_proj */
	CIM_ROLE_FFN_ALLREDUCE,	  /* after the row-split ffn_down */
	CIM_ROLE_SAMPLE_GATHER,	  /* members' best tokens gathered */
	CIM_ROLE_EMBED_ALLREDUCE, /* a sharded embedding's lookups summed */
	CIM_ROLE_EXPERT_DISPATCH, /* tokens to the replicas holding their experts */
	CIM_ROLE_EXPERT_COMBINE,  /* the experts' outputs back */
	/* a shared expert (Qwen2-MoE), beside the routed ones */
	CIM_ROLE_SHARED_GATE,
	CIM_ROLE_SHARED_UP,
	CIM_ROLE_SHARED_ACT,
	CIM_ROLE_SHARED_GATE_MUL,
	CIM_ROLE_SHARED_DOWN,
	CIM_ROLE_SHARED_EXPERT_GATE, /* x · w_g, one output */
	CIM_ROLE_SHARED_SCALE,	     /* the shared output × σ(x · w_g) */
	/* multi-head latent attention (DeepSeek-V2): q (or its latent and
	 * q_b as q_proj), the KV latent with the shared RoPE key, and the
	 * up-projection of the latent absorbed per head into the query (W_UK)
	 * and after p·V (W_UV), as DeepSeek's inference runs it */
	CIM_ROLE_Q_A_PROJ,
	CIM_ROLE_Q_A_NORM,
	CIM_ROLE_KV_A_PROJ,
	CIM_ROLE_KV_A_NORM,
	CIM_ROLE_Q_ABSORB,
	CIM_ROLE_V_UP,
	CIM_ROLE_K_UP, /* W_UK again, latent to each head's key, for prefill
			  passes that decompress (workload.mla_prefill) */
	CIM_ROLE_NROLES
};

/* "embed", "norm", "matmul" …: the kind's name. */
const char *cim_op_kind_name(enum cim_op_kind kind);

/* "q_proj", "ffn_down", "lm_head" …: at most 15 characters. */
const char *cim_op_role_name(enum cim_op_role role);
/* The FFN's weight matrices (gate, up, down), whose parameters count as
 * the FFN's. */
bool cim_op_role_is_ffn_matrix(enum cim_op_role role);
/* A matrix of every head, `count` = heads copies each taking its own head's
 * vector (latent attention's W_UK and W_UV). */
bool cim_op_role_per_head(enum cim_op_role role);

/* Which layers an operator of CIM_SCOPE_LAYER is in (cim_op.layers). */
enum cim_op_layers {
	CIM_LAYERS_ALL,	  /* every layer */
	CIM_LAYERS_DENSE, /* the dense first layers (cim_model_layer_dense) */
	CIM_LAYERS_MOE,	  /* the layers with experts, when there are dense ones */
};

struct cim_op {
	enum cim_op_role role;
	enum cim_op_kind kind;
	enum cim_op_scope scope; /* before the layers, in every layer, after */
	uint32_t k, n;		 /* matmul: inputs K, outputs N */
	uint32_t count;		 /* matmul: copies held (experts) */
	uint32_t active;	 /* matmul: copies each token uses */
	bool bias;		 /* matmul: N biases per copy */
	uint64_t elems;		 /* vector ops: elements per token; attention:
				    MACs per token per attended position */
	uint64_t params;	 /* parameters this op holds (all copies) */
	uint32_t layers;	 /* enum cim_op_layers */
};

/* Whether op runs in layer l; how many of layers first..first+n-1 it runs
 * in (1 outside the layers). */
bool cim_op_in_layer(const struct cim_model_spec *m, const struct cim_op *op, uint32_t l);
uint32_t cim_op_layer_count(const struct cim_model_spec *m, const struct cim_op *op, uint32_t first,
			    uint32_t n);
/* A routed expert's matrix: an FFN matrix of more than one copy. */
bool cim_op_routed(const struct cim_op *op);

#define CIM_MODEL_MAX_OPS 48

/* The model's operators in execution order; returns the count. */
size_t cim_model_ops(const struct cim_model_spec *m, struct cim_op ops[CIM_MODEL_MAX_OPS]);

struct cim_model_stats {
	uint64_t params;	     /* everything */
	uint64_t params_attention;   /* q, k, v, o projections with biases */
	uint64_t params_ffn;	     /* all experts' FFN weights and biases (and the
					dense layers' FFN) */
	uint64_t params_routed;	     /* the routed experts' alone */
	uint64_t params_router;	     /* MoE gate */
	uint64_t params_shared;	     /* a shared expert's FFN and gate (Qwen2-MoE) */
	uint64_t params_embedding;   /* token and position tables */
	uint64_t params_lm_head;     /* 0 when tied */
	uint64_t params_norm;	     /* norm scales and shifts */
	uint64_t params_active;	     /* all but the experts a token skips */
	uint64_t kv_elems_per_token; /* K and V elements cached per token */
};

void cim_model_stats(const struct cim_model_spec *m, struct cim_model_stats *out);
/* Parameters of the norms of one layer (CIM_SCOPE_LAYER), before the
 * layers (the embedding's norm) or after them (the final norm). */
uint64_t cim_model_norm_params(const struct cim_model_spec *m, enum cim_op_scope scope);

/* MACs to produce one token at context length ctx (positions attended,
 * capped by the sliding window): weight MACs + attention MACs. */
uint64_t cim_model_decode_macs(const struct cim_model_spec *m, uint64_t ctx);
/* MACs of a causal prefill of a prompt of p tokens (attention over 1..p). */
uint64_t cim_model_prefill_macs(const struct cim_model_spec *m, uint64_t p);

const char *cim_arch_name(enum cim_arch a);

#include "spec_chip.h"
#include "spec_net.h"

/* --------------------------------------------------------------- workload */

/* Which experts the tokens of a pass pick (docs/partitioner.md, "Experts"). */
enum cim_routing {
	CIM_ROUTE_EVEN,	   /* spread evenly: ⌈tokens · k / E⌉ each */
	CIM_ROUTE_UNIFORM, /* each token k distinct experts, uniformly, seeded */
	CIM_ROUTE_ZIPF,	   /* … with P(expert e) ∝ (e + 1)^−s */
	CIM_ROUTE_TRACE,   /* … as a routing trace recorded them (workload.routing_trace) */
};

/* How latent attention's prefill passes run (docs/model.md). */
enum cim_mla_prefill {
	CIM_MLA_ABSORBED,     /* as decode: W_UK absorbed into each head's query */
	CIM_MLA_DECOMPRESSED, /* the cached latents decompressed into K and V
				 (W_UK stored a second time, as k_up) */
};

struct cim_workload_spec {
	uint32_t batch;		  /* sequences */
	uint32_t prompt_tokens;	  /* prompt length of each sequence */
	uint32_t generate_tokens; /* tokens generated per sequence */
	uint32_t micro_batches;	  /* 0 = chosen to keep the pipeline full */
	uint32_t prefill_chunk;	  /* tokens per prefill chunk, 0 = whole prompt */
	uint32_t kv_bits;	  /* precision of cached K and V */
	uint32_t act_bits;	  /* precision of activations sent between chips */
	uint64_t seed;		  /* seed of every random stream */
	enum cim_routing routing; /* mixture-of-experts routing */
	double routing_zipf;	  /* CIM_ROUTE_ZIPF: the exponent s */
	double capacity_factor;	  /* an expert takes at most ⌈f · T·k/E⌉ of a pass's
				     T tokens, the rest dropped; 0: no limit */
	char routing_trace[1024]; /* CIM_ROUTE_TRACE: the file, as resolved */
	bool has_routing_trace;
	uint32_t routing_rows;		  /* its rows, stored after the experiment */
	uint64_t routing_at;		  /* where they start, bytes from the experiment */
	enum cim_mla_prefill mla_prefill; /* latent attention's prefill passes */
};

enum cim_strategy {
	CIM_STRAT_MANUAL, /* tp and pp as given */
	CIM_STRAT_TP_FIRST,
	CIM_STRAT_PP_FIRST,
	CIM_STRAT_BALANCED,
	CIM_STRAT_MIN_CHIPS,
	CIM_STRAT_BEST_THROUGHPUT,
	CIM_STRAT_BEST_ENERGY,
};

enum cim_balance { CIM_BALANCE_COST, CIM_BALANCE_CAPACITY, CIM_BALANCE_LIST };

#define CIM_MAX_STAGES 1024

/* How the first stage's TP group holds the embedding table. */
enum cim_embed_split {
	CIM_EMBED_REPLICATED, /* every member the whole table */
	CIM_EMBED_SHARDED,    /* vocabulary rows divided over the group, the
				 lookups summed by an all-reduce (Megatron's
				 vocabulary-parallel embedding) */
};

/* How a stage's group holds a mixture of experts' experts. */
enum cim_expert_split {
	CIM_EXPERTS_TENSOR,	     /* every expert's matrices divided over the group */
	CIM_EXPERTS_EXPERT,	     /* whole experts, E / tp a member (expert parallelism) */
	CIM_EXPERTS_REPLICAS,	     /* E / dp experts a replica's stage, each divided over
					its group; tokens dispatched and combined by
					all-to-all over the replicas (expert
					parallelism across data parallelism) */
	CIM_EXPERTS_EXPERT_REPLICAS, /* whole experts, E / (tp · dp) a chip: both
					at once (an expert-parallel degree of
					tp · dp) */
	CIM_EXPERTS_N
};

/* "tensor", "expert", "replicas", "expert-replicas". */
const char *cim_experts_name(enum cim_expert_split s);
/* Whether the placement gives each member whole experts (expert, expert-
 * replicas), and whether it spreads them over the replicas (replicas,
 * expert-replicas). */
static inline bool cim_experts_whole(enum cim_expert_split s)
{
	return s == CIM_EXPERTS_EXPERT || s == CIM_EXPERTS_EXPERT_REPLICAS;
}
static inline bool cim_experts_span_replicas(enum cim_expert_split s)
{
	return s == CIM_EXPERTS_REPLICAS || s == CIM_EXPERTS_EXPERT_REPLICAS;
}

struct cim_parallel_spec {
	enum cim_strategy strategy;
	uint32_t tp; /* chips per stage (tensor parallel) */
	uint32_t pp; /* stages (pipeline parallel) */
	uint32_t dp; /* replicas (data parallel) */
	enum cim_balance balance;
	uint32_t nlayers; /* entries in layers[] when balance = list */
	uint32_t layers[CIM_MAX_STAGES];
	enum cim_embed_split embedding;
	enum cim_expert_split experts;
};

/* ------------------------------------------------------------- experiment */

/* ---------------------------------------------------------------- serving */

/* How requests arrive (docs/serving.md). */
enum cim_arrival {
	CIM_ARRIVE_BATCH,   /* all at t = 0: a static batch */
	CIM_ARRIVE_POISSON, /* exponential gaps at rate_per_s */
	CIM_ARRIVE_GAMMA,   /* gamma gaps at rate_per_s with coefficient of variation cv */
	CIM_ARRIVE_FIXED,   /* one every 1/rate_per_s */
	CIM_ARRIVE_TRACE,   /* the rows of a trace file */
};

/* Which requests a pass of a micro-batch runs (docs/serving.md). */
/* The router in front of the replicas (docs/serving.md, "Replicas"). */
enum cim_router {
	CIM_ROUTE_ROUND_ROBIN,	     /* request i to replica i mod dp */
	CIM_ROUTE_LEAST_OUTSTANDING, /* to the replica with the fewest requests
					sent and not yet answered */
};

enum cim_sched {
	CIM_SCHED_STATIC,	 /* a batch runs to its end before the next is taken */
	CIM_SCHED_PREFILL_FIRST, /* new prompts whole, before any decode (vLLM) */
	CIM_SCHED_CHUNKED,	 /* decodes, then prompt chunks, in a token budget (Sarathi) */
	CIM_SCHED_DECODE_FIRST,	 /* decodes, then whole prompts that fit the budget */
};

enum cim_len_dist { CIM_LEN_FIXED, CIM_LEN_UNIFORM, CIM_LEN_LOGNORMAL };

/* A length in tokens: fixed, uniform over [min, max], or log-normal
 * (fitted to a trace: exp(mu + sigma Z) rounded, clipped to [min, max]). */
struct cim_len_spec {
	enum cim_len_dist dist;
	uint32_t min, max; /* fixed: min = max */
	double mu, sigma;  /* log-normal: of the natural log of the length */
};

struct cim_serving_spec {
	bool on; /* the experiment has a serving part */
	uint32_t requests;
	enum cim_arrival arrival;
	double rate_per_s;   /* poisson, gamma, fixed */
	double cv;	     /* gamma */
	char trace[1024];    /* trace: the file, resolved (with a rate: the lengths
				are fitted to it) */
	uint32_t trace_rows; /* rows read, after the experiment (cim_serving_trace()) */
	struct cim_len_spec prompt, output;
	enum cim_sched scheduler;
	enum cim_router router; /* which replica a request goes to (dp > 1) */
	uint32_t max_batch;	/* requests in one pass */
	uint32_t token_budget;	/* tokens in one pass (not static) */
	bool has_requests, has_max_batch, has_token_budget, has_rate, has_cv, has_trace;
	bool has_prompt, has_output;
	double slo_ttft_ps, slo_tpot_ps; /* 0 = no target */
};

struct cim_experiment {
	char name[64];
	char path[1024]; /* the experiment file as given */
	struct cim_model_spec model;
	struct cim_chip_spec chip;
	struct cim_net_spec net;
	struct cim_workload_spec workload;
	struct cim_parallel_spec parallel;
	struct cim_serving_spec serving;
	/* trace rows follow the struct in the same allocation */
};

/* One request: when it arrives and how long its prompt and output are. */
struct cim_request {
	uint64_t arrival_ps;
	uint32_t prompt, output;
};

/* A trace's rows, stored after the experiment: serving.trace_rows of them. */
const struct cim_request *cim_serving_trace(const struct cim_experiment *e);

/*
 * The serving.requests requests of e in arrival order, the same on every
 * rank and every run: drawn from streams seeded by workload.seed (one for
 * the gaps, one for the lengths) or taken from the trace.  Without a
 * serving part: the static batch, workload.batch requests at t = 0.
 * *out is malloc'd; the caller frees it.
 */
int cim_serving_requests(const struct cim_experiment *e, struct cim_request **out, uint32_t *n_out,
			 struct cim_err *err);
/* Seeded random streams (xoshiro256**, seeded through splitmix64): the
 * same numbers on every rank and every run for a (seed, stream). */
struct cim_rng {
	uint64_t s[4];
};
void cim_rng_seed(struct cim_rng *r, uint64_t seed, uint64_t stream);
uint64_t cim_rng_next(struct cim_rng *r);
double cim_rng_unit(struct cim_rng *r);	  /* uniform on (0, 1), never 0 */
double cim_rng_normal(struct cim_rng *r); /* standard normal */

/* "static", "prefill-first" …: the scheduler's name. */
const char *cim_sched_name(enum cim_sched s);
const char *cim_arrival_name(enum cim_arrival a);
const char *cim_router_name(enum cim_router r);
/* "even", "uniform", "zipf", "trace": how tokens pick experts. */
const char *cim_routing_name(enum cim_routing r);

/* The rows of a routing trace for one layer: their count, and at *experts
 * experts_per_token expert numbers a row, in the file's order (0 when the
 * experiment has no routing trace). */
uint32_t cim_routing_rows(const struct cim_experiment *e, uint32_t layer, const uint16_t **experts);

/* Bytes of e's allocation: the experiment and the rows stored after it. */
size_t cim_spec_experiment_bytes(const struct cim_experiment *e);

/*
 * Loads and validates the experiment at path, reading it and every file it
 * names through files, then applying the overrides sets[0..nsets) of the form
 * "key.path=value".  On success *exp_p is a calloc'd experiment the caller
 * frees with free(); on failure err says file, line, key, what was expected
 * and what was found.
 */
int cim_spec_load_experiment(struct cim_files *files, const char *path, const char *const *sets,
			     size_t nsets, struct cim_experiment **exp_p, struct cim_err *err);

/* Stages of p's list that hold no layer: a first stage with only the
 * embedding, a last with only the LM head (0, 1 or 2). */
uint32_t cim_spec_end_stages(const struct cim_parallel_spec *p);

/* Loads a model from a HF config.json or a YAML preset. */
int cim_spec_load_model(struct cim_files *files, const char *path, struct cim_model_spec *out,
			struct cim_err *err);
/* Loads a chip description (a file in configs/chips/). */
int cim_spec_load_chip(struct cim_files *files, const char *path, struct cim_chip_spec *out,
		       struct cim_err *err);
/* Loads an interconnect description (a file in configs/interconnects/). */
int cim_spec_load_net(struct cim_files *files, const char *path, struct cim_net_spec *out,
		      struct cim_err *err);

/* ------------------------------------------------------------------ study */

#define CIM_STUDY_MAX_AXES   8	  /* axes of one study */
#define CIM_STUDY_MAX_VALUES 64	  /* values of one axis */
#define CIM_STUDY_MAX_SETS   32	  /* fixed overrides of one study */
#define CIM_STUDY_MAX_CHIPS  64	  /* chip counts of one study */
#define CIM_STUDY_MAX_SPLITS 64	  /* splits listed in one study */
#define CIM_STUDY_MAX_POINTS 4096 /* points of one study */

/* One value of an axis, or one fixed override. */
struct cim_study_value {
	char set[1280]; /* "key=value" as the experiment loader takes it; a
			   path is made relative to the working directory */
	char label[64]; /* the value for tables, CSV and plots: as written
			   (a path: its file name without extension), no commas */
	unsigned line;	/* where the value is written in the study */
};

struct cim_study_axis {
	char key[128]; /* any key of the experiment, e.g. workload.batch */
	unsigned line;
	uint32_t n;
	struct cim_study_value v[CIM_STUDY_MAX_VALUES];
};

enum cim_study_splits {
	CIM_SPLITS_EXPERIMENT, /* as the experiment (and its overrides) say */
	CIM_SPLITS_ALL,	       /* every (tp, pp, dp) of each chip count */
	CIM_SPLITS_LIST,       /* the listed splits and strategies */
};

struct cim_study_split {
	enum cim_strategy strategy; /* manual: tp, pp, dp as listed */
	uint32_t tp, pp, dp;
	unsigned line;
};

/*
 * A study: a base experiment and the axes to vary (docs/studies.md).  The
 * points are every chip count × every axis value combination × every split.
 */
struct cim_study {
	char name[64];
	char path[1024];       /* the study file as given */
	char experiment[1024]; /* the base experiment, relative to the working
				  directory */
	uint32_t nchips;       /* 0: each point's experiment says */
	uint32_t chips[CIM_STUDY_MAX_CHIPS];
	enum cim_study_splits splits;
	uint32_t nsplits;
	struct cim_study_split split[CIM_STUDY_MAX_SPLITS];
	uint32_t nsets;
	struct cim_study_value set[CIM_STUDY_MAX_SETS];
	uint32_t naxes;
	struct cim_study_axis axis[CIM_STUDY_MAX_AXES];
};

/*
 * Loads and checks the study at path through files (the experiment it
 * names is not read here).  On success *study_p is calloc'd; the caller
 * frees it with free().
 */
int cim_spec_load_study(struct cim_files *files, const char *path, struct cim_study **study_p,
			struct cim_err *err);

#endif /* CIM_SPEC_SPEC_H */
