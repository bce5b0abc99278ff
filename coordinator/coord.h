/*
 * coord.h — what the coordinator does across ranks: reading the experiment
 * on rank 0 and handing the same bytes (files, plans) to every rank.
 */
#ifndef CIM_COORDINATOR_COORD_H
#define CIM_COORDINATOR_COORD_H

#include <mpi.h>

#include "results.h"
#include "spec.h"

struct cim_trace_writer;

/*
 * Hands rank 0's *len_p bytes at *buf_p to every member of comm.  On rank 0,
 * ok says whether it has them: when it has not, every member returns -1 and
 * nothing more is sent, so that all can end together with rank 0's
 * message.  Otherwise every other member gets *buf_p, a malloc'd copy it
 * frees (not NULL, even for no bytes), and *len_p, and every member
 * returns 0; rank 0's buffer stays its own.  ok is read on rank 0 only;
 * what names the bytes in the message when a member has no memory for
 * them, which aborts the job.  Collective over comm.
 */
int cim_coord_bcast_bytes(MPI_Comm comm, bool ok, char **buf_p, size_t *len_p, const char *what);

/*
 * Hands comm's rank 0 plan *plan_p to every member of comm, packed
 * (partitioner/pack.c).  A NULL *plan_p on rank 0 means it has none: every
 * member then returns -1, and the members can refuse together with rank
 * 0's message.  Otherwise the other members get their own copy in *plan_p
 * (free with cim_part_plan_destroy; what was there is not read) and every
 * member returns 0.  A plan that cannot be packed or unpacked aborts the
 * job.  Collective over comm.
 */
int cim_coord_bcast_plan(MPI_Comm comm, struct cim_part_plan **plan_p);

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

/*
 * Runs plan on comm, whose size must be plan->chips / chips_per_rank: every
 * member simulates its chip, or with chips_per_rank > 1 its TP group's
 * (exec/exec.h), writing chip j's trace to tw[j] when tw and tw[j] are not
 * NULL.  The
 * run stops cleanly on SIGINT or SIGTERM (signals.h), traced or not.
 * comm's rank 0 then holds the results in *r (free with cim_results_free),
 * with the ranks, wall time, CPU time, peak memory and the analytical
 * estimate filled in; the other members leave *r alone.  Returns -1 on
 * rank 0, with err, when the results cannot be made.  An error in the run
 * itself ends the whole job with the failing rank's message (MPI_Abort on
 * MPI_COMM_WORLD).  Collective over comm.
 */
int cim_coord_simulate(MPI_Comm comm, const struct cim_experiment *e,
		       const struct cim_part_plan *plan, const struct cim_net *net,
		       uint32_t chips_per_rank, struct cim_trace_writer *const *tw,
		       struct cim_results *r, struct cim_err *err);

#endif /* CIM_COORDINATOR_COORD_H */
