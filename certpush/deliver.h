/*
 * Delivering one target's bundle: over SSH to "certpull serve" (which
 * runs receive), or to a local certpull for the front's own services,
 * and reading back certpull's one-line JSON outcome and exit status.
 * A dry run sends the bundle to the same place for a verify-only pass
 * ("verify", or receive --verify-only) and reads the node's verdict.
 * Safe to call from several threads at once, one target per call.
 */
#ifndef CP_DELIVER_H
#define CP_DELIVER_H

#include <stdint.h>

#include "buf.h"
#include "cert.h"
#include "pushconf.h"

#define ANSWER_CAP	(64 * 1024)	/* a hostile target cannot make us hold more */

enum delivery_result { DELIVERY_INSTALLED, DELIVERY_UNCHANGED, DELIVERY_FAILED,
	DELIVERY_VERIFIED };

#define DELIVERY_MAX_CHANGED	16

/* An item whose files the node changed, as it reported it. */
struct delivered_item {
	char	item[64];
	char	fingerprint[CERT_FPR_LEN];	/* its leaf; "" for a key */
};

struct delivery {
	const struct target	*t;
	const struct buf	*bundle;	/* NULL if it could not be built */
	int			 dry_run;	/* the node's verify-only pass, no install */
	enum delivery_result	 result;
	uint64_t		 serial;	/* as reported by the target */
	char			 fingerprint[CERT_FPR_LEN];	/* first served */
	struct delivered_item	 changed[DELIVERY_MAX_CHANGED];
	size_t			 nchanged;
	char			 error[1024];
	long long		 ms;
};

void	deliver(struct delivery *d);
/*
 * Copies len bytes of a node's text into dst (size > 0) escaped by
 * str_escape_mem with ESC_BACKSLASH (control characters as \r \n \t \xNN,
 * backslashes as \\, bytes that are not UTF-8 as \xNN), cut to fit.
 */
void	node_text(char *dst, size_t size, const char *src, size_t len);
const char *delivery_result_name(enum delivery_result r);
/*
 * Reads certpull's outcome line (with d->dry_run: its verdict) and exit
 * status into d.  0 if they are well-formed, agree and say the bundle is
 * (or would be) installed; -1 (d->error set) otherwise, or
 * ANSWER_NO_OUTCOME when there was no valid outcome line at all.
 */
#define ANSWER_NO_OUTCOME	(-2)
int	parse_answer(struct delivery *d, const struct buf *answer, int status);

#endif
