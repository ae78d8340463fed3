/*
 * certvault — a certificate with its key, in and out: import of PKCS#12
 * and PEM, export as PKCS#12 and PEM, JWKs, key specs and the policy an
 * imported certificate implies.  SPDX-License-Identifier: ISC
 *
 * PKCS#12 files are read bag by bag, as gnutls_pkcs12_simple_parse()
 * does, rather than with it: simple_parse refuses encrypted bags when the
 * password is NULL (certtool --null-password files need exactly that),
 * reports "no key" and "no certificate for the key" with one error code,
 * keeps only the first of several keys and drops a self-signed root from
 * the chain.  GnuTLS tells an empty password ("", a BMPString of one NUL)
 * from a NULL one (no bytes, RFC 7292 appendix B.1); OpenSSL tries both,
 * and so do we when no password is given.
 *
 * Exports carry no password, as Key Vault's secrets do: the key in a
 * plain PKCS#8 KeyBag, the certificates in an unencrypted SafeContents,
 * and an HMAC-SHA-256 MAC under the empty password, which OpenSSL 3,
 * GnuTLS and Node.js all read without being given a password.  GnuTLS
 * 3.7 derives the MAC key with 600000 iterations (about 30 ms, on export
 * and again on every reader's side); encryption under an empty password
 * would add cost and no secrecy.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#include "certvault.h"
#include "crypto.h"
#include "crypto_int.h"
#include "log.h"

#define KEYID_MAX	64
#define OID_SAN		"2.5.29.17"
#define DAY		86400

/* Client-facing messages of crypto_import_parse. */
static const char msg_neither[] = "The certificate data is neither a "
    "PKCS#12 (PFX) file in base64 nor PEM text.";
static const char msg_not_pem[] = "The certificate data is not PEM text, "
    "as the content type application/x-pem-file says, nor a PKCS#12 (PFX) "
    "file in base64.";
static const char msg_p12_pwd[] = "The password of the PKCS#12 file is "
    "wrong or missing.";
static const char msg_p12_alg[] = "The PKCS#12 file uses an encryption or "
    "integrity algorithm that is not supported.";
static const char msg_p12_bad[] = "The PKCS#12 file is damaged or not "
    "supported.";

/*
 * Key derivation work one import may ask for: OpenSSL writes 2,048
 * iterations, certtool 600,000.  PBKDF2 costs the same whether the
 * password is right or not, so without a bound one request could hold a
 * worker for minutes (found by reading the code behind fuzz_import).
 */
#define KDF_ITER_MAX	2000000u	/* one MAC, bag or key */
#define KDF_TOTAL_MAX	4000000u	/* all of them in one file */
static const char msg_kdf[] = "The file asks for more key derivation "
    "work than certvault accepts (at most 2,000,000 iterations for one "
    "MAC, bag or key, 4,000,000 in all); export it again with the usual "
    "settings.";
static const char msg_key_pwd[] = "The password of the private key is "
    "wrong or missing.";
static const char msg_key_bad[] = "The private key in the imported data "
    "could not be read.";
static const char msg_key_invalid[] = "The private key in the imported "
    "data is not valid.";
static const char msg_key_type[] = "The private key is of a type that is "
    "not supported: use RSA, or EC on the curve P-256, P-384 or P-521.";
static const char msg_no_key[] = "The imported data holds no private key.";
static const char msg_many_keys[] = "The imported data holds more than one "
    "private key.";
static const char msg_no_cert[] = "The imported data holds no certificate.";
static const char msg_cert_bad[] = "A certificate in the imported data "
    "could not be read.";
static const char msg_mismatch[] = "The private key does not match any "
    "certificate in the imported data.";
static const char msg_pem_bad[] = "The PEM text is malformed: a BEGIN line "
    "has no matching END line.";

/* GnuTLS curve, JWK name, coordinate length and bits of each cv_curve. */
static const struct {
	gnutls_ecc_curve_t	 curve;
	const char		*name;
	unsigned		 len;
	unsigned		 bits;
} curves[CV_CURVE__MAX] = {
	{ GNUTLS_ECC_CURVE_INVALID, NULL, 0, 0 },	/* CV_CURVE_NONE */
	{ GNUTLS_ECC_CURVE_SECP256R1, "P-256", 32, 256 }, /* CV_CURVE_P256 */
	{ GNUTLS_ECC_CURVE_SECP384R1, "P-384", 48, 384 }, /* CV_CURVE_P384 */
	{ GNUTLS_ECC_CURVE_SECP521R1, "P-521", 66, 521 }, /* CV_CURVE_P521 */
};

/* GnuTLS's bit of each cv_ku bit, in enum cv_ku order. */
static const unsigned ku_bits[] = {
	GNUTLS_KEY_DIGITAL_SIGNATURE,	/* CV_KU_DIGITAL_SIGNATURE */
	GNUTLS_KEY_NON_REPUDIATION,	/* CV_KU_NON_REPUDIATION */
	GNUTLS_KEY_KEY_ENCIPHERMENT,	/* CV_KU_KEY_ENCIPHERMENT */
	GNUTLS_KEY_DATA_ENCIPHERMENT,	/* CV_KU_DATA_ENCIPHERMENT */
	GNUTLS_KEY_KEY_AGREEMENT,	/* CV_KU_KEY_AGREEMENT */
	GNUTLS_KEY_KEY_CERT_SIGN,	/* CV_KU_KEY_CERT_SIGN */
	GNUTLS_KEY_CRL_SIGN,		/* CV_KU_CRL_SIGN */
	GNUTLS_KEY_ENCIPHER_ONLY,	/* CV_KU_ENCIPHER_ONLY */
	GNUTLS_KEY_DECIPHER_ONLY,	/* CV_KU_DECIPHER_ONLY */
};

/*
 * What an import found so far: the first private key, how many distinct
 * keys there were, the certificates (DER, duplicates dropped) in the
 * order given, and, if a key could not be read, the message saying so
 * (decided once every certificate is in: see found_finish).
 */
struct found {
	gnutls_x509_privkey_t	 key;
	size_t			 nkeys;
	struct cv_bytes		*certs;
	size_t			 ncerts;
	const char		*key_msg;
	unsigned long		 kdf;	/* iterations asked for so far */
};

/*
 * Count iter iterations more against f's budget: false (and key_msg
 * saying why) when one item or the file asks for too many.
 */
static bool
kdf_take(struct found *f, unsigned iter)
{

	f->kdf += iter;
	if (iter <= KDF_ITER_MAX && f->kdf <= KDF_TOTAL_MAX)
		return true;
	f->key_msg = msg_kdf;
	return false;
}

/* The iterations an encrypted PKCS#8 key asks for; 0 if it does not say. */
static unsigned
pkcs8_iter(const gnutls_datum_t *data, gnutls_x509_crt_fmt_t fmt)
{
	unsigned char	 salt[128];
	unsigned	 schema, cipher, salt_size = sizeof(salt), iter = 0;
	char		*oid = NULL;

	if (gnutls_pkcs8_info(data, fmt, &schema, &cipher, salt, &salt_size,
	    &iter, &oid) < 0)
		iter = 0;
	gnutls_free(oid);
	return iter;
}

/* The iterations an encrypted PKCS#12 bag asks for; 0 if it does not say. */
static unsigned
bag_iter(gnutls_pkcs12_bag_t bag)
{
	unsigned char	 salt[128];
	unsigned	 schema, cipher, salt_size = sizeof(salt), iter = 0;
	char		*oid = NULL;

	if (gnutls_pkcs12_bag_enc_info(bag, &schema, &cipher, salt,
	    &salt_size, &iter, &oid) < 0)
		iter = 0;
	gnutls_free(oid);
	return iter;
}

/* Set *errmsg (if errmsg is not NULL) to a copy of msg. */
static void
set_err(char **errmsg, const char *msg)
{

	if (errmsg != NULL) {
		free(*errmsg);
		*errmsg = cv_strdup(msg);
	}
}

/* Wipe and free a NUL-terminated secret string; accepts NULL. */
static void
secret_free(char *s)
{

	if (s != NULL) {
		gnutls_memset(s, 0, strlen(s));
		free(s);
	}
}

/* Release a gnutls datum's data, wiped, and empty it. */
static void
datum_wipe(gnutls_datum_t *d)
{

	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* Point d at b's bytes.  Return 0 if b is empty or too big, 1 if not. */
static int
datum_of(const struct cv_bytes *b, gnutls_datum_t *d)
{

	d->data = NULL;
	d->size = 0;
	if (b == NULL || b->data == NULL || b->len == 0 ||
	    b->len > UINT32_MAX)
		return 0;
	d->data = b->data;
	d->size = (unsigned)b->len;
	return 1;
}

/*
 * Import DER bytes as a certificate into *crt (caller deinits).  Return
 * the GnuTLS result: negative on failure, *crt then NULL.
 */
static int
crt_import(const struct cv_bytes *der, gnutls_x509_crt_t *crt)
{
	gnutls_datum_t	 d;
	int		 rc;

	*crt = NULL;
	if (!datum_of(der, &d))
		return GNUTLS_E_INVALID_REQUEST;
	if ((rc = gnutls_x509_crt_init(crt)) < 0)
		return rc;
	if ((rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
	}
	return rc;
}

/*
 * Import SubjectPublicKeyInfo DER into *pk (caller deinits).  Return the
 * GnuTLS result: negative on failure, *pk then NULL.
 */
static int
pubkey_import(const struct cv_bytes *spki, gnutls_pubkey_t *pk)
{
	gnutls_datum_t	 d;
	int		 rc;

	*pk = NULL;
	if (!datum_of(spki, &d))
		return GNUTLS_E_INVALID_REQUEST;
	if ((rc = gnutls_pubkey_init(pk)) < 0)
		return rc;
	if ((rc = gnutls_pubkey_import(*pk, &d, GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_pubkey_deinit(*pk);
		*pk = NULL;
	}
	return rc;
}

/*
 * Import an unencrypted PKCS#8 DER key into *key (caller deinits).
 * Return the GnuTLS result: negative on failure, *key then NULL.
 */
static int
x509key_import(const struct cv_bytes *pkcs8, gnutls_x509_privkey_t *key)
{
	gnutls_datum_t	 d;
	int		 rc;

	*key = NULL;
	if (!datum_of(pkcs8, &d))
		return GNUTLS_E_INVALID_REQUEST;
	if ((rc = gnutls_x509_privkey_init(key)) < 0)
		return rc;
	if ((rc = gnutls_x509_privkey_import_pkcs8(*key, &d,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN)) < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
	}
	return rc;
}

/* Release what an import found and empty it. */
static void
found_free(struct found *f)
{
	size_t	 i;

	if (f->key != NULL)
		gnutls_x509_privkey_deinit(f->key);
	for (i = 0; i < f->ncerts; i++)
		cv_bytes_free(&f->certs[i]);
	free(f->certs);
	memset(f, 0, sizeof(*f));
}

/*
 * Take the private key xkey into f: the first one is kept, later ones
 * only counted, unless they are the same key again (same SHA-256 key
 * id).  xkey is consumed either way.
 */
static void
found_add_key(struct found *f, gnutls_x509_privkey_t xkey)
{
	unsigned char	 a[KEYID_MAX], b[KEYID_MAX];
	size_t		 alen = sizeof(a), blen = sizeof(b);

	if (f->key == NULL) {
		f->key = xkey;
		f->nkeys = 1;
		return;
	}
	if (gnutls_x509_privkey_get_key_id(f->key, GNUTLS_KEYID_USE_SHA256,
	    a, &alen) < 0 ||
	    gnutls_x509_privkey_get_key_id(xkey, GNUTLS_KEYID_USE_SHA256,
	    b, &blen) < 0 ||
	    alen != blen || memcmp(a, b, alen) != 0)
		f->nkeys++;
	gnutls_x509_privkey_deinit(xkey);
}

/*
 * Add certificate DER (len bytes at der) to f unless the same bytes are
 * there already.  Return 1 if it is a certificate, 0 if not.
 */
static int
found_add_cert(struct found *f, const unsigned char *der, size_t len)
{
	struct cv_bytes		 b;
	gnutls_x509_crt_t	 crt;
	size_t			 i;
	int			 rc;

	b.data = (unsigned char *)der;
	b.len = len;
	if ((rc = crt_import(&b, &crt)) < 0) {
		log_warnx("imported certificate not readable: %s",
		    gnutls_strerror(rc));
		return 0;
	}
	gnutls_x509_crt_deinit(crt);
	for (i = 0; i < f->ncerts; i++)
		if (f->certs[i].len == len &&
		    memcmp(f->certs[i].data, der, len) == 0)
			return 1;
	f->certs = cv_realloc(f->certs, (f->ncerts + 1) * sizeof(*f->certs));
	f->certs[f->ncerts].data = cv_malloc(len);
	memcpy(f->certs[f->ncerts].data, der, len);
	f->certs[f->ncerts].len = len;
	f->ncerts++;
	return 1;
}

/*
 * Put the certificates of imp in order: certs[leaf] first, then its
 * issuer, that one's issuer, ... as far as the set goes (issuer names,
 * and key ids when present, as gnutls_x509_crt_check_issuer() tells),
 * then the rest in their given order.  Returns CV_OK or CV_ERR_INTERNAL.
 */
static enum cv_err
order_from_leaf(struct cv_import *imp, size_t leaf)
{
	gnutls_x509_crt_t	*crts;
	struct cv_bytes		*out;
	bool			*placed;
	size_t			 i, k, m, cur, n = imp->ncerts;
	enum cv_err		 er = CV_ERR_INTERNAL;

	crts = cv_calloc(n, sizeof(*crts));
	placed = cv_calloc(n, sizeof(*placed));
	out = cv_calloc(n, sizeof(*out));
	for (i = 0; i < n; i++)
		if (crt_import(&imp->certs[i], &crts[i]) < 0)
			goto out;
	out[0] = imp->certs[leaf];
	placed[leaf] = true;
	for (m = 1, cur = leaf; m < n; m++) {
		for (k = 0; k < n; k++)
			if (!placed[k] &&
			    gnutls_x509_crt_check_issuer(crts[cur], crts[k]))
				break;
		if (k == n)
			break;
		out[m] = imp->certs[k];
		placed[k] = true;
		cur = k;
	}
	for (k = 0; k < n; k++)
		if (!placed[k])
			out[m++] = imp->certs[k];
	memcpy(imp->certs, out, n * sizeof(*out));
	er = CV_OK;
out:
	if (er != CV_OK)
		log_error("could not order imported certificates");
	for (i = 0; i < n; i++)
		if (crts[i] != NULL)
			gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	free(placed);
	free(out);
	return er;
}

/*
 * True if the len bytes of DER at p name an elliptic curve by an OID of
 * the families GnuTLS knows only in part: SECG (1.3.132.0.x: P-256K,
 * ...), ANSI X9.62 prime curves (1.2.840.10045.3.1.x) and Brainpool.
 * Only asked about a key GnuTLS could not read, whose supported curves
 * (P-256, P-384, P-521) are therefore not the reason.
 */
static bool
der_odd_curve(const unsigned char *p, size_t len)
{

	return memmem(p, len, "\x06\x05\x2b\x81\x04\x00", 6) != NULL ||
	    memmem(p, len, "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01", 9) !=
	    NULL ||
	    memmem(p, len, "\x06\x09\x2b\x24\x03\x03\x02\x08\x01\x01",
	    10) != NULL;
}

/*
 * True if a certificate f found has a public key on a curve GnuTLS does
 * not support (such as P-256K): a key GnuTLS could not read is then
 * most likely of that kind, not damaged or under another password.
 */
static bool
certs_odd_curve(const struct found *f)
{
	gnutls_x509_crt_t	 crt;
	gnutls_pubkey_t		 pk;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < f->ncerts && rc != GNUTLS_E_ECC_UNSUPPORTED_CURVE;
	    i++) {
		if (crt_import(&f->certs[i], &crt) < 0)
			continue;
		if (gnutls_pubkey_init(&pk) >= 0) {
			rc = gnutls_pubkey_import_x509(pk, crt, 0);
			gnutls_pubkey_deinit(pk);
		}
		gnutls_x509_crt_deinit(crt);
	}
	return rc == GNUTLS_E_ECC_UNSUPPORTED_CURVE;
}

/*
 * Turn what was found into imp: exactly one private key, of a type we
 * support and valid; at least one certificate; one whose public key is
 * the key's, which goes first.  Consumes f.  Returns CV_OK,
 * CV_ERR_BAD_PARAMETER with *errmsg set, or CV_ERR_INTERNAL.
 */
static enum cv_err
found_finish(struct found *f, struct cv_import *imp, char **errmsg)
{
	struct cv_bytes		 pub = { NULL, 0 };
	struct cv_keyspec	 spec;
	gnutls_datum_t		 d = { NULL, 0 };
	size_t			 i;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	if (f->key_msg != NULL) {
		set_err(errmsg, certs_odd_curve(f) ? msg_key_type :
		    f->key_msg);
		goto out;
	}
	if (f->nkeys == 0) {
		set_err(errmsg, msg_no_key);
		goto out;
	}
	if (f->nkeys > 1) {
		set_err(errmsg, msg_many_keys);
		goto out;
	}
	if (f->ncerts == 0) {
		set_err(errmsg, msg_no_cert);
		goto out;
	}
	if ((rc = gnutls_x509_privkey_verify_params(f->key)) < 0) {
		log_warnx("imported private key not valid: %s",
		    gnutls_strerror(rc));
		set_err(errmsg, msg_key_invalid);
		goto out;
	}
	if ((rc = gnutls_x509_privkey_export2_pkcs8(f->key, GNUTLS_X509_FMT_DER,
	    NULL, GNUTLS_PKCS_PLAIN, &d)) < 0) {
		log_error("could not export imported private key: %s",
		    gnutls_strerror(rc));
		er = CV_ERR_INTERNAL;
		goto out;
	}
	crypto_datum_move(&d, &imp->key);
	if ((er = crypto_key_public(&imp->key, &pub)) != CV_OK)
		goto out;
	if (crypto_key_spec(&pub, &spec) != CV_OK) {
		set_err(errmsg, msg_key_type);
		er = CV_ERR_BAD_PARAMETER;
		goto out;
	}
	for (i = 0; i < f->ncerts; i++)
		if (crypto_x509_key_matches(&f->certs[i], &pub))
			break;
	if (i == f->ncerts) {
		set_err(errmsg, msg_mismatch);
		er = CV_ERR_BAD_PARAMETER;
		goto out;
	}
	imp->certs = f->certs;
	imp->ncerts = f->ncerts;
	f->certs = NULL;
	f->ncerts = 0;
	er = order_from_leaf(imp, i);
out:
	cv_bytes_free(&pub);
	found_free(f);
	return er;
}

/*
 * Read every bag of p12 into f, decrypting with pwd (NULL: the "null"
 * password, distinct from "").  A key that cannot be read is noted in f
 * with key_msg: msg_key_bad if verified says the MAC proved pwd right,
 * else msg_p12_pwd (GnuTLS reports a key it cannot parse after
 * decryption as a decryption failure).  Return 0, or the GnuTLS error of
 * the step that failed with *step naming it ("bag", "certificate").
 */
static int
p12_walk(gnutls_pkcs12_t p12, const char *pwd, bool verified, struct found *f,
    const char **step)
{
	gnutls_pkcs12_bag_t	 bag = NULL;
	gnutls_x509_privkey_t	 xkey;
	gnutls_datum_t		 data;
	int			 rc, idx, i, n, type;

	*step = "bag";
	for (idx = 0; ; idx++) {
		if ((rc = gnutls_pkcs12_bag_init(&bag)) < 0) {
			bag = NULL;
			goto out;
		}
		rc = gnutls_pkcs12_get_bag(p12, idx, bag);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0 || (rc = gnutls_pkcs12_bag_get_type(bag, 0)) < 0)
			goto out;
		if (rc == GNUTLS_BAG_ENCRYPTED && !kdf_take(f, bag_iter(bag))) {
			rc = GNUTLS_E_CONSTRAINT_ERROR;
			goto out;
		}
		if (rc == GNUTLS_BAG_ENCRYPTED &&
		    (rc = gnutls_pkcs12_bag_decrypt(bag, pwd)) < 0)
			goto out;
		if ((n = rc = gnutls_pkcs12_bag_get_count(bag)) < 0)
			goto out;
		for (i = 0; i < n; i++) {
			if ((type = rc = gnutls_pkcs12_bag_get_type(bag,
			    (unsigned)i)) < 0 ||
			    (rc = gnutls_pkcs12_bag_get_data(bag, (unsigned)i,
			    &data)) < 0)
				goto out;
			switch (type) {
			case GNUTLS_BAG_PKCS8_KEY:
			case GNUTLS_BAG_PKCS8_ENCRYPTED_KEY:
				if (type == GNUTLS_BAG_PKCS8_ENCRYPTED_KEY &&
				    !kdf_take(f, pkcs8_iter(&data,
				    GNUTLS_X509_FMT_DER))) {
					rc = GNUTLS_E_CONSTRAINT_ERROR;
					goto out;
				}
				if ((rc = gnutls_x509_privkey_init(&xkey)) < 0)
					goto out;
				if (type == GNUTLS_BAG_PKCS8_KEY)
					rc = gnutls_x509_privkey_import_pkcs8(
					    xkey, &data, GNUTLS_X509_FMT_DER,
					    NULL, GNUTLS_PKCS_PLAIN);
				else
					rc = gnutls_x509_privkey_import_pkcs8(
					    xkey, &data, GNUTLS_X509_FMT_DER,
					    pwd, pwd == NULL ?
					    GNUTLS_PKCS_NULL_PASSWORD : 0);
				if (rc >= 0) {
					found_add_key(f, xkey);
					break;
				}
				gnutls_x509_privkey_deinit(xkey);
				log_warnx("PKCS#12 key not read: %s",
				    gnutls_strerror(rc));
				if (f->key_msg != NULL)
					break;
				if (type == GNUTLS_BAG_PKCS8_KEY)
					f->key_msg = der_odd_curve(data.data,
					    data.size) ? msg_key_type :
					    msg_key_bad;
				else
					f->key_msg = verified ? msg_key_bad :
					    msg_p12_pwd;
				break;
			case GNUTLS_BAG_CERTIFICATE:
				if (!found_add_cert(f, data.data, data.size)) {
					*step = "certificate";
					rc = GNUTLS_E_CERTIFICATE_ERROR;
					goto out;
				}
				break;
			default:
				/* CRLs, secrets, nested encrypted bags */
				break;
			}
		}
		gnutls_pkcs12_bag_deinit(bag);
		bag = NULL;
	}
	rc = 0;
out:
	if (bag != NULL)
		gnutls_pkcs12_bag_deinit(bag);
	return rc;
}

/* True if rc says GnuTLS does not know an algorithm. */
static bool
unknown_algorithm(int rc)
{

	return rc == GNUTLS_E_UNKNOWN_CIPHER_TYPE ||
	    rc == GNUTLS_E_UNKNOWN_HASH_ALGORITHM ||
	    rc == GNUTLS_E_UNKNOWN_ALGORITHM ||
	    rc == GNUTLS_E_UNKNOWN_PK_ALGORITHM ||
	    rc == GNUTLS_E_UNKNOWN_PKCS_CONTENT_TYPE ||
	    rc == GNUTLS_E_INSUFFICIENT_SECURITY;
}

/*
 * Import a DER PKCS#12 file: check its MAC (if it has one) with pwd, or,
 * if pwd is NULL or empty, with "" and then the NULL password; read its
 * bags with the password that verified; then found_finish().  Returns as
 * crypto_import_parse.
 */
static enum cv_err
import_p12(const struct cv_bytes *der, const char *pwd, struct cv_import *imp,
    char **errmsg)
{
	gnutls_pkcs12_t		 p12 = NULL;
	gnutls_datum_t		 d;
	char			*mac_oid = NULL;
	unsigned		 mac_iter = 0;
	struct found		 f;
	const char		*cands[2], *step = "";
	size_t			 ncands, i;
	unsigned		 mac;
	bool			 has_mac;
	int			 rc;

	memset(&f, 0, sizeof(f));
	if (pwd != NULL && pwd[0] != '\0') {
		cands[0] = pwd;
		ncands = 1;
	} else {
		cands[0] = "";
		cands[1] = NULL;
		ncands = 2;
	}
	(void)datum_of(der, &d);
	if ((rc = gnutls_pkcs12_init(&p12)) < 0) {
		log_error("could not import PKCS#12: %s", gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	if ((rc = gnutls_pkcs12_import(p12, &d, GNUTLS_X509_FMT_DER, 0)) < 0) {
		log_warnx("not a PKCS#12 file: %s", gnutls_strerror(rc));
		gnutls_pkcs12_deinit(p12);
		return CV_ERR_NOT_FOUND;	/* the caller's cue: not PFX */
	}

	/*
	 * The MAC's OID is asked for only to be freed: GnuTLS 3.7 leaks it
	 * when the algorithm is unknown and nobody takes it (found by
	 * tests/fuzz/fuzz_import).
	 */
	rc = gnutls_pkcs12_mac_info(p12, &mac, NULL, NULL, &mac_iter,
	    &mac_oid);
	gnutls_free(mac_oid);
	has_mac = rc != GNUTLS_E_INVALID_REQUEST;
	/* Each password tried costs the MAC's iterations. */
	if (has_mac && rc >= 0 && !kdf_take(&f, mac_iter * (unsigned)ncands)) {
		log_warnx("PKCS#12 MAC asks for %u iterations", mac_iter);
		set_err(errmsg, msg_kdf);
		goto fail;
	}
	if (has_mac && rc < 0) {
		log_warnx("PKCS#12 MAC not supported: %s",
		    gnutls_strerror(rc));
		set_err(errmsg, unknown_algorithm(rc) ? msg_p12_alg :
		    msg_p12_bad);
		goto fail;
	}
	if (has_mac) {
		for (i = 0; i < ncands; i++)
			if ((rc = gnutls_pkcs12_verify_mac(p12,
			    cands[i])) >= 0)
				break;
		if (i == ncands) {
			log_warnx("PKCS#12 MAC not verified: %s",
			    gnutls_strerror(rc));
			set_err(errmsg, unknown_algorithm(rc) ? msg_p12_alg :
			    msg_p12_pwd);
			goto fail;
		}
		cands[0] = cands[i];
		ncands = 1;
	}
	/* Without a MAC, the password that decrypts is the right one. */
	for (i = 0; i < ncands; i++) {
		found_free(&f);
		rc = p12_walk(p12, cands[i], has_mac, &f, &step);
		if ((rc >= 0 && f.key_msg == NULL) || unknown_algorithm(rc))
			break;
	}
	if (rc < 0) {
		log_warnx("PKCS#12 %s not read: %s", step,
		    gnutls_strerror(rc));
		if (rc == GNUTLS_E_CONSTRAINT_ERROR)
			set_err(errmsg, msg_kdf);
		else if (unknown_algorithm(rc))
			set_err(errmsg, msg_p12_alg);
		else if (strcmp(step, "certificate") == 0)
			set_err(errmsg, msg_cert_bad);
		else if (!has_mac)
			set_err(errmsg, msg_p12_pwd);
		else
			set_err(errmsg, msg_p12_bad);
		goto fail;
	}
	gnutls_pkcs12_deinit(p12);
	return found_finish(&f, imp, errmsg);
fail:
	found_free(&f);
	gnutls_pkcs12_deinit(p12);
	return CV_ERR_BAD_PARAMETER;
}

/*
 * Find the next PEM block in text from *pos: on return *begin and *end
 * delimit it (from "-----BEGIN" to after its END line's dashes), *label
 * and *labellen name it, and *pos is past it.  Returns 1 if a block was
 * found, 0 if there are no more, -1 if a BEGIN line has no END line.
 */
static int
pem_next(const char *text, size_t *pos, size_t *begin, size_t *end,
    const char **label, size_t *labellen)
{
	const char	*p, *lab, *lend, *e;
	char		*endline;
	size_t		 n;

	if ((p = strstr(text + *pos, "-----BEGIN ")) == NULL)
		return 0;
	lab = p + 11;
	if ((lend = strstr(lab, "-----")) == NULL ||
	    memchr(lab, '\n', (size_t)(lend - lab)) != NULL)
		return -1;
	n = (size_t)(lend - lab);
	endline = cv_asprintf("-----END %.*s-----", (int)n, lab);
	e = strstr(lend + 5, endline);
	free(endline);
	if (e == NULL)
		return -1;
	*begin = (size_t)(p - text);
	*end = (size_t)(e - text) + 9 + n + 5;
	*label = lab;
	*labellen = n;
	*pos = *end;
	return 1;
}

/* True if the labellen bytes at label end in "PRIVATE KEY". */
static bool
label_is_key(const char *label, size_t labellen)
{

	return labellen >= 11 &&
	    memcmp(label + labellen - 11, "PRIVATE KEY", 11) == 0;
}

/* True if the labellen bytes at label name a certificate. */
static bool
label_is_cert(const char *label, size_t labellen)
{

	return (labellen == 11 && memcmp(label, "CERTIFICATE", 11) == 0) ||
	    (labellen == 16 && memcmp(label, "X509 CERTIFICATE", 16) == 0);
}

/*
 * Import one PEM private key block (len bytes at block, labelled label)
 * with pwd into f.  A key that cannot be read is noted in f with key_msg:
 * a wrong or missing password if it is encrypted, an unsupported type if
 * it names a curve we do not have, else unreadable.  Returns CV_OK or
 * CV_ERR_INTERNAL.
 */
static enum cv_err
pem_key(const char *block, size_t len, const char *label, size_t labellen,
    const char *pwd, struct found *f)
{
	gnutls_x509_privkey_t	 xkey = NULL;
	gnutls_datum_t		 d, der = { NULL, 0 };
	char			*lab;
	bool			 encrypted;
	int			 rc;

	/* PKCS#8 "ENCRYPTED PRIVATE KEY", or OpenSSL's "Proc-Type: 4,..." */
	encrypted = strncmp(label, "ENCRYPTED ", 10) == 0 ||
	    memmem(block, len, "Proc-Type:", 10) != NULL;
	d.data = (unsigned char *)block;
	d.size = (unsigned)len;
	if ((rc = gnutls_x509_privkey_init(&xkey)) < 0) {
		log_error("could not import private key: %s",
		    gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	if (encrypted && (pwd == NULL || pwd[0] == '\0'))
		rc = GNUTLS_E_DECRYPTION_FAILED;
	else if (encrypted && !kdf_take(f, pkcs8_iter(&d,
	    GNUTLS_X509_FMT_PEM))) {
		gnutls_x509_privkey_deinit(xkey);
		log_warnx("imported private key asks for too many "
		    "key derivation iterations");
		return CV_OK;
	} else
		rc = gnutls_x509_privkey_import2(xkey, &d,
		    GNUTLS_X509_FMT_PEM, encrypted ? pwd : NULL, 0);
	if (rc >= 0) {
		found_add_key(f, xkey);
		return CV_OK;
	}
	gnutls_x509_privkey_deinit(xkey);
	log_warnx("imported private key not read: %s", gnutls_strerror(rc));
	if (f->key_msg != NULL)
		return CV_OK;
	if (encrypted) {
		f->key_msg = unknown_algorithm(rc) ? msg_key_bad : msg_key_pwd;
		return CV_OK;
	}
	f->key_msg = msg_key_bad;
	lab = cv_strndup(label, labellen);
	if (gnutls_pem_base64_decode2(lab, &d, &der) >= 0 &&
	    der_odd_curve(der.data, der.size))
		f->key_msg = msg_key_type;
	free(lab);
	datum_wipe(&der);
	return CV_OK;
}

/*
 * Import PEM text: every private key block (PKCS#8, encrypted PKCS#8,
 * PKCS#1, SEC1, OpenSSL-encrypted) and every CERTIFICATE block, in any
 * order, other text and blocks ignored; then found_finish().  Returns as
 * crypto_import_parse, or CV_ERR_NOT_FOUND (no message) if text holds no
 * PEM block at all.
 */
static enum cv_err
import_pem(const char *text, const char *pwd, struct cv_import *imp,
    char **errmsg)
{
	struct found		 f;
	gnutls_datum_t		 in, der = { NULL, 0 };
	const char		*label;
	char			*lab;
	size_t			 pos = 0, begin, end, labellen;
	unsigned		 nblocks = 0;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	memset(&f, 0, sizeof(f));
	while ((rc = pem_next(text, &pos, &begin, &end, &label,
	    &labellen)) > 0) {
		nblocks++;
		if (end - begin > UINT32_MAX) {
			rc = -1;
			break;
		}
		if (label_is_key(label, labellen)) {
			if ((er = pem_key(text + begin, end - begin, label,
			    labellen, pwd, &f)) != CV_OK)
				goto fail;
			continue;
		}
		if (!label_is_cert(label, labellen)) {
			log_debug("PEM block \"%.*s\" ignored",
			    (int)(labellen > 40 ? 40 : labellen), label);
			continue;
		}
		lab = cv_strndup(label, labellen);
		in.data = (unsigned char *)text + begin;
		in.size = (unsigned)(end - begin);
		rc = gnutls_pem_base64_decode2(lab, &in, &der);
		free(lab);
		if (rc < 0 || !found_add_cert(&f, der.data, der.size)) {
			if (rc < 0)
				log_warnx("imported certificate not decoded: "
				    "%s", gnutls_strerror(rc));
			gnutls_free(der.data);
			set_err(errmsg, msg_cert_bad);
			er = CV_ERR_BAD_PARAMETER;
			goto fail;
		}
		gnutls_free(der.data);
		der.data = NULL;
	}
	if (rc < 0) {
		set_err(errmsg, msg_pem_bad);
		er = CV_ERR_BAD_PARAMETER;
		goto fail;
	}
	if (nblocks == 0) {
		er = CV_ERR_NOT_FOUND;
		goto fail;
	}
	return found_finish(&f, imp, errmsg);
fail:
	found_free(&f);
	return er;
}

/* True if len bytes at s are printable ASCII or whitespace. */
static bool
is_text(const unsigned char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\r' &&
		    s[i] != '\n' && s[i] != '\t')
			return false;
	return len > 0;
}

/*
 * Parse certificate data as Key Vault's import carries it in `value`:
 * PEM text (any "-----BEGIN" in it makes it PEM) or base64 of a PKCS#12
 * (PFX) file (base64 of PEM text is taken too).  pwd (NULL or "" when
 * none) decrypts the PKCS#12 file or an encrypted PEM key; pem_hint says
 * the policy's content type is application/x-pem-file, which only
 * changes the message when the data is neither.  PKCS#12: legacy
 * (RC2-40/3DES, SHA-1 MAC) and modern (PBES2 AES, SHA-256 MAC)
 * encryption, or none; PEM: one private key as PKCS#8, encrypted PKCS#8,
 * PKCS#1 or SEC1, and CERTIFICATE blocks in any order.
 *
 * On success imp holds the key as unencrypted PKCS#8 DER and the
 * certificates as DER, the one whose public key is the key's first, then
 * its issuers as far as present, then any others; the caller releases it
 * with cv_import_free.  Returns CV_OK, CV_ERR_BAD_PARAMETER with *errmsg
 * a new client-facing message (caller frees; errmsg may be NULL), or
 * CV_ERR_INTERNAL (logged).  imp is empty and *errmsg NULL unless set so.
 * Key material is never logged.
 */
enum cv_err
crypto_import_parse(const char *value, const char *pwd, bool pem_hint,
    struct cv_import *imp, char **errmsg)
{
	struct cv_bytes	 der = { NULL, 0 };
	char		*text = NULL;
	enum cv_err	 er = CV_ERR_NOT_FOUND;

	memset(imp, 0, sizeof(*imp));
	if (errmsg != NULL)
		*errmsg = NULL;
	if (value == NULL)
		value = "";
	if (strstr(value, "-----BEGIN") != NULL)
		er = import_pem(value, pwd, imp, errmsg);
	else if (crypto_b64_decode(value, strlen(value), false,
	    &der) == CV_OK && der.len > 0) {
		if (der.data[0] == 0x30)
			er = import_p12(&der, pwd, imp, errmsg);
		else if (is_text(der.data, der.len)) {
			text = cv_strndup((const char *)der.data, der.len);
			if (strstr(text, "-----BEGIN") != NULL)
				er = import_pem(text, pwd, imp, errmsg);
		}
	}
	if (er == CV_ERR_NOT_FOUND) {
		set_err(errmsg, pem_hint ? msg_not_pem : msg_neither);
		er = CV_ERR_BAD_PARAMETER;
	}
	if (er != CV_OK) {
		cv_import_free(imp);
		if (er != CV_ERR_BAD_PARAMETER && errmsg != NULL) {
			free(*errmsg);
			*errmsg = NULL;
		}
	}
	secret_free(text);
	cv_bytes_free(&der);
	return er;
}

/* Release what crypto_import_parse filled and empty imp; accepts NULL. */
void
cv_import_free(struct cv_import *imp)
{
	size_t	 i;

	if (imp == NULL)
		return;
	cv_bytes_free(&imp->key);
	for (i = 0; i < imp->ncerts; i++)
		cv_bytes_free(&imp->certs[i]);
	free(imp->certs);
	memset(imp, 0, sizeof(*imp));
}

/* The cv_curve of a GnuTLS curve, CV_CURVE_NONE if we have none. */
static enum cv_curve
curve_of(gnutls_ecc_curve_t c)
{
	size_t	 i;

	for (i = CV_CURVE_NONE + 1; i < CV_CURVE__MAX; i++)
		if (curves[i].curve == c)
			return (enum cv_curve)i;
	return CV_CURVE_NONE;
}

/*
 * What kind of key the SubjectPublicKeyInfo DER pub_spki is: RSA with
 * the bits of its modulus, or EC on P-256, P-384 or P-521 (bits 256,
 * 384, 521).  Returns CV_OK, or CV_ERR_BAD_PARAMETER (logged) for other
 * keys (RSA-PSS, DSA, EdDSA, other curves) or bytes that are no key;
 * spec is zeroed unless CV_OK.
 */
enum cv_err
crypto_key_spec(const struct cv_bytes *pub_spki, struct cv_keyspec *spec)
{
	gnutls_pubkey_t		 pk = NULL;
	gnutls_ecc_curve_t	 c;
	unsigned		 bits = 0;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	memset(spec, 0, sizeof(*spec));
	if ((rc = pubkey_import(pub_spki, &pk)) < 0) {
		log_warnx("not a public key: %s", gnutls_strerror(rc));
		return CV_ERR_BAD_PARAMETER;
	}
	switch (gnutls_pubkey_get_pk_algorithm(pk, &bits)) {
	case GNUTLS_PK_RSA:
		spec->kty = CV_KTY_RSA;
		spec->bits = bits;
		spec->curve = CV_CURVE_NONE;
		er = CV_OK;
		break;
	case GNUTLS_PK_ECDSA:
		if (gnutls_pubkey_export_ecc_raw2(pk, &c, NULL, NULL, 0) < 0 ||
		    curve_of(c) == CV_CURVE_NONE)
			break;
		spec->kty = CV_KTY_EC;
		spec->curve = curve_of(c);
		spec->bits = curves[spec->curve].bits;
		er = CV_OK;
		break;
	default:
		break;
	}
	if (er != CV_OK)
		log_warnx("unsupported key type");
	gnutls_pubkey_deinit(pk);
	return er;
}

/* Append a copy of len bytes at s, as a string, to l. */
static void
strlist_add(struct cv_strlist *l, const char *s, size_t len)
{

	l->v = cv_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = cv_strndup(s, len);
}

/*
 * Read the subjectAltName extension of crt into req's lists: DNS names,
 * emails, UPNs, URIs and IP addresses (as text); other kinds are
 * skipped.  Returns the GnuTLS result (absent extension: 0).
 */
static int
describe_sans(gnutls_x509_crt_t crt, struct cv_x509_req *req)
{
	gnutls_subject_alt_names_t	 sans = NULL;
	gnutls_datum_t			 ext = { NULL, 0 }, san, oid;
	gnutls_datum_t			 virt = { NULL, 0 };
	unsigned			 critical, type, vtype, i;
	char				 ip[INET6_ADDRSTRLEN];
	int				 rc;

	rc = gnutls_x509_crt_get_extension_by_oid2(crt, OID_SAN, 0, &ext,
	    &critical);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (rc < 0 ||
	    (rc = gnutls_subject_alt_names_init(&sans)) < 0 ||
	    (rc = gnutls_x509_ext_import_subject_alt_names(&ext, sans,
	    0)) < 0)
		goto out;
	for (i = 0; ; i++) {
		rc = gnutls_subject_alt_names_get(sans, i, &type, &san, &oid);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			goto out;
		if (type != GNUTLS_SAN_IPADDRESS && type != GNUTLS_SAN_OTHERNAME &&
		    memchr(san.data, '\0', san.size) != NULL)
			continue;	/* a NUL in a name: not text */
		switch (type) {
		case GNUTLS_SAN_DNSNAME:
			strlist_add(&req->dns_names, (char *)san.data,
			    san.size);
			break;
		case GNUTLS_SAN_RFC822NAME:
			strlist_add(&req->emails, (char *)san.data, san.size);
			break;
		case GNUTLS_SAN_URI:
			strlist_add(&req->uris, (char *)san.data, san.size);
			break;
		case GNUTLS_SAN_IPADDRESS:
			if ((san.size == 4 && inet_ntop(AF_INET, san.data, ip,
			    sizeof(ip)) != NULL) ||
			    (san.size == 16 && inet_ntop(AF_INET6, san.data,
			    ip, sizeof(ip)) != NULL))
				strlist_add(&req->ips, ip, strlen(ip));
			break;
		case GNUTLS_SAN_OTHERNAME:
			if (gnutls_x509_othername_to_virtual((char *)oid.data,
			    &san, &vtype, &virt) < 0)
				break;
			if (vtype == GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL &&
			    memchr(virt.data, '\0', virt.size) == NULL)
				strlist_add(&req->upns, (char *)virt.data,
				    virt.size);
			gnutls_free(virt.data);
			virt.data = NULL;
			break;
		default:
			break;
		}
	}
	rc = 0;
out:
	if (sans != NULL)
		gnutls_subject_alt_names_deinit(sans);
	gnutls_free(ext.data);
	return rc;
}

/*
 * Months from nbf to exp: whole calendar months (a month from the 31st
 * ends on the last day of a shorter month), plus one for a remainder of
 * more than a day.  The day of slack keeps a year that Key Vault
 * backdates by ten minutes at 12; Key Vault's own example (29 April 2015
 * to 31 December 2039) gives 297.  At least 1.
 */
static unsigned
lifetime_months(time_t nbf, time_t exp)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm	 a, t;
	time_t		 at;
	long		 months;
	int		 y, mon, last;

	if (exp <= nbf || gmtime_r(&nbf, &a) == NULL ||
	    gmtime_r(&exp, &t) == NULL)
		return 1;
	months = (long)(t.tm_year - a.tm_year) * 12 + (t.tm_mon - a.tm_mon);
	for (;; months--) {
		t = a;
		y = a.tm_year + (int)((a.tm_mon + months) / 12);
		mon = (int)((a.tm_mon + months) % 12);
		last = mdays[mon] + (mon == 1 && ((y + 1900) % 4 == 0 &&
		    ((y + 1900) % 100 != 0 || (y + 1900) % 400 == 0)));
		t.tm_year = y;
		t.tm_mon = mon;
		if (t.tm_mday > last)
			t.tm_mday = last;
		if ((at = timegm(&t)) <= exp || months <= 0)
			break;
	}
	if (months < 0)
		months = 0;
	if (exp - at > DAY)
		months++;
	return months < 1 ? 1 : months > UINT32_MAX ? UINT32_MAX :
	    (unsigned)months;
}

/*
 * Describe the certificate cert_der (DER) as a Key Vault policy derived
 * from it would (keyvault-certificates-api.md 7.2): subject (RFC 4514),
 * subjectAltNames (DNS names, emails, UPNs, URIs, IP addresses as text),
 * key usage (0 without the extension), extended key usage OIDs (none
 * without the extension), basic constraints' CA flag, and in
 * *validity_months its lifetime in months rounded up (see
 * lifetime_months).  The caller releases req with cv_x509_req_free.
 * Returns CV_OK, CV_ERR_BAD_PARAMETER if cert_der is not a certificate,
 * or CV_ERR_INTERNAL (logged); req is empty unless CV_OK.
 */
enum cv_err
crypto_x509_describe(const struct cv_bytes *cert_der, struct cv_x509_req *req,
    unsigned *validity_months)
{
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	char			 oid[256];
	size_t			 len, i;
	unsigned		 usage, critical, ca;
	time_t			 nbf, exp;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	memset(req, 0, sizeof(*req));
	*validity_months = 0;
	if ((rc = crt_import(cert_der, &crt)) < 0) {
		log_warnx("not a certificate: %s", gnutls_strerror(rc));
		return CV_ERR_BAD_PARAMETER;
	}
	/* Flags 0: RFC 4514 order and escaping. */
	rc = gnutls_x509_crt_get_dn3(crt, &d, 0);
	if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		goto out;
	req->subject = d.data != NULL ?
	    cv_strndup((const char *)d.data, d.size) : cv_strdup("");
	gnutls_free(d.data);
	d.data = NULL;
	if ((rc = describe_sans(crt, req)) < 0)
		goto out;

	rc = gnutls_x509_crt_get_key_usage(crt, &usage, &critical);
	if (rc >= 0) {
		for (i = 0; i < sizeof(ku_bits) / sizeof(ku_bits[0]); i++)
			if (usage & ku_bits[i])
				req->key_usage |= 1u << i;
	} else if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		goto out;
	for (i = 0; ; i++) {
		len = sizeof(oid);
		rc = gnutls_x509_crt_get_key_purpose_oid(crt, (unsigned)i, oid,
		    &len, NULL);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			goto out;
		strlist_add(&req->ekus, oid, strlen(oid));
	}
	rc = gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, NULL);
	if (rc >= 0)
		req->ca = ca != 0;
	else if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		goto out;

	nbf = gnutls_x509_crt_get_activation_time(crt);
	exp = gnutls_x509_crt_get_expiration_time(crt);
	if (nbf == (time_t)-1 || exp == (time_t)-1) {
		rc = GNUTLS_E_CERTIFICATE_ERROR;
		goto out;
	}
	*validity_months = lifetime_months(nbf, exp);
	rc = 0;
	er = CV_OK;
out:
	if (rc < 0)
		log_error("could not describe certificate: %s",
		    gnutls_strerror(rc));
	if (er != CV_OK)
		cv_x509_req_free(req);
	gnutls_x509_crt_deinit(crt);
	return er;
}

/*
 * Release the strings of a cv_x509_req filled by crypto_x509_describe
 * and empty it; accepts NULL.  Not for requests whose strings someone
 * else owns.
 */
void
cv_x509_req_free(struct cv_x509_req *req)
{

	if (req == NULL)
		return;
	free((char *)req->subject);
	cv_strlist_free(&req->dns_names);
	cv_strlist_free(&req->emails);
	cv_strlist_free(&req->upns);
	cv_strlist_free(&req->uris);
	cv_strlist_free(&req->ips);
	cv_strlist_free(&req->ekus);
	memset(req, 0, sizeof(*req));
}

/*
 * Make a PKCS#12 file without password of the key key_pkcs8 (unencrypted
 * PKCS#8 DER) and the n certificates certs (DER, leaf first), as Key
 * Vault's secret of a certificate returns it: one unencrypted bag with
 * the certificates, one with the key as a plain PKCS#8 KeyBag, the leaf
 * and the key sharing a localKeyId (the SHA-1 key id, as certtool and
 * OpenSSL set it), and an HMAC-SHA-256 MAC under the empty password.
 * OpenSSL 3 (`-passin pass:`), GnuTLS (`--password ''`) and Node.js
 * (`pfx` without passphrase) read it.  On success out holds the DER
 * (caller frees with cv_bytes_free).  Returns CV_OK or CV_ERR_INTERNAL
 * (logged); out is empty unless CV_OK.
 */
enum cv_err
crypto_export_pkcs12(const struct cv_bytes *key_pkcs8,
    const struct cv_bytes *certs, size_t n, struct cv_bytes *out)
{
	gnutls_x509_privkey_t	 xkey = NULL;
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_pkcs12_t		 p12 = NULL;
	gnutls_pkcs12_bag_t	 cbag = NULL, kbag = NULL;
	gnutls_datum_t		 d = { NULL, 0 }, id;
	unsigned char		 keyid[KEYID_MAX];
	size_t			 idlen = sizeof(keyid), i;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc, idx;

	memset(out, 0, sizeof(*out));
	if (n == 0 || certs == NULL) {
		log_error("PKCS#12 export without a certificate");
		return CV_ERR_INTERNAL;
	}
	if ((rc = x509key_import(key_pkcs8, &xkey)) < 0 ||
	    (rc = gnutls_x509_privkey_get_key_id(xkey, GNUTLS_KEYID_USE_SHA1,
	    keyid, &idlen)) < 0)
		goto out;
	id.data = keyid;
	id.size = (unsigned)idlen;
	if ((rc = gnutls_pkcs12_init(&p12)) < 0 ||
	    (rc = gnutls_pkcs12_bag_init(&cbag)) < 0 ||
	    (rc = gnutls_pkcs12_bag_init(&kbag)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = crt_import(&certs[i], &crt)) < 0 ||
		    (rc = idx = gnutls_pkcs12_bag_set_crt(cbag, crt)) < 0)
			goto out;
		gnutls_x509_crt_deinit(crt);
		crt = NULL;
		if (i == 0 && (rc = gnutls_pkcs12_bag_set_key_id(cbag,
		    (unsigned)idx, &id)) < 0)
			goto out;
	}
	if ((rc = idx = gnutls_pkcs12_bag_set_privkey(kbag, xkey, NULL,
	    GNUTLS_PKCS_PLAIN)) < 0 ||
	    (rc = gnutls_pkcs12_bag_set_key_id(kbag, (unsigned)idx,
	    &id)) < 0 ||
	    (rc = gnutls_pkcs12_set_bag(p12, cbag)) < 0 ||
	    (rc = gnutls_pkcs12_set_bag(p12, kbag)) < 0)
		goto out;
#ifdef HAVE_GNUTLS_PKCS12_GENERATE_MAC3
	/* Flags 0: the classic PKCS#12 MAC, not PBMAC1 (RFC 9579). */
	if ((rc = gnutls_pkcs12_generate_mac3(p12, GNUTLS_MAC_SHA256, "",
	    0)) < 0)
		goto out;
#else
	if ((rc = gnutls_pkcs12_generate_mac2(p12, GNUTLS_MAC_SHA256,
	    "")) < 0)
		goto out;
#endif
	if ((rc = gnutls_pkcs12_export2(p12, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, out);
	er = CV_OK;
out:
	if (er != CV_OK)
		log_error("could not make PKCS#12 file: %s",
		    gnutls_strerror(rc));
	datum_wipe(&d);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (kbag != NULL)
		gnutls_pkcs12_bag_deinit(kbag);
	if (cbag != NULL)
		gnutls_pkcs12_bag_deinit(cbag);
	if (p12 != NULL)
		gnutls_pkcs12_deinit(p12);
	if (xkey != NULL)
		gnutls_x509_privkey_deinit(xkey);
	return er;
}

/*
 * Append the PEM armour of der under label to the string *buf of *len
 * bytes (reallocated).  Returns the GnuTLS result.
 */
static int
pem_append(char **buf, size_t *len, const char *label,
    const struct cv_bytes *der)
{
	gnutls_datum_t	 in, pem = { NULL, 0 };
	int		 rc;

	if (!datum_of(der, &in))
		return GNUTLS_E_INVALID_REQUEST;
	if ((rc = gnutls_pem_base64_encode2(label, &in, &pem)) < 0)
		return rc;
	*buf = cv_realloc(*buf, *len + pem.size + 1);
	memcpy(*buf + *len, pem.data, pem.size);
	*len += pem.size;
	(*buf)[*len] = '\0';
	datum_wipe(&pem);
	return 0;
}

/*
 * Make the PEM text of Key Vault's PEM secret: the key key_pkcs8
 * (unencrypted PKCS#8 DER) as "-----BEGIN PRIVATE KEY-----", then the n
 * certificates certs (DER) as CERTIFICATE blocks in the given order, 64
 * columns, "\n" line ends.  On success *text is a new string; it holds a
 * private key, so the caller wipes it before freeing.  Returns CV_OK or
 * CV_ERR_INTERNAL (logged); *text is NULL unless CV_OK.
 */
enum cv_err
crypto_export_pem(const struct cv_bytes *key_pkcs8,
    const struct cv_bytes *certs, size_t n, char **text)
{
	gnutls_x509_privkey_t	 xkey = NULL;
	char			*buf = NULL;
	size_t			 len = 0, i;
	int			 rc;

	*text = NULL;
	if (n == 0 || certs == NULL) {
		log_error("PEM export without a certificate");
		return CV_ERR_INTERNAL;
	}
	/* Only a key GnuTLS reads as PKCS#8 goes out under that label. */
	if ((rc = x509key_import(key_pkcs8, &xkey)) < 0)
		goto fail;
	gnutls_x509_privkey_deinit(xkey);
	if ((rc = pem_append(&buf, &len, "PRIVATE KEY", key_pkcs8)) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((rc = pem_append(&buf, &len, "CERTIFICATE",
		    &certs[i])) < 0)
			goto fail;
	*text = buf;
	return CV_OK;
fail:
	log_error("could not make PEM text: %s", gnutls_strerror(rc));
	secret_free(buf);
	return CV_ERR_INTERNAL;
}

/*
 * base64url (no padding) of d, left-padded with zero bytes to pad bytes
 * when d is shorter.  Returns a new string or NULL (logged) if d is
 * longer than pad (when pad is not 0).
 */
static char *
b64url_padded(const gnutls_datum_t *d, size_t pad)
{
	unsigned char	*buf;
	char		*s;

	if (pad == 0 || d->size == pad)
		return crypto_b64_encode(d->data, d->size, true);
	if (d->size > pad) {
		log_error("EC coordinate longer than its curve");
		return NULL;
	}
	buf = cv_calloc(1, pad);
	memcpy(buf + pad - d->size, d->data, d->size);
	s = crypto_b64_encode(buf, pad, true);
	free(buf);
	return s;
}

/*
 * The public key pub_spki (SubjectPublicKeyInfo DER) as a JWK: RSA with
 * n and e (big-endian, leading zero bytes stripped, RFC 7518 6.3.1), or
 * EC with crv and x, y (each padded to the curve's size, RFC 7518
 * 6.2.1.2), members base64url without padding.  The caller releases jwk
 * with cv_jwk_free.  Returns CV_OK, CV_ERR_BAD_PARAMETER for keys of
 * other types (see crypto_key_spec), or CV_ERR_INTERNAL (logged); jwk is
 * empty unless CV_OK.
 */
enum cv_err
crypto_jwk(const struct cv_bytes *pub_spki, struct cv_jwk *jwk)
{
	struct cv_keyspec	 spec;
	gnutls_pubkey_t		 pk = NULL;
	gnutls_ecc_curve_t	 c;
	gnutls_datum_t		 a = { NULL, 0 }, b = { NULL, 0 };
	enum cv_err		 er;
	int			 rc;

	memset(jwk, 0, sizeof(*jwk));
	if ((er = crypto_key_spec(pub_spki, &spec)) != CV_OK)
		return er;
	er = CV_ERR_INTERNAL;
	if ((rc = pubkey_import(pub_spki, &pk)) < 0)
		goto out;
	if (spec.kty == CV_KTY_RSA) {
		if ((rc = gnutls_pubkey_export_rsa_raw2(pk, &a, &b,
		    GNUTLS_EXPORT_FLAG_NO_LZ)) < 0)
			goto out;
		jwk->kty = cv_strdup("RSA");
		jwk->n = b64url_padded(&a, 0);
		jwk->e = b64url_padded(&b, 0);
		if (jwk->n == NULL || jwk->e == NULL)
			goto out;
	} else {
		if ((rc = gnutls_pubkey_export_ecc_raw2(pk, &c, &a, &b,
		    GNUTLS_EXPORT_FLAG_NO_LZ)) < 0)
			goto out;
		jwk->kty = cv_strdup("EC");
		jwk->crv = cv_strdup(curves[spec.curve].name);
		jwk->x = b64url_padded(&a, curves[spec.curve].len);
		jwk->y = b64url_padded(&b, curves[spec.curve].len);
		if (jwk->x == NULL || jwk->y == NULL)
			goto out;
	}
	rc = 0;
	er = CV_OK;
out:
	if (rc < 0)
		log_error("could not export public key: %s",
		    gnutls_strerror(rc));
	if (er != CV_OK)
		cv_jwk_free(jwk);
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	return er;
}

/* Release the members of a JWK and empty it; accepts NULL. */
void
cv_jwk_free(struct cv_jwk *jwk)
{

	if (jwk == NULL)
		return;
	free(jwk->kty);
	free(jwk->crv);
	free(jwk->n);
	free(jwk->e);
	free(jwk->x);
	free(jwk->y);
	memset(jwk, 0, sizeof(*jwk));
}
