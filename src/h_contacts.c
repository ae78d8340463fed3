/*
 * certvault — the vault's certificate contacts: set, get, delete.
 * SPDX-License-Identifier: ISC
 *
 * One ordered list per vault, the recipients of EmailContacts lifetime
 * actions.  A vault without contacts answers 404 ContactsNotFound.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "store.h"

/* Answer with a list (consumed), or 404 when it is empty. */
static enum cv_err
contacts_answer(struct cv_req *req, struct cv_resp *resp,
    struct cv_contact *list, size_t n)
{
	char		*base;
	enum cv_err	 er;

	if (n == 0) {
		cv_contacts_free(list, n);
		return kv_err_set(resp, CV_ERR_CONTACTS_NOT_FOUND, NULL);
	}
	base = http_base_url(req);
	er = kv_json_contacts(resp, base, list, n);
	free(base);
	cv_contacts_free(list, n);
	return er;
}

/*
 * PUT /certificates/contacts: replace the list with the one given (at
 * least one contact, each with an email, name or phone; emails checked).
 */
enum cv_err
h_contacts_set(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_contact	*in = NULL, *out = NULL;
	size_t			 nin = 0, nout = 0;
	char			*msg = NULL;
	enum cv_err		 er;

	if ((er = kv_json_contacts_parse(req->body, &in, &nin, &msg)) !=
	    CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	er = store_contacts_set(ctx->store, req->vault.id, in, nin, &out,
	    &nout);
	if (er == CV_ERR_RETRY)
		er = store_contacts_set(ctx->store, req->vault.id, in, nin,
		    &out, &nout);
	cv_contacts_free(in, nin);
	if (er != CV_OK)
		return er;
	return contacts_answer(req, resp, out, nout);
}

/* GET /certificates/contacts */
enum cv_err
h_contacts_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_contact	*list = NULL;
	size_t			 n = 0;
	enum cv_err		 er;

	if ((er = store_contacts_get(ctx->store, req->vault.id, &list,
	    &n)) != CV_OK)
		return er;
	return contacts_answer(req, resp, list, n);
}

/*
 * DELETE /certificates/contacts: 200 with the list that was removed (the
 * JS SDK reads it), 404 when there was none.
 */
enum cv_err
h_contacts_delete(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_contact	*list = NULL;
	size_t			 n = 0;
	enum cv_err		 er;

	er = store_contacts_delete(ctx->store, req->vault.id, &list, &n);
	if (er == CV_ERR_RETRY)
		er = store_contacts_delete(ctx->store, req->vault.id, &list,
		    &n);
	if (er != CV_OK)
		return er;
	return contacts_answer(req, resp, list, n);
}
