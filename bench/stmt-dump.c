/*
 * bench/stmt-dump.c — print statements of certvault's statement table by
 * name, so that the database floor (pgbench) runs exactly the SQL the
 * routes run, never a copy that drifts.  bench/run.sh cuts the macros and
 * stmts[] out of src/store_db.c into stmts.inc and builds this with the
 * tree's headers.
 *
 *   stmt-dump STMT_NAME   → the SQL on stdout
 *
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"

#include "stmts.inc"

#define S(x)	{ #x, x }
static const struct {
	const char	*name;
	enum stmt	 s;
} named[] = {
	S(STMT_VAULT_RESOLVE),
	S(STMT_VERSION_GET),
	S(STMT_PENDING_GET),
	S(STMT_CERT_LIST),
};

int
main(int argc, char *argv[])
{
	size_t	 i;

	if (argc != 2) {
		fprintf(stderr, "usage: stmt-dump STMT_NAME\n");
		return 2;
	}
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(argv[1], named[i].name) == 0) {
			printf("%s\n", stmts[named[i].s]);
			return 0;
		}
	fprintf(stderr, "stmt-dump: unknown statement %s\n", argv[1]);
	return 1;
}
