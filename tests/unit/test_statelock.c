/*
 * Lock files in a state folder (common/statelock.c): one holder at a
 * time, a bounded wait that ends in a clear error, no lock taken through
 * a symlink, the folder created private.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "statelock.h"

#include "testutil.c"

static void
test_one_holder(void **state)
{
	char dir[TU_PATH_MAX];
	struct err e = { "" };
	struct stat st;
	int a, b;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/one", tu_dir);
	a = state_lock(dir, "x.lock", 0, &e);
	assert_true(a >= 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(state_lock_held(dir, "x.lock"), 1);
	/* flock conflicts between two opens, even in one process. */
	errno = 0;
	assert_int_equal(state_lock(dir, "x.lock", 0, &e), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_true(tu_contains(e.msg, "/one/x.lock: held by another process"));
	/* A bounded wait ends too, with the same error. */
	assert_int_equal(state_lock(dir, "x.lock", 120, &e), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	/* Other names are other locks. */
	b = state_lock(dir, "y.lock", 0, &e);
	assert_true(b >= 0);
	close(b);
	close(a);
	assert_int_equal(state_lock_held(dir, "x.lock"), 0);
	b = state_lock(dir, "x.lock", 0, &e);
	assert_true(b >= 0);
	close(b);
}

static void
test_no_symlink(void **state)
{
	char dir[TU_PATH_MAX], link[TU_PATH_MAX + 16], target[TU_PATH_MAX + 16];
	struct err e = { "" };
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sym", tu_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/x.lock", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(state_lock(dir, "x.lock", 0, &e), -1);
	assert_true(tu_contains(e.msg, "x.lock: "));
	assert_int_equal(stat(target, &st), -1);	/* nothing created through it */
	assert_int_equal(state_lock_held(dir, "x.lock"), 0);
}

static void
test_missing_parent(void **state)
{
	char dir[TU_PATH_MAX];
	struct err e = { "" };

	(void)state;
	snprintf(dir, sizeof(dir), "%s/no/such", tu_dir);
	assert_int_equal(state_lock(dir, "x.lock", 0, &e), -1);
	assert_true(tu_contains(e.msg, "/no/such: "));
	assert_int_equal(state_lock_held(dir, "x.lock"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_holder),
		cmocka_unit_test(test_no_symlink),
		cmocka_unit_test(test_missing_parent),
	};

	return cmocka_run_group_tests_name("statelock", tests, tu_group_setup,
	    tu_group_teardown);
}
