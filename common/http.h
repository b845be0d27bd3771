/*
 * HTTPS transfers through libcurl, for certpull's mirrors and certpush's
 * S3 uploads, with every limit a peer must not be able to stretch: https
 * only, no redirects followed, no proxy, the peer checked against the
 * system CA store or against a pinned CA file alone, a connect timeout
 * and one deadline for the whole transfer, a low-speed limit, and a cap
 * on the body enforced from its announced length and again while it is
 * read.  Everything received is untrusted: the caller verifies it.
 * http_global_init() must have been called once before any thread starts:
 * it loads libcurl (common/curl_dl.c: not linked, so that commands and
 * daemons without mirrors or s3: never load it); before it, every
 * transfer fails with an error that says so.
 */
#ifndef CP_HTTP_H
#define CP_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define HTTP_ETAG_MAX	128	/* a longer ETag is not kept */
#define HTTP_URL_MAX	1024

/* What a conditional GET sends back: the validators of the last good answer. */
struct http_validators {
	char		etag[HTTP_ETAG_MAX + 1];	/* "" if none */
	long long	last_modified;			/* -1 if none (epoch seconds) */
};

struct http_opts {
	const char	*ca_file;	/* PEM CA file the peer must chain to; NULL: system store */
	unsigned	 timeout_ms;	/* the whole transfer, connection included */
	size_t		 cap;		/* largest body accepted */
};

enum http_result {
	HTTP_FAILED = -1,	/* e says why */
	HTTP_BODY = 0,		/* 200: the body is in out */
	HTTP_NOT_MODIFIED = 1,	/* 304 to our conditions: nothing read */
};

/* Loads libcurl and runs curl_global_init, once.  0, or -1 with e set. */
int	http_global_init(struct err *e);
void	http_global_cleanup(void);

/*
 * GETs url (https only).  With validators in *v, the request is
 * conditional (If-None-Match, If-Modified-Since).  On HTTP_BODY, out
 * holds the body (at most o->cap bytes) and *v the answer's validators;
 * any other status, a redirect included, is HTTP_FAILED.
 */
enum http_result http_get(const char *url, const struct http_opts *o,
	    struct http_validators *v, struct buf *out, struct err *e);

/* The credentials of an S3-compatible bucket (secret wiped by the owner). */
struct s3_auth {
	const char	*region;
	const char	*access_key;
	const char	*secret_key;
};

/*
 * PUTs data at url, signed with AWS Signature Version 4 for S3 (the
 * payload's SHA-256 in x-amz-content-sha256).  0 on a 2xx answer, or -1
 * with e set (the status and the start of the error body).
 */
int	http_put_s3(const char *url, const struct http_opts *o, const struct s3_auth *a,
	    const void *data, size_t len, struct err *e);

/* 0 if url is an https:// URL we accept (printable, no space, short enough), else -1. */
int	http_url_ok(const char *url);

#endif
