/*
 * certpush.yaml: certificate and DKIM sources on the front node, and the
 * targets that receive them.  See certpush.yaml(5).
 */
#ifndef CP_PUSHCONF_H
#define CP_PUSHCONF_H

#include <sys/types.h>

#include <stddef.h>

#include "dns.h"
#include "err.h"
#include "s3.h"
#include "seal.h"
#include "tlsprobe.h"

#define PUSHCONF_DEFAULT	"/etc/certpush/certpush.yaml"
#define PUSH_MAX_ITEMS		16
#define PUSH_MAX_TARGETS	256
#define PUSH_MAX_ENDPOINTS	16
#define PUSH_MAX_DANE		8	/* dane: entries of one certificate */
#define DANE_MAX_USAGES		4	/* usages of one dane: entry */

/*
 * How a source may be reached (see source.h): the user besides root who
 * may own its files and directories, and whether symbolic links other
 * than certbot's live/ -> archive/ ones may be followed.
 */
struct source_opts {
	int	 has_owner;	/* owner given */
	uid_t	 owner;
	int	 follow_symlinks;
};

/*
 * A TLSA RRset the certificate's key must match before a new key is
 * delivered: _PORT._tcp.HOST, and the usage/selector/matching types that
 * count ("3 1 1": the leaf's public key; "2 1 1": the issuing CA's).
 */
struct dane_name {
	char		*host;
	unsigned long	 port;
	unsigned char	 usages[DANE_MAX_USAGES][3];
	size_t		 nusages;
};

struct cert_source {
	char	 *name;		/* item name, as targets and certpull refer to it */
	char	 *lineage;	/* certbot live/NAME directory, or: */
	char	 *cert;		/* leaf (or leaf + chain) */
	char	 *key;
	char	 *chain;	/* optional intermediates */
	char	**names;	/* DNS names the certificate must cover */
	size_t	  nnames;
	struct dane_name *dane;	/* optional */
	size_t	  ndane;
	char	 *next_key;	/* optional: the pre-generated next key (tlsa) */
	struct source_opts opts;
};

struct dkim_source {
	char	*name;
	char	*key;		/* private key file */
	char	*selector;
	char	*domain;
	struct source_opts opts;
};

enum target_type { TARGET_SSH, TARGET_LOCAL };

/* A live endpoint of a target, checked by certpush audit. */
struct target_endpoint {
	char		*address;
	unsigned long	 port;
	char		*sni;
	enum starttls	 starttls;
	char		*item;	/* certificate it must serve; NULL: the target's first */
};

struct target {
	char		 *name;		/* the bundle's audience: certpull's node name */
	enum target_type  type;
	char		 *host;
	unsigned long	  port;
	char		 *user;
	char		 *identity;	/* Ed25519 private key for SSH */
	char		 *known_hosts;
	char		 *certpull_config;	/* local targets */
	char		 *certpull;	/* local targets: the certpull binary */
	unsigned long	  timeout;	/* seconds for the whole exchange */
	char		**items;
	size_t		  nitems;
	struct target_endpoint *endpoints;	/* optional */
	size_t		  nendpoints;
	int		  fetch_shared;	/* fetch_group given */
	gid_t		  fetch_gid;	/* the group of this node's fetch account */
	int		  sealed;	/* recipient given: private keys sealed to it */
	struct seal_pub	  recipient;	/* the node's X25519 key */
};

struct pushconf {
	char			*file;
	char			*signing_key;
	char			*state_dir;
	char			*outbox;
	int			 outbox_shared;	/* a target has a fetch_group: 0711 */
	unsigned long		 quiet_period;	/* seconds */
	unsigned long		 inconsistent_after; /* seconds before a half renewal is an error */
	unsigned long		 concurrency;
	unsigned long		 bundle_days;	/* bundle lifetime cap */
	int			 front_id;	/* -1, or 0..15 with standby fronts */
	unsigned long		 freshness;	/* seconds between timestamps; 0: none */
	char			*ca_file;	/* audit: trusted CAs besides the system's */
	int			 dns_checks;	/* a dns: section or a dane: entry */
	int			 dkim_checks;	/* a dns: section: DKIM keys checked */
	struct dns_conf		 dns;
	struct s3_conf		 s3;		/* s3.endpoint == NULL: no s3: section */
	struct cert_source	*certs;
	size_t			 ncerts;
	struct dkim_source	*dkims;
	size_t			 ndkims;
	struct target		*targets;
	size_t			 ntargets;
};

/* Loads and validates path into c.  0, or -1 with e naming file:line:col. */
int	pushconf_load(const char *path, struct pushconf *c, struct err *e);
/* The same from text in memory, reported as name (tests, fuzzing). */
int	pushconf_load_string(const char *name, const char *text, size_t len,
	    struct pushconf *c, struct err *e);
void	pushconf_free(struct pushconf *c);
const struct target *pushconf_target(const struct pushconf *c, const char *name);
const struct cert_source *pushconf_cert(const struct pushconf *c, const char *name);
const struct dkim_source *pushconf_dkim(const struct pushconf *c, const char *name);

#endif
