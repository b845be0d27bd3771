#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "serial.h"
#include "statelock.h"

/* A serial is handed out in a write: waiting longer means a stuck process. */
#define SERIAL_LOCK_WAIT_MS	60000

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

/* Rounds *v up to the next number whose low bits are front_id. */
static int
align_front(uint64_t *v, int front_id)
{
	uint64_t add = ((uint64_t)front_id - (*v & SERIAL_FRONT_MAX)) & SERIAL_FRONT_MAX;

	if (*v > UINT64_MAX - add)
		return -1;
	*v += add;
	return 0;
}

int
serial_after(uint64_t last, time_t now, int front_id, uint64_t *out,
    struct err *e)
{
	uint64_t floor = now < 0 ? 0 : (uint64_t)now, next;

	if (last == UINT64_MAX)
		return err_set(e, "%" PRIu64 " is the last serial there is", last);
	next = last + 1;
	if (front_id >= 0) {
		if (floor > (UINT64_MAX >> SERIAL_FRONT_BITS) ||
		    align_front(&next, front_id) == -1)
			return err_set(e, "no serial is left above %" PRIu64
			    " for front_id %d", last, front_id);
		floor = floor << SERIAL_FRONT_BITS | (uint64_t)front_id;
	}
	*out = next > floor ? next : floor;
	return 0;
}

int
serial_next(const char *state_dir, time_t now, int front_id, uint64_t *out,
    struct err *e)
{
	char path[PATH_MAX], text[32];
	struct err why;
	uint64_t last;
	int lock, rc = -1;

	/* Two certpush processes must never hand out the same serial. */
	if ((lock = state_lock(state_dir, "serial.lock", SERIAL_LOCK_WAIT_MS, e)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/serial", state_dir);
	if (serial_last(state_dir, &last, e) == -1)
		goto out;
	if (serial_after(last, now, front_id, out, &why) == -1) {
		err_set(e, "%s: %s", path, why.msg);
		goto out;
	}
	snprintf(text, sizeof(text), "%" PRIu64 "\n", *out);
	rc = file_write_atomic(path, text, strlen(text), geteuid(), getegid(), 0600, e);
out:
	close(lock);
	return rc;
}
