/*
 * Keys pinned in DNS: DANE TLSA records (RFC 6698, RFC 7671) and DKIM
 * public key TXT records (RFC 6376).  Parsing of what the resolver
 * returned (untrusted: exact lengths, bounded sizes), matching against
 * certificates and keys with OpenSSL, and the record text to publish.
 * No I/O here: dns.h does the lookups.
 */
#ifndef CP_DANE_H
#define CP_DANE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

#define DANE_HASH_MAX		64	/* SHA-512 */
#define DANE_RECORD_MAX		512	/* "_25._tcp.HOST. IN TLSA 3 1 1 HEX" */
#define DKIM_TXT_MAX		4096	/* bytes of one record's joined strings */

struct tlsa {
	uint8_t		 usage;		/* 0..3: PKIX-TA, PKIX-EE, DANE-TA, DANE-EE */
	uint8_t		 selector;	/* 0: certificate, 1: SubjectPublicKeyInfo */
	uint8_t		 mtype;		/* 0: full, 1: SHA-256, 2: SHA-512 */
	const uint8_t	*data;		/* points into the rdata */
	size_t		 len;
};

/*
 * Parses TLSA rdata: three octets and the association data, whose length
 * must be exactly 32 for SHA-256, 64 for SHA-512, and 1 to 4093 for a
 * full object.  0, or -1 with e saying what is wrong.
 */
int	tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *t, struct err *e);
/*
 * The association data of x (or, with selector 1, of key if x is NULL)
 * for selector and mtype 1 or 2: out gets the digest, *n its length.
 * 0, or -1 (unsupported type, encoding failure).
 */
int	dane_hash(X509 *x, EVP_PKEY *key, unsigned selector, unsigned mtype,
	    uint8_t out[DANE_HASH_MAX], size_t *n);
/*
 * Whether record t matches the chain (leaf first): usage 3 (and 1) the
 * leaf, usage 2 (and 0) any certificate after it.  1 or 0.
 */
int	tlsa_match_chain(const struct tlsa *t, STACK_OF(X509) *chain);
/* Whether record t (usage 3, selector 1) matches a bare public key.  1 or 0. */
int	tlsa_match_key(const struct tlsa *t, EVP_PKEY *key);
/*
 * The record to publish for the chain (for usage 2: its first CA) or,
 * if chain is NULL, for key (usage 3, selector 1 only):
 * "_25._tcp.mail.example.com. IN TLSA 3 1 1 HEX".  0, or -1.
 */
int	tlsa_record_text(const char *host, unsigned long port, const uint8_t u[3],
	    STACK_OF(X509) *chain, EVP_PKEY *key, char *out, size_t size);

/*
 * The public key of a DKIM TXT record: the record's character-strings
 * (length-prefixed, as in the rdata) are joined (at most DKIM_TXT_MAX
 * bytes), its tags parsed (v=DKIM1 only first, if present; each tag
 * once), and p= decoded from base64 (folding whitespace allowed) into a
 * SubjectPublicKeyInfo, which must parse.  Returns the key (caller
 * frees), or NULL with e set; an empty p= (a revoked key) is an error.
 */
EVP_PKEY *dkim_txt_key(const uint8_t *rdata, size_t len, struct err *e);
/* Whether a and b are the same public key.  1 or 0. */
int	dane_same_key(EVP_PKEY *a, EVP_PKEY *b);
/*
 * The DKIM TXT record for key, as strings of at most 255 characters:
 * SELECTOR._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=..." "...".
 * Returns a malloc'd string, or NULL.
 */
char	*dkim_record_text(const char *selector, const char *domain, EVP_PKEY *key);

#endif
