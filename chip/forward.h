/*
 * forward.h — the forward pass of a whole decoder in the functional mode:
 * every weight matrix (q, k, v, o, gate, up, down, the LM head) through
 * the chip's crossbar pipeline (accuracy.h), the rest (norms, RoPE,
 * attention, SiLU) in double precision as the digital units compute it,
 * against the same pass in double precision throughout: the logits'
 * top-1 agreement, KL divergence and the loss on the next tokens
 * (docs/accuracy.md).  Llama-family models (RMSNorm, RoPE over the whole
 * head, grouped-query attention, SwiGLU, optional q/k/v biases, tied or
 * untied head) with weights named as Hugging Face's LlamaForCausalLM names
 * them.
 */
#ifndef CIM_CHIP_FORWARD_H
#define CIM_CHIP_FORWARD_H

#include <stdint.h>

#include "safetensors.h"
#include "spec.h"

struct cim_fwd_opts {
	const struct cim_chip_spec *chip; /* NULL: the double-precision reference */
	uint32_t tp;			  /* tensor-parallel width: o_proj's and
					     down_proj's inputs split in tp parts,
					     each chip's partial sum quantized to
					     act_bits before they are added */
	uint32_t act_bits;		  /* of the partial sums sent (workload.act_bits) */
	uint64_t seed;			  /* the cells' draws */
};

/*
 * The logits (n × vocab) of every position of tokens[0..n) under model m
 * with the weights of st.  Returns 0, or −1 with err set (a model this pass
 * does not read, a tensor missing or of the wrong shape, a token id out of
 * the vocabulary).
 */
int cim_fwd_logits(const struct cim_model_spec *m, const struct cim_st_file *st,
		   const uint32_t *tokens, uint32_t n, const struct cim_fwd_opts *o, double *logits,
		   struct cim_err *err);

struct cim_fwd_cmp {
	double top1;	  /* share of positions whose argmax agrees, in [0, 1] */
	double kl;	  /* mean KL(p_ref ‖ p_chip) over positions, nats */
	double loss_ref;  /* mean cross-entropy of the next token, nats */
	double loss_chip; /* the same under the chip's logits */
};

void cim_fwd_compare(const double *ref, const double *chip, uint32_t n, uint32_t vocab,
		     const uint32_t *tokens, struct cim_fwd_cmp *out);

#endif /* CIM_CHIP_FORWARD_H */
