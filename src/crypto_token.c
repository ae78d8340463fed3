/*
 * certvault — access tokens and random identifiers.
 * SPDX-License-Identifier: ISC
 *
 * A token is "cv_" and 32 random bytes in hex.  Only its SHA-256 is ever
 * stored; because the token carries 256 bits of entropy, an unsalted
 * fast hash is enough and lets the lookup use a unique index.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "certvault.h"
#include "crypto.h"
#include "log.h"

/*
 * Write nbytes random bytes as lowercase hex (2 * nbytes characters and a
 * NUL) into out.  Version and request ids use this with nbytes 16.
 */
enum cv_err
crypto_random_hex(char *out, size_t nbytes)
{
	unsigned char	 buf[64];
	static const char hex[] = "0123456789abcdef";
	size_t		 i;
	int		 rc;

	if (nbytes > sizeof(buf))
		return CV_ERR_INTERNAL;
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, buf, nbytes)) < 0) {
		log_error("could not get random bytes: %s",
		    gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 0xf];
	}
	out[2 * nbytes] = '\0';
	return CV_OK;
}

/*
 * A random uuid-shaped id (8-4-4-4-12 hex) into out: the associated data
 * that binds a sealed key or credential to its row, fresh for every row.
 */
enum cv_err
crypto_random_uuid(char out[37])
{
	char		 hex[33];
	enum cv_err	 er;

	if ((er = crypto_random_hex(hex, 16)) != CV_OK)
		return er;
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
	return CV_OK;
}

/* Make a new access token into out (CV_TOKEN_LEN characters and a NUL). */
enum cv_err
crypto_token_new(char out[CV_TOKEN_LEN + 1])
{
	unsigned char	 buf[32];
	static const char hex[] = "0123456789abcdef";
	size_t		 i;
	int		 rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_KEY, buf, sizeof(buf))) < 0) {
		log_error("could not get random bytes: %s",
		    gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	memcpy(out, CV_TOKEN_PREFIX, 3);
	for (i = 0; i < sizeof(buf); i++) {
		out[3 + 2 * i] = hex[buf[i] >> 4];
		out[3 + 2 * i + 1] = hex[buf[i] & 0xf];
	}
	out[CV_TOKEN_LEN] = '\0';
	gnutls_memset(buf, 0, sizeof(buf));
	return CV_OK;
}

/* True if s looks like one of our tokens (saves a database round trip). */
bool
crypto_token_wellformed(const char *s)
{
	size_t	 i;

	if (strncmp(s, CV_TOKEN_PREFIX, 3) != 0 || strlen(s) != CV_TOKEN_LEN)
		return false;
	for (i = 3; i < CV_TOKEN_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* SHA-256 of the token text: the only form in which tokens are stored. */
void
crypto_token_hash(const char *token, unsigned char out[CV_TOKEN_HASH_LEN])
{
	int	 rc;

	if ((rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token),
	    out)) < 0)
		fatal("SHA-256 not available: %s", gnutls_strerror(rc));
}

/* Wipe secret bytes so the compiler cannot drop the store. */
void
crypto_wipe(void *p, size_t n)
{

	gnutls_memset(p, 0, n);
}
