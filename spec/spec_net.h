/*
 * spec_net.h — the interconnect description (part of spec.h; include spec.h).
 *
 * What the files in configs/interconnects/ say: a topology, the link of each level
 * of it, and where ranks sit.  Plain data with no pointers: it is broadcast
 * to every rank as bytes.  Sizes may be left to be derived from the number
 * of ranks run; cim_net_check() derives and checks them once that number is
 * known.  The timing model itself is in interconnect/, not here; the key
 * reference is docs/interconnect-model.md.
 */
#ifndef CIM_SPEC_SPEC_NET_H
#define CIM_SPEC_SPEC_NET_H

/* Most positions (chips) an interconnect may have, and so most entries of an
 * explicit placement. */
#define CIM_NET_MAX_POSITIONS 4096
/* Most positions of a fully connected level (it has n·(n−1) links). */
#define CIM_NET_MAX_FULL 1024

enum cim_net_topo {
	CIM_NET_TOPO_RING,    /* bidirectional ring */
	CIM_NET_TOPO_MESH2D,  /* columns × rows grid, dimension-order routes */
	CIM_NET_TOPO_TORUS2D, /* grid with wrap-around links */
	CIM_NET_TOPO_SWITCH,  /* star: every position has a link to one switch */
	CIM_NET_TOPO_FULL,    /* a direct link between every pair */
	CIM_NET_TOPO_HIER,    /* boards of chips (level 0) on a network of boards (level 1) */
};

/* One kind of link; each direction of each link has all of it. */
struct cim_net_link_spec {
	double bandwidth_bps;	  /* bytes/s per direction (written in GB/s = 1e9 B/s) */
	double latency_ps;	  /* per hop, rounded to whole ps when used */
	double energy_pj_per_bit; /* per bit per hop */
};

/* One level: the chips of a flat topology, the chips on a board, or the
 * boards on the network. */
struct cim_net_level_spec {
	enum cim_net_topo topology; /* any but CIM_NET_TOPO_HIER; for a flat net,
				       the same as cim_net_spec.topology */
	uint32_t size;		    /* positions; 0 = derived from the ranks run */
	uint32_t dims[2];	    /* mesh2d/torus2d: columns, rows; 0 = derived */
	double switch_latency_ps;   /* switch: added on every link into the switch */
	struct cim_net_link_spec link;
	bool has_link;		 /* set while reading: `link` was given */
	bool has_switch_latency; /* set while reading */
};

struct cim_net_spec {
	char name[64];
	enum cim_net_topo topology;
	/* [0]: the chips (flat topologies) or the chips of one board (hierarchical);
	 * [1]: the boards (hierarchical only). */
	struct cim_net_level_spec level[2];
	double injection_bps;	     /* bytes/s one chip may send at once over all its
					links; 0 = only the links limit it */
	bool allow_unused;	     /* a topology may have more positions than ranks */
	bool has_board, has_network; /* set while reading */
	struct cim_net_placement {
		uint32_t n;			      /* entries; 0 = linear (rank i at i) */
		uint32_t rank[CIM_NET_MAX_POSITIONS]; /* rank at each position, in order */
	} placement;
};

/* Sizes of an interconnect for a number of ranks, derived and checked. */
struct cim_net_shape {
	uint32_t nranks;
	uint32_t positions;  /* chips in all: size[0] · size[1] */
	uint32_t size[2];    /* level 0 positions; level 1 positions (1 if flat) */
	uint32_t dims[2][2]; /* mesh2d/torus2d columns, rows per level; else 0 */
};

/*
 * Derives the sizes of net for nranks ranks and checks that they fit: given
 * sizes and dims agree, the positions hold the ranks (more positions than
 * ranks only with allow_unused), the placement lists exactly ranks
 * 0..nranks−1.  Fills *shape_out (may be NULL) on success.
 */
int cim_net_check(const struct cim_net_spec *net, uint32_t nranks, struct cim_net_shape *shape_out,
		  struct cim_err *err);

/* The word for a topology in files ("ring", "mesh2d" …). */
const char *cim_net_topo_name(enum cim_net_topo t);

#endif /* CIM_SPEC_SPEC_NET_H */
