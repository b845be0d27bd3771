/*
 * The rule that keeps a stale front from rolling a node back: a bundle
 * that would replace the certificate installed in a file by an older one
 * (its leaf's notBefore strictly earlier than the installed leaf's) is
 * refused as a whole, unless the operator forces it (certpull install
 * --allow-older).  node_verify applies it once the node has installed a
 * bundle: before, its files hold whatever the operator put there.  Serials cannot catch this: a stale front with a right
 * clock signs its old copy of the sources under a new, higher serial.
 */
#ifndef CP_OLDER_H
#define CP_OLDER_H

#include <openssl/x509.h>

#include "bundle.h"
#include "err.h"
#include "pullconf.h"

/*
 * Compares the leaf incoming (from a bundle, for item) with the leaf
 * installed in path.  0 if incoming was issued at the same time or later
 * (or a notBefore cannot be compared: no rule then), or -1 with e naming
 * the item, both notBefore dates and both short fingerprints.
 */
int	older_compare(const char *item, const char *path, X509 *installed,
	    X509 *incoming, struct err *e);
/*
 * older_compare for every certificate file of c that b would replace:
 * the installed leaf is read from the file itself.  p (or NULL) holds
 * what the content checks parsed.  0, or -1 with e set on the first
 * file whose certificate b would make older.
 */
int	older_check(const struct pullconf *c, const struct bundle *b,
	    const struct bundle_parsed *p, struct err *e);

#endif
