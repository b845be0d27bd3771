/*
 * Installing a bundle on this node as one transaction: verify, stage,
 * journal and swap the files, run each changed service's check, reload
 * it (HAProxy through its runtime API where configured), check that the
 * live endpoints serve the new leaf, and on any failure put the previous
 * files back, reload again and check the old certificate is served.
 */
#ifndef CP_INSTALL_H
#define CP_INSTALL_H

#include <stdint.h>

#include "buf.h"
#include "bundle.h"
#include "cert.h"
#include "pullconf.h"

/* Exit codes, as documented in certpull(8). */
enum install_result {
	INSTALL_OK = 0,
	INSTALL_FAILED = 1,
	INSTALL_UNCHANGED = 2,
};

struct svc_outcome {
	const char	*name;
	const char	*result;	/* "reloaded", "unchanged", "failed", "rolled-back" */
	char		 detail[256];
};

struct served {
	char	endpoint[300];
	char	fingerprint[CERT_FPR_LEN];
	int	ok;
};

#define OUTCOME_MAX_CHANGED	16

/* An item whose files an install changed. */
struct changed_item {
	char	item[BUNDLE_NAME_MAX + 1];
	char	fingerprint[CERT_FPR_LEN];	/* of its leaf; "" for a key */
};

/* What a failed install left on disk. */
enum files_left {
	FILES_UNTOUCHED = 0,	/* failed before any file was replaced */
	FILES_RESTORED,		/* the previous files are back, journal removed */
	FILES_RESTORE_PENDING,	/* the journal stays: the next run restores them */
};

struct outcome {
	const char		*node;
	uint64_t		 serial;
	enum install_result	 result;
	char			 step[32];	/* where it failed: "verify:signature", "reload"... */
	char			 error[512];
	struct svc_outcome	 services[PULL_MAX_SERVICES];
	size_t			 nservices;
	struct served		 served[PULL_MAX_SERVICES * PULL_MAX_ENDPOINTS];
	size_t			 nserved;
	struct changed_item	 changed[OUTCOME_MAX_CHANGED];
	size_t			 nchanged;
	int			 recovered;	/* an interrupted install was rolled back first */
	enum files_left		 files;		/* after a failure */
};

/*
 * Installs the bundle in data; flags as node_verify's (NODE_ALLOW_OLDER:
 * the operator's certpull install --allow-older, never a push or a
 * fetch).  Fills out; returns out->result.
 */
enum install_result install_bundle(const struct pullconf *c, const uint8_t *data,
	    size_t len, unsigned flags, struct outcome *out);
/* Rolls back an interrupted install, if any (lock held).  0, or -1 with e set. */
int	install_recover(const struct pullconf *c, struct outcome *out, struct err *e);
/* Takes the lock, then install_recover.  0, or -1 with e set. */
int	install_recover_locked(const struct pullconf *c, struct err *e);
/* "untouched", "restored" or "restore-pending": the "files" of a failed outcome. */
const char *files_left_name(enum files_left f);
/* Appends the outcome as one JSON object (no newline). */
int	outcome_json(const struct outcome *o, struct buf *b);

#endif
