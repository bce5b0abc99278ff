/*
 * csv.c — one CSV field, quoted as RFC 4180 asks, for every part that
 * writes CSV (the sweep, the trace summary).  It does not write rows or
 * numbers: the callers lay out their own columns.
 */
#include <string.h>

#include "spec.h"

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
