/*
 * LD_PRELOAD=slowrecv.so: each recv() that finds nothing to read
 * (EAGAIN) is followed by a pause of SLOWRECV_MS milliseconds (default
 * 200), as when a loaded machine deschedules the process right there.
 * Whatever the peer sends meanwhile is already queued by the next call:
 * a client that sleeps in poll() for data it has in fact already taken
 * off the socket then waits for its deadline.  The tests use it on the
 * SSH client, which is non-blocking.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

typedef ssize_t recv_fn(int, void *, size_t, int);

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	static recv_fn *real;
	ssize_t n;

	if (real == NULL && (real = (recv_fn *)dlsym(RTLD_NEXT, "recv")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	n = real(fd, buf, len, flags);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		const char *ms = getenv("SLOWRECV_MS");
		long pause = ms != NULL ? strtol(ms, NULL, 10) : 200;
		struct timespec ts = { pause / 1000, pause % 1000 * 1000000L };

		nanosleep(&ts, NULL);
		errno = EAGAIN;
	}
	return n;
}
