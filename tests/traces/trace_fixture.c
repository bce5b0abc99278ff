/*
 * trace_fixture.c — writes the trace directories the command-line tests of
 * `cimsim trace` read: the synthetic run of synth.h whole (ok/, layer/),
 * interrupted (partial/), damaged (corrupt/), a foreign file (foreign/)
 * and nothing (empty/).  Usage: trace_fixture DIR (replaced if present).
 */
#include "files.h"
#include "synth.h"
#include "trace_int.h"

static int fail(const char *what)
{
	fprintf(stderr, "trace_fixture: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	char ok[4096], sub[4096];
	struct cim_err err;
	struct syn_ev ev[SYN_MAX_EVENTS];
	size_t n;
	unsigned char *b;

	if (argc != 2)
		return fail("usage: trace_fixture DIR");
	tf_rmrf(argv[1]);
	if (mkdir(argv[1], 0777) != 0)
		return fail("cannot create DIR");
	snprintf(ok, sizeof(ok), "%s/ok", argv[1]);
	if (syn_write_run(ok, CIM_TRACE_OP, 0, &err))
		return fail(err.msg);
	snprintf(sub, sizeof(sub), "%s/layer", argv[1]);
	if (syn_write_run(sub, CIM_TRACE_LAYER, 0, &err))
		return fail(err.msg);

	/* partial: rank 1 aborted, rank 2 cut inside its last record */
	snprintf(sub, sizeof(sub), "%s/partial", argv[1]);
	if (syn_write_run(sub, CIM_TRACE_OP, 0, &err))
		return fail(err.msg);
	{
		struct cim_trace_config c;
		struct cim_trace_writer *w;
		syn_config(&c, sub, 1, CIM_TRACE_OP);
		if (cim_trace_open(&c, &w, &err))
			return fail(err.msg);
		syn_feed(w, ev, syn_events(1, ev) / 2);
		cim_trace_abort(w, "aborted");
	}
	char p[8192];
	snprintf(p, sizeof(p), "%s/rank-00002.cimtrace", sub);
	if (!(b = tf_read(p, &n)) || tf_write(p, b, n - 200))
		return fail("cannot cut rank 2");
	free(b);

	/* corrupt: one byte of rank 1 flipped */
	snprintf(sub, sizeof(sub), "%s/corrupt", argv[1]);
	if (syn_write_run(sub, CIM_TRACE_OP, 0, &err))
		return fail(err.msg);
	snprintf(p, sizeof(p), "%s/rank-00001.cimtrace", sub);
	if (!(b = tf_read(p, &n)))
		return fail("cannot read rank 1");
	b[n / 2] ^= 0x20;
	if (tf_write(p, b, n))
		return fail("cannot write rank 1");
	free(b);

	snprintf(sub, sizeof(sub), "%s/foreign", argv[1]);
	mkdir(sub, 0777);
	if (tf_write(tf_path(sub, "rank-00000.cimtrace"), "not a trace\n", 12))
		return fail("cannot write foreign/");
	snprintf(sub, sizeof(sub), "%s/empty", argv[1]);
	mkdir(sub, 0777);
	return 0;
}
