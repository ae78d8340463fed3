/*
 * certvault — the master: fork workers on the shared socket, respawn the
 * dead, recycle, stop gracefully, reload.  SPDX-License-Identifier: ISC
 *
 * The master never opens a database connection (libpq connections must
 * not cross fork()).  Signal handlers only write a byte to a self-pipe;
 * the loop does the work (php-fpm, pgbouncer).  Workers write their pid
 * to a second pipe once they are ready to serve: only a worker that never
 * got that far is "failing to start" and respawned with a back-off.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "log.h"
#include "metrics.h"
#include "pf.h"

/* A worker that dies sooner than this after its start is failing. */
#define PF_QUICK_DEATH_MS	5000
#define PF_BACKOFF_MIN_MS	100
#define PF_BACKOFF_MAX_MS	30000

struct slot {
	pid_t		 pid;		/* 0: empty, waiting for respawn_at */
	bool		 ready;		/* pid reported ready to serve */
	int64_t		 started_ms;
	int64_t		 respawn_at_ms;
	unsigned	 failures;	/* quick deaths in a row */
};

static int sigpipe_fds[2] = { -1, -1 };
/* Workers write their pid here when ready; the master reads. */
static int ready_fds[2] = { -1, -1 };

static void
master_sig(int sig)
{
	unsigned char	 c = (unsigned char)sig;
	int		 save = errno;

	(void)write(sigpipe_fds[1], &c, 1);
	errno = save;
}

/*
 * Fork one worker.  Signals are blocked around fork() so the child cannot
 * run the master's handlers before it installs its own (php-fpm).
 */
static pid_t
master_spawn(int fd, const struct cv_cfg *cfg)
{
	sigset_t		 all, old;
	struct sigaction	 sa;
	pid_t			 pid;
	int			 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t			 i;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		log_error("could not fork a worker: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
		close(sigpipe_fds[0]);
		close(sigpipe_fds[1]);
		close(ready_fds[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(pf_worker_run(fd, cfg, ready_fds[1]));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

static void
slot_fill(struct slot *s, int fd, const struct cv_cfg *cfg)
{

	s->pid = master_spawn(fd, cfg);
	s->ready = false;
	s->started_ms = cv_mono_ms();
	if (s->pid == -1) {
		s->pid = 0;
		s->respawn_at_ms = s->started_ms + PF_BACKOFF_MAX_MS;
	}
}

/*
 * A slot's worker ended.  A clean exit (recycling after max_requests) is
 * replaced at once, and so is a worker that had reported ready: whatever
 * killed it (kill -9, the OOM killer, a crash in one request) says
 * nothing about the next one, and the requests waiting on the socket
 * need it now.  A worker that died before it was ready, soon after its
 * start, cannot start: the slot backs off exponentially so that it does
 * not spin.
 */
static void
slot_died(struct slot *s, int status)
{
	int64_t		 now = cv_mono_ms(), delay = 0;
	unsigned	 shift;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		s->failures = 0;
	} else {
		metrics_worker_died();
		if (WIFSIGNALED(status))
			log_warnx("worker %d killed by signal %d", (int)s->pid,
			    WTERMSIG(status));
		else
			log_warnx("worker %d exited with status %d",
			    (int)s->pid, WEXITSTATUS(status));
		if (!s->ready && now - s->started_ms < PF_QUICK_DEATH_MS) {
			shift = s->failures < 9 ? s->failures : 9;
			delay = (int64_t)PF_BACKOFF_MIN_MS << shift;
			if (delay > PF_BACKOFF_MAX_MS)
				delay = PF_BACKOFF_MAX_MS;
			s->failures++;
		} else
			s->failures = 0;
	}
	s->pid = 0;
	s->ready = false;
	s->respawn_at_ms = now + delay;
}

/*
 * Mark the slots whose workers reported ready.  Read before reaping, so a
 * worker that reported and then died at once counts as ready.  A pid of
 * a retired worker matches no slot.
 */
static void
ready_drain(struct slot *slots, size_t nslots)
{
	pid_t	 pids[64];
	ssize_t	 n, k;
	size_t	 i;

	while ((n = read(ready_fds[0], pids, sizeof(pids))) > 0)
		for (k = 0; k < n / (ssize_t)sizeof(pid_t); k++)
			for (i = 0; i < nslots; i++)
				if (slots[i].pid == pids[k])
					slots[i].ready = true;
}

/* Workers of a previous generation, finishing their requests. */
struct retiring {
	pid_t		*pids;
	size_t		 n;
};

static bool
retiring_remove(struct retiring *r, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		if (r->pids[i] == pid) {
			r->pids[i] = r->pids[--r->n];
			return true;
		}
	return false;
}

static void
retiring_add(struct retiring *r, pid_t pid)
{

	r->pids = cv_realloc(r->pids, (r->n + 1) * sizeof(pid_t));
	r->pids[r->n++] = pid;
}

/*
 * Stop: SIGTERM to every worker, wait for them to finish what they serve,
 * SIGKILL whatever is left after the timeout (php-fpm, mod_fcgid).
 */
static void
master_stop(struct slot *slots, size_t nslots, struct retiring *r,
    unsigned timeout_s)
{
	int64_t	 deadline = cv_mono_ms() + (int64_t)timeout_s * 1000;
	size_t	 i, left;
	pid_t	 pid;
	int	 st;

	for (i = 0; i < nslots; i++)
		if (slots[i].pid > 0) {
			kill(slots[i].pid, SIGTERM);
			retiring_add(r, slots[i].pid);
			slots[i].pid = 0;
		}
	for (i = 0; i < r->n; i++)
		kill(r->pids[i], SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			retiring_remove(r, pid);
		if ((left = r->n) == 0)
			break;
		if (cv_mono_ms() >= deadline) {
			log_warnx("%zu workers did not stop in %us; killing them",
			    left, timeout_s);
			for (i = 0; i < r->n; i++)
				kill(r->pids[i], SIGKILL);
			while (r->n > 0 && (pid = waitpid(-1, &st, 0)) > 0)
				retiring_remove(r, pid);
			break;
		}
		usleep(20000);
	}
}

static void
master_signals(void)
{
	struct sigaction	 sa;

	if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("could not create the signal pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_sig;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Run the master until SIGTERM or SIGINT.  cfg may be replaced by reload
 * on SIGHUP; the workers of the old generation are told to finish and a
 * new generation with the new configuration starts at once.  Return the
 * process exit code.
 */
int
pf_master_run(int fd, struct cv_cfg *cfg, pf_reload_fn reload)
{
	struct slot	*slots;
	struct retiring	 retiring = { NULL, 0 };
	size_t		 nslots, i;
	struct pollfd	 pfd[2];
	unsigned char	 sigs[64];
	ssize_t		 n, k;
	int64_t		 now, next;
	int		 st, timeout, reopened;
	unsigned	 live;
	pid_t		 pid;
	bool		 stop = false, hup = false, found;

	master_signals();
	/*
	 * The write end stays blocking: each worker writes one pid, which is
	 * atomic (less than PIPE_BUF), so records never split.
	 */
	if (pipe2(ready_fds, O_CLOEXEC) == -1 ||
	    fcntl(ready_fds[0], F_SETFL, O_NONBLOCK) == -1)
		fatal("could not create the ready pipe: %s", strerror(errno));
	nslots = cfg->workers;
	slots = cv_calloc(nslots, sizeof(*slots));
	for (i = 0; i < nslots; i++)
		slot_fill(&slots[i], fd, cfg);
	log_info("master started with %zu workers", nslots);

	while (!stop) {
		now = cv_mono_ms();
		next = -1;
		for (i = 0; i < nslots; i++) {
			if (slots[i].pid != 0)
				continue;
			if (slots[i].respawn_at_ms <= now)
				slot_fill(&slots[i], fd, cfg);
			else if (next == -1 || slots[i].respawn_at_ms < next)
				next = slots[i].respawn_at_ms;
		}
		for (i = 0, live = 0; i < nslots; i++)
			live += slots[i].pid != 0;
		metrics_workers_set(live);
		timeout = next == -1 ? -1 : (int)(next - now + 1);
		pfd[0].fd = sigpipe_fds[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = ready_fds[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		while ((n = read(sigpipe_fds[0], sigs, sizeof(sigs))) > 0)
			for (k = 0; k < n; k++) {
				if (sigs[k] == SIGTERM || sigs[k] == SIGINT)
					stop = true;
				else if (sigs[k] == SIGHUP)
					hup = true;
			}
		ready_drain(slots, nslots);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (retiring_remove(&retiring, pid))
				continue;
			for (i = 0, found = false; i < nslots && !found; i++)
				if (slots[i].pid == pid) {
					slot_died(&slots[i], st);
					found = true;
				}
		}
		if (hup && !stop) {
			hup = false;
			/*
			 * SIGHUP is logrotate's signal too: the log file
			 * anew first, whatever becomes of the configuration,
			 * and new workers, who inherit it.  The old ones
			 * write their last lines to the rotated file.
			 */
			if ((reopened = log_reopen()) == -1)
				log_error("could not reopen the log file: %s",
				    strerror(errno));
			else if (reopened == 1)
				log_info("log file reopened");
			if (reload(cfg) != CV_OK) {
				log_error("configuration not reloaded; "
				    "keeping the running one");
				if (reopened != 1)
					continue;
				log_info("replacing workers: they still write "
				    "to the rotated log file");
			} else
				log_info("configuration reloaded; replacing "
				    "workers");
			for (i = 0; i < nslots; i++)
				if (slots[i].pid > 0) {
					kill(slots[i].pid, SIGTERM);
					retiring_add(&retiring, slots[i].pid);
				}
			free(slots);
			nslots = cfg->workers;
			slots = cv_calloc(nslots, sizeof(*slots));
			for (i = 0; i < nslots; i++)
				slot_fill(&slots[i], fd, cfg);
		}
	}
	log_info("stopping: waiting for workers to finish their requests");
	master_stop(slots, nslots, &retiring, cfg->shutdown_timeout);
	free(slots);
	free(retiring.pids);
	log_info("stopped");
	return 0;
}
