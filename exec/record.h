/*
 * record.h — the events the executor reports through its probe interface,
 * as plain data: what traces record, and what statistics are made of.
 *
 * The executor of one rank fills these and hands them to every probe it was
 * given (the trace writer is one).  They hold no pointers, so they can be
 * copied into buffers and packed as they are.  Times are virtual
 * picoseconds; energies are picojoules by component.
 */
#ifndef CIM_EXEC_RECORD_H
#define CIM_EXEC_RECORD_H

#include <stdint.h>

#include "partitioner.h"

/* What a message between ranks carries. */
enum cim_exec_msg_kind { CIM_MSG_ACT = 0, CIM_MSG_TOKEN = 1, CIM_MSG_NKIND };

/* "act", "token". */
static inline const char *cim_exec_msg_kind_name(uint32_t kind)
{
	static const char *const names[] = { "act", "token" };

	_Static_assert(sizeof(names) / sizeof(names[0]) == CIM_MSG_NKIND, "a name per kind");
	return kind < CIM_MSG_NKIND ? names[kind] : "?";
}

/* One operator on one resource for one micro-batch. */
struct cim_rec_op {
	uint64_t start_ps, end_ps;
	uint32_t resource;  /* enum cim_part_res, or CIM_RES_XBAR0 + i */
	uint32_t resource2; /* a second resource held in slices within the
			       step for busy2_ps, or UINT32_MAX (attention:
			       the lanes or the KV port, whichever is not
			       the bottleneck) */
	uint32_t op_kind;   /* enum cim_op_kind (spec.h) */
	char name[16];	    /* for display: cim_op_role_name() of the step
			       ("qkv_proj", "attention" …), or a merged span's */
	int32_t layer;	    /* model layer, −1 for embedding and head */
	uint32_t micro_batch;
	uint32_t step;		       /* 0 = prefill (chunk index in prefill_chunks),
					  then one per decode step */
	uint32_t phase;		       /* enum cim_part_phase */
	uint64_t bytes;		       /* buffer or memory bytes moved */
	uint64_t macs;		       /* multiply-accumulates of a matrix or attention step */
	uint64_t kv_bytes;	       /* KV cache the chip holds after this step */
	uint64_t busy2_ps;	       /* how long resource2 was held, in slices within
					  [start, end) (attention: its lanes or port time) */
	double energy_pj[CIM_E_NCOMP]; /* enum cim_chip_ecomp */
};

/* A point-to-point message (activations to the next stage, tokens back to
 * the first), recorded by the sender (send) and by the receiver (recv). */
struct cim_rec_msg {
	uint64_t depart_ps, arrive_ps;
	uint32_t peer;	  /* the other rank */
	uint32_t kind;	  /* enum cim_exec_msg_kind */
	uint32_t is_send; /* 1 on the sender, 0 on the receiver */
	uint32_t micro_batch, step, phase;
	uint64_t bytes;
	uint32_t hops; /* links crossed (sender; 0 to itself) */
	uint32_t pad;
	uint64_t port_busy_ps; /* the sender's port was busy sending it */
	double energy_pj;      /* link energy (counted on the sender only) */
};

/* One collective of the rank's TP group, from this member's point of view. */
struct cim_rec_coll {
	uint64_t ready_ps, finish_ps; /* this member entered / left */
	uint32_t coll;		      /* enum cim_net_coll (interconnect.h) */
	uint32_t algo;		      /* enum cim_net_algo */
	uint32_t group;		      /* the group's first rank */
	uint32_t group_size;
	int32_t layer;
	uint32_t micro_batch, step, phase;
	uint64_t bytes;		/* the collective's size */
	uint64_t sent_bytes;	/* this member's share of the bytes its transfers move */
	uint64_t link_bytes;	/* this member's share of those bytes × hops */
	double energy_pj;	/* this member's share: total / group_size */
	uint64_t ports_busy_ps; /* Σ over the links leaving this member of the bytes
				   the collective put on them / their bandwidth */
};

/* One pass of one micro-batch through the chip, reported as it begins. */
struct cim_rec_pass {
	uint64_t start_ps;   /* its input arrived: no step of it starts before */
	uint64_t horizon_ps; /* no step of it nor of a later pass starts before */
	uint32_t micro_batch, step, phase;
	uint32_t pad;
};

/* The scheduler's state at an instant: a served load's time series, on the
 * scheduling rank of each replica (its first stage's member 0) only.  One
 * at every arrival the scheduler learns of (at the arrival's own time) and
 * one after every decision (at the decision's time), in time order, so each
 * field is a step function of time: its value holds until the next record.
 * (Static batching decides in turn, not in time order: a decision earlier
 * than a record already made is recorded at that record's time.) */
struct cim_rec_sched {
	uint64_t t_ps;
	uint32_t waiting;  /* arrived and never admitted (its queueing delay runs) */
	uint32_t requeued; /* preempted, waiting to run again */
	uint32_t running;  /* admitted and not finished, as the scheduler knows */
	uint32_t decision; /* 1: after a decision; 0: an arrival */
	uint32_t batch;	   /* requests in the pass decided (0 at an arrival) */
	uint32_t tokens;   /* tokens of that pass */
	uint64_t kv_bytes; /* KV the fullest chip of the replica holds ... */
	uint64_t kv_room;  /* ... of what it can hold (kv_bytes ≤ kv_room) */
};

#endif /* CIM_EXEC_RECORD_H */
