/*
 * results.h — what a run reports: the executor's per-rank statistics and
 * per-sequence token times folded into the headline figures, printed as a
 * table, JSON (docs/results.md) and a CSV row.  Pure: rank 0 calls it on
 * gathered data.
 */
#ifndef CIM_COORDINATOR_RESULTS_H
#define CIM_COORDINATOR_RESULTS_H

#include <stdio.h>

#include "accuracy.h"
#include "exec.h"
#include "gpu.h"
#include "json.h"
#include "partitioner.h"

struct cim_dist {
	double mean, p50, p90, p99;
};

/* A served load's figures (docs/serving.md); all times in seconds. */
struct cim_serving_results {
	uint32_t n;		  /* requests */
	struct cim_request *req;  /* each request, malloc'd */
	struct cim_exec_seq *seq; /* its times, malloc'd */
	struct cim_dist ttft, tpot, e2e, queue;
	double requests_per_s; /* served: n over the makespan */
	double goodput_per_s;  /* requests within every SLO given, per second */
	double slo_attainment; /* their share, in [0, 1] */
	double energy_per_request_j;
	uint64_t preemptions;
	double in_system_mean; /* time-average of requests arrived, not done */
	double little_l;       /* λ·W: requests per second × mean end-to-end */
};

struct cim_results {
	const struct cim_experiment *e;
	const struct cim_part_plan *plan;
	uint64_t makespan_ps;
	uint64_t prefill_ps; /* last first token */
	double generated_tokens, prompt_tokens;
	double tokens_per_s, prompt_tokens_per_s;
	struct cim_dist ttft_s, tpot_s;
	double energy_j;	    /* dynamic + leakage */
	double comp_j[CIM_E_NCOMP]; /* dynamic by component */
	double leakage_j;
	double phase_j[2]; /* dynamic by phase */
	double *chip_j;	   /* per rank, dynamic + its leakage */
	double energy_per_token_j;
	double power_w;
	double macs, tops, tops_per_w;
	double util[CIM_BUSY_NCLASS]; /* mean over chips */
	double bubble;		      /* mean share of the makespan no step ran */
	uint64_t bytes_sent, link_bytes;
	uint64_t kv_peak;
	bool programmed;	     /* the chip says how its weights are written */
	double program_s, program_j; /* writing the weights once: the slowest
					chip's time, all chips' energy */
	uint64_t events;
	double wall_s, cpu_s; /* slowest rank's wall time; CPU of all ranks */
	double peak_rss_mib;  /* largest peak resident memory of a rank */
	int ranks;
	uint32_t chips_per_rank;      /* 1, or tp: a rank simulated its TP group */
	struct cim_part_estimate est; /* the analytical estimate of the same plan */
	/* Mixture of experts: the routing's load (share NULL for a dense
	 * model), and, when routed unevenly, the estimate with even routing:
	 * what the imbalance costs. */
	struct cim_part_expert_report experts;
	bool has_even;
	struct cim_part_estimate est_even;
	bool acc_estimated;	/* the chip's converters resolve its sums */
	struct cim_acc_est acc; /* the expected error of an MVM output on one
				   crossbar (docs/accuracy.md) */
	bool serving;		/* a served load: the figures below */
	struct cim_serving_results sv;
	struct cim_gpu_result gpu[2];
	struct cim_gpu_result gpu_eq[2]; /* the same rooflines at the chips' precision */
};

/* Folds n ranks' stats and the per-sequence times into r (r->chip_j is
 * malloc'd: free with cim_results_free).  Fails with err when out of memory
 * or when a rank's statistics break an invariant (a resource busy longer
 * than the makespan, a fraction outside [0, 1]): that is a bug, named with
 * the rank and the numbers, never a figure to print. */
int cim_results_make(const struct cim_experiment *e, const struct cim_part_plan *plan,
		     const struct cim_exec_stats *stats, uint32_t n,
		     const struct cim_exec_seq *seqs, struct cim_results *r, struct cim_err *err);
void cim_results_free(struct cim_results *r);
/* Writes one row per request (docs/serving.md, "Per request"). */
int cim_results_requests_csv(const char *path, const struct cim_results *r, struct cim_err *err);

void cim_results_text(FILE *f, const struct cim_results *r);
void cim_results_json(FILE *f, const struct cim_results *r);
/* Appends one CSV row (and the header when the file is empty). */
int cim_results_csv(const char *path, const struct cim_results *r, struct cim_err *err);

#endif /* CIM_COORDINATOR_RESULTS_H */
