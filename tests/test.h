/*
 * test.h — what every CUnit suite of cimsim shares: assertions that print
 * both values, and a main() that exits non-zero when any test failed
 * (CU_basic_run_tests() alone reports success either way).
 */
#ifndef CIM_TESTS_TEST_H
#define CIM_TESTS_TEST_H

#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CIM_ASSERT_EQ_U64(a, b)                                                                    \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_)                                                                      \
			fprintf(stderr, "\n  %s:%d: %s == %s: %llu != %llu\n", __FILE__, __LINE__, \
				#a, #b, (unsigned long long)a_, (unsigned long long)b_);           \
		CU_ASSERT(a_ == b_);                                                               \
	} while (0)

/* |a - b| <= rel · |b| */
#define CIM_ASSERT_REL(a, b, rel)                                                                  \
	do {                                                                                       \
		double a_ = (double)(a), b_ = (double)(b);                                         \
		int ok_ = fabs(a_ - b_) <= (rel)*fabs(b_);                                         \
		if (!ok_)                                                                          \
			fprintf(stderr, "\n  %s:%d: %s ≈ %s (±%g): %.9g vs %.9g\n", __FILE__,      \
				__LINE__, #a, #b, (double)(rel), a_, b_);                          \
		CU_ASSERT(ok_);                                                                    \
	} while (0)

/* haystack contains needle */
#define CIM_ASSERT_HAS(hay, needle)                                                                \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		int ok_ = h_ && strstr(h_, n_) != NULL;                                            \
		if (!ok_)                                                                          \
			fprintf(stderr, "\n  %s:%d: \"%s\" not in \"%s\"\n", __FILE__, __LINE__,   \
				n_, h_ ? h_ : "(null)");                                           \
		CU_ASSERT(ok_);                                                                    \
	} while (0)

struct cim_test {
	const char *name;
	void (*fn)(void);
};

/* Runs one suite of tests; returns the process exit code. */
static inline int cim_test_run(const char *suite, const struct cim_test *tests, size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	for (size_t i = 0; s && i < n; i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#define CIM_TEST_MAIN(suite, table)                                                                \
	int main(void)                                                                             \
	{                                                                                          \
		return cim_test_run(suite, table, sizeof(table) / sizeof(table[0]));               \
	}

#endif /* CIM_TESTS_TEST_H */
