/*
 * gpu.c — the roofline GPU baseline: datasheet figures of A100 and H100
 * servers, the GPU count that holds a model and its KV cache, and the time
 * and energy of prefill and decode when every phase runs at the slower of
 * its tensor-core and HBM limits.
 *
 * Not a GPU simulator: no kernels, no scheduler.  It answers "at best, what
 * would GPUs do with this model and workload?", so that a report can set
 * the CIM system beside it; cim_gpu_calibrated scales the bound by the
 * efficiency measured serving reaches, where a measured run is known.  Equations, sources
 * and what is left out: docs/gpu-baseline.md.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "gpu.h"

/*
 * Datasheet figures, docs/references.md "A100 and H100 datasheets" and
 * "NVLink".  Peak FLOP/s are dense (NVIDIA quotes twice as much
 * "with sparsity").  Capacity: the "80GB" of both parts is 80 GiB of HBM
 * (five 16 GiB stacks; nvidia-smi shows 81920 MiB on A100-SXM4-80GB); the
 * few hundred MiB the driver keeps fall within CIM_GPU_RESERVE_PERCENT.
 * NVLink: NVIDIA's 600 / 900 GB/s count both directions; an all-reduce
 * sends and receives at once, so the per-direction half is what it gets
 * (as configs/interconnects/nvlink-switch.yaml counts it).
 */
static const struct cim_gpu_spec gpu_table[] = {
	{
	    /* NVIDIA A100 datasheet (80GB SXM): 312 TFLOPS bf16, 2,039 GB/s
	     * HBM2e, 400 W, NVLink 3 600 GB/s. */
	    .name = "A100-SXM4-80GB",
	    .peak_flops = 312000000000000ull,
	    .peak_int8 = 624000000000000ull, /* INT8 Tensor Core, dense */
	    .mem_bw = 2039000000000ull,
	    .mem_bytes = 80ull << 30,
	    .link_bw = 300000000000ull,
	    .tdp_w = 400.0,
	    /* lmdeploy v0.1.0a1 on one A100-80G, Llama-2-7B fp16, 128 + 128
	     * tokens (docs/references.md, "lmdeploy benchmark"): measured
	     * over roofline at batch 16, 1272.47 / 1994.8, and 32, 2125.47 /
	     * 3374.1, averaged: 0.6339.  The other ten published points are
	     * held out (tests/coordinator/test_gpu.c). */
	    .served_efficiency = 0.6339,
	    .calibrated_by = "lmdeploy fp16",
	},
	{
	    /* NVIDIA H100 datasheet (SXM5): 989 TFLOPS bf16 dense (1,979
	     * with sparsity), 3.35 TB/s HBM3, 700 W, NVLink 4 900 GB/s. */
	    .name = "H100-SXM5-80GB",
	    .peak_flops = 989000000000000ull,
	    .peak_int8 = 1979000000000000ull, /* INT8 Tensor Core, dense */
	    .mem_bw = 3350000000000ull,
	    .mem_bytes = 80ull << 30,
	    .link_bw = 450000000000ull,
	    .tdp_w = 700.0,
	},
};

size_t cim_gpu_count(void)
{
	return sizeof(gpu_table) / sizeof(gpu_table[0]);
}

const struct cim_gpu_spec *cim_gpu_get(size_t i)
{
	return i < cim_gpu_count() ? &gpu_table[i] : NULL;
}

const struct cim_gpu_precision cim_gpu_fp16 = {
	.weight_bytes = CIM_GPU_BYTES_PER_VALUE,
	.kv_bytes = CIM_GPU_BYTES_PER_VALUE,
	.act_bytes = CIM_GPU_BYTES_PER_VALUE,
	.int8 = false,
};

/* Bytes of a value of bits (at most fp16's two). */
static double value_bytes(uint32_t bits)
{
	return bits >= 16 ? CIM_GPU_BYTES_PER_VALUE : bits / 8.0;
}

struct cim_gpu_precision cim_gpu_precision_of(uint32_t weight_bits, uint32_t kv_bits,
					      uint32_t act_bits)
{
	return (struct cim_gpu_precision){
		.weight_bytes = value_bytes(weight_bits),
		.kv_bytes = value_bytes(kv_bits),
		.act_bytes = value_bytes(act_bits),
		.int8 = weight_bits <= 8 && act_bits <= 8,
	};
}

const char *cim_gpu_bound_name(enum cim_gpu_bound b)
{
	return b == CIM_GPU_COMPUTE ? "compute" : "memory";
}

/* a·b, or UINT64_MAX when it overflows (a capacity check then fails). */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* Positions a token at context c attends, summed over the layers: each
 * layer's sliding window caps it (as cim_model_decode_macs counts), and a
 * rolling KV cache holds no more. */
static uint64_t attended(const struct cim_model_spec *m, uint64_t c)
{
	return cim_model_kv_positions(m, 0, m->layers, c);
}

/* What the phases share about the model, counted once. */
struct shape {
	uint64_t params;     /* all parameters */
	uint64_t params_ffn; /* the routed experts' FFN parameters */
	double kv_token;     /* KV bytes of one token in one layer */
	uint64_t w_macs;     /* weight MACs of one token */
	uint64_t a_macs;     /* attention MACs per attended position of a layer */
};

static void shape_of(const struct cim_model_spec *m, const struct cim_gpu_precision *pr,
		     struct shape *s)
{
	struct cim_model_stats st;

	cim_model_stats(m, &st);
	s->params = st.params;
	s->params_ffn = st.params_routed;
	s->kv_token = (double)(st.kv_elems_per_token / m->layers) * pr->kv_bytes;
	/* decode MACs at context c are W + A·attended(c) (docs/model.md); at
	 * c = 1 every layer attends one position */
	s->w_macs = cim_model_decode_macs(m, 0);
	s->a_macs = (cim_model_decode_macs(m, 1) - s->w_macs) / m->layers;
}

/*
 * Weight bytes a step that processes `tokens` tokens reads from HBM: every
 * parameter once, as the published ceiling counts it, except the experts
 * no token is routed to.  With uniform routing of k of E experts, a layer's
 * expert is touched by at least one of t tokens with probability
 * 1 − (1 − k/E)^t.
 */
static double weight_read(const struct cim_model_spec *m, const struct shape *s, double tokens,
			  const struct cim_gpu_precision *pr)
{
	double all = (double)s->params * pr->weight_bytes;

	if (m->experts <= 1)
		return all;
	double miss = 1.0 - (double)m->experts_per_token / m->experts;
	double touched = 1.0 - pow(miss, tokens);
	return all - (double)s->params_ffn * pr->weight_bytes * (1.0 - touched);
}

/* Ring all-reduce of `bytes` over n GPUs: each sends and receives
 * 2(n−1)/n of the message at the per-direction link bandwidth. */
static double allreduce_s(const struct cim_gpu_spec *g, uint32_t n, double bytes)
{
	if (n <= 1)
		return 0.0;
	return 2.0 * (n - 1) / n * bytes / (double)g->link_bw;
}

/* Fills the memory members of out for n GPUs (n may be 0). */
static void fill_memory(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			const struct cim_workload_spec *w, const struct shape *s, uint32_t n,
			const struct cim_gpu_precision *pr, struct cim_gpu_result *out)
{
	uint64_t ctx = attended(m, (uint64_t)w->prompt_tokens + w->generate_tokens);
	uint64_t per_gpu = g->mem_bytes * (100 - CIM_GPU_RESERVE_PERCENT) / 100;

	const double wb = ceil((double)s->params * pr->weight_bytes);
	const double kb = ceil((double)w->batch * (double)ctx * s->kv_token);
	out->weight_bytes = wb < 1.8e19 ? (uint64_t)wb : UINT64_MAX;
	out->kv_bytes = kb < 1.8e19 ? (uint64_t)kb : UINT64_MAX;
	out->need_bytes = out->weight_bytes > UINT64_MAX - out->kv_bytes
			      ? UINT64_MAX
			      : out->weight_bytes + out->kv_bytes;
	out->usable_bytes = mul_sat(n, per_gpu);
	out->fits = n > 0 && out->need_bytes <= out->usable_bytes;
}

uint32_t cim_gpu_needed(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			const struct cim_workload_spec *w)
{
	return cim_gpu_needed_at(g, m, w, &cim_gpu_fp16);
}

uint32_t cim_gpu_needed_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			   const struct cim_workload_spec *w, const struct cim_gpu_precision *pr)
{
	struct shape s;
	struct cim_gpu_result r;

	shape_of(m, pr, &s);
	for (uint32_t n = 1; n <= CIM_GPU_MAX_PER_NODE; n *= 2) {
		fill_memory(g, m, w, &s, n, pr, &r);
		if (r.fits)
			return n;
	}
	return 0;
}

void cim_gpu_estimate_on(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			 const struct cim_workload_spec *w, uint32_t gpus,
			 struct cim_gpu_result *out)
{
	cim_gpu_estimate_on_at(g, m, w, gpus, &cim_gpu_fp16, out);
}

void cim_gpu_estimate_on_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			    const struct cim_workload_spec *w, uint32_t gpus,
			    const struct cim_gpu_precision *pr, struct cim_gpu_result *out)
{
	struct cim_gpu_result r;
	struct shape s;
	double n = gpus, b = w->batch, p = w->prompt_tokens;
	double peak, bw, act, t_c, t_m, ar;
	double sum_c = 0.0, sum_m = 0.0;

	assert(gpus >= 1);
	memset(&r, 0, sizeof(r));
	shape_of(m, pr, &s);
	fill_memory(g, m, w, &s, gpus, pr, &r);
	r.gpus = gpus;
	peak = n * (double)(pr->int8 ? g->peak_int8 : g->peak_flops);
	bw = n * (double)g->mem_bw;
	/* Tensor parallel (Megatron): two all-reduces of the activations per
	 * layer, after attention's o_proj and after the FFN's down projection;
	 * one for a parallel block, whose branches sum before it. */
	act = (double)m->hidden * pr->act_bytes;
	const double reduces = m->parallel_block ? 1.0 : 2.0;

	/* Prefill: the whole batch's prompts at once, weights read once, every
	 * prompt token's K and V written; it yields the first generated token. */
	t_c = 2.0 * b * (double)cim_model_prefill_macs(m, w->prompt_tokens) / peak;
	t_m = (weight_read(m, &s, b * p, pr) + b * p * ((double)m->layers * s.kv_token)) / bw;
	ar = reduces * m->layers * allreduce_s(g, gpus, b * p * act);
	r.prefill_s = fmax(t_c, t_m) + ar;
	r.allreduce_s = ar;
	r.prefill_bound = t_c > t_m ? CIM_GPU_COMPUTE : CIM_GPU_MEMORY;

	/* Decode step j = 1 … G−1 feeds generated token j, at position P + j,
	 * which attends P + j positions (P + j − 1 cached and its own): the
	 * same K and V bytes are read (and its own written). */
	double w_step = weight_read(m, &s, b, pr);
	double ar_step = reduces * m->layers * allreduce_s(g, gpus, b * act);
	for (uint32_t j = 1; j < w->generate_tokens; j++) {
		double a = (double)attended(m, (uint64_t)w->prompt_tokens + j);
		t_c = 2.0 * b * ((double)s.w_macs + (double)s.a_macs * a) / peak;
		t_m = (w_step + b * a * s.kv_token) / bw;
		sum_c += t_c;
		sum_m += t_m;
		r.decode_s += fmax(t_c, t_m) + ar_step;
		r.allreduce_s += ar_step;
	}
	r.bound = w->generate_tokens > 1 ? (sum_c > sum_m ? CIM_GPU_COMPUTE : CIM_GPU_MEMORY)
					 : r.prefill_bound;

	r.makespan_s = r.prefill_s + r.decode_s;
	r.ttft_s = r.prefill_s;
	r.tpot_s = w->generate_tokens > 1 ? r.decode_s / (w->generate_tokens - 1) : 0.0;
	double generated = b * w->generate_tokens;
	r.generated_tokens_per_s = generated / r.makespan_s;
	r.energy_j = n * g->tdp_w * r.makespan_s;
	r.energy_per_generated_token_j = generated > 0 ? r.energy_j / generated : 0.0;
	*out = r;
}

bool cim_gpu_calibrated(const struct cim_gpu_spec *g, const struct cim_gpu_result *roof,
			struct cim_gpu_result *out)
{
	const double eta = g->served_efficiency;

	if (!(eta > 0 && eta <= 1))
		return false;
	struct cim_gpu_result r = *roof;
	r.prefill_s /= eta;
	r.decode_s /= eta;
	r.allreduce_s /= eta;
	r.makespan_s /= eta;
	r.ttft_s /= eta;
	r.tpot_s /= eta;
	r.generated_tokens_per_s *= eta;
	r.energy_j /= eta;
	r.energy_per_generated_token_j /= eta;
	*out = r;
	return true;
}

void cim_gpu_estimate(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
		      const struct cim_workload_spec *w, struct cim_gpu_result *out)
{
	cim_gpu_estimate_at(g, m, w, &cim_gpu_fp16, out);
}

void cim_gpu_estimate_at(const struct cim_gpu_spec *g, const struct cim_model_spec *m,
			 const struct cim_workload_spec *w, const struct cim_gpu_precision *pr,
			 struct cim_gpu_result *out)
{
	uint32_t n = cim_gpu_needed_at(g, m, w, pr);
	struct cim_gpu_result r;
	struct shape s;

	if (n > 0) {
		cim_gpu_estimate_on_at(g, m, w, n, pr, out);
		return;
	}
	memset(&r, 0, sizeof(r));
	shape_of(m, pr, &s);
	fill_memory(g, m, w, &s, CIM_GPU_MAX_PER_NODE, pr, &r);
	r.gpus = 0;
	r.fits = false;
	*out = r;
}
