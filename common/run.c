#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"

/* The whole environment of a command (see run.h). */
static char *const clean_env[] = {
	"PATH=" RUN_PATH,
	"LANG=C",
	"HOME=/",
	NULL,
};

/*
 * Closes every descriptor above 2 in the child.  close_range where the
 * kernel has it; else the entries of /proc/self/fd, read with getdents64
 * into the stack (no malloc after fork: certpush forks from threads).
 */
static void
close_from_3(void)
{
	char dents[1024];
	long n, off;
	int dfd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	if ((dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		for (n = 3; n < 65536; n++)
			close((int)n);
		return;
	}
	while ((n = syscall(SYS_getdents64, dfd, dents, sizeof(dents))) > 0)
		for (off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			const char *name = dents + off + 19;
			int fd = atoi(name);

			memcpy(&reclen, dents + off + 16, sizeof(reclen));
			if (fd > 2 && fd != dfd)
				close(fd);
			off += reclen;
		}
	close(dfd);
}

/*
 * Default dispositions and an empty mask: what a fresh process expects.
 * glibc refuses to touch the two real-time signals it keeps for itself,
 * which an ignoring ancestor may have left ignored: the kernel's own
 * rt_sigaction sets those.
 */
static void
reset_signals(void)
{
	struct { void *handler; unsigned long flags; void *restorer;
	    unsigned long mask; } kdfl = { 0 };
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &sa, NULL) == -1)
			syscall(SYS_rt_sigaction, sig, &kdfl, NULL, sizeof(kdfl.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * In the child: fds[0..2] become its standard input, output and error
 * (-1: /dev/null); nothing else stays open; signals, environment and
 * process group are its own.  Never returns.
 */
static void
child_exec(char *const argv[], const int fds[3])
{
	int moved[3], i, null;

	/* Own process group, so that a timeout kills everything it started. */
	setpgid(0, 0);
	reset_signals();
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(126);
	/* Above 2 first, so that no dup2 below overwrites a source. */
	for (i = 0; i < 3; i++) {
		moved[i] = fcntl(fds[i] == -1 ? null : fds[i], F_DUPFD_CLOEXEC, 3);
		/* Our own standard error may be closed: /dev/null then. */
		if (moved[i] == -1 && errno == EBADF)
			moved[i] = fcntl(null, F_DUPFD_CLOEXEC, 3);
		if (moved[i] == -1)
			_exit(126);
	}
	for (i = 0; i < 3; i++)
		if (dup2(moved[i], i) == -1)
			_exit(126);
	close_from_3();
	execve(argv[0], argv, clean_env);
	dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* One command in flight: its pipes, its output, its exit. */
struct job {
	pid_t		 pid;
	int		 pidfd;		/* -1 without pidfd_open */
	int		 wfd;		/* its standard input, or -1 */
	const uint8_t	*in;
	size_t		 inlen, off;
	int		 rfd;		/* its output, or -1 after EOF */
	struct buf	*out;
	size_t		 cap;
	int		 status;
	int		 exited;
};

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* Reads what the output pipe holds now (it is non-blocking); EOF closes it. */
static void
drain(struct job *j)
{
	char chunk[4096];
	ssize_t n;

	while (j->rfd != -1) {
		n = read(j->rfd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&j->rfd);
			return;
		}
		if (j->out->len < j->cap)
			buf_add(j->out, chunk, (size_t)n < j->cap - j->out->len ?
			    (size_t)n : j->cap - j->out->len);
	}
}

static void
feed(struct job *j)
{
	ssize_t n = write(j->wfd, j->in + j->off, j->inlen - j->off);

	if (n > 0)
		j->off += (size_t)n;
	/* EPIPE and the like: the command stopped reading. */
	if ((n == -1 && errno != EINTR && errno != EAGAIN) || j->off == j->inlen)
		close_fd(&j->wfd);
}

/* 1 once the direct child has exited (reaped, status in j), else 0. */
static int
reaped(struct job *j)
{
	pid_t r;

	while ((r = waitpid(j->pid, &j->status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == j->pid)
		j->exited = 1;
	return j->exited;
}

/*
 * Feeds, reads and waits until the direct child exits or the deadline
 * passes.  Its exit ends the wait even if a process it left behind holds
 * the pipes: what is readable then is kept, and no more.  0, or -1 on
 * timeout (the process group is killed and the child reaped).
 */
static int
supervise(struct job *j, long long deadline)
{
	struct pollfd pfd[3];
	long long left;
	int n, tick;

	while (!reaped(j)) {
		if ((left = deadline - clock_ms()) <= 0) {
			kill(-j->pid, SIGKILL);
			kill(j->pid, SIGKILL);
			while (waitpid(j->pid, &j->status, 0) == -1 && errno == EINTR)
				;
			return -1;
		}
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = j->rfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = j->wfd, .events = POLLOUT };
		pfd[n++] = (struct pollfd){ .fd = j->pidfd, .events = POLLIN };
		/* Without a pidfd, an exit is noticed at the next tick. */
		tick = j->pidfd == -1 ? 50 : 1000;
		if (poll(pfd, (nfds_t)n, (int)(left > tick ? tick : left)) == -1 &&
		    errno != EINTR)
			pfd[0].revents = pfd[1].revents = 0;
		if (j->wfd != -1 && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP)))
			feed(j);
		if (j->rfd != -1 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(j);
	}
	drain(j);
	return 0;
}

/*
 * Starts argv with fds as its standard streams (see child_exec) and
 * supervises it.  fds' pipe ends of the child are closed here.  0 with
 * j->status, or -1 on timeout; -2 if it could not start (e set).
 */
static int
run_job(char *const argv[], const int fds[3], const int theirs[2],
    long long deadline, struct job *j, struct err *e)
{
	int rc;

	if ((j->pid = fork()) == -1) {
		err_set(e, "fork: %s", strerror(errno));
		return -2;
	}
	if (j->pid == 0)
		child_exec(argv, fds);
	close(theirs[0]);
	if (theirs[1] != theirs[0])
		close(theirs[1]);
#ifdef SYS_pidfd_open
	j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
#else
	j->pidfd = -1;
#endif
	fcntl(j->rfd, F_SETFL, O_NONBLOCK);
	if (j->wfd != -1)
		fcntl(j->wfd, F_SETFL, O_NONBLOCK);
	if (j->wfd != -1 && j->inlen == 0)
		close_fd(&j->wfd);
	rc = supervise(j, deadline);
	close_fd(&j->pidfd);
	close_fd(&j->wfd);
	close_fd(&j->rfd);
	return rc;
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
	struct job j = { .pidfd = -1, .wfd = -1, .rfd = -1, .cap = RUN_OUTPUT_CAP };
	long long deadline = clock_ms() + (long long)timeout_s * 1000;
	int pipefd[2], fds[3], rc;

	j.out = out ? out : &local;
	if (pipe2(pipefd, O_CLOEXEC) == -1)
		return err_set(e, "pipe: %s", strerror(errno));
	j.rfd = pipefd[0];
	fds[0] = -1, fds[1] = fds[2] = pipefd[1];
	if ((rc = run_job(argv, fds, (int[2]){ pipefd[1], pipefd[1] }, deadline, &j,
	    e)) == -2) {
		close(pipefd[0]), close(pipefd[1]);
		return -1;
	}
	if (rc == -1 || !WIFEXITED(j.status) || WEXITSTATUS(j.status) != 0) {
		describe(e, argv, j.status, rc == -1, j.out);
		buf_free(&local);
		return -1;
	}
	buf_free(&local);
	return 0;
}

int
run_argv_io(char *const argv[], unsigned timeout_s, const void *in, size_t inlen,
    struct buf *out, size_t out_cap, int *status, struct err *e)
{
	struct job j = { .pidfd = -1, .in = in, .inlen = inlen, .out = out,
	    .cap = out_cap };
	long long deadline = clock_ms() + (long long)timeout_s * 1000;
	int inp[2], outp[2], fds[3], rc;

	if (pipe2(inp, O_CLOEXEC) == -1)
		return err_set(e, "pipe: %s", strerror(errno));
	if (pipe2(outp, O_CLOEXEC) == -1) {
		close(inp[0]);
		close(inp[1]);
		return err_set(e, "pipe: %s", strerror(errno));
	}
	j.wfd = inp[1];
	j.rfd = outp[0];
	fds[0] = inp[0], fds[1] = outp[1], fds[2] = 2;
	if ((rc = run_job(argv, fds, (int[2]){ inp[0], outp[1] }, deadline, &j,
	    e)) == -2) {
		close(inp[0]), close(inp[1]), close(outp[0]), close(outp[1]);
		return -1;
	}
	if (rc == -1)
		return err_set(e, "%s timed out and was killed", argv[0]);
	if (WIFSIGNALED(j.status))
		return err_set(e, "%s killed by signal %d", argv[0], WTERMSIG(j.status));
	*status = WEXITSTATUS(j.status);
	return 0;
}
