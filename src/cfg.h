/*
 * certvault — configuration: one table of keys, read from a file.
 * SPDX-License-Identifier: ISC
 */
#ifndef CFG_H
#define CFG_H

#include <stddef.h>
#include <sys/types.h>

#include "certvault.h"

struct cv_cfg {
	char		*acme_ca_file;	/* CAs for ACME servers; NULL: system */
	char		*acme_dns_hook;	/* dns-01 publisher, /bin/sh -c */
	char		*database_url;
	unsigned	 key_pool_size;	/* keys kept ready per type */
	char		*key_pool_types; /* "RSA-2048,EC-P-256" */
	unsigned	 lifetime_interval;	/* seconds between evaluations */
	char		*listen;
	char		*log_format;	/* "text" or "json" */
	char		*log_file;	/* NULL: stderr as given */
	int		 log_level;	/* enum log_level */
	char		*master_key_file;
	char		*master_key_previous_files; /* "a.key,b.key": unseal only */
	size_t		 max_body_size;
	unsigned	 max_requests;
	char		*operator_networks; /* may read /metrics and /status */
	unsigned	 rate_limit_token_rps;	/* requests/s per token; 0: off */
	unsigned	 rate_limit_vault_rps;	/* requests/s per vault; 0: off */
	unsigned	 request_timeout;	/* seconds a statement may take */
	char		*sendmail_command;	/* run by /bin/sh -c */
	unsigned	 shutdown_timeout;
	char		*socket_group;
	mode_t		 socket_mode;
	char		*socket_owner;
	unsigned	 worker_interval;
	unsigned	 workers;
};

/* A "key=value" given on the command line, applied after the file. */
struct cfg_override {
	const char	*key;
	const char	*value;
};

void	cfg_init(struct cv_cfg *);
void	cfg_free(struct cv_cfg *);
enum cv_err cfg_set(struct cv_cfg *, const char *, const char *, char **);
enum cv_err cfg_load(struct cv_cfg *, const char *, char **);
enum cv_err cfg_build(struct cv_cfg *, const char *,
	    const struct cfg_override *, size_t, char **);
void	cfg_keep_static(struct cv_cfg *, const struct cv_cfg *);

#endif /* CFG_H */
