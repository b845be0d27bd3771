/*
 * Freshness of the HTTPS mirrors (certpull(8), "Freshness"): what certpull
 * fetch concluded from each mirror's timestamp (stamp.h), and the newest
 * timestamp seen from any mirror, kept in STATE_DIR/freshness for replay
 * detection, certpull status and certpull audit.
 */
#ifndef CP_FRESHNESS_H
#define CP_FRESHNESS_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "stamp.h"

enum fresh_verdict {
	FRESH_UNCHECKED = 0,	/* no timestamp served, none required */
	FRESH_OK,
	FRESH_STALE,		/* expired or missing: a frozen or withheld mirror */
	FRESH_INCONSISTENT,	/* names a newer bundle than the one served */
	FRESH_REPLAYED,		/* older than a timestamp already seen */
	FRESH_INVALID,		/* does not verify: forged, damaged, another node's */
};

struct freshness {
	int			have;		/* a valid timestamp was ever seen */
	uint64_t		seen_created;	/* the newest one seen */
	uint64_t		seen_serial;
	uint64_t		seen_expires;
	time_t			checked;	/* last fetch that judged a mirror; 0 never */
	enum fresh_verdict	verdict;	/* the worst of that fetch */
	char			url[HTTP_URL_MAX + 1];
	char			detail[512];
	int			recorded;	/* not kept: this fetch judged a mirror */
};

/* "unchecked", "fresh", "stale", "inconsistent", "replayed", "invalid". */
const char *freshness_word(enum fresh_verdict v);
/* Loads STATE_DIR/freshness (zeroes if none).  0, or -1 with e set. */
int	freshness_load(const char *state_dir, struct freshness *f, struct err *e);
/* Writes it atomically, 0600.  0, or -1 with e set. */
int	freshness_save(const char *state_dir, const struct freshness *f, struct err *e);
/*
 * The verdict on a verified timestamp s at now against what f has seen:
 * FRESH_REPLAYED, FRESH_STALE or FRESH_OK (why says it in words).  A
 * timestamp that is not replayed becomes the newest seen if it is newer.
 */
enum fresh_verdict freshness_judge_stamp(struct freshness *f, const struct stamp *s,
	    time_t now, char *why, size_t size);
/*
 * The verdict on the bundle a mirror served (its serial and, unless it
 * answered 304, its SHA-256) against that mirror's timestamp:
 * FRESH_INCONSISTENT if the timestamp names a newer bundle or the same
 * serial with other content, else FRESH_OK.
 */
enum fresh_verdict freshness_judge_bundle(const struct stamp *s, uint64_t served,
	    const uint8_t *digest, char *why, size_t size);
/*
 * Keeps v for url in f if this fetch recorded nothing yet or v is worse
 * than what it recorded (fresh < unchecked < stale < the others).
 */
void	freshness_record(struct freshness *f, enum fresh_verdict v, const char *url,
	    const char *detail, time_t now);

/*
 * The state now: the last fetch's verdict, but stale once the newest
 * timestamp seen has expired (no fetch found a newer one since).  why
 * gets the words, with the mirror and when it was judged.
 */
enum fresh_verdict freshness_current(const struct freshness *f, time_t now,
	    char *why, size_t size);
/* Appends "freshness":{...} (verdict, url, checked, detail, newest timestamp seen). */
int	freshness_json(const struct freshness *f, time_t now, struct buf *b);

#endif
