/*
 * certvault — health for load balancers.  SPDX-License-Identifier: ISC
 *
 * /healthz/live: the process answers (restart it if not).  /healthz/ready:
 * it can serve requests — the database answers and the master key is
 * loaded (take the node out of rotation if not).  /healthz is the
 * database check alone, as before the two existed.
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

enum cv_err
h_health_live(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{

	return kv_json_live(resp);
}

enum cv_err
h_health_ready(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{

	return kv_json_ready(resp, store_ping(ctx->store), ctx->master != NULL);
}
