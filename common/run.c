#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"

static void
child(char *const argv[], int outfd)
{
	int null = open("/dev/null", O_RDONLY);

	/* Own process group, so that a timeout kills everything it started. */
	setpgid(0, 0);
	if (null == -1 || dup2(null, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(outfd, 2) == -1)
		_exit(126);
	execv(argv[0], argv);
	dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Reads the child's output until EOF or the deadline; 0, or -1 on timeout. */
static int
collect_output(int fd, long long deadline, struct buf *out)
{
	char chunk[1024];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		long long left = deadline - clock_ms();

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) == -1 && errno != EINTR)
			return -1;
		if (pfd.revents == 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (out->len < RUN_OUTPUT_CAP)
			buf_add(out, chunk, (size_t)n < RUN_OUTPUT_CAP - out->len ?
			    (size_t)n : RUN_OUTPUT_CAP - out->len);
	}
}

static void
describe(struct err *e, char *const argv[], int status, int timed_out,
    const struct buf *out)
{
	const char *tail = "";
	int n = (int)out->len;

	/* The end of the output is what the operator needs to see. */
	while (n > 0 && (out->data[n - 1] == '\n' || out->data[n - 1] == '\r'))
		n--;
	if (n > 0)
		tail = (const char *)out->data + (n > 200 ? n - 200 : 0);
	if (n > 200)
		n = 200;
	if (timed_out)
		err_set(e, "%s timed out and was killed%s%.*s", argv[0],
		    n ? ": " : "", n, tail);
	else if (WIFSIGNALED(status))
		err_set(e, "%s killed by signal %d%s%.*s", argv[0], WTERMSIG(status),
		    n ? ": " : "", n, tail);
	else
		err_set(e, "%s exited with status %d%s%.*s", argv[0],
		    WEXITSTATUS(status), n ? ": " : "", n, tail);
}

int
run_argv(char *const argv[], unsigned timeout_s, struct buf *out, struct err *e)
{
	struct buf local = { 0 };
	struct buf *o = out ? out : &local;
	long long deadline = clock_ms() + (long long)timeout_s * 1000;
	int pipefd[2], status = 0, timed_out;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) == -1)
		return err_set(e, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_set(e, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		child(argv, pipefd[1]);
	close(pipefd[1]);
	timed_out = collect_output(pipefd[0], deadline, o) == -1;
	close(pipefd[0]);
	if (timed_out)
		kill(-pid, SIGKILL), kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe(e, argv, status, timed_out, o);
		buf_free(&local);
		return -1;
	}
	buf_free(&local);
	return 0;
}

static void
child_io(char *const argv[], int infd, int outfd)
{
	setpgid(0, 0);
	if (dup2(infd, 0) == -1 || dup2(outfd, 1) == -1)
		_exit(126);
	execv(argv[0], argv);
	dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Feeds in and drains out together, so that neither pipe can fill up. */
static int
pump(int wfd, const uint8_t *in, size_t inlen, int rfd, struct buf *out,
    size_t out_cap, long long deadline)
{
	struct pollfd pfd[2];
	char chunk[4096];
	size_t off = 0;
	ssize_t n;

	if (inlen == 0)
		close(wfd), wfd = -1;
	while (rfd != -1) {
		long long left = deadline - clock_ms();

		if (left <= 0)
			break;
		pfd[0] = (struct pollfd){ .fd = rfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = wfd, .events = POLLOUT };
		if (poll(pfd, wfd == -1 ? 1 : 2, (int)(left > 1000 ? 1000 : left)) == -1 &&
		    errno != EINTR)
			break;
		if (wfd != -1 && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(wfd, in + off, inlen - off);
			if (n > 0)
				off += (size_t)n;
			if (n == -1 && errno != EINTR && errno != EAGAIN)
				off = inlen;	/* the command stopped reading */
			if (off == inlen)
				close(wfd), wfd = -1;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(rfd, chunk, sizeof(chunk));
			if (n <= 0 && !(n == -1 && errno == EINTR))
				rfd = -1;
			else if (n > 0 && out->len < out_cap)
				buf_add(out, chunk, (size_t)n < out_cap - out->len ?
				    (size_t)n : out_cap - out->len);
		}
	}
	if (wfd != -1)
		close(wfd);
	return rfd == -1 ? 0 : -1;
}

int
run_argv_io(char *const argv[], unsigned timeout_s, const void *in, size_t inlen,
    struct buf *out, size_t out_cap, int *status, struct err *e)
{
	long long deadline = clock_ms() + (long long)timeout_s * 1000;
	int inp[2], outp[2], timed_out, st = 0;
	pid_t pid;

	if (pipe2(inp, O_CLOEXEC) == -1)
		return err_set(e, "pipe: %s", strerror(errno));
	if (pipe2(outp, O_CLOEXEC) == -1) {
		close(inp[0]);
		close(inp[1]);
		return err_set(e, "pipe: %s", strerror(errno));
	}
	if ((pid = fork()) == -1) {
		close(inp[0]), close(inp[1]), close(outp[0]), close(outp[1]);
		return err_set(e, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		child_io(argv, inp[0], outp[1]);
	close(inp[0]);
	close(outp[1]);
	fcntl(inp[1], F_SETFL, O_NONBLOCK);
	timed_out = pump(inp[1], in, inlen, outp[0], out, out_cap, deadline) == -1;
	close(outp[0]);
	if (timed_out)
		kill(-pid, SIGKILL), kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (timed_out)
		return err_set(e, "%s timed out and was killed", argv[0]);
	if (WIFSIGNALED(st))
		return err_set(e, "%s killed by signal %d", argv[0], WTERMSIG(st));
	*status = WEXITSTATUS(st);
	return 0;
}
