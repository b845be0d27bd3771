/*
 * Rendering a service file from a verified bundle: the item's parsed
 * certificates and key re-encoded by OpenSSL in the layout the file's
 * format asks for (HAProxy combined PEM, Postfix key+chain, ...).
 */
#ifndef CP_RENDER_H
#define CP_RENDER_H

#include "buf.h"
#include "bundle.h"
#include "cert.h"
#include "err.h"
#include "pullconf.h"

/*
 * Renders f from b into out (marked secret when it holds a key) and, for
 * certificate items, the SHA-256 fingerprint of the leaf into fpr (""
 * otherwise).  p (or NULL) holds the entries the content checks already
 * parsed; the others are parsed here.  Returns 0, or -1 with e set (item
 * missing from the bundle, or of the wrong kind for the format).
 */
int	render_file(const struct bundle *b, const struct bundle_parsed *p,
	    const struct svc_file *f, struct buf *out, char fpr[CERT_FPR_LEN],
	    struct err *e);
/* The leaf fingerprint of item in b ("" and -1 if b has no such chain). */
int	render_leaf_fpr(const struct bundle *b, const struct bundle_parsed *p,
	    const char *item, char fpr[CERT_FPR_LEN]);
/* The leaf of item in b (caller frees), or NULL if b has no such chain. */
X509	*render_bundle_leaf(const struct bundle *b, const struct bundle_parsed *p,
	    const char *item);

/*
 * The first certificate of a file of f's format holding content (a
 * pkcs12 file is opened with its password).  Caller frees; NULL if none.
 */
X509	*render_leaf_of(const struct svc_file *f, const struct buf *content);
/*
 * True if a and b, two contents of f, hold the same certificates and key:
 * the same bytes, or for pkcs12 (salted anew at each render) the same
 * content once opened.
 */
int	render_same_content(const struct svc_file *f, const struct buf *a,
	    const struct buf *b);

#endif
