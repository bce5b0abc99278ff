/*
 * tree.c — YAML and JSON text to a tree of nodes that remember their file
 * and line, with libyaml's document loader.
 *
 * It refuses what the field readers cannot judge later: empty files, text
 * that is not YAML (binary garbage, bad indentation), duplicate keys,
 * non-scalar keys, documents nested deeper than MAX_DEPTH.  It does not
 * interpret scalars: schema.c does, strictly.
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

/* Appends (key, val) to a mapping or val to a list. */
static int node_push(struct tnode *n, char *key, unsigned key_line, struct tnode *val)
{
	struct tnode **vals = realloc(n->vals, (n->n + 1) * sizeof(*vals));

	if (!vals)
		return -1;
	n->vals = vals;
	if (n->kind == TN_MAP) {
		char **keys = realloc(n->keys, (n->n + 1) * sizeof(*keys));
		if (!keys)
			return -1;
		n->keys = keys;
		unsigned *lines = realloc(n->key_lines, (n->n + 1) * sizeof(*lines));
		if (!lines)
			return -1;
		n->key_lines = lines;
		keys[n->n] = key;
		lines[n->n] = key_line;
	}
	vals[n->n++] = val;
	return 0;
}

static bool plain_null(const yaml_node_t *y)
{
	const char *v = (const char *)y->data.scalar.value;

	if (y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

static struct tnode *convert(yaml_document_t *doc, yaml_node_t *y, const char *file, int depth,
			     struct cim_err *err)
{
	unsigned line = (unsigned)y->start_mark.line + 1;
	struct tnode *n;

	if (depth > MAX_DEPTH) {
		cim_err_set(err, "%s:%u: nested deeper than %d levels; flatten the file", file,
			    line, MAX_DEPTH);
		return NULL;
	}
	switch (y->type) {
	case YAML_SCALAR_NODE:
		if (plain_null(y))
			return node_new(TN_NULL, file, line);
		n = node_new(TN_SCALAR, file, line);
		if (!n || !(n->scalar = strdup((const char *)y->data.scalar.value)))
			goto err_nomem;
		n->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		return n;
	case YAML_SEQUENCE_NODE:
		n = node_new(TN_SEQ, file, line);
		if (!n)
			goto err_nomem;
		for (yaml_node_item_t *it = y->data.sequence.items.start;
		     it < y->data.sequence.items.top; it++) {
			struct tnode *c =
			    convert(doc, yaml_document_get_node(doc, *it), file, depth + 1, err);
			if (!c || node_push(n, NULL, 0, c)) {
				tnode_free(c);
				goto err_free;
			}
		}
		return n;
	case YAML_MAPPING_NODE:
		n = node_new(TN_MAP, file, line);
		if (!n)
			goto err_nomem;
		for (yaml_node_pair_t *p = y->data.mapping.pairs.start;
		     p < y->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			unsigned kl = (unsigned)k->start_mark.line + 1;
			if (k->type != YAML_SCALAR_NODE) {
				cim_err_set(err, "%s:%u: a key must be a plain word, found %s",
					    file, kl,
					    k->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
				goto err_free;
			}
			const char *key = (const char *)k->data.scalar.value;
			if (tnode_get(n, key)) {
				cim_err_set(err, "%s:%u: key '%s' is given twice; keep one", file,
					    kl, key);
				goto err_free;
			}
			char *kc = strdup(key);
			struct tnode *c = kc ? convert(doc, yaml_document_get_node(doc, p->value),
						       file, depth + 1, err)
					     : NULL;
			if (!c || node_push(n, kc, kl, c)) {
				free(kc);
				tnode_free(c);
				if (!kc)
					goto err_nomem;
				goto err_free;
			}
		}
		return n;
	default:
		cim_err_set(err, "%s:%u: empty node", file, line);
		return NULL;
	}
err_nomem:
	cim_err_set(err, "%s: out of memory", file);
	return NULL;
err_free:
	if (!err->msg[0])
		cim_err_set(err, "%s: out of memory", file);
	tnode_free(n);
	return NULL;
}

/* Parses one YAML document into a tree of any kind of root. */
static int parse_any(const char *file, const char *text, size_t len, struct tnode **root_p,
		     struct cim_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct tnode *root = NULL;
	int rc = -1;

	err->msg[0] = 0;
	if (!yaml_parser_initialize(&parser))
		return cim_err_set(err, "%s: out of memory", file);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		cim_err_set(err,
			    "%s:%zu: not valid YAML or JSON: %s%s%s; check the file is text "
			    "in YAML or JSON form",
			    file, parser.problem_mark.line + 1,
			    parser.problem ? parser.problem : "unreadable text",
			    parser.context ? " " : "", parser.context ? parser.context : "");
		goto err_parser;
	}
	yaml_node_t *top = yaml_document_get_root_node(&doc);
	if (!top) {
		cim_err_set(err, "%s: the file is empty; expected a mapping of keys", file);
		goto err_doc;
	}
	root = convert(&doc, top, file, 0, err);
	if (root) {
		*root_p = root;
		rc = 0;
	}
err_doc:
	yaml_document_delete(&doc);
err_parser:
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
