/*
 * cmd_net.c — `cimsim net`: what collectives and a point-to-point transfer
 * cost on an interconnect description, without running a model.
 *
 * It loads the file, lays it out for the ranks named, replays every
 * collective with every algorithm (or the one asked for) over a group with
 * equal ready times, and prints time, bus bandwidth and energy, as a table
 * or as JSON.  The model is interconnect/; this file only reads options and
 * prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interconnect.h"
#include "json.h"

#define MAX_GROUP CIM_NET_MAX_POSITIONS

static void net_usage(FILE *f)
{
	fputs("usage: cimsim net FILE --group RANKS --bytes SIZE [--algo ALGO] [--p2p A,B]\n"
	      "                  [--ranks N] [--json]\n\n"
	      "Time, bus bandwidth and energy of all-reduce, all-gather, reduce-scatter,\n"
	      "broadcast and all-to-all over a group of ranks on the interconnect described\n"
	      "in FILE, every member ready at time 0, and of a point-to-point transfer\n"
	      "between two ranks.\n\n"
	      "  --group RANKS  members, e.g. 0-7 or 0,2,4,6 or 0-3,8-11\n"
	      "  --bytes SIZE   message size: a whole number with an optional unit\n"
	      "                 B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (of 1024)\n"
	      "  --algo ALGO    ring, tree, hd (halving-doubling), direct, hier (all-to-all\n"
	      "                 within boards, then across) or auto (the fastest);\n"
	      "                 default: every algorithm, the fastest marked *\n"
	      "  --p2p A,B      the point-to-point pair (default: first and last member)\n"
	      "  --ranks N      ranks the interconnect is laid out for (default: the\n"
	      "                 highest rank named, plus one)\n"
	      "  --json         print JSON instead of a table\n",
	      f);
}

/* A whole number of bytes with an optional unit. */
static int parse_bytes(const char *arg, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t scale;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KB", 1000 },
		{ "MB", 1000000 },
		{ "GB", 1000000000 },
		{ "KiB", 1ull << 10 },
		{ "MiB", 1ull << 20 },
		{ "GiB", 1ull << 30 },
	};
	char *end;
	unsigned long long v;

	if (arg[0] < '0' || arg[0] > '9')
		goto bad;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno)
		goto bad;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > (1ull << 40) / units[i].scale)
				break;
			*out = v * units[i].scale;
			return 0;
		}
bad:
	cim_cli_error("--bytes: expected a whole number of bytes up to 1 TiB with an optional "
		      "unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 1MiB; found \"%s\"",
		      arg);
	return -1;
}

/* RANKS: a rank list (cim_spec_parse_ranks) naming no rank twice. */
static int parse_group(const char *arg, uint32_t *ranks, uint32_t *n_out)
{
	static const struct cim_rank_rules rules = {
		.what = "--group",
		.like = "0-7, 0,2,4,6 or 0-3,8-11",
		.max_rank = MAX_GROUP - 1,
		.max_ranges = MAX_GROUP,
	};
	static struct cim_rank_range items[MAX_GROUP];
	static bool seen[MAX_GROUP];
	struct cim_err err;
	uint32_t nitems, n = 0;

	if (cim_spec_parse_ranks(arg, &rules, items, &nitems, &err) < 0) {
		cim_cli_error("%s", err.msg);
		return -1;
	}
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < nitems; i++)
		for (uint32_t r = items[i].lo; r <= items[i].hi; r++) {
			if (seen[r]) {
				cim_cli_error("--group: rank %u is named twice in \"%s\"", r, arg);
				return -1;
			}
			seen[r] = true;
			ranks[n++] = r;
		}
	*n_out = n;
	return 0;
}

/* A,B: two ranks of a rank list, each named alone. */
static int parse_pair(const char *arg, uint32_t pair[2])
{
	static const struct cim_rank_rules rules = {
		.what = "--p2p",
		.like = "0,5",
		.max_rank = MAX_GROUP - 1,
		.max_ranges = 2,
	};
	struct cim_rank_range items[2];
	uint32_t n;

	if (cim_spec_parse_ranks(arg, &rules, items, &n, NULL) < 0 || n != 2 ||
	    items[0].lo != items[0].hi || items[1].lo != items[1].hi) {
		cim_cli_error("--p2p: expected two ranks A,B like 0,5; found \"%s\"", arg);
		return -1;
	}
	pair[0] = items[0].lo;
	pair[1] = items[1].lo;
	return 0;
}

struct net_opts {
	const char *path;
	uint32_t *group;
	uint32_t ngroup;
	uint64_t bytes;
	bool all_algos;
	enum cim_net_algo algo;
	uint32_t pair[2];
	bool has_pair, has_bytes;
	unsigned long long nranks;
	bool json;
};

static int parse_opts(int argc, char **argv, struct net_opts *o)
{
	enum cim_net_algo a;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(opt, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (opt[0] != '-' || opt[1] == '\0') {
			if (o->path) {
				cim_cli_error("net: one FILE only; found \"%s\" after \"%s\"", opt,
					      o->path);
				return -1;
			}
			o->path = opt;
			continue;
		}
		if (strcmp(opt, "--group") && strcmp(opt, "--bytes") && strcmp(opt, "--algo") &&
		    strcmp(opt, "--p2p") && strcmp(opt, "--ranks")) {
			cim_cli_error("net: unknown option \"%s\"; 'cimsim net --help' lists them",
				      opt);
			return -1;
		}
		if (!has_val) {
			cim_cli_error("%s: needs a value", opt);
			return -1;
		}
		const char *val = argv[++i];

		if (strcmp(opt, "--group") == 0) {
			if (parse_group(val, o->group, &o->ngroup))
				return -1;
		} else if (strcmp(opt, "--bytes") == 0) {
			if (parse_bytes(val, &o->bytes))
				return -1;
			o->has_bytes = true;
		} else if (strcmp(opt, "--algo") == 0) {
			if (!cim_net_algo_parse(val, &a)) {
				cim_cli_error("--algo: expected ring, tree, hd, direct or auto; "
					      "found \"%s\"",
					      val);
				return -1;
			}
			o->algo = a;
			o->all_algos = false;
		} else if (strcmp(opt, "--p2p") == 0) {
			if (parse_pair(val, o->pair))
				return -1;
			o->has_pair = true;
		} else if (cim_cli_u64("--ranks", val, 1, CIM_NET_MAX_POSITIONS, &o->nranks)) {
			return -1;
		}
	}
	if (!o->path || !o->ngroup || !o->has_bytes) {
		cim_cli_error("net: needs FILE, --group and --bytes; 'cimsim net --help' "
			      "explains them");
		return -1;
	}
	return 0;
}

struct row {
	enum cim_net_coll coll;
	enum cim_net_algo algo;
	bool ok, best;
	struct cim_net_coll_result res;
};

static void print_link(const char *what, const struct cim_net_level_spec *lv)
{
	printf("  %s: %s, %g GB/s each way, %g ns per hop, %g pJ/bit", what,
	       cim_net_topo_name(lv->topology), lv->link.bandwidth_bps / 1e9,
	       lv->link.latency_ps / 1e3, lv->link.energy_pj_per_bit);
	if (lv->topology == CIM_NET_TOPO_SWITCH)
		printf(", switch %g ns", lv->switch_latency_ps / 1e3);
	putchar('\n');
}

static void print_table(const struct net_opts *o, const struct cim_net_spec *spec,
			const struct cim_net *net, const struct row *rows, size_t nrows,
			const struct cim_net_xfer *x)
{
	const struct cim_net_shape *sh = cim_net_shape(net);

	printf("interconnect %s: %s, %u positions", spec->name, cim_net_topo_name(spec->topology),
	       sh->positions);
	if (spec->topology == CIM_NET_TOPO_HIER)
		printf(" (%u boards of %u)", sh->size[1], sh->size[0]);
	else if (sh->dims[0][0])
		printf(" (%u×%u)", sh->dims[0][0], sh->dims[0][1]);
	printf(", laid out for %u ranks\n", cim_net_nranks(net));
	print_link(spec->topology == CIM_NET_TOPO_HIER ? "board" : "links", &spec->level[0]);
	if (spec->topology == CIM_NET_TOPO_HIER)
		print_link("network", &spec->level[1]);
	printf("group of %u, %llu bytes, all ready at 0\n\n", o->ngroup,
	       (unsigned long long)o->bytes);
	printf("%-15s %-8s %14s %13s %13s %6s\n", "collective", "algo", "time (us)", "busbw (GB/s)",
	       "energy (uJ)", "steps");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		char algo[16];

		snprintf(algo, sizeof(algo), "%s%s", cim_net_algo_name(r->algo),
			 r->best ? " *" : "");
		if (!r->ok) {
			printf("%-15s %-8s %14s\n", cim_net_coll_name(r->coll), algo,
			       "not applicable");
			continue;
		}
		double t = (double)r->res.finish_max_ps;
		double busbw =
		    t > 0 ? o->bytes / (t * 1e-12) * cim_net_busbw_factor(r->coll, o->ngroup) / 1e9
			  : 0;

		printf("%-15s %-8s %14.3f %13.2f %13.3f %6u\n", cim_net_coll_name(r->coll), algo,
		       t / 1e6, busbw, r->res.energy_pj / 1e6, r->res.steps);
	}
	if (o->all_algos)
		printf("(* the fastest, as --algo auto picks)\n");
	printf("\npoint-to-point %u -> %u: %u hop%s, %.3f us, %.2f GB/s, %.3f uJ\n", o->pair[0],
	       o->pair[1], x->hops, x->hops == 1 ? "" : "s", x->arrive_ps / 1e6,
	       x->arrive_ps ? o->bytes / (x->arrive_ps * 1e-12) / 1e9 : 0.0, x->energy_pj / 1e6);
}

static void print_json(const struct net_opts *o, const struct cim_net_spec *spec,
		       const struct cim_net *net, const struct row *rows, size_t nrows,
		       const struct cim_net_xfer *x)
{
	const struct cim_net_shape *sh = cim_net_shape(net);
	struct json_w w;

	json_begin(&w, stdout);
	json_str(&w, "interconnect", spec->name);
	json_str(&w, "topology", cim_net_topo_name(spec->topology));
	json_u64(&w, "positions", sh->positions);
	json_u64(&w, "ranks", cim_net_nranks(net));
	json_arr(&w, "group");
	for (uint32_t i = 0; i < o->ngroup; i++)
		json_u64(&w, NULL, o->group[i]);
	json_arr_end(&w);
	json_u64(&w, "bytes", o->bytes);
	json_arr(&w, "collectives");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double t = (double)r->res.finish_max_ps;

		json_obj(&w, NULL);
		json_str(&w, "collective", cim_net_coll_name(r->coll));
		json_str(&w, "algorithm", cim_net_algo_name(r->algo));
		json_bool(&w, "applicable", r->ok);
		if (r->ok) {
			if (o->all_algos)
				json_bool(&w, "fastest", r->best);
			json_u64(&w, "time_ps", r->res.finish_max_ps);
			json_f64(&w, "algbw_gb_per_s", t > 0 ? o->bytes / (t * 1e-12) / 1e9 : 0);
			json_f64(&w, "busbw_gb_per_s",
				 t > 0 ? o->bytes / (t * 1e-12) *
					     cim_net_busbw_factor(r->coll, o->ngroup) / 1e9
				       : 0);
			json_f64(&w, "energy_pj", r->res.energy_pj);
			json_u64(&w, "link_bytes", r->res.link_bytes);
			json_u64(&w, "steps", r->res.steps);
		}
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj(&w, "p2p");
	json_u64(&w, "src", o->pair[0]);
	json_u64(&w, "dst", o->pair[1]);
	json_u64(&w, "hops", x->hops);
	json_u64(&w, "time_ps", x->arrive_ps);
	json_f64(&w, "energy_pj", x->energy_pj);
	json_obj_end(&w);
	json_end(&w);
}

/* Replays one collective with one algorithm (auto resolved) for the table. */
static void run_row(const struct cim_net *net, const struct net_opts *o, const uint64_t *ready,
		    uint64_t *fin, struct row *r)
{
	struct cim_net_coll_req req = { .coll = r->coll, .algo = r->algo, .bytes = o->bytes };
	struct cim_err err;

	r->ok = cim_net_collective(net, &req, o->group, ready, o->ngroup, fin, NULL, &r->res,
				   &err) == 0;
	if (r->ok)
		r->algo = r->res.algo;
}

int cim_cmd_net(int argc, char **argv)
{
	static struct cim_net_spec spec;
	static uint32_t group[MAX_GROUP];
	struct net_opts o = { .group = group, .all_algos = true, .algo = CIM_NET_ALGO_AUTO };
	struct row rows[CIM_NET_NCOLL * (CIM_NET_NALGO + 1)];
	size_t nrows = 0;
	struct cim_files *files;
	struct cim_net *net = NULL;
	struct cim_net_xfer x;
	struct cim_err err;
	uint64_t *ready = NULL, *fin = NULL;
	uint32_t top = 0;
	int rc = CIM_EXIT_INPUT;

	for (int i = 1; i < argc; i++)
		if (cim_cli_is_help(argv[i])) {
			net_usage(stdout);
			return 0;
		}
	if (parse_opts(argc, argv, &o))
		return CIM_EXIT_INPUT;
	if (!o.has_pair) {
		o.pair[0] = o.group[0];
		o.pair[1] = o.group[o.ngroup - 1];
	}
	for (uint32_t i = 0; i < o.ngroup; i++)
		top = o.group[i] > top ? o.group[i] : top;
	top = o.pair[0] > top ? o.pair[0] : top;
	top = o.pair[1] > top ? o.pair[1] : top;
	if (!o.nranks)
		o.nranks = top + 1ull;
	else if (top >= o.nranks) {
		cim_cli_error("net: rank %u is named, but --ranks %llu lays out ranks 0..%llu only",
			      top, o.nranks, o.nranks - 1);
		return CIM_EXIT_INPUT;
	}

	files = cim_files_create(true);
	if (!files) {
		cim_cli_error("net: out of memory");
		return 1;
	}
	if (cim_spec_load_net(files, o.path, &spec, &err) ||
	    cim_net_create(&spec, (uint32_t)o.nranks, &net, &err)) {
		cim_cli_error("%s", err.msg);
		goto out_files;
	}
	rc = 1;
	ready = calloc(o.ngroup, sizeof(*ready));
	fin = calloc(o.ngroup, sizeof(*fin));
	if (!ready || !fin) {
		cim_cli_error("net: out of memory");
		goto out_net;
	}
	for (int c = 0; c < CIM_NET_NCOLL; c++) {
		struct cim_net_coll_req req = { .coll = c, .bytes = o.bytes };
		struct cim_net_coll_result res[CIM_NET_NALGO];
		bool ok[CIM_NET_NALGO];
		enum cim_net_algo fastest;

		if (!o.all_algos) {
			rows[nrows] = (struct row){ .coll = c, .algo = o.algo };
			run_row(net, &o, ready, fin, &rows[nrows++]);
			continue;
		}
		/* every algorithm, the fastest marked as auto picks it */
		if (cim_net_collective_each(net, &req, o.group, ready, o.ngroup, res, ok, &fastest,
					    &err)) {
			cim_cli_error("%s", err.msg);
			goto out_net;
		}
		for (int a = 0; a < CIM_NET_NALGO; a++) {
			struct row *r = &rows[nrows++];

			*r = (struct row){ .coll = c, .algo = a, .ok = ok[a], .res = res[a] };
			r->best = a == (int)fastest;
		}
	}
	cim_net_p2p(net, o.pair[0], o.pair[1], o.bytes, 0, 0, &x);
	if (o.json)
		print_json(&o, &spec, net, rows, nrows, &x);
	else
		print_table(&o, &spec, net, rows, nrows, &x);
	rc = 0;
out_net:
	free(ready);
	free(fin);
	cim_net_destroy(net);
out_files:
	cim_files_destroy(files);
	return rc;
}
