#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "statelock.h"

/*
 * Polling backs off from 1 ms to this: a lock is held for a write or two,
 * and another process rarely wants it (threads queue on a mutex first).
 */
#define POLL_MAX_MS	10

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
state_lock(const char *dir, const char *name, int wait_ms, struct err *e)
{
	char path[PATH_MAX];
	long long deadline = clock_ms() + (wait_ms > 0 ? wait_ms : 0);
	long pause = 1;
	int fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", dir, strerror(errno));
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return err_set(e, "%s/%s: path too long", dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return err_set(e, "%s: %s", path, strerror(errno));
	/* Bounded in count as in time: at most one try per millisecond. */
	for (long tries = 0; tries <= wait_ms; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err_set(e, "lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (clock_ms() >= deadline)
			break;
		sleep_ms(pause);
		pause = pause * 2 > POLL_MAX_MS ? POLL_MAX_MS : pause * 2;
	}
	close(fd);
	err_set(e, "%s: held by another process", path);
	errno = EWOULDBLOCK;
	return -1;
}

int
state_lock_held(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd, held;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}
