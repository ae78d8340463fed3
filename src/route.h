/*
 * certvault — the route table and the request pipeline.
 * SPDX-License-Identifier: ISC
 */
#ifndef ROUTE_H
#define ROUTE_H

#include "certvault.h"

typedef enum cv_err (*route_fn)(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

enum route_flag {
	ROUTE_PUBLIC = 0x01,	/* no vault, token or api-version: health */
	ROUTE_OPERATOR = 0x02	/* public, but only from operator_networks */
};

struct route {
	enum cv_method	 method;
	const char	*pattern;	/* "/certificates/{name}/{version?}" */
	route_fn	 fn;
	unsigned	 perm;		/* enum cv_perm bit the token needs */
	unsigned	 flags;		/* enum route_flag */
	const char	*audit;		/* audit_log.operation; NULL: none */
	const char	*object;	/* audit_log.object_type */
};

bool	 route_match(const char *, const char *, char **, size_t *);
const struct route *route_find(struct cv_req *, bool *, char **);
bool	 route_api_version_known(const char *);
size_t	 route_count(void);
void	 route_label(size_t, char *, size_t);
void	 route_dispatch(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

#endif /* ROUTE_H */
