/*
 * certvault-fcgi — the pre-forked FastCGI server.  SPDX-License-Identifier: ISC
 *
 * Options, configuration, then hand-off: to the master on our own socket
 * (--listen), or straight to a worker on the socket a web server gave us
 * on fd 0 (lighttpd bin-path, mod_fcgid, spawn-fcgi).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "pf.h"

#define MAX_OVERRIDES 16

static const char		*config_path;
static struct cfg_override	 overrides[MAX_OVERRIDES];
static size_t			 noverrides;

static void
usage(FILE *f)
{

	fprintf(f, "usage: certvault-fcgi [--config FILE] "
	    "[--listen unix:PATH | --listen HOST:PORT]\n"
	    "\t[--workers N] [--max-requests M] [--socket-mode MODE]\n"
	    "\t[--socket-owner USER] [--socket-group GROUP] "
	    "[--pid-file FILE]\n");
}

static void
override(const char *key, const char *value)
{

	if (noverrides == MAX_OVERRIDES)
		fatal("too many options");
	overrides[noverrides].key = key;
	overrides[noverrides].value = value;
	noverrides++;
}

/* SIGHUP: the file again, with the same command-line overrides. */
static enum cv_err
reload(struct cv_cfg *cfg)
{
	struct cv_cfg	 fresh;
	char		*err;
	enum cv_err	 er;

	if ((er = cfg_build(&fresh, config_path, overrides, noverrides,
	    &err)) != CV_OK) {
		log_error("%s", err);
		free(err);
		cfg_free(&fresh);
		return er;
	}
	cfg_keep_static(&fresh, cfg);
	cfg_free(cfg);
	*cfg = fresh;
	log_set_level((enum log_level)cfg->log_level);
	log_set_json(strcmp(cfg->log_format, "json") == 0);
	return CV_OK;
}

static void
write_pidfile(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("could not write pid file %s: %s", path, strerror(errno));
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",		required_argument, NULL, 'c' },
		{ "listen",		required_argument, NULL, 'l' },
		{ "workers",		required_argument, NULL, 'w' },
		{ "max-requests",	required_argument, NULL, 'm' },
		{ "socket-mode",	required_argument, NULL, 'M' },
		{ "socket-owner",	required_argument, NULL, 'U' },
		{ "socket-group",	required_argument, NULL, 'G' },
		{ "pid-file",		required_argument, NULL, 'p' },
		{ "foreground",		no_argument,	   NULL, 'f' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ NULL,			0,		   NULL, 0 },
	};
	struct cv_cfg	 cfg;
	const char	*pidfile = NULL;
	char		*err;
	bool		 workers_given = false;
	int		 ch, fd, rc;

	while ((ch = getopt_long(argc, argv, "c:l:w:m:M:U:G:p:fhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			override("listen", optarg);
			break;
		case 'w':
			override("workers", optarg);
			workers_given = true;
			break;
		case 'm':
			override("max_requests", optarg);
			break;
		case 'M':
			override("socket_mode", optarg);
			break;
		case 'U':
			override("socket_owner", optarg);
			break;
		case 'G':
			override("socket_group", optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'f':
			break;	/* we never daemonize; kept for scripts */
		case 'V':
			printf("certvault-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (config_path == NULL)
		config_path = getenv("CERTVAULT_CONFIG");
	if (cfg_build(&cfg, config_path, overrides, noverrides, &err) != CV_OK)
		fatal("%s", err);
	log_set_level((enum log_level)cfg.log_level);
	log_set_json(strcmp(cfg.log_format, "json") == 0);
	/* Before the first line: the workers inherit it (pf_master.c). */
	if (cfg.log_file != NULL && log_open_file(cfg.log_file) == -1)
		fatal("could not open log file %s: %s", cfg.log_file,
		    strerror(errno));

	/* Before any fork: every worker counts into the same counters. */
	metrics_init(route_count());
	if (cfg.listen != NULL) {
		if (pf_listen_open(cfg.listen, &cfg, &fd) != CV_OK)
			fatal("could not open the listening socket %s",
			    cfg.listen);
		if (pidfile != NULL)
			write_pidfile(pidfile);
		log_info("listening on %s", cfg.listen);
		rc = pf_master_run(fd, &cfg, reload);
		pf_listen_cleanup(cfg.listen);
	} else if (pf_listen_inherited()) {
		if (pidfile != NULL)
			write_pidfile(pidfile);
		/* The web server owns the pool unless told otherwise. */
		if (workers_given && cfg.workers > 1)
			rc = pf_master_run(0, &cfg, reload);
		else
			rc = pf_worker_run(0, &cfg, -1);
	} else
		fatal("no listening socket: use --listen or start under a "
		    "FastCGI process manager");
	if (pidfile != NULL)
		(void)unlink(pidfile);
	cfg_free(&cfg);
	return rc;
}
