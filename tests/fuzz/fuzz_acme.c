/*
 * certvault — fuzz target: what an ACME CA (RFC 8555) sends back to
 * certvault-worker: the directory, orders, authorizations, problem
 * documents, the certificate chain (PEM), and the provider_state the
 * worker keeps between runs; plus the CSR whose names an order asks for.
 * SPDX-License-Identifier: ISC
 *
 * Input: one selector byte, then the document.
 *   0 directory (acme_msg_dir)      1 problem (acme_msg_problem)
 *   2 order (acme_msg_order)        3 authorization (acme_msg_authz)
 *   4 provider_state (acme_msg_state; what parses must write back and
 *     parse to the same)
 *   5 an issuer's admin_details (acme_msg_emails)
 *   6 a problem type (acme_msg_error_code)
 *   7 certificate chain, application/pem-certificate-chain
 *     (crypto_x509_pem_chain)
 *   8 a CSR, DER (crypto_csr_names)
 */
#include "config.h"

#include "certvault.h"
#include "acme.h"
#include "crypto.h"
#include "fuzz.h"

#define NSEL	9

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

static void
state_roundtrip(const char *text)
{
	struct acme_state	 s, again;
	char			*out;
	size_t			 i;

	if (acme_msg_state(text, &s) != CV_OK)
		return;
	FUZZ_ASSERT((out = acme_msg_state_json(&s)) != NULL);
	FUZZ_ASSERT(acme_msg_state(out, &again) == CV_OK);
	FUZZ_ASSERT(again.transient == s.transient);
	FUZZ_ASSERT((again.order_url == NULL) == (s.order_url == NULL));
	FUZZ_ASSERT(again.dns_records.n == s.dns_records.n);
	for (i = 0; i < s.dns_records.n; i++)
		FUZZ_ASSERT(strcmp(again.dns_records.v[i],
		    s.dns_records.v[i]) == 0);
	acme_state_free(&again);
	acme_state_free(&s);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_dir		 d;
	struct acme_problem	 p;
	struct acme_order	 o;
	struct acme_authz	 a;
	struct cv_strlist	 l;
	struct cv_bytes		*ders, csr, spki;
	char			*text, *err = NULL;
	size_t			 n, i;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	text = fuzz_str(data + 1, size - 1);
	switch (data[0] % NSEL) {
	case 0:
		if (acme_msg_dir(text, &d, &err) == CV_OK)
			acme_dir_free(&d);
		break;
	case 1:
		if (acme_msg_problem(text, "application/problem+json", &p)) {
			FUZZ_ASSERT(p.type != NULL && p.detail != NULL);
			(void)acme_msg_error_code(p.type);
			acme_problem_free(&p);
		}
		break;
	case 2:
		if (acme_msg_order(text, &o, &err) == CV_OK)
			acme_order_free(&o);
		break;
	case 3:
		if (acme_msg_authz(text, &a, &err) == CV_OK) {
			for (i = 0; i < a.nchallenges; i++)
				FUZZ_ASSERT(a.challenges[i].type != NULL &&
				    a.challenges[i].url != NULL &&
				    a.challenges[i].status != NULL);
			acme_authz_free(&a);
		}
		break;
	case 4:
		state_roundtrip(text);
		break;
	case 5:
		acme_msg_emails(text, &l);
		cv_strlist_free(&l);
		break;
	case 6:
		(void)acme_msg_error_code(text);
		break;
	case 7:
		if (crypto_x509_pem_chain((const char *)data + 1, size - 1,
		    &ders, &n) == CV_OK) {
			FUZZ_ASSERT(n > 0);
			for (i = 0; i < n; i++)
				cv_bytes_free(&ders[i]);
			free(ders);
		}
		break;
	case 8:
		csr.data = (unsigned char *)data + 1;
		csr.len = size - 1;
		if (crypto_csr_names(&csr, &l, &spki) == CV_OK) {
			FUZZ_ASSERT(spki.len > 0);
			cv_strlist_free(&l);
			cv_bytes_free(&spki);
		}
		break;
	}
	free(err);
	free(text);
	return 0;
}
