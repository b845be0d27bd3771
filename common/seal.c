#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fsutil.h"
#include "seal.h"
#include "sodium_dl.h"

#define SECRET_CAP	4096

/* The sizes this file assumes are libsodium's. */
_Static_assert(SEAL_KEY_LEN == crypto_box_PUBLICKEYBYTES &&
    SEAL_KEY_LEN == crypto_box_SECRETKEYBYTES, "X25519 key size");
_Static_assert(SEAL_OVERHEAD == crypto_box_SEALBYTES, "sealed box overhead");

int
seal_init(struct err *e)
{
	/* Loaded on first use (lib_dl.h).  sodium_init is thread-safe,
	 * and 1 (not an error) once already initialised. */
	if (sodium_dl_load(e) == -1)
		return -1;
	if (sodium_init() == -1)
		return err_set(e, "libsodium cannot be initialised");
	return 0;
}

static void
pub_of(struct seal_key *k)
{
	crypto_scalarmult_base(k->pub.raw, k->sk);
	keyid_of(k->pub.raw, k->pub.id);
}

/* The secret key as PKCS#8 PEM, through OpenSSL's X25519 type. */
static int
secret_pem(const struct seal_key *k, struct buf *pem, struct err *e)
{
	EVP_PKEY *pk;
	BIO *bio = NULL;
	uint8_t raw[SEAL_KEY_LEN];
	size_t len = sizeof(raw);
	char *p;
	long n;
	int rc = -1;

	pem->secret = 1;
	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k->sk,
	    SEAL_KEY_LEN)) == NULL || (bio = BIO_new(BIO_s_secmem())) == NULL) {
		err_ssl(e, "cannot encode the X25519 key");
		goto out;
	}
	/* Both libraries must derive the same public key from it. */
	if (EVP_PKEY_get_raw_public_key(pk, raw, &len) != 1 || len != SEAL_KEY_LEN ||
	    memcmp(raw, k->pub.raw, SEAL_KEY_LEN) != 0) {
		err_set(e, "OpenSSL and libsodium disagree on the X25519 public key");
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1)
		err_ssl(e, "cannot encode the X25519 key");
	else if ((n = BIO_get_mem_data(bio, &p)) <= 0 || buf_add(pem, p, (size_t)n) == -1)
		err_set(e, "out of memory");
	else
		rc = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

int
seal_keygen(struct seal_key *k, struct buf *pem, struct err *e)
{
	if (seal_init(e) == -1)
		return -1;
	crypto_box_keypair(k->pub.raw, k->sk);
	keyid_of(k->pub.raw, k->pub.id);
	return secret_pem(k, pem, e);
}

int
seal_load_secret(const char *path, struct seal_key *k, struct err *e)
{
	struct buf pem = { .secret = 1 };
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	struct stat st;
	size_t len = SEAL_KEY_LEN;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (seal_init(e) == -1)
		return -1;
	/* Check the descriptor that was read, not the path again. */
	if (file_read_stat(path, SECRET_CAP, &pem, &st, e) == -1 ||
	    stat_check_secret(path, &st, e) == -1)
		goto out;
	if ((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		err_ssl(e, "%s: not a PEM private key", path);
		goto out;
	}
	if (EVP_PKEY_get_id(pk) != EVP_PKEY_X25519)
		err_set(e, "%s: not an X25519 key (make one with certpull keygen)", path);
	else if (EVP_PKEY_get_raw_private_key(pk, k->sk, &len) != 1 ||
	    len != SEAL_KEY_LEN)
		err_ssl(e, "%s: cannot read the X25519 key", path);
	else {
		pub_of(k);
		rc = 0;
	}
out:
	if (rc == -1)
		seal_key_wipe(k);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	buf_free(&pem);
	return rc;
}

void
seal_key_wipe(struct seal_key *k)
{
	/* Not sodium_memzero: a key is wiped without loading libsodium. */
	OPENSSL_cleanse(k, sizeof(*k));
}

void
seal_pub_format(const struct seal_pub *p, char out[SIG_PUBTEXT_MAX])
{
	key32_format(SEAL_PREFIX, p->raw, out);
}

int
seal_pub_parse(const char *text, struct seal_pub *out, struct err *e)
{
	if (key32_parse(SEAL_PREFIX, text, out->raw, e) == -1)
		return -1;
	keyid_of(out->raw, out->id);
	return 0;
}

int
seal_box(const struct seal_pub *p, const uint8_t *m, size_t len, struct buf *out,
    struct err *e)
{
	size_t start = out->len;
	uint8_t *c;

	if (seal_init(e) == -1)
		return -1;
	if (len > SIZE_MAX - SEAL_OVERHEAD || (c = malloc(len + SEAL_OVERHEAD)) == NULL)
		return err_set(e, "out of memory");
	if (crypto_box_seal(c, m, len, p->raw) != 0) {
		free(c);
		return err_set(e, "crypto_box_seal failed");
	}
	if (buf_add(out, c, len + SEAL_OVERHEAD) == -1) {
		out->len = start;
		free(c);
		return err_set(e, "out of memory");
	}
	free(c);
	return 0;
}

int
seal_open(const struct seal_key *k, const uint8_t *c, size_t len, struct buf *out)
{
	uint8_t *m;
	int rc;

	out->secret = 1;
	if (seal_init(NULL) == -1 || len < SEAL_OVERHEAD ||
	    (m = malloc(len - SEAL_OVERHEAD + 1)) == NULL)
		return -1;
	rc = crypto_box_seal_open(m, c, len, k->pub.raw, k->sk) == 0 &&
	    buf_add(out, m, len - SEAL_OVERHEAD) == 0 ? 0 : -1;
	OPENSSL_cleanse(m, len - SEAL_OVERHEAD + 1);
	free(m);
	return rc;
}
