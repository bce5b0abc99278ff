/*
 * report.c — tables and JSON for what the coordinator prints.
 */
#include <string.h>

#include "interconnect.h"
#include "chip.h"
#include "report.h"

const char *cim_fmt_count(uint64_t v, char *buf, size_t size)
{
	char digits[32];
	size_t n = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (size_t i = 0; i < n && o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = 0;
	return buf;
}

const char *cim_fmt_si(double v, char *buf, size_t size)
{
	static const char *const unit[] = { "", " k", " M", " B", " T", " P" };
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, "%.3g%s", v, unit[u]);
	return buf;
}

const char *cim_fmt_bytes(double bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (bytes >= 1024 && u < 5) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

static const char *norm_name(enum cim_norm n)
{
	return n == CIM_NORM_RMSNORM ? "RMSNorm" : "LayerNorm";
}

static const char *act_name(enum cim_act a)
{
	return a == CIM_ACT_SILU ? "SiLU" : a == CIM_ACT_RELU ? "ReLU" : "GELU";
}

/* Bytes of n values of bits each, rounded up to whole bytes. */
static uint64_t bytes_of(uint64_t n, uint32_t bits)
{
	return (n * bits + 7) / 8;
}

static const char *pos_name(enum cim_pos p)
{
	return p == CIM_POS_ROPE ? "rotary" : p == CIM_POS_ALIBI ? "ALiBi" : "learned";
}

/* The block's traits beyond the numbers, as one line ("" when none). */
static size_t model_traits(const struct cim_model_spec *m, char *buf, size_t size)
{
	static const char *const norm_words[] = { "pre-attention", "pre-FFN", "post-attention",
						  "post-FFN" };
	size_t n = 0;
	const char *sep = "";

	buf[0] = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n < size)                                                                      \
			n += (size_t)snprintf(buf + n, size - n, "%s", sep);                       \
		if (n < size)                                                                      \
			n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);                     \
		sep = "; ";                                                                        \
	} while (0)
	if (m->parallel_block)
		ADD("attention and FFN in parallel");
	if (m->block_norms != (CIM_NORM_PRE_ATTN | CIM_NORM_PRE_FFN)) {
		ADD("norms");
		for (unsigned i = 0, k = 0; i < 4; i++)
			if (m->block_norms >> i & 1 && n < size)
				n += (size_t)snprintf(buf + n, size - n, "%s%s", k++ ? ", " : " ",
						      norm_words[i]);
	}
	if (m->qk_norm_q)
		ADD("q and k norms");
	if (m->bias_qkv || m->bias_o || m->bias_ffn || m->bias_head)
		ADD("biases on%s%s%s%s", m->bias_qkv ? " q k v" : "", m->bias_o ? " o" : "",
		    m->bias_ffn ? " FFN" : "", m->bias_head ? " LM-head" : "");
	if (m->pos == CIM_POS_ROPE && m->rotary_dim != m->head_dim)
		ADD("rotary on %u of %u channels", m->rotary_dim, m->head_dim);
	if (m->embed_scale)
		ADD("embedding scaled");
	if (m->embed_norm)
		ADD("embedding norm");
	if (m->residual_scale)
		ADD("residuals scaled");
	if (m->attn_softcap > 0)
		ADD("scores capped at %g", m->attn_softcap);
	if (m->logit_scale)
		ADD("logits scaled");
	if (m->logit_softcap > 0)
		ADD("logits capped at %g", m->logit_softcap);
#undef ADD
	return n;
}

void cim_report_model_text(FILE *f, const struct cim_model_report *r)
{
	const struct cim_model_spec *m = r->model;
	struct cim_model_stats s;
	char a[40], b[40];

	cim_model_stats(m, &s);
	fprintf(f, "model %s (%s)\n", m->name, cim_arch_name(m->arch));
	fprintf(f,
		"  layers %u, hidden %u, heads %u, KV heads %u, head dim %u, FFN %u%s,\n"
		"  vocabulary %u, longest context %u, %s, %s, %s positions%s\n",
		m->layers, m->hidden, m->heads, m->kv_heads, m->head_dim, m->ffn,
		m->gated_ffn ? " (gated)" : "", m->vocab, m->max_positions, norm_name(m->norm),
		act_name(m->act), pos_name(m->pos), m->tied_embeddings ? ", tied embeddings" : "");
	if (m->experts > 1) {
		fprintf(f, "  mixture of experts: %u experts per layer, %u per token", m->experts,
			m->experts_per_token);
		if (m->shared_ffn)
			fprintf(f, ", and a shared expert of FFN %u%s", m->shared_ffn,
				m->shared_gate ? " scaled by a sigmoid gate" : "");
		fputc('\n', f);
	}
	if (m->dense_layers)
		fprintf(f, "  the first %u of %u layers dense, FFN %u (no experts)\n",
			m->dense_layers, m->layers, m->dense_ffn);
	if (m->kv_lora)
		fprintf(f,
			"  latent attention: a KV latent of %u and a RoPE key of %u cached a layer "
			"(one KV head), values of %u a head, the query %s\n",
			m->kv_lora, m->rotary_dim, m->v_dim,
			m->q_lora ? "through a latent" : "from the hidden state");
	if (m->sliding_window)
		fprintf(f, "  sliding attention window %u tokens on %u of %u layers\n",
			m->sliding_window, m->local_layers, m->layers);
	char t[512];
	if (model_traits(m, t, sizeof(t)))
		fprintf(f, "  %s\n", t);

	fprintf(f, "\n  %-28s %20s %10s\n", "parameters", cim_fmt_count(s.params, a, sizeof(a)),
		cim_fmt_si((double)s.params, b, sizeof(b)));
	/* always: shown even at 0 (the LM head, tied to the embedding) */
	const struct {
		const char *name;
		uint64_t v;
		bool always;
	} kinds[] = {
		{ "attention", s.params_attention, false },
		{ "FFN", s.params_ffn, false },
		{ "router", s.params_router, false },
		{ "shared expert", s.params_shared, false },
		{ "embeddings", s.params_embedding, false },
		{ "LM head", s.params_lm_head, true },
		{ "norms", s.params_norm, false },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!kinds[i].v && !kinds[i].always)
			continue;
		fprintf(f, "    %-26s %20s %10s%s\n", kinds[i].name,
			cim_fmt_count(kinds[i].v, a, sizeof(a)),
			cim_fmt_si((double)kinds[i].v, b, sizeof(b)),
			!kinds[i].v ? "  (tied to the embedding)" : "");
	}
	fprintf(f, "    %-26s %20s %10s\n", "used per token",
		cim_fmt_count(s.params_active, a, sizeof(a)),
		cim_fmt_si((double)s.params_active, b, sizeof(b)));

	uint64_t wbytes = bytes_of(s.params, r->weight_bits);
	fprintf(f, "\n  %-28s %20s %10s\n", "weight bytes", cim_fmt_count(wbytes, a, sizeof(a)),
		cim_fmt_bytes((double)wbytes, b, sizeof(b)));
	fprintf(f, "    at %u bits per weight\n", r->weight_bits);

	uint64_t dec = cim_model_decode_macs(m, r->context);
	uint64_t pre = cim_model_prefill_macs(m, r->context);
	fprintf(f, "\n  MACs at context %llu\n", (unsigned long long)r->context);
	fprintf(f, "    %-26s %20s %10s\n", "decode, per token", cim_fmt_count(dec, a, sizeof(a)),
		cim_fmt_si((double)dec, b, sizeof(b)));
	fprintf(f, "    %-26s %20s %10s\n", "prefill, whole prompt",
		cim_fmt_count(pre, a, sizeof(a)), cim_fmt_si((double)pre, b, sizeof(b)));
	fprintf(f, "    %-26s %20s %10s\n", "prefill, per token",
		cim_fmt_count(pre / r->context, a, sizeof(a)),
		cim_fmt_si((double)pre / (double)r->context, b, sizeof(b)));

	uint64_t kv = bytes_of(s.kv_elems_per_token, r->kv_bits);
	fprintf(f, "\n  %-28s %20s %10s\n", "KV cache per token", cim_fmt_count(kv, a, sizeof(a)),
		cim_fmt_bytes((double)kv, b, sizeof(b)));
	fprintf(f, "    at %u bits; %s at context %llu\n", r->kv_bits,
		cim_fmt_bytes((double)kv * (double)r->context, b, sizeof(b)),
		(unsigned long long)r->context);
}

void cim_report_model_json(struct json_w *w, const struct cim_model_report *r)
{
	const struct cim_model_spec *m = r->model;
	struct cim_model_stats s;

	cim_model_stats(m, &s);
	json_str(w, "name", m->name);
	json_str(w, "model_type", cim_arch_name(m->arch));
	json_u64(w, "layers", m->layers);
	json_u64(w, "hidden", m->hidden);
	json_u64(w, "heads", m->heads);
	json_u64(w, "kv_heads", m->kv_heads);
	json_u64(w, "head_dim", m->head_dim);
	json_u64(w, "ffn", m->ffn);
	json_u64(w, "vocab", m->vocab);
	json_u64(w, "max_positions", m->max_positions);
	json_u64(w, "experts", m->experts);
	json_u64(w, "experts_per_token", m->experts_per_token);
	json_u64(w, "shared_ffn", m->shared_ffn);
	json_u64(w, "dense_layers", m->dense_layers);
	json_u64(w, "dense_ffn", m->dense_ffn);
	json_u64(w, "kv_lora_rank", m->kv_lora);
	json_u64(w, "q_lora_rank", m->q_lora);
	json_u64(w, "v_head_dim", m->v_dim);
	json_u64(w, "sliding_window", m->sliding_window);
	json_u64(w, "local_layers", m->local_layers);
	json_bool(w, "tied_embeddings", m->tied_embeddings);
	json_str(w, "positions", pos_name(m->pos));
	json_u64(w, "rotary_dim", m->pos == CIM_POS_ROPE ? m->rotary_dim : 0);
	json_bool(w, "parallel_block", m->parallel_block);
	char t[512];
	model_traits(m, t, sizeof(t));
	json_str(w, "traits", t);
	json_obj(w, "params");
	json_u64(w, "total", s.params);
	json_u64(w, "attention", s.params_attention);
	json_u64(w, "ffn", s.params_ffn);
	json_u64(w, "routed_experts", s.params_routed);
	json_u64(w, "router", s.params_router);
	json_u64(w, "shared_expert", s.params_shared);
	json_u64(w, "embedding", s.params_embedding);
	json_u64(w, "lm_head", s.params_lm_head);
	json_u64(w, "norm", s.params_norm);
	json_u64(w, "active_per_token", s.params_active);
	json_obj_end(w);
	json_u64(w, "weight_bits", r->weight_bits);
	json_u64(w, "weight_bytes", bytes_of(s.params, r->weight_bits));
	json_u64(w, "context", r->context);
	json_u64(w, "decode_macs_per_token", cim_model_decode_macs(m, r->context));
	json_u64(w, "prefill_macs", cim_model_prefill_macs(m, r->context));
	json_u64(w, "kv_bits", r->kv_bits);
	json_u64(w, "kv_bytes_per_token", bytes_of(s.kv_elems_per_token, r->kv_bits));
}

void cim_report_chip_line(FILE *f, const struct cim_chip_spec *c)
{
	struct cim_chip_capacity cap;
	struct cim_chip_peak peak;
	char a[40], b[40], bb[40], db[40];

	cim_chip_capacity(c, &cap);
	cim_chip_peak(c, &peak);
	if (c->kind == CIM_CHIP_NEAR_MEMORY)
		fprintf(f, "chip %s: near memory, %u %s cores, blocks of %u×%u,", c->name,
			c->nm.cores, c->nm.shared ? "shared" : "spatial", c->xbar.rows,
			c->xbar.cols);
	else
		fprintf(f, "chip %s: %llu crossbars of %u×%u,", c->name,
			(unsigned long long)cap.crossbars, c->xbar.rows, c->xbar.cols);
	fprintf(f,
		" %s weights (%s at %u bits);\n"
		"  peak %.1f TOPS, %.2f TOPS/W; buffer %s%s%s\n",
		cim_fmt_si((double)cap.weights, a, sizeof(a)),
		cim_fmt_bytes((double)cap.weight_bytes, b, sizeof(b)), c->weight_bits,
		peak.ops_per_s / 1e12, peak.ops_per_j / 1e12,
		cim_fmt_bytes((double)cap.buffer_bytes, bb, sizeof(bb)),
		c->has_dram ? ", DRAM " : "",
		c->has_dram ? cim_fmt_bytes((double)cap.dram_bytes, db, sizeof(db)) : "");
}

void cim_report_chip_json(struct json_w *w, const struct cim_chip_spec *c)
{
	struct cim_chip_capacity cap;
	struct cim_chip_peak peak;

	cim_chip_capacity(c, &cap);
	cim_chip_peak(c, &peak);
	json_str(w, "name", c->name);
	json_u64(w, "crossbars", cap.crossbars);
	json_u64(w, "weights", cap.weights);
	json_u64(w, "weight_bytes", cap.weight_bytes);
	json_u64(w, "buffer_bytes", cap.buffer_bytes);
	json_u64(w, "dram_bytes", cap.dram_bytes);
	json_f64(w, "peak_tops", peak.ops_per_s / 1e12);
	json_f64(w, "peak_tops_per_w", peak.ops_per_j / 1e12);
}

void cim_report_net_line(FILE *f, const struct cim_net_spec *n, uint32_t chips)
{
	const struct cim_net_link_spec *l = &n->level[0].link;

	fprintf(f, "interconnect %s: %s for %u chips; link %.0f GB/s, %.1f ns, %.2f pJ/bit\n",
		n->name, cim_net_topo_name(n->topology), chips, l->bandwidth_bps / 1e9,
		l->latency_ps / 1e3, l->energy_pj_per_bit);
}
