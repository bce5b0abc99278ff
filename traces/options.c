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

int cim_trace_level_parse(const char *word, enum cim_trace_level *level_out,
			  struct cim_err *err)
{
	for (unsigned i = 0; i < 3; i++)
		if (word && strcmp(word, level_names[i]) == 0) {
			*level_out = (enum cim_trace_level)i;
			return 0;
		}
	return cim_err_set(err, "trace level: expected op, layer or step; found \"%s\"",
			   word ? word : "");
}

/* A decimal rank at *s without sign or leading zeros; advances *s. */
static bool rank_at(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX - 1)
			return false;
	}
	*out = (uint32_t)v;
	*s = p;
	return true;
}

int cim_trace_ranks_parse(const char *text, struct cim_trace_ranks *ranks_out,
			  struct cim_err *err)
{
	struct cim_trace_ranks r;
	const char *s = text;

	memset(&r, 0, sizeof(r));
	if (!text || !*text)
		return cim_err_set(err, "trace ranks: expected ranks like 0,3-5 or \"all\"; "
					"found nothing");
	if (strcmp(text, "all") == 0) {
		r.all = true;
		*ranks_out = r;
		return 0;
	}
	for (;;) {
		uint32_t lo, hi;
		const char *item = s;

		if (!rank_at(&s, &lo))
			goto bad;
		hi = lo;
		if (*s == '-') {
			s++;
			if (!rank_at(&s, &hi))
				goto bad;
			if (hi < lo)
				return cim_err_set(err, "trace ranks: range %.*s goes down "
							"(write %u-%u); in \"%s\"",
						   (int)(s - item), item, hi, lo, text);
		}
		if (r.n == CIM_TRACE_MAX_RANGES)
			return cim_err_set(err, "trace ranks: more than %d ranges in \"%s\"; "
						"join neighbours into ranges like 0-7",
					   CIM_TRACE_MAX_RANGES, text);
		r.v[r.n].lo = lo;
		r.v[r.n].hi = hi;
		r.n++;
		if (*s == '\0')
			break;
		if (*s != ',')
			goto bad;
		s++;
	}
	*ranks_out = r;
	return 0;
bad:
	return cim_err_set(err, "trace ranks: expected ranks like 0,3-5 (numbers N or ranges "
				"A-B separated by commas) or \"all\"; \"%s\" is wrong at "
				"character %d",
			   text, (int)(s - text) + 1);
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

int cim_trace_ranks_check(const struct cim_trace_ranks *ranks, uint32_t nranks,
			  struct cim_err *err)
{
	for (uint32_t i = 0; !ranks->all && i < ranks->n; i++)
		if (ranks->v[i].hi >= nranks)
			return cim_err_set(err, "trace ranks: rank %u is not in this run of "
						"%u ranks (0-%u)",
					   ranks->v[i].hi, nranks, nranks ? nranks - 1 : 0);
	return 0;
}
