/*
 * certvault — the secret and the key of a certificate version: the
 * private key with the certificate (GET /secrets), the public key as a
 * JWK (GET /keys).  SPDX-License-Identifier: ISC
 *
 * Every bundle's sid and kid must resolve, as on Key Vault.  The private
 * key leaves the vault only when the policy says exportable.
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

/* Look the version up; 404 with the object kind's Key Vault code. */
static enum cv_err
find_keyed(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx,
    enum cv_err notfound, const char *what, struct store_keyed *k)
{
	const char	*name = req->args[0], *version = req->args[1];
	enum cv_err	 er;

	if (!cv_name_valid(name))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The %s name is "
		    "not valid: it must match ^[0-9a-zA-Z-]{1,127}$.", what);
	er = store_version_key(ctx->store, req->vault.id, name, version, k);
	if (er == CV_ERR_CERT_NOT_FOUND)
		return kv_err_set(resp, notfound, "A %s with (name/id) %s%s%s "
		    "was not found in this key vault.", what, name,
		    *version != '\0' ? "/" : "", version);
	return er;
}

/*
 * GET /secrets/{name}[/{version}]: the certificate with its private key,
 * as base64 PKCS#12 without password or as PEM text, per the version's
 * content type.  403 for a disabled version or a non-exportable key.
 */
enum cv_err
h_secret_get(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct store_keyed	 k;
	const struct cv_master	*m;
	struct cv_bytes		 priv = { NULL, 0 }, pfx = { NULL, 0 };
	char			*value = NULL, *base;
	bool			 pem;
	enum cv_err		 er;

	memset(&k, 0, sizeof(k));
	if ((er = find_keyed(req, resp, ctx, CV_ERR_SECRET_NOT_FOUND,
	    "secret", &k)) != CV_OK)
		goto out;
	if (!k.v.enabled) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "Operation get is not "
		    "allowed on a disabled secret.");
		goto out;
	}
	if (!k.exportable) {
		er = kv_err_set(resp, CV_ERR_FORBIDDEN, "The private key of "
		    "certificate %s is not exportable: its policy says "
		    "key_props.exportable false.", k.v.name);
		goto out;
	}
	if (ctx->master == NULL) {
		er = kv_err_set(resp, CV_ERR_INTERNAL, "No master key is "
		    "configured: private keys cannot be read.");
		goto out;
	}
	if ((m = crypto_master_for(ctx->master, k.master_key_id)) == NULL ||
	    (er = crypto_unseal(m, &k.sealed, k.key_uid, k.nonce,
	    &priv)) != CV_OK) {
		er = kv_err_set(resp, CV_ERR_INTERNAL, "The private key cannot "
		    "be unsealed with this installation's master key.");
		goto out;
	}
	pem = strcmp(k.v.content_type, "application/x-pem-file") == 0;
	if (pem)
		er = crypto_export_pem(&priv, k.certs, k.ncerts, &value);
	else if ((er = crypto_export_pkcs12(&priv, k.certs, k.ncerts,
	    &pfx)) == CV_OK)
		value = crypto_b64_encode(pfx.data, pfx.len, false);
	if (er != CV_OK)
		goto out;
	base = http_base_url(req);
	er = kv_json_secret(resp, base, &k.v, value);
	free(base);
out:
	if (value != NULL) {
		crypto_wipe(value, strlen(value));
		free(value);
	}
	cv_bytes_free(&pfx);
	cv_bytes_free(&priv);
	store_keyed_free(&k);
	return er;
}

/* GET /keys/{name}[/{version}]: the public key as a JWK. */
enum cv_err
h_key_get(struct cv_req *req, struct cv_resp *resp, const struct cv_ctx *ctx)
{
	struct store_keyed	 k;
	struct cv_jwk		 jwk;
	char			*base;
	enum cv_err		 er;

	memset(&k, 0, sizeof(k));
	memset(&jwk, 0, sizeof(jwk));
	if ((er = find_keyed(req, resp, ctx, CV_ERR_KEY_NOT_FOUND, "key",
	    &k)) != CV_OK)
		goto out;
	if ((er = crypto_jwk(&k.pub, &jwk)) != CV_OK)
		goto out;
	base = http_base_url(req);
	er = kv_json_key(resp, base, &k.v, &jwk);
	free(base);
out:
	cv_jwk_free(&jwk);
	store_keyed_free(&k);
	return er;
}
