/*
 * certpush --now: build every target's bundle under one new serial,
 * write them to the outbox (for certpull fetch), deliver them in
 * parallel (at most `concurrency` at once), record each target's state
 * and report one line per target.
 */
#ifndef CP_PUSH_H
#define CP_PUSH_H

#include "pushconf.h"

struct push_opts {
	int		 dry_run;
	int		 json;
	const char	*only;		/* a single target, or NULL */
	int		 retry_only;	/* only targets behind the current serial */
};

/* Returns the exit status: 0 if every target installed or was unchanged. */
int	push_now(const struct pushconf *c, const struct push_opts *o);
/* Prints every target's delivery state.  Returns 0 or 1. */
int	push_status(const struct pushconf *c, int json);

#endif
