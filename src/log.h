/*
 * certvault — logging.  SPDX-License-Identifier: ISC
 *
 * One line per event on stderr: time, level, pid, message, location —
 * as text, or as one JSON object per line (log_format = json).
 * With log_file, stderr is that file (log_open_file), opened again by
 * log_reopen() on SIGHUP after a rotation.
 * Never pass a private key, a token or a password to these.
 */
#ifndef LOG_H
#define LOG_H

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL__MAX
};

/* One access-log record (pf_worker.c); strings may be NULL. */
struct log_access {
	const char	*vault;
	const char	*method;
	const char	*path;
	int		 status;
	double		 duration_ms;
	const char	*request_id;	/* ours: x-ms-request-id */
	const char	*client_request_id; /* x-ms-client-request-id */
	const char	*remote_addr;
};

void	log_set_level(enum log_level);
void	log_set_json(int);
void	log_access(const struct log_access *);
int	log_level_parse(const char *, enum log_level *);
void	log_generic(enum log_level, const char *, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
void	log_fatal(const char *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4), noreturn));
int	log_open_file(const char *);
int	log_reopen(void);

#define log_debug(...) log_generic(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_generic(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_warnx(...) log_generic(LOG_LEVEL_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_generic(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define fatal(...) log_fatal(__FILE__, __LINE__, __VA_ARGS__)

#endif /* LOG_H */
