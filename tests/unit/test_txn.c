/*
 * The file transaction of an install (txn.c) on real files in a scratch
 * folder: what a rollback restores, and what a recovery reports.
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

#include "buf.h"
#include "txn.h"

#include "testutil.c"

/* One service per file, each file DIR/SUB/NAME with new content "new". */
struct fixture {
	char		 state[TU_PATH_MAX];
	char		 path[2][TU_PATH_MAX];
	struct svc_file	 f[2];
	struct service	 s[2];
	struct txn	*t;
};

static void
fixture_init(struct fixture *fx, const char *sub, const char *const *names,
    size_t n)
{
	char base[TU_PATH_MAX];
	size_t i;

	snprintf(base, sizeof(base), "%s/%s", tu_dir, sub);
	assert_int_equal(mkdir(base, 0700), 0);
	snprintf(fx->state, sizeof(fx->state), "%s/state", base);
	assert_int_equal(mkdir(fx->state, 0700), 0);
	assert_non_null(fx->t = calloc(1, sizeof(*fx->t)));
	fx->t->state_dir = fx->state;
	for (i = 0; i < n; i++) {
		snprintf(fx->path[i], TU_PATH_MAX, "%s/%s.pem", base, names[i]);
		fx->f[i] = (struct svc_file){ .path = fx->path[i], .item = "x",
		    .uid = geteuid(), .gid = getegid(), .mode = 0644 };
		fx->s[i] = (struct service){ .name = (char *)names[i],
		    .files = &fx->f[i], .nfiles = 1 };
		fx->t->files[i].svc = &fx->s[i];
		fx->t->files[i].f = &fx->f[i];
		assert_int_equal(buf_add_str(&fx->t->files[i].new, "new\n"), 0);
		/* The previous file: other content. */
		assert_int_equal(tu_write(base, strrchr(fx->path[i], '/') + 1, "old\n", 4,
		    0644, NULL), 0);
	}
	fx->t->nfiles = n;
}

static void
fixture_free(struct fixture *fx)
{
	txn_free(fx->t);
	free(fx->t);
}

/*
 * A previous file with set-user-ID and set-group-ID bits is put back
 * without them (and with its permissions and sticky bit).
 */
static void
test_rollback_drops_setid(void **state)
{
	const char *const names[] = { "svc" };
	struct fixture fx;
	struct stat st;
	struct err e;
	int synced;

	(void)state;
	fixture_init(&fx, "setid", names, 1);
	assert_int_equal(chmod(fx.path[0], 07755), 0);
	assert_int_equal(txn_compare(fx.t, &e), 0);
	assert_true(fx.t->files[0].changed);
	assert_int_equal(txn_stage(fx.t, &e), 0);
	assert_int_equal(txn_swap(fx.t, &e), 0);
	assert_int_equal(lstat(fx.path[0], &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(txn_rollback(fx.t, &e), 0);
	assert_int_equal(lstat(fx.path[0], &st), 0);
	assert_int_equal(st.st_mode & 07777, 01755);
	assert_int_equal(txn_finish(fx.t, &synced, &e), 0);
	assert_int_equal(synced, 1);
	fixture_free(&fx);
}

/* A file with set-id bits but the configured mode otherwise is changed. */
static void
test_setid_counts_as_changed(void **state)
{
	const char *const names[] = { "same" };
	struct fixture fx;
	struct err e;

	(void)state;
	fixture_init(&fx, "same", names, 1);
	assert_int_equal(tu_write(tu_dir, "same/same.pem", "new\n", 4, 04644, NULL), 0);
	assert_int_equal(txn_compare(fx.t, &e), 0);
	assert_true(fx.t->files[0].changed);
	fixture_free(&fx);
}

/* Anything but a regular file is refused, and not followed. */
static void
test_compare_refuses_fifo(void **state)
{
	const char *const names[] = { "fifo" };
	struct fixture fx;
	struct err e;

	(void)state;
	fixture_init(&fx, "fifo", names, 1);
	assert_int_equal(unlink(fx.path[0]), 0);
	assert_int_equal(mkfifo(fx.path[0], 0600), 0);
	assert_int_equal(txn_compare(fx.t, &e), -1);
	assert_true(tu_contains(e.msg, "not a regular file"));
	fixture_free(&fx);
}

/*
 * An install interrupted after its swap: the recovery names each
 * service exactly, "postfix" beside "postfix-sub" included.
 */
static void
test_recover_names_each_service(void **state)
{
	const char *const names[] = { "postfix-sub", "postfix" };
	struct txn_services svcs;
	struct fixture fx;
	struct err e;
	int recovered;

	(void)state;
	fixture_init(&fx, "recover", names, 2);
	assert_int_equal(txn_compare(fx.t, &e), 0);
	assert_int_equal(txn_stage(fx.t, &e), 0);
	assert_int_equal(txn_swap(fx.t, &e), 0);
	/* Interrupted: no rollback, no finish. */
	assert_int_equal(txn_recover(fx.state, &recovered, &svcs, &e), 0);
	assert_int_equal(recovered, 1);
	assert_int_equal(svcs.n, 2);
	assert_true(txn_services_has(&svcs, "postfix-sub"));
	assert_true(txn_services_has(&svcs, "postfix"));
	assert_false(txn_services_has(&svcs, "post"));
	fixture_free(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollback_drops_setid),
		cmocka_unit_test(test_setid_counts_as_changed),
		cmocka_unit_test(test_compare_refuses_fifo),
		cmocka_unit_test(test_recover_names_each_service),
	};

	umask(022);
	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
