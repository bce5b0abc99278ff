/*
 * route.c — which experts the tokens of a pass pick: spread evenly, or
 * drawn token by token, uniformly or by a Zipf law over the experts, from
 * a seeded stream (docs/partitioner.md, "Experts").
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "part_int.h"

#define ROUTE_MAX_EXPERTS CIM_PART_MAX_EXPERTS

uint64_t cim_part_expert_loads(const struct cim_workload_spec *w, uint32_t E, uint32_t k,
			       uint64_t tokens, uint64_t key, uint64_t *load)
{
	uint64_t most = 0, own[ROUTE_MAX_EXPERTS];

	if (!load)
		load = own;
	assert(E >= 1 && E <= ROUTE_MAX_EXPERTS && k >= 1 && k <= E);
	memset(load, 0, E * sizeof(*load));
	if (w->routing == CIM_ROUTE_EVEN) {
		const uint64_t routed = tokens * k, each = (routed + E - 1) / E;
		for (uint32_t e = 0; e < E; e++) {
			uint64_t done = (uint64_t)e * each;
			load[e] = done >= routed ? 0 : routed - done < each ? routed - done : each;
		}
		return E ? load[0] : 0;
	}
	/* weights of the experts still free for this token: uniform 1, Zipf
	 * (e + 1)^−s; a token takes k of them one after another, each with
	 * probability its weight over the weights left */
	double weight[ROUTE_MAX_EXPERTS], total = 0;
	bool taken[ROUTE_MAX_EXPERTS];
	struct cim_rng rng;

	for (uint32_t e = 0; e < E; e++) {
		weight[e] = w->routing == CIM_ROUTE_ZIPF ? pow(e + 1.0, -w->routing_zipf) : 1.0;
		total += weight[e];
	}
	cim_rng_seed(&rng, w->seed, 0x6578707274000000ull ^ key); /* "exprt" */
	for (uint64_t t = 0; t < tokens; t++) {
		double left = total;
		memset(taken, 0, E * sizeof(*taken));
		for (uint32_t j = 0; j < k; j++) {
			double u = cim_rng_unit(&rng) * left, acc = 0;
			uint32_t pick = E;
			for (uint32_t e = 0; e < E; e++) {
				if (taken[e])
					continue;
				pick = e; /* the last free one, should rounding leave u */
				acc += weight[e];
				if (u < acc)
					break;
			}
			assert(pick < E);
			taken[pick] = true;
			left -= weight[pick];
			load[pick]++;
		}
	}
	for (uint32_t e = 0; e < E; e++)
		most = load[e] > most ? load[e] : most;
	return most;
}

uint64_t cim_part_expert_loads_at(const struct cim_experiment *e, uint32_t layer, uint64_t tokens,
				  uint64_t key, uint64_t *load)
{
	const uint32_t E = e->model.experts, k = e->model.experts_per_token;
	const uint16_t *rows;
	const uint32_t n = cim_routing_rows(e, layer, &rows);
	uint64_t most = 0;

	if (e->workload.routing != CIM_ROUTE_TRACE || n == 0)
		return cim_part_expert_loads(&e->workload, E, k, tokens, key, load);
	assert(E <= ROUTE_MAX_EXPERTS);
	memset(load, 0, E * sizeof(*load));
	for (uint64_t t = 0, r = key % n; t < tokens; t++, r = r + 1 == n ? 0 : r + 1)
		for (uint32_t j = 0; j < k; j++)
			load[rows[r * k + j]]++;
	for (uint32_t x = 0; x < E; x++)
		most = load[x] > most ? load[x] : most;
	return most;
}

uint64_t cim_part_expert_drop(const struct cim_workload_spec *w, uint32_t E, uint32_t k,
			      uint64_t tokens, uint64_t *load, uint64_t *most)
{
	uint64_t dropped = 0, top = 0;

	assert(E >= 1);
	const double c = ceil(w->capacity_factor * (double)tokens * k / E);
	const uint64_t cap = w->capacity_factor > 0 ? (c < 1 ? 1 : (uint64_t)c) : UINT64_MAX;
	for (uint32_t x = 0; x < E; x++) {
		if (load[x] > cap) {
			dropped += load[x] - cap;
			load[x] = cap;
		}
		top = load[x] > top ? load[x] : top;
	}
	*most = top;
	return dropped;
}

int cim_part_expert_report(const struct cim_experiment *e, const struct cim_part_plan *plan,
			   struct cim_part_expert_report *out)
{
	const struct cim_model_spec *m = &e->model;
	const uint32_t E = m->experts, k = m->experts_per_token, P = cim_part_npasses(e);
	uint64_t load[ROUTE_MAX_EXPERTS];
	double weighted = 0, tokens = 0, dropped = 0;

	*out = (struct cim_part_expert_report){ .experts = E, .per_token = k };
	if (E <= 1)
		return 0;
	out->share = calloc(E, sizeof(*out->share));
	if (!out->share)
		return -1;
	for (uint32_t q = 0; q < plan->dp; q++)
		for (uint32_t mb = 0; mb < plan->micro_batches; mb++) {
			const uint32_t seqs = cim_part_mb_seqs(e, plan, q, mb);
			for (uint32_t step = 0; seqs && step < P; step++) {
				struct cim_part_pass p;
				cim_part_pass_at(e, seqs, step, &p);
				const uint64_t T = cim_part_pass_tokens(&p);
				if (!T)
					continue;
				const double mean = (double)T * k / E;
				for (uint32_t l = 0; l < m->layers; l++) {
					if (cim_model_layer_dense(m, l))
						continue; /* no experts (DeepSeek's first) */
					uint64_t most = cim_part_expert_loads_at(
					    e, l, T, cim_part_route_key(l, &p, q), load);
					dropped += (double)cim_part_expert_drop(&e->workload, E, k,
										T, load, &most);
					for (uint32_t x = 0; x < E; x++)
						out->share[x] += (double)load[x];
					const double ratio = (double)most / mean;
					weighted += ratio * (double)T;
					tokens += (double)T;
					if (ratio > out->imbalance_worst)
						out->imbalance_worst = ratio;
				}
			}
		}
	double all = 0;
	for (uint32_t x = 0; x < E; x++)
		all += out->share[x];
	out->dropped = all + dropped > 0 ? dropped / (all + dropped) : 0;
	assert(out->dropped >= 0 && out->dropped < 1);
	for (uint32_t x = 0; all > 0 && x < E; x++)
		out->share[x] /= all;
	out->imbalance_mean = tokens > 0 ? weighted / tokens : 0;
	assert(out->imbalance_mean >= 1 - 1e-12 || tokens == 0);
	return 0;
}

uint32_t cim_part_expert_holders(const struct cim_experiment *e, uint32_t tp, uint32_t dp)
{
	const enum cim_expert_split s = e->parallel.experts;

	return (cim_experts_whole(s) && tp > 1 ? tp : 1) *
	       (cim_experts_span_replicas(s) && dp > 1 ? dp : 1);
}

uint32_t cim_part_expert_block(const struct cim_experiment *e, const struct cim_part_plan *plan,
			       uint32_t i, uint32_t q)
{
	const enum cim_expert_split s = e->parallel.experts;
	const bool whole = cim_experts_whole(s) && plan->tp > 1;
	const bool span = cim_experts_span_replicas(s) && plan->dp > 1;

	return (whole ? i : 0) * (span ? plan->dp : 1) + (span ? q : 0);
}

void cim_part_dispatch_chunks(const struct cim_experiment *e, const struct cim_part_plan *plan,
			      const struct cim_part_rank *r, uint32_t layer,
			      const struct cim_part_pass *p, bool combine, uint64_t *out)
{
	const struct cim_model_spec *m = &e->model;
	const uint32_t E = m->experts, k = m->experts_per_token, dp = plan->dp;
	const uint32_t c = E / cim_part_expert_holders(e, plan->tp, dp);
	const uint64_t T = cim_part_pass_tokens(p);
	uint64_t load[ROUTE_MAX_EXPERTS], most;

	for (uint32_t q = 0; q < dp; q++) {
		most = cim_part_expert_loads_at(e, layer, T, cim_part_route_key(layer, p, q), load);
		cim_part_expert_drop(&e->workload, E, k, T, load, &most);
		for (uint32_t j = 0; j < dp; j++) {
			const uint32_t first = cim_part_expert_block(e, plan, r->tp_index, j) * c;
			uint64_t copies = 0;
			for (uint32_t x = first; x < first + c; x++)
				copies += load[x];
			const uint64_t bytes = part_bytes(copies * m->hidden, e->workload.act_bits);
			out[combine ? (size_t)j * dp + q : (size_t)q * dp + j] = bytes;
		}
	}
}
