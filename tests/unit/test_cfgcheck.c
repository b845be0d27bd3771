/*
 * What check-config checks beyond the syntax: a known_hosts entry for a
 * target, plain or hashed by ssh-keygen -H (the lines below come from
 * it), never a commented one or a neighbour's; and the safety of a
 * named file: missing (a warning) apart from unsafe (a problem).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfgcheck.h"

#include "testutil.c"

#define KEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICda10MqnB/Ec3l/sQNGLlxoPITh3oUgTYrNwUM3Ccsr"

/* ssh-keygen -H of "10.0.0.2 KEY" and "[10.0.0.3]:2222 KEY". */
static const char hashed[] =
"|1|J8lEk1RbbHguaqJaLFrDoqfpiWY=|2KZzgcP54J677JK6HcbX0ImEVEI= " KEY "\n"
"|1|n/sKmOmTDGatwTuEsHUiJ7Gk7fc=|jBHEQydvKcXAGduUgaxp6VbJIfE= " KEY "\n";

static const char plain[] =
"# mail.example.com " KEY "\n"
"front.example.com,10.0.0.9 " KEY "\n"
"[mx.example.com]:2222 " KEY "\n";

static void
test_known_host_hashed(void **state)
{
	char path[TU_PATH_MAX];
	struct err e;

	(void)state;
	assert_int_equal(tu_write(tu_dir, "hashed", hashed, strlen(hashed), 0644, path), 0);
	assert_int_equal(cfgcheck_known_host(path, "10.0.0.2", 22, &e), 0);
	assert_int_equal(cfgcheck_known_host(path, "10.0.0.3", 2222, &e), 0);
	/* The same host on another port is another entry. */
	assert_int_equal(cfgcheck_known_host(path, "10.0.0.3", 22, &e), -1);
	assert_true(tu_contains(e.msg, "no entry for 10.0.0.3:"));
	assert_int_equal(cfgcheck_known_host(path, "10.0.0.4", 22, &e), -1);
}

static void
test_known_host_plain(void **state)
{
	char path[TU_PATH_MAX];
	struct err e;

	(void)state;
	assert_int_equal(tu_write(tu_dir, "plain", plain, strlen(plain), 0644, path), 0);
	assert_int_equal(cfgcheck_known_host(path, "10.0.0.9", 22, &e), 0);
	assert_int_equal(cfgcheck_known_host(path, "front.example.com", 22, &e), 0);
	assert_int_equal(cfgcheck_known_host(path, "mx.example.com", 2222, &e), 0);
	/* A commented line, a prefix and a name in the key field do not count. */
	assert_int_equal(cfgcheck_known_host(path, "mail.example.com", 22, &e), -1);
	assert_int_equal(cfgcheck_known_host(path, "front.example", 22, &e), -1);
	assert_int_equal(cfgcheck_known_host(path, "ssh-ed25519", 22, &e), -1);
	assert_true(tu_contains(e.msg, "ssh-keyscan -p 22 -t ed25519 ssh-ed25519"));
}

static void
test_file_missing_unsafe_safe(void **state)
{
	char path[TU_PATH_MAX], link[TU_PATH_MAX];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/none", tu_dir);
	assert_int_equal(cfgcheck_file("signing_key", path, 1, &e), 1);
	assert_true(tu_contains(e.msg, "signing_key "));
	assert_true(tu_contains(e.msg, "/none: missing"));
	assert_int_equal(tu_write(tu_dir, "open.key", "k", 1, 0644, path), 0);
	assert_int_equal(cfgcheck_file("identity", path, 1, &e), -1);
	assert_true(tu_contains(e.msg, "mode 0644: a secret readable by group or others"));
	/* Public files may be read by all, not written. */
	assert_int_equal(cfgcheck_file("known_hosts", path, 0, &e), 0);
	assert_int_equal(tu_write(tu_dir, "shared", "k", 1, 0664, path), 0);
	assert_int_equal(cfgcheck_file("known_hosts", path, 0, &e), -1);
	assert_true(tu_contains(e.msg, "mode 0664: writable by group or others"));
	assert_int_equal(tu_write(tu_dir, "good.key", "k", 1, 0600, path), 0);
	assert_int_equal(cfgcheck_file("identity", path, 1, &e), 0);
	snprintf(link, sizeof(link), "%s/link.key", tu_dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(cfgcheck_file("identity", link, 1, &e), -1);
	assert_true(tu_contains(e.msg, "a symbolic link"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_host_hashed),
		cmocka_unit_test(test_known_host_plain),
		cmocka_unit_test(test_file_missing_unsafe_safe),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
