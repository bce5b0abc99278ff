/*
 * replay.c — prices transfers: a point-to-point over its route, and a
 * collective's schedule replayed step by step from the members' ready times.
 *
 * Model (docs/interconnect-model.md has every equation and its limits):
 * a flow of b bytes over a route of h hops starts when its sender is ready,
 * leaves the sender after ⌈b / B_eff⌉ and arrives Σ latency later
 * (cut-through); B_eff is the least, over the links of its route, of the
 * link's bandwidth divided by the number of flows of the same step that
 * cross it (and the chip's injection bandwidth divided by the flows it sends
 * in the step).  A member is ready for the next step when its own sends have
 * left and everything sent to it has arrived.  Not here: the topology
 * (topo.c) and the algorithms' schedules (algo.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

uint64_t net_ser_ps(uint64_t bytes, double bw)
{
	double x = (double)bytes * 1e12 / bw;
	double r = nearbyint(x);

	/* Ceil, but a value within binary rounding of a whole ps is that ps, so
	 * that exact decimal figures (1 MiB at 100 GB/s) are not pushed up by one. */
	if (fabs(x - r) <= 1e-9 * fmax(1.0, x))
		return cim_ps_ceil(r);
	return cim_ps_ceil(x);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void cim_net_p2p(const struct cim_net *net, uint32_t src, uint32_t dst, uint64_t bytes,
		 uint64_t ready_ps, uint64_t port_free_ps, struct cim_net_xfer *out)
{
	uint32_t ids[NET_ROUTE_MAX], h;
	double bw = net->injection_bps > 0 ? net->injection_bps : INFINITY, pj = 0;
	uint64_t lat = 0, ser;

	h = net_route_pos(net, net->pos_of_rank[src], net->pos_of_rank[dst], ids);
	if (h == 0) { /* to itself: nothing crosses a link */
		*out = (struct cim_net_xfer){ .depart_ps = ready_ps,
					      .port_free_ps = port_free_ps,
					      .arrive_ps = ready_ps,
					      .port = CIM_NET_NO_PORT };
		return;
	}
	out->port = net->injection_bps > 0 ? net->nlinks : ids[0];
	for (uint32_t i = 0; i < h; i++) {
		double lbw, lpj;
		uint64_t llat;

		net_link_cost(net, ids[i], &lbw, &llat, &lpj);
		bw = fmin(bw, lbw);
		lat += llat;
		pj += lpj;
	}
	ser = net_ser_ps(bytes, bw);
	out->depart_ps = max_u64(ready_ps, port_free_ps);
	out->port_free_ps = out->depart_ps + ser;
	out->arrive_ps = out->depart_ps + lat + ser;
	out->hops = h;
	out->energy_pj = (double)bytes * 8.0 * pj;
}

/* ------------------------------------------------------------ collectives */

static const char *const coll_names[CIM_NET_NCOLL] = {
	[CIM_NET_ALLREDUCE] = "all-reduce",	     [CIM_NET_ALLGATHER] = "all-gather",
	[CIM_NET_REDUCE_SCATTER] = "reduce-scatter", [CIM_NET_BROADCAST] = "broadcast",
	[CIM_NET_ALLTOALL] = "all-to-all",
};

const char *cim_net_coll_name(enum cim_net_coll c)
{
	return (unsigned)c < CIM_NET_NCOLL ? coll_names[c] : "?";
}

const char *cim_net_algo_name(enum cim_net_algo a)
{
	if (a == CIM_NET_ALGO_AUTO)
		return "auto";
	return (unsigned)a < CIM_NET_NALGO ? cim_net_algos[a].name : "?";
}

bool cim_net_algo_parse(const char *word, enum cim_net_algo *out)
{
	for (unsigned a = 0; a <= CIM_NET_ALGO_AUTO; a++)
		if (strcmp(word, cim_net_algo_name((enum cim_net_algo)a)) == 0) {
			*out = (enum cim_net_algo)a;
			return true;
		}
	return false;
}

double cim_net_busbw_factor(enum cim_net_coll c, uint32_t p)
{
	if (p == 0)
		return 0;
	switch (c) {
	case CIM_NET_ALLREDUCE:
		return 2.0 * (p - 1) / p;
	case CIM_NET_ALLGATHER:
	case CIM_NET_REDUCE_SCATTER:
	case CIM_NET_ALLTOALL:
		return (double)(p - 1) / p;
	default:
		return 1.0;
	}
}

/*
 * A replay in two parts.  What a flow costs — its serialisation under the
 * step's link sharing and the injection limit, its latency, its energy and
 * the bytes it puts on each link — depends on the schedule and where the
 * members sit, not on when they are ready; compile() works it out once per
 * schedule and placement.  propagate() then carries the ready times through
 * the steps: a member is free to send when its previous step ended, and a
 * receiver finishes when the last flow to it arrived.  A run repeats the
 * same few collectives with new ready times, so only propagate() is paid
 * each time (docs/interconnect-model.md, "Cost").
 */
struct cflow {
	uint32_t src, dst; /* members, 0..n */
	uint64_t ser, lat;
};

struct calgo {
	bool ok;
	struct cflow *f;
	size_t nf, nsteps;
	size_t *step_end;
	struct cim_net_coll_result res; /* all but finish_max_ps */
	uint64_t *link_bytes;		/* [nlinks] */
	uint64_t d0;			/* its last finish when all are ready at 0 */
};

struct cim_net_coll_plan {
	uint32_t n, nlinks;
	enum cim_net_algo algo; /* as asked: one, or auto */
	struct calgo a[CIM_NET_NALGO];
	unsigned order[CIM_NET_NALGO]; /* auto: those that apply, by d0 */
	unsigned norder;
	uint64_t *t, *nt, *fin; /* [n] scratch of propagate() and of auto */
};

/* Scratch of compile(), sized for the schedule's largest step. */
struct scratch {
	uint32_t *route; /* link ids of every flow of the step, back to back */
	size_t route_cap;
	size_t *route_off;   /* [flows + 1] */
	uint32_t *sorted;    /* route, sorted, for counting flows per link */
	uint32_t *out_flows; /* [n]: flows each member sends in the step */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Flows of the step crossing link id: its count in the sorted array. */
static uint32_t link_load(const uint32_t *sorted, size_t len, uint32_t id)
{
	size_t lo = 0, hi = len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < len && sorted[hi] == id; hi++)
		;
	return (uint32_t)(hi - lo);
}

/* Compiles schedule s of groups of p members over ranks[0..n) into *c. */
static int compile(const struct cim_net *net, const struct sched *s, uint32_t p,
		   const uint32_t *ranks, uint32_t n, struct calgo *c, struct cim_err *err)
{
	uint32_t ngroups = n / p;
	size_t maxf = 0;
	struct scratch w = { 0 };
	struct cim_net_coll_result *res = &c->res;
	int rc = -1;

	for (size_t st = 0, b = 0; st < s->nsteps; b = s->step_end[st++])
		if (s->step_end[st] - b > maxf)
			maxf = s->step_end[st] - b;
	maxf *= ngroups;
	w.route_off = malloc((maxf + 1) * sizeof(*w.route_off));
	w.out_flows = calloc(n, sizeof(*w.out_flows));
	c->f = malloc((s->nf > 0 ? s->nf * ngroups : 1) * sizeof(*c->f));
	c->step_end = malloc((s->nsteps ? s->nsteps : 1) * sizeof(*c->step_end));
	c->link_bytes = calloc(net->nlinks ? net->nlinks : 1, sizeof(*c->link_bytes));
	if (!w.route_off || !w.out_flows || !c->f || !c->step_end || !c->link_bytes)
		goto err_oom;
	res->bytes = 0;
	res->link_bytes = 0;
	res->energy_pj = 0;
	c->nf = 0;
	for (size_t st = 0, b = 0; st < s->nsteps; b = s->step_end[st++]) {
		size_t e = s->step_end[st], nf = (e - b) * ngroups, len = 0;

		/* Routes of every flow of the step, all groups together. */
		for (size_t k = 0; k < nf; k++) {
			const struct flow *f = &s->f[b + k % (e - b)];
			uint32_t g = (uint32_t)(k / (e - b));
			uint32_t pa = net->pos_of_rank[ranks[g * p + f->src]];
			uint32_t pb = net->pos_of_rank[ranks[g * p + f->dst]];

			if (len + net->max_hops > w.route_cap) {
				size_t cap = 2 * (len + net->max_hops);
				uint32_t *r = realloc(w.route, cap * sizeof(*r));

				if (!r)
					goto err_oom;
				w.route = r;
				w.route_cap = cap;
			}
			w.route_off[k] = len;
			len += net_route_pos(net, pa, pb, w.route + len);
			w.out_flows[g * p + f->src]++;
		}
		w.route_off[nf] = len;
		free(w.sorted);
		w.sorted = malloc((len ? len : 1) * sizeof(*w.sorted));
		if (!w.sorted)
			goto err_oom;
		memcpy(w.sorted, w.route, len * sizeof(*w.sorted));
		qsort(w.sorted, len, sizeof(*w.sorted), cmp_u32);

		for (size_t k = 0; k < nf; k++) {
			const struct flow *f = &s->f[b + k % (e - b)];
			uint32_t g = (uint32_t)(k / (e - b));
			uint32_t src = g * p + f->src, dst = g * p + f->dst;
			double bw = INFINITY, pj = 0;
			uint64_t lat = 0;

			if (net->injection_bps > 0)
				bw = net->injection_bps / w.out_flows[src];
			for (size_t i = w.route_off[k]; i < w.route_off[k + 1]; i++) {
				double lbw, lpj;
				uint64_t llat;
				uint32_t id = w.route[i];

				net_link_cost(net, id, &lbw, &llat, &lpj);
				bw = fmin(bw, lbw / link_load(w.sorted, len, id));
				lat += llat;
				pj += lpj;
				c->link_bytes[id] += f->bytes;
			}
			c->f[c->nf++] = (struct cflow){
				.src = src, .dst = dst, .ser = net_ser_ps(f->bytes, bw), .lat = lat
			};
			res->bytes += f->bytes;
			res->link_bytes += f->bytes * (w.route_off[k + 1] - w.route_off[k]);
			res->energy_pj += (double)f->bytes * 8.0 * pj;
		}
		c->step_end[st] = c->nf;
		memset(w.out_flows, 0, n * sizeof(*w.out_flows));
	}
	c->nsteps = s->nsteps;
	res->steps = (uint32_t)s->nsteps;
	rc = 0;
	goto out;
err_oom:
	cim_err_set(err, "collective: out of memory");
out:
	free(w.route);
	free(w.route_off);
	free(w.sorted);
	free(w.out_flows);
	return rc;
}

/* Carries ready[0..n) through compiled c into fin[]; returns the latest. */
static uint64_t propagate(const struct calgo *c, const uint64_t *ready, uint32_t n, uint64_t *t,
			  uint64_t *nt, uint64_t *fin)
{
	uint64_t last = 0;

	memcpy(t, ready, n * sizeof(*t));
	for (size_t st = 0, b = 0; st < c->nsteps; b = c->step_end[st++]) {
		memcpy(nt, t, n * sizeof(*t));
		for (size_t k = b; k < c->step_end[st]; k++) {
			const struct cflow *f = &c->f[k];
			nt[f->src] = max_u64(nt[f->src], t[f->src] + f->ser);
			nt[f->dst] = max_u64(nt[f->dst], t[f->src] + f->lat + f->ser);
		}
		memcpy(t, nt, n * sizeof(*t));
	}
	memcpy(fin, t, n * sizeof(*fin));
	for (uint32_t i = 0; i < n; i++)
		last = max_u64(last, fin[i]);
	return last;
}

/* Writes the schedule of algo for the request; -1 with err when it does not apply. */
static int schedule(enum cim_net_algo algo, const struct cim_net_coll_req *req, uint32_t p,
		    struct sched *s, struct cim_err *err)
{
	sched_fn fn = cim_net_algos[algo].coll[req->coll];

	if (!fn)
		return cim_err_set(err, "%s has no %s algorithm", cim_net_coll_name(req->coll),
				   cim_net_algo_name(algo));
	s->chunks = req->coll == CIM_NET_ALLTOALL ? req->chunks : NULL;
	if (fn(s, p, req->bytes, req->root, err))
		return -1;
	if (s->oom)
		return cim_err_set(err, "collective: out of memory");
	return 0;
}

static int check_members(const struct cim_net *net, const struct cim_net_coll_req *req,
			 const uint32_t *ranks, uint32_t n, uint32_t p, struct cim_err *err)
{
	bool *seen;

	if (n == 0)
		return cim_err_set(err, "collective: no members");
	if ((unsigned)req->coll >= CIM_NET_NCOLL || (unsigned)req->algo > CIM_NET_ALGO_AUTO)
		return cim_err_set(err, "collective: unknown collective or algorithm");
	if (n % p)
		return cim_err_set(err, "collective: %u members do not split into groups of %u", n,
				   p);
	if (req->coll == CIM_NET_BROADCAST && req->root >= p)
		return cim_err_set(err, "broadcast: root %u is not a member of a group of %u",
				   req->root, p);
	seen = calloc(net->nranks, sizeof(*seen));
	if (!seen)
		return cim_err_set(err, "collective: out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (i % p == 0)
			memset(seen, 0, net->nranks * sizeof(*seen));
		if (ranks[i] >= net->nranks) {
			free(seen);
			return cim_err_set(err, "collective: rank %u is not one of the %u ranks",
					   ranks[i], net->nranks);
		}
		if (seen[ranks[i]]) {
			free(seen);
			return cim_err_set(err, "collective: rank %u is twice in one group",
					   ranks[i]);
		}
		seen[ranks[i]] = true;
	}
	free(seen);
	return 0;
}

static void calgo_free(struct calgo *c)
{
	free(c->f);
	free(c->step_end);
	free(c->link_bytes);
	*c = (struct calgo){ 0 };
}

/* Schedules and compiles one algorithm into *c; *oom says whether a
 * failure was memory (else the algorithm does not apply). */
static int compile_algo(const struct cim_net *net, enum cim_net_algo algo,
			const struct cim_net_coll_req *req, uint32_t p, const uint32_t *ranks,
			uint32_t n, struct calgo *c, bool *oom, struct cim_err *err)
{
	struct sched s = { 0 };
	uint32_t *board = NULL;
	int rc;

	/* each member's board, for the schedules that keep traffic within
	 * one (every group laid out as the first) */
	if (net->hier) {
		board = malloc(p * sizeof(*board));
		if (!board) {
			*oom = true;
			return cim_err_set(err, "collective: out of memory");
		}
		for (uint32_t i = 0; i < p; i++)
			board[i] = net->pos_of_rank[ranks[i]] / net->bsize;
		s.board = board;
	}
	rc = schedule(algo, req, p, &s, err);
	*oom = rc && s.oom;
	if (!rc) {
		rc = compile(net, &s, p, ranks, n, c, err);
		*oom = rc != 0;
	}
	c->res.algo = algo;
	c->ok = rc == 0;
	if (rc)
		calgo_free(c);
	sched_free(&s);
	free(board);
	return rc;
}

int cim_net_coll_plan_make(const struct cim_net *net, const struct cim_net_coll_req *req,
			   const uint32_t *ranks, uint32_t n, struct cim_net_coll_plan **out,
			   struct cim_err *err)
{
	uint32_t p = req->group_size ? req->group_size : n;
	struct cim_net_coll_plan *pl;
	bool any = false;

	if (check_members(net, req, ranks, n, p, err))
		return -1;
	pl = calloc(1, sizeof(*pl));
	if (!pl || !(pl->t = malloc(n * sizeof(*pl->t))) ||
	    !(pl->nt = malloc(n * sizeof(*pl->nt))) || !(pl->fin = malloc(n * sizeof(*pl->fin)))) {
		cim_net_coll_plan_free(pl);
		return cim_err_set(err, "collective: out of memory");
	}
	pl->n = n;
	pl->nlinks = net->nlinks;
	pl->algo = req->algo;
	for (unsigned a = 0; a < CIM_NET_NALGO; a++) {
		struct cim_err skip;
		bool oom;
		if (req->algo != CIM_NET_ALGO_AUTO && a != (unsigned)req->algo)
			continue;
		if (req->algo == CIM_NET_ALGO_AUTO && !cim_net_algos[a].coll[req->coll])
			continue;
		if (compile_algo(net, (enum cim_net_algo)a, req, p, ranks, n, &pl->a[a], &oom,
				 req->algo == CIM_NET_ALGO_AUTO ? &skip : err) == 0) {
			any = true;
		} else if (req->algo != CIM_NET_ALGO_AUTO || oom) {
			/* auto skips an algorithm that does not apply, not a
			 * failure of memory */
			cim_net_coll_plan_free(pl);
			return oom ? cim_err_set(err, "collective: out of memory") : -1;
		}
	}
	if (!any) {
		cim_net_coll_plan_free(pl);
		cim_err_set(err, "%s: no algorithm applies to a group of %u",
			    cim_net_coll_name(req->coll), p);
		return -2;
	}
	/* Every member ready at 0: the least each algorithm can take (a
	 * finish only grows with a ready time, and moves with all of them),
	 * so auto tries them from the fastest there and skips one that
	 * cannot win (docs/interconnect-model.md, "Cost"). */
	memset(pl->fin, 0, n * sizeof(*pl->fin));
	for (unsigned a = 0; a < CIM_NET_NALGO; a++) {
		if (!pl->a[a].ok)
			continue;
		pl->a[a].d0 = propagate(&pl->a[a], pl->fin, n, pl->t, pl->nt, pl->fin);
		memset(pl->fin, 0, n * sizeof(*pl->fin));
		unsigned i = pl->norder++;
		while (i > 0 && pl->a[pl->order[i - 1]].d0 > pl->a[a].d0) {
			pl->order[i] = pl->order[i - 1];
			i--;
		}
		pl->order[i] = a;
	}
	*out = pl;
	return 0;
}

void cim_net_coll_plan_free(struct cim_net_coll_plan *pl)
{
	if (!pl)
		return;
	for (unsigned a = 0; a < CIM_NET_NALGO; a++)
		calgo_free(&pl->a[a]);
	free(pl->t);
	free(pl->nt);
	free(pl->fin);
	free(pl);
}

/* Algorithm a of pl from ready into fin and *res. */
static void plan_one(struct cim_net_coll_plan *pl, unsigned a, const uint64_t *ready, uint64_t *fin,
		     struct cim_net_coll_result *res)
{
	*res = pl->a[a].res;
	res->finish_max_ps = propagate(&pl->a[a], ready, pl->n, pl->t, pl->nt, fin);
}

enum cim_net_algo cim_net_coll_plan_run(struct cim_net_coll_plan *pl, const uint64_t *ready_ps,
					uint64_t *finish_ps_out,
					struct cim_net_coll_result *res_out,
					const uint64_t **link_bytes_out)
{
	unsigned best = (unsigned)pl->algo;

	if (pl->algo != CIM_NET_ALGO_AUTO) {
		plan_one(pl, best, ready_ps, finish_ps_out, res_out);
	} else {
		/* the fastest, ties to the first in table order: each into the
		 * scratch, the best kept in the caller's arrays.  Tried from the
		 * fastest with all ready at 0; one whose least possible finish,
		 * the earliest ready time + d0, cannot beat (or tie from earlier
		 * in the table) the best so far is skipped: the same choice as
		 * trying all, bit for bit. */
		uint64_t first = UINT64_MAX;
		for (uint32_t i = 0; i < pl->n; i++)
			first = ready_ps[i] < first ? ready_ps[i] : first;
		best = CIM_NET_NALGO;
		for (unsigned j = 0; j < pl->norder; j++) {
			const unsigned a = pl->order[j];
			const uint64_t least = first + pl->a[a].d0;
			if (best != CIM_NET_NALGO &&
			    (least > res_out->finish_max_ps ||
			     (least == res_out->finish_max_ps && a > best)))
				continue;
			struct cim_net_coll_result r = pl->a[a].res;
			r.finish_max_ps =
			    propagate(&pl->a[a], ready_ps, pl->n, pl->t, pl->nt, pl->fin);
			if (best == CIM_NET_NALGO || r.finish_max_ps < res_out->finish_max_ps ||
			    (r.finish_max_ps == res_out->finish_max_ps && a < best)) {
				best = a;
				*res_out = r;
				memcpy(finish_ps_out, pl->fin, pl->n * sizeof(*pl->fin));
			}
		}
	}
	if (link_bytes_out)
		*link_bytes_out = pl->a[best].link_bytes;
	return (enum cim_net_algo)best;
}

int cim_net_collective(const struct cim_net *net, const struct cim_net_coll_req *req,
		       const uint32_t *ranks, const uint64_t *ready_ps, uint32_t n,
		       uint64_t *finish_ps_out, uint64_t *link_bytes_out,
		       struct cim_net_coll_result *res_out, struct cim_err *err)
{
	struct cim_net_coll_plan *pl;
	const uint64_t *lb;

	if (cim_net_coll_plan_make(net, req, ranks, n, &pl, err))
		return -1;
	cim_net_coll_plan_run(pl, ready_ps, finish_ps_out, res_out, &lb);
	if (link_bytes_out)
		for (uint32_t id = 0; id < pl->nlinks; id++)
			link_bytes_out[id] += lb[id];
	cim_net_coll_plan_free(pl);
	return 0;
}

int cim_net_collective_each(const struct cim_net *net, const struct cim_net_coll_req *req,
			    const uint32_t *ranks, const uint64_t *ready_ps, uint32_t n,
			    struct cim_net_coll_result res_out[CIM_NET_NALGO],
			    bool ok_out[CIM_NET_NALGO], enum cim_net_algo *fastest_out,
			    struct cim_err *err)
{
	struct cim_net_coll_req all = *req;
	struct cim_net_coll_plan *pl;
	uint64_t *fin;

	all.algo = CIM_NET_ALGO_AUTO; /* every algorithm, whatever req asked */
	int rc = cim_net_coll_plan_make(net, &all, ranks, n, &pl, err);
	if (rc) {
		if (rc != -2)
			return -1;
		for (unsigned a = 0; a < CIM_NET_NALGO; a++) {
			res_out[a] = (struct cim_net_coll_result){ .algo = (enum cim_net_algo)a };
			ok_out[a] = false;
		}
		*fastest_out = CIM_NET_ALGO_AUTO;
		return 0;
	}
	fin = malloc(n * sizeof(*fin));
	if (!fin) {
		cim_net_coll_plan_free(pl);
		return cim_err_set(err, "collective: out of memory");
	}
	/* the fastest as auto picks it: ties to the first in table order */
	*fastest_out = CIM_NET_ALGO_AUTO;
	for (unsigned a = 0; a < CIM_NET_NALGO; a++) {
		ok_out[a] = pl->a[a].ok;
		res_out[a] = (struct cim_net_coll_result){ .algo = (enum cim_net_algo)a };
		if (!ok_out[a])
			continue;
		plan_one(pl, a, ready_ps, fin, &res_out[a]);
		if (*fastest_out == CIM_NET_ALGO_AUTO ||
		    res_out[a].finish_max_ps < res_out[*fastest_out].finish_max_ps)
			*fastest_out = (enum cim_net_algo)a;
	}
	free(fin);
	cim_net_coll_plan_free(pl);
	return 0;
}
