/*
 * certvault — the few lines every CUnit test program shares.
 * SPDX-License-Identifier: ISC
 */
#ifndef CU_H
#define CU_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

struct cu_test {
	const char	*name;
	void		(*fn)(void);
};

/*
 * Run one suite; return the number of failures, which automake's TESTS
 * harness reads as the exit code (0 = pass).  CU_SHARD="i/n" in the
 * environment runs only the tests whose index is i modulo n, so that a
 * slow program can be split across cores (test.sh does so under valgrind);
 * CU_SKIP names one test to leave out (test.sh, under valgrind, for one
 * whose cost is all key derivation that other tests cover).
 */
static inline int
cu_run(const char *suite, const struct cu_test *tests, size_t n)
{
	CU_pSuite	 s;
	size_t		 i;
	unsigned	 shard = 0, nshards = 1;
	const char	*env = getenv("CU_SHARD");
	const char	*skip = getenv("CU_SKIP");
	int		 fails;

	if (env != NULL && (sscanf(env, "%u/%u", &shard, &nshards) != 2 ||
	    nshards == 0 || shard >= nshards)) {
		fprintf(stderr, "CU_SHARD must be i/n with i < n\n");
		return 99;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite(suite, NULL, NULL);
	for (i = 0; i < n; i++)
		if (i % nshards == shard &&
		    (skip == NULL || strcmp(skip, tests[i].name) != 0))
			CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails > 0 ? 1 : 0;
}

#define CU_RUN(suite, tests) cu_run(suite, tests, sizeof(tests) / sizeof(tests[0]))

#endif /* CU_H */
