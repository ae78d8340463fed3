/*
 * certvault — issuer objects and the vault's contacts.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "store.h"
#include "store_int.h"

/* Fill is from row of a result with the ISSUER_COLUMNS. */
void
store_issuer_row(const PGresult *res, int row, struct cv_issuer *is)
{

	memset(is, 0, sizeof(*is));
	is->id = store_get_int(res, row, "id");
	is->name = store_get(res, row, "name");
	is->provider = store_get(res, row, "provider");
	is->enabled = store_get_bool(res, row, "enabled");
	is->account_id = store_get(res, row, "account_id");
	is->organization_id = store_get(res, row, "organization_id");
	is->admin_details_json = store_get(res, row, "admin_details");
	is->requires_approval = store_get_bool(res, row, "requires_approval");
	is->has_password = store_get_bool(res, row, "has_password");
	is->created = store_get_int(res, row, "created");
	is->updated = store_get_int(res, row, "updated");
}

/* One issuer by name through statement s (a read or a lock). */
static enum cv_err
issuer_fetch(struct store *st, enum stmt s, int64_t vault_id,
    const char *name, struct cv_issuer *is)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	memset(is, 0, sizeof(*is));
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	if ((er = store_exec(st, s, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) == 0)
		er = CV_ERR_NOT_FOUND;
	else
		store_issuer_row(res, 0, is);
	PQclear(res);
	return er;
}

/* The issuer object called name; CV_ERR_NOT_FOUND if there is none. */
enum cv_err
store_issuer_get(struct store *st, int64_t vault_id, const char *name,
    struct cv_issuer *is)
{

	return issuer_fetch(st, STMT_ISSUER_GET, vault_id, name, is);
}

/* Release a list of issuers (store_issuer_list). */
void
cv_issuers_free(struct cv_issuer *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		cv_issuer_free(&v[i]);
	free(v);
}

/* Release a list of contacts. */
void
cv_contacts_free(struct cv_contact *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].email);
		free(v[i].name);
		free(v[i].phone);
	}
	free(v);
}

/*
 * The issuer called name, its row locked FOR UPDATE in the caller's
 * transaction (PATCH, DELETE); CV_ERR_NOT_FOUND if there is none.
 */
enum cv_err
store_issuer_lock(struct store *st, int64_t vault_id, const char *name,
    struct cv_issuer *is)
{

	return issuer_fetch(st, STMT_ISSUER_LOCK, vault_id, name, is);
}

/*
 * Create the issuer is->name, or replace the settings of the one that
 * exists under that name (any case), keeping its row id and name.
 * Credentials other than the settings (sealed secrets, a LocalCA's CA)
 * are not touched.  *id is the row's id.
 */
enum cv_err
store_issuer_upsert(struct store *st, int64_t vault_id,
    const struct cv_issuer *is, int64_t *id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, vault_id);
	store_param_text(&p, is->name);
	store_param_text(&p, is->provider);
	store_param_bool(&p, is->enabled);
	store_param_text(&p, is->account_id);
	store_param_text(&p, is->organization_id);
	store_param_text(&p, is->admin_details_json);
	store_param_bool(&p, is->requires_approval);
	if ((er = store_exec(st, STMT_ISSUER_UPSERT, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) != 1)
		er = CV_ERR_INTERNAL;
	else
		*id = store_get_int(res, 0, "id");
	PQclear(res);
	return er;
}

/* Write every setting of is (by is->id), as a merged PATCH made it. */
enum cv_err
store_issuer_update(struct store *st, const struct cv_issuer *is)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, is->id);
	store_param_text(&p, is->provider);
	store_param_bool(&p, is->enabled);
	store_param_text(&p, is->account_id);
	store_param_text(&p, is->organization_id);
	store_param_text(&p, is->admin_details_json);
	store_param_bool(&p, is->requires_approval);
	if ((er = store_exec(st, STMT_ISSUER_UPDATE, &p, &res)) != CV_OK)
		return er;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		er = CV_ERR_INTERNAL;
	PQclear(res);
	return er;
}

/*
 * Set the issuer's password (credentials.pwd) to the sealed value s, or
 * remove it when s is NULL.
 */
enum cv_err
store_issuer_password(struct store *st, int64_t issuer_id,
    const struct store_issuer_secret *s)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, issuer_id);
	if (s == NULL) {
		if ((er = store_exec(st, STMT_ISSUER_PWD_DELETE, &p, &res)) !=
		    CV_OK)
			return er;
		PQclear(res);
		return CV_OK;
	}
	store_param_text(&p, s->uid);
	store_param_bytes(&p, s->sealed->data, (int)s->sealed->len);
	store_param_bytes(&p, s->nonce, 12);
	store_param_text(&p, s->master_key_id);
	if ((er = store_exec(st, STMT_ISSUER_PWD_SET, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

/*
 * The certificates of the vault whose operation in progress names the
 * issuer: up to max names into users (soft-deleted ones marked so), and
 * how many there are in all into *total.
 */
enum cv_err
store_issuer_users(struct store *st, int64_t vault_id, const char *name,
    int max, struct cv_strlist *users, int64_t *total)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	char			*n;
	int			 i, rows;

	users->v = NULL;
	users->n = 0;
	*total = 0;
	store_param_int(&p, vault_id);
	store_param_text(&p, name);
	store_param_int(&p, max);
	if ((er = store_exec(st, STMT_ISSUER_USERS, &p, &res)) != CV_OK)
		return er;
	rows = PQntuples(res);
	if (rows > 0) {
		*total = store_get_int(res, 0, "total");
		users->v = cv_calloc((size_t)rows, sizeof(char *));
	}
	for (i = 0; i < rows; i++) {
		n = store_get(res, i, "name");
		if (store_get_bool(res, i, "deleted")) {
			users->v[users->n++] = cv_asprintf("%s (deleted)", n);
			free(n);
		} else
			users->v[users->n++] = n;
	}
	PQclear(res);
	return CV_OK;
}

/* Delete the issuer row id; its credentials go with it (cascade). */
enum cv_err
store_issuer_delete(struct store *st, int64_t id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, id);
	if ((er = store_exec(st, STMT_ISSUER_DELETE, &p, &res)) != CV_OK)
		return er;
	PQclear(res);
	return CV_OK;
}

/*
 * Up to limit issuers of the vault by name (case-insensitive order),
 * after the name after (NULL: from the start); name and provider only.
 * The caller frees *out with cv_issuers_free().
 */
enum cv_err
store_issuer_list(struct store *st, int64_t vault_id, const char *after,
    int limit, struct cv_issuer **out, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;
	int			 i, rows;

	*out = NULL;
	*n = 0;
	store_param_int(&p, vault_id);
	store_param_text(&p, after);
	store_param_int(&p, limit);
	if ((er = store_exec(st, STMT_ISSUER_LIST, &p, &res)) != CV_OK)
		return er;
	rows = PQntuples(res);
	*out = cv_calloc(rows > 0 ? (size_t)rows : 1, sizeof(**out));
	for (i = 0; i < rows; i++) {
		(*out)[i].name = store_get(res, i, "name");
		(*out)[i].provider = store_get(res, i, "provider");
	}
	*n = (size_t)rows;
	PQclear(res);
	return CV_OK;
}

/* The email, name and phone columns of a contacts result, in order. */
static void
contacts_rows(const PGresult *res, struct cv_contact **out, size_t *n)
{
	int	 i, rows = PQntuples(res);

	*out = cv_calloc(rows > 0 ? (size_t)rows : 1, sizeof(**out));
	for (i = 0; i < rows; i++) {
		(*out)[i].email = store_get(res, i, "email");
		(*out)[i].name = store_get(res, i, "name");
		(*out)[i].phone = store_get(res, i, "phone");
	}
	*n = (size_t)rows;
}

/*
 * The vault's contacts in their order; an empty list when none is set.
 * The caller frees *out with cv_contacts_free().
 */
enum cv_err
store_contacts_get(struct store *st, int64_t vault_id,
    struct cv_contact **out, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*out = NULL;
	*n = 0;
	store_param_int(&p, vault_id);
	if ((er = store_exec(st, STMT_CONTACTS_GET, &p, &res)) != CV_OK)
		return er;
	contacts_rows(res, out, n);
	PQclear(res);
	return CV_OK;
}

/* Lock the vault's row so that writers of its contacts take turns. */
static enum cv_err
lock_vault(struct store *st, int64_t vault_id)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	store_param_int(&p, vault_id);
	if ((er = store_exec(st, STMT_VAULT_LOCK, &p, &res)) != CV_OK)
		return er;
	if (PQntuples(res) != 1)
		er = CV_ERR_NOT_FOUND;
	PQclear(res);
	return er;
}

/*
 * Replace the vault's contacts with in[0..nin) in one transaction under
 * the vault's row lock (two PUTs do not interleave); *out is the list as
 * stored (cv_contacts_free()).
 */
enum cv_err
store_contacts_set(struct store *st, int64_t vault_id,
    const struct cv_contact *in, size_t nin, struct cv_contact **out,
    size_t *n)
{
	PGresult		*res;
	struct store_params	 p;
	enum cv_err		 er;
	size_t			 i;

	*out = NULL;
	*n = 0;
	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = lock_vault(st, vault_id)) != CV_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	store_param_int(&p, vault_id);
	if ((er = store_exec(st, STMT_CONTACTS_DELETE, &p, &res)) != CV_OK)
		goto out;
	PQclear(res);
	for (i = 0; i < nin; i++) {
		memset(&p, 0, sizeof(p));
		store_param_int(&p, vault_id);
		store_param_int(&p, (int64_t)i);
		store_param_text(&p, in[i].email);
		store_param_text(&p, in[i].name);
		store_param_text(&p, in[i].phone);
		if ((er = store_exec(st, STMT_CONTACT_INSERT, &p, &res)) !=
		    CV_OK)
			goto out;
		PQclear(res);
	}
	memset(&p, 0, sizeof(p));
	store_param_int(&p, vault_id);
	if ((er = store_exec(st, STMT_CONTACTS_GET, &p, &res)) != CV_OK)
		goto out;
	contacts_rows(res, out, n);
	PQclear(res);
	er = store_commit(st);
out:
	store_rollback(st);
	if (er != CV_OK) {
		cv_contacts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return er;
}

/*
 * Remove the vault's contacts under its row lock; *out is the list that
 * was removed, in its order (empty if there was none).
 */
enum cv_err
store_contacts_delete(struct store *st, int64_t vault_id,
    struct cv_contact **out, size_t *n)
{
	PGresult		*res;
	struct store_params	 p = { 0 };
	enum cv_err		 er;

	*out = NULL;
	*n = 0;
	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = lock_vault(st, vault_id)) != CV_OK)
		goto out;
	store_param_int(&p, vault_id);
	if ((er = store_exec(st, STMT_CONTACTS_DELETE, &p, &res)) != CV_OK)
		goto out;
	contacts_rows(res, out, n);
	PQclear(res);
	er = store_commit(st);
out:
	store_rollback(st);
	if (er != CV_OK) {
		cv_contacts_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return er;
}
