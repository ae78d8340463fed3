/*
 * certvault — subjects and PKCS#10 certificate requests.
 * SPDX-License-Identifier: ISC
 *
 * GnuTLS parses the subject (gnutls_x509_crq_set_dn).  Its RFC 4514
 * reader in 3.7 (lib/x509/x509_dn.c) lacks three things Key Vault
 * clients send, so dn_translate() rewrites the text first, lexically:
 *   - hex escapes ("\2C"): turned into the character, itself escaped
 *     ("\,") when RFC 4514 requires it;
 *   - the attribute types "E" and "emailAddress": renamed "EMAIL";
 *   - control characters: refused (GnuTLS stops reading at a newline
 *     and would silently drop the rest).
 * XXX: multi-valued RDNs ("CN=a+O=b") are not supported: GnuTLS 3.7
 * refuses an unescaped '+' ("we do not support them"), and its public
 * API can only append single-valued RDNs.  We refuse them with a message
 * that says so; an escaped "\+" inside a value works.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "certvault.h"
#include "crypto.h"
#include "crypto_int.h"
#include "log.h"

/* Microsoft's User Principal Name otherName (a UTF8String). */
#define OID_UPN		"1.3.6.1.4.1.311.20.2.3"

/* Characters RFC 4514 lets a backslash escape; GnuTLS unescapes these. */
static const char dn_specials[] = ",# +\"<>;\\=";

/* GnuTLS's bit of each cv_ku bit, in enum cv_ku order. */
static const unsigned ku_bits[] = {
	GNUTLS_KEY_DIGITAL_SIGNATURE,	/* CV_KU_DIGITAL_SIGNATURE */
	GNUTLS_KEY_NON_REPUDIATION,	/* CV_KU_NON_REPUDIATION */
	GNUTLS_KEY_KEY_ENCIPHERMENT,	/* CV_KU_KEY_ENCIPHERMENT */
	GNUTLS_KEY_DATA_ENCIPHERMENT,	/* CV_KU_DATA_ENCIPHERMENT */
	GNUTLS_KEY_KEY_AGREEMENT,	/* CV_KU_KEY_AGREEMENT */
	GNUTLS_KEY_KEY_CERT_SIGN,	/* CV_KU_KEY_CERT_SIGN */
	GNUTLS_KEY_CRL_SIGN,		/* CV_KU_CRL_SIGN */
	GNUTLS_KEY_ENCIPHER_ONLY,	/* CV_KU_ENCIPHER_ONLY */
	GNUTLS_KEY_DECIPHER_ONLY,	/* CV_KU_DECIPHER_ONLY */
};

/*
 * Set *errmsg (if errmsg is not NULL) to a client-facing message about
 * the subject dn: "Invalid subject "...": " and the formatted detail.
 */
static void
dn_err(char **errmsg, const char *dn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
dn_err(char **errmsg, const char *dn, const char *fmt, ...)
{
	char	 detail[256];
	va_list	 ap;

	if (errmsg == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	free(*errmsg);
	*errmsg = cv_asprintf("Invalid subject \"%.200s\"%s: %s", dn,
	    strlen(dn) > 200 ? "..." : "", detail);
}

/* Value of hex digit c, or -1. */
/*
 * Ask GnuTLS whether one translated RDN ("TYPE=value") is acceptable,
 * on a scratch DN.  Return 1 if it is, 0 if not.
 */
static int
dn_rdn_ok(const char *rdn)
{
	gnutls_x509_dn_t	 dn;
	int			 rc;

	if (gnutls_x509_dn_init(&dn) < 0)
		return 0;
	rc = gnutls_x509_dn_set_str(dn, rdn, NULL);
	gnutls_x509_dn_deinit(dn);
	return rc >= 0;
}

/*
 * Translate one RDN starting at *pp (see the top of this file) and
 * append it to the output at *op; then check it with GnuTLS, so that a
 * bad component is named in the message.  On return *pp is at the comma
 * that ends the RDN or at the NUL.  Returns CV_OK or CV_ERR_BAD_PARAMETER
 * with *errmsg set.
 */
static enum cv_err
dn_rdn(const char *dn, const char **pp, char **op, char **errmsg)
{
	const char	*p = *pp, *start, *tstart;
	char		*o = *op, *ostart = *op, *tmp;
	size_t		 tlen;
	int		 hi, lo, bs_last = 0;
	unsigned char	 c;

	while (*p == ' ')
		p++;
	start = tstart = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
		p++;
	tlen = (size_t)(p - tstart);
	while (*p == ' ')
		p++;
	if (tlen == 0 || *p != '=') {
		dn_err(errmsg, dn, "\"%.*s\" is not of the form type=value",
		    (int)strcspn(start, ","), start);
		return CV_ERR_BAD_PARAMETER;
	}
	if ((tlen == 1 && strncasecmp(tstart, "E", 1) == 0) ||
	    (tlen == 12 && strncasecmp(tstart, "emailAddress", 12) == 0))
		o = stpcpy(o, "EMAIL");
	else {
		memcpy(o, tstart, tlen);
		o += tlen;
	}
	*o++ = *p++;	/* '=' */

	for (; *p != '\0' && *p != ','; p++) {
		c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f) {
			dn_err(errmsg, dn, "control characters are not "
			    "allowed");
			return CV_ERR_BAD_PARAMETER;
		}
		if (c == '+') {
			dn_err(errmsg, dn, "multi-valued RDNs ('+') are not "
			    "supported; write a '+' in a value as '\\+'");
			return CV_ERR_BAD_PARAMETER;
		}
		if (c != '\\') {
			*o++ = (char)c;
			if (c != ' ')
				bs_last = 0;
			continue;
		}
		if ((hi = cv_hexval((unsigned char)p[1])) >= 0 && (lo = cv_hexval((unsigned char)p[2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
			if (c < 0x20 || c == 0x7f) {
				dn_err(errmsg, dn, "control characters are "
				    "not allowed");
				return CV_ERR_BAD_PARAMETER;
			}
		} else if (p[1] != '\0' && strchr(dn_specials, p[1]) != NULL)
			c = (unsigned char)*++p;
		else {
			dn_err(errmsg, dn, "invalid escape \"%.3s\"", p);
			return CV_ERR_BAD_PARAMETER;
		}
		if (strchr(dn_specials, c) != NULL)
			*o++ = '\\';
		*o++ = (char)c;
		bs_last = c == '\\';
	}
	/*
	 * GnuTLS takes "\\," for an escaped comma and keeps a space after
	 * "\\" it should trim; refuse rather than encode the wrong name.
	 */
	if (bs_last && (*p == ',' || o[-1] == ' ')) {
		dn_err(errmsg, dn, "a value ending in an escaped backslash "
		    "is not supported");
		return CV_ERR_BAD_PARAMETER;
	}
	*o = '\0';
	*pp = p;
	*op = o;
	if (dn_rdn_ok(ostart))
		return CV_OK;

	/* Say whether the type or the value is wrong. */
	tmp = cv_asprintf("%.*s=x", (int)(strchr(ostart, '=') - ostart),
	    ostart);
	if (!dn_rdn_ok(tmp))
		dn_err(errmsg, dn, "unknown attribute type \"%.*s\"",
		    (int)tlen, tstart);
	else
		dn_err(errmsg, dn, "invalid or empty value for \"%.*s\"",
		    (int)tlen, tstart);
	free(tmp);
	return CV_ERR_BAD_PARAMETER;
}

/*
 * True if s is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Hex escapes can make any byte,
 * and GnuTLS would put the bytes into a UTF8String unchecked.
 */
static bool
utf8_ok(const unsigned char *s)
{
	unsigned	 n, i;
	uint32_t	 cp;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, cp = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2, cp = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, cp = *s & 0x07;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		s += n + 1;
	}
	return true;
}

/*
 * Translate an RFC 4514 subject into the dialect GnuTLS reads (see the
 * top of this file), checking each RDN on the way.  On success *out is
 * a new string the caller frees.  Returns CV_OK or CV_ERR_BAD_PARAMETER
 * with *errmsg set (if errmsg is not NULL).
 */
static enum cv_err
dn_translate(const char *dn, char **out, char **errmsg)
{
	const char	*p = dn;
	char		*buf, *o;
	enum cv_err	 er;

	*out = NULL;
	if (dn == NULL || dn[strspn(dn, " ")] == '\0') {
		if (errmsg != NULL) {
			free(*errmsg);
			*errmsg = cv_strdup("The subject is empty.");
		}
		return CV_ERR_BAD_PARAMETER;
	}
	/* "E=" becomes "EMAIL=": at most 5 output bytes per input byte. */
	o = buf = cv_malloc(5 * strlen(dn) + 1);
	*o = '\0';
	for (;;) {
		if ((er = dn_rdn(dn, &p, &o, errmsg)) != CV_OK) {
			free(buf);
			return er;
		}
		if (*p == '\0')
			break;
		*o++ = *p++;	/* ',' */
		if (p[strspn(p, " ")] == '\0') {
			dn_err(errmsg, dn, "trailing comma");
			free(buf);
			return CV_ERR_BAD_PARAMETER;
		}
	}
	if (!utf8_ok((const unsigned char *)buf)) {
		dn_err(errmsg, dn, "not valid UTF-8");
		free(buf);
		return CV_ERR_BAD_PARAMETER;
	}
	*out = buf;
	return CV_OK;
}

/*
 * Translate dn and set it as the subject of crq.  Returns CV_OK or
 * CV_ERR_BAD_PARAMETER with *errmsg set (if errmsg is not NULL).
 */
static enum cv_err
dn_set(gnutls_x509_crq_t crq, const char *dn, char **errmsg)
{
	char		*tr;
	const char	*err = NULL;
	enum cv_err	 er;
	int		 rc;

	if ((er = dn_translate(dn, &tr, errmsg)) != CV_OK)
		return er;
	if ((rc = gnutls_x509_crq_set_dn(crq, tr, &err)) < 0) {
		log_warnx("subject not accepted at \"%s\": %s",
		    err != NULL ? err : "", gnutls_strerror(rc));
		dn_err(errmsg, dn, "could not be parsed");
		er = CV_ERR_BAD_PARAMETER;
	}
	free(tr);
	return er;
}

/*
 * Check that dn is a subject we can put in a certificate: RFC 4514 with
 * the types GnuTLS knows (CN, O, OU, L, ST, C, DC, UID, EMAIL/E/
 * emailAddress, ... and known dotted OIDs), backslash and hex escapes,
 * but no multi-valued RDNs (see the top of this file).  Returns CV_OK, or
 * CV_ERR_BAD_PARAMETER with *errmsg a new client-facing message naming
 * the problem (caller frees; left NULL on success; errmsg may be NULL).
 */
enum cv_err
crypto_dn_check(const char *dn, char **errmsg)
{
	gnutls_x509_crq_t	 crq = NULL;
	enum cv_err		 er;
	int			 rc;

	if (errmsg != NULL)
		*errmsg = NULL;
	if ((rc = gnutls_x509_crq_init(&crq)) < 0) {
		log_error("could not check subject: %s", gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	er = dn_set(crq, dn, errmsg);
	gnutls_x509_crq_deinit(crq);
	return er;
}

/*
 * Add one subjectAltName of the given type to crq (IP addresses as text,
 * UPNs as UTF-8).  Returns CV_OK or CV_ERR_BAD_PARAMETER with *errmsg
 * naming the value.
 */
static enum cv_err
csr_san(gnutls_x509_crq_t crq, gnutls_x509_subject_alt_name_t type,
    const char *what, const char *val, char **errmsg)
{
	unsigned char	 ip[16];
	const void	*data = val;
	size_t		 len = strlen(val);
	int		 rc;

	if (len == 0) {
		*errmsg = cv_asprintf("Empty %s in the subject alternative "
		    "names.", what);
		return CV_ERR_BAD_PARAMETER;
	}
	if (type == GNUTLS_SAN_IPADDRESS) {
		if (inet_pton(AF_INET, val, ip) == 1)
			len = 4;
		else if (inet_pton(AF_INET6, val, ip) == 1)
			len = 16;
		else {
			*errmsg = cv_asprintf("Invalid IP address \"%.100s\" "
			    "in the subject alternative names.", val);
			return CV_ERR_BAD_PARAMETER;
		}
		data = ip;
	}
	if (type == GNUTLS_SAN_OTHERNAME)
		rc = gnutls_x509_crq_set_subject_alt_othername(crq, OID_UPN,
		    data, (unsigned)len,
		    GNUTLS_FSAN_APPEND | GNUTLS_FSAN_ENCODE_UTF8_STRING);
	else
		rc = gnutls_x509_crq_set_subject_alt_name(crq, type, data,
		    (unsigned)len, GNUTLS_FSAN_APPEND);
	if (rc < 0) {
		log_warnx("%s not accepted: %s", what, gnutls_strerror(rc));
		*errmsg = cv_asprintf("Invalid %s \"%.100s\" in the subject "
		    "alternative names.", what, val);
		return CV_ERR_BAD_PARAMETER;
	}
	return CV_OK;
}

/* Add every subjectAltName of req to crq; as csr_san(). */
static enum cv_err
csr_sans(gnutls_x509_crq_t crq, const struct cv_x509_req *req,
    char **errmsg)
{
	const struct {
		const struct cv_strlist		*list;
		gnutls_x509_subject_alt_name_t	 type;
		const char			*what;
	} kinds[] = {
		{ &req->dns_names, GNUTLS_SAN_DNSNAME, "DNS name" },
		{ &req->emails, GNUTLS_SAN_RFC822NAME, "email" },
		{ &req->upns, GNUTLS_SAN_OTHERNAME, "UPN" },
		{ &req->uris, GNUTLS_SAN_URI, "URI" },
		{ &req->ips, GNUTLS_SAN_IPADDRESS, "IP address" },
	};
	size_t		 i, j;
	enum cv_err	 er;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		for (j = 0; j < kinds[i].list->n; j++)
			if ((er = csr_san(crq, kinds[i].type, kinds[i].what,
			    kinds[i].list->v[j], errmsg)) != CV_OK)
				return er;
	return CV_OK;
}

/*
 * True if s is a dotted OID: at least two arcs of digits, the first
 * 0, 1 or 2, no empty arcs.
 */
static bool
oid_ok(const char *s)
{
	size_t	 arcs = 0, digits = 0;

	if (s[0] < '0' || s[0] > '2' || s[1] != '.')
		return false;
	for (; ; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' || *s == '\0') {
			if (digits == 0)
				return false;
			arcs++;
			digits = 0;
			if (*s == '\0')
				break;
		} else
			return false;
	}
	return arcs >= 2;
}

/*
 * Add key usage (critical, when any bit is set), extended key usages and
 * basic constraints of req to crq.  Returns CV_OK, CV_ERR_BAD_PARAMETER
 * with *errmsg set, or CV_ERR_INTERNAL (logged).
 */
static enum cv_err
csr_usage(gnutls_x509_crq_t crq, const struct cv_x509_req *req,
    char **errmsg)
{
	unsigned	 usage = 0;
	size_t		 i;
	int		 rc;

	if (req->key_usage >> (sizeof(ku_bits) / sizeof(ku_bits[0])) != 0) {
		*errmsg = cv_strdup("Unknown key usage.");
		return CV_ERR_BAD_PARAMETER;
	}
	for (i = 0; i < sizeof(ku_bits) / sizeof(ku_bits[0]); i++)
		if (req->key_usage & (1u << i))
			usage |= ku_bits[i];
	/* gnutls_x509_crq_set_key_usage marks the extension critical. */
	if (usage != 0 &&
	    (rc = gnutls_x509_crq_set_key_usage(crq, usage)) < 0)
		goto fail;
	for (i = 0; i < req->ekus.n; i++) {
		if (!oid_ok(req->ekus.v[i])) {
			*errmsg = cv_asprintf("Invalid extended key usage "
			    "\"%.100s\": not a dotted OID.", req->ekus.v[i]);
			return CV_ERR_BAD_PARAMETER;
		}
		if ((rc = gnutls_x509_crq_set_key_purpose_oid(crq,
		    req->ekus.v[i], 0)) < 0)
			goto fail;
	}
	if ((rc = gnutls_x509_crq_set_basic_constraints(crq,
	    req->ca ? 1 : 0, -1)) < 0)
		goto fail;
	return CV_OK;
fail:
	log_error("could not set certificate request extension: %s",
	    gnutls_strerror(rc));
	return CV_ERR_INTERNAL;
}

/*
 * Make a PKCS#10 request for the key priv (unencrypted PKCS#8 DER) saying
 * what req says: subject, subjectAltNames, key usage, extended key usage
 * and basic constraints in the extension request; signed with SHA-256
 * (SHA-384 for P-384, SHA-512 for P-521).  On success csr holds the DER
 * (caller frees with cv_bytes_free).  Returns CV_OK,
 * CV_ERR_BAD_PARAMETER with *errmsg a new client-facing message (caller
 * frees; errmsg may be NULL), or CV_ERR_INTERNAL (logged).  csr is empty
 * and *errmsg NULL unless set as said.
 */
enum cv_err
crypto_csr_make(const struct cv_bytes *priv, const struct cv_x509_req *req,
    struct cv_bytes *csr, char **errmsg)
{
	gnutls_privkey_t	 pkey = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_x509_crq_t	 crq = NULL;
	gnutls_datum_t		 d = { NULL, 0 };
	char			*msg = NULL;
	enum cv_err		 er;
	int			 rc = 0;

	memset(csr, 0, sizeof(*csr));
	if (errmsg != NULL)
		*errmsg = NULL;
	if ((er = crypto_privkey_import(priv, &pkey)) != CV_OK)
		return er;
	er = CV_ERR_INTERNAL;
	/* Version first, signature last (certtool generate_request). */
	if ((rc = gnutls_x509_crq_init(&crq)) < 0 ||
	    (rc = gnutls_x509_crq_set_version(crq, 1)) < 0)
		goto out;
	if ((er = dn_set(crq, req->subject, &msg)) != CV_OK)
		goto out;
	er = CV_ERR_INTERNAL;
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, pkey, 0, 0)) < 0 ||
	    (rc = gnutls_x509_crq_set_pubkey(crq, pub)) < 0)
		goto out;
	if ((er = csr_sans(crq, req, &msg)) != CV_OK ||
	    (er = csr_usage(crq, req, &msg)) != CV_OK)
		goto out;
	er = CV_ERR_INTERNAL;
	if ((rc = gnutls_x509_crq_privkey_sign(crq, pkey,
	    crypto_sign_digest(pkey), 0)) < 0 ||
	    (rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &d)) < 0)
		goto out;
	crypto_datum_move(&d, csr);
	er = CV_OK;
out:
	if (rc < 0)
		log_error("certificate request not created: %s",
		    gnutls_strerror(rc));
	if (er == CV_ERR_BAD_PARAMETER && errmsg != NULL)
		*errmsg = msg;
	else
		free(msg);
	if (crq != NULL)
		gnutls_x509_crq_deinit(crq);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(pkey);
	return er;
}

/* Append name to l, lower-cased, unless it is there already. */
static void
names_add(struct cv_strlist *l, const char *name, size_t len)
{
	char	*s;
	size_t	 i;

	s = cv_strndup(name, len);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0) {
			free(s);
			return;
		}
	l->v = cv_realloc(l->v, (l->n + 2) * sizeof(char *));
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

/*
 * What an ACME order for the request csr (DER) must name: its subject's
 * common name, if it looks like a DNS name, and its DNS subject
 * alternative names, lower-cased, each once (names; caller frees with
 * cv_strlist_free); and its public key (SubjectPublicKeyInfo DER, into
 * spki; caller frees).  CV_ERR_BAD_PARAMETER if csr does not parse.
 */
enum cv_err
crypto_csr_names(const struct cv_bytes *csr, struct cv_strlist *names,
    struct cv_bytes *spki)
{
	gnutls_x509_crq_t	 crq = NULL;
	gnutls_pubkey_t		 pub = NULL;
	gnutls_datum_t		 d, out = { NULL, 0 };
	char			 buf[256];
	size_t			 len;
	unsigned		 i, critical, type;
	enum cv_err		 er = CV_ERR_BAD_PARAMETER;
	int			 rc;

	memset(names, 0, sizeof(*names));
	memset(spki, 0, sizeof(*spki));
	if (csr->data == NULL || csr->len == 0 || csr->len > UINT32_MAX)
		return er;
	d.data = csr->data;
	d.size = (unsigned)csr->len;
	if (gnutls_x509_crq_init(&crq) < 0)
		return CV_ERR_INTERNAL;
	if (gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	len = sizeof(buf);
	if (gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0,
	    0, buf, &len) >= 0 && len > 0 && strchr(buf, '.') != NULL &&
	    strpbrk(buf, " @/:=,") == NULL)
		names_add(names, buf, strlen(buf));
	for (i = 0;; i++) {
		len = sizeof(buf);
		rc = gnutls_x509_crq_get_subject_alt_name(crq, i, buf, &len,
		    &type, &critical);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			goto out;
		if (type == GNUTLS_SAN_DNSNAME)
			names_add(names, buf, len);
	}
	if (gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_x509_crq(pub, crq, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &out) < 0)
		goto out;
	crypto_datum_move(&out, spki);
	er = CV_OK;
out:
	if (er != CV_OK)
		cv_strlist_free(names);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	gnutls_x509_crq_deinit(crq);
	return er;
}
