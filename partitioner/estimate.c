/*
 * estimate.c — the analytical estimate of a plan, the enumeration of every
 * split of a chip count, and the strategies that pick one.
 *
 * The estimate prices the same programs the executor runs (program.c), but
 * in closed form per pass: a pass's latency through the pipeline Λ (every
 * step of every stage in sequence, collectives replayed on the interconnect,
 * activations and tokens sent) and the interval Ι at which passes can
 * follow one another (the busiest resource of the busiest stage).  Passes
 * then enter the pipeline by a two-term recurrence (docs/partitioner.md,
 * "The estimate").  Layers of a stage are identical, so one layer is priced
 * and multiplied (one of each kind when a stage holds dense first layers
 * and layers with experts).  Nothing here contends: the executor's run is
 * the ground truth when resources are shared.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "part_int.h"

#define OPS_CAP (PART_MAX_LAYER_OPS + 2 * PART_MAX_END_OPS)

/* One stage (one replica) priced for one pass. */
struct stage_cost {
	uint64_t latency_ps;	       /* the pass through the stage, collectives in */
	uint64_t interval_ps;	       /* its busiest resource */
	uint32_t busiest;	       /* which */
	struct cim_chip_energy energy; /* all members */
	double coll_pj;		       /* collectives of the group */
};

/* The parts of a rank's program: one layer, the embedding, the head. */
struct parts {
	struct cim_prog_op ops[OPS_CAP];
	size_t n;
};

/* Rank r's program for pass p over one layer, first_layer: the one layer
 * priced for all of the stage's of its kind (the ends too, when ends). */
static size_t part_program(const struct cim_experiment *e, const struct cim_part_plan *plan,
			   const struct cim_part_rank *r, const struct cim_part_pass *p,
			   uint32_t first_layer, bool ends, struct parts *out)
{
	struct cim_part_rank one = *r;

	one.first_layer = first_layer;
	one.nlayers = 1;
	if (!ends)
		one.embed = one.head = false;
	out->n = cim_part_program(e, plan, &one, p, out->ops, OPS_CAP);
	return out->n;
}

/* Collective o of rank r's group (its TP group, or its members of the same
 * TP index in every replica) with every member ready at once; *pj_out is
 * this replica's part of its energy. */
static int coll_time(const struct cim_experiment *e, const struct cim_net *net,
		     const struct cim_part_plan *plan, const struct cim_part_rank *r,
		     const struct cim_prog_op *o, const struct cim_part_pass *p, uint64_t *ps_out,
		     double *pj_out, struct cim_err *err)
{
	uint32_t ranks[CIM_NET_MAX_POSITIONS];
	uint64_t ready[CIM_NET_MAX_POSITIONS], finish[CIM_NET_MAX_POSITIONS];
	struct cim_net_coll_req req = { .coll = o->coll,
					.algo = CIM_NET_ALGO_AUTO,
					.bytes = o->bytes };
	struct cim_net_coll_result res;
	const bool ep = o->group == CIM_GROUP_EP;
	const uint32_t n = ep ? plan->dp : plan->tp;

	/* An expert all-to-all runs with every TP index's at once (they share
	 * links), each taken to move this one's chunks, as the run replays it
	 * (exec.c); its own group's finish is its time. */
	const uint32_t all = ep ? plan->tp * n : n;
	if (ep)
		cim_part_ep_all_ranks(plan, r, ranks);
	for (uint32_t i = 0; i < all; i++) {
		if (!ep)
			ranks[i] = r->group_first + i;
		ready[i] = 0;
	}
	if (ep)
		req.group_size = n;
	/* the expert all-to-all's chunks, as the replicas' routings make them */
	uint64_t *chunks = NULL;
	if (ep) {
		chunks = malloc((size_t)n * n * sizeof(*chunks));
		if (!chunks)
			return cim_err_set(err, "out of memory for an all-to-all of %u", n);
		cim_part_dispatch_chunks(e, plan, r, (uint32_t)o->layer, p,
					 o->role == CIM_ROLE_EXPERT_COMBINE, chunks);
		req.chunks = chunks;
	}
	const int rc = cim_net_collective(net, &req, ranks, ready, all, finish, NULL, &res, err);
	free(chunks);
	if (rc < 0)
		return -1;
	if (ep) {
		/* this group's finish; its share of the energy (one of tp
		 * groups), of which each replica's stage takes one of dp */
		uint64_t own = 0;
		for (uint32_t q = 0; q < n; q++)
			if (finish[r->tp_index * n + q] > own)
				own = finish[r->tp_index * n + q];
		res.finish_max_ps = own;
		res.energy_pj /= (double)plan->tp * n;
	}
	*ps_out = res.finish_max_ps;
	*pj_out = res.energy_pj;
	return 0;
}

/*
 * Prices stage s of replica q for pass p: per member the program's layer
 * part times the stage's layers plus its ends; segments between
 * collectives wait for the slowest member.
 */
static int stage_cost(const struct cim_experiment *e, const struct cim_part_plan *plan,
		      const struct cim_net *net, uint32_t q, uint32_t s,
		      const struct cim_part_pass *p, struct stage_cost *out, struct cim_err *err)
{
	const uint32_t tp = plan->tp, base = (q * plan->pp + s) * tp;
	const uint32_t nl = plan->stage_layers[s], first = plan->stage_first[s];
	/* the stage's dense first layers and its layers with experts: the
	 * first layer's kind is priced with the ends, the other kind (when
	 * the stage holds both) alone, as part 3 */
	const struct cim_op dense_op = { .scope = CIM_SCOPE_LAYER, .layers = CIM_LAYERS_DENSE };
	const uint32_t nd = cim_op_layer_count(&e->model, &dense_op, first, nl);
	const uint32_t n_first = cim_model_layer_dense(&e->model, first) ? nd : nl - nd;
	const uint32_t n_other = nl - n_first;
	uint64_t seg_max[4][OPS_CAP] = { { 0 } }, coll_ps[4][OPS_CAP] = { { 0 } };
	size_t nseg[4] = { 0 };
	uint64_t busy_max = 0;
	uint32_t busiest = 0;
	struct stage_cost c = { 0 };

	for (uint32_t i = 0; i < tp; i++) {
		const struct cim_part_rank *r = &plan->ranks[base + i];
		struct parts pr;
		/* a crossbar group per matrix of the priced layer, of each kind */
		uint64_t busy[2][CIM_RES_XBAR0 + CIM_PART_MAX_SHARDS + 1] = { { 0 } };
		uint64_t seg[4] = { 0 };
		struct cim_part_group group[4] = { { 0 } };
		size_t k[4] = { 0 };

		for (int kind = 0; kind < (n_other ? 2 : 1); kind++) {
			part_program(e, plan, r, p, kind ? e->model.dense_layers : first, kind == 0,
				     &pr);
			for (size_t j = 0; j < pr.n; j++) {
				const struct cim_prog_op *o = &pr.ops[j];
				/* 0: layer, 1: before the layers, 2: after, 3: a layer of
				 * the other kind */
				int where = o->layer >= 0 ? (kind ? 3 : 0)
					    : o->role == CIM_ROLE_EMBED ||
						    o->role == CIM_ROLE_EMBED_ALLREDUCE
						? 1
						: 2;
				uint64_t times = where == 0 ? n_first : where == 3 ? n_other : 1;

				if (o->kind == CIM_PROG_COLL) {
					if (seg[where] > seg_max[where][k[where]])
						seg_max[where][k[where]] = seg[where];
					/* a TP collective once for the group; the
					 * expert all-to-all of every member, each of
					 * its own group across the replicas: the
					 * slowest sets the time, their energies add */
					if (i == 0 || o->group == CIM_GROUP_EP) {
						uint64_t ps = 0;
						double pj = 0;
						if (coll_time(e, net, plan, r, o, p, &ps, &pj,
							      err) < 0)
							return -1;
						if (i == 0 || ps > coll_ps[where][k[where]])
							coll_ps[where][k[where]] = ps;
						c.coll_pj += pj * (double)times;
					}
					seg[where] = 0;
					k[where]++;
					continue;
				}
				/* A step that starts with the one before it (K and V with Q)
				 * adds only what it lasts beyond the group so far. */
				seg[where] += cim_part_group_add(&group[where], o);
				cim_chip_energy_add(&c.energy, &o->energy, (double)times);
				/* A crossbar group is one matrix of one layer: not summed over
				 * the stage's layers (one layer is priced, each of the others
				 * has its own); the head's is its own.  Shared cores are one
				 * resource for every layer. */
				const uint32_t res = o->res;
				assert(res < sizeof(busy[0]) / sizeof(busy[0][0]));
				const bool own = o->res >= CIM_RES_XBAR0 && !r->shared_cores;
				busy[own ? kind : 0][res] += own ? o->ps : o->ps * times;
				if (o->res2 != UINT32_MAX)
					busy[0][o->res2] += o->ps2 * times;
			}
		}
		for (int w = 0; w < 4; w++) {
			if (seg[w] > seg_max[w][k[w]])
				seg_max[w][k[w]] = seg[w];
			if (k[w] + 1 > nseg[w])
				nseg[w] = k[w] + 1;
		}
		for (int b = 0; b < 2; b++)
			for (uint32_t res = 0; res < sizeof(busy[0]) / sizeof(busy[0][0]); res++) {
				if (busy[b][res] > busy_max) {
					busy_max = busy[b][res];
					busiest = res;
				}
			}
	}
	for (int w = 0; w < 4; w++) {
		uint64_t t = 0;
		for (size_t j = 0; j < nseg[w]; j++)
			t += seg_max[w][j] + coll_ps[w][j];
		c.latency_ps += t * (w == 0 ? n_first : w == 3 ? n_other : 1);
	}
	c.interval_ps = busy_max;
	c.busiest = busiest;
	*out = c;
	return 0;
}

/* One pass through the whole pipeline of replica q.  lat and busy, when
 * not NULL, have a slot per stage: the pass's time through stage s and on
 * to the next (or back, for the last stage when it returns a token), and
 * how long it holds the stage's busiest resource (its link port
 * included). */
struct pass_cost {
	uint64_t latency_ps;  /* Λ: first stage in to token back (or out) */
	uint64_t ret_ps;      /* the token's return, part of Λ */
	uint64_t interval_ps; /* Ι: the largest of busy */
	uint32_t busiest;
	struct cim_chip_energy energy;
	double link_pj;
	uint64_t *lat, *busy;
};

static int pass_cost(const struct cim_experiment *e, const struct cim_part_plan *plan,
		     const struct cim_net *net, uint32_t q, const struct cim_part_pass *p,
		     bool returns, struct pass_cost *out, struct cim_err *err)
{
	struct pass_cost pc = { .lat = out->lat, .busy = out->busy };
	const uint32_t tp = plan->tp;

	for (uint32_t s = 0; s < plan->pp; s++) {
		struct stage_cost sc;
		struct cim_net_xfer x = { 0 };
		uint32_t from = (q * plan->pp + s) * tp;

		if (stage_cost(e, plan, net, q, s, p, &sc, err) < 0)
			return -1;
		pc.latency_ps += sc.latency_ps;
		cim_chip_energy_add(&pc.energy, &sc.energy, 1);
		pc.link_pj += sc.coll_pj;
		uint64_t port = 0;
		if (s + 1 < plan->pp) {
			/* Every member sends the whole activation to its peer. */
			cim_net_p2p(net, from, from + tp, cim_part_act_bytes(e, p), 0, 0, &x);
			pc.latency_ps += x.arrive_ps;
			pc.link_pj += x.energy_pj * tp;
			port = x.port_free_ps;
		} else if (returns) {
			uint32_t to = q * plan->pp * tp;
			cim_net_p2p(net, from, to, cim_part_token_bytes(p), 0, 0, &x);
			pc.latency_ps += x.arrive_ps;
			pc.ret_ps = x.arrive_ps;
			pc.link_pj += x.energy_pj * tp;
			port = x.port_free_ps;
		}
		uint64_t iv = sc.interval_ps > port ? sc.interval_ps : port;
		if (pc.lat) {
			pc.lat[s] = sc.latency_ps + x.arrive_ps;
			pc.busy[s] = iv;
		}
		if (iv > pc.interval_ps) {
			pc.interval_ps = iv;
			pc.busiest = sc.interval_ps >= port ? sc.busiest : CIM_RES_LINK;
		}
	}
	*out = pc;
	return 0;
}

/*
 * Replica q through every pass, in program order, as a flow shop: pass j
 * (micro-batch m's pass k) starts stage s when it has come through stage
 * s − 1 and the pass before it has held stage s's busiest resource for its
 * busy time, S_j(s) = max(S_j(s − 1) + lat_j(s − 1), S_{j−1}(s) +
 * busy_{j−1}(s)); a decode step starts stage 0 no earlier than its
 * previous token's return.  A short decode step behind a long prefill so
 * waits at every stage the prefill still holds, not only at the first.
 * Fills the replica's times and adds its energy to est.
 */
static int replica_estimate(const struct cim_experiment *e, const struct cim_part_plan *plan,
			    const struct cim_net *net, uint32_t q, struct cim_part_estimate *est,
			    double *ttft_sum, double *tpot_sum, uint64_t *end_out,
			    struct cim_err *err)
{
	const uint32_t M = plan->micro_batches, P = cim_part_npasses(e), S = plan->pp;
	const uint32_t G = e->workload.generate_tokens;
	uint64_t *ready = calloc(M, sizeof(*ready)), *first = calloc(M, sizeof(*first));
	uint64_t *at = calloc(S, sizeof(*at)), *stage = calloc(5 * (size_t)S, sizeof(*stage));
	const uint64_t *prev_busy = NULL;
	uint64_t end = 0;
	int rc = -1;

	if (!ready || !first || !at || !stage) {
		cim_err_set(err, "out of memory estimating %u micro-batches", M);
		goto out;
	}
	/* lat and busy of the two micro-batch sizes, and the busy times of
	 * the pass before (a copy: the next size's pricing may overwrite) */
	uint64_t *lat[2] = { stage, stage + S }, *busy[2] = { stage + 2 * S, stage + 3 * S };
	uint64_t *held = stage + 4 * S;
	for (uint32_t k = 0; k < P; k++) {
		/* Micro-batch sizes differ by at most one: price each size once. */
		struct pass_cost pcs[2] = { { .lat = lat[0], .busy = busy[0] },
					    { .lat = lat[1], .busy = busy[1] } };
		uint32_t sizes[2] = { 0, 0 };
		for (uint32_t m = 0; m < M; m++) {
			uint32_t seqs = cim_part_mb_seqs(e, plan, q, m);
			struct cim_part_pass p;
			int which = sizes[0] == 0 || sizes[0] == seqs ? 0 : 1;

			cim_part_pass_at(e, seqs, k, &p);
			bool returns = p.sample && k + 1 < P;
			if (sizes[which] != seqs) {
				sizes[which] = seqs;
				if (pass_cost(e, plan, net, q, &p, returns, &pcs[which], err) < 0)
					goto out;
			}
			const struct pass_cost *pc = &pcs[which];
			uint64_t t = p.phase == CIM_PHASE_DECODE ? ready[m] : 0;
			for (uint32_t s = 0; s < S; s++) {
				if (s > 0 && at[s - 1] + pc->lat[s - 1] > t)
					t = at[s - 1] + pc->lat[s - 1];
				if (prev_busy && at[s] + prev_busy[s] > t)
					t = at[s] + prev_busy[s];
				at[s] = t;
			}
			memcpy(held, pc->busy, S * sizeof(*held));
			prev_busy = held;
			ready[m] = at[S - 1] + pc->lat[S - 1];
			uint64_t out_ps = ready[m] - pc->ret_ps; /* token sampled */
			if (out_ps > end)
				end = out_ps;
			cim_chip_energy_add(&est->energy_pj, &pc->energy, 1);
			est->link_pj += pc->link_pj;
			if (p.sample && p.phase == CIM_PHASE_PREFILL) {
				first[m] = out_ps;
				*ttft_sum += (double)out_ps * 1e-12 * seqs;
				if (out_ps > est->prefill_ps)
					est->prefill_ps = out_ps;
			}
			if (k + 1 == P && G > 1)
				*tpot_sum += (double)(out_ps - first[m]) * 1e-12 / (G - 1) * seqs;
			if (q == 0 && m == 0 && k + 1 == P)
				est->bottleneck_res = pc->busiest;
		}
	}
	*end_out = end;
	rc = 0;
out:
	free(ready);
	free(first);
	free(at);
	free(stage);
	return rc;
}

int cim_part_estimate(const struct cim_experiment *e, const struct cim_part_plan *plan,
		      const struct cim_net *net, struct cim_part_estimate *out, struct cim_err *err)
{
	struct cim_part_estimate est = { 0 };
	const struct cim_workload_spec *w = &e->workload;
	double ttft = 0, tpot = 0;

	for (uint32_t q = 0; q < plan->dp; q++) {
		uint64_t end;
		if (replica_estimate(e, plan, net, q, &est, &ttft, &tpot, &end, err) < 0)
			return -1;
		if (end > est.makespan_ps)
			est.makespan_ps = end;
	}
	/* One token of one sequence alone: a decode pass of one sequence at the
	 * mean context. */
	if (w->generate_tokens > 1) {
		struct cim_part_pass p;
		struct pass_cost pc = { 0 };
		cim_part_pass_at(e, 1, cim_part_npasses(e) - (w->generate_tokens - 1) / 2 - 1, &p);
		if (pass_cost(e, plan, net, 0, &p, true, &pc, err) < 0)
			return -1;
		est.decode_token_s = (double)pc.latency_ps * 1e-12;
	}
	const double tokens = (double)w->batch * w->generate_tokens;
	est.ttft_s = w->generate_tokens ? ttft / w->batch : 0;
	est.tpot_s = w->generate_tokens > 1 ? tpot / w->batch : 0;
	est.tokens_per_s = est.makespan_ps ? tokens / ((double)est.makespan_ps * 1e-12) : 0;
	est.leakage_pj = cim_chip_leakage_pj(&e->chip, est.makespan_ps) * plan->chips;
	est.energy_j =
	    (cim_chip_energy_total(&est.energy_pj) + est.link_pj + est.leakage_pj) * 1e-12;
	est.energy_per_token_j = tokens > 0 ? est.energy_j / tokens : 0;
	est.fill = plan->fill;
	*out = est;
	return 0;
}

/* ----------------------------------------------------------- strategies */

static const char *const strategy_names[] = { "manual",	    "tp-first",	 "pp-first",
					      "balanced",   "min-chips", "best-throughput",
					      "best-energy" };

const char *cim_part_strategy_name(enum cim_strategy s)
{
	return (size_t)s < sizeof(strategy_names) / sizeof(strategy_names[0]) ? strategy_names[s]
									      : "?";
}

static double most_used(const struct cim_part_plan *plan)
{
	uint64_t most = 0;

	for (uint32_t i = 0; i < plan->chips; i++)
		if (plan->ranks[i].crossbars > most)
			most = plan->ranks[i].crossbars;
	return (double)most / (double)plan->chip_crossbars;
}

int cim_part_enumerate(const struct cim_experiment *e, uint32_t chips, struct cim_part_row **rows_p,
		       size_t *n_p, struct cim_err *err)
{
	struct cim_part_row *rows = NULL;
	struct cim_net *net = NULL;
	size_t n = 0, cap = 0;

	if (chips == 0 || chips > CIM_NET_MAX_POSITIONS)
		return cim_err_set(err, "a chip count from 1 to %u is needed, not %u",
				   CIM_NET_MAX_POSITIONS, chips);
	if (cim_net_create(&e->net, chips, &net, err) < 0)
		return -1;
	/* A mixture of experts is also priced with its experts placed the
	 * other ways (tensor, expert parallel in the group, spread over the
	 * replicas) wherever the split can take it: the same experiment,
	 * parallel.experts changed. */
	struct cim_experiment *alts[CIM_EXPERTS_N] = { NULL };
	if (e->model.experts > 1) {
		const size_t bytes = cim_spec_experiment_bytes(e);
		for (int a = 0; a < CIM_EXPERTS_N; a++) {
			if (a == (int)e->parallel.experts)
				continue;
			alts[a] = malloc(bytes);
			if (!alts[a]) {
				for (int b = 0; b < a; b++)
					free(alts[b]);
				cim_net_destroy(net);
				return cim_err_set(err, "out of memory listing splits of %u chips",
						   chips);
			}
			memcpy(alts[a], e, bytes);
			alts[a]->parallel.experts = (enum cim_expert_split)a;
		}
	}
	for (uint32_t dp = 1; dp <= chips; dp++) {
		if (chips % dp)
			continue;
		for (uint32_t tp = 1; tp <= chips / dp; tp++) {
			uint32_t pp = chips / dp / tp;
			struct cim_part_plan *plan;
			struct cim_err why;

			/* splits the model cannot take, its experts placed as
			 * tensor placement places them */
			const struct cim_experiment *base = alts[0] ? alts[0] : e;
			if (chips / dp % tp || !part_split_shape_ok(base, tp, pp, dp, NULL))
				continue;
			for (int a = 0; a < CIM_EXPERTS_N; a++) {
				/* the experiment's own placement, then the others
				 * where they differ from tensor placement (whole
				 * experts need a group, spreading them more than one
				 * replica and a static batch) */
				const int own = (int)e->parallel.experts;
				const int pl = a == 0 ? own : a <= own ? a - 1 : a;
				const struct cim_experiment *x = a == 0 ? e : alts[pl];
				const enum cim_expert_split place = (enum cim_expert_split)pl;
				if (!x || (a && cim_experts_whole(place) && tp == 1) ||
				    (cim_experts_span_replicas(place) &&
				     (dp == 1 || e->serving.on)) ||
				    !part_split_shape_ok(x, tp, pp, dp, NULL))
					continue;
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					struct cim_part_row *grown =
					    realloc(rows, cap * sizeof(*rows));
					if (!grown) {
						cim_err_set(
						    err, "out of memory listing splits of %u chips",
						    chips);
						goto err_free_rows;
					}
					rows = grown;
				}
				struct cim_part_row *row = &rows[n++];
				memset(row, 0, sizeof(*row));
				row->tp = tp;
				row->pp = pp;
				row->dp = dp;
				row->chips = chips;
				row->experts = x->parallel.experts;
				if (cim_part_plan(x, tp, pp, dp, &plan, &why) < 0) {
					snprintf(row->why, sizeof(row->why), "%.399s", why.msg);
					continue;
				}
				row->max_use = most_used(plan);
				row->fits = cim_part_fits(x, plan, &why);
				if (!row->fits)
					snprintf(row->why, sizeof(row->why), "%.399s", why.msg);
				else if (cim_part_estimate(x, plan, net, &row->est, err) < 0) {
					cim_part_plan_destroy(plan);
					goto err_free_rows;
				}
				cim_part_plan_destroy(plan);
			}
		}
	}
	cim_net_destroy(net);
	for (int a = 0; a < CIM_EXPERTS_N; a++)
		free(alts[a]);
	*rows_p = rows;
	*n_p = n;
	return 0;

err_free_rows:
	free(rows);
	for (int a = 0; a < CIM_EXPERTS_N; a++)
		free(alts[a]);
	cim_net_destroy(net);
	return -1;
}

/* True when row a is better than row b under strategy s. */
static bool better(enum cim_strategy s, const struct cim_part_row *a, const struct cim_part_row *b)
{
	double la, lb;

	switch (s) {
	case CIM_STRAT_TP_FIRST:
		if (a->tp != b->tp)
			return a->tp > b->tp;
		return a->pp < b->pp;
	case CIM_STRAT_PP_FIRST:
		if (a->pp != b->pp)
			return a->pp > b->pp;
		return a->tp < b->tp;
	case CIM_STRAT_BALANCED:
		la = fabs(log((double)a->tp) - log((double)a->pp));
		lb = fabs(log((double)b->tp) - log((double)b->pp));
		if (la != lb)
			return la < lb;
		return a->tp > b->tp;
	case CIM_STRAT_BEST_ENERGY:
		if (a->est.energy_per_token_j != b->est.energy_per_token_j)
			return a->est.energy_per_token_j < b->est.energy_per_token_j;
		return a->est.tokens_per_s > b->est.tokens_per_s;
	default: /* best-throughput, min-chips */
		if (a->est.tokens_per_s != b->est.tokens_per_s)
			return a->est.tokens_per_s > b->est.tokens_per_s;
		return a->est.energy_per_token_j < b->est.energy_per_token_j;
	}
}

long cim_part_pick(const struct cim_experiment *e, enum cim_strategy s,
		   const struct cim_part_row *rows, size_t n)
{
	const struct cim_parallel_spec *par = &e->parallel;
	long best = -1;

	for (size_t i = 0; i < n; i++) {
		const struct cim_part_row *r = &rows[i];
		/* the experiment's own placement of its experts: a row placing
		 * them the other way is listed, not picked */
		if (!r->fits || r->experts != (uint32_t)par->experts)
			continue;
		if (s == CIM_STRAT_MANUAL) {
			if (r->tp == par->tp && r->pp == par->pp && r->dp == par->dp)
				return (long)i;
			continue;
		}
		/* The shape strategies split one model over all the chips. */
		if ((s == CIM_STRAT_TP_FIRST || s == CIM_STRAT_PP_FIRST ||
		     s == CIM_STRAT_BALANCED) &&
		    r->dp != 1)
			continue;
		if (best < 0 || better(s, r, &rows[best]))
			best = (long)i;
	}
	return best;
}

/* The placement of experts within one replica that a placement spreading
 * them over replicas reduces to: tensor for replicas, expert for
 * expert-replicas; the others are their own. */
static enum cim_expert_split one_replica(enum cim_expert_split s)
{
	return s == CIM_EXPERTS_REPLICAS	  ? CIM_EXPERTS_TENSOR
	       : s == CIM_EXPERTS_EXPERT_REPLICAS ? CIM_EXPERTS_EXPERT
						  : s;
}

static uint32_t min_chips_of(const struct cim_experiment *e, uint32_t max_chips, uint32_t *tp_out,
			     uint32_t *pp_out);

uint32_t cim_part_min_chips(const struct cim_experiment *e, uint32_t max_chips, uint32_t *tp_out,
			    uint32_t *pp_out)
{
	if (!cim_experts_span_replicas(e->parallel.experts))
		return min_chips_of(e, max_chips, tp_out, pp_out);
	/* one replica: its experts held within it */
	const size_t bytes = cim_spec_experiment_bytes(e);
	struct cim_experiment *x = malloc(bytes);
	if (!x)
		return 0;
	memcpy(x, e, bytes);
	x->parallel.experts = one_replica(e->parallel.experts);
	const uint32_t n = min_chips_of(x, max_chips, tp_out, pp_out);
	free(x);
	return n;
}

static uint32_t min_chips_of(const struct cim_experiment *e, uint32_t max_chips, uint32_t *tp_out,
			     uint32_t *pp_out)
{
	const struct cim_model_spec *m = &e->model;
	struct cim_chip_capacity cap;
	struct cim_model_stats st;

	cim_chip_capacity(&e->chip, &cap);
	cim_model_stats(m, &st);
	/* No split holds more weights than the crossbars of its chips. */
	uint64_t low = (st.params - st.params_embedding) / (cap.weights ? cap.weights : 1);
	if (low < 1)
		low = 1;
	for (uint64_t chips = low; chips <= max_chips; chips++) {
		for (uint32_t pp = 1; pp <= chips && pp <= m->layers; pp++) {
			uint32_t tp = (uint32_t)(chips / pp);
			struct cim_part_plan *plan;
			struct cim_err why;

			if (chips % pp || !part_split_shape_ok(e, tp, pp, 1, NULL))
				continue;
			if (cim_part_plan(e, tp, pp, 1, &plan, &why) < 0)
				continue;
			bool fits = cim_part_fits(e, plan, NULL);
			cim_part_plan_destroy(plan);
			if (fits) {
				*tp_out = tp;
				*pp_out = pp;
				return (uint32_t)chips;
			}
		}
	}
	return 0;
}

/* Adds ", the fewest chips that fit: …" to err; for a mixture of experts
 * divided over the groups, also the fewest with whole experts a member
 * (thin slices of many experts waste crossbars: DeepSeek-V3 fits no split
 * of up to 4096 example chips divided, 672 whole). */
static void suggest(const struct cim_experiment *e, struct cim_err *err)
{
	uint32_t tp, pp, n = cim_part_min_chips(e, CIM_NET_MAX_POSITIONS, &tp, &pp);
	size_t len = strlen(err->msg);

	const bool span = cim_experts_span_replicas(e->parallel.experts);
	if (n && span)
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 "\nThe fewest %s chips that hold %s in one replica: %u (tp %u, pp %u, "
			 "its experts %s): run with --set parallel.tp=%u --set parallel.pp=%u "
			 "--set parallel.dp=1 --set parallel.experts=%s",
			 e->chip.name, e->model.name, n, tp, pp,
			 cim_experts_name(one_replica(e->parallel.experts)), tp, pp,
			 cim_experts_name(one_replica(e->parallel.experts)));
	else if (n)
		snprintf(
		    err->msg + len, sizeof(err->msg) - len,
		    "\nThe fewest %s chips that hold %s: %u (tp %u, pp %u): run with "
		    "--set parallel.tp=%u --set parallel.pp=%u, or parallel.strategy: min-chips",
		    e->chip.name, e->model.name, n, tp, pp, tp, pp);
	else
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 "\nNo split over up to %u %s chips holds %s.", CIM_NET_MAX_POSITIONS,
			 e->chip.name, e->model.name);
	if (e->model.experts <= 1 || cim_experts_whole(e->parallel.experts))
		return;
	const size_t bytes = cim_spec_experiment_bytes(e);
	struct cim_experiment *x = malloc(bytes);
	if (!x)
		return;
	memcpy(x, e, bytes);
	x->parallel.experts = CIM_EXPERTS_EXPERT;
	uint32_t xtp, xpp,
	    xn = cim_part_min_chips(x, n ? n - 1 : CIM_NET_MAX_POSITIONS, &xtp, &xpp);
	free(x);
	len = strlen(err->msg);
	if (xn)
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 "\nWith whole experts a member (parallel.experts: expert) %u chips "
			 "hold it (tp %u, pp %u): --set parallel.experts=expert "
			 "--set parallel.tp=%u --set parallel.pp=%u",
			 xn, xtp, xpp, xtp, xpp);
}

int cim_part_choose(const struct cim_experiment *e, uint32_t chips, struct cim_part_plan **plan_p,
		    struct cim_err *err)
{
	const struct cim_parallel_spec *par = &e->parallel;
	enum cim_strategy s = par->strategy;
	struct cim_part_row *rows;
	size_t n;
	long pick;
	int rc;

	if (s == CIM_STRAT_MANUAL) {
		uint32_t want = par->tp * par->pp * par->dp;
		struct cim_part_plan *plan;
		if (chips && chips != want)
			return cim_err_set(
			    err,
			    "parallel.strategy manual fixes tp·pp·dp = %u·%u·%u = %u "
			    "chips, not %u: set parallel.tp, pp and dp to match, or "
			    "choose a strategy (--set parallel.strategy=best-throughput)",
			    par->tp, par->pp, par->dp, want, chips);
		if (cim_part_plan(e, par->tp, par->pp, par->dp, &plan, err) < 0)
			return -1;
		if (!cim_part_fits(e, plan, err)) {
			cim_part_plan_destroy(plan);
			suggest(e, err);
			return -1;
		}
		*plan_p = plan;
		return 0;
	}
	if (s == CIM_STRAT_MIN_CHIPS && cim_experts_span_replicas(par->experts))
		return cim_err_set(err,
				   "parallel.strategy min-chips looks for the fewest chips of one "
				   "replica, and parallel.experts: %s needs two or more: give "
				   "parallel.tp, pp and dp (strategy manual), or place the experts "
				   "%s",
				   cim_experts_name(par->experts),
				   cim_experts_name(one_replica(par->experts)));
	if (s == CIM_STRAT_MIN_CHIPS) {
		uint32_t tp, pp;
		chips = cim_part_min_chips(e, chips ? chips : CIM_NET_MAX_POSITIONS, &tp, &pp);
		if (!chips) {
			cim_err_set(err, "%s does not fit", e->model.name);
			suggest(e, err);
			return -1;
		}
	}
	if (chips == 0)
		chips = par->tp * par->pp * par->dp;
	if (cim_part_enumerate(e, chips, &rows, &n, err) < 0)
		return -1;
	pick = cim_part_pick(e, s, rows, n);
	if (pick < 0) {
		cim_err_set(err, "no split of %s over %u %s chips fits under strategy %s",
			    e->model.name, chips, e->chip.name, cim_part_strategy_name(s));
		suggest(e, err);
		free(rows);
		return -1;
	}
	rc = cim_part_plan(e, rows[pick].tp, rows[pick].pp, rows[pick].dp, plan_p, err);
	free(rows);
	return rc;
}
