/*
 * serving.c — the serving part of an experiment: how requests arrive, how
 * long they are, which scheduler batches them and against which targets;
 * the trace reader; and the requests themselves, drawn from seeded streams.
 *
 * Every draw comes from xoshiro256** streams seeded through splitmix64 from
 * workload.seed, one stream for the gaps between arrivals and one for the
 * lengths, so every rank draws the same requests and a change of one
 * distribution leaves the other's draws alone.  Formulas: docs/serving.md.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

static const char *const arrival_words[] = { "batch", "poisson", "gamma", "fixed", "trace", NULL };
static const char *const sched_words[] = { "static", "prefill-first", "chunked", "decode-first",
					   NULL };

const char *cim_sched_name(enum cim_sched s)
{
	return (unsigned)s <= CIM_SCHED_DECODE_FIRST ? sched_words[s] : "?";
}

static const char *const router_words[] = { "round-robin", "least-outstanding", NULL };

const char *cim_router_name(enum cim_router r)
{
	return (unsigned)r <= CIM_ROUTE_LEAST_OUTSTANDING ? router_words[r] : "?";
}

const char *cim_arrival_name(enum cim_arrival a)
{
	return (unsigned)a <= CIM_ARRIVE_TRACE ? arrival_words[a] : "?";
}

/* A length: a whole number, or {uniform: [min, max]}. */
static int read_len(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_len_spec *l = dst;
	char what[64], item[300];
	uint64_t v, w;

	if (node->kind == TN_SCALAR) {
		if (spec_u64(node, path, 1, 1u << 24, &v, err))
			return -1;
		*l = (struct cim_len_spec){ .dist = CIM_LEN_FIXED,
					    .min = (uint32_t)v,
					    .max = (uint32_t)v };
		return 0;
	}
	const struct tnode *u = node->kind == TN_MAP ? tnode_get(node, "uniform") : NULL;
	if (!u || node->n != 1)
		return spec_errf(err, node, path,
				 "expected a length in tokens (512) or {uniform: [MIN, MAX]}, "
				 "found %s",
				 tnode_describe(node, what, sizeof(what)));
	snprintf(item, sizeof(item), "%s.uniform", path);
	if (u->kind != TN_SEQ || u->n != 2)
		return spec_errf(err, u, item,
				 "expected [MIN, MAX], two lengths in tokens, found %s",
				 tnode_describe(u, what, sizeof(what)));
	if (spec_u64(u->vals[0], item, 1, 1u << 24, &v, err) ||
	    spec_u64(u->vals[1], item, 1, 1u << 24, &w, err))
		return -1;
	if (w < v)
		return spec_errf(err, u, item, "MAX %llu is below MIN %llu; write [%llu, %llu]",
				 (unsigned long long)w, (unsigned long long)v,
				 (unsigned long long)w, (unsigned long long)v);
	*l = (struct cim_len_spec){ .dist = CIM_LEN_UNIFORM,
				    .min = (uint32_t)v,
				    .max = (uint32_t)w };
	return 0;
}

/* The trace's path, resolved against the file that names it. */
static int read_trace_path(const struct tnode *node, const char *path, void *dst,
			   struct cim_err *err)
{
	char what[64];

	if (node->kind != TN_SCALAR || !node->scalar[0])
		return spec_errf(err, node, path,
				 "expected the path of a CSV or JSON-lines file, "
				 "found %s",
				 tnode_describe(node, what, sizeof(what)));
	spec_resolve(node, node->scalar, dst, 1024);
	return 0;
}

#define SV	struct cim_serving_spec
#define P(name) .present = offsetof(SV, has_##name)
static const struct field serving_fields[] = {
	{ .key = "requests",
	  .type = F_U32,
	  .offset = offsetof(SV, requests),
	  .min = 1,
	  .max = 1u << 24,
	  .hint = "requests to serve",
	  P(requests) },
	FENUM("arrival", SV, arrival, FIELD_REQUIRED, arrival_words, "how requests arrive"),
	{ .key = "rate_per_s",
	  .type = F_F64,
	  .offset = offsetof(SV, rate_per_s),
	  .flags = FIELD_POSITIVE,
	  .min = 1e-6, /* one request in 11.6 days */
	  .max = 1e9,
	  .hint = "requests per second",
	  P(rate) },
	{ .key = "cv",
	  .type = F_F64,
	  .offset = offsetof(SV, cv),
	  .flags = FIELD_POSITIVE,
	  .min = 1e-3,
	  .max = 100,
	  .hint = "coefficient of variation of the gaps (gamma)",
	  P(cv) },
	{ .key = "trace",
	  .type = F_FUNC,
	  .offset = offsetof(SV, trace),
	  .read = read_trace_path,
	  .hint = "a trace file",
	  P(trace) },
	{ .key = "prompt_tokens",
	  .type = F_FUNC,
	  .offset = offsetof(SV, prompt),
	  .read = read_len,
	  .hint = "prompt length",
	  P(prompt) },
	{ .key = "output_tokens",
	  .type = F_FUNC,
	  .offset = offsetof(SV, output),
	  .read = read_len,
	  .hint = "output length",
	  P(output) },
	FENUM("scheduler", SV, scheduler, 0, sched_words, "how passes are batched"),
	FENUM("router", SV, router, 0, router_words, "which replica serves a request"),
	{ .key = "max_batch",
	  .type = F_U32,
	  .offset = offsetof(SV, max_batch),
	  .min = 1,
	  .max = 1u << 20,
	  .hint = "requests in one pass",
	  P(max_batch) },
	{ .key = "token_budget",
	  .type = F_U32,
	  .offset = offsetof(SV, token_budget),
	  .min = 1,
	  .max = 1u << 24,
	  .hint = "tokens in one pass",
	  P(token_budget) },
	FF64("slo_ttft_ms", SV, slo_ttft_ps, FIELD_POSITIVE, 0, 0, 1e9, "time to first token"),
	FF64("slo_tpot_ms", SV, slo_tpot_ps, FIELD_POSITIVE, 0, 0, 1e9, "time per output token"),
};
#undef P
#undef SV
const struct schema spec_serving_schema = { .what = "serving",
					    .fields = serving_fields,
					    .nfields =
						sizeof(serving_fields) / sizeof(serving_fields[0]),
					    .ignore_unknown = false };

/* ------------------------------------------------------------ the trace */

const struct cim_request *cim_serving_trace(const struct cim_experiment *e)
{
	return (const struct cim_request *)(e + 1);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const long long era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* Decimal seconds "46.6805900" into picoseconds, exactly (digits past the
 * twelfth are dropped); false when it is not such a number. */
static bool seconds_ps(const char *s, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000000ull;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX / 1000000000000ull - 9) / 10)
			return false;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			scale /= 10;
			frac += scale * (uint64_t)(*p - '0');
		}
	}
	if (*p)
		return false;
	*out = whole * 1000000000000ull + frac;
	return true;
}

/* Picoseconds of "2023-11-16 18:15:46.6805900" (the Azure traces'
 * TIMESTAMP), counted from the first row's day (trace_day0), or of a
 * plain number of seconds; false when it is neither. */
static long long trace_day0 = LLONG_MIN;

static bool parse_time(const char *s, uint64_t *out)
{
	int y, mo, d, h, mi, n = 0;
	char sec[40];

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%39s%n", &y, &mo, &d, &h, &mi, sec, &n) == 6 &&
	    s[n] == 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 &&
	    mi < 60) {
		uint64_t ps;
		if (!seconds_ps(sec, &ps) || ps >= 61000000000000ull)
			return false;
		long long day = days_from_civil(y, (unsigned)mo, (unsigned)d);
		if (trace_day0 == LLONG_MIN)
			trace_day0 = day;
		if (day < trace_day0)
			return false;
		*out = ((uint64_t)(day - trace_day0) * 86400 + (uint64_t)h * 3600 +
			(uint64_t)mi * 60) *
			   1000000000000ull +
		       ps;
		return true;
	}
	return seconds_ps(s, out);
}

static bool parse_len(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *end || s[0] == '-' || s[0] == '+' || v < 1 || v > (1u << 24))
		return false;
	*out = (uint32_t)v;
	return true;
}

static int col_of(char **f, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i], a) == 0 || strcmp(f[i], b) == 0)
			return (int)i;
	return -1;
}

/* One JSON-lines row: {"arrival_s": S, "prompt_tokens": P, "output_tokens": O}. */
static int json_row(const char *file, size_t row, const char *line, struct cim_request *r,
		    uint64_t *t, struct cim_err *err)
{
	struct tnode *root = NULL;
	char name[1100];
	int rc = -1;

	snprintf(name, sizeof(name), "%s row %zu", file, row);
	if (tnode_parse(name, line, strlen(line), &root, err))
		return -1;
	const struct tnode *a = tnode_get(root, "arrival_s"), *p = tnode_get(root, "prompt_tokens"),
			   *o = tnode_get(root, "output_tokens");
	if (!a || !p || !o || a->kind != TN_SCALAR || p->kind != TN_SCALAR ||
	    o->kind != TN_SCALAR || !parse_time(a->scalar, t) ||
	    !parse_len(p->scalar, &r->prompt) || !parse_len(o->scalar, &r->output))
		cim_err_set(err,
			    "%s: row %zu: expected {\"arrival_s\": SECONDS, \"prompt_tokens\": N, "
			    "\"output_tokens\": N} with seconds a plain decimal ≥ 0 and lengths "
			    "from 1 to 16777216",
			    file, row);
	else
		rc = 0;
	tnode_free(root);
	return rc;
}

int spec_serving_trace(struct cim_files *files, const struct tnode *at, const char *path,
		       struct cim_experiment **e_p, struct cim_err *err)
{
	struct cim_experiment *e = *e_p;
	const char *file = e->serving.trace, *data;
	size_t len, cap = 1024, n = 0, row = 0;
	const bool jsonl = strlen(file) > 6 && strcmp(file + strlen(file) - 6, ".jsonl") == 0;
	int cols[3] = { -1, -1, -1 };
	uint64_t first = 0, last = 0;

	if (cim_files_get(files, file, &data, &len, err)) {
		char inner[sizeof(err->msg)];
		snprintf(inner, sizeof(inner), "%s", err->msg);
		return spec_errf(err, at, path, "%s", inner);
	}
	struct cim_request *rows = malloc(cap * sizeof(*rows));
	char *copy = malloc(len + 1);
	if (!rows || !copy) {
		free(rows);
		free(copy);
		return cim_err_set(err, "%s: out of memory", file);
	}
	memcpy(copy, data, len);
	copy[len] = 0;
	trace_day0 = LLONG_MIN;
	for (char *line = copy, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		row++;
		char *f[8];
		size_t nf;
		struct cim_request r;
		uint64_t t;
		if (line[strspn(line, " \t\r")] == 0)
			continue; /* blank */
		if (jsonl) {
			if (json_row(file, row, line, &r, &t, err))
				goto fail;
		} else if (cols[0] < 0) {
			/* the header names the columns */
			nf = spec_csv_split(line, f, 8);
			cols[0] = col_of(f, nf, "arrival_s", "TIMESTAMP");
			cols[1] = col_of(f, nf, "prompt_tokens", "ContextTokens");
			cols[2] = col_of(f, nf, "output_tokens", "GeneratedTokens");
			if (cols[0] < 0 || cols[1] < 0 || cols[2] < 0) {
				cim_err_set(err,
					    "%s: row %zu: expected a header naming the columns "
					    "arrival_s, prompt_tokens, output_tokens (or the Azure "
					    "traces' TIMESTAMP, ContextTokens, GeneratedTokens)",
					    file, row);
				goto fail;
			}
			continue;
		} else {
			nf = spec_csv_split(line, f, 8);
			int need = cols[0] > cols[1] ? cols[0] : cols[1];
			need = need > cols[2] ? need : cols[2];
			if ((int)nf <= need || !parse_time(f[cols[0]], &t) ||
			    !parse_len(f[cols[1]], &r.prompt) ||
			    !parse_len(f[cols[2]], &r.output)) {
				cim_err_set(
				    err,
				    "%s: row %zu: expected an arrival (seconds, or a "
				    "timestamp 2023-11-16 18:15:46.68) and two lengths from 1 "
				    "to 16777216 tokens",
				    file, row);
				goto fail;
			}
		}
		if (n == 0)
			first = last = t;
		if (t < last) {
			cim_err_set(
			    err,
			    "%s: row %zu: arrives %.6f s after the first row, before the row "
			    "above it (%.6f s): sort the trace by arrival",
			    file, row, (double)(t - first) * 1e-12, (double)(last - first) * 1e-12);
			goto fail;
		}
		last = t;
		if ((uint64_t)r.prompt + r.output > e->model.max_positions) {
			cim_err_set(err,
				    "%s: row %zu: %u prompt and %u output tokens need %llu "
				    "positions, beyond the %u of %s's context",
				    file, row, r.prompt, r.output,
				    (unsigned long long)r.prompt + r.output, e->model.max_positions,
				    e->model.name);
			goto fail;
		}
		r.arrival_ps = t - first;
		if (n == cap) {
			struct cim_request *g = realloc(rows, 2 * cap * sizeof(*rows));
			if (!g) {
				cim_err_set(err, "%s: out of memory", file);
				goto fail;
			}
			rows = g;
			cap *= 2;
		}
		rows[n++] = r;
	}
	if (n == 0) {
		cim_err_set(err, "%s: no requests in the trace (%s)", file,
			    jsonl ? "one JSON object a line" : "a header, then a row a request");
		goto fail;
	}
	struct cim_experiment *g = realloc(e, sizeof(*e) + n * sizeof(*rows));
	if (!g) {
		cim_err_set(err, "%s: out of memory", file);
		goto fail;
	}
	memcpy(g + 1, rows, n * sizeof(*rows));
	g->serving.trace_rows = (uint32_t)n;
	*e_p = g;
	free(rows);
	free(copy);
	return 0;
fail:
	free(rows);
	free(copy);
	return -1;
}

/* ----------------------------------------------------------- the streams */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void cim_rng_seed(struct cim_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
uint64_t cim_rng_next(struct cim_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform on (0, 1): 53 bits, never 0. */
double cim_rng_unit(struct cim_rng *r)
{
	return ((double)(cim_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal (Marsaglia's polar method). */
double cim_rng_normal(struct cim_rng *r)
{
	double u, v, s;

	do {
		u = 2 * cim_rng_unit(r) - 1;
		v = 2 * cim_rng_unit(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	return u * sqrt(-2 * log(s) / s);
}

/* Gamma(k, 1) (Marsaglia and Tsang 2000; for k < 1, Gamma(k+1)·U^(1/k)). */
static double rng_gamma(struct cim_rng *r, double k)
{
	if (k < 1)
		return rng_gamma(r, k + 1) * pow(cim_rng_unit(r), 1 / k);
	const double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
	for (;;) {
		double x = cim_rng_normal(r), v = 1 + c * x;
		if (v <= 0)
			continue;
		v = v * v * v;
		double u = cim_rng_unit(r);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v;
	}
}

static uint32_t draw_len(struct cim_rng *r, const struct cim_len_spec *l)
{
	if (l->dist == CIM_LEN_FIXED || l->max == l->min)
		return l->min;
	if (l->dist == CIM_LEN_LOGNORMAL) {
		const double x = exp(l->mu + l->sigma * cim_rng_normal(r));
		/* rounded, within the trace's range (x is finite and positive) */
		return x <= l->min ? l->min : x >= l->max ? l->max : (uint32_t)llround(x);
	}
	return l->min + (uint32_t)(cim_rng_next(r) % ((uint64_t)l->max - l->min + 1));
}

int cim_serving_requests(const struct cim_experiment *e, struct cim_request **out, uint32_t *n_out,
			 struct cim_err *err)
{
	const struct cim_serving_spec *s = &e->serving;
	const uint32_t n = s->on ? s->requests : e->workload.batch;
	struct cim_request *q = malloc((n ? n : 1) * sizeof(*q));
	struct cim_rng gaps, lens;
	uint64_t t = 0;

	if (!q)
		return cim_err_set(err, "out of memory for %u requests", n);
	cim_rng_seed(&gaps, e->workload.seed, 1);
	cim_rng_seed(&lens, e->workload.seed, 2);
	for (uint32_t i = 0; i < n; i++) {
		struct cim_request *r = &q[i];
		if (!s->on) {
			*r = (struct cim_request){ .prompt = e->workload.prompt_tokens,
						   .output = e->workload.generate_tokens };
			continue;
		}
		if (s->arrival == CIM_ARRIVE_TRACE) {
			*r = cim_serving_trace(e)[i];
			continue;
		}
		double gap_s = 0;
		switch (s->arrival) {
		case CIM_ARRIVE_POISSON:
			gap_s = -log(cim_rng_unit(&gaps)) / s->rate_per_s;
			break;
		case CIM_ARRIVE_GAMMA: {
			/* shape 1/cv², mean 1/rate */
			const double k = 1 / (s->cv * s->cv);
			gap_s = rng_gamma(&gaps, k) / (k * s->rate_per_s);
			break;
		}
		case CIM_ARRIVE_FIXED:
			gap_s = 1 / s->rate_per_s;
			break;
		default:
			break;
		}
		/* the first request arrives at t = 0; arrivals stay within the
		 * simulated clock (CIM_PS_LIMIT) */
		if (i > 0) {
			double gap_ps = gap_s * 1e12;
			if (!(gap_ps < (double)(CIM_PS_LIMIT - t))) {
				free(q);
				return cim_err_set(
				    err,
				    "request %u would arrive after 2^62 ps (53 "
				    "days) at %g requests/s; raise serving.rate_per_s "
				    "or serve fewer requests",
				    i, s->rate_per_s);
			}
			t += (uint64_t)llround(gap_ps);
		}
		r->arrival_ps = t;
		r->prompt = draw_len(&lens, &s->prompt);
		r->output = draw_len(&lens, &s->output);
	}
	*out = q;
	*n_out = n;
	return 0;
}
