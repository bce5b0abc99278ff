/*
 * chip.h — one chip: what each operator of an LLM costs on a compute-in-
 * memory chip (the cost model).
 *
 * The cost model is pure: functions of a struct cim_chip_spec and an
 * operator's shape, with no state, no MPI and no allocation.  Latencies are
 * integer picoseconds, energies double picojoules split by component so the
 * executor can sum them per component.  Every equation and its source is in
 * docs/chip-model.md.  It does not decide where a matrix lives or which chip
 * runs what; the partitioner and the executor do.
 */
#ifndef CIM_CHIP_CHIP_H
#define CIM_CHIP_CHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "spec.h"

/*
 * The energy components: the one vocabulary by which the chip model, the
 * executor, traces and every report split energy.  The chip model fills all
 * but the last; the interconnect's energy of messages and collectives is
 * added by the executor.
 */
enum cim_chip_ecomp {
	CIM_E_ARRAY,	    /* crossbar reads (and SRAM-CIM attention engine) */
	CIM_E_ADC,	    /* conversions */
	CIM_E_DAC,	    /* input drivers */
	CIM_E_SHIFT_ADD,    /* shift-and-add and partial-sum accumulation */
	CIM_E_SAMPLE_HOLD,  /* column sampling */
	CIM_E_DIGITAL,	    /* vector unit */
	CIM_E_BUFFER,	    /* on-chip buffer reads and writes */
	CIM_E_DRAM,	    /* chip DRAM reads and writes */
	CIM_E_INTERCONNECT, /* links: messages and collectives */
	CIM_E_NCOMP,
	CIM_E_NCHIP = CIM_E_INTERCONNECT, /* the components the chip model fills */
};

/* "crossbars", or "blocks" for a near-memory chip's weight blocks: what a
 * report calls the units a matrix is mapped onto. */
const char *cim_chip_units(const struct cim_chip_spec *c);

/* "array", "adc" … "interconnect": the name reports and traces use. */
const char *cim_chip_ecomp_name(enum cim_chip_ecomp c);

/* Energy by component, pJ (or W where a field says so). */
struct cim_chip_energy {
	double pj[CIM_E_NCOMP];
};

double cim_chip_energy_total(const struct cim_chip_energy *e);
/* acc += e · times */
void cim_chip_energy_add(struct cim_chip_energy *acc, const struct cim_chip_energy *e,
			 double times);

/* --------------------------------------------------------------- mapping */

/* How a K×N weight matrix (K inputs, N outputs) lies on crossbars. */
struct cim_chip_map {
	uint64_t k, n;
	uint32_t slices;	   /* ceil(weight_bits / cell_bits) */
	uint32_t cells_per_weight; /* slices, ×2 when differential */
	uint32_t weight_cols;	   /* columns of a crossbar that hold weights */
	uint64_t row_blocks;	   /* ceil(K / rows) */
	uint64_t col_blocks;	   /* ceil(N · cells_per_weight / weight_cols) */
	uint64_t crossbars;	   /* row_blocks · col_blocks */
	uint64_t cols_used;	   /* columns holding weights, all column blocks */
	uint64_t cols_converted;   /* columns read per row block: cols_used plus
				      offset columns */
	uint64_t widest_block;	   /* converted columns of the widest block */
	uint64_t cells_used;	   /* K · cols_used */
	uint64_t cells_total;	   /* crossbars · rows · cols */
	double fill;		   /* cells_used / cells_total */
};

/* Maps a K×N matrix (k, n ≥ 1). */
void cim_chip_map(const struct cim_chip_spec *c, uint64_t k, uint64_t n, struct cim_chip_map *out);

/* -------------------------------------------------------------------- MVM */

struct cim_chip_mvm {
	uint32_t input_cycles;	       /* ceil(input_bits / dac_bits) */
	uint32_t row_groups;	       /* reads per input cycle: ceil(min(K, rows) /
					  rows_per_cycle) */
	uint64_t cols_per_adc;	       /* conversions one ADC makes per cycle */
	uint64_t cycle_ps;	       /* one read of one row group (throughput) */
	uint64_t latency_ps;	       /* one MVM alone, first read to last sum */
	uint64_t interval_ps;	       /* between MVMs streamed through one copy */
	uint64_t conversions;	       /* ADC conversions of one MVM */
	uint64_t shift_adds;	       /* shift-and-add operations of one MVM */
	uint64_t buffer_bytes;	       /* inputs read plus outputs written */
	struct cim_chip_energy energy; /* one MVM */
	double weight_pj;	       /* near memory: the weights' reads, part of
					  energy.pj[CIM_E_ARRAY], paid once per stream
					  of vectors; 0 on crossbars */
};

/* One matrix-vector multiply through a mapped matrix. */
void cim_chip_mvm(const struct cim_chip_spec *c, const struct cim_chip_map *m,
		  struct cim_chip_mvm *out);

/* M input vectors streamed through a matrix held in `copies` replicas.  On
 * a near-memory chip a copy's weights are read once for all the vectors it
 * takes (its MAC arrays keep a block while the vectors pass); on shared
 * cores the copies take their turns on the one array, so every vector and
 * every busy copy's read add up (docs/chip-model.md §12). */
struct cim_chip_cost {
	uint64_t ps;
	struct cim_chip_energy energy;
	/* Attention on the digital unit: the lanes' time and the memory's
	 * time, ps being the larger; 0 for every other operator. */
	uint64_t compute_ps, memory_ps;
};

void cim_chip_mvm_stream(const struct cim_chip_spec *c, const struct cim_chip_map *m,
			 uint64_t vectors, uint64_t copies, struct cim_chip_cost *out);

/* ------------------------------------------------------- digital operators */

/* Lane operations per element of a vector operator (softmax, norms,
 * activations, gate, RoPE, residual, embedding, sampling); 0 for the
 * matrix and attention kinds, which have their own functions. */
uint32_t cim_chip_ops_per_elem(enum cim_op_kind kind, enum cim_norm norm, enum cim_act act);

/* A vector operator over elems elements on the digital unit: operations,
 * plus the elements read from and written to the buffer at input_bits. */
void cim_chip_vector_op(const struct cim_chip_spec *c, enum cim_op_kind kind, enum cim_norm norm,
			enum cim_act act, uint64_t elems, struct cim_chip_cost *out);

/* The embedding lookup of elems values of bits each from a table in the
 * chip's DRAM (where the partitioner puts it when the buffer is too small,
 * docs/partitioner.md): a read at the DRAM's bandwidth and energy and a
 * write into the buffer, memory_ps = ps.  A chip without DRAM copies within
 * the buffer (cim_chip_vector_op()). */
void cim_chip_embed(const struct cim_chip_spec *c, uint64_t elems, uint32_t bits,
		    struct cim_chip_cost *out);

/*
 * Writing the weights of `crossbars` crossbars holding `cells` cells by
 * program-and-verify (docs/chip-model.md §6): every row of each crossbar
 * takes `iterations` pulses and verify reads, rows_in_parallel rows at a
 * time, crossbars_in_parallel crossbars at a time.  ps is the time, energy
 * the pulses (array) and the verify reads (array, ADC).  Fails (−1) when
 * the chip file has no program part.
 */
int cim_chip_program(const struct cim_chip_spec *c, uint64_t crossbars, uint64_t cells,
		     struct cim_chip_cost *out);

/* ------------------------------------------------------------- attention */

enum cim_kv_where {
	CIM_KV_BUFFER, /* KV cache in the on-chip buffer, read by the vector unit */
	CIM_KV_DRAM,   /* KV cache in the chip's DRAM, read by the vector unit */
	CIM_KV_ENGINE, /* KV cache inside the SRAM-CIM attention engine */
};

/* One attention layer's share on this chip. */
struct cim_attn_shape {
	uint32_t heads;	   /* query heads on this chip */
	uint32_t kv_heads; /* key/value heads on this chip */
	uint32_t qk_dim;   /* MACs of q·k per head per position: head_dim
			      (latent attention: kv_lora + rope) */
	uint32_t v_dim;	   /* MACs of p·v per head per position: head_dim
			      (latent attention: kv_lora) */
	uint32_t kv_dim;   /* values a KV head caches per position: K and V,
			      2 · head_dim (latent attention: kv_lora + rope,
			      read as both) */
	uint32_t kv_bits;  /* precision of cached K and V */
	uint64_t past;	   /* positions already cached before these queries */
	uint64_t queries;  /* new tokens: 1 in decode, the prompt (chunk) in
			      prefill, attending causally */
};

/* Positions attended summed over the queries: queries·past + q(q+1)/2. */
uint64_t cim_chip_attn_positions(const struct cim_attn_shape *a);

/* q·kᵀ and p·V together (softmax is a vector op): MACs on the vector unit (or
 * the engine), K and V bytes read from where they live; time is the larger
 * of compute and memory time.  Returns -1 when where names a part the chip
 * does not have. */
int cim_chip_attention(const struct cim_chip_spec *c, const struct cim_attn_shape *a,
		       enum cim_kv_where where, struct cim_chip_cost *out);

/* Appending the queries' new K and V vectors to the cache. */
int cim_chip_kv_append(const struct cim_chip_spec *c, const struct cim_attn_shape *a,
		       enum cim_kv_where where, struct cim_chip_cost *out);

/* ------------------------------------------------- the chip as a whole */

/* Static power (leakage and parts not modelled per op), W = pJ/ps. */
double cim_chip_static_w(const struct cim_chip_spec *c);
/* Leakage energy over ps picoseconds, pJ. */
double cim_chip_leakage_pj(const struct cim_chip_spec *c, uint64_t ps);

struct cim_chip_area {
	double crossbars, adc, dac, sample_hold, shift_add, digital, buffer, dram, attn_engine,
	    other;
	double total; /* mm² */
};

void cim_chip_area(const struct cim_chip_spec *c, struct cim_chip_area *out);

struct cim_chip_capacity {
	uint64_t crossbars;	   /* tiles · crossbars_per_tile */
	uint64_t weights_per_xbar; /* rows · floor(weight_cols / cells_per_weight) */
	uint64_t weights;	   /* parameters the crossbars hold */
	uint64_t weight_bytes;	   /* weights · weight_bits / 8 */
	uint64_t buffer_bytes;
	uint64_t dram_bytes;
	uint64_t engine_bytes;
};

void cim_chip_capacity(const struct cim_chip_spec *c, struct cim_chip_capacity *out);

/* Peak figures with every crossbar streaming full-crossbar MVMs. */
struct cim_chip_peak {
	struct cim_chip_map map;	      /* one full crossbar: rows × weights per row */
	struct cim_chip_mvm mvm;	      /* one MVM on it */
	double ops_per_s;		      /* 2 · MACs per MVM · crossbars / interval */
	double dynamic_w;		      /* crossbars · MVM energy / interval */
	double power_w;			      /* dynamic + static */
	double ops_per_j;		      /* ops_per_s / power_w */
	double ops_per_s_mm2;		      /* ops_per_s / area */
	struct cim_chip_energy power_by_part; /* W by component at peak */
};

void cim_chip_peak(const struct cim_chip_spec *c, struct cim_chip_peak *out);

#endif /* CIM_CHIP_CHIP_H */
