/*
 * The bundle serial: strictly increasing, never below the clock,
 * persisted across reloads, and a corrupt serial file is an error, not a
 * reset (a reset would let certpush hand out a serial it already used).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "serial.h"

#include "testutil.c"

/* A fresh state folder name (not created) under tu_dir. */
static void
state_dir(const char *name, char out[TU_PATH_MAX])
{
	snprintf(out, TU_PATH_MAX, "%s/%s", tu_dir, name);
}

static uint64_t
next(const char *sd, time_t now)
{
	struct err e = { "" };
	uint64_t s = 0;

	if (serial_next(sd, now, -1, &s, &e) == -1)
		fail_msg("serial_next: %s", e.msg);
	return s;
}

static uint64_t
last(const char *sd)
{
	struct err e = { "" };
	uint64_t s = 12345;

	if (serial_last(sd, &s, &e) == -1)
		fail_msg("serial_last: %s", e.msg);
	return s;
}

static void
test_first_and_increasing(void **state)
{
	char sd[TU_PATH_MAX];
	struct stat st;
	uint64_t prev, s;
	int i;

	(void)state;
	state_dir("inc", sd);
	assert_int_equal(last(sd), 0);		/* nothing yet, no folder */
	assert_int_equal(next(sd, 1000), 1000);	/* the clock is the floor */
	assert_int_equal(stat(sd, &st), 0);	/* the folder was made, 0700 */
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(next(sd, 1000), 1001);	/* same second: last + 1 */
	assert_int_equal(next(sd, 500), 1002);	/* clock went back: still up */
	assert_int_equal(next(sd, 0), 1003);
	assert_int_equal(next(sd, 5000), 5000);	/* clock ahead: jump to it */
	assert_int_equal(last(sd), 5000);
	prev = 5000;
	for (i = 0; i < 200; i++) {
		time_t now = 5000 + (i % 7) * 3 - 9;	/* a jittery clock */

		s = next(sd, now);
		assert_true(s > prev);
		assert_true(s >= (uint64_t)now);
		prev = s;
	}
	assert_int_equal(last(sd), prev);
}

static void
test_persists(void **state)
{
	char sd[TU_PATH_MAX], path[TU_PATH_MAX];
	struct stat st;
	time_t now = time(NULL);
	uint64_t a, b;

	(void)state;
	state_dir("persist", sd);
	a = next(sd, now);
	assert_true(a >= (uint64_t)now);
	/* What a fresh process would read. */
	assert_int_equal(last(sd), a);
	b = next(sd, now);
	assert_int_equal(b, a + 1);
	assert_int_equal(last(sd), b);
	/* The file: decimal and a newline, mode 0600, no temp files beside. */
	snprintf(path, sizeof(path), "%s/serial", sd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	{
		char text[32], want[32];
		FILE *f = fopen(path, "r");
		size_t n;

		assert_non_null(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		snprintf(want, sizeof(want), "%" PRIu64 "\n", b);
		assert_string_equal(text, want);
	}
	assert_int_equal(tu_count_entries(sd), 2);	/* serial, serial.lock */
}

/* A serial file written by hand (or an older version) is honoured. */
static void
test_existing_file(void **state)
{
	char sd[TU_PATH_MAX];

	(void)state;
	state_dir("existing", sd);
	assert_int_equal(mkdir(sd, 0700), 0);
	assert_int_equal(tu_write(sd, "serial", "7000000000\n", 11, 0600, NULL), 0);
	assert_int_equal(last(sd), 7000000000ULL);
	assert_int_equal(next(sd, 1000), 7000000001ULL);
	assert_int_equal(tu_write(sd, "serial", "42", 2, 0600, NULL), 0);
	assert_int_equal(last(sd), 42);
	assert_int_equal(next(sd, 10), 43);
}

static void
test_corrupt(void **state)
{
	static const char *const bad[] = { "", "\n", "abc\n", "12a\n", "12 \n", "1.5\n",
	    "0x10\n", "99999999999999999999999\n", "-1\n", "-5\n", "+5\n", " 5\n",
	    "5\n6\n", "5\n\n", "00000000000000000000000000000059\n" };
	char sd[TU_PATH_MAX], name[32];
	struct err e;
	uint64_t s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "corrupt%zu", i);
		state_dir(name, sd);
		assert_int_equal(mkdir(sd, 0700), 0);
		assert_int_equal(tu_write(sd, "serial", bad[i], strlen(bad[i]), 0600,
		    NULL), 0);
		e.msg[0] = '\0';
		s = 77;
		if (serial_next(sd, 1000, -1, &s, &e) != -1)
			fail_msg("serial file \"%s\" accepted: next %" PRIu64, bad[i], s);
		assert_true(e.msg[0] != '\0');
		assert_true(tu_contains(e.msg, sd));
		if (serial_last(sd, &s, &e) != -1)
			fail_msg("serial file \"%s\" accepted by serial_last", bad[i]);
		/* Nothing was rewritten. */
		{
			struct buf b = { 0 };
			char path[TU_PATH_MAX];

			snprintf(path, sizeof(path), "%s/serial", sd);
			assert_int_equal(file_read(path, 100, &b, &e), 0);
			assert_int_equal(b.len, strlen(bad[i]));
			buf_free(&b);
		}
	}
}

/* The last serial there is: no next one, rather than wrapping to 0. */
static void
test_exhausted(void **state)
{
	char sd[TU_PATH_MAX];
	struct err e;
	uint64_t s = 0;

	(void)state;
	state_dir("exhausted", sd);
	assert_int_equal(mkdir(sd, 0700), 0);
	assert_int_equal(tu_write(sd, "serial", "18446744073709551614\n", 21, 0600,
	    NULL), 0);
	assert_true(next(sd, 1000) == UINT64_MAX);
	assert_true(last(sd) == UINT64_MAX);
	e.msg[0] = '\0';
	assert_int_equal(serial_next(sd, 1000, -1, &s, &e), -1);
	assert_true(tu_contains(e.msg, sd));
	assert_true(last(sd) == UINT64_MAX);
}

static void
test_refuses_symlink_and_garbage(void **state)
{
	char sd[TU_PATH_MAX], target[TU_PATH_MAX], path[TU_PATH_MAX];
	struct err e;
	uint64_t s;

	(void)state;
	state_dir("link", sd);
	assert_int_equal(mkdir(sd, 0700), 0);
	assert_int_equal(tu_write(tu_dir, "elsewhere", "5\n", 2, 0600, target), 0);
	snprintf(path, sizeof(path), "%s/serial", sd);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(serial_last(sd, &s, &e), -1);
	assert_int_equal(serial_next(sd, 1000, -1, &s, &e), -1);
	/* A serial file too large to be a number. */
	state_dir("huge", sd);
	assert_int_equal(mkdir(sd, 0700), 0);
	{
		char text[200];

		memset(text, '1', sizeof(text));
		assert_int_equal(tu_write(sd, "serial", text, sizeof(text), 0600, NULL), 0);
	}
	assert_int_equal(serial_last(sd, &s, &e), -1);
	assert_int_equal(serial_next(sd, 1000, -1, &s, &e), -1);
	/* A state folder that cannot be created. */
	assert_int_equal(serial_next("/nonexistent-cp/state", 1000, -1, &s, &e), -1);
	assert_true(tu_contains(e.msg, "/nonexistent-cp/state"));
}

/* after(): serial_after, which must succeed. */
static uint64_t
after(uint64_t last, time_t now, int front_id)
{
	struct err e = { "" };
	uint64_t s = 0;

	if (serial_after(last, now, front_id, &s, &e) == -1)
		fail_msg("serial_after(%" PRIu64 ", %lld, %d): %s", last,
		    (long long)now, front_id, e.msg);
	return s;
}

/*
 * Two fronts with their own ids never hand out the same serial, whatever
 * their last serials and clocks; each one's serials carry its id in the low
 * four bits and follow the clock (now * 16 + id).
 */
static void
test_front_ids(void **state)
{
	struct err e;
	uint64_t a, b, s, prev;
	time_t now;
	int i;

	(void)state;
	assert_true(after(0, 1000, 0) == 16000);
	assert_true(after(0, 1000, 3) == 16003);
	assert_true(after(16003, 1000, 3) == 16019);	/* same second: next slot */
	assert_true(after(16003, 1000, 5) == 16005);	/* another front, same second */
	assert_true(after(16019, 1000, 2) == 16034);	/* above the other's last */
	assert_true(after(16019, 999, 15) == 16031);	/* clock back: still up */
	/* A single front's plain serial (no id) is below any id'd one. */
	assert_true(after(1795290129, 1795290130, 0) == 1795290130ULL * 16);
	assert_true(after(1795290129, 1795290130, -1) == 1795290130);
	/* Both fronts in the same second, each from the other's last serial. */
	for (i = 0, a = 0, prev = 0, now = 5000; i < 300; i++) {
		now += i % 3 == 0;
		a = after(prev, now, 0);
		b = after(prev, now, 1);
		assert_true(a != b);
		assert_true((a & 15) == 0 && (b & 15) == 1);
		assert_true(a > prev && b > prev);
		assert_true(a >= (uint64_t)now * 16 && b >= (uint64_t)now * 16);
		prev = i % 2 ? a : b;
	}
	/* No serial left: refused, never wrapped. */
	assert_int_equal(serial_after(UINT64_MAX - 3, 0, 0, &s, &e), -1);
	assert_int_equal(serial_after(UINT64_MAX, 0, -1, &s, &e), -1);
	assert_int_equal(serial_after(0, (time_t)(UINT64_MAX >> 3), 1, &s, &e), -1);
	assert_true(after(UINT64_MAX - 3, 0, 15) == UINT64_MAX);
}

/* The id is persisted through the serial file like a plain serial. */
static void
test_front_id_persists(void **state)
{
	char sd[TU_PATH_MAX];
	struct err e = { "" };
	uint64_t s;

	(void)state;
	state_dir("front", sd);
	assert_int_equal(serial_next(sd, 1000, 7, &s, &e), 0);
	assert_true(s == 16007);
	assert_true(last(sd) == 16007);
	assert_int_equal(serial_next(sd, 1000, 7, &s, &e), 0);
	assert_true(s == 16023);
	assert_true(last(sd) == 16023);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_and_increasing),
		cmocka_unit_test(test_persists),
		cmocka_unit_test(test_existing_file),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_exhausted),
		cmocka_unit_test(test_refuses_symlink_and_garbage),
		cmocka_unit_test(test_front_ids),
		cmocka_unit_test(test_front_id_persists),
	};

	return cmocka_run_group_tests_name("serial", tests, tu_group_setup,
	    tu_group_teardown);
}
