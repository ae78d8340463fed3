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

/* h_acme.c */
enum cv_err h_acme_challenge(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_health.c */
enum cv_err h_health_live(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_health_ready(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
/* h_ops.c: operator pages */
enum cv_err h_metrics(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_status(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_health(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_cert.c */
enum cv_err h_cert_list(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

enum cv_err h_cert_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_cert_create(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_cert_versions(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_cert_update(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_issuer_usable(struct cv_resp *, const struct cv_ctx *, int64_t,
	    const char *, struct cv_issuer *);
struct store_new_version;
enum cv_err h_cert_store_version(struct cv_resp *, struct store *, int64_t,
	    const char *, const struct store_new_version *);

/* Key Vault caps a list page at 25 items, which is also the default. */
#define H_PAGE_MAX 25
int	 h_page_size(const struct cv_req *, int *);
enum cv_err h_list_params(const struct cv_req *, struct cv_resp *, int *,
	    bool *, const char **);
enum cv_err h_cert_bundle(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *, const char *, const char *, int);

/* h_import.c */
enum cv_err h_cert_import(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_secret.c */
enum cv_err h_secret_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_key_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_policy.c */
enum cv_err h_policy_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_policy_update(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_pending.c */
enum cv_err h_pending_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_update(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_delete(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_pending_merge(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_deleted.c */
enum cv_err h_deleted_delete(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_deleted_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_deleted_list(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_deleted_recover(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_deleted_purge(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_backup.c */
enum cv_err h_backup_make(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_backup_restore(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_issuer.c */
enum cv_err h_issuer_list(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_issuer_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_issuer_set(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_issuer_update(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_issuer_delete(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

/* h_contacts.c */
enum cv_err h_contacts_get(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_contacts_set(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);
enum cv_err h_contacts_delete(struct cv_req *, struct cv_resp *,
	    const struct cv_ctx *);

#endif /* HANDLERS_H */
