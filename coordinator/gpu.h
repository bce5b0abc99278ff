/*
 * gpu.h — the GPU baseline a run report prints beside the CIM system: what
 * A100-SXM4-80GB and H100-SXM5-80GB servers would do with the same model and
 * workload, by roofline.
 *
 * It is an estimate from datasheet figures (peak tensor FLOP/s, HBM
 * bandwidth, capacity, NVLink bandwidth, TDP), an upper bound on what real
 * GPU software reaches: measured batch-1 decode gets 57–66 % of it.  It is
 * not a GPU simulator: kernel efficiency, launch and batching overheads,
 * FlashAttention's tiling, collective latency and pipeline parallelism are
 * left out.  Pure functions: no MPI, no allocation, no I/O; the same inputs
 * give the same doubles.  The equations and their sources are in
 * docs/gpu-baseline.md.
 */
#ifndef CIM_COORDINATOR_GPU_H
#define CIM_COORDINATOR_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* Bytes per weight and per cached K or V value on the GPU: fp16/bf16, the
 * usual deployment (and what the published 151 tokens/s ceiling assumes). */
#define CIM_GPU_BYTES_PER_VALUE 2u

/* The precision a baseline runs at: bytes per weight, per cached K or V
 * value and per activation sent between GPUs, and whether the tensor
 * cores run at their int8 rate (weights and activations of 8 bits or
 * fewer).  cim_gpu_fp16 is the usual deployment; cim_gpu_precision_of the
 * CIM chip's own. */
struct cim_gpu_precision {
	double weight_bytes, kv_bytes, act_bytes;
	bool int8;
};
extern const struct cim_gpu_precision cim_gpu_fp16;
/* weights at weight_bits, K and V at kv_bits, activations at act_bits
 * (each at most 16: a GPU runs wider ones at fp16's rate and bytes) */
struct cim_gpu_precision cim_gpu_precision_of(uint32_t weight_bits, uint32_t kv_bits,
					      uint32_t act_bits);
/* Share of each GPU's memory kept back for activations, the CUDA context
 * and the allocator: vLLM's default gpu_memory_utilization is 0.9. */
#define CIM_GPU_RESERVE_PERCENT 10u
/* Tensor-parallel GPUs in one server (DGX/HGX A100 and H100): the most a
 * baseline may use.  Counts are powers of two up to this. */
#define CIM_GPU_MAX_PER_NODE 8u

/* One GPU model's datasheet figures (docs/references.md, A100 and H100). */
struct cim_gpu_spec {
	char name[32];
	uint64_t peak_flops; /* dense fp16/bf16 tensor FLOP/s (no 2:4 sparsity) */
	uint64_t peak_int8;  /* dense int8 tensor operations/s */
	uint64_t mem_bw;     /* HBM bytes/s */
	uint64_t mem_bytes;  /* HBM capacity in bytes (80 GiB) */
	uint64_t link_bw;    /* NVLink bytes/s per direction per GPU */
	double tdp_w;	     /* board power limit, W */
	/* Measured over roofline generated tokens/s of fp16 serving, fitted
	 * to published runs (docs/gpu-baseline.md, "Calibrated to measured
	 * serving"); 0 when no measured run is known for this GPU. */
	double served_efficiency;
	const char *calibrated_by; /* the measured runs it was fitted to */
};

/* What limits a phase: HBM traffic or tensor-core arithmetic. */
enum cim_gpu_bound { CIM_GPU_MEMORY, CIM_GPU_COMPUTE };

/*
 * The estimate for one GPU type.  Times in seconds, energy in joules.  gpus
 * is 0 when even CIM_GPU_MAX_PER_NODE GPUs cannot hold the run; kv_bytes is
 * the whole batch's KV cache at the longest context (prompt + generated,
 * capped by a sliding window); bound is that of the decode steps taken
 * together, or of the prefill when there are none.
 */
struct cim_gpu_result {
	uint32_t gpus;			     /* tensor-parallel GPUs */
	bool fits;			     /* need_bytes <= usable_bytes */
	uint64_t weight_bytes;		     /* all weights, 2 B each */
	uint64_t kv_bytes;		     /* KV cache, 2 B per value */
	uint64_t need_bytes;		     /* weight_bytes + kv_bytes */
	uint64_t usable_bytes;		     /* gpus × capacity less the reserve */
	double prefill_s;		     /* all prompts; yields the 1st token */
	double decode_s;		     /* the generate_tokens − 1 steps */
	double allreduce_s;		     /* NVLink all-reduces, in the above */
	double makespan_s;		     /* prefill_s + decode_s */
	double ttft_s;			     /* time to first token = prefill_s */
	double tpot_s;			     /* mean decode step, 0 without one */
	double generated_tokens_per_s;	     /* batch · generate_tokens / makespan */
	double energy_j;		     /* gpus · TDP · makespan: upper bound */
	double energy_per_generated_token_j; /* 0 when nothing is generated */
	enum cim_gpu_bound prefill_bound;    /* what limits the prefill */
	enum cim_gpu_bound bound;	     /* what limits decode */
};

/* The GPU types of the baseline: A100-SXM4-80GB, then H100-SXM5-80GB. */
size_t cim_gpu_count(void);
/* The i-th GPU type, or NULL when i >= cim_gpu_count(). */
const struct cim_gpu_spec *cim_gpu_get(size_t i);

/* "memory" or "compute". */
const char *cim_gpu_bound_name(enum cim_gpu_bound b);

/*
 * The fewest GPUs of type g (1, 2, 4 or 8, tensor parallel) whose memory,
 * less the reserve, holds the weights and the whole batch's KV cache at the
 * workload's longest context; 0 when eight do not.
 */
uint32_t cim_gpu_needed(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			const struct cim_workload_spec *w);
uint32_t cim_gpu_needed_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			   const struct cim_workload_spec *w, const struct cim_gpu_precision *pr);

/*
 * The roofline estimate of model m running workload w on the fewest GPUs
 * of type g that hold it (cim_gpu_needed).  When none do, out says so
 * (gpus = 0, fits = false, the byte counts filled) and every time is 0.
 */
void cim_gpu_estimate(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
		      const struct cim_workload_spec *w, struct cim_gpu_result *out);
/* The same at precision pr (cim_gpu_estimate is cim_gpu_fp16): every byte
 * count scaled, compute at the int8 rate when pr->int8; still a ceiling. */
void cim_gpu_estimate_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			 const struct cim_workload_spec *w, const struct cim_gpu_precision *pr,
			 struct cim_gpu_result *out);

/*
 * The same on exactly gpus (>= 1) GPUs of type g, whether or not they hold
 * the run (out->fits says), e.g. to compare with a measured 4-GPU setup.
 */
void cim_gpu_estimate_on(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			 const struct cim_workload_spec *w, uint32_t gpus,
			 struct cim_gpu_result *out);
void cim_gpu_estimate_on_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			    const struct cim_workload_spec *w, uint32_t gpus,
			    const struct cim_gpu_precision *pr, struct cim_gpu_result *out);

/*
 * The roofline result roof of GPU type g as measured serving runs it: every
 * time over g->served_efficiency, throughput times it, energy at TDP over
 * the longer makespan (still an upper bound).  False, out untouched, when g
 * has no efficiency fitted.
 */
bool cim_gpu_calibrated(const struct cim_gpu_spec *g, const struct cim_gpu_result *roof,
			struct cim_gpu_result *out);

#endif /* CIM_COORDINATOR_GPU_H */
