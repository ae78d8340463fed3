/*
 * certvault — carrying a pending operation through an ACME order
 * (RFC 8555, 7.4): certvault-worker's connector for issuers with
 * provider ACME.  SPDX-License-Identifier: ISC
 *
 * The order at the CA is the state machine.  Each claim of the operation
 * makes one pass: place the order if there is none yet (its URL is kept
 * in provider_state at once), read it, and move it one step — answer the
 * pending challenges, finalize with the operation's CSR once it is
 * ready, download the chain once it is valid and complete the operation
 * with it — then give the operation back with the time to look again.
 * A worker killed anywhere leaves an order that the next pass reads and
 * continues; the completion itself is written once, under the
 * certificate's row lock (worker_issue_finish).
 *
 * The account key is made and sealed in the vault on the issuer's first
 * order; the account is registered then (newAccount with that key finds
 * the existing account if there is one, so a crash in between is safe).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme.h"
#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "log.h"
#include "store.h"
#include "worker.h"

/* Network failures in a row before the operation fails (about 40 min). */
#define TRANSIENT_MAX	12
/* The claim's lease: the time a pass has before another may take it. */
#define PASS_SECONDS	30
/* Polling: a CA's Retry-After within these bounds, else the minimum. */
#define POLL_MIN	1
#define POLL_MAX	60
#define HOOK_TIMEOUT	120
#define PEM_CHAIN	"application/pem-certificate-chain"
#define PROBLEM_NO_ACCOUNT "urn:ietf:params:acme:error:accountDoesNotExist"

static char	*dns_hook;	/* acme_dns_hook, or NULL */

static void
teardown(void)
{

	free(dns_hook);
	dns_hook = NULL;
}

/*
 * Prepare the connector: the CAs that vouch for ACME servers (ca_file;
 * NULL: the system's) and the dns-01 hook (NULL: wildcard names cannot
 * be ordered).
 */
void
worker_acme_setup(const char *ca_file, const char *hook)
{
	static bool	 registered;

	acme_http_setup(ca_file);
	teardown();
	if (hook != NULL && *hook != '\0')
		dns_hook = cv_strdup(hook);
	if (!registered && atexit(teardown) == 0)
		registered = true;
}

/* One pass over one operation. */
struct pass {
	struct store			*st;
	const struct store_claim	*cl;
	const struct cv_issuer		*iss;
	struct acme_client		 c;
	struct acme_state		 state;
	char				 thumb[44];
	struct cv_strlist		 names;	/* what the CSR names */
	struct cv_bytes			 spki;	/* the CSR's key */
	bool				 enabled; /* the policy's */
};

/* Save the progress and look again after delay seconds. */
static enum cv_err
later(struct pass *p, int delay, const char *details, const char *error)
{
	char		*state;
	enum cv_err	 er;

	state = acme_msg_state_json(&p->state);
	er = store_issue_later(p->st, p->cl->op_id, delay, details, state,
	    error);
	free(state);
	return er;
}

/*
 * Run the dns-01 hook: action add or remove of the TXT record for name.
 * rec is "record value" as kept in the state.
 */
static enum cv_err
hook_run(const char *action, const char *rec, char **err)
{
	char		*env[5], *record, *value, *domain;
	const char	*sp;
	size_t		 n;
	enum cv_err	 er;

	*err = NULL;
	if (dns_hook == NULL) {
		*err = cv_strdup("no acme_dns_hook is configured");
		return CV_ERR_INTERNAL;
	}
	if ((sp = strchr(rec, ' ')) == NULL) {
		*err = cv_strdup("a malformed DNS record in the state");
		return CV_ERR_INTERNAL;
	}
	record = cv_strndup(rec, (size_t)(sp - rec));
	value = cv_strdup(sp + 1);
	/* "_acme-challenge." name "." */
	n = strlen(record);
	domain = cv_strndup(record + strlen("_acme-challenge."),
	    n - strlen("_acme-challenge.") - 1);
	env[0] = cv_asprintf("CERTVAULT_ACME_ACTION=%s", action);
	env[1] = cv_asprintf("CERTVAULT_ACME_DOMAIN=%s", domain);
	env[2] = cv_asprintf("CERTVAULT_ACME_RECORD=%s", record);
	env[3] = cv_asprintf("CERTVAULT_ACME_VALUE=%s", value);
	env[4] = NULL;
	er = cv_command_run(dns_hook, env, "", HOOK_TIMEOUT, err);
	for (n = 0; n < 4; n++)
		free(env[n]);
	free(record);
	free(value);
	free(domain);
	return er;
}

/* Withdraw what the order published: http-01 answers, dns-01 records. */
static void
cleanup(struct pass *p)
{
	char	*err;
	size_t	 i;

	if (store_acme_challenges_clear(p->st, p->cl->op_id) != CV_OK)
		log_warnx("operation %s: could not withdraw its http-01 "
		    "answers", p->cl->request_id);
	for (i = 0; i < p->state.dns_records.n; i++)
		if (hook_run("remove", p->state.dns_records.v[i], &err) !=
		    CV_OK) {
			log_warnx("operation %s: the dns-01 hook could not "
			    "remove %s: %s", p->cl->request_id,
			    p->state.dns_records.v[i], err);
			free(err);
		}
}

/* The operation ends: outcome (code and message for a failure). */
static enum cv_err
end(struct pass *p, enum worker_outcome out, const char *code,
    const char *message, const struct store_issue *is)
{
	enum cv_err	 er;

	er = worker_issue_finish(p->st, p->cl, out, code, message, is);
	if (er == CV_OK)
		cleanup(p);
	return er;
}

static enum cv_err
fail(struct pass *p, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum cv_err
fail(struct pass *p, const char *code, const char *fmt, ...)
{
	va_list		 ap;
	char		*msg;
	enum cv_err	 er;

	va_start(ap, fmt);
	msg = cv_vasprintf(fmt, ap);
	va_end(ap);
	er = end(p, WORKER_FAILED, code, msg, NULL);
	free(msg);
	return er;
}

/* The CA refused for good: fail with its problem. */
static enum cv_err
fail_problem(struct pass *p, const char *what, const struct acme_problem *pr)
{

	return fail(p, acme_msg_error_code(pr->type), "The ACME server "
	    "refused %s: %s (%s)", what, pr->detail, pr->type);
}

/*
 * A transient failure (why): back off 2, 4, … 300 seconds, and fail
 * after TRANSIENT_MAX of them in a row.  The pending row shows it.
 */
static enum cv_err
transient(struct pass *p, const char *why)
{
	char		*details;
	int		 delay;
	enum cv_err	 er;

	if (++p->state.transient > TRANSIENT_MAX)
		return fail(p, ACME_CODE_ISSUER, "The ACME server could not "
		    "be reached %d times in a row; the last error: %s",
		    TRANSIENT_MAX, why);
	delay = p->state.transient >= 9 ? 300 : 1 << p->state.transient;
	details = cv_asprintf("Waiting to retry the ACME server in %d "
	    "seconds (attempt %d of %d failed): %s", delay,
	    p->state.transient, TRANSIENT_MAX, why);
	log_warnx("operation %s of %s/%s: %s", p->cl->request_id,
	    p->cl->vault_name, p->cl->cert_name, details);
	er = later(p, delay, details, why);
	free(details);
	return er;
}

/*
 * POST to url (payload NULL: POST-as-GET).  ACME_OK: r holds the answer
 * (caller frees).  Otherwise the operation has been failed or delayed
 * accordingly and *er says how that went; what names the request.
 */
static enum acme_result
post(struct pass *p, const char *url, const char *payload, const char *accept,
    const char *what, struct acme_http_resp *r, enum cv_err *er)
{
	struct acme_problem	 pr;
	enum acme_result	 res;
	char			*err = NULL;

	*er = CV_OK;
	res = acme_client_post(&p->c, url, payload, accept, r, &pr, &err);
	if (res == ACME_TRANSIENT)
		*er = transient(p, err);
	else if (res == ACME_PROBLEM && pr.type != NULL &&
	    strcmp(pr.type, PROBLEM_NO_ACCOUNT) == 0) {
		/* Deactivated at the CA: register again on the next pass. */
		if ((*er = store_acme_account_put(p->st, p->iss->id,
		    p->c.directory_url, NULL)) == CV_OK)
			*er = transient(p, "the ACME account no longer exists; "
			    "registering again");
		res = ACME_TRANSIENT;
	} else if (res == ACME_PROBLEM)
		*er = fail_problem(p, what, &pr);
	acme_http_resp_free(res == ACME_OK ? NULL : r);
	acme_problem_free(&pr);
	free(err);
	return res;
}

/*
 * The issuer's account key (PKCS#8 DER, into key; caller frees), made
 * and sealed now if the issuer has none yet; acct receives the account
 * as stored.
 */
static enum cv_err
account_key(struct pass *p, const struct cv_master *m,
    struct store_acme_account *acct, struct cv_bytes *key)
{
	struct store_issuer_secret	 sec;
	const struct cv_master		*km;
	struct cv_keyspec		 spec = { CV_KTY_EC, 256,
					    CV_CURVE_P256 };
	struct cv_bytes			 priv = { NULL, 0 }, pub = { NULL, 0 };
	struct cv_bytes			 sealed = { NULL, 0 };
	unsigned char			 nonce[CV_SEAL_NONCE_LEN];
	char				 uid[37];
	enum cv_err			 er;

	memset(key, 0, sizeof(*key));
	if ((er = store_acme_account_get(p->st, p->iss->id, acct)) != CV_OK)
		return er;
	if (acct->key.sealed.len == 0) {
		store_acme_account_free(acct);
		if ((er = crypto_key_generate(&spec, &priv, &pub)) != CV_OK ||
		    (er = crypto_random_uuid(uid)) != CV_OK ||
		    (er = crypto_seal(m, &priv, uid, &sealed, nonce)) != CV_OK)
			goto out;
		sec.uid = uid;
		sec.sealed = &sealed;
		sec.nonce = nonce;
		sec.master_key_id = m->id;
		if ((er = store_acme_key_put(p->st, p->iss->id, &sec)) !=
		    CV_OK ||
		    (er = store_acme_account_get(p->st, p->iss->id, acct)) !=
		    CV_OK)
			goto out;
		log_info("made the ACME account key of issuer %s in vault %s",
		    p->iss->name, p->cl->vault_name);
	}
	if ((km = crypto_master_for(m, acct->key.master_key_id)) == NULL)
		er = CV_ERR_INTERNAL;
	else
		er = crypto_unseal(km, &acct->key.sealed, acct->key.uid,
		    acct->key.nonce, key);
	if (er != CV_OK)
		log_error("the ACME account key of issuer %s in vault %s cannot "
		    "be unsealed (sealed under master key %s, this is %s)",
		    p->iss->name, p->cl->vault_name, acct->key.master_key_id,
		    m->id);
out:
	if (priv.data != NULL)
		crypto_wipe(priv.data, priv.len);
	cv_bytes_free(&priv);
	cv_bytes_free(&pub);
	cv_bytes_free(&sealed);
	return er;
}

/*
 * Open the session with the issuer's CA and its account: registered on
 * first use (or when the directory changed), with the issuer's admin
 * e-mail addresses as contacts and its credentials as External Account
 * Binding.  ACME_OK, or the operation was failed or delayed (*er).
 */
static enum acme_result
account_open(struct pass *p, enum cv_err *er)
{
	const struct cv_master		*m, *km;
	struct store_acme_account	 acct;
	struct acme_problem		 pr;
	struct cv_strlist		 emails = { NULL, 0 };
	struct cv_bytes			 key = { NULL, 0 }, mac = { NULL, 0 };
	enum acme_result		 res = ACME_TRANSIENT;
	char				*err = NULL, *macs = NULL;

	memset(&pr, 0, sizeof(pr));
	memset(&acct, 0, sizeof(acct));
	*er = CV_OK;
	if ((m = worker_issue_master()) == NULL) {
		*er = transient(p, "no usable master key (master_key_file)");
		return ACME_TRANSIENT;
	}
	if ((*er = account_key(p, m, &acct, &key)) != CV_OK) {
		*er = *er == CV_ERR_UNAVAILABLE ? *er : transient(p,
		    "the ACME account key could not be made or read");
		goto out;
	}
	res = acme_client_open(&p->c, p->iss->organization_id, &key, &err);
	if (res == ACME_TRANSIENT) {
		*er = transient(p, err);
		goto out;
	}
	if (res == ACME_PROBLEM) {
		*er = fail(p, ACME_CODE_ISSUER, "The ACME directory %s cannot "
		    "be used: %s", p->iss->organization_id, err);
		goto out;
	}
	if (acme_msg_thumbprint(&p->c.jwk, p->thumb) != CV_OK) {
		res = ACME_TRANSIENT;
		*er = transient(p, "the account key has no thumbprint");
		goto out;
	}
	if (acct.account_url != NULL && acct.directory_url != NULL &&
	    strcmp(acct.directory_url, p->iss->organization_id) == 0) {
		p->c.kid = cv_strdup(acct.account_url);
		goto out;
	}
	acme_msg_emails(p->iss->admin_details_json, &emails);
	if (acct.eab_mac.sealed.len > 0 && ((km = crypto_master_for(m,
	    acct.eab_mac.master_key_id)) == NULL || crypto_unseal(km,
	    &acct.eab_mac.sealed, acct.eab_mac.uid, acct.eab_mac.nonce,
	    &mac) != CV_OK || (macs = cv_strndup((const char *)mac.data,
	    mac.len)) == NULL)) {
		res = ACME_TRANSIENT;
		*er = transient(p, "the issuer's password cannot be unsealed");
		goto out;
	}
	res = acme_client_account(&p->c, &emails, p->iss->account_id, macs,
	    &pr, &err);
	if (res == ACME_TRANSIENT)
		*er = transient(p, err);
	else if (res == ACME_PROBLEM)
		*er = fail(p, ACME_CODE_ISSUER, "The ACME server refused the "
		    "account of issuer '%s': %s (%s)", p->iss->name, pr.detail,
		    pr.type);
	else if ((*er = store_acme_account_put(p->st, p->iss->id,
	    p->iss->organization_id, p->c.kid)) == CV_OK)
		log_info("registered the ACME account of issuer %s in vault "
		    "%s: %s", p->iss->name, p->cl->vault_name, p->c.kid);
out:
	if (key.data != NULL)
		crypto_wipe(key.data, key.len);
	cv_bytes_free(&key);
	if (mac.data != NULL)
		crypto_wipe(mac.data, mac.len);
	cv_bytes_free(&mac);
	if (macs != NULL)
		crypto_wipe(macs, strlen(macs));
	free(macs);
	cv_strlist_free(&emails);
	store_acme_account_free(&acct);
	acme_problem_free(&pr);
	free(err);
	return res;
}

/* Place the order for the CSR's names; its URL is saved at once. */
static enum acme_result
order_place(struct pass *p, enum cv_err *er)
{
	struct acme_http_resp	 r;
	enum acme_result	 res;
	char			*body;

	body = acme_msg_new_order(&p->names);
	res = post(p, p->c.dir.new_order, body, NULL, "the order", &r, er);
	free(body);
	if (res != ACME_OK)
		return res;
	if (r.location == NULL) {
		acme_http_resp_free(&r);
		*er = transient(p, "the ACME server gave the new order no URL");
		return ACME_TRANSIENT;
	}
	p->state.order_url = r.location;
	r.location = NULL;
	acme_http_resp_free(&r);
	*er = later(p, PASS_SECONDS, "The ACME order was placed.", NULL);
	if (*er != CV_OK)
		return ACME_TRANSIENT;
	log_info("operation %s of %s/%s: ACME order %s", p->cl->request_id,
	    p->cl->vault_name, p->cl->cert_name, p->state.order_url);
	return ACME_OK;
}

/* Read the order (retry: its Retry-After); as post(). */
static enum acme_result
get_order(struct pass *p, struct acme_order *o, long *retry, enum cv_err *er)
{
	struct acme_http_resp	 r;
	enum acme_result	 res;
	char			*err = NULL;

	res = post(p, p->state.order_url, NULL, NULL, "to show the order", &r,
	    er);
	if (res != ACME_OK)
		return res;
	*retry = r.retry_after;
	if (acme_msg_order(r.body, o, &err) != CV_OK) {
		*er = transient(p, err);
		res = ACME_TRANSIENT;
	}
	acme_http_resp_free(&r);
	free(err);
	return res;
}

static enum acme_result
get_authz(struct pass *p, const char *url, struct acme_authz *a, long *retry,
    enum cv_err *er)
{
	struct acme_http_resp	 r;
	enum acme_result	 res;
	char			*err = NULL;

	res = post(p, url, NULL, NULL, "to show an authorization", &r, er);
	if (res != ACME_OK)
		return res;
	if (r.retry_after > *retry)
		*retry = r.retry_after;
	if (acme_msg_authz(r.body, a, &err) != CV_OK) {
		*er = transient(p, err);
		res = ACME_TRANSIENT;
	}
	acme_http_resp_free(&r);
	free(err);
	return res;
}

/* The challenge of a to answer: dns-01 for wildcards, else http-01. */
static const struct acme_challenge *
challenge_pick(const struct acme_authz *a)
{
	const struct acme_challenge	*http = NULL, *dns = NULL;
	size_t				 i;

	for (i = 0; i < a->nchallenges; i++) {
		if (strcmp(a->challenges[i].type, "http-01") == 0)
			http = &a->challenges[i];
		else if (strcmp(a->challenges[i].type, "dns-01") == 0)
			dns = &a->challenges[i];
	}
	if (a->wildcard || http == NULL)
		return dns_hook != NULL ? dns : NULL;
	return http;
}

/*
 * Publish the answer to challenge ch of a and tell the CA it is ready.
 * ACME_OK, or the operation was failed or delayed (*er).
 */
static enum acme_result
challenge_answer(struct pass *p, const struct acme_authz *a,
    const struct acme_challenge *ch, enum cv_err *er)
{
	struct acme_http_resp	 r;
	unsigned char		 md[32];
	enum acme_result	 res;
	char			*keyauth, *value, *rec, *err = NULL;

	if (ch->token == NULL || strlen(ch->token) < 16) {
		*er = transient(p, "the ACME server gave a challenge without "
		    "a usable token");
		return ACME_TRANSIENT;
	}
	keyauth = cv_asprintf("%s.%s", ch->token, p->thumb);
	if (strcmp(ch->type, "http-01") == 0) {
		*er = store_acme_challenge_put(p->st, p->cl->op_id, ch->token,
		    keyauth, a->identifier);
		free(keyauth);
		if (*er != CV_OK) {
			*er = *er == CV_ERR_UNAVAILABLE ? *er : transient(p,
			    "the http-01 answer could not be stored");
			return ACME_TRANSIENT;
		}
	} else {
		crypto_sha256(keyauth, strlen(keyauth), md);
		free(keyauth);
		value = crypto_b64_encode(md, sizeof(md), true);
		rec = cv_asprintf("_acme-challenge.%s. %s", a->identifier,
		    value);
		free(value);
		/* Kept first, so that a crash still removes it later. */
		p->state.dns_records.v = cv_realloc(p->state.dns_records.v,
		    (p->state.dns_records.n + 2) * sizeof(char *));
		p->state.dns_records.v[p->state.dns_records.n++] = rec;
		p->state.dns_records.v[p->state.dns_records.n] = NULL;
		if ((*er = later(p, PASS_SECONDS, "Publishing the dns-01 "
		    "record.", NULL)) != CV_OK)
			return ACME_TRANSIENT;
		if (hook_run("add", rec, &err) != CV_OK) {
			value = cv_asprintf("the dns-01 hook failed for %s: %s",
			    a->identifier, err);
			*er = transient(p, value);
			free(value);
			free(err);
			return ACME_TRANSIENT;
		}
	}
	res = post(p, ch->url, "{}", NULL, "the challenge answer", &r, er);
	if (res == ACME_OK)
		acme_http_resp_free(&r);
	return res;
}

/*
 * The order is pending: answer each authorization's challenge that is
 * not answered yet, fail on an invalid one, and look again.  An invalid
 * order (invalid) fails with the reason of its invalid authorization.
 */
static enum cv_err
authorize(struct pass *p, const struct acme_order *o, long retry,
    bool invalid)
{
	const struct acme_challenge	*ch;
	struct acme_authz		 a;
	enum acme_result		 res;
	enum cv_err			 er = CV_OK;
	char				*details = NULL, *t;
	size_t				 i, j;

	for (i = 0; i < o->authorizations.n; i++) {
		res = get_authz(p, o->authorizations.v[i], &a, &retry, &er);
		if (res != ACME_OK)
			goto out;
		if (strcmp(a.status, "valid") == 0) {
			acme_authz_free(&a);
			continue;
		}
		if (strcmp(a.status, "pending") != 0) {
			for (j = 0; j < a.nchallenges; j++)
				if (a.challenges[j].error.detail != NULL)
					break;
			er = fail(p, j < a.nchallenges ? acme_msg_error_code(
			    a.challenges[j].error.type) : ACME_CODE_ISSUER,
			    "The ACME server could not validate %s%s: %s",
			    a.wildcard ? "*." : "", a.identifier,
			    j < a.nchallenges ? a.challenges[j].error.detail :
			    a.status);
			acme_authz_free(&a);
			goto out;
		}
		if ((ch = challenge_pick(&a)) == NULL) {
			er = fail(p, ACME_CODE_REJECTED, "No challenge of the "
			    "ACME server for %s%s can be answered: certvault "
			    "answers http-01 itself and dns-01 through "
			    "acme_dns_hook (needed for wildcard names; not "
			    "configured).", a.wildcard ? "*." : "",
			    a.identifier);
			acme_authz_free(&a);
			goto out;
		}
		if (strcmp(ch->status, "pending") == 0 &&
		    challenge_answer(p, &a, ch, &er) != ACME_OK) {
			acme_authz_free(&a);
			goto out;
		}
		t = cv_asprintf("%s%s%s%s (%s)", details == NULL ? "" : details,
		    details == NULL ? "" : ", ", a.wildcard ? "*." : "",
		    a.identifier, ch->type);
		free(details);
		details = t;
		acme_authz_free(&a);
	}
	if (invalid) {
		er = fail(p, ACME_CODE_ISSUER, "The ACME server declared the "
		    "order invalid without saying why.");
		goto out;
	}
	p->state.transient = 0;
	t = cv_asprintf("Waiting for the ACME server to validate %s.",
	    details != NULL ? details : "the names");
	er = later(p, retry < POLL_MIN || retry > POLL_MAX ? POLL_MIN :
	    (int)retry, t, NULL);
	free(t);
out:
	free(details);
	return er;
}

/* The order is valid: download the chain and complete the operation. */
static enum cv_err
complete(struct pass *p, const struct acme_order *o)
{
	struct acme_http_resp	 r;
	struct cv_x509_info	 info;
	struct store_issue	 is;
	struct cv_bytes		*ders = NULL;
	enum acme_result	 res;
	enum cv_err		 er = CV_OK;
	char			*err = NULL;
	size_t			 n = 0, i;
	bool			 has_info = false;

	if (o->certificate == NULL)
		return transient(p, "the valid order names no certificate");
	res = post(p, o->certificate, NULL, PEM_CHAIN, "the certificate "
	    "download", &r, &er);
	if (res != ACME_OK)
		return er;
	if (crypto_x509_pem_chain(r.body, r.bodysz, &ders, &n) != CV_OK) {
		er = fail(p, ACME_CODE_ISSUER, "The ACME server's certificate "
		    "(%s) is not a PEM certificate chain.", o->certificate);
		goto out;
	}
	if (crypto_x509_chain_order(ders, n, &err) != CV_OK) {
		er = fail(p, ACME_CODE_ISSUER, "The ACME server's chain cannot "
		    "be ordered: %s", err != NULL ? err : "no order fits");
		goto out;
	}
	if (!crypto_x509_key_matches(&ders[0], &p->spki)) {
		er = fail(p, ACME_CODE_ISSUER, "The ACME server issued a "
		    "certificate for another key than the request's.");
		goto out;
	}
	if (crypto_x509_info(&ders[0], &info) != CV_OK) {
		er = fail(p, ACME_CODE_ISSUER, "The ACME server's certificate "
		    "cannot be read.");
		goto out;
	}
	has_info = true;
	memset(&is, 0, sizeof(is));
	is.cert = &ders[0];
	is.chain = n > 1 ? &ders[1] : NULL;
	is.chainsz = n - 1;
	is.x5t = info.x5t;
	is.serial = &info.serial;
	is.subject = info.subject;
	is.nbf = (int64_t)info.not_before;
	is.exp = (int64_t)info.not_after;
	is.enabled = p->enabled;
	if ((er = end(p, WORKER_COMPLETED, NULL, NULL, &is)) != CV_OK &&
	    er != CV_ERR_UNAVAILABLE)
		er = transient(p, "the certificate could not be stored");
out:
	if (has_info)
		cv_x509_info_free(&info);
	for (i = 0; i < n; i++)
		cv_bytes_free(&ders[i]);
	free(ders);
	free(err);
	acme_http_resp_free(&r);
	return er;
}

/*
 * Cancellation before the certificate is issued: deactivate the order's
 * authorizations (best effort: the CA lets them expire otherwise) and
 * end cancelled.
 */
static enum cv_err
cancel(struct pass *p, const struct acme_order *o)
{
	struct acme_http_resp	 r;
	struct acme_problem	 pr;
	char			*body, *err = NULL;
	size_t			 i;

	body = acme_msg_deactivate();
	for (i = 0; o != NULL && i < o->authorizations.n; i++) {
		if (acme_client_post(&p->c, o->authorizations.v[i], body, NULL,
		    &r, &pr, &err) == ACME_OK)
			log_info("operation %s: authorization %s deactivated",
			    p->cl->request_id, o->authorizations.v[i]);
		else
			log_info("operation %s: authorization %s not "
			    "deactivated: %s", p->cl->request_id,
			    o->authorizations.v[i], err != NULL ? err :
			    pr.detail);
		acme_http_resp_free(&r);
		acme_problem_free(&pr);
		free(err);
		err = NULL;
	}
	free(body);
	return end(p, WORKER_CANCELLED, NULL, NULL, NULL);
}

/* One step of the order; the session and account are open. */
static enum cv_err
step(struct pass *p)
{
	struct acme_http_resp	 r;
	struct acme_order	 o;
	enum cv_err		 er = CV_OK;
	long			 retry = -1;
	char			*body;

	if (p->state.order_url == NULL) {
		if (order_place(p, &er) != ACME_OK)
			return er;
	}
	if (get_order(p, &o, &retry, &er) != ACME_OK)
		return p->cl->cancellation_requested ? cancel(p, NULL) : er;
	if (p->cl->cancellation_requested && (strcmp(o.status, "pending") ==
	    0 || strcmp(o.status, "ready") == 0 ||
	    strcmp(o.status, "invalid") == 0)) {
		er = cancel(p, &o);
		goto out;
	}
	if (strcmp(o.status, "pending") == 0)
		er = authorize(p, &o, retry, false);
	else if (strcmp(o.status, "ready") == 0) {
		body = acme_msg_finalize(&p->cl->csr);
		if (post(p, o.finalize, body, NULL, "the certificate request "
		    "(finalize)", &r, &er) == ACME_OK) {
			acme_http_resp_free(&r);
			p->state.transient = 0;
			er = later(p, POLL_MIN, "The ACME server is issuing the "
			    "certificate.", NULL);
		}
		free(body);
	} else if (strcmp(o.status, "processing") == 0) {
		p->state.transient = 0;
		er = later(p, retry < POLL_MIN || retry > POLL_MAX ? POLL_MIN :
		    (int)retry, "The ACME server is issuing the certificate.",
		    NULL);
	} else if (strcmp(o.status, "valid") == 0)
		er = complete(p, &o);
	else if (o.error.detail != NULL)
		er = fail_problem(p, "the order", &o.error);
	else
		er = authorize(p, &o, retry, true);	/* names the reason */
out:
	acme_order_free(&o);
	return er;
}

/*
 * Carry out one pass of claimed operation cl of ACME issuer iss.  The
 * operation is completed, failed, cancelled, or given back with the
 * time to look again; CV_ERR_UNAVAILABLE when the database is away.
 */
enum cv_err
worker_acme_issue(struct store *st, const struct store_claim *cl,
    const struct cv_issuer *iss)
{
	struct pass	 p;
	struct cv_policy pol;
	char		*json = NULL, *msg = NULL;
	enum cv_err	 er;

	memset(&p, 0, sizeof(p));
	p.st = st;
	p.cl = cl;
	p.iss = iss;
	p.enabled = true;
	if (acme_msg_state(cl->provider_state, &p.state) != CV_OK)
		log_warnx("operation %s: its provider_state is not ACME's; "
		    "starting over", cl->request_id);
	if (!iss->enabled && !cl->cancellation_requested) {
		er = fail(&p, ACME_CODE_ISSUER, "The issuer '%s' is disabled.",
		    iss->name);
		goto out;
	}
	if (iss->organization_id == NULL) {
		er = fail(&p, ACME_CODE_ISSUER, "The ACME issuer '%s' names no "
		    "directory URL (org_details.id).", iss->name);
		goto out;
	}
	er = store_cert_policy(st, cl->vault_id, cl->cert_name, &json, NULL);
	if (er == CV_ERR_CERT_NOT_FOUND) {
		er = CV_OK;	/* deleted since the claim, and its operation */
		goto out;
	}
	if (er != CV_OK) {
		er = er == CV_ERR_UNAVAILABLE ? er : transient(&p, "could not "
		    "read the certificate's policy");
		goto out;
	}
	if (kv_json_policy_parse(json, &pol, &msg) == CV_OK) {
		p.enabled = pol.enabled;
		kv_policy_free(&pol);
	}
	if (crypto_csr_names(&cl->csr, &p.names, &p.spki) != CV_OK) {
		er = fail(&p, ACME_CODE_REJECTED, "The certificate request "
		    "cannot be read.");
		goto out;
	}
	if (p.names.n == 0 && !cl->cancellation_requested) {
		er = fail(&p, ACME_CODE_REJECTED, "The policy names no DNS "
		    "name (a subject CN=host.example or sans.dns_names); an "
		    "ACME CA certifies DNS names only.");
		goto out;
	}
	if (cl->cancellation_requested && p.state.order_url == NULL) {
		er = end(&p, WORKER_CANCELLED, NULL, NULL, NULL);
		goto out;
	}
	/* Without the CA, a cancellation still ends the operation. */
	if (account_open(&p, &er) == ACME_TRANSIENT &&
	    cl->cancellation_requested)
		er = end(&p, WORKER_CANCELLED, NULL, NULL, NULL);
	if (p.c.kid == NULL)
		goto out;
	er = step(&p);
out:
	acme_client_free(&p.c);
	acme_state_free(&p.state);
	cv_strlist_free(&p.names);
	cv_bytes_free(&p.spki);
	free(json);
	free(msg);
	return er;
}
