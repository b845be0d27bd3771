/*
 * What check-config checks beyond the syntax, on both sides: that the
 * files a configuration names are there with safe owners and modes, that
 * a known_hosts file has an entry for a host, and that a trusted key is
 * not the example key of the documentation.
 */
#ifndef CP_CFGCHECK_H
#define CP_CFGCHECK_H

#include "err.h"

/* The trusted key printed in the examples and the README: never a real one. */
#define CFGCHECK_EXAMPLE_KEY	"ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw="

/*
 * The file at path is a regular file (not a symbolic link), owned by
 * root or the user running us, writable by nobody else, and with secret
 * set, readable by nobody else.  0, or -1 with e saying what is wrong
 * (missing, a link, its owner, its mode), prefixed with what.
 */
int	cfgcheck_file(const char *what, const char *path, int secret, struct err *e);
/*
 * known_hosts has a line for host (as "[host]:port" when port is not
 * 22), plain or hashed (|1|salt|hmac).  0, or -1 with e set.
 */
int	cfgcheck_known_host(const char *known_hosts, const char *host, unsigned port,
	    struct err *e);

#endif
