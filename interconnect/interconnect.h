/*
 * interconnect.h — how long inter-chip transfers and collectives take and
 * what they cost.
 *
 * A cim_net is an interconnect description (spec_net.h) laid out for a
 * number of ranks: positions, links, routes and the placement of ranks.
 * From it this part prices a point-to-point transfer and replays collective
 * algorithms (ring, binary tree, recursive halving-doubling, direct) step by
 * step over the real routes, from each member's ready time, with links shared
 * by the flows that cross them in the same step.  Everything is a pure
 * function of its inputs: every member of a group replays the same collective
 * from the same ready times and gets bit-identical finish times.  No MPI.
 * The equations and what is not modelled: docs/interconnect-model.md.
 *
 * Units: time in integer picoseconds, bytes as integers, energy in pJ.
 */
#ifndef CIM_INTERCONNECT_INTERCONNECT_H
#define CIM_INTERCONNECT_INTERCONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

struct cim_net;

/*
 * Lays spec out for nranks ranks (sizes derived and checked with
 * cim_net_check()).  On success *net_p is a new net the caller frees with
 * cim_net_destroy(); it keeps no pointer to spec.
 */
int cim_net_create(const struct cim_net_spec *spec, uint32_t nranks, struct cim_net **net_p,
		   struct cim_err *err);
void cim_net_destroy(struct cim_net *net);

uint32_t cim_net_nranks(const struct cim_net *net);
const struct cim_net_shape *cim_net_shape(const struct cim_net *net);
/* Link ids run from 0 to cim_net_nlinks() − 1; some ids (mesh edges) are unused. */
uint32_t cim_net_nlinks(const struct cim_net *net);
/* The most hops any route has: a size for cim_net_route()'s array. */
uint32_t cim_net_max_hops(const struct cim_net *net);
/* The position of a rank. */
uint32_t cim_net_position(const struct cim_net *net, uint32_t rank);

/* A directed link: it joins node `from` to node `to`.  Nodes below the
 * number of positions are chips; the others are switches. */
struct cim_net_link {
	uint32_t from, to;
	uint32_t level;	      /* 0: chips (or chips on a board); 1: boards */
	double bandwidth_bps; /* bytes/s */
	uint64_t latency_ps;  /* one traversal, a switch's own latency included */
	double energy_pj_per_bit;
};

/* Describes link id; false when the id is not a link (a mesh edge). */
bool cim_net_link_get(const struct cim_net *net, uint32_t id, struct cim_net_link *out);

/*
 * The route from rank src to rank dst: writes up to cap link ids in order
 * into links (may be NULL when cap is 0) and returns the hop count (0 when
 * src == dst).  Shortest paths; dimension order (columns first) on meshes
 * and tori.  A tie (half-way round a ring or a torus dimension) goes the
 * positive way when the source's position (on a torus, its coordinate in
 * that dimension) is even and the negative way when it is odd.
 */
uint32_t cim_net_route(const struct cim_net *net, uint32_t src, uint32_t dst, uint32_t *links,
		       uint32_t cap);

/* --------------------------------------------------------- point-to-point */

struct cim_net_xfer {
	uint64_t depart_ps;    /* first byte leaves: max(ready, port free) */
	uint64_t port_free_ps; /* the sender's port is free again (last byte left) */
	uint64_t arrive_ps;    /* last byte arrived */
	uint32_t hops;
	uint32_t port;	  /* the sender's port it leaves by (cim_net_port()) */
	double energy_pj; /* bytes · 8 · Σ pJ/bit over the hops */
};

/*
 * A chip's ports are its outgoing links, one per direction of each link it
 * has (a bidirectional link is two), or, when the chip injects through one
 * interface (injection bandwidth set), that one.  cim_net_port() names the
 * port a transfer from src to dst leaves by, in 0 .. cim_net_nports() − 1:
 * the first link of its route, or cim_net_nlinks() for the injection
 * interface; CIM_NET_NO_PORT when src is dst.  cim_net_ports_of() counts
 * the ports of rank.
 */
#define CIM_NET_NO_PORT UINT32_MAX
uint32_t cim_net_nports(const struct cim_net *net);
uint32_t cim_net_port(const struct cim_net *net, uint32_t src, uint32_t dst);
uint32_t cim_net_ports_of(const struct cim_net *net, uint32_t rank);

/*
 * A transfer of bytes from rank src to rank dst, ready at ready_ps, on the
 * sender's port (out->port) that is busy until port_free_ps: cut-through, so
 * arrive = depart + Σ hop latency + ⌈bytes / bottleneck bandwidth⌉.
 */
void cim_net_p2p(const struct cim_net *net, uint32_t src, uint32_t dst, uint64_t bytes,
		 uint64_t ready_ps, uint64_t port_free_ps, struct cim_net_xfer *out);

/* ------------------------------------------------------------ collectives */

enum cim_net_coll {
	CIM_NET_ALLREDUCE,	/* bytes: each member's vector, reduced on all */
	CIM_NET_ALLGATHER,	/* bytes: the gathered vector (each member gives bytes/p) */
	CIM_NET_REDUCE_SCATTER, /* bytes: each member's input (each keeps bytes/p) */
	CIM_NET_BROADCAST,	/* bytes: the root's message */
	CIM_NET_ALLTOALL,	/* bytes: each member's buffer, bytes/p of it to each member
				   (expert parallelism's dispatch and combine) */
	CIM_NET_NCOLL,
};

enum cim_net_algo {
	CIM_NET_ALGO_RING,   /* ring (broadcast: a chain from the root) */
	CIM_NET_ALGO_TREE,   /* binary tree: reduce then broadcast */
	CIM_NET_ALGO_HD,     /* recursive halving-doubling (broadcast: binomial tree) */
	CIM_NET_ALGO_DIRECT, /* every member to every member in one step per phase */
	CIM_NET_ALGO_HIER,   /* all-to-all on a hierarchical net: within each board,
				then across the boards (docs/interconnect-model.md) */
	CIM_NET_NALGO,
	CIM_NET_ALGO_AUTO = CIM_NET_NALGO, /* the fastest of those available */
};

const char *cim_net_coll_name(enum cim_net_coll c);
const char *cim_net_algo_name(enum cim_net_algo a); /* "ring", "tree", "hd", "direct", "hier",
							"auto" */
/* The algorithm named word; returns false when there is none. */
bool cim_net_algo_parse(const char *word, enum cim_net_algo *out);

struct cim_net_coll_req {
	enum cim_net_coll coll;
	enum cim_net_algo algo; /* or CIM_NET_ALGO_AUTO */
	uint64_t bytes;		/* see enum cim_net_coll */
	uint32_t root;		/* broadcast: index of the root within each group */
	uint32_t group_size;	/* members per group, consecutive in ranks[]; the
				   groups run at once and share links; 0 = one group */
	const uint64_t *chunks; /* all-to-all: p·p bytes, member i's chunk for
				   member j at [i·p + j] (the diagonal stays put),
				   each group alike; NULL: bytes/p each */
};

struct cim_net_coll_result {
	enum cim_net_algo algo; /* the algorithm replayed (auto resolved) */
	uint32_t steps;		/* steps of the schedule */
	uint64_t finish_max_ps; /* the last member's finish */
	uint64_t bytes;		/* Σ bytes over every flow (every transfer of the schedule) */
	uint64_t link_bytes;	/* Σ bytes · hops over every flow: the traffic on links */
	double energy_pj; /* Σ bytes · 8 · pJ/bit over every hop (= link_bytes · 8 · pJ/bit
			     on a net of one link kind) */
};

/*
 * Replays collective req over the members ranks[0..n) (group by group when
 * group_size splits them), member i being ready at ready_ps[i].  Writes each
 * member's finish time into finish_ps_out[0..n) (never before its ready
 * time), adds the bytes that crossed each link into link_bytes_out[0..nlinks)
 * when it is not NULL, and fills *res_out.  Fails with a message when a rank
 * is unknown or repeated in a group, or the algorithm does not apply (tree
 * for all-gather; hd for reduce-scatter or all-gather of a group that is not
 * a power of two).  Deterministic: a function of its arguments only.
 */
int cim_net_collective(const struct cim_net *net, const struct cim_net_coll_req *req,
		       const uint32_t *ranks, const uint64_t *ready_ps, uint32_t n,
		       uint64_t *finish_ps_out, uint64_t *link_bytes_out,
		       struct cim_net_coll_result *res_out, struct cim_err *err);

/*
 * Replays req once with every algorithm, in table order (req->algo is not
 * read): res_out[a] is algorithm a's result and ok_out[a] whether it
 * applies.  *fastest_out is the algorithm CIM_NET_ALGO_AUTO picks, the
 * fastest that applies with ties going to the first in table order, or
 * CIM_NET_ALGO_AUTO when none applies.  Fails, setting nothing, when a rank
 * is unknown or repeated in a group or memory runs out.  For tools that
 * compare the algorithms; a run asks cim_net_collective for auto.
 */
int cim_net_collective_each(const struct cim_net *net, const struct cim_net_coll_req *req,
			    const uint32_t *ranks, const uint64_t *ready_ps, uint32_t n,
			    struct cim_net_coll_result res_out[CIM_NET_NALGO],
			    bool ok_out[CIM_NET_NALGO], enum cim_net_algo *fastest_out,
			    struct cim_err *err);

/*
 * A collective compiled for one placement of its members: req's schedule
 * (every algorithm that applies, for auto) with what each flow costs —
 * serialisation under the step's link sharing, latency, energy, bytes per
 * link — which does not depend on when the members are ready.  Running it
 * carries ready times through the steps only, and gives what
 * cim_net_collective gives for the same arguments, bit for bit; a run
 * compiles each collective of its group once and runs it at every layer.
 * cim_net_coll_plan_make fails as cim_net_collective does (an unknown or
 * repeated rank, an algorithm that does not apply: −1; no algorithm at all
 * for auto: −2, err saying so).
 * cim_net_coll_plan_run returns the algorithm run (auto: the fastest for
 * these ready times, ties to the first in table order) and points
 * *link_bytes_out, when not NULL, at its bytes per link.  A plan is not
 * shared between threads (it holds scratch).
 */
struct cim_net_coll_plan;
int cim_net_coll_plan_make(const struct cim_net *net, const struct cim_net_coll_req *req,
			   const uint32_t *ranks, uint32_t n, struct cim_net_coll_plan **out,
			   struct cim_err *err);
enum cim_net_algo cim_net_coll_plan_run(struct cim_net_coll_plan *pl, const uint64_t *ready_ps,
					uint64_t *finish_ps_out,
					struct cim_net_coll_result *res_out,
					const uint64_t **link_bytes_out);
void cim_net_coll_plan_free(struct cim_net_coll_plan *pl);

/* Bus-bandwidth factor of NCCL's performance notes: bus bandwidth =
 * bytes / time · factor, with 2(p−1)/p for all-reduce, (p−1)/p for
 * all-gather and reduce-scatter, 1 for broadcast. */
double cim_net_busbw_factor(enum cim_net_coll c, uint32_t p);

#endif /* CIM_INTERCONNECT_INTERCONNECT_H */
