/*
 * Running an external command (a service's check or reload) from an argv
 * array: fork and execv, no shell, standard input from /dev/null, output
 * captured (capped), and a hard timeout after which the whole process
 * group is killed.
 */
#ifndef CP_RUN_H
#define CP_RUN_H

#include "buf.h"
#include "err.h"

#define RUN_OUTPUT_CAP	4096

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
