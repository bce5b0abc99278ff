/*
 * json.c — the streaming JSON writer of json.h.
 */
#include "json.h"

#include <math.h>

static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void member(struct json_w *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	fprintf(w->f, "\n%*s", 2 * w->depth, "");
	if (key) {
		quoted(w->f, key);
		fputs(": ", w->f);
	}
}

static void open_nest(struct json_w *w, const char *key, char c)
{
	member(w, key);
	fputc(c, w->f);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_nest(struct json_w *w, char c)
{
	bool empty = w->first[w->depth];
	if (w->depth > 0)
		w->depth--;
	if (!empty)
		fprintf(w->f, "\n%*s", 2 * w->depth, "");
	fputc(c, w->f);
}

void json_begin(struct json_w *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	fputc('{', f);
	w->first[0] = true;
	w->depth = 1;
	w->first[1] = true;
}

void json_end(struct json_w *w)
{
	close_nest(w, '}');
	fputc('\n', w->f);
}

void json_obj(struct json_w *w, const char *key)
{
	open_nest(w, key, '{');
}
void json_obj_end(struct json_w *w)
{
	close_nest(w, '}');
}
void json_arr(struct json_w *w, const char *key)
{
	open_nest(w, key, '[');
}
void json_arr_end(struct json_w *w)
{
	close_nest(w, ']');
}

void json_str(struct json_w *w, const char *key, const char *v)
{
	member(w, key);
	quoted(w->f, v ? v : "");
}

void json_u64(struct json_w *w, const char *key, uint64_t v)
{
	member(w, key);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json_w *w, const char *key, int64_t v)
{
	member(w, key);
	fprintf(w->f, "%lld", (long long)v);
}

void json_f64(struct json_w *w, const char *key, double v)
{
	member(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.17g", v);
	else
		fputs("null", w->f);
}

void json_bool(struct json_w *w, const char *key, bool v)
{
	member(w, key);
	fputs(v ? "true" : "false", w->f);
}

void json_raw(struct json_w *w, const char *key, const char *v)
{
	member(w, key);
	for (const char *p = v; *p; p++) {
		if (*p == '\n' && !p[1])
			break; /* the value's own final newline */
		fputc(*p, w->f);
		if (*p == '\n')
			fprintf(w->f, "%*s", 2 * w->depth, "");
	}
}
