#include <string.h>

#include <openssl/sha.h>

#include "stamp.h"

int
stamp_encode(struct stamp *s, EVP_PKEY *sk, struct buf *out, struct err *e)
{
	struct pubkey pk;
	uint8_t sig[SIG_LEN];
	size_t n = strlen(s->node);

	if (n == 0 || n > BUNDLE_NAME_MAX)
		return err_set(e, "timestamp: bad node name \"%s\"", s->node);
	if (sig_pubkey_of(sk, &pk, e) == -1)
		return -1;
	memcpy(s->keyid, pk.id, SIG_KEYID_LEN);
	buf_free(out);
	if (buf_add(out, STAMP_MAGIC, 8) == -1 || buf_add_u16(out, STAMP_ALG_ED25519) == -1 ||
	    buf_add(out, s->keyid, SIG_KEYID_LEN) == -1 || buf_add_u8(out, (uint8_t)n) == -1 ||
	    buf_add(out, s->node, n) == -1 || buf_add_u64(out, s->serial) == -1 ||
	    buf_add_u64(out, s->created) == -1 || buf_add_u64(out, s->expires) == -1 ||
	    buf_add(out, s->digest, 32) == -1)
		return err_set(e, "timestamp: out of memory");
	if (sig_sign(sk, out->data, out->len, sig, e) == -1)
		return -1;
	if (buf_add(out, sig, SIG_LEN) == -1)
		return err_set(e, "timestamp: out of memory");
	return 0;
}

static const struct pubkey *
find_key(const struct pubkey *trusted, size_t ntrusted, const uint8_t *keyid)
{
	size_t i;

	for (i = 0; i < ntrusted; i++)
		if (memcmp(trusted[i].id, keyid, SIG_KEYID_LEN) == 0)
			return &trusted[i];
	return NULL;
}

/* The fields after the signer, from a timestamp whose signature is good. */
static int
read_fields(struct cursor *c, struct stamp *out, struct err *e)
{
	const uint8_t *p;
	uint8_t n;

	if (cur_u8(c, &n) == -1 || n == 0 || n > BUNDLE_NAME_MAX ||
	    cur_bytes(c, n, &p) == -1 || memchr(p, '\0', n) != NULL)
		return err_set(e, "timestamp: malformed node name");
	memcpy(out->node, p, n);
	out->node[n] = '\0';
	if (cur_u64(c, &out->serial) == -1 || cur_u64(c, &out->created) == -1 ||
	    cur_u64(c, &out->expires) == -1 || cur_bytes(c, 32, &p) == -1)
		return err_set(e, "timestamp: truncated");
	memcpy(out->digest, p, 32);
	if (c->left != 0)
		return err_set(e, "timestamp: %zu bytes of trailing data", c->left);
	return 0;
}

int
stamp_verify(const uint8_t *data, size_t len, const struct pubkey *trusted,
    size_t ntrusted, const char *node, struct stamp *out, struct err *e)
{
	const struct pubkey *pk;
	const uint8_t *keyid;
	struct cursor c;
	char id[2 * SIG_KEYID_LEN + 1];
	uint16_t alg;

	memset(out, 0, sizeof(*out));
	if (len > STAMP_MAX_SIZE || len < 8 + 2 + SIG_KEYID_LEN + SIG_LEN)
		return err_set(e, "timestamp is %zu bytes, not a timestamp", len);
	if (memcmp(data, STAMP_MAGIC, 8) != 0)
		return err_set(e, "not a certpush timestamp (bad magic)");
	cur_init(&c, data + 8, len - 8 - SIG_LEN);
	cur_u16(&c, &alg);
	cur_bytes(&c, SIG_KEYID_LEN, &keyid);
	if (alg != STAMP_ALG_ED25519)
		return err_set(e, "timestamp: unknown signature algorithm %u", alg);
	sig_keyid_hex(keyid, id);
	if ((pk = find_key(trusted, ntrusted, keyid)) == NULL)
		return err_set(e, "timestamp signed with key %s, which is not trusted", id);
	if (sig_verify(pk, data, len - SIG_LEN, data + len - SIG_LEN) == -1)
		return err_set(e, "timestamp: bad signature (key %s)", id);
	memcpy(out->keyid, keyid, SIG_KEYID_LEN);
	if (read_fields(&c, out, e) == -1)
		return -1;
	if (strcmp(out->node, node) != 0)
		return err_set(e, "timestamp is for node \"%s\", this node is \"%s\"",
		    out->node, node);
	if (out->created > out->expires)
		return err_set(e, "timestamp: created after it expires");
	return 0;
}

int
stamp_bundle_serial(const uint8_t *data, size_t len, uint64_t *serial)
{
	struct cursor c;
	const uint8_t *magic;
	uint16_t skip;

	if (len < BUNDLE_HEADER_LEN + 12)
		return -1;
	cur_init(&c, data, len);
	cur_bytes(&c, 8, &magic);
	if (memcmp(magic, BUNDLE_MAGIC, 8) != 0)
		return -1;
	cur_init(&c, data + BUNDLE_HEADER_LEN, len - BUNDLE_HEADER_LEN);
	return cur_u16(&c, &skip) == -1 || cur_u16(&c, &skip) == -1 ||
	    cur_u64(&c, serial) == -1 ? -1 : 0;
}
