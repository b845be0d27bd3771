/*
 * Ed25519 signing keys through OpenSSL's EVP API.  The secret key is a
 * PKCS#8 PEM file (mode 0600); the public key is written
 * "ed25519:" + base64 of its 32 raw bytes, and its key id is the first
 * 8 bytes of the SHA-256 of those raw bytes (shown as 16 hex digits).
 */
#ifndef CP_SIG_H
#define CP_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"

#define SIG_KEYID_LEN	8
#define SIG_PUB_LEN	32
#define SIG_LEN		64
#define SIG_PUBTEXT_MAX	64	/* "ed25519:" + 44 base64 chars + NUL */

struct pubkey {
	uint8_t	id[SIG_KEYID_LEN];
	uint8_t	raw[SIG_PUB_LEN];
};

/* Generates a new key pair. Returns NULL on failure (e set). Caller frees. */
EVP_PKEY *sig_keygen(struct err *e);
/* Encodes the secret key as PKCS#8 PEM into out (marked secret). 0 or -1. */
int	sig_secret_pem(EVP_PKEY *sk, struct buf *out, struct err *e);
/*
 * Loads an Ed25519 secret key after checking that nobody but its owner
 * can read it.  Returns NULL with e set on any failure.  Caller frees.
 */
EVP_PKEY *sig_load_secret(const char *path, struct err *e);
/* Extracts the public half and its key id. 0 or -1. */
int	sig_pubkey_of(EVP_PKEY *sk, struct pubkey *out, struct err *e);
/* Writes "ed25519:BASE64" into out (SIG_PUBTEXT_MAX bytes). */
void	sig_pubkey_format(const struct pubkey *pk, char out[SIG_PUBTEXT_MAX]);
/* Parses "ed25519:BASE64" strictly. 0, or -1 with e set. */
int	sig_pubkey_parse(const char *text, struct pubkey *out, struct err *e);
/*
 * A 32-byte public key as text: prefix and the standard base64 of its
 * bytes (44 characters).  out holds SIG_PUBTEXT_MAX bytes; the prefix is
 * at most 19 characters.  key32_parse accepts only the canonical text
 * key32_format writes: 0, or -1 with e set.  (Also the X25519 keys of
 * seal.h.)
 */
void	key32_format(const char *prefix, const uint8_t raw[32], char *out);
int	key32_parse(const char *prefix, const char *text, uint8_t raw[32],
	    struct err *e);
/* The key id of a 32-byte public key: the first 8 bytes of its SHA-256. */
void	keyid_of(const uint8_t raw[SIG_PUB_LEN], uint8_t id[SIG_KEYID_LEN]);
/* Writes the key id as 16 lower-case hex digits. */
void	sig_keyid_hex(const uint8_t id[SIG_KEYID_LEN], char out[2 * SIG_KEYID_LEN + 1]);
/* Signs msg. 0, or -1 with e set. */
int	sig_sign(EVP_PKEY *sk, const uint8_t *msg, size_t len,
	    uint8_t sig[SIG_LEN], struct err *e);
/* Returns 0 if sig is a valid signature of msg by pk, -1 otherwise. */
int	sig_verify(const struct pubkey *pk, const uint8_t *msg, size_t len,
	    const uint8_t sig[SIG_LEN]);

#endif
