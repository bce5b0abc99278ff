/*
 * synth.h — a small synthetic run for the trace tests: what an executor
 * would report on three chips, laid out so that every number a test checks
 * can be worked out by hand.
 *
 *   ranks 0 and 1: stage 0, TP group {0, 1}, layers 0 and 1
 *   rank 2:        stage 1, layers 2 and 3 and the LM head
 *
 * Passes p = step · SYN_MB + mb (SYN_MB micro-batches, SYN_STEPS steps)
 * start at S = p · 20000 ps.  On ranks 0 and 1, local layer l (0, 1) at
 * t = S + l · 5000 runs q_proj [t, t+1000) on its crossbars, attn
 * [t+1000, t+2000) on the digital unit holding the KV port too, o_proj
 * [t+2000, t+3000) on its crossbars, then an all-reduce [t+3000, t+4000).
 * Rank 0 sends the activations to rank 2 over [S+10000, S+11000).  Rank 2
 * runs its layers at t = S + 11000 + l · 5000 (no collective), the LM head
 * [S+21000, S+22000), and sends the token back to rank 0 over
 * [S+22000, S+23000).  No resource serves two spans at once.
 *
 * Energies are sums of powers of two, so every sum is exact in any order.
 */
#ifndef CIM_TESTS_TRACES_SYNTH_H
#define CIM_TESTS_TRACES_SYNTH_H

#include <string.h>

#include "traces.h"

#define SYN_RANKS  3
#define SYN_MB	   2
#define SYN_STEPS  3
#define SYN_PASSES (SYN_MB * SYN_STEPS)
#define SYN_RUN_ID 4242u

struct syn_ev {
	uint32_t type; /* enum cim_trace_rec_type */
	union {
		struct cim_rec_op op;
		struct cim_rec_msg msg;
		struct cim_rec_coll coll;
	} u;
};

/* Resource names of rank r: digital, kv, link, xbar L<first>, xbar L<first+1>
 * (and lm_head on rank 2). */
static const char *const syn_res[SYN_RANKS][6] = {
	{ "digital", "kv", "link", "xbar L0", "xbar L1", NULL },
	{ "digital", "kv", "link", "xbar L0", "xbar L1", NULL },
	{ "digital", "kv", "link", "xbar L2", "xbar L3", "lm_head" },
};

static inline uint32_t syn_nres(uint32_t rank)
{
	return rank == 2 ? 6 : 5;
}

static inline void syn_config(struct cim_trace_config *c, const char *dir, uint32_t rank,
			      enum cim_trace_level level)
{
	memset(c, 0, sizeof(*c));
	c->dir = dir;
	c->level = level;
	c->rank = rank;
	c->nranks = SYN_RANKS;
	c->stage = rank == 2 ? 1 : 0;
	c->tp = rank == 1 ? 1 : 0;
	c->run_id = SYN_RUN_ID;
	c->chip = "test-chip";
	c->experiment = "synthetic";
	c->resources = syn_res[rank];
	c->nres = syn_nres(rank);
}

static inline struct syn_ev *syn_op(struct syn_ev *e, uint64_t s, uint64_t len, uint32_t res,
				    uint32_t res2, uint32_t kind, const char *name, int32_t layer,
				    uint32_t mb, uint32_t step)
{
	memset(e, 0, sizeof(*e));
	e->type = CIM_TREC_OP;
	e->u.op.start_ps = s;
	e->u.op.end_ps = s + len;
	e->u.op.resource = res;
	e->u.op.resource2 = res2;
	e->u.op.op_kind = kind;
	memcpy(e->u.op.name, name, strnlen(name, sizeof(e->u.op.name)));
	e->u.op.layer = layer;
	e->u.op.micro_batch = mb;
	e->u.op.step = step;
	e->u.op.phase = step ? CIM_PHASE_DECODE : CIM_PHASE_PREFILL;
	if (kind == CIM_OP_MATMUL) {
		/* 1 + layer + 0.5 + 0.25 + 0.125 pJ */
		e->u.op.bytes = 4096;
		e->u.op.energy_pj[CIM_E_ARRAY] = 1.0 + layer;
		e->u.op.energy_pj[CIM_E_ADC] = 0.5;
		e->u.op.energy_pj[CIM_E_DAC] = 0.25;
		e->u.op.energy_pj[CIM_E_SHIFT_ADD] = 0.125;
	} else {
		/* attention: 2 + 0.5 pJ */
		e->u.op.bytes = 8192;
		e->u.op.energy_pj[CIM_E_DIGITAL] = 2.0;
		e->u.op.energy_pj[CIM_E_BUFFER] = 0.5;
	}
	return e + 1;
}

static inline struct syn_ev *syn_msg(struct syn_ev *e, uint64_t depart, uint32_t peer,
				     uint32_t kind, bool send, uint32_t mb, uint32_t step)
{
	memset(e, 0, sizeof(*e));
	e->type = CIM_TREC_MSG;
	e->u.msg.depart_ps = depart;
	e->u.msg.arrive_ps = depart + 1000;
	e->u.msg.peer = peer;
	e->u.msg.kind = kind;
	e->u.msg.is_send = send;
	e->u.msg.micro_batch = mb;
	e->u.msg.step = step;
	e->u.msg.phase = step ? CIM_PHASE_DECODE : CIM_PHASE_PREFILL;
	e->u.msg.bytes = 16384;
	e->u.msg.energy_pj = send ? 3.0 : 0.0;
	return e + 1;
}

static inline struct syn_ev *syn_coll(struct syn_ev *e, uint64_t ready, int32_t layer, uint32_t mb,
				      uint32_t step)
{
	memset(e, 0, sizeof(*e));
	e->type = CIM_TREC_COLL;
	e->u.coll.ready_ps = ready;
	e->u.coll.finish_ps = ready + 1000;
	e->u.coll.coll = 0; /* all-reduce */
	e->u.coll.algo = 0; /* ring */
	e->u.coll.group = 0;
	e->u.coll.group_size = 2;
	e->u.coll.layer = layer;
	e->u.coll.micro_batch = mb;
	e->u.coll.step = step;
	e->u.coll.phase = step ? CIM_PHASE_DECODE : CIM_PHASE_PREFILL;
	e->u.coll.bytes = 8192;
	e->u.coll.energy_pj = 0.75;
	return e + 1;
}

#define SYN_MAX_EVENTS 128

/* The events of one rank in the order an executor reports them; returns
 * their number. */
static inline size_t syn_events(uint32_t rank, struct syn_ev *ev)
{
	struct syn_ev *e = ev;

	for (uint32_t step = 0; step < SYN_STEPS; step++)
		for (uint32_t mb = 0; mb < SYN_MB; mb++) {
			uint64_t s = (uint64_t)(step * SYN_MB + mb) * 20000;
			if (rank == 2) {
				e = syn_msg(e, s + 10000, 0, CIM_MSG_ACT, false, mb, step);
				for (int32_t l = 0; l < 2; l++) {
					uint64_t t = s + 11000 + (uint64_t)l * 5000;
					e = syn_op(e, t, 1000, CIM_RES_XBAR0 + l, UINT32_MAX,
						   CIM_OP_MATMUL, "q_proj", 2 + l, mb, step);
					e = syn_op(e, t + 1000, 1000, CIM_RES_DIGITAL, CIM_RES_KV,
						   CIM_OP_ATTN_QK, "attn", 2 + l, mb, step);
					e = syn_op(e, t + 2000, 1000, CIM_RES_XBAR0 + l, UINT32_MAX,
						   CIM_OP_MATMUL, "o_proj", 2 + l, mb, step);
				}
				e = syn_op(e, s + 21000, 1000, CIM_RES_XBAR0 + 2, UINT32_MAX,
					   CIM_OP_MATMUL, "lm_head", -1, mb, step);
				e = syn_msg(e, s + 22000, 0, CIM_MSG_TOKEN, true, mb, step);
				continue;
			}
			for (int32_t l = 0; l < 2; l++) {
				uint64_t t = s + (uint64_t)l * 5000;
				e = syn_op(e, t, 1000, CIM_RES_XBAR0 + l, UINT32_MAX, CIM_OP_MATMUL,
					   "q_proj", l, mb, step);
				e = syn_op(e, t + 1000, 1000, CIM_RES_DIGITAL, CIM_RES_KV,
					   CIM_OP_ATTN_QK, "attn", l, mb, step);
				e = syn_op(e, t + 2000, 1000, CIM_RES_XBAR0 + l, UINT32_MAX,
					   CIM_OP_MATMUL, "o_proj", l, mb, step);
				e = syn_coll(e, t + 3000, l, mb, step);
			}
			if (rank == 0) {
				e = syn_msg(e, s + 10000, 2, CIM_MSG_ACT, true, mb, step);
				e = syn_msg(e, s + 22000, 2, CIM_MSG_TOKEN, false, mb, step);
			}
		}
	return (size_t)(e - ev);
}

/* Feeds events to a writer. */
static inline void syn_feed(struct cim_trace_writer *w, const struct syn_ev *ev, size_t n)
{
	/* through the probe slots the executor calls */
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type == CIM_TREC_OP)
			cim_trace_probe_op(w, &ev[i].u.op);
		else if (ev[i].type == CIM_TREC_MSG)
			cim_trace_probe_msg(w, &ev[i].u.msg);
		else
			cim_trace_probe_coll(w, &ev[i].u.coll);
	}
}

/* Writes the whole synthetic run into dir at level; 0 or -1 (err set). */
static inline int syn_write_run(const char *dir, enum cim_trace_level level, size_t buffer,
				struct cim_err *err)
{
	struct syn_ev ev[SYN_MAX_EVENTS];

	for (uint32_t r = 0; r < SYN_RANKS; r++) {
		struct cim_trace_config c;
		struct cim_trace_writer *w;
		syn_config(&c, dir, r, level);
		c.buffer_bytes = buffer;
		if (cim_trace_open(&c, &w, err))
			return -1;
		syn_feed(w, ev, syn_events(r, ev));
		if (cim_trace_close(w, err))
			return -1;
	}
	return 0;
}

#endif /* CIM_TESTS_TRACES_SYNTH_H */
