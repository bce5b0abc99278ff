/*
 * json_mini.h — a strict little JSON parser for the trace tests: it
 * accepts exactly RFC 8259 JSON (no trailing commas, no NaN, no bare
 * control characters, valid escapes and UTF-8) and builds a tree, keeping
 * each number's text so timestamps can be compared exactly.  Not for
 * production: recursion depth is bounded, everything is malloc'd.
 */
#ifndef CIM_TESTS_TRACES_JSON_MINI_H
#define CIM_TESTS_TRACES_JSON_MINI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	bool b;
	char *s;  /* string value, or a number's text */
	size_t n; /* items of an array or object */
	struct jval *items;
	char **keys; /* object keys */
};

struct jparser {
	const char *p, *end;
	char err[96];
	int depth;
};

static inline void jfree(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static inline bool jfail(struct jparser *j, const char *what)
{
	if (!j->err[0])
		snprintf(j->err, sizeof(j->err), "%s", what);
	return false;
}

static inline void jws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static inline bool jlit(struct jparser *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return jfail(j, "bad literal");
	j->p += n;
	return true;
}

static inline int jhex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static inline bool jhex4(struct jparser *j, unsigned *out)
{
	unsigned v = 0;
	if (j->end - j->p < 4)
		return jfail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = jhex(j->p[i]);
		if (h < 0)
			return jfail(j, "bad \\u escape");
		v = v * 16 + (unsigned)h;
	}
	j->p += 4;
	*out = v;
	return true;
}

static inline size_t jutf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static inline bool jstring(struct jparser *j, char **out)
{
	if (j->p >= j->end || *j->p != '"')
		return jfail(j, "expected a string");
	j->p++;
	char *buf = malloc((size_t)(j->end - j->p) + 1);
	size_t n = 0;
	if (!buf)
		return jfail(j, "out of memory");
	for (;;) {
		if (j->p >= j->end) {
			free(buf);
			return jfail(j, "unterminated string");
		}
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) {
			free(buf);
			return jfail(j, "control character in string");
		}
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end) {
				free(buf);
				return jfail(j, "bad escape");
			}
			char e = *j->p++;
			unsigned cp;
			switch (e) {
			case '"':
				buf[n++] = '"';
				break;
			case '\\':
				buf[n++] = '\\';
				break;
			case '/':
				buf[n++] = '/';
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				if (!jhex4(j, &cp)) {
					free(buf);
					return false;
				}
				if (cp >= 0xd800 && cp < 0xdc00) {
					unsigned lo;
					if (j->end - j->p < 6 || j->p[0] != '\\' ||
					    j->p[1] != 'u') {
						free(buf);
						return jfail(j, "lone surrogate");
					}
					j->p += 2;
					if (!jhex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff) {
						free(buf);
						return jfail(j, "bad surrogate pair");
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp < 0xe000) {
					free(buf);
					return jfail(j, "lone surrogate");
				}
				n += jutf8(buf + n, cp);
				break;
			default:
				free(buf);
				return jfail(j, "bad escape");
			}
			continue;
		}
		/* raw UTF-8: check the sequence */
		size_t len = c < 0x80		  ? 1
			     : (c & 0xe0) == 0xc0 ? 2
			     : (c & 0xf0) == 0xe0 ? 3
			     : (c & 0xf8) == 0xf0 ? 4
						  : 0;
		if (!len || (size_t)(j->end - j->p) < len || (len == 2 && c < 0xc2)) {
			free(buf);
			return jfail(j, "invalid UTF-8");
		}
		for (size_t i = 1; i < len; i++)
			if (((unsigned char)j->p[i] & 0xc0) != 0x80) {
				free(buf);
				return jfail(j, "invalid UTF-8");
			}
		memcpy(buf + n, j->p, len);
		n += len;
		j->p += len;
	}
	buf[n] = '\0';
	*out = buf;
	return true;
}

static inline bool jnumber(struct jparser *j, struct jval *v)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return jfail(j, "bad number");
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return jfail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jfail(j, "bad fraction");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return jfail(j, "bad exponent");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	v->t = J_NUM;
	v->s = malloc((size_t)(j->p - s) + 1);
	if (!v->s)
		return jfail(j, "out of memory");
	memcpy(v->s, s, (size_t)(j->p - s));
	v->s[j->p - s] = '\0';
	return true;
}

static inline bool jvalue(struct jparser *j, struct jval *v);

static inline bool jpush(struct jval *v, size_t *cap, char *key)
{
	if (v->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 8;
		struct jval *it = realloc(v->items, nc * sizeof(*it));
		if (!it)
			return false;
		v->items = it;
		if (v->t == J_OBJ) {
			char **k = realloc(v->keys, nc * sizeof(*k));
			if (!k)
				return false;
			v->keys = k;
		}
		*cap = nc;
	}
	memset(&v->items[v->n], 0, sizeof(v->items[0]));
	if (v->t == J_OBJ)
		v->keys[v->n] = key;
	v->n++;
	return true;
}

static inline bool jcontainer(struct jparser *j, struct jval *v, char close)
{
	size_t cap = 0;
	j->p++;
	if (++j->depth > 64)
		return jfail(j, "too deep");
	jws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		char *key = NULL;
		jws(j);
		if (v->t == J_OBJ) {
			if (!jstring(j, &key))
				return false;
			jws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return jfail(j, "expected ':'");
			}
			j->p++;
		}
		if (!jpush(v, &cap, key)) {
			free(key);
			return jfail(j, "out of memory");
		}
		if (!jvalue(j, &v->items[v->n - 1]))
			return false;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return jfail(j, "expected ',' or a closing bracket");
	}
}

static inline bool jvalue(struct jparser *j, struct jval *v)
{
	jws(j);
	if (j->p >= j->end)
		return jfail(j, "expected a value");
	switch (*j->p) {
	case '{':
		v->t = J_OBJ;
		return jcontainer(j, v, '}');
	case '[':
		v->t = J_ARR;
		return jcontainer(j, v, ']');
	case '"':
		v->t = J_STR;
		return jstring(j, &v->s);
	case 't':
		v->t = J_BOOL;
		v->b = true;
		return jlit(j, "true");
	case 'f':
		v->t = J_BOOL;
		return jlit(j, "false");
	case 'n':
		v->t = J_NULL;
		return jlit(j, "null");
	default:
		return jnumber(j, v);
	}
}

/* Parses text[0..len) as one JSON document; on failure returns false with
 * the reason in err and *out freed. */
static inline bool json_parse(const char *text, size_t len, struct jval *out, char err[160])
{
	struct jparser j = { .p = text, .end = text + len };

	memset(out, 0, sizeof(*out));
	bool ok = jvalue(&j, out);
	if (ok) {
		jws(&j);
		if (j.p != j.end)
			ok = jfail(&j, "text after the document");
	}
	if (!ok) {
		snprintf(err, 160, "%s (offset %ld)", j.err[0] ? j.err : "invalid",
			 (long)(j.p - text));
		jfree(out);
	}
	return ok;
}

/* The member key of an object, or NULL. */
static inline const struct jval *jget(const struct jval *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0)
			return &o->items[i];
	return NULL;
}

/* A string member, or "". */
static inline const char *jgets(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_STR ? v->s : "";
}

/* A number member's text as an unsigned integer, or -1. */
static inline long long jgetll(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_NUM ? atoll(v->s) : -1;
}

/* A "%llu.%06llu" microsecond value as picoseconds, or -1 when it is not
 * in that form. */
static inline long long jps(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	const char *dot;
	if (!v || v->t != J_NUM || !(dot = strchr(v->s, '.')) || strlen(dot + 1) != 6)
		return -1;
	return atoll(v->s) * 1000000 + atoll(dot + 1);
}

#endif /* CIM_TESTS_TRACES_JSON_MINI_H */
