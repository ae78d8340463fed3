/*
 * certvault — unit tests of the master keyring in crypto_seal.c: the
 * current key plus previous keys (master_key_previous_files), looked up
 * by the id a sealed row names, for rotations while the services run.
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "certvault.h"
#include "crypto.h"
#include "cu.h"

static char scratch[] = "/tmp/test_crypto_keyring.XXXXXX";
static char *path_a, *path_b, *path_c, *path_d;

static char *
scratch_path(const char *name)
{

	return cv_asprintf("%s/%s", scratch, name);
}

/*
 * Four keys: a (current), b and c (previous), d (nobody has it).
 * Return 0 on failure, 1 on success.
 */
static int
make_keys(void)
{

	path_a = scratch_path("a.key");
	path_b = scratch_path("b.key");
	path_c = scratch_path("c.key");
	path_d = scratch_path("d.key");
	return crypto_master_create(path_a) == CV_OK &&
	    crypto_master_create(path_b) == CV_OK &&
	    crypto_master_create(path_c) == CV_OK &&
	    crypto_master_create(path_d) == CV_OK;
}

/* crypto_master_for picks the key of the ring by its id. */
static void
test_for(void)
{
	struct cv_master	 ring, b, c, d;
	char			*list;

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_a, &ring), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_b, &b), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_c, &c), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_d, &d), CV_OK);

	/* No previous keys: only the current one. */
	CU_ASSERT_EQUAL(ring.nprev, 0);
	CU_ASSERT_PTR_EQUAL(crypto_master_for(&ring, ring.id), &ring);
	CU_ASSERT_PTR_NULL(crypto_master_for(&ring, b.id));

	/* Blanks around names, an empty item, the current key repeated. */
	list = cv_asprintf(" %s ,, %s,%s,\t%s ", path_b, path_c, path_a,
	    path_b);
	CU_ASSERT_EQUAL(crypto_master_load_previous(&ring, list), CV_OK);
	free(list);
	CU_ASSERT_EQUAL_FATAL(ring.nprev, 2);
	CU_ASSERT_PTR_EQUAL(crypto_master_for(&ring, ring.id), &ring);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crypto_master_for(&ring, b.id));
	CU_ASSERT_STRING_EQUAL(crypto_master_for(&ring, b.id)->id, b.id);
	CU_ASSERT_EQUAL(memcmp(crypto_master_for(&ring, b.id)->key, b.key,
	    sizeof(b.key)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crypto_master_for(&ring, c.id));
	CU_ASSERT_EQUAL(memcmp(crypto_master_for(&ring, c.id)->key, c.key,
	    sizeof(c.key)), 0);

	/* Unknown ids, no id, no ring. */
	CU_ASSERT_PTR_NULL(crypto_master_for(&ring, d.id));
	CU_ASSERT_PTR_NULL(crypto_master_for(&ring, "retired-key"));
	CU_ASSERT_PTR_NULL(crypto_master_for(&ring, ""));
	CU_ASSERT_PTR_NULL(crypto_master_for(&ring, NULL));
	CU_ASSERT_PTR_NULL(crypto_master_for(NULL, ring.id));

	/* Adding more later; NULL and "" add nothing. */
	CU_ASSERT_EQUAL(crypto_master_load_previous(&ring, NULL), CV_OK);
	CU_ASSERT_EQUAL(crypto_master_load_previous(&ring, ""), CV_OK);
	CU_ASSERT_EQUAL(ring.nprev, 2);
	CU_ASSERT_EQUAL(crypto_master_load_previous(&ring, path_d), CV_OK);
	CU_ASSERT_EQUAL(ring.nprev, 3);
	CU_ASSERT_PTR_NOT_NULL(crypto_master_for(&ring, d.id));
	/* The earlier ones survived the growth. */
	CU_ASSERT_EQUAL(memcmp(crypto_master_for(&ring, b.id)->key, b.key,
	    sizeof(b.key)), 0);

	crypto_master_clear(&ring);
	CU_ASSERT_EQUAL(ring.nprev, 0);
	CU_ASSERT_PTR_NULL(ring.prev);
	crypto_master_clear(&b);
	crypto_master_clear(&c);
	crypto_master_clear(&d);
}

/* A previous key that cannot be loaded is reported; the others load. */
static void
test_load_errors(void)
{
	struct cv_master	 ring, c;
	char			*missing, *list;

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_a, &ring), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_c, &c), CV_OK);
	missing = scratch_path("missing.key");
	list = cv_asprintf("%s,%s", missing, path_c);
	CU_ASSERT_NOT_EQUAL(crypto_master_load_previous(&ring, list), CV_OK);
	CU_ASSERT_EQUAL(ring.nprev, 1);
	CU_ASSERT_PTR_NOT_NULL(crypto_master_for(&ring, c.id));
	free(list);
	free(missing);
	crypto_master_clear(&ring);
	crypto_master_clear(&c);
}

/*
 * What a rotation does: a value sealed under an old key is unsealed
 * with the key its row names and sealed again under the current one,
 * same associated data; crypto_unseal_any opens a value that does not
 * name its key (a backup blob) under any key of the ring.
 */
static void
test_reseal(void)
{
	struct cv_master	 old, ring, d;
	struct cv_bytes		 plain = { (unsigned char *)"private key", 11 };
	struct cv_bytes		 sealed, resealed, out;
	unsigned char		 nonce[CV_SEAL_NONCE_LEN];
	unsigned char		 nonce2[CV_SEAL_NONCE_LEN];
	const struct cv_master	*k;
	const char		*aad = "0b9c2f5e-3f1d-4a52-9f57-1a2b3c4d5e6f";

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_b, &old), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_d, &d), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_seal(&old, &plain, aad, &sealed, nonce),
	    CV_OK);

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_a, &ring), CV_OK);
	CU_ASSERT_EQUAL(crypto_master_load_previous(&ring, path_b), CV_OK);
	/* The current key alone does not open it … */
	CU_ASSERT_EQUAL(crypto_unseal(&ring, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);
	/* … the key the row names does. */
	k = crypto_master_for(&ring, old.id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL_FATAL(crypto_unseal(k, &sealed, aad, nonce, &out),
	    CV_OK);
	CU_ASSERT_EQUAL(out.len, plain.len);
	CU_ASSERT_EQUAL(memcmp(out.data, plain.data, plain.len), 0);
	/* Sealed again under the current key, a fresh nonce, same aad. */
	CU_ASSERT_EQUAL_FATAL(crypto_seal(&ring, &out, aad, &resealed,
	    nonce2), CV_OK);
	cv_bytes_free(&out);
	CU_ASSERT_NOT_EQUAL(memcmp(nonce, nonce2, sizeof(nonce)), 0);
	CU_ASSERT_EQUAL(crypto_unseal(crypto_master_for(&ring, ring.id),
	    &resealed, aad, nonce2, &out), CV_OK);
	cv_bytes_free(&out);
	CU_ASSERT_EQUAL(crypto_unseal(&old, &resealed, aad, nonce2, &out),
	    CV_ERR_INTERNAL);

	/* Without naming a key: any key of the ring, none outside it. */
	CU_ASSERT_EQUAL(crypto_unseal_any(&ring, &sealed, aad, nonce, &out),
	    CV_OK);
	CU_ASSERT_EQUAL(out.len, plain.len);
	cv_bytes_free(&out);
	CU_ASSERT_EQUAL(crypto_unseal_any(&ring, &resealed, aad, nonce2,
	    &out), CV_OK);
	cv_bytes_free(&out);
	CU_ASSERT_EQUAL(crypto_unseal_any(&ring, &sealed, "other", nonce,
	    &out), CV_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(out.data);
	CU_ASSERT_EQUAL(crypto_unseal_any(&d, &sealed, aad, nonce, &out),
	    CV_ERR_INTERNAL);

	cv_bytes_free(&sealed);
	cv_bytes_free(&resealed);
	crypto_master_clear(&ring);
	crypto_master_clear(&old);
	crypto_master_clear(&d);
}

/* crypto_master_get (certvault-worker) keeps the previous keys too. */
static void
test_get(void)
{
	const struct cv_master	*m;
	struct cv_master	 b, c;

	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_b, &b), CV_OK);
	CU_ASSERT_EQUAL_FATAL(crypto_master_load(path_c, &c), CV_OK);
	m = crypto_master_get(path_a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->nprev, 0);
	crypto_master_previous(path_b);
	m = crypto_master_get(path_a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->nprev, 1);
	CU_ASSERT_PTR_NOT_NULL(crypto_master_for(m, b.id));
	CU_ASSERT_PTR_NULL(crypto_master_for(m, c.id));
	/* The same list again keeps the ring; another one reloads it. */
	crypto_master_previous(path_b);
	CU_ASSERT_PTR_EQUAL(crypto_master_get(path_a), m);
	crypto_master_previous(path_c);
	m = crypto_master_get(path_a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NULL(crypto_master_for(m, b.id));
	CU_ASSERT_PTR_NOT_NULL(crypto_master_for(m, c.id));
	crypto_master_previous(NULL);
	m = crypto_master_get(path_a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->nprev, 0);
	crypto_master_clear(&b);
	crypto_master_clear(&c);
}

static const struct cu_test tests[] = {
	{ "crypto_master_for: picks the key by id; unknown id: NULL",
	    test_for },
	{ "crypto_master_load_previous: a bad file is reported, others load",
	    test_load_errors },
	{ "re-sealing: old key by id, new key, same aad; crypto_unseal_any",
	    test_reseal },
	{ "crypto_master_get with crypto_master_previous", test_get },
};

int
main(void)
{
	int	 rc;

	gnutls_global_init();
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	rc = make_keys() ? CU_RUN("crypto_keyring", tests) : 99;
	unlink(path_a);
	unlink(path_b);
	unlink(path_c);
	unlink(path_d);
	rmdir(scratch);
	free(path_a);
	free(path_b);
	free(path_c);
	free(path_d);
	gnutls_global_deinit();
	return rc;
}
