/*
 * json.h — a small streaming JSON writer for reports (--json).
 *
 * It tracks nesting and commas so callers write keys and values in order.
 * Doubles are written with 17 significant digits (round-trip exact);
 * non-finite ones as null.  Not a parser.
 */
#ifndef CIM_COORDINATOR_JSON_H
#define CIM_COORDINATOR_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_w {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
};

/* key is NULL inside arrays and at the top level. */
void json_begin(struct json_w *w, FILE *f); /* starts the top-level object */
void json_end(struct json_w *w);	    /* ends it, with a newline */
void json_obj(struct json_w *w, const char *key);
void json_obj_end(struct json_w *w);
void json_arr(struct json_w *w, const char *key);
void json_arr_end(struct json_w *w);
void json_str(struct json_w *w, const char *key, const char *v);
void json_u64(struct json_w *w, const char *key, uint64_t v);
void json_i64(struct json_w *w, const char *key, int64_t v);
void json_f64(struct json_w *w, const char *key, double v);
void json_bool(struct json_w *w, const char *key, bool v);
/* A value already written as JSON text (another writer's document), indented
 * to fit. */
void json_raw(struct json_w *w, const char *key, const char *v);

#endif /* CIM_COORDINATOR_JSON_H */
