/* The fixture of the bundle tests: see bundlefixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "bundlecraft.h"
#include "bundlefixture.h"

struct fixture *F;

int
group_setup(void **state)
{
	struct err e;

	(void)state;
	if ((F = calloc(1, sizeof(*F))) == NULL ||
	    tc_pki_new(&F->pki, time(NULL)) == -1 ||
	    (F->sk = sig_keygen(&e)) == NULL || (F->sk2 = sig_keygen(&e)) == NULL ||
	    sig_pubkey_of(F->sk, &F->pk, &e) == -1 ||
	    sig_pubkey_of(F->sk2, &F->pk2, &e) == -1)
		return -1;
	return 0;
}

int
group_teardown(void **state)
{
	(void)state;
	if (F != NULL) {
		tc_pki_free(&F->pki);
		EVP_PKEY_free(F->sk);
		EVP_PKEY_free(F->sk2);
		free(F);
		F = NULL;
	}
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

void
policy_init(struct verify_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->trusted = &F->pk;
	pol->ntrusted = 1;
	pol->audience = AUDIENCE;
	pol->now = F->pki.now;
}

/* An empty bundle for AUDIENCE, created a minute ago, valid 30 days. */
void
bundle_init(struct bundle *b)
{
	memset(b, 0, sizeof(*b));
	b->type = BUNDLE_TYPE_CERTS;
	b->serial = SERIAL;
	b->created = (uint64_t)F->pki.now - 60;
	b->expires = (uint64_t)F->pki.now + 30 * TC_DAY;
	snprintf(b->audience, sizeof(b->audience), "%s", AUDIENCE);
}

void
add(struct bundle *b, const char *item, enum entry_kind kind, const char *pem)
{
	struct err e = { "" };

	if (bundle_add_entry(b, item, kind, pem, strlen(pem), &e) == -1)
		fail_msg("bundle_add_entry %s: %s", item, e.msg);
}

void
encode(struct bundle *b, EVP_PKEY *sk, struct buf *out)
{
	struct err e = { "" };

	if (bundle_encode(b, sk, out, &e) == -1)
		fail_msg("bundle_encode: %s", e.msg);
}

/* The small bundle: the ECDSA chain (leaf + intermediate) and its key. */
void
small_bundle(struct bundle *b, struct buf *out)
{
	bundle_init(b);
	add(b, "www", KIND_CHAIN, F->pki.ec_chain);
	add(b, "www", KIND_KEY, F->pki.ec_keypem);
	encode(b, F->sk, out);
}

/* Verifies data[0..len) from an exact-size copy. */
enum bundle_check
verify(const void *data, size_t len, const struct verify_policy *pol,
    struct bundle *out, int *unchanged, struct err *e)
{
	uint8_t *p = tb_exact_copy(data, len);
	enum bundle_check r;

	e->msg[0] = '\0';
	r = bundle_verify(p, len, pol, out, unchanged, e);
	free(p);
	return r;
}

/* The metadata bundle_init would encode, then the entry count. */
void
body_start(struct buf *b, uint16_t count)
{
	tb_body_meta(b, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT, SERIAL,
	    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + 30 * TC_DAY, AUDIENCE);
	assert_int_equal(buf_add_u16(b, count), 0);
}

/* A body with the ECDSA pair under the given entry names and kinds. */
void
body_pair(struct buf *b, const char *chain_name, uint8_t chain_kind,
    const char *key_name, uint8_t key_kind)
{
	body_start(b, 2);
	tb_body_entry(b, chain_name, chain_kind, F->pki.ec_chain);
	tb_body_entry(b, key_name, key_kind, F->pki.ec_keypem);
}

void
assert_same_entries(const struct bundle *a, const struct bundle *b)
{
	size_t i;

	assert_int_equal(a->nentries, b->nentries);
	for (i = 0; i < a->nentries; i++) {
		const struct bundle_entry *x = &a->entries[i], *y = &b->entries[i];

		assert_string_equal(x->name, y->name);
		assert_string_equal(x->item, y->item);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
		assert_memory_equal(x->sha256, y->sha256, 32);
	}
}
