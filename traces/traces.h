/*
 * traces.h — per-rank trace files of a run: the writer the executor feeds
 * through its probe, the reader that validates a file, and what is made of
 * a run's files (one Chrome/Perfetto trace, a summary per chip).
 *
 * Each traced rank writes DIR/rank-NNNNN.cimtrace: a header, the records of
 * record.h packed with msgpack in checksummed frames, and a trailer with
 * counts and energy totals that proves the file complete.  The writer
 * appends into large buffers and hands full ones to libuv's thread pool
 * (uv_fs_write at an explicit offset, on a loop of its own) while recording
 * goes on in another buffer; the executor advances that loop between steps
 * with cim_trace_poll().  Recording an event makes no system call and no
 * allocation and never changes what the executor computes.  The byte layout
 * is in docs/traces.md.
 *
 * This part knows nothing of MPI: the executor decides which ranks trace
 * (cim_trace_ranks_has) and fills the header fields.  It is not where
 * statistics are gathered; the coordinator does that from the same records.
 */
#ifndef CIM_TRACES_TRACES_H
#define CIM_TRACES_TRACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"
#include "spec.h"

#define CIM_TRACE_VERSION	 2	    /* the file format this code writes and reads */
#define CIM_TRACE_DEFAULT_BUFFER (4u << 20) /* bytes per write buffer */
#define CIM_TRACE_MIN_BUFFER	 4096u
#define CIM_TRACE_MAX_BUFFER	 (1u << 30)
#define CIM_TRACE_MAX_BUFFERS	 8    /* buffers per writer: at most this − 1 in flight */
#define CIM_TRACE_MAX_RES	 4096 /* resources named in a header */
#define CIM_TRACE_NAME_MAX	 63   /* bytes of a resource or chip name */

/* A field that merged records of different values (op kind, collective,
 * algorithm) holds this. */
#define CIM_TRACE_MIXED UINT32_MAX

/* Failure kinds of the run-level functions (export, summary). */
#define CIM_TRACE_ERR_IO    (-1) /* the output could not be written */
#define CIM_TRACE_ERR_INPUT (-2) /* the traces are missing, foreign or damaged */

/* ------------------------------------------------------------- options */

/*
 * How much is recorded.  OP: every record.  LAYER: the op records of one
 * (layer, micro-batch, step) become one span; messages and collectives are
 * kept.  STEP: the op records of one (micro-batch, step) pass become one span
 * and so do its collectives; messages are kept.  Merged spans sum their
 * energies and bytes, so totals are the same at every level; they lie on a
 * resource the writer adds to the header ("layers" or "passes").
 */
enum cim_trace_level { CIM_TRACE_OP, CIM_TRACE_LAYER, CIM_TRACE_STEP };

/* "op", "layer", "step". */
const char *cim_trace_level_name(enum cim_trace_level level);
/* Parses a level name; on failure fills err and returns -1. */
int cim_trace_level_parse(const char *word, enum cim_trace_level *level_out, struct cim_err *err);

#define CIM_TRACE_MAX_RANGES 64

/* Which ranks write traces: plain data, so it can be broadcast as bytes. */
struct cim_trace_ranks {
	bool all;   /* every rank ("all"); the ranges are then unused */
	uint32_t n; /* ranges used */
	struct cim_rank_range v[CIM_TRACE_MAX_RANGES]; /* as written */
};

/* Parses "all" or a rank list such as "0,3-5" (cim_spec_parse_ranks: items
 * N or A-B with A ≤ B, separated by commas, decimal without sign or leading
 * zeros).  On failure fills err with what was expected, what was found and
 * where, and returns -1; *out is set only on success. */
int cim_trace_ranks_parse(const char *text, struct cim_trace_ranks *ranks_out, struct cim_err *err);
/* True when rank is in the list. */
bool cim_trace_ranks_has(const struct cim_trace_ranks *ranks, uint32_t rank);
/* Refuses a list naming a rank ≥ nranks (a typo would silently trace
 * nothing); returns 0 or -1 with err filled. */
int cim_trace_ranks_check(const struct cim_trace_ranks *ranks, uint32_t nranks,
			  struct cim_err *err);

/* -------------------------------------------------------------- writer */

/* What cim_trace_open needs; the strings are copied. */
struct cim_trace_config {
	const char *dir; /* the run's trace directory; created like mkdir -p */
	enum cim_trace_level level;
	size_t buffer_bytes; /* per buffer, CIM_TRACE_MIN_BUFFER..CIM_TRACE_MAX_BUFFER;
				0 = CIMSIM_TRACE_BUFFER from the environment
				when set, else CIM_TRACE_DEFAULT_BUFFER */
	uint32_t buffers;    /* 0 = 2 (double buffering), else 2..CIM_TRACE_MAX_BUFFERS */
	/* header: who wrote the file */
	uint32_t rank, nranks;	      /* this rank, ranks in the run */
	uint32_t stage, tp, replica;  /* pipeline stage, index in the TP group, DP replica */
	uint64_t run_id;	      /* the same on every rank of a run (rank 0 picks it,
					 e.g. its clock, and broadcasts it); lets readers
					 refuse stale files of another run; 0 = unknown */
	const char *chip;	      /* chip name, e.g. "llm-class"; NULL = "" */
	const char *experiment;	      /* experiment file or name; may be NULL */
	const char *const *resources; /* names of the rank's resources by id
					 (enum cim_rec_res order: "digital", "kv",
					 "link", "xbar L0", …, "lm_head") */
	uint32_t nres;
};

struct cim_trace_writer;

/*
 * Creates cfg->dir if needed, creates (truncating) DIR/rank-NNNNN.cimtrace,
 * writes its header and allocates the buffers.  On success *w_p owns all of
 * it until cim_trace_close or cim_trace_abort; on failure err says which
 * path failed and why and nothing is left open.
 */
int cim_trace_open(const struct cim_trace_config *cfg, struct cim_trace_writer **w_p,
		   struct cim_err *err);

/*
 * Record one event.  They copy what they need (the record stays the
 * caller's), make no system call and no allocation; when a buffer is full
 * they hand it to the thread pool and, only if every buffer is still being
 * written, wait for one.  w may be NULL (tracing off): they do nothing.
 * After an I/O error they keep counting but stop writing; cim_trace_close
 * reports the error.
 */
void cim_trace_op(struct cim_trace_writer *w, const struct cim_rec_op *r);
void cim_trace_msg(struct cim_trace_writer *w, const struct cim_rec_msg *r);
void cim_trace_coll(struct cim_trace_writer *w, const struct cim_rec_coll *r);
void cim_trace_sched(struct cim_trace_writer *w, const struct cim_rec_sched *r);

/*
 * The same with the signatures of the executor's probe slots (struct
 * cim_exec_probe in exec/exec.h, ctx = the writer), so wiring is a table:
 *   { .ctx = w, .op = cim_trace_probe_op, .msg = cim_trace_probe_msg,
 *     .coll = cim_trace_probe_coll, .sched = cim_trace_probe_sched,
 *     .poll = cim_trace_probe_poll }
 * cim_trace_probe_poll runs cim_trace_poll.  Stopping a run on a signal is
 * the coordinator's (coordinator/signals.c), not the writer's.
 */
void cim_trace_probe_op(void *w, const struct cim_rec_op *r);
void cim_trace_probe_msg(void *w, const struct cim_rec_msg *r);
void cim_trace_probe_coll(void *w, const struct cim_rec_coll *r);
void cim_trace_probe_sched(void *w, const struct cim_rec_sched *r);
void cim_trace_probe_poll(void *w);

/* Runs the writer's loop without blocking (UV_RUN_NOWAIT) so finished
 * writes release their buffers; the executor calls it between steps.  Makes
 * no system call when no write is in flight.  w may be NULL. */
void cim_trace_poll(struct cim_trace_writer *w);

/*
 * Ends the trace: emits what merging still holds, writes the rest and a
 * trailer marked complete, waits for every write (UV_RUN_DEFAULT), closes
 * the file and the loop and frees w (also on failure).  Returns 0, or -1
 * with err naming the file, the offset and the cause of the first I/O error
 * (the file is then incomplete).  w may be NULL.
 */
int cim_trace_close(struct cim_trace_writer *w, struct cim_err *err);

/*
 * Ends the trace of an interrupted run: waits for the writes in flight,
 * writes what is buffered synchronously and a trailer marked partial with
 * the reason ("interrupted by signal 15 (SIGTERM)", "aborted"), closes and
 * frees w.  Nothing recorded before the call is lost.  For error paths: it
 * reports its own failures on stderr.  w may be NULL.
 */
void cim_trace_abort(struct cim_trace_writer *w, const char *reason);

/* cim_trace_abort on every writer still open in this process: call it on an
 * error path before MPI_Abort. */
void cim_trace_abort_all(const char *reason);

/* What a writer did, for statistics and for tests. */
struct cim_trace_stats {
	uint64_t events;	/* events reported (op + msg + coll) */
	uint64_t records;	/* records written (after merging) */
	uint64_t bytes;		/* bytes of the file so far (header included) */
	uint64_t writes;	/* buffers handed to the thread pool */
	uint64_t stalls;	/* times recording waited for a free buffer */
	uint32_t max_in_flight; /* most writes in flight at once */
};

void cim_trace_writer_stats(const struct cim_trace_writer *w, struct cim_trace_stats *stats_out);
/* The file being written (valid while w is open). */
const char *cim_trace_writer_path(const struct cim_trace_writer *w);

/* -------------------------------------------------------------- reader */

enum cim_trace_rec_type {
	CIM_TREC_OP = 1,
	CIM_TREC_MSG = 2,
	CIM_TREC_COLL = 3,
	CIM_TREC_SCHED = 4, /* a served load's scheduler state */
	CIM_TREC_NTYPE
};

/* One record as read back. */
struct cim_trace_rec {
	uint32_t type;	 /* enum cim_trace_rec_type */
	uint32_t count;	 /* events merged into it: 1 at level op */
	uint64_t offset; /* byte offset of its frame in the file */
	union {
		struct cim_rec_op op; /* name[] holds up to 16 bytes and is NUL-
					 terminated only when shorter: read it
					 with strnlen(name, 16) */
		struct cim_rec_msg msg;
		struct cim_rec_coll coll;
		struct cim_rec_sched sched;
	} u;
};

/* The header of a file. */
struct cim_trace_info {
	uint32_t version;
	uint32_t rank, nranks, stage, tp, replica;
	enum cim_trace_level level;
	uint64_t run_id;
	char chip[CIM_TRACE_NAME_MAX + 1];
	char experiment[256];
	char time_unit[8]; /* "ps" */
	uint32_t nres;	   /* resources named (cim_trace_reader_res) */
};

/* The trailer of a file. */
struct cim_trace_totals {
	bool complete;			  /* false: written by cim_trace_abort */
	char reason[128];		  /* why it is partial, or "" */
	uint64_t records[CIM_TREC_NTYPE]; /* records written, by enum cim_trace_rec_type */
	uint64_t events[CIM_TREC_NTYPE];  /* events reported, by type (≥ records when merged) */
	double op_energy_pj[CIM_E_NCOMP]; /* Σ over op records, by component */
	double msg_energy_pj;		  /* Σ over message records */
	double coll_energy_pj;		  /* Σ over collective records */
	uint64_t end_ps;		  /* latest end of any record */
};

#define CIM_TRACE_STRICT 1u /* a partial file is an error */

struct cim_trace_reader;

/*
 * Opens a trace file and reads and checks its header (magic, version).
 * Refuses a foreign or damaged file with a message naming the file and the
 * byte offset.  Free with cim_trace_reader_close.
 */
int cim_trace_reader_open(const char *path, unsigned flags, struct cim_trace_reader **r_p,
			  struct cim_err *err);

/*
 * Reads the next record into *rec_out.  Returns 1 for a record, 0 at the
 * end, -1 on an error (err names the file and the offset: corrupted
 * bytes, a malformed record, counts or totals that disagree with the
 * trailer).  A file that ends without a trailer, inside a frame, or with a
 * trailer marked partial ends at its last whole record with 0 and
 * cim_trace_reader_partial() true — or, with CIM_TRACE_STRICT, with -1.
 */
int cim_trace_reader_next(struct cim_trace_reader *r, struct cim_trace_rec *rec_out,
			  struct cim_err *err);

const struct cim_trace_info *cim_trace_reader_info(const struct cim_trace_reader *r);
/* The name of resource id, or NULL when the header names none. */
const char *cim_trace_reader_res(const struct cim_trace_reader *r, uint32_t id);
/* At the end: whether the file is partial, and a sentence saying why and
 * where ("" when complete). */
bool cim_trace_reader_partial(const struct cim_trace_reader *r);
const char *cim_trace_reader_note(const struct cim_trace_reader *r);
/* The trailer, or NULL before the end or when the file has none. */
const struct cim_trace_totals *cim_trace_reader_totals(const struct cim_trace_reader *r);
void cim_trace_reader_close(struct cim_trace_reader *r);

/* ------------------------------------------------------------- the run */

/*
 * Merges every rank-NNNNN.cimtrace of dir into one Chrome trace-event JSON
 * document written to out (open in ui.perfetto.dev or chrome://tracing):
 * one process per chip, one track per resource, flows for messages,
 * counters for power and link bandwidth; timestamps in microseconds of
 * virtual time.  Partial files are used up to their last whole record and
 * named on notes (when not NULL) — unless flags has CIM_TRACE_STRICT.
 * Returns 0, CIM_TRACE_ERR_INPUT or CIM_TRACE_ERR_IO with err filled.
 */
int cim_trace_export_chrome(const char *dir, FILE *out, unsigned flags, FILE *notes,
			    struct cim_err *err);

/* One line of the summary: one operator (or message or collective kind) on
 * one chip. */
struct cim_trace_summary_row {
	uint32_t rank;
	char kind[16];	  /* op kind ("matmul", "attn_qk", …, "mixed"), "send",
			     "recv" or "collective" */
	char name[24];	  /* op name, message kind or collective name */
	uint64_t count;	  /* events (merged records count all their events) */
	uint64_t records; /* spans in the file */
	uint64_t busy_ps; /* Σ (end − start) */
	double energy_pj;
};

/* A run's summary; owned by the library, freed by cim_trace_summary_destroy. */
struct cim_trace_summary {
	uint64_t makespan_ps; /* last end over all ranks (time starts at 0) */
	uint32_t nranks;      /* ranks in the run (from the headers) */
	size_t nfiles;	      /* files read, by rank */
	struct cim_trace_info *files;
	bool *partial; /* per file */
	size_t nrows;  /* rows by rank, then busy time (longest first),
			  then kind and name */
	struct cim_trace_summary_row *rows;
};

/* Reads every trace of dir into a summary (same rules for partial files as
 * export).  Returns 0, or CIM_TRACE_ERR_INPUT with err filled. */
int cim_trace_summarize(const char *dir, unsigned flags, FILE *notes,
			struct cim_trace_summary **s_p, struct cim_err *err);
/* A readable table per chip. */
void cim_trace_summary_print(const struct cim_trace_summary *s, FILE *f);
/* CSV with a header row: rank,stage,tp,replica,chip,kind,name,count,records,
 * busy_ps,busy_share,energy_j.  Returns 0 or -1 when f failed. */
int cim_trace_summary_csv(const struct cim_trace_summary *s, FILE *f);
void cim_trace_summary_destroy(struct cim_trace_summary *s);

#endif /* CIM_TRACES_TRACES_H */
