/*
 * results.c — headline figures of a run from the ranks' statistics, and
 * their table, JSON and CSV.  Sums over ranks go in rank order, so totals
 * do not depend on a reduction tree.  Definitions: docs/results.md.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "results.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Mean, and the nearest-rank 50th and 99th percentiles. */
static struct cim_dist dist(double *v, size_t n)
{
	struct cim_dist d = { 0 };

	if (n == 0)
		return d;
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		d.mean += v[i];
	d.mean /= (double)n;
	d.p50 = v[(n * 50 + 99) / 100 - 1];
	d.p90 = v[(n * 90 + 99) / 100 - 1];
	d.p99 = v[(n * 99 + 99) / 100 - 1];
	return d;
}

/*
 * The invariants of one rank's statistics: no class of resource was busy
 * longer than its resources × the makespan (a resource serves one thing at
 * a time), and the chip was not active longer than the makespan.  So every
 * utilisation and the bubble fraction lie in [0, 1] by construction.
 */
static int check_rank(const struct cim_exec_stats *s, uint64_t makespan, struct cim_err *err)
{
	static const char *const what[CIM_BUSY_NCLASS] = { "digital unit", "KV memory port",
							   "link ports", "crossbars" };

	for (int c = 0; c < CIM_BUSY_NCLASS; c++) {
		uint64_t count = c == CIM_BUSY_XBAR   ? (s->xbar_groups ? s->xbar_groups : 1)
				 : c == CIM_BUSY_LINK ? (s->ports ? s->ports : 1)
						      : 1;
		if (s->busy_ps[c] > makespan * count)
			return cim_err_set(err,
					   "internal error: rank %u's %s busy %" PRIu64
					   " ps, more than %" PRIu64
					   " resource%s × the makespan %" PRIu64
					   " ps; please report it with the experiment",
					   s->rank, what[c], s->busy_ps[c], count,
					   count == 1 ? "" : "s", makespan);
	}
	if (s->active_ps > makespan || s->end_ps > makespan)
		return cim_err_set(err,
				   "internal error: rank %u active %" PRIu64
				   " ps or ending at %" PRIu64 " ps, after the makespan %" PRIu64
				   " ps; please report it",
				   s->rank, s->active_ps, s->end_ps, makespan);
	return 0;
}

/* Events of requests entering (+1) and leaving (−1) the system, for the
 * time-average of how many are in it. */
struct event {
	uint64_t t;
	int d;
};

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d; /* leaving before entering at the same time */
}

/* The figures of a served load: per request, its latency from its arrival
 * (docs/serving.md); throughput over the makespan. */
static int serving_results(const struct cim_experiment *e, const struct cim_exec_seq *seqs,
			   struct cim_results *r, struct cim_err *err)
{
	struct cim_serving_results *sv = &r->sv;
	const struct cim_serving_spec *sp = &e->serving;
	const double T = (double)r->makespan_ps * 1e-12;
	uint32_t n;

	r->serving = true;
	if (cim_serving_requests(e, &sv->req, &n, err) < 0)
		return -1;
	sv->n = n;
	sv->seq = malloc((n ? n : 1) * sizeof(*sv->seq));
	double *v = calloc(n ? n : 1, sizeof(*v));
	double *tpot = calloc(n ? n : 1, sizeof(*tpot));
	struct event *ev = calloc(2 * (size_t)(n ? n : 1), sizeof(*ev));
	if (!sv->seq || !v || !tpot || !ev) {
		free(v);
		free(tpot);
		free(ev);
		return cim_err_set(err, "out of memory for %u requests", n);
	}
	memcpy(sv->seq, seqs, n * sizeof(*seqs));
	uint32_t good = 0, ntpot = 0;
	double sum_e2e = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct cim_request *q = &sv->req[i];
		const struct cim_exec_seq *s = &seqs[i];
		if (s->first_ps < q->arrival_ps || s->last_ps < s->first_ps ||
		    s->admit_ps < q->arrival_ps || s->first_ps == 0)
			return cim_err_set(err,
					   "internal error: request %u arrived at %" PRIu64
					   " ps, admitted at %" PRIu64 " ps, tokens at %" PRIu64
					   " and %" PRIu64 " ps; please report it",
					   i, q->arrival_ps, s->admit_ps, s->first_ps, s->last_ps);
		r->generated_tokens += q->output;
		r->prompt_tokens += q->prompt;
		const double ttft = (double)(s->first_ps - q->arrival_ps) * 1e-12;
		const double tp = q->output > 1
				      ? (double)(s->last_ps - s->first_ps) * 1e-12 / (q->output - 1)
				      : 0;
		if (q->output > 1)
			tpot[ntpot++] = tp;
		const bool ok =
		    (sp->slo_ttft_ps <= 0 || ttft * 1e12 <= sp->slo_ttft_ps) &&
		    (sp->slo_tpot_ps <= 0 || q->output < 2 || tp * 1e12 <= sp->slo_tpot_ps);
		good += ok;
		sv->preemptions += s->preemptions;
		sum_e2e += (double)(s->last_ps - q->arrival_ps) * 1e-12;
		ev[2 * i] = (struct event){ q->arrival_ps, +1 };
		ev[2 * i + 1] = (struct event){ s->last_ps, -1 };
		if (s->first_ps > r->prefill_ps)
			r->prefill_ps = s->first_ps;
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = (double)(seqs[i].first_ps - sv->req[i].arrival_ps) * 1e-12;
	sv->ttft = r->ttft_s = dist(v, n);
	sv->tpot = r->tpot_s = dist(tpot, ntpot);
	for (uint32_t i = 0; i < n; i++)
		v[i] = (double)(seqs[i].last_ps - sv->req[i].arrival_ps) * 1e-12;
	sv->e2e = dist(v, n);
	for (uint32_t i = 0; i < n; i++)
		v[i] = (double)(seqs[i].admit_ps - sv->req[i].arrival_ps) * 1e-12;
	sv->queue = dist(v, n);
	/* the number in the system over time, from the first arrival to the
	 * last token: its time-average L, beside λ·W (Little's law) */
	qsort(ev, 2 * (size_t)n, sizeof(*ev), cmp_event);
	double area = 0;
	long in = 0;
	for (size_t i = 0; i + 1 < 2 * (size_t)n; i++) {
		in += ev[i].d;
		area += (double)in * (double)(ev[i + 1].t - ev[i].t) * 1e-12;
	}
	const double span = n ? (double)(ev[2 * (size_t)n - 1].t - ev[0].t) * 1e-12 : 0;
	if (span > 0) {
		sv->in_system_mean = area / span;
		sv->little_l = (double)n / span * (sum_e2e / n);
	}
	if (T > 0) {
		r->tokens_per_s = r->generated_tokens / T;
		r->power_w = r->energy_j / T;
		r->tops = 2 * r->macs / T * 1e-12;
		sv->requests_per_s = n / T;
		sv->goodput_per_s = good / T;
	}
	/* prompt tokens over the time to the last first token (the first
	 * request arrives at t = 0), as a static batch's prefill rate */
	if (r->prefill_ps)
		r->prompt_tokens_per_s = r->prompt_tokens / ((double)r->prefill_ps * 1e-12);
	sv->slo_attainment = n ? (double)good / n : 0;
	assert(sv->slo_attainment >= 0 && sv->slo_attainment <= 1);
	sv->energy_per_request_j = n ? r->energy_j / n : 0;
	r->energy_per_token_j = r->generated_tokens > 0 ? r->energy_j / r->generated_tokens : 0;
	r->tops_per_w = r->power_w > 0 ? r->tops / r->power_w : 0;
	free(v);
	free(tpot);
	free(ev);
	return 0;
}

int cim_results_make(const struct cim_experiment *e, const struct cim_part_plan *plan,
		     const struct cim_exec_stats *stats, uint32_t n,
		     const struct cim_exec_seq *seqs, struct cim_results *r, struct cim_err *err)
{
	const struct cim_workload_spec *w = &e->workload;
	const uint32_t B = w->batch, G = w->generate_tokens;
	double *v = calloc(B ? B : 1, sizeof(*v));

	memset(r, 0, sizeof(*r));
	r->acc_estimated =
	    cim_spec_adc_bits_needed(&e->chip, NULL) <= e->chip.adc.bits || e->chip.adc.has_range;
	if (r->acc_estimated)
		cim_acc_estimate(&e->chip, e->chip.xbar.rows, &r->acc);
	r->chip_j = calloc(n, sizeof(*r->chip_j));
	if (!v || !r->chip_j) {
		free(v);
		free(r->chip_j);
		return cim_err_set(err, "out of memory for the results");
	}
	r->e = e;
	r->plan = plan;
	for (uint32_t i = 0; i < n; i++)
		if (stats[i].end_ps > r->makespan_ps)
			r->makespan_ps = stats[i].end_ps;
	for (uint32_t i = 0; i < n; i++) {
		if (check_rank(&stats[i], r->makespan_ps, err) < 0) {
			free(v);
			cim_results_free(r);
			return -1;
		}
	}
	const double T = (double)r->makespan_ps * 1e-12;
	const double leak_w = cim_chip_static_w(&e->chip);
	for (uint32_t i = 0; i < n; i++) {
		const struct cim_exec_stats *s = &stats[i];
		double dyn = 0;
		for (int c = 0; c < CIM_E_NCOMP; c++) {
			r->comp_j[c] += s->energy_pj[c] * 1e-12;
			dyn += s->energy_pj[c] * 1e-12;
		}
		r->phase_j[0] += s->phase_pj[0] * 1e-12;
		r->phase_j[1] += s->phase_pj[1] * 1e-12;
		r->chip_j[i] = dyn + leak_w * T;
		r->leakage_j += leak_w * T;
		r->macs += (double)s->ops_macs;
		r->events += s->steps + s->msgs + s->colls;
		r->bytes_sent += s->bytes_sent;
		r->link_bytes += s->link_bytes;
		if (s->kv_peak > r->kv_peak)
			r->kv_peak = s->kv_peak;
		if (T > 0) {
			r->util[CIM_BUSY_DIGITAL] +=
			    (double)s->busy_ps[CIM_BUSY_DIGITAL] * 1e-12 / T / n;
			r->util[CIM_BUSY_KV] += (double)s->busy_ps[CIM_BUSY_KV] * 1e-12 / T / n;
			r->util[CIM_BUSY_LINK] += (double)s->busy_ps[CIM_BUSY_LINK] * 1e-12 /
						  (T * (s->ports ? s->ports : 1)) / n;
			r->util[CIM_BUSY_XBAR] += (double)s->busy_ps[CIM_BUSY_XBAR] * 1e-12 /
						  (T * (s->xbar_groups ? s->xbar_groups : 1)) / n;
			r->bubble += (1.0 - (double)s->active_ps * 1e-12 / T) / n;
		}
	}
	for (int c = 0; c < CIM_E_NCOMP; c++)
		r->energy_j += r->comp_j[c];
	r->energy_j += r->leakage_j;
	/* Writing the weights: a one-off before the run, not in its makespan
	 * or energy (docs/chip-model.md §6). */
	r->programmed = e->chip.has_program;
	for (uint32_t i = 0; r->programmed && i < plan->chips; i++) {
		struct cim_chip_cost pc;
		int rc = cim_chip_program(&e->chip, plan->ranks[i].crossbars,
					  plan->ranks[i].cells_used, &pc);
		assert(rc == 0);
		(void)rc;
		if ((double)pc.ps * 1e-12 > r->program_s)
			r->program_s = (double)pc.ps * 1e-12;
		r->program_j += cim_chip_energy_total(&pc.energy) * 1e-12;
	}
	if (e->serving.on) {
		free(v);
		return serving_results(e, seqs, r, err);
	}
	r->generated_tokens = (double)B * G;
	r->prompt_tokens = (double)B * w->prompt_tokens;
	for (uint32_t i = 0; i < B; i++) {
		v[i] = (double)seqs[i].first_ps * 1e-12;
		if (seqs[i].first_ps > r->prefill_ps)
			r->prefill_ps = seqs[i].first_ps;
	}
	if (G > 0)
		r->ttft_s = dist(v, B);
	for (uint32_t i = 0; i < B; i++)
		v[i] = G > 1 ? (double)(seqs[i].last_ps - seqs[i].first_ps) * 1e-12 / (G - 1) : 0;
	if (G > 1)
		r->tpot_s = dist(v, B);
	free(v);
	if (T > 0) {
		r->tokens_per_s = r->generated_tokens / T;
		r->power_w = r->energy_j / T;
		r->tops = 2 * r->macs / T * 1e-12;
	}
	if (r->prefill_ps)
		r->prompt_tokens_per_s = r->prompt_tokens / ((double)r->prefill_ps * 1e-12);
	r->energy_per_token_j = r->generated_tokens > 0 ? r->energy_j / r->generated_tokens : 0;
	r->tops_per_w = r->power_w > 0 ? r->tops / r->power_w : 0;
	const struct cim_gpu_precision eq =
	    cim_gpu_precision_of(e->chip.weight_bits, w->kv_bits, w->act_bits);
	for (size_t g = 0; g < 2 && g < cim_gpu_count(); g++) {
		cim_gpu_estimate(cim_gpu_get(g), &e->model, w, &r->gpu[g]);
		cim_gpu_estimate_at(cim_gpu_get(g), &e->model, w, &eq, &r->gpu_eq[g]);
	}
	return 0;
}

void cim_results_free(struct cim_results *r)
{
	free(r->chip_j);
	r->chip_j = NULL;
	free(r->experts.share);
	r->experts.share = NULL;
	free(r->sv.req);
	free(r->sv.seq);
	r->sv.req = NULL;
	r->sv.seq = NULL;
}

int cim_results_requests_csv(const char *path, const struct cim_results *r, struct cim_err *err)
{
	const struct cim_serving_results *sv = &r->sv;
	FILE *f;

	if (!r->serving)
		return cim_err_set(err, "--requests: %s has no serving part, so no requests",
				   r->e->name);
	f = fopen(path, "w");
	if (!f)
		return cim_err_set(err, "%s: cannot write: %s", path, strerror(errno));
	fprintf(f, "request,arrival_s,prompt_tokens,output_tokens,admitted_s,first_token_s,"
		   "last_token_s,queue_s,ttft_s,tpot_s,e2e_s,preemptions,replica\n");
	for (uint32_t i = 0; i < sv->n; i++) {
		const struct cim_request *q = &sv->req[i];
		const struct cim_exec_seq *s = &sv->seq[i];
		const double a = (double)q->arrival_ps * 1e-12;
		assert(s->replica >= 1 && s->replica <= r->plan->dp);
		fprintf(f,
			"%u,%.12g,%u,%u,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g,%.12g,%" PRIu64
			",%" PRIu64 "\n",
			i, a, q->prompt, q->output, (double)s->admit_ps * 1e-12,
			(double)s->first_ps * 1e-12, (double)s->last_ps * 1e-12,
			(double)(s->admit_ps - q->arrival_ps) * 1e-12,
			(double)(s->first_ps - q->arrival_ps) * 1e-12,
			q->output > 1 ? (double)(s->last_ps - s->first_ps) * 1e-12 / (q->output - 1)
				      : 0.0,
			(double)(s->last_ps - q->arrival_ps) * 1e-12, s->preemptions,
			s->replica - 1);
	}
	if (fclose(f) != 0)
		return cim_err_set(err, "%s: cannot write: %s", path, strerror(errno));
	return 0;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100 * part / whole : 0;
}

static void line_dist(FILE *f, const char *what, const struct cim_dist *d)
{
	fprintf(f, "%-14s %12.4f ms mean  %10.4f p50  %10.4f p90  %10.4f p99\n", what,
		d->mean * 1e3, d->p50 * 1e3, d->p90 * 1e3, d->p99 * 1e3);
}

static void serving_text(FILE *f, const struct cim_results *r)
{
	const struct cim_serving_spec *s = &r->e->serving;
	const struct cim_serving_results *sv = &r->sv;

	fprintf(f, "served load: %u requests, %s arrivals", sv->n, cim_arrival_name(s->arrival));
	if (s->arrival == CIM_ARRIVE_POISSON || s->arrival == CIM_ARRIVE_FIXED ||
	    s->arrival == CIM_ARRIVE_GAMMA)
		fprintf(f, " at %g/s", s->rate_per_s);
	if (s->arrival == CIM_ARRIVE_GAMMA)
		fprintf(f, " (cv %g)", s->cv);
	fprintf(f, "; prompts %u–%u, outputs %u–%u tokens\n", s->prompt.min, s->prompt.max,
		s->output.min, s->output.max);
	if (s->prompt.dist == CIM_LEN_LOGNORMAL)
		fprintf(f,
			"lengths log-normal, fitted to %s: prompts median %.0f (sigma %.3g of "
			"the log), outputs median %.0f (sigma %.3g)\n",
			s->trace, exp(s->prompt.mu), s->prompt.sigma, exp(s->output.mu),
			s->output.sigma);
	fprintf(f, "scheduler %s, max batch %u, token budget %u, %u micro-batch%s per replica",
		cim_sched_name(s->scheduler), s->max_batch, s->token_budget, r->plan->micro_batches,
		r->plan->micro_batches == 1 ? "" : "es");
	if (r->plan->dp > 1)
		fprintf(f, ", router %s", cim_router_name(s->router));
	fputs("\n\n", f);
	fprintf(f, "requests       %12.3f served/s   goodput %.3f/s, %.1f%% within",
		sv->requests_per_s, sv->goodput_per_s, 100 * sv->slo_attainment);
	if (s->slo_ttft_ps > 0)
		fprintf(f, " TTFT %g ms", s->slo_ttft_ps * 1e-9);
	if (s->slo_tpot_ps > 0)
		fprintf(f, "%s TPOT %g ms", s->slo_ttft_ps > 0 ? " and" : "",
			s->slo_tpot_ps * 1e-9);
	if (s->slo_ttft_ps <= 0 && s->slo_tpot_ps <= 0)
		fprintf(f, " (no SLO given)");
	fprintf(f, "; %" PRIu64 " preemption%s\n", sv->preemptions,
		sv->preemptions == 1 ? "" : "s");
	line_dist(f, "queueing", &sv->queue);
	line_dist(f, "end to end", &sv->e2e);
	fprintf(f, "in system      %12.3f requests on average (λ·W = %.3f)   %.4f J per request\n",
		sv->in_system_mean, sv->little_l, sv->energy_per_request_j);
}

/* The routed tokens' share of each of n holders of E/n experts in turn
 * (the first 16), ending the line. */
static void print_holder_shares(FILE *f, const struct cim_part_expert_report *x, uint32_t n)
{
	const uint32_t per = x->experts / n;

	for (uint32_t i = 0; i < n && i < 16; i++) {
		double c = 0;
		for (uint32_t j = i * per; j < (i + 1) * per; j++)
			c += x->share[j];
		fprintf(f, " %.1f%%", 100 * c);
	}
	fprintf(f, "%s\n", n > 16 ? " …" : "");
}

/* The experts' load and what its imbalance costs (docs/results.md). */
static void print_experts(FILE *f, const struct cim_results *r)
{
	const struct cim_part_expert_report *x = &r->experts;
	const struct cim_workload_spec *w = &r->e->workload;

	if (!x->share)
		return;
	fprintf(f, "experts        %u a layer, %u a token, routed %s", x->experts, x->per_token,
		cim_routing_name(w->routing));
	if (w->routing == CIM_ROUTE_ZIPF)
		fprintf(f, " (s = %g)", w->routing_zipf);
	fprintf(f,
		": the most loaded expert takes %.3f× the mean (over layers and passes, by "
		"tokens; at worst %.3f×)\n               shares",
		x->imbalance_mean, x->imbalance_worst);
	for (uint32_t i = 0; i < x->experts && i < 16; i++)
		fprintf(f, " %.1f%%", 100 * x->share[i]);
	const uint32_t tp = r->plan->tp, dp = r->plan->dp;
	const uint32_t holders = cim_part_expert_holders(r->e, tp, dp);
	const bool over = cim_experts_span_replicas(r->e->parallel.experts) && dp > 1;
	const bool whole = cim_experts_whole(r->e->parallel.experts) && tp > 1;
	fprintf(f, "%s%s\n", x->experts > 16 ? " …" : "",
		holders > 1 ? ""
			    : "; each expert is split over its stage's group, so every chip "
			      "carries every expert's share");
	if (over && whole) {
		/* chip (i, q) holds block i·dp + q of E/(tp·dp) experts */
		fprintf(f,
			"               each chip holds %u whole experts, by TP index then "
			"replica, all replicas' tokens dispatched by all-to-all; its share",
			x->experts / holders);
		print_holder_shares(f, x, holders);
	} else if (over) {
		/* replica q's stage holds experts q·E/dp … (q + 1)·E/dp − 1, for
		 * every replica's tokens */
		fprintf(f,
			"               each replica's stage holds %u of them (split over its "
			"group), all replicas' tokens dispatched by all-to-all; its share",
			x->experts / dp);
		print_holder_shares(f, x, dp);
	}
	if (whole && !over) {
		/* expert parallelism: member i of a group holds experts
		 * i·E/tp … (i + 1)·E/tp − 1 */
		fprintf(f, "               each chip of a group holds %u whole experts; its share",
			x->experts / tp);
		print_holder_shares(f, x, tp);
	}
	if (w->capacity_factor > 0)
		fprintf(f,
			"               capacity factor %g: %.2f%% of the routed tokens dropped "
			"(over an expert's ⌈%g · T·k/E⌉)\n",
			w->capacity_factor, 100 * x->dropped, w->capacity_factor);
	if (r->has_even && r->est_even.makespan_ps && r->est_even.energy_j > 0)
		fprintf(f,
			"               against even routing (the estimates): makespan %+.1f%% "
			"(%.6f s evenly), energy %+.1f%%\n",
			100.0 * ((double)r->est.makespan_ps / (double)r->est_even.makespan_ps - 1),
			(double)r->est_even.makespan_ps * 1e-12,
			100.0 * (r->est.energy_j / r->est_even.energy_j - 1));
}

void cim_results_text(FILE *f, const struct cim_results *r)
{
	const struct cim_experiment *e = r->e;
	const struct cim_part_plan *p = r->plan;
	const struct cim_workload_spec *w = &e->workload;
	char a[32], b[32];

	fprintf(f, "run %s: %s on %u × %s (tp %u, pp %u, dp %u), %s\n", e->name, e->model.name,
		p->chips, e->chip.name, p->tp, p->pp, p->dp, e->net.name);
	if (r->serving)
		serving_text(f, r);
	else
		fprintf(f,
			"workload: batch %u, prompt %u, generate %u, %u micro-batch%s per "
			"replica\n\n",
			w->batch, w->prompt_tokens, w->generate_tokens, p->micro_batches,
			p->micro_batches == 1 ? "" : "es");
	fprintf(f, "throughput     %12.1f generated tokens/s   %12.1f prompt tokens/s\n",
		r->tokens_per_s, r->prompt_tokens_per_s);
	fprintf(f, "makespan       %12.6f s\n", (double)r->makespan_ps * 1e-12);
	if (r->serving) {
		line_dist(f, "TTFT", &r->ttft_s);
		line_dist(f, "TPOT", &r->tpot_s);
	} else {
		fprintf(f, "TTFT           %12.4f ms mean  %10.4f p50  %10.4f p99\n",
			r->ttft_s.mean * 1e3, r->ttft_s.p50 * 1e3, r->ttft_s.p99 * 1e3);
		fprintf(f, "TPOT           %12.4f ms mean  %10.4f p50  %10.4f p99\n",
			r->tpot_s.mean * 1e3, r->tpot_s.p50 * 1e3, r->tpot_s.p99 * 1e3);
	}
	fprintf(f, "energy         %12.4f J   %10.4f mJ per generated token   %8.2f W average\n",
		r->energy_j, r->energy_per_token_j * 1e3, r->power_w);
	fprintf(f, "  by component:");
	for (int c = 0; c < CIM_E_NCOMP; c++)
		fprintf(f, " %s %.1f%%", cim_chip_ecomp_name((enum cim_chip_ecomp)c),
			pct(r->comp_j[c], r->energy_j));
	fprintf(f, " leakage %.1f%%\n", pct(r->leakage_j, r->energy_j));
	fprintf(f, "  by phase: prefill %.4f J, decode %.4f J (dynamic), leakage %.4f J\n",
		r->phase_j[0], r->phase_j[1], r->leakage_j);
	if (!r->acc_estimated)
		fprintf(f, "accuracy       not estimated: the ADC drops bits and its gain "
			   "(adc.range_fraction) is not given (docs/accuracy.md)\n");
	else if (r->acc.mse == 0)
		fprintf(f,
			"accuracy       exact MVMs: no cell errors, every column sum resolved\n");
	else
		fprintf(f,
			"accuracy       %.4g %% relative RMS error, SNR %.4g dB, of an MVM output "
			"over a crossbar (uniform operands; docs/accuracy.md)\n",
			100 * r->acc.rel_rms, r->acc.snr_db);
	fprintf(f, "effective      %12.2f TOPS  %10.2f TOPS/W\n", r->tops, r->tops_per_w);
	/* a near-memory chip's arrays are its cores' blocks (docs/chip-model.md §12) */
	const char *units = cim_chip_units(&e->chip);
	fprintf(f,
		"utilisation    %s %.1f%%, digital %.1f%%, KV memory %.1f%%, link %.1f%%;"
		" pipeline bubbles %.1f%%\n",
		units, 100 * r->util[CIM_BUSY_XBAR], 100 * r->util[CIM_BUSY_DIGITAL],
		100 * r->util[CIM_BUSY_KV], 100 * r->util[CIM_BUSY_LINK], 100 * r->bubble);
	fprintf(f, "links          %s sent, %s × hops, %.4f J\n",
		cim_fmt_bytes((double)r->bytes_sent, a, sizeof(a)),
		cim_fmt_bytes((double)r->link_bytes, b, sizeof(b)), r->comp_j[CIM_E_INTERCONNECT]);
	fprintf(f, "memory         %s fill %.1f%%, KV peak %s per chip\n",
		e->chip.kind == CIM_CHIP_NEAR_MEMORY ? "block" : "crossbar", 100 * p->fill,
		cim_fmt_bytes((double)r->kv_peak, a, sizeof(a)));
	if (r->programmed)
		fprintf(f,
			"weights        written once in %.4f s, %.4f J (program-and-verify; not in "
			"the run)\n",
			r->program_s, r->program_j);
	else
		fprintf(f, "weights        writing them is not priced: %s has no program part\n",
			r->e->chip.name);
	if (r->serving) {
		fprintf(f, "\n(the analytical estimate and the GPU baseline are of a static "
			   "batch: not shown for a served load)\n");
		goto simulator;
	}
	fprintf(f, "estimate       %12.1f tokens/s, makespan %.6f s (run/estimate %.3f)\n",
		r->est.tokens_per_s, (double)r->est.makespan_ps * 1e-12,
		r->est.makespan_ps ? (double)r->makespan_ps / (double)r->est.makespan_ps : 0);
	print_experts(f, r);
	fprintf(f,
		"\nGPU baseline (fp16, and at the chips' precision: %u-bit weights, %u-bit KV, "
		"%u-bit activations; energy at TDP, an upper bound; per chip: tokens/s per CIM "
		"chip over per GPU; docs/gpu-baseline.md):\n",
		r->e->chip.weight_bits, r->e->workload.kv_bits, r->e->workload.act_bits);
	for (int g = 0; g < 2; g++) {
		const struct cim_gpu_spec *spec = cim_gpu_get((size_t)g);
		struct cim_gpu_result cal;
		if (!r->gpu[g].fits) {
			fprintf(f, "  %-10s does not hold the model and KV cache on 8 GPUs\n",
				spec->name);
			continue;
		}
		for (int k = 0; k < 3; k++) {
			const struct cim_gpu_result *x = &r->gpu[g];
			char how[64];
			if (k == 0) {
				snprintf(how, sizeof(how), "roofline (a ceiling)");
			} else if (k == 2) {
				x = &r->gpu_eq[g];
				if (!x->fits)
					break;
				snprintf(how, sizeof(how), "roofline at the chips' precision%s",
					 cim_gpu_precision_of(r->e->chip.weight_bits,
							      r->e->workload.kv_bits,
							      r->e->workload.act_bits)
						 .int8
					     ? " (int8 rate)"
					     : "");
			} else {
				if (!cim_gpu_calibrated(spec, &r->gpu[g], &cal))
					continue;
				x = &cal;
				snprintf(how, sizeof(how), "as measured (%s, ×%.3f)",
					 spec->calibrated_by, spec->served_efficiency);
			}
			fprintf(f,
				"  %u × %-8s %10.1f tokens/s (CIM %.2f×, per chip %.3f×), %8.2f "
				"mJ/token (CIM uses %.3f×), TTFT %.3f ms, TPOT %.4f ms: %s\n",
				x->gpus, spec->name, x->generated_tokens_per_s,
				r->tokens_per_s / x->generated_tokens_per_s,
				r->tokens_per_s / r->plan->chips /
				    (x->generated_tokens_per_s / x->gpus),
				x->energy_per_generated_token_j * 1e3,
				r->energy_per_token_j / x->energy_per_generated_token_j,
				x->ttft_s * 1e3, x->tpot_s * 1e3, how);
		}
	}
simulator:
	fprintf(f,
		"\nsimulator: %d ranks%s, %.3f s wall, %.3f s CPU, %s events (%.0f per s), "
		"%.1f MiB peak per rank\n",
		r->ranks, r->chips_per_rank > 1 ? ", each a TP group's chips" : "", r->wall_s,
		r->cpu_s, cim_fmt_count(r->events, a, sizeof(a)),
		r->wall_s > 0 ? (double)r->events / r->wall_s : 0, r->peak_rss_mib);
}

static void dist_json(struct json_w *j, const char *key, const struct cim_dist *d)
{
	json_obj(j, key);
	json_f64(j, "mean", d->mean);
	json_f64(j, "p50", d->p50);
	json_f64(j, "p90", d->p90);
	json_f64(j, "p99", d->p99);
	json_obj_end(j);
}

/* A GPU line's figures: whether it fits, on how many GPUs, and its rates. */
static void gpu_json(struct json_w *j, const struct cim_gpu_result *x)
{
	json_bool(j, "fits", x->fits);
	json_u64(j, "gpus", x->gpus);
	json_f64(j, "generated_tokens_per_s", x->generated_tokens_per_s);
	json_f64(j, "ttft_s", x->ttft_s);
	json_f64(j, "tpot_s", x->tpot_s);
	json_f64(j, "energy_per_generated_token_j", x->energy_per_generated_token_j);
}

void cim_results_json(FILE *f, const struct cim_results *r)
{
	const struct cim_experiment *e = r->e;
	const struct cim_part_plan *p = r->plan;
	const struct cim_workload_spec *w = &e->workload;
	struct json_w j;

	json_begin(&j, f);
	json_str(&j, "experiment", e->name);
	json_obj(&j, "system");
	json_str(&j, "model", e->model.name);
	json_str(&j, "chip", e->chip.name);
	json_str(&j, "interconnect", e->net.name);
	json_u64(&j, "chips", p->chips);
	json_u64(&j, "tp", p->tp);
	json_u64(&j, "pp", p->pp);
	json_u64(&j, "dp", p->dp);
	json_u64(&j, "micro_batches", p->micro_batches);
	json_obj_end(&j);
	json_obj(&j, "workload");
	json_u64(&j, "batch", w->batch);
	json_u64(&j, "prompt_tokens", w->prompt_tokens);
	json_u64(&j, "generate_tokens", w->generate_tokens);
	json_obj_end(&j);
	json_obj(&j, "throughput");
	json_f64(&j, "generated_tokens_per_s", r->tokens_per_s);
	json_f64(&j, "prompt_tokens_per_s", r->prompt_tokens_per_s);
	json_obj_end(&j);
	json_obj(&j, "latency");
	dist_json(&j, "ttft_s", &r->ttft_s);
	dist_json(&j, "tpot_s", &r->tpot_s);
	json_obj_end(&j);
	if (r->serving) {
		const struct cim_serving_results *sv = &r->sv;
		const struct cim_serving_spec *sp = &r->e->serving;
		json_obj(&j, "serving");
		json_u64(&j, "requests", sv->n);
		json_str(&j, "arrival", cim_arrival_name(sp->arrival));
		json_f64(&j, "rate_per_s", sp->rate_per_s);
		json_str(&j, "scheduler", cim_sched_name(sp->scheduler));
		json_u64(&j, "max_batch", sp->max_batch);
		json_u64(&j, "token_budget", sp->token_budget);
		json_str(&j, "router", cim_router_name(sp->router));
		json_f64(&j, "requests_per_s", sv->requests_per_s);
		json_f64(&j, "goodput_per_s", sv->goodput_per_s);
		json_f64(&j, "slo_attainment", sv->slo_attainment);
		json_f64(&j, "slo_ttft_s", sp->slo_ttft_ps * 1e-12);
		json_f64(&j, "slo_tpot_s", sp->slo_tpot_ps * 1e-12);
		dist_json(&j, "queue_s", &sv->queue);
		dist_json(&j, "e2e_s", &sv->e2e);
		json_f64(&j, "in_system_mean", sv->in_system_mean);
		json_f64(&j, "little_lambda_w", sv->little_l);
		json_f64(&j, "energy_per_request_j", sv->energy_per_request_j);
		json_u64(&j, "preemptions", sv->preemptions);
		json_obj_end(&j);
	}
	json_obj(&j, "time");
	json_f64(&j, "makespan_s", (double)r->makespan_ps * 1e-12);
	json_u64(&j, "makespan_ps", r->makespan_ps);
	json_f64(&j, "prefill_s", (double)r->prefill_ps * 1e-12);
	json_obj_end(&j);
	json_obj(&j, "accuracy");
	json_bool(&j, "estimated", r->acc_estimated);
	if (r->acc_estimated) {
		json_f64(&j, "mvm_relative_rms_error", r->acc.rel_rms);
		if (r->acc.mse > 0)
			json_f64(&j, "mvm_snr_db", r->acc.snr_db);
	}
	json_obj_end(&j);
	json_obj(&j, "energy");
	json_f64(&j, "total_j", r->energy_j);
	json_f64(&j, "per_generated_token_j", r->energy_per_token_j);
	json_f64(&j, "average_power_w", r->power_w);
	json_obj(&j, "by_component_j");
	for (int c = 0; c < CIM_E_NCOMP; c++)
		json_f64(&j, cim_chip_ecomp_name((enum cim_chip_ecomp)c), r->comp_j[c]);
	json_f64(&j, "leakage", r->leakage_j);
	json_obj_end(&j);
	json_obj(&j, "by_phase_j");
	json_f64(&j, "prefill", r->phase_j[0]);
	json_f64(&j, "decode", r->phase_j[1]);
	json_f64(&j, "leakage", r->leakage_j);
	json_obj_end(&j);
	json_arr(&j, "by_chip_j");
	for (uint32_t i = 0; i < p->chips; i++)
		json_f64(&j, NULL, r->chip_j[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_obj(&j, "compute");
	json_f64(&j, "macs", r->macs);
	json_f64(&j, "effective_tops", r->tops);
	json_f64(&j, "tops_per_w", r->tops_per_w);
	json_obj_end(&j);
	json_obj(&j, "utilisation");
	json_f64(&j, "crossbars", r->util[CIM_BUSY_XBAR]);
	json_f64(&j, "digital", r->util[CIM_BUSY_DIGITAL]);
	json_f64(&j, "kv_memory", r->util[CIM_BUSY_KV]);
	json_f64(&j, "link", r->util[CIM_BUSY_LINK]);
	json_f64(&j, "pipeline_bubbles", r->bubble);
	json_obj_end(&j);
	json_obj(&j, "links");
	json_u64(&j, "bytes_sent", r->bytes_sent);
	json_u64(&j, "link_bytes", r->link_bytes);
	json_f64(&j, "energy_j", r->comp_j[CIM_E_INTERCONNECT]);
	json_obj_end(&j);
	json_obj(&j, "memory");
	json_f64(&j, "crossbar_fill", p->fill);
	json_u64(&j, "crossbars", p->crossbars);
	json_u64(&j, "kv_peak_bytes", r->kv_peak);
	json_obj_end(&j);
	json_obj(&j, "programming");
	json_bool(&j, "priced", r->programmed);
	json_f64(&j, "time_s", r->program_s);
	json_f64(&j, "energy_j", r->program_j);
	json_obj_end(&j);
	/* the estimate and the GPU baseline are of a static batch */
	if (r->serving)
		goto simulator;
	json_obj(&j, "estimate");
	cim_report_estimate_json(&j, &r->est);
	json_obj_end(&j);
	if (r->experts.share) {
		const struct cim_part_expert_report *x = &r->experts;
		json_obj(&j, "experts");
		json_u64(&j, "experts", x->experts);
		json_u64(&j, "per_token", x->per_token);
		json_str(&j, "routing", cim_routing_name(r->e->workload.routing));
		json_str(&j, "placement", cim_experts_name(r->e->parallel.experts));
		json_f64(&j, "imbalance_mean", x->imbalance_mean);
		json_f64(&j, "imbalance_worst", x->imbalance_worst);
		json_f64(&j, "capacity_factor", r->e->workload.capacity_factor);
		json_f64(&j, "dropped", x->dropped);
		json_arr(&j, "share");
		for (uint32_t i = 0; i < x->experts; i++)
			json_f64(&j, NULL, x->share[i]);
		json_arr_end(&j);
		if (r->has_even) {
			json_f64(&j, "even_makespan_s", (double)r->est_even.makespan_ps * 1e-12);
			json_f64(&j, "even_energy_j", r->est_even.energy_j);
		}
		json_obj_end(&j);
	}
	json_arr(&j, "gpu");
	for (int g = 0; g < 2; g++) {
		const struct cim_gpu_result *x = &r->gpu[g];
		json_obj(&j, NULL);
		json_str(&j, "name", cim_gpu_get((size_t)g)->name);
		gpu_json(&j, x);
		json_str(&j, "model", "roofline");
		json_f64(&j, "per_chip_ratio",
			 x->generated_tokens_per_s > 0 ? r->tokens_per_s / r->plan->chips /
							     (x->generated_tokens_per_s / x->gpus)
						       : 0);
		const struct cim_gpu_result *q = &r->gpu_eq[g];
		json_obj(&j, "equal_precision");
		gpu_json(&j, q);
		json_obj_end(&j);
		struct cim_gpu_result cal;
		if (cim_gpu_calibrated(cim_gpu_get((size_t)g), x, &cal)) {
			json_obj(&j, "as_measured");
			json_str(&j, "calibrated_by", cim_gpu_get((size_t)g)->calibrated_by);
			json_f64(&j, "efficiency", cim_gpu_get((size_t)g)->served_efficiency);
			json_f64(&j, "generated_tokens_per_s", cal.generated_tokens_per_s);
			json_f64(&j, "ttft_s", cal.ttft_s);
			json_f64(&j, "tpot_s", cal.tpot_s);
			json_f64(&j, "energy_per_generated_token_j",
				 cal.energy_per_generated_token_j);
			json_obj_end(&j);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
simulator:
	json_obj(&j, "simulator");
	json_u64(&j, "ranks", (uint64_t)r->ranks);
	json_u64(&j, "chips_per_rank", r->chips_per_rank > 1 ? r->chips_per_rank : 1);
	json_f64(&j, "wall_s", r->wall_s);
	json_f64(&j, "cpu_s", r->cpu_s);
	json_u64(&j, "events", r->events);
	json_f64(&j, "events_per_s", r->wall_s > 0 ? (double)r->events / r->wall_s : 0);
	json_f64(&j, "peak_rss_mib_per_rank", r->peak_rss_mib);
	json_f64(&j, "simulated_tokens_per_wall_s",
		 r->wall_s > 0 ? r->generated_tokens / r->wall_s : 0);
	json_obj_end(&j);
	json_end(&j);
}

int cim_results_csv(const char *path, const struct cim_results *r, struct cim_err *err)
{
	FILE *f = fopen(path, "a");
	const struct cim_experiment *e = r->e;
	const struct cim_part_plan *p = r->plan;

	if (!f)
		return cim_err_set(err, "%s: cannot open for appending: %s", path, strerror(errno));
	if (ftell(f) == 0)
		fprintf(f, "experiment,model,chip,interconnect,chips,tp,pp,dp,batch,prompt_tokens,"
			   "generate_tokens,generated_tokens_per_s,ttft_mean_s,ttft_p99_s,"
			   "tpot_mean_s,tpot_p99_s,makespan_s,energy_j,energy_per_token_j,power_w,"
			   "effective_tops,tops_per_w,crossbar_util,digital_util,bubbles\n");
	fprintf(f,
		"%s,%s,%s,%s,%u,%u,%u,%u,%u,%u,%u,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,"
		"%.9g,%.9g,%.9g,%.6f,%.6f,%.6f\n",
		e->name, e->model.name, e->chip.name, e->net.name, p->chips, p->tp, p->pp, p->dp,
		e->workload.batch, e->workload.prompt_tokens, e->workload.generate_tokens,
		r->tokens_per_s, r->ttft_s.mean, r->ttft_s.p99, r->tpot_s.mean, r->tpot_s.p99,
		(double)r->makespan_ps * 1e-12, r->energy_j, r->energy_per_token_j, r->power_w,
		r->tops, r->tops_per_w, r->util[CIM_BUSY_XBAR], r->util[CIM_BUSY_DIGITAL],
		r->bubble);
	if (fclose(f) != 0)
		return cim_err_set(err, "%s: cannot write: %s", path, strerror(errno));
	return 0;
}
