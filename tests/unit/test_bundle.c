/*
 * The signed bundle: encoding, and every check of bundle_verify, with
 * real certificates and keys made in the group setup (testcerts.c), and
 * bundles crafted and re-signed by hand (bundlecraft.c) to reach the
 * checks past the signature.  Each rejection case asserts the exact
 * enum bundle_check and that the message names what failed.  Bundles
 * under test are copied into buffers of their exact length, so that ASan
 * sees any read past the end.
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

#define SERIAL		1000
#define AUDIENCE	"mail"

struct fixture {
	struct tc_pki	 pki;
	EVP_PKEY	*sk;		/* trusted signing key */
	EVP_PKEY	*sk2;		/* a signing key nobody trusts */
	struct pubkey	 pk, pk2;
};

static struct fixture *F;

static int
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

static int
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

static void
policy_init(struct verify_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->trusted = &F->pk;
	pol->ntrusted = 1;
	pol->audience = AUDIENCE;
	pol->now = F->pki.now;
}

/* An empty bundle for AUDIENCE, created a minute ago, valid 30 days. */
static void
bundle_init(struct bundle *b)
{
	memset(b, 0, sizeof(*b));
	b->type = BUNDLE_TYPE_CERTS;
	b->serial = SERIAL;
	b->created = (uint64_t)F->pki.now - 60;
	b->expires = (uint64_t)F->pki.now + 30 * TC_DAY;
	snprintf(b->audience, sizeof(b->audience), "%s", AUDIENCE);
}

static void
add(struct bundle *b, const char *item, enum entry_kind kind, const char *pem)
{
	struct err e = { "" };

	if (bundle_add_entry(b, item, kind, pem, strlen(pem), &e) == -1)
		fail_msg("bundle_add_entry %s: %s", item, e.msg);
}

static void
encode(struct bundle *b, EVP_PKEY *sk, struct buf *out)
{
	struct err e = { "" };

	if (bundle_encode(b, sk, out, &e) == -1)
		fail_msg("bundle_encode: %s", e.msg);
}

/* The small bundle: the ECDSA chain (leaf + intermediate) and its key. */
static void
small_bundle(struct bundle *b, struct buf *out)
{
	bundle_init(b);
	add(b, "www", KIND_CHAIN, F->pki.ec_chain);
	add(b, "www", KIND_KEY, F->pki.ec_keypem);
	encode(b, F->sk, out);
}

/* Verifies data[0..len) from an exact-size copy. */
static enum bundle_check
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
static void
body_start(struct buf *b, uint16_t count)
{
	tb_body_meta(b, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT, SERIAL,
	    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + 30 * TC_DAY, AUDIENCE);
	assert_int_equal(buf_add_u16(b, count), 0);
}

/* A body with the ECDSA pair under the given entry names and kinds. */
static void
body_pair(struct buf *b, const char *chain_name, uint8_t chain_kind,
    const char *key_name, uint8_t key_kind)
{
	body_start(b, 2);
	tb_body_entry(b, chain_name, chain_kind, F->pki.ec_chain);
	tb_body_entry(b, key_name, key_kind, F->pki.ec_keypem);
}

static void
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
make_format_2(struct buf *out, struct verify_policy *pol)
{
	(void)pol;
	make_header(out, 2, BUNDLE_ALG_ED25519);
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
	{ "unsupported format version 2", make_format_2, BC_FORMAT,
	    { "format version 2" } },
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

static void
test_check_names(void **state)
{
	enum bundle_check c, d;

	(void)state;
	for (c = BC_OK; c <= BC_CHAIN; c++) {
		const char *n = bundle_check_name(c);

		assert_non_null(n);
		assert_true(n[0] != '\0');
		assert_string_not_equal(n, "unknown");
		for (d = BC_OK; d < c; d++)
			assert_string_not_equal(n, bundle_check_name(d));
	}
	assert_string_equal(bundle_check_name(BC_OK), "ok");
	assert_string_equal(bundle_check_name(BC_SIGNATURE), "signature");
	assert_string_equal(bundle_check_name((enum bundle_check)(BC_CHAIN + 1)),
	    "unknown");
	assert_string_equal(bundle_check_name((enum bundle_check)1000), "unknown");
	assert_string_equal(bundle_kind_name(KIND_CHAIN), "chain");
	assert_string_equal(bundle_kind_name(KIND_KEY), "key");
	assert_string_equal(bundle_kind_name(KIND_DKIM), "dkim");
	assert_null(bundle_kind_name(0));
	assert_null(bundle_kind_name(4));
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_second_trusted_key),
	cmocka_unit_test(test_every_byte_flip),
	cmocka_unit_test(test_every_truncation),
	cmocka_unit_test(test_appended_garbage),
	cmocka_unit_test(test_wrong_key_ids),
	cmocka_unit_test(test_add_entry_refusals),
	cmocka_unit_test(test_encode_refusals),
	cmocka_unit_test(test_encode_deterministic),
	cmocka_unit_test(test_check_content),
	cmocka_unit_test(test_check_names),
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
	return cmocka_run_group_tests_name("bundle", tests, group_setup,
	    group_teardown);
}
