/*
 * What the published DNS says about the keys certpush distributes: the
 * TLSA RRsets of the certificates with dane: and the DKIM TXT records,
 * looked up once per run (dns.h), judged against a chain or a key
 * (dane.h).  The push holds a key change on it (dnscheck_hold), and
 * certpush tlsa prints the records to publish.
 */
#ifndef CP_DNSCHECK_H
#define CP_DNSCHECK_H

#include <time.h>

#include <openssl/x509.h>

#include "dns.h"
#include "pushconf.h"

/* One looked-up RRset: a dane: name's TLSA or a DKIM key's TXT. */
struct dns_lookup {
	char		 qname[300];
	int		 type;
	struct dns_answer a;
};

/* Every lookup of one run, in the order of the configuration. */
struct dnscheck {
	struct dns_lookup *l;
	size_t		   n;
	int		   opened;	/* 0: the resolver could not be set up */
	char		   why[1024];	/* then: why */
};

/*
 * Looks up every RRset the configuration pins (the TLSA of each dane:
 * name, and with dkim_checks each DKIM key's TXT), all under the one
 * deadline of dns.timeout.  Never fails: a lookup that did not give a
 * secure answer says so in its state.  Free with dnscheck_free.
 */
void	dnscheck_run(const struct pushconf *c, struct dnscheck *dc);
void	dnscheck_free(struct dnscheck *dc);
/* The lookup of qname and type, or NULL. */
const struct dns_lookup *dnscheck_find(const struct dnscheck *dc, const char *qname,
	    int type);
/* The TTL of the answer for qname and type (0 if none). */
unsigned long dnscheck_ttl(const struct dnscheck *dc, const char *qname, int type);
/* "_25._tcp.mail.example.com." for d. */
void	dane_qname(const struct dane_name *d, char *out, size_t size);
/* "SELECTOR._domainkey.DOMAIN." for s. */
void	dkim_qname(const struct dkim_source *s, char *out, size_t size);

/*
 * Whether chain (leaf first) is published for d: one record of an
 * accepted usage that matches it.  1 yes; 0 not, with why naming what is
 * missing or the DNS failure (bogus, insecure, unreachable).
 */
int	dane_published(const struct dnscheck *dc, const struct dane_name *d,
	    STACK_OF(X509) *chain, char *why, size_t size);
/* Whether key is the published key of the DKIM source s; 0 with why. */
int	dkim_published(const struct dnscheck *dc, const struct dkim_source *s,
	    EVP_PKEY *key, char *why, size_t size);

/*
 * The current chain of certificate item, read, checked and parsed as a
 * push reads it; a private key file (next_key, a DKIM key) read under the
 * source rules.  NULL with e set.
 */
STACK_OF(X509) *dnscheck_current_chain(const struct pushconf *c, const char *item,
	    struct err *e);
EVP_PKEY *dnscheck_read_key(const char *path, const struct source_opts *o,
	    const struct pushconf *c, struct err *e);

/* certpush tlsa: prints the records to publish, and what DNS says. */
int	dnscheck_tlsa_cmd(const struct pushconf *c);

#endif
