/*
 * A TLS client that asks a live endpoint which certificate it serves:
 * plain TLS or STARTTLS (see starttls.h), with SNI, bounded in time.
 * Used by certpull's live check and by the audit.
 */
#ifndef CP_TLSPROBE_H
#define CP_TLSPROBE_H

#include <openssl/x509.h>

#include "err.h"
#include "starttls.h"

struct probe {
	X509		*leaf;		/* owned; free with probe_free */
	STACK_OF(X509)	*chain;		/* as sent by the peer, leaf first; owned */
};

/*
 * Connects to address:port (numeric or a name), runs the STARTTLS dialog
 * if asked, and completes a TLS handshake with SNI (if sni is not NULL)
 * without verifying the peer: the caller compares what it got.  The
 * name lookup, the connect, the dialogue and the handshake share one
 * deadline, timeout_ms from the call (a peer sending a byte now and then
 * does not extend it).  Returns 0, or -1 with e set (a reason ending in
 * "timed out" when the deadline passed).
 */
int	tls_probe(const char *address, unsigned port, const char *sni,
	    enum starttls st, unsigned timeout_ms, struct probe *out, struct err *e);
void	probe_free(struct probe *p);

#endif
