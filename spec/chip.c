/*
 * chip.c — reads a chip description (a file of configs/chips, or the chip:
 * mapping of an experiment) into struct cim_chip_spec.
 *
 * The field tables read the YAML keys strictly into a document struct that
 * mirrors the file, in the units the keys name; chip_convert() then checks
 * what needs several fields (at least one ADC, cells no wider than weights,
 * DACs no wider than inputs, one of each pair of alternative keys) and
 * converts to internal units.  docs/chip-model.md lists every key.  What the
 * parts cost is node/'s business, not this file's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

/* A number field that also records whether it was given. */
#define FF64P(k, T, m, fl, lo, hi, sc, h, pres)                                                    \
	{                                                                                          \
		.key = k, .type = F_F64, .offset = offsetof(T, m), .flags = fl, .min = lo,         \
		.max = hi, .scale = sc, .hint = h, .present = (long)offsetof(T, pres)              \
	}
/* A nested part, with a hint for the "missing" message. */
#define FPART(k, T, m, fl, s, pres, h)                                                             \
	{                                                                                          \
		.key = k, .type = F_MAP, .offset = offsetof(T, m), .flags = fl, .sub = s,          \
		.present = pres, .hint = h                                                         \
	}

#define REQ FIELD_REQUIRED
#define POS FIELD_POSITIVE
#define MIB 1048576.0

/* The file as written, in the keys' units scaled to internal ones. */
struct xbar_doc {
	uint32_t rows, rows_per_cycle, cols, cell_bits;
	double read_ps, read_pj, area_mm2;
	bool has_rows_per_cycle;
};

struct weights_doc {
	uint32_t bits;
	int sign;
	uint32_t offset_cols;
	bool has_offset_cols;
};

struct inputs_doc {
	uint32_t bits;
};

struct dac_doc {
	uint32_t bits;
	double energy_pj, area_mm2;
};

struct adc_doc {
	uint32_t bits, per_crossbar;
	int type, encoding;
	bool accept_truncation;
	double range;
	bool has_range;
	double latency_ps, rate_hz, clock_hz, energy_pj, fom_pj, schreier_db, area_mm2,
	    area_step_mm2;
	bool has_latency, has_rate, has_type, has_clock, has_energy, has_fom, has_schreier,
	    has_area, has_area_step;
};

struct shift_add_doc {
	double energy_pj, latency_ps, area_mm2;
};

struct sample_hold_doc {
	double energy_pj, area_mm2;
};

struct digital_doc {
	uint32_t lanes;
	double clock_hz, energy_pj, area_mm2;
};

struct buffer_doc {
	double bytes, bandwidth, energy_pj, area_mm2;
};

struct dram_doc {
	double bytes, bandwidth, energy_pj_bit, area_mm2, background_w;
};

struct engine_doc {
	double bytes;
	uint32_t macs_per_cycle;
	double clock_hz, mac_pj, write_ps, write_pj, area_mm2;
};

struct program_doc {
	uint32_t iterations, rows_in_parallel, crossbars_in_parallel;
	double pulse_ps, pulse_pj;
	bool has_rows;
};

struct noise_doc {
	double prog_sigma, read_sigma, nu_mean, nu_sd, t_s, t0_s, stuck_on, stuck_off;
	bool compensated, has_t0, has_comp, has_nu, has_t;
};

struct other_doc {
	double power_w, area_mm2, tile_power_w, tile_area_mm2;
};

struct nm_doc {
	uint32_t cores, macs_per_cycle, block_rows, block_cols;
	double clock_hz, memory_bytes, bandwidth, mac_pj, read_pj, add_pj, add_ps, area_mm2;
	bool shared;
};

struct chip_doc {
	char name[64];
	struct xbar_doc xbar;
	struct weights_doc weights;
	struct inputs_doc inputs;
	struct dac_doc dac;
	struct adc_doc adc;
	struct shift_add_doc shift_add;
	struct sample_hold_doc sample_hold;
	uint32_t tiles, crossbars_per_tile;
	struct digital_doc digital;
	struct buffer_doc buffer;
	struct dram_doc dram;
	struct engine_doc engine;
	double leakage_w;
	struct other_doc other;
	struct program_doc program;
	struct noise_doc noise;
	struct nm_doc nm;
	bool has_dac, has_adc, has_sample_hold, has_dram, has_engine, has_program, has_noise;
	bool has_xbar, has_nm, has_tiles, has_cpt, has_shift_add;
};

static const struct field xbar_fields[] = {
	FU32("rows", struct xbar_doc, rows, REQ | POS, 1, 65536, "wordlines: inputs"),
	{ .key = "rows_per_cycle",
	  .type = F_U32,
	  .offset = offsetof(struct xbar_doc, rows_per_cycle),
	  .flags = POS,
	  .min = 1,
	  .max = 65536,
	  .hint = "rows driven together in one read",
	  .present = (long)offsetof(struct xbar_doc, has_rows_per_cycle) },
	FU32("cols", struct xbar_doc, cols, REQ | POS, 1, 65536, "bitlines: cells per row"),
	FU32("cell_bits", struct xbar_doc, cell_bits, REQ | POS, 1, 16, "bits per cell"),
	FF64("read_latency_ns", struct xbar_doc, read_ps, REQ | POS, 0, 1e9, U_NS_TO_PS,
	     "one activation of the array"),
	FF64("read_energy_pj", struct xbar_doc, read_pj, REQ, 0, 1e9, 0,
	     "one activation of the whole array"),
	FF64("area_um2", struct xbar_doc, area_mm2, 0, 0, 1e12, U_UM2_TO_MM2, "one crossbar"),
};
SCHEMA(xbar_schema, "crossbar", xbar_fields, false);

static const char *const sign_words[] = { "none", "differential", "offset", NULL };

static const struct field weights_fields[] = {
	FU32("bits", struct weights_doc, bits, REQ | POS, 1, 32, "stored weight precision"),
	FENUM("signed", struct weights_doc, sign, REQ, sign_words, "how signed weights are stored"),
	{ .key = "offset_columns",
	  .type = F_U32,
	  .offset = offsetof(struct weights_doc, offset_cols),
	  .min = 0,
	  .max = 65535,
	  .hint = "reference columns per crossbar",
	  .present = (long)offsetof(struct weights_doc, has_offset_cols) },
};
SCHEMA(weights_schema, "weights", weights_fields, false);

static const struct field inputs_fields[] = {
	FU32("bits", struct inputs_doc, bits, REQ | POS, 1, 32, "activation precision"),
};
SCHEMA(inputs_schema, "inputs", inputs_fields, false);

static const struct field dac_fields[] = {
	FU32("bits", struct dac_doc, bits, REQ | POS, 1, 32, "input bits per cycle"),
	FF64("energy_pj", struct dac_doc, energy_pj, REQ, 0, 1e6, 0, "one row for one cycle"),
	FF64("area_um2", struct dac_doc, area_mm2, 0, 0, 1e12, U_UM2_TO_MM2, "one DAC"),
};
SCHEMA(dac_schema, "dac", dac_fields, false);

static const char *const adc_type_words[] = { "sar", "flash", "ramp", NULL };
static const char *const adc_encoding_words[] = { "none", "isaac", NULL };

static const struct field adc_fields[] = {
	FU32("bits", struct adc_doc, bits, REQ | POS, 1, 24, "resolution"),
	FU32("per_crossbar", struct adc_doc, per_crossbar, REQ, 0, 65536,
	     "ADCs shared by a crossbar's columns"),
	{ .key = "type",
	  .type = F_ENUM,
	  .offset = offsetof(struct adc_doc, type),
	  .words = adc_type_words,
	  .hint = "the converter's architecture, which sets its conversion time",
	  .present = (long)offsetof(struct adc_doc, has_type) },
	FF64P("clock_ghz", struct adc_doc, clock_hz, POS, 1e-6, 1e4, U_GHZ_TO_HZ,
	      "the converter's clock (with type)", has_clock),
	FF64P("latency_ns", struct adc_doc, latency_ps, POS, 0, 1e9, U_NS_TO_PS, "one conversion",
	      has_latency),
	FF64P("sample_rate_gsps", struct adc_doc, rate_hz, POS, 1e-6, 1e6, U_GHZ_TO_HZ,
	      "conversions per second, in G/s", has_rate),
	FF64P("energy_pj", struct adc_doc, energy_pj, 0, 0, 1e6, 0, "one conversion", has_energy),
	FF64P("fom_fj_per_step", struct adc_doc, fom_pj, POS, 0, 1e6, U_FJ_TO_PJ,
	      "Walden figure of merit", has_fom),
	FF64P("fom_schreier_db", struct adc_doc, schreier_db, POS, 100, 250, 0,
	      "Schreier figure of merit, SNDR + 10·log10(f_s / 2 / P)", has_schreier),
	FF64P("area_um2", struct adc_doc, area_mm2, 0, 0, 1e12, U_UM2_TO_MM2, "one ADC", has_area),
	FF64P("area_um2_per_step", struct adc_doc, area_step_mm2, POS, 0, 1e12, U_UM2_TO_MM2,
	      "one ADC's area per level: area = this · 2^bits", has_area_step),
	FENUM("encoding", struct adc_doc, encoding, 0, adc_encoding_words,
	      "how column sums are encoded: none or isaac"),
	FBOOL("accept_truncation", struct adc_doc, accept_truncation, 0,
	      "convert the top bits of the range and drop the rest"),
	{ .key = "range_fraction",
	  .type = F_F64,
	  .offset = offsetof(struct adc_doc, range),
	  .flags = POS,
	  .min = 0,
	  .max = 1,
	  .hint = "the converter's full scale over the column's largest sum (its gain)",
	  .present = (long)offsetof(struct adc_doc, has_range) },
};
SCHEMA(adc_schema, "adc", adc_fields, false);

static const struct field shift_add_fields[] = {
	FF64("energy_pj", struct shift_add_doc, energy_pj, 0, 0, 1e6, 0, "one shift-and-add"),
	FF64("latency_ns", struct shift_add_doc, latency_ps, 0, 0, 1e9, U_NS_TO_PS,
	     "one adder-tree level"),
	FF64("area_um2", struct shift_add_doc, area_mm2, 0, 0, 1e12, U_UM2_TO_MM2, "per crossbar"),
};
SCHEMA(shift_add_schema, "shift_add", shift_add_fields, false);

static const struct field sample_hold_fields[] = {
	FF64("energy_pj", struct sample_hold_doc, energy_pj, REQ, 0, 1e6, 0, "one column sampled"),
	FF64("area_um2", struct sample_hold_doc, area_mm2, 0, 0, 1e12, U_UM2_TO_MM2, "per column"),
};
SCHEMA(sample_hold_schema, "sample_hold", sample_hold_fields, false);

static const struct field digital_fields[] = {
	FU32("lanes", struct digital_doc, lanes, REQ | POS, 1, 1u << 24, "operations per cycle"),
	FF64("clock_ghz", struct digital_doc, clock_hz, REQ | POS, 1e-3, 1e3, U_GHZ_TO_HZ, "clock"),
	FF64("energy_pj", struct digital_doc, energy_pj, REQ, 0, 1e6, 0, "one lane operation"),
	FF64("area_mm2", struct digital_doc, area_mm2, 0, 0, 1e6, 0, "the vector unit"),
};
SCHEMA(digital_schema, "digital", digital_fields, false);

static const struct field buffer_fields[] = {
	FF64("capacity_mib", struct buffer_doc, bytes, REQ | POS, 0, 1e9, MIB, "capacity"),
	FF64("bandwidth_gb_per_s", struct buffer_doc, bandwidth, REQ | POS, 1e-3, 1e9,
	     U_GBPS_TO_BPS, "all banks together"),
	FF64("energy_pj_per_byte", struct buffer_doc, energy_pj, REQ, 0, 1e6, 0, "read or written"),
	FF64("area_mm2", struct buffer_doc, area_mm2, 0, 0, 1e6, 0, "the buffer"),
};
SCHEMA(buffer_schema, "buffer", buffer_fields, false);

static const struct field dram_fields[] = {
	FF64("capacity_mib", struct dram_doc, bytes, REQ | POS, 0, 1e9, MIB, "capacity"),
	FF64("bandwidth_gb_per_s", struct dram_doc, bandwidth, REQ | POS, 1e-3, 1e9, U_GBPS_TO_BPS,
	     "bandwidth"),
	FF64("energy_pj_per_bit", struct dram_doc, energy_pj_bit, REQ, 0, 1e6, 0,
	     "read or written"),
	FF64("area_mm2", struct dram_doc, area_mm2, 0, 0, 1e6, 0, "PHY and controller on the die"),
	FF64("background_power_mw", struct dram_doc, background_w, 0, 0, 1e9, U_MW_TO_W,
	     "background and refresh power"),
};
SCHEMA(dram_schema, "dram", dram_fields, false);

static const struct field engine_fields[] = {
	FF64("capacity_mib", struct engine_doc, bytes, REQ | POS, 0, 1e9, MIB, "K/V capacity"),
	FU32("macs_per_cycle", struct engine_doc, macs_per_cycle, REQ | POS, 1, 1u << 30,
	     "MACs per cycle"),
	FF64("clock_ghz", struct engine_doc, clock_hz, REQ | POS, 1e-3, 1e3, U_GHZ_TO_HZ, "clock"),
	FF64("mac_energy_pj", struct engine_doc, mac_pj, REQ, 0, 1e6, 0, "one MAC"),
	FF64("write_latency_ns", struct engine_doc, write_ps, REQ, 0, 1e9, U_NS_TO_PS,
	     "writing one K or V vector"),
	FF64("write_energy_pj_per_byte", struct engine_doc, write_pj, REQ, 0, 1e6, 0,
	     "per byte written"),
	FF64("area_mm2", struct engine_doc, area_mm2, 0, 0, 1e6, 0, "the engine"),
};
SCHEMA(engine_schema, "attention_engine", engine_fields, false);

static const struct field program_fields[] = {
	FU32("iterations", struct program_doc, iterations, REQ | POS, 1, 100000,
	     "program-and-verify iterations per row"),
	FF64("pulse_ns", struct program_doc, pulse_ps, REQ | POS, 0, 1e9, U_NS_TO_PS,
	     "one programming pulse"),
	FF64("pulse_energy_pj", struct program_doc, pulse_pj, REQ, 0, 1e9, 0,
	     "one pulse on one cell"),
	{ .key = "rows_in_parallel",
	  .type = F_U32,
	  .offset = offsetof(struct program_doc, rows_in_parallel),
	  .flags = POS,
	  .min = 1,
	  .max = 65536,
	  .hint = "rows of a crossbar written at once",
	  .present = (long)offsetof(struct program_doc, has_rows) },
	FU32("crossbars_in_parallel", struct program_doc, crossbars_in_parallel, REQ | POS, 1,
	     1u << 30, "crossbars written at once"),
};
SCHEMA(program_schema, "program", program_fields, false);

#define NZ struct noise_doc
static const struct field noise_fields[] = {
	FF64("programming_sigma", NZ, prog_sigma, 0, 0, 1, 0,
	     "per cell, fraction of its full range, drawn once"),
	FF64("read_sigma", NZ, read_sigma, 0, 0, 1, 0, "per cell and read, fraction of its range"),
	{ .key = "drift_nu_mean",
	  .type = F_F64,
	  .offset = offsetof(NZ, nu_mean),
	  .min = 0,
	  .max = 1,
	  .hint = "PCM drift exponent",
	  .present = (long)offsetof(NZ, has_nu) },
	FF64("drift_nu_sd", NZ, nu_sd, 0, 0, 1, 0, "its spread over cells"),
	{ .key = "drift_time_s",
	  .type = F_F64,
	  .offset = offsetof(NZ, t_s),
	  .flags = POS,
	  .min = 0,
	  .max = 1e10,
	  .hint = "time of inference after programming",
	  .present = (long)offsetof(NZ, has_t) },
	{ .key = "drift_t0_s",
	  .type = F_F64,
	  .offset = offsetof(NZ, t0_s),
	  .flags = POS,
	  .min = 0,
	  .max = 1e10,
	  .hint = "time of the reference read after programming",
	  .present = (long)offsetof(NZ, has_t0) },
	{ .key = "drift_compensation",
	  .type = F_BOOL,
	  .offset = offsetof(NZ, compensated),
	  .hint = "a global factor per crossbar undoes the mean drift",
	  .present = (long)offsetof(NZ, has_comp) },
	FF64("stuck_on_rate", NZ, stuck_on, 0, 0, 1, 0, "share of cells stuck at full conductance"),
	FF64("stuck_off_rate", NZ, stuck_off, 0, 0, 1, 0, "share of cells stuck at zero"),
};
#undef NZ
SCHEMA(noise_schema, "noise", noise_fields, false);

static const struct field other_fields[] = {
	FF64("power_mw", struct other_doc, power_w, 0, 0, 1e9, U_MW_TO_W, "chip level"),
	FF64("area_mm2", struct other_doc, area_mm2, 0, 0, 1e6, 0, "chip level"),
	FF64("per_tile_power_mw", struct other_doc, tile_power_w, 0, 0, 1e9, U_MW_TO_W,
	     "in every tile"),
	FF64("per_tile_area_mm2", struct other_doc, tile_area_mm2, 0, 0, 1e6, 0, "in every tile"),
};
SCHEMA(other_schema, "other", other_fields, false);

static const struct field nm_fields[] = {
	FU32("cores", struct nm_doc, cores, REQ | POS, 1, 1u << 24, "cores on the chip"),
	FU32("macs_per_cycle", struct nm_doc, macs_per_cycle, REQ | POS, 1, 1u << 30,
	     "MACs per cycle of one core's array, at the chip's precisions"),
	FF64("clock_ghz", struct nm_doc, clock_hz, REQ | POS, 1e-3, 1e3, U_GHZ_TO_HZ, "clock"),
	FF64("memory_kib", struct nm_doc, memory_bytes, REQ | POS, 0, 1e12, 1024,
	     "weight memory of one core"),
	FF64("memory_bandwidth_gb_per_s", struct nm_doc, bandwidth, REQ | POS, 1e-3, 1e9,
	     U_GBPS_TO_BPS, "one core's weight memory to its MAC array"),
	FU32("block_rows", struct nm_doc, block_rows, REQ | POS, 1, 1u << 20,
	     "rows (inputs) of the block of weights a matrix is cut into"),
	FU32("block_cols", struct nm_doc, block_cols, REQ | POS, 1, 1u << 20,
	     "columns (outputs) of a block"),
	FF64("mac_energy_pj", struct nm_doc, mac_pj, REQ, 0, 1e6, 0, "one MAC"),
	FF64("read_energy_pj_per_byte", struct nm_doc, read_pj, REQ, 0, 1e6, 0,
	     "one byte of weights read"),
	FF64("add_energy_pj", struct nm_doc, add_pj, 0, 0, 1e6, 0,
	     "one add of two blocks' partial sums"),
	FF64("add_latency_ns", struct nm_doc, add_ps, 0, 0, 1e9, U_NS_TO_PS,
	     "one level of the adder tree over row blocks"),
	FF64("area_mm2", struct nm_doc, area_mm2, 0, 0, 1e6, 0, "one core"),
	FBOOL("shared", struct nm_doc, shared, 0,
	      "every core works on one matrix at a time (true) or each core on its own (false)"),
};
SCHEMA(nm_schema, "near_memory", nm_fields, false);

#define NOPRES FIELD_PRESENT_NONE
static const struct field chip_fields[] = {
	FSTR("name", struct chip_doc, name, REQ, "the chip's name"),
	/* crossbar or near_memory, checked in chip_convert() */
	FPART("crossbar", struct chip_doc, xbar, 0, &xbar_schema,
	      (long)offsetof(struct chip_doc, has_xbar), NULL),
	FPART("near_memory", struct chip_doc, nm, 0, &nm_schema,
	      (long)offsetof(struct chip_doc, has_nm), NULL),
	FPART("weights", struct chip_doc, weights, REQ, &weights_schema, NOPRES,
	      "bits and signed: none, differential or offset"),
	FPART("inputs", struct chip_doc, inputs, REQ, &inputs_schema, NOPRES, "bits"),
	/* dac and adc are required, checked in chip_convert(): the framework's
	 * misspelling guess would take one for the other (edit distance 2). */
	FPART("dac", struct chip_doc, dac, 0, &dac_schema, (long)offsetof(struct chip_doc, has_dac),
	      NULL),
	FPART("adc", struct chip_doc, adc, 0, &adc_schema, (long)offsetof(struct chip_doc, has_adc),
	      NULL),
	FPART("shift_add", struct chip_doc, shift_add, 0, &shift_add_schema,
	      (long)offsetof(struct chip_doc, has_shift_add), NULL),
	FPART("sample_hold", struct chip_doc, sample_hold, 0, &sample_hold_schema,
	      (long)offsetof(struct chip_doc, has_sample_hold), NULL),
	{ .key = "tiles",
	  .type = F_U32,
	  .offset = offsetof(struct chip_doc, tiles),
	  .flags = POS,
	  .min = 1,
	  .max = 1u << 24,
	  .hint = "tiles per chip",
	  .present = (long)offsetof(struct chip_doc, has_tiles) },
	{ .key = "crossbars_per_tile",
	  .type = F_U32,
	  .offset = offsetof(struct chip_doc, crossbars_per_tile),
	  .flags = POS,
	  .min = 1,
	  .max = 1u << 24,
	  .hint = "crossbars in a tile",
	  .present = (long)offsetof(struct chip_doc, has_cpt) },
	FPART("digital", struct chip_doc, digital, REQ, &digital_schema, NOPRES,
	      "the vector unit: lanes, clock_ghz, energy_pj"),
	FPART("buffer", struct chip_doc, buffer, REQ, &buffer_schema, NOPRES,
	      "on-chip memory: capacity_mib, bandwidth_gb_per_s, energy_pj_per_byte"),
	FPART("dram", struct chip_doc, dram, 0, &dram_schema,
	      (long)offsetof(struct chip_doc, has_dram), NULL),
	FPART("attention_engine", struct chip_doc, engine, 0, &engine_schema,
	      (long)offsetof(struct chip_doc, has_engine), NULL),
	FF64("leakage_power_mw", struct chip_doc, leakage_w, 0, 0, 1e9, U_MW_TO_W,
	     "static power of the chip"),
	FPART("other", struct chip_doc, other, 0, &other_schema, NOPRES, NULL),
	FPART("program", struct chip_doc, program, 0, &program_schema,
	      (long)offsetof(struct chip_doc, has_program), NULL),
	FPART("noise", struct chip_doc, noise, 0, &noise_schema,
	      (long)offsetof(struct chip_doc, has_noise), NULL),
};
SCHEMA(chip_schema, "chip", chip_fields, false);

/* The node of "part.key" under node (or node itself when absent), for
 * messages; full is set to the key path. */
static const struct tnode *at_key(const struct tnode *node, const char *path, const char *part,
				  const char *key, char *full, size_t size)
{
	const struct tnode *p = tnode_get(node, part);
	const struct tnode *k = p && key ? tnode_get(p, key) : NULL;

	snprintf(full, size, "%s%s%s%s%s", path, *path ? "." : "", part, key ? "." : "",
		 key ? key : "");
	return k ? k : p ? p : node;
}

/* A time in ps from a value written in ns: whole picoseconds, at least one. */
static int to_ps(const struct tnode *node, const char *path, const char *part, const char *key,
		 double ps, uint64_t *out, struct cim_err *err)
{
	char full[256];
	const struct tnode *at = at_key(node, path, part, key, full, sizeof(full));

	if (llround(ps) < 1)
		return spec_errf(err, at, full,
				 "%g ns rounds to 0 ps; times are whole "
				 "picoseconds",
				 ps / U_NS_TO_PS);
	*out = (uint64_t)llround(ps);
	return 0;
}

/* The parts every kind of chip has or may have: the vector unit, the
 * memories, the attention engine, cell errors, writing, static power. */
static int common_convert(const struct tnode *node, const char *path, const struct chip_doc *d,
			  struct cim_chip_spec *c, struct cim_err *err)
{
	char full[256];

	/* Every count of cells, weights and bytes of the chip fits 64 bits
	 * well within this: more cells than any chip has by a factor of 10⁵. */
	const double cells =
	    (double)c->tiles * c->crossbars_per_tile * c->xbar.rows * (double)c->xbar.cols;
	if (cells > 0x1p50) {
		const bool nm = c->kind == CIM_CHIP_NEAR_MEMORY;
		return spec_errf(err,
				 at_key(node, path, nm ? "near_memory" : "tiles",
					nm ? "cores" : NULL, full, sizeof(full)),
				 full,
				 "the chip holds %.4g cells (%s × %u × %u); cimsim models at most "
				 "2^50 (%.4g): check the counts",
				 cells, nm ? "cores × blocks" : "tiles × crossbars_per_tile",
				 c->xbar.rows, c->xbar.cols, 0x1p50);
	}
	c->digital.lanes = d->digital.lanes;
	c->digital.clock_hz = d->digital.clock_hz;
	c->digital.energy_pj = d->digital.energy_pj;
	c->digital.area_mm2 = d->digital.area_mm2;
	/* a capacity above zero that rounds to no byte is a typo, not a chip */
	const struct {
		const char *part;
		double bytes;
		bool on;
	} caps[] = { { "buffer", d->buffer.bytes, true },
		     { "dram", d->dram.bytes, d->has_dram },
		     { "attention_engine", d->engine.bytes, d->has_engine } };
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (caps[i].on && caps[i].bytes < 1)
			return spec_errf(
			    err,
			    at_key(node, path, caps[i].part, "capacity_mib", full, sizeof(full)),
			    full,
			    "%g MiB is less than a byte; give the capacity in MiB "
			    "(1 GiB is 1024)",
			    caps[i].bytes / 1048576.0);
	c->buffer.bytes = (uint64_t)llround(d->buffer.bytes);
	c->buffer.bandwidth = d->buffer.bandwidth;
	c->buffer.energy_pj = d->buffer.energy_pj;
	c->buffer.area_mm2 = d->buffer.area_mm2;
	c->has_dram = d->has_dram;
	c->dram.bytes = (uint64_t)llround(d->dram.bytes);
	c->dram.bandwidth = d->dram.bandwidth;
	c->dram.energy_pj = d->dram.energy_pj_bit * 8;
	c->dram.area_mm2 = d->dram.area_mm2;
	c->dram.background_w = d->dram.background_w;
	c->has_attn_engine = d->has_engine;
	c->attn_engine.bytes = (uint64_t)llround(d->engine.bytes);
	c->attn_engine.macs_per_cycle = d->engine.macs_per_cycle;
	c->attn_engine.clock_hz = d->engine.clock_hz;
	c->attn_engine.mac_pj = d->engine.mac_pj;
	c->attn_engine.write_ps = (uint64_t)llround(d->engine.write_ps);
	c->attn_engine.write_pj = d->engine.write_pj;
	c->attn_engine.area_mm2 = d->engine.area_mm2;
	c->has_noise = d->has_noise;
	if (d->has_noise) {
		const struct noise_doc *z = &d->noise;
		if (z->has_nu != z->has_t)
			return spec_errf(err,
					 at_key(node, path, "noise",
						z->has_nu ? "drift_nu_mean" : "drift_time_s", full,
						sizeof(full)),
					 full,
					 "drift needs both drift_nu_mean (the exponent) and "
					 "drift_time_s (when the model runs after programming)");
		if (z->stuck_on + z->stuck_off > 1)
			return spec_errf(
			    err, at_key(node, path, "noise", "stuck_on_rate", full, sizeof(full)),
			    full,
			    "stuck_on_rate + stuck_off_rate is %g; the shares of "
			    "cells stuck add up to at most 1",
			    z->stuck_on + z->stuck_off);
		c->noise = (struct cim_noise_spec){
			.prog_sigma = z->prog_sigma,
			.read_sigma = z->read_sigma,
			.drift_nu_mean = z->nu_mean,
			.drift_nu_sd = z->nu_sd,
			.drift_t_s = z->has_t ? z->t_s : 0,
			.drift_t0_s =
			    z->has_t0 ? z->t0_s : 20, /* aihwkit's t0 (docs/accuracy.md) */
			.drift_compensated = z->has_comp ? z->compensated : true,
			.stuck_on = z->stuck_on,
			.stuck_off = z->stuck_off,
		};
		if (c->noise.drift_t_s && c->noise.drift_t_s < c->noise.drift_t0_s)
			return spec_errf(
			    err, at_key(node, path, "noise", "drift_time_s", full, sizeof(full)),
			    full,
			    "%g s is before the reference read at drift_t0_s = %g s; "
			    "drift is modelled from t0 on",
			    c->noise.drift_t_s, c->noise.drift_t0_s);
	}
	c->has_program = d->has_program;
	if (d->has_program) {
		if (d->program.has_rows && d->program.rows_in_parallel > d->xbar.rows)
			return spec_errf(
			    err,
			    at_key(node, path, "program", "rows_in_parallel", full, sizeof(full)),
			    full,
			    "%u rows written at once in a crossbar of %u rows: make it at most %u",
			    d->program.rows_in_parallel, d->xbar.rows, d->xbar.rows);
		c->program.iterations = d->program.iterations;
		if (to_ps(node, path, "program", "pulse_ns", d->program.pulse_ps,
			  &c->program.pulse_ps, err))
			return -1;
		c->program.pulse_pj = d->program.pulse_pj;
		c->program.rows_in_parallel = d->program.has_rows ? d->program.rows_in_parallel : 1;
		c->program.crossbars_in_parallel = d->program.crossbars_in_parallel;
	}
	c->leakage_w = d->leakage_w;
	c->other_w = d->other.power_w + d->other.tile_power_w * c->tiles;
	c->other_area_mm2 = d->other.area_mm2 + d->other.tile_area_mm2 * c->tiles;
	return 0;
}

/* Parts a near-memory chip does not have: its MAC arrays neither drive
 * rows nor convert columns, and SRAM needs no program-and-verify. */
static const struct {
	const char *key;
	size_t has;
} nm_refused[] = {
	{ "crossbar", offsetof(struct chip_doc, has_xbar) },
	{ "dac", offsetof(struct chip_doc, has_dac) },
	{ "adc", offsetof(struct chip_doc, has_adc) },
	{ "sample_hold", offsetof(struct chip_doc, has_sample_hold) },
	{ "shift_add", offsetof(struct chip_doc, has_shift_add) },
	{ "program", offsetof(struct chip_doc, has_program) },
	{ "noise", offsetof(struct chip_doc, has_noise) },
	{ "tiles", offsetof(struct chip_doc, has_tiles) },
	{ "crossbars_per_tile", offsetof(struct chip_doc, has_cpt) },
};

/*
 * A digital near-memory chip (docs/chip-model.md §12) in the terms the
 * mapping, the partitioner and the accuracy model share: a block of
 * weights is a "crossbar" of block_rows × block_cols cells of weight_bits
 * each, read with all its rows and all input bits at once, and an exact
 * integer accumulator is a converter that resolves every sum.
 */
static int nm_convert(const struct tnode *node, const char *path, const struct chip_doc *d,
		      struct cim_chip_spec *c, struct cim_err *err)
{
	char full[256];
	const struct nm_doc *n = &d->nm;

	for (size_t i = 0; i < sizeof(nm_refused) / sizeof(nm_refused[0]); i++)
		if (*(const bool *)((const char *)d + nm_refused[i].has))
			return spec_errf(
			    err, at_key(node, path, nm_refused[i].key, NULL, full, sizeof(full)),
			    full,
			    "a near_memory chip has no '%s': its cores (near_memory.cores) hold "
			    "the weights in SRAM and multiply them in digital MAC arrays; remove "
			    "it, or describe a crossbar chip without near_memory",
			    nm_refused[i].key);
	if (d->weights.sign != CIM_SIGN_NONE || d->weights.has_offset_cols)
		return spec_errf(err, at_key(node, path, "weights", "signed", full, sizeof(full)),
				 full,
				 "a digital MAC array multiplies signed weights as they are: "
				 "write `signed: none`");
	if (d->weights.bits > 16)
		return spec_errf(err, at_key(node, path, "weights", "bits", full, sizeof(full)),
				 full, "%u-bit weights: a near_memory chip takes at most 16",
				 d->weights.bits);
	const double block_bits = (double)n->block_rows * n->block_cols * d->weights.bits;
	const double blocks = floor(n->memory_bytes * 8 / block_bits);
	if (blocks < 1)
		return spec_errf(
		    err, at_key(node, path, "near_memory", "memory_kib", full, sizeof(full)), full,
		    "a block of %u × %u %u-bit weights is %.6g KiB but a core's memory is %.6g "
		    "KiB; make the block smaller or the memory larger",
		    n->block_rows, n->block_cols, d->weights.bits, block_bits / 8192,
		    n->memory_bytes / 1024);
	if (!n->shared && blocks > 1)
		return spec_errf(
		    err, at_key(node, path, "near_memory", "memory_kib", full, sizeof(full)), full,
		    "a core's %.6g KiB hold %.0f blocks of %u × %u weights, but a spatial core "
		    "(shared: false) computes one block: make the block fill the memory, or say "
		    "shared: true if the cores work on one matrix at a time",
		    n->memory_bytes / 1024, blocks, n->block_rows, n->block_cols);
	if (blocks > 16777216)
		return spec_errf(
		    err, at_key(node, path, "near_memory", "block_rows", full, sizeof(full)), full,
		    "a core's memory holds %.6g blocks of %u × %u weights: at most 16,777,216; "
		    "make the blocks larger",
		    blocks, n->block_rows, n->block_cols);

	memset(c, 0, sizeof(*c));
	memcpy(c->name, d->name, sizeof(c->name));
	c->kind = CIM_CHIP_NEAR_MEMORY;
	c->nm = (struct cim_nm_spec){
		.cores = n->cores,
		.macs_per_cycle = n->macs_per_cycle,
		.clock_hz = n->clock_hz,
		.bandwidth = n->bandwidth,
		.mac_pj = n->mac_pj,
		.read_pj = n->read_pj,
		.shared = n->shared,
	};
	c->xbar.rows = c->xbar.rows_per_cycle = n->block_rows;
	c->xbar.cols = n->block_cols;
	c->xbar.cell_bits = d->weights.bits;
	c->xbar.read_ps = cim_ps_ceil(1e12 / n->clock_hz);
	c->xbar.area_mm2 = n->area_mm2 / blocks;
	c->weight_bits = d->weights.bits;
	c->sign = CIM_SIGN_NONE;
	c->input_bits = d->inputs.bits;
	c->dac.bits = d->inputs.bits;
	c->adc.per_crossbar = n->block_cols;
	c->adc.bits = cim_spec_adc_bits_needed(c, NULL);
	c->adc.range = 1;
	c->shift_add.energy_pj = n->add_pj;
	c->shift_add.latency_ps = (uint64_t)llround(n->add_ps);
	c->tiles = n->cores;
	c->crossbars_per_tile = (uint32_t)blocks;
	return common_convert(node, path, d, c, err);
}

/* The checks across fields, then the conversion to internal units. */
static int chip_convert(const struct tnode *node, const char *path, const struct chip_doc *d,
			struct cim_chip_spec *c, struct cim_err *err)
{
	char full[256];
	uint32_t slices, cells, off;

	if (d->has_nm)
		return nm_convert(node, path, d, c, err);
	if (!d->has_xbar)
		return spec_errf(err, node, *path ? path : "chip",
				 "missing part 'crossbar' (the arrays: rows, cols, cell_bits, "
				 "read_latency_ns, read_energy_pj) or 'near_memory' (digital cores "
				 "beside SRAM); add one");
	if (!d->has_tiles || !d->has_cpt)
		return spec_errf(err, node, *path ? path : "chip", "missing key '%s' (%s); add it",
				 d->has_tiles ? "crossbars_per_tile" : "tiles",
				 d->has_tiles ? "crossbars in a tile" : "tiles per chip");
	if (!d->has_dac)
		return spec_errf(err, node, *path ? path : "chip",
				 "missing part 'dac' (the input "
				 "drivers: bits, energy_pj, area_um2); add it");
	if (!d->has_adc)
		return spec_errf(err, node, *path ? path : "chip",
				 "missing part 'adc' (the "
				 "converters: bits, per_crossbar, latency_ns or sample_rate_gsps, "
				 "energy_pj or fom_fj_per_step, area_um2); add it");
	if (d->adc.per_crossbar == 0)
		return spec_errf(err, at_key(node, path, "adc", "per_crossbar", full, sizeof(full)),
				 full,
				 "a crossbar needs at least one ADC to read its columns, "
				 "found 0");
	if (d->adc.per_crossbar > d->xbar.cols)
		return spec_errf(err, at_key(node, path, "adc", "per_crossbar", full, sizeof(full)),
				 full, "%u ADCs for %u columns: at most one ADC per column",
				 d->adc.per_crossbar, d->xbar.cols);
	if (d->xbar.cell_bits > d->weights.bits)
		return spec_errf(
		    err, at_key(node, path, "crossbar", "cell_bits", full, sizeof(full)), full,
		    "a cell of %u bits is wider than a %u-bit weight "
		    "(weights.bits); the extra levels would never be used: make "
		    "cell_bits at most %u",
		    d->xbar.cell_bits, d->weights.bits, d->weights.bits);
	if (d->dac.bits > d->inputs.bits)
		return spec_errf(err, at_key(node, path, "dac", "bits", full, sizeof(full)), full,
				 "a %u-bit DAC is wider than the %u-bit inputs (inputs.bits); make "
				 "dac.bits at most %u",
				 d->dac.bits, d->inputs.bits, d->inputs.bits);
	if (d->adc.has_type != d->adc.has_clock)
		return spec_errf(
		    err,
		    at_key(node, path, "adc", d->adc.has_type ? "type" : "clock_ghz", full,
			   sizeof(full)),
		    full,
		    "type and clock_ghz go together (the conversion time is the type's "
		    "cycles at the clock): add %s",
		    d->adc.has_type ? "clock_ghz" : "type: sar, flash or ramp");
	int ntime = d->adc.has_latency + d->adc.has_rate + d->adc.has_clock;
	if (ntime != 1)
		return spec_errf(err, at_key(node, path, "adc", NULL, full, sizeof(full)), full,
				 "give exactly one of latency_ns, sample_rate_gsps and type with "
				 "clock_ghz, found %s",
				 ntime ? "more than one" : "none");
	int nenergy = d->adc.has_energy + d->adc.has_fom + d->adc.has_schreier;
	if (nenergy != 1)
		return spec_errf(err, at_key(node, path, "adc", NULL, full, sizeof(full)), full,
				 "give exactly one of energy_pj, fom_fj_per_step and "
				 "fom_schreier_db, found %s",
				 nenergy ? "more than one" : "none");
	if (d->adc.has_area && d->adc.has_area_step)
		return spec_errf(err, at_key(node, path, "adc", NULL, full, sizeof(full)), full,
				 "give at most one of area_um2 and area_um2_per_step, found both");
	if (d->xbar.has_rows_per_cycle && d->xbar.rows_per_cycle > d->xbar.rows)
		return spec_errf(
		    err, at_key(node, path, "crossbar", "rows_per_cycle", full, sizeof(full)), full,
		    "%u rows per cycle in a crossbar of %u rows: make it at most %u",
		    d->xbar.rows_per_cycle, d->xbar.rows, d->xbar.rows);
	if (d->weights.has_offset_cols && d->weights.sign != CIM_SIGN_OFFSET)
		return spec_errf(
		    err, at_key(node, path, "weights", "offset_columns", full, sizeof(full)), full,
		    "offset columns need `signed: offset`, found `signed: %s`",
		    sign_words[d->weights.sign]);
	off = d->weights.sign != CIM_SIGN_OFFSET ? 0
	      : d->weights.has_offset_cols	 ? d->weights.offset_cols
						 : 1;
	slices = (d->weights.bits + d->xbar.cell_bits - 1) / d->xbar.cell_bits;
	cells = slices * (d->weights.sign == CIM_SIGN_DIFFERENTIAL ? 2 : 1);
	if (off >= d->xbar.cols || cells > d->xbar.cols - off)
		return spec_errf(
		    err, at_key(node, path, "crossbar", "cols", full, sizeof(full)), full,
		    "a weight takes %u cells%s but a crossbar row has only %u "
		    "columns for weights (%u columns, %u of them offset columns); "
		    "use wider crossbars or fewer cells per weight",
		    cells, d->weights.sign == CIM_SIGN_DIFFERENTIAL ? " (differential)" : "",
		    off >= d->xbar.cols ? 0 : d->xbar.cols - off, d->xbar.cols, off);

	memset(c, 0, sizeof(*c));
	memcpy(c->name, d->name, sizeof(c->name));
	c->xbar.rows = d->xbar.rows;
	c->xbar.rows_per_cycle = d->xbar.has_rows_per_cycle ? d->xbar.rows_per_cycle : d->xbar.rows;
	c->xbar.cols = d->xbar.cols;
	c->xbar.cell_bits = d->xbar.cell_bits;
	if (to_ps(node, path, "crossbar", "read_latency_ns", d->xbar.read_ps, &c->xbar.read_ps,
		  err))
		return -1;
	c->xbar.read_pj = d->xbar.read_pj;
	c->xbar.area_mm2 = d->xbar.area_mm2;
	c->weight_bits = d->weights.bits;
	c->sign = (enum cim_sign)d->weights.sign;
	c->offset_cols = off;
	c->input_bits = d->inputs.bits;
	c->dac.bits = d->dac.bits;
	c->dac.energy_pj = d->dac.energy_pj;
	c->dac.area_mm2 = d->dac.area_mm2;
	c->adc.bits = d->adc.bits;
	c->adc.per_crossbar = d->adc.per_crossbar;
	c->adc.arch =
	    d->adc.has_type ? (enum cim_adc_arch)(CIM_ADC_SAR + d->adc.type) : CIM_ADC_GIVEN;
	c->adc.clock_hz = d->adc.clock_hz;
	c->adc.latency_ps = d->adc.has_latency ? d->adc.latency_ps
			    : d->adc.has_rate  ? 1e12 / d->adc.rate_hz
					       : 0;
	c->adc.fom_kind = d->adc.has_fom	? CIM_FOM_WALDEN
			  : d->adc.has_schreier ? CIM_FOM_SCHREIER
						: CIM_FOM_GIVEN;
	c->adc.fom_fj = d->adc.has_fom ? d->adc.fom_pj / U_FJ_TO_PJ : 0;
	c->adc.fom_schreier_db = d->adc.schreier_db;
	c->adc.energy_pj = d->adc.energy_pj;
	c->adc.area_mm2 = d->adc.area_mm2;
	c->adc.area_per_step_mm2 = d->adc.has_area_step ? d->adc.area_step_mm2 : 0;
	c->adc.encoding = (enum cim_adc_encoding)d->adc.encoding;
	c->adc.truncates = d->adc.accept_truncation;
	c->adc.range = d->adc.has_range ? d->adc.range : 1;
	c->adc.has_range = d->adc.has_range;
	/* What follows from the resolution (docs/chip-model.md §2). */
	c->adc.latency_ps = cim_spec_adc_latency_ps(&c->adc, c->adc.bits);
	c->adc.energy_pj = cim_spec_adc_energy_pj(&c->adc, c->adc.bits);
	c->adc.area_mm2 = cim_spec_adc_area_mm2(&c->adc, c->adc.bits);
	c->shift_add.energy_pj = d->shift_add.energy_pj;
	c->shift_add.latency_ps = (uint64_t)llround(d->shift_add.latency_ps);
	c->shift_add.area_mm2 = d->shift_add.area_mm2;
	c->has_sample_hold = d->has_sample_hold;
	c->sample_hold.energy_pj = d->sample_hold.energy_pj;
	c->sample_hold.area_mm2 = d->sample_hold.area_mm2;
	c->tiles = d->tiles;
	c->crossbars_per_tile = d->crossbars_per_tile;
	if (common_convert(node, path, d, c, err))
		return -1;

	uint64_t sum;
	uint32_t need = cim_spec_adc_bits_needed(c, &sum);
	if (need > c->adc.bits && !c->adc.truncates)
		return spec_errf(
		    err, at_key(node, path, "adc", "bits", full, sizeof(full)), full,
		    "a column sums up to %u rows × %u × %u = %" PRIu64
		    " (rows_per_cycle × (2^cell_bits − 1) × (2^dac.bits − 1)), which needs a "
		    "%u-bit ADC%s; this one has %u bits.  Drive fewer rows per read "
		    "(crossbar.rows_per_cycle), use fewer bits per cell or per DAC cycle, widen "
		    "the ADC, or, if the converter is meant to drop the low bits (its range "
		    "set by a gain), say adc.accept_truncation: true",
		    c->xbar.rows_per_cycle, (1u << c->xbar.cell_bits) - 1, (1u << c->dac.bits) - 1,
		    sum, need, c->adc.encoding == CIM_ENC_ISAAC ? " with ISAAC's encoding" : "",
		    c->adc.bits);
	return 0;
}

uint32_t cim_spec_adc_bits_needed(const struct cim_chip_spec *c, uint64_t *max_sum)
{
	/* cell_bits ≤ 16 and dac.bits ≤ 32 (readers): the product fits in a
	 * double exactly enough for a bit count; the sum itself saturates. */
	const uint32_t rows = c->xbar.rows_per_cycle ? c->xbar.rows_per_cycle : c->xbar.rows;
	double sum = (double)rows * (ldexp(1.0, (int)c->xbar.cell_bits) - 1) *
		     (ldexp(1.0, (int)c->dac.bits) - 1);
	uint32_t bits = 0;

	while (bits < 96 && ldexp(1.0, (int)bits) < sum + 1)
		bits++;
	if (c->adc.encoding == CIM_ENC_ISAAC && bits > 1)
		bits--;
	if (max_sum)
		*max_sum = sum < 1.8e19 ? (uint64_t)sum : UINT64_MAX;
	return bits;
}

double cim_spec_adc_latency_ps(const struct cim_adc_spec *adc, uint32_t bits)
{
	const double cycle_ps = adc->clock_hz > 0 ? 1e12 / adc->clock_hz : 0;

	switch (adc->arch) {
	case CIM_ADC_SAR:
		return bits * cycle_ps;
	case CIM_ADC_FLASH:
		return cycle_ps;
	case CIM_ADC_RAMP:
		return ldexp(cycle_ps, (int)bits);
	case CIM_ADC_GIVEN:
		break;
	}
	return adc->latency_ps;
}

double cim_spec_adc_energy_pj(const struct cim_adc_spec *adc, uint32_t bits)
{
	switch (adc->fom_kind) {
	case CIM_FOM_WALDEN: /* FoM_W = P / (2^ENOB · f_s), ENOB = bits */
		return adc->fom_fj * 1e-3 * ldexp(1.0, (int)bits);
	case CIM_FOM_SCHREIER: /* FoM_S = SNDR + 10·log10((f_s / 2) / P) */
		return 0.5 * pow(10.0, (6.02 * bits + 1.76 - adc->fom_schreier_db) / 10) * 1e12;
	case CIM_FOM_GIVEN:
		break;
	}
	return adc->energy_pj;
}

double cim_spec_adc_area_mm2(const struct cim_adc_spec *adc, uint32_t bits)
{
	return adc->area_per_step_mm2 > 0 ? adc->area_per_step_mm2 * ldexp(1.0, (int)bits)
					  : adc->area_mm2;
}

int spec_read_chip(const struct tnode *node, const char *path, struct cim_chip_spec *out,
		   struct cim_err *err)
{
	struct chip_doc d = { 0 };
	struct cim_chip_spec c;

	if (spec_read_map(node, &chip_schema, path, &d, err))
		return -1;
	if (chip_convert(node, path, &d, &c, err))
		return -1;
	*out = c;
	return 0;
}
