/*
 * certvault — X.509 certificates: self-signing, facts, merged chains,
 * and the LocalCA's own CA.
 * SPDX-License-Identifier: ISC
 *
 * Certificates cross the crypto boundary as DER.  Self-signed ones are
 * built from the re-imported CSR, so they say exactly what it says.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "certvault.h"
#include "crypto.h"
#include "crypto_int.h"
#include "log.h"

#define SERIAL_LEN	16	/* bytes; RFC 5280 allows up to 20 */
#define NBF_SKEW	600	/* seconds before "now", as Key Vault does */
#define MONTHS_MAX	1200	/* 100 years */
#define KEYID_MAX	64

static const char x5c_bad[] =
    "x5c element is not a base64-encoded X.509 certificate.";

/* Set *errmsg (if errmsg is not NULL) to a copy of msg. */
static void
set_err(char **errmsg, const char *msg)
{

	if (errmsg != NULL) {
		free(*errmsg);
		*errmsg = cv_strdup(msg);
	}
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
	if (der == NULL || der->data == NULL || der->len == 0 ||
	    der->len > UINT32_MAX)
		return GNUTLS_E_INVALID_REQUEST;
	d.data = der->data;
	d.size = (unsigned)der->len;
	if ((rc = gnutls_x509_crt_init(crt)) < 0)
		return rc;
	if ((rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
	}
	return rc;
}

/*
 * Days in validity_months, rounded to the nearest day: 365 / 12 days a
 * month, so that 12 months are exactly 365 days as in Key Vault.
 */
static unsigned
months_to_days(unsigned months)
{

	return (months * 365u * 2 + 12) / 24;
}

/*
 * Give crt a random positive serial number.  RFC 5280 4.1.2.2: positive
 * and at most 20 octets; the top byte is kept in 0x40..0x7f so the DER
 * INTEGER is exactly SERIAL_LEN octets and positive.  Returns the GnuTLS
 * result.
 */
static int
crt_set_serial(gnutls_x509_crt_t crt)
{
	unsigned char	 serial[SERIAL_LEN];
	int		 rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] = (serial[0] & 0x7f) | 0x40;
	return gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
}

/*
 * Set the subject and authority key identifiers of self-signed crt to
 * the SHA-1 key id of pub (RFC 5280 4.2.1.2).  Returns the GnuTLS result.
 */
static int
crt_set_key_ids(gnutls_x509_crt_t crt, gnutls_pubkey_t pub)
{
	unsigned char	 id[KEYID_MAX];
	size_t		 idlen = sizeof(id);
	int		 rc;

	if ((rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, id,
	    &idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0)
		return rc;
	return 0;
}

/*
 * True if the request crq is for the public key pub (same SHA-256 key
 * id); self-signing someone else's request would make a certificate
 * whose signature no key in it verifies.
 */
static bool
crq_key_is(gnutls_x509_crq_t crq, gnutls_pubkey_t pub)
{
	unsigned char	 a[KEYID_MAX], b[KEYID_MAX];
	size_t		 alen = sizeof(a), blen = sizeof(b);

	if (gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) < 0 ||
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) < 0)
		return false;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/*
 * Issue a self-signed certificate for the request csr_der (DER PKCS#10,
 * made by crypto_csr_make for priv, the unencrypted PKCS#8 DER key):
 * version 3, random 16-byte serial, valid from now - 600 s for
 * validity_months (1..1200) months of 365/12 days, rounded (12 months are
 * 365 days), issuer = subject, the request's extensions plus subject and
 * authority key ids, signed by priv with SHA-256 (SHA-384/512 for
 * P-384/P-521).  On success cert holds the DER (caller frees with
 * cv_bytes_free).  Returns CV_OK, CV_ERR_BAD_PARAMETER for a validity out
 * of range, or CV_ERR_INTERNAL (logged); cert is empty unless CV_OK.
 */
enum cv_err
crypto_x509_self_sign(const struct cv_bytes *priv,
    const struct cv_bytes *csr_der, unsigned validity_months, time_t now,
    struct cv_bytes *cert)
{
	gnutls_privkey_t	 pkey = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_x509_crq_t	 crq = NULL;
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	time_t			 exp;
	enum cv_err		 er;
	int			 rc = 0;

	memset(cert, 0, sizeof(*cert));
	if (validity_months == 0 || validity_months > MONTHS_MAX) {
		log_warnx("validity of %u months out of range",
		    validity_months);
		return CV_ERR_BAD_PARAMETER;
	}
	if (csr_der == NULL || csr_der->data == NULL || csr_der->len == 0 ||
	    csr_der->len > UINT32_MAX) {
		log_error("certificate request missing");
		return CV_ERR_INTERNAL;
	}
	if ((er = crypto_privkey_import(priv, &pkey)) != CV_OK)
		return er;
	er = CV_ERR_INTERNAL;
	exp = now + (time_t)months_to_days(validity_months) * 86400;
	d.data = csr_der->data;
	d.size = (unsigned)csr_der->len;
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 ||
	    (rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER)) < 0 ||
	    (rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, pkey, 0, 0)) < 0)
		goto out;
	d.data = NULL;
	d.size = 0;
	if (!crq_key_is(crq, pub)) {
		log_error("certificate request is not for this key");
		goto out;
	}
	/* set_crq verifies the request's signature. */
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_crq(crt, crq)) < 0 ||
	    (rc = gnutls_x509_crt_set_crq_extensions(crt, crq)) < 0 ||
	    (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = crt_set_serial(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt,
	    now - NBF_SKEW)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, exp)) < 0 ||
	    (rc = crt_set_key_ids(crt, pub)) < 0)
		goto out;
	/* Issuer crt itself: GnuTLS copies its subject as the issuer. */
	if ((rc = gnutls_x509_crt_privkey_sign(crt, crt, pkey,
	    crypto_sign_digest(pkey), 0)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, cert);
	er = CV_OK;
out:
	if (rc < 0)
		log_error("self-signed certificate not created: %s",
		    gnutls_strerror(rc));
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	gnutls_privkey_deinit(pkey);
	return er;
}

/*
 * Copy a DN GnuTLS returned into a new string (empty DN: "") and release
 * the datum.
 */
static char *
dn_take(gnutls_datum_t *d)
{
	char	*s;

	s = d->data != NULL ? cv_strndup((const char *)d->data, d->size) :
	    cv_strdup("");
	gnutls_free(d->data);
	d->data = NULL;
	d->size = 0;
	return s;
}

/*
 * Read the facts of a DER certificate into info: x5t (SHA-1 of the DER),
 * serial, validity and the subject and issuer as RFC 4514 strings.  The
 * caller releases info with cv_x509_info_free.  Returns CV_OK,
 * CV_ERR_BAD_PARAMETER if der is not a certificate, or CV_ERR_INTERNAL
 * (logged); info is empty unless CV_OK.
 */
enum cv_err
crypto_x509_info(const struct cv_bytes *der, struct cv_x509_info *info)
{
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	unsigned char		 serial[64];
	size_t			 len;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	memset(info, 0, sizeof(*info));
	if ((rc = crt_import(der, &crt)) < 0) {
		log_warnx("not a certificate: %s", gnutls_strerror(rc));
		return CV_ERR_BAD_PARAMETER;
	}
	len = sizeof(info->x5t);
	if ((rc = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA1,
	    info->x5t, &len)) < 0)
		goto out;
	len = sizeof(serial);
	if ((rc = gnutls_x509_crt_get_serial(crt, serial, &len)) < 0)
		goto out;
	info->serial.data = cv_malloc(len > 0 ? len : 1);
	memcpy(info->serial.data, serial, len);
	info->serial.len = len;
	info->not_before = gnutls_x509_crt_get_activation_time(crt);
	info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (info->not_before == (time_t)-1 || info->not_after == (time_t)-1) {
		rc = GNUTLS_E_CERTIFICATE_ERROR;
		goto out;
	}
	/* Flags 0: RFC 4514 order and escaping (not the pre-3.5.6 form). */
	rc = gnutls_x509_crt_get_dn3(crt, &d, 0);
	if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		goto out;
	info->subject = dn_take(&d);
	rc = gnutls_x509_crt_get_issuer_dn3(crt, &d, 0);
	if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		goto out;
	info->issuer = dn_take(&d);
	rc = 0;
	er = CV_OK;
out:
	if (rc < 0)
		log_error("could not read certificate: %s",
		    gnutls_strerror(rc));
	if (er != CV_OK)
		cv_x509_info_free(info);
	gnutls_x509_crt_deinit(crt);
	return er;
}

/* Release what crypto_x509_info filled and empty info; accepts NULL. */
void
cv_x509_info_free(struct cv_x509_info *info)
{

	if (info == NULL)
		return;
	cv_bytes_free(&info->serial);
	free(info->subject);
	free(info->issuer);
	memset(info, 0, sizeof(*info));
}

/*
 * Decode base64 text that may carry PEM armour: every "-----...-----"
 * marker (BEGIN/END lines, on their own lines or not) is dropped, then
 * the rest is decoded as standard base64, whitespace ignored.  Returns
 * CV_OK or CV_ERR_BAD_PARAMETER; out is empty unless CV_OK.
 */
static enum cv_err
x5c_unarmour(const char *text, size_t len, struct cv_bytes *out)
{
	const char	*end;
	char		*buf;
	size_t		 i, n;
	enum cv_err	 er;

	memset(out, 0, sizeof(*out));
	buf = cv_malloc(len + 1);
	for (i = n = 0; i < len; ) {
		if (len - i >= 5 && memcmp(text + i, "-----", 5) == 0) {
			end = memmem(text + i + 5, len - i - 5, "-----", 5);
			if (end == NULL) {
				free(buf);
				return CV_ERR_BAD_PARAMETER;
			}
			i = (size_t)(end - text) + 5;
			continue;
		}
		buf[n++] = text[i++];
	}
	er = crypto_b64_decode(buf, n, false, out);
	free(buf);
	return er;
}

/* True if b holds only printable ASCII and whitespace: text, not DER. */
static bool
is_text(const struct cv_bytes *b)
{
	size_t	 i;

	for (i = 0; i < b->len; i++)
		if ((b->data[i] < 0x20 || b->data[i] > 0x7e) &&
		    b->data[i] != '\r' && b->data[i] != '\n' &&
		    b->data[i] != '\t')
			return false;
	return b->len > 0;
}

/*
 * Decode one merge x5c element into certificate DER.  Accepted forms
 * (keyvault-certificates-api.md 7.9.4): standard base64 of DER (the
 * spec); a PEM CERTIFICATE block; base64 of PEM text, whole or without
 * its BEGIN line; base64 of base64-of-DER (the JS SDK's recipe).  A DER
 * certificate starts with a SEQUENCE tag (0x30), which base64 text never
 * does, so one decoding that does not give 0x30 is text to decode again.
 * The result must parse as one X.509 certificate.  On success der holds
 * it (caller frees with cv_bytes_free).  Returns CV_OK or
 * CV_ERR_BAD_PARAMETER with *errmsg a new client-facing message (caller
 * frees; errmsg may be NULL).
 */
enum cv_err
crypto_x509_decode_x5c(const char *element, struct cv_bytes *der,
    char **errmsg)
{
	struct cv_bytes		 once = { NULL, 0 }, out = { NULL, 0 };
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	memset(der, 0, sizeof(*der));
	if (errmsg != NULL)
		*errmsg = NULL;
	if (element == NULL)
		goto out;
	if (strstr(element, "-----") != NULL) {
		if (x5c_unarmour(element, strlen(element), &out) != CV_OK)
			goto out;
	} else {
		if (crypto_b64_decode(element, strlen(element), false,
		    &once) != CV_OK)
			goto out;
		if (once.len > 0 && once.data[0] == 0x30) {
			out = once;
			once.data = NULL;
		} else if (!is_text(&once) ||
		    x5c_unarmour((const char *)once.data, once.len,
		    &out) != CV_OK)
			goto out;
	}
	if (out.len == 0 || out.data[0] != 0x30)
		goto out;
	/* It must be one certificate, with nothing after it. */
	if ((rc = crt_import(&out, &crt)) < 0) {
		log_debug("x5c element refused: %s", gnutls_strerror(rc));
		goto out;
	}
	if ((rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d)) < 0 ||
	    d.size != out.len || memcmp(d.data, out.data, out.len) != 0) {
		log_debug("x5c element refused: trailing or re-encoded data");
		goto out;
	}
	*der = out;
	out.data = NULL;
	er = CV_OK;
out:
	if (er != CV_OK)
		set_err(errmsg, x5c_bad);
	gnutls_free(d.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	cv_bytes_free(&once);
	cv_bytes_free(&out);
	return er;
}

/*
 * True if the certificate cert_der (DER) is for the public key pub_der
 * (SubjectPublicKeyInfo DER): equal SHA-256 key ids, which GnuTLS
 * computes over its own encoding of each key.  False if they differ or
 * either does not parse (logged).
 */
bool
crypto_x509_key_matches(const struct cv_bytes *cert_der,
    const struct cv_bytes *pub_der)
{
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_datum_t		 d;
	unsigned char		 a[KEYID_MAX], b[KEYID_MAX];
	size_t			 alen = sizeof(a), blen = sizeof(b);
	bool			 match = false;
	int			 rc;

	if ((rc = crt_import(cert_der, &crt)) < 0)
		goto out;
	if (pub_der == NULL || pub_der->data == NULL ||
	    pub_der->len == 0 || pub_der->len > UINT32_MAX) {
		rc = GNUTLS_E_INVALID_REQUEST;
		goto out;
	}
	d.data = pub_der->data;
	d.size = (unsigned)pub_der->len;
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_DER)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256,
	    a, &alen)) < 0 ||
	    (rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256,
	    b, &blen)) < 0)
		goto out;
	match = alen == blen && memcmp(a, b, alen) == 0;
out:
	if (rc < 0)
		log_warnx("could not compare keys: %s", gnutls_strerror(rc));
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return match;
}

/* True if certs[i] issued some other certificate of the n. */
static bool
chain_issued_any(gnutls_x509_crt_t *certs, size_t n, size_t i)
{
	size_t	 k;

	for (k = 0; k < n; k++)
		if (k != i && gnutls_x509_crt_check_issuer(certs[k], certs[i]))
			return true;
	return false;
}

/*
 * Follow issuers from certs[start]: write start, its issuer, that one's
 * issuer, ... into idx[] and mark them in placed[].  Return how many.
 */
static size_t
chain_from(gnutls_x509_crt_t *certs, size_t n, size_t start, size_t *idx,
    bool *placed)
{
	size_t	 k, m, cur;

	memset(placed, 0, n * sizeof(*placed));
	idx[0] = cur = start;
	placed[start] = true;
	for (m = 1; m < n; m++) {
		for (k = 0; k < n; k++)
			if (!placed[k] &&
			    gnutls_x509_crt_check_issuer(certs[cur], certs[k]))
				break;
		if (k == n)
			break;
		idx[m] = cur = k;
		placed[k] = true;
	}
	return m;
}

/*
 * Order certs[] into idx[]: the leaf first, then each one's issuer while
 * one is in the set, then the rest as given.  A leaf issued none of the
 * others; of several, the one with the longest chain wins, then one that
 * is not self-issued (a root whose children are missing is no leaf),
 * then the first given: an unrelated extra certificate must not become
 * the leaf.  Return 1 if a leaf was found and idx[] filled, 0 if not.
 */
static int
chain_walk(gnutls_x509_crt_t *certs, size_t n, size_t *idx)
{
	bool	*placed;
	size_t	 i, score, best = n, bestscore = 0;

	placed = cv_calloc(n, sizeof(*placed));
	for (i = 0; i < n; i++) {
		if (chain_issued_any(certs, n, i))
			continue;
		score = 2 * chain_from(certs, n, i, idx, placed) +
		    !gnutls_x509_crt_check_issuer(certs[i], certs[i]);
		if (score > bestscore) {
			best = i;
			bestscore = score;
		}
	}
	if (best == n) {
		free(placed);
		return 0;	/* every one issued another: a loop */
	}
	i = chain_from(certs, n, best, idx, placed);
	for (best = 0; best < n; best++)
		if (!placed[best])
			idx[i++] = best;
	free(placed);
	return 1;
}

/*
 * Reorder the n certificate DERs of a merged chain in place so that
 * ders[0] is the leaf and each next one issued the one before, as far as
 * issuer names (and key ids, when present) tell; what cannot be placed
 * follows in its given order, and a set with no leaf is left as given.
 * Returns CV_OK, or CV_ERR_BAD_PARAMETER with *errmsg a new client-facing
 * message (caller frees; errmsg may be NULL) if n is 0 or an element is
 * not a certificate.
 */
enum cv_err
crypto_x509_chain_order(struct cv_bytes *ders, size_t n, char **errmsg)
{
	gnutls_x509_crt_t	*certs;
	struct cv_bytes		*tmp;
	size_t			*idx, i;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	char			*msg;

	if (errmsg != NULL)
		*errmsg = NULL;
	if (n == 0) {
		set_err(errmsg, "x5c must contain at least one certificate.");
		return CV_ERR_BAD_PARAMETER;
	}
	certs = cv_calloc(n, sizeof(*certs));
	idx = cv_calloc(n, sizeof(*idx));
	for (i = 0; i < n; i++)
		if (crt_import(&ders[i], &certs[i]) < 0) {
			msg = cv_asprintf("x5c element %zu is not an X.509 "
			    "certificate.", i);
			set_err(errmsg, msg);
			free(msg);
			goto out;
		}
	if (chain_walk(certs, n, idx)) {
		tmp = cv_calloc(n, sizeof(*tmp));
		for (i = 0; i < n; i++)
			tmp[i] = ders[idx[i]];
		memcpy(ders, tmp, n * sizeof(*tmp));
		free(tmp);
	}
	er = CV_OK;
out:
	for (i = 0; i < n; i++)
		if (certs[i] != NULL)
			gnutls_x509_crt_deinit(certs[i]);
	free(certs);
	free(idx);
	return er;
}

/*
 * LocalCA: a CA key and certificate made and kept by the vault, and
 * certificates it signs from the vault's own requests.
 */

#define CA_DAYS		3653	/* ten years */

/*
 * Make a CA: a new EC P-256 key and a self-signed version 3 certificate
 * with subject CN=cn, basic constraints CA:TRUE (critical), key usage
 * keyCertSign and cRLSign (critical), subject and authority key ids, a
 * random positive serial, valid from now - 600 s for ten years, signed
 * with SHA-256.  On success key holds the unencrypted PKCS#8 DER key and
 * cert the certificate DER; the caller frees both with cv_bytes_free.
 * Returns CV_OK or CV_ERR_INTERNAL (logged); both are empty unless CV_OK.
 */
enum cv_err
crypto_ca_make(const char *cn, time_t now, struct cv_bytes *key,
    struct cv_bytes *cert)
{
	struct cv_keyspec	 spec = { CV_KTY_EC, 256, CV_CURVE_P256 };
	struct cv_bytes		 pubder = { NULL, 0 };
	gnutls_privkey_t	 pkey = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	enum cv_err		 er;
	int			 rc = 0;

	memset(key, 0, sizeof(*key));
	memset(cert, 0, sizeof(*cert));
	if (cn == NULL || *cn == '\0' || strlen(cn) > 64) {
		log_error("CA common name missing or longer than 64");
		return CV_ERR_INTERNAL;
	}
	if ((er = crypto_key_generate(&spec, key, &pubder)) != CV_OK)
		return er;
	cv_bytes_free(&pubder);
	if ((er = crypto_privkey_import(key, &pkey)) != CV_OK)
		goto out;
	er = CV_ERR_INTERNAL;
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, pkey, 0, 0)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 ||
	    (rc = crt_set_serial(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt,
	    now - NBF_SKEW)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt,
	    now + (time_t)CA_DAYS * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (rc = crt_set_key_ids(crt, pub)) < 0 ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, crt, pkey,
	    crypto_sign_digest(pkey), 0)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, cert);
	er = CV_OK;
out:
	if (rc < 0)
		log_error("CA certificate not created: %s",
		    gnutls_strerror(rc));
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	if (er != CV_OK)
		cv_bytes_free(key);
	return er;
}

/*
 * True if the certificate crt is for the key pkey (equal SHA-256 key
 * ids): a CA key stored beside another CA's certificate would sign
 * certificates nothing verifies.
 */
static bool
crt_key_is(gnutls_x509_crt_t crt, gnutls_privkey_t pkey)
{
	gnutls_pubkey_t	 pub = NULL;
	unsigned char	 a[KEYID_MAX], b[KEYID_MAX];
	size_t		 alen = sizeof(a), blen = sizeof(b);
	bool		 same = false;

	if (gnutls_pubkey_init(&pub) < 0)
		return false;
	if (gnutls_pubkey_import_privkey(pub, pkey, 0, 0) >= 0 &&
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) >= 0 &&
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) >= 0)
		same = alen == blen && memcmp(a, b, alen) == 0;
	gnutls_pubkey_deinit(pub);
	return same;
}

/*
 * Set the key ids of crt, issued by ca from the request crq: subject key
 * id = SHA-1 key id of the request's key, authority key id = the CA's
 * subject key id (RFC 5280 4.2.1.1), or the SHA-1 id of its key if it
 * has none.  Returns the GnuTLS result.
 */
static int
crt_set_issued_key_ids(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq,
    gnutls_x509_crt_t ca)
{
	unsigned char	 id[KEYID_MAX];
	size_t		 idlen = sizeof(id);
	unsigned	 critical;
	int		 rc;

	if ((rc = gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA1, id,
	    &idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		return rc;
	idlen = sizeof(id);
	rc = gnutls_x509_crt_get_subject_key_id(ca, id, &idlen, &critical);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		idlen = sizeof(id);
		rc = gnutls_x509_crt_get_key_id(ca, GNUTLS_KEYID_USE_SHA1, id,
		    &idlen);
	}
	if (rc < 0)
		return rc;
	return gnutls_x509_crt_set_authority_key_id(crt, id, idlen);
}

/*
 * Sign the request csr_der (DER PKCS#10) with a CA: ca_key is its
 * unencrypted PKCS#8 DER key, ca_cert_der its certificate.  The
 * certificate says what the request says — subject, public key and the
 * requested extensions (SANs, key usage, EKUs, basic constraints) —
 * with a random positive serial, the CA's subject as issuer, subject key
 * id from the request's key, authority key id = the CA's subject key id,
 * valid from now - 600 s for validity_months (1..1200) months of 365/12
 * days, but never beyond the CA's own expiry.  A request without basic
 * constraints gets CA:FALSE; one asking for CA:TRUE is refused: a
 * LocalCA issues end-entity certificates only.  On success cert holds
 * the DER (caller frees with cv_bytes_free).  Returns CV_OK,
 * CV_ERR_BAD_PARAMETER for a validity out of range, a request that does
 * not verify or asks for a CA, or CV_ERR_INTERNAL (logged) when the CA
 * key or certificate cannot be used; cert is empty unless CV_OK.
 */
enum cv_err
crypto_x509_ca_sign(const struct cv_bytes *ca_key,
    const struct cv_bytes *ca_cert_der, const struct cv_bytes *csr_der,
    unsigned validity_months, time_t now, struct cv_bytes *cert)
{
	gnutls_privkey_t	 pkey = NULL;
	gnutls_x509_crt_t	 ca = NULL, crt = NULL;
	gnutls_x509_crq_t	 crq = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	unsigned		 critical, isca;
	int			 pathlen;
	time_t			 exp, ca_exp;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc = 0;

	memset(cert, 0, sizeof(*cert));
	if (validity_months == 0 || validity_months > MONTHS_MAX) {
		log_warnx("validity of %u months out of range",
		    validity_months);
		return CV_ERR_BAD_PARAMETER;
	}
	if (csr_der == NULL || csr_der->data == NULL || csr_der->len == 0 ||
	    csr_der->len > UINT32_MAX) {
		log_error("certificate request missing");
		return CV_ERR_BAD_PARAMETER;
	}
	if ((rc = crt_import(ca_cert_der, &ca)) < 0) {
		log_error("CA certificate unreadable: %s", gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	rc = 0;
	if (gnutls_x509_crt_get_basic_constraints(ca, &critical, &isca,
	    &pathlen) < 0 || !isca) {
		log_error("the CA certificate is not a CA");
		goto out;
	}
	if ((er = crypto_privkey_import(ca_key, &pkey)) != CV_OK)
		goto out;
	er = CV_ERR_INTERNAL;
	if (!crt_key_is(ca, pkey)) {
		log_error("the CA key does not belong to the CA certificate");
		goto out;
	}
	d.data = csr_der->data;
	d.size = (unsigned)csr_der->len;
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 ||
	    (rc = gnutls_x509_crt_init(&crt)) < 0)
		goto out;
	/* set_crq verifies the request's signature. */
	if ((rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER)) < 0 ||
	    (rc = gnutls_x509_crt_set_crq(crt, crq)) < 0 ||
	    (rc = gnutls_x509_crt_set_crq_extensions(crt, crq)) < 0) {
		log_warnx("certificate request refused: %s",
		    gnutls_strerror(rc));
		rc = 0;
		er = CV_ERR_BAD_PARAMETER;
		goto out;
	}
	d.data = NULL;
	d.size = 0;
	rc = gnutls_x509_crt_get_basic_constraints(crt, &critical, &isca,
	    &pathlen);
	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	else if (rc >= 0 && isca) {
		log_warnx("certificate request for a CA refused");
		rc = 0;
		er = CV_ERR_BAD_PARAMETER;
		goto out;
	}
	if (rc < 0)
		goto out;
	exp = now + (time_t)months_to_days(validity_months) * 86400;
	ca_exp = gnutls_x509_crt_get_expiration_time(ca);
	if (ca_exp != (time_t)-1 && exp > ca_exp)
		exp = ca_exp;
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = crt_set_serial(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt,
	    now - NBF_SKEW)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, exp)) < 0 ||
	    (rc = crt_set_issued_key_ids(crt, crq, ca)) < 0 ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, ca, pkey,
	    crypto_sign_digest(pkey), 0)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, cert);
	er = CV_OK;
out:
	if (rc < 0)
		log_error("certificate not signed by the CA: %s",
		    gnutls_strerror(rc));
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (pkey != NULL)
		gnutls_privkey_deinit(pkey);
	gnutls_x509_crt_deinit(ca);
	return er;
}

/*
 * The certificate der as PEM text ("-----BEGIN CERTIFICATE-----", base64
 * in 64-column lines, END line, newline).  On success *pem is a new
 * string (caller frees).  Returns CV_OK or CV_ERR_BAD_PARAMETER if der
 * is not a certificate; *pem is NULL unless CV_OK.
 */
enum cv_err
crypto_x509_pem(const struct cv_bytes *der, char **pem)
{
	gnutls_x509_crt_t	 crt = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	int			 rc;

	*pem = NULL;
	if ((rc = crt_import(der, &crt)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d)) < 0) {
		log_warnx("not a certificate: %s", gnutls_strerror(rc));
		if (crt != NULL)
			gnutls_x509_crt_deinit(crt);
		return CV_ERR_BAD_PARAMETER;
	}
	*pem = cv_strndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	gnutls_x509_crt_deinit(crt);
	return CV_OK;
}

/*
 * The certificates of a PEM chain (application/pem-certificate-chain, as
 * ACME servers send it) as DER, in the order given: *ders (n of them;
 * caller frees each and the array).  CV_ERR_BAD_PARAMETER if there is
 * no certificate or one does not parse.
 */
enum cv_err
crypto_x509_pem_chain(const char *pem, size_t len, struct cv_bytes **ders,
    size_t *n)
{
	gnutls_x509_crt_t	*crts = NULL;
	gnutls_datum_t		 d, out;
	unsigned		 i, count = 0;
	enum cv_err		 er = CV_OK;

	*ders = NULL;
	*n = 0;
	if (pem == NULL || len == 0 || len > UINT32_MAX)
		return CV_ERR_BAD_PARAMETER;
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)len;
	if (gnutls_x509_crt_list_import2(&crts, &count, &d,
	    GNUTLS_X509_FMT_PEM, 0) < 0 ||
	    count == 0) {
		gnutls_free(crts);
		return CV_ERR_BAD_PARAMETER;
	}
	*ders = cv_calloc(count, sizeof(**ders));
	for (i = 0; i < count; i++) {
		if (er == CV_OK && gnutls_x509_crt_export2(crts[i],
		    GNUTLS_X509_FMT_DER, &out) >= 0) {
			crypto_datum_move(&out, &(*ders)[i]);
			*n = i + 1;
		} else
			er = CV_ERR_INTERNAL;
		gnutls_x509_crt_deinit(crts[i]);
	}
	gnutls_free(crts);
	if (er != CV_OK) {
		for (i = 0; i < *n; i++)
			cv_bytes_free(&(*ders)[i]);
		free(*ders);
		*ders = NULL;
		*n = 0;
	}
	return er;
}
