/*
 * Lock files in a state directory (certpush's outbox, serial and daemon
 * locks, certpull's install lock): flock(2) on DIR/NAME, a file created
 * 0600 and never opened through a symlink, in DIR created 0700.  Every
 * wait is bounded: a process that keeps a lock forever costs the others
 * a clear error, not a hang.
 */
#ifndef CP_STATELOCK_H
#define CP_STATELOCK_H

#include "err.h"

/*
 * Takes DIR/NAME exclusively, trying for up to wait_ms (0: once).  The
 * descriptor (close it to release), or -1 with e set; when another
 * process held it all along, e says "held by another process" and errno
 * is EWOULDBLOCK.
 */
int	state_lock(const char *dir, const char *name, int wait_ms, struct err *e);

/* 1 if another process holds DIR/NAME, 0 if not (or if it cannot tell). */
int	state_lock_held(const char *dir, const char *name);

#endif
