/*
 * cmd_sweep.c — `mpirun -np N cimsim sweep STUDY`: every point of a study
 * in one job, each on a sub-communicator of the ranks it needs.
 *
 * Rank 0 reads the study and every file its points name, expands and plans
 * the points (sweep.c) and broadcasts the files and the points.  The points
 * that run are placed in rounds; in each round every rank either simulates
 * a chip of one point (MPI_Comm_split by point) or waits at the next round's
 * split.  A point's leader plans it and broadcasts the packed plan to the
 * point's other ranks.  A point's leader sends its figures and JSON to rank 0, which
 * reports them.  A point's results depend only on the point: its ranks run
 * it on their own communicator, in virtual time.
 */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "coord.h"
#include "sweep.h"

static const char sweep_usage[] =
    "usage: mpirun -np N cimsim sweep STUDY [--csv FILE] [--json FILE] [--json-dir DIR]\n"
    "                                   [--plots DIR] [--quiet] [--tp-per-rank]\n\n"
    "Runs every point of a study (a base experiment and the axes to vary,\n"
    "docs/studies.md) in one job: each point on as many ranks as it has chips,\n"
    "points side by side when the ranks allow.  Prints every point with the\n"
    "best of each chip count and the Pareto front of throughput against energy\n"
    "per token, and the points that could not run with the reason.\n\n"
    "  --csv FILE   one row per point: varied keys and headline figures (- for stdout)\n"
    "  --json FILE  every point with its full results (docs/results.md)\n"
    "  --json-dir DIR  each point's results alone, as cimsim run --json writes\n"
    "               them, in DIR/point-NNNN.json\n"
    "  --plots DIR  PNG and SVG plots of the CSV (tools/sweep-plots.sh; needs gnuplot)\n"
    "  --quiet      no table on stdout\n"
    "  --tp-per-rank  each point that can runs a rank per tensor-parallel group\n"
    "               (cimsim run --tp-per-rank): the same results on fewer ranks;\n"
    "               experts over the replicas keep a rank per chip\n";

enum { TAG_METRICS = 1, TAG_JSON = 2 };

struct sweep_opts {
	const char *path, *csv, *json, *json_dir, *plots;
	bool quiet;
	bool tp_per_rank;
};

static int parse(int argc, char **argv, struct sweep_opts *o, bool loud)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			if (loud)
				fputs(sweep_usage, stdout);
			return 1;
		} else if (strcmp(a, "--csv") == 0 && i + 1 < argc) {
			o->csv = argv[++i];
		} else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
			o->json = argv[++i];
		} else if (strcmp(a, "--json-dir") == 0 && i + 1 < argc) {
			o->json_dir = argv[++i];
		} else if (strcmp(a, "--plots") == 0 && i + 1 < argc) {
			o->plots = argv[++i];
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--tp-per-rank") == 0) {
			o->tp_per_rank = true;
		} else if (a[0] == '-' || o->path) {
			cim_cli_error("sweep: unexpected argument '%s'\n%s", a, sweep_usage);
			return -1;
		} else {
			o->path = a;
		}
	}
	if (!o->path) {
		cim_cli_error("sweep: no STUDY given\n%s", sweep_usage);
		return -1;
	}
	return 0;
}

/*
 * Rank 0 reads and expands the study; every rank gets the files, the study
 * and the points.  Returns CIM_EXIT_INPUT on every rank when the study is
 * invalid (rank 0 says why).
 */
static int load(const char *path, bool tp_per_rank, int rank, struct cim_files **files_p,
		struct cim_study **study_p, struct cim_sweep_point **pts_p, size_t *n_p)
{
	struct cim_files *files = NULL;
	struct cim_study *s = NULL;
	struct cim_sweep_point *pts = NULL;
	struct cim_err err = { { 0 } };
	char *buf = NULL, *pbuf;
	size_t len = 0, n = 0, plen;
	bool ok = false;
	int ranks;

	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	if (rank == 0) {
		files = cim_files_create(true);
		if (!files)
			cim_err_set(&err, "out of memory");
		else
			ok = cim_spec_load_study(files, path, &s, &err) == 0 &&
			     cim_sweep_expand(files, s, (uint32_t)ranks, tp_per_rank, &pts, &n,
					      &err) == 0 &&
			     cim_files_pack(files, &buf, &len, &err) == 0;
	}
	if (cim_coord_bcast_bytes(MPI_COMM_WORLD, ok, &buf, &len, "the study") < 0) {
		if (rank == 0)
			cim_cli_error("%s", err.msg);
		cim_files_destroy(files);
		free(s);
		free(pts);
		return CIM_EXIT_INPUT;
	}
	pbuf = (char *)pts;
	plen = n * sizeof(*pts);
	cim_coord_bcast_bytes(MPI_COMM_WORLD, true, &pbuf, &plen, "the study");
	if (rank != 0) {
		pts = (struct cim_sweep_point *)pbuf;
		n = plen / sizeof(*pts);
		if (cim_files_unpack(buf, len, &files, &err) ||
		    cim_spec_load_study(files, path, &s, &err)) {
			fprintf(stderr, "cimsim: rank %d: %s\n", rank, err.msg);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
	}
	free(buf);
	*files_p = files;
	*study_p = s;
	*pts_p = pts;
	*n_p = n;
	return 0;
}

/* Ends the job from inside a point: every rank must stop, not wait. */
static void abort_point(const struct cim_study *s, const struct cim_sweep_point *p, int rank,
			const char *msg)
{
	fprintf(stderr, "cimsim: rank %d: %s: point %u: %s\n", rank, s->path, p->index, msg);
	fflush(stderr);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

/*
 * Runs point p on comm (its ranks).  The leader (comm's rank 0) fills *res
 * when it is world rank 0, and sends it there otherwise.
 */
static void run_point(struct cim_files *files, const struct cim_study *s,
		      const struct cim_sweep_point *p, MPI_Comm comm, int rank,
		      struct cim_sweep_result *res)
{
	struct cim_experiment *e = NULL;
	struct cim_part_plan *plan = NULL;
	struct cim_net *net = NULL;
	struct cim_sweep_sets sets;
	struct cim_results r;
	struct cim_err err;
	int lead;

	MPI_Comm_rank(comm, &lead);
	cim_sweep_sets(s, p, &sets);
	if (cim_spec_load_experiment(files, s->experiment, sets.v, sets.n, &e, &err) ||
	    (lead == 0 && cim_part_plan(e, p->tp, p->pp, p->dp, &plan, &err)))
		abort_point(s, p, rank, err.msg);
	/* The leader plans the point; its other ranks take that plan. */
	cim_coord_bcast_plan(comm, &plan);
	if (cim_net_create(&e->net, plan->chips, &net, &err))
		abort_point(s, p, rank, err.msg);
	if (cim_coord_simulate(comm, e, plan, net, plan->chips / cim_sweep_ranks(p), NULL, &r,
			       &err) < 0)
		abort_point(s, p, rank, err.msg);
	if (lead == 0) {
		struct cim_sweep_result mine = { .ran = true };
		size_t len = 0;
		FILE *mem = open_memstream(&mine.json, &len);
		if (!mem)
			abort_point(s, p, rank, "out of memory for the results");
		cim_results_json(mem, &r);
		if (fclose(mem) != 0)
			abort_point(s, p, rank, "out of memory for the results");
		cim_sweep_metrics_of(&r, &mine.m);
		cim_results_free(&r);
		if (rank == 0) {
			*res = mine;
		} else {
			MPI_Send(&mine.m, (int)sizeof(mine.m), MPI_BYTE, 0, TAG_METRICS,
				 MPI_COMM_WORLD);
			MPI_Send(mine.json, (int)len + 1, MPI_CHAR, 0, TAG_JSON, MPI_COMM_WORLD);
			free(mine.json);
		}
	}
	cim_net_destroy(net);
	cim_part_plan_destroy(plan);
	free(e);
}

/* Rank 0 takes a point's figures from its leader. */
static void receive_point(int leader, struct cim_sweep_result *res)
{
	MPI_Status st;
	int len;

	MPI_Recv(&res->m, (int)sizeof(res->m), MPI_BYTE, leader, TAG_METRICS, MPI_COMM_WORLD,
		 MPI_STATUS_IGNORE);
	MPI_Probe(leader, TAG_JSON, MPI_COMM_WORLD, &st);
	MPI_Get_count(&st, MPI_CHAR, &len);
	res->json = malloc((size_t)len + 1);
	if (!res->json) {
		fprintf(stderr, "cimsim: rank 0: out of memory for the results\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	MPI_Recv(res->json, len, MPI_CHAR, leader, TAG_JSON, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	res->json[len] = 0;
	res->ran = true;
}

/* Points done, time spent and left: a line redrawn on a terminal, a log
 * line per point otherwise. */
static void progress(const struct cim_study *s, const struct cim_sweep_point *pts,
		     const struct cim_sweep_result *res, size_t i, size_t done, size_t total,
		     double elapsed, bool tty)
{
	double left = done ? elapsed / (double)done * (double)(total - done) : 0;
	char label[200];

	if (tty) {
		fprintf(stderr, "\rsweep: %zu/%zu points, %.0f s, about %.0f s left   ", done,
			total, elapsed, left);
		if (done == total)
			fputc('\n', stderr);
	} else {
		cim_sweep_label(s, &pts[i], label, sizeof(label));
		fprintf(stderr,
			"cimsim: sweep: %zu/%zu: #%zu %s: %.1f tokens/s, %.3f mJ/token (%.1f s); "
			"%.0f s so far, about %.0f s left\n",
			done, total, i, label, res[i].m.tokens_per_s,
			res[i].m.energy_per_token_j * 1e3, res[i].m.wall_s, elapsed, left);
	}
	fflush(stderr);
}

/* Runs the rounds; rank 0 ends with every point's result in res. */
static void run_rounds(struct cim_files *files, const struct cim_study *s,
		       const struct cim_sweep_point *pts, size_t n, int rank, int ranks,
		       struct cim_sweep_result *res)
{
	uint32_t *round = calloc(n ? n : 1, sizeof(*round));
	uint32_t *first = calloc(n ? n : 1, sizeof(*first));
	size_t total = 0, done = 0;
	bool tty = isatty(STDERR_FILENO);
	double t0 = MPI_Wtime();

	if (!round || !first) {
		fprintf(stderr, "cimsim: rank %d: out of memory for the schedule\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	uint32_t rounds = cim_sweep_schedule(pts, n, (uint32_t)ranks, round, first);
	for (size_t i = 0; i < n; i++)
		total += round[i] != UINT32_MAX;
	for (uint32_t r = 0; r < rounds; r++) {
		int color = MPI_UNDEFINED;
		size_t mine = n;
		for (size_t i = 0; i < n; i++)
			if (round[i] == r && (uint32_t)rank >= first[i] &&
			    (uint32_t)rank < first[i] + cim_sweep_ranks(&pts[i]))
				mine = i;
		if (mine < n)
			color = (int)mine;
		MPI_Comm comm;
		MPI_Comm_split(MPI_COMM_WORLD, color, rank, &comm);
		if (mine < n) {
			run_point(files, s, &pts[mine], comm, rank, &res[mine]);
			MPI_Comm_free(&comm);
		}
		if (rank != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (round[i] != r)
				continue;
			if (first[i] != 0)
				receive_point((int)first[i], &res[i]);
			progress(s, pts, res, i, ++done, total, MPI_Wtime() - t0, tty);
		}
	}
	free(round);
	free(first);
}

/* Writes text output to path ("-": stdout) with write(f, ...). */
static int write_out(const char *path, const char *what,
		     void (*write)(FILE *, const struct cim_study *, const struct cim_sweep_point *,
				   const struct cim_sweep_result *, size_t, int),
		     const struct cim_study *s, const struct cim_sweep_point *pts,
		     const struct cim_sweep_result *res, size_t n, int ranks)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (!f) {
		cim_cli_error("%s: cannot create the %s: %s", path, what, strerror(errno));
		return 1;
	}
	write(f, s, pts, res, n, ranks);
	if (f == stdout ? fflush(f) != 0 : fclose(f) != 0) {
		cim_cli_error("%s: cannot write the %s: %s", path, what, strerror(errno));
		return 1;
	}
	return 0;
}

static void csv_writer(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		       const struct cim_sweep_result *res, size_t n, int ranks)
{
	(void)ranks;
	cim_sweep_csv(f, s, pts, res, n);
}

/* Where tools/ is: $CIMSIM_TOOLS, else the source tree cimsim was built from. */
static const char *tools_dir(void)
{
	const char *env = getenv("CIMSIM_TOOLS");

	return env && *env ? env : CIM_SOURCE_DIR "/tools";
}

/* Runs tools/sweep-plots.sh CSV DIR (after MPI has ended). */
static int plots(const char *csv, const char *dir)
{
	char script[1200];
	int status;

	snprintf(script, sizeof(script), "%s/sweep-plots.sh", tools_dir());
	if (access(script, R_OK) != 0) {
		cim_cli_error("--plots: %s: %s; set CIMSIM_TOOLS to the tools/ folder of the "
			      "cimsim sources",
			      script, strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		cim_cli_error("--plots: cannot start %s: %s", script, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execlp("sh", "sh", script, csv, dir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cim_cli_error("--plots: %s %s %s failed", script, csv, dir);
		return 1;
	}
	return 0;
}

/* Makes dir unless it exists. */
static int make_dir(const char *opt, const char *dir)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		cim_cli_error("%s: %s: cannot create: %s", opt, dir, strerror(errno));
		return 1;
	}
	return 0;
}

/* Each point's results in DIR/point-NNNN.json. */
static int write_points(const char *dir, const struct cim_sweep_result *res, size_t n)
{
	char path[1200];

	if (make_dir("--json-dir", dir))
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (!res[i].ran)
			continue;
		snprintf(path, sizeof(path), "%s/point-%04zu.json", dir, i);
		FILE *f = fopen(path, "w");
		if (!f || fputs(res[i].json, f) == EOF || fclose(f) != 0) {
			cim_cli_error("%s: cannot write: %s", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* Rank 0's reports: table, CSV, JSON; the CSV path plots will read. */
static int report(const struct sweep_opts *o, const struct cim_study *s,
		  const struct cim_sweep_point *pts, struct cim_sweep_result *res, size_t n,
		  int ranks, char *plot_csv, size_t size)
{
	int rc = 0;

	cim_sweep_mark(pts, res, n);
	if (!o->quiet)
		cim_sweep_table(stdout, s, pts, res, n);
	/* A study of which nothing ran has no result: an error, with what
	 * would have let its points run. */
	size_t ran = 0;
	uint32_t most = 0;
	for (size_t i = 0; i < n; i++) {
		ran += res[i].ran;
		if (pts[i].status == CIM_POINT_TOO_BIG && cim_sweep_ranks(&pts[i]) > most)
			most = cim_sweep_ranks(&pts[i]);
	}
	if (n && !ran) {
		if (most)
			cim_cli_error("%s: none of the %zu points ran: the job has %d rank%s and "
				      "the points need up to %u ranks; run with mpirun -np %u",
				      o->path, n, ranks, ranks == 1 ? "" : "s", most, most);
		else
			cim_cli_error("%s: none of the %zu points ran (the table says why): "
				      "nothing to report",
				      o->path, n);
		rc = CIM_EXIT_INPUT;
	}
	if (o->csv)
		rc |= write_out(o->csv, "CSV", csv_writer, s, pts, res, n, ranks);
	if (o->json)
		rc |= write_out(o->json, "JSON", cim_sweep_json, s, pts, res, n, ranks);
	if (o->json_dir)
		rc |= write_points(o->json_dir, res, n);
	if (o->plots && !rc) {
		if (o->csv && strcmp(o->csv, "-") != 0) {
			snprintf(plot_csv, size, "%s", o->csv);
		} else {
			if (make_dir("--plots", o->plots))
				return 1;
			snprintf(plot_csv, size, "%s/%s.csv", o->plots, s->name);
			rc |= write_out(plot_csv, "CSV", csv_writer, s, pts, res, n, ranks);
		}
	}
	return rc;
}

int cim_cmd_sweep(int argc, char **argv)
{
	struct sweep_opts o = { 0 };
	struct cim_files *files = NULL;
	struct cim_study *s = NULL;
	struct cim_sweep_point *pts = NULL;
	struct cim_sweep_result *res = NULL;
	char plot_csv[1400] = "";
	size_t n = 0;
	int rank, ranks, rc;

	/* MPI first: ranks that exit before MPI_Init can leave mpirun waiting. */
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	cim_cli_set_quiet(rank != 0);
	rc = parse(argc, argv, &o, rank == 0);
	if (rc) {
		MPI_Finalize();
		return rc > 0 ? 0 : CIM_EXIT_INPUT;
	}
	rc = load(o.path, o.tp_per_rank, rank, &files, &s, &pts, &n);
	if (rc) {
		MPI_Finalize();
		return rc;
	}
	if (rank == 0 && !(res = calloc(n ? n : 1, sizeof(*res)))) {
		cim_cli_error("out of memory for the results");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	run_rounds(files, s, pts, n, rank, ranks, res);
	if (rank == 0)
		rc = report(&o, s, pts, res, n, ranks, plot_csv, sizeof(plot_csv));
	MPI_Finalize();
	if (rank == 0 && !rc && plot_csv[0])
		rc = plots(plot_csv, o.plots);
	for (size_t i = 0; res && i < n; i++)
		free(res[i].json);
	free(res);
	free(pts);
	free(s);
	cim_files_destroy(files);
	return rc;
}
