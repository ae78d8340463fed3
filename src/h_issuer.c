/*
 * certvault — issuer objects: set, get, update, delete and list.
 * SPDX-License-Identifier: ISC
 *
 * An issuer is a named setting of a vault (provider, credentials,
 * organisation details, enabled) that a policy's issuer.name refers to;
 * certvault-worker reads it when it works on an operation.  Its password
 * (credentials.pwd) is sealed under the master key like a private key and
 * never returned: responses show credentials.account_id only.
 *
 * DECISION (issue 5, approvals): whether a LocalCA issuer's requests wait
 * for an operator is expressed through the standard issuer body, so that
 * the official SDKs can set it without extensions.  A LocalCA issuer
 * (provider compared case-insensitively) whose org_details.id — the JS
 * SDK's createIssuer/updateIssuer option organizationId — is exactly
 * "approval-required" requires approval: PUT and PATCH store that in
 * issuers.requires_approval, and certvault-worker leaves its operations
 * inProgress until `certvault-admin` approves or rejects them.  Any other
 * organisation id, or another provider, means no approval.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certvault.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "store.h"

#define ISSUER_APPROVAL_PROVIDER	"LocalCA"
#define ISSUER_APPROVAL_ORG_ID		"approval-required"

/* How many certificates a refused delete names. */
#define ISSUER_USERS_SHOWN		10

/* credentials.pwd, sealed before any transaction starts. */
struct sealed_pwd {
	char		 uid[37];	/* credential_uid: the associated data */
	struct cv_bytes	 sealed;
	unsigned char	 nonce[CV_SEAL_NONCE_LEN];
};

/*
 * An issuer name from the path.  Names that can never be stored (bad
 * pattern) are a 400 everywhere; the reserved Self and Unknown are a 400
 * when writing and simply not found when reading.
 */
static enum cv_err
check_issuer_name(struct cv_resp *resp, const char *name, bool writing)
{

	if (!cv_name_valid(name))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The issuer name "
		    "is not valid: it must match ^[0-9a-zA-Z-]{1,127}$.");
	if (writing && (strcasecmp(name, "Self") == 0 ||
	    strcasecmp(name, "Unknown") == 0))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The issuer name "
		    "'%s' is reserved: Self and Unknown are the issuer names a "
		    "policy uses for self-signed and manually merged "
		    "certificates.", name);
	return CV_OK;
}

/* See the DECISION at the top of this file. */
static bool
issuer_requires_approval(const struct cv_issuer *is)
{

	return is->provider != NULL && is->organization_id != NULL &&
	    strcasecmp(is->provider, ISSUER_APPROVAL_PROVIDER) == 0 &&
	    strcmp(is->organization_id, ISSUER_APPROVAL_ORG_ID) == 0;
}

/*
 * DECISION (issue 6, ACME): an ACME issuer's directory URL is its
 * org_details.id (the SDK's organizationId), so that every SDK can set
 * it; "letsencrypt" and "letsencrypt-staging" stand for Let's Encrypt's
 * directories and are stored as their URLs.  Account contacts are the
 * e-mail addresses of org_details.admin_details; credentials.account_id
 * and pwd, when given, are the CA's External Account Binding key id and
 * MAC key.  Only https directories are accepted (RFC 8555, 6.1).
 */
static const struct {
	const char	*name;
	const char	*url;
} acme_dirs[] = {
	{ "letsencrypt", "https://acme-v02.api.letsencrypt.org/directory" },
	{ "letsencrypt-staging",
	    "https://acme-staging-v02.api.letsencrypt.org/directory" },
};

/*
 * The directory URL an ACME issuer with org_details.id org stores into
 * *url (org itself, or the URL of a short name); a 400 if there is none.
 */
static enum cv_err
issuer_acme_directory(struct cv_resp *resp, const char *org, const char **url)
{
	size_t	 i;

	*url = org;
	for (i = 0; org != NULL && i < sizeof(acme_dirs) / sizeof(acme_dirs[0]);
	    i++)
		if (strcasecmp(org, acme_dirs[i].name) == 0) {
			*url = acme_dirs[i].url;
			return CV_OK;
		}
	if (org == NULL || strncasecmp(org, "https://", 8) != 0 ||
	    org[8] == '\0' || org[strcspn(org, " \t\r\n")] != '\0')
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "An ACME issuer "
		    "needs its CA's directory URL (https://…) in "
		    "org_details.id, or letsencrypt or letsencrypt-staging.");
	return CV_OK;
}

static void
replace_str(char **dst, const char *src)
{

	free(*dst);
	*dst = src == NULL ? NULL : cv_strdup(src);
}

/* Seal a password with a fresh credential_uid as associated data. */
static enum cv_err
seal_pwd(struct cv_resp *resp, const struct cv_ctx *ctx, const char *pwd,
    struct sealed_pwd *sp)
{
	struct cv_bytes	 plain;
	enum cv_err	 er;

	if (ctx->master == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, "No master key is "
		    "configured: issuer credentials cannot be stored.");
	if ((er = crypto_random_uuid(sp->uid)) != CV_OK)
		return er;
	plain.data = (unsigned char *)pwd;
	plain.len = strlen(pwd);
	return crypto_seal(ctx->master, &plain, sp->uid, &sp->sealed,
	    sp->nonce);
}

/*
 * One transaction: PUT creates or replaces the issuer (its row id stays),
 * PATCH merges the members given into the stored ones; then the password
 * (sp NULL: none, removed), then the row read back into *out.
 */
static enum cv_err
issuer_write_once(struct cv_resp *resp, const struct cv_ctx *ctx,
    int64_t vault_id, const char *name, const struct cv_issuer_body *b,
    bool replace, const struct sealed_pwd *sp, struct cv_issuer *out)
{
	struct store		*st = ctx->store;
	struct store_issuer_secret sealed;
	struct cv_issuer	 cur, want;
	const char		*url;
	int64_t			 id;
	enum cv_err		 er;

	memset(&cur, 0, sizeof(cur));
	memset(&sealed, 0, sizeof(sealed));
	memset(out, 0, sizeof(*out));
	if ((er = store_begin(st)) != CV_OK)
		return er;
	if (replace) {
		memset(&want, 0, sizeof(want));
		want.name = (char *)name;
		want.provider = b->provider;
		want.enabled = b->enabled != 0;
		want.account_id = b->account_id;
		want.organization_id = b->org_id;
		want.admin_details_json = b->admin_details_json != NULL ?
		    b->admin_details_json : "[]";
		want.requires_approval = issuer_requires_approval(&want);
		if (strcasecmp(want.provider, "ACME") == 0) {
			if ((er = issuer_acme_directory(resp,
			    want.organization_id, &url)) != CV_OK)
				goto out;
			want.organization_id = (char *)url;
		}
		if ((er = store_issuer_upsert(st, vault_id, &want, &id)) !=
		    CV_OK)
			goto out;
	} else {
		er = store_issuer_lock(st, vault_id, name, &cur);
		if (er == CV_ERR_NOT_FOUND)
			er = kv_err_set(resp, CV_ERR_ISSUER_NOT_FOUND, NULL);
		if (er != CV_OK)
			goto out;
		if (b->provider != NULL)
			replace_str(&cur.provider, b->provider);
		if (b->enabled != -1)
			cur.enabled = b->enabled != 0;
		if (b->has_account_id)
			replace_str(&cur.account_id, b->account_id);
		if (b->has_org_id)
			replace_str(&cur.organization_id, b->org_id);
		if (b->admin_details_json != NULL)
			replace_str(&cur.admin_details_json,
			    b->admin_details_json);
		if (cur.admin_details_json == NULL)
			cur.admin_details_json = cv_strdup("[]");
		cur.requires_approval = issuer_requires_approval(&cur);
		if (strcasecmp(cur.provider, "ACME") == 0) {
			if ((er = issuer_acme_directory(resp,
			    cur.organization_id, &url)) != CV_OK)
				goto out;
			if (url != cur.organization_id)
				replace_str(&cur.organization_id, url);
		}
		if ((er = store_issuer_update(st, &cur)) != CV_OK)
			goto out;
		id = cur.id;
	}
	if (replace || b->has_pwd) {
		if (sp != NULL) {
			sealed.uid = sp->uid;
			sealed.sealed = &sp->sealed;
			sealed.nonce = sp->nonce;
			sealed.master_key_id = ctx->master->id;
		}
		if ((er = store_issuer_password(st, id, sp == NULL ? NULL :
		    &sealed)) != CV_OK)
			goto out;
	}
	if ((er = store_issuer_get(st, vault_id, name, out)) != CV_OK)
		goto out;
	er = store_commit(st);
out:
	store_rollback(st);
	cv_issuer_free(&cur);
	if (er != CV_OK)
		cv_issuer_free(out);
	return er;
}

static enum cv_err
issuer_answer(struct cv_req *req, struct cv_resp *resp,
    const struct cv_issuer *is)
{
	char		*base;
	enum cv_err	 er;

	base = http_base_url(req);
	er = kv_json_issuer(resp, base, is);
	free(base);
	return er;
}

/* PUT (replace) and PATCH (merge) of /certificates/issuers/{issuer-name}. */
static enum cv_err
issuer_write(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx, bool replace)
{
	struct cv_issuer_body	 b;
	struct cv_issuer	 out;
	struct sealed_pwd	 sp;
	const char		*name = req->args[0];
	char			*msg = NULL;
	bool			 have_pwd = false;
	enum cv_err		 er;

	memset(&b, 0, sizeof(b));
	memset(&out, 0, sizeof(out));
	memset(&sp, 0, sizeof(sp));
	if ((er = check_issuer_name(resp, name, true)) != CV_OK)
		return er;
	if ((er = kv_json_issuer_parse(req->body, replace, &b, &msg)) !=
	    CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	/* Sealing is done before any row is locked. */
	if (b.pwd != NULL) {
		if ((er = seal_pwd(resp, ctx, b.pwd, &sp)) != CV_OK)
			goto out;
		have_pwd = true;
	}
	er = issuer_write_once(resp, ctx, req->vault.id, name, &b, replace,
	    have_pwd ? &sp : NULL, &out);
	if (er == CV_ERR_RETRY)
		er = issuer_write_once(resp, ctx, req->vault.id, name, &b,
		    replace, have_pwd ? &sp : NULL, &out);
	if (er == CV_OK)
		er = issuer_answer(req, resp, &out);
out:
	cv_bytes_free(&sp.sealed);
	kv_issuer_body_free(&b);
	cv_issuer_free(&out);
	return er;
}

/*
 * PUT /certificates/issuers/{issuer-name}: create or replace.  provider
 * is required; members not given are reset (no account, no password, no
 * organisation details, enabled).
 */
enum cv_err
h_issuer_set(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{

	return issuer_write(req, resp, ctx, true);
}

/*
 * PATCH /certificates/issuers/{issuer-name}: every member is optional;
 * those given replace the stored ones, member by member inside
 * credentials and org_details (the JS SDK's updateIssuer always sends
 * credentials, usually empty); an empty string clears a member.
 */
enum cv_err
h_issuer_update(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{

	return issuer_write(req, resp, ctx, false);
}

/* GET /certificates/issuers/{issuer-name} */
enum cv_err
h_issuer_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_issuer	 is;
	enum cv_err		 er;

	if ((er = check_issuer_name(resp, req->args[0], false)) != CV_OK)
		return er;
	er = store_issuer_get(ctx->store, req->vault.id, req->args[0], &is);
	if (er == CV_ERR_NOT_FOUND)
		return kv_err_set(resp, CV_ERR_ISSUER_NOT_FOUND, NULL);
	if (er == CV_OK)
		er = issuer_answer(req, resp, &is);
	cv_issuer_free(&is);
	return er;
}

/*
 * The 409 of a delete while operations in progress use the issuer:
 * name the certificates (the first few), and say what to do.
 */
static enum cv_err
issuer_in_use(struct cv_resp *resp, const char *name,
    const struct cv_strlist *users, int64_t total)
{
	char		*list = NULL, *tmp;
	size_t		 i;
	enum cv_err	 er;

	for (i = 0; i < users->n; i++) {
		tmp = cv_asprintf("%s%s%s", list == NULL ? "" : list,
		    list == NULL ? "" : ", ", users->v[i]);
		free(list);
		list = tmp;
	}
	if (total > (int64_t)users->n) {
		tmp = cv_asprintf("%s and %lld more", list,
		    (long long)(total - (int64_t)users->n));
		free(list);
		list = tmp;
	}
	er = kv_err_set(resp, CV_ERR_CONFLICT, "The issuer '%s' cannot be "
	    "deleted: certificate operations in progress use it (%s: %s). "
	    "Wait until they finish, or cancel or delete them, then delete "
	    "the issuer.", name, total == 1 ? "certificate" : "certificates",
	    list);
	free(list);
	return er;
}

static enum cv_err
issuer_delete_once(struct cv_resp *resp, struct store *st, int64_t vault_id,
    const char *name, struct cv_issuer *last)
{
	struct cv_strlist	 users = { NULL, 0 };
	int64_t			 total = 0;
	enum cv_err		 er;

	memset(last, 0, sizeof(*last));
	if ((er = store_begin(st)) != CV_OK)
		return er;
	er = store_issuer_lock(st, vault_id, name, last);
	if (er == CV_ERR_NOT_FOUND)
		er = kv_err_set(resp, CV_ERR_ISSUER_NOT_FOUND, NULL);
	if (er != CV_OK)
		goto out;
	if ((er = store_issuer_users(st, vault_id, last->name,
	    ISSUER_USERS_SHOWN, &users, &total)) != CV_OK)
		goto out;
	if (total > 0) {
		er = issuer_in_use(resp, last->name, &users, total);
		goto out;
	}
	if ((er = store_issuer_delete(st, last->id)) != CV_OK)
		goto out;
	er = store_commit(st);
out:
	store_rollback(st);
	cv_strlist_free(&users);
	if (er != CV_OK)
		cv_issuer_free(last);
	return er;
}

/*
 * DELETE /certificates/issuers/{issuer-name}: permanent (its sealed
 * credentials go with it); 200 with the last state.  Refused (409) while
 * an operation in progress names the issuer: the worker still needs it.
 */
enum cv_err
h_issuer_delete(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_issuer	 last;
	enum cv_err		 er;

	if ((er = check_issuer_name(resp, req->args[0], false)) != CV_OK)
		return er;
	er = issuer_delete_once(resp, ctx->store, req->vault.id, req->args[0],
	    &last);
	if (er == CV_ERR_RETRY)
		er = issuer_delete_once(resp, ctx->store, req->vault.id,
		    req->args[0], &last);
	if (er == CV_OK)
		er = issuer_answer(req, resp, &last);
	cv_issuer_free(&last);
	return er;
}

/*
 * GET /certificates/issuers: one page of {id, provider} by name;
 * $skiptoken is the last name of the page before.
 */
enum cv_err
h_issuer_list(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_issuer	*items = NULL;
	size_t			 n = 0, shown;
	int			 limit;
	const char		*after;
	char			*base, *next = NULL;
	enum cv_err		 er;

	if (!h_page_size(req, &limit))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "maxresults must "
		    "be an integer between 1 and %d.", H_PAGE_MAX);
	after = cv_req_param(req, "$skiptoken");
	if (after != NULL && !cv_name_valid(after))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The $skiptoken is not valid.");
	if ((er = store_issuer_list(ctx->store, req->vault.id, after,
	    limit + 1, &items, &n)) != CV_OK)
		return er;
	base = http_base_url(req);
	shown = n;
	if (n > (size_t)limit) {
		shown = (size_t)limit;
		next = cv_asprintf("%s%s?api-version=%s&$skiptoken=%s&"
		    "maxresults=%d", base, req->path, req->api_version,
		    items[shown - 1].name, limit);
	}
	er = kv_json_issuer_list(resp, base, items, shown, next);
	free(next);
	free(base);
	cv_issuers_free(items, n);
	return er;
}
