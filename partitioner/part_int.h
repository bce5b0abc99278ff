/*
 * part_int.h — what the partitioner's files share among themselves.
 */
#ifndef CIM_PARTITIONER_PART_INT_H
#define CIM_PARTITIONER_PART_INT_H

#include "partitioner.h"

/* Most program steps one layer makes, and the embedding and head. */
#define PART_MAX_LAYER_OPS 40
#define PART_MAX_END_OPS   8

uint64_t part_share(uint64_t n, uint32_t p, uint32_t i);
uint64_t part_bytes(uint64_t elems, uint32_t bits);
enum cim_kv_where part_kv_where(const struct cim_chip_spec *c);
/* KV positions each sequence holds at the end: prompt + generated − 1,
 * capped by the sliding window. */
uint64_t part_context(const struct cim_experiment *e);
/* The most tokens a pass of a served load carries (docs/serving.md). */
uint64_t part_serving_pass_tokens(const struct cim_experiment *e, const struct cim_part_plan *plan,
				  uint32_t replica);
/*
 * Whether a split (tp chips per stage, pp stages, dp replicas) can be
 * planned; when not, err (which may be NULL) says why.  part_split_shape_ok
 * is the part about the model and the batch: tp divides the heads and
 * divides or is a multiple of the KV heads, pp ≤ layers, dp ≤ batch, none
 * 0.  part_split_ok adds the plan's limits: pp ≤ CIM_MAX_STAGES,
 * micro-batches ≤ the smallest replica's sequences, tp·pp·dp chips ≤
 * CIM_NET_MAX_POSITIONS.
 */
bool part_split_shape_ok(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
			 struct cim_err *err);
bool part_split_ok(const struct cim_experiment *e, uint32_t tp, uint32_t pp, uint32_t dp,
		   struct cim_err *err);
/* The crossbar group (resource) of shard s in layer layer of rank r; the
 * head's shard ignores layer. */
uint32_t matrix_res(const struct cim_part_rank *r, uint32_t layer, const struct cim_part_shard *s);
/* Layers per stage (out[pp], each ≥ 1, 1 ≤ pp ≤ layers) that minimise the
 * largest stage cost, then the sum of squared costs, then give later stages
 * fewer layers; a stage costs layers · layer_cost (≥ 1), plus first on
 * stage 0 and last on stage pp − 1.  −1 when out of memory. */
int part_balance(uint32_t layers, uint32_t pp, uint64_t layer_cost, uint64_t first, uint64_t last,
		 uint32_t *out);
uint64_t part_shard_crossbars(const struct cim_chip_spec *c, const struct cim_part_shard *s);

#endif /* CIM_PARTITIONER_PART_INT_H */
