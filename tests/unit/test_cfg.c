/*
 * certvault — unit tests of cfg.c: defaults, the file, overrides.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "log.h"
#include "cu.h"

static char *
write_tmp(const char *text)
{
	char	*path;
	int	 fd;

	path = cv_strdup("/tmp/certvault-cfg-XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return path;
}

static void
test_defaults(void)
{
	struct cv_cfg	 cfg;

	cfg_init(&cfg);
	CU_ASSERT_EQUAL(cfg.workers, 4);
	CU_ASSERT_EQUAL(cfg.max_body_size, 1048576);
	CU_ASSERT_EQUAL(cfg.max_requests, 10000);
	CU_ASSERT_EQUAL(cfg.socket_mode, 0660);
	CU_ASSERT_EQUAL(cfg.log_level, LOG_LEVEL_INFO);
	CU_ASSERT_PTR_NULL(cfg.listen);
	CU_ASSERT_STRING_EQUAL(cfg.database_url, "");
	cfg_free(&cfg);
}

static void
test_file(void)
{
	struct cv_cfg	 cfg;
	char		*path, *err;

	path = write_tmp("# comment\n\n  workers = 7\n"
	    "database_url = \"host=/tmp dbname=x # not a comment\"\n"
	    "socket_mode=0600 # a comment\nlog_level = debug\r\n"
	    "max_body_size = 4096\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	cfg_init(&cfg);
	CU_ASSERT_EQUAL(cfg_load(&cfg, path, &err), CV_OK);
	CU_ASSERT_EQUAL(cfg.workers, 7);
	CU_ASSERT_STRING_EQUAL(cfg.database_url,
	    "host=/tmp dbname=x # not a comment");
	CU_ASSERT_EQUAL(cfg.socket_mode, 0600);
	CU_ASSERT_EQUAL(cfg.log_level, LOG_LEVEL_DEBUG);
	CU_ASSERT_EQUAL(cfg.max_body_size, 4096);
	cfg_free(&cfg);
	unlink(path);
	free(path);
}

static void
test_errors(void)
{
	struct cv_cfg	 cfg;
	char		*path, *err;

	path = write_tmp("workers = 2\nnot_a_key = 1\n");
	cfg_init(&cfg);
	CU_ASSERT_EQUAL(cfg_load(&cfg, path, &err), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not_a_key"));
	free(err);
	unlink(path);
	free(path);

	CU_ASSERT_EQUAL(cfg_set(&cfg, "workers", "-1", NULL),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(cfg_set(&cfg, "workers", "3x", NULL),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(cfg_set(&cfg, "socket_mode", "0999", NULL),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(cfg_set(&cfg, "log_level", "loud", NULL),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(cfg_load(&cfg, "/nonexistent/certvault.conf", &err),
	    CV_ERR_BAD_PARAMETER);
	free(err);
	cfg_free(&cfg);
}

/* Command line beats file; the socket cannot change on reload. */
static void
test_build_and_reload(void)
{
	struct cv_cfg		 old, fresh;
	struct cfg_override	 ov[] = { { "workers", "9" } };
	char			*path, *err;

	unsetenv("CERTVAULT_DATABASE_URL");
	path = write_tmp("workers = 2\nlisten = unix:/tmp/a.sock\n");
	CU_ASSERT_EQUAL(cfg_build(&old, path, ov, 1, &err), CV_OK);
	CU_ASSERT_EQUAL(old.workers, 9);
	CU_ASSERT_STRING_EQUAL(old.listen, "unix:/tmp/a.sock");
	unlink(path);
	free(path);

	setenv("CERTVAULT_DATABASE_URL", "dbname=fromenv", 1);
	path = write_tmp("workers = 3\nlisten = unix:/tmp/b.sock\n"
	    "database_url = dbname=fromfile\n");
	CU_ASSERT_EQUAL(cfg_build(&fresh, path, NULL, 0, &err), CV_OK);
	CU_ASSERT_STRING_EQUAL(fresh.database_url, "dbname=fromenv");
	cfg_keep_static(&fresh, &old);
	CU_ASSERT_EQUAL(fresh.workers, 3);
	CU_ASSERT_STRING_EQUAL(fresh.listen, "unix:/tmp/a.sock");
	unsetenv("CERTVAULT_DATABASE_URL");
	cfg_free(&fresh);
	cfg_free(&old);
	unlink(path);
	free(path);

	path = write_tmp("workers = 0\n");
	CU_ASSERT_EQUAL(cfg_build(&fresh, path, NULL, 0, &err),
	    CV_ERR_BAD_PARAMETER);
	free(err);
	cfg_free(&fresh);
	unlink(path);
	free(path);
}

/* The comma lists of settings such as master_key_previous_files. */
static void
test_strlist_split(void)
{
	struct cv_strlist	 l;

	cv_strlist_split(" /a b.key ,,\t/c.key,  ", &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.v[0], "/a b.key");
	CU_ASSERT_STRING_EQUAL(l.v[1], "/c.key");
	cv_strlist_free(&l);
	cv_strlist_split(NULL, &l);
	CU_ASSERT_EQUAL(l.n, 0);
	cv_strlist_split(" , ", &l);
	CU_ASSERT_EQUAL(l.n, 0);
	cv_strlist_free(&l);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "comma lists", test_strlist_split },
		{ "defaults", test_defaults },
		{ "file syntax", test_file },
		{ "errors name key and line", test_errors },
		{ "overrides and reload", test_build_and_reload },
	};

	log_set_level(LOG_LEVEL_ERROR);
	return CU_RUN("cfg", tests);
}
