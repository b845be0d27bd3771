/*
 * certpull.yaml: this node's name, the keys it trusts, and for each
 * service the files to write (path, format, owner, group, mode), how to
 * check and reload it, and which live endpoints must serve the result.
 * See certpull.yaml(5).
 */
#ifndef CP_PULLCONF_H
#define CP_PULLCONF_H

#include <sys/types.h>

#include <stddef.h>

#include "err.h"
#include "seal.h"
#include "sig.h"
#include "tlsprobe.h"

#define PULLCONF_DEFAULT	"/etc/certpull/certpull.yaml"
#define PULL_MAX_SERVICES	16
#define PULL_MAX_FILES		16
#define PULL_MAX_ENDPOINTS	16
#define PULL_MAX_KEYS		8
#define PULL_MAX_ARGV		32
#define PULL_MAX_URLS		8

enum file_format {
	FMT_HAPROXY,	/* leaf, chain, key: HAProxy's crt */
	FMT_KEY_CHAIN,	/* key, leaf, chain: Postfix smtpd_tls_chain_files */
	FMT_FULLCHAIN,	/* leaf, chain */
	FMT_CERT,	/* leaf only */
	FMT_CHAIN,	/* intermediates only */
	FMT_KEY,	/* private key */
	FMT_DKIM,	/* DKIM private key */
	FMT_PKCS12,	/* leaf, chain, key as PKCS#12 (DER) */
};

struct svc_file {
	char		*path;
	char		*item;
	enum file_format format;
	char		*password_file;	/* pkcs12: root-only file holding the password */
	uid_t		 uid;
	gid_t		 gid;
	mode_t		 mode;
};

struct endpoint {
	char		*address;
	unsigned long	 port;
	char		*sni;
	enum starttls	 starttls;
	char		*item;	/* which certificate it must serve */
};

struct service {
	char		 *name;
	struct svc_file	 *files;
	size_t		  nfiles;
	char		**check;	/* argv, optional */
	char		**reload;	/* argv, optional */
	unsigned long	  timeout;	/* seconds for check and reload */
	char		 *haproxy_socket;
	struct endpoint	 *endpoints;
	size_t		  nendpoints;
};

/*
 * Where certpull fetch gets this node's latest bundle: HTTPS mirrors
 * (urls, "{node}" replaced by the node's name), tried in order, then SFTP
 * on the front (host).  Either or both.
 */
struct fetch {
	char		**urls;		/* NULL-terminated, or NULL */
	size_t		  nurls;
	char		 *ca_file;	/* pinned CA for the mirrors; NULL: system store */
	int		  require_timestamp; /* a mirror without a timestamp is stale */
	char		*host;
	unsigned long	 port;
	char		*user;
	char		*identity;
	char		*known_hosts;
	char		*path;
	unsigned long	 timeout;
};

struct pullconf {
	char		*file;
	char		*node;
	char		*state_dir;
	unsigned long	 grace;		/* seconds for endpoints to serve the new leaf */
	struct pubkey	 trusted[PULL_MAX_KEYS];
	size_t		 ntrusted;
	struct service	*services;
	size_t		 nservices;
	struct fetch	 fetch;		/* no host and no urls: not configured */
	char		*secret_key;	/* this node's X25519 key; NULL: bundles in clear */
};

/* Loads and validates path into c.  0, or -1 with e naming file:line:col. */
int	pullconf_load(const char *path, struct pullconf *c, struct err *e);
/* The same from text in memory, reported as name (tests, fuzzing). */
int	pullconf_load_string(const char *name, const char *text, size_t len,
	    struct pullconf *c, struct err *e);
void	pullconf_free(struct pullconf *c);
/*
 * Loads the node's secret_key into k, to open sealed bundles: 1, or 0
 * when none is configured (k untouched), or -1 with e set.  The caller
 * wipes k (seal_key_wipe) as soon as the bundle is opened.
 */
int	pullconf_open_key(const struct pullconf *c, struct seal_key *k, struct err *e);
const char *format_name(enum file_format f);
/* True for formats that hold a private key. */
int	format_is_secret(enum file_format f);

#endif
