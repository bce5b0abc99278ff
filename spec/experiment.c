/*
 * experiment.c — an experiment file and the files it names, with the
 * command line's --set overrides, into one validated struct cim_experiment.
 *
 * The model, chip and interconnect may be written inline or as paths
 * (relative to the file that names them; a path given with --set is
 * relative to the working directory of the reading rank).  Overrides of a
 * whole part (--set chip=other.yaml) apply before paths are followed, the
 * others (--set chip.adc.bits=6) after, so any key of any part can be set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

const char *const spec_strategy_words[] = { "manual",	   "tp-first",	"pp-first",
					    "balanced",	   "min-chips", "best-throughput",
					    "best-energy", NULL };
static const char *const balance_words[] = { "cost", "capacity", "list", NULL };
static const char *const embedding_words[] = { "replicated", "sharded", NULL };
static const char *const experts_words[] = { "tensor", "expert", "replicas", "expert-replicas",
					     NULL };
_Static_assert(sizeof(experts_words) / sizeof(experts_words[0]) == CIM_EXPERTS_N + 1,
	       "a word per placement of experts");

const char *cim_experts_name(enum cim_expert_split s)
{
	return (unsigned)s < CIM_EXPERTS_N ? experts_words[s] : "?";
}

/* Reads `layers` into the whole parallel struct (its field's offset is 0),
 * as it fills both the list and its length. */
static int read_layers(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_parallel_spec *p = dst;
	char what[64], item[280];

	if (node->kind != TN_SEQ)
		return spec_errf(err, node, path,
				 "expected a list of layer counts per stage "
				 "such as [10, 10, 12], found %s",
				 tnode_describe(node, what, sizeof(what)));
	if (node->n == 0 || node->n > CIM_MAX_STAGES)
		return spec_errf(err, node, path, "expected 1 to %d stages, found %zu",
				 CIM_MAX_STAGES, node->n);
	for (size_t i = 0; i < node->n; i++) {
		uint64_t v;
		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		/* the first stage may hold only the embedding, the last only the
		 * final norm and the LM head */
		const bool end = node->n > 1 && (i == 0 || i + 1 == node->n);
		if (spec_u64(node->vals[i], item, end ? 0 : 1, UINT32_MAX, &v, err))
			return -1;
		p->layers[i] = (uint32_t)v;
	}
	p->nlayers = (uint32_t)node->n;
	return 0;
}

uint32_t cim_spec_end_stages(const struct cim_parallel_spec *p)
{
	if (p->nlayers != p->pp || p->pp < 2)
		return 0;
	return (p->layers[0] == 0) + (p->layers[p->pp - 1] == 0);
}

static const char *const routing_words[] = { "even", "uniform", "zipf", "trace", NULL };
static const char *const mla_words[] = { "absorbed", "decompressed", NULL };

const char *cim_routing_name(enum cim_routing r)
{
	return (unsigned)r < 4 ? routing_words[r] : "?";
}

static int read_routing_path(const struct tnode *node, const char *path, void *dst,
			     struct cim_err *err)
{
	char what[64];

	if (node->kind != TN_SCALAR || !node->scalar[0])
		return spec_errf(err, node, path,
				 "expected the path of a CSV file of token,layer,experts rows, "
				 "found %s",
				 tnode_describe(node, what, sizeof(what)));
	spec_resolve(node, node->scalar, dst, 1024);
	return 0;
}

static const struct field workload_fields[] = {
	FU32("batch", struct cim_workload_spec, batch, FIELD_REQUIRED, 1, 1u << 20,
	     "sequences in the batch"),
	FU32("prompt_tokens", struct cim_workload_spec, prompt_tokens, FIELD_REQUIRED, 1, 1u << 24,
	     "prompt length of each sequence"),
	FU32("generate_tokens", struct cim_workload_spec, generate_tokens, FIELD_REQUIRED, 0,
	     1u << 24, "tokens generated per sequence"),
	FU32("micro_batches", struct cim_workload_spec, micro_batches, 0, 0, 1u << 20,
	     "micro-batches, 0 to keep the pipeline full"),
	FU32("prefill_chunk", struct cim_workload_spec, prefill_chunk, 0, 0, 1u << 24,
	     "prompt tokens per prefill chunk, 0 for the whole prompt"),
	FU32("kv_bits", struct cim_workload_spec, kv_bits, 0, 1, 32, "bits per cached K/V value"),
	FU32("act_bits", struct cim_workload_spec, act_bits, 0, 1, 32,
	     "bits per activation sent between chips"),
	FU64("seed", struct cim_workload_spec, seed, 0, 0, 0, "seed of the random streams"),
	FENUM("routing", struct cim_workload_spec, routing, 0, routing_words,
	      "which experts tokens pick: even, uniform or zipf"),
	FENUM("mla_prefill", struct cim_workload_spec, mla_prefill, 0, mla_words,
	      "latent attention's prefill: absorbed (W_UK in the query) or decompressed "
	      "(the cached latents into K and V)"),
	FF64("capacity_factor", struct cim_workload_spec, capacity_factor, FIELD_POSITIVE, 0, 1e6,
	     0, "an expert takes at most capacity_factor · T·k/E of a pass's tokens"),
	{ .key = "routing_trace",
	  .type = F_FUNC,
	  .offset = offsetof(struct cim_workload_spec, routing_trace),
	  .read = read_routing_path,
	  .hint = "a routing trace: CSV rows of token,layer,experts",
	  .present = (long)offsetof(struct cim_workload_spec, has_routing_trace) },
	FF64("routing_zipf", struct cim_workload_spec, routing_zipf, FIELD_POSITIVE, 0, 100, 0,
	     "exponent s of zipf routing: P(expert e) ∝ (e + 1)^-s"),
};
SCHEMA(workload_schema, "workload", workload_fields, false);

static const struct field parallel_fields[] = {
	FENUM("strategy", struct cim_parallel_spec, strategy, 0, spec_strategy_words,
	      "how tp and pp are chosen"),
	FU32("tp", struct cim_parallel_spec, tp, 0, 1, 1u << 16, "chips per pipeline stage"),
	FU32("pp", struct cim_parallel_spec, pp, 0, 1, CIM_MAX_STAGES, "pipeline stages"),
	FU32("dp", struct cim_parallel_spec, dp, 0, 1, 1u << 16, "model replicas"),
	FENUM("balance", struct cim_parallel_spec, balance, 0, balance_words,
	      "how layers are split over stages"),
	FENUM("embedding", struct cim_parallel_spec, embedding, 0, embedding_words,
	      "how the first stage's group holds the embedding table: replicated or sharded"),
	FENUM("experts", struct cim_parallel_spec, experts, 0, experts_words,
	      "how the experts are held: tensor (each split over the group), expert (whole "
	      "ones a member), replicas (spread over the replicas, all-to-all) or "
	      "expert-replicas (whole ones over the group and the replicas)"),
	{ .key = "layers",
	  .type = F_FUNC,
	  .offset = 0,
	  .read = read_layers,
	  .hint = "layers per stage, e.g. [10, 10, 12]",
	  .present = FIELD_PRESENT_NONE },
};
SCHEMA(parallel_schema, "parallel", parallel_fields, false);

/* F_FUNC adapters with the exact slot signature, one per part. */
static int read_model_field(const struct tnode *n, const char *path, void *dst, struct cim_err *err)
{
	return spec_read_model(n, path, dst, err);
}

static int read_chip_field(const struct tnode *n, const char *path, void *dst, struct cim_err *err)
{
	return spec_read_chip(n, path, dst, err);
}

static int read_net_field(const struct tnode *n, const char *path, void *dst, struct cim_err *err)
{
	return spec_read_net(n, path, dst, err);
}

static const struct field experiment_fields[] = {
	FSTR("name", struct cim_experiment, name, 0, "a name for reports"),
	FFUNC("model", struct cim_experiment, model, FIELD_REQUIRED, read_model_field,
	      "a model: a path to a HF config.json or YAML preset, or the keys inline"),
	FFUNC("chip", struct cim_experiment, chip, FIELD_REQUIRED, read_chip_field,
	      "a chip: a path to a file in configs/chips/ or the keys inline"),
	FFUNC("interconnect", struct cim_experiment, net, FIELD_REQUIRED, read_net_field,
	      "an interconnect: a path to a file in configs/interconnects/ or the keys inline"),
	FMAP("workload", struct cim_experiment, workload, FIELD_REQUIRED, &workload_schema,
	     FIELD_PRESENT_NONE),
	FMAP("parallel", struct cim_experiment, parallel, 0, &parallel_schema, FIELD_PRESENT_NONE),
	FMAP("serving", struct cim_experiment, serving, 0, &spec_serving_schema,
	     offsetof(struct cim_experiment, serving.on)),
};
SCHEMA(experiment_schema, "experiment", experiment_fields, false);

void spec_resolve(const struct tnode *from, const char *rel, char *out, size_t size)
{
	const char *slash = from->line ? strrchr(from->file, '/') : NULL;

	if (rel[0] == '/' || !slash)
		snprintf(out, size, "%s", rel);
	else
		snprintf(out, size, "%.*s/%s", (int)(slash - from->file), from->file, rel);
}

/* Parsed documents kept alive while the experiment is read, with the
 * origin strings of --set values their nodes point to. */
struct docs {
	struct tnode *v[8];
	size_t n;
	char *origins[64];
	size_t norigins;
};

static void docs_free(struct docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		tnode_free(d->v[i]);
	for (size_t i = 0; i < d->norigins; i++)
		free(d->origins[i]);
}

int spec_load_tree(struct cim_files *files, const char *path, struct tnode **root_p,
		   struct cim_err *err)
{
	const char *data;
	size_t len;

	if (cim_files_get(files, path, &data, &len, err))
		return -1;
	/* The nodes keep the bundle's copy of the path: it lives as long as the
	 * files, longer than any tree made from them. */
	return tnode_parse(cim_files_name(files, path), data, len, root_p, err);
}

int spec_path_stem(const char *path, const char **start)
{
	static const char *const exts[] = { ".json", ".yaml", ".yml", NULL };
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t n = strlen(base);

	for (size_t i = 0; exts[i]; i++) {
		size_t e = strlen(exts[i]);
		if (n > e && strcmp(base + n - e, exts[i]) == 0) {
			n -= e;
			break;
		}
	}
	if (n == 6 && strncmp(base, "config", 6) == 0 && slash && slash > path) {
		const char *dir = slash;
		while (dir > path && dir[-1] != '/')
			dir--;
		if (dir < slash) {
			*start = dir;
			return (int)(slash - dir);
		}
	}
	*start = base;
	return (int)n;
}

/* A model file without a `name` is called after the file
 * ("llama-3.1-8b.json"); a file called config.json, as Hugging Face
 * publishes it, after its `_name_or_path` when it gives one, else after
 * its folder ("Qwen2-7B/config.json"). */
static void name_after_file(struct tnode *root, const char *path, struct cim_err *err)
{
	const struct tnode *given = tnode_get(root, "_name_or_path");
	const char *slash = strrchr(path, '/'), *base;
	char name[72];
	int len;

	if (tnode_get(root, "name"))
		return;
	len = spec_path_stem(path, &base);
	if (strcmp(slash ? slash + 1 : path, "config.json") == 0 && given &&
	    given->kind == TN_SCALAR && given->scalar[0]) {
		base = given->scalar;
		len = (int)strlen(base);
	}
	/* a YAML string in double quotes: a quote or backslash becomes '_' */
	if (len > 62)
		len = 62;
	name[0] = '"';
	for (int i = 0; i < len; i++)
		name[1 + i] = base[i] == '"' || base[i] == '\\' ? '_' : base[i];
	snprintf(name + 1 + len, sizeof(name) - 1 - (size_t)len, "\"");
	tnode_set(root, path, "name", name, err);
	err->msg[0] = 0;
}

/* Replaces a part written as a path by the root of the file it names. */
static int follow(struct cim_files *files, struct tnode *root, const char *key, struct cim_err *err)
{
	struct tnode *v = tnode_get(root, key), *sub;
	char path[1024];

	if (!v || v->kind != TN_SCALAR)
		return 0;
	spec_resolve(v, v->scalar, path, sizeof(path));
	if (spec_load_tree(files, path, &sub, err)) {
		char inner[sizeof(err->msg)];
		snprintf(inner, sizeof(inner), "%s", err->msg);
		return spec_errf(err, v, key, "%s", inner);
	}
	if (strcmp(key, "model") == 0)
		name_after_file(sub, sub->file, err);
	tnode_replace(root, key, sub);
	return 0;
}

/* Splits "a.b=v" into key and value and applies it to root. */
static int apply_set(struct docs *d, struct tnode *root, const char *set, bool parts_only,
		     struct cim_err *err)
{
	const char *eq = strchr(set, '=');
	char key[256];

	if (!eq || eq == set || (size_t)(eq - set) >= sizeof(key))
		return cim_err_set(
		    err, "--set %s: expected KEY=VALUE, e.g. --set workload.batch=16", set);
	memcpy(key, set, (size_t)(eq - set));
	key[eq - set] = 0;
	if (parts_only != !strchr(key, '.'))
		return 0;
	if (d->norigins == sizeof(d->origins) / sizeof(d->origins[0]))
		return cim_err_set(err, "--set %s: at most %zu overrides", set, d->norigins);
	char *origin = malloc(strlen(set) + 7);
	if (!origin)
		return cim_err_set(err, "--set: out of memory");
	sprintf(origin, "--set %s", set);
	d->origins[d->norigins++] = origin;
	return tnode_set(root, origin, key, eq + 1, err);
}

/* The token budget's default, and what it must hold (after the lengths
 * are known: a trace's are read after the rest). */
static int serving_budget(const struct tnode *sv, struct cim_serving_spec *s, struct cim_err *err)
{
	/* Defaults (docs/serving.md): chunked, vLLM's 512 tokens a step; the
	 * others, the longest prompt, so that one whole prompt fits a pass (a
	 * chip's buffer holds a pass's activations: vLLM's 2048 for GPUs would
	 * not fit the example chip); and for the schedulers that run every
	 * decode of a pass, at least max_batch. */
	if (!s->has_token_budget) {
		s->token_budget = s->scheduler == CIM_SCHED_CHUNKED ? 512 : s->prompt.max;
		if ((s->scheduler == CIM_SCHED_CHUNKED || s->scheduler == CIM_SCHED_DECODE_FIRST) &&
		    s->token_budget < s->max_batch)
			s->token_budget = s->max_batch;
	}
	if ((s->scheduler == CIM_SCHED_PREFILL_FIRST || s->scheduler == CIM_SCHED_DECODE_FIRST) &&
	    s->token_budget < s->prompt.max)
		return spec_errf(err, tnode_get(sv, "token_budget"), "serving.token_budget",
				 "%u tokens cannot hold a prompt of %u whole, as %s runs prompts; "
				 "give at least %u, or use scheduler: chunked",
				 s->token_budget, s->prompt.max, cim_sched_name(s->scheduler),
				 s->prompt.max);
	if (s->scheduler != CIM_SCHED_STATIC && s->scheduler != CIM_SCHED_PREFILL_FIRST &&
	    s->token_budget < s->max_batch)
		return spec_errf(err, tnode_get(sv, "token_budget"), "serving.token_budget",
				 "%u tokens cannot hold a decode of each of max_batch %u "
				 "requests; give at least %u, or a smaller max_batch",
				 s->token_budget, s->max_batch, s->max_batch);
	return 0;
}

/* The serving part against itself and the model (docs/serving.md). */
static int check_serving(const struct tnode *root, struct cim_experiment *e, struct cim_err *err)
{
	struct cim_serving_spec *s = &e->serving;
	const struct tnode *sv = tnode_get(root, "serving");
	const bool timed = s->arrival == CIM_ARRIVE_POISSON || s->arrival == CIM_ARRIVE_GAMMA ||
			   s->arrival == CIM_ARRIVE_FIXED;
	const char *arr = cim_arrival_name(s->arrival);

	if (!s->on)
		return 0;
	if (timed && !s->has_rate)
		return spec_errf(err, sv, "serving.rate_per_s",
				 "%s arrivals need a rate: add rate_per_s (requests per second)",
				 arr);
	if (!timed && s->has_rate)
		return spec_errf(err, tnode_get(sv, "rate_per_s"), "serving.rate_per_s",
				 "applies to poisson, gamma and fixed arrivals, not %s; remove it",
				 arr);
	if (s->arrival == CIM_ARRIVE_GAMMA && !s->has_cv)
		return spec_errf(err, sv, "serving.cv",
				 "gamma arrivals need cv, the coefficient of variation of the "
				 "gaps (1 is Poisson, above 1 burstier)");
	if (s->arrival != CIM_ARRIVE_GAMMA && s->has_cv)
		return spec_errf(err, tnode_get(sv, "cv"), "serving.cv",
				 "applies to gamma arrivals, not %s; remove it", arr);
	if (s->arrival == CIM_ARRIVE_TRACE && !s->has_trace)
		return spec_errf(
		    err, sv, "serving.trace",
		    "arrival: trace needs trace: the path of a CSV or JSON-lines file");
	if (s->has_trace && !timed && s->arrival != CIM_ARRIVE_TRACE)
		return spec_errf(err, tnode_get(sv, "trace"), "serving.trace",
				 "a trace is replayed (arrival: trace) or gives the lengths of "
				 "poisson, gamma or fixed arrivals, not of %s; remove it",
				 arr);
	if (s->has_trace && (s->has_prompt || s->has_output))
		return spec_errf(err,
				 tnode_get(sv, s->has_prompt ? "prompt_tokens" : "output_tokens"),
				 s->has_prompt ? "serving.prompt_tokens" : "serving.output_tokens",
				 "%s; remove the key, or the trace",
				 s->arrival == CIM_ARRIVE_TRACE
				     ? "a trace gives every request's lengths"
				     : "with a rate, the lengths are drawn from distributions "
				       "fitted to the trace");
	if (timed && !s->has_requests)
		return spec_errf(err, sv, "serving.requests",
				 "%s arrivals need requests: how many to serve", arr);
	if (!s->has_requests)
		s->requests = e->workload.batch; /* batch; a trace: its rows (later) */
	if (!s->has_prompt)
		s->prompt = (struct cim_len_spec){ .dist = CIM_LEN_FIXED,
						   .min = e->workload.prompt_tokens,
						   .max = e->workload.prompt_tokens };
	if (!s->has_output) {
		if (e->workload.generate_tokens == 0)
			return spec_errf(err, sv, "serving.output_tokens",
					 "a request generates at least one token: give "
					 "output_tokens or workload.generate_tokens ≥ 1");
		s->output = (struct cim_len_spec){ .dist = CIM_LEN_FIXED,
						   .min = e->workload.generate_tokens,
						   .max = e->workload.generate_tokens };
	}
	if (s->scheduler == CIM_SCHED_STATIC && s->router == CIM_ROUTE_LEAST_OUTSTANDING)
		return spec_errf(err, tnode_get(sv, "router"), "serving.router",
				 "static batching deals its batches to the replicas in turn; "
				 "least-outstanding needs scheduler prefill-first, chunked or "
				 "decode-first");
	if (s->scheduler == CIM_SCHED_STATIC && s->has_token_budget)
		return spec_errf(err, tnode_get(sv, "token_budget"), "serving.token_budget",
				 "a static batch runs its prompts whole; the budget applies to "
				 "prefill-first, chunked and decode-first");
	if (s->has_trace) /* after the trace is read: check_trace */
		return 0;
	if (serving_budget(sv, s, err))
		return -1;
	uint64_t longest = (uint64_t)s->prompt.max + s->output.max;
	if (longest > e->model.max_positions)
		return spec_errf(err, sv, "serving.prompt_tokens",
				 "a request of %u prompt and %u output tokens needs %llu "
				 "positions, beyond the %u of %s's context",
				 s->prompt.max, s->output.max, (unsigned long long)longest,
				 e->model.max_positions, e->model.name);
	return 0;
}

/* A log-normal fitted to n lengths by maximum likelihood: the mean and
 * the standard deviation (over n) of their natural logs; clipped to the
 * shortest and longest seen (docs/serving.md, "Lengths fitted to a
 * trace"). */
static struct cim_len_spec fit_lognormal(const struct cim_request *rows, uint32_t n, bool prompt)
{
	struct cim_len_spec l = { .dist = CIM_LEN_LOGNORMAL, .min = UINT32_MAX };
	double sum = 0, dev = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint32_t x = prompt ? rows[i].prompt : rows[i].output;
		l.min = x < l.min ? x : l.min;
		l.max = x > l.max ? x : l.max;
		sum += log((double)x);
	}
	l.mu = sum / n;
	for (uint32_t i = 0; i < n; i++) {
		const double d = log((double)(prompt ? rows[i].prompt : rows[i].output)) - l.mu;
		dev += d * d;
	}
	l.sigma = sqrt(dev / n);
	return l;
}

/* The trace's rows against the model and the requests asked for; with a
 * rate, the lengths fitted to them. */
static int check_trace(const struct tnode *root, struct cim_experiment *e, struct cim_err *err)
{
	struct cim_serving_spec *s = &e->serving;
	const struct tnode *sv = tnode_get(root, "serving");
	const struct cim_request *rows = cim_serving_trace(e);

	if (s->arrival != CIM_ARRIVE_TRACE) {
		s->prompt = fit_lognormal(rows, s->trace_rows, true);
		s->output = fit_lognormal(rows, s->trace_rows, false);
		if (serving_budget(sv, s, err))
			return -1;
		uint64_t longest = (uint64_t)s->prompt.max + s->output.max;
		if (longest > e->model.max_positions)
			return spec_errf(err, tnode_get(sv, "trace"), "serving.trace",
					 "the fitted lengths reach %u prompt and %u output tokens, "
					 "%llu positions, beyond the %u of %s's context: replay "
					 "the trace (arrival: trace) or drop its longest rows",
					 s->prompt.max, s->output.max, (unsigned long long)longest,
					 e->model.max_positions, e->model.name);
		return 0;
	}
	if (!s->has_requests)
		s->requests = s->trace_rows;
	if (s->requests > s->trace_rows)
		return spec_errf(err, tnode_get(sv, "requests"), "serving.requests",
				 "%u requests asked for but the trace %s has %u rows", s->requests,
				 s->trace, s->trace_rows);
	/* the lengths' ranges, for the budget and the buffers */
	s->prompt = (struct cim_len_spec){ .dist = CIM_LEN_UNIFORM, .min = UINT32_MAX };
	s->output = s->prompt;
	for (uint32_t i = 0; i < s->requests; i++) {
		const struct cim_request *q = &rows[i];
		s->prompt.min = q->prompt < s->prompt.min ? q->prompt : s->prompt.min;
		s->prompt.max = q->prompt > s->prompt.max ? q->prompt : s->prompt.max;
		s->output.min = q->output < s->output.min ? q->output : s->output.min;
		s->output.max = q->output > s->output.max ? q->output : s->output.max;
	}
	if (serving_budget(sv, s, err))
		return -1;
	return 0;
}

/* Checks across parts that no single part can make. */
static int check(const struct tnode *root, struct cim_experiment *e, struct cim_err *err)
{
	const struct cim_parallel_spec *p = &e->parallel;

	if (check_serving(root, e, err))
		return -1;
	const struct tnode *par = tnode_get(root, "parallel");

	if (p->balance == CIM_BALANCE_LIST || p->nlayers) {
		uint64_t sum = 0;
		for (uint32_t i = 0; i < p->nlayers; i++)
			sum += p->layers[i];
		if (!p->nlayers)
			return spec_errf(err, par, "parallel.layers",
					 "balance: list needs the list of layers per stage");
		if (p->nlayers != p->pp)
			return spec_errf(err, tnode_get(par, "layers"), "parallel.layers",
					 "lists %u stages but pp is %u; give one count per stage",
					 p->nlayers, p->pp);
		if (sum != e->model.layers)
			return spec_errf(err, tnode_get(par, "layers"), "parallel.layers",
					 "adds up to %llu layers but the model has %u",
					 (unsigned long long)sum, e->model.layers);
		if (p->balance != CIM_BALANCE_LIST)
			return spec_errf(
			    err, tnode_get(par, "layers"), "parallel.layers",
			    "a list of layers per stage is used only with balance: list "
			    "(balance is %s); add parallel.balance: list, or remove the "
			    "list",
			    balance_words[p->balance]);
	}
	const struct cim_workload_spec *w = &e->workload;
	const uint64_t ctx = (uint64_t)w->prompt_tokens + w->generate_tokens;
	const struct tnode *wl = tnode_get(root, "workload");
	if ((w->routing == CIM_ROUTE_ZIPF) != (w->routing_zipf > 0))
		return spec_errf(
		    err, tnode_get(wl, w->routing_zipf > 0 ? "routing_zipf" : "routing"),
		    w->routing_zipf > 0 ? "workload.routing_zipf" : "workload.routing", "%s",
		    w->routing_zipf > 0 ? "applies to routing: zipf; set it or remove this key"
					: "zipf needs its exponent: give workload.routing_zipf");
	if ((w->routing == CIM_ROUTE_TRACE) != w->has_routing_trace)
		return spec_errf(
		    err, tnode_get(wl, w->has_routing_trace ? "routing_trace" : "routing"),
		    w->has_routing_trace ? "workload.routing_trace" : "workload.routing", "%s",
		    w->has_routing_trace
			? "applies to routing: trace; set it or remove this key"
			: "trace needs its file: give workload.routing_trace (CSV rows of "
			  "token,layer,experts)");
	if (cim_experts_span_replicas(e->parallel.experts) && e->serving.on)
		return spec_errf(err, tnode_get(par, "experts"), "parallel.experts",
				 "%s needs the replicas to run the same passes in step, "
				 "which a served load's schedulers do not; use a static batch "
				 "(no serving part) or experts tensor or expert",
				 cim_experts_name(e->parallel.experts));
	if (e->parallel.experts != CIM_EXPERTS_TENSOR && e->model.experts <= 1)
		return spec_errf(err, tnode_get(par, "experts"), "parallel.experts",
				 "%s has no experts to place; remove the key", e->model.name);
	if (w->mla_prefill == CIM_MLA_DECOMPRESSED && !e->model.kv_lora)
		return spec_errf(err, tnode_get(wl, "mla_prefill"), "workload.mla_prefill",
				 "%s has no latent attention to decompress; remove the key",
				 e->model.name);
	if (w->capacity_factor > 0 && e->model.experts <= 1)
		return spec_errf(err, tnode_get(wl, "capacity_factor"), "workload.capacity_factor",
				 "%s has no experts to limit; remove the key", e->model.name);
	if (w->routing != CIM_ROUTE_EVEN && e->model.experts <= 1)
		return spec_errf(err, tnode_get(wl, "routing"), "workload.routing",
				 "%s has no experts to route to; remove the key", e->model.name);
	if (!e->serving.on && ctx > e->model.max_positions) {
		return spec_errf(
		    err, tnode_get(wl, "prompt_tokens"), "workload.prompt_tokens",
		    "%u prompt and %u generated tokens need %llu positions, beyond the "
		    "%u of %s's context (max_position_embeddings)",
		    w->prompt_tokens, w->generate_tokens, (unsigned long long)ctx,
		    e->model.max_positions, e->model.name);
	}
	if (p->pp > e->model.layers + cim_spec_end_stages(p))
		return spec_errf(err, tnode_get(par, "pp"), "parallel.pp",
				 "%u stages for a model of %u layers; each stage needs a layer "
				 "(but the first may hold only the embedding and the last only the "
				 "LM head: parallel.layers beginning or ending in 0)",
				 p->pp, e->model.layers);
	/* Every MAC of the run, bounded above: each token passes every
	 * parameter at most once, and attends to at most ctx positions of
	 * every layer's heads (q·k and a·v).  Under 2^62 every MAC, byte and
	 * energy count of the run fits its 64-bit counter. */
	struct cim_model_stats st;
	cim_model_stats(&e->model, &st);
	const struct cim_model_spec *m = &e->model;
	/* attention MACs a position and layer as the operators count them
	 * (latent attention's h·(2c + r)), and, decompressing in prefill, the
	 * latents through W_UK and W_UV again at every position a token
	 * attends */
	struct cim_op ops[CIM_MODEL_MAX_OPS];
	const size_t nops = cim_model_ops(m, ops);
	double attn = 0;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].kind == CIM_OP_ATTN_QK || ops[i].kind == CIM_OP_ATTN_AV)
			attn += (double)ops[i].elems;
	if (w->mla_prefill == CIM_MLA_DECOMPRESSED)
		attn += (double)m->heads * m->kv_lora *
			((double)m->head_dim - m->rotary_dim + m->v_dim);
	double macs = (double)w->batch * (double)ctx *
		      ((double)st.params + (double)m->layers * attn * (double)ctx);
	if (!e->serving.on && macs > 0x1p62)
		return spec_errf(err, tnode_get(wl, "batch"), "workload.batch",
				 "%u sequences of %llu tokens through %s are up to %.3g MACs; "
				 "cimsim counts at most 2^62 (4.6e18) in a run: fewer sequences "
				 "or tokens",
				 w->batch, (unsigned long long)ctx, m->name, macs);
	return 0;
}

/* A served load's arrivals must fit the simulated clock: drawn here once
 * (every rank draws them again), after the trace is read. */
static int check_arrivals(const struct tnode *root, const struct cim_experiment *e,
			  struct cim_err *err)
{
	struct cim_request *q;
	uint32_t n;
	struct cim_err why;

	if (!e->serving.on)
		return 0;
	if (cim_serving_requests(e, &q, &n, &why) < 0) {
		const struct tnode *sv = tnode_get(root, "serving");
		const struct tnode *at = tnode_get(sv, "rate_per_s");
		return spec_errf(err, at ? at : sv, "serving.rate_per_s", "%s", why.msg);
	}
	free(q);
	return 0;
}

int cim_spec_load_experiment(struct cim_files *files, const char *path, const char *const *sets,
			     size_t nsets, struct cim_experiment **exp_p, struct cim_err *err)
{
	struct docs d = { 0 };
	struct tnode *root;
	struct cim_experiment *e = NULL;
	static const char *const parts[] = { "model", "chip", "interconnect" };

	err->msg[0] = 0;
	if (spec_load_tree(files, path, &root, err))
		return -1;
	d.v[d.n++] = root;
	for (size_t i = 0; i < nsets; i++)
		if (apply_set(&d, root, sets[i], true, err))
			goto err_free_docs;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (follow(files, root, parts[i], err))
			goto err_free_docs;
	for (size_t i = 0; i < nsets; i++)
		if (apply_set(&d, root, sets[i], false, err))
			goto err_free_docs;

	e = calloc(1, sizeof(*e));
	if (!e) {
		cim_err_set(err, "out of memory");
		goto err_free_docs;
	}
	/* Documented defaults of optional keys (docs/experiments.md). */
	e->workload.kv_bits = 8;
	e->workload.act_bits = 8;
	e->workload.seed = 1;
	e->parallel.strategy = CIM_STRAT_MANUAL;
	e->parallel.tp = 1;
	e->parallel.pp = 1;
	e->parallel.dp = 1;
	e->parallel.balance = CIM_BALANCE_COST;
	e->serving.scheduler = CIM_SCHED_PREFILL_FIRST;
	e->serving.max_batch = 256;
	if (spec_read_map(root, &experiment_schema, "", e, err) || check(root, e, err))
		goto err_free_exp;
	if (e->serving.on && e->serving.has_trace &&
	    (spec_serving_trace(files, tnode_get(tnode_get(root, "serving"), "trace"),
				"serving.trace", &e, err) ||
	     check_trace(root, e, err)))
		goto err_free_exp;
	if (check_arrivals(root, e, err))
		goto err_free_exp;
	if (e->workload.routing == CIM_ROUTE_TRACE &&
	    spec_routing_trace(files, tnode_get(tnode_get(root, "workload"), "routing_trace"),
			       "workload.routing_trace", &e, err))
		goto err_free_exp;
	if (!e->name[0]) {
		const char *base;
		int len = spec_path_stem(path, &base);
		snprintf(e->name, sizeof(e->name), "%.*s", len, base);
	}
	snprintf(e->path, sizeof(e->path), "%s", path);
	docs_free(&d);
	*exp_p = e;
	return 0;
err_free_exp:
	free(e);
err_free_docs:
	docs_free(&d);
	return -1;
}

/* Loads one part from its own file with reader. */
static int load_part(struct cim_files *files, const char *path, void *out,
		     int (*reader)(const struct tnode *, const char *, void *, struct cim_err *),
		     struct cim_err *err)
{
	struct tnode *root;

	err->msg[0] = 0;
	if (spec_load_tree(files, path, &root, err))
		return -1;
	int rc = reader(root, "", out, err);
	tnode_free(root);
	return rc;
}

int cim_spec_load_model(struct cim_files *files, const char *path, struct cim_model_spec *out,
			struct cim_err *err)
{
	struct tnode *root;

	err->msg[0] = 0;
	if (spec_load_tree(files, path, &root, err))
		return -1;
	name_after_file(root, root->file, err);
	int rc = spec_read_model(root, "", out, err);
	tnode_free(root);
	return rc;
}

int cim_spec_load_chip(struct cim_files *files, const char *path, struct cim_chip_spec *out,
		       struct cim_err *err)
{
	return load_part(files, path, out, read_chip_field, err);
}

int cim_spec_load_net(struct cim_files *files, const char *path, struct cim_net_spec *out,
		      struct cim_err *err)
{
	return load_part(files, path, out, read_net_field, err);
}
