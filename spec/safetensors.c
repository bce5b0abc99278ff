/*
 * safetensors.c — the header of a safetensors file, checked, and its
 * tensors read on demand as doubles (safetensors.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "schema.h"

#define HEADER_MAX (100u << 20) /* bytes of JSON: the format's own limit */

static const char *const dtype_names[] = { "F64", "F32", "F16", "BF16", "I8" };
static const uint32_t dtype_bytes[] = { 8, 4, 2, 2, 1 };

const char *cim_st_dtype_name(enum cim_st_dtype d)
{
	_Static_assert(sizeof(dtype_names) / sizeof(dtype_names[0]) == CIM_ST_NDTYPE,
		       "a name per dtype");
	return (unsigned)d < CIM_ST_NDTYPE ? dtype_names[d] : "?";
}

void cim_st_close(struct cim_st_file *f)
{
	if (!f)
		return;
	free(f->t);
	free(f);
}

/* A whole number written as a JSON number. */
static bool u64_of(const struct tnode *n, uint64_t *v)
{
	char *end;

	if (!n || n->kind != TN_SCALAR || n->quoted || !n->scalar[0] || n->scalar[0] == '-')
		return false;
	errno = 0;
	unsigned long long x = strtoull(n->scalar, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

static int tensor_of(struct cim_st_file *f, const char *name, const struct tnode *v,
		     uint64_t data_size, struct cim_st_tensor *t, struct cim_err *err)
{
	const struct tnode *dt = v->kind == TN_MAP ? tnode_get(v, "dtype") : NULL,
			   *sh = v->kind == TN_MAP ? tnode_get(v, "shape") : NULL,
			   *off = v->kind == TN_MAP ? tnode_get(v, "data_offsets") : NULL;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (!dt || dt->kind != TN_SCALAR || !sh || sh->kind != TN_SEQ || !off ||
	    off->kind != TN_SEQ || off->n != 2)
		return cim_err_set(err,
				   "%s: tensor '%s': expected {\"dtype\": ..., \"shape\": [...], "
				   "\"data_offsets\": [BEGIN, END]}",
				   f->path, name);
	t->dtype = CIM_ST_NDTYPE;
	for (int d = 0; d < CIM_ST_NDTYPE; d++)
		if (strcmp(dt->scalar, dtype_names[d]) == 0)
			t->dtype = (enum cim_st_dtype)d;
	if (t->dtype == CIM_ST_NDTYPE)
		return cim_err_set(err,
				   "%s: tensor '%s': dtype %s is not read here; expected F64, F32, "
				   "F16, BF16 or I8",
				   f->path, name, dt->scalar);
	if (sh->n > CIM_ST_MAX_DIMS)
		return cim_err_set(err, "%s: tensor '%s': %zu dimensions, at most %d read here",
				   f->path, name, sh->n, CIM_ST_MAX_DIMS);
	t->ndim = (uint32_t)sh->n;
	t->elems = 1;
	for (uint32_t i = 0; i < t->ndim; i++) {
		if (!u64_of(sh->vals[i], &t->shape[i]))
			return cim_err_set(err, "%s: tensor '%s': shape[%u] is not a whole number",
					   f->path, name, i);
		if (t->shape[i] && t->elems > UINT64_MAX / 8 / t->shape[i])
			return cim_err_set(err, "%s: tensor '%s': its shape overflows 64 bits",
					   f->path, name);
		t->elems *= t->shape[i];
	}
	if (!u64_of(off->vals[0], &t->begin) || !u64_of(off->vals[1], &t->end) || t->end < t->begin)
		return cim_err_set(err,
				   "%s: tensor '%s': data_offsets must be two whole numbers, "
				   "BEGIN ≤ END",
				   f->path, name);
	const uint64_t bytes = t->elems * dtype_bytes[t->dtype];
	if (t->end - t->begin != bytes)
		return cim_err_set(err,
				   "%s: tensor '%s': %" PRIu64 " %s values take %" PRIu64
				   " bytes, its data_offsets give %" PRIu64,
				   f->path, name, t->elems, dtype_names[t->dtype], bytes,
				   t->end - t->begin);
	if (t->end > data_size)
		return cim_err_set(err,
				   "%s: tensor '%s' ends at byte %" PRIu64 " of the data, which "
				   "holds %" PRIu64 ": the file is cut short",
				   f->path, name, t->end, data_size);
	return 0;
}

int cim_st_open(const char *path, struct cim_st_file **out, struct cim_err *err)
{
	struct cim_st_file *f = calloc(1, sizeof(*f));
	unsigned char len8[8];
	char *json = NULL;
	struct tnode *root = NULL;
	FILE *fp = NULL;
	int rc = -1;

	if (!f)
		return cim_err_set(err, "%s: out of memory", path);
	snprintf(f->path, sizeof(f->path), "%s", path);
	fp = fopen(path, "rb");
	if (!fp) {
		cim_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (fseek(fp, 0, SEEK_END) != 0 || ftell(fp) < 0) {
		cim_err_set(err, "%s: cannot tell its size: %s", path, strerror(errno));
		goto out;
	}
	f->size = (uint64_t)ftell(fp);
	rewind(fp);
	if (f->size < 8 || fread(len8, 1, 8, fp) != 8) {
		cim_err_set(err,
			    "%s: %" PRIu64 " bytes: not a safetensors file (it starts with "
			    "an 8-byte header length)",
			    path, f->size);
		goto out;
	}
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | len8[i];
	if (n > HEADER_MAX || n > f->size - 8) {
		cim_err_set(err,
			    "%s: a header of %" PRIu64 " bytes in a file of %" PRIu64
			    ": not a safetensors file, or cut short",
			    path, n, f->size);
		goto out;
	}
	f->data_start = 8 + n;
	json = malloc(n + 1);
	if (!json) {
		cim_err_set(err, "%s: out of memory for its header", path);
		goto out;
	}
	if (fread(json, 1, n, fp) != n) {
		cim_err_set(err, "%s: cannot read its header", path);
		goto out;
	}
	json[n] = 0;
	if (n == 0 || json[strspn(json, " \t\r\n")] != '{') {
		cim_err_set(err, "%s: its header is not a JSON object", path);
		goto out;
	}
	if (tnode_parse(path, json, n, &root, err))
		goto out;
	f->t = calloc(root->n ? root->n : 1, sizeof(*f->t));
	if (!f->t) {
		cim_err_set(err, "%s: out of memory for %zu tensors", path, root->n);
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		if (strcmp(root->keys[i], "__metadata__") == 0)
			continue;
		if (tensor_of(f, root->keys[i], root->vals[i], f->size - f->data_start, &f->t[f->n],
			      err))
			goto out;
		f->n++;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (fp)
		fclose(fp);
	free(json);
	tnode_free(root);
	cim_st_close(f);
	return rc;
}

const struct cim_st_tensor *cim_st_find(const struct cim_st_file *f, const char *name)
{
	for (uint32_t i = 0; i < f->n; i++)
		if (strcmp(f->t[i].name, name) == 0)
			return &f->t[i];
	return NULL;
}

static double half_of(uint16_t h)
{
	const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v = e == 0    ? ldexp(m, -24)
		   : e == 31 ? (m ? NAN : INFINITY)
			     : ldexp(m + 1024, e - 25);
	return h & 0x8000 ? -v : v;
}

static double float_of(uint32_t u)
{
	float v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

int cim_st_read(const struct cim_st_file *f, const struct cim_st_tensor *t, double *out,
		struct cim_err *err)
{
	const uint32_t w = dtype_bytes[t->dtype];
	unsigned char buf[8192];
	FILE *fp = fopen(f->path, "rb");
	uint64_t done = 0;

	if (!fp)
		return cim_err_set(err, "%s: cannot open: %s", f->path, strerror(errno));
	if (fseeko(fp, (off_t)(f->data_start + t->begin), SEEK_SET) != 0) {
		fclose(fp);
		return cim_err_set(err, "%s: cannot seek to tensor '%s'", f->path, t->name);
	}
	while (done < t->elems) {
		uint64_t k =
		    (t->elems - done) < sizeof(buf) / w ? t->elems - done : sizeof(buf) / w;
		if (fread(buf, w, k, fp) != k) {
			fclose(fp);
			return cim_err_set(err, "%s: tensor '%s': the file ends inside it", f->path,
					   t->name);
		}
		for (uint64_t i = 0; i < k; i++) {
			const unsigned char *p = buf + i * w;
			uint64_t u = 0;
			for (int b = (int)w - 1; b >= 0; b--)
				u = u << 8 | p[b];
			double v;
			switch (t->dtype) {
			case CIM_ST_F64: {
				memcpy(&v, &u, sizeof(v));
				break;
			}
			case CIM_ST_F32:
				v = float_of((uint32_t)u);
				break;
			case CIM_ST_F16:
				v = half_of((uint16_t)u);
				break;
			case CIM_ST_BF16:
				v = float_of((uint32_t)u << 16);
				break;
			default:
				v = (int8_t)u;
				break;
			}
			out[done + i] = v;
		}
		done += k;
	}
	fclose(fp);
	return 0;
}
