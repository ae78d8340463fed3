/*
 * certvault — logging to stderr, one line per event.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"

static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_json;		/* log_format = json */

static const char *const log_names[LOG_LEVEL__MAX] = {
	"DEBUG",	/* LOG_LEVEL_DEBUG */
	"INFO",		/* LOG_LEVEL_INFO */
	"WARNING",	/* LOG_LEVEL_WARNING */
	"ERROR",	/* LOG_LEVEL_ERROR */
	"FATAL",	/* LOG_LEVEL_FATAL */
};

void
log_set_level(enum log_level level)
{

	log_threshold = level;
}

void
log_set_json(int on)
{

	log_json = on;
}

/*
 * Parse a level name as in the configuration file ("debug", "info",
 * "warning", "error").  Return 0 on failure, 1 on success.
 */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < LOG_LEVEL_FATAL; i++)
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 1;
		}
	return 0;
}

/*
 * One event, one line: a message may carry line breaks of its own (libpq's
 * error messages end in one and contain more).  Drop the trailing ones and
 * turn the others into spaces.
 */
static void
log_oneline(char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

static void
log_time(char *ts, size_t tssz)
{
	time_t		 now;
	struct tm	 tm;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, tssz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Write a JSON object as one line and release it.  One write per line
 * so that lines of concurrent workers do not mix.
 */
static void
log_json_line(json_t *o)
{
	char	*s;

	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return;
	dprintf(STDERR_FILENO, "%s\n", s);
	free(s);
}

static void
log_vwrite(enum log_level level, const char *file, int line,
    const char *fmt, va_list ap)
{
	char		 ts[32], msg[2048], src[256];
	bool		 where;
	json_t		*o;

	log_time(ts, sizeof(ts));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_oneline(msg);
	where = level >= LOG_LEVEL_WARNING || log_threshold == LOG_LEVEL_DEBUG;
	if (log_json) {
		o = json_pack("{s:s, s:s, s:i, s:s}", "time", ts, "level",
		    log_names[level], "pid", (int)getpid(), "msg", msg);
		if (o != NULL && where) {
			snprintf(src, sizeof(src), "%s:%d", file, line);
			json_object_set_new(o, "src", json_string(src));
		}
		if (o != NULL)
			log_json_line(o);
		return;
	}
	/* One write per line so lines of concurrent workers do not mix. */
	if (where)
		dprintf(STDERR_FILENO, "%s %s pid=%d %s (%s:%d)\n", ts,
		    log_names[level], (int)getpid(), msg, file, line);
	else
		dprintf(STDERR_FILENO, "%s %s pid=%d %s\n", ts,
		    log_names[level], (int)getpid(), msg);
}

/* Copy s for a text log line, replacing anything that could forge one. */
static const char *
log_safe(char *dst, size_t dstsz, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return "-";
	for (i = 0; s[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = (s[i] < 0x21 || s[i] == 0x7f) ? '_' : s[i];
	dst[i] = '\0';
	return dst;
}

/* A JSON string member, or null; at most 512 bytes of what a client sent. */
static void
log_json_str(json_t *o, const char *key, const char *v)
{

	json_object_set_new(o, key, v == NULL ? json_null() :
	    json_stringn_nocheck(v, strnlen(v, 512)));
}

/*
 * One access-log line (INFO): never a token or a body.  Text lines keep
 * their historical order, new fields at the end.
 */
void
log_access(const struct log_access *a)
{
	char	 ts[32], vault[128], method[16], path[512], rid[40];
	char	 crid[130], addr[64];
	json_t	*o;

	if (log_threshold > LOG_LEVEL_INFO)
		return;
	if (log_json) {
		log_time(ts, sizeof(ts));
		o = json_pack("{s:s, s:s, s:i, s:s}", "time", ts, "level",
		    log_names[LOG_LEVEL_INFO], "pid", (int)getpid(), "msg",
		    "access");
		if (o == NULL)
			return;
		log_json_str(o, "vault", a->vault);
		log_json_str(o, "method", a->method);
		log_json_str(o, "path", a->path);
		json_object_set_new(o, "status", json_integer(a->status));
		json_object_set_new(o, "duration_ms",
		    json_real((double)(long long)(a->duration_ms * 1000) /
		    1000));
		log_json_str(o, "request_id", a->request_id);
		log_json_str(o, "client_request_id", a->client_request_id);
		log_json_str(o, "remote_addr", a->remote_addr);
		log_json_line(o);
		return;
	}
	log_generic(LOG_LEVEL_INFO, __FILE__, __LINE__, "access vault=%s "
	    "method=%s path=%s status=%d duration_ms=%.3f request_id=%s "
	    "client_request_id=%s remote_addr=%s",
	    log_safe(vault, sizeof(vault), a->vault),
	    log_safe(method, sizeof(method), a->method),
	    log_safe(path, sizeof(path), a->path), a->status, a->duration_ms,
	    log_safe(rid, sizeof(rid), a->request_id),
	    log_safe(crid, sizeof(crid), a->client_request_id),
	    log_safe(addr, sizeof(addr), a->remote_addr));
}

void
log_generic(enum log_level level, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;

	if (level < log_threshold)
		return;
	va_start(ap, fmt);
	log_vwrite(level, file, line, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_FATAL, file, line, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * The log file (log_file): stderr itself becomes the file, so that what
 * libpq, GnuTLS and libfcgi print there lands in it too, and children
 * (certvault-fcgi's workers, sendmail_command, acme_dns_hook) inherit it.
 * O_APPEND: the lines of concurrent processes are never written over one
 * another (each is one write(2)).  The path is kept for log_reopen().
 */
static char	*log_path;

/*
 * Make path the process's stderr.  Return 0 on success; -1 with errno
 * set on failure, stderr left as it was.
 */
int
log_open_file(const char *path)
{
	char	*copy;
	int	 fd, save;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY |
	    O_CLOEXEC, 0640)) == -1)
		return -1;
	if (fd == STDERR_FILENO)
		/* stderr was closed and the file took its place: no CLOEXEC. */
		(void)fcntl(fd, F_SETFD, 0);
	else {
		if (dup2(fd, STDERR_FILENO) == -1) {
			save = errno;
			close(fd);
			errno = save;
			return -1;
		}
		close(fd);
	}
	if (log_path != path) {
		copy = strdup(path);
		free(log_path);
		log_path = copy;	/* NULL if out of memory: no reopen */
	}
	return 0;
}

/*
 * After logrotate moved the file away (SIGHUP): open the path again, a
 * new file, and make it stderr; the moved file is closed here (other
 * processes holding it close it themselves).  Return 1 if reopened, 0
 * if there is no log file (stderr as started), -1 with errno set if the
 * path cannot be opened (the old file stays stderr).
 */
int
log_reopen(void)
{

	if (log_path == NULL)
		return 0;
	return log_open_file(log_path) == 0 ? 1 : -1;
}
