/*
 * The signed bundle: encoding, the round trip with real certificates and
 * keys made in the group setup (bundlefixture.c), and every byte flip
 * and truncation of a small bundle.  The table of forged and faulty
 * bundles, one per check, is in test_bundle_forged.c.  Bundles under test
 * are copied into buffers of their exact length, so that ASan sees any
 * read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "sig.h"

#include "testcerts.c"
#include "testutil.c"
#include "bundlecraft.c"
#include "bundlefixture.c"

/* ---- round trip ------------------------------------------------------- */

static void
test_round_trip(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	int unchanged = -1;

	(void)state;
	bundle_init(&in);
	add(&in, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(&in, "mail", KIND_KEY, F->pki.rsa_keypem);
	add(&in, "www", KIND_CHAIN, F->pki.ec_chain);
	add(&in, "www", KIND_KEY, F->pki.ec_keypem);
	add(&in, "dkim-2026", KIND_DKIM, F->pki.dkim_keypem);
	encode(&in, F->sk, &enc);
	assert_memory_equal(in.keyid, F->pk.id, SIG_KEYID_LEN);
	assert_memory_equal(enc.data, BUNDLE_MAGIC, 8);

	policy_init(&pol);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_int_equal(unchanged, 0);
	assert_int_equal(out.type, BUNDLE_TYPE_CERTS);
	assert_int_equal(out.serial, in.serial);
	assert_int_equal(out.created, in.created);
	assert_int_equal(out.expires, in.expires);
	assert_string_equal(out.audience, AUDIENCE);
	assert_memory_equal(out.keyid, F->pk.id, SIG_KEYID_LEN);
	assert_memory_equal(out.digest, in.digest, 32);
	assert_same_entries(&in, &out);
	assert_string_equal(out.entries[0].name, "mail/chain");
	assert_string_equal(out.entries[1].name, "mail/key");
	assert_string_equal(out.entries[4].name, "dkim-2026/dkim");
	assert_string_equal(out.entries[4].item, "dkim-2026");

	/* The same bundle again, as installed: accepted, and unchanged. */
	pol.have_installed = 1;
	pol.installed_serial = SERIAL;
	memcpy(pol.installed_digest, in.digest, 32);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_int_equal(unchanged, 1);
	assert_same_entries(&in, &out);

	/* An older serial installed: a normal update. */
	pol.installed_serial = SERIAL - 1;
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_int_equal(unchanged, 0);
	buf_free(&enc);
}

/* Several trusted keys: the signer is found among them. */
static void
test_second_trusted_key(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct pubkey keys[2];
	struct err e;
	int unchanged;

	(void)state;
	bundle_init(&in);
	add(&in, "www", KIND_CHAIN, F->pki.ec_chain);
	add(&in, "www", KIND_KEY, F->pki.ec_keypem);
	encode(&in, F->sk2, &enc);
	policy_init(&pol);
	keys[0] = F->pk;
	keys[1] = F->pk2;
	pol.trusted = keys;
	pol.ntrusted = 2;
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_memory_equal(out.keyid, F->pk2.id, SIG_KEYID_LEN);
	buf_free(&enc);
}

/* ---- every byte flipped, every truncation ----------------------------- */

static enum bundle_check
expected_for_offset(size_t i)
{
	if (i < 8)
		return BC_MAGIC;
	if (i < 10)
		return BC_FORMAT;
	if (i < 12)
		return BC_ALGORITHM;
	if (i < 20)
		return BC_KEY;
	if (i < 24)
		return BC_LENGTH;
	return BC_SIGNATURE;
}

static void
test_every_byte_flip(void **state)
{
	struct bundle b, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e;
	uint8_t *p;
	size_t i;
	int unchanged;

	(void)state;
	small_bundle(&b, &enc);
	policy_init(&pol);
	p = tb_exact_copy(enc.data, enc.len);
	assert_int_equal(bundle_verify(p, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	for (i = 0; i < enc.len; i++) {
		enum bundle_check want = expected_for_offset(i), got;

		p[i] ^= 0xFF;
		e.msg[0] = '\0';
		got = bundle_verify(p, enc.len, &pol, &out, &unchanged, &e);
		p[i] ^= 0xFF;
		if (got != want)
			fail_msg("byte %zu of %zu flipped: got %s (%s), want %s", i,
			    enc.len, bundle_check_name(got), e.msg,
			    bundle_check_name(want));
		if (e.msg[0] == '\0')
			fail_msg("byte %zu flipped: %s without a message", i,
			    bundle_check_name(got));
	}
	free(p);
	buf_free(&enc);
}

static void
test_every_truncation(void **state)
{
	struct bundle b, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e;
	size_t n;
	int unchanged;

	(void)state;
	small_bundle(&b, &enc);
	policy_init(&pol);
	for (n = 0; n < enc.len; n++) {
		enum bundle_check want = n < BUNDLE_HEADER_LEN + SIG_LEN ? BC_SIZE : BC_LENGTH;
		enum bundle_check got = verify(enc.data, n, &pol, &out, &unchanged, &e);

		if (got != want)
			fail_msg("truncated to %zu of %zu: got %s (%s), want %s", n,
			    enc.len, bundle_check_name(got), e.msg, bundle_check_name(want));
		assert_true(tu_contains(e.msg, want == BC_SIZE ? "truncated" :
		    "declared body length"));
	}
	buf_free(&enc);
}

static void
test_appended_garbage(void **state)
{
	static const size_t extra[] = { 1, 2, 63, 64, 65, 1000 };
	struct bundle b, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e;
	size_t i, j, len;
	int unchanged;

	(void)state;
	small_bundle(&b, &enc);
	len = enc.len;
	policy_init(&pol);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		enc.len = len;
		for (j = 0; j < extra[i]; j++)
			assert_int_equal(buf_add_u8(&enc, (uint8_t)(j * 7 + 1)), 0);
		assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e),
		    BC_LENGTH);
		assert_true(tu_contains(e.msg, "padded"));
	}
	buf_free(&enc);
}

/* ---- encoding side ---------------------------------------------------- */

static void
test_add_entry_refusals(void **state)
{
	static const char *const bad_items[] = { "", ".hidden", "-opt", "a/b", "a b",
	    "a\nb", "é", "..", "a..b", "x..", "a:b",
	    "0123456789012345678901234567890123456789012345678901234567890" };
	static const char *const good_items[] = { "a", "mail.example.test", "dkim_2026",
	    "A-Z.0_9", "0123456789012345678901234567890123456789012345678901234567" };
	struct bundle b;
	struct err e;
	size_t i;

	(void)state;
	bundle_init(&b);
	for (i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		e.msg[0] = '\0';
		assert_int_equal(bundle_name_ok(bad_items[i]), -1);
		assert_int_equal(bundle_add_entry(&b, bad_items[i], KIND_DKIM, "x", 1, &e), -1);
		assert_true(tu_contains(e.msg, "invalid item name"));
	}
	assert_int_equal(b.nentries, 0);
	for (i = 0; i < sizeof(good_items) / sizeof(good_items[0]); i++)
		assert_int_equal(bundle_name_ok(good_items[i]), 0);
	assert_int_equal(bundle_add_entry(&b, "big", KIND_DKIM, F->pki.ec_chain,
	    BUNDLE_MAX_ENTRY_SIZE + 1, &e), -1);
	assert_true(tu_contains(e.msg, "larger than"));
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		assert_int_equal(bundle_add_entry(&b, "x", KIND_DKIM, "x", 1, &e), 0);
	assert_int_equal(bundle_add_entry(&b, "x", KIND_DKIM, "x", 1, &e), -1);
	assert_true(tu_contains(e.msg, "more than 32 entries"));
	assert_int_equal(b.nentries, BUNDLE_MAX_ENTRIES);
}

static void
test_encode_refusals(void **state)
{
	struct bundle b;
	struct buf out = { 0 };
	struct err e;
	uint8_t *big;
	int i;

	(void)state;
	bundle_init(&b);
	b.audience[0] = '\0';
	add(&b, "www", KIND_CHAIN, F->pki.ec_chain);
	assert_int_equal(bundle_encode(&b, F->sk, &out, &e), -1);
	assert_true(tu_contains(e.msg, "invalid audience"));

	/* Five entries at the entry cap exceed the bundle cap. */
	assert_non_null(big = calloc(1, BUNDLE_MAX_ENTRY_SIZE));
	bundle_init(&b);
	for (i = 0; i < 5; i++) {
		char item[8];

		snprintf(item, sizeof(item), "k%d", i);
		assert_int_equal(bundle_add_entry(&b, item, KIND_DKIM, big,
		    BUNDLE_MAX_ENTRY_SIZE, &e), 0);
	}
	assert_int_equal(bundle_encode(&b, F->sk, &out, &e), -1);
	assert_true(tu_contains(e.msg, "exceed"));
	buf_free(&out);
	free(big);
}

/* Encoding is deterministic: the same bundle gives the same bytes. */
static void
test_encode_deterministic(void **state)
{
	struct bundle b1, b2;
	struct buf x = { 0 }, y = { 0 };

	(void)state;
	small_bundle(&b1, &x);
	small_bundle(&b2, &y);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	assert_memory_equal(b1.digest, b2.digest, 32);
	buf_free(&x);
	buf_free(&y);
}

/* bundle_check_content, as certpush uses it before signing. */
static void
test_check_content(void **state)
{
	struct bundle b;
	struct err e;

	(void)state;
	bundle_init(&b);
	add(&b, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(&b, "mail", KIND_KEY, F->pki.rsa_keypem);
	add(&b, "dkim", KIND_DKIM, F->pki.dkim_keypem);
	assert_int_equal(bundle_check_content(&b, F->pki.now, &e), BC_OK);
	/* 100 days on the leaf has expired; 2 days ago it was not valid yet. */
	assert_int_equal(bundle_check_content(&b, F->pki.now + 100 * TC_DAY, &e),
	    BC_CERTTIME);
	assert_true(tu_contains(e.msg, "mail.example.test"));
	assert_int_equal(bundle_check_content(&b, F->pki.now - 2 * TC_DAY, &e),
	    BC_CERTTIME);
	assert_true(tu_contains(e.msg, "not valid yet"));
}

/*
 * The checks keep what they parsed, for certpull to render from: the
 * chain of each chain entry, the key of each key and DKIM entry, nothing
 * else, and nothing at all when a check fails.
 */
static void
test_check_content_keep(void **state)
{
	struct bundle_parsed kept = { 0 };
	struct bundle b;
	struct err e;
	size_t i;

	(void)state;
	bundle_init(&b);
	add(&b, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(&b, "mail", KIND_KEY, F->pki.rsa_keypem);
	add(&b, "dkim", KIND_DKIM, F->pki.dkim_keypem);
	assert_int_equal(bundle_check_content_keep(&b, F->pki.now, &kept, &e), BC_OK);
	assert_non_null(kept.chain[0]);
	assert_null(kept.key[0]);
	assert_int_equal(sk_X509_num(kept.chain[0]), 2);
	assert_null(kept.chain[1]);
	assert_int_equal(X509_check_private_key(sk_X509_value(kept.chain[0], 0),
	    kept.key[1]), 1);
	assert_null(kept.chain[2]);
	assert_non_null(kept.key[2]);
	for (i = 3; i < BUNDLE_MAX_ENTRIES; i++)
		assert_true(kept.chain[i] == NULL && kept.key[i] == NULL);
	bundle_parsed_free(&kept);
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		assert_true(kept.chain[i] == NULL && kept.key[i] == NULL);

	/* The DKIM check fails after the pair passed: the pair's are freed. */
	add(&b, "mail2", KIND_DKIM, F->pki.ec_keypem);
	assert_int_equal(bundle_check_content_keep(&b, F->pki.now, &kept, &e), BC_PEM);
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		assert_true(kept.chain[i] == NULL && kept.key[i] == NULL);
}

static void
test_check_names(void **state)
{
	enum bundle_check c, d;

	(void)state;
	for (c = BC_OK; c <= BC_CERTTIME; c++) {
		const char *n = bundle_check_name(c);

		assert_non_null(n);
		assert_true(n[0] != '\0');
		assert_string_not_equal(n, "unknown");
		for (d = BC_OK; d < c; d++)
			assert_string_not_equal(n, bundle_check_name(d));
	}
	assert_string_equal(bundle_check_name(BC_OK), "ok");
	assert_string_equal(bundle_check_name(BC_SIGNATURE), "signature");
	assert_string_equal(bundle_check_name((enum bundle_check)(BC_CERTTIME + 1)),
	    "unknown");
	assert_string_equal(bundle_check_name((enum bundle_check)1000), "unknown");
	assert_string_equal(bundle_kind_name(KIND_CHAIN), "chain");
	assert_string_equal(bundle_kind_name(KIND_KEY), "key");
	assert_string_equal(bundle_kind_name(KIND_DKIM), "dkim");
	assert_null(bundle_kind_name(0));
	assert_null(bundle_kind_name(4));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_second_trusted_key),
	cmocka_unit_test(test_every_byte_flip),
	cmocka_unit_test(test_every_truncation),
	cmocka_unit_test(test_appended_garbage),
	cmocka_unit_test(test_add_entry_refusals),
	cmocka_unit_test(test_encode_refusals),
	cmocka_unit_test(test_encode_deterministic),
	cmocka_unit_test(test_check_content),
	cmocka_unit_test(test_check_content_keep),
	cmocka_unit_test(test_check_names),
};

int
main(void)
{
	return cmocka_run_group_tests_name("bundle", tests, group_setup,
	    group_teardown);
}
