/*
 * Publishing bundles to an S3-compatible bucket, for nodes that pull from
 * HTTPS mirrors: certpush.yaml's s3: section, the credentials file (an
 * access key id and its secret, in a file only certpush's user may read),
 * and one signed PUT (AWS Signature Version 4, through libcurl) of
 * PREFIX + NAME.bundle per target after its bundle reached the outbox.
 */
#ifndef CP_S3_H
#define CP_S3_H

#include <yaml.h>

#include "buf.h"
#include "err.h"
#include "yconf.h"

#define S3_KEY_MAX	128	/* access key id or secret, characters */

struct s3_conf {
	char		*endpoint;	/* https://HOST[:PORT][/PATH]; NULL: no s3: section */
	char		*bucket;	/* NULL: the endpoint names it (virtual-hosted) */
	char		*region;
	char		*prefix;	/* "" or "dir/": before NAME.bundle */
	char		*credentials_file;
	char		*ca_file;	/* NULL: the system's CA store */
	unsigned long	 timeout;	/* seconds for each PUT */
};

/* Loads root's s3: section, if any, into s.  0, or -1 with y's error set. */
int	s3conf_load(struct yconf *y, yaml_node_t *root, struct s3_conf *s);
void	s3conf_free(struct s3_conf *s);

/* The object's URL for target name.  0, or -1 if it would not fit. */
int	s3_url(const struct s3_conf *s, const char *name, char *out, size_t size);
/* The same for the object NAME + ext (".bundle", ".timestamp"). */
int	s3_url_ext(const struct s3_conf *s, const char *name, const char *ext,
	    char *out, size_t size);

struct s3_creds {
	char	access_key[S3_KEY_MAX + 1];
	char	secret_key[S3_KEY_MAX + 1];	/* wipe with s3_creds_wipe */
};

/*
 * Parses a credentials file's text: "aws_access_key_id = ID" and
 * "aws_secret_access_key = SECRET" lines, an optional "[default]" line,
 * blank lines and "#" comments.  0, or -1 with e naming the line.
 */
int	s3_creds_parse(const char *file, const char *text, size_t len,
	    struct s3_creds *cr, struct err *e);
void	s3_creds_wipe(struct s3_creds *cr);

/*
 * Reads the credentials (a secret file: owned by us, no group or other
 * permission) and PUTs the bundle b of target name.  0, or -1 with e set.
 */
int	s3_publish(const struct s3_conf *s, const char *name, const struct buf *b,
	    struct err *e);
/* The same for the object NAME + ext (the freshness timestamp). */
int	s3_publish_ext(const struct s3_conf *s, const char *name, const char *ext,
	    const struct buf *b, struct err *e);

#endif
