/*
 * test_chip.c — the chip cost model against hand calculations and published
 * figures.
 *
 * Every expected number is worked out in the comment beside it, or is a
 * published figure with its source.  The chips are filled in C here so the
 * equations are tested alone; the presets in configs/chips are loaded and
 * checked against the same published figures at the end.
 */
#include <stdio.h>
#include <string.h>

#include "chip.h"
#include "load.h"
#include "test.h"

/*
 * A tiny chip for hand calculations: 2×2 crossbars of 2-bit cells, 4-bit
 * weights (2 cells each), 4-bit inputs through 1-bit DACs (4 cycles), one
 * ADC per crossbar of 3 ps per conversion, reads of 10 ps, 16 crossbars.
 */
static struct cim_chip_spec tiny(void)
{
	struct cim_chip_spec c = {
		.name = "tiny",
		.xbar = { .rows = 2,
			  .cols = 2,
			  .cell_bits = 2,
			  .read_ps = 10,
			  .read_pj = 4.0,
			  .area_mm2 = 1.0 },
		.weight_bits = 4,
		.sign = CIM_SIGN_NONE,
		.input_bits = 4,
		.dac = { .bits = 1, .energy_pj = 0.2, .area_mm2 = 0.01 },
		.adc = { .bits = 4,
			 .per_crossbar = 1,
			 .latency_ps = 3,
			 .energy_pj = 0.5,
			 .area_mm2 = 0.1 },
		.shift_add = { .energy_pj = 0.1, .latency_ps = 2, .area_mm2 = 0.05 },
		.has_sample_hold = true,
		.sample_hold = { .energy_pj = 0.01, .area_mm2 = 0.001 },
		.crossbars_per_tile = 4,
		.tiles = 4,
		.digital = { .lanes = 4, .clock_hz = 1e9, .energy_pj = 0.3, .area_mm2 = 2.0 },
		.buffer = { .bytes = 1024, .bandwidth = 1e12, .energy_pj = 1.0, .area_mm2 = 3.0 },
		.has_dram = true,
		.dram = { .bytes = 1 << 20, .bandwidth = 1e9, .energy_pj = 2.0, .area_mm2 = 0 },
		.has_attn_engine = true,
		.attn_engine = { .bytes = 4096,
				 .macs_per_cycle = 16,
				 .clock_hz = 1e9,
				 .mac_pj = 0.05,
				 .write_ps = 500,
				 .write_pj = 0.5,
				 .area_mm2 = 0 },
		.leakage_w = 0.002,
		.other_w = 0.001,
		.other_area_mm2 = 0.5,
	};
	return c;
}

/* 3×5 on 2×2 crossbars: ceil(3/2) = 2 row blocks; 5 weights · 2 cells = 10
 * columns → ceil(10/2) = 5 column blocks; 10 crossbars; 3·10 = 30 of
 * 10·4 = 40 cells used: fill 0.75. */
static void test_map_3x5(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;

	cim_chip_map(&c, 3, 5, &m);
	CIM_ASSERT_EQ_U64(m.slices, 2);
	CIM_ASSERT_EQ_U64(m.cells_per_weight, 2);
	CIM_ASSERT_EQ_U64(m.row_blocks, 2);
	CIM_ASSERT_EQ_U64(m.col_blocks, 5);
	CIM_ASSERT_EQ_U64(m.crossbars, 10);
	CIM_ASSERT_EQ_U64(m.cells_used, 30);
	CIM_ASSERT_EQ_U64(m.cells_total, 40);
	CIM_ASSERT_REL(m.fill, 0.75, 1e-12);
}

/* Differential pairs double the cells: 4 per weight, 3×5 → 20 columns → 10
 * column blocks × 2 row blocks = 20 crossbars.  An offset column on 4-column
 * crossbars leaves 3 for weights: 5·2 = 10 columns → ceil(10/3) = 4 blocks,
 * 10 + 4 = 14 columns converted per row block. */
static void test_map_signed(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;

	c.sign = CIM_SIGN_DIFFERENTIAL;
	cim_chip_map(&c, 3, 5, &m);
	CIM_ASSERT_EQ_U64(m.cells_per_weight, 4);
	CIM_ASSERT_EQ_U64(m.col_blocks, 10);
	CIM_ASSERT_EQ_U64(m.crossbars, 20);

	c = tiny();
	c.xbar.cols = 4;
	c.sign = CIM_SIGN_OFFSET;
	c.offset_cols = 1;
	cim_chip_map(&c, 3, 5, &m);
	CIM_ASSERT_EQ_U64(m.weight_cols, 3);
	CIM_ASSERT_EQ_U64(m.col_blocks, 4);
	CIM_ASSERT_EQ_U64(m.cols_converted, 14);
	CIM_ASSERT_EQ_U64(m.widest_block, 4);
}

/* Edges on 4×8 crossbars (2 cells per weight, 4 weights per row):
 * - 3×2, smaller than a crossbar: 1 crossbar, 3·4 = 12 of 32 cells, fill
 *   0.375, widest block 4 columns;
 * - 4×4, exactly one crossbar: fill 1;
 * - 5×4, one row more than fits: 2 row blocks, 2 crossbars, 5·8 = 40 of 64
 *   cells, fill 0.625;
 * - 4×5, one weight more than a row holds: 10 columns → 2 column blocks. */
static void test_map_edges(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;

	c.xbar.rows = 4;
	c.xbar.cols = 8;
	cim_chip_map(&c, 3, 2, &m);
	CIM_ASSERT_EQ_U64(m.crossbars, 1);
	CIM_ASSERT_EQ_U64(m.widest_block, 4);
	CIM_ASSERT_REL(m.fill, 0.375, 1e-12);

	cim_chip_map(&c, 4, 4, &m);
	CIM_ASSERT_EQ_U64(m.crossbars, 1);
	CIM_ASSERT_REL(m.fill, 1.0, 1e-12);

	cim_chip_map(&c, 5, 4, &m);
	CIM_ASSERT_EQ_U64(m.row_blocks, 2);
	CIM_ASSERT_EQ_U64(m.crossbars, 2);
	CIM_ASSERT_REL(m.fill, 0.625, 1e-12);

	cim_chip_map(&c, 4, 5, &m);
	CIM_ASSERT_EQ_U64(m.col_blocks, 2);
	CIM_ASSERT_EQ_U64(m.crossbars, 2);
}

/*
 * One MVM of 3×5 on the tiny chip:
 * - 4 input cycles (4 bits, 1-bit DAC); the one ADC converts 2 columns of a
 *   block: 2·3 = 6 ps; with sample-and-hold cycle = max(10, 6) = 10 ps;
 * - latency = 10 (first read) + 3·10 + 6 (last conversions) + 1 adder-tree
 *   level (2 row blocks) · 2 = 48 ps; interval = 4·10 = 40 ps;
 * - conversions = 4 cycles · 2 row blocks · 10 columns = 80;
 *   shift-adds = 80 + 5 outputs · (2 − 1) = 85;
 * - buffer bytes = ceil(3·4/8) + ceil(5·4/8) = 2 + 3 = 5;
 * - energy: array 4 cycles · 4 pJ · 30/4 cells = 120; DAC 4 · (3 rows · 5
 *   blocks) · 0.2 = 12; ADC 80 · 0.5 = 40; S&H 80 · 0.01 = 0.8; shift-add
 *   85 · 0.1 = 8.5; buffer 5 · 1 = 5.
 */
static void test_mvm_3x5(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;
	struct cim_chip_mvm v;

	cim_chip_map(&c, 3, 5, &m);
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.input_cycles, 4);
	CIM_ASSERT_EQ_U64(v.cols_per_adc, 2);
	CIM_ASSERT_EQ_U64(v.cycle_ps, 10);
	CIM_ASSERT_EQ_U64(v.latency_ps, 48);
	CIM_ASSERT_EQ_U64(v.interval_ps, 40);
	CIM_ASSERT_EQ_U64(v.conversions, 80);
	CIM_ASSERT_EQ_U64(v.shift_adds, 85);
	CIM_ASSERT_EQ_U64(v.buffer_bytes, 5);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ARRAY], 120, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_DAC], 12, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ADC], 40, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_SAMPLE_HOLD], 0.8, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_SHIFT_ADD], 8.5, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_BUFFER], 5, 1e-12);
	CIM_ASSERT_EQ_U64(v.energy.pj[CIM_E_DIGITAL] + v.energy.pj[CIM_E_DRAM], 0);
	CIM_ASSERT_REL(cim_chip_energy_total(&v.energy), 186.3, 1e-12);

	/* Without sample-and-hold read and conversion add up: cycle 10 + 6 = 16,
	 * latency 4·16 + 2 = 66, interval 64. */
	c.has_sample_hold = false;
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.cycle_ps, 16);
	CIM_ASSERT_EQ_U64(v.latency_ps, 66);
	CIM_ASSERT_EQ_U64(v.interval_ps, 64);
	CIM_ASSERT_EQ_U64(v.energy.pj[CIM_E_SAMPLE_HOLD], 0);
}

/* More input bits → more cycles; more ADCs per crossbar → shorter cycles.
 * On 2×8 crossbars one ADC converts 8 columns in 24 ps (> 10 ps read): cycle
 * 24; two ADCs: 12; four: max(10, 6) = 10, now the read limits it. */
static void test_monotonic(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;
	struct cim_chip_mvm v4, v8, a1, a2, a4;

	cim_chip_map(&c, 2, 1, &m);
	cim_chip_mvm(&c, &m, &v4);
	c.input_bits = 8;
	cim_chip_mvm(&c, &m, &v8);
	CIM_ASSERT_EQ_U64(v4.input_cycles, 4);
	CIM_ASSERT_EQ_U64(v8.input_cycles, 8);
	CU_ASSERT(v8.latency_ps > v4.latency_ps);
	CU_ASSERT(v8.interval_ps > v4.interval_ps);
	CU_ASSERT(cim_chip_energy_total(&v8.energy) > cim_chip_energy_total(&v4.energy));

	/* 2-bit DACs halve the cycles of 8-bit inputs: 4. */
	c.dac.bits = 2;
	cim_chip_mvm(&c, &m, &v8);
	CIM_ASSERT_EQ_U64(v8.input_cycles, 4);

	c = tiny();
	c.xbar.cols = 8;
	cim_chip_map(&c, 2, 4, &m);
	cim_chip_mvm(&c, &m, &a1);
	c.adc.per_crossbar = 2;
	cim_chip_mvm(&c, &m, &a2);
	c.adc.per_crossbar = 4;
	cim_chip_mvm(&c, &m, &a4);
	CIM_ASSERT_EQ_U64(a1.cycle_ps, 24);
	CIM_ASSERT_EQ_U64(a2.cycle_ps, 12);
	CIM_ASSERT_EQ_U64(a4.cycle_ps, 10);
	CU_ASSERT(a2.latency_ps < a1.latency_ps && a4.latency_ps < a2.latency_ps);
	/* The same conversions are made, only by more converters. */
	CIM_ASSERT_EQ_U64(a1.conversions, a4.conversions);
}

/* 10 vectors through 3×5 (latency 48, interval 40, above): one copy takes
 * 48 + 9·40 = 408 ps; three copies take ceil(10/3) = 4 each: 48 + 3·40 =
 * 168 ps; energy is 10 MVMs either way, 10 · 186.3 pJ.  The buffer moves
 * 10·5 = 50 bytes at 1 byte/ps, 50 ps, and does not limit. */
static void test_stream(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;
	struct cim_chip_cost s;

	cim_chip_map(&c, 3, 5, &m);
	cim_chip_mvm_stream(&c, &m, 10, 1, &s);
	CIM_ASSERT_EQ_U64(s.ps, 408);
	CIM_ASSERT_REL(cim_chip_energy_total(&s.energy), 1863, 1e-12);
	cim_chip_mvm_stream(&c, &m, 10, 3, &s);
	CIM_ASSERT_EQ_U64(s.ps, 168);
	CIM_ASSERT_REL(cim_chip_energy_total(&s.energy), 1863, 1e-12);
	/* A buffer of 0.1 byte/ps needs 500 ps for the 50 bytes. */
	c.buffer.bandwidth = 1e11;
	cim_chip_mvm_stream(&c, &m, 10, 3, &s);
	CIM_ASSERT_EQ_U64(s.ps, 500);
	cim_chip_mvm_stream(&c, &m, 0, 1, &s);
	CIM_ASSERT_EQ_U64(s.ps, 0);
}

/* RMSNorm of 10 elements: 4 ops each = 40 ops on 4 lanes = 10 cycles of
 * 1000 ps; 2·ceil(10·4/8) = 10 bytes at 1 byte/ps do not limit.  Energy:
 * 40 · 0.3 = 12 pJ digital, 10 pJ buffer.  LayerNorm: 7 ops → 70 ops → 18
 * cycles. */
static void test_vector_ops(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_cost r;

	cim_chip_vector_op(&c, CIM_OP_NORM, CIM_NORM_RMSNORM, CIM_ACT_SILU, 10, &r);
	CIM_ASSERT_EQ_U64(r.ps, 10000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DIGITAL], 12, 1e-12);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 10, 1e-12);
	cim_chip_vector_op(&c, CIM_OP_NORM, CIM_NORM_LAYERNORM, CIM_ACT_SILU, 10, &r);
	CIM_ASSERT_EQ_U64(r.ps, 18000);
	CIM_ASSERT_EQ_U64(cim_chip_ops_per_elem(CIM_OP_ACT, CIM_NORM_RMSNORM, CIM_ACT_SILU), 4);
	CIM_ASSERT_EQ_U64(cim_chip_ops_per_elem(CIM_OP_ACT, CIM_NORM_RMSNORM, CIM_ACT_GELU), 8);
	CIM_ASSERT_EQ_U64(cim_chip_ops_per_elem(CIM_OP_SOFTMAX, CIM_NORM_RMSNORM, CIM_ACT_SILU), 5);
	CIM_ASSERT_EQ_U64(cim_chip_ops_per_elem(CIM_OP_MATMUL, CIM_NORM_RMSNORM, CIM_ACT_SILU), 0);
}

/* Two query heads on one KV head of 4 channels (K and V: 8 values a
 * position) at 8 bits, past positions cached and queries new. */
static struct cim_attn_shape heads2(uint64_t past, uint64_t queries)
{
	return (struct cim_attn_shape){ .heads = 2,
					.kv_heads = 1,
					.qk_dim = 4,
					.v_dim = 4,
					.kv_dim = 8,
					.kv_bits = 8,
					.past = past,
					.queries = queries };
}

/*
 * Decode: 2 query heads sharing 1 KV head of 4, 8-bit KV, 9 positions
 * cached + 1 new = 10 attended.  MACs = 2 (QK, AV) · 2 · 4 · 10 = 160 →
 * 40 cycles on 4 lanes = 40000 ps; K and V read: 2 · 1 · 4 · 10 = 80 bytes,
 * 80 ps from the buffer (compute-bound) or 80000 ps from DRAM at 1 GB/s
 * (memory-bound).  Energy 160 · 0.3 = 48 pJ digital; 80 pJ buffer or 160 pJ
 * DRAM.  The engine: 160 / 16 = 10 cycles = 10000 ps, 160 · 0.05 = 8 pJ.
 */
static void test_attention_decode(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_attn_shape a = heads2(9, 1);
	struct cim_chip_cost r;

	CIM_ASSERT_EQ_U64(cim_chip_attn_positions(&a), 10);
	CU_ASSERT(cim_chip_attention(&c, &a, CIM_KV_BUFFER, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 40000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DIGITAL], 48, 1e-12);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 80, 1e-12);
	CU_ASSERT(cim_chip_attention(&c, &a, CIM_KV_DRAM, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 80000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DRAM], 160, 1e-12);
	CU_ASSERT(cim_chip_attention(&c, &a, CIM_KV_ENGINE, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 10000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_ARRAY], 8, 1e-12);
	CIM_ASSERT_EQ_U64(
	    r.energy.pj[CIM_E_DIGITAL] + r.energy.pj[CIM_E_BUFFER] + r.energy.pj[CIM_E_DRAM], 0);

	/* Latent attention: q·k over a latent of 4 and a RoPE key of 2, p·V
	 * over the latent, one cached vector of 6 read as both: 2 · (6 + 4)
	 * · 10 = 200 MACs, 50 cycles = 50000 ps, 60 pJ digital; 1 · 6 · 10 =
	 * 60 bytes, 60 pJ from the buffer. */
	struct cim_attn_shape mla = a;
	mla.qk_dim = 6;
	mla.v_dim = 4;
	mla.kv_dim = 6;
	CU_ASSERT(cim_chip_attention(&c, &mla, CIM_KV_BUFFER, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 50000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DIGITAL], 60, 1e-12);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 60, 1e-12);

	c.has_dram = false;
	CU_ASSERT(cim_chip_attention(&c, &a, CIM_KV_DRAM, &r) < 0);
}

/* Causal prefill: with nothing cached, 4 queries attend 1+2+3+4 = 10
 * positions; with 3 cached, 2 queries attend 4 + 5 = 9.  K/V read once:
 * 2 · 1 · 4 · (3 + 2) = 40 bytes. */
static void test_attention_prefill(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_attn_shape a = heads2(0, 4);
	struct cim_chip_cost r;

	CIM_ASSERT_EQ_U64(cim_chip_attn_positions(&a), 10);
	a.past = 3;
	a.queries = 2;
	CIM_ASSERT_EQ_U64(cim_chip_attn_positions(&a), 9);
	CU_ASSERT(cim_chip_attention(&c, &a, CIM_KV_BUFFER, &r) == 0);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 40, 1e-12);
	/* 2·2·4·9 = 144 MACs → 36 cycles. */
	CIM_ASSERT_EQ_U64(r.ps, 36000);
}

/* Appending 4 tokens: 2 · 1 · 4 · 4 = 32 bytes.  Buffer: 32 ps, 32 pJ;
 * DRAM at 1 GB/s: 32000 ps, 64 pJ; engine: one K and one V write per token,
 * 4 · 500 = 2000 ps, 32 · 0.5 = 16 pJ. */
static void test_kv_append(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_attn_shape a = heads2(0, 4);
	struct cim_chip_cost r;

	CU_ASSERT(cim_chip_kv_append(&c, &a, CIM_KV_BUFFER, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 32);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 32, 1e-12);
	CU_ASSERT(cim_chip_kv_append(&c, &a, CIM_KV_DRAM, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 32000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DRAM], 64, 1e-12);
	CU_ASSERT(cim_chip_kv_append(&c, &a, CIM_KV_ENGINE, &r) == 0);
	CIM_ASSERT_EQ_U64(r.ps, 2000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_ARRAY], 16, 1e-12);
	c.has_attn_engine = false;
	CU_ASSERT(cim_chip_kv_append(&c, &a, CIM_KV_ENGINE, &r) < 0);
}

/*
 * The whole tiny chip (16 crossbars):
 * - static 0.002 + 0.001 W over 1000 ps = 3 pJ;
 * - area 16·1 + 16·0.1 (ADC) + 16·2·0.01 (DAC) + 16·2·0.001 (S&H) +
 *   16·0.05 (shift-add) + 2 + 3 + 0.5 = 24.252 mm²;
 * - capacity 2 rows · floor(2/2) = 2 weights per crossbar, 32 weights,
 *   32·4/8 = 16 bytes;
 * - peak: a full crossbar is 2×1; interval 4 cycles · 10 ps = 40 ps; ops
 *   2·2·1·16 / 40 ps = 1.6e12/s; its MVM energy: array 4·4 = 16, DAC
 *   4·2·0.2 = 1.6, ADC 8·0.5 = 4, S&H 0.08, shift-add 0.8, buffer 1 + 1 = 2
 *   → 24.48 pJ; power 16 · 24.48 / 40 + 0.003 = 9.795 W.
 */
static void test_chip_totals(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_area area;
	struct cim_chip_capacity cap;
	struct cim_chip_peak p;

	CIM_ASSERT_REL(cim_chip_leakage_pj(&c, 1000), 3.0, 1e-12);
	cim_chip_area(&c, &area);
	CIM_ASSERT_REL(area.total, 24.252, 1e-12);
	cim_chip_capacity(&c, &cap);
	CIM_ASSERT_EQ_U64(cap.crossbars, 16);
	CIM_ASSERT_EQ_U64(cap.weights, 32);
	CIM_ASSERT_EQ_U64(cap.weight_bytes, 16);
	cim_chip_peak(&c, &p);
	CIM_ASSERT_EQ_U64(p.mvm.interval_ps, 40);
	CIM_ASSERT_REL(p.ops_per_s, 1.6e12, 1e-12);
	CIM_ASSERT_REL(cim_chip_energy_total(&p.mvm.energy), 24.48, 1e-12);
	CIM_ASSERT_REL(p.power_w, 9.795, 1e-12);
	CIM_ASSERT_REL(p.ops_per_j, 1.6e12 / 9.795, 1e-12);
	CIM_ASSERT_REL(p.ops_per_s_mm2, 1.6e12 / 24.252, 1e-12);
}

/*
 * ISAAC (Shafiee et al., ISCA 2016, Table I), parameters as in
 * configs/chips/isaac.yaml: 168 tiles × 12 IMAs × 8 crossbars of 128×128,
 * 2-bit cells, 16-bit weights (8 cells), 16-bit inputs over 1-bit DACs (16
 * cycles of 100 ns), one 8-bit 1.28 GS/s ADC per crossbar.
 */
static struct cim_chip_spec isaac(void)
{
	struct cim_chip_spec c = {
		.name = "isaac",
		.xbar = { .rows = 128,
			  .cols = 128,
			  .cell_bits = 2,
			  .read_ps = 100000,
			  .read_pj = 30.0,
			  .area_mm2 = 25e-6 },
		.weight_bits = 16,
		.sign = CIM_SIGN_OFFSET,
		.offset_cols = 0,
		.input_bits = 16,
		.dac = { .bits = 1, .energy_pj = 0.390625, .area_mm2 = 170e-6 / 1024 },
		.adc = { .bits = 8,
			 .per_crossbar = 1,
			 .latency_ps = 1e12 / 1.28e9,
			 .energy_pj = 1.5625,
			 .area_mm2 = 1200e-6 },
		.shift_add = { .energy_pj = 0.2e-3 / (8 * 1.28e9) * 1e12, .area_mm2 = 30e-6 },
		.has_sample_hold = true,
		.sample_hold = { .energy_pj = 1.0 / 1024, .area_mm2 = 40e-6 / 1024 },
		.crossbars_per_tile = 96,
		.tiles = 168,
		.digital = { .lanes = 336,
			     .clock_hz = 1.28e9,
			     .energy_pj = 0.203,
			     .area_mm2 = 168 * 0.0006 },
		.buffer = { .bytes = 168 * 65536,
			    .bandwidth = 168 * 32 * 1.28e9,
			    .energy_pj = 20.45 / 32,
			    .area_mm2 = 168 * 0.083 },
		.other_w =
		    168 * (12 * 1.47e-3 + 7e-3 + 10.5e-3 + 0.05e-3 + 0.4e-3 + 1.68e-3) + 10.4,
		.other_area_mm2 =
		    168 * (12 * 0.00287 + 0.090 + 0.03775 + 0.00006 + 0.00024 + 0.0032) + 22.88,
	};
	return c;
}

/* ISAAC: peak 41.3 TOPS (docs/references.md, ISAAC; derived from ISCA'16: 16128 ·
 * 128·16 · 2 / 1.6 µs) ±3 %; 479 GOPS/mm² (ISCA'16 §7) ±10 %. */
static void test_isaac_peak(void)
{
	struct cim_chip_spec c = isaac();
	struct cim_chip_peak p;
	struct cim_chip_capacity cap;

	cim_chip_capacity(&c, &cap);
	CIM_ASSERT_EQ_U64(cap.crossbars, 16128);       /* ISCA'16: 168 · 12 · 8 */
	CIM_ASSERT_EQ_U64(cap.weights_per_xbar, 2048); /* 128 rows · 128/8 */
	cim_chip_peak(&c, &p);
	CIM_ASSERT_EQ_U64(p.mvm.interval_ps, 1600000); /* 16 · 100 ns */
	CIM_ASSERT_REL(p.ops_per_s, 41.3e12, 0.03);
	CIM_ASSERT_REL(p.ops_per_s_mm2, 479e9, 0.10);
}

/*
 * IBM 64-core PCM chip (Le Gallo et al., Nature Electronics 2023): 64 cores
 * of 256×256 unit cells, one analog weight each, 256 CCO ADCs per core,
 * 8-bit inputs as one PWM pulse.  Integration window 128 ns (HERMES,
 * Khaddam-Aljameh et al., JSSC 2022) plus 5 ns ADC read-out, no sample-and-
 * hold (the CCO converts while the array integrates).  Core energy per MVM
 * 256·256·2 / 10.5 TOPS/W (HERMES) = 12483 pJ, booked on the array.
 */
static struct cim_chip_spec pcm64(void)
{
	struct cim_chip_spec c = {
		.name = "ibm-pcm-64core",
		.xbar = { .rows = 256,
			  .cols = 256,
			  .cell_bits = 8,
			  .read_ps = 128000,
			  .read_pj = 256.0 * 256 * 2 / 10.5,
			  .area_mm2 = 1.008 / 1.59 },
		.weight_bits = 8,
		.sign = CIM_SIGN_NONE,
		.input_bits = 8,
		.dac = { .bits = 8 },
		.adc = { .bits = 8, .per_crossbar = 256, .latency_ps = 5000 },
		.crossbars_per_tile = 1,
		.tiles = 64,
		.digital = { .lanes = 64, .clock_hz = 1e9, .energy_pj = 1.0 },
		.buffer = { .bytes = 64 << 10, .bandwidth = 1e12, .energy_pj = 1.25 },
	};
	return c;
}

/* 64-core PCM: 63.1 TOPS ±3 % and 9.76 TOPS/W ±15 % (Le Gallo et al.,
 * Nature Electronics 2023, one-phase 8-bit MVMs). */
static void test_pcm_peak(void)
{
	struct cim_chip_spec c = pcm64();
	struct cim_chip_peak p;

	cim_chip_peak(&c, &p);
	CIM_ASSERT_EQ_U64(p.mvm.interval_ps, 133000);
	CIM_ASSERT_REL(p.ops_per_s, 63.1e12, 0.03);
	CIM_ASSERT_REL(p.ops_per_j, 9.76e12, 0.15);
}

/* The preset files give the published figures too (same sources as above). */
static void test_presets(void)
{
	struct cim_chip_spec c;
	struct cim_chip_peak p;

	if (load("configs/chips/isaac.yaml", &c))
		return;
	cim_chip_peak(&c, &p);
	CIM_ASSERT_REL(p.ops_per_s, 41.3e12, 0.03);   /* ISAAC, ISCA'16 */
	CIM_ASSERT_REL(p.ops_per_s_mm2, 479e9, 0.10); /* ISAAC, ISCA'16 */
	/* Other power: 168 tiles · 37.27 mW (IR, OR, bus, router, S+A, pool,
	 * Table I) + 10.4 W of HyperTransport = 16.661 W.  Total power and
	 * efficiency against Table I's 65.8 W and 41.3 TOPS / 65.8 W = 627
	 * GOPS/W (docs/references.md, ISAAC; derived from the totals), ±5 %. */
	CIM_ASSERT_REL(c.other_w, 16.66136, 1e-9);
	CIM_ASSERT_REL(p.power_w, 65.8, 0.05);
	CIM_ASSERT_REL(p.ops_per_j, 627e9, 0.05);
	if (load("configs/chips/ibm-pcm-64core.yaml", &c))
		return;
	cim_chip_peak(&c, &p);
	CIM_ASSERT_REL(p.ops_per_s, 63.1e12, 0.03); /* Le Gallo 2023 */
	CIM_ASSERT_REL(p.ops_per_j, 9.76e12, 0.15); /* Le Gallo 2023 */
	/* The SRAM macro's cycle and energy are derived from Chih (ISSCC 2021):
	 * one full-macro MVM is 4 cycles of 2.5 ns and 32768 ops / 89 TOPS/W
	 * = 368.2 pJ before buffer traffic. */
	if (load("configs/chips/sram-cim-22nm.yaml", &c))
		return;
	cim_chip_peak(&c, &p);
	CIM_ASSERT_EQ_U64(p.mvm.interval_ps, 10000);
	CIM_ASSERT_REL(p.mvm.energy.pj[CIM_E_ARRAY], 32768 / 89.0, 1e-3);
}

/* The LLM-class chip holds Llama-2-7B on 8 chips and Llama-2-70B on 64 at
 * 8-bit weights: 6,738,415,616 parameters (HF config count, as in
 * test_spec) / 8 and 68,976,648,192 / 64 (80 layers × (2·8192² + 2·8192·1024
 * + 3·8192·28672 + 2·8192) + 2·32000·8192 + 8192).  Per chip that is
 * 842,301,952 and 1,077,760,128 weights. */
static void test_llm_class_fits(void)
{
	struct cim_chip_spec c;
	struct cim_chip_capacity cap;

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	cim_chip_capacity(&c, &cap);
	CU_ASSERT(c.weight_bits == 8);
	CU_ASSERT(cap.weights >= 842301952);
	CU_ASSERT(cap.weights >= 1077760128);
	CU_ASSERT(c.has_dram);
	/* Its ADC is an 8-bit SAR at a 10.24 GHz bit clock with a 6.1035
	 * fJ/step FoM: 8 / 10.24e9 s = 781.25 ps per conversion (1.28 GS/s),
	 * 6.103515625 fJ · 2^8 = 1.5625 pJ; HBM at 3.9 pJ/bit is 31.2 pJ/byte;
	 * 16384 MiB = 17,179,869,184 bytes.  Static power: 1 W leakage + 2 W
	 * other + 0.653 W HBM background = 3.653 W. */
	CIM_ASSERT_REL(c.adc.latency_ps, 781.25, 1e-12);
	CIM_ASSERT_REL(c.adc.energy_pj, 1.5625, 1e-12);
	CIM_ASSERT_REL(cim_chip_static_w(&c), 3.653, 1e-12);
	CIM_ASSERT_REL(c.dram.energy_pj, 31.2, 1e-12);
	CIM_ASSERT_EQ_U64(c.dram.bytes, 17179869184ull);
}

/* The chip text of path with the first `from` replaced by `to`, loaded:
 * 0, or −1 with the message in err. */
static int load_edited(const char *path, const char *from, const char *to, struct cim_chip_spec *c,
		       struct cim_err *err)
{
	char text[16384], out[16896];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = 0;
	const char *at = strstr(text, from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	struct cim_files *files = cim_files_create(true);
	cim_files_put(files, path, out, strlen(out));
	int rc = cim_spec_load_chip(files, path, c, err);
	cim_files_destroy(files);
	return rc;
}

/*
 * The ADC resolution a column needs (docs/chip-model.md §2): R rows per read
 * of c-bit cells and d-bit inputs sum to at most R·(2^c − 1)·(2^d − 1),
 * ⌈log2(that + 1)⌉ bits, one fewer with ISAAC's encoding.
 * - ISAAC: 128 · 3 · 1 = 384, 9 bits; 8 with its encoding (ISCA 2016 §5).
 * - IBM 64-core PCM: 256 · 255 · 255 = 16,646,400 < 2^24 = 16,777,216 and
 *   ≥ 2^23: 24 bits, of which its 8-bit CCO ADCs keep the top 8.
 * - llm-class: 128 · 3 · 1 = 384, 9 bits, 8 with ISAAC's encoding.
 * - llm-class as it was (all 512 rows, 4-bit cells): 512 · 15 = 7,680, 13
 *   bits (2^12 = 4096 ≤ 7681 ≤ 8192).
 * - the edges: 255 one-bit rows sum to 255, 8 bits; 256 to 256, 9 bits.
 */
static void test_adc_bits_needed(void)
{
	struct cim_chip_spec c, d;
	struct cim_err err;
	uint64_t sum;

	if (load("configs/chips/isaac.yaml", &c))
		return;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&c, &sum), 8);
	CIM_ASSERT_EQ_U64(sum, 384);
	c.adc.encoding = CIM_ENC_NONE;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&c, NULL), 9);

	if (load("configs/chips/ibm-pcm-64core.yaml", &c))
		return;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&c, &sum), 24);
	CIM_ASSERT_EQ_U64(sum, 16646400);
	CU_ASSERT(c.adc.truncates);

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&c, &sum), 8);
	CIM_ASSERT_EQ_U64(sum, 384);
	CIM_ASSERT_EQ_U64(c.adc.bits, 8);
	CU_ASSERT(!c.adc.truncates);
	d = c;
	d.xbar.rows_per_cycle = 512;
	d.xbar.cell_bits = 4;
	d.adc.encoding = CIM_ENC_NONE;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&d, &sum), 13);
	CIM_ASSERT_EQ_U64(sum, 7680);

	d.xbar.cell_bits = 1;
	d.dac.bits = 1;
	d.xbar.rows_per_cycle = 255;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&d, NULL), 8);
	d.xbar.rows_per_cycle = 256;
	CIM_ASSERT_EQ_U64(cim_spec_adc_bits_needed(&d, NULL), 9);

	/* Refused, with the numbers, where its file says the rows: all 512
	 * rows per read need 10 bits (512 · 3 = 1536, 11 bits, less one). */
	CU_ASSERT_EQUAL(load_edited("configs/chips/llm-class.yaml", "rows_per_cycle: 128",
				    "rows_per_cycle: 512", &d, &err),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "llm-class.yaml:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "adc.bits: a column sums up to 512 rows × 3 × 1 = "
					       "1536"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs a 10-bit ADC with ISAAC's encoding"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "accept_truncation"));
}

/*
 * Converters at 4, 6, 8 and 10 bits (cim_spec_adc_*).  Time: a SAR at a
 * 10.24 GHz bit clock (97.65625 ps) takes b cycles: 390.625, 585.9375,
 * 781.25, 976.5625 ps; a flash at 2 GHz one cycle, 500 ps at any b; a ramp
 * at 1 GHz 2^b cycles: 16, 64, 256, 1024 ns.  Energy: Walden 6.1035 fJ ·
 * 2^b = 0.09765625, 0.390625, 1.5625, 6.25 pJ (×2 a bit); Schreier
 * 175 dB: 0.5 · 10^((6.02·b + 1.76 − 175)/10) J, so b = 8: 49.92 − 175 =
 * −125.08 dB, 10^−12.508 = 3.1046e-13, half 0.15523 pJ; 4: 10^−14.916 / 2
 * = 6.0669e-4 pJ; 6: 10^−13.712 / 2 = 9.7044e-3 pJ; 10: 10^−11.304 / 2 =
 * 2.4830 pJ (×4 a bit, 10^0.602).  Area: 4.6875 µm² · 2^b = 75, 300,
 * 1200, 4800 µm².
 */
static void test_converters(void)
{
	static const uint32_t bits[4] = { 4, 6, 8, 10 };
	static const double sar_ps[4] = { 390.625, 585.9375, 781.25, 976.5625 };
	static const double ramp_ps[4] = { 16000, 64000, 256000, 1024000 };
	static const double walden_pj[4] = { 0.09765625, 0.390625, 1.5625, 6.25 };
	static const double schreier_pj[4] = { 6.0669e-4, 9.7044e-3, 0.15523, 2.4830 };
	static const double area_um2[4] = { 75, 300, 1200, 4800 };
	struct cim_adc_spec sar = { .arch = CIM_ADC_SAR,
				    .clock_hz = 10.24e9,
				    .fom_kind = CIM_FOM_WALDEN,
				    .fom_fj = 6.103515625,
				    .area_per_step_mm2 = 4.6875e-6 };
	struct cim_adc_spec flash = { .arch = CIM_ADC_FLASH,
				      .clock_hz = 2e9,
				      .fom_kind = CIM_FOM_SCHREIER,
				      .fom_schreier_db = 175 };
	struct cim_adc_spec ramp = { .arch = CIM_ADC_RAMP, .clock_hz = 1e9 };
	struct cim_adc_spec given = { .latency_ps = 5000, .energy_pj = 2, .area_mm2 = 1e-3 };

	for (int i = 0; i < 4; i++) {
		CIM_ASSERT_REL(cim_spec_adc_latency_ps(&sar, bits[i]), sar_ps[i], 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_latency_ps(&flash, bits[i]), 500, 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_latency_ps(&ramp, bits[i]), ramp_ps[i], 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_energy_pj(&sar, bits[i]), walden_pj[i], 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_energy_pj(&flash, bits[i]), schreier_pj[i], 1e-4);
		CIM_ASSERT_REL(cim_spec_adc_area_mm2(&sar, bits[i]) * 1e6, area_um2[i], 1e-12);
		/* given figures do not move with the resolution */
		CIM_ASSERT_REL(cim_spec_adc_latency_ps(&given, bits[i]), 5000, 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_energy_pj(&given, bits[i]), 2, 1e-12);
		CIM_ASSERT_REL(cim_spec_adc_area_mm2(&given, bits[i]), 1e-3, 1e-12);
	}
}

/*
 * Reads of fewer rows than the crossbar has (crossbar.rows_per_cycle):
 * the tiny chip with 4×2 crossbars driving 2 rows per read.  3×1 (one
 * weight, 2 cells): one row block of 3 rows, ⌈3/2⌉ = 2 groups, so each of
 * the 4 input cycles takes 2 reads: 8 reads of max(10, 2·3) = 10 ps with
 * the sample-and-hold, latency 10 + 7·10 + 6 = 86, interval 80;
 * conversions 4·2·2 = 16 (ADC 8 pJ).  Driving all 4 rows at once: 4 reads,
 * 10 + 3·10 + 6 = 46, interval 40, 8 conversions (4 pJ).  The array and
 * DAC energies do not change (the same cells are driven): 4 · 4.0 · 3·2 /
 * 8 = 12 pJ and 4 · 3 · 1 · 0.2 = 2.4 pJ.  5×1: two row blocks of 4 and 1
 * rows, 2 + 1 = 3 groups, 4·3·2 = 24 conversions; the first block's 2
 * groups set the time, plus one adder level (2 ps): 88.
 */
static void test_rows_per_cycle(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;
	struct cim_chip_mvm v;

	c.xbar.rows = 4;
	c.xbar.rows_per_cycle = 2;
	cim_chip_map(&c, 3, 1, &m);
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.row_groups, 2);
	CIM_ASSERT_EQ_U64(v.latency_ps, 86);
	CIM_ASSERT_EQ_U64(v.interval_ps, 80);
	CIM_ASSERT_EQ_U64(v.conversions, 16);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ADC], 8.0, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ARRAY], 12.0, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_DAC], 2.4, 1e-12);

	c.xbar.rows_per_cycle = 4;
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.row_groups, 1);
	CIM_ASSERT_EQ_U64(v.latency_ps, 46);
	CIM_ASSERT_EQ_U64(v.interval_ps, 40);
	CIM_ASSERT_EQ_U64(v.conversions, 8);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ADC], 4.0, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ARRAY], 12.0, 1e-12);

	c.xbar.rows_per_cycle = 2;
	cim_chip_map(&c, 5, 1, &m);
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(m.row_blocks, 2);
	CIM_ASSERT_EQ_U64(v.conversions, 24);
	CIM_ASSERT_EQ_U64(v.latency_ps, 88);
}

/*
 * Changing llm-class's adc.bits moves time, energy and area as its SAR
 * (10.24 GHz bit clock), Walden FoM (6.1035 fJ) and area per level
 * (4.6875 µm²) say.  A full 512×128 MVM: 8 input cycles × 4 row groups =
 * 32 reads of max(100 ns, 512 conversions); 16,384 conversions; 20,480 ADCs.
 * - 8 bits: 781.25 ps → 400 ns a read, 12.8 µs; 1.5625 pJ → 25,600 pJ;
 *   1200 µm² → 24.576 mm².
 * - 10 bits: 976.5625 ps → 500 ns, 16 µs (× 1.25); 6.25 pJ → 102,400 pJ
 *   (× 4); 4800 µm² → 98.304 mm² (× 4).
 * - 6 bits, refused (the sums need 8) unless truncation is accepted: then
 *   585.9375 ps → 300 ns, 9.6 µs (× 0.75); 0.390625 pJ → 6,400 pJ (× 1/4);
 *   300 µm² → 6.144 mm² (× 1/4).
 */
static void test_adc_bits_move_everything(void)
{
	static const struct {
		const char *to;
		uint64_t interval_ps;
		double adc_pj, adc_mm2;
	} cases[] = {
		{ "bits: 8\n  encoding", 12800000, 25600, 24.576 },
		{ "bits: 10\n  encoding", 16000000, 102400, 98.304 },
		{ "bits: 6\n  accept_truncation: true\n  encoding", 9600000, 6400, 6.144 },
	};
	const char *path = "configs/chips/llm-class.yaml";
	struct cim_chip_spec c;
	struct cim_chip_peak p;
	struct cim_chip_area a;
	struct cim_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load_edited(path, "bits: 8\n  encoding", cases[i].to, &c, &err);
		if (rc)
			fprintf(stderr, "\n  %s\n", err.msg);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		cim_chip_peak(&c, &p);
		cim_chip_area(&c, &a);
		CIM_ASSERT_EQ_U64(p.mvm.interval_ps, cases[i].interval_ps);
		CIM_ASSERT_REL(p.mvm.energy.pj[CIM_E_ADC], cases[i].adc_pj, 1e-12);
		CIM_ASSERT_REL(a.adc, cases[i].adc_mm2, 1e-12);
	}
	CU_ASSERT_EQUAL(load_edited(path, "bits: 8\n  encoding", "bits: 6\n  encoding", &c, &err),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs a 8-bit ADC"));
}

/*
 * Writing a 3×5 matrix on the tiny chip (10 crossbars of 2×2, 30 cells) by
 * program-and-verify: 3 iterations of a 5 ps pulse of 0.5 pJ a cell, one
 * row at a time, two crossbars at a time.  A verify read is the 10 ps read
 * and the crossbar's one ADC converting both columns, 2 · 3 = 6 ps: 16 ps.
 * A crossbar takes 2 rows · 3 iterations · (5 + 16) = 126 ps; ⌈10/2⌉ = 5
 * rounds: 630 ps.  Energy: pulses 30 · 3 · 0.5 = 45 pJ; 10 · 2 · 3 = 60 row
 * reads at 4.0 pJ / 2 rows = 120 pJ (array 165 pJ); ADC 60 · 2 columns ·
 * 0.5 = 60 pJ.  A chip file without a program part prices nothing.
 */
static void test_program(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_map m;
	struct cim_chip_cost pc;

	cim_chip_map(&c, 3, 5, &m);
	CU_ASSERT_EQUAL(cim_chip_program(&c, m.crossbars, m.cells_used, &pc), -1);
	c.has_program = true;
	c.program = (struct cim_program_spec){ .iterations = 3,
					       .pulse_ps = 5,
					       .pulse_pj = 0.5,
					       .rows_in_parallel = 1,
					       .crossbars_in_parallel = 2 };
	CU_ASSERT_EQUAL_FATAL(cim_chip_program(&c, m.crossbars, m.cells_used, &pc), 0);
	CIM_ASSERT_EQ_U64(m.crossbars, 10);
	CIM_ASSERT_EQ_U64(m.cells_used, 30);
	CIM_ASSERT_EQ_U64(pc.ps, 630);
	CIM_ASSERT_REL(pc.energy.pj[CIM_E_ARRAY], 165.0, 1e-12);
	CIM_ASSERT_REL(pc.energy.pj[CIM_E_ADC], 60.0, 1e-12);
	/* both rows at once: half the steps, 315 ps; the same energy */
	c.program.rows_in_parallel = 2;
	CU_ASSERT_EQUAL_FATAL(cim_chip_program(&c, m.crossbars, m.cells_used, &pc), 0);
	CIM_ASSERT_EQ_U64(pc.ps, 315);
	CIM_ASSERT_REL(pc.energy.pj[CIM_E_ARRAY], 165.0, 1e-12);
}

/* An embedding lookup from the tiny chip's DRAM (1 GB/s, 2 pJ/byte): 4
 * values of 4 bits = 2 bytes, 2 ns at 1 GB/s (the 1 TB/s buffer write
 * takes 2 ps), 4 pJ of DRAM and 2 pJ of buffer; nothing on the lanes. */
static void test_embed_from_dram(void)
{
	struct cim_chip_spec c = tiny();
	struct cim_chip_cost r;

	cim_chip_embed(&c, 4, 4, &r);
	CIM_ASSERT_EQ_U64(r.ps, 2000);
	CIM_ASSERT_EQ_U64(r.memory_ps, 2000);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DRAM], 4.0, 1e-12);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_BUFFER], 2.0, 1e-12);
	CIM_ASSERT_REL(r.energy.pj[CIM_E_DIGITAL], 0.0, 1e-12);
}

/*
 * A near-memory chip by hand (docs/chip-model.md §12), tests/data/chips/
 * nm-tiny.yaml: 4 spatial cores of 8 MACs a cycle at 1 GHz, one block of
 * 4 × 8 4-bit weights each (16 B, read at 4 GB/s: 4 ns), 0.5 pJ a MAC,
 * 2 pJ a byte of weights, 0.25 pJ and 1 ns an add of partial sums, 8-bit
 * inputs through a buffer of 1 pJ a byte.
 * - A 6 × 10 matrix: ⌈6/4⌉ = 2 row blocks × ⌈10/8⌉ = 2 column blocks,
 *   4 cores.  The widest block, 4 × 8 = 32 MACs, takes ⌈32/8⌉ = 4 cycles
 *   (4000 ps) and its 16 B 4000 ps: interval 4000, plus one adder level:
 *   latency 5000.  Energy: 60 MACs · 0.5 + 30 B · 2 = 30 + 60 = 90 pJ
 *   (array; weights 60); 10 · (2 − 1) adds · 0.25 = 2.5; buffer 6 + 10 B.
 * - 3 vectors through one copy: ⌈3·32/8⌉ = 12 cycles against one read of
 *   the weights (4000): 12000 + 1000 = 13000 ps; array 3 · 30 + 60 = 150.
 *   Through 2 copies: ⌈3/2⌉ = 2 vectors, 8 cycles: 9000 ps; two reads of
 *   the weights: 90 + 120 = 210.
 * - Shared (memory doubled, 2 blocks a core): every core's 32 MACs and
 *   16 GB/s on the whole matrix: ⌈60/32⌉ = 2 cycles against 30 B in
 *   1875 ps: 2000 + 1000 = 3000; 3 vectors ⌈180/32⌉ = 6 cycles: 7000.
 * - Peak: 2 · 8 MACs · 4 cores · 1 GHz = 64 GOPS both ways, the MAC
 *   arrays busy on long streams: 32 G MAC/s · 0.5 pJ = 16 mW, and the
 *   memories at 4 · 4 GB/s · 2 pJ = 32 mW: 0.048 W.
 */
static void test_near_memory(void)
{
	const char *path = "tests/data/chips/nm-tiny.yaml";
	struct cim_chip_spec c;
	struct cim_chip_map m;
	struct cim_chip_mvm v;
	struct cim_chip_cost s;
	struct cim_chip_peak p;
	struct cim_chip_capacity cap;
	struct cim_err err;

	if (load(path, &c))
		return;
	CU_ASSERT_EQUAL(c.kind, CIM_CHIP_NEAR_MEMORY);
	cim_chip_capacity(&c, &cap);
	CIM_ASSERT_EQ_U64(cap.crossbars, 4);
	CIM_ASSERT_EQ_U64(cap.weights, 128);
	cim_chip_map(&c, 6, 10, &m);
	CIM_ASSERT_EQ_U64(m.row_blocks, 2);
	CIM_ASSERT_EQ_U64(m.col_blocks, 2);
	CIM_ASSERT_EQ_U64(m.crossbars, 4);
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.interval_ps, 4000);
	CIM_ASSERT_EQ_U64(v.latency_ps, 5000);
	CIM_ASSERT_EQ_U64(v.conversions, 0);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_ARRAY], 90.0, 1e-12);
	CIM_ASSERT_REL(v.weight_pj, 60.0, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_SHIFT_ADD], 2.5, 1e-12);
	CIM_ASSERT_REL(v.energy.pj[CIM_E_BUFFER], 16.0, 1e-12);
	CU_ASSERT_EQUAL(v.energy.pj[CIM_E_ADC] + v.energy.pj[CIM_E_DAC], 0);
	cim_chip_mvm_stream(&c, &m, 3, 1, &s);
	CIM_ASSERT_EQ_U64(s.ps, 13000);
	CIM_ASSERT_REL(s.energy.pj[CIM_E_ARRAY], 150.0, 1e-12);
	cim_chip_mvm_stream(&c, &m, 3, 2, &s);
	CIM_ASSERT_EQ_U64(s.ps, 9000);
	CIM_ASSERT_REL(s.energy.pj[CIM_E_ARRAY], 210.0, 1e-12);
	cim_chip_peak(&c, &p);
	CIM_ASSERT_REL(p.ops_per_s, 64e9, 1e-12);
	CIM_ASSERT_REL(p.power_w, 0.048, 1e-12);

	CU_ASSERT_EQUAL_FATAL(load_edited(path, "memory_kib: 0.015625",
					  "memory_kib: 0.03125\n  shared: true", &c, &err),
			      0);
	CU_ASSERT(c.nm.shared);
	CIM_ASSERT_EQ_U64(c.crossbars_per_tile, 2);
	cim_chip_mvm(&c, &m, &v);
	CIM_ASSERT_EQ_U64(v.latency_ps, 3000);
	cim_chip_mvm_stream(&c, &m, 3, 1, &s);
	CIM_ASSERT_EQ_U64(s.ps, 7000);
	cim_chip_peak(&c, &p);
	CIM_ASSERT_REL(p.ops_per_s, 64e9, 1e-12);

	/* Shared cores take every copy's vectors in turn (two experts on one
	 * array): at 1 GB/s a core (4 GB/s shared) one vector is memory-bound,
	 * 30 B in 7500 ps against 2 cycles: 8500 ps; two vectors through two
	 * copies read both copies' weights, 60 B in 15000 ps against ⌈120/32⌉
	 * = 4 cycles: 16000, not one copy's 8500. */
	CU_ASSERT_EQUAL_FATAL(load_edited(path,
					  "memory_kib: 0.015625\n  memory_bandwidth_gb_per_s: 4",
					  "memory_kib: 0.03125\n  shared: true\n  "
					  "memory_bandwidth_gb_per_s: 1",
					  &c, &err),
			      0);
	cim_chip_mvm_stream(&c, &m, 1, 1, &s);
	CIM_ASSERT_EQ_U64(s.ps, 8500);
	cim_chip_mvm_stream(&c, &m, 2, 2, &s);
	CIM_ASSERT_EQ_U64(s.ps, 16000);

	/* Refused: two blocks on a spatial core, parts it does not have, a
	 * block larger than the memory, signed storage. */
	CU_ASSERT_EQUAL(load_edited(path, "memory_kib: 0.015625", "memory_kib: 0.03125", &c, &err),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nm-tiny.yaml:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "near_memory.memory_kib"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "hold 2 blocks"));
	CU_ASSERT_EQUAL(load_edited(path, "weights:", "tiles: 4\nweights:", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has no 'tiles'"));
	CU_ASSERT_EQUAL(load_edited(path, "memory_kib: 0.015625", "memory_kib: 0.01", &c, &err),
			-1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "make the block smaller"));
	CU_ASSERT_EQUAL(load_edited(path, "signed: none", "signed: differential", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "signed: none"));
	CU_ASSERT_EQUAL(load_edited(path, "near_memory:", "near_memori:", &c, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "near_memory"));
}

static const struct cim_test tests[] = {
	{ "map 3x5 on 2x2", test_map_3x5 },
	{ "map signed weights", test_map_signed },
	{ "map edges", test_map_edges },
	{ "mvm 3x5 by hand", test_mvm_3x5 },
	{ "monotonic in bits and ADCs", test_monotonic },
	{ "streamed and replicated", test_stream },
	{ "vector operators", test_vector_ops },
	{ "attention decode", test_attention_decode },
	{ "attention prefill", test_attention_prefill },
	{ "kv append", test_kv_append },
	{ "leakage, area, capacity, peak", test_chip_totals },
	{ "isaac peak (ISCA'16)", test_isaac_peak },
	{ "ibm 64-core pcm peak (Nat. Electron. 2023)", test_pcm_peak },
	{ "presets load and match", test_presets },
	{ "llm-class holds llama-2 7b/8 and 70b/64", test_llm_class_fits },
	{ "ADC bits a column sum needs", test_adc_bits_needed },
	{ "converters at 4, 6, 8 and 10 bits", test_converters },
	{ "reads of fewer rows than the crossbar has", test_rows_per_cycle },
	{ "adc.bits moves time, energy and area", test_adc_bits_move_everything },
	{ "programming a small matrix by hand", test_program },
	{ "embedding lookup from DRAM", test_embed_from_dram },
	{ "near-memory cores by hand", test_near_memory },
};

CIM_TEST_MAIN("chip", tests)
