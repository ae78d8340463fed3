/*
 * certvault — the bearer scheme: reading the token, the Key Vault
 * challenge, and Key Vault's certificate permission names.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "http.h"

/* Indexed by bit position of enum cv_perm. */
static const char *const perm_names[CV_PERM__COUNT] = {
	"get", "list", "create", "import", "update", "delete", "recover",
	"purge", "backup", "restore", "managecontacts", "getissuers",
	"listissuers", "setissuers", "deleteissuers", "manageissuers",
};

/* Return the permission bit called name, or CV_PERM_NONE. */
unsigned
http_auth_perm(const char *name)
{
	size_t	 i;

	for (i = 0; i < CV_PERM__COUNT; i++)
		if (strcasecmp(name, perm_names[i]) == 0)
			return 1u << i;
	return CV_PERM_NONE;
}

/* Return the name of a single permission bit, or NULL. */
const char *
http_auth_perm_name(unsigned bit)
{
	size_t	 i;

	for (i = 0; i < CV_PERM__COUNT; i++)
		if (bit == 1u << i)
			return perm_names[i];
	return NULL;
}

/*
 * Parse a list of permission names separated by commas, or a PostgreSQL
 * text[] literal such as "{get,list}".  Return 0 on failure (an unknown
 * name), 1 on success.
 */
int
http_auth_perms_parse(const char *s, unsigned *out)
{
	char	*copy, *p, *tok, *save = NULL;
	unsigned bit, perms = 0;
	int	 ok = 1;

	copy = cv_strdup(s);
	p = copy;
	if (*p == '{') {
		p++;
		p[strcspn(p, "}")] = '\0';
	}
	for (tok = strtok_r(p, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (strcmp(tok, "all") == 0) {
			perms |= CV_PERM_ALL;
			continue;
		}
		if ((bit = http_auth_perm(tok)) == CV_PERM_NONE) {
			ok = 0;
			break;
		}
		perms |= bit;
	}
	free(copy);
	if (ok)
		*out = perms;
	return ok;
}

/*
 * Return the token of an "Authorization: Bearer <token>" header as a new
 * string, or NULL when there is none.  The scheme name is case-insensitive
 * (RFC 9110, 11.1).
 */
char *
http_auth_bearer(const char *hdr)
{
	const char	*p;
	size_t		 len;

	if (hdr == NULL || strncasecmp(hdr, "Bearer", 6) != 0 ||
	    (hdr[6] != ' ' && hdr[6] != '\t'))
		return NULL;
	for (p = hdr + 6; *p == ' ' || *p == '\t'; p++)
		continue;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return len == 0 ? NULL : cv_strndup(p, len);
}

/* "scheme://host[:port]": the base of every id we return. */
char *
http_base_url(const struct cv_req *req)
{

	return cv_asprintf("%s://%s", req->scheme, req->host);
}

/* True if h (without port) is an IPv4 or bracketed IPv6 literal. */
static bool
host_is_ip(const char *h, size_t len)
{
	size_t	 i;

	if (len > 0 && h[0] == '[')
		return true;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return false;
	return true;
}

/*
 * The challenge of a 401.  The SDKs take the token scope from resource
 * and accept it only if the vault's host ends with "." + the resource's
 * host, so resource names the parent domain: demo.vault.localhost ->
 * https://vault.localhost.  authorization must be an absolute URL; its
 * path is the SDK's tenant id, here the vault's name.
 */
char *
http_auth_challenge(const struct cv_req *req)
{
	const char	*host = req->host, *colon, *dot, *parent;
	size_t		 hostlen;
	char		*out;

	if (host[0] == '[' && (colon = strchr(host, ']')) != NULL)
		hostlen = (size_t)(colon - host) + 1;
	else if ((colon = strchr(host, ':')) != NULL)
		hostlen = (size_t)(colon - host);
	else
		hostlen = strlen(host);
	parent = host;
	dot = memchr(host, '.', hostlen);
	if (!host_is_ip(host, hostlen) && dot != NULL)
		parent = dot + 1;
	out = cv_asprintf("Bearer authorization=\"%s://%s/%s\", "
	    "resource=\"%s://%.*s\"", req->scheme, req->host,
	    req->vault.name == NULL ? "certvault" : req->vault.name,
	    req->scheme, (int)(hostlen - (size_t)(parent - host)), parent);
	return out;
}
