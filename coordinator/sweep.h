/*
 * sweep.h — the points of a study, their schedule on the job's ranks, and
 * the reports of what they gave: table, CSV, JSON, best per chip count and
 * the Pareto front.
 *
 * Pure: no MPI.  cmd_sweep.c expands the points on rank 0, hands them to
 * every rank, runs each on a sub-communicator and gathers the figures back.
 */
#ifndef CIM_COORDINATOR_SWEEP_H
#define CIM_COORDINATOR_SWEEP_H

#include <stdio.h>

#include "results.h"
#include "spec.h"

enum cim_point_status {
	CIM_POINT_RUN,	      /* fits and runs */
	CIM_POINT_INFEASIBLE, /* the model does not fit, or the split cannot be built */
	CIM_POINT_TOO_BIG,    /* needs more chips than the job has ranks */
};

/* One point of a study.  Plain data: rank 0 broadcasts the array. */
struct cim_sweep_point {
	uint32_t index;
	uint32_t chips_asked;		    /* the study's chip count; 0: the experiment's */
	uint32_t value[CIM_STUDY_MAX_AXES]; /* index of each axis's value */
	int32_t split;			    /* index in the study's splits; −1: none */
	uint32_t strategy;		    /* enum cim_strategy that chose tp, pp, dp */
	uint32_t tp, pp, dp;		    /* the split (0 when none could be made) */
	uint32_t chips;			    /* chips the point needs */
	uint32_t ranks;			    /* ranks it runs on: chips, or chips / tp when
					       each simulates its TP group; 0: chips */
	uint32_t status;		    /* enum cim_point_status */
	char why[1024];			    /* why it does not run */
};

/* The headline figures of a point that ran (docs/results.md).  Plain data:
 * sent to rank 0. */
struct cim_sweep_metrics {
	double tokens_per_s, prompt_tokens_per_s;
	double ttft_mean_s, ttft_p50_s, ttft_p99_s;
	double tpot_mean_s, tpot_p50_s, tpot_p99_s;
	double makespan_s, energy_j, energy_per_token_j, power_w, tops_per_w;
	double crossbar_util, bubbles;
	double est_tokens_per_s; /* the analytical estimate of the same plan */
	double mvm_rel_err;	 /* the chip's expected relative RMS error of an MVM
				    output; −1 when not estimated (docs/accuracy.md) */
	double wall_s;		 /* host time of the run: not a result */
	uint32_t micro_batches;
};

struct cim_sweep_result {
	bool ran;
	struct cim_sweep_metrics m;
	char *json;  /* the point's results (cimsim run --json), malloc'd */
	bool best;   /* highest throughput of its chip count among the points
			with the same axis values (ties: less energy) */
	bool pareto; /* not beaten on both throughput and energy per token */
};

/* The overrides that make point p of study s from the base experiment. */
struct cim_sweep_sets {
	const char *v[CIM_STUDY_MAX_SETS + CIM_STUDY_MAX_AXES + 4];
	size_t n;
	char own[4][64];
};
void cim_sweep_sets(const struct cim_study *s, const struct cim_sweep_point *p,
		    struct cim_sweep_sets *out);

/* A short name of the point for tables and plots ("batch=8 tp2 pp4"). */
void cim_sweep_label(const struct cim_study *s, const struct cim_sweep_point *p, char *buf,
		     size_t size);

/*
 * Expands study s into its points, loading each point's experiment through
 * files and planning it for a job of ranks ranks.  A point that does not
 * fit is kept, with the reason; an experiment a point cannot load is an
 * input error naming the study's line.  With tp_per_rank, a point that can
 * (tp > 1, no experts over the replicas) runs on a rank per TP group
 * (cim_sweep_point.ranks; cimsim run --tp-per-rank).  *points_p is malloc'd;
 * the caller frees it.
 */
int cim_sweep_expand(struct cim_files *files, const struct cim_study *s, uint32_t ranks,
		     bool tp_per_rank, struct cim_sweep_point **points_p, size_t *n_p,
		     struct cim_err *err);

/* The ranks point p runs on. */
uint32_t cim_sweep_ranks(const struct cim_sweep_point *p);

/*
 * Places the points that run into rounds on ranks ranks: largest first,
 * each round filled first-fit, each point on a block of consecutive ranks.
 * round[i] and first[i] are the round and first rank of point i (UINT32_MAX
 * for points that do not run).  Returns the number of rounds.
 */
uint32_t cim_sweep_schedule(const struct cim_sweep_point *pts, size_t n, uint32_t ranks,
			    uint32_t *round, uint32_t *first);

/* The figures of a run that the sweep reports. */
void cim_sweep_metrics_of(const struct cim_results *r, struct cim_sweep_metrics *m);

/* Sets best and pareto of every result that ran. */
void cim_sweep_mark(const struct cim_sweep_point *pts, struct cim_sweep_result *res, size_t n);

void cim_sweep_table(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		     const struct cim_sweep_result *res, size_t n);
/* One header line, then one row per point, run or not. */
void cim_sweep_csv(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		   const struct cim_sweep_result *res, size_t n);
void cim_sweep_json(FILE *f, const struct cim_study *s, const struct cim_sweep_point *pts,
		    const struct cim_sweep_result *res, size_t n, int ranks);

#endif /* CIM_COORDINATOR_SWEEP_H */
