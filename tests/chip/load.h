/*
 * load.h — the chip tests' preset loader: a file of configs/chips/ (or
 * tests/data/chips/) read as cimsim reads it, the test failed when it does
 * not load.
 */
#ifndef CIM_TESTS_CHIP_LOAD_H
#define CIM_TESTS_CHIP_LOAD_H

#include <stdio.h>

#include "spec.h"
#include "test.h"

/* Loads a preset; fails the test (and returns -1) when it does not load. */
static inline int load(const char *path, struct cim_chip_spec *c)
{
	struct cim_files *files = cim_files_create(true);
	struct cim_err err;
	int rc = cim_spec_load_chip(files, path, c, &err);

	cim_files_destroy(files);
	if (rc)
		fprintf(stderr, "\n  %s: %s\n", path, err.msg);
	CU_ASSERT_FATAL(rc == 0);
	return rc;
}

#endif /* CIM_TESTS_CHIP_LOAD_H */
