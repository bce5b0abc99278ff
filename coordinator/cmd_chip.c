/*
 * cmd_chip.c — `cimsim chip FILE`: what a chip is, from its parts.
 *
 * Crossbars, weight and KV capacity, peak TOPS, TOPS/W and TOPS/mm², area
 * and power by part, and one MVM on a full crossbar.  Every number comes
 * from the cost model in node/ (docs/chip-model.md); nothing is typed in.
 */
#include <stdio.h>
#include <string.h>

#include "accuracy.h"
#include "chip.h"
#include "cli.h"
#include "json.h"
#include "report.h"

static const char chip_usage[] =
    "usage: cimsim chip FILE [--json]\n\n"
    "Prints a chip described in FILE (configs/chips/): its crossbars, the weights\n"
    "and KV-cache bytes it holds, peak TOPS, TOPS/W at peak and TOPS/mm², area and\n"
    "power by part, and the time and energy of one MVM on a full crossbar.  Peaks\n"
    "are computed from the parts; docs/chip-model.md has the equations.\n\n"
    "  --json  print JSON instead of a table\n";

static const char *const sign_names[] = { "none", "differential", "offset" };
static const char *const adc_arch_names[] = {
	[CIM_ADC_GIVEN] = "",
	[CIM_ADC_SAR] = " SAR",
	[CIM_ADC_FLASH] = " flash",
	[CIM_ADC_RAMP] = " ramp",
};

/* Everything the command prints, computed once. */
struct chip_view {
	const struct cim_chip_spec *c;
	uint32_t need;	  /* ADC bits a column sum needs */
	uint64_t max_sum; /* its largest value */
	struct cim_chip_capacity cap;
	struct cim_chip_area area;
	struct cim_chip_peak peak;
	bool has_acc; /* estimated: the converter resolves the column's sums
			 (a truncating one's gain is not modelled) */
	struct cim_acc_est acc;
};

#define NAREAS 10
static void area_parts(const struct cim_chip_area *a, double v[NAREAS])
{
	v[0] = a->crossbars;
	v[1] = a->adc;
	v[2] = a->dac;
	v[3] = a->sample_hold;
	v[4] = a->shift_add;
	v[5] = a->digital;
	v[6] = a->buffer;
	v[7] = a->dram;
	v[8] = a->attn_engine;
	v[9] = a->other;
}

static const char *const area_names[NAREAS] = {
	"crossbars", "adc",    "dac",  "sample_hold",	   "shift_add",
	"digital",   "buffer", "dram", "attention_engine", "other",
};

/* What every kind of chip prints after its arrays. */
static void print_rest(FILE *f, const struct chip_view *v)
{
	const struct cim_chip_spec *c = v->c;
	const struct cim_chip_peak *p = &v->peak;
	const struct cim_chip_mvm *m = &p->mvm;
	const bool nm = c->kind == CIM_CHIP_NEAR_MEMORY;
	char b1[64], b2[64], b3[64];
	double parts[NAREAS];

	fprintf(f, "  weight capacity   %s parameters, %s (%s per %s)\n",
		cim_fmt_count(v->cap.weights, b1, sizeof(b1)),
		cim_fmt_bytes((double)v->cap.weight_bytes, b2, sizeof(b2)),
		cim_fmt_count(v->cap.weights_per_xbar, b3, sizeof(b3)), nm ? "block" : "crossbar");
	fprintf(f, "  KV capacity       buffer %s",
		cim_fmt_bytes((double)v->cap.buffer_bytes, b1, sizeof(b1)));
	if (c->has_dram)
		fprintf(f, ", DRAM %s", cim_fmt_bytes((double)v->cap.dram_bytes, b1, sizeof(b1)));
	if (c->has_attn_engine)
		fprintf(f, ", attention engine %s",
			cim_fmt_bytes((double)v->cap.engine_bytes, b1, sizeof(b1)));
	fputc('\n', f);
	fprintf(f, "  peak              %.4g TOPS, %.4g TOPS/W, %.4g TOPS/mm²\n",
		p->ops_per_s / 1e12, p->ops_per_j / 1e12, p->ops_per_s_mm2 / 1e12);
	fprintf(f, "  power at peak     %.4g W (dynamic %.4g W, static %.4g W)\n", p->power_w,
		p->dynamic_w, cim_chip_static_w(c));
	fprintf(f, "  area              %.4g mm²\n", v->area.total);
	struct cim_chip_cost pc;
	if (cim_chip_program(c, v->cap.crossbars, v->cap.weights * v->peak.map.cells_per_weight,
			     &pc) == 0)
		fprintf(
		    f,
		    "  writing weights   %.4g s and %.4g J for a full chip (program-and-verify)\n",
		    (double)pc.ps * 1e-12, cim_chip_energy_total(&pc.energy) * 1e-12);
	else if (nm)
		fprintf(f, "  writing weights   not priced (SRAM, loaded once)\n");
	else
		fprintf(f, "  writing weights   not priced (no program part)\n");

	fprintf(f, "\none MVM on a full %s (%llu×%llu weights):\n", nm ? "block" : "crossbar",
		(unsigned long long)p->map.k, (unsigned long long)p->map.n);
	if (nm)
		fprintf(
		    f,
		    "  latency %.4g ns, interval %.4g ns, energy %.6g pJ (weights read %.6g pJ)\n",
		    (double)m->latency_ps / 1e3, (double)m->interval_ps / 1e3,
		    cim_chip_energy_total(&m->energy), m->weight_pj);
	else
		fprintf(f,
			"  latency %.4g ns, interval %.4g ns (reads: %u input cycles × %u row "
			"groups, of "
			"%.4g ns), energy %.6g pJ, conversions: %llu\n",
			(double)m->latency_ps / 1e3, (double)m->interval_ps / 1e3, m->input_cycles,
			m->row_groups, (double)m->cycle_ps / 1e3, cim_chip_energy_total(&m->energy),
			(unsigned long long)m->conversions);

	if (!v->has_acc)
		fprintf(f,
			"  accuracy          not estimated: the ADC drops %u bits and its gain "
			"(adc.range_fraction, the range it is set to) is not given "
			"(docs/accuracy.md)\n",
			v->need - c->adc.bits);
	else if (v->acc.mse == 0)
		fprintf(f,
			nm ? "  accuracy          exact: integer MACs on the quantized weights and "
			     "inputs (docs/accuracy.md)\n"
			   : "  accuracy          exact: no cell errors and every column sum "
			     "resolved (docs/accuracy.md)\n");
	else
		fprintf(
		    f,
		    "  accuracy          SNR %.4g dB, relative RMS error %.4g %% of one output, "
		    "inputs and weights uniform over their ranges; mean squared error %.4g "
		    "(cells %.4g, read %.4g, ADC %.4g; docs/accuracy.md)\n",
		    v->acc.snr_db, 100 * v->acc.rel_rms, v->acc.mse, v->acc.mse_cells,
		    v->acc.mse_read, v->acc.mse_adc);

	fprintf(f, "\n  %-18s %14s %14s\n", "part", "MVM pJ", "peak W");
	for (int i = 0; i < CIM_E_NCHIP; i++)
		fprintf(f, "  %-18s %14.1f %14.4g\n", cim_chip_ecomp_name((enum cim_chip_ecomp)i),
			m->energy.pj[i], p->power_by_part.pj[i]);
	fprintf(f, "  %-18s %14s %14.4g\n", "static", "", cim_chip_static_w(c));

	fprintf(f, "\n  %-18s %14s\n", "area", "mm²");
	area_parts(&v->area, parts);
	for (int i = 0; i < NAREAS; i++)
		fprintf(f, "  %-18s %14.4g\n", area_names[i], parts[i]);
}

/* The cores of a near-memory chip (docs/chip-model.md §12). */
static void print_near_memory(FILE *f, const struct chip_view *v)
{
	const struct cim_chip_spec *c = v->c;
	const struct cim_nm_spec *nm = &c->nm;
	char b1[64];

	fprintf(f,
		"  cores             %u, %u MACs per cycle each at %.4g GHz, %s GB/s of weights "
		"each; %s\n",
		nm->cores, nm->macs_per_cycle, nm->clock_hz / 1e9,
		cim_fmt_count((uint64_t)(nm->bandwidth / 1e9), b1, sizeof(b1)),
		nm->shared ? "shared: every core works on one matrix at a time"
			   : "spatial: each core computes its own block");
	fprintf(f, "  blocks            %u per core of %u×%u weights\n", c->crossbars_per_tile,
		c->xbar.rows, c->xbar.cols);
	fprintf(f, "  weights           %u-bit, inputs %u-bit, integer MACs (no converters)\n",
		c->weight_bits, c->input_bits);
	print_rest(f, v);
}

static void print_text(FILE *f, const struct chip_view *v)
{
	const struct cim_chip_spec *c = v->c;
	const struct cim_chip_peak *p = &v->peak;
	const struct cim_chip_mvm *m = &p->mvm;
	char b1[64];

	fprintf(f, "chip %s\n", c->name);
	if (c->kind == CIM_CHIP_NEAR_MEMORY) {
		print_near_memory(f, v);
		return;
	}
	fprintf(f, "  crossbars         %s (%u tiles × %u), %u×%u, %u-bit cells\n",
		cim_fmt_count(v->cap.crossbars, b1, sizeof(b1)), c->tiles, c->crossbars_per_tile,
		c->xbar.rows, c->xbar.cols, c->xbar.cell_bits);
	fprintf(f,
		"  weights           %u-bit, signed: %s, cells per weight: %u; inputs %u-bit, "
		"%u-bit DACs, input cycles: %u\n",
		c->weight_bits, sign_names[c->sign], p->map.cells_per_weight, c->input_bits,
		c->dac.bits, m->input_cycles);
	fprintf(f,
		"  ADCs              %u per crossbar, %u-bit%s%s, %.4g ns and %.4g pJ per "
		"conversion%s\n",
		c->adc.per_crossbar, c->adc.bits, adc_arch_names[c->adc.arch],
		c->adc.fom_kind == CIM_FOM_WALDEN     ? ", Walden FoM"
		: c->adc.fom_kind == CIM_FOM_SCHREIER ? ", Schreier FoM"
						      : "",
		(double)c->adc.latency_ps / 1e3, c->adc.energy_pj,
		c->has_sample_hold ? ", sample-and-hold" : "");
	fprintf(f, "  ADC resolution    needs %u bits (%u rows × %u × %u = %s%s), has %u: %s\n",
		v->need, c->xbar.rows_per_cycle, (1u << c->xbar.cell_bits) - 1,
		(1u << c->dac.bits) - 1, cim_fmt_count(v->max_sum, b1, sizeof(b1)),
		c->adc.encoding == CIM_ENC_ISAAC ? ", less 1 for ISAAC's encoding" : "",
		c->adc.bits,
		v->need <= c->adc.bits ? "resolves every column sum"
				       : "drops the low bits (accept_truncation)");
	print_rest(f, v);
}

static void print_json(struct json_w *w, const struct chip_view *v)
{
	const struct cim_chip_spec *c = v->c;
	const struct cim_chip_peak *p = &v->peak;
	double parts[NAREAS];

	json_str(w, "name", c->name);
	json_str(w, "kind", c->kind == CIM_CHIP_NEAR_MEMORY ? "near_memory" : "crossbar");
	if (c->kind == CIM_CHIP_NEAR_MEMORY) {
		json_obj(w, "near_memory");
		json_u64(w, "cores", c->nm.cores);
		json_u64(w, "blocks_per_core", c->crossbars_per_tile);
		json_u64(w, "macs_per_cycle", c->nm.macs_per_cycle);
		json_f64(w, "clock_hz", c->nm.clock_hz);
		json_f64(w, "bandwidth_bytes_per_s", c->nm.bandwidth);
		json_bool(w, "shared", c->nm.shared);
		json_obj_end(w);
	}
	json_u64(w, "crossbars", v->cap.crossbars);
	json_u64(w, "tiles", c->tiles);
	json_u64(w, "crossbars_per_tile", c->crossbars_per_tile);
	json_u64(w, "rows", c->xbar.rows);
	json_u64(w, "cols", c->xbar.cols);
	json_u64(w, "cells_per_weight", p->map.cells_per_weight);
	json_u64(w, "rows_per_cycle", c->xbar.rows_per_cycle);
	json_obj(w, "adc");
	json_u64(w, "bits", c->adc.bits);
	json_u64(w, "bits_needed", v->need);
	json_u64(w, "bits_dropped", v->need > c->adc.bits ? v->need - c->adc.bits : 0);
	json_u64(w, "max_column_sum", v->max_sum);
	json_f64(w, "latency_ps", c->adc.latency_ps);
	json_f64(w, "energy_pj", c->adc.energy_pj);
	json_f64(w, "area_mm2", c->adc.area_mm2);
	json_obj_end(w);
	json_obj(w, "capacity");
	json_u64(w, "weights", v->cap.weights);
	json_u64(w, "weight_bytes", v->cap.weight_bytes);
	json_u64(w, "weights_per_crossbar", v->cap.weights_per_xbar);
	json_u64(w, "buffer_bytes", v->cap.buffer_bytes);
	json_u64(w, "dram_bytes", v->cap.dram_bytes);
	json_u64(w, "attention_engine_bytes", v->cap.engine_bytes);
	json_obj_end(w);
	json_obj(w, "peak");
	json_f64(w, "tops", p->ops_per_s / 1e12);
	json_f64(w, "tops_per_w", p->ops_per_j / 1e12);
	json_f64(w, "tops_per_mm2", p->ops_per_s_mm2 / 1e12);
	json_f64(w, "power_w", p->power_w);
	json_f64(w, "dynamic_w", p->dynamic_w);
	json_f64(w, "static_w", cim_chip_static_w(c));
	json_obj(w, "power_w_by_part");
	for (int i = 0; i < CIM_E_NCHIP; i++)
		json_f64(w, cim_chip_ecomp_name((enum cim_chip_ecomp)i), p->power_by_part.pj[i]);
	json_obj_end(w);
	json_obj_end(w);
	json_obj(w, "area_mm2");
	json_f64(w, "total", v->area.total);
	area_parts(&v->area, parts);
	for (int i = 0; i < NAREAS; i++)
		json_f64(w, area_names[i], parts[i]);
	json_obj_end(w);
	json_obj(w, "accuracy");
	json_bool(w, "estimated", v->has_acc);
	if (v->has_acc) {
		json_f64(w, "signal", v->acc.signal);
		json_f64(w, "mse", v->acc.mse);
		json_f64(w, "mse_cells", v->acc.mse_cells);
		json_f64(w, "mse_read", v->acc.mse_read);
		json_f64(w, "mse_adc", v->acc.mse_adc);
		json_f64(w, "relative_rms_error", v->acc.rel_rms);
		if (v->acc.mse > 0)
			json_f64(w, "snr_db", v->acc.snr_db);
	}
	json_obj_end(w);
	json_obj(w, "mvm");
	json_u64(w, "k", p->map.k);
	json_u64(w, "n", p->map.n);
	json_u64(w, "input_cycles", p->mvm.input_cycles);
	json_u64(w, "row_groups", p->mvm.row_groups);
	json_u64(w, "cycle_ps", p->mvm.cycle_ps);
	json_u64(w, "latency_ps", p->mvm.latency_ps);
	json_u64(w, "interval_ps", p->mvm.interval_ps);
	json_u64(w, "conversions", p->mvm.conversions);
	json_f64(w, "energy_pj", cim_chip_energy_total(&p->mvm.energy));
	json_obj(w, "energy_pj_by_part");
	for (int i = 0; i < CIM_E_NCHIP; i++)
		json_f64(w, cim_chip_ecomp_name((enum cim_chip_ecomp)i), p->mvm.energy.pj[i]);
	json_obj_end(w);
	json_obj_end(w);
}

int cim_cmd_chip(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			fputs(chip_usage, stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (a[0] == '-' || path) {
			cim_cli_error("chip: unexpected argument '%s'\n%s", a, chip_usage);
			return CIM_EXIT_INPUT;
		} else {
			path = a;
		}
	}
	if (!path) {
		cim_cli_error("chip: no FILE given\n%s", chip_usage);
		return CIM_EXIT_INPUT;
	}

	struct cim_files *files = cim_files_create(true);
	struct cim_chip_spec c;
	struct cim_err err;
	if (!files) {
		cim_cli_error("out of memory");
		return 1;
	}
	int rc = cim_spec_load_chip(files, path, &c, &err);
	cim_files_destroy(files);
	if (rc) {
		cim_cli_error("%s", err.msg);
		return CIM_EXIT_INPUT;
	}

	struct chip_view v = { .c = &c };
	v.need = cim_spec_adc_bits_needed(&c, &v.max_sum);
	cim_chip_capacity(&c, &v.cap);
	cim_chip_area(&c, &v.area);
	cim_chip_peak(&c, &v.peak);
	v.has_acc = v.need <= c.adc.bits || c.adc.has_range;
	if (v.has_acc)
		cim_acc_estimate(&c, c.xbar.rows, &v.acc);
	if (json) {
		struct json_w w;
		json_begin(&w, stdout);
		print_json(&w, &v);
		json_end(&w);
	} else {
		print_text(stdout, &v);
	}
	return 0;
}
