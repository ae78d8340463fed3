/*
 * certvault — making a certificate version from a policy.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "cert_make.h"
#include "crypto.h"
#include "handlers.h"
#include "kv.h"
#include "store.h"

/* Wipe and free what cert_make() made; m may be NULL or empty. */
void
cert_made_free(struct cert_made *m)
{

	if (m == NULL)
		return;
	cv_bytes_free(&m->pub);
	cv_bytes_free(&m->sealed);
	cv_bytes_free(&m->csr);
	cv_bytes_free(&m->cert);
	if (m->has_info)
		cv_x509_info_free(&m->info);
	memset(m, 0, sizeof(*m));
}

/*
 * A key of pol's type from the pool into priv, with its uid, public key
 * and sealing in m; false (nothing taken, or a key sealed under a master
 * key this process does not have, which is then dropped) if the caller
 * must generate one.  A key sealed under a previous master key (during a
 * rotation) is sealed again under the current one, same uid.
 */
static bool
cert_key_pooled(struct store *st, const struct cv_master *master,
    const struct cv_policy *pol, struct cert_made *m, struct cv_bytes *priv)
{
	struct store_pooled	 k;
	const struct cv_master	*km;
	struct cv_bytes		 resealed = { NULL, 0 };
	const char		*spec;
	bool			 found = false;

	if (st == NULL || (spec = crypto_keyspec_name(&pol->key)) == NULL)
		return false;
	if (store_pool_take(st, spec, &k, &found) != CV_OK || !found ||
	    (km = crypto_master_for(master, k.master_key_id)) == NULL ||
	    crypto_unseal(km, &k.sealed, k.key_uid, k.nonce, priv) != CV_OK) {
		store_pooled_free(&k);
		return false;
	}
	if (km != master) {
		if (crypto_seal(master, priv, k.key_uid, &resealed, k.nonce) !=
		    CV_OK) {
			cv_bytes_free(priv);
			store_pooled_free(&k);
			return false;
		}
		cv_bytes_free(&k.sealed);
		k.sealed = resealed;
	}
	memcpy(m->key_uid, k.key_uid, sizeof(m->key_uid));
	memcpy(m->nonce, k.nonce, sizeof(m->nonce));
	m->pub = k.pub;
	m->sealed = k.sealed;
	memset(&k.pub, 0, sizeof(k.pub));
	memset(&k.sealed, 0, sizeof(k.sealed));
	store_pooled_free(&k);
	return true;
}

/*
 * Make what a new version of policy pol needs, before any lock is taken:
 * the key pair (key, a PKCS#8 private key, when one is kept; NULL for a
 * new one: from st's key pool if it holds one of the type, else
 * generated now), a fresh key uid and version id, the private key sealed
 * under master, the CSR and, for issuer Self, the certificate, valid from
 * now.  On CV_ERR_BAD_PARAMETER *msg may say (for the client) why the
 * policy cannot become a request; the caller frees it.  m is emptied on
 * entry; the caller frees it with cert_made_free() in every case.
 */
enum cv_err
cert_make(struct store *st, const struct cv_master *master,
    const struct cv_policy *pol, const struct cv_bytes *key, time_t now,
    struct cert_made *m, char **msg)
{
	struct cv_bytes	 gen = { NULL, 0 };
	const struct cv_bytes *priv = key;
	bool		 pooled = false;
	enum cv_err	 er;

	memset(m, 0, sizeof(*m));
	*msg = NULL;
	if (key == NULL) {
		pooled = cert_key_pooled(st, master, pol, m, &gen);
		if (!pooled && (er = crypto_key_generate(&pol->key, &gen,
		    &m->pub)) != CV_OK)
			goto out;
		priv = &gen;
	} else if ((er = crypto_key_public(key, &m->pub)) != CV_OK)
		goto out;
	if ((er = crypto_random_hex(m->version, 16)) != CV_OK)
		goto out;
	/* A pooled key comes sealed, its uid the sealing's AAD. */
	if (!pooled && ((er = crypto_random_uuid(m->key_uid)) != CV_OK ||
	    (er = crypto_seal(master, priv, m->key_uid, &m->sealed,
	    m->nonce)) != CV_OK))
		goto out;
	if ((er = crypto_csr_make(priv, &pol->x509, &m->csr, msg)) != CV_OK)
		goto out;
	if (pol->issuer_kind == CV_ISSUER_SELF) {
		if ((er = crypto_x509_self_sign(priv, &m->csr,
		    pol->validity_months, now, &m->cert)) != CV_OK ||
		    (er = crypto_x509_info(&m->cert, &m->info)) != CV_OK)
			goto out;
		m->has_info = true;
	}
out:
	cv_bytes_free(&gen);
	return er;
}

/*
 * Describe the made material as the rows a new version is stored as:
 * nv (key and version, with policy pol) and op, its operation: completed
 * for Self, else in progress, waiting for the issuer object's provider
 * (provider, NULL for Unknown) or for a merge.  enabled applies to an
 * issued version only; a pending one is disabled.  op gets a fresh
 * request_id; nv points to op, and both point into m and pol, which must
 * outlive them.  The caller sets op->name, tags and preserveCertOrder.
 */
enum cv_err
cert_make_version(const struct cert_made *m, const struct cv_policy *pol,
    const struct cv_master *master, const char *provider, bool enabled,
    struct cv_operation *op, struct store_new_version *nv)
{
	enum cv_err	 er;

	memset(op, 0, sizeof(*op));
	memset(nv, 0, sizeof(*nv));
	if ((er = crypto_random_hex(op->request_id, 16)) != CV_OK)
		return er;
	op->issuer_name = pol->issuer;
	op->issuer_provider = (char *)provider;
	op->cty = pol->cty;
	op->cert_transparency = pol->cert_transparency;
	op->csr = m->csr;
	op->status = pol->issuer_kind == CV_ISSUER_SELF ? "completed" :
	    "inProgress";
	op->status_details = pol->issuer_kind == CV_ISSUER_SELF ? NULL :
	    pol->issuer_kind == CV_ISSUER_OBJECT ? CERT_DETAILS_ISSUER :
	    CERT_DETAILS_MERGE;

	nv->policy_json = pol->json;
	nv->key_uid = m->key_uid;
	nv->kty = pol->key.kty == CV_KTY_RSA ? "RSA" : "EC";
	nv->key_size = pol->key.bits;
	nv->curve = pol->key.kty == CV_KTY_EC ? (pol->key.curve ==
	    CV_CURVE_P256 ? "P-256" : pol->key.curve == CV_CURVE_P384 ?
	    "P-384" : "P-521") : NULL;
	nv->exportable = pol->exportable;
	nv->pub = &m->pub;
	nv->sealed = &m->sealed;
	nv->nonce = m->nonce;
	nv->master_key_id = master->id;
	nv->version = m->version;
	nv->subject = pol->x509.subject;
	if (m->has_info) {
		nv->cert = &m->cert;
		nv->x5t = m->info.x5t;
		nv->serial = &m->info.serial;
		nv->nbf = (int64_t)m->info.not_before;
		nv->exp = (int64_t)m->info.not_after;
		nv->enabled = enabled;
	}
	nv->content_type = pol->content_type;
	nv->op = op;
	return CV_OK;
}
