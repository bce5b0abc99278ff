/*
 * load.c — the experiment read once, on rank 0, and broadcast as bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "coord.h"

int cim_coord_load(MPI_Comm comm, const char *path, const char *const *sets, size_t nsets,
		   struct cim_experiment **exp_p)
{
	struct cim_experiment *e = NULL;
	struct cim_files *files = NULL;
	struct cim_err err = {{0}};
	char *buf = NULL;
	size_t len = 0;
	/* [0] status of rank 0's load, [1] bytes of the packed files */
	unsigned long long head[2] = { 0, 0 };
	int rank;

	MPI_Comm_rank(comm, &rank);
	if (rank == 0) {
		files = cim_files_create(true);
		if (files && cim_spec_load_experiment(files, path, sets, nsets, &e, &err) == 0 &&
		    cim_files_pack(files, &buf, &len, &err) == 0)
			head[1] = len;
		else
			head[0] = 1;
		if (!files)
			cim_err_set(&err, "out of memory");
		cim_files_destroy(files);
		files = NULL;
	}
	MPI_Bcast(head, 2, MPI_UNSIGNED_LONG_LONG, 0, comm);
	if (head[0]) {
		if (rank == 0)
			cim_cli_error("%s", err.msg);
		free(e);
		return CIM_EXIT_INPUT;
	}
	if (rank != 0 && !(buf = malloc(head[1] ? head[1] : 1))) {
		fprintf(stderr, "cimsim: rank %d: out of memory for the input files\n", rank);
		MPI_Abort(comm, 1);
	}
	/* Large inputs go in chunks below MPI's int count limit. */
	for (unsigned long long off = 0; off < head[1]; off += 1u << 30) {
		unsigned long long n = head[1] - off < (1u << 30) ? head[1] - off : 1u << 30;
		MPI_Bcast(buf + off, (int)n, MPI_BYTE, 0, comm);
	}
	if (rank != 0) {
		if (cim_files_unpack(buf, head[1], &files, &err) ||
		    cim_spec_load_experiment(files, path, sets, nsets, &e, &err)) {
			fprintf(stderr, "cimsim: rank %d: %s\n", rank, err.msg);
			MPI_Abort(comm, 1);
		}
		cim_files_destroy(files);
	}
	free(buf);
	*exp_p = e;
	return 0;
}
