/*
 * certvault — unit tests of certvault-admin doctor's pure parts: the
 * migration comparison, the permission and key file verdicts, and the
 * description of database_url that must never show a password.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvault.h"
#include "cu.h"
#include "doctor.h"
#include "store.h"

static void
test_migrations(void)
{
	static const char *const known[] = { "001_a.sql", "002_b.sql",
	    "003_c.sql", NULL };
	static const char *const none[] = { NULL };
	char			*have[] = { "001_a.sql", "003_c.sql",
				    "009_z.sql" };
	struct cv_strlist	 applied = { have, 3 }, missing, unknown;
	struct cv_strlist	 empty = { NULL, 0 };

	doctor_migrations_compare(known, &applied, &missing, &unknown);
	CU_ASSERT_EQUAL_FATAL(missing.n, 1);
	CU_ASSERT_STRING_EQUAL(missing.v[0], "002_b.sql");
	CU_ASSERT_EQUAL_FATAL(unknown.n, 1);
	CU_ASSERT_STRING_EQUAL(unknown.v[0], "009_z.sql");
	cv_strlist_free(&missing);
	cv_strlist_free(&unknown);

	/* A database never migrated: everything missing, in order. */
	doctor_migrations_compare(known, &empty, &missing, &unknown);
	CU_ASSERT_EQUAL_FATAL(missing.n, 3);
	CU_ASSERT_STRING_EQUAL(missing.v[0], "001_a.sql");
	CU_ASSERT_STRING_EQUAL(missing.v[2], "003_c.sql");
	CU_ASSERT_EQUAL(unknown.n, 0);
	cv_strlist_free(&missing);
	cv_strlist_free(&unknown);

	doctor_migrations_compare(none, &applied, &missing, &unknown);
	CU_ASSERT_EQUAL(missing.n, 0);
	CU_ASSERT_EQUAL(unknown.n, 3);
	cv_strlist_free(&missing);
	cv_strlist_free(&unknown);
}

static struct stat
file(mode_t mode, uid_t uid, gid_t gid)
{
	struct stat	 st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_uid = uid;
	st.st_gid = gid;
	return st;
}

static void
test_may(void)
{
	/* A socket 0660 root:www-data (33); www-data is 33:33. */
	struct stat	 sock = file(S_IFSOCK | 0660, 0, 33);
	struct stat	 dir = file(S_IFDIR | 0711, 0, 0);
	struct stat	 priv = file(S_IFDIR | 0700, 1000, 1000);
	struct stat	 own = file(S_IFSOCK | 0060, 33, 33);
	struct stat	 exe = file(S_IFREG | 0644, 0, 0);
	gid_t		 www[] = { 33 }, other[] = { 100, 1000 };

	CU_ASSERT_TRUE(doctor_may(&sock, 33, www, 1, W_OK));
	CU_ASSERT_FALSE(doctor_may(&sock, 1001, other, 2, W_OK));
	CU_ASSERT_TRUE(doctor_may(&dir, 33, www, 1, X_OK));
	CU_ASSERT_FALSE(doctor_may(&dir, 33, www, 1, R_OK));
	CU_ASSERT_FALSE(doctor_may(&priv, 33, www, 1, X_OK));
	/* A member of the group by a supplementary group. */
	CU_ASSERT_TRUE(doctor_may(&priv, 1000, other, 2, X_OK));
	/* The owner gets the owner's bits, even where the group's allow. */
	CU_ASSERT_FALSE(doctor_may(&own, 33, www, 1, W_OK));
	/* Root: anything, but execute only what someone may execute. */
	CU_ASSERT_TRUE(doctor_may(&priv, 0, NULL, 0, X_OK | W_OK));
	CU_ASSERT_FALSE(doctor_may(&exe, 0, NULL, 0, X_OK));
}

static void
test_key_file(void)
{
	struct stat	 st;
	const char	*why;

	st = file(S_IFREG | 0600, 1000, 1000);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_OK);
	CU_ASSERT_PTR_NULL(why);
	st = file(S_IFREG | 0400, 1000, 1000);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_OK);
	st = file(S_IFREG | 0644, 1000, 1000);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_FAIL);
	CU_ASSERT_PTR_NOT_NULL(why);
	st = file(S_IFREG | 0640, 1000, 1000);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_FAIL);
	st = file(S_IFDIR | 0700, 1000, 1000);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_FAIL);
	/* Another user's key: a failure; root looking at it: a warning. */
	st = file(S_IFREG | 0600, 999, 999);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 1000, &why), DOCTOR_FAIL);
	CU_ASSERT_EQUAL(doctor_key_file(&st, 0, &why), DOCTOR_WARN);
}

/* desc shows none of the secret and says what it connects to. */
static void
describe(const char *conninfo, const char *secret, const char *expect)
{
	char	*desc;

	desc = store_conninfo_describe(conninfo);
	CU_ASSERT_PTR_NOT_NULL_FATAL(desc);
	if (secret != NULL)
		CU_ASSERT_PTR_NULL(strstr(desc, secret));
	CU_ASSERT_STRING_EQUAL(desc, expect);
	free(desc);
}

static void
test_conninfo(void)
{

	describe("postgresql://certvault:s3cr3t-pw@127.0.0.1:5432/certvault",
	    "s3cr3t-pw",
	    "host=127.0.0.1 port=5432 dbname=certvault user=certvault");
	describe("host=db.example.org user=cv password='s3cr3t pw' "
	    "dbname=kv sslmode=verify-full sslpassword=s3cr3t2",
	    "s3cr3t",
	    "host=db.example.org dbname=kv user=cv sslmode=verify-full");
	describe("postgresql:///certvault", NULL, "dbname=certvault");
	describe("", NULL, "libpq defaults");
	/* A dbname that is itself a connection string is not shown. */
	describe("dbname='postgresql://u:s3cr3t@h/db'", "s3cr3t",
	    "dbname=(not shown)");
	/* Unparsable: NULL, and nothing of it is passed on. */
	CU_ASSERT_PTR_NULL(store_conninfo_describe("s3cr3t"));
	CU_ASSERT_PTR_NULL(store_conninfo_describe(
	    "postgresql://u:pa%zzword@h/db"));
}

static const struct cu_test tests[] = {
	{ "doctor_migrations_compare: missing and unknown", test_migrations },
	{ "doctor_may: owner, group, others, root", test_may },
	{ "doctor_key_file: regular, 0600 or stricter, owner", test_key_file },
	{ "store_conninfo_describe: never the password", test_conninfo },
};

int
main(void)
{

	return CU_RUN("doctor", tests);
}
