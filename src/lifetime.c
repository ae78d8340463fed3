/*
 * certvault — lifetime actions: AutoRenew and EmailContacts when the
 * trigger of a policy's lifetime action has passed.
 * SPDX-License-Identifier: ISC
 *
 * For every live certificate, the triggers are computed from its latest
 * issued version (lifetime_percentage: not_before + N % of the validity;
 * days_before_expiry: not_after - N days).  An action whose trigger has
 * passed, as of now or as of the time given, and that has no run
 * recorded for that version is carried out under the certificate's row
 * lock (FOR UPDATE SKIP LOCKED), and its run recorded in the same
 * transaction (lifetime_action_runs), so that it happens once:
 *
 * - AutoRenew, issuer Self: a new version is made here, as a create makes
 *   it (cert_make.c), valid from the evaluation time, and becomes the
 *   latest; with key_props.reuse_key the current key pair is kept.
 * - AutoRenew, an issuer object: a new pending version and an operation
 *   in progress (origin autorenew), which the issuance job completes as it
 *   completes a create with that issuer.
 * - AutoRenew, issuer Unknown: not possible (Key Vault allows only
 *   EmailContacts there); recorded as such.
 * - EmailContacts: one message to the vault's contacts through the
 *   sendmail_command, written to its standard input (nothing from the
 *   certificate reaches a command line).  A failing command is recorded
 *   and tried again later, backing off.
 *
 * No renewal while an operation is in progress (the 409 rule of create);
 * it waits, unrecorded, until the operation is over.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "cert_make.h"
#include "crypto.h"
#include "kv.h"
#include "lifetime.h"
#include "log.h"
#include "store.h"

extern char **environ;

/* Candidates read per query. */
#define LT_BATCH	200

/* Seconds a sendmail command may take before it is killed. */
#define LT_MAIL_TIMEOUT	60

static const char *const lifetime_names[CV_LIFETIME__MAX] = {
	"AutoRenew",		/* CV_LIFETIME_AUTORENEW */
	"EmailContacts",	/* CV_LIFETIME_EMAIL */
};

/*
 * When action a fires for a version valid from nbf to exp (Unix
 * seconds): nbf + pct % of the validity, or exp - days days; never before
 * nbf (a days_before_expiry longer than the validity fires at once).
 */
int64_t
lifetime_due(const struct cv_lifetime *a, int64_t nbf, int64_t exp)
{
	int64_t	 due;

	if (exp < nbf)
		exp = nbf;
	if (a->pct > 0)
		due = nbf + (exp - nbf) * (int64_t)a->pct / 100;
	else
		due = exp - (int64_t)a->days * 86400;
	return due < nbf ? nbf : due;
}

/* The trigger of a as "lifetime_percentage=N" or "days_before_expiry=N". */
void
lifetime_trigger_text(const struct cv_lifetime *a, char *buf, size_t sz)
{

	if (a->pct > 0)
		snprintf(buf, sz, "lifetime_percentage=%u", a->pct);
	else
		snprintf(buf, sz, "days_before_expiry=%u", a->days);
}

/* Key Vault's action_type of t. */
const char *
lifetime_action_name(enum cv_lifetime_type t)
{

	return t < CV_LIFETIME__MAX ? lifetime_names[t] : "?";
}

/*
 * Parse a UTC time: 2027-06-01T00:00:00Z (the Z may be left out or be
 * +00:00), 2027-06-01 (midnight), or @SECONDS.  Return false if s is none
 * of these.
 */
bool
lifetime_parse_time(const char *s, int64_t *out)
{
	struct tm	 tm;
	const char	*end;
	char		*e;
	long long	 v;

	if (s[0] == '@') {
		errno = 0;
		v = strtoll(s + 1, &e, 10);
		if (errno != 0 || e == s + 1 || *e != '\0')
			return false;
		*out = (int64_t)v;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		if (strcmp(end, "Z") != 0 && strcmp(end, "") != 0 &&
		    strcmp(end, "+00:00") != 0)
			return false;
	} else {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
		    *end != '\0')
			return false;
	}
	*out = (int64_t)timegm(&tm);
	return true;
}

/* t as 2027-06-01T00:00:00Z. */
void
lifetime_format_time(int64_t t, char buf[21])
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 21, "@%lld", (long long)t);
}

/*
 * Whether a contact's email address may go into a To: header as it is:
 * one @ between non-empty parts, and only the characters of an RFC 5322
 * dot-atom (no spaces, commas, quotes, angle brackets or line breaks).
 */
bool
lifetime_address_ok(const char *a)
{
	const char	*at, *p;

	if ((at = strchr(a, '@')) == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strlen(a) > 254)
		return false;
	for (p = a; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') ||
		    strchr(".!#$%&'*+/=?^_`{|}~@-", *p) != NULL))
			return false;
	return true;
}

/*
 * The notification of an EmailContacts action (trigger, fired at due) of
 * certificate c, as of as_of, to the addresses to: a message for
 * sendmail -t, headers and text.  Names and versions are restricted to
 * letters, digits and hyphens, addresses by lifetime_address_ok(), so
 * nothing here can add a header.  The caller frees the result.
 */
char *
lifetime_message(const struct store_lifetime_cand *c, const char *trigger,
    int64_t due, int64_t as_of, const struct cv_strlist *to)
{
	char	*list = cv_strdup(""), *tmp, *id, *msg;
	char	 nbf[21], exp[21], fired[21];
	size_t	 i;

	for (i = 0; i < to->n; i++) {
		tmp = cv_asprintf("%s%s%s", list, i > 0 ? ", " : "", to->v[i]);
		free(list);
		list = tmp;
	}
	lifetime_format_time(c->nbf, nbf);
	lifetime_format_time(c->exp, exp);
	lifetime_format_time(due, fired);
	id = c->host != NULL ? cv_asprintf("  Identifier:  https://%s/"
	    "certificates/%s/%s\n", c->host, c->name, c->version) :
	    cv_strdup("");
	msg = cv_asprintf(
	    "To: %s\n"
	    "Subject: Certificate %s in vault %s %s on %s\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "\n"
	    "The certificate %s in the vault %s %s on %s.\n"
	    "\n"
	    "  Certificate: %s\n"
	    "  Vault:       %s\n"
	    "  Version:     %s\n"
	    "%s"
	    "  Valid from:  %s\n"
	    "  Expires:     %s\n"
	    "  Trigger:     %s, reached on %s\n"
	    "\n"
	    "This is the EmailContacts lifetime action of the certificate's\n"
	    "policy.  Renew the certificate before it expires (create a new\n"
	    "version, or let an AutoRenew lifetime action make one), or\n"
	    "change the policy's lifetime actions to stop these messages.\n"
	    "\n"
	    "-- \n"
	    "certvault\n",
	    list, c->name, c->vault, c->exp > as_of ? "expires" : "expired",
	    exp, c->name, c->vault, c->exp > as_of ? "expires" : "expired",
	    exp, c->name, c->vault, c->version, id, nbf, exp, trigger, fired);
	free(id);
	free(list);
	return msg;
}

/* One evaluation under way. */
struct lt_run {
	struct store			*st;
	const struct lifetime_opts	*o;
	int64_t				 as_of;
	int				 done;	/* runs recorded */
};

/* Tell what was done: to the caller's say(), else to the log. */
static void
lt_say(const struct lt_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lt_say(const struct lt_run *r, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->o->say != NULL)
		r->o->say(r->o->arg, line);
	else
		log_info("%s", line);
}

/* Whether the comma-separated list has item. */
static bool
lt_listed(const char *list, const char *item)
{
	size_t		 n = strlen(item);
	const char	*p = list;

	if (list == NULL)
		return false;
	while ((p = strstr(p, item)) != NULL) {
		if ((p == list || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

/* The run of action (trigger, due) for c, outcome and the rest unset. */
static void
lt_run_init(struct store_lifetime_run *run, const struct lt_run *r,
    const struct store_lifetime_cand *c, const char *action,
    const char *trigger, int64_t due)
{

	memset(run, 0, sizeof(*run));
	run->cert_id = c->cert_id;
	run->version_id = c->version_id;
	run->action = action;
	run->trigger = trigger;
	run->due = due;
	run->as_of = r->as_of;
}

/*
 * Claim and record run with nothing else to do (not possible, or an
 * error to retry), in one transaction.  Already done elsewhere: nothing.
 */
static enum cv_err
lt_record_only(struct lt_run *r, const struct store_lifetime_cand *c,
    const struct store_lifetime_run *run)
{
	enum store_lt_state	 state;
	int64_t			 next = 0;
	char			 when[21];
	enum cv_err		 er;

	if ((er = store_begin(r->st)) != CV_OK)
		return er;
	if ((er = store_lifetime_claim(r->st, c->cert_id, c->version_id,
	    run->action, run->trigger, &state)) != CV_OK ||
	    state == STORE_LT_BUSY)
		goto out;
	if ((er = store_lifetime_record(r->st, run, NULL, &next)) != CV_OK ||
	    (er = store_commit(r->st)) != CV_OK)
		goto out;
	r->done++;
	if (next != 0) {
		lifetime_format_time(next, when);
		lt_say(r, "error %s/%s: %s (%s) of version %s: %s; next "
		    "attempt after %s", c->vault, c->name, run->action,
		    run->trigger, c->version, run->error, when);
	} else
		lt_say(r, "%s %s/%s: %s (%s) of version %s: %s", run->outcome,
		    c->vault, c->name, run->action, run->trigger, c->version,
		    run->details);
out:
	store_rollback(r->st);
	return er == CV_ERR_CONFLICT ? CV_OK : er;
}

/*
 * The private key of the version c names, for key_props.reuse_key, if it
 * is of the kind the policy asks for; empty otherwise (a new one is made).
 */
static enum cv_err
lt_kept_key(struct lt_run *r, const struct store_lifetime_cand *c,
    const struct cv_policy *pol, struct cv_bytes *priv)
{
	struct store_keyed	 k;
	struct cv_keyspec	 spec;
	const struct cv_master	*m;
	enum cv_err		 er;

	memset(priv, 0, sizeof(*priv));
	if ((er = store_version_key(r->st, c->vault_id, c->name, c->version,
	    &k)) != CV_OK)
		return er == CV_ERR_CERT_NOT_FOUND ? CV_OK : er;
	if (crypto_key_spec(&k.pub, &spec) != CV_OK ||
	    spec.kty != pol->key.kty || spec.bits != pol->key.bits ||
	    (spec.kty == CV_KTY_EC && spec.curve != pol->key.curve))
		log_info("certificate %s/%s: the policy asks for another kind "
		    "of key than version %s has; renewing with a new key",
		    c->vault, c->name, c->version);
	else if ((m = crypto_master_for(r->o->master, k.master_key_id)) ==
	    NULL)
		er = CV_ERR_INTERNAL;
	else
		er = crypto_unseal(m, &k.sealed, k.key_uid, k.nonce, priv);
	store_keyed_free(&k);
	return er;
}

/*
 * Store the renewal nv of c under the certificate's lock, with its run,
 * in one transaction; nothing if another worker got there first or an
 * operation is now in progress.
 */
static enum cv_err
lt_store_renewal(struct lt_run *r, const struct store_lifetime_cand *c,
    const struct store_new_version *nv, struct store_lifetime_run *run)
{
	struct store_lock	 lk;
	enum store_lt_state	 state;
	enum cv_err		 er;

	memset(&lk, 0, sizeof(lk));
	if ((er = store_begin(r->st)) != CV_OK)
		return er;
	if ((er = store_lifetime_claim(r->st, c->cert_id, c->version_id,
	    run->action, run->trigger, &state)) != CV_OK ||
	    state == STORE_LT_BUSY)
		goto out;
	if (state == STORE_LT_IN_PROGRESS) {
		lt_say(r, "waiting %s/%s: AutoRenew (%s) of version %s: an "
		    "operation is in progress", c->vault, c->name,
		    run->trigger, c->version);
		goto out;
	}
	/* The row is ours already; this reads its operation too. */
	if ((er = store_cert_lock(r->st, c->vault_id, c->name, NULL,
	    &lk)) != CV_OK || !lk.exists || lk.deleted)
		goto out;
	if ((er = store_cert_new_version(r->st, &lk, nv)) != CV_OK ||
	    (er = store_lifetime_autorenew(r->st, c->cert_id)) != CV_OK ||
	    (er = store_lifetime_record(r->st, run, NULL, NULL)) != CV_OK ||
	    (er = store_commit(r->st)) != CV_OK)
		goto out;
	r->done++;
	lt_say(r, "%s %s/%s: AutoRenew (%s) of version %s: new version %s%s",
	    run->outcome, c->vault, c->name, run->trigger, c->version,
	    run->new_version, nv->cert == NULL ? ", waiting for its issuer" :
	    "");
out:
	store_rollback(r->st);
	store_lock_free(&lk);
	return er == CV_ERR_CONFLICT ? CV_OK : er;
}

/* AutoRenew of c under policy pol: a new version through its issuer. */
static enum cv_err
lt_renew(struct lt_run *r, const struct store_lifetime_cand *c,
    const struct cv_policy *pol, const char *trigger, int64_t due)
{
	struct store_lifetime_run run;
	struct cert_made	 m;
	struct cv_operation	 op;
	struct store_new_version nv;
	struct cv_issuer	 iss;
	struct cv_bytes		 kept = { NULL, 0 };
	char			*msg = NULL, *why = NULL;
	enum cv_err		 er;

	memset(&m, 0, sizeof(m));
	memset(&iss, 0, sizeof(iss));
	lt_run_init(&run, r, c, "AutoRenew", trigger, due);
	if (pol->issuer_kind == CV_ISSUER_UNKNOWN) {
		run.outcome = "not possible";
		run.details = "AutoRenew needs issuer Self or an issuer "
		    "object; with issuer Unknown a new version is made by a "
		    "create and a merge (Key Vault allows only EmailContacts "
		    "there)";
		return lt_record_only(r, c, &run);
	}
	/* Checked again under the lock; here it spares a key generation. */
	if (c->in_progress) {
		lt_say(r, "waiting %s/%s: AutoRenew (%s) of version %s: an "
		    "operation is in progress", c->vault, c->name, trigger,
		    c->version);
		return CV_OK;
	}
	if (r->o->master == NULL) {
		lt_say(r, "skipped %s/%s: AutoRenew (%s) of version %s: no "
		    "master key is loaded", c->vault, c->name, trigger,
		    c->version);
		return CV_OK;
	}
	if (pol->issuer_kind == CV_ISSUER_OBJECT) {
		er = store_issuer_get(r->st, c->vault_id, pol->issuer, &iss);
		if (er == CV_ERR_NOT_FOUND)
			why = cv_asprintf("the issuer '%s' does not exist in "
			    "this vault", pol->issuer);
		else if (er == CV_OK && !iss.enabled)
			why = cv_asprintf("the issuer '%s' is disabled",
			    pol->issuer);
		else if (er != CV_OK)
			goto out;
		if (why != NULL) {
			run.outcome = "error";
			run.error = why;
			er = lt_record_only(r, c, &run);
			goto out;
		}
	}
	if (pol->reuse_key && (er = lt_kept_key(r, c, pol, &kept)) != CV_OK)
		goto out;
	/* The expensive part, before any lock. */
	if ((er = cert_make(r->st, r->o->master, pol, kept.data != NULL ?
	    &kept : NULL, (time_t)r->as_of, &m, &msg)) != CV_OK) {
		if (er != CV_ERR_BAD_PARAMETER)
			goto out;
		run.outcome = "not possible";
		run.details = msg != NULL ? msg : "the policy cannot be made "
		    "into a certificate request";
		er = lt_record_only(r, c, &run);
		goto out;
	}
	if ((er = cert_make_version(&m, pol, r->o->master, iss.provider, true,
	    &op, &nv)) != CV_OK)
		goto out;
	op.name = c->name;
	nv.policy_json = c->policy_json;
	nv.tags_json = c->tags_json;
	run.outcome = m.has_info ? "renewed" : "renewal requested";
	run.new_version = m.version;
	run.details = m.has_info ? "a new version was made (issuer Self)" :
	    "a new version waits for the issuer";
	er = lt_store_renewal(r, c, &nv, &run);
out:
	free(msg);
	free(why);
	cv_bytes_free(&kept);
	cert_made_free(&m);
	cv_issuer_free(&iss);
	return er;
}

/*
 * The addresses of the vault's contacts that can be written into a
 * header; the others are logged and left out.
 */
static enum cv_err
lt_recipients(struct lt_run *r, const struct store_lifetime_cand *c,
    struct cv_strlist *to)
{
	struct cv_contact	*ct;
	size_t			 n, i;
	enum cv_err		 er;

	memset(to, 0, sizeof(*to));
	if ((er = store_contacts_get(r->st, c->vault_id, &ct, &n)) != CV_OK)
		return er;
	to->v = cv_calloc(n + 1, sizeof(*to->v));
	for (i = 0; i < n; i++) {
		if (ct[i].email == NULL)
			continue;
		if (!lifetime_address_ok(ct[i].email)) {
			log_warnx("vault %s: contact address \"%s\" left out "
			    "of notifications: not a plain address", c->vault,
			    ct[i].email);
			continue;
		}
		to->v[to->n++] = cv_strdup(ct[i].email);
	}
	cv_contacts_free(ct, n);
	return CV_OK;
}

/* EmailContacts of c: one message to the vault's contacts. */
static enum cv_err
lt_email(struct lt_run *r, const struct store_lifetime_cand *c,
    const char *trigger, int64_t due)
{
	struct store_lifetime_run run;
	struct cv_strlist	 to = { NULL, 0 };
	enum store_lt_state	 state;
	char			*msg = NULL, *err = NULL, *list = NULL;
	char			*tmp;
	char			 when[21];
	int64_t			 next = 0;
	size_t			 i;
	enum cv_err		 er;

	lt_run_init(&run, r, c, "EmailContacts", trigger, due);
	if ((er = store_begin(r->st)) != CV_OK)
		return er;
	if ((er = store_lifetime_claim(r->st, c->cert_id, c->version_id,
	    run.action, trigger, &state)) != CV_OK || state == STORE_LT_BUSY)
		goto out;
	if ((er = lt_recipients(r, c, &to)) != CV_OK)
		goto out;
	if (to.n == 0) {
		run.outcome = "no contacts";
		run.details = "the vault has no contact with an email address";
	} else {
		list = cv_strdup(to.v[0]);
		for (i = 1; i < to.n; i++) {
			tmp = cv_asprintf("%s,%s", list, to.v[i]);
			free(list);
			list = tmp;
		}
		run.recipients = list;
		/* Sent under the lock: a second worker waits, then sees it. */
		msg = lifetime_message(c, trigger, due, r->as_of, &to);
		if (cv_command_run(r->o->sendmail, NULL, msg, LT_MAIL_TIMEOUT,
		    &err) == CV_OK) {
			run.outcome = "sent";
			run.details = "the contacts were notified";
		} else {
			run.outcome = "error";
			run.error = err;
		}
	}
	if ((er = store_lifetime_record(r->st, &run, NULL, &next)) != CV_OK ||
	    (er = store_commit(r->st)) != CV_OK)
		goto out;
	r->done++;
	if (next != 0) {
		lifetime_format_time(next, when);
		lt_say(r, "error %s/%s: EmailContacts (%s) of version %s: "
		    "sendmail failed: %s; next attempt after %s", c->vault,
		    c->name, trigger, c->version, err, when);
	} else if (to.n == 0)
		lt_say(r, "no contacts %s/%s: EmailContacts (%s) of version %s",
		    c->vault, c->name, trigger, c->version);
	else
		lt_say(r, "sent %s/%s: EmailContacts (%s) of version %s to %s",
		    c->vault, c->name, trigger, c->version, list);
out:
	store_rollback(r->st);
	cv_strlist_free(&to);
	free(list);
	free(msg);
	free(err);
	return er == CV_ERR_CONFLICT ? CV_OK : er;
}

/*
 * Every due action of c.  Only a lost database connection ends the
 * evaluation; other failures are logged and the action is tried again
 * at a later pass.
 */
static enum cv_err
lt_candidate(struct lt_run *r, const struct store_lifetime_cand *c)
{
	struct cv_policy	 pol;
	const struct cv_lifetime *a;
	char			*msg = NULL, trigger[48], key[80];
	int64_t			 due;
	size_t			 i;
	int			 before;
	enum cv_err		 er = CV_OK;

	if (kv_json_policy_parse(c->policy_json, &pol, &msg) != CV_OK) {
		log_warnx("certificate %s/%s: stored policy not usable for "
		    "lifetime actions: %s", c->vault, c->name,
		    msg != NULL ? msg : "");
		free(msg);
		return CV_OK;
	}
	for (i = 0; i < pol.nlifetime; i++) {
		a = &pol.lifetime[i];
		if ((due = lifetime_due(a, c->nbf, c->exp)) > r->as_of)
			continue;
		lifetime_trigger_text(a, trigger, sizeof(trigger));
		snprintf(key, sizeof(key), "%s %s",
		    lifetime_action_name(a->type), trigger);
		if (lt_listed(c->done, key))
			continue;
		before = r->done;
		if (a->type == CV_LIFETIME_AUTORENEW)
			er = lt_renew(r, c, &pol, trigger, due);
		else
			er = lt_email(r, c, trigger, due);
		if (er == CV_ERR_UNAVAILABLE)
			break;
		if (er != CV_OK)
			log_warnx("certificate %s/%s: %s (%s) of version %s "
			    "failed; it is tried again later", c->vault,
			    c->name, lifetime_action_name(a->type), trigger,
			    c->version);
		er = CV_OK;
		/* After a renewal, c->version is no longer the latest. */
		if (a->type == CV_LIFETIME_AUTORENEW && r->done > before)
			break;
	}
	kv_policy_free(&pol);
	return er;
}

/*
 * Evaluate every lifetime action once, as of o->as_of (0: now), and carry
 * out those due.  *done is the number of runs recorded.  Returns an error
 * only if the database could not be read.
 */
enum cv_err
lifetime_run(struct store *st, const struct lifetime_opts *o, int *done)
{
	struct lt_run			 r;
	struct store_lifetime_cand	*c;
	size_t				 n, i;
	int64_t				 after = 0;
	enum cv_err			 er = CV_OK;

	*done = 0;
	memset(&r, 0, sizeof(r));
	r.st = st;
	r.o = o;
	r.as_of = o->as_of != 0 ? o->as_of : (int64_t)time(NULL);
	do {
		if ((er = store_lifetime_scan(st, o->vault, o->name, r.as_of,
		    after, LT_BATCH, &c, &n)) != CV_OK)
			break;
		for (i = 0; i < n && er == CV_OK; i++)
			er = lt_candidate(&r, &c[i]);
		if (n > 0)
			after = c[n - 1].cert_id;
		store_lifetime_cands_free(c, n);
	} while (er == CV_OK && n == LT_BATCH);
	*done = r.done;
	return er;
}

/* certvault-worker's settings for lifetime_job(). */
static char			*job_sendmail;
static unsigned			 job_interval;
static char			*job_master_path;
static int64_t			 job_as_of;
static time_t			 job_last;

static void
job_teardown(void)
{

	free(job_master_path);
	job_master_path = NULL;
	free(job_sendmail);
	job_sendmail = NULL;
}

/*
 * Set up lifetime_job(): the master key (from master_key_file; without
 * it AutoRenew cannot make versions, and says so), the sendmail command,
 * the seconds between evaluations, and the time to evaluate as of (0:
 * now; else certvault-worker --as-of, for tests and drills).  The key is
 * wiped at exit.
 */
void
lifetime_setup(const char *master_key_file, const char *sendmail,
    unsigned interval, int64_t as_of)
{
	static bool	 registered;

	job_teardown();
	if (master_key_file != NULL) {
		job_master_path = cv_strdup(master_key_file);
		if (crypto_master_get(job_master_path) == NULL)
			log_error("master key %s not loaded: AutoRenew "
			    "lifetime actions cannot make new versions",
			    master_key_file);
	}
	job_sendmail = cv_strdup(sendmail != NULL ? sendmail : "");
	job_interval = interval;
	job_as_of = as_of;
	job_last = 0;
	if (!registered && atexit(job_teardown) == 0)
		registered = true;
}

/*
 * certvault-worker's job: lifetime_run() as of now (or as set up), at
 * most once every lifetime_interval seconds (a failed evaluation is tried
 * at the next pass).  *done is the number of runs recorded.
 */
enum cv_err
lifetime_job(struct store *st, int *done)
{
	struct lifetime_opts	 o;
	time_t			 now = time(NULL);
	enum cv_err		 er;

	*done = 0;
	if (job_sendmail == NULL ||
	    (job_last != 0 && now - job_last < (time_t)job_interval &&
	    now >= job_last))
		return CV_OK;
	memset(&o, 0, sizeof(o));
	o.master = crypto_master_get(job_master_path);
	o.sendmail = job_sendmail;
	o.as_of = job_as_of;
	if ((er = lifetime_run(st, &o, done)) == CV_OK)
		job_last = now;
	return er;
}
