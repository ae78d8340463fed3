/*
 * bench/signcsr.c — sign the CSRs of pending operations, for the merge
 * workload: a throwaway CA (EC P-256, made at start) signs each request.
 *
 *   signcsr < "NAME<TAB>BASE64(CSR DER)" lines > "NAME<TAB>BASE64(CERT DER)" lines
 *
 * The leaf takes the CSR's subject, public key and requested extensions,
 * and is valid for a year.  Built and run by bench/run.sh; benchmarking
 * only.  SPDX-License-Identifier: ISC
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define CHECK(x) do { int rc_ = (x); if (rc_ < 0) { \
	fprintf(stderr, "signcsr: %s: %s\n", #x, gnutls_strerror(rc_)); \
	exit(1); } } while (0)

static void
serial(gnutls_x509_crt_t crt, unsigned long n)
{
	unsigned char	 s[9];
	int		 i;

	s[0] = 0x01;	/* positive, non-zero */
	for (i = 8; i > 0; i--, n >>= 8)
		s[i] = (unsigned char)(n & 0xff);
	CHECK(gnutls_x509_crt_set_serial(crt, s, sizeof(s)));
}

int
main(void)
{
	gnutls_x509_privkey_t	 cakey;
	gnutls_x509_crt_t	 ca, crt;
	gnutls_x509_crq_t	 crq;
	gnutls_datum_t		 in, der, out;
	char			*line = NULL, *tab;
	size_t			 cap = 0;
	ssize_t			 len;
	unsigned long		 n = 0, bad = 0;
	time_t			 t = time(NULL);

	CHECK(gnutls_global_init());
	CHECK(gnutls_x509_privkey_init(&cakey));
	CHECK(gnutls_x509_privkey_generate(cakey, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	CHECK(gnutls_x509_crt_init(&ca));
	CHECK(gnutls_x509_crt_set_version(ca, 3));
	serial(ca, 1);
	CHECK(gnutls_x509_crt_set_activation_time(ca, t - 3600));
	CHECK(gnutls_x509_crt_set_expiration_time(ca, t + 2 * 365 * 86400));
	CHECK(gnutls_x509_crt_set_dn(ca, "CN=certvault bench CA", NULL));
	CHECK(gnutls_x509_crt_set_key(ca, cakey));
	CHECK(gnutls_x509_crt_set_basic_constraints(ca, 1, -1));
	CHECK(gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN |
	    GNUTLS_KEY_CRL_SIGN));
	CHECK(gnutls_x509_crt_sign2(ca, ca, cakey, GNUTLS_DIG_SHA256, 0));

	while ((len = getline(&line, &cap, stdin)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab++ = '\0';
		in.data = (unsigned char *)tab;
		in.size = (unsigned)strlen(tab);
		if (gnutls_base64_decode2(&in, &der) < 0) {
			bad++;
			continue;
		}
		CHECK(gnutls_x509_crq_init(&crq));
		if (gnutls_x509_crq_import(crq, &der, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_free(der.data);
			gnutls_x509_crq_deinit(crq);
			bad++;
			continue;
		}
		gnutls_free(der.data);
		CHECK(gnutls_x509_crt_init(&crt));
		CHECK(gnutls_x509_crt_set_crq(crt, crq));
		(void)gnutls_x509_crt_set_crq_extensions(crt, crq);
		CHECK(gnutls_x509_crt_set_version(crt, 3));
		serial(crt, 1000 + ++n);
		CHECK(gnutls_x509_crt_set_activation_time(crt, t - 60));
		CHECK(gnutls_x509_crt_set_expiration_time(crt, t + 365 * 86400));
		CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
		CHECK(gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0));
		CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der));
		CHECK(gnutls_base64_encode2(&der, &out));
		printf("%s\t%.*s\n", line, (int)out.size, (char *)out.data);
		gnutls_free(out.data);
		gnutls_free(der.data);
		gnutls_x509_crt_deinit(crt);
		gnutls_x509_crq_deinit(crq);
	}
	free(line);
	if (bad > 0)
		fprintf(stderr, "signcsr: %lu line(s) skipped\n", bad);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(cakey);
	gnutls_global_deinit();
	return n > 0 ? 0 : 1;
}
