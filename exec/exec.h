/*
 * exec.h — the executor: runs one chip's share of a plan in virtual time,
 * one MPI rank per chip (or, on request, one rank per TP group: its chips
 * in lockstep, cim_exec_opts.chips_per_rank).
 *
 * Every rank runs the same loop over the passes of its micro-batches in
 * program order (prefill chunks, then decode steps; micro-batches inside
 * each).  A pass waits for its input (activations from the previous stage,
 * or the token returning from the last stage) as a real MPI message that
 * carries virtual times; its steps (partitioner.h, cim_part_program()) take
 * the chip's resources at the earliest time each is free for them
 * (calendar.h);
 * collectives gather the members' ready times at the group's member 0,
 * which replays the algorithm on the interconnect model once and tells each
 * member its part (in a rank that holds the whole group, the replay needs
 * no message).  Every event becomes a record (record.h) handed to
 * the probes: the built-in statistics probe (stats.c) first, then the
 * caller's (traces).  Probes observe; they never change which MPI calls are
 * made nor what is computed.  Deterministic: results depend only on the
 * plan, never on when a message arrived.  docs/results.md describes the
 * model and its outputs.
 */
#ifndef CIM_EXEC_EXEC_H
#define CIM_EXEC_EXEC_H

#include <mpi.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "interconnect.h"
#include "partitioner.h"
#include "record.h"

/* What the executor tells a probe; any pointer may be NULL. */
struct cim_exec_probe {
	void *ctx;
	void (*pass)(void *ctx, const struct cim_rec_pass *r); /* a pass begins */
	void (*op)(void *ctx, const struct cim_rec_op *r);
	void (*msg)(void *ctx, const struct cim_rec_msg *r);
	void (*coll)(void *ctx, const struct cim_rec_coll *r);
	void (*sched)(void *ctx, const struct cim_rec_sched *r); /* served loads */
	/* Called between passes and, in an interruptible run, while waiting
	 * for a peer: a chance to make progress (write buffers out). */
	void (*poll)(void *ctx);
};

/* Busy time by class of resource; the first three are the resources of
 * the same name (partitioner.h), the last all crossbar groups. */
enum cim_exec_res_class {
	CIM_BUSY_DIGITAL = CIM_RES_DIGITAL,
	CIM_BUSY_KV = CIM_RES_KV,
	CIM_BUSY_LINK = CIM_RES_LINK,
	CIM_BUSY_XBAR = CIM_RES_XBAR0,
	CIM_BUSY_NCLASS
};

/* A deliberate failure, for tests: at pass step `step` (kv: from it on) of
 * rank `rank`, the KV memory is full (kv) or the message sent is wrong
 * (msg), so a mid-run error can be shown to end every rank. */
enum cim_exec_fault_kind { CIM_FAULT_NONE, CIM_FAULT_KV, CIM_FAULT_MSG };

struct cim_exec_fault {
	enum cim_exec_fault_kind kind;
	uint32_t rank, step;
};

/* How a run behaves; the same on every rank of the run. */
struct cim_exec_opts {
	/* Waits poll instead of blocking: nonblocking receives and
	 * collectives, tested in a loop that calls the probes' poll and reads
	 * *stop.  Off: MPI_Recv and MPI_Allgather. */
	bool interruptible;
	/* Nonzero stops the run at its next poll (a signal handler sets it);
	 * NULL: never.  Read between passes, and while waiting when
	 * interruptible. */
	const volatile sig_atomic_t *stop;
	struct cim_exec_fault fault;
	/* Chips each rank simulates: 0 or 1, one; or the plan's tp, its whole
	 * TP group, whose members run in lockstep step by step and replay
	 * each collective in the rank, with no message (comm's size is then
	 * plan->chips / tp; rank r simulates chips r·tp … r·tp + tp − 1).
	 * Results are the same bit for bit.  Not with experts over the
	 * replicas.  probes then holds nprobes for each of the rank's
	 * chips in turn. */
	uint32_t chips_per_rank;
	/* Out, when interruptible: what ended a run that failed.  A rank
	 * that fails on its own tells every other rank at once (a message on
	 * a communicator of its own), so that they stop at their next poll,
	 * save their traces and end, instead of waiting for mpirun's signals
	 * (docs/robustness.md).  A rank whose mpirun or daemon has gone stops
	 * too. */
	enum cim_exec_end {
		CIM_EXEC_END_OWN,    /* its own error: the job must be ended */
		CIM_EXEC_END_SIGNAL, /* *stop was set */
		CIM_EXEC_END_PEER,   /* another rank failed and said so */
		CIM_EXEC_END_ORPHAN, /* its parent process ended */
	} *
	    ended;
};

/* One rank's statistics: plain data, gathered to rank 0. */
struct cim_exec_stats {
	uint32_t rank, replica, stage, tp_index;
	uint32_t xbar_groups; /* crossbar resources (layers, head) */
	uint32_t ports;	      /* link ports: its outgoing links (cim_net_ports_of()), ≥ 1 */
	uint64_t end_ps;      /* its last step's end */
	uint64_t busy_ps[CIM_BUSY_NCLASS]; /* Σ time each class was busy (crossbars:
					      summed over the groups) */
	uint64_t active_ps;		   /* time any resource was busy */
	double energy_pj[CIM_E_NCOMP];	   /* dynamic, by component; interconnect:
					      sends and this member's share of
					      collectives */
	double phase_pj[CIM_PHASE_N];	   /* dynamic, prefill and decode */
	uint64_t steps, msgs, colls;	   /* events */
	uint64_t bytes_sent;		   /* activations and tokens sent, and its
					      share of its collectives' transfers */
	uint64_t link_bytes;		   /* bytes × hops of those */
	uint64_t kv_peak;		   /* most KV bytes held at once */
	uint64_t ops_macs;		   /* MACs of the crossbar and attention steps */
};

/* One sequence (a request of a served load): when its first and last
 * tokens were sampled, when it was first scheduled, and how often it was
 * preempted. */
struct cim_exec_seq {
	uint64_t first_ps, last_ps, admit_ps, preemptions;
	uint64_t replica; /* the replica that served it, + 1 (0: not this rank's) */
};

/*
 * Runs the rank's chip of plan over comm (whose size must equal plan->chips;
 * rank r of comm is rank r of the plan) on net, with opts (NULL: blocking,
 * no fault); or, with opts->chips_per_rank, its TP group's chips.  Fills
 * stats_out[0 … chips of the rank) and, on ranks that sample (the last stage's
 * member 0), seqs_out[i] for every sequence i of its replica, and on the
 * scheduling rank (the first stage's member 0) admit_ps, preemptions and
 * replica (seqs_out has one entry per request, cim_serving_requests(),
 * zeroed by the caller).  On an error (KV overflow, a message the plan does
 * not expect, a stop) fills err with the rank, what
 * and where, and returns −1: the caller must then abort the job, as other
 * ranks may be waiting for this one.
 */
int cim_exec_run(const struct cim_experiment *e, const struct cim_part_plan *plan,
		 const struct cim_net *net, MPI_Comm comm, const struct cim_exec_opts *opts,
		 const struct cim_exec_probe *probes, size_t nprobes,
		 struct cim_exec_stats *stats_out, struct cim_exec_seq *seqs_out,
		 struct cim_err *err);

/* Whether a rank may simulate its whole TP group (chips_per_rank): not
 * when a mixture of experts spreads its experts over dp > 1 replicas, whose
 * all-to-alls join chips of different groups. */
bool cim_exec_tp_per_rank_ok(const struct cim_experiment *e, uint32_t dp);

/* The global index of the first sequence of replica q's micro-batch m. */
uint32_t cim_exec_first_seq(const struct cim_experiment *e, const struct cim_part_plan *plan,
			    uint32_t q, uint32_t m);

#endif /* CIM_EXEC_EXEC_H */
