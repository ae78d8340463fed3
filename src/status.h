/*
 * certvault — GET /status: the operators' page, HTML without JavaScript.
 * SPDX-License-Identifier: ISC
 */
#ifndef STATUS_H
#define STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "certvault.h"

struct store_status;

/* Groups and oldest operations the page shows at most. */
#define STATUS_GROUPS_MAX	200
#define STATUS_OLDEST_MAX	20

/* What the page says about the node that answers. */
struct status_node {
	const char	*hostname;
	const char	*version;	/* PACKAGE_VERSION */
	int		 pid;		/* the certvault-fcgi worker answering */
	bool		 fcgi_known;	/* the three below are set */
	unsigned	 fcgi_workers;	/* 0: not under a certvault-fcgi master */
	uint64_t	 fcgi_deaths;
	int64_t		 fcgi_started;	/* Unix seconds */
	unsigned	 stale_after;	/* s: a worker's pass older is stale */
	enum cv_err	 db;		/* CV_OK, or why nothing could be read */
	int64_t		 now;		/* Unix seconds */
};

unsigned status_stale_after(unsigned);
void	 status_html(FILE *, const char *, size_t);
char	*status_render(const struct status_node *, const struct store_status *,
	    size_t *);

#endif /* STATUS_H */
