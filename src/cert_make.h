/*
 * certvault — making a certificate version from a policy.
 * SPDX-License-Identifier: ISC
 *
 * The one way a version is made, whether a client asked for it (create,
 * h_cert.c) or a lifetime action did (AutoRenew, lifetime.c): the key
 * (new, or the one kept by key_props.reuse_key), its sealing, the CSR and,
 * for issuer Self, the certificate; then the rows that store them.
 */
#ifndef CERT_MAKE_H
#define CERT_MAKE_H

#include <time.h>

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "store.h"

/* What an operation says while it is in progress (seed wording). */
#define CERT_DETAILS_ISSUER "Pending certificate created. Certificate " \
	"request is in progress. This may take some time based on the " \
	"issuer provider. Please check again later."
#define CERT_DETAILS_MERGE "Pending certificate created. Please Perform " \
	"Merge to complete the request."

/* Everything made before any lock is taken; cert_made_free() wipes it. */
struct cert_made {
	char			 key_uid[37];	/* the sealing's AAD */
	char			 version[33];
	struct cv_bytes		 pub, sealed, csr, cert;
	unsigned char		 nonce[CV_SEAL_NONCE_LEN];
	struct cv_x509_info	 info;		/* of cert, if has_info */
	bool			 has_info;
};

void	 cert_made_free(struct cert_made *);
enum cv_err cert_make(struct store *, const struct cv_master *,
	    const struct cv_policy *, const struct cv_bytes *, time_t,
	    struct cert_made *, char **);
enum cv_err cert_make_version(const struct cert_made *,
	    const struct cv_policy *, const struct cv_master *, const char *,
	    bool, struct cv_operation *, struct store_new_version *);

#endif /* CERT_MAKE_H */
