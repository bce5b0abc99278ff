/*
 * spec_chip.h — the chip description (part of spec.h; include spec.h).
 *
 * A compute-in-memory chip described as its parts, each with the numbers a
 * circuit designer would give: crossbars, converters, shift-and-add, the
 * digital vector unit, the on-chip buffer, optional DRAM for the KV cache and
 * an optional SRAM-CIM attention engine.  Values are in internal units (ps,
 * pJ, W, bytes, bytes/s, mm²), converted once from the YAML keys' units by
 * spec/chip.c.  What the parts cost per operator is node/'s business, not
 * this header's.  docs/chip-model.md lists every YAML key.
 */
#ifndef CIM_SPEC_SPEC_CHIP_H
#define CIM_SPEC_SPEC_CHIP_H

/* How signed weights are stored. */
enum cim_sign {
	CIM_SIGN_NONE,	       /* the cell holds the signed value itself (or weights
				  are unsigned): one cell per slice */
	CIM_SIGN_DIFFERENTIAL, /* a G+ / G- pair of columns per slice: 2 cells */
	CIM_SIGN_OFFSET,       /* weights stored with a bias; offset_cols reference
				  columns per crossbar give the correction */
};

/* The analog array. */
struct cim_xbar_spec {
	uint32_t rows;		 /* wordlines: inputs per crossbar */
	uint32_t rows_per_cycle; /* rows driven together in one read (≤ rows) */
	uint32_t cols;		 /* bitlines: cells per row */
	uint32_t cell_bits;	 /* bits stored per cell */
	uint64_t read_ps;	 /* one activation: rows driven with one input slice */
	double read_pj;		 /* energy of one activation of the whole array, pJ */
	double area_mm2;	 /* one crossbar */
};

struct cim_dac_spec {
	uint32_t bits;	  /* input bits applied per cycle */
	double energy_pj; /* one row driven for one cycle */
	double area_mm2;  /* one DAC; one per crossbar row */
};

/* How a converter's conversion time follows from its resolution. */
enum cim_adc_arch {
	CIM_ADC_GIVEN, /* a latency or rate given directly: fixed */
	CIM_ADC_SAR,   /* successive approximation: a clock cycle per bit */
	CIM_ADC_FLASH, /* 2^bits − 1 comparators: one clock cycle */
	CIM_ADC_RAMP,  /* single-slope ramp or counting CCO: 2^bits cycles */
};

/* How a converter's energy follows from its resolution. */
enum cim_adc_fom {
	CIM_FOM_GIVEN,	  /* energy_pj given directly: fixed */
	CIM_FOM_WALDEN,	  /* E = FoM_W · 2^bits */
	CIM_FOM_SCHREIER, /* E = 10^((6.02·bits + 1.76 − FoM_S) / 10) / 2 J */
};

/* How column sums are encoded before conversion. */
enum cim_adc_encoding {
	CIM_ENC_NONE,
	CIM_ENC_ISAAC, /* ISAAC §5: a column's weights are stored inverted when
			  that keeps its sum below half the range: one bit fewer */
};

struct cim_adc_spec {
	uint32_t bits;	       /* resolution */
	uint32_t per_crossbar; /* ADCs shared by a crossbar's columns */
	enum cim_adc_arch arch;
	double clock_hz;   /* CIM_ADC_SAR, FLASH, RAMP: the converter's clock */
	double latency_ps; /* one conversion, ps; fractional (1.28 GS/s is
			      781.25 ps), rounded up once per cycle */
	enum cim_adc_fom fom_kind;
	double energy_pj;	  /* one conversion (given, or from the FoM) */
	double fom_fj;		  /* Walden figure of merit, fJ/step (CIM_FOM_WALDEN) */
	double fom_schreier_db;	  /* Schreier figure of merit, dB (CIM_FOM_SCHREIER) */
	double area_mm2;	  /* one ADC (given, or area_per_step · 2^bits) */
	double area_per_step_mm2; /* 0 when area_mm2 was given directly */
	enum cim_adc_encoding encoding;
	bool truncates; /* converts the top bits of the range it is set to and
			   drops the rest (accept_truncation: true) */
	double range;	/* its full scale over the column's largest sum, (0, 1]:
			   its gain; sums above it clip (range_fraction; 1) */
	bool has_range; /* the file gives it */
};

struct cim_shift_add_spec {
	double energy_pj;    /* one shift-and-add of an ADC output or partial sum */
	uint64_t latency_ps; /* one level of the row-block adder tree */
	double area_mm2;     /* the shift-and-add logic of one crossbar */
};

struct cim_sample_hold_spec {
	double energy_pj; /* one column sampled */
	double area_mm2;  /* one per column */
};

/* The digital vector unit: norms, activations, softmax, attention MACs. */
struct cim_digital_spec {
	uint32_t lanes; /* operations (a MAC counts as one) per cycle */
	double clock_hz;
	double energy_pj; /* one lane operation */
	double area_mm2;
};

struct cim_buffer_spec {
	uint64_t bytes;	  /* on-chip SRAM/eDRAM capacity */
	double bandwidth; /* bytes/s, all banks together */
	double energy_pj; /* per byte read or written */
	double area_mm2;
};

struct cim_dram_spec {
	uint64_t bytes;	     /* capacity */
	double bandwidth;    /* bytes/s */
	double energy_pj;    /* per byte moved (written as pJ/bit) */
	double area_mm2;     /* the PHY and controller on the die */
	double background_w; /* background and refresh power, drawn all the time */
};

/* Writing the weights into the cells by program-and-verify: each iteration
 * a pulse on the cells of rows_in_parallel rows of a crossbar (all their
 * columns at once), then a verify read of those rows through the ADCs. */
struct cim_program_spec {
	uint32_t iterations;		/* program-and-verify iterations per row */
	uint64_t pulse_ps;		/* one programming pulse */
	double pulse_pj;		/* one pulse on one cell */
	uint32_t rows_in_parallel;	/* rows of a crossbar written at once */
	uint32_t crossbars_in_parallel; /* crossbars written at once */
};

/* An SRAM-CIM array that holds K and V and computes q·kᵀ and p·V in place. */
struct cim_attn_engine_spec {
	uint64_t bytes; /* K/V capacity */
	uint32_t macs_per_cycle;
	double clock_hz;
	double mac_pj;	   /* one MAC */
	uint64_t write_ps; /* writing one new K or V vector (all heads) */
	double write_pj;   /* per byte written */
	double area_mm2;
};

/* What the cells do to the weights they hold, in fractions of a cell's
 * full conductance range (docs/accuracy.md): noise from programming (drawn
 * once per cell), noise at every read, PCM drift, stuck cells. */
struct cim_noise_spec {
	double prog_sigma;    /* per cell, fixed after programming */
	double read_sigma;    /* per cell, at every read */
	double drift_nu_mean; /* g(t) = g · (t / t0)^−ν, ν ~ N(mean, sd) per cell */
	double drift_nu_sd;
	double drift_t_s, drift_t0_s; /* time of inference, and of the reference read */
	bool drift_compensated;	      /* a global factor per crossbar undoes the mean drift */
	double stuck_on, stuck_off;   /* shares of cells stuck at full and at zero */
};

/* What holds the weights and multiplies them. */
enum cim_chip_kind {
	CIM_CHIP_CROSSBAR,    /* analog or digital CIM crossbars with converters */
	CIM_CHIP_NEAR_MEMORY, /* weights in SRAM beside digital MAC arrays */
};

/*
 * A digital near-memory chip (NorthPole- and Groq-class): cores, each with
 * a MAC array and a weight memory cut into blocks of xbar.rows × xbar.cols
 * weights (the chip's "crossbars" for mapping and capacity: tiles = cores,
 * crossbars_per_tile = blocks per core).  Spatial (shared = false): each
 * core holds one block and computes its own matrix, as NorthPole's cores
 * do.  Shared: every core's MACs and memory bandwidth work on one matrix
 * at a time, as Groq's MXM planes take weights streamed from every memory
 * slice.  docs/chip-model.md §12.
 */
struct cim_nm_spec {
	uint32_t cores;
	uint32_t macs_per_cycle; /* per core, at the chip's weight and input bits */
	double clock_hz;
	double bandwidth; /* weight memory to MAC array, bytes/s per core */
	double mac_pj;	  /* one MAC */
	double read_pj;	  /* one byte of weights read */
	bool shared;
};

struct cim_chip_spec {
	char name[64];
	enum cim_chip_kind kind;
	struct cim_nm_spec nm; /* CIM_CHIP_NEAR_MEMORY */
	struct cim_xbar_spec xbar;
	uint32_t weight_bits; /* stored weight precision */
	enum cim_sign sign;   /* how signed weights are stored */
	uint32_t offset_cols; /* CIM_SIGN_OFFSET: reference columns per crossbar */
	uint32_t input_bits;  /* activation precision fed to the crossbars */
	struct cim_dac_spec dac;
	struct cim_adc_spec adc;
	struct cim_shift_add_spec shift_add;
	bool has_sample_hold; /* a sample-and-hold lets the next read overlap
				 the conversions of the previous one */
	struct cim_sample_hold_spec sample_hold;
	uint32_t crossbars_per_tile;
	uint32_t tiles;
	struct cim_digital_spec digital;
	struct cim_buffer_spec buffer;
	bool has_dram;
	struct cim_dram_spec dram;
	bool has_attn_engine;
	struct cim_attn_engine_spec attn_engine;
	bool has_program; /* the file says how its weights are written */
	struct cim_program_spec program;
	bool has_noise; /* the file says how its cells err (noise:) */
	struct cim_noise_spec noise;
	double leakage_w; /* static power of the whole chip, W */
	double other_w;	  /* parts not modelled per op (routers, buses, I/O
			     links), drawn all the time, W */
	double other_area_mm2;
};

/*
 * The ADC resolution a crossbar's column needs (docs/chip-model.md §2): R
 * rows driven per read, cells of c bits and d input bits per read sum to at
 * most R·(2^c − 1)·(2^d − 1), which needs ⌈log2(that + 1)⌉ bits to convert
 * without loss, one fewer with ISAAC's encoding.  *max_sum (when not NULL)
 * is the largest sum.
 */
uint32_t cim_spec_adc_bits_needed(const struct cim_chip_spec *c, uint64_t *max_sum);

/* Conversion time (ps) and energy (pJ) of one conversion of adc at bits
 * (its own or another resolution), by its architecture and figure of merit;
 * and its area (mm²). */
double cim_spec_adc_latency_ps(const struct cim_adc_spec *adc, uint32_t bits);
double cim_spec_adc_energy_pj(const struct cim_adc_spec *adc, uint32_t bits);
double cim_spec_adc_area_mm2(const struct cim_adc_spec *adc, uint32_t bits);

#endif /* CIM_SPEC_SPEC_CHIP_H */
