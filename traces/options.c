/*
 * options.c — the user's choices about tracing: the level of detail and
 * the list of ranks that write traces (--trace-level, --trace-ranks).
 * Parsing only; the executor applies them.
 */
#include <string.h>

#include "traces.h"

static const char *const level_names[] = { "op", "layer", "step" };

const char *cim_trace_level_name(enum cim_trace_level level)
{
	return (unsigned)level < 3 ? level_names[level] : "?";
}

int cim_trace_level_parse(const char *word, enum cim_trace_level *level_out, struct cim_err *err)
{
	for (unsigned i = 0; i < 3; i++)
		if (word && strcmp(word, level_names[i]) == 0) {
			*level_out = (enum cim_trace_level)i;
			return 0;
		}
	return cim_err_set(err, "trace level: expected op, layer or step; found \"%s\"",
			   word ? word : "");
}

int cim_trace_ranks_parse(const char *text, struct cim_trace_ranks *ranks_out, struct cim_err *err)
{
	static const struct cim_rank_rules rules = {
		.what = "trace ranks",
		.like = "0,3-5 or \"all\"",
		.max_rank = UINT32_MAX - 1,
		.max_ranges = CIM_TRACE_MAX_RANGES,
	};
	struct cim_trace_ranks r;

	memset(&r, 0, sizeof(r));
	if (text && strcmp(text, "all") == 0)
		r.all = true;
	else if (cim_spec_parse_ranks(text, &rules, r.v, &r.n, err) < 0)
		return -1;
	*ranks_out = r;
	return 0;
}

bool cim_trace_ranks_has(const struct cim_trace_ranks *ranks, uint32_t rank)
{
	if (ranks->all)
		return true;
	for (uint32_t i = 0; i < ranks->n; i++)
		if (rank >= ranks->v[i].lo && rank <= ranks->v[i].hi)
			return true;
	return false;
}

int cim_trace_ranks_check(const struct cim_trace_ranks *ranks, uint32_t nranks, struct cim_err *err)
{
	for (uint32_t i = 0; !ranks->all && i < ranks->n; i++)
		if (ranks->v[i].hi >= nranks)
			return cim_err_set(err,
					   "trace ranks: rank %u is not in this run of "
					   "%u ranks (0-%u)",
					   ranks->v[i].hi, nranks, nranks ? nranks - 1 : 0);
	return 0;
}
