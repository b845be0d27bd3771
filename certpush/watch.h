/*
 * Watching the sources with libinotifytools.  For each source file, every
 * directory and link on the way to it is watched, from / down and through
 * the links an ACME client writes (source_trace): a renewal may rename a
 * link at any depth (acmetool's live/HOST), switch a directory, or replace
 * or rewrite the file.  Only the directories holding the sources are
 * watched for their entries (and, while a name on the way is missing, the
 * directory it will appear in); every other directory or link on the way
 * is watched for itself (moved, deleted, replaced), so that other files
 * coming and going beside it never wake the daemon.  A watch follows an
 * inode: after anything on the way changed, the caller rebuilds the set
 * (watch_setup), which then follows the new path.
 */
#ifndef CP_WATCH_H
#define CP_WATCH_H

#include "err.h"
#include "pushconf.h"

/*
 * (Re)builds the watch set for c from scratch.  Returns the number of
 * watches, or -1 with e set.  A name on the way that changed while the
 * set was built makes the next watch_next return WATCH_RESCAN at once.
 */
int	watch_setup(const struct pushconf *c, struct err *e);

enum watch_event { WATCH_TIMEOUT, WATCH_CHANGE, WATCH_RESCAN, WATCH_INTERRUPTED };
/*
 * Waits for one event for at most timeout_s seconds (-1: no limit).
 * WATCH_CHANGE: a source file was written or replaced.  WATCH_RESCAN:
 * a name on the way to one was created, removed or renamed, a watched
 * directory went away, or the queue overflowed: call watch_setup again
 * (then read the sources: what changed meanwhile was not reported).
 * WATCH_INTERRUPTED: a signal.
 */
enum watch_event watch_next(long timeout_s);
void	watch_close(void);
/*
 * Whether the lineage's four links point into one archive version.
 * Returns 0 if consistent, -1 with e saying why not.
 */
int	lineage_consistent(const char *lineage, struct err *e);

#endif
