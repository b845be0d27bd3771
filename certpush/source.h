/*
 * Reading a certificate or DKIM source safely.  certpush runs as root
 * and bundles what it reads for every node, so a source must be a file
 * only root (or the user its configuration names) could have put there:
 *
 * - the path is resolved here, one component at a time, never following
 *   a symbolic link except those an ACME client writes (certbot's
 *   live/NAME/cert.pem -> ../../archive/NAME/cert1.pem, acmetool's
 *   live/HOST -> ../certs/ID and certs/ID/privkey -> ../../keys/ID/privkey,
 *   dehydrated's certs/NAME/cert.pem -> cert-TIMESTAMP.pem), unless the
 *   source says follow_symlinks: true;
 * - every directory from / down, each link followed and the file are
 *   owned by root, by the user certpush runs as or by the source's
 *   owner; no directory is writable by others, or by a group other
 *   than root's, unless it is sticky and owned by root (/tmp);
 * - a private key has no permission for others and a single name;
 * - certpush's own secrets (the signing key, the targets' SSH identities)
 *   and anything in its state_dir or outbox are refused as content;
 * - the file checked is the file read (fstat of the open descriptor).
 */
#ifndef CP_SOURCE_H
#define CP_SOURCE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "pushconf.h"

#define SOURCE_CAP		(256 * 1024)	/* bytes in one source file */
#define SOURCE_GUARD_MAX	(PUSH_MAX_TARGETS + 3)

/* A file or directory certpush never bundles, and why (for the message). */
struct source_forbidden {
	dev_t		 dev;
	ino_t		 ino;
	const char	*what;	/* "certpush's signing key", ... */
	const char	*path;	/* as configured; not owned */
};

/* What certpush keeps for itself; filled from the configuration. */
struct source_guard {
	struct source_forbidden	 files[SOURCE_GUARD_MAX];
	size_t			 nfiles;
	struct source_forbidden	 dirs[2];	/* state_dir, outbox */
	size_t			 ndirs;
};

/* The rules for one source file. */
struct source_rules {
	const struct source_opts	*opts;
	int				 secret;	/* a private key */
	const struct source_guard	*guard;
};

/*
 * Fills g with the signing key, the targets' identities, state_dir and
 * outbox of c (those that exist).  g points into c: c must outlive it.
 */
void	source_guard_init(struct source_guard *g, const struct pushconf *c);
/* Adds one file (dir 0) or directory (dir 1) if it exists.  0 or -1 (full). */
int	source_guard_add(struct source_guard *g, const char *path, const char *what,
	    int dir);

#define SOURCE_ABSENT	(-2)	/* a component does not exist */
#define SOURCE_DENIED	(-3)	/* this user may not reach or read it */

/*
 * Opens path for reading under rules r.  Returns 0 with *fd open and *st
 * its fstat; -1 with e naming the path, the component and the broken
 * rule; SOURCE_ABSENT or SOURCE_DENIED (with e set) when the path could
 * not be followed to its end, so the rules could not all be applied.
 */
int	source_open(const char *path, const struct source_rules *r, int *fd,
	    struct stat *st, struct err *e);
/*
 * Appends the source file at path to out (at most SOURCE_CAP bytes).
 * Returns 0, or -1 with e set (an absent file is an error here).
 */
int	source_read(const char *path, const struct source_rules *r,
	    struct buf *out, struct err *e);

/*
 * What a read of path depends on, for certpush run to watch: calls fn
 * with each directory entry met on the way from / (dir, the name in it,
 * last: whether it is the path's last component), following the links
 * source_open follows under o (NULL: the default rules), without the
 * other checks.  Stops at a missing entry, at a link not followed, or
 * after the link limit.  Returns 0, or -1 if fn returned -1 or a path
 * is too long.
 */
typedef int (*source_trace_fn)(const char *dir, const char *name, int last,
    void *arg);
int	source_trace(const char *path, const struct source_opts *o,
	    source_trace_fn fn, void *arg);

#endif
