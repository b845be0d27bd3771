/*
 * DNSSEC-validating lookups for the DANE and DKIM checks, through
 * libunbound: it validates every answer itself from the configured trust
 * anchor, whatever resolver it forwards to, so a resolver on the path
 * cannot vouch for a record it did not validate.
 *
 * Every answer is untrusted input: at most DNS_MAX_RR records of at most
 * DNS_MAX_RDATA bytes each, and all the lookups of one dns_ctx share one
 * total deadline.  Anything but a validated answer (bogus, no answer in
 * time, resolver unreachable, SERVFAIL) is reported as such: the callers
 * hold a key change on it, never let it through.
 */
#ifndef CP_DNS_H
#define CP_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define DNS_MAX_RR		32	/* records of one RRset */
#define DNS_MAX_RDATA		4096	/* bytes of one record's data */
#define DNS_MAX_RESOLVERS	4
#define DNS_MAX_TTL		86400	/* a longer TTL is taken as a day */
#define DNS_TYPE_TXT		16
#define DNS_TYPE_TLSA		52
#define DNS_DEFAULT_ANCHOR	"/usr/share/dns/root.key"

/* certpush.yaml's dns: section. */
struct dns_conf {
	char		*resolvers[DNS_MAX_RESOLVERS];	/* NULL: the system's */
	size_t		 nresolvers;
	char		*trust_anchor;	/* DS or DNSKEY records, zone format */
	unsigned long	 timeout;	/* seconds for all the lookups of a run */
};

enum dns_state {
	DNS_SECURE,	/* validated from the trust anchor */
	DNS_INSECURE,	/* provably unsigned: no DNSSEC proof of anything */
	DNS_BOGUS,	/* failed validation: forged, broken or stale signatures */
	DNS_ERROR,	/* no answer: timeout, unreachable resolver, SERVFAIL */
};

struct dns_rr {
	uint8_t		*data;	/* owned */
	size_t		 len;
};

struct dns_answer {
	enum dns_state	 state;
	int		 nxdomain;	/* the name does not exist */
	size_t		 n;		/* records (0 with NODATA/NXDOMAIN) */
	unsigned long	 ttl;		/* seconds, at most DNS_MAX_TTL */
	struct dns_rr	 rr[DNS_MAX_RR];
	char		 why[256];	/* for BOGUS and ERROR: the reason */
};

struct dns_ctx;

/*
 * A resolver context for c whose lookups all end by now + c->timeout.
 * Returns it (free with dns_close), or NULL with e set (no trust anchor,
 * bad resolver address).
 */
struct dns_ctx *dns_open(const struct dns_conf *c, struct err *e);
void	dns_close(struct dns_ctx *d);
/*
 * Looks up name (absolute or not) of type rrtype and fills a (release
 * with dns_answer_free).  Always returns with a->state set: DNS_ERROR
 * and a->why after a timeout, an unreachable resolver, an oversized
 * answer.  Returns 0 when a->state is DNS_SECURE, -1 otherwise.
 */
int	dns_resolve(struct dns_ctx *d, const char *name, int rrtype,
	    struct dns_answer *a);
void	dns_answer_free(struct dns_answer *a);
const char *dns_state_name(enum dns_state s);

#endif
