/*
 * Per-target delivery state, STATE/targets/NAME, written atomically:
 * the serial and content digest of its bundle in the outbox, the last
 * serial delivered, when it last succeeded, the last error,
 * the number of failed attempts in a row and when to retry.
 */
#ifndef CP_TSTATE_H
#define CP_TSTATE_H

#include <stdint.h>
#include <time.h>

#include "err.h"

struct tstate {
	uint64_t	built;		/* serial of the target's bundle in the outbox */
	uint8_t		content[32];	/* digest of that bundle's entries */
	uint64_t	delivered;	/* last serial the target installed (or had) */
	time_t		success;	/* time of the last success, 0 if never */
	unsigned	attempts;	/* failures in a row */
	time_t		next_retry;	/* 0: none scheduled */
	char		error[1024];	/* last error, "" after a success */
};

/* Loads NAME's state (zeroes if none).  0, or -1 with e set. */
int	tstate_load(const char *state_dir, const char *name, struct tstate *ts,
	    struct err *e);
int	tstate_save(const char *state_dir, const char *name, const struct tstate *ts,
	    struct err *e);
/*
 * The delay before retry number attempts (1, 2, ...): exponential from
 * 5 s, capped at 15 min, with up to 20% random jitter.
 */
unsigned tstate_backoff(unsigned attempts);

#endif
