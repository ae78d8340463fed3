/*
 * certvault — what crypto_*.c share: key import and GnuTLS datums.
 * SPDX-License-Identifier: ISC
 *
 * Private to the crypto concern; only crypto_*.c include it (and GnuTLS).
 */
#ifndef CRYPTO_INT_H
#define CRYPTO_INT_H

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "crypto.h"

enum cv_err crypto_privkey_import(const struct cv_bytes *, gnutls_privkey_t *);
gnutls_digest_algorithm_t crypto_sign_digest(gnutls_privkey_t);
void	crypto_datum_move(gnutls_datum_t *, struct cv_bytes *);

#endif /* CRYPTO_INT_H */
