/*
 * certvault-worker — the background daemon: whatever happens after a
 * request returns.  SPDX-License-Identifier: ISC
 *
 * Each pass runs every job once; each job claims its rows with
 * FOR UPDATE SKIP LOCKED, so any number of workers can run at once.
 * Later capabilities add their jobs to the table below.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "crypto.h"
#include "kv.h"
#include "lifetime.h"
#include "log.h"
#include "store.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;

static void
on_stop(int sig)
{

	stop_requested = 1;
}

static void
on_hup(int sig)
{

	reopen_requested = 1;
}

/*
 * SIGHUP (logrotate's postrotate): log_file anew, between two jobs or
 * while sleeping, never inside a job.  The configuration is not read
 * again: that takes a restart.
 */
static void
worker_reopen(void)
{
	int	 rc;

	if (!reopen_requested)
		return;
	reopen_requested = 0;
	if ((rc = log_reopen()) == 1)
		log_info("log file reopened");
	else if (rc == -1)
		log_error("could not reopen the log file: %s",
		    strerror(errno));
}

struct job {
	const char	*name;
	enum cv_err	(*run)(struct store *, int *);
};

static const struct job jobs[] = {
	{ "purge-expired", store_job_purge_expired },
	{ "issue", worker_issue_run },
	{ "key-pool", worker_pool_run },
	{ "lifetime-actions", lifetime_job },
};

/*
 * What this process has done, for its row in worker_heartbeats (status
 * page, metrics, doctor).
 */
struct beat {
	char		 id[300];	/* hostname:pid */
	char		 host[256];
	int64_t		 started;
	int64_t		 passes, claims, failures;
	char		 error[128];	/* the failure of this pass, or "" */
};

/* One pass over every job.  Return false if the database was away. */
static bool
worker_pass(struct store *st, struct beat *b)
{
	size_t		 i;
	int		 done;
	enum cv_err	 er;
	bool		 ok = true;

	b->error[0] = '\0';
	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]) && !stop_requested;
	    i++) {
		done = 0;
		worker_reopen();
		er = jobs[i].run(st, &done);
		if (er == CV_ERR_UNAVAILABLE)
			return false;
		if (done > 0)
			b->claims += done;
		if (er != CV_OK) {
			log_warnx("job %s failed", jobs[i].name);
			b->failures++;
			snprintf(b->error, sizeof(b->error), "job %s failed "
			    "(%s)", jobs[i].name, kv_err_code(er));
			ok = false;
		} else if (done > 0)
			log_info("job %s: %d done", jobs[i].name, done);
	}
	b->passes++;
	return ok;
}

/* Write this worker's heartbeat; a database away is logged by the store. */
static void
worker_beat(struct store *st, const struct beat *b)
{
	struct store_heartbeat	 hb;

	memset(&hb, 0, sizeof(hb));
	hb.worker_id = b->id;
	hb.hostname = b->host;
	hb.pid = (int)getpid();
	hb.started = b->started;
	hb.passes = b->passes;
	hb.claims = b->claims;
	hb.failures = b->failures;
	hb.error = b->error[0] != '\0' ? b->error : NULL;
	(void)store_heartbeat(st, &hb);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "as-of",	required_argument, NULL, 'a' },
		{ "config",	required_argument, NULL, 'c' },
		{ "once",	no_argument,	   NULL, 'o' },
		{ "pid-file",	required_argument, NULL, 'p' },
		{ NULL,		0,		   NULL, 0 },
	};
	struct sigaction	 sa;
	struct timespec		 ts;
	struct cv_cfg		 cfg;
	struct store		*st;
	struct beat		 beat;
	const char		*config_path = getenv("CERTVAULT_CONFIG");
	const char		*pidfile = NULL;
	char			*err;
	FILE			*f;
	bool			 once = false, ok;
	int64_t			 as_of = 0;	/* lifetime actions; 0: now */
	int			 ch;

	while ((ch = getopt_long(argc, argv, "a:c:op:", longopts, NULL)) !=
	    -1)
		switch (ch) {
		case 'a':
			if (!lifetime_parse_time(optarg, &as_of)) {
				fprintf(stderr, "certvault-worker: --as-of takes "
				    "a UTC time such as 2027-06-01T00:00:00Z\n");
				return 1;
			}
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'o':
			once = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: certvault-worker [--config FILE] "
			    "[--once] [--pid-file FILE] [--as-of TIME]\n");
			return 1;
		}
	if (cfg_build(&cfg, config_path, NULL, 0, &err) != CV_OK)
		fatal("%s", err);
	log_set_level((enum log_level)cfg.log_level);
	log_set_json(strcmp(cfg.log_format, "json") == 0);
	if (cfg.log_file != NULL && log_open_file(cfg.log_file) == -1)
		fatal("could not open log file %s: %s", cfg.log_file,
		    strerror(errno));
	crypto_master_previous(cfg.master_key_previous_files);
	worker_issue_setup(cfg.master_key_file);
	worker_acme_setup(cfg.acme_ca_file, cfg.acme_dns_hook);
	if (worker_pool_setup(cfg.key_pool_types, cfg.key_pool_size, &err) !=
	    CV_OK)
		fatal("%s", err);
	lifetime_setup(cfg.master_key_file, cfg.sendmail_command,
	    cfg.lifetime_interval, as_of);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: wakes the sleep */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/*
	 * SA_RESTART: a SIGHUP in the middle of a job restarts what it
	 * interrupts; nanosleep(2) returns early all the same.
	 */
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL)
			fatal("could not write pid file %s: %s", pidfile,
			    strerror(errno));
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	st = store_new(cfg.database_url);
	store_set_timeout(st, cfg.request_timeout);
	memset(&beat, 0, sizeof(beat));
	if (gethostname(beat.host, sizeof(beat.host) - 1) != 0)
		snprintf(beat.host, sizeof(beat.host), "localhost");
	snprintf(beat.id, sizeof(beat.id), "%s:%d", beat.host, (int)getpid());
	beat.started = (int64_t)time(NULL);
	log_info("worker started; a pass every %us", cfg.worker_interval);
	while (!stop_requested) {
		ok = worker_pass(st, &beat);
		if (once) {
			store_free(st);
			cfg_free(&cfg);
			return ok ? 0 : 1;
		}
		/* A one-off run (--once) leaves no heartbeat behind. */
		if (ok || beat.error[0] != '\0')
			worker_beat(st, &beat);
		worker_reopen();
		ts.tv_sec = cfg.worker_interval;
		ts.tv_nsec = 0;
		while (!stop_requested && nanosleep(&ts, &ts) == -1 &&
		    errno == EINTR)
			worker_reopen();
	}
	log_info("worker stopped");
	(void)store_heartbeat_gone(st, beat.id);
	store_free(st);
	cfg_free(&cfg);
	if (pidfile != NULL)
		(void)unlink(pidfile);
	return 0;
}
