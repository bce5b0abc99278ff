/*
 * partitioner.h — how a model is split over chips, and what each chip does.
 *
 * From an experiment and a (TP, PP, DP) split this part builds a plan:
 * which layers each pipeline stage holds, the shape of every weight shard on
 * every chip (Megatron-style tensor parallelism inside a stage), the
 * crossbars each shard takes and their fill, the KV-cache and buffer bytes
 * of each chip, and whether all of it fits.  It also writes each chip's
 * program: the operators one micro-batch pass runs on the chip, in order,
 * each priced by the chip model, with the collectives between them.  The
 * executor runs that program; the analytical estimate here prices it in
 * closed form, so the two agree by construction where nothing contends.
 *
 * Pure logic: no MPI, no files.  The same inputs give the same plan byte for
 * byte.  The rules and equations are in docs/partitioner.md.
 */
#ifndef CIM_PARTITIONER_PARTITIONER_H
#define CIM_PARTITIONER_PARTITIONER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "interconnect.h"
#include "spec.h"

/* ------------------------------------------------------------ vocabulary */

/* Resources of a chip that program steps hold: the digital unit, the
 * KV-cache memory port, the link port, then one crossbar group per weight
 * matrix of each layer the chip holds (CIM_RES_XBAR0 + i·matrices + j, j
 * the shard's index) and one for the LM head; on a chip whose cores are
 * shared (docs/chip-model.md §12) every matrix holds CIM_RES_XBAR0. */
enum cim_part_res {
	CIM_RES_DIGITAL = 0,
	CIM_RES_KV = 1,
	CIM_RES_LINK = 2,
	CIM_RES_XBAR0 = 3,
};

/* Which phase a pass belongs to. */
enum cim_part_phase { CIM_PHASE_PREFILL = 0, CIM_PHASE_DECODE = 1, CIM_PHASE_N };

const char *cim_part_phase_name(enum cim_part_phase phase);

/* ------------------------------------------------------------------ plan */

enum cim_part_split {
	CIM_SPLIT_COLUMN,     /* outputs divided over the TP group */
	CIM_SPLIT_ROW,	      /* inputs divided; partial sums all-reduced */
	CIM_SPLIT_REPLICATED, /* every member holds the whole matrix */
	CIM_SPLIT_EXPERTS,    /* whole experts, count of them a member (expert
				 parallelism): member i holds i·count … */
	CIM_SPLIT_HEADS,      /* a matrix per head (latent attention's W_UK and
				 W_UV), the member's heads' count of them */
};

/* One weight matrix of one layer (or the LM head) as one chip holds it. */
struct cim_part_shard {
	uint32_t role;		/* enum cim_op_role: q_proj … lm_head */
	uint32_t split;		/* enum cim_part_split */
	uint32_t k, n;		/* this chip's shard: inputs, outputs */
	uint32_t count;		/* copies (MoE experts) */
	uint32_t holders;	/* TP members holding this very shard (KV heads
				   replicated when tp > kv_heads; replicated
				   matrices), 1 when it is this chip's alone */
	uint32_t layers;	/* enum cim_op_layers: which layers have it */
	uint32_t times;		/* layers of the chip that hold it (1: lm_head) */
	uint64_t crossbars_one; /* one copy in one layer */
	uint64_t crossbars;	/* crossbars_one · count · times */
	uint64_t cells_used;	/* weight cells, all copies and layers */
	uint64_t weights;	/* k · n · count · times */
	uint64_t bias;		/* bias values held: n · count · times, or 0 */
	bool has_bias;
};

#define CIM_PART_MAX_SHARDS 24

#define CIM_PART_NO_RANK UINT32_MAX

/* One chip of the plan. */
struct cim_part_rank {
	uint32_t rank, replica, stage, tp_index;
	/* The layout around it, decided here and read everywhere else. */
	uint32_t group_first;	       /* rank of member 0 of its TP group */
	uint32_t prev_rank;	       /* same TP index, previous stage, or CIM_PART_NO_RANK */
	uint32_t next_rank;	       /* same TP index, next stage, or CIM_PART_NO_RANK */
	uint32_t token_peer;	       /* first stage: the last-stage member its tokens
					  come from; last stage: the first-stage member
					  it returns them to (itself when pp = 1) */
	uint32_t first_layer, nlayers; /* layers [first, first + n) */
	bool embed;		       /* holds the embedding table (first stage) */
	bool embed_dram;	       /* ... in its DRAM, the buffer being too small */
	bool head;		       /* holds the final norm and LM head (last stage) */
	uint32_t heads, kv_heads;      /* attention heads computed on this chip */
	bool shared_cores;	       /* a near-memory chip whose cores work on one
					  matrix at a time: every matrix step holds
					  the one resource CIM_RES_XBAR0 */
	uint32_t nshards;
	struct cim_part_shard shards[CIM_PART_MAX_SHARDS];
	uint64_t crossbars;	/* Σ shards */
	uint64_t cells_used;	/* Σ shards */
	double fill;		/* cells_used / (crossbars · rows · cols) */
	uint64_t weight_bytes;	/* crossbar weights at weight_bits */
	uint64_t memory_params; /* embedding, norms and biases held in memory */
	uint64_t memory_bytes;	/* those at act_bits */
	uint64_t kv_bytes;	/* KV cache at the longest context, this
				   chip's sequences and KV heads */
	uint64_t act_bytes;	/* activation working set (docs/partitioner.md) */
	uint32_t kv_where;	/* enum cim_kv_where */
	uint64_t buffer_bytes;	/* used in the on-chip buffer */
	uint64_t dram_bytes;	/* used in the chip's DRAM */
	uint64_t engine_bytes;	/* used in the attention engine */
};

/* The whole plan; plain data apart from the rank array. */
struct cim_part_plan {
	uint32_t tp, pp, dp, chips;
	uint32_t balance;		       /* enum cim_balance used */
	uint32_t stage_layers[CIM_MAX_STAGES]; /* layers of each stage */
	uint32_t stage_first[CIM_MAX_STAGES];  /* first layer of each stage */
	uint32_t micro_batches;		       /* per replica */
	uint32_t seqs[2];		       /* sequences of replica 0 and of the last replica */
	uint64_t context;		       /* longest context: prompt + generated − 1,
						  capped by the sliding window */
	uint64_t chip_crossbars;	       /* crossbars one chip has */
	uint64_t crossbars;		       /* used, all chips */
	uint64_t cells_used;
	double fill;		     /* cells_used / cells of the used crossbars */
	double headroom;	     /* 1 − most crossbars used on a chip / chip's */
	uint64_t weights;	     /* crossbar weights, all chips of one replica,
					each shard counted once over its holders */
	struct cim_part_rank *ranks; /* chips entries, by rank */
};

/*
 * Builds the plan of experiment e split tp × pp × dp, with layers balanced as
 * e->parallel.balance says (list: e->parallel.layers).  Refuses a split the
 * model cannot take (tp not dividing the heads, pp above the layers, fewer
 * sequences than replicas) with the reason.  Does not check capacity: see
 * cim_part_check().  On success *plan_p is new; free with
 * cim_part_plan_destroy().
 */
int cim_part_plan(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
		  struct cim_part_plan **plan_p, struct cim_err *err);
void cim_part_plan_destroy(struct cim_part_plan *plan);

/* Bytes of buffer rank r has: the chip's buffer, and on a near-memory chip
 * the memory of the blocks its weights leave free (its cores' memories
 * hold weights, activations and KV alike, docs/chip-model.md §12). */
uint64_t cim_part_buffer_room(const struct cim_chip_spec *c, const struct cim_part_rank *r);

/* True when the plan fits every chip (crossbars, buffer, DRAM, engine);
 * otherwise fills err with what overflows on which chip by how much. */
bool cim_part_fits(const struct cim_experiment *e, const struct cim_part_plan *plan,
		   struct cim_err *err);

/*
 * The plan experiment e runs on chips chips (0: tp · pp · dp of the
 * experiment) under e->parallel.strategy, checked against capacity.  When
 * it does not fit, err says what overflows and the fewest chips and the
 * (TP, PP) that would fit.
 */
int cim_part_choose(const struct cim_experiment *e, uint32_t chips, struct cim_part_plan **plan_p,
		    struct cim_err *err);

/* The fewest chips (at most max_chips) on which some (tp, pp), dp = 1, fits;
 * 0 when none does. */
uint32_t cim_part_min_chips(const struct cim_experiment *e, uint32_t max_chips, uint32_t *tp_out,
			    uint32_t *pp_out);

/* Packs the plan with msgpack into a malloc'd buffer the caller frees. */
int cim_part_pack(const struct cim_part_plan *plan, char **buf_p, size_t *len_p,
		  struct cim_err *err);
int cim_part_unpack(const char *buf, size_t len, struct cim_part_plan **plan_p,
		    struct cim_err *err);

/* --------------------------------------------------------------- program */

/* What one pass of one micro-batch through a stage does. */
/* Sequences of a pass alike in their cache and their new tokens. */
struct cim_part_piece {
	uint64_t past;	  /* tokens already cached */
	uint32_t queries; /* new tokens */
	uint32_t count;	  /* sequences */
};

struct cim_part_pass {
	uint32_t phase;	  /* enum cim_part_phase */
	uint32_t seqs;	  /* sequences of the micro-batch */
	uint32_t queries; /* new tokens per sequence: the chunk, or 1 */
	uint64_t past;	  /* tokens already cached per sequence */
	bool last_chunk;  /* prefill: the last chunk (the head runs) */
	bool sample;	  /* the LM head and sampling run on this pass */
	/* A served load's pass mixes sequences (docs/serving.md): npieces
	 * pieces, seqs their sum, `samples` of them sampled; the uniform
	 * fields above are then unused.  npieces 0: uniform. */
	const struct cim_part_piece *pieces;
	uint32_t npieces;
	uint32_t samples;
};

enum cim_prog_kind { CIM_PROG_COMPUTE, CIM_PROG_COLL };

/* One step of a chip's program for one pass, priced. */
/* Which group a collective step spans. */
enum cim_prog_group {
	CIM_GROUP_TP, /* the stage's TP group */
	CIM_GROUP_EP, /* the stage's members of the same TP index in every
			 replica (parallel.experts: replicas) */
};

struct cim_prog_op {
	uint32_t role;		       /* enum cim_op_role */
	uint32_t kind;		       /* enum cim_prog_kind */
	uint32_t group;		       /* collective: enum cim_prog_group */
	bool with_prev;		       /* starts when the step before it may (reads
					  the same input: K and V with Q, up with
					  gate); the next step waits for both */
	uint32_t op_kind;	       /* enum cim_op_kind of a compute step */
	int32_t layer;		       /* model layer, −1 for embedding and head */
	uint64_t ps2;		       /* how long res2 is held: in `slices` slices
					  spread over the step's ps (≤ ps) */
	uint32_t slices;	       /* ≥ 1 when res2 is held */
	uint32_t res, res2;	       /* enum cim_part_res; res2 UINT32_MAX
					  when one */
	uint64_t ps;		       /* compute: how long it holds its resources */
	uint64_t bytes;		       /* compute: memory bytes; collective: size */
	uint32_t coll;		       /* collective: enum cim_net_coll */
	uint64_t macs;		       /* multiply-accumulates of a matrix or attention step */
	struct cim_chip_energy energy; /* compute */
};

/* The number of resources of a rank: digital, KV, link, one crossbar group
 * per matrix per layer, and the head's (numbered on every rank); and how
 * many crossbar groups the rank really has. */
uint32_t cim_part_nres(const struct cim_part_rank *r);
uint32_t cim_part_xbar_groups(const struct cim_part_rank *r);

/* Names resource res of rank r for display: "digital", "kv", "link",
 * "xbar L<layer> <matrix>", "lm_head". */
void cim_part_res_name(const struct cim_part_rank *r, uint32_t res, char *buf, size_t size);

/*
 * Writes the program of rank r for pass p into ops[0..cap) and returns its
 * length (the length it needs, when cap is too small: call with cap 0 for
 * the size).  Each matrix step holds its own matrix's crossbar group
 * (enum cim_part_res).
 */
size_t cim_part_program(const struct cim_experiment *e, const struct cim_part_plan *plan,
			const struct cim_part_rank *r, const struct cim_part_pass *p,
			struct cim_prog_op *ops, size_t cap);

/* How long ops[0..n) take on a chip where nothing else runs: each step
 * after the one before it, a step that starts with it (with_prev) adding
 * only what it lasts beyond its group.  Collectives count as their ps (0:
 * they are priced by the interconnect). */
uint64_t cim_part_program_alone_ps(const struct cim_prog_op *ops, size_t n);

/* Steps that start together (a step and those with_prev after it): each
 * waits for its own resource, so two on one resource (a near-memory chip's
 * shared cores) follow each other, and the group lasts until its last
 * step ends. */
struct cim_part_group {
	uint64_t end;
	uint32_t n;
	uint32_t res[8];
	uint64_t busy[8]; /* when the group's steps on res[i] end */
};

/* Adds step o to g (a new group unless o->with_prev) and returns how much
 * later the group now ends: what o adds to a chain of groups. */
uint64_t cim_part_group_add(struct cim_part_group *g, const struct cim_prog_op *o);

/* Bytes of the activations a pass sends to the next stage, and of the
 * tokens the last stage returns to the first. */
uint64_t cim_part_act_bytes(const struct cim_experiment *e, const struct cim_part_pass *p);
/* New tokens of a pass (Σ over its pieces), and the sequences it samples. */
uint64_t cim_part_pass_tokens(const struct cim_part_pass *p);
uint32_t cim_part_pass_samples(const struct cim_part_pass *p);
/* The sequences of a static batch's micro-batch m of replica (serving:
 * max_batch, or the requests shared as workload.batch is). */
uint32_t cim_part_static_batch(const struct cim_experiment *e, const struct cim_part_plan *plan,
			       uint32_t replica, uint32_t m);
uint64_t cim_part_token_bytes(const struct cim_part_pass *p);

/* The passes of one micro-batch, in order: prefill chunks, then decode
 * steps.  cim_part_npasses() says how many. */
uint32_t cim_part_npasses(const struct cim_experiment *e);
void cim_part_pass_at(const struct cim_experiment *e, uint32_t seqs, uint32_t step,
		      struct cim_part_pass *out);

/*
 * The KV cache of rank r, one function for the plan's reservation and the
 * executor's and scheduler's checks: a cached position of one sequence holds
 * 2 · kv_heads · head_dim values of workload.kv_bits in each of the rank's
 * layers (cim_part_kv_bits_per_pos), and seq_positions (summed over the
 * sequences and layers' windows, cim_model_kv_positions) of them take
 * ⌈seq_positions · bits / 8⌉ bytes, rounded once over the whole cache.
 */
uint64_t cim_part_kv_bits_per_pos(const struct cim_experiment *e, const struct cim_part_rank *r);
uint64_t cim_part_kv_bytes(const struct cim_experiment *e, const struct cim_part_rank *r,
			   uint64_t seq_positions);

#define CIM_PART_MAX_EXPERTS 4096 /* spec/model.c bounds num_local_experts */
/* The most replicas experts may be spread over (parallel.experts:
 * replicas): an all-to-all of dp · dp chunks a layer. */
#define CIM_PART_MAX_EP_REPLICAS 1024

/*
 * Tokens each of E experts receives when `tokens` tokens each pick k
 * distinct experts by w's routing, into load[0..E): even spreads them (the
 * first ⌈tokens·k/E⌉ to each until they run out); uniform and zipf draw
 * every token's k experts from the seeded stream key (the same key gives
 * the same draws: a layer's gate, up and down use one).  Returns the most
 * any expert receives: the experts' crossbars work at once, so it sets how
 * long the layer's expert matrices take.  Σ load = tokens · k.  load may be
 * NULL when only the most is wanted.
 */
uint64_t cim_part_expert_loads(const struct cim_workload_spec *w, uint32_t E, uint32_t k,
			       uint64_t tokens, uint64_t key, uint64_t *load);

/* The same for layer `layer` of experiment e: from its routing trace when
 * it has one (workload.routing: trace), each of the pass's tokens taking
 * the next row of the layer's, from a row the key picks, round the rows;
 * else as cim_part_expert_loads draws them. */
uint64_t cim_part_expert_loads_at(const struct cim_experiment *e, uint32_t layer, uint64_t tokens,
				  uint64_t key, uint64_t *load);

/* With workload.capacity_factor f > 0, an expert takes at most ⌈f · T·k/E⌉
 * of a pass's T tokens (the rest skip it: dropped, as GShard and Switch
 * drop them): caps load[0..E) in place, sets *most to the most any expert
 * then takes, and returns the tokens dropped (0 without a factor). */
uint64_t cim_part_expert_drop(const struct cim_workload_spec *w, uint32_t E, uint32_t k,
			      uint64_t tokens, uint64_t *load, uint64_t *most);

/* The routing stream of a layer in a pass of replica q: the same for its
 * gate, up and down, so that one draw of experts feeds all three; the
 * replicas' tokens differ, so do their draws (replica 0's key is the one a
 * single replica has). */
uint64_t cim_part_route_key(uint32_t layer, const struct cim_part_pass *p, uint32_t q);

/*
 * The chunks of layer `layer`'s expert all-to-all in pass p of rank r's
 * expert group when the experts are spread over the replicas: out[q·dp + j]
 * is what replica q's member sends replica j's, every copy of q's tokens
 * routed to the experts j's member holds (all of replica j's when each is
 * divided over the group; those of r's TP index when whole), d activations
 * at act_bits each (dispatch); the combine sends them back, out[j·dp + q].  The replicas' routings
 * are drawn as their programs draw them.  out has room for dp·dp.
 */
void cim_part_dispatch_chunks(const struct cim_experiment *e, const struct cim_part_plan *plan,
			      const struct cim_part_rank *r, uint32_t layer,
			      const struct cim_part_pass *p, bool combine, uint64_t *out);

/* Among how many chips of a stage's replicas a layer's experts are
 * divided, each holding E over that many: 1 (tensor placement: every
 * member all of them, each split), tp (expert), dp (replicas), tp · dp
 * (expert-replicas); 1 where the split has no group or replicas to use. */
uint32_t cim_part_expert_holders(const struct cim_experiment *e, uint32_t tp, uint32_t dp);
/* Which block of E / holders experts the chip at TP index i of replica q
 * holds: experts block · E/holders … (block + 1) · E/holders − 1. */
uint32_t cim_part_expert_block(const struct cim_experiment *e, const struct cim_part_plan *plan,
			       uint32_t i, uint32_t q);

/* Rank of the member of rank r's expert group in replica q: the same stage
 * and TP index (parallel.experts: replicas). */
uint32_t cim_part_ep_rank(const struct cim_part_plan *plan, const struct cim_part_rank *r,
			  uint32_t q);
/* The expert groups of rank r's stage, every TP index's, which run their
 * all-to-alls at once and share links: out[j·dp + q] is the member of TP
 * index j in replica q (tp · dp entries, group by group). */
void cim_part_ep_all_ranks(const struct cim_part_plan *plan, const struct cim_part_rank *r,
			   uint32_t *out);

/*
 * How the routing of a static batch loads the experts, over every layer and
 * every pass of every micro-batch of every replica, drawn as the programs
 * draw them: each expert's share of all routed tokens (share[0..E), which
 * sums to 1), and the imbalance of each (layer, pass), its most loaded
 * expert over the mean T·k/E, averaged over them weighted by tokens and at
 * its worst.  share is malloc'd (NULL for a dense model); the caller frees
 * it.  −1 on no memory.
 */
struct cim_part_expert_report {
	uint32_t experts, per_token;
	double *share;
	double imbalance_mean, imbalance_worst;
	double dropped; /* share of routed tokens over capacity, [0, 1) */
};
int cim_part_expert_report(const struct cim_experiment *e, const struct cim_part_plan *plan,
			   struct cim_part_expert_report *out);

/* Sequences of micro-batch m of replica q. */
uint32_t cim_part_mb_seqs(const struct cim_experiment *e, const struct cim_part_plan *plan,
			  uint32_t replica, uint32_t m);

/* -------------------------------------------------------------- estimate */

struct cim_part_estimate {
	uint64_t prefill_ps; /* all prompts processed, first tokens out */
	uint64_t makespan_ps;
	double ttft_s, tpot_s;		  /* means */
	double decode_token_s;		  /* one token of one sequence alone, decode */
	double tokens_per_s;		  /* generated tokens / makespan */
	double energy_j;		  /* everything, leakage included */
	double energy_per_token_j;	  /* energy_j / generated tokens */
	struct cim_chip_energy energy_pj; /* by chip component */
	double link_pj, leakage_pj;
	double fill;
	uint32_t bottleneck_res; /* the busiest resource of the busiest stage */
};

/* Estimates plan analytically (docs/partitioner.md), replaying collectives
 * and transfers on net. */
int cim_part_estimate(const struct cim_experiment *e, const struct cim_part_plan *plan,
		      const struct cim_net *net, struct cim_part_estimate *out,
		      struct cim_err *err);

/* One candidate split of a chip count. */
struct cim_part_row {
	uint32_t tp, pp, dp, chips;
	uint32_t experts; /* enum cim_expert_split the row places them by */
	bool fits;
	char why[400]; /* why it does not fit or cannot be built */
	struct cim_part_estimate est;
	double max_use; /* most crossbars used on a chip / chip's */
};

/*
 * Every (tp, pp, dp) with tp·pp·dp = chips the model can take, in order of
 * dp, then tp, then pp; feasible ones estimated on e->net laid out for
 * chips ranks.  *rows_p is malloc'd; the caller frees it.
 */
int cim_part_enumerate(const struct cim_experiment *e, uint32_t chips, struct cim_part_row **rows_p,
		       size_t *n_p, struct cim_err *err);

/* The row strategy s picks among rows (manual: e's tp, pp, dp); −1 when
 * none fits. */
long cim_part_pick(const struct cim_experiment *e, enum cim_strategy s,
		   const struct cim_part_row *rows, size_t n);

const char *cim_part_strategy_name(enum cim_strategy s);

#endif /* CIM_PARTITIONER_PARTITIONER_H */
