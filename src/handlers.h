/*
 * certvault — request handlers, one file per resource.
 * SPDX-License-Identifier: ISC
 *
 * A handler gets a validated, authenticated request, fills the response
 * and returns CV_OK or the error (recorded with kv_err_set()).  It never
 * writes to the FastCGI stream and never sees libpq, GnuTLS or jansson.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "certvault.h"

/* h_health.c */
enum cv_err h_health(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_cert.c */
enum cv_err h_cert_list(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

enum cv_err h_cert_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_cert_create(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_cert_bundle(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *, const char *, const char *, int);

/* h_pending.c */
enum cv_err h_pending_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_update(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_delete(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_merge(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

#endif /* HANDLERS_H */
