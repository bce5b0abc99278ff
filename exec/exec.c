/*
 * exec.c — the executor's run loop, its resource calendars and its messages.
 *
 * A resource (a layer's crossbars, the digital unit, the KV memory) keeps a
 * calendar of the intervals it is busy.  Passes are taken in program order
 * and each step is placed at the earliest time, at or after the step before
 * it, when all its resources are free for its whole length: a later
 * micro-batch may use a gap an earlier one left (the digital unit between
 * two of its norms), so layers work on different micro-batches at once.
 * Placement depends only on program order and virtual times, never on
 * message timing.  The link port serves sends in program order.  See
 * docs/results.md, "How a run proceeds".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* --------------------------------------------------------------- calendar */

/* Busy intervals [s, e), sorted and disjoint, from index head on. */
struct cal {
	uint64_t *s, *e;
	size_t head, n, cap;
	uint64_t dropped; /* Σ length of intervals pruned away */
};

static void cal_free(struct cal *c)
{
	free(c->s);
	free(c->e);
}

/* The first interval (from head) that ends after t. */
static size_t cal_after(const struct cal *c, uint64_t t)
{
	size_t lo = c->head, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->e[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The earliest start ≥ t at which the calendar is free for len. */
static uint64_t cal_fit(const struct cal *c, uint64_t t, uint64_t len)
{
	for (size_t i = cal_after(c, t); i < c->n; i++) {
		if (c->s[i] >= t + len)
			break;
		if (c->e[i] > t)
			t = c->e[i];
	}
	return t;
}

/* Adds [a, b), merging with what it touches or overlaps. */
static int cal_add(struct cal *c, uint64_t a, uint64_t b)
{
	if (a == b)
		return 0;
	size_t i = cal_after(c, a == 0 ? 0 : a - 1); /* first that may touch */
	size_t j = i;
	while (j < c->n && c->s[j] <= b) { /* absorb what overlaps */
		if (c->s[j] < a)
			a = c->s[j];
		if (c->e[j] > b)
			b = c->e[j];
		j++;
	}
	if (i < j) { /* replace i..j−1 by one */
		c->s[i] = a;
		c->e[i] = b;
		memmove(c->s + i + 1, c->s + j, (c->n - j) * sizeof(*c->s));
		memmove(c->e + i + 1, c->e + j, (c->n - j) * sizeof(*c->e));
		c->n -= j - i - 1;
		return 0;
	}
	if (c->n == c->cap) {
		if (c->head > c->n / 2) { /* compact before growing */
			memmove(c->s, c->s + c->head, (c->n - c->head) * sizeof(*c->s));
			memmove(c->e, c->e + c->head, (c->n - c->head) * sizeof(*c->e));
			i -= c->head;
			c->n -= c->head;
			c->head = 0;
		} else {
			size_t cap = c->cap ? 2 * c->cap : 64;
			uint64_t *s = realloc(c->s, cap * sizeof(*s));
			if (!s)
				return -1;
			c->s = s;
			uint64_t *e = realloc(c->e, cap * sizeof(*e));
			if (!e)
				return -1;
			c->e = e;
			c->cap = cap;
		}
	}
	memmove(c->s + i + 1, c->s + i, (c->n - i) * sizeof(*c->s));
	memmove(c->e + i + 1, c->e + i, (c->n - i) * sizeof(*c->e));
	c->s[i] = a;
	c->e[i] = b;
	c->n++;
	return 0;
}

/* Forgets intervals that end at or before t: no later step can start
 * before t. */
static void cal_prune(struct cal *c, uint64_t t)
{
	while (c->head < c->n && c->e[c->head] <= t) {
		c->dropped += c->e[c->head] - c->s[c->head];
		c->head++;
	}
}

static uint64_t cal_total(const struct cal *c)
{
	uint64_t t = c->dropped;

	for (size_t i = c->head; i < c->n; i++)
		t += c->e[i] - c->s[i];
	return t;
}

/* ----------------------------------------------------------------- a run */

/* The fixed header of every message between ranks. */
struct hdr {
	uint64_t depart_ps, arrive_ps, bytes;
	uint32_t kind, micro_batch, step, seqs;
};

struct send {
	MPI_Request req;
	struct hdr h;
};

struct run {
	const struct cim_experiment *e;
	const struct cim_part_plan *plan;
	const struct cim_part_rank *me;
	const struct cim_net *net;
	MPI_Comm comm, tp_comm;
	const struct cim_exec_probe *probes;
	size_t nprobes;
	struct cim_exec_stats st;
	struct cal *cal; /* one per resource */
	uint32_t nres;
	struct cal any;	    /* union of every step: active time */
	uint64_t port_free; /* the link port */
	struct send *sends; /* in flight */
	size_t nsends, capsends;
	struct cim_prog_op *ops;
	size_t capops;
	uint32_t *group; /* the TP group's ranks */
	uint64_t *ready, *finish;
	int traced;                /* some rank has probes: collectives are nonblocking */
	uint64_t my_ready;         /* this member's part of the exchange in flight */
	bool stopped;              /* a probe stopped the run while MPI held buffers */
	struct memo *memo;         /* MEMO_SLOTS replays of this group's collectives */
	uint64_t *memo_times;      /* 2 · tp times per slot: ready and finish offsets */
	uint64_t *kv_pos;    /* positions cached per micro-batch */
	uint64_t kv_room;    /* bytes the KV cache may take */
	uint64_t kv_per_pos; /* bytes per position per sequence */
	long fault_step;     /* CIMSIM_FAULT: the pass index to fail at */
	const char *fault_kind;
	struct cim_err *err;
};

static void probe_op(struct run *r, const struct cim_rec_op *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].op)
			r->probes[i].op(r->probes[i].ctx, rec);
}

static void probe_msg(struct run *r, const struct cim_rec_msg *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].msg)
			r->probes[i].msg(r->probes[i].ctx, rec);
}

static void probe_coll(struct run *r, const struct cim_rec_coll *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].coll)
			r->probes[i].coll(r->probes[i].ctx, rec);
}

static int probe_poll(struct run *r)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].poll && r->probes[i].poll(r->probes[i].ctx))
			return 1;
	return 0;
}

/*
 * Completes req, polling the probes as it waits; returns 0, or 1 when a
 * probe stopped the run first.  A signal stops each rank at its next poll,
 * and a rank waiting for a peer that has already stopped (an earlier stage
 * running ahead waits for a token that will never come) must stop too, not
 * wait until it is killed with its trace unsaved.  A stopped receive
 * (cancel) is cancelled; a stopped collective stays with MPI until the job
 * is aborted (r->stopped: teardown leaves its buffers).  A rank without
 * probes just waits.
 */
static int wait_polling(struct run *r, MPI_Request *req, bool cancel)
{
	int done = 0;

	if (!r->nprobes) {
		MPI_Wait(req, MPI_STATUS_IGNORE);
		return 0;
	}
	for (;;) {
		MPI_Test(req, &done, MPI_STATUS_IGNORE);
		if (done)
			return 0;
		if (probe_poll(r))
			break;
	}
	if (cancel) {
		MPI_Cancel(req);
		MPI_Wait(req, MPI_STATUS_IGNORE);
	}
	r->stopped = true;
	return 1;
}

static uint32_t busy_class(uint32_t res)
{
	return res >= CIM_RES_XBAR0 ? CIM_BUSY_XBAR : res;
}

static void add_energy(double *pj, const struct cim_chip_energy *e)
{
	pj[CIM_E_ARRAY] += e->array;
	pj[CIM_E_ADC] += e->adc;
	pj[CIM_E_DAC] += e->dac;
	pj[CIM_E_SHIFT_ADD] += e->shift_add;
	pj[CIM_E_SAMPLE_HOLD] += e->sample_hold;
	pj[CIM_E_DIGITAL] += e->digital;
	pj[CIM_E_BUFFER] += e->buffer;
	pj[CIM_E_DRAM] += e->dram;
}

/* One compute step at or after t; returns its end. */
static int compute(struct run *r, const struct cim_prog_op *o, uint64_t t,
		   const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out)
{
	struct cal *a = &r->cal[o->res];
	struct cal *b = o->res2 != UINT32_MAX ? &r->cal[o->res2] : NULL;
	uint64_t start = cal_fit(a, t, o->ps);

	while (b) { /* both free for the whole step */
		uint64_t sb = cal_fit(b, start, o->ps);
		if (sb == start)
			break;
		start = cal_fit(a, sb, o->ps);
	}
	uint64_t end = start + o->ps;
	if (cal_add(a, start, end) < 0 || (b && cal_add(b, start, end) < 0) ||
	    cal_add(&r->any, start, end) < 0)
		return cim_err_set(r->err, "rank %u: out of memory for resource calendars",
				   r->me->rank);
	r->st.busy_ps[busy_class(o->res)] += o->ps;
	if (b)
		r->st.busy_ps[busy_class(o->res2)] += o->ps;
	double pj[CIM_E_NCOMP] = {0};
	add_energy(pj, &o->energy);
	for (int i = 0; i < CIM_E_NCOMP; i++)
		r->st.energy_pj[i] += pj[i];
	r->st.phase_pj[p->phase] += cim_chip_energy_total(&o->energy);
	r->st.steps++;
	r->st.ops_macs += o->macs;
	if (end > r->st.end_ps)
		r->st.end_ps = end;
	if (r->nprobes) {
		struct cim_rec_op rec = {
		    .start_ps = start,
		    .end_ps = end,
		    .resource = o->res,
		    .resource2 = o->res2,
		    .op_kind = o->op_kind,
		    .layer = o->layer,
		    .micro_batch = m,
		    .step = k,
		    .phase = p->phase,
		    .bytes = o->bytes,
		};
		memcpy(rec.name, o->name, sizeof(rec.name));
		memcpy(rec.energy_pj, pj, sizeof(pj));
		probe_op(r, &rec);
	}
	*end_out = end;
	return 0;
}

/*
 * Replays already made by this group.  A replay only adds durations to the
 * members' ready times and takes maxima, so it depends on the ready times'
 * offsets from the earliest one, not on where they sit: a replay with the
 * same collective, size and offsets is the earlier result shifted.  Every
 * layer repeats the same few, and replaying them dominated large runs.
 */
#define MEMO_SLOTS 64

struct memo {
	bool used;
	uint32_t coll, algo;
	uint64_t bytes;
	double energy_pj;
};

static size_t memo_slot(uint32_t coll, uint64_t bytes, const uint64_t *rel, uint32_t n)
{
	uint64_t h = 1469598103934665603ull ^ coll;   /* FNV-1a over the key */

	h = (h ^ bytes) * 1099511628211ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ rel[i]) * 1099511628211ull;
	return (size_t)(h % MEMO_SLOTS);
}

/* The group's replay of req from r->ready into r->finish, reused when it
 * was made before. */
static int replay(struct run *r, const struct cim_net_coll_req *req, uint32_t *algo_out,
		  double *energy_out)
{
	const uint32_t tp = r->plan->tp;
	uint64_t base = UINT64_MAX;

	for (uint32_t i = 0; i < tp; i++)
		base = r->ready[i] < base ? r->ready[i] : base;
	for (uint32_t i = 0; i < tp; i++)
		r->ready[i] -= base;
	size_t slot = memo_slot(req->coll, req->bytes, r->ready, tp);
	struct memo *m = &r->memo[slot];
	uint64_t *rel = r->memo_times + slot * 2 * tp, *fin = rel + tp;
	if (!(m->used && m->coll == (uint32_t)req->coll && m->bytes == req->bytes &&
	      memcmp(rel, r->ready, tp * sizeof(*rel)) == 0)) {
		struct cim_net_coll_result res;
		if (cim_net_collective(r->net, req, r->group, r->ready, tp, fin, NULL, &res,
				       r->err) < 0)
			return -1;
		memcpy(rel, r->ready, tp * sizeof(*rel));
		*m = (struct memo){ .used = true, .coll = req->coll, .algo = res.algo,
				    .bytes = req->bytes, .energy_pj = res.energy_pj };
	}
	for (uint32_t i = 0; i < tp; i++)
		r->finish[i] = fin[i] + base;
	*algo_out = m->algo;
	*energy_out = m->energy_pj;
	return 0;
}

/* One collective of the TP group: ready times exchanged, then replayed. */
static int collective(struct run *r, const struct cim_prog_op *o, uint64_t t,
		      const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out)
{
	const uint32_t tp = r->plan->tp;
	struct cim_net_coll_req req = {
	    .coll = o->coll, .algo = CIM_NET_ALGO_AUTO, .bytes = o->bytes};
	uint32_t algo;
	double energy;

	if (!r->traced) {
		MPI_Allgather(&t, 1, MPI_UINT64_T, r->ready, 1, MPI_UINT64_T, r->tp_comm);
	} else {
		MPI_Request ag;
		r->my_ready = t;
		MPI_Iallgather(&r->my_ready, 1, MPI_UINT64_T, r->ready, 1, MPI_UINT64_T, r->tp_comm,
			       &ag);
		if (wait_polling(r, &ag, false))
			return cim_err_set(r->err, "rank %u: interrupted at step %u in a collective",
					   r->me->rank, k);
	}
	if (replay(r, &req, &algo, &energy) < 0)
		return -1;
	uint64_t end = r->finish[r->me->tp_index];
	double share = energy / tp;
	r->st.energy_pj[CIM_E_LINK] += share;
	r->st.phase_pj[p->phase] += share;
	r->st.colls++;
	if (end > r->st.end_ps)
		r->st.end_ps = end;
	if (r->nprobes) {
		struct cim_rec_coll rec = {
		    .ready_ps = t,
		    .finish_ps = end,
		    .coll = o->coll,
		    .algo = algo,
		    .group = r->group[0],
		    .group_size = tp,
		    .layer = o->layer,
		    .micro_batch = m,
		    .step = k,
		    .phase = p->phase,
		    .bytes = o->bytes,
		    .energy_pj = share,
		};
		probe_coll(r, &rec);
	}
	*end_out = end;
	return 0;
}

static void reap_sends(struct run *r, bool all)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->nsends; i++) {
		int done = 0;
		if (all)
			MPI_Wait(&r->sends[i].req, MPI_STATUS_IGNORE);
		else
			MPI_Test(&r->sends[i].req, &done, MPI_STATUS_IGNORE);
		if (!all && !done)
			r->sends[kept++] = r->sends[i];
	}
	r->nsends = all ? 0 : kept;
}

/* Sends the pass's output (activations or a token) from t. */
static int send_out(struct run *r, uint32_t dst, uint32_t kind, uint64_t bytes, uint64_t t,
		    const struct cim_part_pass *p, uint32_t m, uint32_t k)
{
	struct cim_net_xfer x;

	reap_sends(r, false);
	if (r->nsends == r->capsends) {
		/* MPI keeps pointers to in-flight buffers: wait for them all
		 * before moving the array. */
		reap_sends(r, true);
		size_t cap = r->capsends ? 2 * r->capsends : 16;
		struct send *s = realloc(r->sends, cap * sizeof(*s));
		if (!s)
			return cim_err_set(r->err, "rank %u: out of memory for sends", r->me->rank);
		r->sends = s;
		r->capsends = cap;
	}
	cim_net_p2p(r->net, r->me->rank, dst, bytes, t, r->port_free, &x);
	/* A token sent to this chip itself (pp = 1) crosses no link. */
	if (x.hops)
		r->st.busy_ps[CIM_BUSY_LINK] += x.port_free_ps - x.depart_ps;
	r->port_free = x.port_free_ps;
	struct send *s = &r->sends[r->nsends++];
	s->h = (struct hdr){.depart_ps = x.depart_ps,
			    .arrive_ps = x.arrive_ps,
			    .bytes = bytes,
			    .kind = kind,
			    .micro_batch = m,
			    .step = k,
			    .seqs = p->seqs};
	if (r->fault_kind && strcmp(r->fault_kind, "msg") == 0 && (long)k == r->fault_step)
		s->h.step += 1; /* a deliberately wrong message, for tests */
	MPI_Isend(&s->h, sizeof(s->h), MPI_BYTE, (int)dst, (int)kind, r->comm, &s->req);
	r->st.msgs++;
	r->st.bytes_sent += bytes;
	r->st.link_bytes += bytes * x.hops;
	r->st.energy_pj[CIM_E_LINK] += x.energy_pj;
	r->st.phase_pj[p->phase] += x.energy_pj;
	if (r->nprobes) {
		struct cim_rec_msg rec = {.depart_ps = x.depart_ps,
					  .arrive_ps = x.arrive_ps,
					  .peer = dst,
					  .kind = kind,
					  .is_send = 1,
					  .micro_batch = m,
					  .step = k,
					  .phase = p->phase,
					  .bytes = bytes,
					  .energy_pj = x.energy_pj};
		probe_msg(r, &rec);
	}
	return 0;
}

static const char *const kind_name[] = {"activations", "a token"};

/* Waits for the pass's input and returns when it arrived. */
static int receive(struct run *r, uint32_t src, uint32_t kind, uint64_t bytes, uint32_t m,
		   uint32_t k, const struct cim_part_pass *p, uint64_t *arrive_out)
{
	struct hdr h;
	MPI_Request req;

	if (!r->nprobes) {
		MPI_Recv(&h, sizeof(h), MPI_BYTE, (int)src, (int)kind, r->comm, MPI_STATUS_IGNORE);
	} else {
		MPI_Irecv(&h, sizeof(h), MPI_BYTE, (int)src, (int)kind, r->comm, &req);
		if (wait_polling(r, &req, true))
			return cim_err_set(r->err,
					   "rank %u: interrupted waiting for %s of step %u from rank %u",
					   r->me->rank, kind_name[kind], k, src);
	}
	if (h.kind != kind || h.micro_batch != m || h.step != k || h.bytes != bytes ||
	    h.seqs != p->seqs)
		return cim_err_set(r->err,
				   "rank %u: expected %s for micro-batch %u, step %u (%" PRIu64
				   " bytes) from rank %u, but got micro-batch %u, step %u (%" PRIu64
				   " bytes): the ranks do not run the same plan",
				   r->me->rank, kind_name[kind], m, k, bytes, src, h.micro_batch,
				   h.step, h.bytes);
	r->st.msgs++;
	if (r->nprobes) {
		struct cim_rec_msg rec = {.depart_ps = h.depart_ps,
					  .arrive_ps = h.arrive_ps,
					  .peer = src,
					  .kind = kind,
					  .micro_batch = m,
					  .step = k,
					  .phase = p->phase,
					  .bytes = bytes};
		probe_msg(r, &rec);
	}
	*arrive_out = h.arrive_ps;
	return 0;
}

/* The KV cache after pass p of micro-batch m: checked against its room. */
static int kv_grow(struct run *r, uint32_t m, const struct cim_part_pass *p, uint32_t k)
{
	uint64_t pos = p->past + p->queries, total = 0;
	const uint64_t window = r->e->model.sliding_window;

	if (window && pos > window)
		pos = window;
	r->kv_pos[m] = pos;
	for (uint32_t i = 0; i < r->plan->micro_batches; i++)
		total += r->kv_pos[i] * cim_part_mb_seqs(r->e, r->plan, r->me->replica, i);
	total *= r->kv_per_pos;
	if (total > r->st.kv_peak)
		r->st.kv_peak = total;
	uint64_t room = r->kv_room;
	if (r->fault_kind && strcmp(r->fault_kind, "kv") == 0 && (long)k >= r->fault_step)
		room = 0; /* a deliberately full memory, for tests */
	if (total > room)
		return cim_err_set(r->err,
				   "rank %u: KV-cache overflow at step %u (micro-batch %u, context "
				   "%" PRIu64 "): it needs %" PRIu64
				   " bytes but has room for %" PRIu64,
				   r->me->rank, k, m, pos, total, room);
	return 0;
}

/* The samples of a pass on the last stage's member 0: first and last
 * token times of its sequences. */
static void record_tokens(struct run *r, uint32_t m, const struct cim_part_pass *p, uint64_t t,
			  struct cim_exec_seq *seqs)
{
	uint32_t first = cim_exec_first_seq(r->e, r->plan, r->me->replica, m);

	if (!p->sample || r->me->stage + 1 != r->plan->pp || r->me->tp_index != 0)
		return;
	for (uint32_t i = 0; i < p->seqs; i++) {
		if (p->phase == CIM_PHASE_PREFILL)
			seqs[first + i].first_ps = t;
		seqs[first + i].last_ps = t;
	}
}

/* One pass of micro-batch m at step k. */
static int run_pass(struct run *r, uint32_t m, uint32_t k, uint32_t npasses,
		    struct cim_exec_seq *seqs_out)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const uint32_t tp = plan->tp, base = me->replica * plan->pp * tp;
	const uint32_t seqs = cim_part_mb_seqs(r->e, plan, me->replica, m);
	struct cim_part_pass p;
	uint64_t t = 0;

	cim_part_pass_at(r->e, seqs, k, &p);
	if (me->stage > 0) {
		if (receive(r, me->rank - tp, CIM_MSG_ACT, cim_part_act_bytes(r->e, &p), m, k, &p,
			    &t) < 0)
			return -1;
	} else if (p.phase == CIM_PHASE_DECODE) {
		uint32_t last = base + (plan->pp - 1) * tp + me->tp_index;
		struct cim_part_pass prev;
		cim_part_pass_at(r->e, seqs, k - 1, &prev);
		if (receive(r, last, CIM_MSG_TOKEN, cim_part_token_bytes(&prev), m, k - 1, &p, &t) <
		    0)
			return -1;
	}
	/* Passes arrive in program order: nothing later starts before t. */
	for (uint32_t i = 0; i < r->nres; i++)
		cal_prune(&r->cal[i], t);
	cal_prune(&r->any, t);

	size_t n = cim_part_program(r->e, plan, me, &p, r->ops, r->capops);
	if (n > r->capops) {
		free(r->ops);
		r->ops = malloc(n * sizeof(*r->ops));
		if (!r->ops)
			return cim_err_set(r->err,
					   "rank %u: out of memory for a program of %zu "
					   "steps",
					   me->rank, n);
		r->capops = n;
		cim_part_program(r->e, plan, me, &p, r->ops, n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct cim_prog_op *o = &r->ops[i];
		int rc = o->kind == CIM_PROG_COLL ? collective(r, o, t, &p, m, k, &t)
						  : compute(r, o, t, &p, m, k, &t);
		if (rc < 0)
			return -1;
		if (o->kind == CIM_PROG_COMPUTE && strcmp(o->name, "kv_append") == 0 &&
		    o->layer == (int32_t)me->first_layer && kv_grow(r, m, &p, k) < 0)
			return -1;
	}
	record_tokens(r, m, &p, t, seqs_out);
	if (me->stage + 1 < plan->pp)
		return send_out(r, me->rank + tp, CIM_MSG_ACT, cim_part_act_bytes(r->e, &p), t, &p,
				m, k);
	if (p.sample && k + 1 < npasses)
		return send_out(r, base + me->tp_index, CIM_MSG_TOKEN, cim_part_token_bytes(&p), t,
				&p, m, k);
	return 0;
}

uint32_t cim_exec_first_seq(const struct cim_experiment *e, const struct cim_part_plan *plan,
			    uint32_t q, uint32_t m)
{
	uint32_t first = 0;

	for (uint32_t i = 0; i < q; i++)
		for (uint32_t j = 0; j < plan->micro_batches; j++)
			first += cim_part_mb_seqs(e, plan, i, j);
	for (uint32_t j = 0; j < m; j++)
		first += cim_part_mb_seqs(e, plan, q, j);
	return first;
}

static int setup(struct run *r)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const struct cim_experiment *e = r->e;
	struct cim_chip_capacity cap;

	r->nres = cim_part_nres(me);
	r->cal = calloc(r->nres, sizeof(*r->cal));
	r->group = calloc(plan->tp, sizeof(*r->group));
	r->ready = calloc(plan->tp, sizeof(*r->ready));
	r->finish = calloc(plan->tp, sizeof(*r->finish));
	r->kv_pos = calloc(plan->micro_batches, sizeof(*r->kv_pos));
	r->memo = calloc(MEMO_SLOTS, sizeof(*r->memo));
	r->memo_times = calloc((size_t)MEMO_SLOTS * 2 * plan->tp, sizeof(*r->memo_times));
	if (!r->cal || !r->group || !r->ready || !r->finish || !r->kv_pos || !r->memo ||
	    !r->memo_times)
		return cim_err_set(r->err, "rank %u: out of memory", me->rank);
	for (uint32_t i = 0; i < plan->tp; i++)
		r->group[i] = me->rank - me->tp_index + i;
	/* The KV cache may take its memory less what else the plan put there. */
	cim_chip_capacity(&e->chip, &cap);
	uint64_t have = me->kv_where == CIM_KV_ENGINE ? cap.engine_bytes
			: me->kv_where == CIM_KV_DRAM ? cap.dram_bytes
						      : cap.buffer_bytes;
	uint64_t used = me->kv_where == CIM_KV_ENGINE ? me->engine_bytes
			: me->kv_where == CIM_KV_DRAM ? me->dram_bytes
						      : me->buffer_bytes;
	r->kv_room = have - (used - me->kv_bytes);
	r->kv_per_pos =
	    (2ull * me->kv_heads * e->model.head_dim * me->nlayers * e->workload.kv_bits + 7) / 8;
	/* CIMSIM_FAULT=KIND:RANK:STEP makes one rank fail on purpose (KIND kv
	 * or msg), so tests can check that a mid-run error ends every rank. */
	const char *f = getenv("CIMSIM_FAULT");
	static char kind[8];
	unsigned fr, fs;
	if (f && sscanf(f, "%7[a-z]:%u:%u", kind, &fr, &fs) == 3 && fr == me->rank) {
		r->fault_kind = kind;
		r->fault_step = (long)fs;
	} else {
		r->fault_step = -1;
	}
	MPI_Comm_split(r->comm, (int)(me->rank / plan->tp), (int)me->tp_index, &r->tp_comm);
	/* Members of a group must all call MPI_Allgather or all MPI_Iallgather
	 * (the waits of probed ranks poll): every rank learns whether any has
	 * probes (--trace-ranks may trace only some). */
	int mine = r->nprobes > 0;
	MPI_Allreduce(&mine, &r->traced, 1, MPI_INT, MPI_MAX, r->comm);
	return 0;
}

static void teardown(struct run *r)
{
	if (r->stopped) {
		/* The job is about to be aborted, and a peer that stopped
		 * first may never take these sends nor finish the collective:
		 * leave their buffers and the TP communicator to MPI. */
		reap_sends(r, false);
		if (r->nsends)
			r->sends = NULL;
		r->ready = NULL;
		r->tp_comm = MPI_COMM_NULL;
	} else {
		reap_sends(r, true);
	}
	for (uint32_t i = 0; r->cal && i < r->nres; i++)
		cal_free(&r->cal[i]);
	cal_free(&r->any);
	free(r->cal);
	free(r->sends);
	free(r->ops);
	free(r->group);
	free(r->ready);
	free(r->finish);
	free(r->kv_pos);
	free(r->memo);
	free(r->memo_times);
	if (r->tp_comm != MPI_COMM_NULL)
		MPI_Comm_free(&r->tp_comm);
}

int cim_exec_run(const struct cim_experiment *e, const struct cim_part_plan *plan,
		 const struct cim_net *net, MPI_Comm comm, const struct cim_exec_probe *probes,
		 size_t nprobes, struct cim_exec_stats *stats_out, struct cim_exec_seq *seqs_out,
		 struct cim_err *err)
{
	int rank, size, rc = -1;
	struct run r = {.e = e,
			.plan = plan,
			.net = net,
			.comm = comm,
			.tp_comm = MPI_COMM_NULL,
			.probes = probes,
			.nprobes = nprobes,
			.err = err};

	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	if ((uint32_t)size != plan->chips)
		return cim_err_set(err, "this plan needs %u ranks, not %d", plan->chips, size);
	r.me = &plan->ranks[rank];
	r.st.rank = r.me->rank;
	r.st.replica = r.me->replica;
	r.st.stage = r.me->stage;
	r.st.tp_index = r.me->tp_index;
	r.st.xbar_groups = r.me->nlayers + (r.me->head ? 1 : 0);
	if (setup(&r) < 0)
		goto out;

	const uint32_t P = cim_part_npasses(e);
	for (uint32_t k = 0; k < P; k++) {
		for (uint32_t m = 0; m < plan->micro_batches; m++) {
			if (run_pass(&r, m, k, P, seqs_out) < 0)
				goto out;
		}
		if (probe_poll(&r)) {
			r.stopped = true;
			cim_err_set(err, "rank %u: interrupted at step %u", r.me->rank, k);
			goto out;
		}
	}
	r.st.active_ps = cal_total(&r.any);
	*stats_out = r.st;
	rc = 0;
out:
	teardown(&r);
	return rc;
}
