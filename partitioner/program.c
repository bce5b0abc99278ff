/*
 * program.c — what a chip does for one pass of one micro-batch, in order,
 * each step priced by the chip model.
 *
 * The program follows the model's operator list (cim_model_ops()) layer by
 * layer, on this chip's shards: each matrix is a step on its own crossbar
 * group; the matrices that read the same input (K and V with Q, up with
 * gate) start with the one before them (with_prev), and the next step waits
 * for the slowest; row-split matrices are followed by an all-reduce of the
 * group (one for both branches of a parallel block); attention (q·kᵀ and
 * p·V) holds the slower of the digital unit and
 * the KV memory for its length, the other in slices of one KV head.  The executor runs these
 * steps; the estimate sums them.  Equations: docs/partitioner.md.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "part_int.h"

struct prog {
	struct cim_prog_op *ops;
	size_t n, cap;
};

static struct cim_prog_op *emit(struct prog *pg, enum cim_op_role role, uint32_t op_kind,
				int32_t layer, uint32_t res, uint32_t res2)
{
	static struct cim_prog_op sink;
	struct cim_prog_op *o = pg->n < pg->cap ? &pg->ops[pg->n] : &sink;

	pg->n++;
	memset(o, 0, sizeof(*o));
	o->role = role;
	o->kind = CIM_PROG_COMPUTE;
	o->op_kind = op_kind;
	o->layer = layer;
	o->res = res;
	o->res2 = res2;
	return o;
}

static void vector_step(struct prog *pg, const struct cim_experiment *e, enum cim_op_role role,
			enum cim_op_kind kind, int32_t layer, uint64_t elems)
{
	struct cim_chip_cost c;
	struct cim_prog_op *o = emit(pg, role, kind, layer, CIM_RES_DIGITAL, UINT32_MAX);

	cim_chip_vector_op(&e->chip, kind, e->model.norm, e->model.act, elems, &c);
	o->ps = c.ps;
	o->energy = c.energy;
	o->bytes = 2 * part_bytes(elems, e->chip.input_bits);
}

static struct cim_prog_op *coll_step(struct prog *pg, enum cim_op_role role, enum cim_net_coll coll,
				     int32_t layer, uint64_t bytes)
{
	struct cim_prog_op *o = emit(pg, role, 0, layer, CIM_RES_LINK, UINT32_MAX);

	o->kind = CIM_PROG_COLL;
	o->coll = coll;
	o->bytes = bytes;
	return o;
}

/* The rank's shard of the matrix of role in the layers `layers` (enum
 * cim_op_layers: a dense first layer's FFN and an MoE layer's are two);
 * every rank holds every layer matrix of the model, and the last stage the
 * LM head. */
static const struct cim_part_shard *find_shard(const struct cim_part_rank *r, enum cim_op_role role,
					       uint32_t layers)
{
	for (uint32_t i = 0; i < r->nshards; i++)
		if (r->shards[i].role == (uint32_t)role && r->shards[i].layers == layers)
			return &r->shards[i];
	assert(!"a program step names a matrix the rank does not hold");
	return NULL;
}

/* Adds `routed` input vectors (a dense matrix's tokens; an MoE layer's
 * tokens times the experts each takes, less those dropped) through a shard
 * to step o; the copies' crossbars stream at once, `busy` of them taking
 * any, the most loaded taking per_copy of them (all of them for a dense matrix; for experts
 * the layer's routing gives it: cim_part_expert_loads). */
static void matmul_into(struct cim_prog_op *o, const struct cim_experiment *e,
			const struct cim_part_shard *s, uint64_t routed, uint64_t per_copy,
			uint32_t busy)
{
	const struct cim_chip_spec *c = &e->chip;
	struct cim_chip_map map;
	struct cim_chip_mvm one;
	struct cim_chip_cost cost;

	cim_chip_map(c, s->k, s->n, &map);
	/* The copies' crossbars (or spatial cores) stream at once, the most
	 * loaded setting the time; shared cores take every copy's vectors in
	 * turn. */
	if (c->kind == CIM_CHIP_NEAR_MEMORY && c->nm.shared)
		cim_chip_mvm_stream(c, &map, routed, busy, &cost);
	else
		cim_chip_mvm_stream(c, &map, per_copy, 1, &cost);
	cim_chip_mvm(c, &map, &one);
	if (cost.ps > o->ps)
		o->ps = cost.ps;
	cim_chip_energy_add(&o->energy, &one.energy, (double)routed);
	/* A near-memory copy reads its weights once for the vectors it takes
	 * (cim_chip_mvm_stream): busy copies took some; crossbars have no
	 * such read. */
	if (one.weight_pj > 0 && routed)
		o->energy.pj[CIM_E_ARRAY] -= one.weight_pj * (double)(routed - busy);
	o->bytes += routed * one.buffer_bytes;
	o->macs += routed * s->k * s->n;
}

/* The pieces of pass p: its own, or the one a uniform pass makes. */
static uint32_t pass_pieces(const struct cim_part_pass *p, struct cim_part_piece *one,
			    const struct cim_part_piece **out)
{
	if (p->npieces) {
		*out = p->pieces;
		return p->npieces;
	}
	*one = (struct cim_part_piece){ .past = p->past, .queries = p->queries, .count = p->seqs };
	*out = one;
	return 1;
}

uint64_t cim_part_pass_tokens(const struct cim_part_pass *p)
{
	struct cim_part_piece one;
	const struct cim_part_piece *pc;
	uint32_t n = pass_pieces(p, &one, &pc);
	uint64_t t = 0;

	for (uint32_t i = 0; i < n; i++)
		t += (uint64_t)pc[i].count * pc[i].queries;
	return t;
}

uint32_t cim_part_pass_samples(const struct cim_part_pass *p)
{
	return p->npieces ? p->samples : p->sample ? p->seqs : 0;
}

/*
 * Attention of one layer for every piece of the pass: the new K and V
 * appended, then q·kᵀ and p·V.  The pieces whose attention waits on the KV
 * memory form one step and those that wait on the lanes another (a uniform
 * pass has one piece, so one step); a step holds its bottleneck for its
 * whole length and the other resource in slices of one KV head of one
 * sequence: the lanes compute a head's scores as its K and V stream in,
 * and are free for other work in between.
 */
static void attention_steps(struct prog *pg, const struct cim_experiment *e,
			    const struct cim_part_rank *r, const struct cim_part_piece *pc,
			    uint32_t npc, uint32_t window, int32_t L, bool decomp)
{
	const struct cim_model_spec *m = &e->model;
	const enum cim_kv_where w = part_kv_where(&e->chip);
	struct cim_prog_op *append =
	    emit(pg, CIM_ROLE_KV_APPEND, CIM_OP_ATTN_QK, L, CIM_RES_KV, UINT32_MAX);
	struct cim_prog_op cls[2]; /* [0] bound by the memory, [1] by the lanes */
	bool used[2] = { false, false };
	struct cim_chip_cost c;
	int rc;

	memset(cls, 0, sizeof(cls));
	for (uint32_t i = 0; i < npc; i++) {
		/* latent attention: q·k over the latent and the RoPE key, p·V
		 * over the latent, one cached vector read as both (docs/model.md) */
		/* decompressed (a prefill of workload.mla_prefill:
		 * decompressed): a head's own key and value, the latent read
		 * once to make them */
		struct cim_attn_shape a = {
			.heads = r->heads,
			.kv_heads = r->kv_heads,
			.qk_dim = m->kv_lora && !decomp ? m->kv_lora + m->rotary_dim : m->head_dim,
			.v_dim = m->kv_lora && !decomp ? m->kv_lora : m->v_dim,
			.kv_dim = cim_model_kv_width(m),
			.kv_bits = e->workload.kv_bits,
			.past = window && pc[i].past > window ? window : pc[i].past,
			.queries = pc[i].queries,
		};
		const uint64_t n = pc[i].count;
		/* Fails only for a part the chip lacks; w is where it keeps its
		 * cache (part_kv_where()). */
		rc = cim_chip_kv_append(&e->chip, &a, w, &c);
		assert(rc == 0);
		append->ps += c.ps * n;
		cim_chip_energy_add(&append->energy, &c.energy, (double)n);
		append->bytes +=
		    n * part_bytes((uint64_t)a.queries * a.kv_heads * a.kv_dim, a.kv_bits);
		rc = cim_chip_attention(&e->chip, &a, w, &c);
		assert(rc == 0);
		(void)rc;
		const int k = w != CIM_KV_ENGINE && c.memory_ps < c.compute_ps;
		struct cim_prog_op *o = &cls[k];
		used[k] = true;
		o->ps += c.ps * n;
		if (w != CIM_KV_ENGINE) {
			o->ps2 += (k == 0 ? c.compute_ps : c.memory_ps) * n;
			o->slices += (uint32_t)(n * a.kv_heads);
		}
		cim_chip_energy_add(&o->energy, &c.energy, (double)n);
		/* q·kᵀ and p·V: qk_dim and v_dim MACs per head per position */
		o->macs +=
		    n * cim_chip_attn_positions(&a) * a.heads * ((uint64_t)a.qk_dim + a.v_dim);
		o->bytes += n * part_bytes((uint64_t)(a.past + a.queries) * a.kv_heads * a.kv_dim,
					   a.kv_bits);
	}
	for (int k = 0; k < 2; k++) {
		if (!used[k])
			continue;
		struct cim_prog_op *o;
		if (w == CIM_KV_ENGINE) {
			o = emit(pg, CIM_ROLE_ATTENTION, CIM_OP_ATTN_QK, L, CIM_RES_KV, UINT32_MAX);
		} else {
			o = emit(pg, CIM_ROLE_ATTENTION, CIM_OP_ATTN_QK, L,
				 k == 0 ? CIM_RES_KV : CIM_RES_DIGITAL,
				 k == 0 ? CIM_RES_DIGITAL : CIM_RES_KV);
			o->ps2 = cls[k].ps2;
			o->slices = cls[k].slices;
		}
		o->ps = cls[k].ps;
		o->energy = cls[k].energy;
		o->macs = cls[k].macs;
		o->bytes = cls[k].bytes;
	}
}

/* Elements of a step per score (softmax, a cap, ALiBi) over the pieces: a
 * score per head of this chip per attended position. */
static uint64_t score_elems(const struct cim_part_rank *r, const struct cim_part_piece *pc,
			    uint32_t npc, uint32_t window)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < npc; i++) {
		struct cim_attn_shape a = {
			.past = window && pc[i].past > window ? window : pc[i].past,
			.queries = pc[i].queries,
		};
		n += (uint64_t)pc[i].count * r->heads * cim_chip_attn_positions(&a);
	}
	return n;
}

uint64_t cim_part_route_key(uint32_t layer, const struct cim_part_pass *p, uint32_t q)
{
	uint64_t h = 1469598103934665603ull;
	const uint64_t parts[] = { layer, p->past, p->queries, p->seqs, p->npieces };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		h = (h ^ parts[i]) * 1099511628211ull;
	return q ? (h ^ q) * 1099511628211ull : h;
}

uint32_t cim_part_ep_rank(const struct cim_part_plan *plan, const struct cim_part_rank *r,
			  uint32_t q)
{
	return (q * plan->pp + r->stage) * plan->tp + r->tp_index;
}

void cim_part_ep_all_ranks(const struct cim_part_plan *plan, const struct cim_part_rank *r,
			   uint32_t *out)
{
	for (uint32_t j = 0; j < plan->tp; j++)
		for (uint32_t q = 0; q < plan->dp; q++)
			out[j * plan->dp + q] = (q * plan->pp + r->stage) * plan->tp + j;
}

static void layer_program(struct prog *pg, const struct cim_experiment *e,
			  const struct cim_part_plan *plan, const struct cim_part_rank *r,
			  const struct cim_part_pass *p, const struct cim_op *ops, size_t nops,
			  uint32_t layer)
{
	const struct cim_model_spec *m = &e->model;
	const uint64_t T = cim_part_pass_tokens(p);
	const uint32_t tp = plan->tp;
	const uint64_t act = part_bytes(T * m->hidden, e->workload.act_bits);
	const int32_t L = (int32_t)layer;
	struct cim_part_piece one;
	const struct cim_part_piece *pc;
	const uint32_t npc = pass_pieces(p, &one, &pc);
	const uint32_t window = cim_model_window(m, layer);
	/* A parallel block (docs/model.md): the FFN's first matrices start
	 * with q, k and v, its down projection with o_proj, and one all-reduce
	 * sums both branches' partial products. */
	const bool par = m->parallel_block;
	bool routed = false; /* the experts' loads drawn for this layer */
	uint64_t most = 0;   /* … and the most any expert takes */
	uint32_t busy = 0;   /* … and how many take any */
	uint64_t kept = 0;   /* … and the tokens this chip's experts take */
	uint64_t load[CIM_PART_MAX_EXPERTS];
	/* Experts spread over the replicas: every replica's tokens of a
	 * layer go to the replicas holding their experts and come back, an
	 * all-to-all each way over the stage's members of this TP index in
	 * every replica; each member sends every routed copy of its tokens'
	 * activations (docs/partitioner.md, "Experts"). */
	const bool over = cim_experts_span_replicas(e->parallel.experts) && plan->dp > 1;
	/* a uniform prefill pass of a latent-attention model that
	 * decompresses (workload.mla_prefill; a served pass's mixed pieces
	 * keep the absorbed form) */
	const bool decomp = m->kv_lora && e->workload.mla_prefill == CIM_MLA_DECOMPRESSED &&
			    p->phase == CIM_PHASE_PREFILL && !p->npieces;
	const uint64_t routed_bytes =
	    part_bytes(T * m->experts_per_token * m->hidden, e->workload.act_bits);

	for (size_t i = 0; i < nops; i++) {
		const struct cim_op *op = &ops[i];
		struct cim_prog_op *o;

		if (op->scope != CIM_SCOPE_LAYER || !cim_op_in_layer(m, op, layer))
			continue;
		switch (op->kind) {
		case CIM_OP_MATMUL: {
			const enum cim_op_role role = op->role;
			/* decompressed, K and V are made before attention: no
			 * absorbed query, no W_UV after it */
			if (decomp && (role == CIM_ROLE_Q_ABSORB || role == CIM_ROLE_V_UP))
				break;
			const struct cim_part_shard *s = find_shard(r, role, op->layers);
			/* one draw of experts for the layer's gate, up and down */
			const bool moe = cim_op_routed(op);
			if (moe && !routed) {
				const uint32_t E = m->experts;
				/* the experts this chip holds: all (each divided over
				 * the group), its own E/tp whole ones, or its
				 * replica's E/dp */
				const uint32_t first =
				    cim_part_expert_block(e, plan, r->tp_index, r->replica) *
				    s->count;
				const uint32_t last = first + s->count;
				uint64_t sum[CIM_PART_MAX_EXPERTS];
				for (uint32_t x = first; x < last; x++)
					sum[x] = 0;
				/* every replica's tokens (the replicas run their
				 * passes in step: the same pass in each), or this
				 * replica's */
				for (uint32_t q = over ? 0 : r->replica;
				     q < (over ? plan->dp : r->replica + 1); q++) {
					most = cim_part_expert_loads_at(
					    e, layer, T, cim_part_route_key(layer, p, q), load);
					cim_part_expert_drop(&e->workload, E, op->active, T, load,
							     &most);
					for (uint32_t x = first; x < last; x++)
						sum[x] += load[x];
				}
				most = 0;
				for (uint32_t x = first; x < last; x++) {
					busy += sum[x] > 0;
					kept += sum[x];
					most = sum[x] > most ? sum[x] : most;
				}
				routed = true;
				if (over && T)
					coll_step(pg, CIM_ROLE_EXPERT_DISPATCH, CIM_NET_ALLTOALL, L,
						  routed_bytes)
					    ->group = CIM_GROUP_EP;
			}
			o = emit(pg, role, CIM_OP_MATMUL, L, matrix_res(r, layer, s), UINT32_MAX);
			if (moe)
				matmul_into(o, e, s, kept, most, busy);
			else if (cim_op_role_per_head(role))
				/* each of the chip's heads its own matrix, its
				 * own vector of every token */
				matmul_into(o, e, s, T * s->count, T, s->count);
			else
				matmul_into(o, e, s, T * op->active, T * op->active, 1);
			/* K and V read Q's input, up reads gate's: they start with
			 * it, each on its own crossbars. */
			o->with_prev =
			    role == CIM_ROLE_K_PROJ || role == CIM_ROLE_V_PROJ ||
			    role == CIM_ROLE_KV_A_PROJ ||
			    (role == CIM_ROLE_FFN_UP && (m->gated_ffn || par)) ||
			    (par && (role == CIM_ROLE_FFN_GATE || role == CIM_ROLE_FFN_DOWN)) ||
			    role == CIM_ROLE_SHARED_GATE || role == CIM_ROLE_SHARED_UP ||
			    role == CIM_ROLE_SHARED_EXPERT_GATE || role == CIM_ROLE_SHARED_DOWN;
			/* one all-reduce sums the FFN's partial products, the
			 * shared expert's with the routed ones' */
			const enum cim_op_role last =
			    m->shared_ffn && !cim_model_layer_dense(m, layer) ? CIM_ROLE_SHARED_DOWN
									      : CIM_ROLE_FFN_DOWN;
			if (over && routed && role == last && T)
				coll_step(pg, CIM_ROLE_EXPERT_COMBINE, CIM_NET_ALLTOALL, L,
					  routed_bytes)
				    ->group = CIM_GROUP_EP;
			if (tp > 1 && ((role == CIM_ROLE_O_PROJ && !par) || role == last))
				coll_step(pg,
					  role == CIM_ROLE_O_PROJ ? CIM_ROLE_ATTN_ALLREDUCE
								  : CIM_ROLE_FFN_ALLREDUCE,
					  CIM_NET_ALLREDUCE, L, act);
			break;
		}
		case CIM_OP_ROPE:
			vector_step(pg, e, op->role, op->kind, L,
				    T * (uint64_t)(r->heads + r->kv_heads) * m->rotary_dim);
			break;
		case CIM_OP_ATTN_QK:
			if (decomp) {
				/* every cached latent of the pass's sequences, and
				 * the new ones, through W_UK and W_UV of each of the
				 * chip's heads, on their own crossbars at once */
				uint64_t v = 0;
				for (uint32_t j = 0; j < npc; j++)
					v += (uint64_t)pc[j].count * (pc[j].past + pc[j].queries);
				for (int u = 0; u < 2; u++) {
					const enum cim_op_role ur =
					    u ? CIM_ROLE_V_UP : CIM_ROLE_K_UP;
					const struct cim_part_shard *us =
					    find_shard(r, ur, CIM_LAYERS_ALL);
					o = emit(pg, ur, CIM_OP_MATMUL, L, matrix_res(r, layer, us),
						 UINT32_MAX);
					matmul_into(o, e, us, v * us->count, v, us->count);
					o->with_prev = u == 1;
				}
			}
			attention_steps(pg, e, r, pc, npc, window, L, decomp);
			break;
		case CIM_OP_SOFTMAX:
		case CIM_OP_SOFTCAP:
			vector_step(pg, e, op->role, op->kind, L, score_elems(r, pc, npc, window));
			break;
		case CIM_OP_ATTN_AV:
			break; /* priced with q·kᵀ as "attention" */
		case CIM_OP_ACT:
		case CIM_OP_GATE_MUL: {
			if (op->role == CIM_ROLE_SHARED_ACT ||
			    op->role == CIM_ROLE_SHARED_GATE_MUL) {
				const struct cim_part_shard *up =
				    find_shard(r, CIM_ROLE_SHARED_UP, op->layers);
				vector_step(pg, e, op->role, op->kind, L, T * up->n);
				break;
			}
			/* this chip's share of the width, times the vectors its
			 * experts took (the routed copies that reached this
			 * chip's experts and were not dropped: all T·k of them
			 * under tensor placement, this chip's own under expert
			 * placement); a dense FFN's tokens once (elems is
			 * width × k) */
			const struct cim_part_shard *up =
			    find_shard(r, CIM_ROLE_FFN_UP, op->layers);
			const uint32_t width =
			    op->layers == CIM_LAYERS_DENSE ? m->dense_ffn : m->ffn;
			vector_step(pg, e, op->role, op->kind, L,
				    routed ? kept * up->n : T * up->n * op->elems / width);
			break;
		}
		case CIM_OP_SCALE:
			/* ALiBi: a bias per score; a residual multiplier: the width */
			vector_step(pg, e, op->role, op->kind, L,
				    op->role == CIM_ROLE_ALIBI ? score_elems(r, pc, npc, window)
							       : T * op->elems);
			break;
		case CIM_OP_NORM:
			/* q and k norms: this chip's heads; the others the width */
			vector_step(pg, e, op->role, op->kind, L,
				    op->role == CIM_ROLE_QK_NORM
					? T * (uint64_t)(r->heads + r->kv_heads) * m->head_dim
					: T * op->elems);
			break;
		default: /* residual adds: the whole width */
			vector_step(pg, e, op->role, op->kind, L, T * op->elems);
			break;
		}
	}
}

size_t cim_part_program(const struct cim_experiment *e, const struct cim_part_plan *plan,
			const struct cim_part_rank *r, const struct cim_part_pass *p,
			struct cim_prog_op *ops, size_t cap)
{
	const struct cim_model_spec *m = &e->model;
	struct cim_op mops[CIM_MODEL_MAX_OPS];
	size_t nops = cim_model_ops(m, mops);
	struct prog pg = { .ops = ops, .cap = cap };
	const uint64_t T = cim_part_pass_tokens(p);
	/* A sharded table: each member looks up the tokens whose rows it
	 * holds, taken as an even share (docs/partitioner.md), and an
	 * all-reduce sums the members' lookups. */
	const bool sharded = e->parallel.embedding == CIM_EMBED_SHARDED && plan->tp > 1;
	const uint64_t looked = sharded ? (T + plan->tp - 1) / plan->tp : T;

	if (r->embed && r->embed_dram) {
		/* The table is in the DRAM (plan.c): a read on its port. */
		struct cim_chip_cost c;
		struct cim_prog_op *o =
		    emit(&pg, CIM_ROLE_EMBED, CIM_OP_EMBED, -1, CIM_RES_KV, UINT32_MAX);
		cim_chip_embed(&e->chip, looked * m->hidden, e->workload.act_bits, &c);
		o->ps = c.ps;
		o->energy = c.energy;
		o->bytes = part_bytes(looked * m->hidden, e->workload.act_bits);
	} else if (r->embed) {
		vector_step(&pg, e, CIM_ROLE_EMBED, CIM_OP_EMBED, -1, looked * m->hidden);
	}
	if (r->embed && sharded && T)
		coll_step(&pg, CIM_ROLE_EMBED_ALLREDUCE, CIM_NET_ALLREDUCE, -1,
			  part_bytes(T * m->hidden, e->workload.act_bits));
	/* What follows the lookup (a scale, a norm) and what follows the head
	 * (a scale, a cap), in the model's order. */
	for (size_t i = 0; r->embed && i < nops; i++)
		if (mops[i].scope == CIM_SCOPE_PRE && mops[i].role != CIM_ROLE_EMBED)
			vector_step(&pg, e, mops[i].role, mops[i].kind, -1, T * mops[i].elems);
	for (uint32_t l = r->first_layer; l < r->first_layer + r->nlayers; l++)
		layer_program(&pg, e, plan, r, p, mops, nops, l);
	const uint64_t S = cim_part_pass_samples(p);
	if (r->head && S) {
		const struct cim_part_shard *s = find_shard(r, CIM_ROLE_LM_HEAD, CIM_LAYERS_ALL);
		const uint32_t head_res = matrix_res(r, 0, s);
		/* Only the last position of each sequence needs logits. */
		vector_step(&pg, e, CIM_ROLE_FINAL_NORM, CIM_OP_NORM, -1, S * m->hidden);
		struct cim_prog_op *o =
		    emit(&pg, CIM_ROLE_LM_HEAD, CIM_OP_MATMUL, -1, head_res, UINT32_MAX);
		matmul_into(o, e, s, S, S, 1);
		for (size_t i = 0; i < nops; i++)
			if (mops[i].role == CIM_ROLE_LOGIT_SCALE ||
			    mops[i].role == CIM_ROLE_LOGIT_SOFTCAP)
				vector_step(&pg, e, mops[i].role, mops[i].kind, -1, S * s->n);
		vector_step(&pg, e, CIM_ROLE_SAMPLE, CIM_OP_SAMPLE, -1, S * s->n);
		/* Each member's best (value, index) per sequence, gathered. */
		if (plan->tp > 1)
			coll_step(&pg, CIM_ROLE_SAMPLE_GATHER, CIM_NET_ALLGATHER, -1,
				  (uint64_t)plan->tp * S * 8);
	}
	return pg.n;
}

const char *cim_part_phase_name(enum cim_part_phase phase)
{
	static const char *const names[] = { "prefill", "decode" };

	_Static_assert(sizeof(names) / sizeof(names[0]) == CIM_PHASE_N, "a name per phase");
	return (unsigned)phase < CIM_PHASE_N ? names[phase] : "?";
}

/* The matrices of one layer the rank holds: every shard but the head's,
 * which build_shards() puts last. */
static uint32_t layer_matrices(const struct cim_part_rank *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->nshards; i++)
		n += r->shards[i].role != CIM_ROLE_LM_HEAD;
	return n;
}

uint32_t cim_part_xbar_groups(const struct cim_part_rank *r)
{
	uint32_t n = r->head ? 1 : 0;

	if (r->shared_cores)
		return 1;
	/* a matrix of each layer it is in (a DeepSeek model's dense FFN in
	 * its dense layers, its experts in the others) */
	for (uint32_t i = 0; i < r->nshards; i++)
		if (r->shards[i].role != CIM_ROLE_LM_HEAD)
			n += r->shards[i].times;
	return n;
}

/* The head's resource has its number on every rank (unused but on the
 * last stage). */
uint32_t cim_part_nres(const struct cim_part_rank *r)
{
	return CIM_RES_XBAR0 + r->nlayers * layer_matrices(r) + 1;
}

uint32_t matrix_res(const struct cim_part_rank *r, uint32_t layer, const struct cim_part_shard *s)
{
	const uint32_t nmat = layer_matrices(r), j = (uint32_t)(s - r->shards);

	assert(j < r->nshards);
	if (r->shared_cores)
		return CIM_RES_XBAR0;
	if (s->role == CIM_ROLE_LM_HEAD)
		return CIM_RES_XBAR0 + r->nlayers * nmat;
	assert(layer >= r->first_layer && layer < r->first_layer + r->nlayers && j < nmat);
	return CIM_RES_XBAR0 + (layer - r->first_layer) * nmat + j;
}

void cim_part_res_name(const struct cim_part_rank *r, uint32_t res, char *buf, size_t size)
{
	static const char *const fixed[] = { "digital", "kv", "link" };
	const uint32_t nmat = layer_matrices(r);

	if (res < CIM_RES_XBAR0) {
		snprintf(buf, size, "%s", fixed[res]);
	} else if (r->shared_cores) {
		snprintf(buf, size, "%s", res == CIM_RES_XBAR0 ? "cores" : "unused");
	} else if (nmat && res < CIM_RES_XBAR0 + r->nlayers * nmat) {
		const uint32_t i = res - CIM_RES_XBAR0;
		snprintf(buf, size, "xbar L%u %s", r->first_layer + i / nmat,
			 cim_op_role_name((enum cim_op_role)r->shards[i % nmat].role));
	} else {
		snprintf(buf, size, "%s", cim_op_role_name(CIM_ROLE_LM_HEAD));
	}
}

uint64_t cim_part_group_add(struct cim_part_group *g, const struct cim_prog_op *o)
{
	const uint64_t before = o->with_prev ? g->end : 0;
	uint32_t i = 0;

	if (!o->with_prev)
		g->end = g->n = 0;
	while (i < g->n && g->res[i] != o->res)
		i++;
	if (i == g->n) {
		assert(g->n < sizeof(g->res) / sizeof(g->res[0]));
		g->res[g->n] = o->res;
		g->busy[g->n++] = 0;
	}
	g->busy[i] += o->ps;
	if (g->busy[i] > g->end)
		g->end = g->busy[i];
	return g->end - before;
}

uint64_t cim_part_program_alone_ps(const struct cim_prog_op *ops, size_t n)
{
	struct cim_part_group g = { 0 };
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += cim_part_group_add(&g, &ops[i]);
	return sum;
}

uint64_t cim_part_act_bytes(const struct cim_experiment *e, const struct cim_part_pass *p)
{
	return part_bytes(cim_part_pass_tokens(p) * e->model.hidden, e->workload.act_bits);
}

uint64_t cim_part_token_bytes(const struct cim_part_pass *p)
{
	return (uint64_t)cim_part_pass_samples(p) * 4; /* a 32-bit token id per sequence */
}

/* ------------------------------------------------------------- the passes */

static uint32_t chunk_len(const struct cim_experiment *e)
{
	const struct cim_workload_spec *w = &e->workload;

	return w->prefill_chunk && w->prefill_chunk < w->prompt_tokens ? w->prefill_chunk
								       : w->prompt_tokens;
}

uint32_t cim_part_npasses(const struct cim_experiment *e)
{
	const struct cim_workload_spec *w = &e->workload;
	uint32_t c = chunk_len(e), chunks = (w->prompt_tokens + c - 1) / c;

	return chunks + (w->generate_tokens ? w->generate_tokens - 1 : 0);
}

void cim_part_pass_at(const struct cim_experiment *e, uint32_t seqs, uint32_t step,
		      struct cim_part_pass *out)
{
	const struct cim_workload_spec *w = &e->workload;
	uint32_t c = chunk_len(e), chunks = (w->prompt_tokens + c - 1) / c;
	struct cim_part_pass p = { .seqs = seqs };

	if (step < chunks) {
		p.phase = CIM_PHASE_PREFILL;
		p.past = (uint64_t)step * c;
		p.queries = step + 1 < chunks ? c : w->prompt_tokens - step * c;
		p.last_chunk = step + 1 == chunks;
		p.sample = p.last_chunk && w->generate_tokens > 0;
	} else {
		p.phase = CIM_PHASE_DECODE;
		p.queries = 1;
		p.past = (uint64_t)w->prompt_tokens + (step - chunks);
		p.sample = true;
	}
	*out = p;
}
