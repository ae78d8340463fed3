/*
 * certvault — fuzz target: the certificate data of an import (POST
 * …/import): PKCS#12 in base64 and PEM text (crypto_import_parse), then
 * what h_import.c reads from the result: the key's type
 * (crypto_key_public, crypto_key_spec), the leaf (crypto_x509_describe,
 * crypto_x509_info) and the policy derived from it.
 * SPDX-License-Identifier: ISC
 *
 * Input: one flags byte, then [password '\n'] value.
 *   bit 0  pem_hint (the policy's contentType is application/x-pem-file)
 *   bit 1  a password comes first, up to the first '\n'
 *   bit 2  value is raw bytes (a PKCS#12 file) the target base64-encodes,
 *          so that mutations reach the DER parser directly; else the
 *          value is used as the text the client sent
 */
#include "config.h"

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

/* What h_import.c does with an import that parsed. */
static void
after_import(const struct cv_import *imp, bool pem)
{
	struct cv_bytes		 pub = { NULL, 0 };
	struct cv_keyspec	 key;
	struct cv_x509_req	 x;
	struct cv_x509_info	 info;
	struct cv_policy	 p;
	unsigned		 months = 12;
	char			*derived = NULL, *msg = NULL;

	FUZZ_ASSERT(imp->key.len > 0 && imp->ncerts > 0);
	if (crypto_key_public(&imp->key, &pub) != CV_OK ||
	    crypto_key_spec(&pub, &key) != CV_OK)
		goto out;
	(void)crypto_x509_key_matches(&imp->certs[0], &pub);
	memset(&x, 0, sizeof(x));
	if (crypto_x509_describe(&imp->certs[0], &x, &months) != CV_OK)
		goto out;
	if (kv_json_policy_from_cert(&key, &x, months, pem ?
	    "application/x-pem-file" : "application/x-pkcs12", &derived) ==
	    CV_OK && kv_json_policy_parse(derived, &p, &msg) == CV_OK)
		kv_policy_free(&p);
	cv_x509_req_free(&x);
	if (crypto_x509_info(&imp->certs[0], &info) == CV_OK)
		cv_x509_info_free(&info);
out:
	free(derived);
	free(msg);
	cv_bytes_free(&pub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_import	 imp;
	const uint8_t		*nl;
	char			*pwd = NULL, *value, *msg;
	unsigned		 flags;
	bool			 pem_hint;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	flags = data[0];
	data++;
	size--;
	pem_hint = (flags & 1) != 0;
	if (flags & 2) {
		if ((nl = memchr(data, '\n', size)) == NULL)
			return 0;
		pwd = fuzz_str(data, (size_t)(nl - data));
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	if (flags & 4)
		value = crypto_b64_encode(data, size, false);
	else
		value = fuzz_str(data, size);
	if (crypto_import_parse(value, pwd, pem_hint, &imp, &msg) == CV_OK) {
		FUZZ_ASSERT(msg == NULL);
		after_import(&imp, strstr(value, "-----BEGIN") != NULL);
		cv_import_free(&imp);
	} else
		free(msg);
	free(value);
	free(pwd);
	return 0;
}
