/*
 * certvault — a worker: accept FastCGI requests on the shared socket and
 * serve them, one at a time.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "certvault.h"
#include "cfg.h"
#include "crypto.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "netmask.h"
#include "pf.h"
#include "route.h"
#include "store.h"

static volatile sig_atomic_t worker_stop;

static void
worker_sig(int sig)
{

	worker_stop = 1;
	/* Makes libfcgi's accept loop give up instead of retrying EINTR. */
	FCGX_ShutdownPending();
}

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Serve one accepted request and write its access-log line. */
static void
worker_serve(FCGX_Request *fr, const struct cv_ctx *ctx,
    const struct cv_cfg *cfg)
{
	struct cv_req	 req;
	struct cv_resp	 resp;
	struct timespec	 t0;
	struct log_access a;
	enum cv_err	 er;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&resp, 0, sizeof(resp));
	er = http_req_parse(&req, fr->envp);
	if (er == CV_OK)
		er = http_req_read_body(&req, fr->in, cfg->max_body_size);
	if (er != CV_OK) {
		kv_err_set(&resp, er, "The request is malformed.");
		kv_err_finish(&resp);
	} else {
		/*
		 * All the database work of one request (vault, token, the
		 * handler's statements, the audit record) shares one
		 * deadline: request_timeout + a grace, then 503.
		 */
		store_deadline(ctx->store, true);
		route_dispatch(&req, &resp, ctx);
		store_deadline(ctx->store, false);
	}
	http_resp_write(fr->out, &req, &resp);

	/* The access log names the vault and the path, never a token. */
	memset(&a, 0, sizeof(a));
	a.vault = req.vault.name;
	a.method = req.method_name;
	a.path = req.path;
	a.status = resp.status;
	a.duration_ms = elapsed_ms(&t0);
	a.request_id = req.request_id;
	a.client_request_id = req.client_request_id;
	a.remote_addr = req.remote_addr;
	log_access(&a);
	metrics_request(req.route_index, resp.status, a.duration_ms / 1e3);
	cv_resp_free(&resp);
	cv_req_free(&req);
}

/*
 * The accept loop.  SIGTERM is blocked while a request is served and
 * delivered only while we wait in accept, because libfcgi does not retry
 * reads and writes interrupted by a signal (kcgi's fcgi.c does the same).
 * ready_fd (-1: none) is the master's pipe: our pid goes there once we
 * are about to accept, which tells the master we started (pf_master.c).
 * Return the process exit code.
 */
int
pf_worker_run(int fd, const struct cv_cfg *cfg, int ready_fd)
{
	FCGX_Request		 fr;
	struct sigaction	 sa;
	sigset_t		 term, old;
	struct cv_master	 master;
	struct cv_ctx		 ctx;
	struct netmask		*nets = NULL;
	char			*err = NULL;
	unsigned		 served = 0, failures = 0;
	pid_t			 self;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &old);

	if (FCGX_Init() != 0)
		fatal("could not initialise libfcgi");
	if (FCGX_InitRequest(&fr, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		fatal("could not initialise a FastCGI request");
	memset(&ctx, 0, sizeof(ctx));
	/* cfg_build has checked the list already. */
	if (!netmask_parse_list(cfg->operator_networks, &nets,
	    &ctx.operator_netsz, &err)) {
		log_error("operator_networks: %s", err);
		free(err);
	}
	ctx.operator_nets = nets;
	/* The connection is opened after fork and never shared. */
	ctx.store = store_new(cfg->database_url);
	store_set_timeout(ctx.store, cfg->request_timeout);
	ctx.rate_token = cfg->rate_limit_token_rps;
	ctx.rate_vault = cfg->rate_limit_vault_rps;
	/* certvault-worker's, if it reads the same file (it should). */
	ctx.worker_interval = cfg->worker_interval;
	(void)store_connect(ctx.store);
	if (cfg->master_key_file != NULL) {
		if (crypto_master_load(cfg->master_key_file, &master) == CV_OK) {
			ctx.master = &master;
			/* Keys before a rotation: unsealing only. */
			(void)crypto_master_load_previous(&master,
			    cfg->master_key_previous_files);
		} else
			log_error("master key %s not loaded: certificates cannot "
			    "be created", cfg->master_key_file);
	}
	if (ready_fd != -1) {
		self = getpid();
		(void)write(ready_fd, &self, sizeof(self));
		close(ready_fd);
	}

	while (!worker_stop) {
		sigprocmask(SIG_UNBLOCK, &term, NULL);
		/*
		 * XXX: two windows remain.  A SIGTERM between this test and
		 * accept(2) is noticed only after the next request (the
		 * master's SIGKILL after shutdown_timeout bounds the wait);
		 * one that lands while libfcgi reads the parameters of a
		 * connection it has just accepted makes that read fail and
		 * drops the request.  Closing both needs our own accept loop
		 * (ppoll with the signal mask), which libfcgi does not allow
		 * without reaching into FCGX_Request.
		 */
		if (worker_stop || FCGX_Accept_r(&fr) < 0) {
			sigprocmask(SIG_BLOCK, &term, NULL);
			if (worker_stop)
				break;
			/* EINTR from another signal, or a broken socket. */
			if (errno != EINTR && ++failures > 100) {
				log_error("accept keeps failing: %s",
				    strerror(errno));
				return 1;
			}
			continue;
		}
		failures = 0;
		sigprocmask(SIG_BLOCK, &term, NULL);
		worker_serve(&fr, &ctx, cfg);
		FCGX_Finish_r(&fr);
		if (cfg->max_requests != 0 && ++served >= cfg->max_requests) {
			log_info("worker recycled after %u requests", served);
			break;
		}
	}
	FCGX_Free(&fr, 1);
	store_free(ctx.store);
	free(nets);
	if (ctx.master != NULL)
		crypto_master_clear(&master);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
