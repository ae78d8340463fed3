/*
 * certvault — POST /certificates/{name}/import: a certificate made
 * elsewhere, with its private key, as PKCS#12 or PEM.
 * SPDX-License-Identifier: ISC
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

static const char *const curve_names[CV_CURVE__MAX] = {
	"", "P-256", "P-384", "P-521",
};

/*
 * The policy of an import: the one derived from the certificate (Key
 * Vault's §7.2), with the members the client gave replacing the derived
 * ones; it must describe the key that came with the certificate.
 */
static enum cv_err
import_policy(struct cv_resp *resp, struct cv_create *c,
    const struct cv_keyspec *key, const struct cv_bytes *leaf, bool pem)
{
	struct cv_x509_req	 x;
	unsigned		 months = 12;
	char			*derived = NULL, *merged = NULL, *msg = NULL;
	enum cv_err		 er;

	memset(&x, 0, sizeof(x));
	if ((er = crypto_x509_describe(leaf, &x, &months)) != CV_OK)
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The imported "
		    "certificate cannot be read.");
	if ((er = kv_json_policy_from_cert(key, &x, months, pem ?
	    "application/x-pem-file" : "application/x-pkcs12", &derived)) !=
	    CV_OK)
		goto out;
	if (c->policy_given != NULL && (er = kv_json_policy_merge(derived,
	    c->policy_given, &merged, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		goto out;
	}
	if ((er = kv_json_policy_parse(merged != NULL ? merged : derived,
	    &c->policy, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		goto out;
	}
	if (c->policy.key.kty != key->kty || c->policy.key.bits != key->bits ||
	    c->policy.key.curve != key->curve)
		er = kv_err_set(resp, CV_ERR_BAD_PARAMETER, "policy.key_props "
		    "does not describe the imported key (%s %u%s%s).",
		    key->kty == CV_KTY_RSA ? "RSA" : "EC", key->bits,
		    key->kty == CV_KTY_EC ? " " : "", curve_names[key->curve]);
out:
	cv_x509_req_free(&x);
	free(derived);
	free(merged);
	free(msg);
	return er;
}

/*
 * Whether the import value is PEM: the text itself, or (as the JS SDK
 * sends a Buffer of PEM text) base64 of it.
 */
static bool
value_is_pem(const char *value)
{
	struct cv_bytes	 raw = { NULL, 0 };
	bool		 pem;

	if (strstr(value, "-----BEGIN") != NULL)
		return true;
	if (crypto_b64_decode(value, strlen(value), false, &raw) != CV_OK)
		return false;
	pem = raw.len > 10 && memmem(raw.data, raw.len, "-----BEGIN", 10) !=
	    NULL;
	cv_bytes_free(&raw);
	return pem;
}

enum cv_err
h_cert_import(struct cv_req *req, struct cv_resp *resp,
    const struct cv_ctx *ctx)
{
	struct cv_create	 c;
	struct cv_import	 imp;
	struct cv_keyspec	 key;
	struct cv_x509_info	 info;
	struct store_new_version nv;
	struct cv_bytes		 pub = { NULL, 0 }, sealed = { NULL, 0 };
	unsigned char		 nonce[CV_SEAL_NONCE_LEN];
	const char		*name = req->args[0];
	char			*msg = NULL, key_uid[37], version[33];
	bool			 pem, has_info = false;
	enum cv_err		 er;

	memset(&imp, 0, sizeof(imp));
	memset(&key, 0, sizeof(key));
	if (!cv_name_valid(name))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The certificate "
		    "name is not valid: it must match ^[0-9a-zA-Z-]{1,127}$.");
	if ((er = kv_json_import_parse(req->body, &c, &msg)) != CV_OK) {
		kv_err_set(resp, er, "%s", msg);
		free(msg);
		return er;
	}
	/* PEM arrives as the text itself, or base64 of it (the JS SDK). */
	pem = value_is_pem(c.value);
	if ((er = crypto_import_parse(c.value, c.pwd, pem, &imp, &msg)) !=
	    CV_OK) {
		kv_err_set(resp, CV_ERR_BAD_PARAMETER, "%s", msg != NULL ? msg :
		    "The certificate data cannot be read.");
		goto out;
	}
	if ((er = crypto_key_public(&imp.key, &pub)) != CV_OK ||
	    (er = crypto_key_spec(&pub, &key)) != CV_OK) {
		kv_err_set(resp, CV_ERR_BAD_PARAMETER, "The imported key is of "
		    "a type certvault does not support (RSA 2048, 3072, 4096 "
		    "and EC P-256, P-384, P-521 are).");
		goto out;
	}
	if ((er = import_policy(resp, &c, &key, &imp.certs[0], pem)) != CV_OK)
		goto out;
	if ((er = crypto_x509_info(&imp.certs[0], &info)) != CV_OK)
		goto out;
	has_info = true;
	if (ctx->master == NULL) {
		er = kv_err_set(resp, CV_ERR_INTERNAL, "No master key is "
		    "configured: certificates cannot be imported.");
		goto out;
	}
	if ((er = crypto_random_uuid(key_uid)) != CV_OK ||
	    (er = crypto_random_hex(version, 16)) != CV_OK ||
	    (er = crypto_seal(ctx->master, &imp.key, key_uid, &sealed,
	    nonce)) != CV_OK)
		goto out;

	memset(&nv, 0, sizeof(nv));
	nv.policy_json = c.policy.json;
	nv.key_uid = key_uid;
	nv.kty = key.kty == CV_KTY_RSA ? "RSA" : "EC";
	nv.key_size = key.bits;
	nv.curve = key.kty == CV_KTY_EC ? curve_names[key.curve] : NULL;
	nv.exportable = c.policy.exportable;
	nv.pub = &pub;
	nv.sealed = &sealed;
	nv.nonce = nonce;
	nv.master_key_id = ctx->master->id;
	nv.version = version;
	nv.cert = &imp.certs[0];
	nv.x5t = info.x5t;
	nv.serial = &info.serial;
	nv.subject = info.subject;
	nv.nbf = (int64_t)info.not_before;
	nv.exp = (int64_t)info.not_after;
	nv.enabled = c.enabled;
	nv.tags_json = c.tags_json;
	nv.content_type = c.policy.content_type;
	nv.preserve_cert_order = c.preserve_cert_order;
	nv.chain = imp.certs + 1;
	nv.chainsz = imp.ncerts - 1;
	if ((er = h_cert_store_version(resp, ctx->store, req->vault.id, name,
	    &nv)) == CV_OK)
		er = h_cert_bundle(req, resp, ctx, name, version, 200);
out:
	free(msg);
	if (has_info)
		cv_x509_info_free(&info);
	cv_bytes_free(&pub);
	cv_bytes_free(&sealed);
	cv_import_free(&imp);
	kv_create_free(&c);
	return er;
}
