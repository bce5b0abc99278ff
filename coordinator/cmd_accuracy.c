/*
 * cmd_accuracy.c — `cimsim accuracy CHIP`: a model's weight matrices (from
 * a safetensors file) or a synthetic one run through the chip's crossbar
 * pipeline, functional, against the exact product: per matrix the
 * relative error of quantization alone and of the chip, its SNR and the
 * cosine similarity (docs/accuracy.md).  Pure: no MPI.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"
#include "cli.h"
#include "forward.h"
#include "json.h"
#include "safetensors.h"

static const char accuracy_usage[] =
    "usage: cimsim accuracy CHIP (--weights FILE.safetensors [--tensor NAME]... |\n"
    "                             --synthetic N K) [--vectors V] [--inputs gaussian|uniform]\n"
    "                             [--seed S] [--json]\n"
    "       cimsim accuracy CHIP ... --inputs FILE.safetensors [--input-tensor NAME]\n"
    "       cimsim accuracy CHIP --model CONFIG --weights FILE.safetensors --tokens \"ID ...\"\n"
    "                             [--tp N] [--act-bits B] [--seed S] [--json]\n\n"
    "Runs weight matrices through the chip's crossbar pipeline number by number\n"
    "(input and weight slices, converters, the cells' noise of its noise part) and\n"
    "compares the products with the exact ones, for V input vectors (default 4)\n"
    "drawn from the stated distribution (default gaussian: N(0, 1)) with seed S,\n"
    "or the activations of a safetensors file: a tensor [..., K] (NAME, or the\n"
    "file's only one), every leading index a vector of K inputs.\n"
    "Weights: every 2-D tensor of a Hugging Face safetensors file (embeddings, which\n"
    "are looked up, not multiplied, are skipped) or those named with --tensor; or\n"
    "one N x K matrix of N(0, 1) weights.  Per matrix: the relative error of the\n"
    "weights' and inputs' quantization alone, and through the chip, the chip's SNR\n"
    "and its outputs' cosine similarity with the exact ones.\n"
    "With --model (a Llama-family config.json): the forward pass of the whole\n"
    "decoder over the token ids, its matrices through the chip (o_proj and\n"
    "down_proj split over N chips whose partial sums are sent at B bits, default\n"
    "8), against the same pass in double precision: top-1 agreement of the\n"
    "logits, KL divergence, and the loss on the next tokens.  docs/accuracy.md.\n";

#define MAX_TENSORS 64

struct opts {
	const char *chip, *weights, *model, *tokens;
	const char *inputs_file, *input_tensor; /* activations from a file */
	double *file_x;				/* its vectors × file_k values */
	uint64_t file_k;
	bool vectors_given;
	const char *tensors[MAX_TENSORS];
	uint32_t ntensors;
	unsigned long long n, k, vectors, seed, tp, act_bits;
	bool synthetic, uniform, json;
};

static int parse(int argc, char **argv, struct opts *o)
{
	o->vectors = 4;
	o->seed = 1;
	o->tp = 1;
	o->act_bits = 8;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const bool more = i + 1 < argc;
		if (cim_cli_is_help(a)) {
			fputs(accuracy_usage, stdout);
			return 1;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--weights") == 0 && more) {
			o->weights = argv[++i];
		} else if (strcmp(a, "--tensor") == 0 && more) {
			if (o->ntensors == MAX_TENSORS) {
				cim_cli_error("accuracy: at most %d --tensor", MAX_TENSORS);
				return -1;
			}
			o->tensors[o->ntensors++] = argv[++i];
		} else if (strcmp(a, "--synthetic") == 0 && i + 2 < argc) {
			if (cim_cli_u64("--synthetic N", argv[i + 1], 1, 1u << 16, &o->n) ||
			    cim_cli_u64("--synthetic K", argv[i + 2], 1, 1u << 16, &o->k))
				return -1;
			o->synthetic = true;
			i += 2;
		} else if (strcmp(a, "--model") == 0 && more) {
			o->model = argv[++i];
		} else if (strcmp(a, "--tokens") == 0 && more) {
			o->tokens = argv[++i];
		} else if (strcmp(a, "--tp") == 0 && more) {
			if (cim_cli_u64("--tp", argv[++i], 1, 1024, &o->tp))
				return -1;
		} else if (strcmp(a, "--act-bits") == 0 && more) {
			if (cim_cli_u64("--act-bits", argv[++i], 2, 32, &o->act_bits))
				return -1;
		} else if (strcmp(a, "--vectors") == 0 && more) {
			if (cim_cli_u64("--vectors", argv[++i], 1, 4096, &o->vectors))
				return -1;
			o->vectors_given = true;
		} else if (strcmp(a, "--seed") == 0 && more) {
			if (cim_cli_u64("--seed", argv[++i], 0, UINT64_MAX, &o->seed))
				return -1;
		} else if (strcmp(a, "--inputs") == 0 && more) {
			const char *d = argv[++i];
			size_t dl = strlen(d);
			if (dl > 12 && strcmp(d + dl - 12, ".safetensors") == 0) {
				o->inputs_file = d;
			} else if (strcmp(d, "gaussian") != 0 && strcmp(d, "uniform") != 0) {
				cim_cli_error(
				    "accuracy: --inputs %s: expected gaussian, uniform or "
				    "a FILE.safetensors of activations",
				    d);
				return -1;
			}
			o->uniform = strcmp(d, "uniform") == 0;
		} else if (strcmp(a, "--input-tensor") == 0 && more) {
			o->input_tensor = argv[++i];
		} else if (a[0] == '-' || o->chip) {
			cim_cli_error("accuracy: unexpected argument '%s'\n%s", a, accuracy_usage);
			return -1;
		} else {
			o->chip = a;
		}
	}
	if (!o->chip) {
		cim_cli_error("accuracy: no CHIP given\n%s", accuracy_usage);
		return -1;
	}
	if (!o->weights == !o->synthetic) {
		cim_cli_error("accuracy: give --weights FILE.safetensors or --synthetic N K "
			      "(one of them)");
		return -1;
	}
	if (o->model && (!o->weights || !o->tokens || o->ntensors)) {
		cim_cli_error("accuracy: --model needs --weights FILE.safetensors and --tokens "
			      "\"ID ...\" (and no --tensor)");
		return -1;
	}
	if (!o->model && (o->tokens || o->tp != 1)) {
		cim_cli_error("accuracy: --tokens and --tp apply to a --model's forward pass");
		return -1;
	}
	if (o->ntensors && !o->weights) {
		cim_cli_error("accuracy: --tensor names a tensor of --weights");
		return -1;
	}
	if (o->input_tensor && !o->inputs_file) {
		cim_cli_error(
		    "accuracy: --input-tensor names a tensor of --inputs FILE.safetensors");
		return -1;
	}
	if (o->inputs_file && (o->vectors_given || o->model)) {
		cim_cli_error("accuracy: --inputs %s gives the vectors: no --vectors, and not with "
			      "--model",
			      o->inputs_file);
		return -1;
	}
	return 0;
}

/* Embeddings are looked up, not multiplied. */
static bool is_embedding(const char *name)
{
	return strstr(name, "embed") || strstr(name, "wte.") || strstr(name, "wpe.");
}

struct row {
	char name[256];
	uint32_t n, k;
	struct cim_acc_matrix m;
};

static void print_rows(const struct opts *o, const struct cim_chip_spec *c, const struct row *rows,
		       uint32_t nrows, uint32_t skipped)
{
	if (o->json) {
		struct json_w w;
		json_begin(&w, stdout);
		json_str(&w, "chip", c->name);
		json_u64(&w, "vectors", o->vectors);
		json_str(&w, "inputs",
			 o->inputs_file ? o->inputs_file
			 : o->uniform	? "uniform"
					: "gaussian");
		json_u64(&w, "seed", o->seed);
		json_arr(&w, "matrices");
		for (uint32_t i = 0; i < nrows; i++) {
			json_obj(&w, NULL);
			json_str(&w, "name", rows[i].name);
			json_u64(&w, "outputs", rows[i].n);
			json_u64(&w, "inputs", rows[i].k);
			json_u64(&w, "crossbars", rows[i].m.crossbars);
			json_f64(&w, "relative_error_quantization", rows[i].m.rel_err_quant);
			json_f64(&w, "relative_error", rows[i].m.rel_err);
			if (isfinite(rows[i].m.snr_db))
				json_f64(&w, "snr_db", rows[i].m.snr_db);
			json_f64(&w, "cosine", rows[i].m.cosine);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_u64(&w, "skipped", skipped);
		json_end(&w);
		return;
	}
	printf(
	    "accuracy of %s: %u-bit weights, %u-bit inputs, %llu %s input vector%s (seed %llu)\n\n",
	    c->name, c->weight_bits, c->input_bits, o->vectors,
	    o->inputs_file ? o->inputs_file
	    : o->uniform   ? "uniform"
			   : "N(0, 1)",
	    o->vectors == 1 ? "" : "s", o->seed);
	printf("  %-44s %12s %9s %13s %11s %9s %10s\n", "matrix", "outputs×in", "crossbars",
	       "quantization", "chip", "SNR dB", "cosine");
	for (uint32_t i = 0; i < nrows; i++) {
		char shape[32];
		snprintf(shape, sizeof(shape), "%u×%u", rows[i].n, rows[i].k);
		printf("  %-44.44s %12s %9u %12.4g%% %10.4g%% %9.4g %10.6f\n", rows[i].name, shape,
		       rows[i].m.crossbars, 100 * rows[i].m.rel_err_quant, 100 * rows[i].m.rel_err,
		       rows[i].m.snr_db, rows[i].m.cosine);
	}
	if (skipped)
		printf(
		    "\n  %u tensor%s skipped: not 2-D, or embeddings (looked up, not multiplied)\n",
		    skipped, skipped == 1 ? "" : "s");
}

/*
 * Activations from --inputs FILE.safetensors: the tensor --input-tensor
 * names, or the file's only one, of shape [..., K]: every leading index is
 * a vector of K values.
 */
static int load_inputs(struct opts *o, struct cim_err *err)
{
	struct cim_st_file *st;
	const struct cim_st_tensor *t;

	if (cim_st_open(o->inputs_file, &st, err))
		return -1;
	if (o->input_tensor)
		t = cim_st_find(st, o->input_tensor);
	else
		t = st->n == 1 ? &st->t[0] : NULL;
	if (!t || t->ndim < 1 || t->shape[t->ndim - 1] == 0 ||
	    t->elems / t->shape[t->ndim - 1] > 4096) {
		cim_err_set(err,
			    "%s: %s; give --input-tensor NAME of a tensor [..., K] of at most "
			    "4096 vectors",
			    o->inputs_file,
			    !t ? (o->input_tensor ? "no tensor of that name"
						  : "it holds more than one tensor")
			       : "too many vectors or no values");
		cim_st_close(st);
		return -1;
	}
	o->file_k = t->shape[t->ndim - 1];
	o->vectors = t->elems / o->file_k;
	o->file_x = malloc((size_t)t->elems * sizeof(*o->file_x));
	int rc = o->file_x ? cim_st_read(st, t, o->file_x, err)
			   : cim_err_set(err, "%s: out of memory", o->inputs_file);
	cim_st_close(st);
	return rc;
}

/* The input vectors: v × k from the file, or from the stated distribution. */
static double *inputs(const struct opts *o, uint32_t k)
{
	double *x = malloc((size_t)o->vectors * k * sizeof(*x));
	struct cim_rng rng;

	if (!x)
		return NULL;
	if (o->file_x) {
		memcpy(x, o->file_x, (size_t)o->vectors * k * sizeof(*x));
		return x;
	}
	cim_rng_seed(&rng, o->seed, 3);
	for (size_t i = 0; i < (size_t)o->vectors * k; i++)
		x[i] = o->uniform ? 2 * cim_rng_unit(&rng) - 1 : cim_rng_normal(&rng);
	return x;
}

static int one(const struct opts *o, const struct cim_chip_spec *c, const char *name, uint32_t n,
	       uint32_t k, const double *w, struct row *out, struct cim_err *err)
{
	if (o->file_x && o->file_k != k)
		return cim_err_set(err,
				   "%s: the activations have %llu values a vector, but %s takes "
				   "%u inputs",
				   o->inputs_file, (unsigned long long)o->file_k, name, k);
	double *x = inputs(o, k);

	if (!x)
		return cim_err_set(err, "out of memory for the inputs");
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->n = n;
	out->k = k;
	int rc = cim_acc_matrix(c, n, k, w, (uint32_t)o->vectors, x, o->seed, &out->m, err);
	free(x);
	return rc;
}

/* The whole decoder, through the chip and in double precision. */
static int model_pass(const struct opts *o, const struct cim_chip_spec *c)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_model_spec m;
	struct cim_err err;
	struct cim_st_file *st = NULL;
	uint32_t *tok = malloc((strlen(o->tokens) / 2 + 2) * sizeof(*tok)), n = 0;
	double *ref = NULL, *chip = NULL;
	int rc = CIM_EXIT_INPUT;

	if (!tok)
		goto out;
	for (const char *p = o->tokens; *p;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v > UINT32_MAX) {
			cim_cli_error(
			    "accuracy: --tokens \"%s\": expected token ids (whole numbers) "
			    "separated by spaces",
			    o->tokens);
			goto out;
		}
		tok[n++] = (uint32_t)v;
		p = end + strspn(end, " ,\t");
	}
	if (!n) {
		cim_cli_error("accuracy: --tokens gives no token id");
		goto out;
	}
	if (cim_spec_load_model(files, o->model, &m, &err) || cim_st_open(o->weights, &st, &err)) {
		cim_cli_error("%s", err.msg);
		goto out;
	}
	ref = malloc((size_t)n * m.vocab * sizeof(*ref));
	chip = malloc((size_t)n * m.vocab * sizeof(*chip));
	if (!ref || !chip) {
		cim_cli_error("accuracy: out of memory for %u × %u logits", n, m.vocab);
		goto out;
	}
	const struct cim_fwd_opts exact = { 0 }, on = {
		.chip = c, .tp = (uint32_t)o->tp, .act_bits = (uint32_t)o->act_bits, .seed = o->seed
	};
	if (cim_fwd_logits(&m, st, tok, n, &exact, ref, &err) ||
	    cim_fwd_logits(&m, st, tok, n, &on, chip, &err)) {
		cim_cli_error("accuracy: %s", err.msg);
		goto out;
	}
	struct cim_fwd_cmp cmp;
	cim_fwd_compare(ref, chip, n, m.vocab, tok, &cmp);
	if (o->json) {
		struct json_w w;
		json_begin(&w, stdout);
		json_str(&w, "chip", c->name);
		json_str(&w, "model", m.name);
		json_u64(&w, "tokens", n);
		json_u64(&w, "tp", o->tp);
		json_u64(&w, "act_bits", o->act_bits);
		json_u64(&w, "seed", o->seed);
		json_f64(&w, "top1_agreement", cmp.top1);
		json_f64(&w, "kl_nats", cmp.kl);
		if (n > 1) {
			json_f64(&w, "loss_reference_nats", cmp.loss_ref);
			json_f64(&w, "loss_chip_nats", cmp.loss_chip);
		}
		json_end(&w);
	} else {
		printf("forward pass of %s on %s (tp %llu, partial sums at %llu bits, seed %llu), "
		       "%u tokens:\n",
		       m.name, c->name, o->tp, o->act_bits, o->seed, n);
		printf("  top-1 agreement   %.4g (%u of %u positions)\n", cmp.top1,
		       (uint32_t)llround(cmp.top1 * n), n);
		printf("  KL divergence     %.4g nats per position (reference ‖ chip)\n", cmp.kl);
		if (n > 1)
			printf("  loss              %.6g nats per token, against %.6g in double "
			       "precision\n",
			       cmp.loss_chip, cmp.loss_ref);
	}
	rc = 0;
out:
	cim_files_destroy(files);
	cim_st_close(st);
	free(tok);
	free(ref);
	free(chip);
	return rc;
}

int cim_cmd_accuracy(int argc, char **argv)
{
	struct opts o = { 0 };
	struct cim_files *files;
	struct cim_chip_spec c;
	struct cim_err err;
	struct cim_st_file *st = NULL;
	struct row *rows = NULL;
	uint32_t nrows = 0, skipped = 0;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc > 0 ? 0 : CIM_EXIT_INPUT;
	files = cim_files_create(true);
	rc = cim_spec_load_chip(files, o.chip, &c, &err);
	cim_files_destroy(files);
	if (rc) {
		cim_cli_error("%s", err.msg);
		return CIM_EXIT_INPUT;
	}
	if (o.model)
		return model_pass(&o, &c);
	if (o.inputs_file && load_inputs(&o, &err)) {
		cim_cli_error("accuracy: %s", err.msg);
		return CIM_EXIT_INPUT;
	}
	if (o.synthetic) {
		double *w = malloc((size_t)o.n * o.k * sizeof(*w));
		struct cim_rng rng;
		rows = calloc(1, sizeof(*rows));
		if (!w || !rows) {
			free(w);
			free(rows);
			cim_cli_error("accuracy: out of memory for a %llu × %llu matrix", o.n, o.k);
			return 1;
		}
		cim_rng_seed(&rng, o.seed, 4);
		for (size_t i = 0; i < (size_t)o.n * o.k; i++)
			w[i] = cim_rng_normal(&rng);
		char name[64];
		snprintf(name, sizeof(name), "synthetic N(0, 1)");
		rc = one(&o, &c, name, (uint32_t)o.n, (uint32_t)o.k, w, &rows[0], &err);
		free(w);
		nrows = 1;
	} else {
		if (cim_st_open(o.weights, &st, &err)) {
			cim_cli_error("%s", err.msg);
			return CIM_EXIT_INPUT;
		}
		for (uint32_t i = 0; i < o.ntensors; i++) {
			const struct cim_st_tensor *t = cim_st_find(st, o.tensors[i]);
			if (!t || t->ndim != 2) {
				cim_cli_error("accuracy: %s: %s '%s'%s", o.weights,
					      t ? "tensor" : "no tensor", o.tensors[i],
					      t ? " is not 2-D (a weight matrix)" : "");
				cim_st_close(st);
				return CIM_EXIT_INPUT;
			}
		}
		rows = calloc(st->n ? st->n : 1, sizeof(*rows));
		rc = rows ? 0 : -1;
		if (!rows)
			cim_err_set(&err, "out of memory");
		for (uint32_t i = 0; !rc && i < st->n; i++) {
			const struct cim_st_tensor *t = &st->t[i];
			bool want = o.ntensors == 0;
			for (uint32_t j = 0; j < o.ntensors; j++)
				want |= strcmp(o.tensors[j], t->name) == 0;
			if (!want)
				continue;
			if (t->ndim != 2 || (o.ntensors == 0 && is_embedding(t->name)) ||
			    t->shape[0] > UINT32_MAX || t->shape[1] > UINT32_MAX) {
				skipped++;
				continue;
			}
			double *w = malloc((size_t)t->elems * sizeof(*w));
			if (!w) {
				rc = cim_err_set(&err, "%s: out of memory for tensor '%s'",
						 o.weights, t->name);
				break;
			}
			rc = cim_st_read(st, t, w, &err);
			if (!rc)
				rc = one(&o, &c, t->name, (uint32_t)t->shape[0],
					 (uint32_t)t->shape[1], w, &rows[nrows++], &err);
			free(w);
		}
		cim_st_close(st);
	}
	if (rc) {
		cim_cli_error("accuracy: %s", err.msg);
		free(rows);
		free(o.file_x);
		return CIM_EXIT_INPUT;
	}
	print_rows(&o, &c, rows, nrows, skipped);
	free(rows);
	free(o.file_x);
	return 0;
}
