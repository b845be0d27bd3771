/*
 * Freshness timestamps in the outbox (certbundle(5), "Timestamps"): beside
 * each NAME.bundle, NAME.timestamp names its serial and digest, signed with
 * the front's key and valid for twice the "freshness" period.  Written
 * with every bundle, and re-signed by the watch daemon every period, so
 * that a mirror which stops following the outbox serves an expired one.
 */
#ifndef CP_STAMPOUT_H
#define CP_STAMPOUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "err.h"
#include "pushconf.h"

/*
 * Writes OUTBOX/name.timestamp for the bundle data (as written to
 * OUTBOX/name.bundle, whose group and mode it takes), signed with sk.
 * The caller holds the outbox lock.  0, or -1 with e set.
 */
int	stampout_write(const struct pushconf *c, const char *name, const uint8_t *data,
	    size_t len, EVP_PKEY *sk, time_t now, struct err *e);
/*
 * Re-signs the timestamp of every target whose bundle is in the outbox,
 * under the outbox lock, then uploads each to the s3: bucket if there is
 * one.  Returns how many failed (each logged).
 */
int	stampout_refresh(const struct pushconf *c, time_t now);

/* PUTs OUTBOX/name.timestamp to the s3: bucket.  0, or -1 with e set. */
int	stampout_publish(const struct pushconf *c, const char *name, struct err *e);

#endif
