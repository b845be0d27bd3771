#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "build.h"
#include "bundle.h"
#include "collect.h"

/* The digest of a bundle's entry names and contents.  0 or -1. */
static int
entries_digest(const struct bundle *b, uint8_t out[32], struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t i;
	int rc;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(e, "out of memory");
	}
	for (i = 0; i < b->nentries; i++) {
		EVP_DigestUpdate(md, b->entries[i].name, strlen(b->entries[i].name) + 1);
		EVP_DigestUpdate(md, b->entries[i].sha256, sizeof(b->entries[i].sha256));
	}
	rc = EVP_DigestFinal_ex(md, out, NULL) == 1 ? 0 : err_set(e, "digest failed");
	EVP_MD_CTX_free(md);
	return rc;
}

int
build_items(const struct pushconf *c, const struct target *t, time_t now,
    struct built_items *bi, struct err *e)
{
	if (collect_target(c, t, now, &bi->col, e) == -1)
		return -1;
	return build_seal(c, bi, now, e);
}

int
build_seal(const struct pushconf *c, struct built_items *bi, time_t now, struct err *e)
{
	struct bundle *b = &bi->col.bundle;
	time_t cap = now + (time_t)c->bundle_days * 86400;

	b->created = (uint64_t)now;
	/* A bundle never outlives the certificates it carries. */
	b->expires = (uint64_t)(bi->col.earliest_expiry != 0 &&
	    bi->col.earliest_expiry < cap ? bi->col.earliest_expiry : cap);
	if (bundle_check_content(b, now, e) != BC_OK)
		return -1;
	return entries_digest(b, bi->content, e);
}

int
build_sign(const struct built_items *bi, const struct target *t, EVP_PKEY *sk,
    uint64_t serial, struct buf *out, struct err *e)
{
	struct bundle b = bi->col.bundle;	/* bundle_encode writes to it */
	struct buf sealed[BUNDLE_MAX_ENTRIES] = { { 0 } };
	size_t i, start = out->len;
	int rc = -1;

	if ((size_t)snprintf(b.audience, sizeof(b.audience), "%s", t->name) >=
	    sizeof(b.audience))
		return err_set(e, "node name \"%s\" is too long", t->name);
	b.serial = serial;
	/* Sealed after the content checks (build_items), before signing. */
	if ((!t->sealed || bundle_seal(&b, &t->recipient, sealed, e) == 0) &&
	    bundle_encode(&b, sk, out, e) == 0)
		rc = 0;
	else
		out->len = start;
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		buf_free(&sealed[i]);
	return rc;
}

void
built_items_free(struct built_items *bi)
{
	collected_free(&bi->col);
}

int
build_bundle(const struct pushconf *c, const struct target *t, EVP_PKEY *sk,
    uint64_t serial, time_t now, struct buf *out, struct err *e)
{
	struct built_items bi;
	int rc;

	rc = build_items(c, t, now, &bi, e) == 0 &&
	    build_sign(&bi, t, sk, serial, out, e) == 0 ? 0 : -1;
	built_items_free(&bi);
	return rc;
}

void
target_content(const struct target *t, const uint8_t items[32], uint8_t out[32])
{
	uint8_t both[32 + SEAL_KEY_LEN];

	if (!t->sealed) {
		memmove(out, items, 32);
		return;
	}
	memcpy(both, items, 32);
	memcpy(both + 32, t->recipient.raw, SEAL_KEY_LEN);
	SHA256(both, sizeof(both), out);
}

int
content_digest(const struct pushconf *c, const struct target *t, time_t now,
    uint8_t out[32], struct err *e)
{
	struct collected col;
	uint8_t items[32];
	int rc;

	rc = collect_target(c, t, now, &col, e) == 0 ?
	    entries_digest(&col.bundle, items, e) : -1;
	collected_free(&col);
	if (rc == 0)
		target_content(t, items, out);
	return rc;
}
