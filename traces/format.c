/*
 * format.c — the pieces of the file format that writer and reader share:
 * the CRC-32C that guards every frame, and the names of the enum values a
 * record carries (for exports and summaries).
 *
 * CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), the
 * checksum of iSCSI and ext4: with the SSE4.2 crc32 instruction where the
 * CPU has it (crc_sse42.c, eight bytes per instruction), else eight bytes
 * at a time from eight tables ("slicing-by-8", Intel 2005).
 */
#include <uv.h>

#include "interconnect.h"
#include "trace_int.h"

static uint32_t crc_tab[8][256];
static uv_once_t crc_once = UV_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_tab[k][i] =
			    (crc_tab[k - 1][i] >> 8) ^ crc_tab[0][crc_tab[k - 1][i] & 0xff];
}

uint32_t trace_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	uv_once(&crc_once, crc_init);
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			      (uint32_t)p[7] << 24;
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^
		      crc_tab[2][(hi >> 8) & 0xff] ^ crc_tab[1][(hi >> 16) & 0xff] ^
		      crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The implementation, chosen at the first call. */
static uint32_t crc_choose(uint32_t crc, const void *buf, size_t n);
static uint32_t (*crc_impl)(uint32_t, const void *, size_t) = crc_choose;
static uv_once_t choose_once = UV_ONCE_INIT;

static void choose(void)
{
	crc_impl = trace_crc32c_sse42_ok() ? trace_crc32c_sse42 : trace_crc32c_sw;
}

static uint32_t crc_choose(uint32_t crc, const void *buf, size_t n)
{
	uv_once(&choose_once, choose);
	return crc_impl(crc, buf, n);
}

uint32_t trace_crc32c(uint32_t crc, const void *buf, size_t n)
{
	return crc_impl(crc, buf, n);
}

const char *trace_op_kind_name(uint32_t kind)
{
	if (kind == CIM_TRACE_MIXED)
		return "mixed";
	return cim_op_kind_name((enum cim_op_kind)kind);
}

const char *trace_coll_name(uint32_t coll)
{
	if (coll == CIM_TRACE_MIXED)
		return "mixed";
	return coll < CIM_NET_NCOLL ? cim_net_coll_name((enum cim_net_coll)coll) : "?";
}

const char *trace_algo_name(uint32_t algo)
{
	if (algo == CIM_TRACE_MIXED)
		return "mixed";
	return algo <= CIM_NET_ALGO_AUTO ? cim_net_algo_name((enum cim_net_algo)algo) : "?";
}
