/*
 * The signed bundle (certbundle(5)): encoding and verification, no I/O.
 *
 *   header   magic "CPBUNDLE", format version u16, algorithm u16,
 *            signer key id [8], body length u32              (24 bytes)
 *   body     type u16, version u16, serial u64, created u64, expires u64,
 *            audience (u8 length + bytes), [format 2: recipient key id [8]],
 *            entry count u16, then per entry:
 *            name (u8 length + bytes), kind u8, size u32, sha256 [32], data
 *
 * Format 1 carries every entry in clear.  Format 2 carries every secret
 * entry (key, dkim) sealed to the node's X25519 key (seal.h): its kind
 * byte has KIND_SEALED set, its data and sha256 are the sealed box's.
 *   trailer  Ed25519 signature [64] over header and body
 *
 * All integers are big-endian.  The decoder checks sizes and caps before
 * reading, and nothing past the header is interpreted before the
 * signature has been verified.
 */
#ifndef CP_BUNDLE_H
#define CP_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "buf.h"
#include "err.h"
#include "seal.h"
#include "sig.h"

#define BUNDLE_MAGIC		"CPBUNDLE"
#define BUNDLE_FORMAT		1	/* every entry in clear */
#define BUNDLE_FORMAT_SEALED	2	/* secret entries sealed to the node */
#define BUNDLE_ALG_ED25519	1
#define BUNDLE_TYPE_CERTS	1
#define BUNDLE_HEADER_LEN	24
#define BUNDLE_MAX_SIZE		(1024 * 1024)
#define BUNDLE_MAX_ENTRIES	32
#define BUNDLE_MAX_ENTRY_SIZE	(256 * 1024)
#define BUNDLE_NAME_MAX		64

enum entry_kind {
	KIND_CHAIN = 1,		/* PEM: leaf certificate, then its chain */
	KIND_KEY = 2,		/* PEM: the private key of the chain of the same item */
	KIND_DKIM = 3,		/* PEM: a DKIM signing key */
};
/* Set in the kind byte of a sealed entry (format 2 only). */
#define KIND_SEALED		0x80

struct bundle_entry {
	char		 name[BUNDLE_NAME_MAX + 1];	/* "ITEM/chain" ... */
	char		 item[BUNDLE_NAME_MAX + 1];	/* "ITEM" */
	uint8_t		 kind;		/* without KIND_SEALED */
	uint8_t		 sealed;	/* carried as a sealed box (format 2) */
	const uint8_t	*data;		/* not owned: the input, or b->opened */
	size_t		 len;
	uint8_t		 sha256[32];	/* of the data as carried: the sealed box */
};

struct bundle {
	uint8_t		 keyid[SIG_KEYID_LEN];
	uint16_t	 type;
	uint64_t	 serial;
	uint64_t	 created;
	uint64_t	 expires;
	char		 audience[BUNDLE_NAME_MAX + 1];
	size_t		 nentries;
	struct bundle_entry entries[BUNDLE_MAX_ENTRIES];
	uint8_t		 digest[32];	/* SHA-256 of the whole encoded bundle */
	uint16_t	 format;	/* BUNDLE_FORMAT or BUNDLE_FORMAT_SEALED */
	uint8_t		 recipient[SIG_KEYID_LEN];	/* format 2: the node's key id */
	struct buf	*opened;	/* owned: the opened sealed entries */
};

/* Which check rejected a bundle; bundle_check_name() gives its word. */
enum bundle_check {
	BC_OK = 0,
	BC_SIZE,	/* empty, truncated, or over a size cap */
	BC_MAGIC,
	BC_FORMAT,	/* unsupported format version */
	BC_ALGORITHM,
	BC_LENGTH,	/* declared body length disagrees with the size */
	BC_KEY,		/* signer key id not trusted */
	BC_SIGNATURE,
	BC_METADATA,	/* malformed body or bad type/version/times */
	BC_AUDIENCE,
	BC_EXPIRED,
	BC_SERIAL,	/* older serial, or same serial with other content */
	BC_ENTRY,	/* bad name, kind, count or size */
	BC_HASH,
	BC_SEAL,	/* sealing does not match this node's key (or its absence) */
	BC_PEM,		/* content does not parse, or a pair is incomplete */
	BC_KEYMATCH,
	BC_CHAIN,	/* chain out of order */
	BC_CERTTIME,	/* a certificate is expired or not yet valid */
};

/*
 * The parsed content of a bundle's entries, indexed as b->entries: the
 * chain of a KIND_CHAIN entry, the key of a KIND_KEY or KIND_DKIM entry.
 * The content checks fill it when asked, so that certpull renders its
 * files from the objects it has checked instead of parsing (and, for
 * OpenSSL 3, decoding each private key) again.
 */
struct bundle_parsed {
	STACK_OF(X509)	*chain[BUNDLE_MAX_ENTRIES];
	EVP_PKEY	*key[BUNDLE_MAX_ENTRIES];
};

struct verify_policy {
	const struct pubkey	*trusted;
	size_t			 ntrusted;
	const char		*audience;	/* this node's name */
	time_t			 now;
	int			 have_installed;
	uint64_t		 installed_serial;
	uint8_t			 installed_digest[32];
	const struct seal_key	*open_key;	/* this node's secret_key, or NULL */
	struct bundle_parsed	*keep;		/* NULL, or filled on BC_OK */
};

/* The word naming a check, for verdict lines ("signature", "serial"...). */
const char *bundle_check_name(enum bundle_check c);
const char *bundle_kind_name(uint8_t kind);
/* True for the kinds that hold a private key (key, dkim). */
int	bundle_kind_secret(uint8_t kind);

/*
 * Adds an entry named ITEM/KIND to b, pointing at data (not copied).
 * Returns 0, or -1 with e set (bad item name, too many entries).
 */
int	bundle_add_entry(struct bundle *b, const char *item, enum entry_kind kind,
	    const void *data, size_t len, struct err *e);
/*
 * Encodes and signs b (its entries' hashes and keyid are filled in) into
 * out.  Returns 0, or -1 with e set.
 */
int	bundle_encode(struct bundle *b, EVP_PKEY *sk, struct buf *out, struct err *e);
/*
 * Seals every secret entry of b to the node key to: the boxes go to
 * store[i] (caller-owned, released with buf_free), the entries point at
 * them, and b is then encoded as format 2.  0, or -1 with e set.
 */
int	bundle_seal(struct bundle *b, const struct seal_pub *to,
	    struct buf store[BUNDLE_MAX_ENTRIES], struct err *e);
/*
 * Runs every check, in the documented order, on the encoded bundle in
 * data.  On BC_OK, out describes it (its entries point into data, or
 * into out->opened for the sealed ones, opened with pol->open_key) and
 * *unchanged tells whether it is byte-identical to the installed one;
 * release it with bundle_release.  Otherwise e names the failure and out
 * holds nothing to release.
 */
enum bundle_check bundle_verify(const uint8_t *data, size_t len,
	    const struct verify_policy *pol, struct bundle *out, int *unchanged,
	    struct err *e);
/*
 * The content checks alone (PEM parses, pairs complete, key matches,
 * chain order, validity at now, expiry not after any notAfter).  Used by
 * certpush before it signs.  Returns BC_OK or the failed check.
 */
enum bundle_check bundle_check_content(const struct bundle *b, time_t now,
	    struct err *e);
/*
 * The seal check of bundle_verify, on a bundle whose signature, metadata
 * and entries passed: a sealed bundle needs pol->open_key and is opened
 * with it (the entries then point into b->opened); a clear one is
 * refused when the node has a key (a downgrade).  BC_OK or BC_SEAL.
 */
enum bundle_check bundle_check_seal(const struct verify_policy *pol,
	    struct bundle *b, struct err *e);
/* Wipes and frees what bundle_verify opened (b->opened). */
void	bundle_release(struct bundle *b);
/*
 * bundle_check_content, keeping every parsed chain and key in keep (when not NULL)
 * on BC_OK; on failure keep is left empty.  Free with bundle_parsed_free.
 */
enum bundle_check bundle_check_content_keep(const struct bundle *b, time_t now,
	    struct bundle_parsed *keep, struct err *e);
/* Frees what p holds and empties it. */
void	bundle_parsed_free(struct bundle_parsed *p);
/* 0 if name is an acceptable item or audience name, else -1. */
int	bundle_name_ok(const char *name);

#endif
