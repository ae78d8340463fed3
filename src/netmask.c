/*
 * certvault — address lists: "ADDR[/BITS]" entries separated by blanks or
 * commas, IPv4 and IPv6.  SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "certvault.h"
#include "netmask.h"

/* Clear the bits of a beyond the prefix (a has len bytes). */
static void
netmask_clear(unsigned char *a, size_t len, unsigned bits)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a[i] &= (unsigned char)(0xff << (8 - bits));
		bits = 0;
	}
}

/* Parse one address; an IPv4-mapped IPv6 address counts as IPv4. */
static bool
netmask_addr(const char *s, int *family, unsigned char *a)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a) != 1)
		return false;
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		*family = AF_INET;
	} else
		*family = AF_INET6;
	return true;
}

/*
 * Parse list into a new array (*out, *outsz; the caller frees *out).  An
 * empty list is valid and matches nothing.  On failure return false and a
 * message in *err (the caller frees it).
 */
bool
netmask_parse_list(const char *list, struct netmask **out, size_t *outsz,
    char **err)
{
	struct netmask	*v = NULL, m;
	char		*copy, *tok, *save = NULL, *slash, *end;
	size_t		 n = 0, max;
	unsigned long	 bits;

	*out = NULL;
	*outsz = 0;
	*err = NULL;
	copy = cv_strdup(list == NULL ? "" : list);
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		memset(&m, 0, sizeof(m));
		if ((slash = strchr(tok, '/')) != NULL)
			*slash = '\0';
		if (!netmask_addr(tok, &m.family, m.addr)) {
			*err = cv_asprintf("\"%s\" is not an IP address", tok);
			break;
		}
		max = m.family == AF_INET ? 32 : 128;
		bits = max;
		if (slash != NULL) {
			bits = strtoul(slash + 1, &end, 10);
			if (slash[1] == '\0' || *end != '\0' || bits > max) {
				*err = cv_asprintf("\"%s\" has no valid prefix "
				    "length (0-%zu)", tok, max);
				break;
			}
		}
		m.bits = (unsigned)bits;
		netmask_clear(m.addr, max / 8, m.bits);
		v = cv_realloc(v, (n + 1) * sizeof(*v));
		v[n++] = m;
	}
	free(copy);
	if (*err != NULL) {
		free(v);
		return false;
	}
	*out = v;
	*outsz = n;
	return true;
}

/* Is addr (text, as REMOTE_ADDR) inside one of the n networks? */
bool
netmask_match(const struct netmask *nets, size_t n, const char *addr)
{
	unsigned char	 a[16], c[16];
	int		 family;
	size_t		 i;

	if (addr == NULL || !netmask_addr(addr, &family, a))
		return false;
	for (i = 0; i < n; i++) {
		if (nets[i].family != family)
			continue;
		memcpy(c, a, sizeof(c));
		netmask_clear(c, family == AF_INET ? 4 : 16, nets[i].bits);
		if (memcmp(c, nets[i].addr, 16) == 0)
			return true;
	}
	return false;
}
