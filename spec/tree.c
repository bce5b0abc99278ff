/*
 * tree.c — YAML and JSON text to a tree of nodes that remember their file
 * and line, with libyaml's event parser.
 *
 * It refuses what the field readers cannot judge later: empty files, text
 * that is not YAML (binary garbage, bad indentation), duplicate keys,
 * non-scalar keys, documents nested deeper than MAX_DEPTH, a second
 * document, aliases that expand past a bound.  It does not interpret
 * scalars: schema.c does, strictly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "schema.h"

#define MAX_DEPTH 64

static struct tnode *node_new(enum tnode_kind kind, const char *file, unsigned line)
{
	struct tnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->line = line;
	return n;
}

void tnode_free(struct tnode *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->n; i++) {
		if (node->keys)
			free(node->keys[i]);
		tnode_free(node->vals[i]);
	}
	free(node->keys);
	free(node->key_lines);
	free(node->vals);
	free(node->scalar);
	free(node);
}

/* Appends (key, val) to a mapping or val to a list, doubling the arrays
 * when they are full so that a long list costs linear time. */
static int node_push(struct tnode *n, char *key, unsigned key_line, struct tnode *val)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 4;
		struct tnode **vals = realloc(n->vals, cap * sizeof(*vals));
		if (!vals)
			return -1;
		n->vals = vals;
		if (n->kind == TN_MAP) {
			char **keys = realloc(n->keys, cap * sizeof(*keys));
			if (!keys)
				return -1;
			n->keys = keys;
			unsigned *lines = realloc(n->key_lines, cap * sizeof(*lines));
			if (!lines)
				return -1;
			n->key_lines = lines;
		}
		n->cap = cap;
	}
	if (n->kind == TN_MAP) {
		n->keys[n->n] = key;
		n->key_lines[n->n] = key_line;
	}
	n->vals[n->n++] = val;
	return 0;
}

static bool plain_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

/*
 * The tree is built from libyaml's events, so every limit holds while the
 * text is read, before anything is allocated for what lies beyond it:
 * nesting stops at MAX_DEPTH, and the nodes made (aliases copy their
 * anchor's nodes) stop at the text's own length plus ALIAS_NODES, so an
 * alias bomb is refused after that many nodes instead of expanding.
 * Duplicate keys are found by sorting a mapping's keys when it closes,
 * O(n log n) instead of a scan per key.
 */
#define ALIAS_NODES 65536

struct anchor {
	char *name;
	struct tnode *node; /* NULL while the anchored node is still open */
};

struct frame {
	struct tnode *node;
	char *key; /* TN_MAP: the key waiting for its value */
	unsigned key_line;
	char *anchor; /* the anchor this open node was given */
};

struct builder {
	const char *file;
	struct frame stack[MAX_DEPTH + 1];
	int depth;
	struct tnode *root;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t nodes, max_nodes;
	struct cim_err *err;
};

static int nomem(struct builder *b)
{
	return cim_err_set(b->err, "%s: out of memory", b->file);
}

static int count_node(struct builder *b, unsigned line)
{
	if (++b->nodes > b->max_nodes)
		return cim_err_set(b->err,
				   "%s:%u: aliases expand the file past %zu nodes; write the "
				   "values out instead of repeating anchors",
				   b->file, line, b->max_nodes);
	return 0;
}

static struct tnode *copy_tree(struct builder *b, const struct tnode *from, unsigned line)
{
	if (count_node(b, line))
		return NULL;
	struct tnode *n = node_new(from->kind, from->file, from->line);
	if (!n)
		goto err_nomem;
	n->quoted = from->quoted;
	if (from->scalar && !(n->scalar = strdup(from->scalar)))
		goto err_free;
	for (size_t i = 0; i < from->n; i++) {
		char *k = from->keys ? strdup(from->keys[i]) : NULL;
		if (from->keys && !k)
			goto err_free;
		struct tnode *c = copy_tree(b, from->vals[i], line);
		if (!c || node_push(n, k, from->key_lines ? from->key_lines[i] : 0, c)) {
			free(k);
			tnode_free(c);
			goto err_free;
		}
	}
	return n;
err_free:
	tnode_free(n);
err_nomem:
	if (!b->err->msg[0])
		nomem(b);
	return NULL;
}

static int set_anchor(struct builder *b, const yaml_char_t *name, struct tnode *node, char **open)
{
	if (!name)
		return 0;
	if (b->n_anchors == b->cap_anchors) {
		size_t cap = b->cap_anchors ? 2 * b->cap_anchors : 8;
		struct anchor *a = realloc(b->anchors, cap * sizeof(*a));
		if (!a)
			return nomem(b);
		b->anchors = a;
		b->cap_anchors = cap;
	}
	char *nm = strdup((const char *)name);
	if (!nm)
		return nomem(b);
	b->anchors[b->n_anchors++] = (struct anchor){ nm, node };
	if (open)
		*open = nm;
	return 0;
}

/* The newest anchor of that name wins, as YAML says. */
static struct anchor *find_anchor(struct builder *b, const char *name)
{
	for (size_t i = b->n_anchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return &b->anchors[i];
	return NULL;
}

struct key_at {
	const char *key;
	size_t at;
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key_at *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	return c ? c : (a->at > b->at) - (a->at < b->at);
}

static int check_keys(struct builder *b, const struct tnode *map)
{
	if (map->n < 2)
		return 0;
	struct key_at *ks = malloc(map->n * sizeof(*ks));
	if (!ks)
		return nomem(b);
	for (size_t i = 0; i < map->n; i++)
		ks[i] = (struct key_at){ map->keys[i], i };
	qsort(ks, map->n, sizeof(*ks), key_cmp);
	size_t dup = map->n;
	for (size_t i = 1; i < map->n; i++)
		if (strcmp(ks[i - 1].key, ks[i].key) == 0 && ks[i].at < dup)
			dup = ks[i].at;
	free(ks);
	if (dup == map->n)
		return 0;
	return cim_err_set(b->err, "%s:%u: key '%s' is given twice; keep one", b->file,
			   map->key_lines[dup], map->keys[dup]);
}

/* Hands a finished node to the open container, or makes it the root. */
static int attach(struct builder *b, struct tnode *n)
{
	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (node_push(f->node, f->key, f->key_line, n)) {
		tnode_free(n);
		return nomem(b);
	}
	f->key = NULL;
	return 0;
}

/* True when the next node of the open mapping is a key. */
static bool at_key(const struct builder *b)
{
	const struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;

	return f && f->node->kind == TN_MAP && !f->key;
}

static int on_event(struct builder *b, yaml_event_t *ev)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	struct tnode *n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (at_key(b)) {
			struct frame *f = &b->stack[b->depth - 1];
			if (!(f->key = strdup((const char *)ev->data.scalar.value)))
				return nomem(b);
			f->key_line = line;
			return 0;
		}
		if (count_node(b, line))
			return -1;
		n = node_new(plain_null(ev) ? TN_NULL : TN_SCALAR, b->file, line);
		if (!n)
			return nomem(b);
		if (n->kind == TN_SCALAR) {
			n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
			if (!(n->scalar = strdup((const char *)ev->data.scalar.value))) {
				tnode_free(n);
				return nomem(b);
			}
		}
		if (set_anchor(b, ev->data.scalar.anchor, n, NULL)) {
			tnode_free(n);
			return -1;
		}
		return attach(b, n);
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		if (at_key(b))
			return cim_err_set(b->err,
					   "%s:%u: a key must be a plain word, found the alias "
					   "'*%s'",
					   b->file, line, name);
		struct anchor *a = find_anchor(b, name);
		if (!a || !a->node)
			return cim_err_set(b->err,
					   "%s:%u: the alias '*%s' names no %sanchor; define "
					   "'&%s' on a value before it",
					   b->file, line, name, a ? "finished " : "", name);
		if (!(n = copy_tree(b, a->node, line)))
			return -1;
		return attach(b, n);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		if (at_key(b))
			return cim_err_set(b->err, "%s:%u: a key must be a plain word, found %s",
					   b->file, line, map ? "a mapping" : "a list");
		if (b->depth == MAX_DEPTH)
			return cim_err_set(b->err,
					   "%s:%u: nested deeper than %d levels; flatten the file",
					   b->file, line, MAX_DEPTH);
		if (count_node(b, line))
			return -1;
		if (!(n = node_new(map ? TN_MAP : TN_SEQ, b->file, line)))
			return nomem(b);
		struct frame *f = &b->stack[b->depth++];
		*f = (struct frame){ .node = n };
		const yaml_char_t *anchor =
		    map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		if (set_anchor(b, anchor, NULL, &f->anchor))
			return -1;
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		struct frame *f = &b->stack[--b->depth];
		n = f->node;
		f->node = NULL;
		if (n->kind == TN_MAP && check_keys(b, n)) {
			tnode_free(n);
			return -1;
		}
		if (f->anchor)
			for (size_t i = b->n_anchors; i-- > 0;)
				if (b->anchors[i].name == f->anchor) {
					b->anchors[i].node = n;
					break;
				}
		return attach(b, n);
	}
	default:
		return 0;
	}
}

static void builder_free(struct builder *b)
{
	for (int d = b->depth; d-- > 0;) {
		tnode_free(b->stack[d].node);
		free(b->stack[d].key);
	}
	for (size_t i = 0; i < b->n_anchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
}

/* Parses one YAML document into a tree of any kind of root. */
static int parse_any(const char *file, const char *text, size_t len, struct tnode **root_p,
		     struct cim_err *err)
{
	yaml_parser_t parser;
	struct builder b = { .file = file, .err = err, .max_nodes = len + ALIAS_NODES };
	bool done = false;
	int docs = 0, rc = -1;

	err->msg[0] = 0;
	if (!yaml_parser_initialize(&parser))
		return cim_err_set(err, "%s: out of memory", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			cim_err_set(err,
				    "%s:%zu: not valid YAML or JSON: %s%s%s; check the file is "
				    "text in YAML or JSON form",
				    file, parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "unreadable text",
				    parser.context ? " " : "",
				    parser.context ? parser.context : "");
			goto out;
		}
		int bad = 0;
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
			bad = cim_err_set(err,
					  "%s:%zu: a second YAML document ('---'); a file holds "
					  "one document",
					  file, ev.start_mark.line + 1);
		else
			bad = on_event(&b, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (bad)
			goto out;
	}
	if (!b.root) {
		cim_err_set(err, "%s: the file is empty; expected a mapping of keys", file);
		goto out;
	}
	*root_p = b.root;
	b.root = NULL;
	rc = 0;
out:
	tnode_free(b.root);
	builder_free(&b);
	yaml_parser_delete(&parser);
	return rc;
}

int tnode_parse(const char *file, const char *text, size_t len, struct tnode **root_p,
		struct cim_err *err)
{
	struct tnode *root;
	char what[64];

	if (memchr(text, 0, len))
		return cim_err_set(err,
				   "%s: binary data (a NUL byte at offset %zu); expected a "
				   "YAML or JSON text file",
				   file, (size_t)((const char *)memchr(text, 0, len) - text));
	if (parse_any(file, text, len, &root, err))
		return -1;
	if (root->kind != TN_MAP) {
		cim_err_set(err, "%s:%u: expected a mapping of keys at the top, found %s", file,
			    root->line, tnode_describe(root, what, sizeof(what)));
		tnode_free(root);
		return -1;
	}
	*root_p = root;
	return 0;
}

struct tnode *tnode_get(const struct tnode *map, const char *key)
{
	if (!map || map->kind != TN_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->vals[i];
	return NULL;
}

void tnode_replace(struct tnode *map, const char *key, struct tnode *sub)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0) {
			tnode_free(map->vals[i]);
			map->vals[i] = sub;
			return;
		}
}

/* Makes every node of a tree say it came from origin. */
static void set_origin(struct tnode *n, const char *origin)
{
	n->file = origin;
	n->line = 0;
	for (size_t i = 0; i < n->n; i++) {
		if (n->key_lines)
			n->key_lines[i] = 0;
		set_origin(n->vals[i], origin);
	}
}

int tnode_set(struct tnode *root, const char *origin, const char *key, const char *text,
	      struct cim_err *err)
{
	struct tnode *val, *map = root;
	char part[256];
	const char *p = key;

	if (parse_any(origin, text, strlen(text), &val, err))
		return -1;
	set_origin(val, origin);
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(part)) {
			tnode_free(val);
			return cim_err_set(err,
					   "%s: '%s' is not a key path; write it as "
					   "part.key=value, e.g. workload.batch=16",
					   origin, key);
		}
		memcpy(part, p, n);
		part[n] = 0;
		struct tnode *next = tnode_get(map, part);
		if (!dot) {
			if (next) {
				tnode_replace(map, part, val);
				return 0;
			}
			char *kc = strdup(part);
			if (!kc || node_push(map, kc, 0, val)) {
				free(kc);
				tnode_free(val);
				return cim_err_set(err, "%s: out of memory", origin);
			}
			return 0;
		}
		if (!next) {
			char *kc = strdup(part);
			next = node_new(TN_MAP, origin, 0);
			if (!kc || !next || node_push(map, kc, 0, next)) {
				free(kc);
				free(next);
				tnode_free(val);
				return cim_err_set(err, "%s: out of memory", origin);
			}
		} else if (next->kind != TN_MAP) {
			char what[64];
			tnode_free(val);
			return cim_err_set(err,
					   "%s: '%.*s' is %s (%s:%u), not a mapping, so it has "
					   "no key '%s'",
					   origin, (int)(dot - key), key,
					   tnode_describe(next, what, sizeof(what)), next->file,
					   next->line, dot + 1);
		}
		map = next;
		p = dot + 1;
	}
}

const char *tnode_describe(const struct tnode *node, char *buf, size_t size)
{
	switch (node->kind) {
	case TN_NULL:
		snprintf(buf, size, "null (no value)");
		break;
	case TN_MAP:
		snprintf(buf, size, "a mapping");
		break;
	case TN_SEQ:
		snprintf(buf, size, "a list");
		break;
	case TN_SCALAR:
		if (strlen(node->scalar) > 40)
			snprintf(buf, size, "%s\"%.37s...\"", node->quoted ? "the string " : "",
				 node->scalar);
		else
			snprintf(buf, size, "%s\"%s\"", node->quoted ? "the string " : "",
				 node->scalar);
		break;
	}
	return buf;
}

/* Appends text to buf at *at; false when it does not fit. */
static bool emit_raw(char *buf, size_t size, size_t *at, const char *text)
{
	size_t n = strlen(text);

	if (*at + n >= size)
		return false;
	memcpy(buf + *at, text, n + 1);
	*at += n;
	return true;
}

static bool emit(const struct tnode *node, char *buf, size_t size, size_t *at)
{
	switch (node->kind) {
	case TN_NULL:
		return emit_raw(buf, size, at, "null");
	case TN_SCALAR:
		if (!node->quoted)
			return emit_raw(buf, size, at, node->scalar);
		if (!emit_raw(buf, size, at, "\""))
			return false;
		for (const char *c = node->scalar; *c; c++) {
			char one[3] = { *c, 0, 0 };
			if (*c == '"' || *c == '\\') {
				one[0] = '\\';
				one[1] = *c;
			}
			if (!emit_raw(buf, size, at, one))
				return false;
		}
		return emit_raw(buf, size, at, "\"");
	case TN_SEQ:
	case TN_MAP:
		if (!emit_raw(buf, size, at, node->kind == TN_SEQ ? "[" : "{"))
			return false;
		for (size_t i = 0; i < node->n; i++) {
			if (i && !emit_raw(buf, size, at, ", "))
				return false;
			if (node->kind == TN_MAP && (!emit_raw(buf, size, at, node->keys[i]) ||
						     !emit_raw(buf, size, at, ": ")))
				return false;
			if (!emit(node->vals[i], buf, size, at))
				return false;
		}
		return emit_raw(buf, size, at, node->kind == TN_SEQ ? "]" : "}");
	}
	return false;
}

bool tnode_emit(const struct tnode *node, char *buf, size_t size)
{
	size_t at = 0;

	if (size)
		buf[0] = 0;
	return size && emit(node, buf, size, &at);
}
