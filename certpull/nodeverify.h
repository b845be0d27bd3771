/*
 * Every check of certbundle(5) on a bundle, as this node sees it: its
 * trusted keys and name, the time, the serial and digest it installed
 * last, its secret key for sealed entries, and the certificates in its
 * files (no older leaf replaces a newer one: older.h).  One function, for
 * install, the verify-only pass, fetch and the verify command alike.
 */
#ifndef CP_NODEVERIFY_H
#define CP_NODEVERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "err.h"
#include "pullconf.h"

#define NODE_STEP_LEN	32

/* flags: the operator forces a certificate older than the installed one. */
#define NODE_ALLOW_OLDER	0x1

/*
 * Verifies data against c's policy.  Returns 0 with b filled (its
 * entries point into data; release with bundle_release), the parsed
 * content in kept if not NULL (see verify_policy.keep), and *unchanged
 * telling whether it is the installed bundle; or -1 with step set to
 * "state" (the recorded state cannot be read), "verify:seal" (the node's
 * secret key cannot be read), "verify:CHECK" (bundle_check_name) or
 * "verify:older" (a file would get an older certificate than it holds,
 * unless flags has NODE_ALLOW_OLDER), and e saying why.  The secret key
 * is wiped before returning.
 */
int	node_verify(const struct pullconf *c, const uint8_t *data, size_t len,
	    unsigned flags, struct bundle *b, struct bundle_parsed *kept, int *unchanged,
	    char step[NODE_STEP_LEN], struct err *e);

#endif
