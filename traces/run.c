/*
 * run.c — a run's trace directory: which rank-NNNNN.cimtrace files it
 * holds, and whether they belong together (one run, names matching the
 * ranks inside).  Shared by the export and the summary.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

/* rank-NNNNN.cimtrace with at least five digits, written as %05u writes
 * them; returns false for any other name. */
static bool trace_name(const char *name, uint32_t *rank)
{
	static const char pre[] = "rank-", suf[] = ".cimtrace";
	size_t n = strlen(name), digits;
	uint64_t v = 0;
	char again[32];

	if (n < sizeof(pre) - 1 + 5 + sizeof(suf) - 1 || strncmp(name, pre, sizeof(pre) - 1) ||
	    strcmp(name + n - (sizeof(suf) - 1), suf))
		return false;
	digits = n - (sizeof(pre) - 1) - (sizeof(suf) - 1);
	if (digits > 10)
		return false;
	for (size_t i = 0; i < digits; i++) {
		char c = name[sizeof(pre) - 1 + i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (v > UINT32_MAX)
		return false;
	snprintf(again, sizeof(again), "rank-%05u.cimtrace", (uint32_t)v);
	if (strcmp(again, name) != 0)
		return false;
	*rank = (uint32_t)v;
	return true;
}

static int by_rank(const void *a, const void *b)
{
	const struct trace_run_file *x = a, *y = b;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

int trace_run_list(const char *dir, struct trace_run *run, struct cim_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	memset(run, 0, sizeof(*run));
	if (!d)
		return cim_err_set(err, "%s: cannot read the trace directory: %s", dir,
				   strerror(errno));
	while ((e = readdir(d)) != NULL) {
		uint32_t rank;

		if (!trace_name(e->d_name, &rank))
			continue;
		if (run->n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct trace_run_file *v = realloc(run->v, nc * sizeof(*v));
			if (!v)
				goto err_oom;
			run->v = v;
			cap = nc;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *path = malloc(len);
		if (!path)
			goto err_oom;
		snprintf(path, len, "%s/%s", dir, e->d_name);
		run->v[run->n].rank = rank;
		run->v[run->n].path = path;
		run->n++;
	}
	closedir(d);
	if (run->n == 0)
		return cim_err_set(err,
				   "%s: no trace files (rank-NNNNN.cimtrace) in this "
				   "directory",
				   dir);
	qsort(run->v, run->n, sizeof(*run->v), by_rank);
	return 0;
err_oom:
	closedir(d);
	trace_run_free(run);
	return cim_err_set(err, "%s: out of memory", dir);
}

void trace_run_free(struct trace_run *run)
{
	for (size_t i = 0; i < run->n; i++)
		free(run->v[i].path);
	free(run->v);
	memset(run, 0, sizeof(*run));
}

int trace_run_check(const struct trace_run_file *file, const struct cim_trace_info *info,
		    const struct cim_trace_info *first, const char *first_path, struct cim_err *err)
{
	if (info->rank != file->rank)
		return cim_err_set(err,
				   "%s: holds the trace of rank %u, not %u (a renamed "
				   "file?)",
				   file->path, info->rank, file->rank);
	if (info->run_id != first->run_id || info->nranks != first->nranks)
		return cim_err_set(err,
				   "%s: from another run than %s (run %llu of %u ranks, "
				   "not run %llu of %u ranks); remove the stale files or "
				   "use a fresh directory",
				   file->path, first_path, (unsigned long long)info->run_id,
				   info->nranks, (unsigned long long)first->run_id, first->nranks);
	if (info->nranks && info->rank >= info->nranks)
		return cim_err_set(err, "%s: rank %u in a run of %u ranks", file->path, info->rank,
				   info->nranks);
	return 0;
}
