/*
 * certvault — write a cv_resp to the FastCGI stream, once.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "certvault.h"
#include "http.h"

struct status_text {
	int		 status;
	const char	*text;
};

static const struct status_text status_texts[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 409, "Conflict" },
	{ 413, "Payload Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

#define NSTATUS (sizeof(status_texts) / sizeof(status_texts[0]))

/* The statuses we answer with, for the metrics: how many, which, where. */
size_t
http_status_count(void)
{

	return NSTATUS;
}

int
http_status_at(size_t i)
{

	return i < NSTATUS ? status_texts[i].status : 0;
}

int
http_status_index(int status)
{
	size_t	 i;

	for (i = 0; i < NSTATUS; i++)
		if (status_texts[i].status == status)
			return (int)i;
	return -1;
}

const char *
http_status_text(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

/*
 * A header value we echo must not smuggle in a line break.  Return 1 if
 * the value is safe to copy into a header, 0 otherwise.
 */
static int
header_safe(const char *v)
{

	return strpbrk(v, "\r\n") == NULL;
}

/*
 * libfcgi's own FCGX_FPrintF knows no "%zu"; format with the C library.
 */
static void
put(struct FCGX_Stream *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct FCGX_Stream *out, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	FCGX_PutStr(s, n, out);
	free(s);
}

/*
 * Write status line, headers and body.  The CGI "Status:" header is how
 * a FastCGI responder sets the HTTP status (RFC 3875, 6.3.3).
 */
void
http_resp_write(struct FCGX_Stream *out, const struct cv_req *req,
    const struct cv_resp *resp)
{

	put(out, "Status: %d %s\r\n", resp->status,
	    http_status_text(resp->status));
	put(out, "Cache-Control: no-store\r\n");
	if (resp->location != NULL)
		put(out, "Location: %s\r\n", resp->location);
	if (resp->challenge != NULL)
		put(out, "WWW-Authenticate: %s\r\n", resp->challenge);
	if (resp->allow != NULL)
		put(out, "Allow: %s\r\n", resp->allow);
	if (resp->retry_after > 0)
		put(out, "Retry-After: %u\r\n", resp->retry_after);
	if (req->request_id[0] != '\0')
		put(out, "x-ms-request-id: %s\r\n", req->request_id);
	if (req->client_request_id != NULL &&
	    header_safe(req->client_request_id))
		put(out, "x-ms-client-request-id: %s\r\n",
		    req->client_request_id);
	if (resp->body != NULL) {
		put(out, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		    resp->content_type != NULL ? resp->content_type :
		    "application/json; charset=utf-8", resp->bodysz);
		if (req->method != CV_METHOD_HEAD)
			FCGX_PutStr(resp->body, (int)resp->bodysz, out);
	} else
		put(out, "Content-Length: 0\r\n\r\n");
}

void
cv_resp_free(struct cv_resp *resp)
{

	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->location);
	free(resp->challenge);
	free(resp->allow);
	free(resp->errmsg);
	memset(resp, 0, sizeof(*resp));
}
