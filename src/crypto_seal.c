/*
 * certvault — private keys at rest: AES-256-GCM under the master key.
 * SPDX-License-Identifier: ISC
 *
 * The master key file holds exactly 32 random bytes, mode 0600.  A sealed
 * key is the ciphertext followed by the 16-byte GCM tag; its 12-byte nonce
 * is stored beside it and its row identity is the associated data, so a
 * sealed key copied to another row fails authentication.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "certvault.h"
#include "crypto.h"
#include "log.h"

#define SEAL_TAG_LEN	16	/* GCM tag, appended to the ciphertext */

/*
 * Write all of buf to fd, retrying on EINTR and short writes.
 * Return 1 on success, 0 on failure (errno set).
 */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 1;
}

/*
 * Read up to len bytes from fd into buf, retrying on EINTR and short
 * reads; return the number read (less than len only at end of file), or
 * -1 on error (errno set).
 */
static ssize_t
read_all(int fd, unsigned char *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Create a new master key file at path: 32 random bytes, mode 0600.
 * Never overwrites: an existing file gives CV_ERR_CONFLICT.  Returns
 * CV_OK, CV_ERR_CONFLICT or CV_ERR_INTERNAL; every failure is logged.
 */
enum cv_err
crypto_master_create(const char *path)
{
	unsigned char	 key[CV_MASTER_KEY_LEN];
	enum cv_err	 er = CV_ERR_INTERNAL;
	int		 fd, rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_KEY, key, sizeof(key))) < 0) {
		log_error("could not get random bytes: %s",
		    gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    S_IRUSR | S_IWUSR)) < 0) {
		if (errno == EEXIST) {
			log_error("master key file %s already exists; "
			    "not overwriting it", path);
			er = CV_ERR_CONFLICT;
		} else
			log_error("could not create master key file %s: %s",
			    path, strerror(errno));
		goto out;
	}
	if (!write_all(fd, key, sizeof(key)) || fsync(fd) < 0) {
		log_error("could not write master key file %s: %s",
		    path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) < 0) {
		log_error("could not write master key file %s: %s",
		    path, strerror(errno));
		unlink(path);
		goto out;
	}
	er = CV_OK;
out:
	gnutls_memset(key, 0, sizeof(key));
	return er;
}

/*
 * Name a master key: the first 8 bytes of its SHA-256 in lowercase hex.
 * The name is stored with every sealed key so that a wrong key file is
 * reported as such rather than as tampering.
 */
static enum cv_err
master_id(struct cv_master *m)
{
	unsigned char	 h[32];
	static const char hex[] = "0123456789abcdef";
	size_t		 i;
	int		 rc;

	if ((rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, m->key, sizeof(m->key),
	    h)) < 0) {
		log_error("SHA-256 not available: %s", gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	for (i = 0; i < 8; i++) {
		m->id[2 * i] = hex[h[i] >> 4];
		m->id[2 * i + 1] = hex[h[i] & 0xf];
	}
	m->id[16] = '\0';
	return CV_OK;
}

/*
 * Load the master key file at path into m.  The file must be a regular
 * file of exactly 32 bytes that neither group nor others may access (as
 * ssh does with private keys).  Returns CV_OK; CV_ERR_BAD_PARAMETER if
 * the file is unacceptable; CV_ERR_INTERNAL if it cannot be read.  Every
 * refusal is logged with its reason.  m is zeroed unless CV_OK; clear it
 * with crypto_master_clear().
 */
enum cv_err
crypto_master_load(const char *path, struct cv_master *m)
{
	struct stat	 st;
	unsigned char	 extra;
	enum cv_err	 er = CV_ERR_INTERNAL;
	ssize_t		 n;
	int		 fd;

	gnutls_memset(m, 0, sizeof(*m));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("could not open master key file %s: %s",
		    path, strerror(errno));
		return CV_ERR_INTERNAL;
	}
	if (fstat(fd, &st) < 0) {
		log_error("could not stat master key file %s: %s",
		    path, strerror(errno));
		goto out;
	}
	er = CV_ERR_BAD_PARAMETER;
	if (!S_ISREG(st.st_mode)) {
		log_error("master key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		log_error("master key file %s is accessible by group or "
		    "others (mode %04o); it must be mode 0600", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != CV_MASTER_KEY_LEN) {
		log_error("master key file %s must hold exactly %d bytes, "
		    "not %lld", path, CV_MASTER_KEY_LEN,
		    (long long)st.st_size);
		goto out;
	}
	/* Read it; the size may have changed since fstat. */
	n = read_all(fd, m->key, sizeof(m->key));
	if (n == (ssize_t)sizeof(m->key))
		n += read_all(fd, &extra, 1);
	if (n < 0) {
		log_error("could not read master key file %s: %s",
		    path, strerror(errno));
		er = CV_ERR_INTERNAL;
		goto out;
	}
	if (n != CV_MASTER_KEY_LEN) {
		log_error("master key file %s must hold exactly %d bytes",
		    path, CV_MASTER_KEY_LEN);
		goto out;
	}
	er = master_id(m);
out:
	close(fd);
	if (er != CV_OK)
		gnutls_memset(m, 0, sizeof(*m));
	return er;
}

/* Wipe a master key and its previous keys; accepts NULL. */
void
crypto_master_clear(struct cv_master *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nprev; i++)
		gnutls_memset(&m->prev[i], 0, sizeof(m->prev[i]));
	free(m->prev);
	gnutls_memset(m, 0, sizeof(*m));
}

/*
 * Open an AES-256-GCM context under the master key into *h.
 * Return 1 on success, 0 on failure (logged).
 */
static int
aead_open(const struct cv_master *m, gnutls_aead_cipher_hd_t *h)
{
	gnutls_datum_t	 k;
	int		 rc;

	k.data = (unsigned char *)m->key;
	k.size = sizeof(m->key);
	if ((rc = gnutls_aead_cipher_init(h, GNUTLS_CIPHER_AES_256_GCM,
	    &k)) < 0) {
		log_error("could not initialise AES-256-GCM: %s",
		    gnutls_strerror(rc));
		return 0;
	}
	return 1;
}

/*
 * Seal plain under m with aad (the row identity, a NUL-terminated string)
 * as associated data.  On success sealed holds the ciphertext followed by
 * the 16-byte tag (caller frees with cv_bytes_free) and nonce the fresh
 * random 12-byte nonce to store beside it.  Returns CV_OK or
 * CV_ERR_INTERNAL (logged); sealed is empty unless CV_OK.
 */
enum cv_err
crypto_seal(const struct cv_master *m, const struct cv_bytes *plain,
    const char *aad, struct cv_bytes *sealed,
    unsigned char nonce[CV_SEAL_NONCE_LEN])
{
	gnutls_aead_cipher_hd_t	 h = NULL;
	struct cv_bytes		 out = { NULL, 0 };
	size_t			 n;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	memset(sealed, 0, sizeof(*sealed));
	if (plain->len > SIZE_MAX - SEAL_TAG_LEN)
		return CV_ERR_INTERNAL;
	/* A nonce must never repeat under one key: take a fresh one. */
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, nonce, CV_SEAL_NONCE_LEN)) < 0) {
		log_error("could not get random bytes: %s",
		    gnutls_strerror(rc));
		return CV_ERR_INTERNAL;
	}
	if (!aead_open(m, &h))
		return CV_ERR_INTERNAL;
	out.len = n = plain->len + SEAL_TAG_LEN;
	out.data = cv_malloc(out.len);
	if ((rc = gnutls_aead_cipher_encrypt(h, nonce, CV_SEAL_NONCE_LEN,
	    aad, strlen(aad), SEAL_TAG_LEN, plain->data, plain->len,
	    out.data, &n)) < 0) {
		log_error("could not seal key: %s", gnutls_strerror(rc));
		goto out;
	}
	*sealed = out;
	sealed->len = n;
	out.data = NULL;
	er = CV_OK;
out:
	cv_bytes_free(&out);
	gnutls_aead_cipher_deinit(h);
	return er;
}

static enum cv_err unseal(const struct cv_master *, const struct cv_bytes *,
	    const char *, const unsigned char [CV_SEAL_NONCE_LEN],
	    struct cv_bytes *, bool);

/*
 * Reverse crypto_seal(): check and decrypt sealed (ciphertext and tag)
 * under m with the same aad and nonce.  On success plain holds the key
 * bytes (caller frees with cv_bytes_free, which wipes them).  Returns
 * CV_OK, or CV_ERR_INTERNAL (logged) when the tag, nonce, aad or key do
 * not match: nothing the client did causes that.  plain is empty unless
 * CV_OK.
 */
enum cv_err
crypto_unseal(const struct cv_master *m, const struct cv_bytes *sealed,
    const char *aad, const unsigned char nonce[CV_SEAL_NONCE_LEN],
    struct cv_bytes *plain)
{

	return unseal(m, sealed, aad, nonce, plain, false);
}

/*
 * crypto_unseal(), saying nothing when authentication fails if quiet
 * (crypto_unseal_any tries each key of a keyring in turn).
 */
static enum cv_err
unseal(const struct cv_master *m, const struct cv_bytes *sealed,
    const char *aad, const unsigned char nonce[CV_SEAL_NONCE_LEN],
    struct cv_bytes *plain, bool quiet)
{
	gnutls_aead_cipher_hd_t	 h = NULL;
	struct cv_bytes		 out = { NULL, 0 };
	size_t			 n;
	enum cv_err		 er = CV_ERR_INTERNAL;
	int			 rc;

	memset(plain, 0, sizeof(*plain));
	if (sealed->data == NULL || sealed->len < SEAL_TAG_LEN) {
		if (!quiet)
			log_error("sealed key failed authentication: too "
			    "short (%s, master key %s)", aad, m->id);
		return CV_ERR_INTERNAL;
	}
	if (!aead_open(m, &h))
		return CV_ERR_INTERNAL;
	/* Room for the plaintext (sealed minus tag), and never 0 bytes. */
	out.len = n = sealed->len;
	out.data = cv_malloc(out.len);
	rc = gnutls_aead_cipher_decrypt(h, nonce, CV_SEAL_NONCE_LEN,
	    aad, strlen(aad), SEAL_TAG_LEN, sealed->data, sealed->len,
	    out.data, &n);
	if (rc == GNUTLS_E_DECRYPTION_FAILED) {
		if (!quiet)
			log_error("sealed key failed authentication (%s, "
			    "master key %s)", aad, m->id);
		goto out;
	} else if (rc < 0) {
		log_error("could not unseal key: %s", gnutls_strerror(rc));
		goto out;
	}
	*plain = out;
	plain->len = n;
	out.data = NULL;
	er = CV_OK;
out:
	cv_bytes_free(&out);
	gnutls_aead_cipher_deinit(h);
	return er;
}

/*
 * The keyring.  A rotation (certvault-admin rotate-master-key, README
 * "Rotating the master key") runs while the services run: they seal
 * with the current key (master_key_file) and must still open rows sealed
 * under the keys before it (master_key_previous_files) until every row
 * is re-sealed.  Each row names its key (master_key_id), so the one key
 * to try is looked up by that name, never guessed.
 */

/* Whether m or one of its previous keys is named id. */
static bool
ring_has(const struct cv_master *m, const char *id)
{
	size_t	 i;

	if (strcmp(m->id, id) == 0)
		return true;
	for (i = 0; i < m->nprev; i++)
		if (strcmp(m->prev[i].id, id) == 0)
			return true;
	return false;
}

/*
 * Add the previous master keys named in paths (file names separated by
 * commas, blanks around each ignored; NULL or empty: none) to m's
 * keyring, each loaded and checked as crypto_master_load() does.  A key
 * already in the ring (the current one, or named twice) is skipped.  A
 * file that cannot be loaded is logged and skipped, the others are still
 * added: returns CV_OK if every one was loaded, else the first error.
 * crypto_master_clear(m) wipes them with m.
 */
enum cv_err
crypto_master_load_previous(struct cv_master *m, const char *paths)
{
	struct cv_master	 k, *grown;
	struct cv_strlist	 names;
	const char		*name;
	size_t			 i;
	enum cv_err		 er = CV_OK, er1;

	cv_strlist_split(paths, &names);
	for (i = 0; i < names.n; i++) {
		name = names.v[i];
		if ((er1 = crypto_master_load(name, &k)) != CV_OK) {
			log_error("previous master key %s not loaded: rows "
			    "sealed under it cannot be read", name);
			if (er == CV_OK)
				er = er1;
			continue;
		}
		if (ring_has(m, k.id)) {
			crypto_master_clear(&k);
			continue;
		}
		/* Grown by hand: realloc would leave key bytes behind. */
		grown = cv_calloc(m->nprev + 1, sizeof(*grown));
		if (m->nprev > 0)
			memcpy(grown, m->prev, m->nprev * sizeof(*grown));
		grown[m->nprev] = k;
		gnutls_memset(&k, 0, sizeof(k));
		if (m->prev != NULL) {
			gnutls_memset(m->prev, 0, m->nprev * sizeof(*grown));
			free(m->prev);
		}
		m->prev = grown;
		m->nprev++;
	}
	cv_strlist_free(&names);
	return er;
}

/*
 * The key of m's keyring named id (the master_key_id stored beside a
 * sealed value): m itself or one of its previous keys.  NULL, logged,
 * when m is NULL, id is NULL or no key of the ring has that name.  Every
 * unsealing of a stored row looks its key up here.
 */
const struct cv_master *
crypto_master_for(const struct cv_master *m, const char *id)
{
	size_t	 i;

	if (m == NULL)
		return NULL;
	if (id == NULL) {
		log_error("a sealed value names no master key");
		return NULL;
	}
	if (strcmp(m->id, id) == 0)
		return m;
	for (i = 0; i < m->nprev; i++)
		if (strcmp(m->prev[i].id, id) == 0)
			return &m->prev[i];
	log_error("master key %s is not configured (master_key_file is %s, "
	    "with %zu previous key%s): values sealed under it cannot be read",
	    id, m->id, m->nprev, m->nprev == 1 ? "" : "s");
	return NULL;
}

/*
 * crypto_unseal() for a value that does not name its key (a backup
 * blob): under m, then under each previous key of m's keyring, the
 * first that authenticates it.  Logged once if none does.
 */
enum cv_err
crypto_unseal_any(const struct cv_master *m, const struct cv_bytes *sealed,
    const char *aad, const unsigned char nonce[CV_SEAL_NONCE_LEN],
    struct cv_bytes *plain)
{
	size_t	 i;

	memset(plain, 0, sizeof(*plain));
	if (unseal(m, sealed, aad, nonce, plain, true) == CV_OK)
		return CV_OK;
	for (i = 0; i < m->nprev; i++)
		if (unseal(&m->prev[i], sealed, aad, nonce, plain, true) ==
		    CV_OK)
			return CV_OK;
	log_error("sealed value failed authentication under every configured "
	    "master key (%s, %s and %zu previous)", aad, m->id, m->nprev);
	return CV_ERR_INTERNAL;
}

/* The process's master key, kept by crypto_master_get(). */
static struct cv_master	 cached;
static char		*cached_path;
static char		*cached_previous;	/* crypto_master_previous() */

static void
cached_clear(void)
{

	crypto_master_clear(&cached);
	free(cached_path);
	cached_path = NULL;
}

static void
cached_teardown(void)
{

	cached_clear();
	free(cached_previous);
	cached_previous = NULL;
}

/*
 * The previous master keys (master_key_previous_files; NULL: none) that
 * crypto_master_get() adds to the key it loads.  A change drops the key
 * kept, so that the next crypto_master_get() loads the new ring.
 */
void
crypto_master_previous(const char *paths)
{

	if ((paths == NULL && cached_previous == NULL) ||
	    (paths != NULL && cached_previous != NULL &&
	    strcmp(paths, cached_previous) == 0))
		return;
	cached_clear();
	free(cached_previous);
	cached_previous = paths == NULL ? NULL : cv_strdup(paths);
}

/*
 * The master key in path, loaded on first use and kept for the process
 * (every job of certvault-worker shares it; it is wiped at exit), with
 * the previous keys set by crypto_master_previous() in its keyring (one
 * that cannot be loaded is logged and left out).  A key that cannot be
 * loaded is tried again at the next call.  NULL if path is NULL or the
 * key cannot be loaded (the reason is logged).
 */
const struct cv_master *
crypto_master_get(const char *path)
{
	static bool	 registered;

	if (path == NULL)
		return NULL;
	if (cached_path != NULL && strcmp(cached_path, path) == 0)
		return &cached;
	cached_clear();
	if (crypto_master_load(path, &cached) != CV_OK)
		return NULL;
	(void)crypto_master_load_previous(&cached, cached_previous);
	cached_path = cv_strdup(path);
	if (!registered && atexit(cached_teardown) == 0)
		registered = true;
	return &cached;
}
