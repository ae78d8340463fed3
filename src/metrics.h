/*
 * certvault — request counters shared by all certvault-fcgi processes of
 * one master, and GET /metrics (Prometheus text format 0.0.4).
 * SPDX-License-Identifier: ISC
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_ops;

void	 metrics_init(size_t);
void	 metrics_request(int, int, double);
void	 metrics_db_error(int);
void	 metrics_worker_died(void);
void	 metrics_workers_set(unsigned);
char	*metrics_render(const struct store_ops *, size_t *);

/* This certvault-fcgi master's own figures (GET /status). */
struct metrics_fcgi {
	unsigned	 workers;	/* running; 0: no master counts them */
	uint64_t	 worker_deaths;
	int64_t		 started;	/* Unix seconds */
};

bool	 metrics_fcgi_get(struct metrics_fcgi *);

/* Kinds of database errors (metrics_db_error). */
enum metrics_db {
	METRICS_DB_UNAVAILABLE = 0,	/* no connection */
	METRICS_DB_TIMEOUT,		/* statement_timeout */
	METRICS_DB_FAILED,		/* any other failure */
	METRICS_DB__MAX
};

#endif /* METRICS_H */
