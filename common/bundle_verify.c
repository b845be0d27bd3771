/*
 * Verification of an encoded bundle, in the order certbundle(5) documents:
 * sizes and header, signer key, signature, metadata, entries, the
 * sealed entries opened (bundle_seal.c), content.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "bundle.h"

struct header {
	uint16_t	 format;
	uint16_t	 alg;
	const uint8_t	*keyid;
	uint32_t	 bodylen;
};

static enum bundle_check
check_header(const uint8_t *data, size_t len, struct header *h, struct err *e)
{
	struct cursor c;
	const uint8_t *magic;

	if (len > BUNDLE_MAX_SIZE)
		return err_set(e, "bundle is %zu bytes; the limit is %d", len,
		    BUNDLE_MAX_SIZE), BC_SIZE;
	if (len < BUNDLE_HEADER_LEN + SIG_LEN)
		return err_set(e, "bundle is %zu bytes: truncated", len), BC_SIZE;
	cur_init(&c, data, len);
	cur_bytes(&c, 8, &magic);
	if (memcmp(magic, BUNDLE_MAGIC, 8) != 0)
		return err_set(e, "not a certpush bundle (bad magic)"), BC_MAGIC;
	cur_u16(&c, &h->format);
	cur_u16(&c, &h->alg);
	cur_bytes(&c, SIG_KEYID_LEN, &h->keyid);
	cur_u32(&c, &h->bodylen);
	if (h->format != BUNDLE_FORMAT && h->format != BUNDLE_FORMAT_SEALED)
		return err_set(e, "unsupported format version %u (this certpull reads "
		    "%d and %d)", h->format, BUNDLE_FORMAT, BUNDLE_FORMAT_SEALED),
		    BC_FORMAT;
	if (h->alg != BUNDLE_ALG_ED25519)
		return err_set(e, "unknown signature algorithm %u", h->alg), BC_ALGORITHM;
	if ((size_t)h->bodylen != len - BUNDLE_HEADER_LEN - SIG_LEN)
		return err_set(e, "declared body length %u does not match the %zu bytes "
		    "received (truncated or padded)", h->bodylen,
		    len - BUNDLE_HEADER_LEN - SIG_LEN), BC_LENGTH;
	return BC_OK;
}

static const struct pubkey *
find_key(const struct verify_policy *pol, const uint8_t *keyid)
{
	size_t i;

	for (i = 0; i < pol->ntrusted; i++)
		if (memcmp(pol->trusted[i].id, keyid, SIG_KEYID_LEN) == 0)
			return &pol->trusted[i];
	return NULL;
}

static enum bundle_check
check_signer(const uint8_t *data, size_t len, const struct header *h,
    const struct verify_policy *pol, struct err *e)
{
	const struct pubkey *pk = find_key(pol, h->keyid);
	char got[2 * SIG_KEYID_LEN + 1], want[2 * SIG_KEYID_LEN + 1];

	sig_keyid_hex(h->keyid, got);
	if (pk == NULL) {
		if (pol->ntrusted == 0)
			snprintf(want, sizeof(want), "none");
		else
			sig_keyid_hex(pol->trusted[0].id, want);
		return err_set(e, "signed with key %s, which is not trusted "
		    "(trusted: %s%s)", got, want, pol->ntrusted > 1 ? ", ..." : ""),
		    BC_KEY;
	}
	if (sig_verify(pk, data, len - SIG_LEN, data + len - SIG_LEN) == -1)
		return err_set(e, "bad signature (key %s)", got), BC_SIGNATURE;
	return BC_OK;
}

/* Reads a u8-length-prefixed string into out (size BUNDLE_NAME_MAX + 1). */
static int
cur_name(struct cursor *c, char *out)
{
	const uint8_t *p;
	uint8_t n;

	if (cur_u8(c, &n) == -1 || n > BUNDLE_NAME_MAX || cur_bytes(c, n, &p) == -1)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return memchr(out, '\0', n) == NULL ? 0 : -1;
}

static enum bundle_check
check_metadata(struct cursor *c, const struct verify_policy *pol,
    struct bundle *b, struct err *e)
{
	const uint8_t *recipient;
	uint16_t version;

	if (cur_u16(c, &b->type) == -1 || cur_u16(c, &version) == -1 ||
	    cur_u64(c, &b->serial) == -1 || cur_u64(c, &b->created) == -1 ||
	    cur_u64(c, &b->expires) == -1 || cur_name(c, b->audience) == -1 ||
	    (b->format == BUNDLE_FORMAT_SEALED &&
	    cur_bytes(c, SIG_KEYID_LEN, &recipient) == -1))
		return err_set(e, "malformed metadata"), BC_METADATA;
	if (b->format == BUNDLE_FORMAT_SEALED)
		memcpy(b->recipient, recipient, SIG_KEYID_LEN);
	if (b->type != BUNDLE_TYPE_CERTS)
		return err_set(e, "unknown bundle type %u", b->type), BC_METADATA;
	if (version != b->format)
		return err_set(e, "signed format version %u disagrees with the header",
		    version), BC_METADATA;
	if (b->created > b->expires)
		return err_set(e, "created after it expires"), BC_METADATA;
	if (strcmp(b->audience, pol->audience) != 0)
		return err_set(e, "bundle is for node \"%s\", this node is \"%s\"",
		    b->audience, pol->audience), BC_AUDIENCE;
	if ((uint64_t)pol->now > b->expires)
		return err_set(e, "bundle serial %llu expired at %llu",
		    (unsigned long long)b->serial, (unsigned long long)b->expires),
		    BC_EXPIRED;
	return BC_OK;
}

static enum bundle_check
check_serial(const struct verify_policy *pol, const struct bundle *b,
    int *unchanged, struct err *e)
{
	*unchanged = 0;
	if (!pol->have_installed || b->serial > pol->installed_serial)
		return BC_OK;
	if (b->serial < pol->installed_serial)
		return err_set(e, "serial %llu is older than the installed serial %llu "
		    "(replay or rollback refused)", (unsigned long long)b->serial,
		    (unsigned long long)pol->installed_serial), BC_SERIAL;
	if (CRYPTO_memcmp(b->digest, pol->installed_digest, 32) != 0)
		return err_set(e, "serial %llu is already installed with different "
		    "content", (unsigned long long)b->serial), BC_SERIAL;
	*unchanged = 1;
	return BC_OK;
}

static int
entry_name_split(struct bundle_entry *en, struct err *e)
{
	const char *slash = strrchr(en->name, '/');
	const char *kind = bundle_kind_name(en->kind);

	if (en->name[0] == '/')
		return err_set(e, "entry name \"%s\" is absolute", en->name);
	if (strstr(en->name, "..") != NULL)
		return err_set(e, "entry name \"%s\" contains \"..\"", en->name);
	if (kind == NULL)
		return err_set(e, "entry \"%s\" has unknown kind %u", en->name, en->kind);
	if (slash == NULL || strcmp(slash + 1, kind) != 0 ||
	    (size_t)(slash - en->name) >= sizeof(en->item))
		return err_set(e, "entry name \"%s\" is not ITEM/%s", en->name, kind);
	snprintf(en->item, sizeof(en->item), "%.*s", (int)(slash - en->name), en->name);
	if (bundle_name_ok(en->item) == -1)
		return err_set(e, "entry name \"%s\": invalid item name", en->name);
	return 0;
}

static enum bundle_check
read_entry(struct cursor *c, struct bundle *b, size_t i, struct err *e)
{
	struct bundle_entry *en = &b->entries[i];
	const uint8_t *hash;
	uint8_t md[32];
	uint32_t size;
	size_t j;

	if (cur_name(c, en->name) == -1 || cur_u8(c, &en->kind) == -1 ||
	    cur_u32(c, &size) == -1 || cur_bytes(c, 32, &hash) == -1)
		return err_set(e, "entry %zu: malformed", i + 1), BC_ENTRY;
	/* In format 1, the flag makes an unknown kind. */
	if (b->format == BUNDLE_FORMAT_SEALED && (en->kind & KIND_SEALED) != 0) {
		en->kind &= (uint8_t)~KIND_SEALED;
		en->sealed = 1;
	}
	if (entry_name_split(en, e) == -1)
		return BC_ENTRY;
	if (b->format == BUNDLE_FORMAT_SEALED &&
	    en->sealed != bundle_kind_secret(en->kind))
		return err_set(e, "entry \"%s\" is %s: in format %d, private keys "
		    "are sealed and nothing else is", en->name, en->sealed ? "sealed" :
		    "in clear", BUNDLE_FORMAT_SEALED), BC_ENTRY;
	for (j = 0; j < i; j++)
		if (strcmp(b->entries[j].name, en->name) == 0)
			return err_set(e, "duplicate entry \"%s\"", en->name), BC_ENTRY;
	if (size > BUNDLE_MAX_ENTRY_SIZE)
		return err_set(e, "entry \"%s\" is %u bytes; the limit is %d", en->name,
		    size, BUNDLE_MAX_ENTRY_SIZE), BC_ENTRY;
	if (cur_bytes(c, size, &en->data) == -1)
		return err_set(e, "entry \"%s\" declares %u bytes past the end",
		    en->name, size), BC_ENTRY;
	en->len = size;
	memcpy(en->sha256, hash, 32);
	SHA256(en->data, en->len, md);
	if (CRYPTO_memcmp(md, en->sha256, 32) != 0)
		return err_set(e, "entry \"%s\": SHA-256 mismatch", en->name), BC_HASH;
	return BC_OK;
}

static enum bundle_check
check_entries(struct cursor *c, struct bundle *b, struct err *e)
{
	enum bundle_check r;
	uint16_t n;
	size_t i;

	if (cur_u16(c, &n) == -1)
		return err_set(e, "malformed entry count"), BC_ENTRY;
	if (n == 0 || n > BUNDLE_MAX_ENTRIES)
		return err_set(e, "%u entries; between 1 and %d are allowed", n,
		    BUNDLE_MAX_ENTRIES), BC_ENTRY;
	for (i = 0; i < n; i++)
		if ((r = read_entry(c, b, i, e)) != BC_OK)
			return r;
	b->nentries = n;
	if (c->left != 0)
		return err_set(e, "%zu bytes of trailing data after the entries",
		    c->left), BC_ENTRY;
	return BC_OK;
}

enum bundle_check
bundle_verify(const uint8_t *data, size_t len, const struct verify_policy *pol,
    struct bundle *b, int *unchanged, struct err *e)
{
	struct header h;
	struct cursor c;
	enum bundle_check r;

	memset(b, 0, sizeof(*b));
	*unchanged = 0;
	if ((r = check_header(data, len, &h, e)) != BC_OK ||
	    (r = check_signer(data, len, &h, pol, e)) != BC_OK)
		return r;
	memcpy(b->keyid, h.keyid, SIG_KEYID_LEN);
	b->format = h.format;
	SHA256(data, len, b->digest);
	cur_init(&c, data + BUNDLE_HEADER_LEN, h.bodylen);
	if ((r = check_metadata(&c, pol, b, e)) != BC_OK ||
	    (r = check_serial(pol, b, unchanged, e)) != BC_OK ||
	    (r = check_entries(&c, b, e)) != BC_OK ||
	    (r = bundle_check_seal(pol, b, e)) != BC_OK ||
	    (r = bundle_check_content_keep(b, pol->now, pol->keep, e)) != BC_OK) {
		bundle_release(b);
		return r;
	}
	return BC_OK;
}
