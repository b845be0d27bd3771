/*
 * Name resolution bounded by a deadline.  getaddrinfo() waits as long as
 * the resolver's own timeouts and retries allow (seconds per server and
 * per attempt), whatever the caller's timeout: a DNS server that does not
 * answer would hold a push or a probe far past it.
 */
#ifndef CP_RESOLVE_H
#define CP_RESOLVE_H

#include <netdb.h>

#include "err.h"

/*
 * Resolves host and port for a TCP connection into *out (free it with
 * freeaddrinfo), waiting at most until deadline (clock_ms()).  A numeric
 * address is converted at once.  A lookup still running at the deadline
 * is left to finish in the resolver's thread, which then frees it.
 * Returns 0, or -1 with e set ("HOST: name lookup timed out", or the
 * resolver's reason).
 */
int	resolve(const char *host, unsigned port, long long deadline,
	    struct addrinfo **out, struct err *e);

#endif
