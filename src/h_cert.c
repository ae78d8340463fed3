/*
 * certvault — certificate resources: list, get, create.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvault.h"
#include "cert_make.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "store.h"

/* Key Vault caps a page at 25 items, which is also the default. */
#define CERT_PAGE_MAX H_PAGE_MAX

/*
 * Parse maxresults (1..25, default 25).  Return 0 on failure, 1 on success.
 * Every paged list uses it (h_deleted.c too).
 */
int
h_page_size(const struct cv_req *req, int *out)
{
	const char	*v;
	char		*end;
	long		 n;

	*out = CERT_PAGE_MAX;
	if ((v = cv_req_param(req, "maxresults")) == NULL || *v == '\0')
		return 1;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < 1 || n > CERT_PAGE_MAX)
		return 0;
	*out = (int)n;
	return 1;
}

/*
 * The query of a certificate list (live or deleted): maxresults,
 * includePending and the $skiptoken (a name: the last of the page
 * before).  A bad one is recorded on resp as a 400.
 */
enum cv_err
h_list_params(const struct cv_req *req, struct cv_resp *resp, int *limit,
    bool *pending, const char **after)
{
	const char	*v = cv_req_param(req, "includePending");

	if (!h_page_size(req, limit))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "maxresults must "
		    "be an integer between 1 and %d.", CERT_PAGE_MAX);
	*pending = v != NULL && strcasecmp(v, "true") == 0;
	if (v != NULL && *v != '\0' && !*pending &&
	    strcasecmp(v, "false") != 0)
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "includePending must be true or false.");
	*after = cv_req_param(req, "$skiptoken");
	if (*after != NULL && !cv_name_valid(*after))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The $skiptoken is not valid.");
	return CV_OK;
}

/*
 * Answer one page of a list.  The store returned up to limit + 1 items;
 * one more than the page means there is a next page, whose link repeats
 * path and query and carries the last item's key as $skiptoken (names
 * and version ids are URL-safe).
 */
static enum cv_err
list_page(struct cv_req *req, struct cv_resp *resp, struct cv_cert_item *items,
    size_t n, int limit, const char *extra)
{
	char		*base, *next = NULL;
	const struct cv_cert_item *last;
	enum cv_err	 er;
	size_t		 shown = n;

	base = http_base_url(req);
	if (n > (size_t)limit) {
		shown = (size_t)limit;
		last = &items[shown - 1];
		next = cv_asprintf("%s%s?api-version=%s&$skiptoken=%s&"
		    "maxresults=%d%s", base, req->path, req->api_version,
		    last->version != NULL ? last->version : last->name, limit,
		    extra);
	}
	er = kv_json_cert_list(resp, base, items, shown, next);
	free(next);
	free(base);
	cv_cert_items_free(items, n);
	return er;
}

/*
 * GET /certificates: one page of live certificates (those with only a
 * pending version when includePending=true).
 */
enum cv_err
h_cert_list(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	struct cv_cert_item	*items;
	size_t			 n;
	int			 limit;
	bool			 pending;
	const char		*after;
	enum cv_err		 er;

	if ((er = h_list_params(req, resp, &limit, &pending, &after)) != CV_OK)
		return er;
	if ((er = store_cert_list(ctx->store, req->vault.id, after, limit + 1,
	    pending, &items, &n)) != CV_OK)
		return er;
	return list_page(req, resp, items, n, limit,
	    pending ? "&includePending=true" : "");
}

/* A certificate name from the path, or a 400 naming the rule. */
static enum cv_err
check_name(struct cv_resp *resp, const char *name)
{

	if (cv_name_valid(name))
		return CV_OK;
	return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The certificate name "
	    "is not valid: it must match ^[0-9a-zA-Z-]{1,127}$.");
}

/* True for a version id: 32 hex characters. */
static bool
version_valid(const char *v)
{
	size_t	 i;

	for (i = 0; v[i] != '\0'; i++)
		if (i == 32 || !((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f') ||
		    (v[i] >= 'A' && v[i] <= 'F')))
			return false;
	return i == 32;
}

/*
 * Answer with one version as a CertificateBundle (version "" = latest).
 * Shared by GET and the end of a merge.
 */
enum cv_err
h_cert_bundle(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx, const char *name, const char *version,
    int status)
{
	struct cv_version	 v;
	char			*base;
	enum cv_err		 er;

	if (*version != '\0' && !version_valid(version))
		return kv_err_set(resp, CV_ERR_CERT_NOT_FOUND,
		    "Certificate not found: %s/%s", name, version);
	er = store_version_get(ctx->store, req->vault.id, name, version, &v);
	if (er == CV_ERR_CERT_NOT_FOUND)
		return kv_err_set(resp, er, "Certificate not found: %s", name);
	if (er != CV_OK)
		return er;
	base = http_base_url(req);
	er = kv_json_bundle(resp, status, base, &v);
	free(base);
	cv_version_free(&v);
	return er;
}

/* GET /certificates/{name}/versions: one page of versions, oldest first. */
enum cv_err
h_cert_versions(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_cert_item	*items;
	size_t			 n;
	int			 limit;
	const char		*after;
	enum cv_err		 er;

	if ((er = check_name(resp, req->args[0])) != CV_OK)
		return er;
	if (!h_page_size(req, &limit))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "maxresults must "
		    "be an integer between 1 and %d.", CERT_PAGE_MAX);
	after = cv_req_param(req, "$skiptoken");
	if (after != NULL && !version_valid(after))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The $skiptoken is not valid.");
	if ((er = store_cert_versions(ctx->store, req->vault.id, req->args[0],
	    after, limit + 1, &items, &n)) != CV_OK)
		return er;
	return list_page(req, resp, items, n, limit, "");
}

/*
 * PATCH /certificates/{name}[/{version}]: attributes.enabled and tags of
 * one version.  nbf and exp come from the certificate itself and are
 * ignored, as Key Vault ignores them.
 */
enum cv_err
h_cert_update(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_merge	 up;
	char		*msg = NULL, version[33] = "";
	enum cv_err	 er;

	if ((er = check_name(resp, req->args[0])) != CV_OK)
		return er;
	if (*req->args[1] != '\0' && !version_valid(req->args[1]))
		return kv_err_set(resp, CV_ERR_CERT_NOT_FOUND,
		    "Certificate not found: %s/%s", req->args[0], req->args[1]);
	if ((er = kv_json_update_parse(req->body, &up, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	er = store_version_update(ctx->store, req->vault.id, req->args[0],
	    req->args[1], up.enabled, up.tags_json, version);
	kv_merge_free(&up);
	if (er == CV_ERR_CERT_NOT_FOUND)
		return kv_err_set(resp, er, "Certificate not found: %s",
		    req->args[0]);
	if (er != CV_OK)
		return er;
	return h_cert_bundle(req, resp, ctx, req->args[0], version, 200);
}

/* GET /certificates/{name}[/{version}]; an empty version is the latest. */
enum cv_err
h_cert_get(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	enum cv_err	 er;

	if ((er = check_name(resp, req->args[0])) != CV_OK)
		return er;
	return h_cert_bundle(req, resp, ctx, req->args[0], req->args[1], 200);
}

/*
 * Under the certificate's lock: refuse while an operation is in progress
 * or the name is soft-deleted, else store the new version.
 */
static enum cv_err
version_locked(struct cv_resp *resp, struct store *st, int64_t vault_id,
    const char *name, const struct store_new_version *nv)
{
	struct store_lock	 lk;
	enum cv_err		 er;

	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = store_cert_lock(st, vault_id, name, nv->policy_json,
	    &lk)) != CV_OK)
		goto out;
	if (lk.deleted) {
		er = kv_err_set(resp, CV_ERR_CONFLICT, "Certificate %s is "
		    "currently in a deleted but recoverable state, and its name "
		    "cannot be reused; in this state, the certificate can only "
		    "be recovered or purged.", name);
		resp->errinner = "ObjectIsDeletedButRecoverable";
		goto out;
	}
	if (lk.has_op && strcmp(lk.op.status, "inProgress") == 0) {
		er = kv_err_set(resp, CV_ERR_PENDING_CONFLICT, NULL);
		goto out;
	}
	if ((er = store_cert_new_version(st, &lk, nv)) != CV_OK)
		goto out;
	er = store_commit(st);
out:
	store_rollback(st);
	store_lock_free(&lk);
	return er;
}

/*
 * Store a new version of name, made before any lock (create, import):
 * the 409 rules of the seed hold under the certificate's row lock.  A
 * serialization failure or deadlock is retried once.
 */
enum cv_err
h_cert_store_version(struct cv_resp *resp, struct store *st,
    int64_t vault_id, const char *name, const struct store_new_version *nv)
{
	enum cv_err	 er;

	if ((er = version_locked(resp, st, vault_id, name, nv)) ==
	    CV_ERR_RETRY)
		er = version_locked(resp, st, vault_id, name, nv);
	return er;
}

/*
 * The issuer object a policy names must exist and be enabled; *iss is
 * filled for the caller.  A 400 names the issuer otherwise.
 */
enum cv_err
h_issuer_usable(struct cv_resp *resp, const struct cv_ctx *ctx,
    int64_t vault_id, const char *name, struct cv_issuer *iss)
{
	enum cv_err	 er;

	er = store_issuer_get(ctx->store, vault_id, name, iss);
	if (er == CV_ERR_NOT_FOUND)
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The issuer '%s' "
		    "does not exist in this vault.", name);
	if (er != CV_OK)
		return er;
	if (!iss->enabled)
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The issuer '%s' "
		    "is disabled.", name);
	return CV_OK;
}

/*
 * POST /certificates/{name}/create.  Self: the certificate is made here
 * and the operation stored completed, though the 202 says inProgress as
 * the SDK pollers expect.  Unknown: the CSR waits for a merge.
 */
enum cv_err
h_cert_create(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_create	 c;
	struct cv_policy	*pol;
	struct cv_operation	 op;
	struct store_new_version nv;
	struct cert_made	 m;
	struct cv_issuer	 iss;
	const char		*name = req->args[0];
	char			*msg = NULL, *stored = NULL, *base;
	enum cv_err		 er;

	memset(&c, 0, sizeof(c));
	memset(&op, 0, sizeof(op));
	memset(&m, 0, sizeof(m));
	memset(&iss, 0, sizeof(iss));
	if ((er = check_name(resp, name)) != CV_OK)
		return er;
	if ((er = kv_json_create_parse(req->body, &c, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		goto out;
	}
	if (!c.has_policy) {
		/* A later version may reuse the stored policy. */
		er = store_cert_policy(ctx->store, req->vault.id, name, &stored,
		    NULL);
		if (er == CV_ERR_CERT_NOT_FOUND) {
			er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, "policy is "
			    "required to create a new certificate.");
			goto out;
		}
		if (er != CV_OK ||
		    (er = kv_json_policy_parse(stored, &c.policy, &msg)) !=
		    CV_OK)
			goto out;
	}
	pol = &c.policy;
	if (pol->issuer_kind == CV_ISSUER_OBJECT &&
	    (er = h_issuer_usable(resp, ctx, req->vault.id, pol->issuer,
	    &iss)) != CV_OK)
		goto out;
	if (pol->x509.subject[0] != '\0' &&
	    (er = crypto_dn_check(pol->x509.subject, &msg)) != CV_OK) {
		kv_err_set(resp, er, "policy.x509_props.subject: %s",
		    msg != NULL ? msg : "not a valid distinguished name.");
		goto out;
	}
	if (ctx->master == NULL) {
		er = kv_err_set(resp, CV_ERR_INTERNAL, "No master key is "
		    "configured: certificates cannot be created.");
		goto out;
	}
	if ((er = cert_make(ctx->store, ctx->master, pol, NULL, time(NULL),
	    &m, &msg)) != CV_OK) {
		if (er == CV_ERR_BAD_PARAMETER)
			kv_err_set(resp, er, "%s", msg != NULL ? msg :
			    "The policy cannot be made into a certificate "
			    "request.");
		goto out;
	}

	if ((er = cert_make_version(&m, pol, ctx->master, iss.provider,
	    c.enabled, &op, &nv)) != CV_OK)
		goto out;
	op.name = (char *)name;
	op.preserve_cert_order = c.preserve_cert_order;
	nv.tags_json = c.tags_json;
	nv.preserve_cert_order = c.preserve_cert_order;

	if ((er = h_cert_store_version(resp, ctx->store, req->vault.id, name,
	    &nv)) != CV_OK)
		goto out;

	base = http_base_url(req);
	resp->location = cv_asprintf("%s/certificates/%s/pending?"
	    "api-version=%s&request_id=%s", base, name, req->api_version,
	    op.request_id);
	op.status = "inProgress";
	op.status_details = pol->issuer_kind == CV_ISSUER_UNKNOWN ?
	    CERT_DETAILS_MERGE : CERT_DETAILS_ISSUER;
	er = kv_json_operation(resp, 202, base, &op);
	free(base);
out:
	free(msg);
	free(stored);
	cert_made_free(&m);
	kv_create_free(&c);
	cv_issuer_free(&iss);
	return er;
}
