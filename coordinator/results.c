/*
 * results.c — headline figures of a run from the ranks' statistics, and
 * their table, JSON and CSV.  Sums over ranks go in rank order, so totals
 * do not depend on a reduction tree.  Definitions: docs/results.md.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
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

int cim_results_make(const struct cim_experiment *e, const struct cim_part_plan *plan,
		     const struct cim_exec_stats *stats, uint32_t n,
		     const struct cim_exec_seq *seqs, struct cim_results *r, struct cim_err *err)
{
	const struct cim_workload_spec *w = &e->workload;
	const uint32_t B = w->batch, G = w->generate_tokens;
	double *v = calloc(B ? B : 1, sizeof(*v));

	memset(r, 0, sizeof(*r));
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
	for (size_t g = 0; g < 2 && g < cim_gpu_count(); g++)
		cim_gpu_estimate(cim_gpu_get(g), &e->model, w, &r->gpu[g]);
	return 0;
}

void cim_results_free(struct cim_results *r)
{
	free(r->chip_j);
	r->chip_j = NULL;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100 * part / whole : 0;
}

void cim_results_text(FILE *f, const struct cim_results *r)
{
	const struct cim_experiment *e = r->e;
	const struct cim_part_plan *p = r->plan;
	const struct cim_workload_spec *w = &e->workload;
	char a[32], b[32];

	fprintf(f, "run %s: %s on %u × %s (tp %u, pp %u, dp %u), %s\n", e->name, e->model.name,
		p->chips, e->chip.name, p->tp, p->pp, p->dp, e->net.name);
	fprintf(f, "workload: batch %u, prompt %u, generate %u, %u micro-batch%s per replica\n\n",
		w->batch, w->prompt_tokens, w->generate_tokens, p->micro_batches,
		p->micro_batches == 1 ? "" : "es");
	fprintf(f, "throughput     %12.1f generated tokens/s   %12.1f prompt tokens/s\n",
		r->tokens_per_s, r->prompt_tokens_per_s);
	fprintf(f, "makespan       %12.6f s\n", (double)r->makespan_ps * 1e-12);
	fprintf(f, "TTFT           %12.4f ms mean  %10.4f p50  %10.4f p99\n", r->ttft_s.mean * 1e3,
		r->ttft_s.p50 * 1e3, r->ttft_s.p99 * 1e3);
	fprintf(f, "TPOT           %12.4f ms mean  %10.4f p50  %10.4f p99\n", r->tpot_s.mean * 1e3,
		r->tpot_s.p50 * 1e3, r->tpot_s.p99 * 1e3);
	fprintf(f, "energy         %12.4f J   %10.4f mJ per generated token   %8.2f W average\n",
		r->energy_j, r->energy_per_token_j * 1e3, r->power_w);
	fprintf(f, "  by component:");
	for (int c = 0; c < CIM_E_NCOMP; c++)
		fprintf(f, " %s %.1f%%", cim_chip_ecomp_name((enum cim_chip_ecomp)c),
			pct(r->comp_j[c], r->energy_j));
	fprintf(f, " leakage %.1f%%\n", pct(r->leakage_j, r->energy_j));
	fprintf(f, "  by phase: prefill %.4f J, decode %.4f J (dynamic), leakage %.4f J\n",
		r->phase_j[0], r->phase_j[1], r->leakage_j);
	fprintf(f, "effective      %12.2f TOPS  %10.2f TOPS/W\n", r->tops, r->tops_per_w);
	fprintf(f,
		"utilisation    crossbars %.1f%%, digital %.1f%%, KV memory %.1f%%, link %.1f%%;"
		" pipeline bubbles %.1f%%\n",
		100 * r->util[CIM_BUSY_XBAR], 100 * r->util[CIM_BUSY_DIGITAL],
		100 * r->util[CIM_BUSY_KV], 100 * r->util[CIM_BUSY_LINK], 100 * r->bubble);
	fprintf(f, "links          %s sent, %s × hops, %.4f J\n",
		cim_fmt_bytes((double)r->bytes_sent, a, sizeof(a)),
		cim_fmt_bytes((double)r->link_bytes, b, sizeof(b)), r->comp_j[CIM_E_INTERCONNECT]);
	fprintf(f, "memory         crossbar fill %.1f%%, KV peak %s per chip\n", 100 * p->fill,
		cim_fmt_bytes((double)r->kv_peak, a, sizeof(a)));
	if (r->programmed)
		fprintf(f,
			"weights        written once in %.4f s, %.4f J (program-and-verify; not in "
			"the run)\n",
			r->program_s, r->program_j);
	else
		fprintf(f, "weights        writing them is not priced: %s has no program part\n",
			r->e->chip.name);
	fprintf(f, "estimate       %12.1f tokens/s, makespan %.6f s (run/estimate %.3f)\n",
		r->est.tokens_per_s, (double)r->est.makespan_ps * 1e-12,
		r->est.makespan_ps ? (double)r->makespan_ps / (double)r->est.makespan_ps : 0);
	fprintf(f, "\nGPU baseline (roofline, docs/gpu-baseline.md):\n");
	for (int g = 0; g < 2; g++) {
		const struct cim_gpu_result *x = &r->gpu[g];
		if (!x->fits) {
			fprintf(f, "  %-10s does not hold the model and KV cache on 8 GPUs\n",
				cim_gpu_get((size_t)g)->name);
			continue;
		}
		fprintf(f,
			"  %u × %-8s %10.1f tokens/s (CIM %.2f×), %8.2f mJ/token (CIM uses "
			"%.3f×), TTFT %.3f ms, TPOT %.4f ms\n",
			x->gpus, cim_gpu_get((size_t)g)->name, x->generated_tokens_per_s,
			r->tokens_per_s / x->generated_tokens_per_s,
			x->energy_per_generated_token_j * 1e3,
			r->energy_per_token_j / x->energy_per_generated_token_j, x->ttft_s * 1e3,
			x->tpot_s * 1e3);
	}
	fprintf(f,
		"\nsimulator: %d ranks, %.3f s wall, %.3f s CPU, %s events (%.0f per s), "
		"%.1f MiB peak per rank\n",
		r->ranks, r->wall_s, r->cpu_s, cim_fmt_count(r->events, a, sizeof(a)),
		r->wall_s > 0 ? (double)r->events / r->wall_s : 0, r->peak_rss_mib);
}

static void dist_json(struct json_w *j, const char *key, const struct cim_dist *d)
{
	json_obj(j, key);
	json_f64(j, "mean", d->mean);
	json_f64(j, "p50", d->p50);
	json_f64(j, "p99", d->p99);
	json_obj_end(j);
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
	json_obj(&j, "time");
	json_f64(&j, "makespan_s", (double)r->makespan_ps * 1e-12);
	json_u64(&j, "makespan_ps", r->makespan_ps);
	json_f64(&j, "prefill_s", (double)r->prefill_ps * 1e-12);
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
	json_obj(&j, "estimate");
	cim_report_estimate_json(&j, &r->est);
	json_obj_end(&j);
	json_arr(&j, "gpu");
	for (int g = 0; g < 2; g++) {
		const struct cim_gpu_result *x = &r->gpu[g];
		json_obj(&j, NULL);
		json_str(&j, "name", cim_gpu_get((size_t)g)->name);
		json_bool(&j, "fits", x->fits);
		json_u64(&j, "gpus", x->gpus);
		json_f64(&j, "generated_tokens_per_s", x->generated_tokens_per_s);
		json_f64(&j, "ttft_s", x->ttft_s);
		json_f64(&j, "tpot_s", x->tpot_s);
		json_f64(&j, "energy_per_generated_token_j", x->energy_per_generated_token_j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj(&j, "simulator");
	json_u64(&j, "ranks", (uint64_t)r->ranks);
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
