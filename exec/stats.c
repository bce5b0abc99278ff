/*
 * stats.c — the built-in statistics probe: a rank's totals made from the
 * very records every other probe (traces) receives.
 *
 * The executor hands it every record first.  It keeps sums only, plus the
 * union of the steps' intervals for the time any resource was busy; pruned
 * at each pass's horizon, as the resource calendars are (no later step
 * starts before it).
 *
 * Invariants: a step ends no earlier than it starts (asserted); a class's
 * busy time is at most its resources × the makespan, and active time at
 * most the makespan (checked for every rank by cim_results_make(), which
 * needs the whole run's makespan).
 */
#include <assert.h>
#include <string.h>

#include "exec_int.h"

static uint32_t busy_class(uint32_t res)
{
	return res >= CIM_RES_XBAR0 ? CIM_BUSY_XBAR : res;
}

static void on_pass(void *ctx, const struct cim_rec_pass *r)
{
	struct exec_stats *s = ctx;

	cim_exec_cal_prune(&s->any, r->horizon_ps);
}

static void on_op(void *ctx, const struct cim_rec_op *r)
{
	struct exec_stats *s = ctx;
	struct cim_exec_stats *st = &s->st;
	const uint64_t len = r->end_ps - r->start_ps;
	double total = 0;

	assert(r->end_ps >= r->start_ps);
	if (cim_exec_cal_add(&s->any, r->start_ps, r->end_ps) < 0)
		s->out_of_memory = true;
	st->busy_ps[busy_class(r->resource)] += len;
	if (r->resource2 != UINT32_MAX)
		st->busy_ps[busy_class(r->resource2)] += r->busy2_ps;
	for (int i = 0; i < CIM_E_NCOMP; i++) {
		st->energy_pj[i] += r->energy_pj[i];
		total += r->energy_pj[i]; /* as cim_chip_energy_total() */
	}
	st->phase_pj[r->phase] += total;
	st->steps++;
	st->ops_macs += r->macs;
	if (r->end_ps > st->end_ps)
		st->end_ps = r->end_ps;
	if (r->kv_bytes > st->kv_peak)
		st->kv_peak = r->kv_bytes;
}

static void on_msg(void *ctx, const struct cim_rec_msg *r)
{
	struct cim_exec_stats *st = &((struct exec_stats *)ctx)->st;

	st->msgs++;
	if (!r->is_send)
		return;
	st->busy_ps[CIM_BUSY_LINK] += r->port_busy_ps;
	st->bytes_sent += r->bytes;
	st->link_bytes += r->bytes * r->hops;
	st->energy_pj[CIM_E_INTERCONNECT] += r->energy_pj;
	st->phase_pj[r->phase] += r->energy_pj;
}

static void on_coll(void *ctx, const struct cim_rec_coll *r)
{
	struct cim_exec_stats *st = &((struct exec_stats *)ctx)->st;

	st->energy_pj[CIM_E_INTERCONNECT] += r->energy_pj;
	st->phase_pj[r->phase] += r->energy_pj;
	st->bytes_sent += r->sent_bytes;
	st->link_bytes += r->link_bytes;
	st->busy_ps[CIM_BUSY_LINK] += r->ports_busy_ps;
	st->colls++;
	if (r->finish_ps > st->end_ps)
		st->end_ps = r->finish_ps;
}

const struct cim_exec_probe exec_stats_probe = {
	.pass = on_pass,
	.op = on_op,
	.msg = on_msg,
	.coll = on_coll,
};

int exec_stats_failed(const struct exec_stats *s)
{
	return s->out_of_memory;
}

void exec_stats_finish(struct exec_stats *s, struct cim_exec_stats *out)
{
	s->st.active_ps = cim_exec_cal_total(&s->any);
	*out = s->st;
}

void exec_stats_free(struct exec_stats *s)
{
	cim_exec_cal_free(&s->any);
}
