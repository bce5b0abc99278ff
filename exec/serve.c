/*
 * serve.c — a served load: requests that arrive over time, batched at every
 * pass by the first stage's scheduler, the decisions carried down the
 * pipeline with the activations.
 *
 * Each replica's first stage, member 0, schedules: the router gives it
 * requests in turn (request i to replica i mod dp) or to the replica with
 * the fewest outstanding, which the scheduling ranks agree on in rounds
 * (route_round()); each micro-batch is a
 * stream of passes; when a micro-batch is free (its last pass's tokens are
 * back, or it has none in flight) the scheduler decides which requests its
 * next pass runs and how many tokens of each (the entries), under the
 * policy, max_batch, token_budget and the KV memory of every chip of the
 * replica, which it tracks exactly as each chip does (so it never admits
 * what a chip could not hold, and preempts by recompute when a decode would
 * not fit).  Static batching takes the micro-batches in turn, as a static
 * run does; the other policies take the one free earliest (ties: the lower
 * number), so decisions are made in virtual-time order and see every token
 * that came back before them.  The other members of the first stage get the
 * decisions from member 0 (MPI_Ibcast on the TP group); later stages read
 * them from the message before the activations.  No stage waits on another
 * except for its input, so the run is free of rollback and deterministic.
 * docs/serving.md has the policies and the metrics.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

enum { ENT_SAMPLE = 0x1, ENT_PREEMPT = 0x2, ENT_PREFILL = 0x4 };

/* One request's part in a pass. */
struct entry {
	uint64_t past;	  /* positions cached before the pass */
	uint32_t req;	  /* the request */
	uint32_t queries; /* new tokens; 0 with ENT_PREEMPT */
	uint32_t flags;	  /* ENT_* */
	uint32_t pad;
};

/* No token comes back from this pass: a static run sends none for a
 * prompt chunk that samples nothing, nor after a micro-batch's last pass. */
#define HDR_NOTOKEN 0x2u

/* Member 0's decision, broadcast to the first stage's other members. */
struct decision {
	uint64_t t, horizon;
	uint32_t m, k, n, flags;
};

enum rstate { R_WAITING, R_RUNNING, R_DONE };

/* The scheduler's view of a request. */
struct sreq {
	uint64_t cached;    /* positions in its cache */
	uint32_t target;    /* positions to prefill: prompt (+ tokens kept, after a preemption) */
	uint32_t generated; /* tokens sampled */
	uint32_t slot;	    /* its micro-batch while running */
	uint32_t order;	    /* admission order, for the youngest */
	enum rstate state;
	bool admitted_once;
};

/* One stage of the replica as the scheduler sees its KV memory. */
struct stage_kv {
	uint64_t room_bits; /* the least room of its members */
	uint64_t bits;	    /* per position per layer per sequence */
	uint32_t first, nlayers;
	uint64_t held_bits;
};

struct serve {
	struct run *r;
	const struct cim_request *q;
	uint32_t nq;
	uint32_t *mine, nmine; /* this replica's requests, by arrival */
	/* every rank: what its chip holds */
	uint64_t *ctx; /* positions cached per request */
	uint32_t *gen; /* tokens sampled per request */
	uint64_t held_bits;
	uint64_t room_bits;
	/* the scheduler's */
	struct sreq *s;
	struct stage_kv *st;
	uint32_t *pre, npre; /* preempted, to run again first (oldest first) */
	uint32_t next;	     /* the next of mine not yet arrived or taken */
	uint32_t completed;
	uint32_t order;
	struct entry *ent; /* the pass being built */
	uint32_t nent, capent;
	struct cim_part_piece *pcs;
	/* per micro-batch */
	struct entry **last; /* its pass in flight */
	uint32_t *nlast;
	bool *inflight, *received, *idle;
	uint64_t *ready, *lb, *tok_ps;
	uint32_t *iter;
	uint64_t now; /* the latest decision's time */
	/* the time series (struct cim_rec_sched) */
	uint32_t seen;	    /* arrivals of mine recorded */
	uint32_t admitted;  /* of mine admitted once */
	uint32_t nrunning;  /* R_RUNNING */
	uint64_t series_ps; /* the latest record's time */
	/* the router, least-outstanding (docs/serving.md, "Replicas"): every
	 * scheduling rank routes every request the same way, from the times
	 * at which each replica learnt that its requests ended */
	bool dynamic;
	MPI_Comm sched_comm; /* the replicas' scheduling ranks */
	uint32_t routed;     /* requests routed, in arrival order */
	uint32_t *sent;	     /* per replica: requests routed to it */
	uint32_t *seen_done; /* per replica: of its ends, those before the
				arrival being routed */
	uint64_t **ends;     /* per replica: when its requests ended, in order */
	uint32_t *nends, *capends;
	uint64_t *fresh; /* this replica's ends since the last round */
	uint32_t nfresh;
	struct cim_exec_seq *seqs;
};

/* ------------------------------------------------------------ messages */

/* Sends a bare header (a stop) that carries no virtual time. */
static int send_plain(struct run *r, uint32_t dst, uint32_t kind, uint32_t flags)
{
	struct send *s;

	if (exec_send_room(r) < 0)
		return -1;
	s = &r->sends[r->nsends++];
	memset(s, 0, sizeof(*s));
	s->h.kind = kind;
	s->h.flags = flags;
	s->body_req = MPI_REQUEST_NULL;
	MPI_Isend(&s->h, sizeof(s->h), MPI_BYTE, exec_peer_proc(r, dst),
		  exec_chip_tag(r, kind, dst), r->comm, &s->req);
	return 0;
}

static int recv_bytes(struct run *r, void *buf, size_t len, uint32_t src, int tag, const char *what)
{
	const int from = exec_peer_proc(r, src), t = exec_chip_tag(r, (uint32_t)tag, r->me->rank);
	MPI_Request req;

	if (!r->opts->interruptible) {
		MPI_Recv(buf, (int)len, MPI_BYTE, from, t, r->comm, MPI_STATUS_IGNORE);
		return 0;
	}
	MPI_Irecv(buf, (int)len, MPI_BYTE, from, t, r->comm, &req);
	if (exec_wait_polling(r, &req, true))
		return cim_err_set(r->err, "rank %u: interrupted waiting for %s from rank %u",
				   r->me->rank, what, src);
	return 0;
}

static int bcast(struct run *r, void *buf, size_t len)
{
	MPI_Request req;

	if (r->plan->tp == 1 || r->group > 1 || len == 0)
		return 0; /* no other member, or all in this rank */
	if (!r->opts->interruptible) {
		MPI_Bcast(buf, (int)len, MPI_BYTE, 0, r->tp.comm);
		return 0;
	}
	MPI_Ibcast(buf, (int)len, MPI_BYTE, 0, r->tp.comm, &req);
	if (exec_wait_polling(r, &req, false))
		return cim_err_set(r->err, "rank %u: interrupted waiting for the scheduler",
				   r->me->rank);
	return 0;
}

/* ------------------------------------------------------------- the KV */

/* Positions one sequence at ctx holds on the layers [first, first+n). */
static uint64_t kvpos(const struct cim_experiment *e, uint32_t first, uint32_t n, uint64_t ctx)
{
	return ctx ? cim_model_kv_positions(&e->model, first, n, ctx) : 0;
}

/* This chip's cache after the pass's entries: a preempted request's is
 * freed, the others grow; it must fit (the scheduler made sure). */
static int apply_entries(struct serve *sv, const struct entry *ent, uint32_t n, uint32_t k)
{
	struct run *r = sv->r;
	const struct cim_part_rank *me = r->me;

	for (uint32_t i = 0; i < n; i++) {
		const struct entry *x = &ent[i];
		if (x->req >= sv->nq)
			return cim_err_set(r->err, "rank %u: pass %u names request %u of %u",
					   me->rank, k, x->req, sv->nq);
		uint64_t before = kvpos(r->e, me->first_layer, me->nlayers, sv->ctx[x->req]);
		uint64_t now = (x->flags & ENT_PREEMPT) ? 0 : x->past + x->queries;
		if (!(x->flags & ENT_PREEMPT) && x->past != sv->ctx[x->req])
			return cim_err_set(r->err,
					   "rank %u: pass %u has request %u at %" PRIu64
					   " cached positions, this chip holds %" PRIu64
					   ": the ranks do not run the same plan",
					   me->rank, k, x->req, x->past, sv->ctx[x->req]);
		sv->ctx[x->req] = now;
		sv->held_bits +=
		    (kvpos(r->e, me->first_layer, me->nlayers, now) - before) * r->kv_per_pos;
	}
	r->kv_held = (sv->held_bits + 7) / 8;
	if (sv->held_bits > sv->room_bits)
		return cim_err_set(r->err,
				   "rank %u: KV-cache overflow at pass %u: it needs %" PRIu64
				   " bytes but has room for %" PRIu64
				   " (internal error: the scheduler admits only what fits; "
				   "please report it)",
				   me->rank, k, r->kv_held, r->kv_room);
	return 0;
}

/* After the pass: sampled tokens counted; a finished request's cache freed. */
static void after_samples(struct serve *sv, const struct entry *ent, uint32_t n, uint64_t end,
			  bool record)
{
	struct run *r = sv->r;
	const struct cim_part_rank *me = r->me;

	for (uint32_t i = 0; i < n; i++) {
		const uint32_t q = ent[i].req;
		if (!(ent[i].flags & ENT_SAMPLE))
			continue;
		sv->gen[q]++;
		if (record) {
			if (sv->gen[q] == 1)
				sv->seqs[q].first_ps = end;
			sv->seqs[q].last_ps = end;
		}
		if (sv->gen[q] == sv->q[q].output) {
			sv->held_bits -=
			    kvpos(r->e, me->first_layer, me->nlayers, sv->ctx[q]) * r->kv_per_pos;
			sv->ctx[q] = 0;
		}
	}
	r->kv_held = (sv->held_bits + 7) / 8;
}

/* The pass the entries make: pieces of consecutive entries alike. */
static void make_pass(struct serve *sv, const struct entry *ent, uint32_t n,
		      struct cim_part_pass *p)
{
	uint32_t np = 0, seqs = 0, samples = 0;
	bool prefill = false;

	for (uint32_t i = 0; i < n; i++) {
		const struct entry *x = &ent[i];
		if (x->flags & ENT_PREEMPT)
			continue;
		samples += (x->flags & ENT_SAMPLE) != 0;
		seqs++;
		prefill |= (x->flags & ENT_PREFILL) != 0;
		if (np && sv->pcs[np - 1].past == x->past &&
		    sv->pcs[np - 1].queries == x->queries) {
			sv->pcs[np - 1].count++;
			continue;
		}
		sv->pcs[np++] =
		    (struct cim_part_piece){ .past = x->past, .queries = x->queries, .count = 1 };
	}
	*p = (struct cim_part_pass){ .phase = prefill ? CIM_PHASE_PREFILL : CIM_PHASE_DECODE,
				     .seqs = seqs,
				     .pieces = sv->pcs,
				     .npieces = np,
				     .samples = samples,
				     .sample = samples > 0 };
}

/* A chip's pass ended at end: its samples counted, and its output sent
 * on: to the next stage, or the tokens back to the first stage (unless it
 * is the micro-batch's last). */
static int send_on(struct serve *sv, const struct entry *ent, uint32_t n, uint32_t m, uint32_t k,
		   const struct cim_part_pass *p, uint64_t end, uint64_t horizon, uint32_t flags)
{
	struct run *r = sv->r;
	const struct cim_part_rank *me = r->me;
	const bool last_stage = me->next_rank == CIM_PART_NO_RANK;

	after_samples(sv, ent, n, end, last_stage && me->tp_index == 0);
	struct hdr h = {
		.entries = n, .samples = p->samples, .flags = flags, .horizon_ps = horizon
	};
	if (!last_stage)
		return exec_send(r, me->next_rank, CIM_MSG_ACT, cim_part_act_bytes(r->e, p), end, p,
				 m, k, &h, ent, n * sizeof(*ent));
	if (flags & HDR_NOTOKEN)
		return 0; /* a static run's chunk without samples, or its last pass */
	return exec_send(r, me->token_peer, CIM_MSG_TOKEN, cim_part_token_bytes(p), end, p, m, k,
			 &h, NULL, 0);
}

/* Runs a pass on the rank's G chips svs[0 … G) (its TP group's, in
 * lockstep; or its one chip) from t[j] with horizon[j], and sends each
 * chip's output on. */
static int run_and_send(struct serve *svs, uint32_t G, const struct entry *ent, uint32_t n,
			uint32_t m, uint32_t k, uint64_t *t, const uint64_t *horizon,
			uint32_t flags)
{
	struct run *L = svs[0].r;
	struct cim_part_pass one = { 0 }, *p = G > 1 ? L->gpass : &one;

	for (uint32_t j = 0; j < G; j++) {
		if (apply_entries(&svs[j], ent, n, k) < 0)
			return -1;
		make_pass(&svs[j], ent, n, &p[j]);
	}
	/* with only preemptions, nothing runs: each ends where it starts */
	if (p[0].npieces && (G == 1 ? exec_program(L, &p[0], m, k, t[0], horizon[0], &t[0])
				    : exec_program_group(L, G, p, m, k, t, horizon)) < 0)
		return -1;
	for (uint32_t j = 0; j < G; j++)
		if (send_on(&svs[j], ent, n, m, k, &p[j], t[j], horizon[j], flags) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------- later stages */

static int reserve(struct serve *sv, uint32_t n);

/* Later stages: each chip of the rank takes its pass (header, then the
 * requests) from its own chip of the stage before, runs it and sends it on.
 * A rank's chips take the same passes: each one's requests are checked
 * against its member 0's. */
static int follow(struct serve *svs, uint32_t G)
{
	struct run *L = svs[0].r;
	struct entry *ent = NULL, *other = NULL;
	size_t cap = 0;
	uint64_t one_t, one_h;
	uint64_t *t = G > 1 ? L->gbuf + 3 * (size_t)G : &one_t, *hz = G > 1 ? t + G : &one_h;

	for (;;) {
		uint32_t n = 0, m = 0, k = 0, flags = 0;
		bool done = false;
		for (uint32_t j = 0; j < G; j++) {
			struct run *r = svs[j].r;
			const struct cim_part_rank *me = r->me;
			struct hdr h;
			if (recv_bytes(r, &h, sizeof(h), me->prev_rank, CIM_MSG_ACT,
				       "activations") < 0)
				goto fail;
			if (j == 0) {
				done = (h.flags & EXEC_HDR_DONE) != 0;
				n = h.entries;
				m = h.micro_batch;
				k = h.step;
				flags = h.flags;
			} else if (((h.flags & EXEC_HDR_DONE) != 0) != done ||
				   (!done && (h.entries != n || h.micro_batch != m || h.step != k ||
					      h.flags != flags))) {
				cim_err_set(
				    r->err,
				    "rank %u: its pass differs from that of rank %u, its TP "
				    "group's member 0: the ranks do not run the same plan",
				    me->rank, L->me->rank);
				goto fail;
			}
			if (done)
				continue;
			if (h.entries > cap) {
				free(ent);
				free(other);
				cap = h.entries;
				ent = malloc(cap * sizeof(*ent));
				/* the other chips' copies, to check (G > 1) */
				other = G > 1 ? malloc(cap * sizeof(*other)) : NULL;
				if (!ent || (G > 1 && !other)) {
					cim_err_set(r->err, "rank %u: out of memory", me->rank);
					goto fail;
				}
			}
			struct entry *into = j == 0 ? ent : other;
			if (h.entries &&
			    recv_bytes(r, into, h.entries * sizeof(*into), me->prev_rank,
				       CIM_MSG_ACT + EXEC_BODY_TAG, "a pass's requests") < 0)
				goto fail;
			if (j > 0 && n && memcmp(into, ent, n * sizeof(*ent)) != 0) {
				cim_err_set(
				    r->err,
				    "rank %u: the requests of pass %u differ from those of "
				    "rank %u, its TP group's member 0: the ranks do not run "
				    "the same plan",
				    me->rank, k, L->me->rank);
				goto fail;
			}
			struct cim_rec_msg rec = {
				.depart_ps = h.depart_ps,
				.arrive_ps = h.arrive_ps,
				.peer = me->prev_rank,
				.kind = CIM_MSG_ACT,
				.micro_batch = h.micro_batch,
				.step = h.step,
				.bytes = h.bytes,
			};
			exec_probe_msg(r, &rec);
			uint64_t horizon = h.horizon_ps > r->horizon ? h.horizon_ps : r->horizon;
			hz[j] = horizon > h.arrive_ps ? h.arrive_ps : horizon;
			t[j] = h.arrive_ps;
		}
		if (done) {
			free(ent);
			free(other);
			for (uint32_t j = 0; j < G; j++) {
				struct run *r = svs[j].r;
				if (r->me->next_rank != CIM_PART_NO_RANK &&
				    send_plain(r, r->me->next_rank, CIM_MSG_ACT, EXEC_HDR_DONE) < 0)
					return -1;
			}
			return 0;
		}
		for (uint32_t j = 0; j < G; j++)
			if (reserve(&svs[j], n) < 0)
				goto fail;
		if (run_and_send(svs, G, ent, n, m, k, t, hz, flags) < 0)
			goto fail;
		if (exec_poll_stop(L)) {
			L->stopped = true;
			cim_err_set(L->err, "rank %u: interrupted at pass %u", L->me->rank, k);
			goto fail;
		}
	}
fail:
	free(ent);
	free(other);
	return -1;
}

/* --------------------------------------------------------- the scheduler */

/* The positions request x's cache needs on stage s at ctx, in bits. */
static uint64_t stage_bits(const struct serve *sv, const struct stage_kv *st, uint64_t ctx)
{
	return kvpos(sv->r->e, st->first, st->nlayers, ctx) * st->bits;
}

/* Whether every stage has room for request x to go from its cache to ctx. */
static bool fits(const struct serve *sv, uint32_t x, uint64_t ctx)
{
	for (uint32_t s = 0; s < sv->r->plan->pp; s++) {
		const struct stage_kv *st = &sv->st[s];
		uint64_t grow = stage_bits(sv, st, ctx) - stage_bits(sv, st, sv->s[x].cached);
		if (st->held_bits + grow > st->room_bits)
			return false;
	}
	return true;
}

/* Whether every stage has room for the whole contexts (prompt and output)
 * of every running request and of x: a static batch is admitted only so,
 * and never waits for room. */
static bool fits_whole(const struct serve *sv, uint32_t x)
{
	for (uint32_t s = 0; s < sv->r->plan->pp; s++) {
		const struct stage_kv *st = &sv->st[s];
		uint64_t need = stage_bits(sv, st, (uint64_t)sv->q[x].prompt + sv->q[x].output);
		for (uint32_t i = 0; i < sv->nmine; i++) {
			const uint32_t y = sv->mine[i];
			if (sv->s[y].state == R_RUNNING)
				need +=
				    stage_bits(sv, st, (uint64_t)sv->q[y].prompt + sv->q[y].output);
		}
		if (need > st->room_bits)
			return false;
	}
	return true;
}

static void set_cached(struct serve *sv, uint32_t x, uint64_t ctx)
{
	for (uint32_t s = 0; s < sv->r->plan->pp; s++) {
		struct stage_kv *st = &sv->st[s];
		st->held_bits += stage_bits(sv, st, ctx);
		st->held_bits -= stage_bits(sv, st, sv->s[x].cached);
	}
	sv->s[x].cached = ctx;
}

/* Room for n entries (and as many pieces). */
static int reserve(struct serve *sv, uint32_t n)
{
	while (n > sv->capent) {
		uint32_t cap = sv->capent ? 2 * sv->capent : 64;
		struct entry *g = realloc(sv->ent, cap * sizeof(*g));
		if (g)
			sv->ent = g;
		struct cim_part_piece *pg = realloc(sv->pcs, cap * sizeof(*pg));
		if (pg)
			sv->pcs = pg;
		if (!g || !pg)
			return cim_err_set(sv->r->err, "rank %u: out of memory", sv->r->me->rank);
		sv->capent = cap;
	}
	return 0;
}

static int add_entry(struct serve *sv, uint32_t x, uint32_t queries, uint32_t flags)
{
	if (reserve(sv, sv->nent + 1) < 0)
		return -1;
	sv->ent[sv->nent++] =
	    (struct entry){ .past = sv->s[x].cached, .req = x, .queries = queries, .flags = flags };
	return 0;
}

/* The running requests of micro-batch m, youngest last. */
static uint32_t running(const struct serve *sv, uint32_t m, uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < sv->nmine; i++) {
		uint32_t x = sv->mine[i];
		if (sv->s[x].state == R_RUNNING && sv->s[x].slot == m)
			out[n++] = x;
	}
	/* by admission order */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && sv->s[out[j - 1]].order > sv->s[out[j]].order; j--) {
			uint32_t t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Preempts request x (recompute): its cache freed everywhere, it runs
 * again first, prefilling its prompt and the tokens it has. */
static int preempt(struct serve *sv, uint32_t x)
{
	if (add_entry(sv, x, 0, ENT_PREEMPT) < 0)
		return -1;
	set_cached(sv, x, 0);
	sv->s[x].state = R_WAITING;
	sv->nrunning--;
	sv->s[x].target = sv->q[x].prompt + sv->s[x].generated;
	sv->seqs[x].preemptions++;
	sv->pre[sv->npre++] = x;
	return 0;
}

/* The next waiting request that has arrived by t, or UINT32_MAX. */
static uint32_t peek_waiting(const struct serve *sv, uint64_t t)
{
	if (sv->npre)
		return sv->pre[0];
	if (sv->next < sv->nmine && sv->q[sv->mine[sv->next]].arrival_ps <= t)
		return sv->mine[sv->next];
	return UINT32_MAX;
}

static void take_waiting(struct serve *sv)
{
	if (sv->npre) {
		memmove(sv->pre, sv->pre + 1, --sv->npre * sizeof(*sv->pre));
		return;
	}
	sv->next++;
}

static void admit(struct serve *sv, uint32_t x, uint32_t m, uint64_t t)
{
	struct sreq *s = &sv->s[x];

	take_waiting(sv);
	s->state = R_RUNNING;
	sv->nrunning++;
	s->slot = m;
	s->order = sv->order++;
	if (s->target == 0)
		s->target = sv->q[x].prompt;
	if (!s->admitted_once) {
		s->admitted_once = true;
		sv->admitted++;
		sv->seqs[x].admit_ps = t;
		sv->seqs[x].replica = sv->r->me->replica + 1ull;
	}
}

/* Adds x's next prefill chunk of at most limit tokens (0: no limit). */
static int prefill_entry(struct serve *sv, uint32_t x, uint32_t limit)
{
	struct sreq *s = &sv->s[x];
	uint32_t left = (uint32_t)(s->target - s->cached);
	uint32_t q = limit && left > limit ? limit : left;

	if (add_entry(sv, x, q, ENT_PREFILL | (q == left ? ENT_SAMPLE : 0)) < 0)
		return -1;
	set_cached(sv, x, s->cached + q);
	return 0;
}

/* Whether request x already runs in the pass being built. */
static bool in_pass(const struct serve *sv, uint32_t x)
{
	for (uint32_t i = 0; i < sv->nent; i++)
		if (sv->ent[i].req == x && !(sv->ent[i].flags & ENT_PREEMPT))
			return true;
	return false;
}

/* Room for running request x to grow to ctx: the youngest running request
 * of the micro-batch (run[0 … nrun)) that has no part in the pass yet gives
 * way while it does not fit, x itself last (then x is no longer running).
 * A request with a part in the pass is not preempted after it: its token
 * would be sampled and dropped at once. */
static int make_room(struct serve *sv, const uint32_t *run, uint32_t nrun, uint32_t x, uint64_t ctx)
{
	while (!fits(sv, x, ctx)) {
		uint32_t y = UINT32_MAX;
		for (uint32_t j = nrun; j-- > 0;)
			if (sv->s[run[j]].state == R_RUNNING &&
			    (run[j] == x || !in_pass(sv, run[j]))) {
				y = run[j];
				break;
			}
		assert(y != UINT32_MAX); /* x itself runs, in run[] */
		if (preempt(sv, y) < 0)
			return -1;
		if (y == x)
			break;
	}
	return 0;
}

/* Adds the decodes of the running requests (run) that are past their
 * prompts, preempting the youngest while one would not fit; returns how
 * many ran, or −1. */
static int decodes(struct serve *sv, uint32_t *run, uint32_t *nrun)
{
	int n = 0;

	for (uint32_t i = 0; i < *nrun; i++) {
		uint32_t x = run[i];
		if (sv->s[x].state != R_RUNNING || sv->s[x].cached < sv->s[x].target)
			continue;
		if (make_room(sv, run, *nrun, x, sv->s[x].cached + 1) < 0)
			return -1;
		if (sv->s[x].state != R_RUNNING)
			continue;
		if (add_entry(sv, x, 1, ENT_SAMPLE) < 0)
			return -1;
		set_cached(sv, x, sv->s[x].cached + 1);
		n++;
	}
	return n;
}

/* The entries of micro-batch m's next pass at t under the policy. */
static int decide(struct serve *sv, uint32_t m, uint64_t t)
{
	const struct cim_serving_spec *sp = &sv->r->e->serving;
	uint32_t *run = malloc((sv->nmine + 1) * sizeof(*run));
	uint32_t nrun, budget = sp->token_budget, used = 0;
	int rc = -1;

	if (!run)
		return cim_err_set(sv->r->err, "rank %u: out of memory", sv->r->me->rank);
	sv->nent = 0;
	nrun = running(sv, m, run);
	if (sp->scheduler == CIM_SCHED_STATIC) {
		const uint32_t B =
		    cim_part_static_batch(sv->r->e, sv->r->plan, sv->r->me->replica, m);
		const uint32_t c = sv->r->e->workload.prefill_chunk;
		if (nrun == 0) {
			/* a new batch: what has arrived, room for its whole
			 * context reserved, so no decode ever waits */
			for (uint32_t x; nrun < B && (x = peek_waiting(sv, t)) != UINT32_MAX;) {
				if (!fits_whole(sv, x))
					break;
				admit(sv, x, m, t);
				run[nrun++] = x;
			}
		}
		/* prompts first, in chunks; then everyone decodes */
		for (uint32_t i = 0; i < nrun; i++)
			if (sv->s[run[i]].cached < sv->s[run[i]].target &&
			    prefill_entry(sv, run[i], c) < 0)
				goto out;
		if (sv->nent == 0 && decodes(sv, run, &nrun) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (sp->scheduler == CIM_SCHED_PREFILL_FIRST) {
		for (uint32_t x; nrun < sp->max_batch && (x = peek_waiting(sv, t)) != UINT32_MAX;) {
			uint32_t need = sv->q[x].prompt + sv->s[x].generated;
			/* a prompt alone may exceed the budget: a preempted
			 * request prefills its tokens too */
			if ((used && used + need > budget) || !fits(sv, x, need))
				break;
			admit(sv, x, m, t);
			run[nrun++] = x;
			used += need;
			if (prefill_entry(sv, x, 0) < 0)
				goto out;
		}
		if (sv->nent == 0 && decodes(sv, run, &nrun) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	/* chunked and decode-first: the decodes, then prompts in the rest of
	 * the budget (chunked: continuing prompts first, in chunks) */
	int d = decodes(sv, run, &nrun);
	if (d < 0)
		goto out;
	used = (uint32_t)d;
	if (sp->scheduler == CIM_SCHED_CHUNKED) {
		for (uint32_t i = 0; i < nrun && used < budget; i++) {
			uint32_t x = run[i];
			if (sv->s[x].state != R_RUNNING || sv->s[x].cached >= sv->s[x].target)
				continue;
			/* its next chunk takes room as a decode does: admission
			 * saw the whole prompt fit, but decodes and other
			 * prompts have grown since */
			uint32_t before = (uint32_t)sv->s[x].cached,
				 left = sv->s[x].target - before;
			uint32_t q = left < budget - used ? left : budget - used;
			if (make_room(sv, run, nrun, x, (uint64_t)before + q) < 0)
				goto out;
			if (sv->s[x].state != R_RUNNING)
				continue;
			if (prefill_entry(sv, x, budget - used) < 0)
				goto out;
			used += (uint32_t)sv->s[x].cached - before;
		}
	}
	for (uint32_t x;
	     used < budget && nrun < sp->max_batch && (x = peek_waiting(sv, t)) != UINT32_MAX;) {
		uint32_t need = sv->q[x].prompt + sv->s[x].generated;
		bool whole = sp->scheduler == CIM_SCHED_DECODE_FIRST;
		if ((whole && used && used + need > budget) || !fits(sv, x, need))
			break;
		admit(sv, x, m, t);
		run[nrun++] = x;
		uint32_t before = (uint32_t)sv->s[x].cached;
		if (prefill_entry(sv, x, whole ? 0 : budget - used) < 0)
			goto out;
		used += (uint32_t)sv->s[x].cached - before;
	}
	rc = 0;
out:
	free(run);
	return rc;
}

/* The micro-batch's tokens are back: the scheduler counts them. */
static void tokens_back(struct serve *sv, uint32_t m)
{
	for (uint32_t i = 0; i < sv->nlast[m]; i++) {
		const struct entry *x = &sv->last[m][i];
		struct sreq *s = &sv->s[x->req];
		if (!(x->flags & ENT_SAMPLE) || s->state != R_RUNNING || s->slot != m)
			continue;
		s->generated++;
		if (s->generated == sv->q[x->req].output) {
			set_cached(sv, x->req, 0);
			s->state = R_DONE;
			sv->nrunning--;
			sv->completed++;
			if (sv->dynamic)
				sv->fresh[sv->nfresh++] = sv->now;
		}
	}
	sv->nlast[m] = 0;
}

/* Whether the pass being built is micro-batch m's last: every request in
 * it ends with it, nothing else runs in m and nothing waits or will
 * arrive.  A static run sends no tokens back after its last pass. */
static bool last_pass(const struct serve *sv, uint32_t m)
{
	for (uint32_t i = 0; i < sv->nent; i++) {
		const struct entry *x = &sv->ent[i];
		const struct sreq *s = &sv->s[x->req];
		if (x->flags & ENT_PREEMPT)
			continue;
		if (!(x->flags & ENT_SAMPLE) || s->generated + 1 < sv->q[x->req].output)
			return false;
	}
	for (uint32_t i = 0; i < sv->nmine; i++) {
		const struct sreq *s = &sv->s[sv->mine[i]];
		if (s->state == R_RUNNING && s->slot == m) {
			bool in_pass = false;
			for (uint32_t j = 0; j < sv->nent; j++)
				in_pass |= sv->ent[j].req == sv->mine[i] &&
					   !(sv->ent[j].flags & ENT_PREEMPT);
			if (!in_pass)
				return false;
		}
	}
	return sv->npre == 0 && sv->next == sv->nmine;
}

/* Receives the oldest token message in flight (they come back in the
 * order the passes left). */
static int recv_token(struct serve *sv, uint32_t *m_out)
{
	struct run *r = sv->r;
	struct hdr h;

	if (recv_bytes(r, &h, sizeof(h), r->me->token_peer, CIM_MSG_TOKEN, "tokens") < 0)
		return -1;
	const uint32_t m = h.micro_batch;
	if (m >= r->plan->micro_batches || !sv->inflight[m] || sv->received[m] ||
	    h.step + 1 != sv->iter[m])
		return cim_err_set(r->err,
				   "rank %u: tokens of micro-batch %u, pass %u came back, which "
				   "is not in flight: the ranks do not run the same plan",
				   r->me->rank, m, h.step);
	struct cim_rec_msg rec = {
		.depart_ps = h.depart_ps,
		.arrive_ps = h.arrive_ps,
		.peer = r->me->token_peer,
		.kind = CIM_MSG_TOKEN,
		.micro_batch = m,
		.step = h.step,
		.bytes = h.bytes,
	};
	exec_probe_msg(r, &rec);
	sv->received[m] = true;
	sv->tok_ps[m] = h.arrive_ps;
	*m_out = m;
	return 0;
}

/* The micro-batch to schedule next: static, in turn; else the one free
 * earliest (ties: the lower number), once no pass in flight can come back
 * before it. */
static int next_slot(struct serve *sv, uint32_t *cursor, uint32_t *m_out, uint64_t *t_out)
{
	const uint32_t M = sv->r->plan->micro_batches;
	uint32_t m, got;

	if (sv->r->e->serving.scheduler == CIM_SCHED_STATIC) {
		m = *cursor;
		*cursor = (m + 1) % M;
		while (sv->inflight[m] && !sv->received[m])
			if (recv_token(sv, &got) < 0)
				return -1;
		*m_out = m;
		*t_out = sv->inflight[m] ? sv->tok_ps[m] : sv->ready[m];
		if (*t_out < sv->now)
			*t_out = sv->now;
		return 0;
	}
	for (;;) {
		uint64_t best = UINT64_MAX, low = UINT64_MAX;
		m = UINT32_MAX;
		for (uint32_t j = 0; j < M; j++) {
			uint64_t at = sv->inflight[j]
					  ? (sv->received[j] ? sv->tok_ps[j] : UINT64_MAX)
					  : sv->ready[j];
			if (sv->inflight[j] && !sv->received[j] && sv->lb[j] < low)
				low = sv->lb[j];
			if (at < best) {
				best = at;
				m = j;
			}
		}
		if (m != UINT32_MAX && best < low) {
			*m_out = m;
			*t_out = best < sv->now ? sv->now : best;
			return 0;
		}
		if (low == UINT64_MAX) {
			/* nothing in flight and nothing that can run */
			uint32_t x = sv->npre ? sv->pre[0] : sv->mine[sv->next];
			return cim_err_set(
			    sv->r->err,
			    "rank %u: request %u cannot be admitted: its KV cache "
			    "(%u prompt and %u output tokens) does not fit the chips "
			    "of replica %u even when they hold nothing else; use "
			    "more chips, fewer bits per KV value or shorter requests",
			    sv->r->me->rank, x, sv->q[x].prompt, sv->q[x].output,
			    sv->r->me->replica);
		}
		if (recv_token(sv, &got) < 0)
			return -1;
	}
}

/* A first-stage member other than 0 takes member 0's decision d: once its
 * own tokens of that micro-batch are back, from when it starts (*t_out)
 * and its horizon (*h_out). */
static int member_take(struct serve *sv, const struct decision *d, uint64_t *t_out, uint64_t *h_out)
{
	struct run *r = sv->r;
	uint64_t t = d->t;

	if (reserve(sv, d->n) < 0)
		return -1;
	while (sv->inflight[d->m] && !sv->received[d->m]) {
		uint32_t got;
		if (recv_token(sv, &got) < 0)
			return -1;
	}
	if (sv->inflight[d->m] && sv->tok_ps[d->m] > t)
		t = sv->tok_ps[d->m];
	sv->inflight[d->m] = !(d->flags & HDR_NOTOKEN);
	sv->received[d->m] = false;
	sv->iter[d->m] = d->k + 1;
	uint64_t horizon = d->horizon > r->horizon ? d->horizon : r->horizon;
	*t_out = t;
	*h_out = horizon < t ? horizon : t;
	return 0;
}

/* A first-stage member other than 0 at the end: the last passes' tokens
 * are taken, so that none is left for a later run on the same ranks, and
 * the end is passed on. */
static int member_done(struct serve *sv)
{
	struct run *r = sv->r;

	for (uint32_t m = 0; m < r->plan->micro_batches; m++) {
		uint32_t got;
		while (sv->inflight[m] && !sv->received[m])
			if (recv_token(sv, &got) < 0)
				return -1;
	}
	return r->me->next_rank != CIM_PART_NO_RANK
		   ? send_plain(r, r->me->next_rank, CIM_MSG_ACT, EXEC_HDR_DONE)
		   : 0;
}

/* What the first stage's members other than 0 do, each a rank of its own:
 * run member 0's decisions, each after its own tokens of that micro-batch
 * are back. */
static int member(struct serve *sv)
{
	struct run *r = sv->r;
	struct decision d;

	for (;;) {
		uint64_t t, horizon;
		if (bcast(r, &d, sizeof(d)) < 0)
			return -1;
		if (d.flags & EXEC_HDR_DONE)
			return member_done(sv);
		if (reserve(sv, d.n) < 0)
			return -1;
		if (bcast(r, sv->ent, d.n * sizeof(*sv->ent)) < 0)
			return -1;
		if (member_take(sv, &d, &t, &horizon) < 0 ||
		    run_and_send(sv, 1, sv->ent, d.n, d.m, d.k, &t, &horizon, d.flags) < 0)
			return -1;
	}
}

/* Records the scheduler's state at t (no earlier than the latest record);
 * after a decision, with the pass's requests and tokens. */
static void record_state(struct serve *sv, uint64_t t, bool decision)
{
	struct cim_rec_sched rec = {
		.t_ps = t > sv->series_ps ? t : sv->series_ps,
		.waiting = sv->seen - sv->admitted,
		.requeued = sv->npre,
		.running = sv->nrunning,
		.decision = decision,
	};
	double worst = -1;

	assert(sv->admitted <= sv->seen && sv->nrunning <= sv->nmine);
	for (uint32_t i = 0; decision && i < sv->nent; i++)
		if (sv->ent[i].queries) {
			rec.batch++;
			rec.tokens += sv->ent[i].queries;
		}
	/* the stage whose binding member is fullest */
	for (uint32_t s = 0; s < sv->r->plan->pp; s++) {
		const struct stage_kv *st = &sv->st[s];
		double use = st->room_bits ? (double)st->held_bits / (double)st->room_bits : 0;
		if (use > worst) {
			worst = use;
			rec.kv_bytes = (st->held_bits + 7) / 8;
			rec.kv_room = st->room_bits / 8;
		}
	}
	assert(rec.kv_bytes <= rec.kv_room);
	sv->series_ps = rec.t_ps;
	exec_probe_sched(sv->r, &rec);
}

/* Records the arrivals up to t the series has not shown yet, each at its
 * own time. */
static void record_arrivals(struct serve *sv, uint64_t t)
{
	while (sv->seen < sv->nmine && sv->q[sv->mine[sv->seen]].arrival_ps <= t) {
		sv->seen++;
		record_state(sv, sv->q[sv->mine[sv->seen - 1]].arrival_ps, false);
	}
}

/* ------------------------------------------------------------ the router */

/* The replica request k goes to: the fewest outstanding (routed, less
 * those whose end its replica had learnt strictly before k arrived), ties
 * to the lower number. */
static uint32_t least_outstanding(struct serve *sv, uint64_t a)
{
	uint32_t best = 0;
	uint64_t fewest = UINT64_MAX;

	for (uint32_t p = 0; p < sv->r->plan->dp; p++) {
		while (sv->seen_done[p] < sv->nends[p] && sv->ends[p][sv->seen_done[p]] < a)
			sv->seen_done[p]++;
		assert(sv->seen_done[p] <= sv->sent[p]);
		const uint64_t out = sv->sent[p] - sv->seen_done[p];
		if (out < fewest) {
			fewest = out;
			best = p;
		}
	}
	return best;
}

static int wait_or_block(struct serve *sv, MPI_Request *req)
{
	if (exec_wait_polling(sv->r, req, false))
		return cim_err_set(sv->r->err, "rank %u: interrupted waiting for the router",
				   sv->r->me->rank);
	return 0;
}

/*
 * One round of the router, among the scheduling ranks: each gives the time
 * of its next decision (t) and the ends it learnt since the last round.
 * Every replica has then done everything before the least of those times,
 * A, so every end before A is known: the requests arriving up to A are
 * routed, the same way on every scheduling rank.  A rank takes part when a
 * request not yet routed arrives by its next decision; one whose next
 * decision comes earlier decides on and joins later, so every rank makes
 * the same rounds.
 */
static int route_round(struct serve *sv, uint64_t t)
{
	struct run *r = sv->r;
	const uint32_t dp = r->plan->dp;
	uint64_t mine[2] = { t, sv->nfresh }, *all = malloc(2 * dp * sizeof(*all));
	int *counts = malloc(dp * sizeof(*counts)), *displs = malloc(dp * sizeof(*displs));
	uint64_t *got = NULL;
	MPI_Request req;
	int rc = -1;

	if (!all || !counts || !displs) {
		cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
		goto out;
	}
	MPI_Iallgather(mine, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, sv->sched_comm, &req);
	if (wait_or_block(sv, &req) < 0)
		goto out;
	uint64_t A = UINT64_MAX, total = 0;
	for (uint32_t p = 0; p < dp; p++) {
		A = all[2 * p] < A ? all[2 * p] : A;
		counts[p] = (int)all[2 * p + 1];
		displs[p] = (int)total;
		total += all[2 * p + 1];
	}
	got = malloc((total ? total : 1) * sizeof(*got));
	if (!got) {
		cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
		goto out;
	}
	MPI_Iallgatherv(sv->fresh, (int)sv->nfresh, MPI_UINT64_T, got, counts, displs, MPI_UINT64_T,
			sv->sched_comm, &req);
	if (wait_or_block(sv, &req) < 0)
		goto out;
	sv->nfresh = 0;
	for (uint32_t p = 0; p < dp; p++) {
		if (sv->nends[p] + (uint32_t)counts[p] > sv->capends[p]) {
			uint32_t cap = sv->nends[p] + (uint32_t)counts[p] + 64;
			uint64_t *g = realloc(sv->ends[p], cap * sizeof(*g));
			if (!g) {
				cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
				goto out;
			}
			sv->ends[p] = g;
			sv->capends[p] = cap;
		}
		if (counts[p])
			memcpy(sv->ends[p] + sv->nends[p], got + displs[p],
			       (size_t)counts[p] * sizeof(*got));
		sv->nends[p] += (uint32_t)counts[p];
	}
	for (; sv->routed < sv->nq && sv->q[sv->routed].arrival_ps <= A; sv->routed++) {
		const uint32_t p = least_outstanding(sv, sv->q[sv->routed].arrival_ps);
		sv->sent[p]++;
		if (p == r->me->replica)
			sv->mine[sv->nmine++] = sv->routed;
	}
	rc = 0;
out:
	free(all);
	free(counts);
	free(displs);
	free(got);
	return rc;
}

/* The arrival that may bring new work: the next of mine, or, when the
 * router has requests yet to route, the next of those. */
static uint64_t next_arrival(const struct serve *sv)
{
	if (sv->next < sv->nmine)
		return sv->q[sv->mine[sv->next]].arrival_ps;
	if (sv->dynamic && sv->routed < sv->nq)
		return sv->q[sv->routed].arrival_ps;
	return UINT64_MAX;
}

/* The first stage: its member 0 (svs[0]) schedules; a rank that holds the
 * whole TP group runs each decision on every member, each as member()
 * would. */
static int schedule(struct serve *svs, uint32_t G)
{
	struct serve *sv = &svs[0];
	struct run *r = sv->r;
	uint64_t one_t, one_h;
	uint64_t *ts = G > 1 ? r->gbuf + 3 * (size_t)G : &one_t, *hs = G > 1 ? ts + G : &one_h;
	const uint32_t M = r->plan->micro_batches;
	const bool is_static = r->e->serving.scheduler == CIM_SCHED_STATIC;
	uint32_t cursor = 0;

	for (;;) {
		bool busy = false;
		for (uint32_t j = 0; j < M; j++)
			busy |= sv->inflight[j];
		if (sv->completed == sv->nmine && !busy && (!sv->dynamic || sv->routed == sv->nq))
			break;
		uint32_t m = 0;
		uint64_t t = 0;
		if (next_slot(sv, &cursor, &m, &t) < 0)
			return -1;
		/* every request that arrives by t routed first */
		while (sv->dynamic && sv->routed < sv->nq && sv->q[sv->routed].arrival_ps <= t)
			if (route_round(sv, t) < 0)
				return -1;
		sv->now = t;
		if (sv->inflight[m]) {
			tokens_back(sv, m);
			sv->inflight[m] = false;
			sv->received[m] = false;
			/* what it freed may let an idle micro-batch run */
			for (uint32_t j = 0; j < M; j++)
				if (sv->idle[j] && sv->ready[j] > t) {
					sv->ready[j] = t;
					sv->idle[j] = false;
				}
		}
		record_arrivals(sv, t);
		if (decide(sv, m, t) < 0)
			return -1;
		record_state(sv, t, sv->nent > 0);
		if (sv->nent == 0) {
			/* nothing to run: look again at the next arrival, or
			 * once a pass in flight is back */
			uint64_t next = next_arrival(sv);
			sv->ready[m] = next > t ? next : UINT64_MAX;
			sv->idle[m] = true;
			if (is_static) {
				bool others = false;
				for (uint32_t j = 0; j < M; j++)
					others |= sv->inflight[j];
				if (!others && sv->ready[m] == UINT64_MAX &&
				    sv->completed < sv->nmine) {
					uint32_t x = sv->npre ? sv->pre[0] : sv->mine[sv->next];
					return cim_err_set(
					    r->err,
					    "rank %u: request %u cannot be admitted: its KV cache "
					    "(%u prompt and %u output tokens) does not fit the "
					    "chips of replica %u even when they hold nothing else",
					    r->me->rank, x, sv->q[x].prompt, sv->q[x].output,
					    r->me->replica);
				}
				if (sv->ready[m] == UINT64_MAX)
					sv->ready[m] = t; /* in turn, after the others */
			}
			r->arrived[m] = sv->ready[m] == UINT64_MAX ? t : sv->ready[m];
			continue;
		}
		sv->idle[m] = false;
		/* the horizon: continuous policies decide in time order, so no
		 * later pass starts before t; static takes turns, so the least
		 * of the micro-batches' latest decisions, as a static run */
		r->arrived[m] = t;
		uint64_t horizon = t;
		if (is_static)
			for (uint32_t j = 0; j < M; j++)
				horizon = r->arrived[j] < horizon ? r->arrived[j] : horizon;
		uint32_t samples = 0;
		for (uint32_t i = 0; i < sv->nent; i++)
			samples += (sv->ent[i].flags & ENT_SAMPLE) != 0;
		const bool final = is_static && last_pass(sv, m);
		const bool notoken = is_static && (samples == 0 || final);
		const uint32_t k = sv->iter[m]++;
		struct decision d = { .t = t,
				      .horizon = horizon,
				      .m = m,
				      .k = k,
				      .n = sv->nent,
				      .flags = notoken ? HDR_NOTOKEN : 0 };
		if (bcast(r, &d, sizeof(d)) < 0 ||
		    bcast(r, sv->ent, sv->nent * sizeof(*sv->ent)) < 0)
			return -1;
		/* the pass's entries, kept until its tokens are back */
		free(sv->last[m]);
		sv->last[m] = malloc(sv->nent * sizeof(*sv->ent));
		if (!sv->last[m])
			return cim_err_set(r->err, "rank %u: out of memory", r->me->rank);
		memcpy(sv->last[m], sv->ent, sv->nent * sizeof(*sv->ent));
		sv->nlast[m] = sv->nent;
		ts[0] = t;
		hs[0] = horizon;
		for (uint32_t j = 1; j < G; j++)
			if (member_take(&svs[j], &d, &ts[j], &hs[j]) < 0)
				return -1;
		if (run_and_send(svs, G, sv->ent, sv->nent, m, k, ts, hs, d.flags) < 0)
			return -1;
		sv->inflight[m] = !notoken;
		sv->lb[m] = t + 1; /* its tokens come back after it starts */
		if (notoken) {
			tokens_back(sv, m); /* none will come: count them now */
			sv->ready[m] = t;
		}
		if (exec_poll_stop(r)) {
			r->stopped = true;
			return cim_err_set(r->err, "rank %u: interrupted at pass %u", r->me->rank,
					   k);
		}
	}
	struct decision done = { .flags = EXEC_HDR_DONE };
	if (bcast(r, &done, sizeof(done)) < 0)
		return -1;
	for (uint32_t j = 1; j < G; j++)
		if (member_done(&svs[j]) < 0)
			return -1;
	return r->me->next_rank != CIM_PART_NO_RANK
		   ? send_plain(r, r->me->next_rank, CIM_MSG_ACT, EXEC_HDR_DONE)
		   : 0;
}

/* Frees what serve_init made (sv may be partly made). */
static void serve_free(struct serve *sv)
{
	const uint32_t M = sv->r->plan->micro_batches;

	for (uint32_t m = 0; sv->last && m < M; m++)
		free(sv->last[m]);
	free(sv->last);
	free(sv->nlast);
	free(sv->inflight);
	free(sv->received);
	free(sv->idle);
	free(sv->ready);
	free(sv->lb);
	free(sv->tok_ps);
	free(sv->iter);
	if (sv->sched_comm != MPI_COMM_NULL)
		MPI_Comm_free(&sv->sched_comm);
	for (uint32_t p = 0; sv->ends && p < sv->r->plan->dp; p++)
		free(sv->ends[p]);
	free(sv->ends);
	free(sv->sent);
	free(sv->seen_done);
	free(sv->nends);
	free(sv->capends);
	free(sv->fresh);
	free(sv->mine);
	free(sv->pre);
	free(sv->ctx);
	free(sv->gen);
	free(sv->s);
	free(sv->st);
	free(sv->ent);
	free(sv->pcs);
}

/* Chip r's part of a served load, requests q[0 … nq); lead: the rank's
 * first chip, which makes the router's communicator (once a rank). */
static int serve_init(struct serve *sv, struct run *r, const struct cim_request *q, uint32_t nq,
		      bool lead, struct cim_exec_seq *seqs_out)
{
	const struct cim_part_plan *plan = r->plan;
	const struct cim_part_rank *me = r->me;
	const uint32_t M = plan->micro_batches;

	*sv = (struct serve){ .r = r, .seqs = seqs_out, .sched_comm = MPI_COMM_NULL };
	sv->q = q;
	sv->nq = nq;
	sv->mine = calloc(sv->nq + 1, sizeof(*sv->mine));
	sv->pre = calloc(sv->nq + 1, sizeof(*sv->pre));
	sv->ctx = calloc(sv->nq + 1, sizeof(*sv->ctx));
	sv->gen = calloc(sv->nq + 1, sizeof(*sv->gen));
	sv->s = calloc(sv->nq + 1, sizeof(*sv->s));
	sv->st = calloc(plan->pp, sizeof(*sv->st));
	sv->last = calloc(M, sizeof(*sv->last));
	sv->nlast = calloc(M, sizeof(*sv->nlast));
	sv->inflight = calloc(M, sizeof(*sv->inflight));
	sv->received = calloc(M, sizeof(*sv->received));
	sv->idle = calloc(M, sizeof(*sv->idle));
	sv->ready = calloc(M, sizeof(*sv->ready));
	sv->lb = calloc(M, sizeof(*sv->lb));
	sv->tok_ps = calloc(M, sizeof(*sv->tok_ps));
	sv->iter = calloc(M, sizeof(*sv->iter));
	if (!sv->mine || !sv->pre || !sv->ctx || !sv->gen || !sv->s || !sv->st || !sv->last ||
	    !sv->nlast || !sv->inflight || !sv->received || !sv->idle || !sv->ready || !sv->lb ||
	    !sv->tok_ps || !sv->iter)
		return cim_err_set(r->err, "rank %u: out of memory for %u requests", me->rank,
				   sv->nq);
	/* the router: least-outstanding routes as the load runs (on the
	 * scheduling ranks, route_round()); round-robin deals request i to
	 * replica i mod dp */
	const bool sched_rank = me->stage == 0 && me->tp_index == 0;
	sv->dynamic = r->e->serving.router == CIM_ROUTE_LEAST_OUTSTANDING && plan->dp > 1;
	if (sv->dynamic && lead) {
		MPI_Comm_split(r->comm, sched_rank ? 0 : MPI_UNDEFINED, (int)me->replica,
			       &sv->sched_comm);
		sv->sent = calloc(plan->dp, sizeof(*sv->sent));
		sv->seen_done = calloc(plan->dp, sizeof(*sv->seen_done));
		sv->ends = calloc(plan->dp, sizeof(*sv->ends));
		sv->nends = calloc(plan->dp, sizeof(*sv->nends));
		sv->capends = calloc(plan->dp, sizeof(*sv->capends));
		sv->fresh = calloc(sv->nq + 1, sizeof(*sv->fresh));
		if (!sv->sent || !sv->seen_done || !sv->ends || !sv->nends || !sv->capends ||
		    !sv->fresh)
			return cim_err_set(r->err, "rank %u: out of memory for the router",
					   me->rank);
	} else if (!sv->dynamic) {
		for (uint32_t i = me->replica; i < sv->nq; i += plan->dp)
			sv->mine[sv->nmine++] = i;
	}
	sv->room_bits = r->kv_room * 8;
	/* every stage of the replica as the scheduler tracks it */
	for (uint32_t s = 0; s < plan->pp; s++) {
		struct stage_kv *st = &sv->st[s];
		st->room_bits = UINT64_MAX;
		for (uint32_t j = 0; j < plan->tp; j++) {
			const struct cim_part_rank *o =
			    &plan->ranks[me->replica * plan->pp * plan->tp + s * plan->tp + j];
			uint64_t room = exec_kv_room(r->e, o) * 8;
			uint64_t bits = cim_part_kv_bits_per_pos(r->e, o);
			/* the member whose room lasts fewest positions binds */
			if (room / (bits ? bits : 1) < st->room_bits / (st->bits ? st->bits : 1) ||
			    st->room_bits == UINT64_MAX) {
				st->room_bits = room;
				st->bits = bits;
			}
			st->first = o->first_layer;
			st->nlayers = o->nlayers;
		}
	}
	return reserve(sv, 64);
}

int exec_serve(struct run *rs, uint32_t G, struct cim_exec_seq *seqs_out)
{
	const struct cim_part_rank *me = rs[0].me;
	struct cim_request *q = NULL;
	uint32_t nq;
	int rc = -1;

	if (cim_serving_requests(rs[0].e, &q, &nq, rs[0].err) < 0)
		return -1;
	/* a rank's chips: its TP group's, all of one stage */
	struct serve *svs = calloc(G, sizeof(*svs));
	if (!svs) {
		cim_err_set(rs[0].err, "rank %u: out of memory", me->rank);
		free(q);
		return -1;
	}
	uint32_t made = 0;
	for (; made < G; made++)
		if (serve_init(&svs[made], &rs[made], q, nq, made == 0, seqs_out) < 0) {
			made++;
			goto out;
		}
	if (me->stage > 0)
		rc = follow(svs, G);
	else if (me->tp_index > 0)
		rc = member(&svs[0]); /* a rank a chip */
	else
		rc = schedule(svs, G);
out:
	for (uint32_t j = 0; j < made; j++)
		serve_free(&svs[j]);
	free(svs);
	free(q);
	return rc;
}
