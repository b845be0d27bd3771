/*
 * The outbox: every target's latest signed bundle, for certpull fetch and
 * for mirrors that serve it.  Bundles carry private keys: the outbox is
 * 0700 and its bundles 0600 (root's alone), or, when a target has a
 * fetch_group, 0711 with each bundle 0640 root:FETCH_GROUP of its own
 * target only.  One writer at a time (STATE/outbox.lock); each bundle is
 * staged with its final owner and mode and renamed over the previous one
 * with a newer mtime.
 */
#ifndef CP_OUTBOX_H
#define CP_OUTBOX_H

#include <openssl/evp.h>

#include "build.h"
#include "pushconf.h"
#include "buf.h"
#include "err.h"

/* How long a writer waits for the outbox lock, at most. */
#define OUTBOX_LOCK_WAIT_MS	60000

/*
 * Creates the outbox if needed and puts it and every bundle in it back to
 * the rule (modes, groups; dead writers' temp files removed), once before
 * a push's writes.  0, or -1 with e set.
 */
int	outbox_settle(const struct pushconf *c, struct err *e);
/*
 * Publishes b as t's bundle, and its freshness timestamp when the
 * configuration has one; settled: outbox_settle succeeded for this push
 * (otherwise t's part of the outbox is settled first).  0, or -1 with e set.
 */
int	outbox_write(const struct pushconf *c, const struct target *t,
	    const struct buf *b, EVP_PKEY *sk, int settled, struct err *e);
/*
 * For a target whose private keys are sealed, the front cannot open the
 * bundle it delivered: a DANE or DKIM hold, which puts an item's previous
 * entries back, reads this copy instead, signed alike but with its keys in
 * clear, in STATE/previous (root's alone, like the sources it comes from).
 * Does nothing for a target that is not sealed.  0, or -1 with e set.
 */
int	outbox_write_previous(const struct pushconf *c, const struct built_items *bi,
	    const struct target *t, EVP_PKEY *sk, uint64_t serial, struct err *e);
/*
 * Reads target name's bundle: retries send the exact bytes built for that
 * serial, as a rebuilt bundle would carry the same serial with other
 * bytes, which certpull rightly refuses.  0, or -1 with e set.
 */
int	outbox_read(const struct pushconf *c, const char *name, struct buf *b,
	    struct err *e);
/*
 * Uploads b, target name's bundle as the outbox holds it, to the s3:
 * bucket, and its freshness timestamp when there is one.  0, or -1 with e set.
 */
int	outbox_publish_s3(const struct pushconf *c, const char *name,
	    const struct buf *b, struct err *e);

/*
 * Takes the outbox's lock (one writer at a time, within this process and
 * across processes), waiting OUTBOX_LOCK_WAIT_MS at most: the fd to give
 * to outbox_unlock, or -1 with e set.
 */
int	outbox_lock(const struct pushconf *c, struct err *e);
void	outbox_unlock(int fd);

#endif
