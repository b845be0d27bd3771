/*
 * cert_parse_key: a PKCS#8 "PRIVATE KEY" block takes a decoder narrowed
 * to the key's type (common/cert.c); everything else goes to OpenSSL's
 * generic reader.  Whatever the path, the outcome must be the one
 * PEM_read_bio_PrivateKey gives on the same text (the reference here):
 * the same key, or a refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "cert.h"

#include "testcerts.c"
#include "testutil.c"

static struct tc_pki pki;

static int
group_setup(void **state)
{
	(void)state;
	return tc_pki_new(&pki, time(NULL));
}

static int
group_teardown(void **state)
{
	(void)state;
	tc_pki_free(&pki);
	return 0;
}

static int
refuse(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* OpenSSL's generic reader on text; NULL if it finds no key. */
static EVP_PKEY *
reference(const char *text)
{
	BIO *bio = BIO_new_mem_buf(text, -1);
	EVP_PKEY *k;

	assert_non_null(bio);
	k = PEM_read_bio_PrivateKey(bio, NULL, refuse, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

/* cert_parse_key gives want (a key equal to it), or fails if want is NULL. */
static void
parses_as(const char *text, const EVP_PKEY *want)
{
	struct err e = { 0 };
	EVP_PKEY *k = cert_parse_key(text, strlen(text), &e);

	if (want == NULL) {
		assert_null(k);
		assert_true(e.msg[0] != '\0');
		return;
	}
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, want), 1);
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_get_base_id(want));
	EVP_PKEY_free(k);
}

/* Text BIO's contents, malloc'd and NUL-terminated; frees bio. */
static char *
bio_text(BIO *bio)
{
	char *p, *s;
	long n = BIO_get_mem_data(bio, &p);

	assert_true(n > 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	return s;
}

/* key as PEM block name with DER der (len bytes) plus extra bytes. */
static char *
pem_block(const char *name, const char *header, const uint8_t *der, long len)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_non_null(bio);
	assert_true(PEM_write_bio(bio, name, header, der, len) > 0);
	return bio_text(bio);
}

static void
test_pkcs8_every_type(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *keys[] = { pki.ec_key, pki.rsa_key, pki.dkim_key, ed };
	size_t i;

	(void)state;
	assert_non_null(ed);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *pem = tc_pem_key(keys[i]);

		assert_non_null(pem);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		parses_as(pem, keys[i]);
		free(pem);
	}
	EVP_PKEY_free(ed);
}

/* "RSA PRIVATE KEY", "EC PRIVATE KEY": the generic path, same keys. */
static void
test_traditional_formats(void **state)
{
	EVP_PKEY *keys[] = { pki.ec_key, pki.rsa_key };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;

		assert_non_null(bio);
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, keys[i], NULL, NULL,
		    0, NULL, NULL), 1);
		pem = bio_text(bio);
		assert_null(strstr(pem, "BEGIN PRIVATE KEY"));
		parses_as(pem, keys[i]);
		free(pem);
	}
}

/*
 * Text the narrow path does not take or refuses: the outcome is the
 * generic reader's, whatever it is.
 */
static void
test_other_text_as_openssl(void **state)
{
	uint8_t *der = NULL, *longer;
	int len;
	char *key = tc_pem_key(pki.ec_key), *text[5];
	size_t i, n;
	BIO *bio;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pki.ec_key);

	(void)state;
	assert_non_null(key);
	assert_non_null(p8);
	assert_true((len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) > 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	longer = malloc((size_t)len + 2);
	assert_non_null(longer);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0x05, longer[len + 1] = 0x00;
	/* A certificate, then the key (a combined file). */
	n = strlen(pki.ec_chain) + strlen(key) + 1;
	assert_non_null(text[0] = malloc(n));
	snprintf(text[0], n, "%s%s", pki.ec_chain, key);
	/* PKCS#8 DER with bytes after it, inside the block. */
	text[1] = pem_block("PRIVATE KEY", "", longer, len + 2);
	/* A "PRIVATE KEY" block with a header line. */
	text[2] = pem_block("PRIVATE KEY", "Comment: x\n", der, len);
	/* Not a key in the block. */
	text[3] = pem_block("PRIVATE KEY", "", (const uint8_t *)"not a key", 9);
	/* An encrypted key: refused, never a prompt. */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pki.ec_key, EVP_aes_128_cbc(),
	    "pw", 2, NULL, NULL), 1);
	text[4] = bio_text(bio);
	for (i = 0; i < 5; i++) {
		EVP_PKEY *want = reference(text[i]);

		parses_as(text[i], want);
		EVP_PKEY_free(want);
		free(text[i]);
	}
	OPENSSL_free(der);
	free(longer);
	free(key);
}

static void
test_data_after_the_key(void **state)
{
	char *key = tc_pem_key(pki.rsa_key), *text;
	size_t n;
	struct err e = { 0 };

	(void)state;
	assert_non_null(key);
	n = strlen(key) + strlen(pki.rsa_chain) + 1;
	assert_non_null(text = malloc(n));
	snprintf(text, n, "%s%s", key, pki.rsa_chain);
	assert_null(cert_parse_key(text, strlen(text), &e));
	assert_true(tu_contains(e.msg, "unexpected data after the private key"));
	snprintf(text, n, "%s \n\n", key);
	parses_as(text, pki.rsa_key);
	free(text);
	free(key);
}

/* The caller's pending OpenSSL errors are left as they were. */
static void
test_error_queue_kept(void **state)
{
	EVP_PKEY *k;

	(void)state;
	ERR_clear_error();
	ERR_raise(ERR_LIB_USER, 42);
	k = cert_parse_key(pki.ec_keypem, strlen(pki.ec_keypem), NULL);
	assert_non_null(k);
	assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()), 42);
	ERR_clear_error();
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs8_every_type),
		cmocka_unit_test(test_traditional_formats),
		cmocka_unit_test(test_other_text_as_openssl),
		cmocka_unit_test(test_data_after_the_key),
		cmocka_unit_test(test_error_queue_kept),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
