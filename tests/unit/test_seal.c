/*
 * Secrets sealed to their node (format 2): node keys (keygen, the key
 * file, the public key text), the seal and open round trip through
 * bundle_encode and bundle_verify, and every refusal of the seal check:
 * another node's key, a node without a key, a downgrade to clear keys,
 * a flipped byte of a sealed box (caught by the signature first), and
 * the entries a format allows.  Real certificates and keys come from the
 * group setup (bundlefixture.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "bundle.h"
#include "fsutil.h"
#include "seal.h"
#include "sig.h"

#include "testcerts.c"
#include "testutil.c"
#include "bundlecraft.c"
#include "bundlefixture.c"

/* Node A's and node B's key pairs, made once. */
static struct seal_key node_a, node_b;

static int
seal_setup(void **state)
{
	struct buf pem = { 0 };
	struct err e;
	int rc;

	if (group_setup(state) == -1)
		return -1;
	rc = seal_keygen(&node_a, &pem, &e);
	buf_free(&pem);
	if (rc == 0)
		rc = seal_keygen(&node_b, &pem, &e);
	buf_free(&pem);
	return rc;
}

static int
seal_teardown(void **state)
{
	seal_key_wipe(&node_a);
	seal_key_wipe(&node_b);
	return group_teardown(state);
}

/* Every kind of item, its private keys sealed to `to`, encoded into out. */
static void
sealed_bundle(struct bundle *b, const struct seal_pub *to, struct buf *out)
{
	struct buf store[BUNDLE_MAX_ENTRIES] = { { 0 } };
	struct err e = { "" };
	size_t i;

	bundle_init(b);
	add(b, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(b, "mail", KIND_KEY, F->pki.rsa_keypem);
	add(b, "dkim-2026", KIND_DKIM, F->pki.dkim_keypem);
	if (bundle_seal(b, to, store, &e) == -1)
		fail_msg("bundle_seal: %s", e.msg);
	encode(b, F->sk, out);
	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		buf_free(&store[i]);
}

static void
policy_with(struct verify_policy *pol, const struct seal_key *k)
{
	policy_init(pol);
	pol->open_key = k;
}

/* ---- node keys ---------------------------------------------------------- */

static void
test_key_file(void **state)
{
	char dir[] = "/tmp/test_seal.XXXXXX", path[64];
	struct buf pem = { 0 };
	struct seal_key k, loaded;
	struct err e = { "" };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/node.key", dir);
	assert_int_equal(seal_keygen(&k, &pem, &e), 0);
	assert_true(pem.secret);
	assert_non_null(strstr((char *)pem.data, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(file_create_new(path, pem.data, pem.len, 0600, &e), 0);
	assert_int_equal(seal_load_secret(path, &loaded, &e), 0);
	assert_memory_equal(loaded.pub.raw, k.pub.raw, SEAL_KEY_LEN);
	assert_memory_equal(loaded.pub.id, k.pub.id, SIG_KEYID_LEN);
	assert_memory_equal(loaded.sk, k.sk, SEAL_KEY_LEN);
	/* Never overwritten. */
	assert_int_equal(file_create_new(path, "x", 1, 0600, &e), -1);
	/* Readable by the group: refused, and nothing of it kept. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(seal_load_secret(path, &loaded, &e), -1);
	assert_non_null(strstr(e.msg, path));
	assert_true(sodium_is_zero(loaded.sk, SEAL_KEY_LEN));
	/* A signing key is not a node key. */
	assert_int_equal(unlink(path), 0);
	buf_free(&pem);
	assert_int_equal(sig_secret_pem(F->sk, &pem, &e), 0);
	assert_int_equal(file_create_new(path, pem.data, pem.len, 0600, &e), 0);
	assert_int_equal(seal_load_secret(path, &loaded, &e), -1);
	assert_non_null(strstr(e.msg, "not an X25519 key"));
	unlink(path);
	rmdir(dir);
	buf_free(&pem);
	seal_key_wipe(&k);
}

static void
test_pub_text(void **state)
{
	char text[SIG_PUBTEXT_MAX], bad[SIG_PUBTEXT_MAX + 8];
	struct seal_pub p;
	struct err e = { "" };

	(void)state;
	seal_pub_format(&node_a.pub, text);
	assert_int_equal(strncmp(text, "x25519:", 7), 0);
	assert_int_equal(strlen(text), 7 + 44);
	assert_int_equal(seal_pub_parse(text, &p, &e), 0);
	assert_memory_equal(p.raw, node_a.pub.raw, SEAL_KEY_LEN);
	assert_memory_equal(p.id, node_a.pub.id, SIG_KEYID_LEN);
	/* A signing key's text, a missing prefix, a cut or padded key. */
	snprintf(bad, sizeof(bad), "ed25519:%s", text + 7);
	assert_int_equal(seal_pub_parse(bad, &p, &e), -1);
	assert_non_null(strstr(e.msg, "x25519:"));
	assert_int_equal(seal_pub_parse(text + 7, &p, &e), -1);
	snprintf(bad, sizeof(bad), "%.*s=", 49, text);
	assert_int_equal(seal_pub_parse(bad, &p, &e), -1);
	snprintf(bad, sizeof(bad), "%s ", text);
	assert_int_equal(seal_pub_parse(bad, &p, &e), -1);
	/* The two bits past the key must be 0: one text per key. */
	snprintf(bad, sizeof(bad), "%s", text);
	bad[49] = bad[49] == 'A' ? 'B' : (char)(bad[49] ^ 1);
	assert_int_equal(seal_pub_parse(bad, &p, &e), -1);
}

/* ---- round trip --------------------------------------------------------- */

static void
test_round_trip(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	int unchanged;
	size_t i;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	assert_int_equal(in.format, BUNDLE_FORMAT_SEALED);
	/* Header and signed version: format 2; the kind bytes carry the flag. */
	assert_int_equal(enc.data[8], 0);
	assert_int_equal(enc.data[9], 2);
	assert_int_equal(enc.data[BUNDLE_HEADER_LEN + 2], 0);
	assert_int_equal(enc.data[BUNDLE_HEADER_LEN + 3], 2);
	/* No private key in clear, none of its base64 either. */
	assert_null(memmem(enc.data, enc.len, "PRIVATE KEY", 11));
	assert_null(memmem(enc.data, enc.len, F->pki.rsa_keypem + 28, 64));
	assert_null(memmem(enc.data, enc.len, F->pki.dkim_keypem + 28, 64));
	/* The certificate chain stays in clear. */
	assert_non_null(memmem(enc.data, enc.len, F->pki.rsa_chain, 64));

	policy_with(&pol, &node_a);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_int_equal(out.format, BUNDLE_FORMAT_SEALED);
	assert_memory_equal(out.recipient, node_a.pub.id, SIG_KEYID_LEN);
	assert_memory_equal(out.digest, in.digest, 32);
	assert_int_equal(out.nentries, 3);
	assert_false(out.entries[0].sealed);
	assert_true(out.entries[1].sealed);
	assert_true(out.entries[2].sealed);
	assert_int_equal(out.entries[1].kind, KIND_KEY);
	assert_int_equal(out.entries[2].kind, KIND_DKIM);
	assert_string_equal(out.entries[1].name, "mail/key");
	/* Opened: the very PEM text certpush sealed. */
	assert_int_equal(out.entries[1].len, strlen(F->pki.rsa_keypem));
	assert_memory_equal(out.entries[1].data, F->pki.rsa_keypem,
	    strlen(F->pki.rsa_keypem));
	assert_int_equal(out.entries[2].len, strlen(F->pki.dkim_keypem));
	assert_memory_equal(out.entries[2].data, F->pki.dkim_keypem,
	    strlen(F->pki.dkim_keypem));
	/* The digests cover what the bundle carries: the sealed boxes. */
	for (i = 0; i < 3; i++)
		assert_memory_equal(out.entries[i].sha256, in.entries[i].sha256, 32);
	assert_non_null(out.opened);
	assert_true(out.opened[1].secret);
	bundle_release(&out);
	assert_null(out.opened);
	buf_free(&enc);
}

/* Sealing twice gives other boxes (an ephemeral key each time). */
static void
test_sealing_is_fresh(void **state)
{
	struct bundle a, b;
	struct buf x = { 0 }, y = { 0 };

	(void)state;
	sealed_bundle(&a, &node_a.pub, &x);
	sealed_bundle(&b, &node_a.pub, &y);
	assert_memory_equal(a.entries[0].sha256, b.entries[0].sha256, 32);
	assert_memory_not_equal(a.entries[1].sha256, b.entries[1].sha256, 32);
	buf_free(&x);
	buf_free(&y);
}

/* ---- refusals ------------------------------------------------------------ */

static void
test_other_node_key(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	char id_a[17], id_b[17];
	int unchanged;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	policy_with(&pol, &node_b);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_SEAL);
	sig_keyid_hex(node_a.pub.id, id_a);
	sig_keyid_hex(node_b.pub.id, id_b);
	assert_non_null(strstr(e.msg, "sealed to another node's key"));
	assert_non_null(strstr(e.msg, id_a));
	assert_non_null(strstr(e.msg, id_b));
	assert_null(out.opened);
	buf_free(&enc);
}

/*
 * A box sealed to A under a recipient id that names B (only the signer
 * could make it): the key ids agree, the box does not open.
 */
static void
test_box_for_other_key(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	uint8_t *p;
	int unchanged;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	/* B's key id over A's, signed again. */
	p = memmem(enc.data + BUNDLE_HEADER_LEN, enc.len - BUNDLE_HEADER_LEN,
	    node_a.pub.id, SIG_KEYID_LEN);
	assert_non_null(p);
	memcpy(p, node_b.pub.id, SIG_KEYID_LEN);
	tb_resign(&enc, F->sk);
	policy_with(&pol, &node_b);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_SEAL);
	assert_non_null(strstr(e.msg, "\"mail/key\" does not open"));
	assert_null(out.opened);
	buf_free(&enc);
}

static void
test_node_without_key(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	int unchanged;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	policy_with(&pol, NULL);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_SEAL);
	assert_non_null(strstr(e.msg, "no secret_key"));
	buf_free(&enc);
}

static void
test_downgrade(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	int unchanged;

	(void)state;
	bundle_init(&in);
	add(&in, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(&in, "mail", KIND_KEY, F->pki.rsa_keypem);
	encode(&in, F->sk, &enc);
	assert_int_equal(in.format, BUNDLE_FORMAT);
	assert_int_equal(enc.data[9], 1);
	/* A node without a key takes it, as before. */
	policy_with(&pol, NULL);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	assert_int_equal(out.format, BUNDLE_FORMAT);
	assert_null(out.opened);
	/* A node with a key refuses it. */
	policy_with(&pol, &node_a);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_SEAL);
	assert_non_null(strstr(e.msg, "downgrade"));
	buf_free(&enc);
}

/* Every byte of every sealed box flipped: the signature refuses it first. */
static void
test_flipped_box(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	const uint8_t *box;
	size_t i, j, off;
	int unchanged;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	policy_with(&pol, &node_a);
	for (i = 1; i < 3; i++) {
		/* The box is the entry's data: found by its digest, just before it. */
		box = memmem(enc.data, enc.len, in.entries[i].sha256, 32);
		assert_non_null(box);
		off = (size_t)(box - enc.data) + 32;
		for (j = 0; j < in.entries[i].len; j += 7) {
			enc.data[off + j] ^= 0x01;
			assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged,
			    &e), BC_SIGNATURE);
			enc.data[off + j] ^= 0x01;
		}
	}
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_OK);
	bundle_release(&out);
	buf_free(&enc);
}

/* A damaged box, signed again (by the signer): the hash, then the box. */
static void
test_damaged_box_resigned(void **state)
{
	struct bundle in, out;
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct err e = { "" };
	uint8_t *box, md[32];
	size_t off;
	int unchanged;

	(void)state;
	sealed_bundle(&in, &node_a.pub, &enc);
	policy_with(&pol, &node_a);
	box = memmem(enc.data, enc.len, in.entries[1].sha256, 32);
	assert_non_null(box);
	off = (size_t)(box - enc.data) + 32;
	enc.data[off + 60] ^= 0x80;
	tb_resign(&enc, F->sk);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_HASH);
	SHA256(enc.data + off, in.entries[1].len, md);
	memcpy(box, md, 32);
	tb_resign(&enc, F->sk);
	assert_int_equal(verify(enc.data, enc.len, &pol, &out, &unchanged, &e), BC_SEAL);
	assert_non_null(strstr(e.msg, "does not open"));
	buf_free(&enc);
}

/* ---- what each format allows -------------------------------------------- */

/* A format 2 body: metadata, the recipient's key id, the entry count. */
static void
body2_start(struct buf *b, const struct seal_pub *to, uint16_t count)
{
	tb_body_meta(b, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT_SEALED, SERIAL,
	    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + 30 * TC_DAY, AUDIENCE);
	assert_int_equal(buf_add(b, to->id, SIG_KEYID_LEN), 0);
	assert_int_equal(buf_add_u16(b, count), 0);
}

static void
sealed_entry(struct buf *b, const char *name, uint8_t kind, const char *pem)
{
	struct buf box = { 0 };
	struct err e;

	assert_int_equal(seal_box(&node_a.pub, (const uint8_t *)pem, strlen(pem), &box,
	    &e), 0);
	tb_body_entry_raw(b, name, kind, (uint32_t)box.len, box.data, box.len, 0);
	buf_free(&box);
}

static enum bundle_check
verify_body(uint16_t format, const struct buf *body, struct err *e)
{
	struct buf enc = { 0 };
	struct verify_policy pol;
	struct bundle out;
	enum bundle_check r;
	int unchanged;

	tb_craft(&enc, format, BUNDLE_ALG_ED25519, F->sk, body);
	policy_with(&pol, format == BUNDLE_FORMAT_SEALED ? &node_a : NULL);
	r = verify(enc.data, enc.len, &pol, &out, &unchanged, e);
	if (r == BC_OK)
		bundle_release(&out);
	buf_free(&enc);
	return r;
}

static void
test_format_entries(void **state)
{
	struct buf body = { 0 };
	struct err e = { "" };

	(void)state;
	/* Format 2, crafted the documented way: accepted. */
	body2_start(&body, &node_a.pub, 2);
	tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
	sealed_entry(&body, "www/key", KIND_KEY | KIND_SEALED, F->pki.ec_keypem);
	assert_int_equal(verify_body(BUNDLE_FORMAT_SEALED, &body, &e), BC_OK);
	buf_free(&body);

	/* Format 2 with a private key in clear. */
	body2_start(&body, &node_a.pub, 2);
	tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
	tb_body_entry(&body, "www/key", KIND_KEY, F->pki.ec_keypem);
	assert_int_equal(verify_body(BUNDLE_FORMAT_SEALED, &body, &e), BC_ENTRY);
	assert_non_null(strstr(e.msg, "\"www/key\" is in clear"));
	buf_free(&body);

	/* Format 2 with a sealed chain. */
	body2_start(&body, &node_a.pub, 2);
	sealed_entry(&body, "www/chain", KIND_CHAIN | KIND_SEALED, F->pki.ec_chain);
	sealed_entry(&body, "www/key", KIND_KEY | KIND_SEALED, F->pki.ec_keypem);
	assert_int_equal(verify_body(BUNDLE_FORMAT_SEALED, &body, &e), BC_ENTRY);
	assert_non_null(strstr(e.msg, "\"www/chain\" is sealed"));
	buf_free(&body);

	/* Format 1 knows no sealed kind. */
	body_start(&body, 2);
	tb_body_entry(&body, "www/chain", KIND_CHAIN, F->pki.ec_chain);
	sealed_entry(&body, "www/key", KIND_KEY | KIND_SEALED, F->pki.ec_keypem);
	assert_int_equal(verify_body(BUNDLE_FORMAT, &body, &e), BC_ENTRY);
	assert_non_null(strstr(e.msg, "unknown kind 130"));
	buf_free(&body);

	/* Format 2 without its recipient key id: the count is misread. */
	tb_body_meta(&body, BUNDLE_TYPE_CERTS, BUNDLE_FORMAT_SEALED, SERIAL,
	    (uint64_t)F->pki.now - 60, (uint64_t)F->pki.now + 30 * TC_DAY, AUDIENCE);
	assert_int_equal(buf_add_u16(&body, 2), 0);
	assert_int_equal(verify_body(BUNDLE_FORMAT_SEALED, &body, &e), BC_METADATA);
	assert_non_null(strstr(e.msg, "malformed metadata"));
	buf_free(&body);

	/* The signed version must match the header's. */
	body_start(&body, 1);
	tb_body_entry(&body, "dkim/dkim", KIND_DKIM, F->pki.dkim_keypem);
	assert_int_equal(verify_body(BUNDLE_FORMAT_SEALED, &body, &e), BC_METADATA);
	assert_non_null(strstr(e.msg, "disagrees"));
	buf_free(&body);
}

static void
test_encode_refuses_mix(void **state)
{
	struct bundle b;
	struct buf enc = { 0 }, box = { 0 };
	struct err e = { "" };

	(void)state;
	bundle_init(&b);
	add(&b, "mail", KIND_CHAIN, F->pki.rsa_chain);
	add(&b, "mail", KIND_KEY, F->pki.rsa_keypem);
	add(&b, "dkim", KIND_DKIM, F->pki.dkim_keypem);
	/* One key sealed, the other in clear. */
	assert_int_equal(seal_box(&node_a.pub, b.entries[1].data, b.entries[1].len, &box,
	    &e), 0);
	b.entries[1].data = box.data;
	b.entries[1].len = box.len;
	b.entries[1].sealed = 1;
	assert_int_equal(bundle_encode(&b, F->sk, &enc, &e), -1);
	assert_non_null(strstr(e.msg, "sealed and clear"));
	assert_int_equal(enc.len, 0);
	/* A sealed chain. */
	b.entries[2].sealed = 1;
	b.entries[0].sealed = 1;
	assert_int_equal(bundle_encode(&b, F->sk, &enc, &e), -1);
	assert_non_null(strstr(e.msg, "only private keys are sealed"));
	buf_free(&box);
	buf_free(&enc);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_key_file),
	cmocka_unit_test(test_pub_text),
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_sealing_is_fresh),
	cmocka_unit_test(test_other_node_key),
	cmocka_unit_test(test_box_for_other_key),
	cmocka_unit_test(test_node_without_key),
	cmocka_unit_test(test_downgrade),
	cmocka_unit_test(test_flipped_box),
	cmocka_unit_test(test_damaged_box_resigned),
	cmocka_unit_test(test_format_entries),
	cmocka_unit_test(test_encode_refuses_mix),
};

int
main(void)
{
	return cmocka_run_group_tests_name("seal", tests, seal_setup, seal_teardown);
}
