/*
 * certvault — cryptography through GnuTLS: keys, sealing, CSRs, X.509,
 * tokens.  SPDX-License-Identifier: ISC
 *
 * Only crypto_*.c include GnuTLS headers; everything crosses this
 * boundary as DER bytes in struct cv_bytes or as plain C types.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stdint.h>
#include <time.h>

#include "certvault.h"

/* struct cv_bytes is in certvault.h; this wipes and frees, accepts empties. */
void	cv_bytes_free(struct cv_bytes *);

/* crypto_token.c: access tokens and random identifiers */
enum cv_err crypto_random_hex(char *, size_t);
enum cv_err crypto_random_uuid(char [37]);
enum cv_err crypto_token_new(char [CV_TOKEN_LEN + 1]);
void	crypto_token_hash(const char *, unsigned char [CV_TOKEN_HASH_LEN]);
bool	crypto_token_wellformed(const char *);
void	crypto_wipe(void *, size_t);

/* crypto_key.c: key pairs */
enum cv_kty {
	CV_KTY_RSA = 0,
	CV_KTY_EC,
	CV_KTY__MAX
};

enum cv_curve {
	CV_CURVE_NONE = 0,
	CV_CURVE_P256,
	CV_CURVE_P384,
	CV_CURVE_P521,
	CV_CURVE__MAX
};

struct cv_keyspec {
	enum cv_kty	 kty;
	unsigned	 bits;		/* RSA: 2048, 3072, 4096; EC: 256/384/521 */
	enum cv_curve	 curve;		/* EC only */
};

enum cv_err crypto_key_generate(const struct cv_keyspec *, struct cv_bytes *,
	    struct cv_bytes *);
enum cv_err crypto_key_public(const struct cv_bytes *, struct cv_bytes *);
const char *crypto_keyspec_name(const struct cv_keyspec *);
bool	crypto_keyspec_parse(const char *, struct cv_keyspec *);

/* crypto_seal.c: private keys at rest, AES-256-GCM under the master key */
#define CV_SEAL_NONCE_LEN 12
#define CV_MASTER_KEY_LEN 32

struct cv_master {
	unsigned char	 key[CV_MASTER_KEY_LEN];
	char		 id[17];	/* 16 hex chars naming the key */
	/*
	 * The keyring: previous master keys (master_key_previous_files),
	 * owned by the current key and used only to unseal rows sealed
	 * before a rotation; crypto_master_for() picks one by id.
	 */
	struct cv_master *prev;
	size_t		 nprev;
};

enum cv_err crypto_master_create(const char *);
enum cv_err crypto_master_load(const char *, struct cv_master *);
void	crypto_master_clear(struct cv_master *);
const struct cv_master *crypto_master_get(const char *);
enum cv_err crypto_seal(const struct cv_master *, const struct cv_bytes *,
	    const char *, struct cv_bytes *, unsigned char [CV_SEAL_NONCE_LEN]);
enum cv_err crypto_unseal(const struct cv_master *, const struct cv_bytes *,
	    const char *, const unsigned char [CV_SEAL_NONCE_LEN],
	    struct cv_bytes *);
enum cv_err crypto_master_load_previous(struct cv_master *, const char *);
const struct cv_master *crypto_master_for(const struct cv_master *,
	    const char *);
enum cv_err crypto_unseal_any(const struct cv_master *, const struct cv_bytes *,
	    const char *, const unsigned char [CV_SEAL_NONCE_LEN],
	    struct cv_bytes *);
void	crypto_master_previous(const char *);

/* crypto_csr.c and crypto_x509.c: requests and certificates */

/* Key usage bits, in Key Vault's (and X.509's) order. */
enum cv_ku {
	CV_KU_DIGITAL_SIGNATURE = 1u << 0,
	CV_KU_NON_REPUDIATION = 1u << 1,
	CV_KU_KEY_ENCIPHERMENT = 1u << 2,
	CV_KU_DATA_ENCIPHERMENT = 1u << 3,
	CV_KU_KEY_AGREEMENT = 1u << 4,
	CV_KU_KEY_CERT_SIGN = 1u << 5,
	CV_KU_CRL_SIGN = 1u << 6,
	CV_KU_ENCIPHER_ONLY = 1u << 7,
	CV_KU_DECIPHER_ONLY = 1u << 8
};

/* What a CSR (and a certificate made from it) says. */
struct cv_x509_req {
	const char		*subject;	/* RFC 4514 DN, e.g. "CN=a,O=b" */
	struct cv_strlist	 dns_names;
	struct cv_strlist	 emails;
	struct cv_strlist	 upns;		/* otherName UPN */
	struct cv_strlist	 uris;
	struct cv_strlist	 ips;		/* IPv4 or IPv6 text */
	unsigned		 key_usage;	/* enum cv_ku bits; 0: none */
	struct cv_strlist	 ekus;		/* dotted OIDs */
	bool			 ca;		/* basic constraints */
};

/* Facts read from a certificate. */
struct cv_x509_info {
	unsigned char	 x5t[20];	/* SHA-1 of the DER */
	struct cv_bytes	 serial;
	time_t		 not_before, not_after;
	char		*subject;	/* RFC 4514 */
	char		*issuer;
};

void	cv_x509_info_free(struct cv_x509_info *);

enum cv_err crypto_dn_check(const char *, char **);
enum cv_err crypto_csr_make(const struct cv_bytes *, const struct cv_x509_req *,
	    struct cv_bytes *, char **);
enum cv_err crypto_x509_self_sign(const struct cv_bytes *,
	    const struct cv_bytes *, unsigned, time_t, struct cv_bytes *);
enum cv_err crypto_x509_info(const struct cv_bytes *, struct cv_x509_info *);
enum cv_err crypto_x509_decode_x5c(const char *, struct cv_bytes *, char **);
bool	crypto_x509_key_matches(const struct cv_bytes *, const struct cv_bytes *);
enum cv_err crypto_x509_chain_order(struct cv_bytes *, size_t, char **);
enum cv_err crypto_x509_pem_chain(const char *, size_t, struct cv_bytes **,
	    size_t *);
enum cv_err crypto_csr_names(const struct cv_bytes *, struct cv_strlist *,
	    struct cv_bytes *);
/* crypto_x509.c: the LocalCA (a CA made and kept by the vault) */
enum cv_err crypto_ca_make(const char *, time_t, struct cv_bytes *,
	    struct cv_bytes *);
enum cv_err crypto_x509_ca_sign(const struct cv_bytes *,
	    const struct cv_bytes *, const struct cv_bytes *, unsigned, time_t,
	    struct cv_bytes *);
enum cv_err crypto_x509_pem(const struct cv_bytes *, char **);

/* crypto_p12.c: a certificate with its key, in and out */

/* What an import brings: the key (PKCS#8 DER) and the chain, leaf first. */
struct cv_import {
	struct cv_bytes	 key;
	struct cv_bytes	*certs;
	size_t		 ncerts;
};

/* A public key as a JWK (RFC 7517/7518); members base64url, or NULL. */
struct cv_jwk {
	char		*kty;		/* "RSA" or "EC" */
	char		*crv;		/* EC: "P-256", "P-384", "P-521" */
	char		*n, *e;		/* RSA */
	char		*x, *y;		/* EC */
};

void	cv_import_free(struct cv_import *);
void	cv_jwk_free(struct cv_jwk *);
enum cv_err crypto_import_parse(const char *, const char *, bool,
	    struct cv_import *, char **);
enum cv_err crypto_key_spec(const struct cv_bytes *, struct cv_keyspec *);
enum cv_err crypto_x509_describe(const struct cv_bytes *, struct cv_x509_req *,
	    unsigned *);
void	cv_x509_req_free(struct cv_x509_req *);
enum cv_err crypto_export_pkcs12(const struct cv_bytes *,
	    const struct cv_bytes *, size_t, struct cv_bytes *);
enum cv_err crypto_export_pem(const struct cv_bytes *, const struct cv_bytes *,
	    size_t, char **);
enum cv_err crypto_jwk(const struct cv_bytes *, struct cv_jwk *);

/* crypto_jws.c: JSON Web Signatures (RFC 7515, 7518) for ACME */
const char *crypto_jws_alg(const struct cv_bytes *);
enum cv_err crypto_jws_sign(const struct cv_bytes *, const char *, size_t,
	    char **);
enum cv_err crypto_jws_verify(const struct cv_jwk *, const char *,
	    const char *, size_t, const char *);
enum cv_err crypto_hs256(const struct cv_bytes *, const char *, size_t,
	    char **);
void	crypto_sha256(const void *, size_t, unsigned char [32]);

/* crypto_b64.c: base64 as the wire wants it */
char	*crypto_b64_encode(const unsigned char *, size_t, bool);
enum cv_err crypto_b64_decode(const char *, size_t, bool, struct cv_bytes *);

#endif /* CRYPTO_H */
