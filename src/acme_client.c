/*
 * certvault — a session with one ACME server: its directory, the nonce
 * to use next, signed requests with the badNonce retry, and the account.
 * SPDX-License-Identifier: ISC
 *
 * RFC 8555 section 6: every request but the directory and newNonce is a
 * JWS POST carrying a fresh nonce; each response hands out the next one.
 * A CA may reject a nonce at any time (badNonce); the request is then
 * signed again with the nonce of that rejection, a few times at most.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "log.h"

#define BADNONCE_RETRIES	5
#define JOSE			"application/jose+json"
#define PROBLEM_BADNONCE	"urn:ietf:params:acme:error:badNonce"

void
acme_client_free(struct acme_client *c)
{

	if (c == NULL)
		return;
	free(c->directory_url);
	acme_dir_free(&c->dir);
	if (c->key.data != NULL)
		crypto_wipe(c->key.data, c->key.len);
	cv_bytes_free(&c->key);
	cv_jwk_free(&c->jwk);
	free(c->kid);
	free(c->nonce);
	memset(c, 0, sizeof(*c));
}

/* A CA's answer of status s is worth trying again later. */
static bool
transient_status(long s)
{

	return s == 429 || s >= 500;
}

/*
 * Open a session with the CA of directory url for the account key key
 * (PKCS#8 DER, copied): read the directory.  The account itself is found
 * or made by acme_client_account.
 */
enum acme_result
acme_client_open(struct acme_client *c, const char *url,
    const struct cv_bytes *key, char **err)
{
	struct acme_http_resp	 r;
	struct cv_bytes		 pub = { NULL, 0 };
	enum acme_result	 res = ACME_TRANSIENT;

	memset(c, 0, sizeof(*c));
	*err = NULL;
	c->directory_url = cv_strdup(url);
	c->key.data = cv_malloc(key->len);
	memcpy(c->key.data, key->data, key->len);
	c->key.len = key->len;
	if (crypto_key_public(&c->key, &pub) != CV_OK ||
	    crypto_jwk(&pub, &c->jwk) != CV_OK ||
	    crypto_jws_alg(&c->key) == NULL) {
		cv_bytes_free(&pub);
		*err = cv_strdup("the ACME account key cannot be used");
		return ACME_PROBLEM;
	}
	cv_bytes_free(&pub);
	if (acme_http("GET", url, NULL, NULL, "application/json", &r,
	    err) != CV_OK)
		return ACME_TRANSIENT;
	if (r.status != 200) {
		*err = cv_asprintf("%s: the ACME directory answered HTTP %ld",
		    url, r.status);
		res = transient_status(r.status) ? ACME_TRANSIENT :
		    ACME_PROBLEM;
	} else if (acme_msg_dir(r.body, &c->dir, err) == CV_OK)
		res = ACME_OK;
	else
		res = ACME_PROBLEM;
	acme_http_resp_free(&r);
	return res;
}

/* A nonce from newNonce, if we hold none. */
static enum acme_result
nonce_fetch(struct acme_client *c, char **err)
{
	struct acme_http_resp	 r;

	if (c->nonce != NULL)
		return ACME_OK;
	if (acme_http("HEAD", c->dir.new_nonce, NULL, NULL, NULL, &r,
	    err) != CV_OK)
		return ACME_TRANSIENT;
	c->nonce = r.replay_nonce;
	r.replay_nonce = NULL;
	acme_http_resp_free(&r);
	if (c->nonce == NULL) {
		*err = cv_asprintf("%s gave no Replay-Nonce",
		    c->dir.new_nonce);
		return ACME_TRANSIENT;
	}
	return ACME_OK;
}

/*
 * POST payload (NULL: POST-as-GET) to url, signed with the account key
 * (kid once known, else the jwk), with Accept accept (NULL: any).  On
 * ACME_OK, r holds the 2xx response (caller frees).  ACME_PROBLEM: the
 * CA refused (prob says why; caller frees).  ACME_TRANSIENT: try again
 * later (*err says why; caller frees).
 */
enum acme_result
acme_client_post(struct acme_client *c, const char *url, const char *payload,
    const char *accept, struct acme_http_resp *r, struct acme_problem *prob,
    char **err)
{
	enum acme_result	 res;
	char			*jws = NULL;
	int			 i;

	memset(prob, 0, sizeof(*prob));
	memset(r, 0, sizeof(*r));
	*err = NULL;
	for (i = 0; i <= BADNONCE_RETRIES; i++) {
		if ((res = nonce_fetch(c, err)) != ACME_OK)
			return res;
		if (acme_msg_jws(&c->key, &c->jwk, c->kid, c->nonce, url,
		    payload, &jws) != CV_OK) {
			*err = cv_strdup("the request could not be signed");
			return ACME_TRANSIENT;
		}
		free(c->nonce);
		c->nonce = NULL;
		if (acme_http("POST", url, jws, JOSE, accept, r, err) !=
		    CV_OK) {
			free(jws);
			return ACME_TRANSIENT;
		}
		free(jws);
		c->nonce = r->replay_nonce;
		r->replay_nonce = NULL;
		if (r->status >= 200 && r->status < 300)
			return ACME_OK;
		if (acme_msg_problem(r->body, r->content_type, prob) &&
		    strcmp(prob->type, PROBLEM_BADNONCE) == 0) {
			log_debug("ACME: %s rejected our nonce; signing "
			    "again", url);
			acme_problem_free(prob);
			acme_http_resp_free(r);
			continue;
		}
		if (prob->type == NULL) {
			prob->type = cv_strdup("about:blank");
			prob->detail = cv_asprintf("HTTP %ld from %s",
			    r->status, url);
		}
		if (transient_status(r->status)) {
			*err = cv_asprintf("%s: HTTP %ld: %s", url, r->status,
			    prob->detail);
			acme_problem_free(prob);
			return ACME_TRANSIENT;
		}
		return ACME_PROBLEM;
	}
	acme_http_resp_free(r);
	*err = cv_asprintf("%s rejected %d nonces in a row", url,
	    BADNONCE_RETRIES + 1);
	return ACME_TRANSIENT;
}

/*
 * Find or make the account of our key (RFC 8555, 7.3): newAccount with
 * the contacts (e-mail addresses), agreeing to the CA's terms, bound to
 * the CA's external account eab_kid with MAC key eab_mac if given.  A CA
 * that knows the key answers with the existing account, so this is safe
 * to repeat.  On ACME_OK, c->kid is the account URL.
 */
enum acme_result
acme_client_account(struct acme_client *c, const struct cv_strlist *emails,
    const char *eab_kid, const char *eab_mac, struct acme_problem *prob,
    char **err)
{
	struct acme_http_resp	 r;
	enum acme_result	 res;
	char			*eab = NULL, *body;

	memset(prob, 0, sizeof(*prob));
	*err = NULL;
	free(c->kid);
	c->kid = NULL;
	if (c->dir.eab_required && (eab_kid == NULL || eab_mac == NULL)) {
		prob->type = cv_strdup("urn:ietf:params:acme:error:"
		    "externalAccountRequired");
		prob->detail = cv_strdup("The ACME server requires External "
		    "Account Binding: set the issuer's credentials.account_id "
		    "(key id) and credentials.pwd (MAC key).");
		return ACME_PROBLEM;
	}
	if (eab_kid != NULL && eab_mac != NULL && acme_msg_eab(eab_kid,
	    eab_mac, &c->jwk, c->dir.new_account, &eab, err) != CV_OK) {
		prob->type = cv_strdup("urn:ietf:params:acme:error:malformed");
		prob->detail = *err;
		*err = NULL;
		return ACME_PROBLEM;
	}
	body = acme_msg_new_account(emails, eab);
	free(eab);
	res = acme_client_post(c, c->dir.new_account, body, NULL, &r, prob,
	    err);
	free(body);
	if (res != ACME_OK) {
		acme_http_resp_free(&r);
		return res;
	}
	if (r.location == NULL) {
		*err = cv_asprintf("%s gave no account URL (Location)",
		    c->dir.new_account);
		res = ACME_TRANSIENT;
	} else {
		c->kid = r.location;
		r.location = NULL;
	}
	acme_http_resp_free(&r);
	return res;
}
