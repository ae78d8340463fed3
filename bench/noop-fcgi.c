/*
 * bench/noop-fcgi.c — the web server floor: a FastCGI responder that does
 * nothing but answer 200 with a small JSON body.  Like certvault-fcgi
 * --listen, a master binds the unix socket once and forks N workers that
 * accept on it; SIGTERM (or SIGINT) stops them all.
 *
 *   noop-fcgi SOCKET WORKERS PIDFILE
 *
 * Built and run by bench/run.sh (cc noop-fcgi.c -lfcgi); benchmarking only.
 * SPDX-License-Identifier: ISC
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define BODY	"{\"value\":[],\"nextLink\":null}"

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{

	(void)sig;
	stopping = 1;
}

static void
serve(int fd)
{
	FCGX_Request	 r;
	char		 resp[256];
	int		 len;

	/* The same bytes every time (FCGX_FPrintF knows no %zu). */
	len = snprintf(resp, sizeof(resp), "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(BODY), BODY);
	FCGX_InitRequest(&r, fd, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(resp, len, r.out);
		FCGX_Finish_r(&r);
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	pid_t		*kids;
	FILE		*f;
	int		 fd, n, i, alive;

	if (argc != 4 || (n = atoi(argv[2])) < 1 || n > 256) {
		fprintf(stderr, "usage: noop-fcgi SOCKET WORKERS PIDFILE\n");
		return 2;
	}
	if (FCGX_Init() != 0 || (fd = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "noop-fcgi: cannot listen on %s\n", argv[1]);
		return 1;
	}
	(void)chmod(argv[1], 0660);
	if ((kids = calloc((size_t)n, sizeof(*kids))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == 0)
			serve(fd);
		if (kids[i] < 0) {
			perror("noop-fcgi: fork");
			stopping = 1;
			break;
		}
	}
	/* Only the master handles signals; workers keep the defaults. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((f = fopen(argv[3], "w")) != NULL) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	alive = i;
	while (!stopping && alive > 0)
		if (wait(NULL) > 0)
			alive--;
		else if (errno == ECHILD)
			break;
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(argv[1]);
	free(kids);
	return 0;
}
