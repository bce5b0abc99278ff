/*
 * err.c — filling the user-facing error message.
 */
#include <stdarg.h>
#include <stdio.h>

#include "spec.h"

int cim_err_set(struct cim_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
