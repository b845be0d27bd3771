/*
 * Freshness timestamps: the signed object (stamp.h) round trip, a table
 * of damaged and forged ones that must be refused, the bundle serial read
 * at its fixed place, and certpull's verdicts (freshness.h): stale,
 * inconsistent, replayed, and the state file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freshness.h"
#include "sig.h"
#include "stamp.h"

#include "testutil.c"

static char dir[TU_PATH_MAX];
static EVP_PKEY *sk, *other;
static struct pubkey pk, pk_other;

static int
group_setup(void **state)
{
	struct err e;

	(void)state;
	if ((sk = sig_keygen(&e)) == NULL || (other = sig_keygen(&e)) == NULL ||
	    sig_pubkey_of(sk, &pk, &e) == -1 || sig_pubkey_of(other, &pk_other, &e) == -1)
		return -1;
	return tu_mkdtemp(dir);
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(sk);
	EVP_PKEY_free(other);
	return tu_rmtree(dir);
}

/* A timestamp for node1, serial 42, made at 1000, expiring at 1120. */
static void
make(EVP_PKEY *key, const char *node, struct buf *out)
{
	struct stamp s;
	struct err e;

	memset(&s, 0, sizeof(s));
	snprintf(s.node, sizeof(s.node), "%s", node);
	s.serial = 42;
	s.created = 1000;
	s.expires = 1120;
	memset(s.digest, 0xab, sizeof(s.digest));
	if (stamp_encode(&s, key, out, &e) == -1)
		fail_msg("stamp_encode: %s", e.msg);
}

static void
test_round_trip(void **state)
{
	struct buf b = { 0 };
	struct stamp s;
	struct err e;
	uint8_t digest[32];

	(void)state;
	make(sk, "node1", &b);
	assert_true(b.len <= STAMP_MAX_SIZE);
	assert_int_equal(stamp_verify(b.data, b.len, &pk, 1, "node1", &s, &e), 0);
	assert_string_equal(s.node, "node1");
	assert_true(s.serial == 42 && s.created == 1000 && s.expires == 1120);
	memset(digest, 0xab, sizeof(digest));
	assert_memory_equal(s.digest, digest, 32);
	assert_memory_equal(s.keyid, pk.id, SIG_KEYID_LEN);
	/* Either of two trusted keys (a standby front's). */
	struct pubkey both[2] = { pk_other, pk };
	assert_int_equal(stamp_verify(b.data, b.len, both, 2, "node1", &s, &e), 0);
	buf_free(&b);
}

/* Every damaged or forged timestamp is refused, with its reason. */
static void
test_refused(void **state)
{
	struct buf b = { 0 }, o = { 0 }, n2 = { 0 };
	struct stamp s;
	struct err e;
	uint8_t bad[STAMP_MAX_SIZE + 8];
	size_t i;

	(void)state;
	make(sk, "node1", &b);
	make(other, "node1", &o);
	make(sk, "node2", &n2);
	assert_int_equal(stamp_verify(o.data, o.len, &pk, 1, "node1", &s, &e), -1);
	assert_true(tu_contains(e.msg, "not trusted"));
	assert_int_equal(stamp_verify(n2.data, n2.len, &pk, 1, "node1", &s, &e), -1);
	assert_true(tu_contains(e.msg, "for node \"node2\""));
	assert_int_equal(stamp_verify(b.data, b.len, &pk, 0, "node1", &s, &e), -1);
	/* Every single-byte flip, and every truncation. */
	for (i = 0; i < b.len; i++) {
		memcpy(bad, b.data, b.len);
		bad[i] ^= 0x01;
		if (stamp_verify(bad, b.len, &pk, 1, "node1", &s, &e) != -1)
			fail_msg("byte %zu flipped: accepted", i);
	}
	for (i = 0; i < b.len; i++)
		if (stamp_verify(b.data, i, &pk, 1, "node1", &s, &e) != -1)
			fail_msg("truncated to %zu bytes: accepted", i);
	/* A byte added past the end. */
	memcpy(bad, b.data, b.len);
	bad[b.len] = 0;
	assert_int_equal(stamp_verify(bad, b.len + 1, &pk, 1, "node1", &s, &e), -1);
	/* A bundle is not a timestamp. */
	assert_int_equal(stamp_verify((const uint8_t *)"CPBUNDLE\0\1\0\1", 12, &pk, 1,
	    "node1", &s, &e), -1);
	buf_free(&b);
	buf_free(&o);
	buf_free(&n2);
}

static void
test_bundle_serial(void **state)
{
	uint8_t b[24 + 12];
	uint64_t serial = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	memcpy(b, "CPBUNDLE", 8);
	b[24 + 4 + 6] = 0x01;
	b[24 + 4 + 7] = 0x02;
	assert_int_equal(stamp_bundle_serial(b, sizeof(b), &serial), 0);
	assert_true(serial == 0x0102);
	assert_int_equal(stamp_bundle_serial(b, sizeof(b) - 1, &serial), -1);
	b[0] = 'X';
	assert_int_equal(stamp_bundle_serial(b, sizeof(b), &serial), -1);
}

static struct stamp
st(uint64_t serial, uint64_t created, uint64_t expires)
{
	struct stamp s;

	memset(&s, 0, sizeof(s));
	s.serial = serial;
	s.created = created;
	s.expires = expires;
	memset(s.digest, 7, 32);
	return s;
}

static void
test_verdicts(void **state)
{
	struct freshness f;
	struct stamp a = st(10, 1000, 1120), b = st(11, 1060, 1180);
	uint8_t same[32], differ[32];
	char why[512];

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(same, 7, 32);
	memset(differ, 8, 32);
	assert_int_equal(freshness_judge_stamp(&f, &a, 1100, why, sizeof(why)), FRESH_OK);
	assert_true(f.have && f.seen_created == 1000 && f.seen_serial == 10);
	/* Expired: stale, yet still the newest seen. */
	assert_int_equal(freshness_judge_stamp(&f, &b, 1181, why, sizeof(why)), FRESH_STALE);
	assert_true(tu_contains(why, "expired"));
	assert_true(f.seen_created == 1060 && f.seen_serial == 11);
	/* Older than one seen: replayed, even when not expired. */
	assert_int_equal(freshness_judge_stamp(&f, &a, 1100, why, sizeof(why)),
	    FRESH_REPLAYED);
	assert_true(f.seen_created == 1060);
	/* The same one again is fine. */
	assert_int_equal(freshness_judge_stamp(&f, &b, 1100, why, sizeof(why)), FRESH_OK);
	/* Served bundle against its timestamp. */
	assert_int_equal(freshness_judge_bundle(&b, 11, same, why, sizeof(why)), FRESH_OK);
	assert_int_equal(freshness_judge_bundle(&b, 12, differ, why, sizeof(why)), FRESH_OK);
	assert_int_equal(freshness_judge_bundle(&b, 10, same, why, sizeof(why)),
	    FRESH_INCONSISTENT);
	assert_true(tu_contains(why, "withheld"));
	assert_int_equal(freshness_judge_bundle(&b, 11, differ, why, sizeof(why)),
	    FRESH_INCONSISTENT);
	assert_int_equal(freshness_judge_bundle(&b, 11, NULL, why, sizeof(why)), FRESH_OK);
}

/* The worst verdict of one fetch is kept; the state file round-trips. */
static void
test_record_and_state(void **state)
{
	struct freshness f, g;
	char sd[TU_PATH_MAX], why[1024];
	struct err e;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.have = 1;
	f.seen_created = 1000;
	f.seen_serial = 10;
	f.seen_expires = 1120;
	freshness_record(&f, FRESH_STALE, "https://m1/n.bundle", "expired", 1050);
	freshness_record(&f, FRESH_OK, "https://m2/n.bundle", "fine", 1050);
	assert_int_equal(f.verdict, FRESH_STALE);
	assert_string_equal(f.url, "https://m1/n.bundle");
	freshness_record(&f, FRESH_REPLAYED, "https://m3/n.bundle", "older", 1050);
	assert_int_equal(f.verdict, FRESH_REPLAYED);
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_int_equal(freshness_save(sd, &f, &e), 0);
	assert_int_equal(freshness_load(sd, &g, &e), 0);
	assert_true(g.have && g.seen_created == 1000 && g.seen_serial == 10 &&
	    g.seen_expires == 1120 && g.checked == 1050);
	assert_int_equal(g.verdict, FRESH_REPLAYED);
	assert_string_equal(g.url, "https://m3/n.bundle");
	assert_string_equal(g.detail, "older");
	/* Now: the last verdict, or stale once the newest seen has expired. */
	assert_int_equal(freshness_current(&g, 1100, why, sizeof(why)), FRESH_REPLAYED);
	g.verdict = FRESH_OK;
	assert_int_equal(freshness_current(&g, 1100, why, sizeof(why)), FRESH_OK);
	assert_int_equal(freshness_current(&g, 1121, why, sizeof(why)), FRESH_STALE);
	/* A corrupt state file is an error, not a reset. */
	assert_int_equal(tu_write(sd, "freshness", "created x\n", 10, 0600, NULL), 0);
	assert_int_equal(freshness_load(sd, &g, &e), -1);
	assert_true(tu_contains(e.msg, "corrupt"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bundle_serial),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_record_and_state),
	};

	return cmocka_run_group_tests_name("stamp", tests, group_setup, group_teardown);
}
