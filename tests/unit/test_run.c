/*
 * Running commands (run.c): one deadline for a command's whole life,
 * success judged by its exit status even if a process it left behind
 * holds its output, and a clean start (descriptors, signals,
 * environment).  Real /bin/sh scripts are the commands.  Each test is
 * bounded by alarm(): a hang fails it instead of blocking the suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "run.h"

#include "testutil.c"

#define GUARD_S	20	/* far above any timeout below */

/* Output of argv as a NUL-terminated string in out; returns run_argv's rc. */
static int
run_text(char *const argv[], unsigned timeout_s, struct buf *out, struct err *e)
{
	int rc = run_argv(argv, timeout_s, out, e);

	assert_int_equal(buf_add_u8(out, '\0'), 0);
	return rc;
}

/* Kills the process whose pid the script wrote to path. */
static void
kill_left_behind(const char *path)
{
	char text[32] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_true(atoi(text) > 1);
	kill(atoi(text), SIGKILL);
}

/* A check that closes its output and hangs: fails at its timeout. */
static void
test_hang_after_closing_output(void **state)
{
	char *const argv[] = { "/bin/sh", "-c", "exec >&- 2>&-; exec sleep 1000", NULL };
	struct buf out = { 0 };
	struct err e;

	(void)state;
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 1, &out, &e), -1);
	assert_true(tu_contains(e.msg, "timed out and was killed"));
	alarm(0);
	buf_free(&out);
}

/* The same through run_argv_io (a local target's certpull). */
static void
test_io_hang_after_closing_output(void **state)
{
	char *const argv[] = { "/bin/sh", "-c", "exec >&- <&-; exec sleep 1000", NULL };
	struct buf out = { 0 };
	struct err e;
	int status = -1;

	(void)state;
	alarm(GUARD_S);
	assert_int_equal(run_argv_io(argv, 1, "x", 1, &out, 64, &status, &e), -1);
	assert_true(tu_contains(e.msg, "timed out and was killed"));
	alarm(0);
	buf_free(&out);
}

/*
 * A reload that starts a daemon holding its output and exits 0 succeeds
 * as soon as it exits, well before its timeout (GUARD_S would fire).
 */
static void
test_daemon_child_holding_output(void **state)
{
	char pidfile[TU_PATH_MAX], script[TU_PATH_MAX + 64];
	char *const argv[] = { "/bin/sh", "-c", script, NULL };
	struct buf out = { 0 };
	struct err e;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tu_dir);
	snprintf(script, sizeof(script), "echo started; sleep 1000 & echo $! >%s; exit 0",
	    pidfile);
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 2 * GUARD_S, &out, &e), 0);
	alarm(0);
	assert_true(tu_contains((char *)out.data, "started"));
	kill_left_behind(pidfile);
	buf_free(&out);
}

static void
test_io_daemon_child_holding_output(void **state)
{
	char pidfile[TU_PATH_MAX], script[TU_PATH_MAX + 64];
	char *const argv[] = { "/bin/sh", "-c", script, NULL };
	struct buf out = { 0 };
	struct err e;
	int status = -1;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/daemon-io.pid", tu_dir);
	snprintf(script, sizeof(script), "cat; sleep 1000 & echo $! >%s; exit 3", pidfile);
	alarm(GUARD_S);
	assert_int_equal(run_argv_io(argv, 2 * GUARD_S, "hello", 5, &out, 64, &status,
	    &e), 0);
	alarm(0);
	assert_int_equal(status, 3);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "hello", 5);
	kill_left_behind(pidfile);
	buf_free(&out);
}

/* Exit status and output still reported as before. */
static void
test_failure_reported(void **state)
{
	char *const argv[] = { "/bin/sh", "-c", "echo bad config >&2; exit 4", NULL };
	struct buf out = { 0 };
	struct err e;

	(void)state;
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 5, &out, &e), -1);
	alarm(0);
	assert_true(tu_contains(e.msg, "exited with status 4: bad config"));
	buf_free(&out);
}

/*
 * Only 0, 1 and 2 reach the command, even a descriptor without
 * close-on-exec (like libinotifytools' inotify descriptor).
 */
static void
test_only_standard_descriptors(void **state)
{
	char *const argv[] = { "/bin/sh", "-c", "ls /proc/$$/fd", NULL };
	struct buf out = { 0 };
	struct err e;
	int leak = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(leak > 2);
	assert_int_equal(dup2(leak, 77), 77);
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 5, &out, &e), 0);
	alarm(0);
	assert_string_equal((char *)out.data, "0\n1\n2\n");
	close(77);
	close(leak);
	buf_free(&out);
}

/* Default dispositions and an empty mask, though ours ignores and blocks. */
static void
test_signals_reset(void **state)
{
	char *const argv[] = { "/bin/grep", "^Sig[IB]", "/proc/self/status", NULL };
	struct buf out = { 0 };
	struct err e;
	sigset_t block, saved;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &saved);
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 5, &out, &e), 0);
	alarm(0);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	signal(SIGPIPE, SIG_DFL);
	assert_string_equal((char *)out.data,
	    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	buf_free(&out);
}

/* The documented environment, and nothing of ours. */
static void
test_clean_environment(void **state)
{
	char *const argv[] = { "/usr/bin/env", NULL };
	struct buf out = { 0 };
	struct err e;

	(void)state;
	setenv("CERTPULL_LEAK", "1", 1);
	alarm(GUARD_S);
	assert_int_equal(run_text(argv, 5, &out, &e), 0);
	alarm(0);
	unsetenv("CERTPULL_LEAK");
	assert_string_equal((char *)out.data, "PATH=" RUN_PATH "\nLANG=C\nHOME=/\n");
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hang_after_closing_output),
		cmocka_unit_test(test_io_hang_after_closing_output),
		cmocka_unit_test(test_daemon_child_holding_output),
		cmocka_unit_test(test_io_daemon_child_holding_output),
		cmocka_unit_test(test_failure_reported),
		cmocka_unit_test(test_only_standard_descriptors),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_clean_environment),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
