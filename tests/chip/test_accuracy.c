/*
 * test_accuracy.c — the crossbar pipeline computed number by number
 * (chip/accuracy.c) against the exact product, a hand-worked column, and
 * the analytical error estimate against the errors the pipeline makes
 * (Monte Carlo over seeded weights, inputs and noise, within sampling
 * error).
 */
#include <math.h>
#include <stdlib.h>

#include "accuracy.h"
#include "forward.h"
#include "load.h"
#include "test.h"

/* Integers uniform over [lo, hi] from a seeded stream. */
static void fill(struct cim_rng *r, int32_t *v, size_t n, int32_t lo, int32_t hi)
{
	for (size_t i = 0; i < n; i++)
		v[i] = lo + (int32_t)(cim_rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* With no noise and converters that resolve every column sum, the
 * pipeline gives the exact product, bit for bit: the example chip (offset
 * weights, ISAAC's encoding, 128 of 512 rows a read, 2-bit cells, 1-bit
 * DAC), the same with differential weights and without the encoding (a
 * 9-bit ADC), and ISAAC's chip. */
static void test_exact(void)
{
	struct cim_chip_spec c[3];
	enum { R = 512, C = 48 };
	int32_t *w = malloc(R * C * sizeof(*w)), x[R];
	double y[C];
	struct cim_rng rng;
	struct cim_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	if (load("configs/chips/llm-class.yaml", &c[0]) || load("configs/chips/isaac.yaml", &c[2]))
		return;
	c[1] = c[0];
	c[1].sign = CIM_SIGN_DIFFERENTIAL;
	c[1].adc.encoding = CIM_ENC_NONE;
	c[1].adc.bits = 9;
	cim_rng_seed(&rng, 7, 0);
	for (int k = 0; k < 3; k++) {
		const uint32_t rows = R < c[k].xbar.rows ? R : c[k].xbar.rows;
		const int32_t wm = (1 << (c[k].weight_bits - 1)) - 1,
			      xm = 1 << (c[k].input_bits - 1);
		struct cim_acc_xbar *xb;
		CU_ASSERT_EQUAL_FATAL(cim_spec_adc_bits_needed(&c[k], NULL) <= c[k].adc.bits, 1);
		for (int trial = 0; trial < 3; trial++) {
			fill(&rng, w, (size_t)rows * C, -wm, wm);
			fill(&rng, x, rows, -xm, xm - 1);
			if (trial == 0) /* the extremes */
				for (uint32_t i = 0; i < rows * C; i++)
					w[i] = i % 2 ? wm : -wm, x[i % rows] = i % 3 ? -xm : xm - 1;
			CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_program(&c[k], rows, C, w, 1, &xb, &err),
					      0);
			CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_mvm(xb, x, 1, y, &err), 0);
			int bad = 0;
			for (int j = 0; j < C; j++) {
				int64_t exact = 0;
				for (uint32_t r = 0; r < rows; r++)
					exact += (int64_t)x[r] * w[r * C + j];
				bad += y[j] != (double)exact;
			}
			CIM_ASSERT_EQ_U64(bad, 0);
			cim_acc_xbar_free(xb);
		}
	}
	free(w);
}

/* One column by hand: 2 rows of the example chip without ISAAC's encoding
 * (its sums need 9 bits) and a 6-bit ADC that drops 3 of them: step 8,
 * codes up to 63.  Weights 7 and −3 are stored biased, 135 and 125: 2-bit
 * cells (low first) 3,1,0,2 and 1,3,3,1.  Inputs 5 and −2 are offset to
 * 133 and 126: bits (low first) 1,0,1,0,0,0,0,1 and 0,1,1,1,1,1,1,0.  Both
 * rows are read together; each read sums bit · cell; the ADC's first code
 * takes the sums 0..7 and gives 3.5, the middle of them. */
static void test_hand_column(void)
{
	struct cim_chip_spec c;
	struct cim_acc_xbar *xb;
	struct cim_err err;
	const int32_t w[2] = { 7, -3 }, x[2] = { 5, -2 };
	double y;

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	c.adc.bits = 6;
	c.adc.truncates = true;
	c.adc.encoding = CIM_ENC_NONE;
	CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_program(&c, 2, 1, w, 1, &xb, &err), 0);
	CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_mvm(xb, x, 1, &y, &err), 0);
	cim_acc_xbar_free(xb);
	/* By hand, per cell slice k, the sums of input bits s0..s7:
	 *   k0 cells (3, 1): 3, 1, 4, 1, 1, 1, 1, 3
	 *   k1 cells (1, 3): 1, 3, 4, 3, 3, 3, 3, 1
	 *   k2 cells (0, 3): 0, 3, 3, 3, 3, 3, 3, 0
	 *   k3 cells (2, 1): 2, 1, 3, 1, 1, 1, 1, 2
	 * every one under 8: converted to 3.5.  Σ 4^k Σ 2^s · 3.5 = 3.5 · 85 ·
	 * 255 = 75,862.5; less 128 · (133 + 126) = 33,152 (the weights' bias)
	 * and 128 · (7 − 3) = 512 (the inputs' offset): 42,198.5, where the
	 * exact product is 5·7 + (−2)(−3) = 41 (exact sums: 33,705 − 33,664):
	 * the weights' bias is summed in the analog domain, converted
	 * coarsely, and subtracted exactly. */
	CIM_ASSERT_REL(y, 42198.5, 0);
}

static void test_conv_mse(void)
{
	/* no noise: exact at step 1; at step 2 the errors are ±1/2: 1/4; at
	 * step 4, ±1/2 and ±3/2: (1/4 + 9/4) / 2 = 5/4 */
	CIM_ASSERT_REL(cim_acc_conv_mse(0, 1), 0.0, 0);
	CIM_ASSERT_REL(cim_acc_conv_mse(0, 2), 0.25, 1e-15);
	CIM_ASSERT_REL(cim_acc_conv_mse(0, 4), 1.25, 1e-15);
	/* the exact sum at small noise agrees with the noise-free value */
	CIM_ASSERT_REL(cim_acc_conv_mse(1e-3, 4), 1.25, 1e-9);
	/* noise far above the step: σ² + (Δ² + 2)/12 → σ² + 1/12 at Δ = 1
	 * when dithered (continuous residue: 1/12) */
	CIM_ASSERT_REL(cim_acc_conv_mse(10, 1), 100 + 1.0 / 12, 1e-6);
	/* noise far below the step 1: rounding removes it: P(|n| > 1/2) at
	 * σ = 0.1 is 5.7e-7 */
	CU_ASSERT(cim_acc_conv_mse(0.1, 1) < 1e-6);
}

/* Monte Carlo: the mean squared error of outputs over trials (each its
 * own weights, inputs and noise), against the estimate, within 4 standard
 * errors (from the trials' means: the outputs of one trial share their
 * inputs) and 2 % for the estimate's approximations. */
static void mc_check(const struct cim_chip_spec *c, uint32_t rows, int trials, const char *what)
{
	enum { C = 64 };
	int32_t *w = malloc((size_t)rows * C * sizeof(*w)), *x = malloc(rows * sizeof(*x));
	double y[C], s = 0, s2 = 0, sig = 0;
	struct cim_rng rng;
	struct cim_err err;
	struct cim_acc_est est;
	const int32_t wm = (1 << (c->weight_bits - 1)) - 1, xm = 1 << (c->input_bits - 1);
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	cim_rng_seed(&rng, 11, 0);
	for (int t = 0; t < trials; t++) {
		struct cim_acc_xbar *xb;
		fill(&rng, w, (size_t)rows * C, -wm, wm);
		fill(&rng, x, rows, -xm, xm - 1);
		CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_program(c, rows, C, w, 100 + t, &xb, &err), 0);
		CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_mvm(xb, x, 200 + t, y, &err), 0);
		double tm = 0;
		for (int j = 0; j < C; j++) {
			double exact = 0;
			for (uint32_t r = 0; r < rows; r++)
				exact += (double)x[r] * w[r * C + j];
			tm += (y[j] - exact) * (y[j] - exact) / C;
			sig += exact * exact;
			n++;
		}
		s += tm;
		s2 += tm * tm;
		cim_acc_xbar_free(xb);
	}
	cim_acc_estimate(c, rows, &est);
	const double mean = s / trials, se = sqrt((s2 / trials - mean * mean) / (trials - 1));
	fprintf(stderr,
		"\n  %s: MSE %.6g ± %.3g (Monte Carlo, %zu outputs), estimate %.6g; "
		"signal %.6g, estimate %.6g; SNR %.2f dB",
		what, mean, se, n, est.mse, sig / n, est.signal, est.snr_db);
	CU_ASSERT(fabs(mean - est.mse) < 4 * se + 0.02 * est.mse);
	CU_ASSERT(fabs(sig / n - est.signal) < 0.1 * est.signal);
	free(w);
	free(x);
}

static void test_estimate_adc(void)
{
	struct cim_chip_spec c;

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	/* a 6-bit ADC on the example's 8-bit sums: step 4 */
	c.adc.bits = 6;
	c.adc.truncates = true;
	mc_check(&c, 512, 40, "6-bit ADC");
	/* its gain set to a quarter of the largest sum, without ISAAC's
	 * encoding (9 bits needed): step 0.25 · 2^3 = 2, full scale 126.5;
	 * a read's sum has mean 128 · 0.5 · 1.5 = 96 and standard deviation
	 * √(128 (0.5 · 3.5 − 0.25 · 2.25)) = 12.3, so 0.66 % of them clip;
	 * at a fifth (step 1.6, full scale 101.1) a third of them do */
	c.adc.encoding = CIM_ENC_NONE;
	c.adc.range = 0.25;
	mc_check(&c, 512, 40, "6-bit ADC at a quarter of the range");
	c.adc.range = 0.2;
	mc_check(&c, 512, 40, "6-bit ADC at a fifth of the range");
}

static void test_estimate_noise(void)
{
	struct cim_chip_spec c;

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	c.has_noise = true;
	c.noise = (struct cim_noise_spec){ .prog_sigma = 0.05, .read_sigma = 0.02 };
	mc_check(&c, 512, 40, "programming 5 %, read 2 %");
	/* errors that scale with the level or have a mean (drift, stuck
	 * cells) on a chip without ISAAC's inversions, which store the larger
	 * blocks' cells at the lower levels: the estimate, which does not
	 * follow them, is an upper bound there (docs/accuracy.md) */
	c.adc.encoding = CIM_ENC_NONE;
	c.adc.bits = 9;
	c.noise = (struct cim_noise_spec){ .drift_nu_mean = 0.05,
					   .drift_nu_sd = 0.02,
					   .drift_t_s = 86400,
					   .drift_t0_s = 20,
					   .drift_compensated = true,
					   .prog_sigma = 0.03 };
	mc_check(&c, 512, 40, "drift over a day, compensated");

	c.noise = (struct cim_noise_spec){ .stuck_on = 0.001, .stuck_off = 0.002 };
	mc_check(&c, 512, 40, "stuck cells");
	c.noise = (struct cim_noise_spec){
		.drift_nu_mean = 0.05, .drift_nu_sd = 0.02, .drift_t_s = 3600, .drift_t0_s = 20
	};
	mc_check(&c, 512, 40, "drift over an hour, uncompensated");
}

/* Bad blocks are refused with what is wrong. */
static void test_refused(void)
{
	struct cim_chip_spec c;
	struct cim_acc_xbar *xb;
	struct cim_err err;
	int32_t w[2] = { 128, 0 }, x[2] = { 0, 0 };

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	CU_ASSERT_EQUAL(cim_acc_xbar_program(&c, 2, 1, w, 1, &xb, &err), -1);
	CIM_ASSERT_HAS(err.msg, "weight 0 is 128: 8-bit weights lie within ±127");
	CU_ASSERT_EQUAL(cim_acc_xbar_program(&c, 513, 1, w, 1, &xb, &err), -1);
	CIM_ASSERT_HAS(err.msg, "does not fit a 512 × 512 crossbar");
	w[0] = 1;
	CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_program(&c, 2, 1, w, 1, &xb, &err), 0);
	x[1] = 128;
	double y;
	CU_ASSERT_EQUAL(cim_acc_xbar_mvm(xb, x, 1, &y, &err), -1);
	CIM_ASSERT_HAS(err.msg, "input 1 is 128: 8-bit inputs lie within [-128, 127]");
	cim_acc_xbar_free(xb);
}

/* A real matrix: integer weights whose rows reach ±127 and inputs that
 * reach 127 quantize with scale 1, so on a chip that resolves every sum
 * the product is exact (errors 0, cosine 1); with the cells' noise of
 * IBM's PCM devices it is not. */
static void test_matrix(void)
{
	enum { N = 600, K = 700, V = 3 };
	double *w = malloc((size_t)N * K * sizeof(*w)), *x = malloc((size_t)V * K * sizeof(*x));
	struct cim_chip_spec c;
	struct cim_acc_matrix m;
	struct cim_err err;
	struct cim_rng rng;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	if (load("configs/chips/llm-class.yaml", &c))
		return;
	cim_rng_seed(&rng, 5, 0);
	for (int o = 0; o < N; o++)
		for (int i = 0; i < K; i++)
			w[o * K + i] = i == o % K ? (o % 2 ? 127 : -127)
						  : (double)(int)(cim_rng_next(&rng) % 255) - 127;
	for (int t = 0; t < V; t++)
		for (int i = 0; i < K; i++)
			x[t * K + i] = i == t ? 127 : (double)(int)(cim_rng_next(&rng) % 255) - 127;
	CU_ASSERT_EQUAL_FATAL(cim_acc_matrix(&c, N, K, w, V, x, 1, &m, &err), 0);
	CIM_ASSERT_EQ_U64(m.crossbars, 4); /* ⌈700/512⌉ × ⌈600/512⌉ */
	CIM_ASSERT_REL(m.rel_err_quant, 0.0, 0);
	CIM_ASSERT_REL(m.rel_err, 0.0, 0);
	CIM_ASSERT_REL(m.cosine, 1.0, 1e-15);
	CU_ASSERT(isinf(m.snr_db));
	if (load("tests/data/chips/pcm-noise.yaml", &c))
		return;
	CU_ASSERT_EQUAL_FATAL(cim_acc_matrix(&c, N, K, w, V, x, 1, &m, &err), 0);
	CIM_ASSERT_REL(m.rel_err_quant, 0.0, 0);
	CU_ASSERT(m.rel_err > 0.01 && m.cosine < 1);
	free(w);
	free(x);
}

/* The tiny Llama of tests/data/fwd (make.py writes it, and its logits by
 * an independent forward pass in plain Python): the reference pass gives
 * those logits to 1e-12; through a chip of 16-bit weights and inputs that
 * resolves every sum (ISAAC's) every position's top token agrees and the
 * KL divergence is under 1e-6; through IBM's PCM cell errors it is not. */
static void test_forward(void)
{
	enum { V = 40 };
	struct cim_files *files = cim_files_create(true);
	struct cim_model_spec m;
	struct cim_st_file *st = NULL;
	struct cim_chip_spec isaac, pcm;
	struct cim_err err;
	uint32_t tok[16], n = 0;
	double ref[16 * V], chip[16 * V], want;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(cim_spec_load_model(files, "tests/data/fwd/config.json", &m, &err),
			      0);
	cim_files_destroy(files);
	CU_ASSERT_EQUAL_FATAL(cim_st_open("tests/data/fwd/model.safetensors", &st, &err), 0);
	f = fopen("tests/data/fwd/tokens.txt", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (n < 16 && fscanf(f, "%u", &tok[n]) == 1)
		n++;
	fclose(f);
	CIM_ASSERT_EQ_U64(n, 6);
	const struct cim_fwd_opts exact = { 0 };
	CU_ASSERT_EQUAL_FATAL(cim_fwd_logits(&m, st, tok, n, &exact, ref, &err), 0);
	f = fopen("tests/data/fwd/logits.txt", "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	int bad = 0;
	for (uint32_t i = 0; i < n * V; i++) {
		CU_ASSERT_FATAL(fscanf(f, "%lf", &want) == 1);
		bad += fabs(ref[i] - want) > 1e-12 * (1 + fabs(want));
	}
	fclose(f);
	CIM_ASSERT_EQ_U64(bad, 0);

	struct cim_fwd_cmp cmp;
	if (load("configs/chips/isaac.yaml", &isaac) ||
	    load("tests/data/chips/pcm-noise.yaml", &pcm))
		return;
	struct cim_fwd_opts o = { .chip = &isaac, .tp = 1, .act_bits = 16, .seed = 1 };
	CU_ASSERT_EQUAL_FATAL(cim_fwd_logits(&m, st, tok, n, &o, chip, &err), 0);
	cim_fwd_compare(ref, chip, n, V, tok, &cmp);
	fprintf(stderr, "\n  16-bit chip: top-1 %.3f, KL %.3g, loss %.6f against %.6f", cmp.top1,
		cmp.kl, cmp.loss_chip, cmp.loss_ref);
	CIM_ASSERT_REL(cmp.top1, 1.0, 0);
	CU_ASSERT(cmp.kl < 1e-6);
	/* tensor-parallel over 2 with partial sums of 16 bits: as good */
	o.tp = 2;
	CU_ASSERT_EQUAL_FATAL(cim_fwd_logits(&m, st, tok, n, &o, chip, &err), 0);
	cim_fwd_compare(ref, chip, n, V, tok, &cmp);
	CU_ASSERT(cmp.kl < 1e-6);
	o = (struct cim_fwd_opts){ .chip = &pcm, .tp = 1, .act_bits = 8, .seed = 1 };
	CU_ASSERT_EQUAL_FATAL(cim_fwd_logits(&m, st, tok, n, &o, chip, &err), 0);
	cim_fwd_compare(ref, chip, n, V, tok, &cmp);
	fprintf(stderr, "; PCM noise: top-1 %.3f, KL %.3g, loss %.6f", cmp.top1, cmp.kl,
		cmp.loss_chip);
	CU_ASSERT(cmp.kl > 1e-3);
	/* a token outside the vocabulary */
	tok[2] = 40;
	CU_ASSERT_EQUAL(cim_fwd_logits(&m, st, tok, n, &exact, ref, &err), -1);
	CIM_ASSERT_HAS(err.msg, "token 2 is 40: fwd's vocabulary has 40");
	cim_st_close(st);
}

/* Drift alone follows its power law: 128 rows of weight 127 (differential:
 * cells 3, 3, 3, 1 of G+) under inputs 127 (offset 255: every bit set), no
 * spread of ν and no compensation: every cell conducts (t/t0)^−ν of its
 * level, so the analog part Σ x_u w = 128 · 255 · 127 shrinks by that
 * factor, less the converters' rounding (at most 1/2 per conversion:
 * ½ · 255 · 85 over the slices), and the inputs' offset 128 · 128 · 127 is
 * removed exactly.  At t = t0 nothing drifts. */
static void test_drift_power_law(void)
{
	enum { R = 128 };
	struct cim_chip_spec c;
	struct cim_acc_xbar *xb;
	struct cim_err err;
	int32_t w[R], x[R];
	double y;
	const double ts[3] = { 20, 200, 86400 };

	if (load("configs/chips/llm-class.yaml", &c))
		return;
	c.sign = CIM_SIGN_DIFFERENTIAL;
	c.adc.encoding = CIM_ENC_NONE;
	c.adc.bits = 9;
	c.has_noise = true;
	for (int i = 0; i < R; i++)
		w[i] = 127, x[i] = 127;
	for (int i = 0; i < 3; i++) {
		c.noise = (struct cim_noise_spec){ .drift_nu_mean = 0.05,
						   .drift_t_s = ts[i],
						   .drift_t0_s = 20 };
		const double f = pow(ts[i] / 20, -0.05);
		CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_program(&c, R, 1, w, 1, &xb, &err), 0);
		CU_ASSERT_EQUAL_FATAL(cim_acc_xbar_mvm(xb, x, 1, &y, &err), 0);
		cim_acc_xbar_free(xb);
		const double want = f * R * 255.0 * 127 - 128.0 * R * 127;
		CU_ASSERT(fabs(y - want) <= 0.5 * 255 * 85);
		if (i == 0)
			CIM_ASSERT_REL(y, (double)R * 127 * 127, 0); /* exact at t0 */
	}
}

static const struct cim_test tests[] = {
	{ "drift follows its power law", test_drift_power_law },
	{ "a decoder's forward pass through the chip", test_forward },
	{ "a real matrix through the chip", test_matrix },
	{ "noise-free pipeline equals the exact product", test_exact },
	{ "one column worked by hand", test_hand_column },
	{ "a converter's rounding error", test_conv_mse },
	{ "estimate against the pipeline: ADC", test_estimate_adc },
	{ "estimate against the pipeline: cells", test_estimate_noise },
	{ "bad blocks refused", test_refused },
};

CIM_TEST_MAIN("accuracy", tests)
