/*
 * sweep.c — a study's points: expanded from the study, planned, placed in
 * rounds on the job's ranks, and reported (docs/studies.md).
 *
 * A point is the base experiment with overrides, exactly as `cimsim run
 * EXP --set …` would see it, so a point's results equal that run's.  This
 * file does not run anything nor touch MPI: cmd_sweep.c does.
 */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "json.h"
#include "sweep.h"

void cim_sweep_sets(const struct cim_study *s, const struct cim_sweep_point *p,
		    struct cim_sweep_sets *out)
{
	out->n = 0;
	for (uint32_t i = 0; i < s->nsets; i++)
		out->v[out->n++] = s->set[i].set;
	for (uint32_t a = 0; a < s->naxes; a++)
		out->v[out->n++] = s->axis[a].v[p->value[a]].set;
	/* the experiment's own split, or the template of `splits: all` */
	if (s->splits == CIM_SPLITS_EXPERIMENT || (p->strategy == CIM_STRAT_MANUAL && !p->tp))
		return;
	if (p->strategy != CIM_STRAT_MANUAL) {
		snprintf(out->own[0], sizeof(out->own[0]), "parallel.strategy=%s",
			 cim_part_strategy_name((enum cim_strategy)p->strategy));
		out->v[out->n++] = out->own[0];
		return;
	}
	snprintf(out->own[0], sizeof(out->own[0]), "parallel.strategy=manual");
	snprintf(out->own[1], sizeof(out->own[1]), "parallel.tp=%u", p->tp);
	snprintf(out->own[2], sizeof(out->own[2]), "parallel.pp=%u", p->pp);
	snprintf(out->own[3], sizeof(out->own[3]), "parallel.dp=%u", p->dp);
	for (int i = 0; i < 4; i++)
		out->v[out->n++] = out->own[i];
}

/* The last part of a dotted key: workload.batch → batch. */
static const char *short_key(const char *key)
{
	const char *dot = strrchr(key, '.');

	return dot ? dot + 1 : key;
}

void cim_sweep_label(const struct cim_study *s, const struct cim_sweep_point *p, char *buf,
		     size_t size)
{
	size_t at = 0;

	buf[0] = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (at < size)                                                                     \
			at += (size_t)snprintf(buf + at, size - at, __VA_ARGS__);                  \
	} while (0)
	for (uint32_t a = 0; a < s->naxes; a++)
		ADD("%s%s=%s", at ? " " : "", short_key(s->axis[a].key),
		    s->axis[a].v[p->value[a]].label);
	if (p->strategy != CIM_STRAT_MANUAL)
		ADD("%s%s", at ? " " : "", cim_part_strategy_name((enum cim_strategy)p->strategy));
	if (p->tp) {
		ADD("%stp%u pp%u", at ? " " : "", p->tp, p->pp);
		if (p->dp > 1)
			ADD(" dp%u", p->dp);
	}
	if (s->nchips > 1 && !(p->tp && s->splits != CIM_SPLITS_EXPERIMENT))
		ADD("%s%u chips", at ? " " : "", p->chips ? p->chips : p->chips_asked);
#undef ADD
}

/* Copies src into dst[size], cut short when longer. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* The axis values of p ("batch=8 generate_tokens=64"; "-" without axes):
 * points of one group differ only in chips and split. */
static void group_label(const struct cim_study *s, const struct cim_sweep_point *p, char *buf,
			size_t size)
{
	size_t at = 0;

	snprintf(buf, size, "-");
	for (uint32_t a = 0; a < s->naxes && at < size; a++)
		at += (size_t)snprintf(buf + at, size - at, "%s%s=%s", a ? " " : "",
				       short_key(s->axis[a].key), s->axis[a].v[p->value[a]].label);
}

/* Loads point p's experiment; the message names the study and the point. */
static int load_point(struct cim_files *files, const struct cim_study *s,
		      const struct cim_sweep_point *p, struct cim_experiment **e_p,
		      struct cim_err *err)
{
	struct cim_sweep_sets sets;
	char label[200], inner[sizeof(err->msg)];

	cim_sweep_sets(s, p, &sets);
	if (cim_spec_load_experiment(files, s->experiment, sets.v, sets.n, e_p, err) == 0)
		return 0;
	cim_sweep_label(s, p, label, sizeof(label));
	snprintf(inner, sizeof(inner), "%s", err->msg);
	return cim_err_set(err, "%s: point %u (%s): %s", s->path, p->index, label, inner);
}

/* Plans point p (split and chips as the study gives them) and says whether
 * it fits. */
static int plan_point(struct cim_files *files, const struct cim_study *s, struct cim_sweep_point *p,
		      struct cim_err *err)
{
	struct cim_experiment *e;
	struct cim_part_plan *plan;
	struct cim_err why;

	if (load_point(files, s, p, &e, err))
		return -1;
	if (cim_part_choose(e, p->chips_asked, &plan, &why) < 0) {
		p->status = CIM_POINT_INFEASIBLE;
		copy_text(p->why, sizeof(p->why), why.msg);
		p->chips = p->chips_asked ? p->chips_asked
					  : e->parallel.tp * e->parallel.pp * e->parallel.dp;
		if (p->strategy == CIM_STRAT_MANUAL && s->splits == CIM_SPLITS_EXPERIMENT) {
			p->tp = e->parallel.tp;
			p->pp = e->parallel.pp;
			p->dp = e->parallel.dp;
		}
	} else {
		p->status = CIM_POINT_RUN;
		p->tp = plan->tp;
		p->pp = plan->pp;
		p->dp = plan->dp;
		p->chips = plan->chips;
		cim_part_plan_destroy(plan);
	}
	free(e);
	return 0;
}

/* Every (tp, pp, dp) of template t's chip count, as points. */
static int expand_all(struct cim_files *files, const struct cim_study *s,
		      const struct cim_sweep_point *t, struct cim_sweep_point *pts, size_t *n,
		      struct cim_err *err)
{
	struct cim_experiment *e;
	struct cim_part_row *rows;
	size_t nrows;
	char label[200], inner[sizeof(err->msg)];

	if (load_point(files, s, t, &e, err))
		return -1;
	if (cim_part_enumerate(e, t->chips_asked, &rows, &nrows, err) < 0) {
		cim_sweep_label(s, t, label, sizeof(label));
		snprintf(inner, sizeof(inner), "%s", err->msg);
		free(e);
		return cim_err_set(err, "%s: point %u (%s): %s", s->path, t->index, label, inner);
	}
	free(e);
	for (size_t r = 0; r < nrows; r++) {
		struct cim_sweep_point *p = &pts[*n];
		if (*n == CIM_STUDY_MAX_POINTS) {
			free(rows);
			return cim_err_set(err, "%s: more than %d points; split the study", s->path,
					   CIM_STUDY_MAX_POINTS);
		}
		*p = *t;
		p->index = (uint32_t)*n;
		p->strategy = CIM_STRAT_MANUAL;
		p->tp = rows[r].tp;
		p->pp = rows[r].pp;
		p->dp = rows[r].dp;
		p->chips = rows[r].chips;
		p->status = rows[r].fits ? CIM_POINT_RUN : CIM_POINT_INFEASIBLE;
		copy_text(p->why, sizeof(p->why), rows[r].why);
		/* The point's own overrides must load as they will at run time. */
		if (load_point(files, s, p, &e, err)) {
			free(rows);
			return -1;
		}
		free(e);
		(*n)++;
	}
	free(rows);
	return 0;
}

uint32_t cim_sweep_ranks(const struct cim_sweep_point *p)
{
	return p->ranks ? p->ranks : p->chips;
}

/* A rank per TP group for point p, where it can run so. */
static int group_point(struct cim_files *files, const struct cim_study *s,
		       struct cim_sweep_point *p, struct cim_err *err)
{
	struct cim_experiment *e;

	if (p->status != CIM_POINT_RUN || p->tp < 2)
		return 0;
	if (load_point(files, s, p, &e, err))
		return -1;
	if (cim_exec_tp_per_rank_ok(e, p->dp))
		p->ranks = p->chips / p->tp;
	free(e);
	return 0;
}

int cim_sweep_expand(struct cim_files *files, const struct cim_study *s, uint32_t ranks,
		     bool tp_per_rank, struct cim_sweep_point **points_p, size_t *n_p,
		     struct cim_err *err)
{
	struct cim_sweep_point *pts = calloc(CIM_STUDY_MAX_POINTS, sizeof(*pts));
	size_t n = 0, combos = 1;
	uint32_t nchips = s->nchips ? s->nchips : 1;
	uint32_t nsplits = s->splits == CIM_SPLITS_LIST ? s->nsplits : 1;

	if (!pts)
		return cim_err_set(err, "out of memory for the points of the study");
	for (uint32_t a = 0; a < s->naxes; a++)
		combos *= s->axis[a].n;
	for (uint32_t c = 0; c < nchips; c++)
		for (size_t k = 0; k < combos; k++) {
			struct cim_sweep_point t = { .split = -1 };
			size_t rest = k;
			t.chips_asked = s->nchips ? s->chips[c] : 0;
			for (uint32_t a = s->naxes; a-- > 0;) {
				t.value[a] = (uint32_t)(rest % s->axis[a].n);
				rest /= s->axis[a].n;
			}
			t.index = (uint32_t)n;
			if (s->splits == CIM_SPLITS_ALL) {
				if (expand_all(files, s, &t, pts, &n, err))
					goto err_free;
				continue;
			}
			for (uint32_t j = 0; j < nsplits; j++) {
				struct cim_sweep_point *p = &pts[n];
				if (n == CIM_STUDY_MAX_POINTS) {
					cim_err_set(err, "%s: more than %d points; split the study",
						    s->path, CIM_STUDY_MAX_POINTS);
					goto err_free;
				}
				*p = t;
				p->index = (uint32_t)n;
				if (s->splits == CIM_SPLITS_LIST) {
					const struct cim_study_split *sp = &s->split[j];
					p->split = (int32_t)j;
					p->strategy = sp->strategy;
					p->tp = sp->tp;
					p->pp = sp->pp;
					p->dp = sp->dp;
				}
				if (plan_point(files, s, p, err))
					goto err_free;
				n++;
			}
		}
	for (size_t i = 0; tp_per_rank && i < n; i++)
		if (group_point(files, s, &pts[i], err))
			goto err_free;
	for (size_t i = 0; i < n; i++) {
		const uint32_t need = cim_sweep_ranks(&pts[i]);
		if (pts[i].status == CIM_POINT_RUN && need > ranks) {
			pts[i].status = CIM_POINT_TOO_BIG;
			if (need < pts[i].chips)
				snprintf(pts[i].why, sizeof(pts[i].why),
					 "needs %u ranks (%u chips, a TP group of %u a rank) but "
					 "the job has %u: run the sweep with mpirun -np %u",
					 need, pts[i].chips, pts[i].tp, ranks, need);
			else
				snprintf(pts[i].why, sizeof(pts[i].why),
					 "needs %u chips but the job has %u ranks: run the sweep "
					 "with mpirun -np %u",
					 pts[i].chips, ranks, pts[i].chips);
		}
	}
	*points_p = pts;
	*n_p = n;
	return 0;
err_free:
	free(pts);
	return -1;
}

uint32_t cim_sweep_schedule(const struct cim_sweep_point *pts, size_t n, uint32_t ranks,
			    uint32_t *round, uint32_t *first)
{
	size_t left = 0;
	uint32_t rounds = 0;

	for (size_t i = 0; i < n; i++) {
		round[i] = first[i] = UINT32_MAX;
		left += pts[i].status == CIM_POINT_RUN;
	}
	while (left) {
		uint32_t used = 0;
		/* Largest first (ties in point order), each taken if it fits. */
		for (;;) {
			size_t pick = n;
			for (size_t i = 0; i < n; i++)
				if (pts[i].status == CIM_POINT_RUN && round[i] == UINT32_MAX &&
				    cim_sweep_ranks(&pts[i]) <= ranks - used &&
				    (pick == n ||
				     cim_sweep_ranks(&pts[i]) > cim_sweep_ranks(&pts[pick])))
					pick = i;
			if (pick == n)
				break;
			round[pick] = rounds;
			first[pick] = used;
			used += cim_sweep_ranks(&pts[pick]);
			left--;
		}
		rounds++;
	}
	return rounds;
}

void cim_sweep_metrics_of(const struct cim_results *r, struct cim_sweep_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->tokens_per_s = r->tokens_per_s;
	m->prompt_tokens_per_s = r->prompt_tokens_per_s;
	m->ttft_mean_s = r->ttft_s.mean;
	m->ttft_p50_s = r->ttft_s.p50;
	m->ttft_p99_s = r->ttft_s.p99;
	m->tpot_mean_s = r->tpot_s.mean;
	m->tpot_p50_s = r->tpot_s.p50;
	m->tpot_p99_s = r->tpot_s.p99;
	m->makespan_s = (double)r->makespan_ps * 1e-12;
	m->energy_j = r->energy_j;
	m->energy_per_token_j = r->energy_per_token_j;
	m->power_w = r->power_w;
	m->tops_per_w = r->tops_per_w;
	m->crossbar_util = r->util[CIM_BUSY_XBAR];
	m->bubbles = r->bubble;
	m->est_tokens_per_s = r->est.tokens_per_s;
	m->mvm_rel_err = r->acc_estimated ? r->acc.rel_rms : -1;
	m->wall_s = r->wall_s;
	m->micro_batches = r->plan->micro_batches;
}

/* True when a beats b on throughput and energy per token (not worse on
 * either, better on one). */
static bool dominates(const struct cim_sweep_metrics *a, const struct cim_sweep_metrics *b)
{
	return a->tokens_per_s >= b->tokens_per_s &&
	       a->energy_per_token_j <= b->energy_per_token_j &&
	       (a->tokens_per_s > b->tokens_per_s || a->energy_per_token_j < b->energy_per_token_j);
}

/* True when a is preferred to b among points of one chip count. */
static bool better(const struct cim_sweep_metrics *a, size_t ia, const struct cim_sweep_metrics *b,
		   size_t ib)
{
	if (a->tokens_per_s != b->tokens_per_s)
		return a->tokens_per_s > b->tokens_per_s;
	if (a->energy_per_token_j != b->energy_per_token_j)
		return a->energy_per_token_j < b->energy_per_token_j;
	return ia < ib;
}

/* True when a and b differ at most in their split: the same chip count and
 * the same value of every axis. */
static bool same_group(const struct cim_sweep_point *a, const struct cim_sweep_point *b)
{
	return a->chips == b->chips && memcmp(a->value, b->value, sizeof(a->value)) == 0;
}

void cim_sweep_mark(const struct cim_sweep_point *pts, struct cim_sweep_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		res[i].best = res[i].pareto = res[i].ran;
		for (size_t j = 0; j < n && res[i].ran; j++) {
			if (j == i || !res[j].ran)
				continue;
			if (same_group(&pts[j], &pts[i]) && better(&res[j].m, j, &res[i].m, i))
				res[i].best = false;
			if (dominates(&res[j].m, &res[i].m))
				res[i].pareto = false;
		}
	}
}

static const char *status_word(uint32_t status)
{
	return status == CIM_POINT_RUN	     ? "ran"
	       : status == CIM_POINT_TOO_BIG ? "too-big"
					     : "infeasible";
}

void cim_sweep_table(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		     const struct cim_sweep_result *res, size_t n)
{
	int width[CIM_STUDY_MAX_AXES];
	size_t ran = 0, front = 0;
	char split[48];
	bool strategies = false;

	for (size_t i = 0; i < n; i++) {
		ran += res[i].ran;
		strategies = strategies || pts[i].strategy != CIM_STRAT_MANUAL;
	}
	fprintf(f, "study %s: %zu points, %zu ran, %zu did not (experiment %s)\n\n", s->name, n,
		ran, n - ran, s->experiment);
	fprintf(f, "%4s", "#");
	for (uint32_t a = 0; a < s->naxes; a++) {
		width[a] = (int)strlen(short_key(s->axis[a].key));
		for (uint32_t v = 0; v < s->axis[a].n; v++)
			if ((int)strlen(s->axis[a].v[v].label) > width[a])
				width[a] = (int)strlen(s->axis[a].v[v].label);
		fprintf(f, "  %*s", width[a], short_key(s->axis[a].key));
	}
	if (strategies)
		fprintf(f, "  %-15s", "strategy");
	fprintf(f, "  %5s  %-9s %11s %10s %10s %9s %8s  %s\n", "chips", "tp×pp×dp", "tokens/s",
		"TTFT50 ms", "TPOT50 ms", "mJ/token", "power W", "");
	for (size_t i = 0; i < n; i++) {
		const struct cim_sweep_point *p = &pts[i];
		const struct cim_sweep_metrics *m = &res[i].m;
		fprintf(f, "%4zu", i);
		for (uint32_t a = 0; a < s->naxes; a++)
			fprintf(f, "  %*s", width[a], s->axis[a].v[p->value[a]].label);
		if (strategies)
			fprintf(f, "  %-15s",
				p->strategy == CIM_STRAT_MANUAL
				    ? "-"
				    : cim_part_strategy_name((enum cim_strategy)p->strategy));
		if (p->tp)
			snprintf(split, sizeof(split), "%u×%u×%u", p->tp, p->pp, p->dp);
		else
			snprintf(split, sizeof(split), "-");
		/* "×" is two bytes but one column: pad by hand */
		fprintf(f, "  %5u  %-*s", p->chips, 9 + (p->tp ? 2 : 0), split);
		if (!res[i].ran) {
			fprintf(f, " %11s  (%s)\n", status_word(p->status),
				p->status == CIM_POINT_TOO_BIG ? "too few ranks" : "does not fit");
			continue;
		}
		fprintf(f, " %11.1f %10.3f %10.4f %9.3f %8.1f  %s%s\n", m->tokens_per_s,
			m->ttft_p50_s * 1e3, m->tpot_p50_s * 1e3, m->energy_per_token_j * 1e3,
			m->power_w, res[i].best ? "*" : " ", res[i].pareto ? "P" : "");
	}
	fprintf(f, "\n* the highest throughput of its chip count (among points with the same "
		   "values of the axes)\nP on the Pareto front of throughput against energy "
		   "per token (no other point is as good on both and better on one)\n");
	for (size_t i = 0; i < n; i++)
		front += res[i].pareto;
	if (front) {
		fprintf(f, "\nPareto front, fastest first:\n");
		/* The front sorted by throughput, descending, without sorting
		 * the points: pick the next fastest each time. */
		double last = 1e300;
		size_t last_i = SIZE_MAX;
		for (size_t k = 0; k < front; k++) {
			size_t pick = SIZE_MAX;
			for (size_t i = 0; i < n; i++) {
				if (!res[i].pareto)
					continue;
				double t = res[i].m.tokens_per_s;
				bool after = t < last || (t == last && i > last_i);
				if (after && (pick == SIZE_MAX || t > res[pick].m.tokens_per_s))
					pick = i;
			}
			if (pick == SIZE_MAX)
				break;
			char label[200];
			cim_sweep_label(s, &pts[pick], label, sizeof(label));
			fprintf(f, "  #%zu %s: %.1f tokens/s at %.3f mJ/token\n", pick, label,
				res[pick].m.tokens_per_s, res[pick].m.energy_per_token_j * 1e3);
			last = res[pick].m.tokens_per_s;
			last_i = pick;
		}
	}
	if (ran < n) {
		fprintf(f, "\nPoints that did not run:\n");
		for (size_t i = 0; i < n; i++) {
			char label[200];
			if (res[i].ran)
				continue;
			cim_sweep_label(s, &pts[i], label, sizeof(label));
			fprintf(f, "  #%zu %s (%u chips): %s\n", i, label, pts[i].chips,
				pts[i].why);
		}
	}
}

/* Writes text as one CSV field (cim_csv_field) on one line: line breaks
 * become spaces, so that every row stays one line for readers that split
 * on lines (tools/sweep-plots.sh, awk). */
static void csv_field(FILE *f, const char *text)
{
	char *flat = strpbrk(text, "\r\n") ? strdup(text) : NULL;

	if (!flat) {
		cim_csv_field(f, text);
		return;
	}
	for (char *c = flat; (c = strpbrk(c, "\r\n")) != NULL; c++)
		*c = ' ';
	cim_csv_field(f, flat);
	free(flat);
}

void cim_sweep_csv(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		   const struct cim_sweep_result *res, size_t n)
{
	fputs("point,label,group,status", f);
	for (uint32_t a = 0; a < s->naxes; a++) {
		fputc(',', f);
		csv_field(f, s->axis[a].key);
	}
	fputs(",strategy,chips,tp,pp,dp,micro_batches,generated_tokens_per_s,"
	      "prompt_tokens_per_s,ttft_mean_s,ttft_p50_s,ttft_p99_s,tpot_mean_s,tpot_p50_s,"
	      "tpot_p99_s,makespan_s,energy_j,energy_per_token_j,power_w,tops_per_w,"
	      "crossbar_util,bubbles,estimate_tokens_per_s,mvm_relative_error,best,pareto,reason\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct cim_sweep_point *p = &pts[i];
		const struct cim_sweep_metrics *m = &res[i].m;
		char label[200];
		cim_sweep_label(s, p, label, sizeof(label));
		fprintf(f, "%zu,", i);
		csv_field(f, label);
		fputc(',', f);
		group_label(s, p, label, sizeof(label));
		csv_field(f, label);
		fprintf(f, ",%s", status_word(p->status));
		for (uint32_t a = 0; a < s->naxes; a++) {
			fputc(',', f);
			csv_field(f, s->axis[a].v[p->value[a]].label);
		}
		fprintf(f, ",%s,%u,%u,%u,%u,",
			cim_part_strategy_name((enum cim_strategy)p->strategy), p->chips, p->tp,
			p->pp, p->dp);
		if (res[i].ran)
			fprintf(f,
				"%u,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,"
				"%.9g,%.6f,%.6f,%.9g,",
				m->micro_batches, m->tokens_per_s, m->prompt_tokens_per_s,
				m->ttft_mean_s, m->ttft_p50_s, m->ttft_p99_s, m->tpot_mean_s,
				m->tpot_p50_s, m->tpot_p99_s, m->makespan_s, m->energy_j,
				m->energy_per_token_j, m->power_w, m->tops_per_w, m->crossbar_util,
				m->bubbles, m->est_tokens_per_s);
		else
			fputs(",,,,,,,,,,,,,,,,,", f);
		if (res[i].ran && m->mvm_rel_err >= 0)
			fprintf(f, "%.9g", m->mvm_rel_err);
		fprintf(f, ",%d,%d,", res[i].ran ? res[i].best : 0, res[i].ran ? res[i].pareto : 0);
		csv_field(f, res[i].ran ? "" : p->why);
		fputc('\n', f);
	}
}

void cim_sweep_json(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		    const struct cim_sweep_result *res, size_t n, int ranks)
{
	struct json_w j;
	char label[200];

	json_begin(&j, f);
	json_str(&j, "study", s->name);
	json_str(&j, "study_file", s->path);
	json_str(&j, "experiment", s->experiment);
	json_u64(&j, "ranks", (uint64_t)ranks);
	json_arr(&j, "points");
	for (size_t i = 0; i < n; i++) {
		const struct cim_sweep_point *p = &pts[i];
		struct cim_sweep_sets sets;
		cim_sweep_label(s, p, label, sizeof(label));
		json_obj(&j, NULL);
		json_u64(&j, "point", i);
		json_str(&j, "label", label);
		json_str(&j, "status", status_word(p->status));
		json_obj(&j, "values");
		for (uint32_t a = 0; a < s->naxes; a++)
			json_str(&j, s->axis[a].key, s->axis[a].v[p->value[a]].label);
		json_obj_end(&j);
		json_str(&j, "strategy", cim_part_strategy_name((enum cim_strategy)p->strategy));
		json_u64(&j, "chips", p->chips);
		json_u64(&j, "tp", p->tp);
		json_u64(&j, "pp", p->pp);
		json_u64(&j, "dp", p->dp);
		cim_sweep_sets(s, p, &sets);
		json_arr(&j, "set");
		for (size_t k = 0; k < sets.n; k++)
			json_str(&j, NULL, sets.v[k]);
		json_arr_end(&j);
		if (res[i].ran) {
			json_bool(&j, "best", res[i].best);
			json_bool(&j, "pareto", res[i].pareto);
			json_raw(&j, "results", res[i].json ? res[i].json : "null");
		} else {
			json_str(&j, "reason", p->why);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_arr(&j, "pareto");
	for (size_t i = 0; i < n; i++)
		if (res[i].pareto)
			json_u64(&j, NULL, i);
	json_arr_end(&j);
	json_arr(&j, "best");
	for (size_t i = 0; i < n; i++)
		if (res[i].best)
			json_u64(&j, NULL, i);
	json_arr_end(&j);
	json_end(&j);
}
