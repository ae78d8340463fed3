/*
 * certvault — base64 as the wire wants it.  SPDX-License-Identifier: ISC
 *
 * Standard base64 with padding for `cer`, `csr` and `x5c`; base64url
 * without padding (RFC 4648 section 5) for `x5t`.  GnuTLS does the
 * coding: gnutls_base64_encode2() writes bare standard base64 (padding,
 * no line breaks, no PEM armour) and gnutls_base64_decode2() takes bare
 * standard base64, skipping whitespace and line breaks but insisting on
 * padding and canonical trailing bits.  We only translate the url
 * alphabet and restore its padding.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "certvault.h"
#include "crypto.h"
#include "log.h"

/* Beyond this GnuTLS's unsigned sizes could overflow; nothing is so big. */
#define B64_MAX	(INT_MAX / 2)

/*
 * Encode len bytes of data: standard base64 with padding, or, if url,
 * base64url without padding (20 bytes give 27 characters).  Returns a
 * new NUL-terminated string the caller frees with free(), or NULL (logged)
 * only if len is absurd or GnuTLS fails.
 */
char *
crypto_b64_encode(const unsigned char *data, size_t len, bool url)
{
	gnutls_datum_t	 in, out = { NULL, 0 };
	char		*s;
	size_t		 i, n;
	int		 rc;

	if (len == 0)
		return cv_strdup("");
	if (len > B64_MAX) {
		log_error("base64 input too large (%zu bytes)", len);
		return NULL;
	}
	in.data = (unsigned char *)data;
	in.size = (unsigned)len;
	if ((rc = gnutls_base64_encode2(&in, &out)) < 0) {
		log_error("could not encode base64: %s", gnutls_strerror(rc));
		return NULL;
	}
	/* out.size counts the characters; the datum is NUL-terminated. */
	s = cv_strndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	if (!url)
		return s;
	for (i = n = 0; s[i] != '\0'; i++) {
		if (s[i] == '=')
			break;
		s[n++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[n] = '\0';
	return s;
}

/*
 * Translate base64url text into standard base64 with its padding
 * restored.  Padding in the input is optional; any character outside the
 * url alphabet (whitespace included) fails.  Returns a new string
 * (caller frees) or NULL if the text is not base64url.
 */
static char *
url_to_std(const char *text, size_t len)
{
	char	*s;
	size_t	 i, n, pad = 0;
	char	 c;

	s = cv_malloc(len + 4);
	for (i = n = 0; i < len; i++) {
		c = text[i];
		if (c == '=') {
			/* Only as trailing padding: at most two, at the end. */
			if (++pad > 2)
				goto fail;
			continue;
		}
		if (pad > 0)
			goto fail;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			s[n++] = c;
		else if (c == '-')
			s[n++] = '+';
		else if (c == '_')
			s[n++] = '/';
		else
			goto fail;
	}
	if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
		goto fail;
	while (n % 4 != 0)
		s[n++] = '=';
	s[n] = '\0';
	return s;
fail:
	free(s);
	return NULL;
}

/*
 * Decode len characters of text: standard base64 (whitespace and line
 * breaks ignored, padding required) or, if url, base64url (padding
 * optional, no whitespace).  On success out holds the bytes (caller frees
 * with cv_bytes_free; empty text gives empty bytes).  Returns CV_OK or
 * CV_ERR_BAD_PARAMETER; out is empty unless CV_OK.
 */
enum cv_err
crypto_b64_decode(const char *text, size_t len, bool url, struct cv_bytes *out)
{
	gnutls_datum_t	 in, dec = { NULL, 0 };
	char		*std = NULL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (len > B64_MAX)
		return CV_ERR_BAD_PARAMETER;
	if (url) {
		if ((std = url_to_std(text, len)) == NULL)
			return CV_ERR_BAD_PARAMETER;
		text = std;
		len = strlen(std);
	}
	if (len == 0) {
		free(std);
		return CV_OK;
	}
	in.data = (unsigned char *)text;
	in.size = (unsigned)len;
	rc = gnutls_base64_decode2(&in, &dec);
	free(std);
	if (rc < 0)
		return CV_ERR_BAD_PARAMETER;
	if (dec.data == NULL)	/* only whitespace */
		return CV_OK;
	out->data = cv_malloc(dec.size > 0 ? dec.size : 1);
	memcpy(out->data, dec.data, dec.size);
	out->len = dec.size;
	gnutls_memset(dec.data, 0, dec.size);
	gnutls_free(dec.data);
	return CV_OK;
}
