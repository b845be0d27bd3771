/*
 * Bundles made by hand for the unit tests; see bundlecraft.h.  Uses
 * cmocka's assertions: include it after <cmocka.h>.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bundle.h"
#include "sig.h"

#include "bundlecraft.h"

/* A copy of data in a buffer of exactly len bytes (never NULL). */
uint8_t *
tb_exact_copy(const void *data, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	if (len > 0)
		memcpy(p, data, len);
	return p;
}

/* Replaces the last SIG_LEN bytes of b with a signature by sk of the rest. */
void
tb_resign(struct buf *b, EVP_PKEY *sk)
{
	struct err e = { "" };

	assert_true(b->len >= BUNDLE_HEADER_LEN + SIG_LEN);
	if (sig_sign(sk, b->data, b->len - SIG_LEN, b->data + b->len - SIG_LEN, &e) == -1)
		fail_msg("sig_sign: %s", e.msg);
}

/*
 * A bundle made by hand: header (format, alg, sk's key id, the body's
 * length), body, and a valid signature by sk.
 */
void
tb_craft(struct buf *out, uint16_t format, uint16_t alg, EVP_PKEY *sk,
    const struct buf *body)
{
	struct pubkey pk;
	struct err e;
	int rc = 0;

	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	rc |= buf_add(out, BUNDLE_MAGIC, 8);
	rc |= buf_add_u16(out, format);
	rc |= buf_add_u16(out, alg);
	rc |= buf_add(out, pk.id, SIG_KEYID_LEN);
	rc |= buf_add_u32(out, (uint32_t)body->len);
	rc |= buf_add(out, body->data, body->len);
	rc |= buf_add(out, (uint8_t[SIG_LEN]){ 0 }, SIG_LEN);
	assert_int_equal(rc, 0);
	tb_resign(out, sk);
}

/* Body metadata with the given fields. */
void
tb_body_meta(struct buf *b, uint16_t type, uint16_t version, uint64_t serial,
    uint64_t created, uint64_t expires, const char *audience)
{
	int rc = 0;

	rc |= buf_add_u16(b, type);
	rc |= buf_add_u16(b, version);
	rc |= buf_add_u64(b, serial);
	rc |= buf_add_u64(b, created);
	rc |= buf_add_u64(b, expires);
	rc |= buf_add_u8(b, (uint8_t)strlen(audience));
	rc |= buf_add_str(b, audience);
	assert_int_equal(rc, 0);
}

/*
 * One entry: name (namelen bytes), kind, the declared size, the SHA-256
 * of data (with one bit flipped if badhash), then len bytes of data.
 */
void
tb_body_entry_n(struct buf *b, const char *name, size_t namelen, uint8_t kind,
    uint32_t size, const void *data, size_t len, int badhash)
{
	uint8_t md[32];
	int rc = 0;

	SHA256(data, len, md);
	if (badhash)
		md[31] ^= 1;
	rc |= buf_add_u8(b, (uint8_t)namelen);
	rc |= buf_add(b, name, namelen);
	rc |= buf_add_u8(b, kind);
	rc |= buf_add_u32(b, size);
	rc |= buf_add(b, md, sizeof(md));
	rc |= buf_add(b, data, len);
	assert_int_equal(rc, 0);
}

/* The same with a NUL-terminated name. */
void
tb_body_entry_raw(struct buf *b, const char *name, uint8_t kind, uint32_t size,
    const void *data, size_t len, int badhash)
{
	tb_body_entry_n(b, name, strlen(name), kind, size, data, len, badhash);
}

/* A well-formed entry holding text. */
void
tb_body_entry(struct buf *b, const char *name, uint8_t kind, const char *text)
{
	tb_body_entry_raw(b, name, kind, (uint32_t)strlen(text), text, strlen(text), 0);
}
