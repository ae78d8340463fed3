/*
 * certvault — logging to stderr, one line per event.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_threshold = LOG_LEVEL_INFO;

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
log_vwrite(enum log_level level, const char *file, int line,
    const char *fmt, va_list ap)
{
	char		 ts[32], msg[2048];
	time_t		 now;
	struct tm	 tm;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_oneline(msg);
	/* One write per line so lines of concurrent workers do not mix. */
	if (level >= LOG_LEVEL_WARNING || log_threshold == LOG_LEVEL_DEBUG)
		dprintf(STDERR_FILENO, "%s %s pid=%d %s (%s:%d)\n", ts,
		    log_names[level], (int)getpid(), msg, file, line);
	else
		dprintf(STDERR_FILENO, "%s %s pid=%d %s\n", ts,
		    log_names[level], (int)getpid(), msg);
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
