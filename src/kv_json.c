/*
 * certvault — Key Vault JSON documents built from typed structs.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certvault.h"
#include "kv.h"
#include "log.h"

/* Serialise doc into the response body with status; doc is consumed. */
static enum cv_err
kv_json_set(struct cv_resp *resp, int status, json_t *doc)
{
	char	*text;

	if (doc == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return kv_err_set(resp, CV_ERR_INTERNAL, NULL);
	free(resp->body);
	resp->body = text;
	resp->bodysz = strlen(text);
	resp->status = status;
	return CV_OK;
}

/* Health document for load balancers; 503 when the database is away. */
enum cv_err
kv_json_health(struct cv_resp *resp, bool db_ok)
{

	return kv_json_set(resp, db_ok ? 200 : 503,
	    json_pack("{s:s, s:s}", "status", db_ok ? "ok" : "unavailable",
	    "database", db_ok ? "ok" : "unreachable"));
}

/*
 * CertificateListResult: {"value":[CertificateItem…],"nextLink":…}.
 * value is always an array; nextLink is an absolute URL or null.
 */
enum cv_err
kv_json_cert_list(struct cv_resp *resp, const char *base,
    const struct cv_cert_item *items, size_t n, const char *next)
{
	json_t		*doc, *arr, *it, *attrs, *tags;
	size_t		 i;

	arr = json_array();
	for (i = 0; i < n; i++) {
		attrs = json_pack("{s:b}", "enabled", items[i].enabled);
		if (items[i].nbf != 0)
			json_object_set_new(attrs, "nbf",
			    json_integer(items[i].nbf));
		if (items[i].exp != 0)
			json_object_set_new(attrs, "exp",
			    json_integer(items[i].exp));
		json_object_set_new(attrs, "created",
		    json_integer(items[i].created));
		json_object_set_new(attrs, "updated",
		    json_integer(items[i].updated));
		it = json_pack("{s:s++, s:o}", "id", base, "/certificates/",
		    items[i].name, "attributes", attrs);
		if (items[i].x5t != NULL)
			json_object_set_new(it, "x5t",
			    json_string(items[i].x5t));
		if (items[i].tags_json != NULL &&
		    (tags = json_loads(items[i].tags_json, 0, NULL)) != NULL)
			json_object_set_new(it, "tags", tags);
		json_array_append_new(arr, it);
	}
	doc = json_pack("{s:o, s:o}", "value", arr, "nextLink",
	    next == NULL ? json_null() : json_string(next));
	return kv_json_set(resp, 200, doc);
}
