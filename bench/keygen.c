/*
 * bench/keygen.c — the key floor: generate key pairs with GnuTLS for a
 * number of seconds and print how many were made.  bench/run.sh runs
 * `nproc` copies in parallel and sums their rates.
 *
 *   keygen rsa2048|ecp256 SECONDS
 *   → "KEYS SECONDS_ELAPSED" on stdout
 *
 * gnutls_privkey_generate2 is what certvault's key generation comes down
 * to (it calls gnutls_x509_privkey_generate2 and exports PKCS#8, which is
 * cheap next to the generation).  SPDX-License-Identifier: ISC
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	gnutls_pk_algorithm_t	 algo;
	gnutls_privkey_t	 key;
	unsigned		 bits;
	unsigned long		 n = 0;
	double			 start, end, secs;
	int			 rc;

	if (argc != 3 || (secs = atof(argv[2])) <= 0 || secs > 600) {
		fprintf(stderr, "usage: keygen rsa2048|ecp256 SECONDS\n");
		return 2;
	}
	if (strcmp(argv[1], "rsa2048") == 0) {
		algo = GNUTLS_PK_RSA;
		bits = 2048;
	} else if (strcmp(argv[1], "ecp256") == 0) {
		algo = GNUTLS_PK_ECDSA;
		bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
	} else {
		fprintf(stderr, "keygen: unknown key type %s\n", argv[1]);
		return 2;
	}
	if ((rc = gnutls_global_init()) < 0) {
		fprintf(stderr, "keygen: %s\n", gnutls_strerror(rc));
		return 1;
	}
	start = now();
	end = start + secs;
	do {
		if ((rc = gnutls_privkey_init(&key)) < 0 ||
		    (rc = gnutls_privkey_generate2(key, algo, bits, 0,
		    NULL, 0)) < 0) {
			fprintf(stderr, "keygen: %s\n", gnutls_strerror(rc));
			return 1;
		}
		gnutls_privkey_deinit(key);
		n++;
	} while (now() < end);
	printf("%lu %.3f\n", n, now() - start);
	gnutls_global_deinit();
	return 0;
}
