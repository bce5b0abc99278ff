/*
 * test_sweep.c — studies and sweeps without MPI: reading study files,
 * expanding their points, placing them in rounds, marking the best and the
 * Pareto front, the CSV's shape and its quoting.
 *
 * The model and chip are the partitioner's tiny ones (tests/data/part): the
 * model needs 1,280 crossbars and a chip has 256, so 4 chips (1,024) can
 * never hold it and tp 4 × pp 2 on 8 chips does (test_plan's fewest chips).
 */
#include <stdlib.h>

#include "sweep.h"
#include "test.h"

static const char tiny[] = "model: ../part/tiny-llama.json\n"
			   "chip: ../part/tiny-64.yaml\n"
			   "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			   "workload:\n  batch: 2\n  prompt_tokens: 16\n  generate_tokens: 8\n";

#define STUDY "tests/data/sweep/mem-study.yaml"

/* A bundle holding the tiny experiment and the study text (other files
 * come from the disk). */
static struct cim_files *files_with(const char *study)
{
	struct cim_files *files = cim_files_create(true);

	CU_ASSERT_PTR_NOT_NULL_FATAL(files);
	cim_files_put(files, "tests/data/sweep/tiny.yaml", tiny, strlen(tiny));
	cim_files_put(files, STUDY, study, strlen(study));
	return files;
}

static struct cim_study *load_ok(struct cim_files *files)
{
	struct cim_study *s = NULL;
	struct cim_err err;

	if (cim_spec_load_study(files, STUDY, &s, &err) < 0)
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void test_study_read(void)
{
	struct cim_files *files =
	    files_with("experiment: tiny.yaml\n"
		       "chips: [8, 16]\n"
		       "splits: [best-throughput, tp-first]\n"
		       "set:\n  workload.generate_tokens: 4\n"
		       "axes:\n"
		       "  workload.batch: [1, 2]\n"
		       "  interconnect: [../../../configs/interconnects/ucie-ring.yaml]\n"
		       "  parallel.layers: [[1, 3]]\n");
	struct cim_study *s = load_ok(files);

	CU_ASSERT_STRING_EQUAL(s->name, "mem-study"); /* after the file */
	CU_ASSERT_STRING_EQUAL(s->experiment, "tests/data/sweep/tiny.yaml");
	CIM_ASSERT_EQ_U64(s->nchips, 2);
	CIM_ASSERT_EQ_U64(s->chips[1], 16);
	CIM_ASSERT_EQ_U64(s->splits, CIM_SPLITS_LIST);
	CIM_ASSERT_EQ_U64(s->nsplits, 2);
	CIM_ASSERT_EQ_U64(s->split[0].strategy, CIM_STRAT_BEST_THROUGHPUT);
	CIM_ASSERT_EQ_U64(s->split[1].strategy, CIM_STRAT_TP_FIRST);
	CIM_ASSERT_EQ_U64(s->nsets, 1);
	CU_ASSERT_STRING_EQUAL(s->set[0].set, "workload.generate_tokens=4");
	CIM_ASSERT_EQ_U64(s->naxes, 3);
	CU_ASSERT_STRING_EQUAL(s->axis[0].key, "workload.batch");
	CIM_ASSERT_EQ_U64(s->axis[0].n, 2);
	CU_ASSERT_STRING_EQUAL(s->axis[0].v[1].set, "workload.batch=2");
	CU_ASSERT_STRING_EQUAL(s->axis[0].v[1].label, "2");
	CIM_ASSERT_EQ_U64(s->axis[0].v[1].line, 7);
	/* A path is made relative to the working directory; the label is the
	 * file's name. */
	CU_ASSERT_STRING_EQUAL(
	    s->axis[1].v[0].set,
	    "interconnect=\"tests/data/sweep/../../../configs/interconnects/ucie-ring.yaml\"");
	CU_ASSERT_STRING_EQUAL(s->axis[1].v[0].label, "ucie-ring");
	/* A list value is written back as flow YAML; its label has no commas. */
	CU_ASSERT_STRING_EQUAL(s->axis[2].v[0].set, "parallel.layers=[1, 3]");
	CU_ASSERT_STRING_EQUAL(s->axis[2].v[0].label, "[1  3]");
	free(s);
	cim_files_destroy(files);
}

static void test_study_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "experiment: tiny.yaml\nchips: 8\nsplits: alll\n",
		  STUDY ":3: splits: expected all, a strategy" },
		{ "experiment: tiny.yaml\naxis:\n  workload.batch: [1]\n",
		  STUDY ":2: axis: unknown key in study; did you mean 'axes'?" },
		{ "chips: 8\n", "missing key 'experiment'" },
		{ "experiment: tiny.yaml\nchips: 8\nsplits: [[2, 4]]\n",
		  "give either chips or [tp, pp] splits, not both" },
		{ "experiment: tiny.yaml\nsplits: all\n", "all needs the chip counts" },
		{ "experiment: tiny.yaml\nsplits: best-energy\n",
		  "a strategy chooses a split for a number of chips" },
		{ "experiment: tiny.yaml\naxes:\n  parallel.tp: [1, 2]\n",
		  STUDY ":3: axes: 'parallel.tp' is set by the study's chips and splits" },
		{ "experiment: tiny.yaml\naxes:\n  workload.batch: 8\n",
		  STUDY ":3: axes.workload.batch: expected a list of 1 to 64 values" },
		{ "experiment: tiny.yaml\nchips: [8, 8]\nsplits: all\n",
		  "8 chips is listed twice" },
		{ "experiment: tiny.yaml\nchips: [0]\n", "chips: expected a whole number from 1" },
		{ "experiment: tiny.yaml\nset:\n  workload.batch: 2\naxes:\n  workload.batch: "
		  "[1]\n",
		  "workload.batch is both an axis and under set (line 3)" },
		{ "experiment: tiny.yaml\nsplits: [[2, 0]]\n",
		  "splits: expected a whole number from 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cim_files *files = files_with(cases[i].text);
		struct cim_study *s = NULL;
		struct cim_err err = { { 0 } };
		CU_ASSERT(cim_spec_load_study(files, STUDY, &s, &err) < 0);
		CU_ASSERT_PTR_NULL(s);
		CIM_ASSERT_HAS(err.msg, cases[i].want);
		free(s);
		cim_files_destroy(files);
	}
}

/* Two splits by hand (tp 4 × pp 2 fits 8 chips; tp 1 × pp 4 on 4 chips
 * cannot), two batch sizes: the axes vary slowest-last, splits fastest. */
static void test_expand(void)
{
	struct cim_files *files = files_with("experiment: tiny.yaml\n"
					     "splits: [[4, 2], [1, 4]]\n"
					     "axes:\n  workload.batch: [1, 2]\n");
	struct cim_study *s = load_ok(files);
	struct cim_sweep_point *pts = NULL;
	struct cim_sweep_sets sets;
	struct cim_err err;
	size_t n = 0;
	char label[200];

	CU_ASSERT_FATAL(cim_sweep_expand(files, s, 8, false, &pts, &n, &err) == 0);
	CIM_ASSERT_EQ_U64(n, 4);
	for (size_t i = 0; i < n; i++) {
		CIM_ASSERT_EQ_U64(pts[i].index, i);
		CIM_ASSERT_EQ_U64(pts[i].value[0], i / 2);
		CIM_ASSERT_EQ_U64(pts[i].status, i % 2 ? CIM_POINT_INFEASIBLE : CIM_POINT_RUN);
		CIM_ASSERT_EQ_U64(pts[i].chips, i % 2 ? 4 : 8);
	}
	CIM_ASSERT_HAS(pts[1].why, "The fewest tiny-64 chips that hold tiny-llama: 8 (tp 4, pp 2)");
	cim_sweep_sets(s, &pts[2], &sets);
	CIM_ASSERT_EQ_U64(sets.n, 5);
	CU_ASSERT_STRING_EQUAL(sets.v[0], "workload.batch=2");
	CU_ASSERT_STRING_EQUAL(sets.v[1], "parallel.strategy=manual");
	CU_ASSERT_STRING_EQUAL(sets.v[2], "parallel.tp=4");
	CU_ASSERT_STRING_EQUAL(sets.v[3], "parallel.pp=2");
	CU_ASSERT_STRING_EQUAL(sets.v[4], "parallel.dp=1");
	cim_sweep_label(s, &pts[2], label, sizeof(label));
	CU_ASSERT_STRING_EQUAL(label, "batch=2 tp4 pp2");
	free(pts);

	/* On 4 ranks the 8-chip points cannot run: they say so. */
	CU_ASSERT_FATAL(cim_sweep_expand(files, s, 4, false, &pts, &n, &err) == 0);
	CIM_ASSERT_EQ_U64(pts[0].status, CIM_POINT_TOO_BIG);
	CIM_ASSERT_HAS(pts[0].why, "needs 8 chips but the job has 4 ranks: run the sweep with "
				   "mpirun -np 8");
	CIM_ASSERT_EQ_U64(pts[1].status, CIM_POINT_INFEASIBLE);
	free(pts);
	free(s);
	cim_files_destroy(files);
}

/* A value the experiment refuses is an input error naming the point. */
static void test_expand_bad_value(void)
{
	struct cim_files *files = files_with("experiment: tiny.yaml\n"
					     "splits: [[4, 2]]\n"
					     "axes:\n  workload.batch: [1, two]\n");
	struct cim_study *s = load_ok(files);
	struct cim_sweep_point *pts = NULL;
	struct cim_err err;
	size_t n = 0;

	CU_ASSERT(cim_sweep_expand(files, s, 8, false, &pts, &n, &err) < 0);
	CU_ASSERT_PTR_NULL(pts);
	CIM_ASSERT_HAS(err.msg,
		       STUDY ": point 1 (batch=two tp4 pp2): command line (--set "
			     "workload.batch=two): workload.batch: expected a whole number");
	free(s);
	cim_files_destroy(files);
}

/* `splits: all` lists every split of the chip count, the ones that do not
 * fit with their reason: on 8 chips, tp 4 × pp 2 fits, and tp 1 × pp 4 ×
 * dp 2 (a replica on 4 chips, 1,024 crossbars) cannot. */
static void test_expand_all(void)
{
	struct cim_files *files = files_with("experiment: tiny.yaml\nchips: 8\nsplits: all\n");
	struct cim_study *s = load_ok(files);
	struct cim_sweep_point *pts = NULL;
	struct cim_err err;
	size_t n = 0;
	int seen = 0;

	CU_ASSERT_FATAL(cim_sweep_expand(files, s, 8, false, &pts, &n, &err) == 0);
	for (size_t i = 0; i < n; i++) {
		CIM_ASSERT_EQ_U64(pts[i].tp * pts[i].pp * pts[i].dp, 8);
		CIM_ASSERT_EQ_U64(pts[i].chips, 8);
		if (pts[i].tp == 4 && pts[i].pp == 2 && pts[i].dp == 1) {
			CIM_ASSERT_EQ_U64(pts[i].status, CIM_POINT_RUN);
			seen |= 1;
		}
		if (pts[i].tp == 1 && pts[i].pp == 4 && pts[i].dp == 2) {
			CIM_ASSERT_EQ_U64(pts[i].status, CIM_POINT_INFEASIBLE);
			CIM_ASSERT_HAS(pts[i].why, "crossbars but tiny-64 has 256");
			seen |= 2;
		}
	}
	CIM_ASSERT_EQ_U64(seen, 3);
	free(pts);
	free(s);
	cim_files_destroy(files);
}

/* Rounds by hand on 8 ranks, largest first, first fit, ties in order:
 * chips 8 4 2 4 6 2 (and one that does not run) →
 *   round 0: #0 (8) at 0
 *   round 1: #4 (6) at 0, #2 (2) at 6
 *   round 2: #1 (4) at 0, #3 (4) at 4
 *   round 3: #5 (2) at 0 */
static void test_schedule(void)
{
	struct cim_sweep_point pts[7] = { { 0 } };
	static const uint32_t chips[7] = { 8, 4, 2, 4, 6, 2, 16 };
	static const uint32_t want_round[6] = { 0, 2, 1, 2, 1, 3 };
	static const uint32_t want_first[6] = { 0, 0, 6, 4, 0, 0 };
	uint32_t round[7], first[7];

	for (int i = 0; i < 7; i++) {
		pts[i].chips = chips[i];
		pts[i].status = i == 6 ? CIM_POINT_TOO_BIG : CIM_POINT_RUN;
	}
	CIM_ASSERT_EQ_U64(cim_sweep_schedule(pts, 7, 8, round, first), 4);
	for (int i = 0; i < 6; i++) {
		CIM_ASSERT_EQ_U64(round[i], want_round[i]);
		CIM_ASSERT_EQ_U64(first[i], want_first[i]);
	}
	CIM_ASSERT_EQ_U64(round[6], UINT32_MAX);
}

/* Best and Pareto by hand.  Points (chips, batch value, tokens/s, mJ/token):
 *   0: 8, b0, 100, 5    on the front (only #1 is faster, and it costs more)
 *   1: 8, b0, 120, 6    best of (8, b0), on the front
 *   2: 8, b0,  90, 7    beaten by #0 on both
 *   3: 4, b0,  50, 3    best of (4, b0), on the front (least energy)
 *   4: 8, b1,  60, 8    best of (8, b1) alone; beaten by #0
 *   5: 8, b0, 100, 5    the same as #0: on the front too, not best
 *   6: did not run */
static void test_mark(void)
{
	static const double tps[7] = { 100, 120, 90, 50, 60, 100, 0 };
	static const double mj[7] = { 5, 6, 7, 3, 8, 5, 0 };
	static const uint32_t chips[7] = { 8, 8, 8, 4, 8, 8, 8 };
	static const bool best[7] = { false, true, false, true, true, false, false };
	static const bool front[7] = { true, true, false, true, false, true, false };
	struct cim_sweep_point pts[7] = { { 0 } };
	struct cim_sweep_result res[7] = { { 0 } };

	for (int i = 0; i < 7; i++) {
		pts[i].chips = chips[i];
		pts[i].value[0] = i == 4;
		res[i].ran = i != 6;
		res[i].m.tokens_per_s = tps[i];
		res[i].m.energy_per_token_j = mj[i] * 1e-3;
	}
	cim_sweep_mark(pts, res, 7);
	for (int i = 0; i < 7; i++) {
		CIM_ASSERT_EQ_U64(res[i].best, best[i]);
		CIM_ASSERT_EQ_U64(res[i].pareto, front[i]);
	}
}

/* Fields of one CSV line, commas inside quotes not counted. */
static size_t csv_fields(const char *line, size_t len)
{
	size_t n = 1;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (line[i] == ',' && !quoted)
			n++;
	}
	return n;
}

/* One header and one row per point, run or not, every row as wide as the
 * header; a reason with commas is quoted. */
static void test_csv(void)
{
	struct cim_files *files = files_with("experiment: tiny.yaml\n"
					     "splits: [[4, 2], [1, 4]]\n"
					     "axes:\n  workload.batch: [1, 2]\n");
	struct cim_study *s = load_ok(files);
	struct cim_sweep_point *pts = NULL;
	struct cim_sweep_result res[4] = { { 0 } };
	struct cim_err err;
	char *buf = NULL;
	size_t n = 0, len = 0, lines = 0, header = 0;

	CU_ASSERT_FATAL(cim_sweep_expand(files, s, 8, false, &pts, &n, &err) == 0);
	res[0].ran = res[2].ran = true;
	res[0].m.tokens_per_s = 1000;
	res[2].m.tokens_per_s = 2000;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cim_sweep_csv(f, s, pts, res, n);
	fclose(f);
	CU_ASSERT(strncmp(buf, "point,label,group,status,workload.batch,strategy,chips,", 55) == 0);
	for (char *line = buf, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		size_t k = csv_fields(line, (size_t)(end - line));
		if (lines == 0)
			header = k;
		CIM_ASSERT_EQ_U64(k, header);
		lines++;
	}
	CIM_ASSERT_EQ_U64(lines, n + 1);
	CIM_ASSERT_HAS(buf, "\n1,batch=1 tp1 pp4,batch=1,infeasible,1,manual,4,1,4,1,");
	CIM_ASSERT_HAS(buf, ",\"rank ");
	CIM_ASSERT_HAS(buf, "\n2,batch=2 tp4 pp2,batch=2,ran,2,manual,8,4,2,1,0,2000,");
	free(buf);
	free(pts);
	free(s);
	cim_files_destroy(files);
}

/* One CSV field (spec/csv.c), by RFC 4180: quoted only when it holds a
 * comma, a quote, a CR or an LF; inner quotes doubled; line breaks kept. */
static void test_csv_field(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "plain text", "plain text" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "\"", "\"\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\rhere", "\"cr\rhere\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		cim_csv_field(f, cases[i].in);
		fclose(f);
		if (strcmp(buf, cases[i].out) != 0)
			fprintf(stderr, "\n  cim_csv_field(\"%s\"): [%s], expected [%s]\n",
				cases[i].in, buf, cases[i].out);
		CU_ASSERT_STRING_EQUAL(buf, cases[i].out);
		free(buf);
	}
}

static const struct cim_test tests[] = {
	{ "a study file is read strictly", test_study_read },
	{ "bad study files are refused with file, line and key", test_study_errors },
	{ "points: axes × splits, infeasible and too big kept with the reason", test_expand },
	{ "a value the experiment refuses names the point", test_expand_bad_value },
	{ "splits: all lists every split of the chip count", test_expand_all },
	{ "rounds: largest first, first fit, by hand", test_schedule },
	{ "best per chip count and the Pareto front, by hand", test_mark },
	{ "CSV: one row per point, all as wide as the header", test_csv },
	{ "a CSV field is quoted as RFC 4180 says", test_csv_field },
};

CIM_TEST_MAIN("sweep", tests)
