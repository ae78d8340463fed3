/*
 * certvault — key pairs: generation, the public half, owned bytes.
 * SPDX-License-Identifier: ISC
 *
 * Private keys cross the crypto boundary as unencrypted PKCS#8 DER (they
 * are sealed by crypto_seal.c before they reach the database), public
 * keys as SubjectPublicKeyInfo DER.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "certvault.h"
#include "crypto.h"
#include "crypto_int.h"
#include "log.h"

/* GnuTLS curve of each cv_curve, and the bits Key Vault's key_size says. */
static const struct {
	gnutls_ecc_curve_t	 curve;
	unsigned		 bits;
	const char		*name;
} curves[CV_CURVE__MAX] = {
	{ GNUTLS_ECC_CURVE_INVALID, 0, "none" },	/* CV_CURVE_NONE */
	{ GNUTLS_ECC_CURVE_SECP256R1, 256, "P-256" },	/* CV_CURVE_P256 */
	{ GNUTLS_ECC_CURVE_SECP384R1, 384, "P-384" },	/* CV_CURVE_P384 */
	{ GNUTLS_ECC_CURVE_SECP521R1, 521, "P-521" },	/* CV_CURVE_P521 */
};

/* Wipe, free and empty owned bytes; accepts NULL and empties. */
void
cv_bytes_free(struct cv_bytes *b)
{

	if (b == NULL)
		return;
	if (b->data != NULL) {
		gnutls_memset(b->data, 0, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

/*
 * Move a datum GnuTLS allocated into owned bytes: copy it into our own
 * allocation (cv_bytes_free uses free(), GnuTLS's allocator may differ),
 * then wipe and release the datum and empty it.
 */
void
crypto_datum_move(gnutls_datum_t *d, struct cv_bytes *out)
{

	out->len = d->size;
	out->data = cv_malloc(d->size > 0 ? d->size : 1);
	if (d->size > 0)
		memcpy(out->data, d->data, d->size);
	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/*
 * Import an unencrypted PKCS#8 DER private key into *out, which the
 * caller releases with gnutls_privkey_deinit().  Returns CV_OK, or
 * CV_ERR_INTERNAL (logged) if the bytes are not such a key.
 */
enum cv_err
crypto_privkey_import(const struct cv_bytes *pkcs8, gnutls_privkey_t *out)
{
	gnutls_x509_privkey_t	 xkey = NULL;
	gnutls_privkey_t	 pkey = NULL;
	gnutls_datum_t		 d;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	*out = NULL;
	if (pkcs8 == NULL || pkcs8->data == NULL || pkcs8->len == 0 ||
	    pkcs8->len > UINT32_MAX) {
		log_error("private key missing");
		return CV_ERR_INTERNAL;
	}
	d.data = pkcs8->data;
	d.size = (unsigned)pkcs8->len;
	if ((rc = gnutls_x509_privkey_init(&xkey)) < 0 ||
	    (rc = gnutls_x509_privkey_import_pkcs8(xkey, &d,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN)) < 0 ||
	    (rc = gnutls_privkey_init(&pkey)) < 0)
		goto out;
	/* AUTO_RELEASE hands xkey over to pkey (certtool generate_request). */
	if ((rc = gnutls_privkey_import_x509(pkey, xkey,
	    GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
		goto out;
	xkey = NULL;
	*out = pkey;
	pkey = NULL;
	er = CV_OK;
out:
	if (er != CV_OK)
		log_error("could not import private key: %s",
		    gnutls_strerror(rc));
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return er;
}

/*
 * The digest to sign with for this key: SHA-384 for P-384, SHA-512 for
 * P-521 (matching the curve's strength), SHA-256 otherwise.
 */
gnutls_digest_algorithm_t
crypto_sign_digest(gnutls_privkey_t key)
{
	gnutls_ecc_curve_t	 curve;

	if (gnutls_privkey_get_pk_algorithm(key, NULL) != GNUTLS_PK_ECDSA ||
	    gnutls_privkey_export_ecc_raw(key, &curve, NULL, NULL, NULL) < 0)
		return GNUTLS_DIG_SHA256;
	switch (curve) {
	case GNUTLS_ECC_CURVE_SECP384R1:
		return GNUTLS_DIG_SHA384;
	case GNUTLS_ECC_CURVE_SECP521R1:
		return GNUTLS_DIG_SHA512;
	default:
		return GNUTLS_DIG_SHA256;
	}
}

/*
 * Export the SubjectPublicKeyInfo DER of key into pub (emptied first).
 * Returns CV_OK or CV_ERR_INTERNAL (logged).
 */
static enum cv_err
key_spki(gnutls_privkey_t key, struct cv_bytes *pub)
{
	gnutls_pubkey_t		 pk = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	if ((rc = gnutls_pubkey_init(&pk)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pk, key, 0, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, pub);
	er = CV_OK;
out:
	if (er != CV_OK)
		log_error("could not export public key: %s",
		    gnutls_strerror(rc));
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	return er;
}

/*
 * Check spec against what we generate: RSA 2048, 3072 or 4096 bits; EC
 * on P-256, P-384 or P-521 (bits, when given, must match the curve).
 * Returns 1 if acceptable, 0 (logged) if not.
 */
static int
keyspec_ok(const struct cv_keyspec *spec)
{

	switch (spec->kty) {
	case CV_KTY_RSA:
		if (spec->bits == 2048 || spec->bits == 3072 ||
		    spec->bits == 4096)
			return 1;
		log_warnx("RSA key size %u not supported", spec->bits);
		return 0;
	case CV_KTY_EC:
		if (spec->curve == CV_CURVE_NONE ||
		    spec->curve >= CV_CURVE__MAX) {
			log_warnx("EC curve %d not supported", spec->curve);
			return 0;
		}
		if (spec->bits != 0 && spec->bits != curves[spec->curve].bits) {
			log_warnx("EC key size %u does not match curve %s",
			    spec->bits, curves[spec->curve].name);
			return 0;
		}
		return 1;
	default:
		log_warnx("key type %d not supported", spec->kty);
		return 0;
	}
}

/*
 * Generate a new key pair as spec says.  On success priv holds the
 * unencrypted PKCS#8 DER private key and pub the SubjectPublicKeyInfo
 * DER; the caller frees both with cv_bytes_free().  Returns CV_OK,
 * CV_ERR_BAD_PARAMETER for a size or curve we do not generate (the caller
 * validated the policy, so this is a last line), or CV_ERR_INTERNAL.
 * Both outputs are empty unless CV_OK.
 */
enum cv_err
crypto_key_generate(const struct cv_keyspec *spec, struct cv_bytes *priv,
    struct cv_bytes *pub)
{
	gnutls_x509_privkey_t	 xkey = NULL;
	gnutls_privkey_t	 pkey = NULL;
	gnutls_pk_algorithm_t	 algo;
	gnutls_datum_t		 d = { NULL, 0 };
	unsigned		 bits;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc = 0;

	memset(priv, 0, sizeof(*priv));
	memset(pub, 0, sizeof(*pub));
	if (!keyspec_ok(spec))
		return CV_ERR_BAD_PARAMETER;
	if (spec->kty == CV_KTY_RSA) {
		algo = GNUTLS_PK_RSA;
		bits = spec->bits;
	} else {
		algo = GNUTLS_PK_ECDSA;
		bits = GNUTLS_CURVE_TO_BITS(curves[spec->curve].curve);
	}

	if ((rc = gnutls_x509_privkey_init(&xkey)) < 0 ||
	    (rc = gnutls_x509_privkey_generate2(xkey, algo, bits, 0,
	    NULL, 0)) < 0 ||
	    (rc = gnutls_x509_privkey_export2_pkcs8(xkey, GNUTLS_X509_FMT_DER,
	    NULL, GNUTLS_PKCS_PLAIN, &d)) < 0 ||
	    (rc = gnutls_privkey_init(&pkey)) < 0 ||
	    (rc = gnutls_privkey_import_x509(pkey, xkey,
	    GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0)
		goto out;
	xkey = NULL;
	rc = 0;
	crypto_datum_move(&d, priv);
	if (key_spki(pkey, pub) != CV_OK)
		goto out;
	er = CV_OK;
out:
	if (rc < 0)
		log_error("could not generate key: %s", gnutls_strerror(rc));
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
	}
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	if (er != CV_OK) {
		cv_bytes_free(priv);
		cv_bytes_free(pub);
	}
	return er;
}

/*
 * Derive the SubjectPublicKeyInfo DER of an unencrypted PKCS#8 DER
 * private key into pub (caller frees with cv_bytes_free; empty unless
 * CV_OK).  Returns CV_OK or CV_ERR_INTERNAL (logged).
 */
enum cv_err
crypto_key_public(const struct cv_bytes *priv, struct cv_bytes *pub)
{
	gnutls_privkey_t	 pkey = NULL;
	enum cv_err		 er;

	memset(pub, 0, sizeof(*pub));
	if ((er = crypto_privkey_import(priv, &pkey)) != CV_OK)
		return er;
	er = key_spki(pkey, pub);
	gnutls_privkey_deinit(pkey);
	return er;
}

/* The key types the pool knows, by the name key_pool.key_spec gives. */
static const struct {
	const char		*name;
	struct cv_keyspec	 spec;
} specs[] = {
	{ "RSA-2048", { CV_KTY_RSA, 2048, CV_CURVE_NONE } },
	{ "RSA-3072", { CV_KTY_RSA, 3072, CV_CURVE_NONE } },
	{ "RSA-4096", { CV_KTY_RSA, 4096, CV_CURVE_NONE } },
	{ "EC-P-256", { CV_KTY_EC, 256, CV_CURVE_P256 } },
	{ "EC-P-384", { CV_KTY_EC, 384, CV_CURVE_P384 } },
	{ "EC-P-521", { CV_KTY_EC, 521, CV_CURVE_P521 } },
};

/* The name of spec as key_pool.key_spec spells it; NULL if none. */
const char *
crypto_keyspec_name(const struct cv_keyspec *spec)
{
	size_t	 i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (specs[i].spec.kty == spec->kty &&
		    (spec->kty == CV_KTY_EC ? specs[i].spec.curve ==
		    spec->curve : specs[i].spec.bits == spec->bits))
			return specs[i].name;
	return NULL;
}

/* The key type called name (as crypto_keyspec_name); false if none. */
bool
crypto_keyspec_parse(const char *name, struct cv_keyspec *spec)
{
	size_t	 i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (strcmp(specs[i].name, name) == 0) {
			*spec = specs[i].spec;
			return true;
		}
	return false;
}
