/*
 * Watching the sources with libinotifytools.  Directories are watched,
 * never the files or links themselves: certbot replaces the links of
 * live/NAME one by one and a watch on a link follows the old inode.  For
 * a lineage that is live/NAME, its parent live/ (new lineages) and the
 * archive directory its links point into; for plain files and DKIM keys,
 * the directory that holds each file.
 */
#ifndef CP_WATCH_H
#define CP_WATCH_H

#include "err.h"
#include "pushconf.h"

/*
 * (Re)builds the watch set for c from scratch.  Returns the number of
 * directories watched, or -1 with e set.
 */
int	watch_setup(const struct pushconf *c, struct err *e);

enum watch_event { WATCH_TIMEOUT, WATCH_CHANGE, WATCH_RESCAN, WATCH_INTERRUPTED };
/*
 * Waits for one event for at most timeout_s seconds (-1: no limit).
 * WATCH_RESCAN means the queue overflowed or a directory appeared or
 * vanished: call watch_setup again.  WATCH_INTERRUPTED: a signal.
 */
enum watch_event watch_next(long timeout_s);
void	watch_close(void);
/*
 * Whether the lineage's four links point into one archive version.
 * Returns 0 if consistent, -1 with e saying why not.
 */
int	lineage_consistent(const char *lineage, struct err *e);

#endif
