/*
 * certvault — the audit log: one row per change (and per private key
 * exported), whoever made it.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/* True if s is an IPv4 or IPv6 address (what inet accepts of REMOTE_ADDR). */
static bool
addr_valid(const char *s)
{
	unsigned char	 buf[16];

	return s != NULL && (inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1);
}

/* The last three parameters of both statements: outcome, status, code. */
static void
audit_outcome_params(struct store_params *p, const struct store_audit *a)
{

	store_param_text(p, a->outcome);
	if (a->http_status > 0)
		store_param_int(p, a->http_status);
	else
		store_param_text(p, NULL);
	store_param_text(p, a->error_code);
}

/*
 * Append record a to audit_log, in its own statement; its id goes to *id
 * (may be NULL) for store_audit_finish.
 */
enum cv_err
store_audit(struct store *st, const struct store_audit *a, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, a->vault_id);
	store_param_text(&p, a->vault_name);
	store_param_text(&p, a->actor);
	store_param_int(&p, a->token_id);
	store_param_text(&p, a->actor_detail);
	store_param_text(&p, addr_valid(a->remote_addr) ? a->remote_addr :
	    NULL);
	store_param_text(&p, a->client_request_id);
	store_param_text(&p, a->operation);
	store_param_text(&p, a->object_type);
	store_param_text(&p, a->object_name);
	store_param_text(&p, a->object_version);
	audit_outcome_params(&p, a);
	if ((er = store_exec(st, STMT_AUDIT_INSERT, &p, &res)) != CV_OK)
		return er;
	if (id != NULL)
		*id = store_get_int(res, 0, "id");
	PQclear(res);
	return CV_OK;
}

/*
 * Record the outcome, HTTP status and error code of a (written as
 * 'started' by store_audit) on row id.
 */
enum cv_err
store_audit_finish(struct store *st, int64_t id, const struct store_audit *a)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, id);
	audit_outcome_params(&p, a);
	if ((er = store_exec(st, STMT_AUDIT_FINISH, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}
