/*
 * certvault — unit tests of crypto_jws.c: JWS signatures for ACME.
 * SPDX-License-Identifier: ISC
 *
 * The vectors are RFC 7515's Appendix A: HS256 (A.1), RS256 (A.2, whose
 * PKCS #1 v1.5 signature is deterministic, so ours must equal it), ES256
 * (A.3) and ES512 (A.4), whose ECDSA signatures are random, so we check
 * theirs and round-trip ours.  The RFC's keys are built with GnuTLS here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "certvault.h"
#include "crypto.h"
#include "cu.h"

/* The payload of A.1 to A.3, base64url. */
#define A_PAYLOAD \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

/* RFC 7515 A.1: HS256. */
static const char a1_k[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h"
    "cgUuTwjAzZr1Z9CAow";
static const char a1_input[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." A_PAYLOAD;
static const char a1_sig[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/* RFC 7515 A.2: RS256. */
static char a2_n[] =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
static char a2_e[] = "AQAB";
static const char a2_d[] =
    "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I"
    "jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0"
    "BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn"
    "439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT"
    "CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh"
    "BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
static const char a2_p[] =
    "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi"
    "YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG"
    "BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
static const char a2_q[] =
    "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa"
    "ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA"
    "-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
static const char a2_dp[] =
    "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q"
    "CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb"
    "34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0";
static const char a2_dq[] =
    "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa"
    "7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky"
    "NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU";
static const char a2_qi[] =
    "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o"
    "y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU"
    "W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U";
static const char a2_input[] = "eyJhbGciOiJSUzI1NiJ9." A_PAYLOAD;
static const char a2_sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

/* RFC 7515 A.3: ES256. */
static char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a3_input[] = "eyJhbGciOiJFUzI1NiJ9." A_PAYLOAD;
static const char a3_sig[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 7515 A.4: ES512, over the payload "Payload". */
static char a4_x[] =
    "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_"
    "NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
static char a4_y[] =
    "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDl"
    "y79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";
static const char a4_d[] =
    "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPA"
    "xerEzgdRhajnu0ferB0d53vM9mE15j2C";
static const char a4_input[] = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA";
static const char a4_sig[] =
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

static char kty_rsa[] = "RSA", kty_ec[] = "EC";
static char crv_p256[] = "P-256", crv_p384[] = "P-384", crv_p521[] = "P-521";

static const struct cv_jwk a2_jwk = { kty_rsa, NULL, a2_n, a2_e, NULL, NULL };
static const struct cv_jwk a3_jwk = { kty_ec, crv_p256, NULL, NULL, a3_x,
    a3_y };
static const struct cv_jwk a4_jwk = { kty_ec, crv_p521, NULL, NULL, a4_x,
    a4_y };

/* Decode base64url text, which must be well-formed. */
static struct cv_bytes
b64u(const char *s)
{
	struct cv_bytes	 b;

	CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(s, strlen(s), true, &b),
	    CV_OK);
	return b;
}

static gnutls_datum_t
datum(const struct cv_bytes *b)
{
	gnutls_datum_t	 d = { b->data, (unsigned)b->len };

	return d;
}

/* Export xkey as unencrypted PKCS#8 DER into out, and release it. */
static void
pkcs8_of(gnutls_x509_privkey_t xkey, struct cv_bytes *out)
{
	gnutls_datum_t	 d = { NULL, 0 };

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_export2_pkcs8(xkey,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &d), 0);
	out->data = malloc(d.size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out->data);
	memcpy(out->data, d.data, d.size);
	out->len = d.size;
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	gnutls_x509_privkey_deinit(xkey);
}

/* The RSA key of A.2 as PKCS#8 DER. */
static void
a2_key(struct cv_bytes *out)
{
	gnutls_x509_privkey_t	 xkey;
	struct cv_bytes		 b[8];
	gnutls_datum_t		 d[8];
	const char		*s[8] = { a2_n, a2_e, a2_d, a2_p, a2_q, a2_qi,
	    a2_dp, a2_dq };
	size_t			 i;

	for (i = 0; i < 8; i++) {
		b[i] = b64u(s[i]);
		d[i] = datum(&b[i]);
	}
	/* GnuTLS's order: m, e, d, p, q, u (the coefficient), e1, e2. */
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xkey), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_import_rsa_raw2(xkey,
	    &d[0], &d[1], &d[2], &d[3], &d[4], &d[5], &d[6], &d[7]), 0);
	for (i = 0; i < 8; i++)
		cv_bytes_free(&b[i]);
	pkcs8_of(xkey, out);
}

/* An EC key from its JWK coordinates and private value, as PKCS#8 DER. */
static void
ec_key(gnutls_ecc_curve_t curve, const char *x, const char *y, const char *k,
    struct cv_bytes *out)
{
	gnutls_x509_privkey_t	 xkey;
	struct cv_bytes		 bx, by, bk;
	gnutls_datum_t		 dx, dy, dk;

	bx = b64u(x);
	by = b64u(y);
	bk = b64u(k);
	dx = datum(&bx);
	dy = datum(&by);
	dk = datum(&bk);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xkey), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_import_ecc_raw(xkey, curve,
	    &dx, &dy, &dk), 0);
	cv_bytes_free(&bx);
	cv_bytes_free(&by);
	cv_bytes_free(&bk);
	pkcs8_of(xkey, out);
}

/* A fresh key GnuTLS makes that crypto_key_generate does not. */
static void
gnutls_key(gnutls_pk_algorithm_t algo, unsigned bits, struct cv_bytes *out)
{
	gnutls_x509_privkey_t	 xkey;

	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xkey), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_generate2(xkey, algo, bits,
	    0, NULL, 0), 0);
	pkcs8_of(xkey, out);
}

/* sig with bit 0 of octet at flipped, base64url again; caller frees. */
static char *
flip_bit(const char *sig, size_t at)
{
	struct cv_bytes	 b;
	char		*s;

	b = b64u(sig);
	CU_ASSERT_FATAL(at < b.len);
	b.data[at] ^= 0x01;
	s = crypto_b64_encode(b.data, b.len, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	cv_bytes_free(&b);
	return s;
}

/* The length of sig once decoded, or 0 if it is not base64url. */
static size_t
raw_len(const char *sig)
{
	struct cv_bytes	 b;
	size_t		 n;

	if (crypto_b64_decode(sig, strlen(sig), true, &b) != CV_OK)
		return 0;
	n = b.len;
	cv_bytes_free(&b);
	return n;
}

static void
test_sha256(void)
{
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
	};
	static const unsigned char empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
		0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
		0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
	};
	unsigned char	 out[32];

	crypto_sha256("abc", 3, out);
	CU_ASSERT(memcmp(out, abc, sizeof(out)) == 0);
	crypto_sha256("", 0, out);
	CU_ASSERT(memcmp(out, empty, sizeof(out)) == 0);
}

static void
test_hs256(void)
{
	struct cv_bytes	 k, none = { NULL, 0 };
	char		*sig;

	k = b64u(a1_k);
	CU_ASSERT_EQUAL(k.len, 64);
	CU_ASSERT_EQUAL(crypto_hs256(&k, a1_input, strlen(a1_input), &sig),
	    CV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	CU_ASSERT_STRING_EQUAL(sig, a1_sig);
	free(sig);

	/* One octet more of input, another MAC. */
	CU_ASSERT_EQUAL(crypto_hs256(&k, a1_input, strlen(a1_input) - 1,
	    &sig), CV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	CU_ASSERT_STRING_NOT_EQUAL(sig, a1_sig);
	free(sig);
	cv_bytes_free(&k);

	CU_ASSERT_EQUAL(crypto_hs256(&none, a1_input, strlen(a1_input), &sig),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(sig);
}

static void
test_rs256(void)
{
	struct cv_bytes	 key;
	char		*sig, *bad;

	a2_key(&key);
	CU_ASSERT_STRING_EQUAL(crypto_jws_alg(&key), "RS256");

	/* PKCS #1 v1.5 is deterministic: the RFC's signature, exactly. */
	CU_ASSERT_EQUAL(crypto_jws_sign(&key, a2_input, strlen(a2_input),
	    &sig), CV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	CU_ASSERT_STRING_EQUAL(sig, a2_sig);
	free(sig);

	CU_ASSERT_EQUAL(crypto_jws_verify(&a2_jwk, "RS256", a2_input,
	    strlen(a2_input), a2_sig), CV_OK);
	bad = flip_bit(a2_sig, 100);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a2_jwk, "RS256", a2_input,
	    strlen(a2_input), bad), CV_ERR_BAD_PARAMETER);
	free(bad);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a2_jwk, "RS256", a2_input,
	    strlen(a2_input) - 1, a2_sig), CV_ERR_BAD_PARAMETER);
	/* The right key for another alg. */
	CU_ASSERT_EQUAL(crypto_jws_verify(&a2_jwk, "ES256", a2_input,
	    strlen(a2_input), a2_sig), CV_ERR_BAD_PARAMETER);
	cv_bytes_free(&key);
}

static void
test_es256(void)
{
	struct cv_bytes	 key;
	char		*sig, *bad;

	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", a3_input,
	    strlen(a3_input), a3_sig), CV_OK);
	bad = flip_bit(a3_sig, 40);	/* in S */
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", a3_input,
	    strlen(a3_input), bad), CV_ERR_BAD_PARAMETER);
	free(bad);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES384", a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "RS256", a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);

	ec_key(GNUTLS_ECC_CURVE_SECP256R1, a3_x, a3_y, a3_d, &key);
	CU_ASSERT_STRING_EQUAL(crypto_jws_alg(&key), "ES256");
	CU_ASSERT_EQUAL(crypto_jws_sign(&key, a3_input, strlen(a3_input),
	    &sig), CV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	/* 64 octets of R and S are 86 characters, no padding. */
	CU_ASSERT_EQUAL(strlen(sig), 86);
	CU_ASSERT_EQUAL(raw_len(sig), 64);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", a3_input,
	    strlen(a3_input), sig), CV_OK);
	/* The input tampered with: the payload's first character. */
	bad = strdup(a3_input);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	bad[strlen("eyJhbGciOiJFUzI1NiJ9.")] = 'f';
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", bad, strlen(bad),
	    sig), CV_ERR_BAD_PARAMETER);
	free(bad);
	free(sig);
	cv_bytes_free(&key);
}

static void
test_es512(void)
{
	struct cv_bytes	 key;
	char		*sig;

	/* R of A.4 starts with 0x01: P-521's 66 octets, padding kept. */
	CU_ASSERT_EQUAL(raw_len(a4_sig), 132);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a4_jwk, "ES512", a4_input,
	    strlen(a4_input), a4_sig), CV_OK);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a4_jwk, "ES512", a4_input,
	    strlen(a4_input) - 1, a4_sig), CV_ERR_BAD_PARAMETER);

	ec_key(GNUTLS_ECC_CURVE_SECP521R1, a4_x, a4_y, a4_d, &key);
	CU_ASSERT_STRING_EQUAL(crypto_jws_alg(&key), "ES512");
	CU_ASSERT_EQUAL(crypto_jws_sign(&key, a4_input, strlen(a4_input),
	    &sig), CV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	CU_ASSERT_EQUAL(raw_len(sig), 132);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a4_jwk, "ES512", a4_input,
	    strlen(a4_input), sig), CV_OK);
	free(sig);
	cv_bytes_free(&key);
}

/* Round trips with keys crypto_key_generate makes, through crypto_jwk. */
static void
test_generated(void)
{
	static const struct {
		enum cv_curve	 curve;
		const char	*alg, *other, *crv;
		size_t		 len;
	} t[] = {
		{ CV_CURVE_P256, "ES256", "ES384", "P-256", 64 },
		{ CV_CURVE_P384, "ES384", "ES512", "P-384", 96 },
		{ CV_CURVE_P521, "ES512", "ES256", "P-521", 132 },
	};
	static const char input[] = "eyJhbGciOiJFUzM4NCJ9.e30";
	struct cv_keyspec	 spec;
	struct cv_bytes		 priv, pub;
	struct cv_jwk		 jwk;
	char			*sig, *bad;
	size_t			 i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&spec, 0, sizeof(spec));
		spec.kty = CV_KTY_EC;
		spec.curve = t[i].curve;
		CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &priv, &pub),
		    CV_OK);
		CU_ASSERT_EQUAL_FATAL(crypto_jwk(&pub, &jwk), CV_OK);
		CU_ASSERT_STRING_EQUAL(jwk.crv, t[i].crv);
		CU_ASSERT_STRING_EQUAL(crypto_jws_alg(&priv), t[i].alg);
		/* Random k: every signature verifies, whatever its R. */
		for (j = 0; j < 4; j++) {
			CU_ASSERT_EQUAL(crypto_jws_sign(&priv, input,
			    strlen(input), &sig), CV_OK);
			CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
			CU_ASSERT_EQUAL(raw_len(sig), t[i].len);
			CU_ASSERT_PTR_NULL(strchr(sig, '='));
			CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, t[i].alg,
			    input, strlen(input), sig), CV_OK);
			CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, t[i].other,
			    input, strlen(input), sig), CV_ERR_BAD_PARAMETER);
			CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "RS256",
			    input, strlen(input), sig), CV_ERR_BAD_PARAMETER);
			bad = flip_bit(sig, t[i].len - 1);
			CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, t[i].alg,
			    input, strlen(input), bad), CV_ERR_BAD_PARAMETER);
			free(bad);
			free(sig);
		}
		cv_jwk_free(&jwk);
		cv_bytes_free(&priv);
		cv_bytes_free(&pub);
	}
}

/* Keys, signatures, algs and JWKs that are refused. */
static void
test_refused(void)
{
	static const char *const sigs[] = {
		"", "!!!!", "DtEhU3ljbEg8L38VWAfUAqOy KAM6",
		/* A.3's signature padded, and short by one octet. */
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8I"
		"SlSApmWQxfKTUJqPP3-Kg6NU1Q==",
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8I"
		"SlSApmWQxfKTUJqPP3-Kg6NU",
	};
	static const char *const algs[] = {
		"none", "HS256", "PS256", "EdDSA", "es256", "ES256K", "",
	};
	static char short_x[] = "83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
	struct cv_bytes	 none = { NULL, 0 }, junk, key;
	struct cv_jwk	 jwk;
	unsigned char	 bytes[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	char		*sig;
	size_t		 i;

	/* No key, or bytes that are none: ours, so an internal error. */
	CU_ASSERT_PTR_NULL(crypto_jws_alg(&none));
	CU_ASSERT_EQUAL(crypto_jws_sign(&none, a2_input, strlen(a2_input),
	    &sig), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(sig);
	junk.data = bytes;
	junk.len = sizeof(bytes);
	CU_ASSERT_PTR_NULL(crypto_jws_alg(&junk));
	CU_ASSERT_EQUAL(crypto_jws_sign(&junk, a2_input, strlen(a2_input),
	    &sig), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(sig);

	/* A key JWS has no alg for here. */
	gnutls_key(GNUTLS_PK_EDDSA_ED25519, 256, &key);
	CU_ASSERT_PTR_NULL(crypto_jws_alg(&key));
	CU_ASSERT_EQUAL(crypto_jws_sign(&key, a2_input, strlen(a2_input),
	    &sig), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NULL(sig);
	cv_bytes_free(&key);

	/* Malformed signatures. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", a3_input,
		    strlen(a3_input), sigs[i]), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, "ES256", a3_input,
	    strlen(a3_input), NULL), CV_ERR_BAD_PARAMETER);

	/* Algs we do not verify, whatever the key. */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, algs[i], a3_input,
		    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);
		CU_ASSERT_EQUAL(crypto_jws_verify(&a2_jwk, algs[i], a2_input,
		    strlen(a2_input), a2_sig), CV_ERR_BAD_PARAMETER);
	}
	CU_ASSERT_EQUAL(crypto_jws_verify(&a3_jwk, NULL, a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);

	/* JWKs that do not fit: another curve, a kty missing, x short. */
	jwk = a3_jwk;
	jwk.crv = crv_p384;
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);
	jwk = a3_jwk;
	jwk.kty = NULL;
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);
	jwk = a3_jwk;
	jwk.x = short_x;
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", a3_input,
	    strlen(a3_input), a3_sig), CV_ERR_BAD_PARAMETER);
	jwk = a2_jwk;
	jwk.e = NULL;
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "RS256", a2_input,
	    strlen(a2_input), a2_sig), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(crypto_jws_verify(NULL, "RS256", a2_input,
	    strlen(a2_input), a2_sig), CV_ERR_BAD_PARAMETER);
}

/*
 * RS256 wants 2048 bits or more (RFC 7518 section 3.3): a 1024-bit
 * key's good signature is refused by the verifier.
 */
static void
test_rsa_short(void)
{
	struct cv_bytes		 key;
	gnutls_x509_privkey_t	 xkey;
	gnutls_datum_t		 dk, n = { NULL, 0 }, e = { NULL, 0 };
	struct cv_jwk		 jwk;
	char			*sig;

	gnutls_key(GNUTLS_PK_RSA, 1024, &key);
	CU_ASSERT_STRING_EQUAL(crypto_jws_alg(&key), "RS256");
	CU_ASSERT_EQUAL_FATAL(crypto_jws_sign(&key, a2_input,
	    strlen(a2_input), &sig), CV_OK);

	dk = datum(&key);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_init(&xkey), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_import_pkcs8(xkey, &dk,
	    GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN), 0);
	CU_ASSERT_EQUAL_FATAL(gnutls_x509_privkey_export_rsa_raw2(xkey, &n,
	    &e, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	gnutls_x509_privkey_deinit(xkey);
	memset(&jwk, 0, sizeof(jwk));
	jwk.kty = kty_rsa;
	jwk.n = crypto_b64_encode(n.data, n.size, true);
	jwk.e = crypto_b64_encode(e.data, e.size, true);
	gnutls_free(n.data);
	gnutls_free(e.data);
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "RS256", a2_input,
	    strlen(a2_input), sig), CV_ERR_BAD_PARAMETER);
	free(jwk.n);
	free(jwk.e);
	free(sig);
	cv_bytes_free(&key);
}

static const struct cu_test tests[] = {
	{ "crypto_sha256: FIPS 180-2 \"abc\" and \"\"", test_sha256 },
	{ "crypto_hs256: RFC 7515 A.1", test_hs256 },
	{ "crypto_jws_sign/verify RS256: RFC 7515 A.2, exactly", test_rs256 },
	{ "crypto_jws_sign/verify ES256: RFC 7515 A.3", test_es256 },
	{ "crypto_jws_sign/verify ES512: RFC 7515 A.4", test_es512 },
	{ "crypto_jws_*: generated P-256, P-384, P-521 keys", test_generated },
	{ "crypto_jws_*: refusals", test_refused },
	{ "crypto_jws_verify: RS256 under 2048 bits", test_rsa_short },
};

int
main(void)
{
	int	 rc;

	gnutls_global_init();
	rc = CU_RUN("crypto_jws", tests);
	gnutls_global_deinit();
	return rc;
}
