/*
 * csv.c — one CSV field, quoted as RFC 4180 asks, for every part that
 * writes CSV (the sweep, the trace summary), and a line split into its
 * fields for every part that reads CSV (request traces, routing traces).
 * It does not write rows or numbers: the callers lay out their own columns.
 */
#include <string.h>

#include "schema.h"

void cim_csv_field(FILE *f, const char *text)
{
	if (!strpbrk(text, ",\"\r\n")) {
		fputs(text, f);
		return;
	}
	fputc('"', f);
	for (const char *c = text; *c; c++) {
		if (*c == '"')
			fputc('"', f);
		fputc(*c, f);
	}
	fputc('"', f);
}

/* Splits line (no newline) at commas into at most n fields, trimmed of
 * spaces and of one pair of double quotes; returns the count. */
size_t spec_csv_split(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *p = line;

	while (k < n) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		char *e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		if (e - p >= 2 && *p == '"' && e[-1] == '"') {
			e[-1] = 0;
			p++;
		}
		f[k++] = p;
		if (!c)
			break;
		p = c + 1;
	}
	return k;
}
