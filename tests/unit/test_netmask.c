/*
 * certvault — unit tests of netmask.c: operator_networks lists.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "log.h"
#include "netmask.h"
#include "cu.h"

static bool
in(const char *list, const char *addr)
{
	struct netmask	*n;
	size_t		 sz;
	char		*err;
	bool		 r;

	if (!netmask_parse_list(list, &n, &sz, &err)) {
		free(err);
		return false;
	}
	r = netmask_match(n, sz, addr);
	free(n);
	return r;
}

static void
test_match(void)
{

	CU_ASSERT_TRUE(in("127.0.0.1/32 ::1/128", "127.0.0.1"));
	CU_ASSERT_TRUE(in("127.0.0.1/32 ::1/128", "::1"));
	CU_ASSERT_FALSE(in("127.0.0.1/32 ::1/128", "127.0.0.2"));
	CU_ASSERT_TRUE(in("10.0.0.0/8", "10.255.1.2"));
	CU_ASSERT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
	/* Host bits in the network are ignored, as ip(8) does. */
	CU_ASSERT_TRUE(in("192.168.1.77/24", "192.168.1.3"));
	CU_ASSERT_FALSE(in("192.168.1.0/24", "192.168.2.3"));
	/* Prefixes that are not a multiple of 8. */
	CU_ASSERT_TRUE(in("172.16.0.0/12", "172.31.255.255"));
	CU_ASSERT_FALSE(in("172.16.0.0/12", "172.32.0.0"));
	CU_ASSERT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
	CU_ASSERT_FALSE(in("0.0.0.0/0", "2001:db8::1"));
	CU_ASSERT_TRUE(in("2001:db8::/32,fd00::/8", "2001:db8:ffff::1"));
	CU_ASSERT_FALSE(in("2001:db8::/32", "2001:db9::1"));
	/* An IPv4-mapped address (dual-stack sockets) counts as IPv4. */
	CU_ASSERT_TRUE(in("127.0.0.1", "::ffff:127.0.0.1"));
	CU_ASSERT_FALSE(in("::1", "::ffff:127.0.0.1"));
	/* Nothing matches an empty list, a missing or a malformed address. */
	CU_ASSERT_FALSE(in("", "127.0.0.1"));
	CU_ASSERT_FALSE(in("127.0.0.1", NULL));
	CU_ASSERT_FALSE(in("127.0.0.1", "127.0.0.1 "));
	CU_ASSERT_FALSE(in("127.0.0.1", "localhost"));
}

static void
test_parse_errors(void)
{
	static const char *const bad[] = {
		"127.0.0.1/33", "::1/129", "localhost", "10.0.0.0/", "10.0.0.0/x",
		"10.0.0.0/-1", "1.2.3", "127.0.0.1 garbage",
	};
	struct netmask	*n;
	size_t		 sz, i;
	char		*err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FALSE(netmask_parse_list(bad[i], &n, &sz, &err));
		CU_ASSERT_PTR_NOT_NULL(err);
		CU_ASSERT_PTR_NULL(n);
		free(err);
	}
	CU_ASSERT_TRUE(netmask_parse_list(" 127.0.0.1 ,\t::1 ", &n, &sz, &err));
	CU_ASSERT_EQUAL(sz, 2);
	free(n);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "match", test_match },
		{ "parse errors", test_parse_errors },
	};

	log_set_level(LOG_LEVEL_ERROR);
	return CU_RUN("netmask", tests);
}
