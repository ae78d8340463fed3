/*
 * certvault — fuzz target: the CGI environment of a FastCGI request into
 * a cv_req (http_req_parse), the body read from the FastCGI stream
 * (http_req_read_body, through an in-memory FCGX_Stream), then path
 * routing (route_find), the bearer token, the 401 challenge and the
 * api-version check, as pf_worker.c and route_dispatch run them before
 * any handler.  SPDX-License-Identifier: ISC
 *
 * Input: NAME=value lines separated by '\n', as libfcgi hands the
 * parameters over (REQUEST_METHOD, REQUEST_URI, QUERY_STRING, HTTP_HOST,
 * HTTP_AUTHORIZATION, CONTENT_LENGTH, ...); after the first empty line,
 * the request body (read against a limit of BODY_LIMIT bytes).
 */
#include "config.h"

#include <fcgiapp.h>

#include "certvault.h"
#include "http.h"
#include "route.h"
#include "fuzz.h"

#define MAX_ENV		64
#define BODY_LIMIT	2048	/* small, so that 413 is reached too */
#define BODY_CHUNK	1000	/* what one FastCGI record brings */

/* The body not yet handed to the stream. */
struct membody {
	const uint8_t	*p;
	size_t		 left;
};

/* libfcgi's refill hook: the next chunk, or end of stream. */
static void
mem_fill(FCGX_Stream *st)
{
	struct membody	*b = st->data;
	size_t		 n;

	if (b->left == 0) {
		st->isClosed = 1;
		return;
	}
	n = b->left < BODY_CHUNK ? b->left : BODY_CHUNK;
	st->rdNext = st->stopUnget = (unsigned char *)(uintptr_t)b->p;
	st->stop = st->rdNext + n;
	b->p += n;
	b->left -= n;
}

/* Read body into req as pf_worker.c does from the real stream. */
static void
read_body(struct cv_req *req, const uint8_t *body, size_t len)
{
	struct membody	 b = { body, len };
	FCGX_Stream	 st;
	enum cv_err	 er;

	memset(&st, 0, sizeof(st));
	st.isReader = 1;
	st.fillBuffProc = mem_fill;
	st.data = &b;
	st.rdNext = st.stop = st.stopUnget = NULL;
	er = http_req_read_body(req, &st, BODY_LIMIT);
	FUZZ_ASSERT(er == CV_OK || er == CV_ERR_BAD_PARAMETER);
	FUZZ_ASSERT(req->body == NULL || (req->bodysz > 0 &&
	    req->bodysz <= BODY_LIMIT && req->body[req->bodysz] == '\0'));
	FUZZ_ASSERT(!req->body_too_large || req->body == NULL);
	FUZZ_ASSERT(req->body != NULL || req->bodysz == 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*env[MAX_ENV + 1], *allow, *s;
	const struct route	*r;
	const char		*v;
	struct cv_req		 req;
	const uint8_t		*body = NULL;
	size_t			 n, i, envsz = size;
	bool			 known;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	for (i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && data[i + 1] == '\n') {
			envsz = i;
			body = data + i + 2;
			break;
		}
	n = fuzz_split(data, envsz, '\n', env, MAX_ENV);
	env[n] = NULL;
	(void)http_req_parse(&req, env);
	if (body != NULL)
		read_body(&req, body, size - (size_t)(body - data));

	/* The parser's promises to route_find and the handlers. */
	FUZZ_ASSERT(req.method_name != NULL && req.host != NULL &&
	    req.scheme != NULL && req.path != NULL && req.path[0] == '/');
	for (i = 0; i < req.paramsz; i++)
		FUZZ_ASSERT(req.params[i].name != NULL &&
		    req.params[i].value != NULL);

	r = route_find(&req, &known, &allow);
	FUZZ_ASSERT(r == NULL || req.argsz <= CV_ROUTE_ARGS);
	FUZZ_ASSERT(r == NULL || allow == NULL);
	for (i = 0; r != NULL && i < req.argsz; i++)
		FUZZ_ASSERT(req.args[i] != NULL &&
		    strchr(req.args[i], '/') == NULL);
	free(allow);

	if ((s = http_auth_bearer(req.authorization)) != NULL) {
		FUZZ_ASSERT(*s != '\0');
		free(s);
	}
	free(http_auth_challenge(&req));
	free(http_base_url(&req));
	if ((v = cv_req_param(&req, "api-version")) != NULL)
		(void)route_api_version_known(v);

	cv_req_free(&req);
	fuzz_pieces_free(env, n);
	return 0;
}
