/*
 * crc_sse42.c — CRC-32C with the crc32 instruction of SSE4.2, eight bytes
 * per instruction: a record's checksum costs a few nanoseconds instead of
 * the tables' hundred.  Built on x86-64 only (traces/CMakeLists.txt); the
 * instruction is used only when the CPU reports it (format.c chooses).
 */
#include <nmmintrin.h>

#include "trace_int.h"

__attribute__((target("sse4.2"))) uint32_t trace_crc32c_sse42(uint32_t crc, const void *buf,
							      size_t n)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, sizeof(v)); /* little-endian: the byte order CRC-32C takes */
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

bool trace_crc32c_sse42_ok(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
