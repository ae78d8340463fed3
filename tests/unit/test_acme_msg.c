/*
 * certvault — unit tests of acme_msg.c (ACME's JSON, the JWS envelope,
 * JWK thumbprints) and of the crypto helpers the ACME connector uses:
 * the names of a CSR and PEM chains.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme.h"
#include "certvault.h"
#include "crypto.h"
#include "cu.h"

/* RFC 7638, section 3.1: the example RSA key and its thumbprint. */
static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R"
	"K7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9"
	"yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZg"
	"nYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6We"
	"Zu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDK"
	"gw";

static void
test_thumbprint_rfc7638(void)
{
	struct cv_jwk	 k;
	char		 tp[44], *json;

	memset(&k, 0, sizeof(k));
	k.kty = "RSA";
	k.n = (char *)rfc7638_n;
	k.e = "AQAB";
	CU_ASSERT_EQUAL_FATAL(acme_msg_thumbprint(&k, tp), CV_OK);
	CU_ASSERT_STRING_EQUAL(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* The canonical form: required members only, sorted, no spaces. */
	json = acme_msg_jwk_json(&k);
	CU_ASSERT_EQUAL(strncmp(json, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7",
	    33), 0);
	CU_ASSERT_PTR_NULL(strchr(json, ' '));
	free(json);
	memset(&k, 0, sizeof(k));
	CU_ASSERT_EQUAL(acme_msg_thumbprint(&k, tp), CV_ERR_BAD_PARAMETER);
}

/* A JWS decoded back: the protected header as JSON, payload as text. */
static json_t *
jws_open(const char *jws, char **payload, char **input, char **sig)
{
	struct cv_bytes	 b = { NULL, 0 };
	json_t		*doc, *hdr;
	const char	*h, *p;

	doc = json_loads(jws, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	h = json_string_value(json_object_get(doc, "protected"));
	p = json_string_value(json_object_get(doc, "payload"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	*sig = strdup(json_string_value(json_object_get(doc, "signature")));
	*input = cv_asprintf("%s.%s", h, p);
	CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(h, strlen(h), true, &b), CV_OK);
	hdr = json_loadb((const char *)b.data, b.len, 0, NULL);
	cv_bytes_free(&b);
	CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(p, strlen(p), true, &b), CV_OK);
	*payload = cv_strndup(b.data != NULL ? (const char *)b.data : "",
	    b.len);
	cv_bytes_free(&b);
	json_decref(doc);
	return hdr;
}

static void
test_jws(void)
{
	struct cv_keyspec spec = { CV_KTY_EC, 256, CV_CURVE_P256 };
	struct cv_bytes	 priv = { NULL, 0 }, pub = { NULL, 0 };
	struct cv_jwk	 jwk;
	json_t		*hdr;
	char		*jws, *payload, *input, *sig;

	memset(&jwk, 0, sizeof(jwk));
	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &priv, &pub), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_jwk(&pub, &jwk), CV_OK);

	/* newAccount: the jwk in the header, no kid. */
	CU_ASSERT_EQUAL_FATAL(acme_msg_jws(&priv, &jwk, NULL, "n0nce",
	    "https://ca.example/new-acct", "{\"a\":1}", &jws), CV_OK);
	hdr = jws_open(jws, &payload, &input, &sig);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "alg")),
	    "ES256");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr,
	    "nonce")), "n0nce");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.example/new-acct");
	CU_ASSERT_PTR_NULL(json_object_get(hdr, "kid"));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(hdr, "jwk"), "x")), jwk.x);
	CU_ASSERT_STRING_EQUAL(payload, "{\"a\":1}");
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", input, strlen(input),
	    sig), CV_OK);
	input[0] ^= 1;
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", input, strlen(input),
	    sig), CV_ERR_BAD_PARAMETER);
	json_decref(hdr);
	free(jws);
	free(payload);
	free(input);
	free(sig);

	/* POST-as-GET with the kid: empty payload, no jwk. */
	CU_ASSERT_EQUAL_FATAL(acme_msg_jws(&priv, &jwk,
	    "https://ca.example/acct/1", "n2", "https://ca.example/order/7",
	    NULL, &jws), CV_OK);
	hdr = jws_open(jws, &payload, &input, &sig);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "kid")),
	    "https://ca.example/acct/1");
	CU_ASSERT_PTR_NULL(json_object_get(hdr, "jwk"));
	CU_ASSERT_STRING_EQUAL(payload, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(jws, "\"payload\":\"\""));
	CU_ASSERT_EQUAL(crypto_jws_verify(&jwk, "ES256", input, strlen(input),
	    sig), CV_OK);
	json_decref(hdr);
	free(jws);
	free(payload);
	free(input);
	free(sig);
	cv_jwk_free(&jwk);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static void
test_eab(void)
{
	struct cv_bytes	 mac = { NULL, 0 };
	struct cv_jwk	 k;
	json_t		*hdr;
	char		*eab, *err = NULL, *payload, *input, *sig, *want;
	const char	*mac64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nM"
			    "EtxIcGmxBSxu0l1OT";

	memset(&k, 0, sizeof(k));
	k.kty = "RSA";
	k.n = (char *)rfc7638_n;
	k.e = "AQAB";
	CU_ASSERT_EQUAL_FATAL(acme_msg_eab("kid-1", mac64, &k,
	    "https://ca.example/new-acct", &eab, &err), CV_OK);
	hdr = jws_open(eab, &payload, &input, &sig);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "alg")),
	    "HS256");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "kid")),
	    "kid-1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(hdr, "url")),
	    "https://ca.example/new-acct");
	CU_ASSERT_PTR_NULL(json_object_get(hdr, "nonce"));
	/* The payload is the account's jwk; the MAC is over the input. */
	CU_ASSERT_EQUAL(strncmp(payload, "{\"e\":\"AQAB\"", 11), 0);
	CU_ASSERT_EQUAL_FATAL(crypto_b64_decode(mac64, strlen(mac64), true,
	    &mac), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_hs256(&mac, input, strlen(input), &want),
	    CV_OK);
	CU_ASSERT_STRING_EQUAL(sig, want);
	json_decref(hdr);
	free(eab);
	free(payload);
	free(input);
	free(sig);
	free(want);
	cv_bytes_free(&mac);
	CU_ASSERT_EQUAL(acme_msg_eab("kid-1", "not base64url!", &k, "u", &eab,
	    &err), CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
}

static void
test_problem(void)
{
	struct acme_problem	 p;

	CU_ASSERT_TRUE_FATAL(acme_msg_problem("{\"type\":\"urn:ietf:params:"
	    "acme:error:rejectedIdentifier\",\"detail\":\"Error creating new "
	    "order\",\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:"
	    "rejectedIdentifier\",\"detail\":\"blocked by policy\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"bad.example\"}}]}",
	    "application/problem+json", &p));
	CU_ASSERT_STRING_EQUAL(p.detail, "Error creating new order; "
	    "bad.example: blocked by policy");
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code(p.type), ACME_CODE_REJECTED);
	acme_problem_free(&p);
	CU_ASSERT_FALSE(acme_msg_problem("<html>502</html>", "text/html", &p));
	CU_ASSERT_FALSE(acme_msg_problem("{\"detail\":\"x\"}", NULL, &p));
	CU_ASSERT_FALSE(acme_msg_problem(NULL, NULL, &p));
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code("urn:ietf:params:acme:"
	    "error:caa"), ACME_CODE_REJECTED);
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code("urn:ietf:params:acme:"
	    "error:badCSR"), ACME_CODE_REJECTED);
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code("urn:ietf:params:acme:"
	    "error:connection"), ACME_CODE_ISSUER);
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code("urn:ietf:params:acme:"
	    "error:serverInternal"), ACME_CODE_ISSUER);
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code(NULL), ACME_CODE_ISSUER);
	CU_ASSERT_STRING_EQUAL(acme_msg_error_code("about:blank"),
	    ACME_CODE_ISSUER);
}

static void
test_order_authz(void)
{
	struct acme_order	 o;
	struct acme_authz	 a;
	struct acme_dir		 d;
	char			*err = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_msg_order("{\"status\":\"pending\","
	    "\"expires\":\"2026-12-01T00:00:00Z\",\"identifiers\":[],"
	    "\"authorizations\":[\"https://ca/a/1\",\"https://ca/a/2\"],"
	    "\"finalize\":\"https://ca/f/1\"}", &o, &err), CV_OK);
	CU_ASSERT_STRING_EQUAL(o.status, "pending");
	CU_ASSERT_EQUAL(o.authorizations.n, 2);
	CU_ASSERT_STRING_EQUAL(o.authorizations.v[1], "https://ca/a/2");
	CU_ASSERT_STRING_EQUAL(o.finalize, "https://ca/f/1");
	CU_ASSERT_PTR_NULL(o.certificate);
	CU_ASSERT_PTR_NULL(o.error.type);
	acme_order_free(&o);
	CU_ASSERT_EQUAL(acme_msg_order("{\"status\":\"valid\"}", &o, &err),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_PTR_NOT_NULL(err);
	free(err);
	err = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_msg_authz("{\"status\":\"pending\","
	    "\"identifier\":{\"type\":\"dns\",\"value\":\"example.org\"},"
	    "\"wildcard\":true,\"challenges\":[{\"type\":\"dns-01\","
	    "\"url\":\"https://ca/c/1\",\"token\":\"tok-abcdefghijklmnop\","
	    "\"status\":\"pending\"},{\"type\":\"http-01\"},{\"type\":"
	    "\"tls-alpn-01\",\"url\":\"https://ca/c/3\",\"status\":\"invalid\","
	    "\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\","
	    "\"detail\":\"refused\"}}]}", &a, &err), CV_OK);
	CU_ASSERT_STRING_EQUAL(a.identifier, "example.org");
	CU_ASSERT_TRUE(a.wildcard);
	/* The challenge without url and status is left out. */
	CU_ASSERT_EQUAL_FATAL(a.nchallenges, 2);
	CU_ASSERT_STRING_EQUAL(a.challenges[0].token, "tok-abcdefghijklmnop");
	CU_ASSERT_STRING_EQUAL(a.challenges[1].error.detail, "refused");
	acme_authz_free(&a);
	CU_ASSERT_EQUAL(acme_msg_authz("[1]", &a, &err), CV_ERR_BAD_PARAMETER);
	free(err);
	err = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_msg_dir("{\"newNonce\":\"https://ca/n\","
	    "\"newAccount\":\"https://ca/acct\",\"newOrder\":\"https://ca/o\","
	    "\"meta\":{\"externalAccountRequired\":true}}", &d, &err), CV_OK);
	CU_ASSERT_TRUE(d.eab_required);
	CU_ASSERT_STRING_EQUAL(d.new_order, "https://ca/o");
	acme_dir_free(&d);
	CU_ASSERT_EQUAL(acme_msg_dir("{\"newNonce\":\"x\"}", &d, &err),
	    CV_ERR_BAD_PARAMETER);
	free(err);
}

static void
test_state_and_bodies(void)
{
	struct acme_state	 s, back;
	struct cv_strlist	 names, emails;
	char			*rec[] = { "_acme-challenge.a.example. v1", NULL };
	char			*n[] = { "a.example", "*.a.example", NULL };
	char			*json;

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(acme_msg_state("{}", &back), CV_OK);
	CU_ASSERT_PTR_NULL(back.order_url);
	acme_state_free(&back);
	s.order_url = "https://ca/order/1";
	s.dns_records.v = rec;
	s.dns_records.n = 1;
	s.transient = 3;
	json = acme_msg_state_json(&s);
	CU_ASSERT_EQUAL_FATAL(acme_msg_state(json, &back), CV_OK);
	CU_ASSERT_STRING_EQUAL(back.order_url, "https://ca/order/1");
	CU_ASSERT_EQUAL(back.dns_records.n, 1);
	CU_ASSERT_STRING_EQUAL(back.dns_records.v[0], rec[0]);
	CU_ASSERT_EQUAL(back.transient, 3);
	acme_state_free(&back);
	free(json);
	CU_ASSERT_EQUAL(acme_msg_state("not json", &back),
	    CV_ERR_BAD_PARAMETER);

	names.v = n;
	names.n = 2;
	json = acme_msg_new_order(&names);
	CU_ASSERT_STRING_EQUAL(json, "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.example\"},{\"type\":\"dns\",\"value\":"
	    "\"*.a.example\"}]}");
	free(json);

	acme_msg_emails("[{\"first_name\":\"A\",\"email\":\"a@x.example\"},"
	    "{\"phone\":\"1\"},{\"email\":\"b@x.example\"}]", &emails);
	CU_ASSERT_EQUAL_FATAL(emails.n, 2);
	json = acme_msg_new_account(&emails, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"termsOfServiceAgreed\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "[\"mailto:a@x.example\","
	    "\"mailto:b@x.example\"]"));
	CU_ASSERT_PTR_NULL(strstr(json, "externalAccountBinding"));
	free(json);
	cv_strlist_free(&emails);
	acme_msg_emails("{oops", &emails);
	CU_ASSERT_EQUAL(emails.n, 0);
}

/* crypto_csr_names and crypto_x509_pem_chain, as the connector uses them. */
static void
test_csr_names_and_chain(void)
{
	struct cv_keyspec spec = { CV_KTY_EC, 256, CV_CURVE_P256 };
	struct cv_bytes	 priv = { NULL, 0 }, pub = { NULL, 0 };
	struct cv_bytes	 csr = { NULL, 0 }, spki = { NULL, 0 };
	struct cv_bytes	 cert = { NULL, 0 }, *ders = NULL;
	struct cv_x509_req r;
	struct cv_strlist names;
	char		*dns[] = { "www.Example.org", "example.org", "*.example.org",
			    NULL };
	char		*msg = NULL, *pem = NULL, *two;
	size_t		 n = 0, i;

	CU_ASSERT_EQUAL_FATAL(crypto_key_generate(&spec, &priv, &pub), CV_OK);
	memset(&r, 0, sizeof(r));
	r.subject = "CN=example.org,O=Example";
	r.dns_names.v = dns;
	r.dns_names.n = 3;
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_names(&csr, &names, &spki), CV_OK);
	/* CN first, then the SANs, lower-cased, each once. */
	CU_ASSERT_EQUAL_FATAL(names.n, 3);
	CU_ASSERT_STRING_EQUAL(names.v[0], "example.org");
	CU_ASSERT_STRING_EQUAL(names.v[1], "www.example.org");
	CU_ASSERT_STRING_EQUAL(names.v[2], "*.example.org");
	CU_ASSERT_EQUAL(spki.len, pub.len);
	CU_ASSERT_EQUAL(memcmp(spki.data, pub.data, pub.len), 0);
	cv_strlist_free(&names);
	cv_bytes_free(&spki);
	cv_bytes_free(&csr);

	/* A CN that is no DNS name is left out. */
	r.subject = "CN=Example Server";
	r.dns_names.n = 0;
	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_csr_names(&csr, &names, &spki), CV_OK);
	CU_ASSERT_EQUAL(names.n, 0);
	cv_strlist_free(&names);
	cv_bytes_free(&spki);
	csr.data[csr.len / 2] ^= 0xff;
	csr.len /= 2;
	CU_ASSERT_EQUAL(crypto_csr_names(&csr, &names, &spki),
	    CV_ERR_BAD_PARAMETER);
	cv_bytes_free(&csr);

	CU_ASSERT_EQUAL_FATAL(crypto_csr_make(&priv, &r, &csr, &msg), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_self_sign(&priv, &csr, 12,
	    time(NULL), &cert), CV_OK);
	cv_bytes_free(&csr);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_pem(&cert, &pem), CV_OK);
	two = cv_asprintf("%s\n%s", pem, pem);
	CU_ASSERT_EQUAL_FATAL(crypto_x509_pem_chain(two, strlen(two), &ders,
	    &n), CV_OK);
	CU_ASSERT_EQUAL(n, 2);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(ders[i].len, cert.len);
		CU_ASSERT_EQUAL(memcmp(ders[i].data, cert.data, cert.len), 0);
		cv_bytes_free(&ders[i]);
	}
	free(ders);
	CU_ASSERT_EQUAL(crypto_x509_pem_chain("no pem here", 11, &ders, &n),
	    CV_ERR_BAD_PARAMETER);
	CU_ASSERT_EQUAL(n, 0);
	free(two);
	free(pem);
	free(msg);
	cv_bytes_free(&cert);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
}

static const struct cu_test tests[] = {
	{ "acme_msg_thumbprint: RFC 7638 3.1", test_thumbprint_rfc7638 },
	{ "acme_msg_jws: jwk and kid forms verify", test_jws },
	{ "acme_msg_eab: HS256 over the account jwk", test_eab },
	{ "acme_msg_problem and Key Vault error codes", test_problem },
	{ "acme_msg_order, _authz, _dir", test_order_authz },
	{ "acme_msg_state, new order, new account", test_state_and_bodies },
	{ "crypto_csr_names, crypto_x509_pem_chain", test_csr_names_and_chain },
};

int
main(void)
{

	return CU_RUN("acme_msg", tests);
}
