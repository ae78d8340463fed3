/*
 * certvault — certificate resources: list.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "store.h"

/* Key Vault caps a page at 25 items, which is also the default. */
#define CERT_PAGE_MAX 25

/*
 * Parse maxresults (1..25, default 25).  Return 0 on failure, 1 on success.
 */
static int
page_size(const struct cv_req *req, int *out)
{
	const char	*v;
	char		*end;
	long		 n;

	*out = CERT_PAGE_MAX;
	if ((v = cv_req_param(req, "maxresults")) == NULL || *v == '\0')
		return 1;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < 1 || n > CERT_PAGE_MAX)
		return 0;
	*out = (int)n;
	return 1;
}

/*
 * GET /certificates: one page of live certificates.  The page token
 * ($skiptoken) is the last name of the page before; names are URL-safe.
 */
enum cv_err
h_cert_list(struct cv_req *req, struct cv_resp *resp, struct store *st)
{
	struct cv_cert_item	*items;
	size_t			 n, total;
	int			 limit;
	const char		*after;
	char			*base, *next = NULL;
	enum cv_err		 er;

	if (!page_size(req, &limit))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER, "maxresults must "
		    "be an integer between 1 and %d.", CERT_PAGE_MAX);
	after = cv_req_param(req, "$skiptoken");
	if (after != NULL && !cv_name_valid(after))
		return kv_err_set(resp, CV_ERR_BAD_PARAMETER,
		    "The $skiptoken is not valid.");
	/* One more than the page tells whether there is a next page. */
	if ((er = store_cert_list(st, req->vault.id, after, limit + 1, &items,
	    &n)) != CV_OK)
		return er;
	total = n;
	base = http_base_url(req);
	if (n > (size_t)limit) {
		n = (size_t)limit;
		next = cv_asprintf("%s/certificates?api-version=%s&"
		    "$skiptoken=%s&maxresults=%d", base, req->api_version,
		    items[n - 1].name, limit);
	}
	er = kv_json_cert_list(resp, base, items, n, next);
	free(next);
	free(base);
	cv_cert_items_free(items, total);
	return er;
}
