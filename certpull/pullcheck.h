/*
 * certpull check-config beyond the syntax: what the configuration names
 * on this node (each file's directory, the check and reload programs,
 * the fetch identity and the front's entry in known_hosts), and a
 * trusted key that is the example of the documentation.
 */
#ifndef CP_PULLCHECK_H
#define CP_PULLCHECK_H

#include "pullconf.h"

/* Logs each problem and warning; returns the number of problems. */
int	pullcheck(const struct pullconf *c);

#endif
