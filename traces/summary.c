/*
 * summary.c — where a run's time and energy went, per chip and per
 * operator, from its trace files: count, busy time, share of the makespan
 * and energy, as a table or as CSV.
 *
 * Busy time is the sum of the spans' durations (a merged span counts from
 * its first operator's start to its last one's end, gaps included).  The
 * makespan is the latest end over every record of every rank, time
 * starting at 0.  Not here: the statistics of a run (the coordinator
 * gathers them from the executor, with or without traces).
 */
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* The rows of one rank, with an index by (kind, name). */
struct rows {
	struct cim_trace_summary_row *v;
	size_t n, cap;
	int32_t *slot; /* hash → row index, −1 empty */
	size_t nslot;
};

static uint32_t hash(const char *kind, const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *p = kind; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static int reindex(struct rows *t)
{
	size_t ns = t->nslot ? 2 * t->nslot : 256;
	int32_t *s = malloc(ns * sizeof(*s));

	if (!s)
		return -1;
	for (size_t i = 0; i < ns; i++)
		s[i] = -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = hash(t->v[i].kind, t->v[i].name) & (ns - 1);
		while (s[h] >= 0)
			h = (h + 1) & (ns - 1);
		s[h] = (int32_t)i;
	}
	free(t->slot);
	t->slot = s;
	t->nslot = ns;
	return 0;
}

/* The row of (kind, name) on rank, made when missing; NULL when out of
 * memory. */
static struct cim_trace_summary_row *row(struct rows *t, uint32_t rank, const char *kind,
					 const char *name, size_t name_len)
{
	char nm[sizeof(t->v->name)];
	size_t n = name_len < sizeof(nm) - 1 ? name_len : sizeof(nm) - 1;

	memcpy(nm, name, n);
	nm[n] = '\0';
	n = strnlen(nm, n);
	if (2 * (t->n + 1) > t->nslot && reindex(t))
		return NULL;
	size_t h = hash(kind, nm) & (t->nslot - 1);
	for (; t->slot[h] >= 0; h = (h + 1) & (t->nslot - 1)) {
		struct cim_trace_summary_row *x = &t->v[t->slot[h]];
		if (x->rank == rank && strcmp(x->kind, kind) == 0 && strcmp(x->name, nm) == 0)
			return x;
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 64;
		struct cim_trace_summary_row *v = realloc(t->v, nc * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = nc;
	}
	struct cim_trace_summary_row *x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	x->rank = rank;
	snprintf(x->kind, sizeof(x->kind), "%s", kind);
	memcpy(x->name, nm, strlen(nm) + 1);
	t->slot[h] = (int32_t)t->n++;
	return x;
}

static int by_rank_busy(const void *a, const void *b)
{
	const struct cim_trace_summary_row *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->busy_ps != y->busy_ps)
		return x->busy_ps > y->busy_ps ? -1 : 1;
	if ((c = strcmp(x->kind, y->kind)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/* Adds one record to its row; returns -1 when out of memory. */
static int add(struct rows *t, uint32_t rank, const struct cim_trace_rec *rec, uint64_t *end)
{
	struct cim_trace_summary_row *x;
	uint64_t s, e;
	double energy = 0;

	if (rec->type == CIM_TREC_SCHED)
		return 0; /* a time series, not busy time (the export draws it) */
	switch (rec->type) {
	case CIM_TREC_OP:
		x = row(t, rank, trace_op_kind_name(rec->u.op.op_kind), rec->u.op.name,
			sizeof(rec->u.op.name));
		s = rec->u.op.start_ps, e = rec->u.op.end_ps;
		for (int i = 0; i < CIM_E_NCOMP; i++)
			energy += rec->u.op.energy_pj[i];
		break;
	case CIM_TREC_MSG: {
		const char *k = cim_exec_msg_kind_name(rec->u.msg.kind);
		x = row(t, rank, rec->u.msg.is_send ? "send" : "recv", k, strlen(k));
		s = rec->u.msg.depart_ps, e = rec->u.msg.arrive_ps;
		energy = rec->u.msg.energy_pj;
		break;
	}
	default: {
		const char *k = trace_coll_name(rec->u.coll.coll);
		x = row(t, rank, "collective", k, strlen(k));
		s = rec->u.coll.ready_ps, e = rec->u.coll.finish_ps;
		energy = rec->u.coll.energy_pj;
		break;
	}
	}
	if (!x)
		return -1;
	x->count += rec->count;
	x->records++;
	x->busy_ps += e - s;
	x->energy_pj += energy;
	if (e > *end)
		*end = e;
	return 0;
}

void cim_trace_summary_destroy(struct cim_trace_summary *s)
{
	if (!s)
		return;
	free(s->files);
	free(s->partial);
	free(s->rows);
	free(s);
}

int cim_trace_summarize(const char *dir, unsigned flags, FILE *notes,
			struct cim_trace_summary **s_p, struct cim_err *err)
{
	struct trace_run run;
	struct rows t = { 0 };
	struct cim_trace_summary *s;
	uint64_t end = 0;

	if (trace_run_list(dir, &run, err))
		return CIM_TRACE_ERR_INPUT;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_oom;
	s->files = calloc(run.n, sizeof(*s->files));
	s->partial = calloc(run.n, sizeof(*s->partial));
	if (!s->files || !s->partial)
		goto err_oom;
	for (size_t i = 0; i < run.n; i++) {
		struct cim_trace_reader *r;
		struct cim_trace_rec rec;
		int rc;

		if (cim_trace_reader_open(run.v[i].path, flags, &r, err))
			goto err_input;
		s->files[i] = *cim_trace_reader_info(r);
		if (trace_run_check(&run.v[i], &s->files[i], &s->files[0], run.v[0].path, err)) {
			cim_trace_reader_close(r);
			goto err_input;
		}
		s->nfiles = i + 1;
		while ((rc = cim_trace_reader_next(r, &rec, err)) == 1)
			if (add(&t, s->files[i].rank, &rec, &end)) {
				cim_trace_reader_close(r);
				goto err_oom;
			}
		s->partial[i] = cim_trace_reader_partial(r);
		if (rc == 0 && s->partial[i] && notes)
			fprintf(notes, "%s: %s (used up to there)\n", run.v[i].path,
				cim_trace_reader_note(r));
		cim_trace_reader_close(r);
		if (rc < 0)
			goto err_input;
	}
	s->nranks = s->files[0].nranks;
	s->makespan_ps = end;
	if (t.n)
		qsort(t.v, t.n, sizeof(*t.v), by_rank_busy);
	s->rows = t.v;
	s->nrows = t.n;
	free(t.slot);
	trace_run_free(&run);
	*s_p = s;
	return 0;

err_oom:
	cim_err_set(err, "%s: out of memory", dir);
err_input:
	free(t.v);
	free(t.slot);
	cim_trace_summary_destroy(s);
	trace_run_free(&run);
	return CIM_TRACE_ERR_INPUT;
}

static const struct cim_trace_info *file_of(const struct cim_trace_summary *s, uint32_t rank,
					    size_t *idx)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->files[i].rank == rank) {
			*idx = i;
			return &s->files[i];
		}
	return NULL;
}

static double share(const struct cim_trace_summary *s, uint64_t busy)
{
	return s->makespan_ps ? (double)busy / (double)s->makespan_ps : 0.0;
}

void cim_trace_summary_print(const struct cim_trace_summary *s, FILE *f)
{
	size_t np = 0;

	for (size_t i = 0; i < s->nfiles; i++)
		np += s->partial[i];
	fprintf(f, "%zu of %u ranks traced, level %s, makespan %llu.%06llu us of virtual time",
		s->nfiles, s->nranks, cim_trace_level_name(s->files[0].level),
		(unsigned long long)(s->makespan_ps / 1000000),
		(unsigned long long)(s->makespan_ps % 1000000));
	if (np) {
		fputs("; partial:", f);
		for (size_t i = 0; i < s->nfiles; i++)
			if (s->partial[i])
				fprintf(f, " rank %u", s->files[i].rank);
	}
	fputc('\n', f);
	for (size_t i = 0; i < s->nrows;) {
		size_t fi = 0;
		uint32_t rank = s->rows[i].rank;
		const struct cim_trace_info *in = file_of(s, rank, &fi);
		double total = 0;

		fprintf(f, "\nrank %u · stage %u · tp %u · replica %u (%s)%s\n", rank, in->stage,
			in->tp, in->replica, in->chip, s->partial[fi] ? " — partial" : "");
		fprintf(f, "  %-12s %-16s %10s %16s %12s %12s\n", "kind", "name", "count",
			"busy (us)", "of makespan", "energy (J)");
		for (; i < s->nrows && s->rows[i].rank == rank; i++) {
			const struct cim_trace_summary_row *x = &s->rows[i];
			fprintf(f, "  %-12s %-16s %10llu %9llu.%06llu %11.2f%% %12.4e\n", x->kind,
				x->name, (unsigned long long)x->count,
				(unsigned long long)(x->busy_ps / 1000000),
				(unsigned long long)(x->busy_ps % 1000000),
				100.0 * share(s, x->busy_ps), x->energy_pj * 1e-12);
			total += x->energy_pj;
		}
		fprintf(f, "  %-12s %-16s %10s %16s %12s %12.4e\n", "total", "", "", "", "",
			total * 1e-12);
	}
	/* ranks whose files hold no record still appear */
	for (size_t i = 0; i < s->nfiles; i++) {
		bool seen = false;
		for (size_t k = 0; k < s->nrows && !seen; k++)
			seen = s->rows[k].rank == s->files[i].rank;
		if (!seen)
			fprintf(f, "\nrank %u: no records%s\n", s->files[i].rank,
				s->partial[i] ? " (partial file)" : "");
	}
}

int cim_trace_summary_csv(const struct cim_trace_summary *s, FILE *f)
{
	fputs("rank,stage,tp,replica,chip,kind,name,count,records,busy_ps,busy_share,"
	      "energy_j\n",
	      f);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct cim_trace_summary_row *x = &s->rows[i];
		size_t fi = 0;
		const struct cim_trace_info *in = file_of(s, x->rank, &fi);

		fprintf(f, "%u,%u,%u,%u,", x->rank, in->stage, in->tp, in->replica);
		cim_csv_field(f, in->chip);
		fputc(',', f);
		cim_csv_field(f, x->kind);
		fputc(',', f);
		cim_csv_field(f, x->name);
		/* energy with 15 digits, so that the rows add up to the run's
		 * energy (9 digits would round each by up to 5e-9) */
		fprintf(f, ",%llu,%llu,%llu,%.9g,%.15g\n", (unsigned long long)x->count,
			(unsigned long long)x->records, (unsigned long long)x->busy_ps,
			share(s, x->busy_ps), x->energy_pj * 1e-12);
	}
	return fflush(f) != 0 || ferror(f) ? -1 : 0;
}
