/*
 * routing.c — a mixture of experts' routing trace (workload.routing_trace):
 * which experts each token chose in each layer, as a run of the real model
 * recorded them, stored after the experiment for the partitioner's programs
 * (docs/partitioner.md, "Experts").
 *
 * The file is CSV with a header naming token, layer and experts; a row is
 * one token in one layer, its experts_per_token distinct experts separated
 * by spaces or semicolons.  Every layer needs a row.  The rows of a layer
 * keep the file's order.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define MAX_ROWS (1u << 24)

/* Where the table starts: after the experiment and its serving rows,
 * aligned for the layer index. */
static size_t table_at(const struct cim_experiment *e)
{
	size_t at = sizeof(*e) + (size_t)e->serving.trace_rows * sizeof(struct cim_request);
	return (at + 7) & ~(size_t)7;
}

size_t cim_spec_experiment_bytes(const struct cim_experiment *e)
{
	if (!e->workload.routing_rows)
		return sizeof(*e) + (size_t)e->serving.trace_rows * sizeof(struct cim_request);
	return e->workload.routing_at + (e->model.layers + 1) * sizeof(uint32_t) +
	       (size_t)e->workload.routing_rows * e->model.experts_per_token * sizeof(uint16_t);
}

uint32_t cim_routing_rows(const struct cim_experiment *e, uint32_t layer, const uint16_t **experts)
{
	if (!e->workload.routing_rows || layer >= e->model.layers)
		return 0;
	const char *base = (const char *)e + e->workload.routing_at;
	const uint32_t *start = (const uint32_t *)(const void *)base;
	const uint16_t *all =
	    (const uint16_t *)(const void *)(base + (e->model.layers + 1) * sizeof(uint32_t));
	*experts = all + (size_t)start[layer] * e->model.experts_per_token;
	return start[layer + 1] - start[layer];
}

/* A whole number in [0, max], the whole of s. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = v;
	return true;
}

/* One row's experts: exactly k distinct numbers below E. */
static bool parse_experts(char *s, uint32_t k, uint32_t E, uint16_t *out)
{
	uint32_t n = 0;

	char *save = NULL;

	for (char *tok = strtok_r(s, " ;", &save); tok; tok = strtok_r(NULL, " ;", &save)) {
		uint64_t v;
		if (n == k || !parse_uint(tok, E - 1, &v))
			return false;
		for (uint32_t i = 0; i < n; i++)
			if (out[i] == v)
				return false;
		out[n++] = (uint16_t)v;
	}
	return n == k;
}

int spec_routing_trace(struct cim_files *files, const struct tnode *at, const char *path,
		       struct cim_experiment **e_p, struct cim_err *err)
{
	struct cim_experiment *e = *e_p;
	const char *file = e->workload.routing_trace, *data;
	const uint32_t L = e->model.layers, k = e->model.experts_per_token, E = e->model.experts;
	size_t len, n = 0, cap = 4096, row = 0;
	int col[3] = { -1, -1, -1 };
	int rc = -1;

	if (E <= 1)
		return spec_errf(err, at, path, "%s has no experts to route to; remove the key",
				 e->model.name);
	if (cim_files_get(files, file, &data, &len, err)) {
		char inner[sizeof(err->msg)];
		snprintf(inner, sizeof(inner), "%s", err->msg);
		return spec_errf(err, at, path, "%s", inner);
	}
	char *copy = malloc(len + 1);
	uint32_t *layer_of = malloc(cap * sizeof(*layer_of));
	uint16_t *ex = malloc(cap * k * sizeof(*ex));
	uint32_t *start = calloc((size_t)L + 1, sizeof(*start));
	if (!copy || !layer_of || !ex || !start) {
		cim_err_set(err, "%s: out of memory", file);
		goto out;
	}
	memcpy(copy, data, len);
	copy[len] = 0;
	for (char *line = copy, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		row++;
		if (line[strspn(line, " \t\r")] == 0)
			continue;
		char *f[8];
		size_t nf = spec_csv_split(line, f, 8);
		if (col[0] < 0) {
			for (size_t i = 0; i < nf; i++) {
				const char *names[] = { "token", "layer", "experts" };
				for (int c = 0; c < 3; c++)
					if (strcmp(f[i], names[c]) == 0)
						col[c] = (int)i;
			}
			if (col[0] < 0 || col[1] < 0 || col[2] < 0) {
				cim_err_set(err,
					    "%s: row %zu: expected a header naming the columns "
					    "token, layer, experts",
					    file, row);
				goto out;
			}
			continue;
		}
		uint64_t token, layer;
		int need = col[0] > col[1] ? col[0] : col[1];
		need = need > col[2] ? need : col[2];
		if (n == cap) {
			if (cap >= MAX_ROWS) {
				cim_err_set(err, "%s: row %zu: more than %u rows", file, row,
					    MAX_ROWS);
				goto out;
			}
			uint32_t *g = realloc(layer_of, 2 * cap * sizeof(*layer_of));
			if (g)
				layer_of = g;
			uint16_t *h = g ? realloc(ex, 2 * cap * k * sizeof(*ex)) : NULL;
			if (!h) {
				cim_err_set(err, "%s: out of memory", file);
				goto out;
			}
			ex = h;
			cap *= 2;
		}
		if ((int)nf <= need || !parse_uint(f[col[0]], UINT64_MAX, &token) ||
		    !parse_uint(f[col[1]], L - 1, &layer) ||
		    !parse_experts(f[col[2]], k, E, ex + n * k)) {
			cim_err_set(err,
				    "%s: row %zu: expected a token number, a layer from 0 to %u "
				    "and %u distinct experts from 0 to %u (separated by spaces or "
				    "semicolons), as %s routes each token",
				    file, row, L - 1, k, E - 1, e->model.name);
			goto out;
		}
		if (cim_model_layer_dense(&e->model, (uint32_t)layer)) {
			cim_err_set(err,
				    "%s: row %zu: layer %" PRIu64 " of %s is dense (its first %u "
				    "layers have no experts): a routing trace routes layers %u to "
				    "%u",
				    file, row, layer, e->model.name, e->model.dense_layers,
				    e->model.dense_layers, L - 1);
			goto out;
		}
		layer_of[n++] = (uint32_t)layer;
		start[layer + 1]++;
	}
	/* every layer with experts (a DeepSeek model's dense first ones have
	 * none to route to) */
	for (uint32_t l = e->model.dense_layers; l < L; l++)
		if (start[l + 1] == 0) {
			cim_err_set(err,
				    "%s: no row for layer %u; a routing trace routes every layer "
				    "of %s with experts (%u to %u)",
				    file, l, e->model.name, e->model.dense_layers, L - 1);
			goto out;
		}
	for (uint32_t l = 0; l < L; l++)
		start[l + 1] += start[l];
	/* stored after the experiment: the layers' first rows, then the rows
	 * by layer in the file's order */
	const size_t base = table_at(e);
	const size_t bytes = base + ((size_t)L + 1) * sizeof(uint32_t) + n * k * sizeof(uint16_t);
	struct cim_experiment *g = realloc(e, bytes);
	if (!g) {
		cim_err_set(err, "%s: out of memory", file);
		goto out;
	}
	e = *e_p = g;
	uint32_t *dst_start = (uint32_t *)(void *)((char *)e + base);
	uint16_t *dst = (uint16_t *)(void *)((char *)e + base + ((size_t)L + 1) * sizeof(uint32_t));
	memcpy(dst_start, start, ((size_t)L + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		uint32_t l = layer_of[i];
		memcpy(dst + (size_t)start[l] * k, ex + i * k, k * sizeof(*ex));
		start[l]++;
	}
	e->workload.routing_rows = (uint32_t)n;
	e->workload.routing_at = base;
	rc = 0;
out:
	free(copy);
	free(layer_of);
	free(ex);
	free(start);
	return rc;
}
