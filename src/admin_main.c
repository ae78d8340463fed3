/*
 * certvault-admin — the operator's command line: migrations, vaults,
 * tokens, doctor (doctor.c).  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "crypto.h"
#include "doctor.h"
#include "http.h"
#include "lifetime.h"
#include "log.h"
#include "reseal.h"
#include "store.h"
#include "worker.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/certvault"
#endif

static void
usage(void)
{

	fprintf(stderr,
	    "usage: certvault-admin [--config FILE] COMMAND\n"
	    "  migrate [--sql-dir DIR]\n"
	    "  vault create NAME [--host HOSTNAME] [--default] "
	    "[--retention-days N]\n"
	    "  vault list\n"
	    "  token create --vault NAME [--name LABEL] "
	    "[--permissions p1,p2,...] [--expires-days N]\n"
	    "  token list [--vault NAME]\n"
	    "  token revoke ID\n"
	    "  master-key create [PATH]\n"
	    "  rotate-master-key NEW_KEY_FILE [--old OLD_KEY_FILE ...] "
	    "[--batch N]\n"
	    "  operation list [--vault NAME]\n"
	    "  operation approve VAULT CERTIFICATE [--by NAME]\n"
	    "  operation reject VAULT CERTIFICATE --reason TEXT\n"
	    "  issuer ca-certificate VAULT ISSUER\n"
	    "  lifetime run [--as-of TIME] [--vault NAME] "
	    "[--certificate NAME]\n"
	    "  doctor [--config FILE] [--url URL [--ca-file FILE]] "
	    "[--listen SOCKET] [--web-user USER]\n");
	exit(2);
}

static const char *
err_text(enum cv_err er)
{

	switch (er) {
	case CV_ERR_UNAVAILABLE:
		return "could not connect to the database";
	case CV_ERR_CONFLICT:
		return "it already exists";
	case CV_ERR_NOT_FOUND:
		return "not found";
	default:
		return "database error (see the log above)";
	}
}

static int
parse_int(const char *s, int lo, int hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "certvault-admin: %s must be a number between "
		    "%d and %d\n", what, lo, hi);
		exit(2);
	}
	return (int)v;
}

/* Migration files are NNN_description.sql, applied in name order. */
static int
migration_file(const struct dirent *d)
{
	size_t	 len = strlen(d->d_name);

	return len > 8 && d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
	    d->d_name[1] >= '0' && d->d_name[1] <= '9' &&
	    d->d_name[2] >= '0' && d->d_name[2] <= '9' &&
	    d->d_name[3] == '_' && strcmp(d->d_name + len - 4, ".sql") == 0;
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 sz = 0;
	ssize_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = getdelim(&buf, &sz, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
cmd_migrate(struct store *st, int argc, char *argv[])
{
	struct dirent	**names;
	const char	*dir = getenv("CERTVAULT_SQL_DIR");
	char		*path, *sql;
	int		 n, i, applied = 0, rc = 0;
	bool		 done;
	enum cv_err	 er;

	if (argc == 3 && strcmp(argv[1], "--sql-dir") == 0)
		dir = argv[2];
	else if (argc != 1)
		usage();
	if (dir == NULL)
		dir = PKGDATADIR "/sql";
	if ((n = scandir(dir, &names, migration_file, alphasort)) < 0) {
		fprintf(stderr, "certvault-admin: could not read %s: %s\n",
		    dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (rc != 0)
			goto next;
		if ((er = store_migration_applied(st, names[i]->d_name,
		    &done)) != CV_OK) {
			fprintf(stderr, "certvault-admin: %s\n", err_text(er));
			rc = 1;
			goto next;
		}
		if (done)
			goto next;
		path = cv_asprintf("%s/%s", dir, names[i]->d_name);
		if ((sql = slurp(path)) == NULL) {
			fprintf(stderr, "certvault-admin: could not read %s: "
			    "%s\n", path, strerror(errno));
			rc = 1;
		} else if ((er = store_migration_apply(st, names[i]->d_name,
		    sql)) != CV_OK) {
			fprintf(stderr, "certvault-admin: migration %s not "
			    "applied: %s\n", names[i]->d_name, err_text(er));
			rc = 1;
		} else {
			printf("applied %s\n", names[i]->d_name);
			applied++;
		}
		free(sql);
		free(path);
next:
		free(names[i]);
	}
	free(names);
	if (rc == 0)
		printf("schema up to date (%d migration%s applied now)\n",
		    applied, applied == 1 ? "" : "s");
	return rc;
}

static int
cmd_vault(struct store *st, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "host",		required_argument, NULL, 'H' },
		{ "default",		no_argument,	   NULL, 'd' },
		{ "retention-days",	required_argument, NULL, 'r' },
		{ NULL,			0,		   NULL, 0 },
	};
	struct store_vault_row	*rows;
	const char		*host = NULL, *name;
	size_t			 n, i;
	int64_t			 id;
	int			 ch, days = 90;
	bool			 dflt = false;
	enum cv_err		 er;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		if ((er = store_vault_list(st, &rows, &n)) != CV_OK) {
			fprintf(stderr, "certvault-admin: %s\n", err_text(er));
			return 1;
		}
		printf("%-24s %-32s %-7s %s\n", "NAME", "HOST", "DEFAULT",
		    "RETENTION");
		for (i = 0; i < n; i++)
			printf("%-24s %-32s %-7s %d days\n", rows[i].name,
			    rows[i].host == NULL ? "-" : rows[i].host,
			    rows[i].is_default ? "yes" : "no",
			    rows[i].retention_days);
		store_vault_rows_free(rows, n);
		return 0;
	}
	if (strcmp(argv[1], "create") != 0 || argc < 3)
		usage();
	name = argv[2];
	optind = 3;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'd':
			dflt = true;
			break;
		case 'r':
			days = parse_int(optarg, 7, 90, "--retention-days");
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	if (strlen(name) > 63 || !cv_name_valid(name)) {
		fprintf(stderr, "certvault-admin: a vault name is 1 to 63 "
		    "letters, digits and hyphens\n");
		return 2;
	}
	if ((er = store_vault_create(st, name, host, dflt, days, &id)) !=
	    CV_OK) {
		fprintf(stderr, "certvault-admin: vault %s not created: %s\n",
		    name, err_text(er));
		return 1;
	}
	printf("%s\n", name);
	return 0;
}

/*
 * The audit record of an administrator's change: actor admin, the user
 * who ran certvault-admin as detail.  A failure to write it is said, the
 * change stands.
 */
static void
admin_audit(struct store *st, const char *vault, const char *op,
    const char *type, const char *name)
{
	struct store_audit	 a;
	struct passwd		*pw;

	memset(&a, 0, sizeof(a));
	a.vault_name = vault;
	a.actor = "admin";
	a.actor_detail = (pw = getpwuid(getuid())) != NULL ? pw->pw_name :
	    "unknown";
	a.operation = op;
	a.object_type = type;
	a.object_name = name;
	a.outcome = "success";
	if (store_audit(st, &a, NULL) != CV_OK)
		fprintf(stderr, "certvault-admin: warning: %s of %s is not in "
		    "the audit log\n", op, name);
}

static int
cmd_token(struct store *st, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "vault",		required_argument, NULL, 'v' },
		{ "name",		required_argument, NULL, 'n' },
		{ "permissions",	required_argument, NULL, 'p' },
		{ "expires-days",	required_argument, NULL, 'e' },
		{ NULL,			0,		   NULL, 0 },
	};
	struct store_token_row	*rows;
	const char		*vault = NULL, *label = "";
	char			 token[CV_TOKEN_LEN + 1], idtext[24];
	unsigned char		 hash[CV_TOKEN_HASH_LEN];
	unsigned		 perms = CV_PERM_ALL;
	size_t			 n, i;
	int64_t			 id;
	int			 ch, days = 0;
	enum cv_err		 er;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "revoke") == 0) {
		if (argc != 3)
			usage();
		id = parse_int(argv[2], 1, 2147483647, "the token id");
		if ((er = store_token_revoke(st, id)) != CV_OK) {
			fprintf(stderr, "certvault-admin: token %s not revoked: "
			    "%s\n", argv[2], er == CV_ERR_NOT_FOUND ?
			    "no such active token" : err_text(er));
			return 1;
		}
		admin_audit(st, NULL, "TokenRevoke", "token", argv[2]);
		printf("revoked token %s\n", argv[2]);
		return 0;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'v':
			vault = optarg;
			break;
		case 'n':
			label = optarg;
			break;
		case 'p':
			if (!http_auth_perms_parse(optarg, &perms) ||
			    perms == CV_PERM_NONE) {
				fprintf(stderr, "certvault-admin: unknown "
				    "permission in \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'e':
			days = parse_int(optarg, 1, 36500, "--expires-days");
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	if (strcmp(argv[1], "list") == 0) {
		if ((er = store_token_list(st, vault, &rows, &n)) != CV_OK) {
			fprintf(stderr, "certvault-admin: %s\n", err_text(er));
			return 1;
		}
		printf("%-6s %-16s %-16s %-20s %-20s %-20s %s\n", "ID", "VAULT",
		    "NAME", "CREATED", "EXPIRES", "REVOKED", "PERMISSIONS");
		for (i = 0; i < n; i++)
			printf("%-6lld %-16s %-16s %-20s %-20s %-20s %s\n",
			    (long long)rows[i].id, rows[i].vault,
			    rows[i].name[0] == '\0' ? "-" : rows[i].name,
			    rows[i].created,
			    rows[i].expires == NULL ? "-" : rows[i].expires,
			    rows[i].revoked == NULL ? "-" : rows[i].revoked,
			    rows[i].permissions);
		store_token_rows_free(rows, n);
		return 0;
	}
	if (strcmp(argv[1], "create") != 0 || vault == NULL)
		usage();
	if (crypto_token_new(token) != CV_OK)
		return 1;
	crypto_token_hash(token, hash);
	er = store_token_create(st, vault, label, hash, perms, days, &id);
	if (er != CV_OK) {
		crypto_wipe(token, sizeof(token));
		fprintf(stderr, "certvault-admin: token not created: %s\n",
		    er == CV_ERR_NOT_FOUND ? "no such vault" : err_text(er));
		return 1;
	}
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	admin_audit(st, vault, "TokenCreate", "token", idtext);
	/* The only time the token exists outside its holder: stdout, once. */
	printf("%s\n", token);
	fflush(stdout);
	crypto_wipe(token, sizeof(token));
	fprintf(stderr, "token %lld created for vault %s; it is shown only "
	    "once\n", (long long)id, vault);
	return 0;
}

/*
 * Create the master key that seals every private key at rest: 32 random
 * bytes, mode 0600.  An existing file is never overwritten.
 */
static int
cmd_master_key(const struct cv_cfg *cfg, int argc, char *argv[])
{
	const char	*path;
	enum cv_err	 er;

	if (argc < 2 || argc > 3 || strcmp(argv[1], "create") != 0)
		usage();
	path = argc == 3 ? argv[2] : cfg->master_key_file;
	if (path == NULL) {
		fprintf(stderr, "certvault-admin: no path given and no "
		    "master_key_file in the configuration\n");
		return 2;
	}
	if ((er = crypto_master_create(path)) != CV_OK) {
		fprintf(stderr, "certvault-admin: master key %s not created: "
		    "%s\n", path, er == CV_ERR_CONFLICT ? "the file exists" :
		    "see the log above");
		return 1;
	}
	printf("created master key %s (mode 0600); back it up: without it "
	    "no private key can be read\n", path);
	return 0;
}

/* operation list [--vault NAME]: pending_operations_overview. */
static int
op_list(struct store *st, int argc, char *argv[])
{
	struct store_op_row	*rows;
	const char		*vault = NULL;
	size_t			 n, i;
	enum cv_err		 er;

	if (argc == 4 && strcmp(argv[2], "--vault") == 0)
		vault = argv[3];
	else if (argc != 2)
		usage();
	if ((er = store_issue_list(st, vault, &rows, &n)) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err_text(er));
		return 1;
	}
	printf("%-16s %-24s %-10s %-16s %-12s %-8s %-20s %-16s %s\n", "VAULT",
	    "CERTIFICATE", "STATUS", "ISSUER", "PROVIDER", "ATTEMPTS",
	    "NEXT-ATTEMPT", "AGE", "CLAIMED-BY");
	for (i = 0; i < n; i++) {
		printf("%-16s %-24s %-10s %-16s %-12s %-8d %-20s %-16s %s\n",
		    rows[i].vault, rows[i].cert, rows[i].status,
		    rows[i].issuer, rows[i].provider == NULL ? "-" :
		    rows[i].provider, rows[i].attempts,
		    rows[i].next_attempt == NULL ? "-" : rows[i].next_attempt,
		    rows[i].age, rows[i].claimed_by == NULL ? "-" :
		    rows[i].claimed_by);
		printf("    request_id %s\n", rows[i].request_id);
		if (rows[i].approved_by != NULL)
			printf("    approved by %s\n", rows[i].approved_by);
		if (rows[i].cancellation_requested)
			printf("    cancellation requested\n");
		if (rows[i].error_code != NULL)
			printf("    error: %s: %s\n", rows[i].error_code,
			    rows[i].error_message == NULL ? "" :
			    rows[i].error_message);
		if (rows[i].worker_last_error != NULL)
			printf("    last worker error: %s\n",
			    rows[i].worker_last_error);
	}
	store_op_rows_free(rows, n);
	return 0;
}

/*
 * operation approve|reject VAULT CERTIFICATE: under the certificate's
 * row lock, so that neither a client nor a worker changes the operation
 * meanwhile; a worker that finishes later finds it decided.
 */
static int
op_decide(struct store *st, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "by",		required_argument, NULL, 'b' },
		{ "reason",	required_argument, NULL, 'r' },
		{ NULL,		0,		   NULL, 0 },
	};
	struct store_op_admin	 op;
	struct passwd		*pw;
	const char		*vault, *cert, *by = NULL, *reason = NULL;
	char			*details = NULL, *who = NULL;
	bool			 approve;
	enum cv_err		 er;
	int			 ch, rc = 1;

	if (argc < 4)
		usage();
	approve = strcmp(argv[1], "approve") == 0;
	vault = argv[2];
	cert = argv[3];
	optind = 4;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'b':
			by = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		default:
			usage();
		}
	if (optind != argc || (approve && reason != NULL) ||
	    (!approve && by != NULL))
		usage();
	if (!approve && (reason == NULL || *reason == '\0' ||
	    strlen(reason) > 1000)) {
		fprintf(stderr, "certvault-admin: reject needs --reason TEXT "
		    "(1 to 1000 characters): the client sees it as "
		    "error.message\n");
		return 2;
	}
	if (approve && by == NULL) {
		pw = getpwuid(getuid());
		by = pw != NULL ? pw->pw_name : "operator";
	}
	if (approve && (*by == '\0' || strlen(by) > 200)) {
		fprintf(stderr, "certvault-admin: --by must be 1 to 200 "
		    "characters\n");
		return 2;
	}

	memset(&op, 0, sizeof(op));
	if ((er = store_begin(st)) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err_text(er));
		return 1;
	}
	er = store_issue_admin_lock(st, vault, cert, &op);
	if (er == CV_ERR_CERT_NOT_FOUND) {
		fprintf(stderr, "certvault-admin: no certificate %s in vault "
		    "%s\n", cert, vault);
		goto out;
	}
	if (er != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err_text(er));
		goto out;
	}
	if (op.op_id == 0) {
		fprintf(stderr, "certvault-admin: certificate %s has no "
		    "pending operation\n", cert);
		goto out;
	}
	if (strcmp(op.status, "inProgress") != 0) {
		fprintf(stderr, "certvault-admin: the operation of %s is %s; "
		    "only one in progress can be %s\n", cert, op.status,
		    approve ? "approved" : "rejected");
		goto out;
	}
	if (op.issuer_provider == NULL) {
		fprintf(stderr, "certvault-admin: the operation of %s has "
		    "issuer %s, not an issuer object: nothing to %s (merge a "
		    "certificate or delete the operation)\n", cert,
		    op.issuer_name, argv[1]);
		goto out;
	}
	if (approve && op.approved_by != NULL) {
		fprintf(stderr, "certvault-admin: the operation of %s is "
		    "already approved (by %s)\n", cert, op.approved_by);
		goto out;
	}
	if (approve) {
		details = cv_asprintf("Approved by %s; the certificate is "
		    "being issued.", by);
		er = store_issue_approve(st, op.op_id, by, details);
	} else
		er = store_issue_finish(st, op.op_id, "failed", "",
		    "Request rejected", reason);
	if (er == CV_OK)
		er = store_commit(st);
	if (er != CV_OK) {
		fprintf(stderr, "certvault-admin: operation not %s: %s\n",
		    approve ? "approved" : "rejected", er == CV_ERR_CONFLICT ?
		    "it changed meanwhile; look again" : err_text(er));
		goto out;
	}
	admin_audit(st, vault, approve ? "CertificateOperationApprove" :
	    "CertificateOperationReject", "pending", cert);
	who = approve ? cv_asprintf(" by %s", by) : cv_strdup("");
	printf("%s operation %s of %s/%s%s%s\n", approve ? "approved" :
	    "rejected", op.request_id, vault, cert, who, approve ?
	    "; certvault-worker issues it at its next pass" : "");
	rc = 0;
out:
	store_rollback(st);
	store_op_admin_free(&op);
	free(details);
	free(who);
	return rc;
}

static int
cmd_operation(struct store *st, int argc, char *argv[])
{

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0)
		return op_list(st, argc, argv);
	if (strcmp(argv[1], "approve") == 0 || strcmp(argv[1], "reject") == 0)
		return op_decide(st, argc, argv);
	usage();
	/* NOTREACHED */
	return 2;
}

/*
 * issuer ca-certificate VAULT ISSUER: the PEM certificate of a LocalCA
 * issuer's CA, for clients to trust.  A CA not made yet is made now when
 * the master key is configured (as the first issuance would).
 */
static int
cmd_issuer(struct store *st, const struct cv_cfg *cfg, int argc,
    char *argv[])
{
	struct cv_master	 master;
	struct cv_issuer	 iss;
	struct cv_bytes		 der = { NULL, 0 };
	bool			 have_master = false;
	char			*pem = NULL;
	int64_t			 vault_id;
	enum cv_err		 er;
	int			 rc = 1;

	if (argc != 4 || strcmp(argv[1], "ca-certificate") != 0)
		usage();
	memset(&iss, 0, sizeof(iss));
	if ((er = store_vault_id(st, argv[2], &vault_id)) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n",
		    er == CV_ERR_NOT_FOUND ? "no such vault" : err_text(er));
		return 1;
	}
	if ((er = store_issuer_get(st, vault_id, argv[3], &iss)) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n",
		    er == CV_ERR_NOT_FOUND ? "no such issuer in this vault" :
		    err_text(er));
		goto out;
	}
	if (strcasecmp(iss.provider, "LocalCA") != 0) {
		fprintf(stderr, "certvault-admin: issuer %s has provider %s; "
		    "only LocalCA issuers have a CA kept by certvault\n",
		    iss.name, iss.provider);
		goto out;
	}
	if (cfg->master_key_file != NULL)
		have_master = crypto_master_load(cfg->master_key_file,
		    &master) == CV_OK;
	er = worker_issue_ca(st, have_master ? &master : NULL, argv[2], &iss,
	    have_master, &der, NULL);
	if (er == CV_ERR_NOT_FOUND) {
		fprintf(stderr, "certvault-admin: no CA yet: it is made when "
		    "the first certificate is issued (or by this command, with "
		    "a readable master_key_file)\n");
		goto out;
	}
	if (er != CV_OK || (er = crypto_x509_pem(&der, &pem)) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err_text(er));
		goto out;
	}
	fputs(pem, stdout);
	rc = 0;
out:
	if (have_master)
		crypto_master_clear(&master);
	free(pem);
	cv_bytes_free(&der);
	cv_issuer_free(&iss);
	return rc;
}

/* A line of what lifetime run did, on standard output. */
static void
lifetime_print(void *arg, const char *line)
{

	printf("%s\n", line);
	fflush(stdout);
}

/*
 * lifetime run [--as-of TIME] [--vault NAME] [--certificate NAME]: the
 * worker's evaluation of lifetime actions, once, as of now or as of TIME
 * (a renewal made then is valid from TIME: for tests and drills).  The
 * master key is loaded as the worker loads it, to make new versions.
 */
static int
cmd_lifetime(struct store *st, const struct cv_cfg *cfg, int argc,
    char *argv[])
{
	static const struct option opts[] = {
		{ "as-of",		required_argument, NULL, 'a' },
		{ "vault",		required_argument, NULL, 'v' },
		{ "certificate",	required_argument, NULL, 'c' },
		{ NULL,			0,		   NULL, 0 },
	};
	struct lifetime_opts	 o;
	struct cv_master	 master;
	char			 when[21];
	bool			 have_master = false;
	int			 ch, done;
	enum cv_err		 er;

	if (argc < 2 || strcmp(argv[1], "run") != 0)
		usage();
	memset(&o, 0, sizeof(o));
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'a':
			if (!lifetime_parse_time(optarg, &o.as_of)) {
				fprintf(stderr, "certvault-admin: --as-of takes "
				    "a UTC time such as 2027-06-01T00:00:00Z\n");
				return 2;
			}
			break;
		case 'v':
			o.vault = optarg;
			break;
		case 'c':
			o.name = optarg;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	if (cfg->master_key_file != NULL &&
	    crypto_master_load(cfg->master_key_file, &master) == CV_OK) {
		have_master = true;
		(void)crypto_master_load_previous(&master,
		    cfg->master_key_previous_files);
	} else
		fprintf(stderr, "certvault-admin: no master key loaded: "
		    "AutoRenew cannot make new versions\n");
	o.master = have_master ? &master : NULL;
	o.sendmail = cfg->sendmail_command;
	o.say = lifetime_print;
	/* A sendmail that exits early must not end us. */
	signal(SIGPIPE, SIG_IGN);
	lifetime_format_time(o.as_of != 0 ? o.as_of : (int64_t)time(NULL),
	    when);
	printf("lifetime actions as of %s\n", when);
	fflush(stdout);
	er = lifetime_run(st, &o, &done);
	if (have_master)
		crypto_master_clear(&master);
	if (er != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err_text(er));
		return 1;
	}
	printf("%d lifetime action%s recorded\n", done, done == 1 ? "" : "s");
	return 0;
}

/* A progress line of rotate-master-key, on standard output. */
static void
rotate_print(void *arg, const char *line)
{

	printf("%s\n", line);
	fflush(stdout);
}

/* Whether id names the new key or one of the previous keys of ring. */
static bool
rotate_known(const struct cv_master *ring, const char *id)
{
	size_t	 i;

	if (strcmp(ring->id, id) == 0)
		return true;
	for (i = 0; i < ring->nprev; i++)
		if (strcmp(ring->prev[i].id, id) == 0)
			return true;
	return false;
}

/*
 * rotate-master-key NEW_KEY_FILE [--old OLD_KEY_FILE ...] [--batch N]:
 * seal every private key, pooled key and issuer secret sealed under an
 * old master key (--old, and the configuration's
 * master_key_previous_files) again under NEW_KEY_FILE, in short
 * transactions of N rows (default 100), while the services run.  They
 * must already seal with the new key and still read with the old ones
 * (README "Rotating the master key"): the configuration's
 * master_key_file, when it names a key, must be NEW_KEY_FILE.  Exit 0
 * when nothing is left under another key; 1 otherwise, naming the table
 * and rows of what is left; 2 on usage errors.
 */
static int
cmd_rotate(struct store *st, const struct cv_cfg *cfg, int argc,
    char *argv[])
{
	static const struct option opts[] = {
		{ "old",	required_argument, NULL, 'o' },
		{ "batch",	required_argument, NULL, 'b' },
		{ NULL,		0,		   NULL, 0 },
	};
	struct cv_master	 ring, conf;
	struct reseal_opts	 o;
	struct reseal_result	 r;
	enum store_reseal_table	 t;
	int64_t			 left[STORE_RESEAL__MAX], nfailed;
	size_t			 i, j;
	bool			 bad = false;
	enum cv_err		 er;
	int			 ch, nbatch = 100, rc = 1;

	memset(&r, 0, sizeof(r));
	memset(&ring, 0, sizeof(ring));
	if (argc < 2 || argv[1][0] == '-')
		usage();
	/* The new key first: --old keys join its ring. */
	if (crypto_master_load(argv[1], &ring) != CV_OK) {
		fprintf(stderr, "certvault-admin: new master key %s not "
		    "loaded (see the log above)\n", argv[1]);
		return 1;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'o':
			if (crypto_master_load_previous(&ring, optarg) !=
			    CV_OK) {
				fprintf(stderr, "certvault-admin: old master "
				    "key %s not loaded (see the log above)\n",
				    optarg);
				goto out;
			}
			break;
		case 'b':
			nbatch = parse_int(optarg, 1, 10000, "--batch");
			break;
		default:
			crypto_master_clear(&ring);
			usage();
		}
	if (optind != argc) {
		crypto_master_clear(&ring);
		usage();
	}
	/*
	 * Rows re-sealed under a key the services do not have would be
	 * unreadable: insist that the configuration seals with it already.
	 */
	if (cfg->master_key_file != NULL) {
		if (crypto_master_load(cfg->master_key_file, &conf) != CV_OK) {
			fprintf(stderr, "certvault-admin: the configuration's "
			    "master_key_file %s cannot be loaded\n",
			    cfg->master_key_file);
			goto out;
		}
		bad = strcmp(conf.id, ring.id) != 0;
		crypto_master_clear(&conf);
		if (bad) {
			fprintf(stderr, "certvault-admin: the configuration's "
			    "master_key_file %s is not %s: first set "
			    "master_key_file to the new key and "
			    "master_key_previous_files to the old ones, reload "
			    "certvault-fcgi (SIGHUP) and restart "
			    "certvault-worker, then rotate\n",
			    cfg->master_key_file, argv[1]);
			goto out;
		}
	}
	/* The old keys the services read with are old keys here too. */
	if (crypto_master_load_previous(&ring,
	    cfg->master_key_previous_files) != CV_OK)
		fprintf(stderr, "certvault-admin: warning: a key of "
		    "master_key_previous_files was not loaded (see the log "
		    "above); rows under it are left as they are\n");
	printf("re-sealing under master key %s what is sealed under %zu "
	    "previous key%s", ring.id, ring.nprev, ring.nprev == 1 ? "" : "s");
	for (i = 0; i < ring.nprev; i++)
		printf("%s%s", i == 0 ? " (" : ", ", ring.prev[i].id);
	printf("%s, %d rows per transaction\n", ring.nprev > 0 ? ")" : "",
	    nbatch);
	fflush(stdout);

	memset(&o, 0, sizeof(o));
	o.ring = &ring;
	o.batch = nbatch;
	o.say = rotate_print;
	er = reseal_run(st, &o, &r);
	if (er != CV_OK)
		fprintf(stderr, "certvault-admin: stopped: %s (what was "
		    "re-sealed so far stays)\n", err_text(er));

	/* The summary: per table, re-sealed and left. */
	memset(left, 0, sizeof(left));
	for (i = 0; i < r.nleft; i++)
		for (t = 0; t < STORE_RESEAL__MAX; t++)
			if (strcmp(r.left[i].table,
			    store_reseal_table_name(t)) == 0)
				left[t] += r.left[i].n;
	for (t = 0; t < STORE_RESEAL__MAX; t++)
		printf("%s: %lld re-sealed, %lld left\n",
		    store_reseal_table_name(t), (long long)r.done[t],
		    (long long)left[t]);
	for (i = 0; i < r.nfails; i++)
		fprintf(stderr, "certvault-admin: %s row %lld: its value does "
		    "not unseal under master key %s (tampered with, or "
		    "another key of that name?): left as it is\n",
		    store_reseal_table_name(r.fails[i].table),
		    (long long)r.fails[i].id, r.fails[i].master_key_id);
	for (i = 0; i < r.nleft; i++) {
		if (!rotate_known(&ring, r.left[i].master_key_id)) {
			fprintf(stderr, "certvault-admin: %s row%s %s%s: "
			    "sealed under master key %s, which is neither "
			    "the new key nor an old one given (--old, "
			    "master_key_previous_files): not re-sealed\n",
			    r.left[i].table, r.left[i].n == 1 ? "" : "s",
			    r.left[i].ids, r.left[i].n > 10 ? ", …" : "",
			    r.left[i].master_key_id);
			continue;
		}
		/* The failed rows were named above. */
		nfailed = 0;
		for (j = 0; j < r.nfails; j++)
			if (strcmp(store_reseal_table_name(r.fails[j].table),
			    r.left[i].table) == 0 &&
			    strcmp(r.fails[j].master_key_id,
			    r.left[i].master_key_id) == 0)
				nfailed++;
		if (r.left[i].n > nfailed)
			fprintf(stderr, "certvault-admin: %s: %lld row%s "
			    "still under master key %s (among %s%s), written "
			    "meanwhile by a service that still seals with "
			    "it? Reload the services and run again\n",
			    r.left[i].table,
			    (long long)(r.left[i].n - nfailed),
			    r.left[i].n - nfailed == 1 ? "" : "s",
			    r.left[i].master_key_id, r.left[i].ids,
			    r.left[i].n > 10 ? ", …" : "");
	}
	if (er != CV_OK)
		goto out;
	if (r.nleft > 0) {
		fprintf(stderr, "certvault-admin: not every sealed value is "
		    "under master key %s (see above): keep every key still "
		    "in use configured\n", ring.id);
		goto out;
	}
	printf("every sealed value is under master key %s: the old keys can "
	    "leave master_key_previous_files (keep them as long as you keep "
	    "backup blobs made under them)\n", ring.id);
	rc = 0;
out:
	reseal_result_free(&r);
	crypto_master_clear(&ring);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct cv_cfg	 cfg;
	struct store	*st;
	const char	*config_path = getenv("CERTVAULT_CONFIG");
	char		*err;
	int		 rc, first = 1;

	if (argc >= 3 && strcmp(argv[1], "--config") == 0) {
		config_path = argv[2];
		first = 3;
	}
	if (first >= argc)
		usage();
	/* doctor reports a configuration that does not load as a check. */
	if (strcmp(argv[first], "doctor") == 0)
		return doctor_main(config_path, argc - first, argv + first);
	if (cfg_build(&cfg, config_path, NULL, 0, &err) != CV_OK) {
		fprintf(stderr, "certvault-admin: %s\n", err);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);
	st = store_new(cfg.database_url);
	argc -= first;
	argv += first;
	if (strcmp(argv[0], "master-key") == 0)
		rc = cmd_master_key(&cfg, argc, argv);
	else if (strcmp(argv[0], "migrate") == 0)
		rc = cmd_migrate(st, argc, argv);
	else if (strcmp(argv[0], "vault") == 0)
		rc = cmd_vault(st, argc, argv);
	else if (strcmp(argv[0], "token") == 0)
		rc = cmd_token(st, argc, argv);
	else if (strcmp(argv[0], "operation") == 0)
		rc = cmd_operation(st, argc, argv);
	else if (strcmp(argv[0], "issuer") == 0)
		rc = cmd_issuer(st, &cfg, argc, argv);
	else if (strcmp(argv[0], "lifetime") == 0)
		rc = cmd_lifetime(st, &cfg, argc, argv);
	else if (strcmp(argv[0], "rotate-master-key") == 0)
		rc = cmd_rotate(st, &cfg, argc, argv);
	else
		usage();
	store_free(st);
	cfg_free(&cfg);
	return rc;
}
