/*
 * File helpers for secrets and untrusted input: capped reads that never
 * follow a symlink, durable atomic replacement (create with the final
 * owner and mode, write, fsync, rename, fsync the directory), and the
 * secrecy check OpenSMTPD applies to key files.
 */
#ifndef CP_FSUTIL_H
#define CP_FSUTIL_H

#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/*
 * Reads the regular file at path (not through a symlink) into out.
 * Returns 0, or -1 with e set if it cannot be read or is larger than cap.
 */
int	file_read(const char *path, size_t cap, struct buf *out, struct err *e);
/*
 * The same, also returning the fstat of the descriptor that was read, so
 * that checks of owner and mode apply to the very file read.  On a file
 * larger than cap, errno is EFBIG.
 */
int	file_read_stat(const char *path, size_t cap, struct buf *out,
	    struct stat *st, struct err *e);
/* Writes all of data, retrying short writes.  0, or -1 with errno set. */
int	fd_write_all(int fd, const void *data, size_t len);
/* Reads fd to its end; -1 if more than cap bytes arrive (nothing kept). */
int	fd_read_capped(int fd, size_t cap, struct buf *out, struct err *e);

/*
 * Refuses a secret-bearing file that another user could read or write:
 * it must be a regular file owned by the effective user with no group or
 * other permission bits.  Returns 0 or -1 with e set.
 */
int	file_check_secret(const char *path, struct err *e);
/* The same check on a stat of a file already opened. */
int	stat_check_secret(const char *path, const struct stat *st, struct err *e);

/*
 * On a file just created with mode 0600 (fd, named tmp): gives it its
 * final owner and mode, then writes data, fsyncs and closes it.  On
 * failure closes and removes it.  Returns 0 or -1 with e set.
 */
int	fd_fill_new(int fd, const char *tmp, const void *data, size_t len,
	    uid_t uid, gid_t gid, mode_t mode, struct err *e);
/*
 * Creates a temporary file beside path with the final owner and mode
 * (before any byte is written), writes data and fsyncs it.  The temp
 * name is returned in tmp (tmplen >= PATH_MAX recommended).  On failure
 * the temp file is removed.  Returns 0 or -1 with e set.
 */
int	atomic_stage(const char *path, const void *data, size_t len, uid_t uid,
	    gid_t gid, mode_t mode, char *tmp, size_t tmplen, struct err *e);
/* Renames tmp over path and fsyncs the directory.  Returns 0 or -1. */
int	atomic_commit(const char *tmp, const char *path, struct err *e);
/* atomic_stage then atomic_commit, removing the temp file on failure. */
int	file_write_atomic(const char *path, const void *data, size_t len,
	    uid_t uid, gid_t gid, mode_t mode, struct err *e);
/*
 * Replaces path with data as the current user, mode 0600: a temp file
 * renamed over it, so that a reader sees the old or the new content, but
 * nothing synced.  For informational files whose loss in a power cut
 * costs nothing (certpull's last-outcome.json).  Returns 0 or -1 with e.
 */
int	file_replace_unsynced(const char *path, const void *data, size_t len,
	    struct err *e);
/*
 * Like file_write_atomic, but refuses to replace an existing path
 * (the final step is link(2), which fails with EEXIST).
 */
int	file_create_new(const char *path, const void *data, size_t len,
	    mode_t mode, struct err *e);
/* fsyncs the directory that holds path.  Returns 0 or -1. */
int	fsync_parent(const char *path, struct err *e);

#endif
