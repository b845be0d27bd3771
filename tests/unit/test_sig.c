/*
 * Ed25519 signing keys: generation, the "ed25519:BASE64" public key text,
 * signatures, and the secret key file (mode checks, never overwritten).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "sig.h"

#include "testcerts.c"
#include "testutil.c"

static EVP_PKEY *
keygen(void)
{
	struct err e = { "" };
	EVP_PKEY *sk = sig_keygen(&e);

	if (sk == NULL)
		fail_msg("sig_keygen: %s", e.msg);
	return sk;
}

static void
test_keygen_format_parse(void **state)
{
	EVP_PKEY *sk = keygen(), *sk2 = keygen();
	struct pubkey pk, pk2, back;
	char text[SIG_PUBTEXT_MAX], text2[SIG_PUBTEXT_MAX], hex[2 * SIG_KEYID_LEN + 1];
	struct err e;
	size_t i;

	(void)state;
	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	assert_int_equal(sig_pubkey_of(sk2, &pk2, &e), 0);
	assert_memory_not_equal(pk.raw, pk2.raw, SIG_PUB_LEN);
	assert_memory_not_equal(pk.id, pk2.id, SIG_KEYID_LEN);

	memset(text, 'X', sizeof(text));
	sig_pubkey_format(&pk, text);
	assert_int_equal(strlen(text), 8 + 44);
	assert_memory_equal(text, "ed25519:", 8);
	assert_int_equal(text[51], '=');
	assert_int_equal(sig_pubkey_parse(text, &back, &e), 0);
	assert_memory_equal(back.raw, pk.raw, SIG_PUB_LEN);
	assert_memory_equal(back.id, pk.id, SIG_KEYID_LEN);
	sig_pubkey_format(&back, text2);
	assert_string_equal(text, text2);

	/* The key id: the first 8 bytes of SHA-256 of the raw key, in hex. */
	{
		uint8_t md[32];

		SHA256(pk.raw, SIG_PUB_LEN, md);
		assert_memory_equal(pk.id, md, SIG_KEYID_LEN);
	}
	sig_keyid_hex(pk.id, hex);
	assert_int_equal(strlen(hex), 16);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", hex[i]));
	EVP_PKEY_free(sk);
	EVP_PKEY_free(sk2);
}

/* A known vector: the all-zero key encodes to 43 'A's and '='. */
static void
test_pubkey_known_text(void **state)
{
	struct pubkey pk;
	char text[SIG_PUBTEXT_MAX];
	struct err e;

	(void)state;
	memset(&pk, 0, sizeof(pk));
	sig_pubkey_format(&pk, text);
	assert_string_equal(text, "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	memset(pk.raw, 0xFF, SIG_PUB_LEN);
	assert_int_equal(sig_pubkey_parse(
	    "ed25519://////////////////////////////////////////8=", &pk, &e), 0);
	{
		uint8_t ff[SIG_PUB_LEN];

		memset(ff, 0xFF, sizeof(ff));
		assert_memory_equal(pk.raw, ff, SIG_PUB_LEN);
	}
}

static void
test_pubkey_parse_rejects(void **state)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{ "", "must start with" },
		{ "ed25519", "must start with" },
		{ "ED25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI=", "must start with" },
		{ "ed448:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI=", "must start with" },
		{ " ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI=", "must start with" },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMpxaBklszaQ8ioxxxRjE1",
		    "must start with" },
		{ "ed25519:", "44 base64 characters" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI", "44 base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI==", "44 base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWIA", "44 base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI= ", "44 base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI=\n", "44 base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOY=I=", "invalid base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXyb-YWI=", "invalid base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXyb_YWI=", "invalid base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmC YbOYWI=", "invalid base64" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXyb\xc3\xa9YW=",
		    "invalid base64" },
		/* 43 characters carry 258 bits: the last 2 must be zero. */
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWK=", "canonical" },
		{ "ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWJ=", "invalid base64" },
		{ "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "invalid base64" },
		{ "ed25519:///////////////////////////////////////////=", "invalid base64" },
	};
	struct pubkey pk;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		if (sig_pubkey_parse(bad[i].text, &pk, &e) != -1)
			fail_msg("accepted \"%s\"", bad[i].text);
		if (!tu_contains(e.msg, bad[i].says))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].text, e.msg,
			    bad[i].says);
	}
}

static void
test_sign_verify(void **state)
{
	EVP_PKEY *sk = keygen(), *sk2 = keygen();
	struct pubkey pk, pk2;
	uint8_t msg[300], sig[SIG_LEN], sig2[SIG_LEN];
	struct err e;
	size_t i;

	(void)state;
	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	assert_int_equal(sig_pubkey_of(sk2, &pk2, &e), 0);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(sig_sign(sk, msg, sizeof(msg), sig, &e), 0);
	assert_int_equal(sig_verify(&pk, msg, sizeof(msg), sig), 0);
	/* Ed25519 is deterministic. */
	assert_int_equal(sig_sign(sk, msg, sizeof(msg), sig2, &e), 0);
	assert_memory_equal(sig, sig2, SIG_LEN);
	/* Another key does not verify it. */
	assert_int_equal(sig_verify(&pk2, msg, sizeof(msg), sig), -1);
	/* Every single-bit flip of the signature fails. */
	for (i = 0; i < SIG_LEN * 8; i++) {
		sig[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (sig_verify(&pk, msg, sizeof(msg), sig) != -1)
			fail_msg("signature with bit %zu flipped verified", i);
		sig[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	/* A flipped message byte, a shorter or longer message, fail. */
	msg[100] ^= 0x20;
	assert_int_equal(sig_verify(&pk, msg, sizeof(msg), sig), -1);
	msg[100] ^= 0x20;
	assert_int_equal(sig_verify(&pk, msg, sizeof(msg) - 1, sig), -1);
	assert_int_equal(sig_verify(&pk, msg, sizeof(msg), sig), 0);
	/* The empty message can be signed too. */
	assert_int_equal(sig_sign(sk, msg, 0, sig, &e), 0);
	assert_int_equal(sig_verify(&pk, msg, 0, sig), 0);
	assert_int_equal(sig_verify(&pk, msg, 1, sig), -1);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(sk2);
}

/* Writes sk's PEM to tu_dir/name with file_create_new (mode 0600). */
static void
save_key(EVP_PKEY *sk, const char *name, char path[TU_PATH_MAX])
{
	struct buf pem = { 0 };
	struct err e = { "" };

	snprintf(path, TU_PATH_MAX, "%s/%s", tu_dir, name);
	assert_int_equal(sig_secret_pem(sk, &pem, &e), 0);
	assert_true(pem.secret);
	assert_true(pem.len > 27);
	assert_memory_equal(pem.data, "-----BEGIN PRIVATE KEY-----", 27);
	if (file_create_new(path, pem.data, pem.len, 0600, &e) == -1)
		fail_msg("file_create_new: %s", e.msg);
	buf_free(&pem);
}

static void
test_load_secret_modes(void **state)
{
	static const mode_t bad_modes[] = { 0640, 0604, 0644, 0660, 0606, 0610, 0601,
	    0620, 0602 };
	EVP_PKEY *sk = keygen(), *loaded;
	struct pubkey pk, pk2;
	char path[TU_PATH_MAX], mode[8];
	struct stat st;
	struct err e;
	size_t i;

	(void)state;
	save_key(sk, "signing.key", path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* 0600: loaded, and it is the same key. */
	if ((loaded = sig_load_secret(path, &e)) == NULL)
		fail_msg("sig_load_secret: %s", e.msg);
	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	assert_int_equal(sig_pubkey_of(loaded, &pk2, &e), 0);
	assert_memory_equal(pk.raw, pk2.raw, SIG_PUB_LEN);
	EVP_PKEY_free(loaded);
	/* Owner-only variants are fine too. */
	assert_int_equal(chmod(path, 0400), 0);
	assert_non_null(loaded = sig_load_secret(path, &e));
	EVP_PKEY_free(loaded);
	for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		assert_int_equal(chmod(path, bad_modes[i]), 0);
		e.msg[0] = '\0';
		assert_null(sig_load_secret(path, &e));
		snprintf(mode, sizeof(mode), "%04o", (unsigned)bad_modes[i]);
		if (!tu_contains(e.msg, mode) || !tu_contains(e.msg, path))
			fail_msg("mode %s: \"%s\" names neither the mode nor the file",
			    mode, e.msg);
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_non_null(loaded = sig_load_secret(path, &e));
	EVP_PKEY_free(loaded);
	EVP_PKEY_free(sk);
}

static void
test_load_secret_refusals(void **state)
{
	EVP_PKEY *sk = keygen(), *ec;
	char path[TU_PATH_MAX], link[TU_PATH_MAX], *pem;
	struct err e;

	(void)state;
	/* Not a key at all. */
	assert_int_equal(tu_write(tu_dir, "junk.key", "hello\n", 6, 0600, path), 0);
	assert_null(sig_load_secret(path, &e));
	assert_true(tu_contains(e.msg, "not a PEM private key"));
	/* An ECDSA key is not a signing key. */
	assert_non_null(ec = tc_key_ec());
	assert_non_null(pem = tc_pem_key(ec));
	assert_int_equal(tu_write(tu_dir, "ec.key", pem, strlen(pem), 0600, path), 0);
	assert_null(sig_load_secret(path, &e));
	assert_true(tu_contains(e.msg, "not an Ed25519 key"));
	free(pem);
	EVP_PKEY_free(ec);
	/* A symlink to a good key is refused (O_NOFOLLOW). */
	save_key(sk, "real.key", path);
	snprintf(link, sizeof(link), "%s/link.key", tu_dir);
	assert_int_equal(symlink(path, link), 0);
	assert_null(sig_load_secret(link, &e));
	assert_true(tu_contains(e.msg, link));
	assert_true(tu_contains(e.msg, "symbolic link"));
	/* Missing. */
	snprintf(path, sizeof(path), "%s/absent.key", tu_dir);
	assert_null(sig_load_secret(path, &e));
	assert_true(tu_contains(e.msg, "No such file"));
	/* Owned by someone else. */
	if (geteuid() == 0) {
		save_key(sk, "nobody.key", path);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_null(sig_load_secret(path, &e));
		assert_true(tu_contains(e.msg, "owned by uid 65534"));
	}
	EVP_PKEY_free(sk);
}

/* keygen's guarantee: an existing key file is never replaced. */
static void
test_create_new_never_overwrites(void **state)
{
	EVP_PKEY *sk = keygen(), *sk2 = keygen(), *loaded;
	struct pubkey pk, pk2;
	struct buf pem2 = { 0 };
	char path[TU_PATH_MAX], sub[TU_PATH_MAX];
	struct err e;
	int before;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/keys", tu_dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/signing.key", sub);
	assert_int_equal(sig_secret_pem(sk, &pem2, &e), 0);
	assert_int_equal(file_create_new(path, pem2.data, pem2.len, 0600, &e), 0);
	buf_free(&pem2);
	before = tu_count_entries(sub);
	assert_int_equal(before, 1);

	assert_int_equal(sig_secret_pem(sk2, &pem2, &e), 0);
	e.msg[0] = '\0';
	assert_int_equal(file_create_new(path, pem2.data, pem2.len, 0600, &e), -1);
	assert_true(tu_contains(e.msg, "refusing to overwrite"));
	assert_true(tu_contains(e.msg, path));
	/* Still the first key, and no temporary file left behind. */
	assert_int_equal(tu_count_entries(sub), before);
	assert_non_null(loaded = sig_load_secret(path, &e));
	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	assert_int_equal(sig_pubkey_of(loaded, &pk2, &e), 0);
	assert_memory_equal(pk.raw, pk2.raw, SIG_PUB_LEN);
	EVP_PKEY_free(loaded);

	/* Not through a dangling symlink either. */
	snprintf(path, sizeof(path), "%s/dangling.key", sub);
	assert_int_equal(symlink("/nonexistent/cp-unit-target", path), 0);
	assert_int_equal(file_create_new(path, pem2.data, pem2.len, 0600, &e), -1);
	assert_true(tu_contains(e.msg, "refusing to overwrite"));
	assert_int_equal(tu_count_entries(sub), before + 1);
	buf_free(&pem2);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(sk2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_format_parse),
		cmocka_unit_test(test_pubkey_known_text),
		cmocka_unit_test(test_pubkey_parse_rejects),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_load_secret_modes),
		cmocka_unit_test(test_load_secret_refusals),
		cmocka_unit_test(test_create_new_never_overwrites),
	};

	return cmocka_run_group_tests_name("sig", tests, tu_group_setup, tu_group_teardown);
}
