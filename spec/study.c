/*
 * study.c — study files: a base experiment and the axes a sweep varies.
 *
 * It reads and checks the study's own keys (docs/studies.md) strictly, as
 * the experiment's are read, and turns every value into the "key=value"
 * override the experiment loader already takes, so a point of a study is
 * exactly the experiment run with those overrides.  It does not read the
 * base experiment nor expand the points: the sweep does that, loading each
 * point through cim_spec_load_experiment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

/* Keys that are whole parts of an experiment: their values may be paths. */
static bool part_key(const char *key)
{
	return strcmp(key, "model") == 0 || strcmp(key, "chip") == 0 ||
	       strcmp(key, "interconnect") == 0;
}

/* Keys a study fixes through chips and splits, not through axes or set. */
static bool split_key(const char *key)
{
	return strcmp(key, "parallel.tp") == 0 || strcmp(key, "parallel.pp") == 0 ||
	       strcmp(key, "parallel.dp") == 0 || strcmp(key, "parallel.strategy") == 0 ||
	       strcmp(key, "parallel") == 0;
}

/* The label of a path: its whole name without the extension (a model's
 * folder for its config.json), as the part it names is called. */
static void path_label(const char *path, char *out, size_t size)
{
	const char *base;
	int len = spec_path_stem(path, &base);

	snprintf(out, size, "%.*s", len, base);
}

/*
 * Makes v the override "key=value" of node (a value written in the study),
 * resolving a part's path against the study's folder.
 */
static int make_value(const struct tnode *node, const char *key, const char *path,
		      struct cim_study_value *v, struct cim_err *err)
{
	char text[1100], resolved[1100];

	v->line = node->line;
	if (node->kind == TN_SCALAR && part_key(key)) {
		spec_resolve(node, node->scalar, resolved, sizeof(resolved));
		if (strchr(resolved, '"') || strchr(resolved, '\\'))
			return spec_errf(err, node, path,
					 "a path with '\"' or '\\\\' in it "
					 "cannot be used; rename the file");
		snprintf(v->set, sizeof(v->set), "%s=\"%s\"", key, resolved);
		path_label(node->scalar, v->label, sizeof(v->label));
		return 0;
	}
	if (!tnode_emit(node, text, sizeof(text)))
		return spec_errf(err, node, path, "the value is longer than %zu characters",
				 sizeof(text) - 1);
	if (node->kind == TN_MAP && part_key(key))
		snprintf(v->label, sizeof(v->label), "%s %u", key, node->line);
	else
		snprintf(v->label, sizeof(v->label), "%.63s", text);
	for (char *c = v->label; *c; c++)
		if (*c == ',' || *c == '"')
			*c = *c == ',' ? ' ' : '\'';
	snprintf(v->set, sizeof(v->set), "%s=%s", key, text);
	return 0;
}

/* Checks a key given under set or axes. */
static int check_key(const struct tnode *map, size_t i, const char *path, struct cim_err *err)
{
	const char *key = map->keys[i];
	struct tnode at = *map;

	at.line = map->key_lines[i];
	if (strlen(key) >= sizeof(((struct cim_study_axis *)0)->key) || !*key)
		return spec_errf(err, &at, path, "'%.40s…' is not a key of an experiment", key);
	if (strcmp(key, "chips") == 0 || split_key(key))
		return spec_errf(err, &at, path,
				 "'%s' is set by the study's chips and splits keys, not here: "
				 "write chips: [8, 16] or splits: all (or [[2, 4], [4, 2]], or "
				 "best-throughput)",
				 key);
	if (strcmp(key, "name") == 0)
		return spec_errf(err, &at, path, "a point's name is the study's; remove it");
	return 0;
}

static int read_experiment(const struct tnode *node, const char *path, void *dst,
			   struct cim_err *err)
{
	struct cim_study *s = dst;
	char what[64];

	if (node->kind != TN_SCALAR || !*node->scalar)
		return spec_errf(err, node, path,
				 "expected the path of an experiment file, "
				 "found %s",
				 tnode_describe(node, what, sizeof(what)));
	spec_resolve(node, node->scalar, s->experiment, sizeof(s->experiment));
	return 0;
}

static int read_chips(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_study *s = dst;
	const struct tnode *one = node;
	size_t n = 1;

	if (node->kind == TN_SEQ) {
		n = node->n;
		if (n == 0 || n > CIM_STUDY_MAX_CHIPS)
			return spec_errf(err, node, path, "expected 1 to %d chip counts, found %zu",
					 CIM_STUDY_MAX_CHIPS, n);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t c;
		if (node->kind == TN_SEQ)
			one = node->vals[i];
		if (spec_u64(one, path, 1, 1u << 20, &c, err))
			return -1;
		for (uint32_t j = 0; j < s->nchips; j++)
			if (s->chips[j] == c)
				return spec_errf(err, one, path, "%llu chips is listed twice",
						 (unsigned long long)c);
		s->chips[s->nchips++] = (uint32_t)c;
	}
	return 0;
}

/* One entry of splits: a strategy word or [tp, pp] / [tp, pp, dp]. */
static int read_split(const struct tnode *node, const char *path, struct cim_study_split *sp,
		      struct cim_err *err)
{
	char what[64];

	sp->line = node->line;
	sp->dp = 1;
	if (node->kind == TN_SCALAR && !node->quoted) {
		for (int w = 1; spec_strategy_words[w]; w++)
			if (strcmp(node->scalar, spec_strategy_words[w]) == 0) {
				sp->strategy = (enum cim_strategy)w;
				return 0;
			}
	}
	if (node->kind == TN_SEQ && (node->n == 2 || node->n == 3)) {
		uint64_t v[3] = { 1, 1, 1 };
		for (size_t i = 0; i < node->n; i++)
			if (spec_u64(node->vals[i], path, 1, 1u << 20, &v[i], err))
				return -1;
		sp->strategy = CIM_STRAT_MANUAL;
		sp->tp = (uint32_t)v[0];
		sp->pp = (uint32_t)v[1];
		sp->dp = (uint32_t)v[2];
		return 0;
	}
	return spec_errf(err, node, path,
			 "expected all, a strategy (tp-first, pp-first, balanced, min-chips, "
			 "best-throughput, best-energy) or [tp, pp] or [tp, pp, dp], found %s",
			 tnode_describe(node, what, sizeof(what)));
}

static int read_splits(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_study *s = dst;

	if (node->kind == TN_SCALAR && !node->quoted && strcmp(node->scalar, "all") == 0) {
		s->splits = CIM_SPLITS_ALL;
		return 0;
	}
	s->splits = CIM_SPLITS_LIST;
	if (node->kind != TN_SEQ ||
	    (node->n && node->vals[0]->kind != TN_SEQ && node->vals[0]->kind != TN_SCALAR)) {
		s->nsplits = 1;
		return read_split(node, path, &s->split[0], err);
	}
	if (node->n == 0 || node->n > CIM_STUDY_MAX_SPLITS)
		return spec_errf(err, node, path, "expected 1 to %d splits, found %zu",
				 CIM_STUDY_MAX_SPLITS, node->n);
	/* [2, 4] is one split, [[2, 4], best-energy] two. */
	if (node->vals[0]->kind == TN_SCALAR && node->n <= 3) {
		bool numbers = true;
		for (size_t i = 0; i < node->n; i++)
			numbers = numbers && node->vals[i]->kind == TN_SCALAR &&
				  strspn(node->vals[i]->scalar, "0123456789") ==
				      strlen(node->vals[i]->scalar);
		if (numbers) {
			s->nsplits = 1;
			return read_split(node, path, &s->split[0], err);
		}
	}
	for (size_t i = 0; i < node->n; i++)
		if (read_split(node->vals[i], path, &s->split[s->nsplits++], err))
			return -1;
	return 0;
}

static int read_set(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_study *s = dst;
	char what[64], full[300];

	if (node->kind != TN_MAP)
		return spec_errf(err, node, path,
				 "expected a mapping of experiment keys to "
				 "values (workload.generate_tokens: 64), found %s",
				 tnode_describe(node, what, sizeof(what)));
	if (node->n > CIM_STUDY_MAX_SETS)
		return spec_errf(err, node, path, "at most %d keys", CIM_STUDY_MAX_SETS);
	for (size_t i = 0; i < node->n; i++) {
		snprintf(full, sizeof(full), "%s.%s", path, node->keys[i]);
		if (check_key(node, i, path, err) ||
		    make_value(node->vals[i], node->keys[i], full, &s->set[s->nsets++], err))
			return -1;
	}
	return 0;
}

static int read_axes(const struct tnode *node, const char *path, void *dst, struct cim_err *err)
{
	struct cim_study *s = dst;
	char what[64], full[300];

	if (node->kind != TN_MAP || node->n == 0)
		return spec_errf(err, node, path,
				 "expected a mapping of experiment keys to lists "
				 "of values (workload.batch: [1, 8, 32]), found %s",
				 tnode_describe(node, what, sizeof(what)));
	if (node->n > CIM_STUDY_MAX_AXES)
		return spec_errf(err, node, path, "at most %d axes, found %zu", CIM_STUDY_MAX_AXES,
				 node->n);
	for (size_t i = 0; i < node->n; i++) {
		const struct tnode *vals = node->vals[i];
		struct cim_study_axis *a = &s->axis[s->naxes++];
		snprintf(full, sizeof(full), "%s.%s", path, node->keys[i]);
		if (check_key(node, i, path, err))
			return -1;
		if (vals->kind != TN_SEQ || vals->n == 0 || vals->n > CIM_STUDY_MAX_VALUES)
			return spec_errf(err, vals, full,
					 "expected a list of 1 to %d values, "
					 "found %s",
					 CIM_STUDY_MAX_VALUES,
					 tnode_describe(vals, what, sizeof(what)));
		snprintf(a->key, sizeof(a->key), "%s", node->keys[i]);
		a->line = node->key_lines[i];
		for (size_t j = 0; j < vals->n; j++)
			if (make_value(vals->vals[j], a->key, full, &a->v[a->n++], err))
				return -1;
	}
	return 0;
}

#define STUDY_FUNC(k, fl, fn, h)                                                                   \
	{                                                                                          \
		.key = k, .type = F_FUNC, .offset = 0, .flags = fl, .read = fn, .hint = h,         \
		.present = FIELD_PRESENT_NONE                                                      \
	}

static const struct field study_fields[] = {
	FSTR("name", struct cim_study, name, 0, "the study's name in reports"),
	STUDY_FUNC("experiment", FIELD_REQUIRED, read_experiment,
		   "the path of the base experiment, relative to the study"),
	STUDY_FUNC("chips", 0, read_chips, "chip counts: 8 or [8, 16, 32]"),
	STUDY_FUNC("splits", 0, read_splits,
		   "all, a strategy, or a list of [tp, pp] and strategies"),
	STUDY_FUNC("set", 0, read_set, "overrides applied to every point"),
	STUDY_FUNC("axes", 0, read_axes, "experiment keys and the values each takes"),
};
SCHEMA(study_schema, "study", study_fields, false);

/* Checks across keys: what the points need and what cannot be combined. */
static int check(const struct tnode *root, const struct cim_study *s, struct cim_err *err)
{
	const struct tnode *splits = tnode_get(root, "splits");
	uint64_t points = s->nchips ? s->nchips : 1;
	bool manual = false, chosen = false;

	for (uint32_t i = 0; i < s->nsplits; i++) {
		manual = manual || s->split[i].strategy == CIM_STRAT_MANUAL;
		chosen = chosen || s->split[i].strategy != CIM_STRAT_MANUAL;
	}
	if (s->splits == CIM_SPLITS_ALL && !s->nchips)
		return spec_errf(err, splits, "splits",
				 "all needs the chip counts to split: add chips: [8] (or a list)");
	if (chosen && !s->nchips)
		return spec_errf(err, splits, "splits",
				 "a strategy chooses a split for a number of chips: add chips: "
				 "[8] (or a list)");
	if (manual && s->nchips)
		return spec_errf(err, splits, "splits",
				 "[tp, pp] fixes the chips (tp·pp·dp); give either chips or "
				 "[tp, pp] splits, not both");
	for (uint32_t i = 0; i < s->nsets; i++)
		for (uint32_t a = 0; a < s->naxes; a++) {
			size_t n = strlen(s->axis[a].key);
			if (strncmp(s->set[i].set, s->axis[a].key, n) == 0 &&
			    s->set[i].set[n] == '=')
				return spec_errf(err, tnode_get(root, "axes"), "axes",
						 "%s is both an axis and under set (line %u); "
						 "keep one",
						 s->axis[a].key, s->set[i].line);
		}
	for (uint32_t a = 0; a < s->naxes; a++)
		points *= s->axis[a].n;
	points *= s->nsplits ? s->nsplits : 1;
	if (points > CIM_STUDY_MAX_POINTS)
		return spec_errf(err, root, "study",
				 "%llu points; a study may have at most %d: split it in several",
				 (unsigned long long)points, CIM_STUDY_MAX_POINTS);
	return 0;
}

int cim_spec_load_study(struct cim_files *files, const char *path, struct cim_study **study_p,
			struct cim_err *err)
{
	struct tnode *root;
	struct cim_study *s;

	err->msg[0] = 0;
	if (spec_load_tree(files, path, &root, err))
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s) {
		tnode_free(root);
		return cim_err_set(err, "out of memory");
	}
	if (spec_read_map(root, &study_schema, "", s, err) || check(root, s, err)) {
		tnode_free(root);
		free(s);
		return -1;
	}
	if (!s->name[0])
		path_label(path, s->name, sizeof(s->name));
	snprintf(s->path, sizeof(s->path), "%s", path);
	tnode_free(root);
	*study_p = s;
	return 0;
}
