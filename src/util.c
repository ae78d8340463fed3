/*
 * certvault — memory helpers that never return NULL, and name checks.
 * SPDX-License-Identifier: ISC
 *
 * A worker that cannot allocate a few bytes cannot answer anyway; dying
 * lets the master replace it with a clean process (lighttpd's ck_*).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certvault.h"
#include "log.h"

void *
cv_malloc(size_t sz)
{
	void	*p;

	if ((p = malloc(sz == 0 ? 1 : sz)) == NULL)
		fatal("out of memory");
	return p;
}

void *
cv_calloc(size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz)) == NULL)
		fatal("out of memory");
	return p;
}

void *
cv_realloc(void *op, size_t sz)
{
	void	*p;

	if ((p = realloc(op, sz == 0 ? 1 : sz)) == NULL)
		fatal("out of memory");
	return p;
}

char *
cv_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("out of memory");
	return p;
}

char *
cv_strndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("out of memory");
	return p;
}

char *
cv_asprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = cv_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

char *
cv_vasprintf(const char *fmt, va_list ap)
{
	char	*p;

	if (vasprintf(&p, fmt, ap) < 0)
		fatal("out of memory");
	return p;
}

/* The value of a hexadecimal digit, or -1. */
int
cv_hexval(int c)
{

	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Key Vault object names: ^[0-9a-zA-Z-]{1,127}$.  Return true if valid.
 */
bool
cv_name_valid(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == CV_NAME_MAX)
			return false;
		if (!((s[n] >= '0' && s[n] <= '9') ||
		    (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') || s[n] == '-'))
			return false;
	}
	return n > 0;
}

void
cv_cert_items_free(struct cv_cert_item *items, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(items[i].name);
		free(items[i].version);
		free(items[i].x5t);
		free(items[i].tags_json);
	}
	free(items);
}

/*
 * Split a comma-separated setting ("a.key, b.key") into out: blanks around
 * each item dropped, empty items skipped; NULL gives an empty list.  Paths
 * may hold blanks inside, so only commas separate.
 */
void
cv_strlist_split(const char *s, struct cv_strlist *out)
{
	const char	*p, *e, *end;

	memset(out, 0, sizeof(*out));
	for (p = s; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		for (end = e; end > p && (end[-1] == ' ' || end[-1] == '\t');)
			end--;
		if (end == p)
			continue;
		out->v = cv_realloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = cv_strndup(p, (size_t)(end - p));
	}
}

void
cv_strlist_free(struct cv_strlist *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
cv_operation_free(struct cv_operation *op)
{

	if (op == NULL)
		return;
	free(op->name);
	free(op->issuer_name);
	free(op->issuer_provider);
	free(op->cty);
	free(op->csr.data);
	free(op->status);
	free(op->status_details);
	free(op->error_code);
	free(op->error_message);
	memset(op, 0, sizeof(*op));
}

void
cv_version_free(struct cv_version *v)
{

	if (v == NULL)
		return;
	free(v->name);
	free(v->der.data);
	free(v->tags_json);
	free(v->policy_json);
	free(v->content_type);
	memset(v, 0, sizeof(*v));
}

void
cv_issuer_free(struct cv_issuer *is)
{

	if (is == NULL)
		return;
	free(is->name);
	free(is->provider);
	free(is->account_id);
	free(is->organization_id);
	free(is->admin_details_json);
	memset(is, 0, sizeof(*is));
}

/*
 * Milliseconds of CLOCK_MONOTONIC: deadlines and back-offs that do not
 * move when the wall clock is set.
 */
int64_t
cv_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
