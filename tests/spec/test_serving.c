/*
 * test_serving.c — a served load's requests: the seeded streams against
 * the distributions they stand for (means and coefficients of variation
 * within sampling error), the same draws on every call, traces read as
 * written (CSV, the Azure traces' columns, JSON lines) and every bad input
 * refused with file, line or row, and key.
 */
#include <math.h>
#include <stdlib.h>

#include "spec.h"
#include "test.h"

static const char base[] = "model: ../../../configs/models/tinyllama-1.1b.json\n"
			   "chip: ../../../configs/chips/llm-class.yaml\n"
			   "interconnect: ../../../configs/interconnects/ucie-ring.yaml\n"
			   "workload: {batch: 4, prompt_tokens: 16, generate_tokens: 4}\n";

/* Loads base with serving (YAML flow text) as tests/data/serving/mem.yaml. */
static int load(const char *serving, struct cim_experiment **e, struct cim_err *err)
{
	struct cim_files *files = cim_files_create(true);
	char text[2048];
	int rc;

	snprintf(text, sizeof(text), "%sserving: %s\n", base, serving);
	cim_files_put(files, "tests/data/serving/mem.yaml", text, strlen(text));
	rc = cim_spec_load_experiment(files, "tests/data/serving/mem.yaml", NULL, 0, e, err);
	cim_files_destroy(files);
	return rc;
}

static struct cim_request *requests(const char *serving, uint32_t *n)
{
	struct cim_experiment *e = NULL;
	struct cim_request *q = NULL;
	struct cim_err err;

	if (load(serving, &e, &err))
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(cim_serving_requests(e, &q, n, &err), 0);
	free(e);
	return q;
}

/* Mean and coefficient of variation of the gaps between arrivals. */
static void gaps(const struct cim_request *q, uint32_t n, double *mean, double *cv)
{
	double s = 0, s2 = 0;

	for (uint32_t i = 1; i < n; i++) {
		double g = (double)(q[i].arrival_ps - q[i - 1].arrival_ps) * 1e-12;
		s += g;
		s2 += g * g;
	}
	*mean = s / (n - 1);
	*cv = sqrt(s2 / (n - 1) - *mean * *mean) / *mean;
}

static void test_poisson(void)
{
	uint32_t n;
	struct cim_request *q = requests("{arrival: poisson, rate_per_s: 50, requests: 20000}", &n),
			   *r;
	double mean, cv;

	CIM_ASSERT_EQ_U64(n, 20000);
	CIM_ASSERT_EQ_U64(q[0].arrival_ps, 0);
	gaps(q, n, &mean, &cv);
	/* exponential gaps: mean 1/λ = 20 ms, cv 1; the standard error of the
	 * mean of 19,999 gaps is 20 ms/√19999 = 0.141 ms: within 4 of them */
	CU_ASSERT_DOUBLE_EQUAL(mean, 0.02, 4 * 0.02 / sqrt(19999.0));
	CU_ASSERT_DOUBLE_EQUAL(cv, 1.0, 0.03);
	/* the same draws every time (the stream is seeded by workload.seed) */
	r = requests("{arrival: poisson, rate_per_s: 50, requests: 20000}", &n);
	CU_ASSERT_EQUAL(memcmp(q, r, n * sizeof(*q)), 0);
	free(r);
	/* another length distribution leaves the arrivals alone */
	r = requests("{arrival: poisson, rate_per_s: 50, requests: 20000, "
		     "prompt_tokens: {uniform: [8, 64]}}",
		     &n);
	for (uint32_t i = 0; i < n; i++)
		CIM_ASSERT_EQ_U64(r[i].arrival_ps, q[i].arrival_ps);
	free(r);
	free(q);
}

static void test_gamma_fixed_batch(void)
{
	uint32_t n;
	double mean, cv;
	struct cim_request *q =
	    requests("{arrival: gamma, rate_per_s: 10, cv: 3, requests: 20000}", &n);

	/* gamma gaps of shape 1/9: mean 100 ms, cv 3; the mean's standard
	 * error is 3·100 ms/√19999 = 2.1 ms */
	gaps(q, n, &mean, &cv);
	CU_ASSERT_DOUBLE_EQUAL(mean, 0.1, 4 * 0.3 / sqrt(19999.0));
	CU_ASSERT_DOUBLE_EQUAL(cv, 3.0, 0.3);
	free(q);
	q = requests("{arrival: gamma, rate_per_s: 10, cv: 0.5, requests: 20000}", &n);
	gaps(q, n, &mean, &cv);
	CU_ASSERT_DOUBLE_EQUAL(mean, 0.1, 4 * 0.05 / sqrt(19999.0));
	CU_ASSERT_DOUBLE_EQUAL(cv, 0.5, 0.02);
	free(q);
	/* fixed: one every 1/rate = 250 ms exactly */
	q = requests("{arrival: fixed, rate_per_s: 4, requests: 5}", &n);
	for (uint32_t i = 0; i < n; i++)
		CIM_ASSERT_EQ_U64(q[i].arrival_ps, i * 250000000000ull);
	free(q);
	/* batch: workload.batch requests at 0, the workload's lengths */
	q = requests("{arrival: batch}", &n);
	CIM_ASSERT_EQ_U64(n, 4);
	for (uint32_t i = 0; i < n; i++) {
		CIM_ASSERT_EQ_U64(q[i].arrival_ps, 0);
		CIM_ASSERT_EQ_U64(q[i].prompt, 16);
		CIM_ASSERT_EQ_U64(q[i].output, 4);
	}
	free(q);
	/* uniform lengths: in range, mean (8 + 64)/2 = 36 within 4 standard
	 * errors (√((57² − 1)/12)/√20000 = 0.116) */
	q = requests("{arrival: batch, requests: 20000, prompt_tokens: {uniform: [8, 64]}}", &n);
	double s = 0;
	for (uint32_t i = 0; i < n; i++) {
		CU_ASSERT(q[i].prompt >= 8 && q[i].prompt <= 64);
		s += q[i].prompt;
	}
	CU_ASSERT_DOUBLE_EQUAL(s / n, 36.0, 4 * 0.116);
	free(q);
}

static void test_traces(void)
{
	uint32_t n;
	struct cim_request *q = requests("{arrival: trace, trace: azure.csv}", &n);

	/* the Azure columns; times from the first row's */
	CIM_ASSERT_EQ_U64(n, 3);
	CIM_ASSERT_EQ_U64(q[0].arrival_ps, 0);
	CIM_ASSERT_EQ_U64(q[1].arrival_ps, 4314579000000ull); /* 50.9951690 − 46.6805900 */
	CIM_ASSERT_EQ_U64(q[2].prompt, 879);
	CIM_ASSERT_EQ_U64(q[2].output, 15);
	free(q);
	q = requests("{arrival: trace, trace: small.jsonl, requests: 2}", &n);
	CIM_ASSERT_EQ_U64(n, 2);
	CIM_ASSERT_EQ_U64(q[1].arrival_ps, 1500000000000ull);
	CIM_ASSERT_EQ_U64(q[1].prompt, 20);
	free(q);
}

/* Lengths fitted to a trace, drawn at a rate: decades.csv's prompts 10,
 * 100, 1000 have logs ln 10 · (1, 2, 3), so the fit's mu is ln 100 and its
 * sigma ln 10 · sqrt(2/3) (the deviation over n); outputs 4, 8, 16 give ln 8
 * and ln 2 · sqrt(2/3).  Drawn 20,000 times, the median prompt is 100
 * (clipping to [10, 1000] keeps the median), and the share clipped to the
 * shortest, P(X < 10.5) = Φ((ln 10.5 − ln 100) / sigma) = Φ(−1.19882) =
 * 0.11530, lies within 4 standard errors (0.00226). */
static void test_fitted_lengths(void)
{
	struct cim_experiment *e = NULL;
	struct cim_err err;
	const char *sv = "{arrival: poisson, rate_per_s: 2, requests: 20000, trace: decades.csv}";

	CU_ASSERT_EQUAL_FATAL(load(sv, &e, &err), 0);
	CIM_ASSERT_EQ_U64(e->serving.prompt.dist, CIM_LEN_LOGNORMAL);
	CIM_ASSERT_REL(e->serving.prompt.mu, log(100.0), 1e-15);
	CIM_ASSERT_REL(e->serving.prompt.sigma, log(10.0) * sqrt(2.0 / 3), 1e-15);
	CIM_ASSERT_REL(e->serving.output.mu, log(8.0), 1e-15);
	CIM_ASSERT_REL(e->serving.output.sigma, log(2.0) * sqrt(2.0 / 3), 1e-15);
	CIM_ASSERT_EQ_U64(e->serving.prompt.min, 10);
	CIM_ASSERT_EQ_U64(e->serving.prompt.max, 1000);
	CIM_ASSERT_EQ_U64(e->serving.output.max, 16);
	free(e);

	uint32_t n, below = 0, above = 0, at_min = 0, out_of_range = 0;
	struct cim_request *q = requests(sv, &n);
	CIM_ASSERT_EQ_U64(n, 20000);
	for (uint32_t i = 0; i < n; i++) {
		below += q[i].prompt < 100;
		above += q[i].prompt > 100;
		at_min += q[i].prompt == 10;
		out_of_range +=
		    q[i].prompt < 10 || q[i].prompt > 1000 || q[i].output < 4 || q[i].output > 16;
	}
	CIM_ASSERT_EQ_U64(out_of_range, 0);
	/* the median: as many below 100 as above, within 4 standard errors
	 * of a binomial half (sqrt(n)/2 = 70.7) */
	CU_ASSERT(fabs((double)below - (double)above) < 2 * 4 * 70.8);
	const double p = 0.11530, se = sqrt(p * (1 - p) / n);
	CU_ASSERT(fabs((double)at_min / n - p) < 4 * se);
	free(q);
}

static void test_refused(void)
{
	static const struct {
		const char *serving, *message;
	} cases[] = {
		{ "{arrival: poisson, rate_per_s: 0, requests: 4}",
		  "serving.rate_per_s: expected a number above zero" },
		{ "{arrival: poisson, rate_per_s: -2, requests: 4}",
		  "serving.rate_per_s: expected a number above zero" },
		{ "{arrival: poisson, requests: 4}",
		  "serving.rate_per_s: poisson arrivals need a rate" },
		{ "{arrival: gamma, rate_per_s: 1, requests: 4}",
		  "serving.cv: gamma arrivals need cv" },
		{ "{arrival: batch, rate_per_s: 1}",
		  "applies to poisson, gamma and fixed arrivals" },
		{ "{arrival: poisson, rate_per_s: 1}", "poisson arrivals need requests" },
		{ "{arrival: trace}", "arrival: trace needs trace" },
		{ "{arrival: trace, trace: unsorted.csv}",
		  "unsorted.csv: row 4: arrives 0.250000 s after the first row, before the row "
		  "above it (0.500000 s): sort the trace" },
		{ "{arrival: trace, trace: malformed.csv}",
		  "malformed.csv: row 3: expected an arrival" },
		{ "{arrival: trace, trace: long.csv}",
		  "long.csv: row 3: 3000 prompt and 8 output tokens need 3008 positions, beyond "
		  "the 2048 of tinyllama-1.1b's context" },
		{ "{arrival: trace, trace: no-such.csv}", "no-such.csv: cannot open" },
		{ "{arrival: batch, prompt_tokens: 2040, output_tokens: 16}",
		  "needs 2056 positions, beyond the 2048" },
		{ "{arrival: batch, slo_ttft: 500}", "did you mean 'slo_ttft_ms'" },
		{ "{arrival: batch, scheduler: fcfs}",
		  "serving.scheduler: expected one of static" },
		{ "{arrival: batch, scheduler: prefill-first, token_budget: 8}",
		  "8 tokens cannot hold a prompt of 16 whole" },
		{ "{arrival: batch, scheduler: chunked, token_budget: 8, max_batch: 16}",
		  "8 tokens cannot hold a decode of each of max_batch 16" },
		{ "{arrival: batch, scheduler: static, token_budget: 64}",
		  "a static batch runs its prompts whole" },
		{ "{arrival: batch, prompt_tokens: {uniform: [64, 8]}}", "MAX 8 is below MIN 64" },
		{ "{arrival: batch, scheduler: static, router: least-outstanding}",
		  "serving.router: static batching deals its batches to the replicas in turn" },
		{ "{arrival: batch, router: random}",
		  "serving.router: expected one of round-robin" },
		{ "{arrival: batch, trace: decades.csv}",
		  "serving.trace: a trace is replayed (arrival: trace) or gives the lengths of "
		  "poisson, gamma or fixed arrivals, not of batch" },
		{ "{arrival: poisson, rate_per_s: 1, requests: 4, trace: decades.csv, "
		  "output_tokens: 8}",
		  "serving.output_tokens: with a rate, the lengths are drawn from distributions "
		  "fitted to the trace; remove the key, or the trace" },
		{ "{arrival: poisson, rate_per_s: 1, requests: 4, trace: long.csv}",
		  "long.csv: row 3: 3000 prompt and 8 output tokens need 3008 positions" },
	};
	struct cim_experiment *e;
	struct cim_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = NULL;
		CU_ASSERT_EQUAL(load(cases[i].serving, &e, &err), -1);
		CIM_ASSERT_HAS(err.msg, cases[i].message);
		free(e);
	}
	/* file and line of the key */
	CU_ASSERT_EQUAL(load("{arrival: poisson, rate_per_s: 0, requests: 4}", &e, &err), -1);
	CIM_ASSERT_HAS(err.msg, "tests/data/serving/mem.yaml:5: serving.rate_per_s");
}

static const struct cim_test tests[] = {
	{ "lengths fitted to a trace", test_fitted_lengths },
	{ "Poisson arrivals: mean gap, cv, the same draws", test_poisson },
	{ "gamma, fixed, batch arrivals and uniform lengths", test_gamma_fixed_batch },
	{ "traces: CSV, the Azure columns, JSON lines", test_traces },
	{ "bad serving input is refused with file, line or row, and key", test_refused },
};

CIM_TEST_MAIN("serving", tests)
