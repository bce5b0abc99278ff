/*
 * schema.c — strict reading of mappings into structs by field tables.
 *
 * libyaml hands us text; this file decides what the text means, refusing
 * whatever a lax reader would guess at: `4096.5`, `32abc`, `010` or `"8"`
 * for an integer, `yes` for a boolean, an unknown enum word or key, a value
 * out of range.  Every message says file, line, key, what was expected and
 * what was found.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int spec_errf(struct cim_err *err, const struct tnode *node, const char *path, const char *fmt, ...)
{
	char where[1200], what[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!node)
		snprintf(where, sizeof(where), "%s", path);
	else if (node->line)
		snprintf(where, sizeof(where), "%s:%u: %s", node->file, node->line, path);
	else
		snprintf(where, sizeof(where), "command line (%s): %s", node->file, path);
	return cim_err_set(err, "%s: %s", where, what);
}

static void join(char *out, size_t size, const char *path, const char *key)
{
	if (path && *path)
		snprintf(out, size, "%s.%s", path, key);
	else
		snprintf(out, size, "%s", key);
}

/* Edit distance between two short words, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The word of words[0..n) nearest to w when it is close enough, or NULL. */
static const char *nearest(const char *w, const char *const *words, size_t n, size_t stride)
{
	const char *best = NULL;
	size_t bd = 99, len = strlen(w);
	size_t limit = len < 6 ? 2 : len / 3 + 1;

	for (size_t i = 0; i < n; i++) {
		const char *cand = *(const char *const *)((const char *)words + i * stride);
		size_t d = distance(w, cand);
		if (d < bd) {
			bd = d;
			best = cand;
		}
	}
	return bd <= limit ? best : NULL;
}

static bool plain_number_chars(const char *s, bool allow_float)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			continue;
		if (allow_float && strchr(".eE+-", *p))
			continue;
		if (!allow_float && p == s && *p == '-')
			continue;
		return false;
	}
	return true;
}

int spec_u64(const struct tnode *node, const char *path, uint64_t min, uint64_t max, uint64_t *out,
	     struct cim_err *err)
{
	char what[64];
	const char *s = node->kind == TN_SCALAR ? node->scalar : NULL;
	bool ok = s && !node->quoted && plain_number_chars(s, false) && s[0] != '-' &&
		  !(s[0] == '0' && s[1]);
	unsigned long long v = 0;

	if (ok) {
		char *end;
		errno = 0;
		v = strtoull(s, &end, 10);
		ok = !*end && !errno;
	}
	if (!ok) {
		const char *why = "";
		if (s && !node->quoted && s[0] == '0' && s[1] && plain_number_chars(s, false))
			why = " (a leading zero is not allowed: write it without one)";
		else if (s && node->quoted)
			why = " (in quotes: write the number without quotes)";
		else if (s && strpbrk(s, ".eE"))
			why = " (a whole number is needed here, not a fraction)";
		return spec_errf(err, node, path,
				 "expected a whole number from %llu to %llu, "
				 "found %s%s",
				 (unsigned long long)min, (unsigned long long)max,
				 tnode_describe(node, what, sizeof(what)), why);
	}
	if (v < min || v > max)
		return spec_errf(err, node, path,
				 "expected a whole number from %llu to %llu, "
				 "found %llu",
				 (unsigned long long)min, (unsigned long long)max, v);
	*out = v;
	return 0;
}

/* The unit a key's name gives by its suffix (clock_ghz: GHz), for
 * messages; "" when the name gives none. */
static const char *key_unit(const char *path)
{
	static const char *const units[][2] = {
		{ "_um2_per_step", " µm² per step" },
		{ "_fj_per_step", " fJ per step" },
		{ "_pj_per_byte", " pJ per byte" },
		{ "_pj_per_bit", " pJ per bit" },
		{ "_gb_per_s", " GB/s" },
		{ "_per_s", " per s" },
		{ "_gsps", " GS/s" },
		{ "_ghz", " GHz" },
		{ "_mib", " MiB" },
		{ "_mw", " mW" },
		{ "_um2", " µm²" },
		{ "_mm2", " mm²" },
		{ "_db", " dB" },
		{ "_pj", " pJ" },
		{ "_ns", " ns" },
		{ "_ms", " ms" },
		{ "_s", " s" },
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t k = strlen(units[i][0]);
		if (n >= k && strcmp(path + n - k, units[i][0]) == 0)
			return units[i][1];
	}
	return "";
}

int spec_f64(const struct tnode *node, const char *path, double min, double max, double *out,
	     struct cim_err *err)
{
	char what[64];
	const char *s = node->kind == TN_SCALAR ? node->scalar : NULL;
	bool ok = s && !node->quoted && plain_number_chars(s, true) && strpbrk(s, "0123456789");
	double v = 0;

	if (ok) {
		char *end;
		errno = 0;
		v = strtod(s, &end);
		ok = !*end && errno != ERANGE && isfinite(v);
	}
	if (!ok)
		return spec_errf(err, node, path, "expected a number, found %s%s",
				 tnode_describe(node, what, sizeof(what)),
				 s && node->quoted ? " (in quotes: write it without quotes)" : "");
	if (max > min && (v < min || v > max))
		return spec_errf(err, node, path, "expected a number from %g to %g%s, found %s",
				 min, max, key_unit(path), s);
	if (v < min)
		return spec_errf(err, node, path, "expected a number of at least %g%s, found %s",
				 min, key_unit(path), s);
	*out = v;
	return 0;
}

static int read_enum(const struct tnode *node, const char *path, const struct field *f, int *out,
		     struct cim_err *err)
{
	char what[64], list[512] = "";
	size_t n = 0;

	for (; f->words[n]; n++) {
		if (node->kind == TN_SCALAR && strcmp(node->scalar, f->words[n]) == 0) {
			*out = (int)n;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", n ? ", " : "",
			 f->words[n]);
	}
	const char *near = node->kind == TN_SCALAR
			       ? nearest(node->scalar, f->words, n, sizeof(f->words[0]))
			       : NULL;
	if (near)
		return spec_errf(err, node, path,
				 "expected one of %s, found %s; did you mean "
				 "'%s'?",
				 list, tnode_describe(node, what, sizeof(what)), near);
	return spec_errf(err, node, path, "expected one of %s, found %s", list,
			 tnode_describe(node, what, sizeof(what)));
}

static int read_field(const struct tnode *v, const char *path, const struct field *f, void *dst,
		      struct cim_err *err)
{
	char *at = (char *)dst + f->offset;
	char what[64];
	uint64_t u;
	double d;
	double lo = f->min, hi = f->max;

	if (f->flags & FIELD_POSITIVE && lo < 1 && (f->type == F_U32 || f->type == F_U64))
		lo = 1;
	switch (f->type) {
	case F_U32:
		if (spec_u64(v, path, (uint64_t)lo, hi > 0 ? (uint64_t)hi : UINT32_MAX, &u, err))
			return -1;
		*(uint32_t *)at = (uint32_t)u;
		return 0;
	case F_U64:
		if (spec_u64(v, path, (uint64_t)lo, hi > 0 ? (uint64_t)hi : UINT64_MAX, &u, err))
			return -1;
		*(uint64_t *)at = u;
		return 0;
	case F_F64:
		/* a number first; then "above zero" before the range, which a
		 * positive field's lower bound 0 would otherwise answer */
		if (spec_f64(v, path, -HUGE_VAL, HUGE_VAL, &d, err))
			return -1;
		if (f->flags & FIELD_POSITIVE && !(d > 0))
			return spec_errf(err, v, path, "expected a number above zero%s%s, found %s",
					 f->hint ? " for " : "", f->hint ? f->hint : "", v->scalar);
		if (spec_f64(v, path, lo, hi, &d, err))
			return -1;
		*(double *)at = d * (f->scale != 0 ? f->scale : 1.0);
		return 0;
	case F_BOOL:
		if (v->kind == TN_SCALAR && !v->quoted && strcmp(v->scalar, "true") == 0)
			*(bool *)at = true;
		else if (v->kind == TN_SCALAR && !v->quoted && strcmp(v->scalar, "false") == 0)
			*(bool *)at = false;
		else
			return spec_errf(err, v, path, "expected true or false, found %s",
					 tnode_describe(v, what, sizeof(what)));
		return 0;
	case F_ENUM:
		return read_enum(v, path, f, (int *)at, err);
	case F_STR:
		if (v->kind != TN_SCALAR)
			return spec_errf(err, v, path, "expected a text value, found %s",
					 tnode_describe(v, what, sizeof(what)));
		if (strlen(v->scalar) >= f->size)
			return spec_errf(err, v, path, "expected at most %zu characters, found %zu",
					 f->size - 1, strlen(v->scalar));
		memcpy(at, v->scalar, strlen(v->scalar) + 1);
		return 0;
	case F_MAP:
		return spec_read_map(v, f->sub, path, at, err);
	case F_FUNC:
		return f->read(v, path, at, err);
	}
	return spec_errf(err, v, path, "internal error: unknown field type");
}

/* The message for a key of node that is not in s. */
static int unknown_key(const struct tnode *node, size_t i, const struct schema *s, const char *path,
		       struct cim_err *err)
{
	char full[256], list[700] = "";
	const char *near =
	    nearest(node->keys[i], &s->fields[0].key, s->nfields, sizeof(s->fields[0]));
	struct tnode at = *node;

	at.line = node->key_lines[i];
	join(full, sizeof(full), path, node->keys[i]);
	if (near)
		return spec_errf(err, &at, full, "unknown key in %s; did you mean '%s'?", s->what,
				 near);
	for (size_t j = 0; j < s->nfields; j++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "",
			 s->fields[j].key);
	return spec_errf(err, &at, full, "unknown key in %s; the keys are: %s", s->what, list);
}

/* The message for a required key that is missing from node. */
static int missing_key(const struct tnode *node, const struct field *f, const char *path,
		       const char *full, struct cim_err *err)
{
	const char *key = f->key;
	/* A key given under another spelling is the likeliest cause; short
	 * keys must be nearer ('dac' is not a misspelling of 'adc'). */
	size_t near = strlen(key) >= 6 ? 2 : 1;
	for (size_t i = 0; i < node->n; i++)
		if (distance(node->keys[i], key) <= near && strcmp(node->keys[i], key) != 0) {
			struct tnode at = *node;
			at.line = node->key_lines[i];
			return spec_errf(err, &at, full,
					 "missing; '%s' is given instead: is it "
					 "a misspelling of '%s'?",
					 node->keys[i], key);
		}
	return spec_errf(err, node, *path ? path : full, "missing key '%s'%s%s%s; add it", key,
			 f->hint ? " (" : "", f->hint ? f->hint : "", f->hint ? ")" : "");
}

int spec_read_map(const struct tnode *node, const struct schema *s, const char *path, void *dst,
		  struct cim_err *err)
{
	char full[256], what[64];

	if (node->kind != TN_MAP)
		return spec_errf(err, node, *path ? path : s->what,
				 "expected a mapping of %s keys, found %s", s->what,
				 tnode_describe(node, what, sizeof(what)));
	if (!s->ignore_unknown)
		for (size_t i = 0; i < node->n; i++) {
			bool known = false;
			for (size_t j = 0; j < s->nfields && !known; j++)
				known = strcmp(node->keys[i], s->fields[j].key) == 0;
			if (!known)
				return unknown_key(node, i, s, path, err);
		}
	for (size_t j = 0; j < s->nfields; j++) {
		const struct field *f = &s->fields[j];
		const struct tnode *v = tnode_get(node, f->key);

		join(full, sizeof(full), path, f->key);
		if (v && v->kind == TN_NULL && (f->flags & FIELD_NULL_OK))
			v = NULL;
		if (!v) {
			if (f->flags & FIELD_REQUIRED)
				return missing_key(node, f, path, full, err);
			continue;
		}
		if (read_field(v, full, f, dst, err))
			return -1;
		if (f->present >= 0)
			*(bool *)((char *)dst + f->present) = true;
	}
	return 0;
}
