/*
 * Content checks of a bundle's entries: every PEM parses, every chain has
 * its key and every key its chain, keys match, chains are in order, and
 * every certificate is valid now and outlives the bundle.
 */
#include <string.h>

#include <openssl/x509.h>

#include "bundle.h"
#include "cert.h"

static const struct bundle_entry *
find_entry(const struct bundle *b, const char *item, uint8_t kind)
{
	size_t i;

	for (i = 0; i < b->nentries; i++)
		if (b->entries[i].kind == kind && strcmp(b->entries[i].item, item) == 0)
			return &b->entries[i];
	return NULL;
}

static enum bundle_check
check_chain_times(const struct bundle *b, STACK_OF(X509) *chain,
    const char *item, time_t now, struct err *e)
{
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		struct err why;

		if (cert_check_time(x, now, &why) == -1)
			return err_set(e, "%s: %s", item, why.msg), BC_CERTTIME;
		if ((uint64_t)cert_not_after(x) < b->expires)
			return err_set(e, "%s: bundle expiry is later than the "
			    "certificate's notAfter", item), BC_METADATA;
	}
	return BC_OK;
}

/* Hands obj over to keep (at entry en's index) if keep is not NULL. */
#define KEEP(keep, field, b, en, obj) do {				\
	if ((keep) != NULL) {						\
		(keep)->field[(en) - (b)->entries] = (obj);		\
		(obj) = NULL;						\
	}								\
} while (0)

static enum bundle_check
check_pair(const struct bundle *b, const struct bundle_entry *chain_en,
    time_t now, struct bundle_parsed *keep, struct err *e)
{
	const struct bundle_entry *key_en = find_entry(b, chain_en->item, KIND_KEY);
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	enum bundle_check r = BC_PEM;
	struct err why;

	if (key_en == NULL) {
		err_set(e, "%s: certificate chain without its private key", chain_en->item);
		goto out;
	}
	if ((chain = cert_parse_chain(chain_en->data, chain_en->len, &why)) == NULL ||
	    (key = cert_parse_key(key_en->data, key_en->len, &why)) == NULL) {
		err_set(e, "%s: %s", chain_en->item, why.msg);
		goto out;
	}
	r = BC_KEYMATCH;
	if (cert_check_pair(sk_X509_value(chain, 0), key, &why) == -1) {
		err_set(e, "%s: %s", chain_en->item, why.msg);
		goto out;
	}
	r = BC_CHAIN;
	if (cert_check_order(chain, &why) == -1) {
		err_set(e, "%s: %s", chain_en->item, why.msg);
		goto out;
	}
	if ((r = check_chain_times(b, chain, chain_en->item, now, e)) == BC_OK) {
		KEEP(keep, chain, b, chain_en, chain);
		KEEP(keep, key, b, key_en, key);
	}
out:
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

static enum bundle_check
check_dkim(const struct bundle *b, const struct bundle_entry *en,
    struct bundle_parsed *keep, struct err *e)
{
	EVP_PKEY *key;
	struct err why;
	int rc;

	if ((key = cert_parse_key(en->data, en->len, &why)) == NULL)
		return err_set(e, "%s: %s", en->item, why.msg), BC_PEM;
	if ((rc = cert_check_dkim_key(key, &why)) == 0)
		KEEP(keep, key, b, en, key);
	EVP_PKEY_free(key);
	if (rc == -1)
		return err_set(e, "%s: %s", en->item, why.msg), BC_PEM;
	return BC_OK;
}

void
bundle_parsed_free(struct bundle_parsed *p)
{
	size_t i;

	for (i = 0; p != NULL && i < BUNDLE_MAX_ENTRIES; i++) {
		sk_X509_pop_free(p->chain[i], X509_free);
		EVP_PKEY_free(p->key[i]);
		p->chain[i] = NULL;
		p->key[i] = NULL;
	}
}

enum bundle_check
bundle_check_content(const struct bundle *b, time_t now, struct err *e)
{
	return bundle_check_content_keep(b, now, NULL, e);
}

enum bundle_check
bundle_check_content_keep(const struct bundle *b, time_t now,
    struct bundle_parsed *keep, struct err *e)
{
	enum bundle_check r;
	size_t i;

	for (i = 0; i < b->nentries; i++) {
		const struct bundle_entry *en = &b->entries[i];

		switch (en->kind) {
		case KIND_CHAIN:
			r = check_pair(b, en, now, keep, e);
			break;
		case KIND_KEY:
			r = find_entry(b, en->item, KIND_CHAIN) ? BC_OK :
			    (err_set(e, "%s: private key without its certificate",
			    en->item), BC_PEM);
			break;
		case KIND_DKIM:
			r = check_dkim(b, en, keep, e);
			break;
		default:
			r = (err_set(e, "%s: unknown kind", en->name), BC_ENTRY);
			break;
		}
		if (r != BC_OK) {
			bundle_parsed_free(keep);
			return r;
		}
	}
	return BC_OK;
}
