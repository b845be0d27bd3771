/*
 * Service actions of an install: the configuration check, the reload
 * (HAProxy's runtime API for its crt files, falling back to the reload
 * command), and waiting until a live endpoint serves a given leaf.
 */
#ifndef CP_RELOAD_H
#define CP_RELOAD_H

#include "err.h"
#include "install.h"
#include "pullconf.h"
#include "txn.h"

/* Runs the service's check command, if any.  0, or -1 with e set. */
int	service_check(const struct service *s, struct err *e);
/*
 * Makes the service load its files: for a service with haproxy_socket,
 * each changed haproxy-format file goes through the runtime API (with
 * the old content when old is set); if that is refused, or for other
 * services, the reload command runs.  *how says what was done.
 * Returns 0, or -1 with e set.
 */
int	service_reload(const struct service *s, const struct txn *t, int old,
	    const char **how, struct err *e);
/*
 * Probes ep until it serves the leaf with fingerprint want, for at most
 * grace_s seconds (at least one probe).  Fills out.  0, or -1 with e set.
 */
int	endpoint_wait(const struct endpoint *ep, const char *want, unsigned grace_s,
	    struct served *out, struct err *e);

#endif
