/*
 * cmd_model.c — `cimsim model FILE`: what a model is, from its operators.
 *
 * Every number printed comes from cim_model_ops() and the formulas in
 * docs/model.md; nothing is typed in.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "report.h"

static const char model_usage[] =
    "usage: cimsim model FILE [--weight-bits N] [--kv-bits N] [--context N] [--json]\n\n"
    "Prints a model's shape, parameters (total and by kind), weight bytes, MACs per\n"
    "token in prefill and decode, and KV-cache bytes per token.  FILE is a Hugging\n"
    "Face config.json or a YAML preset (configs/models/), of model_type gpt2, opt,\n"
    "llama, mistral, mixtral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3,\n"
    "falcon, gptj, gpt_neox, bloom, granite or olmo2 (docs/model.md).\n\n"
    "  --weight-bits N  precision of weights for the byte count (default 16)\n"
    "  --kv-bits N      precision of cached keys and values (default 16)\n"
    "  --context N      context length for decode and prefill MACs\n"
    "                   (default: the model's longest context)\n"
    "  --json           print JSON instead of a table\n";

int cim_cmd_model(int argc, char **argv)
{
	unsigned long long wbits = 16, kvbits = 16, ctx = 0;
	const char *path = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			fputs(model_usage, stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (i + 1 < argc && strcmp(a, "--weight-bits") == 0) {
			if (cim_cli_u64(a, argv[++i], 1, 64, &wbits))
				return CIM_EXIT_INPUT;
		} else if (i + 1 < argc && strcmp(a, "--kv-bits") == 0) {
			if (cim_cli_u64(a, argv[++i], 1, 64, &kvbits))
				return CIM_EXIT_INPUT;
		} else if (i + 1 < argc && strcmp(a, "--context") == 0) {
			if (cim_cli_u64(a, argv[++i], 1, 1ull << 32, &ctx))
				return CIM_EXIT_INPUT;
		} else if (a[0] == '-' || path) {
			cim_cli_error("model: unexpected argument '%s'\n%s", a, model_usage);
			return CIM_EXIT_INPUT;
		} else {
			path = a;
		}
	}
	if (!path) {
		cim_cli_error("model: no FILE given\n%s", model_usage);
		return CIM_EXIT_INPUT;
	}

	struct cim_files *files = cim_files_create(true);
	struct cim_model_spec m;
	struct cim_err err;
	if (!files) {
		cim_cli_error("out of memory");
		return 1;
	}
	int rc = cim_spec_load_model(files, path, &m, &err);
	cim_files_destroy(files);
	if (rc) {
		cim_cli_error("%s", err.msg);
		return CIM_EXIT_INPUT;
	}
	struct cim_model_report r = {
		.model = &m,
		.weight_bits = (uint32_t)wbits,
		.kv_bits = (uint32_t)kvbits,
		.context = ctx ? ctx : m.max_positions,
	};
	if (json) {
		struct json_w w;
		json_begin(&w, stdout);
		cim_report_model_json(&w, &r);
		json_end(&w);
	} else {
		cim_report_model_text(stdout, &r);
	}
	return 0;
}
