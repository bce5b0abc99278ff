/*
 * files.h — file helpers for the trace tests and the fixture generator:
 * temporary directories, whole-file reads and writes, recursive removal.
 */
#ifndef CIM_TESTS_TRACES_FILES_H
#define CIM_TESTS_TRACES_FILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path, or NULL. */
static inline char *tf_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	p = malloc(strlen(base) + 32);
	if (!p)
		return NULL;
	sprintf(p, "%s/cimtrace-XXXXXX", base);
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* dir/name in a static buffer (one at a time). */
static inline const char *tf_path(const char *dir, const char *name)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* The whole file, malloc'd, with its size; NULL when unreadable. */
static inline unsigned char *tf_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)len + 1);
		if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
			free(b);
			b = NULL;
		}
		*n = (size_t)len;
	}
	fclose(f);
	return b;
}

static inline int tf_write(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t k = fwrite(data, 1, n, f);
	return fclose(f) == 0 && k == n ? 0 : -1;
}

/* rm -rf path (no symlinks followed). */
static inline void tf_rmrf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *sub = malloc(strlen(path) + strlen(e->d_name) + 2);
			if (!sub)
				break;
			sprintf(sub, "%s/%s", path, e->d_name);
			tf_rmrf(sub);
			free(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

#endif /* CIM_TESTS_TRACES_FILES_H */
