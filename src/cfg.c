/*
 * certvault — configuration keys, their defaults, and the file parser.
 * SPDX-License-Identifier: ISC
 *
 * The file is "key = value" lines; '#' starts a comment.  Every key is in
 * the one alphabetical table below (as pgbouncer's CF_ABS table).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "cfg.h"
#include "log.h"
#include "netmask.h"

enum cfg_type {
	CFG_STR,
	CFG_UINT,
	CFG_SIZE,
	CFG_MODE,
	CFG_LOGLEVEL,
	CFG__MAX
};

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	size_t		 offset;
	int		 reload;	/* may change on SIGHUP */
	const char	*dflt;		/* NULL: unset */
};

#define KEY(n, t, f, r, d) { n, t, offsetof(struct cv_cfg, f), r, d }

static const struct cfg_key cfg_keys[] = {
	KEY("acme_ca_file",	CFG_STR,	acme_ca_file,	1, NULL),
	KEY("acme_dns_hook",	CFG_STR,	acme_dns_hook,	1, NULL),
	KEY("database_url",	CFG_STR,	database_url,	1, ""),
	KEY("key_pool_size",	CFG_UINT,	key_pool_size,	1, "32"),
	KEY("key_pool_types",	CFG_STR,	key_pool_types,	1, "RSA-2048"),
	KEY("lifetime_interval", CFG_UINT,	lifetime_interval, 1, "60"),
	KEY("listen",		CFG_STR,	listen,		0, NULL),
	KEY("log_format",	CFG_STR,	log_format,	1, "text"),
	/* Reopened on SIGHUP (log_reopen), but the path is the first one. */
	KEY("log_file",		CFG_STR,	log_file,	0, NULL),
	KEY("log_level",	CFG_LOGLEVEL,	log_level,	1, "info"),
	KEY("master_key_file",	CFG_STR,	master_key_file, 1, NULL),
	KEY("master_key_previous_files", CFG_STR, master_key_previous_files,
	    1, NULL),
	KEY("max_body_size",	CFG_SIZE,	max_body_size,	1, "1048576"),
	KEY("max_requests",	CFG_UINT,	max_requests,	1, "10000"),
	KEY("operator_networks", CFG_STR,	operator_networks, 1,
	    "127.0.0.1/32 ::1/128"),
	KEY("rate_limit_token_rps", CFG_UINT,	rate_limit_token_rps, 1, "0"),
	KEY("rate_limit_vault_rps", CFG_UINT,	rate_limit_vault_rps, 1, "0"),
	KEY("request_timeout",	CFG_UINT,	request_timeout, 1, "30"),
	KEY("sendmail_command",	CFG_STR,	sendmail_command, 1,
	    "/usr/sbin/sendmail -t -i"),
	KEY("shutdown_timeout",	CFG_UINT,	shutdown_timeout, 1, "30"),
	KEY("socket_group",	CFG_STR,	socket_group,	0, NULL),
	KEY("socket_mode",	CFG_MODE,	socket_mode,	0, "0660"),
	KEY("socket_owner",	CFG_STR,	socket_owner,	0, NULL),
	KEY("worker_interval",	CFG_UINT,	worker_interval, 1, "5"),
	KEY("workers",		CFG_UINT,	workers,	1, "4"),
};
#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const struct cfg_key *
cfg_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* Parse a decimal or (base 0) octal number.  Return 0 on failure. */
static int
cfg_number(const char *s, int base, unsigned long long max,
    unsigned long long *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s == '\0' || *s == '-')
		return 0;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return 0;
	*out = v;
	return 1;
}

/*
 * Set one key from its text form.  On failure return CV_ERR_BAD_PARAMETER
 * and, if errmsg is not NULL, a message the caller frees.
 */
enum cv_err
cfg_set(struct cv_cfg *cfg, const char *name, const char *value,
    char **errmsg)
{
	const struct cfg_key	*k;
	unsigned long long	 n;
	char			*field;
	enum log_level		 lvl;

	if ((k = cfg_find(name)) == NULL) {
		if (errmsg != NULL)
			*errmsg = cv_asprintf("unknown configuration key \"%s\"",
			    name);
		return CV_ERR_BAD_PARAMETER;
	}
	field = (char *)cfg + k->offset;
	switch (k->type) {
	case CFG_STR:
		free(*(char **)field);
		*(char **)field = value == NULL ? NULL : cv_strdup(value);
		return CV_OK;
	case CFG_UINT:
		if (!cfg_number(value, 10, UINT_MAX, &n))
			break;
		*(unsigned *)field = (unsigned)n;
		return CV_OK;
	case CFG_SIZE:
		if (!cfg_number(value, 10, SIZE_MAX, &n))
			break;
		*(size_t *)field = (size_t)n;
		return CV_OK;
	case CFG_MODE:
		if (!cfg_number(value, 8, 07777, &n))
			break;
		*(mode_t *)field = (mode_t)n;
		return CV_OK;
	case CFG_LOGLEVEL:
		if (!log_level_parse(value, &lvl))
			break;
		*(int *)field = (int)lvl;
		return CV_OK;
	default:
		abort();
	}
	if (errmsg != NULL)
		*errmsg = cv_asprintf("invalid value for \"%s\": \"%s\"",
		    name, value);
	return CV_ERR_BAD_PARAMETER;
}

void
cfg_init(struct cv_cfg *cfg)
{
	size_t	 i;
	enum cv_err er;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].dflt == NULL)
			continue;
		er = cfg_set(cfg, cfg_keys[i].name, cfg_keys[i].dflt, NULL);
		if (er != CV_OK)
			abort();	/* a default in the table is wrong */
	}
}

void
cfg_free(struct cv_cfg *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < CFG_NKEYS; i++)
		if (cfg_keys[i].type == CFG_STR)
			free(*(char **)((char *)cfg + cfg_keys[i].offset));
	memset(cfg, 0, sizeof(*cfg));
}

static char *
cfg_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Read a configuration file into cfg.  A value may be enclosed in double
 * quotes to keep '#' or leading blanks.  On failure return an error and a
 * message naming the file and line in *errmsg (the caller frees it).
 */
enum cv_err
cfg_load(struct cv_cfg *cfg, const char *path, char **errmsg)
{
	FILE		*f;
	char		*line = NULL, *key, *val, *eq, *hash, *err = NULL;
	size_t		 linesz = 0, lineno = 0, len;
	enum cv_err	 er = CV_OK;

	*errmsg = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		*errmsg = cv_asprintf("could not open configuration file "
		    "\"%s\": %s", path, strerror(errno));
		return CV_ERR_BAD_PARAMETER;
	}
	while (getline(&line, &linesz, f) != -1) {
		lineno++;
		key = cfg_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			*errmsg = cv_asprintf("%s:%zu: expected \"key = value\"",
			    path, lineno);
			er = CV_ERR_BAD_PARAMETER;
			break;
		}
		*eq = '\0';
		key = cfg_trim(key);
		val = cfg_trim(eq + 1);
		len = strlen(val);
		if (len >= 2 && val[0] == '"' && val[len - 1] == '"') {
			val[len - 1] = '\0';
			val++;
		} else if ((hash = strstr(val, " #")) != NULL) {
			*hash = '\0';
			val = cfg_trim(val);
		}
		if ((er = cfg_set(cfg, key, val, &err)) != CV_OK) {
			*errmsg = cv_asprintf("%s:%zu: %s", path, lineno, err);
			free(err);
			break;
		}
	}
	free(line);
	fclose(f);
	return er;
}

/*
 * The whole configuration as a program sees it: defaults, then the file
 * (if any), then CERTVAULT_DATABASE_URL from the environment, then the
 * command-line overrides.  Used at start and again on SIGHUP.
 */
enum cv_err
cfg_build(struct cv_cfg *cfg, const char *path,
    const struct cfg_override *ov, size_t ovsz, char **errmsg)
{
	const char	*env;
	struct netmask	*nets;
	char		*err;
	enum cv_err	 er;
	size_t		 i, n;

	*errmsg = NULL;
	cfg_init(cfg);
	if (path != NULL && (er = cfg_load(cfg, path, errmsg)) != CV_OK)
		return er;
	if ((env = getenv("CERTVAULT_DATABASE_URL")) != NULL &&
	    (er = cfg_set(cfg, "database_url", env, errmsg)) != CV_OK)
		return er;
	for (i = 0; i < ovsz; i++)
		if ((er = cfg_set(cfg, ov[i].key, ov[i].value, errmsg)) != CV_OK)
			return er;
	if (cfg->workers == 0) {
		*errmsg = cv_strdup("workers must be at least 1");
		return CV_ERR_BAD_PARAMETER;
	}
	if (!netmask_parse_list(cfg->operator_networks, &nets, &n, &err)) {
		*errmsg = cv_asprintf("operator_networks: %s", err);
		free(err);
		return CV_ERR_BAD_PARAMETER;
	}
	free(nets);
	if (cfg->log_format == NULL || (strcmp(cfg->log_format, "text") != 0 &&
	    strcmp(cfg->log_format, "json") != 0)) {
		*errmsg = cv_strdup("log_format must be text or json");
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/*
 * After a reload, put back the keys that cannot change while running (the
 * listening socket), warning when the file asked for a change.
 */
void
cfg_keep_static(struct cv_cfg *newer, const struct cv_cfg *older)
{
	size_t		 i;
	const char	*a, *b;
	char		*nf;
	const char	*of;

	for (i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].reload)
			continue;
		nf = (char *)newer + cfg_keys[i].offset;
		of = (const char *)older + cfg_keys[i].offset;
		if (cfg_keys[i].type == CFG_STR) {
			a = *(char **)nf;
			b = *(char *const *)of;
			if ((a == NULL) != (b == NULL) ||
			    (a != NULL && strcmp(a, b) != 0))
				log_warnx("configuration key %s cannot change "
				    "on reload; restart to apply it",
				    cfg_keys[i].name);
			free(*(char **)nf);
			*(char **)nf = b == NULL ? NULL : cv_strdup(b);
		} else if (cfg_keys[i].type == CFG_MODE) {
			*(mode_t *)nf = *(const mode_t *)of;
		}
	}
}
