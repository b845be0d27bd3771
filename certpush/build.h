/*
 * Building a target's signed bundle: collect and validate its items,
 * set the metadata (serial, times, audience) and sign.
 */
#ifndef CP_BUILD_H
#define CP_BUILD_H

#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"
#include "pushconf.h"

/*
 * Appends the signed bundle for t to out.  Returns 0, or -1 with e
 * naming the item and check that failed (nothing is appended then).
 */
int	build_bundle(const struct pushconf *c, const struct target *t, EVP_PKEY *sk,
	    uint64_t serial, time_t now, struct buf *out, struct err *e);
/*
 * The digest of what t would receive now (entry names and contents, not
 * serial or times): equal digests mean nothing changed for t.  0, or -1
 * with e naming the invalid item.
 */
int	content_digest(const struct pushconf *c, const struct target *t, time_t now,
	    uint8_t out[32], struct err *e);

#endif
