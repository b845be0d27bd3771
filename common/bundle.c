#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "bundle.h"

static const char *const check_names[] = {
	[BC_OK] = "ok",
	[BC_SIZE] = "size",
	[BC_MAGIC] = "magic",
	[BC_FORMAT] = "format",
	[BC_ALGORITHM] = "algorithm",
	[BC_LENGTH] = "length",
	[BC_KEY] = "key",
	[BC_SIGNATURE] = "signature",
	[BC_METADATA] = "metadata",
	[BC_AUDIENCE] = "audience",
	[BC_EXPIRED] = "expired",
	[BC_SERIAL] = "serial",
	[BC_ENTRY] = "entry",
	[BC_HASH] = "hash",
	[BC_SEAL] = "seal",
	[BC_PEM] = "pem",
	[BC_KEYMATCH] = "keymatch",
	[BC_CHAIN] = "chain",
	[BC_CERTTIME] = "certtime",
};

const char *
bundle_check_name(enum bundle_check c)
{
	if ((size_t)c >= sizeof(check_names) / sizeof(check_names[0]))
		return "unknown";
	return check_names[c];
}

const char *
bundle_kind_name(uint8_t kind)
{
	switch (kind) {
	case KIND_CHAIN:
		return "chain";
	case KIND_KEY:
		return "key";
	case KIND_DKIM:
		return "dkim";
	}
	return NULL;
}

int
bundle_kind_secret(uint8_t kind)
{
	return kind == KIND_KEY || kind == KIND_DKIM;
}

int
bundle_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > BUNDLE_NAME_MAX - 6 || name[0] == '.' || name[0] == '-' ||
	    strstr(name, "..") != NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", name[i]) == NULL)
			return -1;
	return 0;
}

int
bundle_add_entry(struct bundle *b, const char *item, enum entry_kind kind,
    const void *data, size_t len, struct err *e)
{
	struct bundle_entry *en;

	if (bundle_name_ok(item) == -1)
		return err_set(e, "invalid item name \"%s\"", item);
	if (b->nentries >= BUNDLE_MAX_ENTRIES)
		return err_set(e, "more than %d entries", BUNDLE_MAX_ENTRIES);
	if (len > BUNDLE_MAX_ENTRY_SIZE)
		return err_set(e, "%s: larger than %d bytes", item, BUNDLE_MAX_ENTRY_SIZE);
	en = &b->entries[b->nentries++];
	memset(en, 0, sizeof(*en));
	snprintf(en->item, sizeof(en->item), "%s", item);
	snprintf(en->name, sizeof(en->name), "%s/%s", item, bundle_kind_name(kind));
	en->kind = kind;
	en->data = data;
	en->len = len;
	SHA256(data, len, en->sha256);
	return 0;
}

/*
 * The format b is encoded in: 2 when its secret entries are sealed, 1
 * when none is (a bundle older certpulls still read).  A mix, or a
 * sealed certificate chain, is refused: -1 with e set.
 */
static int
encode_format(struct bundle *b, struct err *e)
{
	size_t i, nsecret = 0, nsealed = 0;

	for (i = 0; i < b->nentries; i++) {
		const struct bundle_entry *en = &b->entries[i];

		if (en->sealed && !bundle_kind_secret(en->kind))
			return err_set(e, "%s: only private keys are sealed", en->name);
		nsecret += bundle_kind_secret(en->kind) != 0;
		nsealed += en->sealed != 0;
	}
	if (nsealed != 0 && nsealed != nsecret)
		return err_set(e, "sealed and clear private keys in one bundle");
	b->format = nsealed != 0 ? BUNDLE_FORMAT_SEALED : BUNDLE_FORMAT;
	return 0;
}

static int
encode_body(const struct bundle *b, struct buf *out)
{
	size_t i;
	int rc = 0;

	rc |= buf_add_u16(out, b->type);
	rc |= buf_add_u16(out, b->format);
	rc |= buf_add_u64(out, b->serial);
	rc |= buf_add_u64(out, b->created);
	rc |= buf_add_u64(out, b->expires);
	rc |= buf_add_u8(out, (uint8_t)strlen(b->audience));
	rc |= buf_add_str(out, b->audience);
	if (b->format == BUNDLE_FORMAT_SEALED)
		rc |= buf_add(out, b->recipient, sizeof(b->recipient));
	rc |= buf_add_u16(out, (uint16_t)b->nentries);
	for (i = 0; i < b->nentries; i++) {
		const struct bundle_entry *en = &b->entries[i];

		rc |= buf_add_u8(out, (uint8_t)strlen(en->name));
		rc |= buf_add_str(out, en->name);
		rc |= buf_add_u8(out, en->kind | (en->sealed ? KIND_SEALED : 0));
		rc |= buf_add_u32(out, (uint32_t)en->len);
		rc |= buf_add(out, en->sha256, sizeof(en->sha256));
		rc |= buf_add(out, en->data, en->len);
	}
	return rc ? -1 : 0;
}

int
bundle_encode(struct bundle *b, EVP_PKEY *sk, struct buf *out, struct err *e)
{
	struct pubkey pk;
	uint8_t sig[SIG_LEN];
	size_t start = out->len, bodylen;
	int rc = 0;

	if (bundle_name_ok(b->audience) == -1)
		return err_set(e, "invalid audience \"%s\"", b->audience);
	if (encode_format(b, e) == -1 || sig_pubkey_of(sk, &pk, e) == -1)
		return -1;
	memcpy(b->keyid, pk.id, sizeof(b->keyid));
	rc |= buf_add(out, BUNDLE_MAGIC, 8);
	rc |= buf_add_u16(out, b->format);
	rc |= buf_add_u16(out, BUNDLE_ALG_ED25519);
	rc |= buf_add(out, b->keyid, sizeof(b->keyid));
	rc |= buf_add_u32(out, 0);	/* body length, patched below */
	rc |= encode_body(b, out);
	if (rc != 0)
		return err_set(e, "out of memory");
	bodylen = out->len - start - BUNDLE_HEADER_LEN;
	if (bodylen + BUNDLE_HEADER_LEN + SIG_LEN > BUNDLE_MAX_SIZE)
		return err_set(e, "bundle would exceed %d bytes", BUNDLE_MAX_SIZE);
	out->data[start + 20] = (uint8_t)(bodylen >> 24);
	out->data[start + 21] = (uint8_t)(bodylen >> 16);
	out->data[start + 22] = (uint8_t)(bodylen >> 8);
	out->data[start + 23] = (uint8_t)bodylen;
	if (sig_sign(sk, out->data + start, out->len - start, sig, e) == -1)
		return -1;
	if (buf_add(out, sig, sizeof(sig)) == -1)
		return err_set(e, "out of memory");
	SHA256(out->data + start, out->len - start, b->digest);
	return 0;
}
