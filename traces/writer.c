/*
 * writer.c — one rank's trace file: records packed into large buffers,
 * buffers written by libuv's thread pool while recording goes on.
 *
 * Each writer has its own uv_loop_t (never the default loop) and a few
 * buffers of cfg->buffer_bytes.  Recording packs a frame (length, msgpack
 * body, CRC-32C) at the end of the current buffer; when the buffer cannot
 * hold another frame it is handed to uv_fs_write at its file offset and
 * recording moves to a free buffer, waiting (UV_RUN_ONCE) only when none is
 * free.  At most buffers − 1 writes are in flight, so with two buffers the
 * file grows strictly in order and a killed run leaves a clean prefix.
 * cim_trace_poll runs the loop without blocking between steps; close drains
 * it.  Levels "layer" and "step" merge records here before packing.
 *
 * Not here: deciding which ranks trace (options.c, the executor), reading
 * (reader.c).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <uv.h>

#include "spec.h"
#include "trace_int.h"

enum buf_state { BUF_FREE, BUF_FILLING, BUF_FLIGHT };

struct wbuf {
	uv_fs_t req; /* the write in flight; req.data = this */
	struct cim_trace_writer *w;
	unsigned char *data;
	size_t len;   /* bytes filled */
	uint64_t off; /* file offset of data[0] */
	enum buf_state state;
};

/* Merging: the span being built for one micro-batch (slot mb % NACC). */
#define NACC 64

struct acc_op {
	bool used;
	uint32_t count;	     /* events merged */
	uint32_t first_kind; /* op kind of the first event (names the span) */
	struct cim_rec_op r;
};

struct acc_coll {
	bool used;
	uint32_t count;
	struct cim_rec_coll r;
};

struct cim_trace_writer {
	uv_loop_t loop;
	int fd;
	char *path;
	uint32_t rank;
	enum cim_trace_level level;
	uint32_t merged_res; /* resource id of merged op spans */

	struct wbuf bufs[CIM_TRACE_MAX_BUFFERS];
	uint32_t nbufs;
	struct wbuf *cur; /* the buffer being filled */
	size_t cap;	  /* bytes per buffer */
	uint32_t in_flight;

	struct acc_op *acc_op; /* NACC each when merging, else NULL */
	struct acc_coll *acc_coll;

	/* the trailer, kept up to date as records are packed */
	uint64_t records[CIM_TREC_NTYPE], events[CIM_TREC_NTYPE];
	double op_e[CIM_E_NCOMP], msg_e, coll_e;
	uint64_t end_ps;
	struct cim_trace_stats stats;

	bool failed;	  /* an I/O error happened: stop writing */
	char io_msg[512]; /* the first one */

	struct cim_trace_writer *next; /* the process's open writers */
};

static struct cim_trace_writer *open_writers;

/* ------------------------------------------------------------- errors */

/* Remembers the first I/O error (uv or errno code, negative). */
static void io_error(struct cim_trace_writer *w, const char *what, uint64_t off, int code)
{
	if (!w->failed)
		snprintf(w->io_msg, sizeof(w->io_msg), "%s: %s at byte offset %llu failed: %s",
			 w->path, what, (unsigned long long)off, uv_strerror(code));
	w->failed = true;
}

/* -------------------------------------------------------------- files */

/* mkdir -p: creates dir and its missing parents. */
static int make_dirs(const char *dir, struct cim_err *err)
{
	size_t n = strlen(dir);
	char *p = malloc(n + 1);
	struct stat st;
	int rc = 0;

	if (!p)
		return cim_err_set(err, "trace directory '%s': out of memory", dir);
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n && rc == 0; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0777) != 0) {
			int e = errno;
			if (e != EEXIST)
				rc = cim_err_set(err,
						 "trace directory '%s': cannot create "
						 "'%s': %s",
						 dir, p, strerror(e));
			else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
				rc = cim_err_set(err,
						 "trace directory '%s': '%s' exists and "
						 "is not a directory",
						 dir, p);
		}
		p[i] = c;
	}
	free(p);
	return rc;
}

/* Writes all n bytes at off, synchronously; returns 0 or a negative errno. */
static int write_at(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* ------------------------------------------------------------ buffers */

static void on_written(uv_fs_t *req)
{
	struct wbuf *b = req->data;
	struct cim_trace_writer *w = b->w;

	if (req->result < 0)
		io_error(w, "writing", b->off, (int)req->result);
	else if ((size_t)req->result != b->len)
		io_error(w, "writing (short write)", b->off + (uint64_t)req->result, UV_EIO);
	uv_fs_req_cleanup(req);
	b->len = 0;
	b->state = BUF_FREE;
	w->in_flight--;
}

static void submit(struct cim_trace_writer *w, struct wbuf *b)
{
	uv_buf_t ub = uv_buf_init((char *)b->data, (unsigned)b->len);

	if (b->len == 0 || w->failed) {
		b->len = 0;
		b->state = BUF_FREE;
		return;
	}
	b->state = BUF_FLIGHT;
	b->req.data = b;
	w->in_flight++;
	if (w->in_flight > w->stats.max_in_flight)
		w->stats.max_in_flight = w->in_flight;
	w->stats.writes++;
	int rc = uv_fs_write(&w->loop, &b->req, w->fd, &ub, 1, (int64_t)b->off, on_written);
	if (rc < 0) {
		io_error(w, "handing a write to the thread pool", b->off, rc);
		b->len = 0;
		b->state = BUF_FREE;
		w->in_flight--;
	}
}

static struct wbuf *free_buffer(struct cim_trace_writer *w)
{
	bool waited = false;

	for (;;) {
		for (uint32_t i = 0; i < w->nbufs; i++)
			if (w->bufs[i].state == BUF_FREE)
				return &w->bufs[i];
		if (!waited)
			w->stats.stalls++;
		waited = true;
		/* A buffer in flight always completes; uv_run returns after it. */
		uv_run(&w->loop, UV_RUN_ONCE);
	}
}

/* The current buffer is full: take a free one (waiting so that at most
 * nbufs − 1 writes are in flight), then hand the full one over. */
static void rotate(struct cim_trace_writer *w)
{
	struct wbuf *old = w->cur;

	old->state = BUF_FLIGHT; /* not free while we look for one */
	struct wbuf *nb = free_buffer(w);
	nb->off = old->off + old->len;
	nb->len = 0;
	nb->state = BUF_FILLING;
	submit(w, old);
	w->cur = nb;
}

/* Starts a frame at the end of the current buffer (rotating first when
 * the buffer cannot hold the largest frame); returns where the body
 * goes.  *start_out is the frame's offset in the buffer. */
static unsigned char *frame_begin(struct cim_trace_writer *w, size_t *start_out)
{
	if (w->cur->len + TRACE_REC_RESERVE > w->cap)
		rotate(w);
	*start_out = w->cur->len;
	return w->cur->data + w->cur->len + 4;
}

/* Ends the frame whose body ends at p: its length before, its CRC after. */
static void frame_end(struct cim_trace_writer *w, size_t start, unsigned char *p)
{
	struct wbuf *b = w->cur;
	uint32_t body = (uint32_t)(p - (b->data + start + 4));

	trace_put_u32le(b->data + start, body);
	trace_put_u32le(p, trace_crc32c(0, b->data + start, body + 4u));
	b->len = start + body + 8;
	assert(body + 8 <= TRACE_REC_RESERVE);
	w->stats.bytes += body + 8;
	w->stats.records++;
}

/* ----------------------------------------------------------- packing */

/* An energy: +0.0 as the integer 0 (1 byte instead of 9), else a double. */
static unsigned char *mp_energy(unsigned char *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	if (bits == 0) {
		*p = 0;
		return p + 1;
	}
	return mp_double(p, v);
}

static void emit_op(struct cim_trace_writer *w, const struct cim_rec_op *r, uint32_t count)
{
	size_t start;

	w->records[CIM_TREC_OP]++;
	for (int i = 0; i < CIM_E_NCOMP; i++)
		w->op_e[i] += r->energy_pj[i];
	if (r->end_ps > w->end_ps)
		w->end_ps = r->end_ps;
	if (w->failed)
		return;
	unsigned char *p = frame_begin(w, &start);
	p = mp_array(p, 1 + TRACE_OP_FIELDS);
	p = mp_uint(p, TAG_OP);
	p = mp_uint(p, r->start_ps);
	p = mp_uint(p, r->end_ps);
	p = mp_uint(p, r->resource);
	p = mp_uint(p, r->resource2);
	p = mp_uint(p, r->op_kind);
	p = mp_str(p, r->name, strnlen(r->name, sizeof(r->name)));
	p = mp_int(p, r->layer);
	p = mp_uint(p, r->micro_batch);
	p = mp_uint(p, r->step);
	p = mp_uint(p, r->phase);
	p = mp_uint(p, r->bytes);
	p = mp_array(p, CIM_E_NCOMP);
	for (int i = 0; i < CIM_E_NCOMP; i++)
		p = mp_energy(p, r->energy_pj[i]);
	p = mp_uint(p, count);
	frame_end(w, start, p);
}

static void emit_msg(struct cim_trace_writer *w, const struct cim_rec_msg *r)
{
	size_t start;

	w->records[CIM_TREC_MSG]++;
	w->msg_e += r->energy_pj;
	if (r->arrive_ps > w->end_ps)
		w->end_ps = r->arrive_ps;
	if (w->failed)
		return;
	unsigned char *p = frame_begin(w, &start);
	p = mp_array(p, 1 + TRACE_MSG_FIELDS);
	p = mp_uint(p, TAG_MSG);
	p = mp_uint(p, r->depart_ps);
	p = mp_uint(p, r->arrive_ps);
	p = mp_uint(p, r->peer);
	p = mp_uint(p, r->kind);
	p = mp_uint(p, r->is_send);
	p = mp_uint(p, r->micro_batch);
	p = mp_uint(p, r->step);
	p = mp_uint(p, r->phase);
	p = mp_uint(p, r->bytes);
	p = mp_energy(p, r->energy_pj);
	p = mp_uint(p, 1);
	frame_end(w, start, p);
}

static void emit_coll(struct cim_trace_writer *w, const struct cim_rec_coll *r, uint32_t count)
{
	size_t start;

	w->records[CIM_TREC_COLL]++;
	w->coll_e += r->energy_pj;
	if (r->finish_ps > w->end_ps)
		w->end_ps = r->finish_ps;
	if (w->failed)
		return;
	unsigned char *p = frame_begin(w, &start);
	p = mp_array(p, 1 + TRACE_COLL_FIELDS);
	p = mp_uint(p, TAG_COLL);
	p = mp_uint(p, r->ready_ps);
	p = mp_uint(p, r->finish_ps);
	p = mp_uint(p, r->coll);
	p = mp_uint(p, r->algo);
	p = mp_uint(p, r->group);
	p = mp_uint(p, r->group_size);
	p = mp_int(p, r->layer);
	p = mp_uint(p, r->micro_batch);
	p = mp_uint(p, r->step);
	p = mp_uint(p, r->phase);
	p = mp_uint(p, r->bytes);
	p = mp_energy(p, r->energy_pj);
	p = mp_uint(p, count);
	frame_end(w, start, p);
}

static void emit_sched(struct cim_trace_writer *w, const struct cim_rec_sched *r)
{
	size_t start;

	w->records[CIM_TREC_SCHED]++;
	if (r->t_ps > w->end_ps)
		w->end_ps = r->t_ps;
	if (w->failed)
		return;
	unsigned char *p = frame_begin(w, &start);
	p = mp_array(p, 1 + TRACE_SCHED_FIELDS);
	p = mp_uint(p, TAG_SCHED);
	p = mp_uint(p, r->t_ps);
	p = mp_uint(p, r->waiting);
	p = mp_uint(p, r->requeued);
	p = mp_uint(p, r->running);
	p = mp_uint(p, r->decision);
	p = mp_uint(p, r->batch);
	p = mp_uint(p, r->tokens);
	p = mp_uint(p, r->kv_bytes);
	p = mp_uint(p, r->kv_room);
	frame_end(w, start, p);
}

/* The trailer: counts and totals of what precedes it. */
static void emit_trailer(struct cim_trace_writer *w, bool complete, const char *reason)
{
	size_t start;

	if (w->failed)
		return;
	unsigned char *p = frame_begin(w, &start);
	p = mp_array(p, 1 + TRACE_TRAILER_FIELDS);
	p = mp_uint(p, TAG_TRAILER);
	p = mp_bool(p, complete);
	p = mp_str(p, reason, strnlen(reason, 127));
	p = mp_array(p, CIM_TREC_NTYPE - 1);
	for (int t = CIM_TREC_OP; t < CIM_TREC_NTYPE; t++)
		p = mp_uint(p, w->records[t]);
	p = mp_array(p, CIM_TREC_NTYPE - 1);
	for (int t = CIM_TREC_OP; t < CIM_TREC_NTYPE; t++)
		p = mp_uint(p, w->events[t]);
	p = mp_array(p, CIM_E_NCOMP);
	for (int i = 0; i < CIM_E_NCOMP; i++)
		p = mp_double(p, w->op_e[i]);
	p = mp_double(p, w->msg_e);
	p = mp_double(p, w->coll_e);
	p = mp_uint(p, w->end_ps);
	frame_end(w, start, p);
	w->stats.records--; /* the trailer is no record */
}

/* ------------------------------------------------------------ merging */

/* Names a merged span: name[] holds up to 16 bytes, NUL-terminated only
 * when shorter (as the executor's records). */
static void set_name(char name[16], const char *s)
{
	size_t n = strnlen(s, 16);

	memset(name, 0, 16);
	memcpy(name, s, n);
}

static void emit_acc_op(struct cim_trace_writer *w, struct acc_op *a)
{
	struct cim_rec_op *r = &a->r;
	char buf[32];

	if (w->level == CIM_TRACE_LAYER && r->layer >= 0) {
		/* "layer N" without snprintf, which costs more than the merge */
		char digits[12], *d = digits + sizeof(digits);
		uint32_t v = (uint32_t)r->layer;
		*--d = '\0';
		do
			*--d = (char)('0' + v % 10);
		while ((v /= 10) != 0);
		memcpy(buf, "layer ", 6);
		memcpy(buf + 6, d, (size_t)(digits + sizeof(digits) - d));
		set_name(r->name, buf);
	} else if (w->level == CIM_TRACE_LAYER) {
		set_name(r->name, a->first_kind == CIM_OP_EMBED ? "embedding" : "head");
	} else {
		set_name(r->name, cim_part_phase_name((enum cim_part_phase)r->phase));
	}
	emit_op(w, r, a->count);
	a->used = false;
}

static void merge_op(struct cim_trace_writer *w, const struct cim_rec_op *r)
{
	struct acc_op *a = &w->acc_op[r->micro_batch % NACC];

	if (a->used && (a->r.micro_batch != r->micro_batch || a->r.step != r->step ||
			(w->level == CIM_TRACE_LAYER && a->r.layer != r->layer)))
		emit_acc_op(w, a);
	if (!a->used) {
		a->used = true;
		a->count = 1;
		a->first_kind = r->op_kind;
		a->r = *r;
		a->r.resource = w->merged_res;
		a->r.resource2 = UINT32_MAX;
		if (w->level == CIM_TRACE_STEP)
			a->r.layer = -1;
		return;
	}
	a->count++;
	if (r->start_ps < a->r.start_ps)
		a->r.start_ps = r->start_ps;
	if (r->end_ps > a->r.end_ps)
		a->r.end_ps = r->end_ps;
	if (r->op_kind != a->r.op_kind)
		a->r.op_kind = CIM_TRACE_MIXED;
	a->r.bytes += r->bytes;
	for (int i = 0; i < CIM_E_NCOMP; i++)
		a->r.energy_pj[i] += r->energy_pj[i];
}

static void merge_coll(struct cim_trace_writer *w, const struct cim_rec_coll *r)
{
	struct acc_coll *a = &w->acc_coll[r->micro_batch % NACC];

	if (a->used && (a->r.micro_batch != r->micro_batch || a->r.step != r->step)) {
		emit_coll(w, &a->r, a->count);
		a->used = false;
	}
	if (!a->used) {
		a->used = true;
		a->count = 1;
		a->r = *r;
		a->r.layer = -1;
		return;
	}
	a->count++;
	if (r->ready_ps < a->r.ready_ps)
		a->r.ready_ps = r->ready_ps;
	if (r->finish_ps > a->r.finish_ps)
		a->r.finish_ps = r->finish_ps;
	if (r->coll != a->r.coll)
		a->r.coll = CIM_TRACE_MIXED;
	if (r->algo != a->r.algo)
		a->r.algo = CIM_TRACE_MIXED;
	if (r->group != a->r.group || r->group_size != a->r.group_size)
		a->r.group = a->r.group_size = CIM_TRACE_MIXED;
	a->r.bytes += r->bytes;
	a->r.energy_pj += r->energy_pj;
}

/* Emits every span merging still holds, in slot order. */
static void flush_merged(struct cim_trace_writer *w)
{
	for (int i = 0; w->acc_op && i < NACC; i++)
		if (w->acc_op[i].used)
			emit_acc_op(w, &w->acc_op[i]);
	for (int i = 0; w->acc_coll && i < NACC; i++)
		if (w->acc_coll[i].used) {
			emit_coll(w, &w->acc_coll[i].r, w->acc_coll[i].count);
			w->acc_coll[i].used = false;
		}
}

/* ----------------------------------------------------------- recording */

void cim_trace_op(struct cim_trace_writer *w, const struct cim_rec_op *r)
{
	if (!w)
		return;
	w->events[CIM_TREC_OP]++;
	w->stats.events++;
	if (w->level == CIM_TRACE_OP)
		emit_op(w, r, 1);
	else
		merge_op(w, r);
}

void cim_trace_msg(struct cim_trace_writer *w, const struct cim_rec_msg *r)
{
	if (!w)
		return;
	w->events[CIM_TREC_MSG]++;
	w->stats.events++;
	emit_msg(w, r);
}

void cim_trace_coll(struct cim_trace_writer *w, const struct cim_rec_coll *r)
{
	if (!w)
		return;
	w->events[CIM_TREC_COLL]++;
	w->stats.events++;
	if (w->level == CIM_TRACE_STEP)
		merge_coll(w, r);
	else
		emit_coll(w, r, 1);
}

void cim_trace_sched(struct cim_trace_writer *w, const struct cim_rec_sched *r)
{
	if (!w)
		return;
	w->events[CIM_TREC_SCHED]++;
	w->stats.events++;
	emit_sched(w, r); /* never merged: a time series is its points */
}

void cim_trace_poll(struct cim_trace_writer *w)
{
	if (w && w->in_flight)
		uv_run(&w->loop, UV_RUN_NOWAIT);
}

void cim_trace_probe_op(void *w, const struct cim_rec_op *r)
{
	cim_trace_op(w, r);
}

void cim_trace_probe_msg(void *w, const struct cim_rec_msg *r)
{
	cim_trace_msg(w, r);
}

void cim_trace_probe_coll(void *w, const struct cim_rec_coll *r)
{
	cim_trace_coll(w, r);
}

void cim_trace_probe_sched(void *w, const struct cim_rec_sched *r)
{
	cim_trace_sched(w, r);
}

void cim_trace_probe_poll(void *w)
{
	cim_trace_poll(w);
}

/* ------------------------------------------------------- open and close */

/* A string of at most max bytes, for the header (packed with msgpack-c:
 * it is written once). */
static void pack_str(msgpack_packer *pk, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static int pack_header(const struct cim_trace_config *cfg, const char *merged, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	uint32_t nres = cfg->nres + (merged ? 1 : 0);

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, TAG_HEADER);
	msgpack_pack_map(&pk, 12);
#define KEY(k) (msgpack_pack_str(&pk, strlen(k)), msgpack_pack_str_body(&pk, k, strlen(k)))
#define STR(s) pack_str(&pk, (s) ? (s) : "", 255)
	KEY("program"), STR("cimsim " CIM_TRACE_PROGRAM_VERSION);
	KEY("rank"), msgpack_pack_uint32(&pk, cfg->rank);
	KEY("nranks"), msgpack_pack_uint32(&pk, cfg->nranks);
	KEY("stage"), msgpack_pack_uint32(&pk, cfg->stage);
	KEY("tp"), msgpack_pack_uint32(&pk, cfg->tp);
	KEY("replica"), msgpack_pack_uint32(&pk, cfg->replica);
	KEY("run_id"), msgpack_pack_uint64(&pk, cfg->run_id);
	KEY("level"), STR(cim_trace_level_name(cfg->level));
	KEY("chip"), STR(cfg->chip);
	KEY("experiment"), STR(cfg->experiment);
	KEY("time_unit"), STR("ps");
	KEY("resources"), msgpack_pack_array(&pk, nres);
	for (uint32_t i = 0; i < cfg->nres; i++)
		STR(cfg->resources[i]);
	if (merged)
		STR(merged);
#undef KEY
#undef STR
	return sb->size <= TRACE_HEADER_MAX ? 0 : -1;
}

static int check_config(const struct cim_trace_config *cfg, struct cim_err *err)
{
	if (!cfg->dir || !*cfg->dir)
		return cim_err_set(err, "trace: no directory given");
	if ((unsigned)cfg->level > CIM_TRACE_STEP)
		return cim_err_set(err, "trace: level %d is not op, layer or step",
				   (int)cfg->level);
	if (cfg->buffer_bytes &&
	    (cfg->buffer_bytes < CIM_TRACE_MIN_BUFFER || cfg->buffer_bytes > CIM_TRACE_MAX_BUFFER))
		return cim_err_set(err, "trace: buffer of %zu bytes; expected %u to %u bytes",
				   cfg->buffer_bytes, CIM_TRACE_MIN_BUFFER, CIM_TRACE_MAX_BUFFER);
	if (cfg->buffers && (cfg->buffers < 2 || cfg->buffers > CIM_TRACE_MAX_BUFFERS))
		return cim_err_set(err, "trace: %u buffers; expected 2 to %d", cfg->buffers,
				   CIM_TRACE_MAX_BUFFERS);
	if (cfg->nres > CIM_TRACE_MAX_RES || (cfg->nres && !cfg->resources))
		return cim_err_set(err, "trace: %u resources; expected at most %d, with names",
				   cfg->nres, CIM_TRACE_MAX_RES);
	for (uint32_t i = 0; i < cfg->nres; i++)
		if (!cfg->resources[i] || strlen(cfg->resources[i]) > CIM_TRACE_NAME_MAX)
			return cim_err_set(err,
					   "trace: resource %u has no name or one longer "
					   "than %d bytes",
					   i, CIM_TRACE_NAME_MAX);
	if (cfg->chip && strlen(cfg->chip) > CIM_TRACE_NAME_MAX)
		return cim_err_set(err, "trace: chip name longer than %d bytes",
				   CIM_TRACE_NAME_MAX);
	return 0;
}

/* CIMSIM_TRACE_BUFFER=BYTES, when set, replaces the default buffer size
 * (tests use small buffers to see files grow early in a run). */
static int buffer_from_env(size_t *bytes_out, struct cim_err *err)
{
	const char *s = getenv("CIMSIM_TRACE_BUFFER");
	char *end;

	if (!s)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < CIM_TRACE_MIN_BUFFER ||
	    v > CIM_TRACE_MAX_BUFFER)
		return cim_err_set(err,
				   "CIMSIM_TRACE_BUFFER: expected %u to %u bytes, found \"%s\"",
				   CIM_TRACE_MIN_BUFFER, CIM_TRACE_MAX_BUFFER, s);
	*bytes_out = (size_t)v;
	return 0;
}

static void writer_free(struct cim_trace_writer *w)
{
	for (struct cim_trace_writer **p = &open_writers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	for (uint32_t i = 0; i < w->nbufs; i++)
		free(w->bufs[i].data);
	free(w->acc_op);
	free(w->acc_coll);
	free(w->path);
	free(w);
}

int cim_trace_open(const struct cim_trace_config *cfg, struct cim_trace_writer **w_p,
		   struct cim_err *err)
{
	static const char *const merged_names[] = { NULL, "layers", "passes" };
	struct cim_trace_writer *w;
	msgpack_sbuffer sb;
	unsigned char prefix[TRACE_PREFIX + 4], crc[4];
	int rc;

	size_t env_buffer = CIM_TRACE_DEFAULT_BUFFER;

	if (check_config(cfg, err) || (!cfg->buffer_bytes && buffer_from_env(&env_buffer, err)) ||
	    make_dirs(cfg->dir, err))
		return -1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return cim_err_set(err, "trace: out of memory");
	w->fd = -1;
	w->rank = cfg->rank;
	w->level = cfg->level;
	w->merged_res = cfg->nres;
	w->cap = cfg->buffer_bytes ? cfg->buffer_bytes : env_buffer;
	w->nbufs = cfg->buffers ? cfg->buffers : 2;
	size_t plen = strlen(cfg->dir) + 32;
	w->path = malloc(plen);
	if (!w->path)
		goto err_oom;
	snprintf(w->path, plen, "%s/rank-%05u.cimtrace", cfg->dir, cfg->rank);
	for (uint32_t i = 0; i < w->nbufs; i++) {
		w->bufs[i].w = w;
		w->bufs[i].data = malloc(w->cap);
		if (!w->bufs[i].data)
			goto err_oom;
	}
	if (cfg->level != CIM_TRACE_OP) {
		w->acc_op = calloc(NACC, sizeof(*w->acc_op));
		w->acc_coll = calloc(NACC, sizeof(*w->acc_coll));
		if (!w->acc_op || !w->acc_coll)
			goto err_oom;
	}

	/* The header is written synchronously: a path that cannot be written
	 * is reported here, not at the end of the run. */
	msgpack_sbuffer_init(&sb);
	if (pack_header(cfg, merged_names[cfg->level], &sb)) {
		msgpack_sbuffer_destroy(&sb);
		cim_err_set(err, "trace: the header is larger than %u bytes", TRACE_HEADER_MAX);
		goto err_free;
	}
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (w->fd < 0) {
		msgpack_sbuffer_destroy(&sb);
		cim_err_set(err, "trace file '%s': cannot create: %s", w->path, strerror(errno));
		goto err_free;
	}
	memcpy(prefix, TRACE_MAGIC, TRACE_MAGIC_LEN);
	trace_put_u32le(prefix + TRACE_MAGIC_LEN, CIM_TRACE_VERSION);
	trace_put_u32le(prefix + TRACE_PREFIX, (uint32_t)sb.size);
	uint32_t c = trace_crc32c(0, prefix + TRACE_PREFIX, 4);
	trace_put_u32le(crc, trace_crc32c(c, sb.data, sb.size));
	rc = write_at(w->fd, prefix, sizeof(prefix), 0);
	if (!rc)
		rc = write_at(w->fd, sb.data, sb.size, sizeof(prefix));
	if (!rc)
		rc = write_at(w->fd, crc, 4, sizeof(prefix) + sb.size);
	w->bufs[0].off = sizeof(prefix) + sb.size + 4;
	w->stats.bytes = w->bufs[0].off;
	msgpack_sbuffer_destroy(&sb);
	if (rc) {
		cim_err_set(err, "trace file '%s': cannot write: %s", w->path, strerror(-rc));
		goto err_close;
	}
	rc = uv_loop_init(&w->loop);
	if (rc) {
		cim_err_set(err, "trace file '%s': cannot start an event loop: %s", w->path,
			    uv_strerror(rc));
		goto err_close;
	}
	w->cur = &w->bufs[0];
	w->cur->state = BUF_FILLING;
	w->next = open_writers;
	open_writers = w;
	*w_p = w;
	return 0;

err_close:
	close(w->fd);
	unlink(w->path);
err_free:
	writer_free(w);
	return -1;
err_oom:
	writer_free(w);
	return cim_err_set(err, "trace: out of memory for %u buffers of %zu bytes",
			   cfg->buffers ? cfg->buffers : 2, cfg->buffer_bytes);
}

/* Closes the file and the loop and frees w; returns 0 or -1 (err set from
 * the first I/O error). */
static int finish(struct cim_trace_writer *w, struct cim_err *err)
{
	if (close(w->fd) != 0)
		io_error(w, "closing", w->cur->off + w->cur->len, -errno);
	int rc = uv_loop_close(&w->loop);
	assert(rc == 0); /* every request has completed */
	(void)rc;
	int ret = 0;
	if (w->failed)
		ret = cim_err_set(err, "trace %s; the trace is incomplete", w->io_msg);
	writer_free(w);
	return ret;
}

int cim_trace_close(struct cim_trace_writer *w, struct cim_err *err)
{
	if (!w)
		return 0;
	flush_merged(w);
	emit_trailer(w, true, "");
	/* The last buffer: at most nbufs − 1 writes were in flight, so one
	 * more never exceeds the number of buffers. */
	submit(w, w->cur);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	return finish(w, err);
}

void cim_trace_abort(struct cim_trace_writer *w, const char *reason)
{
	struct cim_err err;

	if (!w)
		return;
	uint32_t rank = w->rank;
	/* Emit what merging holds and the trailer (which may hand a full
	 * buffer to the pool), wait for every write in flight, then write the
	 * rest ourselves: nothing may still be writing when the file closes. */
	flush_merged(w);
	emit_trailer(w, false, reason);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (!w->failed && w->cur->len) {
		int rc = write_at(w->fd, w->cur->data, w->cur->len, w->cur->off);
		if (rc)
			io_error(w, "writing", w->cur->off, rc);
	}
	if (finish(w, &err))
		fprintf(stderr, "cimsim: rank %u: %s\n", rank, err.msg);
}

void cim_trace_abort_all(const char *reason)
{
	while (open_writers)
		cim_trace_abort(open_writers, reason);
}

void cim_trace_writer_stats(const struct cim_trace_writer *w, struct cim_trace_stats *stats_out)
{
	memset(stats_out, 0, sizeof(*stats_out));
	if (w)
		*stats_out = w->stats;
}

const char *cim_trace_writer_path(const struct cim_trace_writer *w)
{
	return w ? w->path : NULL;
}
