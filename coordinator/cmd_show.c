/*
 * cmd_show.c — `cimsim show EXPERIMENT`: the experiment as every rank
 * sees it.  Rank 0 reads and validates the files, every rank parses the
 * broadcast bytes, and the ranks check that they agree before rank 0
 * prints the experiment.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coord.h"
#include "interconnect.h"
#include "chip.h"
#include "partitioner.h"
#include "report.h"

#define MAX_SETS 64

static const char show_usage[] =
    "usage: [mpirun -np N] cimsim show EXPERIMENT [--set KEY=VALUE]... [--json]\n\n"
    "Reads and validates an experiment (model, chip, interconnect, workload,\n"
    "parallelism) on rank 0, broadcasts it to every rank, and prints it.\n\n"
    "  --set KEY=VALUE  override any key, e.g. --set workload.batch=16\n"
    "                   or --set chip=configs/chips/isaac.yaml (repeatable)\n"
    "  --json           print JSON instead of a table\n";

/* The model as this experiment runs it: weights at the chip's precision, KV
 * at the workload's, MACs at the longest context the workload reaches. */
static struct cim_model_report model_report(const struct cim_experiment *e)
{
	const struct cim_workload_spec *w = &e->workload;

	return (struct cim_model_report){
		.model = &e->model,
		.weight_bits = e->chip.weight_bits,
		.kv_bits = w->kv_bits,
		.context = (uint64_t)w->prompt_tokens + w->generate_tokens,
	};
}

static void print_text(const struct cim_experiment *e, int ranks)
{
	const struct cim_workload_spec *w = &e->workload;
	const struct cim_parallel_spec *p = &e->parallel;
	struct cim_model_report r = model_report(e);

	printf("experiment %s (%s), validated on %d rank%s\n\n", e->name, e->path, ranks,
	       ranks == 1 ? "" : "s");
	cim_report_model_text(stdout, &r);
	printf("\n");
	cim_report_chip_line(stdout, &e->chip);
	cim_report_net_line(stdout, &e->net, p->tp * p->pp * p->dp);
	char mb[16];
	snprintf(mb, sizeof(mb), "%u", w->micro_batches);
	printf("\nworkload: batch %u, prompt %u tokens, generate %u tokens, micro-batches %s,\n"
	       "          prefill chunk %u%s, KV %u bits, activations %u bits, seed %llu\n",
	       w->batch, w->prompt_tokens, w->generate_tokens, w->micro_batches ? mb : "auto",
	       w->prefill_chunk, w->prefill_chunk ? "" : " (whole prompt)", w->kv_bits, w->act_bits,
	       (unsigned long long)w->seed);
	if (e->model.experts > 1) {
		printf("experts: routed %s", cim_routing_name(w->routing));
		if (w->routing == CIM_ROUTE_ZIPF)
			printf(" (s = %g)", w->routing_zipf);
		if (w->capacity_factor > 0)
			printf(", capacity factor %g", w->capacity_factor);
		printf(", placed %s\n", cim_experts_name(p->experts));
	}
	if (e->model.kv_lora)
		printf("latent attention's prefill: %s\n",
		       w->mla_prefill == CIM_MLA_DECOMPRESSED ? "decompressed" : "absorbed");
	printf("parallelism: strategy %s, tp %u, pp %u, dp %u (%u chips)\n",
	       cim_part_strategy_name(p->strategy), p->tp, p->pp, p->dp, p->tp * p->pp * p->dp);
	if (p->nlayers) {
		printf("  layers per stage:");
		for (uint32_t i = 0; i < p->nlayers; i++)
			printf(" %u", p->layers[i]);
		printf("\n");
	}
}

static void print_json(const struct cim_experiment *e, int ranks)
{
	const struct cim_workload_spec *w = &e->workload;
	const struct cim_parallel_spec *p = &e->parallel;
	struct cim_model_report r = model_report(e);
	struct json_w j;

	json_begin(&j, stdout);
	json_str(&j, "name", e->name);
	json_u64(&j, "ranks", (uint64_t)ranks);
	json_obj(&j, "model");
	cim_report_model_json(&j, &r);
	json_obj_end(&j);
	json_obj(&j, "chip");
	cim_report_chip_json(&j, &e->chip);
	json_obj_end(&j);
	json_obj(&j, "interconnect");
	json_str(&j, "name", e->net.name);
	json_str(&j, "topology", cim_net_topo_name(e->net.topology));
	json_obj_end(&j);
	json_obj(&j, "workload");
	json_u64(&j, "batch", w->batch);
	json_u64(&j, "prompt_tokens", w->prompt_tokens);
	json_u64(&j, "generate_tokens", w->generate_tokens);
	json_u64(&j, "micro_batches", w->micro_batches);
	json_u64(&j, "prefill_chunk", w->prefill_chunk);
	json_u64(&j, "kv_bits", w->kv_bits);
	json_u64(&j, "act_bits", w->act_bits);
	json_u64(&j, "seed", w->seed);
	json_str(&j, "routing", cim_routing_name(w->routing));
	json_f64(&j, "routing_zipf", w->routing_zipf);
	json_f64(&j, "capacity_factor", w->capacity_factor);
	json_str(&j, "mla_prefill",
		 w->mla_prefill == CIM_MLA_DECOMPRESSED ? "decompressed" : "absorbed");
	json_obj_end(&j);
	json_obj(&j, "parallel");
	json_str(&j, "strategy", cim_part_strategy_name(p->strategy));
	json_u64(&j, "tp", p->tp);
	json_u64(&j, "pp", p->pp);
	json_u64(&j, "dp", p->dp);
	json_str(&j, "experts", cim_experts_name(p->experts));
	json_arr(&j, "layers");
	for (uint32_t i = 0; i < p->nlayers; i++)
		json_u64(&j, NULL, p->layers[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

int cim_cmd_show(int argc, char **argv)
{
	const char *sets[MAX_SETS], *path = NULL;
	size_t nsets = 0;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cim_cli_is_help(a)) {
			fputs(show_usage, stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
			if (nsets == MAX_SETS) {
				cim_cli_error("show: at most %d --set options", MAX_SETS);
				return CIM_EXIT_INPUT;
			}
			sets[nsets++] = argv[++i];
		} else if (strncmp(a, "--set=", 6) == 0 && nsets < MAX_SETS) {
			sets[nsets++] = a + 6;
		} else if (a[0] == '-' || path) {
			cim_cli_error("show: unexpected argument '%s'\n%s", a, show_usage);
			return CIM_EXIT_INPUT;
		} else {
			path = a;
		}
	}
	if (!path) {
		cim_cli_error("show: no EXPERIMENT given\n%s", show_usage);
		return CIM_EXIT_INPUT;
	}

	MPI_Init(&argc, &argv);
	int rank, ranks, rc;
	struct cim_experiment *e = NULL;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	rc = cim_coord_load(MPI_COMM_WORLD, path, sets, nsets, &e);
	if (rc == 0) {
		/* The interconnect must hold the chips the parallelism asks for. */
		struct cim_err err;
		const struct cim_parallel_spec *p = &e->parallel;
		if (cim_net_check(&e->net, p->tp * p->pp * p->dp, NULL, &err)) {
			if (rank == 0)
				cim_cli_error("%s: %s", path, err.msg);
			free(e);
			MPI_Finalize();
			return CIM_EXIT_INPUT;
		}
	}
	if (rc == 0) {
		/* Every rank parsed the same bytes: check the ranks agree. */
		struct cim_model_stats s;
		unsigned long long mine[2], lo[2], hi[2];
		cim_model_stats(&e->model, &s);
		mine[0] = s.params;
		mine[1] = (unsigned long long)e->workload.batch << 32 | e->parallel.tp;
		MPI_Allreduce(mine, lo, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
		MPI_Allreduce(mine, hi, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
		if (lo[0] != hi[0] || lo[1] != hi[1]) {
			fprintf(stderr, "cimsim: rank %d: ranks parsed different experiments\n",
				rank);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
		if (rank == 0) {
			if (json)
				print_json(e, ranks);
			else
				print_text(e, ranks);
		}
	}
	free(e);
	MPI_Finalize();
	return rc;
}
