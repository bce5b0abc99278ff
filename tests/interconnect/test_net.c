/*
 * test_net.c — the interconnect's unit suite: routes and hop counts, the
 * textbook times of every collective algorithm, skew, contention, the
 * hierarchical case, point-to-point, and the checks of a description.
 *
 * Every expected number is worked out by hand in the comment beside it.
 * Most tests use one link: B = 100 GB/s = 1e11 bytes/s, so one byte takes
 * exactly 10 ps, and α = 100 ns = 100,000 ps per hop, 0.5 pJ/bit.  Sizes
 * are powers of two so every chunk is whole and every serialisation exact
 * (no rounding: 1 MiB = 1,048,576 bytes takes 10,485,760 ps).
 */
#include <stdlib.h>

#include "interconnect.h"
#include "test.h"

#define MIB	    1048576ull
#define ALPHA	    100000ull		/* ps, one hop */
#define PS_PER_BYTE 10ull		/* at 100 GB/s */
#define SER_MIB	    (MIB * PS_PER_BYTE) /* 10,485,760 ps */

static struct cim_net_spec spec; /* large (placement); tests fill it afresh */

static void link_set(struct cim_net_link_spec *l, double gbps, double lat_ns, double pj)
{
	l->bandwidth_bps = gbps * 1e9;
	l->latency_ps = lat_ns * 1e3;
	l->energy_pj_per_bit = pj;
}

/* A flat topology of the standard link, sizes derived from the ranks. */
static const struct cim_net_spec *flat(enum cim_net_topo t)
{
	memset(&spec, 0, sizeof(spec));
	snprintf(spec.name, sizeof(spec.name), "test-%s", cim_net_topo_name(t));
	spec.topology = t;
	spec.level[0].topology = t;
	link_set(&spec.level[0].link, 100, 100, 0.5);
	spec.level[0].has_link = true;
	return &spec;
}

static struct cim_net *make(const struct cim_net_spec *s, uint32_t nranks)
{
	struct cim_net *net = NULL;
	struct cim_err err = { "" };

	if (cim_net_create(s, nranks, &net, &err))
		fprintf(stderr, "\n  cim_net_create: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(net);
	return net;
}

/* Runs one collective over ranks 0..n−1 (groups of group_size) from ready[]. */
static struct cim_net_coll_result coll(const struct cim_net *net, enum cim_net_coll c,
				       enum cim_net_algo a, uint64_t bytes, uint32_t n,
				       uint32_t group_size, const uint64_t *ready, uint64_t *fin,
				       uint64_t *link_bytes)
{
	struct cim_net_coll_req req = {
		.coll = c, .algo = a, .bytes = bytes, .group_size = group_size
	};
	struct cim_net_coll_result res = { 0 };
	uint32_t ranks[64];
	uint64_t zero[64] = { 0 };
	struct cim_err err = { "" };

	for (uint32_t i = 0; i < n; i++)
		ranks[i] = i;
	if (cim_net_collective(net, &req, ranks, ready ? ready : zero, n, fin, link_bytes, &res,
			       &err)) {
		fprintf(stderr, "\n  cim_net_collective: %s\n", err.msg);
		CU_FAIL("collective failed");
	}
	return res;
}

/* ------------------------------------------------------------- routes */

static void test_ring_routes(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	uint32_t ids[8];
	struct cim_net_link l;

	/* 0 → 3: 3 hops clockwise (links 0, 2, 4); 0 → 5: 8 − 5 = 3 hops the
	 * other way; 0 → 4 and 1 → 5 are half-way, 4 hops: clockwise from the
	 * even source 0 (links 2i for i = 0..3: 0, 2, 4, 6; the last 3 → 4),
	 * counter-clockwise from the odd source 1 (1 → 0 → 7 → 6 → 5: links
	 * 2i + 1 for i = 1, 0, 7, 6: 3, 1, 15, 13; the first 1 → 0, the last
	 * 6 → 5). */
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 3, ids, 8), 3);
	CIM_ASSERT_EQ_U64(ids[0], 0);
	CIM_ASSERT_EQ_U64(ids[2], 4);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 5, ids, 8), 3);
	CU_ASSERT(cim_net_link_get(net, ids[0], &l));
	CIM_ASSERT_EQ_U64(l.from, 0);
	CIM_ASSERT_EQ_U64(l.to, 7);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 4, ids, 8), 4);
	CIM_ASSERT_EQ_U64(ids[0], 0);
	CIM_ASSERT_EQ_U64(ids[1], 2);
	CIM_ASSERT_EQ_U64(ids[2], 4);
	CIM_ASSERT_EQ_U64(ids[3], 6);
	CU_ASSERT(cim_net_link_get(net, ids[3], &l));
	CIM_ASSERT_EQ_U64(l.from, 3);
	CIM_ASSERT_EQ_U64(l.to, 4);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 1, 5, ids, 8), 4);
	CIM_ASSERT_EQ_U64(ids[0], 3);
	CIM_ASSERT_EQ_U64(ids[1], 1);
	CIM_ASSERT_EQ_U64(ids[2], 15);
	CIM_ASSERT_EQ_U64(ids[3], 13);
	CU_ASSERT(cim_net_link_get(net, ids[0], &l));
	CIM_ASSERT_EQ_U64(l.from, 1);
	CIM_ASSERT_EQ_U64(l.to, 0);
	CU_ASSERT(cim_net_link_get(net, ids[3], &l));
	CIM_ASSERT_EQ_U64(l.from, 6);
	CIM_ASSERT_EQ_U64(l.to, 5);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 6, 6, ids, 8), 0);
	CIM_ASSERT_EQ_U64(cim_net_max_hops(net), 4); /* ⌊8/2⌋ */
	cim_net_destroy(net);
}

static void test_mesh_torus_hops(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_MESH2D);
	struct cim_net *net;
	struct cim_net_link l;
	uint32_t ids[16];

	/* 4×4 mesh, position = y·4 + x.  0 (0,0) → 15 (3,3): 3 + 3 = 6 hops;
	 * 0 → 10 (2,2): 4; 5 (1,1) → 6 (2,1): 1; diameter 3 + 3 = 6. */
	s->level[0].dims[0] = s->level[0].dims[1] = 4;
	net = make(s, 16);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 15, ids, 16), 6);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 10, ids, 16), 4);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 5, 6, ids, 16), 1);
	CIM_ASSERT_EQ_U64(cim_net_max_hops(net), 6);
	/* Dimension order: 0 → 5 goes +x to 1 first, then +y to 5. */
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 5, ids, 16), 2);
	CU_ASSERT(cim_net_link_get(net, ids[0], &l));
	CIM_ASSERT_EQ_U64(l.to, 1);
	CU_ASSERT(cim_net_link_get(net, ids[1], &l));
	CIM_ASSERT_EQ_U64(l.from, 1);
	CIM_ASSERT_EQ_U64(l.to, 5);
	/* A mesh edge has no link leaving it: −x of position 0 is link 1. */
	CU_ASSERT(!cim_net_link_get(net, 1, &l));
	cim_net_destroy(net);

	/* 4×4 torus: 0 → 15 wraps both ways: 1 + 1 = 2 hops; 0 → 10 is
	 * half-way in both dimensions: 2 + 2 = 4; 0 → 3: 1 (wrap −x);
	 * diameter 2 + 2 = 4. */
	s->topology = s->level[0].topology = CIM_NET_TOPO_TORUS2D;
	net = make(s, 16);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 15, ids, 16), 2);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 10, ids, 16), 4);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 3, ids, 16), 1);
	CU_ASSERT(cim_net_link_get(net, ids[0], &l));
	CIM_ASSERT_EQ_U64(l.to, 3);
	CIM_ASSERT_EQ_U64(cim_net_max_hops(net), 4);
	/* Half-way in a dimension goes the positive way from an even
	 * coordinate, the negative way from an odd one (link 4p + dir; dir 0
	 * +x, 1 −x, 2 +y, 3 −y).  0 (0,0) → 10 (2,2): x = 0 even, +x 0 → 1 → 2
	 * (links 0, 4); y = 0 even, +y 2 → 6 → 10 (links 10, 26).
	 * 5 (1,1) → 15 (3,3): x = 1 odd, −x 5 → 4 → 7 (links 21, 17, the
	 * second wrapping (0,1) → (3,1)); y = 1 odd, −y 7 → 3 → 15 (links 31,
	 * 15, the second wrapping (3,0) → (3,3)). */
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 10, ids, 16), 4);
	CIM_ASSERT_EQ_U64(ids[0], 0);
	CIM_ASSERT_EQ_U64(ids[1], 4);
	CIM_ASSERT_EQ_U64(ids[2], 10);
	CIM_ASSERT_EQ_U64(ids[3], 26);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 5, 15, ids, 16), 4);
	CIM_ASSERT_EQ_U64(ids[0], 21);
	CIM_ASSERT_EQ_U64(ids[1], 17);
	CIM_ASSERT_EQ_U64(ids[2], 31);
	CIM_ASSERT_EQ_U64(ids[3], 15);
	CU_ASSERT(cim_net_link_get(net, ids[1], &l));
	CIM_ASSERT_EQ_U64(l.from, 4);
	CIM_ASSERT_EQ_U64(l.to, 7);
	CU_ASSERT(cim_net_link_get(net, ids[3], &l));
	CIM_ASSERT_EQ_U64(l.from, 3);
	CIM_ASSERT_EQ_U64(l.to, 15);
	cim_net_destroy(net);

	/* No dims: 8 ranks make a near-square 4×2 mesh; 0 → 7 (3,1): 4 hops. */
	s->topology = s->level[0].topology = CIM_NET_TOPO_MESH2D;
	s->level[0].dims[0] = s->level[0].dims[1] = 0;
	net = make(s, 8);
	CIM_ASSERT_EQ_U64(cim_net_shape(net)->dims[0][0], 4);
	CIM_ASSERT_EQ_U64(cim_net_shape(net)->dims[0][1], 2);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 7, ids, 16), 4);
	cim_net_destroy(net);
}

static void test_switch_full_routes(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_SWITCH);
	struct cim_net *net;
	struct cim_net_link l;
	uint32_t ids[4];

	/* Star: up to the switch (node 8) and down: 2 hops; the switch's own
	 * latency (50 ns) counts on the link into it: 100 + 50 ns. */
	s->level[0].switch_latency_ps = 50e3;
	net = make(s, 8);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 2, 6, ids, 4), 2);
	CU_ASSERT(cim_net_link_get(net, ids[0], &l));
	CIM_ASSERT_EQ_U64(l.from, 2);
	CIM_ASSERT_EQ_U64(l.to, 8);
	CIM_ASSERT_EQ_U64(l.latency_ps, 150000);
	CU_ASSERT(cim_net_link_get(net, ids[1], &l));
	CIM_ASSERT_EQ_U64(l.to, 6);
	CIM_ASSERT_EQ_U64(l.latency_ps, 100000);
	cim_net_destroy(net);

	net = make(flat(CIM_NET_TOPO_FULL), 8);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 7, 2, ids, 4), 1);
	CIM_ASSERT_EQ_U64(cim_net_nlinks(net), 64);
	cim_net_destroy(net);
}

static void test_placement(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_RING);
	struct cim_net *net;
	static const uint32_t order[4] = { 0, 2, 1, 3 };

	/* Position i holds rank order[i]: rank 1 sits at position 2, so on a
	 * ring of 4, ranks 0 → 1 are 2 hops apart and ranks 0 → 2 one hop. */
	memcpy(s->placement.rank, order, sizeof(order));
	s->placement.n = 4;
	net = make(s, 4);
	CIM_ASSERT_EQ_U64(cim_net_position(net, 1), 2);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 1, NULL, 0), 2);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 2, NULL, 0), 1);
	cim_net_destroy(net);
}

/* --------------------------------------------------------- point-to-point */

static void test_p2p(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	struct cim_net_xfer x, y;

	/* 0 → 5 on a ring of 8 is 3 hops the short way.  1 MiB:
	 * arrive = 3·α + n/B = 300,000 + 10,485,760 = 10,785,760 ps;
	 * energy = 1,048,576 · 8 · 0.5 · 3 = 12,582,912 pJ. */
	cim_net_p2p(net, 0, 5, MIB, 0, 0, &x);
	CIM_ASSERT_EQ_U64(x.hops, 3);
	CIM_ASSERT_EQ_U64(x.depart_ps, 0);
	CIM_ASSERT_EQ_U64(x.port_free_ps, SER_MIB);
	CIM_ASSERT_EQ_U64(x.arrive_ps, 10785760);
	CIM_ASSERT_REL(x.energy_pj, 12582912.0, 1e-12);
	/* A second send ready at 0 waits for the port: it departs at
	 * 10,485,760 and arrives 10,785,760 later, at 21,271,520. */
	cim_net_p2p(net, 0, 5, MIB, 0, x.port_free_ps, &y);
	CIM_ASSERT_EQ_U64(y.depart_ps, 10485760);
	CIM_ASSERT_EQ_U64(y.arrive_ps, 21271520);
	/* Ready after the port is free: it leaves when ready. */
	cim_net_p2p(net, 0, 1, MIB, 50000000, x.port_free_ps, &y);
	CIM_ASSERT_EQ_U64(y.depart_ps, 50000000);
	CIM_ASSERT_EQ_U64(y.arrive_ps, 50000000 + ALPHA + SER_MIB);
	cim_net_destroy(net);
}

/* A chip's ports are its outgoing links, one per direction: two on a
 * ring, three on a full net of 4, one (into the switch) on a star; one
 * when it injects through one interface.  A transfer leaves by the first
 * link of its route, so a ring's two directions are two ports: sends
 * clockwise and counter-clockwise do not wait for each other. */
static void test_ports(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_RING);
	struct cim_net *net = make(s, 8);
	struct cim_net_xfer x, y;
	struct cim_net_link l;
	uint32_t ids[4];

	CIM_ASSERT_EQ_U64(cim_net_ports_of(net, 3), 2);
	CIM_ASSERT_EQ_U64(cim_net_nports(net), cim_net_nlinks(net) + 1);
	CIM_ASSERT_EQ_U64(cim_net_port(net, 3, 3), CIM_NET_NO_PORT);
	cim_net_route(net, 0, 1, ids, 4);
	CIM_ASSERT_EQ_U64(cim_net_port(net, 0, 1), ids[0]);
	CIM_ASSERT_EQ_U64(cim_net_port(net, 0, 2), ids[0]); /* 0 → 1 → 2: the same link */
	cim_net_route(net, 0, 7, ids, 4);
	CIM_ASSERT_EQ_U64(cim_net_port(net, 0, 7), ids[0]);
	CU_ASSERT_NOT_EQUAL(cim_net_port(net, 0, 7), cim_net_port(net, 0, 1));
	CU_ASSERT(cim_net_link_get(net, cim_net_port(net, 0, 7), &l));
	CIM_ASSERT_EQ_U64(l.from, 0);
	CIM_ASSERT_EQ_U64(l.to, 7);
	/* 1 MiB to 1 and 1 MiB to 7 at 0, each on its own port: both leave
	 * at 0 and arrive α + n/B = 10,585,760 ps later. */
	cim_net_p2p(net, 0, 1, MIB, 0, 0, &x);
	cim_net_p2p(net, 0, 7, MIB, 0, 0, &y);
	CIM_ASSERT_EQ_U64(x.arrive_ps, ALPHA + SER_MIB);
	CIM_ASSERT_EQ_U64(y.arrive_ps, ALPHA + SER_MIB);
	CU_ASSERT_NOT_EQUAL(x.port, y.port);
	cim_net_destroy(net);

	net = make(flat(CIM_NET_TOPO_FULL), 4);
	CIM_ASSERT_EQ_U64(cim_net_ports_of(net, 0), 3);
	cim_net_destroy(net);
	net = make(flat(CIM_NET_TOPO_SWITCH), 4);
	CIM_ASSERT_EQ_U64(cim_net_ports_of(net, 2), 1);
	cim_net_destroy(net);
	s = (struct cim_net_spec *)flat(CIM_NET_TOPO_FULL);
	s->injection_bps = 100e9;
	net = make(s, 4);
	CIM_ASSERT_EQ_U64(cim_net_ports_of(net, 0), 1);
	CIM_ASSERT_EQ_U64(cim_net_port(net, 0, 1), cim_net_nlinks(net));
	CIM_ASSERT_EQ_U64(cim_net_port(net, 0, 3), cim_net_nlinks(net)); /* one interface */
	cim_net_destroy(net);
}

/* ------------------------------------------------ textbook collectives */

static void test_ring_allreduce_on_ring(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	uint64_t fin[8], *lb = calloc(cim_net_nlinks(net), sizeof(*lb));
	struct cim_net_coll_result r;

	/* p = 8, n = 8 MiB: 2(p−1)·(α + n/(p·B)) = 14 · (100,000 + 1 MiB · 10 ps)
	 * = 14 · 10,585,760 = 148,200,640 ps, every member alike (all send and
	 * receive one chunk per step on their own clockwise link). */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_RING, 8 * MIB, 8, 0, NULL, fin, lb);
	CIM_ASSERT_EQ_U64(r.steps, 14);
	for (int i = 0; i < 8; i++)
		CIM_ASSERT_EQ_U64(fin[i], 148200640);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 148200640);
	/* Each clockwise link (even id) carries 14 chunks of 1 MiB, the other
	 * direction nothing; energy = 8 links · 14 MiB · 8 bit · 0.5 pJ
	 * = 8 · 14,680,064 · 4 = 469,762,048 pJ. */
	CIM_ASSERT_EQ_U64(lb[0], 14 * MIB);
	CIM_ASSERT_EQ_U64(lb[14], 14 * MIB);
	CIM_ASSERT_EQ_U64(lb[1], 0);
	/* Bytes of all transfers: 2(p−1) steps, each of p flows of n/p:
	 * 14 · 8 · 1 MiB = 112 MiB; every flow is one hop, so the traffic on
	 * links (bytes · hops) is the same 112 MiB = 8 · 14 MiB. */
	CIM_ASSERT_EQ_U64(r.bytes, 14 * 8 * MIB);
	CIM_ASSERT_EQ_U64(r.link_bytes, 8 * 14 * MIB);
	CIM_ASSERT_REL(r.energy_pj, 469762048.0, 1e-12);
	free(lb);
	cim_net_destroy(net);
}

static void test_hd_allreduce_on_full(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_FULL), 8);
	uint64_t fin[8];
	struct cim_net_coll_result r;

	/* p = 8, n = 8 MiB: 2·log2(p)·α + 2·(p−1)/p·n/B
	 * = 6 · 100,000 + 2 · 7/8 · 8,388,608 · 10
	 * = 600,000 + 146,800,640 = 147,400,640 ps
	 * (halving sends n/2, n/4, n/8, doubling n/8, n/4, n/2; each pair
	 * exchanges over its own two links). */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_HD, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.steps, 6);
	for (int i = 0; i < 8; i++)
		CIM_ASSERT_EQ_U64(fin[i], 147400640);
	cim_net_destroy(net);
}

static void test_hd_allreduce_not_pow2(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_FULL), 6);
	uint64_t fin[6];
	struct cim_net_coll_result r;

	/* p = 6: q = 4, r = 2.  Members 0 and 2 hand their n to 1 and 3
	 * (α + n/B), the 4 others run halving-doubling on n
	 * (2·2·α + 2·3/4·n/B), and 1, 3 hand the result back (α + n/B).
	 * n = 4 MiB: 2·(100,000 + 41,943,040) + 400,000 + 1.5 · 41,943,040
	 * = 84,086,080 + 400,000 + 62,914,560 = 147,400,640 ps. */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_HD, 4 * MIB, 6, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.steps, 6);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 147400640);
	CIM_ASSERT_EQ_U64(fin[0], 147400640);
	cim_net_destroy(net);
}

static void test_tree_allreduce_on_full(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_FULL), 8);
	uint64_t fin[8];
	struct cim_net_coll_result r;

	/* Binary tree of 8 in heap order has depth ⌊log2 8⌋ = 3 (member 7 under
	 * 3 under 1 under 0): reduce 3 steps, broadcast 3 steps, each
	 * α + n/B; n = 1 MiB: 2·3·(100,000 + 10,485,760) = 63,514,560 ps.
	 * A leaf at depth 2 (member 4) has its result after 5 steps:
	 * 52,928,800 ps. */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_TREE, MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.steps, 6);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 63514560);
	CIM_ASSERT_EQ_U64(fin[7], 63514560);
	CIM_ASSERT_EQ_U64(fin[4], 52928800);
	cim_net_destroy(net);
}

static void test_direct_allreduce_and_injection(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_FULL);
	struct cim_net *net = make(s, 4);
	uint64_t fin[4];
	struct cim_net_coll_result r;

	/* p = 4, n = 4 MiB, every pair its own link: reduce-scatter in one
	 * step, all-gather in one, each α + n/(p·B):
	 * 2 · (100,000 + 10,485,760) = 21,171,520 ps. */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_DIRECT, 4 * MIB, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.steps, 2);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 21171520);
	cim_net_destroy(net);

	/* A chip that can inject only 100 GB/s in all sends its p − 1 = 3
	 * chunks at a third each: each step α + (p−1)·n/(p·I)
	 * = 100,000 + 3 · 10,485,760 = 31,557,280; two: 63,114,560 ps. */
	s->injection_bps = 100e9;
	net = make(s, 4);
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_DIRECT, 4 * MIB, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 63114560);
	cim_net_destroy(net);
}

static void test_allgather_reduce_scatter_broadcast(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	struct cim_net_spec *s;
	uint64_t fin[8];
	struct cim_net_coll_result r;

	/* Ring all-gather and reduce-scatter, p = 8, n = 8 MiB:
	 * (p−1)·(α + n/(p·B)) = 7 · 10,585,760 = 74,100,320 ps. */
	r = coll(net, CIM_NET_ALLGATHER, CIM_NET_ALGO_RING, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 74100320);
	r = coll(net, CIM_NET_REDUCE_SCATTER, CIM_NET_ALGO_RING, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 74100320);
	/* Chain broadcast from member 0 along the ring: (p−1)·(α + n/B) with
	 * n = 1 MiB = 7 · 10,585,760 = 74,100,320 ps, when member 7 has it.
	 * Member 3 has it after 3 steps (31,757,280) and is done when its copy
	 * to member 4 has left, σ later: 31,757,280 + 10,485,760 = 42,243,040. */
	r = coll(net, CIM_NET_BROADCAST, CIM_NET_ALGO_RING, MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 74100320);
	CIM_ASSERT_EQ_U64(fin[7], 74100320);
	CIM_ASSERT_EQ_U64(fin[3], 42243040);
	cim_net_destroy(net);

	net = make(flat(CIM_NET_TOPO_FULL), 8);
	/* Recursive doubling all-gather, p = 8, n = 8 MiB:
	 * log2(p)·α + (p−1)/p·n/B = 300,000 + 73,400,320 = 73,700,320 ps. */
	r = coll(net, CIM_NET_ALLGATHER, CIM_NET_ALGO_HD, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 73700320);
	/* Recursive halving reduce-scatter: the same, 73,700,320 ps. */
	r = coll(net, CIM_NET_REDUCE_SCATTER, CIM_NET_ALGO_HD, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 73700320);
	/* Binomial broadcast: log2(p)·(α + n/B), n = 1 MiB:
	 * 3 · 10,585,760 = 31,757,280 ps. */
	r = coll(net, CIM_NET_BROADCAST, CIM_NET_ALGO_HD, MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 31757280);
	/* Binary-tree broadcast: ⌊log2 p⌋·(α + n/B), both children at once
	 * over their own links: 3 · 10,585,760 = 31,757,280 ps. */
	r = coll(net, CIM_NET_BROADCAST, CIM_NET_ALGO_TREE, MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 31757280);
	/* Direct all-gather and reduce-scatter: one step of α + n/(p·B)
	 * = 100,000 + 10,485,760 = 10,585,760 ps. */
	r = coll(net, CIM_NET_ALLGATHER, CIM_NET_ALGO_DIRECT, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 10585760);
	r = coll(net, CIM_NET_REDUCE_SCATTER, CIM_NET_ALGO_DIRECT, 8 * MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 10585760);
	/* Direct broadcast on full: α + n/B = 10,585,760 ps. */
	r = coll(net, CIM_NET_BROADCAST, CIM_NET_ALGO_DIRECT, MIB, 8, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 10585760);
	cim_net_destroy(net);

	/* Contention: a direct broadcast through a switch sends p − 1 = 3
	 * copies up the root's one link, each at B/3:
	 * (α + 50 ns switch) + α + 3·n/B = 250,000 + 31,457,280 = 31,707,280. */
	s = (struct cim_net_spec *)flat(CIM_NET_TOPO_SWITCH);
	s->level[0].switch_latency_ps = 50e3;
	net = make(s, 4);
	r = coll(net, CIM_NET_BROADCAST, CIM_NET_ALGO_DIRECT, MIB, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 31707280);
	cim_net_destroy(net);
}

static void test_auto(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_FULL), 8);
	uint64_t fin[8];
	struct cim_net_coll_result r;

	/* On a full topology with no injection limit, 8 MiB: ring 148,200,640,
	 * hd 147,400,640, tree 6·(α + 8 MiB/B) = 503,916,480, direct
	 * 2·(α + n/(p·B)) = 21,171,520 ps: auto picks direct. */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_AUTO, 8 * MIB, 8, 0, NULL, fin, NULL);
	CU_ASSERT_EQUAL(r.algo, CIM_NET_ALGO_DIRECT);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 21171520);

	/* Every algorithm at once gives the same four times and the same pick. */
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLREDUCE, .bytes = 8 * MIB };
	struct cim_net_coll_result each[CIM_NET_NALGO];
	bool ok[CIM_NET_NALGO];
	enum cim_net_algo fastest = CIM_NET_ALGO_AUTO;
	const uint32_t ranks[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	const uint64_t ready[8] = { 0 };
	struct cim_err err = { "" };

	CU_ASSERT_EQUAL_FATAL(
	    cim_net_collective_each(net, &req, ranks, ready, 8, each, ok, &fastest, &err), 0);
	CU_ASSERT_EQUAL(fastest, CIM_NET_ALGO_DIRECT);
	for (int a = 0; a < CIM_NET_NALGO; a++) /* hier: all-to-all, boards only */
		CU_ASSERT_EQUAL(ok[a], a != CIM_NET_ALGO_HIER);
	CIM_ASSERT_EQ_U64(each[CIM_NET_ALGO_RING].finish_max_ps, 148200640);
	CIM_ASSERT_EQ_U64(each[CIM_NET_ALGO_TREE].finish_max_ps, 503916480);
	CIM_ASSERT_EQ_U64(each[CIM_NET_ALGO_HD].finish_max_ps, 147400640);
	CIM_ASSERT_EQ_U64(each[CIM_NET_ALGO_DIRECT].finish_max_ps, 21171520);
	/* Tree has no all-gather: it does not apply, the others do. */
	req.coll = CIM_NET_ALLGATHER;
	CU_ASSERT_EQUAL_FATAL(
	    cim_net_collective_each(net, &req, ranks, ready, 8, each, ok, &fastest, &err), 0);
	CU_ASSERT_FALSE(ok[CIM_NET_ALGO_TREE]);
	CU_ASSERT_TRUE(ok[CIM_NET_ALGO_RING]);
	CU_ASSERT_NOT_EQUAL(fastest, CIM_NET_ALGO_TREE);
	CU_ASSERT_NOT_EQUAL(fastest, CIM_NET_ALGO_AUTO);
	cim_net_destroy(net);
}

/* ------------------------------------------------------ skew, contention */

static void test_ring_skew(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 4);
	uint64_t ready[4] = { 1000000000, 0, 0, 0 }, fin[4];
	struct cim_net_coll_result r;

	/*
	 * p = 4, n = 4 MiB: chunk c = 1 MiB, σ = c/B = 10,485,760 ps,
	 * s = α + σ = 10,585,760 ps, K = 2(p−1) = 6 steps.  In every step
	 * member i sends to i+1 and receives from i−1, so
	 *     t_i ← max(t_i + σ, t_{i−1} + s),
	 * hence t_i after K steps = max over m = 0..K of
	 *     ready_{i−m mod p} + m·s + (K−m)·σ.
	 * Member 0 is late by D = 1 ms = 1e9 ps (> 6 s), so the paths from it
	 * win, with the largest m ≡ i (mod 4):
	 *   i = 0: m = 4: D + 4s + 2σ = 1e9 + 42,343,040 + 20,971,520 = 1,063,314,560
	 *   i = 1: m = 5: D + 5s +  σ = 1e9 + 52,928,800 + 10,485,760 = 1,063,414,560
	 *   i = 2: m = 6: D + 6s      = 1e9 + 63,514,560             = 1,063,514,560
	 *   i = 3: m = 3: D + 3s + 3σ = 1e9 + 31,757,280 + 31,457,280 = 1,063,214,560
	 * The last finish is exactly D later than with no skew (6s).
	 */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_RING, 4 * MIB, 4, 0, ready, fin, NULL);
	CIM_ASSERT_EQ_U64(fin[0], 1063314560);
	CIM_ASSERT_EQ_U64(fin[1], 1063414560);
	CIM_ASSERT_EQ_U64(fin[2], 1063514560);
	CIM_ASSERT_EQ_U64(fin[3], 1063214560);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 1000000000 + 6 * 10585760);
	cim_net_destroy(net);
}

static void test_ring_on_mesh_contention(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_MESH2D);
	struct cim_net *net;
	uint64_t fin[4];
	struct cim_net_coll_result r;

	/*
	 * A ring laid on a 4×1 mesh (a line 0–1–2–3): flows 0→1, 1→2, 2→3 take
	 * one hop each; 3→0 goes back over the −x links 3→2→1→0, which no other
	 * flow uses (links are directed), so nothing is shared but the step into
	 * member 0 is 3 hops.  n = 4 MiB, σ = 10,485,760; moving into member 0
	 * costs 3α + σ = 10,785,760, into any other α + σ = 10,585,760, staying
	 * σ.  With t_i ← max(t_i + σ, t_{i−1} + lat + σ) and all ready at 0,
	 * t_i after K = 6 steps is the heaviest path of 6 moves or stays ending
	 * at i: all moves, crossing into 0 as often as possible.
	 *   i = 3: start 1: 1→2→3→0→1→2→3, one crossing:
	 *          5 · 10,585,760 + 10,785,760 = 63,714,560
	 *   i = 0: start 2: 2→3→0→1→2→3→0, two crossings:
	 *          4 · 10,585,760 + 2 · 10,785,760 = 63,914,560
	 */
	s->level[0].dims[0] = 4;
	s->level[0].dims[1] = 1;
	net = make(s, 4);
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_RING, 4 * MIB, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(fin[3], 63714560);
	CIM_ASSERT_EQ_U64(fin[0], 63914560);
	(void)r;
	cim_net_destroy(net);
}

static void test_shared_link(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 4);
	uint64_t fin[4], alone[2];
	struct cim_net_coll_result r;
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLREDUCE,
					.algo = CIM_NET_ALGO_RING,
					.bytes = 2 * MIB,
					.group_size = 2 };
	uint32_t ranks[4] = { 0, 2, 1, 3 };
	uint64_t ready[4] = { 0 };
	struct cim_err err;

	/*
	 * Two groups {0, 2} and {1, 3} all-reduce at once on a ring of 4
	 * (link 2i: i → i+1, 2i+1: i → i−1).  Each partner is half-way round:
	 * the even sources go clockwise, the odd ones counter-clockwise:
	 *   0→2 over 0→1, 1→2 (links 0, 2);   2→0 over 2→3, 3→0 (links 4, 6);
	 *   1→3 over 1→0, 0→3 (links 3, 1);   3→1 over 3→2, 2→1 (links 7, 5).
	 * The four flows use the eight links once each: nothing is shared, and
	 * each group takes what it takes alone.  p = 2, n = 2 MiB: two steps of
	 * a 1 MiB chunk, each 2α + σ = 200,000 + 10,485,760 = 10,685,760; in
	 * all 21,371,520 ps.  (Had every half-way flow gone clockwise, each
	 * clockwise link would carry two flows: 2 · (2α + 2σ) = 42,343,040.)
	 */
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 4, fin, NULL, &r, &err),
			      0);
	for (int i = 0; i < 4; i++)
		CIM_ASSERT_EQ_U64(fin[i], 21371520);
	req.group_size = 0;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 2, alone, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(alone[0], 21371520);
	cim_net_destroy(net);
}

static void test_shared_link_even_sources(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	uint64_t fin[4], alone[2];
	struct cim_net_coll_result r;
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLREDUCE,
					.algo = CIM_NET_ALGO_RING,
					.bytes = 2 * MIB,
					.group_size = 2 };
	uint32_t ranks[4] = { 0, 4, 2, 6 };
	uint64_t ready[4] = { 0 };
	struct cim_err err;

	/*
	 * Two groups {0, 4} and {2, 6} on a ring of 8: every partner is
	 * half-way round and every source even, so all four flows go clockwise
	 * over 4 links: 0→4 over i → i+1 for i = 0..3, 4→0 for i = 4..7, 2→6
	 * for i = 2..5, 6→2 for i = 6, 7, 0, 1.  Each clockwise link lies on
	 * exactly two of them (link 2→3 on 0→4 and 2→6, link 0→1 on 0→4 and
	 * 6→2 …), so each flow gets B/2.  p = 2, n = 2 MiB: two steps of a
	 * 1 MiB chunk, each 4α + 2σ = 400,000 + 20,971,520 = 21,371,520; in
	 * all 42,743,040 ps.  Alone, {0, 4} takes 2 · (4α + σ)
	 * = 2 · 10,885,760 = 21,771,520.
	 */
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 4, fin, NULL, &r, &err),
			      0);
	for (int i = 0; i < 4; i++)
		CIM_ASSERT_EQ_U64(fin[i], 42743040);
	req.group_size = 0;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 2, alone, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(alone[0], 21771520);
	CIM_ASSERT_EQ_U64(alone[1], 21771520);
	cim_net_destroy(net);
}

static void test_hd_allreduce_on_ring(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 8);
	uint64_t fin[8], *lb = calloc(cim_net_nlinks(net), sizeof(*lb));
	struct cim_net_coll_result r;

	/*
	 * Halving-doubling all-reduce, p = 8, n = 8 MiB, on a ring of 8 (link
	 * 2i: i → i+1, 2i+1: i → i−1).  Halving exchanges with i ^ 4, i ^ 2,
	 * i ^ 1, sending n/2, n/4, n/8; doubling retraces them.
	 *   Distance 4 (i → i+4, all half-way): the even sources 0, 2, 4, 6 go
	 *   clockwise over 4 links, the odd ones counter-clockwise.  Clockwise
	 *   link j → j+1 lies on the flows from s = j, j−1, j−2, j−3, two of
	 *   which are even: 2 flows a link, in each direction.  Each flow gets
	 *   B/2: 4α + (4 MiB)/(B/2) = 400,000 + 83,886,080 = 84,286,080.
	 *   Distance 2: i with bit 1 clear (0, 1, 4, 5) sends to i+2 clockwise,
	 *   the others to i−2 counter-clockwise; 0→2 and 1→3 share 1→2, 4→6
	 *   and 5→7 share 5→6, 2→0 and 3→1 share 2→1, 6→4 and 7→5 share 6→5:
	 *   every flow gets B/2: 2α + (2 MiB)/(B/2) = 200,000 + 41,943,040
	 *   = 42,143,040.
	 *   Distance 1: i ↔ i ^ 1, one hop each on its own link: α + σ(1 MiB)
	 *   = 100,000 + 10,485,760 = 10,585,760.
	 * Every member is alike in every step, so the time is
	 * 2 · (84,286,080 + 42,143,040 + 10,585,760) = 2 · 137,014,880
	 * = 274,029,760 ps.  (All half-way flows clockwise would put 4 flows on
	 * each clockwise link: 4α + 4 MiB/(B/4) = 168,172,160 per distance-4
	 * step, 441,801,920 ps in all.)
	 */
	r = coll(net, CIM_NET_ALLREDUCE, CIM_NET_ALGO_HD, 8 * MIB, 8, 0, NULL, fin, lb);
	CIM_ASSERT_EQ_U64(r.steps, 6);
	for (int i = 0; i < 8; i++)
		CIM_ASSERT_EQ_U64(fin[i], 274029760);
	/*
	 * Traffic.  Bytes: 8 flows a step, 2 · (4 + 2 + 1) MiB each over the
	 * six steps: 8 · 14 MiB = 112 MiB.  Bytes · hops: distance 4: 8 · 4 MiB
	 * · 4 = 128 MiB, distance 2: 8 · 2 MiB · 2 = 32 MiB, distance 1:
	 * 8 · 1 MiB = 8 MiB; twice: 2 · 168 = 336 MiB.  Energy: 336 MiB · 8 ·
	 * 0.5 pJ = 352,321,536 · 4 = 1,409,286,144 pJ.
	 * Link 0 (0 → 1): distance 4 from sources 0 and 6 (4 MiB each),
	 * distance 2 from source 0 (2 MiB), distance 1 from 0 (1 MiB): 11 MiB,
	 * twice: 22 MiB.  Link 1 (0 → 7): distance 4 from the odd sources whose
	 * path 1 → … → 5 or 3 → … → 7 passes it, 1 and 3 (4 MiB each), nothing
	 * at distance 2 or 1: 8 MiB, twice: 16 MiB.
	 */
	CIM_ASSERT_EQ_U64(r.bytes, 112 * MIB);
	CIM_ASSERT_EQ_U64(r.link_bytes, 336 * MIB);
	CIM_ASSERT_REL(r.energy_pj, 1409286144.0, 1e-12);
	CIM_ASSERT_EQ_U64(lb[0], 22 * MIB);
	CIM_ASSERT_EQ_U64(lb[1], 16 * MIB);
	free(lb);
	cim_net_destroy(net);
}

static void test_traffic_matches_energy(void)
{
	static const enum cim_net_topo topos[] = { CIM_NET_TOPO_RING, CIM_NET_TOPO_MESH2D,
						   CIM_NET_TOPO_TORUS2D, CIM_NET_TOPO_SWITCH,
						   CIM_NET_TOPO_FULL };

	/*
	 * On a net of one link kind energy = Σ bits · hops · pJ/bit, so
	 * link_bytes · 8 · 0.5 pJ/bit must equal energy_pj; the per-link bytes
	 * add up to link_bytes; every flow crosses at least one link, so
	 * bytes ≤ link_bytes.  Every algorithm and collective, 6 and 8 members
	 * (the values are integers far below 2⁵³: exact in a double).
	 */
	for (size_t t = 0; t < sizeof(topos) / sizeof(topos[0]); t++)
		for (uint32_t n = 6; n <= 8; n += 2) {
			struct cim_net *net = make(flat(topos[t]), n);
			uint32_t nl = cim_net_nlinks(net);
			uint64_t fin[8], *lb = calloc(nl, sizeof(*lb));

			CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
			for (int c = 0; c < CIM_NET_NCOLL; c++)
				for (int a = 0; a < CIM_NET_NALGO; a++) {
					struct cim_net_coll_req req = { .coll = c,
									.algo = a,
									.bytes = 1000003 };
					uint32_t ranks[8];
					uint64_t ready[8] = { 0 }, sum = 0;
					struct cim_net_coll_result res;
					struct cim_err err;

					for (uint32_t i = 0; i < n; i++)
						ranks[i] = i;
					memset(lb, 0, nl * sizeof(*lb));
					if (cim_net_collective(net, &req, ranks, ready, n, fin, lb,
							       &res, &err))
						continue; /* tree all-gather, hd on 6 … */
					for (uint32_t l = 0; l < nl; l++)
						sum += lb[l];
					CU_ASSERT(res.bytes > 0);
					CU_ASSERT(res.bytes <= res.link_bytes);
					CIM_ASSERT_EQ_U64(sum, res.link_bytes);
					CIM_ASSERT_REL(res.energy_pj,
						       (double)res.link_bytes * 8 * 0.5, 1e-12);
				}
			free(lb);
			cim_net_destroy(net);
		}
}

/* ------------------------------------------------------------ hierarchical */

static const struct cim_net_spec *hier(void)
{
	memset(&spec, 0, sizeof(spec));
	snprintf(spec.name, sizeof(spec.name), "test-hier");
	spec.topology = CIM_NET_TOPO_HIER;
	/* boards of 4 chips on a ring of the standard link */
	spec.level[0].topology = CIM_NET_TOPO_RING;
	spec.level[0].size = 4;
	link_set(&spec.level[0].link, 100, 100, 0.5);
	/* boards through a switch: 25 GB/s (40 ps/byte), 20 ns, 5 pJ/bit,
	 * 100 ns through the switch */
	spec.level[1].topology = CIM_NET_TOPO_SWITCH;
	spec.level[1].switch_latency_ps = 100e3;
	link_set(&spec.level[1].link, 25, 20, 5);
	return &spec;
}

static void test_hierarchical(void)
{
	struct cim_net *net = make(hier(), 8);
	struct cim_net_xfer x;
	uint64_t fin[4];
	struct cim_net_coll_result r;
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLREDUCE,
					.algo = CIM_NET_ALGO_RING,
					.bytes = 2 * MIB,
					.group_size = 2 };
	uint32_t ranks[4] = { 0, 4, 1, 5 };
	uint64_t ready[4] = { 0 };
	struct cim_err err;

	/* 8 ranks: 2 boards of 4 (derived).  Rank 1 (board 0) → rank 6
	 * (board 1, local 2): 1 → 0 on the board ring (1 hop), gateway 0 →
	 * switch → gateway 4 (2 hops), 4 → 6 half-way round board 1 (2 hops):
	 * 5 hops.  Latency 3·100,000 + (20,000 + 100,000) + 20,000 = 440,000;
	 * bottleneck 25 GB/s: 1 MiB · 40 = 41,943,040; arrive 42,383,040.
	 * Energy 1 MiB · 8 · (3·0.5 + 2·5) = 8,388,608 · 11.5 = 96,468,992 pJ. */
	CIM_ASSERT_EQ_U64(cim_net_shape(net)->size[1], 2);
	cim_net_p2p(net, 1, 6, MIB, 0, 0, &x);
	CIM_ASSERT_EQ_U64(x.hops, 5);
	CIM_ASSERT_EQ_U64(x.arrive_ps, 42383040);
	CIM_ASSERT_REL(x.energy_pj, 96468992.0, 1e-12);

	/*
	 * Two TP-like groups reduce at once across the boards: {0, 4} and
	 * {1, 5}, ring, n = 2 MiB (two steps of a 1 MiB chunk).  0→4 is
	 * 0→sw→4; 1→5 is 1→0, 0→sw→4, 4→5: both cross 0→sw and sw→4, so each
	 * gets 12.5 GB/s = 80 ps/byte: σ = 83,886,080.  Latencies: 0↔4
	 * 140,000; 1↔5 100,000 + 140,000 + 100,000 = 340,000.  Per step
	 * member 0 and 4 wait 140,000 + σ = 84,026,080, members 1 and 5
	 * 340,000 + σ = 84,226,080; after two steps 168,052,160 and
	 * 168,452,160.  Alone, {0, 4} would take 2 · (140,000 + 41,943,040)
	 * = 84,166,080.
	 */
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 4, fin, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(fin[0], 168052160);
	CIM_ASSERT_EQ_U64(fin[1], 168052160);
	CIM_ASSERT_EQ_U64(fin[2], 168452160);
	CIM_ASSERT_EQ_U64(fin[3], 168452160);
	req.group_size = 0;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &req, ranks, ready, 2, fin, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(fin[0], 84166080);

	/*
	 * All-to-all of 4 MB a member (1 MB chunks) over ranks 0, 1 (board 0)
	 * and 4, 5 (board 1).  Direct, one step: the 4 flows from board 0 to
	 * board 1 share gateway 0's uplink, 25 GB/s / 4 = 160 ps/byte, 160 µs;
	 * 1 → 5 also crosses 1 → 0 and 4 → 5 (100 ns each) and the network
	 * (20 + 100 + 20 ns): 160,340,000.  Hierarchical, two steps: within
	 * each board 0 ↔ 1 and 4 ↔ 5 swap their 2 MB for the other local
	 * index, one flow a link, 20 µs + 100 ns; then 0 → 4 and 1 → 5 carry
	 * 2 MB each over the shared uplink, 80 ps/byte: 160 µs + 340 ns.
	 * 180,440,000: the same bytes cross the boards in half as many flows,
	 * which with no cost per message does not pay for the extra step; auto
	 * picks direct.  hier needs a hierarchical net and boards of equal
	 * share.
	 */
	uint32_t a2a[4] = { 0, 1, 4, 5 };
	uint64_t fin4[4];
	struct cim_net_coll_req all = { .coll = CIM_NET_ALLTOALL,
					.algo = CIM_NET_ALGO_DIRECT,
					.bytes = 4000000 };
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &all, a2a, ready, 4, fin4, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 160340000);
	all.algo = CIM_NET_ALGO_HIER;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &all, a2a, ready, 4, fin4, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 180440000);
	CIM_ASSERT_EQ_U64(r.steps, 2);
	CIM_ASSERT_EQ_U64(r.bytes, 16000000); /* 4 · 2 MB a step */
	all.algo = CIM_NET_ALGO_AUTO;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(net, &all, a2a, ready, 4, fin4, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(r.algo, CIM_NET_ALGO_DIRECT);
	uint32_t uneven[3] = { 0, 1, 4 };
	all.algo = CIM_NET_ALGO_HIER;
	CU_ASSERT(cim_net_collective(net, &all, uneven, ready, 3, fin4, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "hier needs the group over 2 or more boards");
	cim_net_destroy(net);
	struct cim_net *ring = make(flat(CIM_NET_TOPO_RING), 4);
	const uint32_t four[4] = { 0, 1, 2, 3 };
	CU_ASSERT(cim_net_collective(ring, &all, four, ready, 4, fin4, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "hier applies to a hierarchical interconnect");
	cim_net_destroy(ring);
}

/* ------------------------------------------------- invariants, errors */

static void test_never_before_ready(void)
{
	static const enum cim_net_topo topos[] = { CIM_NET_TOPO_RING, CIM_NET_TOPO_MESH2D,
						   CIM_NET_TOPO_TORUS2D, CIM_NET_TOPO_SWITCH,
						   CIM_NET_TOPO_FULL };
	uint64_t ready[12], later[12], fin[12], again[12];
	const uint64_t shift = 987654321;

	/* Skewed ready times; every algorithm on every topology, 5 and 8 and 12
	 * members; finish ≥ ready, and a replay from the same ready times moved
	 * by a constant gives the same numbers moved by it (the executor reuses
	 * replays on this ground). */
	for (uint32_t i = 0; i < 12; i++) {
		ready[i] = (uint64_t)((i * 7919) % 13) * 1000003;
		later[i] = ready[i] + shift;
	}
	for (size_t t = 0; t < sizeof(topos) / sizeof(topos[0]); t++) {
		for (uint32_t n = 5; n <= 12; n += n == 5 ? 3 : 4) {
			struct cim_net *net = make(flat(topos[t]), n);

			for (int c = 0; c < CIM_NET_NCOLL; c++)
				for (int a = 0; a <= CIM_NET_ALGO_AUTO; a++) {
					struct cim_net_coll_req req = { .coll = c,
									.algo = a,
									.bytes = 1000003,
									.root = n - 1 };
					uint32_t ranks[12];
					struct cim_net_coll_result r1, r2;
					struct cim_err err;

					for (uint32_t i = 0; i < n; i++)
						ranks[i] = n - 1 - i;
					if (cim_net_collective(net, &req, ranks, ready, n, fin,
							       NULL, &r1, &err))
						continue; /* tree all-gather, hd on 5 … */
					cim_net_collective(net, &req, ranks, later, n, again, NULL,
							   &r2, &err);
					for (uint32_t i = 0; i < n; i++) {
						CU_ASSERT(fin[i] >= ready[i]);
						CU_ASSERT(fin[i] + shift == again[i]);
					}
					CU_ASSERT(r1.energy_pj == r2.energy_pj);
					CU_ASSERT(r1.algo == r2.algo);
				}
			cim_net_destroy(net);
		}
	}
}

static void test_collective_errors(void)
{
	struct cim_net *net = make(flat(CIM_NET_TOPO_RING), 6);
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLGATHER,
					.algo = CIM_NET_ALGO_TREE,
					.bytes = MIB };
	uint32_t ranks[6] = { 0, 1, 2, 3, 4, 5 };
	uint64_t ready[6] = { 0 }, fin[6];
	struct cim_net_coll_result r;
	struct cim_err err = { "" };

	CU_ASSERT(cim_net_collective(net, &req, ranks, ready, 6, fin, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "no tree");
	req.algo = CIM_NET_ALGO_HD;
	CU_ASSERT(cim_net_collective(net, &req, ranks, ready, 6, fin, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "power of two");
	req.algo = CIM_NET_ALGO_RING;
	ranks[3] = 1;
	CU_ASSERT(cim_net_collective(net, &req, ranks, ready, 6, fin, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "rank 1 is twice");
	ranks[3] = 6;
	CU_ASSERT(cim_net_collective(net, &req, ranks, ready, 6, fin, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "rank 6 is not one of the 6");
	ranks[3] = 3;
	req.group_size = 4;
	CU_ASSERT(cim_net_collective(net, &req, ranks, ready, 6, fin, NULL, &r, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "groups of 4");
	cim_net_destroy(net);
}

static void test_description_errors(void)
{
	struct cim_net_spec *s = (struct cim_net_spec *)flat(CIM_NET_TOPO_TORUS2D);
	struct cim_net *net = NULL;
	struct cim_err err = { "" };
	struct cim_net_shape shape;

	/* A 3×3 torus has 9 positions: 8 ranks leave one empty, refused unless
	 * allowed; 10 ranks do not fit at all. */
	s->level[0].dims[0] = s->level[0].dims[1] = 3;
	CU_ASSERT(cim_net_create(s, 8, &net, &err) < 0);
	CU_ASSERT_PTR_NULL(net);
	CIM_ASSERT_HAS(err.msg, "torus2d 3×3 has 9 positions but 8 ranks are run");
	CIM_ASSERT_HAS(err.msg, "allow_unused");
	CU_ASSERT(cim_net_check(s, 10, &shape, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "cannot hold the 10 ranks");
	s->allow_unused = true;
	CU_ASSERT_EQUAL(cim_net_check(s, 8, &shape, &err), 0);
	CIM_ASSERT_EQ_U64(shape.positions, 9);

	/* A ring given 8 positions for 8 ranks is fine; for 6, not. */
	s = (struct cim_net_spec *)flat(CIM_NET_TOPO_RING);
	s->level[0].size = 8;
	CU_ASSERT_EQUAL(cim_net_check(s, 8, NULL, &err), 0);
	CU_ASSERT(cim_net_check(s, 6, NULL, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "leaving 2 unused");

	/* Zero bandwidth (filled in C; files are refused when read). */
	s = (struct cim_net_spec *)flat(CIM_NET_TOPO_RING);
	s->level[0].link.bandwidth_bps = 0;
	CU_ASSERT(cim_net_create(s, 4, &net, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "bandwidth");

	/* A placement naming rank 2 twice, or of the wrong length. */
	s = (struct cim_net_spec *)flat(CIM_NET_TOPO_RING);
	s->placement.n = 4;
	s->placement.rank[0] = 0;
	s->placement.rank[1] = 2;
	s->placement.rank[2] = 2;
	s->placement.rank[3] = 3;
	CU_ASSERT(cim_net_check(s, 4, NULL, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "names rank 2 twice");
	CU_ASSERT(cim_net_check(s, 5, NULL, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "placement lists 4 ranks, but 5");

	/* Hierarchical: boards of 4 for 6 ranks leave 2 positions empty. */
	CU_ASSERT(cim_net_check(hier(), 6, NULL, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "2 boards of 4");
}

/* ------------------------------------------------------------- files */

static int load(const char *path, struct cim_net_spec *out, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(true);
	int rc = cim_spec_load_net(files, path, out, err);

	cim_files_destroy(files);
	return rc;
}

static void test_presets(void)
{
	static const char *const presets[] = {
		"configs/interconnects/ucie-ring.yaml",
		"configs/interconnects/ucie-standard-mesh.yaml",
		"configs/interconnects/ucie-advanced-mesh.yaml",
		"configs/interconnects/nvlink-switch.yaml",
		"configs/interconnects/pcie-gen5-switch.yaml",
		"configs/interconnects/serdes-switch.yaml",
		"configs/interconnects/ucie-boards-serdes.yaml",
	};
	struct cim_err err = { "" };
	struct cim_net *net;
	uint32_t ids[64];

	/* Every preset loads and lays out for 8 and for 64 chips. */
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (load(presets[i], &spec, &err)) {
			fprintf(stderr, "\n  %s\n", err.msg);
			CU_FAIL("preset does not load");
			continue;
		}
		for (uint32_t n = 8; n <= 64; n *= 8) {
			net = make(&spec, n);
			cim_net_destroy(net);
		}
	}
	/* ucie-ring: 112 GB/s, 2 ns, 0.5 pJ/bit, ring of 8 for 8 ranks:
	 * 0 → 4 is 4 hops. */
	CU_ASSERT_EQUAL_FATAL(load("configs/interconnects/ucie-ring.yaml", &spec, &err), 0);
	CU_ASSERT_EQUAL(spec.topology, CIM_NET_TOPO_RING);
	CIM_ASSERT_REL(spec.level[0].link.bandwidth_bps, 112e9, 1e-15);
	CIM_ASSERT_REL(spec.level[0].link.latency_ps, 2000.0, 1e-15);
	net = make(&spec, 8);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 4, ids, 64), 4);
	cim_net_destroy(net);
	/* The mesh preset for 8 ranks is 4×2: 0 → 7 is 3 + 1 = 4 hops. */
	CU_ASSERT_EQUAL_FATAL(load("configs/interconnects/ucie-standard-mesh.yaml", &spec, &err),
			      0);
	net = make(&spec, 8);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 7, ids, 64), 4);
	cim_net_destroy(net);
	/* The hierarchical preset for 64 ranks: 8 boards of 8; rank 9 → 63:
	 * 9 → 8 on board 1 (1 hop), 8 → switch → 56 (2), 56 → 63 on board 7
	 * (local 0 → 7: 1 hop the short way): 4 hops. */
	CU_ASSERT_EQUAL_FATAL(load("configs/interconnects/ucie-boards-serdes.yaml", &spec, &err),
			      0);
	net = make(&spec, 64);
	CIM_ASSERT_EQ_U64(cim_net_shape(net)->size[1], 8);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 9, 63, ids, 64), 4);
	cim_net_destroy(net);
}

static void test_file_errors(void)
{
	struct cim_err err = { "" };
	struct cim_net *net = NULL;
	uint32_t ids[8];

	/* A 3×3 torus reads fine; it holds 9 ranks (0 → 8 wraps both ways:
	 * 2 hops) but not 8. */
	CU_ASSERT_EQUAL_FATAL(load("tests/data/interconnects/torus-3x3.yaml", &spec, &err), 0);
	CU_ASSERT_EQUAL(spec.level[0].topology, CIM_NET_TOPO_TORUS2D);
	net = make(&spec, 9);
	CIM_ASSERT_EQ_U64(cim_net_route(net, 0, 8, ids, 8), 2);
	cim_net_destroy(net);
	net = NULL;
	CU_ASSERT(cim_net_create(&spec, 8, &net, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "torus2d 3×3 has 9 positions but 8 ranks are run");

	CU_ASSERT(load("tests/data/interconnects/zero-bandwidth.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "zero-bandwidth.yaml:5: link.bandwidth_gb_per_s");
	CIM_ASSERT_HAS(err.msg, "expected a number above zero");
	CU_ASSERT(load("tests/data/interconnects/placement-twice.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "placement-twice.yaml:4: placement[3]: rank 3 is placed twice");
	CU_ASSERT(load("tests/data/interconnects/dims-on-ring.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "dims are for mesh2d and torus2d, not ring");
	CU_ASSERT(load("tests/data/interconnects/hier-no-size.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "board: missing: size");
	CU_ASSERT(load("tests/data/interconnects/no-link.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "link: missing");
	CU_ASSERT(load("tests/data/interconnects/unknown-key.yaml", &spec, &err) < 0);
	CIM_ASSERT_HAS(err.msg, "latency_ns");
}

/*
 * All-to-all of n = 4 MB a member over 4 members: chunks of 1 MB, 10 µs at
 * the standard link's 100 GB/s, 100 ns a hop.
 *   ring of 4:  shift, 3 steps of one flow a member: 1, 2 (half-way flows
 *               split both ways: one flow a link) and 1 hops: 3·10 µs +
 *               4·100 ns = 30.4 µs.  Direct, one step of 12 flows: every
 *               link carries 2 (its neighbour's and a half-way one): 20 µs
 *               + 200 ns.  Bruck, 2 steps of 2 chunks: 20 µs + 100 ns, then
 *               20 µs + 200 ns: 40.3 µs.
 *   switch:     2 hops (up, down) a flow.  Direct: 3 flows share each
 *               uplink, 30 µs + 200 ns; shift: 3·(10 µs + 200 ns); Bruck:
 *               2·(20 µs + 200 ns).
 * Bytes: 12 chunks direct and shift; Bruck relays the chunk 3 away, 16.
 */
static void test_alltoall(void)
{
	const uint64_t n = 4000000;
	struct cim_net *ring = make(flat(CIM_NET_TOPO_RING), 4);
	uint64_t fin[4];
	struct cim_net_coll_result r;

	r = coll(ring, CIM_NET_ALLTOALL, CIM_NET_ALGO_RING, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 30400000);
	CIM_ASSERT_EQ_U64(r.bytes, 12000000);
	CIM_ASSERT_EQ_U64(r.steps, 3);
	r = coll(ring, CIM_NET_ALLTOALL, CIM_NET_ALGO_DIRECT, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 20200000);
	CIM_ASSERT_EQ_U64(r.bytes, 12000000);
	r = coll(ring, CIM_NET_ALLTOALL, CIM_NET_ALGO_HD, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 40300000);
	CIM_ASSERT_EQ_U64(r.bytes, 16000000);
	CIM_ASSERT_EQ_U64(r.steps, 2);
	r = coll(ring, CIM_NET_ALLTOALL, CIM_NET_ALGO_AUTO, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.algo, CIM_NET_ALGO_DIRECT);
	cim_net_destroy(ring);

	struct cim_net *sw = make(flat(CIM_NET_TOPO_SWITCH), 4);
	r = coll(sw, CIM_NET_ALLTOALL, CIM_NET_ALGO_DIRECT, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 30200000);
	r = coll(sw, CIM_NET_ALLTOALL, CIM_NET_ALGO_RING, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 30600000);
	r = coll(sw, CIM_NET_ALLTOALL, CIM_NET_ALGO_HD, n, 4, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 40400000);
	cim_net_destroy(sw);

	/* Uneven chunks (expert parallelism's routed tokens) through the
	 * switch, direct: members 1, 2 and 3 send 3 MB each to member 0, which
	 * sends 1 MB to each of them.  Member 0's downlink carries the three
	 * 3 MB flows at a third of 100 GB/s each: 90 µs + 2 hops of 100 ns;
	 * its uplink the three 1 MB flows, 30 µs.  The same 12 MB spread
	 * evenly took 30.2 µs: the hot member's port sets the time.  A matrix
	 * of equal chunks gives what bytes/p gives. */
	struct cim_net *sw4 = make(flat(CIM_NET_TOPO_SWITCH), 4);
	const uint64_t M = 1000000;
	const uint64_t hot[16] = { 0, M, M, M, 3 * M, 0, 0, 0, 3 * M, 0, 0, 0, 3 * M, 0, 0, 0 };
	uint64_t even[16];
	for (int i = 0; i < 16; i++)
		even[i] = M;
	uint32_t ranks[4] = { 0, 1, 2, 3 };
	uint64_t zero[4] = { 0 };
	struct cim_err err;
	struct cim_net_coll_req req = { .coll = CIM_NET_ALLTOALL,
					.algo = CIM_NET_ALGO_DIRECT,
					.chunks = hot };
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(sw4, &req, ranks, zero, 4, fin, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 90200000);
	CIM_ASSERT_EQ_U64(r.bytes, 12000000);
	/* member 1: its 3 MB put on the shared downlink in 90 µs (its 1 MB
	 * in from member 0 arrived at 30.2 µs); member 0 receives last */
	CIM_ASSERT_EQ_U64(fin[1], 90000000);
	CIM_ASSERT_EQ_U64(fin[0], 90200000);
	req.chunks = even;
	CU_ASSERT_EQUAL_FATAL(cim_net_collective(sw4, &req, ranks, zero, 4, fin, NULL, &r, &err),
			      0);
	CIM_ASSERT_EQ_U64(r.finish_max_ps, 30200000);
	cim_net_destroy(sw4);

	/* Bruck of 3 members sends each chunk once: 2 steps, 6 chunks of
	 * 3 MB / 3 */
	struct cim_net *r3 = make(flat(CIM_NET_TOPO_RING), 3);
	r = coll(r3, CIM_NET_ALLTOALL, CIM_NET_ALGO_HD, 3000000, 3, 0, NULL, fin, NULL);
	CIM_ASSERT_EQ_U64(r.bytes, 6000000);
	CIM_ASSERT_EQ_U64(r.steps, 2);
	cim_net_destroy(r3);
}

static const struct cim_test tests[] = {
	{ "ring routes", test_ring_routes },
	{ "mesh and torus hops", test_mesh_torus_hops },
	{ "switch and full routes", test_switch_full_routes },
	{ "explicit placement", test_placement },
	{ "point-to-point", test_p2p },
	{ "ports: one per direction of each link", test_ports },
	{ "ring all-reduce on a ring = 2(p-1)(a + n/pB)", test_ring_allreduce_on_ring },
	{ "hd all-reduce on full = 2log2(p)a + 2(p-1)/p n/B", test_hd_allreduce_on_full },
	{ "hd all-reduce, p not a power of two", test_hd_allreduce_not_pow2 },
	{ "tree all-reduce on full", test_tree_allreduce_on_full },
	{ "direct all-reduce, injection limit", test_direct_allreduce_and_injection },
	{ "all-gather, reduce-scatter, broadcast", test_allgather_reduce_scatter_broadcast },
	{ "all-to-all on a ring and a switch by the closed form", test_alltoall },
	{ "auto picks the fastest", test_auto },
	{ "one late member delays the ring", test_ring_skew },
	{ "ring laid on a line", test_ring_on_mesh_contention },
	{ "half-way partners on a ring of 4 share no link", test_shared_link },
	{ "contention on a shared link", test_shared_link_even_sources },
	{ "hd all-reduce on a ring: half-way flows split both ways", test_hd_allreduce_on_ring },
	{ "link traffic matches energy; bytes per link add up", test_traffic_matches_energy },
	{ "hierarchical", test_hierarchical },
	{ "finish never before ready; shifted ready, shifted finish", test_never_before_ready },
	{ "collective errors", test_collective_errors },
	{ "description errors", test_description_errors },
	{ "presets", test_presets },
	{ "errors in files", test_file_errors },
};

CIM_TEST_MAIN("interconnect", tests)
