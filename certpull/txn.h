/*
 * The file side of an install, as one transaction over every file of the
 * bundle:
 *   stage    write each new file as PATH.certpull-new, created O_EXCL with
 *            its final owner and mode before a byte is written, fsynced;
 *   journal  save each replaced file's previous content under
 *            STATE/prev/N, and the installed state as STATE/prev/installed,
 *            and write STATE/journal (atomically) naming them;
 *   swap     rename every staged file over its path, fsync the directories;
 *   rollback put every previous file back (or remove files that were new);
 *   finish   remove the journal once the new state is recorded, then
 *            the copies in STATE/prev (they may hold replaced keys).
 * A journal found at start-up means an install was interrupted after it
 * was written: txn_recover puts every file back, and the installed state
 * with them, so that a node never keeps a new certificate beside an old
 * key, nor a serial that disagrees with its files.
 */
#ifndef CP_TXN_H
#define CP_TXN_H

#include <limits.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "pullconf.h"

#define TXN_MAX_FILES	(PULL_MAX_SERVICES * PULL_MAX_FILES)
#define TXN_FILE_CAP	(1024 * 1024)	/* largest file or state read back */
#define TXN_NAME_MAX	128		/* a service name in the journal, with NUL */

struct txn_file {
	const struct service	*svc;
	const struct svc_file	*f;
	struct buf		 new;		/* rendered content (owned) */
	struct buf		 old;		/* previous content (owned) */
	int			 existed;
	int			 changed;
	int			 staged;
	int			 swapped;
	uid_t			 old_uid;
	gid_t			 old_gid;
	mode_t			 old_mode;
	char			 tmp[PATH_MAX];
};

/* The services whose files a recovery restored, each named once. */
struct txn_services {
	size_t	n;
	char	name[TXN_MAX_FILES][TXN_NAME_MAX];
};

struct txn {
	const char	*state_dir;
	uint64_t	 serial;
	int		 had_state;	/* STATE/installed existed, saved in prev/ */
	struct txn_file	 files[TXN_MAX_FILES];
	size_t		 nfiles;
};

/* Reads each file's current content; marks the files whose content changes. */
int	txn_compare(struct txn *t, struct err *e);
/* Stages the changed files; on failure removes every temp file. 0 or -1. */
int	txn_stage(struct txn *t, struct err *e);
/* Saves previous contents, writes the journal, renames. 0 or -1. */
int	txn_swap(struct txn *t, struct err *e);
/* Restores every swapped file.  0, or -1 with e set (some file not restored). */
int	txn_rollback(struct txn *t, struct err *e);
/* Puts STATE/installed back as saved before the swap.  0 or -1. */
int	txn_restore_state(struct txn *t, struct err *e);
/*
 * Removes the journal, then the copies in STATE/prev.  -1 with e set if
 * the journal is still there (the next run would restore the previous
 * files).  0 once it is gone; *synced is 0 then, and e says why, if its
 * removal could not be synced: the copies stay, in case a power loss
 * brings the journal back.
 */
int	txn_finish(struct txn *t, int *synced, struct err *e);
/* Frees the buffers and removes temp files left behind. */
void	txn_free(struct txn *t);
/*
 * If STATE/journal exists, restores every file it names and removes it.
 * First removes the temp files a killed run left in STATE and STATE/prev
 * (the caller holds the lock every writer there takes); without a
 * journal, also the copies left in STATE/prev.
 * *recovered is set to 1 then, and svcs lists the services whose files
 * were restored.  Returns 0, or -1 with e set.
 */
int	txn_recover(const char *state_dir, int *recovered, struct txn_services *svcs,
	    struct err *e);
/* True if svcs names exactly name. */
int	txn_services_has(const struct txn_services *svcs, const char *name);
/* Test hook: if CERTPULL_TEST_CRASH_AT names step, die by SIGKILL there. */
void	txn_crash_point(const char *step);

#endif
