/*
 * part_int.h — what the partitioner's files share among themselves.
 */
#ifndef CIM_PARTITIONER_PART_INT_H
#define CIM_PARTITIONER_PART_INT_H

#include "partitioner.h"

/* Most program steps one layer makes, and the embedding and head. */
#define PART_MAX_LAYER_OPS 24
#define PART_MAX_END_OPS   8

uint64_t part_share(uint64_t n, uint32_t p, uint32_t i);
uint64_t part_bytes(uint64_t elems, uint32_t bits);
enum cim_kv_where part_kv_where(const struct cim_chip_spec *c);
/* KV positions each sequence holds at the end: prompt + generated − 1,
 * capped by the sliding window. */
uint64_t part_context(const struct cim_experiment *e);
uint64_t part_shard_crossbars(const struct cim_chip_spec *c, const struct cim_part_shard *s);

#endif /* CIM_PARTITIONER_PART_INT_H */
