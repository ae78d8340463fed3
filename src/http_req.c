/*
 * certvault — turn the CGI environment of a FastCGI request into a cv_req.
 * SPDX-License-Identifier: ISC
 *
 * Everything libfcgi hands us dies at the next FCGX_Finish_r, so every
 * string is copied into the request, which owns it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "certvault.h"
#include "crypto.h"
#include "http.h"
#include "log.h"

static const char *const method_names[CV_METHOD__MAX] = {
	"GET",		/* CV_METHOD_GET */
	"POST",		/* CV_METHOD_POST */
	"PUT",		/* CV_METHOD_PUT */
	"PATCH",	/* CV_METHOD_PATCH */
	"DELETE",	/* CV_METHOD_DELETE */
	"HEAD",		/* CV_METHOD_HEAD */
	NULL,		/* CV_METHOD_OTHER */
};

/*
 * Percent-decode the n bytes at s into a new string; with plus, '+' means
 * a space (query strings).  A malformed escape or an encoded NUL is
 * refused with CV_ERR_BAD_PARAMETER and *out set to NULL.
 */
enum cv_err
http_percent_decode(const char *s, size_t n, bool plus, char **out)
{
	char	*d;
	size_t	 i, j;
	int	 hi, lo;

	*out = NULL;
	d = cv_malloc(n + 1);
	for (i = j = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				goto bad;
			hi = cv_hexval((unsigned char)s[i + 1]);
			lo = cv_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+')
			d[j++] = ' ';
		else
			d[j++] = s[i];
	}
	d[j] = '\0';
	*out = d;
	return CV_OK;
bad:
	free(d);
	return CV_ERR_BAD_PARAMETER;
}

/*
 * Split a query string into decoded name/value pairs.  Names are decoded
 * too: the JS SDK sends "api%2Dversion=".
 */
static enum cv_err
parse_query(struct cv_req *req, const char *q)
{
	const char	*p, *amp, *eq;
	struct cv_param	*pp;
	enum cv_err	 er;

	for (p = q; *p != '\0'; p = *amp == '\0' ? amp : amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		if (amp == p)
			continue;
		req->params = cv_realloc(req->params,
		    (req->paramsz + 1) * sizeof(*req->params));
		pp = &req->params[req->paramsz];
		pp->name = pp->value = NULL;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((er = http_percent_decode(p, (size_t)(eq - p), true,
		    &pp->name)) != CV_OK)
			return er;
		if (eq == amp)
			pp->value = cv_strdup("");
		else if ((er = http_percent_decode(eq + 1,
		    (size_t)(amp - eq - 1), true, &pp->value)) != CV_OK) {
			free(pp->name);
			return er;
		}
		req->paramsz++;
	}
	return CV_OK;
}

static const char *
env_get(char **envp, const char *name)
{
	size_t	 len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static char *
env_dup(char **envp, const char *name)
{
	const char	*v;

	v = env_get(envp, name);
	return v == NULL || *v == '\0' ? NULL : cv_strdup(v);
}

/*
 * Fill req from a CGI environment (NAME=value strings, NULL-terminated).
 * The path comes from REQUEST_URI, which every web server passes as the
 * client sent it, else from SCRIPT_NAME + PATH_INFO.  A path segment may
 * not encode '/' (it would change the route).  Return CV_OK or
 * CV_ERR_BAD_PARAMETER for a malformed URI; req is usable either way.
 */
enum cv_err
http_req_parse(struct cv_req *req, char **envp)
{
	const char	*uri, *q, *v, *https;
	char		*raw = NULL;
	size_t		 i, len;
	enum cv_err	 er = CV_OK;

	memset(req, 0, sizeof(*req));
	req->route_index = -1;
	/* Key Vault's x-ms-request-id: a fresh GUID per request. */
	if (crypto_random_uuid(req->request_id) != CV_OK)
		snprintf(req->request_id, sizeof(req->request_id), "-");
	req->method = CV_METHOD_OTHER;
	v = env_get(envp, "REQUEST_METHOD");
	req->method_name = cv_strdup(v == NULL ? "-" : v);
	for (i = 0; i < CV_METHOD_OTHER; i++)
		if (strcmp(req->method_name, method_names[i]) == 0)
			req->method = (enum cv_method)i;

	req->authorization = env_dup(envp, "HTTP_AUTHORIZATION");
	req->content_type = env_dup(envp, "CONTENT_TYPE");
	req->client_request_id = env_dup(envp, "HTTP_X_MS_CLIENT_REQUEST_ID");
	req->remote_addr = env_dup(envp, "REMOTE_ADDR");
	if ((v = env_get(envp, "CONTENT_LENGTH")) != NULL && *v != '\0')
		req->content_length = (size_t)strtoull(v, NULL, 10);

	if ((req->host = env_dup(envp, "HTTP_HOST")) == NULL) {
		v = env_get(envp, "SERVER_NAME");
		req->host = cv_strdup(v == NULL ? "localhost" : v);
	}
	https = env_get(envp, "HTTPS");
	v = env_get(envp, "REQUEST_SCHEME");
	if ((https != NULL && strcasecmp(https, "on") == 0) ||
	    (v != NULL && strcmp(v, "https") == 0))
		req->scheme = cv_strdup("https");
	else
		req->scheme = cv_strdup("http");

	if ((uri = env_get(envp, "REQUEST_URI")) != NULL && *uri != '\0') {
		q = strchr(uri, '?');
		len = q == NULL ? strlen(uri) : (size_t)(q - uri);
		raw = cv_strndup(uri, len);
		if (strcasestr(raw, "%2f") != NULL)
			er = CV_ERR_BAD_PARAMETER;
		else
			er = http_percent_decode(raw, len, false, &req->path);
		free(raw);
		v = q == NULL ? env_get(envp, "QUERY_STRING") : q + 1;
	} else {
		req->path = cv_asprintf("%s%s",
		    (v = env_get(envp, "SCRIPT_NAME")) == NULL ? "" : v,
		    (q = env_get(envp, "PATH_INFO")) == NULL ? "" : q);
		v = env_get(envp, "QUERY_STRING");
	}
	if (req->path == NULL || req->path[0] != '/') {
		free(req->path);
		req->path = cv_strdup("/");
		if (er == CV_OK)
			er = CV_ERR_BAD_PARAMETER;
	}
	if (v != NULL && er == CV_OK)
		er = parse_query(req, v);
	return er;
}

/*
 * Read the request body, up to limit bytes.  A larger body is read and
 * discarded (so the web server sees a well-behaved peer) and flagged for
 * a 413.  Without CONTENT_LENGTH (a chunked request through
 * mod_proxy_fcgi) the stream is read to its end.  Return
 * CV_ERR_BAD_PARAMETER if the stream ended before CONTENT_LENGTH bytes.
 */
enum cv_err
http_req_read_body(struct cv_req *req, struct FCGX_Stream *in, size_t limit)
{
	char	 sink[8192];
	size_t	 want, cap = 0, len = 0;
	int	 n;
	bool	 known = req->content_length > 0;

	if (known && req->content_length > limit) {
		req->body_too_large = true;
		want = req->content_length;
		while (want > 0 && (n = FCGX_GetStr(sink,
		    want < sizeof(sink) ? (int)want : (int)sizeof(sink),
		    in)) > 0)
			want -= (size_t)n;
		return CV_OK;
	}
	for (;;) {
		want = known ? req->content_length - len : sizeof(sink);
		if (want == 0)
			break;
		if (len + want + 1 > cap) {
			cap = len + want + 1;
			req->body = cv_realloc(req->body, cap);
		}
		if ((n = FCGX_GetStr(req->body + len, (int)want, in)) <= 0)
			break;
		len += (size_t)n;
		if (!known && len > limit) {
			req->body_too_large = true;
			while (FCGX_GetStr(sink, sizeof(sink), in) > 0)
				continue;
			break;
		}
	}
	if (req->body_too_large || len == 0 ||
	    (known && len != req->content_length)) {
		free(req->body);
		req->body = NULL;
		return known && !req->body_too_large && len !=
		    req->content_length ? CV_ERR_BAD_PARAMETER : CV_OK;
	}
	req->body[len] = '\0';
	req->bodysz = len;
	return CV_OK;
}

/* Return the value of the first query parameter called name, or NULL. */
const char *
cv_req_param(const struct cv_req *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->paramsz; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

void
cv_req_free(struct cv_req *req)
{
	size_t	 i;

	if (req == NULL)
		return;
	free(req->method_name);
	free(req->path);
	free(req->host);
	free(req->scheme);
	if (req->authorization != NULL) {
		explicit_bzero(req->authorization, strlen(req->authorization));
		free(req->authorization);
	}
	free(req->content_type);
	free(req->client_request_id);
	free(req->remote_addr);
	free(req->body);
	for (i = 0; i < req->paramsz; i++) {
		free(req->params[i].name);
		free(req->params[i].value);
	}
	free(req->params);
	free(req->vault.name);
	for (i = 0; i < req->argsz; i++)
		free(req->args[i]);
	memset(req, 0, sizeof(*req));
}
