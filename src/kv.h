/*
 * certvault — Key Vault's wire shapes: errors and JSON bodies.
 * SPDX-License-Identifier: ISC
 *
 * kv_err.c is the one place mapping a cv_err to an HTTP status and a Key
 * Vault error code; kv_json.c builds the JSON documents.  Both use jansson
 * and nothing outside them does.
 */
#ifndef KV_H
#define KV_H

#include <stdint.h>

#include "certvault.h"
#include "crypto.h"

/* kv_err.c */
int	 kv_err_status(enum cv_err);
const char *kv_err_code(enum cv_err);
unsigned kv_err_retry_after(enum cv_err);
enum cv_err kv_err_set(struct cv_resp *, enum cv_err, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 kv_err_finish(struct cv_resp *);

/* kv_json.c */

enum cv_err kv_json_health(struct cv_resp *, bool);
enum cv_err kv_json_ready(struct cv_resp *, bool, bool);
enum cv_err kv_json_live(struct cv_resp *);
enum cv_err kv_json_cert_list(struct cv_resp *, const char *,
	    const struct cv_cert_item *, size_t, const char *);

/* How a policy's issuer is served. */
enum cv_issuer_kind {
	CV_ISSUER_SELF = 0,	/* self-signed during the request */
	CV_ISSUER_UNKNOWN,	/* CSR only; the client merges */
	CV_ISSUER_OBJECT	/* an issuer object of the vault */
};

/* What a lifetime action does (action_type). */
enum cv_lifetime_type {
	CV_LIFETIME_AUTORENEW = 0,	/* AutoRenew */
	CV_LIFETIME_EMAIL,		/* EmailContacts */
	CV_LIFETIME__MAX
};

/* One lifetime action: its trigger is pct or days, the other is 0. */
struct cv_lifetime {
	enum cv_lifetime_type	 type;
	unsigned		 pct;		/* lifetime_percentage, 1-99 */
	unsigned		 days;		/* days_before_expiry */
};

/*
 * A certificate policy, validated, with Key Vault's defaults filled in.
 * json is the effective policy as stored and returned (without its id
 * and timestamps).  kv_policy_free() releases everything.
 */
struct cv_policy {
	struct cv_keyspec	 key;
	char			*kty;		/* as given: RSA, RSA-HSM, EC, EC-HSM */
	bool			 exportable;
	bool			 reuse_key;
	struct cv_x509_req	 x509;
	unsigned		 validity_months;
	char			*issuer;
	enum cv_issuer_kind	 issuer_kind;
	char			*cty;		/* or NULL */
	int			 cert_transparency; /* -1: not given */
	char			*content_type;
	bool			 enabled;
	struct cv_lifetime	*lifetime;	/* lifetime_actions, in order */
	size_t			 nlifetime;
	char			*json;
};

/* The body of POST /certificates/{name}/create (and of an import). */
struct cv_create {
	char			*value;		/* import: PKCS#12 base64 or PEM */
	char			*pwd;		/* import: or NULL */
	bool			 has_policy;
	struct cv_policy	 policy;
	char			*policy_given;	/* import: the policy as sent */
	bool			 enabled;	/* attributes.enabled */
	char			*tags_json;	/* or NULL */
	bool			 preserve_cert_order;
};

/* The body of POST /certificates/{name}/pending/merge. */
struct cv_merge {
	struct cv_strlist	 x5c;
	int			 enabled;	/* -1: not given */
	char			*tags_json;	/* or NULL */
};

void	 kv_policy_free(struct cv_policy *);
void	 kv_create_free(struct cv_create *);
void	 kv_merge_free(struct cv_merge *);
enum cv_err kv_json_policy_parse(const char *, struct cv_policy *, char **);
enum cv_err kv_json_create_parse(const char *, struct cv_create *, char **);
enum cv_err kv_json_cancel_parse(const char *, bool *, char **);
enum cv_err kv_json_merge_parse(const char *, struct cv_merge *, char **);
enum cv_err kv_json_operation(struct cv_resp *, int, const char *,
	    const struct cv_operation *);
enum cv_err kv_json_bundle(struct cv_resp *, int, const char *,
	    const struct cv_version *);
enum cv_err kv_json_secret(struct cv_resp *, const char *,
	    const struct cv_version *, const char *);
enum cv_err kv_json_key(struct cv_resp *, const char *,
	    const struct cv_version *, const struct cv_jwk *);
enum cv_err kv_json_import_parse(const char *, struct cv_create *, char **);
enum cv_err kv_json_policy_from_cert(const struct cv_keyspec *,
	    const struct cv_x509_req *, unsigned, const char *, char **);
enum cv_err kv_json_update_parse(const char *, struct cv_merge *, char **);
enum cv_err kv_json_policy_merge(const char *, const char *, char **, char **);
enum cv_err kv_json_policy_doc(struct cv_resp *, const char *, const char *,
	    const char *, int64_t, int64_t);

/* kv_json.c: soft-delete, backup and restore */
enum cv_err kv_json_deleted_bundle(struct cv_resp *, const char *,
	    const struct cv_version *, int64_t, int64_t);
enum cv_err kv_json_deleted_list(struct cv_resp *, const char *,
	    const struct cv_deleted_item *, size_t, const char *);
enum cv_err kv_json_backup_build(const struct cv_backup *, struct cv_bytes *);
enum cv_err kv_json_backup_parse(const struct cv_bytes *, struct cv_backup *,
	    char **);
enum cv_err kv_json_backup_value(struct cv_resp *, const char *);
enum cv_err kv_json_restore_parse(const char *, char **, char **);

/*
 * kv_json.c: issuers and contacts.  The body of PUT or PATCH
 * /certificates/issuers/{name}: a member given is flagged (has_* or
 * non-NULL); an empty string is given and clears the member (NULL
 * value).  kv_issuer_body_free() wipes the password.
 */
struct cv_issuer_body {
	char	*provider;		/* NULL: not given */
	bool	 has_account_id;
	char	*account_id;		/* credentials.account_id */
	bool	 has_pwd;
	char	*pwd;			/* credentials.pwd */
	bool	 has_org_id;
	char	*org_id;		/* org_details.id */
	char	*admin_details_json;	/* normalised array; NULL: not given */
	int	 enabled;		/* attributes.enabled; -1: not given */
};

void	 kv_issuer_body_free(struct cv_issuer_body *);
enum cv_err kv_json_issuer_parse(const char *, bool, struct cv_issuer_body *,
	    char **);
enum cv_err kv_json_issuer(struct cv_resp *, const char *,
	    const struct cv_issuer *);
enum cv_err kv_json_issuer_list(struct cv_resp *, const char *,
	    const struct cv_issuer *, size_t, const char *);
enum cv_err kv_json_contacts_parse(const char *, struct cv_contact **,
	    size_t *, char **);
enum cv_err kv_json_contacts(struct cv_resp *, const char *,
	    const struct cv_contact *, size_t);
bool	 kv_email_valid(const char *);

#endif /* KV_H */
