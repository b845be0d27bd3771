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
 * Whether the files of certificate source s agree with each other, as
 * they do once a renewal is complete: each parses, the key matches the
 * leaf, the chain is in order.  Returns 0 if so, and also if the files
 * cannot be read (absent, or refused by the rules of source.h: the push
 * reports that); -1 with e saying what disagrees.
 */
int	collect_cert_consistent(const struct pushconf *c, const struct cert_source *s,
	    struct err *e);
/*
 * Whether certificate source s is whole: a certbot lineage's links point
 * into one archive version, and whatever the client, the files read
 * agree (collect_cert_consistent).  A lineage not issued yet has no
 * directory: it counts as whole here, and the targets that need it are
 * refused by the push.  0, or -1 with e saying why not.
 */
int	collect_cert_whole(const struct pushconf *c, const struct cert_source *s,
	    struct err *e);
/*
 * collect_cert_whole for every certificate source, read once for a push:
 * an array of c->ncerts messages, empty for a whole source (free it).
 * NULL if out of memory (then every source passes: the push's own
 * checks still refuse what is invalid).
 */
struct err *collect_sources_whole(const struct pushconf *c);
/*
 * Applies the rules of source.h to every source file of c that exists
 * (check-config; a file not there yet is fine).  0, or -1 with e naming
 * the item, the file and the broken rule.
 */
int	collect_check_sources(const struct pushconf *c, struct err *e);

#endif
