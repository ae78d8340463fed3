/*
 * certvault — HTTPS exchanges with ACME servers (and certvault-admin
 * doctor's GET of /healthz); the one place libcurl is used.
 * SPDX-License-Identifier: ISC
 *
 * One easy handle per process, kept between exchanges so that the
 * connection to the CA is reused (certvault-worker talks to few CAs).
 * Only https is allowed, redirects are not followed (RFC 8555 names
 * every URL the client needs), and the CA's certificate is verified
 * against the configured CA file or the system's store.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "acme.h"
#include "log.h"

/* The largest body we take from a CA: a long chain in PEM is ~10 KiB. */
#define BODY_MAX	(1024 * 1024)
#define CONNECT_TIMEOUT	10L
#define TOTAL_TIMEOUT	30L

static CURL	*easy;
static char	*ca_path;	/* NULL: the system's store */

static void
easy_cleanup(void)
{

	if (easy != NULL)
		curl_easy_cleanup(easy);
	easy = NULL;
	curl_global_cleanup();
	free(ca_path);
	ca_path = NULL;
}

/* Verify CAs' certificates against ca_file (NULL: the system's store). */
void
acme_http_setup(const char *ca_file)
{

	free(ca_path);
	ca_path = ca_file != NULL && *ca_file != '\0' ? cv_strdup(ca_file) :
	    NULL;
}

static CURL *
easy_get(void)
{

	if (easy == NULL) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		if ((easy = curl_easy_init()) == NULL)
			return NULL;
		(void)atexit(easy_cleanup);
	} else
		curl_easy_reset(easy);
	return easy;
}

void
acme_http_resp_free(struct acme_http_resp *r)
{

	if (r == NULL)
		return;
	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

struct sink {
	struct acme_http_resp	*r;
	bool			 too_big;
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 len = size * n;

	if (s->r->bodysz + len > BODY_MAX) {
		s->too_big = true;
		return 0;
	}
	s->r->body = cv_realloc(s->r->body, s->r->bodysz + len + 1);
	memcpy(s->r->body + s->r->bodysz, data, len);
	s->r->bodysz += len;
	s->r->body[s->r->bodysz] = '\0';
	return len;
}

/* The value of header line h if its name is name, trimmed; else NULL. */
static char *
header_value(const char *h, size_t len, const char *name)
{
	size_t	 n = strlen(name);

	if (len <= n || strncasecmp(h, name, n) != 0 || h[n] != ':')
		return NULL;
	h += n + 1;
	len -= n + 1;
	while (len > 0 && (*h == ' ' || *h == '\t')) {
		h++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)h[len - 1]))
		len--;
	return cv_strndup(h, len);
}

/* Retry-After as delta-seconds; an HTTP date counts as "soon" (RFC 9110). */
static long
retry_after(const char *v)
{
	char	*end;
	long	 n;

	n = strtol(v, &end, 10);
	if (end != v && *end == '\0' && n >= 0)
		return n;
	return 1;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 len = size * n;
	char		*v;

	/* A new status line (after 100 Continue) starts over. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		free(s->r->location);
		free(s->r->content_type);
		s->r->location = s->r->content_type = NULL;
		s->r->retry_after = -1;
	} else if ((v = header_value(data, len, "Replay-Nonce")) != NULL) {
		free(s->r->replay_nonce);
		s->r->replay_nonce = v;
	} else if ((v = header_value(data, len, "Location")) != NULL) {
		free(s->r->location);
		s->r->location = v;
	} else if ((v = header_value(data, len, "Content-Type")) != NULL) {
		free(s->r->content_type);
		s->r->content_type = v;
	} else if ((v = header_value(data, len, "Retry-After")) != NULL) {
		s->r->retry_after = retry_after(v);
		free(v);
	}
	return len;
}

/*
 * One exchange: method (GET, HEAD or POST) on url, with body (POST; its
 * Content-Type ctype) and Accept accept (NULL: any).  On CV_OK, r holds
 * the status, headers and body, whatever the status (the caller frees
 * with acme_http_resp_free).  CV_ERR_UNAVAILABLE when no response came
 * (connection, TLS, timeout, oversized body), with *err saying why
 * (caller frees); r is then empty.
 */
enum cv_err
acme_http(const char *method, const char *url, const char *body,
    const char *ctype, const char *accept, struct acme_http_resp *r,
    char **err)
{
	struct curl_slist	*hdrs = NULL;
	struct sink		 s;
	char			*h, errbuf[CURL_ERROR_SIZE];
	CURL			*c;
	CURLcode		 rc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	*err = NULL;
	if ((c = easy_get()) == NULL) {
		*err = cv_strdup("libcurl could not be initialised");
		return CV_ERR_UNAVAILABLE;
	}
	memset(&s, 0, sizeof(s));
	s.r = r;
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_path != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_path);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "certvault/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		h = cv_asprintf("Content-Type: %s", ctype != NULL ? ctype :
		    "application/octet-stream");
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	if (accept != NULL) {
		h = cv_asprintf("Accept: %s", accept);
		hdrs = curl_slist_append(hdrs, h);
		free(h);
	}
	/* libcurl would send "Expect: 100-continue" for larger bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		*err = s.too_big ? cv_asprintf("%s: the response is larger "
		    "than %d bytes", url, BODY_MAX) : cv_asprintf("%s: %s", url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		acme_http_resp_free(r);
		return CV_ERR_UNAVAILABLE;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	return CV_OK;
}

/*
 * A plain HTTPS GET of url, verified against ca_file (NULL: the system's
 * store), for certvault-admin doctor: *status (and *body, if body is not
 * NULL: the caller frees it) on CV_OK, whatever the status.
 * CV_ERR_UNAVAILABLE with *err (caller frees) when no response came.
 * The CA file stays set for later exchanges, as acme_http_setup() sets it.
 */
enum cv_err
acme_http_get(const char *url, const char *ca_file, long *status,
    char **body, char **err)
{
	struct acme_http_resp	 r;
	enum cv_err		 er;

	*status = 0;
	if (body != NULL)
		*body = NULL;
	acme_http_setup(ca_file);
	if ((er = acme_http("GET", url, NULL, NULL, NULL, &r, err)) != CV_OK)
		return er;
	*status = r.status;
	if (body != NULL) {
		*body = r.body;
		r.body = NULL;
	}
	acme_http_resp_free(&r);
	return CV_OK;
}
