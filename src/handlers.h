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

struct store;

/* h_health.c */
enum cv_err h_health(struct cv_req *, struct cv_resp *, struct store *);

/* h_cert.c */
enum cv_err h_cert_list(struct cv_req *, struct cv_resp *, struct store *);

#endif /* HANDLERS_H */
