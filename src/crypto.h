/*
 * certvault — cryptography through GnuTLS: tokens, random identifiers.
 * SPDX-License-Identifier: ISC
 *
 * Only crypto_*.c include GnuTLS headers.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include "certvault.h"

enum cv_err crypto_random_hex(char *, size_t);
enum cv_err crypto_token_new(char [CV_TOKEN_LEN + 1]);
void	crypto_token_hash(const char *, unsigned char [CV_TOKEN_HASH_LEN]);
bool	crypto_token_wellformed(const char *);
void	crypto_wipe(void *, size_t);

#endif /* CRYPTO_H */
