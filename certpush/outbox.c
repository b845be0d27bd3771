/*
 * The outbox (outbox.h): every target's latest bundle, published
 * atomically with its owner, group and mode, for certpull fetch and
 * mirrors; the clear copies of sealed targets' bundles in STATE/previous;
 * the s3: upload of a published bundle.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "outbox.h"
#include "s3.h"
#include "stampout.h"
#include "statelock.h"

/*
 * The outbox holds every target's latest bundle for certpull fetch, and
 * bundles carry private keys.  Without a fetch_group anywhere it is 0700
 * and its files 0600, root's alone.  With fetch groups it is 0711: a
 * node's fetch account may open a file whose exact name it knows but list
 * nothing, and each bundle is 0640 root:FETCH_GROUP of its own target
 * only (0600 for a target without one): a node reads its own bundle and
 * no other.  A bundle's temp file gets the same owner and mode before its
 * first byte (file_write_atomic).
 */
static void
bundle_rule(const struct target *t, gid_t *gid, mode_t *mode)
{
	int shared = t != NULL && t->fetch_shared;

	*gid = shared ? t->fetch_gid : getegid();
	*mode = shared ? 0640 : 0600;
}

/*
 * Whether the outbox entry ent is a bundle "NAME.bundle", or a temp file
 * ".NAME.bundle.XXXXXX" of one (*temp): 0 with *t the target NAME (NULL if
 * not configured), or -1 for anything else.
 */
static int
bundle_file(const struct pushconf *c, const char *ent, const struct target **t,
    int *temp)
{
	char name[NAME_MAX + 1];
	size_t n = strlen(ent);

	*temp = ent[0] == '.' && n > 15 && ent[n - 7] == '.' &&
	    strncmp(ent + n - 14, ".bundle", 7) == 0;
	if (*temp) {
		ent++;
		n -= 8;
	}
	if (n <= 7 || n - 7 >= sizeof(name) || strncmp(ent + n - 7, ".bundle", 7) != 0)
		return -1;
	memcpy(name, ent, n - 7);
	name[n - 7] = '\0';
	*t = pushconf_target(c, name);
	return 0;
}

/*
 * Puts one outbox entry back to the rule: another configuration's bundles,
 * or an operator's chmod or chgrp, must not leave a bundle open to a node
 * that is not its target.  NAME's temp files (every target's of this
 * configuration if NAME is "") are removed: only writers that died (kill
 * -9, power loss) leave them, as every live writer holds the outbox lock.
 * A failure is logged: the bundle being written is sound.
 */
static void
settle_entry(const struct pushconf *c, int dfd, const char *ent, const char *name)
{
	const struct target *t;
	struct stat st;
	gid_t gid;
	mode_t mode;
	int temp, fd;

	if (bundle_file(c, ent, &t, &temp) == -1)
		return;
	if (temp && t != NULL && (name[0] == '\0' || strcmp(t->name, name) == 0)) {
		unlinkat(dfd, ent, 0);
		return;
	}
	bundle_rule(t, &gid, &mode);
	if (fstatat(dfd, ent, &st, AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid == geteuid() && st.st_gid == gid && (st.st_mode & 07777) == mode))
		return;
	log_warnx("%s/%s: mode %04o uid %lu gid %lu, set back to %04o gid %lu",
	    c->outbox, ent, (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid,
	    (unsigned long)st.st_gid, (unsigned)mode, (unsigned long)gid);
	/* Closed to all first, then given to its own group only. */
	if ((fd = openat(dfd, ent, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fchmod(fd, 0600) == -1 || fchown(fd, geteuid(), gid) == -1 ||
	    fchmod(fd, mode) == -1)
		log_warn("%s/%s: cannot set owner and mode", c->outbox, ent);
	if (fd != -1)
		close(fd);
}

/*
 * Creates the outbox if needed and puts it, and every bundle in it, back
 * to the rule at each write; refuses a symbolic link.  0, or -1 with e set.
 */
static int
settle_outbox(const struct pushconf *c, const char *name, struct err *e)
{
	mode_t want = c->outbox_shared ? 0711 : 0700;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (mkdir(c->outbox, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", c->outbox, strerror(errno));
	if ((fd = open(c->outbox, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return err_set(e, "%s: %s", c->outbox, strerror(errno));
	if (fstat(fd, &st) == -1 || ((st.st_uid != geteuid() || st.st_gid != getegid() ||
	    (st.st_mode & 07777) != want) && (fchown(fd, geteuid(), getegid()) == -1 ||
	    fchmod(fd, want) == -1))) {
		err_set(e, "%s: set owner and mode %04o: %s", c->outbox, (unsigned)want,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		err_set(e, "%s: %s", c->outbox, strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		settle_entry(c, dirfd(d), de->d_name, name);
	closedir(d);
	return 0;
}

/*
 * A web server serving the outbox as a mirror (nginx) makes its ETag of
 * the mtime in whole seconds and the size: a bundle replaced within the
 * same second by one of the same size would keep its ETag, and nodes
 * would get 304 for the new bundle.  So the staged file tmp gets an
 * mtime at least one second past that of the bundle it replaces.
 */
static int
newer_mtime(const char *tmp, const char *path, struct err *e)
{
	struct timespec ts[2];
	struct stat old, st;

	if (lstat(path, &old) == -1)
		return 0;
	if (lstat(tmp, &st) == -1)
		return err_set(e, "%s: %s", tmp, strerror(errno));
	if (st.st_mtim.tv_sec > old.st_mtim.tv_sec)
		return 0;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = old.st_mtim.tv_sec + 1;
	ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, tmp, ts, AT_SYMLINK_NOFOLLOW) == -1)
		return err_set(e, "%s: set mtime: %s", tmp, strerror(errno));
	return 0;
}

/* Stages the bundle, gives it a newer mtime, renames it over path. */
static int
publish_outbox(const char *path, const struct buf *b, gid_t gid, mode_t mode,
    struct err *e)
{
	char tmp[PATH_MAX];

	if (atomic_stage(path, b->data, b->len, geteuid(), gid, mode, tmp, sizeof(tmp),
	    e) == -1)
		return -1;
	if (newer_mtime(tmp, path, e) == -1 || atomic_commit(tmp, path, e) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * One writer at a time, each holding the lock for a write or a scan: the
 * push's threads queue on writers (woken in turn: polling a file lock
 * made a 16-target push twice as slow), other processes on
 * STATE/outbox.lock.  Both waits together are bounded by
 * OUTBOX_LOCK_WAIT_MS.  The fd, or -1 with e set.
 */
static pthread_mutex_t writers = PTHREAD_MUTEX_INITIALIZER;

int
outbox_lock(const struct pushconf *c, struct err *e)
{
	long long start = clock_ms(), left;
	struct timespec until;
	int fd, rc;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += OUTBOX_LOCK_WAIT_MS / 1000;
	if ((rc = pthread_mutex_clocklock(&writers, CLOCK_MONOTONIC, &until)) != 0)
		return err_set(e, "%s/outbox.lock: %s", c->state_dir, rc == ETIMEDOUT ?
		    "held by another thread" : strerror(rc));
	left = OUTBOX_LOCK_WAIT_MS - (clock_ms() - start);
	if ((fd = state_lock(c->state_dir, "outbox.lock", left > 0 ? (int)left : 0, e)) == -1)
		pthread_mutex_unlock(&writers);
	return fd;
}

void
outbox_unlock(int fd)
{
	close(fd);
	pthread_mutex_unlock(&writers);
}

/*
 * Puts the outbox and every bundle in it back to the rule once, before a
 * push's writes: settling it at each write instead made N writes cost N
 * directory scans (250 targets: 63,000 stat calls, each write waiting
 * for the lock).  0, or -1 with e set.
 */
int
outbox_settle(const struct pushconf *c, struct err *e)
{
	int lock, rc;

	if ((lock = outbox_lock(c, e)) == -1)
		return -1;
	rc = settle_outbox(c, "", e);
	outbox_unlock(lock);
	return rc;
}

int
outbox_write(const struct pushconf *c, const struct target *t, const struct buf *b,
    EVP_PKEY *sk, int settled, struct err *e)
{
	char path[PATH_MAX];
	gid_t gid;
	mode_t mode;
	int lock, rc;

	/* One writer at a time, so that a temp file found is a dead one's. */
	if ((lock = outbox_lock(c, e)) == -1)
		return -1;
	bundle_rule(t, &gid, &mode);
	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, t->name);
	rc = !settled && settle_outbox(c, t->name, e) == -1 ? -1 :
	    publish_outbox(path, b, gid, mode, e);
	if (rc == 0 && c->freshness > 0)
		rc = stampout_write(c, t->name, b->data, b->len, sk, time(NULL), e);
	outbox_unlock(lock);
	return rc;
}

int
outbox_write_previous(const struct pushconf *c, const struct built_items *bi,
    const struct target *t, EVP_PKEY *sk, uint64_t serial, struct err *e)
{
	struct target clear = *t;
	struct buf b = { .secret = 1 };
	char path[PATH_MAX];
	int rc;

	if (!t->sealed)
		return 0;
	clear.sealed = 0;
	snprintf(path, sizeof(path), "%s/previous", c->state_dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/previous/%s.bundle", c->state_dir, t->name);
	rc = build_sign(bi, &clear, sk, serial, &b, e) == 0 ?
	    file_write_atomic(path, b.data, b.len, geteuid(), getegid(), 0600, e) : -1;
	buf_free(&b);
	return rc;
}

int
outbox_read(const struct pushconf *c, const char *name, struct buf *b, struct err *e)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.bundle", c->outbox, name);
	return file_read(path, BUNDLE_MAX_SIZE, b, e);
}

int
outbox_publish_s3(const struct pushconf *c, const char *name, const struct buf *b,
    struct err *e)
{
	if (s3_publish(&c->s3, name, b, e) == -1)
		return -1;
	return c->freshness == 0 ? 0 : stampout_publish(c, name, e);
}
