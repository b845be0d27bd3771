/*
 * certpull check-config beyond the syntax: what the configuration names
 * on this node (each file's directory, the check and reload programs,
 * the fetch identity and the front's entry in known_hosts), and a
 * trusted key that is the example of the documentation.
 */
#ifndef CP_PULLCHECK_H
#define CP_PULLCHECK_H

#include "cfgcheck.h"
#include "pullconf.h"

/* Logs and counts each problem and warning in r; returns r->problems. */
int	pullcheck(const struct pullconf *c, struct cfgreport *r);

#endif
