/*
 * certvault — operator pages: GET /metrics and GET /status.  Served
 * without a token to the addresses in operator_networks only (route.c
 * checks).  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "handlers.h"
#include "metrics.h"
#include "status.h"
#include "store.h"

enum cv_err
h_metrics(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	struct store_ops	 ops;
	bool			 have;

	have = store_ops_read(ctx->store, &ops) == CV_OK;
	resp->status = 200;
	resp->body = metrics_render(have ? &ops : NULL, &resp->bodysz);
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	store_ops_free(&ops);
	return CV_OK;
}

/*
 * The status page.  When the database cannot be read it still renders,
 * with what this node knows of itself under a "database unreachable"
 * banner, as a 503 that a checker can see: HTML, never a Key Vault JSON
 * error, since a person reads it.
 */
enum cv_err
h_status(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	struct store_status	 st;
	struct status_node	 node;
	struct metrics_fcgi	 m;
	char			 host[256];

	memset(&node, 0, sizeof(node));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "(unknown)");
	host[sizeof(host) - 1] = '\0';
	node.hostname = host;
	node.version = PACKAGE_VERSION;
	node.pid = (int)getpid();
	if ((node.fcgi_known = metrics_fcgi_get(&m))) {
		node.fcgi_workers = m.workers;
		node.fcgi_deaths = m.worker_deaths;
		node.fcgi_started = m.started;
	}
	node.stale_after = status_stale_after(ctx->worker_interval);
	node.db = store_status_read(ctx->store, &st, STATUS_GROUPS_MAX,
	    STATUS_OLDEST_MAX);
	node.now = (int64_t)time(NULL);
	resp->status = node.db == CV_OK ? 200 : 503;
	if (node.db != CV_OK)
		resp->retry_after = 10;
	resp->body = status_render(&node, node.db == CV_OK ? &st : NULL,
	    &resp->bodysz);
	resp->content_type = "text/html; charset=utf-8";
	store_status_free(&st);
	return CV_OK;
}
