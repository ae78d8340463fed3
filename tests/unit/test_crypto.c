/*
 * certvault — unit tests of crypto_*.c: keys, sealing, subjects, CSRs,
 * certificates, x5c, base64.  SPDX-License-Identifier: ISC
 *
 * Results are checked by parsing them back with GnuTLS directly.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#include "certvault.h"
#include "crypto.h"
#include "cu.h"

/* One RSA 2048 key for every test that needs RSA: generation is slow. */
static struct cv_bytes rsa_priv, rsa_pub;

static void
rsa_key(void)
{
	struct cv_keyspec	 spec = { CV_KTY_RSA, 2048, CV_CURVE_NONE };

	if (rsa_priv.data == NULL)
		CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &rsa_priv,
		    &rsa_pub), CV_OK);
}

static void
ec_key(enum cv_curve curve, struct cv_bytes *priv, struct cv_bytes *pub)
{
	struct cv_keyspec	 spec = { CV_KTY_EC, 0, curve };

	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, priv, pub), CV_OK);
}

static gnutls_datum_t
datum(const struct cv_bytes *b)
{
	gnutls_datum_t	 d = { b->data, (unsigned)b->len };

	return d;
}

static bool
bytes_eq(const struct cv_bytes *a, const struct cv_bytes *b)
{

	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static struct cv_bytes
bytes_of(const void *p, size_t len)
{
	struct cv_bytes	 b;

	b.data = malloc(len > 0 ? len : 1);
	memcpy(b.data, p, len);
	b.len = len;
	return b;
}

/* Check priv is a PKCS#8 key of algo with bits, whose SPKI is pub. */
static void
check_key(const struct cv_bytes *priv, const struct cv_bytes *pub,
    gnutls_pk_algorithm_t algo, unsigned bits, gnutls_ecc_curve_t curve)
{
	gnutls_x509_privkey_t	 xk;
	gnutls_pubkey_t		 pk;
	gnutls_datum_t		 d = datum(priv);
	gnutls_ecc_curve_t	 c;
	struct cv_bytes		 pub2;
	unsigned		 b = 0;

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xk), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_import_pkcs8(xk, &d,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN), 0);
	CU_ASSERT_EQUAL(gnutls_x509_privkey_get_pk_algorithm2(xk, &b),
	    (int)algo);
	if (algo == GNUTLS_PK_RSA) {
		CU_ASSERT_EQUAL(b, bits);
	} else {
		CU_ASSERT_EQUAL(gnutls_x509_privkey_export_ecc_raw(xk, &c,
		    NULL, NULL, NULL), 0);
		CU_ASSERT_EQUAL(c, curve);
	}
	gnutls_x509_privkey_deinit(xk);

	d = datum(pub);
	CU_ASSERT_EQUAL_FATAL(gnutls_pubkey_init(&pk), 0);
	CU_ASSERT_EQUAL(gnutls_pubkey_import(pk, &d, GNUTLS_X509_FMT_DER), 0);
	CU_ASSERT_EQUAL(gnutls_pubkey_get_pk_algorithm(pk, NULL), (int)algo);
	gnutls_pubkey_deinit(pk);

	CU_ASSERT_EQUAL_FATAL(crypto_key_public(priv, &pub2), CV_OK);
	CU_ASSERT(bytes_eq(&pub2, pub));
	cv_bytes_free(&pub2);
}

static void
test_key_rsa(void)
{
	struct cv_keyspec	 spec = { CV_KTY_RSA, 3072, CV_CURVE_NONE };
	struct cv_bytes		 priv, pub;

	rsa_key();
	check_key(&rsa_priv, &rsa_pub, GNUTLS_PK_RSA, 2048, 0);
	/* The larger sizes: a fraction of a second each. */
	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &priv, &pub), CV_OK);
	check_key(&priv, &pub, GNUTLS_PK_RSA, 3072, 0);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
	spec.bits = 4096;
	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &priv, &pub), CV_OK);
	check_key(&priv, &pub, GNUTLS_PK_RSA, 4096, 0);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_key_ec(void)
{
	static const struct {
		enum cv_curve		 cv;
		gnutls_ecc_curve_t	 gc;
	} t[] = {
		{ CV_CURVE_P256, GNUTLS_ECC_CURVE_SECP256R1 },
		{ CV_CURVE_P384, GNUTLS_ECC_CURVE_SECP384R1 },
		{ CV_CURVE_P521, GNUTLS_ECC_CURVE_SECP521R1 },
	};
	struct cv_keyspec	 spec = { CV_KTY_EC, 384, CV_CURVE_P384 };
	struct cv_bytes		 priv, pub;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ec_key(t[i].cv, &priv, &pub);
		check_key(&priv, &pub, GNUTLS_PK_ECDSA, 0, t[i].gc);
		cv_bytes_free(&priv);
		cv_bytes_free(&pub);
		CU_ASSERT_PTR_NULL(priv.data);
		CU_ASSERT_EQUAL(priv.len, 0);
	}
	/* Matching bits are fine too. */
	CU_ASSERT_EQUAL(crypto_key_generate(&spec, &priv, &pub), CV_OK);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
	cv_bytes_free(NULL);
}

static void
test_key_refused(void)
{
	static const struct cv_keyspec bad[] = {
		{ CV_KTY_RSA, 1024, CV_CURVE_NONE },
		{ CV_KTY_RSA, 1000, CV_CURVE_NONE },
		{ CV_KTY_RSA, 0, CV_CURVE_NONE },
		{ CV_KTY_RSA, 8192, CV_CURVE_NONE },
		{ CV_KTY_EC, 0, CV_CURVE_NONE },
		{ CV_KTY_EC, 0, CV_CURVE__MAX },
		{ CV_KTY_EC, 384, CV_CURVE_P256 },
		{ CV_KTY__MAX, 2048, CV_CURVE_NONE },
	};
	struct cv_bytes		 priv, pub, bogus = { (unsigned char *)"xx", 2 };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(crypto_key_generate(&bad[i], &priv, &pub),
		    CV_ERR_BAD_PARAMETER);
		CU_ASSERT_PTR_NULL(priv.data);
		CU_ASSERT_PTR_NULL(pub.data);
	}
	CU_ASSERT_EQUAL(crypto_key_public(&bogus, &pub), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(pub.data);
}

static void
test_dn_good(void)
{
	static const char *const good[] = {
		"CN=a",
		"cn=MyCert",
		"CN=host.example,O=Example Ltd,OU=Web,L=Paris,ST=IDF,C=FR",
		"CN=a\\,b,O=x",
		"CN=a\\+b",
		"CN=a\\2Cb",
		"CN=caf\\C3\\A9",
		"CN=caf\xc3\xa9",
		"CN=\\E2\\82\\AC \\F0\\9F\\94\\92",
		"CN=a\\\\",
		"CN=E=x",
		"CN=\\#hash",
		"CN=back\\\\slash,O=x",
		"CN=quote\\\"d",
		"E=a@b.example",
		"emailAddress=a@b.example,CN=x",
		"DC=example,DC=com",
		"UID=jdoe,DC=example",
		"2.5.4.3=by-oid",
		"2.5.4.3=#0c03666f6f",
		" CN = spaced , O = x ",
		"CN=a\\ ",
	};
	char	*msg;
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		msg = (char *)"unset";
		CU_ASSERT_EQUAL(crypto_dn_check(good[i], &msg), CV_OK);
		if (msg != NULL)
			fprintf(stderr, "%s: %s\n", good[i], msg);
		CU_ASSERT_PTR_NULL(msg);
	}
	CU_ASSERT_EQUAL(crypto_dn_check("CN=a", NULL), CV_OK);
}

static void
test_dn_bad(void)
{
	static const struct {
		const char	*dn;
		const char	*says;	/* in the message */
	} bad[] = {
		{ "", "empty" },
		{ "   ", "empty" },
		{ "garbage", "type=value" },
		{ "=x", "type=value" },
		{ "CN=", "value" },
		{ "XX=foo", "unknown attribute type \"XX\"" },
		{ "CN=a,XX=foo", "unknown attribute type \"XX\"" },
		{ "1.2.3.4.5.6.7=x", "unknown attribute type" },
		{ "CN=a+O=b", "multi-valued" },
		{ "OU=x+OU=y,O=z", "multi-valued" },
		{ "CN=a,,O=b", "type=value" },
		{ "CN=a,", "trailing comma" },
		{ "CN=a\\", "escape" },
		{ "CN=a\\zz", "escape" },
		{ "CN=a\\2", "escape" },
		{ "CN=a\\00b", "control" },
		{ "CN=a\\0Ab", "control" },
		{ "CN=a\nO=b", "control" },
		{ "CN=a\\\\,O=b", "backslash" },
		{ "CN=#zz", "value" },
		{ "CN=\\FF", "UTF-8" },
		{ "CN=\\C3", "UTF-8" },
		{ "CN=\\C0\\AF", "UTF-8" },	/* overlong '/' */
		{ "CN=\\ED\\A0\\80", "UTF-8" },	/* a surrogate */
		{ "CN=\xff", "UTF-8" },
	};
	char	*msg;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg = NULL;
		CU_ASSERT_EQUAL(crypto_dn_check(bad[i].dn, &msg),
		    CV_ERR_BAD_PARAMETER);
		CU_ASSERT_PTR_NOT_NULL(msg);
		if (msg == NULL)
			continue;
		if (strstr(msg, bad[i].says) == NULL) {
			fprintf(stderr, "[%s]: %s\n", bad[i].dn, msg);
			CU_FAIL("message does not name the problem");
		}
		free(msg);
	}
	CU_ASSERT_EQUAL(crypto_dn_check(NULL, NULL), CV_ERR_BAD_PARAMETER);
}

/* A request with every field set. */
static char *req_dns[] = { "host.example", "www.host.example" };
static char *req_emails[] = { "admin@host.example" };
static char *req_upns[] = { "user@corp.example" };
static char *req_uris[] = { "https://host.example/id" };
static char *req_ips[] = { "192.0.2.1", "2001:db8::1" };
static char *req_ekus[] = { "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2" };

static struct cv_x509_req
full_req(void)
{
	struct cv_x509_req	 r;

	memset(&r, 0, sizeof(r));
	r.subject = "CN=host.example,O=Example\\2C Inc.,E=admin@host.example";
	r.dns_names.v = req_dns;
	r.dns_names.n = 2;
	r.emails.v = req_emails;
	r.emails.n = 1;
	r.upns.v = req_upns;
	r.upns.n = 1;
	r.uris.v = req_uris;
	r.uris.n = 1;
	r.ips.v = req_ips;
	r.ips.n = 2;
	r.key_usage = CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT;
	r.ekus.v = req_ekus;
	r.ekus.n = 2;
	r.ca = false;
	return r;
}

#define REQ_DN "CN=host.example,O=Example\\, Inc.,EMAIL=admin@host.example"

/* Check the subjectAltNames of full_req() in the DER extension san. */
static void
check_sans(const gnutls_datum_t *san)
{
	static const unsigned char ip4[] = { 192, 0, 2, 1 };
	static const unsigned char ip6[] = { 0x20, 0x01, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	gnutls_subject_alt_names_t	 sans;
	gnutls_datum_t			 v, oid, virt;
	unsigned			 type, vtype, i;
	unsigned			 seen[8] = { 0 };

	CU_ASSERT_EQUAL_FATAL(gnutls_subject_alt_names_init(&sans), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_ext_import_subject_alt_names(san,
	    sans, 0), 0);
	for (i = 0; gnutls_subject_alt_names_get(sans, i, &type, &v,
	    &oid) == 0; i++) {
		switch (type) {
		case GNUTLS_SAN_DNSNAME:
			CU_ASSERT(v.size == strlen(req_dns[seen[type]]) &&
			    memcmp(v.data, req_dns[seen[type]], v.size) == 0);
			break;
		case GNUTLS_SAN_RFC822NAME:
			CU_ASSERT(v.size == strlen(req_emails[0]) &&
			    memcmp(v.data, req_emails[0], v.size) == 0);
			break;
		case GNUTLS_SAN_URI:
			CU_ASSERT(v.size == strlen(req_uris[0]) &&
			    memcmp(v.data, req_uris[0], v.size) == 0);
			break;
		case GNUTLS_SAN_IPADDRESS:
			if (seen[type] == 0) {
				CU_ASSERT(v.size == 4 &&
				    memcmp(v.data, ip4, 4) == 0);
			} else {
				CU_ASSERT(v.size == 16 &&
				    memcmp(v.data, ip6, 16) == 0);
			}
			break;
		case GNUTLS_SAN_OTHERNAME:
			CU_ASSERT_STRING_EQUAL((char *)oid.data,
			    "1.3.6.1.4.1.311.20.2.3");
			/* A UTF8String (tag 12). */
			CU_ASSERT(v.size > 2 && v.data[0] == 0x0c);
			CU_ASSERT_EQUAL_FATAL(gnutls_x509_othername_to_virtual(
			    (char *)oid.data, &v, &vtype, &virt), 0);
			CU_ASSERT_EQUAL(vtype,
			    GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL);
			CU_ASSERT(virt.size == strlen(req_upns[0]) &&
			    memcmp(virt.data, req_upns[0], virt.size) == 0);
			gnutls_free(virt.data);
			break;
		default:
			CU_FAIL("unexpected SAN type");
			break;
		}
		if (type < 8)
			seen[type]++;
	}
	CU_ASSERT_EQUAL(i, 7);
	CU_ASSERT_EQUAL(seen[GNUTLS_SAN_DNSNAME], 2);
	CU_ASSERT_EQUAL(seen[GNUTLS_SAN_RFC822NAME], 1);
	CU_ASSERT_EQUAL(seen[GNUTLS_SAN_OTHERNAME], 1);
	CU_ASSERT_EQUAL(seen[GNUTLS_SAN_URI], 1);
	CU_ASSERT_EQUAL(seen[GNUTLS_SAN_IPADDRESS], 2);
	gnutls_subject_alt_names_deinit(sans);
}

/* Make a CSR for full_req() with priv and check every field of it. */
static void
check_csr(const struct cv_bytes *priv, const struct cv_bytes *pub,
    gnutls_sign_algorithm_t sigalg)
{
	struct cv_x509_req	 r = full_req();
	struct cv_bytes		 csr;
	gnutls_x509_crq_t	 crq;
	gnutls_pubkey_t		 pk;
	gnutls_datum_t		 d, dn;
	unsigned char		 a[64], b[64];
	char			 oid[128];
	size_t			 alen = sizeof(a), blen = sizeof(b), olen;
	unsigned		 usage, crit, ca;
	int			 pathlen;
	char			*msg = (char *)"unset";

	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(priv, &r, &csr, &msg), CV_OK);
	CU_ASSERT_PTR_NULL(msg);
	d = datum(&csr);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_init(&crq), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_import(crq, &d,
	    GNUTLS_X509_FMT_DER), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crq_verify(crq, 0), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crq_get_version(crq), 1);
	CU_ASSERT_EQUAL(gnutls_x509_crq_get_signature_algorithm(crq),
	    (int)sigalg);

	CU_ASSERT_EQUAL(gnutls_x509_crq_get_dn3(crq, &dn, 0), 0);
	CU_ASSERT_STRING_EQUAL((char *)dn.data, REQ_DN);
	gnutls_free(dn.data);

	/* The public key is the key's. */
	d = datum(pub);
	CU_ASSERT_EQUAL_FATAL(gnutls_pubkey_init(&pk), 0);
	CU_ASSERT_EQUAL(gnutls_pubkey_import(pk, &d, GNUTLS_X509_FMT_DER), 0);
	CU_ASSERT_EQUAL(gnutls_pubkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256,
	    a, &alen), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crq_get_key_id(crq,
	    GNUTLS_KEYID_USE_SHA256, b, &blen), 0);
	CU_ASSERT(alen == blen && memcmp(a, b, alen) == 0);
	gnutls_pubkey_deinit(pk);

	CU_ASSERT_EQUAL(gnutls_x509_crq_get_key_usage(crq, &usage, &crit), 0);
	CU_ASSERT_EQUAL(usage,
	    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(crit, 1);

	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crq_get_key_purpose_oid(crq, 0, oid,
	    &olen, &crit), 0);
	CU_ASSERT_STRING_EQUAL(oid, req_ekus[0]);
	olen = sizeof(oid);
	CU_ASSERT_EQUAL(gnutls_x509_crq_get_key_purpose_oid(crq, 1, oid,
	    &olen, &crit), 0);
	CU_ASSERT_STRING_EQUAL(oid, req_ekus[1]);
	olen = sizeof(oid);
	CU_ASSERT(gnutls_x509_crq_get_key_purpose_oid(crq, 2, oid, &olen,
	    &crit) < 0);

	CU_ASSERT_EQUAL(gnutls_x509_crq_get_basic_constraints(crq, &crit, &ca,
	    &pathlen), 0);
	CU_ASSERT_EQUAL(ca, 0);

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_get_extension_by_oid2(crq,
	    "2.5.29.17", 0, &d, &crit), 0);
	check_sans(&d);
	gnutls_free(d.data);

	gnutls_x509_crq_deinit(crq);
	cv_bytes_free(&csr);
}

static void
test_csr_rsa(void)
{

	rsa_key();
	check_csr(&rsa_priv, &rsa_pub, GNUTLS_SIGN_RSA_SHA256);
}

static void
test_csr_ec(void)
{
	struct cv_bytes	 priv, pub;

	ec_key(CV_CURVE_P256, &priv, &pub);
	check_csr(&priv, &pub, GNUTLS_SIGN_ECDSA_SHA256);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
	ec_key(CV_CURVE_P384, &priv, &pub);
	check_csr(&priv, &pub, GNUTLS_SIGN_ECDSA_SHA384);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
	ec_key(CV_CURVE_P521, &priv, &pub);
	check_csr(&priv, &pub, GNUTLS_SIGN_ECDSA_SHA512);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

/* A minimal request: subject only, no extensions but basic constraints. */
static void
test_csr_minimal(void)
{
	struct cv_x509_req	 r;
	struct cv_bytes		 priv, pub, csr;
	gnutls_x509_crq_t	 crq;
	gnutls_datum_t		 d;
	unsigned		 usage, crit;
	char			*msg;

	memset(&r, 0, sizeof(r));
	r.subject = "cn=MyCert";
	ec_key(CV_CURVE_P256, &priv, &pub);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, &msg), CV_OK);
	d = datum(&csr);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_init(&crq), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_import(crq, &d,
	    GNUTLS_X509_FMT_DER), 0);
	CU_ASSERT(gnutls_x509_crq_get_key_usage(crq, &usage, &crit) < 0);
	CU_ASSERT(gnutls_x509_crq_get_extension_by_oid2(crq, "2.5.29.17", 0,
	    &d, &crit) < 0);
	gnutls_x509_crq_deinit(crq);
	cv_bytes_free(&csr);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_csr_bad(void)
{
	struct cv_x509_req	 r;
	struct cv_bytes		 priv, pub, csr, bogus = {
	    (unsigned char *)"xx", 2 };
	char			*bad_ip[] = { "300.1.1.1" };
	char			*bad_eku[] = { "1.3.6.x" };
	char			*empty[] = { "" };
	char			*msg;

	ec_key(CV_CURVE_P256, &priv, &pub);

	r = full_req();
	r.ips.v = bad_ip;
	r.ips.n = 1;
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(csr.data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "300.1.1.1"));
	free(msg);

	r = full_req();
	r.ekus.v = bad_eku;
	r.ekus.n = 1;
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "1.3.6.x"));
	free(msg);

	r = full_req();
	r.dns_names.v = empty;
	r.dns_names.n = 1;
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "DNS name"));
	free(msg);

	r = full_req();
	r.subject = "CN=a+O=b";
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "multi-valued"));
	free(msg);

	r = full_req();
	r.key_usage = 1u << 12;
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, &msg),
	    CV_ERR_BAD_PARAMETER);
	free(msg);

	/* Not a key: an internal error, no message. */
	r = full_req();
	CU_ASSERT_EQUAL(crypto_csr_make(&bogus, &r, &csr, &msg),
	    CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(msg);
	CU_ASSERT_EQUAL(crypto_csr_make(&priv, &r, &csr, NULL), CV_OK);
	cv_bytes_free(&csr);

	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

/* Make a self-signed certificate for a new P-256 key. */
static void
make_cert(const char *subject, bool ca, time_t now, unsigned months,
    struct cv_bytes *priv, struct cv_bytes *pub, struct cv_bytes *cert)
{
	struct cv_x509_req	 r;
	struct cv_bytes		 csr;
	char			*msg;

	memset(&r, 0, sizeof(r));
	r.subject = subject;
	r.ca = ca;
	r.key_usage = ca ? CV_KU_KEY_CERT_SIGN | CV_KU_CRL_SIGN :
	    CV_KU_DIGITAL_SIGNATURE;
	ec_key(CV_CURVE_P256, priv, pub);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(priv, &r, &csr, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_self_sign(priv, &csr, months, now,
	    cert), CV_OK);
	cv_bytes_free(&csr);
}

/* Verify cert's signature with its own key; 0 on success. */
static int
self_verify(const struct cv_bytes *cert, bool ca)
{
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d = datum(cert);
	unsigned		 status = ~0u;
	int			 rc;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if ((rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_x509_crt_deinit(crt);
		return rc;
	}
	/* DO_NOT_ALLOW_SAME: check the signature, not just "trusted". */
	rc = gnutls_x509_crt_verify(crt, &crt, 1,
	    GNUTLS_VERIFY_DO_NOT_ALLOW_SAME |
	    GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
	    GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0)
		return rc;
	/*
	 * A certificate that is not a CA is "not a CA" to itself (INVALID,
	 * SIGNER_NOT_CA, SIGNER_CONSTRAINTS_FAILURE); what matters here is
	 * the signature.  A CA certificate must verify without reservation.
	 */
	if (!ca)
		status &= GNUTLS_CERT_SIGNATURE_FAILURE;
	return (int)status;
}

static void
test_self_sign(void)
{
	struct cv_x509_req	 r = full_req();
	struct cv_x509_info	 info;
	struct cv_bytes		 csr, cert, other_priv, other_pub, other_cert;
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d;
	unsigned		 usage, crit;
	char			*msg;
	time_t			 now = 1700000000;

	rsa_key();
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&rsa_priv, &r, &csr, &msg),
	    CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_self_sign(&rsa_priv, &csr, 12, now,
	    &cert), CV_OK);

	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert, &info), CV_OK);
	CU_ASSERT_EQUAL(info.not_before, now - 600);
	CU_ASSERT_EQUAL(info.not_after, now + 365 * 86400);
	CU_ASSERT_STRING_EQUAL(info.subject, REQ_DN);
	CU_ASSERT_STRING_EQUAL(info.issuer, info.subject);
	/* Positive, 16 octets (RFC 5280 4.1.2.2). */
	CU_ASSERT_EQUAL(info.serial.len, 16);
	CU_ASSERT(info.serial.data[0] >= 0x40 && info.serial.data[0] < 0x80);
	cv_x509_info_free(&info);
	CU_ASSERT_PTR_NULL(info.subject);

	CU_ASSERT_EQUAL(self_verify(&cert, false), 0);
	CU_ASSERT(crypto_x509_key_matches(&cert, &rsa_pub));

	/* The request's extensions are in the certificate. */
	d = datum(&cert);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_init(&crt), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_import(crt, &d,
	    GNUTLS_X509_FMT_DER), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_version(crt), 3);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_key_usage(crt, &usage, &crit), 0);
	CU_ASSERT_EQUAL(usage,
	    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_basic_constraints(crt, &crit,
	    NULL, NULL), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_extension_by_oid2(crt,
	    "2.5.29.17", 0, &d, &crit), 0);
	check_sans(&d);
	gnutls_free(d.data);
	CU_ASSERT_EQUAL(gnutls_x509_crt_check_issuer(crt, crt), 1);
	CU_ASSERT_EQUAL(gnutls_x509_crt_get_signature_algorithm(crt),
	    GNUTLS_SIGN_RSA_SHA256);
	gnutls_x509_crt_deinit(crt);

	/* A tampered signature does not verify. */
	cert.data[cert.len - 1] ^= 0x01;
	CU_ASSERT_NOT_EQUAL(self_verify(&cert, false), 0);
	cert.data[cert.len - 1] ^= 0x01;

	/* Another key is not this certificate's. */
	ec_key(CV_CURVE_P256, &other_priv, &other_pub);
	CU_ASSERT_FALSE(crypto_x509_key_matches(&cert, &other_pub));
	CU_ASSERT_FALSE(crypto_x509_key_matches(&cert, &csr));
	CU_ASSERT_FALSE(crypto_x509_key_matches(&csr, &rsa_pub));
	/* Nor is a request for another key self-signed with this one. */
	CU_ASSERT_EQUAL(crypto_x509_self_sign(&other_priv, &csr, 12, now,
	    &other_cert), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(other_cert.data);

	cv_bytes_free(&other_priv);
	cv_bytes_free(&other_pub);
	cv_bytes_free(&cert);
	cv_bytes_free(&csr);
}

static void
test_validity(void)
{
	static const struct {
		unsigned	 months;
		long		 days;
	} t[] = {
		{ 1, 30 }, { 6, 183 }, { 12, 365 }, { 24, 730 }, { 36, 1095 },
		{ 13, 395 },
	};
	struct cv_x509_req	 r;
	struct cv_x509_info	 info;
	struct cv_bytes		 priv, pub, csr, cert;
	char			*msg;
	time_t			 now = time(NULL);
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.subject = "CN=validity";
	ec_key(CV_CURVE_P256, &priv, &pub);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, &msg), CV_OK);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(crypto_x509_self_sign(&priv, &csr,
		    t[i].months, now, &cert), CV_OK);
		CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert, &info), CV_OK);
		CU_ASSERT_EQUAL(info.not_before, now - 600);
		CU_ASSERT_EQUAL(info.not_after, now + t[i].days * 86400);
		CU_ASSERT_STRING_EQUAL(info.subject, "CN=validity");
		CU_ASSERT_EQUAL(self_verify(&cert, false), 0);
		cv_x509_info_free(&info);
		cv_bytes_free(&cert);
	}
	CU_ASSERT_EQUAL(crypto_x509_self_sign(&priv, &csr, 0, now, &cert),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(crypto_x509_self_sign(&priv, &csr, 1201, now, &cert),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(cert.data);
	/* A damaged request is refused (set_crq verifies it). */
	csr.data[csr.len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(crypto_x509_self_sign(&priv, &csr, 12, now, &cert),
	    CV_ERR_INTERNAL);
	cv_bytes_free(&csr);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_x5t(void)
{
	struct cv_bytes		 priv, pub, cert, junk = {
	    (unsigned char *)"\x30\x03\x01\x01\xff", 5 };
	struct cv_x509_info	 info;
	unsigned char		 sha1[20];
	char			*x5t;

	make_cert("CN=x5t", false, time(NULL), 12, &priv, &pub, &cert);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_info(&cert, &info), CV_OK);
	CU_ASSERT_EQUAL(gnutls_hash_fast(GNUTLS_DIG_SHA1, cert.data,
	    cert.len, sha1), 0);
	CU_ASSERT_EQUAL(memcmp(info.x5t, sha1, 20), 0);
	x5t = crypto_b64_encode(info.x5t, sizeof(info.x5t), true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x5t);
	CU_ASSERT_EQUAL(strlen(x5t), 27);
	CU_ASSERT_EQUAL(strcspn(x5t, "+/="), 27);
	free(x5t);
	cv_x509_info_free(&info);
	CU_ASSERT_EQUAL(crypto_x509_info(&junk, &info),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(info.subject);
	cv_bytes_free(&cert);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

/* Wrap the DER in PEM armour, 64 columns, as openssl and certtool do. */
static char *
pem_of(const struct cv_bytes *der)
{
	gnutls_datum_t	 d = datum(der), out;
	char		*s;

	CU_ASSERT_EQUAL_FATAL(gnutls_pem_base64_encode2("CERTIFICATE", &d,
	    &out), 0);
	s = strndup((char *)out.data, out.size);
	gnutls_free(out.data);
	return s;
}

/* Decode element and check it gives der. */
static void
x5c_ok(const char *element, const struct cv_bytes *der)
{
	struct cv_bytes	 out;
	char		*msg = (char *)"unset";

	CU_ASSERT_EQUAL(crypto_x509_decode_x5c(element, &out, &msg), CV_OK);
	CU_ASSERT_PTR_NULL(msg);
	CU_ASSERT(bytes_eq(&out, der));
	cv_bytes_free(&out);
}

static void
x5c_bad(const char *element)
{
	struct cv_bytes	 out;
	char		*msg = NULL;

	CU_ASSERT_EQUAL(crypto_x509_decode_x5c(element, &out, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(out.data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_STRING_EQUAL(msg,
	    "x5c element is not a base64-encoded X.509 certificate.");
	free(msg);
}

static void
test_x5c(void)
{
	struct cv_bytes	 priv, pub, cert, priv2, pub2, cert2, tmp;
	char		*b64, *pem, *b64pem, *b64b64, *nobegin, *b64nobegin;
	char		*two, *b64two, *s;
	const char	*p;

	make_cert("CN=x5c", false, time(NULL), 12, &priv, &pub, &cert);
	make_cert("CN=x5c2", false, time(NULL), 12, &priv2, &pub2, &cert2);

	/* 1. Standard base64 of the DER (the spec). */
	b64 = crypto_b64_encode(cert.data, cert.len, false);
	x5c_ok(b64, &cert);
	/* With line breaks, as a PEM body would have them. */
	pem = pem_of(&cert);
	p = strchr(pem, '\n') + 1;
	s = strndup(p, strstr(p, "-----END") - p);
	x5c_ok(s, &cert);
	free(s);

	/* 2. A PEM block, and one on a single line. */
	x5c_ok(pem, &cert);
	s = cv_asprintf("-----BEGIN CERTIFICATE-----%s"
	    "-----END CERTIFICATE-----", b64);
	x5c_ok(s, &cert);
	free(s);

	/* 3. Base64 of the PEM text, and of the PEM without BEGIN. */
	b64pem = crypto_b64_encode((unsigned char *)pem, strlen(pem), false);
	x5c_ok(b64pem, &cert);
	nobegin = strchr(pem, '\n') + 1;
	b64nobegin = crypto_b64_encode((unsigned char *)nobegin,
	    strlen(nobegin), false);
	x5c_ok(b64nobegin, &cert);
	/* The PEM without BEGIN, as text. */
	x5c_ok(nobegin, &cert);

	/* 4. Base64 of base64 of the DER (the JS SDK). */
	b64b64 = crypto_b64_encode((unsigned char *)b64, strlen(b64), false);
	x5c_ok(b64b64, &cert);

	/* Garbage. */
	x5c_bad("");
	x5c_bad("hello");
	x5c_bad("!!!!");
	x5c_bad("aGVsbG8=");			/* "hello" */
	x5c_bad("MAMBAf8=");			/* DER, but a SEQUENCE of BOOLEAN */
	x5c_bad("-----BEGIN CERTIFICATE-----\naGVsbG8=\n");
	x5c_bad("-----BEGIN CERTIFICATE-----\nMAMBAf8=\n-----END CERTIFICATE-----\n");
	x5c_bad(NULL);
	/* Half a certificate. */
	s = crypto_b64_encode(cert.data, cert.len / 2, false);
	x5c_bad(s);
	free(s);
	/* A certificate and a byte more. */
	tmp.len = cert.len + 1;
	tmp.data = malloc(tmp.len);
	memcpy(tmp.data, cert.data, cert.len);
	tmp.data[cert.len] = 0;
	s = crypto_b64_encode(tmp.data, tmp.len, false);
	x5c_bad(s);
	free(s);
	cv_bytes_free(&tmp);
	/* Two certificates in one element. */
	s = pem_of(&cert2);
	two = cv_asprintf("%s%s", pem, s);
	free(s);
	x5c_bad(two);
	b64two = crypto_b64_encode((unsigned char *)two, strlen(two), false);
	x5c_bad(b64two);
	/* Base64 of binary that is not DER. */
	x5c_bad("AAECAwQFBgc=");
	/* Triple base64 is one too many. */
	s = crypto_b64_encode((unsigned char *)b64b64, strlen(b64b64), false);
	x5c_bad(s);
	free(s);

	free(b64two);
	free(two);
	free(b64b64);
	free(b64nobegin);
	free(b64pem);
	free(pem);
	free(b64);
	cv_bytes_free(&cert2);
	cv_bytes_free(&priv2);
	cv_bytes_free(&pub2);
	cv_bytes_free(&cert);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

/*
 * Issue a certificate for csr signed by the CA (cert and key), with
 * GnuTLS directly: merge chains come from CAs we do not run.
 */
static void
issue(const struct cv_bytes *ca_cert, const struct cv_bytes *ca_priv,
    const struct cv_bytes *csr, struct cv_bytes *out)
{
	gnutls_x509_crq_t	 crq;
	gnutls_x509_crt_t	 crt, ca;
	gnutls_x509_privkey_t	 xk;
	gnutls_privkey_t	 pk;
	gnutls_datum_t		 d;
	unsigned char		 serial[8] = { 0x11, 2, 3, 4, 5, 6, 7, 8 };
	time_t			 now = time(NULL);

	d = datum(csr);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_init(&crq), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crq_import(crq, &d,
	    GNUTLS_X509_FMT_DER), 0);
	d = datum(ca_cert);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_init(&ca), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_import(ca, &d,
	    GNUTLS_X509_FMT_DER), 0);
	d = datum(ca_priv);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xk), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_import_pkcs8(xk, &d,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_privkey_init(&pk), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_privkey_import_x509(pk, xk,
	    GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), 0);

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_init(&crt), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_crq(crt, crq), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_crq_extensions(crt, crq), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_version(crt, 3), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_serial(crt, serial,
	    sizeof(serial)), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_activation_time(crt, now), 0);
	CU_ASSERT_EQUAL(gnutls_x509_crt_set_expiration_time(crt,
	    now + 86400), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_privkey_sign(crt, ca, pk,
	    GNUTLS_DIG_SHA256, 0), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_crt_export2(crt,
	    GNUTLS_X509_FMT_DER, &d), 0);
	*out = bytes_of(d.data, d.size);
	gnutls_free(d.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_privkey_deinit(pk);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crq_deinit(crq);
}

/* Make a CSR for subject (ca or not) with a new P-256 key. */
static void
make_csr(const char *subject, bool ca, struct cv_bytes *priv,
    struct cv_bytes *pub, struct cv_bytes *csr)
{
	struct cv_x509_req	 r;
	char			*msg;

	memset(&r, 0, sizeof(r));
	r.subject = subject;
	r.ca = ca;
	r.key_usage = ca ? CV_KU_KEY_CERT_SIGN | CV_KU_CRL_SIGN :
	    CV_KU_DIGITAL_SIGNATURE;
	ec_key(CV_CURVE_P256, priv, pub);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(priv, &r, csr, &msg), CV_OK);
}

/* Check that ders[] (of 3 or 4) is in order leaf, inter, root[, extra]. */
static void
check_order(struct cv_bytes *ders, size_t n, const struct cv_bytes *want)
{
	size_t	 i;

	CU_ASSERT_EQUAL(crypto_x509_chain_order(ders, n, NULL), CV_OK);
	for (i = 0; i < n; i++)
		CU_ASSERT(bytes_eq(&ders[i], &want[i]));
}

static void
test_chain_order(void)
{
	struct cv_bytes		 root_priv, root_pub, root;
	struct cv_bytes		 int_priv, int_pub, int_csr, inter;
	struct cv_bytes		 leaf_priv, leaf_pub, leaf_csr, leaf;
	struct cv_bytes		 x_priv, x_pub, extra;
	struct cv_bytes		 want[4], ders[4], junk = {
	    (unsigned char *)"junk", 4 };
	char			*msg;

	make_cert("CN=Test Root", true, time(NULL), 12, &root_priv,
	    &root_pub, &root);
	make_csr("CN=Test Intermediate", true, &int_priv, &int_pub, &int_csr);
	issue(&root, &root_priv, &int_csr, &inter);
	make_csr("CN=leaf.example", false, &leaf_priv, &leaf_pub, &leaf_csr);
	issue(&inter, &int_priv, &leaf_csr, &leaf);
	make_cert("CN=Unrelated", false, time(NULL), 12, &x_priv, &x_pub,
	    &extra);
	CU_ASSERT_EQUAL(self_verify(&root, true), 0);
	CU_ASSERT(crypto_x509_key_matches(&root, &root_pub));
	CU_ASSERT(crypto_x509_key_matches(&leaf, &leaf_pub));
	CU_ASSERT_FALSE(crypto_x509_key_matches(&leaf, &int_pub));

	want[0] = leaf;
	want[1] = inter;
	want[2] = root;
	want[3] = extra;

	/* Already in order. */
	ders[0] = leaf, ders[1] = inter, ders[2] = root;
	check_order(ders, 3, want);
	/* Reversed. */
	ders[0] = root, ders[1] = inter, ders[2] = leaf;
	check_order(ders, 3, want);
	/* Shuffled. */
	ders[0] = inter, ders[1] = root, ders[2] = leaf;
	check_order(ders, 3, want);
	/* An unrelated certificate first does not become the leaf. */
	ders[0] = extra, ders[1] = root, ders[2] = leaf, ders[3] = inter;
	check_order(ders, 4, want);
	/* One. */
	ders[0] = leaf;
	check_order(ders, 1, want);
	/* A gap (no intermediate): the leaf still comes first, not the
	 * self-issued root, which follows as given. */
	ders[0] = root, ders[1] = leaf;
	CU_ASSERT_EQUAL(crypto_x509_chain_order(ders, 2, NULL), CV_OK);
	CU_ASSERT(bytes_eq(&ders[0], &leaf));
	CU_ASSERT(bytes_eq(&ders[1], &root));
	/* Two unrelated self-signed certificates: left as given. */
	ders[0] = extra, ders[1] = root;
	CU_ASSERT_EQUAL(crypto_x509_chain_order(ders, 2, NULL), CV_OK);
	CU_ASSERT(bytes_eq(&ders[0], &extra));
	CU_ASSERT(bytes_eq(&ders[1], &root));

	CU_ASSERT_EQUAL(crypto_x509_chain_order(ders, 0, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(msg);
	free(msg);
	ders[0] = leaf, ders[1] = junk;
	CU_ASSERT_EQUAL(crypto_x509_chain_order(ders, 2, &msg),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "element 1"));
	free(msg);
	/* Unchanged on error. */
	CU_ASSERT(ders[0].data == leaf.data && ders[1].data == junk.data);

	cv_bytes_free(&extra);
	cv_bytes_free(&x_priv);
	cv_bytes_free(&x_pub);
	cv_bytes_free(&leaf);
	cv_bytes_free(&leaf_csr);
	cv_bytes_free(&leaf_priv);
	cv_bytes_free(&leaf_pub);
	cv_bytes_free(&inter);
	cv_bytes_free(&int_csr);
	cv_bytes_free(&int_priv);
	cv_bytes_free(&int_pub);
	cv_bytes_free(&root);
	cv_bytes_free(&root_priv);
	cv_bytes_free(&root_pub);
}

static void
b64_is(const char *in, size_t len, bool url, const char *want)
{
	char	*s;

	s = crypto_b64_encode((const unsigned char *)in, len, url);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, want);
	free(s);
}

static void
unb64_is(const char *in, bool url, const char *want, size_t wantlen)
{
	struct cv_bytes	 out;

	CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(in, strlen(in), url, &out),
	    CV_OK);
	CU_ASSERT_EQUAL(out.len, wantlen);
	if (out.len == wantlen && wantlen > 0)
		CU_ASSERT_EQUAL(memcmp(out.data, want, wantlen), 0);
	cv_bytes_free(&out);
}

static void
unb64_bad(const char *in, bool url)
{
	struct cv_bytes	 out;

	CU_ASSERT_EQUAL(crypto_b64_decode(in, strlen(in), url, &out),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(out.data);
}

static void
test_b64(void)
{
	unsigned char	 buf[64];
	struct cv_bytes	 out;
	char		*s;
	size_t		 len;
	int		 url;

	/* RFC 4648 section 10 vectors. */
	b64_is("", 0, false, "");
	b64_is("f", 1, false, "Zg==");
	b64_is("fo", 2, false, "Zm8=");
	b64_is("foo", 3, false, "Zm9v");
	b64_is("foobar", 6, false, "Zm9vYmFy");
	b64_is("f", 1, true, "Zg");
	b64_is("fo", 2, true, "Zm8");
	b64_is("\xfb\xff", 2, false, "+/8=");
	b64_is("\xfb\xff", 2, true, "-_8");
	/* Long input: one line, no breaks. */
	memset(buf, 0xab, sizeof(buf));
	s = crypto_b64_encode(buf, sizeof(buf), false);
	CU_ASSERT_EQUAL(strlen(s), 88);
	CU_ASSERT_PTR_NULL(strchr(s, '\n'));
	free(s);

	unb64_is("Zm9vYmFy", false, "foobar", 6);
	unb64_is("Zm9v\nYmFy\r\n", false, "foobar", 6);
	unb64_is(" Zm9v YmFy\t", false, "foobar", 6);
	unb64_is("+/8=", false, "\xfb\xff", 2);
	unb64_is("-_8", true, "\xfb\xff", 2);
	unb64_is("-_8=", true, "\xfb\xff", 2);
	unb64_is("Zg", true, "f", 1);
	unb64_is("Zg==", true, "f", 1);
	unb64_is("", false, "", 0);
	unb64_is("", true, "", 0);

	unb64_bad("Zg", false);		/* padding required */
	unb64_bad("-_8=", false);
	unb64_bad("Zm9v!", false);
	unb64_bad("Zg==Zg==", false);
	unb64_bad("+/8", true);
	unb64_bad("Z", true);
	unb64_bad("Zg=", true);
	unb64_bad("Zg===", true);
	unb64_bad("Z=g", true);
	unb64_bad("Zm9v YmFy", true);	/* no whitespace in url */

	/* Round trips of every length, both alphabets. */
	for (url = 0; url < 2; url++)
		for (len = 0; len <= 40; len++) {
			CU_ASSERT_EQUAL(gnutls_rnd(GNUTLS_RND_NONCE, buf, len),
			    0);
			s = crypto_b64_encode(buf, len, url);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			if (url)
				CU_ASSERT_EQUAL(strcspn(s, "+/="), strlen(s));
			CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(s, strlen(s),
			    url, &out), CV_OK);
			CU_ASSERT_EQUAL(out.len, len);
			if (len > 0)
				CU_ASSERT_EQUAL(memcmp(out.data, buf, len), 0);
			cv_bytes_free(&out);
			free(s);
		}
	/* An x5t: 20 bytes, 27 characters. */
	s = crypto_b64_encode(buf, 20, true);
	CU_ASSERT_EQUAL(strlen(s), 27);
	free(s);
}

/* A scratch directory for key files, removed by rmdir_scratch(). */
static char scratch[] = "/tmp/test_crypto.XXXXXX";

static char *
scratch_path(const char *name)
{

	return cv_asprintf("%s/%s", scratch, name);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	 fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, data, len), (ssize_t)len);
	close(fd);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

static void
test_master(void)
{
	struct cv_master	 m, m2;
	struct stat		 st;
	unsigned char		 zeros[40] = { 0 }, h[32];
	char			*path, *other, hex[17];
	size_t			 i;

	path = scratch_path("master.key");
	CU_ASSERT_EQUAL(crypto_master_create(path), CV_OK);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(st.st_size, 32);
	/* Never overwritten. */
	CU_ASSERT_EQUAL(crypto_master_create(path), CV_ERR_CONFLICT);

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path, &m), CV_OK);
	CU_ASSERT_EQUAL(strlen(m.id), 16);
	CU_ASSERT_EQUAL(strspn(m.id, "0123456789abcdef"), 16);
	CU_ASSERT_EQUAL(gnutls_hash_fast(GNUTLS_DIG_SHA256, m.key,
	    sizeof(m.key), h), 0);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CU_ASSERT_STRING_EQUAL(m.id, hex);
	CU_ASSERT_NOT_EQUAL(memcmp(m.key, zeros, 32), 0);
	/* Two keys differ. */
	other = scratch_path("other.key");
	CU_ASSERT_EQUAL(crypto_master_create(other), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(other, &m2), CV_OK);
	CU_ASSERT_STRING_NOT_EQUAL(m.id, m2.id);
	crypto_master_clear(&m2);
	CU_ASSERT_EQUAL(memcmp(m2.key, zeros, 32), 0);
	CU_ASSERT_EQUAL(m2.id[0], '\0');
	unlink(other);
	free(other);

	/* Readable by others. */
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(m2.id[0], '\0');
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_OK);
	CU_ASSERT_STRING_EQUAL(m.id, m2.id);
	crypto_master_clear(&m2);
	unlink(path);

	/* Wrong lengths. */
	write_file(path, zeros, 31, 0600);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_BAD_PARAMETER);
	write_file(path, zeros, 33, 0600);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_BAD_PARAMETER);
	write_file(path, zeros, 0, 0600);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_BAD_PARAMETER);
	write_file(path, zeros, 32, 0600);
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_OK);
	crypto_master_clear(&m2);
	unlink(path);
	/* Missing; a directory. */
	CU_ASSERT_EQUAL(crypto_master_load(path, &m2), CV_ERR_INTERNAL);
	CU_ASSERT_EQUAL(crypto_master_load(scratch, &m2) == CV_OK, 0);

	crypto_master_clear(&m);
	crypto_master_clear(NULL);
	free(path);
}

static void
test_seal(void)
{
	struct cv_master	 m, m2;
	struct cv_bytes		 plain, sealed, sealed2, out;
	unsigned char		 nonce[CV_SEAL_NONCE_LEN], nonce2[CV_SEAL_NONCE_LEN];
	const char		*aad = "vault=1/cert=web/version=0123";
	char			*path;

	path = scratch_path("seal.key");
	CU_ASSERT_EQUAL_FATAL(crypto_master_create(path), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path, &m), CV_OK);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(crypto_master_create(path), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path, &m2), CV_OK);
	unlink(path);
	free(path);

	rsa_key();
	plain = rsa_priv;
	CU_ASSERT_EQUAL_FATAL(crypto_seal(&m, &plain, aad, &sealed, nonce),
	    CV_OK);
	CU_ASSERT_EQUAL(sealed.len, plain.len + 16);
	/* No plaintext in the sealed bytes. */
	CU_ASSERT_PTR_NULL(memmem(sealed.data, sealed.len, plain.data + 16,
	    32));

	CU_ASSERT_EQUAL_FATAL(crypto_unseal(&m, &sealed, aad, nonce, &out),
	    CV_OK);
	CU_ASSERT(bytes_eq(&out, &plain));
	cv_bytes_free(&out);

	/* Fresh nonce, different ciphertext, for the same plaintext. */
	CU_ASSERT_EQUAL_FATAL(crypto_seal(&m, &plain, aad, &sealed2, nonce2),
	    CV_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(nonce, nonce2, sizeof(nonce)), 0);
	CU_ASSERT_FALSE(bytes_eq(&sealed, &sealed2));
	cv_bytes_free(&sealed2);

	/* A flipped ciphertext byte. */
	sealed.data[3] ^= 0x80;
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(out.data);
	sealed.data[3] ^= 0x80;
	/* A flipped tag byte. */
	sealed.data[sealed.len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);
	sealed.data[sealed.len - 1] ^= 0x01;
	/* Another row's identity. */
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed,
	    "vault=1/cert=web/version=0124", nonce, &out), CV_ERR_INTERNAL);
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, "", nonce, &out),
	    CV_ERR_INTERNAL);
	/* Another nonce. */
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce2, &out),
	    CV_ERR_INTERNAL);
	/* Another master key. */
	CU_ASSERT_EQUAL(crypto_unseal(&m2, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);
	/* Truncated. */
	sealed.len = 10;
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);
	/* Still good once repaired. */
	sealed.len = plain.len + 16;
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce, &out), CV_OK);
	cv_bytes_free(&out);
	cv_bytes_free(&sealed);

	/* Empty plaintext round-trips too. */
	plain.data = NULL;
	plain.len = 0;
	CU_ASSERT_EQUAL_FATAL(crypto_seal(&m, &plain, aad, &sealed, nonce),
	    CV_OK);
	CU_ASSERT_EQUAL(sealed.len, 16);
	CU_ASSERT_EQUAL(crypto_unseal(&m, &sealed, aad, nonce, &out), CV_OK);
	CU_ASSERT_EQUAL(out.len, 0);
	cv_bytes_free(&out);
	cv_bytes_free(&sealed);

	crypto_master_clear(&m);
	crypto_master_clear(&m2);
}

/* The key pool's names of key types, both ways. */
static void
test_keyspec_names(void)
{
	static const char *const names[] = { "RSA-2048", "RSA-3072",
	    "RSA-4096", "EC-P-256", "EC-P-384", "EC-P-521" };
	struct cv_keyspec	 s;
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_TRUE_FATAL(crypto_keyspec_parse(names[i], &s));
		CU_ASSERT_STRING_EQUAL(crypto_keyspec_name(&s), names[i]);
	}
	CU_ASSERT_TRUE(crypto_keyspec_parse("EC-P-384", &s));
	CU_ASSERT_EQUAL(s.kty, CV_KTY_EC);
	CU_ASSERT_EQUAL(s.curve, CV_CURVE_P384);
	CU_ASSERT_EQUAL(s.bits, 384);
	CU_ASSERT_FALSE(crypto_keyspec_parse("RSA-1024", &s));
	CU_ASSERT_FALSE(crypto_keyspec_parse("EC-P-256K", &s));
	CU_ASSERT_FALSE(crypto_keyspec_parse("rsa-2048", &s));
	CU_ASSERT_FALSE(crypto_keyspec_parse("", &s));
	s.kty = CV_KTY_RSA;
	s.bits = 1024;
	CU_ASSERT_PTR_NULL(crypto_keyspec_name(&s));
}

static const struct cu_test tests[] = {
	{ "key: pool names of key types", test_keyspec_names },
	{ "key: RSA 2048, 3072, 4096", test_key_rsa },
	{ "key: EC P-256, P-384, P-521", test_key_ec },
	{ "key: refused sizes and curves", test_key_refused },
	{ "subject: accepted", test_dn_good },
	{ "subject: refused, with the reason", test_dn_bad },
	{ "csr: RSA, every field", test_csr_rsa },
	{ "csr: EC, every field and digest", test_csr_ec },
	{ "csr: subject only", test_csr_minimal },
	{ "csr: bad input", test_csr_bad },
	{ "x509: self-signed", test_self_sign },
	{ "x509: validity arithmetic", test_validity },
	{ "x509: x5t", test_x5t },
	{ "x509: x5c forms", test_x5c },
	{ "x509: chain order and key match", test_chain_order },
	{ "base64 and base64url", test_b64 },
	{ "master key file", test_master },
	{ "seal and unseal", test_seal },
};

int
main(void)
{
	int	 rc;

	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	rc = CU_RUN("crypto", tests);
	rmdir(scratch);
	cv_bytes_free(&rsa_priv);
	cv_bytes_free(&rsa_pub);
	return rc;
}
