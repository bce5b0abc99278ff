/*
 * coord.h — what the coordinator does across ranks: reading the experiment
 * on rank 0 and handing the same bytes to every rank.
 */
#ifndef CIM_COORDINATOR_COORD_H
#define CIM_COORDINATOR_COORD_H

#include <mpi.h>

#include "spec.h"

/*
 * Rank 0 reads the experiment at path and every file it names, checks it,
 * and broadcasts the files' bytes; every rank then parses those bytes.  On
 * success every rank gets *exp_p (free() it) and 0.  When the experiment is
 * invalid, rank 0 prints the message and every rank returns CIM_EXIT_INPUT,
 * so the job ends cleanly with one message.  A failure on any other rank
 * (which would mean the ranks disagree) aborts the job with that rank's
 * message.  Collective over comm.
 */
int cim_coord_load(MPI_Comm comm, const char *path, const char *const *sets, size_t nsets,
		   struct cim_experiment **exp_p);

#endif /* CIM_COORDINATOR_COORD_H */
