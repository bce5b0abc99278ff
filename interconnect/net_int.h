/*
 * net_int.h — private to interconnect/: the laid-out net, the table of
 * topologies and the schedules collective algorithms are written into.
 */
#ifndef CIM_INTERCONNECT_NET_INT_H
#define CIM_INTERCONNECT_NET_INT_H

#include "interconnect.h"

struct level;

/*
 * What varies between topologies.  A level has positions 0..n−1 and, for a
 * switch, one more node n (the switch); link ids are local to the level.
 */
struct topo_ops {
	const char *name;
	uint32_t (*nlinks)(const struct level *lv);
	/* Ends of local link id; false when id is not a link. */
	bool (*ends)(const struct level *lv, uint32_t id, uint32_t *from, uint32_t *to);
	/* Writes the local link ids from a to b (a ≠ b) into ids; returns the count. */
	uint32_t (*route)(const struct level *lv, uint32_t a, uint32_t b, uint32_t *ids);
	uint32_t (*diameter)(const struct level *lv);
};

struct level {
	const struct topo_ops *ops;
	uint32_t n;	     /* positions */
	uint32_t cols, rows; /* mesh2d/torus2d */
	uint32_t nlinks;     /* local link ids of one instance */
	double bw;	     /* bytes/s */
	uint64_t lat_ps;     /* per hop */
	uint64_t switch_ps;  /* added on each link into the switch */
	double pj_per_bit;
};

struct cim_net {
	struct cim_net_shape shape;
	uint32_t nranks;
	bool hier;
	uint32_t boards;    /* instances of level 0 (1 when flat) */
	uint32_t bsize;	    /* positions per board (all, when flat) */
	struct level lv[2]; /* lv[1] used only when hier */
	uint32_t nlinks;    /* global link ids */
	uint32_t max_hops;
	double injection_bps;  /* 0 = none */
	uint32_t *pos_of_rank; /* [nranks] */
};

extern const struct topo_ops *const cim_net_topos[]; /* by enum cim_net_topo */

/* Longest route any layout within CIM_NET_MAX_POSITIONS can have. */
#define NET_ROUTE_MAX (2 * CIM_NET_MAX_POSITIONS)

/* The route between positions pa and pb into ids (room for net->max_hops). */
uint32_t net_route_pos(const struct cim_net *net, uint32_t pa, uint32_t pb, uint32_t *ids);
/* Bandwidth, latency (the switch's included) and energy of link id. */
void net_link_cost(const struct cim_net *net, uint32_t id, double *bw, uint64_t *lat_ps,
		   double *pj_per_bit);

/* Rounds bytes / bw (bytes/s) up to whole ps; see docs/interconnect-model.md. */
uint64_t net_ser_ps(uint64_t bytes, double bw);

/* ------------------------------------------------------------- schedules */

/* One transfer of a step between members (indices within the group). */
struct flow {
	uint32_t src, dst;
	uint64_t bytes;
};

/* Steps of flows: step s holds flows [step_end[s−1], step_end[s]). */
struct sched {
	struct flow *f;
	size_t nf, fcap;
	size_t *step_end;
	size_t nsteps, scap;
	bool oom;
	const uint64_t *chunks; /* an all-to-all's p·p chunk bytes (member i's to
				   member j at [i·p + j]), or NULL for bytes/p */
	const uint32_t *board;	/* [p]: each member's board on a hierarchical net,
				   or NULL on a flat one */
};

/* Appends a flow to the open step (zero-byte flows are dropped). */
void sched_flow(struct sched *s, uint32_t src, uint32_t dst, uint64_t bytes);
/* Closes the open step (an empty step is dropped). */
void sched_step(struct sched *s);
void sched_free(struct sched *s);

/* Writes the schedule of one group of p members; returns -1 (with err) when
 * the algorithm does not apply. */
typedef int (*sched_fn)(struct sched *s, uint32_t p, uint64_t bytes, uint32_t root,
			struct cim_err *err);

/* What varies between collective algorithms: one schedule writer for each
 * collective, NULL where the algorithm does not apply. */
struct algo_ops {
	const char *name;
	sched_fn coll[CIM_NET_NCOLL];
};

extern const struct algo_ops cim_net_algos[CIM_NET_NALGO];

#endif /* CIM_INTERCONNECT_NET_INT_H */
