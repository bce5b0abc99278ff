#!/usr/bin/env python3
"""Writes the tiny Llama of the functional-forward tests and its logits.

config.json and model.safetensors (F32): a Llama of 2 layers, width 32,
4 query heads and 2 key/value heads of 8, SwiGLU of 48, a vocabulary of
40, untied head, weights N(0, 0.2) from Python's seeded generator, rounded
to float32.  logits.txt: the logits of every position of the token ids in
tokens.txt, by the forward pass below, written independently of cimsim in
plain Python (double precision, on the float32-rounded weights), as
Hugging Face's LlamaForCausalLM computes it: RMSNorm, RoPE with
rotate_half, grouped-query causal attention, SwiGLU.  Run from this
folder: python3 make.py
"""
import json
import math
import random
import struct

D, H, KV, HD, F, L, V = 32, 4, 2, 8, 48, 2, 40
EPS, THETA = 1e-5, 10000.0
TOKENS = [3, 17, 0, 39, 22, 5]

rng = random.Random(20261202)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def mat(rows, cols, sd=0.2):
    return [[f32(rng.gauss(0, sd)) for _ in range(cols)] for _ in range(rows)]


def vec(n, mean=1.0, sd=0.1):
    return [f32(mean + rng.gauss(0, sd)) for _ in range(n)]


W = {"model.embed_tokens.weight": mat(V, D, 1.0)}
for i in range(L):
    p = "model.layers.%d." % i
    W[p + "input_layernorm.weight"] = vec(D)
    W[p + "self_attn.q_proj.weight"] = mat(H * HD, D)
    W[p + "self_attn.k_proj.weight"] = mat(KV * HD, D)
    W[p + "self_attn.v_proj.weight"] = mat(KV * HD, D)
    W[p + "self_attn.o_proj.weight"] = mat(D, H * HD)
    W[p + "post_attention_layernorm.weight"] = vec(D)
    W[p + "mlp.gate_proj.weight"] = mat(F, D)
    W[p + "mlp.up_proj.weight"] = mat(F, D)
    W[p + "mlp.down_proj.weight"] = mat(D, F)
W["model.norm.weight"] = vec(D)
W["lm_head.weight"] = mat(V, D)

header, blob = {}, b""
for name, t in W.items():
    flat = [x for row in t for x in row] if isinstance(t[0], list) else t
    shape = [len(t), len(t[0])] if isinstance(t[0], list) else [len(t)]
    header[name] = {"dtype": "F32", "shape": shape,
                    "data_offsets": [len(blob), len(blob) + 4 * len(flat)]}
    blob += struct.pack("<%df" % len(flat), *flat)
h = json.dumps(header).encode()
with open("model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + blob)
with open("config.json", "w") as f:
    json.dump({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
               "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
               "num_key_value_heads": KV, "head_dim": HD, "intermediate_size": F,
               "vocab_size": V, "max_position_embeddings": 64, "rms_norm_eps": EPS,
               "rope_theta": THETA, "hidden_act": "silu", "tie_word_embeddings": False},
              f, indent=2)
with open("tokens.txt", "w") as f:
    f.write(" ".join(map(str, TOKENS)) + "\n")


def rms(x, w):
    s = 1 / math.sqrt(sum(v * v for v in x) / len(x) + EPS)
    return [v * s * g for v, g in zip(x, w)]


def lin(w, x):
    return [sum(a * b for a, b in zip(row, x)) for row in w]


def rope(x, pos):
    half = HD // 2
    out = []
    for h0 in range(0, len(x), HD):
        q = x[h0:h0 + HD]
        r = []
        for j in range(HD):
            f = THETA ** (-2 * (j % half) / HD)
            c, s = math.cos(pos * f), math.sin(pos * f)
            r.append(q[j] * c + (-q[j + half] if j < half else q[j - half]) * s)
        out += r
    return out


hs = [list(W["model.embed_tokens.weight"][t]) for t in TOKENS]
n = len(TOKENS)
for i in range(L):
    p = "model.layers.%d." % i
    a = [rms(x, W[p + "input_layernorm.weight"]) for x in hs]
    q = [rope(lin(W[p + "self_attn.q_proj.weight"], x), t) for t, x in enumerate(a)]
    k = [rope(lin(W[p + "self_attn.k_proj.weight"], x), t) for t, x in enumerate(a)]
    v = [lin(W[p + "self_attn.v_proj.weight"], x) for x in a]
    att = []
    for t in range(n):
        o = []
        for hh in range(H):
            g = hh // (H // KV)
            qs = q[t][hh * HD:(hh + 1) * HD]
            sc = [sum(a_ * b_ for a_, b_ in zip(qs, k[u][g * HD:(g + 1) * HD])) / math.sqrt(HD)
                  for u in range(t + 1)]
            m = max(sc)
            e = [math.exp(s - m) for s in sc]
            z = sum(e)
            o += [sum(e[u] / z * v[u][g * HD + j] for u in range(t + 1)) for j in range(HD)]
        att.append(o)
    hs = [[x + y for x, y in zip(hs[t], lin(W[p + "self_attn.o_proj.weight"], att[t]))]
          for t in range(n)]
    b = [rms(x, W[p + "post_attention_layernorm.weight"]) for x in hs]
    for t in range(n):
        g = lin(W[p + "mlp.gate_proj.weight"], b[t])
        u = lin(W[p + "mlp.up_proj.weight"], b[t])
        m = [gg / (1 + math.exp(-gg)) * uu for gg, uu in zip(g, u)]
        hs[t] = [x + y for x, y in zip(hs[t], lin(W[p + "mlp.down_proj.weight"], m))]
logits = [lin(W["lm_head.weight"], rms(x, W["model.norm.weight"])) for x in hs]
with open("logits.txt", "w") as f:
    for row in logits:
        f.write(" ".join("%.17g" % x for x in row) + "\n")
