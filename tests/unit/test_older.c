/*
 * The rule against rolling a node back (older.c): a leaf issued earlier
 * (notBefore) than the one installed in a file is refused, with a
 * message naming the item, both dates and both fingerprints; one issued
 * at the same second or later passes; a file that is missing or holds no
 * certificate, or one that holds no leaf (chain, key, DKIM), is no rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cert.h"
#include "older.h"

#include "testcerts.c"
#include "testutil.c"

static struct tc_pki pki;
static char dir[TU_PATH_MAX];
/* Leaves of www issued 10 and 5 days ago, and another also 5 days ago. */
static X509 *old10, *new5, *same5;
static char *pem10, *pem5;

static char *
chain_pem(X509 *leaf)
{
	X509 *certs[2] = { leaf, pki.inter };

	return tc_pem_certs(certs, 2);
}

static X509 *
leaf(long from)
{
	return tc_cert("www.example.test", pki.ec_key, pki.inter, pki.int_key, pki.now,
	    from, 60 * TC_DAY, 0, "DNS:www.example.test");
}

static int
group_setup(void **state)
{
	(void)state;
	if (tc_pki_new(&pki, time(NULL)) == -1 || tu_mkdtemp(dir) == -1)
		return -1;
	old10 = leaf(-10 * TC_DAY);
	new5 = leaf(-5 * TC_DAY);
	same5 = leaf(-5 * TC_DAY);
	if (old10 == NULL || new5 == NULL || same5 == NULL)
		return -1;
	pem10 = chain_pem(old10);
	pem5 = chain_pem(new5);
	return pem10 != NULL && pem5 != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(old10);
	X509_free(new5);
	X509_free(same5);
	free(pem10);
	free(pem5);
	tc_pki_free(&pki);
	return tu_rmtree(dir);
}

/* "2026-11-01 12:00:00 UTC" for pki.now + from. */
static void
date_of(long from, char out[32])
{
	time_t t = pki.now + from;
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) > 0);
}

static void
test_older_refused(void **state)
{
	char was[32], now[32], fold[CERT_FPR_LEN], fnew[CERT_FPR_LEN], want[512];
	struct err e;

	(void)state;
	assert_int_equal(older_compare("www", "/x/www.pem", new5, old10, &e), -1);
	date_of(-10 * TC_DAY, now);
	date_of(-5 * TC_DAY, was);
	cert_fingerprint(old10, fnew);
	cert_fingerprint(new5, fold);
	snprintf(want, sizeof(want), "www: certificate issued %s (%.11s) is older than "
	    "the installed one issued %s (%.11s) in /x/www.pem (rollback refused", now,
	    fnew, was, fold);
	if (!tu_contains(e.msg, want))
		fail_msg("got \"%s\", want \"%s...\"", e.msg, want);
}

static void
test_same_or_newer_accepted(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(older_compare("www", "/x", old10, new5, &e), 0);
	assert_int_equal(older_compare("www", "/x", new5, same5, &e), 0);
	assert_int_equal(older_compare("www", "/x", new5, new5, &e), 0);
}

/* A bundle holding the chain in pem as item www (not encoded: the check needs no more). */
static struct bundle *
bundle_of(const char *pem)
{
	struct bundle *b = calloc(1, sizeof(*b));
	struct err e;

	assert_non_null(b);
	assert_int_equal(bundle_add_entry(b, "www", KIND_CHAIN, pem, strlen(pem), &e), 0);
	return b;
}

/* Runs older_check with one file of format fmt at dir/name. */
static int
check_one(const char *name, enum file_format fmt, const char *pem, struct err *e)
{
	char path[TU_PATH_MAX];
	struct svc_file f = { .path = path, .item = "www", .format = fmt };
	struct service s = { .name = "web", .files = &f, .nfiles = 1 };
	struct pullconf c = { .node = "mail", .services = &s, .nservices = 1 };
	struct bundle *b = bundle_of(pem);
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = older_check(&c, b, NULL, e);
	free(b);
	return rc;
}

static void
test_check_files(void **state)
{
	struct err e;

	(void)state;
	/* Installed: the leaf of 5 days ago. */
	assert_int_equal(tu_write(dir, "new.pem", pem5, strlen(pem5), 0600, NULL), 0);
	assert_int_equal(check_one("new.pem", FMT_FULLCHAIN, pem10, &e), -1);
	assert_true(tu_contains(e.msg, "www: certificate issued "));
	assert_int_equal(check_one("new.pem", FMT_FULLCHAIN, pem5, &e), 0);
	/* A chain file starts with the intermediate: no leaf to compare. */
	assert_int_equal(check_one("new.pem", FMT_CHAIN, pem10, &e), 0);
	/* Installed: the older leaf; the bundle's newer one passes. */
	assert_int_equal(tu_write(dir, "old.pem", pem10, strlen(pem10), 0600, NULL), 0);
	assert_int_equal(check_one("old.pem", FMT_CERT, pem5, &e), 0);
}

static void
test_no_rule_without_installed_leaf(void **state)
{
	struct err e;

	(void)state;
	/* Missing (a first install), garbage, empty: nothing to compare with. */
	assert_int_equal(check_one("missing.pem", FMT_FULLCHAIN, pem10, &e), 0);
	assert_int_equal(tu_write(dir, "junk.pem", "junk\n", 5, 0600, NULL), 0);
	assert_int_equal(check_one("junk.pem", FMT_FULLCHAIN, pem10, &e), 0);
	assert_int_equal(tu_write(dir, "empty.pem", "", 0, 0600, NULL), 0);
	assert_int_equal(check_one("empty.pem", FMT_HAPROXY, pem10, &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_older_refused),
		cmocka_unit_test(test_same_or_newer_accepted),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_no_rule_without_installed_leaf),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
