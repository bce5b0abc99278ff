/*
 * plan.c — building a plan: TP shards of every matrix, layers per stage,
 * and the bytes and crossbars each chip holds, checked against the chip.
 *
 * Megatron-LM's split (Shoeybi et al., 2019): Q, K, V and the FFN's up and
 * gate matrices are split by columns (outputs), the attention output and
 * FFN down matrices by rows (inputs) with an all-reduce of the partial sums
 * after them; heads go whole to one member.  The LM head is split by
 * vocabulary columns over the last stage's group; the embedding table sits
 * whole on every member of the first stage.  What each chip computes in what
 * order is program.c; the estimate is estimate.c.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "part_int.h"

/* Member i's share of n things split over p members: ⌊n(i+1)/p⌋ − ⌊ni/p⌋. */
uint64_t part_share(uint64_t n, uint32_t p, uint32_t i)
{
	return n * (i + 1) / p - n * i / p;
}

uint64_t part_bytes(uint64_t elems, uint32_t bits)
{
	return (elems * bits + 7) / 8;
}

uint64_t cim_part_kv_bits_per_pos(const struct cim_experiment *e, const struct cim_part_rank *r)
{
	return (uint64_t)r->kv_heads * cim_model_kv_width(&e->model) * e->workload.kv_bits;
}

uint64_t cim_part_kv_bytes(const struct cim_experiment *e, const struct cim_part_rank *r,
			   uint64_t seq_positions)
{
	return (seq_positions * cim_part_kv_bits_per_pos(e, r) + 7) / 8;
}

enum cim_kv_where part_kv_where(const struct cim_chip_spec *c)
{
	if (c->has_attn_engine)
		return CIM_KV_ENGINE;
	return c->has_dram ? CIM_KV_DRAM : CIM_KV_BUFFER;
}

uint64_t part_context(const struct cim_experiment *e)
{
	const struct cim_workload_spec *w = &e->workload;
	uint64_t ctx =
	    (uint64_t)w->prompt_tokens + (w->generate_tokens ? w->generate_tokens - 1 : 0);

	/* When every layer slides, no layer attends further than its window. */
	if (e->model.local_layers == e->model.layers && ctx > e->model.sliding_window)
		ctx = e->model.sliding_window;
	return ctx;
}

/* Of n requests dealt to dp replicas in turn (request i to replica
 * i mod dp, the router of docs/serving.md), how many replica q gets. */
static uint32_t dealt(uint64_t n, uint32_t dp, uint32_t q)
{
	return (uint32_t)((n + dp - 1 - q) / dp);
}

uint32_t cim_part_static_batch(const struct cim_experiment *e, const struct cim_part_plan *plan,
			       uint32_t replica, uint32_t m)
{
	if (e->serving.has_max_batch)
		return e->serving.max_batch;
	return (uint32_t)part_share(dealt(e->serving.requests, plan->dp, replica),
				    plan->micro_batches, m);
}

uint64_t part_serving_pass_tokens(const struct cim_experiment *e, const struct cim_part_plan *plan,
				  uint32_t replica)
{
	const struct cim_serving_spec *s = &e->serving;
	const uint32_t c = e->workload.prefill_chunk;

	if (s->scheduler == CIM_SCHED_STATIC)
		return (uint64_t)cim_part_static_batch(e, plan, replica, 0) *
		       (c && c < s->prompt.max ? c : s->prompt.max);
	return s->token_budget;
}

/* Sequences of replica q: the batch split as evenly as it goes. */
/* Sequences of replica q: the batch dealt to the replicas in turn, as a
 * served load's requests are (the first replicas get one more when dp does
 * not divide the batch). */
static uint32_t replica_seqs(const struct cim_experiment *e, uint32_t dp, uint32_t q)
{
	return dealt(e->workload.batch, dp, q);
}

static uint32_t micro_batches(const struct cim_experiment *e, uint32_t seqs)
{
	uint32_t m = e->workload.micro_batches;

	/* Default: one sequence per micro-batch, so every layer's crossbars and
	 * every stage can work on a different sequence at once
	 * (docs/partitioner.md, "Micro-batches").  A larger count is refused
	 * by part_split_ok(). */
	return m == 0 ? seqs : m;
}

uint32_t cim_part_mb_seqs(const struct cim_experiment *e, const struct cim_part_plan *plan,
			  uint32_t replica, uint32_t m)
{
	uint32_t seqs = replica_seqs(e, plan->dp, replica);

	return (uint32_t)part_share(seqs, plan->micro_batches, m);
}

/* ------------------------------------------------------------- the split */

/* Whether tp members can hold the KV heads: each a share of them, or a
 * group of members a copy of each. */
static bool kv_heads_split(const struct cim_model_spec *m, uint32_t tp)
{
	return m->kv_heads % tp == 0 || tp % m->kv_heads == 0;
}

/* The split's shape against the model and the batch: the tests a listing
 * of splits leaves out (cim_part_enumerate) and cim_part_plan refuses. */
bool part_split_shape_ok(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
			 struct cim_err *err)
{
	const struct cim_model_spec *m = &e->model;
	char list[256];
	size_t len = 0;

	if (tp == 0 || pp == 0 || dp == 0) {
		cim_err_set(err, "tp, pp and dp must be at least 1 (tp %u, pp %u, dp %u)", tp, pp,
			    dp);
		return false;
	}
	if (m->heads % tp != 0) {
		for (uint32_t t = 1; t <= m->heads && len < sizeof(list) - 16; t++)
			if (m->heads % t == 0 && kv_heads_split(m, t))
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u",
							len ? ", " : "", t);
		cim_err_set(err,
			    "tp %u does not divide the %u attention heads of %s: a head "
			    "cannot be split over chips; tp may be %s",
			    tp, m->heads, m->name, list);
		return false;
	}
	const enum cim_expert_split place = e->parallel.experts;
	if (cim_experts_whole(place) && m->experts % tp) {
		cim_err_set(err,
			    "tp %u does not divide the %u experts of %s: expert parallelism "
			    "(parallel.experts: %s) gives each member of a group a whole "
			    "number of them",
			    tp, m->experts, m->name, cim_experts_name(place));
		return false;
	}
	if (cim_experts_span_replicas(place)) {
		const char *why = NULL;
		char msg[320];
		if (dp < 2) {
			why = "it spreads the experts over the replicas and needs dp of 2 or "
			      "more";
		} else if (dp > CIM_PART_MAX_EP_REPLICAS) {
			snprintf(msg, sizeof(msg),
				 "dp %u spreads the experts over more replicas than the %u "
				 "whose all-to-all (dp · dp chunks a layer) cimsim prices",
				 dp, CIM_PART_MAX_EP_REPLICAS);
			why = msg;
		} else if (m->experts % dp ||
			   (place == CIM_EXPERTS_EXPERT_REPLICAS && m->experts / dp % tp)) {
			snprintf(msg, sizeof(msg),
				 "%s %u does not divide the %u experts of %s: each %s holds a "
				 "whole number of them",
				 place == CIM_EXPERTS_REPLICAS ? "dp" : "tp · dp",
				 place == CIM_EXPERTS_REPLICAS ? dp : tp * dp, m->experts, m->name,
				 place == CIM_EXPERTS_REPLICAS ? "replica" : "chip");
			why = msg;
		} else if (e->workload.batch % dp) {
			snprintf(msg, sizeof(msg),
				 "dp %u does not divide the batch of %u: replicas that share "
				 "their experts run their passes in step, so each needs as "
				 "many sequences",
				 dp, e->workload.batch);
			why = msg;
		}
		if (why) {
			cim_err_set(err, "parallel.experts: %s: %s (or use tensor or expert)",
				    cim_experts_name(place), why);
			return false;
		}
	}
	if (!kv_heads_split(m, tp)) {
		cim_err_set(err,
			    "tp %u neither divides nor is a multiple of the %u key/value "
			    "heads of %s, so KV heads cannot be split or replicated evenly",
			    tp, m->kv_heads, m->name);
		return false;
	}
	if (pp > m->layers + (e->parallel.pp == pp ? cim_spec_end_stages(&e->parallel) : 0)) {
		cim_err_set(err, "pp %u exceeds the %u layers of %s: every stage needs a layer", pp,
			    m->layers, m->name);
		return false;
	}
	if (dp > e->workload.batch) {
		cim_err_set(err,
			    "dp %u exceeds the batch of %u sequences: every replica "
			    "needs a sequence",
			    dp, e->workload.batch);
		return false;
	}
	return true;
}

/* Everything cim_part_plan asks of a split before it builds the plan. */
bool part_split_ok(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
		   struct cim_err *err)
{
	if (!part_split_shape_ok(e, tp, pp, dp, err))
		return false;
	if (pp > CIM_MAX_STAGES) {
		cim_err_set(err, "pp %u exceeds the %u stages a plan may have", pp, CIM_MAX_STAGES);
		return false;
	}
	/* The smallest replica holds ⌊batch/dp⌋ sequences (a served load has
	 * no batch: its micro-batches are streams of passes). */
	if (!e->serving.on && e->workload.micro_batches > e->workload.batch / dp) {
		cim_err_set(err,
			    "workload.micro_batches %u exceeds the %u sequences of a "
			    "replica (batch %u over dp %u): a micro-batch needs a sequence; "
			    "use at most %u, or 0 for one sequence each",
			    e->workload.micro_batches, e->workload.batch / dp, e->workload.batch,
			    dp, e->workload.batch / dp);
		return false;
	}
	if ((uint64_t)tp * pp * dp > CIM_NET_MAX_POSITIONS) {
		cim_err_set(err,
			    "tp·pp·dp = %" PRIu64 " chips exceeds the %u an "
			    "interconnect may have",
			    (uint64_t)tp * pp * dp, CIM_NET_MAX_POSITIONS);
		return false;
	}
	return true;
}

/* Adds the shard of matrix op (one layer's, or the head) for TP member i. */
static void add_shard(const struct cim_experiment *e, struct cim_part_rank *r, uint32_t tp,
		      uint32_t dp, const struct cim_op *op)
{
	const struct cim_model_spec *m = &e->model;
	struct cim_part_shard *s = &r->shards[r->nshards++];
	const uint32_t i = r->tp_index, hd = m->head_dim;
	uint64_t k = op->k, n = op->n;
	uint32_t split = CIM_SPLIT_COLUMN, holders = 1;

	switch (op->role) {
	case CIM_ROLE_Q_PROJ:
		n = (uint64_t)m->heads / tp * hd;
		break;
	case CIM_ROLE_K_PROJ:
	case CIM_ROLE_V_PROJ:
		if (tp <= m->kv_heads) {
			n = (uint64_t)m->kv_heads / tp * hd;
		} else {
			n = hd; /* one KV head, shared by tp/kv members */
			holders = tp / m->kv_heads;
		}
		break;
	case CIM_ROLE_O_PROJ:
		split = CIM_SPLIT_ROW;
		k = (uint64_t)m->heads / tp * m->v_dim;
		break;
	case CIM_ROLE_Q_ABSORB:
	case CIM_ROLE_V_UP:
	case CIM_ROLE_K_UP:
		split = CIM_SPLIT_HEADS; /* the member's heads' matrices, whole */
		break;
	case CIM_ROLE_FFN_DOWN:
	case CIM_ROLE_SHARED_DOWN:
		split = CIM_SPLIT_ROW;
		k = part_share(op->k, tp, i);
		break;
	case CIM_ROLE_ROUTER:
	case CIM_ROLE_SHARED_EXPERT_GATE:
	case CIM_ROLE_Q_A_PROJ:
	case CIM_ROLE_KV_A_PROJ:
		/* every member needs the whole of these: the router's scores,
		 * the query latent q_b reads, the KV latent all heads attend */
		split = CIM_SPLIT_REPLICATED;
		holders = tp;
		break;
	default: /* ffn_up, ffn_gate, lm_head */
		n = part_share(op->n, tp, i);
		break;
	}
	/* Expert parallelism: a member holds E/tp whole experts; the FFN's
	 * all-reduce still sums the members' outputs (every member has every
	 * token, docs/partitioner.md). */
	if (cim_op_routed(op) && cim_experts_whole(e->parallel.experts) && tp > 1) {
		k = op->k;
		n = op->n;
		split = CIM_SPLIT_EXPERTS;
		holders = 1;
	}
	if (tp == 1) {
		split = CIM_SPLIT_REPLICATED;
		holders = 1;
	}
	s->role = op->role;
	s->split = split;
	s->layers = op->layers;
	s->k = (uint32_t)k;
	s->n = (uint32_t)n;
	s->count = split == CIM_SPLIT_HEADS ? op->count / tp : op->count;
	/* a routed expert's copies: E over the holders (cim_part_expert_block) */
	if (cim_op_routed(op))
		s->count = op->count / cim_part_expert_holders(e, tp, dp);
	s->holders = holders;
	s->has_bias = op->bias;
	/* A row-split matrix's bias is added once, by member 0, before the
	 * all-reduce sums the partial products. */
	if (split == CIM_SPLIT_ROW && i != 0)
		s->has_bias = false;
}

/* Rank r's neighbours: ranks are laid out replica by replica, stage by
 * stage, TP member by member (docs/partitioner.md). */
static void layout(const struct cim_part_plan *plan, struct cim_part_rank *r)
{
	const uint32_t tp = plan->tp, first_stage = r->replica * plan->pp * tp;

	r->group_first = r->rank - r->tp_index;
	r->prev_rank = r->stage > 0 ? r->rank - tp : CIM_PART_NO_RANK;
	r->next_rank = r->stage + 1 < plan->pp ? r->rank + tp : CIM_PART_NO_RANK;
	if (r->stage + 1 == plan->pp)
		r->token_peer = first_stage + r->tp_index;
	else if (r->stage == 0)
		r->token_peer = first_stage + (plan->pp - 1) * tp + r->tp_index;
	else
		r->token_peer = CIM_PART_NO_RANK;
}

/* The shapes every chip of the plan holds, before layers are assigned. */
static void build_shards(const struct cim_experiment *e, struct cim_part_plan *plan)
{
	const struct cim_model_spec *m = &e->model;
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	size_t nops = cim_model_ops(m, ops);

	for (uint32_t rank = 0; rank < plan->chips; rank++) {
		struct cim_part_rank *r = &plan->ranks[rank];

		r->rank = rank;
		r->tp_index = rank % plan->tp;
		r->stage = rank / plan->tp % plan->pp;
		r->replica = rank / (plan->tp * plan->pp);
		layout(plan, r);
		r->embed = r->stage == 0;
		r->head = r->stage == plan->pp - 1;
		r->heads = m->heads / plan->tp;
		r->kv_heads = plan->tp <= m->kv_heads ? m->kv_heads / plan->tp : 1;
		for (size_t j = 0; j < nops; j++) {
			if (ops[j].kind != CIM_OP_MATMUL)
				continue;
			if (ops[j].scope == CIM_SCOPE_LAYER || r->head) {
				assert(r->nshards < CIM_PART_MAX_SHARDS);
				add_shard(e, r, plan->tp, plan->dp, &ops[j]);
			}
			/* Prefill passes that decompress the latents hold W_UK a
			 * second time, from the latent to each head's key (a copy,
			 * as a tied LM head's: the model's parameters are the
			 * same). */
			if (ops[j].role == CIM_ROLE_V_UP &&
			    e->workload.mla_prefill == CIM_MLA_DECOMPRESSED) {
				struct cim_op k_up = ops[j];
				k_up.role = CIM_ROLE_K_UP;
				k_up.k = m->kv_lora;
				k_up.n = m->head_dim - m->rotary_dim;
				assert(r->nshards < CIM_PART_MAX_SHARDS);
				add_shard(e, r, plan->tp, plan->dp, &k_up);
			}
		}
	}
}

/* ---------------------------------------------------- layers over stages */

/* The cost of stage s of pp holding n layers. */
static uint64_t stage_cost(uint32_t s, uint32_t pp, uint64_t n, uint64_t layer_cost, uint64_t first,
			   uint64_t last)
{
	uint64_t c;

	if (__builtin_mul_overflow(n, layer_cost, &c) ||
	    __builtin_add_overflow(c, (s == 0 ? first : 0) + (s == pp - 1 ? last : 0), &c))
		return UINT64_MAX;
	return c;
}

/* Whether every stage can hold a layer under bound and the layers fit. */
static bool bound_fits(uint32_t layers, uint32_t pp, uint64_t layer_cost, uint64_t first,
		       uint64_t last, uint64_t bound)
{
	uint64_t room = 0;

	for (uint32_t s = 0; s < pp; s++) {
		uint64_t one = stage_cost(s, pp, 1, layer_cost, first, last);
		if (one > bound)
			return false;
		uint64_t more = (bound - one) / layer_cost;
		room += 1 + (more < layers ? more : layers);
	}
	return room >= layers;
}

/* A binary min-heap of stages by (cost, stage). */
struct stage_heap {
	uint32_t *s;
	uint64_t *cost; /* by stage */
	uint32_t n;
};

static bool heap_less(const struct stage_heap *h, uint32_t a, uint32_t b)
{
	return h->cost[a] != h->cost[b] ? h->cost[a] < h->cost[b] : a < b;
}

static void heap_sift(struct stage_heap *h, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && heap_less(h, h->s[l], h->s[m]))
			m = l;
		if (r < h->n && heap_less(h, h->s[r], h->s[m]))
			m = r;
		if (m == i)
			return;
		uint32_t t = h->s[i];
		h->s[i] = h->s[m];
		h->s[m] = t;
		i = m;
	}
}

/*
 * Splits the layers into pp contiguous runs of at least one layer each that
 * minimise the largest stage cost, where a stage costs its layers' cost plus
 * first (stage 0) or last (stage pp − 1); among the splits with that
 * largest cost, the one with the least sum of squared stage costs, so no
 * stage is left needlessly light; among those, the one that gives later
 * stages fewer layers.  Every layer costs the same, so a split is only how
 * many layers each stage holds.  The least largest cost is found by
 * bisection (a bound holds when every stage takes one layer under it and
 * the stages' room under it adds up to the layers); then, from one layer a
 * stage, each further layer goes to the stage whose cost is least (the
 * earliest among equals) and stays under the bound, which is how a sum of
 * convex costs of whole numbers is minimised.  O(pp log(L·cost) + L log pp);
 * tests/partitioner checks it against every split of small cases.
 */
int part_balance(uint32_t layers, uint32_t pp, uint64_t layer_cost, uint64_t first, uint64_t last,
		 uint32_t *out)
{
	uint64_t lo = 0, hi = 0;

	for (uint32_t s = 0; s < pp; s++) {
		uint64_t one = stage_cost(s, pp, 1, layer_cost, first, last);
		uint64_t all = stage_cost(s, pp, layers, layer_cost, first, last);
		lo = one > lo ? one : lo;
		hi = all > hi ? all : hi;
	}
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (bound_fits(layers, pp, layer_cost, first, last, mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	struct stage_heap h = { malloc(sizeof(*h.s) * pp), malloc(sizeof(*h.cost) * pp), 0 };
	if (!h.s || !h.cost) {
		free(h.s);
		free(h.cost);
		return -1;
	}
	for (uint32_t s = 0; s < pp; s++) {
		out[s] = 1;
		h.cost[s] = stage_cost(s, pp, 1, layer_cost, first, last);
		if (h.cost[s] + layer_cost <= lo)
			h.s[h.n++] = s;
	}
	for (uint32_t i = h.n / 2; i-- > 0;)
		heap_sift(&h, i);
	for (uint32_t dealt = pp; dealt < layers; dealt++) {
		assert(h.n > 0); /* the bound holds every layer */
		uint32_t s = h.s[0];
		out[s]++;
		h.cost[s] += layer_cost;
		if (h.cost[s] + layer_cost > lo)
			h.s[0] = h.s[--h.n];
		heap_sift(&h, 0);
	}
	free(h.s);
	free(h.cost);
	return 0;
}

/* Decode cost of one layer, of the embedding and of the head on rank r, in
 * ps: the sum of the chip's program for one sequence at the mean context. */
static void stage_costs(const struct cim_experiment *e, struct cim_part_plan *plan, uint64_t *layer,
			uint64_t *first, uint64_t *last)
{
	struct cim_part_rank r = plan->ranks[plan->chips - 1]; /* the last stage */
	struct cim_prog_op ops[PART_MAX_LAYER_OPS * 2 + PART_MAX_END_OPS];
	struct cim_part_pass p = {
		.phase = 1,
		.seqs = 1,
		.queries = 1,
		.past = ((uint64_t)e->workload.prompt_tokens + part_context(e)) / 2,
		.sample = true,
		.last_chunk = true,
	};
	uint64_t sum[3] = { 0 };

	/* a layer with experts when the first are dense: the layers a
	 * balance by cost weighs as one (docs/partitioner.md) */
	r.first_layer = e->model.dense_layers < e->model.layers ? e->model.dense_layers : 0;
	r.nlayers = 1;
	r.embed = true;
	r.head = true;
	size_t n = cim_part_program(e, plan, &r, &p, ops, sizeof(ops) / sizeof(ops[0]));
	for (size_t i = 0; i < n; i++) {
		int part = ops[i].layer >= 0 ? 0 : ops[i].role == CIM_ROLE_EMBED ? 1 : 2;
		sum[part] += ops[i].ps;
	}
	*layer = sum[0];
	*first = sum[1];
	*last = sum[2];
}

static int assign_layers(const struct cim_experiment *e, struct cim_part_plan *plan,
			 struct cim_err *err)
{
	const struct cim_parallel_spec *par = &e->parallel;
	const uint32_t L = e->model.layers, pp = plan->pp;
	uint64_t layer = 1, first = 0, last = 0;

	if (par->balance == CIM_BALANCE_LIST) {
		uint64_t sum = 0;
		if (par->nlayers != pp)
			return cim_err_set(err,
					   "parallel.layers lists %u stages but the split has "
					   "%u; give one entry per stage or balance by cost",
					   par->nlayers, pp);
		for (uint32_t s = 0; s < pp; s++) {
			if (par->layers[s] == 0 && ((s > 0 && s + 1 < pp) || pp == 1))
				return cim_err_set(
				    err,
				    "parallel.layers: stage %u has no layers; every "
				    "stage but the first (the embedding alone) and the "
				    "last (the LM head alone) needs at least one",
				    s);
			plan->stage_layers[s] = par->layers[s];
			sum += par->layers[s];
		}
		if (sum != L)
			return cim_err_set(err,
					   "parallel.layers: the stages hold %" PRIu64
					   " layers but %s has %u; make them add up to %u",
					   sum, e->model.name, L, L);
		plan->balance = CIM_BALANCE_LIST;
	} else {
		plan->balance =
		    par->balance == CIM_BALANCE_CAPACITY ? CIM_BALANCE_CAPACITY : CIM_BALANCE_COST;
		if (plan->balance == CIM_BALANCE_CAPACITY) {
			const struct cim_part_rank *r = &plan->ranks[plan->chips - 1];
			layer = 0;
			for (uint32_t j = 0; j < r->nshards; j++) {
				const struct cim_part_shard *sh = &r->shards[j];
				uint64_t x = part_shard_crossbars(&e->chip, sh) * sh->count;
				if (sh->role == CIM_ROLE_LM_HEAD)
					last = x;
				else if (sh->layers != CIM_LAYERS_DENSE)
					layer += x; /* a layer with experts, when some are dense */
			}
		} else {
			stage_costs(e, plan, &layer, &first, &last);
		}
		if (part_balance(L, pp, layer ? layer : 1, first, last, plan->stage_layers) < 0)
			return cim_err_set(err, "out of memory balancing %u layers", L);
	}
	for (uint32_t s = 0, at = 0; s < pp; s++) {
		plan->stage_first[s] = at;
		at += plan->stage_layers[s];
	}
	return 0;
}

/* ------------------------------------------------------------- the totals */

uint64_t part_shard_crossbars(const struct cim_chip_spec *c, const struct cim_part_shard *s)
{
	struct cim_chip_map map;

	cim_chip_map(c, s->k, s->n, &map);
	return map.crossbars;
}

static void rank_totals(const struct cim_experiment *e, struct cim_part_plan *plan,
			struct cim_part_rank *r)
{
	const struct cim_model_spec *m = &e->model;
	const struct cim_chip_spec *c = &e->chip;
	const struct cim_workload_spec *w = &e->workload;
	const uint64_t d = m->hidden;
	uint64_t widest = d, bias = 0;

	r->first_layer = plan->stage_first[r->stage];
	r->nlayers = plan->stage_layers[r->stage];
	r->shared_cores = c->kind == CIM_CHIP_NEAR_MEMORY && c->nm.shared;
	r->crossbars = r->cells_used = r->weight_bytes = 0;
	for (uint32_t j = 0; j < r->nshards; j++) {
		struct cim_part_shard *s = &r->shards[j];
		struct cim_chip_map map;
		bool head = s->role == CIM_ROLE_LM_HEAD;

		cim_chip_map(c, s->k, s->n, &map);
		if (head) {
			s->times = 1;
		} else {
			const struct cim_op op = { .scope = CIM_SCOPE_LAYER, .layers = s->layers };
			s->times = cim_op_layer_count(m, &op, r->first_layer, r->nlayers);
		}
		s->crossbars_one = map.crossbars;
		s->crossbars = map.crossbars * s->count * s->times;
		s->cells_used = map.cells_used * s->count * s->times;
		s->weights = (uint64_t)s->k * s->n * s->count * s->times;
		s->bias = s->has_bias ? (uint64_t)s->n * s->count * s->times : 0;
		r->crossbars += s->crossbars;
		r->cells_used += s->cells_used;
		r->weight_bytes += part_bytes(s->weights, c->weight_bits);
		bias += s->bias;
		uint64_t wide =
		    (uint64_t)s->n *
		    ((s->role == CIM_ROLE_FFN_UP || s->role == CIM_ROLE_SHARED_UP) && m->gated_ffn
			 ? 2
			 : 1);
		if (wide > widest)
			widest = wide;
	}
	r->fill = r->crossbars
		      ? (double)r->cells_used / ((double)r->crossbars * c->xbar.rows * c->xbar.cols)
		      : 0;

	/* Memory-held parameters: norms of the chip's layers (and the final
	 * norm), the biases, and the embedding table. */
	/* A sharded table's vocabulary rows are divided over the group; the
	 * learned positions stay whole. */
	const uint64_t vocab = e->parallel.embedding == CIM_EMBED_SHARDED
				   ? ((uint64_t)m->vocab + plan->tp - 1) / plan->tp
				   : m->vocab;
	uint64_t embed = r->embed ? (vocab + m->pos_table) * d : 0;
	if (r->embed)
		embed += cim_model_norm_params(m, CIM_SCOPE_PRE);
	r->memory_params = cim_model_norm_params(m, CIM_SCOPE_LAYER) * r->nlayers +
			   (r->head ? cim_model_norm_params(m, CIM_SCOPE_POST) : 0) + bias + embed;
	r->memory_bytes = part_bytes(r->memory_params, w->act_bits);

	/* KV: this replica's sequences, at the longest context, the chip's KV
	 * heads of its layers. */
	uint32_t seqs = replica_seqs(e, plan->dp, r->replica);
	/* A served load reserves none: the scheduler admits a request only
	 * when every chip of its replica has room for its cache
	 * (docs/serving.md), in all the memory the rest leaves. */
	if (e->serving.on)
		seqs = 0;
	r->kv_bytes =
	    cim_part_kv_bytes(e, r,
			      (uint64_t)seqs * cim_model_kv_positions(m, r->first_layer, r->nlayers,
								      part_context(e)));
	/* Activations: the widest vector a pass makes, for the most tokens a
	 * pass carries, in and out. */
	uint64_t tokens =
	    (uint64_t)part_share(seqs, plan->micro_batches, 0) *
	    (w->prefill_chunk && w->prefill_chunk < w->prompt_tokens ? w->prefill_chunk
								     : w->prompt_tokens);
	if (e->serving.on)
		tokens = part_serving_pass_tokens(e, plan, r->replica);
	r->act_bytes = 2 * part_bytes(tokens * widest, w->act_bits);

	r->kv_where = part_kv_where(c);
	uint64_t embed_bytes = part_bytes(embed, w->act_bits);
	r->buffer_bytes = r->memory_bytes - embed_bytes + r->act_bytes;
	r->dram_bytes = 0;
	r->engine_bytes = 0;
	/* The table stays in the buffer when it fits beside the rest there
	 * (the KV cache too, when it is kept in the buffer); else it goes to
	 * the DRAM, where each lookup is a read on its port. */
	uint64_t buffer_rest = r->buffer_bytes + (r->kv_where == CIM_KV_BUFFER ? r->kv_bytes : 0);
	r->embed_dram =
	    embed_bytes && c->has_dram && buffer_rest + embed_bytes > cim_part_buffer_room(c, r);
	if (r->embed_dram)
		r->dram_bytes += embed_bytes;
	else
		r->buffer_bytes += embed_bytes;
	if (r->kv_where == CIM_KV_ENGINE)
		r->engine_bytes += r->kv_bytes;
	else if (r->kv_where == CIM_KV_DRAM)
		r->dram_bytes += r->kv_bytes;
	else
		r->buffer_bytes += r->kv_bytes;
}

static void plan_totals(const struct cim_experiment *e, struct cim_part_plan *plan)
{
	const struct cim_chip_spec *c = &e->chip;
	struct cim_chip_capacity cap;
	uint64_t most = 0;

	cim_chip_capacity(c, &cap);
	plan->chip_crossbars = cap.crossbars;
	plan->crossbars = plan->cells_used = plan->weights = 0;
	for (uint32_t i = 0; i < plan->chips; i++) {
		struct cim_part_rank *r = &plan->ranks[i];

		rank_totals(e, plan, r);
		plan->crossbars += r->crossbars;
		plan->cells_used += r->cells_used;
		if (r->crossbars > most)
			most = r->crossbars;
		if (r->replica == 0)
			for (uint32_t j = 0; j < r->nshards; j++)
				plan->weights += r->shards[j].weights / r->shards[j].holders;
	}
	plan->fill = plan->crossbars ? (double)plan->cells_used /
					   ((double)plan->crossbars * c->xbar.rows * c->xbar.cols)
				     : 0;
	plan->headroom = 1.0 - (double)most / (double)cap.crossbars;
	plan->context = part_context(e);
	plan->seqs[0] = replica_seqs(e, plan->dp, 0);
	plan->seqs[1] = replica_seqs(e, plan->dp, plan->dp - 1);
}

int cim_part_plan(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
		  struct cim_part_plan **plan_p, struct cim_err *err)
{
	struct cim_part_plan *plan;

	if (!part_split_ok(e, tp, pp, dp, err))
		return -1;
	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return cim_err_set(err, "out of memory for a plan of %u chips", tp * pp * dp);
	plan->tp = tp;
	plan->pp = pp;
	plan->dp = dp;
	plan->chips = tp * pp * dp;
	/* A served load: by default one stream of passes per stage, so the
	 * pipeline stays full. */
	plan->micro_batches = e->serving.on
				  ? (e->workload.micro_batches ? e->workload.micro_batches : pp)
				  : micro_batches(e, replica_seqs(e, dp, dp - 1));
	plan->ranks = calloc(plan->chips, sizeof(*plan->ranks));
	if (!plan->ranks) {
		cim_err_set(err, "out of memory for a plan of %u chips", plan->chips);
		goto err_free_plan;
	}
	build_shards(e, plan);
	if (assign_layers(e, plan, err) < 0)
		goto err_free_plan;
	plan_totals(e, plan);
	*plan_p = plan;
	return 0;

err_free_plan:
	cim_part_plan_destroy(plan);
	return -1;
}

void cim_part_plan_destroy(struct cim_part_plan *plan)
{
	if (!plan)
		return;
	free(plan->ranks);
	free(plan);
}

/* ------------------------------------------------------------- capacity */

static const char *const where_name[] = { "buffer", "DRAM", "attention engine" };

uint64_t cim_part_buffer_room(const struct cim_chip_spec *c, const struct cim_part_rank *r)
{
	struct cim_chip_capacity cap;

	cim_chip_capacity(c, &cap);
	if (c->kind != CIM_CHIP_NEAR_MEMORY || r->crossbars >= cap.crossbars)
		return cap.buffer_bytes;
	const uint64_t block = part_bytes((uint64_t)c->xbar.rows * c->xbar.cols, c->weight_bits);
	return cap.buffer_bytes + (cap.crossbars - r->crossbars) * block;
}

bool cim_part_fits(const struct cim_experiment *e, const struct cim_part_plan *plan,
		   struct cim_err *err)
{
	const struct cim_chip_spec *c = &e->chip;
	struct cim_chip_capacity cap;
	const struct cim_part_rank *worst = NULL;
	uint32_t over = 0, worst_part = 0;
	double worst_ratio = 0;
	const char *const what[] = { cim_chip_units(c), "buffer bytes", "DRAM bytes",
				     "attention-engine bytes" };

	cim_chip_capacity(c, &cap);
	for (uint32_t i = 0; i < plan->chips; i++) {
		const struct cim_part_rank *r = &plan->ranks[i];
		const uint64_t used[] = { r->crossbars, r->buffer_bytes, r->dram_bytes,
					  r->engine_bytes };
		const uint64_t have[] = { cap.crossbars, cim_part_buffer_room(c, r), cap.dram_bytes,
					  cap.engine_bytes };
		bool bad = false;
		for (uint32_t j = 0; j < 4; j++) {
			/* a near-memory chip's buffer is what its blocks leave:
			 * when they overflow, they are what to report */
			if (used[j] <= have[j] || (j == 1 && used[0] > have[0]))
				continue;
			double ratio = have[j] ? (double)used[j] / (double)have[j] : INFINITY;
			bad = true;
			if (!worst || ratio > worst_ratio) {
				worst = r;
				worst_part = j;
				worst_ratio = ratio;
			}
		}
		over += bad;
	}
	if (!worst)
		return true;
	if (err) {
		const struct cim_part_rank *r = worst;
		const uint64_t used[] = { r->crossbars, r->buffer_bytes, r->dram_bytes,
					  r->engine_bytes };
		const uint32_t j = worst_part;
		const uint64_t have[] = { cap.crossbars, cim_part_buffer_room(c, r), cap.dram_bytes,
					  cap.engine_bytes };
		char lay[48];
		if (r->nlayers)
			snprintf(lay, sizeof(lay), "layers %u-%u", r->first_layer,
				 r->first_layer + r->nlayers - 1);
		else
			snprintf(lay, sizeof(lay), "no layers");
		cim_err_set(err,
			    "rank %u (stage %u, tp %u, %s%s) needs %" PRIu64
			    " %s but %s has %" PRIu64 ": %" PRIu64 " over (%.1f%%)%s%s; %u of %u "
			    "chips overflow",
			    r->rank, r->stage, r->tp_index, lay, r->head ? " and the LM head" : "",
			    used[j], what[j], c->name, have[j], used[j] - have[j],
			    100.0 * (double)(used[j] - have[j]) / (double)(have[j] ? have[j] : 1),
			    j == 0 ? "" : "; the KV cache is in the ",
			    j == 0 ? "" : where_name[r->kv_where], over, plan->chips);
		if (j == 1 && e->serving.on) {
			/* a served pass's activations take the buffer */
			size_t len = strlen(err->msg);
			snprintf(err->msg + len, sizeof(err->msg) - len,
				 " (%" PRIu64 " of them for the activations of a pass of %" PRIu64
				 " tokens: a smaller serving.%s holds less)",
				 r->act_bytes, part_serving_pass_tokens(e, plan, r->replica),
				 e->serving.scheduler == CIM_SCHED_STATIC ? "max_batch"
									  : "token_budget");
		}
	}
	return false;
}
