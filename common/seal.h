/*
 * Secrets sealed to their node: libsodium's sealed boxes
 * (crypto_box_seal: an ephemeral X25519 key, XSalsa20-Poly1305), used
 * as they are, with no construction of our own.  A node's key pair is
 * made by certpull keygen: the secret part is a PKCS#8 PEM X25519 key
 * (mode 0600, never overwritten), the public part is written
 * "x25519:" + base64 of its 32 raw bytes, and its key id is the first
 * 8 bytes of the SHA-256 of those bytes, as for signing keys (sig.h).
 */
#ifndef CP_SEAL_H
#define CP_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "sig.h"

#define SEAL_KEY_LEN	32	/* X25519 public and secret keys */
#define SEAL_OVERHEAD	48	/* crypto_box_SEALBYTES: ephemeral key + MAC */
#define SEAL_PREFIX	"x25519:"

/* A node's public key: what certpush.yaml's recipient names. */
struct seal_pub {
	uint8_t	raw[SEAL_KEY_LEN];
	uint8_t	id[SIG_KEYID_LEN];
};

/* A node's key pair; seal_key_wipe clears it. */
struct seal_key {
	struct seal_pub	pub;
	uint8_t		sk[SEAL_KEY_LEN];
};

/* sodium_init, once per process (idempotent).  0, or -1 with e set. */
int	seal_init(struct err *e);
/*
 * Generates a key pair into k and its secret part as PKCS#8 PEM into
 * pem (marked secret).  0, or -1 with e set.
 */
int	seal_keygen(struct seal_key *k, struct buf *pem, struct err *e);
/*
 * Loads a node's secret key after checking that nobody but its owner
 * can read it, and derives its public part.  0, or -1 with e set.
 */
int	seal_load_secret(const char *path, struct seal_key *k, struct err *e);
void	seal_key_wipe(struct seal_key *k);
/* "x25519:BASE64" into out (SIG_PUBTEXT_MAX bytes). */
void	seal_pub_format(const struct seal_pub *p, char out[SIG_PUBTEXT_MAX]);
/* Parses "x25519:BASE64" strictly.  0, or -1 with e set. */
int	seal_pub_parse(const char *text, struct seal_pub *out, struct err *e);
/*
 * Appends the sealed box of m[0..len) for the holder of p's secret key
 * to out (len + SEAL_OVERHEAD bytes).  0, or -1 with e set.
 */
int	seal_box(const struct seal_pub *p, const uint8_t *m, size_t len,
	    struct buf *out, struct err *e);
/*
 * Opens a sealed box with k into out (marked secret): 0, or -1 when c
 * was not sealed to k or was altered (nothing is kept in out then).
 */
int	seal_open(const struct seal_key *k, const uint8_t *c, size_t len,
	    struct buf *out);

#endif
