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

/* The fixed header of every message between ranks. */
struct hdr {
	uint64_t depart_ps, arrive_ps, bytes;
	uint32_t kind, micro_batch, step, seqs;
	/* a served load's pass (serve.c): entries following, sequences
	 * sampled, EXEC_HDR_* flags, and the first stage's horizon */
	uint32_t entries, samples, flags;
	uint64_t horizon_ps;
};

#define EXEC_HDR_DONE 0x1u /* the load is served: stop */
#define EXEC_BODY_TAG 8	   /* a message's body: its kind's tag + this */
/* A rank that simulates its TP group tells its chips' messages apart by
 * tag: kind + EXEC_TAG_STRIDE × the receiving chip's index in the group. */
#define EXEC_TAG_STRIDE 16

struct send {
	MPI_Request req, body_req;
	struct hdr h;
	void *body; /* malloc'd copy of the body in flight, or NULL */
};

/* A group whose collectives a rank joins: its stage's TP group, or its
 * members of the same TP index in every replica (experts spread over the
 * replicas).  Member 0 replays each collective (exec.c). */
struct xgroup {
	MPI_Comm comm;
	uint32_t n, me;	 /* members, and this rank's index among them */
	uint32_t *ranks; /* [n]: the members' ranks */
	uint64_t *ready, *finish;
	uint64_t my_ready;	       /* this member's part of the exchange in flight */
	MPI_Request *xreq;	       /* [2n]: that exchange's receives and sends */
	uint64_t *reply;	       /* [EXEC_REPLY · n]: the leader's answers, one a member */
	struct memo *memo;	       /* MEMO_SLOTS replays of this group's collectives */
	uint64_t *memo_times;	       /* 3n per slot: ready and finish offsets, and the
					  busy time of each member's ports */
	struct cplan *cplans;	       /* the group's collectives, compiled */
	uint64_t *chunks;	       /* [n · n]: an uneven all-to-all's chunks, or NULL */
	uint64_t *link_bytes;	       /* [links]: its bytes per link, replayed uncompiled */
	uint64_t *a2a_busy;	       /* [n]: each member's ports' busy time in it */
	uint32_t *all_ranks;	       /* [tp · n]: every TP index's expert group, which
					  run their all-to-alls at once */
	uint64_t *all_ready, *all_fin; /* [tp · n] */
	struct cim_net_coll_result a2a_res; /* and its result */
};

struct run {
	const struct cim_experiment *e;
	const struct cim_part_plan *plan;
	const struct cim_part_rank *me;
	const struct cim_net *net;
	MPI_Comm comm;
	struct xgroup tp, ep; /* ep: comm MPI_COMM_NULL unless experts span replicas */
	const struct cim_exec_opts *opts;
	struct cim_exec_probe *probes; /* statistics, then the caller's */
	size_t nprobes;
	struct exec_stats stats;
	/* Chips this rank simulates: 1, or its whole TP group (members in
	 * lockstep, cim_exec_opts.chips_per_rank).  lead is the group's
	 * member 0, which owns the rank's stop state; itself with one chip. */
	uint32_t group;
	struct run *lead;
	struct cim_exec_cal *cal; /* one per resource */
	uint32_t nres;
	uint64_t *port_free; /* per port (cim_net_port()): when it is free */
	struct send *sends;  /* in flight */
	size_t nsends, capsends;
	struct cim_prog_op *ops;
	size_t capops;
	bool stopped;		     /* the run stopped while MPI held buffers */
	enum cim_exec_end end;	     /* why it stopped (cim_exec_opts.ended) */
	MPI_Comm stop_comm;	     /* interruptible: where a failing rank says so */
	MPI_Request stop_req;	     /* the receive of that word, from any rank */
	int stop_from;		     /* its buffer: the rank that failed */
	long parent;		     /* the parent process at the start */
	unsigned polls;		     /* polls since the parent was last looked at */
	uint64_t *gbuf;		     /* lead of a group: [5 · group] members' times */
	struct cim_part_pass *gpass; /* lead of a group: [group] members' passes */
	uint64_t *kv_pos;	     /* positions cached per micro-batch, all layers */
	uint64_t *arrived;	     /* latest input arrival per micro-batch */
	uint64_t horizon;	     /* no later step starts before it */
	uint64_t kv_room;	     /* bytes the KV cache may take */
	uint64_t kv_per_pos;	     /* bits per position per layer per sequence */
	uint64_t kv_held;	     /* bytes the KV cache holds now */
	struct cim_exec_fault fault; /* this rank's, or CIM_FAULT_NONE */
	struct cim_err *err;
};

/* The rank that simulates chip c, and the tag of a message of kind for
 * chip c: with one chip a rank, c and kind themselves. */
static inline int exec_peer_proc(const struct run *r, uint32_t c)
{
	return (int)(c / r->group);
}

static inline int exec_chip_tag(const struct run *r, uint32_t kind, uint32_t c)
{
	return (int)(kind + EXEC_TAG_STRIDE * (c % r->group));
}

/* Between exec.c and serve.c. */
void exec_probe_pass(struct run *r, const struct cim_rec_pass *rec);
void exec_probe_msg(struct run *r, const struct cim_rec_msg *rec);
void exec_probe_sched(struct run *r, const struct cim_rec_sched *rec);
/* Lets the probes make progress; true when the run is asked to stop. */
bool exec_poll_stop(struct run *r);
/* Completes reqs[0..n) of an interruptible run, polling as it waits; 1 when
 * the run was asked to stop first (the requests are left to MPI). */
int exec_wait_all_polling(struct run *r, MPI_Request *reqs, uint32_t n);
/* Completes req, polling in an interruptible run; 1 when it stopped. */
int exec_wait_polling(struct run *r, MPI_Request *req, bool cancel);
/* Runs the program of pass p of micro-batch m at step k from t, no step
 * before horizon (a lower bound of every later pass's start); *end_out is
 * its last step's end. */
int exec_program(struct run *r, const struct cim_part_pass *p, uint32_t m, uint32_t k, uint64_t t,
		 uint64_t horizon, uint64_t *end_out);
/* Sends bytes (priced on the link from t) to dst as kind; extra's serving
 * fields (may be NULL) go in the header, and body_len bytes of body after
 * it. */
int exec_send(struct run *r, uint32_t dst, uint32_t kind, uint64_t bytes, uint64_t t,
	      const struct cim_part_pass *p, uint32_t m, uint32_t k, const struct hdr *extra,
	      const void *body, size_t body_len);
/* Room for one more send in r->sends (the finished ones reaped). */
int exec_send_room(struct run *r);
/* The KV memory a rank may fill: its part's capacity less what else the
 * plan put there. */
uint64_t exec_kv_room(const struct cim_experiment *e, const struct cim_part_rank *me);
/* Pass k of micro-batch m (p[j] on member j) on the G chips of a rank's TP
 * group rs[0 … G), in lockstep: t[j] is member j's start, then its end;
 * horizon[j] its horizon. */
int exec_program_group(struct run *rs, uint32_t G, const struct cim_part_pass *p, uint32_t m,
		       uint32_t k, uint64_t *t, const uint64_t *horizon);
/* A served load's loop (serve.c), after setup, on the rank's G chips rs. */
int exec_serve(struct run *rs, uint32_t G, struct cim_exec_seq *seqs_out);

/* A probe table whose ctx is a struct exec_stats. */
extern const struct cim_exec_probe exec_stats_probe;

void exec_stats_free(struct exec_stats *s);
/* The totals once the run is over. */
void exec_stats_finish(struct exec_stats *s, struct cim_exec_stats *out);
/* Nonzero when the probe ran out of memory for its calendar. */
int exec_stats_failed(const struct exec_stats *s);

#endif /* CIM_EXEC_EXEC_INT_H */
