/*
 * A TLS client that asks a live endpoint which certificate it serves:
 * plain TLS or STARTTLS (SMTP, IMAP, POP3), with SNI, bounded in time.
 * Used by certpull's live check and by the audit.
 */
#ifndef CP_TLSPROBE_H
#define CP_TLSPROBE_H

#include <openssl/x509.h>

#include "err.h"

enum starttls { TLS_NONE, TLS_SMTP, TLS_IMAP, TLS_POP3 };

struct probe {
	X509		*leaf;		/* owned; free with probe_free */
	STACK_OF(X509)	*chain;		/* as sent by the peer, leaf first; owned */
};

/*
 * Connects to address:port (numeric or a name), runs the STARTTLS dialog
 * if asked, and completes a TLS handshake with SNI (if sni is not NULL)
 * without verifying the peer: the caller compares what it got.  Every
 * step is bounded by timeout_ms in total.  Returns 0, or -1 with e set.
 */
int	tls_probe(const char *address, unsigned port, const char *sni,
	    enum starttls st, unsigned timeout_ms, struct probe *out, struct err *e);
void	probe_free(struct probe *p);
const char *starttls_name(enum starttls st);

#endif
