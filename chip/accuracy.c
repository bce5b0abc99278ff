/*
 * accuracy.c — the crossbar pipeline computed number by number, and the
 * expected error of its outputs (accuracy.h; the model and its sources are
 * in docs/accuracy.md).
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"

/* The pipeline's shape, from the chip. */
struct shape {
	uint32_t in_bits, dac_bits, in_slices; /* inputs: slices of dac_bits */
	uint32_t w_bits, cell_bits, w_slices;  /* weights: slices of cell_bits */
	uint32_t parts;			       /* 2: differential; 1: offset */
	uint32_t group;			       /* rows per read */
	uint32_t adc_bits;
	double levels; /* L = 2^cell_bits − 1 */
	double delta;  /* the converter's step, in column-sum units */
	bool isaac;
	int64_t in_offset, w_offset; /* subtracted digitally */
};

static void shape_of(const struct cim_chip_spec *c, struct shape *s)
{
	const uint32_t need = cim_spec_adc_bits_needed(c, NULL);

	memset(s, 0, sizeof(*s));
	s->in_bits = c->input_bits;
	s->dac_bits = c->dac.bits < c->input_bits ? c->dac.bits : c->input_bits;
	s->in_slices = (s->in_bits + s->dac_bits - 1) / s->dac_bits;
	s->w_bits = c->weight_bits;
	s->cell_bits = c->xbar.cell_bits;
	s->parts = c->sign == CIM_SIGN_OFFSET ? 1 : 2;
	const uint32_t mag = s->parts == 2 ? s->w_bits - 1 : s->w_bits;
	s->w_slices = (mag + s->cell_bits - 1) / s->cell_bits;
	if (s->w_slices == 0)
		s->w_slices = 1;
	s->group = c->xbar.rows_per_cycle ? c->xbar.rows_per_cycle : c->xbar.rows;
	s->adc_bits = c->adc.bits;
	s->levels = ldexp(1.0, (int)s->cell_bits) - 1;
	/* the step: the full scale (range × the largest sum) over the codes */
	s->delta = c->adc.range * ldexp(1.0, (int)need - (int)c->adc.bits);
	s->delta = s->delta > 1 ? s->delta : 1;
	s->isaac = c->adc.encoding == CIM_ENC_ISAAC;
	s->in_offset = (int64_t)1 << (s->in_bits - 1);
	s->w_offset = s->parts == 1 ? (int64_t)1 << (s->w_bits - 1) : 0;
}

/* The part p (0: G+ or the biased weight; 1: G−) of weight w. */
static int64_t part_of(const struct shape *s, int64_t w, uint32_t p)
{
	if (s->parts == 1)
		return w + s->w_offset;
	return p == 0 ? (w > 0 ? w : 0) : (w < 0 ? -w : 0);
}

static uint32_t slice_of(int64_t v, uint32_t k, uint32_t bits)
{
	return (uint32_t)((v >> (k * bits)) & ((1ll << bits) - 1));
}

/* Bits of input slice s (the last may be narrower). */
static uint32_t in_slice_bits(const struct shape *sh, uint32_t s)
{
	const uint32_t left = sh->in_bits - s * sh->dac_bits;
	return left < sh->dac_bits ? left : sh->dac_bits;
}

/* ----------------------------------------------------------- functional */

struct cim_acc_xbar {
	const struct cim_chip_spec *c;
	struct shape sh;
	uint32_t rows, cols, groups;
	int32_t *w;    /* the targets */
	double *level; /* [part][slice][row][col]: the cell as it conducts */
	uint8_t *flip; /* [part][slice][group][col]: stored inverted (ISAAC) */
};

#define LEVEL(xb, p, k, r, j)                                                                      \
	((xb)->level[(((size_t)(p) * (xb)->sh.w_slices + (k)) * (xb)->rows + (r)) * (xb)->cols +   \
		     (j)])
#define FLIP(xb, p, k, g, j)                                                                       \
	((xb)->flip[(((size_t)(p) * (xb)->sh.w_slices + (k)) * (xb)->groups + (g)) * (xb)->cols +  \
		    (j)])

void cim_acc_xbar_free(struct cim_acc_xbar *xb)
{
	if (!xb)
		return;
	free(xb->w);
	free(xb->level);
	free(xb->flip);
	free(xb);
}

/* The factor by which a cell's conductance has drifted at the time of
 * inference, for a drift exponent nu, over the global compensation: the
 * crossbar's summed current read at t over the same read at t0, which over
 * its many cells is E[(t/t0)^−ν] = exp(−μ ln τ + σ² ln² τ / 2)
 * (docs/accuracy.md). */
static double drift_factor(const struct cim_noise_spec *n, double nu)
{
	if (n->drift_t_s <= 0)
		return 1;
	const double lt = log(n->drift_t_s / n->drift_t0_s), sd = n->drift_nu_sd * lt;
	const double comp = n->drift_compensated ? exp(-n->drift_nu_mean * lt + sd * sd / 2) : 1;
	return exp(-nu * lt) / comp;
}

int cim_acc_xbar_program(const struct cim_chip_spec *c, uint32_t rows, uint32_t cols,
			 const int32_t *w, uint64_t seed, struct cim_acc_xbar **out,
			 struct cim_err *err)
{
	struct cim_acc_xbar *xb = calloc(1, sizeof(*xb));
	const struct cim_noise_spec none = { 0 }, *nz = c->has_noise ? &c->noise : &none;
	struct cim_rng rng;

	if (!xb)
		return cim_err_set(err, "out of memory for a crossbar");
	xb->c = c;
	shape_of(c, &xb->sh);
	if (rows == 0 || cols == 0 || rows > c->xbar.rows || cols > c->xbar.cols) {
		cim_acc_xbar_free(xb);
		return cim_err_set(err,
				   "a block of %u × %u weights does not fit a %u × %u crossbar",
				   rows, cols, c->xbar.rows, c->xbar.cols);
	}
	xb->rows = rows;
	xb->cols = cols;
	xb->groups = (rows + xb->sh.group - 1) / xb->sh.group;
	const struct shape *sh = &xb->sh;
	const size_t cells = (size_t)sh->parts * sh->w_slices * rows * cols;
	xb->w = malloc((size_t)rows * cols * sizeof(*xb->w));
	xb->level = malloc(cells * sizeof(*xb->level));
	xb->flip = calloc((size_t)sh->parts * sh->w_slices * xb->groups * cols, 1);
	if (!xb->w || !xb->level || !xb->flip) {
		cim_acc_xbar_free(xb);
		return cim_err_set(err, "out of memory for %zu cells", cells);
	}
	const int64_t wmax = ((int64_t)1 << (sh->w_bits - 1)) - 1;
	for (size_t i = 0; i < (size_t)rows * cols; i++) {
		if (w[i] > wmax || w[i] < -wmax) {
			const uint32_t bits = sh->w_bits;
			cim_acc_xbar_free(xb);
			return cim_err_set(err, "weight %zu is %d: %u-bit weights lie within ±%lld",
					   i, w[i], bits, (long long)wmax);
		}
		xb->w[i] = w[i];
	}
	/* the stored levels, and ISAAC's choice per column block */
	for (uint32_t p = 0; p < sh->parts; p++)
		for (uint32_t k = 0; k < sh->w_slices; k++)
			for (uint32_t j = 0; j < cols; j++)
				for (uint32_t g = 0; g < xb->groups; g++) {
					const uint32_t r0 = g * sh->group;
					const uint32_t r1 =
					    r0 + sh->group < rows ? r0 + sh->group : rows;
					double sum = 0;
					for (uint32_t r = r0; r < r1; r++)
						sum += slice_of(
						    part_of(sh, w[(size_t)r * cols + j], p), k,
						    sh->cell_bits);
					const bool inv =
					    sh->isaac && sum > sh->group * sh->levels / 2;
					FLIP(xb, p, k, g, j) = inv;
					for (uint32_t r = r0; r < r1; r++) {
						double v = slice_of(
						    part_of(sh, w[(size_t)r * cols + j], p), k,
						    sh->cell_bits);
						LEVEL(xb, p, k, r, j) = inv ? sh->levels - v : v;
					}
				}
	/* the cells as programmed: three draws per cell, in a fixed order */
	cim_rng_seed(&rng, seed, 1);
	for (size_t i = 0; i < cells; i++) {
		const double u = cim_rng_unit(&rng), zp = cim_rng_normal(&rng),
			     zn = cim_rng_normal(&rng);
		double *v = &xb->level[i];
		if (u < nz->stuck_on)
			*v = sh->levels;
		else if (u < nz->stuck_on + nz->stuck_off)
			*v = 0;
		else
			*v = *v * drift_factor(nz, nz->drift_nu_mean + nz->drift_nu_sd * zn) +
			     nz->prog_sigma * sh->levels * zp;
	}
	*out = xb;
	return 0;
}

int cim_acc_xbar_mvm(const struct cim_acc_xbar *xb, const int32_t *x, uint64_t read_seed, double *y,
		     struct cim_err *err)
{
	const struct shape *sh = &xb->sh;
	const struct cim_chip_spec *c = xb->c;
	const double read_sigma = c->has_noise ? c->noise.read_sigma : 0;
	const double top = ldexp(1.0, (int)sh->adc_bits) - 1; /* the highest code */
	uint32_t *xs = malloc((size_t)xb->rows * sh->in_slices * sizeof(*xs));
	struct cim_rng rng;
	int64_t xu_sum = 0;

	if (!xs)
		return cim_err_set(err, "out of memory for %u inputs", xb->rows);
	for (uint32_t r = 0; r < xb->rows; r++) {
		const int64_t lo = -sh->in_offset, hi = sh->in_offset - 1;
		if (x[r] < lo || x[r] > hi) {
			free(xs);
			return cim_err_set(err,
					   "input %u is %d: %u-bit inputs lie within [%lld, %lld]",
					   r, x[r], sh->in_bits, (long long)lo, (long long)hi);
		}
		const int64_t xu = x[r] + sh->in_offset;
		xu_sum += xu;
		for (uint32_t s = 0; s < sh->in_slices; s++)
			xs[(size_t)s * xb->rows + r] = slice_of(xu, s, sh->dac_bits);
	}
	cim_rng_seed(&rng, read_seed, 2);
	for (uint32_t j = 0; j < xb->cols; j++) {
		double acc = 0;
		for (uint32_t p = 0; p < sh->parts; p++)
			for (uint32_t k = 0; k < sh->w_slices; k++)
				for (uint32_t s = 0; s < sh->in_slices; s++) {
					const uint32_t *in = xs + (size_t)s * xb->rows;
					for (uint32_t g = 0; g < xb->groups; g++) {
						const uint32_t r0 = g * sh->group;
						const uint32_t r1 = r0 + sh->group < xb->rows
									? r0 + sh->group
									: xb->rows;
						double sum = 0, sq = 0, in_sum = 0;
						for (uint32_t r = r0; r < r1; r++) {
							sum += in[r] * LEVEL(xb, p, k, r, j);
							sq += (double)in[r] * in[r];
							in_sum += in[r];
						}
						/* read noise: each cell's, summed over
						 * the rows driven */
						const double z = cim_rng_normal(&rng);
						sum += read_sigma * sh->levels * sqrt(sq) * z;
						/* thresholds half a unit below each
						 * multiple of the step, values at
						 * the middle of their codes' sums */
						double code = floor((sum + 0.5) / sh->delta);
						code = code < 0 ? 0 : code > top ? top : code;
						double v = code * sh->delta + (sh->delta - 1) / 2;
						if (FLIP(xb, p, k, g, j))
							v = sh->levels * in_sum - v;
						const double a =
						    ldexp(1.0, (int)(s * sh->dac_bits +
								     k * sh->cell_bits));
						acc += (p == 0 ? a : -a) * v;
					}
				}
		/* the offsets, removed from the targets: exact */
		int64_t w_sum = 0;
		for (uint32_t r = 0; r < xb->rows; r++)
			w_sum += xb->w[(size_t)r * xb->cols + j];
		y[j] = acc - (double)sh->w_offset * (double)xu_sum -
		       (double)sh->in_offset * (double)w_sum;
	}
	free(xs);
	return 0;
}

/* ----------------------------------------------------------- analytical */

static double phi(double z)
{
	return 0.5 * erfc(-z * 0.70710678118654752440); /* 1/√2 */
}

double cim_acc_conv_mse(double sigma, double delta)
{
	if (sigma <= 0) /* integer sums, errors −(Δ−1)/2 … (Δ−1)/2 */
		return delta == floor(delta) ? (delta * delta - 1) / 12 : delta * delta / 12;
	if (delta > 1024 || delta != floor(delta))
		/* the noise ≪ Δ, or a step that is no whole number of sums,
		 * over which their residues spread evenly */
		return (delta * delta - 1) / 12 + sigma * sigma;
	double total = 0;
	for (double u = 0; u < delta; u++) {
		/* code j takes the sums in [jΔ − 1/2, (j+1)Δ − 1/2) and gives
		 * jΔ + (Δ − 1)/2 */
		const double lo = floor((u - 10 * sigma) / delta) - 1,
			     hi = ceil((u + 10 * sigma) / delta) + 1;
		for (double j = lo; j <= hi; j++) {
			const double e = delta * j + (delta - 1) / 2 - u;
			const double pr = phi((delta * (j + 1) - 0.5 - u) / sigma) -
					  phi((delta * j - 0.5 - u) / sigma);
			total += e * e * pr;
		}
	}
	return total / delta;
}

/* E[(S − a)₊] and E[(S − a)₊²] for S ~ N(mu, sd²): what clipping at a
 * takes off a sum, on average and squared. */
static void clip_moments(double mu, double sd, double a, double *m1, double *m2)
{
	const double m = mu - a;

	if (sd <= 0) {
		*m1 = m > 0 ? m : 0;
		*m2 = *m1 * *m1;
		return;
	}
	const double z = m / sd, pdf = exp(-z * z / 2) * 0.39894228040143267794;
	if (z < -10) { /* under 10^−23 of the sums clip: none */
		*m1 = *m2 = 0;
		return;
	}
	*m1 = m * phi(z) + sd * pdf;
	*m2 = (sd * sd + m * m) * phi(z) + m * sd * pdf;
}

/* E[v] and E[v²] of a value uniform over the integers 0 … 2^bits − 1. */
static void uniform_moments(uint32_t bits, double *m1, double *m2)
{
	const double n = ldexp(1.0, (int)bits);
	*m1 = (n - 1) / 2;
	*m2 = (n - 1) * (2 * n - 1) / 6;
}

void cim_acc_estimate(const struct cim_chip_spec *c, uint32_t rows, struct cim_acc_est *out)
{
	const struct cim_noise_spec none = { 0 }, *nz = c->has_noise ? &c->noise : &none;
	struct shape sh;
	double xu1, xu2;

	shape_of(c, &sh);
	memset(out, 0, sizeof(*out));
	out->adc_step = (uint32_t)sh.delta;
	uniform_moments(sh.in_bits, &xu1, &xu2);
	/* x = x_u − 2^(b−1): mean −1/2 */
	const double x2 =
	    xu2 - 2 * (double)sh.in_offset * xu1 + (double)sh.in_offset * sh.in_offset;

	/* the drift factor's moments over ν ~ N(mean, sd) */
	double f1 = 1, f2 = 1;
	if (nz->drift_t_s > 0) {
		const double lt = log(nz->drift_t_s / nz->drift_t0_s);
		const double s2 = nz->drift_nu_sd * nz->drift_nu_sd * lt * lt;
		/* compensated: over E[f], so E[f] = 1 and E[f²] = e^(σ² ln² τ) */
		const double comp = nz->drift_compensated ? nz->drift_nu_mean * lt - s2 / 2 : 0;
		f1 = exp(-nz->drift_nu_mean * lt + comp + s2 / 2);
		f2 = exp(-2 * nz->drift_nu_mean * lt + 2 * comp + 2 * s2);
	}
	const double L = sh.levels, ps = nz->stuck_on + nz->stuck_off;
	const double prog2 = nz->prog_sigma * nz->prog_sigma * L * L;

	/* over the weights (uniform on ±(2^(bits−1) − 1)): E[w²], and per
	 * row the error η = Σ_p ± Σ_k 2^(k·cell_bits) e_pk of its cells */
	const int64_t wmax = ((int64_t)1 << (sh.w_bits - 1)) - 1;
	const double nw = (double)(2 * wmax + 1);
	double w2 = 0, eta1 = 0, eta2 = 0;
	double cell_e2[2][64] = { { 0 } }; /* E[e²] of the continuous errors, per
					      part and slice */
	double lv1[2][64] = { { 0 } }, lv2[2][64] = { { 0 } }; /* E[ℓ], E[ℓ²] */
	for (int64_t w = -wmax; w <= wmax; w++) {
		double m = 0, var = 0;
		w2 += (double)(w * w);
		for (uint32_t p = 0; p < sh.parts; p++)
			for (uint32_t k = 0; k < sh.w_slices; k++) {
				const double cv = slice_of(part_of(&sh, w, p), k, sh.cell_bits);
				const double e1 = (1 - ps) * cv * (f1 - 1) +
						  nz->stuck_on * (L - cv) - nz->stuck_off * cv;
				const double e2 = (1 - ps) * (cv * cv * (f2 - 2 * f1 + 1) + prog2) +
						  nz->stuck_on * (L - cv) * (L - cv) +
						  nz->stuck_off * cv * cv;
				const double a =
				    ldexp(p == 0 ? 1.0 : -1.0, (int)(k * sh.cell_bits));
				m += a * e1;
				var += a * a * (e2 - e1 * e1);
				/* the part a converter sees as continuous noise
				 * (stuck cells move sums by whole levels) */
				if (k < 64) {
					lv1[p][k] += cv / nw;
					lv2[p][k] += cv * cv / nw;
				}
				if (k < 64)
					cell_e2[p][k] +=
					    (1 - ps) * (cv * cv * (f2 - 2 * f1 + 1) + prog2) / nw;
			}
		eta1 += m / nw;
		eta2 += (m * m + var) / nw;
	}
	w2 /= nw;
	const double R = rows;
	out->signal = R * x2 * w2;
	out->mse_cells = R * xu2 * eta2 + R * (R - 1) * xu1 * xu1 * eta1 * eta1;

	/* each conversion: read noise, and the rounding, dithered by the
	 * noise that reaches the converter */
	const double read2 = nz->read_sigma * nz->read_sigma * L * L;
	const double top = ldexp(1.0, (int)sh.adc_bits) - 1;
	double clip_mean = 0; /* the output's mean error from clipping */
	for (uint32_t p = 0; p < sh.parts; p++)
		for (uint32_t k = 0; k < sh.w_slices; k++)
			for (uint32_t s = 0; s < sh.in_slices; s++) {
				double s1, s2;
				uniform_moments(in_slice_bits(&sh, s), &s1, &s2);
				const double a2 =
				    ldexp(1.0, (int)(2 * (s * sh.dac_bits + k * sh.cell_bits)));
				for (uint32_t r0 = 0; r0 < rows; r0 += sh.group) {
					const double G =
					    r0 + sh.group < rows ? sh.group : rows - r0;
					const double vr = read2 * G * s2;
					const double vs = (k < 64 ? cell_e2[p][k] : 0) * G * s2;
					double m = cim_acc_conv_mse(sqrt(vr + vs), sh.delta) - vs;
					m = m > 0 ? m : 0;
					/* sums past the full scale clip (a Gaussian sum) */
					if (k < 64) {
						const double mu = G * s1 * lv1[p][k],
							     var = G * (s2 * lv2[p][k] -
									s1 * s1 * lv1[p][k] *
									    lv1[p][k]),
							     sd = sqrt(var > 0 ? var : 0);
						/* none past the largest sum a read
						 * can make */
						const double fs = top * sh.delta +
								  (sh.delta - 1) / 2,
							     most = (ldexp(1.0, (int)in_slice_bits(
										    &sh, s)) -
								     1) *
								    (sh.isaac ? floor(G * L / 2)
									      : G * L);
						double c1 = 0, c2 = 0;
						if (fs < most)
							clip_moments(mu, sd, fs, &c1, &c2);
						/* its spread adds per conversion, its mean
						 * adds up over them all */
						out->mse_clip += a2 * (c2 - c1 * c1);
						clip_mean += (p == 0 ? -1 : 1) * sqrt(a2) * c1;
					}
					const double r = m < vr ? m : vr;
					out->mse_read += a2 * r;
					out->mse_adc += a2 * (m - r);
				}
			}
	out->mse_clip += clip_mean * clip_mean;
	out->mse_adc += out->mse_clip;
	out->mse = out->mse_cells + out->mse_read + out->mse_adc;
	assert(out->mse >= 0 && out->signal > 0);
	out->snr_db = out->mse > 0 ? 10 * log10(out->signal / out->mse) : INFINITY;
	out->rel_rms = sqrt(out->mse / out->signal);
}

/* ------------------------------------------------------- a real matrix */

/* Each of rows rows of k values (row-major) to integers within ±max,
 * symmetric, by its largest magnitude: the scale per row, the integers. */
static void quantize_rows(const double *a, uint32_t rows, uint32_t k, double max, double *scale,
			  int32_t *q)
{
	for (uint32_t o = 0; o < rows; o++) {
		const double *row = a + (size_t)o * k;
		double m = 0;
		for (uint32_t i = 0; i < k; i++)
			m = fmax(m, fabs(row[i]));
		scale[o] = m > 0 ? m / max : 1;
		for (uint32_t i = 0; i < k; i++)
			q[(size_t)o * k + i] =
			    (int32_t)fmax(-max, fmin(max, nearbyint(row[i] / scale[o])));
	}
}

int cim_acc_matmul(const struct cim_chip_spec *c, uint32_t n, uint32_t k, const double *W,
		   uint32_t v, const double *X, uint64_t seed, double *Y, double *Yq,
		   uint32_t *crossbars, struct cim_err *err)
{
	const double wmax = ldexp(1.0, (int)c->weight_bits - 1) - 1,
		     xmax = ldexp(1.0, (int)c->input_bits - 1) - 1;
	const uint32_t R = c->xbar.rows, C = c->xbar.cols;
	const uint32_t kb = (k + R - 1) / R, nb = (n + C - 1) / C;
	double *ws = malloc((size_t)n * sizeof(*ws)), *xs = malloc((size_t)v * sizeof(*xs));
	int32_t *wq = malloc((size_t)n * k * sizeof(*wq)),
		*xq = malloc((size_t)v * k * sizeof(*xq));
	int32_t *blk = malloc((size_t)R * C * sizeof(*blk)),
		*xin = malloc((size_t)R * sizeof(*xin));
	double *part = malloc((size_t)C * sizeof(*part));
	int rc = -1;

	if (n == 0 || k == 0 || v == 0) {
		cim_err_set(err, "an empty matrix or no input vector");
		goto done;
	}
	if (!ws || !xs || !wq || !xq || !blk || !xin || !part) {
		cim_err_set(err, "out of memory for a %u × %u matrix", n, k);
		goto done;
	}
	/* per output, per vector: symmetric, by the largest magnitude */
	quantize_rows(W, n, k, wmax, ws, wq);
	quantize_rows(X, v, k, xmax, xs, xq);
	if (crossbars)
		*crossbars = kb * nb;
	memset(Y, 0, (size_t)v * n * sizeof(*Y));
	for (uint32_t bi = 0; bi < kb; bi++)
		for (uint32_t bj = 0; bj < nb; bj++) {
			const uint32_t r0 = bi * R, rows = k - r0 < R ? k - r0 : R;
			const uint32_t c0 = bj * C, cols = n - c0 < C ? n - c0 : C;
			struct cim_acc_xbar *xb;
			for (uint32_t r = 0; r < rows; r++)
				for (uint32_t j = 0; j < cols; j++)
					blk[(size_t)r * cols + j] =
					    wq[(size_t)(c0 + j) * k + r0 + r];
			if (cim_acc_xbar_program(c, rows, cols, blk, seed + (uint64_t)bi * nb + bj,
						 &xb, err))
				goto done;
			for (uint32_t t = 0; t < v; t++) {
				for (uint32_t r = 0; r < rows; r++)
					xin[r] = xq[(size_t)t * k + r0 + r];
				if (cim_acc_xbar_mvm(xb, xin,
						     seed ^ (((uint64_t)t << 32) | (bi * nb + bj)),
						     part, err)) {
					cim_acc_xbar_free(xb);
					goto done;
				}
				for (uint32_t j = 0; j < cols; j++)
					Y[(size_t)t * n + c0 + j] += part[j];
			}
			cim_acc_xbar_free(xb);
		}
	/* scaled back; and the quantized operands' exact product */
	for (uint32_t t = 0; t < v; t++)
		for (uint32_t o = 0; o < n; o++) {
			const double s = ws[o] * xs[t];
			Y[(size_t)t * n + o] *= s;
			if (Yq) {
				double yq = 0;
				for (uint32_t i = 0; i < k; i++)
					yq += (double)wq[(size_t)o * k + i] * xq[(size_t)t * k + i];
				Yq[(size_t)t * n + o] = yq * s;
			}
		}
	rc = 0;
done:
	free(ws);
	free(xs);
	free(wq);
	free(xq);
	free(blk);
	free(xin);
	free(part);
	return rc;
}

int cim_acc_matrix(const struct cim_chip_spec *c, uint32_t n, uint32_t k, const double *W,
		   uint32_t v, const double *X, uint64_t seed, struct cim_acc_matrix *out,
		   struct cim_err *err)
{
	double *Y = malloc((size_t)v * n * sizeof(*Y) + 1),
	       *Yq = malloc((size_t)v * n * sizeof(*Yq) + 1);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!Y || !Yq) {
		cim_err_set(err, "out of memory for a %u × %u matrix", n, k);
		goto done;
	}
	if (cim_acc_matmul(c, n, k, W, v, X, seed, Y, Yq, &out->crossbars, err))
		goto done;
	/* against the exact product */
	double ref2 = 0, e2 = 0, q2 = 0, cos_sum = 0;
	for (uint32_t t = 0; t < v; t++) {
		double dot = 0, a2 = 0, b2 = 0;
		for (uint32_t o = 0; o < n; o++) {
			double y = 0;
			for (uint32_t i = 0; i < k; i++)
				y += W[(size_t)o * k + i] * X[(size_t)t * k + i];
			const double yc = Y[(size_t)t * n + o], yq = Yq[(size_t)t * n + o];
			ref2 += y * y;
			e2 += (yc - y) * (yc - y);
			q2 += (yq - y) * (yq - y);
			dot += yc * y;
			a2 += yc * yc;
			b2 += y * y;
		}
		cos_sum += a2 > 0 && b2 > 0 ? dot / sqrt(a2 * b2) : (a2 == b2 ? 1 : 0);
	}
	out->rel_err = ref2 > 0 ? sqrt(e2 / ref2) : 0;
	out->rel_err_quant = ref2 > 0 ? sqrt(q2 / ref2) : 0;
	out->snr_db = e2 > 0 ? 10 * log10(ref2 / e2) : INFINITY;
	out->cosine = cos_sum / v;
	rc = 0;
done:
	free(Y);
	free(Yq);
	return rc;
}
