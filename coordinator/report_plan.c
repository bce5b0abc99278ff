/*
 * report_plan.c — a plan and an estimate as readable tables and as JSON,
 * for `plan` and `run`.
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"

static const char *const split_name[] = { "column", "row", "replicated", "experts", "heads" };
static const char *const balance_name[] = { "cost", "capacity", "list" };
static const char *const where_name[] = { "buffer", "dram", "engine" };

static void print_shards(FILE *f, const struct cim_experiment *e, const struct cim_part_rank *r)
{
	char b[32];

	fprintf(f, "  shards of rank %u (stage %u, tp %u), per layer unless marked:\n", r->rank,
		r->stage, r->tp_index);
	for (uint32_t j = 0; j < r->nshards; j++) {
		const struct cim_part_shard *s = &r->shards[j];
		if (s->times == 0)
			continue; /* a stage of no layers: only its head */
		double fill = (double)s->cells_used /
			      ((double)s->crossbars * e->chip.xbar.rows * e->chip.xbar.cols);
		fprintf(f, "    %-9s %-10s %6u × %-6u", cim_op_role_name(s->role),
			split_name[s->split], s->k, s->n);
		if (s->count > 1)
			fprintf(f, " × %u %s", s->count,
				cim_op_role_per_head(s->role) ? "heads" : "experts");
		if (s->layers == CIM_LAYERS_DENSE)
			fprintf(f, " (%u dense layers)", s->times);
		fprintf(f, "  %s %s, fill %5.1f%%%s%s\n",
			cim_fmt_count(s->crossbars_one * s->count, b, sizeof(b)),
			cim_chip_units(&e->chip), 100 * fill,
			s->holders > 1 ? ", shared by the group" : "",
			s->role == CIM_ROLE_LM_HEAD ? " (once)" : "");
	}
}

void cim_report_plan_text(FILE *f, const struct cim_experiment *e, const struct cim_part_plan *p)
{
	char a[32], b[32], c[32], d[32], g[32];

	fprintf(f, "plan: tp %u × pp %u × dp %u = %u chips; layers by %s:", p->tp, p->pp, p->dp,
		p->chips, balance_name[p->balance]);
	for (uint32_t s = 0; s < p->pp && s < 16; s++)
		fprintf(f, " %u", p->stage_layers[s]);
	fprintf(f, "%s\n", p->pp > 16 ? " …" : "");
	fprintf(f, "  %u micro-batch%s per replica (%u sequences); KV at context %" PRIu64 "\n",
		p->micro_batches, p->micro_batches == 1 ? "" : "es", p->seqs[0], p->context);
	fprintf(f, "  %s %s of %s (%.1f%%), fill %.1f%%, headroom %.1f%% on the fullest chip\n\n",
		cim_chip_units(&e->chip), cim_fmt_count(p->crossbars, a, sizeof(a)),
		cim_fmt_count(p->chip_crossbars * p->chips, b, sizeof(b)),
		100.0 * (double)p->crossbars / ((double)p->chip_crossbars * p->chips),
		100 * p->fill, 100 * p->headroom);
	fprintf(f, "  %5s %5s %3s %9s %14s %6s %10s %10s %10s %10s\n", "rank", "stage", "tp",
		"layers", cim_chip_units(&e->chip), "fill", "weights", "KV", "buffer", "DRAM");
	for (uint32_t i = 0; i < p->chips; i++) {
		const struct cim_part_rank *r = &p->ranks[i];
		char lay[32];
		if (r->replica > 0 ||
		    (p->chips > 64 && r->tp_index > 0 && r->stage > 1 && r->stage + 1 < p->pp))
			continue; /* replicas repeat replica 0; long plans show the ends */
		const char *ends = r->head ? "+H" : r->embed ? "+E" : "";
		if (r->nlayers)
			snprintf(lay, sizeof(lay), "%u-%u%s", r->first_layer,
				 r->first_layer + r->nlayers - 1, ends);
		else
			snprintf(lay, sizeof(lay), "none%s", ends);
		fprintf(f, "  %5u %5u %3u %9s %8s %4.0f%% %5.1f%% %10s %10s %10s %10s\n", r->rank,
			r->stage, r->tp_index, lay, cim_fmt_count(r->crossbars, a, sizeof(a)),
			100.0 * (double)r->crossbars / (double)p->chip_crossbars, 100 * r->fill,
			cim_fmt_bytes((double)r->weight_bytes, b, sizeof(b)),
			cim_fmt_bytes((double)r->kv_bytes, c, sizeof(c)),
			cim_fmt_bytes((double)r->buffer_bytes, d, sizeof(d)),
			cim_fmt_bytes((double)r->dram_bytes, g, sizeof(g)));
	}
	fprintf(f, "  (+E: embedding table, +H: LM head; KV cache in %s)\n\n",
		where_name[p->ranks[0].kv_where]);
	print_shards(f, e, &p->ranks[p->chips / p->dp - 1]);
}

void cim_report_plan_json(struct json_w *j, const struct cim_experiment *e,
			  const struct cim_part_plan *p)
{
	(void)e;
	json_u64(j, "tp", p->tp);
	json_u64(j, "pp", p->pp);
	json_u64(j, "dp", p->dp);
	json_u64(j, "chips", p->chips);
	json_str(j, "balance", balance_name[p->balance]);
	json_u64(j, "micro_batches", p->micro_batches);
	json_u64(j, "context", p->context);
	json_u64(j, "crossbars", p->crossbars);
	json_u64(j, "chip_crossbars", p->chip_crossbars);
	json_f64(j, "fill", p->fill);
	json_f64(j, "headroom", p->headroom);
	json_u64(j, "weights", p->weights);
	json_arr(j, "stage_layers");
	for (uint32_t s = 0; s < p->pp; s++)
		json_u64(j, NULL, p->stage_layers[s]);
	json_arr_end(j);
	json_arr(j, "ranks");
	for (uint32_t i = 0; i < p->chips; i++) {
		const struct cim_part_rank *r = &p->ranks[i];
		json_obj(j, NULL);
		json_u64(j, "rank", r->rank);
		json_u64(j, "replica", r->replica);
		json_u64(j, "stage", r->stage);
		json_u64(j, "tp_index", r->tp_index);
		json_u64(j, "first_layer", r->first_layer);
		json_u64(j, "layers", r->nlayers);
		json_bool(j, "embedding", r->embed);
		json_bool(j, "lm_head", r->head);
		json_u64(j, "heads", r->heads);
		json_u64(j, "kv_heads", r->kv_heads);
		json_u64(j, "crossbars", r->crossbars);
		json_f64(j, "fill", r->fill);
		json_u64(j, "weight_bytes", r->weight_bytes);
		json_u64(j, "memory_params", r->memory_params);
		json_u64(j, "kv_bytes", r->kv_bytes);
		json_u64(j, "act_bytes", r->act_bytes);
		json_str(j, "kv_where", where_name[r->kv_where]);
		json_u64(j, "buffer_bytes", r->buffer_bytes);
		json_u64(j, "dram_bytes", r->dram_bytes);
		json_arr(j, "shards");
		for (uint32_t k = 0; k < r->nshards; k++) {
			const struct cim_part_shard *s = &r->shards[k];
			json_obj(j, NULL);
			json_str(j, "name", cim_op_role_name(s->role));
			json_str(j, "split", split_name[s->split]);
			json_u64(j, "k", s->k);
			json_u64(j, "n", s->n);
			json_u64(j, "count", s->count);
			json_u64(j, "holders", s->holders);
			json_u64(j, "layers", s->times);
			json_str(j, "in",
				 s->layers == CIM_LAYERS_DENSE ? "dense layers"
				 : s->layers == CIM_LAYERS_MOE ? "layers with experts"
							       : "every layer");
			json_u64(j, "crossbars", s->crossbars);
			json_u64(j, "weights", s->weights);
			json_u64(j, "bias", s->bias);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void cim_report_estimate_json(struct json_w *j, const struct cim_part_estimate *est)
{
	json_f64(j, "decode_token_s", est->decode_token_s);
	json_f64(j, "prefill_s", (double)est->prefill_ps * 1e-12);
	json_f64(j, "ttft_s", est->ttft_s);
	json_f64(j, "tpot_s", est->tpot_s);
	json_f64(j, "makespan_s", (double)est->makespan_ps * 1e-12);
	json_f64(j, "generated_tokens_per_s", est->tokens_per_s);
	json_f64(j, "energy_j", est->energy_j);
	json_f64(j, "energy_per_generated_token_j", est->energy_per_token_j);
	json_f64(j, "average_power_w",
		 est->makespan_ps ? est->energy_j / ((double)est->makespan_ps * 1e-12) : 0);
}
