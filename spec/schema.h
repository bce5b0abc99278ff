/*
 * schema.h — private to spec/: parsed YAML/JSON documents and the field
 * tables that read them strictly into C structs.
 *
 * A document is parsed with libyaml into a tree of nodes, each remembering
 * its file and line, so every message can name them.  A schema is a table of
 * fields (key, type, range, unit scale, destination offset); spec_read_map()
 * walks a mapping against it and refuses unknown keys (suggesting the nearest
 * known one), wrong types, lax scalars (`4096.5`, `32abc`, `010` for an
 * integer; anything but true/false for a boolean), unknown enum words and
 * out-of-range values.  It is not for semantic checks across fields: the
 * loaders do those after reading, with spec_errf().
 */
#ifndef CIM_SPEC_SCHEMA_H
#define CIM_SPEC_SCHEMA_H

#include <stddef.h>

#include "spec.h"

enum tnode_kind { TN_NULL, TN_SCALAR, TN_MAP, TN_SEQ };

/* A node of a parsed document.  Read-only outside tree.c. */
struct tnode {
	enum tnode_kind kind;
	const char *file;    /* where it was written: a path, or "--set KEY" */
	unsigned line;	     /* 1-based; 0 for command-line values */
	char *scalar;	     /* TN_SCALAR: the text */
	bool quoted;	     /* TN_SCALAR: written in quotes (a string) */
	size_t n;	     /* TN_MAP: pairs; TN_SEQ: items */
	size_t cap;	     /* room in keys, key_lines and vals */
	char **keys;	     /* TN_MAP: keys */
	unsigned *key_lines; /* TN_MAP: line of each key */
	struct tnode **vals; /* TN_MAP: values; TN_SEQ: items */
};

/* Parses text (YAML or JSON) from file into a tree; the root must be a
 * mapping.  Free with tnode_free. */
int tnode_parse(const char *file, const char *text, size_t len, struct tnode **root_p,
		struct cim_err *err);
void tnode_free(struct tnode *node);
/* The value under key in a mapping, or NULL. */
struct tnode *tnode_get(const struct tnode *map, const char *key);
/* Sets the dotted key (a.b.c) under root to the YAML value text, creating
 * mappings on the way; the new nodes' file is origin ("--set a.b.c=v"). */
int tnode_set(struct tnode *root, const char *origin, const char *key, const char *text,
	      struct cim_err *err);
/* Replaces the value under key in map with sub (taking ownership). */
void tnode_replace(struct tnode *map, const char *key, struct tnode *sub);
/* "a mapping", "a list", "null", "\"text\"": what a node is, for messages. */
const char *tnode_describe(const struct tnode *node, char *buf, size_t size);

enum field_type {
	F_U32,	/* uint32_t, strict decimal integer */
	F_U64,	/* uint64_t, strict decimal integer */
	F_F64,	/* double, finite decimal number, times .scale */
	F_BOOL, /* bool, true or false */
	F_ENUM, /* int, index of the word in .words */
	F_STR,	/* char[.size] */
	F_MAP,	/* nested struct read with .sub */
	F_FUNC, /* anything else: .read() */
};

#define FIELD_REQUIRED 0x1u /* missing is an error */
#define FIELD_NULL_OK  0x2u /* a null value means "absent" (HF configs) */
#define FIELD_POSITIVE 0x4u /* numbers: strictly above zero */

struct schema;

struct field {
	const char *key;
	enum field_type type;
	size_t offset;		  /* offsetof() in the destination struct */
	unsigned flags;		  /* FIELD_* */
	double min, max;	  /* inclusive range of the value as written
				     (numbers); max 0 means no upper bound */
	double scale;		  /* F_F64: internal = written × scale (0 = 1) */
	size_t size;		  /* F_STR: buffer size */
	const char *const *words; /* F_ENUM: NULL-terminated */
	const struct schema *sub; /* F_MAP */
	/* F_FUNC: reads node into dst + offset; path is the key's full path. */
	int (*read)(const struct tnode *node, const char *path, void *dst, struct cim_err *err);
	const char *hint; /* what the value means, for messages */
	long present;	  /* offsetof() a bool set when the key is
			     given, or -1 (use FIELD_PRESENT_NONE) */
};

struct schema {
	const char *what; /* "chip", "model" … for messages */
	const struct field *fields;
	size_t nfields;
	bool ignore_unknown; /* HF config.json: other keys are fine */
};

/*
 * Reads mapping node into dst according to s.  path is the key path of node
 * ("chip.adc") used in messages ("" at the root).  Keys not given keep what
 * dst held, so callers set documented defaults before reading.
 */
int spec_read_map(const struct tnode *node, const struct schema *s, const char *path, void *dst,
		  struct cim_err *err);

/* Formats "FILE:LINE: KEY: MESSAGE" into err for a value at node; returns -1. */
int spec_errf(struct cim_err *err, const struct tnode *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Strict scalar conversions used by the field readers and F_FUNC readers. */
int spec_u64(const struct tnode *node, const char *path, uint64_t min, uint64_t max, uint64_t *out,
	     struct cim_err *err);
int spec_f64(const struct tnode *node, const char *path, double min, double max, double *out,
	     struct cim_err *err);

/* Shorthands for field tables.  T is the destination struct type. */
#define FIELD_PRESENT_NONE (-1)
#define FU32(k, T, m, fl, lo, hi, h)                                                               \
	{                                                                                          \
		.key = k, .type = F_U32, .offset = offsetof(T, m), .flags = fl, .min = lo,         \
		.max = hi, .hint = h, .present = FIELD_PRESENT_NONE                                \
	}
#define FU64(k, T, m, fl, lo, hi, h)                                                               \
	{                                                                                          \
		.key = k, .type = F_U64, .offset = offsetof(T, m), .flags = fl, .min = lo,         \
		.max = hi, .hint = h, .present = FIELD_PRESENT_NONE                                \
	}
#define FF64(k, T, m, fl, lo, hi, sc, h)                                                           \
	{                                                                                          \
		.key = k, .type = F_F64, .offset = offsetof(T, m), .flags = fl, .min = lo,         \
		.max = hi, .scale = sc, .hint = h, .present = FIELD_PRESENT_NONE                   \
	}
#define FBOOL(k, T, m, fl, h)                                                                      \
	{                                                                                          \
		.key = k, .type = F_BOOL, .offset = offsetof(T, m), .flags = fl, .hint = h,        \
		.present = FIELD_PRESENT_NONE                                                      \
	}
#define FENUM(k, T, m, fl, w, h)                                                                   \
	{                                                                                          \
		.key = k, .type = F_ENUM, .offset = offsetof(T, m), .flags = fl, .words = w,       \
		.hint = h, .present = FIELD_PRESENT_NONE                                           \
	}
#define FSTR(k, T, m, fl, h)                                                                       \
	{                                                                                          \
		.key = k, .type = F_STR, .offset = offsetof(T, m), .flags = fl,                    \
		.size = sizeof(((T *)0)->m), .hint = h, .present = FIELD_PRESENT_NONE              \
	}
#define FMAP(k, T, m, fl, s, pres)                                                                 \
	{                                                                                          \
		.key = k, .type = F_MAP, .offset = offsetof(T, m), .flags = fl, .sub = s,          \
		.present = pres                                                                    \
	}
#define FFUNC(k, T, m, fl, fn, h)                                                                  \
	{                                                                                          \
		.key = k, .type = F_FUNC, .offset = offsetof(T, m), .flags = fl, .read = fn,       \
		.hint = h, .present = FIELD_PRESENT_NONE                                           \
	}
#define SCHEMA(name, what_, tbl, ign)                                                              \
	static const struct schema name = { .what = what_,                                         \
					    .fields = tbl,                                         \
					    .nfields = sizeof(tbl) / sizeof(tbl[0]),               \
					    .ignore_unknown = ign }

/* Readers of each part of an experiment from its mapping node (inline in
 * the experiment or the root of its own file).  path is the key path. */
int spec_read_model(const struct tnode *node, const char *path, struct cim_model_spec *out,
		    struct cim_err *err); /* model.c */
/* Splits line (no newline) at commas into at most n fields, trimmed of
 * spaces and of one pair of double quotes; returns the count. */
size_t spec_csv_split(char *line, char **f, size_t n);

/* Reads e's workload.routing_trace and stores its rows after e (and its
 * serving trace), growing *e_p. */
int spec_routing_trace(struct cim_files *files, const struct tnode *at, const char *path,
		       struct cim_experiment **e_p, struct cim_err *err);

int spec_read_chip(const struct tnode *node, const char *path, struct cim_chip_spec *out,
		   struct cim_err *err); /* chip.c */
int spec_read_net(const struct tnode *node, const char *path, struct cim_net_spec *out,
		  struct cim_err *err); /* net.c */

/* The serving part's keys (serving.c). */
extern const struct schema spec_serving_schema;
/* Reads the trace e->serving.trace names (through files) into rows after
 * the experiment, reallocating *e_p; at and path name the key. */
int spec_serving_trace(struct cim_files *files, const struct tnode *at, const char *path,
		       struct cim_experiment **e_p, struct cim_err *err);

/* The words of parallel.strategy, in enum cim_strategy's order, NULL-ended. */
extern const char *const spec_strategy_words[];

/* Reads path through files and parses it (tnode_parse); the nodes name the
 * bundle's copy of the path. */
int spec_load_tree(struct cim_files *files, const char *path, struct tnode **root_p,
		   struct cim_err *err);

/* The name a path gives what it holds: the file's whole name without its
 * extension (.json, .yaml, .yml), or the folder's name for a file called
 * config (Hugging Face's config.json).  Returns its length; *start is where
 * it begins in path. */
int spec_path_stem(const char *path, const char **start);

/* The path of rel as seen from the file node was written in (or from the
 * working directory when node is a command-line value). */
void spec_resolve(const struct tnode *from, const char *rel, char *out, size_t size);

/* Writes node as one line of flow YAML (a scalar as written, quoted when it
 * was; lists as [a, b]; mappings as {k: v}) into buf; false when it does not
 * fit in size bytes. */
bool tnode_emit(const struct tnode *node, char *buf, size_t size);

/* Unit scales from the units written in key names to internal units. */
#define U_NS_TO_PS    1e3 /* ns → ps */
#define U_US_TO_PS    1e6 /* µs → ps */
#define U_GHZ_TO_HZ   1e9
#define U_GBPS_TO_BPS 1e9  /* GB/s → bytes/s (decimal, as links are quoted) */
#define U_MW_TO_W     1e-3 /* mW → W (= pJ/ps) */
#define U_UM2_TO_MM2  1e-6
#define U_FJ_TO_PJ    1e-3

#endif /* CIM_SPEC_SCHEMA_H */
