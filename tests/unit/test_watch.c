/*
 * The watch set of certpush run (watch.h) on a real inotify instance, in a
 * scratch folder: what must wake the daemon (a source rewritten, a folder
 * or link on the way renamed, replaced or created when missing) and what
 * must not (files and folders coming and going next to a folder on the
 * way, as other programs' scratch folders do next to /var/lib/...: issue
 * 16, zero wake-ups of the idle daemon).
 *
 * Whether the daemon would wake is whether libinotifytools' descriptor is
 * readable (poll with no wait): the kernel queues an event during the
 * system call that causes it, so the check right after needs no delay.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pushconf.h"
#include "watch.h"

#include "testutil.c"

/* tu_dir/rel into out. */
static void
at(const char *rel, char out[TU_PATH_MAX])
{
	snprintf(out, TU_PATH_MAX, "%s/%s", tu_dir, rel);
}

static void
mkd(const char *rel)
{
	char p[TU_PATH_MAX];

	at(rel, p);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
mkf(const char *rel, const char *content)
{
	assert_int_equal(tu_write(tu_dir, rel, content, strlen(content), 0600, NULL), 0);
}

/* Rewrites rel in place (the inode stays), as lego does. */
static void
rewrite(const char *rel, const char *content)
{
	char p[TU_PATH_MAX];
	int fd;

	at(rel, p);
	assert_true((fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(close(fd), 0);
}

static void
mv(const char *from, const char *to)
{
	char a[TU_PATH_MAX], b[TU_PATH_MAX];

	at(from, a);
	at(to, b);
	assert_int_equal(rename(a, b), 0);
}

static void
rm(const char *rel)
{
	char p[TU_PATH_MAX];

	at(rel, p);
	assert_int_equal(remove(p), 0);
}

/* The inotify descriptor libinotifytools opened (it does not say which). */
static int
inotify_fd(void)
{
	char path[64], target[64];
	struct dirent *de;
	ssize_t n;
	int fd = -1;
	DIR *d;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0)
			fd = atoi(de->d_name);
	}
	closedir(d);
	assert_true(fd >= 0);
	return fd;
}

/* Whether an event is queued: the daemon would wake. */
static int
woken(void)
{
	struct pollfd p = { inotify_fd(), POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

/* One certificate source, cert and key under tu_dir/rel. */
static struct cert_source src;
static struct pushconf conf;
static char cert_path[TU_PATH_MAX], key_path[TU_PATH_MAX];

static void
setup_watch(void)
{
	struct err e;

	assert_true(watch_setup(&conf, &e) > 0);
	assert_false(woken());
}

static void
use_source(const char *dir)
{
	char rel[TU_PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/cert.pem", dir);
	at(rel, cert_path);
	snprintf(rel, sizeof(rel), "%s/key.pem", dir);
	at(rel, key_path);
	memset(&src, 0, sizeof(src));
	src.name = "web";
	src.cert = cert_path;
	src.key = key_path;
	src.opts.follow_symlinks = 1;
	memset(&conf, 0, sizeof(conf));
	conf.certs = &src;
	conf.ncerts = 1;
}

/* Waits (bounded) for the next event the watch set reports. */
static enum watch_event
next(void)
{
	return watch_next(10);
}

static void
test_siblings_wake_nothing(void **state)
{
	char tmp[TU_PATH_MAX];

	(void)state;
	mkd("s1");
	mkd("s1/srv");
	mkd("s1/srv/a");
	mkd("s1/srv/a/site");
	mkf("s1/srv/a/site/cert.pem", "cert");
	mkf("s1/srv/a/site/key.pem", "key");
	use_source("s1/srv/a/site");
	setup_watch();
	/* Next to each folder on the way, and next to the scratch folder. */
	mkf("s1/other", "x");
	mkd("s1/srv/b");
	mkf("s1/srv/a/note", "x");
	at("s1/srv/b", tmp);
	assert_int_equal(chmod(tmp, 0750), 0);
	assert_false(woken());
	rm("s1/other");
	mv("s1/srv/b", "s1/srv/c");
	rm("s1/srv/c");
	mkf("s1/srv/a/note", "y");
	rm("s1/srv/a/note");
	assert_false(woken());
	/* Where the sources live, their events still come. */
	rewrite("s1/srv/a/site/cert.pem", "cert2");
	assert_int_equal(next(), WATCH_CHANGE);
	watch_close();
}

static void
test_ancestor_renamed_and_recreated(void **state)
{
	(void)state;
	mkd("s2");
	mkd("s2/srv");
	mkd("s2/srv/a");
	mkd("s2/srv/a/site");
	mkf("s2/srv/a/site/cert.pem", "cert");
	mkf("s2/srv/a/site/key.pem", "key");
	use_source("s2/srv/a/site");
	setup_watch();
	/* mv /srv/a /srv/b; mkdir /srv/a: each step is seen. */
	mv("s2/srv/a", "s2/srv/b");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	mkd("s2/srv/a");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	mkd("s2/srv/a/site");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	mkf("s2/srv/a/site/cert.pem", "new");
	assert_int_not_equal(next(), WATCH_TIMEOUT);
	setup_watch();
	/* A folder on the way replaced by a rename over it (empty: rename(2)). */
	rm("s2/srv/a/site/cert.pem");
	rm("s2/srv/a/site");
	setup_watch();
	mkd("s2/srv/empty");
	mv("s2/srv/empty", "s2/srv/a");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	/* And its own folder moved away. */
	mv("s2/srv", "s2/srv.old");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	mkd("s2/srv");
	assert_int_equal(next(), WATCH_RESCAN);
	watch_close();
}

static void
test_link_on_the_way_replaced(void **state)
{
	char link[TU_PATH_MAX], tmp[TU_PATH_MAX];

	(void)state;
	mkd("s3");
	mkd("s3/v1");
	mkd("s3/v2");
	mkf("s3/v1/cert.pem", "cert1");
	mkf("s3/v1/key.pem", "key1");
	mkf("s3/v2/cert.pem", "cert2");
	mkf("s3/v2/key.pem", "key2");
	at("s3/live", link);
	at("s3/live.new", tmp);
	assert_int_equal(symlink("v1", link), 0);
	use_source("s3/live");
	setup_watch();
	/* Files next to the link wake nothing; the link switched by a rename does. */
	mkf("s3/note", "x");
	assert_false(woken());
	assert_int_equal(symlink("v2", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	/* The link removed, then created again. */
	rm("s3/live");
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	assert_int_equal(symlink("v1", link), 0);
	assert_int_equal(next(), WATCH_RESCAN);
	setup_watch();
	rewrite("s3/v1/key.pem", "key1b");
	assert_int_equal(next(), WATCH_CHANGE);
	watch_close();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siblings_wake_nothing),
		cmocka_unit_test(test_ancestor_renamed_and_recreated),
		cmocka_unit_test(test_link_on_the_way_replaced),
	};

	return cmocka_run_group_tests_name("watch", tests, tu_group_setup,
	    tu_group_teardown);
}
