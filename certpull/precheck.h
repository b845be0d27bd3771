/*
 * The verify-only pass that certpush --dry-run asks for: every check an
 * install makes before it replaces anything (the bundle's signature,
 * signer, audience, serial and content, each configured file rendered
 * from it, each file's directory present and writable), on this node's
 * configuration, with nothing changed.
 */
#ifndef CP_PRECHECK_H
#define CP_PRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pullconf.h"

struct precheck {
	const char	*node;
	uint64_t	 serial;	/* 0 before the bundle is verified */
	int		 ok;
	int		 unchanged;	/* this very bundle is installed */
	char		 step[32];	/* where it would fail: "verify:key", "path"... */
	char		 error[512];
};

/* Checks the bundle in data against c.  Fills p; returns 0 if it would install. */
int	precheck_bundle(const struct pullconf *c, const uint8_t *data, size_t len,
	    struct precheck *p);
/* Sets p to a failure at step (before or instead of precheck_bundle). */
void	precheck_fail(struct precheck *p, const char *step, const char *msg);
/*
 * Appends p as one JSON object (no newline): node, serial, result
 * ("verified" or "failed"), unchanged, step, error.  0 or -1.
 */
int	precheck_json(const struct precheck *p, struct buf *b);

#endif
