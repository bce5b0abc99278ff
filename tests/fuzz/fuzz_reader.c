/*
 * fuzz_reader.c — a libFuzzer harness for one of cimsim's readers, chosen
 * when it is built (-DFUZZ_READER=…): each input is handed to the reader
 * as the whole of a file (or, for `set`, as --set lines) and must be
 * refused with a message or read; a crash, a sanitizer report, a leak or an
 * input that takes longer than libFuzzer's -timeout is a finding
 * (docs/robustness.md, "Fuzzing").
 *
 *   experiment  an experiment file; its model, chip and interconnect can be
 *               the presets of configs/, held in memory under their names
 *   chip        a chip file            interconnect  an interconnect file
 *   study       a study file           model         a Hugging Face config
 *   set         --set lines (KEY=VALUE, one a line, at most 16) applied to
 *               configs/experiments/llama2-7b-8chips.yaml
 *   trace       a trace file (written to a temporary file and read back)
 *
 * CIM_SOURCE_DIR is the repository, where the presets are read from once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"
#include "traces.h"

#define EXP_PATH "configs/experiments/fuzz.yaml"

enum { R_EXPERIMENT, R_CHIP, R_INTERCONNECT, R_STUDY, R_MODEL, R_SET, R_TRACE };

/* The files an experiment names, read once from the repository. */
static const char *const presets[] = {
	"configs/models/llama-2-7b.json",
	"configs/models/llama-2-70b.json",
	"configs/models/gpt2.json",
	"configs/models/mixtral-8x7b.json",
	"configs/chips/llm-class.yaml",
	"configs/chips/isaac.yaml",
	"configs/interconnects/ucie-ring.yaml",
	"configs/interconnects/ucie-standard-mesh.yaml",
	"configs/interconnects/ucie-boards-serdes.yaml",
	"configs/experiments/llama2-7b-8chips.yaml",
};
static char *preset_data[sizeof(presets) / sizeof(presets[0])];
static size_t preset_len[sizeof(presets) / sizeof(presets[0])];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[4096];

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", CIM_SOURCE_DIR, presets[i]);
		preset_data[i] = slurp(path, &preset_len[i]);
		if (!preset_data[i]) {
			fprintf(stderr, "fuzz_reader: cannot read %s\n", path);
			exit(1);
		}
	}
	return 0;
}

/* Files in memory only: the presets, and the input at path. */
static struct cim_files *files_with(const char *path, const uint8_t *data, size_t size)
{
	struct cim_files *files = cim_files_create(false);

	char alias[4096];

	/* under their own names, and as an experiment in configs/experiments/
	 * names them (../models/…) */
	for (size_t i = 0; files && i < sizeof(presets) / sizeof(presets[0]); i++) {
		cim_files_put(files, presets[i], preset_data[i], preset_len[i]);
		snprintf(alias, sizeof(alias), "configs/experiments/../%s",
			 presets[i] + strlen("configs/"));
		cim_files_put(files, alias, preset_data[i], preset_len[i]);
	}
	if (files && path)
		cim_files_put(files, path, (const char *)data, size);
	return files;
}

static void read_trace(const uint8_t *data, size_t size)
{
	char path[64];
	struct cim_trace_reader *r;
	struct cim_trace_rec rec;
	struct cim_err err;

	snprintf(path, sizeof(path), "/tmp/cimsim-fuzz-%ld.cimtrace", (long)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (cim_trace_reader_open(path, 0, &r, &err) == 0) {
		while (cim_trace_reader_next(r, &rec, &err) > 0)
			;
		cim_trace_reader_close(r);
	}
	unlink(path);
}

/* Up to 16 --set lines of the input, NUL-terminated in buf. */
static size_t set_lines(const uint8_t *data, size_t size, char *buf, const char **sets)
{
	size_t n = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; n < 16 && p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p)
			sets[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cim_err err;
	struct cim_files *files;

	if (FUZZ_READER == R_TRACE) {
		read_trace(data, size);
		return 0;
	}
	if (FUZZ_READER == R_SET) {
		char *buf = malloc(size + 1);
		const char *sets[16];
		struct cim_experiment *e = NULL;
		if (!buf)
			return 0;
		size_t n = set_lines(data, size, buf, sets);
		files = files_with(NULL, NULL, 0);
		if (files &&
		    cim_spec_load_experiment(files, "configs/experiments/llama2-7b-8chips.yaml",
					     sets, n, &e, &err) == 0)
			free(e);
		cim_files_destroy(files);
		free(buf);
		return 0;
	}
	files = files_with(EXP_PATH, data, size);
	if (!files)
		return 0;
	switch (FUZZ_READER) {
	case R_EXPERIMENT: {
		struct cim_experiment *e = NULL;
		if (cim_spec_load_experiment(files, EXP_PATH, NULL, 0, &e, &err) == 0)
			free(e);
		break;
	}
	case R_CHIP: {
		struct cim_chip_spec c;
		cim_spec_load_chip(files, EXP_PATH, &c, &err);
		break;
	}
	case R_INTERCONNECT: {
		struct cim_net_spec n;
		cim_spec_load_net(files, EXP_PATH, &n, &err);
		break;
	}
	case R_STUDY: {
		struct cim_study *s = NULL;
		if (cim_spec_load_study(files, EXP_PATH, &s, &err) == 0)
			free(s);
		break;
	}
	case R_MODEL: {
		struct cim_model_spec m;
		cim_spec_load_model(files, EXP_PATH, &m, &err);
		break;
	}
	default:
		break;
	}
	cim_files_destroy(files);
	return 0;
}
