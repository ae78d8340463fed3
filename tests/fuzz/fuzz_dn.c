/*
 * certvault — fuzz target: the subject distinguished name parser
 * (crypto_dn_check: RFC 4514 with escapes, translated for GnuTLS and
 * checked RDN by RDN), which every policy's x509_props.subject goes
 * through.  SPDX-License-Identifier: ISC
 *
 * Input: the subject text.
 */
#include "config.h"

#include "certvault.h"
#include "crypto.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{

	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*dn, *msg = (char *)1;
	enum cv_err	 er;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	dn = fuzz_str(data, size);
	er = crypto_dn_check(dn, &msg);
	/* A refusal says why; an acceptance says nothing. */
	FUZZ_ASSERT(er == CV_OK ? msg == NULL :
	    er != CV_ERR_BAD_PARAMETER || msg != NULL);
	free(msg);
	free(dn);
	return 0;
}
