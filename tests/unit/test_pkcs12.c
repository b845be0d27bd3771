/*
 * The pkcs12 file format: a render opened again gives back the same
 * leaf, chain and key; renders are salted (never the same bytes twice)
 * and compared by content; passwords come only from a root-only file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "pkcs12.h"
#include "render.h"

#include "testcerts.c"
#include "testutil.c"

static struct tc_pki pki;
static char dir[TU_PATH_MAX];

static int
group_setup(void **state)
{
	(void)state;
	return tc_pki_new(&pki, time(NULL)) == 0 ? tu_mkdtemp(dir) : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	tc_pki_free(&pki);
	return tu_rmtree(dir);
}

/* Renders the RSA chain and key as f's file into out. */
static void
render(const struct svc_file *f, struct buf *out)
{
	STACK_OF(X509) *chain = cert_parse_chain(pki.rsa_chain, strlen(pki.rsa_chain), NULL);
	struct err e;

	assert_non_null(chain);
	assert_int_equal(pkcs12_render(f, chain, pki.rsa_key, out, &e), 0);
	assert_true(out->secret);
	sk_X509_pop_free(chain, X509_free);
}

static void
round_trip(const char *password_file)
{
	struct svc_file f = { .path = "/x.p12", .format = FMT_PKCS12,
	    .password_file = (char *)password_file };
	struct buf a = { 0 }, b = { 0 }, pem = { 0 }, want = { 0 };
	STACK_OF(X509) *chain = cert_parse_chain(pki.rsa_chain, strlen(pki.rsa_chain), NULL);
	struct err e;

	render(&f, &a);
	render(&f, &b);
	/* Salted: the bytes differ, the content does not. */
	assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	assert_true(render_same_content(&f, &a, &b));
	assert_int_equal(pkcs12_as_pem(&f, a.data, a.len, &pem, &e), 0);
	assert_int_equal(cert_pem_chain(chain, 0, -1, &want), 0);
	assert_int_equal(cert_pem_key(pki.rsa_key, &want), 0);
	assert_int_equal(pem.len, want.len);
	assert_memory_equal(pem.data, want.data, want.len);
	sk_X509_pop_free(chain, X509_free);
	buf_free(&a);
	buf_free(&b);
	buf_free(&pem);
	buf_free(&want);
}

static void
test_round_trip_with_password(void **state)
{
	char path[TU_PATH_MAX];

	(void)state;
	assert_int_equal(tu_write(dir, "pass", "correct horse\n", 14, 0600, path), 0);
	round_trip(path);
}

static void
test_round_trip_empty_password(void **state)
{
	(void)state;
	round_trip(NULL);
}

static void
test_wrong_password_and_damage(void **state)
{
	char good[TU_PATH_MAX], bad[TU_PATH_MAX];
	struct svc_file f = { .path = "/x.p12", .format = FMT_PKCS12 }, g = f;
	struct buf out = { 0 }, pem = { 0 };
	struct err e;

	(void)state;
	assert_int_equal(tu_write(dir, "good", "one\n", 4, 0600, good), 0);
	assert_int_equal(tu_write(dir, "bad", "two\n", 4, 0600, bad), 0);
	f.password_file = good;
	g.password_file = bad;
	render(&f, &out);
	assert_int_equal(pkcs12_as_pem(&g, out.data, out.len, &pem, &e), -1);
	assert_true(tu_contains(e.msg, "wrong password"));
	out.data[out.len / 2] ^= 0x20;
	assert_int_equal(pkcs12_as_pem(&f, out.data, out.len, &pem, &e), -1);
	assert_int_equal(pkcs12_as_pem(&f, out.data, out.len - 1, &pem, &e), -1);
	buf_free(&out);
	buf_free(&pem);
}

static void
test_password_file_refusals(void **state)
{
	static const struct { const char *name, *data; mode_t mode; const char *why; } rows[] = {
		{ "open", "pw\n", 0644, "mode 0644" },
		{ "empty", "\n", 0600, "one non-empty line" },
		{ "lines", "a\nb\n", 0600, "one non-empty line" },
		{ "nul", "a\0b", 0600, "one non-empty line" },
	};
	STACK_OF(X509) *chain = cert_parse_chain(pki.rsa_chain, strlen(pki.rsa_chain), NULL);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char path[TU_PATH_MAX];
		struct svc_file f = { .path = "/x.p12", .format = FMT_PKCS12 };
		struct buf out = { 0 };
		struct err e;

		assert_int_equal(tu_write(dir, rows[i].name, rows[i].data,
		    strlen(rows[i].data) + (strcmp(rows[i].name, "nul") == 0 ? 2 : 0),
		    rows[i].mode, path), 0);
		f.password_file = path;
		assert_int_equal(pkcs12_render(&f, chain, pki.rsa_key, &out, &e), -1);
		if (!tu_contains(e.msg, rows[i].why))
			fail_msg("%s: \"%s\" lacks \"%s\"", rows[i].name, e.msg, rows[i].why);
		assert_int_equal(out.len, 0);
		buf_free(&out);
	}
	sk_X509_pop_free(chain, X509_free);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_password),
		cmocka_unit_test(test_round_trip_empty_password),
		cmocka_unit_test(test_wrong_password_and_damage),
		cmocka_unit_test(test_password_file_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
