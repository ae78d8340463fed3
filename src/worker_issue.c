/*
 * certvault — the worker job that carries out the pending operations of
 * issuer objects: LocalCA signs, with an operator's approval if the
 * issuer asks for one; providers without a connector fail; cancellation
 * is honoured until the certificate is signed.  SPDX-License-Identifier: ISC
 *
 * One operation at a time: claim it (a lease, store_issue_claim), do the
 * provider's work with no transaction open, then write the outcome in one
 * transaction under the certificate's row lock, after checking that the
 * same operation is still there and in progress.  Killing the worker at
 * any point leaves either nothing (the lease runs out and the operation
 * comes back) or the whole outcome: one version per operation, once.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "log.h"
#include "store.h"
#include "worker.h"

/* A claim not finished within the lease comes back to any worker. */
#define LEASE_SECONDS	30
#define OPS_PER_PASS	50	/* the other jobs run between batches */

#define CODE_ISSUER	"Certificate issuer error"

#define DETAILS_CANCELLED "The certificate request was cancelled on " \
	"request; no certificate was issued."
#define DETAILS_CANCEL_LATE "Cancellation was requested after the " \
	"certificate was issued; it has no effect."

static char		*master_path;
static char		 who[300];	/* claimed_by: host:pid */

static void
teardown(void)
{

	free(master_path);
	master_path = NULL;
}

/* Who claims: "host:pid", set for this process. */
static void
set_who(void)
{
	char	 host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(who, sizeof(who), "%s:%d", host, (int)getpid());
}

/*
 * Prepare the job: who claims, and the master key that seals the LocalCA
 * keys (path from master_key_file; NULL: none, and LocalCA operations
 * wait, with their worker_last_error saying why).  A key that cannot be
 * loaded now is tried again when an operation needs it.  The key is
 * wiped at exit.
 */
void
worker_issue_setup(const char *master_key_file)
{
	static bool	 registered;

	teardown();
	set_who();
	if (master_key_file != NULL) {
		master_path = cv_strdup(master_key_file);
		(void)crypto_master_get(master_path);
	}
	if (!registered && atexit(teardown) == 0)
		registered = true;
}

/* The master key, loaded now if it was not yet; NULL if there is none. */
const struct cv_master *
worker_issue_master(void)
{

	return crypto_master_get(master_path);
}

static bool
ca_complete(const struct store_ca *ca)
{

	return ca->cert.len > 0 && ca->sealed.len > 0 &&
	    ca->credential_uid[0] != '\0' && ca->master_key_id != NULL;
}

/*
 * Make the CA of LocalCA issuer iss of the vault called vault and store
 * it, unless another worker stored one first; ca receives the one
 * stored.  The key is made before the issuer's row is locked; under the
 * lock, the first CA stored wins and ours is dropped.
 */
static enum cv_err
ca_make(struct store *st, const struct cv_master *m, const char *vault,
    const struct cv_issuer *iss, struct store_ca *ca)
{
	struct store_ca	 mine, locked;
	struct cv_bytes	 key = { NULL, 0 };
	char		*cn;
	enum cv_err	 er;

	memset(&mine, 0, sizeof(mine));
	memset(&locked, 0, sizeof(locked));
	cn = cv_asprintf("certvault LocalCA %s/%s", vault, iss->name);
	if (strlen(cn) > 64)	/* X.520 ub-common-name */
		cn[64] = '\0';
	er = crypto_ca_make(cn, time(NULL), &key, &mine.cert);
	free(cn);
	if (er != CV_OK || (er = crypto_random_uuid(mine.credential_uid)) != CV_OK ||
	    (er = crypto_seal(m, &key, mine.credential_uid, &mine.sealed,
	    mine.nonce)) != CV_OK)
		goto out;
	mine.master_key_id = cv_strdup(m->id);

	if ((er = store_begin(st)) != CV_OK)
		goto out;
	if ((er = store_issue_ca_get(st, iss->id, true, &locked)) != CV_OK)
		goto out;
	if (ca_complete(&locked)) {
		*ca = locked;
		memset(&locked, 0, sizeof(locked));
	} else {
		if ((er = store_issue_ca_put(st, iss->id, &mine)) != CV_OK)
			goto out;
		*ca = mine;
		memset(&mine, 0, sizeof(mine));
	}
	if ((er = store_commit(st)) != CV_OK)
		store_ca_free(ca);
	else if (mine.cert.len == 0)
		log_info("made the CA of LocalCA issuer %s in vault %s",
		    iss->name, vault);
out:
	store_rollback(st);
	cv_bytes_free(&key);
	store_ca_free(&mine);
	store_ca_free(&locked);
	return er;
}

/*
 * The CA of LocalCA issuer iss of the vault called vault: its
 * certificate into cert and, if key is not NULL, its private key
 * (unsealed with m, PKCS#8 DER) into key; the caller frees both with
 * cv_bytes_free.  With make, a CA is made first if the issuer has none
 * yet (m required); without, CV_ERR_NOT_FOUND says there is none.
 * Returns CV_OK, CV_ERR_NOT_FOUND (no such issuer, or no CA), or another
 * error (logged).  certvault-admin uses it too.
 */
enum cv_err
worker_issue_ca(struct store *st, const struct cv_master *m, const char *vault,
    const struct cv_issuer *iss, bool make, struct cv_bytes *cert,
    struct cv_bytes *key)
{
	struct store_ca		 ca;
	const struct cv_master	*km;
	enum cv_err		 er;

	memset(cert, 0, sizeof(*cert));
	if (key != NULL)
		memset(key, 0, sizeof(*key));
	if ((er = store_issue_ca_get(st, iss->id, false, &ca)) != CV_OK)
		goto out;
	if (!ca_complete(&ca)) {
		store_ca_free(&ca);
		if (!make || m == NULL) {
			er = CV_ERR_NOT_FOUND;
			goto out;
		}
		if ((er = ca_make(st, m, vault, iss, &ca)) != CV_OK)
			goto out;
	}
	if (key != NULL) {
		if (m == NULL) {
			er = CV_ERR_INTERNAL;
			goto out;
		}
		if ((km = crypto_master_for(m, ca.master_key_id)) == NULL ||
		    (er = crypto_unseal(km, &ca.sealed, ca.credential_uid,
		    ca.nonce, key)) != CV_OK) {
			er = CV_ERR_INTERNAL;
			log_error("the CA key of LocalCA issuer %s in vault %s "
			    "cannot be unsealed (sealed under master key %s, "
			    "this is %s)", iss->name, vault, ca.master_key_id,
			    m->id);
			goto out;
		}
	}
	*cert = ca.cert;
	memset(&ca.cert, 0, sizeof(ca.cert));
out:
	store_ca_free(&ca);
	return er;
}

/*
 * Write the outcome of claimed operation cl in one transaction under the
 * certificate's row lock, if the same operation is still there and in
 * progress; else (deleted, replaced, finished by someone else) drop it.
 * A cancellation requested meanwhile turns a failure into a cancellation
 * and leaves a completion completed, saying so.  is: the certificate of
 * a completion; code and message: the error of a failure (code NULL:
 * Key Vault's issuer error).
 */
static enum cv_err
finish_locked(struct store *st, const struct store_claim *cl,
    enum worker_outcome out, const char *code, const char *message,
    const struct store_issue *is)
{
	struct store_lock	 lk;
	const char		*details;
	enum cv_err		 er;

	memset(&lk, 0, sizeof(lk));
	if ((er = store_begin(st)) != CV_OK)
		return er;
	if ((er = store_cert_lock(st, cl->vault_id, cl->cert_name, NULL,
	    &lk)) != CV_OK)
		goto out;
	if (!lk.exists || lk.deleted || !lk.has_op || lk.op_id != cl->op_id ||
	    strcmp(lk.op.request_id, cl->request_id) != 0 ||
	    strcmp(lk.op.status, "inProgress") != 0) {
		log_info("operation %s of %s/%s was deleted, replaced or "
		    "finished meanwhile; its outcome is dropped",
		    cl->request_id, cl->vault_name, cl->cert_name);
		goto out;
	}
	if (out == WORKER_FAILED && lk.op.cancellation_requested)
		out = WORKER_CANCELLED;
	switch (out) {
	case WORKER_COMPLETED:
		details = lk.op.cancellation_requested ? DETAILS_CANCEL_LATE :
		    NULL;
		if ((er = store_version_issue(st, lk.target_version_id,
		    is)) != CV_OK ||
		    (er = store_issue_finish(st, cl->op_id, "completed",
		    details, NULL, NULL)) != CV_OK)
			goto out;
		break;
	case WORKER_FAILED:
		/* The seed shows a failed operation with empty details. */
		if ((er = store_issue_finish(st, cl->op_id, "failed", "",
		    code != NULL ? code : CODE_ISSUER, message)) != CV_OK)
			goto out;
		break;
	case WORKER_CANCELLED:
		if ((er = store_issue_finish(st, cl->op_id, "cancelled",
		    DETAILS_CANCELLED, NULL, NULL)) != CV_OK)
			goto out;
		break;
	}
	if ((er = store_commit(st)) == CV_OK)
		log_info("operation %s of %s/%s (issuer %s): %s%s%s",
		    cl->request_id, cl->vault_name, cl->cert_name,
		    cl->issuer_name, out == WORKER_COMPLETED ? "completed" :
		    out == WORKER_FAILED ? "failed: " : "cancelled",
		    out == WORKER_FAILED ? message : "",
		    out == WORKER_COMPLETED && lk.op.cancellation_requested ?
		    " (cancellation requested too late)" : "");
out:
	store_rollback(st);
	store_lock_free(&lk);
	return er;
}

/* finish_locked, once more after a serialization failure or deadlock. */
enum cv_err
worker_issue_finish(struct store *st, const struct store_claim *cl,
    enum worker_outcome out, const char *code, const char *message,
    const struct store_issue *is)
{
	enum cv_err	 er;

	if ((er = finish_locked(st, cl, out, code, message, is)) ==
	    CV_ERR_RETRY)
		er = finish_locked(st, cl, out, code, message, is);
	return er;
}

/* A permanent failure of cl with Key Vault's issuer error; fmt: message. */
static enum cv_err
fail(struct store *st, const struct store_claim *cl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum cv_err
fail(struct store *st, const struct store_claim *cl, const char *fmt, ...)
{
	va_list		 ap;
	char		*msg;
	enum cv_err	 er;

	va_start(ap, fmt);
	msg = cv_vasprintf(fmt, ap);
	va_end(ap);
	er = worker_issue_finish(st, cl, WORKER_FAILED, NULL, msg, NULL);
	free(msg);
	return er;
}

/*
 * A transient failure of cl (why, for the operator, with the error er):
 * recorded, and the operation is due again after a back-off.  Returns
 * er, or CV_ERR_UNAVAILABLE if not even that could be written (the lease
 * brings the operation back).
 */
static enum cv_err
retry(struct store *st, const struct store_claim *cl, enum cv_err er,
    const char *why)
{
	char		*text;
	enum cv_err	 wer;

	text = cv_asprintf("%s%s", why, er == CV_ERR_UNAVAILABLE ?
	    " (database unavailable)" : "");
	log_warnx("operation %s of %s/%s, attempt %d: %s; will retry",
	    cl->request_id, cl->vault_name, cl->cert_name, cl->attempts, text);
	wer = store_issue_retry(st, cl->op_id, text);
	free(text);
	return wer == CV_ERR_UNAVAILABLE ? wer : er;
}

/* Wait for an operator's approval: nothing to do until it comes. */
static enum cv_err
wait_approval(struct store *st, const struct store_claim *cl)
{
	char		*details;
	bool		 waiting;
	enum cv_err	 er;

	details = cv_asprintf("Waiting for an operator's approval "
	    "(certvault-admin operation approve %s %s).", cl->vault_name,
	    cl->cert_name);
	er = store_issue_wait(st, cl->op_id, details, &waiting);
	free(details);
	if (er == CV_OK && waiting)
		log_info("operation %s of %s/%s waits for an operator's "
		    "approval", cl->request_id, cl->vault_name, cl->cert_name);
	return er;
}

/*
 * LocalCA: sign the operation's CSR with the issuer's CA (made on first
 * use) for the policy's validity, and complete the operation with the
 * certificate and the chain [CA].
 */
static enum cv_err
issue_localca(struct store *st, const struct store_claim *cl,
    const struct cv_issuer *iss)
{
	const struct cv_master	*m;
	struct cv_policy	 pol;
	struct cv_bytes		 ca_cert = { NULL, 0 }, leaf = { NULL, 0 };
	struct cv_bytes		 ca_key = { NULL, 0 };
	struct cv_x509_info	 info;
	struct store_issue	 is;
	char			*json = NULL, *msg = NULL;
	bool			 parsed = false, has_info = false;
	enum cv_err		 er;

	memset(&pol, 0, sizeof(pol));
	if ((m = worker_issue_master()) == NULL) {
		er = retry(st, cl, CV_ERR_INTERNAL, master_path == NULL ?
		    "no master key: master_key_file is not configured" :
		    "the master key file cannot be read (see the worker's "
		    "log)");
		goto out;
	}
	er = store_cert_policy(st, cl->vault_id, cl->cert_name, &json, NULL);
	if (er == CV_ERR_CERT_NOT_FOUND) {
		/* Deleted since the claim, and its operation with it. */
		log_info("operation %s of %s/%s: the certificate was deleted",
		    cl->request_id, cl->vault_name, cl->cert_name);
		er = CV_OK;
		goto out;
	}
	if (er != CV_OK) {
		er = retry(st, cl, er, "could not read the certificate's "
		    "policy");
		goto out;
	}
	if (kv_json_policy_parse(json, &pol, &msg) != CV_OK) {
		er = fail(st, cl, "The certificate's policy cannot be read: "
		    "%s", msg != NULL ? msg : "not a policy.");
		goto out;
	}
	parsed = true;
	if (pol.x509.ca) {
		er = fail(st, cl, "The LocalCA issuer '%s' issues end-entity "
		    "certificates only; the policy asks for a CA certificate "
		    "(x509_props.basic_constraints.ca).", iss->name);
		goto out;
	}
	if ((er = worker_issue_ca(st, m, cl->vault_name, iss, true, &ca_cert,
	    &ca_key)) != CV_OK) {
		if (er == CV_ERR_NOT_FOUND)
			er = fail(st, cl, "The issuer '%s' no longer exists in "
			    "this vault.", cl->issuer_name);
		else
			er = retry(st, cl, er, "the LocalCA's CA could not be "
			    "made or read");
		goto out;
	}
	er = crypto_x509_ca_sign(&ca_key, &ca_cert, &cl->csr,
	    pol.validity_months, time(NULL), &leaf);
	cv_bytes_free(&ca_key);
	if (er == CV_ERR_BAD_PARAMETER) {
		er = fail(st, cl, "The LocalCA issuer '%s' cannot sign the "
		    "certificate request.", iss->name);
		goto out;
	}
	if (er != CV_OK || (er = crypto_x509_info(&leaf, &info)) != CV_OK) {
		er = retry(st, cl, er, "the certificate could not be signed");
		goto out;
	}
	has_info = true;
	memset(&is, 0, sizeof(is));
	is.cert = &leaf;
	is.chain = &ca_cert;
	is.chainsz = 1;
	is.x5t = info.x5t;
	is.serial = &info.serial;
	is.subject = info.subject;
	is.nbf = (int64_t)info.not_before;
	is.exp = (int64_t)info.not_after;
	is.enabled = pol.enabled;
	is.tags_json = NULL;
	if ((er = worker_issue_finish(st, cl, WORKER_COMPLETED, NULL, NULL,
	    &is)) != CV_OK &&
	    er != CV_ERR_UNAVAILABLE)
		er = retry(st, cl, er, "the certificate could not be stored");
out:
	if (has_info)
		cv_x509_info_free(&info);
	if (parsed)
		kv_policy_free(&pol);
	cv_bytes_free(&leaf);
	cv_bytes_free(&ca_key);
	cv_bytes_free(&ca_cert);
	free(msg);
	free(json);
	return er;
}

/*
 * Carry out one claimed operation.  A cancellation ends it at once but
 * for ACME, whose order at the CA is wound down first.
 */
static enum cv_err
issue_one(struct store *st, const struct store_claim *cl)
{
	struct cv_issuer	 iss;
	bool			 acme;
	enum cv_err		 er;

	acme = cl->issuer_provider != NULL &&
	    strcasecmp(cl->issuer_provider, "ACME") == 0;
	if (cl->cancellation_requested && !acme)
		return worker_issue_finish(st, cl, WORKER_CANCELLED, NULL, NULL,
		    NULL);
	er = store_issuer_get(st, cl->vault_id, cl->issuer_name, &iss);
	if (er == CV_ERR_NOT_FOUND && cl->cancellation_requested)
		return worker_issue_finish(st, cl, WORKER_CANCELLED, NULL, NULL,
		    NULL);
	if (er == CV_ERR_NOT_FOUND)
		return fail(st, cl, "The issuer '%s' no longer exists in this "
		    "vault.", cl->issuer_name);
	if (er != CV_OK) {
		cv_issuer_free(&iss);
		return retry(st, cl, er, "could not read the issuer");
	}
	if (strcasecmp(iss.provider, "ACME") == 0)
		er = worker_acme_issue(st, cl, &iss);
	else if (cl->cancellation_requested)
		er = worker_issue_finish(st, cl, WORKER_CANCELLED, NULL, NULL,
		    NULL);
	else if (!iss.enabled)
		er = fail(st, cl, "The issuer '%s' is disabled.", iss.name);
	else if (strcasecmp(iss.provider, "LocalCA") != 0)
		er = fail(st, cl, "No connector is configured for the issuer "
		    "provider %s.", iss.provider);
	else if (iss.requires_approval && !cl->approved)
		er = wait_approval(st, cl);
	else
		er = issue_localca(st, cl, &iss);
	cv_issuer_free(&iss);
	return er;
}

/*
 * The job: carry out due issuer-backed operations, up to OPS_PER_PASS of
 * them; *done is the number handled.  CV_ERR_UNAVAILABLE when the
 * database is away; other failures are recorded on their operation.
 */
enum cv_err
worker_issue_run(struct store *st, int *done)
{
	struct store_claim	 cl;
	bool			 found;
	enum cv_err		 er;
	int			 i;

	*done = 0;
	if (who[0] == '\0')
		set_who();
	for (i = 0; i < OPS_PER_PASS; i++) {
		er = store_issue_claim(st, who, LEASE_SECONDS, &cl, &found);
		if (er != CV_OK || !found) {
			store_claim_free(&cl);
			return er;
		}
		er = issue_one(st, &cl);
		store_claim_free(&cl);
		if (er == CV_ERR_UNAVAILABLE)
			return er;
		if (er == CV_OK)
			(*done)++;
	}
	return CV_OK;
}
