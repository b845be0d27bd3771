#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "serial.h"

int
serial_last(const char *state_dir, uint64_t *out, struct err *e)
{
	char path[PATH_MAX], text[32], *end;
	struct buf b = { 0 };

	*out = 0;
	snprintf(path, sizeof(path), "%s/serial", state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, sizeof(text) - 1, &b, e) == -1)
		return -1;
	snprintf(text, sizeof(text), "%.*s", (int)b.len, b.data ? (char *)b.data : "");
	buf_free(&b);
	errno = 0;
	*out = strtoull(text, &end, 10);
	/* Digits and a newline only: strtoull alone takes "-1", " 5" or "5\n6". */
	if (text[0] < '0' || text[0] > '9' || (*end != '\0' && strcmp(end, "\n") != 0) ||
	    errno != 0)
		return err_set(e, "%s: corrupt serial \"%s\"", path, text);
	return 0;
}

int
serial_next(const char *state_dir, time_t now, uint64_t *out, struct err *e)
{
	char path[PATH_MAX], lockpath[PATH_MAX], text[32];
	uint64_t last;
	int lock, rc = -1;

	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", state_dir, strerror(errno));
	snprintf(lockpath, sizeof(lockpath), "%s/serial.lock", state_dir);
	/* Two certpush processes must never hand out the same serial. */
	if ((lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return err_set(e, "%s: %s", lockpath, strerror(errno));
	if (flock(lock, LOCK_EX) == -1) {
		err_set(e, "lock %s: %s", lockpath, strerror(errno));
		goto out;
	}
	if (serial_last(state_dir, &last, e) == -1)
		goto out;
	if (last == UINT64_MAX) {
		err_set(e, "%s/serial: %" PRIu64 " is the last serial there is",
		    state_dir, last);
		goto out;
	}
	*out = last + 1 > (uint64_t)now ? last + 1 : (uint64_t)now;
	snprintf(path, sizeof(path), "%s/serial", state_dir);
	snprintf(text, sizeof(text), "%" PRIu64 "\n", *out);
	rc = file_write_atomic(path, text, strlen(text), geteuid(), getegid(), 0600, e);
out:
	close(lock);
	return rc;
}
