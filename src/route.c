/*
 * certvault — the one route table, and the front line of defence that
 * runs before any handler.  SPDX-License-Identifier: ISC
 *
 * Order matters and follows what the official SDKs do: their first request
 * carries neither token nor body, even a POST, and must get the 401
 * challenge; so authentication comes before api-version, routing, size and
 * content-type checks (kcgi-framework's "front line of defence").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "netmask.h"
#include "route.h"
#include "store.h"

/*
 * Literal segments come before captures that could swallow them (the
 * first route whose pattern and method match wins).  Routes that change
 * something (or export a private key) name their audit operation —
 * Key Vault's operationName — and object type: each such request,
 * allowed or not, writes one audit_log row.
 */
static const struct route routes[] = {
	{ CV_METHOD_GET, "/healthz", h_health, CV_PERM_NONE, ROUTE_PUBLIC,
	    NULL, NULL },
	/* Load balancers: is the process alive; can it serve requests. */
	{ CV_METHOD_GET, "/healthz/live", h_health_live, CV_PERM_NONE,
	    ROUTE_PUBLIC, NULL, NULL },
	{ CV_METHOD_GET, "/healthz/ready", h_health_ready, CV_PERM_NONE,
	    ROUTE_PUBLIC, NULL, NULL },
	/* Operators: no token, but only from operator_networks. */
	{ CV_METHOD_GET, "/metrics", h_metrics, CV_PERM_NONE,
	    ROUTE_PUBLIC | ROUTE_OPERATOR, NULL, NULL },
	{ CV_METHOD_GET, "/status", h_status, CV_PERM_NONE,
	    ROUTE_PUBLIC | ROUTE_OPERATOR, NULL, NULL },
	/* ACME http-01 answers: the CA asks without a token, on any Host. */
	{ CV_METHOD_GET, "/.well-known/acme-challenge/{token}",
	    h_acme_challenge, CV_PERM_NONE, ROUTE_PUBLIC, NULL, NULL },
	{ CV_METHOD_GET, "/certificates", h_cert_list, CV_PERM_LIST, 0, NULL,
	    NULL },
	/* Issuers and contacts: literal segments, not certificate names. */
	{ CV_METHOD_GET, "/certificates/issuers", h_issuer_list,
	    CV_PERM_LISTISSUERS, 0, NULL, NULL },
	{ CV_METHOD_GET, "/certificates/issuers/{issuer-name}", h_issuer_get,
	    CV_PERM_GETISSUERS, 0, NULL, NULL },
	{ CV_METHOD_PUT, "/certificates/issuers/{issuer-name}", h_issuer_set,
	    CV_PERM_SETISSUERS, 0, "CertificateIssuerSet", "issuer" },
	{ CV_METHOD_PATCH, "/certificates/issuers/{issuer-name}",
	    h_issuer_update, CV_PERM_SETISSUERS, 0, "CertificateIssuerUpdate",
	    "issuer" },
	{ CV_METHOD_DELETE, "/certificates/issuers/{issuer-name}",
	    h_issuer_delete, CV_PERM_DELETEISSUERS, 0, "CertificateIssuerDelete",
	    "issuer" },
	{ CV_METHOD_GET, "/certificates/contacts", h_contacts_get,
	    CV_PERM_MANAGECONTACTS, 0, NULL, NULL },
	{ CV_METHOD_PUT, "/certificates/contacts", h_contacts_set,
	    CV_PERM_MANAGECONTACTS, 0, "CertificateContactsSet", "contacts" },
	{ CV_METHOD_DELETE, "/certificates/contacts", h_contacts_delete,
	    CV_PERM_MANAGECONTACTS, 0, "CertificateContactsDelete", "contacts" },
	{ CV_METHOD_POST, "/certificates/restore", h_backup_restore,
	    CV_PERM_RESTORE, 0, "CertificateRestore", "certificate" },
	{ CV_METHOD_GET, "/deletedcertificates", h_deleted_list, CV_PERM_LIST,
	    0, NULL, NULL },
	{ CV_METHOD_GET, "/deletedcertificates/{name}", h_deleted_get,
	    CV_PERM_GET, 0, NULL, NULL },
	{ CV_METHOD_DELETE, "/deletedcertificates/{name}", h_deleted_purge,
	    CV_PERM_PURGE, 0, "CertificatePurge", "deletedcertificate" },
	{ CV_METHOD_POST, "/deletedcertificates/{name}/recover",
	    h_deleted_recover, CV_PERM_RECOVER, 0, "CertificateRecover",
	    "deletedcertificate" },
	{ CV_METHOD_POST, "/certificates/{name}/create", h_cert_create,
	    CV_PERM_CREATE, 0, "CertificateCreate", "certificate" },
	{ CV_METHOD_POST, "/certificates/{name}/import", h_cert_import,
	    CV_PERM_IMPORT, 0, "CertificateImport", "certificate" },
	{ CV_METHOD_POST, "/certificates/{name}/backup", h_backup_make,
	    CV_PERM_BACKUP, 0, "CertificateBackup", "certificate" },
	{ CV_METHOD_GET, "/certificates/{name}/pending", h_pending_get,
	    CV_PERM_GET, 0, NULL, NULL },
	{ CV_METHOD_PATCH, "/certificates/{name}/pending", h_pending_update,
	    CV_PERM_UPDATE, 0, "CertificatePendingUpdate", "pending" },
	{ CV_METHOD_DELETE, "/certificates/{name}/pending", h_pending_delete,
	    CV_PERM_UPDATE, 0, "CertificatePendingDelete", "pending" },
	{ CV_METHOD_POST, "/certificates/{name}/pending/merge",
	    h_pending_merge, CV_PERM_CREATE, 0, "CertificatePendingMerge",
	    "pending" },
	{ CV_METHOD_GET, "/certificates/{name}/versions", h_cert_versions,
	    CV_PERM_LIST, 0, NULL, NULL },
	{ CV_METHOD_GET, "/certificates/{name}/policy", h_policy_get,
	    CV_PERM_GET, 0, NULL, NULL },
	{ CV_METHOD_PATCH, "/certificates/{name}/policy", h_policy_update,
	    CV_PERM_UPDATE, 0, "CertificatePolicyUpdate", "policy" },
	{ CV_METHOD_DELETE, "/certificates/{name}", h_deleted_delete,
	    CV_PERM_DELETE, 0, "CertificateDelete", "certificate" },
	{ CV_METHOD_GET, "/certificates/{name}/{version?}", h_cert_get,
	    CV_PERM_GET, 0, NULL, NULL },
	{ CV_METHOD_PATCH, "/certificates/{name}/{version?}", h_cert_update,
	    CV_PERM_UPDATE, 0, "CertificateUpdate", "certificate" },
	/*
	 * The secret and the key behind every certificate version; a
	 * private key leaving the vault is audited like a change.
	 */
	{ CV_METHOD_GET, "/secrets/{name}/{version?}", h_secret_get,
	    CV_PERM_GET, 0, "SecretGet", "key" },
	{ CV_METHOD_GET, "/keys/{name}/{version?}", h_key_get, CV_PERM_GET, 0,
	    NULL, NULL },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const method_names[CV_METHOD__MAX] = {
	"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL,
};

/*
 * api-version values the official SDKs send (7.0 … 2025-07-01, previews
 * included); certificates shapes are the same in all of them.
 */
static const char *const api_versions[] = {
	"2015-06-01", "2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5",
	"7.6-preview.1", "7.6-preview.2", "7.6", "2025-06-01-preview",
	"2025-06-01", "2025-07-01", "2026-01-01-preview",
};

size_t
route_count(void)
{

	return NROUTES;
}

/* "GET /certificates/{name}/pending" for route i; "unmatched" past the end. */
void
route_label(size_t i, char *buf, size_t bufsz)
{

	if (i >= NROUTES)
		snprintf(buf, bufsz, "unmatched");
	else
		snprintf(buf, bufsz, "%s %s", method_names[routes[i].method],
		    routes[i].pattern);
}

bool
route_api_version_known(const char *v)
{
	size_t	 i;

	for (i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++)
		if (strcmp(v, api_versions[i]) == 0)
			return true;
	return false;
}

/*
 * Match path against pattern.  "{x}" captures one non-empty segment;
 * "{x?}" as the last segment captures the rest, which may be empty or
 * missing: "/certificates/{name}/{version?}" matches "/certificates/a",
 * "/certificates/a/" (the SDK's "latest") and "/certificates/a/v1".
 * Captures go to args (new strings) only on a match.
 */
bool
route_match(const char *pattern, const char *path, char **args,
    size_t *argsz)
{
	const char	*p = pattern, *s = path, *pe, *se;
	char		*caps[CV_ROUTE_ARGS];
	size_t		 ncap = 0, i, plen, slen;
	bool		 optional, ok = false, path_done = false;

	if (*p != '/' || *s != '/')
		return false;
	p++;
	s++;
	for (;;) {
		pe = strchr(p, '/');
		plen = pe == NULL ? strlen(p) : (size_t)(pe - p);
		optional = plen >= 3 && p[0] == '{' && p[plen - 2] == '?';
		if (path_done) {
			if (optional && pe == NULL && ncap < CV_ROUTE_ARGS) {
				caps[ncap++] = cv_strdup("");
				ok = true;
			}
			break;
		}
		se = strchr(s, '/');
		slen = se == NULL ? strlen(s) : (size_t)(se - s);
		if (optional && pe == NULL) {
			if (se != NULL || ncap == CV_ROUTE_ARGS)
				break;
			caps[ncap++] = cv_strndup(s, slen);
			ok = true;
			break;
		}
		if (p[0] == '{') {
			if (slen == 0 || ncap == CV_ROUTE_ARGS)
				break;
			caps[ncap++] = cv_strndup(s, slen);
		} else if (plen != slen || strncmp(p, s, plen) != 0)
			break;
		if (pe == NULL) {
			ok = se == NULL;
			break;
		}
		p = pe + 1;
		if (se == NULL)
			path_done = true;
		else
			s = se + 1;
	}
	if (!ok) {
		for (i = 0; i < ncap; i++)
			free(caps[i]);
		return false;
	}
	for (i = 0; i < ncap; i++)
		args[i] = caps[i];
	*argsz = ncap;
	return true;
}

/*
 * Find the route for the request's method and path, filling req->args.
 * NULL if none; then *path_known says whether another method would have
 * matched (405), and *allow lists those methods (caller frees).
 */
const struct route *
route_find(struct cv_req *req, bool *path_known, char **allow)
{
	char	*args[CV_ROUTE_ARGS];
	size_t	 i, j, argsz;
	char	*list = NULL, *tmp;

	*path_known = false;
	*allow = NULL;
	for (i = 0; i < NROUTES; i++) {
		if (!route_match(routes[i].pattern, req->path, args, &argsz))
			continue;
		if (routes[i].method == req->method) {
			free(list);
			for (j = 0; j < req->argsz; j++)
				free(req->args[j]);
			for (j = 0; j < argsz; j++)
				req->args[j] = args[j];
			req->argsz = argsz;
			return &routes[i];
		}
		for (j = 0; j < argsz; j++)
			free(args[j]);
		*path_known = true;
		if (list != NULL &&
		    strstr(list, method_names[routes[i].method]) != NULL)
			continue;
		tmp = cv_asprintf("%s%s%s", list == NULL ? "" : list,
		    list == NULL ? "" : ", ", method_names[routes[i].method]);
		free(list);
		list = tmp;
	}
	*allow = list;
	return NULL;
}

/*
 * Authenticate: resolve the vault from the Host header and the token's
 * permissions on it, in one round trip.  Fills req->vault, perms, token_id.
 */
static enum cv_err
route_auth(struct cv_req *req, struct cv_resp *resp, struct store *st)
{
	unsigned char	 hash[CV_TOKEN_HASH_LEN];
	char		*token;
	bool		 have_hash = false, sent;
	enum cv_err	 er;

	token = http_auth_bearer(req->authorization);
	sent = token != NULL;
	if (token != NULL && crypto_token_wellformed(token)) {
		crypto_token_hash(token, hash);
		have_hash = true;
	}
	if (token != NULL) {
		crypto_wipe(token, strlen(token));
		free(token);
	}
	er = store_vault_resolve(st, req->host, have_hash ? hash : NULL,
	    &req->vault, &req->token_id, &req->perms);
	if (er == CV_ERR_NOT_FOUND)
		return kv_err_set(resp, er, "No vault is configured for this "
		    "host name and there is no default vault.");
	if (er != CV_OK)
		return kv_err_set(resp, er, NULL);
	if (req->token_id == 0) {
		resp->challenge = http_auth_challenge(req);
		return kv_err_set(resp, CV_ERR_UNAUTHORIZED, sent ?
		    "The access token is invalid, expired or revoked." : NULL);
	}
	return CV_OK;
}

/*
 * Rate limits (rate_limit_token_rps, rate_limit_vault_rps; off by
 * default): one request from the token's and the vault's buckets, 429
 * Throttled with Retry-After when either is empty.  If the database
 * cannot count, the request goes on: a limit is no reason to fail.
 */
static enum cv_err
route_rate(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	unsigned	 wait;

	if (ctx->rate_token == 0 && ctx->rate_vault == 0)
		return CV_OK;
	if (store_rate_take(ctx->store, req->token_id, ctx->rate_token,
	    req->vault.id, ctx->rate_vault, &wait) != CV_OK || wait == 0)
		return CV_OK;
	resp->retry_after = wait;
	return kv_err_set(resp, CV_ERR_THROTTLED, NULL);
}

/* Content-Type of a body: application/json, parameters allowed. */
static bool
route_json_type(const char *ct)
{
	size_t	 n = strlen("application/json");

	return ct == NULL || (strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '));
}

/*
 * The audit record of a request to audited route r: outcome 'started'
 * while resp is NULL, else as resp answers.
 */
static void
route_audit_record(const struct cv_req *req, const struct cv_resp *resp,
    const struct route *r, struct store_audit *a)
{

	memset(a, 0, sizeof(*a));
	a->vault_id = req->vault.id;
	a->vault_name = req->vault.name;
	a->actor = "token";
	a->token_id = req->token_id;
	a->remote_addr = req->remote_addr;
	a->client_request_id = req->client_request_id;
	a->operation = r->audit;
	a->object_type = r->object;
	a->object_name = req->argsz > 0 ? req->args[0] : NULL;
	a->object_version = req->argsz > 1 && req->args[1][0] != '\0' ?
	    req->args[1] : NULL;
	if (resp == NULL) {
		a->outcome = "started";
		return;
	}
	a->outcome = resp->status < 400 ? "success" : resp->status == 401 ||
	    resp->status == 403 ? "denied" : "error";
	a->http_status = resp->status;
	a->error_code = resp->err != CV_OK ? kv_err_code(resp->err) : NULL;
}

/*
 * Before an audited handler runs: its record, outcome 'started', so that
 * no change and no key export happens off the record, even if this
 * process dies before it can say how the request ended.  *id is the row.
 */
static enum cv_err
route_audit_start(const struct cv_req *req, const struct route *r,
    struct store *st, int64_t *id)
{
	struct store_audit	 a;

	route_audit_record(req, NULL, r, &a);
	return store_audit(st, &a, id);
}

/*
 * The outcome of a request to audited route r, answered with resp: the
 * row route_audit_start wrote (id), or a new row for a request refused
 * before its handler (id 0).  A failure to write it is logged, the answer
 * stands (the 'started' row, if any, remains).
 */
static void
route_audit(const struct cv_req *req, const struct cv_resp *resp,
    const struct route *r, struct store *st, int64_t id)
{
	struct store_audit	 a;
	enum cv_err		 er;

	route_audit_record(req, resp, r, &a);
	er = id != 0 ? store_audit_finish(st, id, &a) :
	    store_audit(st, &a, NULL);
	if (er != CV_OK)
		log_warnx("could not write the audit record of %s %s "
		    "(status %d)", req->method_name, req->path, resp->status);
}

/*
 * Serve one request: the checks every route shares, then its handler.
 * Afterwards resp holds the complete response, errors included.
 */
void
route_dispatch(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	const struct route	*r;
	const char		*v;
	char			*allow = NULL;
	int64_t			 audit_id = 0;
	bool			 known;
	enum cv_err		 er;

	r = route_find(req, &known, &allow);
	if (r != NULL)
		req->route_index = (int)(r - routes);
	if (r != NULL && (r->flags & ROUTE_OPERATOR) &&
	    !netmask_match(ctx->operator_nets, ctx->operator_netsz,
	    req->remote_addr)) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "Operator pages are "
		    "served only to the addresses in operator_networks.");
		goto out;
	}
	if (r != NULL && (r->flags & ROUTE_PUBLIC)) {
		er = r->fn(req, resp, ctx);
		goto out;
	}
	if ((er = route_auth(req, resp, ctx->store)) != CV_OK)
		goto out;
	if ((v = cv_req_param(req, "api-version")) == NULL) {
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The api-version query parameter is required.");
		goto out;
	}
	if (!route_api_version_known(v)) {
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The specified version (%s) is not recognized. Consider "
		    "using the latest supported version (%s).", v,
		    CV_API_VERSION_LATEST);
		goto out;
	}
	req->api_version = v;
	if ((er = route_rate(req, resp, ctx)) != CV_OK)
		goto out;
	if (r == NULL && known) {
		resp->allow = allow;
		allow = NULL;
		er = kv_err_set(resp, CV_ERR_METHOD, "The method %s is not "
		    "allowed on %s.", req->method_name, req->path);
		goto out;
	}
	if (r == NULL) {
		er = kv_err_set(resp, CV_ERR_NOT_FOUND, NULL);
		goto out;
	}
	if ((req->perms & r->perm) != r->perm) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "The access token does "
		    "not have certificates %s permission on key vault '%s'.",
		    http_auth_perm_name(r->perm), req->vault.name);
		goto out;
	}
	if (req->body_too_large) {
		er = kv_err_set(resp, CV_ERR_TOO_LARGE, NULL);
		goto out;
	}
	if (req->bodysz > 0 && !route_json_type(req->content_type)) {
		er = kv_err_set(resp, CV_ERR_MEDIA_TYPE, NULL);
		goto out;
	}
	if (r->audit != NULL &&
	    route_audit_start(req, r, ctx->store, &audit_id) != CV_OK) {
		er = kv_err_set(resp, CV_ERR_UNAVAILABLE, "The request could "
		    "not be recorded in the audit log; nothing was done.");
		goto out;
	}
	er = r->fn(req, resp, ctx);
out:
	free(allow);
	if (er != CV_OK && resp->err == CV_OK)
		kv_err_set(resp, er, NULL);
	kv_err_finish(resp);
	if (resp->status == 0)
		resp->status = 200;
	if (r != NULL && r->audit != NULL)
		route_audit(req, resp, r, ctx->store, audit_id);
}
