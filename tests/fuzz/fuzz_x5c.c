/*
 * certvault — fuzz target: the x5c of a merge (POST …/pending/merge):
 * each element decoded (crypto_x509_decode_x5c: base64 of DER, PEM,
 * base64 of PEM, base64 of base64), the chain put in order
 * (crypto_x509_chain_order), and the leaf read (crypto_x509_info,
 * crypto_x509_describe), as h_pending.c does.
 * SPDX-License-Identifier: ISC
 *
 * Input: one selector byte, then
 *   even  the x5c elements as text (what the JSON strings hold),
 *         separated by NUL bytes
 *   odd   raw certificates, each a 2-byte big-endian length and that
 *         many bytes of DER; the target base64-encodes them, so that
 *         mutations reach the DER parser directly
 */
#include "config.h"

#include "certvault.h"
#include "crypto.h"
#include "fuzz.h"

#define MAX_CERTS	8

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

/* Split length-prefixed DERs into base64 text elements. */
static size_t
raw_elements(const uint8_t *data, size_t size, char **out)
{
	size_t	 n = 0, len;

	while (n < MAX_CERTS && size >= 2) {
		len = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		out[n++] = crypto_b64_encode(data, len, false);
		data += len;
		size -= len;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_bytes		 der[MAX_CERTS];
	struct cv_x509_info	 info;
	struct cv_x509_req	 x;
	char			*el[MAX_CERTS], *msg;
	size_t			 n, i, ok = 0;
	unsigned		 months;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (data[0] % 2 == 0)
		n = fuzz_split(data + 1, size - 1, '\0', el, MAX_CERTS);
	else
		n = raw_elements(data + 1, size - 1, el);
	memset(der, 0, sizeof(der));
	for (i = 0; i < n; i++) {
		if (crypto_x509_decode_x5c(el[i], &der[ok], &msg) == CV_OK) {
			FUZZ_ASSERT(msg == NULL && der[ok].len > 0);
			ok++;
		} else {
			FUZZ_ASSERT(msg != NULL && der[ok].data == NULL);
			free(msg);
		}
	}
	if (ok > 0 && crypto_x509_chain_order(der, ok, &msg) == CV_OK) {
		if (crypto_x509_info(&der[0], &info) == CV_OK)
			cv_x509_info_free(&info);
		memset(&x, 0, sizeof(x));
		if (crypto_x509_describe(&der[0], &x, &months) == CV_OK)
			cv_x509_req_free(&x);
		if (ok > 1)
			(void)crypto_x509_key_matches(&der[0], &der[1]);
	} else if (ok > 0)
		free(msg);
	for (i = 0; i < ok; i++)
		cv_bytes_free(&der[i]);
	fuzz_pieces_free(el, n);
	return 0;
}
