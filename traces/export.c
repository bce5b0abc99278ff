/*
 * export.c — a run's trace files as one Chrome trace-event JSON document,
 * the format ui.perfetto.dev and chrome://tracing open.
 *
 * One process per chip (pid = rank) named after its place in the system;
 * one thread (track) per resource, split into numbered lanes where spans
 * on a resource overlap (a viewer cannot draw overlapping spans on one
 * track); "X" events for ops, messages and collectives; a flow ("s"/"f")
 * from each message's send at departure to its receive at arrival;
 * counters ("C") for average power and link bandwidth, and for a served
 * load the scheduler's time series (queue, batch, KV use).  Timestamps are
 * microseconds of virtual time printed exactly (picoseconds as six
 * decimals).
 *
 * Files are read one at a time; only the two ends of every message are
 * kept across files to match them, so memory grows with the largest file,
 * not the run.  Not here: the file format (reader.c), the summary.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* -------------------------------------------------------------- JSON */

/* A JSON string of at most n bytes of s (stopping at NUL): quotes,
 * backslashes and control bytes escaped, invalid UTF-8 replaced by
 * U+FFFD so that a name cut mid-character still makes valid JSON. */
static void jstr(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end;

	n = strnlen(s, n);
	end = p + n;
	fputc('"', f);
	while (p < end) {
		unsigned c = *p;
		size_t len = c < 0x80		  ? 1
			     : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4
						  : 0;
		bool ok = len > 0 && (size_t)(end - p) >= len;
		for (size_t i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && len == 2 && c < 0xc2)
			ok = false; /* overlong */
		if (ok && len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
			ok = false; /* overlong, surrogate */
		if (ok && len == 4 &&
		    ((c == 0xf0 && p[1] < 0x90) || c > 0xf4 || (c == 0xf4 && p[1] >= 0x90)))
			ok = false;
		if (!ok) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p, 1, len, f);
		p += len;
	}
	fputc('"', f);
}

/* Picoseconds as microseconds, exactly. */
static void jts(FILE *f, uint64_t ps)
{
	fprintf(f, "%llu.%06llu", (unsigned long long)(ps / 1000000),
		(unsigned long long)(ps % 1000000));
}

static void jnum(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}

/* ------------------------------------------------------------ context */

struct span {
	uint64_t start, end;
	uint32_t res; /* resource id */
	uint32_t lane, tid;
	uint32_t rec; /* index in recs */
	bool second;  /* the op's second resource (resource2) */
};

/*
 * Where a flow binds inside its slice.  Viewers bind a flow event to the
 * slice of its track that holds its time, and disagree at a slice's edges:
 * chrome://tracing takes the earlier of two slices that touch, Perfetto the
 * slice on top of its stack and converts times to whole nanoseconds.  So
 * the arrow starts 1 ns after departure inside the send slice and ends 1 ns
 * before arrival inside the receive slice; both ends of a message shorter
 * than 2 ns sit at the middle of their slices.
 */
#define FLOW_INSET_PS 1000

static uint64_t flow_bind_ps(uint64_t start, uint64_t end, bool is_send)
{
	if (end - start < 2 * FLOW_INSET_PS)
		return start + (end - start) / 2;
	return is_send ? start + FLOW_INSET_PS : end - FLOW_INSET_PS;
}

/* One end of a message, kept across files to draw its flow. */
struct endpoint {
	uint32_t sender, receiver, kind, micro_batch, step;
	uint32_t is_send;
	uint64_t depart_ps;
	uint32_t pid, tid;
	uint64_t bind_ps; /* inside the slice it binds to (flow_bind_ps) */
};

struct pwr_ev {
	uint64_t t;
	double delta;
	int active;
};

struct ctx {
	FILE *out;
	FILE *notes;
	unsigned flags;
	bool first_event;
	uint64_t events;
	bool any_replica;
	struct cim_trace_rec *recs;
	size_t nrecs, cap_recs;
	struct span *spans;
	size_t nspans, cap_spans;
	struct pwr_ev *pev;
	size_t npev, cap_pev;
	struct endpoint *eps;
	size_t neps, cap_eps;
	uint64_t *lane_end;
	size_t cap_lanes;
};

/* Grows *v (of *cap elements of size sz) to hold one more; false when out
 * of memory. */
static bool grow(void **v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? 2 * *cap : 1024;
	void *p = realloc(*v, nc * sz);
	if (!p)
		return false;
	*v = p;
	*cap = nc;
	return true;
}

#define GROW(c, field, n) grow((void **)&(c)->field, &(c)->cap_##field, (c)->n, sizeof(*(c)->field))

/* Starts the next event object. */
static FILE *ev(struct ctx *c)
{
	fputs(c->first_event ? "\n" : ",\n", c->out);
	c->first_event = false;
	c->events++;
	return c->out;
}

/* ---------------------------------------------------------- one file */

static const char *res_name(const struct cim_trace_reader *r, uint32_t id, char buf[32])
{
	const char *n = cim_trace_reader_res(r, id);
	if (n)
		return n;
	snprintf(buf, 32, "resource %u", id);
	return buf;
}

static int by_res_start(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->res != y->res)
		return x->res < y->res ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (x->rec > y->rec) - (x->rec < y->rec);
}

static int add_span(struct ctx *c, uint64_t s, uint64_t e, uint32_t res, uint32_t rec, bool second)
{
	if (!GROW(c, spans, nspans))
		return -1;
	c->spans[c->nspans++] =
	    (struct span){ .start = s, .end = e, .res = res, .rec = rec, .second = second };
	return 0;
}

/* Puts every span of a resource into the first lane free at its start;
 * gives each (resource, lane) a thread id; returns the number of tids. */
static int assign_lanes(struct ctx *c, uint32_t *ntid)
{
	uint32_t tid = 1;

	for (size_t i = 0; i < c->nspans;) {
		size_t j = i, nl = 0;
		while (j < c->nspans && c->spans[j].res == c->spans[i].res) {
			struct span *s = &c->spans[j];
			size_t l = 0;
			while (l < nl && c->lane_end[l] > s->start)
				l++;
			if (l == nl) {
				if (!grow((void **)&c->lane_end, &c->cap_lanes, nl,
					  sizeof(uint64_t)))
					return -1;
				nl++;
			}
			c->lane_end[l] = s->end;
			s->lane = (uint32_t)l;
			s->tid = tid + (uint32_t)l;
			j++;
		}
		tid += (uint32_t)nl;
		i = j;
	}
	*ntid = tid - 1;
	return 0;
}

static void write_meta(struct ctx *c, const struct cim_trace_reader *r)
{
	const struct cim_trace_info *in = cim_trace_reader_info(r);
	char name[256], buf[32];
	FILE *f;

	if (c->any_replica)
		snprintf(name, sizeof(name), "replica %u · stage %u · tp %u · rank %u (%s)",
			 in->replica, in->stage, in->tp, in->rank, in->chip);
	else
		snprintf(name, sizeof(name), "stage %u · tp %u · rank %u (%s)", in->stage, in->tp,
			 in->rank, in->chip);
	f = ev(c);
	fprintf(f,
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"args\":{\"name\":", in->rank);
	jstr(f, name, sizeof(name));
	fputs("}}", f);
	fprintf(ev(c),
		"{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%u,"
		"\"args\":{\"sort_index\":%u}}",
		in->rank, in->rank);
	/* one thread per (resource, lane): a lane first appears after the
	 * lanes below it, so tids first appear in increasing order */
	uint32_t named = 0;
	for (size_t i = 0; i < c->nspans; i++) {
		const struct span *s = &c->spans[i];
		if (s->tid <= named)
			continue;
		named = s->tid;
		char tname[96];
		const char *rn = res_name(r, s->res, buf);
		if (s->lane)
			snprintf(tname, sizeof(tname), "%s (%u)", rn, s->lane + 1);
		else
			snprintf(tname, sizeof(tname), "%s", rn);
		f = ev(c);
		fprintf(f,
			"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,"
			"\"args\":{\"name\":",
			in->rank, s->tid);
		jstr(f, tname, sizeof(tname));
		fputs("}}", f);
		fprintf(ev(c),
			"{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%u,"
			"\"tid\":%u,\"args\":{\"sort_index\":%u}}",
			in->rank, s->tid, s->tid);
	}
}

static void write_energy(FILE *f, const double *e)
{
	double total = 0;
	bool first = true;

	fputs(",\"energy_pj\":{", f);
	for (unsigned i = 0; i < CIM_E_NCOMP; i++) {
		total += e[i];
		if (e[i] == 0)
			continue;
		fprintf(f, "%s\"%s\":", first ? "" : ",",
			cim_chip_ecomp_name((enum cim_chip_ecomp)i));
		jnum(f, e[i]);
		first = false;
	}
	fputs("},\"energy_pj_total\":", f);
	jnum(f, total);
}

static void write_span(struct ctx *c, const struct cim_trace_reader *r, const struct span *s)
{
	const struct cim_trace_rec *rec = &c->recs[s->rec];
	uint32_t pid = cim_trace_reader_info(r)->rank;
	char buf[32], name[64];
	FILE *f = ev(c);

	fputs("{\"ph\":\"X\",\"name\":", f);
	switch (rec->type) {
	case CIM_TREC_OP: {
		const struct cim_rec_op *op = &rec->u.op;
		jstr(f, op->name, sizeof(op->name));
		fprintf(f, ",\"cat\":\"op\",\"pid\":%u,\"tid\":%u,\"ts\":", pid, s->tid);
		jts(f, s->start);
		fputs(",\"dur\":", f);
		jts(f, s->end - s->start);
		fprintf(f,
			",\"args\":{\"kind\":\"%s\",\"layer\":%d,\"micro_batch\":%u,"
			"\"step\":%u,\"phase\":\"%s\",\"bytes\":%llu",
			trace_op_kind_name(op->op_kind), (int)op->layer, op->micro_batch, op->step,
			cim_part_phase_name((enum cim_part_phase)op->phase),
			(unsigned long long)op->bytes);
		if (rec->count > 1)
			fprintf(f, ",\"merged_ops\":%u", rec->count);
		if (s->second) {
			fputs(",\"energy_on\":", f);
			jstr(f, res_name(r, op->resource, buf), 64);
		} else {
			write_energy(f, op->energy_pj);
			if (op->resource2 != UINT32_MAX && op->resource2 != op->resource) {
				fputs(",\"also_holds\":", f);
				jstr(f, res_name(r, op->resource2, buf), 64);
			}
		}
		fputs("}}", f);
		break;
	}
	case CIM_TREC_MSG: {
		const struct cim_rec_msg *m = &rec->u.msg;
		snprintf(name, sizeof(name), m->is_send ? "send %s → %u" : "recv %s ← %u",
			 cim_exec_msg_kind_name(m->kind), m->peer);
		jstr(f, name, sizeof(name));
		fprintf(f, ",\"cat\":\"msg\",\"pid\":%u,\"tid\":%u,\"ts\":", pid, s->tid);
		jts(f, s->start);
		fputs(",\"dur\":", f);
		jts(f, s->end - s->start);
		fprintf(f,
			",\"args\":{\"peer\":%u,\"kind\":\"%s\",\"micro_batch\":%u,\"step\":%u,"
			"\"phase\":\"%s\",\"bytes\":%llu,\"energy_pj\":",
			m->peer, cim_exec_msg_kind_name(m->kind), m->micro_batch, m->step,
			cim_part_phase_name((enum cim_part_phase)m->phase),
			(unsigned long long)m->bytes);
		jnum(f, m->energy_pj);
		fputs("}}", f);
		break;
	}
	case CIM_TREC_COLL: {
		const struct cim_rec_coll *k = &rec->u.coll;
		jstr(f, trace_coll_name(k->coll), 32);
		fprintf(f, ",\"cat\":\"coll\",\"pid\":%u,\"tid\":%u,\"ts\":", pid, s->tid);
		jts(f, s->start);
		fputs(",\"dur\":", f);
		jts(f, s->end - s->start);
		fprintf(f,
			",\"args\":{\"algo\":\"%s\",\"group\":%u,\"group_size\":%u,\"layer\":%d,"
			"\"micro_batch\":%u,\"step\":%u,\"phase\":\"%s\",\"bytes\":%llu",
			trace_algo_name(k->algo), k->group, k->group_size, (int)k->layer,
			k->micro_batch, k->step, cim_part_phase_name((enum cim_part_phase)k->phase),
			(unsigned long long)k->bytes);
		if (rec->count > 1)
			fprintf(f, ",\"merged_collectives\":%u", rec->count);
		fputs(",\"energy_pj\":", f);
		jnum(f, k->energy_pj);
		fputs("}}", f);
		break;
	}
	}
}

static int by_time(const void *a, const void *b)
{
	const struct pwr_ev *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* A step counter of the sum of rates of the spans of one kind: each span
 * contributes amount / duration over [start, end). */
static int write_counter(struct ctx *c, uint32_t pid, const char *name, const char *unit, int which)
{
	c->npev = 0;
	for (size_t i = 0; i < c->nspans; i++) {
		const struct span *s = &c->spans[i];
		const struct cim_trace_rec *rec = &c->recs[s->rec];
		double amount = 0;

		if (s->second || s->end <= s->start)
			continue;
		if (which == 0 && rec->type == CIM_TREC_OP)
			for (int k = 0; k < CIM_E_NCOMP; k++)
				amount += rec->u.op.energy_pj[k];
		else if (which == 1 && rec->type == CIM_TREC_MSG && rec->u.msg.is_send)
			amount = (double)rec->u.msg.bytes;
		else if (which == 2 && rec->type == CIM_TREC_MSG && !rec->u.msg.is_send)
			amount = (double)rec->u.msg.bytes;
		else if (which == 3 && rec->type == CIM_TREC_COLL)
			amount = (double)rec->u.coll.bytes;
		else
			continue;
		/* W = pJ/ps; bytes/s = bytes/ps · 1e12 */
		double rate = amount / (double)(s->end - s->start) * (which == 0 ? 1 : 1e12);
		if (!GROW(c, pev, npev + 1))
			return -1;
		c->pev[c->npev++] = (struct pwr_ev){ s->start, rate, 1 };
		c->pev[c->npev++] = (struct pwr_ev){ s->end, -rate, -1 };
	}
	if (c->npev == 0)
		return 0;
	qsort(c->pev, c->npev, sizeof(*c->pev), by_time);
	double sum = 0, last = -1;
	int active = 0;
	for (size_t i = 0; i < c->npev;) {
		uint64_t t = c->pev[i].t;
		for (; i < c->npev && c->pev[i].t == t; i++) {
			sum += c->pev[i].delta;
			active += c->pev[i].active;
		}
		if (active == 0)
			sum = 0; /* no rounding residue between spans */
		if (sum == last)
			continue;
		last = sum;
		FILE *f = ev(c);
		fprintf(f, "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%u,\"ts\":", name, pid);
		jts(f, t);
		fprintf(f, ",\"args\":{\"%s\":", unit);
		jnum(f, sum);
		fputs("}}", f);
	}
	return 0;
}

/* The scheduler's time series (a served load's scheduling rank) as counter
 * tracks, one point per record (records are in time order; a value holds
 * until the next point): requests waiting (never admitted), requeued
 * (preempted), running; the requests and tokens of each pass decided; the
 * KV use of the fullest chip, as a fraction of its room. */
static void write_series(struct ctx *c, uint32_t pid)
{
	for (size_t i = 0; i < c->nrecs; i++) {
		const struct cim_trace_rec *rec = &c->recs[i];
		if (rec->type != CIM_TREC_SCHED)
			continue;
		const struct cim_rec_sched *x = &rec->u.sched;
		const struct {
			const char *name, *unit;
			double v;
			bool on;
		} v[] = {
			{ "waiting", "requests", x->waiting, true },
			{ "requeued", "requests", x->requeued, true },
			{ "running", "requests", x->running, true },
			{ "pass batch", "requests", x->batch, x->decision != 0 },
			{ "pass tokens", "tokens", x->tokens, x->decision != 0 },
			{ "KV use", "fraction",
			  x->kv_room ? (double)x->kv_bytes / (double)x->kv_room : 0, true },
		};
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			if (!v[k].on)
				continue;
			FILE *f = ev(c);
			fprintf(f, "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%u,\"ts\":", v[k].name,
				pid);
			jts(f, x->t_ps);
			fprintf(f, ",\"args\":{\"%s\":", v[k].unit);
			jnum(f, v[k].v);
			fputs("}}", f);
		}
	}
}

static int export_file(struct ctx *c, const struct trace_run_file *file, bool *partial,
		       struct cim_err *err)
{
	struct cim_trace_reader *r;
	struct cim_trace_rec rec;
	int rc;
	uint32_t ntid;

	if (cim_trace_reader_open(file->path, c->flags, &r, err))
		return CIM_TRACE_ERR_INPUT;
	const struct cim_trace_info *in = cim_trace_reader_info(r);
	c->nrecs = c->nspans = 0;
	while ((rc = cim_trace_reader_next(r, &rec, err)) == 1) {
		if (!GROW(c, recs, nrecs))
			goto err_oom;
		c->recs[c->nrecs++] = rec;
	}
	if (rc < 0)
		goto err_input;
	*partial = cim_trace_reader_partial(r);
	if (*partial && c->notes)
		fprintf(c->notes, "%s: %s (used up to there)\n", file->path,
			cim_trace_reader_note(r));

	for (size_t i = 0; i < c->nrecs; i++) {
		const struct cim_trace_rec *x = &c->recs[i];
		uint32_t idx = (uint32_t)i;
		switch (x->type) {
		case CIM_TREC_OP:
			rc = add_span(c, x->u.op.start_ps, x->u.op.end_ps, x->u.op.resource, idx,
				      false);
			if (!rc && x->u.op.resource2 != UINT32_MAX &&
			    x->u.op.resource2 != x->u.op.resource)
				rc = add_span(c, x->u.op.start_ps, x->u.op.end_ps,
					      x->u.op.resource2, idx, true);
			break;
		case CIM_TREC_MSG:
			rc = add_span(c, x->u.msg.depart_ps, x->u.msg.arrive_ps, CIM_RES_LINK, idx,
				      false);
			break;
		case CIM_TREC_SCHED:
			break; /* counters, below */
		default:
			rc = add_span(c, x->u.coll.ready_ps, x->u.coll.finish_ps, CIM_RES_LINK, idx,
				      false);
			break;
		}
		if (rc)
			goto err_oom;
	}
	if (c->nspans)
		qsort(c->spans, c->nspans, sizeof(*c->spans), by_res_start);
	if (assign_lanes(c, &ntid))
		goto err_oom;

	write_meta(c, r);
	for (size_t i = 0; i < c->nspans; i++) {
		const struct span *s = &c->spans[i];
		const struct cim_trace_rec *x = &c->recs[s->rec];
		write_span(c, r, s);
		if (x->type != CIM_TREC_MSG)
			continue;
		const struct cim_rec_msg *m = &x->u.msg;
		if (!GROW(c, eps, neps))
			goto err_oom;
		c->eps[c->neps++] = (struct endpoint){
			.sender = m->is_send ? in->rank : m->peer,
			.receiver = m->is_send ? m->peer : in->rank,
			.kind = m->kind,
			.micro_batch = m->micro_batch,
			.step = m->step,
			.is_send = m->is_send ? 1 : 0,
			.depart_ps = m->depart_ps,
			.pid = in->rank,
			.tid = s->tid,
			.bind_ps = flow_bind_ps(s->start, s->end, m->is_send),
		};
	}
	if (write_counter(c, in->rank, "power", "W", 0) ||
	    write_counter(c, in->rank, "link send", "B/s", 1) ||
	    write_counter(c, in->rank, "link recv", "B/s", 2) ||
	    write_counter(c, in->rank, "collective", "B/s", 3))
		goto err_oom;
	write_series(c, in->rank);
	cim_trace_reader_close(r);
	return 0;

err_oom:
	cim_err_set(err, "%s: out of memory", file->path);
err_input:
	cim_trace_reader_close(r);
	return CIM_TRACE_ERR_INPUT;
}

/* ------------------------------------------------------------- flows */

static int by_key(const void *a, const void *b)
{
	const struct endpoint *x = a, *y = b;
#define CMP(f)                                                                                     \
	if (x->f != y->f)                                                                          \
		return x->f < y->f ? -1 : 1;
	CMP(sender)
	CMP(receiver)
	CMP(kind)
	CMP(micro_batch)
	CMP(step)
	CMP(is_send)
	CMP(depart_ps)
#undef CMP
	return 0;
}

static bool same_key(const struct endpoint *x, const struct endpoint *y)
{
	return x->sender == y->sender && x->receiver == y->receiver && x->kind == y->kind &&
	       x->micro_batch == y->micro_batch && x->step == y->step;
}

static void flow_end(struct ctx *c, const struct endpoint *e, uint64_t id, char ph)
{
	FILE *f = ev(c);

	fprintf(f,
		"{\"ph\":\"%c\",%s\"id\":%llu,\"cat\":\"msg\",\"name\":\"%s\",\"pid\":%u,"
		"\"tid\":%u,\"ts\":",
		ph, ph == 'f' ? "\"bp\":\"e\"," : "", (unsigned long long)id,
		cim_exec_msg_kind_name(e->kind), e->pid, e->tid);
	jts(f, e->bind_ps);
	fputc('}', f);
}

/* Pairs sends and receives with the same (sender, receiver, kind,
 * micro-batch, step), in order of departure; returns the unmatched. */
static uint64_t write_flows(struct ctx *c)
{
	uint64_t id = 0, unmatched = 0;

	if (c->neps)
		qsort(c->eps, c->neps, sizeof(*c->eps), by_key);
	for (size_t i = 0; i < c->neps;) {
		size_t j = i, nrecv, nsend;
		while (j < c->neps && same_key(&c->eps[i], &c->eps[j]))
			j++;
		/* [i, j): receives (is_send 0) first, then sends */
		for (nrecv = 0; i + nrecv < j && !c->eps[i + nrecv].is_send; nrecv++)
			;
		nsend = j - i - nrecv;
		size_t pairs = nrecv < nsend ? nrecv : nsend;
		for (size_t k = 0; k < pairs; k++) {
			id++;
			flow_end(c, &c->eps[i + nrecv + k], id, 's');
			flow_end(c, &c->eps[i + k], id, 'f');
		}
		unmatched += (nrecv - pairs) + (nsend - pairs);
		i = j;
	}
	return unmatched;
}

/* ------------------------------------------------------------ the run */

int cim_trace_export_chrome(const char *dir, FILE *out, unsigned flags, FILE *notes,
			    struct cim_err *err)
{
	struct trace_run run;
	struct ctx c;
	struct cim_trace_info first;
	uint32_t *partial = NULL;
	size_t npartial = 0;
	int ret = CIM_TRACE_ERR_INPUT;

	if (trace_run_list(dir, &run, err))
		return CIM_TRACE_ERR_INPUT;
	memset(&c, 0, sizeof(c));
	c.out = out;
	c.notes = notes;
	c.flags = flags;
	c.first_event = true;
	partial = calloc(run.n, sizeof(*partial));
	if (!partial) {
		cim_err_set(err, "%s: out of memory", dir);
		goto out_free;
	}

	/* Headers first: refuse a foreign or stale file before writing. */
	for (size_t i = 0; i < run.n; i++) {
		struct cim_trace_reader *r;
		if (cim_trace_reader_open(run.v[i].path, flags, &r, err))
			goto out_free;
		const struct cim_trace_info *in = cim_trace_reader_info(r);
		if (i == 0)
			first = *in;
		int bad = trace_run_check(&run.v[i], in, &first, run.v[0].path, err);
		if (in->replica)
			c.any_replica = true;
		cim_trace_reader_close(r);
		if (bad)
			goto out_free;
	}

	fputs("{\"traceEvents\":[", out);
	for (size_t i = 0; i < run.n; i++) {
		bool part = false;
		if (export_file(&c, &run.v[i], &part, err))
			goto out_free;
		if (part)
			partial[npartial++] = run.v[i].rank;
	}
	uint64_t unmatched = write_flows(&c);
	fputs("\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{"
	      "\"time_unit\":\"microseconds of virtual (simulated) time\","
	      "\"source\":\"cimsim trace export\",",
	      out);
	fprintf(out,
		"\"format_version\":%d,\"level\":\"%s\",\"ranks_in_run\":%u,"
		"\"ranks_traced\":%zu,\"run_id\":\"%llu\",\"experiment\":",
		CIM_TRACE_VERSION, cim_trace_level_name(first.level), first.nranks, run.n,
		(unsigned long long)first.run_id);
	jstr(out, first.experiment, sizeof(first.experiment));
	fputs(",\"partial_ranks\":[", out);
	for (size_t i = 0; i < npartial; i++)
		fprintf(out, "%s%u", i ? "," : "", partial[i]);
	fprintf(out, "],\"unmatched_messages\":%llu,\"events\":%llu}}\n",
		(unsigned long long)unmatched, (unsigned long long)c.events);
	if (fflush(out) != 0 || ferror(out)) {
		ret = CIM_TRACE_ERR_IO;
		cim_err_set(err, "writing the trace: %s", strerror(errno));
		goto out_free;
	}
	ret = 0;
out_free:
	free(partial);
	free(c.recs);
	free(c.spans);
	free(c.pev);
	free(c.eps);
	free(c.lane_end);
	trace_run_free(&run);
	return ret;
}
