/*
 * certvault — HTTP over FastCGI: the CGI environment into a cv_req, a
 * cv_resp out to the stream, and the bearer authentication scheme.
 * SPDX-License-Identifier: ISC
 */
#ifndef HTTP_H
#define HTTP_H

#include "certvault.h"

struct FCGX_Stream;

/* http_req.c */
enum cv_err http_req_parse(struct cv_req *, char **);
enum cv_err http_req_read_body(struct cv_req *, struct FCGX_Stream *, size_t);
enum cv_err http_percent_decode(const char *, size_t, bool, char **);

/* http_resp.c */
void	http_resp_write(struct FCGX_Stream *, const struct cv_req *,
	    const struct cv_resp *);
const char *http_status_text(int);
size_t	 http_status_count(void);
int	 http_status_at(size_t);
int	 http_status_index(int);

/* http_auth.c */
char	*http_auth_bearer(const char *);
char	*http_auth_challenge(const struct cv_req *);
char	*http_base_url(const struct cv_req *);
unsigned http_auth_perm(const char *);
const char *http_auth_perm_name(unsigned);
int	 http_auth_perms_parse(const char *, unsigned *);

#endif /* HTTP_H */
