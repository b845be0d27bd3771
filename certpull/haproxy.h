/*
 * HAProxy's runtime API over its admin socket: replace a certificate in
 * memory with "set ssl cert" + "commit ssl cert" (no reload, so no
 * connection is dropped).  The path must be exactly the crt path of the
 * HAProxy configuration.  Changes made this way live in memory only; the
 * file on disk must be written too.
 */
#ifndef CP_HAPROXY_H
#define CP_HAPROXY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Sends pem (leaf, chain, key; no blank line) for crt_path and commits
 * it; on any failure aborts the transaction.  Each exchange is bounded
 * by timeout_s.  Returns 0, or -1 with e quoting HAProxy's answer.
 */
int	haproxy_set_cert(const char *socket_path, const char *crt_path,
	    const uint8_t *pem, size_t len, unsigned timeout_s, struct err *e);

#endif
