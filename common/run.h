/*
 * Running an external command (a service's check or reload, a local
 * target's certpull) from an argv array: fork and execve, no shell.
 * The command starts clean: its own process group, default signal
 * dispositions and an empty signal mask, no descriptor open but 0, 1
 * and 2, and the environment PATH=RUN_PATH, LANG=C, HOME=/ only.  One
 * deadline covers its whole life: at the deadline its process group is
 * killed.  Its exit
 * status decides: once it has exited, what it left running (a daemon
 * holding its output pipe) is neither waited for nor killed.
 */
#ifndef CP_RUN_H
#define CP_RUN_H

#include "buf.h"
#include "err.h"

#define RUN_OUTPUT_CAP	4096
#define RUN_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Runs argv[0] (an absolute path) with argv, waiting at most timeout_s
 * seconds.  Returns 0 if it exited with status 0; otherwise -1 with e
 * saying how it failed (exit status, signal, timeout) and the tail of
 * its output.  out, if not NULL, receives the output (capped).
 */
int	run_argv(char *const argv[], unsigned timeout_s, struct buf *out, struct err *e);
/*
 * Like run_argv, but feeds in (inlen bytes) to the command's standard
 * input, keeps only its standard output in out (up to out_cap bytes; its
 * standard error goes to ours), and returns its exit status in *status
 * instead of failing on a non-zero one.  0, or -1 with e set (could not
 * run, killed, timed out).
 */
int	run_argv_io(char *const argv[], unsigned timeout_s, const void *in,
	    size_t inlen, struct buf *out, size_t out_cap, int *status, struct err *e);

#endif
