/*
 * certvault — GET /healthz for load balancers: is the database there?
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include "certvault.h"
#include "handlers.h"
#include "kv.h"
#include "store.h"

enum cv_err
h_health(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{

	return kv_json_health(resp, store_ping(ctx->store));
}
