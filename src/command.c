/*
 * certvault — running the commands an operator configures: the mail
 * command of lifetime actions and the dns-01 hook of ACME issuers.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certvault.h"

extern char **environ;

/* Our environment with env's variables added (the array is the caller's). */
static char **
env_merge(char *const env[])
{
	char	**out;
	size_t	  n = 0, m = 0, i;

	while (environ[n] != NULL)
		n++;
	while (env[m] != NULL)
		m++;
	out = cv_calloc(n + m + 1, sizeof(char *));
	for (i = 0; i < m; i++)
		out[i] = env[i];
	/* The added ones first: getenv(3) takes the first of a name. */
	for (i = 0; i < n; i++)
		out[m + i] = environ[i];
	return out;
}

/*
 * Run cmd with /bin/sh -c, with our environment plus env (NULL, or
 * "NAME=value" strings ending with NULL), msg on its standard input, its
 * output and errors where ours go.  Return CV_OK if it exits with status
 * 0 within timeout seconds; otherwise CV_ERR_INTERNAL and in *err what
 * happened (the caller frees it).  A command still running then is
 * killed.
 */
enum cv_err
cv_command_run(const char *cmd, char *const env[], const char *msg,
    unsigned timeout, char **err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 attr;
	sigset_t		 none, dfl;
	struct timespec		 ts;
	char			*argv[] = { "sh", "-c", (char *)cmd, NULL };
	char			**envp = environ;
	size_t			 off = 0, len = strlen(msg);
	ssize_t			 w;
	pid_t			 pid, r;
	int			 fds[2], rc, st = 0, ticks = 0;

	*err = NULL;
	if (pipe(fds) == -1) {
		*err = cv_asprintf("could not make a pipe: %s",
		    strerror(errno));
		return CV_ERR_INTERNAL;
	}
	/* Our end is no other child's business. */
	(void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	if (fds[0] != STDIN_FILENO) {
		posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
		posix_spawn_file_actions_addclose(&fa, fds[0]);
	}
	/* The command gets the signals a shell expects (we ignore SIGPIPE). */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	if (env != NULL)
		envp = env_merge(env);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	if (envp != environ)
		free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		*err = cv_asprintf("could not run /bin/sh: %s", strerror(rc));
		return CV_ERR_INTERNAL;
	}
	/* A command that does not read its input is judged by its status. */
	while (off < len) {
		if ((w = write(fds[1], msg + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	close(fds[1]);
	for (;;) {
		if ((r = waitpid(pid, &st, WNOHANG)) == pid)
			break;
		if (r == -1 && errno != EINTR) {
			*err = cv_asprintf("could not wait for the command: %s",
			    strerror(errno));
			return CV_ERR_INTERNAL;
		}
		if (ticks++ >= (int)timeout * 20) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				continue;
			*err = cv_asprintf("the command did not finish within "
			    "%u seconds and was killed", timeout);
			return CV_ERR_INTERNAL;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = 50 * 1000 * 1000;
		(void)nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return CV_OK;
	if (WIFEXITED(st))
		*err = cv_asprintf("the command exited with status %d",
		    WEXITSTATUS(st));
	else
		*err = cv_asprintf("the command was killed by signal %d",
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return CV_ERR_INTERNAL;
}
