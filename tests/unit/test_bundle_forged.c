/*
 * Forged and faulty bundles, one table case per check of bundle_verify:
 * each is rejected with the exact enum bundle_check, and the message names
 * what failed.  Bundles are crafted and re-signed by hand (bundlecraft.c)
 * to reach the checks past the signature.  The fixture (real certificates
 * and keys) is bundlefixture.c.
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

/* ---- the table of forged and faulty bundles --------------------------- */

struct bad_case {
	const char		*name;
	/* Fills out with the bundle; may adjust the policy. */
	void			(*make)(struct buf *out, struct verify_policy *pol);
	enum bundle_check	 want;
	const char		*says[3];	/* substrings the message must hold */
};

/* Encodes the small bundle, with b adjusted by fn first (may be NULL). */
static void
make_small_with(struct buf *out, void (*fn)(struct bundle *))
{
	struct bundle b;

	bundle_init(&b);
	add(&b, "www", KIND_CHAIN, F->pki.ec_chain);
	add(&b, "www", KIND_KEY, F->pki.ec_keypem);
	if (fn != NULL)
		fn(&b);
	encode(&b, F->sk, out);
}

/* Encodes one ECDSA-key pair with the given chain PEM and key PEM. */
static void
make_pair(struct buf *out, const char *chain, const char *key)
{
	struct bundle b;

	bundle_init(&b);
	add(&b, "www", KIND_CHAIN, chain);
	add(&b, "www", KIND_KEY, key);
	encode(&b, F->sk, out);
}

/* Crafts a signed bundle with the given body builder. */
#define CRAFTED(fn, body_code)						\
static void								\
fn(struct buf *out, struct verify_policy *pol)				\
{									\
	struct buf body = { 0 };					\
	(void)pol;							\
	body_code;							\
	tb_craft(out, BUNDLE_FORMAT, BUNDLE_ALG_ED25519, F->sk, &body);	\
	buf_free(&body);						\
}

static void
make_bad_magic(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, NULL);
	memcpy(out->data, "CPBUNDLX", 8);
	tb_resign(out, F->sk);
}

static void
make_untrusted(struct buf *out, struct verify_policy *pol)
{
	struct bundle b;

	(void)pol;
	bundle_init(&b);
	add(&b, "www", KIND_CHAIN, F->pki.ec_chain);
	add(&b, "www", KIND_KEY, F->pki.ec_keypem);
	encode(&b, F->sk2, out);
}

static void
make_no_trusted_keys(struct buf *out, struct verify_policy *pol)
{
	make_small_with(out, NULL);
	pol->ntrusted = 0;
}

static void
make_bad_signature(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, NULL);
	out->data[out->len - 1] ^= 0x01;
}

/* The header's algorithm patched to 2, then signed again. */
static void
make_unknown_alg(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, NULL);
	out->data[10] = 0;
	out->data[11] = 2;
	tb_resign(out, F->sk);
}

/* A valid body under a header with the given format and algorithm. */
static void
make_header(struct buf *out, uint16_t format, uint16_t alg)
{
	struct buf body = { 0 };

	body_pair(&body, "www/chain", KIND_CHAIN, "www/key", KIND_KEY);
	tb_craft(out, format, alg, F->sk, &body);
	buf_free(&body);
}

static void
make_unknown_alg_crafted(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_header(out, BUNDLE_FORMAT, 0xFFFF);
}

static void
make_format_3(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_header(out, 3, BUNDLE_ALG_ED25519);
}

static void
make_format_0(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_header(out, 0, BUNDLE_ALG_ED25519);
}

static void
set_audience_other(struct bundle *b)
{
	snprintf(b->audience, sizeof(b->audience), "other");
}

static void
make_wrong_audience(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, set_audience_other);
}

static void
make_expired_bundle(struct buf *out, struct verify_policy *pol)
{
	make_small_with(out, NULL);
	pol->now = F->pki.now + 31 * TC_DAY;
}

static void
set_expired_times(struct bundle *b)
{
	b->created = (uint64_t)F->pki.now - 2 * TC_DAY;
	b->expires = (uint64_t)F->pki.now - 1;
}

static void
make_expired_bundle2(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, set_expired_times);
}

static void
make_replay(struct buf *out, struct verify_policy *pol)
{
	make_small_with(out, NULL);
	pol->have_installed = 1;
	pol->installed_serial = SERIAL + 1;
}

static void
make_same_serial_other(struct buf *out, struct verify_policy *pol)
{
	make_small_with(out, NULL);
	pol->have_installed = 1;
	pol->installed_serial = SERIAL;
	memset(pol->installed_digest, 0xAB, sizeof(pol->installed_digest));
}

static void
make_expired_cert(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_pair(out, F->pki.expired_chain, F->pki.ec_keypem);
}

static void
make_future_cert(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_pair(out, F->pki.future_chain, F->pki.ec_keypem);
}

static void
make_key_mismatch(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_pair(out, F->pki.ec_chain, F->pki.other_keypem);
}

static void
make_rsa_key_for_ec(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_pair(out, F->pki.ec_chain, F->pki.rsa_keypem);
}

static void
make_misordered(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_pair(out, F->pki.misordered_chain, F->pki.ec_keypem);
}

static void
make_oversize(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, NULL);
	while (out->len <= BUNDLE_MAX_SIZE)
		assert_int_equal(buf_add_u8(out, 0), 0);
}

static void
set_long_expiry(struct bundle *b)
{
	b->expires = (uint64_t)F->pki.now + 200 * TC_DAY;
}

static void
make_outlives_cert(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_small_with(out, set_long_expiry);
}

static void
make_chain_only(struct buf *out, struct verify_policy *pol)
{
	struct bundle b;

	(void)pol;
	bundle_init(&b);
	add(&b, "www", KIND_CHAIN, F->pki.ec_chain);
	encode(&b, F->sk, out);
}

static void
make_key_only(struct buf *out, struct verify_policy *pol)
{
	struct bundle b;

	(void)pol;
	bundle_init(&b);
	add(&b, "www", KIND_KEY, F->pki.ec_keypem);
	encode(&b, F->sk, out);
}

static void
make_dkim_ec(struct buf *out, struct verify_policy *pol)
{
	struct bundle b;

	(void)pol;
	bundle_init(&b);
	add(&b, "dkim", KIND_DKIM, F->pki.ec_keypem);
	encode(&b, F->sk, out);
}

static void
make_dkim_cert(struct buf *out, struct verify_policy *pol)
{
	struct bundle b;

	(void)pol;
	bundle_init(&b);
	add(&b, "dkim", KIND_DKIM, F->pki.ec_chain);
	encode(&b, F->sk, out);
}

static void
make_pem_in_wrong_entry(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	/* The key where the chain belongs: a PEM block of the wrong type. */
	make_pair(out, F->pki.ec_keypem, F->pki.ec_keypem);
}

/* 33 entries declared (the data for one follows; the count fails first). */
CRAFTED(make_too_many, body_start(&body, BUNDLE_MAX_ENTRIES + 1);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain))
CRAFTED(make_zero_entries, body_start(&body, 0))
CRAFTED(make_count_missing, tb_body_meta(&body, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT,
    SERIAL, (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + 30 * TC_DAY, AUDIENCE))
CRAFTED(make_dotdot, body_pair(&body, "../chain", KIND_CHAIN, "www/key", KIND_KEY))
CRAFTED(make_dotdot2, body_pair(&body, "www/../../etc/chain", KIND_CHAIN,
    "www/key", KIND_KEY))
CRAFTED(make_absolute, body_pair(&body, "/etc/chain", KIND_CHAIN, "www/key",
    KIND_KEY))
CRAFTED(make_duplicate, body_start(&body, 3);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
    tb_body_entry(&body, "www/key", KIND_KEY, F->pki.ec_keypem);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain))
CRAFTED(make_unknown_kind, body_pair(&body, "www/chain", KIND_CHAIN, "www/key", 9))
CRAFTED(make_kind_zero, body_pair(&body, "www/chain", 0, "www/key", KIND_KEY))
CRAFTED(make_name_kind_mismatch, body_pair(&body, "www/key", KIND_CHAIN,
    "www/chain", KIND_KEY))
CRAFTED(make_no_slash, body_pair(&body, "chain", KIND_CHAIN, "www/key", KIND_KEY))
CRAFTED(make_bad_item, body_pair(&body, "-www/chain", KIND_CHAIN, "-www/key",
    KIND_KEY))
CRAFTED(make_bad_item_chars, body_pair(&body, "w w/chain", KIND_CHAIN, "w w/key",
    KIND_KEY))
CRAFTED(make_nul_in_name, body_start(&body, 1);
    tb_body_entry_n(&body, "www\0x/chain", 11, KIND_CHAIN,
    (uint32_t)strlen(F->pki.ec_chain), F->pki.ec_chain, strlen(F->pki.ec_chain), 0))
CRAFTED(make_name_too_long, body_start(&body, 1);
    tb_body_entry_raw(&body, "a1234567890123456789012345678901234567890123456789012345678"
    "/chain", KIND_CHAIN, 5, "short", 5, 0))
CRAFTED(make_huge_size, body_start(&body, 1);
    tb_body_entry_raw(&body, "www/chain", KIND_CHAIN, 0xFFFFFFFFu, "short", 5, 0))
CRAFTED(make_size_past_end, body_start(&body, 1);
    tb_body_entry_raw(&body, "www/chain", KIND_CHAIN, 1000, "short", 5, 0))
CRAFTED(make_entry_cut, body_start(&body, 1);
    tb_body_entry_raw(&body, "www/chain", KIND_CHAIN, 5, "short", 5, 0);
    body.len -= 5 + 32 + 2)
CRAFTED(make_bad_hash, body_start(&body, 2);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
    tb_body_entry_raw(&body, "www/key", KIND_KEY, (uint32_t)strlen(F->pki.ec_keypem),
    F->pki.ec_keypem, strlen(F->pki.ec_keypem), 1))
CRAFTED(make_not_pem, body_start(&body, 2);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, "hello, world\n");
    tb_body_entry(&body, "www/key", KIND_KEY, F->pki.ec_keypem))
CRAFTED(make_key_not_pem, body_start(&body, 2);
    tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
    tb_body_entry(&body, "www/key", KIND_KEY, "not a key\n"))
CRAFTED(make_trailing, body_pair(&body, "www/chain", KIND_CHAIN, "www/key",
    KIND_KEY); assert_int_equal(buf_add_str(&body, "xyz"), 0))
CRAFTED(make_bad_type, tb_body_meta(&body, 7, BUNDLE_FORMAT, SERIAL,
    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + TC_DAY, AUDIENCE);
    assert_int_equal(buf_add_u16(&body, 1), 0);
    tb_body_entry(&body, "dkim/dkim", KIND_DKIM, F->pki.dkim_keypem))
CRAFTED(make_bad_version, tb_body_meta(&body, BUNDLE_TYPE_CERTS, 2, SERIAL,
    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + TC_DAY, AUDIENCE);
    assert_int_equal(buf_add_u16(&body, 1), 0);
    tb_body_entry(&body, "dkim/dkim", KIND_DKIM, F->pki.dkim_keypem))
CRAFTED(make_created_after, tb_body_meta(&body, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT,
    SERIAL, (uint64_t)F->pki.now + 2 * TC_DAY, (uint64_t)F->pki.now + TC_DAY,
    AUDIENCE); assert_int_equal(buf_add_u16(&body, 1), 0);
    tb_body_entry(&body, "dkim/dkim", KIND_DKIM, F->pki.dkim_keypem))
CRAFTED(make_short_meta, assert_int_equal(buf_add_u16(&body, BUNDLE_TYPE_CERTS), 0);
    assert_int_equal(buf_add_u16(&body, BUNDLE_FORMAT), 0);
    assert_int_equal(buf_add_u32(&body, 0), 0))
CRAFTED(make_empty_body, (void)0)

static const struct bad_case bad_cases[] = {
	{ "bad magic", make_bad_magic, BC_MAGIC, { "magic" } },
	{ "signer key not trusted", make_untrusted, BC_KEY,
	    { "not trusted" } },	/* both key ids: see test_wrong_key_ids */
	{ "no trusted keys at all", make_no_trusted_keys, BC_KEY,
	    { "not trusted", "none" } },
	{ "signature flipped", make_bad_signature, BC_SIGNATURE,
	    { "bad signature" } },
	{ "unknown algorithm (re-signed)", make_unknown_alg, BC_ALGORITHM,
	    { "algorithm 2" } },
	{ "unknown algorithm 65535 (crafted)", make_unknown_alg_crafted, BC_ALGORITHM,
	    { "algorithm 65535" } },
	{ "unsupported format version 3", make_format_3, BC_FORMAT,
	    { "format version 3", "reads 1 and 2" } },
	{ "unsupported format version 0", make_format_0, BC_FORMAT,
	    { "format version 0" } },
	{ "wrong audience", make_wrong_audience, BC_AUDIENCE,
	    { "\"other\"", "\"mail\"" } },
	{ "expired bundle (clock later)", make_expired_bundle, BC_EXPIRED,
	    { "expired", "1000" } },
	{ "expired bundle (expiry past)", make_expired_bundle2, BC_EXPIRED,
	    { "expired" } },
	{ "replayed lower serial", make_replay, BC_SERIAL,
	    { "1000", "older", "1001" } },
	{ "same serial, different content", make_same_serial_other, BC_SERIAL,
	    { "1000", "different content" } },
	{ "expired certificate", make_expired_cert, BC_CERTTIME,
	    { "www", "old.example.test", "expired" } },
	{ "not-yet-valid certificate", make_future_cert, BC_CERTTIME,
	    { "www", "new.example.test", "not valid yet" } },
	{ "key does not match the certificate", make_key_mismatch, BC_KEYMATCH,
	    { "www", "does not match" } },
	{ "RSA key with an ECDSA certificate", make_rsa_key_for_ec, BC_KEYMATCH,
	    { "www", "does not match" } },
	{ "chain out of order", make_misordered, BC_CHAIN,
	    { "www", "out of order", "certificate 1 is not issued by certificate 2" } },
	{ "oversize", make_oversize, BC_SIZE, { "limit" } },
	{ "too many entries declared", make_too_many, BC_ENTRY,
	    { "33 entries" } },
	{ "zero entries", make_zero_entries, BC_ENTRY, { "0 entries" } },
	{ "entry count missing", make_count_missing, BC_ENTRY,
	    { "malformed entry count" } },
	{ "entry name ../chain", make_dotdot, BC_ENTRY, { "../chain", "\"..\"" } },
	{ "entry name with .. inside", make_dotdot2, BC_ENTRY,
	    { "www/../../etc/chain", "\"..\"" } },
	{ "entry name starting with /", make_absolute, BC_ENTRY,
	    { "/etc/chain", "absolute" } },
	{ "duplicate entry names", make_duplicate, BC_ENTRY,
	    { "duplicate", "www/chain" } },
	{ "entry kind unknown", make_unknown_kind, BC_ENTRY,
	    { "www/key", "unknown kind 9" } },
	{ "entry kind zero", make_kind_zero, BC_ENTRY, { "unknown kind 0" } },
	{ "name not matching kind", make_name_kind_mismatch, BC_ENTRY,
	    { "www/key", "not ITEM/chain" } },
	{ "name without item", make_no_slash, BC_ENTRY, { "not ITEM/chain" } },
	{ "item name starting with -", make_bad_item, BC_ENTRY,
	    { "-www/chain", "invalid item name" } },
	{ "item name with a space", make_bad_item_chars, BC_ENTRY,
	    { "w w/chain", "invalid item name" } },
	{ "NUL byte in an entry name", make_nul_in_name, BC_ENTRY,
	    { "entry 1", "malformed" } },
	{ "entry name over 64 bytes", make_name_too_long, BC_ENTRY,
	    { "entry 1", "malformed" } },
	{ "declared size huge, data short", make_huge_size, BC_ENTRY,
	    { "www/chain", "4294967295", "limit" } },
	{ "declared size past the end", make_size_past_end, BC_ENTRY,
	    { "www/chain", "1000 bytes past the end" } },
	{ "entry header cut short", make_entry_cut, BC_ENTRY,
	    { "entry 1", "malformed" } },
	{ "SHA-256 mismatch", make_bad_hash, BC_HASH, { "www/key", "SHA-256" } },
	{ "non-PEM chain", make_not_pem, BC_PEM,
	    { "www", "no certificate found" } },
	{ "non-PEM key", make_key_not_pem, BC_PEM,
	    { "www", "no PEM private key" } },
	{ "key PEM in the chain entry", make_pem_in_wrong_entry, BC_PEM,
	    { "www", "unexpected PEM block" } },
	{ "chain without key", make_chain_only, BC_PEM,
	    { "www", "without its private key" } },
	{ "key without chain", make_key_only, BC_PEM,
	    { "www", "without its certificate" } },
	{ "DKIM key that is ECDSA", make_dkim_ec, BC_PEM,
	    { "dkim", "RSA or Ed25519" } },
	{ "DKIM entry holding certificates", make_dkim_cert, BC_PEM,
	    { "dkim", "no PEM private key" } },
	{ "trailing bytes after the entries", make_trailing, BC_ENTRY,
	    { "3 bytes of trailing data" } },
	{ "bundle expiry after the certificate's notAfter", make_outlives_cert,
	    BC_METADATA, { "www", "notAfter" } },
	{ "unknown bundle type", make_bad_type, BC_METADATA,
	    { "unknown bundle type 7" } },
	{ "signed version disagrees with the header", make_bad_version, BC_METADATA,
	    { "version 2", "disagrees" } },
	{ "created after it expires", make_created_after, BC_METADATA,
	    { "created after it expires" } },
	{ "metadata cut short", make_short_meta, BC_METADATA,
	    { "malformed metadata" } },
	{ "empty body", make_empty_body, BC_METADATA, { "malformed metadata" } },
};

#define NBAD	(sizeof(bad_cases) / sizeof(bad_cases[0]))

static void
run_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct verify_policy pol;
	struct bundle out;
	struct buf enc = { 0 };
	struct err e;
	enum bundle_check got;
	size_t i;
	int unchanged = -1;

	policy_init(&pol);
	c->make(&enc, &pol);
	got = verify(enc.data, enc.len, &pol, &out, &unchanged, &e);
	buf_free(&enc);
	if (getenv("TEST_VERBOSE") != NULL)
		print_message("%s: %s: %s\n", c->name, bundle_check_name(got), e.msg);
	if (got != c->want)
		fail_msg("%s: got %s (\"%s\"), want %s", c->name, bundle_check_name(got),
		    e.msg, bundle_check_name(c->want));
	if (e.msg[0] == '\0')
		fail_msg("%s: rejected without a message", c->name);
	for (i = 0; i < 3 && c->says[i] != NULL; i++)
		if (!tu_contains(e.msg, c->says[i]))
			fail_msg("%s: message \"%s\" does not mention \"%s\"", c->name,
			    e.msg, c->says[i]);
	assert_int_equal(unchanged, 0);
}

/* The BC_KEY message names the signer's key id and the trusted one. */
static void
test_wrong_key_ids(void **state)
{
	struct verify_policy pol;
	struct bundle out;
	struct buf enc = { 0 };
	char got[2 * SIG_KEYID_LEN + 1], want[2 * SIG_KEYID_LEN + 1];
	struct err e;
	int unchanged;

	(void)state;
	policy_init(&pol);
	make_untrusted(&enc, &pol);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_KEY);
	sig_keyid_hex(F->pk2.id, got);
	sig_keyid_hex(F->pk.id, want);
	if (!tu_contains(e.msg, got) || !tu_contains(e.msg, want))
		fail_msg("\"%s\" does not name both %s and %s", e.msg, got, want);
	assert_true(strstr(e.msg, got) < strstr(e.msg, want));
	buf_free(&enc);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_wrong_key_ids),
};

#define NFIXED	(sizeof(fixed_tests) / sizeof(fixed_tests[0]))

int
main(void)
{
	/* One cmocka test per table case, named after it. */
	static struct CMUnitTest tests[NFIXED + NBAD];
	size_t i;

	for (i = 0; i < NFIXED; i++)
		tests[i] = fixed_tests[i];
	for (i = 0; i < NBAD; i++)
		tests[NFIXED + i] = (struct CMUnitTest){
			.name = bad_cases[i].name,
			.test_func = run_bad_case,
			.initial_state = (void *)&bad_cases[i],
		};
	return cmocka_run_group_tests_name("bundle: forged and faulty", tests,
	    group_setup, group_teardown);
}
