/*
 * The freshness timestamp (certbundle(5), "Timestamps"): a small object,
 * signed with the front's key, that names a node, the serial and SHA-256
 * of that node's current bundle, and when it was made and expires.  The
 * front re-signs it every "freshness" seconds; a node that fetches from a
 * mirror can then tell a frozen mirror (expired timestamp), a withheld
 * update (the timestamp names a newer bundle than the one served) and a
 * replay (a timestamp older than one already seen).  Encoding and
 * verification only, no I/O.
 *
 *   magic "CPSTAMP1" [8], algorithm u16, signer key id [8],
 *   node (u8 length + bytes), serial u64, created u64, expires u64,
 *   bundle sha256 [32], then an Ed25519 signature [64] over all of it.
 *
 * Big-endian, a separate file beside the bundle (NODE.timestamp), so that
 * it is re-signed without touching the bundle and read by certpull of any
 * bundle format.
 */
#ifndef CP_STAMP_H
#define CP_STAMP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "sig.h"

#define STAMP_MAGIC	"CPSTAMP1"
#define STAMP_ALG_ED25519 1
#define STAMP_MAX_SIZE	(8 + 2 + SIG_KEYID_LEN + 1 + BUNDLE_NAME_MAX + 3 * 8 + 32 + SIG_LEN)

struct stamp {
	uint8_t		keyid[SIG_KEYID_LEN];
	char		node[BUNDLE_NAME_MAX + 1];
	uint64_t	serial;		/* of the bundle it names */
	uint64_t	created;
	uint64_t	expires;
	uint8_t		digest[32];	/* SHA-256 of that whole bundle file */
};

/*
 * Encodes and signs s (its keyid is filled in from sk) into out.
 * 0, or -1 with e set.
 */
int	stamp_encode(struct stamp *s, EVP_PKEY *sk, struct buf *out, struct err *e);
/*
 * Checks the size, magic, algorithm, that the signer is one of trusted
 * and the signature, then reads the fields and checks that the
 * timestamp is for node and created <= expires.  Nothing is read before
 * the signature is checked.  0 with out filled, or -1 with e set.
 */
int	stamp_verify(const uint8_t *data, size_t len, const struct pubkey *trusted,
	    size_t ntrusted, const char *node, struct stamp *out, struct err *e);
/*
 * The serial of an encoded bundle, read at its fixed place (after the
 * 24-byte header, its type and its version: the same in every format),
 * unverified.  0, or -1 if data is not a bundle.
 */
int	stamp_bundle_serial(const uint8_t *data, size_t len, uint64_t *serial);

#endif
