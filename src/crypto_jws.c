/*
 * certvault — JSON Web Signatures for ACME (RFC 7515, 7518, 8555).
 * SPDX-License-Identifier: ISC
 *
 * Only the cryptography of a JWS lives here: which "alg" a key signs
 * with, the signature over a signing input ("protected.payload"), its
 * check against a JWK, HS256 for External Account Binding and SHA-256
 * for thumbprints.  Building the JSON is the caller's business.
 *
 * GnuTLS writes and reads ECDSA signatures as DER (a SEQUENCE of two
 * INTEGERs); JWS wants R and S as fixed-length big-endian octets side
 * by side (RFC 7518 section 3.4), so we translate both ways.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "certvault.h"
#include "crypto.h"
#include "crypto_int.h"
#include "log.h"

/* RFC 7518 section 3.3: RS256 keys of 2048 bits or larger MUST be used. */
#define RSA_MIN_BITS	2048
/* Largest raw ECDSA signature: two P-521 coordinates. */
#define RS_MAX		(2 * 66)
#define SHA256_LEN	32

enum jws_alg {
	JWS_RS256 = 0,
	JWS_ES256,
	JWS_ES384,
	JWS_ES512,
	JWS__MAX
};

/*
 * What each alg is made of (RFC 7518 sections 3.3, 3.4): the key type
 * and curve it needs, GnuTLS's signature algorithm, and for ECDSA the
 * octet length of R and of S and the curve's JWK name.
 */
static const struct {
	const char		*name;
	gnutls_pk_algorithm_t	 pk;
	gnutls_ecc_curve_t	 curve;
	gnutls_sign_algorithm_t	 sign;
	size_t			 len;
	const char		*crv;
} algs[JWS__MAX] = {
	{ "RS256", GNUTLS_PK_RSA, GNUTLS_ECC_CURVE_INVALID,
	    GNUTLS_SIGN_RSA_SHA256, 0, NULL },		/* JWS_RS256 */
	{ "ES256", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP256R1,
	    GNUTLS_SIGN_ECDSA_SHA256, 32, "P-256" },	/* JWS_ES256 */
	{ "ES384", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP384R1,
	    GNUTLS_SIGN_ECDSA_SHA384, 48, "P-384" },	/* JWS_ES384 */
	{ "ES512", GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP521R1,
	    GNUTLS_SIGN_ECDSA_SHA512, 66, "P-521" },	/* JWS_ES512 */
};

/* The alg a key signs with, or JWS__MAX if it has none we speak. */
static enum jws_alg
key_alg(gnutls_privkey_t key)
{
	gnutls_ecc_curve_t	 curve;
	size_t			 i;

	switch (gnutls_privkey_get_pk_algorithm(key, NULL)) {
	case GNUTLS_PK_RSA:
		return JWS_RS256;
	case GNUTLS_PK_ECDSA:
		if (gnutls_privkey_export_ecc_raw2(key, &curve, NULL, NULL,
		    NULL, 0) < 0)
			return JWS__MAX;
		for (i = 0; i < JWS__MAX; i++)
			if (algs[i].pk == GNUTLS_PK_ECDSA &&
			    algs[i].curve == curve)
				return (enum jws_alg)i;
		return JWS__MAX;
	default:
		/* RSA-PSS, EdDSA, GOST: nothing ACME servers must take. */
		return JWS__MAX;
	}
}

/* The alg called name, or JWS__MAX. */
static enum jws_alg
alg_named(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return JWS__MAX;
	for (i = 0; i < JWS__MAX; i++)
		if (strcmp(algs[i].name, name) == 0)
			return (enum jws_alg)i;
	return JWS__MAX;
}

/*
 * The "alg" that key (unencrypted PKCS#8 DER) signs with: "RS256" for
 * RSA, "ES256", "ES384" or "ES512" for EC on P-256, P-384 or P-521.
 * Returns a static string, or NULL for other keys and for bytes that are
 * no key (logged by the import).
 */
const char *
crypto_jws_alg(const struct cv_bytes *key)
{
	gnutls_privkey_t	 pkey;
	enum jws_alg		 a;

	if (crypto_privkey_import(key, &pkey) != CV_OK)
		return NULL;
	a = key_alg(pkey);
	gnutls_privkey_deinit(pkey);
	return a == JWS__MAX ? NULL : algs[a].name;
}

/*
 * Copy the big-endian unsigned integer in d into out[0..len), left
 * padded with zeros.  Return 0 if it does not fit, 1 otherwise.
 */
static int
int_to_octets(const gnutls_datum_t *d, unsigned char *out, size_t len)
{
	const unsigned char	*p = d->data;
	size_t			 n = d->size;

	/* DER puts a zero before a high bit; a short value has none. */
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n > len)
		return 0;
	memset(out, 0, len - n);
	if (n > 0)
		memcpy(out + len - n, p, n);
	return 1;
}

/*
 * Sign input[0..len), the JWS Signing Input, with key (unencrypted
 * PKCS#8 DER) under the alg crypto_jws_alg() names: RSASSA-PKCS1-v1_5
 * with SHA-256, or ECDSA with the curve's SHA-2 and the signature as R
 * and S, each left-padded to the curve's length (RFC 7518 section 3.4,
 * not DER).  On success *sig is the signature in base64url without
 * padding, which the caller frees.  Returns CV_OK, CV_ERR_BAD_PARAMETER
 * for a key with no alg we speak, or CV_ERR_INTERNAL (logged) if the
 * key cannot be read or signing fails; *sig is NULL unless CV_OK.
 */
enum cv_err
crypto_jws_sign(const struct cv_bytes *key, const char *input, size_t len,
    char **sig)
{
	gnutls_privkey_t	 pkey = NULL;
	gnutls_datum_t		 data, der = { NULL, 0 };
	gnutls_datum_t		 r = { NULL, 0 }, s = { NULL, 0 };
	unsigned char		 raw[RS_MAX];
	enum jws_alg		 a;
	enum cv_err		 er;
	int			 rc = 0;

	*sig = NULL;
	if (len > UINT_MAX) {
		log_error("JWS signing input too large (%zu bytes)", len);
		return CV_ERR_INTERNAL;
	}
	if ((er = crypto_privkey_import(key, &pkey)) != CV_OK)
		return er;
	if ((a = key_alg(pkey)) == JWS__MAX) {
		log_warnx("key type not supported for JWS");
		er = CV_ERR_BAD_PARAMETER;
		goto out;
	}
	er = CV_ERR_INTERNAL;
	data.data = (unsigned char *)input;
	data.size = (unsigned)len;
	if ((rc = gnutls_privkey_sign_data2(pkey, algs[a].sign, 0, &data,
	    &der)) < 0)
		goto out;
	if (algs[a].pk == GNUTLS_PK_RSA) {
		/* PKCS #1 output is already the modulus's length. */
		*sig = crypto_b64_encode(der.data, der.size, true);
	} else {
		if ((rc = gnutls_decode_rs_value(&der, &r, &s)) < 0)
			goto out;
		if (!int_to_octets(&r, raw, algs[a].len) ||
		    !int_to_octets(&s, raw + algs[a].len, algs[a].len)) {
			log_error("ECDSA signature longer than its curve");
			goto out;
		}
		*sig = crypto_b64_encode(raw, 2 * algs[a].len, true);
	}
	if (*sig != NULL)
		er = CV_OK;
out:
	if (rc < 0)
		log_error("could not sign JWS: %s", gnutls_strerror(rc));
	gnutls_free(r.data);
	gnutls_free(s.data);
	gnutls_free(der.data);
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	return er;
}

/*
 * Import the public key jwk describes for alg a into pk.  RFC 7518
 * section 6.2.1.2 has EC coordinates at the curve's full length.
 * Return 0 on failure (jwk malformed or not fit for a), 1 on success.
 */
static int
jwk_import(const struct cv_jwk *jwk, enum jws_alg a, gnutls_pubkey_t pk)
{
	struct cv_bytes		 b1 = { NULL, 0 }, b2 = { NULL, 0 };
	gnutls_datum_t		 d1, d2;
	unsigned		 bits = 0;
	int			 ok = 0;

	if (algs[a].pk == GNUTLS_PK_RSA) {
		if (jwk->kty == NULL || strcmp(jwk->kty, "RSA") != 0 ||
		    jwk->n == NULL || jwk->e == NULL ||
		    crypto_b64_decode(jwk->n, strlen(jwk->n), true, &b1) !=
		    CV_OK ||
		    crypto_b64_decode(jwk->e, strlen(jwk->e), true, &b2) !=
		    CV_OK ||
		    b1.len == 0 || b2.len == 0 ||
		    b1.len > UINT_MAX || b2.len > UINT_MAX)
			goto out;
		d1.data = b1.data;
		d1.size = (unsigned)b1.len;
		d2.data = b2.data;
		d2.size = (unsigned)b2.len;
		if (gnutls_pubkey_import_rsa_raw(pk, &d1, &d2) < 0 ||
		    gnutls_pubkey_get_pk_algorithm(pk, &bits) !=
		    GNUTLS_PK_RSA || bits < RSA_MIN_BITS)
			goto out;
	} else {
		if (jwk->kty == NULL || strcmp(jwk->kty, "EC") != 0 ||
		    jwk->crv == NULL || strcmp(jwk->crv, algs[a].crv) != 0 ||
		    jwk->x == NULL || jwk->y == NULL ||
		    crypto_b64_decode(jwk->x, strlen(jwk->x), true, &b1) !=
		    CV_OK ||
		    crypto_b64_decode(jwk->y, strlen(jwk->y), true, &b2) !=
		    CV_OK ||
		    b1.len != algs[a].len || b2.len != algs[a].len)
			goto out;
		d1.data = b1.data;
		d1.size = (unsigned)b1.len;
		d2.data = b2.data;
		d2.size = (unsigned)b2.len;
		if (gnutls_pubkey_import_ecc_raw(pk, algs[a].curve, &d1,
		    &d2) < 0)
			goto out;
	}
	ok = 1;
out:
	cv_bytes_free(&b1);
	cv_bytes_free(&b2);
	return ok;
}

/*
 * A raw R and S of the given length each as the DER GnuTLS verifies,
 * into der (caller frees with gnutls_free).  Returns a GnuTLS error code.
 */
static int
octets_to_der(const unsigned char *raw, size_t len, gnutls_datum_t *der)
{
	gnutls_datum_t	 r, s;
	size_t		 i, j;

	/* Minimal INTEGERs: drop leading zeros, keeping one octet. */
	for (i = 0; i + 1 < len && raw[i] == 0; i++)
		continue;
	for (j = 0; j + 1 < len && raw[len + j] == 0; j++)
		continue;
	r.data = (unsigned char *)raw + i;
	r.size = (unsigned)(len - i);
	s.data = (unsigned char *)raw + len + j;
	s.size = (unsigned)(len - j);
	return gnutls_encode_rs_value(der, &r, &s);
}

/*
 * Check sig (base64url, no padding) over input[0..len) with the public
 * key jwk for alg ("RS256", "ES256", "ES384" or "ES512").  Returns CV_OK
 * if the signature is good; CV_ERR_BAD_PARAMETER if it is not, if sig or
 * jwk is malformed, or if alg does not fit the key (RS256 on fewer than
 * 2048 bits included, RFC 7518 section 3.3); CV_ERR_INTERNAL (logged)
 * only if GnuTLS cannot start.
 */
enum cv_err
crypto_jws_verify(const struct cv_jwk *jwk, const char *alg,
    const char *input, size_t len, const char *sig)
{
	gnutls_pubkey_t		 pk = NULL;
	gnutls_datum_t		 data, sd, der = { NULL, 0 };
	struct cv_bytes		 raw = { NULL, 0 };
	enum jws_alg		 a;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	if (jwk == NULL || sig == NULL || len > UINT_MAX ||
	    (a = alg_named(alg)) == JWS__MAX)
		return CV_ERR_BAD_PARAMETER;
	/*
	 * RFC 7515 section 2 omits the padding; refusing it keeps one
	 * signature from being written two ways.
	 */
	if (strchr(sig, '=') != NULL ||
	    crypto_b64_decode(sig, strlen(sig), true, &raw) != CV_OK ||
	    raw.len == 0 || raw.len > UINT_MAX)
		goto out;
	if ((rc = gnutls_pubkey_init(&pk)) < 0) {
		log_error("could not verify JWS: %s", gnutls_strerror(rc));
		pk = NULL;
		er = CV_ERR_INTERNAL;
		goto out;
	}
	if (!jwk_import(jwk, a, pk))
		goto out;
	if (algs[a].pk == GNUTLS_PK_RSA) {
		sd.data = raw.data;
		sd.size = (unsigned)raw.len;
	} else {
		if (raw.len != 2 * algs[a].len ||
		    octets_to_der(raw.data, algs[a].len, &der) < 0)
			goto out;
		sd = der;
	}
	data.data = (unsigned char *)input;
	data.size = (unsigned)len;
	if (gnutls_pubkey_verify_data2(pk, algs[a].sign, 0, &data, &sd) < 0)
		goto out;
	er = CV_OK;
out:
	gnutls_free(der.data);
	cv_bytes_free(&raw);
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	return er;
}

/*
 * HMAC-SHA-256 of input[0..len) under key (RFC 7518 section 3.2, HS256,
 * as ACME's External Account Binding signs with, RFC 8555 section
 * 7.3.4).  On success *sig is the MAC in base64url without padding,
 * which the caller frees.  Returns CV_OK, CV_ERR_BAD_PARAMETER for an
 * empty key, or CV_ERR_INTERNAL (logged); *sig is NULL unless CV_OK.
 */
enum cv_err
crypto_hs256(const struct cv_bytes *key, const char *input, size_t len,
    char **sig)
{
	unsigned char	 mac[SHA256_LEN];
	int		 rc;

	*sig = NULL;
	if (key == NULL || key->data == NULL || key->len == 0)
		return CV_ERR_BAD_PARAMETER;
	if ((rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, key->data, key->len,
	    input, len, mac)) < 0) {
		log_error("could not compute HMAC: %s", gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	*sig = crypto_b64_encode(mac, sizeof(mac), true);
	/* The MAC is the account's proof of the key: leave no copy. */
	crypto_wipe(mac, sizeof(mac));
	return *sig == NULL ? CV_ERR_INTERNAL : CV_OK;
}

/*
 * SHA-256 of data[0..len) into out: JWK thumbprints (RFC 7638) and the
 * dns-01 TXT value (RFC 8555 section 8.4).  SHA-256 is always there;
 * its absence is fatal, as for crypto_token_hash().
 */
void
crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	int	 rc;

	if ((rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out)) < 0)
		fatal("SHA-256 not available: %s", gnutls_strerror(rc));
}
