/*
 * exec_int.h — what the executor's files share among themselves: the
 * built-in statistics probe.
 */
#ifndef CIM_EXEC_EXEC_INT_H
#define CIM_EXEC_EXEC_INT_H

#include "calendar.h"
#include "exec.h"

/* The statistics probe's state: the totals, and the union of every step's
 * interval (active time). */
struct exec_stats {
	struct cim_exec_stats st;
	struct cim_exec_cal any;
	bool out_of_memory; /* a calendar could not grow */
};

/* A probe table whose ctx is a struct exec_stats. */
extern const struct cim_exec_probe exec_stats_probe;

void exec_stats_free(struct exec_stats *s);
/* The totals once the run is over. */
void exec_stats_finish(struct exec_stats *s, struct cim_exec_stats *out);
/* Nonzero when the probe ran out of memory for its calendar. */
int exec_stats_failed(const struct exec_stats *s);

#endif /* CIM_EXEC_EXEC_INT_H */
