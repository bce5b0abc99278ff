/*
 * forward.c — a Llama-family decoder's forward pass, its matrices through
 * the chip or in double precision (forward.h, docs/accuracy.md).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"
#include "forward.h"

struct fwd {
	const struct cim_model_spec *m;
	const struct cim_st_file *st;
	const struct cim_fwd_opts *o;
	struct cim_err *err;
	uint64_t nmat; /* matrices run: each its own cells */
};

/* Tensor name read into a malloc'd array of rows × cols values (cols 0: a
 * vector of rows), or NULL with err set. */
static double *load(struct fwd *f, const char *name, uint64_t rows, uint64_t cols)
{
	const struct cim_st_tensor *t = cim_st_find(f->st, name);
	const uint32_t ndim = cols ? 2 : 1;

	if (!t) {
		cim_err_set(f->err, "%s: no tensor '%s', which %s's forward pass needs",
			    f->st->path, name, f->m->name);
		return NULL;
	}
	if (t->ndim != ndim || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
		char want[64];
		snprintf(want, sizeof(want), cols ? "[%llu, %llu]" : "[%llu]",
			 (unsigned long long)rows, (unsigned long long)cols);
		cim_err_set(f->err,
			    "%s: tensor '%s' has %u dimensions of %llu…, the model needs %s",
			    f->st->path, name, t->ndim, (unsigned long long)t->shape[0], want);
		return NULL;
	}
	double *v = malloc((size_t)t->elems * sizeof(*v) + 1);
	if (!v) {
		cim_err_set(f->err, "out of memory for tensor '%s'", name);
		return NULL;
	}
	if (cim_st_read(f->st, t, v, f->err)) {
		free(v);
		return NULL;
	}
	return v;
}

/* Symmetric quantization of v values to bits, by their largest magnitude. */
static void quantize(double *x, uint32_t v, uint32_t bits)
{
	const double q = ldexp(1.0, (int)bits - 1) - 1;
	double m = 0;

	for (uint32_t i = 0; i < v; i++)
		m = fmax(m, fabs(x[i]));
	if (m == 0)
		return;
	for (uint32_t i = 0; i < v; i++)
		x[i] = nearbyint(x[i] / m * q) * m / q;
}

/* Y (n × out) = X (n × in) Wᵀ, W out × in: in double, or through the chip;
 * row-parallel (o_proj, down_proj) splits in over tp chips, whose partial
 * sums are quantized to act_bits and added. */
static int linear(struct fwd *f, const double *W, uint32_t out, uint32_t in, const double *X,
		  uint32_t n, bool row_parallel, double *Y)
{
	const struct cim_fwd_opts *o = f->o;
	const uint32_t tp = o->chip && row_parallel && o->tp > 1 ? o->tp : 1;
	const uint64_t seed = o->seed + 1000003ull * f->nmat++;

	if (!o->chip) {
		for (uint32_t t = 0; t < n; t++)
			for (uint32_t j = 0; j < out; j++) {
				double s = 0;
				for (uint32_t i = 0; i < in; i++)
					s += W[(size_t)j * in + i] * X[(size_t)t * in + i];
				Y[(size_t)t * out + j] = s;
			}
		return 0;
	}
	if (tp == 1)
		return cim_acc_matmul(o->chip, out, in, W, n, X, seed, Y, NULL, NULL, f->err);
	/* each member's contiguous share of the inputs */
	double *Ws = malloc((size_t)out * in * sizeof(*Ws)),
	       *Xs = malloc((size_t)n * in * sizeof(*Xs)),
	       *P = malloc((size_t)n * out * sizeof(*P));
	int rc = -1;
	if (!Ws || !Xs || !P) {
		cim_err_set(f->err, "out of memory");
		goto out;
	}
	memset(Y, 0, (size_t)n * out * sizeof(*Y));
	for (uint32_t r = 0; r < tp; r++) {
		const uint32_t lo = (uint32_t)((uint64_t)in * r / tp),
			       hi = (uint32_t)((uint64_t)in * (r + 1) / tp), w = hi - lo;
		for (uint32_t j = 0; j < out; j++)
			memcpy(Ws + (size_t)j * w, W + (size_t)j * in + lo, w * sizeof(*W));
		for (uint32_t t = 0; t < n; t++)
			memcpy(Xs + (size_t)t * w, X + (size_t)t * in + lo, w * sizeof(*X));
		if (cim_acc_matmul(o->chip, out, w, Ws, n, Xs, seed + 7919ull * r, P, NULL, NULL,
				   f->err))
			goto out;
		for (uint32_t t = 0; t < n; t++) {
			quantize(P + (size_t)t * out, out, o->act_bits);
			for (uint32_t j = 0; j < out; j++)
				Y[(size_t)t * out + j] += P[(size_t)t * out + j];
		}
	}
	rc = 0;
out:
	free(Ws);
	free(Xs);
	free(P);
	return rc;
}

static void rmsnorm(const double *x, const double *g, uint32_t d, double eps, double *y)
{
	double s = 0;

	for (uint32_t i = 0; i < d; i++)
		s += x[i] * x[i];
	s = 1 / sqrt(s / d + eps);
	for (uint32_t i = 0; i < d; i++)
		y[i] = x[i] * s * g[i];
}

/* RoPE with rotate_half over every head of x (heads × hd) at pos. */
static void rope(double *x, uint32_t heads, uint32_t hd, double theta, uint32_t pos)
{
	const uint32_t half = hd / 2;

	for (uint32_t h = 0; h < heads; h++) {
		double *q = x + (size_t)h * hd;
		for (uint32_t j = 0; j < half; j++) {
			const double fr = pow(theta, -2.0 * j / hd), c = cos(pos * fr),
				     s = sin(pos * fr);
			const double a = q[j], b = q[j + half];
			q[j] = a * c - b * s;
			q[j + half] = b * c + a * s;
		}
	}
}

/* The model's shapes this pass reads, or an error naming what it lacks. */
static int supported(const struct cim_model_spec *m, struct cim_err *err)
{
	const char *why = m->norm != CIM_NORM_RMSNORM		     ? "a LayerNorm"
			  : m->pos != CIM_POS_ROPE		     ? "positions other than RoPE"
			  : !m->gated_ffn || m->act != CIM_ACT_SILU  ? "an FFN other than SwiGLU"
			  : m->rotary_dim != m->head_dim	     ? "partial rotary"
			  : m->rope_factor != 1			     ? "RoPE scaling"
			  : m->experts > 1			     ? "experts"
			  : m->kv_lora				     ? "latent attention"
			  : m->parallel_block			     ? "a parallel block"
			  : m->local_layers			     ? "sliding windows"
			  : m->bias_o || m->bias_ffn || m->bias_head ? "biases beside q, k, v"
			  : m->qk_norm_q || m->qk_norm_k	     ? "q/k norms"
			  : m->attn_softcap || m->logit_softcap	     ? "soft caps"
			  : m->embed_scale || m->residual_scale || m->logit_scale || m->embed_norm
			      ? "scaled or normed embeddings"
			      : NULL;
	if (why)
		return cim_err_set(err,
				   "%s: the functional forward pass reads Llama-family models "
				   "(RMSNorm, RoPE, SwiGLU); this one has %s",
				   m->name, why);
	return 0;
}

/* The tensor of layer l (l < 0: outside the layers) called what. */
static double *load_at(struct fwd *f, int l, const char *what, uint64_t rows, uint64_t cols)
{
	char name[160];

	if (l < 0)
		snprintf(name, sizeof(name), "model.%s", what);
	else
		snprintf(name, sizeof(name), "model.layers.%d.%s", l, what);
	return load(f, name, rows, cols);
}

/* Y = X Wᵀ with the weight what of layer l (out × in). */
static int apply(struct fwd *f, int l, const char *what, uint32_t out, uint32_t in, const double *X,
		 uint32_t n, bool row_parallel, double *Y)
{
	double *w = load_at(f, l, what, out, in);

	if (!w)
		return -1;
	const int rc = linear(f, w, out, in, X, n, row_parallel, Y);
	free(w);
	return rc;
}

/* Y += the bias what of layer l, on each of n rows. */
static int add_bias(struct fwd *f, int l, const char *what, uint32_t rows, uint32_t n, double *Y)
{
	double *b = load_at(f, l, what, rows, 0);

	if (!b)
		return -1;
	for (uint32_t t = 0; t < n; t++)
		for (uint32_t j = 0; j < rows; j++)
			Y[(size_t)t * rows + j] += b[j];
	free(b);
	return 0;
}

/* a = RMSNorm(h) row by row with the gain what of layer l. */
static int norm_rows(struct fwd *f, int l, const char *what, const double *h, uint32_t n, double *a)
{
	const uint32_t d = f->m->hidden;
	double *g = load_at(f, l, what, d, 0);

	if (!g)
		return -1;
	for (uint32_t t = 0; t < n; t++)
		rmsnorm(h + (size_t)t * d, g, d, f->m->norm_eps, a + (size_t)t * d);
	free(g);
	return 0;
}

int cim_fwd_logits(const struct cim_model_spec *m, const struct cim_st_file *st,
		   const uint32_t *tokens, uint32_t n, const struct cim_fwd_opts *o, double *logits,
		   struct cim_err *err)
{
	struct fwd f = { .m = m, .st = st, .o = o, .err = err };
	const uint32_t d = m->hidden, H = m->heads, KV = m->kv_heads, hd = m->head_dim, F
	= m->ffn, V = m->vocab, qd = H * hd, kd = KV * hd;
	double *emb = NULL, *h = NULL, *a = NULL, *q = NULL, *k = NULL, *v = NULL, *att = NULL,
	       *t1 = NULL, *g = NULL, *u = NULL, *w = NULL, *sc = NULL;
	int rc = -1;

	if (supported(m, err))
		return -1;
	if (n == 0)
		return cim_err_set(err, "no tokens to run");
	for (uint32_t t = 0; t < n; t++)
		if (tokens[t] >= V)
			return cim_err_set(err, "token %u is %u: %s's vocabulary has %u", t,
					   tokens[t], m->name, V);
	const size_t big = (size_t)n * (F > qd ? (F > d ? F : d) : (qd > d ? qd : d));
	h = malloc((size_t)n * d * sizeof(*h));
	a = malloc((size_t)n * d * sizeof(*a));
	q = malloc((size_t)n * qd * sizeof(*q));
	k = malloc((size_t)n * kd * sizeof(*k));
	v = malloc((size_t)n * kd * sizeof(*v));
	att = malloc((size_t)n * qd * sizeof(*att));
	t1 = malloc(big * sizeof(*t1));
	g = malloc((size_t)n * F * sizeof(*g));
	u = malloc((size_t)n * F * sizeof(*u));
	sc = malloc((size_t)n * sizeof(*sc));
	if (!h || !a || !q || !k || !v || !att || !t1 || !g || !u || !sc) {
		cim_err_set(err, "out of memory for %u tokens", n);
		goto out;
	}
	if (!(emb = load(&f, "model.embed_tokens.weight", V, d)))
		goto out;
	for (uint32_t t = 0; t < n; t++)
		memcpy(h + (size_t)t * d, emb + (size_t)tokens[t] * d, d * sizeof(*h));
	for (uint32_t l = 0; l < m->layers; l++) {
		const int L = (int)l;
		if (norm_rows(&f, L, "input_layernorm.weight", h, n, a))
			goto out;
		const struct {
			const char *w, *b;
			double *out;
			uint32_t rows;
		} qkv[3] = { { "self_attn.q_proj.weight", "self_attn.q_proj.bias", q, qd },
			     { "self_attn.k_proj.weight", "self_attn.k_proj.bias", k, kd },
			     { "self_attn.v_proj.weight", "self_attn.v_proj.bias", v, kd } };
		for (int i = 0; i < 3; i++)
			if (apply(&f, L, qkv[i].w, qkv[i].rows, d, a, n, false, qkv[i].out) ||
			    (m->bias_qkv && add_bias(&f, L, qkv[i].b, qkv[i].rows, n, qkv[i].out)))
				goto out;
		for (uint32_t t = 0; t < n; t++) {
			rope(q + (size_t)t * qd, H, hd, m->rope_theta, t);
			rope(k + (size_t)t * kd, KV, hd, m->rope_theta, t);
		}
		/* causal grouped-query attention, in the digital unit */
		for (uint32_t t = 0; t < n; t++)
			for (uint32_t hh = 0; hh < H; hh++) {
				const uint32_t grp = hh / (H / KV);
				const double *qs = q + (size_t)t * qd + (size_t)hh * hd;
				double mx = -INFINITY, z = 0;
				for (uint32_t s = 0; s <= t; s++) {
					double dot = 0;
					for (uint32_t j = 0; j < hd; j++)
						dot += qs[j] *
						       k[(size_t)s * kd + (size_t)grp * hd + j];
					sc[s] = dot / sqrt((double)hd);
					mx = fmax(mx, sc[s]);
				}
				for (uint32_t s = 0; s <= t; s++)
					z += sc[s] = exp(sc[s] - mx);
				double *os = att + (size_t)t * qd + (size_t)hh * hd;
				for (uint32_t j = 0; j < hd; j++) {
					double acc = 0;
					for (uint32_t s = 0; s <= t; s++)
						acc += sc[s] / z *
						       v[(size_t)s * kd + (size_t)grp * hd + j];
					os[j] = acc;
				}
			}
		if (apply(&f, L, "self_attn.o_proj.weight", d, qd, att, n, true, t1))
			goto out;
		for (size_t i = 0; i < (size_t)n * d; i++)
			h[i] += t1[i];
		if (norm_rows(&f, L, "post_attention_layernorm.weight", h, n, a) ||
		    apply(&f, L, "mlp.gate_proj.weight", F, d, a, n, false, g) ||
		    apply(&f, L, "mlp.up_proj.weight", F, d, a, n, false, u))
			goto out;
		for (size_t i = 0; i < (size_t)n * F; i++)
			g[i] = g[i] / (1 + exp(-g[i])) * u[i];
		if (apply(&f, L, "mlp.down_proj.weight", d, F, g, n, true, t1))
			goto out;
		for (size_t i = 0; i < (size_t)n * d; i++)
			h[i] += t1[i];
	}
	if (norm_rows(&f, -1, "norm.weight", h, n, a))
		goto out;
	if (!m->tied_embeddings && !(w = load(&f, "lm_head.weight", V, d)))
		goto out;
	if (linear(&f, w ? w : emb, V, d, a, n, false, logits))
		goto out;
	rc = 0;
out:
	free(emb);
	free(h);
	free(a);
	free(q);
	free(k);
	free(v);
	free(att);
	free(t1);
	free(g);
	free(u);
	free(w);
	free(sc);
	return rc;
}

/* log Σ exp over a row. */
static double logsumexp(const double *x, uint32_t n)
{
	double m = -INFINITY, s = 0;

	for (uint32_t i = 0; i < n; i++)
		m = fmax(m, x[i]);
	for (uint32_t i = 0; i < n; i++)
		s += exp(x[i] - m);
	return m + log(s);
}

void cim_fwd_compare(const double *ref, const double *chip, uint32_t n, uint32_t vocab,
		     const uint32_t *tokens, struct cim_fwd_cmp *out)
{
	uint32_t agree = 0;

	memset(out, 0, sizeof(*out));
	for (uint32_t t = 0; t < n; t++) {
		const double *a = ref + (size_t)t * vocab, *b = chip + (size_t)t * vocab;
		const double la = logsumexp(a, vocab), lb = logsumexp(b, vocab);
		uint32_t ia = 0, ib = 0;
		double kl = 0;
		for (uint32_t i = 0; i < vocab; i++) {
			ia = a[i] > a[ia] ? i : ia;
			ib = b[i] > b[ib] ? i : ib;
			const double pa = exp(a[i] - la);
			kl += pa * ((a[i] - la) - (b[i] - lb));
		}
		agree += ia == ib;
		out->kl += (kl > 0 ? kl : 0) / n;
		if (t + 1 < n) {
			out->loss_ref += (la - a[tokens[t + 1]]) / (n - 1);
			out->loss_chip += (lb - b[tokens[t + 1]]) / (n - 1);
		}
	}
	out->top1 = (double)agree / n;
	assert(out->top1 >= 0 && out->top1 <= 1);
}
