/*
 * simulate.c — one plan run on one communicator, its statistics gathered
 * on the communicator's rank 0 and folded into results.
 *
 * `run` calls it on MPI_COMM_WORLD; `sweep` on the sub-communicator of each
 * point.  It does not read input nor print: the commands do.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "coord.h"
#include "signals.h"
#include "traces.h"

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e-6;
}

/* This process's peak resident memory, MiB. */
static double peak_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/*
 * The deliberate failure tests ask for: CIMSIM_FAULT=KIND:RANK:STEP with
 * KIND kv (the KV memory is full from pass step STEP on) or msg (the
 * message of step STEP is wrong).  Unset: none.  A value of another form is
 * refused, never ignored.
 */
static int read_fault(struct cim_exec_fault *out, struct cim_err *err)
{
	const char *f = getenv("CIMSIM_FAULT");
	char kind[8], extra;
	unsigned rank, step;

	*out = (struct cim_exec_fault){ .kind = CIM_FAULT_NONE };
	if (!f || !*f)
		return 0;
	if (sscanf(f, "%7[a-z]:%u:%u%c", kind, &rank, &step, &extra) != 3 ||
	    (strcmp(kind, "kv") != 0 && strcmp(kind, "msg") != 0))
		return cim_err_set(err,
				   "CIMSIM_FAULT='%s': expected KIND:RANK:STEP with KIND kv or "
				   "msg (a test hook; unset it for a normal run)",
				   f);
	out->kind = strcmp(kind, "kv") == 0 ? CIM_FAULT_KV : CIM_FAULT_MSG;
	out->rank = rank;
	out->step = step;
	return 0;
}

/*
 * A stopped run's ranks leave together: each, its trace saved, enters a
 * barrier and ends when every rank has (or after 1.5 s, for a rank stuck
 * where it cannot hear).  A rank that ended while a peer was still saving
 * could make that peer's pending transfers fail, and Open MPI ends a process
 * whose transfer fails before it has saved anything.
 */
static void leave_together(MPI_Comm end_comm)
{
	MPI_Request req;
	int done = 0;
	double t0 = MPI_Wtime();

	MPI_Ibarrier(end_comm, &req);
	while (!done && MPI_Wtime() - t0 < 1.5)
		MPI_Test(&req, &done, MPI_STATUS_IGNORE);
}

/* Ends the whole job from inside a run: no rank may wait for this one. */
static void abort_job(int rank, const char *msg)
{
	fprintf(stderr, "cimsim: rank %d: %s\n", rank, msg);
	fflush(stderr);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

/* The experts' load of a static batch, and what routing them unevenly
 * costs: the estimate of the same plan with even routing beside the run's
 * (docs/results.md). */
static int experts(const struct cim_experiment *e, const struct cim_part_plan *plan,
		   const struct cim_net *net, struct cim_results *r, struct cim_err *err)
{
	if (e->model.experts <= 1 || e->serving.on)
		return 0;
	if (cim_part_expert_report(e, plan, &r->experts) < 0)
		return cim_err_set(err, "out of memory for the experts' load");
	if (e->workload.routing == CIM_ROUTE_EVEN)
		return 0;
	const size_t bytes = cim_spec_experiment_bytes(e);
	struct cim_experiment *even = malloc(bytes);
	if (!even)
		return cim_err_set(err, "out of memory for the experts' load");
	memcpy(even, e, bytes); /* with the rows stored after it */
	even->workload.routing = CIM_ROUTE_EVEN;
	int rc = cim_part_estimate(even, plan, net, &r->est_even, err);
	free(even);
	r->has_even = rc == 0;
	return rc;
}

int cim_coord_simulate(MPI_Comm comm, const struct cim_experiment *e,
		       const struct cim_part_plan *plan, const struct cim_net *net,
		       uint32_t chips_per_rank, struct cim_trace_writer *const *tw,
		       struct cim_results *r, struct cim_err *err)
{
	const uint32_t G = chips_per_rank > 1 ? chips_per_rank : 1;
	int rank, ranks, world_rank, rc = 0;

	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &ranks);
	MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
	/* one entry per request (the static batch's sequences without a
	 * serving part) */
	const uint32_t nseq = e->serving.on ? e->serving.requests : e->workload.batch;
	struct cim_exec_seq *seqs = calloc(nseq ? nseq : 1, sizeof(*seqs));
	struct cim_exec_seq *all = rank == 0 ? calloc(nseq ? nseq : 1, sizeof(*all)) : NULL;
	struct cim_exec_stats *st = calloc(G, sizeof(*st));
	struct cim_exec_stats *stats = rank == 0 ? calloc((size_t)ranks * G, sizeof(*stats)) : NULL;
	if (!seqs || !st || (rank == 0 && (!all || !stats)))
		abort_job(world_rank, "out of memory");

	/* one trace probe a chip of the rank, its writer NULL where that chip
	 * is not traced */
	struct cim_exec_probe *probe = calloc(G, sizeof(*probe));
	bool traced = false;
	if (!probe)
		abort_job(world_rank, "out of memory");
	for (uint32_t j = 0; tw && j < G; j++) {
		probe[j] = (struct cim_exec_probe){
			.ctx = tw[j],
			.op = cim_trace_probe_op,
			.msg = cim_trace_probe_msg,
			.coll = cim_trace_probe_coll,
			.sched = cim_trace_probe_sched,
			.poll = cim_trace_probe_poll,
		};
		traced = traced || tw[j];
	}
	/* Every run stops cleanly on SIGINT or SIGTERM, traced or not. */
	enum cim_exec_end ended = CIM_EXEC_END_OWN;
	struct cim_exec_opts opts = { .interruptible = true,
				      .stop = cim_coord_stop_flag(),
				      .ended = &ended,
				      .chips_per_rank = G };
	if (read_fault(&opts.fault, err) < 0 || cim_coord_signals_install(err) < 0)
		abort_job(world_rank, err->msg);
	MPI_Comm end_comm;
	MPI_Comm_dup(comm, &end_comm);
	double wall0 = MPI_Wtime(), cpu0 = cpu_seconds();
	if (cim_exec_run(e, plan, net, comm, &opts, probe, traced ? 1 : 0, st, seqs, err) < 0) {
		/* Keep what the traces hold, then end the whole job. */
		char reason[128];
		cim_coord_signals_saving();
		cim_coord_stop_reason(reason, sizeof(reason));
		if (ended == CIM_EXEC_END_PEER)
			snprintf(reason, sizeof(reason), "another rank failed");
		else if (ended == CIM_EXEC_END_ORPHAN)
			snprintf(reason, sizeof(reason), "its mpirun ended");
		cim_trace_abort_all(reason);
		/* the failing rank's message names it; its peers say nothing */
		if (ended != CIM_EXEC_END_PEER)
			fprintf(stderr, "cimsim: %s\n", err->msg);
		fflush(stderr);
		/* Every rank, told by the one that failed or by a signal, has
		 * saved its trace: they end together, without MPI_Abort, whose
		 * caller would wait for mpirun's SIGKILL (docs/robustness.md). */
		leave_together(end_comm);
		_exit(ended == CIM_EXEC_END_SIGNAL &&
			      (cim_coord_signal() == SIGINT || cim_coord_signal() == SIGUSR1)
			  ? 130
			  : 1);
	}
	MPI_Comm_free(&end_comm);
	cim_coord_signals_restore();
	for (uint32_t j = 0; tw && j < G; j++)
		if (tw[j] && cim_trace_close(tw[j], err) < 0)
			abort_job(world_rank, err->msg);
	free(probe);
	double wall = MPI_Wtime() - wall0, cpu = cpu_seconds() - cpu0, wall_max, cpu_sum;
	double rss = peak_rss_mib(), rss_max;

	/* Gather in rank order: totals do not depend on a reduction tree. */
	/* a rank's chips are consecutive: the gather is in chip order */
	MPI_Gather(st, (int)(G * sizeof(*st)), MPI_BYTE, stats, (int)(G * sizeof(*st)), MPI_BYTE, 0,
		   comm);
	_Static_assert(sizeof(struct cim_exec_seq) == 5 * sizeof(uint64_t), "5 counts a sequence");
	MPI_Reduce(seqs, all, (int)(5 * nseq), MPI_UINT64_T, MPI_MAX, 0, comm);
	MPI_Reduce(&wall, &wall_max, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
	MPI_Reduce(&cpu, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
	MPI_Reduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
	if (rank == 0) {
		if (cim_results_make(e, plan, stats, (uint32_t)ranks * G, all, r, err) < 0) {
			rc = -1;
		} else {
			r->ranks = ranks;
			r->chips_per_rank = G;
			r->wall_s = wall_max;
			r->cpu_s = cpu_sum;
			r->peak_rss_mib = rss_max;
			if (cim_part_estimate(e, plan, net, &r->est, err) < 0 ||
			    experts(e, plan, net, r, err) < 0) {
				char inner[sizeof(err->msg)];
				snprintf(inner, sizeof(inner), "%s", err->msg);
				rc = cim_err_set(err, "the analytical estimate failed: %s", inner);
				cim_results_free(r);
			}
		}
	}
	free(seqs);
	free(st);
	free(all);
	free(stats);
	return rc;
}
