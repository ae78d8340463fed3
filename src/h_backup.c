/*
 * certvault — backup and restore of a certificate.
 * SPDX-License-Identifier: ISC
 *
 * A backup blob is self-contained: a JSON document (kv_json_backup_build)
 * with every version, the policy, the tags and each version's key, the
 * private keys in the clear, sealed as a whole under the master key with
 * AES-256-GCM.  The blob is
 *
 *	"CVB1" | 12-byte nonce | ciphertext and 16-byte tag
 *
 * in base64url.  The associated data names the format, so nothing else
 * sealed under the master key opens as a backup.  A blob therefore
 * restores on any certvault that has the same master key (as its
 * master_key_file or, after a rotation, in master_key_previous_files),
 * and only there; a changed byte fails authentication.  Whoever holds a
 * blob and the master key holds the private keys in it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "crypto.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "store.h"

#define BACKUP_MAGIC	"CVB1"
#define BACKUP_MAGIC_LEN 4
#define BACKUP_AAD	"certvault-backup-v1"
#define BACKUP_TAG_LEN	16	/* AES-GCM tag after the ciphertext */

#define BLOB_INVALID "The backup blob is not valid, or was made with a " \
	"different master key."

static enum cv_err
no_master(struct cv_resp *resp)
{

	return kv_err_set(resp, CV_ERR_INTERNAL, "No master key is configured: "
	    "certificates cannot be backed up or restored.");
}

/* Open every key of b (read sealed) into b->keys[].priv. */
static enum cv_err
unseal_keys(const struct cv_master *m, struct cv_backup *b)
{
	struct cv_backup_key	*k;
	const struct cv_master	*km;
	size_t			 i;
	enum cv_err		 er;

	for (i = 0; i < b->nkeys; i++) {
		k = &b->keys[i];
		/* Under the current key or, mid-rotation, a previous one. */
		if ((km = crypto_master_for(m, k->master_key_id)) == NULL) {
			log_error("key %s of certificate %s cannot be unsealed",
			    k->uid, b->name);
			return CV_ERR_INTERNAL;
		}
		if ((er = crypto_unseal(km, &k->sealed, k->uid, k->nonce,
		    &k->priv)) != CV_OK)
			return er;
	}
	return CV_OK;
}

/* Seal the document plain into the base64url blob *out (caller frees). */
static enum cv_err
seal_blob(const struct cv_master *m, const struct cv_bytes *plain,
    char **out)
{
	struct cv_bytes	 sealed = { NULL, 0 };
	unsigned char	 nonce[CV_SEAL_NONCE_LEN], *blob;
	size_t		 len;
	enum cv_err	 er;

	*out = NULL;
	if ((er = crypto_seal(m, plain, BACKUP_AAD, &sealed, nonce)) != CV_OK)
		return er;
	len = BACKUP_MAGIC_LEN + CV_SEAL_NONCE_LEN + sealed.len;
	blob = cv_malloc(len);
	memcpy(blob, BACKUP_MAGIC, BACKUP_MAGIC_LEN);
	memcpy(blob + BACKUP_MAGIC_LEN, nonce, CV_SEAL_NONCE_LEN);
	memcpy(blob + BACKUP_MAGIC_LEN + CV_SEAL_NONCE_LEN, sealed.data,
	    sealed.len);
	*out = crypto_b64_encode(blob, len, true);
	free(blob);
	cv_bytes_free(&sealed);
	return *out == NULL ? CV_ERR_INTERNAL : CV_OK;
}

/*
 * POST /certificates/{name}/backup: 200 {"value": "<base64url blob>"}
 * with every version of the live certificate.
 */
enum cv_err
h_backup_make(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_backup	 b;
	struct cv_bytes		 plain = { NULL, 0 };
	char			*blob = NULL;
	enum cv_err		 er;

	memset(&b, 0, sizeof(b));
	if (ctx->master == NULL)
		return no_master(resp);
	er = store_backup_read(ctx->store, req->vault.id, req->args[0], &b);
	if (er == CV_ERR_CERT_NOT_FOUND)
		return kv_err_set(resp, er, "Certificate not found: %s",
		    req->args[0]);
	if (er != CV_OK)
		return er;
	if ((er = unseal_keys(ctx->master, &b)) != CV_OK ||
	    (er = kv_json_backup_build(&b, &plain)) != CV_OK ||
	    (er = seal_blob(ctx->master, &plain, &blob)) != CV_OK)
		goto out;
	er = kv_json_backup_value(resp, blob);
out:
	free(blob);
	cv_bytes_free(&plain);
	cv_backup_free(&b);
	return er;
}

/*
 * Open the base64url blob value into the plain document *plain (wiped by
 * cv_bytes_free).  CV_ERR_BAD_PARAMETER for anything that is not a blob
 * sealed under this master key, changed or not.
 */
static enum cv_err
open_blob(const struct cv_master *m, const char *value,
    struct cv_bytes *plain)
{
	struct cv_bytes	 blob = { NULL, 0 }, sealed;
	enum cv_err	 er = CV_ERR_BAD_PARAMETER;

	memset(plain, 0, sizeof(*plain));
	if (crypto_b64_decode(value, strlen(value), true, &blob) != CV_OK)
		goto out;
	if (blob.len < BACKUP_MAGIC_LEN + CV_SEAL_NONCE_LEN + BACKUP_TAG_LEN ||
	    memcmp(blob.data, BACKUP_MAGIC, BACKUP_MAGIC_LEN) != 0)
		goto out;
	sealed.data = blob.data + BACKUP_MAGIC_LEN + CV_SEAL_NONCE_LEN;
	sealed.len = blob.len - BACKUP_MAGIC_LEN - CV_SEAL_NONCE_LEN;
	/*
	 * A blob does not name its key: one made before a rotation opens
	 * under a previous key while master_key_previous_files lists it.
	 */
	if (crypto_unseal_any(m, &sealed, BACKUP_AAD,
	    blob.data + BACKUP_MAGIC_LEN, plain) != CV_OK)
		goto out;
	er = CV_OK;
out:
	cv_bytes_free(&blob);
	return er;
}

/* Give every key of b a new uid and seal it under m for this vault. */
static enum cv_err
reseal_keys(const struct cv_master *m, struct cv_backup *b)
{
	struct cv_backup_key	*k;
	size_t			 i;
	enum cv_err		 er;

	for (i = 0; i < b->nkeys; i++) {
		k = &b->keys[i];
		cv_bytes_free(&k->sealed);
		if ((er = crypto_random_uuid(k->uid)) != CV_OK ||
		    (er = crypto_seal(m, &k->priv, k->uid, &k->sealed,
		    k->nonce)) != CV_OK)
			return er;
	}
	return CV_OK;
}

/* Write b in one transaction: all of it, or nothing. */
static enum cv_err
restore_tx(struct store *st, int64_t vault_id, const struct cv_backup *b,
    const char *master_key_id)
{
	enum cv_err	 er;

	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = store_backup_write(st, vault_id, b, master_key_id)) == CV_OK)
		er = store_commit(st);
	store_rollback(st);
	return er;
}

/*
 * POST /certificates/restore {"value": "<base64url blob>"}: 200 with the
 * restored certificate's latest version as a CertificateBundle.  The
 * name must be free in this vault (not live, not soft-deleted).
 */
enum cv_err
h_backup_restore(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_backup	 b;
	struct cv_bytes		 plain = { NULL, 0 };
	char			*value = NULL, *msg = NULL, *base;
	enum cv_err		 er;
	int			 tries;

	memset(&b, 0, sizeof(b));
	if (ctx->master == NULL)
		return no_master(resp);
	if ((er = kv_json_restore_parse(req->body, &value, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		goto out;
	}
	if (open_blob(ctx->master, value, &plain) != CV_OK) {
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, BLOB_INVALID);
		goto out;
	}
	if (kv_json_backup_parse(&plain, &b, &msg) != CV_OK) {
		/* Authentic, yet unreadable: another format version. */
		log_warnx("backup blob refused: %s", msg != NULL ? msg : "?");
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, BLOB_INVALID);
		goto out;
	}
	if ((er = reseal_keys(ctx->master, &b)) != CV_OK)
		goto out;
	/* A serialization failure or deadlock is retried once. */
	for (tries = 0; tries < 2; tries++)
		if ((er = restore_tx(ctx->store, req->vault.id, &b,
		    ctx->master->id)) != CV_ERR_RETRY)
			break;
	if (er == CV_ERR_CONFLICT) {
		base = http_base_url(req);
		kv_err_set(resp, er, "Conflict while restoring certificate "
		    "%s/certificates/%s - certificate already exists or "
		    "concurrent access", base, b.name);
		free(base);
	}
	if (er != CV_OK)
		goto out;
	er = h_cert_bundle(req, resp, ctx, b.name, "", 200);
out:
	free(value);
	free(msg);
	cv_bytes_free(&plain);
	cv_backup_free(&b);
	return er;
}
