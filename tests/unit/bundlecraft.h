/*
 * Bundles made by hand for the unit tests: a header with any format and
 * algorithm, any body, and a valid signature, so that a test can reach
 * the checks that run after the signature (metadata, entries, content).
 * Every helper fails the running cmocka test on an internal error.
 * Included by the test files (#include "bundlecraft.c").
 */
#ifndef CP_BUNDLECRAFT_H
#define CP_BUNDLECRAFT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"

/* A malloc'd copy of data of exactly len bytes (so ASan sees overreads). */
uint8_t	*tb_exact_copy(const void *data, size_t len);
/* Replaces the last SIG_LEN bytes of b with sk's signature of the rest. */
void	 tb_resign(struct buf *b, EVP_PKEY *sk);
/* Appends magic, format, alg, sk's key id, body length, body, signature. */
void	 tb_craft(struct buf *out, uint16_t format, uint16_t alg, EVP_PKEY *sk,
	    const struct buf *body);
/* Appends body metadata: type, version, serial, created, expires, audience. */
void	 tb_body_meta(struct buf *b, uint16_t type, uint16_t version,
	    uint64_t serial, uint64_t created, uint64_t expires, const char *audience);
/*
 * Appends an entry: name (namelen bytes), kind, the declared size, the
 * SHA-256 of data (one bit flipped if badhash), then the len bytes of data.
 */
void	 tb_body_entry_n(struct buf *b, const char *name, size_t namelen,
	    uint8_t kind, uint32_t size, const void *data, size_t len, int badhash);
/* The same with a NUL-terminated name. */
void	 tb_body_entry_raw(struct buf *b, const char *name, uint8_t kind,
	    uint32_t size, const void *data, size_t len, int badhash);
/* A well-formed entry holding text. */
void	 tb_body_entry(struct buf *b, const char *name, uint8_t kind,
	    const char *text);

#endif
