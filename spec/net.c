/*
 * net.c — reads an interconnect description into struct cim_net_spec and
 * checks it against the number of ranks run (cim_net_check).
 *
 * Field tables read the keys strictly; the checks across fields (a link on
 * every level, positive bandwidth, keys that belong to another topology, a
 * rank placed twice) follow with file, line and key.  Sizes that depend on
 * the rank count are checked by cim_net_check(), which needs no file.  What
 * the links cost is interconnect/'s business, not this file's.
 */
#include <stdio.h>
#include <string.h>

#include "schema.h"

static const char *const topo_words[] = {
	"ring", "mesh2d", "torus2d", "switch", "full", "hierarchical", NULL,
};

const char *cim_net_topo_name(enum cim_net_topo t)
{
	if ((unsigned)t > CIM_NET_TOPO_HIER)
		return "?";
	return topo_words[t];
}

/* dims: [columns, rows], two whole numbers ≥ 1. */
static int read_dims(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	uint32_t *dims = dst;
	uint64_t v[2];

	if (node->kind != TN_SEQ || node->n != 2)
		return spec_errf(err, node, path,
				 "expected a list of two whole numbers [columns, rows], "
				 "e.g. [4, 2]");
	for (size_t i = 0; i < 2; i++) {
		char ipath[256];

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (spec_u64(node->vals[i], ipath, 1, CIM_NET_MAX_POSITIONS, &v[i], err))
			return -1;
	}
	if (v[0] * v[1] > CIM_NET_MAX_POSITIONS)
		return spec_errf(err, node, path, "%llu×%llu positions is more than the %u allowed",
				 (unsigned long long)v[0], (unsigned long long)v[1],
				 CIM_NET_MAX_POSITIONS);
	dims[0] = (uint32_t)v[0];
	dims[1] = (uint32_t)v[1];
	return 0;
}

/* placement: `linear`, or a list of the rank at each position; no rank twice. */
static int read_placement(const struct tnode *node, const char *path, void *dst,
			  struct cim_err *err)
{
	struct cim_net_placement *pl = dst;
	uint16_t seen_at[CIM_NET_MAX_POSITIONS]; /* position + 1, 0 = unseen */

	if (node->kind == TN_SCALAR && !node->quoted && strcmp(node->scalar, "linear") == 0) {
		pl->n = 0;
		return 0;
	}
	if (node->kind != TN_SEQ || node->n == 0)
		return spec_errf(err, node, path,
				 "expected `linear` or a list of the rank at each position, "
				 "e.g. [0, 1, 3, 2]");
	if (node->n > CIM_NET_MAX_POSITIONS)
		return spec_errf(err, node, path, "%zu positions is more than the %u allowed",
				 node->n, CIM_NET_MAX_POSITIONS);
	memset(seen_at, 0, sizeof(seen_at));
	for (size_t i = 0; i < node->n; i++) {
		char ipath[256];
		uint64_t r;

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (spec_u64(node->vals[i], ipath, 0, CIM_NET_MAX_POSITIONS - 1, &r, err))
			return -1;
		if (seen_at[r])
			return spec_errf(err, node->vals[i], ipath,
					 "rank %llu is placed twice, at positions %u and %zu; "
					 "each rank takes one position",
					 (unsigned long long)r, seen_at[r] - 1u, i);
		seen_at[r] = (uint16_t)(i + 1);
		pl->rank[i] = (uint32_t)r;
	}
	pl->n = (uint32_t)node->n;
	return 0;
}

#define LINK struct cim_net_link_spec
static const struct field link_fields[] = {
	FF64("bandwidth_gb_per_s", LINK, bandwidth_bps, FIELD_REQUIRED | FIELD_POSITIVE, 1e-3, 1e7,
	     U_GBPS_TO_BPS, "bandwidth of each direction of a link in GB/s (1e9 bytes/s)"),
	FF64("latency_ns", LINK, latency_ps, FIELD_REQUIRED, 0, 1e9, U_NS_TO_PS,
	     "latency of one hop in ns"),
	FF64("energy_pj_per_bit", LINK, energy_pj_per_bit, FIELD_REQUIRED, 0, 1e6, 0,
	     "energy of one bit over one hop in pJ"),
};
#undef LINK
SCHEMA(link_schema, "link", link_fields, false);

#define LEVEL struct cim_net_level_spec
static const struct field level_fields[] = {
	FENUM("topology", LEVEL, topology, FIELD_REQUIRED, topo_words,
	      "ring, mesh2d, torus2d, switch or full"),
	FU32("size", LEVEL, size, 0, 1, CIM_NET_MAX_POSITIONS, "positions at this level"),
	FFUNC("dims", LEVEL, dims, 0, read_dims, "mesh2d/torus2d [columns, rows]"),
	{ .key = "switch_latency_ns",
	  .type = F_F64,
	  .offset = offsetof(LEVEL, switch_latency_ps),
	  .min = 0,
	  .max = 1e9,
	  .scale = U_NS_TO_PS,
	  .hint = "latency through the switch in ns",
	  .present = offsetof(LEVEL, has_switch_latency) },
	FMAP("link", LEVEL, link, 0, &link_schema, offsetof(LEVEL, has_link)),
};
#undef LEVEL
SCHEMA(level_schema, "level", level_fields, false);

#define NET struct cim_net_spec
static const struct field net_fields[] = {
	FSTR("name", NET, name, FIELD_REQUIRED, "the interconnect's name"),
	FENUM("topology", NET, topology, FIELD_REQUIRED, topo_words,
	      "ring, mesh2d, torus2d, switch, full or hierarchical"),
	FU32("size", NET, level[0].size, 0, 1, CIM_NET_MAX_POSITIONS,
	     "positions (chips); default: the number of ranks run"),
	FFUNC("dims", NET, level[0].dims, 0, read_dims, "mesh2d/torus2d [columns, rows]"),
	{ .key = "switch_latency_ns",
	  .type = F_F64,
	  .offset = offsetof(NET, level[0].switch_latency_ps),
	  .min = 0,
	  .max = 1e9,
	  .scale = U_NS_TO_PS,
	  .hint = "latency through the switch in ns",
	  .present = offsetof(NET, level[0].has_switch_latency) },
	FMAP("link", NET, level[0].link, 0, &link_schema, offsetof(NET, level[0].has_link)),
	FMAP("board", NET, level[0], 0, &level_schema, offsetof(NET, has_board)),
	FMAP("network", NET, level[1], 0, &level_schema, offsetof(NET, has_network)),
	FF64("injection_gb_per_s", NET, injection_bps, 0, 0, 1e7, U_GBPS_TO_BPS,
	     "GB/s one chip may send at once over all its links; 0 = no limit"),
	FBOOL("allow_unused", NET, allow_unused, 0, "whether positions may be left without a rank"),
	FFUNC("placement", NET, placement, 0, read_placement,
	      "`linear` or the rank at each position"),
};
#undef NET
SCHEMA(net_schema, "interconnect", net_fields, false);

static void join(char *buf, size_t size, const char *path, const char *key)
{
	if (path && *path)
		snprintf(buf, size, "%s.%s", path, key);
	else
		snprintf(buf, size, "%s", key);
}

/* The node under key, or node itself when key is absent (for locations). */
static const struct tnode *at(const struct tnode *node, const char *key)
{
	const struct tnode *n = tnode_get(node, key);

	return n ? n : node;
}

/* Checks one level read from node (at path) on its own. */
static int check_level(const struct cim_net_level_spec *lv, const struct tnode *node,
		       const char *path, bool nested, struct cim_err *err)
{
	char kpath[256];

	if (lv->topology == CIM_NET_TOPO_HIER) {
		join(kpath, sizeof(kpath), path, "topology");
		return spec_errf(err, at(node, "topology"), kpath,
				 "a level of a hierarchical interconnect is ring, mesh2d, torus2d, "
				 "switch or full, not hierarchical");
	}
	if (!lv->has_link) {
		join(kpath, sizeof(kpath), path, "link");
		return spec_errf(err, node, kpath,
				 "missing: the %s link (bandwidth_gb_per_s, latency_ns, "
				 "energy_pj_per_bit)",
				 nested ? "level's" : "interconnect's");
	}
	if (!(lv->link.bandwidth_bps > 0)) {
		const struct tnode *ln = at(node, "link");

		join(kpath, sizeof(kpath), path, "link.bandwidth_gb_per_s");
		return spec_errf(err, at(ln, "bandwidth_gb_per_s"), kpath,
				 "expected a bandwidth above 0 GB/s, found 0 "
				 "(a link must move data)");
	}
	if (lv->dims[0] && lv->topology != CIM_NET_TOPO_MESH2D &&
	    lv->topology != CIM_NET_TOPO_TORUS2D) {
		join(kpath, sizeof(kpath), path, "dims");
		return spec_errf(err, at(node, "dims"), kpath,
				 "dims are for mesh2d and torus2d, not %s",
				 cim_net_topo_name(lv->topology));
	}
	if (lv->dims[0] && lv->size && lv->size != lv->dims[0] * lv->dims[1]) {
		join(kpath, sizeof(kpath), path, "size");
		return spec_errf(err, at(node, "size"), kpath,
				 "size %u disagrees with dims %u×%u = %u positions", lv->size,
				 lv->dims[0], lv->dims[1], lv->dims[0] * lv->dims[1]);
	}
	if (lv->has_switch_latency && lv->topology != CIM_NET_TOPO_SWITCH) {
		join(kpath, sizeof(kpath), path, "switch_latency_ns");
		return spec_errf(err, at(node, "switch_latency_ns"), kpath,
				 "switch_latency_ns is for topology switch, not %s",
				 cim_net_topo_name(lv->topology));
	}
	return 0;
}

int spec_read_net(const struct tnode *node, const char *path, struct cim_net_spec *out,
		  struct cim_err *err)
{
	struct cim_net_spec c;
	char kpath[256];

	memset(&c, 0, sizeof(c));
	if (spec_read_map(node, &net_schema, path, &c, err))
		return -1;
	if (c.injection_bps > 0 && c.injection_bps < 1e-3 * U_GBPS_TO_BPS) {
		join(kpath, sizeof(kpath), path, "injection_gb_per_s");
		return spec_errf(err, at(node, "injection_gb_per_s"), kpath,
				 "expected 0 (no limit) or a number from 0.001 to 1e+07 GB/s, "
				 "found %g",
				 c.injection_bps / U_GBPS_TO_BPS);
	}
	if (c.topology != CIM_NET_TOPO_HIER) {
		c.level[0].topology = c.topology;
		if (c.has_board || c.has_network) {
			const char *k = c.has_board ? "board" : "network";

			join(kpath, sizeof(kpath), path, k);
			return spec_errf(err, at(node, k), kpath,
					 "board and network are for topology hierarchical, not %s",
					 cim_net_topo_name(c.topology));
		}
		if (check_level(&c.level[0], node, path, false, err))
			return -1;
	} else {
		static const char *const flat_keys[] = { "size", "dims", "link",
							 "switch_latency_ns" };
		struct cim_net_level_spec board = c.level[0];

		for (size_t i = 0; i < sizeof(flat_keys) / sizeof(flat_keys[0]); i++)
			if (tnode_get(node, flat_keys[i])) {
				join(kpath, sizeof(kpath), path, flat_keys[i]);
				return spec_errf(err, tnode_get(node, flat_keys[i]), kpath,
						 "a hierarchical interconnect gives %s inside "
						 "board: or network:",
						 flat_keys[i]);
			}
		if (!c.has_board || !c.has_network) {
			join(kpath, sizeof(kpath), path, c.has_board ? "network" : "board");
			return spec_errf(err, node, kpath,
					 "missing: a hierarchical interconnect has a board: level "
					 "(chips on a board) and a network: level (boards)");
		}
		join(kpath, sizeof(kpath), path, "board");
		if (check_level(&board, tnode_get(node, "board"), kpath, true, err))
			return -1;
		if (!board.size && board.dims[0])
			c.level[0].size = board.dims[0] * board.dims[1];
		else if (!board.size)
			return spec_errf(err, tnode_get(node, "board"), kpath,
					 "missing: size (chips on each board)");
		join(kpath, sizeof(kpath), path, "network");
		if (check_level(&c.level[1], tnode_get(node, "network"), kpath, true, err))
			return -1;
	}
	*out = c;
	return 0;
}

/* ---------------------------------------------------------------- sizes */

/* Columns × rows as near square as n allows (columns ≥ rows). */
static void near_square(uint32_t n, uint32_t dims[2])
{
	uint32_t rows = 1;

	for (uint32_t r = 1; (uint64_t)r * r <= n; r++)
		if (n % r == 0)
			rows = r;
	dims[0] = n / rows;
	dims[1] = rows;
}

/* Resolves the size of level lv that must hold need positions (0 = any,
 * the size is then required).  what names the level in messages. */
static int level_size(const struct cim_net_spec *net, const struct cim_net_level_spec *lv,
		      uint32_t need, const char *what, uint32_t *size_p, uint32_t dims[2],
		      struct cim_err *err)
{
	bool grid = lv->topology == CIM_NET_TOPO_MESH2D || lv->topology == CIM_NET_TOPO_TORUS2D;
	uint32_t n = lv->size ? lv->size : lv->dims[0] ? lv->dims[0] * lv->dims[1] : need;

	dims[0] = dims[1] = 0;
	if (grid) {
		if (lv->dims[0]) {
			dims[0] = lv->dims[0];
			dims[1] = lv->dims[1];
		} else {
			near_square(n, dims);
		}
	}
	if (lv->topology == CIM_NET_TOPO_FULL && n > CIM_NET_MAX_FULL)
		return cim_err_set(err,
				   "interconnect '%s': %s: a fully connected level of %u "
				   "positions is more than the %u allowed",
				   net->name, what, n, CIM_NET_MAX_FULL);
	*size_p = n;
	return 0;
}

/* An explicit placement must name each of ranks 0..nranks−1 exactly once.
 * Duplicates are refused when read too, but a spec may be filled in C. */
static int check_placement(const struct cim_net_spec *net, uint32_t nranks, struct cim_err *err)
{
	const struct cim_net_placement *pl = &net->placement;
	bool seen[CIM_NET_MAX_POSITIONS] = { false };

	if (pl->n != nranks)
		return cim_err_set(err,
				   "interconnect '%s': placement lists %u ranks, but %u "
				   "ranks are run; list each rank 0..%u once",
				   net->name, pl->n, nranks, nranks - 1);
	for (uint32_t i = 0; i < pl->n; i++) {
		if (pl->rank[i] >= nranks)
			return cim_err_set(err,
					   "interconnect '%s': placement[%u] is rank %u, "
					   "but only ranks 0..%u are run",
					   net->name, i, pl->rank[i], nranks - 1);
		if (seen[pl->rank[i]])
			return cim_err_set(err,
					   "interconnect '%s': placement names rank %u "
					   "twice; each rank takes one position",
					   net->name, pl->rank[i]);
		seen[pl->rank[i]] = true;
	}
	return 0;
}

int cim_net_check(const struct cim_net_spec *net, uint32_t nranks, struct cim_net_shape *shape_out,
		  struct cim_err *err)
{
	struct cim_net_shape s = { .nranks = nranks };
	const char *given;

	if (nranks == 0 || nranks > CIM_NET_MAX_POSITIONS)
		return cim_err_set(err, "interconnect '%s': %u ranks; expected 1 to %u", net->name,
				   nranks, CIM_NET_MAX_POSITIONS);
	if (net->topology != CIM_NET_TOPO_HIER) {
		struct cim_net_level_spec flat = net->level[0];

		flat.topology = net->topology; /* a flat level is the topology itself */
		if (level_size(net, &flat, nranks, "chips", &s.size[0], s.dims[0], err))
			return -1;
		s.size[1] = 1;
		given = net->level[0].size || net->level[0].dims[0] ? "given" : "derived";
	} else {
		uint32_t bsize = net->level[0].size;
		uint32_t boards = (nranks + bsize - 1) / bsize;

		if (level_size(net, &net->level[0], bsize, "board", &s.size[0], s.dims[0], err) ||
		    level_size(net, &net->level[1], boards, "network", &s.size[1], s.dims[1], err))
			return -1;
		given = "given";
	}
	if ((uint64_t)s.size[0] * s.size[1] > CIM_NET_MAX_POSITIONS)
		return cim_err_set(err,
				   "interconnect '%s': %u×%u positions is more than the %u "
				   "allowed",
				   net->name, s.size[0], s.size[1], CIM_NET_MAX_POSITIONS);
	s.positions = s.size[0] * s.size[1];
	if (s.positions < nranks) {
		if (net->topology == CIM_NET_TOPO_HIER)
			return cim_err_set(err,
					   "interconnect '%s': %u boards of %u chips hold %u "
					   "positions, but %u ranks are run",
					   net->name, s.size[1], s.size[0], s.positions, nranks);
		return cim_err_set(err,
				   "interconnect '%s': %s %s of %u positions%s cannot hold "
				   "the %u ranks run",
				   net->name, given, cim_net_topo_name(net->topology), s.positions,
				   s.dims[0][0] ? " (dims as given)" : "", nranks);
	}
	if (s.positions > nranks && !net->allow_unused) {
		char shape[64] = "";

		if (s.dims[0][0] && net->topology != CIM_NET_TOPO_HIER)
			snprintf(shape, sizeof(shape), " %u×%u", s.dims[0][0], s.dims[0][1]);
		else if (net->topology == CIM_NET_TOPO_HIER)
			snprintf(shape, sizeof(shape), " (%u boards of %u)", s.size[1], s.size[0]);
		return cim_err_set(err,
				   "interconnect '%s': %s%s has %u positions but %u ranks are "
				   "run, leaving %u unused; give a size that matches, or set "
				   "allow_unused: true to leave positions empty",
				   net->name, cim_net_topo_name(net->topology), shape, s.positions,
				   nranks, s.positions - nranks);
	}
	if (net->placement.n && check_placement(net, nranks, err))
		return -1;
	if (shape_out)
		*shape_out = s;
	return 0;
}
