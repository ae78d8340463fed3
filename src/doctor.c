/*
 * certvault — certvault-admin doctor: checks of a deployment, one line
 * each, "ok", "warn" or "FAIL", then the check and what was found.
 * SPDX-License-Identifier: ISC
 *
 * What it looks at, in order: the configuration file; the database
 * (reachable, PostgreSQL 15 or later, every migration of this build
 * applied, a vault); the master key and the previous ones (files, modes,
 * owners, and a sealed row each opens); the FastCGI socket (accepts a
 * connection, and the web server's user may connect); with --url, GET
 * /healthz through the web server.  Exit 1 if any check failed, 0
 * otherwise (warnings included), 2 on a usage error.  It changes
 * nothing: the one statement that locks (a sealed row, FOR UPDATE SKIP
 * LOCKED) is rolled back at once.  Nothing secret is printed: the
 * database is named by host, port, database and user only.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme.h"
#include "certvault.h"
#include "cfg.h"
#include "crypto.h"
#include "doctor.h"
#include "log.h"
#include "status.h"
#include "store.h"

#define DOCTOR_CONNECT_MS	3000	/* a TCP listen address */
#define DOCTOR_MIN_SERVER	150000	/* PostgreSQL 15 */

struct doctor {
	const char	*config_path;
	const char	*url;
	const char	*ca_file;
	const char	*listen;	/* --listen, else the configuration's */
	const char	*web_user;	/* --web-user, else www-data if known */
	struct cv_cfg	 cfg;
	struct store	*st;		/* NULL: no database */
	struct cv_master ring;		/* the master key and previous ones */
	bool		 have_master;
	unsigned	 n[DOCTOR__MAX];
};

static const char *const status_names[DOCTOR__MAX] = {
	"ok",		/* DOCTOR_OK */
	"warn",		/* DOCTOR_WARN */
	"FAIL",		/* DOCTOR_FAIL */
};

/* One line of the report, on stdout (the log, if any, is on stderr). */
static void __attribute__((format(printf, 4, 5)))
say(struct doctor *d, enum doctor_status s, const char *check,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*text, *p;

	va_start(ap, fmt);
	text = cv_vasprintf(fmt, ap);
	va_end(ap);
	/* One check, one line: libpq's messages have line breaks. */
	for (p = text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	while (p > text && p[-1] == ' ')
		*--p = '\0';
	printf("%-4s  %s: %s\n", status_names[s], check, text);
	fflush(stdout);
	free(text);
	d->n[s]++;
}

/*
 * Which of the migrations known (NULL-terminated) applied lacks, into
 * missing, and which of applied known lacks, into unknown (both in
 * their lists' order; cv_strlist_free).
 */
void
doctor_migrations_compare(const char *const *known,
    const struct cv_strlist *applied, struct cv_strlist *missing,
    struct cv_strlist *unknown)
{
	size_t	 i, j, nknown;
	bool	 found;

	memset(missing, 0, sizeof(*missing));
	memset(unknown, 0, sizeof(*unknown));
	for (nknown = 0; known[nknown] != NULL; nknown++)
		continue;
	for (i = 0; i < nknown; i++) {
		for (j = 0, found = false; j < applied->n && !found; j++)
			found = strcmp(known[i], applied->v[j]) == 0;
		if (found)
			continue;
		missing->v = cv_realloc(missing->v,
		    (missing->n + 1) * sizeof(*missing->v));
		missing->v[missing->n++] = cv_strdup(known[i]);
	}
	for (j = 0; j < applied->n; j++) {
		for (i = 0, found = false; i < nknown && !found; i++)
			found = strcmp(known[i], applied->v[j]) == 0;
		if (found)
			continue;
		unknown->v = cv_realloc(unknown->v,
		    (unknown->n + 1) * sizeof(*unknown->v));
		unknown->v[unknown->n++] = cv_strdup(applied->v[j]);
	}
}

/*
 * Whether a user (uid, member of the groups gids) has the access want
 * (R_OK, W_OK, X_OK, or'ed) to a file of st, as the kernel decides it:
 * the owner's bits for the owner, else the group's for a member, else
 * the others'.  Root may do anything (execute: if anyone may).
 */
bool
doctor_may(const struct stat *st, uid_t uid, const gid_t *gids,
    size_t ngids, int want)
{
	mode_t	 bits = 0;
	size_t	 i;
	bool	 member = false;

	if (uid == 0)
		return (want & X_OK) == 0 || S_ISDIR(st->st_mode) ||
		    (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
	for (i = 0; i < ngids && !member; i++)
		member = gids[i] == st->st_gid;
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (member)
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((mode_t)want & ~bits) == 0;
}

/*
 * The master key file st as the running user euid sees it: a regular
 * file, mode 0600 or stricter, owned by euid.  Root running doctor on
 * the service user's key is a warning (run doctor as that user to check
 * what it sees).  *why says what is wrong (static text).
 */
enum doctor_status
doctor_key_file(const struct stat *st, uid_t euid, const char **why)
{

	*why = NULL;
	if (!S_ISREG(st->st_mode)) {
		*why = "not a regular file";
		return DOCTOR_FAIL;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		*why = "group or others may access it: it must be mode 0600 "
		    "or stricter";
		return DOCTOR_FAIL;
	}
	if (st->st_uid != euid) {
		*why = "not owned by the user running doctor, which should "
		    "be the services' user";
		return euid == 0 ? DOCTOR_WARN : DOCTOR_FAIL;
	}
	return DOCTOR_OK;
}

static const char *
user_name(uid_t uid, char *buf, size_t bufsz)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		return pw->pw_name;
	snprintf(buf, bufsz, "%lu", (unsigned long)uid);
	return buf;
}

static const char *
group_name(gid_t gid, char *buf, size_t bufsz)
{
	struct group	*gr;

	if ((gr = getgrgid(gid)) != NULL)
		return gr->gr_name;
	snprintf(buf, bufsz, "%lu", (unsigned long)gid);
	return buf;
}

/*
 * log_file: writable, or, not there yet (the programs create it), its
 * directory is.  Nothing is created here.
 */
static void
check_log_file(struct doctor *d, const char *path)
{
	char	*dir, *slash;

	if (access(path, W_OK) == 0) {
		say(d, DOCTOR_OK, "log file", "%s is writable", path);
		return;
	}
	if (errno != ENOENT) {
		say(d, DOCTOR_FAIL, "log file", "%s: %s", path,
		    strerror(errno));
		return;
	}
	dir = cv_strdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	if (access(dir, W_OK | X_OK) == 0)
		say(d, DOCTOR_OK, "log file", "%s does not exist yet; its "
		    "directory is writable", path);
	else
		say(d, DOCTOR_FAIL, "log file", "%s cannot be created: %s: %s",
		    path, dir, strerror(errno));
	free(dir);
}

/* The configuration: parses, every key known (cfg_load refuses others). */
static bool
check_config(struct doctor *d)
{
	struct stat	 st;
	char		*err = NULL;

	if (cfg_build(&d->cfg, d->config_path, NULL, 0, &err) != CV_OK) {
		say(d, DOCTOR_FAIL, "config", "%s", err);
		free(err);
		return false;
	}
	log_set_level((enum log_level)d->cfg.log_level);
	if (d->config_path == NULL)
		say(d, DOCTOR_WARN, "config", "no file given (--config or "
		    "CERTVAULT_CONFIG): the defaults only");
	else if (stat(d->config_path, &st) == 0 &&
	    (st.st_mode & (S_IROTH | S_IWOTH)) != 0)
		say(d, DOCTOR_WARN, "config", "%s parses, but others may "
		    "read or write it (mode %04o), and it holds database_url",
		    d->config_path, (unsigned)(st.st_mode & 07777));
	else
		say(d, DOCTOR_OK, "config", "%s parses; every key is a known "
		    "setting%s", d->config_path,
		    getenv("CERTVAULT_DATABASE_URL") != NULL ?
		    " (database_url from CERTVAULT_DATABASE_URL)" : "");
	if (d->cfg.log_file != NULL)
		check_log_file(d, d->cfg.log_file);
	return true;
}

/* Reachable, version, migrations, vaults.  False: no database. */
static bool
check_database(struct doctor *d)
{
	struct store_vault_row	*vaults = NULL;
	struct cv_strlist	 applied, missing, unknown;
	const char		*url = d->cfg.database_url;
	const char		*last;
	char			*where, *names = NULL, *t;
	size_t			 nvaults = 0, i, nknown;
	int			 v;

	if ((where = store_conninfo_describe(url == NULL ? "" : url)) ==
	    NULL) {
		say(d, DOCTOR_FAIL, "database", "database_url is neither a "
		    "libpq connection string nor a URI");
		return false;
	}
	d->st = store_new(url);
	if (store_connect(d->st) != CV_OK) {
		last = store_last_error(d->st);
		say(d, DOCTOR_FAIL, "database", "could not connect (%s): %s",
		    where, last == NULL ? "" : last);
		free(where);
		store_free(d->st);
		d->st = NULL;
		return false;
	}
	say(d, DOCTOR_OK, "database", "connected (%s)", where);
	free(where);

	v = store_server_version(d->st);
	say(d, v >= DOCTOR_MIN_SERVER ? DOCTOR_OK : DOCTOR_FAIL,
	    "server version", "PostgreSQL %d.%d%s", v / 10000, v % 10000,
	    v >= DOCTOR_MIN_SERVER ? "" : ": certvault needs 15 or later");

	for (nknown = 0; cv_migrations[nknown] != NULL; nknown++)
		continue;
	if (store_migration_list(d->st, &applied) != CV_OK)
		say(d, DOCTOR_FAIL, "migrations", "could not read "
		    "schema_migrations (see the log above)");
	else {
		doctor_migrations_compare(cv_migrations, &applied, &missing,
		    &unknown);
		if (missing.n > 0) {
			for (i = 0; i < missing.n; i++) {
				t = cv_asprintf("%s%s%s", names == NULL ? "" :
				    names, i == 0 ? "" : ", ", missing.v[i]);
				free(names);
				names = t;
			}
			say(d, DOCTOR_FAIL, "migrations", "%zu of %zu not "
			    "applied: %s (run certvault-admin migrate)",
			    missing.n, nknown, names);
		} else
			say(d, DOCTOR_OK, "migrations", "all %zu applied%s%s",
			    nknown, nknown > 0 ? ", the last " : "",
			    nknown > 0 ? cv_migrations[nknown - 1] : "");
		free(names);
		names = NULL;
		for (i = 0; i < unknown.n; i++) {
			t = cv_asprintf("%s%s%s", names == NULL ? "" : names,
			    i == 0 ? "" : ", ", unknown.v[i]);
			free(names);
			names = t;
		}
		if (unknown.n > 0)
			say(d, DOCTOR_WARN, "migrations", "the database has "
			    "%zu this build does not know: %s (migrated by a "
			    "newer certvault?)", unknown.n, names);
		free(names);
		names = NULL;
		cv_strlist_free(&applied);
		cv_strlist_free(&missing);
		cv_strlist_free(&unknown);
	}

	if (store_vault_list(d->st, &vaults, &nvaults) != CV_OK)
		say(d, DOCTOR_FAIL, "vaults", "could not list them (see the "
		    "log above)");
	else if (nvaults == 0)
		say(d, DOCTOR_FAIL, "vaults", "none (certvault-admin vault "
		    "create NAME --host HOSTNAME)");
	else {
		for (i = 0; i < nvaults && i < 5; i++) {
			t = cv_asprintf("%s%s%s", names == NULL ? "" : names,
			    i == 0 ? "" : ", ", vaults[i].name);
			free(names);
			names = t;
		}
		say(d, DOCTOR_OK, "vaults", "%zu (%s%s)", nvaults, names,
		    nvaults > 5 ? ", …" : "");
		free(names);
	}
	store_vault_rows_free(vaults, nvaults);
	return true;
}

/* One key file: there, mode, owner, and it loads (into ring or *m). */
static bool
check_key_file(struct doctor *d, const char *check, const char *path,
    struct cv_master *m)
{
	struct stat		 st;
	struct cv_master	 k;
	enum doctor_status	 s;
	const char		*why;
	char			 ubuf[24];

	if (stat(path, &st) == -1) {
		say(d, DOCTOR_FAIL, check, "%s: %s", path, strerror(errno));
		return false;
	}
	if ((s = doctor_key_file(&st, geteuid(), &why)) != DOCTOR_OK) {
		say(d, s, check, "%s (mode %04o, owner %s): %s", path,
		    (unsigned)(st.st_mode & 07777),
		    user_name(st.st_uid, ubuf, sizeof(ubuf)), why);
		if (s == DOCTOR_FAIL)
			return false;
	}
	if (crypto_master_load(path, m != NULL ? m : &k) != CV_OK) {
		say(d, DOCTOR_FAIL, check, "%s does not load (see the log "
		    "above)", path);
		return false;
	}
	if (s == DOCTOR_OK)
		say(d, DOCTOR_OK, check, "%s (mode %04o, owner %s), key id %s",
		    path, (unsigned)(st.st_mode & 07777),
		    user_name(st.st_uid, ubuf, sizeof(ubuf)),
		    m != NULL ? m->id : k.id);
	if (m == NULL) {
		(void)crypto_master_load_previous(&d->ring, path);
		crypto_master_clear(&k);
	}
	return true;
}

/*
 * A sealed row under master key m, if there is one (keys, then key_pool,
 * then issuer_credentials): it must open, as the services open it.
 */
static void
check_unseal(struct doctor *d, const char *check, const struct cv_master *m)
{
	struct store_reseal_row	*rows = NULL;
	struct cv_bytes		 plain = { NULL, 0 };
	const char		*ids[1];
	size_t			 n = 0;
	enum store_reseal_table	 t;
	enum cv_err		 er;

	ids[0] = m->id;
	for (t = 0; t < STORE_RESEAL__MAX; t++) {
		if ((er = store_begin(d->st)) == CV_OK)
			er = store_reseal_pick(d->st, t, ids, 1, NULL, 0, 0, 1,
			    &rows, &n);
		store_rollback(d->st);
		if (er != CV_OK) {
			say(d, DOCTOR_FAIL, check, "could not read %s (see the "
			    "log above)", store_reseal_table_name(t));
			return;
		}
		if (n == 0)
			continue;
		er = crypto_unseal(m, &rows[0].sealed, rows[0].uid,
		    rows[0].nonce, &plain);
		cv_bytes_free(&plain);
		if (er == CV_OK)
			say(d, DOCTOR_OK, check, "key %s opens %s row %lld",
			    m->id, store_reseal_table_name(t),
			    (long long)rows[0].id);
		else
			say(d, DOCTOR_FAIL, check, "key %s does not open %s "
			    "row %lld, which names it (another key of that "
			    "id, or the row was tampered with)", m->id,
			    store_reseal_table_name(t), (long long)rows[0].id);
		store_reseal_rows_free(rows, n);
		return;
	}
	say(d, DOCTOR_OK, check, "no row is sealed under key %s%s", m->id,
	    m == &d->ring ? " yet" : ": it may leave master_key_previous_files "
	    "(keep the file while backups made under it are kept)");
}

/* Rows sealed under a key that is neither current nor previous. */
static void
check_sealed_rows(struct doctor *d)
{
	struct store_reseal_left	*left = NULL;
	size_t				 n = 0, i;
	int64_t				 previous = 0;
	bool				 bad = false;

	if (store_reseal_left(d->st, d->ring.id, &left, &n) != CV_OK) {
		say(d, DOCTOR_FAIL, "sealed rows", "could not count them (see "
		    "the log above)");
		return;
	}
	for (i = 0; i < n; i++) {
		if (crypto_master_for(&d->ring, left[i].master_key_id) !=
		    NULL) {
			previous += left[i].n;
			continue;
		}
		say(d, DOCTOR_FAIL, "sealed rows", "%lld %s row%s (%s%s) "
		    "sealed under master key %s, which is neither "
		    "master_key_file nor one of master_key_previous_files: "
		    "they cannot be read", (long long)left[i].n,
		    left[i].table, left[i].n == 1 ? "" : "s", left[i].ids,
		    left[i].n > 10 ? ", …" : "", left[i].master_key_id);
		bad = true;
	}
	if (!bad)
		say(d, DOCTOR_OK, "sealed rows", "every one names a configured "
		    "master key (%lld under previous keys%s)",
		    (long long)previous, previous > 0 ?
		    ": certvault-admin rotate-master-key seals them anew" : "");
	store_reseal_left_free(left, n);
}

/* The master key and the previous ones: files, and a row each opens. */
static void
check_master(struct doctor *d)
{
	struct cv_strlist	 prev;
	size_t			 i;

	if (d->cfg.master_key_file == NULL) {
		say(d, DOCTOR_FAIL, "master key", "master_key_file is not set: "
		    "no certificate can be created");
		return;
	}
	if (!check_key_file(d, "master key", d->cfg.master_key_file,
	    &d->ring))
		return;
	d->have_master = true;
	cv_strlist_split(d->cfg.master_key_previous_files, &prev);
	for (i = 0; i < prev.n; i++)
		(void)check_key_file(d, "previous master key", prev.v[i], NULL);
	cv_strlist_free(&prev);
	if (d->st == NULL)
		return;
	check_unseal(d, "master key unseals", &d->ring);
	for (i = 0; i < d->ring.nprev; i++)
		check_unseal(d, "previous master key unseals",
		    &d->ring.prev[i]);
	check_sealed_rows(d);
}

/* connect(2) within DOCTOR_CONNECT_MS.  Return 0, or -1 with errno. */
/*
 * certvault-worker: some worker, on any node, finished a pass lately
 * (worker_heartbeats).  None is a warning, not a failure: a node may run
 * certvault-fcgi alone while other nodes run the workers.
 */
static void
check_workers(struct doctor *d)
{
	struct store_ops	 o;
	double			 fresh, limit;	/* seconds */
	size_t			 i, best = 0, stale = 0;

	if (d->st == NULL)
		return;
	if (store_ops_read(d->st, &o) != CV_OK) {
		say(d, DOCTOR_WARN, "workers", "worker_heartbeats could not be "
		    "read (run migrate)");
		store_ops_free(&o);
		return;
	}
	/* The same rule as /status marks stale workers by. */
	limit = status_stale_after(d->cfg.worker_interval);
	for (i = 0; i < o.workersz; i++) {
		if (o.workers[i].age > limit)
			stale++;
		if (o.workers[i].age < o.workers[best].age)
			best = i;
	}
	if (o.workersz == 0)
		say(d, DOCTOR_WARN, "workers", "no certvault-worker has "
		    "reported: issuance, the key pool, purges and lifetime "
		    "actions wait until one runs");
	else if ((fresh = o.workers[best].age) > limit)
		say(d, DOCTOR_WARN, "workers", "no certvault-worker finished a "
		    "pass in the last %.0f s (latest: %s, %.0f s ago)", limit,
		    o.workers[best].worker_id, fresh);
	else
		say(d, DOCTOR_OK, "workers", "%zu certvault-worker%s, the "
		    "latest pass %.1f s ago (%s)%s", o.workersz,
		    o.workersz == 1 ? "" : "s", fresh,
		    o.workers[best].worker_id, stale > 0 ?
		    "; some rows are stale (crashed workers, pruned after a "
		    "day)" : "");
	store_ops_free(&o);
}

static int
connect_timeout(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd	 pfd;
	socklen_t	 elen = sizeof(int);
	int		 flags, rc, err = 0;

	flags = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if ((rc = connect(fd, sa, len)) == -1 && errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if ((rc = poll(&pfd, 1, DOCTOR_CONNECT_MS)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc == -1)
			return -1;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		rc = 0;
	}
	return rc;
}

/*
 * Whether user pw may connect to the unix socket path: search on every
 * directory above it, write on the socket.  *where names the first
 * that refuses.
 */
static bool
user_may_connect(const struct passwd *pw, const char *path, char **where)
{
	struct stat	 st;
	gid_t		 gids[256];
	int		 ngids = (int)(sizeof(gids) / sizeof(gids[0]));
	char		*dir, *slash;
	bool		 ok = true;

	*where = NULL;
	if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &ngids) == -1)
		ngids = (int)(sizeof(gids) / sizeof(gids[0]));
	dir = cv_strdup(path);
	for (slash = strchr(dir + 1, '/'); slash != NULL && ok;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (stat(dir, &st) == -1 || !doctor_may(&st, pw->pw_uid, gids,
		    (size_t)ngids, X_OK)) {
			*where = cv_strdup(dir);
			ok = false;
		}
		*slash = '/';
	}
	free(dir);
	if (ok && (stat(path, &st) == -1 || !doctor_may(&st, pw->pw_uid, gids,
	    (size_t)ngids, W_OK))) {
		*where = cv_strdup(path);
		ok = false;
	}
	return ok;
}

/* The socket's mode and its directories let the web server's user in. */
static void
check_socket_mode(struct doctor *d, const char *path)
{
	struct passwd	*pw;
	struct stat	 st;
	const char	*user = d->web_user != NULL ? d->web_user : "www-data";
	char		*where = NULL, ubuf[24], gbuf[24];

	if ((pw = getpwnam(user)) == NULL) {
		/* No www-data and no --web-user: who connects is unknown. */
		if (d->web_user != NULL)
			say(d, DOCTOR_FAIL, "fastcgi socket mode", "no user %s",
			    user);
		return;
	}
	if (path[0] != '/' || stat(path, &st) == -1) {
		say(d, DOCTOR_WARN, "fastcgi socket mode", "cannot tell for "
		    "%s (give the socket as an absolute path)", path);
		return;
	}
	if (user_may_connect(pw, path, &where))
		say(d, DOCTOR_OK, "fastcgi socket mode", "%s may connect "
		    "(mode %04o, %s:%s)", user, (unsigned)(st.st_mode & 07777),
		    user_name(st.st_uid, ubuf, sizeof(ubuf)),
		    group_name(st.st_gid, gbuf, sizeof(gbuf)));
	else
		/* Without --web-user www-data may not be the server's user. */
		say(d, d->web_user != NULL ? DOCTOR_FAIL : DOCTOR_WARN,
		    "fastcgi socket mode", "%s may not connect: %s refuses it "
		    "(socket mode %04o, %s:%s; socket_mode and socket_group "
		    "set them)%s", user, where, (unsigned)(st.st_mode & 07777),
		    user_name(st.st_uid, ubuf, sizeof(ubuf)),
		    group_name(st.st_gid, gbuf, sizeof(gbuf)),
		    d->web_user != NULL ? "" :
		    " (--web-user names the web server's user)");
	free(where);
}

/* The listening socket certvault-fcgi has (listen, or --listen). */
static void
check_socket(struct doctor *d)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res = NULL, *ai;
	struct stat		 st;
	const char		*spec = d->listen != NULL ? d->listen :
				    d->cfg.listen, *path;
	char			*host, *port;
	int			 fd, rc, save = 0;

	if (spec == NULL) {
		say(d, DOCTOR_WARN, "fastcgi socket", "no listen in the "
		    "configuration: give --listen as certvault-fcgi gets it "
		    "(or the web server spawns certvault-fcgi)");
		return;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		path = spec + 5;
		if (stat(path, &st) == -1) {
			say(d, DOCTOR_FAIL, "fastcgi socket", "%s: %s (is "
			    "certvault-fcgi running?)", path, strerror(errno));
			return;
		}
		if (!S_ISSOCK(st.st_mode)) {
			say(d, DOCTOR_FAIL, "fastcgi socket", "%s is not a "
			    "socket", path);
			return;
		}
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path)) {
			say(d, DOCTOR_FAIL, "fastcgi socket", "%s: path too "
			    "long", path);
			return;
		}
		strcpy(sun.sun_path, path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1) {
			save = errno;
			say(d, DOCTOR_FAIL, "fastcgi socket", "%s: connect: %s "
			    "(left by a certvault-fcgi that is not running?)",
			    path, strerror(save));
		} else
			say(d, DOCTOR_OK, "fastcgi socket", "%s accepts "
			    "connections", spec);
		if (fd != -1)
			close(fd);
		check_socket_mode(d, path);
		return;
	}

	/* host:port, as pf_listen.c reads it ([v6]:port too). */
	host = cv_strdup(spec);
	if ((port = strrchr(host, ':')) == NULL) {
		say(d, DOCTOR_FAIL, "fastcgi socket", "%s: no port", spec);
		free(host);
		return;
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		say(d, DOCTOR_FAIL, "fastcgi socket", "%s: %s", spec,
		    gai_strerror(rc));
		free(host);
		return;
	}
	rc = -1;
	for (ai = res; ai != NULL && rc == -1; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1) {
			save = errno;
			continue;
		}
		if ((rc = connect_timeout(fd, ai->ai_addr, ai->ai_addrlen)) ==
		    -1)
			save = errno;
		close(fd);
	}
	if (rc == 0)
		say(d, DOCTOR_OK, "fastcgi socket", "%s accepts connections",
		    spec);
	else
		say(d, DOCTOR_FAIL, "fastcgi socket", "%s: connect: %s", spec,
		    strerror(save));
	freeaddrinfo(res);
	free(host);
}

/* --url: GET URL/healthz through the web server answers 200. */
static void
check_url(struct doctor *d)
{
	char		*url, *body = NULL, *err = NULL;
	size_t		 len = strlen(d->url);
	long		 status;

	while (len > 0 && d->url[len - 1] == '/')
		len--;
	url = cv_asprintf("%.*s/healthz", (int)len, d->url);
	if (acme_http_get(url, d->ca_file, &status, &body, &err) != CV_OK)
		say(d, DOCTOR_FAIL, "healthz", "%s", err);
	else if (status != 200)
		say(d, DOCTOR_FAIL, "healthz", "GET %s answered %ld: %.200s",
		    url, status, body == NULL ? "" : body);
	else
		say(d, DOCTOR_OK, "healthz", "GET %s answered 200", url);
	free(err);
	free(body);
	free(url);
}

static void
usage(void)
{

	fprintf(stderr, "usage: certvault-admin [--config FILE] doctor "
	    "[--config FILE] [--url URL [--ca-file FILE]]\n"
	    "\t[--listen unix:PATH | --listen HOST:PORT] [--web-user USER]\n");
	exit(2);
}

/*
 * certvault-admin doctor: argv[0] is "doctor"; config_path is what
 * --config before it or CERTVAULT_CONFIG gave (NULL: none).
 */
int
doctor_main(const char *config_path, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "url",	required_argument, NULL, 'u' },
		{ "ca-file",	required_argument, NULL, 'a' },
		{ "listen",	required_argument, NULL, 'l' },
		{ "web-user",	required_argument, NULL, 'w' },
		{ NULL,		0,		   NULL, 0 },
	};
	struct doctor	 d;
	int		 ch;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'u':
			d.url = optarg;
			break;
		case 'a':
			d.ca_file = optarg;
			break;
		case 'l':
			d.listen = optarg;
			break;
		case 'w':
			d.web_user = optarg;
			break;
		default:
			usage();
		}
	if (optind != argc || (d.ca_file != NULL && d.url == NULL))
		usage();

	if (!check_config(&d)) {
		cfg_free(&d.cfg);
		return 1;
	}
	(void)check_database(&d);
	check_master(&d);
	check_workers(&d);
	check_socket(&d);
	if (d.url != NULL)
		check_url(&d);

	if (d.have_master)
		crypto_master_clear(&d.ring);
	store_free(d.st);
	cfg_free(&d.cfg);
	return d.n[DOCTOR_FAIL] > 0 ? 1 : 0;
}
