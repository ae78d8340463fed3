/*
 * certvault — the listening socket: made by us (--listen) or inherited on
 * fd 0 from a process manager.  SPDX-License-Identifier: ISC
 *
 * Not FCGX_OpenSocket: it knows only IPv4 and exits the process on error.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certvault.h"
#include "cfg.h"
#include "log.h"
#include "pf.h"

#define PF_BACKLOG 1024

/*
 * True if fd 0 is a listening socket handed to us by a web server
 * (lighttpd bin-path, mod_fcgid, spawn-fcgi): libfcgi's own test, a
 * socket that has no peer.
 */
bool
pf_listen_inherited(void)
{
	struct sockaddr_storage	 sa;
	socklen_t		 len = sizeof(sa);

	return getpeername(0, (struct sockaddr *)&sa, &len) == -1 &&
	    errno == ENOTCONN;
}

static enum cv_err
listen_unix(const char *path, const struct cv_cfg *cfg, int *out)
{
	struct sockaddr_un	 sun;
	struct passwd		*pw;
	struct group		*gr;
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("socket path too long: %s", path);
		return CV_ERR_BAD_PARAMETER;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_error("could not create socket: %s", strerror(errno));
		return CV_ERR_INTERNAL;
	}
	/* A socket left by a previous run that died would block bind(). */
	if (unlink(path) == -1 && errno != ENOENT)
		log_warnx("could not remove old socket %s: %s", path,
		    strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_error("could not bind to %s: %s", path, strerror(errno));
		goto bad;
	}
	if (cfg->socket_owner != NULL) {
		if ((pw = getpwnam(cfg->socket_owner)) == NULL) {
			log_error("unknown socket owner %s", cfg->socket_owner);
			goto bad;
		}
		uid = pw->pw_uid;
	}
	if (cfg->socket_group != NULL) {
		if ((gr = getgrnam(cfg->socket_group)) == NULL) {
			log_error("unknown socket group %s", cfg->socket_group);
			goto bad;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) {
		log_error("could not chown %s: %s", path, strerror(errno));
		goto bad;
	}
	if (chmod(path, cfg->socket_mode) == -1) {
		log_error("could not chmod %s: %s", path, strerror(errno));
		goto bad;
	}
	if (listen(fd, PF_BACKLOG) == -1) {
		log_error("could not listen on %s: %s", path, strerror(errno));
		goto bad;
	}
	*out = fd;
	return CV_OK;
bad:
	close(fd);
	return CV_ERR_INTERNAL;
}

static enum cv_err
listen_tcp(const char *spec, int *out)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		*host, *port;
	int		 fd = -1, on = 1, rc;

	host = cv_strdup(spec);
	if ((port = strrchr(host, ':')) == NULL) {
		log_error("listen address needs a port: %s", spec);
		free(host);
		return CV_ERR_BAD_PARAMETER;
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		log_error("could not resolve %s: %s", spec, gai_strerror(rc));
		free(host);
		return CV_ERR_BAD_PARAMETER;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, PF_BACKLOG) == 0)
			break;
		log_warnx("could not listen on %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	if (fd == -1)
		return CV_ERR_INTERNAL;
	*out = fd;
	return CV_OK;
}

/*
 * Open the listening socket named by spec: "unix:PATH" (mode and owner
 * from cfg, as spawn-fcgi's -M -U -G) or "HOST:PORT".
 */
enum cv_err
pf_listen_open(const char *spec, const struct cv_cfg *cfg, int *fd)
{

	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, cfg, fd);
	return listen_tcp(spec, fd);
}

/* Remove our unix socket on the way out; TCP needs nothing. */
void
pf_listen_cleanup(const char *spec)
{

	if (spec != NULL && strncmp(spec, "unix:", 5) == 0)
		(void)unlink(spec + 5);
}
