/*
 * ranks.c — reading a list of ranks such as "0,3-5" from the user: the one
 * grammar of every option that names ranks (`cimsim net --group` and
 * `--p2p`, `cimsim run --trace-ranks`).
 *
 * A list is items N or A-B (A ≤ B, both included) separated by commas,
 * each rank a decimal without sign or leading zeros and at most the
 * caller's highest rank.  The list keeps the items as written: whether a
 * rank may be named twice, and words such as "all", are the caller's.
 */
#include <string.h>

#include "spec.h"

/* Reads the rank at *s (digits, no leading zero); advances *s past its
 * digits even when it is above max, which *over_p then says. */
static bool rank_at(const char **s, uint32_t max, uint32_t *out, bool *over_p)
{
	const char *p = *s;
	uint64_t v = 0;

	*over_p = false;
	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v <= max)
			v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			*over_p = true;
	}
	*out = (uint32_t)v;
	*s = p;
	return true;
}

/* Reads text by rules; writes the ranges into out when it is not NULL (the
 * first pass only checks), and their count into *n_p. */
static int scan(const char *text, const struct cim_rank_rules *rules, struct cim_rank_range *out,
		uint32_t *n_p, struct cim_err *err)
{
	const char *s = text;
	uint32_t n = 0;

	if (!text || !*text)
		return cim_err_set(err, "%s: expected ranks like %s; found nothing", rules->what,
				   rules->like);
	for (;;) {
		const char *item = s, *num = s;
		uint32_t lo, hi;
		bool over;

		if (!rank_at(&s, rules->max_rank, &lo, &over))
			goto bad;
		if (!over && *s == '-') {
			s++;
			num = s;
			if (!rank_at(&s, rules->max_rank, &hi, &over))
				goto bad;
		} else {
			hi = lo;
		}
		if (over)
			return cim_err_set(err,
					   "%s: rank %.*s is above %u, the highest allowed; "
					   "in \"%s\"",
					   rules->what, (int)(s - num), num, rules->max_rank, text);
		if (hi < lo)
			return cim_err_set(err, "%s: range %.*s goes down (write %u-%u); in \"%s\"",
					   rules->what, (int)(s - item), item, hi, lo, text);
		if (n == rules->max_ranges)
			return cim_err_set(err,
					   "%s: more than %u ranges in \"%s\"; join "
					   "neighbours into ranges like 0-7",
					   rules->what, rules->max_ranges, text);
		if (out)
			out[n] = (struct cim_rank_range){ .lo = lo, .hi = hi };
		n++;
		if (*s == '\0')
			break;
		if (*s != ',')
			goto bad;
		s++;
	}
	*n_p = n;
	return 0;
bad:
	return cim_err_set(err,
			   "%s: expected ranks like %s (numbers N or ranges A-B separated "
			   "by commas, in decimal without sign or leading zeros); \"%s\" is "
			   "wrong at character %d",
			   rules->what, rules->like, text, (int)(s - text) + 1);
}

int cim_spec_parse_ranks(const char *text, const struct cim_rank_rules *rules,
			 struct cim_rank_range *ranges_out, uint32_t *n_out, struct cim_err *err)
{
	uint32_t n;

	if (scan(text, rules, NULL, &n, err) < 0)
		return -1;
	return scan(text, rules, ranges_out, n_out, err);
}
