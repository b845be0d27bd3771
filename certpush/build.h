/*
 * Building a target's signed bundle: collect and validate its items,
 * set the metadata (serial, times, audience) and sign.  A push collects
 * the items of each distinct item list once (build_items) and signs a
 * bundle per target from them (build_sign).
 */
#ifndef CP_BUILD_H
#define CP_BUILD_H

#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "collect.h"
#include "err.h"
#include "pushconf.h"

/* A target's items, collected and checked, ready to be signed for anyone. */
struct built_items {
	struct collected col;		/* the bundle but audience and serial */
	uint8_t		 content[32];	/* content_digest of these items */
};

/*
 * Collects t's items at now, sets the bundle's times (created now,
 * expiring at the earlier of bundle_days and the first notAfter) and
 * runs the content checks certpull will run.  Returns 0, or -1 with e
 * naming the item and check that failed.  Release bi with
 * built_items_free in both cases.
 */
int	build_items(const struct pushconf *c, const struct target *t, time_t now,
	    struct built_items *bi, struct err *e);
/*
 * The second half of build_items, for items collected otherwise (a DANE
 * or DKIM hold puts an item's previous entries back): sets the times
 * from bi->col.earliest_expiry, runs the content checks and the digest.
 * 0, or -1 with e set.
 */
int	build_seal(const struct pushconf *c, struct built_items *bi, time_t now,
	    struct err *e);
/*
 * Appends to out the bundle of bi for target t with serial, its private
 * keys sealed to t's recipient if it has one, signed with sk.  bi is
 * only read: threads may share it.  Returns 0, or -1 with e set
 * (nothing is appended then).
 */
int	build_sign(const struct built_items *bi, const struct target *t, EVP_PKEY *sk,
	    uint64_t serial, struct buf *out, struct err *e);
void	built_items_free(struct built_items *bi);

/*
 * Appends the signed bundle for t to out: build_items and build_sign.
 * Returns 0, or -1 with e naming the item and check that failed
 * (nothing is appended then).
 */
int	build_bundle(const struct pushconf *c, const struct target *t, EVP_PKEY *sk,
	    uint64_t serial, time_t now, struct buf *out, struct err *e);
/*
 * What t receives, from the digest of its items: the same, or for a
 * target with a recipient the digest of both, so that a new recipient
 * is a change to push.
 */
void	target_content(const struct target *t, const uint8_t items[32],
	    uint8_t out[32]);
/*
 * The digest of what t would receive now (entry names and contents and
 * its recipient, not serial or times): equal digests mean nothing
 * changed for t.  0, or -1 with e naming the invalid item.
 */
int	content_digest(const struct pushconf *c, const struct target *t, time_t now,
	    uint8_t out[32], struct err *e);

#endif
