/*
 * exec.c — the executor's run loop and its messages.
 *
 * A resource (a layer's crossbars, the digital unit, the KV memory) keeps a
 * calendar of the intervals it is busy (calendar.h).  Passes are taken in program order
 * and each step is placed at the earliest time, at or after the step before
 * it, when all its resources are free for its whole length: a later
 * micro-batch may use a gap an earlier one left (the digital unit between
 * two of its norms), so layers work on different micro-batches at once.
 * Placement depends only on program order and virtual times, never on
 * message timing.  The link port serves sends in program order.  Every
 * event is a record handed to the probes, statistics first (stats.c); the
 * run itself keeps no totals.  See docs/results.md, "How a run proceeds".
 *
 * Invariants: a step starts no earlier than its input (the pass's arrival
 * and the step before it) and ends after it starts; a resource serves one
 * step at a time (the calendar was free for the step's whole length).
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_int.h"

/* ----------------------------------------------------------------- a run */

void exec_probe_pass(struct run *r, const struct cim_rec_pass *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].pass)
			r->probes[i].pass(r->probes[i].ctx, rec);
}

static void probe_op(struct run *r, const struct cim_rec_op *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].op)
			r->probes[i].op(r->probes[i].ctx, rec);
}

void exec_probe_msg(struct run *r, const struct cim_rec_msg *rec)
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

void exec_probe_sched(struct run *r, const struct cim_rec_sched *rec)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].sched)
			r->probes[i].sched(r->probes[i].ctx, rec);
}

/* Lets the probes make progress; true when the run is asked to stop: a
 * signal, another rank's failure, or (looked at every 4096 polls) the
 * mpirun or daemon that started this rank gone. */
bool exec_poll_stop(struct run *r)
{
	struct run *L = r->lead; /* the rank's stop state */
	int done = 0;

	for (size_t i = 0; i < r->nprobes; i++)
		if (r->probes[i].poll)
			r->probes[i].poll(r->probes[i].ctx);
	if (r->opts->stop && *r->opts->stop) {
		L->end = CIM_EXEC_END_SIGNAL;
		return true;
	}
	if (L->stop_comm == MPI_COMM_NULL)
		return false;
	MPI_Test(&L->stop_req, &done, MPI_STATUS_IGNORE);
	if (done) {
		L->end = CIM_EXEC_END_PEER;
		return true;
	}
	if (++L->polls % 4096 == 0 && (long)getppid() != L->parent) {
		L->end = CIM_EXEC_END_ORPHAN;
		return true;
	}
	return false;
}

/* A rank that failed on its own, or got a signal, tells every other,
 * without waiting: the job is ending, and a rank that stopped may never take
 * the word. */
static void tell_peers(struct run *r)
{
	static int me;
	int size;

	if (r->stop_comm == MPI_COMM_NULL)
		return;
	MPI_Comm_size(r->stop_comm, &size);
	MPI_Comm_rank(r->stop_comm, &me);
	for (int i = 0; i < size; i++) {
		MPI_Request q;
		if (i == me)
			continue;
		MPI_Isend(&me, 1, MPI_INT, i, 0, r->stop_comm, &q);
		MPI_Request_free(&q);
	}
}

/* Completes reqs[0..n) of an interruptible run as exec_wait_polling does
 * one request; when stopped, the requests are left to MPI. */
int exec_wait_all_polling(struct run *r, MPI_Request *reqs, uint32_t n)
{
	int done = 0;

	for (;;) {
		MPI_Testall((int)n, reqs, &done, MPI_STATUSES_IGNORE);
		if (done)
			return 0;
		if (exec_poll_stop(r))
			break;
	}
	r->stopped = true; /* MPI keeps the requests until the job ends */
	return 1;
}

/*
 * Completes req of an interruptible run, polling as it waits; returns 0,
 * or 1 when the run was asked to stop first.  A signal stops each rank at
 * its next poll, and a rank waiting for a peer that has already stopped (an
 * earlier stage running ahead waits for a token that will never come) must
 * stop too, not wait until it is killed with its trace unsaved.  A stopped
 * receive (cancel) is cancelled; a stopped collective stays with MPI until
 * the job is aborted (r->stopped: teardown leaves its buffers).
 */
int exec_wait_polling(struct run *r, MPI_Request *req, bool cancel)
{
	int done = 0;

	for (;;) {
		MPI_Test(req, &done, MPI_STATUS_IGNORE);
		if (done)
			return 0;
		if (exec_poll_stop(r))
			break;
	}
	if (cancel) {
		MPI_Cancel(req);
		MPI_Wait(req, MPI_STATUS_IGNORE);
	}
	r->stopped = true;
	return 1;
}

/* The KV cache after pass p of micro-batch m: checked against its room. */
static int kv_grow(struct run *r, uint32_t m, const struct cim_part_pass *p, uint32_t k)
{
	uint64_t pos = p->past + p->queries, total = 0;

	/* Each layer holds at most its window's positions (docs/model.md). */
	r->kv_pos[m] =
	    cim_model_kv_positions(&r->e->model, r->me->first_layer, r->me->nlayers, pos);
	for (uint32_t i = 0; i < r->plan->micro_batches; i++)
		total += r->kv_pos[i] * cim_part_mb_seqs(r->e, r->plan, r->me->replica, i);
	total = cim_part_kv_bytes(r->e, r->me, total);
	r->kv_held = total;
	uint64_t room = r->kv_room;
	if (r->fault.kind == CIM_FAULT_KV && k >= r->fault.step)
		room = 0; /* a deliberately full memory, for tests */
	if (total > room)
		return cim_err_set(r->err,
				   "rank %u: KV-cache overflow at step %u (micro-batch %u, context "
				   "%" PRIu64 "): it needs %" PRIu64
				   " bytes but has room for %" PRIu64,
				   r->me->rank, k, m, pos, total, room);
	return 0;
}

/* Micro-batch m's sequences are done: their caches are freed. */
static void kv_free(struct run *r, uint32_t m)
{
	uint64_t total = 0;

	r->kv_pos[m] = 0;
	for (uint32_t i = 0; i < r->plan->micro_batches; i++)
		total += r->kv_pos[i] * cim_part_mb_seqs(r->e, r->plan, r->me->replica, i);
	r->kv_held = cim_part_kv_bytes(r->e, r->me, total);
}

/* A step that would end past CIM_PS_LIMIT: a rate too small to model. */
static int time_overflow(struct run *r, const char *what, uint64_t ps, uint32_t k)
{
	return cim_err_set(r->err,
			   "rank %u: simulated time passes 2^62 ps (53 days) at step %u, in %s "
			   "(%.3g s): a rate of the chip or the interconnect is too small to "
			   "model; check its units",
			   r->me->rank, k, what, (double)ps * 1e-12);
}

/* One compute step at or after t; returns its end.  The cache grows with
 * the first layer's KV append (every layer appends alike). */
static int compute(struct run *r, const struct cim_prog_op *o, uint64_t t,
		   const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out)
{
	struct cim_exec_cal *a = &r->cal[o->res];
	struct cim_exec_cal *b = o->res2 != UINT32_MAX ? &r->cal[o->res2] : NULL;
	/* A second resource is held in slices for ps2 of the ps (attention:
	 * the lanes or the memory port, whichever is not the bottleneck). */
	assert(!b || (o->slices >= 1 && o->ps2 <= o->ps));
	if (o->ps >= CIM_PS_LIMIT || t >= CIM_PS_LIMIT - o->ps)
		return time_overflow(r, cim_op_role_name(o->role), o->ps, k);
	uint64_t start = b ? cim_exec_cal_fit_sliced(a, b, t, o->ps, o->ps2, o->slices)
			   : cim_exec_cal_fit(a, t, o->ps);
	uint64_t end = start + o->ps;
	int rc = 0;

	if (start >= CIM_PS_LIMIT - o->ps)
		return time_overflow(r, cim_op_role_name(o->role), o->ps, k);

	assert(start >= t && end >= start);
	if (cim_exec_cal_add(a, start, end) < 0 ||
	    (b && cim_exec_cal_add_sliced(b, start, o->ps, o->ps2, o->slices) < 0))
		return cim_err_set(r->err, "rank %u: out of memory for resource calendars",
				   r->me->rank);
	if (o->role == CIM_ROLE_KV_APPEND && o->layer == (int32_t)r->me->first_layer)
		rc = kv_grow(r, m, p, k);
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
		.macs = o->macs,
		.kv_bytes = r->kv_held,
		.busy2_ps = b ? o->ps2 : 0,
	};
	const char *name = cim_op_role_name(o->role); /* at most 15 characters */
	memcpy(rec.name, name, strnlen(name, sizeof(rec.name) - 1));
	memcpy(rec.energy_pj, o->energy.pj, sizeof(rec.energy_pj));
	probe_op(r, &rec);
	*end_out = end;
	return rc;
}

/*
 * Replays already made by this group.  A replay only adds durations to the
 * members' ready times and takes maxima, so it depends on the ready times'
 * offsets from the earliest one, not on where they sit: a replay with the
 * same collective, size and offsets is the earlier result shifted.  Every
 * layer repeats the same few, and replaying them dominated large runs.
 * Since micro-batches overlap on a layer's matrices, the members' offsets
 * take many more patterns: 64 slots held too few of them (the 70B/64
 * reference took 47 s of simulation instead of 22), 4096 hold them (11 s);
 * a slot is 3 · tp times, 1.5 MiB a rank at tp 8.
 */
#define MEMO_SLOTS 4096

struct memo {
	bool used;
	uint32_t coll, algo;
	uint64_t bytes;
	struct cim_net_coll_result res;
};

static size_t memo_slot(uint32_t coll, uint64_t bytes, const uint64_t *rel, uint32_t n)
{
	uint64_t h = 1469598103934665603ull ^ coll; /* FNV-1a over the key */

	h = (h ^ bytes) * 1099511628211ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ rel[i]) * 1099511628211ull;
	return (size_t)(h % MEMO_SLOTS);
}

/* Member i's ports' busy time in a replay: the bytes it put on each link
 * leaving it (link_bytes, from the replay) at that link's bandwidth. */
static uint64_t ports_busy(const struct run *r, const struct xgroup *g, uint32_t i,
			   const uint64_t *link_bytes)
{
	const uint32_t node = cim_net_position(r->net, g->ranks[i]);
	uint64_t ps = 0;
	struct cim_net_link l;

	for (uint32_t id = 0; id < cim_net_nlinks(r->net); id++)
		if (link_bytes[id] && cim_net_link_get(r->net, id, &l) && l.from == node)
			ps += cim_ps_ceil((double)link_bytes[id] * 1e12 / l.bandwidth_bps);
	return ps;
}

/*
 * The group's collectives, compiled once each (cim_net_coll_plan_make):
 * what a flow costs does not depend on the ready times, so a replay that
 * misses the memo only carries its ready times through the compiled steps.
 * Keyed by collective and size, CPLAN_SLOTS of them (a served load's passes
 * take many sizes; a slot taken by another is recompiled); each keeps its
 * members' ports' busy time per algorithm, which does not depend on the
 * ready times either.
 */
#define CPLAN_SLOTS 256

struct cplan {
	bool used;
	uint32_t coll;
	uint64_t bytes;
	struct cim_net_coll_plan *pl;
	bool has_busy[CIM_NET_NALGO];
	uint64_t *busy; /* [CIM_NET_NALGO · n] */
};

static void cplan_clear(struct cplan *c)
{
	cim_net_coll_plan_free(c->pl);
	free(c->busy);
	*c = (struct cplan){ 0 };
}

static int cplan_get(struct run *r, struct xgroup *g, const struct cim_net_coll_req *req,
		     struct cplan **out)
{
	uint64_t h = (1469598103934665603ull ^ req->coll) * 1099511628211ull;
	struct cplan *c = &g->cplans[((h ^ req->bytes) * 1099511628211ull) % CPLAN_SLOTS];

	if (!(c->used && c->coll == (uint32_t)req->coll && c->bytes == req->bytes)) {
		cplan_clear(c);
		c->busy = malloc(CIM_NET_NALGO * g->n * sizeof(*c->busy));
		if (!c->busy)
			return cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
		if (cim_net_coll_plan_make(r->net, req, g->ranks, g->n, &c->pl, r->err) < 0) {
			cplan_clear(c);
			return -1;
		}
		c->used = true;
		c->coll = req->coll;
		c->bytes = req->bytes;
	}
	*out = c;
	return 0;
}

/* Group g's replay of req from g->ready into g->finish (and each
 * member's ports' busy time into *busy_out), reused when it was made
 * before. */
static int replay(struct run *r, struct xgroup *g, const struct cim_net_coll_req *req,
		  const struct cim_net_coll_result **res_out, const uint64_t **busy_out)
{
	const uint32_t n = g->n;
	uint64_t base = UINT64_MAX;

	if (req->chunks) {
		/* An uneven all-to-all (the experts' routed tokens): its chunks
		 * change with every layer and pass, so it is replayed as it
		 * comes, neither compiled nor remembered. */
		/* Every TP index's expert group reaches its all-to-all of this
		 * layer together (the attention's all-reduce left a replica's
		 * members ready alike, and the router takes each as long), and
		 * they share links: replayed together, each taken as ready as
		 * this one and moving this one's chunks (every group's are the
		 * same under replicas; under expert-replicas an approximation),
		 * this group's finish and share of the traffic kept. */
		const uint32_t tp = r->plan->tp, all = tp * n, me = r->me->tp_index;
		struct cim_net_coll_req joint = *req;
		joint.group_size = n;
		for (uint32_t j = 0; j < tp; j++)
			for (uint32_t q = 0; q < n; q++)
				g->all_ready[j * n + q] = g->ready[q];
		memset(g->link_bytes, 0, cim_net_nlinks(r->net) * sizeof(*g->link_bytes));
		if (cim_net_collective(r->net, &joint, g->all_ranks, g->all_ready, all, g->all_fin,
				       g->link_bytes, &g->a2a_res, r->err) < 0)
			return -1;
		for (uint32_t q = 0; q < n; q++)
			g->finish[q] = g->all_fin[me * n + q];
		g->a2a_res.bytes /= tp;
		g->a2a_res.link_bytes /= tp;
		g->a2a_res.energy_pj /= tp;
		for (uint32_t i = 0; i < n; i++)
			g->a2a_busy[i] = ports_busy(r, g, i, g->link_bytes);
		*res_out = &g->a2a_res;
		*busy_out = g->a2a_busy;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		base = g->ready[i] < base ? g->ready[i] : base;
	for (uint32_t i = 0; i < n; i++)
		g->ready[i] -= base;
	size_t slot = memo_slot(req->coll, req->bytes, g->ready, n);
	struct memo *m = &g->memo[slot];
	uint64_t *rel = g->memo_times + slot * 3 * n, *fin = rel + n, *busy = fin + n;
	if (!(m->used && m->coll == (uint32_t)req->coll && m->bytes == req->bytes &&
	      memcmp(rel, g->ready, n * sizeof(*rel)) == 0)) {
		struct cim_net_coll_result res;
		const uint64_t *lb;
		struct cplan *c = NULL;
		if (cplan_get(r, g, req, &c) < 0)
			return -1;
		const unsigned a = (unsigned)cim_net_coll_plan_run(c->pl, g->ready, fin, &res, &lb);
		memcpy(rel, g->ready, n * sizeof(*rel));
		if (!c->has_busy[a]) {
			for (uint32_t i = 0; i < n; i++)
				c->busy[a * n + i] = ports_busy(r, g, i, lb);
			c->has_busy[a] = true;
		}
		memcpy(busy, c->busy + a * n, n * sizeof(*busy));
		*m = (struct memo){
			.used = true, .coll = req->coll, .bytes = req->bytes, .res = res
		};
	}
	for (uint32_t i = 0; i < n; i++)
		g->finish[i] = fin[i] + base;
	*res_out = &m->res;
	*busy_out = busy;
	return 0;
}

/* Member i's share of a group's total n over p members: the remainder goes
 * to the first members, so the shares add up to n exactly. */
static uint64_t share(uint64_t n, uint32_t p, uint32_t i)
{
	return n / p + (i < n % p ? 1 : 0);
}

/* What the leader tells member i of a replayed collective. */
enum { R_FINISH, R_BUSY, R_ALGO, R_BYTES, R_LINK_BYTES, R_ENERGY, EXEC_REPLY };

static void reply_fill(uint64_t *out, uint64_t finish, uint64_t busy,
		       const struct cim_net_coll_result *res)
{
	out[R_FINISH] = finish;
	out[R_BUSY] = busy;
	out[R_ALGO] = (uint64_t)res->algo;
	out[R_BYTES] = res->bytes;
	out[R_LINK_BYTES] = res->link_bytes;
	memcpy(&out[R_ENERGY], &res->energy_pj, sizeof(double));
}

/*
 * One collective of group g (the TP group, or the expert group across the
 * replicas).  Its member 0 gathers the ready times, replays the collective
 * once and tells each member what it needs: two messages a member, where
 * an exchange of every member's ready time with every other costs
 * 2(p − 1), and one replay a group instead of one a member (two members
 * exchange theirs and both replay: one round).  The replay is the same
 * deterministic function of the same ready times as each member's own was,
 * so the results are the same bit for bit (docs/performance.md).  Without
 * interruptible waits, an all-gather and a replay on every member.
 */
static int exchange(struct run *r, struct xgroup *g, uint64_t t, const struct cim_net_coll_req *req,
		    uint32_t k, uint64_t reply[EXEC_REPLY])
{
	const uint32_t n = g->n, me = g->me;
	const struct cim_net_coll_result *res;
	const uint64_t *busy;
	uint32_t nreq = 0;

	if (!r->opts->interruptible) {
		MPI_Allgather(&t, 1, MPI_UINT64_T, g->ready, 1, MPI_UINT64_T, g->comm);
		if (replay(r, g, req, &res, &busy) < 0)
			return -1;
		reply_fill(reply, g->finish[me], busy[me], res);
		return 0;
	}
	g->my_ready = t;
	if (n == 2) {
		/* Two members: one message each way in one round, and each
		 * replays, costs less than a round trip through the leader. */
		g->ready[me] = t;
		MPI_Irecv(&g->ready[1 - me], 1, MPI_UINT64_T, (int)(1 - me), 1, g->comm,
			  &g->xreq[nreq++]);
		MPI_Isend(&g->my_ready, 1, MPI_UINT64_T, (int)(1 - me), 1, g->comm,
			  &g->xreq[nreq++]);
		if (exec_wait_all_polling(r, g->xreq, nreq))
			goto interrupted;
		if (replay(r, g, req, &res, &busy) < 0)
			return -1;
		reply_fill(reply, g->finish[me], busy[me], res);
		return 0;
	}
	/* buffers MPI may still write after an interruption live in g */
	uint64_t *mine = g->reply + (size_t)me * EXEC_REPLY;
	if (me != 0) {
		MPI_Isend(&g->my_ready, 1, MPI_UINT64_T, 0, 1, g->comm, &g->xreq[nreq++]);
		MPI_Irecv(mine, EXEC_REPLY, MPI_UINT64_T, 0, 2, g->comm, &g->xreq[nreq++]);
	} else {
		g->ready[0] = t;
		for (uint32_t j = 1; j < n; j++)
			MPI_Irecv(&g->ready[j], 1, MPI_UINT64_T, (int)j, 1, g->comm,
				  &g->xreq[nreq++]);
	}
	if (exec_wait_all_polling(r, g->xreq, nreq))
		goto interrupted;
	if (me != 0) {
		memcpy(reply, mine, EXEC_REPLY * sizeof(*reply));
		return 0;
	}
	if (replay(r, g, req, &res, &busy) < 0)
		return -1;
	nreq = 0;
	for (uint32_t j = 0; j < n; j++) {
		reply_fill(g->reply + (size_t)j * EXEC_REPLY, g->finish[j], busy[j], res);
		if (j > 0)
			MPI_Isend(g->reply + (size_t)j * EXEC_REPLY, EXEC_REPLY, MPI_UINT64_T,
				  (int)j, 2, g->comm, &g->xreq[nreq++]);
	}
	memcpy(reply, g->reply, EXEC_REPLY * sizeof(*reply));
	if (exec_wait_all_polling(r, g->xreq, nreq))
		goto interrupted;
	return 0;
interrupted:
	return cim_err_set(r->err, "rank %u: interrupted at step %u in a collective", r->me->rank,
			   k);
}

static void coll_record(struct run *r, const struct xgroup *g, uint32_t i,
			const struct cim_prog_op *o, uint64_t t, const uint64_t reply[EXEC_REPLY],
			const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out);

static int collective(struct run *r, const struct cim_prog_op *o, uint64_t t,
		      const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out)
{
	struct xgroup *g = o->group == CIM_GROUP_EP ? &r->ep : &r->tp;
	struct cim_net_coll_req req = { .coll = o->coll,
					.algo = CIM_NET_ALGO_AUTO,
					.bytes = o->bytes };
	uint64_t reply[EXEC_REPLY];

	assert(g->comm != MPI_COMM_NULL);
	if (o->group == CIM_GROUP_EP) {
		/* the chunks of the experts' dispatch or combine, from the
		 * replicas' routings */
		cim_part_dispatch_chunks(r->e, r->plan, r->me, (uint32_t)o->layer, p,
					 o->role == CIM_ROLE_EXPERT_COMBINE, g->chunks);
		req.chunks = g->chunks;
	}
	if (exchange(r, g, t, &req, k, reply) < 0)
		return -1;
	coll_record(r, g, g->me, o, t, reply, p, m, k, end_out);
	return 0;
}

/* What member i of group g learnt of the collective o it was ready for at
 * t (reply): its end, and the record its probes see. */
static void coll_record(struct run *r, const struct xgroup *g, uint32_t i,
			const struct cim_prog_op *o, uint64_t t, const uint64_t reply[EXEC_REPLY],
			const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t *end_out)
{
	double energy;

	memcpy(&energy, &reply[R_ENERGY], sizeof(energy));
	uint64_t end = reply[R_FINISH];
	assert(end >= t);
	struct cim_rec_coll rec = {
		.ready_ps = t,
		.finish_ps = end,
		.coll = o->coll,
		.algo = (uint32_t)reply[R_ALGO],
		.group = g->ranks[0],
		.group_size = g->n,
		.layer = o->layer,
		.micro_batch = m,
		.step = k,
		.phase = p->phase,
		.bytes = o->bytes,
		.sent_bytes = share(reply[R_BYTES], g->n, i),
		.link_bytes = share(reply[R_LINK_BYTES], g->n, i),
		.energy_pj = energy / g->n,
		.ports_busy_ps = reply[R_BUSY],
	};
	probe_coll(r, &rec);
	*end_out = end;
}

static void reap_sends(struct run *r, bool all)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->nsends; i++) {
		struct send *s = &r->sends[i];
		int done = 0, body_done = 1;
		if (all) {
			MPI_Wait(&s->req, MPI_STATUS_IGNORE);
			MPI_Wait(&s->body_req, MPI_STATUS_IGNORE);
		} else {
			MPI_Test(&s->req, &done, MPI_STATUS_IGNORE);
			MPI_Test(&s->body_req, &body_done, MPI_STATUS_IGNORE);
		}
		if (!all && !(done && body_done)) {
			r->sends[kept++] = *s;
			continue;
		}
		free(s->body);
	}
	r->nsends = all ? 0 : kept;
}

int exec_send_room(struct run *r)
{
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
	return 0;
}

/* Sends the pass's output (activations or a token) from t. */
static int send_out(struct run *r, uint32_t dst, uint32_t kind, uint64_t bytes, uint64_t t,
		    const struct cim_part_pass *p, uint32_t m, uint32_t k)
{
	return exec_send(r, dst, kind, bytes, t, p, m, k, NULL, NULL, 0);
}

int exec_send(struct run *r, uint32_t dst, uint32_t kind, uint64_t bytes, uint64_t t,
	      const struct cim_part_pass *p, uint32_t m, uint32_t k, const struct hdr *extra,
	      const void *body, size_t body_len)
{
	struct cim_net_xfer x;

	if (exec_send_room(r) < 0)
		return -1;
	const uint32_t port = cim_net_port(r->net, r->me->rank, dst);
	cim_net_p2p(r->net, r->me->rank, dst, bytes, t,
		    port == CIM_NET_NO_PORT ? 0 : r->port_free[port], &x);
	assert(x.port == port);
	if (x.arrive_ps >= CIM_PS_LIMIT || x.port_free_ps >= CIM_PS_LIMIT)
		return time_overflow(r, "a transfer", x.arrive_ps - (t < x.arrive_ps ? t : 0), k);
	if (port != CIM_NET_NO_PORT)
		r->port_free[port] = x.port_free_ps;
	struct send *s = &r->sends[r->nsends++];
	if (extra)
		s->h = *extra;
	else
		memset(&s->h, 0, sizeof(s->h));
	s->h.depart_ps = x.depart_ps;
	s->h.arrive_ps = x.arrive_ps;
	s->h.bytes = bytes;
	s->h.kind = kind;
	s->h.micro_batch = m;
	s->h.step = k;
	s->h.seqs = p->seqs;
	if (r->fault.kind == CIM_FAULT_MSG && k == r->fault.step)
		s->h.step += 1; /* a deliberately wrong message, for tests */
	MPI_Isend(&s->h, sizeof(s->h), MPI_BYTE, exec_peer_proc(r, dst),
		  exec_chip_tag(r, kind, dst), r->comm, &s->req);
	s->body = NULL;
	s->body_req = MPI_REQUEST_NULL;
	if (body_len) {
		/* A served pass's entries follow its header, as a second message
		 * MPI keeps in order behind it. */
		s->body = malloc(body_len);
		if (!s->body)
			return cim_err_set(r->err, "rank %u: out of memory for a message",
					   r->me->rank);
		memcpy(s->body, body, body_len);
		MPI_Isend(s->body, (int)body_len, MPI_BYTE, exec_peer_proc(r, dst),
			  exec_chip_tag(r, kind + EXEC_BODY_TAG, dst), r->comm, &s->body_req);
	}
	struct cim_rec_msg rec = {
		.depart_ps = x.depart_ps,
		.arrive_ps = x.arrive_ps,
		.peer = dst,
		.kind = kind,
		.is_send = 1,
		.micro_batch = m,
		.step = k,
		.phase = p->phase,
		.bytes = bytes,
		.hops = x.hops,
		/* A token sent to this chip itself (pp = 1) crosses no link. */
		.port_busy_ps = x.hops ? x.port_free_ps - x.depart_ps : 0,
		.energy_pj = x.energy_pj,
	};
	exec_probe_msg(r, &rec);
	return 0;
}

static const char *const kind_name[] = { "activations", "a token" };

/* Waits for the pass's input and returns when it arrived. */
static int receive(struct run *r, uint32_t src, uint32_t kind, uint64_t bytes, uint32_t m,
		   uint32_t k, const struct cim_part_pass *p, uint64_t *arrive_out)
{
	struct hdr h;
	MPI_Request req;

	const int from = exec_peer_proc(r, src), tag = exec_chip_tag(r, kind, r->me->rank);
	if (!r->opts->interruptible) {
		MPI_Recv(&h, sizeof(h), MPI_BYTE, from, tag, r->comm, MPI_STATUS_IGNORE);
	} else {
		MPI_Irecv(&h, sizeof(h), MPI_BYTE, from, tag, r->comm, &req);
		if (exec_wait_polling(r, &req, true))
			return cim_err_set(
			    r->err, "rank %u: interrupted waiting for %s of step %u from rank %u",
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
	struct cim_rec_msg rec = {
		.depart_ps = h.depart_ps,
		.arrive_ps = h.arrive_ps,
		.peer = src,
		.kind = kind,
		.micro_batch = m,
		.step = k,
		.phase = p->phase,
		.bytes = bytes,
	};
	exec_probe_msg(r, &rec);
	*arrive_out = h.arrive_ps;
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

/* Pass k of micro-batch m begins: its shape (*p), its input's arrival
 * (*t) and the horizon. */
static int pass_in(struct run *r, uint32_t m, uint32_t k, struct cim_part_pass *p, uint64_t *t,
		   uint64_t *horizon_out)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const uint32_t seqs = cim_part_mb_seqs(r->e, plan, me->replica, m);

	*t = 0;
	cim_part_pass_at(r->e, seqs, k, p);
	if (me->prev_rank != CIM_PART_NO_RANK) {
		if (receive(r, me->prev_rank, CIM_MSG_ACT, cim_part_act_bytes(r->e, p), m, k, p,
			    t) < 0)
			return -1;
	} else if (p->phase == CIM_PHASE_DECODE) {
		struct cim_part_pass prev;
		cim_part_pass_at(r->e, seqs, k - 1, &prev);
		if (receive(r, me->token_peer, CIM_MSG_TOKEN, cim_part_token_bytes(&prev), m, k - 1,
			    p, t) < 0)
			return -1;
	}
	/* A micro-batch's inputs arrive in order (each pass needs the one
	 * before it), but another micro-batch's next input may arrive earlier
	 * than this one: no later step starts before the earliest of the
	 * micro-batches' latest arrivals, the horizon. */
	r->arrived[m] = *t;
	uint64_t horizon = *t;
	for (uint32_t i = 0; i < plan->micro_batches; i++)
		horizon = r->arrived[i] < horizon ? r->arrived[i] : horizon;
	*horizon_out = horizon;
	return 0;
}

/* Pass k of micro-batch m ended at t: its tokens, and its output sent. */
static int pass_out(struct run *r, uint32_t m, uint32_t k, uint32_t npasses,
		    const struct cim_part_pass *p, uint64_t t, struct cim_exec_seq *seqs_out)
{
	const struct cim_part_rank *me = r->me;

	record_tokens(r, m, p, t, seqs_out);
	if (k + 1 == npasses)
		kv_free(r, m); /* its sequences are done */
	if (me->next_rank != CIM_PART_NO_RANK)
		return send_out(r, me->next_rank, CIM_MSG_ACT, cim_part_act_bytes(r->e, p), t, p, m,
				k);
	if (p->sample && k + 1 < npasses)
		return send_out(r, me->token_peer, CIM_MSG_TOKEN, cim_part_token_bytes(p), t, p, m,
				k);
	return 0;
}

/* One pass of micro-batch m at step k. */
static int run_pass(struct run *r, uint32_t m, uint32_t k, uint32_t npasses,
		    struct cim_exec_seq *seqs_out)
{
	struct cim_part_pass p;
	uint64_t t, horizon;

	if (pass_in(r, m, k, &p, &t, &horizon) < 0 || exec_program(r, &p, m, k, t, horizon, &t) < 0)
		return -1;
	return pass_out(r, m, k, npasses, &p, t, seqs_out);
}

/* A pass's program begins on r: calendars pruned at the horizon, the
 * probes told, its *n_out steps in r->ops. */
static int program_begin(struct run *r, const struct cim_part_pass *pp, uint32_t m, uint32_t k,
			 uint64_t t, uint64_t horizon, size_t *n_out)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const struct cim_part_pass p = *pp;

	assert(horizon >= r->horizon && horizon <= t);
	r->horizon = horizon;
	for (uint32_t i = 0; i < r->nres; i++)
		cim_exec_cal_prune(&r->cal[i], horizon);
	const struct cim_rec_pass pass = {
		.start_ps = t, .horizon_ps = horizon, .micro_batch = m, .step = k, .phase = p.phase
	};
	exec_probe_pass(r, &pass);

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
	*n_out = n;
	return 0;
}

int exec_program(struct run *r, const struct cim_part_pass *pp, uint32_t m, uint32_t k, uint64_t t,
		 uint64_t horizon, uint64_t *end_out)
{
	const struct cim_part_pass p = *pp;
	size_t n;

	if (program_begin(r, &p, m, k, t, horizon, &n) < 0)
		return -1;
	/* Each step starts once the one before it ended, or with it when it
	 * reads the same input (with_prev); the next waits for the group. */
	uint64_t group_ready = t;
	for (size_t i = 0; i < n; i++) {
		const struct cim_prog_op *o = &r->ops[i];
		uint64_t from = o->with_prev ? group_ready : t, end = from;
		int rc = o->kind == CIM_PROG_COLL ? collective(r, o, from, &p, m, k, &end)
						  : compute(r, o, from, &p, m, k, &end);
		if (rc < 0)
			return -1;
		group_ready = from;
		t = o->with_prev && t > end ? t : end;
	}
	if (exec_stats_failed(&r->stats))
		return cim_err_set(r->err, "rank %u: out of memory for statistics", r->me->rank);
	*end_out = t;
	return 0;
}

/*
 * Pass k of micro-batch m on every chip of a rank's TP group (rs[0 … G)),
 * step by step: each member's step i is placed on its own calendars as
 * exec_program places it, and a collective, which every member reaches at
 * the same step, is replayed once from their ready times, as the group's
 * member 0 replays it for the others when each chip is a rank of its own.
 * The same function of the same times: the results are the same bit for
 * bit.  t[j] is member j's input's arrival, then its pass's end.
 */
int exec_program_group(struct run *rs, uint32_t G, const struct cim_part_pass *p, uint32_t m,
		       uint32_t k, uint64_t *t, const uint64_t *horizon)
{
	struct run *L = &rs[0];
	struct xgroup *g = &L->tp;
	uint64_t *ready = L->gbuf, *from = ready + G, *end = from + G;
	size_t n = 0;

	for (uint32_t j = 0; j < G; j++) {
		size_t nj;
		if (program_begin(&rs[j], &p[j], m, k, t[j], horizon[j], &nj) < 0)
			return -1;
		if (j > 0 && nj != n)
			return cim_err_set(L->err,
					   "rank %u: the programs of its TP group's chips differ "
					   "(%zu and %zu steps at pass %u): they cannot run in "
					   "one rank",
					   rs[j].me->rank, n, nj, k);
		n = nj;
		ready[j] = t[j];
	}
	for (size_t i = 0; i < n; i++) {
		const struct cim_prog_op *o0 = &L->ops[i];
		for (uint32_t j = 0; j < G; j++) {
			const struct cim_prog_op *o = &rs[j].ops[i];
			if (o->kind != o0->kind || o->with_prev != o0->with_prev ||
			    (o->kind == CIM_PROG_COLL &&
			     (o->coll != o0->coll || o->bytes != o0->bytes)))
				return cim_err_set(L->err,
						   "rank %u: the programs of its TP group's chips "
						   "differ at step %zu of pass %u: they cannot run "
						   "in one rank",
						   rs[j].me->rank, i, k);
			from[j] = o->with_prev ? ready[j] : t[j];
			end[j] = from[j];
			if (o->kind != CIM_PROG_COLL &&
			    compute(&rs[j], o, from[j], &p[j], m, k, &end[j]) < 0)
				return -1;
		}
		if (o0->kind == CIM_PROG_COLL) {
			const struct cim_net_coll_req req = { .coll = o0->coll,
							      .algo = CIM_NET_ALGO_AUTO,
							      .bytes = o0->bytes };
			const struct cim_net_coll_result *res;
			const uint64_t *busy;
			uint64_t reply[EXEC_REPLY];
			memcpy(g->ready, from, G * sizeof(*from));
			if (replay(L, g, &req, &res, &busy) < 0)
				return -1;
			for (uint32_t j = 0; j < G; j++) {
				reply_fill(reply, g->finish[j], busy[j], res);
				coll_record(&rs[j], g, j, &rs[j].ops[i], from[j], reply, &p[j], m,
					    k, &end[j]);
			}
		}
		for (uint32_t j = 0; j < G; j++) {
			const struct cim_prog_op *o = &rs[j].ops[i];
			ready[j] = from[j];
			t[j] = o->with_prev && t[j] > end[j] ? t[j] : end[j];
		}
	}
	for (uint32_t j = 0; j < G; j++)
		if (exec_stats_failed(&rs[j].stats))
			return cim_err_set(L->err, "rank %u: out of memory for statistics",
					   rs[j].me->rank);
	return 0;
}

/* Pass k of micro-batch m on the G chips of a rank's TP group. */
static int run_pass_group(struct run *rs, uint32_t G, uint32_t m, uint32_t k, uint32_t npasses,
			  struct cim_exec_seq *seqs_out)
{
	struct cim_part_pass *p = rs[0].gpass;
	uint64_t *t = rs[0].gbuf + 3 * (size_t)G, *horizon = t + G;

	for (uint32_t j = 0; j < G; j++)
		if (pass_in(&rs[j], m, k, &p[j], &t[j], &horizon[j]) < 0)
			return -1;
	if (exec_program_group(rs, G, p, m, k, t, horizon) < 0)
		return -1;
	for (uint32_t j = 0; j < G; j++)
		if (pass_out(&rs[j], m, k, npasses, &p[j], t[j], seqs_out) < 0)
			return -1;
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

uint64_t exec_kv_room(const struct cim_experiment *e, const struct cim_part_rank *me)
{
	struct cim_chip_capacity cap;

	cim_chip_capacity(&e->chip, &cap);
	uint64_t have = me->kv_where == CIM_KV_ENGINE ? cap.engine_bytes
			: me->kv_where == CIM_KV_DRAM ? cap.dram_bytes
						      : cim_part_buffer_room(&e->chip, me);
	uint64_t used = me->kv_where == CIM_KV_ENGINE ? me->engine_bytes
			: me->kv_where == CIM_KV_DRAM ? me->dram_bytes
						      : me->buffer_bytes;
	return have - (used - me->kv_bytes);
}

/* Room for a group of n members, this rank member me; -1 when out of
 * memory (what was allocated is freed by xgroup_free). */
static int xgroup_alloc(struct xgroup *g, uint32_t n, uint32_t me)
{
	g->n = n;
	g->me = me;
	g->ranks = calloc(n, sizeof(*g->ranks));
	g->ready = calloc(n, sizeof(*g->ready));
	g->finish = calloc(n, sizeof(*g->finish));
	g->memo = calloc(MEMO_SLOTS, sizeof(*g->memo));
	g->memo_times = calloc((size_t)MEMO_SLOTS * 3 * n, sizeof(*g->memo_times));
	g->cplans = calloc(CPLAN_SLOTS, sizeof(*g->cplans));
	g->xreq = calloc(2 * (size_t)n, sizeof(*g->xreq));
	g->reply = calloc((size_t)n * EXEC_REPLY, sizeof(*g->reply));
	return g->ranks && g->ready && g->finish && g->memo && g->memo_times && g->cplans &&
		       g->xreq && g->reply
		   ? 0
		   : -1;
}

/* A stopped run: MPI may still write the buffers of an exchange in flight
 * and hold the communicator; they are left to it. */
static void xgroup_leave(struct xgroup *g)
{
	g->ready = NULL;
	g->reply = NULL;
	g->comm = MPI_COMM_NULL;
}

static void xgroup_free(struct xgroup *g, bool stopped)
{
	free(g->chunks);
	free(g->link_bytes);
	free(g->a2a_busy);
	free(g->all_ranks);
	free(g->all_ready);
	free(g->all_fin);
	free(g->ranks);
	free(g->ready);
	free(g->reply);
	free(g->finish);
	free(g->memo);
	free(g->memo_times);
	for (size_t i = 0; g->cplans && i < CPLAN_SLOTS; i++)
		cplan_clear(&g->cplans[i]);
	free(g->cplans);
	if (!stopped)
		free(g->xreq);
	if (g->comm != MPI_COMM_NULL)
		MPI_Comm_free(&g->comm);
}

static int setup(struct run *r)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const struct cim_experiment *e = r->e;

	/* The groups' communicators first, which every rank makes at once: a
	 * rank that fails below must not leave the others waiting here.  A
	 * rank that simulates its TP group makes them once, for the group's
	 * member 0, and needs no TP communicator. */
	const bool over = cim_experts_span_replicas(e->parallel.experts) && plan->dp > 1;
	const bool lead = r->lead == r;
	if (r->group == 1)
		MPI_Comm_split(r->comm, (int)(me->group_first / plan->tp), (int)me->tp_index,
			       &r->tp.comm);
	if (over)
		MPI_Comm_split(r->comm, (int)(me->stage * plan->tp + me->tp_index),
			       (int)me->replica, &r->ep.comm);
	if (r->opts->interruptible && lead) {
		MPI_Comm_dup(r->comm, &r->stop_comm);
		MPI_Irecv(&r->stop_from, 1, MPI_INT, MPI_ANY_SOURCE, 0, r->stop_comm, &r->stop_req);
		r->parent = (long)getppid();
	}
	r->nres = cim_part_nres(me);
	r->cal = calloc(r->nres, sizeof(*r->cal));
	r->kv_pos = calloc(plan->micro_batches, sizeof(*r->kv_pos));
	r->arrived = calloc(plan->micro_batches, sizeof(*r->arrived));
	r->port_free = calloc(cim_net_nports(r->net), sizeof(*r->port_free));
	/* in a rank of the whole group, member 0 replays for all */
	const bool replays = r->group == 1 || lead;
	if (!r->cal || !r->kv_pos || !r->arrived || !r->port_free ||
	    (replays && xgroup_alloc(&r->tp, plan->tp, me->tp_index) < 0))
		return cim_err_set(r->err, "rank %u: out of memory", me->rank);
	if (replays)
		for (uint32_t i = 0; i < plan->tp; i++)
			r->tp.ranks[i] = me->group_first + i;
	else
		r->tp.n = plan->tp;
	if (r->group > 1 && lead) {
		r->gbuf = calloc(5 * (size_t)r->group, sizeof(*r->gbuf));
		r->gpass = calloc(r->group, sizeof(*r->gpass));
		if (!r->gbuf || !r->gpass)
			return cim_err_set(r->err, "rank %u: out of memory", me->rank);
	}
	/* experts spread over the replicas: the stage's members of this TP
	 * index in every replica, a group of its own */
	if (over) {
		r->ep.chunks = calloc((size_t)plan->dp * plan->dp, sizeof(*r->ep.chunks));
		r->ep.link_bytes = calloc(cim_net_nlinks(r->net) + 1, sizeof(*r->ep.link_bytes));
		r->ep.a2a_busy = calloc(plan->dp, sizeof(*r->ep.a2a_busy));
		const size_t all = (size_t)plan->tp * plan->dp;
		r->ep.all_ranks = calloc(all, sizeof(*r->ep.all_ranks));
		r->ep.all_ready = calloc(all, sizeof(*r->ep.all_ready));
		r->ep.all_fin = calloc(all, sizeof(*r->ep.all_fin));
		if (xgroup_alloc(&r->ep, plan->dp, me->replica) < 0 || !r->ep.chunks ||
		    !r->ep.link_bytes || !r->ep.a2a_busy || !r->ep.all_ranks || !r->ep.all_ready ||
		    !r->ep.all_fin)
			return cim_err_set(r->err, "rank %u: out of memory", me->rank);
		cim_part_ep_all_ranks(plan, me, r->ep.all_ranks);
		for (uint32_t q = 0; q < plan->dp; q++)
			r->ep.ranks[q] = cim_part_ep_rank(plan, me, q);
	}
	r->kv_room = exec_kv_room(e, me);
	r->kv_per_pos = cim_part_kv_bits_per_pos(e, me);
	if (r->opts->fault.kind != CIM_FAULT_NONE && r->opts->fault.rank == me->rank)
		r->fault = r->opts->fault;

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
		xgroup_leave(&r->tp);
		xgroup_leave(&r->ep);
	} else {
		reap_sends(r, true);
	}
	for (uint32_t i = 0; r->cal && i < r->nres; i++)
		cim_exec_cal_free(&r->cal[i]);
	free(r->cal);
	exec_stats_free(&r->stats);
	free(r->probes);
	free(r->sends);
	free(r->ops);
	free(r->kv_pos);
	free(r->arrived);
	free(r->port_free);
	free(r->gbuf);
	free(r->gpass);
	xgroup_free(&r->tp, r->stopped);
	xgroup_free(&r->ep, r->stopped);
	if (r->stop_comm != MPI_COMM_NULL && !r->stopped) {
		MPI_Cancel(&r->stop_req);
		MPI_Wait(&r->stop_req, MPI_STATUS_IGNORE);
		MPI_Comm_free(&r->stop_comm);
	}
}

/* Chip c's run: its plan entry, its probes (statistics first, so that a
 * probe that stops early sees what they saw) and its statistics' header. */
static int run_init(struct run *r, uint32_t c, const struct cim_exec_probe *probes, size_t nprobes)
{
	r->me = &r->plan->ranks[c];
	r->probes = calloc(nprobes + 1, sizeof(*r->probes));
	if (!r->probes)
		return cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
	r->probes[0] = exec_stats_probe;
	r->probes[0].ctx = &r->stats;
	for (size_t i = 0; i < nprobes; i++)
		r->probes[i + 1] = probes[i];
	r->nprobes = nprobes + 1;
	struct cim_exec_stats *st = &r->stats.st;
	st->rank = r->me->rank;
	st->replica = r->me->replica;
	st->stage = r->me->stage;
	st->tp_index = r->me->tp_index;
	st->xbar_groups = cim_part_xbar_groups(r->me);
	st->ports = cim_net_ports_of(r->net, r->me->rank);
	if (st->ports == 0)
		st->ports = 1; /* a chip alone: nothing is sent */
	return 0;
}

bool cim_exec_tp_per_rank_ok(const struct cim_experiment *e, uint32_t dp)
{
	return !(cim_experts_span_replicas(e->parallel.experts) && dp > 1);
}

/* What a rank that simulates its TP group cannot run, or NULL. */
static const char *group_refusal(const struct cim_experiment *e, const struct cim_part_plan *plan,
				 uint32_t G)
{
	if (G != plan->tp)
		return "a rank simulates a whole TP group: chips per rank must be the plan's tp";
	if (!cim_exec_tp_per_rank_ok(e, plan->dp))
		return "experts spread over the replicas need one rank per chip";
	return NULL;
}

int cim_exec_run(const struct cim_experiment *e, const struct cim_part_plan *plan,
		 const struct cim_net *net, MPI_Comm comm, const struct cim_exec_opts *opts,
		 const struct cim_exec_probe *probes, size_t nprobes,
		 struct cim_exec_stats *stats_out, struct cim_exec_seq *seqs_out,
		 struct cim_err *err)
{
	static const struct cim_exec_opts defaults = { .interruptible = false };
	const struct cim_exec_opts *o = opts ? opts : &defaults;
	const uint32_t G = o->chips_per_rank > 1 ? o->chips_per_rank : 1;
	int rank, size, rc = -1;
	const char *why;

	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	if (G > 1 && (why = group_refusal(e, plan, G)) != NULL)
		return cim_err_set(err, "%u chips per rank: %s (tp %u)", G, why, plan->tp);
	if ((uint64_t)size * G != plan->chips)
		return cim_err_set(err, "this plan needs %u ranks, not %d", plan->chips / G, size);
	struct run *rs = calloc(G, sizeof(*rs));
	if (!rs)
		return cim_err_set(err, "rank %d: out of memory", rank);
	for (uint32_t j = 0; j < G; j++)
		rs[j] = (struct run){ .e = e,
				      .plan = plan,
				      .net = net,
				      .comm = comm,
				      .group = G,
				      .lead = &rs[0],
				      .tp = { .comm = MPI_COMM_NULL },
				      .ep = { .comm = MPI_COMM_NULL },
				      .stop_comm = MPI_COMM_NULL,
				      .stop_req = MPI_REQUEST_NULL,
				      .opts = o,
				      .err = err };
	struct run *L = &rs[0];
	for (uint32_t j = 0; j < G; j++)
		if (run_init(&rs[j], (uint32_t)rank * G + j, probes ? probes + j * nprobes : NULL,
			     nprobes) < 0 ||
		    setup(&rs[j]) < 0)
			goto out;

	if (e->serving.on) {
		if (exec_serve(rs, G, seqs_out) < 0)
			goto out;
		for (uint32_t j = 0; j < G; j++)
			exec_stats_finish(&rs[j].stats, &stats_out[j]);
		rc = 0;
		goto out;
	}
	const uint32_t P = cim_part_npasses(e);
	for (uint32_t k = 0; k < P; k++) {
		for (uint32_t m = 0; m < plan->micro_batches; m++) {
			if ((G == 1 ? run_pass(L, m, k, P, seqs_out)
				    : run_pass_group(rs, G, m, k, P, seqs_out)) < 0)
				goto out;
		}
		if (exec_poll_stop(L)) {
			L->stopped = true;
			cim_err_set(err, "rank %u: interrupted at step %u", L->me->rank, k);
			goto out;
		}
	}
	for (uint32_t j = 0; j < G; j++)
		exec_stats_finish(&rs[j].stats, &stats_out[j]);
	rc = 0;
out:
	/* A signal may have reached only this rank (a batch system ending
	 * some ranks): the others are told as for an error. */
	if (rc < 0 && (L->end == CIM_EXEC_END_OWN || L->end == CIM_EXEC_END_SIGNAL) &&
	    L->stop_comm != MPI_COMM_NULL) {
		tell_peers(L);
		L->stopped = true; /* the job is ending: MPI keeps what it holds */
	}
	if (rc < 0 && o->ended)
		*o->ended = L->end;
	/* a member that stopped leaves MPI its buffers: so do all */
	bool stopped = false;
	for (uint32_t j = 0; j < G; j++)
		stopped = stopped || rs[j].stopped;
	for (uint32_t j = 0; j < G; j++) {
		rs[j].stopped = stopped;
		if (rs[j].me)
			teardown(&rs[j]);
	}
	if (!stopped)
		free(rs); /* else MPI may still write its receives' words */
	return rc;
}
