/*
 * Collecting what a target receives: reads each certificate and DKIM
 * source, validates it (pair, chain order, validity, names, key safety)
 * and re-encodes it, so that the bundle never carries a byte OpenSSL did
 * not parse.
 */
#ifndef CP_COLLECT_H
#define CP_COLLECT_H

#include <time.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "pushconf.h"

struct collected {
	struct buf	 data[BUNDLE_MAX_ENTRIES];	/* owned entry contents */
	struct bundle	 bundle;			/* entries point into data */
	time_t		 earliest_expiry;		/* of all certificates */
};

/*
 * Fills col with the items of target t, validated at time now.
 * Returns 0, or -1 with e naming the item and the failed check.
 * col must be released with collected_free in both cases.
 */
int	collect_target(const struct pushconf *c, const struct target *t,
	    time_t now, struct collected *col, struct err *e);
void	collected_free(struct collected *col);
/*
 * Applies the rules of source.h to every source file of c that exists
 * (check-config; a file not there yet is fine).  0, or -1 with e naming
 * the item, the file and the broken rule.
 */
int	collect_check_sources(const struct pushconf *c, struct err *e);

#endif
