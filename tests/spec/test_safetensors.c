/*
 * test_safetensors.c — the safetensors reader on files the test writes:
 * every dtype read back to the value written, the metadata skipped, and
 * every damaged header refused with the file, the tensor and what is
 * wrong.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "test.h"
#include "traces/files.h"

/* Writes the 8-byte length, the header and the data to dir/name. */
static const char *put(const char *dir, const char *name, const char *header, const void *data,
		       size_t n)
{
	const char *p = tf_path(dir, name);
	FILE *f = fopen(p, "wb");
	const uint64_t len = strlen(header);
	unsigned char l8[8];

	for (int i = 0; i < 8; i++)
		l8[i] = (unsigned char)(len >> (8 * i));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(l8, 1, 8, f);
	fwrite(header, 1, len, f);
	if (n)
		fwrite(data, 1, n, f);
	fclose(f);
	return p;
}

static void test_dtypes(void)
{
	char *dir = tf_mkdtemp();
	struct cim_st_file *st;
	struct cim_err err;
	/* little-endian bytes: F32 1.5, −2; F16 0x3c00 = 1, 0xc500 = −5,
	 * 0x0001 = 2^−24 (subnormal); BF16 0x3fc0 = 1.5; I8 −3, 7; F64 0.1 */
	unsigned char data[64] = { 0 };
	const float f32[2] = { 1.5f, -2.0f };
	const double f64 = 0.1;
	memcpy(data, f32, 8);
	const unsigned char rest[] = { 0x00, 0x3c, 0x00, 0xc5, 0x01, 0x00, 0xc0, 0x3f, 0xfd, 0x07 };
	memcpy(data + 8, rest, sizeof(rest));
	memcpy(data + 18, &f64, 8);
	const char *hdr =
	    "{\"__metadata__\": {\"format\": \"pt\"},"
	    " \"a\": {\"dtype\": \"F32\", \"shape\": [1, 2], \"data_offsets\": [0, 8]},"
	    " \"b\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [8, 14]},"
	    " \"c\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [14, 16]},"
	    " \"d\": {\"dtype\": \"I8\", \"shape\": [2, 1], \"data_offsets\": [16, 18]},"
	    " \"e\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [18, 26]}}";
	double v[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	const char *p = put(dir, "ok.safetensors", hdr, data, 26);
	if (cim_st_open(p, &st, &err))
		fprintf(stderr, "\n  %s\n", err.msg);
	CU_ASSERT_FATAL(st != NULL);
	CIM_ASSERT_EQ_U64(st->n, 5);
	CU_ASSERT_STRING_EQUAL(st->t[0].name, "a");
	CIM_ASSERT_EQ_U64(st->t[0].ndim, 2);
	CIM_ASSERT_EQ_U64(st->t[0].shape[1], 2);
	CU_ASSERT_EQUAL_FATAL(cim_st_read(st, cim_st_find(st, "a"), v, &err), 0);
	CU_ASSERT(v[0] == 1.5 && v[1] == -2.0);
	CU_ASSERT_EQUAL_FATAL(cim_st_read(st, cim_st_find(st, "b"), v, &err), 0);
	CU_ASSERT(v[0] == 1.0 && v[1] == -5.0 && v[2] == ldexp(1.0, -24));
	CIM_ASSERT_EQ_U64(cim_st_find(st, "c")->elems, 1); /* a scalar: shape [] */
	CU_ASSERT_EQUAL_FATAL(cim_st_read(st, cim_st_find(st, "c"), v, &err), 0);
	CU_ASSERT(v[0] == 1.5);
	CU_ASSERT_EQUAL_FATAL(cim_st_read(st, cim_st_find(st, "d"), v, &err), 0);
	CU_ASSERT(v[0] == -3.0 && v[1] == 7.0);
	CU_ASSERT_EQUAL_FATAL(cim_st_read(st, cim_st_find(st, "e"), v, &err), 0);
	CU_ASSERT(v[0] == 0.1);
	CU_ASSERT_PTR_NULL(cim_st_find(st, "__metadata__"));
	cim_st_close(st);
	tf_rmrf(dir);
	free(dir);
}

static void test_refused(void)
{
	static const struct {
		const char *header, *message;
		size_t data;
	} cases[] = {
		{ "[1, 2]", "its header is not a JSON object", 0 },
		{ "{\"a\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}",
		  "tensor 'a': dtype F8_E4M3 is not read here", 1 },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 8]}}",
		  "tensor 'a': 4 F32 values take 16 bytes, its data_offsets give 8", 8 },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
		  "tensor 'a' ends at byte 16 of the data, which holds 8: the file is cut short",
		  8 },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}",
		  "tensor 'a': shape[0] is not a whole number", 4 },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}",
		  "data_offsets must be two whole numbers, BEGIN ≤ END", 4 },
		{ "{\"a\": {\"dtype\": \"F32\"}}", "tensor 'a': expected {\"dtype\"", 0 },
	};
	char *dir = tf_mkdtemp();
	unsigned char zeros[16] = { 0 };
	struct cim_st_file *st = NULL;
	struct cim_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = put(dir, "bad.safetensors", cases[i].header, zeros, cases[i].data);
		CU_ASSERT_EQUAL(cim_st_open(p, &st, &err), -1);
		CIM_ASSERT_HAS(err.msg, cases[i].message);
		CIM_ASSERT_HAS(err.msg, "bad.safetensors");
	}
	/* a header longer than the file, and a file shorter than a length */
	FILE *f = fopen(tf_path(dir, "short.safetensors"), "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("\xff\xff\x00\x00\x00\x00\x00\x00{}", 1, 10, f);
	fclose(f);
	CU_ASSERT_EQUAL(cim_st_open(tf_path(dir, "short.safetensors"), &st, &err), -1);
	CIM_ASSERT_HAS(err.msg, "a header of 65535 bytes in a file of 10");
	f = fopen(tf_path(dir, "tiny.safetensors"), "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("abc", 1, 3, f);
	fclose(f);
	CU_ASSERT_EQUAL(cim_st_open(tf_path(dir, "tiny.safetensors"), &st, &err), -1);
	CIM_ASSERT_HAS(err.msg, "3 bytes: not a safetensors file");
	CU_ASSERT_EQUAL(cim_st_open(tf_path(dir, "none.safetensors"), &st, &err), -1);
	CIM_ASSERT_HAS(err.msg, "none.safetensors: cannot open");
	tf_rmrf(dir);
	free(dir);
}

static const struct cim_test tests[] = {
	{ "every dtype read back", test_dtypes },
	{ "damaged headers refused", test_refused },
};

CIM_TEST_MAIN("safetensors", tests)
