/*
 * Holding key changes until DNS pins the new key.  For each target of a
 * push, an item whose key changed since the target's previous bundle (the
 * one in the outbox, signed by certpush's own key) is held:
 *
 * - a certificate with dane:, until for every dane: name a published,
 *   DNSSEC-secure TLSA record of an accepted form matches the new chain
 *   AND one still matches the previous chain (the switch needs both);
 * - with a dns: section, a DKIM key, until its SELECTOR._domainkey TXT
 *   record is published, secure, and its p= is the new key.
 *
 * Once published, a change of a key in service still waits for the
 * TTL of the records from when it was first found published: a sender's
 * or receiver's cache (Postfix keeps TLSA RRsets for their TTL) may hold
 * the previous RRset until then.
 *
 * A held item travels with its previous entries, so the target's other
 * items proceed.  Any DNS failure (bogus, insecure, no answer) holds; a
 * key that did not change passes without DNS.  Holds are recorded in
 * STATE/holds/TARGET (item, since, attempts, next check, reason) for
 * status, audit and the daemon's schedule (tstate_backoff).
 */
#ifndef CP_DANEHOLD_H
#define CP_DANEHOLD_H

#include <time.h>

#include <openssl/evp.h>

#include "build.h"
#include "dnscheck.h"
#include "pushconf.h"

struct held_item {
	char		 item[BUNDLE_NAME_MAX + 1];
	time_t		 since;		/* first held */
	unsigned	 attempts;	/* checks that held it */
	time_t		 next;		/* next check due */
	time_t		 seen;		/* first found published, 0 if not yet */
	unsigned long	 ttl;		/* of the records then: the wait after seen */
	char		 reason[1024];
};

struct holds {
	struct held_item h[PUSH_MAX_ITEMS];
	size_t		 n;
};

/*
 * Decides the items of target t, whose freshly built items are bi, at
 * now: fills *out with the holds (since and attempts carried over from
 * prev_holds), and when one is held, *own with bi but the held items'
 * previous entries (built_items_free it) and *use_own = 1.  The previous
 * bundle is read from the outbox and verified with sk's public key.
 * Returns 0, or -1 with e set when the target cannot be served (a new key
 * held with no previous bundle to fall back on).
 */
int	danehold_decide(const struct pushconf *c, const struct dnscheck *dc,
	    EVP_PKEY *sk, const struct target *t, const struct built_items *bi,
	    const struct holds *prev_holds, time_t now, struct built_items *own,
	    int *use_own, struct holds *out, struct err *e);
/*
 * Appends to out t's bundle with serial as a push would build it at now:
 * its sources' items, but those a hold keeps (decided against its
 * previous bundle and its recorded holds, which are read, not saved)
 * with their previous entries; *held says which.  0, or -1 with e set
 * (a bad item, or a new key held with nothing to fall back on).
 */
int	danehold_bundle(const struct pushconf *c, EVP_PKEY *sk, const struct target *t,
	    uint64_t serial, time_t now, struct buf *out, struct holds *held,
	    struct err *e);
/* Whether any item of c needs DNS to be decided. */
int	danehold_needed(const struct pushconf *c);

/*
 * Records item as held in out at now for why, carrying its since and
 * attempts from prev (when it was held there) and setting its next check
 * on the retries' backoff.  out must have room (n < PUSH_MAX_ITEMS).
 */
struct held_item *holds_add(struct holds *out, const struct holds *prev,
	    const char *item, time_t now, const char *why);
/* STATE/holds/TARGET: loads (n = 0 if none), saves (removes when n = 0). */
int	holds_load(const char *state_dir, const char *target, struct holds *h,
	    struct err *e);
int	holds_save(const char *state_dir, const char *target, const struct holds *h,
	    struct err *e);
/*
 * For a target a push left out: clear its holds (its bundle has its
 * sources' content, so nothing is held), or push back the checks that
 * are due, so that the daemon does not spin on them.
 */
void	holds_settle(const char *state_dir, const char *target, int clear, time_t now);
/* status: one line per held item, or "holds":[...] in JSON. */
void	holds_print(const struct holds *h, time_t now);
void	holds_json(struct buf *b, const struct holds *h);
/* The earliest next check of all targets' holds, or 0 if none. */
time_t	holds_next_check(const struct pushconf *c);

#endif
