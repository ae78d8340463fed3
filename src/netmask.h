/*
 * certvault — address lists such as "127.0.0.1/32 ::1/128" (who may read
 * the operator pages).  SPDX-License-Identifier: ISC
 */
#ifndef NETMASK_H
#define NETMASK_H

#include <stdbool.h>
#include <stddef.h>

struct netmask {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network order, host bits cleared */
	unsigned	 bits;		/* prefix length */
};

bool	netmask_parse_list(const char *, struct netmask **, size_t *, char **);
bool	netmask_match(const struct netmask *, size_t, const char *);

#endif /* NETMASK_H */
