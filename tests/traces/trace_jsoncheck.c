/*
 * trace_jsoncheck.c — checks that a file is one valid JSON document with a
 * traceEvents array (what `cimsim trace export` writes), without Python.
 * Usage: trace_jsoncheck FILE; prints the number of events.
 */
#include "files.h"
#include "json_mini.h"

int main(int argc, char **argv)
{
	struct jval doc;
	char err[160];
	size_t n;
	unsigned char *b;

	if (argc != 2 || !(b = tf_read(argv[1], &n))) {
		fprintf(stderr, "usage: trace_jsoncheck FILE (readable)\n");
		return 2;
	}
	if (!json_parse((const char *)b, n, &doc, err)) {
		fprintf(stderr, "%s: invalid JSON: %s\n", argv[1], err);
		return 1;
	}
	const struct jval *ev = jget(&doc, "traceEvents");
	if (!ev || ev->t != J_ARR) {
		fprintf(stderr, "%s: no traceEvents array\n", argv[1]);
		return 1;
	}
	printf("%s: valid JSON, %zu trace events\n", argv[1], ev->n);
	jfree(&doc);
	free(b);
	return 0;
}
