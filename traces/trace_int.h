/*
 * trace_int.h — what the files of traces/ share and nobody else needs: the
 * byte layout's constants, CRC-32C, little-endian helpers, names of enum
 * values, and the list of a run's trace files in a directory.
 *
 * The layout (docs/traces.md has the full description):
 *
 *   file   := magic[8] version:u32le frame(header) frame(record)* frame(trailer)
 *   frame  := length:u32le body[length] crc:u32le
 *   body   := one msgpack array whose first element is the tag
 *   crc    := CRC-32C (Castagnoli) of the 4 length bytes and the body
 */
#ifndef CIM_TRACES_TRACE_INT_H
#define CIM_TRACES_TRACE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "traces.h"

#define TRACE_MAGIC                                                                                \
	"\x89"                                                                                     \
	"CIMTR\r\n" /* 8 bytes: a binary, line-ending-checked file */
#define TRACE_MAGIC_LEN 8
#define TRACE_PREFIX	(TRACE_MAGIC_LEN + 4) /* magic and version */

/* Frame tags: the first element of every body. */
enum trace_tag {
	TAG_HEADER = 'H',
	TAG_OP = 'O',
	TAG_MSG = 'M',
	TAG_COLL = 'C',
	TAG_SCHED = 'S',
	TAG_TRAILER = 'T',
};

#define TRACE_HEADER_MAX (1u << 20) /* bytes of the header frame's body */
#define TRACE_FRAME_MAX	 4096u	    /* bytes of any other body a reader accepts */
#define TRACE_REC_RESERVE                                                                          \
	512u /* bytes a record or trailer frame takes at most                                      \
		(length, body and CRC) as this writer encodes it */

/* Fields of each record body after the tag, in this version. */
#define TRACE_OP_FIELDS	     13
#define TRACE_MSG_FIELDS     11
#define TRACE_COLL_FIELDS    13
#define TRACE_SCHED_FIELDS   9
#define TRACE_TRAILER_FIELDS 8

/* CRC-32C of n bytes, continuing crc (0 to start), with the fastest code
 * the machine runs (the SSE4.2 instruction where there is one). */
uint32_t trace_crc32c(uint32_t crc, const void *buf, size_t n);
/* The same, portable (tables, eight bytes at a time). */
uint32_t trace_crc32c_sw(uint32_t crc, const void *buf, size_t n);

#ifdef CIM_TRACE_CRC_SSE42
/* crc_sse42.c, built on x86-64: the crc32 instruction of SSE4.2. */
uint32_t trace_crc32c_sse42(uint32_t crc, const void *buf, size_t n);
bool trace_crc32c_sse42_ok(void); /* the CPU has it */
#else
static inline uint32_t trace_crc32c_sse42(uint32_t crc, const void *buf, size_t n)
{
	return trace_crc32c_sw(crc, buf, n);
}
static inline bool trace_crc32c_sse42_ok(void)
{
	return false;
}
#endif

static inline void trace_put_u32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t trace_get_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * msgpack encoding of the record frames, written straight into the
 * buffer.  msgpack-c's packer calls a write callback once per field (about
 * 30 indirect calls and memcpy per record, most of the cost of recording);
 * these produce the very same bytes — the shortest form, chosen as
 * msgpack-c chooses it (test_traces compares them) — inline.  Each returns
 * the byte after what it wrote; the caller has reserved the room.
 */
/* Big-endian stores written out byte by byte: compilers turn each into
 * one byte swap and one store. */
static inline unsigned char *mp_be16(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return p + 2;
}

static inline unsigned char *mp_be32(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static inline unsigned char *mp_be64(unsigned char *p, uint64_t v)
{
	p[0] = (unsigned char)(v >> 56);
	p[1] = (unsigned char)(v >> 48);
	p[2] = (unsigned char)(v >> 40);
	p[3] = (unsigned char)(v >> 32);
	p[4] = (unsigned char)(v >> 24);
	p[5] = (unsigned char)(v >> 16);
	p[6] = (unsigned char)(v >> 8);
	p[7] = (unsigned char)v;
	return p + 8;
}

static inline unsigned char *mp_uint(unsigned char *p, uint64_t v)
{
	if (v < 128) {
		*p = (unsigned char)v;
		return p + 1;
	}
	if (v < 256) {
		p[0] = 0xcc;
		p[1] = (unsigned char)v;
		return p + 2;
	}
	if (v < 65536) {
		*p = 0xcd;
		return mp_be16(p + 1, v);
	}
	if (v <= UINT32_MAX) {
		*p = 0xce;
		return mp_be32(p + 1, v);
	}
	*p = 0xcf;
	return mp_be64(p + 1, v);
}

static inline unsigned char *mp_int(unsigned char *p, int64_t v)
{
	if (v >= 0)
		return mp_uint(p, (uint64_t)v);
	if (v >= -32) {
		*p = (unsigned char)(0xe0 | (v & 0x1f)); /* negative fixint */
		return p + 1;
	}
	if (v >= -128) {
		p[0] = 0xd0;
		p[1] = (unsigned char)v;
		return p + 2;
	}
	if (v >= -32768) {
		*p = 0xd1;
		return mp_be16(p + 1, (uint64_t)v);
	}
	if (v >= INT32_MIN) {
		*p = 0xd2;
		return mp_be32(p + 1, (uint64_t)v);
	}
	*p = 0xd3;
	return mp_be64(p + 1, (uint64_t)v);
}

static inline unsigned char *mp_double(unsigned char *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	*p = 0xcb;
	return mp_be64(p + 1, bits);
}

static inline unsigned char *mp_array(unsigned char *p, uint32_t n)
{
	if (n < 16) {
		*p = (unsigned char)(0x90 | n);
		return p + 1;
	}
	if (n < 65536) {
		*p = 0xdc;
		return mp_be16(p + 1, n);
	}
	*p = 0xdd;
	return mp_be32(p + 1, n);
}

/* A string of n bytes (n < 256 here: names and reasons are short). */
static inline unsigned char *mp_str(unsigned char *p, const char *s, size_t n)
{
	if (n < 32) {
		*p++ = (unsigned char)(0xa0 | n);
	} else {
		*p++ = 0xd9;
		*p++ = (unsigned char)n;
	}
	memcpy(p, s, n);
	return p + n;
}

static inline unsigned char *mp_bool(unsigned char *p, bool v)
{
	*p = v ? 0xc3 : 0xc2;
	return p + 1;
}

/* Names for exports and summaries; "?" (or the number) for unknown values. */
const char *trace_op_kind_name(uint32_t kind); /* enum cim_op_kind, or "mixed" */
const char *trace_coll_name(uint32_t coll);    /* enum cim_net_coll, or "mixed" */
const char *trace_algo_name(uint32_t algo);    /* enum cim_net_algo, or "mixed" */
/* Message kinds, phases and energy components are named by their owners:
 * cim_exec_msg_kind_name(), cim_part_phase_name(), cim_chip_ecomp_name(). */

/* The trace files of a run's directory, by rank. */
struct trace_run {
	size_t n;
	struct trace_run_file {
		uint32_t rank; /* from the file name */
		char *path;
	} * v;
};

/* Lists DIR/rank-NNNNN.cimtrace (other files are ignored); fails when dir
 * cannot be read or holds no trace.  Free with trace_run_free. */
int trace_run_list(const char *dir, struct trace_run *run, struct cim_err *err);
void trace_run_free(struct trace_run *run);

/* Checks that a file's header belongs with the run's first file (same run
 * id and rank count) and with its own name. */
int trace_run_check(const struct trace_run_file *file, const struct cim_trace_info *info,
		    const struct cim_trace_info *first, const char *first_path,
		    struct cim_err *err);

#endif /* CIM_TRACES_TRACE_INT_H */
