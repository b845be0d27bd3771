#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "fsutil.h"
#include "sig.h"

#define PUB_PREFIX	"ed25519:"
#define PUB_B64_LEN	44	/* base64 of 32 bytes, one '=' of padding */
#define SECRET_CAP	4096

EVP_PKEY *
sig_keygen(struct err *e)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *sk = NULL;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &sk) <= 0) {
		err_ssl(e, "cannot generate an Ed25519 key");
		sk = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return sk;
}

int
sig_secret_pem(EVP_PKEY *sk, struct buf *out, struct err *e)
{
	BIO *bio;
	char *p;
	long n;
	int rc = -1;

	out->secret = 1;
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return err_ssl(e, "BIO_new");
	if (PEM_write_bio_PrivateKey(bio, sk, NULL, NULL, 0, NULL, NULL) != 1)
		err_ssl(e, "cannot encode the secret key");
	else if ((n = BIO_get_mem_data(bio, &p)) <= 0 || buf_add(out, p, (size_t)n) == -1)
		err_set(e, "out of memory");
	else
		rc = 0;
	BIO_free(bio);
	return rc;
}

EVP_PKEY *
sig_load_secret(const char *path, struct err *e)
{
	struct buf pem = { .secret = 1 };
	EVP_PKEY *sk = NULL;
	BIO *bio = NULL;
	struct stat st;

	/* Check the descriptor that was read, not the path again. */
	if (file_read_stat(path, SECRET_CAP, &pem, &st, e) == -1 ||
	    stat_check_secret(path, &st, e) == -1)
		goto out;
	if ((bio = BIO_new_mem_buf(pem.data, (int)pem.len)) == NULL ||
	    (sk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		err_ssl(e, "%s: not a PEM private key", path);
		goto out;
	}
	if (EVP_PKEY_get_id(sk) != EVP_PKEY_ED25519) {
		err_set(e, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(sk);
		sk = NULL;
	}
out:
	BIO_free(bio);
	buf_free(&pem);
	return sk;
}

void
keyid_of(const uint8_t raw[SIG_PUB_LEN], uint8_t id[SIG_KEYID_LEN])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(raw, SIG_PUB_LEN, md);
	memcpy(id, md, SIG_KEYID_LEN);
}

int
sig_pubkey_of(EVP_PKEY *sk, struct pubkey *out, struct err *e)
{
	size_t len = SIG_PUB_LEN;

	if (EVP_PKEY_get_raw_public_key(sk, out->raw, &len) != 1 || len != SIG_PUB_LEN)
		return err_ssl(e, "cannot extract the public key");
	keyid_of(out->raw, out->id);
	return 0;
}

void
key32_format(const char *prefix, const uint8_t raw[32], char *out)
{
	size_t n = strlen(prefix);

	memcpy(out, prefix, n);
	EVP_EncodeBlock((unsigned char *)out + n, raw, 32);
}

void
sig_pubkey_format(const struct pubkey *pk, char out[SIG_PUBTEXT_MAX])
{
	key32_format(PUB_PREFIX, pk->raw, out);
}

int
key32_parse(const char *prefix, const char *text, uint8_t raw[32], struct err *e)
{
	unsigned char dec[PUB_B64_LEN];
	char canon[SIG_PUBTEXT_MAX];
	const char *b64;
	size_t i;

	if (strlen(prefix) > SIG_PUBTEXT_MAX - PUB_B64_LEN - 1 ||
	    strncmp(text, prefix, strlen(prefix)) != 0)
		return err_set(e, "public key must start with \"%s\"", prefix);
	b64 = text + strlen(prefix);
	if (strlen(b64) != PUB_B64_LEN || b64[PUB_B64_LEN - 1] != '=')
		return err_set(e, "public key must be %d base64 characters after \"%s\"",
		    PUB_B64_LEN, prefix);
	for (i = 0; i < PUB_B64_LEN - 1; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", b64[i]) == NULL)
			return err_set(e, "public key: invalid base64 character");
	/* EVP_DecodeBlock counts the padding byte: 44 chars give 33 bytes. */
	if (EVP_DecodeBlock(dec, (const unsigned char *)b64, PUB_B64_LEN) != 32 + 1)
		return err_set(e, "public key: invalid base64");
	/*
	 * The 43rd character carries 2 bits past the key, which must be 0:
	 * accept only the text key32_format writes, one per key.
	 */
	key32_format(prefix, dec, canon);
	if (strcmp(canon, text) != 0)
		return err_set(e, "public key: invalid base64 (not in canonical form)");
	memcpy(raw, dec, 32);
	return 0;
}

int
sig_pubkey_parse(const char *text, struct pubkey *out, struct err *e)
{
	if (key32_parse(PUB_PREFIX, text, out->raw, e) == -1)
		return -1;
	keyid_of(out->raw, out->id);
	return 0;
}

void
sig_keyid_hex(const uint8_t id[SIG_KEYID_LEN], char out[2 * SIG_KEYID_LEN + 1])
{
	size_t i;

	for (i = 0; i < SIG_KEYID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int
sig_sign(EVP_PKEY *sk, const uint8_t *msg, size_t len, uint8_t sig[SIG_LEN],
    struct err *e)
{
	EVP_MD_CTX *ctx;
	size_t siglen = SIG_LEN;
	int rc = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return err_ssl(e, "EVP_MD_CTX_new");
	/* Ed25519 is one-shot: no digest, the whole message at once. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, sk) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != SIG_LEN)
		rc = err_ssl(e, "signing failed");
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
sig_verify(const struct pubkey *pk, const uint8_t *msg, size_t len,
    const uint8_t sig[SIG_LEN])
{
	EVP_PKEY *pub;
	EVP_MD_CTX *ctx = NULL;
	int ok = 0;

	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk->raw, SIG_PUB_LEN);
	if (pub != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1)
		ok = EVP_DigestVerify(ctx, sig, SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return ok ? 0 : -1;
}
