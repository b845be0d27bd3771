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
 * What check-config found: a problem (something unsafe or wrong: exit
 * status 1) or a warning (something missing, which check-config run
 * before the keys and certificates exist must tolerate).
 */
struct cfgreport {
	int	problems;
	int	warnings;
};

/* Logs "PROGRAM: message" and counts a problem. */
void	cfg_problem(struct cfgreport *r, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Logs "PROGRAM: warning: message" and counts a warning. */
void	cfg_warning(struct cfgreport *r, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The closing line on standard error; returns the exit status (0 or 1). */
int	cfg_verdict(const struct cfgreport *r, const char *config);

/*
 * The file at path is a regular file (not a symbolic link), owned by
 * root or the user running us, writable by nobody else, and with secret
 * set, readable by nobody else.  0; 1 if it does not exist; -1 if it is
 * unsafe; e says what, prefixed with what.
 */
int	cfgcheck_file(const char *what, const char *path, int secret, struct err *e);
/* cfgcheck_file, reported: missing is a warning (hint appended), unsafe a problem. */
int	cfgcheck_file_report(struct cfgreport *r, const char *what, const char *path,
	    int secret, const char *hint);
/*
 * known_hosts has a line for host (as "[host]:port" when port is not
 * 22), plain or hashed (|1|salt|hmac).  0, or -1 with e set.
 */
int	cfgcheck_known_host(const char *known_hosts, const char *host, unsigned port,
	    struct err *e);

#endif
