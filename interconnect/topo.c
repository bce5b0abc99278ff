/*
 * topo.c — topologies: the links of each one, its routes, and the layout of
 * a whole net (flat, or boards on a network) with the placement of ranks.
 *
 * Each topology is a row of a small table (struct topo_ops) working on local
 * positions and link ids of one level; this file composes levels into
 * global nodes, links and routes.  Timing is in replay.c.
 */
#include <stdlib.h>

#include "net_int.h"

/* ------------------------------------------------------------------ ring */

/* Link 2i goes i → i+1 (clockwise), link 2i+1 goes i → i−1 (mod n). */
static uint32_t ring_nlinks(const struct level *lv)
{
	return lv->n > 1 ? 2 * lv->n : 0;
}

static bool ring_ends(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to)
{
	uint32_t i = id / 2;

	if (id >= ring_nlinks(lv))
		return false;
	*from = i;
	*to = id % 2 ? (i + lv->n - 1) % lv->n : (i + 1) % lv->n;
	return true;
}

/*
 * The shorter way round.  A half-way flow (d = n/2, both ways equally long)
 * goes clockwise when its source a is even and counter-clockwise when a is
 * odd.  Always clockwise would put every half-way flow of a step on the
 * clockwise links and leave the others idle: halving-doubling's first step
 * on a ring of 8 (i → i+4 for all i) would load each clockwise link with
 * 8 · 4 / 8 = 4 flows; split by parity, each link of either direction
 * carries 2.  The rule is a function of the source alone, so every member
 * computes the same route (docs/interconnect-model.md, "Topologies and
 * routes").
 */
static uint32_t ring_route(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids)
{
	uint32_t n = lv->n, d = (b + n - a) % n, h = 0;

	if (d < n - d || (d == n - d && a % 2 == 0))
		for (uint32_t k = 0; k < d; k++)
			ids[h++] = 2 * ((a + k) % n);
	else
		for (uint32_t k = 0; k < n - d; k++)
			ids[h++] = 2 * ((a + n - k) % n) + 1;
	return h;
}

static uint32_t ring_diameter(const struct level *lv)
{
	return lv->n / 2;
}

/* --------------------------------------------------------- mesh and torus */

/* Link 4p + dir leaves position p = y·cols + x; dir 0: +x, 1: −x, 2: +y, 3: −y. */
static uint32_t grid_nlinks(const struct level *lv)
{
	return 4 * lv->n;
}

static bool grid_step(const struct level *lv, bool wrap, uint32_t p, uint32_t dir, uint32_t *q)
{
	uint32_t x = p % lv->cols, y = p / lv->cols;
	uint32_t len = dir < 2 ? lv->cols : lv->rows;
	uint32_t c = dir < 2 ? x : y;
	uint32_t nc;

	if (len < 2)
		return false;
	if (dir % 2 == 0) {
		if (c + 1 == len && !wrap)
			return false;
		nc = (c + 1) % len;
	} else {
		if (c == 0 && !wrap)
			return false;
		nc = (c + len - 1) % len;
	}
	*q = dir < 2 ? y * lv->cols + nc : nc * lv->cols + x;
	return true;
}

static bool grid_ends(const struct level *lv, bool wrap, uint32_t id, uint32_t *from, uint32_t *to)
{
	if (id >= grid_nlinks(lv) || !grid_step(lv, wrap, id / 4, id % 4, to))
		return false;
	*from = id / 4;
	return true;
}

static bool mesh_ends(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to)
{
	return grid_ends(lv, false, id, from, to);
}

static bool torus_ends(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to)
{
	return grid_ends(lv, true, id, from, to);
}

/* Dimension order: columns (x) first, then rows (y).  On a torus each
 * dimension goes the shorter way; half-way round a dimension goes the
 * positive way when the source's coordinate in that dimension is even, the
 * negative way when odd, balancing both directions as on a ring. */
static uint32_t grid_route(const struct level *lv, bool wrap, uint32_t a, uint32_t b, uint32_t *ids)
{
	uint32_t h = 0, p = a;

	for (uint32_t dim = 0; dim < 2; dim++) {
		uint32_t len = dim == 0 ? lv->cols : lv->rows;
		uint32_t ca = dim == 0 ? a % lv->cols : a / lv->cols;
		uint32_t cb = dim == 0 ? b % lv->cols : b / lv->cols;
		uint32_t fwd = (cb + len - ca) % len, steps, dir;

		if (wrap) {
			if (fwd != len - fwd)
				dir = fwd < len - fwd ? 0 : 1;
			else
				dir = ca % 2; /* half-way: even positive, odd negative */
			steps = dir == 0 ? fwd : len - fwd;
		} else {
			dir = cb >= ca ? 0 : 1;
			steps = cb >= ca ? cb - ca : ca - cb;
		}
		for (uint32_t k = 0; k < steps; k++) {
			uint32_t q = p;

			ids[h++] = 4 * p + 2 * dim + dir;
			grid_step(lv, wrap, p, 2 * dim + dir, &q);
			p = q;
		}
	}
	return h;
}

static uint32_t mesh_route(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids)
{
	return grid_route(lv, false, a, b, ids);
}

static uint32_t torus_route(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids)
{
	return grid_route(lv, true, a, b, ids);
}

static uint32_t mesh_diameter(const struct level *lv)
{
	return lv->cols - 1 + lv->rows - 1;
}

static uint32_t torus_diameter(const struct level *lv)
{
	return lv->cols / 2 + lv->rows / 2;
}

/* ---------------------------------------------------------------- switch */

/* Link 2i goes position i → switch (node n), link 2i+1 switch → i. */
static uint32_t switch_nlinks(const struct level *lv)
{
	return 2 * lv->n;
}

static bool switch_ends(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to)
{
	if (id >= switch_nlinks(lv))
		return false;
	*from = id % 2 ? lv->n : id / 2;
	*to = id % 2 ? id / 2 : lv->n;
	return true;
}

static uint32_t switch_route(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids)
{
	(void)lv;
	ids[0] = 2 * a;
	ids[1] = 2 * b + 1;
	return 2;
}

static uint32_t switch_diameter(const struct level *lv)
{
	return lv->n > 1 ? 2 : 0;
}

/* ------------------------------------------------------------------ full */

/* Link a·n + b goes a → b (a ≠ b). */
static uint32_t full_nlinks(const struct level *lv)
{
	return lv->n * lv->n;
}

static bool full_ends(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to)
{
	if (id >= full_nlinks(lv) || id / lv->n == id % lv->n)
		return false;
	*from = id / lv->n;
	*to = id % lv->n;
	return true;
}

static uint32_t full_route(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids)
{
	ids[0] = a * lv->n + b;
	return 1;
}

static uint32_t full_diameter(const struct level *lv)
{
	return lv->n > 1 ? 1 : 0;
}

static const struct topo_ops ring_ops = {
	.name = "ring",
	.nlinks = ring_nlinks,
	.ends = ring_ends,
	.route = ring_route,
	.diameter = ring_diameter,
};
static const struct topo_ops mesh_ops = {
	.name = "mesh2d",
	.nlinks = grid_nlinks,
	.ends = mesh_ends,
	.route = mesh_route,
	.diameter = mesh_diameter,
};
static const struct topo_ops torus_ops = {
	.name = "torus2d",
	.nlinks = grid_nlinks,
	.ends = torus_ends,
	.route = torus_route,
	.diameter = torus_diameter,
};
static const struct topo_ops switch_ops = {
	.name = "switch",
	.nlinks = switch_nlinks,
	.ends = switch_ends,
	.route = switch_route,
	.diameter = switch_diameter,
};
static const struct topo_ops full_ops = {
	.name = "full",
	.nlinks = full_nlinks,
	.ends = full_ends,
	.route = full_route,
	.diameter = full_diameter,
};

const struct topo_ops *const cim_net_topos[] = {
	[CIM_NET_TOPO_RING] = &ring_ops,     [CIM_NET_TOPO_MESH2D] = &mesh_ops,
	[CIM_NET_TOPO_TORUS2D] = &torus_ops, [CIM_NET_TOPO_SWITCH] = &switch_ops,
	[CIM_NET_TOPO_FULL] = &full_ops,     [CIM_NET_TOPO_HIER] = NULL,
};

/* ---------------------------------------------------------------- layout */

static void level_init(struct level *lv, const struct cim_net_level_spec *s, enum cim_net_topo topo,
		       uint32_t n, const uint32_t dims[2])
{
	lv->ops = cim_net_topos[topo];
	lv->n = n;
	lv->cols = dims[0];
	lv->rows = dims[1];
	lv->bw = s->link.bandwidth_bps;
	lv->lat_ps = (uint64_t)(s->link.latency_ps + 0.5);
	lv->switch_ps = (uint64_t)(s->switch_latency_ps + 0.5);
	lv->pj_per_bit = s->link.energy_pj_per_bit;
	lv->nlinks = lv->ops->nlinks(lv);
}

int cim_net_create(const struct cim_net_spec *spec, uint32_t nranks, struct cim_net **net_p,
		   struct cim_err *err)
{
	struct cim_net_shape shape;
	struct cim_net *net;

	if (cim_net_check(spec, nranks, &shape, err))
		return -1;
	for (int l = 0; l < (spec->topology == CIM_NET_TOPO_HIER ? 2 : 1); l++)
		if (!(spec->level[l].link.bandwidth_bps > 0))
			return cim_err_set(err, "interconnect '%s': link bandwidth must be above 0",
					   spec->name);
	net = calloc(1, sizeof(*net));
	if (!net)
		goto err_oom;
	net->pos_of_rank = calloc(nranks, sizeof(*net->pos_of_rank));
	if (!net->pos_of_rank)
		goto err_free_net;
	net->shape = shape;
	net->nranks = nranks;
	net->hier = spec->topology == CIM_NET_TOPO_HIER;
	net->bsize = shape.size[0];
	net->boards = shape.size[1];
	net->injection_bps = spec->injection_bps;
	level_init(&net->lv[0], &spec->level[0],
		   net->hier ? spec->level[0].topology : spec->topology, shape.size[0],
		   shape.dims[0]);
	net->nlinks = net->boards * net->lv[0].nlinks;
	net->max_hops = net->lv[0].ops->diameter(&net->lv[0]);
	if (net->hier) {
		level_init(&net->lv[1], &spec->level[1], spec->level[1].topology, shape.size[1],
			   shape.dims[1]);
		net->nlinks += net->lv[1].nlinks;
		/* to the gateway, across the network, from the gateway */
		net->max_hops = 2 * net->max_hops + net->lv[1].ops->diameter(&net->lv[1]);
	}
	if (net->max_hops > NET_ROUTE_MAX) { /* cannot happen within CIM_NET_MAX_POSITIONS */
		cim_err_set(err,
			    "interconnect '%s': routes of %u hops are more than the %u "
			    "allowed",
			    spec->name, net->max_hops, NET_ROUTE_MAX);
		cim_net_destroy(net);
		return -1;
	}
	for (uint32_t r = 0; r < nranks; r++)
		net->pos_of_rank[r] = r;
	for (uint32_t pos = 0; pos < spec->placement.n; pos++)
		net->pos_of_rank[spec->placement.rank[pos]] = pos;
	*net_p = net;
	return 0;

err_free_net:
	free(net);
err_oom:
	return cim_err_set(err, "interconnect '%s': out of memory", spec->name);
}

void cim_net_destroy(struct cim_net *net)
{
	if (!net)
		return;
	free(net->pos_of_rank);
	free(net);
}

uint32_t cim_net_nranks(const struct cim_net *net)
{
	return net->nranks;
}

const struct cim_net_shape *cim_net_shape(const struct cim_net *net)
{
	return &net->shape;
}

uint32_t cim_net_nlinks(const struct cim_net *net)
{
	return net->nlinks;
}

uint32_t cim_net_max_hops(const struct cim_net *net)
{
	return net->max_hops;
}

uint32_t cim_net_position(const struct cim_net *net, uint32_t rank)
{
	return net->pos_of_rank[rank];
}

/*
 * Global nodes: chips 0..P−1 (board b holds b·bsize .. b·bsize + bsize − 1);
 * then one switch per board when boards are switched (P + b); then the
 * network's switch.  A board's gateway to the network is its first chip.
 */
static uint32_t node0(const struct cim_net *net, uint32_t board, uint32_t x)
{
	if (x < net->bsize)
		return board * net->bsize + x;
	return net->shape.positions + board;
}

static uint32_t node1(const struct cim_net *net, uint32_t x)
{
	if (x < net->boards)
		return x * net->bsize;
	return net->shape.positions +
	       (net->lv[0].ops == cim_net_topos[CIM_NET_TOPO_SWITCH] ? net->boards : 0);
}

bool cim_net_link_get(const struct cim_net *net, uint32_t id, struct cim_net_link *out)
{
	uint32_t local0 = net->boards * net->lv[0].nlinks, from, to, l;
	const struct level *lv;

	if (id >= net->nlinks)
		return false;
	l = id < local0 ? 0 : 1;
	lv = &net->lv[l];
	if (l == 0) {
		uint32_t b = id / lv->nlinks;

		if (!lv->ops->ends(lv, id % lv->nlinks, &from, &to))
			return false;
		out->from = node0(net, b, from);
		out->to = node0(net, b, to);
	} else {
		if (!lv->ops->ends(lv, id - local0, &from, &to))
			return false;
		out->from = node1(net, from);
		out->to = node1(net, to);
	}
	out->level = l;
	out->bandwidth_bps = lv->bw;
	out->latency_ps = lv->lat_ps + (to == lv->n ? lv->switch_ps : 0);
	out->energy_pj_per_bit = lv->pj_per_bit;
	return true;
}

/* Appends the route of level 0 on board b from local a to local c. */
static uint32_t route0(const struct cim_net *net, uint32_t b, uint32_t a, uint32_t c, uint32_t *ids)
{
	const struct level *lv = &net->lv[0];
	uint32_t h;

	if (a == c)
		return 0;
	h = lv->ops->route(lv, a, c, ids);
	for (uint32_t i = 0; i < h; i++)
		ids[i] += b * lv->nlinks;
	return h;
}

uint32_t net_route_pos(const struct cim_net *net, uint32_t pa, uint32_t pb, uint32_t *ids)
{
	uint32_t ba = pa / net->bsize, bb = pb / net->bsize, h = 0;
	const struct level *l1 = &net->lv[1];

	if (ba == bb)
		return route0(net, ba, pa % net->bsize, pb % net->bsize, ids);
	h += route0(net, ba, pa % net->bsize, 0, ids + h);
	{
		uint32_t h1 = l1->ops->route(l1, ba, bb, ids + h);

		for (uint32_t i = 0; i < h1; i++)
			ids[h + i] += net->boards * net->lv[0].nlinks;
		h += h1;
	}
	h += route0(net, bb, 0, pb % net->bsize, ids + h);
	return h;
}

uint32_t cim_net_nports(const struct cim_net *net)
{
	return net->nlinks + 1;
}

uint32_t cim_net_port(const struct cim_net *net, uint32_t src, uint32_t dst)
{
	uint32_t ids[NET_ROUTE_MAX];

	if (net_route_pos(net, net->pos_of_rank[src], net->pos_of_rank[dst], ids) == 0)
		return CIM_NET_NO_PORT;
	return net->injection_bps > 0 ? net->nlinks : ids[0];
}

/* Chips are global nodes 0..P−1 by position (node0()). */
uint32_t cim_net_ports_of(const struct cim_net *net, uint32_t rank)
{
	uint32_t n = 0, node = net->pos_of_rank[rank];
	struct cim_net_link l;

	if (net->injection_bps > 0)
		return 1;
	for (uint32_t id = 0; id < net->nlinks; id++)
		if (cim_net_link_get(net, id, &l) && l.from == node)
			n++;
	return n;
}

uint32_t cim_net_route(const struct cim_net *net, uint32_t src, uint32_t dst, uint32_t *links,
		       uint32_t cap)
{
	uint32_t buf[NET_ROUTE_MAX], h;

	if (links && cap >= net->max_hops)
		return net_route_pos(net, net->pos_of_rank[src], net->pos_of_rank[dst], links);
	h = net_route_pos(net, net->pos_of_rank[src], net->pos_of_rank[dst], buf);
	for (uint32_t i = 0; i < h && i < cap; i++)
		links[i] = buf[i];
	return h;
}

void net_link_cost(const struct cim_net *net, uint32_t id, double *bw, uint64_t *lat_ps,
		   double *pj_per_bit)
{
	uint32_t local0 = net->boards * net->lv[0].nlinks, from, to;
	const struct level *lv = &net->lv[id < local0 ? 0 : 1];
	uint32_t local = id < local0 ? id % lv->nlinks : id - local0;

	*bw = lv->bw;
	*pj_per_bit = lv->pj_per_bit;
	*lat_ps = lv->lat_ps;
	if (lv->ops->ends(lv, local, &from, &to) && to == lv->n)
		*lat_ps += lv->switch_ps;
}
