/*
 * certvault — operator pages: GET /metrics.  Served without a token to
 * the addresses in operator_networks only (route.c checks).
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include "certvault.h"
#include "handlers.h"
#include "metrics.h"
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
