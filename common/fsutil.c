#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

int
fd_read_capped(int fd, size_t cap, struct buf *out, struct err *e)
{
	uint8_t chunk[16384];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_set(e, "read: %s", strerror(errno));
		if (n == 0)
			return 0;
		if ((size_t)n > cap - out->len) {
			buf_free(out);
			err_set(e, "input larger than %zu bytes", cap);
			errno = EFBIG;
			return -1;
		}
		if (buf_add(out, chunk, (size_t)n) == -1)
			return err_set(e, "out of memory");
	}
}

/* " (a directory)" and the like for a file that is not regular, or "". */
static const char *
file_type(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return " (a directory)";
	if (S_ISFIFO(st->st_mode))
		return " (a FIFO)";
	if (S_ISSOCK(st->st_mode))
		return " (a socket)";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return " (a device)";
	return "";
}

/*
 * Reports why open(path, O_NOFOLLOW) failed.  A symbolic link gives
 * ELOOP, whose text ("Too many levels of symbolic links") misleads:
 * say what it is.  Returns -1.
 */
static int
open_error(const char *path, struct err *e)
{
	int saved = errno;
	struct stat st;

	if (saved == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		errno = saved;
		return err_set(e, "%s: is a symbolic link: refusing it", path);
	}
	errno = saved;
	return err_set(e, "%s: %s", path, strerror(saved));
}

int
file_read_stat(const char *path, size_t cap, struct buf *out, struct stat *st,
    struct err *e)
{
	struct stat local;
	struct stat *sp = st ? st : &local;
	char why[sizeof(e->msg)];
	int fd, rc;

	/* O_NONBLOCK: a FIFO must be refused below, not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return open_error(path, e);
	if (fstat(fd, sp) == -1) {
		err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sp->st_mode)) {
		close(fd);
		return err_set(e, "%s: not a regular file%s", path, file_type(sp));
	}
	if ((uintmax_t)sp->st_size > cap) {
		close(fd);
		err_set(e, "%s: larger than %zu bytes", path, cap);
		errno = EFBIG;
		return -1;
	}
	rc = fd_read_capped(fd, cap, out, e);
	close(fd);
	if (rc == -1) {
		snprintf(why, sizeof(why), "%s", e ? e->msg : "");
		return err_set(e, "%s: %s", path, why);
	}
	return 0;
}

int
file_read(const char *path, size_t cap, struct buf *out, struct err *e)
{
	return file_read_stat(path, cap, out, NULL, e);
}

int
stat_check_secret(const char *path, const struct stat *st, struct err *e)
{
	if (!S_ISREG(st->st_mode))
		return err_set(e, "%s: not a regular file", path);
	if (st->st_uid != geteuid())
		return err_set(e, "%s: owned by uid %u, not by the user reading it (uid %u)",
		    path, (unsigned)st->st_uid, (unsigned)geteuid());
	if ((st->st_mode & 077) != 0)
		return err_set(e, "%s: holds a secret but has mode %04o; "
		    "it must not be accessible by group or others (chmod 600)",
		    path, (unsigned)(st->st_mode & 07777));
	return 0;
}

int
file_check_secret(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return err_set(e, "%s: %s", path, strerror(errno));
	return stat_check_secret(path, &st, e);
}

int
fsync_parent(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, "%s: %s", dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	if (rc == -1)
		return err_set(e, "fsync %s: %s", dir, strerror(errno));
	return 0;
}

int
fd_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Makes tmp the template ".NAME.XXXXXX" in path's directory. */
static int
temp_name(const char *path, char *tmp, size_t tmplen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	int n;

	n = snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", dirlen, path,
	    slash ? slash + 1 : path);
	return (n < 0 || (size_t)n >= tmplen) ? -1 : 0;
}

int
fd_fill_new(int fd, const char *tmp, const void *data, size_t len, uid_t uid,
    gid_t gid, mode_t mode, struct err *e)
{
	/* Final owner and mode before a single byte is written. */
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, mode) == -1) {
		err_set(e, "set owner/mode of %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fd_write_all(fd, data, len) == -1) {
		err_set(e, "write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fsync(fd) == -1) {
		err_set(e, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(e, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
atomic_stage(const char *path, const void *data, size_t len, uid_t uid,
    gid_t gid, mode_t mode, char *tmp, size_t tmplen, struct err *e)
{
	int fd;

	if (temp_name(path, tmp, tmplen) == -1)
		return err_set(e, "%s: path too long", path);
	/* mkostemp creates O_EXCL with mode 0600: nobody else can open it. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return err_set(e, "create %s: %s", tmp, strerror(errno));
	return fd_fill_new(fd, tmp, data, len, uid, gid, mode, e);
}

int
atomic_commit(const char *tmp, const char *path, struct err *e)
{
	if (rename(tmp, path) == -1)
		return err_set(e, "rename %s to %s: %s", tmp, path, strerror(errno));
	return fsync_parent(path, e);
}

int
file_write_atomic(const char *path, const void *data, size_t len, uid_t uid,
    gid_t gid, mode_t mode, struct err *e)
{
	char tmp[PATH_MAX];

	if (atomic_stage(path, data, len, uid, gid, mode, tmp, sizeof(tmp), e) == -1)
		return -1;
	if (atomic_commit(tmp, path, e) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
file_replace_unsynced(const char *path, const void *data, size_t len,
    struct err *e)
{
	char tmp[PATH_MAX];
	int fd;

	if (temp_name(path, tmp, sizeof(tmp)) == -1)
		return err_set(e, "%s: path too long", path);
	/* mkostemp creates O_EXCL with mode 0600: nobody else can open it. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return err_set(e, "create %s: %s", tmp, strerror(errno));
	/* Owner and mode said before the first byte, as everywhere. */
	if (fchown(fd, geteuid(), getegid()) == -1 || fchmod(fd, 0600) == -1 ||
	    fd_write_all(fd, data, len) == -1) {
		err_set(e, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		err_set(e, "replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
file_create_new(const char *path, const void *data, size_t len, mode_t mode,
    struct err *e)
{
	char tmp[PATH_MAX];
	int rc;

	if (atomic_stage(path, data, len, geteuid(), getegid(), mode, tmp,
	    sizeof(tmp), e) == -1)
		return -1;
	rc = link(tmp, path);
	if (rc == -1)
		err_set(e, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite)" : "");
	unlink(tmp);
	if (rc == -1)
		return -1;
	return fsync_parent(path, e);
}
