#include <string.h>

#include <openssl/evp.h>

#include "build.h"
#include "bundle.h"
#include "collect.h"

int
build_bundle(const struct pushconf *c, const struct target *t, EVP_PKEY *sk,
    uint64_t serial, time_t now, struct buf *out, struct err *e)
{
	struct collected col;
	struct bundle *b = &col.bundle;
	time_t cap = now + (time_t)c->bundle_days * 86400;
	size_t start = out->len;
	int rc = -1;

	if (collect_target(c, t, now, &col, e) == -1)
		goto out;
	b->serial = serial;
	b->created = (uint64_t)now;
	/* A bundle never outlives the certificates it carries. */
	b->expires = (uint64_t)(col.earliest_expiry != 0 && col.earliest_expiry < cap ?
	    col.earliest_expiry : cap);
	if (bundle_check_content(b, now, e) != BC_OK)
		goto out;
	if (bundle_encode(b, sk, out, e) == -1) {
		out->len = start;
		goto out;
	}
	rc = 0;
out:
	collected_free(&col);
	return rc;
}

int
content_digest(const struct pushconf *c, const struct target *t, time_t now,
    uint8_t out[32], struct err *e)
{
	struct collected col;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t i;
	int rc = -1;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(e, "out of memory");
	}
	if (collect_target(c, t, now, &col, e) == 0) {
		for (i = 0; i < col.bundle.nentries; i++) {
			const struct bundle_entry *en = &col.bundle.entries[i];

			EVP_DigestUpdate(md, en->name, strlen(en->name) + 1);
			EVP_DigestUpdate(md, en->sha256, sizeof(en->sha256));
		}
		rc = EVP_DigestFinal_ex(md, out, NULL) == 1 ? 0 : err_set(e, "digest failed");
	}
	EVP_MD_CTX_free(md);
	collected_free(&col);
	return rc;
}
