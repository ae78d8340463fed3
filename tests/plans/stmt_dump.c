/*
 * tests/plans/stmt_dump.c — print certvault's statements, exactly as
 * store_db.c prepares them (store_stmt_sql), one record a line:
 *
 *   NAME <TAB> SQL
 *
 * NAME is the enum stmt constant (STMT_CERT_LIST); the SQL has no line
 * breaks or tabs (any there would become spaces).  tests/integration/
 * t_plans.sh PREPAREs them to keep their plans.
 *
 *   stmt_dump              every statement, in enum order
 *   stmt_dump NAME...      those, in the order given; exit 1 if one is
 *                          unknown
 *
 * The names are a test-side mapping: the enum constants, stringified here
 * (the production code carries no name table).  A renamed constant fails
 * to compile; a statement added to enum stmt but not below is printed as
 * "#N" (its index) until it is named here.
 *
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

#define S(x)	[x] = #x
static const char *const names[STMT__MAX] = {
	S(STMT_PING), S(STMT_VAULT_RESOLVE),
	S(STMT_VAULT_CREATE), S(STMT_VAULT_LIST),
	S(STMT_TOKEN_CREATE), S(STMT_TOKEN_LIST),
	S(STMT_TOKEN_REVOKE), S(STMT_MIGRATE_LOCK),
	S(STMT_MIGRATE_HAS_TABLE), S(STMT_MIGRATE_DONE),
	S(STMT_MIGRATE_RECORD), S(STMT_CERT_LIST),
	S(STMT_JOB_PURGE_CLAIM), S(STMT_JOB_PURGE_DELETE),
	S(STMT_CERT_ENSURE), S(STMT_CERT_LOCK),
	S(STMT_PENDING_GET), S(STMT_CERT_POLICY),
	S(STMT_CERT_SET_POLICY), S(STMT_PENDING_DELETE),
	S(STMT_KEY_INSERT), S(STMT_VERSION_INSERT),
	S(STMT_PENDING_INSERT), S(STMT_VERSION_ISSUE),
	S(STMT_VERSION_CHAIN_APPEND), S(STMT_PENDING_COMPLETE),
	S(STMT_PENDING_CANCEL), S(STMT_VERSION_GET),
	S(STMT_CERT_VERSIONS), S(STMT_VERSION_UPDATE),
	S(STMT_CERT_POLICY_UPDATE), S(STMT_VERSION_KEY),
	S(STMT_VERSION_CHAIN), S(STMT_ISSUER_GET),
	S(STMT_DELETED_LOCK), S(STMT_DELETED_MARK),
	S(STMT_DELETED_RECOVER), S(STMT_DELETED_PURGE),
	S(STMT_DELETED_GET), S(STMT_DELETED_LIST),
	S(STMT_BACKUP_CERT), S(STMT_BACKUP_KEYS),
	S(STMT_BACKUP_VERSIONS), S(STMT_BACKUP_CHAINS),
	S(STMT_RESTORE_CERT), S(STMT_RESTORE_KEY),
	S(STMT_RESTORE_VERSION), S(STMT_LIFETIME_SCAN),
	S(STMT_LIFETIME_CLAIM), S(STMT_LIFETIME_CHECK),
	S(STMT_LIFETIME_RECORD), S(STMT_LIFETIME_ORIGIN),
	S(STMT_ISSUE_CLAIM), S(STMT_ISSUE_RETRY),
	S(STMT_ISSUE_WAIT), S(STMT_ISSUE_FINISH),
	S(STMT_ISSUE_CA_GET), S(STMT_ISSUE_CA_LOCK),
	S(STMT_ISSUE_CA_KEY_PUT), S(STMT_ISSUE_CA_CERT_PUT),
	S(STMT_ISSUE_ADMIN_LOCK), S(STMT_ISSUE_APPROVE),
	S(STMT_ISSUE_LIST), S(STMT_ISSUE_VAULT_ID),
	S(STMT_ISSUE_ADMIN_OP), S(STMT_ISSUER_LOCK),
	S(STMT_ISSUER_UPSERT), S(STMT_ISSUER_UPDATE),
	S(STMT_ISSUER_PWD_SET), S(STMT_ISSUER_PWD_DELETE),
	S(STMT_ISSUER_USERS), S(STMT_ISSUER_DELETE),
	S(STMT_ISSUER_LIST), S(STMT_VAULT_LOCK),
	S(STMT_CONTACTS_GET), S(STMT_CONTACTS_DELETE),
	S(STMT_CONTACT_INSERT), S(STMT_CERT_LOCKED),
	S(STMT_ISSUE_LATER), S(STMT_ACME_ACCOUNT_GET),
	S(STMT_ACME_KEY_PUT), S(STMT_ACME_ACCOUNT_PUT),
	S(STMT_ACME_CHALLENGE_PUT), S(STMT_ACME_CHALLENGE_GET),
	S(STMT_ACME_CHALLENGES_CLEAR), S(STMT_POOL_TAKE),
	S(STMT_POOL_COUNT), S(STMT_POOL_LOCK), S(STMT_POOL_PUT),
};

static void
print_one(int i)
{
	const char	*s;
	char		 name[32];

	if (names[i] == NULL)
		snprintf(name, sizeof(name), "#%d", i);
	printf("%s\t", names[i] != NULL ? names[i] : name);
	for (s = store_stmt_sql(i); *s != '\0'; s++)
		putchar(*s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s);
	putchar('\n');
}

int
main(int argc, char *argv[])
{
	int	 i, a, rc = 0;

	if (store_stmt_count() != STMT__MAX) {
		fprintf(stderr, "stmt_dump: built against another store_int.h\n");
		return 2;
	}
	if (argc == 1) {
		for (i = 0; i < STMT__MAX; i++)
			print_one(i);
		return 0;
	}
	for (a = 1; a < argc; a++) {
		for (i = 0; i < STMT__MAX; i++)
			if (names[i] != NULL && strcmp(argv[a], names[i]) == 0)
				break;
		if (i == STMT__MAX) {
			fprintf(stderr, "stmt_dump: unknown statement %s\n",
			    argv[a]);
			rc = 1;
		} else
			print_one(i);
	}
	return rc;
}
