/*
 * An SSH client session through libssh2, with what libssh2 leaves to the
 * caller: one deadline for the whole exchange (timeout_s from ssh_open:
 * the session is non-blocking and every wait is a poll() against it, so
 * a peer trickling bytes cannot extend it; cleanup after it has passed
 * shuts the socket down rather than wait), a strict
 * host-key check against a dedicated known_hosts file (the key type is
 * passed to the check; only an exact match passes; a mismatch is
 * reported as a possible man-in-the-middle), and Ed25519 public-key
 * authentication.  One session is used by one thread only.
 * libssh2_init() must have been called once before any thread starts.
 */
#ifndef CP_SSH_H
#define CP_SSH_H

#include <libssh2.h>

#include "buf.h"
#include "err.h"

struct ssh_target {
	const char	*host;
	unsigned	 port;
	const char	*user;
	const char	*identity;	/* private key file (OpenSSH format) */
	const char	*known_hosts;
	unsigned	 timeout_s;	/* the whole exchange, from ssh_open to the answer */
};

struct ssh_conn {
	int		 fd;
	LIBSSH2_SESSION	*session;
	long long	 deadline_ms;	/* CLOCK_MONOTONIC */
};

/* Connects, checks the host key and authenticates.  0, or -1 with e set. */
int	ssh_open(struct ssh_conn *c, const struct ssh_target *t, struct err *e);
#define SSH_STDERR_CAP	1024	/* bytes of the remote standard error kept */

/*
 * Runs command on the remote side, sends in (may be NULL) on its
 * standard input, reads at most out_cap bytes of its standard output
 * into out, and returns its exit status in *status.  The first
 * SSH_STDERR_CAP bytes of its standard error go to errout (if not NULL;
 * the rest is dropped as it arrives).  0, or -1 with e set.
 */
int	ssh_exec(struct ssh_conn *c, const char *command, const void *in,
	    size_t inlen, struct buf *out, size_t out_cap, struct buf *errout,
	    int *status, struct err *e);
/* Reads a remote file over SFTP (at most cap bytes).  0, or -1 with e set. */
int	ssh_sftp_get(struct ssh_conn *c, const char *path, size_t cap,
	    struct buf *out, struct err *e);
void	ssh_close(struct ssh_conn *c);

#endif
