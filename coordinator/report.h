/*
 * report.h — how the coordinator prints what it knows, as readable tables
 * and as JSON, so every command that shows a model (or, later, a run)
 * prints it the same way.
 */
#ifndef CIM_COORDINATOR_REPORT_H
#define CIM_COORDINATOR_REPORT_H

#include <stdio.h>

#include "json.h"
#include "partitioner.h"
#include "spec.h"

struct cim_model_report {
	const struct cim_model_spec *model;
	uint32_t weight_bits; /* precision of the weight byte count */
	uint32_t kv_bits;     /* precision of the KV byte count */
	uint64_t context;     /* context length of the MAC counts */
};

void cim_report_model_text(FILE *f, const struct cim_model_report *r);
/* Writes the model's members into the current JSON object. */
void cim_report_model_json(struct json_w *w, const struct cim_model_report *r);

/* One line on a chip: crossbars, weight capacity, peak TOPS, TOPS/W. */
void cim_report_chip_line(FILE *f, const struct cim_chip_spec *c);
void cim_report_chip_json(struct json_w *w, const struct cim_chip_spec *c);
/* One line on an interconnect laid out for chips ranks. */
void cim_report_net_line(FILE *f, const struct cim_net_spec *n, uint32_t chips);

/* A plan: per chip layers, crossbars, fill, weights, KV, memory; the
 * shards of one chip. */
void cim_report_plan_text(FILE *f, const struct cim_experiment *e, const struct cim_part_plan *p);
void cim_report_plan_json(struct json_w *j, const struct cim_experiment *e,
			  const struct cim_part_plan *p);
/* An analytical estimate's members into the current JSON object. */
void cim_report_estimate_json(struct json_w *j, const struct cim_part_estimate *est);

/* "6,738,415,616" into buf. */
const char *cim_fmt_count(uint64_t v, char *buf, size_t size);
/* "6.74 B", "124 M" (decimal) into buf. */
const char *cim_fmt_si(double v, char *buf, size_t size);
/* "12.55 GiB" (binary) into buf. */
const char *cim_fmt_bytes(double bytes, char *buf, size_t size);

#endif /* CIM_COORDINATOR_REPORT_H */
