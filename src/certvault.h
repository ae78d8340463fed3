/*
 * certvault — self-hosted certificate lifecycle service speaking the
 * Azure Key Vault certificates REST API.  SPDX-License-Identifier: ISC
 *
 * Types every concern shares: error codes, the request and response
 * structures, permissions and limits.  No third-party header here.
 */
#ifndef CERTVAULT_H
#define CERTVAULT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What went wrong, independent of how it is reported.  kv_err.c is the
 * only place that turns one of these into an HTTP status and a Key Vault
 * error code.
 */
enum cv_err {
	CV_OK = 0,
	CV_ERR_BAD_PARAMETER,	/* 400 BadParameter */
	CV_ERR_UNAUTHORIZED,	/* 401 Unauthorized, with the bearer challenge */
	CV_ERR_FORBIDDEN,	/* 403 Forbidden */
	CV_ERR_NOT_FOUND,	/* 404 NotFound: no such route or vault */
	CV_ERR_CERT_NOT_FOUND,	/* 404 CertificateNotFound */
	CV_ERR_PENDING_NOT_FOUND, /* 404 PendingCertificateNotFound */
	CV_ERR_METHOD,		/* 405 MethodNotAllowed */
	CV_ERR_CONFLICT,	/* 409 Conflict */
	CV_ERR_PENDING_CONFLICT, /* 409 Forbidden: operation inProgress (seed) */
	CV_ERR_TOO_LARGE,	/* 413 RequestTooLarge */
	CV_ERR_MEDIA_TYPE,	/* 415 UnsupportedMediaType */
	CV_ERR_INTERNAL,	/* 500 InternalServerError */
	CV_ERR_UNAVAILABLE,	/* 503 ServiceUnavailable: database down */
	CV_ERR_RETRY,		/* serialization failure: retry the transaction */
	CV_ERR_SECRET_NOT_FOUND, /* 404 SecretNotFound */
	CV_ERR_KEY_NOT_FOUND,	/* 404 KeyNotFound */
	CV_ERR_ISSUER_NOT_FOUND, /* 404 CertificateIssuerNotFound */
	CV_ERR_CONTACTS_NOT_FOUND, /* 404 ContactsNotFound */
	CV_ERR_TIMEOUT,		/* 503: the request timeout ran out */
	CV_ERR_THROTTLED,	/* 429 Throttled, with Retry-After */
	CV_ERR__MAX
};

enum cv_method {
	CV_METHOD_GET = 0,
	CV_METHOD_POST,
	CV_METHOD_PUT,
	CV_METHOD_PATCH,
	CV_METHOD_DELETE,
	CV_METHOD_HEAD,
	CV_METHOD_OTHER,
	CV_METHOD__MAX
};

/*
 * Key Vault's certificate permission names, as bits.  The order is the
 * order of cv_perm_names[] in route.c.
 */
enum cv_perm {
	CV_PERM_NONE = 0,
	CV_PERM_GET = 1u << 0,
	CV_PERM_LIST = 1u << 1,
	CV_PERM_CREATE = 1u << 2,
	CV_PERM_IMPORT = 1u << 3,
	CV_PERM_UPDATE = 1u << 4,
	CV_PERM_DELETE = 1u << 5,
	CV_PERM_RECOVER = 1u << 6,
	CV_PERM_PURGE = 1u << 7,
	CV_PERM_BACKUP = 1u << 8,
	CV_PERM_RESTORE = 1u << 9,
	CV_PERM_MANAGECONTACTS = 1u << 10,
	CV_PERM_GETISSUERS = 1u << 11,
	CV_PERM_LISTISSUERS = 1u << 12,
	CV_PERM_SETISSUERS = 1u << 13,
	CV_PERM_DELETEISSUERS = 1u << 14,
	CV_PERM_MANAGEISSUERS = 1u << 15
};
#define CV_PERM__COUNT	16
#define CV_PERM_ALL	((1u << CV_PERM__COUNT) - 1)

/* Certificate, issuer and vault names: Key Vault's ^[0-9a-zA-Z-]{1,127}$. */
#define CV_NAME_MAX	127
#define CV_TOKEN_HASH_LEN 32	/* SHA-256 */
#define CV_TOKEN_PREFIX	"cv_"
#define CV_TOKEN_LEN	(3 + 64)	/* "cv_" + 32 random bytes in hex */
#define CV_ROUTE_ARGS	4

/* The newest api-version we speak, quoted in errors. */
#define CV_API_VERSION_LATEST "2025-07-01"

struct store;
struct cv_master;

/* What every handler may use besides the request: storage and keys. */
struct netmask;

struct cv_ctx {
	struct store		*store;
	const struct cv_master	*master;	/* NULL: not configured */
	unsigned		 rate_token;	/* requests/s per token; 0: off */
	unsigned		 rate_vault;	/* requests/s per vault; 0: off */
	const struct netmask	*operator_nets;	/* may read /metrics, /status */
	size_t			 operator_netsz;
	unsigned		 worker_interval; /* s; /status: stale workers */
};

struct cv_param {
	char	*name;
	char	*value;
};

/* The vault a request addresses, resolved from its Host header. */
struct cv_vault {
	int64_t	 id;
	char	*name;
};

/* Owned bytes (DER and the like); crypto.h's cv_bytes_free() releases. */
struct cv_bytes {
	unsigned char	*data;
	size_t		 len;
};

/* A list of strings; cv_strlist_free() releases. */
struct cv_strlist {
	char		**v;
	size_t		  n;
};

void	cv_strlist_free(struct cv_strlist *);
void	cv_strlist_split(const char *, struct cv_strlist *);

/*
 * A pending certificate operation (Key Vault's CertificateOperation) as
 * stored.  Strings are owned; cv_operation_free() releases them.
 */
struct cv_operation {
	char		*name;		/* the certificate's name */
	char		 request_id[33];
	char		*issuer_name;
	char		*issuer_provider; /* NULL for Self and Unknown */
	char		*cty;
	int		 cert_transparency; /* -1: not given */
	struct cv_bytes	 csr;		/* DER */
	bool		 cancellation_requested;
	char		*status;	/* inProgress, completed, failed, cancelled */
	char		*status_details;
	char		*error_code;
	char		*error_message;
	bool		 preserve_cert_order;
};

void	cv_operation_free(struct cv_operation *);

/*
 * An issuer object of a vault (Key Vault's IssuerBundle, credentials
 * aside).  Strings are owned; cv_issuer_free() releases them.
 */
struct cv_issuer {
	int64_t		 id;
	char		*name;
	char		*provider;	/* LocalCA, DigiCert, ACME, … */
	bool		 enabled;
	char		*account_id;	/* credentials.account_id, or NULL */
	char		*organization_id; /* org_details.id, or NULL */
	char		*admin_details_json; /* org_details.admin_details */
	bool		 requires_approval;
	bool		 has_password;	/* credentials.pwd is stored, sealed */
	int64_t		 created, updated;
};

void	cv_issuer_free(struct cv_issuer *);

/*
 * One certificate version with what a CertificateBundle shows of it.
 * has_cert is false while the version waits for its certificate.
 */
struct cv_version {
	char		*name;
	char		 version[33];
	bool		 has_cert;
	struct cv_bytes	 der;		/* the leaf, DER */
	unsigned char	 x5t[20];
	bool		 enabled;
	int64_t		 nbf, exp, created, updated;
	char		*tags_json;	/* or NULL */
	char		*policy_json;	/* effective policy, or NULL */
	int64_t		 policy_created, policy_updated;
	bool		 has_pending;	/* an operation object exists */
	int		 recoverable_days;
	bool		 purge_protection;
	char		*content_type;
	bool		 preserve_cert_order;
};

void	cv_version_free(struct cv_version *);

/* One row of a certificate list (Key Vault's CertificateItem). */
struct cv_cert_item {
	char		*name;
	char		*version;	/* NULL: the certificate's base id */
	char		*x5t;		/* base64url SHA-1 of the DER, or NULL */
	bool		 enabled;
	int64_t		 nbf, exp, created, updated;	/* Unix seconds; 0: absent */
	char		*tags_json;	/* JSON object text, or NULL */
};

void	cv_cert_items_free(struct cv_cert_item *, size_t);

/*
 * One HTTP request, built from the CGI environment by http_req.c.  The
 * request owns every string in it; cv_req_free() releases them.
 */
struct cv_req {
	enum cv_method	 method;
	char		*method_name;	/* as sent, for the access log */
	char		*path;		/* decoded path, without the query */
	char		*host;		/* Host header, port included */
	char		*scheme;	/* "https" or "http" */
	char		*authorization;	/* Authorization header or NULL */
	char		*content_type;	/* or NULL */
	char		*client_request_id; /* x-ms-client-request-id or NULL */
	char		*remote_addr;	/* REMOTE_ADDR, the client, or NULL */
	char		 request_id[37]; /* ours, echoed as x-ms-request-id */
	size_t		 content_length;
	bool		 body_too_large; /* body exceeded the limit, not read */
	char		*body;		/* NUL-terminated, or NULL */
	size_t		 bodysz;
	struct cv_param	*params;	/* query parameters, decoded */
	size_t		 paramsz;

	/* Filled by the pipeline in route.c. */
	struct cv_vault	 vault;
	unsigned	 perms;		/* granted by the token */
	int64_t		 token_id;
	const char	*api_version;	/* borrowed from params */
	char		*args[CV_ROUTE_ARGS]; /* path captures, e.g. {name} */
	size_t		 argsz;
	int		 route_index;	/* in the route table; -1: none */
};

/*
 * One HTTP response, written once by http_resp.c.  Handlers fill it and
 * never touch the FastCGI stream.
 */
struct cv_resp {
	int		 status;
	char		*body;		/* JSON text or NULL */
	size_t		 bodysz;
	const char	*content_type;	/* of body; NULL: JSON */
	unsigned	 retry_after;	/* Retry-After seconds; 0: none */
	char		*location;	/* Location header or NULL */
	char		*challenge;	/* WWW-Authenticate header or NULL */
	char		*allow;		/* Allow header on 405, or NULL */
	enum cv_err	 err;		/* CV_OK unless an error was set */
	char		*errmsg;	/* client-facing message of err */
	const char	*errinner;	/* innererror.code, or NULL */
};

void	cv_req_free(struct cv_req *);
void	cv_resp_free(struct cv_resp *);
const char *cv_req_param(const struct cv_req *, const char *);

/* Memory helpers that abort on allocation failure (as lighttpd's ck_*). */
void	*cv_malloc(size_t);
void	*cv_calloc(size_t, size_t);
void	*cv_realloc(void *, size_t);
char	*cv_strdup(const char *);
char	*cv_strndup(const char *, size_t);
char	*cv_asprintf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
char	*cv_vasprintf(const char *, va_list)
	    __attribute__((format(printf, 1, 0)));

bool	cv_name_valid(const char *);
int64_t	cv_mono_ms(void);

/* command.c */
enum cv_err cv_command_run(const char *, char *const [], const char *,
	    unsigned, char **);
int	cv_hexval(int);

/*
 * One row of the deleted certificates list (DeletedCertificateItem):
 * the certificate's item, when it was deleted and will be purged (Unix
 * seconds), and its vault's soft-delete settings.
 */
struct cv_deleted_item {
	struct cv_cert_item	 item;
	int64_t			 deleted, scheduled_purge;
	int			 recoverable_days;
	bool			 purge_protection;
};

/* In store_deleted.c, as cv_backup_free(). */
void	cv_deleted_items_free(struct cv_deleted_item *, size_t);

/*
 * A certificate as a backup holds it (h_backup.c): its row, its keys and
 * its versions, oldest first.  A key's private half is in priv (plain,
 * between unsealing and sealing again) or in sealed/nonce under uid as
 * stored; cv_backup_free() wipes both.  id fields are row ids, used only
 * while reading.
 */
struct cv_backup_key {
	int64_t		 id;
	char		 uid[37];	/* key_uid: the sealing's associated data */
	char		*kty;		/* "RSA" or "EC" */
	unsigned	 key_size;
	char		*curve;		/* or NULL */
	bool		 exportable;
	struct cv_bytes	 pub;		/* SPKI DER */
	struct cv_bytes	 priv;		/* plain private key */
	struct cv_bytes	 sealed;	/* ciphertext and tag */
	unsigned char	 nonce[12];	/* CV_SEAL_NONCE_LEN */
	char		*master_key_id;
	int64_t		 created;
};

struct cv_backup_version {
	int64_t		 id;
	char		 version[33];
	size_t		 key;		/* index into keys */
	struct cv_bytes	 der;		/* the leaf; empty while pending */
	struct cv_bytes	*chain;		/* its issuers, in order */
	size_t		 nchain;
	struct cv_bytes	 x5t, serial;	/* empty while pending */
	char		*subject;	/* or NULL */
	int64_t		 nbf, exp, created, updated;
	bool		 enabled;
	char		*tags_json;	/* or NULL */
	char		*content_type;
	bool		 preserve_cert_order;
};

struct cv_backup {
	char			*name;
	char			*policy_json;
	char			*tags_json;	/* the certificate's, or NULL */
	int64_t			 created, updated, policy_updated;
	struct cv_backup_key	*keys;
	size_t			 nkeys;
	struct cv_backup_version *versions;
	size_t			 nversions;
};

void	cv_backup_free(struct cv_backup *);

/*
 * One certificate contact of a vault (Key Vault's Contact): strings are
 * owned, NULL when not given.
 */
struct cv_contact {
	char	*email;
	char	*name;
	char	*phone;
};

/* In store_issuer.c: release a list of contacts, a list of issuers. */
void	cv_contacts_free(struct cv_contact *, size_t);
void	cv_issuers_free(struct cv_issuer *, size_t);

#endif /* CERTVAULT_H */
