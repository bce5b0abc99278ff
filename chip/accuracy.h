/*
 * accuracy.h — what a chip's precision and its cells' errors do to the
 * numbers of a matrix-vector product: the product computed through the
 * crossbar pipeline itself (functional), and the expected error of one
 * output worked out from the chip's parameters (analytical).
 *
 * The pipeline (docs/accuracy.md): signed integer inputs of inputs.bits,
 * offset to unsigned and applied in slices of dac.bits; signed integer
 * weights of weights.bits, stored as a G+/G− pair of columns (differential;
 * also for signed: none, whose sign this model takes as ideal) or biased by
 * 2^(bits−1) (offset), in slices of crossbar.cell_bits per cell; each read
 * drives rows_per_cycle rows with one input slice and sums each column's
 * currents; the ADC rounds that sum to its levels (dropping low bits when
 * it truncates) and clips it to its range; shift-and-add weights each
 * converted sum by its input and weight slice; the offsets are removed
 * digitally from the targets.  ISAAC's encoding stores a column block's
 * cells inverted when that keeps its sum under half the range.  The cells
 * err as the chip's noise part says: programming noise (drawn once per
 * cell), PCM drift ((t/t0)^−ν with ν drawn per cell, undone on average by
 * a global factor when compensated), stuck cells, and read noise at every
 * read.  Pure: no MPI, no I/O; every draw from seeded streams.
 */
#ifndef CIM_CHIP_ACCURACY_H
#define CIM_CHIP_ACCURACY_H

#include <stdint.h>

#include "spec.h"

/* The weights of one crossbar (rows × cols at most the chip's) as
 * programmed into its cells. */
struct cim_acc_xbar;

/*
 * Programs w (rows × cols, row-major, each within ±(2^(weights.bits−1) − 1))
 * into a crossbar of chip c, drawing the cells' programming noise, drift
 * exponents and stuck cells from the stream (seed, 1).  Returns 0, or −1
 * with err set (a weight out of range, a size above the crossbar's, out of
 * memory).  Free with cim_acc_xbar_free().
 */
int cim_acc_xbar_program(const struct cim_chip_spec *c, uint32_t rows, uint32_t cols,
			 const int32_t *w, uint64_t seed, struct cim_acc_xbar **out,
			 struct cim_err *err);
void cim_acc_xbar_free(struct cim_acc_xbar *xb);

/*
 * y[j] = Σ_r x[r] w[r][j] through the pipeline, for x (rows inputs, each
 * within [−2^(inputs.bits−1), 2^(inputs.bits−1) − 1]); read noise from the
 * stream (read_seed, 2).  With no noise and an ADC that resolves every
 * column sum, y is the exact product.  Returns 0, or −1 with err set.
 */
int cim_acc_xbar_mvm(const struct cim_acc_xbar *xb, const int32_t *x, uint64_t read_seed, double *y,
		     struct cim_err *err);

/*
 * E[(Q(S + n) − S)²] for an integer sum S whose residue modulo delta is
 * uniform, Gaussian noise n of standard deviation sigma, and a converter
 * of step delta (a power of two ≥ 1) whose thresholds lie half a unit
 * below the multiples of delta and whose values lie at the middle of the
 * sums each code takes: kΔ + (Δ − 1)/2.
 */
double cim_acc_conv_mse(double sigma, double delta);

/* The expected error of one output of an MVM over rows rows. */
struct cim_acc_est {
	double signal;	   /* E[y²] */
	double mse;	   /* E[(ŷ − y)²], the sum of the three below */
	double mse_cells;  /* from the cells' static errors (programming, drift, stuck) */
	double mse_read;   /* from read noise */
	double mse_adc;	   /* from the converters' rounding and clipping */
	double mse_clip;   /* of which clipping: sums past the full scale */
	double snr_db;	   /* 10 log10(signal / mse); INFINITY when exact */
	double rel_rms;	   /* sqrt(mse / signal) */
	uint32_t adc_step; /* the converter's step in units of a column sum */
};

/*
 * The expected error of one output for inputs and weights uniform over
 * their integer ranges, independent: the model of docs/accuracy.md, exact
 * for the cells' static errors and the read noise, and for the rounding
 * when the noise at a converter is zero or at least half its step.
 */
void cim_acc_estimate(const struct cim_chip_spec *c, uint32_t rows, struct cim_acc_est *out);

/*
 * Y = X Wᵀ through the chip for v input vectors (X: v × k, row-major) and W
 * of n outputs × k inputs (row-major, as a Linear layer's weight): the
 * weights quantized to weights.bits per output (symmetric, by its largest
 * magnitude), each vector to inputs.bits by its own, the matrix cut into
 * crossbar-sized blocks, each programmed (stream seed + its number) and
 * run through the pipeline, their partial sums added digitally (as across
 * the chips of a tensor-parallel split: exactly), and scaled back into Y
 * (v × n).  Yq (or NULL) gets the quantized operands' exact product;
 * *crossbars (or NULL) the blocks.  Returns 0, or −1 with err set.
 */
int cim_acc_matmul(const struct cim_chip_spec *c, uint32_t n, uint32_t k, const double *W,
		   uint32_t v, const double *X, uint64_t seed, double *Y, double *Yq,
		   uint32_t *crossbars, struct cim_err *err);

/* A real-valued matrix through the chip, against the exact product. */
struct cim_acc_matrix {
	double rel_err_quant; /* ‖ŷ − y‖ / ‖y‖ with the weights and inputs quantized
				 and their integer product exact */
	double rel_err;	      /* the same through the chip's pipeline */
	double snr_db; /* 10 log10(‖y‖² / ‖ŷ − y‖²), the chip's; INFINITY if exact */
	double cosine; /* mean over the vectors of cos(ŷ, y), the chip's */
	uint32_t crossbars; /* blocks of the crossbar's size it takes */
};

/* cim_acc_matmul() against the exact product: the errors of the chip and
 * of the quantization alone, the SNR and the cosine similarity. */
int cim_acc_matrix(const struct cim_chip_spec *c, uint32_t n, uint32_t k, const double *W,
		   uint32_t v, const double *X, uint64_t seed, struct cim_acc_matrix *out,
		   struct cim_err *err);

#endif /* CIM_CHIP_ACCURACY_H */
