/*
 * certvault — the ACME client (RFC 8555) behind issuers with provider ACME.
 * SPDX-License-Identifier: ISC
 *
 * Three layers, each touching one library: acme_http.c moves bytes with
 * libcurl, acme_msg.c reads and writes ACME's JSON with jansson (signing
 * through crypto_jws.c), acme_client.c keeps a session with one CA
 * (directory, nonces, signed requests, the account).  worker_acme.c
 * carries a pending operation through an order with them.
 */
#ifndef ACME_H
#define ACME_H

#include <stdbool.h>
#include <stddef.h>

#include "certvault.h"
#include "crypto.h"

/* Key Vault's error codes of a failed operation (error.code). */
#define ACME_CODE_ISSUER	"Certificate issuer error"
#define ACME_CODE_REJECTED	"Request rejected"

/* acme_http.c: one HTTPS exchange */

struct acme_http_resp {
	long		 status;
	char		*body;		/* NUL-terminated, or NULL */
	size_t		 bodysz;
	char		*content_type;
	char		*location;
	char		*replay_nonce;
	long		 retry_after;	/* seconds; -1: none given */
};

void	acme_http_setup(const char *);
void	acme_http_resp_free(struct acme_http_resp *);
enum cv_err acme_http(const char *, const char *, const char *, const char *,
	    const char *, struct acme_http_resp *, char **);
enum cv_err acme_http_get(const char *, const char *, long *, char **,
	    char **);

/* acme_msg.c: ACME's JSON */

/* The directory (RFC 8555, 7.1.1). */
struct acme_dir {
	char		*new_nonce;
	char		*new_account;
	char		*new_order;
	bool		 eab_required;
};

/* A problem document (RFC 7807, RFC 8555 6.7); type and detail owned. */
struct acme_problem {
	char		*type;		/* e.g. urn:ietf:params:acme:error:… */
	char		*detail;
};

/* An order (RFC 8555, 7.1.3). */
struct acme_order {
	char		*status;	/* pending ready processing valid invalid */
	struct cv_strlist authorizations;
	char		*finalize;
	char		*certificate;	/* once valid */
	struct acme_problem error;	/* once invalid, if the CA says why */
};

/* One challenge of an authorization (RFC 8555, 7.1.5). */
struct acme_challenge {
	char		*type;		/* http-01, dns-01, … */
	char		*url;
	char		*token;
	char		*status;	/* pending processing valid invalid */
	struct acme_problem error;
};

/* An authorization (RFC 8555, 7.1.4). */
struct acme_authz {
	char		*status;	/* pending valid invalid deactivated … */
	char		*identifier;	/* the DNS name, without "*." */
	bool		 wildcard;
	struct acme_challenge *challenges;
	size_t		 nchallenges;
};

/* What certvault-worker keeps between passes (provider_state). */
struct acme_state {
	char		*order_url;
	struct cv_strlist dns_records;	/* "record value" pairs published */
	int		 transient;	/* network failures in a row */
};

void	acme_dir_free(struct acme_dir *);
void	acme_problem_free(struct acme_problem *);
void	acme_order_free(struct acme_order *);
void	acme_authz_free(struct acme_authz *);
void	acme_state_free(struct acme_state *);
enum cv_err acme_msg_dir(const char *, struct acme_dir *, char **);
bool	acme_msg_problem(const char *, const char *, struct acme_problem *);
enum cv_err acme_msg_order(const char *, struct acme_order *, char **);
enum cv_err acme_msg_authz(const char *, struct acme_authz *, char **);
enum cv_err acme_msg_state(const char *, struct acme_state *);
char	*acme_msg_state_json(const struct acme_state *);
char	*acme_msg_jwk_json(const struct cv_jwk *);
enum cv_err acme_msg_thumbprint(const struct cv_jwk *, char [44]);
enum cv_err acme_msg_jws(const struct cv_bytes *, const struct cv_jwk *,
	    const char *, const char *, const char *, const char *, char **);
enum cv_err acme_msg_eab(const char *, const char *, const struct cv_jwk *,
	    const char *, char **, char **);
void	acme_msg_emails(const char *, struct cv_strlist *);
char	*acme_msg_new_account(const struct cv_strlist *, const char *);
char	*acme_msg_new_order(const struct cv_strlist *);
char	*acme_msg_finalize(const struct cv_bytes *);
char	*acme_msg_deactivate(void);
const char *acme_msg_error_code(const char *);

/* acme_client.c: a session with one CA */

struct acme_client {
	char		*directory_url;
	struct acme_dir	 dir;
	struct cv_bytes	 key;		/* account key, PKCS#8 DER */
	struct cv_jwk	 jwk;		/* its public half */
	char		*kid;		/* account URL once known */
	char		*nonce;		/* the next Replay-Nonce to use */
};

/*
 * How a request ended: ACME_OK; ACME_TRANSIENT (the network, the CA's
 * 5xx or rate limit: try again later); ACME_PROBLEM (the CA refused it
 * for good: the problem says why).
 */
enum acme_result {
	ACME_OK = 0,
	ACME_TRANSIENT,
	ACME_PROBLEM
};

void	acme_client_free(struct acme_client *);
enum acme_result acme_client_open(struct acme_client *, const char *,
	    const struct cv_bytes *, char **);
enum acme_result acme_client_account(struct acme_client *,
	    const struct cv_strlist *, const char *, const char *,
	    struct acme_problem *, char **);
enum acme_result acme_client_post(struct acme_client *, const char *,
	    const char *, const char *, struct acme_http_resp *,
	    struct acme_problem *, char **);

#endif /* ACME_H */
