/*
 * chip.c — the chip cost model: mapping, MVMs, vector operators, attention,
 * leakage, area, capacity and peaks of one compute-in-memory chip.
 *
 * Pure functions of the chip description and an operator's shape.  The
 * equations are those of docs/chip-model.md, which writes each one
 * down with its source.  Scheduling (which resource is busy when) is the
 * executor's business, not this file's.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>

#include "chip.h"

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
	assert(b > 0);
	return a / b + (a % b != 0);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Smallest d with 2^d >= n (0 for n <= 1): depth of an adder tree. */
static uint32_t ceil_log2(uint64_t n)
{
	uint32_t d = 0;

	while (d < 64 && (1ull << d) < n)
		d++;
	return d;
}

/* Picoseconds to move bytes at bw bytes/s, rounded up. */
static uint64_t ps_for_bytes(uint64_t bytes, double bw)
{
	assert(bw > 0);
	return cim_ps_ceil((double)bytes * 1e12 / bw);
}

/* Picoseconds of cycles at clock_hz, rounded up. */
static uint64_t ps_for_cycles(uint64_t cycles, double clock_hz)
{
	assert(clock_hz > 0);
	return cim_ps_ceil((double)cycles * 1e12 / clock_hz);
}

/* Bytes of elems values of bits each, rounded up. */
static uint64_t bytes_of(uint64_t elems, uint32_t bits)
{
	return div_ceil(elems * bits, 8);
}

static const char *const ecomp_names[] = {
	[CIM_E_ARRAY] = "array",
	[CIM_E_ADC] = "adc",
	[CIM_E_DAC] = "dac",
	[CIM_E_SHIFT_ADD] = "shift_add",
	[CIM_E_SAMPLE_HOLD] = "sample_hold",
	[CIM_E_DIGITAL] = "digital",
	[CIM_E_BUFFER] = "buffer",
	[CIM_E_DRAM] = "dram",
	[CIM_E_INTERCONNECT] = "interconnect",
};
_Static_assert(sizeof(ecomp_names) / sizeof(ecomp_names[0]) == CIM_E_NCOMP,
	       "a name per energy component");

const char *cim_chip_units(const struct cim_chip_spec *c)
{
	return c->kind == CIM_CHIP_NEAR_MEMORY ? "blocks" : "crossbars";
}

const char *cim_chip_ecomp_name(enum cim_chip_ecomp c)
{
	return (unsigned)c < CIM_E_NCOMP ? ecomp_names[c] : "?";
}

/* Σ in component order, so every total of the same energies is the same
 * double. */
double cim_chip_energy_total(const struct cim_chip_energy *e)
{
	double t = 0;

	for (int i = 0; i < CIM_E_NCOMP; i++)
		t += e->pj[i];
	return t;
}

void cim_chip_energy_add(struct cim_chip_energy *acc, const struct cim_chip_energy *e, double times)
{
	for (int i = 0; i < CIM_E_NCOMP; i++)
		acc->pj[i] += e->pj[i] * times;
}

/* ---------------------------------------------------------------- mapping */

static uint32_t offset_cols(const struct cim_chip_spec *c)
{
	return c->sign == CIM_SIGN_OFFSET ? c->offset_cols : 0;
}

/*
 * docs/chip-model.md, "Mapping": a weight takes ceil(weight_bits / cell_bits) cells, twice
 * that as a differential pair; the matrix takes ceil(K / rows) row blocks of
 * ceil(N · cells_per_weight / weight_cols) column blocks.  A crossbar holds
 * one block of one matrix; the rest of it is fill loss.
 */
void cim_chip_map(const struct cim_chip_spec *c, uint64_t k, uint64_t n, struct cim_chip_map *out)
{
	struct cim_chip_map m = { .k = k, .n = n };
	uint32_t off = offset_cols(c);

	assert(k > 0 && n > 0 && c->xbar.cell_bits > 0 && c->xbar.cols > off);
	m.slices = (uint32_t)div_ceil(c->weight_bits, c->xbar.cell_bits);
	m.cells_per_weight = m.slices * (c->sign == CIM_SIGN_DIFFERENTIAL ? 2 : 1);
	m.weight_cols = c->xbar.cols - off;
	m.row_blocks = div_ceil(k, c->xbar.rows);
	m.cols_used = n * m.cells_per_weight;
	m.col_blocks = div_ceil(m.cols_used, m.weight_cols);
	m.crossbars = m.row_blocks * m.col_blocks;
	m.cols_converted = m.cols_used + (uint64_t)off * m.col_blocks;
	m.widest_block = (m.cols_used < m.weight_cols ? m.cols_used : m.weight_cols) + off;
	m.cells_used = k * m.cols_used;
	m.cells_total = m.crossbars * c->xbar.rows * c->xbar.cols;
	m.fill = (double)m.cells_used / (double)m.cells_total;
	*out = m;
}

/* -------------------------------------------------------------------- MVM */

/*
 * Near memory (docs/chip-model.md §12): a spatial core computes its own
 * block, the widest one min(K, rows) × min(N, cols) setting the time; a
 * shared chip puts every core's MACs and memory on the whole matrix.  The
 * time is the larger of the MACs at the array's rate and the weights' bytes
 * at the memory's bandwidth, for `vectors` vectors against `reads` reads of
 * the weights (one a copy that takes any); then the row blocks' partial
 * sums meet in the adder tree.
 */
static uint64_t nm_ps(const struct cim_chip_spec *c, const struct cim_chip_map *m, uint64_t vectors,
		      uint64_t reads)
{
	const struct cim_nm_spec *nm = &c->nm;
	const uint64_t rows = m->k < c->xbar.rows ? m->k : c->xbar.rows;
	const uint64_t cols = m->n < c->xbar.cols ? m->n : c->xbar.cols;
	const uint64_t macs = nm->shared ? m->k * m->n : rows * cols;
	const uint64_t lanes = (uint64_t)nm->macs_per_cycle * (nm->shared ? nm->cores : 1);
	const double bw = nm->bandwidth * (nm->shared ? nm->cores : 1);
	const uint64_t compute = ps_for_cycles(div_ceil(vectors * macs, lanes), nm->clock_hz);
	const uint64_t memory = ps_for_bytes(reads * bytes_of(macs, c->weight_bits), bw);

	return max_u64(compute, memory) + ceil_log2(m->row_blocks) * c->shift_add.latency_ps;
}

static void nm_mvm(const struct cim_chip_spec *c, const struct cim_chip_map *m,
		   struct cim_chip_mvm *out)
{
	struct cim_chip_mvm v = { 0 };
	const uint64_t tree = ceil_log2(m->row_blocks) * c->shift_add.latency_ps;

	v.input_cycles = 1;
	v.row_groups = 1;
	v.latency_ps = nm_ps(c, m, 1, 1);
	v.cycle_ps = v.interval_ps = v.latency_ps - tree;
	v.shift_adds = m->n * (m->row_blocks - 1);
	v.buffer_bytes = bytes_of(m->k, c->input_bits) + bytes_of(m->n, c->input_bits);
	v.weight_pj = (double)bytes_of(m->k * m->n, c->weight_bits) * c->nm.read_pj;
	v.energy.pj[CIM_E_ARRAY] = (double)(m->k * m->n) * c->nm.mac_pj + v.weight_pj;
	v.energy.pj[CIM_E_SHIFT_ADD] = (double)v.shift_adds * c->shift_add.energy_pj;
	v.energy.pj[CIM_E_BUFFER] = (double)v.buffer_bytes * c->buffer.energy_pj;
	*out = v;
}

/*
 * One MVM (docs/chip-model.md, ISAAC ISCA'16 §4): inputs enter dac_bits at a time,
 * n = ceil(input_bits / dac_bits) cycles.  A read drives at most
 * rows_per_cycle rows, so a cycle takes g = ceil(min(K, rows) /
 * rows_per_cycle) reads, each converted on its own (the ADC resolves one
 * group's sum, spec's cim_spec_adc_bits_needed()).  In a read each ADC converts
 * ceil(widest block / adcs) columns.  With a sample-and-hold the next read
 * overlaps the conversions (ISAAC's pipeline): cycle = max(read, convert);
 * without one (HERMES' CCO ADCs integrate during the read) they add up.
 * All crossbars of the matrix work in parallel; row blocks are summed by an
 * adder tree of depth ceil(log2(row_blocks)).
 */
void cim_chip_mvm(const struct cim_chip_spec *c, const struct cim_chip_map *m,
		  struct cim_chip_mvm *out)
{
	struct cim_chip_mvm v = { 0 };
	uint64_t convert_ps, cells_active;

	if (c->kind == CIM_CHIP_NEAR_MEMORY) {
		nm_mvm(c, m, out);
		return;
	}
	assert(c->dac.bits > 0 && c->adc.per_crossbar > 0);
	const uint32_t rpc = c->xbar.rows_per_cycle ? c->xbar.rows_per_cycle : c->xbar.rows;
	const uint64_t block_rows = m->k < c->xbar.rows ? m->k : c->xbar.rows;
	const uint64_t last_rows = m->k - (m->row_blocks - 1) * c->xbar.rows;
	v.input_cycles = (uint32_t)div_ceil(c->input_bits, c->dac.bits);
	v.row_groups = (uint32_t)div_ceil(block_rows, rpc);
	const uint64_t reads = (uint64_t)v.input_cycles * v.row_groups;
	v.cols_per_adc = div_ceil(m->widest_block, c->adc.per_crossbar);
	/* Rounded up to whole ps (less a rounding slack: 128 · 781.25 is 100000). */
	convert_ps = (uint64_t)ceil((double)v.cols_per_adc * c->adc.latency_ps - 1e-6);
	if (c->has_sample_hold) {
		v.cycle_ps = max_u64(c->xbar.read_ps, convert_ps);
		v.latency_ps = c->xbar.read_ps + (reads - 1) * v.cycle_ps + convert_ps;
	} else {
		v.cycle_ps = c->xbar.read_ps + convert_ps;
		v.latency_ps = reads * v.cycle_ps;
	}
	v.latency_ps += ceil_log2(m->row_blocks) * c->shift_add.latency_ps;
	v.interval_ps = reads * v.cycle_ps;

	/* Every read of each row group converts all its columns, offset ones
	 * too: full row blocks have ceil(rows / rpc) groups, the last one
	 * ceil(its rows / rpc). */
	const uint64_t groups =
	    (m->row_blocks - 1) * div_ceil(c->xbar.rows, rpc) + div_ceil(last_rows, rpc);
	v.conversions = (uint64_t)v.input_cycles * groups * m->cols_converted;
	/* Each ADC output is shifted and added once; then the row blocks' partial
	 * sums of each output are added together. */
	v.shift_adds = v.conversions + m->n * (m->row_blocks - 1);
	v.buffer_bytes = bytes_of(m->k, c->input_bits) + bytes_of(m->n, c->input_bits);

	/* A read costs read_pj for the whole array, in proportion to the cells
	 * driven (rows used × columns read). */
	cells_active = m->k * m->cols_converted;
	v.energy.pj[CIM_E_ARRAY] = v.input_cycles * c->xbar.read_pj * (double)cells_active /
				   ((double)c->xbar.rows * c->xbar.cols);
	v.energy.pj[CIM_E_DAC] =
	    (double)v.input_cycles * (double)(m->k * m->col_blocks) * c->dac.energy_pj;
	v.energy.pj[CIM_E_ADC] = (double)v.conversions * c->adc.energy_pj;
	v.energy.pj[CIM_E_SAMPLE_HOLD] =
	    c->has_sample_hold ? (double)v.conversions * c->sample_hold.energy_pj : 0;
	v.energy.pj[CIM_E_SHIFT_ADD] = (double)v.shift_adds * c->shift_add.energy_pj;
	v.energy.pj[CIM_E_BUFFER] = (double)v.buffer_bytes * c->buffer.energy_pj;
	*out = v;
}

/*
 * M vectors through `copies` replicas: each replica takes ceil(M / copies)
 * of them back to back, one interval apart after the first MVM's latency;
 * the buffer must also move every vector's inputs and outputs.
 */
void cim_chip_mvm_stream(const struct cim_chip_spec *c, const struct cim_chip_map *m,
			 uint64_t vectors, uint64_t copies, struct cim_chip_cost *out)
{
	struct cim_chip_mvm v;
	struct cim_chip_cost r = { 0 };
	uint64_t per_copy;

	assert(copies > 0);
	if (vectors == 0) {
		*out = r;
		return;
	}
	cim_chip_mvm(c, m, &v);
	per_copy = div_ceil(vectors, copies);
	/* Shared cores: every copy's vectors and every busy copy's weights
	 * pass through the one array; spatial cores: each copy on its own. */
	if (c->kind == CIM_CHIP_NEAR_MEMORY && c->nm.shared)
		r.ps = nm_ps(c, m, vectors, vectors < copies ? vectors : copies);
	else if (c->kind == CIM_CHIP_NEAR_MEMORY)
		r.ps = nm_ps(c, m, per_copy, 1);
	else
		r.ps = v.latency_ps + (per_copy - 1) * v.interval_ps;
	r.ps = max_u64(r.ps, ps_for_bytes(vectors * v.buffer_bytes, c->buffer.bandwidth));
	cim_chip_energy_add(&r.energy, &v.energy, (double)vectors);
	if (v.weight_pj > 0) /* one read of each busy copy's weights */
		r.energy.pj[CIM_E_ARRAY] -=
		    v.weight_pj * (double)(vectors - (vectors < copies ? vectors : copies));
	*out = r;
}

/* ------------------------------------------------------ digital operators */

/*
 * Lane operations per element, counted from the arithmetic of each operator
 * (docs/chip-model.md, "Vector operators"): a multiply, an add, a compare, an
 * exp or a table look-up each count as one lane operation.
 */
uint32_t cim_chip_ops_per_elem(enum cim_op_kind kind, enum cim_norm norm, enum cim_act act)
{
	switch (kind) {
	case CIM_OP_EMBED:
		return 1; /* copy of the looked-up row */
	case CIM_OP_NORM:
		/* LayerNorm: mean add, subtract, square, variance add, scale,
		 * gamma, beta; RMSNorm: square, add, scale, gamma. */
		return norm == CIM_NORM_LAYERNORM ? 7 : 4;
	case CIM_OP_ACT:
		switch (act) {
		case CIM_ACT_GELU:
			return 8; /* tanh form: x³, 2 mul, add, tanh, add, 2 mul */
		case CIM_ACT_SILU:
			return 4; /* exp, add, divide, multiply */
		case CIM_ACT_RELU:
			return 1;
		}
		return 0;
	case CIM_OP_GATE_MUL:
		return 1;
	case CIM_OP_ROPE:
		return 3; /* x·cos − y·sin: 2 mul, 1 add */
	case CIM_OP_RESIDUAL:
		return 1;
	case CIM_OP_SOFTMAX:
		return 5; /* max, subtract, exp, sum, scale */
	case CIM_OP_SAMPLE:
		return 1; /* compare (greedy argmax) */
	case CIM_OP_SCALE:
		return 1; /* a multiply (scales) or an add (ALiBi's bias) */
	case CIM_OP_SOFTCAP:
		return 3; /* c·tanh(x/c): multiply, tanh (table), multiply */
	case CIM_OP_MATMUL:
	case CIM_OP_ATTN_QK:
	case CIM_OP_ATTN_AV:
		return 0;
	}
	return 0;
}

void cim_chip_vector_op(const struct cim_chip_spec *c, enum cim_op_kind kind, enum cim_norm norm,
			enum cim_act act, uint64_t elems, struct cim_chip_cost *out)
{
	struct cim_chip_cost r = { 0 };
	uint64_t ops = elems * cim_chip_ops_per_elem(kind, norm, act);
	uint64_t bytes = 2 * bytes_of(elems, c->input_bits); /* read and write */

	r.ps = max_u64(ps_for_cycles(div_ceil(ops, c->digital.lanes), c->digital.clock_hz),
		       ps_for_bytes(bytes, c->buffer.bandwidth));
	r.energy.pj[CIM_E_DIGITAL] = (double)ops * c->digital.energy_pj;
	r.energy.pj[CIM_E_BUFFER] = (double)bytes * c->buffer.energy_pj;
	*out = r;
}

void cim_chip_embed(const struct cim_chip_spec *c, uint64_t elems, uint32_t bits,
		    struct cim_chip_cost *out)
{
	struct cim_chip_cost r = { 0 };
	uint64_t bytes = bytes_of(elems, bits);

	if (!c->has_dram) {
		cim_chip_vector_op(c, CIM_OP_EMBED, CIM_NORM_RMSNORM, CIM_ACT_RELU, elems, out);
		return;
	}
	r.ps = max_u64(ps_for_bytes(bytes, c->dram.bandwidth),
		       ps_for_bytes(bytes, c->buffer.bandwidth));
	r.memory_ps = r.ps;
	r.energy.pj[CIM_E_DRAM] = (double)bytes * c->dram.energy_pj;
	r.energy.pj[CIM_E_BUFFER] = (double)bytes * c->buffer.energy_pj;
	*out = r;
}

/* -------------------------------------------------------------- attention */

uint64_t cim_chip_attn_positions(const struct cim_attn_shape *a)
{
	return a->queries * a->past + a->queries * (a->queries + 1) / 2;
}

static bool has_part(const struct cim_chip_spec *c, enum cim_kv_where where)
{
	return where == CIM_KV_BUFFER || (where == CIM_KV_DRAM && c->has_dram) ||
	       (where == CIM_KV_ENGINE && c->has_attn_engine);
}

/*
 * q·kᵀ and p·V: heads · qk_dim and heads · v_dim MACs per attended
 * position (head_dim each, but under latent attention q·k spans the latent
 * and the RoPE key and p·V the latent).  K and V
 * of all past + queries positions are read once for all queries (the queries
 * of a prefill are tiled against each K/V block, as FlashAttention does);
 * a group of query heads shares its K/V head.  The time is bounded by the
 * vector unit and by the memory holding the cache, whichever is slower.
 */
int cim_chip_attention(const struct cim_chip_spec *c, const struct cim_attn_shape *a,
		       enum cim_kv_where where, struct cim_chip_cost *out)
{
	struct cim_chip_cost r = { 0 };
	uint64_t macs =
	    (uint64_t)a->heads * ((uint64_t)a->qk_dim + a->v_dim) * cim_chip_attn_positions(a);
	uint64_t bytes =
	    bytes_of((uint64_t)a->kv_heads * a->kv_dim * (a->past + a->queries), a->kv_bits);
	uint64_t compute_ps;

	if (!has_part(c, where))
		return -1;
	if (where == CIM_KV_ENGINE) {
		r.ps = ps_for_cycles(div_ceil(macs, c->attn_engine.macs_per_cycle),
				     c->attn_engine.clock_hz);
		r.energy.pj[CIM_E_ARRAY] = (double)macs * c->attn_engine.mac_pj;
		*out = r;
		return 0;
	}
	compute_ps = ps_for_cycles(div_ceil(macs, c->digital.lanes), c->digital.clock_hz);
	r.energy.pj[CIM_E_DIGITAL] = (double)macs * c->digital.energy_pj;
	r.compute_ps = compute_ps;
	if (where == CIM_KV_DRAM) {
		r.memory_ps = ps_for_bytes(bytes, c->dram.bandwidth);
		r.energy.pj[CIM_E_DRAM] = (double)bytes * c->dram.energy_pj;
	} else {
		r.memory_ps = ps_for_bytes(bytes, c->buffer.bandwidth);
		r.energy.pj[CIM_E_BUFFER] = (double)bytes * c->buffer.energy_pj;
	}
	r.ps = max_u64(compute_ps, r.memory_ps);
	*out = r;
	return 0;
}

/*
 * Appending K and V of the new tokens: kv_heads · kv_dim values each.
 * Buffer and DRAM are bandwidth-bound; the SRAM-CIM engine writes one K and
 * one V vector per token (in separate arrays, in parallel), write_ps each.
 */
int cim_chip_kv_append(const struct cim_chip_spec *c, const struct cim_attn_shape *a,
		       enum cim_kv_where where, struct cim_chip_cost *out)
{
	struct cim_chip_cost r = { 0 };
	uint64_t bytes = bytes_of((uint64_t)a->kv_heads * a->kv_dim * a->queries, a->kv_bits);

	if (!has_part(c, where))
		return -1;
	switch (where) {
	case CIM_KV_ENGINE:
		r.ps = a->queries * c->attn_engine.write_ps;
		r.energy.pj[CIM_E_ARRAY] = (double)bytes * c->attn_engine.write_pj;
		break;
	case CIM_KV_DRAM:
		r.ps = ps_for_bytes(bytes, c->dram.bandwidth);
		r.energy.pj[CIM_E_DRAM] = (double)bytes * c->dram.energy_pj;
		break;
	case CIM_KV_BUFFER:
		r.ps = ps_for_bytes(bytes, c->buffer.bandwidth);
		r.energy.pj[CIM_E_BUFFER] = (double)bytes * c->buffer.energy_pj;
		break;
	}
	*out = r;
	return 0;
}

/*
 * Program-and-verify: an iteration pulses rows_in_parallel rows (all their
 * columns at once, as IBM's PCM tiles write a row's 512 weights together)
 * and reads them back: one read of those rows and the conversion of their
 * columns by the crossbar's ADCs.  Every cell holding a weight takes every
 * pulse; every row of a used crossbar is verified.
 */
int cim_chip_program(const struct cim_chip_spec *c, uint64_t crossbars, uint64_t cells,
		     struct cim_chip_cost *out)
{
	struct cim_chip_cost r = { 0 };

	if (!c->has_program)
		return -1;
	const struct cim_program_spec *p = &c->program;
	const uint64_t verify_ps =
	    c->xbar.read_ps +
	    (uint64_t)ceil((double)div_ceil(c->xbar.cols, c->adc.per_crossbar) * c->adc.latency_ps -
			   1e-6);
	const uint64_t steps = div_ceil(c->xbar.rows, p->rows_in_parallel) * p->iterations;
	r.ps = div_ceil(crossbars, p->crossbars_in_parallel) * steps * (p->pulse_ps + verify_ps);
	const double verifies = (double)crossbars * c->xbar.rows * p->iterations; /* row reads */
	r.energy.pj[CIM_E_ARRAY] =
	    (double)cells * p->iterations * p->pulse_pj + verifies * c->xbar.read_pj / c->xbar.rows;
	r.energy.pj[CIM_E_ADC] = verifies * c->xbar.cols * c->adc.energy_pj;
	*out = r;
	return 0;
}

/* ------------------------------------------------------ the whole chip */

double cim_chip_static_w(const struct cim_chip_spec *c)
{
	return c->leakage_w + c->other_w + (c->has_dram ? c->dram.background_w : 0);
}

double cim_chip_leakage_pj(const struct cim_chip_spec *c, uint64_t ps)
{
	return cim_chip_static_w(c) * (double)ps; /* W = pJ/ps */
}

static uint64_t chip_crossbars(const struct cim_chip_spec *c)
{
	return (uint64_t)c->tiles * c->crossbars_per_tile;
}

/* Area is the sum of the parts (ISAAC Table I adds its parts the same way). */
void cim_chip_area(const struct cim_chip_spec *c, struct cim_chip_area *out)
{
	struct cim_chip_area a = { 0 };
	double x = (double)chip_crossbars(c);

	a.crossbars = x * c->xbar.area_mm2;
	a.adc = x * c->adc.per_crossbar * c->adc.area_mm2;
	a.dac = x * c->xbar.rows * c->dac.area_mm2;
	a.sample_hold = c->has_sample_hold ? x * c->xbar.cols * c->sample_hold.area_mm2 : 0;
	a.shift_add = x * c->shift_add.area_mm2;
	a.digital = c->digital.area_mm2;
	a.buffer = c->buffer.area_mm2;
	a.dram = c->has_dram ? c->dram.area_mm2 : 0;
	a.attn_engine = c->has_attn_engine ? c->attn_engine.area_mm2 : 0;
	a.other = c->other_area_mm2;
	a.total = a.crossbars + a.adc + a.dac + a.sample_hold + a.shift_add + a.digital + a.buffer +
		  a.dram + a.attn_engine + a.other;
	*out = a;
}

void cim_chip_capacity(const struct cim_chip_spec *c, struct cim_chip_capacity *out)
{
	struct cim_chip_capacity r = { 0 };
	struct cim_chip_map m;

	cim_chip_map(c, 1, 1, &m);
	r.crossbars = chip_crossbars(c);
	r.weights_per_xbar = (uint64_t)c->xbar.rows * (m.weight_cols / m.cells_per_weight);
	r.weights = r.crossbars * r.weights_per_xbar;
	r.weight_bytes = bytes_of(r.weights, c->weight_bits);
	r.buffer_bytes = c->buffer.bytes;
	r.dram_bytes = c->has_dram ? c->dram.bytes : 0;
	r.engine_bytes = c->has_attn_engine ? c->attn_engine.bytes : 0;
	*out = r;
}

/*
 * Peaks: every crossbar holds a full block (rows × floor(weight_cols /
 * cells_per_weight) weights) and streams MVMs one interval apart; a
 * near-memory chip's MAC arrays all busy.  A MAC is
 * two operations.  Power at peak is the MVM energy of every crossbar per
 * interval plus the static power; the vector unit is idle.
 */
void cim_chip_peak(const struct cim_chip_spec *c, struct cim_chip_peak *out)
{
	struct cim_chip_peak p = { 0 };
	struct cim_chip_area area;
	struct cim_chip_map one;
	double x = (double)chip_crossbars(c), per_ps;

	cim_chip_map(c, 1, 1, &one);
	cim_chip_map(c, c->xbar.rows, one.weight_cols / one.cells_per_weight, &p.map);
	cim_chip_mvm(c, &p.map, &p.mvm);
	if (c->kind == CIM_CHIP_NEAR_MEMORY) {
		/* Every MAC array busy on long streams of vectors and every
		 * memory streaming weights at its bandwidth; the buffer's
		 * traffic follows the matrices' shapes, not the blocks', and is
		 * left out (docs/chip-model.md §12). */
		const double macs = (double)c->nm.macs_per_cycle * c->nm.cores * c->nm.clock_hz;
		p.ops_per_s = 2 * macs;
		p.power_by_part.pj[CIM_E_ARRAY] =
		    macs * 1e-12 * c->nm.mac_pj +
		    c->nm.cores * c->nm.bandwidth * 1e-12 * c->nm.read_pj;
	} else {
		per_ps = x / (double)p.mvm.interval_ps;
		p.ops_per_s = 2.0 * (double)(p.map.k * p.map.n) * per_ps * 1e12;
		cim_chip_energy_add(&p.power_by_part, &p.mvm.energy, per_ps); /* pJ/ps = W */
	}
	p.dynamic_w = cim_chip_energy_total(&p.power_by_part);
	p.power_w = p.dynamic_w + cim_chip_static_w(c);
	p.ops_per_j = p.power_w > 0 ? p.ops_per_s / p.power_w : 0;
	cim_chip_area(c, &area);
	p.ops_per_s_mm2 = area.total > 0 ? p.ops_per_s / area.total : 0;
	*out = p;
}
