/*
 * reader.c — reading one trace file back, trusting nothing in it.
 *
 * Every frame's length is bounded before anything is read, every body is
 * checked against its CRC-32C before msgpack sees it, every field's type
 * and range is checked, and the trailer's counts and energy totals are
 * compared with what was read (bit for bit: the writer summed the same
 * values in the same order).  A file that stops early — no trailer, a frame
 * cut short, a trailer marked partial, a run of zero bytes left by a write
 * that never happened — is read up to its last whole record and reported
 * as partial; anything else that is wrong is an error naming the file and
 * the byte offset.  The reader never reads past what it checked, so a
 * damaged file cannot crash it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <msgpack.h>

#include "trace_int.h"

struct cim_trace_reader {
	FILE *f;
	char *path;
	unsigned flags;
	uint64_t size; /* bytes in the file */
	uint64_t off;  /* offset of the next frame */
	struct cim_trace_info info;
	char (*res)[CIM_TRACE_NAME_MAX + 1];
	unsigned char *body; /* the current frame: length, body, CRC */
	size_t body_cap;
	msgpack_zone zone; /* reused for every body */
	bool done, partial, has_totals;
	char note[512];
	struct cim_trace_totals totals;
	/* what was read, to compare with the trailer */
	uint64_t records[CIM_TREC_NTYPE];
	uint64_t events[CIM_TREC_NTYPE]; /* Σ of the records' counts */
	uint64_t end_ps;		 /* the latest end of any record */
	uint64_t sched_ps;		 /* the latest scheduler record's time */
	double op_e[CIM_E_NCOMP], msg_e, coll_e;
};

#define OFF(x) ((unsigned long long)(x))

/* ------------------------------------------------------------ fields */

static bool f_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*v = o->via.u64;
	return true;
}

static bool f_u32(const msgpack_object *o, uint32_t *v)
{
	uint64_t x;

	if (!f_u64(o, &x) || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static bool f_i32(const msgpack_object *o, int32_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX) {
		*v = (int32_t)o->via.u64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN) {
		*v = (int32_t)o->via.i64;
		return true;
	}
	return false;
}

/* A double, or the integer 0 the writer packs for +0.0. */
static bool f_f64(const msgpack_object *o, double *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*v = o->via.f64;
		return true;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return true;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return true;
	default:
		return false;
	}
}

/* A string of at most cap bytes into dst[cap] (NUL-terminated when
 * shorter, as struct cim_rec_op's name). */
static bool f_str(const msgpack_object *o, char *dst, size_t cap)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > cap)
		return false;
	memset(dst, 0, cap);
	if (o->via.str.size) /* an empty string's ptr may be NULL */
		memcpy(dst, o->via.str.ptr, o->via.str.size);
	return true;
}

/* The same, always NUL-terminated (dst has cap + 1 bytes). */
static bool f_cstr(const msgpack_object *o, char *dst, size_t cap)
{
	if (!f_str(o, dst, cap))
		return false;
	dst[cap] = '\0';
	return true;
}

static bool f_bool(const msgpack_object *o, bool *v)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return false;
	*v = o->via.boolean;
	return true;
}

/* ------------------------------------------------------------ errors */

static int fail(struct cim_trace_reader *r, struct cim_err *err, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "PATH: byte offset N: what"; the reader stays at its end. */
static int fail(struct cim_trace_reader *r, struct cim_err *err, uint64_t off, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->done = true;
	return cim_err_set(err, "%s: byte offset %llu: %s", r->path, OFF(off), what);
}

/* The file stops early: partial (or an error when strict). */
static int stop_partial(struct cim_trace_reader *r, struct cim_err *err, uint64_t off,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int stop_partial(struct cim_trace_reader *r, struct cim_err *err, uint64_t off,
			const char *fmt, ...)
{
	char what[400];
	va_list ap;
	uint64_t n = 0;

	for (int k = CIM_TREC_OP; k < CIM_TREC_NTYPE; k++)
		n += r->records[k];

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->note, sizeof(r->note), "partial: byte offset %llu: %s; %llu records read",
		 OFF(off), what, OFF(n));
	r->partial = true;
	r->done = true;
	if (r->flags & CIM_TRACE_STRICT)
		return cim_err_set(err, "%s: %s", r->path, r->note);
	return 0;
}

/* ------------------------------------------------------------- frames */

#define MP_MAX_DEPTH 8

/*
 * Whether the n bytes at p hold exactly one msgpack object whose every
 * array and map announces no more elements than bytes remain (each takes
 * at least one), nested at most MP_MAX_DEPTH deep.  msgpack_unpack
 * allocates a container's elements from its announced count before it reads
 * them, so a 4 kB frame announcing 2^32 elements would ask for 96 GiB; this
 * walk, before it, keeps what it allocates within a few times the frame.
 */
static bool mp_well_formed(const unsigned char *p, size_t n)
{
	uint64_t pending[MP_MAX_DEPTH + 1]; /* objects still due at each depth */
	size_t at = 0;
	int depth = 0;

	pending[0] = 1;
	while (depth >= 0) {
		if (pending[depth] == 0) {
			depth--;
			continue;
		}
		pending[depth]--;
		if (at >= n)
			return false;
		unsigned c = p[at++];
		uint64_t skip = 0, items = 0;
		bool container = false;
		size_t w = 0; /* bytes of a length that follows */
		if (c <= 0x7f || c >= 0xe0 || (c >= 0xc0 && c <= 0xc3)) {
			/* fixint, nil, false, true */
		} else if (c <= 0x8f) {
			items = 2u * (c & 0x0f), container = true;
		} else if (c <= 0x9f) {
			items = c & 0x0f, container = true;
		} else if (c <= 0xbf) {
			skip = c & 0x1f;
		} else if (c >= 0xcc && c <= 0xd3) {
			skip = 1u << ((c - 0xcc) & 3);
		} else if (c == 0xca || c == 0xcb) {
			skip = c == 0xca ? 4 : 8;
		} else if (c >= 0xd4 && c <= 0xd8) {
			skip = 1 + (1u << (c - 0xd4));
		} else if (c >= 0xc4 && c <= 0xc6) {
			w = 1u << (c - 0xc4);
		} else if (c >= 0xc7 && c <= 0xc9) {
			w = 1u << (c - 0xc7);
		} else if (c >= 0xd9 && c <= 0xdb) {
			w = 1u << (c - 0xd9);
		} else if (c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf) {
			w = c & 1 ? 4 : 2;
			container = true;
		} else {
			return false; /* 0xc1, never used */
		}
		if (w) {
			if (n - at < w)
				return false;
			uint64_t len = 0;
			for (size_t i = 0; i < w; i++)
				len = len << 8 | p[at + i];
			at += w;
			if (container)
				items = c >= 0xde ? 2 * len : len;
			else
				skip = len + (c >= 0xc7 && c <= 0xc9 ? 1 : 0); /* ext: type byte */
		}
		if (skip > n - at)
			return false;
		at += skip;
		if (container && items) {
			if (items > n - at || depth == MP_MAX_DEPTH)
				return false;
			pending[++depth] = items;
		}
	}
	return at == n;
}

enum { FRAME_OK = 1, FRAME_END = 0, FRAME_ERR = -1 };

/* Reads the frame at r->off into r->body and unpacks it into *obj.
 * FRAME_END when the file stops there (partial noted), FRAME_ERR on
 * damage. */
static int read_frame(struct cim_trace_reader *r, uint32_t max, msgpack_object *obj,
		      uint32_t *len_out, struct cim_err *err)
{
	uint64_t off = r->off, left = r->size - r->off;
	unsigned char lenb[4];

	if (left == 0)
		return stop_partial(r, err, off,
				    "the file ends without a trailer (the run did "
				    "not close its trace)")
			   ? FRAME_ERR
			   : FRAME_END;
	if (left < 4)
		return stop_partial(r, err, off,
				    "the file ends inside a record's length (%llu of "
				    "4 bytes)",
				    OFF(left))
			   ? FRAME_ERR
			   : FRAME_END;
	/* Frames are read in order: the stream is at off already. */
	if (fread(lenb, 1, 4, r->f) != 4)
		return fail(r, err, off, "cannot read: %s", strerror(errno)), FRAME_ERR;
	uint32_t len = trace_get_u32le(lenb);
	if (len == 0) {
		/* Zero bytes where a frame should start: a region never written
		 * (a later buffer reached the disk, this one did not). */
		unsigned char z[64];
		size_t k = fread(z, 1, left - 4 < sizeof(z) ? (size_t)(left - 4) : sizeof(z), r->f);
		for (size_t i = 0; i < k; i++)
			if (z[i])
				return fail(r, err, off,
					    "a record of length 0: the file is "
					    "corrupted"),
				       FRAME_ERR;
		return stop_partial(r, err, off,
				    "zero bytes from here (a region that was never "
				    "written: the run was killed while writing)")
			   ? FRAME_ERR
			   : FRAME_END;
	}
	if (len > max)
		return fail(r, err, off,
			    "a record of %u bytes is announced, at most %u are "
			    "possible: the file is corrupted",
			    len, max),
		       FRAME_ERR;
	if (left < (uint64_t)len + 8)
		return stop_partial(r, err, off,
				    "the file ends inside a record of %u bytes (%llu "
				    "of its %u bytes present)",
				    len + 8, OFF(left), len + 8)
			   ? FRAME_ERR
			   : FRAME_END;
	if (r->body_cap < (size_t)len + 8) {
		unsigned char *b = realloc(r->body, (size_t)len + 8);
		if (!b)
			return fail(r, err, off, "out of memory"), FRAME_ERR;
		r->body = b;
		r->body_cap = (size_t)len + 8;
	}
	memcpy(r->body, lenb, 4);
	if (fread(r->body + 4, 1, (size_t)len + 4, r->f) != (size_t)len + 4)
		return fail(r, err, off, "cannot read: %s",
			    ferror(r->f) ? strerror(errno) : "the file shrank"),
		       FRAME_ERR;
	uint32_t stored = trace_get_u32le(r->body + 4 + len);
	uint32_t computed = trace_crc32c(0, r->body, (size_t)len + 4);
	if (stored != computed)
		return fail(r, err, off,
			    "the record at bytes %llu-%llu is corrupted (CRC-32C "
			    "0x%08x stored, 0x%08x computed)",
			    OFF(off), OFF(off + len + 7), stored, computed),
		       FRAME_ERR;
	if (!mp_well_formed(r->body + 4, len))
		return fail(r, err, off,
			    "the record's body is not one well-formed msgpack object of its "
			    "%u bytes (its lists announce more items than it holds)",
			    len),
		       FRAME_ERR;
	size_t used = 0;
	msgpack_zone_clear(&r->zone);
	msgpack_unpack_return u =
	    msgpack_unpack((const char *)r->body + 4, len, &used, &r->zone, obj);
	if (u != MSGPACK_UNPACK_SUCCESS || obj->type != MSGPACK_OBJECT_ARRAY ||
	    obj->via.array.size < 1 ||
	    obj->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(r, err, off,
			    "the record's body is not a tagged msgpack array "
			    "(written by another program?)"),
		       FRAME_ERR;
	*len_out = len;
	r->off = off + len + 8;
	return FRAME_OK;
}

/* ------------------------------------------------------------- header */

static int parse_header(struct cim_trace_reader *r, const msgpack_object *o, struct cim_err *err)
{
	const uint64_t off = TRACE_PREFIX;
	struct cim_trace_info *in = &r->info;
	char level[16] = "";
	bool have_rank = false;

	if (o->via.array.ptr[0].via.u64 != TAG_HEADER || o->via.array.size < 2 ||
	    o->via.array.ptr[1].type != MSGPACK_OBJECT_MAP)
		return fail(r, err, off, "the first frame is not a header");
	/* the keys this reader takes: each at most once (a later writer's
	 * other keys are skipped, twice or not) */
	static const char *const known[] = { "rank",	   "nranks",	"stage",    "tp",
					     "replica",	   "run_id",	"level",    "chip",
					     "experiment", "time_unit", "resources" };
	bool seen[sizeof(known) / sizeof(known[0])] = { false };
	const msgpack_object_map *m = &o->via.array.ptr[1].via.map;
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
		char key[32];
		bool ok = true;

		if (!f_cstr(k, key, sizeof(key) - 1))
			return fail(r, err, off, "header key %u is not a short string", i);
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (strcmp(key, known[j]) == 0) {
				if (seen[j])
					return fail(r, err, off, "header: key %s is given twice",
						    key);
				seen[j] = true;
			}
		if (strcmp(key, "rank") == 0)
			ok = f_u32(v, &in->rank), have_rank = true;
		else if (strcmp(key, "nranks") == 0)
			ok = f_u32(v, &in->nranks);
		else if (strcmp(key, "stage") == 0)
			ok = f_u32(v, &in->stage);
		else if (strcmp(key, "tp") == 0)
			ok = f_u32(v, &in->tp);
		else if (strcmp(key, "replica") == 0)
			ok = f_u32(v, &in->replica);
		else if (strcmp(key, "run_id") == 0)
			ok = f_u64(v, &in->run_id);
		else if (strcmp(key, "level") == 0)
			ok = f_cstr(v, level, sizeof(level) - 1);
		else if (strcmp(key, "chip") == 0)
			ok = f_cstr(v, in->chip, sizeof(in->chip) - 1);
		else if (strcmp(key, "experiment") == 0)
			ok = f_cstr(v, in->experiment, sizeof(in->experiment) - 1);
		else if (strcmp(key, "time_unit") == 0)
			ok = f_cstr(v, in->time_unit, sizeof(in->time_unit) - 1);
		else if (strcmp(key, "resources") == 0) {
			if (v->type != MSGPACK_OBJECT_ARRAY ||
			    v->via.array.size > CIM_TRACE_MAX_RES)
				return fail(r, err, off,
					    "header: resources is not a list of at "
					    "most %d names",
					    CIM_TRACE_MAX_RES);
			in->nres = v->via.array.size;
			r->res = calloc(in->nres ? in->nres : 1, sizeof(*r->res));
			if (!r->res)
				return fail(r, err, off, "out of memory");
			for (uint32_t j = 0; ok && j < in->nres; j++)
				ok = f_cstr(&v->via.array.ptr[j], r->res[j], CIM_TRACE_NAME_MAX);
		}
		/* other keys: from a later writer of the same version; skipped */
		if (!ok)
			return fail(r, err, off, "header: %s has a value of the wrong type or size",
				    key);
	}
	if (!have_rank || !r->res)
		return fail(r, err, off, "header: rank or resources missing");
	if (in->rank >= in->nranks)
		return fail(r, err, off, "header: rank %u of %u ranks", in->rank, in->nranks);
	if (cim_trace_level_parse(level, &in->level, NULL))
		return fail(r, err, off, "header: level \"%s\" is not op, layer or step", level);
	if (strcmp(in->time_unit, "ps") != 0)
		return fail(r, err, off, "header: time unit \"%s\", expected \"ps\"",
			    in->time_unit);
	return 0;
}

int cim_trace_reader_open(const char *path, unsigned flags, struct cim_trace_reader **r_p,
			  struct cim_err *err)
{
	struct cim_trace_reader *r;
	unsigned char pre[TRACE_PREFIX];
	struct stat st;
	msgpack_object obj;
	uint32_t len;

	r = calloc(1, sizeof(*r));
	if (!r)
		return cim_err_set(err, "%s: out of memory", path);
	r->flags = flags;
	r->path = strdup(path);
	if (!r->path || !msgpack_zone_init(&r->zone, 2048)) {
		free(r->path);
		free(r);
		return cim_err_set(err, "%s: out of memory", path);
	}
	r->f = fopen(path, "rb");
	if (!r->f) {
		cim_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		goto err_free;
	}
	if (fstat(fileno(r->f), &st) != 0 || !S_ISREG(st.st_mode)) {
		cim_err_set(err, "%s: not a regular file", path);
		goto err_free;
	}
	r->size = (uint64_t)st.st_size;
	size_t got = fread(pre, 1, sizeof(pre), r->f);
	size_t cmp = got < TRACE_MAGIC_LEN ? got : TRACE_MAGIC_LEN;
	if (memcmp(pre, TRACE_MAGIC, cmp) != 0 || got == 0) {
		cim_err_set(err,
			    "%s: byte offset 0: not a cimsim trace (it does not start with "
			    "the bytes 89 43 49 4d 54 52 0d 0a)",
			    path);
		goto err_free;
	}
	if (got < sizeof(pre)) {
		cim_err_set(err, "%s: byte offset %zu: the file ends inside its %d-byte prefix",
			    path, got, TRACE_PREFIX);
		goto err_free;
	}
	r->info.version = trace_get_u32le(pre + TRACE_MAGIC_LEN);
	if (r->info.version != CIM_TRACE_VERSION) {
		cim_err_set(err,
			    "%s: byte offset %d: format version %u; this cimsim reads "
			    "version %d",
			    path, TRACE_MAGIC_LEN, r->info.version, CIM_TRACE_VERSION);
		goto err_free;
	}
	r->off = TRACE_PREFIX;
	if (r->size < TRACE_PREFIX + 8) {
		cim_err_set(err, "%s: byte offset %d: the file ends before its header", path,
			    TRACE_PREFIX);
		goto err_free;
	}
	/* Without its header a file is nothing: strict about it. */
	unsigned saved = r->flags;
	r->flags |= CIM_TRACE_STRICT;
	int rc = read_frame(r, TRACE_HEADER_MAX, &obj, &len, err);
	r->flags = saved;
	if (rc != FRAME_OK || parse_header(r, &obj, err))
		goto err_free;
	r->partial = false;
	r->done = false;
	r->note[0] = '\0';
	*r_p = r;
	return 0;

err_free:
	cim_trace_reader_close(r);
	return -1;
}

/* ------------------------------------------------------------ records */

/* An energy a record can hold: finite and not below zero. */
static bool energy_ok(double pj)
{
	return pj >= 0 && pj <= 1e300;
}

static int parse_op(const msgpack_object *a, struct cim_trace_rec *rec)
{
	struct cim_rec_op *op = &rec->u.op;
	const msgpack_object *f = a->via.array.ptr + 1;

	if (a->via.array.size < 1 + TRACE_OP_FIELDS)
		return 0;
	if (!f_u64(&f[0], &op->start_ps) || !f_u64(&f[1], &op->end_ps) ||
	    !f_u32(&f[2], &op->resource) || !f_u32(&f[3], &op->resource2) ||
	    !f_u32(&f[4], &op->op_kind) || !f_str(&f[5], op->name, sizeof(op->name)) ||
	    !f_i32(&f[6], &op->layer) || !f_u32(&f[7], &op->micro_batch) ||
	    !f_u32(&f[8], &op->step) || !f_u32(&f[9], &op->phase) || !f_u64(&f[10], &op->bytes) ||
	    f[11].type != MSGPACK_OBJECT_ARRAY || f[11].via.array.size != CIM_E_NCOMP ||
	    !f_u32(&f[12], &rec->count))
		return 0;
	for (int i = 0; i < CIM_E_NCOMP; i++)
		if (!f_f64(&f[11].via.array.ptr[i], &op->energy_pj[i]) ||
		    !energy_ok(op->energy_pj[i]))
			return 0;
	return op->end_ps >= op->start_ps && rec->count >= 1;
}

static int parse_msg(const msgpack_object *a, struct cim_trace_rec *rec)
{
	struct cim_rec_msg *m = &rec->u.msg;
	const msgpack_object *f = a->via.array.ptr + 1;

	if (a->via.array.size < 1 + TRACE_MSG_FIELDS)
		return 0;
	return f_u64(&f[0], &m->depart_ps) && f_u64(&f[1], &m->arrive_ps) &&
	       f_u32(&f[2], &m->peer) && f_u32(&f[3], &m->kind) && f_u32(&f[4], &m->is_send) &&
	       f_u32(&f[5], &m->micro_batch) && f_u32(&f[6], &m->step) && f_u32(&f[7], &m->phase) &&
	       f_u64(&f[8], &m->bytes) && f_f64(&f[9], &m->energy_pj) && energy_ok(m->energy_pj) &&
	       f_u32(&f[10], &rec->count) && rec->count >= 1 && m->arrive_ps >= m->depart_ps;
}

static int parse_coll(const msgpack_object *a, struct cim_trace_rec *rec)
{
	struct cim_rec_coll *c = &rec->u.coll;
	const msgpack_object *f = a->via.array.ptr + 1;

	if (a->via.array.size < 1 + TRACE_COLL_FIELDS)
		return 0;
	return f_u64(&f[0], &c->ready_ps) && f_u64(&f[1], &c->finish_ps) &&
	       f_u32(&f[2], &c->coll) && f_u32(&f[3], &c->algo) && f_u32(&f[4], &c->group) &&
	       f_u32(&f[5], &c->group_size) && f_i32(&f[6], &c->layer) &&
	       f_u32(&f[7], &c->micro_batch) && f_u32(&f[8], &c->step) && f_u32(&f[9], &c->phase) &&
	       f_u64(&f[10], &c->bytes) && f_f64(&f[11], &c->energy_pj) &&
	       energy_ok(c->energy_pj) && f_u32(&f[12], &rec->count) && rec->count >= 1 &&
	       c->finish_ps >= c->ready_ps;
}

static int parse_sched(const msgpack_object *a, struct cim_trace_rec *rec)
{
	struct cim_rec_sched *x = &rec->u.sched;
	const msgpack_object *f = a->via.array.ptr + 1;

	if (a->via.array.size < 1 + TRACE_SCHED_FIELDS)
		return 0;
	rec->count = 1;
	return f_u64(&f[0], &x->t_ps) && f_u32(&f[1], &x->waiting) && f_u32(&f[2], &x->requeued) &&
	       f_u32(&f[3], &x->running) && f_u32(&f[4], &x->decision) && x->decision <= 1 &&
	       f_u32(&f[5], &x->batch) && f_u32(&f[6], &x->tokens) && f_u64(&f[7], &x->kv_bytes) &&
	       f_u64(&f[8], &x->kv_room) && x->kv_bytes <= x->kv_room &&
	       (x->decision || (x->batch == 0 && x->tokens == 0));
}

static bool same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The trailer: the end of the file, and the proof that nothing is missing. */
static int parse_trailer(struct cim_trace_reader *r, const msgpack_object *a, uint64_t off,
			 struct cim_err *err)
{
	struct cim_trace_totals *t = &r->totals;
	const msgpack_object *f = a->via.array.ptr + 1;
	static const char *const type_names[] = { "", "op", "message", "collective", "scheduler" };
	const uint32_t ntypes = CIM_TREC_NTYPE - 1;

	_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == CIM_TREC_NTYPE,
		       "a name per record type");

	memset(t, 0, sizeof(*t));
	if (a->via.array.size < 1 + TRACE_TRAILER_FIELDS || !f_bool(&f[0], &t->complete) ||
	    !f_cstr(&f[1], t->reason, sizeof(t->reason) - 1) || f[2].type != MSGPACK_OBJECT_ARRAY ||
	    f[2].via.array.size != ntypes || f[3].type != MSGPACK_OBJECT_ARRAY ||
	    f[3].via.array.size != ntypes || f[4].type != MSGPACK_OBJECT_ARRAY ||
	    f[4].via.array.size != CIM_E_NCOMP || !f_f64(&f[5], &t->msg_energy_pj) ||
	    !f_f64(&f[6], &t->coll_energy_pj) || !f_u64(&f[7], &t->end_ps))
		return fail(r, err, off, "malformed trailer");
	for (uint32_t i = 0; i < ntypes; i++)
		if (!f_u64(&f[2].via.array.ptr[i], &t->records[i + 1]) ||
		    !f_u64(&f[3].via.array.ptr[i], &t->events[i + 1]))
			return fail(r, err, off, "malformed trailer");
	for (int i = 0; i < CIM_E_NCOMP; i++)
		if (!f_f64(&f[4].via.array.ptr[i], &t->op_energy_pj[i]))
			return fail(r, err, off, "malformed trailer");
	r->has_totals = true;
	if (r->off != r->size)
		return fail(r, err, r->off, "%llu bytes follow the trailer", OFF(r->size - r->off));
	for (int k = CIM_TREC_OP; k < CIM_TREC_NTYPE; k++)
		if (t->records[k] != r->records[k])
			return fail(r, err, off,
				    "the trailer counts %llu %s records, the file "
				    "holds %llu: records are missing or added",
				    OFF(t->records[k]), type_names[k], OFF(r->records[k]));
	for (int k = CIM_TREC_OP; k < CIM_TREC_NTYPE; k++)
		if (t->events[k] != r->events[k])
			return fail(r, err, off,
				    "the trailer counts %llu %s events, the records hold %llu",
				    OFF(t->events[k]), type_names[k], OFF(r->events[k]));
	if (t->end_ps != r->end_ps)
		return fail(r, err, off,
			    "the trailer says the trace ends at %llu ps, its records at %llu ps",
			    OFF(t->end_ps), OFF(r->end_ps));
	for (int i = 0; i < CIM_E_NCOMP; i++)
		if (!same_bits(t->op_energy_pj[i], r->op_e[i]))
			return fail(r, err, off,
				    "the trailer's %s energy (%.17g pJ) differs from "
				    "the records' sum (%.17g pJ)",
				    cim_chip_ecomp_name((enum cim_chip_ecomp)i), t->op_energy_pj[i],
				    r->op_e[i]);
	if (!same_bits(t->msg_energy_pj, r->msg_e) || !same_bits(t->coll_energy_pj, r->coll_e))
		return fail(r, err, off, "the trailer's link energy differs from the records' sum");
	r->done = true;
	if (!t->complete)
		return stop_partial(r, err, off, "the trailer marks the trace partial (%s)",
				    t->reason[0] ? t->reason : "no reason given");
	return 0;
}

int cim_trace_reader_next(struct cim_trace_reader *r, struct cim_trace_rec *rec_out,
			  struct cim_err *err)
{
	msgpack_object obj;
	uint32_t len;
	struct cim_trace_rec rec;

	if (r->done)
		return 0;
	uint64_t off = r->off;
	int rc = read_frame(r, TRACE_FRAME_MAX, &obj, &len, err);
	if (rc != FRAME_OK)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.offset = off;
	switch (obj.via.array.ptr[0].via.u64) {
	case TAG_OP:
		rec.type = CIM_TREC_OP;
		if (!parse_op(&obj, &rec))
			return fail(r, err, off, "malformed op record");
		if (rec.u.op.resource >= r->info.nres ||
		    (rec.u.op.resource2 != UINT32_MAX && rec.u.op.resource2 >= r->info.nres))
			return fail(r, err, off,
				    "an op record on resource %u (and %u); the header names %u",
				    rec.u.op.resource, rec.u.op.resource2, r->info.nres);
		r->end_ps = rec.u.op.end_ps > r->end_ps ? rec.u.op.end_ps : r->end_ps;
		for (int i = 0; i < CIM_E_NCOMP; i++)
			r->op_e[i] += rec.u.op.energy_pj[i];
		break;
	case TAG_MSG:
		rec.type = CIM_TREC_MSG;
		if (!parse_msg(&obj, &rec))
			return fail(r, err, off, "malformed message record");
		r->msg_e += rec.u.msg.energy_pj;
		r->end_ps = rec.u.msg.arrive_ps > r->end_ps ? rec.u.msg.arrive_ps : r->end_ps;
		break;
	case TAG_COLL:
		rec.type = CIM_TREC_COLL;
		if (!parse_coll(&obj, &rec))
			return fail(r, err, off, "malformed collective record");
		r->coll_e += rec.u.coll.energy_pj;
		r->end_ps = rec.u.coll.finish_ps > r->end_ps ? rec.u.coll.finish_ps : r->end_ps;
		break;
	case TAG_SCHED:
		rec.type = CIM_TREC_SCHED;
		if (!parse_sched(&obj, &rec))
			return fail(r, err, off, "malformed scheduler record");
		if (rec.u.sched.t_ps < r->sched_ps)
			return fail(r, err, off,
				    "a scheduler record at %llu ps follows one at %llu ps: "
				    "the series must be in time order",
				    OFF(rec.u.sched.t_ps), OFF(r->sched_ps));
		r->sched_ps = rec.u.sched.t_ps;
		r->end_ps = rec.u.sched.t_ps > r->end_ps ? rec.u.sched.t_ps : r->end_ps;
		break;
	case TAG_TRAILER:
		return parse_trailer(r, &obj, off, err) ? -1 : 0;
	default:
		return fail(r, err, off, "unknown record tag %llu",
			    OFF(obj.via.array.ptr[0].via.u64));
	}
	r->records[rec.type]++;
	r->events[rec.type] += rec.count;
	*rec_out = rec;
	return 1;
}

const struct cim_trace_info *cim_trace_reader_info(const struct cim_trace_reader *r)
{
	return &r->info;
}

const char *cim_trace_reader_res(const struct cim_trace_reader *r, uint32_t id)
{
	return id < r->info.nres ? r->res[id] : NULL;
}

bool cim_trace_reader_partial(const struct cim_trace_reader *r)
{
	return r->partial;
}

const char *cim_trace_reader_note(const struct cim_trace_reader *r)
{
	return r->note;
}

const struct cim_trace_totals *cim_trace_reader_totals(const struct cim_trace_reader *r)
{
	return r->done && r->has_totals ? &r->totals : NULL;
}

void cim_trace_reader_close(struct cim_trace_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	msgpack_zone_destroy(&r->zone);
	free(r->res);
	free(r->body);
	free(r->path);
	free(r);
}
