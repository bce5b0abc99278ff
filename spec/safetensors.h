/*
 * safetensors.h — a reader of Hugging Face's safetensors files, as users
 * download them: an 8-byte little-endian header length N, N bytes of JSON
 * naming each tensor's dtype, shape and byte range ("data_offsets",
 * relative to the end of the header), then the tensors' bytes.  Only the
 * header is read on open; a tensor's bytes are read when asked for, so a
 * file of many gigabytes costs what its header does.  docs/accuracy.md.
 */
#ifndef CIM_SPEC_SAFETENSORS_H
#define CIM_SPEC_SAFETENSORS_H

#include <stdint.h>

#include "spec.h"

enum cim_st_dtype { CIM_ST_F64, CIM_ST_F32, CIM_ST_F16, CIM_ST_BF16, CIM_ST_I8, CIM_ST_NDTYPE };

#define CIM_ST_MAX_DIMS 8

struct cim_st_tensor {
	char name[256];
	enum cim_st_dtype dtype;
	uint32_t ndim;
	uint64_t shape[CIM_ST_MAX_DIMS];
	uint64_t elems;	     /* the product of the shape */
	uint64_t begin, end; /* bytes, from the start of the data */
};

struct cim_st_file {
	char path[1024];
	uint64_t size;	     /* of the file */
	uint64_t data_start; /* 8 + the header's length */
	uint32_t n;	     /* tensors, in the order the header names them */
	struct cim_st_tensor *t;
};

/* "F64", "F32", "F16", "BF16", "I8". */
const char *cim_st_dtype_name(enum cim_st_dtype d);

/*
 * Reads and checks the header of the file at path: its length within the
 * file, valid JSON, every tensor's dtype known, its shape's bytes equal to
 * its range, and the range within the file.  Returns 0, or −1 with err
 * naming the file, the tensor and what is wrong.  Free with cim_st_close().
 */
int cim_st_open(const char *path, struct cim_st_file **out, struct cim_err *err);
void cim_st_close(struct cim_st_file *f);

/* The tensor called name, or NULL. */
const struct cim_st_tensor *cim_st_find(const struct cim_st_file *f, const char *name);

/* Reads tensor t's elems values, converted to double, into out.  Returns 0,
 * or −1 with err set (the file shorter than its header said, a read error). */
int cim_st_read(const struct cim_st_file *f, const struct cim_st_tensor *t, double *out,
		struct cim_err *err);

#endif /* CIM_SPEC_SAFETENSORS_H */
