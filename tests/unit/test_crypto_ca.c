/*
 * certvault — unit tests of the LocalCA in crypto_x509.c: making a CA,
 * signing requests with it, PEM output.  SPDX-License-Identifier: ISC
 *
 * Results are checked by parsing them back with GnuTLS directly.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "certvault.h"
#include "crypto.h"
#include "cu.h"

#define CA_CN	"certvault LocalCA demo/corp-ca"
#define NOW	((time_t)1700000000)

static char *req_dns[] = { "leaf.example", "www.leaf.example" };
static char *req_ips[] = { "192.0.2.7" };
static char *req_ekus[] = { "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2" };

/* One CA for the tests that only need one. */
static struct cv_bytes ca_key, ca_cert;

static void
the_ca(void)
{

	if (ca_key.data == NULL)
		CU_ASSERT_EQUAL_FATAL(crypto_ca_make(CA_CN, NOW, &ca_key,
		    &ca_cert), CV_OK);
}

static gnutls_datum_t
datum(const struct cv_bytes *b)
{
	gnutls_datum_t	 d = { b->data, (unsigned)b->len };

	return d;
}

static gnutls_x509_crt_t
crt_of(const struct cv_bytes *der)
{
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d = datum(der);

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_init(&crt), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_import(crt, &d,
	    GNUTLS_X509_FMT_DER), 0);
	return crt;
}

static struct cv_x509_req
leaf_req(void)
{
	struct cv_x509_req	 r;

	memset(&r, 0, sizeof(r));
	r.subject = "CN=leaf.example,O=Example";
	r.dns_names.v = req_dns;
	r.dns_names.n = 2;
	r.ips.v = req_ips;
	r.ips.n = 1;
	r.key_usage = CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT;
	r.ekus.v = req_ekus;
	r.ekus.n = 2;
	return r;
}

/* A key of kty and a CSR for it saying r. */
static void
make_csr(enum cv_kty kty, const struct cv_x509_req *r, struct cv_bytes *priv,
    struct cv_bytes *pub, struct cv_bytes *csr)
{
	struct cv_keyspec	 spec;
	char			*msg = NULL;

	spec.kty = kty;
	spec.bits = kty == CV_KTY_RSA ? 2048 : 0;
	spec.curve = kty == CV_KTY_RSA ? CV_CURVE_NONE : CV_CURVE_P256;
	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, priv, pub), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(priv, r, csr, &msg), CV_OK);
	free(msg);
}

/*
 * Verify leaf against the CA alone (time checks off: NOW is in the
 * past).  Return the verification status (0: trusted) or a negative
 * GnuTLS error.
 */
static int
verify_with(const struct cv_bytes *leaf, const struct cv_bytes *ca)
{
	gnutls_x509_crt_t	 l, c;
	unsigned		 status = ~0u;
	int			 rc;

	l = crt_of(leaf);
	c = crt_of(ca);
	rc = gnutls_x509_crt_verify(l, &c, 1,
	    GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
	    GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status);
	gnutls_x509_crt_deinit(l);
	gnutls_x509_crt_deinit(c);
	return rc < 0 ? rc : (int)status;
}

static void
test_ca_make(void)
{
	struct cv_x509_info	 info;
	struct cv_bytes		 pub, key, cert;
	gnutls_x509_crt_t	 crt;
	unsigned char		 ski[64], aki[64];
	size_t			 skilen = sizeof(ski);
	size_t			 akilen = sizeof(aki);
	unsigned		 usage, crit, ca;
	int			 pathlen;

	the_ca();
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&ca_cert, &info), CV_OK);
	CU_ASSERT_STRING_EQUAL(info.subject, "CN=" CA_CN);
	CU_ASSERT_STRING_EQUAL(info.issuer, info.subject);
	CU_ASSERT_EQUAL(info.not_before, NOW - 600);
	CU_ASSERT_EQUAL(info.not_after, NOW + 3653 * 86400);
	CU_ASSERT_EQUAL(info.serial.len, 16);
	CU_ASSERT(info.serial.data[0] >= 0x40 && info.serial.data[0] < 0x80);
	cv_x509_info_free(&info);

	/* The key is the certificate's, an EC P-256 PKCS#8 key. */
	CU_ASSERT_EQUAL_FATAL(crypto_key_public(&ca_key, &pub), CV_OK);
	CU_ASSERT(crypto_x509_key_matches(&ca_cert, &pub));
	cv_bytes_free(&pub);

	crt = crt_of(&ca_cert);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_version(crt), 3);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_pk_algorithm(crt, NULL),
	    GNUTLS_PK_ECDSA);
	CU_ASSERT(gnutls_x509_crt_get_basic_constraints(crt, &crit, &ca,
	    &pathlen) > 0);
	CU_ASSERT_EQUAL(ca, 1);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_usage(crt, &usage, &crit), 0);
	CU_ASSERT_EQUAL(usage, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_key_id(crt, ski, &skilen,
	    &crit), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_authority_key_id(crt, aki, &akilen,
	    &crit), 0);
	CU_ASSERT(skilen == akilen && memcmp(ski, aki, skilen) == 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_signature_algorithm(crt),
	    GNUTLS_SIGN_ECDSA_SHA256);
	gnutls_x509_crt_deinit(crt);

	/* Self-signed, and a CA to itself. */
	CU_ASSERT_EQUAL(verify_with(&ca_cert, &ca_cert), 0);

	/* A name that cannot be a common name is refused. */
	CU_ASSERT_EQUAL(crypto_ca_make("", NOW, &key, &cert), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(key.data);
	CU_ASSERT_PTR_NULL(cert.data);
}

static void
test_ca_sign(void)
{
	struct cv_x509_req	 r = leaf_req();
	struct cv_bytes		 priv, pub, csr, cert, cert2;
	struct cv_x509_info	 info, ca_info, info2;
	gnutls_x509_crt_t	 crt, ca;
	unsigned char		 ski[64], aki[64], id[64];
	size_t			 skilen = sizeof(ski);
	size_t			 akilen = sizeof(aki);
	size_t			 idlen = sizeof(id), olen;
	unsigned		 usage, crit, isca;
	int			 pathlen;
	char			 oid[128];

	the_ca();
	make_csr(CV_KTY_EC, &r, &priv, &pub, &csr);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 12,
	    NOW, &cert), CV_OK);
	CU_ASSERT_EQUAL(verify_with(&cert, &ca_cert), 0);
	CU_ASSERT(crypto_x509_key_matches(&cert, &pub));

	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert, &info), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&ca_cert, &ca_info), CV_OK);
	CU_ASSERT_STRING_EQUAL(info.subject, "CN=leaf.example,O=Example");
	CU_ASSERT_STRING_EQUAL(info.issuer, ca_info.subject);
	CU_ASSERT_EQUAL(info.not_before, NOW - 600);
	CU_ASSERT_EQUAL(info.not_after, NOW + 365 * 86400);
	CU_ASSERT_EQUAL(info.serial.len, 16);
	CU_ASSERT(info.serial.data[0] >= 0x40 && info.serial.data[0] < 0x80);

	crt = crt_of(&cert);
	ca = crt_of(&ca_cert);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_version(crt), 3);
	/* The request's extensions: key usage, EKUs, SANs, CA:FALSE. */
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_usage(crt, &usage, &crit), 0);
	CU_ASSERT_EQUAL(usage,
	    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_purpose_oid(crt, 0, oid, &olen,
	    &crit), 0);
	CU_ASSERT_STRING_EQUAL(oid, req_ekus[0]);
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_purpose_oid(crt, 1, oid, &olen,
	    &crit), 0);
	CU_ASSERT_STRING_EQUAL(oid, req_ekus[1]);
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_alt_name(crt, 0, oid,
	    &olen, &crit), GNUTLS_SAN_DNSNAME);
	CU_ASSERT_STRING_EQUAL(oid, "leaf.example");
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_alt_name(crt, 1, oid,
	    &olen, &crit), GNUTLS_SAN_DNSNAME);
	CU_ASSERT_STRING_EQUAL(oid, "www.leaf.example");
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_alt_name(crt, 2, oid,
	    &olen, &crit), GNUTLS_SAN_IPADDRESS);
	CU_ASSERT_EQUAL(olen, 4);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_basic_constraints(crt, &crit,
	    &isca, &pathlen), 0);
	CU_ASSERT_EQUAL(isca, 0);
	/* Key ids: the leaf's own, and the CA's as the authority's. */
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_authority_key_id(crt, aki, &akilen,
	    &crit), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_key_id(ca, ski, &skilen,
	    &crit), 0);
	CU_ASSERT(skilen == akilen && memcmp(ski, aki, skilen) == 0);
	skilen = sizeof(ski);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_subject_key_id(crt, ski, &skilen,
	    &crit), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1,
	    id, &idlen), 0);
	CU_ASSERT(skilen == idlen && memcmp(ski, id, idlen) == 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_check_issuer(crt, ca), 1);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);

	/* Another signing of the same request: another serial. */
	CU_ASSERT_EQUAL_FATAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 12,
	    NOW, &cert2), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert2, &info2), CV_OK);
	CU_ASSERT(info2.serial.len != info.serial.len ||
	    memcmp(info2.serial.data, info.serial.data, info.serial.len) != 0);
	cv_x509_info_free(&info2);
	cv_bytes_free(&cert2);

	/* A tampered certificate does not verify. */
	cert.data[cert.len - 1] ^= 0x01;
	CU_ASSERT_NOT_EQUAL(verify_with(&cert, &ca_cert), 0);

	cv_x509_info_free(&info);
	cv_x509_info_free(&ca_info);
	cv_bytes_free(&cert);
	cv_bytes_free(&csr);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

/* An RSA request signed by the EC CA; validity beyond the CA's clamped. */
static void
test_ca_sign_rsa_clamped(void)
{
	struct cv_x509_req	 r = leaf_req();
	struct cv_bytes		 priv, pub, csr, cert;
	struct cv_x509_info	 info, ca_info;

	the_ca();
	make_csr(CV_KTY_RSA, &r, &priv, &pub, &csr);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr,
	    1200, NOW, &cert), CV_OK);
	CU_ASSERT_EQUAL(verify_with(&cert, &ca_cert), 0);
	CU_ASSERT(crypto_x509_key_matches(&cert, &pub));
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert, &info), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&ca_cert, &ca_info), CV_OK);
	CU_ASSERT_EQUAL(info.not_after, ca_info.not_after);
	cv_x509_info_free(&info);
	cv_x509_info_free(&ca_info);
	cv_bytes_free(&cert);
	cv_bytes_free(&csr);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_ca_sign_refused(void)
{
	struct cv_x509_req	 r = leaf_req();
	struct cv_bytes		 priv, pub, csr, cert;
	struct cv_bytes		 other_key, other_cert;
	struct cv_bytes		 junk;
	unsigned char		 bytes[] = { 0x30, 0x03, 0x02, 0x01, 0 };

	the_ca();
	make_csr(CV_KTY_EC, &r, &priv, &pub, &csr);
	/* Validity out of range. */
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 0, NOW,
	    &cert), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(cert.data);
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 1201, NOW,
	    &cert), CV_ERR_BAD_PARAMETER);
	/* Not a request; a request whose signature is broken. */
	junk.data = bytes;
	junk.len = sizeof(bytes);
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &junk, 12, NOW,
	    &cert), CV_ERR_BAD_PARAMETER);
	csr.data[csr.len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 12, NOW,
	    &cert), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(cert.data);
	cv_bytes_free(&csr);

	/* A CA key with another CA's certificate. */
	CU_ASSERT_EQUAL_FATAL(crypto_ca_make("other", NOW, &other_key,
	    &other_cert), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, NULL), CV_OK);
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&other_key, &ca_cert, &csr, 12,
	    NOW, &cert), CV_ERR_INTERNAL);
	/* A "CA" certificate that is no CA. */
	CU_ASSERT_EQUAL_FATAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 12,
	    NOW, &cert), CV_OK);
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&priv, &cert, &csr, 12, NOW,
	    &junk), CV_ERR_INTERNAL);
	cv_bytes_free(&cert);
	cv_bytes_free(&csr);

	/* A request for a CA certificate. */
	r.ca = true;
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, NULL), CV_OK);
	CU_ASSERT_EQUAL(crypto_x509_ca_sign(&ca_key, &ca_cert, &csr, 12, NOW,
	    &cert), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(cert.data);

	cv_bytes_free(&csr);
	cv_bytes_free(&other_key);
	cv_bytes_free(&other_cert);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_pem(void)
{
	struct cv_bytes		 junk;
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d, out = { NULL, 0 };
	unsigned char		 bytes[] = { 0x30, 0x00 };
	char			*pem;

	the_ca();
	CU_ASSERT_EQUAL_FATAL(crypto_x509_pem(&ca_cert, &pem), CV_OK);
	CU_ASSERT_EQUAL(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(pem, "\n-----END CERTIFICATE-----\n"));
	d.data = (unsigned char *)pem;
	d.size = (unsigned)strlen(pem);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_init(&crt), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM),
	    0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER,
	    &out), 0);
	CU_ASSERT(out.size == ca_cert.len &&
	    memcmp(out.data, ca_cert.data, out.size) == 0);
	gnutls_free(out.data);
	gnutls_x509_crt_deinit(crt);
	free(pem);

	junk.data = bytes;
	junk.len = sizeof(bytes);
	CU_ASSERT_EQUAL(crypto_x509_pem(&junk, &pem), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(pem);
}

static const struct cu_test tests[] = {
	{ "crypto_ca_make: CA:TRUE, keyCertSign, key ids", test_ca_make },
	{ "crypto_x509_ca_sign: the request's extensions", test_ca_sign },
	{ "crypto_x509_ca_sign: RSA leaf, clamped validity",
	    test_ca_sign_rsa_clamped },
	{ "crypto_x509_ca_sign: refusals", test_ca_sign_refused },
	{ "crypto_x509_pem", test_pem },
};

int
main(void)
{
	int	 rc;

	gnutls_global_init();
	rc = CU_RUN("crypto_ca", tests);
	cv_bytes_free(&ca_key);
	cv_bytes_free(&ca_cert);
	gnutls_global_deinit();
	return rc;
}
