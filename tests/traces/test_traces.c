/*
 * test_traces.c — the traces part's unit suite (CUnit, no MPI): writing and
 * reading back, levels, buffer rollover, damaged and foreign files,
 * interrupted runs, the rank filter, the Chrome JSON export and the
 * summary.  The synthetic run is described in synth.h; every expected
 * number below is worked out beside it from that description.
 */
#include <errno.h>
#include <msgpack.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "files.h"
#include "json_mini.h"
#include "synth.h"
#include "test.h"
#include "trace_int.h"

/* ----------------------------------------------------------- helpers */

struct readback {
	struct cim_trace_rec *v;
	size_t n;
	int rc; /* 0 = read to the end, -1 = error */
	bool partial;
	char note[512];
	struct cim_err err;
	struct cim_trace_info info;
	char res[8][64];
	struct cim_trace_totals tot;
	bool has_tot;
};

/* Reads a whole file; rb->rc says how it ended. */
static void read_all(const char *path, unsigned flags, struct readback *rb)
{
	struct cim_trace_reader *r;
	struct cim_trace_rec rec;
	size_t cap = 0;
	int rc;

	memset(rb, 0, sizeof(*rb));
	if (cim_trace_reader_open(path, flags, &r, &rb->err)) {
		rb->rc = -1;
		return;
	}
	rb->info = *cim_trace_reader_info(r);
	for (uint32_t i = 0; i < rb->info.nres && i < 8; i++)
		snprintf(rb->res[i], sizeof(rb->res[i]), "%s", cim_trace_reader_res(r, i));
	while ((rc = cim_trace_reader_next(r, &rec, &rb->err)) == 1) {
		if (rb->n == cap) {
			cap = cap ? 2 * cap : 64;
			rb->v = realloc(rb->v, cap * sizeof(*rb->v));
		}
		rb->v[rb->n++] = rec;
	}
	rb->rc = rc;
	rb->partial = cim_trace_reader_partial(r);
	snprintf(rb->note, sizeof(rb->note), "%s", cim_trace_reader_note(r));
	const struct cim_trace_totals *t = cim_trace_reader_totals(r);
	if (t) {
		rb->tot = *t;
		rb->has_tot = true;
	}
	cim_trace_reader_close(r);
}

static void rb_free(struct readback *rb)
{
	free(rb->v);
	rb->v = NULL;
}

static char *rank_path(const char *dir, uint32_t rank)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/rank-%05u.cimtrace", dir, rank);
	return buf;
}

/* The record read back is the event written, field by field. */
static bool same_event(const struct syn_ev *e, const struct cim_trace_rec *r)
{
	if (e->type != r->type || r->count != 1)
		return false;
	if (e->type == CIM_TREC_OP) {
		const struct cim_rec_op *a = &e->u.op, *b = &r->u.op;
		for (int i = 0; i < CIM_E_NCOMP; i++)
			if (a->energy_pj[i] != b->energy_pj[i])
				return false;
		return a->start_ps == b->start_ps && a->end_ps == b->end_ps &&
		       a->resource == b->resource && a->resource2 == b->resource2 &&
		       a->op_kind == b->op_kind && memcmp(a->name, b->name, 16) == 0 &&
		       a->layer == b->layer && a->micro_batch == b->micro_batch &&
		       a->step == b->step && a->phase == b->phase && a->bytes == b->bytes;
	}
	if (e->type == CIM_TREC_MSG) {
		const struct cim_rec_msg *a = &e->u.msg, *b = &r->u.msg;
		return a->depart_ps == b->depart_ps && a->arrive_ps == b->arrive_ps &&
		       a->peer == b->peer && a->kind == b->kind && a->is_send == b->is_send &&
		       a->micro_batch == b->micro_batch && a->step == b->step &&
		       a->phase == b->phase && a->bytes == b->bytes && a->energy_pj == b->energy_pj;
	}
	const struct cim_rec_coll *a = &e->u.coll, *b = &r->u.coll;
	return a->ready_ps == b->ready_ps && a->finish_ps == b->finish_ps && a->coll == b->coll &&
	       a->algo == b->algo && a->group == b->group && a->group_size == b->group_size &&
	       a->layer == b->layer && a->micro_batch == b->micro_batch && a->step == b->step &&
	       a->phase == b->phase && a->bytes == b->bytes && a->energy_pj == b->energy_pj;
}

static char *fresh_dir(void)
{
	char *d = tf_mkdtemp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	return d;
}

static void done_dir(char *d)
{
	tf_rmrf(d);
	free(d);
}

static const char *const level_word[] = { "op", "layer", "step" };

/* ------------------------------------------------------------- format */

static void test_crc32c(void)
{
	/* The CRC-32C check value of "123456789" (RFC 3720, B.4). */
	CIM_ASSERT_EQ_U64(trace_crc32c(0, "123456789", 9), 0xE3069283u);
	CIM_ASSERT_EQ_U64(trace_crc32c(0, "", 0), 0);
	/* in pieces, as frames are checked */
	uint32_t c = trace_crc32c(0, "1234", 4);
	CIM_ASSERT_EQ_U64(trace_crc32c(c, "56789", 5), 0xE3069283u);
}

/* The writer's inline encoders give msgpack-c's bytes for every size
 * class boundary. */
static void test_msgpack_encoding(void)
{
	static const uint64_t u[] = { 0,     1,	    127,	 128,	      255,	 256,
				      65535, 65536, 4294967295u, 4294967296u, UINT64_MAX };
	static const int64_t s[] = { -1,	-32,	   -33,
				     -128,	-129,	   -32768,
				     -32769,	INT32_MIN, (int64_t)INT32_MIN - 1,
				     INT64_MIN, 0,	   127,
				     128,	INT32_MAX };
	static const double d[] = { 0.0, -0.0, 1.5, 2.85e-11, 1e300 };
	static const uint32_t a[] = { 0, 9, 15, 16, 65535, 65536 };
	static const size_t sl[] = { 0, 5, 31, 32, 127 };
	unsigned char buf[256], *end;
	char text[128];
	size_t bad = 0;

	memset(text, 'x', sizeof(text));
/* SAME(pack, mine): msgpack-c's packer and our encoder give one byte string. */
#define SAME(pack, mine)                                                                           \
	do {                                                                                       \
		msgpack_sbuffer sb;                                                                \
		msgpack_packer pk;                                                                 \
		msgpack_sbuffer_init(&sb);                                                         \
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);                              \
		pack;                                                                              \
		end = mine;                                                                        \
		if ((size_t)(end - buf) != sb.size || memcmp(buf, sb.data, sb.size))               \
			bad++;                                                                     \
		msgpack_sbuffer_destroy(&sb);                                                      \
	} while (0)
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		SAME(msgpack_pack_uint64(&pk, u[i]), mp_uint(buf, u[i]));
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		SAME(msgpack_pack_int64(&pk, s[i]), mp_int(buf, s[i]));
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		SAME(msgpack_pack_double(&pk, d[i]), mp_double(buf, d[i]));
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		SAME(msgpack_pack_array(&pk, a[i]), mp_array(buf, a[i]));
	for (size_t i = 0; i < sizeof(sl) / sizeof(sl[0]); i++)
		SAME((msgpack_pack_str(&pk, sl[i]), msgpack_pack_str_body(&pk, text, sl[i])),
		     mp_str(buf, text, sl[i]));
	SAME(msgpack_pack_true(&pk), mp_bool(buf, true));
	SAME(msgpack_pack_false(&pk), mp_bool(buf, false));
#undef SAME
	CIM_ASSERT_EQ_U64(bad, 0);
}

/* The table CRC and the SSE4.2 one agree on every length and alignment. */
static void test_crc_implementations(void)
{
	unsigned char b[300];
	size_t bad = 0;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(b); n += 13)
			bad += trace_crc32c_sw(0, b + off, n) != trace_crc32c(0, b + off, n);
	CIM_ASSERT_EQ_U64(bad, 0);
	CIM_ASSERT_EQ_U64(trace_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	if (trace_crc32c_sse42_ok())
		CIM_ASSERT_EQ_U64(trace_crc32c_sse42(0, "123456789", 9), 0xE3069283u);
}

/* --------------------------------------------------------- round trip */

static void test_roundtrip(void)
{
	char *dir = fresh_dir();
	struct cim_err err;
	struct syn_ev ev[SYN_MAX_EVENTS];

	CU_ASSERT_FATAL(syn_write_run(dir, CIM_TRACE_OP, 0, &err) == 0);
	for (uint32_t r = 0; r < SYN_RANKS; r++) {
		struct readback rb;
		size_t n = syn_events(r, ev);

		read_all(rank_path(dir, r), CIM_TRACE_STRICT, &rb);
		CIM_ASSERT_EQ_U64(rb.rc, 0);
		if (rb.rc)
			fprintf(stderr, "\n  %s\n", rb.err.msg);
		CU_ASSERT(!rb.partial);
		CIM_ASSERT_EQ_U64(rb.n, n);
		for (size_t i = 0; i < n && i < rb.n; i++)
			if (!same_event(&ev[i], &rb.v[i])) {
				fprintf(stderr, "\n  rank %u event %zu differs\n", r, i);
				CU_FAIL("event differs");
				break;
			}
		CIM_ASSERT_EQ_U64(rb.info.version, CIM_TRACE_VERSION);
		CIM_ASSERT_EQ_U64(rb.info.rank, r);
		CIM_ASSERT_EQ_U64(rb.info.nranks, SYN_RANKS);
		CIM_ASSERT_EQ_U64(rb.info.stage, r == 2 ? 1 : 0);
		CIM_ASSERT_EQ_U64(rb.info.tp, r == 1 ? 1 : 0);
		CIM_ASSERT_EQ_U64(rb.info.run_id, SYN_RUN_ID);
		CIM_ASSERT_EQ_U64(rb.info.level, CIM_TRACE_OP);
		CU_ASSERT_STRING_EQUAL(rb.info.chip, "test-chip");
		CU_ASSERT_STRING_EQUAL(rb.info.experiment, "synthetic");
		CU_ASSERT_STRING_EQUAL(rb.info.time_unit, "ps");
		CIM_ASSERT_EQ_U64(rb.info.nres, syn_nres(r));
		for (uint32_t i = 0; i < syn_nres(r); i++)
			CU_ASSERT_STRING_EQUAL(rb.res[i], syn_res[r][i]);
		CU_ASSERT_FATAL(rb.has_tot);
		CU_ASSERT(rb.tot.complete);
		/* 6 passes: rank 0 has 6 ops + 2 collectives + 2 messages each,
		 * rank 1 the same without messages, rank 2 7 ops + 2 messages. */
		uint64_t ops = r == 2 ? 42 : 36, colls = r == 2 ? 0 : 12, msgs = r == 1 ? 0 : 12;
		CIM_ASSERT_EQ_U64(rb.tot.records[CIM_TREC_OP], ops);
		CIM_ASSERT_EQ_U64(rb.tot.records[CIM_TREC_COLL], colls);
		CIM_ASSERT_EQ_U64(rb.tot.records[CIM_TREC_MSG], msgs);
		CIM_ASSERT_EQ_U64(rb.tot.events[CIM_TREC_OP], ops);
		/* the last end: pass 5 starts at 100000; rank 2's token arrives
		 * at +23000, rank 1's last all-reduce ends at +9000 */
		CIM_ASSERT_EQ_U64(rb.tot.end_ps, r == 1 ? 109000 : 123000);
		rb_free(&rb);
	}
	/* Energy totals by hand.  Rank 0, per pass: array 2·1 + 2·2 = 6,
	 * adc 4·0.5 = 2, dac 4·0.25 = 1, shift-add 4·0.125 = 0.5, digital 2·2 = 4,
	 * buffer 2·0.5 = 1; six passes.  Sends 6 · 3 pJ, all-reduces 12 · 0.75. */
	struct readback rb;
	read_all(rank_path(dir, 0), 0, &rb);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_ARRAY], 36.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_ADC], 12.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_DAC], 6.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_SHIFT_ADD], 3.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_DIGITAL], 24.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_BUFFER], 6.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_DRAM], 0.0, 0);
	CIM_ASSERT_REL(rb.tot.msg_energy_pj, 18.0, 0);
	CIM_ASSERT_REL(rb.tot.coll_energy_pj, 9.0, 0);
	rb_free(&rb);
	/* Rank 2, per pass: array 2·3 + 2·4 + 0 (the head is "layer −1") = 14,
	 * adc 5·0.5 = 2.5; six passes. */
	read_all(rank_path(dir, 2), 0, &rb);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_ARRAY], 84.0, 0);
	CIM_ASSERT_REL(rb.tot.op_energy_pj[CIM_E_ADC], 15.0, 0);
	rb_free(&rb);
	done_dir(dir);
}

/* Writes rank 0's header and the scheduler records x[0..n) to dir. */
static void write_sched(const char *dir, const struct cim_rec_sched *x, size_t n)
{
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;

	syn_config(&c, dir, 0, CIM_TRACE_STEP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	for (size_t i = 0; i < n; i++)
		cim_trace_probe_sched(w, &x[i]);
	CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);
}

/* A served load's time series: written at every level as it is (never
 * merged), read back field by field, counted by the trailer; a series out
 * of time order and a KV use above its room are refused. */
static void test_sched_series(void)
{
	char *dir = fresh_dir();
	struct readback rb;
	const struct cim_rec_sched x[] = {
		{ .t_ps = 0, .waiting = 1 },
		{ .t_ps = 0,
		  .running = 1,
		  .decision = 1,
		  .batch = 1,
		  .tokens = 300,
		  .kv_bytes = 1u << 20,
		  .kv_room = 1u << 30 },
		{ .t_ps = 5000000,
		  .waiting = 2,
		  .running = 1,
		  .kv_bytes = 1u << 20,
		  .kv_room = 1u << 30 },
		{ .t_ps = 7000000,
		  .requeued = 1,
		  .running = 2,
		  .decision = 1,
		  .batch = 3,
		  .tokens = 2,
		  .kv_bytes = (1u << 30) - 1,
		  .kv_room = 1u << 30 },
	};

	write_sched(dir, x, 4);
	read_all(rank_path(dir, 0), CIM_TRACE_STRICT, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, 0);
	CIM_ASSERT_EQ_U64(rb.n, 4);
	CIM_ASSERT_EQ_U64(rb.tot.records[CIM_TREC_SCHED], 4);
	CIM_ASSERT_EQ_U64(rb.tot.events[CIM_TREC_SCHED], 4);
	CIM_ASSERT_EQ_U64(rb.tot.end_ps, 7000000);
	for (size_t i = 0; i < rb.n && i < 4; i++) {
		CIM_ASSERT_EQ_U64(rb.v[i].type, CIM_TREC_SCHED);
		CU_ASSERT(memcmp(&rb.v[i].u.sched, &x[i], sizeof(x[i])) == 0);
	}
	rb_free(&rb);

	const struct cim_rec_sched back[] = { { .t_ps = 9 }, { .t_ps = 8 } };
	write_sched(dir, back, 2);
	read_all(rank_path(dir, 0), 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "a scheduler record at 8 ps follows one at 9 ps");
	rb_free(&rb);

	const struct cim_rec_sched over[] = { { .kv_bytes = 2, .kv_room = 1 } };
	write_sched(dir, over, 1);
	read_all(rank_path(dir, 0), 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "malformed scheduler record");
	rb_free(&rb);
	done_dir(dir);
}

/* ------------------------------------------------------------- levels */

static void test_levels_keep_energy(void)
{
	struct readback rb[3][SYN_RANKS];
	struct cim_err err;

	for (int l = 0; l < 3; l++) {
		char *dir = fresh_dir();
		CU_ASSERT_FATAL(syn_write_run(dir, (enum cim_trace_level)l, 0, &err) == 0);
		for (uint32_t r = 0; r < SYN_RANKS; r++) {
			read_all(rank_path(dir, r), CIM_TRACE_STRICT, &rb[l][r]);
			CIM_ASSERT_EQ_U64(rb[l][r].rc, 0);
			CIM_ASSERT_EQ_U64(rb[l][r].info.level, l);
		}
		done_dir(dir);
	}
	/* Records of rank 0: ops 36 → 2 layers · 6 passes = 12 → 6 passes;
	 * collectives 12, 12, one per pass = 6; messages always 12. */
	static const uint64_t ops0[3] = { 36, 12, 6 }, colls0[3] = { 12, 12, 6 };
	/* Rank 2: 42 → (layer 2, layer 3, head) · 6 = 18 → 6. */
	static const uint64_t ops2[3] = { 42, 18, 6 };
	for (int l = 0; l < 3; l++) {
		CIM_ASSERT_EQ_U64(rb[l][0].tot.records[CIM_TREC_OP], ops0[l]);
		CIM_ASSERT_EQ_U64(rb[l][0].tot.records[CIM_TREC_COLL], colls0[l]);
		CIM_ASSERT_EQ_U64(rb[l][0].tot.records[CIM_TREC_MSG], 12);
		CIM_ASSERT_EQ_U64(rb[l][2].tot.records[CIM_TREC_OP], ops2[l]);
		for (uint32_t r = 0; r < SYN_RANKS; r++) {
			uint64_t merged = 0;
			/* the events are the same at every level */
			CIM_ASSERT_EQ_U64(rb[l][r].tot.events[CIM_TREC_OP],
					  rb[0][r].tot.events[CIM_TREC_OP]);
			CIM_ASSERT_EQ_U64(rb[l][r].tot.events[CIM_TREC_COLL],
					  rb[0][r].tot.events[CIM_TREC_COLL]);
			for (size_t i = 0; i < rb[l][r].n; i++)
				if (rb[l][r].v[i].type == CIM_TREC_OP)
					merged += rb[l][r].v[i].count;
			CIM_ASSERT_EQ_U64(merged, rb[0][r].tot.events[CIM_TREC_OP]);
			/* energies are sums of powers of two: equal exactly */
			for (int c = 0; c < CIM_E_NCOMP; c++)
				CIM_ASSERT_REL(rb[l][r].tot.op_energy_pj[c],
					       rb[0][r].tot.op_energy_pj[c], 0);
			CIM_ASSERT_REL(rb[l][r].tot.msg_energy_pj, rb[0][r].tot.msg_energy_pj, 0);
			CIM_ASSERT_REL(rb[l][r].tot.coll_energy_pj, rb[0][r].tot.coll_energy_pj, 0);
		}
	}
	/* Merged spans lie on the resource the writer adds. */
	CU_ASSERT_STRING_EQUAL(rb[1][0].res[5], "layers");
	CU_ASSERT_STRING_EQUAL(rb[2][0].res[5], "passes");
	CIM_ASSERT_EQ_U64(rb[1][0].info.nres, 6);
	/* Rank 0's first layer span: q_proj [0, 1000) to o_proj [2000, 3000),
	 * 3 ops, bytes 4096 + 8192 + 4096. */
	const struct cim_trace_rec *x = &rb[1][0].v[0];
	while (x->type != CIM_TREC_OP) /* the all-reduce came first */
		x++;
	CIM_ASSERT_EQ_U64(x->u.op.start_ps, 0);
	CIM_ASSERT_EQ_U64(x->u.op.end_ps, 3000);
	CIM_ASSERT_EQ_U64(x->count, 3);
	CIM_ASSERT_EQ_U64(x->u.op.bytes, 16384);
	CIM_ASSERT_EQ_U64(x->u.op.resource, 5);
	CIM_ASSERT_EQ_U64(x->u.op.op_kind, CIM_TRACE_MIXED);
	CU_ASSERT(strncmp(x->u.op.name, "layer 0", 16) == 0);
	/* Rank 2 at level layer: "layer 2", "layer 3", "head". */
	bool head = false, l3 = false;
	for (size_t i = 0; i < rb[1][2].n; i++) {
		if (rb[1][2].v[i].type != CIM_TREC_OP)
			continue;
		head |= strncmp(rb[1][2].v[i].u.op.name, "head", 16) == 0;
		l3 |= strncmp(rb[1][2].v[i].u.op.name, "layer 3", 16) == 0;
	}
	CU_ASSERT(head && l3);
	/* Level step, rank 0, pass 0: ops [0, 8000), the two all-reduces
	 * [3000, 4000) and [8000, 9000) as one [3000, 9000) of 1.5 pJ. */
	bool op_ok = false, coll_ok = false;
	for (size_t i = 0; i < rb[2][0].n; i++) {
		const struct cim_trace_rec *y = &rb[2][0].v[i];
		if (y->type == CIM_TREC_OP && y->u.op.micro_batch == 0 && y->u.op.step == 0)
			op_ok = y->u.op.start_ps == 0 && y->u.op.end_ps == 8000 && y->count == 6 &&
				strncmp(y->u.op.name, "prefill", 16) == 0;
		if (y->type == CIM_TREC_COLL && y->u.coll.micro_batch == 0 && y->u.coll.step == 0)
			coll_ok = y->u.coll.ready_ps == 3000 && y->u.coll.finish_ps == 9000 &&
				  y->count == 2 && y->u.coll.energy_pj == 1.5;
	}
	CU_ASSERT(op_ok);
	CU_ASSERT(coll_ok);
	for (int l = 0; l < 3; l++)
		for (uint32_t r = 0; r < SYN_RANKS; r++)
			rb_free(&rb[l][r]);
}

/* Micro-batches interleaved, and two that share a merge slot (0 and 64). */
static void test_merge_interleaved(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	struct syn_ev ev[8], *e = ev;

	syn_config(&c, dir, 0, CIM_TRACE_LAYER);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	e = syn_op(e, 0, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "q_proj", 0, 0, 0);
	e = syn_op(e, 100, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "q_proj", 0, 1, 0);
	e = syn_op(e, 200, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "o_proj", 0, 0, 0);
	e = syn_op(e, 300, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "o_proj", 0, 1, 0);
	e = syn_op(e, 400, 100, CIM_RES_XBAR0 + 1, UINT32_MAX, CIM_OP_MATMUL, "q_proj", 1, 0, 0);
	e = syn_op(e, 500, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "q_proj", 0, 64, 0);
	e = syn_op(e, 600, 100, CIM_RES_XBAR0 + 1, UINT32_MAX, CIM_OP_MATMUL, "o_proj", 1, 0, 0);
	syn_feed(w, ev, (size_t)(e - ev));
	CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);

	struct readback rb;
	read_all(rank_path(dir, 0), CIM_TRACE_STRICT, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, 0);
	/* (mb 0, L0) of 2, (mb 1, L0) of 2, (mb 0, L1) of 1 until mb 64 took
	 * its slot, (mb 64, L0) of 1, (mb 0, L1) again of 1: five spans. */
	CIM_ASSERT_EQ_U64(rb.n, 5);
	uint64_t count = 0;
	double array = 0;
	bool mb0 = false, mb1 = false;
	for (size_t i = 0; i < rb.n; i++) {
		const struct cim_rec_op *o = &rb.v[i].u.op;
		count += rb.v[i].count;
		array += o->energy_pj[CIM_E_ARRAY];
		mb0 |= o->micro_batch == 0 && o->layer == 0 && o->start_ps == 0 &&
		       o->end_ps == 300 && rb.v[i].count == 2;
		mb1 |= o->micro_batch == 1 && o->layer == 0 && o->start_ps == 100 &&
		       o->end_ps == 400 && rb.v[i].count == 2;
	}
	CU_ASSERT(mb0 && mb1);
	CIM_ASSERT_EQ_U64(count, 7);
	/* array: five ops of layer 0 at 1 pJ, two of layer 1 at 2 pJ */
	CIM_ASSERT_REL(array, 9.0, 0);
	rb_free(&rb);
	done_dir(dir);
}

/* ------------------------------------------------------------ buffers */

/* Rank 0's events forty times over (shifted 120000 ps each time) through
 * 4 KiB buffers: about a hundred buffers' worth. */
static void rollover(uint32_t nbufs)
{
	enum { REPEAT = 40 };
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_trace_stats st;
	struct cim_err err;
	struct syn_ev one[SYN_MAX_EVENTS];
	size_t n1 = syn_events(0, one), n = 0;
	struct syn_ev *ev = malloc(REPEAT * n1 * sizeof(*ev));

	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	for (int k = 0; k < REPEAT; k++)
		for (size_t i = 0; i < n1; i++) {
			struct syn_ev e = one[i];
			uint64_t d = (uint64_t)k * 120000;
			if (e.type == CIM_TREC_OP)
				e.u.op.start_ps += d, e.u.op.end_ps += d;
			else if (e.type == CIM_TREC_MSG)
				e.u.msg.depart_ps += d, e.u.msg.arrive_ps += d;
			else
				e.u.coll.ready_ps += d, e.u.coll.finish_ps += d;
			ev[n++] = e;
		}
	syn_config(&c, dir, 0, CIM_TRACE_OP);
	c.buffer_bytes = CIM_TRACE_MIN_BUFFER;
	c.buffers = nbufs;
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	for (size_t i = 0; i < n; i += 10) {
		syn_feed(w, ev + i, n - i < 10 ? n - i : 10);
		cim_trace_poll(w);
	}
	cim_trace_writer_stats(w, &st);
	CIM_ASSERT_EQ_U64(st.events, n);
	CIM_ASSERT_EQ_U64(st.records, n);
	/* 2400 records of about 60 to 150 bytes in 4 KiB buffers */
	CU_ASSERT(st.writes >= 40);
	CU_ASSERT(st.max_in_flight >= 1 && st.max_in_flight <= nbufs - 1);
	CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);

	struct readback rb;
	read_all(rank_path(dir, 0), CIM_TRACE_STRICT, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, 0);
	CIM_ASSERT_EQ_U64(rb.n, n);
	size_t bad = 0;
	for (size_t i = 0; i < n && i < rb.n; i++)
		bad += !same_event(&ev[i], &rb.v[i]);
	CIM_ASSERT_EQ_U64(bad, 0);
	/* the file is exactly what the writer counted, plus the trailer */
	size_t size;
	unsigned char *bytes = tf_read(rank_path(dir, 0), &size);
	CU_ASSERT(bytes && size > st.bytes && size < st.bytes + TRACE_REC_RESERVE);
	free(bytes);
	rb_free(&rb);
	free(ev);
	done_dir(dir);
}

static void test_rollover_double(void)
{
	rollover(2);
}

static void test_rollover_triple(void)
{
	rollover(3);
}

/* ------------------------------------------------- damaged and foreign */

/* Rank 0's op-level file of the synthetic run, in memory. */
static unsigned char *sample_file(char **dir_p, size_t *size, struct readback *rb)
{
	struct cim_err err;

	*dir_p = fresh_dir();
	CU_ASSERT_FATAL(syn_write_run(*dir_p, CIM_TRACE_OP, 0, &err) == 0);
	read_all(rank_path(*dir_p, 0), CIM_TRACE_STRICT, rb);
	CU_ASSERT_FATAL(rb->rc == 0);
	unsigned char *b = tf_read(rank_path(*dir_p, 0), size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	return b;
}

static void test_truncated_everywhere(void)
{
	char *dir;
	size_t size;
	struct readback all;
	unsigned char *b = sample_file(&dir, &size, &all);
	char cut[4096];
	size_t bad = 0;

	snprintf(cut, sizeof(cut), "%s/cut.cimtrace", dir);
	CU_ASSERT_FATAL(all.n >= 4);
	/* every length from the start of the fourth-last record to one byte
	 * short of the whole file */
	for (size_t len = all.v[all.n - 4].offset; len < size; len++) {
		struct readback rb;
		size_t whole = 0;

		CU_ASSERT_FATAL(tf_write(cut, b, len) == 0);
		/* records whose frame ends within len */
		for (size_t i = 0; i < all.n; i++) {
			uint64_t end = i + 1 < all.n ? all.v[i + 1].offset : 0;
			if (i + 1 == all.n) {
				/* the last record ends where the trailer starts: find it
				 * from its length prefix */
				uint64_t o = all.v[i].offset;
				end = o + trace_get_u32le(b + o) + 8;
			}
			whole += end <= len;
		}
		read_all(cut, 0, &rb);
		if (rb.rc != 0 || !rb.partial || rb.n != whole || !strstr(rb.note, "byte offset")) {
			if (!bad)
				fprintf(stderr,
					"\n  cut at %zu: rc %d partial %d, %zu records "
					"(%zu expected): %s%s\n",
					len, rb.rc, rb.partial, rb.n, whole, rb.note, rb.err.msg);
			bad++;
		}
		rb_free(&rb);
		/* strict: an error naming the file and the offset */
		read_all(cut, CIM_TRACE_STRICT, &rb);
		if (rb.rc != -1 || !strstr(rb.err.msg, cut) || !strstr(rb.err.msg, "byte offset"))
			bad++;
		rb_free(&rb);
	}
	CIM_ASSERT_EQ_U64(bad, 0);
	/* the note names where the file stops: without its trailer */
	{
		struct readback rb;
		uint64_t o = all.v[all.n - 1].offset;
		uint64_t tstart = o + trace_get_u32le(b + o) + 8;
		char want[64];
		CU_ASSERT_FATAL(tf_write(cut, b, tstart) == 0);
		read_all(cut, 0, &rb);
		snprintf(want, sizeof(want), "byte offset %llu", (unsigned long long)tstart);
		CIM_ASSERT_HAS(rb.note, want);
		CIM_ASSERT_HAS(rb.note, "without a trailer");
		rb_free(&rb);
	}
	rb_free(&all);
	free(b);
	done_dir(dir);
}

static void test_corrupted_byte(void)
{
	char *dir;
	size_t size;
	struct readback all;
	unsigned char *b = sample_file(&dir, &size, &all);
	char bad_path[4096], want[64];
	size_t misses = 0;

	snprintf(bad_path, sizeof(bad_path), "%s/bad.cimtrace", dir);
	/* every byte of a record in the middle */
	size_t mid = all.n / 2;
	uint64_t o = all.v[mid].offset, end = all.v[mid + 1].offset;
	snprintf(want, sizeof(want), "byte offset %llu", (unsigned long long)o);
	for (uint64_t pos = o; pos < end; pos++) {
		struct readback rb;
		b[pos] ^= 0xff;
		CU_ASSERT_FATAL(tf_write(bad_path, b, size) == 0);
		b[pos] ^= 0xff;
		read_all(bad_path, 0, &rb);
		if (rb.rc != -1 || !strstr(rb.err.msg, bad_path) || !strstr(rb.err.msg, want)) {
			if (!misses)
				fprintf(stderr, "\n  byte %llu: rc %d, \"%s\"\n",
					(unsigned long long)pos, rb.rc, rb.err.msg);
			misses++;
		}
		/* everything before the damaged record was read */
		if (rb.n != mid)
			misses++;
		rb_free(&rb);
	}
	CIM_ASSERT_EQ_U64(misses, 0);
	/* a byte of the header's body, and one of the trailer's body */
	struct readback rb;
	b[TRACE_PREFIX + 10] ^= 0x01;
	CU_ASSERT_FATAL(tf_write(bad_path, b, size) == 0);
	b[TRACE_PREFIX + 10] ^= 0x01;
	read_all(bad_path, 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "byte offset 12: the record at bytes 12-");
	rb_free(&rb);
	b[size - 6] ^= 0x01;
	CU_ASSERT_FATAL(tf_write(bad_path, b, size) == 0);
	b[size - 6] ^= 0x01;
	read_all(bad_path, 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "CRC-32C");
	CIM_ASSERT_EQ_U64(rb.n, all.n);
	rb_free(&rb);
	/* bytes after the trailer */
	unsigned char *more = malloc(size + 3);
	memcpy(more, b, size);
	memcpy(more + size, "xyz", 3);
	CU_ASSERT_FATAL(tf_write(bad_path, more, size + 3) == 0);
	read_all(bad_path, 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "3 bytes follow the trailer");
	rb_free(&rb);
	free(more);
	rb_free(&all);
	free(b);
	done_dir(dir);
}

static void test_foreign_files(void)
{
	char *dir = fresh_dir();
	struct readback rb;
	char p[4096];
	unsigned char pre[TRACE_PREFIX];

	snprintf(p, sizeof(p), "%s/text.cimtrace", dir);
	CU_ASSERT_FATAL(tf_write(p, "hello, world\n", 13) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "text.cimtrace: byte offset 0: not a cimsim trace");
	CU_ASSERT_FATAL(tf_write(p, "", 0) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "not a cimsim trace");
	/* the magic alone */
	CU_ASSERT_FATAL(tf_write(p, TRACE_MAGIC, TRACE_MAGIC_LEN) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "byte offset 8: the file ends inside its 12-byte prefix");
	/* a later version, and the earlier one (without scheduler records) */
	memcpy(pre, TRACE_MAGIC, TRACE_MAGIC_LEN);
	trace_put_u32le(pre + TRACE_MAGIC_LEN, 3);
	CU_ASSERT_FATAL(tf_write(p, pre, sizeof(pre)) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "byte offset 8: format version 3; this cimsim reads version 2");
	trace_put_u32le(pre + TRACE_MAGIC_LEN, 1);
	CU_ASSERT_FATAL(tf_write(p, pre, sizeof(pre)) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "byte offset 8: format version 1; this cimsim reads version 2");
	/* the prefix without a header */
	trace_put_u32le(pre + TRACE_MAGIC_LEN, 2);
	CU_ASSERT_FATAL(tf_write(p, pre, sizeof(pre)) == 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "byte offset 12: the file ends before its header");
	/* not a file at all */
	read_all(dir, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "not a regular file");
	snprintf(p, sizeof(p), "%s/none.cimtrace", dir);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "none.cimtrace: cannot open: No such file");
	done_dir(dir);
}

/* Appends a frame holding the n bytes of body to f: its length, the body and
 * the CRC-32C of both, as the writer frames it. */
static void put_frame(FILE *f, const void *body, uint32_t n)
{
	unsigned char *b = malloc((size_t)n + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	trace_put_u32le(b, n);
	memcpy(b + 4, body, n);
	trace_put_u32le(b + 4 + n, trace_crc32c(0, b, (size_t)n + 4));
	CU_ASSERT_FATAL(fwrite(b, 1, (size_t)n + 8, f) == (size_t)n + 8);
	free(b);
}

/* A file of the prefix, a header (rank of nranks, one resource, the key
 * rank given twice when twice), and then the body after it. */
static void crafted(const char *path, uint32_t rank, uint32_t nranks, bool twice, const void *body,
		    uint32_t n)
{
	FILE *f = fopen(path, "wb");
	unsigned char pre[TRACE_PREFIX];
	msgpack_sbuffer sb;
	msgpack_packer pk;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memcpy(pre, TRACE_MAGIC, TRACE_MAGIC_LEN);
	trace_put_u32le(pre + TRACE_MAGIC_LEN, CIM_TRACE_VERSION);
	fwrite(pre, 1, sizeof(pre), f);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, TAG_HEADER);
	msgpack_pack_map(&pk, twice ? 6 : 5);
	const char *keys[] = { "rank", "nranks", "level", "time_unit", "resources" };
	for (int i = 0; i < 5; i++) {
		msgpack_pack_str(&pk, strlen(keys[i]));
		msgpack_pack_str_body(&pk, keys[i], strlen(keys[i]));
		if (i == 0 || i == 1) {
			msgpack_pack_uint32(&pk, i == 0 ? rank : nranks);
		} else if (i == 2 || i == 3) {
			const char *v = i == 2 ? "op" : "ps";
			msgpack_pack_str(&pk, 2);
			msgpack_pack_str_body(&pk, v, 2);
		} else {
			msgpack_pack_array(&pk, 1);
			msgpack_pack_str(&pk, 3);
			msgpack_pack_str_body(&pk, "xb0", 3);
		}
	}
	if (twice) {
		msgpack_pack_str(&pk, 9);
		msgpack_pack_str_body(&pk, "resources", 9);
		msgpack_pack_array(&pk, 0);
	}
	put_frame(f, sb.data, (uint32_t)sb.size);
	msgpack_sbuffer_destroy(&sb);
	if (n)
		put_frame(f, body, n);
	fclose(f);
}

/* What a hostile file may claim: that a 4 kB frame holds 2^32 items (which
 * msgpack would allocate 96 GiB for before reading them), a key twice (the
 * first value leaked), a rank beyond the ranks, a resource the header does
 * not name. */
static void test_hostile_frames(void)
{
	char *dir = fresh_dir(), p[4096];
	struct readback rb;
	unsigned char big[4000] = { 0x92, TAG_OP, 0xdd, 0xff, 0xff, 0xff, 0xff };

	snprintf(p, sizeof(p), "%s/x.cimtrace", dir);
	crafted(p, 0, 1, false, big, sizeof(big));
	read_all(p, 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "not one well-formed msgpack object of its 4000 bytes");
	rb_free(&rb);
	/* a map of 2^31 pairs, and lists nested deeper than 8 */
	unsigned char map[64] = { 0x92, TAG_OP, 0xdf, 0x80, 0, 0, 0 };
	crafted(p, 0, 1, false, map, sizeof(map));
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "not one well-formed msgpack object");
	rb_free(&rb);
	unsigned char deep[16] = { 0x92, TAG_OP };
	memset(deep + 2, 0x91, 13);
	deep[15] = 0x00;
	crafted(p, 0, 1, false, deep, sizeof(deep));
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "not one well-formed msgpack object");
	rb_free(&rb);
	/* a well-formed body with a byte after it */
	unsigned char extra[3] = { 0x91, TAG_OP, 0xc0 };
	crafted(p, 0, 1, false, extra, sizeof(extra));
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "not one well-formed msgpack object of its 3 bytes");
	rb_free(&rb);
	crafted(p, 0, 1, true, NULL, 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "header: key resources is given twice");
	rb_free(&rb);
	crafted(p, 3, 2, false, NULL, 0);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg, "header: rank 3 of 2 ranks");
	rb_free(&rb);
	/* an op on resource 7 of a header that names one */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1 + TRACE_OP_FIELDS);
	msgpack_pack_uint64(&pk, TAG_OP);
	const uint64_t fields[] = { 10, 20, 7, UINT32_MAX, 0 };
	for (int i = 0; i < 5; i++)
		msgpack_pack_uint64(&pk, fields[i]);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "q", 1);
	for (int i = 0; i < 5; i++)
		msgpack_pack_uint64(&pk, 0); /* layer … bytes */
	msgpack_pack_array(&pk, CIM_E_NCOMP);
	for (int i = 0; i < CIM_E_NCOMP; i++)
		msgpack_pack_double(&pk, 1.0);
	msgpack_pack_uint64(&pk, 1);
	crafted(p, 0, 1, false, sb.data, (uint32_t)sb.size);
	read_all(p, 0, &rb);
	CIM_ASSERT_HAS(rb.err.msg,
		       "an op record on resource 7 (and 4294967295); the header names 1");
	rb_free(&rb);
	msgpack_sbuffer_destroy(&sb);
	done_dir(dir);
}

/* ----------------------------------------------------------- aborting */

static void test_abort_partial(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	struct syn_ev ev[SYN_MAX_EVENTS];
	size_t n = syn_events(0, ev);

	/* small buffers: some are in flight when the run stops */
	syn_config(&c, dir, 0, CIM_TRACE_OP);
	c.buffer_bytes = CIM_TRACE_MIN_BUFFER;
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	syn_feed(w, ev, n);
	cim_trace_abort(w, "aborted");

	struct readback rb;
	read_all(rank_path(dir, 0), 0, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, 0);
	CU_ASSERT(rb.partial);
	CIM_ASSERT_HAS(rb.note, "the trailer marks the trace partial (aborted)");
	CIM_ASSERT_EQ_U64(rb.n, n); /* nothing lost */
	CU_ASSERT(rb.has_tot && !rb.tot.complete);
	rb_free(&rb);
	read_all(rank_path(dir, 0), CIM_TRACE_STRICT, &rb);
	CIM_ASSERT_EQ_U64(rb.rc, -1);
	CIM_ASSERT_HAS(rb.err.msg, "partial");
	rb_free(&rb);

	/* merging: what is held is written too */
	syn_config(&c, dir, 1, CIM_TRACE_STEP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	syn_feed(w, ev, n);
	cim_trace_abort(w, "aborted");
	read_all(rank_path(dir, 1), 0, &rb);
	CU_ASSERT(rb.partial && rb.has_tot);
	CIM_ASSERT_EQ_U64(rb.tot.events[CIM_TREC_OP], 36);
	CIM_ASSERT_EQ_U64(rb.tot.records[CIM_TREC_OP], 6);
	rb_free(&rb);
	done_dir(dir);
}

static void test_abort_all(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w0, *w1;
	struct cim_err err;
	struct syn_ev ev[SYN_MAX_EVENTS];

	syn_config(&c, dir, 0, CIM_TRACE_OP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w0, &err) == 0);
	syn_config(&c, dir, 1, CIM_TRACE_OP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w1, &err) == 0);
	syn_feed(w0, ev, syn_events(0, ev));
	syn_feed(w1, ev, syn_events(1, ev));
	cim_trace_abort_all("aborted");
	for (uint32_t r = 0; r < 2; r++) {
		struct readback rb;
		read_all(rank_path(dir, r), 0, &rb);
		CIM_ASSERT_EQ_U64(rb.rc, 0);
		CU_ASSERT(rb.partial);
		CIM_ASSERT_EQ_U64(rb.n, syn_events(r, ev));
		rb_free(&rb);
	}
	done_dir(dir);
}

/* An abort keeps the reason the caller gives (the coordinator names the
 * signal) in the trailer. */
static void test_abort_reason(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	struct syn_ev ev[SYN_MAX_EVENTS];

	syn_config(&c, dir, 0, CIM_TRACE_OP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	syn_feed(w, ev, syn_events(0, ev));
	cim_trace_probe_poll(w);
	cim_trace_abort(w, "interrupted by signal 2 (SIGINT)");

	struct readback rb;
	read_all(rank_path(dir, 0), 0, &rb);
	CU_ASSERT(rb.partial);
	CIM_ASSERT_HAS(rb.note, "interrupted by signal 2 (SIGINT)");
	CIM_ASSERT_EQ_U64(rb.n, syn_events(0, ev));
	rb_free(&rb);
	done_dir(dir);
}

/* ---------------------------------------------------------- I/O errors */

static void test_io_errors(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	char p[4096];

	/* a directory under a regular file */
	snprintf(p, sizeof(p), "%s/file", dir);
	CU_ASSERT_FATAL(tf_write(p, "x", 1) == 0);
	snprintf(p, sizeof(p), "%s/file/sub", dir);
	syn_config(&c, p, 0, CIM_TRACE_OP);
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "/file/sub': '");
	CIM_ASSERT_HAS(err.msg, "/file' exists and is not a directory");

	/* mkdir -p of a deep path works */
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	syn_config(&c, p, 0, CIM_TRACE_OP);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	CU_ASSERT(cim_trace_close(w, &err) == 0);

	/* a file that refuses every byte (/dev/full): at open */
	snprintf(p, sizeof(p), "%s/full", dir);
	mkdir(p, 0777);
	if (symlink("/dev/full", tf_path(p, "rank-00000.cimtrace")) == 0) {
		syn_config(&c, p, 0, CIM_TRACE_OP);
		CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
		CIM_ASSERT_HAS(err.msg, "rank-00000.cimtrace': cannot write: No space left");
	}

	/* a file that may not grow past 8 KiB: the thread pool's writes fail,
	 * recording goes on, close reports the first failure */
	struct rlimit old, lim;
	struct syn_ev ev[SYN_MAX_EVENTS];
	size_t n = syn_events(0, ev);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 8192;
	signal(SIGXFSZ, SIG_IGN);
	syn_config(&c, dir, 0, CIM_TRACE_OP);
	c.buffer_bytes = CIM_TRACE_MIN_BUFFER;
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (int k = 0; k < 10; k++) {
		syn_feed(w, ev, n);
		cim_trace_poll(w);
	}
	int rc = cim_trace_close(w, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CIM_ASSERT_EQ_U64(rc, -1);
	CIM_ASSERT_HAS(err.msg, "rank-00000.cimtrace: writing");
	CIM_ASSERT_HAS(err.msg, "at byte offset");
	CIM_ASSERT_HAS(err.msg, "the trace is incomplete");
	done_dir(dir);
}

static void test_config_errors(void)
{
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;

	syn_config(&c, "/tmp/never-created-by-cimsim", 0, CIM_TRACE_OP);
	c.buffer_bytes = 100;
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "buffer of 100 bytes; expected 4096");
	c.buffer_bytes = 0;
	c.buffers = 1;
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "1 buffers; expected 2 to 8");
	c.buffers = 0;
	c.dir = "";
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "no directory");
	/* CIMSIM_TRACE_BUFFER sets the default size, checked like the field */
	c.dir = "/tmp/never-created-by-cimsim";
	setenv("CIMSIM_TRACE_BUFFER", "4096x", 1);
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "CIMSIM_TRACE_BUFFER: expected 4096 to 1073741824 bytes, "
				"found \"4096x\"");
	setenv("CIMSIM_TRACE_BUFFER", "4095", 1);
	CU_ASSERT(cim_trace_open(&c, &w, &err) == -1);
	char *dir = fresh_dir();
	c.dir = dir;
	setenv("CIMSIM_TRACE_BUFFER", "4096", 1);
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	unsetenv("CIMSIM_TRACE_BUFFER");
	struct syn_ev ev[SYN_MAX_EVENTS];
	for (int i = 0; i < 4; i++) /* about 3.3 KB each */
		syn_feed(w, ev, syn_events(0, ev));
	struct cim_trace_stats st;
	cim_trace_writer_stats(w, &st);
	/* buffers of 4096 bytes were handed over before close (none of 4 MiB
	 * would have been) */
	CU_ASSERT(st.bytes > 2 * 4096);
	CU_ASSERT(st.writes >= 2);
	CU_ASSERT(cim_trace_close(w, &err) == 0);
	done_dir(dir);
	/* tracing off: a NULL writer does nothing */
	syn_feed(NULL, ev, syn_events(0, ev));
	cim_trace_poll(NULL);
	CU_ASSERT(cim_trace_close(NULL, &err) == 0);
	cim_trace_abort(NULL, "aborted");
}

/* ------------------------------------------------------------ options */

static void test_rank_filter(void)
{
	struct cim_trace_ranks r;
	struct cim_err err;

	CU_ASSERT_FATAL(cim_trace_ranks_parse("0,3-5", &r, &err) == 0);
	CU_ASSERT(cim_trace_ranks_has(&r, 0));
	CU_ASSERT(!cim_trace_ranks_has(&r, 1));
	CU_ASSERT(!cim_trace_ranks_has(&r, 2));
	CU_ASSERT(cim_trace_ranks_has(&r, 3));
	CU_ASSERT(cim_trace_ranks_has(&r, 4));
	CU_ASSERT(cim_trace_ranks_has(&r, 5));
	CU_ASSERT(!cim_trace_ranks_has(&r, 6));
	CU_ASSERT(cim_trace_ranks_check(&r, 6, &err) == 0);
	CU_ASSERT(cim_trace_ranks_check(&r, 4, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "rank 5 is not in this run of 4 ranks (0-3)");
	CU_ASSERT_FATAL(cim_trace_ranks_parse("all", &r, &err) == 0);
	CU_ASSERT(cim_trace_ranks_has(&r, 12345));
	CU_ASSERT_FATAL(cim_trace_ranks_parse("7", &r, &err) == 0);
	CU_ASSERT(cim_trace_ranks_has(&r, 7) && !cim_trace_ranks_has(&r, 6));

	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "", "found nothing" },
		{ "3-", "\"3-\" is wrong at character 3" },
		{ "a", "\"a\" is wrong at character 1" },
		{ "01", "\"01\" is wrong at character 1" },
		{ "1,,2", "\"1,,2\" is wrong at character 3" },
		{ "1 ,2", "\"1 ,2\" is wrong at character 2" },
		{ "-1", "is wrong at character 1" },
		{ "5-3", "range 5-3 goes down (write 3-5)" },
		{ "99999999999", "rank 99999999999 is above 4294967294, the highest allowed" },
		{ "0-4294967295", "rank 4294967295 is above 4294967294" }, /* UINT32_MAX */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.n = 99;
		CU_ASSERT(cim_trace_ranks_parse(bad[i].in, &r, &err) == -1);
		CIM_ASSERT_HAS(err.msg, bad[i].msg);
		CIM_ASSERT_EQ_U64(r.n, 99); /* untouched on failure */
	}
}

static void test_level_names(void)
{
	enum cim_trace_level l;
	struct cim_err err;

	for (int i = 0; i < 3; i++) {
		CU_ASSERT(cim_trace_level_parse(level_word[i], &l, &err) == 0);
		CIM_ASSERT_EQ_U64(l, i);
		CU_ASSERT_STRING_EQUAL(cim_trace_level_name(l), level_word[i]);
	}
	CU_ASSERT(cim_trace_level_parse("ops", &l, &err) == -1);
	CIM_ASSERT_HAS(err.msg, "expected op, layer or step; found \"ops\"");
}

/* ------------------------------------------------------------- export */

struct xspan {
	long long pid, tid, start, end;
};

static int by_track(const void *a, const void *b)
{
	const struct xspan *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

struct export_check {
	size_t x, s, f, counters, overlaps, unbound, lanes;
	bool ids_paired;
	struct jval doc;
};

/* Exports dir, parses the JSON back and checks what holds for any run:
 * spans never overlap on a track, every flow start has one end and both
 * sit inside a span of their track. */
static void export_and_check(const char *dir, struct export_check *k)
{
	char *buf = NULL;
	size_t len = 0;
	struct cim_err err;
	char jerr[160];
	FILE *f = open_memstream(&buf, &len);

	memset(k, 0, sizeof(*k));
	CU_ASSERT_FATAL(f != NULL);
	int rc = cim_trace_export_chrome(dir, f, 0, NULL, &err);
	fclose(f);
	CIM_ASSERT_EQ_U64(rc, 0);
	if (rc)
		fprintf(stderr, "\n  %s\n", err.msg);
	bool ok = json_parse(buf, len, &k->doc, jerr);
	if (!ok)
		fprintf(stderr, "\n  invalid JSON: %s\n", jerr);
	CU_ASSERT_FATAL(ok);
	free(buf);

	const struct jval *evs = jget(&k->doc, "traceEvents");
	CU_ASSERT_FATAL(evs && evs->t == J_ARR);
	struct xspan *sp = calloc(evs->n + 1, sizeof(*sp));
	long long *sid = calloc(evs->n + 1, sizeof(*sid)), *fid = calloc(evs->n + 1, sizeof(*fid));
	size_t nsp = 0;
	for (size_t i = 0; i < evs->n; i++) {
		const struct jval *e = &evs->items[i];
		const char *ph = jgets(e, "ph");
		if (strcmp(ph, "X") == 0) {
			long long ts = jps(e, "ts"), dur = jps(e, "dur");
			CU_ASSERT(ts >= 0 && dur >= 0);
			sp[nsp++] =
			    (struct xspan){ jgetll(e, "pid"), jgetll(e, "tid"), ts, ts + dur };
			k->x++;
		} else if (strcmp(ph, "s") == 0) {
			sid[k->s++] = jgetll(e, "id");
		} else if (strcmp(ph, "f") == 0) {
			CU_ASSERT_STRING_EQUAL(jgets(e, "bp"), "e");
			fid[k->f++] = jgetll(e, "id");
		} else if (strcmp(ph, "C") == 0) {
			k->counters++;
		} else if (strcmp(ph, "M") == 0) {
			const char *n = jgets(jget(e, "args"), "name");
			if (strcmp(jgets(e, "name"), "thread_name") == 0 && strstr(n, " ("))
				k->lanes++;
		} else {
			CU_FAIL("unexpected phase");
		}
	}
	qsort(sp, nsp, sizeof(*sp), by_track);
	for (size_t i = 1; i < nsp; i++)
		if (sp[i].pid == sp[i - 1].pid && sp[i].tid == sp[i - 1].tid &&
		    sp[i].start < sp[i - 1].end)
			k->overlaps++;
	/* every flow event inside a span of its track */
	for (size_t i = 0; i < evs->n; i++) {
		const struct jval *e = &evs->items[i];
		const char *ph = jgets(e, "ph");
		if (strcmp(ph, "s") && strcmp(ph, "f"))
			continue;
		long long pid = jgetll(e, "pid"), tid = jgetll(e, "tid"), ts = jps(e, "ts");
		bool in = false;
		for (size_t j = 0; j < nsp && !in; j++)
			in = sp[j].pid == pid && sp[j].tid == tid && sp[j].start <= ts &&
			     ts <= sp[j].end;
		k->unbound += !in;
	}
	/* ids: each start has exactly one end */
	k->ids_paired = k->s == k->f;
	for (size_t i = 0; i < k->s && k->ids_paired; i++) {
		size_t ns = 0, nf = 0;
		for (size_t j = 0; j < k->s; j++)
			ns += sid[j] == sid[i];
		for (size_t j = 0; j < k->f; j++)
			nf += fid[j] == sid[i];
		k->ids_paired = ns == 1 && nf == 1;
	}
	free(sp);
	free(sid);
	free(fid);
}

/* The first event of phase ph named name on pid, or NULL. */
static const struct jval *find_event(const struct jval *doc, const char *ph, const char *name,
				     long long pid)
{
	const struct jval *evs = jget(doc, "traceEvents");
	for (size_t i = 0; evs && i < evs->n; i++) {
		const struct jval *e = &evs->items[i];
		if (strcmp(jgets(e, "ph"), ph) == 0 && strcmp(jgets(e, "name"), name) == 0 &&
		    jgetll(e, "pid") == pid)
			return e;
	}
	return NULL;
}

static void test_export_chrome(void)
{
	char *dir = fresh_dir();
	struct cim_err err;
	struct export_check k;

	CU_ASSERT_FATAL(syn_write_run(dir, CIM_TRACE_OP, 0, &err) == 0);
	export_and_check(dir, &k);
	/* spans: rank 0 36 ops + 12 attn on the KV port too + 12 all-reduces +
	 * 12 messages = 72; rank 1 36 + 12 + 12 = 60; rank 2 42 + 12 + 12 = 66 */
	CIM_ASSERT_EQ_U64(k.x, 198);
	CIM_ASSERT_EQ_U64(k.overlaps, 0);
	CIM_ASSERT_EQ_U64(k.lanes, 0); /* nothing overlaps, so one lane each */
	/* 6 activations 0 → 2 and 6 tokens 2 → 0 */
	CIM_ASSERT_EQ_U64(k.s, 12);
	CIM_ASSERT_EQ_U64(k.f, 12);
	CU_ASSERT(k.ids_paired);
	CIM_ASSERT_EQ_U64(k.unbound, 0);
	CU_ASSERT(k.counters > 0);

	const struct jval *d = &k.doc;
	CU_ASSERT_STRING_EQUAL(jgets(d, "displayTimeUnit"), "ns");
	CIM_ASSERT_HAS(jgets(jget(d, "otherData"), "time_unit"),
		       "microseconds of virtual (simulated) time");
	CIM_ASSERT_EQ_U64(jgetll(jget(d, "otherData"), "unmatched_messages"), 0);
	const struct jval *pn = find_event(d, "M", "process_name", 2);
	CU_ASSERT_FATAL(pn != NULL);
	CU_ASSERT_STRING_EQUAL(jgets(jget(pn, "args"), "name"),
			       "stage 1 · tp 0 · rank 2 (test-chip)");
	/* rank 0's first power value: q_proj of layer 0 alone, 1.875 pJ over
	 * 1000 ps = 0.001875 W, from t = 0 */
	const struct jval *pw = find_event(d, "C", "power", 0);
	CU_ASSERT_FATAL(pw != NULL);
	CIM_ASSERT_EQ_U64(jps(pw, "ts"), 0);
	const struct jval *wv = jget(jget(pw, "args"), "W");
	CU_ASSERT_FATAL(wv && wv->t == J_NUM);
	CIM_ASSERT_REL(atof(wv->s), 0.001875, 1e-15);
	/* link bandwidth: 16384 bytes over 1000 ps = 1.6384e13 B/s */
	const struct jval *bw = find_event(d, "C", "link send", 0);
	CU_ASSERT_FATAL(bw != NULL);
	CIM_ASSERT_REL(atof(jget(jget(bw, "args"), "B/s")->s), 1.6384e13, 1e-15);
	/* the attention's span on the KV port points at its energy */
	const struct jval *evs = jget(d, "traceEvents");
	bool energy_on = false;
	for (size_t i = 0; i < evs->n; i++)
		if (strcmp(jgets(jget(&evs->items[i], "args"), "energy_on"), "digital") == 0)
			energy_on = true;
	CU_ASSERT(energy_on);
	/* a q_proj slice: ts and dur exact, energy by component */
	const struct jval *q = find_event(d, "X", "q_proj", 1);
	CU_ASSERT_FATAL(q != NULL);
	CIM_ASSERT_EQ_U64(jps(q, "dur"), 1000);
	const struct jval *e = jget(jget(q, "args"), "energy_pj");
	CU_ASSERT(jget(e, "adc") && strcmp(jget(e, "adc")->s, "0.5") == 0);
	jfree(&k.doc);

	/* the other levels export as well */
	for (int l = 1; l < 3; l++) {
		char *d2 = fresh_dir();
		CU_ASSERT_FATAL(syn_write_run(d2, (enum cim_trace_level)l, 0, &err) == 0);
		export_and_check(d2, &k);
		CIM_ASSERT_EQ_U64(k.overlaps, 0);
		CIM_ASSERT_EQ_U64(k.s, 12);
		CU_ASSERT(k.ids_paired);
		CIM_ASSERT_EQ_U64(k.unbound, 0);
		jfree(&k.doc);
		done_dir(d2);
	}
	done_dir(dir);
}

/* Overlapping spans on one resource go to separate lanes; names that
 * need escaping or are cut mid-character still make valid JSON. */
static void test_export_lanes_and_names(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	struct syn_ev ev[4], *e = ev;
	struct export_check k;

	syn_config(&c, dir, 0, CIM_TRACE_OP);
	c.chip = "chip \"x\" \\ \x01 \xce";
	c.nranks = 1;
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	e = syn_op(e, 0, 2000, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "a", 0, 0, 0);
	e = syn_op(e, 1000, 2000, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "b", 0, 1, 0);
	e = syn_op(e, 2500, 100, CIM_RES_XBAR0, UINT32_MAX, CIM_OP_MATMUL, "\xe2\x86", 0, 2, 0);
	e = syn_op(e, 0, 100, CIM_RES_DIGITAL, UINT32_MAX, CIM_OP_NORM, "sixteen_chars_xx", 0, 0,
		   0);
	syn_feed(w, ev, (size_t)(e - ev));
	CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);
	export_and_check(dir, &k);
	CIM_ASSERT_EQ_U64(k.x, 4);
	CIM_ASSERT_EQ_U64(k.overlaps, 0);
	CIM_ASSERT_EQ_U64(k.lanes, 1); /* "xbar L0 (2)" */
	const struct jval *pn = find_event(&k.doc, "M", "process_name", 0);
	CU_ASSERT_FATAL(pn != NULL);
	CIM_ASSERT_HAS(jgets(jget(pn, "args"), "name"), "(chip \"x\" \\ \x01 \xef\xbf\xbd)");
	CU_ASSERT(find_event(&k.doc, "X", "sixteen_chars_xx", 0) != NULL);
	CU_ASSERT(find_event(&k.doc, "X", "\xef\xbf\xbd\xef\xbf\xbd", 0) != NULL);
	jfree(&k.doc);
	done_dir(dir);
}

/* The flow event of phase ph with the given id, or NULL. */
static const struct jval *find_flow(const struct jval *doc, const char *ph, long long id)
{
	const struct jval *evs = jget(doc, "traceEvents");
	for (size_t i = 0; evs && i < evs->n; i++) {
		const struct jval *e = &evs->items[i];
		if (strcmp(jgets(e, "ph"), ph) == 0 && jgetll(e, "id") == id)
			return e;
	}
	return NULL;
}

/* The X slice named name on pid, its track and span, or false. */
static bool find_slice(const struct jval *doc, const char *name, long long pid, struct xspan *out)
{
	const struct jval *e = find_event(doc, "X", name, pid);
	if (!e)
		return false;
	*out = (struct xspan){ pid, jgetll(e, "tid"), jps(e, "ts"), jps(e, "ts") + jps(e, "dur") };
	return true;
}

/* The flow of the message whose send slice is send_name on sender and
 * whose receive slice is recv_name on receiver: its start and its end. */
static void flow_of(const struct jval *doc, const char *send_name, long long sender,
		    const char *recv_name, long long receiver, const struct jval **s_out,
		    const struct jval **f_out, struct xspan *send_out, struct xspan *recv_out)
{
	*s_out = *f_out = NULL;
	CU_ASSERT_FATAL(find_slice(doc, send_name, sender, send_out));
	CU_ASSERT_FATAL(find_slice(doc, recv_name, receiver, recv_out));
	const struct jval *evs = jget(doc, "traceEvents");
	for (size_t i = 0; i < evs->n; i++) {
		const struct jval *e = &evs->items[i];
		long long ts = jps(e, "ts");
		if (strcmp(jgets(e, "ph"), "s") == 0 && jgetll(e, "pid") == sender &&
		    jgetll(e, "tid") == send_out->tid && ts >= send_out->start &&
		    ts <= send_out->end)
			*s_out = e;
	}
	CU_ASSERT_FATAL(*s_out != NULL);
	*f_out = find_flow(doc, "f", jgetll(*s_out, "id"));
	CU_ASSERT_FATAL(*f_out != NULL);
}

/*
 * A message's arrow starts on the sender's send slice at departure and
 * ends on the receiver's receive slice at arrival ("bp":"e"), each a
 * nanosecond inside its slice so that no viewer binds it to a slice that
 * touches it: here a collective ends on the sender's link track exactly
 * when the message departs, and one starts on the receiver's exactly when
 * it arrives.  A message shorter than 2 ns has both ends at its middle.
 */
static void test_export_flow_direction(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	struct syn_ev ev[8], *e;
	struct export_check k;

	for (uint32_t r = 0; r < 2; r++) {
		syn_config(&c, dir, r, CIM_TRACE_OP);
		c.nranks = 2;
		CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
		e = ev;
		if (r == 0) {
			/* all-reduce [40, 100) ns, then activations 0 → 1 over
			 * [100, 160) ns; a token 1 → 0 over [300, 301) ns */
			e = syn_coll(e, 40000, 0, 0, 0);
			e[-1].u.coll.finish_ps = 100000;
			e = syn_msg(e, 100000, 1, CIM_MSG_ACT, true, 0, 0);
			e[-1].u.msg.arrive_ps = 160000;
			e = syn_msg(e, 300000, 1, CIM_MSG_TOKEN, false, 0, 0);
		} else {
			e = syn_msg(e, 100000, 0, CIM_MSG_ACT, false, 0, 0);
			e[-1].u.msg.arrive_ps = 160000;
			/* all-reduce [160, 200) ns: it starts as the message arrives */
			e = syn_coll(e, 160000, 0, 0, 0);
			e[-1].u.coll.finish_ps = 200000;
			e = syn_msg(e, 300000, 0, CIM_MSG_TOKEN, true, 0, 0);
		}
		syn_feed(w, ev, (size_t)(e - ev));
		CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);
	}
	export_and_check(dir, &k);
	CIM_ASSERT_EQ_U64(k.s, 2);
	CIM_ASSERT_EQ_U64(k.f, 2);
	CU_ASSERT(k.ids_paired);
	CIM_ASSERT_EQ_U64(k.unbound, 0);
	CIM_ASSERT_EQ_U64(k.lanes, 0); /* the touching slices share a track */

	/* activations 0 → 1, 60 ns: from 101 ns on rank 0 to 159 ns on rank 1 */
	const struct jval *fs, *ff;
	struct xspan snd, rcv, coll;
	flow_of(&k.doc, "send act → 1", 0, "recv act ← 0", 1, &fs, &ff, &snd, &rcv);
	CIM_ASSERT_EQ_U64(snd.start, 100000);
	CIM_ASSERT_EQ_U64(rcv.end, 160000);
	CIM_ASSERT_EQ_U64(jps(fs, "ts"), 101000);
	CIM_ASSERT_EQ_U64(jgetll(ff, "pid"), 1);
	CIM_ASSERT_EQ_U64(jgetll(ff, "tid"), rcv.tid);
	CU_ASSERT_STRING_EQUAL(jgets(ff, "bp"), "e");
	CIM_ASSERT_EQ_U64(jps(ff, "ts"), 159000);
	CU_ASSERT(jget(fs, "bp") == NULL); /* a start binds to its enclosing slice */
	/* strictly inside: not on the collectives that touch the message */
	CU_ASSERT_FATAL(find_slice(&k.doc, "all-reduce", 0, &coll));
	CIM_ASSERT_EQ_U64(coll.tid, snd.tid);
	CIM_ASSERT_EQ_U64(coll.end, snd.start);
	CU_ASSERT(jps(fs, "ts") > coll.end && jps(fs, "ts") < snd.end);
	CU_ASSERT_FATAL(find_slice(&k.doc, "all-reduce", 1, &coll));
	CIM_ASSERT_EQ_U64(coll.tid, rcv.tid);
	CIM_ASSERT_EQ_U64(coll.start, rcv.end);
	CU_ASSERT(jps(ff, "ts") > rcv.start && jps(ff, "ts") < coll.start);

	/* the token 1 → 0 lasts 1 ns: both ends at 300.5 ns, the start on
	 * rank 1 (the sender, although its file is read second) */
	flow_of(&k.doc, "send token → 0", 1, "recv token ← 1", 0, &fs, &ff, &snd, &rcv);
	CIM_ASSERT_EQ_U64(jps(fs, "ts"), 300500);
	CIM_ASSERT_EQ_U64(jgetll(ff, "pid"), 0);
	CIM_ASSERT_EQ_U64(jps(ff, "ts"), 300500);
	jfree(&k.doc);
	done_dir(dir);
}

/* Files that do not belong together are refused; other names ignored. */
static void test_run_directory(void)
{
	char *dir = fresh_dir();
	struct cim_trace_config c;
	struct cim_trace_writer *w;
	struct cim_err err;
	char a[4096], b[4096];
	FILE *devnull = fopen("/dev/null", "w");

	CU_ASSERT_FATAL(syn_write_run(dir, CIM_TRACE_OP, 0, &err) == 0);
	CU_ASSERT_FATAL(tf_write(tf_path(dir, "notes.txt"), "hi", 2) == 0);
	CU_ASSERT_FATAL(tf_write(tf_path(dir, "rank-1.cimtrace"), "hi", 2) == 0);
	CIM_ASSERT_EQ_U64(cim_trace_export_chrome(dir, devnull, 0, NULL, &err), 0);

	/* a stale file of another run */
	syn_config(&c, dir, 1, CIM_TRACE_OP);
	c.run_id = 7;
	CU_ASSERT_FATAL(cim_trace_open(&c, &w, &err) == 0);
	CU_ASSERT_FATAL(cim_trace_close(w, &err) == 0);
	CIM_ASSERT_EQ_U64(cim_trace_export_chrome(dir, devnull, 0, NULL, &err),
			  (uint64_t)(int64_t)CIM_TRACE_ERR_INPUT);
	CIM_ASSERT_HAS(err.msg, "rank-00001.cimtrace: from another run");

	/* a renamed file */
	CU_ASSERT_FATAL(syn_write_run(dir, CIM_TRACE_OP, 0, &err) == 0);
	snprintf(a, sizeof(a), "%s", rank_path(dir, 1));
	snprintf(b, sizeof(b), "%s", rank_path(dir, 4));
	CU_ASSERT_FATAL(rename(a, b) == 0);
	CIM_ASSERT_EQ_U64(cim_trace_export_chrome(dir, devnull, 0, NULL, &err),
			  (uint64_t)(int64_t)CIM_TRACE_ERR_INPUT);
	CIM_ASSERT_HAS(err.msg, "rank-00004.cimtrace: holds the trace of rank 1, not 4");
	done_dir(dir);

	/* no traces */
	dir = fresh_dir();
	CIM_ASSERT_EQ_U64(cim_trace_export_chrome(dir, devnull, 0, NULL, &err),
			  (uint64_t)(int64_t)CIM_TRACE_ERR_INPUT);
	CIM_ASSERT_HAS(err.msg, "no trace files");
	done_dir(dir);
	fclose(devnull);
}

/* ------------------------------------------------------------ summary */

static const struct cim_trace_summary_row *
find_row(const struct cim_trace_summary *s, uint32_t rank, const char *kind, const char *name)
{
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].rank == rank && strcmp(s->rows[i].kind, kind) == 0 &&
		    strcmp(s->rows[i].name, name) == 0)
			return &s->rows[i];
	return NULL;
}

static void test_summary(void)
{
	char *dir = fresh_dir();
	struct cim_err err;
	struct cim_trace_summary *s;

	CU_ASSERT_FATAL(syn_write_run(dir, CIM_TRACE_OP, 0, &err) == 0);
	CU_ASSERT_FATAL(cim_trace_summarize(dir, CIM_TRACE_STRICT, NULL, &s, &err) == 0);
	/* pass 5 starts at 100000; rank 2's token arrives 23000 later */
	CIM_ASSERT_EQ_U64(s->makespan_ps, 123000);
	CIM_ASSERT_EQ_U64(s->nfiles, 3);
	CIM_ASSERT_EQ_U64(s->nranks, 3);

	/* rank 0 q_proj: 2 layers · 6 passes; 12 · 1000 ps; per pass
	 * 1.875 + 2.875 = 4.75 pJ, · 6 = 28.5 pJ */
	const struct cim_trace_summary_row *x = find_row(s, 0, "matmul", "q_proj");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 12);
	CIM_ASSERT_EQ_U64(x->busy_ps, 12000);
	CIM_ASSERT_REL(x->energy_pj, 28.5, 0);
	/* rank 1 attention: 12 · 1000 ps, 12 · 2.5 pJ */
	x = find_row(s, 1, "attn_qk", "attn");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 12);
	CIM_ASSERT_EQ_U64(x->busy_ps, 12000);
	CIM_ASSERT_REL(x->energy_pj, 30.0, 0);
	/* rank 2 LM head: 6 · 1000 ps, 6 · (0 + 0.5 + 0.25 + 0.125) pJ */
	x = find_row(s, 2, "matmul", "lm_head");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 6);
	CIM_ASSERT_REL(x->energy_pj, 5.25, 0);
	/* messages and collectives of rank 0 */
	x = find_row(s, 0, "send", "act");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 6);
	CIM_ASSERT_EQ_U64(x->busy_ps, 6000);
	CIM_ASSERT_REL(x->energy_pj, 18.0, 0);
	x = find_row(s, 0, "recv", "token");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 6);
	x = find_row(s, 0, "collective", "all-reduce");
	CU_ASSERT_FATAL(x != NULL);
	CIM_ASSERT_EQ_U64(x->count, 12);
	CIM_ASSERT_REL(x->energy_pj, 9.0, 0);
	/* rows of a rank come longest busy first */
	for (size_t i = 1; i < s->nrows; i++)
		if (s->rows[i].rank == s->rows[i - 1].rank)
			CU_ASSERT(s->rows[i].busy_ps <= s->rows[i - 1].busy_ps);

	/* CSV: 12000 / 123000 = 0.0975609756…, 28.5 pJ = 2.85e-11 J */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT(cim_trace_summary_csv(s, f) == 0);
	fclose(f);
	CU_ASSERT(strncmp(buf,
			  "rank,stage,tp,replica,chip,kind,name,count,records,busy_ps,"
			  "busy_share,energy_j\n",
			  76) == 0);
	CIM_ASSERT_HAS(buf,
		       "\n0,0,0,0,test-chip,matmul,q_proj,12,12,12000,0.0975609756,2.85e-11\n");
	CIM_ASSERT_HAS(buf, "\n2,1,0,0,test-chip,matmul,lm_head,6,6,6000,0.0487804878,5.25e-12\n");
	free(buf);
	/* the table */
	buf = NULL;
	f = open_memstream(&buf, &len);
	cim_trace_summary_print(s, f);
	fclose(f);
	CIM_ASSERT_HAS(buf, "makespan 0.123000 us");
	CIM_ASSERT_HAS(buf, "rank 2 · stage 1 · tp 0 · replica 0 (test-chip)");
	free(buf);
	cim_trace_summary_destroy(s);

	/* at level step the energy per rank is the same */
	char *d2 = fresh_dir();
	CU_ASSERT_FATAL(syn_write_run(d2, CIM_TRACE_STEP, 0, &err) == 0);
	CU_ASSERT_FATAL(cim_trace_summarize(d2, 0, NULL, &s, &err) == 0);
	double e0 = 0;
	uint64_t ops = 0;
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].rank == 0) {
			e0 += s->rows[i].energy_pj;
			if (strcmp(s->rows[i].kind, "mixed") == 0)
				ops += s->rows[i].count;
		}
	/* 36 + 12 + 6 + 3 + 24 + 6 (ops) + 18 (sends) + 9 (all-reduces) */
	CIM_ASSERT_REL(e0, 114.0, 0);
	CIM_ASSERT_EQ_U64(ops, 36);
	cim_trace_summary_destroy(s);
	done_dir(d2);
	done_dir(dir);
}

static const struct cim_test tests[] = {
	{ "crc32c check value", test_crc32c },
	{ "crc32c: tables and SSE4.2 agree", test_crc_implementations },
	{ "inline msgpack encoders match msgpack-c", test_msgpack_encoding },
	{ "three ranks written and read back identical", test_roundtrip },
	{ "a served load's time series", test_sched_series },
	{ "levels op, layer, step keep every energy", test_levels_keep_energy },
	{ "merging with interleaved micro-batches", test_merge_interleaved },
	{ "buffer rollover, two buffers", test_rollover_double },
	{ "buffer rollover, three buffers", test_rollover_triple },
	{ "a file cut at every byte reads as partial", test_truncated_everywhere },
	{ "a corrupted byte is named with its offset", test_corrupted_byte },
	{ "hostile frames: huge lists, keys twice, ranks and resources out of range",
	  test_hostile_frames },
	{ "foreign files are refused", test_foreign_files },
	{ "abort writes a readable partial file", test_abort_partial },
	{ "abort_all ends every writer", test_abort_all },
	{ "abort keeps the reason it is given", test_abort_reason },
	{ "I/O errors are reported, never silent", test_io_errors },
	{ "bad configurations are refused", test_config_errors },
	{ "rank filter 0,3-5", test_rank_filter },
	{ "level names", test_level_names },
	{ "Chrome JSON export", test_export_chrome },
	{ "export lanes and escaping", test_export_lanes_and_names },
	{ "flow arrows: send at departure to receive at arrival", test_export_flow_direction },
	{ "run directory checks", test_run_directory },
	{ "summary equals hand sums", test_summary },
};

CIM_TEST_MAIN("traces", tests)
