/*
 * certpush --now: build every target's bundle under one new serial,
 * write them to the outbox (for certpull fetch), deliver them in
 * parallel (at most `concurrency` at once), record each target's state
 * and report one line per target.
 */
#ifndef CP_PUSH_H
#define CP_PUSH_H

#include <time.h>

#include "pushconf.h"

struct push_opts {
	int		 dry_run;
	int		 json;
	const char	*only;		/* a single target, or NULL */
	const char	*lineage;	/* only targets that receive this lineage */
	int		 changed_only;	/* skip targets whose content is unchanged */
	int		 retry;		/* resend the outbox bundle to targets behind it */
	int		 due_only;	/* with retry: only those whose retry is due */
	int		 to_log;	/* report through the log (the daemon), not stdout */
	/*
	 * Per certificate source (collect_sources_whole), or NULL: skip and
	 * hold the targets that receive a source not whole.
	 */
	const struct err *whole;
};

/* Returns the exit status: 0 if every target installed or was unchanged. */
int	push_now(const struct pushconf *c, const struct push_opts *o);
/* The earliest scheduled retry over all targets, or 0 if none. */
time_t	push_next_retry(const struct pushconf *c);
/*
 * STATE/daemon.lock, locked by certpush run for as long as it runs, so
 * that status can say whether anyone will make the retries it shows.
 * Returns the open, locked fd, or -1 with e set (another holds it).
 */
int	push_daemon_lock(const struct pushconf *c, struct err *e);
/* Prints every target's delivery state.  Returns 0 or 1. */
int	push_status(const struct pushconf *c, int json);

#endif
