/*
 * certpull fetch from HTTPS mirrors: each URL of the fetch: section in
 * order, "{node}" replaced by this node's name; a conditional GET with
 * the validators (ETag, Last-Modified) of the last bundle that URL gave
 * and that was installed or already installed, kept in
 * STATE_DIR/mirrors/ with that bundle's serial; the body verified and
 * installed exactly as a pushed bundle.  A 304 is "unchanged" unless the
 * node installed a newer bundle since: then that mirror is behind.  A mirror that fails, or whose bundle does not verify
 * (garbage, another node's, older than the installed one), is reported
 * and the next one tried.
 */
#ifndef CP_FETCH_H
#define CP_FETCH_H

#include <stddef.h>

#include "install.h"
#include "pullconf.h"

enum fetch_result {
	FETCH_NONE,		/* no mirror gave a bundle that verifies (each logged) */
	FETCH_NOT_MODIFIED,	/* a 304: nothing read, nothing touched */
	FETCH_DONE,		/* a bundle went through install_bundle: see o */
};

/*
 * Tries the mirrors of c->fetch in order.  On FETCH_DONE, o is the
 * install's outcome and *url the mirror (a static buffer); on
 * FETCH_NOT_MODIFIED, *url is the mirror that answered 304.
 */
enum fetch_result fetch_mirrors(const struct pullconf *c, struct outcome *o,
	    const char **url);

/*
 * Expands a URL template: each "{node}" becomes node.  0, or -1 if the
 * result would not fit in size bytes or is not an https:// URL.
 */
int	fetch_url(const char *tmpl, const char *node, char *out, size_t size);

/*
 * The timestamp URL beside a bundle URL: its ".bundle" replaced by
 * ".timestamp", or ".timestamp" added.  0, or -1 if it does not fit or is
 * not an https:// URL.
 */
int	fetch_stamp_url(const char *url, char *out, size_t size);

#endif
