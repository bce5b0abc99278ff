/*
 * record.h — the events the executor reports through its probe interface,
 * as plain data: what traces record, and what statistics are gathered from.
 *
 * The executor of one rank fills these and hands them to every probe it was
 * given (the trace writer is one).  They hold no pointers, so they can be
 * copied into buffers and packed as they are.  Times are virtual
 * picoseconds; energies are picojoules by component.
 */
#ifndef CIM_TRACES_RECORD_H
#define CIM_TRACES_RECORD_H

#include <stdint.h>

/* The energy components a record carries, in this order. */
enum cim_rec_energy {
	CIM_E_ARRAY,
	CIM_E_ADC,
	CIM_E_DAC,
	CIM_E_SHIFT_ADD,
	CIM_E_SAMPLE_HOLD,
	CIM_E_DIGITAL,
	CIM_E_BUFFER,
	CIM_E_DRAM,
	CIM_E_LINK, /* link energy of messages and collectives */
	CIM_E_NCOMP,
};

/* Resources of a chip: one per layer's crossbars (ids from
 * CIM_RES_XBAR0 on, one per layer the chip holds, plus one for the LM head),
 * the digital unit, the KV-cache memory port and the link port. */
enum cim_rec_res {
	CIM_RES_DIGITAL = 0,
	CIM_RES_KV = 1,
	CIM_RES_LINK = 2,
	CIM_RES_XBAR0 = 3,
};

enum cim_rec_phase { CIM_PHASE_PREFILL = 0, CIM_PHASE_DECODE = 1 };

/* One operator on one resource for one micro-batch. */
struct cim_rec_op {
	uint64_t start_ps, end_ps;
	uint32_t resource;  /* enum cim_rec_res, or CIM_RES_XBAR0 + i */
	uint32_t resource2; /* a second resource held at the same time, or
			       UINT32_MAX (attention holds the digital
			       unit and the KV port) */
	uint32_t op_kind;   /* enum cim_op_kind (spec.h) */
	char name[16];	    /* operator name: "q_proj", "attn", "lm_head" … */
	int32_t layer;	    /* model layer, −1 for embedding and head */
	uint32_t micro_batch;
	uint32_t step;	/* 0 = prefill (chunk index in prefill_chunks),
			   then one per decode step */
	uint32_t phase; /* enum cim_rec_phase */
	uint64_t bytes; /* buffer or memory bytes moved */
	double energy_pj[CIM_E_NCOMP];
};

enum cim_rec_msg_kind { CIM_MSG_ACT = 0, CIM_MSG_TOKEN = 1 };

/* A point-to-point message (activations to the next stage, tokens back to
 * the first), recorded by the sender (send) and by the receiver (recv). */
struct cim_rec_msg {
	uint64_t depart_ps, arrive_ps;
	uint32_t peer;	  /* the other rank */
	uint32_t kind;	  /* enum cim_rec_msg_kind */
	uint32_t is_send; /* 1 on the sender, 0 on the receiver */
	uint32_t micro_batch, step, phase;
	uint64_t bytes;
	double energy_pj; /* link energy (counted on the sender only) */
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
	uint64_t bytes;
	double energy_pj; /* this member's share: total / group_size */
};

#endif /* CIM_TRACES_RECORD_H */
