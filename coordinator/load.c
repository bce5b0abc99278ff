/*
 * load.c — what rank 0 has and every rank needs, sent once as bytes: the
 * experiment's files (read on rank 0 only), and a plan (packed with
 * partitioner/pack.c).  It does not read or check the contents: spec/ and
 * partitioner/ do.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "coord.h"

/* MPI counts are ints: larger buffers go in pieces of this many bytes. */
#define CHUNK ((size_t)1 << 30)

int cim_coord_bcast_bytes(MPI_Comm comm, bool ok, char **buf_p, size_t *len_p, const char *what)
{
	/* [0] whether rank 0 has the bytes, [1] how many */
	unsigned long long head[2] = { 0, 0 };
	char *buf;
	int rank;

	MPI_Comm_rank(comm, &rank);
	if (rank == 0 && ok) {
		head[0] = 1;
		head[1] = *len_p;
	}
	MPI_Bcast(head, 2, MPI_UNSIGNED_LONG_LONG, 0, comm);
	if (!head[0])
		return -1;
	buf = rank == 0 ? *buf_p : malloc(head[1] ? head[1] : 1);
	if (!buf) {
		fprintf(stderr, "cimsim: rank %d: out of memory for %s\n", rank, what);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (size_t off = 0; off < head[1]; off += CHUNK) {
		size_t n = head[1] - off < CHUNK ? head[1] - off : CHUNK;
		MPI_Bcast(buf + off, (int)n, MPI_BYTE, 0, comm);
	}
	if (rank != 0) {
		*buf_p = buf;
		*len_p = head[1];
	}
	return 0;
}

int cim_coord_bcast_plan(MPI_Comm comm, struct cim_part_plan **plan_p)
{
	struct cim_err err;
	char *buf = NULL;
	size_t len = 0;
	int rank;

	MPI_Comm_rank(comm, &rank);
	if (rank == 0 && *plan_p && cim_part_pack(*plan_p, &buf, &len, &err) < 0) {
		fprintf(stderr, "cimsim: rank 0: %s\n", err.msg);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	if (cim_coord_bcast_bytes(comm, rank == 0 && *plan_p, &buf, &len, "the plan") < 0)
		return -1;
	if (rank != 0 && cim_part_unpack(buf, len, plan_p, &err) < 0) {
		fprintf(stderr, "cimsim: rank %d: %s\n", rank, err.msg);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	free(buf);
	return 0;
}

int cim_coord_load(MPI_Comm comm, const char *path, const char *const *sets, size_t nsets,
		   struct cim_experiment **exp_p)
{
	struct cim_experiment *e = NULL;
	struct cim_files *files = NULL;
	struct cim_err err = { { 0 } };
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;
	int rank;

	MPI_Comm_rank(comm, &rank);
	if (rank == 0) {
		files = cim_files_create(true);
		ok = files && cim_spec_load_experiment(files, path, sets, nsets, &e, &err) == 0 &&
		     cim_files_pack(files, &buf, &len, &err) == 0;
		if (!files)
			cim_err_set(&err, "out of memory");
		cim_files_destroy(files);
		files = NULL;
	}
	if (cim_coord_bcast_bytes(comm, ok, &buf, &len, "the input files") < 0) {
		if (rank == 0)
			cim_cli_error("%s", err.msg);
		free(e);
		return CIM_EXIT_INPUT;
	}
	if (rank != 0) {
		if (cim_files_unpack(buf, len, &files, &err) ||
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
