/*
 * The sealed entries of a bundle (format 2): sealing on the front, and
 * on the node the seal check, which runs after the signature and every
 * structural check and before the content checks, so that nothing
 * unsigned is ever decrypted and nothing decrypted goes unchecked.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bundle.h"

int
bundle_seal(struct bundle *b, const struct seal_pub *to,
    struct buf store[BUNDLE_MAX_ENTRIES], struct err *e)
{
	size_t i;

	for (i = 0; i < b->nentries; i++) {
		struct bundle_entry *en = &b->entries[i];

		if (!bundle_kind_secret(en->kind) || en->sealed)
			continue;
		if (seal_box(to, en->data, en->len, &store[i], e) == -1)
			return -1;
		if (store[i].len > BUNDLE_MAX_ENTRY_SIZE)
			return err_set(e, "%s: larger than %d bytes once sealed", en->name,
			    BUNDLE_MAX_ENTRY_SIZE);
		en->data = store[i].data;
		en->len = store[i].len;
		en->sealed = 1;
		SHA256(en->data, en->len, en->sha256);
	}
	memcpy(b->recipient, to->id, sizeof(b->recipient));
	return 0;
}

/* Opens every sealed entry of b with k into b->opened.  BC_OK or BC_SEAL. */
static enum bundle_check
open_entries(struct bundle *b, const struct seal_key *k, struct err *e)
{
	char id[2 * SIG_KEYID_LEN + 1];
	size_t i;

	if ((b->opened = calloc(BUNDLE_MAX_ENTRIES, sizeof(*b->opened))) == NULL)
		return err_set(e, "out of memory"), BC_SEAL;
	sig_keyid_hex(k->pub.id, id);
	for (i = 0; i < b->nentries; i++) {
		struct bundle_entry *en = &b->entries[i];

		if (!en->sealed)
			continue;
		if (seal_open(k, en->data, en->len, &b->opened[i]) == -1)
			return err_set(e, "entry \"%s\" does not open with this node's key "
			    "%s: sealed to another node's key, or damaged before it was "
			    "signed", en->name, id), BC_SEAL;
		en->data = b->opened[i].data;
		en->len = b->opened[i].len;
	}
	return BC_OK;
}

enum bundle_check
bundle_check_seal(const struct verify_policy *pol, struct bundle *b, struct err *e)
{
	char want[2 * SIG_KEYID_LEN + 1], have[2 * SIG_KEYID_LEN + 1];

	if (b->format != BUNDLE_FORMAT_SEALED) {
		if (pol->open_key == NULL)
			return BC_OK;
		return err_set(e, "the bundle carries its private keys in clear (format "
		    "%u), but this node has a secret_key: refused as a downgrade (give "
		    "this node's target its recipient in certpush.yaml)", b->format),
		    BC_SEAL;
	}
	sig_keyid_hex(b->recipient, want);
	if (pol->open_key == NULL)
		return err_set(e, "the bundle's private keys are sealed to key %s, and "
		    "this node has no secret_key to open them (see certpull keygen)",
		    want), BC_SEAL;
	sig_keyid_hex(pol->open_key->pub.id, have);
	if (memcmp(b->recipient, pol->open_key->pub.id, SIG_KEYID_LEN) != 0)
		return err_set(e, "the bundle's private keys are sealed to key %s, this "
		    "node's secret_key is %s: sealed to another node's key", want, have),
		    BC_SEAL;
	return open_entries(b, pol->open_key, e);
}

void
bundle_release(struct bundle *b)
{
	size_t i;

	if (b->opened == NULL)
		return;
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		buf_free(&b->opened[i]);
	free(b->opened);
	b->opened = NULL;
}
