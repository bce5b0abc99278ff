/*
 * files.c — the bundle of input files that rank 0 reads and broadcasts.
 *
 * Every file an experiment needs passes through cim_files_get(), so after
 * loading on the reading rank the bundle holds exactly the bytes the run
 * depends on; the other ranks parse those same bytes and never open a file,
 * which keeps runs independent of shared file systems.  Packed with msgpack
 * as an array of [path, bytes] pairs.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "spec.h"

/* Larger inputs are not configuration files. */
#define MAX_FILE_BYTES (16u << 20)

struct file_entry {
	char *path;
	char *data; /* NUL-terminated */
	size_t len;
};

struct cim_files {
	bool from_disk;
	size_t n;
	struct file_entry *v;
};

struct cim_files *cim_files_create(bool from_disk)
{
	struct cim_files *files = calloc(1, sizeof(*files));

	if (files)
		files->from_disk = from_disk;
	return files;
}

void cim_files_destroy(struct cim_files *files)
{
	if (!files)
		return;
	for (size_t i = 0; i < files->n; i++) {
		free(files->v[i].path);
		free(files->v[i].data);
	}
	free(files->v);
	free(files);
}

/* Takes ownership of path and data. */
static int add(struct cim_files *files, char *path, char *data, size_t len)
{
	struct file_entry *v = realloc(files->v, (files->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	files->v = v;
	v[files->n++] = (struct file_entry){ .path = path, .data = data, .len = len };
	return 0;
}

static int read_disk(const char *path, char **data_p, size_t *len_p, struct cim_err *err)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	char *data;
	size_t len = 0;

	if (!f)
		return cim_err_set(err, "%s: cannot open: %s%s", path, strerror(errno),
				   errno == ENOENT ? "; check the path (paths inside an experiment "
						     "are relative to the file that names them)"
						   : "");
	if (fstat(fileno(f), &st) != 0) {
		int e = errno;
		fclose(f);
		return cim_err_set(err, "%s: cannot read: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		fclose(f);
		return cim_err_set(err, "%s: is a folder; expected a YAML or JSON file", path);
	}
	if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
		fclose(f);
		return cim_err_set(err,
				   "%s: %lld bytes is too large for a configuration file "
				   "(at most %u)",
				   path, (long long)st.st_size, MAX_FILE_BYTES);
	}
	/* A regular file's size is known; a pipe's is read up to the limit. */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : MAX_FILE_BYTES + 1;
	data = malloc(cap + 1);
	if (!data) {
		fclose(f);
		return cim_err_set(err, "%s: out of memory", path);
	}
	len = fread(data, 1, cap, f);
	if (ferror(f) || len > MAX_FILE_BYTES) {
		int e = errno;
		fclose(f);
		free(data);
		return cim_err_set(err, "%s: cannot read: %s", path,
				   len > MAX_FILE_BYTES ? "too large" : strerror(e));
	}
	fclose(f);
	data[len] = 0;
	*data_p = data;
	*len_p = len;
	return 0;
}

int cim_files_get(struct cim_files *files, const char *path, const char **data_p, size_t *len_p,
		  struct cim_err *err)
{
	char *data = NULL, *pc;
	size_t len = 0;

	for (size_t i = 0; i < files->n; i++)
		if (strcmp(files->v[i].path, path) == 0) {
			*data_p = files->v[i].data;
			*len_p = files->v[i].len;
			return 0;
		}
	if (!files->from_disk)
		return cim_err_set(err, "%s: not among the files the reading rank sent", path);
	if (read_disk(path, &data, &len, err))
		return -1;
	pc = strdup(path);
	if (!pc || add(files, pc, data, len)) {
		free(pc);
		free(data);
		return cim_err_set(err, "%s: out of memory", path);
	}
	*data_p = data;
	*len_p = len;
	return 0;
}

const char *cim_files_name(const struct cim_files *files, const char *path)
{
	for (size_t i = 0; i < files->n; i++)
		if (strcmp(files->v[i].path, path) == 0)
			return files->v[i].path;
	return NULL;
}

int cim_files_put(struct cim_files *files, const char *path, const char *data, size_t len)
{
	char *pc = strdup(path), *dc = malloc(len + 1);

	if (!pc || !dc) {
		free(pc);
		free(dc);
		return -1;
	}
	memcpy(dc, data, len);
	dc[len] = 0;
	for (size_t i = 0; i < files->n; i++)
		if (strcmp(files->v[i].path, path) == 0) {
			free(pc);
			free(files->v[i].data);
			files->v[i].data = dc;
			files->v[i].len = len;
			return 0;
		}
	if (add(files, pc, dc, len)) {
		free(pc);
		free(dc);
		return -1;
	}
	return 0;
}

int cim_files_pack(const struct cim_files *files, char **buf_p, size_t *len_p, struct cim_err *err)
{
	msgpack_sbuffer sbuf;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
	int rc = msgpack_pack_array(&pk, files->n);
	for (size_t i = 0; !rc && i < files->n; i++) {
		size_t pl = strlen(files->v[i].path);
		rc = msgpack_pack_array(&pk, 2) || msgpack_pack_str(&pk, pl) ||
		     msgpack_pack_str_body(&pk, files->v[i].path, pl) ||
		     msgpack_pack_bin(&pk, files->v[i].len) ||
		     msgpack_pack_bin_body(&pk, files->v[i].data, files->v[i].len);
	}
	if (rc) {
		msgpack_sbuffer_destroy(&sbuf);
		return cim_err_set(err, "packing the input files: out of memory");
	}
	*buf_p = sbuf.data; /* the caller frees it */
	*len_p = sbuf.size;
	return 0;
}

int cim_files_unpack(const char *buf, size_t len, struct cim_files **files_p, struct cim_err *err)
{
	msgpack_unpacked u;
	size_t off = 0;
	struct cim_files *files = cim_files_create(false);
	int rc = -1;

	if (!files)
		return cim_err_set(err, "unpacking the input files: out of memory");
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_ARRAY) {
		cim_err_set(err, "the input files received from rank 0 are corrupt");
		goto err_free_files;
	}
	for (uint32_t i = 0; i < u.data.via.array.size; i++) {
		msgpack_object *e = &u.data.via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
		    e->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
		    e->via.array.ptr[1].type != MSGPACK_OBJECT_BIN) {
			cim_err_set(err, "the input files received from rank 0 are corrupt");
			goto err_free_files;
		}
		msgpack_object_str *p = &e->via.array.ptr[0].via.str;
		msgpack_object_bin *b = &e->via.array.ptr[1].via.bin;
		char *path = strndup(p->ptr, p->size);
		char *data = malloc(b->size + 1);
		if (!path || !data || add(files, path, data, b->size)) {
			free(path);
			free(data);
			cim_err_set(err, "unpacking the input files: out of memory");
			goto err_free_files;
		}
		memcpy(data, b->ptr, b->size);
		data[b->size] = 0;
	}
	*files_p = files;
	files = NULL;
	rc = 0;
err_free_files:
	msgpack_unpacked_destroy(&u);
	cim_files_destroy(files);
	return rc;
}
